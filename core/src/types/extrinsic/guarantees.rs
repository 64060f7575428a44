//! The guarantees extrinsic `E_G`, GP reporting_assurance.tex (guarantees).

use serde::{Deserialize, Serialize};

use crate::codec::{encode_seq, Decode, DecodeError, Encode, Reader};
use crate::spec::ChainSpec;
use crate::types::bounds::{check_seq, Bound, Check, SpecViolation};
use crate::types::indices::{TimeSlot, ValidatorIndex};
use crate::types::keys::Ed25519Signature;
use crate::types::work_report::WorkReport;

/// A guarantor's credential `(v, s)`: its validator index and its signature on
/// the report hash. Encoded `(E_2(v), s)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidatorSignature {
    /// `v`: the guarantor's validator index.
    pub validator_index: ValidatorIndex,
    /// `s`: its Ed25519 signature.
    pub signature: Ed25519Signature,
}

codec_struct!(ValidatorSignature {
    validator_index,
    signature
});

/// The most credentials a guarantee carries: `a ∈ ⟦(N_V, V_E)⟧_{2:3}`.
pub const MAX_GUARANTORS: usize = 3;

/// A guarantee `(r, t, a)`: the report, the slot it was made in and the
/// guarantors' credentials. Encoded `E(r, E_4(t), ↕a)` (GP C.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Guarantee {
    /// `r`: the work report.
    pub report: WorkReport,
    /// `t`: the slot of the guarantee.
    pub slot: TimeSlot,
    /// `a`: two or three credentials. Decoding bounds it by three only: the
    /// reports vector `no_enough_guarantees-1` carries a single credential and
    /// expects the transition error `insufficient_guarantees`.
    pub signatures: Vec<ValidatorSignature>,
}

impl Encode for Guarantee {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.report.encode_to(out);
        self.slot.encode_to(out);
        encode_seq(&self.signatures, out);
    }
}

impl Decode for Guarantee {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Guarantee {
            report: Decode::decode(r)?,
            slot: Decode::decode(r)?,
            signatures: r.seq("guarantor credentials", Some(MAX_GUARANTORS))?,
        })
    }
}

impl Check for Guarantee {
    fn check(&self, spec: &ChainSpec) -> Result<(), SpecViolation> {
        self.report.check(spec).map_err(|e| e.within("report"))?;
        check_seq(&self.signatures, Bound::AtMost(MAX_GUARANTORS), spec)
            .map_err(|e| e.within("signatures"))
    }
}

/// `E_G ∈ ⟦(r, t, a)⟧_{:C}`, encoded `E(↕E_G)`. JSON is the array.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct GuaranteesExtrinsic(pub Vec<Guarantee>);

impl GuaranteesExtrinsic {
    /// The GP bound: at most one guarantee per core, `C`.
    pub fn bound(spec: &ChainSpec) -> Bound {
        Bound::AtMost(spec.cores())
    }
}

impl Encode for GuaranteesExtrinsic {
    fn encode_to(&self, out: &mut Vec<u8>) {
        encode_seq(&self.0, out);
    }
}

impl Decode for GuaranteesExtrinsic {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.seq("guarantees extrinsic", Some(r.spec().cores()))
            .map(GuaranteesExtrinsic)
    }
}

impl Check for GuaranteesExtrinsic {
    fn check(&self, spec: &ChainSpec) -> Result<(), SpecViolation> {
        check_seq(&self.0, Self::bound(spec), spec)
    }
}

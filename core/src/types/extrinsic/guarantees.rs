//! The guarantees extrinsic `E_G`, GP reporting_assurance.tex (guarantees).

use serde::{Deserialize, Serialize};

use crate::codec::{Decode, Encode};
use crate::spec::ChainSpec;
use crate::types::bounds::{Bound, Check};
use crate::types::indices::{TimeSlot, ValidatorIndex};
use crate::types::keys::Ed25519Signature;
use crate::types::work_report::WorkReport;

/// A guarantor's credential `(v, s)`: its validator index and its signature on
/// the report hash. Encoded `(E_2(v), s)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode, Check)]
#[serde(deny_unknown_fields)]
pub struct ValidatorSignature {
    /// `v`: the guarantor's validator index.
    pub validator_index: ValidatorIndex,
    /// `s`: its Ed25519 signature.
    pub signature: Ed25519Signature,
}

/// The most credentials a guarantee carries: `a ∈ ⟦(N_V, V_E)⟧_{2:3}`.
pub const MAX_GUARANTORS: usize = 3;

/// A guarantee `(r, t, a)`: the report, the slot it was made in and the
/// guarantors' credentials. Encoded `E(r, E_4(t), ↕a)` (GP C.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode, Check)]
#[serde(deny_unknown_fields)]
pub struct Guarantee {
    /// `r`: the work report.
    pub report: WorkReport,
    /// `t`: the slot of the guarantee.
    pub slot: TimeSlot,
    /// `a`: two or three credentials. Decoding bounds it by three only: the
    /// reports vector `no_enough_guarantees-1` carries a single credential and
    /// expects the transition error `insufficient_guarantees`.
    #[codec(seq, max = MAX_GUARANTORS, name = "guarantor credentials")]
    pub signatures: Vec<ValidatorSignature>,
}

/// `E_G ∈ ⟦(r, t, a)⟧_{:C}`, encoded `E(↕E_G)`. JSON is the array.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, Encode, Decode, Check)]
#[serde(transparent)]
pub struct GuaranteesExtrinsic(
    #[codec(seq, max = spec.cores(), name = "guarantees extrinsic")] pub Vec<Guarantee>,
);

impl GuaranteesExtrinsic {
    /// The GP bound: at most one guarantee per core, `C`.
    pub fn bound(spec: &ChainSpec) -> Bound {
        Bound::AtMost(spec.cores())
    }
}

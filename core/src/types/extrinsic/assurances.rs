//! The assurances extrinsic `E_A`, GP reporting_assurance.tex (availability
//! assurances).

use serde::{Deserialize, Serialize};

use crate::codec::{Decode, Encode};
use crate::hash::Hash;
use crate::spec::ChainSpec;
use crate::types::availability::AvailabilityBitfield;
use crate::types::bounds::{Bound, Check};
use crate::types::indices::ValidatorIndex;
use crate::types::keys::Ed25519Signature;

/// An assurance `(a, f, v, s)`: the parent hash it anchors to, one availability
/// bit per core, the assurer's index and signature. Encoded
/// `E(a, f, E_2(v), s)` (GP C.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode, Check)]
#[serde(deny_unknown_fields)]
pub struct Assurance {
    /// `a`: the anchor (the parent header hash).
    pub anchor: Hash,
    /// `f`: the availability bitfield, `⌈C/8⌉` octets.
    pub bitfield: AvailabilityBitfield,
    /// `v`: the assurer's validator index.
    pub validator_index: ValidatorIndex,
    /// `s`: its Ed25519 signature.
    pub signature: Ed25519Signature,
}

/// `E_A ∈ ⟦(a, f, v, s)⟧_{:V}`, encoded `E(↕E_A)`. Ordering by validator index is
/// the assurances transition's check. JSON is the array.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, Encode, Decode, Check)]
#[serde(transparent)]
pub struct AssurancesExtrinsic(
    #[codec(seq, max = spec.validators(), name = "assurances extrinsic")] pub Vec<Assurance>,
);

impl AssurancesExtrinsic {
    /// The GP bound: at most one assurance per validator, `V`.
    pub fn bound(spec: &ChainSpec) -> Bound {
        Bound::AtMost(spec.validators())
    }
}

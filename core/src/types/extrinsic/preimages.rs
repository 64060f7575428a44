//! The preimages extrinsic `E_P`, GP preimages (accounts.tex / "Preimage
//! Integration").

use serde::{Deserialize, Serialize};

use crate::bytes::Bytes;
use crate::codec::{encode_seq, Decode, DecodeError, Encode, Reader};
use crate::spec::ChainSpec;
use crate::types::bounds::{check_items, Check, SpecViolation};
use crate::types::indices::ServiceId;

/// One provided preimage `(s, d)`: the requesting service and the data. Encoded
/// `E(E_4(s), ↕d)` (GP C.2).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preimage {
    /// `s`: the service that requested it.
    pub requester: ServiceId,
    /// `d`: the preimage data.
    pub blob: Bytes,
}

codec_struct!(Preimage { requester, blob });

/// `E_P ∈ ⟦(N_S, B)⟧`, encoded `E(↕E_P)`. The GP requires it sorted and unique;
/// that is the preimages transition's check (vector error
/// `preimages_not_sorted_unique`), so decoding accepts any order. JSON is the array.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PreimagesExtrinsic(pub Vec<Preimage>);

impl Encode for PreimagesExtrinsic {
    fn encode_to(&self, out: &mut Vec<u8>) {
        encode_seq(&self.0, out);
    }
}

impl Decode for PreimagesExtrinsic {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.seq("preimages extrinsic", None).map(PreimagesExtrinsic)
    }
}

impl Check for PreimagesExtrinsic {
    fn check(&self, spec: &ChainSpec) -> Result<(), SpecViolation> {
        check_items(&self.0, spec)
    }
}

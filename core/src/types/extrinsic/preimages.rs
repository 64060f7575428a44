//! The preimages extrinsic `E_P`, GP preimages (accounts.tex / "Preimage
//! Integration").

use serde::{Deserialize, Serialize};

use crate::bytes::Bytes;
use crate::codec::{Decode, Encode};
use crate::types::bounds::Check;
use crate::types::indices::ServiceId;

/// One provided preimage `(s, d)`: the requesting service and the data. Encoded
/// `E(E_4(s), ↕d)` (GP C.2).
#[derive(
    Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Encode, Decode, Check,
)]
#[serde(deny_unknown_fields)]
pub struct Preimage {
    /// `s`: the service that requested it.
    pub requester: ServiceId,
    /// `d`: the preimage data.
    pub blob: Bytes,
}

/// `E_P ∈ ⟦(N_S, B)⟧`, encoded `E(↕E_P)`. The GP requires it sorted and unique;
/// that is the preimages transition's check (vector error
/// `preimages_not_sorted_unique`), so decoding accepts any order. JSON is the array.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, Encode, Decode, Check)]
#[serde(transparent)]
pub struct PreimagesExtrinsic(#[codec(seq, name = "preimages extrinsic")] pub Vec<Preimage>);

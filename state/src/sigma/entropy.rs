//! `η ∈ ⟦H⟧_4`, the entropy accumulator and its three most recent epoch-boundary
//! snapshots (GP safrole.tex, "Entropy").

use serde::{Deserialize, Serialize};
use tessera_core::codec::{Decode, Encode};
use tessera_core::Hash;

/// `η = (η_0, η_1, η_2, η_3)`, encoded as the four hashes (GP C.2). JSON is the
/// array of four.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
#[serde(transparent)]
pub struct EntropyBuffer(pub [Hash; 4]);

//! `η ∈ ⟦H⟧_4`, the entropy accumulator and its three most recent epoch-boundary
//! snapshots (GP safrole.tex, "Entropy").

use serde::{Deserialize, Serialize};
use tessera_core::codec::{Decode, DecodeError, Encode, Reader};
use tessera_core::Hash;

/// `η = (η_0, η_1, η_2, η_3)`, encoded as the four hashes (GP C.2). JSON is the
/// array of four.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EntropyBuffer(pub [Hash; 4]);

impl Encode for EntropyBuffer {
    fn encode_to(&self, out: &mut Vec<u8>) {
        for h in &self.0 {
            h.encode_to(out);
        }
    }
}

impl Decode for EntropyBuffer {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(EntropyBuffer([
            Decode::decode(r)?,
            Decode::decode(r)?,
            Decode::decode(r)?,
            Decode::decode(r)?,
        ]))
    }
}

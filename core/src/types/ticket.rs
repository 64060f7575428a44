//! Seal-key tickets, GP safrole.tex.

use serde::{Deserialize, Serialize};

use crate::codec::{Decode, Encode};
use crate::hash::Hash;
use crate::types::bounds::Check;

/// `T ≡ (y ∈ H, e ∈ N_N)` (GP safrole.tex, tickets): a ticket's identifier, the ring VRF output
/// of its proof, and the entry index (attempt) it was made for. Encoded
/// `E(y, E_1(e))` (GP C.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode, Check)]
#[serde(deny_unknown_fields)]
pub struct TicketBody {
    /// `y`: the ticket identifier.
    pub id: Hash,
    /// `e`: the entry index (`attempt` in the vectors), below `N`.
    pub attempt: u8,
}

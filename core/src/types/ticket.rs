//! Seal-key tickets, GP §6.5 (safrole.tex).

use serde::{Deserialize, Serialize};

use crate::hash::Hash;

/// `T ≡ (y ∈ H, e ∈ N_N)` (GP (6.6)): a ticket's identifier, the ring VRF output
/// of its proof, and the entry index (attempt) it was made for. Encoded
/// `E(y, E_1(e))` (C.29).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TicketBody {
    /// `y`: the ticket identifier.
    pub id: Hash,
    /// `e`: the entry index (`attempt` in the vectors), below `N`.
    pub attempt: u8,
}

codec_struct!(TicketBody { id, attempt });

//! The tickets extrinsic `E_T`, GP safrole.tex (ticket submission).

use serde::{Deserialize, Serialize};

use crate::codec::{Decode, Encode};
use crate::spec::ChainSpec;
use crate::types::bounds::{Bound, Check};
use crate::types::keys::BandersnatchRingVrfSignature;

/// One ticket submission `(e, p)`: the entry index (attempt) and the ring VRF
/// proof whose output is the ticket id. Encoded `E(E_1(e), p)`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode, Check)]
#[serde(deny_unknown_fields)]
pub struct TicketEnvelope {
    /// `e`: the entry index, below `N` (checked by the safrole transition).
    pub attempt: u8,
    /// `p`: the ring VRF proof.
    pub signature: BandersnatchRingVrfSignature,
}

/// `E_T ∈ ⟦(e, p)⟧_{:K}`, encoded `E(↕E_T)`. JSON is the array.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, Encode, Decode, Check)]
#[serde(transparent)]
pub struct TicketsExtrinsic(
    #[codec(seq, max = spec.max_tickets_per_extrinsic as usize, name = "tickets extrinsic")]
    pub  Vec<TicketEnvelope>,
);

impl TicketsExtrinsic {
    /// The GP bound: at most `K` tickets per block.
    pub fn bound(spec: &ChainSpec) -> Bound {
        Bound::AtMost(spec.max_tickets_per_extrinsic as usize)
    }
}

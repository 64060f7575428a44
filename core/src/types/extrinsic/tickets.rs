//! The tickets extrinsic `E_T`, GP safrole.tex (ticket submission).

use serde::{Deserialize, Serialize};

use crate::codec::{encode_seq, Decode, DecodeError, Encode, Reader};
use crate::spec::ChainSpec;
use crate::types::bounds::{check_seq, Bound, Check, SpecViolation};
use crate::types::keys::BandersnatchRingVrfSignature;

/// One ticket submission `(e, p)`: the entry index (attempt) and the ring VRF
/// proof whose output is the ticket id. Encoded `E(E_1(e), p)`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TicketEnvelope {
    /// `e`: the entry index, below `N` (checked by the safrole transition).
    pub attempt: u8,
    /// `p`: the ring VRF proof.
    pub signature: BandersnatchRingVrfSignature,
}

codec_struct!(TicketEnvelope { attempt, signature });

/// `E_T ∈ ⟦(e, p)⟧_{:K}`, encoded `E(↕E_T)`. JSON is the array.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TicketsExtrinsic(pub Vec<TicketEnvelope>);

impl TicketsExtrinsic {
    /// The GP bound: at most `K` tickets per block.
    pub fn bound(spec: &ChainSpec) -> Bound {
        Bound::AtMost(spec.max_tickets_per_extrinsic as usize)
    }
}

impl Encode for TicketsExtrinsic {
    fn encode_to(&self, out: &mut Vec<u8>) {
        encode_seq(&self.0, out);
    }
}

impl Decode for TicketsExtrinsic {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let max = r.spec().max_tickets_per_extrinsic as usize;
        r.seq("tickets extrinsic", Some(max)).map(TicketsExtrinsic)
    }
}

impl Check for TicketsExtrinsic {
    fn check(&self, spec: &ChainSpec) -> Result<(), SpecViolation> {
        check_seq(&self.0, Self::bound(spec), spec)
    }
}

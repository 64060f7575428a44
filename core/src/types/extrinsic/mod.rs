//! The block extrinsic `E ≡ (E_T, E_D, E_P, E_A, E_G)` (GP overview.tex and
//! header.tex) and its five parts, one module each.

pub mod assurances;
pub mod disputes;
pub mod guarantees;
pub mod preimages;
pub mod tickets;

pub use assurances::{Assurance, AssurancesExtrinsic};
pub use disputes::{Culprit, DisputesExtrinsic, Fault, Judgement, Verdict};
pub use guarantees::{Guarantee, GuaranteesExtrinsic, ValidatorSignature};
pub use preimages::{Preimage, PreimagesExtrinsic};
pub use tickets::{TicketEnvelope, TicketsExtrinsic};

use serde::{Deserialize, Serialize};

use crate::codec::{encode_natural, Decode, Encode};
use crate::hash::{blake2b_256, Hash};
use crate::types::bounds::Check;

/// The extrinsic, in its serialization order `E(E_T, E_P, E_G, E_A, E_D)` (GP C.2).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, Encode, Decode, Check)]
#[serde(deny_unknown_fields)]
pub struct Extrinsic {
    /// `E_T`: ticket submissions.
    pub tickets: TicketsExtrinsic,
    /// `E_P`: preimages provided.
    pub preimages: PreimagesExtrinsic,
    /// `E_G`: work-report guarantees.
    pub guarantees: GuaranteesExtrinsic,
    /// `E_A`: availability assurances.
    pub assurances: AssurancesExtrinsic,
    /// `E_D`: disputes.
    pub disputes: DisputesExtrinsic,
}

impl Extrinsic {
    /// `H_X` (GP header.tex, the extrinsic hash): `H(E(H#(a)))` with
    /// `a = [E_T(E_T), E_P(E_P), g, E_A(E_A), E_D(E_D)]`, where the guarantees
    /// enter as `g = E(↕[(H(r), E_4(t), ↕a) | (r, t, a) ∈ E_G])`, naming each
    /// report by its hash rather than its full encoding.
    pub fn hash(&self) -> Hash {
        let mut g = Vec::new();
        encode_natural(self.guarantees.0.len() as u64, &mut g);
        for guarantee in &self.guarantees.0 {
            guarantee.report.hash().encode_to(&mut g);
            guarantee.slot.encode_to(&mut g);
            guarantee.signatures.encode_to(&mut g);
        }
        let parts = [
            blake2b_256(&self.tickets.encode()),
            blake2b_256(&self.preimages.encode()),
            blake2b_256(&g),
            blake2b_256(&self.assurances.encode()),
            blake2b_256(&self.disputes.encode()),
        ];
        let mut concatenated = Vec::with_capacity(parts.len() * 32);
        for part in &parts {
            concatenated.extend_from_slice(part.as_ref());
        }
        blake2b_256(&concatenated)
    }
}

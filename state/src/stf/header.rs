//! The header's own rules (GP v0.7.2 header.tex §5 and safrole.tex §6.4–6.5):
//! the extrinsic hash, the seal `H_S` and the entropy source `H_V`.

use tessera_core::codec::Encode;
use tessera_core::crypto::bandersnatch::{self, VrfOutputHash};
use tessera_core::crypto::contexts;
use tessera_core::hash::{blake2b_256, Hash};
use tessera_core::types::{Extrinsic, Header};

use crate::sigma::validators::ValidatorSet;
use crate::stf::safrole::sealing::TicketsOrKeys;

use super::HeaderError;

/// `H_X = H(E(H#(a)))` with `a = [E(E_T), E(E_P), g, E(E_A), E(E_D)]` and
/// `g = E(↕[(H(w), E_4(t), ↕a) | (w, t, a) ∈ E_G])` (GP 5.4–5.6): each part is
/// hashed, the guarantees with each report replaced by its hash.
pub fn extrinsic_hash(e: &Extrinsic) -> Hash {
    let mut g = Vec::new();
    tessera_core::codec::encode_natural(e.guarantees.0.len() as u64, &mut g);
    for guarantee in &e.guarantees.0 {
        guarantee.report.hash().encode_to(&mut g);
        guarantee.slot.encode_to(&mut g);
        guarantee.signatures.encode_to(&mut g);
    }
    let parts = [
        blake2b_256(&e.tickets.encode()),
        blake2b_256(&e.preimages.encode()),
        blake2b_256(&g),
        blake2b_256(&e.assurances.encode()),
        blake2b_256(&e.disputes.encode()),
    ];
    let mut all = Vec::with_capacity(32 * parts.len());
    for p in &parts {
        all.extend_from_slice(&p.0);
    }
    blake2b_256(&all)
}

/// Check the seal `H_S` against the posterior seal keys `γ'_S` and entropy `η'_3`
/// (GP 6.15–6.16), and the entropy source `H_V` (GP 6.17); return `Y(H_V)`.
pub fn check_seal(
    header: &Header,
    kappa: &ValidatorSet,
    seal_keys: &TicketsOrKeys,
    eta3: &Hash,
    epoch_length: u32,
) -> Result<VrfOutputHash, HeaderError> {
    let author = kappa
        .get(header.author_index)
        .ok_or(HeaderError::BadAuthorIndex(header.author_index))?
        .bandersnatch;
    let slot_in_epoch = (header.slot % epoch_length.max(1)) as usize;
    let unsigned = header.encode_unsigned();
    // GP 6.15–6.16: the seal's VRF input and, under tickets, the output it must give.
    let (seal_input, ticket_id) = match seal_keys {
        // GP 6.15: a ticket seals the slot; the seal's output must be its id.
        TicketsOrKeys::Tickets(tickets) => {
            let ticket = tickets
                .get(slot_in_epoch)
                .ok_or(HeaderError::NoSealKey(header.slot))?;
            (
                contexts::ticket_vrf_input(eta3, ticket.attempt),
                Some(ticket.id),
            )
        }
        // GP 6.16: in fallback the author must hold the slot's key.
        TicketsOrKeys::Keys(keys) => {
            let key = keys
                .get(slot_in_epoch)
                .ok_or(HeaderError::NoSealKey(header.slot))?;
            if *key != author {
                return Err(HeaderError::NotSlotAuthor {
                    slot: header.slot,
                    author: header.author_index,
                });
            }
            (contexts::fallback_seal_vrf_input(eta3), None)
        }
    };
    // GP 6.17: H_V ∈ F̃_{H_A}⟨X_E ⌢ Y(H_S)⟩([]). `Y(H_S)` is read off the seal
    // without verifying it, so the two verifications, most of a block's import
    // time when it carries little work, run side by side; the seal's verdict
    // still comes first.
    let seal_output =
        bandersnatch::vrf_output(&header.seal).map_err(|e| HeaderError::BadSeal(e.to_string()))?;
    let entropy_input = contexts::entropy_vrf_input(&seal_output);
    let (seal, entropy) = rayon::join(
        || bandersnatch::verify(&author, &seal_input, &unsigned, &header.seal),
        || bandersnatch::verify(&author, &entropy_input, &[], &header.entropy_source),
    );
    let y = seal.map_err(|e| HeaderError::BadSeal(e.to_string()))?;
    if ticket_id.is_some_and(|id| id != y) {
        return Err(HeaderError::SealNotTicket);
    }
    entropy.map_err(|e| HeaderError::BadEntropySource(e.to_string()))
}

//! Safrole tickets (GP v0.7.2 §6.7, eqs. 6.29–6.35; JAMNP-S CE 131/132).
//!
//! In each epoch, while its slot index is below `Y` (the contest's end), every
//! validator of the next epoch's set `γ'_P` makes `N` tickets: ring VRF proofs
//! `F̄_{γ'_Z}⟨X_T ⌢ η'_2 ⌢ r⟩([])` for attempts `r < N`, anonymous within the ring
//! of `γ'_P`'s keys. Their outputs `Y(p)` are the ticket ids; the `E` lowest of
//! the epoch, accumulated in `γ_A` by the blocks that carry them (`E_T`, at most
//! `K` a block), become the next epoch's seal keys when the accumulator is full
//! (GP 6.24), and those blocks count as ticketed in the best-chain rule (19.1).
//!
//! Distribution (JAMNP-S "CE 131/132"): each ticket goes first to its proxy, the
//! validator of the next epoch's set `γ_P` at [`proxy_index`] of its id (CE 131),
//! which verifies it, checks that it is the proxy, and sends it to every current
//! validator (CE 132); a generator that is its own proxy, or whose proxy cannot be
//! reached, sends it over CE 132 itself. JAMNP-S delays a proxy's forwarding until
//! two minutes into the epoch and spaces it out to hide the generator's timing;
//! Tessera forwards at once, since at the tiny spec's 12-slot epochs (and a
//! testnet's 1-second slots) the delay would outlast the ticket contest. A received
//! ticket is verified against the best state's `γ_Z` and `η_2` before it is
//! pooled, so a block author never carries a proof that fails.

use std::collections::BTreeMap;

use tessera_core::crypto::bandersnatch;
use tessera_core::crypto::contexts::ticket_vrf_input;
use tessera_core::crypto::ring_cache;
use tessera_core::hash::Hash;
use tessera_core::spec::ChainSpec;
use tessera_core::types::{TicketEnvelope, TicketsExtrinsic, TimeSlot};
use tessera_net::messages::Ticket;
use tessera_state::ChainState;

/// Why a ticket was not made or not taken.
#[derive(Debug, thiserror::Error)]
pub enum TicketError {
    /// The ring VRF failed or the proof does not verify.
    #[error("ring VRF: {0}")]
    Vrf(#[from] bandersnatch::Error),
    /// Our key is not in the next epoch's set `γ_P`.
    #[error("this validator is not in the next epoch's set")]
    NotPending,
    /// A ticket for another epoch than the best block's.
    #[error("ticket for epoch {got}, but tickets now are for epoch {expected}")]
    WrongEpoch {
        /// The epoch it names.
        got: u32,
        /// The epoch tickets are made for now.
        expected: u32,
    },
}

/// The index in the next epoch's validator set of the proxy of the ticket with id
/// (VRF output) `id`: its last four octets as a big-endian `u32`, modulo `V`
/// (JAMNP-S "CE 131/132").
pub fn proxy_index(spec: &ChainSpec, id: &Hash) -> tessera_core::types::ValidatorIndex {
    let tail = u32::from_be_bytes([id.0[28], id.0[29], id.0[30], id.0[31]]);
    let v = u32::try_from(spec.validators()).unwrap_or(u32::MAX).max(1);
    u16::try_from(tail % v).unwrap_or(u16::MAX)
}

/// The proxy of the ticket with id `id` on `state`: the Ed25519 key of the next
/// epoch's validator (`γ_P`) at [`proxy_index`].
pub fn proxy(
    spec: &ChainSpec,
    state: &ChainState,
    id: &Hash,
) -> Option<tessera_core::types::Ed25519Public> {
    state.gamma.pending.ed25519(proxy_index(spec, id)).copied()
}

/// The epoch of `slot`.
pub fn epoch_of(spec: &ChainSpec, slot: TimeSlot) -> u32 {
    slot / spec.epoch_length.max(1)
}

/// Our `N` tickets of the epoch of `state` (a posterior state of that epoch: its
/// `η_2` and `γ_Z` are the epoch's `η'_2` and `γ'_Z`), as CE 132 messages naming
/// the epoch they will seal (the next one).
pub fn make(
    spec: &ChainSpec,
    state: &ChainState,
    secret: &bandersnatch::Secret,
) -> Result<Vec<Ticket>, TicketError> {
    let keys: Vec<_> = state
        .gamma
        .pending
        .0
        .iter()
        .map(|v| v.bandersnatch)
        .collect();
    let me = secret.public();
    let index = keys
        .iter()
        .position(|k| *k == me)
        .ok_or(TicketError::NotPending)?;
    let prover = ring_cache::prover(spec.validators(), &keys, index, secret)?;
    let eta2 = state.eta.0[2];
    let epoch = epoch_of(spec, state.tau) + 1;
    (0..spec.tickets_per_validator)
        .map(|attempt| {
            Ok(Ticket {
                epoch_index: epoch,
                attempt,
                proof: prover.prove(&ticket_vrf_input(&eta2, attempt), &[])?,
            })
        })
        .collect()
}

/// The pool of verified tickets, by the epoch whose blocks may carry them.
#[derive(Debug, Default)]
pub struct TicketPool {
    by_epoch: BTreeMap<u32, BTreeMap<Hash, TicketEnvelope>>,
}

impl TicketPool {
    /// Verify `ticket` against `state` (the best posterior state: its epoch must
    /// be the one before the ticket's) and pool it; returns its id.
    pub fn add(
        &mut self,
        spec: &ChainSpec,
        state: &ChainState,
        ticket: Ticket,
    ) -> Result<Hash, TicketError> {
        let submission = epoch_of(spec, state.tau);
        if ticket.epoch_index != submission + 1 {
            return Err(TicketError::WrongEpoch {
                got: ticket.epoch_index,
                expected: submission + 1,
            });
        }
        let input = ticket_vrf_input(&state.eta.0[2], ticket.attempt);
        let id = ring_cache::verifiers(spec.validators())?.verify(
            &state.gamma.ring_root,
            &input,
            &[],
            &ticket.proof,
        )?;
        self.by_epoch.entry(submission).or_default().insert(
            id,
            TicketEnvelope {
                attempt: ticket.attempt,
                signature: ticket.proof,
            },
        );
        // Older epochs' tickets can never be carried again.
        self.by_epoch.retain(|e, _| *e + 1 >= submission);
        Ok(id)
    }

    /// Tickets pooled for blocks of `epoch`.
    pub fn len(&self, epoch: u32) -> usize {
        self.by_epoch.get(&epoch).map_or(0, BTreeMap::len)
    }

    /// `E_T` for a block at `slot` on `prior` (GP 6.29–6.35): none once the
    /// contest is over (`m' ≥ Y`); else the pooled tickets of the slot's epoch not
    /// yet in `γ_A` that would be among the `E` lowest ids, lowest first, at most
    /// `K`.
    pub fn extrinsic(
        &self,
        spec: &ChainSpec,
        prior: &ChainState,
        slot: TimeSlot,
    ) -> TicketsExtrinsic {
        let epoch = epoch_of(spec, slot);
        if slot % spec.epoch_length.max(1) >= spec.ticket_submission_end {
            return TicketsExtrinsic::default();
        }
        let Some(pool) = self.by_epoch.get(&epoch) else {
            return TicketsExtrinsic::default();
        };
        // γ_A is emptied at an epoch change (GP 6.34).
        let accumulated: Vec<Hash> = if epoch_of(spec, prior.tau) == epoch {
            prior.gamma.tickets.iter().map(|t| t.id).collect()
        } else {
            Vec::new()
        };
        let mut ids: Vec<Hash> = accumulated
            .iter()
            .copied()
            .chain(pool.keys().copied().filter(|id| !accumulated.contains(id)))
            .collect();
        ids.sort();
        ids.truncate(spec.epoch_length as usize);
        TicketsExtrinsic(
            ids.iter()
                .filter(|id| !accumulated.contains(id))
                .take(spec.max_tickets_per_extrinsic as usize)
                .filter_map(|id| pool.get(id).cloned())
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// JAMNP-S: "the last 4 bytes of the ticket's VRF output as a big-endian
    /// unsigned integer, modulo the number of validators".
    #[test]
    fn the_proxy_is_the_ids_last_four_octets_big_endian_modulo_v() {
        let spec = ChainSpec::tiny();
        let mut id = Hash::default();
        id.0[0] = 0xFF; // not among the last four: ignored
        id.0[28..].copy_from_slice(&[0, 0, 1, 2]); // 258 = 43·6
        assert_eq!(proxy_index(&spec, &id), 0);
        id.0[31] = 3; // 259
        assert_eq!(proxy_index(&spec, &id), 1);
        id.0[28..].copy_from_slice(&[0xFF; 4]); // 4294967295 = 6·715827882 + 3
        assert_eq!(proxy_index(&spec, &id), 3);
        let full = ChainSpec::full();
        assert_eq!(proxy_index(&full, &id), (u32::MAX % 1023) as u16);
    }
}

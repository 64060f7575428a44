//! Safrole block production, GP v0.7.2 §6 (safrole.tex, eqs. 6.1–6.35): the
//! timeslot, key rotation on epoch change (`γ_P`, `κ`, `λ`, ring root `γ_z`),
//! entropy accumulation `η`, the seal-key sequence `γ_s`, the epoch and
//! winning-tickets markers, and ticket accumulation `γ_A` from `E_T`.

pub mod sealing;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use tessera_core::codec::{Decode, Encode};
use tessera_core::crypto::bandersnatch::RingCommitment;
use tessera_core::crypto::ring_cache;
use tessera_core::hash::blake2b_256_concat;
use tessera_core::spec::ChainSpec;
use tessera_core::types::{
    Ed25519Public, EpochMark, EpochMarkValidator, TicketBody, TicketsExtrinsic, TicketsMark,
    TimeSlot,
};
use tessera_core::Hash;

use crate::sigma::entropy::EntropyBuffer;
use crate::sigma::validators::ValidatorSet;
use sealing::{fallback_keys, outside_in, TicketsOrKeys};

/// `X_T`: the context string of a ticket proof (GP 6.29).
pub const X_TICKET: &[u8] = b"jam_ticket_seal";

/// The part of the state the safrole transition reads and writes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
#[serde(deny_unknown_fields)]
pub struct SafroleState {
    /// `τ`: the most recent block's timeslot.
    pub tau: TimeSlot,
    /// `η`: the entropy accumulator and its snapshots.
    pub eta: EntropyBuffer,
    /// `λ`: the previous epoch's validators.
    pub lambda: ValidatorSet,
    /// `κ`: the current validators.
    pub kappa: ValidatorSet,
    /// `γ_P` (`gamma_k` in the vectors): the next epoch's validators.
    pub gamma_k: ValidatorSet,
    /// `ι`: the validators queued to enter after `γ_P`.
    pub iota: ValidatorSet,
    /// `γ_A`: the ticket accumulator, ascending by id, at most `E`.
    #[codec(seq, max = spec.epoch_length as usize, name = "ticket accumulator")]
    pub gamma_a: Vec<TicketBody>,
    /// `γ_s`: the current epoch's seal keys.
    pub gamma_s: TicketsOrKeys,
    /// `γ_z`: the ring root of `γ_P`'s Bandersnatch keys.
    pub gamma_z: RingCommitment,
    /// `ψ'_O`: the posterior offenders, nulled out of `γ_P` on rotation (GP 6.14).
    #[codec(seq, name = "offenders")]
    pub post_offenders: Vec<Ed25519Public>,
}

/// The block data the transition consumes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
#[serde(deny_unknown_fields)]
pub struct SafroleInput {
    /// `H_T = τ'`: the block's timeslot.
    pub slot: TimeSlot,
    /// `Y(H_V)`: the entropy the block's VRF signature yields.
    pub entropy: Hash,
    /// `E_T`: the tickets extrinsic.
    pub extrinsic: TicketsExtrinsic,
}

/// The header markers the transition determines.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
#[serde(deny_unknown_fields)]
pub struct SafroleOutput {
    /// `H_E` (GP 6.27): set on the first block of an epoch.
    pub epoch_mark: Option<EpochMark>,
    /// `H_W` (GP 6.28): set on the first block past the submission period if the
    /// accumulator is full.
    pub tickets_mark: Option<TicketsMark>,
}

/// Why a block is invalid to safrole; names and codes are the vectors'.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "snake_case")]
pub enum SafroleError {
    /// GP 5.7: the slot does not advance.
    #[error("timeslot does not advance")]
    BadSlot,
    /// GP 6.30: tickets after the submission period.
    #[error("ticket submitted after the submission period")]
    UnexpectedTicket,
    /// GP 6.32: ticket ids not strictly ascending.
    #[error("tickets not ordered by id")]
    BadTicketOrder,
    /// GP 6.29: a ring proof does not verify.
    #[error("bad ticket proof")]
    BadTicketProof,
    /// GP 6.29: an entry index not below `N`.
    #[error("ticket attempt out of range")]
    BadTicketAttempt,
    /// The vectors' reserved code 5 (unused).
    #[error("reserved")]
    Reserved,
    /// GP 6.33: a ticket already in the accumulator.
    #[error("duplicate ticket")]
    DuplicateTicket,
    /// GP 6.35: a submitted ticket would not be retained in the accumulator. The
    /// vectors have no code for this; it is not encodable.
    #[error("ticket not retained in the accumulator")]
    TicketNotRetained,
    /// The ring-VRF parameters could not be built for the validator count (a
    /// chain-spec problem, not an input one); not encodable.
    #[error("ring-VRF parameters unavailable for this validator count")]
    RingUnavailable,
}

error_codes!(SafroleError {
    BadSlot = 0,
    UnexpectedTicket = 1,
    BadTicketOrder = 2,
    BadTicketProof = 3,
    BadTicketAttempt = 4,
    Reserved = 5,
    DuplicateTicket = 6,
    TicketNotRetained = 254,
    RingUnavailable = 255,
});

/// Apply one block to safrole (GP 6.1–6.35). The ring root of a new `γ_P` is
/// computed once per epoch change and the ticket proofs are checked with one
/// verifier for `γ'_z`.
pub fn apply(
    spec: &ChainSpec,
    pre: &SafroleState,
    input: &SafroleInput,
) -> Result<(SafroleState, SafroleOutput), SafroleError> {
    let epoch_length = spec.epoch_length.max(1);
    let y = spec.ticket_submission_end;
    // GP 5.7: τ' > τ.
    if input.slot <= pre.tau {
        return Err(SafroleError::BadSlot);
    }
    let (e, m) = (pre.tau / epoch_length, pre.tau % epoch_length);
    let (e2, m2) = (input.slot / epoch_length, input.slot % epoch_length);
    let new_epoch = e2 > e;
    // GP 6.30: no tickets once the submission period has ended.
    if !input.extrinsic.0.is_empty() && m2 >= y {
        return Err(SafroleError::UnexpectedTicket);
    }
    if input
        .extrinsic
        .0
        .iter()
        .any(|t| t.attempt >= spec.tickets_per_validator)
    {
        return Err(SafroleError::BadTicketAttempt);
    }

    let mut post = pre.clone();
    post.tau = input.slot;
    let [eta0, eta1, eta2, _] = pre.eta.0;
    // GP 6.22: η'_0 = H(η_0 ⌢ Y(H_V)).
    let eta0_new = blake2b_256_concat(&[&eta0[..], &input.entropy[..]]);
    let full_accumulator = pre.gamma_a.len() == epoch_length as usize;
    let mut epoch_mark = None;
    if new_epoch {
        // GP 6.23: rotate the entropy snapshots.
        post.eta = EntropyBuffer([eta0_new, eta0, eta1, eta2]);
        // GP 6.13–6.14: (γ'_P, κ', λ', γ'_z) = (Φ(ι), γ_P, κ, O([k_b | k ← γ'_P])).
        post.gamma_k = pre.iota.without_offenders(&pre.post_offenders);
        post.kappa = pre.gamma_k.clone();
        post.lambda = pre.kappa.clone();
        let keys: Vec<_> = post.gamma_k.0.iter().map(|k| k.bandersnatch).collect();
        post.gamma_z = ring_cache::root(spec.validators(), &keys)
            .map_err(|_| SafroleError::RingUnavailable)?;
        // GP 6.24: the tickets if the previous epoch ran its full submission
        // period and filled the accumulator, else the fallback keys.
        post.gamma_s = if e2 == e + 1 && m >= y && full_accumulator {
            TicketsOrKeys::Tickets(outside_in(&pre.gamma_a))
        } else {
            TicketsOrKeys::Keys(fallback_keys(&post.eta.0[2], &post.kappa, epoch_length))
        };
        // GP 6.34: the accumulator restarts each epoch.
        post.gamma_a.clear();
        // GP 6.27: H_E = (η_0, η_1, [(k_b, k_e) | k ← γ'_P]).
        epoch_mark = Some(EpochMark {
            entropy: eta0,
            tickets_entropy: eta1,
            validators: post
                .gamma_k
                .0
                .iter()
                .map(|k| EpochMarkValidator {
                    bandersnatch: k.bandersnatch,
                    ed25519: k.ed25519,
                })
                .collect(),
        });
    } else {
        post.eta.0[0] = eta0_new;
    }

    // GP 6.28: H_W = Z(γ_A) on the first block past Y with a full accumulator.
    let tickets_mark = (!new_epoch && m < y && y <= m2 && full_accumulator)
        .then(|| TicketsMark(outside_in(&pre.gamma_a)));

    if !input.extrinsic.0.is_empty() {
        accumulate_tickets(spec, &mut post, input)?;
    }
    Ok((
        post,
        SafroleOutput {
            epoch_mark,
            tickets_mark,
        },
    ))
}

/// GP 6.29–6.35: verify `E_T` against `γ'_z` and `η'_2`, and merge the new
/// tickets into `γ'_A`, keeping the `E` lowest ids.
fn accumulate_tickets(
    spec: &ChainSpec,
    post: &mut SafroleState,
    input: &SafroleInput,
) -> Result<(), SafroleError> {
    // The process's verifiers: one per ring root (every ticket of an epoch is
    // checked under the same γ'_z), and each proof checked once however many
    // blocks, forks and hosted validators meet it (`ring_cache::RingVerifiers`).
    let verifiers =
        ring_cache::verifiers(spec.validators()).map_err(|_| SafroleError::RingUnavailable)?;
    let eta2 = post.eta.0[2];
    // GP 6.29: p ∈ F̄_{γ'_z}⟨X_T ⌢ η'_2 ⌢ r⟩([]); GP 6.31: the id is Y(p). Each
    // proof is milliseconds of pairing work and independent of the others, so
    // they are checked in parallel; any failure is the same error.
    let new: Vec<TicketBody> = input
        .extrinsic
        .0
        .par_iter()
        .map(|envelope| {
            let vrf_input = [X_TICKET, &eta2[..], &[envelope.attempt]].concat();
            let id = verifiers
                .verify(&post.gamma_z, &vrf_input, &[], &envelope.signature)
                .map_err(|_| SafroleError::BadTicketProof)?;
            Ok(TicketBody {
                id,
                attempt: envelope.attempt,
            })
        })
        .collect::<Result<_, SafroleError>>()?;
    // GP 6.32: ascending by id, no duplicates within the extrinsic.
    if new.windows(2).any(|w| w[0].id >= w[1].id) {
        return Err(SafroleError::BadTicketOrder);
    }
    // GP 6.33: none already in the accumulator.
    if new
        .iter()
        .any(|t| post.gamma_a.iter().any(|old| old.id == t.id))
    {
        return Err(SafroleError::DuplicateTicket);
    }
    // GP 6.34: γ'_A = the E lowest of n ∪ γ_A.
    post.gamma_a.extend_from_slice(&new);
    post.gamma_a.sort_by_key(|t| t.id);
    post.gamma_a.truncate(spec.epoch_length as usize);
    // GP 6.35: every submitted ticket is retained.
    if new
        .iter()
        .any(|t| !post.gamma_a.iter().any(|kept| kept.id == t.id))
    {
        return Err(SafroleError::TicketNotRetained);
    }
    Ok(())
}

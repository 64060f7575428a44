//! Block authoring under Safrole (GP v0.7.2 §5 and §6.4–6.6): decide whether a
//! validator holds a slot's seal key, and make the block it may then author — the
//! header with its markers, its entropy source `H_V` and its seal `H_S` over a
//! given extrinsic.
//!
//! The header fields are those [`tessera_state::import_block`]
//! checks, computed with the same component transitions it runs, so an authored
//! block imports onto the state it was made for:
//!
//! - `H_P`, `H_R` (GP 5.2, 5.8): the parent's header hash and posterior state root,
//!   which the caller knows from the import that made the parent state;
//! - `H_X` (GP 5.4–5.6): the extrinsic hash;
//! - `H_E`, `H_W` (eq:epochmarker 6.27, eq:winningticketsmarker 6.28) and the
//!   posterior `κ'`, `γ'_S`, `η'_3` from Safrole's transition
//!   ([`safrole::apply`]), none of which depends on `Y(H_V)` or on `E_T`;
//! - `H_O` (GP 10.20) from the disputes transition ([`disputes::apply`]);
//! - `H_I`: the index of the author's Bandersnatch key in `κ'` (GP 5.9, and
//!   `H_A = κ'[H_I]_b`);
//! - `H_V ∈ F̃_{H_A}⟨X_E ⌢ Y(H_S)⟩([])` (eq:vrfsigcheck, 6.17): `Y(H_S)` depends only
//!   on the key and the seal's VRF input, so it is known before the seal is made;
//! - `H_S ∈ F̃_{H_A}⟨X_T ⌢ η'_3 ⌢ i_e⟩(E_U(H))` under a ticket `i = γ'_S[H_T]↺`,
//!   whose id must be `Y(H_S)` (eq:ticketconditiontrue, 6.15), or
//!   `H_S ∈ F̃_{H_A}⟨X_F ⌢ η'_3⟩(E_U(H))` in fallback, where `γ'_S[H_T]↺ = H_A`
//!   (eq:ticketconditionfalse, 6.16).
//!
//! The IETF VRF signatures of `ark-vrf` are deterministic (the nonce is derived
//! from the secret and the VRF input, RFC 9381 §5.4.2.2), so the same key, state,
//! slot and extrinsic always give the same block.
//!
//! This module makes blocks; it does not choose their extrinsics (the pools),
//! make ticket proofs, keep time or send anything to peers. It only cuts a
//! pooled extrinsic down to what imports ([`admissible`]).

use tessera_core::crypto::bandersnatch::{self, VrfOutputHash};
use tessera_core::crypto::contexts;
use tessera_core::crypto::jip5::ValidatorSecrets;
use tessera_core::hash::Hash;
use tessera_core::spec::ChainSpec;
use tessera_core::types::{
    BandersnatchPublic, BandersnatchVrfSignature, Block, Ed25519Public, EpochMark, Extrinsic,
    Header, TicketsExtrinsic, TicketsMark, TimeSlot, ValidatorIndex,
};
use tessera_state::stf::disputes::{self, DisputesError, DisputesInput};
use tessera_state::stf::header::extrinsic_hash;
use tessera_state::stf::safrole::sealing::TicketsOrKeys;
use tessera_state::stf::safrole::{self, SafroleError, SafroleInput};
use tessera_state::stf::{disputes_state, safrole_state};
use tessera_state::{import_block, BlockError, ChainState};

/// Why a block could not be authored.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthorError {
    /// GP 5.7: the slot is not after the parent's `τ`.
    #[error("slot {slot} is not after the parent's slot {prior}")]
    SlotNotAfterParent {
        /// The slot asked for.
        slot: TimeSlot,
        /// The parent state's `τ`.
        prior: TimeSlot,
    },
    /// The disputes extrinsic is invalid on the parent state (GP §10).
    #[error("disputes extrinsic: {0}")]
    Disputes(#[from] DisputesError),
    /// Safrole rejects the slot (GP §6), e.g. the ring root of a new epoch's
    /// keys could not be made.
    #[error("safrole: {0}")]
    Safrole(#[from] SafroleError),
    /// `γ'_S` has no entry for the slot (a state that breaks `|γ_S| = E`).
    #[error("no seal key for slot {0}")]
    NoSealKey(TimeSlot),
    /// The validator does not hold the slot's seal key: in fallback mode the
    /// slot's key is another's (GP 6.16); under tickets its VRF output for the
    /// slot's ticket is not the ticket's id (GP 6.15).
    #[error("validator key {key} is not the seal key of slot {slot}")]
    NotSlotAuthor {
        /// The slot asked for.
        slot: TimeSlot,
        /// The validator's Bandersnatch key.
        key: BandersnatchPublic,
    },
    /// The validator holds the slot's seal key but is not in `κ'`, so it has no
    /// author index `H_I` (GP 5.9); a state whose `γ'_S` was not drawn from `κ'`.
    #[error("validator key {0} is not in the active set κ'")]
    NotActiveValidator(BandersnatchPublic),
    /// A Bandersnatch operation failed (a VRF input that maps to no point; never
    /// expected with the GP's contexts).
    #[error("bandersnatch: {0}")]
    Vrf(#[from] bandersnatch::Error),
}

/// How a slot is sealed: `γ'_S[H_T]↺` (eq:slotkeysequence, 6.24).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SealKey {
    /// A ticket (GP 6.15): the author is whoever's VRF output for
    /// `X_T ⌢ η'_3 ⌢ attempt` is `id`.
    Ticket {
        /// The ticket's id `i_y`.
        id: Hash,
        /// Its entry index `i_e`.
        attempt: u8,
    },
    /// A fallback key (GP 6.16): the author is the validator with this key.
    Fallback(BandersnatchPublic),
}

/// What a slot's block is made against: the posterior values Safrole and the
/// disputes give for the slot on the parent state, which fix every header field
/// but the author's own (GP 6.15–6.17, 6.27, 6.28, 10.20).
#[derive(Clone, Debug)]
pub struct SlotContext {
    /// `H_T`.
    pub slot: TimeSlot,
    /// `κ'`: the active validators at the slot.
    pub kappa: Vec<BandersnatchPublic>,
    /// `γ'_S[H_T]↺`: the slot's seal key.
    pub seal_key: SealKey,
    /// `η'_3`: the entropy the seal's VRF input carries.
    pub eta3: Hash,
    /// `H_E` (eq:epochmarker, 6.27).
    pub epoch_mark: Option<EpochMark>,
    /// `H_W` (eq:winningticketsmarker, 6.28).
    pub tickets_mark: Option<TicketsMark>,
    /// `H_O` (GP 10.20): the offenders the disputes extrinsic judges.
    pub offenders_mark: Vec<Ed25519Public>,
}

/// A validator's claim to a slot: its index in `κ'` and the seal's VRF input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotClaim {
    /// `H_I`: the author's index in `κ'`.
    pub author_index: ValidatorIndex,
    /// `X_T ⌢ η'_3 ⌢ i_e` (ticket) or `X_F ⌢ η'_3` (fallback).
    pub seal_input: Vec<u8>,
    /// `Y(H_S)`: the seal's VRF output, known before the seal is made.
    pub seal_output: VrfOutputHash,
    /// Whether the slot is sealed by a ticket (the GP's `isticketed` marker: 1 under
    /// eq:ticketconditiontrue, 0 under eq:ticketconditionfalse).
    pub ticketed: bool,
}

/// The parent block a new block extends.
#[derive(Clone, Copy, Debug)]
pub struct Parent<'a> {
    /// The parent's posterior state `σ`.
    pub state: &'a ChainState,
    /// `H_P`: the parent header's hash.
    pub header_hash: Hash,
    /// `H_R`: `M_σ(σ)`, the parent's posterior state root.
    pub state_root: Hash,
}

impl SlotContext {
    /// The context of `slot` on the parent state `pre`, with the disputes the
    /// block will carry (their offenders enter `H_O`, and are nulled out of the
    /// epoch marker's keys on an epoch change, GP 6.14).
    pub fn new(
        spec: &ChainSpec,
        pre: &ChainState,
        slot: TimeSlot,
        disputes_extrinsic: &tessera_core::types::DisputesExtrinsic,
    ) -> Result<Self, AuthorError> {
        if slot <= pre.tau {
            return Err(AuthorError::SlotNotAfterParent {
                slot,
                prior: pre.tau,
            });
        }
        // ψ' and H_O (GP 10.20), as block import computes them.
        let (disputed, disputes_out) = disputes::apply(
            spec,
            &disputes_state(pre),
            &DisputesInput {
                disputes: disputes_extrinsic.clone(),
            },
        )?;
        // κ', γ'_S, η'_3, H_E and H_W. None of them depends on Y(H_V) (which only
        // enters η'_0, GP 6.22) or on E_T (which only enters γ'_A, GP 6.34), so
        // Safrole runs here with a placeholder entropy and no tickets: the
        // tickets are the importer's to verify, and their ring proofs are the
        // expensive part.
        let (post, out) = safrole::apply(
            spec,
            &safrole_state(pre, &disputed.psi),
            &SafroleInput {
                slot,
                entropy: Hash::default(),
                extrinsic: TicketsExtrinsic::default(),
            },
        )?;
        // γ'_S[H_T]↺: the slot's place in its epoch (eq:ticketconditiontrue).
        let index = usize::try_from(slot % spec.epoch_length.max(1)).unwrap_or(usize::MAX);
        let seal_key = match &post.gamma_s {
            TicketsOrKeys::Tickets(tickets) => tickets.get(index).map(|t| SealKey::Ticket {
                id: t.id,
                attempt: t.attempt,
            }),
            TicketsOrKeys::Keys(keys) => keys.get(index).map(|k| SealKey::Fallback(*k)),
        }
        .ok_or(AuthorError::NoSealKey(slot))?;
        Ok(SlotContext {
            slot,
            kappa: post.kappa.0.iter().map(|v| v.bandersnatch).collect(),
            seal_key,
            eta3: post.eta.0[3],
            epoch_mark: out.epoch_mark,
            tickets_mark: out.tickets_mark,
            offenders_mark: disputes_out.offenders_mark,
        })
    }

    /// Whether `secret` holds this slot's seal key, and if so its claim: in
    /// fallback its public key is the slot's key (GP 6.16); under a ticket its VRF
    /// output for `X_T ⌢ η'_3 ⌢ i_e` is the ticket's id (GP 6.15). Either way its
    /// key must be in `κ'`, whose first position holding it is `H_I`.
    pub fn claim(&self, secret: &bandersnatch::Secret) -> Result<SlotClaim, AuthorError> {
        let key = secret.public();
        let not_author = AuthorError::NotSlotAuthor {
            slot: self.slot,
            key,
        };
        let (seal_input, ticketed) = match &self.seal_key {
            SealKey::Fallback(k) => {
                if *k != key {
                    return Err(not_author);
                }
                (contexts::fallback_seal_vrf_input(&self.eta3), false)
            }
            SealKey::Ticket { attempt, .. } => {
                (contexts::ticket_vrf_input(&self.eta3, *attempt), true)
            }
        };
        let seal_output = secret.vrf_output(&seal_input)?;
        if let SealKey::Ticket { id, .. } = &self.seal_key {
            if *id != seal_output {
                return Err(not_author);
            }
        }
        let author_index = self
            .kappa
            .iter()
            .position(|k| *k == key)
            .and_then(|i| ValidatorIndex::try_from(i).ok())
            .ok_or(AuthorError::NotActiveValidator(key))?;
        Ok(SlotClaim {
            author_index,
            seal_input,
            seal_output,
            ticketed,
        })
    }

    /// Whether `secret` may author this slot.
    pub fn is_author(&self, secret: &bandersnatch::Secret) -> bool {
        self.claim(secret).is_ok()
    }

    /// The sealed block of this slot on `parent`, by the holder of `secret`,
    /// carrying `extrinsic` (whose disputes must be those this context was made
    /// with, or `H_O` will not match them).
    pub fn seal(
        &self,
        parent_hash: Hash,
        parent_state_root: Hash,
        secret: &bandersnatch::Secret,
        extrinsic: Extrinsic,
    ) -> Result<Block, AuthorError> {
        let claim = self.claim(secret)?;
        // GP 6.17: H_V ∈ F̃_{H_A}⟨X_E ⌢ Y(H_S)⟩([]).
        let entropy_source = bandersnatch::sign(
            secret,
            &contexts::entropy_vrf_input(&claim.seal_output),
            &[],
        )?;
        let mut header = Header {
            parent: parent_hash,
            parent_state_root,
            extrinsic_hash: extrinsic_hash(&extrinsic),
            slot: self.slot,
            epoch_mark: self.epoch_mark.clone(),
            tickets_mark: self.tickets_mark.clone(),
            author_index: claim.author_index,
            entropy_source,
            offenders_mark: self.offenders_mark.clone(),
            seal: BandersnatchVrfSignature::default(),
        };
        // GP 6.15–6.16: H_S signs E_U(H), the header without its seal.
        header.seal = bandersnatch::sign(secret, &claim.seal_input, &header.encode_unsigned())?;
        Ok(Block { header, extrinsic })
    }
}

/// Author the block of `slot` on `parent` with `keys`, carrying `extrinsic`:
/// [`SlotContext::new`] then [`SlotContext::seal`]. A validator that does not
/// hold the slot's seal key gets [`AuthorError::NotSlotAuthor`].
pub fn author_block(
    spec: &ChainSpec,
    parent: Parent<'_>,
    slot: TimeSlot,
    keys: &ValidatorSecrets,
    extrinsic: Extrinsic,
) -> Result<Block, AuthorError> {
    SlotContext::new(spec, parent.state, slot, &extrinsic.disputes)?.seal(
        parent.header_hash,
        parent.state_root,
        &keys.bandersnatch,
        extrinsic,
    )
}

/// The first of `candidates` that holds the seal key of `slot` on `pre` (e.g. the
/// JIP-5 development validators of a local testnet), with its claim.
pub fn slot_author<'a>(
    spec: &ChainSpec,
    pre: &ChainState,
    slot: TimeSlot,
    candidates: &'a [ValidatorSecrets],
) -> Result<Option<(&'a ValidatorSecrets, SlotClaim)>, AuthorError> {
    let context = SlotContext::new(spec, pre, slot, &Default::default())?;
    Ok(candidates
        .iter()
        .find_map(|c| context.claim(&c.bandersnatch).ok().map(|claim| (c, claim))))
}

/// A guarantee [`admissible`] left out, and why.
#[derive(Debug)]
pub struct Dropped {
    /// The core of its report.
    pub core: u16,
    /// Why the block carrying it would not import.
    pub error: BlockError,
}

/// The most of `extrinsic` that makes a block of `slot` on `parent` import, found
/// greedily: everything but the guarantees, then each guarantee (in core order)
/// that still imports with those kept before it; nothing at all if even the
/// guarantee-free part fails. A pool picks guarantees without running the
/// transition, so one may fail on the parent state (its guarantor banned by a
/// verdict in `ψ_O`, its rotation past, its anchor gone): that one guarantee, not
/// the whole block's assurances, verdicts and other cores' reports, is left out.
/// Each trial authors and imports a block without storing it (the STF is pure).
pub fn admissible(
    spec: &ChainSpec,
    parent: Parent<'_>,
    slot: TimeSlot,
    keys: &ValidatorSecrets,
    extrinsic: Extrinsic,
) -> Result<(Extrinsic, Vec<Dropped>), AuthorError> {
    let imports = |x: &Extrinsic| -> Result<Result<(), BlockError>, AuthorError> {
        let block = author_block(spec, parent, slot, keys, x.clone())?;
        Ok(import_block(spec, parent.state, &parent.state_root, &block).map(|_| ()))
    };
    let mut guarantees = extrinsic.guarantees.0.clone();
    guarantees.sort_by_key(|g| g.report.core_index);
    let mut kept = Extrinsic {
        guarantees: Default::default(),
        ..extrinsic
    };
    let mut dropped = Vec::new();
    if let Err(error) = imports(&kept)? {
        tracing::debug!(%error, "pooled extrinsic fails without its guarantees too");
        return Ok((Extrinsic::default(), dropped));
    }
    for g in guarantees {
        let core = g.report.core_index;
        kept.guarantees.0.push(g);
        if let Err(error) = imports(&kept)? {
            kept.guarantees.0.pop();
            dropped.push(Dropped { core, error });
        }
    }
    Ok((kept, dropped))
}

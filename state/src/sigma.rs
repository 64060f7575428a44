//! The whole state σ (GP v0.7.2 §4.2, eq. 4.4): every component the block-import
//! transition Υ reads and writes, each as the type its STF module already uses.
//! Its serialization `T(σ)` and the inverse are in [`crate::serial`].
//!
//! The parts that are plain state with no transition of their own live here as
//! children: δ's accounts ([`accounts`], §9), the validator key sets
//! ([`validators`], §6.3), η ([`entropy`], §6.4), ρ ([`pending`], §11.1) and ψ
//! ([`judgments`], §10.1). The parts one STF component owns (α, φ, β, γ_S, π, χ,
//! ω, ξ) are defined beside the transition that writes them, in [`crate::stf`].

pub mod accounts;
pub mod entropy;
pub mod judgments;
pub mod pending;
pub mod validators;

use std::collections::BTreeMap;
use std::sync::Arc;

use tessera_core::crypto::bandersnatch::RingCommitment;
use tessera_core::hash::Hash;
use tessera_core::types::{ServiceId, TicketBody, TimeSlot};

use crate::sigma::accounts::ServiceAccount;
use crate::sigma::entropy::EntropyBuffer;
use crate::sigma::judgments::DisputesRecords;
use crate::sigma::pending::AvailabilityAssignments;
use crate::sigma::validators::ValidatorSet;
use crate::stf::accumulate::{PrivilegesRecord, ReadyRecord};
use crate::stf::authorizations::{AuthPools, AuthQueues};
use crate::stf::history::RecentBlocks;
use crate::stf::safrole::sealing::TicketsOrKeys;
use crate::stf::statistics::{CoresStatistics, ServiceStatisticsEntry, ValidatorActivityRecord};

/// `γ = (γ_P, γ_Z, γ_S, γ_A)` (GP 6.3): Safrole's own state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Gamma {
    /// `γ_P`: the next epoch's validator keys.
    pub pending: ValidatorSet,
    /// `γ_Z`: the Bandersnatch ring root of `γ_P`.
    pub ring_root: RingCommitment,
    /// `γ_S`: this epoch's seal keys, tickets or fallback keys.
    pub seal_keys: TicketsOrKeys,
    /// `γ_A`: the ticket accumulator, ordered by ticket id.
    pub tickets: Vec<TicketBody>,
}

/// `π = (π_V, π_L, π_C, π_S)` (GP 13.1).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Statistics {
    /// `π_V`: this epoch's validator records.
    pub current: Vec<ValidatorActivityRecord>,
    /// `π_L`: the last epoch's.
    pub last: Vec<ValidatorActivityRecord>,
    /// `π_C`: per-core activity of the last block.
    pub cores: CoresStatistics,
    /// `π_S`: per-service activity of the last block, ordered by service id.
    pub services: Vec<ServiceStatisticsEntry>,
}

/// σ: the sixteen components and the service accounts `δ`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainState {
    /// `α` (C(1)): the authorizer pools.
    pub alpha: AuthPools,
    /// `φ` (C(2)): the authorizer queues.
    pub phi: AuthQueues,
    /// `β` (C(3)): recent blocks and the accumulation-output belt.
    pub beta: RecentBlocks,
    /// `γ` (C(4)).
    pub gamma: Gamma,
    /// `ψ` (C(5)): judgments.
    pub psi: DisputesRecords,
    /// `η` (C(6)): the entropy buffer.
    pub eta: EntropyBuffer,
    /// `ι` (C(7)): staged validator keys.
    pub iota: ValidatorSet,
    /// `κ` (C(8)): the active validators.
    pub kappa: ValidatorSet,
    /// `λ` (C(9)): the previous epoch's validators.
    pub lambda: ValidatorSet,
    /// `ρ` (C(10)): reports pending availability.
    pub rho: AvailabilityAssignments,
    /// `τ` (C(11)): the most recent block's slot.
    pub tau: TimeSlot,
    /// `χ` (C(12)): the privileged services.
    pub chi: PrivilegesRecord,
    /// `π` (C(13)): statistics.
    pub pi: Statistics,
    /// `ω` (C(14)): reports ready but waiting on dependencies, one queue per slot
    /// of the epoch.
    pub omega: Vec<Vec<ReadyRecord>>,
    /// `ξ` (C(15)): the packages accumulated in each of the last `E` slots.
    pub xi: Vec<Vec<Hash>>,
    /// `θ` (C(16)): the last block's accumulation outputs, ordered by service.
    pub theta: Vec<(ServiceId, Hash)>,
    /// `δ`: the service accounts (shared, so that copying σ per block is cheap).
    pub delta: BTreeMap<ServiceId, Arc<ServiceAccount>>,
}

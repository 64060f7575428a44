//! The block-import transition `σ' = Υ(σ, B)` (GP v0.7.2 §4.2, eqs. 4.5–4.20):
//! the header's rules, then every STF component in the GP's dependency order,
//! each through the same `apply` the component vectors check.
//!
//! Pure: the prior state is never changed, so a rejected block leaves nothing
//! behind; the caller keeps or drops the posterior state as a whole.
//!
//! The components are this module's children, one per GP section, each named
//! for the state or extrinsic it transforms; [`header`] holds the rules on the
//! header itself (§5), which are not a component with vectors of their own.

// The vectors' error codes, declared first so that every component below can
// use the `error_codes!` macro.
#[macro_use]
pub mod error_code;

pub mod accumulate;
pub mod assurances;
pub mod authorizations;
pub mod disputes;
pub mod header;
pub mod history;
pub mod preimages;
pub mod reports;
pub mod safrole;
pub mod statistics;

use std::collections::BTreeSet;

use tessera_core::codec::{decode_exact, Encode};
use tessera_core::crypto::bandersnatch;
use tessera_core::hash::Hash;
use tessera_core::spec::ChainSpec;
use tessera_core::types::{
    Block, Ed25519Public, ServiceId, TimeSlot, ValidatorData, ValidatorIndex, WorkReport,
};

use crate::sigma::accounts::AccountEntry;
use crate::sigma::entropy::EntropyBuffer;
use crate::sigma::judgments::DisputesRecords;
use crate::sigma::pending::AvailabilityAssignments;
use crate::sigma::validators::ValidatorSet;
use crate::sigma::{ChainState, Gamma, Statistics};
use crate::stf::accumulate::partial::{PartialState, Privileges};
use crate::stf::accumulate::PrivilegesRecord;
use crate::stf::accumulate::{AccumulationOutcome, AccumulationState, ReadyRecord};
use crate::stf::assurances::{AssurancesError, AssurancesInput, AssurancesState};
use crate::stf::authorizations::{AuthPools, CoreAuthorizer};
use crate::stf::disputes::{DisputesError, DisputesInput, DisputesState};
use crate::stf::history::ReportedWorkPackage;
use crate::stf::reports::{ReportsError, ReportsInput, ReportsState};
use crate::stf::safrole::{SafroleError, SafroleInput, SafroleState};
use crate::stf::statistics::{service_record, CoresStatistics, ServiceStatisticsEntry};

/// Why a header breaks its own rules (GP §5, §6.4–6.5).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// GP 5.2: `H_P` is not the hash of the last imported header.
    #[error("parent hash {got} is not the last block's {expected}")]
    BadParent {
        /// The newest header hash in β.
        expected: Hash,
        /// `H_P`.
        got: Hash,
    },
    /// GP 5.8: `H_R ≠ M_σ(σ)`.
    #[error("parent state root {got} is not the prior state's root {expected}")]
    BadParentStateRoot {
        /// `M_σ(σ)`.
        expected: Hash,
        /// `H_R`.
        got: Hash,
    },
    /// GP 5.7: `H_T ≤ τ`.
    #[error("slot {slot} is not after the prior slot {prior}")]
    BadSlot {
        /// `H_T`.
        slot: TimeSlot,
        /// `τ`.
        prior: TimeSlot,
    },
    /// GP 5.4: `H_X` is not the hash of the extrinsic.
    #[error("extrinsic hash {got} is not the extrinsic's {expected}")]
    BadExtrinsicHash {
        /// `H(E(H#(a)))`.
        expected: Hash,
        /// `H_X`.
        got: Hash,
    },
    /// GP 5.9: `H_I ∉ N_V`.
    #[error("author index {0} is not a validator")]
    BadAuthorIndex(ValidatorIndex),
    /// `γ'_S` has no entry for the slot (a state that breaks `|γ_S| = E`).
    #[error("no seal key for slot {0}")]
    NoSealKey(TimeSlot),
    /// GP 6.16: in fallback mode the author does not hold the slot's key.
    #[error("validator {author} does not hold the fallback seal key of slot {slot}")]
    NotSlotAuthor {
        /// `H_T`.
        slot: TimeSlot,
        /// `H_I`.
        author: ValidatorIndex,
    },
    /// GP 6.15–6.16: `H_S` does not verify.
    #[error("seal does not verify: {0}")]
    BadSeal(String),
    /// GP 6.15: the seal's VRF output is not the slot's ticket id.
    #[error("seal output is not the slot's ticket id")]
    SealNotTicket,
    /// GP 6.17: `H_V` does not verify.
    #[error("entropy source does not verify: {0}")]
    BadEntropySource(String),
    /// GP 6.27: `H_E` differs from the epoch marker Safrole derives.
    #[error("epoch marker differs from the expected one")]
    BadEpochMark,
    /// GP 6.28: `H_W` differs from the winning-tickets marker.
    #[error("winning-tickets marker differs from the expected one")]
    BadTicketsMark,
    /// GP 10.20: `H_O` differs from the offenders the disputes judged.
    #[error("offenders marker differs from the disputes' offenders")]
    BadOffendersMark,
}

/// Why a block is rejected: the rule broken, by component.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BlockError {
    /// The header.
    #[error("header: {0}")]
    Header(#[from] HeaderError),
    /// Safrole (tickets, epoch change).
    #[error("safrole: {0}")]
    Safrole(#[from] SafroleError),
    /// Disputes.
    #[error("disputes: {0}")]
    Disputes(#[from] DisputesError),
    /// Assurances.
    #[error("assurances: {0}")]
    Assurances(#[from] AssurancesError),
    /// Guarantees (reports).
    #[error("reports: {0}")]
    Reports(#[from] ReportsError),
    /// Recent history.
    #[error("history: {0}")]
    History(#[from] history::Error),
    /// Preimages.
    #[error("preimages: {0}")]
    Preimages(#[from] preimages::Error),
    /// Authorizations.
    #[error("authorizations: {0}")]
    Authorizations(#[from] authorizations::Error),
    /// Validator statistics.
    #[error("statistics: {0}")]
    Statistics(#[from] statistics::Error),
    /// GP B.10 (note): two services created the same service id in one
    /// accumulation batch.
    #[error("accumulation: service id {0} created twice in one batch")]
    DuplicateService(tessera_core::types::ServiceId),
}

/// `Υ(σ, B)`: the posterior state, or the rule `B` breaks. `prior_root` is
/// `M_σ(σ)`, which the caller knows from the import that made `σ`.
///
/// The steps run in the GP's dependency order (§4.2.1): each is a function below
/// that hands one component the parts of the state it reads, prior or posterior
/// as the GP says, and checks the header fields that component decides.
pub fn import_block(
    spec: &ChainSpec,
    pre: &ChainState,
    prior_root: &Hash,
    block: &Block,
) -> Result<ChainState, BlockError> {
    let tau = block.header.slot;
    check_against_prior(spec, pre, prior_root, block)?;
    let disputed = judge(spec, pre, block)?;
    let safrole = advance_safrole(spec, pre, block, &disputed.psi)?;
    let (assured, available) = assure(spec, pre, block, disputed.rho)?;
    let (reported, reporters) = guarantee(spec, pre, block, assured, &safrole, &disputed.psi)?;
    let accumulated = accumulate_available(spec, pre, tau, &safrole.eta, &available)?;
    let beta = record_history(spec, pre, block, accumulated.root)?;
    // δ' (GP 12.35–12.38): the preimages, checked against δ and written into δ‡.
    let mut delta = accumulated.state.partial.accounts.clone();
    let provided = preimages::integrate(&pre.delta, &mut delta, &block.extrinsic.preimages, tau)?;
    let alpha = authorize(spec, pre, block, &accumulated.state.partial.auth_queues)?;
    let validator_stats = validator_statistics(spec, pre, block, &safrole.kappa, &reporters)?;
    let services = service_statistics(reported.services_statistics, &provided, &accumulated);
    let cores = core_statistics(spec, reported.cores_statistics, &available, block);

    let AccumulationOutcome {
        state: acc,
        outputs,
        ..
    } = accumulated;
    Ok(ChainState {
        alpha,
        phi: authorizations::AuthQueues(acc.partial.auth_queues),
        beta,
        gamma: Gamma {
            pending: safrole.gamma_k,
            ring_root: safrole.gamma_z,
            seal_keys: safrole.gamma_s,
            tickets: safrole.gamma_a,
        },
        psi: disputed.psi,
        eta: safrole.eta,
        iota: ValidatorSet(staged_keys(spec, &acc.partial.staging, &pre.iota)),
        kappa: safrole.kappa,
        lambda: safrole.lambda,
        rho: reported.avail_assignments,
        tau,
        chi: PrivilegesRecord::from(&acc.partial.privileges),
        pi: Statistics {
            current: validator_stats.vals_curr_stats,
            last: validator_stats.vals_last_stats,
            cores,
            services,
        },
        omega: acc.ready,
        xi: acc.accumulated,
        theta: outputs,
        delta,
    })
}

/// GP 5.2, 5.7, 5.8, 5.4, 5.9: the parent, the slot, the parent state root, the
/// extrinsic hash and the author index, against the prior state.
fn check_against_prior(
    spec: &ChainSpec,
    pre: &ChainState,
    prior_root: &Hash,
    block: &Block,
) -> Result<(), HeaderError> {
    let h = &block.header;
    if let Some(last) = pre.beta.history.last() {
        if h.parent != last.header_hash {
            return Err(HeaderError::BadParent {
                expected: last.header_hash,
                got: h.parent,
            });
        }
    }
    if h.slot <= pre.tau {
        return Err(HeaderError::BadSlot {
            slot: h.slot,
            prior: pre.tau,
        });
    }
    if h.parent_state_root != *prior_root {
        return Err(HeaderError::BadParentStateRoot {
            expected: *prior_root,
            got: h.parent_state_root,
        });
    }
    let x = header::extrinsic_hash(&block.extrinsic);
    if h.extrinsic_hash != x {
        return Err(HeaderError::BadExtrinsicHash {
            expected: x,
            got: h.extrinsic_hash,
        });
    }
    if usize::from(h.author_index) >= spec.validators() {
        return Err(HeaderError::BadAuthorIndex(h.author_index));
    }
    Ok(())
}

/// The disputes transition's part of the prior state `pre`: ψ, ρ, τ, κ, λ.
pub fn disputes_state(pre: &ChainState) -> DisputesState {
    DisputesState {
        psi: pre.psi.clone(),
        rho: pre.rho.clone(),
        tau: pre.tau,
        kappa: pre.kappa.clone(),
        lambda: pre.lambda.clone(),
    }
}

/// ψ', ρ† (GP §10): the disputes judge against the prior κ, λ and τ; `H_O` must
/// name the offenders they found (GP 10.20).
fn judge(spec: &ChainSpec, pre: &ChainState, block: &Block) -> Result<DisputesState, BlockError> {
    let (disputed, out) = disputes::apply(
        spec,
        &disputes_state(pre),
        &DisputesInput {
            disputes: block.extrinsic.disputes.clone(),
        },
    )?;
    if block.header.offenders_mark != out.offenders_mark {
        return Err(HeaderError::BadOffendersMark.into());
    }
    Ok(disputed)
}

/// Safrole's part of the prior state `pre`, with the posterior offenders ψ'_O of
/// `psi` (for Φ, GP 6.14): what the importer and a block author both feed Safrole.
pub fn safrole_state(pre: &ChainState, psi: &DisputesRecords) -> SafroleState {
    SafroleState {
        tau: pre.tau,
        eta: pre.eta,
        lambda: pre.lambda.clone(),
        kappa: pre.kappa.clone(),
        gamma_k: pre.gamma.pending.clone(),
        iota: pre.iota.clone(),
        gamma_a: pre.gamma.tickets.clone(),
        gamma_s: pre.gamma.seal_keys.clone(),
        gamma_z: pre.gamma.ring_root,
        post_offenders: psi.offenders.clone(),
    }
}

/// γ', κ', λ', η' (GP §6): Safrole, fed `Y(H_V)` and the posterior offenders ψ'_O
/// (for Φ, GP 6.14); then the epoch and tickets markers (GP 6.27–6.28) and the
/// seal and entropy signatures (GP 6.15–6.17) against κ', γ'_S and η'_3.
fn advance_safrole(
    spec: &ChainSpec,
    pre: &ChainState,
    block: &Block,
    psi: &DisputesRecords,
) -> Result<SafroleState, BlockError> {
    let h = &block.header;
    let entropy = bandersnatch::vrf_output(&h.entropy_source)
        .map_err(|err| HeaderError::BadEntropySource(err.to_string()))?;
    let (post, out) = safrole::apply(
        spec,
        &safrole_state(pre, psi),
        &SafroleInput {
            slot: h.slot,
            entropy,
            extrinsic: block.extrinsic.tickets.clone(),
        },
    )?;
    if h.epoch_mark != out.epoch_mark {
        return Err(HeaderError::BadEpochMark.into());
    }
    if h.tickets_mark != out.tickets_mark {
        return Err(HeaderError::BadTicketsMark.into());
    }
    header::check_seal(
        h,
        &post.kappa,
        &post.gamma_s,
        &post.eta.0[3],
        spec.epoch_length,
    )?;
    Ok(post)
}

/// ρ‡ and the newly available reports W (GP 11.10–11.17). GP 11.13 checks each
/// assurance against the prior active set κ, not κ': an assurance is made, and
/// signed, under the parent block's validator set, so on the first block of an
/// epoch it is the set Safrole has just retired to λ'.
fn assure(
    spec: &ChainSpec,
    pre: &ChainState,
    block: &Block,
    rho_dagger: AvailabilityAssignments,
) -> Result<(AssurancesState, Vec<WorkReport>), AssurancesError> {
    let (assured, out) = assurances::apply(
        spec,
        &AssurancesState {
            avail_assignments: rho_dagger,
            curr_validators: pre.kappa.clone(),
        },
        &AssurancesInput {
            assurances: block.extrinsic.assurances.clone(),
            slot: block.header.slot,
            parent: block.header.parent,
        },
    )?;
    Ok((assured, out.reported))
}

/// ρ' (GP 11.18–11.42): the guarantees, checked against κ', λ', η', ψ'_O, β†
/// (GP 7.5: the newest entry of β learns its state root), α and δ; π_C and π_S
/// start afresh each block (GP 13.9–13.12) and the reports add their refine
/// loads. Also `G`, the guarantors' keys (GP 11.27), for the statistics.
fn guarantee(
    spec: &ChainSpec,
    pre: &ChainState,
    block: &Block,
    assured: AssurancesState,
    safrole: &SafroleState,
    psi: &DisputesRecords,
) -> Result<(ReportsState, BTreeSet<Ed25519Public>), ReportsError> {
    let mut beta_dagger = pre.beta.clone();
    if let Some(newest) = beta_dagger.history.last_mut() {
        newest.state_root = block.header.parent_state_root;
    }
    let (reported, out) = reports::apply(
        spec,
        &ReportsState {
            avail_assignments: assured.avail_assignments,
            curr_validators: safrole.kappa.clone(),
            prev_validators: safrole.lambda.clone(),
            entropy: safrole.eta,
            offenders: psi.offenders.clone(),
            recent_blocks: beta_dagger,
            auth_pools: pre.alpha.clone(),
            accounts: pre
                .delta
                .iter()
                .map(|(id, a)| AccountEntry {
                    id: *id,
                    data: a.info,
                })
                .collect(),
            cores_statistics: CoresStatistics(vec![Default::default(); spec.cores()]),
            services_statistics: Vec::new(),
        },
        &ReportsInput {
            guarantees: block.extrinsic.guarantees.clone(),
            slot: block.header.slot,
            known_packages: known_packages(pre),
        },
    )?;
    Ok((reported, out.reporters.into_iter().collect()))
}

/// ω', ξ', δ‡, χ', ι', φ', θ' (GP §12): accumulate W at `τ'` with `η'_0`.
fn accumulate_available(
    spec: &ChainSpec,
    pre: &ChainState,
    tau: TimeSlot,
    eta: &EntropyBuffer,
    available: &[WorkReport],
) -> Result<AccumulationOutcome, BlockError> {
    let accumulated = accumulate::accumulate_block(
        spec,
        &AccumulationState {
            slot: pre.tau,
            ready: pre.omega.clone(),
            accumulated: pre.xi.clone(),
            partial: PartialState {
                accounts: pre.delta.clone(),
                staging: pre.iota.0.iter().map(|k| k.encode()).collect(),
                auth_queues: pre.phi.0.clone(),
                privileges: Privileges::from(&pre.chi),
            },
        },
        tau,
        eta.0[0],
        available,
    );
    match accumulated.duplicate_service {
        Some(id) => Err(BlockError::DuplicateService(id)),
        None => Ok(accumulated),
    }
}

/// β' (GP 7.5–7.8): the block's header hash, the accumulation-output root and
/// the packages it reported.
fn record_history(
    spec: &ChainSpec,
    pre: &ChainState,
    block: &Block,
    accumulate_root: Hash,
) -> Result<history::RecentBlocks, history::Error> {
    let (post, ()) = history::apply(
        spec,
        &history::State {
            beta: pre.beta.clone(),
        },
        &history::Input {
            header_hash: block.header.hash(),
            parent_state_root: block.header.parent_state_root,
            accumulate_root,
            work_packages: block
                .extrinsic
                .guarantees
                .0
                .iter()
                .map(|g| ReportedWorkPackage {
                    hash: g.report.package_spec.hash,
                    exports_root: g.report.package_spec.exports_root,
                })
                .collect(),
        },
    )?;
    Ok(post.beta)
}

/// α' (GP 8.2–8.3), with φ' from accumulation.
fn authorize(
    spec: &ChainSpec,
    pre: &ChainState,
    block: &Block,
    phi: &[Vec<Hash>],
) -> Result<AuthPools, authorizations::Error> {
    let (post, ()) = authorizations::apply(
        spec,
        &authorizations::State {
            auth_pools: pre.alpha.clone(),
            auth_queues: authorizations::AuthQueues(phi.to_vec()),
        },
        &authorizations::Input {
            slot: block.header.slot,
            auths: block
                .extrinsic
                .guarantees
                .0
                .iter()
                .map(|g| CoreAuthorizer {
                    core: g.report.core_index,
                    auth_hash: g.report.authorizer_hash,
                })
                .collect(),
        },
    )?;
    Ok(post.auth_pools)
}

/// π'_V, π'_L (GP 13.3–13.5): rolled over on a new epoch, the author, tickets,
/// preimages and assurances credited, and guarantees credited to the κ' keys in
/// `G`.
fn validator_statistics(
    spec: &ChainSpec,
    pre: &ChainState,
    block: &Block,
    kappa: &ValidatorSet,
    reporters: &BTreeSet<Ed25519Public>,
) -> Result<statistics::State, statistics::Error> {
    let (post, ()) = statistics::apply_with_reporters(
        spec,
        &statistics::State {
            vals_curr_stats: pre.pi.current.clone(),
            vals_last_stats: pre.pi.last.clone(),
            slot: pre.tau,
            curr_validators: kappa.0.clone(),
        },
        &statistics::Input {
            slot: block.header.slot,
            author_index: block.header.author_index,
            extrinsic: block.extrinsic.clone(),
        },
        reporters,
    )?;
    Ok(post)
}

/// π'_C (GP 13.9–13.10): the reports' refine loads (already in `cores`), then
/// each newly available report's DA load and each assurance's popularity.
fn core_statistics(
    spec: &ChainSpec,
    mut cores: CoresStatistics,
    available: &[WorkReport],
    block: &Block,
) -> CoresStatistics {
    for report in available {
        // GP 13.10: D(c) = l + W_G·⌈e·65/64⌉ for each newly available report.
        if let Some(c) = cores.0.get_mut(usize::from(report.core_index)) {
            let ps = &report.package_spec;
            let segments = (u64::from(ps.exports_count) * 65).div_ceil(64);
            c.da_load = c
                .da_load
                .saturating_add(u64::from(ps.length))
                .saturating_add(u64::from(spec.segment_size).saturating_mul(segments));
        }
    }
    for a in &block.extrinsic.assurances.0 {
        // GP 13.9: the popularity counts each assurance's bit for the core.
        for (core, c) in cores.0.iter_mut().enumerate() {
            if a.bitfield.is_set(core) {
                c.popularity = c.popularity.saturating_add(1);
            }
        }
    }
    cores
}

/// π'_S (GP 13.11–13.12): the reports' refine figures (already in `services`),
/// then the preimages provided and the accumulation figures.
fn service_statistics(
    mut services: Vec<ServiceStatisticsEntry>,
    provided: &[(ServiceId, u32, u64)],
    accumulated: &AccumulationOutcome,
) -> Vec<ServiceStatisticsEntry> {
    for (s, count, size) in provided {
        if let Some(r) = service_record(&mut services, *s) {
            r.provided_count = r.provided_count.saturating_add(u64::from(*count));
            r.provided_size = r.provided_size.saturating_add(*size);
        }
    }
    for (s, (gas, count)) in &accumulated.statistics {
        if let Some(r) = service_record(&mut services, *s) {
            r.accumulate_count = r.accumulate_count.saturating_add(u64::from(*count));
            r.accumulate_gas_used = r.accumulate_gas_used.saturating_add(*gas);
        }
    }
    services
}

/// The packages a new report may not repeat (GP 11.37–11.38): those in recent
/// history β, accumulated ξ, queued ω and pending ρ.
fn known_packages(pre: &ChainState) -> Vec<Hash> {
    let mut known: BTreeSet<Hash> = BTreeSet::new();
    known.extend(
        pre.beta
            .history
            .iter()
            .flat_map(|b| b.reported.iter().map(|p| p.hash)),
    );
    known.extend(pre.xi.iter().flatten().copied());
    known.extend(
        pre.omega
            .iter()
            .flatten()
            .map(|r: &ReadyRecord| r.report.package_spec.hash),
    );
    known.extend(
        pre.rho
            .0
            .iter()
            .flatten()
            .map(|p| p.report.package_spec.hash),
    );
    known.into_iter().collect()
}

/// ι' from accumulation's staged keys (336 octets each, as `designate` wrote
/// them; GP B.7). A key that does not decode cannot have been written by
/// `designate`, which copies 336-octet keys verbatim, so ι is kept then.
fn staged_keys(spec: &ChainSpec, staging: &[Vec<u8>], iota: &ValidatorSet) -> Vec<ValidatorData> {
    staging
        .iter()
        .map(|k| decode_exact::<ValidatorData>(spec, k).ok())
        .collect::<Option<Vec<_>>>()
        .unwrap_or_else(|| iota.0.clone())
}

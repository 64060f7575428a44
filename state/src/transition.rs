//! The block-import transition `σ' = Υ(σ, B)` (GP v0.7.2 §4.2, eqs. 4.5–4.20):
//! the header's rules, then every STF component in the GP's dependency order,
//! each through the same `apply` the component vectors check.
//!
//! Pure: the prior state is never changed, so a rejected block leaves nothing
//! behind; the caller keeps or drops the posterior state as a whole.

pub mod header;

use std::collections::BTreeSet;

use tessera_core::codec::{decode_exact, Encode};
use tessera_core::crypto::bandersnatch;
use tessera_core::hash::Hash;
use tessera_core::spec::ChainSpec;
use tessera_core::types::{Block, TimeSlot, ValidatorData, ValidatorIndex};

use crate::accounts::{AccountEntry, ServiceAccount as ServiceInfoEntry};
use crate::accumulate::partial::{PartialState, Privileges};
use crate::accumulate::{self, AccumulationState, ReadyRecord};
use crate::accumulate::{AlwaysAccumulate, PrivilegesRecord};
use crate::assurances::{self, AssurancesError, AssurancesInput, AssurancesState};
use crate::authorizations::{self, CoreAuthorizer};
use crate::chain_state::{ChainState, Gamma, Statistics};
use crate::disputes::{self, DisputesError, DisputesInput, DisputesState};
use crate::history::{self, ReportedWorkPackage};
use crate::preimages;
use crate::reports::{self, ReportsError, ReportsInput, ReportsState};
use crate::safrole::{self, SafroleError, SafroleInput, SafroleState};
use crate::statistics::{self, service_record, CoresStatistics};
use crate::validators::ValidatorSet;

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
pub fn import_block(
    spec: &ChainSpec,
    pre: &ChainState,
    prior_root: &Hash,
    block: &Block,
) -> Result<ChainState, BlockError> {
    let h = &block.header;
    let e = &block.extrinsic;

    // GP 5.2, 5.7, 5.8, 5.4: the parent, the slot, the parent state root, the
    // extrinsic hash.
    if let Some(last) = pre.beta.history.last() {
        if h.parent != last.header_hash {
            return Err(HeaderError::BadParent {
                expected: last.header_hash,
                got: h.parent,
            }
            .into());
        }
    }
    if h.slot <= pre.tau {
        return Err(HeaderError::BadSlot {
            slot: h.slot,
            prior: pre.tau,
        }
        .into());
    }
    if h.parent_state_root != *prior_root {
        return Err(HeaderError::BadParentStateRoot {
            expected: *prior_root,
            got: h.parent_state_root,
        }
        .into());
    }
    let x = header::extrinsic_hash(e);
    if h.extrinsic_hash != x {
        return Err(HeaderError::BadExtrinsicHash {
            expected: x,
            got: h.extrinsic_hash,
        }
        .into());
    }
    if usize::from(h.author_index) >= spec.validators() {
        return Err(HeaderError::BadAuthorIndex(h.author_index).into());
    }

    // ψ', ρ† (GP 10.x): disputes judge against the prior κ, λ and τ.
    let (disputed, disputes_out) = disputes::apply(
        spec,
        &DisputesState {
            psi: pre.psi.clone(),
            rho: pre.rho.clone(),
            tau: pre.tau,
            kappa: pre.kappa.clone(),
            lambda: pre.lambda.clone(),
        },
        &DisputesInput {
            disputes: e.disputes.clone(),
        },
    )?;
    if h.offenders_mark != disputes_out.offenders_mark {
        return Err(HeaderError::BadOffendersMark.into());
    }
    let psi = disputed.psi;

    // γ', κ', λ', η' (GP §6): Safrole, fed `Y(H_V)`; the signature itself is
    // checked below against κ' and η'_3, which Safrole produces.
    let entropy = bandersnatch::vrf_output(&h.entropy_source)
        .map_err(|err| HeaderError::BadEntropySource(err.to_string()))?;
    let (safrole_post, safrole_out) = safrole::apply(
        spec,
        &SafroleState {
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
        },
        &SafroleInput {
            slot: h.slot,
            entropy,
            extrinsic: e.tickets.clone(),
        },
    )?;
    if h.epoch_mark != safrole_out.epoch_mark {
        return Err(HeaderError::BadEpochMark.into());
    }
    if h.tickets_mark != safrole_out.tickets_mark {
        return Err(HeaderError::BadTicketsMark.into());
    }
    header::check_seal(
        h,
        &safrole_post.kappa,
        &safrole_post.gamma_s,
        &safrole_post.eta.0[3],
        spec.epoch_length,
    )?;
    let kappa = safrole_post.kappa;
    let lambda = safrole_post.lambda;
    let eta = safrole_post.eta;
    let tau = h.slot;

    // ρ‡ and the newly available reports W (GP 11.10–11.17). GP 11.13 checks
    // each assurance against the prior active set κ, not κ': an assurance is
    // made, and signed, under the parent block's validator set, so on the first
    // block of an epoch it is the set Safrole has just retired to λ'.
    let (assured, assurances_out) = assurances::apply(
        spec,
        &AssurancesState {
            avail_assignments: disputed.rho,
            curr_validators: pre.kappa.clone(),
        },
        &AssurancesInput {
            assurances: e.assurances.clone(),
            slot: tau,
            parent: h.parent,
        },
    )?;
    let available = assurances_out.reported;

    // β† (GP 7.5): the newest entry learns its state root.
    let mut beta_dagger = pre.beta.clone();
    if let Some(newest) = beta_dagger.history.last_mut() {
        newest.state_root = h.parent_state_root;
    }

    // ρ' (GP 11.18–11.42): the guarantees, checked against κ', λ', η', ψ'_O, β†,
    // α and δ; π_C and π_S start afresh each block (GP 13.9–13.12) and the
    // reports add their refine loads.
    let cores = spec.cores();
    let (reported, reports_out) = reports::apply(
        spec,
        &ReportsState {
            avail_assignments: assured.avail_assignments,
            curr_validators: kappa.clone(),
            prev_validators: lambda.clone(),
            entropy: eta,
            offenders: psi.offenders.clone(),
            recent_blocks: beta_dagger.clone(),
            auth_pools: pre.alpha.clone(),
            accounts: pre
                .delta
                .iter()
                .map(|(id, a)| AccountEntry {
                    id: *id,
                    data: ServiceInfoEntry { service: a.info },
                })
                .collect(),
            cores_statistics: CoresStatistics(vec![Default::default(); cores]),
            services_statistics: Vec::new(),
        },
        &ReportsInput {
            guarantees: e.guarantees.clone(),
            slot: tau,
            known_packages: known_packages(pre),
        },
    )?;

    // ω', ξ', δ‡, χ', ι', φ', θ' (GP §12): accumulate W.
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
                privileges: privileges_of(&pre.chi),
            },
        },
        tau,
        eta.0[0],
        &available,
    );
    if let Some(id) = accumulated.duplicate_service {
        return Err(BlockError::DuplicateService(id));
    }
    let acc = accumulated.state;

    // β' (GP 7.5–7.8).
    let (history_post, ()) = history::apply(
        spec,
        &history::State {
            beta: pre.beta.clone(),
        },
        &history::Input {
            header_hash: h.hash(),
            parent_state_root: h.parent_state_root,
            accumulate_root: accumulated.root,
            work_packages: e
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

    // δ' (GP 12.35–12.38): the preimages, checked against δ and written into δ‡.
    let mut delta = acc.partial.accounts.clone();
    let provided = preimages::integrate(&pre.delta, &mut delta, &e.preimages, tau)?;

    // α' (GP 8.2–8.3), with φ' from accumulation.
    let (auth_post, ()) = authorizations::apply(
        spec,
        &authorizations::State {
            auth_pools: pre.alpha.clone(),
            auth_queues: authorizations::AuthQueues(acc.partial.auth_queues.clone()),
        },
        &authorizations::Input {
            slot: tau,
            auths: e
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

    // π' (GP 13.3–13.12).
    let (validator_stats, ()) = statistics::apply_with_reporters(
        spec,
        &statistics::State {
            vals_curr_stats: pre.pi.current.clone(),
            vals_last_stats: pre.pi.last.clone(),
            slot: pre.tau,
            curr_validators: kappa.0.clone(),
        },
        &statistics::Input {
            slot: tau,
            author_index: h.author_index,
            extrinsic: e.clone(),
        },
        &reports_out
            .reporters
            .iter()
            .copied()
            .collect::<BTreeSet<_>>(),
    )?;
    let mut core_stats = reported.cores_statistics;
    for report in &available {
        // GP 13.10: D(c) = l + W_G·⌈e·65/64⌉ for each newly available report.
        if let Some(c) = core_stats.0.get_mut(usize::from(report.core_index)) {
            let ps = &report.package_spec;
            let segments = (u64::from(ps.exports_count) * 65).div_ceil(64);
            c.da_load = c
                .da_load
                .saturating_add(u64::from(ps.length))
                .saturating_add(u64::from(spec.segment_size).saturating_mul(segments));
        }
    }
    for a in &e.assurances.0 {
        // GP 13.9: the popularity counts each assurance's bit for the core.
        for (core, c) in core_stats.0.iter_mut().enumerate() {
            if a.bitfield.is_set(core) {
                c.popularity = c.popularity.saturating_add(1);
            }
        }
    }
    let mut service_stats = reported.services_statistics;
    for (s, count, size) in &provided {
        if let Some(r) = service_record(&mut service_stats, *s) {
            r.provided_count = r.provided_count.saturating_add(u64::from(*count));
            r.provided_size = r.provided_size.saturating_add(*size);
        }
    }
    for (s, (gas, count)) in &accumulated.statistics {
        if let Some(r) = service_record(&mut service_stats, *s) {
            r.accumulate_count = r.accumulate_count.saturating_add(u64::from(*count));
            r.accumulate_gas_used = r.accumulate_gas_used.saturating_add(*gas);
        }
    }

    Ok(ChainState {
        alpha: auth_post.auth_pools,
        phi: authorizations::AuthQueues(acc.partial.auth_queues),
        beta: history_post.beta,
        gamma: Gamma {
            pending: safrole_post.gamma_k,
            ring_root: safrole_post.gamma_z,
            seal_keys: safrole_post.gamma_s,
            tickets: safrole_post.gamma_a,
        },
        psi,
        eta,
        iota: ValidatorSet(staged_keys(spec, &acc.partial.staging, &pre.iota)),
        kappa,
        lambda,
        rho: reported.avail_assignments,
        tau,
        chi: privileges_record(&acc.partial.privileges),
        pi: Statistics {
            current: validator_stats.vals_curr_stats,
            last: validator_stats.vals_last_stats,
            cores: core_stats,
            services: service_stats,
        },
        omega: acc.ready,
        xi: acc.accumulated,
        theta: accumulated.outputs,
        delta,
    })
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

fn privileges_of(chi: &PrivilegesRecord) -> Privileges {
    Privileges {
        manager: chi.bless,
        assigners: chi.assign.clone(),
        delegator: chi.designate,
        registrar: chi.register,
        always_accumulate: chi.always_acc.iter().map(|a| (a.id, a.gas)).collect(),
    }
}

fn privileges_record(p: &Privileges) -> PrivilegesRecord {
    PrivilegesRecord {
        bless: p.manager,
        assign: p.assigners.clone(),
        designate: p.delegator,
        register: p.registrar,
        always_acc: p
            .always_accumulate
            .iter()
            .map(|(id, gas)| AlwaysAccumulate { id: *id, gas: *gas })
            .collect::<Vec<_>>(),
    }
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

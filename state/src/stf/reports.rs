//! Work-report guarantees, GP v0.7.2 §11.3–11.4 (reporting_assurance.tex, eqs.
//! 11.18–11.44): the guarantees extrinsic `E_G` places new reports on their cores
//! in `ρ‡ → ρ'`, after checking the guarantors' assignment and signatures, the
//! report's limits, its anchor in recent history, its authorizer, its services
//! and its dependencies. It also updates the report-related statistics.

pub mod assignment;

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use tessera_core::codec::{Decode, Encode};
use tessera_core::crypto::ed25519;
use tessera_core::spec::ChainSpec;
use tessera_core::types::{
    Ed25519Public, GuaranteesExtrinsic, SegmentRootLookupItem, TimeSlot, WorkExecResult,
};
use tessera_core::Hash;

use crate::sigma::accounts::{AccountEntry, ServiceInfo};
use crate::sigma::entropy::EntropyBuffer;
use crate::sigma::pending::{AvailabilityAssignments, PendingReport};
use crate::sigma::validators::ValidatorSet;
use crate::stf::authorizations::AuthPools;
use crate::stf::history::RecentBlocks;
use crate::stf::statistics::{service_record, CoresStatistics, ServiceStatisticsEntry};
use assignment::core_assignments;

/// `X_G`: the context string of a guarantee signature (GP 11.26).
pub const X_GUARANTEE: &[u8] = b"jam_guarantee";

/// The part of the state the guarantees transition reads and writes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
#[serde(deny_unknown_fields)]
pub struct ReportsState {
    /// `ρ‡` before, `ρ'` after.
    pub avail_assignments: AvailabilityAssignments,
    /// `κ'`: the posterior current validators.
    pub curr_validators: ValidatorSet,
    /// `λ'`: the posterior previous validators.
    pub prev_validators: ValidatorSet,
    /// `η'`: the posterior entropy.
    pub entropy: EntropyBuffer,
    /// `ψ'_O`: the posterior offenders.
    #[codec(seq, name = "offenders")]
    pub offenders: Vec<Ed25519Public>,
    /// `β`: recent blocks.
    pub recent_blocks: RecentBlocks,
    /// `α`: authorizer pools.
    pub auth_pools: AuthPools,
    /// `δ`: the services' metadata, ordered by service id.
    #[codec(seq, sorted_by = id, name = "accounts")]
    #[serde(with = "metadata_entries")]
    pub accounts: Vec<AccountEntry<ServiceInfo>>,
    /// `π_C`: core statistics.
    pub cores_statistics: CoresStatistics,
    /// `π_S`: service statistics, ordered by service id.
    #[codec(seq, sorted_by = id, name = "service statistics")]
    pub services_statistics: Vec<ServiceStatisticsEntry>,
}

/// The JSON vectors list each account of [`ReportsState::accounts`] as
/// `{"id", "data": {"service": …}}`: the metadata under a `service` key, where
/// the binary form is `E_4(s) ⌢ E(a_info)` with nothing around it. Both read
/// into the same [`ServiceInfo`], so the transition sees one account type.
mod metadata_entries {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use crate::sigma::accounts::{AccountEntry, ServiceInfo};

    /// The vectors' `Account` of the reports schema.
    #[derive(Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Metadata {
        service: ServiceInfo,
    }

    pub(super) fn serialize<S: Serializer>(
        accounts: &[AccountEntry<ServiceInfo>],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_seq(accounts.iter().map(|a| AccountEntry {
            id: a.id,
            data: Metadata { service: a.data },
        }))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Vec<AccountEntry<ServiceInfo>>, D::Error> {
        let accounts = Vec::<AccountEntry<Metadata>>::deserialize(d)?;
        Ok(accounts
            .into_iter()
            .map(|a| AccountEntry {
                id: a.id,
                data: a.data.service,
            })
            .collect())
    }
}

/// The block data the transition consumes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
#[serde(deny_unknown_fields)]
pub struct ReportsInput {
    /// `E_G`: the guarantees extrinsic.
    pub guarantees: GuaranteesExtrinsic,
    /// `H_T = τ'`: the block's timeslot.
    pub slot: TimeSlot,
    /// The packages already known to the chain (accumulated `ξ`, queued `ω`,
    /// pending `ρ` and recent `β`), against which duplicates are found (GP 11.37–11.38).
    #[codec(seq, name = "known packages")]
    pub known_packages: Vec<Hash>,
}

/// The transition's result besides the state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
#[serde(deny_unknown_fields)]
pub struct ReportsOutput {
    /// The reported packages with their exports roots, ordered by package hash.
    #[codec(seq, max = spec.cores(), name = "reported packages")]
    pub reported: Vec<SegmentRootLookupItem>,
    /// `G` (GP 11.27): the guarantors' Ed25519 keys, ordered.
    #[codec(seq, name = "reporters")]
    pub reporters: Vec<Ed25519Public>,
}

/// Why a guarantees extrinsic is invalid; names and codes are the vectors'.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "snake_case")]
pub enum ReportsError {
    /// The report's core is not below `C`.
    #[error("core index out of range")]
    BadCoreIndex,
    /// GP 11.25: the guarantee slot is after the block's.
    #[error("guarantee slot in the future")]
    FutureReportSlot,
    /// GP 11.25: the guarantee slot is before the previous rotation.
    #[error("guarantee from before the last rotation")]
    ReportEpochBeforeLast,
    /// GP 11.23: fewer than two guarantors.
    #[error("fewer than two guarantors")]
    InsufficientGuarantees,
    /// GP 11.23: guarantees not strictly ascending by core.
    #[error("guarantees not ordered by core")]
    OutOfOrderGuarantee,
    /// GP 11.23: guarantors not strictly ascending by index.
    #[error("guarantors not sorted or not unique")]
    NotSortedOrUniqueGuarantors,
    /// GP 11.26: a guarantor is not assigned to the report's core.
    #[error("guarantor not assigned to the core")]
    WrongAssignment,
    /// GP 11.29: the core still has a pending report.
    #[error("core engaged")]
    CoreEngaged,
    /// GP 11.32: the anchor is not a recent block.
    #[error("anchor not in recent history")]
    AnchorNotRecent,
    /// GP 11.42: a digest's service does not exist.
    #[error("unknown service")]
    BadServiceId,
    /// GP 11.42: a digest's code hash is not the service's.
    #[error("code hash mismatch")]
    BadCodeHash,
    /// GP 11.39: a prerequisite is neither in this block nor in recent history.
    #[error("dependency missing")]
    DependencyMissing,
    /// GP 11.37–11.38: the package is reported twice or was already reported.
    #[error("duplicate package")]
    DuplicatePackage,
    /// GP 11.32: the anchor's state root differs.
    #[error("bad state root")]
    BadStateRoot,
    /// GP 11.32: the anchor's BEEFY root differs.
    #[error("bad BEEFY MMR root")]
    BadBeefyMmrRoot,
    /// GP 11.30: the authorizer is not in the core's pool.
    #[error("core unauthorized")]
    CoreUnauthorized,
    /// A guarantor index is not below `V`.
    #[error("guarantor index out of range")]
    BadValidatorIndex,
    /// GP 11.31: the digests' total accumulate gas exceeds `G_A`.
    #[error("work report gas too high")]
    WorkReportGasTooHigh,
    /// GP 11.42: a digest's gas is below the service's minimum.
    #[error("service item gas too low")]
    ServiceItemGasTooLow,
    /// GP 11.3: more than `J` prerequisites and segment-root lookups.
    #[error("too many dependencies")]
    TooManyDependencies,
    /// GP 11.40: a segment-root lookup disagrees with the known root.
    #[error("segment root lookup invalid")]
    SegmentRootLookupInvalid,
    /// GP 11.26: a guarantor signature does not verify.
    #[error("bad signature")]
    BadSignature,
    /// GP 11.8: the trace and outputs exceed `W_R`.
    #[error("work report too big")]
    WorkReportTooBig,
    /// GP 11.22: a guarantor is an offender (its key is nulled by `Φ`).
    #[error("banned validator")]
    BannedValidator,
    /// GP 11.33: the lookup anchor is older than `L` slots.
    #[error("lookup anchor not recent")]
    LookupAnchorNotRecent,
    /// GP 11.3: a report with no digests.
    #[error("missing work results")]
    MissingWorkResults,
    /// The anchor's slot is inconsistent (no vector exercises it).
    #[error("bad anchor slot")]
    BadAnchorSlot,
    /// The erasure shards are inconsistent (no vector exercises it).
    #[error("bad erasure shards")]
    BadErasureShards,
}

error_codes!(ReportsError {
    BadCoreIndex = 0,
    FutureReportSlot = 1,
    ReportEpochBeforeLast = 2,
    InsufficientGuarantees = 3,
    OutOfOrderGuarantee = 4,
    NotSortedOrUniqueGuarantors = 5,
    WrongAssignment = 6,
    CoreEngaged = 7,
    AnchorNotRecent = 8,
    BadServiceId = 9,
    BadCodeHash = 10,
    DependencyMissing = 11,
    DuplicatePackage = 12,
    BadStateRoot = 13,
    BadBeefyMmrRoot = 14,
    CoreUnauthorized = 15,
    BadValidatorIndex = 16,
    WorkReportGasTooHigh = 17,
    ServiceItemGasTooLow = 18,
    TooManyDependencies = 19,
    SegmentRootLookupInvalid = 20,
    BadSignature = 21,
    WorkReportTooBig = 22,
    BannedValidator = 23,
    LookupAnchorNotRecent = 24,
    MissingWorkResults = 25,
    BadAnchorSlot = 26,
    BadErasureShards = 27,
});

/// The guarantor assignment in force for a guarantee: each validator's core and
/// the key set it signs with (`Φ` of it, GP 11.22, is applied by refusing
/// offenders' keys).
struct Assignment<'a> {
    cores: Vec<u16>,
    validators: &'a ValidatorSet,
}

/// `M` and `M*` (GP 11.21–11.22) for the block at `slot`.
fn assignments<'a>(
    spec: &ChainSpec,
    pre: &'a ReportsState,
    slot: TimeSlot,
) -> (Assignment<'a>, Assignment<'a>) {
    let eta = &pre.entropy.0;
    let current = Assignment {
        cores: core_assignments(spec, &eta[2], slot),
        validators: &pre.curr_validators,
    };
    let prior_slot = slot.saturating_sub(spec.rotation_period);
    let same_epoch = prior_slot / spec.epoch_length == slot / spec.epoch_length;
    let (entropy, validators) = if same_epoch {
        (&eta[2], &pre.curr_validators)
    } else {
        (&eta[3], &pre.prev_validators)
    };
    let previous = Assignment {
        cores: core_assignments(spec, entropy, prior_slot),
        validators,
    };
    (current, previous)
}

/// Apply the guarantees extrinsic (GP 11.23–11.44). Every guarantor signature of
/// the extrinsic goes through one batch verification.
pub fn apply(
    spec: &ChainSpec,
    pre: &ReportsState,
    input: &ReportsInput,
) -> Result<(ReportsState, ReportsOutput), ReportsError> {
    let guarantees = &input.guarantees.0;
    let slot = input.slot;
    let rotation = spec.rotation_period.max(1);
    let (current, previous) = assignments(spec, pre, slot);

    // GP 11.23: ordered by core, one per core.
    if guarantees
        .windows(2)
        .any(|w| w[0].report.core_index >= w[1].report.core_index)
    {
        return Err(ReportsError::OutOfOrderGuarantee);
    }

    let mut signed: Vec<(Ed25519Public, Vec<u8>, ed25519::Signature)> = Vec::new();
    let mut reporters = BTreeSet::new();
    let mut post = pre.clone();
    let mut reported = Vec::with_capacity(guarantees.len());
    let mut packages = BTreeSet::new();

    for guarantee in guarantees {
        let report = &guarantee.report;
        let core = usize::from(report.core_index);
        if core >= spec.cores() {
            return Err(ReportsError::BadCoreIndex);
        }
        // GP 11.3: 1 ≤ |d| ≤ I, |p| + |l| ≤ J.
        if report.results.is_empty() {
            return Err(ReportsError::MissingWorkResults);
        }
        let dependencies = report.context.prerequisites.len() + report.segment_root_lookup.0.len();
        if dependencies > spec.max_report_dependencies as usize {
            return Err(ReportsError::TooManyDependencies);
        }
        // GP 11.8: |t| + Σ|d_l| ≤ W_R over the blob outputs.
        let size = report.auth_output.len()
            + report
                .results
                .iter()
                .map(|d| match &d.result {
                    WorkExecResult::Ok(out) => out.len(),
                    _ => 0,
                })
                .sum::<usize>();
        if size > spec.max_report_output_size as usize {
            return Err(ReportsError::WorkReportTooBig);
        }
        // GP 11.31: Σ d_g ≤ G_A.
        let gas = report
            .results
            .iter()
            .try_fold(0u64, |acc, d| acc.checked_add(d.accumulate_gas));
        if gas.is_none_or(|g| g > spec.gas_accumulate_report) {
            return Err(ReportsError::WorkReportGasTooHigh);
        }

        // GP 11.23: two or three guarantors, ascending by index.
        let credentials = &guarantee.signatures;
        if credentials.len() < 2 || credentials.len() > 3 {
            return Err(ReportsError::InsufficientGuarantees);
        }
        if credentials
            .windows(2)
            .any(|w| w[0].validator_index >= w[1].validator_index)
        {
            return Err(ReportsError::NotSortedOrUniqueGuarantors);
        }
        // GP 11.25: R(⌊τ'/R⌋ − 1) ≤ t ≤ τ'.
        if guarantee.slot > slot {
            return Err(ReportsError::FutureReportSlot);
        }
        let earliest = (slot / rotation).saturating_sub(1) * rotation;
        if guarantee.slot < earliest {
            return Err(ReportsError::ReportEpochBeforeLast);
        }
        // GP 11.26: M if the guarantee is of this rotation, else M*.
        let assignment = if guarantee.slot / rotation == slot / rotation {
            &current
        } else {
            &previous
        };
        let message = [X_GUARANTEE, &report.hash()[..]].concat();
        for credential in credentials {
            let index = credential.validator_index;
            if usize::from(index) >= spec.validators() {
                return Err(ReportsError::BadValidatorIndex);
            }
            let assigned = assignment.cores.get(usize::from(index)).copied();
            if assigned != Some(report.core_index) {
                return Err(ReportsError::WrongAssignment);
            }
            let key = *assignment
                .validators
                .ed25519(index)
                .ok_or(ReportsError::BadValidatorIndex)?;
            // GP 11.22: Φ nulls an offender's key, so it cannot guarantee.
            if pre.offenders.contains(&key) {
                return Err(ReportsError::BannedValidator);
            }
            reporters.insert(key);
            signed.push((key, message.clone(), credential.signature));
        }

        // GP 11.29: the core is free, or its report timed out.
        if let Some(pending) = pre.avail_assignments.get(core) {
            let timeout = u64::from(pending.timeout) + u64::from(spec.availability_timeout);
            if u64::from(slot) < timeout {
                return Err(ReportsError::CoreEngaged);
            }
        }
        // GP 11.30: the authorizer is in the core's pool.
        let pool = pre.auth_pools.0.get(core);
        if !pool.is_some_and(|p| p.contains(&report.authorizer_hash)) {
            return Err(ReportsError::CoreUnauthorized);
        }

        // GP 11.32: the anchor is a recent block with these roots.
        let context = &report.context;
        let anchor = pre
            .recent_blocks
            .history
            .iter()
            .find(|b| b.header_hash == context.anchor)
            .ok_or(ReportsError::AnchorNotRecent)?;
        if anchor.state_root != context.state_root {
            return Err(ReportsError::BadStateRoot);
        }
        if anchor.beefy_root != context.beefy_root {
            return Err(ReportsError::BadBeefyMmrRoot);
        }
        // GP 11.33: the lookup anchor is at most L slots old.
        if u64::from(context.lookup_anchor_slot) + u64::from(spec.max_lookup_anchor_age)
            < u64::from(slot)
        {
            return Err(ReportsError::LookupAnchorNotRecent);
        }

        // GP 11.42: each digest names a known service, its code, enough gas.
        for digest in &report.results {
            let account = pre
                .accounts
                .iter()
                .find(|a| a.id == digest.service_id)
                .ok_or(ReportsError::BadServiceId)?;
            if account.data.code_hash != digest.code_hash {
                return Err(ReportsError::BadCodeHash);
            }
            if digest.accumulate_gas < account.data.min_item_gas {
                return Err(ReportsError::ServiceItemGasTooLow);
            }
        }

        // GP 11.37–11.38: no package twice, nor one already known.
        let package = report.package_spec.hash;
        if !packages.insert(package)
            || input.known_packages.contains(&package)
            || pre.recent_blocks.exports_root(&package).is_some()
        {
            return Err(ReportsError::DuplicatePackage);
        }
        reported.push(SegmentRootLookupItem {
            work_package_hash: package,
            segment_tree_root: report.package_spec.exports_root,
        });
        if let Some(slot_state) = post.avail_assignments.0.get_mut(core) {
            *slot_state = Some(PendingReport {
                report: report.clone(),
                timeout: slot,
            });
        }
    }

    // GP 11.39–11.40: prerequisites and segment-root lookups name packages of
    // this block or of recent history, with the same exports root.
    let this_block = |hash: &Hash| reported.iter().find(|p| p.work_package_hash == *hash);
    for guarantee in guarantees {
        let report = &guarantee.report;
        for prerequisite in &report.context.prerequisites {
            if this_block(prerequisite).is_none()
                && pre.recent_blocks.exports_root(prerequisite).is_none()
            {
                return Err(ReportsError::DependencyMissing);
            }
        }
        for lookup in &report.segment_root_lookup.0 {
            let known = this_block(&lookup.work_package_hash)
                .map(|p| &p.segment_tree_root)
                .or_else(|| pre.recent_blocks.exports_root(&lookup.work_package_hash));
            if known != Some(&lookup.segment_tree_root) {
                return Err(ReportsError::SegmentRootLookupInvalid);
            }
        }
    }

    // GP 11.26: every guarantor signature, in one batch.
    let batch: Vec<(Ed25519Public, &[u8], ed25519::Signature)> = signed
        .iter()
        .map(|(k, m, s)| (*k, m.as_slice(), *s))
        .collect();
    if !ed25519::verify_batch(&batch).all_valid() {
        return Err(ReportsError::BadSignature);
    }

    record_statistics(&mut post, &input.guarantees);
    reported.sort();
    Ok((
        post,
        ReportsOutput {
            reported,
            reporters: reporters.into_iter().collect(),
        },
    ))
}

/// GP 13.9–13.12 (statistics.tex), the parts driven by the reports of this
/// block: per core the refine load and bundle size, per service the refinement
/// count and load.
fn record_statistics(post: &mut ReportsState, guarantees: &GuaranteesExtrinsic) {
    for guarantee in &guarantees.0 {
        let report = &guarantee.report;
        if let Some(core) = post
            .cores_statistics
            .0
            .get_mut(usize::from(report.core_index))
        {
            for d in &report.results {
                let load = &d.refine_load;
                core.gas_used = core.gas_used.saturating_add(load.gas_used);
                core.imports = core.imports.saturating_add(load.imports.into());
                core.extrinsic_count = core
                    .extrinsic_count
                    .saturating_add(load.extrinsic_count.into());
                core.extrinsic_size = core
                    .extrinsic_size
                    .saturating_add(load.extrinsic_size.into());
                core.exports = core.exports.saturating_add(load.exports.into());
            }
            core.bundle_size = core
                .bundle_size
                .saturating_add(report.package_spec.length.into());
        }
        for d in &report.results {
            if let Some(r) = service_record(&mut post.services_statistics, d.service_id) {
                let load = &d.refine_load;
                r.refinement_count = r.refinement_count.saturating_add(1);
                r.refinement_gas_used = r.refinement_gas_used.saturating_add(load.gas_used);
                r.imports = r.imports.saturating_add(load.imports.into());
                r.extrinsic_count = r
                    .extrinsic_count
                    .saturating_add(load.extrinsic_count.into());
                r.extrinsic_size = r.extrinsic_size.saturating_add(load.extrinsic_size.into());
                r.exports = r.exports.saturating_add(load.exports.into());
            }
        }
    }
}

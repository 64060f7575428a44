//! Accumulation, GP v0.7.2 accumulation.tex (§12): the accumulation queue and
//! history, the outer/parallel/single-service accumulation Δ+, Δ*, Δ1 over the
//! PVM (Ψ_A with the accumulate host functions of appendix B.7), deferred
//! transfers, privileges χ, preimage provision, the service statistics of
//! accumulation (GP 13.7) and the accumulation-output (BEEFY) root.
//!
//! Block import calls [`accumulate_block`] on internal types: δ in item form
//! (accounts keyed by state key, GP D.2), with the real ι and φ. The vectors'
//! state part is `(τ, η'_0, ω, ξ, χ, π_S, δ)`, with δ's dictionaries listed by
//! original key; [`apply`] converts it to item form on the way in and yields
//! [`ItemState`], the form the vectors' post-state is compared in. ι and φ are
//! not in the vectors and start empty there.

pub mod host;
pub mod invocation;
pub mod operand;
pub mod partial;
pub mod queue;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tessera_core::bytes::Bytes;
use tessera_core::codec::{Decode, DecodeError, DecodeErrorKind, Encode, Reader};
use tessera_core::hash::{keccak_256, Hash};
use tessera_core::merkle::balanced;
use tessera_core::spec::ChainSpec;
use tessera_core::types::{Gas, ServiceId, TimeSlot, WorkReport};

use crate::sigma::accounts::ServiceAccount;
use crate::sigma::accounts::ServiceInfo;
use crate::sigma::accounts::{LookupEntry, PreimageEntry};
use crate::stf::statistics::{ServiceActivityRecord, ServiceStatisticsEntry};
use invocation::{delta_plus, Env};
use partial::{PartialState, Privileges};
use queue::{accumulatable, edit, packages, with_dependencies, Waiting};

/// One entry of the ready queue ω: a report and its unmet dependencies.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
#[serde(deny_unknown_fields)]
pub struct ReadyRecord {
    /// The waiting report.
    pub report: WorkReport,
    /// The work-package hashes it still waits for.
    #[codec(seq, name = "dependencies")]
    pub dependencies: Vec<Hash>,
}

/// One always-accumulate entry of `χ_Z`: a service and its free gas.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
#[serde(deny_unknown_fields)]
pub struct AlwaysAccumulate {
    /// The service.
    pub id: ServiceId,
    /// Its gas.
    pub gas: Gas,
}

/// χ as the vectors hold it (GP C, the `χ` component): manager, one assigner per
/// core, delegator, registrar, always-accumulate services.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
#[serde(deny_unknown_fields)]
pub struct PrivilegesRecord {
    /// `χ_M`.
    pub bless: ServiceId,
    /// `χ_A`, `C` entries.
    #[codec(len = spec.cores())]
    pub assign: Vec<ServiceId>,
    /// `χ_V`.
    pub designate: ServiceId,
    /// `χ_R`.
    pub register: ServiceId,
    /// `χ_Z`, ordered by service.
    #[codec(seq, name = "always-accumulate")]
    pub always_acc: Vec<AlwaysAccumulate>,
}

/// One storage item `k ↦ v` of `a_s`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
#[serde(deny_unknown_fields)]
pub struct StorageItem {
    /// The key.
    pub key: Bytes,
    /// The value.
    pub value: Bytes,
}

/// A whole account as the vectors hold it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
#[serde(deny_unknown_fields)]
pub struct AccountData {
    /// The metadata.
    pub service: ServiceInfo,
    /// `a_s`, ordered by key.
    #[codec(seq, name = "storage")]
    pub storage: Vec<StorageItem>,
    /// `a_p`, ordered by hash.
    #[codec(seq, name = "preimages")]
    pub preimage_blobs: Vec<PreimageEntry>,
    /// `a_l`, ordered by key.
    #[codec(seq, name = "lookups")]
    pub preimage_requests: Vec<LookupEntry>,
}

/// One `δ` entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
#[serde(deny_unknown_fields)]
pub struct AccountRecord {
    /// The service id.
    pub id: ServiceId,
    /// The account.
    pub data: AccountData,
}

/// The state part accumulation reads and writes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
#[serde(deny_unknown_fields)]
pub struct State {
    /// `τ`.
    pub slot: TimeSlot,
    /// `η'_0`.
    pub entropy: Hash,
    /// ω: `E` slots of waiting reports.
    #[codec(len = spec.epoch_length as usize, each(seq, name = "ready queue slot"))]
    pub ready_queue: Vec<Vec<ReadyRecord>>,
    /// ξ: `E` slots of accumulated package hashes.
    #[codec(len = spec.epoch_length as usize, each(seq, name = "accumulated slot"))]
    pub accumulated: Vec<Vec<Hash>>,
    /// χ.
    pub privileges: PrivilegesRecord,
    /// `π_S` (accumulation parts), ordered by service.
    #[codec(seq, name = "statistics")]
    pub statistics: Vec<ServiceStatisticsEntry>,
    /// δ, ordered by service.
    #[codec(seq, name = "accounts")]
    pub accounts: Vec<AccountRecord>,
}

/// What the block gives accumulation: `τ'` and the newly available reports `W`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
#[serde(deny_unknown_fields)]
pub struct Input {
    /// `τ'`.
    pub slot: TimeSlot,
    /// `W`.
    #[codec(seq, name = "reports")]
    pub reports: Vec<WorkReport>,
}

/// The output: the accumulation-output root (GP 7.3 input, `M_K` over θ').
pub type Output = Hash;

/// Accumulation has no failure of its own: the vectors' error choice is empty.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum Error {}

// Written by hand: no error is defined, so any code is refused (after reading it,
// at the offset past it); a derive needs at least one variant.
impl Encode for Error {
    fn encode_to(&self, _: &mut Vec<u8>) {
        match *self {}
    }
}

impl crate::stf::error_code::ErrorCode for Error {
    fn code(&self) -> u8 {
        match *self {}
    }

    fn from_code(_: u8) -> Option<Self> {
        None
    }
}

impl Decode for Error {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let tag = r.u8("accumulate error code")?;
        Err(r.err(DecodeErrorKind::InvalidTag {
            what: "accumulate error code (none defined)",
            tag,
        }))
    }
}

/// The accumulation-output root: `M_B([E_4(s) ⌢ h | (s, h) ∈ θ'], H_K)` (GP 7.3,
/// θ' ordered by service); the zero hash when nothing was yielded.
pub fn output_root(outputs: &BTreeSet<(ServiceId, Hash)>) -> Hash {
    let leaves: Vec<Vec<u8>> = outputs
        .iter()
        .map(|(s, h)| {
            let mut leaf = s.encode();
            leaf.extend_from_slice(&h.0);
            leaf
        })
        .collect();
    balanced::root(&leaves, keccak_256)
}

/// The state accumulation reads and writes, in internal form: the prior `τ`,
/// ω, ξ and the partial state `(δ, ι, φ, χ)` (GP accumulation.tex, 12.13 and
/// 12.22).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccumulationState {
    /// `τ`: the prior slot (the posterior `τ'` after [`accumulate_block`]).
    pub slot: TimeSlot,
    /// ω: `E` slots of reports waiting on dependencies (GP 12.3).
    pub ready: Vec<Vec<ReadyRecord>>,
    /// ξ: `E` slots of accumulated work-package hashes (GP 12.1).
    pub accumulated: Vec<Vec<Hash>>,
    /// `(δ, ι, φ, χ)`: accounts, staged keys, authorizer queues, privileges.
    /// ι and φ are carried through unchanged unless the delegator or an
    /// assigner replaces them (GP 12.19).
    pub partial: PartialState,
}

/// What accumulation yields for a block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccumulationOutcome {
    /// `τ'`, ω' (GP 12.27), ξ' (GP 12.25–12.26) and `(δ', ι', φ', χ')` (GP 12.22,
    /// with the accumulating services' `a_a` stamped with `τ'`, GP 12.24). δ'
    /// here is δ‡ in the sense of preimage integration, which runs after.
    pub state: AccumulationState,
    /// The accumulation statistics per service: gas used and work digests
    /// accumulated (GP 12.24–12.25, feeding `π_S` in GP 13.7); only services with
    /// either nonzero.
    pub statistics: BTreeMap<ServiceId, (Gas, u32)>,
    /// θ': the accumulation outputs `(service, hash)`, ordered by service.
    pub outputs: Vec<(ServiceId, Hash)>,
    /// The accumulation-output root over θ' (GP 7.3; [`output_root`]).
    pub root: Hash,
    /// A service id two services created in one batch: the block is invalid
    /// (GP B.10's note); the rest of this outcome is then meaningless.
    pub duplicate_service: Option<ServiceId>,
}

/// Accumulate the newly available reports `W` of a block at slot `τ'` with
/// entropy `η'_0` (GP accumulation.tex): split `W` into `W!` and `W_Q`
/// (12.4–12.5), release from ω what the new packages unlock into `W*`
/// (12.10–12.11), run Δ+ over `W*` with the gas limit `g` (12.22), then rotate ξ
/// (12.25–12.26) and ω (12.27) and stamp `a_a` of every service that used gas or
/// accumulated a digest (12.24).
pub fn accumulate_block(
    spec: &ChainSpec,
    pre: &AccumulationState,
    slot: TimeSlot,
    entropy: Hash,
    reports: &[WorkReport],
) -> AccumulationOutcome {
    let epoch = usize::try_from(spec.epoch_length).unwrap_or(1).max(1);
    let tau = slot;
    let m = usize::try_from(tau).unwrap_or(0) % epoch;
    let elapsed = usize::try_from(tau.saturating_sub(pre.slot)).unwrap_or(usize::MAX);

    let history: Vec<BTreeSet<Hash>> = (0..epoch)
        .map(|i| {
            pre.accumulated
                .get(i)
                .map(|s| s.iter().copied().collect())
                .unwrap_or_default()
        })
        .collect();
    let ever: BTreeSet<Hash> = history.iter().flatten().copied().collect();
    let ready: Vec<Vec<Waiting>> = (0..epoch)
        .map(|i| {
            pre.ready
                .get(i)
                .map(|s| {
                    s.iter()
                        .map(|r| Waiting {
                            report: r.report.clone(),
                            dependencies: r.dependencies.iter().copied().collect(),
                        })
                        .collect()
                })
                .unwrap_or_default()
        })
        .collect();

    // W! and W_Q (GP 12.4–12.5).
    let (immediate, queued): (Vec<&WorkReport>, Vec<&WorkReport>) = reports
        .iter()
        .partition(|r| r.context.prerequisites.is_empty() && r.segment_root_lookup.0.is_empty());
    let new_waiting: Vec<Waiting> = queued.into_iter().map(with_dependencies).collect();
    let new_waiting = edit(&new_waiting, &ever);

    // W* (GP 12.10–12.11): the immediate reports, then what the queue releases.
    let mut rotated: Vec<Waiting> = Vec::new();
    for i in 0..epoch {
        if let Some(slot) = ready.get((m + i) % epoch) {
            rotated.extend(slot.iter().cloned());
        }
    }
    rotated.extend(new_waiting.iter().cloned());
    let released = accumulatable(&edit(&rotated, &packages(immediate.iter().copied())));
    let mut all: Vec<WorkReport> = immediate.into_iter().cloned().collect();
    all.extend(released);

    // The gas limit (GP 12.22): `max(G_T, G_A·C + Σ χ_Z)`.
    let free = pre.partial.privileges.always_accumulate.clone();
    let free_gas = free.values().fold(0u64, |a, g| a.saturating_add(*g));
    let limit = spec.gas_total_accumulation.max(
        spec.gas_accumulate_report
            .saturating_mul(u64::from(spec.core_count))
            .saturating_add(free_gas),
    );
    let env = Env {
        spec,
        slot: tau,
        entropy,
    };
    let (n, outcome) = delta_plus(&env, limit, &all, pre.partial.clone(), &free);
    let done = all.get(..n).unwrap_or(&all);

    // ξ' (GP 12.25–12.26): shift, the newest slot holding this block's packages.
    let just = packages(done.iter());
    let mut accumulated: Vec<Vec<Hash>> = pre.accumulated.iter().skip(1).cloned().collect();
    accumulated.resize(epoch - 1, Vec::new());
    accumulated.push(just.iter().copied().collect());

    // ω' (GP 12.27).
    let mut ready_queue: Vec<Vec<ReadyRecord>> = vec![Vec::new(); epoch];
    for i in 0..epoch {
        let idx = (m + epoch - i) % epoch;
        let slot: Vec<Waiting> = if i == 0 {
            edit(&new_waiting, &just)
        } else if i < elapsed {
            Vec::new()
        } else {
            edit(ready.get(idx).map(Vec::as_slice).unwrap_or(&[]), &just)
        };
        if let Some(dst) = ready_queue.get_mut(idx) {
            *dst = slot
                .into_iter()
                .map(|w| ReadyRecord {
                    report: w.report,
                    dependencies: w.dependencies.into_iter().collect(),
                })
                .collect();
        }
    }

    // The accumulation statistics (GP 12.24–12.25 and 13.7): gas used and digests
    // accumulated per service; those with either nonzero are recorded and stamped.
    let mut stats: BTreeMap<ServiceId, (Gas, u32)> = BTreeMap::new();
    for (s, u) in &outcome.gas_used {
        let e = stats.entry(*s).or_default();
        e.0 = e.0.saturating_add(*u);
    }
    for d in done.iter().flat_map(|r| r.results.iter()) {
        let e = stats.entry(d.service_id).or_default();
        e.1 = e.1.saturating_add(1);
    }
    stats.retain(|_, (g, c)| *g != 0 || *c != 0);

    let mut partial = outcome.state;
    for s in stats.keys() {
        if let Some(a) = partial.account_mut(*s) {
            a.info.last_accumulation_slot = tau;
        }
    }
    let root = output_root(&outcome.outputs);
    let duplicate_service = outcome.duplicate;
    AccumulationOutcome {
        state: AccumulationState {
            slot: tau,
            ready: ready_queue,
            accumulated,
            partial,
        },
        statistics: stats,
        outputs: outcome.outputs.into_iter().collect(),
        root,
        duplicate_service,
    }
}

impl From<&PrivilegesRecord> for Privileges {
    fn from(p: &PrivilegesRecord) -> Self {
        Privileges {
            manager: p.bless,
            assigners: p.assign.clone(),
            delegator: p.designate,
            registrar: p.register,
            always_accumulate: p.always_acc.iter().map(|a| (a.id, a.gas)).collect(),
        }
    }
}

impl From<&Privileges> for PrivilegesRecord {
    fn from(p: &Privileges) -> Self {
        PrivilegesRecord {
            bless: p.manager,
            assign: p.assigners.clone(),
            designate: p.delegator,
            register: p.registrar,
            always_acc: p
                .always_accumulate
                .iter()
                .map(|(id, gas)| AlwaysAccumulate { id: *id, gas: *gas })
                .collect(),
        }
    }
}

/// Service `id`'s account as the vectors hold it, in item form.
pub fn account_items(id: ServiceId, data: &AccountData) -> ServiceAccount {
    ServiceAccount::from_dictionaries(
        id,
        data.service,
        data.storage
            .iter()
            .map(|i| (i.key.0.as_slice(), i.value.0.as_slice())),
        &data.preimage_blobs,
        &data.preimage_requests,
    )
}

/// The vectors' state part with δ in item form (GP D.2): what [`apply`] yields,
/// and the form a vector's expected post-state is compared in, since storage
/// keys cannot be recovered from state keys.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ItemState {
    /// `τ`.
    pub slot: TimeSlot,
    /// `η'_0`.
    pub entropy: Hash,
    /// ω.
    pub ready_queue: Vec<Vec<ReadyRecord>>,
    /// ξ.
    pub accumulated: Vec<Vec<Hash>>,
    /// χ.
    pub privileges: PrivilegesRecord,
    /// `π_S` (accumulation parts), ordered by service.
    pub statistics: Vec<ServiceStatisticsEntry>,
    /// δ in item form.
    pub accounts: BTreeMap<ServiceId, ServiceAccount>,
}

impl From<&State> for ItemState {
    fn from(s: &State) -> Self {
        ItemState {
            slot: s.slot,
            entropy: s.entropy,
            ready_queue: s.ready_queue.clone(),
            accumulated: s.accumulated.clone(),
            privileges: s.privileges.clone(),
            statistics: s.statistics.clone(),
            accounts: s
                .accounts
                .iter()
                .map(|a| (a.id, account_items(a.id, &a.data)))
                .collect(),
        }
    }
}

/// The accumulation transition on the vectors' state part (GP 12.1–12.27, with
/// 13.7 and 7.3's θ'): a thin wrapper over [`accumulate_block`]. The vectors
/// hold neither ι nor φ, so they start empty here; the statistics part is only
/// the accumulation records.
pub fn apply(spec: &ChainSpec, pre: &State, input: &Input) -> Result<(ItemState, Output), Error> {
    let state = AccumulationState {
        slot: pre.slot,
        ready: pre.ready_queue.clone(),
        accumulated: pre.accumulated.clone(),
        partial: PartialState {
            accounts: pre
                .accounts
                .iter()
                .map(|a| (a.id, Arc::new(account_items(a.id, &a.data))))
                .collect(),
            staging: Vec::new(),
            auth_queues: Vec::new(),
            privileges: Privileges::from(&pre.privileges),
        },
    };
    let out = accumulate_block(spec, &state, input.slot, pre.entropy, &input.reports);
    let post = out.state;
    Ok((
        ItemState {
            slot: post.slot,
            entropy: pre.entropy,
            ready_queue: post.ready,
            accumulated: post.accumulated,
            privileges: PrivilegesRecord::from(&post.partial.privileges),
            statistics: out
                .statistics
                .iter()
                .map(|(s, (g, c))| ServiceStatisticsEntry {
                    id: *s,
                    record: ServiceActivityRecord {
                        accumulate_count: u64::from(*c),
                        accumulate_gas_used: *g,
                        ..Default::default()
                    },
                })
                .collect(),
            accounts: post
                .partial
                .accounts
                .into_iter()
                .map(|(id, a)| (id, Arc::unwrap_or_clone(a)))
                .collect(),
        },
        out.root,
    ))
}

#[cfg(test)]
mod tests;

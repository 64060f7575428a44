//! Accumulation, GP v0.7.2 accumulation.tex (§12): the accumulation queue and
//! history, the outer/parallel/single-service accumulation Δ+, Δ*, Δ1 over the
//! PVM (Ψ_A with the accumulate host functions of appendix B.7), deferred
//! transfers, privileges χ, preimage provision, the service statistics of
//! accumulation (GP 13.7) and the accumulation-output (BEEFY) root.
//!
//! The vectors' state part is `(τ, η'_0, ω, ξ, χ, π_S, δ)`; the staged keys ι and
//! authorizer queues φ that privileged services may set are not in it and start
//! empty here.

pub mod account;
pub mod host;
pub mod invocation;
pub mod operand;
pub mod partial;
pub mod queue;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tessera_core::bytes::Bytes;
use tessera_core::codec::{
    encode_fixed_seq, encode_seq, Decode, DecodeError, DecodeErrorKind, Encode, Reader,
};
use tessera_core::hash::{keccak_256, Hash};
use tessera_core::merkle::balanced;
use tessera_core::spec::ChainSpec;
use tessera_core::types::{Gas, ServiceId, TimeSlot, WorkReport};

use crate::accounts::ServiceInfo;
use crate::accounts::{LookupEntry, LookupKey, PreimageEntry};
use crate::statistics::{ServiceActivityRecord, ServiceStatisticsEntry};
use account::ServiceAccount;
use invocation::{delta_plus, Env};
use partial::{PartialState, Privileges};
use queue::{accumulatable, edit, packages, with_dependencies, Waiting};

/// One entry of the ready queue ω: a report and its unmet dependencies.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadyRecord {
    /// The waiting report.
    pub report: WorkReport,
    /// The work-package hashes it still waits for.
    pub dependencies: Vec<Hash>,
}

impl Encode for ReadyRecord {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.report.encode_to(out);
        encode_seq(&self.dependencies, out);
    }
}

impl Decode for ReadyRecord {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(ReadyRecord {
            report: Decode::decode(r)?,
            dependencies: r.seq("dependencies", None)?,
        })
    }
}

/// One always-accumulate entry of `χ_Z`: a service and its free gas.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlwaysAccumulate {
    /// The service.
    pub id: ServiceId,
    /// Its gas.
    pub gas: Gas,
}

impl Encode for AlwaysAccumulate {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.id.encode_to(out);
        self.gas.encode_to(out);
    }
}

impl Decode for AlwaysAccumulate {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(AlwaysAccumulate {
            id: Decode::decode(r)?,
            gas: Decode::decode(r)?,
        })
    }
}

/// χ as the vectors hold it (GP C, the `χ` component): manager, one assigner per
/// core, delegator, registrar, always-accumulate services.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrivilegesRecord {
    /// `χ_M`.
    pub bless: ServiceId,
    /// `χ_A`, `C` entries.
    pub assign: Vec<ServiceId>,
    /// `χ_V`.
    pub designate: ServiceId,
    /// `χ_R`.
    pub register: ServiceId,
    /// `χ_Z`, ordered by service.
    pub always_acc: Vec<AlwaysAccumulate>,
}

impl Encode for PrivilegesRecord {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.bless.encode_to(out);
        encode_fixed_seq(&self.assign, out);
        self.designate.encode_to(out);
        self.register.encode_to(out);
        encode_seq(&self.always_acc, out);
    }
}

impl Decode for PrivilegesRecord {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(PrivilegesRecord {
            bless: Decode::decode(r)?,
            assign: r.fixed_seq(r.spec().cores())?,
            designate: Decode::decode(r)?,
            register: Decode::decode(r)?,
            always_acc: r.seq("always-accumulate", None)?,
        })
    }
}

/// One storage item `k ↦ v` of `a_s`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageItem {
    /// The key.
    pub key: Bytes,
    /// The value.
    pub value: Bytes,
}

impl Encode for StorageItem {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.key.encode_to(out);
        self.value.encode_to(out);
    }
}

impl Decode for StorageItem {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(StorageItem {
            key: Decode::decode(r)?,
            value: Decode::decode(r)?,
        })
    }
}

/// A whole account as the vectors hold it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountData {
    /// The metadata.
    pub service: ServiceInfo,
    /// `a_s`, ordered by key.
    pub storage: Vec<StorageItem>,
    /// `a_p`, ordered by hash.
    pub preimage_blobs: Vec<PreimageEntry>,
    /// `a_l`, ordered by key.
    pub preimage_requests: Vec<LookupEntry>,
}

impl Encode for AccountData {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.service.encode_to(out);
        encode_seq(&self.storage, out);
        encode_seq(&self.preimage_blobs, out);
        encode_seq(&self.preimage_requests, out);
    }
}

impl Decode for AccountData {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(AccountData {
            service: Decode::decode(r)?,
            storage: r.seq("storage", None)?,
            preimage_blobs: r.seq("preimages", None)?,
            preimage_requests: r.seq("lookups", None)?,
        })
    }
}

/// One `δ` entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountRecord {
    /// The service id.
    pub id: ServiceId,
    /// The account.
    pub data: AccountData,
}

impl Encode for AccountRecord {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.id.encode_to(out);
        self.data.encode_to(out);
    }
}

impl Decode for AccountRecord {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(AccountRecord {
            id: Decode::decode(r)?,
            data: Decode::decode(r)?,
        })
    }
}

/// The state part accumulation reads and writes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    /// `τ`.
    pub slot: TimeSlot,
    /// `η'_0`.
    pub entropy: Hash,
    /// ω: `E` slots of waiting reports.
    pub ready_queue: Vec<Vec<ReadyRecord>>,
    /// ξ: `E` slots of accumulated package hashes.
    pub accumulated: Vec<Vec<Hash>>,
    /// χ.
    pub privileges: PrivilegesRecord,
    /// `π_S` (accumulation parts), ordered by service.
    pub statistics: Vec<ServiceStatisticsEntry>,
    /// δ, ordered by service.
    pub accounts: Vec<AccountRecord>,
}

impl Encode for State {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.slot.encode_to(out);
        self.entropy.encode_to(out);
        for slot in &self.ready_queue {
            encode_seq(slot, out);
        }
        for slot in &self.accumulated {
            encode_seq(slot, out);
        }
        self.privileges.encode_to(out);
        encode_seq(&self.statistics, out);
        encode_seq(&self.accounts, out);
    }
}

impl Decode for State {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let e = usize::try_from(r.spec().epoch_length).unwrap_or(usize::MAX);
        let slot = Decode::decode(r)?;
        let entropy = Decode::decode(r)?;
        let mut ready_queue = Vec::new();
        for _ in 0..e {
            ready_queue.push(r.seq("ready queue slot", None)?);
        }
        let mut accumulated = Vec::new();
        for _ in 0..e {
            accumulated.push(r.seq("accumulated slot", None)?);
        }
        Ok(State {
            slot,
            entropy,
            ready_queue,
            accumulated,
            privileges: Decode::decode(r)?,
            statistics: r.seq("statistics", None)?,
            accounts: r.seq("accounts", None)?,
        })
    }
}

/// What the block gives accumulation: `τ'` and the newly available reports `W`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Input {
    /// `τ'`.
    pub slot: TimeSlot,
    /// `W`.
    pub reports: Vec<WorkReport>,
}

impl Encode for Input {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.slot.encode_to(out);
        encode_seq(&self.reports, out);
    }
}

impl Decode for Input {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Input {
            slot: Decode::decode(r)?,
            reports: r.seq("reports", None)?,
        })
    }
}

/// The output: the accumulation-output root (GP 7.3 input, `M_K` over θ').
pub type Output = Hash;

/// Accumulation has no failure of its own: the vectors' error choice is empty.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum Error {}

impl Encode for Error {
    fn encode_to(&self, _: &mut Vec<u8>) {
        match *self {}
    }
}

impl crate::error_code::ErrorCode for Error {
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

fn to_account(data: &AccountData) -> ServiceAccount {
    ServiceAccount {
        info: data.service,
        storage: data
            .storage
            .iter()
            .map(|i| (i.key.0.clone(), i.value.0.clone()))
            .collect(),
        preimages: data
            .preimage_blobs
            .iter()
            .map(|p| (p.hash, p.blob.0.clone()))
            .collect(),
        lookups: data
            .preimage_requests
            .iter()
            .map(|l| ((l.key.hash, l.key.length), l.value.clone()))
            .collect(),
    }
}

fn from_account(a: &ServiceAccount) -> AccountData {
    AccountData {
        service: a.info,
        storage: a
            .storage
            .iter()
            .map(|(k, v)| StorageItem {
                key: Bytes(k.clone()),
                value: Bytes(v.clone()),
            })
            .collect(),
        preimage_blobs: a
            .preimages
            .iter()
            .map(|(h, b)| PreimageEntry {
                hash: *h,
                blob: Bytes(b.clone()),
            })
            .collect(),
        preimage_requests: a
            .lookups
            .iter()
            .map(|((hash, length), slots)| LookupEntry {
                key: LookupKey {
                    hash: *hash,
                    length: *length,
                },
                value: slots.clone(),
            })
            .collect(),
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

/// The accumulation transition (GP 12.1–12.24, with 13.7 and 7.3's θ').
pub fn apply(spec: &ChainSpec, pre: &State, input: &Input) -> Result<(State, Output), Error> {
    let epoch = usize::try_from(spec.epoch_length).unwrap_or(1).max(1);
    let tau = input.slot;
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
            pre.ready_queue
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
    let (immediate, queued): (Vec<&WorkReport>, Vec<&WorkReport>) = input
        .reports
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

    // The partial state and the gas limit (GP 12.22).
    let privileges = Privileges {
        manager: pre.privileges.bless,
        assigners: pre.privileges.assign.clone(),
        delegator: pre.privileges.designate,
        registrar: pre.privileges.register,
        always_accumulate: pre
            .privileges
            .always_acc
            .iter()
            .map(|a| (a.id, a.gas))
            .collect(),
    };
    let free = privileges.always_accumulate.clone();
    let e = PartialState {
        accounts: pre
            .accounts
            .iter()
            .map(|a| (a.id, Arc::new(to_account(&a.data))))
            .collect(),
        staging: Vec::new(),
        auth_queues: Vec::new(),
        privileges,
    };
    let free_gas = free.values().fold(0u64, |a, g| a.saturating_add(*g));
    let limit = spec.gas_total_accumulation.max(
        spec.gas_accumulate_report
            .saturating_mul(u64::from(spec.core_count))
            .saturating_add(free_gas),
    );
    let env = Env {
        spec,
        slot: tau,
        entropy: pre.entropy,
    };
    let (n, outcome) = delta_plus(&env, limit, &all, e, &free);
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

    let mut accounts = outcome.state.accounts;
    for s in stats.keys() {
        if let Some(a) = accounts.get_mut(s) {
            Arc::make_mut(a).info.last_accumulation_slot = tau;
        }
    }
    let p = outcome.state.privileges;
    let post = State {
        slot: tau,
        entropy: pre.entropy,
        ready_queue,
        accumulated,
        privileges: PrivilegesRecord {
            bless: p.manager,
            assign: p.assigners,
            designate: p.delegator,
            register: p.registrar,
            always_acc: p
                .always_accumulate
                .iter()
                .map(|(id, gas)| AlwaysAccumulate { id: *id, gas: *gas })
                .collect(),
        },
        statistics: stats
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
        accounts: accounts
            .iter()
            .map(|(id, a)| AccountRecord {
                id: *id,
                data: from_account(a),
            })
            .collect(),
    };
    Ok((post, output_root(&outcome.outputs)))
}

#[cfg(test)]
mod tests;

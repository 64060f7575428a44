//! Accumulation proper (GP v0.7.2 accumulation.tex, 12.16–12.24): the
//! single-service Δ1 over Ψ_A (appendix B.7), the parallel Δ* and the outer Δ+.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use tessera_core::codec::encode_natural;
use tessera_core::hash::{blake2b_256, Hash};
use tessera_core::spec::ChainSpec;
use tessera_core::types::{Gas, ServiceId, TimeSlot, WorkReport};
use tessera_pvm::{invoke_bounded_with, InvocationResult, MAX_OUTPUT};

use super::host::{AccumulateHost, Implications};
use super::operand::{AccumulateInput, Operand, Transfer};
use super::partial::PartialState;
use crate::sigma::accounts::ServiceAccount;

/// The entry point of the accumulate code (GP B.7, Ψ_M at pc 5).
const ACCUMULATE_PC: u32 = 5;

/// The block-wide values accumulation reads: `τ'` and `η'_0`.
#[derive(Clone, Copy, Debug)]
pub struct Env<'a> {
    /// The chain constants.
    pub spec: &'a ChainSpec,
    /// `τ'`.
    pub slot: TimeSlot,
    /// `η'_0`.
    pub entropy: Hash,
}

/// What Ψ_A yields for one service: `(e, t, y, u, p)`.
#[derive(Clone, Debug)]
pub struct SingleOutcome {
    /// `e`: the posterior partial state.
    pub state: PartialState,
    /// `t`: deferred transfers.
    pub transfers: Vec<Transfer>,
    /// `y`: the accumulation output.
    pub yielded: Option<Hash>,
    /// `u`: gas used.
    pub gas_used: Gas,
    /// `p`: preimages provided.
    pub provided: BTreeSet<(ServiceId, Vec<u8>)>,
}

/// Ψ_A (GP B.7): run service `s`'s accumulate code over `inputs` with `gas`.
pub fn psi_a(
    env: &Env<'_>,
    e: &PartialState,
    s: ServiceId,
    gas: Gas,
    inputs: &[AccumulateInput],
) -> SingleOutcome {
    // e' (GP B.7): the incoming transfers' amounts are credited first, so a
    // receiver without (usable) code still gets them; only the code run is
    // skipped. (An earlier reading returned `e` itself there and lost the
    // amounts; the recorded fuzzer session `no_forks` step 34, a transfer to a
    // just-created service, fixes the crediting.)
    let credit = inputs
        .iter()
        .filter_map(|i| match i {
            AccumulateInput::Transfer(t) => Some(t.amount),
            AccumulateInput::Operand(_) => None,
        })
        .fold(0u64, u64::saturating_add);
    let mut start = e.clone();
    if let Some(a) = start.account_mut(s) {
        a.info.balance = a.info.balance.saturating_add(credit);
    }
    let code = start
        .account(s)
        .and_then(|a| Some((a.info.code_hash, a.code(s)?)))
        .filter(|(_, c)| {
            c.len() <= usize::try_from(env.spec.max_service_code_size).unwrap_or(usize::MAX)
        })
        .map(|(h, c)| (h, c.to_vec()));
    let Some((code_hash, code)) = code else {
        tracing::debug!(
            service = s,
            inputs = inputs.len(),
            credit,
            "no usable code: not run"
        );
        return SingleOutcome {
            state: start,
            transfers: Vec::new(),
            yielded: None,
            gas_used: 0,
            provided: BTreeSet::new(),
        };
    };
    let context = Implications::new(env.spec, start, s, &env.entropy, env.slot);
    let mut host = AccumulateHost {
        spec: env.spec,
        slot: env.slot,
        entropy: env.entropy,
        inputs,
        x: context.clone(),
        y: context,
    };
    // `E(t, s, |i|)`, each a compact natural.
    let mut args = Vec::new();
    encode_natural(u64::from(env.slot), &mut args);
    encode_natural(u64::from(s), &mut args);
    encode_natural(u64::try_from(inputs.len()).unwrap_or(u64::MAX), &mut args);
    let (gas_used, result) = match crate::deblobbed::standard(&code_hash, &code) {
        Some(program) => match invoke_bounded_with(
            &code,
            &program,
            ACCUMULATE_PC,
            gas,
            &args,
            &mut host,
            MAX_OUTPUT,
        ) {
            (used, Ok(r)) => (used, r),
            // Only a 32-octet output means anything to C (GP B.7).
            (used, Err(_)) => (used, InvocationResult::Output(Vec::new())),
        },
        // Y or deblobbing fails: Ψ_M panics at once, having used no gas.
        None => (0, InvocationResult::Panic),
    };
    tracing::debug!(
        service = s,
        gas,
        inputs = inputs.len(),
        gas_used,
        ?result,
        "accumulated"
    );
    // C (GP B.7): the exceptional dimension on ∞ or ☇; a 32-octet output
    // overrides the yielded hash.
    let (ctx, yielded) = match result {
        InvocationResult::OutOfGas | InvocationResult::Panic => {
            let y = host.y.yielded;
            (host.y, y)
        }
        InvocationResult::Output(o) => {
            let y = match <[u8; 32]>::try_from(o.as_slice()) {
                Ok(h) => Some(Hash::from(h)),
                Err(_) => host.x.yielded,
            };
            (host.x, y)
        }
    };
    SingleOutcome {
        state: ctx.state,
        transfers: ctx.transfers,
        yielded,
        gas_used,
        provided: ctx.provided,
    }
}

/// Δ1 (GP 12.21): service `s`'s inputs and gas from the transfers `t`, the
/// reports `r` and the free gas `f`.
pub fn delta_1(
    env: &Env<'_>,
    e: &PartialState,
    transfers: &[Transfer],
    reports: &[WorkReport],
    free: &BTreeMap<ServiceId, Gas>,
    s: ServiceId,
) -> SingleOutcome {
    let mut gas = free.get(&s).copied().unwrap_or(0);
    let mut inputs = Vec::new();
    for t in transfers.iter().filter(|t| t.destination == s) {
        gas = gas.saturating_add(t.gas);
        inputs.push(AccumulateInput::Transfer(t.clone()));
    }
    for r in reports {
        for d in r.results.iter().filter(|d| d.service_id == s) {
            gas = gas.saturating_add(d.accumulate_gas);
            inputs.push(AccumulateInput::Operand(Operand {
                package_hash: r.package_spec.hash,
                exports_root: r.package_spec.exports_root,
                authorizer_hash: r.authorizer_hash,
                payload_hash: d.payload_hash,
                gas: d.accumulate_gas,
                result: d.result.clone(),
                trace: r.auth_output.clone(),
            }));
        }
    }
    psi_a(env, e, s, gas, &inputs)
}

/// What Δ* and Δ+ yield: the posterior partial state, the transfers made, the
/// outputs `b` and the gas used `u`, in order.
#[derive(Clone, Debug)]
pub struct BatchOutcome {
    /// `e'`.
    pub state: PartialState,
    /// `t'` (Δ* only; Δ+ consumes them).
    pub transfers: Vec<Transfer>,
    /// `b`: `(service, output)` pairs.
    pub outputs: BTreeSet<(ServiceId, Hash)>,
    /// `u`: `(service, gas)` pairs.
    pub gas_used: Vec<(ServiceId, Gas)>,
    /// A service id that two services of one batch both created (the first
    /// found): the GP makes such a block invalid (B.10's note).
    pub duplicate: Option<ServiceId>,
}

/// `d' = (d ∪ n) ∖ m` of GP 12.19 for the accounts of Δ*: each accumulated
/// service's own account and the accounts it created replace the prior ones;
/// accounts any service removed go. `Err(id)` when two services created the same
/// id `id` (GP B.10: the block is then invalid).
pub fn merge_accounts<'a>(
    prior: &BTreeMap<ServiceId, Arc<ServiceAccount>>,
    posts: impl IntoIterator<Item = (ServiceId, &'a BTreeMap<ServiceId, Arc<ServiceAccount>>)>,
) -> Result<BTreeMap<ServiceId, Arc<ServiceAccount>>, ServiceId> {
    let mut accounts = prior.clone();
    let mut created = BTreeSet::new();
    let mut removed = BTreeSet::new();
    for (s, post) in posts {
        for (&id, account) in post {
            if id == s {
                accounts.insert(id, Arc::clone(account));
            } else if !prior.contains_key(&id) {
                if !created.insert(id) {
                    return Err(id);
                }
                accounts.insert(id, Arc::clone(account));
            }
        }
        removed.extend(prior.keys().filter(|id| !post.contains_key(id)));
    }
    for id in &removed {
        accounts.remove(id);
    }
    Ok(accounts)
}

/// `R(o, a, b)` (GP 12.20): the manager's change `a` wins over the holder's `b`.
fn pick<T: PartialEq>(original: T, manager: T, holder: T) -> T {
    if manager == original {
        holder
    } else {
        manager
    }
}

/// Δ* (GP 12.19): accumulate every service with work, free gas or transfers, each
/// on the same `e`, and fold their effects together.
pub fn delta_star(
    env: &Env<'_>,
    e: &PartialState,
    transfers: &[Transfer],
    reports: &[WorkReport],
    free: &BTreeMap<ServiceId, Gas>,
) -> BatchOutcome {
    let mut services: BTreeSet<ServiceId> = reports
        .iter()
        .flat_map(|r| r.results.iter().map(|d| d.service_id))
        .collect();
    services.extend(free.keys().copied());
    services.extend(transfers.iter().map(|t| t.destination));

    let results: BTreeMap<ServiceId, SingleOutcome> = services
        .iter()
        .map(|&s| (s, delta_1(env, e, transfers, reports, free, s)))
        .collect();
    // Δ(s)_e for a service outside the batch is `e` itself (no gas, no inputs).
    let post = |s: ServiceId| results.get(&s).map_or(e, |o| &o.state);

    let p = &e.privileges;
    let manager_post = &post(p.manager).privileges;
    let mut privileges = p.clone();
    privileges.manager = manager_post.manager;
    privileges.always_accumulate = manager_post.always_accumulate.clone();
    privileges.assigners = p
        .assigners
        .iter()
        .enumerate()
        .map(|(c, &a)| {
            let by_manager = manager_post.assigners.get(c).copied().unwrap_or(a);
            let by_holder = post(a).privileges.assigners.get(c).copied().unwrap_or(a);
            pick(a, by_manager, by_holder)
        })
        .collect();
    privileges.delegator = pick(
        p.delegator,
        manager_post.delegator,
        post(p.delegator).privileges.delegator,
    );
    privileges.registrar = pick(
        p.registrar,
        manager_post.registrar,
        post(p.registrar).privileges.registrar,
    );
    let staging = post(p.delegator).staging.clone();
    let auth_queues = (0..e.auth_queues.len().max(p.assigners.len()))
        .map(|c| {
            let holder = p.assigners.get(c).map_or(e, |&a| post(a));
            holder.auth_queues.get(c).cloned().unwrap_or_default()
        })
        .collect::<Vec<_>>();
    let auth_queues = if e.auth_queues.is_empty() && auth_queues.iter().all(Vec::is_empty) {
        Vec::new()
    } else {
        auth_queues
    };

    // d' = P((d ∪ n) ∖ m, ⋃ p).
    let (accounts, duplicate) = match merge_accounts(
        &e.accounts,
        results.iter().map(|(&s, o)| (s, &o.state.accounts)),
    ) {
        Ok(accounts) => (accounts, None),
        Err(id) => (e.accounts.clone(), Some(id)),
    };
    let mut state = PartialState {
        accounts,
        staging,
        auth_queues,
        privileges,
    };
    for o in results.values() {
        for (s, data) in &o.provided {
            provide(&mut state, env.slot, *s, data);
        }
    }

    let mut out_transfers = Vec::new();
    let mut outputs = BTreeSet::new();
    let mut gas_used = Vec::new();
    for (s, o) in results {
        gas_used.push((s, o.gas_used));
        if let Some(h) = o.yielded {
            outputs.insert((s, h));
        }
        out_transfers.extend(o.transfers);
    }
    BatchOutcome {
        state,
        transfers: out_transfers,
        outputs,
        gas_used,
        duplicate,
    }
}

/// P (GP 12.23): integrate a provided preimage if its service still awaits it.
fn provide(state: &mut PartialState, slot: TimeSlot, s: ServiceId, data: &[u8]) {
    let Some(a) = state.account_mut(s) else {
        return;
    };
    let Ok(len) = u32::try_from(data.len()) else {
        return;
    };
    let h = blake2b_256(data);
    if a.lookup(s, &h, len).is_some_and(|t| t.is_empty()) {
        a.set_lookup(s, &h, len, &[slot]);
        a.set_preimage(s, &h, data.to_vec());
    }
}

/// Δ+ (GP 12.18): accumulate as many reports as `gas` allows, in rounds, each
/// round's transfers feeding the next. Returns the number of reports accumulated
/// and the combined outcome.
pub fn delta_plus(
    env: &Env<'_>,
    gas: Gas,
    reports: &[WorkReport],
    e: PartialState,
    free: &BTreeMap<ServiceId, Gas>,
) -> (usize, BatchOutcome) {
    let mut total = BatchOutcome {
        state: e,
        transfers: Vec::new(),
        outputs: BTreeSet::new(),
        gas_used: Vec::new(),
        duplicate: None,
    };
    let mut gas = gas;
    let mut transfers: Vec<Transfer> = Vec::new();
    let mut free = free.clone();
    let mut done = 0usize;
    let mut rest = reports;
    loop {
        // i: the longest prefix whose digests' gas fits.
        let mut i = 0usize;
        let mut sum: Gas = 0;
        for r in rest {
            let g = r
                .results
                .iter()
                .map(|d| d.accumulate_gas)
                .fold(0u64, u64::saturating_add);
            match sum.checked_add(g) {
                Some(next) if next <= gas => {
                    sum = next;
                    i += 1;
                }
                _ => break,
            }
        }
        if transfers.len() + i + free.len() == 0 {
            break;
        }
        let (now, later) = rest.split_at(i);
        let batch = delta_star(env, &total.state, &transfers, now, &free);
        let transfer_gas = transfers
            .iter()
            .map(|t| t.gas)
            .fold(0u64, u64::saturating_add);
        let used = batch
            .gas_used
            .iter()
            .map(|(_, u)| *u)
            .fold(0u64, u64::saturating_add);
        gas = gas.saturating_add(transfer_gas).saturating_sub(used);
        total.state = batch.state;
        total.outputs.extend(batch.outputs);
        total.gas_used.extend(batch.gas_used);
        if batch.duplicate.is_some() {
            total.duplicate = total.duplicate.or(batch.duplicate);
            break;
        }
        transfers = batch.transfers;
        free.clear();
        done += i;
        rest = later;
    }
    (done, total)
}

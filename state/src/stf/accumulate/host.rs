//! The accumulate host functions `F` of Ψ_A (GP v0.7.2 pvm_invocations.tex,
//! appendix B.7 and the general functions of B.6), numbered as in v0.7.2: gas 0,
//! fetch 1, lookup 2, read 3, write 4, info 5, bless 14, assign 15, designate 16,
//! checkpoint 17, new 18, upgrade 19, transfer 20, eject 21, query 22, solicit 23,
//! forget 24, yield 25, provide 26, and log 100 (JIP-1).
//!
//! Every call costs 10 gas, except transfer (`10 + ω9`); log costs 10 as the
//! traces' README fixes. An unknown call costs 10 and sets `ω7 = WHAT`.

use std::collections::BTreeSet;
use std::sync::Arc;

use tessera_core::codec::{encode_natural, Encode};
use tessera_core::hash::{blake2b_256, Hash};
use tessera_core::spec::ChainSpec;
use tessera_core::types::{ServiceId, TimeSlot};
use tessera_pvm::{HostCalls, HostOutcome, Machine};

use super::operand::{AccumulateInput, Transfer};
use super::partial::PartialState;
use crate::host::{code, constants, id, read_memory, writable, write_memory, HOST_CALL_GAS};
use crate::sigma::accounts::ServiceInfo;
use crate::sigma::accounts::{lookup_octets, threshold, ServiceAccount};

/// The accumulation context `L` (GP B.7): service `s`, partial state `e`, next
/// free service id `i`, deferred transfers `t`, yielded hash `y` and provided
/// preimages `p`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Implications {
    /// `s`: the accumulating service.
    pub service: ServiceId,
    /// `e`: the partial state.
    pub state: PartialState,
    /// `i`: the id the next `new` takes.
    pub next_id: ServiceId,
    /// `t`: transfers made.
    pub transfers: Vec<Transfer>,
    /// `y`: the yielded accumulation output.
    pub yielded: Option<Hash>,
    /// `p`: preimages provided, `(service, data)`.
    pub provided: BTreeSet<(ServiceId, Vec<u8>)>,
}

/// `check(i)` (GP B.14): the first id from `i` on, stepping through the public
/// range, that names no account.
pub fn check_id(spec: &ChainSpec, state: &PartialState, mut i: ServiceId) -> ServiceId {
    let s = u64::from(spec.min_public_service_index);
    let range = (1u64 << 32) - (1 << 8) - s;
    // At most `range` steps: the accounts cannot fill the whole public range.
    for _ in 0..=state.accounts.len() {
        if !state.accounts.contains_key(&i) {
            return i;
        }
        let next = (u64::from(i).wrapping_sub(s).wrapping_add(1)) % range + s;
        i = ServiceId::try_from(next).unwrap_or(ServiceId::MAX);
    }
    i
}

impl Implications {
    /// `I(e, s)` (GP B.10): a fresh context whose next id is
    /// `check(E_4^{-1}(H(E(s, η'_0, τ'))) mod (2^32 − S − 2^8) + S)`.
    /// `E` of a natural is the compact encoding (GP C.1), not `E_4`: no
    /// accumulate vector creates a service, but the recorded fuzzer sessions
    /// (`fuzz-proto/examples/0.7.2`, services made in `no_forks` step 34 and
    /// `forks` step 57) fix it.
    pub fn new(
        spec: &ChainSpec,
        state: PartialState,
        service: ServiceId,
        entropy: &Hash,
        slot: TimeSlot,
    ) -> Self {
        let mut pre = Vec::with_capacity(42);
        encode_natural(u64::from(service), &mut pre);
        pre.extend_from_slice(&entropy.0);
        encode_natural(u64::from(slot), &mut pre);
        let h = blake2b_256(&pre);
        let word = u32::from_le_bytes([h.0[0], h.0[1], h.0[2], h.0[3]]);
        let s = u64::from(spec.min_public_service_index);
        let range = (1u64 << 32) - s - (1 << 8);
        let first = ServiceId::try_from(u64::from(word) % range + s).unwrap_or(ServiceId::MAX);
        let next_id = check_id(spec, &state, first);
        Implications {
            service,
            state,
            next_id,
            transfers: Vec::new(),
            yielded: None,
            provided: BTreeSet::new(),
        }
    }

    fn me(&self) -> Option<&ServiceAccount> {
        self.state.account(self.service)
    }
}

/// The host side of one accumulation: the regular and exceptional contexts
/// `(x, y)` and what the fetch call may read.
#[derive(Debug)]
pub struct AccumulateHost<'a> {
    /// The chain constants.
    pub spec: &'a ChainSpec,
    /// `τ'`.
    pub slot: TimeSlot,
    /// `η'_0`, fetched as the entropy.
    pub entropy: Hash,
    /// `i`: the inputs.
    pub inputs: &'a [AccumulateInput],
    /// `x`: the regular dimension.
    pub x: Implications,
    /// `y`: the exceptional dimension (the last checkpoint).
    pub y: Implications,
}

/// The common tail of fetch, lookup, read and info: write `v[f..f+l]` at `o`
/// with `f = min(ω_from, |v|)`, `l = min(ω_len, |v| − f)`, and set `ω7` to `|v|`
/// or NONE. Panics (☇) if the destination is not writable.
fn write_slice(m: &mut Machine<'_>, v: Option<&[u8]>, o: u64, from: u64, len: u64) -> HostOutcome {
    let Some(v) = v else {
        m.set_reg(7, code::NONE);
        return HostOutcome::Continue;
    };
    let size = u64::try_from(v.len()).unwrap_or(u64::MAX);
    let f = from.min(size);
    let l = len.min(size - f);
    if !writable(m, o, l) {
        return HostOutcome::Panic;
    }
    let (fu, lu) = (
        usize::try_from(f).unwrap_or(usize::MAX),
        usize::try_from(l).unwrap_or(0),
    );
    if let Some(part) = v.get(fu..fu.saturating_add(lu)) {
        write_memory(m, o, part);
    }
    m.set_reg(7, size);
    HostOutcome::Continue
}

/// A register as a service id, if it is one.
fn service_of(x: u64) -> Option<ServiceId> {
    ServiceId::try_from(x).ok()
}

fn hash_at(m: &Machine<'_>, addr: u64) -> Option<Hash> {
    let bytes = read_memory(m, addr, 32)?;
    let mut h = [0u8; 32];
    h.copy_from_slice(&bytes);
    Some(Hash::from(h))
}

impl HostCalls for AccumulateHost<'_> {
    fn host_call(&mut self, call: u64, m: &mut Machine<'_>) -> HostOutcome {
        // Every call costs 10 up front; `transfer` charges its `ω9` more only
        // when it succeeds (GP v0.7.2 B.7, `g = 10 + t`), see [`Self::transfer`].
        let left = m.gas().saturating_sub(HOST_CALL_GAS);
        m.set_gas(left);
        if left < 0 {
            return HostOutcome::OutOfGas;
        }
        let outcome = self.dispatch(call, left, m);
        tracing::trace!(
            service = self.x.service,
            call,
            gas = left,
            r7 = m.reg(7),
            ?outcome,
            "accumulate host call"
        );
        outcome
    }
}

impl AccumulateHost<'_> {
    fn dispatch(&mut self, call: u64, left: i64, m: &mut Machine<'_>) -> HostOutcome {
        match call {
            id::GAS => {
                m.set_reg(7, u64::try_from(left).unwrap_or(0));
                HostOutcome::Continue
            }
            id::FETCH => self.fetch(m),
            id::LOOKUP => self.lookup(m),
            id::READ => self.read(m),
            id::WRITE => self.write(m),
            id::INFO => self.info(m),
            id::BLESS => self.bless(m),
            id::ASSIGN => self.assign(m),
            id::DESIGNATE => self.designate(m),
            id::CHECKPOINT => {
                self.y = self.x.clone();
                m.set_reg(7, u64::try_from(left).unwrap_or(0));
                HostOutcome::Continue
            }
            id::NEW => self.new_service(m),
            id::UPGRADE => self.upgrade(m),
            id::TRANSFER => self.transfer(m),
            id::EJECT => self.eject(m),
            id::QUERY => self.query(m),
            id::SOLICIT => self.solicit(m),
            id::FORGET => self.forget(m),
            id::YIELD => match hash_at(m, m.reg(7)) {
                None => HostOutcome::Panic,
                Some(h) => {
                    self.x.yielded = Some(h);
                    m.set_reg(7, code::OK);
                    HostOutcome::Continue
                }
            },
            id::PROVIDE => self.provide(m),
            // JIP-1: a debug message with no effect on the state or registers.
            id::LOG => HostOutcome::Continue,
            _ => {
                m.set_reg(7, code::WHAT);
                HostOutcome::Continue
            }
        }
    }
}

fn ok(m: &mut Machine<'_>, value: u64) -> HostOutcome {
    m.set_reg(7, value);
    HostOutcome::Continue
}

impl AccumulateHost<'_> {
    /// Ω_Y in the accumulate context: constants (0), entropy (1), all inputs (14)
    /// and one input (15); every other kind is NONE.
    fn fetch(&mut self, m: &mut Machine<'_>) -> HostOutcome {
        let v: Option<Vec<u8>> = match m.reg(10) {
            0 => Some(constants(self.spec)),
            1 => Some(self.entropy.0.to_vec()),
            14 => Some(self.inputs.to_vec().encode()),
            15 => usize::try_from(m.reg(11))
                .ok()
                .and_then(|i| self.inputs.get(i))
                .map(|i| i.encode()),
            _ => None,
        };
        write_slice(m, v.as_deref(), m.reg(7), m.reg(8), m.reg(9))
    }

    /// The account `ω7` names, with its id: the caller for `2^64 − 1` or its own
    /// id, else `d[ω7]` if it exists.
    fn target(&self, w: u64) -> Option<(ServiceId, &ServiceAccount)> {
        let s = if w == u64::MAX {
            self.x.service
        } else {
            service_of(w)?
        };
        self.x.state.account(s).map(|a| (s, a))
    }

    /// Ω_L (GP B.6): a preimage of `d[ω7]` by hash.
    fn lookup(&mut self, m: &mut Machine<'_>) -> HostOutcome {
        let Some(h) = hash_at(m, m.reg(8)) else {
            return HostOutcome::Panic;
        };
        self.reply_item(m, 9, |s, a| a.preimage(s, &h).map(<[u8]>::to_vec))
    }

    /// Ω_R (GP B.6): a storage item of `d[ω7]`.
    fn read(&mut self, m: &mut Machine<'_>) -> HostOutcome {
        let Some(key) = read_memory(m, m.reg(8), m.reg(9)) else {
            return HostOutcome::Panic;
        };
        self.reply_item(m, 10, |s, a| a.storage(s, &key).map(<[u8]>::to_vec))
    }

    /// What Ω_L and Ω_R share once the key is read: the item `get` finds in the
    /// account `d[ω7]` (NONE without one), written by the slice rule with the
    /// output address and the offset and length limits in registers `first..+3`.
    fn reply_item(
        &self,
        m: &mut Machine<'_>,
        first: usize,
        get: impl FnOnce(ServiceId, &ServiceAccount) -> Option<Vec<u8>>,
    ) -> HostOutcome {
        let v = self.target(m.reg(7)).and_then(|(s, a)| get(s, a));
        write_slice(
            m,
            v.as_deref(),
            m.reg(first),
            m.reg(first + 1),
            m.reg(first + 2),
        )
    }

    /// Ω_W (GP B.6): set or (with `vz = 0`) remove the caller's storage item;
    /// FULL if the new footprint's threshold exceeds the balance.
    fn write(&mut self, m: &mut Machine<'_>) -> HostOutcome {
        let Some(key) = read_memory(m, m.reg(7), m.reg(8)) else {
            return HostOutcome::Panic;
        };
        let vz = m.reg(10);
        let value = if vz == 0 {
            None
        } else {
            match read_memory(m, m.reg(9), vz) {
                Some(v) => Some(v),
                None => return HostOutcome::Panic,
            }
        };
        let spec = self.spec;
        let service = self.x.service;
        let Some(current) = self.x.state.account(service) else {
            return HostOutcome::Panic;
        };
        let previous = current
            .storage(service, &key)
            .map_or(code::NONE, |v| u64::try_from(v.len()).unwrap_or(u64::MAX));
        let mut updated = current.clone();
        match value {
            None => updated.remove_storage(service, &key),
            Some(v) => updated.set_storage(service, &key, v),
        }
        if updated.threshold(spec) > updated.info.balance {
            return ok(m, code::FULL);
        }
        self.x.state.accounts.insert(service, Arc::new(updated));
        ok(m, previous)
    }

    /// Ω_I (GP B.6): `E(a_c, E_8(a_b, a_t, a_g, a_m, a_o), E_4(a_i), E_8(a_f),
    /// E_4(a_r, a_a, a_p))` of `d[ω7]`.
    fn info(&mut self, m: &mut Machine<'_>) -> HostOutcome {
        let v = self.target(m.reg(7)).map(|(_, a)| {
            let i = &a.info;
            let mut out = Vec::with_capacity(96);
            i.code_hash.encode_to(&mut out);
            for x in [
                i.balance,
                a.threshold(self.spec),
                i.min_item_gas,
                i.min_memo_gas,
                i.bytes,
            ] {
                x.encode_to(&mut out);
            }
            i.items.encode_to(&mut out);
            i.deposit_offset.encode_to(&mut out);
            for x in [i.creation_slot, i.last_accumulation_slot, i.parent_service] {
                x.encode_to(&mut out);
            }
            out
        });
        write_slice(m, v.as_deref(), m.reg(8), m.reg(9), m.reg(10))
    }

    /// Ω_B (GP B.7): set `(m, a, v, r, z)` from `ω7..ω12`.
    fn bless(&mut self, m: &mut Machine<'_>) -> HostOutcome {
        let cores = u64::from(self.spec.core_count);
        let Some(assign) = read_memory(m, m.reg(8), 4 * cores) else {
            return HostOutcome::Panic;
        };
        let Some(z_len) = m.reg(12).checked_mul(12) else {
            return HostOutcome::Panic;
        };
        let Some(z) = read_memory(m, m.reg(11), z_len) else {
            return HostOutcome::Panic;
        };
        let (Some(manager), Some(delegator), Some(registrar)) = (
            service_of(m.reg(7)),
            service_of(m.reg(9)),
            service_of(m.reg(10)),
        ) else {
            return ok(m, code::WHO);
        };
        let p = &mut self.x.state.privileges;
        p.manager = manager;
        p.delegator = delegator;
        p.registrar = registrar;
        p.assigners = assign
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        p.always_accumulate = z
            .chunks_exact(12)
            .map(|c| {
                let s = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
                let mut g = [0u8; 8];
                g.copy_from_slice(&c[4..12]);
                (s, u64::from_le_bytes(g))
            })
            .collect();
        ok(m, code::OK)
    }

    /// Ω_A (GP B.7): core `ω7`'s authorizer queue and assigner, by its assigner.
    fn assign(&mut self, m: &mut Machine<'_>) -> HostOutcome {
        let q_len = u64::from(self.spec.auth_queue_size);
        let Some(queue) = read_memory(m, m.reg(8), 32 * q_len) else {
            return HostOutcome::Panic;
        };
        let cores = usize::from(self.spec.core_count);
        let Some(core) = usize::try_from(m.reg(7)).ok().filter(|c| *c < cores) else {
            return ok(m, code::CORE);
        };
        let state = &mut self.x.state;
        if state.privileges.assigners.get(core) != Some(&self.x.service) {
            return ok(m, code::HUH);
        }
        let Some(assigner) = service_of(m.reg(9)) else {
            return ok(m, code::WHO);
        };
        if state.auth_queues.len() < cores {
            state.auth_queues.resize(cores, Vec::new());
        }
        if let Some(q) = state.auth_queues.get_mut(core) {
            *q = queue
                .chunks_exact(32)
                .map(|c| {
                    let mut h = [0u8; 32];
                    h.copy_from_slice(c);
                    Hash::from(h)
                })
                .collect();
        }
        if let Some(a) = state.privileges.assigners.get_mut(core) {
            *a = assigner;
        }
        ok(m, code::OK)
    }

    /// Ω_D (GP B.7): the staged validator keys, by the delegator.
    fn designate(&mut self, m: &mut Machine<'_>) -> HostOutcome {
        let v = u64::from(self.spec.validator_count);
        let Some(keys) = read_memory(m, m.reg(7), 336 * v) else {
            return HostOutcome::Panic;
        };
        if self.x.state.privileges.delegator != self.x.service {
            return ok(m, code::HUH);
        }
        self.x.state.staging = keys.chunks_exact(336).map(<[u8]>::to_vec).collect();
        ok(m, code::OK)
    }

    /// Ω_N (GP B.7): a new service with code hash `μ[ω7..+32]`, code length ω8,
    /// gas limits ω9, ω10, gratis storage ω11 and (for the registrar) id ω12.
    fn new_service(&mut self, m: &mut Machine<'_>) -> HostOutcome {
        let Some(code_hash) = hash_at(m, m.reg(7)) else {
            return HostOutcome::Panic;
        };
        let Ok(length) = u32::try_from(m.reg(8)) else {
            return HostOutcome::Panic;
        };
        let (g, memo, gratis, wanted) = (m.reg(9), m.reg(10), m.reg(11), m.reg(12));
        let spec = self.spec;
        let service = self.x.service;
        let privileges = &self.x.state.privileges;
        if gratis != 0 && service != privileges.manager {
            return ok(m, code::HUH);
        }
        let registrar = service == privileges.registrar;
        let Some(me) = self.x.me() else {
            return HostOutcome::Panic;
        };
        let deposit = threshold(spec, 2, lookup_octets(length), gratis);
        let Some(balance) = me.info.balance.checked_sub(deposit) else {
            return ok(m, code::CASH);
        };
        if balance < me.threshold(spec) {
            return ok(m, code::CASH);
        }
        let small = registrar && wanted < u64::from(spec.min_public_service_index);
        let new_id = if small {
            let Some(id) = service_of(wanted) else {
                return ok(m, code::FULL);
            };
            if self.x.state.accounts.contains_key(&id) {
                return ok(m, code::FULL);
            }
            id
        } else {
            self.x.next_id
        };
        let mut account = ServiceAccount {
            info: ServiceInfo {
                version: 0,
                code_hash,
                balance: deposit,
                min_item_gas: g,
                min_memo_gas: memo,
                bytes: 0,
                deposit_offset: gratis,
                items: 0,
                creation_slot: self.slot,
                last_accumulation_slot: 0,
                parent_service: service,
            },
            items: Default::default(),
        };
        account.add_lookup(new_id, &code_hash, length);
        let state = &mut self.x.state;
        if let Some(me) = state.account_mut(service) {
            me.info.balance = balance;
        }
        state.accounts.insert(new_id, Arc::new(account));
        if !small {
            let s = u64::from(spec.min_public_service_index);
            let range = (1u64 << 32) - s - (1 << 8);
            let step = (u64::from(self.x.next_id) - s + 42) % range + s;
            let step = ServiceId::try_from(step).unwrap_or(ServiceId::MAX);
            self.x.next_id = check_id(spec, &self.x.state, step);
        }
        ok(m, u64::from(new_id))
    }

    /// Ω_U (GP B.7): the caller's code hash and gas limits.
    fn upgrade(&mut self, m: &mut Machine<'_>) -> HostOutcome {
        let Some(code_hash) = hash_at(m, m.reg(7)) else {
            return HostOutcome::Panic;
        };
        let (g, memo) = (m.reg(8), m.reg(9));
        let Some(me) = self.x.state.account_mut(self.x.service) else {
            return HostOutcome::Panic;
        };
        me.info.code_hash = code_hash;
        me.info.min_item_gas = g;
        me.info.min_memo_gas = memo;
        ok(m, code::OK)
    }

    /// Ω_T (GP B.7): a deferred transfer of ω8 to ω7 with gas ω9 and memo at ω10.
    fn transfer(&mut self, m: &mut Machine<'_>) -> HostOutcome {
        let memo_len = u64::from(self.spec.transfer_memo_size);
        let Some(memo) = read_memory(m, m.reg(10), memo_len) else {
            return HostOutcome::Panic;
        };
        let (amount, gas) = (m.reg(8), m.reg(9));
        let Some(dest) = service_of(m.reg(7)).and_then(|d| self.x.state.account(d).map(|a| (d, a)))
        else {
            return ok(m, code::WHO);
        };
        let (destination, receiver) = dest;
        if gas < receiver.info.min_memo_gas {
            return ok(m, code::LOW);
        }
        let spec = self.spec;
        let Some(me) = self.x.me() else {
            return HostOutcome::Panic;
        };
        let threshold = me.threshold(spec);
        let Some(balance) = me
            .info
            .balance
            .checked_sub(amount)
            .filter(|b| *b >= threshold)
        else {
            return ok(m, code::CASH);
        };
        // `t = ω9` on success only: the gas the receiver gets is paid here. Not
        // enough left is an out-of-gas exit, which discards `x` anyway. (The
        // shared README's "10 + ω9" is the pre-0.7.2 rule; the recorded fuzzer
        // session `no_forks` step 44, a transfer that panics on its memo, fixes
        // that failures cost only 10.)
        let left = m
            .gas()
            .saturating_sub(i64::try_from(gas).unwrap_or(i64::MAX));
        m.set_gas(left);
        if left < 0 {
            return HostOutcome::OutOfGas;
        }
        let source = self.x.service;
        if let Some(me) = self.x.state.account_mut(source) {
            me.info.balance = balance;
        }
        self.x.transfers.push(Transfer {
            source,
            destination,
            amount,
            memo,
            gas,
        });
        ok(m, code::OK)
    }

    /// Ω_J (GP B.7): remove service ω7, whose code hash is the caller's id and
    /// whose only lookup `(μ[ω8..+32], l)` expired, crediting its balance.
    fn eject(&mut self, m: &mut Machine<'_>) -> HostOutcome {
        let Some(h) = hash_at(m, m.reg(8)) else {
            return HostOutcome::Panic;
        };
        let service = self.x.service;
        let Some(d) = service_of(m.reg(7)).filter(|d| *d != service) else {
            return ok(m, code::WHO);
        };
        let Some(a) = self.x.state.account(d) else {
            return ok(m, code::WHO);
        };
        let mut me32 = [0u8; 32];
        me32[..4].copy_from_slice(&service.to_le_bytes());
        if a.info.code_hash != Hash::from(me32) {
            return ok(m, code::WHO);
        }
        let l = a.info.bytes.max(81) - 81;
        let Ok(l) = u32::try_from(l) else {
            return ok(m, code::HUH);
        };
        if a.info.items != 2 {
            return ok(m, code::HUH);
        }
        let expired = match a.lookup(d, &h, l).as_deref() {
            Some([_, y]) => {
                u64::from(*y) + u64::from(self.spec.preimage_expunge_period) < u64::from(self.slot)
            }
            _ => false,
        };
        if !expired {
            return ok(m, code::HUH);
        }
        let credit = a.info.balance;
        self.x.state.accounts.remove(&d);
        if let Some(me) = self.x.state.account_mut(service) {
            me.info.balance = me.info.balance.saturating_add(credit);
        }
        ok(m, code::OK)
    }

    /// Ω_Q (GP B.7): the state of the caller's lookup `(μ[ω7..+32], ω8)` in
    /// `(ω7, ω8)`.
    fn query(&mut self, m: &mut Machine<'_>) -> HostOutcome {
        let Some(h) = hash_at(m, m.reg(7)) else {
            return HostOutcome::Panic;
        };
        let service = self.x.service;
        let entry = u32::try_from(m.reg(8))
            .ok()
            .and_then(|z| self.x.me().and_then(|a| a.lookup(service, &h, z)));
        const HI: u64 = 1 << 32;
        let (r7, r8) = match entry.as_deref() {
            None => (code::NONE, 0),
            Some([]) => (0, 0),
            Some([x]) => (1 + HI * u64::from(*x), 0),
            Some([x, y]) => (2 + HI * u64::from(*x), u64::from(*y)),
            Some([x, y, z, ..]) => (3 + HI * u64::from(*x), u64::from(*y) + HI * u64::from(*z)),
        };
        m.set_reg(7, r7);
        m.set_reg(8, r8);
        HostOutcome::Continue
    }

    /// Ω_S (GP B.7): request preimage `(μ[ω7..+32], ω8)`, or re-request an
    /// unavailable one.
    fn solicit(&mut self, m: &mut Machine<'_>) -> HostOutcome {
        let Some(h) = hash_at(m, m.reg(7)) else {
            return HostOutcome::Panic;
        };
        let Ok(z) = u32::try_from(m.reg(8)) else {
            return ok(m, code::HUH);
        };
        let (spec, slot, service) = (self.spec, self.slot, self.x.service);
        let Some(me) = self.x.me() else {
            return HostOutcome::Panic;
        };
        let mut a = me.clone();
        match a.lookup(service, &h, z).as_deref() {
            None => a.add_lookup(service, &h, z),
            Some(&[x, y]) => a.set_lookup(service, &h, z, &[x, y, slot]),
            Some(_) => return ok(m, code::HUH),
        }
        if a.info.balance < a.threshold(spec) {
            return ok(m, code::FULL);
        }
        self.x.state.accounts.insert(service, Arc::new(a));
        ok(m, code::OK)
    }

    /// Ω_F (GP B.7): forget preimage `(μ[ω7..+32], ω8)`.
    fn forget(&mut self, m: &mut Machine<'_>) -> HostOutcome {
        let Some(h) = hash_at(m, m.reg(7)) else {
            return HostOutcome::Panic;
        };
        let Ok(z) = u32::try_from(m.reg(8)) else {
            return ok(m, code::HUH);
        };
        let (slot, d) = (self.slot, u64::from(self.spec.preimage_expunge_period));
        let service = self.x.service;
        let Some(me) = self.x.state.account_mut(service) else {
            return HostOutcome::Panic;
        };
        let expired = |y: &u32| u64::from(*y) + d < u64::from(slot);
        match me.lookup(service, &h, z).as_deref() {
            Some([]) => me.remove_lookup(service, &h, z),
            Some([_, y]) if expired(y) => me.remove_lookup(service, &h, z),
            Some(&[x]) => me.set_lookup(service, &h, z, &[x, slot]),
            Some(&[_, y, w]) if expired(&y) => me.set_lookup(service, &h, z, &[w, slot]),
            _ => return ok(m, code::HUH),
        }
        ok(m, code::OK)
    }

    /// Ω_Aries (GP B.7): provide `μ[ω8..+ω9]` to service ω7, which must await it.
    fn provide(&mut self, m: &mut Machine<'_>) -> HostOutcome {
        let Some(data) = read_memory(m, m.reg(8), m.reg(9)) else {
            return HostOutcome::Panic;
        };
        let w = m.reg(7);
        let target = if w == u64::MAX {
            Some(self.x.service)
        } else {
            service_of(w)
        };
        let Some((s, a)) = target.and_then(|s| self.x.state.account(s).map(|a| (s, a))) else {
            return ok(m, code::WHO);
        };
        let Ok(z) = u32::try_from(data.len()) else {
            return ok(m, code::HUH);
        };
        let awaited = a
            .lookup(s, &blake2b_256(&data), z)
            .is_some_and(|t| t.is_empty());
        if !awaited || !self.x.provided.insert((s, data)) {
            return ok(m, code::HUH);
        }
        ok(m, code::OK)
    }
}

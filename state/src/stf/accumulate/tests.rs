//! Host-call unit tests from the GP v0.7.2 definitions (appendix B.6–B.7): each
//! call runs on a bare machine with one writable scratch region, and the expected
//! registers, gas and state follow the GP's case analysis.

use std::sync::Arc;

use tessera_core::hash::{blake2b_256, Hash};
use tessera_core::spec::ChainSpec;
use tessera_pvm::{Access, HostCalls, HostOutcome, Machine, Memory, Program};

use super::host::{AccumulateHost, Implications};
use super::partial::PartialState;
use crate::host::{code, id};
use crate::sigma::accounts::ServiceAccount;
use crate::sigma::accounts::ServiceInfo;

const SCRATCH: u32 = 0x2_0000;
const ME: u32 = 1000;
const OTHER: u32 = 2000;

fn account(balance: u64) -> ServiceAccount {
    ServiceAccount {
        info: ServiceInfo {
            version: 0,
            code_hash: Hash::default(),
            balance,
            min_item_gas: 0,
            min_memo_gas: 5,
            bytes: 0,
            deposit_offset: 0,
            items: 0,
            creation_slot: 0,
            last_accumulation_slot: 0,
            parent_service: 0,
        },
        items: Default::default(),
    }
}

fn state() -> PartialState {
    let mut e = PartialState::default();
    e.accounts.insert(ME, Arc::new(account(1_000_000)));
    e.accounts.insert(OTHER, Arc::new(account(500)));
    e.privileges.assigners = vec![0, 0];
    e
}

fn program() -> Program {
    // One `trap`: the host tests never run code.
    Program::from_blob(&Program::encode_blob(&[], &[0], &[true])).expect("trap program")
}

fn machine(program: &Program, gas: i64) -> Machine<'_> {
    let mut memory = Memory::new();
    memory.set_range_access(SCRATCH, 0x1_0000, Access::Writable);
    Machine::new(program, 0, gas, [0; 13], memory)
}

struct Fixture {
    spec: ChainSpec,
    x: Implications,
}

impl Fixture {
    fn new() -> Self {
        let spec = ChainSpec::tiny();
        let x = Implications::new(&spec, state(), ME, &Hash::default(), 100);
        Fixture { spec, x }
    }

    /// Run call `call` with registers `regs` (ω7, ω8, …) on a machine whose scratch
    /// region starts with `mem`.
    fn call(&mut self, call: u64, regs: &[u64], mem: &[u8]) -> (HostOutcome, Vec<u64>, i64) {
        let program = program();
        let mut m = machine(&program, 1000);
        m.memory.poke(SCRATCH, mem);
        for (i, r) in regs.iter().enumerate() {
            m.set_reg(7 + i, *r);
        }
        let mut host = AccumulateHost {
            spec: &self.spec,
            slot: 100,
            entropy: Hash::default(),
            inputs: &[],
            x: self.x.clone(),
            y: self.x.clone(),
        };
        let outcome = host.host_call(call, &mut m);
        self.x = host.x;
        (outcome, (7..13).map(|i| m.reg(i)).collect(), m.gas())
    }

    fn me(&self) -> &ServiceAccount {
        self.x.state.account(ME).expect("caller exists")
    }
}

const S: u64 = SCRATCH as u64;

#[test]
fn every_call_costs_ten_and_unknown_is_what() {
    let mut f = Fixture::new();
    let (o, r, gas) = f.call(77, &[], &[]);
    assert_eq!(o, HostOutcome::Continue);
    assert_eq!(r[0], code::WHAT);
    assert_eq!(gas, 990);
    // Each fixture call starts from 1000 gas; ω7 is what is left after the 10.
    let (_, r, gas) = f.call(id::GAS, &[], &[]);
    assert_eq!((r[0], gas), (990, 990));
}

#[test]
fn too_little_gas_is_out_of_gas() {
    let f = Fixture::new();
    let program = program();
    let mut m = machine(&program, 9);
    let spec = f.spec.clone();
    let mut host = AccumulateHost {
        spec: &spec,
        slot: 100,
        entropy: Hash::default(),
        inputs: &[],
        x: f.x.clone(),
        y: f.x.clone(),
    };
    assert_eq!(host.host_call(id::GAS, &mut m), HostOutcome::OutOfGas);
}

#[test]
fn write_then_read_tracks_footprint() {
    let mut f = Fixture::new();
    // key "k" at S, value "value" at S+16.
    let mut mem = vec![0u8; 64];
    mem[0] = b'k';
    mem[16..21].copy_from_slice(b"value");
    let (_, r, _) = f.call(id::WRITE, &[S, 1, S + 16, 5], &mem);
    assert_eq!(r[0], code::NONE, "no previous value");
    assert_eq!(f.me().info.items, 1);
    assert_eq!(f.me().info.bytes, 34 + 1 + 5);
    // Read it back into S+32, from offset 1, at most 3 octets.
    let (_, r, _) = f.call(id::READ, &[u64::MAX, S, 1, S + 32, 1, 3], &mem);
    assert_eq!(r[0], 5);
    // Overwrite: ω7 is the previous length; removing restores the footprint.
    let (_, r, _) = f.call(id::WRITE, &[S, 1, S + 16, 2], &mem);
    assert_eq!(r[0], 5);
    let (_, r, _) = f.call(id::WRITE, &[S, 1, 0, 0], &mem);
    assert_eq!(r[0], 2);
    assert_eq!((f.me().info.items, f.me().info.bytes), (0, 0));
}

#[test]
fn read_slice_lands_in_memory() {
    let mut f = Fixture::new();
    if let Some(a) = f.x.state.account_mut(ME) {
        a.set_storage(ME, b"k", b"value".to_vec());
    }
    let program = program();
    let mut m = machine(&program, 100);
    m.memory.poke(SCRATCH, b"k");
    for (i, r) in [u64::MAX, S, 1, S + 32, 1, 3].iter().enumerate() {
        m.set_reg(7 + i, *r);
    }
    let spec = f.spec.clone();
    let mut host = AccumulateHost {
        spec: &spec,
        slot: 100,
        entropy: Hash::default(),
        inputs: &[],
        x: f.x.clone(),
        y: f.x.clone(),
    };
    assert_eq!(host.host_call(id::READ, &mut m), HostOutcome::Continue);
    let mut out = [0u8; 4];
    m.memory.peek(SCRATCH + 32, &mut out);
    assert_eq!(&out, b"alu\0");
}

#[test]
fn write_beyond_balance_is_full() {
    let mut f = Fixture::new();
    if let Some(a) = f.x.state.account_mut(ME) {
        a.info.balance = f.spec.balance_per_service;
    }
    let (_, r, _) = f.call(id::WRITE, &[S, 1, S, 4], &[1, 2, 3, 4]);
    assert_eq!(r[0], code::FULL);
    assert!(f.me().items.is_empty());
}

#[test]
fn unreadable_arguments_panic() {
    let mut f = Fixture::new();
    // Key beyond the scratch region, beyond 2^32, and a huge length.
    assert_eq!(
        f.call(id::READ, &[u64::MAX, 0x1000, 4, S], &[]).0,
        HostOutcome::Panic
    );
    assert_eq!(
        f.call(id::WRITE, &[1 << 40, 4, S, 4], &[]).0,
        HostOutcome::Panic
    );
    assert_eq!(
        f.call(id::WRITE, &[S, u64::MAX, S, 4], &[]).0,
        HostOutcome::Panic
    );
    assert_eq!(
        f.call(id::BLESS, &[0, S, 0, 0, S, u64::MAX], &[]).0,
        HostOutcome::Panic
    );
    assert_eq!(
        f.call(id::PROVIDE, &[u64::MAX, S, 1 << 33], &[]).0,
        HostOutcome::Panic
    );
}

#[test]
fn transfer_checks_who_low_cash_and_charges_its_gas() {
    let mut f = Fixture::new();
    let memo = vec![7u8; 128];
    let (_, r, _) = f.call(id::TRANSFER, &[9999, 1, 5, S], &memo);
    assert_eq!(r[0], code::WHO);
    let (_, r, _) = f.call(id::TRANSFER, &[u64::from(OTHER), 1, 4, S], &memo);
    assert_eq!(r[0], code::LOW);
    let (_, r, _) = f.call(id::TRANSFER, &[u64::from(OTHER), 999_999, 5, S], &memo);
    assert_eq!(r[0], code::CASH);
    let (o, r, gas) = f.call(id::TRANSFER, &[u64::from(OTHER), 100, 50, S], &memo);
    assert_eq!(
        (o, r[0], gas),
        (HostOutcome::Continue, code::OK, 1000 - 10 - 50)
    );
    assert_eq!(f.me().info.balance, 1_000_000 - 100);
    assert_eq!(f.x.transfers.len(), 1);
    assert_eq!(f.x.transfers[0].memo, memo);
    // Gas for the transfer beyond what is left: out of gas.
    assert_eq!(
        f.call(id::TRANSFER, &[u64::from(OTHER), 1, 991, S], &memo)
            .0,
        HostOutcome::OutOfGas
    );
}

#[test]
fn solicit_query_forget_follow_the_lookup_lifecycle() {
    let mut f = Fixture::new();
    let h = [3u8; 32];
    let hh = Hash::from(h);
    let (_, r, _) = f.call(id::QUERY, &[S, 10], &h);
    assert_eq!((r[0], r[1]), (code::NONE, 0));
    let (_, r, _) = f.call(id::SOLICIT, &[S, 10], &h);
    assert_eq!(r[0], code::OK);
    assert_eq!(f.me().lookup(ME, &hh, 10), Some(vec![]));
    assert_eq!((f.me().info.items, f.me().info.bytes), (2, 81 + 10));
    // Soliciting again while requested: HUH.
    assert_eq!(f.call(id::SOLICIT, &[S, 10], &h).1[0], code::HUH);
    let (_, r, _) = f.call(id::QUERY, &[S, 10], &h);
    assert_eq!((r[0], r[1]), (0, 0));
    // [x] → [x, t].
    if let Some(a) = f.x.state.account_mut(ME) {
        a.set_lookup(ME, &hh, 10, &[7]);
    }
    assert_eq!(f.call(id::FORGET, &[S, 10], &h).1[0], code::OK);
    assert_eq!(f.me().lookup(ME, &hh, 10), Some(vec![7, 100]));
    let (_, r, _) = f.call(id::QUERY, &[S, 10], &h);
    assert_eq!((r[0], r[1]), (2 + (7u64 << 32), 100));
    // [x, y] not yet expired (y + D ≥ t): HUH; expired: removed.
    assert_eq!(f.call(id::FORGET, &[S, 10], &h).1[0], code::HUH);
    if let Some(a) = f.x.state.account_mut(ME) {
        a.set_lookup(ME, &hh, 10, &[7, 8]);
    }
    assert_eq!(f.call(id::FORGET, &[S, 10], &h).1[0], code::OK);
    assert_eq!(f.me().lookup(ME, &hh, 10), None);
    assert!(f.me().items.is_empty());
    assert_eq!((f.me().info.items, f.me().info.bytes), (0, 0));
}

#[test]
fn new_service_takes_the_next_id_and_deposit() {
    let mut f = Fixture::new();
    let first = f.x.next_id;
    let h = [9u8; 32];
    let (_, r, _) = f.call(id::NEW, &[S, 100, 1, 2, 0, 0], &h);
    assert_eq!(r[0], u64::from(first));
    let new = f.x.state.account(first).expect("created").clone();
    let deposit =
        f.spec.balance_per_service + 2 * f.spec.balance_per_item + 181 * f.spec.balance_per_octet;
    assert_eq!(new.info.balance, deposit);
    assert_eq!(new.info.parent_service, ME);
    assert_eq!(new.lookup(first, &Hash::from(h), 100), Some(vec![]));
    assert_eq!((new.info.items, new.info.bytes), (2, 81 + 100));
    assert_eq!(f.me().info.balance, 1_000_000 - deposit);
    assert_ne!(f.x.next_id, first);
    // Gratis storage needs the manager.
    assert_eq!(f.call(id::NEW, &[S, 100, 1, 2, 5, 0], &h).1[0], code::HUH);
    // A caller that cannot pay: CASH.
    if let Some(a) = f.x.state.account_mut(ME) {
        a.info.balance = 10;
    }
    assert_eq!(f.call(id::NEW, &[S, 100, 1, 2, 0, 0], &h).1[0], code::CASH);
}

#[test]
fn eject_needs_our_code_hash_and_an_expired_lookup() {
    let mut f = Fixture::new();
    let h = Hash::from([4u8; 32]);
    let mut ours = [0u8; 32];
    ours[..4].copy_from_slice(&ME.to_le_bytes());
    assert_eq!(
        f.call(id::EJECT, &[u64::from(OTHER), S], &h.0).1[0],
        code::WHO
    );
    if let Some(a) = f.x.state.account_mut(OTHER) {
        a.info.code_hash = Hash::from(ours);
        a.add_lookup(OTHER, &h, 50);
        a.set_lookup(OTHER, &h, 50, &[1, 90]);
    }
    // y = 90, D = 32 (tiny): 90 + 32 ≥ 100, not expired.
    assert_eq!(
        f.call(id::EJECT, &[u64::from(OTHER), S], &h.0).1[0],
        code::HUH
    );
    if let Some(a) = f.x.state.account_mut(OTHER) {
        a.set_lookup(OTHER, &h, 50, &[1, 60]);
    }
    assert_eq!(
        f.call(id::EJECT, &[u64::from(OTHER), S], &h.0).1[0],
        code::OK
    );
    assert!(f.x.state.account(OTHER).is_none());
    assert_eq!(f.me().info.balance, 1_000_500);
    assert_eq!(f.call(id::EJECT, &[u64::from(ME), S], &h.0).1[0], code::WHO);
}

#[test]
fn provide_needs_an_awaited_preimage_once() {
    let mut f = Fixture::new();
    let data = b"hello".to_vec();
    assert_eq!(
        f.call(id::PROVIDE, &[u64::from(OTHER), S, 5], &data).1[0],
        code::HUH
    );
    if let Some(a) = f.x.state.account_mut(OTHER) {
        a.add_lookup(OTHER, &blake2b_256(&data), 5);
    }
    assert_eq!(
        f.call(id::PROVIDE, &[u64::from(OTHER), S, 5], &data).1[0],
        code::OK
    );
    assert_eq!(
        f.call(id::PROVIDE, &[u64::from(OTHER), S, 5], &data).1[0],
        code::HUH
    );
    assert_eq!(f.call(id::PROVIDE, &[4242, S, 5], &data).1[0], code::WHO);
}

#[test]
fn privileged_calls_check_their_holder() {
    let mut f = Fixture::new();
    assert_eq!(f.call(id::DESIGNATE, &[S], &[]).1[0], code::HUH);
    assert_eq!(f.call(id::ASSIGN, &[0, S, 5], &[]).1[0], code::HUH);
    assert_eq!(f.call(id::ASSIGN, &[7, S, 5], &[]).1[0], code::CORE);
    f.x.state.privileges.assigners[1] = ME;
    assert_eq!(f.call(id::ASSIGN, &[1, S, 5], &[]).1[0], code::OK);
    assert_eq!(f.x.state.privileges.assigners[1], 5);
    assert_eq!(f.x.state.auth_queues[1].len(), 80);
    // Bless: WHO for an id beyond 32 bits, OK otherwise.
    assert_eq!(
        f.call(id::BLESS, &[1 << 40, S, 0, 0, S, 0], &[]).1[0],
        code::WHO
    );
    let mut z = vec![0u8; 8];
    z.extend_from_slice(&[7, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(
        f.call(id::BLESS, &[3, S, 4, 5, S + 8, 1], &z).1[0],
        code::OK
    );
    let p = &f.x.state.privileges;
    assert_eq!((p.manager, p.delegator, p.registrar), (3, 4, 5));
    assert_eq!(p.always_accumulate.get(&7), Some(&9));
}

#[test]
fn checkpoint_copies_the_regular_context() {
    let f = Fixture::new();
    let program = program();
    let mut m = machine(&program, 1000);
    let spec = f.spec.clone();
    let mut x = f.x.clone();
    x.yielded = Some(Hash::from([1u8; 32]));
    let mut host = AccumulateHost {
        spec: &spec,
        slot: 100,
        entropy: Hash::default(),
        inputs: &[],
        x,
        y: f.x.clone(),
    };
    assert_eq!(
        host.host_call(id::CHECKPOINT, &mut m),
        HostOutcome::Continue
    );
    assert_eq!(host.y, host.x);
    assert_eq!(m.reg(7), 990);
}

/// GP 12.19's `d'`: own accounts and created ones replace the prior, removed ones
/// go, and one id created by two services of a batch is reported (B.10's note:
/// the block is invalid).
#[test]
fn merged_accounts_and_duplicate_creations() {
    use super::invocation::merge_accounts;
    use std::collections::BTreeMap;
    let prior = state().accounts;
    const NEW: u32 = 70_000;
    let mut by_me = prior.clone();
    by_me.insert(ME, Arc::new(account(1)));
    by_me.insert(NEW, Arc::new(account(7)));
    let mut by_other = prior.clone();
    by_other.remove(&ME);
    let merged = merge_accounts(&prior, [(ME, &by_me), (OTHER, &by_other)]).expect("no clash");
    assert_eq!(merged.keys().copied().collect::<Vec<_>>(), [OTHER, NEW]);
    assert_eq!(merged[&NEW].info.balance, 7);

    let mut also_new = prior.clone();
    also_new.insert(NEW, Arc::new(account(9)));
    let posts: BTreeMap<u32, _> = [(ME, &by_me), (OTHER, &also_new)].into_iter().collect();
    assert_eq!(merge_accounts(&prior, posts), Err(NEW));
}

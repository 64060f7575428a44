//! Refine unit tests from the GP v0.7.2 definitions (pvm_invocations.tex: Ψ_R, the
//! general functions of B.6 and the refine functions of B.8; the work-report
//! computation's `I(p, j)`). There are no public vectors for refinement, so every
//! expectation is worked out by hand from those definitions: register values,
//! result codes, gas (1 per instruction, 10 per host call) and memory contents.

use std::cell::RefCell;

use tessera_core::bytes::Bytes;
use tessera_core::codec::Encode;
use tessera_core::hash::{blake2b_256, Hash};
use tessera_core::spec::ChainSpec;
use tessera_core::types::{
    ExtrinsicSpec, ImportSpec, RefineContext, ServiceId, TimeSlot, WorkExecResult, WorkItem,
    WorkPackage,
};
use tessera_pvm::{Access, HostCalls, HostOutcome, Machine, Memory, Opcode, Program};

use super::guest::inner;
use super::host::RefineHost;
use super::{psi_r, refine_items, HistoricalLookup, RefineError, Refinement};
use crate::host::{code, id};

// ---------------------------------------------------------------------------
// Fixture
// ---------------------------------------------------------------------------

/// The outer machine's writable scratch region, `[SCRATCH, SCRATCH + 0x10000)`.
const SCRATCH: u64 = 0x2_0000;
/// A read-only page of the outer machine.
const READ_ONLY: u64 = 0x3_0000;
/// An address no page of the outer machine covers.
const UNMAPPED: u64 = 0x5_0000;
const SERVICE: ServiceId = 100;
const OTHER: ServiceId = 200;
const ANCHOR_SLOT: TimeSlot = 42;
const CORE: u16 = 3;
/// The item the host-call tests refine, and its export offset ς.
const ITEM: usize = 1;
const OFFSET: u64 = 7;
const W_G: usize = 4104;

/// Λ over a fixed table: `(service, hash) → preimage`, answering only at the
/// lookup-anchor slot so a wrong `t` shows up as ∅; every query is recorded.
#[derive(Default)]
struct Lookup {
    table: Vec<(ServiceId, Hash, Vec<u8>)>,
    queries: RefCell<Vec<(ServiceId, TimeSlot, Hash)>>,
}

impl HistoricalLookup for Lookup {
    fn historical_lookup(
        &self,
        service: ServiceId,
        slot: TimeSlot,
        hash: &Hash,
    ) -> Option<Vec<u8>> {
        self.queries.borrow_mut().push((service, slot, *hash));
        if slot != ANCHOR_SLOT {
            return None;
        }
        self.table
            .iter()
            .find(|(s, h, _)| *s == service && h == hash)
            .map(|(_, _, v)| v.clone())
    }
}

fn item(service: ServiceId, code_hash: Hash, gas: u64, exports: u16, payload: &[u8]) -> WorkItem {
    WorkItem {
        service,
        code_hash,
        refine_gas_limit: gas,
        accumulate_gas_limit: 5,
        export_count: exports,
        payload: Bytes(payload.to_vec()),
        import_segments: vec![ImportSpec {
            tree_root: Hash::from([7; 32]),
            index: 0,
        }],
        extrinsic: vec![
            ExtrinsicSpec {
                hash: Hash::from([8; 32]),
                len: 2,
            },
            ExtrinsicSpec {
                hash: Hash::from([9; 32]),
                len: 3,
            },
        ],
    }
}

fn package(items: Vec<WorkItem>) -> WorkPackage {
    WorkPackage {
        auth_code_host: 1,
        auth_code_hash: Hash::from([1; 32]),
        context: RefineContext {
            anchor: Hash::from([2; 32]),
            state_root: Hash::from([3; 32]),
            beefy_root: Hash::from([4; 32]),
            lookup_anchor: Hash::from([5; 32]),
            lookup_anchor_slot: ANCHOR_SLOT,
            prerequisites: vec![],
        },
        authorization: Bytes(b"token".to_vec()),
        authorizer_config: Bytes(b"config".to_vec()),
        items,
    }
}

struct Fixture {
    spec: ChainSpec,
    package: WorkPackage,
    trace: Vec<u8>,
    imports: Vec<Vec<Vec<u8>>>,
    extrinsics: Vec<Vec<Vec<u8>>>,
    lookup: Lookup,
}

impl Fixture {
    /// Two items; item 1 (the one host-call tests refine) has a known summary.
    fn new() -> Self {
        let mut second = item(
            0x0102_0304,
            Hash::from([0xAA; 32]),
            0x1122_3344_5566_7788,
            2,
            b"xyz",
        );
        second.import_segments.push(ImportSpec {
            tree_root: Hash::from([6; 32]),
            index: 1,
        });
        Fixture {
            spec: ChainSpec::tiny(),
            package: package(vec![
                item(SERVICE, Hash::from([0xBB; 32]), 1000, 1, b"ab"),
                second,
            ]),
            trace: b"auth-trace".to_vec(),
            imports: vec![
                vec![vec![0x10; W_G]],
                vec![vec![0x20; W_G], vec![0x21; W_G]],
            ],
            extrinsics: vec![
                vec![b"e0".to_vec(), b"e01".to_vec()],
                vec![b"f0".to_vec(), b"f01".to_vec()],
            ],
            lookup: Lookup::default(),
        }
    }

    fn refinement(&self) -> Refinement<'_> {
        Refinement {
            spec: &self.spec,
            core: CORE,
            package: &self.package,
            auth_trace: &self.trace,
            imports: &self.imports,
            extrinsics: &self.extrinsics,
            lookup: &self.lookup,
        }
    }
}

// ---------------------------------------------------------------------------
// Hand assembly
// ---------------------------------------------------------------------------

/// A program blob (A.2) of the given instructions, each starting with its opcode.
fn blob(instrs: &[Vec<u8>]) -> Vec<u8> {
    let mut code = Vec::new();
    let mut starts = Vec::new();
    for i in instrs {
        code.extend_from_slice(i);
        starts.push(true);
        starts.extend(std::iter::repeat_n(false, i.len() - 1));
    }
    Program::encode_blob(&[], &code, &starts)
}

fn trap() -> Vec<u8> {
    vec![Opcode::Trap.code()]
}

/// `ecalli id` (one-octet immediate, id < 128).
fn ecalli(id: u8) -> Vec<u8> {
    vec![Opcode::Ecalli.code(), id]
}

/// `load_imm_64 ω_r, v` (10 octets, no sign extension).
fn load_imm64(r: u8, v: u64) -> Vec<u8> {
    let mut out = vec![Opcode::LoadImm64.code(), r];
    out.extend_from_slice(&v.to_le_bytes());
    out
}

/// `jump_ind ω_r + 0`: halts when ω_r = 2^32 − 2^16.
fn jump_ind(r: u8) -> Vec<u8> {
    vec![Opcode::JumpInd.code(), r]
}

/// `load_u8 ω_r, [addr]` (4-octet immediate; addr < 2^31).
fn load_u8(r: u8, addr: u32) -> Vec<u8> {
    let mut out = vec![Opcode::LoadU8.code(), r];
    out.extend_from_slice(&addr.to_le_bytes());
    out
}

/// `store_u64 [addr], ω_r` (4-octet immediate; addr < 2^31).
fn store_u64(r: u8, addr: u32) -> Vec<u8> {
    let mut out = vec![Opcode::StoreU64.code(), r];
    out.extend_from_slice(&addr.to_le_bytes());
    out
}

const HALT_ADDRESS: u64 = 0xFFFF_0000;
/// Where Y puts the arguments: `2^32 − Z_Z − Z_I`.
const ARGS_AT: u64 = (1 << 32) - (1 << 16) - (1 << 24);
/// Where Y puts the RW data (and heap) of a program without RO data: `2·Z_Z`.
const HEAP_AT: u64 = 0x2_0000;

/// A standard program (A.7): no RO or RW data, `heap_pages` heap pages, a
/// 4096-octet stack, and `code` (a program blob).
fn standard(code: &[u8], heap_pages: u16) -> Vec<u8> {
    let mut p = vec![0, 0, 0, 0, 0, 0];
    p.extend_from_slice(&heap_pages.to_le_bytes());
    p.extend_from_slice(&[0, 0x10, 0]);
    p.extend_from_slice(&u32::try_from(code.len()).unwrap().to_le_bytes());
    p.extend_from_slice(code);
    p
}

/// `E(↕z, c)` with metadata `z = "meta"`.
fn with_metadata(program: &[u8]) -> Vec<u8> {
    let mut out = vec![4];
    out.extend_from_slice(b"meta");
    out.extend_from_slice(program);
    out
}

// ---------------------------------------------------------------------------
// Host-call harness
// ---------------------------------------------------------------------------

fn outer_memory() -> Memory {
    let mut memory = Memory::new();
    memory.set_access(0x2_0000, 16, Access::Writable);
    memory.set_access(0x3_0000, 1, Access::ReadOnly);
    memory
}

/// The outer machine host calls act on: a one-`trap` program (never run).
fn trap_program() -> Program {
    Program::from_blob(&blob(&[trap()])).expect("trap program")
}

fn outer(program: &Program, gas: i64) -> Machine<'_> {
    Machine::new(program, 0, gas, [0; 13], outer_memory())
}

/// Set ω7, ω8, … to `regs` and make call `call`.
fn call(host: &mut RefineHost<'_>, m: &mut Machine<'_>, call: u64, regs: &[u64]) -> HostOutcome {
    for (i, r) in regs.iter().enumerate() {
        m.set_reg(7 + i, *r);
    }
    host.host_call(call, m)
}

fn peek_outer(m: &Machine<'_>, addr: u64, len: usize) -> Vec<u8> {
    let mut buf = vec![0u8; len];
    m.memory.peek(u32::try_from(addr).unwrap(), &mut buf);
    buf
}

fn poke_outer(m: &mut Machine<'_>, addr: u64, data: &[u8]) {
    m.memory.poke(u32::try_from(addr).unwrap(), data);
}

// ---------------------------------------------------------------------------
// gas, unknown calls, log
// ---------------------------------------------------------------------------

#[test]
fn gas_returns_what_is_left_after_its_own_cost() {
    let f = Fixture::new();
    let r = f.refinement();
    let mut h = RefineHost::new(&r, ITEM, OFFSET);
    let p = trap_program();
    let mut m = outer(&p, 1000);
    assert_eq!(call(&mut h, &mut m, id::GAS, &[]), HostOutcome::Continue);
    assert_eq!((m.reg(7), m.gas()), (990, 990));
    // ϱ < 10: out of gas.
    let mut m = outer(&p, 9);
    assert_eq!(call(&mut h, &mut m, id::GAS, &[]), HostOutcome::OutOfGas);
    // ϱ = 10 is enough, leaving 0.
    let mut m = outer(&p, 10);
    assert_eq!(call(&mut h, &mut m, id::GAS, &[]), HostOutcome::Continue);
    assert_eq!(m.reg(7), 0);
}

#[test]
fn calls_refine_does_not_define_are_what() {
    let f = Fixture::new();
    let r = f.refinement();
    let mut h = RefineHost::new(&r, ITEM, OFFSET);
    let p = trap_program();
    // lookup, read, write, info, the accumulate calls and an unassigned id.
    for n in [2, 3, 4, 5, 14, 17, 20, 26, 99, 1 << 40] {
        let mut m = outer(&p, 100);
        assert_eq!(call(&mut h, &mut m, n, &[5, 6]), HostOutcome::Continue);
        assert_eq!((m.reg(7), m.reg(8), m.gas()), (code::WHAT, 6, 90), "id {n}");
    }
    let mut m = outer(&p, 5);
    assert_eq!(call(&mut h, &mut m, 99, &[]), HostOutcome::OutOfGas);
}

#[test]
fn log_has_no_effect() {
    let f = Fixture::new();
    let r = f.refinement();
    let mut h = RefineHost::new(&r, ITEM, OFFSET);
    let p = trap_program();
    let mut m = outer(&p, 100);
    let regs = [1, SCRATCH, 0, SCRATCH, 4];
    assert_eq!(call(&mut h, &mut m, id::LOG, &regs), HostOutcome::Continue);
    assert_eq!((m.reg(7), m.reg(11), m.gas()), (1, 4, 90));
}

// ---------------------------------------------------------------------------
// fetch
// ---------------------------------------------------------------------------

/// Fetch kind `kind` (selectors a, b) in full into SCRATCH: (ω7, the octets).
fn fetch_all(kind: u64, a: u64, b: u64) -> (u64, Vec<u8>) {
    let f = Fixture::new();
    let r = f.refinement();
    let mut h = RefineHost::new(&r, ITEM, OFFSET);
    let p = trap_program();
    let mut m = outer(&p, 100);
    let out = call(&mut h, &mut m, id::FETCH, &[SCRATCH, 0, 0x8000, kind, a, b]);
    assert_eq!(out, HostOutcome::Continue);
    let r7 = m.reg(7);
    let len = if r7 == code::NONE {
        0
    } else {
        usize::try_from(r7).unwrap()
    };
    (r7, peek_outer(&m, SCRATCH, len))
}

/// `S(w)` of item 1, written out from the GP's definition and the fixture.
fn item_1_summary() -> Vec<u8> {
    let mut s = vec![0x04, 0x03, 0x02, 0x01]; // E_4(w_s)
    s.extend_from_slice(&[0xAA; 32]); // w_c
    s.extend_from_slice(&[0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11]); // E_8(w_g)
    s.extend_from_slice(&[5, 0, 0, 0, 0, 0, 0, 0]); // E_8(w_a)
    s.extend_from_slice(&[2, 0, 2, 0, 2, 0]); // E_2(w_e, |w_i|, |w_x|)
    s.extend_from_slice(&[3, 0, 0, 0]); // E_4(|w_y|)
    s
}

#[test]
fn fetch_kinds_of_the_refine_context() {
    let f = Fixture::new();
    let check = |kind, a, b, want: &[u8]| {
        let (r7, got) = fetch_all(kind, a, b);
        assert_eq!(r7, u64::try_from(want.len()).unwrap(), "kind {kind}");
        assert_eq!(got, want, "kind {kind}");
    };
    // 1: n = H_0 in refine; 2: the authorizer trace.
    check(1, 0, 0, &[0; 32]);
    check(2, 0, 0, b"auth-trace");
    // 3: x̄[ω11][ω12]; 4: x̄[i][ω11] with i = 1.
    check(3, 0, 1, b"e01");
    check(4, 0, 0, b"f0");
    // 5: ī[ω11][ω12]; 6: ī[i][ω11].
    check(5, 0, 0, &[0x10; W_G]);
    check(6, 1, 0, &[0x21; W_G]);
    // 7: E(p); 8: p_f; 9: p_j; 10: E(p_c).
    check(7, 0, 0, &f.package.encode());
    check(8, 0, 0, b"config");
    check(9, 0, 0, b"token");
    check(10, 0, 0, &f.package.context.encode());
    // 12: S(p_w[ω11]); 13: p_w[ω11]_y.
    check(12, 1, 0, &item_1_summary());
    check(13, 0, 0, b"ab");
    check(13, 1, 0, b"xyz");
    // 11: E(↕[S(w)]): a compact length then each summary.
    let (r7, all) = fetch_all(11, 0, 0);
    assert_eq!(r7, 1 + 2 * 62);
    assert_eq!(all.first(), Some(&2));
    assert_eq!(&all[63..], &item_1_summary()[..]);
    // 0: the constants blob starts with E_8(B_I) and has GP's 134 octets.
    let (r7, c) = fetch_all(0, 0, 0);
    assert_eq!(r7, 134);
    assert_eq!(c[..8], f.spec.balance_per_item.to_le_bytes());
}

#[test]
fn fetch_out_of_range_and_undefined_kinds_are_none() {
    for (kind, a, b) in [
        (3, 2, 0),
        (3, 0, 2),
        (4, 2, 0),
        (5, 1, 2),
        (6, 2, 0),
        (12, 2, 0),
        (13, u64::MAX, 0),
        (14, 0, 0),
        (15, 0, 0),
        (16, 0, 0),
        (u64::MAX, 0, 0),
    ] {
        assert_eq!(
            fetch_all(kind, a, b).0,
            code::NONE,
            "kind {kind} ({a}, {b})"
        );
    }
}

#[test]
fn fetch_slices_and_panics_on_an_unwritable_destination() {
    let f = Fixture::new();
    let r = f.refinement();
    let mut h = RefineHost::new(&r, ITEM, OFFSET);
    let p = trap_program();
    // v = "auth-trace" (10): f = min(5, 10) = 5, l = min(3, 5) = 3 → "tra".
    let mut m = outer(&p, 100);
    poke_outer(&mut m, SCRATCH, &[0xEE; 4]);
    assert_eq!(
        call(&mut h, &mut m, id::FETCH, &[SCRATCH, 5, 3, 2]),
        HostOutcome::Continue
    );
    assert_eq!(m.reg(7), 10);
    assert_eq!(peek_outer(&m, SCRATCH, 4), b"tra\xEE");
    // f beyond |v|: f = 10, l = 0 → nothing written, ω7 = |v|.
    assert_eq!(
        call(&mut h, &mut m, id::FETCH, &[UNMAPPED, 99, 3, 2]),
        HostOutcome::Continue
    );
    assert_eq!(m.reg(7), 10);
    // l = 3 octets into a read-only page → ☇, ω7 unchanged.
    let mut m = outer(&p, 100);
    assert_eq!(
        call(&mut h, &mut m, id::FETCH, &[READ_ONLY, 0, 3, 2]),
        HostOutcome::Panic
    );
    assert_eq!(m.reg(7), READ_ONLY);
    // ∅ needs no writable destination: l = 0.
    let mut m = outer(&p, 100);
    assert_eq!(
        call(&mut h, &mut m, id::FETCH, &[UNMAPPED, 0, 3, 14]),
        HostOutcome::Continue
    );
    assert_eq!(m.reg(7), code::NONE);
}

// ---------------------------------------------------------------------------
// historical_lookup
// ---------------------------------------------------------------------------

#[test]
fn historical_lookup_cases() {
    let mut f = Fixture::new();
    let h_own = Hash::from([0x11; 32]);
    let h_other = Hash::from([0x22; 32]);
    f.lookup.table = vec![
        (0x0102_0304, h_own, b"own preimage".to_vec()),
        (OTHER, h_other, b"other".to_vec()),
    ];
    let r = f.refinement();
    let mut h = RefineHost::new(&r, ITEM, OFFSET);
    let p = trap_program();
    let hash_at = SCRATCH;
    let out_at = SCRATCH + 0x100;

    // ω7 = 2^64 − 1: the item's own service (0x01020304), at the anchor slot.
    let mut m = outer(&p, 100);
    poke_outer(&mut m, hash_at, &h_own.0);
    let regs = [u64::MAX, hash_at, out_at, 4, 100];
    assert_eq!(
        call(&mut h, &mut m, id::HISTORICAL_LOOKUP, &regs),
        HostOutcome::Continue
    );
    assert_eq!((m.reg(7), m.gas()), (12, 90));
    assert_eq!(peek_outer(&m, out_at, 8), b"preimage");
    assert_eq!(
        f.lookup.queries.borrow().last(),
        Some(&(0x0102_0304, ANCHOR_SLOT, h_own))
    );

    // Another service by id.
    poke_outer(&mut m, hash_at, &h_other.0);
    let regs = [u64::from(OTHER), hash_at, out_at, 0, 2];
    call(&mut h, &mut m, id::HISTORICAL_LOOKUP, &regs);
    assert_eq!(m.reg(7), 5);
    assert_eq!(peek_outer(&m, out_at, 2), b"ot");

    // Unknown hash, unknown service, or ω7 not a service id: NONE.
    for service in [u64::from(OTHER) + 1, 1 << 32] {
        let regs = [service, hash_at, out_at, 0, 2];
        call(&mut h, &mut m, id::HISTORICAL_LOOKUP, &regs);
        assert_eq!(m.reg(7), code::NONE);
    }
    poke_outer(&mut m, hash_at, &[0x33; 32]);
    let regs = [u64::MAX, hash_at, out_at, 0, 2];
    call(&mut h, &mut m, id::HISTORICAL_LOOKUP, &regs);
    assert_eq!(m.reg(7), code::NONE);

    // Hash not readable → ☇ (before any lookup).
    let regs = [u64::MAX, UNMAPPED - 16, out_at, 0, 2];
    assert_eq!(
        call(&mut h, &mut m, id::HISTORICAL_LOOKUP, &regs),
        HostOutcome::Panic
    );
    // Destination not writable for l = 2 → ☇.
    poke_outer(&mut m, hash_at, &h_other.0);
    let regs = [u64::from(OTHER), hash_at, READ_ONLY, 0, 2];
    assert_eq!(
        call(&mut h, &mut m, id::HISTORICAL_LOOKUP, &regs),
        HostOutcome::Panic
    );
    assert_eq!(m.reg(7), u64::from(OTHER));
}

// ---------------------------------------------------------------------------
// export
// ---------------------------------------------------------------------------

#[test]
fn export_pads_to_a_segment_and_returns_its_index() {
    let f = Fixture::new();
    let r = f.refinement();
    let mut h = RefineHost::new(&r, ITEM, OFFSET);
    let p = trap_program();
    let mut m = outer(&p, 100);
    poke_outer(&mut m, SCRATCH, b"hello");
    assert_eq!(
        call(&mut h, &mut m, id::EXPORT, &[SCRATCH, 5]),
        HostOutcome::Continue
    );
    assert_eq!((m.reg(7), m.gas()), (OFFSET, 90));
    let mut want = b"hello".to_vec();
    want.resize(W_G, 0);
    assert_eq!(h.exports, vec![want]);
    // ω8 > W_G takes only W_G octets (all readable here); index ς + 1.
    let long: Vec<u8> = (0..W_G + 10)
        .map(|i| u8::try_from(i % 251).unwrap())
        .collect();
    poke_outer(&mut m, SCRATCH, &long);
    call(&mut h, &mut m, id::EXPORT, &[SCRATCH, u64::MAX]);
    assert_eq!(m.reg(7), OFFSET + 1);
    assert_eq!(h.exports[1], long[..W_G]);
    // Unreadable source (z capped at W_G still reaches the unmapped page) → ☇.
    assert_eq!(
        call(&mut h, &mut m, id::EXPORT, &[UNMAPPED - 8, 100]),
        HostOutcome::Panic
    );
    assert_eq!(h.exports.len(), 2);
}

#[test]
fn export_is_full_at_w_x() {
    let f = Fixture::new();
    let w_x = u64::from(f.spec.max_exports);
    let r = f.refinement();
    let p = trap_program();
    // ς = W_X − 1: one export fits (index W_X − 1), the next is FULL.
    let mut h = RefineHost::new(&r, ITEM, w_x - 1);
    let mut m = outer(&p, 100);
    call(&mut h, &mut m, id::EXPORT, &[SCRATCH, 1]);
    assert_eq!(m.reg(7), w_x - 1);
    call(&mut h, &mut m, id::EXPORT, &[SCRATCH, 1]);
    assert_eq!((m.reg(7), h.exports.len()), (code::FULL, 1));
    // ς ≥ W_X from the start: FULL, but an unreadable source still panics first.
    let mut h = RefineHost::new(&r, ITEM, w_x);
    call(&mut h, &mut m, id::EXPORT, &[SCRATCH, 1]);
    assert_eq!((m.reg(7), h.exports.len()), (code::FULL, 0));
    assert_eq!(
        call(&mut h, &mut m, id::EXPORT, &[UNMAPPED, 1]),
        HostOutcome::Panic
    );
}

// ---------------------------------------------------------------------------
// machine, peek, poke, pages, expunge
// ---------------------------------------------------------------------------

/// Put `code` in SCRATCH + 0x8000 and make a machine from it at `pc`.
fn new_machine(h: &mut RefineHost<'_>, m: &mut Machine<'_>, code: &[u8], pc: u64) -> u64 {
    let at = SCRATCH + 0x8000;
    poke_outer(m, at, code);
    let len = u64::try_from(code.len()).unwrap();
    assert_eq!(
        call(h, m, id::MACHINE, &[at, len, pc]),
        HostOutcome::Continue
    );
    m.reg(7)
}

#[test]
fn machine_takes_the_lowest_free_index() {
    let f = Fixture::new();
    let r = f.refinement();
    let mut h = RefineHost::new(&r, ITEM, OFFSET);
    let p = trap_program();
    let mut m = outer(&p, 1000);
    let code = blob(&[trap()]);
    assert_eq!(new_machine(&mut h, &mut m, &code, 0), 0);
    assert_eq!(new_machine(&mut h, &mut m, &code, 7), 1);
    assert_eq!(new_machine(&mut h, &mut m, &code, 0), 2);
    // Expunge 1 (returning its pc 7): the next machine reuses 1, then 3.
    assert_eq!(
        call(&mut h, &mut m, id::EXPUNGE, &[1]),
        HostOutcome::Continue
    );
    assert_eq!(m.reg(7), 7);
    assert_eq!(new_machine(&mut h, &mut m, &code, 0), 1);
    assert_eq!(new_machine(&mut h, &mut m, &code, 0), 3);
    // Expunging an unknown machine: WHO.
    call(&mut h, &mut m, id::EXPUNGE, &[9]);
    assert_eq!(m.reg(7), code::WHO);
    call(&mut h, &mut m, id::EXPUNGE, &[1]);
    call(&mut h, &mut m, id::EXPUNGE, &[1]);
    assert_eq!(m.reg(7), code::WHO);
}

#[test]
fn machine_rejects_a_bad_blob_and_an_unreadable_one() {
    let f = Fixture::new();
    let r = f.refinement();
    let mut h = RefineHost::new(&r, ITEM, OFFSET);
    let p = trap_program();
    let mut m = outer(&p, 1000);
    // A blob with a trailing octet after the bitmask does not deblob: HUH.
    let mut bad = blob(&[trap()]);
    bad.push(0);
    poke_outer(&mut m, SCRATCH, &bad);
    let len = u64::try_from(bad.len()).unwrap();
    call(&mut h, &mut m, id::MACHINE, &[SCRATCH, len, 0]);
    assert_eq!(m.reg(7), code::HUH);
    assert!(h.machines.is_empty());
    // The code range runs into an unmapped page: ☇.
    assert_eq!(
        call(&mut h, &mut m, id::MACHINE, &[UNMAPPED - 2, 4, 0]),
        HostOutcome::Panic
    );
    assert!(h.machines.is_empty());
}

#[test]
fn pages_checks_its_arguments() {
    let f = Fixture::new();
    let r = f.refinement();
    let mut h = RefineHost::new(&r, ITEM, OFFSET);
    let p = trap_program();
    let mut m = outer(&p, 10_000);
    let n = new_machine(&mut h, &mut m, &blob(&[trap()]), 0);
    let pages = |h: &mut RefineHost<'_>, m: &mut Machine<'_>, regs: [u64; 4]| {
        assert_eq!(call(h, m, id::PAGES, &regs), HostOutcome::Continue);
        m.reg(7)
    };
    assert_eq!(pages(&mut h, &mut m, [n + 1, 32, 1, 2]), code::WHO);
    assert_eq!(pages(&mut h, &mut m, [n, 32, 1, 5]), code::HUH);
    assert_eq!(pages(&mut h, &mut m, [n, 15, 1, 2]), code::HUH);
    // p + c ≥ 2^32 / Z_P = 2^20 is HUH; the last page itself is fine.
    assert_eq!(pages(&mut h, &mut m, [n, (1 << 20) - 1, 1, 2]), code::HUH);
    assert_eq!(pages(&mut h, &mut m, [n, (1 << 20) - 2, 1, 2]), code::OK);
    assert_eq!(pages(&mut h, &mut m, [n, 16, u64::MAX, 2]), code::HUH);
    // Modes 3 and 4 need every page already accessible.
    assert_eq!(pages(&mut h, &mut m, [n, 32, 2, 3]), code::HUH);
    assert_eq!(pages(&mut h, &mut m, [n, 32, 1, 2]), code::OK);
    assert_eq!(pages(&mut h, &mut m, [n, 32, 2, 4]), code::HUH);
    assert_eq!(pages(&mut h, &mut m, [n, 32, 1, 3]), code::OK);
    // c = 0 touches nothing and is OK.
    assert_eq!(pages(&mut h, &mut m, [n, 16, 0, 4]), code::OK);
    let guest = &h.machines[&n].memory;
    assert_eq!(guest.access(32 << 12), Access::ReadOnly);
    assert_eq!(guest.access(33 << 12), Access::Inaccessible);
    assert_eq!(guest.access(((1 << 20) - 2) << 12), Access::Writable);
}

#[test]
fn peek_poke_and_page_modes() {
    let f = Fixture::new();
    let r = f.refinement();
    let mut h = RefineHost::new(&r, ITEM, OFFSET);
    let p = trap_program();
    let mut m = outer(&p, 10_000);
    let n = new_machine(&mut h, &mut m, &blob(&[trap()]), 0);
    let guest_at = 0x4_0000u64; // page 64
    let src = SCRATCH;
    let dst = SCRATCH + 0x1000;
    poke_outer(&mut m, src, b"inner data");

    // Before any pages call the guest RAM is inaccessible: OOB both ways.
    call(&mut h, &mut m, id::POKE, &[n, src, guest_at, 10]);
    assert_eq!(m.reg(7), code::OOB);
    call(&mut h, &mut m, id::PEEK, &[n, dst, guest_at, 10]);
    assert_eq!(m.reg(7), code::OOB);
    // Unknown machine: WHO; but an unusable outer range panics first.
    call(&mut h, &mut m, id::POKE, &[n + 1, src, guest_at, 10]);
    assert_eq!(m.reg(7), code::WHO);
    call(&mut h, &mut m, id::PEEK, &[n + 1, dst, guest_at, 10]);
    assert_eq!(m.reg(7), code::WHO);
    assert_eq!(
        call(&mut h, &mut m, id::POKE, &[n + 1, UNMAPPED, guest_at, 10]),
        HostOutcome::Panic
    );
    assert_eq!(
        call(&mut h, &mut m, id::PEEK, &[n + 1, READ_ONLY, guest_at, 10]),
        HostOutcome::Panic
    );

    // Mode 2 (W): poke then peek round-trips, across a page boundary too.
    call(&mut h, &mut m, id::PAGES, &[n, 64, 2, 2]);
    assert_eq!(m.reg(7), code::OK);
    call(&mut h, &mut m, id::POKE, &[n, src, guest_at + 0xFFB, 10]);
    assert_eq!(m.reg(7), code::OK);
    call(&mut h, &mut m, id::PEEK, &[n, dst, guest_at + 0xFFB, 10]);
    assert_eq!(m.reg(7), code::OK);
    assert_eq!(peek_outer(&m, dst, 10), b"inner data");
    // Past the mapped pages: OOB.
    call(&mut h, &mut m, id::PEEK, &[n, dst, guest_at + 0x1FFC, 10]);
    assert_eq!(m.reg(7), code::OOB);

    // Mode 3 (R, values kept): peek still sees the data, poke is OOB.
    call(&mut h, &mut m, id::PAGES, &[n, 64, 2, 3]);
    assert_eq!(m.reg(7), code::OK);
    call(&mut h, &mut m, id::POKE, &[n, src, guest_at, 1]);
    assert_eq!(m.reg(7), code::OOB);
    poke_outer(&mut m, dst, &[0; 10]);
    call(&mut h, &mut m, id::PEEK, &[n, dst, guest_at + 0xFFB, 10]);
    assert_eq!(peek_outer(&m, dst, 10), b"inner data");
    // Mode 4 (W, values kept): still there and writable again.
    call(&mut h, &mut m, id::PAGES, &[n, 64, 2, 4]);
    call(&mut h, &mut m, id::PEEK, &[n, dst, guest_at + 0xFFB, 10]);
    assert_eq!(peek_outer(&m, dst, 10), b"inner data");
    call(&mut h, &mut m, id::POKE, &[n, src, guest_at, 1]);
    assert_eq!(m.reg(7), code::OK);
    // Mode 2 again (W, zeroed): writable zeros; put the data back.
    call(&mut h, &mut m, id::PAGES, &[n, 64, 2, 2]);
    call(&mut h, &mut m, id::PEEK, &[n, dst, guest_at + 0xFFB, 10]);
    assert_eq!(peek_outer(&m, dst, 10), [0; 10]);
    call(&mut h, &mut m, id::POKE, &[n, src, guest_at + 0xFFB, 10]);
    assert_eq!(m.reg(7), code::OK);
    // Mode 1 (R, zeroed): readable zeros.
    call(&mut h, &mut m, id::PAGES, &[n, 64, 2, 1]);
    call(&mut h, &mut m, id::PEEK, &[n, dst, guest_at + 0xFFB, 10]);
    assert_eq!(m.reg(7), code::OK);
    assert_eq!(peek_outer(&m, dst, 10), [0; 10]);
    // Mode 0 (∅): inaccessible again.
    call(&mut h, &mut m, id::PAGES, &[n, 64, 2, 0]);
    call(&mut h, &mut m, id::PEEK, &[n, dst, guest_at, 1]);
    assert_eq!(m.reg(7), code::OOB);
    // Zero-length transfers need no access anywhere.
    call(&mut h, &mut m, id::PEEK, &[n, UNMAPPED, guest_at, 0]);
    assert_eq!(m.reg(7), code::OK);
}

// ---------------------------------------------------------------------------
// invoke
// ---------------------------------------------------------------------------

/// The 112-octet block of Ω_K: `E_8(g) ⌢ E_8(ω)`.
fn block(gas: u64, regs: [u64; 13]) -> Vec<u8> {
    let mut out = gas.to_le_bytes().to_vec();
    for r in regs {
        out.extend_from_slice(&r.to_le_bytes());
    }
    out
}

fn unblock(bytes: &[u8]) -> (u64, [u64; 13]) {
    let word = |i: usize| u64::from_le_bytes(bytes[8 * i..8 * i + 8].try_into().unwrap());
    let mut regs = [0; 13];
    for (k, r) in regs.iter_mut().enumerate() {
        *r = word(k + 1);
    }
    (word(0), regs)
}

/// Invoke machine `n` with `gas` and `regs` through a block at SCRATCH + 0x4000:
/// (ω7, ω8, g', ω').
fn invoke(
    h: &mut RefineHost<'_>,
    m: &mut Machine<'_>,
    n: u64,
    gas: u64,
    regs: [u64; 13],
) -> (u64, u64, u64, [u64; 13]) {
    let at = SCRATCH + 0x4000;
    poke_outer(m, at, &block(gas, regs));
    assert_eq!(call(h, m, id::INVOKE, &[n, at]), HostOutcome::Continue);
    let (g, w) = unblock(&peek_outer(m, at, 112));
    (m.reg(7), m.reg(8), g, w)
}

fn regs_with(pairs: &[(usize, u64)]) -> [u64; 13] {
    let mut regs = [0; 13];
    for (i, v) in pairs {
        regs[*i] = *v;
    }
    regs
}

#[test]
fn invoke_halt_returns_registers_and_gas() {
    let f = Fixture::new();
    let r = f.refinement();
    let mut h = RefineHost::new(&r, ITEM, OFFSET);
    let p = trap_program();
    let mut m = outer(&p, 10_000);
    // load_imm_64 ω7, 42; jump_ind ω0 (ω0 = halt address): 2 instructions.
    let n = new_machine(&mut h, &mut m, &blob(&[load_imm64(7, 42), jump_ind(0)]), 0);
    let (r7, r8, g, w) = invoke(
        &mut h,
        &mut m,
        n,
        100,
        regs_with(&[(0, HALT_ADDRESS), (8, 5)]),
    );
    assert_eq!(
        (r7, r8),
        (inner::HALT, SCRATCH + 0x4000),
        "ω8 unchanged on halt"
    );
    assert_eq!(g, 98);
    assert_eq!(w, regs_with(&[(0, HALT_ADDRESS), (7, 42), (8, 5)]));
    // The outer call itself cost 10 (plus 10 for machine).
    assert_eq!(m.gas(), 10_000 - 20);
    // Halt leaves the pc at 0 (GP Ψ), which expunge reports.
    call(&mut h, &mut m, id::EXPUNGE, &[n]);
    assert_eq!(m.reg(7), 0);
}

#[test]
fn invoke_panic_and_out_of_gas() {
    let f = Fixture::new();
    let r = f.refinement();
    let mut h = RefineHost::new(&r, ITEM, OFFSET);
    let p = trap_program();
    let mut m = outer(&p, 10_000);
    // trap: ☇ costs its one instruction; pc → 0.
    let n = new_machine(&mut h, &mut m, &blob(&[trap()]), 0);
    let (r7, r8, g, _) = invoke(&mut h, &mut m, n, 100, [0; 13]);
    assert_eq!((r7, r8, g), (inner::PANIC, SCRATCH + 0x4000, 99));
    // load_imm_64 ω1, 1 (10 octets) then trap, with 1 gas: the load runs, the trap
    // at pc 10 cannot be paid → ∞ at ı = 10, registers as after the load.
    let n2 = new_machine(&mut h, &mut m, &blob(&[load_imm64(1, 1), trap()]), 0);
    let (r7, _, g, w) = invoke(&mut h, &mut m, n2, 1, [0; 13]);
    assert_eq!((r7, g), (inner::OOG, 0));
    assert_eq!(w, regs_with(&[(1, 1)]));
    // Resuming with more gas continues at the trap: ☇.
    let (r7, _, g, _) = invoke(&mut h, &mut m, n2, 5, [0; 13]);
    assert_eq!((r7, g), (inner::PANIC, 4));
    // With no gas at all, ∞ before the first instruction keeps the given pc.
    let n3 = new_machine(&mut h, &mut m, &blob(&[load_imm64(1, 1), trap()]), 10);
    let (r7, _, g, _) = invoke(&mut h, &mut m, n3, 0, [0; 13]);
    assert_eq!((r7, g), (inner::OOG, 0));
    call(&mut h, &mut m, id::EXPUNGE, &[n3]);
    assert_eq!(m.reg(7), 10);
}

#[test]
fn invoke_host_call_exit_resumes_after_the_ecalli() {
    let f = Fixture::new();
    let r = f.refinement();
    let mut h = RefineHost::new(&r, ITEM, OFFSET);
    let p = trap_program();
    let mut m = outer(&p, 10_000);
    // ecalli 9; load_imm_64 ω7, 77; jump_ind ω0.
    let code = blob(&[ecalli(9), load_imm64(7, 77), jump_ind(0)]);
    let n = new_machine(&mut h, &mut m, &code, 0);
    let regs = regs_with(&[(0, HALT_ADDRESS), (7, 3)]);
    let (r7, r8, g, w) = invoke(&mut h, &mut m, n, 50, regs);
    // HOST with the id in ω8; the ecalli costs 1; nothing serviced it.
    assert_eq!((r7, r8, g), (inner::HOST, 9, 49));
    assert_eq!(w, regs);
    // The machine's pc is now ı + 1 + skip(ı) = 2.
    assert_eq!(h.machines[&n].pc, 2);
    let (r7, _, g, w) = invoke(&mut h, &mut m, n, 49, w);
    assert_eq!((r7, g, w[7]), (inner::HALT, 47, 77));
}

#[test]
fn invoke_page_fault_then_pages_then_resume() {
    let f = Fixture::new();
    let r = f.refinement();
    let mut h = RefineHost::new(&r, ITEM, OFFSET);
    let p = trap_program();
    let mut m = outer(&p, 10_000);
    // load_u8 ω1, [0x20010]; jump_ind ω0.
    let code = blob(&[load_u8(1, 0x2_0010), jump_ind(0)]);
    let n = new_machine(&mut h, &mut m, &code, 0);
    let regs = regs_with(&[(0, HALT_ADDRESS)]);
    let (r7, r8, g, w) = invoke(&mut h, &mut m, n, 50, regs);
    // FAULT with the page address of the access; machine state as before it.
    assert_eq!((r7, r8), (inner::FAULT, 0x2_0000));
    assert_eq!(w, regs);
    // (Whether the faulting instruction is charged is the interpreter's rule.)
    assert!(g == 50 || g == 49, "g' = {g}");
    assert_eq!(h.machines[&n].pc, 0);
    // Map the page, put 0xAB at 0x20010, and resume at the same instruction.
    call(&mut h, &mut m, id::PAGES, &[n, 0x20, 1, 2]);
    poke_outer(&mut m, SCRATCH, &[0xAB]);
    call(&mut h, &mut m, id::POKE, &[n, SCRATCH, 0x2_0010, 1]);
    assert_eq!(m.reg(7), code::OK);
    let (r7, _, g2, w) = invoke(&mut h, &mut m, n, g, w);
    assert_eq!((r7, g2, w[1]), (inner::HALT, g - 2, 0xAB));
    // A store into the inner RAM, peeked back out.
    let code = blob(&[
        load_imm64(2, 0x1122_3344),
        store_u64(2, 0x2_0100),
        jump_ind(0),
    ]);
    let n2 = new_machine(&mut h, &mut m, &code, 0);
    call(&mut h, &mut m, id::PAGES, &[n2, 0x20, 1, 2]);
    let (r7, ..) = invoke(&mut h, &mut m, n2, 10, regs);
    assert_eq!(r7, inner::HALT);
    call(&mut h, &mut m, id::PEEK, &[n2, SCRATCH, 0x2_0100, 8]);
    assert_eq!(m.reg(7), code::OK);
    assert_eq!(peek_outer(&m, SCRATCH, 8), 0x1122_3344u64.to_le_bytes());
}

#[test]
fn invoke_unknown_machine_and_unwritable_block() {
    let f = Fixture::new();
    let r = f.refinement();
    let mut h = RefineHost::new(&r, ITEM, OFFSET);
    let p = trap_program();
    let mut m = outer(&p, 10_000);
    let (r7, r8, g, _) = invoke(&mut h, &mut m, 0, 100, [0; 13]);
    assert_eq!((r7, r8, g), (code::WHO, SCRATCH + 0x4000, 100));
    // The block must be writable, not just readable: read-only → ☇ (even for an
    // unknown machine).
    let n = new_machine(&mut h, &mut m, &blob(&[trap()]), 0);
    assert_eq!(
        call(&mut h, &mut m, id::INVOKE, &[n, READ_ONLY]),
        HostOutcome::Panic
    );
    assert_eq!(
        call(
            &mut h,
            &mut m,
            id::INVOKE,
            &[n + 5, SCRATCH + 0x10000 - 100]
        ),
        HostOutcome::Panic
    );
    // An expunged machine is unknown.
    call(&mut h, &mut m, id::EXPUNGE, &[n]);
    let (r7, ..) = invoke(&mut h, &mut m, n, 100, [0; 13]);
    assert_eq!(r7, code::WHO);
}

#[test]
fn inner_gas_above_i64_is_exact() {
    let f = Fixture::new();
    let r = f.refinement();
    let mut h = RefineHost::new(&r, ITEM, OFFSET);
    let p = trap_program();
    let mut m = outer(&p, 10_000);
    let n = new_machine(&mut h, &mut m, &blob(&[trap()]), 0);
    let (r7, _, g, _) = invoke(&mut h, &mut m, n, u64::MAX, [0; 13]);
    assert_eq!((r7, g), (inner::PANIC, u64::MAX - 1));
}

// ---------------------------------------------------------------------------
// Ψ_R and I(p, j)
// ---------------------------------------------------------------------------

/// Refine code: export `μ[ω7..+ω8]` (the arguments, as Y leaves them), then halt
/// with the arguments as output. 1 + 10 + 1 + 1 = 13 gas.
fn echo_exporter() -> Vec<u8> {
    standard(&blob(&[ecalli(7), load_imm64(7, ARGS_AT), jump_ind(0)]), 0)
}

/// Refine code: export the arguments, then halt with `E_8` of the export index
/// as output (via one heap page). 1 + 10 + 1 + 1 + 1 + 1 = 15 gas.
fn index_exporter() -> Vec<u8> {
    standard(
        &blob(&[
            ecalli(7),
            store_u64(7, 0x2_0000),
            load_imm64(7, HEAP_AT),
            load_imm64(8, 8),
            jump_ind(0),
        ]),
        1,
    )
}

/// `a = E(c, i, w_s, ↕w_y, H(p))` for this fixture's small numbers, each compact
/// natural a single octet.
fn refine_args(f: &Fixture, item: u8) -> Vec<u8> {
    let w = &f.package.items[usize::from(item)];
    let mut a = vec![
        u8::try_from(CORE).unwrap(),
        item,
        u8::try_from(w.service).unwrap(),
    ];
    a.push(u8::try_from(w.payload.0.len()).unwrap());
    a.extend_from_slice(&w.payload.0);
    a.extend_from_slice(&blake2b_256(&f.package.encode()).0);
    a
}

fn padded(mut x: Vec<u8>) -> Vec<u8> {
    x.resize(W_G, 0);
    x
}

/// A fixture whose two items are both service SERVICE with code `code` (hash
/// 0xCC…), `gas` each, exporting `exports` each.
fn runnable(code: Vec<u8>, gas: u64, exports: u16) -> Fixture {
    let mut f = Fixture::new();
    let h = Hash::from([0xCC; 32]);
    f.package = package(vec![
        item(SERVICE, h, gas, exports, b"ab"),
        item(SERVICE, h, gas, exports, b"xyz"),
    ]);
    f.lookup.table = vec![(SERVICE, h, code)];
    f
}

#[test]
fn psi_r_runs_the_code_from_the_historical_lookup() {
    let f = runnable(with_metadata(&echo_exporter()), 1000, 1);
    let out = psi_r(&f.refinement(), 0, 0).unwrap();
    let a = refine_args(&f, 0);
    assert_eq!(out.result, WorkExecResult::Ok(Bytes(a.clone())));
    assert_eq!(out.exports, vec![padded(a)]);
    assert_eq!(out.gas_used, 13);
    assert_eq!(
        f.lookup.queries.borrow()[0],
        (SERVICE, ANCHOR_SLOT, Hash::from([0xCC; 32]))
    );
    // Item 1 sees its own index and payload in the arguments.
    let out = psi_r(&f.refinement(), 1, 0).unwrap();
    assert_eq!(out.result, WorkExecResult::Ok(Bytes(refine_args(&f, 1))));
    // No such item: a caller error, not a work result.
    assert_eq!(
        psi_r(&f.refinement(), 2, 0),
        Err(RefineError::NoSuchItem { item: 2, items: 2 })
    );
}

#[test]
fn psi_r_bad_and_big_code() {
    // Λ = ∅ (the lookup has no such preimage): BAD, nothing exported, no gas.
    let mut f = runnable(with_metadata(&echo_exporter()), 1000, 1);
    f.lookup.table.clear();
    let out = psi_r(&f.refinement(), 0, 0).unwrap();
    assert_eq!(
        (out.result, out.exports.len(), out.gas_used),
        (WorkExecResult::BadCode, 0, 0)
    );
    // A preimage of W_C + 1 octets: BIG; of exactly W_C it is run (and panics,
    // being zeros that do not initialise).
    let w_c = usize::try_from(f.spec.max_service_code_size).unwrap();
    let h = f.package.items[0].code_hash;
    f.lookup.table = vec![(SERVICE, h, vec![0; w_c + 1])];
    let out = psi_r(&f.refinement(), 0, 0).unwrap();
    assert_eq!(
        (out.result, out.gas_used),
        (WorkExecResult::CodeOversize, 0)
    );
    f.lookup.table = vec![(SERVICE, h, vec![0; w_c])];
    let out = psi_r(&f.refinement(), 0, 0).unwrap();
    assert_eq!((out.result, out.gas_used), (WorkExecResult::Panic, 0));
}

#[test]
fn psi_r_out_of_gas_and_panic_export_nothing() {
    // 12 gas: the export and the load run (12), the halt cannot be paid.
    let f = runnable(with_metadata(&echo_exporter()), 12, 1);
    let out = psi_r(&f.refinement(), 0, 0).unwrap();
    assert_eq!(
        (out.result, out.exports.len(), out.gas_used),
        (WorkExecResult::OutOfGas, 0, 12)
    );
    // 5 gas: the export host call itself runs out (ϱ = 4 < 10); u = 5.
    let f = runnable(with_metadata(&echo_exporter()), 5, 1);
    let out = psi_r(&f.refinement(), 0, 0).unwrap();
    assert_eq!((out.result, out.gas_used), (WorkExecResult::OutOfGas, 5));
    // Export then trap: ☇, the export is dropped.
    let code = standard(&blob(&[ecalli(7), trap()]), 0);
    let f = runnable(with_metadata(&code), 100, 1);
    let out = psi_r(&f.refinement(), 0, 0).unwrap();
    assert_eq!(
        (out.result, out.exports.len(), out.gas_used),
        (WorkExecResult::Panic, 0, 12)
    );
}

#[test]
fn psi_r_output_longer_than_w_r_is_oversize() {
    // Halt with ω7 = heap, ω8 = W_R + 1, all readable (13 heap pages).
    let w_r = u64::from(ChainSpec::tiny().max_report_output_size);
    let code = standard(
        &blob(&[load_imm64(7, HEAP_AT), load_imm64(8, w_r + 1), jump_ind(0)]),
        13,
    );
    let f = runnable(with_metadata(&code), 100, 0);
    let out = psi_r(&f.refinement(), 0, 0).unwrap();
    assert_eq!(
        (out.result, out.gas_used),
        (WorkExecResult::OutputOversize, 3)
    );
    // Exactly W_R is an output.
    let code = standard(
        &blob(&[load_imm64(7, HEAP_AT), load_imm64(8, w_r), jump_ind(0)]),
        13,
    );
    let f = runnable(with_metadata(&code), 100, 0);
    let out = psi_r(&f.refinement(), 0, 0).unwrap();
    assert_eq!(
        out.result,
        WorkExecResult::Ok(Bytes(vec![0; usize::try_from(w_r).unwrap()]))
    );
}

#[test]
fn items_count_up_exports_and_outputs() {
    // Each item exports one segment and outputs E_8 of its export index, so the
    // second sees ς = w_e of the first = 1.
    let f = runnable(with_metadata(&index_exporter()), 1000, 1);
    let out = refine_items(&f.refinement());
    assert_eq!(out.len(), 2);
    assert_eq!(
        out[0].result,
        WorkExecResult::Ok(Bytes(0u64.to_le_bytes().to_vec()))
    );
    assert_eq!(
        out[1].result,
        WorkExecResult::Ok(Bytes(1u64.to_le_bytes().to_vec()))
    );
    assert_eq!(out[0].exports, vec![padded(refine_args(&f, 0))]);
    assert_eq!(out[1].exports, vec![padded(refine_args(&f, 1))]);
    assert_eq!((out[0].gas_used, out[1].gas_used), (15, 15));
}

#[test]
fn items_with_the_wrong_export_count_are_bad_exports() {
    // w_e = 2 but one export: ⊚, exports replaced by w_e zero segments.
    let f = runnable(with_metadata(&index_exporter()), 1000, 2);
    let out = refine_items(&f.refinement());
    assert_eq!(out[0].result, WorkExecResult::BadExports);
    assert_eq!(out[0].exports, vec![vec![0; W_G]; 2]);
    assert_eq!(out[0].gas_used, 15);
    // ς still counts the declared w_e: the second item's export index is 2,
    // though its result is ⊚ too.
    assert_eq!(out[1].result, WorkExecResult::BadExports);
}

#[test]
fn failed_items_export_zero_segments() {
    // A panicking item with w_e = 0: ☇ with no exports.
    let code = standard(&blob(&[trap()]), 0);
    let f = runnable(with_metadata(&code), 100, 0);
    let out = refine_items(&f.refinement());
    assert_eq!(
        (out[0].result.clone(), out[0].exports.len()),
        (WorkExecResult::Panic, 0)
    );
    // With w_e = 1, Ψ_R's `e = []` differs from w_e, which the GP checks first: ⊚.
    let f = runnable(with_metadata(&code), 100, 1);
    let out = refine_items(&f.refinement());
    assert_eq!(out[0].result, WorkExecResult::BadExports);
    assert_eq!(out[0].exports, vec![vec![0; W_G]]);
    // BAD code with w_e = 0 keeps its error.
    let mut f = runnable(with_metadata(&code), 100, 0);
    f.lookup.table.clear();
    let out = refine_items(&f.refinement());
    assert_eq!(out[1].result, WorkExecResult::BadCode);
}

#[test]
fn items_whose_outputs_overflow_w_r_are_oversize() {
    // Outputs are the 8-octet export index; |o| + 8 + 8 just fits W_R, one more
    // octet of trace pushes the second item over: z = |o| + 8.
    let w_r = usize::try_from(ChainSpec::tiny().max_report_output_size).unwrap();
    let mut f = runnable(with_metadata(&index_exporter()), 1000, 1);
    f.trace = vec![1; w_r - 16];
    let out = refine_items(&f.refinement());
    assert!(matches!(out[1].result, WorkExecResult::Ok(_)));
    f.trace = vec![1; w_r - 15];
    let out = refine_items(&f.refinement());
    assert!(matches!(out[0].result, WorkExecResult::Ok(_)));
    assert_eq!(out[1].result, WorkExecResult::OutputOversize);
    assert_eq!(out[1].exports, vec![vec![0; W_G]]);
    assert_eq!(out[1].gas_used, 15);
}

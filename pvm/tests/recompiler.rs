//! Differential tests (issue 21): the recompiler against the interpreter, its oracle,
//! on generated programs. Every run compares the exit, the pc, the gas to the unit,
//! all registers, the heap top and every octet of the mapped memory, and runs
//! through Ψ_H with a host that charges gas and writes registers and memory, so the
//! resume-after-`ecalli` path is exercised too.

use proptest::prelude::*;
use tessera_pvm::{
    run_with_host, Access, ArgKind, Backend, ExitReason, HostCalls, HostOutcome, Machine, Memory,
    Opcode, Program,
};

const RO: u32 = 0x1_0000;
const RW: u32 = 0x2_0000;
const PAGES: u32 = 4;

fn memory() -> Memory {
    let mut m = Memory::new();
    m.set_access(RO, PAGES, Access::ReadOnly);
    m.poke(RO, &(0..=255u8).cycle().take(6000).collect::<Vec<_>>());
    m.set_access(RW, PAGES, Access::Writable);
    // Only the first RW page has data: the others start unallocated, which the
    // recompiler's fast path leaves to the interpreter.
    m.poke(RW + 8, &[0x5a; 64]);
    m.set_heap_top(RW + PAGES * 4096);
    m
}

/// A host that charges 7 gas, sets ω7 and writes one octet at ω8 when it can.
struct Host;

impl HostCalls for Host {
    fn host_call(&mut self, id: u64, m: &mut Machine<'_>) -> HostOutcome {
        let g = m.gas() - 7;
        if g < 0 {
            m.set_gas(0);
            return HostOutcome::OutOfGas;
        }
        m.set_gas(g);
        m.set_reg(7, id ^ m.reg(7).rotate_left(5));
        let at = u32::try_from(m.reg(8) & 0xffff_ffff).unwrap_or(0);
        let _ = m.memory.write(at, &[u8::try_from(id & 0xff).unwrap_or(0)]);
        if id == 99 {
            HostOutcome::Halt
        } else {
            HostOutcome::Continue
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
struct Run {
    exit: ExitReason,
    pc: u32,
    gas: i64,
    regs: [u64; 13],
    heap_top: u32,
    memory: Octets,
}

/// Memory contents, printed as a length and a checksum so a failure stays readable.
#[derive(PartialEq, Eq)]
struct Octets(Vec<u8>);

impl std::fmt::Debug for Octets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sum = self.0.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
        });
        write!(f, "{} octets, fnv {sum:016x}", self.0.len())
    }
}

fn run(program: &Program, backend: Backend, pc: u32, gas: i64, regs: [u64; 13]) -> Run {
    let mut m = Machine::new(program, pc, gas, regs, memory());
    m.set_backend(backend);
    let exit = run_with_host(&mut m, &mut Host);
    let mut mem = vec![0u8; 2 * 4096 * usize::try_from(PAGES).unwrap()];
    let (ro, rw) = mem.split_at_mut(4096 * 4);
    m.memory.peek(RO, ro);
    m.memory.peek(RW, rw);
    Run {
        exit,
        pc: m.pc(),
        gas: m.gas(),
        regs: m.regs(),
        heap_top: m.memory.heap_top(),
        memory: Octets(mem),
    }
}

/// The octets after an opcode that its argument kind reads at most (A.5).
fn max_args(kind: ArgKind) -> usize {
    match kind {
        ArgKind::NoArgs => 0,
        ArgKind::RegExtImm => 9,
        ArgKind::TwoRegTwoImm => 10,
        _ => 9,
    }
}

/// One instruction: an opcode and its argument octets.
fn instruction() -> impl Strategy<Value = Vec<u8>> {
    (
        proptest::sample::select(Opcode::ALL),
        proptest::collection::vec(any::<u8>(), 10),
        0usize..11,
    )
        .prop_map(|(op, args, len)| {
            let mut out = vec![op.code()];
            let n = len.min(max_args(op.kind()));
            out.extend_from_slice(&args[..n]);
            // Register nibbles above 12 are clamped by the decoder; keep most in range
            // so that all 13 registers (host-mapped and spilled) are exercised.
            if let Some(b) = out.get_mut(1) {
                if op.kind() != ArgKind::NoArgs && op.kind() != ArgKind::OneImm {
                    *b = (*b & 0x77) | (*b & 0x08);
                }
            }
            out
        })
}

fn assemble(instrs: &[Vec<u8>]) -> (Vec<u8>, Vec<bool>) {
    let mut code = Vec::new();
    let mut starts = Vec::new();
    for ins in instrs {
        for (k, b) in ins.iter().enumerate() {
            code.push(*b);
            starts.push(k == 0);
        }
    }
    (code, starts)
}

fn register() -> impl Strategy<Value = u64> {
    prop_oneof![
        any::<u64>(),
        u64::from(RO)..u64::from(RO + PAGES * 4096),
        u64::from(RW)..u64::from(RW + PAGES * 4096),
        0u64..64,
        Just(0xffff_0000u64),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(768))]

    /// Well-formed instruction streams of every opcode, with jump tables pointing
    /// into them, entered at any pc with any gas.
    #[test]
    fn recompiler_equals_interpreter_on_generated_programs(
        instrs in proptest::collection::vec(instruction(), 1..120),
        jumps in proptest::collection::vec(0u32..600, 0..12),
        regs in proptest::array::uniform13(register()),
        gas in prop_oneof![0i64..40, 0i64..5000],
        entry in 0usize..130,
    ) {
        let (code, starts) = assemble(&instrs);
        let pcs: Vec<u32> = starts.iter().enumerate().filter(|(_, s)| **s).map(|(k, _)| u32::try_from(k).unwrap()).collect();
        let pc = pcs.get(entry).copied().unwrap_or(0);
        // Jump-table entries at instruction starts, so dynamic jumps land.
        let table: Vec<u32> = jumps.iter().map(|j| pcs.get(usize::try_from(*j).unwrap() % pcs.len()).copied().unwrap_or(*j)).collect();
        let blob = Program::encode_blob(&table, &code, &starts);
        let program = Program::from_blob(&blob).expect("well formed");
        let oracle = run(&program, Backend::Interpreter, pc, gas, regs);
        let got = run(&program, Backend::Recompiler, pc, gas, regs);
        prop_assert_eq!(got, oracle);
    }

    /// Arbitrary octets and bitmasks, entered anywhere (also inside an instruction).
    #[test]
    fn recompiler_equals_interpreter_on_random_code(
        code in proptest::collection::vec(any::<u8>(), 1..300),
        starts in proptest::collection::vec(any::<bool>(), 300),
        jumps in proptest::collection::vec(0u32..320, 0..8),
        regs in proptest::array::uniform13(register()),
        gas in 0i64..3000,
        pc in 0u32..320,
    ) {
        let blob = Program::encode_blob(&jumps, &code, &starts);
        let program = Program::from_blob(&blob).expect("well formed");
        let oracle = run(&program, Backend::Interpreter, pc, gas, regs);
        let got = run(&program, Backend::Recompiler, pc, gas, regs);
        prop_assert_eq!(got, oracle);
    }
}

proptest! {
    // 48 runs per backend and case.
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Instruction for instruction: with gas `k` a run stops after its first `k`
    /// instructions (GP v0.7.2 charges one unit each), so comparing the runs with
    /// every `k` up to 48 compares the two backends' states after each instruction.
    #[test]
    fn recompiler_equals_interpreter_after_every_instruction(
        instrs in proptest::collection::vec(instruction(), 1..40),
        regs in proptest::array::uniform13(register()),
    ) {
        let (code, starts) = assemble(&instrs);
        let blob = Program::encode_blob(&[], &code, &starts);
        let program = Program::from_blob(&blob).expect("well formed");
        for gas in 0..48 {
            let oracle = run(&program, Backend::Interpreter, 0, gas, regs);
            let got = run(&program, Backend::Recompiler, 0, gas, regs);
            prop_assert_eq!(got, oracle, "after {} instructions", gas);
        }
    }
}

/// A loop long enough to leave and re-enter compiled code many times (host calls,
/// out-of-gas at a block boundary and inside one).
#[test]
fn a_counting_loop_with_host_calls_matches_to_the_unit() {
    // ω7 = 0; loop: ω7 += 1; ecalli 3; store_ind_u8 [ω8 + 0], ω7; branch_lt_u_imm ω7, 200, loop; trap
    let code: Vec<u8> = vec![
        51, 7, 0, // load_imm ω7, 0
        149, 0x77, 1, // add_imm_64 ω7, ω7, 1     (pc 3)
        10, 3, // ecalli 3
        120, 0x87, 0, // store_ind_u8 [ω8 + 0] = ω7
        83, 0x17, 200, 0xf8, // branch_lt_u_imm ω7 < 200 → pc 3 (offset −8 from pc 11)
        0,    // trap
    ];
    let starts = [
        true, false, false, true, false, false, true, false, true, false, false, true, false,
        false, false, true,
    ];
    let blob = Program::encode_blob(&[], &code, &starts);
    let program = Program::from_blob(&blob).unwrap();
    let mut regs = [0u64; 13];
    regs[8] = u64::from(RW) + 4096 * 2;
    for gas in [0, 1, 5, 17, 400, 1000, 100_000] {
        let oracle = run(&program, Backend::Interpreter, 0, gas, regs);
        let got = run(&program, Backend::Recompiler, 0, gas, regs);
        assert_eq!(got, oracle, "gas {gas}");
    }
    let full = run(&program, Backend::Recompiler, 0, 100_000, regs);
    assert_eq!(full.exit, ExitReason::Panic, "the loop ends at the trap");
    assert_eq!(full.regs[7] & 0xffff_ffff_0000_0000, 0);
}

/// Division and the bit counts at their edges (zero divisors, −1, the most negative
/// values, 32-bit halves), each opcode alone, on both backends.
#[test]
fn arithmetic_edges_match() {
    let edges: Vec<u64> = vec![
        0,
        1,
        2,
        7,
        u64::MAX,
        u64::MAX - 6,
        1 << 63,
        (1 << 63) - 1,
        0x8000_0000,
        0xffff_ffff_8000_0000,
        0xffff_ffff,
        0x1_0000_0000,
        0x1_0000_0005,
        0x7fff_ffff,
        0xdead_beef_0000_0001,
    ];
    let three = [
        Opcode::DivU32,
        Opcode::DivS32,
        Opcode::RemU32,
        Opcode::RemS32,
        Opcode::DivU64,
        Opcode::DivS64,
        Opcode::RemU64,
        Opcode::RemS64,
        Opcode::MulUpperSS,
        Opcode::MulUpperUU,
        Opcode::MulUpperSU,
        Opcode::ShloL32,
        Opcode::SharR32,
        Opcode::RotL32,
        Opcode::RotR64,
        Opcode::Max,
        Opcode::MinU,
    ];
    let two = [
        Opcode::CountSetBits64,
        Opcode::CountSetBits32,
        Opcode::LeadingZeroBits64,
        Opcode::LeadingZeroBits32,
        Opcode::TrailingZeroBits64,
        Opcode::TrailingZeroBits32,
        Opcode::SignExtend8,
        Opcode::SignExtend16,
        Opcode::ZeroExtend16,
        Opcode::ReverseBytes,
    ];
    let mut checked = 0;
    for (code, starts) in three
        .iter()
        // ω2 = ω0 op ω1, and ω11 = ω12 op ω11 (registers kept in the context).
        .flat_map(|op| [vec![op.code(), 0x10, 2, 0], vec![op.code(), 0xbc, 11, 0]])
        .chain(two.iter().map(|op| vec![op.code(), 0x02, 0]))
        .map(|code| {
            let starts: Vec<bool> = (0..code.len())
                .map(|k| k == 0 || k == code.len() - 1)
                .collect();
            (code, starts)
        })
    {
        let program = Program::from_blob(&Program::encode_blob(&[], &code, &starts)).unwrap();
        for a in &edges {
            for b in &edges {
                let mut regs = [0u64; 13];
                regs[0] = *a;
                regs[1] = *b;
                regs[12] = *a;
                regs[11] = *b;
                let oracle = run(&program, Backend::Interpreter, 0, 100, regs);
                let got = run(&program, Backend::Recompiler, 0, 100, regs);
                assert_eq!(got, oracle, "{code:?} a={a:#x} b={b:#x}");
                checked += 1;
            }
        }
    }
    assert_eq!(
        checked,
        (three.len() * 2 + two.len()) * edges.len() * edges.len()
    );
}

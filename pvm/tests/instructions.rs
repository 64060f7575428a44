//! Hand-assembled programs for the instructions whose GP definitions (A.5) have edge
//! cases: shifts by at least the width, signed division overflow and by zero, sign
//! extension of 32-bit results, `sbrk`, host calls, gas and faults. Expected values
//! are worked out from the GP formulas by hand, not by this crate.

use tessera_pvm::{
    invoke, run_with_host, Access, ExitReason, HostCalls, HostOutcome, InvocationResult, Machine,
    Memory, Opcode, Program,
};

/// Assemble instructions (each a byte vector starting with its opcode).
fn assemble(instrs: &[Vec<u8>]) -> Vec<u8> {
    let mut code = Vec::new();
    let mut starts = Vec::new();
    for i in instrs {
        code.extend_from_slice(i);
        starts.push(true);
        starts.extend(std::iter::repeat_n(false, i.len() - 1));
    }
    Program::encode_blob(&[], &code, &starts)
}

fn three(op: Opcode, d: u8, a: u8, b: u8) -> Vec<u8> {
    vec![op.code(), a | (b << 4), d]
}

fn two_imm(op: Opcode, a: u8, b: u8, imm: u32) -> Vec<u8> {
    let mut v = vec![op.code(), a | (b << 4)];
    v.extend_from_slice(&imm.to_le_bytes());
    v
}

fn two(op: Opcode, d: u8, a: u8) -> Vec<u8> {
    vec![op.code(), d | (a << 4)]
}

fn trap() -> Vec<u8> {
    vec![Opcode::Trap.code()]
}

/// Run with registers `r` and generous gas; return the exit and the machine's regs.
fn exec(instrs: &[Vec<u8>], r: &[(usize, u64)], memory: Memory) -> (ExitReason, [u64; 13], i64) {
    let program = Program::from_blob(&assemble(instrs)).expect("assembles");
    let mut regs = [0u64; 13];
    for (i, v) in r {
        regs[*i] = *v;
    }
    let mut m = Machine::new(&program, 0, 1000, regs, memory);
    let e = m.run();
    (e, m.regs(), m.gas())
}

/// `ω_D` after `op ω_A ω_B` with the given inputs.
fn binop(op: Opcode, a: u64, b: u64) -> u64 {
    let (e, r, _) = exec(
        &[three(op, 2, 0, 1), trap()],
        &[(0, a), (1, b)],
        Memory::new(),
    );
    assert_eq!(e, ExitReason::Panic);
    r[2]
}

#[test]
fn shifts_take_the_amount_modulo_the_width() {
    // shlo_l_32: X_4((ω_A · 2^(ω_B mod 32)) mod 2^32); 33 mod 32 = 1.
    assert_eq!(
        binop(Opcode::ShloL32, 0x4000_0000, 33),
        0xffff_ffff_8000_0000
    );
    // shlo_r_32 by 32 is by 0: the low word, sign-extended.
    assert_eq!(
        binop(Opcode::ShloR32, 0x1_8000_0000, 32),
        0xffff_ffff_8000_0000
    );
    // shar_r_64 by 67 = by 3.
    assert_eq!(
        binop(Opcode::SharR64, 0x8000_0000_0000_0000, 67),
        0xf000_0000_0000_0000
    );
    assert_eq!(binop(Opcode::ShloL64, 1, 64), 1);
    assert_eq!(binop(Opcode::RotR32, 0x1, 33), 0xffff_ffff_8000_0000);
    assert_eq!(binop(Opcode::RotL64, 0x8000_0000_0000_0001, 65), 3);
}

#[test]
fn signed_division_rules() {
    let min64 = 1u64 << 63;
    let m1 = u64::MAX;
    assert_eq!(binop(Opcode::DivS64, min64, m1), min64);
    assert_eq!(binop(Opcode::RemS64, min64, m1), 0);
    assert_eq!(binop(Opcode::DivS64, 9, 0), u64::MAX);
    assert_eq!(binop(Opcode::RemS64, 9, 0), 9);
    assert_eq!(binop(Opcode::DivU64, 9, 0), u64::MAX);
    assert_eq!(binop(Opcode::RemU64, 9, 0), 9);
    // −7 / 2 = −3 (towards zero), −7 smod 2 = −1.
    assert_eq!(binop(Opcode::DivS64, (-7i64) as u64, 2), (-3i64) as u64);
    assert_eq!(binop(Opcode::RemS64, (-7i64) as u64, 2), (-1i64) as u64);
    // 32-bit: the operands' high words are ignored.
    assert_eq!(
        binop(Opcode::DivS32, 0xdead_0000_8000_0000, 0xffff_ffff),
        0xffff_ffff_8000_0000
    );
    assert_eq!(binop(Opcode::RemS32, 0x8000_0000, 0xffff_ffff), 0);
    assert_eq!(binop(Opcode::DivU32, 7, 0x1_0000_0000), u64::MAX);
    assert_eq!(
        binop(Opcode::RemU32, 0x1_ffff_fff9, 0x1_0000_0000),
        0xffff_ffff_ffff_fff9
    );
}

#[test]
fn thirty_two_bit_results_are_sign_extended() {
    assert_eq!(binop(Opcode::Add32, 0x7fff_ffff, 1), 0xffff_ffff_8000_0000);
    assert_eq!(binop(Opcode::Sub32, 0, 1), u64::MAX);
    assert_eq!(
        binop(Opcode::Mul32, 0x1_0000_0001, 0x7fff_ffff),
        0x7fff_ffff
    );
    let (_, r, _) = exec(
        &[two(Opcode::SignExtend8, 2, 0), trap()],
        &[(0, 0x180)],
        Memory::new(),
    );
    assert_eq!(r[2], 0xffff_ffff_ffff_ff80);
    let (_, r, _) = exec(
        &[two(Opcode::ZeroExtend16, 2, 0), trap()],
        &[(0, u64::MAX)],
        Memory::new(),
    );
    assert_eq!(r[2], 0xffff);
    let (_, r, _) = exec(
        &[two_imm(Opcode::AddImm32, 2, 0, 0xffff_ffff), trap()],
        &[(0, 0)],
        Memory::new(),
    );
    assert_eq!(
        r[2],
        u64::MAX,
        "imm −1 added to 0 in 32 bits, sign-extended"
    );
    assert_eq!(binop(Opcode::MulUpperSU, u64::MAX, 2), u64::MAX);
}

#[test]
fn sbrk_extends_the_heap() {
    let mut mem = Memory::new();
    mem.set_heap_top(0x5_0000);
    // ω2 = sbrk(ω0); then store ω1 at [ω2] (store_ind_u64 ω1 → ω2 + 0); ω3 = sbrk(0).
    let prog = [
        two(Opcode::Sbrk, 2, 0),
        two_imm(Opcode::StoreIndU64, 1, 2, 0),
        two(Opcode::Sbrk, 3, 4),
        trap(),
    ];
    let (e, r, _) = exec(&prog, &[(0, 100), (1, 7)], mem);
    assert_eq!(e, ExitReason::Panic);
    assert_eq!(r[2], 0x5_0000, "the old top");
    assert_eq!(r[3], 0x5_0000 + 100, "the new top");
}

#[test]
fn gas_is_one_per_instruction_even_when_a_block_stops_early() {
    // Five adds and a trap; 3 gas: three adds run, the fourth is out of gas.
    let prog: Vec<Vec<u8>> = (0..5)
        .map(|_| two_imm(Opcode::AddImm64, 0, 0, 1))
        .chain([trap()])
        .collect();
    let program = Program::from_blob(&assemble(&prog)).unwrap();
    let mut m = Machine::new(&program, 0, 3, [0; 13], Memory::new());
    assert_eq!(m.run(), ExitReason::OutOfGas);
    assert_eq!((m.reg(0), m.gas(), m.pc()), (3, 0, 18));
    // A fault in the first instruction of a 4-instruction block costs 1.
    let mut mem = Memory::new();
    mem.set_access(0x2_0000, 1, Access::ReadOnly);
    let prog = [
        two_imm(Opcode::StoreIndU8, 0, 1, 0),
        two_imm(Opcode::AddImm64, 0, 0, 1),
        two_imm(Opcode::AddImm64, 0, 0, 1),
        trap(),
    ];
    let (e, r, gas) = exec(&prog, &[(1, 0x2_0010)], mem);
    assert_eq!(e, ExitReason::PageFault(0x2_0000));
    assert_eq!((r[0], gas), (0, 999));
}

struct Adder {
    calls: u32,
}

impl HostCalls for Adder {
    fn host_call(&mut self, id: u64, m: &mut Machine<'_>) -> HostOutcome {
        self.calls += 1;
        if id == 7 {
            m.set_reg(7, m.reg(7) + 10);
            HostOutcome::Continue
        } else {
            HostOutcome::Panic
        }
    }
}

#[test]
fn host_calls_resume_after_ecalli() {
    let prog = [
        vec![Opcode::Ecalli.code(), 7],
        vec![Opcode::Ecalli.code(), 7],
        vec![Opcode::Ecalli.code(), 0xff], // ν_X = X_1(0xff) = 2^64 − 1
        trap(),
    ];
    let program = Program::from_blob(&assemble(&prog)).unwrap();
    let mut m = Machine::new(&program, 0, 100, [0; 13], Memory::new());
    let mut host = Adder { calls: 0 };
    assert_eq!(run_with_host(&mut m, &mut host), ExitReason::Panic);
    assert_eq!((host.calls, m.reg(7), m.pc(), m.gas()), (3, 20, 4, 97));
    // Without a host, the raw exit carries the sign-extended identifier.
    let mut m = Machine::new(&program, 4, 100, [0; 13], Memory::new());
    assert_eq!(m.run(), ExitReason::HostCall(u64::MAX));
}

#[test]
fn standard_invocation_echoes_its_arguments() {
    // jump_ind ω0 + 0: ω0 = 2^32 − 2^16 after Y, so this halts with ω7, ω8 = the args.
    let code = assemble(&[vec![Opcode::JumpInd.code(), 0]]);
    let mut p = Vec::new();
    p.extend_from_slice(&[0, 0, 0]); // |o|
    p.extend_from_slice(&[0, 0, 0]); // |w|
    p.extend_from_slice(&[0, 0]); // z
    p.extend_from_slice(&[0, 0x10, 0]); // s = 4096
    p.extend_from_slice(&u32::try_from(code.len()).unwrap().to_le_bytes());
    p.extend_from_slice(&code);
    let (used, out) = invoke(&p, 0, 10, b"jam", &mut tessera_pvm::NoHostCalls);
    assert_eq!((used, out), (1, InvocationResult::Output(b"jam".to_vec())));
    // Truncated standard blob → Y fails → panic, no gas used.
    let (used, out) = invoke(&p[..p.len() - 1], 0, 10, b"", &mut tessera_pvm::NoHostCalls);
    assert_eq!((used, out), (0, InvocationResult::Panic));
}

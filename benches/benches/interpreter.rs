//! Instructions per second on a compute-heavy loop: Tessera's interpreter against
//! polkavm 0.30.0's interpreter (whose `JamV1` instruction set is GP v0.7.2's) on the
//! very same code blob. Run: `cargo bench -p tessera-benches --bench interpreter`.
//!
//! The loop body is 9 instructions of 64-bit arithmetic and a backward branch; the
//! iteration count sits in ω7 and the program halts through `jump_ind ω0` with
//! ω0 = 2^32 − 2^16. Throughput is counted in executed instructions (= gas used).

#![allow(missing_docs)] // criterion_group! generates an undocumented fn

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tessera_pvm::{ExitReason, Machine, Memory, Opcode, Program, HALT_ADDRESS};

const ITERATIONS: u64 = 200_000;
const BODY: u64 = 9;

/// `(jump table, code, opcode starts)` of the benchmark loop.
fn program() -> (Vec<u8>, Vec<bool>) {
    let three = |op: Opcode, d: u8, a: u8, b: u8| vec![op.code(), a | (b << 4), d];
    let imm = |op: Opcode, a: u8, b: u8, v: i32| {
        let mut x = vec![op.code(), a | (b << 4)];
        x.extend_from_slice(&v.to_le_bytes());
        x
    };
    let mut instrs = vec![
        three(Opcode::Add64, 1, 1, 2),
        three(Opcode::Xor, 2, 2, 1),
        three(Opcode::Mul64, 3, 3, 1),
        imm(Opcode::ShloRImm64, 4, 3, 7),
        three(Opcode::Add64, 5, 5, 4),
        imm(Opcode::AndImm, 6, 5, 0xff),
        three(Opcode::Sub64, 1, 1, 6),
        imm(Opcode::AddImm64, 7, 7, -1),
    ];
    let branch_pc: usize = instrs.iter().map(Vec::len).sum();
    // branch_ne_imm ω7, 0 → pc 0: l_X = 0, a 4-octet offset of −branch_pc.
    let mut branch = vec![Opcode::BranchNeImm.code(), 7];
    branch.extend_from_slice(&(-(i32::try_from(branch_pc).unwrap())).to_le_bytes());
    instrs.push(branch);
    instrs.push(vec![Opcode::JumpInd.code(), 0]);
    let mut code = Vec::new();
    let mut starts = Vec::new();
    for i in instrs {
        starts.push(true);
        starts.extend(std::iter::repeat_n(false, i.len() - 1));
        code.extend(i);
    }
    (code, starts)
}

fn initial_regs() -> [u64; 13] {
    let mut regs = [0u64; 13];
    regs[0] = u64::from(HALT_ADDRESS);
    regs[2] = 0x9e37_79b9_7f4a_7c15;
    regs[3] = 3;
    regs[7] = ITERATIONS;
    regs
}

fn bench(c: &mut Criterion) {
    let (code, starts) = program();
    let blob = Program::encode_blob(&[], &code, &starts);
    let instructions = ITERATIONS * BODY + 1;
    let mut group = c.benchmark_group("pvm_loop");
    group.throughput(Throughput::Elements(instructions));
    group.sample_size(20);

    let program = Program::from_blob(&blob).expect("bench program deblobs");
    group.bench_function("tessera", |b| {
        b.iter(|| {
            let mut m = Machine::new(&program, 0, i64::MAX, initial_regs(), Memory::new());
            let exit = m.run();
            assert_eq!(exit, ExitReason::Halt);
            assert_eq!(i64::MAX - m.gas(), i64::try_from(instructions).unwrap());
            m.reg(5)
        })
    });

    // polkavm 0.30.0: the same jump table, code and bitmask. Its varint and GP's
    // natural coincide below 128, which the code length stays under.
    assert!(code.len() < 128);
    let mut parts = polkavm::ProgramParts::empty(polkavm::program::InstructionSetKind::JamV1);
    parts.code_and_jump_table = blob.into();
    let pblob = polkavm::ProgramBlob::from_parts(parts).expect("polkavm parses the blob");
    let mut config = polkavm::Config::new();
    config.set_backend(Some(polkavm::BackendKind::Interpreter));
    let engine = polkavm::Engine::new(&config).expect("polkavm engine");
    let mut module_config = polkavm::ModuleConfig::new();
    module_config.set_gas_metering(Some(polkavm::GasMeteringKind::Sync));
    let module =
        polkavm::Module::from_blob(&engine, &module_config, pblob).expect("polkavm module");
    let mut instance = module.instantiate().expect("polkavm instance");
    let ours = {
        let mut m = Machine::new(&program, 0, i64::MAX, initial_regs(), Memory::new());
        m.run();
        m.regs()
    };
    group.bench_function("polkavm_0.30_interpreter", |b| {
        b.iter(|| {
            for (reg, v) in polkavm::Reg::ALL.iter().zip(initial_regs()) {
                instance.set_reg(*reg, v);
            }
            instance.set_gas(i64::MAX);
            instance.set_next_program_counter(polkavm::ProgramCounter(0));
            let exit = instance.run().expect("polkavm runs");
            assert!(matches!(exit, polkavm::InterruptKind::Finished), "{exit:?}");
            instance.reg(polkavm::Reg::A0)
        })
    });
    // Both interpreters must compute the same registers.
    for (i, reg) in polkavm::Reg::ALL.iter().enumerate() {
        assert_eq!(
            instance.reg(*reg),
            ours[i],
            "register {i} differs from polkavm"
        );
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

//! `tessera bench pvm` (issue 21): the same programs on Tessera's interpreter, its
//! recompiler, and polkavm 0.30.0's interpreter and recompiler (whose `JamV1`
//! instruction set is GP v0.7.2's), in one run, as instructions/s and ratios to
//! Tessera's interpreter.
//!
//! Workloads (each ends with `jump_ind ω0`, ω0 = 2^32 − 2^16, i.e. halt):
//! - `arith`: 9 instructions of 64-bit arithmetic and a backward branch (the loop of
//!   `benches/benches/interpreter.rs` and of `bench audit`'s refine);
//! - `memory`: u64 loads and stores (indirect) over 4 pages with a 136-octet stride;
//! - `branch`: a pseudo-random (LCG) data-dependent two-way branch per iteration;
//! - `fnv1a`: FNV-1a 64 over a 64 KiB buffer, one `load_ind_u8` per octet — the
//!   inner loop of the testnet service's refine;
//! - `hostcall`: an `ecalli` in every 4-instruction iteration, the host resuming at
//!   once: the host-call round trip.
//!
//! Executed instructions are gas used, which must agree between all backends (every
//! run halts at a block end, where polkavm's per-block gas and GP's per-instruction
//! gas agree), as must the final registers and the workload's pages. polkavm runs
//! with synchronous gas metering and dynamic paging. Compilation, instantiation and
//! page mapping are outside the timing; each timed run is one run to halt, median
//! of `reps`.
//!
//! The figures are single-threaded and name the CPU; the README has a run.
#![allow(clippy::as_conversions, clippy::cast_possible_truncation)]

use std::time::Instant;

use serde::Serialize;
use tessera_pvm::{
    run_with_host, Access, Backend, ExitReason, HostCalls, HostOutcome, Machine, Memory, Opcode,
    Program, HALT_ADDRESS,
};

/// Base of the workloads' writable pages.
const MEM_BASE: u32 = 0x2_0000;
/// Pages the memory workload touches.
const MEM_PAGES: u32 = 4;
/// Pages of the fnv1a workload's buffer (64 KiB).
const FNV_PAGES: u32 = 16;

/// A tiny assembler: instructions with 4-octet branch offsets patched to labels.
#[derive(Default)]
pub(crate) struct Asm {
    code: Vec<u8>,
    starts: Vec<bool>,
    labels: Vec<Option<u32>>,
    /// (offset position, instruction pc, label).
    fixups: Vec<(usize, u32, usize)>,
}

impl Asm {
    fn label(&mut self) -> usize {
        self.labels.push(None);
        self.labels.len() - 1
    }
    fn bind(&mut self, l: usize) {
        self.labels[l] = Some(self.code.len() as u32);
    }
    fn emit(&mut self, bytes: Vec<u8>) -> u32 {
        let pc = self.code.len() as u32;
        self.starts.push(true);
        self.starts
            .extend(std::iter::repeat_n(false, bytes.len() - 1));
        self.code.extend(bytes);
        pc
    }
    /// ω_d = ω_a op ω_b.
    fn three(&mut self, op: Opcode, d: u8, a: u8, b: u8) {
        self.emit(vec![op.code(), a | (b << 4), d]);
    }
    /// Two registers and an immediate: ω_a = ω_b op imm (loads: ω_a = μ[ω_b + imm];
    /// stores: μ[ω_b + imm] = ω_a).
    fn imm(&mut self, op: Opcode, a: u8, b: u8, v: i32) {
        let mut x = vec![op.code(), a | (b << 4)];
        x.extend_from_slice(&v.to_le_bytes());
        self.emit(x);
    }
    /// `branch_{eq,ne}_imm ω_r, 0 → label`.
    fn branch_imm0(&mut self, op: Opcode, r: u8, l: usize) {
        let pc = self.emit(vec![op.code(), r, 0, 0, 0, 0]);
        self.fixups.push((pc as usize + 2, pc, l));
    }
    fn jump(&mut self, l: usize) {
        let pc = self.emit(vec![Opcode::Jump.code(), 0, 0, 0, 0]);
        self.fixups.push((pc as usize + 1, pc, l));
    }
    fn halt(&mut self) {
        self.emit(vec![Opcode::JumpInd.code(), 0]);
    }
    fn blob(mut self) -> Vec<u8> {
        for (at, pc, l) in std::mem::take(&mut self.fixups) {
            let target = self.labels[l].expect("bound label");
            let off = i64::from(target) - i64::from(pc);
            self.code[at..at + 4].copy_from_slice(&(off as i32).to_le_bytes());
        }
        Program::encode_blob(&[], &self.code, &self.starts)
    }
}

/// One program with its initial registers and writable pages.
pub struct Workload {
    /// Its name in the table.
    pub name: &'static str,
    blob: Vec<u8>,
    regs: [u64; 13],
    /// Writable pages at MEM_BASE.
    pages: u32,
    /// Initial contents of those pages.
    fill: Vec<u8>,
}

fn regs_with(iters: u64, f: impl FnOnce(&mut [u64; 13])) -> [u64; 13] {
    let mut regs = [0u64; 13];
    regs[0] = u64::from(HALT_ADDRESS);
    regs[7] = iters;
    f(&mut regs);
    regs
}

fn arith(iters: u64) -> Workload {
    let mut a = Asm::default();
    let top = a.label();
    a.bind(top);
    a.three(Opcode::Add64, 1, 1, 2);
    a.three(Opcode::Xor, 2, 2, 1);
    a.three(Opcode::Mul64, 3, 3, 1);
    a.imm(Opcode::ShloRImm64, 4, 3, 7);
    a.three(Opcode::Add64, 5, 5, 4);
    a.imm(Opcode::AndImm, 6, 5, 0xff);
    a.three(Opcode::Sub64, 1, 1, 6);
    a.imm(Opcode::AddImm64, 7, 7, -1);
    a.branch_imm0(Opcode::BranchNeImm, 7, top);
    a.halt();
    Workload {
        name: "arith",
        blob: a.blob(),
        regs: regs_with(iters, |r| {
            r[2] = 0x9e37_79b9_7f4a_7c15;
            r[3] = 3;
        }),
        pages: 0,
        fill: Vec::new(),
    }
}

fn memory(iters: u64) -> Workload {
    let mut a = Asm::default();
    let top = a.label();
    a.bind(top);
    a.three(Opcode::Add64, 4, 1, 2); // ω4 = base + offset
    a.imm(Opcode::LoadIndU64, 5, 4, 0);
    a.three(Opcode::Add64, 5, 5, 7);
    a.imm(Opcode::StoreIndU64, 5, 4, 0);
    a.imm(Opcode::LoadIndU64, 6, 4, 8);
    a.three(Opcode::Xor, 6, 6, 5);
    a.imm(Opcode::StoreIndU64, 6, 4, 8);
    a.imm(Opcode::AddImm64, 2, 2, 136);
    a.imm(Opcode::AndImm, 2, 2, (MEM_PAGES * 4096 - 16) as i32);
    a.imm(Opcode::AddImm64, 7, 7, -1);
    a.branch_imm0(Opcode::BranchNeImm, 7, top);
    a.halt();
    Workload {
        name: "memory",
        blob: a.blob(),
        regs: regs_with(iters, |r| r[1] = u64::from(MEM_BASE)),
        pages: MEM_PAGES,
        fill: Vec::new(),
    }
}

fn branch(iters: u64) -> Workload {
    let mut a = Asm::default();
    let (top, odd, join) = (a.label(), a.label(), a.label());
    a.bind(top);
    a.three(Opcode::Mul64, 1, 1, 3); // LCG: ω1 = ω1 · a + c
    a.three(Opcode::Add64, 1, 1, 2);
    a.imm(Opcode::ShloRImm64, 4, 1, 33);
    a.imm(Opcode::AndImm, 4, 4, 1);
    a.branch_imm0(Opcode::BranchNeImm, 4, odd);
    a.imm(Opcode::AddImm64, 5, 5, 1);
    a.jump(join);
    a.bind(odd);
    a.imm(Opcode::AddImm64, 6, 6, 1);
    a.emit(vec![Opcode::Fallthrough.code()]);
    a.bind(join);
    a.imm(Opcode::AddImm64, 7, 7, -1);
    a.branch_imm0(Opcode::BranchNeImm, 7, top);
    a.halt();
    Workload {
        name: "branch",
        blob: a.blob(),
        regs: regs_with(iters, |r| {
            r[1] = 1;
            r[2] = 1_442_695_040_888_963_407;
            r[3] = 6_364_136_223_846_793_005;
        }),
        pages: 0,
        fill: Vec::new(),
    }
}

/// A large straight-line-heavy program for load/compile timing: `blocks` blocks of 15
/// arithmetic and memory instructions, each ending in a conditional branch to the next
/// block, then halt (about 75 octets of code per block).
fn big_program(blocks: usize) -> Vec<u8> {
    let mut a = Asm::default();
    for k in 0..blocks {
        let next = a.label();
        for j in 0..3u8 {
            a.three(Opcode::Add64, 1 + j, 1 + j, 2 + j);
            a.imm(Opcode::AddImm64, 4, 4, k as i32);
            a.imm(Opcode::LoadIndU64, 5, 1, 8 * i32::from(j));
            a.imm(Opcode::StoreIndU64, 5, 1, 64 + 8 * i32::from(j));
            a.three(Opcode::Mul64, 6, 6, 5);
        }
        a.branch_imm0(Opcode::BranchNeImm, 7, next);
        a.bind(next);
    }
    a.halt();
    a.blob()
}

/// FNV-1a 64 over `FNV_PAGES` pages: per octet `load_ind_u8`, `xor`, `mul_64` by the
/// FNV prime, pointer and counter steps, and the loop branch (6 instructions).
fn fnv1a(passes: u64) -> Workload {
    let mut a = Asm::default();
    let (outer, top) = (a.label(), a.label());
    a.bind(outer);
    a.imm(Opcode::AddImm64, 4, 8, 0); // ω4 = buffer start
    a.imm(Opcode::AddImm64, 9, 10, 0); // ω9 = octets left
    a.emit(vec![Opcode::Fallthrough.code()]);
    a.bind(top);
    a.imm(Opcode::LoadIndU8, 5, 4, 0);
    a.three(Opcode::Xor, 1, 1, 5);
    a.three(Opcode::Mul64, 1, 1, 2);
    a.imm(Opcode::AddImm64, 4, 4, 1);
    a.imm(Opcode::AddImm64, 9, 9, -1);
    a.branch_imm0(Opcode::BranchNeImm, 9, top);
    a.imm(Opcode::AddImm64, 7, 7, -1);
    a.branch_imm0(Opcode::BranchNeImm, 7, outer);
    a.halt();
    let len = FNV_PAGES * 4096;
    Workload {
        name: "fnv1a",
        blob: a.blob(),
        regs: regs_with(passes, |r| {
            r[1] = 0xcbf2_9ce4_8422_2325;
            r[2] = 0x100_0000_01b3;
            r[8] = u64::from(MEM_BASE);
            r[10] = u64::from(len);
        }),
        pages: FNV_PAGES,
        fill: (0..len)
            .map(|k| (k.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect(),
    }
}
/// Services every host call by continuing (no gas, no effect).
struct Continue;

impl HostCalls for Continue {
    fn host_call(&mut self, _id: u64, _machine: &mut Machine<'_>) -> HostOutcome {
        HostOutcome::Continue
    }
}

/// `ecalli 0` in every iteration of a 4-instruction loop: the cost of a host-call
/// round trip (the host does nothing and resumes).
fn hostcall(iters: u64) -> Workload {
    let mut a = Asm::default();
    let top = a.label();
    a.bind(top);
    a.imm(Opcode::AddImm64, 1, 1, 1);
    a.emit(vec![Opcode::Ecalli.code(), 0]);
    a.imm(Opcode::AddImm64, 7, 7, -1);
    a.branch_imm0(Opcode::BranchNeImm, 7, top);
    a.halt();
    Workload {
        name: "hostcall",
        blob: a.blob(),
        regs: regs_with(iters, |_| {}),
        pages: 0,
        fill: Vec::new(),
    }
}

/// One timed run: (seconds, instructions, registers, the workload's pages).
type Run = (f64, u64, Vec<u64>, Vec<u8>);

fn run_tessera(w: &Workload, program: &Program, backend: Backend) -> Run {
    let mut memory = Memory::new();
    if w.pages > 0 {
        memory.set_range_access(MEM_BASE, w.pages * 4096, Access::Writable);
        memory.poke(MEM_BASE, &w.fill);
    }
    let gas = i64::MAX;
    let mut m = Machine::new(program, 0, gas, w.regs, memory);
    m.set_backend(backend);
    let t = Instant::now();
    let exit = run_with_host(&mut m, &mut Continue);
    let s = t.elapsed().as_secs_f64();
    assert_eq!(exit, ExitReason::Halt, "{}", w.name);
    let mut pages = vec![0u8; (w.pages * 4096) as usize];
    m.memory.peek(MEM_BASE, &mut pages);
    (s, (gas - m.gas()) as u64, m.regs().to_vec(), pages)
}

/// polkavm configurations: (name, backend, sandboxing enabled).
const POLKAVM: &[(&str, polkavm::BackendKind, bool)] = &[
    (
        "polkavm-interpreter",
        polkavm::BackendKind::Interpreter,
        true,
    ),
    // The production configuration: Linux sandbox with dynamic paging.
    ("polkavm-recompiler", polkavm::BackendKind::Compiler, true),
    // The same code generator without the sandbox's namespaces (experimental in
    // polkavm): where the production sandbox cannot start (it needs
    // `vm.unprivileged_userfaultfd=1`), this still measures its generated code.
    (
        "polkavm-recompiler-nosandbox",
        polkavm::BackendKind::Compiler,
        false,
    ),
];

fn polkavm_engine(kind: polkavm::BackendKind, sandboxing: bool) -> Result<polkavm::Engine, String> {
    let mut config = polkavm::Config::new();
    config.set_backend(Some(kind));
    config.set_allow_dynamic_paging(true);
    config.set_worker_count(1);
    if !sandboxing {
        config.set_allow_experimental(true);
        config.set_sandboxing_enabled(false);
    }
    polkavm::Engine::new(&config).map_err(|e| e.to_string())
}

fn polkavm_instance(
    engine: &polkavm::Engine,
    w: &Workload,
) -> Result<polkavm::RawInstance, String> {
    let mut parts = polkavm::ProgramParts::empty(polkavm::program::InstructionSetKind::JamV1);
    parts.code_and_jump_table = w.blob.clone().into();
    let blob = polkavm::ProgramBlob::from_parts(parts).map_err(|e| e.to_string())?;
    let mut mc = polkavm::ModuleConfig::new();
    mc.set_gas_metering(Some(polkavm::GasMeteringKind::Sync));
    mc.set_dynamic_paging(true);
    let module = polkavm::Module::from_blob(engine, &mc, blob).map_err(|e| e.to_string())?;
    module.instantiate().map_err(|e| e.to_string())
}

fn run_polkavm(inst: &mut polkavm::RawInstance, w: &Workload) -> Result<Run, String> {
    if w.pages > 0 {
        inst.zero_memory_with_memory_protection(
            MEM_BASE,
            w.pages * 4096,
            polkavm::MemoryProtection::ReadWrite,
        )
        .map_err(|e| e.to_string())?;
        inst.write_memory(MEM_BASE, &w.fill)
            .map_err(|e| e.to_string())?;
    }
    for (reg, v) in polkavm::Reg::ALL.iter().zip(w.regs) {
        inst.set_reg(*reg, v);
    }
    let gas = i64::MAX;
    inst.set_gas(gas);
    inst.set_next_program_counter(polkavm::ProgramCounter(0));
    let t = Instant::now();
    let exit = loop {
        match inst.run().map_err(|e| e.to_string())? {
            // A host call that does nothing: resume after the ecalli.
            polkavm::InterruptKind::Ecalli(_) => continue,
            other => break other,
        }
    };
    let s = t.elapsed().as_secs_f64();
    if !matches!(exit, polkavm::InterruptKind::Finished) {
        return Err(format!("{}: stopped with {exit:?}", w.name));
    }
    let regs = polkavm::Reg::ALL.iter().map(|r| inst.reg(*r)).collect();
    let pages = if w.pages > 0 {
        inst.read_memory(MEM_BASE, w.pages * 4096)
            .map_err(|e| e.to_string())?
    } else {
        vec![]
    };
    Ok((s, (gas - inst.gas()) as u64, regs, pages))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// One row of `bench pvm`.
#[derive(Clone, Debug, Serialize)]
pub struct Record {
    /// The workload (`load` for program preparation).
    pub workload: String,
    /// The backend.
    pub backend: String,
    /// Instructions executed (gas used); 0 for `load`.
    pub instructions: u64,
    /// Median seconds of one run.
    pub seconds: f64,
    /// Instructions per second.
    pub instructions_per_second: f64,
    /// Tessera's interpreter's time over this backend's (higher is faster).
    pub speedup_vs_interpreter: f64,
    /// Why the backend could not run, if it could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unavailable: Option<String>,
}

/// What to run.
#[derive(Clone, Debug)]
pub struct PvmConfig {
    /// Loop iterations of the compute workloads.
    pub iterations: u64,
    /// Timed repetitions (the median is reported).
    pub reps: usize,
    /// Also run polkavm 0.30.0.
    pub polkavm: bool,
}

/// The workloads at `iterations`.
pub fn workloads(iterations: u64) -> Vec<Workload> {
    vec![
        arith(iterations),
        memory(iterations),
        branch(iterations),
        fnv1a((iterations / 65_536).max(1) * 6),
        hostcall((iterations / 10).max(1)),
    ]
}

/// Run every workload on every backend; panics if two backends disagree (a bench of
/// a wrong result is no figure).
pub fn measure(config: &PvmConfig) -> Vec<Record> {
    let reps = config.reps.max(1);
    let mut records = Vec::new();
    // Program preparation: deblob + pre-decode, then translation, of a large program.
    let big = big_program(20_000);
    let load = median(
        (0..reps)
            .map(|_| {
                let t = Instant::now();
                let p = Program::from_blob(&big).expect("the bench's own blob deblobs");
                let s = t.elapsed().as_secs_f64();
                std::hint::black_box(p);
                s
            })
            .collect(),
    );
    let compile = median(
        (0..reps)
            .map(|_| {
                let p = Program::from_blob(&big).expect("the bench's own blob deblobs");
                let t = Instant::now();
                let compiled = p.prepare(Backend::Recompiler);
                let s = t.elapsed().as_secs_f64();
                std::hint::black_box(compiled);
                s
            })
            .collect(),
    );
    let row = |workload: &str, backend: &str, instructions: u64, seconds: f64, base: f64| Record {
        workload: workload.into(),
        backend: backend.into(),
        instructions,
        seconds,
        instructions_per_second: if instructions == 0 {
            0.0
        } else {
            instructions as f64 / seconds
        },
        speedup_vs_interpreter: base / seconds,
        unavailable: None,
    };
    records.push(row(
        "load (20,000 blocks, 320,001 instructions)",
        "interpreter: deblob + pre-decode",
        0,
        load,
        load,
    ));
    records.push(row(
        "load (20,000 blocks, 320,001 instructions)",
        "recompiler: translation after pre-decode",
        0,
        compile,
        load,
    ));
    let engines: Vec<(&str, Result<polkavm::Engine, String>)> = if config.polkavm {
        POLKAVM
            .iter()
            .map(|(name, kind, sandboxing)| (*name, polkavm_engine(*kind, *sandboxing)))
            .collect()
    } else {
        Vec::new()
    };
    for w in workloads(config.iterations) {
        let program = Program::from_blob(&w.blob).expect("the bench's own blob deblobs");
        let (_, instrs, regs, pages) = run_tessera(&w, &program, Backend::Interpreter);
        let base = median(
            (0..reps)
                .map(|_| run_tessera(&w, &program, Backend::Interpreter).0)
                .collect(),
        );
        records.push(row(w.name, "tessera-interpreter", instrs, base, base));
        let check = run_tessera(&w, &program, Backend::Recompiler);
        assert!(
            check.1 == instrs && check.2 == regs && check.3 == pages,
            "{}: the recompiler disagrees with the interpreter",
            w.name
        );
        let t = median(
            (0..reps)
                .map(|_| run_tessera(&w, &program, Backend::Recompiler).0)
                .collect(),
        );
        records.push(row(w.name, "tessera-recompiler", instrs, t, base));
        for (name, engine) in &engines {
            let measured = engine.as_ref().map_err(Clone::clone).and_then(|engine| {
                let mut inst = polkavm_instance(engine, &w)?;
                let (_, p_instrs, p_regs, p_pages) = run_polkavm(&mut inst, &w)?;
                if p_instrs != instrs || p_regs != regs || p_pages != pages {
                    return Err("result differs from Tessera's (gas, registers or memory)".into());
                }
                let times = (0..reps)
                    .map(|_| run_polkavm(&mut inst, &w).map(|r| r.0))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(median(times))
            });
            records.push(match measured {
                Ok(t) => row(w.name, name, instrs, t, base),
                Err(e) => Record {
                    unavailable: Some(e),
                    ..row(w.name, name, instrs, f64::NAN, base)
                },
            });
        }
    }
    records
}

/// Print the records as a table.
pub fn print_table(records: &[Record]) {
    println!(
        "{:<44} {:<42} {:>12} {:>11} {:>12} {:>9}",
        "workload", "backend", "instructions", "median ms", "instr/s", "vs interp"
    );
    for r in records {
        match &r.unavailable {
            Some(why) => {
                // The root cause is the useful part of polkavm's nested error text.
                let short = why.rsplit("root cause: ").next().unwrap_or(why);
                println!("{:<44} {:<42} unavailable: {short}", r.workload, r.backend)
            }
            None => println!(
                "{:<44} {:<42} {:>12} {:>11.3} {:>12.3e} {:>8.2}x",
                r.workload,
                r.backend,
                r.instructions,
                r.seconds * 1e3,
                r.instructions_per_second,
                r.speedup_vs_interpreter
            ),
        }
    }
}

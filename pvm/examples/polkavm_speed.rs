//! Issue 21, step 1: instructions per second of Tessera's interpreter, polkavm 0.30.0's
//! interpreter and polkavm 0.30.0's recompiler on the same GP code blobs.
//!
//! Workloads (each ends with `jump_ind ω0`, ω0 = 2^32 − 2^16, i.e. halt):
//! - `arith`: the loop of `benches/benches/interpreter.rs` (9 instructions of 64-bit
//!   arithmetic and a backward branch);
//! - `memory`: loads and stores (u64, indirect) over 4 pages with a 136-octet stride;
//! - `branch`: a pseudo-random (LCG) data-dependent two-way branch per iteration;
//! - `hostcall`: an `ecalli` in every 4-instruction iteration, the host resuming at
//!   once (a tenth of the iterations): the host-call round trip.
//!
//! Executed instructions are counted as gas used, which must agree between the three
//! (every run halts at a block end, where per-block and per-instruction gas agree),
//! as must the final registers and the memory workload's pages. polkavm runs with synchronous gas metering, in the
//! configurations of examples/polkavm_reuse.rs: dynamic paging (what GP's arbitrary
//! page maps need) except `compiler-static`. Module compilation, instantiation and
//! page mapping are outside the timing; each timed run is one `run()` to halt.
//!
//! Run: `cargo run --release -p tessera-pvm --example polkavm_speed -- [--reps N]
//! [--iters N]`.

use std::time::Instant;

use tessera_pvm::{
    run_with_host, Access, Backend, ExitReason, HostCalls, HostOutcome, Machine, Memory, Opcode,
    Program, HALT_ADDRESS,
};

/// Base of the memory workload's pages.
const MEM_BASE: u32 = 0x2_0000;
/// Pages the memory workload touches.
const MEM_PAGES: u32 = 4;

/// A tiny assembler: instructions with 4-octet branch offsets patched to labels.
#[derive(Default)]
struct Asm {
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

struct Workload {
    name: &'static str,
    blob: Vec<u8>,
    regs: [u64; 13],
    /// Writable pages at MEM_BASE.
    pages: u32,
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
    }
}

/// One timed run: (seconds, instructions, registers, the workload's pages).
type Run = (f64, u64, Vec<u64>, Vec<u8>);

fn run_tessera(w: &Workload, program: &Program, backend: Backend) -> Run {
    let mut memory = Memory::new();
    if w.pages > 0 {
        memory.set_range_access(MEM_BASE, w.pages * 4096, Access::Writable);
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

/// A polkavm configuration: (name, backend, sandbox, sandboxing enabled, dynamic paging).
type Variant = (
    &'static str,
    polkavm::BackendKind,
    Option<polkavm::SandboxKind>,
    bool,
    bool,
);

/// The configurations of examples/polkavm_reuse.rs (`polkavm-compiler`, the Linux
/// sandbox with dynamic paging, needs userfaultfd inside the sandbox's user namespace).
const VARIANTS: &[Variant] = &[
    (
        "polkavm-interp",
        polkavm::BackendKind::Interpreter,
        None,
        true,
        true,
    ),
    (
        "polkavm-compiler",
        polkavm::BackendKind::Compiler,
        Some(polkavm::SandboxKind::Linux),
        true,
        true,
    ),
    (
        "compiler-nosandbox",
        polkavm::BackendKind::Compiler,
        Some(polkavm::SandboxKind::Linux),
        false,
        true,
    ),
    (
        "compiler-generic",
        polkavm::BackendKind::Compiler,
        Some(polkavm::SandboxKind::Generic),
        true,
        true,
    ),
    (
        "compiler-static",
        polkavm::BackendKind::Compiler,
        Some(polkavm::SandboxKind::Linux),
        true,
        false,
    ),
];

fn polkavm_instance(
    engine: &polkavm::Engine,
    dynamic: bool,
    w: &Workload,
) -> Result<polkavm::RawInstance, String> {
    let mut parts = polkavm::ProgramParts::empty(polkavm::program::InstructionSetKind::JamV1);
    parts.code_and_jump_table = w.blob.clone().into();
    if !dynamic {
        // polkavm's fixed map: with no RO data, RW data starts at 0x20000 = MEM_BASE.
        parts.rw_data_size = w.pages * 4096;
    }
    let blob = polkavm::ProgramBlob::from_parts(parts).map_err(|e| e.to_string())?;
    let mut mc = polkavm::ModuleConfig::new();
    mc.set_gas_metering(Some(polkavm::GasMeteringKind::Sync));
    mc.set_dynamic_paging(dynamic);
    let module = polkavm::Module::from_blob(engine, &mc, blob).map_err(|e| e.to_string())?;
    module.instantiate().map_err(|e| e.to_string())
}

fn run_polkavm(inst: &mut polkavm::RawInstance, dynamic: bool, w: &Workload) -> Run {
    if !dynamic {
        inst.reset_memory().expect("reset memory");
    } else if w.pages > 0 {
        inst.zero_memory_with_memory_protection(
            MEM_BASE,
            w.pages * 4096,
            polkavm::MemoryProtection::ReadWrite,
        )
        .expect("map pages");
    }
    for (reg, v) in polkavm::Reg::ALL.iter().zip(w.regs) {
        inst.set_reg(*reg, v);
    }
    let gas = i64::MAX;
    inst.set_gas(gas);
    inst.set_next_program_counter(polkavm::ProgramCounter(0));
    let t = Instant::now();
    let exit = loop {
        match inst.run().expect("polkavm runs") {
            // A host call that does nothing: resume after the ecalli.
            polkavm::InterruptKind::Ecalli(_) => continue,
            other => break other,
        }
    };
    let s = t.elapsed().as_secs_f64();
    assert!(
        matches!(exit, polkavm::InterruptKind::Finished),
        "{}: {exit:?}",
        w.name
    );
    let regs = polkavm::Reg::ALL.iter().map(|r| inst.reg(*r)).collect();
    let pages = if w.pages > 0 {
        inst.read_memory(MEM_BASE, w.pages * 4096)
            .expect("read pages")
    } else {
        vec![]
    };
    (s, (gas - inst.gas()) as u64, regs, pages)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

fn main() {
    let mut reps = 7usize;
    let mut iters = 2_000_000u64;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--reps" => reps = args.next().and_then(|v| v.parse().ok()).expect("--reps N"),
            "--iters" => iters = args.next().and_then(|v| v.parse().ok()).expect("--iters N"),
            _ => panic!("unknown argument {a}"),
        }
    }
    println!(
        "CPU: {} ({} logical CPUs visible); reps {reps}, iterations {iters}, median shown",
        cpu_model(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let mut engines = Vec::new();
    for &(name, kind, sandbox, sandboxing, dynamic) in VARIANTS {
        let mut config = polkavm::Config::new();
        config.set_backend(Some(kind));
        config.set_allow_dynamic_paging(dynamic);
        config.set_sandbox(sandbox);
        config.set_worker_count(1);
        if !sandboxing || sandbox == Some(polkavm::SandboxKind::Generic) {
            config.set_allow_experimental(true);
        }
        config.set_sandboxing_enabled(sandboxing);
        match polkavm::Engine::new(&config) {
            Ok(e) => engines.push((name, e, dynamic)),
            Err(e) => println!("{name}: engine unavailable: {e}"),
        }
    }
    // Load time: Tessera's deblob + pre-decode against polkavm's module build (parse,
    // compile for the recompiler) + instantiate.
    let blocks = 20_000;
    let big = big_program(blocks);
    let load_tessera = median(
        (0..reps)
            .map(|_| {
                let t = Instant::now();
                let p = Program::from_blob(&big).expect("deblob");
                let s = t.elapsed().as_secs_f64();
                assert!(p.code_len() > 0);
                s
            })
            .collect(),
    );
    println!(
        "load: {} octets of code blob ({} blocks, {} instructions): tessera Program::from_blob {:.2} ms",
        big.len(),
        blocks,
        blocks * 16 + 1,
        load_tessera * 1e3
    );
    for (name, engine, dynamic) in &engines {
        let w = Workload {
            name: "big",
            blob: big.clone(),
            regs: [0; 13],
            pages: 0,
        };
        let mut failed = None;
        let times: Vec<f64> = (0..reps)
            .map(|_| {
                let t = Instant::now();
                if let Err(e) = polkavm_instance(engine, *dynamic, &w) {
                    failed = Some(e);
                }
                t.elapsed().as_secs_f64()
            })
            .collect();
        match failed {
            Some(e) => println!("load: {name}: failed: {e}"),
            None => {
                let t = median(times);
                println!(
                    "load: {name}: Module::from_blob + instantiate {:.2} ms ({:.1}x tessera)",
                    t * 1e3,
                    t / load_tessera
                )
            }
        }
    }
    println!();
    println!(
        "{:<8} {:<18} {:>12} {:>10} {:>14} {:>9} {:>11}",
        "workload", "backend", "instructions", "median ms", "instr/s", "vs tessera", "ns/iter"
    );
    for w in [
        arith(iters),
        memory(iters),
        branch(iters),
        hostcall(iters / 10),
    ] {
        let program = Program::from_blob(&w.blob).expect("deblob");
        let (_, instrs, regs, pages) = run_tessera(&w, &program, Backend::Interpreter);
        let times: Vec<f64> = (0..reps)
            .map(|_| run_tessera(&w, &program, Backend::Interpreter).0)
            .collect();
        let base = median(times);
        let iterations = w.regs[7] as f64;
        println!(
            "{:<8} {:<18} {:>12} {:>10.2} {:>14.3e} {:>9.2} {:>11.2}",
            w.name,
            "tessera",
            instrs,
            base * 1e3,
            instrs as f64 / base,
            1.0,
            base * 1e9 / iterations
        );
        {
            let (_, r_instrs, r_regs, r_pages) = run_tessera(&w, &program, Backend::Recompiler);
            assert_eq!(r_instrs, instrs, "{} recompiler: gas used differs", w.name);
            assert_eq!(r_regs, regs, "{} recompiler: registers differ", w.name);
            assert!(r_pages == pages, "{} recompiler: memory differs", w.name);
            let times: Vec<f64> = (0..reps)
                .map(|_| run_tessera(&w, &program, Backend::Recompiler).0)
                .collect();
            let t = median(times);
            println!(
                "{:<8} {:<18} {:>12} {:>10.2} {:>14.3e} {:>9.2} {:>11.2}",
                w.name,
                "tessera-recompiler",
                r_instrs,
                t * 1e3,
                r_instrs as f64 / t,
                base / t,
                t * 1e9 / iterations
            );
        }
        for (name, engine, dynamic) in &engines {
            let dynamic = *dynamic;
            let mut inst = match polkavm_instance(engine, dynamic, &w) {
                Ok(i) => i,
                Err(e) => {
                    println!("{:<8} {name:<17} cannot run: {e}", w.name);
                    continue;
                }
            };
            let (_, p_instrs, p_regs, p_pages) = run_polkavm(&mut inst, dynamic, &w);
            assert_eq!(p_instrs, instrs, "{} {name}: gas used differs", w.name);
            assert_eq!(p_regs, regs, "{} {name}: registers differ", w.name);
            assert!(p_pages == pages, "{} {name}: memory differs", w.name);
            let times: Vec<f64> = (0..reps)
                .map(|_| run_polkavm(&mut inst, dynamic, &w).0)
                .collect();
            let t = median(times);
            println!(
                "{:<8} {name:<18} {:>12} {:>10.2} {:>14.3e} {:>9.2} {:>11.2}",
                w.name,
                p_instrs,
                t * 1e3,
                p_instrs as f64 / t,
                base / t,
                t * 1e9 / iterations
            );
        }
    }
}

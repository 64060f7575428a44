//! Issue 21, step 1: can polkavm 0.30.0's recompiler be Tessera's PVM backend?
//!
//! Runs every PVM vector (`pvm/programs/*.json`) on each backend and compares each
//! run with the expected result, field by field (status, page-fault address, pc,
//! registers, gas, the page map's pages):
//! - `tessera`: Tessera's interpreter ([`Machine`], GP v0.7.2 gas, one unit per
//!   instruction), as `conformance/tests/pvm.rs` runs it;
//! - polkavm 0.30.0 in the configurations of [`VARIANTS`]: its interpreter, and its
//!   recompiler (`BackendKind::Compiler`) in the Linux sandbox (production), in the
//!   Linux sandbox with sandboxing disabled, in the generic sandbox, and in the Linux
//!   sandbox without dynamic paging (fixed memory map);
//! - `adapted-compiler`, `adapted-generic`: the recompiler behind a prototype adapter
//!   to GP v0.7.2 ([`PolkaVm::run_adapted`]).
//!
//! polkavm runs the GP code blob unchanged (`ProgramParts::code_and_jump_table`,
//! `InstructionSetKind::JamV1`) with synchronous gas metering, and (except
//! `compiler-static`) dynamic paging, the only way to give it arbitrary page maps.
//!
//! After the vectors, `probes` run cases the vectors lack (out-of-gas and host calls
//! mid-block, addresses below 2^16, entry mid-block, sbrk), with Tessera's result as
//! the reference.
//!
//! Two references are checked (see conformance/tests/pvm.rs for the two exceptions):
//! - `gp-v0.7.2`: the vector, except that the STOPPING_PC files' pc is GP v0.7.2's 0
//!   after halt/panic, and the PER_BLOCK_GAS files' gas is the per-instruction charge
//!   (the vector's per-block gas plus the instructions of the faulting block after the
//!   faulting one, counted statically from the blob).
//! - `vector`: the file exactly as published (pc of the stopping instruction for the
//!   STOPPING_PC files, per-block gas for the PER_BLOCK_GAS files).
//!
//! Run: `cargo run --release -p tessera-pvm --example polkavm_reuse -- [DIR] [--json]
//! [--backend NAME]... [--quiet]`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;
use serde_json::json;
use tessera_pvm::{
    run_with_host, Access, ExitReason, HostCalls, HostOutcome, Machine, Memory, Opcode, Program,
    HALT_ADDRESS, PAGE_SIZE, REGISTER_COUNT,
};

/// Files whose expected gas is the per-basic-block charge (conformance/tests/pvm.rs).
const PER_BLOCK_GAS: &[&str] = &[
    "inst_store_imm_indirect_u16_with_offset_nok",
    "inst_store_imm_indirect_u32_with_offset_nok",
    "inst_store_imm_indirect_u64_with_offset_nok",
    "inst_store_imm_indirect_u8_with_offset_nok",
    "inst_store_imm_u8_trap_inaccessible",
    "inst_store_indirect_u16_with_offset_nok",
    "inst_store_indirect_u32_with_offset_nok",
    "inst_store_indirect_u64_with_offset_nok",
    "inst_store_indirect_u8_with_offset_nok",
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct PageMapEntry {
    address: u32,
    length: u32,
    is_writable: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Chunk {
    address: u32,
    contents: Vec<u8>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Case {
    name: String,
    initial_regs: Vec<u64>,
    initial_pc: u32,
    initial_page_map: Vec<PageMapEntry>,
    initial_memory: Vec<Chunk>,
    initial_gas: i64,
    program: Vec<u8>,
    expected_status: String,
    expected_regs: Vec<u64>,
    expected_pc: u32,
    expected_memory: Vec<Chunk>,
    expected_gas: i64,
    #[serde(default)]
    expected_page_fault_address: Option<u32>,
    /// The sbrk heap top (probes only; the vectors have none).
    #[serde(default)]
    heap_top: Option<u32>,
}

/// What a run produced (or what a reference expects).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Observed {
    status: String,
    fault_address: Option<u32>,
    regs: Vec<u64>,
    /// The pc GP v0.7.2 reports (0 after halt/panic).
    gp_pc: u32,
    /// The pc of the instruction that stopped.
    stop_pc: u32,
    gas: i64,
    /// Contents of every page of the page map (None: could not be read).
    pages: BTreeMap<u32, Option<Vec<u8>>>,
}

/// The reference a run is compared with.
#[derive(Debug, Clone)]
struct Expected {
    status: String,
    fault_address: Option<u32>,
    regs: Vec<u64>,
    pc: u32,
    /// Compare `pc` with the stopping pc instead of GP's.
    pc_is_stop_pc: bool,
    gas: i64,
    pages: BTreeMap<u32, Vec<u8>>,
}

fn page_addresses(case: &Case) -> Vec<u32> {
    let mut out = Vec::new();
    for p in &case.initial_page_map {
        let first = p.address / PAGE_SIZE;
        let count = p.length.div_ceil(PAGE_SIZE);
        for page in first..first.saturating_add(count) {
            out.push(page * PAGE_SIZE);
        }
    }
    out
}

fn expected_pages(case: &Case) -> Result<BTreeMap<u32, Vec<u8>>, String> {
    let mut want: BTreeMap<u32, Vec<u8>> = page_addresses(case)
        .into_iter()
        .map(|a| (a, vec![0u8; PAGE_SIZE as usize]))
        .collect();
    for c in &case.expected_memory {
        for (k, byte) in c.contents.iter().enumerate() {
            let addr = c.address.wrapping_add(k as u32);
            let page = addr / PAGE_SIZE * PAGE_SIZE;
            match want.get_mut(&page) {
                Some(p) => p[(addr - page) as usize] = *byte,
                None => return Err(format!("expected-memory at {addr:#x} outside the page map")),
            }
        }
    }
    Ok(want)
}

fn references(case: &Case, program: Option<&Program>) -> Result<(Expected, Expected), String> {
    let pages = expected_pages(case)?;
    let vector = Expected {
        status: case.expected_status.clone(),
        fault_address: case.expected_page_fault_address,
        regs: case.expected_regs.clone(),
        pc: case.expected_pc,
        // The vector reports the stopping pc; GP v0.7.2 reports 0 after halt/panic. For
        // the STOPPING_PC files these differ; comparing the stopping pc with the vector
        // is the vector's own convention.
        pc_is_stop_pc: true,
        gas: case.expected_gas,
        pages,
    };
    let mut gp = vector.clone();
    gp.pc_is_stop_pc = false;
    if matches!(case.expected_status.as_str(), "halt" | "panic") {
        gp.pc = 0;
    }
    if PER_BLOCK_GAS.contains(&case.name.as_str()) {
        let program = program.ok_or("blob does not deblob")?;
        let code = code_of(&case.program).ok_or("no code")?;
        let rest = block_positions(program, code)
            .get(&case.expected_pc)
            .map_or(0, |b| b.1);
        gp.gas = case.expected_gas + rest;
    }
    Ok((gp, vector))
}

/// Services every host call by continuing (no gas, no effect).
struct Continue;

impl HostCalls for Continue {
    fn host_call(&mut self, _id: u64, _machine: &mut Machine<'_>) -> HostOutcome {
        HostOutcome::Continue
    }
}

/// Tessera's interpreter; `resume` continues after every host call (Ψ_H with a host
/// that does nothing), otherwise a host call stops the run.
fn run_tessera(case: &Case, resume: bool) -> Result<Observed, String> {
    let program = Program::from_blob(&case.program).map_err(|e| format!("deblob: {e}"))?;
    let mut memory = Memory::new();
    for p in &case.initial_page_map {
        let access = if p.is_writable {
            Access::Writable
        } else {
            Access::ReadOnly
        };
        memory.set_range_access(p.address, p.length, access);
    }
    for c in &case.initial_memory {
        memory.poke(c.address, &c.contents);
    }
    if let Some(top) = case.heap_top {
        memory.set_heap_top(top);
    }
    let regs: [u64; REGISTER_COUNT] = case
        .initial_regs
        .as_slice()
        .try_into()
        .map_err(|_| "initial-regs: not 13".to_string())?;
    let mut m = Machine::new(&program, case.initial_pc, case.initial_gas, regs, memory);
    let exit = if resume {
        run_with_host(&mut m, &mut Continue)
    } else {
        m.run()
    };
    Ok(observed_from(case, &m, exit))
}

/// What a finished Tessera machine shows.
fn observed_from(case: &Case, m: &Machine<'_>, exit: ExitReason) -> Observed {
    let (status, fault_address) = match exit {
        ExitReason::Halt => ("halt", None),
        ExitReason::Panic => ("panic", None),
        ExitReason::OutOfGas => ("out-of-gas", None),
        ExitReason::PageFault(a) => ("page-fault", Some(a)),
        ExitReason::HostCall(_) => ("host", None),
    };
    let gp_pc = match exit {
        ExitReason::Halt | ExitReason::Panic => 0,
        _ => m.pc(),
    };
    let pages = page_addresses(case)
        .into_iter()
        .map(|a| {
            let mut buf = vec![0u8; PAGE_SIZE as usize];
            m.memory.peek(a, &mut buf);
            (a, Some(buf))
        })
        .collect();
    Observed {
        status: status.into(),
        fault_address,
        regs: m.regs().to_vec(),
        gp_pc,
        stop_pc: m.pc(),
        gas: m.gas(),
        pages,
    }
}

fn regs_of(inst: &polkavm::RawInstance) -> [u64; REGISTER_COUNT] {
    let mut regs = [0u64; REGISTER_COUNT];
    for (r, reg) in regs.iter_mut().zip(polkavm::Reg::ALL) {
        *r = inst.reg(reg);
    }
    regs
}

/// How a polkavm backend is configured.
#[derive(Debug, Clone, Copy)]
struct Variant {
    name: &'static str,
    backend: polkavm::BackendKind,
    sandbox: Option<polkavm::SandboxKind>,
    /// `Config::set_sandboxing_enabled` (false needs `allow_experimental`).
    sandboxing: bool,
    /// Dynamic paging (arbitrary page maps, `Segfault` interrupts); otherwise
    /// polkavm's fixed memory map, where a fault is a `Trap`.
    dynamic: bool,
    /// Run behind the prototype GP v0.7.2 adapter ([`PolkaVm::run_adapted`]).
    adapt: bool,
}

/// Every polkavm configuration measured.
const VARIANTS: &[Variant] = &[
    Variant {
        name: "polkavm-interp",
        backend: polkavm::BackendKind::Interpreter,
        sandbox: None,
        sandboxing: true,
        dynamic: true,
        adapt: false,
    },
    // The production configuration: recompiler in the Linux sandbox, dynamic paging.
    Variant {
        name: "polkavm-compiler",
        backend: polkavm::BackendKind::Compiler,
        sandbox: Some(polkavm::SandboxKind::Linux),
        sandboxing: true,
        dynamic: true,
        adapt: false,
    },
    // The same recompiled code, but the worker is not put in new namespaces.
    Variant {
        name: "compiler-nosandbox",
        backend: polkavm::BackendKind::Compiler,
        sandbox: Some(polkavm::SandboxKind::Linux),
        sandboxing: false,
        dynamic: true,
        adapt: false,
    },
    // The experimental in-process sandbox (signal handlers, no worker process).
    Variant {
        name: "compiler-generic",
        backend: polkavm::BackendKind::Compiler,
        sandbox: Some(polkavm::SandboxKind::Generic),
        sandboxing: true,
        dynamic: true,
        adapt: false,
    },
    // Linux sandbox without dynamic paging: the vectors' page maps laid onto polkavm's
    // fixed map (RO data at 0x10000, RW data at 0x20000 or 0x30000).
    Variant {
        name: "compiler-static",
        backend: polkavm::BackendKind::Compiler,
        sandbox: Some(polkavm::SandboxKind::Linux),
        sandboxing: true,
        dynamic: false,
        adapt: false,
    },
    // The recompiler (sandboxing off, as the sandboxed one cannot run here) behind the
    // prototype adapter: per-instruction gas refunds, GP's panic below 2^16, and
    // Tessera's interpreter to finish a run polkavm stops short (out of gas).
    Variant {
        name: "adapted-compiler",
        backend: polkavm::BackendKind::Compiler,
        sandbox: Some(polkavm::SandboxKind::Linux),
        sandboxing: false,
        dynamic: true,
        adapt: true,
    },
    Variant {
        name: "adapted-generic",
        backend: polkavm::BackendKind::Compiler,
        sandbox: Some(polkavm::SandboxKind::Generic),
        sandboxing: true,
        dynamic: true,
        adapt: true,
    },
];

/// `c` of a GP code blob `E(|j|) ⌢ E_1(z) ⌢ E(|c|) ⌢ E_z(j) ⌢ E(c) ⌢ E(k)` (A.2).
fn code_of(blob: &[u8]) -> Option<&[u8]> {
    fn natural(b: &[u8], at: &mut usize) -> Option<u64> {
        let first = *b.get(*at)?;
        *at += 1;
        let l = first.leading_ones() as usize;
        if l == 8 {
            let v = u64::from_le_bytes(b.get(*at..*at + 8)?.try_into().ok()?);
            *at += 8;
            return Some(v);
        }
        let mut v = u64::from(first) & ((1u64 << (8 - l)) - 1);
        v <<= 8 * l;
        for (i, x) in b.get(*at..*at + l)?.iter().enumerate() {
            v |= u64::from(*x) << (8 * i);
        }
        *at += l;
        Some(v)
    }
    let mut at = 0;
    let count = natural(blob, &mut at)? as usize;
    let z = *blob.get(at)? as usize;
    at += 1;
    let len = natural(blob, &mut at)? as usize;
    at += count * z;
    blob.get(at..at + len)
}

/// Per instruction start: (instructions of its basic block before it, after it); a
/// block whose last instruction is not a terminator runs into the implicit `trap`
/// past the end of the code (ζ is extended with zeros, A.2), counted as one more.
fn block_positions(program: &Program, code: &[u8]) -> BTreeMap<u32, (i64, i64)> {
    let mut out = BTreeMap::new();
    let mut block: Vec<u32> = Vec::new();
    let mut pc = 0;
    let close = |block: &mut Vec<u32>, out: &mut BTreeMap<u32, (i64, i64)>, implicit: i64| {
        let n = block.len() as i64;
        for (i, p) in block.drain(..).enumerate() {
            out.insert(p, (i as i64, n - 1 - i as i64 + implicit));
        }
    };
    while pc < program.code_len() {
        block.push(pc);
        let terminator = Opcode::from_u8(code[pc as usize]).is_none_or(|o| o.is_terminator());
        pc = program.next_pc(pc);
        if terminator || pc >= program.code_len() {
            close(&mut block, &mut out, i64::from(!terminator));
        }
    }
    out
}

/// A polkavm engine for one variant.
struct PolkaVm {
    variant: Variant,
    engine: polkavm::Engine,
}

/// RO and RW data (size, contents) for polkavm's fixed memory map, when the page map
/// fits it: RO pages from 0x10000, RW pages from 0x10000 + 0x10000 + the RO zone.
/// A data region of polkavm's fixed map: (size, initial contents).
type Region = (u32, Vec<u8>);

fn static_layout(case: &Case) -> Result<(Region, Region), String> {
    let ro: Vec<&PageMapEntry> = case
        .initial_page_map
        .iter()
        .filter(|p| !p.is_writable)
        .collect();
    let rw: Vec<&PageMapEntry> = case
        .initial_page_map
        .iter()
        .filter(|p| p.is_writable)
        .collect();
    let span = |ps: &[&PageMapEntry], at: u32| -> Result<u32, String> {
        let mut next = at;
        for p in ps {
            if p.address != next {
                return Err(format!(
                    "page map not expressible in polkavm's fixed map: {:#x} (want {next:#x})",
                    p.address
                ));
            }
            next += p.length.div_ceil(PAGE_SIZE) * PAGE_SIZE;
        }
        Ok(next - at)
    };
    let ro_size = span(&ro, 0x1_0000)?;
    let rw_at = 0x2_0000 + ro_size.div_ceil(0x1_0000) * 0x1_0000;
    let rw_size = span(&rw, rw_at)?;
    let fill = |at: u32, size: u32| {
        let mut v = vec![0u8; size as usize];
        for c in &case.initial_memory {
            for (k, b) in c.contents.iter().enumerate() {
                let a = c.address.wrapping_add(k as u32);
                if a >= at && a < at + size {
                    v[(a - at) as usize] = *b;
                }
            }
        }
        v
    };
    Ok((
        (ro_size, fill(0x1_0000, ro_size)),
        (rw_size, fill(rw_at, rw_size)),
    ))
}

impl PolkaVm {
    fn new(variant: Variant) -> Result<Self, String> {
        let mut config = polkavm::Config::new();
        config.set_backend(Some(variant.backend));
        config.set_allow_dynamic_paging(variant.dynamic);
        config.set_sandbox(variant.sandbox);
        config.set_worker_count(1);
        if !variant.sandboxing || variant.sandbox == Some(polkavm::SandboxKind::Generic) {
            config.set_allow_experimental(true);
        }
        config.set_sandboxing_enabled(variant.sandboxing);
        let engine = polkavm::Engine::new(&config).map_err(|e| format!("engine: {e}"))?;
        Ok(PolkaVm { variant, engine })
    }

    fn instantiate(&self, case: &Case) -> Result<polkavm::RawInstance, String> {
        let mut parts = polkavm::ProgramParts::empty(polkavm::program::InstructionSetKind::JamV1);
        parts.code_and_jump_table = case.program.clone().into();
        if !self.variant.dynamic {
            let ((ro_size, ro), (rw_size, rw)) = static_layout(case)?;
            parts.ro_data_size = ro_size;
            parts.ro_data = ro.into();
            parts.rw_data_size = rw_size;
            parts.rw_data = rw.into();
        }
        let blob = polkavm::ProgramBlob::from_parts(parts).map_err(|e| format!("blob: {e}"))?;
        let mut mc = polkavm::ModuleConfig::new();
        mc.set_gas_metering(Some(polkavm::GasMeteringKind::Sync));
        mc.set_dynamic_paging(self.variant.dynamic);
        let module = polkavm::Module::from_blob(&self.engine, &mc, blob)
            .map_err(|e| format!("module: {e}"))?;
        module
            .instantiate()
            .map_err(|e| format!("instantiate: {e}"))
    }

    /// The prototype adapter: polkavm's result turned into GP v0.7.2's.
    /// - entry mid-block: polkavm charges the whole block, so credit the instructions
    ///   before the entry first;
    /// - trap, page fault, host call at pc: refund the instructions of the block after
    ///   pc (charged on entry, not executed); on resuming after a host call, charge them
    ///   again;
    /// - a page fault below 2^16 is a panic;
    /// - out of gas (polkavm stops before a block it cannot pay for in full, or the
    ///   recharge after a host call goes negative), or an entry that is not an
    ///   instruction start: hand registers, gas and the mapped pages to Tessera's
    ///   interpreter, which finishes the run (GP runs the block up to the last
    ///   instruction it can pay for; every such handover ends the run).
    fn run_adapted(
        &self,
        case: &Case,
        mut inst: polkavm::RawInstance,
        resume: bool,
    ) -> Result<Observed, String> {
        let program = Program::from_blob(&case.program).map_err(|e| format!("deblob: {e}"))?;
        let blocks = block_positions(&program, code_of(&case.program).ok_or("no code")?);
        let Some(&(before, _)) = blocks.get(&case.initial_pc) else {
            // Not an instruction start: Tessera's interpreter decodes there.
            let regs = case
                .initial_regs
                .as_slice()
                .try_into()
                .map_err(|_| "initial-regs")?;
            return Self::hand_over(
                case,
                &program,
                &inst,
                regs,
                case.initial_pc,
                case.initial_gas,
                resume,
            );
        };
        for (reg, v) in polkavm::Reg::ALL.iter().zip(&case.initial_regs) {
            inst.set_reg(*reg, *v);
        }
        inst.set_gas(case.initial_gas + before);
        inst.set_next_program_counter(polkavm::ProgramCounter(case.initial_pc));
        let rest = |pc: u32| blocks.get(&pc).map_or(0, |b| b.1);
        let (status, fault_address) = loop {
            let interrupt = inst.run().map_err(|e| format!("run: {e}"))?;
            let pc = inst.program_counter().map(|p| p.0);
            match interrupt {
                polkavm::InterruptKind::Finished => break ("halt", None),
                polkavm::InterruptKind::Trap => {
                    inst.set_gas(inst.gas() + rest(pc.unwrap_or(0)));
                    break ("panic", None);
                }
                polkavm::InterruptKind::Segfault(s) => {
                    inst.set_gas(inst.gas() + rest(pc.unwrap_or(0)));
                    if s.page_address < 0x1_0000 {
                        break ("panic", None);
                    }
                    break ("page-fault", Some(s.page_address));
                }
                polkavm::InterruptKind::Ecalli(_) => {
                    let pc = pc.unwrap_or(0);
                    let gas = inst.gas() + rest(pc);
                    if !resume {
                        inst.set_gas(gas);
                        break ("host", None);
                    }
                    // (The host call would run here, seeing `gas`.)
                    let after = gas - rest(pc);
                    if after < 0 {
                        let next = program.next_pc(pc);
                        return Self::hand_over(
                            case,
                            &program,
                            &inst,
                            regs_of(&inst),
                            next,
                            gas,
                            resume,
                        );
                    }
                    inst.set_gas(after);
                }
                polkavm::InterruptKind::NotEnoughGas => {
                    let pc = pc.unwrap_or(0);
                    let gas = inst.gas();
                    return Self::hand_over(case, &program, &inst, regs_of(&inst), pc, gas, resume);
                }
                polkavm::InterruptKind::Step => {}
            }
        };
        let stop_pc = inst.program_counter().map_or(u32::MAX, |pc| pc.0);
        let gp_pc = if matches!(status, "halt" | "panic") {
            0
        } else {
            stop_pc
        };
        let pages = page_addresses(case)
            .into_iter()
            .map(|a| (a, inst.read_memory(a, PAGE_SIZE).ok()))
            .collect();
        Ok(Observed {
            status: status.into(),
            fault_address,
            regs: polkavm::Reg::ALL.iter().map(|r| inst.reg(*r)).collect(),
            gp_pc,
            stop_pc,
            gas: inst.gas(),
            pages,
        })
    }

    /// Finish on Tessera's interpreter from `pc` with `gas`, polkavm's registers and
    /// the mapped pages (with their access) copied over.
    fn hand_over(
        case: &Case,
        program: &Program,
        inst: &polkavm::RawInstance,
        regs: [u64; REGISTER_COUNT],
        pc: u32,
        gas: i64,
        resume: bool,
    ) -> Result<Observed, String> {
        let mut memory = Memory::new();
        for p in &case.initial_page_map {
            let access = if p.is_writable {
                Access::Writable
            } else {
                Access::ReadOnly
            };
            memory.set_range_access(p.address, p.length, access);
        }
        for a in page_addresses(case) {
            let page = inst
                .read_memory(a, PAGE_SIZE)
                .map_err(|e| format!("hand-over: page {a:#x}: {e}"))?;
            memory.poke(a, &page);
        }
        if let Some(top) = case.heap_top {
            memory.set_heap_top(top);
        }
        let mut m = Machine::new(program, pc, gas, regs, memory);
        let exit = if resume {
            run_with_host(&mut m, &mut Continue)
        } else {
            m.run()
        };
        Ok(observed_from(case, &m, exit))
    }

    /// Run `case`; a panic inside polkavm is reported as an error.
    fn run(&self, case: &Case, resume: bool) -> Result<Observed, String> {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.run_inner(case, resume)
        }))
        .unwrap_or_else(|e| {
            let msg = e
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| e.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            Err(format!("polkavm panicked: {msg}"))
        })
    }

    fn run_inner(&self, case: &Case, resume: bool) -> Result<Observed, String> {
        let mut inst = self.instantiate(case)?;
        if self.variant.dynamic {
            // The page map: map every page read-write, write the initial contents, then
            // protect the read-only ones.
            for p in &case.initial_page_map {
                inst.zero_memory_with_memory_protection(
                    p.address,
                    p.length,
                    polkavm::MemoryProtection::ReadWrite,
                )
                .map_err(|e| format!("page map {:#x}+{:#x}: {e}", p.address, p.length))?;
            }
            for c in &case.initial_memory {
                inst.write_memory(c.address, &c.contents)
                    .map_err(|e| format!("initial memory at {:#x}: {e}", c.address))?;
            }
            for p in case.initial_page_map.iter().filter(|p| !p.is_writable) {
                inst.protect_memory(p.address, p.length)
                    .map_err(|e| format!("protect {:#x}+{:#x}: {e}", p.address, p.length))?;
            }
        }
        for (reg, v) in polkavm::Reg::ALL.iter().zip(&case.initial_regs) {
            inst.set_reg(*reg, *v);
        }
        if self.variant.adapt {
            return self.run_adapted(case, inst, resume);
        }
        inst.set_gas(case.initial_gas);
        inst.set_next_program_counter(polkavm::ProgramCounter(case.initial_pc));
        let (status, fault_address) = loop {
            match inst.run().map_err(|e| format!("run: {e}"))? {
                polkavm::InterruptKind::Finished => break ("halt", None),
                polkavm::InterruptKind::Trap => break ("panic", None),
                polkavm::InterruptKind::NotEnoughGas => break ("out-of-gas", None),
                polkavm::InterruptKind::Segfault(s) => break ("page-fault", Some(s.page_address)),
                polkavm::InterruptKind::Ecalli(_) if resume => continue,
                polkavm::InterruptKind::Ecalli(_) => break ("host", None),
                polkavm::InterruptKind::Step => continue,
            }
        };
        let stop_pc = inst.program_counter().map_or(u32::MAX, |pc| pc.0);
        let gp_pc = if matches!(status, "halt" | "panic") {
            0
        } else {
            stop_pc
        };
        let pages = page_addresses(case)
            .into_iter()
            .map(|a| (a, inst.read_memory(a, PAGE_SIZE).ok()))
            .collect();
        Ok(Observed {
            status: status.into(),
            fault_address,
            regs: polkavm::Reg::ALL.iter().map(|r| inst.reg(*r)).collect(),
            gp_pc,
            stop_pc,
            gas: inst.gas(),
            pages,
        })
    }
}

/// The fields of `got` that differ from `want`, with what each is.
fn diff(got: &Observed, want: &Expected) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if got.status != want.status {
        out.push(("status", format!("{} (want {})", got.status, want.status)));
    } else if got.fault_address != want.fault_address {
        out.push((
            "fault-address",
            format!("{:x?} (want {:x?})", got.fault_address, want.fault_address),
        ));
    }
    let pc = if want.pc_is_stop_pc {
        got.stop_pc
    } else {
        got.gp_pc
    };
    if pc != want.pc {
        out.push(("pc", format!("{pc} (want {})", want.pc)));
    }
    if got.regs != want.regs {
        let which: Vec<String> = got
            .regs
            .iter()
            .zip(&want.regs)
            .enumerate()
            .filter(|(_, (g, w))| g != w)
            .map(|(i, (g, w))| format!("r{i}={g:#x} (want {w:#x})"))
            .collect();
        out.push(("registers", which.join(" ")));
    }
    if got.gas != want.gas {
        out.push((
            "gas",
            format!("{} (want {}, {:+})", got.gas, want.gas, got.gas - want.gas),
        ));
    }
    let bad: Vec<String> = want
        .pages
        .iter()
        .filter_map(|(a, w)| match got.pages.get(a) {
            Some(Some(g)) if g == w => None,
            Some(Some(g)) => {
                let at = g.iter().zip(w).position(|(x, y)| x != y).unwrap_or(0);
                Some(format!("{:#x}: first diff at +{at:#x}", a))
            }
            _ => Some(format!("{a:#x}: unreadable")),
        })
        .collect();
    if !bad.is_empty() {
        out.push(("memory", bad.join(", ")));
    }
    out
}

/// The mismatch class of a file: status dominates; otherwise the differing fields.
fn class(fields: &[(&'static str, String)]) -> String {
    if fields.iter().any(|(f, _)| *f == "status") {
        return "status".into();
    }
    let names: Vec<&str> = fields.iter().map(|(f, _)| *f).collect();
    if names.len() == 1 {
        format!("{} only", names[0])
    } else {
        names.join("+")
    }
}

#[derive(Default)]
struct Tally {
    exact: usize,
    /// class → files (with details).
    classes: BTreeMap<String, Vec<(String, String)>>,
}

/// Encodings for the probes (GP A.5): `add_imm_64 ω1, ω1, 1`, `ecalli 7`, `jump_ind ω0`
/// (halt, ω0 = 2^32 − 2^16), `load_u64 ω2, [addr]`, `store_u64 [addr], ω2`.
fn add1() -> Vec<u8> {
    vec![Opcode::AddImm64.code(), 0x11, 1, 0, 0, 0]
}
fn ecalli7() -> Vec<u8> {
    vec![Opcode::Ecalli.code(), 7]
}
fn halt() -> Vec<u8> {
    vec![Opcode::JumpInd.code(), 0]
}
fn load_u64(addr: u32) -> Vec<u8> {
    let mut v = vec![Opcode::LoadU64.code(), 2];
    v.extend_from_slice(&addr.to_le_bytes());
    v
}
fn store_u64(addr: u32) -> Vec<u8> {
    let mut v = vec![Opcode::StoreU64.code(), 2];
    v.extend_from_slice(&addr.to_le_bytes());
    v
}
fn sbrk(d: u8, a: u8) -> Vec<u8> {
    // sbrk ω_d ← ω_a (A.5.9: r_D low nibble, r_A high nibble).
    vec![Opcode::Sbrk.code(), d | (a << 4)]
}

/// One probe: a case the vectors lack, whose reference is Tessera's own run.
struct Probe {
    name: &'static str,
    what: &'static str,
    case: Case,
    /// Continue after every host call instead of stopping there.
    resume: bool,
}

fn probe_case(
    name: &str,
    instrs: Vec<Vec<u8>>,
    pc: u32,
    gas: i64,
    pages: Vec<(u32, bool)>,
) -> Case {
    let mut code = Vec::new();
    let mut starts = Vec::new();
    for i in instrs {
        starts.push(true);
        starts.extend(std::iter::repeat_n(false, i.len() - 1));
        code.extend(i);
    }
    let mut regs = vec![0u64; 13];
    regs[0] = u64::from(HALT_ADDRESS);
    regs[1] = 4096;
    regs[2] = 0x1122_3344_5566_7788;
    Case {
        name: name.into(),
        initial_regs: regs,
        initial_pc: pc,
        initial_page_map: pages
            .into_iter()
            .map(|(address, is_writable)| PageMapEntry {
                address,
                length: PAGE_SIZE,
                is_writable,
            })
            .collect(),
        initial_memory: vec![],
        initial_gas: gas,
        program: Program::encode_blob(&[], &code, &starts),
        expected_status: String::new(),
        expected_regs: vec![],
        expected_pc: 0,
        expected_memory: vec![],
        expected_gas: 0,
        expected_page_fault_address: None,
        heap_top: None,
    }
}

fn probes() -> Vec<Probe> {
    let adds = |n: usize| std::iter::repeat_with(add1).take(n).collect::<Vec<_>>();
    let with = |mut a: Vec<Vec<u8>>, b: Vec<Vec<u8>>| {
        a.extend(b);
        a
    };
    vec![
        Probe {
            name: "oog_mid_block",
            what: "block of 5 add + halt with gas 3: GP runs 3 adds, then out-of-gas",
            case: probe_case("oog_mid_block", with(adds(5), vec![halt()]), 0, 3, vec![]),
            resume: false,
        },
        Probe {
            name: "ecalli_mid_block",
            what: "add, ecalli 7, add, add, halt (one block), stop at the host call: gas seen by the host",
            case: probe_case(
                "ecalli_mid_block",
                with(vec![add1(), ecalli7()], with(adds(2), vec![halt()])),
                0,
                100,
                vec![],
            ),
            resume: false,
        },
        Probe {
            name: "ecalli_mid_block_resumed",
            what: "the same, host call serviced (nothing done) and resumed to halt",
            case: probe_case(
                "ecalli_mid_block_resumed",
                with(vec![add1(), ecalli7()], with(adds(2), vec![halt()])),
                0,
                100,
                vec![],
            ),
            resume: true,
        },
        Probe {
            name: "ecalli_then_oog",
            what: "add, ecalli 7, add×4, halt with gas 4, resumed: GP runs add, ecalli, 2 adds, then out-of-gas",
            case: probe_case(
                "ecalli_then_oog",
                with(vec![add1(), ecalli7()], with(adds(4), vec![halt()])),
                0,
                4,
                vec![],
            ),
            resume: true,
        },
        Probe {
            name: "load_0x8000_mid_block",
            what: "add, load_u64 [0x8000], add, add, halt: below 2^16 is a panic in GP",
            case: probe_case(
                "load_0x8000_mid_block",
                with(vec![add1(), load_u64(0x8000)], with(adds(2), vec![halt()])),
                0,
                100,
                vec![],
            ),
            resume: false,
        },
        Probe {
            name: "load_0x1000_mid_block",
            what: "add, load_u64 [0x1000], add, add, halt: panic in GP",
            case: probe_case(
                "load_0x1000_mid_block",
                with(vec![add1(), load_u64(0x1000)], with(adds(2), vec![halt()])),
                0,
                100,
                vec![],
            ),
            resume: false,
        },
        Probe {
            name: "fault_mid_block",
            what: "add, load_u64 [0x30000] (unmapped), add, add, halt: page fault mid-block",
            case: probe_case(
                "fault_mid_block",
                with(vec![add1(), load_u64(0x3_0000)], with(adds(2), vec![halt()])),
                0,
                100,
                vec![],
            ),
            resume: false,
        },
        Probe {
            name: "store_cross_page",
            what: "store_u64 [0x20ffc] with only page 0x20000 writable: fault at 0x21000, nothing written",
            case: probe_case(
                "store_cross_page",
                vec![store_u64(0x2_0ffc), halt()],
                0,
                100,
                vec![(0x2_0000, true)],
            ),
            resume: false,
        },
        Probe {
            name: "store_read_only",
            what: "store_u64 [0x20008] to a read-only page: page fault at 0x20000",
            case: probe_case(
                "store_read_only",
                vec![store_u64(0x2_0008), halt()],
                0,
                100,
                vec![(0x2_0000, false)],
            ),
            resume: false,
        },
        Probe {
            name: "enter_mid_block",
            what: "4 adds + halt, entered at the 3rd add (pc 12): GP charges 3",
            case: probe_case("enter_mid_block", with(adds(4), vec![halt()]), 12, 100, vec![]),
            resume: false,
        },
        Probe {
            name: "enter_unaligned",
            what: "add_imm_64 (6 octets) + halt, entered at pc 2, inside the add: octet 1 there is `fallthrough`",
            case: probe_case("enter_unaligned", vec![add1(), halt()], 2, 100, vec![]),
            resume: false,
        },
        Probe {
            name: "oog_enter_mid_block",
            what: "4 adds + halt entered at pc 12 with gas 3: GP runs add, add, halt exactly",
            case: probe_case("oog_enter_mid_block", with(adds(4), vec![halt()]), 12, 3, vec![]),
            resume: false,
        },
        Probe {
            name: "sbrk",
            what: "sbrk ω2 ← ω1 = 4096; sbrk ω3 ← ω1; halt, heap top 0x20000 (polkavm's heap base here): GP returns the old top",
            case: {
                let mut c = probe_case(
                    "sbrk",
                    vec![sbrk(2, 1), sbrk(3, 1), halt()],
                    0,
                    100,
                    vec![],
                );
                c.heap_top = Some(0x2_0000);
                c
            },
            resume: false,
        },
    ]
}

fn short(o: &Observed) -> String {
    format!(
        "{}{} pc={} gas={} ω1={} ω2={:#x} ω3={:#x}",
        o.status,
        o.fault_address
            .map_or(String::new(), |a| format!("@{a:#x}")),
        o.stop_pc,
        o.gas,
        o.regs[1],
        o.regs[2],
        o.regs[3]
    )
}

/// One probe on one polkavm variant, as a line (the child-process side of `--probe`).
fn probe_line(vm: &Result<PolkaVm, String>, p: &Probe) -> String {
    let reference = run_tessera(&p.case, p.resume).expect("tessera runs the probe");
    let want = Expected {
        status: reference.status.clone(),
        fault_address: reference.fault_address,
        regs: reference.regs.clone(),
        // GP's pc (0 after halt/panic): polkavm reports no pc after `Finished`.
        pc: reference.gp_pc,
        pc_is_stop_pc: false,
        gas: reference.gas,
        pages: reference
            .pages
            .iter()
            .map(|(a, c)| (*a, c.clone().unwrap_or_default()))
            .collect(),
    };
    let got = match vm {
        Ok(vm) => vm.run(&p.case, p.resume),
        Err(e) => Err(e.clone()),
    };
    match &got {
        Ok(o) => {
            let d = diff(o, &want);
            let verdict = if d.is_empty() {
                "same".to_string()
            } else {
                format!("DIFFERS [{}]", class(&d))
            };
            format!("{}  {verdict}", short(o))
        }
        Err(e) => format!("could not run: {e}"),
    }
}

fn run_probes(
    engines: &BTreeMap<&str, Result<PolkaVm, String>>,
    as_json: bool,
) -> serde_json::Value {
    let mut out = Vec::new();
    if !as_json {
        println!();
        println!("PROBES (reference: Tessera's interpreter = GP v0.7.2; pc shown is the stopping pc, compared is GP's pc)");
    }
    for p in probes() {
        let reference = run_tessera(&p.case, p.resume).expect("tessera runs the probe");
        if !as_json {
            println!("{}: {}", p.name, p.what);
            println!("  {:<17} {}", "tessera", short(&reference));
        }
        let mut row = serde_json::Map::new();
        row.insert("probe".into(), json!(p.name));
        row.insert("tessera".into(), json!(short(&reference)));
        for name in engines.keys() {
            // Each polkavm run is a child process: some abort the process (a panic in
            // an `extern "C"` polkavm function cannot be caught).
            let child = std::process::Command::new(std::env::current_exe().expect("own path"))
                .args(["--probe", p.name, "--backend", name])
                .output()
                .expect("spawn the probe");
            let line = if child.status.success() {
                String::from_utf8_lossy(&child.stdout).trim().to_string()
            } else {
                let err = String::from_utf8_lossy(&child.stderr);
                let mut lines = err.lines();
                let at = lines.find(|l| l.contains("panicked at")).unwrap_or("");
                let msg = lines.next().unwrap_or("");
                format!("PROCESS ABORTED ({}): {at} {msg}", child.status)
            };
            if !as_json {
                println!("  {name:<17} {line}");
            }
            row.insert((*name).into(), json!(line));
        }
        out.push(serde_json::Value::Object(row));
    }
    serde_json::Value::Array(out)
}

fn main() {
    let mut dir: Option<PathBuf> = None;
    let mut as_json = false;
    let mut quiet = false;
    let mut only: Vec<String> = Vec::new();
    let mut probe: Option<String> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--json" => as_json = true,
            "--quiet" => quiet = true,
            "--backend" => only.push(args.next().expect("--backend NAME")),
            "--probe" => probe = Some(args.next().expect("--probe NAME")),
            _ => dir = Some(PathBuf::from(a)),
        }
    }
    // Default: ../shared/vectors/pvm/programs beside the repository root.
    let dir = dir.unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors/pvm/programs")
    });
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();

    let backends: Vec<&str> = std::iter::once("tessera")
        .chain(VARIANTS.iter().map(|v| v.name))
        .filter(|b| only.is_empty() || only.iter().any(|o| o == b))
        .collect();
    let mut engines: BTreeMap<&str, Result<PolkaVm, String>> = BTreeMap::new();
    for v in VARIANTS.iter().filter(|v| backends.contains(&v.name)) {
        let e = PolkaVm::new(*v);
        if let Err(e) = &e {
            eprintln!("{}: cannot create the engine: {e}", v.name);
        }
        engines.insert(v.name, e);
    }

    if let Some(name) = probe {
        let p = probes()
            .into_iter()
            .find(|p| p.name == name)
            .expect("known probe");
        let (_, vm) = engines
            .iter()
            .next()
            .expect("--probe needs one polkavm --backend");
        println!("{}", probe_line(vm, &p));
        return;
    }

    let refs = ["gp-v0.7.2", "vector"];
    // (backend, reference) → tally.
    let mut tallies: BTreeMap<(&str, &str), Tally> = BTreeMap::new();
    let mut per_file = Vec::new();
    for path in &files {
        let file = path.file_stem().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(path).expect("read vector");
        let case: Case = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
        let program = Program::from_blob(&case.program).ok();
        let (gp, vector) = match references(&case, program.as_ref()) {
            Ok(r) => r,
            Err(e) => panic!("{file}: reference: {e}"),
        };
        let mut file_json = serde_json::Map::new();
        for backend in &backends {
            let got = match *backend {
                "tessera" => run_tessera(&case, false),
                b => match &engines[b] {
                    Ok(vm) => vm.run(&case, false),
                    Err(e) => Err(format!("engine: {e}")),
                },
            };
            let mut b_json = serde_json::Map::new();
            for (r, want) in refs.iter().zip([&gp, &vector]) {
                let tally = tallies.entry((backend, r)).or_default();
                let (cls, detail) = match &got {
                    Err(e) => {
                        let what = e
                            .split(|c: char| c == ':' || c.is_ascii_digit())
                            .next()
                            .unwrap_or(e)
                            .trim();
                        (format!("could not load/run: {what}"), e.clone())
                    }
                    Ok(got) => {
                        let d = diff(got, want);
                        if d.is_empty() {
                            tally.exact += 1;
                            b_json.insert((*r).into(), json!("exact"));
                            continue;
                        }
                        let detail = d
                            .iter()
                            .map(|(f, s)| format!("{f}: {s}"))
                            .collect::<Vec<_>>()
                            .join("; ");
                        (class(&d), detail)
                    }
                };
                if !quiet && !as_json {
                    println!("MISMATCH {backend} vs {r} {file}: [{cls}] {detail}");
                }
                b_json.insert((*r).into(), json!({"class": cls, "detail": detail}));
                tally
                    .classes
                    .entry(cls)
                    .or_default()
                    .push((file.clone(), detail));
            }
            file_json.insert((*backend).into(), serde_json::Value::Object(b_json));
        }
        per_file.push(json!({"file": file, "results": file_json}));
    }

    if as_json {
        let probe_results = run_probes(&engines, true);
        let summary: Vec<_> = tallies
            .iter()
            .map(|((b, r), t)| {
                let classes: serde_json::Map<String, serde_json::Value> = t
                    .classes
                    .iter()
                    .map(|(c, fs)| {
                        (
                            c.clone(),
                            json!({"count": fs.len(), "files": fs.iter().map(|(f, _)| f).collect::<Vec<_>>()}),
                        )
                    })
                    .collect();
                json!({"backend": b, "reference": r, "files": files.len(), "exact": t.exact, "mismatches": classes})
            })
            .collect();
        let out = json!({"dir": dir.display().to_string(), "summary": summary, "probes": probe_results, "files": per_file});
        println!("{}", serde_json::to_string_pretty(&out).unwrap());
        return;
    }

    println!();
    println!("SUMMARY ({} files in {})", files.len(), dir.display());
    for ((b, r), t) in &tallies {
        println!("{b:>17} vs {r:<9}: {:>3}/{} exact", t.exact, files.len());
        for (c, fs) in &t.classes {
            let examples: Vec<&str> = fs.iter().take(3).map(|(f, _)| f.as_str()).collect();
            println!(
                "{:>34} {:>3}  {c}  e.g. {}",
                "",
                fs.len(),
                examples.join(", ")
            );
        }
    }
    run_probes(&engines, false);
}

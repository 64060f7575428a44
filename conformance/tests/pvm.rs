//! The PVM vectors (`pvm/programs/*.json`, w3f jamtestvectors PVM tests v0.4): each
//! file runs one program blob from an initial pc, gas, register file, page map and
//! memory with GP Ψ (A.1) and compares status, registers, pc, memory and gas exactly.
//!
//! The vectors predate GP v0.7.2 in two known ways (shared/README.md). Each is an
//! explicit exception, listed file by file below, and each listing is checked to be
//! necessary: a listed file whose v0.7.2 result already matches fails the suite.
//! - [`PER_BLOCK_GAS`]: page-fault cases charge the whole basic block's gas up front
//!   (run with [`GasMode::PerBasicBlock`]); v0.7.2 charges one unit per instruction
//!   executed, so the instructions after the faulting one are not charged.
//! - [`STOPPING_PC`]: halt/panic cases expect the pc of the stopping instruction,
//!   where v0.7.2 (A.1) reports ı' = 0 for ∎ and ☇.
//!
//! `PVM_DIAG=1` prints the files that a v0.7.2 run would fail only by one of these
//! two rules (how the lists were made, and how to remake them for new vectors).

use std::collections::BTreeMap;

use serde::Deserialize;
use tessera_conformance::{ensure_eq, fail, CaseCtx, CaseError, Outcome, Suite};
use tessera_pvm::{
    psi, Access, Backend, ExitReason, GasMode, Machine, Memory, Program, PAGE_SIZE, REGISTER_COUNT,
};

/// Files whose expected gas is the per-basic-block charge (vectors older than v0.7.2).
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

/// Files whose expected pc for halt/panic is the stopping instruction's, not GP
/// v0.7.2's 0.
const STOPPING_PC: &[&str] = &[
    "gas_basic_consume_all",
    "inst_add_32",
    "inst_add_32_with_overflow",
    "inst_add_32_with_truncation",
    "inst_add_32_with_truncation_and_sign_extension",
    "inst_add_64",
    "inst_add_64_with_overflow",
    "inst_add_imm_32",
    "inst_add_imm_32_with_truncation",
    "inst_add_imm_32_with_truncation_and_sign_extension",
    "inst_add_imm_64",
    "inst_and",
    "inst_and_imm",
    "inst_branch_eq_imm_nok",
    "inst_branch_eq_imm_ok",
    "inst_branch_eq_nok",
    "inst_branch_eq_ok",
    "inst_branch_greater_or_equal_signed_imm_nok",
    "inst_branch_greater_or_equal_signed_imm_ok",
    "inst_branch_greater_or_equal_signed_nok",
    "inst_branch_greater_or_equal_signed_ok",
    "inst_branch_greater_or_equal_unsigned_imm_nok",
    "inst_branch_greater_or_equal_unsigned_imm_ok",
    "inst_branch_greater_or_equal_unsigned_nok",
    "inst_branch_greater_or_equal_unsigned_ok",
    "inst_branch_greater_signed_imm_nok",
    "inst_branch_greater_signed_imm_ok",
    "inst_branch_greater_unsigned_imm_nok",
    "inst_branch_greater_unsigned_imm_ok",
    "inst_branch_less_or_equal_signed_imm_nok",
    "inst_branch_less_or_equal_signed_imm_ok",
    "inst_branch_less_or_equal_unsigned_imm_nok",
    "inst_branch_less_or_equal_unsigned_imm_ok",
    "inst_branch_less_signed_imm_nok",
    "inst_branch_less_signed_imm_ok",
    "inst_branch_less_signed_nok",
    "inst_branch_less_signed_ok",
    "inst_branch_less_unsigned_imm_nok",
    "inst_branch_less_unsigned_imm_ok",
    "inst_branch_less_unsigned_nok",
    "inst_branch_less_unsigned_ok",
    "inst_branch_not_eq_imm_nok",
    "inst_branch_not_eq_imm_ok",
    "inst_branch_not_eq_nok",
    "inst_branch_not_eq_ok",
    "inst_cmov_if_zero_imm_nok",
    "inst_cmov_if_zero_imm_ok",
    "inst_cmov_if_zero_nok",
    "inst_cmov_if_zero_ok",
    "inst_div_signed_32",
    "inst_div_signed_32_by_zero",
    "inst_div_signed_32_with_overflow",
    "inst_div_signed_64",
    "inst_div_signed_64_by_zero",
    "inst_div_signed_64_with_overflow",
    "inst_div_unsigned_32",
    "inst_div_unsigned_32_by_zero",
    "inst_div_unsigned_32_with_overflow",
    "inst_div_unsigned_64",
    "inst_div_unsigned_64_by_zero",
    "inst_div_unsigned_64_with_overflow",
    "inst_fallthrough",
    "inst_jump",
    "inst_jump_indirect_misaligned_djump_with_offset_nok",
    "inst_jump_indirect_misaligned_djump_without_offset_nok",
    "inst_jump_indirect_with_offset_ok",
    "inst_jump_indirect_without_offset_ok",
    "inst_load_i16",
    "inst_load_i32",
    "inst_load_i8",
    "inst_load_imm",
    "inst_load_imm_64",
    "inst_load_imm_and_jump",
    "inst_load_imm_and_jump_indirect_different_regs_with_offset_ok",
    "inst_load_imm_and_jump_indirect_different_regs_without_offset_ok",
    "inst_load_imm_and_jump_indirect_misaligned_djump_different_regs_with_offset_nok",
    "inst_load_imm_and_jump_indirect_misaligned_djump_different_regs_without_offset_nok",
    "inst_load_imm_and_jump_indirect_misaligned_djump_same_regs_with_offset_nok",
    "inst_load_imm_and_jump_indirect_misaligned_djump_same_regs_without_offset_nok",
    "inst_load_imm_and_jump_indirect_same_regs_with_offset_ok",
    "inst_load_imm_and_jump_indirect_same_regs_without_offset_ok",
    "inst_load_indirect_i16_with_offset",
    "inst_load_indirect_i16_without_offset",
    "inst_load_indirect_i32_with_offset",
    "inst_load_indirect_i32_without_offset",
    "inst_load_indirect_i8_with_offset",
    "inst_load_indirect_i8_without_offset",
    "inst_load_indirect_u16_with_offset",
    "inst_load_indirect_u16_without_offset",
    "inst_load_indirect_u32_with_offset",
    "inst_load_indirect_u32_without_offset",
    "inst_load_indirect_u64_with_offset",
    "inst_load_indirect_u64_without_offset",
    "inst_load_indirect_u8_with_offset",
    "inst_load_indirect_u8_without_offset",
    "inst_load_u16",
    "inst_load_u32",
    "inst_load_u64",
    "inst_load_u8",
    "inst_move_reg",
    "inst_mul_32",
    "inst_mul_64",
    "inst_mul_imm_32",
    "inst_mul_imm_64",
    "inst_negate_and_add_imm_32",
    "inst_negate_and_add_imm_64",
    "inst_or",
    "inst_or_imm",
    "inst_rem_signed_32",
    "inst_rem_signed_32_by_zero",
    "inst_rem_signed_32_with_overflow",
    "inst_rem_signed_64",
    "inst_rem_signed_64_by_zero",
    "inst_rem_signed_64_with_overflow",
    "inst_rem_unsigned_32",
    "inst_rem_unsigned_32_by_zero",
    "inst_rem_unsigned_64",
    "inst_rem_unsigned_64_by_zero",
    "inst_set_greater_than_signed_imm_0",
    "inst_set_greater_than_signed_imm_1",
    "inst_set_greater_than_unsigned_imm_0",
    "inst_set_greater_than_unsigned_imm_1",
    "inst_set_less_than_signed_0",
    "inst_set_less_than_signed_1",
    "inst_set_less_than_signed_imm_0",
    "inst_set_less_than_signed_imm_1",
    "inst_set_less_than_unsigned_0",
    "inst_set_less_than_unsigned_1",
    "inst_set_less_than_unsigned_imm_0",
    "inst_set_less_than_unsigned_imm_1",
    "inst_shift_arithmetic_right_32",
    "inst_shift_arithmetic_right_32_with_overflow",
    "inst_shift_arithmetic_right_64",
    "inst_shift_arithmetic_right_64_with_overflow",
    "inst_shift_arithmetic_right_imm_32",
    "inst_shift_arithmetic_right_imm_64",
    "inst_shift_arithmetic_right_imm_alt_32",
    "inst_shift_arithmetic_right_imm_alt_64",
    "inst_shift_logical_left_32",
    "inst_shift_logical_left_32_with_overflow",
    "inst_shift_logical_left_64",
    "inst_shift_logical_left_64_with_overflow",
    "inst_shift_logical_left_imm_32",
    "inst_shift_logical_left_imm_64",
    "inst_shift_logical_left_imm_alt_32",
    "inst_shift_logical_left_imm_alt_64",
    "inst_shift_logical_right_32",
    "inst_shift_logical_right_32_with_overflow",
    "inst_shift_logical_right_64",
    "inst_shift_logical_right_64_with_overflow",
    "inst_shift_logical_right_imm_32",
    "inst_shift_logical_right_imm_64",
    "inst_shift_logical_right_imm_alt_32",
    "inst_shift_logical_right_imm_alt_64",
    "inst_store_imm_indirect_u16_with_offset_ok",
    "inst_store_imm_indirect_u16_without_offset_ok",
    "inst_store_imm_indirect_u32_with_offset_ok",
    "inst_store_imm_indirect_u32_without_offset_ok",
    "inst_store_imm_indirect_u64_with_offset_ok",
    "inst_store_imm_indirect_u64_without_offset_ok",
    "inst_store_imm_indirect_u8_with_offset_ok",
    "inst_store_imm_indirect_u8_without_offset_ok",
    "inst_store_imm_u16",
    "inst_store_imm_u32",
    "inst_store_imm_u64",
    "inst_store_imm_u8",
    "inst_store_indirect_u16_with_offset_ok",
    "inst_store_indirect_u16_without_offset_ok",
    "inst_store_indirect_u32_with_offset_ok",
    "inst_store_indirect_u32_without_offset_ok",
    "inst_store_indirect_u64_with_offset_ok",
    "inst_store_indirect_u64_without_offset_ok",
    "inst_store_indirect_u8_with_offset_ok",
    "inst_store_indirect_u8_without_offset_ok",
    "inst_store_u16",
    "inst_store_u32",
    "inst_store_u64",
    "inst_store_u8",
    "inst_sub_32",
    "inst_sub_32_with_overflow",
    "inst_sub_64",
    "inst_sub_64_with_overflow",
    "inst_sub_imm_32",
    "inst_sub_imm_64",
    "inst_xor",
    "inst_xor_imm",
    "riscv_rv64ua_amoadd_d",
    "riscv_rv64ua_amoadd_w",
    "riscv_rv64ua_amoand_d",
    "riscv_rv64ua_amoand_w",
    "riscv_rv64ua_amomax_d",
    "riscv_rv64ua_amomax_w",
    "riscv_rv64ua_amomaxu_d",
    "riscv_rv64ua_amomaxu_w",
    "riscv_rv64ua_amomin_d",
    "riscv_rv64ua_amomin_w",
    "riscv_rv64ua_amominu_d",
    "riscv_rv64ua_amominu_w",
    "riscv_rv64ua_amoor_d",
    "riscv_rv64ua_amoor_w",
    "riscv_rv64ua_amoswap_d",
    "riscv_rv64ua_amoswap_w",
    "riscv_rv64ua_amoxor_d",
    "riscv_rv64ua_amoxor_w",
    "riscv_rv64uc_rvc",
    "riscv_rv64ui_add",
    "riscv_rv64ui_addi",
    "riscv_rv64ui_addiw",
    "riscv_rv64ui_addw",
    "riscv_rv64ui_and",
    "riscv_rv64ui_andi",
    "riscv_rv64ui_beq",
    "riscv_rv64ui_bge",
    "riscv_rv64ui_bgeu",
    "riscv_rv64ui_blt",
    "riscv_rv64ui_bltu",
    "riscv_rv64ui_bne",
    "riscv_rv64ui_jal",
    "riscv_rv64ui_jalr",
    "riscv_rv64ui_lb",
    "riscv_rv64ui_lbu",
    "riscv_rv64ui_ld",
    "riscv_rv64ui_lh",
    "riscv_rv64ui_lhu",
    "riscv_rv64ui_lui",
    "riscv_rv64ui_lw",
    "riscv_rv64ui_lwu",
    "riscv_rv64ui_ma_data",
    "riscv_rv64ui_or",
    "riscv_rv64ui_ori",
    "riscv_rv64ui_sb",
    "riscv_rv64ui_sd",
    "riscv_rv64ui_sh",
    "riscv_rv64ui_simple",
    "riscv_rv64ui_sll",
    "riscv_rv64ui_slli",
    "riscv_rv64ui_slliw",
    "riscv_rv64ui_sllw",
    "riscv_rv64ui_slt",
    "riscv_rv64ui_slti",
    "riscv_rv64ui_sltiu",
    "riscv_rv64ui_sltu",
    "riscv_rv64ui_sra",
    "riscv_rv64ui_srai",
    "riscv_rv64ui_sraiw",
    "riscv_rv64ui_sraw",
    "riscv_rv64ui_srl",
    "riscv_rv64ui_srli",
    "riscv_rv64ui_srliw",
    "riscv_rv64ui_srlw",
    "riscv_rv64ui_sub",
    "riscv_rv64ui_subw",
    "riscv_rv64ui_sw",
    "riscv_rv64ui_xor",
    "riscv_rv64ui_xori",
    "riscv_rv64um_div",
    "riscv_rv64um_divu",
    "riscv_rv64um_divuw",
    "riscv_rv64um_divw",
    "riscv_rv64um_mul",
    "riscv_rv64um_mulh",
    "riscv_rv64um_mulhsu",
    "riscv_rv64um_mulhu",
    "riscv_rv64um_mulw",
    "riscv_rv64um_rem",
    "riscv_rv64um_remu",
    "riscv_rv64um_remuw",
    "riscv_rv64um_remw",
    "riscv_rv64uzbb_andn",
    "riscv_rv64uzbb_clz",
    "riscv_rv64uzbb_clzw",
    "riscv_rv64uzbb_cpop",
    "riscv_rv64uzbb_cpopw",
    "riscv_rv64uzbb_ctz",
    "riscv_rv64uzbb_ctzw",
    "riscv_rv64uzbb_max",
    "riscv_rv64uzbb_maxu",
    "riscv_rv64uzbb_min",
    "riscv_rv64uzbb_minu",
    "riscv_rv64uzbb_orc_b",
    "riscv_rv64uzbb_orn",
    "riscv_rv64uzbb_rev8",
    "riscv_rv64uzbb_rol",
    "riscv_rv64uzbb_rolw",
    "riscv_rv64uzbb_ror",
    "riscv_rv64uzbb_rori",
    "riscv_rv64uzbb_roriw",
    "riscv_rv64uzbb_rorw",
    "riscv_rv64uzbb_sext_b",
    "riscv_rv64uzbb_sext_h",
    "riscv_rv64uzbb_xnor",
    "riscv_rv64uzbb_zext_h",
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
}

fn regs(v: &[u64], what: &str) -> Result<[u64; REGISTER_COUNT], CaseError> {
    v.try_into()
        .map_err(|_| CaseError(format!("{what}: {} registers, want 13", v.len())))
}

fn status(exit: ExitReason) -> (&'static str, Option<u32>) {
    match exit {
        ExitReason::Halt => ("halt", None),
        ExitReason::Panic => ("panic", None),
        ExitReason::OutOfGas => ("out-of-gas", None),
        ExitReason::PageFault(a) => ("page-fault", Some(a)),
        ExitReason::HostCall(_) => ("host", None),
    }
}

/// Everything a run produces that the vectors check.
#[derive(Debug, PartialEq, Eq)]
struct Observed {
    status: &'static str,
    fault_address: Option<u32>,
    regs: [u64; REGISTER_COUNT],
    /// The pc GP v0.7.2 reports (0 after halt/panic).
    gp_pc: u32,
    /// The pc of the instruction that stopped.
    stop_pc: u32,
    gas: i64,
    /// Contents of every page in the page map.
    pages: BTreeMap<u32, Vec<u8>>,
}

/// The case's initial memory: its page map's access, then its initial contents.
fn initial_memory(case: &Case) -> Memory {
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
    memory
}

fn run(
    case: &Case,
    program: &Program,
    mode: GasMode,
    backend: Backend,
) -> Result<Observed, CaseError> {
    let memory = initial_memory(case);
    let initial = regs(&case.initial_regs, "initial-regs")?;
    let mut m = Machine::new(program, case.initial_pc, case.initial_gas, initial, memory);
    m.set_gas_mode(mode);
    m.set_backend(backend);
    let exit = m.run();
    let (status, fault_address) = status(exit);
    let gp_pc = match exit {
        ExitReason::Halt | ExitReason::Panic => 0,
        _ => m.pc(),
    };
    Ok(Observed {
        status,
        fault_address,
        regs: m.regs(),
        gp_pc,
        stop_pc: m.pc(),
        gas: m.gas(),
        pages: mapped_pages(case, |addr, buf| m.memory.peek(addr, buf)),
    })
}

/// The page-map pages' contents, read through `read`.
fn mapped_pages(case: &Case, read: impl Fn(u32, &mut [u8])) -> BTreeMap<u32, Vec<u8>> {
    let mut pages = BTreeMap::new();
    for p in &case.initial_page_map {
        let first = p.address / PAGE_SIZE;
        let count = p.length.div_ceil(PAGE_SIZE);
        for page in first..first.saturating_add(count) {
            let addr = page * PAGE_SIZE;
            let mut buf = vec![0u8; PAGE_SIZE as usize];
            read(addr, &mut buf);
            pages.insert(addr, buf);
        }
    }
    pages
}

struct PvmSuite;

impl Suite for PvmSuite {
    fn folder(&self) -> &str {
        "pvm/programs"
    }

    fn is_case(&self, file: &str) -> bool {
        file.ends_with(".json")
    }

    fn run_case(&self, ctx: &CaseCtx<'_>, file: &str) -> Result<Outcome, CaseError> {
        let case: Case = ctx.read_json(file)?;
        ensure_eq!(
            format!("{}.json", case.name),
            file,
            "the case name matches its file"
        );
        let per_block = PER_BLOCK_GAS.contains(&case.name.as_str());
        let stopping_pc = STOPPING_PC.contains(&case.name.as_str());
        let program = match Program::from_blob(&case.program) {
            Ok(p) => p,
            Err(e) => fail!("deblob: {e}"),
        };
        let gp = run(
            &case,
            &program,
            GasMode::PerInstruction,
            Backend::Interpreter,
        )?;
        // Issue 21: the recompiler must give the interpreter's result exactly.
        let recompiled = run(
            &case,
            &program,
            GasMode::PerInstruction,
            Backend::Recompiler,
        )?;
        ensure_eq!(recompiled, gp, "recompiler vs interpreter");
        // The GP-level entry point must agree with the machine it wraps.
        let via_psi = {
            let memory = initial_memory(&case);
            psi(
                &case.program,
                case.initial_pc,
                case.initial_gas,
                regs(&case.initial_regs, "initial-regs")?,
                memory,
            )
        };
        ensure_eq!(
            (
                status(via_psi.exit).0,
                via_psi.pc,
                via_psi.gas,
                via_psi.regs
            ),
            (gp.status, gp.gp_pc, gp.gas, gp.regs),
            "psi() vs Machine::run"
        );
        let (gp_pc, gp_gas) = (gp.gp_pc, gp.gas);
        let got = if per_block {
            run(
                &case,
                &program,
                GasMode::PerBasicBlock,
                Backend::Interpreter,
            )?
        } else {
            gp
        };

        // Expected memory: the page map's pages, zero except for expected-memory.
        let mut want_pages = mapped_pages(&case, |_, _| {});
        for c in &case.expected_memory {
            for (k, byte) in c.contents.iter().enumerate() {
                let addr = c.address.wrapping_add(k as u32);
                let page = addr / PAGE_SIZE * PAGE_SIZE;
                match want_pages.get_mut(&page) {
                    Some(p) => p[(addr - page) as usize] = *byte,
                    None => fail!("expected-memory at {addr:#x} lies outside the page map"),
                }
            }
        }

        let diag = std::env::var("PVM_DIAG").is_ok();
        ensure_eq!(got.status, case.expected_status.as_str(), "status");
        ensure_eq!(
            got.fault_address,
            case.expected_page_fault_address,
            "page-fault address"
        );
        ensure_eq!(
            got.regs,
            regs(&case.expected_regs, "expected-regs")?,
            "registers"
        );
        let pc = if stopping_pc { got.stop_pc } else { got.gp_pc };
        if diag && !stopping_pc && got.gp_pc != case.expected_pc && got.stop_pc == case.expected_pc
        {
            eprintln!("DIAG-STOPPING-PC {}", case.name);
        }
        ensure_eq!(pc, case.expected_pc, "pc");
        if diag && !per_block && got.gas != case.expected_gas {
            let pb = run(
                &case,
                &program,
                GasMode::PerBasicBlock,
                Backend::Interpreter,
            )?;
            if pb.gas == case.expected_gas {
                eprintln!("DIAG-PER-BLOCK {}", case.name);
            }
        }
        ensure_eq!(got.gas, case.expected_gas, "gas");
        if got.pages != want_pages {
            let diff: Vec<u32> = want_pages
                .iter()
                .filter(|(a, w)| got.pages.get(*a) != Some(*w))
                .map(|(a, _)| *a)
                .collect();
            fail!("memory differs in pages {diff:x?}");
        }

        // Each exception must be necessary: GP v0.7.2's own result must differ.
        if stopping_pc && gp_pc == case.expected_pc {
            fail!("listed in STOPPING_PC but v0.7.2's pc 0 already matches");
        }
        if per_block && gp_gas == case.expected_gas {
            fail!("listed in PER_BLOCK_GAS but v0.7.2's gas already matches");
        }
        Ok(Outcome::Passed)
    }
}

#[test]
fn pvm() {
    eprintln!(
        "[pvm/programs] exceptions: {} files with per-block gas, {} with the stopping pc",
        PER_BLOCK_GAS.len(),
        STOPPING_PC.len()
    );
    tessera_conformance::run(&PvmSuite)
}

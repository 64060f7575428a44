//! Ψ (GP A.1): run a pre-decoded [`Program`] until it exits.
//!
//! Gas is charged once per basic block, on entry, for every instruction from the
//! entry point to the block's end; a block that stops early (fault, host call, trap)
//! refunds the instructions it did not execute, so the result is exactly GP v0.7.2's
//! one unit per instruction. A block that cannot be paid for in full runs one metered
//! instruction at a time (`#[cold]`), stopping with out-of-gas before the first
//! instruction it cannot pay for. Entering at an octet that is not a pre-decoded
//! position (only possible through a caller-chosen pc) decodes on the fly, also cold.

use crate::isa::Opcode;
use crate::memory::{Memory, MemoryError};
use crate::program::{Instr, Program, NO_TARGET};
use crate::word::lo32;

/// `Z_A`, the dynamic jump alignment (A.4, eq. jumptablealignment).
const JUMP_ALIGNMENT: u32 = 2;
/// `2^32 − 2^16`: a dynamic jump here halts.
pub const HALT_ADDRESS: u32 = 0xffff_0000;
/// Number of registers (13).
pub const REGISTER_COUNT: usize = 13;

/// ε, why Ψ stopped (A.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExitReason {
    /// ∎, regular halt.
    Halt,
    /// ☇, panic.
    Panic,
    /// ∞, out of gas.
    OutOfGas,
    /// F × address: page fault at this page-aligned address.
    PageFault(u32),
    /// h × id: `ecalli` with this identifier (ν_X, sign-extended).
    HostCall(u64),
}

/// How gas is charged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum GasMode {
    /// GP v0.7.2: one unit per executed instruction.
    #[default]
    PerInstruction,
    /// The rule of PVM vectors older than v0.7.2 (and of polkavm): a basic block's
    /// whole cost is charged on entry and never refunded when it stops early.
    PerBasicBlock,
}

/// Which engine [`Machine::run`] uses (`--pvm-backend`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// The pre-decoded interpreter: every platform; the oracle.
    Interpreter,
    /// Translation to x86-64 machine code ([`crate::recompiler`]); on other
    /// architectures it runs as the interpreter.
    Recompiler,
}

/// The process-wide default: 0 auto, 1 interpreter, 2 recompiler.
static DEFAULT_BACKEND: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);

impl Backend {
    /// `auto`: the recompiler where it exists (x86-64), else the interpreter.
    pub const fn auto() -> Backend {
        if cfg!(target_arch = "x86_64") {
            Backend::Recompiler
        } else {
            Backend::Interpreter
        }
    }

    /// Set the backend new machines start with (the `--pvm-backend` flag); `None`
    /// is `auto`.
    pub fn set_default(backend: Option<Backend>) {
        let v = match backend {
            None => 0,
            Some(Backend::Interpreter) => 1,
            Some(Backend::Recompiler) => 2,
        };
        DEFAULT_BACKEND.store(v, std::sync::atomic::Ordering::Relaxed);
    }

    /// The backend new machines start with.
    pub fn default_choice() -> Backend {
        match DEFAULT_BACKEND.load(std::sync::atomic::Ordering::Relaxed) {
            1 => Backend::Interpreter,
            2 => Backend::Recompiler,
            _ => Backend::auto(),
        }
    }

    /// Parse `interpreter`, `recompiler` or `auto` (`auto` gives `None`).
    pub fn parse(s: &str) -> Result<Option<Backend>, String> {
        match s {
            "auto" => Ok(None),
            "interpreter" => Ok(Some(Backend::Interpreter)),
            "recompiler" => Ok(Some(Backend::Recompiler)),
            other => Err(format!(
                "unknown PVM backend `{other}` (expected interpreter, recompiler or auto)"
            )),
        }
    }

    /// The name `--pvm-backend` takes.
    pub const fn name(self) -> &'static str {
        match self {
            Backend::Interpreter => "interpreter",
            Backend::Recompiler => "recompiler",
        }
    }
}

/// What one instruction does to control flow.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Step {
    /// Continue with the next instruction of the same block.
    Next,
    /// Continue with the next instruction, which starts a new block.
    NextBlock,
    /// Continue at this instruction index (a block start).
    Jump(u32),
    /// Stop.
    Exit(ExitReason),
}

/// A PVM instance: program, registers ω, pc ı, gas ϱ and RAM μ.
#[derive(Debug, Clone)]
pub struct Machine<'p> {
    program: &'p Program,
    /// 13 registers, padded to 16 so that a 4-bit index needs no bounds check.
    pub(crate) regs: [u64; 16],
    pc: u32,
    gas: i64,
    /// μ.
    pub memory: Memory,
    gas_mode: GasMode,
    backend: Backend,
}

impl<'p> Machine<'p> {
    /// A machine at `pc` with `gas`, registers and memory.
    pub fn new(
        program: &'p Program,
        pc: u32,
        gas: i64,
        regs: [u64; REGISTER_COUNT],
        memory: Memory,
    ) -> Self {
        let mut padded = [0u64; 16];
        for (dst, src) in padded.iter_mut().zip(regs) {
            *dst = src;
        }
        Machine {
            program,
            regs: padded,
            pc,
            gas,
            memory,
            gas_mode: GasMode::PerInstruction,
            backend: Backend::default_choice(),
        }
    }

    /// Choose the backend (default: [`Backend::default_choice`]).
    pub fn set_backend(&mut self, backend: Backend) {
        self.backend = backend;
    }

    /// The backend [`Machine::run`] uses.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Choose the gas rule (default [`GasMode::PerInstruction`]).
    pub fn set_gas_mode(&mut self, mode: GasMode) {
        self.gas_mode = mode;
    }

    /// The program.
    pub fn program(&self) -> &'p Program {
        self.program
    }

    /// ω.
    pub fn regs(&self) -> [u64; REGISTER_COUNT] {
        let mut out = [0u64; REGISTER_COUNT];
        for (dst, src) in out.iter_mut().zip(self.regs) {
            *dst = src;
        }
        out
    }

    /// ω_i (0 for i ≥ 13).
    pub fn reg(&self, i: usize) -> u64 {
        if i < REGISTER_COUNT {
            self.regs.get(i).copied().unwrap_or(0)
        } else {
            0
        }
    }

    /// Set ω_i (ignored for i ≥ 13).
    pub fn set_reg(&mut self, i: usize, value: u64) {
        if i < REGISTER_COUNT {
            if let Some(r) = self.regs.get_mut(i) {
                *r = value;
            }
        }
    }

    /// ı. After [`Machine::run`] it is the pc of the instruction that stopped (or of
    /// the first unpaid one, for out-of-gas).
    pub fn pc(&self) -> u32 {
        self.pc
    }

    /// Set ı.
    pub fn set_pc(&mut self, pc: u32) {
        self.pc = pc;
    }

    /// ϱ.
    pub fn gas(&self) -> i64 {
        self.gas
    }

    /// Set ϱ.
    pub fn set_gas(&mut self, gas: i64) {
        self.gas = gas;
    }

    /// Move past the `ecalli` that stopped the machine: `ı + 1 + skip(ı)`, where a
    /// host call resumes (GP Ψ_H).
    pub fn skip_instruction(&mut self) {
        self.pc = self.program.next_pc(self.pc);
    }

    #[inline(always)]
    pub(crate) fn r(&self, x: u8) -> u64 {
        self.regs[usize::from(x & 15)]
    }

    #[inline(always)]
    pub(crate) fn w(&mut self, x: u8, value: u64) -> Step {
        self.regs[usize::from(x & 15)] = value;
        Step::Next
    }

    #[inline(always)]
    pub(crate) fn load<const N: usize>(
        &mut self,
        reg: u8,
        addr: u32,
        f: impl FnOnce([u8; N]) -> u64,
    ) -> Step {
        match self.memory.load::<N>(addr) {
            Ok(bytes) => self.w(reg, f(bytes)),
            Err(e) => memory_exit(e),
        }
    }

    #[inline(always)]
    pub(crate) fn store<const N: usize>(&mut self, addr: u32, data: [u8; N]) -> Step {
        match self.memory.store(addr, data) {
            Ok(()) => Step::Next,
            Err(e) => memory_exit(e),
        }
    }

    /// `branch(b, ⊤)` (A.4): the target was resolved against ϖ when decoding.
    #[inline(always)]
    pub(crate) fn branch(&self, i: &Instr) -> Step {
        if i.target == NO_TARGET {
            Step::Exit(ExitReason::Panic)
        } else {
            Step::Jump(i.target)
        }
    }

    /// `branch(b, C)`.
    #[inline(always)]
    pub(crate) fn branch_if(&self, i: &Instr, condition: bool) -> Step {
        if condition {
            self.branch(i)
        } else {
            Step::NextBlock
        }
    }

    /// `djump(a)` (A.4): halt at 2^32 − 2^16; panic unless `a` is a non-zero even
    /// index into the jump table whose entry is in ϖ.
    #[inline(always)]
    pub(crate) fn djump(&self, a: u64) -> Step {
        let a = lo32(a);
        if a == HALT_ADDRESS {
            return Step::Exit(ExitReason::Halt);
        }
        if a == 0 || !a.is_multiple_of(JUMP_ALIGNMENT) {
            return Step::Exit(ExitReason::Panic);
        }
        match self.program.jump_entry(a / JUMP_ALIGNMENT - 1) {
            NO_TARGET => Step::Exit(ExitReason::Panic),
            t => Step::Jump(t),
        }
    }

    /// Ψ: run until an exit. The machine keeps the final state: registers, memory,
    /// gas, and the pc of the stopping instruction (see [`crate::psi`] for the GP's
    /// reporting of pc 0 on halt and panic).
    ///
    /// The backend chosen with [`Machine::set_backend`] runs it; the recompiler
    /// handles GP v0.7.2 gas ([`GasMode::PerInstruction`]) only, and hands any other
    /// configuration, or a program it could not compile, to the interpreter.
    pub fn run(&mut self) -> ExitReason {
        #[cfg(target_arch = "x86_64")]
        if self.backend == Backend::Recompiler && self.gas_mode == GasMode::PerInstruction {
            if let Some(code) = self.program.compiled() {
                return crate::recompiler::run(self, code);
            }
        }
        self.run_interpreter()
    }

    /// Ψ on the interpreter, whatever the backend setting (the recompiler's oracle).
    pub fn run_interpreter(&mut self) -> ExitReason {
        let program = self.program;
        let instrs = program.instrs();
        let mut index = match program.instr_index(self.pc) {
            Some(i) => i,
            None => match self.run_unaligned() {
                Ok(i) => i,
                Err(e) => return e,
            },
        };
        'blocks: loop {
            let Some(first) = instrs.get(crate::word::idx(index)) else {
                return self.stray_index();
            };
            let cost = i64::from(first.block_gas);
            if self.gas < cost {
                match self.run_metered(index) {
                    Ok(next) => {
                        index = next;
                        continue 'blocks;
                    }
                    Err(e) => return e,
                }
            }
            self.gas -= cost;
            loop {
                let Some(ins) = instrs.get(crate::word::idx(index)) else {
                    return self.stray_index();
                };
                match self.execute(ins) {
                    Step::Next => index += 1,
                    Step::NextBlock => {
                        index += 1;
                        continue 'blocks;
                    }
                    Step::Jump(t) => {
                        index = t;
                        continue 'blocks;
                    }
                    Step::Exit(e) => {
                        self.pc = ins.pc;
                        if self.gas_mode == GasMode::PerInstruction {
                            self.gas += i64::from(ins.block_gas) - 1;
                        }
                        return e;
                    }
                }
            }
        }
    }

    /// A block that cannot be paid in full: one unit per instruction, out-of-gas
    /// before the first unaffordable one (per-block mode: before the block).
    #[cold]
    #[inline(never)]
    pub(crate) fn run_metered(&mut self, mut index: u32) -> Result<u32, ExitReason> {
        let instrs = self.program.instrs();
        if self.gas_mode == GasMode::PerBasicBlock {
            self.pc = instrs
                .get(crate::word::idx(index))
                .map_or(self.pc, |i| i.pc);
            return Err(ExitReason::OutOfGas);
        }
        loop {
            let Some(ins) = instrs.get(crate::word::idx(index)) else {
                return Err(self.stray_index());
            };
            if self.gas < 1 {
                self.pc = ins.pc;
                return Err(ExitReason::OutOfGas);
            }
            self.gas -= 1;
            match self.execute(ins) {
                Step::Next => index += 1,
                Step::NextBlock => return Ok(index + 1),
                Step::Jump(t) => return Ok(t),
                Step::Exit(e) => {
                    self.pc = ins.pc;
                    return Err(e);
                }
            }
        }
    }

    /// Execution from a pc that is not a pre-decoded position: GP decodes ζ at any ı,
    /// so decode there, one metered step at a time, until a known position.
    #[cold]
    #[inline(never)]
    pub(crate) fn run_unaligned(&mut self) -> Result<u32, ExitReason> {
        let program = self.program;
        let mut pc = self.pc;
        loop {
            if let Some(i) = program.instr_index(pc) {
                return Ok(i);
            }
            let ins = program.decode_at(pc);
            if self.gas < 1 {
                self.pc = pc;
                return Err(ExitReason::OutOfGas);
            }
            self.gas -= 1;
            match self.execute(&ins) {
                Step::Next | Step::NextBlock => pc = program.next_pc(pc),
                Step::Jump(t) => return Ok(t),
                Step::Exit(e) => {
                    self.pc = pc;
                    return Err(e);
                }
            }
        }
    }

    /// An instruction index outside the array: impossible for a well-formed
    /// [`Program`] (the array ends with the trap at |c|), reported as a panic.
    #[cold]
    fn stray_index(&mut self) -> ExitReason {
        ExitReason::Panic
    }

    /// The opcode at the current pc, if defined (for tracing and tests).
    pub fn current_opcode(&self) -> Option<Opcode> {
        self.program
            .instr_index(self.pc)
            .and_then(|i| self.program.instrs().get(crate::word::idx(i)))
            .map(|i| i.op)
    }
}

#[cold]
fn memory_exit(e: MemoryError) -> Step {
    Step::Exit(match e {
        MemoryError::Panic => ExitReason::Panic,
        MemoryError::Fault(a) => ExitReason::PageFault(a),
    })
}

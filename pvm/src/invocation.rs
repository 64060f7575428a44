//! The invocation layer of GP A.7/A.8 (pvm_invocations): Ψ over a raw blob, the
//! host-call boundary and Ψ_H, the standard program initialisation Y, and Ψ_M.
//!
//! Architecture invariant: this crate knows nothing of what a host call means. Ψ_H
//! stops at each `ecalli`, hands the machine to a [`HostCalls`] implementation (the
//! accumulate and refine host functions live with the state they touch), and resumes
//! after the `ecalli` or stops as the host says.

use crate::interpreter::{ExitReason, Machine, HALT_ADDRESS, REGISTER_COUNT};
use crate::memory::{Access, Memory, PAGE_SIZE};
use crate::program::Program;

/// What a host function tells Ψ_H to do next (ε'' of A.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HostOutcome {
    /// ▸: resume after the `ecalli`.
    Continue,
    /// ∎: halt now.
    Halt,
    /// ☇: panic now.
    Panic,
    /// ∞: out of gas.
    OutOfGas,
}

/// The host functions `f` of Ψ_H: called on every `ecalli` with its identifier.
///
/// The machine is stopped at the `ecalli` (its pc is the `ecalli`'s); the host reads
/// and writes registers, memory and gas through it, charging its own gas.
pub trait HostCalls {
    /// Handle host call `id`.
    fn host_call(&mut self, id: u64, machine: &mut Machine<'_>) -> HostOutcome;
}

/// Host functions that know no call: every `ecalli` panics (for pure programs).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoHostCalls;

impl HostCalls for NoHostCalls {
    fn host_call(&mut self, _id: u64, _machine: &mut Machine<'_>) -> HostOutcome {
        HostOutcome::Panic
    }
}

/// Ψ_H (A.8): run, servicing host calls, until an exit other than a serviced host
/// call. On a host-requested stop the pc stays at the `ecalli`.
pub fn run_with_host<H: HostCalls + ?Sized>(machine: &mut Machine<'_>, host: &mut H) -> ExitReason {
    loop {
        match machine.run() {
            ExitReason::HostCall(id) => match host.host_call(id, machine) {
                HostOutcome::Continue => machine.skip_instruction(),
                HostOutcome::Halt => return ExitReason::Halt,
                HostOutcome::Panic => return ExitReason::Panic,
                HostOutcome::OutOfGas => return ExitReason::OutOfGas,
            },
            other => return other,
        }
    }
}

/// The outcome of GP Ψ on a blob: `(ε, ı', ϱ', ω', μ')`.
#[derive(Debug, Clone)]
pub struct PsiOutcome {
    /// ε.
    pub exit: ExitReason,
    /// ı': 0 after halt or panic (A.1), else the pc where it stopped.
    pub pc: u32,
    /// ϱ'.
    pub gas: i64,
    /// ω'.
    pub regs: [u64; REGISTER_COUNT],
    /// μ'.
    pub memory: Memory,
}

/// GP Ψ (A.1) on a program blob: an undeblobbable blob is `(☇, ı, ϱ, ω, μ)`; halt
/// and panic report pc 0.
pub fn psi(
    blob: &[u8],
    pc: u32,
    gas: i64,
    regs: [u64; REGISTER_COUNT],
    memory: Memory,
) -> PsiOutcome {
    let Ok(program) = Program::from_blob(blob) else {
        return PsiOutcome {
            exit: ExitReason::Panic,
            pc,
            gas,
            regs,
            memory,
        };
    };
    let mut m = Machine::new(&program, pc, gas, regs, memory);
    let exit = m.run();
    let pc = match exit {
        ExitReason::Halt | ExitReason::Panic => 0,
        _ => m.pc(),
    };
    PsiOutcome {
        exit,
        pc,
        gas: m.gas(),
        regs: m.regs(),
        memory: m.memory,
    }
}

/// `Z_Z`, the initialisation zone size (2^16).
pub const ZONE_SIZE: u32 = 1 << 16;
/// `Z_I`, the maximum input size (2^24).
pub const INPUT_SIZE: u32 = 1 << 24;

/// A program ready to run after Y: its code blob, registers and memory.
#[derive(Debug, Clone)]
pub struct Initialised {
    /// `c`, the PVM code blob (to deblob with [`Program::from_blob`]).
    pub code: Vec<u8>,
    /// ω.
    pub regs: [u64; REGISTER_COUNT],
    /// μ.
    pub memory: Memory,
}

/// `P(x)`: round up to a page.
fn page_round(x: u64) -> u64 {
    x.div_ceil(u64::from(PAGE_SIZE)) * u64::from(PAGE_SIZE)
}

/// `Z(x)`: round up to a zone.
fn zone_round(x: u64) -> u64 {
    x.div_ceil(u64::from(ZONE_SIZE)) * u64::from(ZONE_SIZE)
}

fn fixed(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .rev()
        .fold(0u64, |acc, b| (acc << 8) | u64::from(*b))
}

/// Y (A.7, standard program initialisation): split
/// `p = E_3(|o|) ⌢ E_3(|w|) ⌢ E_2(z) ⌢ E_3(s) ⌢ o ⌢ w ⌢ E_4(|c|) ⌢ c` and lay out
/// read-only data, read-write data plus `z` heap pages, the `s`-octet stack and the
/// arguments `a`; `None` (∇) if `p` does not split or the layout does not fit 2^32.
pub fn initialise(p: &[u8], args: &[u8]) -> Option<Initialised> {
    let mut at = 0usize;
    let mut take = |n: usize| -> Option<&[u8]> {
        let s = p.get(at..at.checked_add(n)?)?;
        at += n;
        Some(s)
    };
    let o_len = fixed(take(3)?);
    let w_len = fixed(take(3)?);
    let z = fixed(take(2)?);
    let s = fixed(take(3)?);
    let o = take(usize::try_from(o_len).ok()?)?;
    let w = take(usize::try_from(w_len).ok()?)?;
    let c_len = fixed(take(4)?);
    let c = take(usize::try_from(c_len).ok()?)?;
    if at != p.len() {
        return None;
    }
    let (zz, zi, zp) = (
        u64::from(ZONE_SIZE),
        u64::from(INPUT_SIZE),
        u64::from(PAGE_SIZE),
    );
    // GP A.7: 5Z_Z + Z(|o|) + Z(|w| + zZ_P) + Z(s) + Z_I ≤ 2^32.
    if 5 * zz + zone_round(o_len) + zone_round(w_len + z * zp) + zone_round(s) + zi > 1 << 32 {
        return None;
    }
    // The arguments must fit their Z_I region.
    let a_len = u64::try_from(args.len()).ok()?;
    if a_len > zi {
        return None;
    }
    let addr = |x: u64| u32::try_from(x).ok();
    let mut memory = Memory::new();
    let ro = zz;
    memory.set_range_access(addr(ro)?, addr(page_round(o_len))?, Access::ReadOnly);
    memory.poke(addr(ro)?, o);
    let rw = 2 * zz + zone_round(o_len);
    let rw_len = page_round(w_len) + z * zp;
    memory.set_range_access(addr(rw)?, addr(rw_len)?, Access::Writable);
    memory.poke(addr(rw)?, w);
    memory.set_heap_top(addr(rw + rw_len)?);
    let stack_top = (1u64 << 32) - 2 * zz - zi;
    let stack_len = page_round(s);
    memory.set_range_access(
        addr(stack_top - stack_len)?,
        addr(stack_len)?,
        Access::Writable,
    );
    let args_at = (1u64 << 32) - zz - zi;
    memory.set_range_access(addr(args_at)?, addr(page_round(a_len))?, Access::ReadOnly);
    memory.poke(addr(args_at)?, args);
    let mut regs = [0u64; REGISTER_COUNT];
    regs[0] = u64::from(HALT_ADDRESS);
    regs[1] = stack_top;
    regs[7] = args_at;
    regs[8] = a_len;
    Some(Initialised {
        code: c.to_vec(),
        regs,
        memory,
    })
}

/// The result of Ψ_M: gas used and the output or failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvocationResult {
    /// Halted; the octets at `ω7..+ω8` (empty if not readable).
    Output(Vec<u8>),
    /// Panicked (or Y/deblob failed, or a page fault).
    Panic,
    /// Ran out of gas.
    OutOfGas,
}

/// Ψ_M (A.8): initialise `p` with `args` via Y, run from `pc` with `gas` under Ψ_H,
/// and return the gas used, `u = ϱ − max(ϱ', 0)`, and the result.
pub fn invoke<H: HostCalls + ?Sized>(
    p: &[u8],
    pc: u32,
    gas: u64,
    args: &[u8],
    host: &mut H,
) -> (u64, InvocationResult) {
    let Some(init) = initialise(p, args) else {
        return (0, InvocationResult::Panic);
    };
    let Ok(program) = Program::from_blob(&init.code) else {
        return (0, InvocationResult::Panic);
    };
    let start = i64::try_from(gas).unwrap_or(i64::MAX);
    let mut m = Machine::new(&program, pc, start, init.regs, init.memory);
    let exit = run_with_host(&mut m, host);
    let used = u64::try_from(start - m.gas().max(0)).unwrap_or(0);
    let result = match exit {
        ExitReason::OutOfGas => InvocationResult::OutOfGas,
        ExitReason::Halt => {
            let (at, len) = (m.reg(7), m.reg(8));
            let out = match (u32::try_from(at), u32::try_from(len)) {
                (Ok(at), Ok(len))
                    if u64::from(at) + u64::from(len) <= 1 << 32
                        && m.memory.is_readable(at, len) =>
                {
                    let mut buf = vec![0u8; crate::word::idx(len)];
                    m.memory.peek(at, &mut buf);
                    buf
                }
                _ => Vec::new(),
            };
            InvocationResult::Output(out)
        }
        _ => InvocationResult::Panic,
    };
    (used, result)
}

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

/// The longest halt output [`invoke`] materialises: `Z_I`, the bound the GP puts on
/// an invocation's input. No caller of [`invoke`] can tell a longer output from an
/// empty one (accumulation only looks for a 32-octet hash); callers whose outputs
/// matter beyond that (Ψ_I, Ψ_R, bounded by `W_R`) use [`invoke_bounded`].
pub const MAX_OUTPUT: u32 = INPUT_SIZE;

/// A halt output that is readable, so GP Ψ_M would return it, but longer than the
/// caller accepts: reported instead of allocating it (up to 4 GiB of lazily mapped
/// heap could otherwise be copied out).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[error("halt output of {len} octets exceeds the limit of {max}")]
pub struct OutputTooLong {
    /// `ω8`, the output's length.
    pub len: u32,
    /// The caller's limit.
    pub max: u32,
}

/// Ψ_M (A.8): initialise `p` with `args` via Y, run from `pc` with `gas` under Ψ_H,
/// and return the gas used, `u = ϱ − max(ϱ', 0)`, and the result.
///
/// A readable output longer than [`MAX_OUTPUT`] is returned empty (see there); use
/// [`invoke_bounded`] to tell it apart.
pub fn invoke<H: HostCalls + ?Sized>(
    p: &[u8],
    pc: u32,
    gas: u64,
    args: &[u8],
    host: &mut H,
) -> (u64, InvocationResult) {
    match invoke_bounded(p, pc, gas, args, host, MAX_OUTPUT) {
        (used, Ok(result)) => (used, result),
        (used, Err(OutputTooLong { .. })) => (used, InvocationResult::Output(Vec::new())),
    }
}

/// Ψ_M (A.8) for a caller that accepts at most `max_output` octets of output.
///
/// On halt, GP R gives `μ'[ω7..+ω8]` when that whole range is readable and `[]`
/// otherwise; readability is decided first (a length such as 2^40 can never be
/// readable, so it is `[]`, as the GP says), and only then is a readable range
/// longer than `max_output` refused with [`OutputTooLong`], before any allocation.
pub fn invoke_bounded<H: HostCalls + ?Sized>(
    p: &[u8],
    pc: u32,
    gas: u64,
    args: &[u8],
    host: &mut H,
    max_output: u32,
) -> (u64, Result<InvocationResult, OutputTooLong>) {
    let Some(init) = initialise(p, args) else {
        return (0, Ok(InvocationResult::Panic));
    };
    let Ok(program) = Program::from_blob(&init.code) else {
        return (0, Ok(InvocationResult::Panic));
    };
    run_initialised(init, &program, pc, gas, host, max_output)
}

/// [`invoke_bounded`] with the code `c` of `p` already deblobbed into `program`
/// (by [`Program::from_blob`] on [`initialise`]'s `code`), for callers that run the
/// same code many times: deblobbing is most of the cost of a short invocation.
/// `program` must be the deblobbed `c` of `p`; Y still lays out `p`'s memory.
pub fn invoke_bounded_with<H: HostCalls + ?Sized>(
    p: &[u8],
    program: &Program,
    pc: u32,
    gas: u64,
    args: &[u8],
    host: &mut H,
    max_output: u32,
) -> (u64, Result<InvocationResult, OutputTooLong>) {
    let Some(init) = initialise(p, args) else {
        return (0, Ok(InvocationResult::Panic));
    };
    run_initialised(init, program, pc, gas, host, max_output)
}

fn run_initialised<H: HostCalls + ?Sized>(
    init: Initialised,
    program: &Program,
    pc: u32,
    gas: u64,
    host: &mut H,
    max_output: u32,
) -> (u64, Result<InvocationResult, OutputTooLong>) {
    let start = i64::try_from(gas).unwrap_or(i64::MAX);
    let mut m = Machine::new(program, pc, start, init.regs, init.memory);
    let exit = run_with_host(&mut m, host);
    let used = u64::try_from(start - m.gas().max(0)).unwrap_or(0);
    let result = match exit {
        ExitReason::OutOfGas => Ok(InvocationResult::OutOfGas),
        ExitReason::Halt => {
            halt_output(&m.memory, m.reg(7), m.reg(8), max_output).map(InvocationResult::Output)
        }
        _ => Ok(InvocationResult::Panic),
    };
    (used, result)
}

/// GP R's halt case: `μ[at..+len]` if readable (and below 2^32), else `[]`; a
/// readable range over `max` octets is refused unread.
fn halt_output(memory: &Memory, at: u64, len: u64, max: u32) -> Result<Vec<u8>, OutputTooLong> {
    let (Ok(at), Ok(len)) = (u32::try_from(at), u32::try_from(len)) else {
        return Ok(Vec::new());
    };
    if u64::from(at) + u64::from(len) > 1 << 32 || !memory.is_readable(at, len) {
        return Ok(Vec::new());
    }
    if len > max {
        return Err(OutputTooLong { len, max });
    }
    let mut buf = vec![0u8; crate::word::idx(len)];
    memory.peek(at, &mut buf);
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::isa::Opcode;

    /// A standard program (A.7) with no data, `heap_pages` pages of heap after the
    /// (empty) RW section at 2·Z_Z, whose code sets ω7 = 0x20000, ω8 = `len` and halts.
    fn halting_with(len: u32, heap_pages: u16) -> Vec<u8> {
        let mut code = Vec::new();
        let mut starts = Vec::new();
        let mut push = |bytes: Vec<u8>| {
            starts.push(true);
            starts.extend(std::iter::repeat_n(false, bytes.len() - 1));
            code.extend_from_slice(&bytes);
        };
        // load_imm_64 (RegExtImm): the full 64-bit immediate, no sign extension.
        let mut a = vec![Opcode::LoadImm64.code(), 7];
        a.extend_from_slice(&0x2_0000u64.to_le_bytes());
        push(a);
        let mut b = vec![Opcode::LoadImm64.code(), 8];
        b.extend_from_slice(&u64::from(len).to_le_bytes());
        push(b);
        // jump_ind ω0 + 0: ω0 = 2^32 − 2^16 after Y, so this halts.
        push(vec![Opcode::JumpInd.code(), 0]);
        let c = Program::encode_blob(&[], &code, &starts);
        let mut p = vec![0, 0, 0, 0, 0, 0];
        p.extend_from_slice(&heap_pages.to_le_bytes());
        p.extend_from_slice(&[0, 0x10, 0]);
        p.extend_from_slice(&u32::try_from(c.len()).unwrap().to_le_bytes());
        p.extend_from_slice(&c);
        p
    }

    #[test]
    fn output_within_the_limit_is_returned() {
        // 2 heap pages: [0x20000, 0x22000) is readable (zero).
        let p = halting_with(16, 2);
        let (used, out) = invoke(&p, 0, 100, b"", &mut crate::NoHostCalls);
        assert_eq!((used, out), (3, InvocationResult::Output(vec![0; 16])));
    }

    #[test]
    fn unreadable_output_is_empty_as_the_gp_says() {
        // 2 heap pages but ω8 = 0x10000: the range runs past the heap → [].
        let p = halting_with(0x1_0000, 2);
        let (_, out) = invoke_bounded(&p, 0, 100, b"", &mut crate::NoHostCalls, u32::MAX);
        assert_eq!(out, Ok(InvocationResult::Output(Vec::new())));
    }

    #[test]
    fn a_huge_readable_output_is_refused_unread() {
        // 0xFFFF heap pages (256 MiB − 4 KiB) are readable, and ω8 asks for 200 MiB:
        // above MAX_OUTPUT (16 MiB) and above a W_R-sized limit.
        let len = 200 << 20;
        let p = halting_with(len, u16::MAX);
        let (used, out) = invoke_bounded(&p, 0, 100, b"", &mut crate::NoHostCalls, 48 << 10);
        assert_eq!((used, out), (3, Err(OutputTooLong { len, max: 48 << 10 })));
        let (_, out) = invoke(&p, 0, 100, b"", &mut crate::NoHostCalls);
        assert_eq!(out, InvocationResult::Output(Vec::new()));
        // Exactly at the limit it is read.
        let p = halting_with(48 << 10, u16::MAX);
        let (_, out) = invoke_bounded(&p, 0, 100, b"", &mut crate::NoHostCalls, 48 << 10);
        assert_eq!(out, Ok(InvocationResult::Output(vec![0; 48 << 10])));
    }
}

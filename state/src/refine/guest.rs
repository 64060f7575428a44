//! The inner PVM `M ≡ (p: code, u: RAM, i: pc)` of the refine context (GP
//! pvm_invocations.tex, eq. pvmguest), the inner-invocation result codes, and how
//! Ω_K runs one: plain Ψ (A.1), with its own gas and registers, stopping at the
//! first host call instead of servicing it.

use tessera_pvm::{Access, ExitReason, Machine, Memory, Program, PAGE_SIZE, REGISTER_COUNT};

/// Result codes of an inner invocation, placed in `ω7` by Ω_K (GP "inner PVM
/// invocations have their own set of result codes").
pub mod inner {
    /// ∎: halted normally.
    pub const HALT: u64 = 0;
    /// ☇: panicked.
    pub const PANIC: u64 = 1;
    /// F: page fault (`ω8` = the faulting page address).
    pub const FAULT: u64 = 2;
    /// h: host call (`ω8` = its identifier).
    pub const HOST: u64 = 3;
    /// ∞: out of gas.
    pub const OOG: u64 = 4;
}

/// One inner PVM: its code (deblobbed once, so `deblob(p) ≠ ∇` by construction),
/// its RAM and its instruction counter.
#[derive(Clone, Debug)]
pub struct Guest {
    /// `p`, deblobbed (shared with other guests of the same code).
    pub program: std::sync::Arc<Program>,
    /// `u`.
    pub memory: Memory,
    /// `i` (a full register word: Ω_M takes it from `ω9` unchecked).
    pub pc: u64,
}

/// What one Ψ of a guest ended with: the exit, `g'` and `ω'`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GuestRun {
    /// ε.
    pub exit: ExitReason,
    /// `g'`: gas left.
    pub gas: u64,
    /// `ω'`.
    pub regs: [u64; REGISTER_COUNT],
}

impl Guest {
    /// A fresh guest: RAM all zero and inaccessible (`u` of Ω_M).
    pub fn new(program: std::sync::Arc<Program>, pc: u64) -> Self {
        Guest {
            program,
            memory: Memory::new(),
            pc,
        }
    }

    /// `Ψ(p, i, g, w, u)` then Ω_K's update of the guest: RAM `u'`, and pc
    /// `i' + 1 + skip(i')` after a host call, else `i'` (0 after halt or panic).
    ///
    /// The interpreter keeps gas as `i64`; a `g ≥ 2^63` starts at `2^63 − 1`, and
    /// `g'` is `g` minus what was spent, so it is exact for every `g`.
    pub fn run(&mut self, gas: u64, regs: [u64; REGISTER_COUNT]) -> GuestRun {
        let start = i64::try_from(gas).unwrap_or(i64::MAX);
        // A pc ≥ 2^32 lies past any code (a blob in RAM is shorter than 2^32), as
        // does u32::MAX: both execute the trap of ζ's zero padding.
        let pc = u32::try_from(self.pc).unwrap_or(u32::MAX);
        let memory = std::mem::take(&mut self.memory);
        let mut m = Machine::new(&self.program, pc, start, regs, memory);
        let exit = m.run();
        let spent = u64::try_from(start - m.gas().max(0)).unwrap_or(0);
        let stopped_at = m.pc();
        self.pc = match exit {
            ExitReason::Halt | ExitReason::Panic => 0,
            ExitReason::HostCall(_) => u64::from(self.program.next_pc(stopped_at)),
            // Stopped before executing anything: the pc is the one it was given.
            _ if stopped_at == pc => self.pc,
            _ => u64::from(stopped_at),
        };
        let regs = m.regs();
        self.memory = m.memory;
        GuestRun {
            exit,
            gas: gas.saturating_sub(spent),
            regs,
        }
    }

    /// Ω_Z's update for access mode `r ≤ 4` on pages `p..+c` (checked by the
    /// caller): zero the values when `r < 3`, and set the access ∅ (0), R (1, 3)
    /// or W (2, 4).
    pub fn set_pages(&mut self, first: u32, count: u32, mode: u64) {
        let addr = first.saturating_mul(PAGE_SIZE);
        if mode < 3 {
            self.memory.zero_pages(addr, count);
        }
        let access = match mode {
            0 => Access::Inaccessible,
            1 | 3 => Access::ReadOnly,
            _ => Access::Writable,
        };
        self.memory.set_access(addr, count, access);
    }

    /// Whether any of pages `p..+c` is inaccessible (Ω_Z's second HUH case).
    pub fn any_inaccessible(&self, first: u32, count: u32) -> bool {
        (first..first.saturating_add(count))
            .any(|page| self.memory.access(page.saturating_mul(PAGE_SIZE)) == Access::Inaccessible)
    }
}

/// `min(n ∈ N, n ∉ keys)`: the lowest free machine index.
pub fn lowest_free<'k>(keys: impl IntoIterator<Item = &'k u64>) -> u64 {
    let mut n = 0u64;
    for &k in keys {
        if k != n {
            break;
        }
        n += 1;
    }
    n
}

/// `[addr, addr + len)` as 32-bit values if it lies below 2^32 (the GP's
/// `N_{addr..+len}` can only be within `V_μ` then); an empty range is `Some`.
pub fn range32(addr: u64, len: u64) -> Option<(u32, u32)> {
    if len == 0 {
        return Some((0, 0));
    }
    let end = addr.checked_add(len)?;
    if end > 1 << 32 {
        return None;
    }
    Some((u32::try_from(addr).ok()?, u32::try_from(len).ok()?))
}

/// Whether `μ[addr..+len]` is readable (an empty range always is).
pub fn is_readable(memory: &Memory, addr: u64, len: u64) -> bool {
    range32(addr, len).is_some_and(|(a, l)| l == 0 || memory.is_readable(a, l))
}

/// Whether `μ[addr..+len]` is writable (an empty range always is).
pub fn is_writable(memory: &Memory, addr: u64, len: u64) -> bool {
    range32(addr, len).is_some_and(|(a, l)| l == 0 || memory.is_writable(a, l))
}

/// The copy buffer of [`copy`]: one PVM page.
const CHUNK: usize = 4096;

/// `to[dst..+len] = from[src..+len]`, a page-sized chunk at a time (so a 4 GiB
/// copy never allocates more than one page); the caller has checked both ranges.
pub fn copy(from: &Memory, src: u64, to: &mut Memory, dst: u64, len: u64) {
    let (Some((src, len32)), Some((dst, _))) = (range32(src, len), range32(dst, len)) else {
        return;
    };
    let mut buf = [0u8; CHUNK];
    let mut done = 0u32;
    while done < len32 {
        let n = (len32 - done).min(PAGE_SIZE);
        let Some(chunk) = usize::try_from(n).ok().and_then(|n| buf.get_mut(..n)) else {
            return;
        };
        from.peek(src.wrapping_add(done), chunk);
        to.poke(dst.wrapping_add(done), chunk);
        done += n;
    }
}

//! `tessera-pvm`: the Polka Virtual Machine of GP v0.7.2 Appendix A.
//!
//! A program blob is deblobbed once ([`Program::from_blob`], A.2) into a flat array of
//! pre-decoded instructions; [`Machine::run`] is Ψ (A.1), a dispatch loop over that
//! array that charges gas per basic block and refunds what an early exit did not
//! execute, so the result is GP v0.7.2's one unit per instruction. All 139 opcodes of
//! v0.7.2 (the `JamV1` numbering of polkavm 0.30, `sbrk` = 101) are defined once in
//! [`isa`], from which their decoding and dispatch are generated. [`Memory`] is the
//! paged RAM with the GP access rules (panic below 2^16, page fault otherwise).
//! [`invocation`] adds Ψ over a raw blob ([`psi`]), the host-call boundary
//! ([`HostCalls`], Ψ_H), the standard initialisation Y and Ψ_M.
//!
//! [`recompiler`] (x86-64) translates a program to machine code once and runs Ψ there,
//! with the interpreter as its slow path and its oracle; [`Backend`] chooses, per
//! machine or process-wide (`--pvm-backend`). It is the only module with `unsafe`:
//! its documentation says which and why it is sound.
//!
//! Deliberately absent: the meaning of any host call (accumulate and refine host
//! functions belong with the state they touch).
#![deny(clippy::as_conversions)]

pub mod interpreter;
pub mod invocation;
pub mod isa;
pub mod memory;
pub mod program;
#[cfg(target_arch = "x86_64")]
pub mod recompiler;
mod word;

pub use interpreter::{Backend, ExitReason, GasMode, Machine, HALT_ADDRESS, REGISTER_COUNT};
pub use invocation::{
    initialise, invoke, invoke_bounded, invoke_bounded_with, psi, run_with_host, HostCalls,
    HostOutcome, Initialised, InvocationResult, NoHostCalls, OutputTooLong, PsiOutcome, MAX_OUTPUT,
};
pub use isa::{ArgKind, Opcode};
pub use memory::{Access, Memory, MemoryError, PAGE_SIZE};
pub use program::{DeblobError, Program};

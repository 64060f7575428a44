//! The recompiler backend (issue 21): Ψ (GP A.1) with every pre-decoded instruction
//! translated once into x86-64 machine code, the interpreter kept as its oracle and
//! as its slow path.
//!
//! # Shape of the generated code
//!
//! Instructions are laid out in program order. A *segment* starts at every basic-block
//! start of [`Program`] (index 0 and the instruction after each terminator, A.3) and
//! after every `ecalli` (where Ψ_H resumes). Each segment begins with the gas check the
//! interpreter makes on block entry: `ϱ < block_gas` leaves the compiled code to run
//! that block metered, one unit per instruction, on the interpreter (so out-of-gas
//! stops exactly where GP v0.7.2 says); otherwise `ϱ −= block_gas`. An exit in the
//! middle of a segment (trap, fault, host call, djump halt/panic) is refunded by the
//! driver as the interpreter refunds it, `block_gas(i) − 1`, so the gas result is the
//! interpreter's to the unit.
//!
//! Guest registers ω0..ω10 live in host registers (rbx, rbp, r12–r14, rsi, rdi,
//! r8–r11), ω11 and ω12 in the context's register array; rax, rcx and rdx are
//! scratch and r15 points at the [`Ctx`]. Memory accesses read [`Memory`]'s table for
//! generated code (page address | access bits, kept in step with the page table by
//! every change to it): an inline fast path handles an access inside one page with
//! the right access; everything else (a first write to a page, a crossing, a fault, a
//! panic below 2^16) calls [`exec_one`], which runs that one instruction on the
//! interpreter. `sbrk` (which changes the page table) takes the same call, as do the
//! bit counts on a CPU without POPCNT, LZCNT or BMI1. So every semantic corner is the interpreter's by construction,
//! and the differential tests check the rest.
//!
//! # Why this is sound (the `unsafe` this module needs)
//!
//! 1. *Executable memory*: `dynasmrt` maps the code read+execute after writing it.
//!    The code only ever jumps to labels of its own, to addresses in `entries`/`jumps`
//!    (computed from the same buffer), or to the address returned by [`exec_one`]
//!    (again from `entries`).
//! 2. *Guest memory*: generated code reads host memory only at `page + (addr mod
//!    4096)` where the table grants read, and writes only where it grants write, and
//!    never across the page's end. The table names only pages of this `Memory` (or
//!    the static zero page, read-only), which are boxed, never freed before the
//!    `Memory` and never moved; a clone rebuilds its own table. Guest input cannot
//!    reach any other host address.
//! 3. *Aliasing*: while generated code runs, the driver holds the `&mut Machine` but
//!    does not use it; the code reaches the machine only through raw pointers taken
//!    from it just before entry, and [`exec_one`] re-derives a `&mut Machine` for the
//!    duration of one instruction (which may add pages, updating the table in place).
//! 4. *Termination*: every loop passes through a segment start, whose gas check
//!    bounds the run by ϱ.
//! 5. *Unwinding*: [`exec_one`] is `extern "sysv64"`; it does not panic (it uses only
//!    checked indexing), and a panic there would abort rather than unwind through
//!    generated frames.
#![allow(unsafe_code)]
// Encoding machine code is casting: offsets to i32 displacements, immediates to
// their two's-complement bit patterns, pointers to addresses.
#![allow(clippy::as_conversions)]
// `dynasm!` expands a dynamic register `Rq(h)` to `h.into()`.
#![allow(clippy::useless_conversion)]

use std::mem::offset_of;

use dynasmrt::{dynasm, x64::Assembler, DynamicLabel, DynasmApi, DynasmLabelApi};

use crate::interpreter::{ExitReason, Machine, Step, HALT_ADDRESS};
use crate::isa::Opcode;
use crate::program::{Instr, Program, NO_TARGET};
use crate::word::idx;

/// The state generated code works on; r15 points here.
#[repr(C)]
pub(crate) struct Ctx {
    regs: [u64; 16],
    gas: i64,
    /// `Memory`'s table for generated code (2^20 entries: page address | access).
    table: *const u64,
    /// Per jump-table entry: the code address of its target (or of a panic stub).
    jumps: *const usize,
    jump_len: u64,
    /// Per instruction index: the code address of a segment start, or 0.
    entries: *const usize,
    machine: *mut Machine<'static>,
    exit_kind: u64,
    exit_arg: u64,
    exit_index: u64,
}

const HALT: u64 = 0;
const PANIC: u64 = 1;
const FAULT: u64 = 2;
const HOST: u64 = 3;
/// Run the block at `exit_index` on the interpreter, metered, then come back.
const INTERPRET: u64 = 4;

/// Host register of each guest register ω0..ω10 (ω11, ω12 live in `Ctx::regs`).
/// Numbers are x86-64 register encodings: rbx 3, rbp 5, rsi 6, rdi 7, r8..r14.
const HOST_REGS: [u8; 11] = [3, 5, 12, 13, 14, 6, 7, 8, 9, 10, 11];

/// Where a guest register lives.
#[derive(Clone, Copy)]
enum Loc {
    Reg(u8),
    /// Displacement from r15.
    Mem(i32),
}

fn loc(g: u8) -> Loc {
    match HOST_REGS.get(usize::from(g)) {
        Some(h) => Loc::Reg(*h),
        None => Loc::Mem(reg_slot(g)),
    }
}

fn reg_slot(g: u8) -> i32 {
    (offset_of!(Ctx, regs) + 8 * usize::from(g & 15)) as i32
}

const GAS: i32 = offset_of!(Ctx, gas) as i32;
const TABLE: i32 = offset_of!(Ctx, table) as i32;
const JUMPS: i32 = offset_of!(Ctx, jumps) as i32;
const JUMP_LEN: i32 = offset_of!(Ctx, jump_len) as i32;
const EXIT_KIND: i32 = offset_of!(Ctx, exit_kind) as i32;
const EXIT_ARG: i32 = offset_of!(Ctx, exit_arg) as i32;
const EXIT_INDEX: i32 = offset_of!(Ctx, exit_index) as i32;

/// `x` as a sign-extended 32-bit immediate, if it is one.
fn imm32(x: u64) -> Option<i32> {
    let v = x as i64;
    i32::try_from(v).ok()
}

/// A program translated to machine code.
pub(crate) struct Compiled {
    buf: dynasmrt::ExecutableBuffer,
    enter: dynasmrt::AssemblyOffset,
    entries: Vec<usize>,
    jumps: Vec<usize>,
}

impl std::fmt::Debug for Compiled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Compiled")
            .field("code_bytes", &self.buf.len())
            .field("entries", &self.entries.iter().filter(|e| **e != 0).count())
            .finish()
    }
}

/// Out-of-line code, emitted after the instructions.
enum Stub {
    /// Stop with this exit kind (and argument) at this instruction.
    Exit {
        label: DynamicLabel,
        kind: u64,
        arg: u64,
        index: u32,
    },
    /// Run this instruction on the interpreter, then continue at `ret`.
    Slow {
        label: DynamicLabel,
        index: u32,
        ret: DynamicLabel,
    },
}

struct Emitter {
    ops: Assembler,
    /// Per instruction index: its label if it starts a segment (and only then).
    labels: Vec<Option<DynamicLabel>>,
    stubs: Vec<Stub>,
    exit: DynamicLabel,
    panic_stored: DynamicLabel,
    common_halt: DynamicLabel,
    common_panic: DynamicLabel,
    common_interpret: DynamicLabel,
    common_slow: DynamicLabel,
    cpu: CpuFeatures,
}

/// Optional instructions the translation may use, detected once per translation.
#[derive(Clone, Copy)]
struct CpuFeatures {
    popcnt: bool,
    lzcnt: bool,
    bmi1: bool,
}

macro_rules! asm {
    ($ops:expr; $($t:tt)*) => {
        dynasm!($ops ; .arch x64 ; $($t)*)
    };
}

/// `rax ← op(rax, ω_g)` for a two-operand ALU mnemonic.
macro_rules! rax_op {
    ($e:expr, $op:ident, $g:expr) => {
        match loc($g) {
            Loc::Reg(h) => asm!($e.ops; $op rax, Rq(h)),
            Loc::Mem(o) => asm!($e.ops; $op rax, QWORD [r15 + o]),
        }
    };
}

impl Emitter {
    fn load(&mut self, host: u8, g: u8) {
        match loc(g) {
            Loc::Reg(h) => asm!(self.ops; mov Rq(host), Rq(h)),
            Loc::Mem(o) => asm!(self.ops; mov Rq(host), QWORD [r15 + o]),
        }
    }

    /// `ω_g ← rax`.
    fn store_rax(&mut self, g: u8) {
        match loc(g) {
            Loc::Reg(h) => asm!(self.ops; mov Rq(h), rax),
            Loc::Mem(o) => asm!(self.ops; mov QWORD [r15 + o], rax),
        }
    }

    fn mov_imm(&mut self, host: u8, x: u64) {
        match imm32(x) {
            Some(v) => asm!(self.ops; mov Rq(host), DWORD v),
            None => asm!(self.ops; mov Rq(host), QWORD x as i64),
        }
    }

    fn sext32_rax(&mut self) {
        asm!(self.ops; movsxd rax, eax);
    }

    fn spill_all(&mut self) {
        for g in 0..HOST_REGS.len() {
            if let Some(h) = HOST_REGS.get(g).copied() {
                let o = reg_slot(g as u8);
                asm!(self.ops; mov QWORD [r15 + o], Rq(h));
            }
        }
    }

    fn reload_all(&mut self) {
        for g in 0..HOST_REGS.len() {
            if let Some(h) = HOST_REGS.get(g).copied() {
                let o = reg_slot(g as u8);
                asm!(self.ops; mov Rq(h), QWORD [r15 + o]);
            }
        }
    }

    fn exit_stub(&mut self, kind: u64, arg: u64, index: u32) -> DynamicLabel {
        let label = self.ops.new_dynamic_label();
        self.stubs.push(Stub::Exit {
            label,
            kind,
            arg,
            index,
        });
        label
    }

    /// The label to branch to for static target `t` taken at instruction `index`.
    fn target(&mut self, t: u32, index: u32) -> DynamicLabel {
        if t == NO_TARGET {
            return self.exit_stub(PANIC, 0, index);
        }
        match self.labels.get(idx(t)).copied().flatten() {
            Some(l) => l,
            // A block start that is not a segment start (possible only for a
            // terminator at pc 0 outside the bitmask): let the interpreter charge it.
            None => self.exit_stub(INTERPRET, 0, t),
        }
    }

    /// The whole instruction on the interpreter (untranslated opcodes).
    fn slow_only(&mut self, index: u32) {
        let label = self.ops.new_dynamic_label();
        let ret = self.ops.new_dynamic_label();
        asm!(self.ops; jmp =>label ; =>ret);
        self.stubs.push(Stub::Slow { label, index, ret });
    }

    /// eax ← lo32(ω_g + x) (g = None: the constant lo32(x)).
    fn address(&mut self, g: Option<u8>, x: u64) {
        let disp = x as u32 as i32;
        match g.map(loc) {
            None => asm!(self.ops; mov eax, DWORD disp),
            Some(Loc::Reg(h)) => asm!(self.ops; lea eax, [Rq(h) + disp]),
            Some(Loc::Mem(o)) => asm!(self.ops; mov rax, QWORD [r15 + o] ; lea eax, [rax + disp]),
        }
    }

    /// With the guest address in eax: rdx ← the page's octets, rax ← the offset in
    /// the page; branches to the slow path unless the table grants `need` (bit 0
    /// read, bit 1 write) and the `n` octets do not cross the page's end.
    fn translate(&mut self, n: i32, need: i8, slow: DynamicLabel) {
        asm!(self.ops
            ; mov ecx, eax
            ; shr ecx, 12
            ; mov rdx, QWORD [r15 + TABLE]
            ; mov rdx, QWORD [rdx + rcx * 8]
            ; test dl, BYTE need
            ; jz =>slow
            ; and rdx, -4096
            ; and eax, 0xfff
        );
        if n > 1 {
            asm!(self.ops; cmp eax, DWORD 4096 - n ; ja =>slow);
        }
    }

    fn load_mem(&mut self, index: u32, dst: u8, base: Option<u8>, x: u64, n: i32, signed: bool) {
        let slow = self.ops.new_dynamic_label();
        let ret = self.ops.new_dynamic_label();
        self.address(base, x);
        self.translate(n, 1, slow);
        // Straight into ω_dst's host register when it has one.
        let (h, spilled) = match loc(dst) {
            Loc::Reg(h) => (h, false),
            Loc::Mem(_) => (0, true),
        };
        match (n, signed) {
            (1, false) => asm!(self.ops; movzx Rd(h), BYTE [rdx + rax]),
            (1, true) => asm!(self.ops; movsx Rq(h), BYTE [rdx + rax]),
            (2, false) => asm!(self.ops; movzx Rd(h), WORD [rdx + rax]),
            (2, true) => asm!(self.ops; movsx Rq(h), WORD [rdx + rax]),
            (4, false) => asm!(self.ops; mov Rd(h), DWORD [rdx + rax]),
            (4, true) => asm!(self.ops; movsxd Rq(h), DWORD [rdx + rax]),
            _ => asm!(self.ops; mov Rq(h), QWORD [rdx + rax]),
        }
        if spilled {
            self.store_rax(dst);
        }
        asm!(self.ops; =>ret);
        self.stubs.push(Stub::Slow {
            label: slow,
            index,
            ret,
        });
    }

    /// Store `n` octets of `value` (a register, or an immediate).
    fn store_mem(&mut self, index: u32, value: Result<u8, u64>, base: Option<u8>, x: u64, n: i32) {
        let slow = self.ops.new_dynamic_label();
        let ret = self.ops.new_dynamic_label();
        self.address(base, x);
        self.translate(n, 2, slow);
        let src = match value.map(loc) {
            Ok(Loc::Reg(h)) => h,
            Ok(Loc::Mem(o)) => {
                asm!(self.ops; mov rcx, QWORD [r15 + o]);
                1
            }
            Err(v) => {
                self.mov_imm(1, v);
                1
            }
        };
        match n {
            1 => asm!(self.ops; mov BYTE [rdx + rax], Rb(src)),
            2 => asm!(self.ops; mov WORD [rdx + rax], Rw(src)),
            4 => asm!(self.ops; mov DWORD [rdx + rax], Rd(src)),
            _ => asm!(self.ops; mov QWORD [rdx + rax], Rq(src)),
        }
        asm!(self.ops; =>ret);
        self.stubs.push(Stub::Slow {
            label: slow,
            index,
            ret,
        });
    }

    /// `djump(lo32(ω_g + x))` (A.4), with `then` (the load of load_imm_jump_ind)
    /// done after the address is read.
    fn djump(&mut self, index: u32, g: u8, x: u64, then: Option<(u8, u64)>) {
        self.address(Some(g), x);
        if let Some((a, v)) = then {
            asm!(self.ops; mov edx, eax);
            self.mov_imm(0, v);
            self.store_rax(a);
            asm!(self.ops; mov eax, edx);
        }
        let halt = self.exit_stub(HALT, 0, index);
        let panic = self.exit_stub(PANIC, 0, index);
        asm!(self.ops
            ; cmp eax, DWORD HALT_ADDRESS as i32
            ; je =>halt
            ; test eax, 1
            ; jnz =>panic
            ; shr eax, 1
            ; jz =>panic
            ; dec eax
            ; cmp rax, QWORD [r15 + JUMP_LEN]
            ; jae =>panic
            ; mov QWORD [r15 + EXIT_INDEX], DWORD index as i32
            ; mov rcx, QWORD [r15 + JUMPS]
            ; jmp QWORD [rcx + rax * 8]
        );
    }

    /// `branch(target, rax <cond> operand)`.
    fn branch_imm(&mut self, i: &Instr, index: u32, jcc: Jcc) {
        let ha = match loc(i.a) {
            Loc::Reg(h) => h,
            Loc::Mem(_) => {
                self.load(0, i.a);
                0
            }
        };
        match imm32(i.imm_x) {
            Some(v) => asm!(self.ops; cmp Rq(ha), DWORD v),
            None => {
                self.mov_imm(1, i.imm_x);
                asm!(self.ops; cmp Rq(ha), rcx);
            }
        }
        let l = self.target(i.target, index);
        self.jcc(jcc, l);
    }

    fn branch_reg(&mut self, i: &Instr, index: u32, jcc: Jcc) {
        let ha = match loc(i.a) {
            Loc::Reg(h) => h,
            Loc::Mem(_) => {
                self.load(0, i.a);
                0
            }
        };
        match loc(i.b) {
            Loc::Reg(h) => asm!(self.ops; cmp Rq(ha), Rq(h)),
            Loc::Mem(o) => asm!(self.ops; cmp Rq(ha), QWORD [r15 + o]),
        }
        let l = self.target(i.target, index);
        self.jcc(jcc, l);
    }

    fn jcc(&mut self, c: Jcc, l: DynamicLabel) {
        match c {
            Jcc::E => asm!(self.ops; je =>l),
            Jcc::Ne => asm!(self.ops; jne =>l),
            Jcc::B => asm!(self.ops; jb =>l),
            Jcc::Be => asm!(self.ops; jbe =>l),
            Jcc::Ae => asm!(self.ops; jae =>l),
            Jcc::A => asm!(self.ops; ja =>l),
            Jcc::L => asm!(self.ops; jl =>l),
            Jcc::Le => asm!(self.ops; jle =>l),
            Jcc::Ge => asm!(self.ops; jge =>l),
            Jcc::G => asm!(self.ops; jg =>l),
        }
    }

    /// `ω_d ← ω_a op src` computed in ω_d's host register, when ω_d has one: no
    /// round trip through rax (`narrow`: then sign-extend the low 32 bits). Returns
    /// false, emitting nothing, where that is not possible.
    fn binop(&mut self, d: u8, a: u8, src: Src, op: AluOp, narrow: bool) -> bool {
        let Loc::Reg(hd) = loc(d) else {
            return false;
        };
        let commutative = !matches!(op, AluOp::Sub);
        match src {
            Src::Reg(b) if b == d && a != d => {
                // ω_d ← ω_a op ω_d: only commutative ops can reuse ω_d.
                if !commutative {
                    return false;
                }
                self.op_into(hd, op, Src::Reg(a));
            }
            Src::Imm(x) if op == AluOp::Add && a != d && imm32(x).is_some() => {
                let v = imm32(x).unwrap_or(0);
                match loc(a) {
                    Loc::Reg(ha) => asm!(self.ops; lea Rq(hd), [Rq(ha) + v]),
                    Loc::Mem(o) => {
                        asm!(self.ops; mov Rq(hd), QWORD [r15 + o] ; add Rq(hd), DWORD v)
                    }
                }
            }
            _ => {
                if a != d {
                    self.load(hd, a);
                }
                self.op_into(hd, op, src);
            }
        }
        if narrow {
            asm!(self.ops; movsxd Rq(hd), Rd(hd));
        }
        true
    }

    /// `host ← host op src`.
    fn op_into(&mut self, host: u8, op: AluOp, src: Src) {
        macro_rules! each {
            ($($o:ident => $m:ident),*) => {
                match (op, src) {
                    $(
                        (AluOp::$o, Src::Reg(g)) => match loc(g) {
                            Loc::Reg(h) => asm!(self.ops; $m Rq(host), Rq(h)),
                            Loc::Mem(o) => asm!(self.ops; $m Rq(host), QWORD [r15 + o]),
                        },
                        (AluOp::$o, Src::Imm(x)) => match imm32(x) {
                            Some(v) => asm!(self.ops; $m Rq(host), DWORD v),
                            None => {
                                self.mov_imm(1, x);
                                asm!(self.ops; $m Rq(host), rcx);
                            }
                        },
                    )*
                    (AluOp::Mul, Src::Reg(g)) => match loc(g) {
                        Loc::Reg(h) => asm!(self.ops; imul Rq(host), Rq(h)),
                        Loc::Mem(o) => asm!(self.ops; imul Rq(host), QWORD [r15 + o]),
                    },
                    (AluOp::Mul, Src::Imm(x)) => match imm32(x) {
                        Some(v) => asm!(self.ops; imul Rq(host), Rq(host), DWORD v),
                        None => {
                            self.mov_imm(1, x);
                            asm!(self.ops; imul Rq(host), rcx);
                        }
                    },
                }
            };
        }
        each!(Add => add, Sub => sub, And => and, Or => or, Xor => xor)
    }

    /// rax ← ω_b op imm (64-bit).
    fn alu_imm(&mut self, i: &Instr, op: AluOp) {
        self.load(0, i.b);
        let v = imm32(i.imm_x);
        match (op, v) {
            (AluOp::Add, Some(v)) => asm!(self.ops; add rax, DWORD v),
            (AluOp::And, Some(v)) => asm!(self.ops; and rax, DWORD v),
            (AluOp::Or, Some(v)) => asm!(self.ops; or rax, DWORD v),
            (AluOp::Xor, Some(v)) => asm!(self.ops; xor rax, DWORD v),
            (AluOp::Mul, Some(v)) => asm!(self.ops; imul rax, rax, DWORD v),
            (AluOp::Sub, Some(v)) => asm!(self.ops; sub rax, DWORD v),
            (op, None) => {
                self.mov_imm(1, i.imm_x);
                match op {
                    AluOp::Sub => asm!(self.ops; sub rax, rcx),
                    AluOp::Add => asm!(self.ops; add rax, rcx),
                    AluOp::And => asm!(self.ops; and rax, rcx),
                    AluOp::Or => asm!(self.ops; or rax, rcx),
                    AluOp::Xor => asm!(self.ops; xor rax, rcx),
                    AluOp::Mul => asm!(self.ops; imul rax, rcx),
                }
            }
        }
    }

    /// rax ← (ω_b <cmp> ν_X) as 0/1.
    fn set_imm(&mut self, i: &Instr, c: Set) {
        self.load(1, i.b);
        asm!(self.ops; xor eax, eax);
        match imm32(i.imm_x) {
            Some(v) => asm!(self.ops; cmp rcx, DWORD v),
            None => {
                self.mov_imm(2, i.imm_x);
                asm!(self.ops; cmp rcx, rdx);
            }
        }
        self.setcc(c);
    }

    fn setcc(&mut self, c: Set) {
        match c {
            Set::B => asm!(self.ops; setb al),
            Set::A => asm!(self.ops; seta al),
            Set::L => asm!(self.ops; setl al),
            Set::G => asm!(self.ops; setg al),
        }
    }

    /// rax ← shift(ω_src by cl), `imm` as the shifted value for the `_alt` forms.
    fn shift_cl(&mut self, value: Result<u8, u64>, amount: u8, op: Shift, wide: bool) {
        self.load(1, amount);
        match value {
            Ok(g) => self.load(0, g),
            Err(x) => self.mov_imm(0, x),
        }
        match (op, wide) {
            (Shift::Shl, true) => asm!(self.ops; shl rax, cl),
            (Shift::Shr, true) => asm!(self.ops; shr rax, cl),
            (Shift::Sar, true) => asm!(self.ops; sar rax, cl),
            (Shift::Rol, true) => asm!(self.ops; rol rax, cl),
            (Shift::Ror, true) => asm!(self.ops; ror rax, cl),
            (Shift::Shl, false) => asm!(self.ops; shl eax, cl),
            (Shift::Shr, false) => asm!(self.ops; shr eax, cl),
            (Shift::Sar, false) => asm!(self.ops; sar eax, cl),
            (Shift::Rol, false) => asm!(self.ops; rol eax, cl),
            (Shift::Ror, false) => asm!(self.ops; ror eax, cl),
        }
        if !wide {
            self.sext32_rax();
        }
    }

    /// rax ← shift(ω_b by a constant).
    fn shift_imm(&mut self, g: u8, k: u64, op: Shift, wide: bool) {
        self.load(0, g);
        let k = (k % if wide { 64 } else { 32 }) as i8;
        match (op, wide) {
            (Shift::Shl, true) => asm!(self.ops; shl rax, BYTE k),
            (Shift::Shr, true) => asm!(self.ops; shr rax, BYTE k),
            (Shift::Sar, true) => asm!(self.ops; sar rax, BYTE k),
            (Shift::Rol, true) => asm!(self.ops; rol rax, BYTE k),
            (Shift::Ror, true) => asm!(self.ops; ror rax, BYTE k),
            (Shift::Shl, false) => asm!(self.ops; shl eax, BYTE k),
            (Shift::Shr, false) => asm!(self.ops; shr eax, BYTE k),
            (Shift::Sar, false) => asm!(self.ops; sar eax, BYTE k),
            (Shift::Rol, false) => asm!(self.ops; rol eax, BYTE k),
            (Shift::Ror, false) => asm!(self.ops; ror eax, BYTE k),
        }
        if !wide {
            self.sext32_rax();
        }
    }

    /// rax ← (ω_a op ω_b) for the three-register ALU forms.
    fn alu3(&mut self, i: &Instr, op: AluOp) {
        self.load(0, i.a);
        match op {
            AluOp::Sub => rax_op!(self, sub, i.b),
            AluOp::Add => rax_op!(self, add, i.b),
            AluOp::And => rax_op!(self, and, i.b),
            AluOp::Or => rax_op!(self, or, i.b),
            AluOp::Xor => rax_op!(self, xor, i.b),
            AluOp::Mul => rax_op!(self, imul, i.b),
        }
    }

    fn instruction(&mut self, index: u32, i: &Instr) {
        use Opcode as O;
        let sub_b = |e: &mut Self| rax_op!(e, sub, i.b);
        match i.op {
            O::Trap => {
                let l = self.exit_stub(PANIC, 0, index);
                asm!(self.ops; jmp =>l);
            }
            O::Fallthrough => {}
            O::Ecalli => {
                let l = self.exit_stub(HOST, i.imm_x, index);
                asm!(self.ops; jmp =>l);
            }
            O::LoadImm64 | O::LoadImm => match loc(i.a) {
                Loc::Reg(h) => self.mov_imm(h, i.imm_x),
                Loc::Mem(_) => {
                    self.mov_imm(0, i.imm_x);
                    self.store_rax(i.a);
                }
            },
            O::StoreImmU8 => self.store_mem(index, Err(i.imm_y), None, i.imm_x, 1),
            O::StoreImmU16 => self.store_mem(index, Err(i.imm_y), None, i.imm_x, 2),
            O::StoreImmU32 => self.store_mem(index, Err(i.imm_y), None, i.imm_x, 4),
            O::StoreImmU64 => self.store_mem(index, Err(i.imm_y), None, i.imm_x, 8),
            O::Jump => {
                let l = self.target(i.target, index);
                asm!(self.ops; jmp =>l);
            }
            O::JumpInd => self.djump(index, i.a, i.imm_x, None),
            O::LoadU8 => self.load_mem(index, i.a, None, i.imm_x, 1, false),
            O::LoadI8 => self.load_mem(index, i.a, None, i.imm_x, 1, true),
            O::LoadU16 => self.load_mem(index, i.a, None, i.imm_x, 2, false),
            O::LoadI16 => self.load_mem(index, i.a, None, i.imm_x, 2, true),
            O::LoadU32 => self.load_mem(index, i.a, None, i.imm_x, 4, false),
            O::LoadI32 => self.load_mem(index, i.a, None, i.imm_x, 4, true),
            O::LoadU64 => self.load_mem(index, i.a, None, i.imm_x, 8, false),
            O::StoreU8 => self.store_mem(index, Ok(i.a), None, i.imm_x, 1),
            O::StoreU16 => self.store_mem(index, Ok(i.a), None, i.imm_x, 2),
            O::StoreU32 => self.store_mem(index, Ok(i.a), None, i.imm_x, 4),
            O::StoreU64 => self.store_mem(index, Ok(i.a), None, i.imm_x, 8),
            O::StoreImmIndU8 => self.store_mem(index, Err(i.imm_y), Some(i.a), i.imm_x, 1),
            O::StoreImmIndU16 => self.store_mem(index, Err(i.imm_y), Some(i.a), i.imm_x, 2),
            O::StoreImmIndU32 => self.store_mem(index, Err(i.imm_y), Some(i.a), i.imm_x, 4),
            O::StoreImmIndU64 => self.store_mem(index, Err(i.imm_y), Some(i.a), i.imm_x, 8),
            O::LoadImmJump => {
                self.mov_imm(0, i.imm_x);
                self.store_rax(i.a);
                let l = self.target(i.target, index);
                asm!(self.ops; jmp =>l);
            }
            O::BranchEqImm => self.branch_imm(i, index, Jcc::E),
            O::BranchNeImm => self.branch_imm(i, index, Jcc::Ne),
            O::BranchLtUImm => self.branch_imm(i, index, Jcc::B),
            O::BranchLeUImm => self.branch_imm(i, index, Jcc::Be),
            O::BranchGeUImm => self.branch_imm(i, index, Jcc::Ae),
            O::BranchGtUImm => self.branch_imm(i, index, Jcc::A),
            O::BranchLtSImm => self.branch_imm(i, index, Jcc::L),
            O::BranchLeSImm => self.branch_imm(i, index, Jcc::Le),
            O::BranchGeSImm => self.branch_imm(i, index, Jcc::Ge),
            O::BranchGtSImm => self.branch_imm(i, index, Jcc::G),
            O::MoveReg => {
                self.load(0, i.a);
                self.store_rax(i.d);
            }
            O::SignExtend8 => {
                self.load(0, i.a);
                asm!(self.ops; movsx rax, al);
                self.store_rax(i.d);
            }
            O::SignExtend16 => {
                self.load(0, i.a);
                asm!(self.ops; movsx rax, ax);
                self.store_rax(i.d);
            }
            O::ZeroExtend16 => {
                self.load(0, i.a);
                asm!(self.ops; movzx eax, ax);
                self.store_rax(i.d);
            }
            O::ReverseBytes => {
                self.load(0, i.a);
                asm!(self.ops; bswap rax);
                self.store_rax(i.d);
            }
            O::CountSetBits64
            | O::CountSetBits32
            | O::LeadingZeroBits64
            | O::LeadingZeroBits32
            | O::TrailingZeroBits64
            | O::TrailingZeroBits32
                if self.bit_counts(i) => {}
            O::DivU32
            | O::DivS32
            | O::RemU32
            | O::RemS32
            | O::DivU64
            | O::DivS64
            | O::RemU64
            | O::RemS64 => self.division(i),
            // sbrk changes the page table: the interpreter's `Memory::sbrk` does it,
            // and so do the bit counts on a CPU without POPCNT/LZCNT/BMI1.
            O::Sbrk
            | O::CountSetBits64
            | O::CountSetBits32
            | O::LeadingZeroBits64
            | O::LeadingZeroBits32
            | O::TrailingZeroBits64
            | O::TrailingZeroBits32 => self.slow_only(index),
            O::StoreIndU8 => self.store_mem(index, Ok(i.a), Some(i.b), i.imm_x, 1),
            O::StoreIndU16 => self.store_mem(index, Ok(i.a), Some(i.b), i.imm_x, 2),
            O::StoreIndU32 => self.store_mem(index, Ok(i.a), Some(i.b), i.imm_x, 4),
            O::StoreIndU64 => self.store_mem(index, Ok(i.a), Some(i.b), i.imm_x, 8),
            O::LoadIndU8 => self.load_mem(index, i.a, Some(i.b), i.imm_x, 1, false),
            O::LoadIndI8 => self.load_mem(index, i.a, Some(i.b), i.imm_x, 1, true),
            O::LoadIndU16 => self.load_mem(index, i.a, Some(i.b), i.imm_x, 2, false),
            O::LoadIndI16 => self.load_mem(index, i.a, Some(i.b), i.imm_x, 2, true),
            O::LoadIndU32 => self.load_mem(index, i.a, Some(i.b), i.imm_x, 4, false),
            O::LoadIndI32 => self.load_mem(index, i.a, Some(i.b), i.imm_x, 4, true),
            O::LoadIndU64 => self.load_mem(index, i.a, Some(i.b), i.imm_x, 8, false),
            O::AddImm32 if self.binop(i.a, i.b, Src::Imm(i.imm_x), AluOp::Add, true) => {}
            O::AddImm64 if self.binop(i.a, i.b, Src::Imm(i.imm_x), AluOp::Add, false) => {}
            O::AndImm if self.binop(i.a, i.b, Src::Imm(i.imm_x), AluOp::And, false) => {}
            O::XorImm if self.binop(i.a, i.b, Src::Imm(i.imm_x), AluOp::Xor, false) => {}
            O::OrImm if self.binop(i.a, i.b, Src::Imm(i.imm_x), AluOp::Or, false) => {}
            O::MulImm64 if self.binop(i.a, i.b, Src::Imm(i.imm_x), AluOp::Mul, false) => {}
            O::Add32 if self.binop(i.d, i.a, Src::Reg(i.b), AluOp::Add, true) => {}
            O::Add64 if self.binop(i.d, i.a, Src::Reg(i.b), AluOp::Add, false) => {}
            O::Sub32 if self.binop(i.d, i.a, Src::Reg(i.b), AluOp::Sub, true) => {}
            O::Sub64 if self.binop(i.d, i.a, Src::Reg(i.b), AluOp::Sub, false) => {}
            O::Mul32 if self.binop(i.d, i.a, Src::Reg(i.b), AluOp::Mul, true) => {}
            O::Mul64 if self.binop(i.d, i.a, Src::Reg(i.b), AluOp::Mul, false) => {}
            O::And if self.binop(i.d, i.a, Src::Reg(i.b), AluOp::And, false) => {}
            O::Xor if self.binop(i.d, i.a, Src::Reg(i.b), AluOp::Xor, false) => {}
            O::Or if self.binop(i.d, i.a, Src::Reg(i.b), AluOp::Or, false) => {}
            O::AddImm32 => {
                self.alu_imm(i, AluOp::Add);
                self.sext32_rax();
                self.store_rax(i.a);
            }
            O::AndImm => {
                self.alu_imm(i, AluOp::And);
                self.store_rax(i.a);
            }
            O::XorImm => {
                self.alu_imm(i, AluOp::Xor);
                self.store_rax(i.a);
            }
            O::OrImm => {
                self.alu_imm(i, AluOp::Or);
                self.store_rax(i.a);
            }
            O::MulImm32 => {
                self.load(0, i.b);
                let v = i.imm_x as u32 as i32;
                asm!(self.ops; imul eax, eax, DWORD v);
                self.sext32_rax();
                self.store_rax(i.a);
            }
            O::SetLtUImm => {
                self.set_imm(i, Set::B);
                self.store_rax(i.a);
            }
            O::SetLtSImm => {
                self.set_imm(i, Set::L);
                self.store_rax(i.a);
            }
            O::SetGtUImm => {
                self.set_imm(i, Set::A);
                self.store_rax(i.a);
            }
            O::SetGtSImm => {
                self.set_imm(i, Set::G);
                self.store_rax(i.a);
            }
            O::ShloLImm32 => self.shift_imm_to(i, Shift::Shl, false),
            O::ShloRImm32 => self.shift_imm_to(i, Shift::Shr, false),
            O::SharRImm32 => self.shift_imm_to(i, Shift::Sar, false),
            O::ShloLImm64 => self.shift_imm_to(i, Shift::Shl, true),
            O::ShloRImm64 => self.shift_imm_to(i, Shift::Shr, true),
            O::SharRImm64 => self.shift_imm_to(i, Shift::Sar, true),
            O::RotR64Imm => self.shift_imm_to(i, Shift::Ror, true),
            O::RotR32Imm => self.shift_imm_to(i, Shift::Ror, false),
            O::ShloLImmAlt32 => self.shift_alt(i, Shift::Shl, false),
            O::ShloRImmAlt32 => self.shift_alt(i, Shift::Shr, false),
            O::SharRImmAlt32 => self.shift_alt(i, Shift::Sar, false),
            O::ShloLImmAlt64 => self.shift_alt(i, Shift::Shl, true),
            O::ShloRImmAlt64 => self.shift_alt(i, Shift::Shr, true),
            O::SharRImmAlt64 => self.shift_alt(i, Shift::Sar, true),
            O::RotR64ImmAlt => self.shift_alt(i, Shift::Ror, true),
            O::RotR32ImmAlt => self.shift_alt(i, Shift::Ror, false),
            O::NegAddImm32 | O::NegAddImm64 => {
                self.mov_imm(0, i.imm_x);
                sub_b(self);
                if i.op == O::NegAddImm32 {
                    self.sext32_rax();
                }
                self.store_rax(i.a);
            }
            O::CmovIzImm | O::CmovNzImm => {
                self.load(0, i.a);
                self.load(1, i.b);
                self.mov_imm(2, i.imm_x);
                asm!(self.ops; test rcx, rcx);
                if i.op == O::CmovIzImm {
                    asm!(self.ops; cmovz rax, rdx);
                } else {
                    asm!(self.ops; cmovnz rax, rdx);
                }
                self.store_rax(i.a);
            }
            O::AddImm64 => {
                self.alu_imm(i, AluOp::Add);
                self.store_rax(i.a);
            }
            O::MulImm64 => {
                self.alu_imm(i, AluOp::Mul);
                self.store_rax(i.a);
            }
            O::BranchEq => self.branch_reg(i, index, Jcc::E),
            O::BranchNe => self.branch_reg(i, index, Jcc::Ne),
            O::BranchLtU => self.branch_reg(i, index, Jcc::B),
            O::BranchLtS => self.branch_reg(i, index, Jcc::L),
            O::BranchGeU => self.branch_reg(i, index, Jcc::Ae),
            O::BranchGeS => self.branch_reg(i, index, Jcc::Ge),
            O::LoadImmJumpInd => self.djump(index, i.b, i.imm_y, Some((i.a, i.imm_x))),
            O::Add32 | O::Add64 => {
                self.alu3(i, AluOp::Add);
                self.finish3(i, i.op == O::Add32);
            }
            O::Sub32 | O::Sub64 => {
                self.load(0, i.a);
                sub_b(self);
                self.finish3(i, i.op == O::Sub32);
            }
            O::Mul32 | O::Mul64 => {
                self.alu3(i, AluOp::Mul);
                self.finish3(i, i.op == O::Mul32);
            }
            O::And => {
                self.alu3(i, AluOp::And);
                self.store_rax(i.d);
            }
            O::Xor => {
                self.alu3(i, AluOp::Xor);
                self.store_rax(i.d);
            }
            O::Or => {
                self.alu3(i, AluOp::Or);
                self.store_rax(i.d);
            }
            O::ShloL32 => self.shift3(i, Shift::Shl, false),
            O::ShloR32 => self.shift3(i, Shift::Shr, false),
            O::SharR32 => self.shift3(i, Shift::Sar, false),
            O::ShloL64 => self.shift3(i, Shift::Shl, true),
            O::ShloR64 => self.shift3(i, Shift::Shr, true),
            O::SharR64 => self.shift3(i, Shift::Sar, true),
            O::RotL64 => self.shift3(i, Shift::Rol, true),
            O::RotL32 => self.shift3(i, Shift::Rol, false),
            O::RotR64 => self.shift3(i, Shift::Ror, true),
            O::RotR32 => self.shift3(i, Shift::Ror, false),
            O::MulUpperSS | O::MulUpperUU | O::MulUpperSU => {
                self.load(1, i.b);
                self.load(0, i.a);
                match i.op {
                    O::MulUpperSS => asm!(self.ops; imul rcx),
                    _ => asm!(self.ops; mul rcx),
                }
                if i.op == O::MulUpperSU {
                    // ⌊Z(a)·b / 2^64⌋ = ⌊a·b / 2^64⌋ − b·[a < 0] (mod 2^64).
                    self.load(0, i.a);
                    asm!(self.ops; sar rax, 63 ; and rax, rcx ; sub rdx, rax);
                }
                asm!(self.ops; mov rax, rdx);
                self.store_rax(i.d);
            }
            O::SetLtU | O::SetLtS => {
                self.load(1, i.a);
                self.load(2, i.b);
                asm!(self.ops; xor eax, eax ; cmp rcx, rdx);
                self.setcc(if i.op == O::SetLtU { Set::B } else { Set::L });
                self.store_rax(i.d);
            }
            O::CmovIz | O::CmovNz => {
                self.load(0, i.d);
                self.load(1, i.b);
                self.load(2, i.a);
                asm!(self.ops; test rcx, rcx);
                if i.op == O::CmovIz {
                    asm!(self.ops; cmovz rax, rdx);
                } else {
                    asm!(self.ops; cmovnz rax, rdx);
                }
                self.store_rax(i.d);
            }
            O::AndInv | O::OrInv => {
                self.load(0, i.b);
                asm!(self.ops; not rax);
                if i.op == O::AndInv {
                    rax_op!(self, and, i.a);
                } else {
                    rax_op!(self, or, i.a);
                }
                self.store_rax(i.d);
            }
            O::Xnor => {
                self.alu3(i, AluOp::Xor);
                asm!(self.ops; not rax);
                self.store_rax(i.d);
            }
            O::Max | O::MaxU | O::Min | O::MinU => {
                self.load(0, i.a);
                self.load(1, i.b);
                asm!(self.ops; cmp rax, rcx);
                match i.op {
                    O::Max => asm!(self.ops; cmovl rax, rcx),
                    O::MaxU => asm!(self.ops; cmovb rax, rcx),
                    O::Min => asm!(self.ops; cmovg rax, rcx),
                    _ => asm!(self.ops; cmova rax, rcx),
                }
                self.store_rax(i.d);
            }
        }
    }

    /// count_set_bits / leading_zero_bits / trailing_zero_bits, where the CPU has the
    /// instruction (its result for 0 is the width, as GP's); false where it has not.
    fn bit_counts(&mut self, i: &Instr) -> bool {
        use Opcode as O;
        let wide = matches!(
            i.op,
            O::CountSetBits64 | O::LeadingZeroBits64 | O::TrailingZeroBits64
        );
        let has = match i.op {
            O::CountSetBits64 | O::CountSetBits32 => self.cpu.popcnt,
            O::LeadingZeroBits64 | O::LeadingZeroBits32 => self.cpu.lzcnt,
            _ => self.cpu.bmi1,
        };
        if !has {
            return false;
        }
        self.load(0, i.a);
        match (i.op, wide) {
            (O::CountSetBits64 | O::CountSetBits32, true) => asm!(self.ops; popcnt rax, rax),
            (O::CountSetBits64 | O::CountSetBits32, false) => asm!(self.ops; popcnt eax, eax),
            (O::LeadingZeroBits64 | O::LeadingZeroBits32, true) => asm!(self.ops; lzcnt rax, rax),
            (O::LeadingZeroBits64 | O::LeadingZeroBits32, false) => asm!(self.ops; lzcnt eax, eax),
            (_, true) => asm!(self.ops; tzcnt rax, rax),
            (_, false) => asm!(self.ops; tzcnt eax, eax),
        }
        self.store_rax(i.d);
        true
    }

    /// div/rem, unsigned and signed, 32 and 64 bits, with GP's results for a zero
    /// divisor and for the one overflowing quotient (A.5.13), which x86 would trap.
    fn division(&mut self, i: &Instr) {
        use Opcode as O;
        let zero = self.ops.new_dynamic_label();
        let done = self.ops.new_dynamic_label();
        let minus_one = self.ops.new_dynamic_label();
        self.load(1, i.b);
        self.load(0, i.a);
        match i.op {
            O::DivU64 | O::RemU64 => {
                asm!(self.ops
                    ; test rcx, rcx
                    ; jz =>zero
                    ; xor edx, edx
                    ; div rcx
                );
                if i.op == O::RemU64 {
                    asm!(self.ops; mov rax, rdx);
                }
                asm!(self.ops; jmp =>done ; =>zero);
                // div: 2^64 − 1; rem: the dividend (still in rax).
                if i.op == O::DivU64 {
                    asm!(self.ops; mov rax, -1);
                }
            }
            O::DivS64 | O::RemS64 => {
                asm!(self.ops
                    ; test rcx, rcx
                    ; jz =>zero
                    ; cmp rcx, -1
                    ; je =>minus_one
                    ; cqo
                    ; idiv rcx
                );
                if i.op == O::RemS64 {
                    asm!(self.ops; mov rax, rdx);
                }
                asm!(self.ops; jmp =>done ; =>minus_one);
                // a / −1 = −a (wrapping: −2^63 stays); a mod −1 = 0.
                if i.op == O::DivS64 {
                    asm!(self.ops; neg rax);
                } else {
                    asm!(self.ops; xor eax, eax);
                }
                asm!(self.ops; jmp =>done ; =>zero);
                if i.op == O::DivS64 {
                    asm!(self.ops; mov rax, -1);
                }
            }
            O::DivU32 | O::RemU32 => {
                asm!(self.ops
                    ; test ecx, ecx
                    ; jz =>zero
                    ; xor edx, edx
                    ; div ecx
                );
                if i.op == O::RemU32 {
                    asm!(self.ops; mov eax, edx);
                }
                asm!(self.ops; movsxd rax, eax ; jmp =>done ; =>zero);
                if i.op == O::DivU32 {
                    asm!(self.ops; mov rax, -1);
                } else {
                    asm!(self.ops; movsxd rax, eax);
                }
            }
            _ => {
                // DivS32 | RemS32.
                asm!(self.ops
                    ; test ecx, ecx
                    ; jz =>zero
                    ; cmp ecx, -1
                    ; je =>minus_one
                    ; cdq
                    ; idiv ecx
                );
                if i.op == O::RemS32 {
                    asm!(self.ops; mov eax, edx);
                }
                asm!(self.ops; movsxd rax, eax ; jmp =>done ; =>minus_one);
                if i.op == O::DivS32 {
                    asm!(self.ops; neg eax ; movsxd rax, eax);
                } else {
                    asm!(self.ops; xor eax, eax);
                }
                asm!(self.ops; jmp =>done ; =>zero);
                if i.op == O::DivS32 {
                    asm!(self.ops; mov rax, -1);
                } else {
                    asm!(self.ops; movsxd rax, eax);
                }
            }
        }
        asm!(self.ops; =>done);
        self.store_rax(i.d);
    }

    fn finish3(&mut self, i: &Instr, narrow: bool) {
        if narrow {
            self.sext32_rax();
        }
        self.store_rax(i.d);
    }

    fn shift_imm_to(&mut self, i: &Instr, op: Shift, wide: bool) {
        self.shift_imm(i.b, i.imm_x, op, wide);
        self.store_rax(i.a);
    }

    fn shift_alt(&mut self, i: &Instr, op: Shift, wide: bool) {
        self.shift_cl(Err(i.imm_x), i.b, op, wide);
        self.store_rax(i.a);
    }

    fn shift3(&mut self, i: &Instr, op: Shift, wide: bool) {
        self.shift_cl(Ok(i.a), i.b, op, wide);
        self.store_rax(i.d);
    }

    fn prologue(&mut self) -> dynasmrt::AssemblyOffset {
        let enter = self.ops.offset();
        asm!(self.ops
            ; push rbx ; push rbp ; push r12 ; push r13 ; push r14 ; push r15
            ; sub rsp, 8
            ; mov r15, rdi
            ; mov rax, rsi
        );
        self.reload_all();
        asm!(self.ops; jmp rax);
        let exit = self.exit;
        asm!(self.ops; =>exit);
        self.spill_all();
        asm!(self.ops
            ; add rsp, 8
            ; pop r15 ; pop r14 ; pop r13 ; pop r12 ; pop rbp ; pop rbx
            ; ret
        );
        let panic_stored = self.panic_stored;
        asm!(self.ops
            ; =>panic_stored
            ; mov QWORD [r15 + EXIT_KIND], DWORD PANIC as i32
            ; jmp =>exit
        );
        // Shared tails of the per-instruction stubs, which pass the instruction
        // index in ecx (a scratch register: every guest register is still live).
        for (kind, label) in [
            (HALT, self.common_halt),
            (PANIC, self.common_panic),
            (INTERPRET, self.common_interpret),
        ] {
            asm!(self.ops
                ; =>label
                ; mov QWORD [r15 + EXIT_KIND], DWORD kind as i32
                ; mov QWORD [r15 + EXIT_INDEX], rcx
                ; jmp =>exit
            );
        }
        // The slow path: every guest register to the context, exec_one(ctx, ecx),
        // every guest register back; the caller dispatches on rax. The return
        // address leaves rsp 8 off 16-byte alignment, hence the extra 8.
        let slow = self.common_slow;
        asm!(self.ops; =>slow);
        self.spill_all();
        asm!(self.ops
            ; mov rdi, r15
            ; mov esi, ecx
            ; sub rsp, 8
            ; mov rax, QWORD exec_one as *const () as usize as i64
            ; call rax
            ; add rsp, 8
        );
        self.reload_all();
        asm!(self.ops; ret);
        enter
    }

    fn stubs(&mut self) {
        let exit = self.exit;
        for stub in std::mem::take(&mut self.stubs) {
            match stub {
                Stub::Exit {
                    label,
                    kind,
                    arg,
                    index,
                } => {
                    let common = match kind {
                        HALT => Some(self.common_halt),
                        PANIC => Some(self.common_panic),
                        INTERPRET => Some(self.common_interpret),
                        _ => None,
                    };
                    asm!(self.ops; =>label ; mov ecx, DWORD index as i32);
                    match common {
                        Some(common) => asm!(self.ops; jmp =>common),
                        None => {
                            asm!(self.ops
                                ; mov QWORD [r15 + EXIT_KIND], DWORD kind as i32
                                ; mov QWORD [r15 + EXIT_INDEX], rcx
                            );
                            self.mov_imm(0, arg);
                            asm!(self.ops
                                ; mov QWORD [r15 + EXIT_ARG], rax
                                ; jmp =>exit
                            );
                        }
                    }
                }
                Stub::Slow { label, index, ret } => {
                    let slow = self.common_slow;
                    asm!(self.ops
                        ; =>label
                        ; mov ecx, DWORD index as i32
                        ; call =>slow
                        ; test rax, rax
                        ; jz =>ret
                        ; cmp rax, 1
                        ; je =>exit
                        ; jmp rax
                    );
                }
            }
        }
    }
}

#[derive(Clone, Copy)]
enum Jcc {
    E,
    Ne,
    B,
    Be,
    Ae,
    A,
    L,
    Le,
    Ge,
    G,
}

#[derive(Clone, Copy)]
enum Set {
    B,
    A,
    L,
    G,
}

/// The second operand of an ALU operation.
#[derive(Clone, Copy)]
enum Src {
    Reg(u8),
    Imm(u64),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum AluOp {
    Sub,
    Add,
    And,
    Or,
    Xor,
    Mul,
}

#[derive(Clone, Copy)]
enum Shift {
    Shl,
    Shr,
    Sar,
    Rol,
    Ror,
}

/// The most instructions translated: a larger program runs on the interpreter.
/// Translation holds machine code, labels and relocations for every instruction; the
/// worst case is a blob of one-octet `trap`s (each its own block, with its stubs):
/// measured, 2^18 of them take 64 ms and a 93 MB peak RSS for the whole process
/// (12 MB to pre-decode alone), 2^20 take 238 ms and 365 MB. So this bounds what one
/// program can make a node allocate; services' code is far below it (the compiled
/// services seen so far hold tens of thousands of instructions).
pub const MAX_TRANSLATED_INSTRUCTIONS: usize = 1 << 18;

/// Translate `program`; `None` if it is longer than [`MAX_TRANSLATED_INSTRUCTIONS`]
/// or the assembler could not allocate executable memory.
pub(crate) fn compile(program: &Program) -> Option<Compiled> {
    let instrs = program.instrs();
    if instrs.len() > MAX_TRANSLATED_INSTRUCTIONS {
        return None;
    }
    let mut ops = Assembler::new().ok()?;
    let exit = ops.new_dynamic_label();
    let panic_stored = ops.new_dynamic_label();
    let common: [DynamicLabel; 4] = std::array::from_fn(|_| ops.new_dynamic_label());
    // Segment starts: where the interpreter charges a block (index 0 and after a
    // terminator, as `block_gas` is computed) and where Ψ_H resumes (after ecalli).
    // A segment start is exactly an instruction with a label.
    let labels: Vec<Option<DynamicLabel>> = (0..instrs.len())
        .map(|k| {
            let start = k == 0
                || instrs
                    .get(k - 1)
                    .is_some_and(|p| p.op.is_terminator() || p.op == Opcode::Ecalli);
            start.then(|| ops.new_dynamic_label())
        })
        .collect();
    let mut e = Emitter {
        ops,
        labels,
        stubs: Vec::new(),
        exit,
        panic_stored,
        common_halt: common[0],
        common_panic: common[1],
        common_interpret: common[2],
        common_slow: common[3],
        cpu: CpuFeatures {
            popcnt: std::is_x86_feature_detected!("popcnt"),
            lzcnt: std::is_x86_feature_detected!("lzcnt"),
            bmi1: std::is_x86_feature_detected!("bmi1"),
        },
    };
    let enter = e.prologue();
    for (k, ins) in instrs.iter().enumerate() {
        let index = k as u32;
        if let Some(l) = e.labels.get(k).copied().flatten() {
            let stub = e.exit_stub(INTERPRET, 0, index);
            let cost = ins.block_gas as i32;
            asm!(e.ops
                ; =>l
                ; cmp QWORD [r15 + GAS], DWORD cost
                ; jl =>stub
                ; sub QWORD [r15 + GAS], DWORD cost
            );
        }
        e.instruction(index, ins);
    }
    e.stubs();
    let labels = std::mem::take(&mut e.labels);
    let panic_stored = e.panic_stored;
    // Jump-table entries that are no segment start get stubs of their own.
    let mut table_labels = Vec::with_capacity(idx(program.jump_table_len()));
    for k in 0..program.jump_table_len() {
        let t = program.jump_entry(k);
        let l = match labels.get(idx(t)).copied().flatten() {
            Some(l) => l,
            None if t == NO_TARGET => panic_stored,
            None => {
                let l = e.ops.new_dynamic_label();
                let exit = e.exit;
                asm!(e.ops
                    ; =>l
                    ; mov QWORD [r15 + EXIT_KIND], DWORD INTERPRET as i32
                    ; mov QWORD [r15 + EXIT_INDEX], DWORD t as i32
                    ; jmp =>exit
                );
                l
            }
        };
        table_labels.push(l);
    }
    let label_offsets: Vec<Option<dynasmrt::AssemblyOffset>> = labels
        .iter()
        .map(|l| l.and_then(|l| e.ops.labels().resolve_dynamic(l).ok()))
        .collect();
    let table_offsets: Vec<Option<dynasmrt::AssemblyOffset>> = table_labels
        .iter()
        .map(|l| e.ops.labels().resolve_dynamic(*l).ok())
        .collect();
    let buf = e.ops.finalize().ok()?;
    let base = buf.ptr(dynasmrt::AssemblyOffset(0)) as usize;
    let entries = label_offsets
        .iter()
        .map(|o| o.map_or(0, |o| base + o.0))
        .collect();
    let jumps = table_offsets
        .iter()
        .map(|o| o.map_or(0, |o| base + o.0))
        .collect::<Vec<_>>();
    if jumps.contains(&0) {
        return None;
    }
    Some(Compiled {
        buf,
        enter,
        entries,
        jumps,
    })
}

/// The slow path: run instruction `index` on the interpreter. Returns 0 to continue
/// after it, 1 to leave (exit fields set), or the code address to continue at.
extern "sysv64" fn exec_one(ctx: *mut Ctx, index: u32) -> u64 {
    // SAFETY: called only from generated code, with r15 = the `Ctx` the driver made
    // for this run; its `machine` is the driver's machine, not otherwise in use while
    // generated code runs (see the module documentation).
    let ctx = unsafe { &mut *ctx };
    let m = unsafe { &mut *ctx.machine };
    m.regs = ctx.regs;
    let Some(ins) = m.program().instrs().get(idx(index)).copied() else {
        ctx.exit_kind = PANIC;
        ctx.exit_index = u64::from(index);
        return 1;
    };
    let step = m.execute(&ins);
    ctx.regs = m.regs;
    match step {
        Step::Next | Step::NextBlock => 0,
        Step::Jump(t) => {
            // SAFETY: `entries` has one element per instruction (driver invariant).
            let entry = unsafe { ctx.entries.add(idx(t)).read() };
            if entry == 0 {
                ctx.exit_kind = INTERPRET;
                ctx.exit_index = u64::from(t);
                1
            } else {
                entry as u64
            }
        }
        Step::Exit(e) => {
            let (kind, arg) = match e {
                ExitReason::Halt => (HALT, 0),
                ExitReason::Panic | ExitReason::OutOfGas => (PANIC, 0),
                ExitReason::PageFault(a) => (FAULT, u64::from(a)),
                ExitReason::HostCall(id) => (HOST, id),
            };
            ctx.exit_kind = kind;
            ctx.exit_arg = arg;
            ctx.exit_index = u64::from(index);
            1
        }
    }
}

/// Ψ on the compiled code: the recompiler's `Machine::run`.
pub(crate) fn run(m: &mut Machine<'_>, code: &Compiled) -> ExitReason {
    let program = m.program();
    let instrs = program.instrs();
    let mut index = match program.instr_index(m.pc()) {
        Some(i) => i,
        None => match m.run_unaligned() {
            Ok(i) => i,
            Err(e) => return e,
        },
    };
    // SAFETY: `enter` is the prologue emitted by `compile`, with this signature.
    let enter: unsafe extern "sysv64" fn(*mut Ctx, usize) =
        unsafe { std::mem::transmute(code.buf.ptr(code.enter)) };
    loop {
        let entry = code.entries.get(idx(index)).copied().unwrap_or(0);
        if entry == 0 {
            match m.run_metered(index) {
                Ok(next) => {
                    index = next;
                    continue;
                }
                Err(e) => return e,
            }
        }
        let table = m.memory.jit_table();
        let mut ctx = Ctx {
            regs: m.regs,
            gas: m.gas(),
            table,
            jumps: code.jumps.as_ptr(),
            jump_len: code.jumps.len() as u64,
            entries: code.entries.as_ptr(),
            machine: (m as *mut Machine<'_>).cast(),
            exit_kind: PANIC,
            exit_arg: 0,
            exit_index: 0,
        };
        // SAFETY: `ctx` is complete and `entry` is a segment start of this code
        // (see the module documentation for what the code may touch).
        unsafe { enter(&mut ctx, entry) };
        m.regs = ctx.regs;
        m.set_gas(ctx.gas);
        let at = u32::try_from(ctx.exit_index).unwrap_or(u32::MAX);
        let exit = match ctx.exit_kind {
            HALT => ExitReason::Halt,
            FAULT => ExitReason::PageFault(u32::try_from(ctx.exit_arg).unwrap_or(0)),
            HOST => ExitReason::HostCall(ctx.exit_arg),
            INTERPRET => match m.run_metered(at) {
                Ok(next) => {
                    index = next;
                    continue;
                }
                Err(e) => return e,
            },
            _ => ExitReason::Panic,
        };
        // As the interpreter: the pc of the stopping instruction, and a refund of
        // the instructions of its block it did not execute.
        if let Some(ins) = instrs.get(idx(at)) {
            m.set_pc(ins.pc);
            m.set_gas(m.gas() + i64::from(ins.block_gas) - 1);
        }
        return exit;
    }
}

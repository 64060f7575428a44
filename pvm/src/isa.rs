//! The instruction set of GP v0.7.2 A.5 (139 opcodes; the numbering of polkavm 0.30's
//! `JamV1`, `sbrk` = 101), defined once in [`define_instructions!`]: each row gives the
//! opcode, the name, the argument kind (how ζ is decoded, A.5.1–A.5.13), whether it
//! terminates a basic block (the set T of A.3), and its semantics. The `Opcode` enum,
//! its decoder and the interpreter's dispatch `match` are generated from that table,
//! so adding an instruction is one line.
//!
//! Register operands are named as in the GP tables: `a`, `b` are r_A, r_B and `d` is
//! r_D; `imm_x`, `imm_y` are ν_X, ν_Y; `target` is the pre-resolved branch target.

use crate::interpreter::{Machine, Step};
use crate::word::{
    amount, lo16, lo32, lo8, mul_high_ss, mul_high_su, mul_high_uu, signed, signed32, sx16, sx32,
    sx8, unsigned, unsigned_from32,
};
use crate::ExitReason;

/// How an instruction's arguments are laid out after its opcode (GP A.5.x headings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArgKind {
    /// A.5.1: no arguments.
    NoArgs,
    /// A.5.2: one immediate ν_X.
    OneImm,
    /// A.5.3: one register and one 64-bit immediate.
    RegExtImm,
    /// A.5.4: two immediates.
    TwoImm,
    /// A.5.5: one offset.
    OneOffset,
    /// A.5.6: one register and one immediate.
    RegImm,
    /// A.5.7: one register and two immediates.
    RegTwoImm,
    /// A.5.8: one register, one immediate and one offset.
    RegImmOffset,
    /// A.5.9: two registers (r_D, r_A).
    TwoReg,
    /// A.5.10: two registers and one immediate.
    TwoRegImm,
    /// A.5.11: two registers and one offset.
    TwoRegOffset,
    /// A.5.12: two registers and two immediates.
    TwoRegTwoImm,
    /// A.5.13: three registers.
    ThreeReg,
}

macro_rules! define_instructions {
    ($m:ident, $i:ident; $( $code:literal $name:ident $text:literal $kind:ident $term:literal => $body:expr; )*) => {
        /// A v0.7.2 opcode.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(u8)]
        pub enum Opcode {
            $(
                #[doc = concat!("`", $text, "` (", stringify!($code), ")")]
                $name = $code,
            )*
        }

        impl Opcode {
            /// Every opcode, in numeric order.
            pub const ALL: &'static [Opcode] = &[$(Opcode::$name,)*];

            /// The opcode of an octet; `None` for undefined octets (which panic, A.5).
            #[inline]
            pub const fn from_u8(byte: u8) -> Option<Opcode> {
                match byte {
                    $($code => Some(Opcode::$name),)*
                    _ => None,
                }
            }

            /// The opcode octet.
            pub const fn code(self) -> u8 {
                match self { $(Opcode::$name => $code,)* }
            }

            /// The GP name.
            pub const fn name(self) -> &'static str {
                match self { $(Opcode::$name => $text,)* }
            }

            /// The argument layout.
            pub const fn kind(self) -> ArgKind {
                match self { $(Opcode::$name => ArgKind::$kind,)* }
            }

            /// Whether the opcode is in T, the basic-block terminators (A.3).
            pub const fn is_terminator(self) -> bool {
                match self { $(Opcode::$name => $term,)* }
            }
        }

        impl Machine<'_> {
            /// Execute one pre-decoded instruction: the dispatch generated from the table.
            #[inline(always)]
            pub(crate) fn execute(&mut self, $i: &crate::program::Instr) -> Step {
                let $m = self;
                match $i.op {
                    $(Opcode::$name => $body,)*
                }
            }
        }
    };
}

define_instructions! { m, i;
    // A.5.1 — no arguments.
    0 Trap "trap" NoArgs true => Step::Exit(ExitReason::Panic);
    1 Fallthrough "fallthrough" NoArgs true => Step::NextBlock;
    // A.5.2 — one immediate.
    10 Ecalli "ecalli" OneImm false => Step::Exit(ExitReason::HostCall(i.imm_x));
    // A.5.3 — one register, one extended-width immediate.
    20 LoadImm64 "load_imm_64" RegExtImm false => m.w(i.a, i.imm_x);
    // A.5.4 — two immediates: mem[ν_X] = ν_Y.
    30 StoreImmU8 "store_imm_u8" TwoImm false => m.store(lo32(i.imm_x), [lo8(i.imm_y)]);
    31 StoreImmU16 "store_imm_u16" TwoImm false => m.store(lo32(i.imm_x), lo16(i.imm_y).to_le_bytes());
    32 StoreImmU32 "store_imm_u32" TwoImm false => m.store(lo32(i.imm_x), lo32(i.imm_y).to_le_bytes());
    33 StoreImmU64 "store_imm_u64" TwoImm false => m.store(lo32(i.imm_x), i.imm_y.to_le_bytes());
    // A.5.5 — one offset.
    40 Jump "jump" OneOffset true => m.branch(i);
    // A.5.6 — one register, one immediate.
    50 JumpInd "jump_ind" RegImm true => m.djump(m.r(i.a).wrapping_add(i.imm_x));
    51 LoadImm "load_imm" RegImm false => m.w(i.a, i.imm_x);
    52 LoadU8 "load_u8" RegImm false => m.load::<1>(i.a, lo32(i.imm_x), |b| u64::from(b[0]));
    53 LoadI8 "load_i8" RegImm false => m.load::<1>(i.a, lo32(i.imm_x), |b| sx8(u64::from(b[0])));
    54 LoadU16 "load_u16" RegImm false => m.load::<2>(i.a, lo32(i.imm_x), |b| u64::from(u16::from_le_bytes(b)));
    55 LoadI16 "load_i16" RegImm false => m.load::<2>(i.a, lo32(i.imm_x), |b| sx16(u64::from(u16::from_le_bytes(b))));
    56 LoadU32 "load_u32" RegImm false => m.load::<4>(i.a, lo32(i.imm_x), |b| u64::from(u32::from_le_bytes(b)));
    57 LoadI32 "load_i32" RegImm false => m.load::<4>(i.a, lo32(i.imm_x), |b| sx32(u64::from(u32::from_le_bytes(b))));
    58 LoadU64 "load_u64" RegImm false => m.load::<8>(i.a, lo32(i.imm_x), u64::from_le_bytes);
    59 StoreU8 "store_u8" RegImm false => m.store(lo32(i.imm_x), [lo8(m.r(i.a))]);
    60 StoreU16 "store_u16" RegImm false => m.store(lo32(i.imm_x), lo16(m.r(i.a)).to_le_bytes());
    61 StoreU32 "store_u32" RegImm false => m.store(lo32(i.imm_x), lo32(m.r(i.a)).to_le_bytes());
    62 StoreU64 "store_u64" RegImm false => m.store(lo32(i.imm_x), m.r(i.a).to_le_bytes());
    // A.5.7 — one register, two immediates: mem[ω_A + ν_X] = ν_Y.
    70 StoreImmIndU8 "store_imm_ind_u8" RegTwoImm false => m.store(lo32(m.r(i.a).wrapping_add(i.imm_x)), [lo8(i.imm_y)]);
    71 StoreImmIndU16 "store_imm_ind_u16" RegTwoImm false => m.store(lo32(m.r(i.a).wrapping_add(i.imm_x)), lo16(i.imm_y).to_le_bytes());
    72 StoreImmIndU32 "store_imm_ind_u32" RegTwoImm false => m.store(lo32(m.r(i.a).wrapping_add(i.imm_x)), lo32(i.imm_y).to_le_bytes());
    73 StoreImmIndU64 "store_imm_ind_u64" RegTwoImm false => m.store(lo32(m.r(i.a).wrapping_add(i.imm_x)), i.imm_y.to_le_bytes());
    // A.5.8 — one register, one immediate, one offset.
    80 LoadImmJump "load_imm_jump" RegImmOffset true => { m.w(i.a, i.imm_x); m.branch(i) };
    81 BranchEqImm "branch_eq_imm" RegImmOffset true => m.branch_if(i, m.r(i.a) == i.imm_x);
    82 BranchNeImm "branch_ne_imm" RegImmOffset true => m.branch_if(i, m.r(i.a) != i.imm_x);
    83 BranchLtUImm "branch_lt_u_imm" RegImmOffset true => m.branch_if(i, m.r(i.a) < i.imm_x);
    84 BranchLeUImm "branch_le_u_imm" RegImmOffset true => m.branch_if(i, m.r(i.a) <= i.imm_x);
    85 BranchGeUImm "branch_ge_u_imm" RegImmOffset true => m.branch_if(i, m.r(i.a) >= i.imm_x);
    86 BranchGtUImm "branch_gt_u_imm" RegImmOffset true => m.branch_if(i, m.r(i.a) > i.imm_x);
    87 BranchLtSImm "branch_lt_s_imm" RegImmOffset true => m.branch_if(i, signed(m.r(i.a)) < signed(i.imm_x));
    88 BranchLeSImm "branch_le_s_imm" RegImmOffset true => m.branch_if(i, signed(m.r(i.a)) <= signed(i.imm_x));
    89 BranchGeSImm "branch_ge_s_imm" RegImmOffset true => m.branch_if(i, signed(m.r(i.a)) >= signed(i.imm_x));
    90 BranchGtSImm "branch_gt_s_imm" RegImmOffset true => m.branch_if(i, signed(m.r(i.a)) > signed(i.imm_x));
    // A.5.9 — two registers: ω'_D = f(ω_A).
    100 MoveReg "move_reg" TwoReg false => m.w(i.d, m.r(i.a));
    101 Sbrk "sbrk" TwoReg false => { let v = m.memory.sbrk(m.r(i.a)); m.w(i.d, v) };
    102 CountSetBits64 "count_set_bits_64" TwoReg false => m.w(i.d, u64::from(m.r(i.a).count_ones()));
    103 CountSetBits32 "count_set_bits_32" TwoReg false => m.w(i.d, u64::from(lo32(m.r(i.a)).count_ones()));
    104 LeadingZeroBits64 "leading_zero_bits_64" TwoReg false => m.w(i.d, u64::from(m.r(i.a).leading_zeros()));
    105 LeadingZeroBits32 "leading_zero_bits_32" TwoReg false => m.w(i.d, u64::from(lo32(m.r(i.a)).leading_zeros()));
    106 TrailingZeroBits64 "trailing_zero_bits_64" TwoReg false => m.w(i.d, u64::from(m.r(i.a).trailing_zeros()));
    107 TrailingZeroBits32 "trailing_zero_bits_32" TwoReg false => m.w(i.d, u64::from(lo32(m.r(i.a)).trailing_zeros()));
    108 SignExtend8 "sign_extend_8" TwoReg false => m.w(i.d, sx8(m.r(i.a)));
    109 SignExtend16 "sign_extend_16" TwoReg false => m.w(i.d, sx16(m.r(i.a)));
    110 ZeroExtend16 "zero_extend_16" TwoReg false => m.w(i.d, u64::from(lo16(m.r(i.a))));
    111 ReverseBytes "reverse_bytes" TwoReg false => m.w(i.d, m.r(i.a).swap_bytes());
    // A.5.10 — two registers, one immediate: ω'_A = f(ω_B, ν_X); memory at ω_B + ν_X.
    120 StoreIndU8 "store_ind_u8" TwoRegImm false => m.store(lo32(m.r(i.b).wrapping_add(i.imm_x)), [lo8(m.r(i.a))]);
    121 StoreIndU16 "store_ind_u16" TwoRegImm false => m.store(lo32(m.r(i.b).wrapping_add(i.imm_x)), lo16(m.r(i.a)).to_le_bytes());
    122 StoreIndU32 "store_ind_u32" TwoRegImm false => m.store(lo32(m.r(i.b).wrapping_add(i.imm_x)), lo32(m.r(i.a)).to_le_bytes());
    123 StoreIndU64 "store_ind_u64" TwoRegImm false => m.store(lo32(m.r(i.b).wrapping_add(i.imm_x)), m.r(i.a).to_le_bytes());
    124 LoadIndU8 "load_ind_u8" TwoRegImm false => m.load::<1>(i.a, lo32(m.r(i.b).wrapping_add(i.imm_x)), |b| u64::from(b[0]));
    125 LoadIndI8 "load_ind_i8" TwoRegImm false => m.load::<1>(i.a, lo32(m.r(i.b).wrapping_add(i.imm_x)), |b| sx8(u64::from(b[0])));
    126 LoadIndU16 "load_ind_u16" TwoRegImm false => m.load::<2>(i.a, lo32(m.r(i.b).wrapping_add(i.imm_x)), |b| u64::from(u16::from_le_bytes(b)));
    127 LoadIndI16 "load_ind_i16" TwoRegImm false => m.load::<2>(i.a, lo32(m.r(i.b).wrapping_add(i.imm_x)), |b| sx16(u64::from(u16::from_le_bytes(b))));
    128 LoadIndU32 "load_ind_u32" TwoRegImm false => m.load::<4>(i.a, lo32(m.r(i.b).wrapping_add(i.imm_x)), |b| u64::from(u32::from_le_bytes(b)));
    129 LoadIndI32 "load_ind_i32" TwoRegImm false => m.load::<4>(i.a, lo32(m.r(i.b).wrapping_add(i.imm_x)), |b| sx32(u64::from(u32::from_le_bytes(b))));
    130 LoadIndU64 "load_ind_u64" TwoRegImm false => m.load::<8>(i.a, lo32(m.r(i.b).wrapping_add(i.imm_x)), u64::from_le_bytes);
    131 AddImm32 "add_imm_32" TwoRegImm false => m.w(i.a, sx32(m.r(i.b).wrapping_add(i.imm_x)));
    132 AndImm "and_imm" TwoRegImm false => m.w(i.a, m.r(i.b) & i.imm_x);
    133 XorImm "xor_imm" TwoRegImm false => m.w(i.a, m.r(i.b) ^ i.imm_x);
    134 OrImm "or_imm" TwoRegImm false => m.w(i.a, m.r(i.b) | i.imm_x);
    135 MulImm32 "mul_imm_32" TwoRegImm false => m.w(i.a, sx32(m.r(i.b).wrapping_mul(i.imm_x)));
    136 SetLtUImm "set_lt_u_imm" TwoRegImm false => m.w(i.a, u64::from(m.r(i.b) < i.imm_x));
    137 SetLtSImm "set_lt_s_imm" TwoRegImm false => m.w(i.a, u64::from(signed(m.r(i.b)) < signed(i.imm_x)));
    138 ShloLImm32 "shlo_l_imm_32" TwoRegImm false => m.w(i.a, sx32(u64::from(lo32(m.r(i.b)) << amount(i.imm_x, 32))));
    139 ShloRImm32 "shlo_r_imm_32" TwoRegImm false => m.w(i.a, sx32(u64::from(lo32(m.r(i.b)) >> amount(i.imm_x, 32))));
    140 SharRImm32 "shar_r_imm_32" TwoRegImm false => m.w(i.a, unsigned_from32(signed32(m.r(i.b)) >> amount(i.imm_x, 32)));
    141 NegAddImm32 "neg_add_imm_32" TwoRegImm false => m.w(i.a, sx32(i.imm_x.wrapping_sub(m.r(i.b))));
    142 SetGtUImm "set_gt_u_imm" TwoRegImm false => m.w(i.a, u64::from(m.r(i.b) > i.imm_x));
    143 SetGtSImm "set_gt_s_imm" TwoRegImm false => m.w(i.a, u64::from(signed(m.r(i.b)) > signed(i.imm_x)));
    144 ShloLImmAlt32 "shlo_l_imm_alt_32" TwoRegImm false => m.w(i.a, sx32(u64::from(lo32(i.imm_x) << amount(m.r(i.b), 32))));
    145 ShloRImmAlt32 "shlo_r_imm_alt_32" TwoRegImm false => m.w(i.a, sx32(u64::from(lo32(i.imm_x) >> amount(m.r(i.b), 32))));
    146 SharRImmAlt32 "shar_r_imm_alt_32" TwoRegImm false => m.w(i.a, unsigned_from32(signed32(i.imm_x) >> amount(m.r(i.b), 32)));
    147 CmovIzImm "cmov_iz_imm" TwoRegImm false => if m.r(i.b) == 0 { m.w(i.a, i.imm_x) } else { Step::Next };
    148 CmovNzImm "cmov_nz_imm" TwoRegImm false => if m.r(i.b) != 0 { m.w(i.a, i.imm_x) } else { Step::Next };
    149 AddImm64 "add_imm_64" TwoRegImm false => m.w(i.a, m.r(i.b).wrapping_add(i.imm_x));
    150 MulImm64 "mul_imm_64" TwoRegImm false => m.w(i.a, m.r(i.b).wrapping_mul(i.imm_x));
    151 ShloLImm64 "shlo_l_imm_64" TwoRegImm false => m.w(i.a, m.r(i.b) << amount(i.imm_x, 64));
    152 ShloRImm64 "shlo_r_imm_64" TwoRegImm false => m.w(i.a, m.r(i.b) >> amount(i.imm_x, 64));
    153 SharRImm64 "shar_r_imm_64" TwoRegImm false => m.w(i.a, unsigned(signed(m.r(i.b)) >> amount(i.imm_x, 64)));
    154 NegAddImm64 "neg_add_imm_64" TwoRegImm false => m.w(i.a, i.imm_x.wrapping_sub(m.r(i.b)));
    155 ShloLImmAlt64 "shlo_l_imm_alt_64" TwoRegImm false => m.w(i.a, i.imm_x << amount(m.r(i.b), 64));
    156 ShloRImmAlt64 "shlo_r_imm_alt_64" TwoRegImm false => m.w(i.a, i.imm_x >> amount(m.r(i.b), 64));
    157 SharRImmAlt64 "shar_r_imm_alt_64" TwoRegImm false => m.w(i.a, unsigned(signed(i.imm_x) >> amount(m.r(i.b), 64)));
    158 RotR64Imm "rot_r_64_imm" TwoRegImm false => m.w(i.a, m.r(i.b).rotate_right(amount(i.imm_x, 64)));
    159 RotR64ImmAlt "rot_r_64_imm_alt" TwoRegImm false => m.w(i.a, i.imm_x.rotate_right(amount(m.r(i.b), 64)));
    160 RotR32Imm "rot_r_32_imm" TwoRegImm false => m.w(i.a, sx32(u64::from(lo32(m.r(i.b)).rotate_right(amount(i.imm_x, 32)))));
    161 RotR32ImmAlt "rot_r_32_imm_alt" TwoRegImm false => m.w(i.a, sx32(u64::from(lo32(i.imm_x).rotate_right(amount(m.r(i.b), 32)))));
    // A.5.11 — two registers, one offset.
    170 BranchEq "branch_eq" TwoRegOffset true => m.branch_if(i, m.r(i.a) == m.r(i.b));
    171 BranchNe "branch_ne" TwoRegOffset true => m.branch_if(i, m.r(i.a) != m.r(i.b));
    172 BranchLtU "branch_lt_u" TwoRegOffset true => m.branch_if(i, m.r(i.a) < m.r(i.b));
    173 BranchLtS "branch_lt_s" TwoRegOffset true => m.branch_if(i, signed(m.r(i.a)) < signed(m.r(i.b)));
    174 BranchGeU "branch_ge_u" TwoRegOffset true => m.branch_if(i, m.r(i.a) >= m.r(i.b));
    175 BranchGeS "branch_ge_s" TwoRegOffset true => m.branch_if(i, signed(m.r(i.a)) >= signed(m.r(i.b)));
    // A.5.12 — two registers, two immediates: the jump reads ω_B before ω'_A is set.
    180 LoadImmJumpInd "load_imm_jump_ind" TwoRegTwoImm true => {
        let dest = m.r(i.b).wrapping_add(i.imm_y);
        m.w(i.a, i.imm_x);
        m.djump(dest)
    };
    // A.5.13 — three registers: ω'_D = f(ω_A, ω_B).
    190 Add32 "add_32" ThreeReg false => m.w(i.d, sx32(m.r(i.a).wrapping_add(m.r(i.b))));
    191 Sub32 "sub_32" ThreeReg false => m.w(i.d, sx32(m.r(i.a).wrapping_sub(m.r(i.b))));
    192 Mul32 "mul_32" ThreeReg false => m.w(i.d, sx32(m.r(i.a).wrapping_mul(m.r(i.b))));
    193 DivU32 "div_u_32" ThreeReg false => m.w(i.d, div_u32(m.r(i.a), m.r(i.b)));
    194 DivS32 "div_s_32" ThreeReg false => m.w(i.d, div_s32(m.r(i.a), m.r(i.b)));
    195 RemU32 "rem_u_32" ThreeReg false => m.w(i.d, rem_u32(m.r(i.a), m.r(i.b)));
    196 RemS32 "rem_s_32" ThreeReg false => m.w(i.d, rem_s32(m.r(i.a), m.r(i.b)));
    197 ShloL32 "shlo_l_32" ThreeReg false => m.w(i.d, sx32(u64::from(lo32(m.r(i.a)) << amount(m.r(i.b), 32))));
    198 ShloR32 "shlo_r_32" ThreeReg false => m.w(i.d, sx32(u64::from(lo32(m.r(i.a)) >> amount(m.r(i.b), 32))));
    199 SharR32 "shar_r_32" ThreeReg false => m.w(i.d, unsigned_from32(signed32(m.r(i.a)) >> amount(m.r(i.b), 32)));
    200 Add64 "add_64" ThreeReg false => m.w(i.d, m.r(i.a).wrapping_add(m.r(i.b)));
    201 Sub64 "sub_64" ThreeReg false => m.w(i.d, m.r(i.a).wrapping_sub(m.r(i.b)));
    202 Mul64 "mul_64" ThreeReg false => m.w(i.d, m.r(i.a).wrapping_mul(m.r(i.b)));
    203 DivU64 "div_u_64" ThreeReg false => m.w(i.d, div_u64(m.r(i.a), m.r(i.b)));
    204 DivS64 "div_s_64" ThreeReg false => m.w(i.d, div_s64(m.r(i.a), m.r(i.b)));
    205 RemU64 "rem_u_64" ThreeReg false => m.w(i.d, rem_u64(m.r(i.a), m.r(i.b)));
    206 RemS64 "rem_s_64" ThreeReg false => m.w(i.d, rem_s64(m.r(i.a), m.r(i.b)));
    207 ShloL64 "shlo_l_64" ThreeReg false => m.w(i.d, m.r(i.a) << amount(m.r(i.b), 64));
    208 ShloR64 "shlo_r_64" ThreeReg false => m.w(i.d, m.r(i.a) >> amount(m.r(i.b), 64));
    209 SharR64 "shar_r_64" ThreeReg false => m.w(i.d, unsigned(signed(m.r(i.a)) >> amount(m.r(i.b), 64)));
    210 And "and" ThreeReg false => m.w(i.d, m.r(i.a) & m.r(i.b));
    211 Xor "xor" ThreeReg false => m.w(i.d, m.r(i.a) ^ m.r(i.b));
    212 Or "or" ThreeReg false => m.w(i.d, m.r(i.a) | m.r(i.b));
    213 MulUpperSS "mul_upper_s_s" ThreeReg false => m.w(i.d, mul_high_ss(m.r(i.a), m.r(i.b)));
    214 MulUpperUU "mul_upper_u_u" ThreeReg false => m.w(i.d, mul_high_uu(m.r(i.a), m.r(i.b)));
    215 MulUpperSU "mul_upper_s_u" ThreeReg false => m.w(i.d, mul_high_su(m.r(i.a), m.r(i.b)));
    216 SetLtU "set_lt_u" ThreeReg false => m.w(i.d, u64::from(m.r(i.a) < m.r(i.b)));
    217 SetLtS "set_lt_s" ThreeReg false => m.w(i.d, u64::from(signed(m.r(i.a)) < signed(m.r(i.b))));
    218 CmovIz "cmov_iz" ThreeReg false => if m.r(i.b) == 0 { m.w(i.d, m.r(i.a)) } else { Step::Next };
    219 CmovNz "cmov_nz" ThreeReg false => if m.r(i.b) != 0 { m.w(i.d, m.r(i.a)) } else { Step::Next };
    220 RotL64 "rot_l_64" ThreeReg false => m.w(i.d, m.r(i.a).rotate_left(amount(m.r(i.b), 64)));
    221 RotL32 "rot_l_32" ThreeReg false => m.w(i.d, sx32(u64::from(lo32(m.r(i.a)).rotate_left(amount(m.r(i.b), 32)))));
    222 RotR64 "rot_r_64" ThreeReg false => m.w(i.d, m.r(i.a).rotate_right(amount(m.r(i.b), 64)));
    223 RotR32 "rot_r_32" ThreeReg false => m.w(i.d, sx32(u64::from(lo32(m.r(i.a)).rotate_right(amount(m.r(i.b), 32)))));
    224 AndInv "and_inv" ThreeReg false => m.w(i.d, m.r(i.a) & !m.r(i.b));
    225 OrInv "or_inv" ThreeReg false => m.w(i.d, m.r(i.a) | !m.r(i.b));
    226 Xnor "xnor" ThreeReg false => m.w(i.d, !(m.r(i.a) ^ m.r(i.b)));
    227 Max "max" ThreeReg false => m.w(i.d, unsigned(signed(m.r(i.a)).max(signed(m.r(i.b)))));
    228 MaxU "max_u" ThreeReg false => m.w(i.d, m.r(i.a).max(m.r(i.b)));
    229 Min "min" ThreeReg false => m.w(i.d, unsigned(signed(m.r(i.a)).min(signed(m.r(i.b)))));
    230 MinU "min_u" ThreeReg false => m.w(i.d, m.r(i.a).min(m.r(i.b)));
}

/// div_u_32: `2^64 − 1` when the divisor's low word is 0, else `X_4(⌊a_32 / b_32⌋)`.
#[inline(always)]
pub(crate) fn div_u32(a: u64, b: u64) -> u64 {
    match lo32(a).checked_div(lo32(b)) {
        Some(q) => sx32(u64::from(q)),
        None => u64::MAX,
    }
}

/// div_s_32: `2^64 − 1` on division by zero; `a` on `−2^31 / −1`; else the quotient
/// rounded towards zero.
#[inline(always)]
pub(crate) fn div_s32(a: u64, b: u64) -> u64 {
    let (a, b) = (signed32(a), signed32(b));
    if b == 0 {
        u64::MAX
    } else {
        // wrapping_div yields a (= −2^31) for the one overflowing case.
        unsigned_from32(a.wrapping_div(b))
    }
}

/// rem_u_32: `X_4(a_32)` when dividing by zero.
#[inline(always)]
pub(crate) fn rem_u32(a: u64, b: u64) -> u64 {
    match lo32(a).checked_rem(lo32(b)) {
        Some(r) => sx32(u64::from(r)),
        None => sx32(a),
    }
}

/// rem_s_32: `a` when dividing by zero, 0 on `−2^31 mod −1`, else the remainder with
/// the dividend's sign (GP `smod`).
#[inline(always)]
pub(crate) fn rem_s32(a: u64, b: u64) -> u64 {
    let (a, b) = (signed32(a), signed32(b));
    if b == 0 {
        unsigned_from32(a)
    } else {
        unsigned_from32(a.wrapping_rem(b))
    }
}

/// div_u_64: `2^64 − 1` on division by zero.
#[inline(always)]
pub(crate) fn div_u64(a: u64, b: u64) -> u64 {
    a.checked_div(b).unwrap_or(u64::MAX)
}

/// div_s_64: `2^64 − 1` on division by zero, `a` on `−2^63 / −1`.
#[inline(always)]
pub(crate) fn div_s64(a: u64, b: u64) -> u64 {
    if b == 0 {
        u64::MAX
    } else {
        unsigned(signed(a).wrapping_div(signed(b)))
    }
}

/// rem_u_64: `a` on division by zero.
#[inline(always)]
pub(crate) fn rem_u64(a: u64, b: u64) -> u64 {
    a.checked_rem(b).unwrap_or(a)
}

/// rem_s_64: `a` on division by zero, 0 on `−2^63 mod −1`, else `smod`.
#[inline(always)]
pub(crate) fn rem_s64(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        unsigned(signed(a).wrapping_rem(signed(b)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_has_139_distinct_opcodes_with_sbrk_101() {
        assert_eq!(Opcode::ALL.len(), 139);
        assert_eq!(Opcode::from_u8(101), Some(Opcode::Sbrk));
        let defined = (0..=255u8)
            .filter(|b| Opcode::from_u8(*b).is_some())
            .count();
        assert_eq!(defined, 139);
        for op in Opcode::ALL {
            assert_eq!(Opcode::from_u8(op.code()), Some(*op));
        }
    }

    #[test]
    fn signed_division_edge_cases() {
        let m1 = u64::MAX; // −1
        assert_eq!(div_s64(1 << 63, m1), 1 << 63);
        assert_eq!(rem_s64(1 << 63, m1), 0);
        assert_eq!(div_s64(7, 0), u64::MAX);
        assert_eq!(rem_s64(7, 0), 7);
        assert_eq!(div_s64(unsigned(-7), 2), unsigned(-3));
        assert_eq!(rem_s64(unsigned(-7), 2), unsigned(-1));
        assert_eq!(rem_s64(7, unsigned(-2)), 1);
        let min32 = 0x8000_0000u64;
        assert_eq!(div_s32(min32, m1), unsigned(-(1 << 31)));
        assert_eq!(rem_s32(min32, m1), 0);
        assert_eq!(div_s32(5, 0), u64::MAX);
        assert_eq!(rem_s32(0xffff_fff9, 0), unsigned(-7));
        assert_eq!(div_u32(0x1_0000_0005, 0x1_0000_0000), u64::MAX);
        assert_eq!(rem_u32(0x1_8000_0005, 0x1_0000_0000), 0xffff_ffff_8000_0005);
        assert_eq!(div_u32(0xffff_fffe, 1), 0xffff_ffff_ffff_fffe);
        assert_eq!(div_u64(5, 0), u64::MAX);
        assert_eq!(rem_u64(5, 0), 5);
    }
}

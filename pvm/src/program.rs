//! The program blob `p` (GP A.1, A.2): deblobbing into the jump table `j`, the code
//! `c` and the opcode bitmask `k`, the skip function, the basic-block starts `ϖ`
//! (A.3), and pre-decoding every instruction once into a flat array the interpreter
//! indexes directly.
//!
//! Every allocation here is bounded by the blob's length: the code, the bitmask and
//! the jump table must all be present in the blob, and each code octet yields at most
//! one pre-decoded instruction.

use crate::isa::{ArgKind, Opcode};
use crate::word::{idx, sext, to_u32};

/// Why a blob is not `E(|j|) ⌢ E_1(z) ⌢ E(|c|) ⌢ E_z(j) ⌢ E(c) ⌢ E(k)` (GP A.2). Ψ
/// turns any of these into a panic; they are typed so callers can tell why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeblobError {
    /// The blob ended inside `what`.
    #[error("blob truncated in {what} at offset {offset}")]
    Truncated {
        /// The field being read.
        what: &'static str,
        /// Its offset in the blob.
        offset: usize,
    },
    /// A length prefix used a non-canonical natural encoding (GP C.6).
    #[error("non-canonical natural for {what} at offset {offset}")]
    NonCanonical {
        /// The field being read.
        what: &'static str,
        /// Its offset in the blob.
        offset: usize,
    },
    /// A length larger than the blob could hold (or than 2^31 − 2).
    #[error("{what} of {value} exceeds the blob")]
    TooLarge {
        /// The field.
        what: &'static str,
        /// The declared value.
        value: u64,
    },
    /// Octets after the bitmask.
    #[error("{0} trailing octets after the bitmask")]
    TrailingBytes(usize),
}

/// A jump target that is not a basic-block start: taking it panics.
pub(crate) const NO_TARGET: u32 = u32::MAX;
const BLOCK_START: u32 = 1 << 31;
const NOT_POSITION: u32 = BLOCK_START - 1;

/// One pre-decoded instruction (32 octets): opcode, operands resolved per A.5.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Instr {
    pub(crate) op: Opcode,
    /// r_A (or the single register).
    pub(crate) a: u8,
    /// r_B.
    pub(crate) b: u8,
    /// r_D.
    pub(crate) d: u8,
    /// The static branch target as an instruction index, or [`NO_TARGET`].
    pub(crate) target: u32,
    /// ı of this instruction.
    pub(crate) pc: u32,
    /// Instructions from this one to the end of its basic block, inclusive: the gas a
    /// block charges up front when entered here.
    pub(crate) block_gas: u32,
    /// ν_X.
    pub(crate) imm_x: u64,
    /// ν_Y.
    pub(crate) imm_y: u64,
}

/// A deblobbed, pre-decoded program.
#[derive(Debug, Clone)]
pub struct Program {
    code: Vec<u8>,
    bitmask: Vec<u8>,
    /// Per code offset (and |c|): instruction index, with [`BLOCK_START`] set for ϖ.
    index: Vec<u32>,
    instrs: Vec<Instr>,
    /// `j`, each entry resolved to an instruction index or [`NO_TARGET`].
    jump_table: Vec<u32>,
    /// The recompiler's translation, made on first use and shared by clones (so the
    /// code-hash cache of deblobbed programs caches compiled code too); `None` inside
    /// when translation failed.
    #[cfg(target_arch = "x86_64")]
    compiled: std::sync::OnceLock<Option<std::sync::Arc<crate::recompiler::Compiled>>>,
}

struct Cursor<'a> {
    blob: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DeblobError> {
        let end = self.at.checked_add(n);
        let out = end
            .and_then(|e| self.blob.get(self.at..e))
            .ok_or(DeblobError::Truncated {
                what,
                offset: self.at,
            })?;
        self.at += n;
        Ok(out)
    }

    /// GP C.6 natural: a prefix octet whose leading ones give the number of octets.
    fn natural(&mut self, what: &'static str) -> Result<u64, DeblobError> {
        let offset = self.at;
        let first = *self.take(1, what)?.first().unwrap_or(&0);
        let l = first.leading_ones();
        if l == 8 {
            let rest = self.take(8, what)?;
            let v = le(rest);
            return if v >> 56 == 0 {
                Err(DeblobError::NonCanonical { what, offset })
            } else {
                Ok(v)
            };
        }
        let rest = self.take(idx(l), what)?;
        let high = u64::from(first) & ((1u64 << (7 - l)) - 1);
        let v = (high << (8 * l)) | le(rest);
        if l > 0 && v < 1u64 << (7 * l) {
            return Err(DeblobError::NonCanonical { what, offset });
        }
        Ok(v)
    }
}

/// Little-endian value of up to 8 octets.
fn le(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .rev()
        .fold(0u64, |acc, b| (acc << 8) | u64::from(*b))
}

/// Encode a natural as GP C.6 (for [`Program::encode_blob`]).
fn encode_natural(x: u64, out: &mut Vec<u8>) {
    for l in 0..8u32 {
        if x < 1u64 << (7 * (l + 1)) {
            let prefix = 0xffu64 << (8 - l) & 0xff;
            let head = prefix | (x >> (8 * l));
            out.push(u8::try_from(head & 0xff).unwrap_or(0));
            out.extend_from_slice(&x.to_le_bytes()[..idx(l)]);
            return;
        }
    }
    out.push(0xff);
    out.extend_from_slice(&x.to_le_bytes());
}

impl Program {
    /// Deblob `p` (GP A.2) and pre-decode it.
    pub fn from_blob(blob: &[u8]) -> Result<Program, DeblobError> {
        let mut cur = Cursor { blob, at: 0 };
        let jump_count = cur.natural("jump table length")?;
        let z = *cur.take(1, "jump table entry size")?.first().unwrap_or(&0);
        let code_len = cur.natural("code length")?;
        // Every entry needs z octets, but z may be 0: bound the count by the blob.
        let limit = u64::try_from(blob.len()).unwrap_or(u64::MAX);
        if jump_count > limit {
            return Err(DeblobError::TooLarge {
                what: "jump table length",
                value: jump_count,
            });
        }
        if code_len > limit || code_len >= u64::from(NOT_POSITION - 1) {
            return Err(DeblobError::TooLarge {
                what: "code length",
                value: code_len,
            });
        }
        let (jump_count, code_len) = (idx(to_u32_lossy(jump_count)), idx(to_u32_lossy(code_len)));
        let table_bytes = cur.take(jump_count * usize::from(z), "jump table")?;
        let code = cur.take(code_len, "code")?.to_vec();
        let bitmask = cur.take(code_len.div_ceil(8), "bitmask")?.to_vec();
        if cur.at != blob.len() {
            return Err(DeblobError::TrailingBytes(blob.len() - cur.at));
        }
        let raw_jumps: Vec<u64> = table_bytes
            .chunks(usize::from(z).max(1))
            .take(jump_count)
            .map(|e| {
                if z == 0 {
                    0
                } else if e.iter().skip(8).any(|b| *b != 0) {
                    u64::MAX
                } else {
                    le(e.get(..8).unwrap_or(e))
                }
            })
            .chain(std::iter::repeat(0))
            .take(jump_count)
            .collect();
        Ok(Self::build(code, bitmask, &raw_jumps))
    }

    /// Assemble a blob from parts: the inverse of [`Program::from_blob`] with 4-octet
    /// jump-table entries; `starts[i]` is `k_i` (for tests, benches and tools).
    pub fn encode_blob(jump_table: &[u32], code: &[u8], starts: &[bool]) -> Vec<u8> {
        let mut out = Vec::with_capacity(code.len() * 2 + jump_table.len() * 4 + 16);
        encode_natural(u64::try_from(jump_table.len()).unwrap_or(0), &mut out);
        out.push(4);
        encode_natural(u64::try_from(code.len()).unwrap_or(0), &mut out);
        for j in jump_table {
            out.extend_from_slice(&j.to_le_bytes());
        }
        out.extend_from_slice(code);
        let mut bits = vec![0u8; code.len().div_ceil(8)];
        for (i, set) in starts.iter().enumerate().take(code.len()) {
            if *set {
                if let Some(b) = bits.get_mut(i / 8) {
                    *b |= 1 << (i % 8);
                }
            }
        }
        out.extend_from_slice(&bits);
        out
    }

    fn build(code: Vec<u8>, bitmask: Vec<u8>, raw_jumps: &[u64]) -> Program {
        let n = code.len();
        let mut program = Program {
            code,
            bitmask,
            index: vec![NOT_POSITION; n + 1],
            instrs: Vec::new(),
            jump_table: Vec::new(),
            #[cfg(target_arch = "x86_64")]
            compiled: std::sync::OnceLock::new(),
        };
        // ϖ (A.3): 0, and the instruction after every terminator.
        let mut block_start = vec![false; n + 1];
        if let Some(b) = block_start.first_mut() {
            *b = true;
        }
        for pc in 0..n {
            let pc32 = to_u32(pc);
            let is_term = program
                .code
                .get(pc)
                .and_then(|c| Opcode::from_u8(*c))
                .is_some_and(Opcode::is_terminator);
            if program.bit(pc32) && is_term {
                if let Some(b) = block_start.get_mut(idx(program.next_pc(pc32))) {
                    *b = true;
                }
            }
        }
        // Positions execution can reach: opcode octets, 0, |c|, and where a skip
        // capped at 24 lands (A.2), so that the successor of instruction i is i + 1.
        let mut position = block_start.clone();
        for pc in 0..n {
            let pc32 = to_u32(pc);
            if program.bit(pc32) {
                if let Some(p) = position.get_mut(pc) {
                    *p = true;
                }
            }
            if position.get(pc).copied().unwrap_or(false) {
                if let Some(p) = position.get_mut(idx(program.next_pc(pc32))) {
                    *p = true;
                }
            }
        }
        if let Some(p) = position.last_mut() {
            *p = true;
        }
        let mut count = 0u32;
        for (pc, entry) in program.index.iter_mut().enumerate() {
            let is_block = block_start.get(pc).copied().unwrap_or(false);
            if position.get(pc).copied().unwrap_or(false) {
                *entry = count | if is_block { BLOCK_START } else { 0 };
                count += 1;
            }
        }
        let mut instrs = Vec::with_capacity(idx(count));
        for (pc, is_pos) in position.iter().enumerate() {
            if *is_pos {
                instrs.push(program.decode_at(to_u32(pc)));
            }
        }
        // Gas to the end of the block, from the back: an instruction that never falls
        // through to the next (a terminator, or trap for undefined octets) ends it.
        let mut after = 0u32;
        for ins in instrs.iter_mut().rev() {
            after = if ins.op.is_terminator() { 1 } else { after + 1 };
            ins.block_gas = after;
        }
        program.instrs = instrs;
        program.jump_table = raw_jumps
            .iter()
            .map(|t| program.resolve(i64::try_from(*t).unwrap_or(-1)))
            .collect();
        program
    }

    /// `|c|`.
    pub fn code_len(&self) -> u32 {
        to_u32(self.code.len())
    }

    /// `|j|`.
    pub fn jump_table_len(&self) -> u32 {
        to_u32(self.jump_table.len())
    }

    /// `k_i`, with `k` extended by ones past its end (A.2).
    #[inline]
    fn bit(&self, i: u32) -> bool {
        if idx(i) >= self.code.len() {
            return true;
        }
        self.bitmask
            .get(idx(i / 8))
            .is_some_and(|b| b >> (i % 8) & 1 == 1)
    }

    /// `skip(i)` (A.3): octets minus one to the next opcode, at most 24.
    pub fn skip(&self, pc: u32) -> u32 {
        (0..24u32)
            .find(|j| self.bit(pc.saturating_add(1 + j)))
            .unwrap_or(24)
    }

    /// `ı + 1 + skip(ı)`.
    pub fn next_pc(&self, pc: u32) -> u32 {
        pc.saturating_add(1 + self.skip(pc))
    }

    /// Whether `pc` is in ϖ.
    pub fn is_block_start(&self, pc: u32) -> bool {
        self.index
            .get(idx(pc))
            .is_some_and(|e| e & BLOCK_START != 0)
    }

    /// The pre-decoded instruction index at `pc`, when `pc` is one.
    #[inline]
    pub(crate) fn instr_index(&self, pc: u32) -> Option<u32> {
        let e = *self.index.get(idx(pc))?;
        let i = e & !BLOCK_START;
        (i != NOT_POSITION).then_some(i)
    }

    /// Make ready what `backend` needs before a run (the recompiler's translation,
    /// otherwise made by the first run), so that it can be timed or done ahead of
    /// time. Returns whether that backend will run this program itself (false: the
    /// recompiler is unavailable here, and the interpreter runs it).
    pub fn prepare(&self, backend: crate::Backend) -> bool {
        match backend {
            crate::Backend::Interpreter => true,
            #[cfg(target_arch = "x86_64")]
            crate::Backend::Recompiler => self.compiled().is_some(),
            #[cfg(not(target_arch = "x86_64"))]
            crate::Backend::Recompiler => false,
        }
    }

    /// The recompiler's translation of this program, made on first call.
    #[cfg(target_arch = "x86_64")]
    pub(crate) fn compiled(&self) -> Option<&crate::recompiler::Compiled> {
        self.compiled
            .get_or_init(|| crate::recompiler::compile(self).map(std::sync::Arc::new))
            .as_deref()
    }

    #[inline(always)]
    pub(crate) fn instrs(&self) -> &[Instr] {
        &self.instrs
    }

    /// The instruction index a jump-table entry resolves to (`a = 2(i + 1)`).
    #[inline(always)]
    pub(crate) fn jump_entry(&self, i: u32) -> u32 {
        self.jump_table.get(idx(i)).copied().unwrap_or(NO_TARGET)
    }

    /// A static target pc → instruction index, [`NO_TARGET`] unless in ϖ.
    fn resolve(&self, target: i64) -> u32 {
        let Ok(t) = u32::try_from(target) else {
            return NO_TARGET;
        };
        match self.index.get(idx(t)) {
            Some(e) if e & BLOCK_START != 0 => e & !BLOCK_START,
            _ => NO_TARGET,
        }
    }

    /// `ζ_i`: the code with zeros appended (A.4).
    #[inline]
    fn zeta(&self, i: u64) -> u8 {
        usize::try_from(i)
            .ok()
            .and_then(|i| self.code.get(i))
            .copied()
            .unwrap_or(0)
    }

    /// `E_l⁻¹(ζ_{at..+l})`.
    fn read(&self, at: u64, l: u32) -> u64 {
        (0..u64::from(l))
            .rev()
            .fold(0, |acc, k| (acc << 8) | u64::from(self.zeta(at + k)))
    }

    /// Decode the instruction at `pc` per its argument kind (A.5.1–A.5.13).
    pub(crate) fn decode_at(&self, pc: u32) -> Instr {
        let p = u64::from(pc);
        let byte = self.zeta(p);
        let op = Opcode::from_u8(byte).unwrap_or(Opcode::Trap);
        let l = self.skip(pc);
        let reg = |x: u8| x.min(12);
        let lo = |x: u8| reg(x & 15);
        let hi = |x: u8| reg(x >> 4);
        let b1 = self.zeta(p + 1);
        let mut ins = Instr {
            op,
            a: 0,
            b: 0,
            d: 0,
            target: NO_TARGET,
            pc,
            block_gas: 1,
            imm_x: 0,
            imm_y: 0,
        };
        let offset = |at: u64, n: u32| self.resolve(i64::from(pc) + signed_n(self.read(at, n), n));
        match op.kind() {
            ArgKind::NoArgs => {}
            ArgKind::OneImm => {
                let lx = l.min(4);
                ins.imm_x = sext(self.read(p + 1, lx), lx);
            }
            ArgKind::RegExtImm => {
                ins.a = lo(b1);
                ins.imm_x = self.read(p + 2, 8);
            }
            ArgKind::TwoImm => {
                let lx = u32::from(b1 % 8).min(4);
                let ly = l.saturating_sub(lx + 1).min(4);
                ins.imm_x = sext(self.read(p + 2, lx), lx);
                ins.imm_y = sext(self.read(p + 2 + u64::from(lx), ly), ly);
            }
            ArgKind::OneOffset => {
                let lx = l.min(4);
                ins.target = offset(p + 1, lx);
            }
            ArgKind::RegImm => {
                let lx = l.saturating_sub(1).min(4);
                ins.a = lo(b1);
                ins.imm_x = sext(self.read(p + 2, lx), lx);
            }
            ArgKind::RegTwoImm | ArgKind::RegImmOffset => {
                let lx = u32::from((b1 >> 4) % 8).min(4);
                let ly = l.saturating_sub(lx + 1).min(4);
                ins.a = lo(b1);
                ins.imm_x = sext(self.read(p + 2, lx), lx);
                let at_y = p + 2 + u64::from(lx);
                if op.kind() == ArgKind::RegTwoImm {
                    ins.imm_y = sext(self.read(at_y, ly), ly);
                } else {
                    ins.target = offset(at_y, ly);
                }
            }
            ArgKind::TwoReg => {
                ins.d = lo(b1);
                ins.a = hi(b1);
            }
            ArgKind::TwoRegImm => {
                let lx = l.saturating_sub(1).min(4);
                ins.a = lo(b1);
                ins.b = hi(b1);
                ins.imm_x = sext(self.read(p + 2, lx), lx);
            }
            ArgKind::TwoRegOffset => {
                let lx = l.saturating_sub(1).min(4);
                ins.a = lo(b1);
                ins.b = hi(b1);
                ins.target = offset(p + 2, lx);
            }
            ArgKind::TwoRegTwoImm => {
                let b2 = self.zeta(p + 2);
                let lx = u32::from(b2 % 8).min(4);
                let ly = l.saturating_sub(lx + 2).min(4);
                ins.a = lo(b1);
                ins.b = hi(b1);
                ins.imm_x = sext(self.read(p + 3, lx), lx);
                ins.imm_y = sext(self.read(p + 3 + u64::from(lx), ly), ly);
            }
            ArgKind::ThreeReg => {
                ins.a = lo(b1);
                ins.b = hi(b1);
                ins.d = reg(self.zeta(p + 2));
            }
        }
        ins
    }
}

/// `Z_n` (A.10) of an `n`-octet value, as an `i64`.
fn signed_n(x: u64, n: u32) -> i64 {
    i64::from_ne_bytes(sext(x, n).to_ne_bytes())
}

fn to_u32_lossy(x: u64) -> u32 {
    u32::try_from(x).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_round_trip() {
        for x in [
            0u64,
            1,
            127,
            128,
            16383,
            16384,
            1 << 21,
            u64::from(u32::MAX),
            u64::MAX,
        ] {
            let mut out = Vec::new();
            encode_natural(x, &mut out);
            let mut c = Cursor { blob: &out, at: 0 };
            assert_eq!(c.natural("x"), Ok(x), "{x}");
            assert_eq!(c.at, out.len());
        }
    }

    #[test]
    fn deblob_rejects_bad_blobs() {
        let ok = Program::encode_blob(&[0], &[0, 1], &[true, true]);
        assert!(Program::from_blob(&ok).is_ok());
        for cut in 0..ok.len() {
            assert!(Program::from_blob(&ok[..cut]).is_err(), "cut {cut}");
        }
        let mut long = ok.clone();
        long.push(0);
        assert_eq!(
            Program::from_blob(&long).unwrap_err(),
            DeblobError::TrailingBytes(1)
        );
        // A z = 0 table of 2^40 entries occupies no octets but is refused.
        let mut huge = Vec::new();
        encode_natural(1 << 40, &mut huge);
        huge.extend_from_slice(&[0, 0]);
        assert!(matches!(
            Program::from_blob(&huge),
            Err(DeblobError::TooLarge {
                what: "jump table length",
                ..
            })
        ));
    }

    #[test]
    fn skip_caps_at_24_and_positions_follow() {
        // One opcode followed by 30 octets with no further opcode bits.
        let code = vec![1u8; 31];
        let mut starts = vec![false; 31];
        starts[0] = true;
        let p = Program::from_blob(&Program::encode_blob(&[], &code, &starts)).unwrap();
        assert_eq!(p.skip(0), 24);
        assert_eq!(p.next_pc(0), 25);
        assert!(p.instr_index(25).is_some());
        assert!(p.instr_index(31).is_some());
        // fallthrough is a terminator, so 25 starts a block.
        assert!(p.is_block_start(25));
    }
}

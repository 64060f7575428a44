//! The testnet's service: its authorizer, refine and accumulate code, written here
//! as PVM programs (GP v0.7.2 appendix A) in standard-program preimages (GP A.7).
//!
//! The block-import traces carry service code in their genesis states, but the
//! vectors are test data we may not commit, and `tessera testnet` must run without
//! `../shared`; so the testnet's genesis ([`crate::genesis`]) installs this
//! service instead. Its code is small and its behaviour is stated here, so each
//! result can be checked against a Rust reference ([`refine_reference`],
//! [`accumulate_key`]):
//!
//! - **Authorizer** ([`authorizer_preimage`], Ψ_I at pc 0, GP B.2): halts at once,
//!   so every package is authorized; its trace is its argument `E_2(c)`.
//! - **Refine** (Ψ_R at pc 0, GP B.4): the FNV-1a 64-bit hash of the work item's
//!   payload, output as 8 octets little-endian. The payload is read with the
//!   `fetch` host call (Ω_Y, kind 13 — `p_w[ω11]_y`, GP B.6) in 4 KiB chunks into a
//!   stack buffer; the item index is the second compact natural of the argument
//!   `E(c, i, w_s, ↕w_y, H(p))`. A guarantor that misreports this output is caught
//!   by any auditor re-running it. Then it exports the item's `w_e` segments
//!   (Ω_E, host call 7, GP B.6), reading `w_e` from the item's summary `S(w)`
//!   (Ω_Y kind 12, the `E_2` at offset 52): segment `j` is `E_8(h) ⌢ E_8(j)`
//!   zero-padded to `W_G` ([`export_reference`]), where `h` is the output. Its
//!   imported segments are not read: they reach the bundle, and the auditors,
//!   with their justifications (GP 14.14) whatever the code does with them.
//! - **Accumulate** (Ψ_A at pc 5, GP B.7): for each accumulation input `k`
//!   (fetched with Ω_Y kind 15, `E(i[ω11])`, until it returns NONE), writes the
//!   input's encoding (truncated to 4096 octets) into the service's storage with
//!   Ω_W (host call 4) under the 32-octet key at offset 1 of that encoding — the
//!   work-package hash `p` of an operand (after the discriminator 0). So a
//!   package accumulated by the service is visible in state as the storage item
//!   keyed by its hash, holding `E(0, p, e, a, y, g, l, t)`. The storage grows by
//!   one item per accumulated package (≈ 200 octets); the testnet's service has a
//!   balance far above the threshold this reaches in any run.
//!
//! The service code is one program: the instruction at pc 0 jumps to the refine
//! body and the accumulate body starts at pc 5, right after it (pc 5 follows a
//! terminator, so it starts a basic block, GP A.3).

use tessera_core::codec::Encode;
use tessera_core::hash::{blake2b_256, Hash};
use tessera_pvm::{Opcode, Program};

/// The testnet service's id: service 0, which genesis also makes privileged
/// (`χ`), as the traces' bootstrap service is.
pub const SERVICE_ID: u32 = 0;

/// The chunk the refine code fetches the payload in, and the most octets of an
/// accumulation input the accumulate code stores: one 4 KiB stack buffer.
pub const BUFFER: u32 = 4096;

/// The FNV-1a 64-bit offset basis.
pub const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
/// The FNV-1a 64-bit prime.
pub const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// The refine output the service's code computes for `payload`: FNV-1a 64 of it,
/// `E_8` (little-endian).
pub fn refine_reference(payload: &[u8]) -> Vec<u8> {
    let h = payload.iter().fold(FNV_OFFSET, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(FNV_PRIME)
    });
    h.to_le_bytes().to_vec()
}

/// Segment `j` of the exports of an item with `payload` (`W_G` = `segment_size`
/// octets): `E_8(FNV-1a 64 of the payload) ⌢ E_8(j)`, then zeros.
pub fn export_reference(payload: &[u8], j: u64, segment_size: usize) -> Vec<u8> {
    let mut segment = refine_reference(payload);
    segment.extend_from_slice(&j.to_le_bytes());
    segment.resize(segment_size.max(16), 0);
    segment
}

/// The storage key under which the accumulate code records an operand of
/// package `package_hash`: the hash's 32 octets.
pub fn accumulate_key(package_hash: &Hash) -> Vec<u8> {
    package_hash.0.to_vec()
}

/// The authorizer code's preimage (`p_u` of a package for the testnet core).
pub fn authorizer_preimage() -> Vec<u8> {
    let mut a = Asm::default();
    a.jump_ind(0, 0);
    standard_preimage(b"tessera-testnet-authorizer", &a.finish())
}

/// `H(authorizer_preimage())`: the packages' `p_u`.
pub fn authorizer_code_hash() -> Hash {
    blake2b_256(&authorizer_preimage())
}

/// The authorizer configuration `p_f` of the testnet's packages: empty.
pub const AUTHORIZER_CONFIG: &[u8] = &[];

/// The authorizer hash `p_a = H(p_u ⌢ p_f)` (GP 14.9) of the testnet's packages,
/// which genesis puts in every core's pool `α` and queue `φ`.
pub fn authorizer_hash() -> Hash {
    let mut bytes = authorizer_code_hash().0.to_vec();
    bytes.extend_from_slice(AUTHORIZER_CONFIG);
    blake2b_256(&bytes)
}

/// The service code's preimage (`a_p[a_c]`).
pub fn service_preimage() -> Vec<u8> {
    standard_preimage(b"tessera-testnet-service", &service_blob())
}

/// `H(service_preimage())`: the service's code hash `a_c`.
pub fn service_code_hash() -> Hash {
    blake2b_256(&service_preimage())
}

/// The fetch host call's kinds used here (GP B.6, Ω_Y).
const FETCH_ITEM_SUMMARY: i32 = 12;
const FETCH_PAYLOAD: i32 = 13;
const FETCH_INPUT: i32 = 15;
const HOST_FETCH: i32 = 1;
const HOST_WRITE: i32 = 4;
const HOST_EXPORT: i32 = 7;
/// Where `S(w)` (62 octets) is fetched to, in the buffer, and the offset of its
/// `E_2(w_e)`: after `E_4(s)`, `c` and `E_8(g, a)`.
const SUMMARY_AT: i32 = 64;
const SUMMARY_EXPORT_COUNT: i32 = 4 + 32 + 16;

fn service_blob() -> Vec<u8> {
    let mut a = Asm::default();
    // pc 0: to the refine body; pc 5: accumulate.
    a.jump("refine");
    accumulate(&mut a);
    refine(&mut a);
    a.finish()
}

/// Ψ_A's body, from pc 5. Registers: ω5 the buffer, ω6 the input index `k`.
fn accumulate(a: &mut Asm) {
    a.add_imm64(5, 1, -(BUFFER as i32));
    a.load_imm(6, 0);
    a.fallthrough();
    a.label("acc_next");
    a.move_reg(7, 5);
    a.load_imm(8, 0);
    a.fetch(FETCH_INPUT, BUFFER as i32);
    // ω7 = NONE (2^64 − 1) when there is no input k.
    a.branch_eq_imm(7, -1, "acc_done");
    a.move_reg(10, 7);
    a.branch_le_u_imm(10, BUFFER as i32, "acc_write");
    a.load_imm(10, BUFFER as i32);
    a.fallthrough();
    a.label("acc_write");
    // write(key = buf[1..33], value = buf[..min(len, BUFFER)]).
    a.add_imm64(7, 5, 1);
    a.load_imm(8, 32);
    a.move_reg(9, 5);
    a.ecalli(HOST_WRITE);
    a.add_imm64(6, 6, 1);
    a.jump("acc_next");
    a.label("acc_done");
    a.load_imm(7, 0);
    a.load_imm(8, 0);
    a.jump_ind(0, 0);
}

/// Ψ_R's body. Registers: ω2 the hash, ω3 the prime, ω4 the payload offset, ω5
/// the buffer, ω6 the item index; for the exports, ω3 the segment `j` and ω4
/// the count `w_e`.
fn refine(a: &mut Asm) {
    a.label("refine");
    // i: the second natural of the argument, after E(c) (one octet below 128,
    // two otherwise: c < 2^14).
    a.load_ind_u8(10, 7, 0);
    a.set_gt_u_imm(10, 10, 127);
    a.three(Opcode::Add64, 11, 7, 10);
    a.load_ind_u8(6, 11, 1);
    a.load_imm64(2, FNV_OFFSET);
    a.load_imm64(3, FNV_PRIME);
    a.load_imm(4, 0);
    a.add_imm64(5, 1, -(BUFFER as i32));
    a.fallthrough();
    a.label("chunk");
    a.move_reg(7, 5);
    a.move_reg(8, 4);
    a.fetch(FETCH_PAYLOAD, BUFFER as i32);
    // n = min(len − offset, BUFFER); none left: done.
    a.three(Opcode::Sub64, 9, 7, 4);
    a.branch_le_u_imm(9, BUFFER as i32, "have_n");
    a.load_imm(9, BUFFER as i32);
    a.fallthrough();
    a.label("have_n");
    a.branch_eq_imm(9, 0, "refine_done");
    a.move_reg(10, 5);
    a.three(Opcode::Add64, 11, 5, 9);
    a.three(Opcode::Add64, 4, 4, 9);
    a.fallthrough();
    a.label("byte");
    a.load_ind_u8(12, 10, 0);
    a.three(Opcode::Xor, 2, 2, 12);
    a.three(Opcode::Mul64, 2, 2, 3);
    a.add_imm64(10, 10, 1);
    a.branch_lt_u(10, 11, "byte");
    a.jump("chunk");
    a.label("refine_done");
    a.store_ind_u64(2, 5, 0);
    // w_e from S(w_i), fetched to buf[SUMMARY_AT..].
    a.add_imm64(7, 5, SUMMARY_AT);
    a.load_imm(8, 0);
    a.fetch(FETCH_ITEM_SUMMARY, 64);
    a.load_ind_u16(4, 5, SUMMARY_AT + SUMMARY_EXPORT_COUNT);
    a.load_imm(3, 0);
    a.jump("export_check");
    // export(buf[..16]) with buf[8..16] = E_8(j), for j < w_e.
    a.label("export_one");
    a.store_ind_u64(3, 5, 8);
    a.move_reg(7, 5);
    a.load_imm(8, 16);
    a.ecalli(HOST_EXPORT);
    a.add_imm64(3, 3, 1);
    a.fallthrough();
    a.label("export_check");
    a.branch_lt_u(3, 4, "export_one");
    a.move_reg(7, 5);
    a.load_imm(8, 8);
    a.jump_ind(0, 0);
}

/// A standard program (GP A.7) of `blob` with no read-only or read-write data, no
/// extra heap pages and a 4 KiB stack — `E_3(0), E_3(0), E_2(0), E_3(4096),
/// E_4(|c|), c` — as a preimage `E(↕m, p)` with metadata `m` (GP 9.4).
pub fn standard_preimage(metadata: &[u8], blob: &[u8]) -> Vec<u8> {
    let mut p = vec![0, 0, 0, 0, 0, 0, 0, 0];
    p.extend_from_slice(&BUFFER.to_le_bytes()[..3]);
    p.extend_from_slice(&u32::try_from(blob.len()).unwrap_or(u32::MAX).to_le_bytes());
    p.extend_from_slice(blob);
    let mut preimage = tessera_core::Bytes(metadata.to_vec()).encode();
    preimage.extend_from_slice(&p);
    preimage
}

/// A tiny two-pass assembler: every immediate and offset is four octets (eight for
/// `load_imm_64`), so instruction lengths are known before labels are.
#[derive(Default)]
struct Asm {
    code: Vec<u8>,
    starts: Vec<bool>,
    labels: std::collections::BTreeMap<&'static str, usize>,
    /// (offset field position, instruction start, label).
    fixups: Vec<(usize, usize, &'static str)>,
}

impl Asm {
    fn emit(&mut self, bytes: &[u8]) {
        self.starts.push(true);
        self.starts
            .extend(std::iter::repeat_n(false, bytes.len().saturating_sub(1)));
        self.code.extend_from_slice(bytes);
    }

    fn label(&mut self, name: &'static str) {
        self.labels.insert(name, self.code.len());
    }

    fn fixup(&mut self, at_from_start: usize, name: &'static str) {
        let start = self.code.len();
        self.fixups.push((start + at_from_start, start, name));
    }

    fn op_imm(op: Opcode, reg_byte: u8, imm: i32) -> Vec<u8> {
        let mut v = vec![op.code(), reg_byte];
        v.extend_from_slice(&imm.to_le_bytes());
        v
    }

    fn fallthrough(&mut self) {
        self.emit(&[Opcode::Fallthrough.code()]);
    }
    fn ecalli(&mut self, id: i32) {
        let mut v = vec![Opcode::Ecalli.code()];
        v.extend_from_slice(&id.to_le_bytes());
        self.emit(&v);
    }
    /// Ω_Y of `kind` with selector ω6, at most `length` octets to ω7 from offset
    /// ω8 (which the caller sets).
    fn fetch(&mut self, kind: i32, length: i32) {
        self.load_imm(9, length);
        self.load_imm(10, kind);
        self.move_reg(11, 6);
        self.ecalli(HOST_FETCH);
    }
    fn jump(&mut self, to: &'static str) {
        self.fixup(1, to);
        self.emit(&[Opcode::Jump.code(), 0, 0, 0, 0]);
    }
    fn jump_ind(&mut self, reg: u8, imm: i32) {
        self.emit(&Self::op_imm(Opcode::JumpInd, reg, imm));
    }
    fn load_imm(&mut self, reg: u8, imm: i32) {
        self.emit(&Self::op_imm(Opcode::LoadImm, reg, imm));
    }
    fn load_imm64(&mut self, reg: u8, imm: u64) {
        let mut v = vec![Opcode::LoadImm64.code(), reg];
        v.extend_from_slice(&imm.to_le_bytes());
        self.emit(&v);
    }
    /// `ω_d = ω_a`.
    fn move_reg(&mut self, d: u8, a: u8) {
        self.emit(&[Opcode::MoveReg.code(), d | (a << 4)]);
    }
    /// `ω_a = f(ω_b, imm)`.
    fn two_imm(&mut self, op: Opcode, a: u8, b: u8, imm: i32) {
        self.emit(&Self::op_imm(op, a | (b << 4), imm));
    }
    fn add_imm64(&mut self, a: u8, b: u8, imm: i32) {
        self.two_imm(Opcode::AddImm64, a, b, imm);
    }
    fn set_gt_u_imm(&mut self, a: u8, b: u8, imm: i32) {
        self.two_imm(Opcode::SetGtUImm, a, b, imm);
    }
    /// `ω_a = mem[ω_b + imm]`.
    fn load_ind_u8(&mut self, a: u8, b: u8, imm: i32) {
        self.two_imm(Opcode::LoadIndU8, a, b, imm);
    }
    fn load_ind_u16(&mut self, a: u8, b: u8, imm: i32) {
        self.two_imm(Opcode::LoadIndU16, a, b, imm);
    }
    /// `mem[ω_b + imm] = ω_a`.
    fn store_ind_u64(&mut self, a: u8, b: u8, imm: i32) {
        self.two_imm(Opcode::StoreIndU64, a, b, imm);
    }
    /// `ω_d = f(ω_a, ω_b)`.
    fn three(&mut self, op: Opcode, d: u8, a: u8, b: u8) {
        self.emit(&[op.code(), a | (b << 4), d]);
    }
    /// Branch on `ω_reg` against `imm` (four octets), to `to`.
    fn branch_imm(&mut self, op: Opcode, reg: u8, imm: i32, to: &'static str) {
        let mut v = vec![op.code(), reg | (4 << 4)];
        v.extend_from_slice(&imm.to_le_bytes());
        v.extend_from_slice(&[0; 4]);
        self.fixup(6, to);
        self.emit(&v);
    }
    fn branch_eq_imm(&mut self, reg: u8, imm: i32, to: &'static str) {
        self.branch_imm(Opcode::BranchEqImm, reg, imm, to);
    }
    fn branch_le_u_imm(&mut self, reg: u8, imm: i32, to: &'static str) {
        self.branch_imm(Opcode::BranchLeUImm, reg, imm, to);
    }
    /// Branch if `ω_a < ω_b`.
    fn branch_lt_u(&mut self, a: u8, b: u8, to: &'static str) {
        self.fixup(2, to);
        self.emit(&[Opcode::BranchLtU.code(), a | (b << 4), 0, 0, 0, 0]);
    }

    /// The blob: code with resolved offsets, no jump table.
    fn finish(mut self) -> Vec<u8> {
        for (at, start, name) in std::mem::take(&mut self.fixups) {
            // Every label is defined by the fixed programs above.
            let target = self.labels.get(name).copied().unwrap_or(start);
            let offset = i32::try_from(target as i64 - start as i64).unwrap_or(0);
            if let Some(slot) = self.code.get_mut(at..at + 4) {
                slot.copy_from_slice(&offset.to_le_bytes());
            }
        }
        Program::encode_blob(&[], &self.code, &self.starts)
    }
}

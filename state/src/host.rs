//! What the host functions of every PVM invocation share (GP v0.7.2 appendix B):
//! the host-call identifiers, the result codes placed in `ω7`, the base gas of a
//! call, reading and writing guest memory within the 32-bit address space, and the
//! constants blob that `fetch` returns (B.6). Accumulate's host functions
//! ([`crate::stf::accumulate::host`]) and refine's ([`crate::refine::host`]) both build
//! on these, so neither imports from the other.

use tessera_core::spec::ChainSpec;
use tessera_pvm::Machine;

/// Host-call identifiers (GP v0.7.2 appendix B, and JIP-1 for log).
pub mod id {
    /// Ω_G.
    pub const GAS: u64 = 0;
    /// Ω_Y.
    pub const FETCH: u64 = 1;
    /// Ω_L.
    pub const LOOKUP: u64 = 2;
    /// Ω_R.
    pub const READ: u64 = 3;
    /// Ω_W.
    pub const WRITE: u64 = 4;
    /// Ω_I.
    pub const INFO: u64 = 5;
    /// Ω_H (refine).
    pub const HISTORICAL_LOOKUP: u64 = 6;
    /// Ω_E (refine).
    pub const EXPORT: u64 = 7;
    /// Ω_M (refine).
    pub const MACHINE: u64 = 8;
    /// Ω_P (refine).
    pub const PEEK: u64 = 9;
    /// Ω_O (refine).
    pub const POKE: u64 = 10;
    /// Ω_Z (refine).
    pub const PAGES: u64 = 11;
    /// Ω_K (refine).
    pub const INVOKE: u64 = 12;
    /// Ω_X (refine).
    pub const EXPUNGE: u64 = 13;
    /// Ω_B.
    pub const BLESS: u64 = 14;
    /// Ω_A.
    pub const ASSIGN: u64 = 15;
    /// Ω_D.
    pub const DESIGNATE: u64 = 16;
    /// Ω_C.
    pub const CHECKPOINT: u64 = 17;
    /// Ω_N.
    pub const NEW: u64 = 18;
    /// Ω_U.
    pub const UPGRADE: u64 = 19;
    /// Ω_T.
    pub const TRANSFER: u64 = 20;
    /// Ω_J.
    pub const EJECT: u64 = 21;
    /// Ω_Q.
    pub const QUERY: u64 = 22;
    /// Ω_S.
    pub const SOLICIT: u64 = 23;
    /// Ω_F.
    pub const FORGET: u64 = 24;
    /// Ω_∀ (yield).
    pub const YIELD: u64 = 25;
    /// Ω_Aries (provide).
    pub const PROVIDE: u64 = 26;
    /// JIP-1 log.
    pub const LOG: u64 = 100;
}

/// Host-call result codes placed in `ω7` (GP appendix B, "result codes").
pub mod code {
    /// The item does not exist.
    pub const NONE: u64 = u64::MAX;
    /// Name unknown.
    pub const WHAT: u64 = u64::MAX - 1;
    /// Memory index out of bounds (not used by accumulate functions).
    pub const OOB: u64 = u64::MAX - 2;
    /// Index unknown.
    pub const WHO: u64 = u64::MAX - 3;
    /// Storage full.
    pub const FULL: u64 = u64::MAX - 4;
    /// Core index unknown.
    pub const CORE: u64 = u64::MAX - 5;
    /// Insufficient funds.
    pub const CASH: u64 = u64::MAX - 6;
    /// Gas limit too low.
    pub const LOW: u64 = u64::MAX - 7;
    /// The item is already solicited or cannot be forgotten.
    pub const HUH: u64 = u64::MAX - 8;
    /// Success.
    pub const OK: u64 = 0;
}

/// The base cost of a host call (GP appendix B, `g = 10`).
pub const HOST_CALL_GAS: i64 = 10;

/// `μ[a ..+ len]` if every octet is readable (and the range lies below 2^32).
pub fn read_memory(m: &Machine<'_>, addr: u64, len: u64) -> Option<Vec<u8>> {
    if len == 0 {
        return Some(Vec::new());
    }
    let (a, l) = range32(addr, len)?;
    if !m.memory.is_readable(a, l) {
        return None;
    }
    let mut buf = vec![0u8; usize::try_from(l).ok()?];
    m.memory.peek(a, &mut buf);
    Some(buf)
}

/// Whether `μ[a ..+ len]` is writable (an empty range always is).
pub fn writable(m: &Machine<'_>, addr: u64, len: u64) -> bool {
    if len == 0 {
        return true;
    }
    range32(addr, len).is_some_and(|(a, l)| m.memory.is_writable(a, l))
}

/// Write `data` at `addr`; the caller has checked [`writable`].
pub fn write_memory(m: &mut Machine<'_>, addr: u64, data: &[u8]) {
    if data.is_empty() {
        return;
    }
    if let Ok(a) = u32::try_from(addr) {
        m.memory.poke(a, data);
    }
}

fn range32(addr: u64, len: u64) -> Option<(u32, u32)> {
    let end = addr.checked_add(len)?;
    if end > 1 << 32 {
        return None;
    }
    Some((u32::try_from(addr).ok()?, u32::try_from(len).ok()?))
}

/// The constants blob of fetch kind 0 (GP B.6, `Ω_Y`, `c`).
pub fn constants(spec: &ChainSpec) -> Vec<u8> {
    let mut out = Vec::with_capacity(200);
    let e2 = |x: u64, out: &mut Vec<u8>| out.extend_from_slice(&x.to_le_bytes()[..2]);
    let e4 = |x: u64, out: &mut Vec<u8>| out.extend_from_slice(&x.to_le_bytes()[..4]);
    let e8 = |x: u64, out: &mut Vec<u8>| out.extend_from_slice(&x.to_le_bytes());
    e8(spec.balance_per_item, &mut out);
    e8(spec.balance_per_octet, &mut out);
    e8(spec.balance_per_service, &mut out);
    e2(u64::from(spec.core_count), &mut out);
    e4(u64::from(spec.preimage_expunge_period), &mut out);
    e4(u64::from(spec.epoch_length), &mut out);
    e8(spec.gas_accumulate_report, &mut out);
    e8(spec.gas_is_authorized, &mut out);
    e8(spec.gas_refine, &mut out);
    e8(spec.gas_total_accumulation, &mut out);
    e2(u64::from(spec.recent_history_size), &mut out);
    e2(u64::from(spec.max_work_items), &mut out);
    e2(u64::from(spec.max_report_dependencies), &mut out);
    e2(u64::from(spec.max_tickets_per_extrinsic), &mut out);
    e4(u64::from(spec.max_lookup_anchor_age), &mut out);
    e2(u64::from(spec.tickets_per_validator), &mut out);
    e2(u64::from(spec.auth_pool_size), &mut out);
    e2(spec.slot_period_seconds, &mut out);
    e2(u64::from(spec.auth_queue_size), &mut out);
    e2(u64::from(spec.rotation_period), &mut out);
    e2(u64::from(spec.max_package_extrinsics), &mut out);
    e2(u64::from(spec.availability_timeout), &mut out);
    e2(u64::from(spec.validator_count), &mut out);
    e4(u64::from(spec.max_authorizer_code_size), &mut out);
    e4(u64::from(spec.max_bundle_size), &mut out);
    e4(u64::from(spec.max_service_code_size), &mut out);
    e4(u64::from(spec.erasure_piece_size), &mut out);
    e4(u64::from(spec.max_imports), &mut out);
    e4(u64::from(spec.segment_pieces), &mut out);
    e4(u64::from(spec.max_report_output_size), &mut out);
    e4(u64::from(spec.transfer_memo_size), &mut out);
    e4(u64::from(spec.max_exports), &mut out);
    e4(u64::from(spec.ticket_submission_end), &mut out);
    out
}

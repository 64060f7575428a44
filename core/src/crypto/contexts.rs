//! The signing contexts of GP v0.7.2 (Appendix I.4.5, `definitions.tex`) and the
//! messages signed under them, so that callers assemble signature batches without
//! re-deriving a message.
//!
//! In the GP a context is written `$jam_…`; the `$` is notation for "the octets of
//! this string", not an octet of its own: the STF vectors' signatures verify over the
//! bare ASCII (checked in `kernels/tests/signatures.rs`).
//!
//! Ed25519 messages (`𝕍_k⟨m⟩`, GP §3.8.2) are returned whole. Bandersnatch ones are
//! the VRF *inputs* `c` of `F̃_k⟨c⟩(m)` / `F̄_r⟨c⟩(m)` (GP G.1, G.4): the auxiliary
//! data `m` is the thing signed alongside (`E_U(H)` for seals, `[]` otherwise).
//!
//! Equation references are GP v0.7.2's numbers where the section is numbered by
//! chapter, and the LaTeX labels (`eq:…`) for the auditing chapter, whose numbering
//! moved between revisions.

use crate::hash::{blake2b_256, Hash};
use crate::types::availability::AvailabilityBitfield;
use crate::types::indices::CoreIndex;
use crate::types::work_report::WorkReport;

/// `X_A`: Ed25519 availability assurances (GP 11.13).
pub const X_AVAILABLE: &[u8] = b"jam_available";
/// `X_B`: BLS signatures on the accumulate-result-root MMR commitment
/// (eq:accoutsignedcommitment). BLS is not implemented yet; the context is here so
/// the list is complete.
pub const X_BEEFY: &[u8] = b"jam_beefy";
/// `X_E`: the on-chain entropy VRF `H_V` (GP 6.17).
pub const X_ENTROPY: &[u8] = b"jam_entropy";
/// `X_F`: the Bandersnatch fallback block seal (GP 6.16).
pub const X_FALLBACK_SEAL: &[u8] = b"jam_fallback_seal";
/// `X_G`: Ed25519 guarantee statements (GP 11.26), also carried by culprits (10.5).
pub const X_GUARANTEE: &[u8] = b"jam_guarantee";
/// `X_I`: Ed25519 audit announcements (eq:announcement).
pub const X_ANNOUNCE: &[u8] = b"jam_announce";
/// `X_T`: ring-VRF ticket proofs (GP 6.29) and the ticketed block seal (6.15).
pub const X_TICKET_SEAL: &[u8] = b"jam_ticket_seal";
/// `X_U`: the Bandersnatch audit-selection VRF (eq:initialaudit, eq:latertranches).
pub const X_AUDIT: &[u8] = b"jam_audit";
/// `X_⊤`: Ed25519 judgments that a work-report is valid (GP 10.3, eq:judgments).
pub const X_VALID: &[u8] = b"jam_valid";
/// `X_⊥`: Ed25519 judgments that a work-report is invalid (GP 10.3, eq:judgments).
pub const X_INVALID: &[u8] = b"jam_invalid";

/// `context ⌢ parts…`, allocated once.
fn concat(context: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let len = context.len() + parts.iter().map(|p| p.len()).sum::<usize>();
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(context);
    for p in parts {
        out.extend_from_slice(p);
    }
    out
}

/// The message of an assurance anchored on `anchor` (the parent header hash `H_P`)
/// with availability bits `bitfield` (GP 11.13):
/// `X_A ⌢ H(E(anchor, bitfield))`, where `E` concatenates the 32-octet hash and the
/// `⌈C/8⌉` bitfield octets (no length prefix, GP C.1).
pub fn assurance_message(anchor: &Hash, bitfield: &AvailabilityBitfield) -> Vec<u8> {
    let payload = concat(&anchor[..], &[&bitfield.0[..]]);
    concat(X_AVAILABLE, &[&blake2b_256(&payload)[..]])
}

/// The message a guarantor signs for the work-report with hash `report_hash`
/// (GP 11.26): `X_G ⌢ H(E(r))`. A culprit's signature (10.5) is over the same message.
pub fn guarantee_message(report_hash: &Hash) -> Vec<u8> {
    concat(X_GUARANTEE, &[&report_hash[..]])
}

/// [`guarantee_message`] for `report` itself, hashing its encoding.
pub fn guarantee_message_for(report: &WorkReport) -> Vec<u8> {
    guarantee_message(&report.hash())
}

/// The message of a judgment on the work-report with hash `report_hash`
/// (GP 10.3 on chain; eq:judgments off chain): `X_⊤ ⌢ H(r)` if `valid`, else
/// `X_⊥ ⌢ H(r)`. A fault's signature (10.6) is over the same message.
pub fn judgment_message(valid: bool, report_hash: &Hash) -> Vec<u8> {
    concat(if valid { X_VALID } else { X_INVALID }, &[&report_hash[..]])
}

/// The audit announcement of tranche `tranche` for block `header_hash`, announcing
/// the audit of `reports` (core index and report hash `H(w)` each; eq:announcement):
///
/// `X_I ⌢ n ⌢ x_n ⌢ H(H)`, where `x_n = E({E_2(c) ⌢ H(w) | (c, w) ∈ a_n})`.
///
/// `n` is appended as one element (octet) of the sequence; `x_n` is a set, so it is
/// encoded as the concatenation of its elements in ascending order (GP C.1); as each
/// core appears at most once, that is the order of core indices, which this function
/// imposes (duplicates are kept: the GP set has none to keep). `header_hash` is the
/// hash `H(H)` of the block whose newly available reports are audited.
pub fn announcement_message(
    tranche: u8,
    reports: &[(CoreIndex, Hash)],
    header_hash: &Hash,
) -> Vec<u8> {
    let mut sorted: Vec<&(CoreIndex, Hash)> = reports.iter().collect();
    sorted.sort_by_key(|(core, hash)| (*core, *hash));
    let mut out = Vec::with_capacity(X_ANNOUNCE.len() + 1 + 34 * sorted.len() + 32);
    out.extend_from_slice(X_ANNOUNCE);
    out.push(tranche);
    for (core, hash) in sorted {
        out.extend_from_slice(&core.to_le_bytes());
        out.extend_from_slice(&hash[..]);
    }
    out.extend_from_slice(&header_hash[..]);
    out
}

/// The VRF input of a ticket proof (GP 6.29), `X_T ⌢ η'_2 ⌢ attempt`, and of the
/// ticketed block seal (6.15), `X_T ⌢ η'_3 ⌢ i_e` (pass `η'_3` and the ticket's
/// entry index then).
pub fn ticket_vrf_input(entropy: &Hash, attempt: u8) -> Vec<u8> {
    concat(X_TICKET_SEAL, &[&entropy[..], &[attempt]])
}

/// The VRF input of the fallback block seal (GP 6.16): `X_F ⌢ η'_3`.
pub fn fallback_seal_vrf_input(entropy: &Hash) -> Vec<u8> {
    concat(X_FALLBACK_SEAL, &[&entropy[..]])
}

/// The VRF input of the entropy-yielding signature `H_V` (GP 6.17): `X_E ⌢ Y(H_S)`,
/// with `seal_output` the seal's VRF output `Y(H_S)`.
pub fn entropy_vrf_input(seal_output: &Hash) -> Vec<u8> {
    concat(X_ENTROPY, &[&seal_output[..]])
}

/// The VRF input of the initial audit tranche's evidence `s_0` (eq:initialaudit):
/// `X_U ⌢ Y(H_V)`, with `entropy_output` the block's entropy VRF output `Y(H_V)`.
pub fn audit_initial_vrf_input(entropy_output: &Hash) -> Vec<u8> {
    concat(X_AUDIT, &[&entropy_output[..]])
}

/// The VRF input of a later tranche's evidence `s_n(w)` (eq:latertranches):
/// `X_U ⌢ Y(H_V) ⌢ H(w) ⌢ n`, `n` appended as one octet.
pub fn audit_later_vrf_input(entropy_output: &Hash, report_hash: &Hash, tranche: u8) -> Vec<u8> {
    concat(
        X_AUDIT,
        &[&entropy_output[..], &report_hash[..], &[tranche]],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bytes::{ByteArray, Bytes};

    #[test]
    fn shapes() {
        let h = ByteArray([7u8; 32]);
        let bits = AvailabilityBitfield(Bytes(vec![3]));
        let a = assurance_message(&h, &bits);
        assert_eq!(a.len(), 13 + 32);
        assert!(a.starts_with(b"jam_available"));
        assert_eq!(
            &a[13..],
            &blake2b_256(&[[7u8; 32].as_slice(), &[3]].concat())[..]
        );
        assert_eq!(
            guarantee_message(&h),
            [b"jam_guarantee".as_slice(), &[7; 32]].concat()
        );
        assert_eq!(judgment_message(true, &h)[..9], *b"jam_valid");
        assert_eq!(judgment_message(false, &h)[..11], *b"jam_invalid");
        assert_eq!(ticket_vrf_input(&h, 2).last(), Some(&2));
        assert_eq!(audit_later_vrf_input(&h, &h, 5).len(), 9 + 64 + 1);
    }

    #[test]
    fn announcement_orders_cores() {
        let (a, b, hh) = (
            ByteArray([1u8; 32]),
            ByteArray([2u8; 32]),
            ByteArray([9u8; 32]),
        );
        let m = announcement_message(3, &[(300, b), (1, a)], &hh);
        assert_eq!(m.len(), 12 + 1 + 2 * 34 + 32);
        assert_eq!(m[12], 3);
        // Core 1 first, then core 300 (0x012c little-endian).
        assert_eq!(&m[13..15], &[1, 0]);
        assert_eq!(&m[47..49], &[0x2c, 0x01]);
        assert_eq!(
            m,
            announcement_message(3, &[(1, a), (300, b)], &hh),
            "order of the input does not matter"
        );
    }
}

//! Audit announcements, GP v0.7.2 §17.3 (eq:announcement), as JAMNP-S CE 144
//! carries them: the statement `S ≡ 𝕍_{κ_v,e}⟨X_I ⌢ n ⌢ x_n ⌢ H(H)⟩` with
//! `x_n = E({E_2(c) ⌢ H(w) | (c, w) ∈ a_n})`, and its evidence (`s_0` for tranche 0;
//! `s_n(w)` and the no-shows of tranche `n − 1` for each report of a later one).
//!
//! The message is core's [`contexts::announcement_message`]; checking received
//! announcements is the tracker's ([`crate::tracker`]), which batches their signatures.

use tessera_core::crypto::contexts;
use tessera_core::crypto::ed25519::Keypair;
use tessera_core::types::CoreIndex;
use tessera_core::Hash;
use tessera_net::messages::{
    AuditAnnouncement, AuditAnnouncementBody, AuditEvidence, NoShow, SubsequentEvidence,
};

use crate::selection::Tranche;

/// The message an announcement of `body` in tranche `tranche` for block
/// `header_hash` signs (eq:announcement): `X_I ⌢ n ⌢ x_n ⌢ H(H)`.
pub fn message(tranche: Tranche, body: &AuditAnnouncementBody, header_hash: &Hash) -> Vec<u8> {
    contexts::announcement_message(tranche, &body.reports, header_hash)
}

/// Sign the announcement of `reports` in tranche `tranche` for block `header_hash`
/// (eq:announcement). The reports are listed in ascending core order, the order in
/// which the set `x_n` is encoded and signed.
pub fn sign_body(
    key: &Keypair,
    tranche: Tranche,
    mut reports: Vec<(CoreIndex, Hash)>,
    header_hash: &Hash,
) -> AuditAnnouncementBody {
    reports.sort_unstable();
    let signature = key.sign(&contexts::announcement_message(
        tranche,
        &reports,
        header_hash,
    ));
    AuditAnnouncementBody { reports, signature }
}

/// A tranche-0 announcement (CE 144, "First Tranche Evidence"): `a_0` signed, with
/// `s_0` as evidence.
pub fn initial(
    key: &Keypair,
    header_hash: Hash,
    reports: Vec<(CoreIndex, Hash)>,
    s0: tessera_core::types::BandersnatchVrfSignature,
) -> AuditAnnouncement {
    AuditAnnouncement {
        header_hash,
        tranche: 0,
        announcement: sign_body(key, 0, reports, &header_hash),
        evidence: AuditEvidence::First(s0),
    }
}

/// One report of a later announcement with its evidence: `(c, H(w))`, `s_n(w)` and
/// the no-shows of tranche `n − 1` (each a validator index and that validator's
/// announcement).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaterItem {
    /// `c`.
    pub core: CoreIndex,
    /// `H(w)`.
    pub report_hash: Hash,
    /// `s_n(w)`.
    pub signature: tessera_core::types::BandersnatchVrfSignature,
    /// The no-shows claimed (JAMNP-S: no two from one auditor).
    pub no_shows: Vec<NoShow>,
}

/// A later-tranche announcement (CE 144, "Subsequent Tranche Evidence"): the
/// reports signed in core order, and the evidence in the same order.
pub fn later(
    key: &Keypair,
    header_hash: Hash,
    tranche: Tranche,
    mut items: Vec<LaterItem>,
) -> AuditAnnouncement {
    items.sort_unstable_by_key(|i| (i.core, i.report_hash));
    let reports = items.iter().map(|i| (i.core, i.report_hash)).collect();
    let announcement = sign_body(key, tranche, reports, &header_hash);
    let evidence = AuditEvidence::Subsequent(
        items
            .into_iter()
            .map(|i| SubsequentEvidence {
                signature: i.signature,
                no_shows: i.no_shows,
            })
            .collect(),
    );
    AuditAnnouncement {
        header_hash,
        tranche,
        announcement,
        evidence,
    }
}

//! One block's audit as one validator sees it, GP v0.7.2 §17.3: for each report
//! that became available, `A_n(w)` (the auditors announced in tranche `n`),
//! `J_⊤(w)` and `J_⊥(w)` (the positive and negative judges), the no-shows
//! `A_n(w) ∖ J_⊤(w)`, the audited condition `U(w)` and the block's `U` ("a block is
//! audited when all its available reports are"); and our own announcements
//! (eq:announcement) and judgments (eq:judgments).
//!
//! Received announcements (CE 144) and judgments (CE 145) are taken in batches:
//! each is checked for shape first (right block and epoch, a known auditor, reports
//! of this block, evidence of the right form), then every Ed25519 signature of the
//! batch (announcements and the no-show announcements inside their evidence, or
//! judgments) is checked in one [`ed25519::verify_batch`], then the VRF evidence (in parallel), and
//! only then is anything counted. A refused item gets a [`RejectError`] and a `debug`
//! log line, and changes nothing.
//!
//! Not here: time. The tracker does not know which tranche is current; the caller
//! asks for tranche `n` when it begins ([`tranche_at`](crate::selection::tranche_at))
//! and re-asks when late information changes `a_n`, as §17.3 says nodes should.

use std::collections::{BTreeMap, BTreeSet};

use tessera_core::crypto::bandersnatch::{self, VrfOutputHash};
use tessera_core::crypto::ed25519;
use tessera_core::crypto::jip5::ValidatorSecrets;
use tessera_core::types::{
    CoreIndex, Ed25519Public, Ed25519Signature, Header, ValidatorData, ValidatorIndex, WorkReport,
};
use tessera_core::{ByteArray, ChainSpec, Hash};
use tessera_net::messages::{AuditAnnouncement, AuditAnnouncementBody, AuditEvidence, NoShow};

use rayon::prelude::*;

use crate::announcement::{self, LaterItem};
use crate::error::{RejectError, SelectionError, Signed};
use crate::judgment;
use crate::selection::{self, Tranche, TrancheView};

/// One of our own validator identities, by its keys. Its index `v` is its
/// position in each block's auditors' set ([`BlockAudit::index_of`]): the set
/// changes with the epoch (GP 6.13), and an identity's index with it.
#[derive(Debug, Clone)]
pub struct Auditor {
    /// The Ed25519 (`κ_v,e`) and Bandersnatch (`κ_v,b`) secrets.
    pub secrets: ValidatorSecrets,
}

/// `U(w)` (§17.3, "We consider a work-report as audited…"):
///
/// `U(w) ⇔ (J_⊥(w) = ∅ ∧ ∃n : A_n(w) ⊂ J_⊤(w)) ∨ |J_⊤(w)| > ⅔V`.
///
/// `announced` maps each tranche `n` to `A_n(w)`. The GP's `⊂` is read as "every
/// announced auditor of tranche `n` judged positively", over the tranches in which
/// someone announced: the prose says "there exists some tranche in which we see a
/// positive judgment from all validators who we believe are required to audit it".
/// Read literally, a strict subset would refuse the case where exactly the
/// announced auditors judged, and a tranche with no announcement (`∅ ⊂ J_⊤`) would
/// make any report with one positive judgment audited; neither is the prose's
/// meaning. `|J_⊤| > ⅔V` is evaluated exactly as `3·|J_⊤| > 2·V`.
pub fn audited(
    validators: usize,
    announced: &BTreeMap<Tranche, BTreeSet<ValidatorIndex>>,
    positive: &BTreeSet<ValidatorIndex>,
    negative: &BTreeSet<ValidatorIndex>,
) -> bool {
    let some_tranche_done = announced
        .values()
        .any(|a| !a.is_empty() && a.is_subset(positive));
    (negative.is_empty() && some_tranche_done) || 3 * positive.len() > 2 * validators
}

/// What we know of one report `w` of the block.
#[derive(Debug, Clone)]
pub struct ReportAudit {
    core: CoreIndex,
    /// Each announcer's tranche and announcement (kept: it is the no-show evidence
    /// of the next tranche). An auditor announces a report once.
    announcements: BTreeMap<ValidatorIndex, (Tranche, AuditAnnouncementBody)>,
    /// `J_⊤(w)`, with each judge's signature (verdict material for disputes).
    positive: BTreeMap<ValidatorIndex, Ed25519Signature>,
    /// `J_⊥(w)`, likewise.
    negative: BTreeMap<ValidatorIndex, Ed25519Signature>,
}

impl ReportAudit {
    fn new(core: CoreIndex) -> Self {
        ReportAudit {
            core,
            announcements: BTreeMap::new(),
            positive: BTreeMap::new(),
            negative: BTreeMap::new(),
        }
    }

    /// The core `c` the report became available on.
    pub fn core(&self) -> CoreIndex {
        self.core
    }

    /// `A_n(w)`: the auditors who announced `w` in tranche `n`.
    pub fn announced(&self, tranche: Tranche) -> BTreeSet<ValidatorIndex> {
        self.announcements
            .iter()
            .filter(|(_, (n, _))| *n == tranche)
            .map(|(v, _)| *v)
            .collect()
    }

    /// `A_n(w)` for every tranche in which someone announced `w`.
    pub fn announced_by_tranche(&self) -> BTreeMap<Tranche, BTreeSet<ValidatorIndex>> {
        let mut out: BTreeMap<Tranche, BTreeSet<ValidatorIndex>> = BTreeMap::new();
        for (v, (n, _)) in &self.announcements {
            out.entry(*n).or_default().insert(*v);
        }
        out
    }

    /// `J_⊤(w)`.
    pub fn positive(&self) -> BTreeSet<ValidatorIndex> {
        self.positive.keys().copied().collect()
    }

    /// `J_⊥(w)`.
    pub fn negative(&self) -> BTreeSet<ValidatorIndex> {
        self.negative.keys().copied().collect()
    }

    /// The no-shows of tranche `n`: `A_n(w) ∖ J_⊤(w)` (eq:latertranches, `m_{n+1}`
    /// is their number).
    pub fn no_shows(&self, tranche: Tranche) -> BTreeSet<ValidatorIndex> {
        self.announcements
            .iter()
            .filter(|(v, (n, _))| *n == tranche && !self.positive.contains_key(v))
            .map(|(v, _)| *v)
            .collect()
    }

    /// `U(w)`; see [`audited`].
    pub fn is_audited(&self, validators: usize) -> bool {
        audited(
            validators,
            &self.announced_by_tranche(),
            &self.positive(),
            &self.negative(),
        )
    }

    /// Every judgment counted, `(judge, validity, signature)`: the material of a
    /// verdict in the disputes extrinsic (GP 10.2).
    pub fn judgments(&self) -> Vec<(ValidatorIndex, bool, Ed25519Signature)> {
        let pos = self.positive.iter().map(|(v, s)| (*v, true, *s));
        let neg = self.negative.iter().map(|(v, s)| (*v, false, *s));
        pos.chain(neg).collect()
    }
}

/// An announcement counted into `A_n(w)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// The announcer.
    pub validator: ValidatorIndex,
    /// `n`.
    pub tranche: Tranche,
    /// The reports it now audits.
    pub reports: Vec<(CoreIndex, Hash)>,
}

/// A judgment counted into `J_⊤(w)` or `J_⊥(w)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JudgmentAccepted {
    /// The judge.
    pub validator: ValidatorIndex,
    /// `H(w)`.
    pub report_hash: Hash,
    /// Positive or negative.
    pub valid: bool,
    /// The judge had already judged the report the other way: both judgments are
    /// kept (signed contradictions are themselves evidence).
    pub equivocation: bool,
}

/// One block's audit: its candidates `q`, the auditors' set `κ` and what has been
/// announced and judged.
#[derive(Debug, Clone)]
pub struct BlockAudit {
    spec: ChainSpec,
    header_hash: Hash,
    entropy: VrfOutputHash,
    epoch: u32,
    validators: Vec<ValidatorData>,
    q: Vec<Option<Hash>>,
    reports: BTreeMap<Hash, ReportAudit>,
}

/// One signature to check in a batch: the key, message and signature, the batch
/// item it belongs to, and which of its signatures it is.
struct SigItem {
    key: Ed25519Public,
    message: Vec<u8>,
    signature: Ed25519Signature,
    item: usize,
    which: Signed,
}

/// Check `items` in one batch; record the first failure of each batch item in
/// `results`.
fn verify_sigs<T>(items: &[SigItem], results: &mut [Option<Result<T, RejectError>>]) {
    let batch: Vec<(ed25519::PublicKey, &[u8], ed25519::Signature)> = items
        .iter()
        .map(|s| (s.key, s.message.as_slice(), s.signature))
        .collect();
    let verdicts = ed25519::verify_batch(&batch);
    for (s, verdict) in items.iter().zip(verdicts.results()) {
        if let (Err(error), Some(slot @ None)) = (verdict, results.get_mut(s.item)) {
            *slot = Some(Err(RejectError::BadSignature {
                which: s.which,
                error: *error,
            }));
        }
    }
}

fn vrf_error(e: SelectionError) -> RejectError {
    match e {
        SelectionError::Vrf(e) => RejectError::BadVrf(e),
        // `verify_*` fail only in the VRF; tranche 0 is routed to `verify_initial`.
        _ => RejectError::BadVrf(bandersnatch::Error::VerificationFailed),
    }
}

impl BlockAudit {
    /// The audit of the block with header `header`, whose newly available reports
    /// (`W`) are `available`, audited by `validators` (`κ`, the block's prior
    /// validator set, §17.3; JAMNP-S CE 144 says "posterior": the caller chooses)
    /// of epoch `epoch` (the epoch index CE 145 judgments name).
    pub fn new(
        spec: &ChainSpec,
        header: &Header,
        epoch: u32,
        validators: Vec<ValidatorData>,
        available: &[WorkReport],
    ) -> Result<Self, SelectionError> {
        let q = selection::candidates(spec, available)?;
        let entropy = selection::entropy_output(header)?;
        Self::from_parts(spec, header.hash(), entropy, epoch, validators, q)
    }

    /// As [`BlockAudit::new`], from the header hash `H(H)`, `Y(H_V)` and `q`.
    pub fn from_parts(
        spec: &ChainSpec,
        header_hash: Hash,
        entropy: VrfOutputHash,
        epoch: u32,
        validators: Vec<ValidatorData>,
        q: Vec<Option<Hash>>,
    ) -> Result<Self, SelectionError> {
        selection::check_q(spec, &q)?;
        let mut reports = BTreeMap::new();
        for (core, w) in (0..spec.core_count).zip(&q) {
            if let Some(w) = w {
                reports.insert(*w, ReportAudit::new(core));
            }
        }
        Ok(BlockAudit {
            spec: spec.clone(),
            header_hash,
            entropy,
            epoch,
            validators,
            q,
            reports,
        })
    }

    /// The epoch index of the judging validator set (what CE 145 judgments and a
    /// verdict's age name).
    pub fn epoch(&self) -> u32 {
        self.epoch
    }

    /// `H(H)`.
    pub fn header_hash(&self) -> Hash {
        self.header_hash
    }

    /// `Y(H_V)`.
    pub fn entropy(&self) -> VrfOutputHash {
        self.entropy
    }

    /// `q` (eq:auditselection).
    pub fn candidates(&self) -> &[Option<Hash>] {
        &self.q
    }

    /// What is known of report `H(w)`, if it is one of this block's.
    pub fn report(&self, report_hash: &Hash) -> Option<&ReportAudit> {
        self.reports.get(report_hash)
    }

    /// The index in `κ` of the Ed25519 key `key` (the first, if it appears twice).
    /// A nulled key (all zeros: an offender's, GP 6.14) is no auditor's.
    pub fn validator_index(&self, key: &Ed25519Public) -> Option<ValidatorIndex> {
        if key.0 == ByteArray::ZERO {
            return None;
        }
        let i = self.validators.iter().position(|v| v.ed25519 == *key)?;
        ValidatorIndex::try_from(i).ok()
    }

    /// The Ed25519 key of validator `index` of the auditors' set.
    pub fn validator_key(&self, index: ValidatorIndex) -> Option<Ed25519Public> {
        self.validators.get(usize::from(index)).map(|v| v.ed25519)
    }

    /// `U` of the block: every report that became available is audited (`U(w)`
    /// for all `w ∈ W`). A block with no such report is audited.
    pub fn is_audited(&self) -> bool {
        let v = self.validators.len();
        self.reports.values().all(|r| r.is_audited(v))
    }

    fn check_index(&self, index: ValidatorIndex) -> Result<&ValidatorData, RejectError> {
        self.validators
            .get(usize::from(index))
            .ok_or(RejectError::UnknownValidator {
                index,
                validators: self.validators.len(),
            })
    }

    fn known(&self, core: CoreIndex, hash: &Hash) -> Result<&ReportAudit, RejectError> {
        match self.reports.get(hash) {
            Some(r) if r.core == core => Ok(r),
            _ => Err(RejectError::UnknownReport { core, hash: *hash }),
        }
    }

    /// Shape checks of one announcement; on success, its announcer and the
    /// signatures to check.
    fn precheck(
        &self,
        item: usize,
        sender: &Ed25519Public,
        a: &AuditAnnouncement,
        sigs: &mut Vec<SigItem>,
    ) -> Result<ValidatorIndex, RejectError> {
        if a.header_hash != self.header_hash {
            return Err(RejectError::WrongBlock {
                expected: self.header_hash,
                got: a.header_hash,
            });
        }
        let validator = self
            .validator_index(sender)
            .ok_or(RejectError::NotAnAuditor { key: *sender })?;
        let reports = &a.announcement.reports;
        if reports.is_empty() {
            return Err(RejectError::Empty);
        }
        let mut cores = BTreeSet::new();
        for (core, hash) in reports {
            if !cores.insert(*core) {
                return Err(RejectError::RepeatedCore { core: *core });
            }
            self.known(*core, hash)?;
        }
        let mut own = vec![SigItem {
            key: *sender,
            message: announcement::message(a.tranche, &a.announcement, &self.header_hash),
            signature: a.announcement.signature,
            item,
            which: Signed::Announcement,
        }];
        match (&a.evidence, a.tranche) {
            (AuditEvidence::First(_), 0) => {}
            (AuditEvidence::Subsequent(ev), n) if n > 0 && ev.len() == reports.len() => {
                for (r, ((core, hash), e)) in reports.iter().zip(ev).enumerate() {
                    let mut seen = BTreeSet::new();
                    for (k, ns) in e.no_shows.iter().enumerate() {
                        let key = self.check_index(ns.validator_index)?.ed25519;
                        if !seen.insert(ns.validator_index) {
                            return Err(RejectError::RepeatedNoShow {
                                validator: ns.validator_index,
                            });
                        }
                        if !ns.announcement.reports.contains(&(*core, *hash)) {
                            return Err(RejectError::NoShowMismatch {
                                validator: ns.validator_index,
                                hash: *hash,
                            });
                        }
                        own.push(SigItem {
                            key,
                            message: announcement::message(
                                n - 1,
                                &ns.announcement,
                                &self.header_hash,
                            ),
                            signature: ns.announcement.signature,
                            item,
                            which: Signed::NoShow {
                                report: r,
                                no_show: k,
                            },
                        });
                    }
                }
            }
            _ => return Err(RejectError::EvidenceShape { tranche: a.tranche }),
        }
        sigs.append(&mut own);
        Ok(validator)
    }

    /// Check the VRF evidence of an announcement that passed its shape and
    /// signature checks: every report it names must be in the announcer's `a_n`.
    fn check_evidence(
        &self,
        validator: ValidatorIndex,
        a: &AuditAnnouncement,
    ) -> Result<(), RejectError> {
        let key = self.check_index(validator)?.bandersnatch;
        match &a.evidence {
            AuditEvidence::First(s0) => {
                let y = selection::verify_initial(&key, &self.entropy, s0).map_err(vrf_error)?;
                let a0 = selection::initial_from(&self.spec, &self.q, &y);
                for (core, hash) in &a.announcement.reports {
                    if !a0.contains(&(*core, *hash)) {
                        return Err(RejectError::NotSelected {
                            core: *core,
                            hash: *hash,
                        });
                    }
                }
            }
            AuditEvidence::Subsequent(ev) => {
                for ((core, hash), e) in a.announcement.reports.iter().zip(ev) {
                    let y =
                        selection::verify_later(&key, &self.entropy, hash, a.tranche, &e.signature)
                            .map_err(vrf_error)?;
                    // m_n is the announcer's claim: each listed no-show is a signed
                    // announcement of w in tranche n − 1, but that no judgment of it
                    // arrived "cannot be proven and so must simply be accepted"
                    // (JAMNP-S CE 144).
                    let drawn = selection::later_draw(&self.spec, &y, e.no_shows.len());
                    let negative = self
                        .reports
                        .get(hash)
                        .is_some_and(|r| !r.negative.is_empty());
                    if !drawn && !negative {
                        return Err(RejectError::NotSelected {
                            core: *core,
                            hash: *hash,
                        });
                    }
                }
            }
        }
        Ok(())
    }

    /// Count an announcement whose checks passed, unless it repeats a report the
    /// announcer announced before.
    fn record_announcement(
        &mut self,
        validator: ValidatorIndex,
        tranche: Tranche,
        body: &AuditAnnouncementBody,
    ) -> Result<Accepted, RejectError> {
        for (_, hash) in &body.reports {
            if self
                .reports
                .get(hash)
                .is_some_and(|r| r.announcements.contains_key(&validator))
            {
                return Err(RejectError::Duplicate {
                    validator,
                    hash: *hash,
                });
            }
        }
        for (_, hash) in &body.reports {
            if let Some(r) = self.reports.get_mut(hash) {
                r.announcements.insert(validator, (tranche, body.clone()));
            }
        }
        Ok(Accepted {
            validator,
            tranche,
            reports: body.reports.clone(),
        })
    }

    /// Take a batch of received announcements (CE 144), each with the Ed25519 key of
    /// its sender (the peer's certificate key): check them all and count those that
    /// pass into `A_n(w)`, in order. One result per item.
    pub fn receive_announcements(
        &mut self,
        batch: &[(Ed25519Public, AuditAnnouncement)],
    ) -> Vec<Result<Accepted, RejectError>> {
        let mut results: Vec<Option<Result<Accepted, RejectError>>> = vec![None; batch.len()];
        let mut validators = vec![0; batch.len()];
        let mut sigs = Vec::new();
        for (i, (sender, a)) in batch.iter().enumerate() {
            match self.precheck(i, sender, a, &mut sigs) {
                Ok(v) => validators[i] = v,
                Err(e) => results[i] = Some(Err(e)),
            }
        }
        verify_sigs(&sigs, &mut results);
        // The VRF evidence (a Bandersnatch verification per report) in parallel,
        // then the counting in order.
        let evidence: Vec<Option<Result<(), RejectError>>> = batch
            .par_iter()
            .zip(&results)
            .zip(&validators)
            .map(|(((_, a), done), &v)| done.is_none().then(|| self.check_evidence(v, a)))
            .collect();
        for (i, ((_, a), checked)) in batch.iter().zip(evidence).enumerate() {
            let Some(checked) = checked else { continue };
            let v = validators[i];
            let r = checked.and_then(|()| self.record_announcement(v, a.tranche, &a.announcement));
            results[i] = Some(r);
        }
        results
            .into_iter()
            .zip(batch)
            .map(|(r, (sender, a))| {
                let r = r.unwrap_or(Err(RejectError::NotAnAuditor { key: *sender }));
                if let Err(e) = &r {
                    tracing::debug!(%sender, tranche = a.tranche, "audit announcement refused: {e}");
                }
                r
            })
            .collect()
    }

    fn record_judgment(
        &mut self,
        validator: ValidatorIndex,
        valid: bool,
        report_hash: Hash,
        signature: Ed25519Signature,
    ) -> Result<JudgmentAccepted, RejectError> {
        let r = self
            .reports
            .get_mut(&report_hash)
            .ok_or(RejectError::UnknownReportHash { hash: report_hash })?;
        let (mine, other) = if valid {
            (&mut r.positive, &r.negative)
        } else {
            (&mut r.negative, &r.positive)
        };
        if mine.contains_key(&validator) {
            return Err(RejectError::Duplicate {
                validator,
                hash: report_hash,
            });
        }
        mine.insert(validator, signature);
        Ok(JudgmentAccepted {
            validator,
            report_hash,
            valid,
            equivocation: other.contains_key(&validator),
        })
    }

    /// Take a batch of received judgments (CE 145): check them all (signatures in
    /// one batch) and count those that pass into `J_⊤(w)` or `J_⊥(w)`, in order. A
    /// judgment may come from any validator of the set, announced or not (§17.3: "We
    /// don't care from which tranche a judgment is made"), and through any peer
    /// (negative ones are forwarded).
    pub fn receive_judgments(
        &mut self,
        batch: &[tessera_net::messages::JudgmentMessage],
    ) -> Vec<Result<JudgmentAccepted, RejectError>> {
        let mut results: Vec<Option<Result<JudgmentAccepted, RejectError>>> =
            vec![None; batch.len()];
        let mut sigs = Vec::new();
        for (i, j) in batch.iter().enumerate() {
            let check = || -> Result<Ed25519Public, RejectError> {
                if j.epoch_index != self.epoch {
                    return Err(RejectError::WrongEpoch {
                        expected: self.epoch,
                        got: j.epoch_index,
                    });
                }
                let key = self.check_index(j.validator_index)?.ed25519;
                if key.0 == ByteArray::ZERO {
                    return Err(RejectError::NotAnAuditor { key });
                }
                if !self.reports.contains_key(&j.report_hash) {
                    return Err(RejectError::UnknownReportHash {
                        hash: j.report_hash,
                    });
                }
                Ok(key)
            };
            match check() {
                Ok(key) => sigs.push(SigItem {
                    key,
                    message: judgment::message(j),
                    signature: j.signature,
                    item: i,
                    which: Signed::Judgment,
                }),
                Err(e) => results[i] = Some(Err(e)),
            }
        }
        verify_sigs(&sigs, &mut results);
        for (i, j) in batch.iter().enumerate() {
            if results[i].is_none() {
                results[i] = Some(self.record_judgment(
                    j.validator_index,
                    j.valid,
                    j.report_hash,
                    j.signature,
                ));
            }
        }
        results
            .into_iter()
            .zip(batch)
            .map(|(r, j)| {
                let r = r.unwrap_or(Err(RejectError::UnknownReportHash {
                    hash: j.report_hash,
                }));
                if let Err(e) = &r {
                    tracing::debug!(validator = j.validator_index, "judgment refused: {e}");
                }
                r
            })
            .collect()
    }

    /// `auditor`'s index `v` in this block's auditors' set, found by its Ed25519
    /// key.
    pub fn index_of(&self, auditor: &Auditor) -> Result<ValidatorIndex, SelectionError> {
        let key = auditor.secrets.ed25519.public();
        self.validator_index(&key)
            .ok_or(SelectionError::NotAnAuditor { key })
    }

    /// Our announcement for tranche `n`, counted in `A_n` at once: tranche 0's
    /// `a_0` (eq:initialaudit), or for `n > 0` the reports drawn for the no-shows
    /// of tranche `n − 1` or with a negative judgment (eq:latertranches), with their
    /// evidence. Reports we announced before are left out (never twice); `None`
    /// when nothing is left to announce. Asking again within a tranche announces
    /// only what late information added.
    pub fn announce(
        &mut self,
        auditor: &Auditor,
        tranche: Tranche,
    ) -> Result<Option<AuditAnnouncement>, SelectionError> {
        let v = self.index_of(auditor)?;
        let announcement = if tranche == 0 {
            let s0 = selection::sign_initial(&auditor.secrets.bandersnatch, &self.entropy)?;
            let y = bandersnatch::vrf_output(&s0)?;
            let a0: Vec<(CoreIndex, Hash)> = selection::initial_from(&self.spec, &self.q, &y)
                .into_iter()
                .filter(|(_, w)| !self.announced_by(v, w))
                .collect();
            if a0.is_empty() {
                return Ok(None);
            }
            announcement::initial(&auditor.secrets.ed25519, self.header_hash, a0, s0)
        } else {
            let view = Ours { audit: self, us: v };
            let picks = selection::later_selection(
                &self.spec,
                &auditor.secrets.bandersnatch,
                &self.entropy,
                &self.q,
                tranche,
                &view,
            )?;
            if picks.is_empty() {
                return Ok(None);
            }
            let items = picks
                .into_iter()
                .map(|p| LaterItem {
                    core: p.core,
                    report_hash: p.report_hash,
                    signature: p.signature,
                    no_shows: self.no_show_evidence(&p.report_hash, tranche - 1),
                })
                .collect();
            announcement::later(&auditor.secrets.ed25519, self.header_hash, tranche, items)
        };
        // Built from our own keys over checked reports: counted without re-checking.
        self.record_announcement(v, tranche, &announcement.announcement)
            .map_err(|_| SelectionError::NotAnAuditor {
                key: auditor.secrets.ed25519.public(),
            })?;
        Ok(Some(announcement))
    }

    fn announced_by(&self, v: ValidatorIndex, w: &Hash) -> bool {
        self.reports
            .get(w)
            .is_some_and(|r| r.announcements.contains_key(&v))
    }

    /// The CE 144 no-show list for `w` from tranche `n`: each auditor of `A_n(w)`
    /// without a positive judgment, with its announcement.
    fn no_show_evidence(&self, w: &Hash, tranche: Tranche) -> Vec<NoShow> {
        let Some(r) = self.reports.get(w) else {
            return Vec::new();
        };
        r.announcements
            .iter()
            .filter(|(v, (n, _))| *n == tranche && !r.positive.contains_key(v))
            .map(|(v, (_, body))| NoShow {
                validator_index: *v,
                announcement: body.clone(),
            })
            .collect()
    }

    /// Our judgment on report `report_hash` (eq:judgments), counted at once.
    pub fn judge(
        &mut self,
        auditor: &Auditor,
        report_hash: Hash,
        valid: bool,
    ) -> Result<tessera_net::messages::JudgmentMessage, RejectError> {
        let v = self
            .index_of(auditor)
            .map_err(|_| RejectError::NotAnAuditor {
                key: auditor.secrets.ed25519.public(),
            })?;
        let j = judgment::sign(&auditor.secrets.ed25519, self.epoch, v, valid, report_hash);
        self.record_judgment(v, valid, report_hash, j.signature)?;
        Ok(j)
    }
}

/// The tracker as one auditor's [`TrancheView`].
struct Ours<'a> {
    audit: &'a BlockAudit,
    us: ValidatorIndex,
}

impl TrancheView for Ours<'_> {
    fn announced_by_us(&self, report_hash: &Hash) -> bool {
        self.audit.announced_by(self.us, report_hash)
    }

    fn no_shows(&self, report_hash: &Hash, tranche: Tranche) -> usize {
        match (self.audit.reports.get(report_hash), tranche.checked_sub(1)) {
            (Some(r), Some(prev)) => r.no_shows(prev).len(),
            _ => 0,
        }
    }

    fn negative(&self, report_hash: &Hash) -> bool {
        self.audit
            .reports
            .get(report_hash)
            .is_some_and(|r| !r.negative.is_empty())
    }
}

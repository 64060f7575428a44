//! The errors of auditing (GP §17): why a selection cannot be computed, and why a
//! received announcement (CE 144) or judgment (CE 145) is refused. A refused item is
//! never counted in `A_n(w)`, `J_⊤(w)` or `J_⊥(w)`.

use tessera_core::crypto::bandersnatch;
use tessera_core::crypto::ed25519::Ed25519Error;
use tessera_core::types::{CoreIndex, Ed25519Public, ValidatorIndex};
use tessera_core::Hash;

/// Why a selection (eq:auditselection, eq:initialaudit, eq:latertranches) cannot be
/// computed or checked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectionError {
    /// `q` must have one entry per core (eq:auditselection).
    #[error("q has {got} entries, the chain has {expected} cores")]
    CoreCount {
        /// `C`.
        expected: usize,
        /// `|q|` as given.
        got: usize,
    },
    /// A report names a core the chain does not have.
    #[error("a report names core {core}, the chain has {cores} cores")]
    CoreOutOfRange {
        /// The report's core index.
        core: CoreIndex,
        /// `C`.
        cores: usize,
    },
    /// Two reports became available on one core, which the GP's `q` cannot hold.
    #[error("two reports became available on core {core}")]
    TwoReportsOnOneCore {
        /// The core.
        core: CoreIndex,
    },
    /// Our own identity's key is not in the auditors' set of this block.
    #[error("our key {key} is not in the auditors' set of this block")]
    NotAnAuditor {
        /// Our Ed25519 key.
        key: Ed25519Public,
    },
    /// `s_n(w)` is defined for tranches `n > 0` only (eq:latertranches).
    #[error("tranche 0 has no per-report VRF s_n(w)")]
    TrancheZero,
    /// A Bandersnatch VRF could not be made or does not verify (GP G.1).
    #[error("Bandersnatch VRF: {0}")]
    Vrf(#[from] bandersnatch::Error),
}

/// Which signature of an announcement or judgment failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signed {
    /// The announcement's own signature (eq:announcement).
    Announcement,
    /// The announcement of the no-show at this position of the evidence of the
    /// announced report at `report` (CE 144 "Subsequent Tranche Evidence").
    NoShow {
        /// Position of the report in the announcement.
        report: usize,
        /// Position of the no-show in that report's evidence.
        no_show: usize,
    },
    /// A judgment's signature (eq:judgments).
    Judgment,
}

/// Why a received announcement or judgment was refused; it is not counted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RejectError {
    /// The announcement is for another block.
    #[error("announcement for block {got}, this tracker audits {expected}")]
    WrongBlock {
        /// `H(H)` of the block tracked.
        expected: Hash,
        /// The header hash the announcement names.
        got: Hash,
    },
    /// The judgment names another epoch than that of the auditors' set.
    #[error("judgment for epoch {got}, the auditors are the set of epoch {expected}")]
    WrongEpoch {
        /// The epoch of the tracked auditors' set.
        expected: u32,
        /// The epoch the judgment names.
        got: u32,
    },
    /// The sender's Ed25519 key is not in the auditors' set `κ`.
    #[error("{key} is not an auditor of this block")]
    NotAnAuditor {
        /// The key.
        key: Ed25519Public,
    },
    /// A validator index at or beyond `V`.
    #[error("validator index {index} is not below V = {validators}")]
    UnknownValidator {
        /// The index.
        index: ValidatorIndex,
        /// `V`.
        validators: usize,
    },
    /// An announcement with no reports (JAMNP-S: none is sent then).
    #[error("announcement lists no reports")]
    Empty,
    /// A (core, report) pair that did not become available in this block.
    #[error("report {hash} on core {core} is not a report of this block")]
    UnknownReport {
        /// The core named.
        core: CoreIndex,
        /// `H(w)` named.
        hash: Hash,
    },
    /// A judgment on a report that did not become available in this block.
    #[error("report {hash} is not a report of this block")]
    UnknownReportHash {
        /// `H(w)` named.
        hash: Hash,
    },
    /// An announcement lists a core twice.
    #[error("core {core} is listed twice in one announcement")]
    RepeatedCore {
        /// The core.
        core: CoreIndex,
    },
    /// The evidence does not have the shape of its tranche (CE 144: `s_0` for
    /// tranche 0, one entry per report otherwise).
    #[error("evidence of the wrong shape for tranche {tranche}")]
    EvidenceShape {
        /// The announcement's tranche.
        tranche: u8,
    },
    /// A no-show's announcement does not announce the report it is evidence for.
    #[error("no-show {validator} did not announce report {hash}")]
    NoShowMismatch {
        /// The no-show's validator index.
        validator: ValidatorIndex,
        /// `H(w)`.
        hash: Hash,
    },
    /// One auditor is listed twice among the no-shows of one report.
    #[error("no-show {validator} is listed twice")]
    RepeatedNoShow {
        /// The validator index.
        validator: ValidatorIndex,
    },
    /// An Ed25519 signature does not verify.
    #[error("bad {which:?} signature: {error}")]
    BadSignature {
        /// Which one.
        which: Signed,
        /// Why.
        #[source]
        error: Ed25519Error,
    },
    /// The VRF evidence does not verify.
    #[error("bad VRF evidence: {0}")]
    BadVrf(#[source] bandersnatch::Error),
    /// The evidence verifies but does not select the report for this auditor.
    #[error("the evidence does not select report {hash} on core {core}")]
    NotSelected {
        /// The core.
        core: CoreIndex,
        /// `H(w)`.
        hash: Hash,
    },
    /// The auditor has already announced this report (in this or an earlier
    /// tranche; JAMNP-S: never twice), or sent this judgment already.
    #[error("validator {validator} already announced or judged report {hash}")]
    Duplicate {
        /// The validator.
        validator: ValidatorIndex,
        /// `H(w)`.
        hash: Hash,
    },
}

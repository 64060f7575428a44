//! `tessera-audit`: auditing, GP v0.7.2 §17 ("Auditing and Judging").
//!
//! What is here: which reports a validator audits and when ([`selection`]: the
//! candidates `q`, the tranche clock, tranche 0's `s_0` and Fisher–Yates draw of
//! `a_0`, later tranches' `s_n(w)` draw against the no-shows), the CE 144
//! announcements and CE 145 judgments it signs ([`announcement`], [`judgment`]), and
//! one block's audit as one validator sees it ([`tracker`]: `A_n(w)`, `J_⊤(w)`,
//! `J_⊥(w)`, no-shows, `U(w)` and the block's audited condition), with received
//! announcements and judgments checked in batches and refused with a typed
//! [`RejectError`] when they are forged, for unknown reports, from non-auditors or
//! repeated; and the audit itself as a pure function ([`execute`]: a fetched
//! bundle decoded strictly and checked, Ξ recomputed through `tessera-state`'s
//! refine and compared with the report, any failure a reason for a negative
//! judgment).
//!
//! Getting the bundles ([`fetch`]): CE 147 from a guarantor, checked against the
//! report, else `R` proven CE 138 shards rebuilt — many reports' rebuilds in one
//! kernel call.
//!
//! The audit farm ([`farm`]): one scheduler for every hosted identity — each
//! selected report fetched and re-executed once, judged by every identity that
//! announced it, late tranches logged and counted.
//!
//! The verdict material ([`verdict`]): a verdict of `⌊2V/3⌋ + 1` counted judgments,
//! its faults, and a bad report's culprits, as the disputes extrinsic takes them.
//!
//! CE 144 and CE 145 ([`gossip`]): handlers that queue into a bounded inbox, drained
//! into the trackers' batch checks, and sending a tranche's messages to the other
//! validators (and forwarding negative judgments).
//!
//! What is deliberately not here (yet): Ψ_I (which `tessera-state` does not have;
//! the caller supplies it), and deciding what runs when: `node` owns the clock and
//! the chain. Apart from the network requests, no I/O, no threads, no clock: the
//! caller passes the time.

pub mod announcement;
pub mod error;
pub mod execute;
pub mod farm;
pub mod fetch;
pub mod gossip;
pub mod judgment;
pub mod selection;
pub mod tracker;
pub mod verdict;

pub use error::{RejectError, SelectionError, Signed};
pub use selection::{Tranche, JAM_COMMON_ERA_UNIX};
pub use tracker::{audited, Accepted, Auditor, BlockAudit, JudgmentAccepted, ReportAudit};

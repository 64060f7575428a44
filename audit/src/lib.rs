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
//! repeated.
//!
//! What is deliberately not here (yet): fetching and reconstructing bundles, the
//! re-execution of Ψ_I and Ψ_R, the audit farm, and any networking: this crate
//! builds and checks messages; `node` will register the CE 144/145 handlers and
//! decide what runs when. No I/O, no threads, no clock: the caller passes the time.

pub mod announcement;
pub mod error;
pub mod judgment;
pub mod selection;
pub mod tracker;

pub use error::{RejectError, SelectionError, Signed};
pub use selection::{Tranche, JAM_COMMON_ERA_UNIX};
pub use tracker::{audited, Accepted, Auditor, BlockAudit, JudgmentAccepted, ReportAudit};

//! The accumulation queue ω (the vectors' `ready_queue`) and history ξ
//! (`accumulated`), GP v0.7.2 accumulation.tex §12.1–12.2: which available
//! reports accumulate now, which wait on dependencies, and how both rotate.

use std::collections::BTreeSet;

use tessera_core::hash::Hash;
use tessera_core::types::WorkReport;

/// A waiting report and the package hashes it still depends on (`(R, {H})`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Waiting {
    /// The report.
    pub report: WorkReport,
    /// Its unmet dependencies.
    pub dependencies: BTreeSet<Hash>,
}

/// `D(r)` (GP 12.6): a report with its prerequisites and segment-root lookup keys
/// as dependencies.
pub fn with_dependencies(report: &WorkReport) -> Waiting {
    let mut dependencies: BTreeSet<Hash> = report.context.prerequisites.iter().copied().collect();
    dependencies.extend(
        report
            .segment_root_lookup
            .0
            .iter()
            .map(|l| l.work_package_hash),
    );
    Waiting {
        report: report.clone(),
        dependencies,
    }
}

/// `E(r, x)` (GP 12.7): drop the reports whose package is in `x` and remove `x`
/// from the others' dependencies.
pub fn edit(queue: &[Waiting], accumulated: &BTreeSet<Hash>) -> Vec<Waiting> {
    queue
        .iter()
        .filter(|w| !accumulated.contains(&w.report.package_spec.hash))
        .map(|w| Waiting {
            report: w.report.clone(),
            dependencies: w.dependencies.difference(accumulated).copied().collect(),
        })
        .collect()
}

/// `P(r)` (GP 12.9): the package hashes of reports.
pub fn packages<'a>(reports: impl IntoIterator<Item = &'a WorkReport>) -> BTreeSet<Hash> {
    reports.into_iter().map(|r| r.package_spec.hash).collect()
}

/// `Q(r)` (GP 12.8): repeatedly take the reports with no dependencies left, in
/// queue order, and release what they unlock.
pub fn accumulatable(queue: &[Waiting]) -> Vec<WorkReport> {
    let mut out = Vec::new();
    let mut queue = queue.to_vec();
    loop {
        let ready: Vec<WorkReport> = queue
            .iter()
            .filter(|w| w.dependencies.is_empty())
            .map(|w| w.report.clone())
            .collect();
        if ready.is_empty() {
            return out;
        }
        queue = edit(&queue, &packages(&ready));
        out.extend(ready);
    }
}

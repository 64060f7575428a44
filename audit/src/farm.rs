//! The audit farm: one scheduler for every validator identity a process hosts (an
//! ordinary validator hosts one; an operator's farm, a testnet or a research setup
//! more). Per block and tranche:
//!
//! 1. every hosted identity makes its announcement (GP §17.3: tranche 0's `a_0`, or
//!    a later tranche's draw against the no-shows) on the block's [`BlockAudit`];
//! 2. the reports any identity selected are gathered, each **once**: one bundle
//!    fetch per report, all of them in one [`fetch_bundles`] call (CE 147 from a
//!    guarantor, else `R` CE 138 shards, the rebuilds in one kernel call);
//! 3. each report is re-executed **once** ([`audit`]), the reports of the tranche in
//!    parallel on rayon's pool;
//! 4. every identity that announced a report judges it by that one result (CE 145
//!    messages, counted on the tracker at once).
//!
//! A report whose bundle cannot be had (too few shards) gets no judgment — its
//! auditors are no-shows, which is what draws later tranches — and is logged; shards
//! that prove to the erasure root but rebuild no codeword (an invalid erasure root)
//! are a negative judgment. A tranche whose work ends after its deadline (the next
//! tranche's start) is logged as late and counted, never skipped in silence.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Instant;

use rayon::prelude::*;
use tessera_core::types::ValidatorIndex;
use tessera_core::{ChainSpec, Hash};
use tessera_da::reconstruct::ReconstructError;
use tessera_kernels::Backend;
use tessera_net::messages::{AuditAnnouncement, JudgmentMessage};
use tessera_net::Network;
use tracing::{info, warn};

use crate::error::SelectionError;
use crate::execute::{audit, Context, Invalid};
use crate::fetch::{fetch_bundles_observed, BundleEvents, BundleFetch, BundleFetchError, Source};
use crate::selection::Tranche;
use crate::tracker::{Auditor, BlockAudit};

/// What the farm has done since it started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Bundles fetched whole from a guarantor (CE 147).
    pub from_guarantors: u64,
    /// Bundles rebuilt from shards (CE 138).
    pub reconstructed: u64,
    /// Bundles that could not be had.
    pub unavailable: u64,
    /// Reports re-executed.
    pub executed: u64,
    /// Judgments made, by all identities.
    pub judgments: u64,
    /// Of those, negative.
    pub negative: u64,
    /// Tranches whose work ended after their deadline.
    pub late_tranches: u64,
    /// Octets of the bundles rebuilt from shards.
    pub rebuilt_bytes: u64,
    /// Nanoseconds the rebuild kernel calls took.
    pub rebuild_nanos: u64,
}

/// What one tranche produced, to be published (CE 144, CE 145).
#[derive(Clone, Debug, Default)]
pub struct TrancheWork {
    /// Our identities' announcements, each with the announcing validator: CE 144
    /// names no validator, the receiver knows it by the connection's key, so each
    /// goes out on its identity's own endpoint.
    pub announcements: Vec<(ValidatorIndex, AuditAnnouncement)>,
    /// Our identities' judgments.
    pub judgments: Vec<JudgmentMessage>,
    /// The verdict per report re-executed: `Ok` valid, `Err` why not.
    pub verdicts: BTreeMap<Hash, Result<(), String>>,
    /// Whether the work ended after the deadline.
    pub late: bool,
}

/// The farm: hosted identities, the kernels backend for rebuilds, and its counters.
pub struct Farm {
    spec: ChainSpec,
    backend: Backend,
    identities: Vec<Auditor>,
    counters: Counters,
    /// Where the bundle fetches report their requests and rebuilds.
    events: Arc<dyn BundleEvents>,
}

impl std::fmt::Debug for Farm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Farm")
            .field("backend", &self.backend)
            .field("identities", &self.identities.len())
            .field("counters", &self.counters)
            .finish_non_exhaustive()
    }
}

impl Farm {
    /// A farm auditing as `identities` on `spec`, rebuilding bundles on `backend`.
    pub fn new(spec: &ChainSpec, backend: Backend, identities: Vec<Auditor>) -> Farm {
        Farm {
            spec: spec.clone(),
            backend,
            identities,
            counters: Counters::default(),
            events: Arc::new(()),
        }
    }

    /// Report every bundle request and rebuild to `events` from now on.
    pub fn observe(&mut self, events: Arc<dyn BundleEvents>) {
        self.events = events;
    }

    /// Audit as `identity` too, from the next tranche on.
    pub fn host(&mut self, identity: Auditor) {
        self.identities.push(identity);
    }

    /// The hosted identities.
    pub fn identities(&self) -> &[Auditor] {
        &self.identities
    }

    /// What the farm has done so far.
    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// Tranche `tranche` of `block`: announce, fetch each selected report once,
    /// re-execute each once, judge by every identity that announced it. `sources`
    /// gives, per report hash, the report and whom to fetch its bundle from;
    /// `deadline` is when the tranche's work should be done.
    pub async fn tranche(
        &mut self,
        network: &Network,
        block: &mut BlockAudit,
        tranche: Tranche,
        sources: &BTreeMap<Hash, BundleFetch>,
        ctx: &Context<'_>,
        deadline: Instant,
    ) -> Result<TrancheWork, SelectionError> {
        let mut work = TrancheWork::default();
        // 1. Announcements; who selected what.
        let mut selected_by: BTreeMap<Hash, Vec<usize>> = BTreeMap::new();
        for (i, identity) in self.identities.iter().enumerate() {
            // A hosted identity outside this block's auditors' set (another
            // epoch's validator) has nothing to do here.
            let Ok(v) = block.index_of(identity) else {
                continue;
            };
            if let Some(a) = block.announce(identity, tranche)? {
                for item in &a.announcement.reports {
                    selected_by.entry(item.1).or_default().push(i);
                }
                work.announcements.push((v, a));
            }
        }
        // 2. One fetch per report, all at once.
        let wanted: BTreeSet<Hash> = selected_by.keys().copied().collect();
        let jobs: Vec<BundleFetch> = wanted
            .iter()
            .filter_map(|w| {
                let job = sources.get(w).cloned();
                if job.is_none() {
                    warn!(report = %w, "selected a report with no known source; not judged");
                }
                job
            })
            .collect();
        let fetched = fetch_bundles_observed(
            network,
            &self.spec,
            self.backend,
            &jobs,
            self.events.clone(),
        )
        .await;
        // 3. One execution per report, in parallel.
        let spec = &self.spec;
        let verdicts: Vec<(Hash, Option<Result<(), Invalid>>)> = jobs
            .par_iter()
            .zip(fetched.par_iter())
            .map(|(job, bundle)| {
                let w = job.report.hash();
                let verdict = match bundle {
                    Ok(b) => Some(audit(spec, &job.report, &b.bundle, ctx)),
                    Err(BundleFetchError::Reconstruct(ReconstructError::Inconsistent {
                        index,
                    })) => Some(Err(Invalid::InconsistentShards { index: *index })),
                    Err(_) => None,
                };
                (w, verdict)
            })
            .collect();
        for bundle in &fetched {
            match bundle {
                Ok(b) if matches!(b.source, Source::Guarantor(_)) => {
                    self.counters.from_guarantors += 1
                }
                Ok(b) => {
                    self.counters.reconstructed += 1;
                    self.counters.rebuilt_bytes += b.bundle.len() as u64;
                    self.counters.rebuild_nanos += b.rebuild_nanos;
                }
                Err(_) => self.counters.unavailable += 1,
            }
        }
        // 4. Every identity that announced a report judges it by the one result.
        for ((w, verdict), (job, bundle)) in verdicts.into_iter().zip(jobs.iter().zip(&fetched)) {
            let Some(verdict) = verdict else {
                if let Err(e) = bundle {
                    warn!(report = %w, error = %e, "bundle unavailable; no judgment (a no-show)");
                }
                continue;
            };
            self.counters.executed += 1;
            let valid = verdict.is_ok();
            if let Err(reason) = &verdict {
                warn!(report = %w, core = job.report.core_index, %reason, "audit: invalid report");
            }
            for &i in selected_by.get(&w).map(Vec::as_slice).unwrap_or(&[]) {
                let Some(identity) = self.identities.get(i) else {
                    continue;
                };
                match block.judge(identity, w, valid) {
                    Ok(j) => {
                        self.counters.judgments += 1;
                        if !valid {
                            self.counters.negative += 1;
                        }
                        work.judgments.push(j);
                    }
                    Err(e) => {
                        warn!(report = %w, key = %identity.secrets.ed25519.public(), error = %e, "judgment refused")
                    }
                }
            }
            work.verdicts.insert(w, verdict.map_err(|e| e.to_string()));
        }
        let now = Instant::now();
        if now > deadline {
            work.late = true;
            self.counters.late_tranches += 1;
            warn!(
                tranche,
                late_ms = now.duration_since(deadline).as_millis() as u64,
                reports = wanted.len(),
                "audit tranche finished after its deadline"
            );
        } else {
            info!(
                tranche,
                reports = wanted.len(),
                judgments = work.judgments.len(),
                "audit tranche done"
            );
        }
        Ok(work)
    }
}

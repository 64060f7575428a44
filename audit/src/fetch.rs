//! Getting the bundles to audit (GP v0.7.2 §17.2, "Data Fetching"; JAMNP-S CE 147 and
//! CE 138), many reports at once.
//!
//! The bundle an auditor judges is the one the availability system holds: `R` of
//! the `V` bundle shards, proven to the report's erasure root and reconstructed. As
//! JAMNP-S suggests, a guarantor is asked for the whole bundle first (CE 147): that
//! costs one request instead of `R` and no decoding. A bundle so fetched is used only
//! if it is the report's — it decodes strictly to a package whose hash is the
//! report's, whose extrinsics have their hashes and whose imports prove to their
//! segment roots ([`crate::execute::check_data`]); otherwise (and when no guarantor
//! answers) the `R` shards are fetched over CE 138 and the bundle rebuilt. All the
//! rebuilds of one call go to the kernels in one `reconstruct_many` call, with the
//! codeword check (`tessera_da::reconstruct::bundles`).
//!
//! A guarantor that serves a bundle not matching its report only loses the shortcut:
//! the rebuilt bundle is what is judged, whatever it decodes to.
//!
//! [`fetch_bundles_observed`] reports each request and rebuild to [`BundleEvents`]
//! (a node turns them into JIP-3's bundle-recovery events, the auditor's side).

use std::sync::Arc;

use tessera_core::hash::Hash;
use tessera_core::types::WorkReport;
use tessera_core::ChainSpec;
use tessera_da::fetch::{fetch_audit_shards_observed, AuditShardEvents, Holder};
use tessera_da::reconstruct::{bundles, BundleShards, ReconstructError};
use tessera_kernels::Backend;
use tessera_net::messages::BundleRequest;
use tessera_net::{Network, PeerId};
use tokio::task::JoinSet;
use tracing::warn;

use crate::execute::{check_data, Bundle};

/// One report's bundle to get, and whom to ask.
#[derive(Clone, Debug)]
pub struct BundleFetch {
    /// The report under audit.
    pub report: WorkReport,
    /// Its guarantors' endpoints, asked in turn over CE 147.
    pub guarantors: Vec<PeerId>,
    /// Assurers and the shard index each holds for the report's core (CE 138).
    pub assurers: Vec<Holder>,
}

/// Where a bundle came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// A guarantor's whole bundle (CE 147), checked against the report.
    Guarantor(PeerId),
    /// `R` proven shards (CE 138), reconstructed.
    Shards,
}

/// A bundle to audit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fetched {
    /// The auditable bundle, `l` octets.
    pub bundle: Vec<u8>,
    /// Where it came from.
    pub source: Source,
    /// For a bundle rebuilt from shards, its share of the batched rebuild's time
    /// (the kernel call's nanoseconds over the bundles it rebuilt); 0 otherwise.
    pub rebuild_nanos: u64,
}

/// Why a bundle could not be had.
#[derive(Debug, thiserror::Error)]
pub enum BundleFetchError {
    /// Fewer than `R` assurers served proven shards.
    #[error("only {got} of the {needed} proven bundle shards needed could be fetched")]
    TooFewShards {
        /// Shards fetched.
        got: usize,
        /// `R`.
        needed: usize,
    },
    /// The shards did not rebuild a bundle (an inconsistent erasure root included).
    #[error(transparent)]
    Reconstruct(#[from] ReconstructError),
}

/// A job after its requests: a guarantor's bundle, or the proven shards fetched.
type Outcome = Result<Fetched, Vec<(Holder, Vec<u8>)>>;

/// Where a bundle fetch reports what it asks and rebuilds, per report (by its
/// hash): a node turns them into JIP-3's bundle-recovery events, the auditor's
/// side (140–153).
pub trait BundleEvents: Send + Sync + 'static {
    /// CE 147: the request for `report`'s bundle to guarantor `peer` is being
    /// sent; the token names it to [`Self::bundle_request_finished`].
    fn sending_bundle_request(&self, report: &Hash, peer: &PeerId) -> u64;
    /// The CE 147 request `token` brought the report's bundle (`Ok`), or failed,
    /// with the reason — a bundle that is not the report's included.
    fn bundle_request_finished(&self, token: u64, outcome: Result<(), String>);
    /// CE 138: the request for bundle shard `shard_index` of `report` to
    /// assurer `peer` is being sent; the token names it to
    /// [`Self::shard_request_finished`].
    fn sending_shard_request(&self, report: &Hash, peer: &PeerId, shard_index: u16) -> u64;
    /// The CE 138 request `token` brought a shard that proves (`Ok`), or failed.
    fn shard_request_finished(&self, token: u64, outcome: Result<(), String>);
    /// `report`'s bundle is being rebuilt from shards; `trivial` when they are
    /// all original-data shards (indices below `R`: no decoding needed).
    fn reconstructing(&self, report: &Hash, trivial: bool);
    /// `report`'s rebuild succeeded (`Ok`) or failed, with the reason.
    fn reconstructed(&self, report: &Hash, outcome: Result<(), String>);
}

/// Reports nothing.
impl BundleEvents for () {
    fn sending_bundle_request(&self, _: &Hash, _: &PeerId) -> u64 {
        0
    }
    fn bundle_request_finished(&self, _: u64, _: Result<(), String>) {}
    fn sending_shard_request(&self, _: &Hash, _: &PeerId, _: u16) -> u64 {
        0
    }
    fn shard_request_finished(&self, _: u64, _: Result<(), String>) {}
    fn reconstructing(&self, _: &Hash, _: bool) {}
    fn reconstructed(&self, _: &Hash, _: Result<(), String>) {}
}

/// One report's CE 138 requests, as the fetch in `tessera_da` reports them.
struct ShardEventsOf {
    events: Arc<dyn BundleEvents>,
    report: Hash,
}

impl AuditShardEvents for ShardEventsOf {
    fn sending(&self, peer: &PeerId, shard_index: u16) -> u64 {
        self.events
            .sending_shard_request(&self.report, peer, shard_index)
    }
    fn finished(&self, token: u64, outcome: Result<(), String>) {
        self.events.shard_request_finished(token, outcome);
    }
}

/// The bundle of every job, in order: from a guarantor where one serves the report's
/// bundle, else rebuilt from shards — every rebuild of the call in one kernel call.
pub async fn fetch_bundles(
    network: &Network,
    spec: &ChainSpec,
    backend: Backend,
    jobs: &[BundleFetch],
) -> Vec<Result<Fetched, BundleFetchError>> {
    fetch_bundles_observed(network, spec, backend, jobs, Arc::new(())).await
}

/// [`fetch_bundles`], reporting each request and rebuild to `events`.
pub async fn fetch_bundles_observed(
    network: &Network,
    spec: &ChainSpec,
    backend: Backend,
    jobs: &[BundleFetch],
    events: Arc<dyn BundleEvents>,
) -> Vec<Result<Fetched, BundleFetchError>> {
    // Every job at once: CE 147 from its guarantors, then CE 138 shards if needed.
    let mut pending = JoinSet::new();
    for (n, job) in jobs.iter().enumerate() {
        let (network, spec, job) = (network.clone(), spec.clone(), job.clone());
        let events = events.clone();
        pending.spawn(async move {
            if let Some(fetched) = from_guarantors(&network, &spec, &job, &*events).await {
                return (n, Ok(fetched));
            }
            let root = job.report.package_spec.erasure_root;
            let shard_events = Arc::new(ShardEventsOf {
                events,
                report: job.report.hash(),
            });
            let shards =
                fetch_audit_shards_observed(&network, &spec, &root, &job.assurers, shard_events)
                    .await;
            (n, Err(shards))
        });
    }
    let mut outcomes: Vec<Option<Outcome>> = jobs.iter().map(|_| None).collect();
    while let Some(joined) = pending.join_next().await {
        match joined {
            Ok((n, outcome)) => {
                if let Some(slot) = outcomes.get_mut(n) {
                    *slot = Some(outcome);
                }
            }
            Err(error) => warn!(%error, "bundle fetch task failed"),
        }
    }

    // The rebuilds, together.
    let needed = spec.erasure_originals();
    let shard_lists: Vec<Vec<(usize, &[u8])>> = outcomes
        .iter()
        .map(|o| match o {
            Some(Err(shards)) if shards.len() >= needed => shards
                .iter()
                .map(|(h, s)| (usize::from(h.shard_index), s.as_slice()))
                .collect(),
            _ => Vec::new(),
        })
        .collect();
    let rebuild: Vec<(usize, BundleShards<'_>)> = shard_lists
        .iter()
        .zip(jobs)
        .enumerate()
        .filter(|(_, (shards, _))| !shards.is_empty())
        .map(|(n, (shards, job))| {
            let bundle_len = job.report.package_spec.length as usize;
            (n, BundleShards { shards, bundle_len })
        })
        .collect();
    let batch: Vec<BundleShards<'_>> = rebuild.iter().map(|(_, j)| *j).collect();
    for (n, shards) in &rebuild {
        let trivial = shards.shards.iter().all(|(i, _)| *i < needed);
        events.reconstructing(&jobs[*n].report.hash(), trivial);
    }
    let mut rebuilt: Vec<Option<Result<Vec<u8>, ReconstructError>>> =
        jobs.iter().map(|_| None).collect();
    let started = std::time::Instant::now();
    let results = bundles(spec, backend, &batch);
    let share = u64::try_from(started.elapsed().as_nanos() / batch.len().max(1) as u128)
        .unwrap_or(u64::MAX);
    for ((n, _), result) in rebuild.iter().zip(results) {
        events.reconstructed(
            &jobs[*n].report.hash(),
            result.as_ref().map(|_| ()).map_err(|e| e.to_string()),
        );
        if let Some(slot) = rebuilt.get_mut(*n) {
            *slot = Some(result);
        }
    }

    outcomes
        .into_iter()
        .zip(rebuilt)
        .map(|(outcome, rebuilt)| match (outcome, rebuilt) {
            (Some(Ok(fetched)), _) => Ok(fetched),
            (_, Some(result)) => Ok(Fetched {
                bundle: result?,
                source: Source::Shards,
                rebuild_nanos: share,
            }),
            (Some(Err(shards)), None) => Err(BundleFetchError::TooFewShards {
                got: shards.len(),
                needed,
            }),
            (None, None) => Err(BundleFetchError::TooFewShards { got: 0, needed }),
        })
        .collect()
}

/// CE 147 from each guarantor in turn, until one serves the report's bundle.
async fn from_guarantors(
    network: &Network,
    spec: &ChainSpec,
    job: &BundleFetch,
    events: &dyn BundleEvents,
) -> Option<Fetched> {
    let spec_of = &job.report.package_spec;
    let report = job.report.hash();
    for peer in &job.guarantors {
        let token = events.sending_bundle_request(&report, peer);
        let bundle = match network
            .request::<BundleRequest>(peer, &spec_of.erasure_root)
            .await
        {
            Ok(raw) => raw.0,
            Err(error) => {
                events.bundle_request_finished(token, Err(error.to_string()));
                warn!(%peer, %error, "CE 147 bundle request failed; trying the next guarantor");
                continue;
            }
        };
        let checked = is_reports_bundle(spec, &job.report, &bundle);
        events.bundle_request_finished(
            token,
            checked
                .as_ref()
                .map(|_| ())
                .map_err(|reason| format!("not the report's bundle: {reason}")),
        );
        match checked {
            Ok(()) => {
                return Some(Fetched {
                    bundle,
                    source: Source::Guarantor(*peer),
                    rebuild_nanos: 0,
                })
            }
            Err(reason) => warn!(
                %peer,
                erasure_root = %spec_of.erasure_root,
                %reason,
                "a guarantor served a bundle that is not its report's; not using it"
            ),
        }
    }
    None
}

/// The bundle is the report's: of its length, decoding strictly, with the report's
/// package hash, extrinsics and imports.
fn is_reports_bundle(spec: &ChainSpec, report: &WorkReport, bundle: &[u8]) -> Result<(), String> {
    if bundle.len() != report.package_spec.length as usize {
        return Err(format!(
            "{} octets where the report says {}",
            bundle.len(),
            report.package_spec.length
        ));
    }
    let decoded = Bundle::decode(spec, bundle).map_err(|e| e.to_string())?;
    if decoded.encode() != bundle {
        return Err("not canonically encoded".into());
    }
    check_data(report, &decoded).map_err(|e| e.to_string())
}

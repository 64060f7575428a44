//! Import DA: a guarantor fetching the segments a work package imports, GP §14.3
//! ("the import of segments") and JAMNP-S CE 139/140.
//!
//! A package that exported `n` segments `s` was coded as `s ⌢ P(s)` (GP (14.16)): the
//! `n` segments, then `⌈n/64⌉` proof pages, each holding the page's justification
//! `J_6` to the segments root and its leaves `L_6` (GP eq. `pagedproofs`). Every
//! validator holds its shard of each. To import segment `i`, a guarantor fetches the
//! shards of segment `i` and of page `n + ⌊i/64⌋` from `R` assurers, rebuilds both,
//! and checks the segment against the page and the page against the segments root.
//!
//! JAMNP-S: "Guarantors should initially use protocol 139 to fetch segment shards. If
//! a reconstructed import segment is inconsistent with its reconstructed proof, the
//! segment and proof should be reconstructed again, using shards retrieved with
//! protocol 140 [...] requesting shards from a different assurer in the case of an
//! incorrect response. If the reconstructed segment and proof are still
//! inconsistent, then it can be concluded that the erasure root is invalid." That is
//! [`import_segments`]: CE 139 from `R` assurers at once, then for a failed check CE
//! 140 with every shard proven to the erasure root before use, and
//! [`ImportError::InvalidErasureRoot`] when proven shards still disagree.
//!
//! All segments fetched from one set of assurers are rebuilt in one kernel call
//! (`reconstruct_many`: one job per segment, in parallel).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use tessera_core::codec::{Decode, Reader};
use tessera_core::hash::{blake2b_256, Hash};
use tessera_core::merkle::constant_depth::{
    leaf_hash, leaf_paths, page_root, root_from_justification,
};
use tessera_core::spec::ChainSpec;
use tessera_kernels::erasure::{reconstruct_many, Rebuild};
use tessera_kernels::{Backend, ErasureError};
use tessera_net::messages::{
    JustifiedSegmentShardRequest, SegmentShardRequest, SegmentShardRequestItem,
    SegmentShardRequestProtocol,
};
use tessera_net::{Network, PeerId};
use tracing::warn;

use crate::availability::{PAGE_LOG, PAGE_SEGMENTS};
pub use crate::fetch::Holder;
use crate::fetch::{gather, FetchError};
use crate::justification::verify_segment_shard;

/// The package whose exports are imported, as its availability specifier gives it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExportedBy {
    /// `u`: the erasure root.
    pub erasure_root: Hash,
    /// `e`: the segments root.
    pub segments_root: Hash,
    /// `n`: the number of segments it exported.
    pub export_count: u16,
}

/// A segment imported and proven: with its import proof `J₀` to the segments root
/// (GP (14.14)), as a bundle carries it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportedSegment {
    /// The segment's index among the package's exports.
    pub index: u16,
    /// The segment, `W_G` octets.
    pub segment: Vec<u8>,
    /// `J₀(s, index)`: the path to the segments root, top first.
    pub proof: Vec<Hash>,
}

/// Why an import failed.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// A wanted index is not among the package's exports.
    #[error("segment {index} is not among the {export_count} the package exported")]
    NotExported {
        /// The index asked for.
        index: u16,
        /// `n`.
        export_count: u16,
    },
    /// Fewer than `R` assurers answered (CE 139) or answered with proven shards (CE 140).
    #[error("{got} assurers of {needed} needed served {what} ({tried} tried)")]
    TooFewHolders {
        /// The distinct shard indices that answered well.
        got: usize,
        /// `R`.
        needed: usize,
        /// Holders asked.
        tried: usize,
        /// Which round.
        what: &'static str,
    },
    /// Decoding failed.
    #[error("rebuilding segments: {0}")]
    Erasure(#[from] ErasureError),
    /// Shards each proven to the erasure root rebuild segments that do not prove to the
    /// segments root: the guarantor of the exporting package coded inconsistently.
    #[error(
        "the erasure root {erasure_root} is invalid: proven shards rebuild segment {index}, \
         which does not prove to the segments root"
    )]
    InvalidErasureRoot {
        /// The erasure root.
        erasure_root: Hash,
        /// The first segment that failed.
        index: u16,
    },
}

/// Where an import reports each segment-shard request it makes (a node turns them
/// into JIP-3's sending-side events 162, then 165 and 167, or 164).
pub trait ImportEvents: Send + Sync + 'static {
    /// A request to `peer` (CE 140 when `justified`, else CE 139) for shard
    /// `shard_index` of `segments` (indices in `s ⌢ P(s)`: the exports, then the
    /// proof pages from `n`) is being sent; the token names it to [`Self::finished`].
    fn sending(&self, peer: &PeerId, justified: bool, segments: &[u16], shard_index: u16) -> u64;
    /// The request `token` was answered with shards of the right shape (and, for
    /// CE 140, each proven) — `Ok` — or failed, with the reason.
    fn finished(&self, token: u64, outcome: Result<(), String>);
}

/// Reports nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct Unobserved;

impl ImportEvents for Unobserved {
    fn sending(&self, _: &PeerId, _: bool, _: &[u16], _: u16) -> u64 {
        0
    }
    fn finished(&self, _: u64, _: Result<(), String>) {}
}

/// Import segments `wanted` of the package `from` from `holders` (CE 139, then CE 140
/// on an inconsistency), each proven to the segments root with its import proof, in
/// the order asked.
pub async fn import_segments(
    network: &Network,
    spec: &ChainSpec,
    backend: Backend,
    from: &ExportedBy,
    wanted: &[u16],
    holders: &[Holder],
) -> Result<Vec<ImportedSegment>, ImportError> {
    import_segments_observed(
        network,
        spec,
        backend,
        from,
        wanted,
        holders,
        Arc::new(Unobserved),
    )
    .await
}

/// [`import_segments`], reporting each request to `events`.
pub async fn import_segments_observed(
    network: &Network,
    spec: &ChainSpec,
    backend: Backend,
    from: &ExportedBy,
    wanted: &[u16],
    holders: &[Holder],
    events: Arc<dyn ImportEvents>,
) -> Result<Vec<ImportedSegment>, ImportError> {
    if let Some(&index) = wanted.iter().find(|&&i| i >= from.export_count) {
        return Err(ImportError::NotExported {
            index,
            export_count: from.export_count,
        });
    }
    // A request carries at most W_M segment indices in all, pages included.
    let pages = (spec.max_exports as usize).div_ceil(PAGE_SEGMENTS);
    let per_request = (spec.max_imports as usize).saturating_sub(pages).max(1);
    let mut out = Vec::with_capacity(wanted.len());
    for group in wanted.chunks(per_request) {
        out.extend(import_group(network, spec, backend, from, group, holders, &events).await?);
    }
    Ok(out)
}

/// [`import_segments`] for one request's worth of segments.
async fn import_group(
    network: &Network,
    spec: &ChainSpec,
    backend: Backend,
    from: &ExportedBy,
    wanted: &[u16],
    holders: &[Holder],
    events: &Arc<dyn ImportEvents>,
) -> Result<Vec<ImportedSegment>, ImportError> {
    let plan = Plan::new(from, wanted);
    let needed = spec.erasure_originals();

    // CE 139: no justification; the rebuilt pages check the rebuilt segments.
    let plain = gather(holders, needed, |h| {
        let network = network.clone();
        let request = plan.request(from, h.shard_index);
        let spec = spec.clone();
        let count = plan.fetched.len();
        let token = events.sending(&h.peer, false, &plan.fetched, h.shard_index);
        reported(events.clone(), token, async move {
            let got = network
                .request::<SegmentShardRequestProtocol>(&h.peer, &request)
                .await
                .map_err(|error| FetchError::Request {
                    peer: h.peer,
                    error,
                })?;
            check_shape(&spec, &h, &got.0, count)?;
            Ok(got.0)
        })
    })
    .await;
    if plain.len() >= needed {
        let rebuilt = rebuild(spec, backend, &plain, plan.fetched.len())?;
        match plan.prove(spec, from, &rebuilt) {
            Ok(segments) => return Ok(segments),
            Err(index) => warn!(
                erasure_root = %from.erasure_root,
                segment = index,
                "rebuilt segment inconsistent with its proof page; refetching over CE 140"
            ),
        }
    } else {
        warn!(
            erasure_root = %from.erasure_root,
            answered = plain.len(),
            "too few assurers served segment shards over CE 139; trying CE 140"
        );
    }

    // CE 140: every shard proven to the erasure root before use.
    let total = usize::from(from.export_count) + plan.page_count;
    let proven = gather(holders, needed, |h| {
        let network = network.clone();
        let request = plan.request(from, h.shard_index);
        let spec = spec.clone();
        let fetched = plan.fetched.clone();
        let erasure_root = from.erasure_root;
        let token = events.sending(&h.peer, true, &plan.fetched, h.shard_index);
        reported(events.clone(), token, async move {
            let got = network
                .request::<JustifiedSegmentShardRequest>(&h.peer, &request)
                .await
                .map_err(|error| FetchError::Request {
                    peer: h.peer,
                    error,
                })?;
            check_shape(&spec, &h, &got.shards.0, fetched.len())?;
            if got.justifications.len() != fetched.len() {
                return Err(FetchError::Malformed {
                    peer: h.peer,
                    reason: format!(
                        "{} justifications for {} segment shards",
                        got.justifications.len(),
                        fetched.len()
                    ),
                });
            }
            for ((segment, shard), justification) in
                fetched.iter().zip(&got.shards.0).zip(&got.justifications)
            {
                verify_segment_shard(
                    &spec,
                    &erasure_root,
                    usize::from(h.shard_index),
                    total,
                    usize::from(*segment),
                    shard,
                    justification,
                )
                .map_err(|error| FetchError::Invalid {
                    peer: h.peer,
                    error,
                })?;
            }
            Ok(got.shards.0)
        })
    })
    .await;
    if proven.len() < needed {
        return Err(ImportError::TooFewHolders {
            got: proven.len(),
            needed,
            tried: holders.len(),
            what: "segment shards proven to the erasure root (CE 140)",
        });
    }
    let rebuilt = rebuild(spec, backend, &proven, plan.fetched.len())?;
    plan.prove(spec, from, &rebuilt)
        .map_err(|index| ImportError::InvalidErasureRoot {
            erasure_root: from.erasure_root,
            index,
        })
}

/// `fetch`'s result, reported to `events` under `token` once it is known.
async fn reported<T>(
    events: Arc<dyn ImportEvents>,
    token: u64,
    fetch: impl std::future::Future<Output = Result<T, FetchError>>,
) -> Result<T, FetchError> {
    let got = fetch.await;
    events.finished(token, got.as_ref().map(|_| ()).map_err(ToString::to_string));
    got
}

/// What to fetch: the wanted segments and the proof pages that cover them.
struct Plan {
    /// The segment indices requested, in `s ⌢ P(s)`: the wanted ones, then pages.
    fetched: Vec<u16>,
    /// The wanted indices, in the caller's order.
    wanted: Vec<u16>,
    /// `⌈n/64⌉`.
    page_count: usize,
}

impl Plan {
    fn new(from: &ExportedBy, wanted: &[u16]) -> Plan {
        let n = usize::from(from.export_count);
        let unique: BTreeSet<u16> = wanted.iter().copied().collect();
        let pages: BTreeSet<u16> = unique
            .iter()
            .map(|&i| usize::from(i) / PAGE_SEGMENTS)
            .map(|p| (n + p) as u16)
            .collect();
        Plan {
            fetched: unique.into_iter().chain(pages).collect(),
            wanted: wanted.to_vec(),
            page_count: n.div_ceil(PAGE_SEGMENTS),
        }
    }

    fn request(&self, from: &ExportedBy, shard_index: u16) -> SegmentShardRequest {
        SegmentShardRequest(vec![SegmentShardRequestItem {
            erasure_root: from.erasure_root,
            shard_index,
            segment_indices: self.fetched.clone(),
        }])
    }

    /// Each wanted segment checked against its rebuilt page, and the page against the
    /// segments root; the first index that fails is the error.
    fn prove(
        &self,
        spec: &ChainSpec,
        from: &ExportedBy,
        rebuilt: &[Vec<u8>],
    ) -> Result<Vec<ImportedSegment>, u16> {
        let n = usize::from(from.export_count);
        let by_index: BTreeMap<u16, &Vec<u8>> = self.fetched.iter().copied().zip(rebuilt).collect();
        // Each page: its justification checked once, and the in-page paths for J₀.
        let mut pages: BTreeMap<usize, Option<ProvenPage>> = BTreeMap::new();
        self.wanted
            .iter()
            .map(|&index| {
                let i = usize::from(index);
                let p = i / PAGE_SEGMENTS;
                let page = pages.entry(p).or_insert_with(|| {
                    let octets = by_index.get(&((n + p) as u16))?;
                    ProvenPage::open(spec, octets, n, p, &from.segments_root)
                });
                let page = page.as_ref().ok_or(index)?;
                let segment = by_index.get(&index).ok_or(index)?;
                let at = i % PAGE_SEGMENTS;
                if page.leaves.get(at) != Some(&leaf_hash(segment, blake2b_256)) {
                    return Err(index);
                }
                let inner = page.paths.get(at).ok_or(index)?;
                Ok(ImportedSegment {
                    index,
                    segment: segment.to_vec(),
                    proof: page.justification.iter().chain(inner).copied().collect(),
                })
            })
            .collect()
    }
}

/// A proof page that proves to the segments root.
struct ProvenPage {
    /// `J_6`: from the segments root down to the page.
    justification: Vec<Hash>,
    /// `L_6`: the leaves of the page's segments.
    leaves: Vec<Hash>,
    /// Each leaf's path up the page's subtree, top first.
    paths: Vec<Vec<Hash>>,
}

impl ProvenPage {
    /// Page `p` of a package of `n` exports, decoded (`E(↕J_6, ↕L_6)` then zeros) and
    /// checked against `segments_root`; `None` when it does not prove.
    fn open(
        spec: &ChainSpec,
        octets: &[u8],
        n: usize,
        p: usize,
        segments_root: &Hash,
    ) -> Option<ProvenPage> {
        let mut reader = Reader::new(spec, octets);
        let justification = Vec::<Hash>::decode(&mut reader).ok()?;
        let leaves = Vec::<Hash>::decode(&mut reader).ok()?;
        let expected = n.saturating_sub(p * PAGE_SEGMENTS).min(PAGE_SEGMENTS);
        if leaves.len() != expected {
            return None;
        }
        let root = page_root(&leaves, n, PAGE_LOG, blake2b_256);
        if root_from_justification(root, p, &justification, blake2b_256).ok()? != *segments_root {
            return None;
        }
        // The page's subtree, padded to its width, for each leaf's J₀ below J_6.
        let width = PAGE_SEGMENTS.min(1 << tessera_core::merkle::constant_depth::depth(n));
        let mut padded = leaves.clone();
        padded.resize(width, Hash::ZERO);
        let paths = leaf_paths(padded, blake2b_256);
        Some(ProvenPage {
            justification,
            leaves,
            paths,
        })
    }
}

/// Each response must hold one shard per requested segment, each `2 · W_P` octets.
fn check_shape(
    spec: &ChainSpec,
    holder: &Holder,
    shards: &[Vec<u8>],
    count: usize,
) -> Result<(), FetchError> {
    let size = 2 * spec.segment_pieces as usize;
    if shards.len() != count || shards.iter().any(|s| s.len() != size) {
        return Err(FetchError::Malformed {
            peer: holder.peer,
            reason: format!(
                "{} segment shards where {count} of {size} octets were asked for",
                shards.len()
            ),
        });
    }
    Ok(())
}

/// Rebuild `count` segments from `R` (or more) assurers' shards in one kernel call.
fn rebuild(
    spec: &ChainSpec,
    backend: Backend,
    responses: &[(Holder, Vec<Vec<u8>>)],
    count: usize,
) -> Result<Vec<Vec<u8>>, ErasureError> {
    let per_segment: Vec<Vec<(usize, &[u8])>> = (0..count)
        .map(|k| {
            responses
                .iter()
                .filter_map(|(h, shards)| {
                    Some((usize::from(h.shard_index), shards.get(k)?.as_slice()))
                })
                .collect()
        })
        .collect();
    let jobs: Vec<Rebuild<'_>> = per_segment
        .iter()
        .map(|shards| Rebuild {
            shards,
            original_len: spec.segment_size as usize,
        })
        .collect();
    reconstruct_many(spec, backend, &jobs).into_iter().collect()
}

//! Serving availability data over JAMNP-S, from the [`ShardStore`]:
//!
//! - CE 137 (guarantor → assurer): the shard set of an index, with its
//!   justification — a guarantor stores the shard sets of every index
//!   ([`store_distributable`]).
//! - CE 138 (assurer → auditor): the bundle shard with the CE 137 justification
//!   and `s♣_i` appended.
//! - CE 139 / 140 (assurer → guarantor): segment shards by index, without and with
//!   per-shard justifications.
//! - CE 147 (guarantor → auditor): the whole bundle.
//! - CE 148 (guarantor → guarantor): exported segments with their import proofs.
//!
//! A request for data this node does not hold is refused, which resets the stream
//! (JAMNP-S: the responder "should reset the stream" when it cannot answer); nothing
//! is ever made up. Store reads run on tokio's blocking pool, off the I/O threads.

use std::sync::Arc;

use tessera_core::hash::Hash;
use tessera_net::messages::{
    AuditShardRequest, AuditShardResponse, BundleRequest, JustifiedSegmentShardRequest,
    JustifiedSegmentShards, Raw, SegmentRequest, SegmentRequestProtocol, SegmentResponse,
    SegmentShardRequest, SegmentShardRequestProtocol, SegmentShards, ShardDistribution,
    ShardRequest, ShardResponse,
};
use tessera_net::{Network, PeerId, Refusal};

use crate::justification;
use crate::package::{exported_segments, Distributable};
use crate::store::{ShardStore, Slot, StoreError};

/// A guarantor stores what it will serve of a package: every index's shard set
/// (CE 137), the bundle (CE 147) and the exported segments with their import
/// proofs (CE 148). `own`: the guarantor's own shard index for the package's
/// core, whose segment shards it keeps as an assurer does (the others' only
/// while assurers fetch them, [`ShardStore::put_guarantor_rows`]); `None`
/// keeps every index as long (a store serving every index, as the benches').
pub fn store_distributable<S: AsRef<[u8]>>(
    store: &ShardStore,
    package: &Distributable,
    bundle: &[u8],
    segments: &[S],
    now: Slot,
    own: Option<u16>,
) -> Result<(), StoreError> {
    // Every index in one write: the package is served whole or not at all.
    match own {
        Some(own) => store.put_guarantor_rows(&package.erasure_root, package.rows(), now, own)?,
        None => store.put_shard_rows(&package.erasure_root, package.rows(), now)?,
    }
    store.put_package(
        &package.erasure_root,
        bundle,
        &package.segments_root,
        &exported_segments(segments),
        now,
    )?;
    Ok(())
}

/// A request the handlers answer that the node reports (JIP-3's receiving-side
/// events: 121, 124, 125 and 122 for CE 137; 141, 144, 145 and 142 for CE 138; 149,
/// 152, 153 and 150 for CE 147; 163, 166, 167 and 164 for CE 139/140).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Served {
    /// CE 137: an assurer's shard set.
    ShardSet {
        /// The package's erasure root.
        erasure_root: Hash,
        /// The shard index asked for.
        shard_index: u16,
    },
    /// CE 138: an auditor's bundle shard.
    AuditShard {
        /// The package's erasure root.
        erasure_root: Hash,
        /// The shard index asked for.
        shard_index: u16,
    },
    /// CE 147: an auditor's whole bundle.
    Bundle {
        /// The package's erasure root.
        erasure_root: Hash,
    },
    /// CE 139 or CE 140: a guarantor's segment shards.
    SegmentShards {
        /// CE 140 (with justifications) rather than CE 139.
        justified: bool,
        /// The segment shards asked for, all items together.
        shards: u16,
    },
}

/// Where the handlers report the requests of [`Served`] kinds: each is `received`
/// once it is decoded and `answered` once its response is ready (or it is refused,
/// with the reason), in that order, with the token `received` returned.
pub trait ServeEvents: Send + Sync + 'static {
    /// `request` from `peer` arrived; the token identifies it to [`Self::answered`].
    fn received(&self, peer: &PeerId, request: Served) -> u64;
    /// The request `token` was answered (`Ok`) or refused (`Err(reason)`).
    fn answered(&self, token: u64, request: Served, outcome: Result<(), &str>);
}

/// Reports nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct Unobserved;

impl ServeEvents for Unobserved {
    fn received(&self, _peer: &PeerId, _request: Served) -> u64 {
        0
    }
    fn answered(&self, _token: u64, _request: Served, _outcome: Result<(), &str>) {}
}

/// Run `answer` for `request` from `peer`, reporting it to `events` before and after.
async fn reported<T>(
    events: &dyn ServeEvents,
    peer: &PeerId,
    request: Served,
    answer: impl std::future::Future<Output = Result<T, Refusal>>,
) -> Result<T, Refusal> {
    let token = events.received(peer, request);
    let result = answer.await;
    let outcome = result.as_ref().map(|_| ()).map_err(|e| e.0.as_str());
    events.answered(token, request, outcome);
    result
}

/// Register the CE 137, 138, 139, 140, 147 and 148 handlers on `network`, answering
/// from `store`, reporting nothing.
pub fn register(network: &Network, store: Arc<ShardStore>) {
    register_observed(network, store, Arc::new(Unobserved));
}

/// [`register`], reporting the requests of [`Served`] kinds to `events`.
pub fn register_observed(network: &Network, store: Arc<ShardStore>, events: Arc<dyn ServeEvents>) {
    let s = store.clone();
    let ev = events.clone();
    network.register::<ShardDistribution, _, _>(move |peer, req: ShardRequest| {
        let (s, ev) = (s.clone(), ev.clone());
        let served = Served::ShardSet {
            erasure_root: req.erasure_root,
            shard_index: req.shard_index,
        };
        let answer = blocking(move || {
            let set = s
                .shard_set(&req.erasure_root, req.shard_index)
                .map_err(refuse)?
                .ok_or_else(|| not_held("shard set", &req.erasure_root, req.shard_index))?;
            Ok(ShardResponse {
                bundle_shard: set.bundle_shard,
                segment_shards: SegmentShards(set.segment_shards),
                justification: set.justification,
            })
        });
        async move { reported(&*ev, &peer, served, answer).await }
    });

    let s = store.clone();
    let ev = events.clone();
    network.register::<AuditShardRequest, _, _>(move |peer, req: ShardRequest| {
        let (s, ev) = (s.clone(), ev.clone());
        let served = Served::AuditShard {
            erasure_root: req.erasure_root,
            shard_index: req.shard_index,
        };
        let answer = blocking(move || {
            let (root, index) = (&req.erasure_root, req.shard_index);
            let missing = || not_held("bundle shard", root, index);
            // b♣_i, s♣_i and the CE 137 justification are stored together: no
            // segment shard is read or hashed to answer.
            let bundle_shard = s
                .bundle_shard(root, index)
                .map_err(refuse)?
                .ok_or_else(missing)?;
            let j137 = s
                .justification(root, index)
                .map_err(refuse)?
                .ok_or_else(missing)?;
            let s_root = s
                .segment_shards_root(root, index)
                .map_err(refuse)?
                .ok_or_else(missing)?;
            Ok(AuditShardResponse {
                bundle_shard,
                justification: justification::audit_shard(&j137, s_root),
            })
        });
        async move { reported(&*ev, &peer, served, answer).await }
    });

    let s = store.clone();
    let ev = events.clone();
    network.register::<SegmentShardRequestProtocol, _, _>(move |peer, req: SegmentShardRequest| {
        let (s, ev) = (s.clone(), ev.clone());
        let served = segment_shards_served(&req, false);
        let answer = blocking(move || segment_shards(&s, &req, false).map(|(shards, _)| shards));
        async move { reported(&*ev, &peer, served, answer).await }
    });

    let s = store.clone();
    let ev = events.clone();
    network.register::<JustifiedSegmentShardRequest, _, _>(
        move |peer, req: SegmentShardRequest| {
            let (s, ev) = (s.clone(), ev.clone());
            let served = segment_shards_served(&req, true);
            let answer = blocking(move || {
                segment_shards(&s, &req, true).map(|(shards, justifications)| {
                    JustifiedSegmentShards {
                        shards,
                        justifications,
                    }
                })
            });
            async move { reported(&*ev, &peer, served, answer).await }
        },
    );

    let s = store.clone();
    network.register::<BundleRequest, _, _>(move |peer, erasure_root: Hash| {
        let (s, ev) = (s.clone(), events.clone());
        let answer = blocking(move || {
            s.bundle(&erasure_root)
                .map_err(refuse)?
                .map(Raw)
                .ok_or_else(|| Refusal(format!("no bundle held for erasure root {erasure_root}")))
        });
        async move { reported(&*ev, &peer, Served::Bundle { erasure_root }, answer).await }
    });

    let s = store;
    network.register::<SegmentRequestProtocol, _, _>(move |_peer, req: SegmentRequest| {
        let s = s.clone();
        blocking(move || {
            let mut out = SegmentResponse::default();
            for item in &req.0 {
                for &i in &item.segment_indices {
                    let seg = s
                        .segment(&item.segments_root, i)
                        .map_err(refuse)?
                        .ok_or_else(|| {
                            Refusal(format!(
                                "no segment {i} held for segments root {}",
                                item.segments_root
                            ))
                        })?;
                    out.segments.push(seg.segment);
                    out.import_proofs.push(seg.proof);
                }
            }
            Ok(out)
        })
    });
}

/// What a CE 139 (or, `justified`, CE 140) request asks, as [`Served`] reports it.
fn segment_shards_served(req: &SegmentShardRequest, justified: bool) -> Served {
    let shards: usize = req.0.iter().map(|i| i.segment_indices.len()).sum();
    Served::SegmentShards {
        justified,
        shards: u16::try_from(shards).unwrap_or(u16::MAX),
    }
}

/// CE 139/140: the requested segment shards, and with `justify` their CE 140
/// justifications (`j ⌢ [b♣_i] ⌢ T(s, k, H)`).
fn segment_shards(
    store: &ShardStore,
    req: &SegmentShardRequest,
    justify: bool,
) -> Result<(SegmentShards, Vec<tessera_net::messages::Justification>), Refusal> {
    let mut shards = Vec::new();
    let mut justifications = Vec::new();
    for item in &req.0 {
        let (root, index) = (&item.erasure_root, item.shard_index);
        // Segment shards outlive the bundle shard (GP 14.3): read them, and for
        // CE 140 the stored b♣_i and justification, not the whole shard set.
        let held = store
            .segment_shards(root, index)
            .map_err(refuse)?
            .ok_or_else(|| not_held("segment shards", root, index))?;
        let proof = if justify {
            let proof = store.proof(root, index).map_err(refuse)?;
            Some(proof.ok_or_else(|| not_held("justification", root, index))?)
        } else {
            None
        };
        for &k in &item.segment_indices {
            let k = usize::from(k);
            let shard = held.get(k).ok_or_else(|| {
                Refusal(format!(
                    "segment {k} is outside the {} held for {root} shard {index}",
                    held.len()
                ))
            })?;
            shards.push(shard.clone());
            if let Some(proof) = &proof {
                let j = justification::segment_shard(
                    &proof.justification,
                    proof.bundle_shard_hash,
                    &held,
                    k,
                )
                .map_err(|e| Refusal(e.to_string()))?;
                justifications.push(j);
            }
        }
    }
    Ok((SegmentShards(shards), justifications))
}

fn not_held(what: &str, root: &Hash, index: u16) -> Refusal {
    Refusal(format!(
        "no {what} held for erasure root {root} index {index}"
    ))
}

fn refuse(e: StoreError) -> Refusal {
    tracing::warn!(error = %e, "availability store read failed");
    Refusal(format!("store: {e}"))
}

/// Run a store read on the blocking pool.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, Refusal> + Send + 'static,
) -> Result<T, Refusal> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Err(Refusal(format!("store task failed: {e}"))))
}

//! Fetching availability data over JAMNP-S, each response verified before use:
//!
//! - [`fetch_shard_set`] (assurer, CE 137): a validator's shard set from the
//!   report's guarantors, tried in turn until one proves to the erasure root; it
//!   is then stored in one write.
//! - [`fetch_audit_shard`] (auditor, CE 138): one bundle shard from an assurer;
//!   [`fetch_audit_shards`]: `R` of them from as many assurers at once, for a
//!   reconstruction ([`fetch_audit_shards_observed`] reports each request to
//!   [`AuditShardEvents`]).
//!
//! A peer whose response does not prove to the root is logged by name and passed
//! over for the next; only a verified shard is ever stored or returned.

use std::future::Future;
use std::sync::Arc;

use tessera_core::hash::Hash;
use tessera_core::spec::ChainSpec;
use tessera_net::messages::{AuditShardRequest, ShardDistribution, ShardRequest};
use tessera_net::{Network, PeerId, Protocol, RequestError};
use tokio::task::JoinSet;
use tracing::{debug, warn};

use crate::justification::{verify_audit_shard, verify_bundle_shard, JustificationError};
use crate::store::{ShardRow, ShardSet, ShardStore, Slot, StoreError};

/// Why a fetch failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The request failed (timeout, reset, refused, undecodable).
    #[error("request to {peer}: {error}")]
    Request {
        /// The peer asked.
        peer: PeerId,
        /// What went wrong.
        error: RequestError,
    },
    /// The response did not prove to the erasure root.
    #[error("{peer} served a shard that does not prove to the erasure root: {error}")]
    Invalid {
        /// The peer that served it.
        peer: PeerId,
        /// Why it does not prove.
        error: JustificationError,
    },
    /// The response has the wrong shape (counts or sizes not as asked).
    #[error("{peer} sent a malformed response: {reason}")]
    Malformed {
        /// The peer that sent it.
        peer: PeerId,
        /// What was wrong.
        reason: String,
    },
    /// Every peer was tried and none served a proven shard.
    #[error("no peer of {tried} served a proven shard (last: {last})")]
    Exhausted {
        /// How many peers were tried.
        tried: usize,
        /// The last failure.
        last: Box<FetchError>,
    },
    /// No peer to ask.
    #[error("no peer to fetch from")]
    NoPeers,
    /// Storing the verified shard failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// CE 137 from one guarantor: shard `index` of `erasure_root`, verified.
pub async fn fetch_shard_set_from(
    network: &Network,
    spec: &ChainSpec,
    peer: &PeerId,
    erasure_root: &Hash,
    index: u16,
) -> Result<ShardSet, FetchError> {
    fetch_proven_shard_set(network, spec, peer, erasure_root, index)
        .await
        .map(|(set, _)| set)
}

/// [`fetch_shard_set_from`], with the `s♣_index` the set proved.
async fn fetch_proven_shard_set(
    network: &Network,
    spec: &ChainSpec,
    peer: &PeerId,
    erasure_root: &Hash,
    index: u16,
) -> Result<(ShardSet, Hash), FetchError> {
    let response = shard_request::<ShardDistribution>(network, peer, erasure_root, index).await?;
    let set = ShardSet {
        bundle_shard: response.bundle_shard,
        segment_shards: response.segment_shards.0,
        justification: response.justification,
    };
    let segment_shards_root = verify_bundle_shard(
        spec,
        erasure_root,
        usize::from(index),
        &set.bundle_shard,
        &set.segment_shards,
        &set.justification,
    )
    .map_err(|error| FetchError::Invalid { peer: *peer, error })?;
    Ok((set, segment_shards_root))
}

/// The assurer's fetch: shard `index` of `erasure_root` from the first of
/// `guarantors` that serves one that proves, stored at slot `now` (one write).
pub async fn fetch_shard_set(
    network: &Network,
    store: &ShardStore,
    guarantors: &[PeerId],
    erasure_root: &Hash,
    index: u16,
    now: Slot,
) -> Result<ShardSet, FetchError> {
    let spec = store.spec();
    let (set, segment_shards_root) = first_proven(guarantors, |peer| async move {
        fetch_proven_shard_set(network, spec, &peer, erasure_root, index).await
    })
    .await?;
    let segment_shards = set.segment_shards.concat();
    let row = ShardRow {
        index,
        bundle_shard: &set.bundle_shard,
        segment_shards: &segment_shards,
        segment_shards_root,
        justification: &set.justification,
    };
    store.put_shard_rows(erasure_root, [row], now)?;
    Ok(set)
}

/// CE 138 from one assurer: bundle shard `index` of `erasure_root`, verified.
pub async fn fetch_audit_shard(
    network: &Network,
    spec: &ChainSpec,
    peer: &PeerId,
    erasure_root: &Hash,
    index: u16,
) -> Result<Vec<u8>, FetchError> {
    let response = shard_request::<AuditShardRequest>(network, peer, erasure_root, index).await?;
    verify_audit_shard(
        spec,
        erasure_root,
        usize::from(index),
        &response.bundle_shard,
        &response.justification,
    )
    .map_err(|error| FetchError::Invalid { peer: *peer, error })?;
    Ok(response.bundle_shard)
}

/// An assurer to ask, and the shard index it holds of the package's core
/// ([`crate::assignment::shard_index`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Holder {
    /// The assurer's endpoint.
    pub peer: PeerId,
    /// The shard index it holds.
    pub shard_index: u16,
}

/// CE 138 from `holders`, `R` at a time: `R` bundle shards of `erasure_root`, each
/// proven to it, from distinct shard indices (a holder that fails or serves a shard
/// that does not prove is logged and replaced by the next). Fewer come back when too
/// few holders serve.
pub async fn fetch_audit_shards(
    network: &Network,
    spec: &ChainSpec,
    erasure_root: &Hash,
    holders: &[Holder],
) -> Vec<(Holder, Vec<u8>)> {
    fetch_audit_shards_observed(network, spec, erasure_root, holders, Arc::new(())).await
}

/// Where an audit-shard fetch reports each CE 138 request it makes (a node turns
/// them into JIP-3's sending-side events 140, then 143 and 145, or 142).
pub trait AuditShardEvents: Send + Sync + 'static {
    /// A request to `peer` for bundle shard `shard_index` is being sent; the
    /// token names it to [`Self::finished`].
    fn sending(&self, peer: &PeerId, shard_index: u16) -> u64;
    /// The request `token` was answered with a shard that proves (`Ok`), or
    /// failed, with the reason.
    fn finished(&self, token: u64, outcome: Result<(), String>);
}

/// Reports nothing.
impl AuditShardEvents for () {
    fn sending(&self, _: &PeerId, _: u16) -> u64 {
        0
    }
    fn finished(&self, _: u64, _: Result<(), String>) {}
}

/// [`fetch_audit_shards`], reporting each request to `events`. Every request
/// made is reported finished: `R` are in flight at most, and the fetch ends
/// only when none is.
pub async fn fetch_audit_shards_observed(
    network: &Network,
    spec: &ChainSpec,
    erasure_root: &Hash,
    holders: &[Holder],
    events: Arc<dyn AuditShardEvents>,
) -> Vec<(Holder, Vec<u8>)> {
    gather(holders, spec.erasure_originals(), |h| {
        let (network, spec, root) = (network.clone(), spec.clone(), *erasure_root);
        let events = events.clone();
        async move {
            let token = events.sending(&h.peer, h.shard_index);
            let got = fetch_audit_shard(&network, &spec, &h.peer, &root, h.shard_index).await;
            events.finished(token, got.as_ref().map(|_| ()).map_err(|e| e.to_string()));
            got
        }
    })
    .await
}

/// A CE 137 or 138 request, `Erasure Root ++ Shard Index`, to `peer`.
async fn shard_request<P: Protocol<Request = ShardRequest>>(
    network: &Network,
    peer: &PeerId,
    erasure_root: &Hash,
    index: u16,
) -> Result<P::Response, FetchError> {
    let request = ShardRequest {
        erasure_root: *erasure_root,
        shard_index: index,
    };
    network
        .request::<P>(peer, &request)
        .await
        .map_err(|error| FetchError::Request { peer: *peer, error })
}

/// Try `peers` in order until `fetch` succeeds; each failure is logged (debug:
/// a peer without the shard is routine when the list goes beyond the holders;
/// the caller reports the exhausted case) naming the peer.
async fn first_proven<T, F, Fut>(peers: &[PeerId], mut fetch: F) -> Result<T, FetchError>
where
    F: FnMut(PeerId) -> Fut,
    Fut: std::future::Future<Output = Result<T, FetchError>>,
{
    let mut last = None;
    for peer in peers {
        match fetch(*peer).await {
            Ok(t) => return Ok(t),
            Err(e) => {
                debug!(%peer, error = %e, "shard fetch failed; trying the next peer");
                last = Some(e);
            }
        }
    }
    match last {
        None => Err(FetchError::NoPeers),
        Some(last) => Err(FetchError::Exhausted {
            tried: peers.len(),
            last: Box::new(last),
        }),
    }
}

/// Ask holders, `needed` at a time, until `needed` have answered well or none is
/// left; each failure is logged naming the peer and replaced by the next holder.
/// At most one holder per shard index is asked at a time, and none for an index
/// already got: a holder listed after another of its index is a fallback, asked
/// only if that one fails (a reconstruction needs distinct indices).
pub(crate) async fn gather<T, F, Fut>(
    holders: &[Holder],
    needed: usize,
    mut fetch: F,
) -> Vec<(Holder, T)>
where
    T: Send + 'static,
    F: FnMut(Holder) -> Fut,
    Fut: Future<Output = Result<T, FetchError>> + Send + 'static,
{
    let mut pending = JoinSet::new();
    let mut left: Vec<Holder> = holders.to_vec();
    // Shard indices got or being asked for.
    let mut taken = std::collections::BTreeSet::new();
    let mut got = Vec::new();
    loop {
        while got.len() + pending.len() < needed {
            let Some(at) = left.iter().position(|h| !taken.contains(&h.shard_index)) else {
                break;
            };
            let h = left.remove(at);
            taken.insert(h.shard_index);
            let fut = fetch(h);
            pending.spawn(async move { (h, fut.await) });
        }
        let Some(joined) = pending.join_next().await else {
            return got;
        };
        match joined {
            Ok((h, Ok(t))) => got.push((h, t)),
            Ok((h, Err(error))) => {
                taken.remove(&h.shard_index);
                warn!(peer = %h.peer, shard = h.shard_index, %error, "assurer's response refused; asking the next");
            }
            Err(error) => warn!(%error, "fetch task failed"),
        }
        if got.len() >= needed {
            pending.abort_all();
            return got;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tessera_core::crypto::ed25519::PublicKey;
    use tessera_core::ByteArray;

    use super::*;

    fn holder(tag: u8, shard_index: u16) -> Holder {
        Holder {
            peer: PeerId(PublicKey(ByteArray([tag; 32]))),
            shard_index,
        }
    }

    /// `gather` over `holders`, where the peers tagged in `failing` refuse:
    /// who was asked, in order, and who answered.
    async fn run(holders: &[Holder], failing: &[u8], needed: usize) -> (Vec<u8>, Vec<u8>) {
        let asked = Arc::new(Mutex::new(Vec::new()));
        let got = gather(holders, needed, |h| {
            let asked = asked.clone();
            let fails = failing.contains(&h.peer.0 .0 .0[0]);
            async move {
                asked.lock().unwrap().push(h.peer.0 .0 .0[0]);
                if fails {
                    Err(FetchError::NoPeers)
                } else {
                    Ok(())
                }
            }
        })
        .await;
        let asked = asked.lock().unwrap().clone();
        (asked, got.iter().map(|(h, ())| h.peer.0 .0 .0[0]).collect())
    }

    /// A second holder of a shard index is a fallback: asked only when the first
    /// fails, never beside it, so the shards got have distinct indices.
    #[tokio::test]
    async fn a_second_holder_of_an_index_is_asked_only_if_the_first_fails() {
        let holders = [holder(1, 0), holder(2, 0), holder(3, 1), holder(4, 1)];
        let (asked, mut got) = run(&holders, &[], 2).await;
        got.sort_unstable();
        assert_eq!(got, [1, 3]);
        assert!(!asked.contains(&2) && !asked.contains(&4), "{asked:?}");

        let (asked, mut got) = run(&holders, &[1], 2).await;
        got.sort_unstable();
        assert_eq!(got, [2, 3], "the fallback of index 0 answered");
        assert!(asked.contains(&2) && !asked.contains(&4), "{asked:?}");

        let (_, got) = run(&holders, &[1, 2], 2).await;
        assert_eq!(got, [3], "no holder of index 0 answered");
    }
}

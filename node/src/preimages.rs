//! The preimage pool (GP v0.7.2 §12.4, JAMNP-S CE 142/143): preimages that
//! services have solicited on chain, waiting for a block author to put them in
//! the preimages extrinsic `E_P`.
//!
//! - **Admission** (GP §12.4, 12.35–12.38): a preimage `p` for service `s` is
//!   pooled only if `s` awaits it in the given state — the lookup entry
//!   `δ[s]_l[(H(p), |p|)] = []` and `H(p) ∉ K(δ[s]_p)` — the very check the
//!   preimages transition makes ([`tessera_state::stf::preimages::awaited`]), so
//!   that what the pool offers is what a block may carry. The GP puts no bound on
//!   a preimage's size; the pool takes at most `W_C` octets per preimage (the
//!   largest a service's code may be) and a bounded total.
//! - **Authoring** ([`PreimagePool::extrinsic`]): every pooled preimage still
//!   awaited in the parent's state, ordered and unique by `(s, p)` as GP 12.4
//!   requires (`E_P = [i ⇅ i ∈ E_P]`: by service, then by the data), within the
//!   `W_B` octets the network allows a block's preimages (`tessera_net`'s block
//!   bound).
//! - **Pruning** ([`PreimagePool::prune`]): once a new best state no longer
//!   awaits a preimage (it was provided, or the request was dropped), it goes.
//! - **Network** ([`register`]): CE 143 is served from the pool and the best
//!   state's preimage dictionaries; a CE 142 announcement is followed by a CE 143
//!   request to the announcer. The announcement carries only `H(p)`, and a lookup
//!   entry's state key `C(s, E_4(|p|) ⌢ H(p))` is hashed (GP D.2), so whether `p`
//!   is requested can be told only once `|p|` is known: the node fetches `p`
//!   (the CE 143 response is size-bounded), checks `H(p)` against the announced
//!   hash, then pools it for every service that awaits it. Announcements are not
//!   forwarded (JAMNP-S CE 142: validators propagate preimages only in blocks).
//! - **Submission** ([`submit`], JIP-2 `submitPreimage`): checked against the best
//!   state, pooled, and announced over CE 142 to the other validators, this node
//!   introducing the preimage on the client's behalf.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::{Arc, Mutex};

use tessera_core::hash::{blake2b_256, Hash};
use tessera_core::spec::ChainSpec;
use tessera_core::types::{Preimage, PreimagesExtrinsic, ServiceId, TimeSlot};
use tessera_net::messages::{PreimageAnnouncement, PreimageRequest, Raw};
use tessera_net::{PeerId, Refusal};
use tessera_state::sigma::accounts::ServiceAccount;
use tessera_state::stf::preimages::awaited;
use tessera_state::ChainState;
use tracing::{debug, warn};

use crate::node::Shared;

/// Most preimages pooled at once.
pub const MAX_POOLED: usize = 1024;

/// The pool holds at most this many blocks' worth (`W_B` octets each) of
/// preimages.
const POOL_BLOCKS: usize = 4;

/// Most CE 143 fetches in flight at once after CE 142 announcements; more
/// announcements meanwhile are refused, so a chatty peer cannot make this node
/// hold an unbounded number of preimage downloads.
const MAX_FETCHES: usize = 8;

/// The octets an `E_P` item `(s, p)` takes in a block at most: `E_4(s)`, a
/// length prefix of at most 9 octets, and `p` (GP C.2).
fn item_octets(len: usize) -> usize {
    4 + 9 + len
}

/// Why a preimage was not pooled.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PreimageError {
    /// Larger than the pool's per-preimage bound `W_C`.
    #[error("the preimage is {size} octets, more than the {max}-octet maximum (W_C)")]
    TooLarge {
        /// `|p|`.
        size: usize,
        /// `W_C`.
        max: usize,
    },
    /// The requester is not a service of the state.
    #[error("service {service} does not exist")]
    NoSuchService {
        /// `s`.
        service: ServiceId,
    },
    /// The service already holds the preimage, or its lookup entry records that
    /// it was provided (`l[(H(p), |p|)] ≠ []`).
    #[error("service {service} has already been provided preimage {hash}")]
    AlreadyProvided {
        /// `s`.
        service: ServiceId,
        /// `H(p)`.
        hash: Hash,
    },
    /// The service has no lookup entry `(H(p), |p|)`: it never solicited `p`.
    #[error(
        "service {service} has not requested preimage {hash} of {length} octets \
         (no lookup entry l[(H(p), |p|)] = [])"
    )]
    NotRequested {
        /// `s`.
        service: ServiceId,
        /// `H(p)`.
        hash: Hash,
        /// `|p|`.
        length: usize,
    },
    /// No service of the state awaits the preimage (for one that arrived without
    /// a requester, over CE 142/143).
    #[error("no service awaits preimage {hash} of {length} octets")]
    NotAwaited {
        /// `H(p)`.
        hash: Hash,
        /// `|p|`.
        length: usize,
    },
    /// The pool is at its bound.
    #[error("the preimage pool is full ({count} preimages, {octets} octets)")]
    PoolFull {
        /// Preimages pooled.
        count: usize,
        /// Their octets.
        octets: usize,
    },
    /// A peer's preimage does not hash to what was asked for.
    #[error("the preimage hashes to {got}, not to the requested {expected}")]
    HashMismatch {
        /// The hash asked for.
        expected: Hash,
        /// `H(p)` of what came.
        got: Hash,
    },
}

/// One pooled preimage and the services it is for.
#[derive(Clone, Debug)]
struct Pooled {
    blob: Arc<Vec<u8>>,
    requesters: BTreeSet<ServiceId>,
}

/// Preimages by hash, each with its requesting services.
#[derive(Clone, Debug)]
pub struct PreimagePool {
    /// `W_C`: the largest preimage taken.
    max_preimage: usize,
    /// `W_B`: the most octets of `E_P` in one block.
    block_octets: usize,
    /// The most octets pooled.
    max_octets: usize,
    entries: BTreeMap<Hash, Pooled>,
    octets: usize,
}

/// Whether service `s` of `state` awaits `p` (hash `h`), as the preimages
/// transition decides it; if not, why not.
fn check_awaited(
    state: &ChainState,
    s: ServiceId,
    h: &Hash,
    len: usize,
) -> Result<(), PreimageError> {
    let not_requested = || PreimageError::NotRequested {
        service: s,
        hash: *h,
        length: len,
    };
    let l = u32::try_from(len).map_err(|_| not_requested())?;
    if awaited(&state.delta, s, h, l) {
        return Ok(());
    }
    // Only the reason is worked out here; the decision is `awaited`'s.
    let account: &ServiceAccount = state
        .delta
        .get(&s)
        .ok_or(PreimageError::NoSuchService { service: s })?;
    if account.preimage(s, h).is_some() || account.lookup(s, h, l).is_some() {
        return Err(PreimageError::AlreadyProvided {
            service: s,
            hash: *h,
        });
    }
    Err(not_requested())
}

impl PreimagePool {
    /// An empty pool with `spec`'s bounds.
    pub fn new(spec: &ChainSpec) -> PreimagePool {
        let block_octets = spec.max_bundle_size as usize;
        PreimagePool {
            max_preimage: spec.max_service_code_size as usize,
            block_octets,
            max_octets: block_octets.saturating_mul(POOL_BLOCKS),
            entries: BTreeMap::new(),
            octets: 0,
        }
    }

    /// The largest preimage the pool takes (`W_C`).
    pub fn max_preimage(&self) -> usize {
        self.max_preimage
    }

    /// Check `blob` for service `requester` against `state` without pooling it:
    /// `H(blob)` if the service awaits it (GP §12.4).
    pub fn check(
        &self,
        state: &ChainState,
        requester: ServiceId,
        blob: &[u8],
    ) -> Result<Hash, PreimageError> {
        self.check_size(blob.len())?;
        let h = blake2b_256(blob);
        check_awaited(state, requester, &h, blob.len())?;
        Ok(h)
    }

    fn check_size(&self, size: usize) -> Result<(), PreimageError> {
        if size > self.max_preimage {
            return Err(PreimageError::TooLarge {
                size,
                max: self.max_preimage,
            });
        }
        Ok(())
    }

    /// Pool `blob` for service `requester` if `state` shows the service awaiting
    /// it. `Ok(true)` if it is new to the pool, `Ok(false)` if it was already
    /// pooled for that service.
    pub fn add(
        &mut self,
        state: &ChainState,
        requester: ServiceId,
        blob: Vec<u8>,
    ) -> Result<bool, PreimageError> {
        let h = self.check(state, requester, &blob)?;
        self.insert(h, blob, [requester].into())
    }

    /// Pool `blob` for every service of `state` that awaits it (a preimage that
    /// came over the network names no requester); those services.
    pub fn add_for_any(
        &mut self,
        state: &ChainState,
        blob: Vec<u8>,
    ) -> Result<BTreeSet<ServiceId>, PreimageError> {
        self.check_size(blob.len())?;
        let h = blake2b_256(&blob);
        let requesters: BTreeSet<ServiceId> = state
            .delta
            .keys()
            .copied()
            .filter(|s| check_awaited(state, *s, &h, blob.len()).is_ok())
            .collect();
        if requesters.is_empty() {
            return Err(PreimageError::NotAwaited {
                hash: h,
                length: blob.len(),
            });
        }
        self.insert(h, blob, requesters.clone())?;
        Ok(requesters)
    }

    /// Add `requesters` of `blob` (hash `h`, already checked); whether any was
    /// new.
    fn insert(
        &mut self,
        h: Hash,
        blob: Vec<u8>,
        requesters: BTreeSet<ServiceId>,
    ) -> Result<bool, PreimageError> {
        if let Some(e) = self.entries.get_mut(&h) {
            let before = e.requesters.len();
            e.requesters.extend(requesters);
            return Ok(e.requesters.len() > before);
        }
        if self.entries.len() >= MAX_POOLED
            || self.octets.saturating_add(blob.len()) > self.max_octets
        {
            return Err(PreimageError::PoolFull {
                count: self.entries.len(),
                octets: self.octets,
            });
        }
        self.octets += blob.len();
        self.entries.insert(
            h,
            Pooled {
                blob: Arc::new(blob),
                requesters,
            },
        );
        Ok(true)
    }

    /// The pooled preimage of hash `h`.
    pub fn get(&self, h: &Hash) -> Option<Arc<Vec<u8>>> {
        self.entries.get(h).map(|e| e.blob.clone())
    }

    /// Whether a preimage of hash `h` is pooled.
    pub fn contains(&self, h: &Hash) -> bool {
        self.entries.contains_key(h)
    }

    /// Preimages pooled.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the pool is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Their octets.
    pub fn octets(&self) -> usize {
        self.octets
    }

    /// `E_P` for a block on a parent with state `prior`: each pooled `(s, p)`
    /// that `prior` shows `s` awaiting (GP §12.4: `∀(s, p) ∈ E_P : Y(δ, s, p)`),
    /// ordered and unique by `(s, p)` (`E_P = [i ⇅ i ∈ E_P]`), at most `W_B`
    /// octets in all. Items that do not fit are left for a later block; what is
    /// taken is a subsequence of the ordered list, so it stays ordered.
    pub fn extrinsic(&self, prior: &ChainState) -> PreimagesExtrinsic {
        let mut items: Vec<(ServiceId, &Arc<Vec<u8>>)> = Vec::new();
        for (h, e) in &self.entries {
            for s in &e.requesters {
                if check_awaited(prior, *s, h, e.blob.len()).is_ok() {
                    items.push((*s, &e.blob));
                }
            }
        }
        // `Preimage`'s order is `(requester, blob)`, the GP's order of `(s, p)`.
        items.sort_by(|a, b| (a.0, a.1.as_slice()).cmp(&(b.0, b.1.as_slice())));
        items.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
        let mut budget = self.block_octets;
        let mut out = Vec::new();
        for (s, blob) in items {
            let size = item_octets(blob.len());
            if size <= budget {
                budget -= size;
                out.push(Preimage {
                    requester: s,
                    blob: Vec::clone(blob).into(),
                });
            }
        }
        PreimagesExtrinsic(out)
    }

    /// Drop what `state` (a new best state) no longer awaits: requesters that
    /// were provided or dropped their request, and preimages left with none.
    pub fn prune(&mut self, state: &ChainState) {
        let mut freed = 0;
        self.entries.retain(|h, e| {
            let len = e.blob.len();
            e.requesters
                .retain(|s| check_awaited(state, *s, h, len).is_ok());
            let keep = !e.requesters.is_empty();
            if !keep {
                freed += len;
            }
            keep
        });
        self.octets -= freed;
    }
}

/// The best block's state of `shared`.
fn best_state(shared: &Shared) -> Result<(TimeSlot, Arc<ChainState>), String> {
    let mut chain = shared.chain();
    let best = chain.best().clone();
    let stored = chain
        .state(&best.hash)
        .map_err(|e| format!("the best state could not be read: {e}"))?
        .ok_or_else(|| format!("no state for the best block {}", best.hash))?;
    Ok((best.slot, stored.state))
}

/// The preimage of hash `h` this node holds: pooled, or in a service's `p` in
/// the best state.
pub fn held(shared: &Shared, h: &Hash) -> Option<Vec<u8>> {
    if let Some(p) = shared.pools().preimages.get(h) {
        return Some(p.as_ref().clone());
    }
    let (_, state) = best_state(shared).ok()?;
    state
        .delta
        .iter()
        .find_map(|(s, a)| a.preimage(*s, h).map(<[u8]>::to_vec))
}

/// Why [`submit`] refused a preimage.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// The pool refused it.
    #[error(transparent)]
    Pool(#[from] PreimageError),
    /// The best state could not be read.
    #[error("{0}")]
    State(String),
}

/// JIP-2 `submitPreimage`: check `blob` for service `requester` against the best
/// state, pool it, and announce it over CE 142 to the other validators (this
/// node introduces it; they fetch it over CE 143). `H(blob)`.
pub fn submit(
    shared: &Arc<Shared>,
    requester: ServiceId,
    blob: Vec<u8>,
) -> Result<Hash, SubmitError> {
    let (_, state) = best_state(shared).map_err(SubmitError::State)?;
    let h = blake2b_256(&blob);
    let new = shared.pools().preimages.add(&state, requester, blob)?;
    if new {
        debug!(service = requester, hash = %h, "preimage submitted and pooled");
        announce(shared, h);
    }
    Ok(h)
}

/// Announce preimage `h` over CE 142 to every other validator, in the
/// background (a sync caller such as an RPC method may not wait on the network).
fn announce(shared: &Arc<Shared>, h: Hash) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        warn!(hash = %h, "no runtime to announce the preimage on");
        return;
    };
    let me = shared.network.peer_id();
    let peers: Vec<PeerId> = shared
        .validators()
        .iter()
        .copied()
        .filter(|p| *p != me)
        .collect();
    let network = shared.network.clone();
    runtime.spawn(async move {
        for peer in peers {
            if let Err(e) = network.request::<PreimageAnnouncement>(&peer, &h).await {
                debug!(%peer, hash = %h, error = %e, "preimage announcement not delivered");
            }
        }
    });
}

/// Register the CE 143 (serve preimages) and CE 142 (fetch announced
/// preimages) handlers of the node `shared`.
pub fn register(shared: &Arc<Shared>) {
    let serving = Arc::downgrade(shared);
    shared
        .network
        .register::<PreimageRequest, _, _>(move |peer, h: Hash| {
            let weak = serving.clone();
            async move {
                let shared = weak
                    .upgrade()
                    .ok_or_else(|| Refusal("the node is stopping".into()))?;
                let found = tokio::task::spawn_blocking(move || held(&shared, &h))
                    .await
                    .map_err(|e| Refusal(e.to_string()))?;
                match found {
                    Some(p) => Ok(Raw(p)),
                    None => {
                        debug!(%peer, hash = %h, "preimage asked for but not held");
                        Err(Refusal(format!("no preimage {h} here")))
                    }
                }
            }
        });
    let announced = Arc::downgrade(shared);
    let fetching: Arc<Mutex<HashSet<Hash>>> = Arc::default();
    shared
        .network
        .register::<PreimageAnnouncement, _, _>(move |peer, h: Hash| {
            let weak = announced.clone();
            let fetching = fetching.clone();
            async move {
                let shared = weak
                    .upgrade()
                    .ok_or_else(|| Refusal("the node is stopping".into()))?;
                if shared.pools().preimages.contains(&h) {
                    return Ok(());
                }
                {
                    let mut f = fetching.lock().unwrap_or_else(|e| e.into_inner());
                    if f.contains(&h) {
                        return Ok(());
                    }
                    if f.len() >= MAX_FETCHES {
                        return Err(Refusal("too many preimage fetches in flight".into()));
                    }
                    f.insert(h);
                }
                // The announcement stream ends now (JAMNP-S CE 142: `<-- FIN`);
                // the fetch follows on its own.
                tokio::spawn(async move {
                    if let Err(e) = fetch(&shared, peer, h).await {
                        match e {
                            PreimageError::HashMismatch { .. } => {
                                warn!(%peer, hash = %h, error = %e, "preimage from peer refused")
                            }
                            _ => debug!(%peer, hash = %h, error = %e, "announced preimage not pooled"),
                        }
                    }
                    fetching
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .remove(&h);
                });
                Ok(())
            }
        });
}

/// Fetch announced preimage `h` from `peer` (CE 143), check it hashes to `h`,
/// and pool it for the services of the best state that await it.
async fn fetch(shared: &Arc<Shared>, peer: PeerId, h: Hash) -> Result<(), PreimageError> {
    let blob = match shared.network.request::<PreimageRequest>(&peer, &h).await {
        Ok(Raw(blob)) => blob,
        Err(e) => {
            debug!(%peer, hash = %h, error = %e, "announced preimage not fetched");
            return Ok(());
        }
    };
    let got = blake2b_256(&blob);
    if got != h {
        return Err(PreimageError::HashMismatch { expected: h, got });
    }
    let s = shared.clone();
    let pooled = tokio::task::spawn_blocking(move || {
        let state = match best_state(&s) {
            Ok((_, state)) => state,
            Err(e) => {
                debug!(error = %e, "no best state to check a preimage against");
                return Ok(BTreeSet::new());
            }
        };
        s.pools().preimages.add_for_any(&state, blob)
    })
    .await
    .unwrap_or_else(|e| {
        warn!(error = %e, "preimage check failed");
        Ok(BTreeSet::new())
    })?;
    debug!(%peer, hash = %h, services = ?pooled, "announced preimage pooled");
    Ok(())
}

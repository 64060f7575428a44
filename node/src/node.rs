//! A validator node: one identity's block production and sync over JAMNP-S.
//!
//! - **Time** (GP 4.4, 6.1): slot `s` begins `s · slot_duration` after the
//!   configured start of slot 0; the testnet shortens the GP's 6 s slot.
//! - **Production** (GP §6.4–6.6): at each slot the node asks whether its
//!   Bandersnatch key holds the slot's seal key on the best block
//!   ([`crate::author`]); if so it takes the block's extrinsic from its pools,
//!   authors and imports the block, and announces it over UP 0.
//! - **Sync** (JAMNP-S UP 0, CE 128): an announced or handshake-advertised block
//!   that is not in the tree is requested with its ancestors (CE 128,
//!   descending) from the announcing peer until a known block is reached, then
//!   imported parent first. A block that fails import is dropped and its
//!   announcer logged; the node goes on.
//! - **Fork choice and finality**: [`crate::chain::Chain`].
//! - **A follower** ([`NodeConfig::follower`]: no index in `κ`) runs only the
//!   sync, serving and GRANDPA as an observer (finality from the validators'
//!   commits); a validator's duties start in `Node::start_duties`.
//!
//! CPU work (sealing, import with its signature and ring-proof checks) runs on
//! the blocking pool, never on the runtime's I/O threads.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tessera_core::crypto::jip5::ValidatorSecrets;
use tessera_core::spec::ChainSpec;
use tessera_core::types::{Block, Extrinsic, TimeSlot};
use tessera_net::connectivity::ValidatorSets;
use tessera_net::messages::{
    Announcement, BlockRef, BlockRequest, BlockRequestProtocol, Blocks, Direction, Handshake,
    Ticket, TicketDistribution, TicketToProxy,
};
use tessera_net::network::{BlockAnnouncementEvent, Refusal};
use tessera_net::{Identity, Network, NetworkConfig, PeerId};
use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinSet;
use tracing::{debug, info, warn};

use crate::auditor::AuditDuty;
use crate::author::{author_block, Parent};
use crate::chain::{BlockInfo, Chain, ChainError, Imported};
use crate::pool::Pools;
use crate::telemetry::{BlockOutline, Event, Fixed};
use tessera_core::types::ValidatorIndex;
use tessera_da::store::ShardStore;
use tessera_kernels::Backend;

/// Blocks asked for in one CE 128 request while catching up.
const SYNC_BATCH: u32 = 64;

/// What a node is told at start.
pub struct NodeConfig {
    /// The chain spec.
    pub spec: ChainSpec,
    /// The validator's keys.
    pub keys: ValidatorSecrets,
    /// The UDP address to listen on.
    pub listen: SocketAddr,
    /// The peers to keep connected (the validators, by key and address).
    pub peers: Vec<(PeerId, SocketAddr)>,
    /// When slot 0 began.
    pub slot_zero: SystemTime,
    /// The length of a slot (GP: `P` = 6 s).
    pub slot_duration: Duration,
    /// Network timeouts and limits.
    pub network: NetworkConfig,
    /// Where the DA kernels run.
    pub backend: Backend,
    /// How this validator guarantees (honest, or lying for `--byzantine-guarantor`).
    pub behaviour: crate::guarantor::Behaviour,
    /// The audit farm this validator shares with the others its process hosts
    /// (it joins it as it starts); `None` for one of its own.
    pub farm: Option<Arc<AuditDuty>>,
    /// Follow the chain without a validator's duties: sync, import, fork
    /// choice, GRANDPA finality as an observer, serving blocks, RPC, metrics
    /// and telemetry; no authoring, tickets, guaranteeing, assuring or
    /// auditing. `keys` are then only the endpoint's identity.
    pub follower: bool,
}

/// What a node tells its watchers.
#[derive(Clone, Debug)]
pub enum NodeEvent {
    /// This node authored a block (and imported it).
    Authored(BlockInfo),
    /// A block from a peer was imported.
    Imported(BlockInfo),
    /// The best block changed.
    Best(BlockInfo),
    /// A block was finalized.
    Finalized(BlockInfo),
    /// A block was imported (authored or not) and made these reports available
    /// (`W`, GP 11.16; often none); with the JIP-3 event that began its
    /// authoring (40) or import (43), when telemetry is on.
    Available(
        BlockInfo,
        Vec<tessera_core::types::WorkReport>,
        Option<crate::telemetry::EventId>,
    ),
}

/// The parts of a node its tasks share.
pub struct Shared {
    /// The chain spec.
    pub spec: ChainSpec,
    /// The validator's keys.
    pub keys: ValidatorSecrets,
    /// The endpoint.
    pub network: Network,
    /// The block tree.
    pub chain: Mutex<Chain>,
    /// Events for watchers (status line, RPC, tests).
    pub events: broadcast::Sender<NodeEvent>,
    /// The extrinsic pools.
    pub pools: Arc<Mutex<Pools>>,
    /// The availability store (shards this node holds as assurer or guarantor).
    pub shards: Arc<ShardStore>,
    /// Where the DA kernels run.
    pub backend: Backend,
    /// Whether this node validates (its key was in `κ`, `γ_P` or `ι` at start);
    /// `false` for a follower. Its duties act while its key is in `κ`, under its
    /// index in each state's `κ` ([`Shared::index_in`]): `κ` changes with the
    /// epoch (GP 6.13).
    pub validating: bool,
    /// The validators' peer ids, by index in the best state's `κ`
    /// ([`Shared::validators`]).
    validators: std::sync::RwLock<Arc<Vec<PeerId>>>,
    slot_zero: SystemTime,
    slot_duration: Duration,
    authored: AtomicU64,
    /// What the node's duties have done.
    pub stats: Stats,
    /// How a work package submitted through this node (JIP-2
    /// `submitWorkPackage`) reaches a guarantor, once guaranteeing is set up.
    pub submit: std::sync::OnceLock<SubmitFn>,
    /// Metrics and telemetry, recorded by the duties where the work happens.
    pub observer: crate::observe::Observer,
    /// The exports of the reports seen in imported blocks, for the guarantor's
    /// segment imports.
    pub exports: Arc<crate::exports::ExportsIndex>,
}

/// A work package for a core, with its extrinsic data, handed to a guarantor.
pub type SubmitFn = Box<
    dyn Fn(
            tessera_core::types::CoreIndex,
            tessera_core::types::WorkPackage,
            Vec<u8>,
        ) -> Result<(), String>
        + Send
        + Sync,
>;

/// Counters of a node's work, for status lines, metrics and summaries.
#[derive(Debug, Default)]
pub struct Stats {
    /// Reports made available by blocks this node imported (`|W|`, summed).
    pub available: AtomicU64,
    /// Assurances this node signed and sent.
    pub assurances: AtomicU64,
    /// Shard sets fetched as assurer (CE 137).
    pub shards_fetched: AtomicU64,
    /// Their bundle and segment shard octets.
    pub shard_bytes: AtomicU64,
    /// Work reports this node guaranteed (as any of the 2–3 guarantors).
    pub guaranteed: AtomicU64,
    /// Octets of bundles and segments this node erasure-coded as guarantor.
    pub coded_bytes: AtomicU64,
    /// Bundle shards the availability store dropped at the end of their
    /// retention.
    pub shards_pruned: AtomicU64,
    /// Changes of the best state's `κ` this node followed ([`Shared::follow_kappa`]).
    pub kappa_changes: AtomicU64,
}

impl Stats {
    /// Add `n` to `counter`.
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Read `counter`.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

impl Shared {
    /// The chain, locked (a poisoned lock is taken over: the tree is only
    /// changed by whole imports).
    pub fn chain(&self) -> std::sync::MutexGuard<'_, Chain> {
        self.chain.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The slot current at `now` (GP 6.1's `τ` of wall-clock time).
    pub fn slot_at(&self, now: SystemTime) -> TimeSlot {
        let since = now.duration_since(self.slot_zero).unwrap_or_default();
        let n = since.as_nanos() / self.slot_duration.as_nanos().max(1);
        TimeSlot::try_from(n).unwrap_or(TimeSlot::MAX)
    }

    /// When `slot` begins.
    pub fn slot_start(&self, slot: TimeSlot) -> SystemTime {
        self.slot_zero + self.slot_duration * slot
    }

    fn handshake(&self) -> Handshake {
        let chain = self.chain();
        let f = chain.finalized();
        Handshake {
            finalized: BlockRef {
                hash: f.hash,
                slot: f.slot,
            },
            leaves: chain
                .leaves()
                .into_iter()
                .take(tessera_net::messages::MAX_LEAVES)
                .map(|l| BlockRef {
                    hash: l.hash,
                    slot: l.slot,
                })
                .collect(),
        }
    }

    /// The pools, locked.
    pub fn pools(&self) -> std::sync::MutexGuard<'_, Pools> {
        self.pools.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Announce `header` on UP 0 with our finalized block.
    fn announce(&self, header: &tessera_core::types::Header) {
        let finalized = self.chain().finalized().clone();
        self.network.announce(&Announcement {
            header: header.clone(),
            finalized: BlockRef {
                hash: finalized.hash,
                slot: finalized.slot,
            },
        });
    }

    /// This node's index in `set` (a state's `κ`), if its key is there.
    pub fn index_in(
        &self,
        set: &tessera_state::sigma::validators::ValidatorSet,
    ) -> Option<ValidatorIndex> {
        let key = self.keys.ed25519.public();
        set.0
            .iter()
            .position(|v| v.ed25519 == key)
            .and_then(|i| ValidatorIndex::try_from(i).ok())
    }

    /// This node's index in the best state's `κ`, if its key is there.
    pub fn index_now(&self) -> Option<ValidatorIndex> {
        let mut chain = self.chain();
        let best = chain.best().hash;
        let state = chain.state(&best).ok().flatten()?;
        self.index_in(&state.state.kappa)
    }

    /// The validators' peer ids, by index in the best state's `κ`.
    pub fn validators(&self) -> Arc<Vec<PeerId>> {
        self.validators
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Follow `κ` of the best state: the validators' peer ids and the keys the
    /// assurance pool checks against (GP 11.13: the parent's `κ` of the block
    /// the assurances go into) change with it at an epoch change (GP 6.13).
    pub(crate) fn follow_kappa(&self, kappa: &tessera_state::sigma::validators::ValidatorSet) {
        let peers = kappa.0.iter().map(|v| PeerId::from(v.ed25519));
        if self.validators().iter().copied().eq(peers.clone()) {
            return;
        }
        let peers: Vec<PeerId> = peers.collect();
        info!(
            validator = ?self.index_in(kappa),
            "the active validator set κ changed"
        );
        *self.validators.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(peers);
        Stats::add(&self.stats.kappa_changes, 1);
        self.pools()
            .set_validators(kappa.0.iter().map(|v| v.ed25519).collect());
    }

    pub(crate) fn emit(&self, event: NodeEvent) {
        if let NodeEvent::Available(_, w, _) = &event {
            Stats::add(&self.stats.available, w.len() as u64);
        }
        let _ = self.events.send(event);
    }
}

/// A running validator node. Dropping it stops its tasks and closes its endpoint.
pub struct Node {
    shared: Arc<Shared>,
    tasks: JoinSet<()>,
    audits: Arc<AuditDuty>,
    _finality: crate::finality::FinalityHandle,
    /// `None` for a follower.
    _guarantor: Option<crate::guarantor::Guarantor>,
}

/// The best state as the guarantor needs it: the best block, its state and root,
/// and the current slot (at least the best block's).
/// `fallback` serves only if the node is gone or its best state missing (the best
/// block is never pruned), so that the guarantor refuses rather than panics.
fn best_state(
    shared: &std::sync::Weak<Shared>,
    fallback: &crate::guarantor::BestState,
) -> crate::guarantor::BestState {
    let Some(shared) = shared.upgrade() else {
        return fallback.clone();
    };
    let (best, state) = {
        let mut chain = shared.chain();
        let best = chain.best().clone();
        let state = chain.state(&best.hash).ok().flatten().map(|s| s.state);
        (best, state)
    };
    match state {
        Some(state) => crate::guarantor::BestState {
            header_hash: best.hash,
            state,
            state_root: best.state_root,
            slot: shared.slot_at(SystemTime::now()).max(best.slot),
        },
        None => fallback.clone(),
    }
}

/// The node's tree as GRANDPA sees it ([`crate::finality::BlockTree`]): heights
/// from genesis, the best (audited) block to vote for, finalization into the
/// chain (which prunes states behind it).
struct FinalityTree(std::sync::Weak<Shared>);

impl crate::finality::BlockTree for FinalityTree {
    fn block(&self, hash: &tessera_core::hash::Hash) -> Option<crate::finality::BlockInfo> {
        let shared = self.0.upgrade()?;
        let chain = shared.chain();
        chain.info(hash).map(|i| crate::finality::BlockInfo {
            parent: i.parent,
            number: i.height,
        })
    }

    fn best_votable(&self) -> (tessera_core::hash::Hash, u32) {
        match self.0.upgrade() {
            Some(shared) => {
                let target = shared.chain().vote_target().clone();
                (target.hash, target.height)
            }
            None => (Default::default(), 0),
        }
    }

    fn finalized(&self) -> (tessera_core::hash::Hash, u32) {
        match self.0.upgrade() {
            Some(shared) => {
                let f = shared.chain().finalized().clone();
                (f.hash, f.height)
            }
            None => (Default::default(), 0),
        }
    }

    fn next_voter_set(
        &self,
        hash: &tessera_core::hash::Hash,
    ) -> Option<Vec<tessera_core::crypto::ed25519::PublicKey>> {
        let shared = self.0.upgrade()?;
        let chain = shared.chain();
        chain
            .info(hash)
            .and_then(|i| i.next_voters.as_ref())
            .map(|keys| keys.to_vec())
    }

    fn finalize(&self, hash: tessera_core::hash::Hash, number: u32, justification: Vec<u8>) {
        let Some(shared) = self.0.upgrade() else {
            return;
        };
        let result = shared
            .chain()
            .finalize_justified(hash, Some(&justification));
        match result {
            Ok(Some(pruned)) => {
                debug!(%hash, height = number, pruned, "finalized");
                let (info, archive) = {
                    let chain = shared.chain();
                    (chain.info(&hash).cloned(), chain.is_archive())
                };
                if let Some(info) = info {
                    // The availability store's retention (bundle shards `U` slots
                    // after they were stored, segment shards 28 days), counted up
                    // to `2R` slots before the finalized slot. A guarantee is
                    // reported while its slot is in the current or the previous
                    // rotation (GP §11.4: `t ≥ R(⌊τ'/R⌋ − 1)`, under `2R` slots
                    // after it) and made available within `U` slots after that
                    // (else it times out), so a shard pruned here belongs to a
                    // report that became available in a finalized block — audited,
                    // since this node votes only for audited blocks — or never will.
                    if !archive {
                        let now = info.slot.saturating_sub(2 * shared.spec.rotation_period);
                        match shared.shards.prune(now) {
                            Ok(p) => {
                                debug!(slot = info.slot, pruned = ?p, "availability store pruned");
                                Stats::add(&shared.stats.shards_pruned, p.bundle_shards as u64);
                            }
                            Err(e) => warn!(error = %e, "availability store not pruned"),
                        }
                    }
                    shared.emit(NodeEvent::Finalized(info));
                }
                shared.network.set_chain_head(shared.handshake());
            }
            Ok(None) => {}
            Err(e) => warn!(%hash, error = %e, "finalization not recorded"),
        }
    }
}

/// The GRANDPA voter's record lives in the chain's store, beside the finalized
/// block it leads to ([`crate::finality::record`]).
impl crate::finality::VoterStore for FinalityTree {
    fn load_voter_record(
        &self,
    ) -> Result<Option<crate::finality::VoterRecord>, crate::store::StoreError> {
        let shared = self.0.upgrade().ok_or(crate::store::StoreError::Closed)?;
        let record = shared.chain().voter_record();
        record
    }

    fn save_voter_record(
        &self,
        record: &crate::finality::VoterRecord,
    ) -> Result<(), crate::store::StoreError> {
        let shared = self.0.upgrade().ok_or(crate::store::StoreError::Closed)?;
        let saved = shared.chain().set_voter_record(record);
        saved
    }

    fn load_ended_commit(
        &self,
    ) -> Result<Option<tessera_net::messages::GrandpaMessage>, crate::store::StoreError> {
        let shared = self.0.upgrade().ok_or(crate::store::StoreError::Closed)?;
        let ended = shared.chain().voter_set_end();
        ended
    }
}

impl Node {
    /// Start the node on the current tokio runtime over `chain`.
    pub fn start(config: NodeConfig, chain: Chain) -> anyhow::Result<Node> {
        let identity = Identity::new(config.keys.ed25519.clone());
        let mut net_config = config.network.clone();
        net_config.listen = config.listen;
        net_config.genesis_hash = chain.genesis_hash();
        let network = Network::start(identity, config.spec.clone(), net_config)?;
        let (events, _) = broadcast::channel(1024);
        let shards = Arc::new(chain.shard_store()?.ok_or_else(|| {
            anyhow::anyhow!("a node needs a RocksDB store (its shards live beside its states)")
        })?);
        // κ at the best block (followed as it changes: `Shared::follow_kappa`), and
        // whether this node is among the validators of this epoch or the next two
        // (κ, γ_P, ι): one of the later sets starts its duties now and takes them
        // up when an epoch change brings it into κ (GP 6.13).
        let kappa = {
            let mut c = chain;
            let best = c.best().hash;
            let state = c
                .state(&best)?
                .ok_or_else(|| anyhow::anyhow!("no state for the best block"))?;
            let keys: Vec<_> = state.state.kappa.0.iter().map(|v| v.ed25519).collect();
            let me = config.keys.ed25519.public();
            let designated = [&state.state.gamma.pending, &state.state.iota]
                .iter()
                .any(|set| set.0.iter().any(|v| v.ed25519 == me));
            let start = crate::guarantor::BestState {
                header_hash: best,
                state_root: state.root,
                state: state.state,
                slot: 0,
            };
            (c, keys, designated, start)
        };
        let (chain, keys, designated, start_state) = kappa;
        let me = config.keys.ed25519.public();
        let active = keys.contains(&me);
        if !config.follower && !active && !designated {
            anyhow::bail!(
                "this node's key {me} is not among the validators of this epoch or the next two \
                 (κ, γ_P, ι); `tessera node --follower` follows the chain without validating"
            );
        }
        if !config.follower && !active {
            info!(key = %me, "not an active validator (κ) yet: a designated one; duties begin when an epoch change brings this key into κ");
        }
        let validators = keys.iter().map(|k| PeerId::from(*k)).collect();
        let validators = std::sync::RwLock::new(Arc::new(validators));
        let voter_set = chain.voter_set();
        let pools = Arc::new(Mutex::new(Pools::new(&config.spec, config.backend, keys)));
        let shared = Arc::new(Shared {
            spec: config.spec.clone(),
            keys: config.keys.clone(),
            network: network.clone(),
            chain: Mutex::new(chain),
            events,
            pools: pools.clone(),
            shards: shards.clone(),
            backend: config.backend,
            validating: !config.follower,
            validators,
            slot_zero: config.slot_zero,
            slot_duration: config.slot_duration,
            authored: AtomicU64::new(0),
            stats: Stats::default(),
            submit: std::sync::OnceLock::new(),
            observer: crate::observe::Observer::new(),
            exports: Arc::new(crate::exports::ExportsIndex::new()),
        });
        {
            let recalled = shared.exports.recall(&shared.chain());
            if recalled > 0 {
                info!(
                    reports = recalled,
                    kept = shared.exports.len(),
                    "exported segments recalled from the stored blocks"
                );
            }
        }
        network.set_chain_head(shared.handshake());
        // CE 137/138/147 (and the segment kinds): serve the shards we hold, with
        // JIP-3's receiving-side events.
        tessera_da::serve::register_observed(&network, shards, Arc::new(shared.observer.clone()));
        // CE 141 and CE 135 into the pools (a validator's: a follower builds no
        // blocks).
        if shared.validating {
            crate::pool::register(&network, pools);
        }
        // CE 142/143: preimages into the pool, and served from it.
        crate::preimages::register(&shared);
        // CE 128: serve blocks from the tree.
        let serving = shared.clone();
        network.register::<BlockRequestProtocol, _, _>(move |_peer, req: BlockRequest| {
            let shared = serving.clone();
            async move {
                let max = usize::try_from(req.max_blocks.min(SYNC_BATCH * 4)).unwrap_or(0);
                let ascending = req.direction == Direction::AscendingExclusive;
                let blocks = shared.chain().walk(&req.header_hash, ascending, max);
                if blocks.is_empty() && shared.chain().info(&req.header_hash).is_none() {
                    return Err(Refusal(format!("unknown block {}", req.header_hash)));
                }
                Ok(Blocks(blocks.iter().map(|b| (**b).clone()).collect()))
            }
        });
        // UP 0: announcements and handshakes go to the sync task.
        let (announced, wanted) = mpsc::channel::<(PeerId, BlockRef)>(1024);
        network.on_block_announcement(move |peer, event| {
            let refs = match event {
                BlockAnnouncementEvent::Handshake(h) => h.leaves,
                BlockAnnouncementEvent::Announcement(a) => vec![BlockRef {
                    hash: a.header.hash(),
                    slot: a.header.slot,
                }],
            };
            for r in refs {
                if announced.try_send((peer, r)).is_err() {
                    debug!(peer = %peer, "sync queue full; announcement dropped");
                }
            }
        });
        let mut tasks = JoinSet::new();
        tasks.spawn(sync(shared.clone(), wanted));
        let audits = config.farm.clone().unwrap_or_else(|| {
            Arc::new(AuditDuty::new(
                &shared.spec,
                shared.backend,
                config.slot_duration,
            ))
        });
        let guarantor = shared
            .validating
            .then(|| Self::start_duties(&shared, &config, &audits, &start_state, &mut tasks));
        // GRANDPA (GP §19) over the node's tree: votes only for audited blocks.
        let finality = crate::finality::start(
            crate::finality::FinalityConfig {
                voters: voter_set.1.to_vec(),
                set_id: voter_set.0,
                local: shared.validating.then(|| shared.keys.ed25519.clone()),
                gossip_duration: (config.slot_duration / 6).max(Duration::from_millis(50)),
            },
            network.clone(),
            voter_set.1.iter().map(|k| PeerId::from(*k)).collect(),
            Arc::new(FinalityTree(Arc::downgrade(&shared))),
            Arc::new(FinalityTree(Arc::downgrade(&shared))),
        )?;
        let node = Node {
            shared,
            tasks,
            audits,
            _finality: finality,
            _guarantor: guarantor,
        };
        if !config.peers.is_empty() {
            node.connect_to(config.peers);
        }
        Ok(node)
    }

    /// The shared parts (chain, network, events).
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// A validator's duties: authoring, tickets, assuring, auditing (joining
    /// `audits`) and guaranteeing, the last returned.
    fn start_duties(
        shared: &Arc<Shared>,
        config: &NodeConfig,
        audits: &Arc<AuditDuty>,
        start_state: &crate::guarantor::BestState,
        tasks: &mut JoinSet<()>,
    ) -> crate::guarantor::Guarantor {
        let network = &shared.network;
        tasks.spawn(produce(shared.clone()));
        tasks.spawn(assure(shared.clone(), shared.events.subscribe()));
        tasks.spawn(tickets_duty(shared.clone(), shared.events.subscribe()));
        audits.attach(shared);
        tasks.spawn(crate::auditor::run(
            shared.clone(),
            audits.clone(),
            shared.events.subscribe(),
        ));
        // Guaranteeing (GP §11, CE 133/134/135): the guarantor reads the best
        // state, its guarantees go into our pool (the others get them over CE 135).
        let guarantor = {
            let weak = Arc::downgrade(shared);
            let fallback = best_state(&weak, start_state);
            crate::guarantor::Guarantor::start(
                shared.spec.clone(),
                shared.keys.clone(),
                config.behaviour,
                network.clone(),
                move || best_state(&weak, &fallback),
                shared.shards.clone(),
                tessera_da::availability::AvailabilityEngine::new(&shared.spec, shared.backend),
            )
        };
        guarantor.set_observer(shared.observer.clone());
        guarantor.set_exports(shared.exports.clone());
        {
            let mut made = guarantor.subscribe();
            let s = shared.clone();
            tasks.spawn(async move {
                loop {
                    match made.recv().await {
                        Ok(g) => {
                            Stats::add(&s.stats.guaranteed, 1);
                            s.pools().add_guarantee(g);
                        }
                        Err(broadcast::error::RecvError::Lagged(_)) => continue,
                        Err(broadcast::error::RecvError::Closed) => return,
                    }
                }
            });
        }
        {
            let g = guarantor.clone();
            let _ = shared.submit.set(Box::new(move |core, package, extrinsics| {
                let g = g.clone();
                tokio::spawn(async move {
                    if let Err(e) = g.guarantee(core, package, &extrinsics).await {
                        warn!(core, error = %e, "work package submitted over RPC not guaranteed");
                    }
                });
                Ok(())
            }));
        }
        guarantor
    }

    /// Keep `peers` connected (the validators of the current epoch, by key and
    /// address; JAMNP-S "Required connectivity").
    pub fn connect_to(&self, peers: Vec<(PeerId, SocketAddr)>) {
        self.shared.network.set_validators(ValidatorSets {
            previous: Vec::new(),
            current: peers,
            next: Vec::new(),
        });
    }

    /// The audit duty this node takes part in (shared by the validators its
    /// process hosts, or its own).
    pub fn audit_duty(&self) -> &Arc<AuditDuty> {
        &self.audits
    }

    /// What this node's audits have done (a shared farm's, for all it hosts).
    pub fn audit_counts(&self) -> crate::auditor::AuditCounts {
        self.audits.counts()
    }

    /// Blocks this node has authored.
    pub fn authored(&self) -> u64 {
        self.shared.authored.load(Ordering::Relaxed)
    }

    /// Watch the node's events.
    pub fn subscribe(&self) -> broadcast::Receiver<NodeEvent> {
        self.shared.events.subscribe()
    }

    /// Stop the node's tasks and close its endpoint.
    pub fn stop(&mut self) {
        self.tasks.abort_all();
        self.shared.network.close();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Sleep until `when` (at once if it has passed).
async fn sleep_until(when: SystemTime) {
    if let Ok(d) = when.duration_since(SystemTime::now()) {
        tokio::time::sleep(d).await;
    }
}

/// The production loop: at each slot, author if this node holds the seal key.
async fn produce(shared: Arc<Shared>) {
    let mut slot = shared.slot_at(SystemTime::now()) + 1;
    loop {
        sleep_until(shared.slot_start(slot)).await;
        let s = shared.clone();
        let made = tokio::task::spawn_blocking(move || author_slot(&s, slot)).await;
        match made {
            Ok(Ok(Some(info))) => {
                info!(slot, hash = %info.hash, height = info.height, "authored block");
                shared.authored.fetch_add(1, Ordering::Relaxed);
                shared.emit(NodeEvent::Authored(info.clone()));
                shared.emit(NodeEvent::Best(info));
            }
            Ok(Ok(None)) => {}
            Ok(Err(e)) => warn!(slot, error = %e, "could not author"),
            Err(e) => warn!(slot, error = %e, "authoring task failed"),
        }
        // Skip slots that passed while authoring.
        slot = (slot + 1).max(shared.slot_at(SystemTime::now()) + 1);
    }
}

/// Author, import and announce the block of `slot` if this node holds its seal
/// key on the best block.
fn author_slot(shared: &Shared, slot: TimeSlot) -> anyhow::Result<Option<BlockInfo>> {
    let mut chain = shared.chain();
    let head = chain.best().clone();
    if head.slot >= slot {
        return Ok(None);
    }
    let parent_state = chain
        .state(&head.hash)?
        .ok_or_else(|| anyhow::anyhow!("no state for the best block {}", head.hash))?;
    let context = crate::author::SlotContext::new(
        &shared.spec,
        &parent_state.state,
        slot,
        &Default::default(),
    )?;
    if !context.is_author(&shared.keys.bandersnatch) {
        return Ok(None);
    }
    let parent = Parent {
        state: &parent_state.state,
        header_hash: head.hash,
        state_root: head.state_root,
    };
    let extrinsic = shared
        .pools()
        .extrinsic(&parent_state.state, &head.hash, slot);
    let pooled = extrinsic != Extrinsic::default();
    debug!(
        slot,
        tickets = extrinsic.tickets.0.len(),
        accumulated = parent_state.state.gamma.tickets.len(),
        guarantees = extrinsic.guarantees.0.len(),
        assurances = extrinsic.assurances.0.len(),
        "extrinsic from the pools"
    );
    let telemetry = shared.observer.telemetry();
    let authoring = telemetry.send(Event::Authoring(slot, head.hash));
    let mut block = author_block(&shared.spec, parent, slot, &shared.keys, extrinsic.clone())?;
    let imported = match timed_import(shared, &mut chain, &block) {
        // The pools' picks failed on the state (a stale guarantee, a banned
        // guarantor, …): author again with what of them imports.
        Err(ChainError::Block(e)) if pooled => {
            let (kept, dropped) =
                crate::author::admissible(&shared.spec, parent, slot, &shared.keys, extrinsic)?;
            warn!(
                slot,
                error = %e,
                dropped = ?dropped.iter().map(|d| (d.core, d.error.to_string())).collect::<Vec<_>>(),
                empty = kept == Extrinsic::default(),
                "pooled extrinsic invalid on the best block; authoring with what of it imports"
            );
            block = author_block(&shared.spec, parent, slot, &shared.keys, kept)?;
            timed_import(shared, &mut chain, &block)?
        }
        Err(e) => {
            telemetry.send(Event::AuthoringFailed(authoring, e.to_string().into()));
            return Err(e.into());
        }
        Ok(imported) => imported,
    };
    if telemetry.enabled() {
        telemetry.send(Event::Authored(authoring, BlockOutline::of(&block)));
    }
    let info = match imported {
        Imported::New {
            info, available, ..
        } => {
            let began = telemetry.enabled().then_some(authoring);
            shared.emit(NodeEvent::Available(info.clone(), available, began));
            info
        }
        Imported::Known => return Ok(None),
    };
    drop(chain);
    shared.announce(&block.header);
    shared.network.set_chain_head(shared.handshake());
    Ok(Some(info))
}

/// Import `block` into `chain`, its time into the block-import metric.
fn timed_import(shared: &Shared, chain: &mut Chain, block: &Block) -> Result<Imported, ChainError> {
    let started = std::time::Instant::now();
    let imported = chain.import(block)?;
    if matches!(imported, Imported::New { .. }) {
        // Where the reports' exported segments are, for packages importing them.
        for guarantee in &block.extrinsic.guarantees.0 {
            shared.exports.record(&guarantee.report, block.header.slot);
        }
        shared
            .observer
            .metrics
            .block_import_seconds
            .observe(started.elapsed().as_secs_f64());
    }
    Ok(imported)
}

/// The sync loop: fetch and import every announced block not yet in the tree.
async fn sync(shared: Arc<Shared>, mut wanted: mpsc::Receiver<(PeerId, BlockRef)>) {
    while let Some((peer, want)) = wanted.recv().await {
        if shared.chain().info(&want.hash).is_some() {
            continue;
        }
        if let Err(e) = fetch_and_import(&shared, peer, want).await {
            warn!(peer = %peer, block = %want.hash, error = %e, "block from peer not imported");
        }
    }
}

/// Fetch `want` and its unknown ancestors from `peer` (CE 128, descending) and
/// import them parent first.
async fn fetch_and_import(
    shared: &Arc<Shared>,
    peer: PeerId,
    want: BlockRef,
) -> anyhow::Result<()> {
    let mut pending: Vec<Block> = Vec::new();
    let mut next = want.hash;
    // Walk back until a block whose parent is known; bounded by the slots since
    // our best block.
    let budget = want.slot.saturating_sub(shared.chain().best().slot) + SYNC_BATCH;
    loop {
        let response = shared
            .network
            .request::<BlockRequestProtocol>(
                &peer,
                &BlockRequest {
                    header_hash: next,
                    direction: Direction::DescendingInclusive,
                    max_blocks: SYNC_BATCH,
                },
            )
            .await?;
        if response.0.is_empty() {
            anyhow::bail!("peer sent no blocks for {next}");
        }
        let mut reached = false;
        let mut expected = next;
        for block in response.0 {
            if block.header.hash() != expected {
                anyhow::bail!(
                    "peer sent block {} where {expected} was asked for",
                    block.header.hash()
                );
            }
            expected = block.header.parent;
            let known = shared.chain().info(&block.header.parent).is_some();
            pending.push(block);
            if known {
                reached = true;
                break;
            }
        }
        if reached {
            break;
        }
        if pending.len() as u32 > budget {
            anyhow::bail!("no known ancestor within {budget} blocks");
        }
        next = expected;
    }
    while let Some(block) = pending.pop() {
        let s = shared.clone();
        let result = tokio::task::spawn_blocking(move || {
            let telemetry = s.observer.telemetry();
            let importing = telemetry.enabled().then(|| {
                telemetry.send(Event::Importing(
                    block.header.slot,
                    BlockOutline::of(&block),
                ))
            });
            let mut chain = s.chain();
            let before = chain.best().hash;
            let r = timed_import(&s, &mut chain, &block);
            if let Some(id) = importing {
                match &r {
                    Ok(_) => telemetry.send(Event::BlockExecuted(id, Vec::new())),
                    Err(e) => telemetry.send(Event::BlockExecutionFailed(id, e.to_string().into())),
                };
            }
            (r, before, chain.best().clone(), importing)
        })
        .await?;
        match result {
            (
                Ok(Imported::New {
                    info, available, ..
                }),
                before,
                best,
                importing,
            ) => {
                shared.emit(NodeEvent::Available(info.clone(), available, importing));
                debug!(slot = info.slot, hash = %info.hash, "imported block");
                // JAMNP-S UP 0: announcements reach the grid neighbours only, so
                // a node announces what it imports to its own neighbours.
                let block = shared.chain().block(&info.hash);
                if let Some(block) = block {
                    shared.announce(&block.header);
                }
                shared.emit(NodeEvent::Imported(info));
                if best.hash != before {
                    shared.emit(NodeEvent::Best(best));
                }
            }
            (Ok(Imported::Known), ..) => {}
            (Err(e @ ChainError::Block(_)), ..) => {
                return Err(anyhow::anyhow!(e).context("invalid block"));
            }
            (Err(e), ..) => return Err(e.into()),
        }
    }
    shared.network.set_chain_head(shared.handshake());
    Ok(())
}

/// The assurer's duty (GP §11.2, JAMNP-S CE 137/141): on each new best block,
/// fetch this validator's shard of every report pending availability from the
/// guarantors, store it, and send an assurance anchored on the block to the
/// validators (any of whom may author the next block).
async fn assure(shared: Arc<Shared>, mut events: broadcast::Receiver<NodeEvent>) {
    loop {
        let best = match events.recv().await {
            Ok(NodeEvent::Best(info)) => info,
            Ok(_) => continue,
            Err(broadcast::error::RecvError::Lagged(_)) => shared.chain().best().clone(),
            Err(broadcast::error::RecvError::Closed) => return,
        };
        if let Err(e) = assure_block(&shared, &best).await {
            warn!(block = %best.hash, error = %e, "assurance not made");
        }
    }
}

/// The signers of the guarantee of the package with `root`, found in the blocks
/// of the best chain that could have carried it (a report pending availability
/// was guaranteed at most `U` slots ago), as peers by their keys in `κ` (else
/// `λ`, for a guarantee from the previous rotation) of the best state.
fn guarantors_on_chain(
    shared: &Shared,
    best: &BlockInfo,
    state: &tessera_state::ChainState,
    root: &tessera_core::hash::Hash,
) -> Vec<PeerId> {
    let chain = shared.chain();
    let mut at = best.hash;
    for _ in 0..=shared.spec.availability_timeout {
        let Some(block) = chain.block(&at) else { break };
        if let Some(g) = block
            .extrinsic
            .guarantees
            .0
            .iter()
            .find(|g| g.report.package_spec.erasure_root == *root)
        {
            return g
                .signatures
                .iter()
                .filter_map(|s| {
                    let v = s.validator_index;
                    state.kappa.ed25519(v).or_else(|| state.lambda.ed25519(v))
                })
                .map(|k| PeerId::from(*k))
                .collect();
        }
        at = block.header.parent;
    }
    Vec::new()
}

async fn assure_block(shared: &Arc<Shared>, best: &BlockInfo) -> anyhow::Result<()> {
    if !shared.validating {
        return Ok(());
    }
    let state = shared
        .chain()
        .state(&best.hash)?
        .ok_or_else(|| anyhow::anyhow!("no state for {}", best.hash))?;
    shared.follow_kappa(&state.state.kappa);
    shared.pools().prune(&state.state);
    // The assurance goes into a block on `best`: signed under our index in its
    // `κ` (GP 11.13), and our shards are those of that index (GP 14.16).
    let Some(me) = shared.index_in(&state.state.kappa) else {
        return Ok(());
    };
    let pending: Vec<Option<tessera_core::hash::Hash>> = state
        .state
        .rho
        .0
        .iter()
        .map(|p| p.as_ref().map(|p| p.report.package_spec.erasure_root))
        .collect();
    if pending.iter().all(Option::is_none) {
        return Ok(());
    }
    let others: Vec<PeerId> = shared
        .validators()
        .iter()
        .copied()
        .filter(|p| *p != shared.network.peer_id())
        .collect();
    for (core, root) in pending.iter().enumerate() {
        let Some(root) = root else { continue };
        let Some(index) = u16::try_from(core)
            .ok()
            .and_then(|c| tessera_da::assignment::shard_index(&shared.spec, c, me))
        else {
            continue;
        };
        if shared.shards.shard_set(root, index)?.is_some() {
            continue;
        }
        // Its guarantors first (the guarantee's signers, on the best chain), then
        // the others.
        let mut order = guarantors_on_chain(shared, best, &state.state, root);
        order.retain(|p| *p != shared.network.peer_id());
        let rest: Vec<PeerId> = others
            .iter()
            .filter(|p| !order.contains(p))
            .copied()
            .collect();
        order.extend(rest);
        match fetch_shards_observed(shared, &order, root, index, best.slot).await {
            Ok(set) => {
                Stats::add(&shared.stats.shards_fetched, 1);
                let octets =
                    set.bundle_shard.len() + set.segment_shards.iter().map(Vec::len).sum::<usize>();
                Stats::add(&shared.stats.shard_bytes, octets as u64);
            }
            Err(e) => warn!(core, erasure_root = %root, error = %e, "shard not fetched"),
        }
    }
    let bits = tessera_da::assurance::bitfield(&shared.spec, &shared.shards, &pending, me)?;
    if (0..shared.spec.cores()).all(|c| !bits.is_set(c)) {
        return Ok(());
    }
    let assurance = tessera_da::assurance::sign(shared.keys.ed25519.secret(), me, best.hash, bits);
    let _ = shared.pools().assurances.receive(
        &shared.network.peer_id(),
        tessera_da::assurance::to_message(&assurance),
    );
    Stats::add(&shared.stats.assurances, 1);
    let telemetry = shared.observer.telemetry();
    let distributing = telemetry.send(Event::DistributingAssurance(
        best.hash,
        Fixed(assurance.bitfield.0 .0.clone()),
    ));
    let failed = tessera_da::assurance::distribute(&shared.network, &others, &assurance).await;
    for peer in &others {
        let peer_id = crate::telemetry::peer_id(peer);
        match failed.iter().find(|(p, _)| p == peer) {
            Some((_, e)) => {
                debug!(%peer, error = %e, "assurance not delivered");
                telemetry.send(Event::AssuranceSendFailed(
                    distributing,
                    peer_id,
                    e.to_string().into(),
                ));
            }
            None => {
                telemetry.send(Event::AssuranceSent(distributing, peer_id));
            }
        }
    }
    telemetry.send(Event::AssuranceDistributed(distributing));
    Ok(())
}

/// The assurer's fetch of shard `index` of `root` (CE 137), from each of `order`
/// in turn until one serves a set that proves, stored at `slot`; each request
/// told to telemetry (JIP-3 events 120, 122, 123, 125).
async fn fetch_shards_observed(
    shared: &Shared,
    order: &[PeerId],
    root: &tessera_core::hash::Hash,
    index: u16,
    slot: TimeSlot,
) -> Result<tessera_da::store::ShardSet, tessera_da::fetch::FetchError> {
    let telemetry = shared.observer.telemetry();
    let mut last = tessera_da::fetch::FetchError::NoPeers;
    for peer in order {
        let sending = telemetry.send(Event::SendingShardRequest(
            crate::telemetry::peer_id(peer),
            *root,
            index,
        ));
        match tessera_da::fetch::fetch_shard_set(
            &shared.network,
            &shared.shards,
            std::slice::from_ref(peer),
            root,
            index,
            slot,
        )
        .await
        {
            Ok(set) => {
                telemetry.send(Event::ShardRequestSent(sending));
                telemetry.send(Event::ShardsTransferred(sending));
                return Ok(set);
            }
            Err(e) => {
                telemetry.send(Event::ShardRequestFailed(sending, e.to_string().into()));
                debug!(%peer, erasure_root = %root, error = %e, "shard request failed; trying the next peer");
                last = e;
            }
        }
    }
    Err(last)
}

/// The ticket duty (GP §6.7): once per epoch, during its contest, make this
/// validator's `N` tickets and send them to every validator (CE 132); pool the
/// tickets that arrive (verified first).
async fn tickets_duty(shared: Arc<Shared>, mut events: broadcast::Receiver<NodeEvent>) {
    // CE 132: a ticket from its proxy (or from a generator that is its own
    // proxy), verified and pooled.
    let received = shared.clone();
    shared
        .network
        .register::<TicketDistribution, _, _>(move |peer, ticket: Ticket| {
            let shared = received.clone();
            async move {
                match pool_ticket(&shared, ticket).await {
                    Ok((id, _)) => {
                        debug!(%peer, %id, "ticket pooled");
                        Ok(())
                    }
                    Err(e) => {
                        debug!(%peer, error = %e, "ticket refused");
                        Err(Refusal(e))
                    }
                }
            }
        });
    // CE 131: a ticket for which this validator is the proxy: verified, checked
    // to be ours to forward, pooled, then sent to every current validator over
    // CE 132 (JAMNP-S "CE 131/132").
    let proxied = shared.clone();
    shared
        .network
        .register::<TicketToProxy, _, _>(move |peer, ticket: Ticket| {
            let shared = proxied.clone();
            async move {
                let (id, proxy) = pool_ticket(&shared, ticket.clone()).await.map_err(|e| {
                    debug!(%peer, error = %e, "ticket to proxy refused");
                    Refusal(e)
                })?;
                if proxy != Some(shared.network.peer_id()) {
                    return Err(Refusal(format!(
                        "this validator is not the proxy of ticket {id}"
                    )));
                }
                debug!(%peer, %id, "proxying ticket");
                tokio::spawn(async move { distribute_ticket(&shared, &ticket).await });
                Ok(())
            }
        });
    let mut made_for: Option<u32> = None;
    loop {
        let best = match events.recv().await {
            Ok(NodeEvent::Best(info)) => info,
            Ok(_) => continue,
            Err(broadcast::error::RecvError::Lagged(_)) => shared.chain().best().clone(),
            Err(broadcast::error::RecvError::Closed) => return,
        };
        let epoch = crate::tickets::epoch_of(&shared.spec, best.slot);
        let in_contest =
            best.slot % shared.spec.epoch_length.max(1) < shared.spec.ticket_submission_end;
        if made_for == Some(epoch) || !in_contest || best.height == 0 {
            continue;
        }
        made_for = Some(epoch);
        let s = shared.clone();
        let made = tokio::task::spawn_blocking(move || {
            let state = s
                .chain()
                .state(&best.hash)?
                .ok_or_else(|| anyhow::anyhow!("no state for {}", best.hash))?;
            debug!(epoch, "making tickets");
            let tickets = crate::tickets::make(&s.spec, &state.state, &s.keys.bandersnatch)?;
            debug!(epoch, "tickets proven");
            let mut with_proxies = Vec::with_capacity(tickets.len());
            for t in tickets {
                let id = s.pools().tickets.add(&s.spec, &state.state, t.clone())?;
                let proxy = crate::tickets::proxy(&s.spec, &state.state, &id).map(PeerId::from);
                with_proxies.push((t, proxy));
            }
            Ok::<_, anyhow::Error>(with_proxies)
        })
        .await;
        let tickets = match made {
            Ok(Ok(t)) => t,
            Ok(Err(e))
                if matches!(
                    e.downcast_ref::<crate::tickets::TicketError>(),
                    Some(crate::tickets::TicketError::NotPending)
                ) =>
            {
                debug!(
                    epoch,
                    "no tickets: this validator is not in the next epoch's set (γ_P)"
                );
                continue;
            }
            // The best block may have lost its state to a fork pruned at
            // finality meanwhile: the next best block tries again.
            Ok(Err(e)) => {
                warn!(epoch, error = %e, "tickets not made; trying again on the next best block");
                made_for = None;
                continue;
            }
            Err(e) => {
                warn!(epoch, error = %e, "ticket task failed; trying again on the next best block");
                made_for = None;
                continue;
            }
        };
        debug!(epoch, tickets = tickets.len(), "tickets made");
        // Each ticket to its proxy (CE 131), or to everyone (CE 132) where this
        // validator is its own proxy.
        let me = shared.network.peer_id();
        for (ticket, proxy) in tickets {
            match proxy {
                Some(p) if p != me => {
                    if let Err(e) = shared.network.request::<TicketToProxy>(&p, &ticket).await {
                        // The proxy may be down: the ticket still has to reach
                        // an author, so this validator distributes it itself.
                        debug!(proxy = %p, error = %e, "proxy unreachable; distributing the ticket");
                        distribute_ticket(&shared, &ticket).await;
                    }
                }
                _ => distribute_ticket(&shared, &ticket).await,
            }
        }
    }
}

/// Verify `ticket` against the best state and pool it; its id and its proxy: the
/// validator of the next epoch's set `γ_P` at the index the id's last four
/// octets (big-endian) name modulo `V` (JAMNP-S "CE 131/132").
async fn pool_ticket(
    shared: &Arc<Shared>,
    ticket: Ticket,
) -> Result<(tessera_core::hash::Hash, Option<PeerId>), String> {
    let shared = shared.clone();
    tokio::task::spawn_blocking(move || {
        let best = shared.chain().best().hash;
        let state = shared
            .chain()
            .state(&best)
            .map_err(|e| e.to_string())?
            .ok_or("no best state")?;
        let id = shared
            .pools()
            .tickets
            .add(&shared.spec, &state.state, ticket)
            .map_err(|e| e.to_string())?;
        let proxy = crate::tickets::proxy(&shared.spec, &state.state, &id).map(PeerId::from);
        Ok((id, proxy))
    })
    .await
    .map_err(|e| e.to_string())?
}

/// CE 132: `ticket` to every current validator but this one.
async fn distribute_ticket(shared: &Arc<Shared>, ticket: &Ticket) {
    let me = shared.network.peer_id();
    for peer in shared.validators().iter().filter(|p| **p != me) {
        if let Err(e) = shared
            .network
            .request::<TicketDistribution>(peer, ticket)
            .await
        {
            debug!(%peer, error = %e, "ticket not delivered");
        }
    }
}

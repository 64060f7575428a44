//! The operator interfaces of a running node: JIP-2 RPC over its chain
//! ([`crate::rpc`]), Prometheus metrics fed from its events and counters
//! ([`crate::metrics`]), and JIP-3 telemetry ([`crate::telemetry`]).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tessera_core::codec::decode_exact;
use tessera_core::hash::Hash;
use tessera_core::spec::ChainSpec;
use tessera_core::types::{CoreIndex, ServiceId, WorkPackage};
use tessera_core::ByteArray;
use tessera_state::ChainState;
use tokio::sync::broadcast;
use tokio::task::JoinSet;
use tracing::warn;

use crate::node::{NodeEvent, Shared, Stats};
use crate::rpc::{BlockDescriptor, ChainEvent, NodeView, RpcConfig, WorkPackageStatus};
use crate::telemetry::{Event, Fixed, NodeInfo, Status, Telemetry};

/// Which interfaces to open.
#[derive(Clone, Debug, Default)]
pub struct OperatorConfig {
    /// JIP-2 RPC (`None`: off).
    pub rpc: Option<RpcConfig>,
    /// The Prometheus port on 127.0.0.1 (`None`: off).
    pub prometheus_port: Option<u16>,
    /// A JIP-3 telemetry server to connect to (`None`: off).
    pub telemetry: Option<String>,
}

/// The open interfaces; dropping it closes them.
pub struct Operator {
    rpc: Option<crate::rpc::RpcHandle>,
    metrics: Option<crate::metrics::MetricsServer>,
    _tasks: JoinSet<()>,
}

impl Operator {
    /// Where the RPC server listens, if open.
    pub fn rpc_addr(&self) -> Option<SocketAddr> {
        self.rpc.as_ref().map(|r| r.local_addr())
    }

    /// Where `/metrics` is served, if open.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().map(|m| m.local_addr())
    }
}

/// Open the interfaces `config` asks for on the node `shared`. An interface that
/// cannot open (a port in use) is logged and left closed: the node goes on.
pub async fn start(shared: Arc<Shared>, config: OperatorConfig) -> Operator {
    let mut tasks = JoinSet::new();
    let (chain_events, _) = broadcast::channel(256);
    let metrics = shared.observer.metrics.clone();
    let telemetry = match &config.telemetry {
        Some(addr) => Telemetry::connect(
            addr.clone(),
            NodeInfo {
                peer_id: ByteArray(*shared.network.peer_id().as_bytes()),
                address: shared
                    .network
                    .local_addr()
                    .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0))),
                flags: 0,
                name: "tessera".into(),
                version: env!("CARGO_PKG_VERSION").into(),
                note: match (shared.validating, shared.index_now()) {
                    (true, Some(i)) => format!("validator {i}"),
                    (true, None) => "validator (not in κ yet)".to_string(),
                    (false, _) => "follower".to_string(),
                }
                .into(),
            },
        ),
        None => Telemetry::disabled(),
    };
    // The node's duties send their events through the observer from now on.
    if config.telemetry.is_some() && !shared.observer.connect_telemetry(telemetry.clone()) {
        warn!("telemetry already connected for this node; the new connection is not used");
    }
    // Node events into subscriptions, metrics and telemetry.
    {
        let shared = shared.clone();
        let chain_events = chain_events.clone();
        let metrics = metrics.clone();
        let telemetry = telemetry.clone();
        let mut events = shared.events.subscribe();
        tasks.spawn(async move {
            loop {
                let event = match events.recv().await {
                    Ok(e) => e,
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return,
                };
                match event {
                    NodeEvent::Authored(_) => {
                        metrics.blocks_authored.inc();
                    }
                    NodeEvent::Imported(_) => {
                        metrics.blocks_imported.inc();
                    }
                    NodeEvent::Best(b) => {
                        metrics.best_slot.set(i64::from(b.slot));
                        // ξ's newest entry: the packages this block accumulated
                        // (GP 12.1). Counted per new best block, so a reorg may
                        // count a package on both forks.
                        let accumulated = shared
                            .chain()
                            .state(&b.hash)
                            .ok()
                            .flatten()
                            .and_then(|s| s.state.xi.last().map(|x| x.len() as u64));
                        metrics
                            .work_packages_accumulated
                            .inc_by(accumulated.unwrap_or(0));
                        telemetry.send(Event::BestBlockChanged(b.slot, b.hash));
                        let _ = chain_events.send(ChainEvent::BestBlock(BlockDescriptor {
                            header_hash: b.hash,
                            slot: b.slot,
                        }));
                    }
                    NodeEvent::Finalized(f) => {
                        metrics.finalized_slot.set(i64::from(f.slot));
                        let set_id = shared.chain().voter_set().0;
                        metrics
                            .grandpa_voter_set
                            .set(i64::try_from(set_id).unwrap_or(i64::MAX));
                        telemetry.send(Event::FinalizedBlockChanged(f.slot, f.hash));
                        let _ = chain_events.send(ChainEvent::FinalizedBlock(BlockDescriptor {
                            header_hash: f.hash,
                            slot: f.slot,
                        }));
                    }
                    NodeEvent::Available(..) => {}
                }
            }
        });
    }
    // Counters into metrics, and JIP-3 Status every 2 s.
    {
        let shared = shared.clone();
        let metrics = metrics.clone();
        let telemetry = telemetry.clone();
        tasks.spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(2));
            let mut seen = Seen::default();
            loop {
                tick.tick().await;
                if let Ok(Some(memory)) = shared.chain().db_memory() {
                    metrics.set_db_memory(&memory);
                }
                let peers = shared.network.connected_peers();
                metrics
                    .peers
                    .set(i64::try_from(peers.len()).unwrap_or(i64::MAX));
                let f = Stats::get(&shared.stats.shards_fetched);
                seen.mirror(&shared, &metrics);
                let validators = peers
                    .iter()
                    .filter(|p| shared.validators().contains(p))
                    .count();
                let announcing = peers
                    .iter()
                    .filter(|p| shared.network.has_block_announcements(p))
                    .count();
                let (by_core, preimages, preimages_size) = {
                    let pools = shared.pools();
                    let by_core: Vec<u8> = pools
                        .guarantees_by_core()
                        .into_iter()
                        .map(|n| u8::try_from(n).unwrap_or(u8::MAX))
                        .collect();
                    (by_core, pools.preimages.len(), pools.preimages.octets())
                };
                telemetry.send(Event::Status(Status {
                    peers: u32::try_from(peers.len()).unwrap_or(u32::MAX),
                    validator_peers: u32::try_from(validators).unwrap_or(u32::MAX),
                    announcement_peers: u32::try_from(announcing).unwrap_or(u32::MAX),
                    guarantees_by_core: Fixed(by_core),
                    shards: u32::try_from(f).unwrap_or(u32::MAX),
                    shards_size: Stats::get(&shared.stats.shard_bytes),
                    preimages: u32::try_from(preimages).unwrap_or(u32::MAX),
                    preimages_size: u32::try_from(preimages_size).unwrap_or(u32::MAX),
                }));
            }
        });
    }
    let metrics_server = match config.prometheus_port {
        Some(port) => match crate::metrics::serve(port, metrics.clone()).await {
            Ok(s) => Some(s),
            Err(e) => {
                warn!(port, error = %e, "Prometheus endpoint not opened");
                None
            }
        },
        None => None,
    };
    let rpc = match config.rpc {
        Some(c) => {
            let view = Arc::new(ChainView {
                shared: shared.clone(),
                events: chain_events,
            });
            match crate::rpc::start(c, view).await {
                Ok(h) => Some(h),
                Err(e) => {
                    warn!(port = c.port, error = %e, "RPC server not opened");
                    None
                }
            }
        }
        None => None,
    };
    Operator {
        rpc,
        metrics: metrics_server,
        _tasks: tasks,
    }
}

/// The node's chain as JIP-2 RPC sees it.
struct ChainView {
    shared: Arc<Shared>,
    events: broadcast::Sender<ChainEvent>,
}

fn descriptor(info: &crate::chain::BlockInfo) -> BlockDescriptor {
    BlockDescriptor {
        header_hash: info.hash,
        slot: info.slot,
    }
}

impl NodeView for ChainView {
    fn spec(&self) -> &ChainSpec {
        &self.shared.spec
    }

    fn best_block(&self) -> BlockDescriptor {
        descriptor(self.shared.chain().best())
    }

    fn finalized_block(&self) -> BlockDescriptor {
        descriptor(self.shared.chain().finalized())
    }

    fn parent(&self, header_hash: &Hash) -> Option<BlockDescriptor> {
        let chain = self.shared.chain();
        let info = chain.info(header_hash)?;
        chain.info(&info.parent).map(descriptor)
    }

    fn state(&self, header_hash: &Hash) -> Option<Arc<ChainState>> {
        self.shared
            .chain()
            .state(header_hash)
            .ok()
            .flatten()
            .map(|s| s.state)
    }

    fn state_root(&self, header_hash: &Hash) -> Option<Hash> {
        self.shared.chain().info(header_hash).map(|i| i.state_root)
    }

    fn events(&self) -> broadcast::Receiver<ChainEvent> {
        self.events.subscribe()
    }

    fn submit_work_package(
        &self,
        core: CoreIndex,
        package: Vec<u8>,
        extrinsics: Vec<Vec<u8>>,
    ) -> Result<(), String> {
        let package: WorkPackage = decode_exact(&self.shared.spec, &package)
            .map_err(|e| format!("the work package does not decode: {e}"))?;
        if usize::from(core) >= self.shared.spec.cores() {
            return Err(format!("core {core} does not exist"));
        }
        let submit = self
            .shared
            .submit
            .get()
            .ok_or("this node does not guarantee work packages (a follower); submit to a guarantor, e.g. with `tessera submit`")?;
        submit(core, package, extrinsics.concat())
    }

    fn submit_preimage(&self, requester: ServiceId, preimage: Vec<u8>) -> Result<(), String> {
        crate::preimages::submit(&self.shared, requester, preimage)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    fn work_package_status(
        &self,
        header_hash: &Hash,
        package: &Hash,
        anchor: &Hash,
    ) -> Option<WorkPackageStatus> {
        let state = self.state(header_hash)?;
        let at = self.shared.chain().info(header_hash).map(descriptor)?;
        // Pending availability on a core (GP 11.1: ρ).
        for (core, pending) in state.rho.0.iter().enumerate() {
            if let Some(p) = pending {
                if p.report.package_spec.hash == *package {
                    return Some(WorkPackageStatus::Reported {
                        reported_in: at,
                        core: CoreIndex::try_from(core).unwrap_or(CoreIndex::MAX),
                        report_hash: p.report.hash(),
                    });
                }
            }
        }
        // Accumulated within the last epoch (ξ): it cannot be reported again
        // (GP 11.38). The block it became ready in is not tracked here.
        if state.xi.iter().flatten().any(|h| h == package) {
            return Some(WorkPackageStatus::Failed(
                "already accumulated (in ξ); it cannot be reported again".into(),
            ));
        }
        // Reportable while its anchor is in the recent history β (GP 11.33).
        let recent = state
            .beta
            .history
            .iter()
            .position(|b| b.header_hash == *anchor);
        Some(match recent {
            Some(i) => WorkPackageStatus::Reportable {
                remaining_blocks: u32::try_from(i + 1).unwrap_or(u32::MAX),
            },
            None => WorkPackageStatus::Failed("the anchor is not in recent history".into()),
        })
    }
}

/// The node's counters as last copied into its Prometheus counters (which only
/// count up, by the difference since).
#[derive(Default)]
struct Seen {
    assurances: u64,
    fetched: u64,
    guaranteed: u64,
    served: u64,
    received: u64,
}

impl Seen {
    fn mirror(&mut self, shared: &Shared, metrics: &crate::metrics::NodeMetrics) {
        let up =
            |last: &mut u64, now: u64, counter: &prometheus_client::metrics::counter::Counter| {
                counter.inc_by(now.saturating_sub(*last));
                *last = (*last).max(now);
            };
        up(
            &mut self.assurances,
            Stats::get(&shared.stats.assurances),
            &metrics.assurances_made,
        );
        up(
            &mut self.fetched,
            Stats::get(&shared.stats.shards_fetched),
            &metrics.shards_fetched,
        );
        up(
            &mut self.guaranteed,
            Stats::get(&shared.stats.guaranteed),
            &metrics.work_packages_guaranteed,
        );
        // Requests served and assurances received, as the endpoint counted the
        // streams peers opened (JAMNP-S CE 137–140 and CE 141).
        let net = shared.network.metrics();
        let accepted = |kind: u8| net.snapshot(kind).streams_accepted;
        up(
            &mut self.served,
            (137..=140).map(accepted).sum(),
            &metrics.shards_served,
        );
        up(
            &mut self.received,
            accepted(141),
            &metrics.assurances_received,
        );
    }
}

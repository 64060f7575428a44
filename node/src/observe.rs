//! What an operator sees of a node's work: its Prometheus metrics
//! ([`NodeMetrics`]) and its JIP-3 telemetry connection ([`Telemetry`]), recorded
//! where the work happens — block import, guaranteeing, assuring, auditing — and
//! served by [`crate::operator`].
//!
//! One [`Observer`] per node, cheap to clone into its tasks. Telemetry is
//! disabled until the operator connects it (`--telemetry`), so the node's duties
//! can record from their first moment without waiting for the operator.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tessera_kernels::Backend;

use crate::metrics::{BackendLabel, DaBackend, NodeMetrics};
use crate::telemetry::Telemetry;

/// A node's metrics and telemetry.
#[derive(Clone, Debug, Default)]
pub struct Observer {
    /// The Prometheus metrics.
    pub metrics: Arc<NodeMetrics>,
    telemetry: Arc<OnceLock<Telemetry>>,
}

impl Observer {
    /// Fresh metrics, telemetry disabled.
    pub fn new() -> Observer {
        Observer::default()
    }

    /// The telemetry connection (a handle that sends nothing until
    /// [`Observer::connect_telemetry`]).
    pub fn telemetry(&self) -> &Telemetry {
        static DISABLED: OnceLock<Telemetry> = OnceLock::new();
        self.telemetry
            .get()
            .unwrap_or_else(|| DISABLED.get_or_init(Telemetry::disabled))
    }

    /// Send telemetry to `telemetry` from now on; `false` if already connected.
    pub fn connect_telemetry(&self, telemetry: Telemetry) -> bool {
        self.telemetry.set(telemetry).is_ok()
    }

    /// An erasure encode of `octets` on `backend` that took `took`.
    pub fn encoded(&self, backend: Backend, octets: usize, took: Duration) {
        let label = backend_label(backend);
        self.metrics
            .da_encode_seconds
            .get_or_create(&label)
            .observe(took.as_secs_f64());
        self.metrics
            .da_encode_bytes
            .get_or_create(&label)
            .inc_by(octets as u64);
    }

    /// Bundle rebuilds of `octets` in all on `backend` that took `took`.
    pub fn reconstructed(&self, backend: Backend, octets: u64, took: Duration) {
        let label = backend_label(backend);
        self.metrics
            .da_reconstruct_seconds
            .get_or_create(&label)
            .observe(took.as_secs_f64());
        self.metrics
            .da_reconstruct_bytes
            .get_or_create(&label)
            .inc_by(octets);
    }
}

/// A job this node gave the GPU, counted in the `gpu_queue_depth` gauge (jobs
/// waiting for or running on the GPU) until dropped.
#[derive(Debug)]
pub struct GpuJob(Arc<NodeMetrics>);

impl Drop for GpuJob {
    fn drop(&mut self) {
        self.0.gpu_queue_depth.dec();
    }
}

impl Observer {
    /// Count a job for `backend` as queued for the GPU until the guard drops;
    /// `None` (nothing counted) when `backend` is not the GPU.
    pub fn gpu_job(&self, backend: Backend) -> Option<GpuJob> {
        (backend.resolve() == Backend::Gpu).then(|| {
            self.metrics.gpu_queue_depth.inc();
            GpuJob(self.metrics.clone())
        })
    }
}

/// The metric label of a (resolved) kernels backend; `Auto` is labelled by what
/// it resolves to.
fn backend_label(backend: Backend) -> BackendLabel {
    BackendLabel {
        backend: match backend.resolve() {
            Backend::Gpu => DaBackend::Gpu,
            Backend::Cpu => DaBackend::Cpu,
            _ => DaBackend::Simd,
        },
    }
}

/// JIP-3's receiving-side events of the availability requests this node serves
/// (`tessera_da::serve`): "receiving … request" with the requester, then "…
/// request received" with what was asked, then "… transferred" once the response
/// is ready, or "… request failed" with the refusal. (The response leaving the node
/// is the network layer's; a stream reset after this point is not reported.)
impl tessera_da::serve::ServeEvents for Observer {
    fn received(&self, peer: &tessera_net::PeerId, request: tessera_da::serve::Served) -> u64 {
        use crate::telemetry::Event;
        use tessera_da::serve::Served;
        let telemetry = self.telemetry();
        let peer = crate::telemetry::peer_id(peer);
        match request {
            Served::ShardSet {
                erasure_root,
                shard_index,
            } => {
                let id = telemetry.send(Event::ReceivingShardRequest(peer));
                telemetry.send(Event::ShardRequestReceived(id, erasure_root, shard_index));
                id
            }
            Served::AuditShard {
                erasure_root,
                shard_index,
            } => {
                let id = telemetry.send(Event::ReceivingBundleShardRequest(peer));
                telemetry.send(Event::BundleShardRequestReceived(
                    id,
                    erasure_root,
                    shard_index,
                ));
                id
            }
            Served::Bundle { erasure_root } => {
                let id = telemetry.send(Event::ReceivingBundleRequest(peer));
                telemetry.send(Event::BundleRequestReceived(id, erasure_root));
                id
            }
            Served::SegmentShards { justified, shards } => {
                let id = telemetry.send(Event::ReceivingSegmentShardRequest(peer, justified));
                telemetry.send(Event::SegmentShardRequestReceived(id, shards));
                id
            }
        }
    }

    fn answered(&self, token: u64, request: tessera_da::serve::Served, outcome: Result<(), &str>) {
        use crate::telemetry::Event;
        use tessera_da::serve::Served;
        let event = match (request, outcome) {
            (Served::ShardSet { .. }, Ok(())) => Event::ShardsTransferred(token),
            (Served::ShardSet { .. }, Err(why)) => Event::ShardRequestFailed(token, why.into()),
            (Served::AuditShard { .. }, Ok(())) => Event::BundleShardTransferred(token),
            (Served::AuditShard { .. }, Err(why)) => {
                Event::BundleShardRequestFailed(token, why.into())
            }
            (Served::Bundle { .. }, Ok(())) => Event::BundleTransferred(token),
            (Served::Bundle { .. }, Err(why)) => Event::BundleRequestFailed(token, why.into()),
            (Served::SegmentShards { .. }, Ok(())) => Event::SegmentShardsTransferred(token),
            (Served::SegmentShards { .. }, Err(why)) => {
                Event::SegmentShardRequestFailed(token, why.into())
            }
        };
        self.telemetry().send(event);
    }
}

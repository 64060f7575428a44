//! Prometheus metrics: the typed [`NodeMetrics`] the node records into, and a tiny
//! HTTP server that answers `GET /metrics` with them in the OpenMetrics text format
//! (`prometheus-client`).
//!
//! The server is a minimal tokio handler rather than an HTTP library: it serves one
//! path to a scraper on localhost, reads at most [`MAX_REQUEST_HEAD`] octets of
//! request head with a timeout, answers and closes the connection.
//!
//! Every metric is prefixed `tessera_`; counters gain the OpenMetrics `_total`
//! suffix. `node/grafana/tessera.json` is a dashboard over them.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, linear_buckets, Histogram};
use prometheus_client::registry::Registry;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// The default Prometheus port (the one Substrate-family nodes use).
pub const DEFAULT_PORT: u16 = 9615;

/// The most octets of a request head the server reads before answering 400.
pub const MAX_REQUEST_HEAD: usize = 8 * 1024;

/// How long a scraper may take to send its request head.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// The data-availability backend an encode or reconstruct ran on (label `backend`).
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
pub enum DaBackend {
    /// A GPU (wgpu) kernel.
    Gpu,
    /// The SIMD (GFNI/AVX-512, AVX2, NEON) CPU kernel.
    Simd,
    /// The portable CPU kernel.
    Cpu,
}

/// An audit's outcome (label `outcome`; GP §17: the auditor's judgment, or none).
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
pub enum AuditOutcome {
    /// The report was re-computed and matched: a positive judgment.
    Valid,
    /// The report did not match: a negative judgment.
    Invalid,
    /// The audit could not be completed (bundle unrecoverable, timeout).
    Failed,
}

/// Label set `{backend}`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BackendLabel {
    /// The backend.
    pub backend: DaBackend,
}

/// Label set `{outcome}`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabel {
    /// The outcome.
    pub outcome: AuditOutcome,
}

/// What part of RocksDB's memory a gauge gives ([`crate::store::DbMemory`]).
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub enum DbMemoryPart {
    /// The block cache's usage (the memtables charged to it included).
    block_cache,
    /// Of it, pinned.
    block_cache_pinned,
    /// The memtables.
    memtables,
    /// The table readers outside the cache.
    table_readers,
}

/// Label set `{part}`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DbMemoryLabel {
    /// The part.
    pub part: DbMemoryPart,
}

/// A histogram family by backend, each with the same buckets.
pub type BackendHistograms = Family<BackendLabel, Histogram, fn() -> Histogram>;

fn seconds_histogram() -> Histogram {
    // 100 µs to ~13 s in ×2 steps: covers a segment encode and a full-bundle
    // reconstruction alike.
    Histogram::new(exponential_buckets(1e-4, 2.0, 18))
}

/// Everything the node records for Prometheus. Each field is a cheap handle:
/// record with e.g. `m.blocks_imported.inc()`,
/// `m.block_import_seconds.observe(t)`,
/// `m.da_encode_seconds.get_or_create(&BackendLabel { backend: DaBackend::Gpu }).observe(t)`.
pub struct NodeMetrics {
    /// Time to import one block (verify and execute), seconds.
    pub block_import_seconds: Histogram,
    /// Blocks imported.
    pub blocks_imported: Counter,
    /// Blocks authored by this node.
    pub blocks_authored: Counter,
    /// Slot of the best block.
    pub best_slot: Gauge,
    /// Slot of the latest finalized block.
    pub finalized_slot: Gauge,
    /// The GRANDPA voter set's id after the finalized block (0 at genesis, one
    /// more at each epoch change that brings other keys into `κ`).
    pub grandpa_voter_set: Gauge,
    /// Time of one erasure encode, seconds, by backend.
    pub da_encode_seconds: BackendHistograms,
    /// Time of one erasure reconstruction, seconds, by backend.
    pub da_reconstruct_seconds: BackendHistograms,
    /// Octets of data erasure-encoded, by backend.
    pub da_encode_bytes: Family<BackendLabel, Counter>,
    /// Octets of data reconstructed, by backend.
    pub da_reconstruct_bytes: Family<BackendLabel, Counter>,
    /// Shard requests peers opened to this node (CE 137/138/139/140 streams).
    pub shards_served: Counter,
    /// Shards fetched from other nodes.
    pub shards_fetched: Counter,
    /// Assurances this node made (CE 141 sent).
    pub assurances_made: Counter,
    /// Assurances received from other validators.
    pub assurances_received: Counter,
    /// Audits completed, by outcome.
    pub audits: Family<OutcomeLabel, Counter>,
    /// The tranche in which each audit was done (GP §17.3: 0 is on time, later
    /// tranches cover no-shows).
    pub audit_tranche: Histogram,
    /// Connected peers.
    pub peers: Gauge,
    /// This node's DA jobs waiting for or running on the GPU (gpu backend only).
    pub gpu_queue_depth: Gauge,
    /// Work-packages this node guaranteed (guarantee built).
    pub work_packages_guaranteed: Counter,
    /// Work-packages accumulated on the best chain.
    pub work_packages_accumulated: Counter,
    /// The process's resident set (`/proc/self/status`), read at each scrape.
    pub process_resident_bytes: Gauge,
    /// Octets the allocator has handed out and not had back, read at each scrape
    /// (only where the binary registered its allocator's [`AllocatorStats`]).
    pub memory_allocated_bytes: Gauge,
    /// Octets of physical memory the allocator holds (allocated, its metadata and
    /// freed pages not yet returned), read at each scrape (as above).
    pub memory_resident_bytes: Gauge,
    /// What the node's RocksDB database holds in memory, by part (its own
    /// estimates, read every 2 s).
    pub rocksdb_memory_bytes: Family<DbMemoryLabel, Gauge>,
    registry: Registry,
}

/// What the process's allocator says of its memory: live allocations against the
/// physical pages it holds. Together with the resident set they tell a leak
/// (`allocated` grows) from fragmentation or retention (`resident` grows alone)
/// from memory outside the allocator (RocksDB's own, thread stacks, mappings).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AllocatorStats {
    /// Octets allocated by the application and not freed.
    pub allocated: u64,
    /// Octets in physically resident pages the allocator maps.
    pub resident: u64,
}

/// Where [`NodeMetrics`] reads [`AllocatorStats`]: set once by the binary, whose
/// global allocator it is (the library does not choose the allocator).
static ALLOCATOR_STATS: std::sync::OnceLock<fn() -> Option<AllocatorStats>> =
    std::sync::OnceLock::new();

/// Register the process allocator's statistics for the memory metrics (the first
/// call wins; later ones are ignored).
pub fn set_allocator_stats(read: fn() -> Option<AllocatorStats>) {
    let _ = ALLOCATOR_STATS.set(read);
}

/// The allocator's statistics now, where the binary registered them.
pub fn allocator_stats() -> Option<AllocatorStats> {
    ALLOCATOR_STATS.get().and_then(|read| read())
}

/// The process's resident set in octets: `VmRSS` of `/proc/self/status` (in kB);
/// `None` where there is no such file (not Linux).
pub fn process_resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find_map(|l| l.strip_prefix("VmRSS:"))?;
    let kb: u64 = line.trim().strip_suffix("kB")?.trim().parse().ok()?;
    Some(kb * 1024)
}

impl std::fmt::Debug for NodeMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeMetrics").finish_non_exhaustive()
    }
}

impl Default for NodeMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl NodeMetrics {
    /// Every metric at zero, registered under the `tessera` prefix.
    pub fn new() -> Self {
        let m = NodeMetrics {
            block_import_seconds: seconds_histogram(),
            blocks_imported: Counter::default(),
            blocks_authored: Counter::default(),
            best_slot: Gauge::default(),
            finalized_slot: Gauge::default(),
            grandpa_voter_set: Gauge::default(),
            da_encode_seconds: Family::new_with_constructor(seconds_histogram),
            da_reconstruct_seconds: Family::new_with_constructor(seconds_histogram),
            da_encode_bytes: Family::default(),
            da_reconstruct_bytes: Family::default(),
            shards_served: Counter::default(),
            shards_fetched: Counter::default(),
            assurances_made: Counter::default(),
            assurances_received: Counter::default(),
            audits: Family::default(),
            audit_tranche: Histogram::new(linear_buckets(0.0, 1.0, 8)),
            peers: Gauge::default(),
            gpu_queue_depth: Gauge::default(),
            work_packages_guaranteed: Counter::default(),
            work_packages_accumulated: Counter::default(),
            process_resident_bytes: Gauge::default(),
            memory_allocated_bytes: Gauge::default(),
            memory_resident_bytes: Gauge::default(),
            rocksdb_memory_bytes: Family::default(),
            registry: Registry::with_prefix("tessera"),
        };
        let mut r = Registry::with_prefix("tessera");
        r.register(
            "block_import_seconds",
            "Time to import one block, seconds",
            m.block_import_seconds.clone(),
        );
        r.register(
            "blocks_imported",
            "Blocks imported",
            m.blocks_imported.clone(),
        );
        r.register(
            "blocks_authored",
            "Blocks authored by this node",
            m.blocks_authored.clone(),
        );
        r.register("best_slot", "Slot of the best block", m.best_slot.clone());
        r.register(
            "finalized_slot",
            "Slot of the latest finalized block",
            m.finalized_slot.clone(),
        );
        r.register(
            "grandpa_voter_set",
            "GRANDPA voter-set id after the finalized block",
            m.grandpa_voter_set.clone(),
        );
        r.register(
            "da_encode_seconds",
            "Time of one erasure encode, seconds, by backend",
            m.da_encode_seconds.clone(),
        );
        r.register(
            "da_reconstruct_seconds",
            "Time of one erasure reconstruction, seconds, by backend",
            m.da_reconstruct_seconds.clone(),
        );
        r.register(
            "da_encode_bytes",
            "Octets erasure-encoded, by backend",
            m.da_encode_bytes.clone(),
        );
        r.register(
            "da_reconstruct_bytes",
            "Octets reconstructed, by backend",
            m.da_reconstruct_bytes.clone(),
        );
        r.register(
            "shards_served",
            "Shard requests peers opened to this node (CE 137-140)",
            m.shards_served.clone(),
        );
        r.register(
            "shards_fetched",
            "Shards fetched from other nodes",
            m.shards_fetched.clone(),
        );
        r.register(
            "assurances_made",
            "Assurances made by this node",
            m.assurances_made.clone(),
        );
        r.register(
            "assurances_received",
            "Assurances received from other validators",
            m.assurances_received.clone(),
        );
        r.register("audits", "Audits completed, by outcome", m.audits.clone());
        r.register(
            "audit_tranche",
            "Tranche in which each audit was done",
            m.audit_tranche.clone(),
        );
        r.register("peers", "Connected peers", m.peers.clone());
        r.register(
            "gpu_queue_depth",
            "DA jobs of this node waiting for or running on the GPU",
            m.gpu_queue_depth.clone(),
        );
        r.register(
            "work_packages_guaranteed",
            "Work-packages guaranteed by this node",
            m.work_packages_guaranteed.clone(),
        );
        r.register(
            "work_packages_accumulated",
            "Work-packages accumulated on the best chain",
            m.work_packages_accumulated.clone(),
        );
        r.register(
            "process_resident_bytes",
            "Resident set of the process, octets",
            m.process_resident_bytes.clone(),
        );
        r.register(
            "memory_allocated_bytes",
            "Octets allocated and not freed, by the allocator's count",
            m.memory_allocated_bytes.clone(),
        );
        r.register(
            "memory_resident_bytes",
            "Octets of resident pages the allocator holds",
            m.memory_resident_bytes.clone(),
        );
        r.register(
            "rocksdb_memory_bytes",
            "Octets RocksDB holds in memory for the node's database, by part",
            m.rocksdb_memory_bytes.clone(),
        );
        NodeMetrics { registry: r, ..m }
    }

    /// Set the RocksDB memory gauges from `memory`.
    pub fn set_db_memory(&self, memory: &crate::store::DbMemory) {
        let gauge = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        for (part, bytes) in [
            (DbMemoryPart::block_cache, memory.block_cache),
            (DbMemoryPart::block_cache_pinned, memory.block_cache_pinned),
            (DbMemoryPart::memtables, memory.memtables),
            (DbMemoryPart::table_readers, memory.table_readers),
        ] {
            self.rocksdb_memory_bytes
                .get_or_create(&DbMemoryLabel { part })
                .set(gauge(bytes));
        }
    }

    /// Every metric in the OpenMetrics text format, the memory gauges read now.
    pub fn encode(&self) -> String {
        let gauge = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        if let Some(rss) = process_resident_bytes() {
            self.process_resident_bytes.set(gauge(rss));
        }
        if let Some(stats) = allocator_stats() {
            self.memory_allocated_bytes.set(gauge(stats.allocated));
            self.memory_resident_bytes.set(gauge(stats.resident));
        }
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// Why the metrics server did not start.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    /// The port could not be bound.
    #[error("metrics: cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The operating system's error.
        source: std::io::Error,
    },
}

/// A running `/metrics` server; dropping it stops it.
#[derive(Debug)]
pub struct MetricsServer {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl MetricsServer {
    /// The bound address (with the real port when 0 was asked).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serve `metrics` at `http://127.0.0.1:port/metrics` (port 0: any free port).
/// Must be called within a tokio runtime.
pub async fn serve(port: u16, metrics: Arc<NodeMetrics>) -> Result<MetricsServer, MetricsError> {
    let asked = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let bind = |source| MetricsError::Bind {
        addr: asked,
        source,
    };
    let listener = TcpListener::bind(asked).await.map_err(bind)?;
    let addr = listener.local_addr().map_err(bind)?;
    let task = tokio::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    let metrics = metrics.clone();
                    tokio::spawn(async move {
                        if let Err(e) = answer(stream, &metrics).await {
                            tracing::debug!("metrics request: {e}");
                        }
                    });
                }
                Err(e) => {
                    tracing::warn!("metrics: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    });
    tracing::info!(%addr, "Prometheus metrics at http://{addr}/metrics");
    Ok(MetricsServer { addr, task })
}

/// Read one request head and answer it: 200 with the metrics for `GET /metrics`,
/// 404 for another path, 405 for another method, 400 for a head that is too long,
/// malformed or late.
async fn answer(mut stream: TcpStream, metrics: &NodeMetrics) -> std::io::Result<()> {
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 1024];
    let complete = tokio::time::timeout(REQUEST_TIMEOUT, async {
        loop {
            if head.windows(4).any(|w| w == b"\r\n\r\n") {
                return Ok::<bool, std::io::Error>(true);
            }
            if head.len() >= MAX_REQUEST_HEAD {
                return Ok(false);
            }
            let n = stream.read(&mut buf).await?;
            if n == 0 {
                return Ok(false);
            }
            head.extend_from_slice(&buf[..n]);
        }
    })
    .await
    .unwrap_or(Ok(false))?;
    let line = head.split(|&b| b == b'\r').next().unwrap_or_default();
    let mut parts = line.split(|&b| b == b' ');
    let (method, path) = (parts.next(), parts.next());
    let (status, ctype, body) = match (complete, method, path) {
        (false, ..) => ("400 Bad Request", "text/plain", "bad request\n".to_owned()),
        (true, Some(b"GET"), Some(b"/metrics")) => (
            "200 OK",
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            metrics.encode(),
        ),
        (true, Some(b"GET"), _) => ("404 Not Found", "text/plain", "try /metrics\n".to_owned()),
        _ => (
            "405 Method Not Allowed",
            "text/plain",
            "only GET\n".to_owned(),
        ),
    };
    let reply = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(reply.as_bytes()).await?;
    stream.shutdown().await
}

//! The workloads of `tessera bench net`: JAMNP-S (`simple.md`) over QUIC and TLS 1.3 on
//! loopback, each beside a plain TCP loopback copy of the same bytes measured in the
//! same run, so that the ratio — not the absolute figure — is what is compared.
//!
//! - [`Workload::Fanout`] (issue #16 (a)): one guarantor endpoint serves a whole
//!   bundle shard set — for each of `V` validators its bundle shard, its exported and
//!   proof segment shards and a justification, the CE 137 response of JAMNP-S "Shard
//!   distribution", ~80 MB at full spec — to `peers` requesting endpoints (default
//!   `V`, each a QUIC endpoint of its own in this process), all asking at once. Over
//!   TCP: one listener and `peers` connections carrying the same framing.
//! - [`Workload::Stream`] ((b)): one large CE 143 response at a time on one
//!   connection, back to back: single-stream transfer in MB/s. Over TCP: one
//!   connection, the same frames.
//! - [`Workload::RoundTrip`] ((c)): small CE 143 requests and 64-octet responses, one
//!   at a time: round trips per second. Over JAMNP-S each is a new QUIC stream (as
//!   every CE request is); over TCP a request on one open connection, which is the
//!   cheapest a stream-per-request protocol could hope to be.
//!
//! The TCP copies frame exactly as JAMNP-S does (kind octet, then each message behind
//! a little-endian `u32` size) and encode and decode the same typed messages, so the
//! ratio is the cost of QUIC and TLS (and of the `Network` handle's bookkeeping) on
//! this machine. Timed sections start once every connection is open; the time to open
//! them is reported beside (`setup_seconds`). Content is deterministic filler of the
//! spec's sizes: the network does not look at it.
//!
//! This module starts no runtime: the caller runs [`measure`] on its tokio runtime.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use tessera_core::{ByteArray, ChainSpec, Hash};
use tessera_net::messages::{
    bounds, Justification, JustificationStep, PreimageRequest, Raw, SegmentShards,
    ShardDistribution, ShardRequest, ShardResponse,
};
use tessera_net::{Identity, Network, NetworkConfig, Protocol, Refusal, Wire};
use tessera_test_support::SplitMix;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

/// One of the three measurements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    /// (a) One guarantor, one CE 137 response per validator, all requested at once.
    Fanout,
    /// (b) Large responses on one connection, one stream at a time.
    Stream,
    /// (c) Small requests and responses, one at a time.
    RoundTrip,
}

impl Workload {
    /// The name in records and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Workload::Fanout => "fanout",
            Workload::Stream => "stream",
            Workload::RoundTrip => "rtt",
        }
    }
}

impl std::str::FromStr for Workload {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [Workload::Fanout, Workload::Stream, Workload::RoundTrip]
            .into_iter()
            .find(|w| w.name() == s)
            .ok_or_else(|| format!("unknown workload `{s}`: expected fanout, stream or rtt"))
    }
}

/// What a run measures.
#[derive(Clone, Debug)]
pub struct NetConfig {
    /// Workloads, in order.
    pub workloads: Vec<Workload>,
    /// Requesting endpoints of `fanout` (0: `V`, one per validator).
    pub peers: usize,
    /// Octets of each `stream` response.
    pub stream_bytes: usize,
    /// Octets `stream` moves in all (at least one response).
    pub volume: usize,
    /// Requests of `rtt`.
    pub round_trips: usize,
}

/// One measurement.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Record {
    /// `fanout`, `stream` or `rtt`.
    pub workload: &'static str,
    /// `jamnp-s` or `tcp`.
    pub transport: &'static str,
    /// Connections (requesting endpoints for `fanout`, else 1).
    pub peers: usize,
    /// Requests answered.
    pub requests: usize,
    /// Octets of every response's messages together.
    pub response_bytes: usize,
    /// Time to open the connections (not in `seconds`).
    pub setup_seconds: f64,
    /// Wall time of the requests.
    pub seconds: f64,
    /// Requests per second.
    pub requests_per_s: f64,
    /// Response MB/s (10^6 octets).
    pub mb_per_s: f64,
    /// The TCP copy's time over this one's: 1 for `tcp`, below 1 where JAMNP-S is
    /// slower.
    pub vs_tcp: f64,
}

/// Run every workload of `config`, JAMNP-S then TCP for each; the records come in
/// that order.
pub async fn measure(spec: &ChainSpec, config: &NetConfig) -> anyhow::Result<Vec<Record>> {
    let mut records = Vec::new();
    for &workload in &config.workloads {
        let (jamnp, tcp) = match workload {
            Workload::Fanout => fanout(spec, config).await?,
            Workload::Stream => {
                let size = config.stream_bytes.max(1);
                let requests = (config.volume / size).max(1);
                one_connection(spec, workload, size, requests).await?
            }
            Workload::RoundTrip => {
                one_connection(spec, workload, 64, config.round_trips.max(1)).await?
            }
        };
        let ratio = tcp.seconds / jamnp.seconds;
        records.push(Record {
            vs_tcp: ratio,
            ..jamnp
        });
        records.push(tcp);
    }
    Ok(records)
}

/// The table of `records`.
pub fn print_table(records: &[Record]) {
    println!(
        "{:>8} {:>9} {:>6} {:>8} {:>13} {:>9} {:>9} {:>12} {:>10} {:>7}",
        "workload",
        "transport",
        "peers",
        "requests",
        "bytes",
        "setup s",
        "seconds",
        "requests/s",
        "MB/s",
        "vs tcp"
    );
    for r in records {
        println!(
            "{:>8} {:>9} {:>6} {:>8} {:>13} {:>9.3} {:>9.3} {:>12.0} {:>10.1} {:>6.2}x",
            r.workload,
            r.transport,
            r.peers,
            r.requests,
            r.response_bytes,
            r.setup_seconds,
            r.seconds,
            r.requests_per_s,
            r.mb_per_s,
            r.vs_tcp
        );
    }
}

/// A record of `requests` responses of `response_bytes` octets in all.
fn record(
    workload: Workload,
    transport: &'static str,
    (peers, requests, response_bytes): (usize, usize, usize),
    setup: Duration,
    took: Duration,
) -> Record {
    let seconds = took.as_secs_f64().max(f64::MIN_POSITIVE);
    Record {
        workload: workload.name(),
        transport,
        peers,
        requests,
        response_bytes,
        setup_seconds: setup.as_secs_f64(),
        seconds,
        requests_per_s: requests as f64 / seconds,
        mb_per_s: response_bytes as f64 / seconds / 1e6,
        vs_tcp: 1.0,
    }
}

/// Settings for the bench's endpoints (every bench that runs JAMNP-S on loopback):
/// timeouts long enough for a loaded 2-core machine opening a thousand handshakes,
/// and room for `peers` requests of one kind in flight.
pub(crate) fn endpoint_config(peers: usize) -> anyhow::Result<NetworkConfig> {
    let mut config = NetworkConfig::new("127.0.0.1:0".parse()?, ByteArray([0; 32]));
    config.request_timeout = Duration::from_secs(120);
    config.stream_timeout = Duration::from_secs(120);
    config.handshake_timeout = Duration::from_secs(120);
    config.idle_timeout = Duration::from_secs(300);
    config.max_inflight_per_kind = config.max_inflight_per_kind.max(peers);
    Ok(config)
}

/// An endpoint whose Ed25519 key is seeded by `n`.
pub(crate) fn endpoint(
    spec: &ChainSpec,
    n: u32,
    config: &NetworkConfig,
) -> anyhow::Result<Network> {
    let mut seed = [0u8; 32];
    seed[..4].copy_from_slice(&n.to_le_bytes());
    seed[31] = 0xbe;
    Network::start(
        Identity::from_ed25519_seed(seed),
        spec.clone(),
        config.clone(),
    )
    .context("starting a JAMNP-S endpoint")
}

/// Validator `i`'s CE 137 response for a maximum-size package of `spec`: a bundle
/// shard of `2·⌈W_B / W_E⌉` octets, `W_X + ⌈W_X / 64⌉` segment shards of `2·W_P`
/// octets, and a co-path of `⌈log2 V⌉` hashes.
fn shard_response(spec: &ChainSpec, rng: &mut SplitMix) -> ShardResponse {
    let depth = spec.validators().next_power_of_two().trailing_zeros() as usize;
    ShardResponse {
        bundle_shard: rng.bytes(bounds::bundle_shard(spec)),
        segment_shards: SegmentShards(
            (0..bounds::exported_and_proof_segments(spec))
                .map(|_| rng.bytes(bounds::segment_shard(spec)))
                .collect(),
        ),
        justification: Justification(
            (0..depth)
                .map(|_| {
                    let mut hash = [0u8; 32];
                    hash.copy_from_slice(&rng.bytes(32));
                    JustificationStep::Hash(ByteArray(hash))
                })
                .collect(),
        ),
    }
}

/// Octets of a response's messages.
fn wire_bytes<W: Wire>(response: &W) -> usize {
    response.to_messages().iter().map(Vec::len).sum()
}

/// (a): the JAMNP-S and TCP records of one guarantor serving every validator's shards.
async fn fanout(spec: &ChainSpec, config: &NetConfig) -> anyhow::Result<(Record, Record)> {
    let v = spec.validators();
    let peers = match config.peers {
        0 => v,
        n => n,
    };
    let mut rng = SplitMix(0x137);
    let responses: Arc<Vec<ShardResponse>> =
        Arc::new((0..v).map(|_| shard_response(spec, &mut rng)).collect());
    // Requester `i` asks for shard `i mod V`.
    let total: usize = (0..peers).map(|i| wire_bytes(&responses[i % v])).sum();
    let root = ByteArray([0x13; 32]);

    let settings = endpoint_config(peers)?;
    let guarantor = endpoint(spec, 0, &settings)?;
    let served = responses.clone();
    guarantor.register::<ShardDistribution, _, _>(move |_, request: ShardRequest| {
        let response = served.get(usize::from(request.shard_index)).cloned();
        async move { response.ok_or_else(|| Refusal("no such shard".into())) }
    });
    let (id, addr) = (guarantor.peer_id(), guarantor.local_addr()?);
    let started = Instant::now();
    let mut requesters = Vec::with_capacity(peers);
    for i in 0..peers {
        let n = u32::try_from(i + 1).context("too many peers")?;
        requesters.push(endpoint(spec, n, &settings)?);
    }
    // Handshakes a few dozen at a time: all at once only measures the queue.
    let mut dials = JoinSet::new();
    for requester in &requesters {
        if dials.len() >= 32 {
            dials.join_next().await.context("a dial task")???;
        }
        let requester = requester.clone();
        dials.spawn(async move { requester.connect(id, addr).await.map(|_| ()) });
    }
    while let Some(dial) = dials.join_next().await {
        dial??;
    }
    let setup = started.elapsed();
    let started = Instant::now();
    let mut asks = JoinSet::new();
    for (i, requester) in requesters.iter().enumerate() {
        let (requester, expected) = (requester.clone(), responses[i % v].bundle_shard.len());
        let shard_index = u16::try_from(i % v).context("shard index")?;
        asks.spawn(async move {
            let request = ShardRequest {
                erasure_root: root,
                shard_index,
            };
            let response = requester
                .request::<ShardDistribution>(&id, &request)
                .await?;
            anyhow::ensure!(response.bundle_shard.len() == expected, "short shard");
            Ok(())
        });
    }
    while let Some(ask) = asks.join_next().await {
        ask??;
    }
    let took = started.elapsed();
    let shape = (peers, peers, total);
    let jamnp = record(Workload::Fanout, "jamnp-s", shape, setup, took);
    for requester in &requesters {
        requester.close();
    }
    guarantor.close();

    let answer = move |request: ShardRequest| {
        let shard = responses.get(usize::from(request.shard_index));
        shard.cloned().unwrap_or_default()
    };
    let (tcp_addr, serving) =
        tcp_server::<ShardDistribution>(spec, peers, Arc::new(answer)).await?;
    let started = Instant::now();
    let mut sockets = Vec::with_capacity(peers);
    for _ in 0..peers {
        sockets.push(tcp_connect(tcp_addr).await?);
    }
    let setup = started.elapsed();
    let started = Instant::now();
    let mut asks = JoinSet::new();
    for (i, mut socket) in sockets.into_iter().enumerate() {
        let spec = spec.clone();
        let shard_index = u16::try_from(i % v).context("shard index")?;
        asks.spawn(async move {
            let request = ShardRequest {
                erasure_root: root,
                shard_index,
            };
            tcp_request::<ShardDistribution>(&spec, &mut socket, &request).await
        });
    }
    while let Some(ask) = asks.join_next().await {
        ask??;
    }
    let tcp = record(Workload::Fanout, "tcp", shape, setup, started.elapsed());
    serving.await??;
    Ok((jamnp, tcp))
}

/// (b) and (c): `requests` CE 143 requests one after another on one connection, each
/// answered with `size` octets.
async fn one_connection(
    spec: &ChainSpec,
    workload: Workload,
    size: usize,
    requests: usize,
) -> anyhow::Result<(Record, Record)> {
    let payload = Raw(SplitMix(0x143).bytes(size));
    let settings = endpoint_config(1)?;
    let server = endpoint(spec, 0, &settings)?;
    let client = endpoint(spec, 1, &settings)?;
    let served = payload.clone();
    server.register::<PreimageRequest, _, _>(move |_, _| {
        let response = served.clone();
        async move { Ok(response) }
    });
    let started = Instant::now();
    client
        .connect(server.peer_id(), server.local_addr()?)
        .await?;
    let setup = started.elapsed();
    let hash = ByteArray([7; 32]);
    let started = Instant::now();
    for _ in 0..requests {
        let response = client
            .request::<PreimageRequest>(&server.peer_id(), &hash)
            .await?;
        anyhow::ensure!(response.0.len() == size, "short response");
    }
    let shape = (1, requests, requests * size);
    let jamnp = record(workload, "jamnp-s", shape, setup, started.elapsed());
    client.close();
    server.close();

    let answer = move |_: Hash| payload.clone();
    let (addr, serving) = tcp_server::<PreimageRequest>(spec, 1, Arc::new(answer)).await?;
    let started = Instant::now();
    let mut socket = tcp_connect(addr).await?;
    let setup = started.elapsed();
    let started = Instant::now();
    for _ in 0..requests {
        let response = tcp_request::<PreimageRequest>(spec, &mut socket, &hash).await?;
        anyhow::ensure!(response.0.len() == size, "short response");
    }
    let tcp = record(workload, "tcp", shape, setup, started.elapsed());
    drop(socket);
    serving.await??;
    Ok((jamnp, tcp))
}

type Answer<P> = Arc<dyn Fn(<P as Protocol>::Request) -> <P as Protocol>::Response + Send + Sync>;

async fn tcp_connect(addr: SocketAddr) -> anyhow::Result<TcpStream> {
    let socket = TcpStream::connect(addr).await?;
    socket.set_nodelay(true)?;
    Ok(socket)
}

/// A loopback TCP listener serving `connections` connections ([`serve_tcp`]), and
/// its address.
async fn tcp_server<P: Protocol>(
    spec: &ChainSpec,
    connections: usize,
    answer: Answer<P>,
) -> anyhow::Result<(SocketAddr, JoinHandle<anyhow::Result<()>>)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let spec = Arc::new(spec.clone());
    let serving = tokio::spawn(serve_tcp::<P>(spec, listener, connections, answer));
    Ok((addr, serving))
}

/// Serve `connections` TCP connections, each until its peer closes: every request is
/// `P`'s kind octet and its framed messages (a message count known to both sides, as
/// a stream's FIN would say), every answer `P`'s framed response messages.
async fn serve_tcp<P: Protocol>(
    spec: Arc<ChainSpec>,
    listener: TcpListener,
    connections: usize,
    answer: Answer<P>,
) -> anyhow::Result<()> {
    let mut served = JoinSet::new();
    for _ in 0..connections {
        let (mut socket, _) = listener.accept().await?;
        socket.set_nodelay(true)?;
        let (answer, spec) = (answer.clone(), spec.clone());
        served.spawn(async move {
            let mut kind = [0u8; 1];
            while socket.read_exact(&mut kind).await.is_ok() {
                anyhow::ensure!(kind[0] == P::KIND, "wrong kind {}", kind[0]);
                let messages = read_frames(&mut socket, P::Request::max_messages(&spec), |i| {
                    <P::Request as Wire>::max_size(&spec, i)
                })
                .await?;
                let request = P::Request::from_messages(&spec, &messages)?;
                write_frames(&mut socket, &answer(request).to_messages()).await?;
            }
            Ok(())
        });
    }
    while let Some(done) = served.join_next().await {
        done??;
    }
    Ok(())
}

/// One request over TCP in the JAMNP-S framing, and its decoded response.
async fn tcp_request<P: Protocol>(
    spec: &ChainSpec,
    socket: &mut TcpStream,
    request: &P::Request,
) -> anyhow::Result<P::Response> {
    socket.write_all(&[P::KIND]).await?;
    write_frames(socket, &request.to_messages()).await?;
    let count = P::Response::max_messages(spec);
    let messages = read_frames(socket, count, |i| P::Response::max_size(spec, i)).await?;
    Ok(P::Response::from_messages(spec, &messages)?)
}

/// Write each message behind its `u32` size, as JAMNP-S frames them.
async fn write_frames(socket: &mut TcpStream, messages: &[Vec<u8>]) -> anyhow::Result<()> {
    for m in messages {
        let size = u32::try_from(m.len()).context("message too large")?;
        socket.write_all(&size.to_le_bytes()).await?;
        socket.write_all(m).await?;
    }
    Ok(())
}

/// Read `count` framed messages, message `i` at most `max(i)` octets.
async fn read_frames(
    socket: &mut TcpStream,
    count: usize,
    max: impl Fn(usize) -> u32,
) -> anyhow::Result<Vec<Vec<u8>>> {
    let mut messages = Vec::with_capacity(count);
    for i in 0..count {
        let size = socket.read_u32_le().await?;
        anyhow::ensure!(size <= max(i), "message {i} of {size} octets is too large");
        let mut message = vec![0; size as usize];
        socket.read_exact(&mut message).await?;
        messages.push(message);
    }
    Ok(messages)
}

//! `tessera bench net`: JAMNP-S request/response throughput on loopback, beside a
//! plain TCP loopback copy of the same framing measured in the same run.
//!
//! Both sides run in this process on one tokio runtime. Each workload makes
//! `requests` requests, `concurrency` at a time: over JAMNP-S, CE 143 streams on
//! one QUIC connection (TLS 1.3, Ed25519 certificates, each stream opened, sized
//! and finished as the spec says); over TCP, `concurrency` connections carrying
//! the same kind byte, `u32` size prefix and content, one request at a time each,
//! with no encryption. The ratio is the cost of QUIC and TLS on this machine.
//! Self-contained so that it can move to a benches crate as it is.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Args;
use tessera_core::{ByteArray, ChainSpec};
use tessera_net::messages::{PreimageRequest, Raw};
use tessera_net::{Identity, Network, NetworkConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Arguments of `tessera bench net`.
#[derive(Debug, Args)]
pub struct NetArgs {
    /// Response sizes in octets, one workload each.
    #[arg(long, value_delimiter = ',', default_values_t = [64usize, 65_536, 4_194_304])]
    pub sizes: Vec<usize>,
    /// Octets to move per workload (the request count is this over the size, at
    /// least 200 and at most 20,000).
    #[arg(long, default_value_t = 256 * 1024 * 1024)]
    pub volume: usize,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// Print JSON records instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// One measurement.
#[derive(Debug, serde::Serialize)]
pub struct Record {
    /// `jamnp-s` or `tcp`.
    pub transport: &'static str,
    /// Response size in octets.
    pub response_bytes: usize,
    /// Requests made.
    pub requests: usize,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Wall time.
    pub seconds: f64,
    /// Requests per second.
    pub requests_per_s: f64,
    /// Response payload MB/s (10^6 octets).
    pub mb_per_s: f64,
}

/// Run the benchmark.
pub fn run(spec: &ChainSpec, args: &NetArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    let records = runtime.block_on(measure(spec.clone(), args))?;
    if args.json {
        for r in &records {
            println!("{}", serde_json::to_string(r)?);
        }
    } else {
        println!(
            "{:>10} {:>9} {:>8} {:>12} {:>10} {:>8}",
            "size", "transport", "requests", "requests/s", "MB/s", "vs tcp"
        );
        for pair in records.chunks(2) {
            let tcp = pair.get(1).map_or(f64::NAN, |t| t.mb_per_s);
            for r in pair {
                println!(
                    "{:>10} {:>9} {:>8} {:>12.0} {:>10.1} {:>7.2}x",
                    r.response_bytes,
                    r.transport,
                    r.requests,
                    r.requests_per_s,
                    r.mb_per_s,
                    r.mb_per_s / tcp
                );
            }
        }
    }
    Ok(())
}

async fn measure(spec: ChainSpec, args: &NetArgs) -> anyhow::Result<Vec<Record>> {
    let listen: SocketAddr = "127.0.0.1:0".parse()?;
    let mut config = NetworkConfig::new(listen, ByteArray([0; 32]));
    config.request_timeout = Duration::from_secs(60);
    config.max_inflight_per_kind = args.concurrency.max(1) * 2;
    let server = Network::start(
        Identity::from_ed25519_seed([1; 32]),
        spec.clone(),
        config.clone(),
    )?;
    let client = Network::start(Identity::from_ed25519_seed([2; 32]), spec, config)?;
    client
        .connect(server.peer_id(), server.local_addr()?)
        .await?;
    let mut out = Vec::new();
    for &size in &args.sizes {
        let payload = Arc::new(vec![0xA5u8; size]);
        let p = payload.clone();
        server.register::<PreimageRequest, _, _>(move |_, _| {
            let p = p.clone();
            async move { Ok(Raw(p.as_ref().clone())) }
        });
        let requests = (args.volume / size.max(1)).clamp(200, 20_000);
        let concurrency = args.concurrency.max(1);

        let start = Instant::now();
        let per_task = requests.div_ceil(concurrency);
        let mut tasks = Vec::new();
        for _ in 0..concurrency {
            let (c, peer) = (client.clone(), server.peer_id());
            tasks.push(tokio::spawn(async move {
                for _ in 0..per_task {
                    let r = c
                        .request::<PreimageRequest>(&peer, &ByteArray([7; 32]))
                        .await?;
                    anyhow::ensure!(r.0.len() == size, "short response");
                }
                Ok::<(), anyhow::Error>(())
            }));
        }
        for t in tasks {
            t.await??;
        }
        out.push(record(
            "jamnp-s",
            size,
            per_task * concurrency,
            concurrency,
            start.elapsed(),
        ));

        let tcp = TcpListener::bind(listen).await?;
        let tcp_addr = tcp.local_addr()?;
        let serve = tokio::spawn(serve_tcp(tcp, payload.clone(), concurrency));
        let start = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..concurrency {
            tasks.push(tokio::spawn(tcp_client(tcp_addr, per_task, size)));
        }
        for t in tasks {
            t.await??;
        }
        out.push(record(
            "tcp",
            size,
            per_task * concurrency,
            concurrency,
            start.elapsed(),
        ));
        serve.await??;
    }
    client.close();
    server.close();
    Ok(out)
}

fn record(
    transport: &'static str,
    size: usize,
    requests: usize,
    concurrency: usize,
    took: Duration,
) -> Record {
    let seconds = took.as_secs_f64();
    Record {
        transport,
        response_bytes: size,
        requests,
        concurrency,
        seconds,
        requests_per_s: requests as f64 / seconds,
        mb_per_s: (requests * size) as f64 / seconds / 1e6,
    }
}

/// Serve `connections` TCP connections: each request is a kind byte and one
/// framed 32-octet message; each response one framed payload.
async fn serve_tcp(
    listener: TcpListener,
    payload: Arc<Vec<u8>>,
    connections: usize,
) -> anyhow::Result<()> {
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (mut sock, _) = listener.accept().await?;
        sock.set_nodelay(true)?;
        let payload = payload.clone();
        tasks.push(tokio::spawn(async move {
            let mut req = [0u8; 1 + 4 + 32];
            while sock.read_exact(&mut req).await.is_ok() {
                sock.write_all(&(payload.len() as u32).to_le_bytes())
                    .await?;
                sock.write_all(&payload).await?;
            }
            Ok::<(), std::io::Error>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(())
}

async fn tcp_client(addr: SocketAddr, requests: usize, size: usize) -> anyhow::Result<()> {
    let mut sock = TcpStream::connect(addr).await?;
    sock.set_nodelay(true)?;
    let mut req = vec![143u8];
    req.extend_from_slice(&32u32.to_le_bytes());
    req.extend_from_slice(&[7; 32]);
    let mut buf = vec![0u8; size];
    for _ in 0..requests {
        sock.write_all(&req).await?;
        let mut prefix = [0u8; 4];
        sock.read_exact(&mut prefix).await?;
        anyhow::ensure!(u32::from_le_bytes(prefix) as usize == size, "size mismatch");
        sock.read_exact(&mut buf).await?;
    }
    Ok(())
}

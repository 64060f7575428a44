//! `tessera net-ping` (hidden, diagnostic): start a JAMNP-S endpoint under a
//! JIP-5 development identity and either serve or dial one peer, make one CE 143
//! request and print what happened. Two processes pointed at each other check a
//! whole handshake and a request over real sockets.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use tessera_core::crypto::jip5::ValidatorSecrets;
use tessera_core::{ByteArray, ChainSpec};
use tessera_net::messages::{PreimageRequest, Raw};
use tessera_net::{Identity, Network, NetworkConfig, PeerId};

/// Arguments of `tessera net-ping`.
#[derive(Debug, Args)]
pub struct NetPingArgs {
    /// Our identity: development validator `I` (JIP-5).
    #[arg(long, value_name = "I")]
    pub dev: u32,
    /// UDP address to listen on; its actual value is printed as `listening ADDR`.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// Dial this address…
    #[arg(long, requires = "peer_dev")]
    pub connect: Option<SocketAddr>,
    /// …expecting development validator `J` there.
    #[arg(long, value_name = "J")]
    pub peer_dev: Option<u32>,
    /// Genesis header hash (hex) naming the chain in ALPN.
    #[arg(long, default_value = "00")]
    pub genesis: String,
    /// How long to serve (without `--connect`) or to wait for the exchange.
    #[arg(long, default_value_t = 10_000)]
    pub timeout_ms: u64,
}

/// Run `tessera net-ping`.
pub fn run(spec: &ChainSpec, args: &NetPingArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    runtime.block_on(ping(spec.clone(), args))
}

fn identity(dev: u32) -> Identity {
    Identity::new(ValidatorSecrets::dev(dev).ed25519)
}

async fn ping(spec: ChainSpec, args: &NetPingArgs) -> anyhow::Result<()> {
    let mut genesis = [0u8; 32];
    let g = hex::decode(args.genesis.trim_start_matches("0x")).context("genesis is not hex")?;
    let n = g.len().min(32);
    genesis[..n].copy_from_slice(&g[..n]);
    let mut config = NetworkConfig::new(args.listen, ByteArray(genesis));
    let timeout = Duration::from_millis(args.timeout_ms);
    config.request_timeout = timeout;
    let net = Network::start(identity(args.dev), spec, config)?;
    net.register::<PreimageRequest, _, _>(|_, hash| async move { Ok(Raw(hash.0.to_vec())) });
    println!(
        "listening {} as {}",
        net.local_addr()?,
        net.peer_id().alt_name()
    );
    match (args.connect, args.peer_dev) {
        (Some(addr), Some(j)) => {
            let peer: PeerId = identity(j).peer_id();
            tokio::time::timeout(timeout, net.connect(peer, addr))
                .await
                .context("dial timed out")??;
            let hash = ByteArray([0x42; 32]);
            let got = net.request::<PreimageRequest>(&peer, &hash).await?;
            anyhow::ensure!(got.0 == hash.0, "echo mismatch");
            println!("ok {} handshake and CE 143 round trip", peer.alt_name());
            net.close();
        }
        _ => {
            tokio::time::sleep(timeout).await;
            net.close();
        }
    }
    Ok(())
}

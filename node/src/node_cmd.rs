//! `tessera node`: one validator node for a real deployment (or a local network
//! of separate processes): its keys, its database under `--base-path`, its
//! endpoint, its peers, and the slot clock of the JAM Common Era (GP 4.4). With
//! `--follower`, a node that follows the chain without validating.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::Context as _;
use clap::Args;
use tessera_core::crypto::jip5::ValidatorSecrets;
use tessera_core::spec::ChainSpec;
use tessera_kernels::Backend;
use tessera_net::PeerId;
use tracing::info;

use crate::auditor::AuditDuty;
use crate::chain::Chain;
use crate::node::{Node, NodeConfig, NodeEvent};
use crate::store::StateStore;

/// Arguments of `tessera node`.
#[derive(Clone, Debug, Args)]
pub struct NodeArgs {
    /// Where the node keeps its database.
    #[arg(long, default_value = "tessera-data")]
    pub base_path: PathBuf,
    /// Run as JIP-5 development validator `I` (seed `trivial_seed(I)`).
    #[arg(long, conflicts_with = "key_file")]
    pub dev: Option<u32>,
    /// A file holding the validator's JIP-5 seed: 32 octets as 64 hex digits
    /// (repeat to host several validators, see `--validators-hosted`).
    #[arg(long)]
    pub key_file: Vec<PathBuf>,
    /// Host this many validators in this process, sharing one audit farm (each
    /// report they select is fetched and re-executed once, judged by each): with
    /// `--dev I`, validators `I … I+K−1`; with `--key-file`, one per file (K may
    /// then be left out). Each has its own endpoint (the `--listen` port plus
    /// its position), its own database (`hosted-J` under the base path when
    /// there are several) and authors, guarantees and assures as any validator;
    /// RPC, metrics and telemetry serve the first.
    #[arg(long)]
    pub validators_hosted: Option<u32>,
    /// Follow the chain without validating: sync blocks over CE 128, import
    /// them, observe GRANDPA finality from the validators' commits, serve
    /// blocks, RPC, metrics and telemetry; author, guarantee, assure and audit
    /// nothing. Its endpoint's key is made on first start and kept in
    /// `node-key` under the base path.
    #[arg(long, conflicts_with_all = ["dev", "key_file", "validators_hosted"])]
    pub follower: bool,
    /// The UDP address to listen on.
    #[arg(long, default_value = "0.0.0.0:40000")]
    pub listen: SocketAddr,
    /// A peer to keep connected, `N(k)@ip:port` (repeat for more).
    #[arg(long)]
    pub bootnode: Vec<String>,
    /// Slot length in seconds (the GP's is 6; every node of a network must agree).
    #[arg(long, default_value_t = 6.0)]
    pub slot_seconds: f64,
    /// When slot 0 began, in Unix seconds (default: the JAM Common Era,
    /// 2025-01-01 12:00 UTC, GP 4.4).
    #[arg(long)]
    pub genesis_time: Option<u64>,
    /// Where data-availability kernels run: auto, gpu, simd or cpu.
    #[arg(long, default_value = "auto")]
    pub da_backend: String,
    /// Stop after this many slots (default: run until Ctrl-C).
    #[arg(long)]
    pub slots: Option<u32>,
    /// Keep every state (default: prune states behind the finalized block).
    #[arg(long)]
    pub archive: bool,
    /// A JIP-4 chain spec file: its protocol parameters, genesis header and state
    /// and bootnodes replace `--chain` and the embedded testnet genesis.
    #[arg(long)]
    pub chainspec: Option<PathBuf>,
    /// The JIP-2 RPC port (WebSocket), on 127.0.0.1 unless `--rpc-external`.
    #[arg(long, default_value_t = crate::rpc::DEFAULT_PORT)]
    pub rpc_port: u16,
    /// Serve RPC on every interface.
    #[arg(long)]
    pub rpc_external: bool,
    /// No RPC server.
    #[arg(long)]
    pub no_rpc: bool,
    /// The Prometheus `/metrics` port, on 127.0.0.1.
    #[arg(long, default_value_t = crate::metrics::DEFAULT_PORT)]
    pub prometheus_port: u16,
    /// No Prometheus endpoint.
    #[arg(long)]
    pub no_prometheus: bool,
    /// A JIP-3 telemetry server to send events to, `HOST:PORT`.
    #[arg(long)]
    pub telemetry: Option<String>,
}

impl NodeArgs {
    /// The interfaces these arguments ask for.
    pub fn operator(&self) -> crate::operator::OperatorConfig {
        crate::operator::OperatorConfig {
            rpc: (!self.no_rpc).then_some(crate::rpc::RpcConfig {
                port: self.rpc_port,
                external: self.rpc_external,
            }),
            prometheus_port: (!self.no_prometheus).then_some(self.prometheus_port),
            telemetry: self.telemetry.clone(),
        }
    }
}

/// The hosted validators' keys, from `--dev` (and `--validators-hosted`) or the
/// `--key-file`s.
fn keys(args: &NodeArgs) -> anyhow::Result<Vec<ValidatorSecrets>> {
    const MAX_HOSTED: u32 = 1023;
    match (&args.dev, args.key_file.as_slice(), args.validators_hosted) {
        (_, _, Some(0)) => anyhow::bail!("--validators-hosted 0: host at least one validator"),
        (_, _, Some(k)) if k > MAX_HOSTED => {
            anyhow::bail!("--validators-hosted {k}: at most {MAX_HOSTED} (V of the full spec)")
        }
        (Some(i), _, k) => {
            let k = k.unwrap_or(1);
            let last = i.checked_add(k - 1).ok_or_else(|| {
                anyhow::anyhow!("--dev {i} --validators-hosted {k}: past the last index")
            })?;
            Ok((*i..=last).map(ValidatorSecrets::dev).collect())
        }
        (None, [], _) if args.follower => Ok(vec![follower_identity(&args.base_path)?]),
        (None, [], _) => anyhow::bail!(
            "give the validator's keys (--dev I or --key-file FILE), or --follower to follow the chain without validating"
        ),
        (None, files, k) => {
            if let Some(k) = k.filter(|k| *k as usize != files.len()) {
                anyhow::bail!(
                    "--validators-hosted {k} with {} --key-file: one file per hosted validator",
                    files.len()
                );
            }
            files.iter().map(|path| key_file(path)).collect()
        }
    }
}

/// A follower's endpoint identity: the seed in `node-key` under `base`, made
/// from the operating system's randomness on first start, so that the node's
/// peer id stays the same across restarts.
fn follower_identity(base: &std::path::Path) -> anyhow::Result<ValidatorSecrets> {
    let path = base.join("node-key");
    if path.exists() {
        return key_file(&path);
    }
    std::fs::create_dir_all(base).with_context(|| format!("creating {}", base.display()))?;
    let mut seed = [0u8; 32];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut seed);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(&path)
        .with_context(|| format!("creating the node key {}", path.display()))?;
    std::io::Write::write_all(&mut file, hex::encode(seed).as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing the node key {}", path.display()))?;
    Ok(ValidatorSecrets::from_seed(&seed))
}

/// The JIP-5 seed in `path`: 64 hex digits.
fn key_file(path: &std::path::Path) -> anyhow::Result<ValidatorSecrets> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the key file {}", path.display()))?;
    let hex_seed = text.trim().trim_start_matches("0x");
    let bytes = hex::decode(hex_seed)
        .with_context(|| format!("key file {}: the seed is not hex", path.display()))?;
    let seed: [u8; 32] = bytes.try_into().map_err(|b: Vec<u8>| {
        anyhow::anyhow!(
            "key file {}: the seed is {} octets; a JIP-5 seed is 32",
            path.display(),
            b.len()
        )
    })?;
    Ok(ValidatorSecrets::from_seed(&seed))
}

/// `tessera node`.
pub fn run(spec: &ChainSpec, args: &NodeArgs) -> anyhow::Result<()> {
    if !(args.slot_seconds > 0.05 && args.slot_seconds <= 600.0) {
        anyhow::bail!(
            "--slot-seconds {} is out of range (0.05 < s ≤ 600)",
            args.slot_seconds
        );
    }
    let backend: Backend = args
        .da_backend
        .parse()
        .map_err(|e: String| anyhow::anyhow!("--da-backend: {e}"))?;
    let hosted = keys(args)?;
    let mut peers = args
        .bootnode
        .iter()
        .map(|b| {
            b.parse::<crate::chainspec::Bootnode>()
                .map(|b| (b.peer, b.addr))
                .map_err(|e| anyhow::anyhow!("--bootnode {b:?}: {e}"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let (spec, header, state) = match &args.chainspec {
        Some(path) => {
            let file = crate::chainspec::load(path)
                .with_context(|| format!("chain spec {}", path.display()))?;
            peers.extend(file.bootnodes.iter().map(|b| (b.peer, b.addr)));
            (file.spec, file.genesis_header, file.genesis_state)
        }
        None => {
            let validators: Vec<ValidatorSecrets> = (0..spec.validators())
                .map(|i| ValidatorSecrets::dev(u32::try_from(i).unwrap_or(u32::MAX)))
                .collect();
            let (header, state) = crate::genesis::testnet_genesis(spec, &validators)?;
            (spec.clone(), header, state)
        }
    };
    let spec = &spec;
    // Each hosted validator: its keys, its address (the `--listen` port plus its
    // position) and its chain over its own database.
    let mut members: Vec<(ValidatorSecrets, SocketAddr, Chain)> = Vec::new();
    for (j, keys) in hosted.iter().enumerate() {
        let port = match args.listen.port() {
            0 => 0,
            p => p.checked_add(u16::try_from(j)?).ok_or_else(|| {
                anyhow::anyhow!("--listen {}: no port for hosted validator {j}", args.listen)
            })?,
        };
        let listen = SocketAddr::new(args.listen.ip(), port);
        let base = if hosted.len() == 1 {
            args.base_path.clone()
        } else {
            args.base_path.join(format!("hosted-{j}"))
        };
        std::fs::create_dir_all(&base).with_context(|| format!("creating {}", base.display()))?;
        let store = StateStore::open(spec, &base.join("db"))
            .with_context(|| format!("opening the database in {}", base.display()))?;
        let mut chain = Chain::open(spec, store, &header, state.clone())?;
        chain.set_archive(args.archive);
        members.push((keys.clone(), listen, chain));
    }
    // The hosted validators keep each other connected too.
    let co_hosted: Vec<(PeerId, SocketAddr)> = members
        .iter()
        .map(|(keys, listen, _)| {
            let ip = if listen.ip().is_unspecified() {
                std::net::IpAddr::from([127, 0, 0, 1])
            } else {
                listen.ip()
            };
            (
                PeerId::from(keys.ed25519.public()),
                SocketAddr::new(ip, listen.port()),
            )
        })
        .collect();
    let genesis_hash = header.hash();
    let era = args
        .genesis_time
        .unwrap_or(tessera_audit::JAM_COMMON_ERA_UNIX);
    let slot_zero = SystemTime::UNIX_EPOCH + Duration::from_secs(era);
    let machine = tessera_benches::machine::Machine::probe(
        backend != Backend::Cpu && backend != Backend::Simd,
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    runtime.block_on(async {
        let slot_duration = Duration::from_secs_f64(args.slot_seconds);
        let farm = (members.len() > 1)
            .then(|| Arc::new(AuditDuty::new(spec, backend, slot_duration)));
        let mut nodes = Vec::new();
        for (keys, listen, chain) in members {
            let mut config = tessera_net::NetworkConfig::new(listen, genesis_hash);
            config.fallback_dial_delay = Duration::from_millis(500);
            config.reconnect_backoff_max = Duration::from_secs(5);
            let me = PeerId::from(keys.ed25519.public());
            let node_peers = peers
                .iter()
                .chain(&co_hosted)
                .filter(|(p, _)| *p != me)
                .copied()
                .collect();
            nodes.push(Node::start(
                NodeConfig {
                    spec: spec.clone(),
                    keys,
                    listen,
                    peers: node_peers,
                    slot_zero,
                    slot_duration,
                    network: config,
                    backend,
                    behaviour: crate::guarantor::Behaviour::Honest,
                    farm: farm.clone(),
                    follower: args.follower,
                },
                chain,
            )?);
        }
        let node = &nodes[0];
        let shared = node.shared().clone();
        let operator = crate::operator::start(shared.clone(), args.operator()).await;
        for n in &nodes {
            let shared = n.shared();
            let resumed = shared.chain().best().clone();
            info!(
                version = env!("CARGO_PKG_VERSION"),
                chain = if spec.validators() == 6 { "tiny" } else { "full" },
                genesis = %genesis_hash,
                role = if shared.validating { "validator" } else { "follower" },
                validator = shared.index_now(),
                name = %shared.network.peer_id(),
                listen = %shared.network.local_addr()?,
                simd = %machine.simd,
                gpu = %machine.gpu,
                cpu = %machine.cpu,
                pvm = tessera_pvm::Backend::default_choice().name(),
                best_height = resumed.height,
                best_slot = resumed.slot,
                hosted = nodes.len(),
                rpc = ?operator.rpc_addr(),
                prometheus = ?operator.metrics_addr(),
                "tessera node started"
            );
        }
        let mut events = node.subscribe();
        let stop_at = args.slots.map(|n| shared.slot_at(SystemTime::now()) + n);
        loop {
            tokio::select! {
                e = events.recv() => match e {
                    Ok(NodeEvent::Best(b)) => {
                        info!(slot = b.slot, height = b.height, hash = %b.hash, "best block");
                        if stop_at.is_some_and(|s| b.slot >= s) {
                            break;
                        }
                    }
                    Ok(NodeEvent::Finalized(f)) => {
                        info!(slot = f.slot, height = f.height, hash = %f.hash, "finalized block");
                    }
                    Ok(_) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                },
                _ = tokio::signal::ctrl_c() => {
                    info!("interrupted; stopping");
                    break;
                }
                _ = tokio::time::sleep(Duration::from_secs_f64(args.slot_seconds)) => {
                    if stop_at.is_some_and(|s| shared.slot_at(SystemTime::now()) > s) {
                        break;
                    }
                }
            }
        }
        let (best, finalized) = {
            let chain = shared.chain();
            (chain.best().clone(), chain.finalized().clone())
        };
        println!(
            "node stopped: best #{} at slot {} ({}); finalized #{}",
            best.height, best.slot, best.hash, finalized.height
        );
        if nodes.len() > 1 {
            let counts = node.audit_counts();
            println!(
                "audit farm of {} validators: {} reports re-executed (once each), {} invalid, {} blocks audited",
                nodes.len(),
                counts.executed,
                counts.invalid,
                counts.blocks_audited
            );
        }
        drop(operator);
        drop(nodes);
        Ok(())
    })
}

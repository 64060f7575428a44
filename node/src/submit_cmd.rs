//! `tessera submit`: a work-package builder. It connects to guarantors with the
//! builder ALPN `jamnp-s/0/H/builder` (JAMNP-S "Encryption and handshake") and
//! submits one package over CE 133 (`Core Index ++ Work Package`, then the
//! extrinsic data), to each target in turn.
//!
//! The package is read from a file (its GP codec encoding, GP C) or generated for
//! the testnet service ([`crate::builder::testnet_package`]) with a payload of
//! `--payload-bytes` octets, anchored on the block given by `--anchor-*` (by
//! default the testnet genesis, which is a valid anchor only while it is in the
//! recent history and at most `L` slots old; a long-running testnet's own builder
//! anchors on its best block through the library).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context as _};
use clap::Args;
use tessera_core::codec::decode_exact;
use tessera_core::crypto::jip5::ValidatorSecrets;
use tessera_core::hash::Hash;
use tessera_core::spec::ChainSpec;
use tessera_core::types::{CoreIndex, WorkPackage};
use tessera_net::identity::key_of_alt_name;
use tessera_net::messages::{WorkPackageSubmission, WorkPackageSubmissionProtocol};
use tessera_net::{Identity, Network, NetworkConfig, PeerId};

use crate::builder::{testnet_package, Anchor};
use crate::genesis::testnet_genesis;

/// Arguments of `tessera submit`.
#[derive(Debug, Args)]
pub struct SubmitArgs {
    /// Guarantors to submit to: `N(k)@ip:port`, comma-separated.
    #[arg(long, value_delimiter = ',', required = true, value_parser = parse_target)]
    pub to: Vec<Target>,
    /// The core the package is for.
    #[arg(long)]
    pub core: CoreIndex,
    /// A work package in the GP codec (binary).
    #[arg(long, conflicts_with = "payload_bytes")]
    pub package: Option<PathBuf>,
    /// The extrinsic data the package references, concatenated (with `--package`).
    #[arg(long, requires = "package")]
    pub extrinsics: Option<PathBuf>,
    /// Generate a testnet-service package with a payload of this many octets.
    #[arg(long, required_unless_present = "package")]
    pub payload_bytes: Option<usize>,
    /// The anchor block's header hash (hex; default: the testnet genesis).
    #[arg(long, requires_all = ["anchor_state_root", "anchor_beefy_root", "anchor_slot"], value_parser = parse_hash)]
    pub anchor: Option<Hash>,
    /// The anchor block's posterior state root (hex).
    #[arg(long, value_parser = parse_hash)]
    pub anchor_state_root: Option<Hash>,
    /// The anchor block's BEEFY root, its `β_H` entry's `b` (hex).
    #[arg(long, value_parser = parse_hash)]
    pub anchor_beefy_root: Option<Hash>,
    /// The anchor block's slot (the package's lookup-anchor slot).
    #[arg(long)]
    pub anchor_slot: Option<u32>,
    /// The genesis header hash (hex) naming the chain in ALPN (default: the
    /// testnet genesis of `--chain`).
    #[arg(long, value_parser = parse_hash)]
    pub genesis: Option<Hash>,
    /// Time for the connection and each submission, in milliseconds.
    #[arg(long, default_value_t = 10_000)]
    pub timeout_ms: u64,
}

/// A guarantor to submit to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// Its peer id (Ed25519 key).
    pub peer: PeerId,
    /// Its address.
    pub addr: SocketAddr,
}

/// A 32-octet hash in hex (`0x` optional).
pub fn parse_hash(s: &str) -> Result<Hash, String> {
    let bytes = hex::decode(s.trim_start_matches("0x")).map_err(|e| format!("`{s}`: {e}"))?;
    let array: [u8; 32] = bytes
        .try_into()
        .map_err(|_| format!("`{s}` is not 32 octets"))?;
    Ok(Hash::from(array))
}

/// `N(k)@ip:port`.
pub fn parse_target(s: &str) -> Result<Target, String> {
    let (name, addr) = s
        .split_once('@')
        .ok_or_else(|| format!("`{s}`: expected N(k)@ip:port"))?;
    let key = key_of_alt_name(name).ok_or_else(|| format!("`{name}` is not a JAMNP-S N(k)"))?;
    let addr = addr
        .parse()
        .map_err(|e| format!("`{addr}` is not ip:port: {e}"))?;
    Ok(Target {
        peer: PeerId::from(key),
        addr,
    })
}

/// Read a package file: its whole content must decode as one `WorkPackage`.
pub fn read_package(spec: &ChainSpec, path: &Path) -> anyhow::Result<WorkPackage> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("reading the package file {}", path.display()))?;
    decode_exact(spec, &bytes)
        .with_context(|| format!("{} is not a GP-encoded work package", path.display()))
}

/// Submit `submission` over CE 133 to each of `targets` from a builder endpoint
/// (builder ALPN); the result per target, in order.
pub async fn submit(
    spec: &ChainSpec,
    genesis_hash: Hash,
    targets: &[Target],
    submission: &WorkPackageSubmission,
    timeout: Duration,
) -> anyhow::Result<Vec<anyhow::Result<()>>> {
    let mut config = NetworkConfig::new(
        "0.0.0.0:0"
            .parse()
            .context("the builder's listen address")?,
        genesis_hash,
    );
    config.builder = true;
    config.request_timeout = timeout;
    config.handshake_timeout = timeout;
    config.stream_timeout = timeout;
    // A builder's key is its own; a random one would do, a fixed one keeps logs
    // readable.
    let identity =
        Identity::new(ValidatorSecrets::from_seed(b"tessera-submit-builder-identity!").ed25519);
    let net =
        Network::start(identity, spec.clone(), config).context("starting the builder endpoint")?;
    let mut results = Vec::with_capacity(targets.len());
    for t in targets {
        let r: anyhow::Result<()> = async {
            net.connect(t.peer, t.addr)
                .await
                .with_context(|| format!("connecting to {}@{}", t.peer.alt_name(), t.addr))?;
            net.request::<WorkPackageSubmissionProtocol>(&t.peer, submission)
                .await
                .with_context(|| format!("{}@{} refused the package", t.peer.alt_name(), t.addr))
        }
        .await;
        results.push(r);
    }
    net.close();
    Ok(results)
}

/// Run `tessera submit`.
pub fn run(spec: &ChainSpec, args: &SubmitArgs) -> anyhow::Result<()> {
    if usize::from(args.core) >= spec.cores() {
        bail!(
            "core {} does not exist (the chain has {})",
            args.core,
            spec.cores()
        );
    }
    let package_from_file = match &args.package {
        Some(path) => Some(read_package(spec, path)?),
        None => None,
    };
    let extrinsics = match &args.extrinsics {
        Some(path) => std::fs::read(path)
            .with_context(|| format!("reading the extrinsics file {}", path.display()))?,
        None => Vec::new(),
    };
    let needs_genesis = args.genesis.is_none() || package_from_file.is_none();
    let genesis = if needs_genesis {
        let validators: Vec<ValidatorSecrets> = (0..spec.validators())
            .map(|i| ValidatorSecrets::dev(u32::try_from(i).unwrap_or(u32::MAX)))
            .collect();
        Some(testnet_genesis(spec, &validators).context("the testnet genesis")?)
    } else {
        None
    };
    let genesis_hash = match (args.genesis, &genesis) {
        (Some(h), _) => h,
        (None, Some((header, _))) => header.hash(),
        (None, None) => bail!("--genesis is needed"),
    };
    let package = match package_from_file {
        Some(p) => p,
        None => {
            let (header, state) = genesis.as_ref().context("the testnet genesis")?;
            let anchor = match (args.anchor, args.anchor_state_root) {
                (Some(header_hash), Some(state_root)) => Anchor {
                    header_hash,
                    state_root,
                },
                _ => Anchor {
                    header_hash: header.hash(),
                    state_root: state.root(),
                },
            };
            let n = args.payload_bytes.unwrap_or(0);
            if n > spec.max_bundle_size as usize {
                bail!(
                    "--payload-bytes {n} exceeds the bundle limit W_B = {}",
                    spec.max_bundle_size
                );
            }
            let payload: Vec<u8> = (0..n).map(|i| (i as u8).wrapping_mul(31)).collect();
            let mut package = testnet_package(spec, state, &anchor, payload, Vec::new());
            if let (Some(beefy_root), Some(slot)) = (args.anchor_beefy_root, args.anchor_slot) {
                package.context.beefy_root = beefy_root;
                package.context.lookup_anchor_slot = slot;
            }
            package
        }
    };
    let submission = WorkPackageSubmission {
        core_index: args.core,
        package,
        extrinsics,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    let results = runtime.block_on(submit(
        spec,
        genesis_hash,
        &args.to,
        &submission,
        Duration::from_millis(args.timeout_ms),
    ))?;
    let mut accepted = 0;
    for (t, r) in args.to.iter().zip(&results) {
        match r {
            Ok(()) => {
                accepted += 1;
                println!("submitted to {}@{}", t.peer.alt_name(), t.addr);
            }
            Err(e) => eprintln!("not submitted: {e:#}"),
        }
    }
    if accepted == 0 {
        bail!("no guarantor accepted the package");
    }
    Ok(())
}

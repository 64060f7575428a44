//! Shared helpers of the endpoint tests: loopback endpoints with short timeouts,
//! raw quinn clients, and sample values of every message.

#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use tessera_core::crypto::ed25519::Signature;
use tessera_core::types::{Block, Extrinsic, GuaranteesExtrinsic, Header, WorkPackage, WorkReport};
use tessera_core::{decode_exact, ByteArray, ChainSpec, Hash};
use tessera_net::{Identity, Network, NetworkConfig};

pub fn spec() -> ChainSpec {
    ChainSpec::tiny()
}

pub fn genesis() -> Hash {
    ByteArray([0xAB; 32])
}

pub fn config() -> NetworkConfig {
    let mut c = NetworkConfig::new("127.0.0.1:0".parse().unwrap(), genesis());
    c.request_timeout = Duration::from_secs(5);
    c.stream_timeout = Duration::from_millis(800);
    c.handshake_timeout = Duration::from_secs(3);
    c.fallback_dial_delay = Duration::from_millis(400);
    c.reconnect_backoff_min = Duration::from_millis(100);
    c.reconnect_backoff_max = Duration::from_millis(400);
    c
}

pub fn identity(seed: u8) -> Identity {
    Identity::from_ed25519_seed([seed; 32])
}

pub fn start(seed: u8) -> Network {
    start_with(seed, config())
}

pub fn start_with(seed: u8, config: NetworkConfig) -> Network {
    Network::start(identity(seed), spec(), config).expect("endpoint starts")
}

pub fn addr(n: &Network) -> SocketAddr {
    n.local_addr().unwrap()
}

/// Poll `f` every 20 ms for up to `secs` seconds.
pub async fn eventually(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    let end = tokio::time::Instant::now() + Duration::from_secs(secs);
    while tokio::time::Instant::now() < end {
        if f() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    f()
}

/// A bare quinn client endpoint on loopback.
pub fn raw_client() -> quinn::Endpoint {
    quinn::Endpoint::client("127.0.0.1:0".parse().unwrap()).unwrap()
}

pub fn h(n: u8) -> Hash {
    ByteArray([n; 32])
}

pub fn sig(n: u8) -> Signature {
    Signature(ByteArray([n; 64]))
}

pub fn header(slot: u32) -> Header {
    Header {
        parent: h(1),
        parent_state_root: h(2),
        extrinsic_hash: h(3),
        slot,
        epoch_mark: None,
        tickets_mark: None,
        author_index: 3,
        entropy_source: ByteArray([5; 96]),
        offenders_mark: vec![],
        seal: ByteArray([6; 96]),
    }
}

pub fn block(slot: u32) -> Block {
    Block {
        header: header(slot),
        extrinsic: Extrinsic::default(),
    }
}

fn vectors_root() -> PathBuf {
    match std::env::var_os("JAM_VECTORS") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors"),
    }
}

fn vector(name: &str) -> Option<Vec<u8>> {
    let p = vectors_root().join("codec/tiny").join(name);
    match std::fs::read(&p) {
        Ok(b) => Some(b),
        Err(_) => {
            assert!(
                std::env::var("JAM_VECTORS_REQUIRED").as_deref() != Ok("1"),
                "vector {} missing",
                p.display()
            );
            eprintln!("SKIPPED part: vector {} not found", p.display());
            None
        }
    }
}

/// GP values too large to write by hand, from the codec vectors (tiny).
pub struct GpSamples {
    pub package: WorkPackage,
    pub report: WorkReport,
    pub guarantee: tessera_core::types::Guarantee,
}

pub fn gp_samples() -> Option<GpSamples> {
    let spec = spec();
    let package = decode_exact(&spec, &vector("work_package.bin")?).unwrap();
    let report = decode_exact(&spec, &vector("work_report.bin")?).unwrap();
    let g: GuaranteesExtrinsic = decode_exact(&spec, &vector("guarantees_extrinsic.bin")?).unwrap();
    Some(GpSamples {
        package,
        report,
        guarantee: g.0.into_iter().next().expect("a guarantee"),
    })
}
pub mod samples;

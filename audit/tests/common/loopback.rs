//! A JAMNP-S endpoint on loopback with its own RocksDB shard store in a temporary
//! directory and `da`'s handlers registered: a guarantor or assurer of the audit
//! tests.

use std::sync::Arc;
use std::time::Duration;

use tessera_core::{ByteArray, ChainSpec};
use tessera_da::serve::register;
use tessera_da::store::ShardStore;
use tessera_net::{Identity, Network, NetworkConfig};

/// Short timeouts: everything is on loopback.
pub fn config() -> NetworkConfig {
    let mut c = NetworkConfig::new("127.0.0.1:0".parse().unwrap(), ByteArray([0xA1; 32]));
    c.request_timeout = Duration::from_secs(5);
    c.stream_timeout = Duration::from_millis(800);
    c.handshake_timeout = Duration::from_secs(3);
    c
}

/// An endpoint and its store.
pub struct Node {
    pub net: Network,
    pub store: Arc<ShardStore>,
    _dir: tempfile::TempDir,
}

/// A node whose Ed25519 key is seeded by `seed`, serving its store.
pub fn node(spec: &ChainSpec, seed: u8) -> Node {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(ShardStore::open(spec, dir.path()).unwrap());
    let net = Network::start(
        Identity::from_ed25519_seed([seed; 32]),
        spec.clone(),
        config(),
    )
    .unwrap();
    register(&net, store.clone());
    Node {
        net,
        store,
        _dir: dir,
    }
}

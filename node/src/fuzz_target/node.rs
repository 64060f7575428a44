//! Tessera's own [`Target`]: the fuzzer's requests served by the block importer.
//!
//! Every `Initialize` starts a fresh store holding the given state as the
//! posterior state of the given header; blocks import onto their parent's state,
//! so siblings of the head (forks) import as well as children. A rejected block
//! stores nothing, which leaves the previous states as they were.

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::path::Path;

use tessera_core::bytes::Bytes;
use tessera_core::hash::Hash;
use tessera_core::spec::ChainSpec;
use tessera_core::types::Block;

use super::message::{
    Features, Initialize, KeyValue, PeerInfo, Version, FEATURE_FORKS, FUZZ_VERSION,
};
use super::session::{ImportError as ProtocolImportError, Target};
use crate::import::{ImportError, Importer};
use crate::store::StateStore;

/// The importer behind `tessera fuzz-target`.
pub struct NodeTarget {
    spec: ChainSpec,
    importer: Importer,
}

/// What Tessera supports: forks. Ancestry (lookup-anchor checks against the last
/// `L` headers) is not implemented, so it is not offered.
pub const SUPPORTED_FEATURES: Features = FEATURE_FORKS;

impl NodeTarget {
    /// A target for `spec`, with an empty in-memory store.
    pub fn new(spec: &ChainSpec) -> Self {
        NodeTarget {
            spec: spec.clone(),
            importer: Importer::new(spec, StateStore::in_memory(spec)),
        }
    }
}

impl Target for NodeTarget {
    fn peer_info(&mut self, _fuzzer: &PeerInfo) -> PeerInfo {
        let v = |s: &str| s.parse::<u8>().unwrap_or(0);
        PeerInfo {
            fuzz_version: FUZZ_VERSION,
            fuzz_features: SUPPORTED_FEATURES,
            jam_version: Version::GRAY_PAPER,
            app_version: Version {
                major: v(env!("CARGO_PKG_VERSION_MAJOR")),
                minor: v(env!("CARGO_PKG_VERSION_MINOR")),
                patch: v(env!("CARGO_PKG_VERSION_PATCH")),
            },
            app_name: "tessera".into(),
        }
    }

    fn initialize(&mut self, init: &Initialize, _features: Features) -> Result<Hash, String> {
        let mut keyvals = BTreeMap::new();
        for kv in &init.keyvals {
            if keyvals.insert(kv.key, kv.value.0.clone()).is_some() {
                return Err(format!("state key {} given twice", kv.key));
            }
        }
        self.importer = Importer::new(&self.spec, StateStore::in_memory(&self.spec));
        self.importer
            .initialize(&init.header, &keyvals)
            .map_err(|e| e.to_string())
    }

    fn import_block(&mut self, block: &Block) -> Result<Hash, ProtocolImportError> {
        self.importer.import(block).map_err(|e| match e {
            ImportError::Block(_) | ImportError::UnknownParent(_) | ImportError::State(_) => {
                ProtocolImportError::Rejected(e.to_string())
            }
            ImportError::Store(_) => ProtocolImportError::Internal(e.to_string()),
        })
    }

    fn get_state(&mut self, header_hash: &Hash) -> Result<Vec<KeyValue>, String> {
        let stored = self
            .importer
            .state(header_hash)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("no state for header {header_hash}"))?;
        Ok(stored
            .state
            .serialize()
            .into_iter()
            .map(|(key, value)| KeyValue {
                key,
                value: Bytes(value),
            })
            .collect())
    }
}

/// `tessera fuzz-target --socket PATH`: serve fuzzer sessions on a Unix socket,
/// one at a time, until the process is stopped. Each session's end is logged.
pub fn run(spec: &ChainSpec, socket: &Path) -> std::io::Result<()> {
    let mut target = NodeTarget::new(spec);
    eprintln!("tessera fuzz-target: listening on {}", socket.display());
    super::session::serve_unix(socket, spec, &mut target, |end| {
        match end {
            Ok(end) => eprintln!(
                "session ended: {} requests, {} blocks imported, {} rejected",
                end.requests, end.imported, end.rejected
            ),
            Err(e) => eprintln!("session ended: {e}"),
        }
        ControlFlow::Continue(())
    })
}

//! Tessera's own [`Target`]: the fuzzer's requests served by the block importer.
//!
//! Every `Initialize` starts a fresh store holding the given state as the
//! posterior state of the given header; blocks import onto their parent's state,
//! so siblings of the head (forks) import as well as children. A rejected block
//! stores nothing, which leaves the previous states as they were.
//!
//! With `feature-ancestry` negotiated, every guarantee's lookup anchor must be
//! one of the last `L` ancestors of the block (GP 11.35: `∃h ∈ A: h_t = x_t ∧
//! H(h) = x_l`); `A` is built from the `Initialize` ancestry and the blocks the
//! session imported. Without the feature the check is skipped, as the protocol
//! README requires.

use std::collections::{BTreeMap, HashMap};
use std::ops::ControlFlow;
use std::path::Path;

use tessera_core::bytes::Bytes;
use tessera_core::hash::Hash;
use tessera_core::spec::ChainSpec;
use tessera_core::spec::SpecName;
use tessera_core::types::{Block, TimeSlot};

use super::message::{
    AncestryItem, Features, Initialize, KeyValue, PeerInfo, Version, FEATURE_ANCESTRY,
    FEATURE_FORKS, FUZZ_VERSION, MAX_ANCESTRY,
};
use super::session::{ImportError as ProtocolImportError, Target};
use crate::import::{ImportError, Importer};
use crate::store::StateStore;

/// The importer behind `tessera fuzz-target`.
pub struct NodeTarget {
    spec: ChainSpec,
    importer: Importer,
    /// Set while `feature-ancestry` is on for the session.
    ancestry: Option<Ancestry>,
}

/// What Tessera supports: ancestry checks and forks.
pub const SUPPORTED_FEATURES: Features = FEATURE_ANCESTRY | FEATURE_FORKS;

/// The headers a session knows, linked to their parents: enough to list the
/// last `L` ancestors of any block built on them.
#[derive(Debug, Default)]
struct Ancestry {
    /// Header hash ↦ (slot, parent hash when known).
    headers: HashMap<Hash, (TimeSlot, Option<Hash>)>,
    /// `L`: how many ancestors a lookup anchor may lie back.
    depth: usize,
}

impl Ancestry {
    /// The `Initialize` ancestry, which carries no parent links: its items are
    /// one chain, so ordered by slot each is the parent of the next; the header
    /// itself comes last (the README says the list includes it).
    fn new(depth: usize, init: &Initialize) -> Self {
        let mut items: Vec<AncestryItem> = init.ancestry.clone();
        let own = init.header.hash();
        if !items.iter().any(|i| i.header_hash == own) {
            items.push(AncestryItem {
                slot: init.header.slot,
                header_hash: own,
            });
        }
        items.sort_by_key(|i| i.slot);
        let mut headers = HashMap::new();
        let mut parent = None;
        for i in items {
            headers.insert(i.header_hash, (i.slot, parent));
            parent = Some(i.header_hash);
        }
        Ancestry { headers, depth }
    }

    /// GP 11.35 for `block`: each guarantee's `(x_t, x_l)` is among the last `L`
    /// ancestors, walking back from the block's parent.
    fn check(&self, block: &Block) -> Result<(), String> {
        let mut recent = Vec::with_capacity(self.depth);
        let mut at = Some(block.header.parent);
        while let Some(h) = at {
            if recent.len() == self.depth {
                break;
            }
            let Some(&(slot, parent)) = self.headers.get(&h) else {
                break;
            };
            recent.push((slot, h));
            at = parent;
        }
        for g in &block.extrinsic.guarantees.0 {
            let x = &g.report.context;
            if !recent.contains(&(x.lookup_anchor_slot, x.lookup_anchor)) {
                return Err(format!(
                    "invalid block: guarantee for core {}: lookup anchor {} (slot {}) is not \
                     among the block's last {} ancestors (GP 11.35)",
                    g.report.core_index, x.lookup_anchor, x.lookup_anchor_slot, self.depth
                ));
            }
        }
        Ok(())
    }
}

impl NodeTarget {
    /// A target for `spec`, with an empty in-memory store.
    pub fn new(spec: &ChainSpec) -> Self {
        NodeTarget {
            spec: spec.clone(),
            importer: Importer::new(spec, StateStore::in_memory(spec)),
            ancestry: None,
        }
    }

    /// `L` for this spec: the GP's 14,400 for full; the protocol README scales it
    /// to 24 for tiny (the most ancestry items an `Initialize` carries).
    fn ancestry_depth(&self) -> usize {
        match self.spec.name {
            SpecName::Tiny => MAX_ANCESTRY,
            SpecName::Full => {
                usize::try_from(self.spec.max_lookup_anchor_age).unwrap_or(usize::MAX)
            }
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

    fn initialize(&mut self, init: &Initialize, features: Features) -> Result<Hash, String> {
        let mut keyvals = BTreeMap::new();
        for kv in &init.keyvals {
            if keyvals.insert(kv.key, kv.value.0.clone()).is_some() {
                return Err(format!("state key {} given twice", kv.key));
            }
        }
        self.importer = Importer::new(&self.spec, StateStore::in_memory(&self.spec));
        self.ancestry =
            (features & FEATURE_ANCESTRY != 0).then(|| Ancestry::new(self.ancestry_depth(), init));
        self.importer
            .initialize(&init.header, &keyvals)
            .map_err(|e| e.to_string())
    }

    fn import_block(&mut self, block: &Block) -> Result<Hash, ProtocolImportError> {
        if let Some(a) = &self.ancestry {
            a.check(block).map_err(ProtocolImportError::Rejected)?;
        }
        let root = self.importer.import(block).map_err(|e| match e {
            ImportError::Block(_) | ImportError::UnknownParent(_) | ImportError::State(_) => {
                ProtocolImportError::Rejected(e.to_string())
            }
            ImportError::Store(_) => ProtocolImportError::Internal(e.to_string()),
        })?;
        if let Some(a) = &mut self.ancestry {
            a.headers.insert(
                block.header.hash(),
                (block.header.slot, Some(block.header.parent)),
            );
        }
        Ok(root)
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

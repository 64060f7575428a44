//! The state store: posterior states addressed by the hash of the header that
//! made them, in RocksDB (the default, at a path of the operator's choosing) or in
//! memory (tests, trace replays).
//!
//! A node has one RocksDB database: states live in its default column family, and
//! the availability store (`tessera_da::store`) in its own families of the same
//! database ([`StateStore::shard_store`]), so one directory holds a node's data.
//!
//! A state is stored whole, as its root and `T(σ)`, under its header hash in one
//! write, so an import either lands completely or not at all: a failed or
//! interrupted import leaves every stored state as it was. Recently used states
//! are kept decoded so that importing a chain does not re-read its parent.

use std::collections::{BTreeMap, VecDeque};
use std::path::Path;
use std::sync::Arc;

use tessera_core::codec::{decode_exact, Encode};
use tessera_core::hash::Hash;
use tessera_core::spec::ChainSpec;
use tessera_da::store::{ShardStore, COLUMN_FAMILIES as DA_FAMILIES};
use tessera_state::serial::trace_file::RawState;
use tessera_state::ChainState;

/// A state and its root `M_σ`.
#[derive(Clone, Debug)]
pub struct Stored {
    /// `M_σ(σ)`.
    pub root: Hash,
    /// σ.
    pub state: Arc<ChainState>,
}

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// RocksDB reported an error.
    #[error("database: {0}")]
    Db(#[from] rocksdb::Error),
    /// The availability store over the same database failed.
    #[error("availability store: {0}")]
    Da(#[from] tessera_da::store::StoreError),
    /// A stored value does not decode: the database is corrupt or foreign.
    #[error("stored state under header {header} is corrupt: {reason}")]
    Corrupt {
        /// The header hash it is stored under.
        header: Hash,
        /// What is wrong with it.
        reason: String,
    },
}

enum Backend {
    Memory(BTreeMap<Hash, Stored>),
    Rocks(Arc<rocksdb::DB>),
}

/// States by header hash.
pub struct StateStore {
    spec: ChainSpec,
    backend: Backend,
    /// Decoded states most recently put or read, newest last.
    cache: VecDeque<(Hash, Stored)>,
}

/// How many decoded states the cache keeps: enough for forks a few blocks deep.
const CACHE_STATES: usize = 8;

impl StateStore {
    /// A store that lives in memory only.
    pub fn in_memory(spec: &ChainSpec) -> Self {
        StateStore {
            spec: spec.clone(),
            backend: Backend::Memory(BTreeMap::new()),
            cache: VecDeque::new(),
        }
    }

    /// Open (or create) the node's RocksDB database at `path`, with the
    /// availability store's column families beside the states (created if the
    /// database predates them).
    pub fn open(spec: &ChainSpec, path: &Path) -> Result<Self, StoreError> {
        let mut options = rocksdb::Options::default();
        options.create_if_missing(true);
        options.create_missing_column_families(true);
        let db = rocksdb::DB::open_cf(&options, path, DA_FAMILIES)?;
        Ok(StateStore {
            spec: spec.clone(),
            backend: Backend::Rocks(Arc::new(db)),
            cache: VecDeque::new(),
        })
    }

    /// The availability store in the same database; `None` for a store in memory.
    pub fn shard_store(&self) -> Result<Option<ShardStore>, StoreError> {
        match &self.backend {
            Backend::Memory(_) => Ok(None),
            Backend::Rocks(db) => Ok(Some(ShardStore::with_db(&self.spec, db.clone())?)),
        }
    }

    /// The state made by header `header`, if stored.
    pub fn get(&mut self, header: &Hash) -> Result<Option<Stored>, StoreError> {
        if let Some((_, s)) = self.cache.iter().find(|(h, _)| h == header) {
            return Ok(Some(s.clone()));
        }
        let stored = match &self.backend {
            Backend::Memory(m) => m.get(header).cloned(),
            Backend::Rocks(db) => match db.get(header.0)? {
                None => None,
                Some(bytes) => Some(self.decode(header, &bytes)?),
            },
        };
        if let Some(s) = &stored {
            self.remember(*header, s.clone());
        }
        Ok(stored)
    }

    /// Store `state` with root `root` under `header`, in one atomic write.
    pub fn put(
        &mut self,
        header: Hash,
        root: Hash,
        state: Arc<ChainState>,
    ) -> Result<(), StoreError> {
        let stored = Stored { root, state };
        match &mut self.backend {
            Backend::Memory(m) => {
                m.insert(header, stored.clone());
            }
            Backend::Rocks(db) => {
                let raw = RawState {
                    root,
                    keyvals: stored.state.serialize(),
                };
                db.put(header.0, raw.encode())?;
            }
        }
        self.remember(header, stored);
        Ok(())
    }

    fn remember(&mut self, header: Hash, stored: Stored) {
        self.cache.retain(|(h, _)| *h != header);
        self.cache.push_back((header, stored));
        while self.cache.len() > CACHE_STATES {
            self.cache.pop_front();
        }
    }

    fn decode(&self, header: &Hash, bytes: &[u8]) -> Result<Stored, StoreError> {
        let corrupt = |reason: String| StoreError::Corrupt {
            header: *header,
            reason,
        };
        let raw: RawState = decode_exact(&self.spec, bytes).map_err(|e| corrupt(e.to_string()))?;
        let state = ChainState::deserialize(&self.spec, &raw.keyvals)
            .map_err(|e| corrupt(e.to_string()))?;
        Ok(Stored {
            root: raw.root,
            state: Arc::new(state),
        })
    }
}

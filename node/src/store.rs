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
    /// The database lacks a column family [`StateStore::open`] creates.
    #[error("the database has no column family {0}")]
    MissingFamily(&'static str),
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
    Memory {
        states: BTreeMap<Hash, Stored>,
        blocks: BTreeMap<Hash, Vec<u8>>,
        meta: BTreeMap<String, Vec<u8>>,
    },
    Rocks(Arc<rocksdb::DB>),
}

/// The column family of imported blocks: `E(B)` under the header hash.
const BLOCKS: &str = "blocks";
/// The column family of the node's small records (the finalized block, …).
const META: &str = "meta";

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
            backend: Backend::Memory {
                states: BTreeMap::new(),
                blocks: BTreeMap::new(),
                meta: BTreeMap::new(),
            },
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
        let families = DA_FAMILIES.iter().copied().chain([BLOCKS, META]);
        let db = rocksdb::DB::open_cf(&options, path, families)?;
        Ok(StateStore {
            spec: spec.clone(),
            backend: Backend::Rocks(Arc::new(db)),
            cache: VecDeque::new(),
        })
    }

    /// The availability store in the same database; `None` for a store in memory.
    pub fn shard_store(&self) -> Result<Option<ShardStore>, StoreError> {
        match &self.backend {
            Backend::Memory { .. } => Ok(None),
            Backend::Rocks(db) => Ok(Some(ShardStore::with_db(&self.spec, db.clone())?)),
        }
    }

    /// The state made by header `header`, if stored.
    pub fn get(&mut self, header: &Hash) -> Result<Option<Stored>, StoreError> {
        if let Some((_, s)) = self.cache.iter().find(|(h, _)| h == header) {
            return Ok(Some(s.clone()));
        }
        let stored = match &self.backend {
            Backend::Memory { states, .. } => states.get(header).cloned(),
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
        self.put_with_block(header, root, state, None)
    }

    /// Store the state made by `header` together with the block `E(B)` that made
    /// it, in one atomic write: after a crash either both are there or neither.
    pub fn put_with_block(
        &mut self,
        header: Hash,
        root: Hash,
        state: Arc<ChainState>,
        block: Option<&[u8]>,
    ) -> Result<(), StoreError> {
        let stored = Stored { root, state };
        match &mut self.backend {
            Backend::Memory { states, blocks, .. } => {
                states.insert(header, stored.clone());
                if let Some(b) = block {
                    blocks.insert(header, b.to_vec());
                }
            }
            Backend::Rocks(db) => {
                let raw = RawState {
                    root,
                    keyvals: stored.state.serialize(),
                };
                let mut batch = rocksdb::WriteBatch::default();
                batch.put(header.0, raw.encode());
                if let Some(b) = block {
                    batch.put_cf(family(db, BLOCKS)?, header.0, b);
                }
                db.write(batch)?;
            }
        }
        self.remember(header, stored);
        Ok(())
    }

    /// Every stored block, `(header hash, E(B))`, in no particular order.
    pub fn blocks(&self) -> Result<Vec<(Hash, Vec<u8>)>, StoreError> {
        match &self.backend {
            Backend::Memory { blocks, .. } => {
                Ok(blocks.iter().map(|(h, b)| (*h, b.clone())).collect())
            }
            Backend::Rocks(db) => {
                let mut out = Vec::new();
                for item in db.iterator_cf(family(db, BLOCKS)?, rocksdb::IteratorMode::Start) {
                    let (k, v) = item?;
                    let hash = <[u8; 32]>::try_from(&k[..]).map_err(|_| StoreError::Corrupt {
                        header: Hash::default(),
                        reason: format!("a block key of {} octets", k.len()),
                    })?;
                    out.push((tessera_core::ByteArray(hash), v.to_vec()));
                }
                Ok(out)
            }
        }
    }

    /// The record `key` of the node's small records, if written.
    pub fn meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        match &self.backend {
            Backend::Memory { meta, .. } => Ok(meta.get(key).cloned()),
            Backend::Rocks(db) => Ok(db.get_cf(family(db, META)?, key.as_bytes())?),
        }
    }

    /// Write the record `key`.
    pub fn set_meta(&mut self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        match &mut self.backend {
            Backend::Memory { meta, .. } => {
                meta.insert(key.to_owned(), value.to_vec());
                Ok(())
            }
            Backend::Rocks(db) => Ok(db.put_cf(family(db, META)?, key.as_bytes(), value)?),
        }
    }

    /// Remove the states stored under `headers` (their blocks stay), in one write.
    pub fn delete_states(&mut self, headers: &[Hash]) -> Result<(), StoreError> {
        self.cache.retain(|(h, _)| !headers.contains(h));
        match &mut self.backend {
            Backend::Memory { states, .. } => {
                for h in headers {
                    states.remove(h);
                }
            }
            Backend::Rocks(db) => {
                let mut batch = rocksdb::WriteBatch::default();
                for h in headers {
                    batch.delete(h.0);
                }
                db.write(batch)?;
            }
        }
        Ok(())
    }

    /// Whether a state is stored under `header` (without decoding it).
    pub fn contains(&mut self, header: &Hash) -> Result<bool, StoreError> {
        if self.cache.iter().any(|(h, _)| h == header) {
            return Ok(true);
        }
        match &self.backend {
            Backend::Memory { states, .. } => Ok(states.contains_key(header)),
            Backend::Rocks(db) => Ok(db.get_pinned(header.0)?.is_some()),
        }
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

/// Column family `name` of the node's database (opened with it by [`StateStore::open`]).
fn family<'a>(
    db: &'a rocksdb::DB,
    name: &'static str,
) -> Result<&'a rocksdb::ColumnFamily, StoreError> {
    db.cf_handle(name).ok_or(StoreError::MissingFamily(name))
}

//! The state store: posterior states addressed by the hash of the header that
//! made them, in RocksDB (the default, at a path of the operator's choosing) or in
//! memory (tests, trace replays).
//!
//! A node has one RocksDB database: states live in its default column family, and
//! the availability store (`tessera_da::store`) in its own families of the same
//! database ([`StateStore::shard_store`]), so one directory holds a node's data.
//!
//! States share what they share. A state is stored as a record under its header
//! hash: its root and, for each key of `T(σ)` (GP D.2), the hash of the value
//! there; the values themselves live once each in the `state_values` column
//! family, keyed by their BLAKE2b hash. Two successive states differ in a few
//! components (τ, β, the statistics, ρ, …) while the large ones (the validator
//! sets, φ, service code) are written once and referenced by every record after.
//! Deleting states ([`StateStore::delete_states`], at finality) sweeps the values
//! no remaining record references, in the same write.
//!
//! Each put or delete is one RocksDB write batch, so an import either lands
//! completely or not at all: a failed or interrupted import leaves every stored
//! state as it was. Recently used states are kept decoded so that importing a
//! chain does not re-read its parent.

use std::collections::{BTreeMap, BTreeSet, HashSet, VecDeque};
use std::path::Path;
use std::sync::Arc;

use tessera_core::codec::{decode_exact, Decode, Encode};
use tessera_core::hash::{blake2b_256, Hash};
use tessera_core::merkle::trie::StateKey;
use tessera_core::spec::ChainSpec;
use tessera_da::store::{ShardStore, COLUMN_FAMILIES as DA_FAMILIES};
use tessera_state::serial::KeyValues;
use tessera_state::ChainState;

use crate::finality::record::{VoterRecord, VOTER_RECORD_KEY};

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
    /// The store is gone: the node that owned it stopped.
    #[error("the store is closed")]
    Closed,
    /// One of the node's small records does not decode.
    #[error("the stored record {key:?} is corrupt: {source}")]
    CorruptRecord {
        /// The record's key in the `meta` family.
        key: &'static str,
        /// Why it does not decode, and where.
        #[source]
        source: tessera_core::codec::DecodeError,
    },
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
/// The column family of state values: each value of some stored `T(σ)`, once,
/// under `H(value)`.
const STATE_VALUES: &str = "state_values";

/// A stored state in the default column family, under its header hash: `M_σ(σ)`
/// and, per state key, the hash of its value in [`STATE_VALUES`].
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
struct StateRecord {
    /// `M_σ(σ)`.
    root: Hash,
    /// State key → `H(value)`.
    #[codec(dict, name = "state entries")]
    entries: BTreeMap<StateKey, Hash>,
}

/// What one column family of the database holds: live entries and their octets
/// (keys and values, before RocksDB's compression and overheads).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct FamilyUsage {
    /// The column family (`states` for state records).
    pub family: String,
    /// Entries.
    pub entries: u64,
    /// Octets of keys and values.
    pub bytes: u64,
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
        // Memory and disk bounded as `bounded_options` says: a shared block cache with
        // the index and filter blocks in it, all memtables together capped, the
        // write-ahead log cut at 32 MiB (a 900-slot run had a 132 MB log before).
        let mut options = tessera_da::store::bounded_options();
        options.create_if_missing(true);
        options.create_missing_column_families(true);
        let families = DA_FAMILIES
            .iter()
            .copied()
            .chain([BLOCKS, META, STATE_VALUES]);
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
            Backend::Rocks(db) => match db.get_pinned(header.0)? {
                None => None,
                Some(bytes) => Some(load(&self.spec, db, header, &bytes)?),
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
                let values = family(db, STATE_VALUES)?;
                let mut batch = rocksdb::WriteBatch::default();
                let mut record = StateRecord {
                    root,
                    entries: BTreeMap::new(),
                };
                let mut written = HashSet::new();
                for (key, value) in stored.state.serialize() {
                    let hash = blake2b_256(&value);
                    // A value already stored (by this state or an earlier one) is
                    // referenced, not written again.
                    if written.insert(hash) && db.get_pinned_cf(values, hash.0)?.is_none() {
                        batch.put_cf(values, hash.0, &value);
                    }
                    record.entries.insert(key, hash);
                }
                batch.put(header.0, record.encode());
                if let Some(b) = block {
                    batch.put_cf(family(db, BLOCKS)?, header.0, b);
                }
                db.write(batch)?;
            }
        }
        self.remember(header, stored);
        Ok(())
    }

    /// The stored record of block `hash` (as [`StateStore::blocks`] gives it).
    pub fn block(&self, hash: &Hash) -> Result<Option<Vec<u8>>, StoreError> {
        match &self.backend {
            Backend::Memory { blocks, .. } => Ok(blocks.get(hash).cloned()),
            Backend::Rocks(db) => Ok(db.get_cf(family(db, BLOCKS)?, hash.as_ref())?),
        }
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

    /// The GRANDPA voter's record ([`crate::finality::record`]), if written.
    pub fn voter_record(&self) -> Result<Option<VoterRecord>, StoreError> {
        let Some(bytes) = self.meta(VOTER_RECORD_KEY)? else {
            return Ok(None);
        };
        decode_exact(&self.spec, &bytes)
            .map(Some)
            .map_err(|source| StoreError::CorruptRecord {
                key: VOTER_RECORD_KEY,
                source,
            })
    }

    /// Replace the GRANDPA voter's record, synced to disk before this returns:
    /// the voter sends a vote only after its record is written, and a vote
    /// forgotten at a power cut could be cast differently after it.
    pub fn set_voter_record(&mut self, record: &VoterRecord) -> Result<(), StoreError> {
        let bytes = record.encode();
        match &mut self.backend {
            Backend::Memory { meta, .. } => {
                meta.insert(VOTER_RECORD_KEY.to_owned(), bytes);
                Ok(())
            }
            Backend::Rocks(db) => {
                let mut options = rocksdb::WriteOptions::default();
                options.set_sync(true);
                let meta = family(db, META)?;
                Ok(db.put_cf_opt(meta, VOTER_RECORD_KEY.as_bytes(), bytes, &options)?)
            }
        }
    }

    /// Remove the states stored under `headers` (their blocks stay) and the
    /// values no remaining state references, in one write.
    pub fn delete_states(&mut self, headers: &[Hash]) -> Result<(), StoreError> {
        self.cache.retain(|(h, _)| !headers.contains(h));
        match &mut self.backend {
            Backend::Memory { states, .. } => {
                for h in headers {
                    states.remove(h);
                }
            }
            Backend::Rocks(db) => {
                if headers.is_empty() {
                    return Ok(());
                }
                let doomed: BTreeSet<&[u8]> = headers.iter().map(|h| &h.0[..]).collect();
                let mut batch = rocksdb::WriteBatch::default();
                for h in headers {
                    batch.delete(h.0);
                }
                // Mark: the values the remaining records reference.
                let mut live: HashSet<Vec<u8>> = HashSet::new();
                for item in db.iterator(rocksdb::IteratorMode::Start) {
                    let (key, bytes) = item?;
                    if doomed.contains(&key[..]) {
                        continue;
                    }
                    let record = decode_record(&self.spec, &key, &bytes)?;
                    live.extend(record.entries.values().map(|h| h.0.to_vec()));
                }
                // Sweep: every other value.
                let values = family(db, STATE_VALUES)?;
                let mut it = db.raw_iterator_cf(values);
                it.seek_to_first();
                while let Some(key) = it.key() {
                    if !live.contains(key) {
                        batch.delete_cf(values, key);
                    }
                    it.next();
                }
                it.status()?;
                db.write(batch)?;
            }
        }
        Ok(())
    }

    /// What each part of the database holds now (live entries and octets): state
    /// records, shared state values, blocks, the node's records and the
    /// availability store's families. For a store in memory: states and blocks.
    pub fn usage(&self) -> Result<Vec<FamilyUsage>, StoreError> {
        let usage = |family: &str, sizes: &mut dyn Iterator<Item = usize>| {
            let (mut entries, mut bytes) = (0u64, 0u64);
            for size in sizes {
                entries += 1;
                bytes += size as u64;
            }
            FamilyUsage {
                family: family.to_owned(),
                entries,
                bytes,
            }
        };
        match &self.backend {
            Backend::Memory { states, blocks, .. } => Ok(vec![
                usage(
                    "states",
                    &mut states.values().map(|s| {
                        s.state
                            .serialize()
                            .iter()
                            .map(|(k, v)| k.0.len() + v.len())
                            .sum()
                    }),
                ),
                usage(BLOCKS, &mut blocks.values().map(|b| 32 + b.len())),
            ]),
            Backend::Rocks(db) => {
                let mut out = Vec::new();
                let families = [("states", None)].into_iter().chain(
                    [STATE_VALUES, BLOCKS, META]
                        .into_iter()
                        .chain(DA_FAMILIES.iter().copied())
                        .map(|f| (f, Some(f))),
                );
                for (name, cf) in families {
                    let mut it = match cf {
                        None => db.raw_iterator(),
                        Some(cf) => db.raw_iterator_cf(family(db, cf)?),
                    };
                    it.seek_to_first();
                    let mut sizes = Vec::new();
                    while let (Some(k), Some(v)) = (it.key(), it.value()) {
                        sizes.push(k.len() + v.len());
                        it.next();
                    }
                    it.status()?;
                    out.push(usage(name, &mut sizes.into_iter()));
                }
                Ok(out)
            }
        }
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
}

/// The state record `bytes` stored under `key`.
fn decode_record(spec: &ChainSpec, key: &[u8], bytes: &[u8]) -> Result<StateRecord, StoreError> {
    decode_exact(spec, bytes).map_err(|e| StoreError::Corrupt {
        header: tessera_core::ByteArray(<[u8; 32]>::try_from(key).unwrap_or_default()),
        reason: format!(
            "the state record does not decode ({e}); a database written by a Tessera \
             before shared state values is not read: start on a fresh --base-path"
        ),
    })
}

/// The state stored under `header`: its record, and each value the record names.
fn load(
    spec: &ChainSpec,
    db: &rocksdb::DB,
    header: &Hash,
    bytes: &[u8],
) -> Result<Stored, StoreError> {
    let corrupt = |reason: String| StoreError::Corrupt {
        header: *header,
        reason,
    };
    let record = decode_record(spec, &header.0, bytes)?;
    let values = family(db, STATE_VALUES)?;
    let fetched = db.batched_multi_get_cf(values, record.entries.values().map(|h| &h.0), false);
    let mut keyvals = KeyValues::new();
    for ((key, hash), value) in record.entries.iter().zip(fetched) {
        let value =
            value?.ok_or_else(|| corrupt(format!("the value {hash} of key {key} is missing")))?;
        keyvals.insert(*key, value.to_vec());
    }
    let state = ChainState::deserialize(spec, &keyvals).map_err(|e| corrupt(e.to_string()))?;
    Ok(Stored {
        root: record.root,
        state: Arc::new(state),
    })
}

/// Column family `name` of the node's database (opened with it by [`StateStore::open`]).
fn family<'a>(
    db: &'a rocksdb::DB,
    name: &'static str,
) -> Result<&'a rocksdb::ColumnFamily, StoreError> {
    db.cf_handle(name).ok_or(StoreError::MissingFamily(name))
}

//! The state store: posterior states addressed by the hash of the header that
//! made them, in RocksDB (the default, at a path of the operator's choosing) or in
//! memory (tests, trace replays).
//!
//! A node has one RocksDB database: states live in its default column family, and
//! the availability store (`tessera_da::store`) in its own families of the same
//! database ([`StateStore::shard_store`]), so one directory holds a node's data.
//!
//! States share what they share. The values of `T(σ)` (GP D.2) live once each
//! in the `state_values` column family, under `k ⌢ H(value)`; a state is a
//! record under its header hash naming the values it holds. Two successive
//! states differ in a few components (τ, β, the statistics, ρ, …) and service
//! items, while the large parts (the validator sets, φ, service code and
//! storage) are written once and referenced by every record after.
//!
//! A record is either *whole* — `M_σ(σ)` and, per key `k` of `T(σ)`, the hash
//! of its value — or *changes*: `M_σ(σ)`, the parent's header hash and the keys
//! the block changed, each with its new value's hash or none if removed. Most
//! records are changes; one in [`WHOLE_EVERY`] of a chain is whole, so reading
//! a state reads at most that many records, and a block's write stays the size
//! of what it changed (a state of 20,000 keys took 1.26 MB a block as whole
//! records). A state is read by walking its records back to a whole one and
//! applying the changes on the way.
//!
//! The work of a put follows what the block changed, not the size of the state:
//! [`StateStore::put_child`] takes the changes from the parent's state
//! ([`ChainState::serial_changes`]), gets `M_σ` by updating the parent's
//! [`StateTrie`] along the changed keys only, and writes only the changed values
//! and the record. Pruning ([`StateStore::delete_states`], at finality) finds
//! the values only the deleted states referenced by walking their tries where
//! they differ from the kept ones, so it too costs what changed. A value is
//! keyed by its state key as well as its hash so that this walk is exact: the
//! value at `k ⌢ H(v)` is live exactly when some kept state holds `v` at `k`.
//! (Equal values under different keys, as κ and λ across an epoch change, are
//! stored once per key.) A deleted state whose record a kept state is read
//! through moves to the `state_bases` family: no longer a state (its values
//! may be gone), only a link of a kept state's chain, deleted once no kept
//! state needs it.
//!
//! Each put or delete is one RocksDB write batch, so an import either lands
//! completely or not at all: a failed or interrupted import leaves every stored
//! state as it was. Recently used states are kept decoded, and the tries of
//! recent states in memory (they share their nodes), so that importing a chain
//! does not re-read its parent.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::path::Path;
use std::sync::Arc;

use tessera_core::codec::{decode_exact, Decode, Encode, Reader};
use tessera_core::hash::Hash;
use tessera_core::merkle::state_trie::{Leaf, StateTrie};
use tessera_core::merkle::trie::StateKey;
use tessera_core::spec::ChainSpec;
use tessera_da::store::{ShardStore, COLUMN_FAMILIES as DA_FAMILIES};
use tessera_state::serial::KeyValues;
use tessera_state::ChainState;

use crate::finality::record::{VoterRecord, VOTER_RECORD_KEY};

/// A state, its root `M_σ` and its trie.
#[derive(Clone)]
pub struct Stored {
    /// `M_σ(σ)`: `trie.root()`.
    pub root: Hash,
    /// σ.
    pub state: Arc<ChainState>,
    /// The trie of `T(σ)`, sharing its nodes with the states near it.
    pub trie: StateTrie,
}

impl std::fmt::Debug for Stored {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stored")
            .field("root", &self.root)
            .finish_non_exhaustive()
    }
}

/// What a block changed in `T(σ)`: each key it changed, ascending, with its new
/// value's hash, or none if removed.
type Changes = Vec<(StateKey, Option<Hash>)>;

/// `parent` (a whole record's entries) with `changes` (ascending, one per key)
/// made.
fn merged(
    parent: &[(StateKey, Hash)],
    changes: &[(StateKey, Option<Hash>)],
) -> Vec<(StateKey, Hash)> {
    let mut out = Vec::with_capacity(parent.len() + changes.len());
    let mut at = 0;
    for (key, leaf) in changes {
        let next = at + parent[at..].partition_point(|(k, _)| k < key);
        out.extend_from_slice(&parent[at..next]);
        at = next;
        if parent.get(at).is_some_and(|(k, _)| k == key) {
            at += 1;
        }
        if let Some(value_hash) = leaf {
            out.push((*key, *value_hash));
        }
    }
    out.extend_from_slice(&parent[at..]);
    out
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
    /// The database was written in a layout this Tessera does not read.
    #[error(
        "the database at this base path holds states in an older layout ({0}): \
         start on a fresh --base-path"
    )]
    OldLayout(String),
    /// A state is to be stored on a parent that is not stored.
    #[error("no state is stored for the parent {0}")]
    MissingParent(Hash),
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
/// The column family of state values: each value `v` at key `k` of some stored
/// `T(σ)`, once, under `k ⌢ H(v)` ([`value_key`]).
const STATE_VALUES: &str = "state_values";
/// The column family of the records of deleted states that kept states are read
/// through ([`StateStore::delete_states`]), under their header hashes.
const STATE_BASES: &str = "state_bases";

/// The node's column families besides RocksDB's default one (the state
/// records): its own and the availability store's.
fn named_families() -> impl Iterator<Item = &'static str> {
    [STATE_VALUES, STATE_BASES, BLOCKS, META]
        .into_iter()
        .chain(DA_FAMILIES.iter().copied())
}

/// The `meta` record naming the layout of the stored states.
const LAYOUT_KEY: &str = "state-layout";
/// The layout this store writes: 2, whole and changes records. (1, whole records
/// only, is not read.)
const LAYOUT: u8 = 2;

/// One record in [`WHOLE_EVERY`] of a chain is whole: a state is read through at
/// most this many records, and a chain of 64 blocks writes one state's keys
/// (63 octets each) once.
pub const WHOLE_EVERY: u32 = 64;

/// A stored state, in the default column family under its header hash (or in
/// [`STATE_BASES`] once deleted but still a base).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
struct StateRecord {
    /// `M_σ(σ)`.
    root: Hash,
    /// The keys and value hashes, whole or as changes.
    body: RecordBody,
}

/// What a [`StateRecord`] holds besides the root. [`record_link`] reads the
/// first fields of each variant without the rest: keep them first.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
#[codec(tag_name = "state record kind", what = "state record kind")]
enum RecordBody {
    /// `(k, H(v))` for each `(k, v)` of `T(σ)`, by key.
    Whole {
        #[codec(name = "state entries")]
        entries: Vec<(StateKey, Hash)>,
    },
    /// The state is the parent's with `changes` made: each key the block
    /// changed, by key, with its new value's hash, or none if removed.
    Changes {
        /// The header hash of the parent's record.
        parent: Hash,
        /// Changes records from this one back to the whole one, this one included.
        depth: u32,
        #[codec(name = "state changes")]
        changes: Changes,
    },
}

/// Where a record stands in its chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Link {
    /// A whole record.
    Whole,
    /// A changes record on `parent`'s, `depth` changes records from a whole one.
    Changes { parent: Hash, depth: u32 },
}

/// The [`Link`] of the record `bytes`, read from its first fields only (a whole
/// record is large).
fn record_link(spec: &ChainSpec, header: &Hash, bytes: &[u8]) -> Result<Link, StoreError> {
    let corrupt = |e: tessera_core::codec::DecodeError| StoreError::Corrupt {
        header: *header,
        reason: format!("the state record does not decode ({e})"),
    };
    let mut r = Reader::new(spec, bytes);
    Hash::decode(&mut r).map_err(corrupt)?;
    match r.u8("state record kind").map_err(corrupt)? {
        0 => Ok(Link::Whole),
        1 => Ok(Link::Changes {
            parent: Hash::decode(&mut r).map_err(corrupt)?,
            depth: u32::decode(&mut r).map_err(corrupt)?,
        }),
        tag => Err(StoreError::Corrupt {
            header: *header,
            reason: format!("the state record kind {tag} is unknown"),
        }),
    }
}

/// A record's entries from a trie: every leaf's key and value hash.
fn record_entries(trie: &StateTrie) -> Vec<(StateKey, Hash)> {
    trie.leaves()
        .into_iter()
        .map(|l| (l.key, l.value_hash))
        .collect()
}

/// The key of value `H(v) = value_hash` at state key `key` in [`STATE_VALUES`].
fn value_key(key: &StateKey, value_hash: &Hash) -> [u8; 63] {
    let mut out = [0u8; 63];
    out[..31].copy_from_slice(key.as_ref());
    out[31..].copy_from_slice(value_hash.as_ref());
    out
}

/// A state ready to be stored ([`StateStore::stage_child`]).
#[derive(Debug)]
pub struct Staged {
    parent: Hash,
    state: Arc<ChainState>,
    trie: StateTrie,
    /// What the block changed: each key, by key, with its new value's hash or
    /// none if removed.
    changes: Changes,
    /// The changed values, each with its leaf.
    written: Vec<(Leaf, Vec<u8>)>,
}

impl Staged {
    /// `M_σ` of the staged state.
    pub fn root(&self) -> Hash {
        self.trie.root()
    }
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

/// What RocksDB holds in memory for the node's database (its own estimates):
/// the block cache (bounded by `tessera_da::store::BLOCK_CACHE_BYTES`, with the
/// memtables charged to it), what of it is pinned, the memtables and the table
/// readers' index and filter blocks outside the cache.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DbMemory {
    /// `rocksdb.block-cache-usage`.
    pub block_cache: u64,
    /// `rocksdb.block-cache-pinned-usage`.
    pub block_cache_pinned: u64,
    /// `rocksdb.cur-size-all-mem-tables`, summed over the column families.
    pub memtables: u64,
    /// `rocksdb.estimate-table-readers-mem`, summed over the column families.
    pub table_readers: u64,
}

/// States by header hash.
pub struct StateStore {
    spec: ChainSpec,
    backend: Backend,
    /// Decoded states most recently put or read, newest last.
    cache: VecDeque<(Hash, Stored)>,
    /// The tries of the states most recently put or read, newest last: pruning
    /// compares the pruned states' tries with the kept ones'.
    tries: VecDeque<(Hash, StateTrie)>,
    /// The header hashes that have a state record (RocksDB; read at open).
    stored: HashSet<Hash>,
    /// The header hashes of the records in [`STATE_BASES`] (read at open).
    bases: HashSet<Hash>,
    /// The links of the records read or written so far.
    links: HashMap<Hash, Link>,
    /// One record in this many of a chain is whole ([`WHOLE_EVERY`]).
    whole_every: u32,
}

/// How many decoded states the cache keeps: enough for forks a few blocks deep.
/// (A decoded state holds its own copy of each account a block changed.)
const CACHE_STATES: usize = 8;

/// How many tries are kept: the unfinalized states and a margin. They share
/// nodes, so each costs about what its block changed; past this, a trie pruning
/// needs is rebuilt from the database.
const CACHE_TRIES: usize = 64;

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
            tries: VecDeque::new(),
            stored: HashSet::new(),
            bases: HashSet::new(),
            links: HashMap::new(),
            whole_every: WHOLE_EVERY,
        }
    }

    /// Write one whole record in `every` of a chain instead of [`WHOLE_EVERY`]
    /// (at least 1: every record whole). Tests use a small one to read states
    /// through many chains.
    pub fn set_whole_every(&mut self, every: u32) {
        self.whole_every = every.max(1);
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
        let db = tessera_da::store::open_bounded(&options, path, named_families())?;
        let headers = |it: &mut rocksdb::DBRawIterator<'_>| -> Result<HashSet<Hash>, StoreError> {
            let mut out = HashSet::new();
            it.seek_to_first();
            while let Some(key) = it.key() {
                if let Ok(hash) = <[u8; 32]>::try_from(key) {
                    out.insert(tessera_core::ByteArray(hash));
                }
                it.next();
            }
            it.status()?;
            Ok(out)
        };
        let stored = headers(&mut db.raw_iterator())?;
        let bases = headers(&mut db.raw_iterator_cf(family(&db, STATE_BASES)?))?;
        match db.get_cf(family(&db, META)?, LAYOUT_KEY)? {
            Some(layout) if layout[..] == [LAYOUT] => {}
            Some(layout) => return Err(StoreError::OldLayout(format!("layout {layout:?}"))),
            None if stored.is_empty() => db.put_cf(family(&db, META)?, LAYOUT_KEY, [LAYOUT])?,
            None => {
                return Err(StoreError::OldLayout(
                    "whole records only, by a Tessera before changes records".into(),
                ))
            }
        }
        Ok(StateStore {
            spec: spec.clone(),
            backend: Backend::Rocks(Arc::new(db)),
            cache: VecDeque::new(),
            tries: VecDeque::new(),
            stored,
            bases,
            links: HashMap::new(),
            whole_every: WHOLE_EVERY,
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

    /// Store `state` under `header`, in one atomic write; returns `M_σ(state)`.
    /// The whole of `T(σ)` is hashed and written: for a state with no stored
    /// parent (genesis, a fuzzer's initial state).
    pub fn put(&mut self, header: Hash, state: Arc<ChainState>) -> Result<Hash, StoreError> {
        let kv = state.serialize();
        let trie = StateTrie::from_map(&kv);
        let written: Vec<(Leaf, Vec<u8>)> =
            trie.leaves().into_iter().zip(kv.into_values()).collect();
        self.write(header, state, trie, None, &written, None)
    }

    /// Prepare `state`, made by a block on the state stored under `parent`, for
    /// [`StateStore::commit`]: take the changes from the parent's state
    /// ([`ChainState::serial_changes`]) and update the parent's trie along them.
    /// Only what the block changed is hashed. The root is known from here on,
    /// for a block record that names it.
    pub fn stage_child(
        &mut self,
        parent: &Hash,
        state: Arc<ChainState>,
    ) -> Result<Staged, StoreError> {
        let prior = self
            .get(parent)?
            .ok_or(StoreError::MissingParent(*parent))?;
        let mut leaves = Vec::new();
        let mut changes = Vec::new();
        let mut written = Vec::new();
        for (key, value) in state.serial_changes(&prior.state) {
            let leaf = value.as_deref().map(|v| Leaf::new(key, v));
            leaves.push((key, leaf));
            changes.push((key, leaf.map(|l| l.value_hash)));
            if let (Some(leaf), Some(value)) = (leaf, value) {
                written.push((leaf, value));
            }
        }
        Ok(Staged {
            parent: *parent,
            trie: prior.trie.updated(leaves),
            state,
            changes,
            written,
        })
    }

    /// Store a staged state under `header`, with the block's record `E(B)` when
    /// given, in one atomic write: after a crash either both are there or
    /// neither. Returns `M_σ`. Only the changed values are written (and the
    /// record): every other value is the parent's, stored under the same key,
    /// and the parent must still be stored.
    pub fn commit(
        &mut self,
        header: Hash,
        staged: Staged,
        block: Option<&[u8]>,
    ) -> Result<Hash, StoreError> {
        if !self.contains(&staged.parent)? {
            return Err(StoreError::MissingParent(staged.parent));
        }
        self.write(
            header,
            staged.state,
            staged.trie,
            Some((staged.parent, staged.changes)),
            &staged.written,
            block,
        )
    }

    /// [`StateStore::stage_child`] then [`StateStore::commit`], with no block.
    pub fn put_child(
        &mut self,
        header: Hash,
        parent: &Hash,
        state: Arc<ChainState>,
    ) -> Result<Hash, StoreError> {
        let staged = self.stage_child(parent, state)?;
        self.commit(header, staged, None)
    }

    /// Write the state `state` with trie `trie` under `header`: the values
    /// `written` (each with its leaf), the record, and the block when given.
    /// The record is `(parent, changes)`'s changes record, unless the chain is due
    /// a whole one ([`WHOLE_EVERY`]) or there is no parent.
    fn write(
        &mut self,
        header: Hash,
        state: Arc<ChainState>,
        trie: StateTrie,
        changed: Option<(Hash, Changes)>,
        written: &[(Leaf, Vec<u8>)],
        block: Option<&[u8]>,
    ) -> Result<Hash, StoreError> {
        let link = match &changed {
            Some((parent, _)) if matches!(self.backend, Backend::Rocks(_)) => {
                let depth = match self.link(parent)? {
                    Link::Whole => 1,
                    Link::Changes { depth, .. } => depth + 1,
                };
                if depth < self.whole_every {
                    Link::Changes {
                        parent: *parent,
                        depth,
                    }
                } else {
                    Link::Whole
                }
            }
            _ => Link::Whole,
        };
        let stored = Stored {
            root: trie.root(),
            state,
            trie,
        };
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
                for (leaf, value) in written {
                    batch.put_cf(values, value_key(&leaf.key, &leaf.value_hash), value);
                }
                let body = match (link, changed) {
                    (Link::Changes { parent, depth }, Some((_, changes))) => RecordBody::Changes {
                        parent,
                        depth,
                        changes,
                    },
                    _ => RecordBody::Whole {
                        entries: record_entries(&stored.trie),
                    },
                };
                let record = StateRecord {
                    root: stored.root,
                    body,
                };
                batch.put(header.0, record.encode());
                if let Some(b) = block {
                    batch.put_cf(family(db, BLOCKS)?, header.0, b);
                }
                db.write(batch)?;
                self.stored.insert(header);
                self.links.insert(header, link);
            }
        }
        let root = stored.root;
        self.remember(header, stored);
        Ok(root)
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

    /// Set several meta records in one write: all or none are stored.
    pub fn set_metas(&mut self, entries: &[(&str, &[u8])]) -> Result<(), StoreError> {
        match &mut self.backend {
            Backend::Memory { meta, .. } => {
                for (key, value) in entries {
                    meta.insert((*key).to_owned(), value.to_vec());
                }
                Ok(())
            }
            Backend::Rocks(db) => {
                let cf = family(db, META)?;
                let mut batch = rocksdb::WriteBatch::default();
                for (key, value) in entries {
                    batch.put_cf(cf, key.as_bytes(), value);
                }
                Ok(db.write(batch)?)
            }
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
    ///
    /// A value at `k ⌢ H(v)` is live while some remaining state holds `v` at `k`.
    /// The candidates are the leaves of each deleted state's trie outside the
    /// subtrees it shares with a remaining one; each is looked up in every
    /// remaining trie. So the cost follows what differs between the deleted
    /// states and the kept ones, not the size of the state.
    pub fn delete_states(&mut self, headers: &[Hash]) -> Result<(), StoreError> {
        if let Backend::Memory { states, .. } = &mut self.backend {
            for h in headers {
                states.remove(h);
            }
            self.forget(headers);
            return Ok(());
        }
        let doomed: Vec<Hash> = {
            let mut seen = HashSet::new();
            headers
                .iter()
                .filter(|h| self.stored.contains(*h) && seen.insert(**h))
                .copied()
                .collect()
        };
        if doomed.is_empty() {
            return Ok(());
        }
        let kept: Vec<Hash> = self
            .stored
            .iter()
            .filter(|h| !doomed.contains(*h))
            .copied()
            .collect();
        let mut doomed_tries = Vec::with_capacity(doomed.len());
        for h in &doomed {
            doomed_tries.push(self.trie_of(h)?);
        }
        let mut kept_tries = Vec::with_capacity(kept.len());
        for h in &kept {
            kept_tries.push(self.trie_of(h)?);
        }
        // The records the kept states are read through: each one's chain of
        // changes records back to its whole record.
        let mut needed = HashSet::new();
        for h in &kept {
            let mut at = *h;
            while let Link::Changes { parent, .. } = self.link(&at)? {
                if !needed.insert(parent) {
                    break;
                }
                at = parent;
            }
        }
        let Backend::Rocks(db) = &self.backend else {
            return Ok(());
        };
        let values = family(db, STATE_VALUES)?;
        let bases = family(db, STATE_BASES)?;
        let mut batch = rocksdb::WriteBatch::default();
        let mut swept = HashSet::new();
        let mut new_bases = Vec::new();
        for (h, trie) in doomed.iter().zip(&doomed_tries) {
            if needed.contains(h) {
                let record = db.get_pinned(h.0)?.ok_or_else(|| StoreError::Corrupt {
                    header: *h,
                    reason: "its state record vanished".into(),
                })?;
                batch.put_cf(bases, h.0, &record[..]);
                new_bases.push(*h);
            }
            batch.delete(h.0);
            let candidates = match kept_tries.first() {
                Some(kept) => trie.leaves_not_shared_with(kept),
                None => trie.leaves(),
            };
            for leaf in candidates {
                let live = kept_tries.iter().any(|t| t.get(&leaf.key) == Some(&leaf));
                if !live && swept.insert((leaf.key, leaf.value_hash)) {
                    batch.delete_cf(values, value_key(&leaf.key, &leaf.value_hash));
                }
            }
        }
        let unneeded: Vec<Hash> = self
            .bases
            .iter()
            .filter(|b| !needed.contains(*b))
            .copied()
            .collect();
        for b in &unneeded {
            batch.delete_cf(bases, b.0);
        }
        db.write(batch)?;
        for h in &doomed {
            self.stored.remove(h);
            if !needed.contains(h) {
                self.links.remove(h);
            }
        }
        for b in &unneeded {
            self.bases.remove(b);
            self.links.remove(b);
        }
        self.bases.extend(new_bases);
        self.forget(&doomed);
        Ok(())
    }

    /// Where the record under `header` (a stored state's or a base's) stands in
    /// its chain: remembered, else read from the database.
    fn link(&mut self, header: &Hash) -> Result<Link, StoreError> {
        if let Some(link) = self.links.get(header) {
            return Ok(*link);
        }
        let Backend::Rocks(db) = &self.backend else {
            return Ok(Link::Whole);
        };
        let bytes = record_bytes(db, header)?.ok_or_else(|| StoreError::Corrupt {
            header: *header,
            reason: "the state record of a chain is missing".into(),
        })?;
        let link = record_link(&self.spec, header, &bytes)?;
        self.links.insert(*header, link);
        Ok(link)
    }

    /// The trie of the state under `header`, which must be stored: from memory,
    /// else rebuilt from the database.
    fn trie_of(&mut self, header: &Hash) -> Result<StateTrie, StoreError> {
        if let Some((_, t)) = self.tries.iter().find(|(h, _)| h == header) {
            return Ok(t.clone());
        }
        let stored = self.get(header)?.ok_or_else(|| StoreError::Corrupt {
            header: *header,
            reason: "its state record vanished".into(),
        })?;
        Ok(stored.trie)
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
                let families = [("states", None)]
                    .into_iter()
                    .chain(named_families().map(|f| (f, Some(f))));
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

    /// What RocksDB holds in memory ([`DbMemory`]); `None` for a store in memory.
    pub fn db_memory(&self) -> Result<Option<DbMemory>, StoreError> {
        let Backend::Rocks(db) = &self.backend else {
            return Ok(None);
        };
        let mut out = DbMemory {
            block_cache: db
                .property_int_value("rocksdb.block-cache-usage")?
                .unwrap_or(0),
            block_cache_pinned: db
                .property_int_value("rocksdb.block-cache-pinned-usage")?
                .unwrap_or(0),
            ..DbMemory::default()
        };
        let handles = named_families()
            .map(|name| family(db, name))
            .collect::<Result<Vec<_>, _>>()?;
        let default = db.cf_handle(rocksdb::DEFAULT_COLUMN_FAMILY_NAME);
        for cf in handles.into_iter().chain(default) {
            out.memtables += db
                .property_int_value_cf(cf, "rocksdb.cur-size-all-mem-tables")?
                .unwrap_or(0);
            out.table_readers += db
                .property_int_value_cf(cf, "rocksdb.estimate-table-readers-mem")?
                .unwrap_or(0);
        }
        Ok(Some(out))
    }

    /// Whether a state is stored under `header` (without decoding it).
    pub fn contains(&mut self, header: &Hash) -> Result<bool, StoreError> {
        match &self.backend {
            Backend::Memory { states, .. } => Ok(states.contains_key(header)),
            Backend::Rocks(_) => Ok(self.stored.contains(header)),
        }
    }

    fn remember(&mut self, header: Hash, stored: Stored) {
        self.tries.retain(|(h, _)| *h != header);
        self.tries.push_back((header, stored.trie.clone()));
        while self.tries.len() > CACHE_TRIES {
            self.tries.pop_front();
        }
        self.cache.retain(|(h, _)| *h != header);
        self.cache.push_back((header, stored));
        while self.cache.len() > CACHE_STATES {
            self.cache.pop_front();
        }
    }

    fn forget(&mut self, headers: &[Hash]) {
        self.cache.retain(|(h, _)| !headers.contains(h));
        self.tries.retain(|(h, _)| !headers.contains(h));
    }
}

/// The state record `bytes` stored under `header`.
fn decode_record(spec: &ChainSpec, header: &Hash, bytes: &[u8]) -> Result<StateRecord, StoreError> {
    decode_exact(spec, bytes).map_err(|e| StoreError::Corrupt {
        header: *header,
        reason: format!("the state record does not decode ({e})"),
    })
}

/// The record under `header`: a stored state's, else a base's.
fn record_bytes<'a>(
    db: &'a rocksdb::DB,
    header: &Hash,
) -> Result<Option<rocksdb::DBPinnableSlice<'a>>, StoreError> {
    match db.get_pinned(header.0)? {
        Some(bytes) => Ok(Some(bytes)),
        None => Ok(db.get_pinned_cf(family(db, STATE_BASES)?, header.0)?),
    }
}

/// A bound on a chain of changes records, far above [`WHOLE_EVERY`]: past it the
/// records link in a cycle (a corrupt database), not a chain.
const MAX_CHAIN: usize = 1 << 16;

/// The state stored under `header`, whose record is `bytes`: the records of its
/// chain back to a whole one, the changes on the way made to its entries, and
/// each value they name; its trie rebuilt and checked against the record's root.
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
    let record = decode_record(spec, header, bytes)?;
    let root = record.root;
    let mut body = record.body;
    // The changes, newest first.
    let mut layers = Vec::new();
    let whole = loop {
        match body {
            RecordBody::Whole { entries } => break entries,
            RecordBody::Changes {
                parent, changes, ..
            } => {
                if changes.windows(2).any(|w| w[0].0 >= w[1].0) {
                    return Err(corrupt(format!(
                        "the changes record on {parent} is not in ascending key order"
                    )));
                }
                layers.push(changes);
                if layers.len() > MAX_CHAIN {
                    return Err(corrupt("its chain of changes records is a cycle".into()));
                }
                let bytes = record_bytes(db, &parent)?.ok_or_else(|| {
                    corrupt(format!(
                        "the record of {parent}, a base of its chain, is missing"
                    ))
                })?;
                body = decode_record(spec, &parent, &bytes)?.body;
            }
        }
    };
    if whole.windows(2).any(|w| w[0].0 >= w[1].0) {
        return Err(corrupt(
            "the whole record's keys are not in ascending order".into(),
        ));
    }
    // Each key's newest change, then all of them made at once.
    let mut net = BTreeMap::new();
    for layer in layers.iter().rev() {
        net.extend(layer.iter().copied());
    }
    let net: Vec<(StateKey, Option<Hash>)> = net.into_iter().collect();
    let entries = merged(&whole, &net);
    let values = family(db, STATE_VALUES)?;
    let keys: Vec<[u8; 63]> = entries.iter().map(|(k, h)| value_key(k, h)).collect();
    let fetched = db.batched_multi_get_cf(values, keys.iter(), false);
    let mut keyvals = KeyValues::new();
    for ((key, hash), value) in entries.iter().zip(fetched) {
        let value =
            value?.ok_or_else(|| corrupt(format!("the value {hash} of key {key} is missing")))?;
        keyvals.insert(*key, value.to_vec());
    }
    let trie = StateTrie::from_map(&keyvals);
    if trie.root() != root {
        return Err(corrupt(format!(
            "its values merklize to {}, not the recorded root {root}",
            trie.root(),
        )));
    }
    let state = ChainState::deserialize(spec, &keyvals).map_err(|e| corrupt(e.to_string()))?;
    Ok(Stored {
        root,
        state: Arc::new(state),
        trie,
    })
}

/// Column family `name` of the node's database (opened with it by [`StateStore::open`]).
fn family<'a>(
    db: &'a rocksdb::DB,
    name: &'static str,
) -> Result<&'a rocksdb::ColumnFamily, StoreError> {
    db.cf_handle(name).ok_or(StoreError::MissingFamily(name))
}

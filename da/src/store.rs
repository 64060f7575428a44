//! The shard store: what a node keeps of the availability system, in column
//! families of its one RocksDB database (the state store, `node/src/store.rs`, is
//! the default family of the same database).
//!
//! | family | key | value | kept (GP 14.3) |
//! |---|---|---|---|
//! | `da_bundle_shards` | erasure root ⌢ shard index | the bundle shard | until released, see below |
//! | `da_segment_shards` | erasure root ⌢ shard index | that index's segment shards | `segment_retention_slots` (a guarantor's rows of indices not its own: `U` slots, [`ShardStore::put_guarantor_rows`]) |
//! | `da_justifications` | erasure root ⌢ shard index | `b♣_i` (the bundle shard's hash) ⌢ `s♣_i` (the segment shards' root) ⌢ the CE 137 justification | with the segment shards (CE 139/140 are served after the bundle shard is gone, and CE 140 needs `b♣_i`; CE 138 appends `s♣_i`, computed once here rather than per request) |
//! | `da_bundles` | erasure root | a guarantor's whole bundle (CE 147) | until released |
//! | `da_segments` | segments root ⌢ segment index | an exported segment and its import proof (CE 148) | `segment_retention_slots` |
//! | `da_expiry`, `da_expiry_of` | slot ⌢ class ⌢ key, class ⌢ key | the retention index | — |
//!
//! Indices are big-endian in keys so that one package's entries sort together.
//!
//! **Retention.** The GP keeps a bundle's shards "until the work-report's block is
//! finalized or the report is audited", and drops them if the report never becomes
//! available within `U` slots; exported segments' shards for 28 days. So a bundle
//! shard is stored to expire `U` slots after receipt ([`ShardStore::put_shard_set`]);
//! when its report becomes available the node calls [`ShardStore::keep_bundle`]
//! (no expiry), and when the block is finalized or the report audited,
//! [`ShardStore::release_bundle`] (expire now). [`ShardStore::prune`] deletes what
//! has expired; the node runs it in the background.
//!
//! **Atomicity.** Each `put` is one RocksDB write batch (with the write-ahead log):
//! a shard set lands whole or not at all, and once `put` returns it survives the
//! process being killed.

use std::path::Path;
use std::sync::Arc;

use rocksdb::{ColumnFamily, IteratorMode, WriteBatch, DB};
use tessera_core::codec::{decode_exact, Encode};
use tessera_core::hash::{blake2b_256, Hash};
use tessera_core::spec::ChainSpec;
use tessera_net::messages::Justification;

use crate::justification::segment_shards_root;

/// A timeslot index.
pub type Slot = u32;

/// What `da_justifications` holds for one shard index: everything needed to prove
/// its shards to the erasure root (CE 138, 140) without reading the shards.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShardProof {
    /// `b♣_i`: the bundle shard's hash.
    pub bundle_shard_hash: Hash,
    /// `s♣_i`: the root of the index's segment shards.
    pub segment_shards_root: Hash,
    /// The CE 137 justification.
    pub justification: Justification,
}

const BUNDLE_SHARDS: &str = "da_bundle_shards";
const SEGMENT_SHARDS: &str = "da_segment_shards";
const JUSTIFICATIONS: &str = "da_justifications";
const BUNDLES: &str = "da_bundles";
const SEGMENTS: &str = "da_segments";
const EXPIRY: &str = "da_expiry";
const EXPIRY_OF: &str = "da_expiry_of";

/// The column families this store needs; the node opens its database with these
/// beside its own.
pub const COLUMN_FAMILIES: [&str; 7] = [
    BUNDLE_SHARDS,
    SEGMENT_SHARDS,
    JUSTIFICATIONS,
    BUNDLES,
    SEGMENTS,
    EXPIRY,
    EXPIRY_OF,
];

/// The most hashes in an import proof: a segment's path in the constant-depth tree
/// of at most `W_M` (3072) segments, padded to 4096, is 12 hashes.
const MAX_PROOF_HASHES: usize = 32;

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// RocksDB reported an error.
    #[error("database: {0}")]
    Db(#[from] rocksdb::Error),
    /// The database lacks one of [`COLUMN_FAMILIES`]: it was opened without them.
    #[error(
        "the database has no column family {0}: open it with tessera_da::store::COLUMN_FAMILIES"
    )]
    MissingFamily(&'static str),
    /// A stored value does not decode: the database is corrupt or foreign.
    #[error("stored {what} is corrupt: {reason}")]
    Corrupt {
        /// What was read.
        what: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A value to store does not have the shape the spec gives it.
    #[error("refused to store {what}: {reason}")]
    Invalid {
        /// What was to be stored.
        what: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

/// What an assurer receives over CE 137 for one shard index of one package.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShardSet {
    /// The bundle shard.
    pub bundle_shard: Vec<u8>,
    /// The segment shards of this index, exported segments then proof pages, each
    /// `2·W_P` octets.
    pub segment_shards: Vec<Vec<u8>>,
    /// The CE 137 justification.
    pub justification: Justification,
}

/// One shard index's data as it is written, borrowed: what a guarantor stores for
/// every index of its package, or an assurer for its own after verifying it.
#[derive(Clone, Copy, Debug)]
pub struct ShardRow<'a> {
    /// The shard index.
    pub index: u16,
    /// The bundle shard.
    pub bundle_shard: &'a [u8],
    /// The index's segment shards back to back (`2·W_P` octets each).
    pub segment_shards: &'a [u8],
    /// `s♣_index`: their root.
    pub segment_shards_root: Hash,
    /// The CE 137 justification.
    pub justification: &'a Justification,
}

/// An exported segment as a guarantor keeps it for CE 148.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredSegment {
    /// The segment, `W_G` octets.
    pub segment: Vec<u8>,
    /// Its import proof (`J₀`, GP (14.14)) to the segments root.
    pub proof: Vec<Hash>,
}

/// What [`ShardStore::prune`] removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Bundle shards removed.
    pub bundle_shards: usize,
    /// Segment-shard sets (with their justifications) removed.
    pub segment_shard_sets: usize,
    /// Guarantor bundles removed.
    pub bundles: usize,
    /// Exported packages' segment sets removed.
    pub segment_sets: usize,
}

/// The retention classes of the expiry index, one octet in its keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Class {
    /// Key: erasure root ⌢ index; family `da_bundle_shards`.
    BundleShard = 0,
    /// Key: erasure root ⌢ index; families `da_segment_shards`, `da_justifications`.
    SegmentShards = 1,
    /// Key: erasure root; family `da_bundles`.
    Bundle = 2,
    /// Key: segments root; every `da_segments` entry under it.
    Segments = 3,
}

impl Class {
    fn from_octet(b: u8) -> Option<Class> {
        Some(match b {
            0 => Class::BundleShard,
            1 => Class::SegmentShards,
            2 => Class::Bundle,
            3 => Class::Segments,
            _ => return None,
        })
    }
}

/// An expiry slot that never comes: the entry is kept until released.
const KEEP: Slot = Slot::MAX;

/// The availability data a node holds.
pub struct ShardStore {
    spec: ChainSpec,
    db: Arc<DB>,
}

/// RocksDB options whose memory is bounded, for this store's database and the node's
/// (which holds these families beside its own), to be given to every column family
/// ([`open_bounded`]): one LRU block cache of
/// [`BLOCK_CACHE_BYTES`] for every column family, holding the SST files' index and
/// filter blocks too (by default RocksDB keeps those outside any cache, for every
/// file it has opened, so they grow with the database), and a write-buffer manager
/// that flushes once all memtables together pass [`MEMTABLE_BYTES`], charged to that
/// cache. (Measured before this, with heaptrack over a 300-slot testnet: memtables
/// were 226 MB of the 357 MB live at the end, about 38 MB per validator, held until
/// the 32 MiB write-ahead-log limit forced a flush.) Memtables flush at 8 MiB per
/// family, the log is cut beyond 32 MiB, and RocksDB's info log keeps four 1 MiB
/// files.
pub fn bounded_options() -> rocksdb::Options {
    let cache = rocksdb::Cache::new_lru_cache(BLOCK_CACHE_BYTES);
    let mut table = rocksdb::BlockBasedOptions::default();
    table.set_block_cache(&cache);
    table.set_cache_index_and_filter_blocks(true);
    table.set_pin_l0_filter_and_index_blocks_in_cache(true);
    let mut options = rocksdb::Options::default();
    options.set_block_based_table_factory(&table);
    options.set_write_buffer_manager(
        &rocksdb::WriteBufferManager::new_write_buffer_manager_with_cache(
            MEMTABLE_BYTES,
            false,
            cache,
        ),
    );
    options.set_write_buffer_size(8 << 20);
    options.set_max_total_wal_size(32 << 20);
    options.set_max_log_file_size(1 << 20);
    options.set_keep_log_file_num(4);
    options
}

/// Open the database at `path` with `options` (from [`bounded_options`]) and the
/// column families `families` and the default one, each with `options` too.
/// (`DB::open_cf` gives every family, the default one included, RocksDB's
/// default table options — a block cache of 32 MiB of its own per family, index
/// and filter blocks outside any cache — whatever `options` say: a node's
/// thirteen families could hold 416 MiB of caches, and its memory grew for
/// thousands of slots.)
pub fn open_bounded<'a>(
    options: &rocksdb::Options,
    path: &Path,
    families: impl IntoIterator<Item = &'a str>,
) -> Result<DB, rocksdb::Error> {
    // The default family too: `open_cf_descriptors` would add it with
    // RocksDB's defaults.
    let descriptors = std::iter::once(rocksdb::DEFAULT_COLUMN_FAMILY_NAME)
        .chain(families)
        .map(|name| rocksdb::ColumnFamilyDescriptor::new(name, options.clone()));
    DB::open_cf_descriptors(options, path, descriptors)
}

/// The block cache of [`bounded_options`].
pub const BLOCK_CACHE_BYTES: usize = 32 << 20;
/// All memtables of a database together, in [`bounded_options`].
pub const MEMTABLE_BYTES: usize = 16 << 20;

impl ShardStore {
    /// Open (or create) a database at `path` holding only this store's families
    /// (and RocksDB's default one). A node shares its database instead
    /// ([`ShardStore::with_db`]).
    pub fn open(spec: &ChainSpec, path: &Path) -> Result<Self, StoreError> {
        let mut options = bounded_options();
        options.create_if_missing(true);
        options.create_missing_column_families(true);
        let db = open_bounded(&options, path, COLUMN_FAMILIES.iter().copied())?;
        Self::with_db(spec, Arc::new(db))
    }

    /// The store over an open database that has [`COLUMN_FAMILIES`].
    pub fn with_db(spec: &ChainSpec, db: Arc<DB>) -> Result<Self, StoreError> {
        for name in COLUMN_FAMILIES {
            if db.cf_handle(name).is_none() {
                return Err(StoreError::MissingFamily(name));
            }
        }
        Ok(ShardStore {
            spec: spec.clone(),
            db,
        })
    }

    /// The chain spec the store's shapes follow.
    pub fn spec(&self) -> &ChainSpec {
        &self.spec
    }

    fn get(&self, family: &'static str, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.db.get_cf(self.cf(family), key)?)
    }

    fn cf(&self, name: &'static str) -> &ColumnFamily {
        // Checked in `with_db`, and families are never dropped.
        self.db
            .cf_handle(name)
            .expect("column family checked when the store was made")
    }

    /// Store shard `index` of the package with `erasure_root`, received at slot
    /// `now`, in one write: the bundle shard to expire after `U` slots unless
    /// [`Self::keep_bundle`] is called, the segment shards and justification after
    /// `segment_retention_slots`. `s♣_index` is computed here; a caller that has it
    /// (a verified fetch) uses [`Self::put_shard_rows`].
    pub fn put_shard_set(
        &self,
        erasure_root: &Hash,
        index: u16,
        set: &ShardSet,
        now: Slot,
    ) -> Result<(), StoreError> {
        let shard_len = segment_shard_len(&self.spec);
        if let Some(bad) = set.segment_shards.iter().find(|s| s.len() != shard_len) {
            return Err(StoreError::Invalid {
                what: "segment shard",
                reason: format!("{} octets where the spec has {shard_len}", bad.len()),
            });
        }
        let segment_shards = set.segment_shards.concat();
        let row = ShardRow {
            index,
            bundle_shard: &set.bundle_shard,
            segment_shards: &segment_shards,
            segment_shards_root: segment_shards_root(&set.segment_shards),
            justification: &set.justification,
        };
        self.put_shard_rows(erasure_root, [row], now)
    }

    /// Store shard rows of the package with `erasure_root` at slot `now`, all in one
    /// write (a guarantor's whole package lands at once, or not at all); retention
    /// as [`Self::put_shard_set`].
    pub fn put_shard_rows<'a>(
        &self,
        erasure_root: &Hash,
        rows: impl IntoIterator<Item = ShardRow<'a>>,
        now: Slot,
    ) -> Result<(), StoreError> {
        self.put_rows(erasure_root, rows, now, |_| true)
    }

    /// A guarantor's rows of the package with `erasure_root` (every index, to
    /// serve the assurers over CE 137), stored at slot `now` in one write. The
    /// guarantor is itself the assurer of index `own` only: that row is kept as
    /// [`Self::put_shard_set`] keeps an assurer's, and the other rows' segment
    /// shards and justifications expire with their bundle shards' first
    /// deadline, `U` slots after `now`. By then the report is available or
    /// never will be, so every assurer has fetched its own row — and keeps it
    /// for `segment_retention_slots` (GP 14.3's 28 days) — and guarantors need
    /// not keep a second copy of every index for as long.
    pub fn put_guarantor_rows<'a>(
        &self,
        erasure_root: &Hash,
        rows: impl IntoIterator<Item = ShardRow<'a>>,
        now: Slot,
        own: u16,
    ) -> Result<(), StoreError> {
        self.put_rows(erasure_root, rows, now, |index| index == own)
    }

    /// [`Self::put_shard_rows`], each row's segment shards kept for
    /// `segment_retention_slots` where `long` says so, else `U` slots.
    fn put_rows<'a>(
        &self,
        erasure_root: &Hash,
        rows: impl IntoIterator<Item = ShardRow<'a>>,
        now: Slot,
        long: impl Fn(u16) -> bool,
    ) -> Result<(), StoreError> {
        let shard_len = segment_shard_len(&self.spec);
        let mut batch = WriteBatch::default();
        for row in rows {
            if row.segment_shards.len() % shard_len != 0 {
                return Err(StoreError::Invalid {
                    what: "segment shard",
                    reason: format!(
                        "{} octets of segment shards is not a whole number of {shard_len}-octet shards",
                        row.segment_shards.len()
                    ),
                });
            }
            let key = shard_key(erasure_root, row.index);
            batch.put_cf(self.cf(BUNDLE_SHARDS), key, row.bundle_shard);
            batch.put_cf(self.cf(SEGMENT_SHARDS), key, row.segment_shards);
            let mut proof = Vec::with_capacity(64 + 33 * row.justification.0.len());
            proof.extend_from_slice(blake2b_256(row.bundle_shard).as_ref());
            proof.extend_from_slice(row.segment_shards_root.as_ref());
            row.justification.encode_to(&mut proof);
            batch.put_cf(self.cf(JUSTIFICATIONS), key, proof);
            self.set_expiry(
                &mut batch,
                Class::BundleShard,
                &key,
                now.saturating_add(self.spec.availability_timeout),
            )?;
            let kept = if long(row.index) {
                self.spec.segment_retention_slots
            } else {
                self.spec.availability_timeout
            };
            self.set_expiry(
                &mut batch,
                Class::SegmentShards,
                &key,
                now.saturating_add(kept),
            )?;
        }
        self.db.write(batch)?;
        Ok(())
    }

    /// The shard set stored for `index` of `erasure_root`, if all of it is held.
    pub fn shard_set(
        &self,
        erasure_root: &Hash,
        index: u16,
    ) -> Result<Option<ShardSet>, StoreError> {
        let key = shard_key(erasure_root, index);
        let Some(bundle_shard) = self.get(BUNDLE_SHARDS, &key)? else {
            return Ok(None);
        };
        let Some(segment_shards) = self.segment_shards(erasure_root, index)? else {
            return Ok(None);
        };
        let Some(justification) = self.justification(erasure_root, index)? else {
            return Ok(None);
        };
        Ok(Some(ShardSet {
            bundle_shard,
            segment_shards,
            justification,
        }))
    }

    /// The bundle shard `index` of `erasure_root` (CE 138), if held.
    pub fn bundle_shard(
        &self,
        erasure_root: &Hash,
        index: u16,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        self.get(BUNDLE_SHARDS, &shard_key(erasure_root, index))
    }

    /// The segment shards of `index` of `erasure_root` (CE 139/140), if held.
    pub fn segment_shards(
        &self,
        erasure_root: &Hash,
        index: u16,
    ) -> Result<Option<Vec<Vec<u8>>>, StoreError> {
        let Some(octets) = self.get(SEGMENT_SHARDS, &shard_key(erasure_root, index))? else {
            return Ok(None);
        };
        let n = segment_shard_len(&self.spec);
        if octets.len() % n != 0 {
            return Err(StoreError::Corrupt {
                what: "segment shards",
                reason: format!(
                    "{} octets is not a whole number of {n}-octet shards",
                    octets.len()
                ),
            });
        }
        Ok(Some(octets.chunks(n).map(<[u8]>::to_vec).collect()))
    }

    /// The CE 137 justification of `index` of `erasure_root`, if held.
    pub fn justification(
        &self,
        erasure_root: &Hash,
        index: u16,
    ) -> Result<Option<Justification>, StoreError> {
        Ok(self.proof(erasure_root, index)?.map(|p| p.justification))
    }

    /// `b♣_index` of `erasure_root`, the bundle shard's hash, kept with the
    /// justification after the bundle shard itself is pruned (CE 140 needs it).
    pub fn bundle_shard_hash(
        &self,
        erasure_root: &Hash,
        index: u16,
    ) -> Result<Option<Hash>, StoreError> {
        Ok(self
            .proof(erasure_root, index)?
            .map(|p| p.bundle_shard_hash))
    }

    /// `s♣_index` of `erasure_root`, the root of its segment shards, which CE 138
    /// appends to the justification.
    pub fn segment_shards_root(
        &self,
        erasure_root: &Hash,
        index: u16,
    ) -> Result<Option<Hash>, StoreError> {
        Ok(self
            .proof(erasure_root, index)?
            .map(|p| p.segment_shards_root))
    }

    /// `b♣_i`, `s♣_i` and the CE 137 justification of `index` of `erasure_root`, kept
    /// as long as the segment shards.
    pub fn proof(&self, erasure_root: &Hash, index: u16) -> Result<Option<ShardProof>, StoreError> {
        let Some(octets) = self.get(JUSTIFICATIONS, &shard_key(erasure_root, index))? else {
            return Ok(None);
        };
        let corrupt = |reason: String| StoreError::Corrupt {
            what: "justification",
            reason,
        };
        let (hashes, rest) = octets
            .split_at_checked(64)
            .ok_or_else(|| corrupt(format!("{} octets", octets.len())))?;
        let (bundle, segments) = hashes.split_at(32);
        let justification = decode_exact(&self.spec, rest).map_err(|e| corrupt(e.to_string()))?;
        Ok(Some(ShardProof {
            bundle_shard_hash: Hash::from_slice(bundle).unwrap_or_default(),
            segment_shards_root: Hash::from_slice(segments).unwrap_or_default(),
            justification,
        }))
    }

    /// The report of `erasure_root` became available: keep its bundle shards (and a
    /// guarantor's bundle) until [`Self::release_bundle`].
    pub fn keep_bundle(&self, erasure_root: &Hash) -> Result<(), StoreError> {
        self.reset_bundle_expiry(erasure_root, KEEP)
    }

    /// The report of `erasure_root` was audited, or its block finalized: its bundle
    /// shards (and a guarantor's bundle) expire at `now`, for the next prune.
    pub fn release_bundle(&self, erasure_root: &Hash, now: Slot) -> Result<(), StoreError> {
        self.reset_bundle_expiry(erasure_root, now)
    }

    fn reset_bundle_expiry(&self, erasure_root: &Hash, slot: Slot) -> Result<(), StoreError> {
        let mut batch = WriteBatch::default();
        let held: Vec<Box<[u8]>> = self
            .db
            .prefix_iterator_cf(self.cf(BUNDLE_SHARDS), erasure_root.as_ref())
            .map(|item| item.map(|(k, _)| k))
            .take_while(|k| {
                k.as_ref()
                    .map_or(true, |k| k.starts_with(erasure_root.as_ref()))
            })
            .collect::<Result<_, _>>()?;
        for key in held {
            self.set_expiry(&mut batch, Class::BundleShard, &key, slot)?;
        }
        if self
            .db
            .get_pinned_cf(self.cf(BUNDLES), erasure_root.as_ref())?
            .is_some()
        {
            self.set_expiry(&mut batch, Class::Bundle, erasure_root.as_ref(), slot)?;
        }
        self.db.write(batch)?;
        Ok(())
    }

    /// A guarantor's package, stored at slot `now` in one write: its bundle (served
    /// over CE 147, kept like bundle shards: `U` slots unless kept) and its exported
    /// segments with their import proofs (CE 148, `segment_retention_slots`).
    pub fn put_package(
        &self,
        erasure_root: &Hash,
        bundle: &[u8],
        segments_root: &Hash,
        segments: &[StoredSegment],
        now: Slot,
    ) -> Result<(), StoreError> {
        let segment_len = self.spec.segment_size as usize;
        for s in segments {
            if s.segment.len() != segment_len || s.proof.len() > MAX_PROOF_HASHES {
                return Err(StoreError::Invalid {
                    what: "exported segment",
                    reason: format!(
                        "{} octets with a {}-hash proof (W_G = {segment_len}, at most {MAX_PROOF_HASHES} hashes)",
                        s.segment.len(),
                        s.proof.len()
                    ),
                });
            }
        }
        let Ok(count) = u16::try_from(segments.len()) else {
            return Err(StoreError::Invalid {
                what: "exported segments",
                reason: format!("{} segments", segments.len()),
            });
        };
        let mut batch = WriteBatch::default();
        batch.put_cf(self.cf(BUNDLES), erasure_root.as_ref(), bundle);
        for (i, s) in (0..count).zip(segments) {
            let mut value = Vec::with_capacity(1 + 32 * s.proof.len() + s.segment.len());
            // ≤ MAX_PROOF_HASHES, checked above.
            value.push(s.proof.len() as u8);
            for h in &s.proof {
                value.extend_from_slice(h.as_ref());
            }
            value.extend_from_slice(&s.segment);
            batch.put_cf(self.cf(SEGMENTS), segment_key(segments_root, i), value);
        }
        self.set_expiry(
            &mut batch,
            Class::Bundle,
            erasure_root.as_ref(),
            now.saturating_add(self.spec.availability_timeout),
        )?;
        self.set_expiry(
            &mut batch,
            Class::Segments,
            segments_root.as_ref(),
            now.saturating_add(self.spec.segment_retention_slots),
        )?;
        self.db.write(batch)?;
        Ok(())
    }

    /// A guarantor's bundle by erasure root (CE 147), if held.
    pub fn bundle(&self, erasure_root: &Hash) -> Result<Option<Vec<u8>>, StoreError> {
        self.get(BUNDLES, erasure_root.as_ref())
    }

    /// Exported segment `index` under `segments_root` with its import proof (CE 148),
    /// if held.
    pub fn segment(
        &self,
        segments_root: &Hash,
        index: u16,
    ) -> Result<Option<StoredSegment>, StoreError> {
        let Some(value) = self.get(SEGMENTS, &segment_key(segments_root, index))? else {
            return Ok(None);
        };
        let corrupt = |reason: String| StoreError::Corrupt {
            what: "exported segment",
            reason,
        };
        let (&n, rest) = value
            .split_first()
            .ok_or_else(|| corrupt("empty value".into()))?;
        let proof_len = 32 * usize::from(n);
        if usize::from(n) > MAX_PROOF_HASHES
            || rest.len() != proof_len + self.spec.segment_size as usize
        {
            return Err(corrupt(format!(
                "{} octets with {n} proof hashes",
                value.len()
            )));
        }
        let (proof, segment) = rest.split_at(proof_len);
        Ok(Some(StoredSegment {
            segment: segment.to_vec(),
            proof: proof.chunks(32).filter_map(Hash::from_slice).collect(),
        }))
    }

    /// Delete everything whose retention ended at or before slot `now`, in one
    /// write.
    pub fn prune(&self, now: Slot) -> Result<Pruned, StoreError> {
        let mut pruned = Pruned::default();
        let mut batch = WriteBatch::default();
        let expiry = self.cf(EXPIRY);
        for item in self.db.iterator_cf(expiry, IteratorMode::Start) {
            let (index_key, _) = item?;
            let Some((slot, class, key)) = parse_expiry_key(&index_key) else {
                return Err(StoreError::Corrupt {
                    what: "expiry index entry",
                    reason: format!("{} octets", index_key.len()),
                });
            };
            if slot > now {
                break;
            }
            batch.delete_cf(expiry, &index_key);
            batch.delete_cf(self.cf(EXPIRY_OF), class_key(class, key));
            match class {
                Class::BundleShard => {
                    batch.delete_cf(self.cf(BUNDLE_SHARDS), key);
                    pruned.bundle_shards += 1;
                }
                Class::SegmentShards => {
                    batch.delete_cf(self.cf(SEGMENT_SHARDS), key);
                    batch.delete_cf(self.cf(JUSTIFICATIONS), key);
                    pruned.segment_shard_sets += 1;
                }
                Class::Bundle => {
                    batch.delete_cf(self.cf(BUNDLES), key);
                    pruned.bundles += 1;
                }
                Class::Segments => {
                    // `parse_expiry_key` checked the length: 32 octets.
                    let root = Hash::from_slice(key).unwrap_or_default();
                    let from = segment_key(&root, 0);
                    let mut to = from;
                    // One past the last index: the next root's first key.
                    to[32..].copy_from_slice(&[0xff, 0xff]);
                    batch.delete_range_cf(self.cf(SEGMENTS), from, to);
                    batch.delete_cf(self.cf(SEGMENTS), to);
                    pruned.segment_sets += 1;
                }
            }
        }
        self.db.write(batch)?;
        Ok(pruned)
    }

    /// Set `key`'s expiry in `class` to `slot` in `batch`, replacing any earlier one.
    fn set_expiry(
        &self,
        batch: &mut WriteBatch,
        class: Class,
        key: &[u8],
        slot: Slot,
    ) -> Result<(), StoreError> {
        let of = class_key(class, key);
        if let Some(old) = self.get(EXPIRY_OF, &of)? {
            let old: [u8; 4] = old.as_slice().try_into().map_err(|_| StoreError::Corrupt {
                what: "expiry",
                reason: format!("{} octets where a slot has 4", old.len()),
            })?;
            batch.delete_cf(
                self.cf(EXPIRY),
                expiry_key(Slot::from_be_bytes(old), class, key),
            );
        }
        batch.put_cf(self.cf(EXPIRY_OF), &of, slot.to_be_bytes());
        batch.put_cf(self.cf(EXPIRY), expiry_key(slot, class, key), []);
        Ok(())
    }
}

/// Prune `store` every `period` in the background, at the slot `now()` gives, until
/// the returned handle is aborted or the runtime stops. Each prune runs on tokio's
/// blocking pool; a failed one is logged and retried at the next period.
pub fn spawn_pruner(
    store: Arc<ShardStore>,
    period: std::time::Duration,
    now: impl Fn() -> Slot + Send + Sync + 'static,
) -> tokio::task::JoinHandle<()> {
    let now = Arc::new(now);
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(period);
        loop {
            ticks.tick().await;
            let (store, now) = (store.clone(), now.clone());
            let slot = now();
            match tokio::task::spawn_blocking(move || store.prune(slot)).await {
                Ok(Ok(p)) if p != Pruned::default() => {
                    tracing::debug!(slot, ?p, "availability store pruned");
                }
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::warn!(slot, error = %e, "availability store pruning failed"),
                Err(e) => {
                    tracing::warn!(slot, error = %e, "availability store pruning task failed")
                }
            }
        }
    })
}

/// `2·W_P`: the octets of one segment shard (12 full, 2052 tiny).
fn segment_shard_len(spec: &ChainSpec) -> usize {
    2 * spec.segment_pieces as usize
}

fn shard_key(root: &Hash, index: u16) -> [u8; 34] {
    let mut k = [0u8; 34];
    k[..32].copy_from_slice(root.as_ref());
    k[32..].copy_from_slice(&index.to_be_bytes());
    k
}

fn segment_key(root: &Hash, index: u16) -> [u8; 34] {
    shard_key(root, index)
}

fn class_key(class: Class, key: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + key.len());
    k.push(class as u8);
    k.extend_from_slice(key);
    k
}

fn expiry_key(slot: Slot, class: Class, key: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(5 + key.len());
    k.extend_from_slice(&slot.to_be_bytes());
    k.push(class as u8);
    k.extend_from_slice(key);
    k
}

fn parse_expiry_key(k: &[u8]) -> Option<(Slot, Class, &[u8])> {
    let slot = Slot::from_be_bytes(k.get(..4)?.try_into().ok()?);
    let class = Class::from_octet(*k.get(4)?)?;
    let key = &k[5..];
    let expected = match class {
        Class::BundleShard | Class::SegmentShards => 34,
        Class::Bundle | Class::Segments => 32,
    };
    (key.len() == expected).then_some((slot, class, key))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// In a database opened by `open`, once family `COLUMN_FAMILIES[0]` has
    /// 2,000 keys in an SST file and one was read back: what the read added to
    /// the cache the default family uses, whether the two families report one
    /// cache's usage, and the first family's table-reader memory outside any
    /// cache.
    fn after_a_read(open: impl Fn(&rocksdb::Options, &Path) -> DB) -> (u64, bool, u64) {
        let dir = tempfile::tempdir().unwrap();
        let mut options = bounded_options();
        options.create_if_missing(true);
        options.create_missing_column_families(true);
        let db = open(&options, dir.path());
        let cf = db.cf_handle(COLUMN_FAMILIES[0]).unwrap();
        for i in 0..2_000u32 {
            db.put_cf(cf, i.to_be_bytes(), [7u8; 64]).unwrap();
        }
        db.flush_cf(cf).unwrap();
        let usage = || db.property_int_value("rocksdb.block-cache-usage").unwrap();
        let before = usage().unwrap();
        db.get_cf(cf, 5u32.to_be_bytes()).unwrap();
        let after = usage().unwrap();
        let cf_usage = db
            .property_int_value_cf(cf, "rocksdb.block-cache-usage")
            .unwrap();
        let readers = db
            .property_int_value_cf(cf, "rocksdb.estimate-table-readers-mem")
            .unwrap()
            .unwrap();
        (
            after.saturating_sub(before),
            cf_usage == Some(after),
            readers,
        )
    }

    /// Every family of a database opened with [`open_bounded`], the default one
    /// included, reads through the one bounded cache, index and filter blocks
    /// included; `DB::open_cf` gives every family RocksDB's default table
    /// options, a cache of its own and index blocks outside any cache.
    #[test]
    fn every_family_shares_the_bounded_cache() {
        let (cached, one_cache, readers) =
            after_a_read(|o, p| open_bounded(o, p, COLUMN_FAMILIES.iter().copied()).unwrap());
        assert!(cached > 0, "the block read is in the shared cache");
        assert!(one_cache, "both families report the one cache");
        let (cached, one_cache, readers_default) =
            after_a_read(|o, p| DB::open_cf(o, p, COLUMN_FAMILIES).unwrap());
        assert_eq!(
            cached, 0,
            "with open_cf the family reads into a cache of its own"
        );
        assert!(!one_cache);
        assert!(
            readers < readers_default,
            "{readers} against {readers_default}"
        );
    }

    #[test]
    fn expiry_keys_round_trip_and_sort_by_slot() {
        let root = Hash::from([7; 32]);
        let k = expiry_key(5, Class::SegmentShards, &shard_key(&root, 3));
        let (slot, class, key) = parse_expiry_key(&k).unwrap();
        assert_eq!((slot, class), (5, Class::SegmentShards));
        assert_eq!(key, shard_key(&root, 3));
        assert!(expiry_key(4, Class::Segments, &[9; 32]) < k);
        assert!(expiry_key(256, Class::BundleShard, &shard_key(&root, 0)) > k);
        // A key of the wrong length for its class is refused.
        assert_eq!(
            parse_expiry_key(&expiry_key(1, Class::Bundle, &[0; 34])),
            None
        );
        assert_eq!(parse_expiry_key(&[0, 0, 0, 1, 9]), None);
    }
}

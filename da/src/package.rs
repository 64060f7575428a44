//! A guarantor's package made distributable, GP (14.16): the bundle erasure-coded
//! into `V` chunks, the exported segments and their proof pages into `V` segment
//! shard lists, the leaves `b♣_i ⌢ s♣_i`, the erasure root `u` and the segments root
//! `e` — computed once, on the chosen kernels backend, and then everything a
//! guarantor serves is read off it: each validator's CE 137 shard set with its
//! justification, and each exported segment's import proof `J₀` for CE 148.

use tessera_core::hash::{blake2b_256, Hash};
use tessera_core::merkle::constant_depth;
use tessera_core::spec::ChainSpec;
use tessera_kernels::segment::segment_shard_bytes;
use tessera_kernels::ErasureError;

use tessera_net::messages::Justification;

use crate::availability::AvailabilityEngine;
use crate::justification;
use crate::store::{ShardRow, ShardSet, StoredSegment};

/// Why a package could not be made distributable.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    /// Coding failed: a segment of the wrong size, too many, a bundle too large.
    #[error("erasure coding: {0}")]
    Erasure(#[from] ErasureError),
    /// A shard index at or above `V`.
    #[error("shard index {index} is outside 0..{validators}")]
    IndexOutOfRange {
        /// The index asked for.
        index: usize,
        /// `V`.
        validators: usize,
    },
}

/// A package erasure-coded for distribution.
pub struct Distributable {
    /// `u`: the erasure root.
    pub erasure_root: Hash,
    /// `e = M(s)`: the segments root.
    pub segments_root: Hash,
    bundle_shards: Vec<Vec<u8>>,
    /// `segment_shards[i]`: validator `i`'s shards of `s ⌢ P(s)`, back to back.
    segment_shards: Vec<Vec<u8>>,
    /// `2·W_P`: the octets of one segment shard.
    piece: usize,
    leaves: Vec<[u8; 64]>,
    /// Every index's CE 137 justification, from one pass over the tree.
    justifications: Vec<Justification>,
}

impl Distributable {
    /// Code and hash `bundle` and its exported `segments` on `engine`'s backend.
    pub fn new<S: AsRef<[u8]> + Sync>(
        spec: &ChainSpec,
        engine: &mut AvailabilityEngine,
        bundle: &[u8],
        segments: &[S],
    ) -> Result<Self, PackageError> {
        let roots = engine.roots(bundle, segments)?;
        // The leaves come from the engine's own hashing: nothing is hashed twice.
        let leaves = engine.leaves();
        let justifications = justification::bundle_shards(&leaves);
        Ok(Distributable {
            erasure_root: roots.erasure_root,
            segments_root: roots.segments_root,
            bundle_shards: engine.chunks().to_vecs(),
            segment_shards: engine.segment_shards().to_vecs(),
            piece: segment_shard_bytes(spec),
            leaves,
            justifications,
        })
    }

    /// `V`, the number of shards.
    pub fn shard_count(&self) -> usize {
        self.leaves.len()
    }

    /// What validator-shard `index` receives over CE 137: its bundle shard, its
    /// segment shards and the justification to the erasure root.
    pub fn shard_set(&self, index: usize) -> Result<ShardSet, PackageError> {
        let out_of_range = || PackageError::IndexOutOfRange {
            index,
            validators: self.leaves.len(),
        };
        let row = self.row(index).ok_or_else(out_of_range)?;
        Ok(ShardSet {
            bundle_shard: row.bundle_shard.to_vec(),
            segment_shards: row
                .segment_shards
                .chunks(self.piece.max(1))
                .map(<[u8]>::to_vec)
                .collect(),
            justification: row.justification.clone(),
        })
    }

    /// Index `index`'s shards as the store writes them, borrowed.
    pub fn row(&self, index: usize) -> Option<ShardRow<'_>> {
        let leaf = self.leaves.get(index)?;
        Some(ShardRow {
            // index < V ≤ u16::MAX.
            index: u16::try_from(index).ok()?,
            bundle_shard: self.bundle_shards.get(index)?,
            segment_shards: self.segment_shards.get(index)?,
            segment_shards_root: Hash::from_slice(&leaf[32..]).unwrap_or_default(),
            justification: self.justifications.get(index)?,
        })
    }

    /// Every index's row, in order.
    pub fn rows(&self) -> impl Iterator<Item = ShardRow<'_>> {
        (0..self.leaves.len()).filter_map(|i| self.row(i))
    }

    /// `b♣_index`: the hash of bundle shard `index`, as CE 140's justification needs.
    pub fn bundle_shard_hash(&self, index: usize) -> Option<Hash> {
        self.bundle_shards.get(index).map(|s| blake2b_256(s))
    }
}

/// The exported segments with their import proofs `J₀(s, i)` (GP (14.14)), as a
/// guarantor stores them to serve CE 148: one pass over the segments tree.
pub fn exported_segments<S: AsRef<[u8]>>(segments: &[S]) -> Vec<StoredSegment> {
    constant_depth::justifications(segments, blake2b_256)
        .into_iter()
        .zip(segments)
        .map(|(proof, s)| StoredSegment {
            segment: s.as_ref().to_vec(),
            proof,
        })
        .collect()
}

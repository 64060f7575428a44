//! Coding with digests: erasure-code a blob (or a batch of segments) and digest each
//! of the resulting shards in one step — `H` of every shard, or `M_B` of every shard
//! cut into items. On `gpu` both run in one submission per call
//! ([`crate::gpu::availability`]), so shards cross the bus once; on the other
//! backends the coding is followed by [`crate::hashing::blake2b_many`] or
//! [`crate::merkle::balanced_roots`]. What the digests mean (the bundle chunks' `b♣`,
//! the segment-shard roots `s♣`) is the availability crate's business.

use tessera_core::hash::Hash;
use tessera_core::spec::ChainSpec;

use crate::backend::Backend;
use crate::erasure::{encode_blob, ErasureCoder, ErasureError};
use crate::gpu::availability::{Digest, DigestingEngine};
use crate::hashing::blake2b_many;
use crate::merkle::balanced_roots;
use crate::segment::{encode_segment_rows, segment_shard_bytes};
use crate::shards::Shards;

impl ErasureCoder {
    /// `C_k(blob)` into `out`, and `[H(shard) | shard ∈ out]`.
    pub fn encode_hashed(
        &mut self,
        blob: &[u8],
        out: &mut Shards,
    ) -> Result<Vec<Hash>, ErasureError> {
        if self.backend() == Backend::Gpu {
            let mut engine = DigestingEngine::new(Digest::ChunkHashes);
            encode_blob(&mut engine, self.code(), blob, out)?;
            if let Some(hashes) = engine.take() {
                return Ok(hashes);
            }
        } else {
            self.encode_into(blob, out)?;
        }
        Ok(shard_hashes(self.backend(), out))
    }

    /// The segment shards of `segments` into `out` (as
    /// [`ErasureCoder::encode_segments_into`]), and for each row its `M_B` over
    /// `2 · W_P`-octet items.
    pub fn encode_segments_rooted<S: AsRef<[u8]> + Sync>(
        &mut self,
        spec: &ChainSpec,
        segments: &[S],
        out: &mut Shards,
    ) -> Result<Vec<Hash>, ErasureError> {
        let piece = segment_shard_bytes(spec);
        if self.backend() == Backend::Gpu {
            let mut engine = DigestingEngine::new(Digest::BalancedRoots { piece });
            encode_segment_rows(&mut engine, self.code(), spec, segments, out)?;
            if let Some(roots) = engine.take() {
                return Ok(roots);
            }
        } else {
            self.encode_segments_into(spec, segments, out)?;
        }
        Ok(balanced_roots(self.backend(), out, piece))
    }
}

/// `[H(shard) | shard ∈ shards]`.
pub fn shard_hashes(backend: Backend, shards: &Shards) -> Vec<Hash> {
    let rows: Vec<&[u8]> = shards.iter().collect();
    blake2b_many(backend, &rows)
}

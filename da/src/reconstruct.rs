//! Reconstruction, GP Appendix H `R_k` with the checks GP 14 and JAMNP-S ask for:
//!
//! - a bundle from any `R` of its bundle shards (CE 138, each already proven to the
//!   erasure root by its justification), re-encoded after decoding so that every
//!   shard used is checked to lie on the one codeword — shards that prove to the
//!   root but do not (a guarantor that coded inconsistently) make an
//!   [`ReconstructError::Inconsistent`], the "invalid erasure root" of JAMNP-S, and
//!   nothing is returned;
//! - an exported segment from any `R` of its segment shards (CE 139), checked against
//!   the segments root with its import proof `J₀` (GP (14.14)).
//!
//! Many reconstructions go to the kernels in one call ([`bundles`], over
//! `kernels::erasure::reconstruct_many`).

use tessera_core::hash::{blake2b_256, Hash};
use tessera_core::merkle::constant_depth::{leaf_hash, root_from_justification};
use tessera_core::spec::ChainSpec;
use tessera_kernels::erasure::{self, reconstruct_many, Rebuild};
use tessera_kernels::{Backend, ErasureError};

/// Why a reconstruction failed.
#[derive(Debug, thiserror::Error)]
pub enum ReconstructError {
    /// Decoding failed: too few distinct shards, wrong lengths, indices out of range.
    #[error("erasure decoding: {0}")]
    Erasure(#[from] ErasureError),
    /// The shards do not lie on one codeword: re-encoding the decoded blob does not
    /// give shard `index` back. The package's erasure root is invalid.
    #[error(
        "shard {index} is not on the codeword the others decode to: the erasure root is invalid"
    )]
    Inconsistent {
        /// A shard that disagrees.
        index: usize,
    },
    /// The segment does not prove to the segments root with its import proof.
    #[error("segment {index} does not prove to the segments root {segments_root}")]
    SegmentRoot {
        /// The segment's index.
        index: usize,
        /// The root it was checked against.
        segments_root: Hash,
    },
}

/// One bundle to rebuild: its shards (each proven) and its length.
#[derive(Clone, Copy, Debug)]
pub struct BundleShards<'a> {
    /// `(index, bundle shard)` pairs, at least `R` distinct.
    pub shards: &'a [(usize, &'a [u8])],
    /// The bundle's length (the availability specifier's `l`).
    pub bundle_len: usize,
}

/// Rebuild many bundles in one kernel call, each checked for consistency.
pub fn bundles(
    spec: &ChainSpec,
    backend: Backend,
    jobs: &[BundleShards<'_>],
) -> Vec<Result<Vec<u8>, ReconstructError>> {
    let rebuilds: Vec<Rebuild<'_>> = jobs
        .iter()
        .map(|j| Rebuild {
            shards: j.shards,
            original_len: j.bundle_len,
        })
        .collect();
    reconstruct_many(spec, backend, &rebuilds)
        .into_iter()
        .zip(jobs)
        .map(|(decoded, job)| {
            let bundle = decoded?;
            check_codeword(spec, backend, &bundle, job.shards)?;
            Ok(bundle)
        })
        .collect()
}

/// Rebuild exported segment `index` from its segment shards and check it against
/// `segments_root` with its import proof.
pub fn segment(
    spec: &ChainSpec,
    backend: Backend,
    shards: &[(usize, &[u8])],
    segments_root: &Hash,
    index: usize,
    proof: &[Hash],
) -> Result<Vec<u8>, ReconstructError> {
    let segment = erasure::reconstruct(spec, backend, shards, spec.segment_size as usize)?;
    let proven =
        root_from_justification(leaf_hash(&segment, blake2b_256), index, proof, blake2b_256)
            .map_err(|_| ReconstructError::SegmentRoot {
                index,
                segments_root: *segments_root,
            })?;
    if proven != *segments_root {
        return Err(ReconstructError::SegmentRoot {
            index,
            segments_root: *segments_root,
        });
    }
    Ok(segment)
}

/// Every shard used must be the re-encoded blob's shard of that index: with more
/// than `R` shards this catches a set that proves to the root but is no codeword
/// (with exactly `R`, any set decodes to something, and the caller's hash of the
/// result — the package hash — is what catches it).
fn check_codeword(
    spec: &ChainSpec,
    backend: Backend,
    blob: &[u8],
    shards: &[(usize, &[u8])],
) -> Result<(), ReconstructError> {
    let coded = erasure::encode(spec, backend, blob)?;
    match shards
        .iter()
        .find(|(i, s)| coded.get(*i).map(Vec::as_slice) != Some(*s))
    {
        Some((index, _)) => Err(ReconstructError::Inconsistent { index: *index }),
        None => Ok(()),
    }
}

//! Segment shards for the Import DA system: each exported segment (`W_G` = 4104 octets)
//! is erasure-coded with the same chunking function as blobs (GP Appendix H: "Segment
//! encoding/decoding may be done using the same functions albeit with a constant
//! k = 6", i.e. `C_{W_P}`).
//!
//! A segment is already a multiple of `W_E` (`W_G = W_P · W_E`), so each of its `V`
//! shards has `W_G / (W_E / 2) = 2 · W_P` octets: 12 full, 2052 tiny.
//!
//! Every word position of a shard is an independent codeword, so many segments can be
//! coded in one engine call: original shard `i` of a group is the concatenation of
//! original shard `i` of each segment in it, and the outputs split the same way. This
//! keeps reed-solomon-simd's shards long (12-octet shards alone would waste most of
//! each 64-octet block); groups run in parallel on rayon's pool.

use rayon::prelude::*;
use tessera_core::spec::ChainSpec;

use crate::backend::Backend;
use crate::erasure::{with_engine, ErasureCode, ErasureError};

/// Segments per engine call: 64 × 12 octets = 768, a whole number of 64-octet blocks.
const SEGMENTS_PER_CALL: usize = 64;

/// The octets of one segment shard, `2 · W_P` (12 full, 2052 tiny).
pub fn segment_shard_bytes(spec: &ChainSpec) -> usize {
    2 * spec.segment_pieces as usize
}

/// The `V` shards of each segment: `result[s][i]` is shard `i` of `segments[s]`, equal
/// to `erasure::encode(spec, _, segments[s])[i]`. Every segment must be `W_G` octets.
pub fn encode_segments<S: AsRef<[u8]> + Sync>(
    spec: &ChainSpec,
    backend: Backend,
    segments: &[S],
) -> Result<Vec<Vec<Vec<u8>>>, ErasureError> {
    let code = ErasureCode::for_spec(spec);
    let segment_bytes = spec.segment_size as usize;
    let piece = segment_bytes / code.originals.max(1);
    for (index, segment) in segments.iter().enumerate() {
        let got = segment.as_ref().len();
        if got != segment_bytes {
            return Err(ErasureError::WrongSegmentLength {
                index,
                expected: segment_bytes,
                got,
            });
        }
    }
    let groups: Vec<Vec<Vec<Vec<u8>>>> = segments
        .par_chunks(SEGMENTS_PER_CALL)
        .map(|group| encode_group(code, backend, piece, group))
        .collect::<Result<_, _>>()?;
    Ok(groups.into_iter().flatten().collect())
}

/// One engine call for a group of segments, each split into `k` pieces of `piece` octets.
fn encode_group<S: AsRef<[u8]>>(
    code: ErasureCode,
    backend: Backend,
    piece: usize,
    group: &[S],
) -> Result<Vec<Vec<Vec<u8>>>, ErasureError> {
    let shard_bytes = piece * group.len();
    let mut originals = vec![0u8; code.originals * shard_bytes];
    for (g, segment) in group.iter().enumerate() {
        for (i, part) in segment.as_ref().chunks_exact(piece).enumerate() {
            let at = i * shard_bytes + g * piece;
            originals[at..at + piece].copy_from_slice(part);
        }
    }
    let mut recovery = vec![0u8; code.recovery * shard_bytes];
    with_engine(backend, |engine| {
        engine.encode(code, shard_bytes, &originals, &mut recovery)
    })?;
    let shard_of = |c: usize, g: usize| -> Vec<u8> {
        let (buffer, row) = if c < code.originals {
            (&originals, c)
        } else {
            (&recovery, c - code.originals)
        };
        let at = row * shard_bytes + g * piece;
        buffer[at..at + piece].to_vec()
    };
    Ok((0..group.len())
        .map(|g| (0..code.total()).map(|c| shard_of(c, g)).collect())
        .collect())
}

//! Segment shards for the Import DA system: each exported segment (`W_G` = 4104 octets)
//! is erasure-coded with the same chunking function as blobs (GP Appendix H: "Segment
//! encoding/decoding may be done using the same functions albeit with a constant
//! k = 6", i.e. `C_{W_P}`).
//!
//! A segment is already a multiple of `W_E` (`W_G = W_P · W_E`), so each of its `V`
//! shards has `W_G / (W_E / 2) = 2 · W_P` octets: 12 full, 2052 tiny.
//!
//! Every word position of a shard is an independent codeword, so all segments are
//! coded in one engine call: original shard `i` of the call is the concatenation of
//! piece `i` of each segment, and recovery shards split the same way. Shard `i` of the
//! result is then exactly validator `i`'s segment shards back to back — the list
//! `M_B` is taken over in the availability specifier — and reed-solomon-simd's shards
//! stay long (12-octet shards alone would waste most of each 64-octet block).

use tessera_core::spec::ChainSpec;

use crate::backend::Backend;
use crate::calibration::Operation;
use crate::dispatch::with_engine;
use crate::engine::{EncodeJob, ErasureCode, ErasureEngine, ErasureError};
use crate::shards::Shards;

/// The octets of one segment shard, `2 · W_P` (12 full, 2052 tiny).
pub fn segment_shard_bytes(spec: &ChainSpec) -> usize {
    2 * spec.segment_pieces as usize
}

/// Code `segments` (each `W_G` octets) into `out`: `V` rows, row `i` holding shard `i`
/// of each segment in order (`2 · W_P` octets each).
pub(crate) fn encode_segment_rows<S: AsRef<[u8]> + Sync>(
    engine: &mut dyn ErasureEngine,
    code: ErasureCode,
    spec: &ChainSpec,
    segments: &[S],
    out: &mut Shards,
) -> Result<(), ErasureError> {
    let segment_bytes = spec.segment_size as usize;
    let piece = segment_shard_bytes(spec);
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
    if piece == 0 || code.originals.checked_mul(piece) != Some(segment_bytes) {
        return Err(ErasureError::BufferShape(format!(
            "segments of {segment_bytes} octets do not split into {} pieces",
            code.originals
        )));
    }
    let shard_bytes = piece
        .checked_mul(segments.len())
        .ok_or(ErasureError::LengthTooLarge(segments.len()))?;
    out.reshape(code.total(), shard_bytes)
        .ok_or(ErasureError::LengthTooLarge(segments.len()))?;
    if shard_bytes == 0 {
        return Ok(());
    }
    let (originals, recovery) = out.bytes_mut().split_at_mut(code.originals * shard_bytes);
    // Row i gathers piece i of every segment, in tiles of rows so that each segment's
    // cache lines are fetched once per tile rather than once per row; tiles in parallel.
    use rayon::prelude::*;
    originals
        .par_chunks_mut(shard_bytes * GATHER_TILE)
        .enumerate()
        .for_each(|(t, rows)| match piece {
            FULL_PIECE => gather::<FULL_PIECE, S>(rows, shard_bytes, segments, t * GATHER_TILE),
            _ => {
                for (i, row) in rows.chunks_exact_mut(shard_bytes).enumerate() {
                    let i = t * GATHER_TILE + i;
                    for (slot, segment) in row.chunks_exact_mut(piece).zip(segments) {
                        if let Some(part) = segment.as_ref().get(i * piece..(i + 1) * piece) {
                            slot.copy_from_slice(part);
                        }
                    }
                }
            }
        });
    engine.encode_from(EncodeJob {
        code,
        shard_bytes,
        source: originals,
        originals: None,
        recovery,
    })
}

/// The full spec's segment-shard size, `2 · W_P` = 12 octets.
const FULL_PIECE: usize = 12;

/// Rows per gather tile: 16 pieces of 12 octets are three cache lines of a segment.
const GATHER_TILE: usize = 16;

/// `rows` (shards `first ..`) ← their pieces of every segment, for a piece size known
/// at compile time: a slice copy of a run-time length is a call to `memcpy` per
/// 12-octet piece (a million per maximum package, a tenth of a segment encode's
/// profile), a fixed-size copy a few register moves. Segment by segment, then row by
/// row within the tile, so each segment's octets for the tile are read while in cache.
fn gather<const P: usize, S: AsRef<[u8]>>(
    rows: &mut [u8],
    shard_bytes: usize,
    segments: &[S],
    first: usize,
) {
    let count = rows.len() / shard_bytes.max(1);
    for (s, segment) in segments.iter().enumerate() {
        let Some(pieces) = segment.as_ref().get(first * P..(first + count) * P) else {
            continue;
        };
        for (r, part) in pieces.chunks_exact(P).enumerate() {
            let at = r * shard_bytes + s * P;
            if let (Some(Ok(slot)), Ok(part)) = (
                rows.get_mut(at..at + P).map(<&mut [u8; P]>::try_from),
                <&[u8; P]>::try_from(part),
            ) {
                *slot = *part;
            }
        }
    }
}

/// The `V` shards of each segment: `result[s][i]` is shard `i` of `segments[s]`, equal
/// to `erasure::encode(spec, _, segments[s])[i]`. Every segment must be `W_G` octets.
/// (The simple form; [`crate::ErasureCoder::encode_segments_into`] gives the rows.)
pub fn encode_segments<S: AsRef<[u8]> + Sync>(
    spec: &ChainSpec,
    backend: Backend,
    segments: &[S],
) -> Result<Vec<Vec<Vec<u8>>>, ErasureError> {
    let code = ErasureCode::for_spec(spec);
    let piece = segment_shard_bytes(spec);
    let mut rows = Shards::new();
    let bytes = segments.iter().map(|s| s.as_ref().len()).sum();
    with_engine(backend, (Operation::Encode, bytes), |engine| {
        encode_segment_rows(engine, code, spec, segments, &mut rows)
    })?;
    Ok((0..segments.len())
        .map(|s| {
            rows.iter()
                .map(|row| row.get(s * piece..(s + 1) * piece).unwrap_or(&[]).to_vec())
                .collect()
        })
        .collect())
}

//! Systematic Reed–Solomon encoding and erasure decoding over the novel-basis FFT.
//!
//! The code (as the official vectors fix it; see `crate::erasure`): with `k` original
//! shards and `chunk = k.next_power_of_two()`, let `P` be the polynomial of degree
//! `< chunk` with `P(ω_i) = original_i` for `i < k` and `P(ω_i) = 0` for
//! `k ≤ i < chunk`. Recovery shard `r` is `P(ω_{chunk + r})`. Each word position of a
//! shard is its own codeword; rows carry all of them at once.
//!
//! Decoding is the erasure-locator method of Leopard (Chen's formal-derivative form of
//! Forney's algorithm), written out plainly.

use super::field::field;
use super::novel_basis::{fft, formal_derivative, ifft, Rows};
use crate::engine::{padded_originals, EncodeJob, ErasureEngine, ErasureError, ReconstructJob};

/// The reference engine. It holds no state: tables are shared and built on first use.
#[derive(Debug, Default, Clone, Copy)]
pub struct CpuEngine;

/// Read a shard of little-endian words into a row.
fn read_words(row: &mut [u16], shard: &[u8]) {
    for (w, pair) in row.iter_mut().zip(shard.chunks_exact(2)) {
        *w = u16::from_le_bytes([pair[0], pair[1]]);
    }
}

/// Write a row out as little-endian words.
fn write_words(shard: &mut [u8], row: &[u16]) {
    for (pair, w) in shard.chunks_exact_mut(2).zip(row) {
        pair.copy_from_slice(&w.to_le_bytes());
    }
}

impl ErasureEngine for CpuEngine {
    fn encode_checked(&mut self, job: EncodeJob<'_>) -> Result<(), ErasureError> {
        let (code, shard_bytes, source, recovery) =
            (job.code, job.shard_bytes, job.source, job.recovery);
        // The reference reads whole original shards: pad first, plainly.
        let mut scratch = Vec::new();
        let originals = padded_originals(code, shard_bytes, source, job.originals, &mut scratch)?;
        let width = shard_bytes / 2;
        let chunk = code.chunk();
        // P's values on positions 0..chunk: the originals, then zeros.
        let mut coefficients = Rows::zeros(chunk, width);
        for (i, shard) in originals.chunks_exact(shard_bytes).enumerate() {
            read_words(coefficients.row_mut(i), shard);
        }
        ifft(&mut coefficients, chunk, 0, code.originals);
        // Evaluate P on each further coset of V_log2(chunk) in turn.
        let mut done = 0;
        while done < code.recovery {
            let wanted = chunk.min(code.recovery - done);
            let mut values = Rows::zeros(chunk, width);
            for u in 0..chunk {
                values.row_mut(u).copy_from_slice(coefficients.row(u));
            }
            fft(&mut values, chunk, chunk + done, wanted);
            for u in 0..wanted {
                let shard = &mut recovery[(done + u) * shard_bytes..(done + u + 1) * shard_bytes];
                write_words(shard, values.row(u));
            }
            done += wanted;
        }
        Ok(())
    }

    fn reconstruct_checked(&mut self, job: ReconstructJob<'_>) -> Result<(), ErasureError> {
        let (code, shard_bytes, shards, originals) =
            (job.code, job.shard_bytes, job.shards, job.originals);
        let f = field();
        let width = shard_bytes / 2;
        let chunk = code.chunk();
        let size = (chunk + code.recovery).next_power_of_two();
        // Known positions: the shards given, and the zero padding k..chunk.
        let mut known = vec![false; size];
        known[code.originals..chunk].fill(true);
        for &(c, _) in shards {
            known[code.position(c)] = true;
        }
        let erased: Vec<usize> = (0..size).filter(|&u| !known[u]).collect();
        if erased.iter().all(|&u| u >= code.originals) {
            // Every original was given: reconstruction is their concatenation (GP Appendix H, eq. `erasurecodinginv`).
            for &(c, shard) in shards.iter().filter(|(c, _)| *c < code.originals) {
                originals[c * shard_bytes..(c + 1) * shard_bytes].copy_from_slice(shard);
            }
            return Ok(());
        }
        // The erasure locator ℓ(x) = Π_{e erased} (x − ω_e), evaluated where needed: at
        // known positions (to weight the data) and, through ℓ'(ω_e) = Π_{e' ≠ e} (ω_e − ω_e'),
        // at erased originals (to reveal them).
        let locator_at = |u: usize| {
            erased
                .iter()
                .filter(|&&e| e != u)
                .fold(1u16, |acc, &e| f.mul(acc, (u ^ e) as u16))
        };
        // Q = P · ℓ has degree < chunk + |erased| ≤ size and vanishes on erased positions.
        let mut rows = Rows::zeros(size, width);
        for &(c, shard) in shards {
            let u = code.position(c);
            read_words(rows.row_mut(u), shard);
            rows.scale_row(u, locator_at(u));
        }
        ifft(&mut rows, size, 0, chunk + code.recovery);
        formal_derivative(&mut rows, size);
        fft(&mut rows, size, 0, code.originals);
        // Q' = P'·ℓ + P·ℓ', and ℓ(ω_e) = 0, so P(ω_e) = Q'(ω_e) / ℓ'(ω_e).
        for &(c, shard) in shards.iter().filter(|(c, _)| *c < code.originals) {
            originals[c * shard_bytes..(c + 1) * shard_bytes].copy_from_slice(shard);
        }
        for &e in erased.iter().filter(|&&e| e < code.originals) {
            rows.scale_row(e, f.inv(locator_at(e)));
            write_words(
                &mut originals[e * shard_bytes..(e + 1) * shard_bytes],
                rows.row(e),
            );
        }
        Ok(())
    }
}

//! The `simd` backend: reed-solomon-simd (whose engine picks AVX2, SSSE3 or NEON at
//! run time from the CPU's features), driven so that a whole blob is one encoder call.

mod layout;

use reed_solomon_simd::{ReedSolomonDecoder, ReedSolomonEncoder};

use crate::erasure::{ErasureCode, ErasureEngine, ErasureError};
use layout::{from_simd_layout, to_simd_layout};

/// A reusable reed-solomon-simd engine: the encoder, the decoder and a scratch shard
/// live across calls (a fresh encoder per call costs about half the throughput in
/// allocation and page faults).
#[derive(Default)]
pub struct SimdEngine {
    encoder: Option<ReedSolomonEncoder>,
    decoder: Option<ReedSolomonDecoder>,
    scratch: Vec<u8>,
}

fn simd_error(e: reed_solomon_simd::Error) -> ErasureError {
    ErasureError::Simd(e.to_string())
}

/// The kept encoder, reset to this shape (or a new one on first use).
fn encoder(
    slot: &mut Option<ReedSolomonEncoder>,
    code: ErasureCode,
    shard_bytes: usize,
) -> Result<&mut ReedSolomonEncoder, ErasureError> {
    let encoder = match slot.take() {
        Some(mut e) => {
            e.reset(code.originals, code.recovery, shard_bytes)
                .map_err(simd_error)?;
            e
        }
        None => ReedSolomonEncoder::new(code.originals, code.recovery, shard_bytes)
            .map_err(simd_error)?,
    };
    Ok(slot.insert(encoder))
}

/// The kept decoder, reset to this shape (or a new one on first use).
fn decoder(
    slot: &mut Option<ReedSolomonDecoder>,
    code: ErasureCode,
    shard_bytes: usize,
) -> Result<&mut ReedSolomonDecoder, ErasureError> {
    let decoder = match slot.take() {
        Some(mut d) => {
            d.reset(code.originals, code.recovery, shard_bytes)
                .map_err(simd_error)?;
            d
        }
        None => ReedSolomonDecoder::new(code.originals, code.recovery, shard_bytes)
            .map_err(simd_error)?,
    };
    Ok(slot.insert(decoder))
}

impl ErasureEngine for SimdEngine {
    fn encode(
        &mut self,
        code: ErasureCode,
        shard_bytes: usize,
        originals: &[u8],
        recovery: &mut [u8],
    ) -> Result<(), ErasureError> {
        code.check_encode_buffers(shard_bytes, originals, recovery)?;
        if shard_bytes == 0 {
            // reed-solomon-simd refuses empty shards; there is nothing to compute.
            return Ok(());
        }
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.resize(shard_bytes, 0);
        let encoder = encoder(&mut self.encoder, code, shard_bytes)?;
        for shard in originals.chunks_exact(shard_bytes) {
            to_simd_layout(shard, &mut scratch);
            encoder.add_original_shard(&scratch).map_err(simd_error)?;
        }
        let result = encoder.encode().map_err(simd_error)?;
        for (out, shard) in recovery
            .chunks_exact_mut(shard_bytes)
            .zip(result.recovery_iter())
        {
            from_simd_layout(shard, out);
        }
        self.scratch = scratch;
        Ok(())
    }

    fn reconstruct(
        &mut self,
        code: ErasureCode,
        shard_bytes: usize,
        shards: &[(usize, &[u8])],
        originals: &mut [u8],
    ) -> Result<(), ErasureError> {
        code.check_reconstruct_input(shard_bytes, shards, originals)?;
        if shard_bytes == 0 {
            return Ok(());
        }
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.resize(shard_bytes, 0);
        for &(index, shard) in shards.iter().filter(|(index, _)| *index < code.originals) {
            originals[index * shard_bytes..(index + 1) * shard_bytes].copy_from_slice(shard);
        }
        let decoder = decoder(&mut self.decoder, code, shard_bytes)?;
        for &(index, shard) in shards {
            to_simd_layout(shard, &mut scratch);
            if index < code.originals {
                decoder.add_original_shard(index, &scratch)
            } else {
                decoder.add_recovery_shard(index - code.originals, &scratch)
            }
            .map_err(simd_error)?;
        }
        let result = decoder.decode().map_err(simd_error)?;
        for (index, shard) in result.restored_original_iter() {
            if let Some(out) = originals.get_mut(index * shard_bytes..(index + 1) * shard_bytes) {
                from_simd_layout(shard, out);
            }
        }
        self.scratch = scratch;
        Ok(())
    }
}

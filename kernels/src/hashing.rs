//! `H` (GP §3.8.1, Blake2b-256) over many inputs at once: chunk hashes, segment-shard
//! leaves and Merkle levels all hash many independent inputs.

use rayon::prelude::*;
use tessera_core::bytes::ByteArray;
use tessera_core::hash::{blake2b_256, Hash};

use crate::backend::Backend;
use crate::calibration::Operation;
use crate::dispatch::or_simd;
use crate::gpu::GpuError;
use crate::simd::blake2b_x8;

/// Inputs per `hash_many` batch: enough to fill blake2b_simd's widest lanes many times
/// over while giving rayon work to split.
const INPUTS_PER_BATCH: usize = 64;

/// `[H(x) | x ∈ inputs]`, in order.
///
/// `Cpu` hashes one input at a time with `tessera_core::hash::blake2b_256`; `Simd` uses
/// blake2b_simd's `many` (AVX2 or SSE4.1 lanes across inputs, chosen at run time) in
/// batches spread over rayon's pool; `Gpu` one shader invocation per input (see
/// [`try_blake2b_many`]), falling back to `Simd` with a logged warning if the GPU
/// cannot run (this function has no error to return; use [`try_blake2b_many`] for one).
pub fn blake2b_many<I: AsRef<[u8]> + Sync>(backend: Backend, inputs: &[I]) -> Vec<Hash> {
    or_simd("blake2b_many", try_blake2b_many(backend, inputs), || {
        blake2b_many(Backend::Simd, inputs)
    })
}

/// [`blake2b_many`], with the `Gpu` backend's failure (no adapter, a failed
/// submission) returned as an error instead of falling back.
pub fn try_blake2b_many<I: AsRef<[u8]> + Sync>(
    backend: Backend,
    inputs: &[I],
) -> Result<Vec<Hash>, GpuError> {
    let bytes = inputs.iter().map(|x| x.as_ref().len() as u64).sum();
    Ok(match backend.resolve_for(Operation::Hash, bytes) {
        Backend::Cpu => inputs.iter().map(|x| blake2b_256(x.as_ref())).collect(),
        Backend::Gpu => crate::gpu::context()?.blake2b_many(inputs)?,
        _ => inputs
            .par_chunks(INPUTS_PER_BATCH)
            .flat_map_iter(hash_batch)
            .collect(),
    })
}

/// `[H(x) | x ∈ batch]` on the calling thread: eight at a time on the AVX-512 kernel
/// ([`blake2b_x8`]) when the CPU has it and each group of eight fits one block or has
/// one length, else (and for the last few) blake2b_simd's `many` across inputs.
pub(crate) fn hash_batch<I: AsRef<[u8]>>(batch: &[I]) -> Vec<Hash> {
    let first = batch.first().map_or(0, |x| x.as_ref().len());
    let fits = |x: &I| {
        let len = x.as_ref().len();
        len <= blake2b_x8::BLOCK || len == first
    };
    if blake2b_x8::available() && batch.iter().all(fits) {
        let mut out = Vec::with_capacity(batch.len());
        let mut groups = batch.chunks_exact(8);
        for group in &mut groups {
            let inputs: [&[u8]; 8] = std::array::from_fn(|i| group[i].as_ref());
            match blake2b_x8::hash8(inputs) {
                Some(digests) => out.extend(digests.map(ByteArray)),
                None => out.extend(hash_many(group)),
            }
        }
        out.extend(hash_many(groups.remainder()));
        return out;
    }
    hash_many(batch)
}

/// `[H(x) | x ∈ batch]` with blake2b_simd's `many` across inputs.
fn hash_many<I: AsRef<[u8]>>(batch: &[I]) -> Vec<Hash> {
    let mut params = blake2b_simd::Params::new();
    params.hash_length(32);
    let mut jobs: Vec<blake2b_simd::many::HashManyJob<'_>> = batch
        .iter()
        .map(|x| blake2b_simd::many::HashManyJob::new(&params, x.as_ref()))
        .collect();
    blake2b_simd::many::hash_many(jobs.iter_mut());
    jobs.iter()
        .map(|job| {
            let mut out = [0u8; 32];
            out.copy_from_slice(job.to_hash().as_bytes());
            ByteArray(out)
        })
        .collect()
}

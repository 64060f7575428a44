//! Erasure coding of blobs, GP Appendix H (erasure_coding.tex): the chunking function
//! `C_k` (eq. `erasurecoding`) and its inverse `R_k` (eq. `erasurecodinginv`), as the
//! official vectors fix them.
//!
//! # The layout the vectors define
//!
//! The `erasure/{tiny,full}` vectors equal reed-solomon-simd's low-rate encoder with
//! `k` = 342 originals and 681 recovery shards (tiny: 2 and 4):
//! - the blob is padded with zeros to a multiple of `W_E` (684; tiny 4), so each of the
//!   `V` shards has `2 · ⌈|d| / W_E⌉` octets;
//! - original shard `i < k` is the `i`-th contiguous slice of the padded blob, read as
//!   consecutive little-endian 16-bit words (word `w` of every shard forms one codeword);
//! - with `chunk = k.next_power_of_two()` (512; tiny 2) and `P` the polynomial of
//!   degree `< chunk` in the novel basis with `P(ω_i) = word of original i` for `i < k`
//!   and `P(ω_i) = 0` for `k ≤ i < chunk`, shard `k + r` is `P(ω_{chunk + r})`.
//!
//! The GP text differs in two places and the vectors win: it splits the blob with
//! `unzip_684` (a byte-strided split, where the vectors take contiguous slices), and it
//! interpolates a degree-341 polynomial through the points `~0 … ~341` and evaluates it
//! at `~342 … ~1022` (section "The Generator Polynomial"), where the vectors evaluate the
//! zero-padded degree-<512 polynomial at positions `512 …` for shards `342 …`.
//!
//! A blob of zero octets gives `V` empty shards (`⌈0 / W_E⌉ = 0` pieces).

use rayon::prelude::*;
use tessera_core::spec::ChainSpec;

use crate::backend::Backend;
use crate::calibration::Operation;
use crate::cpu::CpuEngine;
use crate::dispatch::with_engine;
use crate::gpu::GpuEngine;
use crate::shards::Shards;
use crate::simd::SimdEngine;

pub use crate::engine::{EncodeJob, ErasureCode, ErasureEngine, ErasureError, ReconstructJob};

/// `C_k(d)` (GP Appendix H, eq. `erasurecoding`, with the vectors' layout) into
/// `out`: its `V` shards of `2 · ⌈|blob| / W_E⌉` octets, shards `0..k` the zero-padded
/// blob itself, shard `k + r` recovery shard `r`.
pub(crate) fn encode_blob(
    engine: &mut dyn ErasureEngine,
    code: ErasureCode,
    blob: &[u8],
    out: &mut Shards,
) -> Result<(), ErasureError> {
    let shard_bytes = code
        .shard_bytes(blob.len())
        .ok_or(ErasureError::LengthTooLarge(blob.len()))?;
    out.reshape(code.total(), shard_bytes)
        .ok_or(ErasureError::LengthTooLarge(blob.len()))?;
    let (originals, recovery) = out.bytes_mut().split_at_mut(code.originals * shard_bytes);
    engine.encode_from(EncodeJob {
        code,
        shard_bytes,
        source: blob,
        originals: Some(originals),
        recovery,
    })
}

/// One blob to rebuild for [`reconstruct_many`]: any `k` (or more) distinct
/// `(index, shard)` pairs and the blob's length.
#[derive(Clone, Copy, Debug)]
pub struct Rebuild<'a> {
    /// The shards received.
    pub shards: &'a [(usize, &'a [u8])],
    /// `|d|`: the length of the blob they code.
    pub original_len: usize,
}

/// [`reconstruct`] of many blobs in one call — an auditor's or a guarantor's whole
/// batch of reports or segments: on `simd` (and `cpu`) the blobs are decoded in
/// parallel across rayon's threads, one engine per thread; on `gpu`, one after
/// another on the GPU context (each blob has its own erasure pattern, so its own
/// decoding matrix), with the usual fall-back to `simd` when the GPU cannot run. Each
/// blob's result stands alone: one bad shard set fails only its own entry.
pub fn reconstruct_many(
    spec: &ChainSpec,
    backend: Backend,
    jobs: &[Rebuild<'_>],
) -> Vec<Result<Vec<u8>, ErasureError>> {
    let total = jobs.iter().map(|j| j.original_len as u64).sum();
    let backend = backend.resolve_for(Operation::Reconstruct, total);
    if backend == Backend::Gpu {
        return jobs
            .iter()
            .map(|j| reconstruct(spec, backend, j.shards, j.original_len))
            .collect();
    }
    jobs.par_iter()
        .map(|j| reconstruct(spec, backend, j.shards, j.original_len))
        .collect()
}

/// `R_k` into `out`: the blob of `original_len` octets from `shards`.
pub(crate) fn reconstruct_blob(
    engine: &mut dyn ErasureEngine,
    code: ErasureCode,
    shards: &[(usize, &[u8])],
    original_len: usize,
    out: &mut Vec<u8>,
) -> Result<(), ErasureError> {
    let shard_bytes = code
        .shard_bytes(original_len)
        .ok_or(ErasureError::LengthTooLarge(original_len))?;
    // Checked before allocating: the output is bounded by the shards' total size.
    code.check_shards(shard_bytes, shards)?;
    out.clear();
    out.resize(code.originals * shard_bytes, 0);
    engine.reconstruct(ReconstructJob {
        code,
        shard_bytes,
        shards,
        originals: out.as_mut_slice(),
    })?;
    out.truncate(original_len);
    Ok(())
}

/// A reusable erasure coder for one chain spec and backend: it keeps the engine's
/// working space (and, through the caller, the output [`Shards`]) across calls, so a
/// stream of blobs costs no allocation after the first. The simd backend splits one
/// blob over rayon's threads by column stripes.
pub struct ErasureCoder {
    code: ErasureCode,
    backend: Backend,
    cpu: CpuEngine,
    simd: SimdEngine,
    gpu: GpuEngine,
}

impl ErasureCoder {
    /// A coder for `spec`'s code (`k` of `V`) on `backend`, using rayon's current pool.
    pub fn new(spec: &ChainSpec, backend: Backend) -> ErasureCoder {
        ErasureCoder::with_threads(spec, backend, 0)
    }

    /// As [`ErasureCoder::new`], splitting one blob over at most `threads` threads
    /// (0: the pool's size; 1: only the calling thread).
    pub fn with_threads(spec: &ChainSpec, backend: Backend, threads: usize) -> ErasureCoder {
        ErasureCoder {
            code: ErasureCode::for_spec(spec),
            backend: backend.resolve(),
            cpu: CpuEngine,
            simd: SimdEngine::with_threads(threads),
            gpu: GpuEngine,
        }
    }

    /// The code's shape.
    pub fn code(&self) -> ErasureCode {
        self.code
    }

    /// The backend the coder runs on (never `Auto`).
    pub fn backend(&self) -> Backend {
        self.backend
    }

    fn engine(&mut self) -> &mut dyn ErasureEngine {
        match self.backend {
            Backend::Cpu => &mut self.cpu,
            Backend::Gpu => &mut self.gpu,
            _ => &mut self.simd,
        }
    }

    /// `C_k(blob)` into `out` (reshaped; its allocation is reused).
    pub fn encode_into(&mut self, blob: &[u8], out: &mut Shards) -> Result<(), ErasureError> {
        let code = self.code;
        encode_blob(self.engine(), code, blob, out)
    }

    /// `C_k(blob)` as a new [`Shards`].
    pub fn encode(&mut self, blob: &[u8]) -> Result<Shards, ErasureError> {
        let mut out = Shards::new();
        self.encode_into(blob, &mut out)?;
        Ok(out)
    }

    /// The segment shards of `segments` (each `W_G` octets) into `out`: shard `i` is
    /// validator `i`'s pieces of every segment back to back, piece `s` (of
    /// `2 · W_P` octets) being shard `i` of `C(segments[s])`. See [`crate::segment`].
    pub fn encode_segments_into<S: AsRef<[u8]> + Sync>(
        &mut self,
        spec: &ChainSpec,
        segments: &[S],
        out: &mut Shards,
    ) -> Result<(), ErasureError> {
        let code = self.code;
        crate::segment::encode_segment_rows(self.engine(), code, spec, segments, out)
    }

    /// `R_k`: the blob of `original_len` octets from any `k` distinct shards, into
    /// `out` (cleared first; its allocation is reused).
    pub fn reconstruct_into(
        &mut self,
        shards: &[(usize, &[u8])],
        original_len: usize,
        out: &mut Vec<u8>,
    ) -> Result<(), ErasureError> {
        let code = self.code;
        reconstruct_blob(self.engine(), code, shards, original_len, out)
    }

    /// `R_k` as a new vector.
    pub fn reconstruct(
        &mut self,
        shards: &[(usize, &[u8])],
        original_len: usize,
    ) -> Result<Vec<u8>, ErasureError> {
        let mut out = Vec::new();
        self.reconstruct_into(shards, original_len, &mut out)?;
        Ok(out)
    }
}

/// `C_k(d)` (GP Appendix H, eq. `erasurecoding`, with the vectors' layout): the `V`
/// shards of `blob`, each `2 · ⌈|blob| / W_E⌉` octets. Shards `0..k` are the
/// zero-padded blob itself; shard `k + r` is recovery shard `r`. (The simple form;
/// [`ErasureCoder`] reuses its buffers.)
pub fn encode(
    spec: &ChainSpec,
    backend: Backend,
    blob: &[u8],
) -> Result<Vec<Vec<u8>>, ErasureError> {
    let code = ErasureCode::for_spec(spec);
    let mut out = Shards::new();
    with_engine(backend, (Operation::Encode, blob.len()), |engine| {
        encode_blob(engine, code, blob, &mut out)
    })?;
    Ok(out.to_vecs())
}

/// [`encode`] of many blobs: in parallel on rayon's pool (one engine per thread), or on
/// the GPU with all blobs' columns side by side in as few submissions as fit.
pub fn encode_many(
    spec: &ChainSpec,
    backend: Backend,
    blobs: &[&[u8]],
) -> Result<Vec<Vec<Vec<u8>>>, ErasureError> {
    let total = blobs.iter().map(|b| b.len() as u64).sum();
    let backend = backend.resolve_for(Operation::Encode, total);
    if backend != Backend::Gpu {
        return blobs
            .par_iter()
            .map(|blob| encode(spec, backend, blob))
            .collect();
    }
    let shards = crate::gpu::context()?.encode_blobs(ErasureCode::for_spec(spec), blobs)?;
    Ok(shards.iter().map(Shards::to_vecs).collect())
}

/// `R_k` (GP Appendix H, eq. `erasurecodinginv`): the blob of `original_len` octets
/// from any `k` (or more) distinct shards, given as `(index, shard)` with index `< V`.
/// Every shard must be `2 · ⌈original_len / W_E⌉` octets long.
pub fn reconstruct(
    spec: &ChainSpec,
    backend: Backend,
    shards: &[(usize, &[u8])],
    original_len: usize,
) -> Result<Vec<u8>, ErasureError> {
    let code = ErasureCode::for_spec(spec);
    let mut out = Vec::new();
    with_engine(backend, (Operation::Reconstruct, original_len), |engine| {
        reconstruct_blob(engine, code, shards, original_len, &mut out)
    })?;
    Ok(out)
}

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

use std::cell::RefCell;

use rayon::prelude::*;
use tessera_core::spec::ChainSpec;

use crate::backend::Backend;
use crate::cpu::CpuEngine;
use crate::gpu::{GpuEngine, GpuError};
use crate::shards::Shards;
use crate::simd::SimdEngine;

/// Why an erasure-coding call was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ErasureError {
    /// A shard does not have the length that `original_len` implies.
    #[error("shard {index} has {got} octets, expected {expected}")]
    WrongShardLength {
        /// The shard's index.
        index: usize,
        /// The length every shard must have.
        expected: usize,
        /// Its length.
        got: usize,
    },
    /// The same shard index was given twice.
    #[error("shard index {index} given more than once")]
    DuplicateIndex {
        /// The repeated index.
        index: usize,
    },
    /// A shard index is not below the number of shards `V`.
    #[error("shard index {index} is out of range: there are {total} shards")]
    IndexOutOfRange {
        /// The index given.
        index: usize,
        /// The number of shards, `V`.
        total: usize,
    },
    /// Fewer distinct shards than originals were given.
    #[error("{got} distinct shards given, at least {needed} are needed")]
    TooFewShards {
        /// Distinct shards given.
        got: usize,
        /// The number of original shards `k`.
        needed: usize,
    },
    /// The original length is too large to describe shards of this machine's sizes.
    #[error("original length {0} is too large")]
    LengthTooLarge(usize),
    /// A segment does not have `W_G` octets.
    #[error("segment {index} has {got} octets, expected {expected}")]
    WrongSegmentLength {
        /// The segment's position in the batch.
        index: usize,
        /// `W_G`.
        expected: usize,
        /// Its length.
        got: usize,
    },
    /// An engine was handed buffers that do not fit the code shape (a caller's bug).
    #[error("engine buffers do not fit the code: {0}")]
    BufferShape(String),
    /// reed-solomon-simd refused the call.
    #[error("reed-solomon-simd: {0}")]
    Simd(String),
    /// The `gpu` backend cannot run (no adapter) or a GPU operation failed.
    #[error("gpu backend: {0}")]
    Gpu(#[from] GpuError),
}

/// The shape of the code: `originals` data shards (`k = W_E / 2`) and `recovery`
/// parity shards (`V − k`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ErasureCode {
    /// `k`: original (data) shards, 342 full, 2 tiny.
    pub originals: usize,
    /// `V − k`: recovery shards, 681 full, 4 tiny.
    pub recovery: usize,
}

impl ErasureCode {
    /// The code of a chain spec: `k = W_E / 2` originals of `V` shards.
    pub fn for_spec(spec: &ChainSpec) -> ErasureCode {
        let originals = spec.erasure_originals();
        ErasureCode {
            originals,
            recovery: spec.validators().saturating_sub(originals),
        }
    }

    /// `V`, all shards.
    pub fn total(&self) -> usize {
        self.originals + self.recovery
    }

    /// The positions of one coset of the FFT domain: `k` rounded up to a power of two.
    pub(crate) fn chunk(&self) -> usize {
        self.originals.next_power_of_two()
    }

    /// The transform position of chunk `c`: originals at `0..k`, recovery shard `r` at
    /// `chunk + r` (the vectors' layout; see the module docs).
    pub(crate) fn position(&self, c: usize) -> usize {
        if c < self.originals {
            c
        } else {
            self.chunk() + c - self.originals
        }
    }

    /// The octets of every shard of a blob of `len` octets: `2 · ⌈len / W_E⌉`, where
    /// `W_E = 2k`. `None` if that overflows.
    pub fn shard_bytes(&self, len: usize) -> Option<usize> {
        len.div_ceil(self.originals.checked_mul(2)?).checked_mul(2)
    }

    /// Check an engine's encode buffers: `k` and `V − k` shards of an even size.
    /// (Public so the bench baseline can share the check.)
    pub fn check_encode_buffers(
        &self,
        shard_bytes: usize,
        originals: &[u8],
        recovery: &[u8],
    ) -> Result<(), ErasureError> {
        let fits =
            |count: usize, buffer: &[u8]| count.checked_mul(shard_bytes) == Some(buffer.len());
        if !shard_bytes.is_multiple_of(2)
            || !fits(self.originals, originals)
            || !fits(self.recovery, recovery)
        {
            return Err(ErasureError::BufferShape(format!(
                "{} + {} shards of {shard_bytes} octets in buffers of {} and {}",
                self.originals,
                self.recovery,
                originals.len(),
                recovery.len()
            )));
        }
        Ok(())
    }

    /// Check shards given for reconstruction and the output buffer: indices below `V`,
    /// no duplicates, every shard `shard_bytes` long, at least `k` of them.
    pub fn check_shards(
        &self,
        shard_bytes: usize,
        shards: &[(usize, &[u8])],
    ) -> Result<(), ErasureError> {
        let total = self.total();
        let mut seen = vec![false; total];
        for &(index, shard) in shards {
            let Some(slot) = seen.get_mut(index) else {
                return Err(ErasureError::IndexOutOfRange { index, total });
            };
            if *slot {
                return Err(ErasureError::DuplicateIndex { index });
            }
            *slot = true;
            if shard.len() != shard_bytes {
                return Err(ErasureError::WrongShardLength {
                    index,
                    expected: shard_bytes,
                    got: shard.len(),
                });
            }
        }
        if shards.len() < self.originals {
            return Err(ErasureError::TooFewShards {
                got: shards.len(),
                needed: self.originals,
            });
        }
        Ok(())
    }

    /// [`Self::check_shards`] plus the output buffer's size.
    pub(crate) fn check_reconstruct_input(
        &self,
        shard_bytes: usize,
        shards: &[(usize, &[u8])],
        originals: &[u8],
    ) -> Result<(), ErasureError> {
        self.check_shards(shard_bytes, shards)?;
        if !shard_bytes.is_multiple_of(2)
            || self.originals.checked_mul(shard_bytes) != Some(originals.len())
        {
            return Err(ErasureError::BufferShape(format!(
                "{} originals of {shard_bytes} octets in a buffer of {}",
                self.originals,
                originals.len()
            )));
        }
        Ok(())
    }
}

/// One implementation of the code, in the style of reed-solomon-simd's engines: it
/// works on whole shards (every word position at once), takes the originals as one
/// contiguous buffer of `k` shards — which is exactly the zero-padded blob — and may
/// keep buffers between calls. Shards are in the vectors' layout (little-endian words).
pub trait ErasureEngine {
    /// Compute the `V − k` recovery shards of `originals` (`k` shards of `shard_bytes`,
    /// back to back) into `recovery` (`V − k` shards, back to back).
    fn encode(
        &mut self,
        code: ErasureCode,
        shard_bytes: usize,
        originals: &[u8],
        recovery: &mut [u8],
    ) -> Result<(), ErasureError>;

    /// Restore all `k` original shards into `originals` from any `k` or more distinct
    /// `(index, shard)` pairs (index `< k`: an original, else recovery `index − k`).
    fn reconstruct(
        &mut self,
        code: ErasureCode,
        shard_bytes: usize,
        shards: &[(usize, &[u8])],
        originals: &mut [u8],
    ) -> Result<(), ErasureError>;

    /// [`Self::encode`] from an unpadded `source` (octets past its end read as zero),
    /// also writing the zero-padded originals into `originals` when given. Engines
    /// that can fuse the padding into their own input pass override this.
    fn encode_from(
        &mut self,
        code: ErasureCode,
        shard_bytes: usize,
        source: &[u8],
        originals: Option<&mut [u8]>,
        recovery: &mut [u8],
    ) -> Result<(), ErasureError> {
        let mut padded = Vec::new();
        let originals = match originals {
            Some(o) => o,
            None => {
                padded.resize(code.originals.saturating_mul(shard_bytes), 0);
                &mut padded
            }
        };
        if source.len() > originals.len() {
            return Err(ErasureError::BufferShape(format!(
                "{} octets of originals in a buffer of {}",
                source.len(),
                originals.len()
            )));
        }
        let (data, pad) = originals.split_at_mut(source.len());
        data.copy_from_slice(source);
        pad.fill(0);
        self.encode(code, shard_bytes, originals, recovery)
    }
}

thread_local! {
    /// Each thread's reusable simd engine (encoder, decoder and scratch buffers).
    static SIMD_ENGINE: RefCell<SimdEngine> = RefCell::new(SimdEngine::default());
}

/// Run `f` with this thread's engine for `backend`.
pub(crate) fn with_engine<T>(backend: Backend, f: impl FnOnce(&mut dyn ErasureEngine) -> T) -> T {
    match backend.resolve() {
        Backend::Cpu => f(&mut CpuEngine),
        Backend::Gpu => f(&mut GpuEngine),
        _ => SIMD_ENGINE.with(|engine| match engine.try_borrow_mut() {
            Ok(mut engine) => f(&mut *engine),
            // Only reachable if `f` re-enters; a fresh engine keeps that correct.
            Err(_) => f(&mut SimdEngine::default()),
        }),
    }
}

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
    engine.encode_from(code, shard_bytes, blob, Some(originals), recovery)
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
    engine.reconstruct(code, shard_bytes, shards, out)?;
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
    with_engine(backend, |engine| encode_blob(engine, code, blob, &mut out))?;
    Ok(out.to_vecs())
}

/// [`encode`] of many blobs: in parallel on rayon's pool (one engine per thread), or on
/// the GPU with all blobs' columns side by side in as few submissions as fit.
pub fn encode_many(
    spec: &ChainSpec,
    backend: Backend,
    blobs: &[&[u8]],
) -> Result<Vec<Vec<Vec<u8>>>, ErasureError> {
    if backend.resolve() != Backend::Gpu {
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
    with_engine(backend, |engine| {
        reconstruct_blob(engine, code, shards, original_len, &mut out)
    })?;
    Ok(out)
}

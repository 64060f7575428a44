//! The erasure code's shape ([`ErasureCode`]), its errors ([`ErasureError`]) and the
//! one trait every backend's engine implements ([`ErasureEngine`]). This file knows no
//! backend: the engines (`cpu`, `simd`, `gpu`) depend on it, and [`crate::erasure`]
//! picks among them.

use tessera_core::spec::ChainSpec;

use crate::gpu::GpuError;

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

    /// Check the buffers of [`ErasureEngine::encode_from`]: `V − k` recovery shards and
    /// (when given) `k` originals of an even `shard_bytes`, and no more source than `k`
    /// shards.
    pub(crate) fn check_encode_from(
        &self,
        shard_bytes: usize,
        source: &[u8],
        originals: Option<&[u8]>,
        recovery: &[u8],
    ) -> Result<(), ErasureError> {
        let fits = |count: usize, len: usize| count.checked_mul(shard_bytes) == Some(len);
        if !shard_bytes.is_multiple_of(2)
            || !fits(self.recovery, recovery.len())
            || originals.is_some_and(|o| !fits(self.originals, o.len()))
            || source.len() > self.originals.saturating_mul(shard_bytes)
        {
            return Err(ErasureError::BufferShape(format!(
                "{} + {} shards of {shard_bytes} octets from {} octets into {}",
                self.originals,
                self.recovery,
                source.len(),
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

/// One encode call: the recovery shards of the originals in `source` — `k` shards of
/// `shard_bytes` back to back, where octets past the end of `source` read as zero (so
/// an unpadded blob can be passed as it is) — into `recovery` (`V − k` shards, back to
/// back); when `originals` is given (`k` shards), the zero-padded originals are
/// written there too.
pub struct EncodeJob<'a> {
    /// The code's shape.
    pub code: ErasureCode,
    /// Octets per shard (even).
    pub shard_bytes: usize,
    /// The originals, unpadded.
    pub source: &'a [u8],
    /// Where the padded originals go, if anywhere.
    pub originals: Option<&'a mut [u8]>,
    /// Where the recovery shards go.
    pub recovery: &'a mut [u8],
}

impl EncodeJob<'_> {
    /// The buffers fit the code: `V − k` recovery shards and (when given) `k`
    /// originals of an even `shard_bytes`, and no more source than `k` shards.
    pub fn check(&self) -> Result<(), ErasureError> {
        self.code.check_encode_from(
            self.shard_bytes,
            self.source,
            self.originals.as_deref(),
            self.recovery,
        )
    }
}

/// One reconstruction call: all `k` original shards into `originals` from any `k` or
/// more distinct `(index, shard)` pairs (index `< k`: an original, else recovery
/// `index − k`).
pub struct ReconstructJob<'a> {
    /// The code's shape.
    pub code: ErasureCode,
    /// Octets per shard (even).
    pub shard_bytes: usize,
    /// The shards given.
    pub shards: &'a [(usize, &'a [u8])],
    /// Where the `k` originals go, back to back.
    pub originals: &'a mut [u8],
}

impl ReconstructJob<'_> {
    /// Indices below `V`, no duplicates, every shard `shard_bytes` long, at least `k`
    /// of them, and an output buffer of `k` shards of an even size.
    pub fn check(&self) -> Result<(), ErasureError> {
        self.code
            .check_reconstruct_input(self.shard_bytes, self.shards, self.originals)
    }
}

/// One implementation of the code, in the style of reed-solomon-simd's engines: it
/// works on whole shards (every word position at once), takes the originals as one
/// contiguous buffer of `k` shards — which is exactly the zero-padded blob — and may
/// keep buffers between calls. Shards are in the vectors' layout (little-endian words).
///
/// An engine writes one encoder, [`Self::encode_checked`], and one decoder,
/// [`Self::reconstruct_checked`]; callers use [`Self::encode_from`] and
/// [`Self::reconstruct`], which check the job's buffers and answer a call of empty
/// shards (nothing to compute) once for every engine, before the engine's own code.
pub trait ErasureEngine {
    /// [`Self::encode_from`] of a job whose buffers fit ([`EncodeJob::check`]) and
    /// whose shards are not empty. The only encoder an engine implements.
    fn encode_checked(&mut self, job: EncodeJob<'_>) -> Result<(), ErasureError>;

    /// [`Self::reconstruct`] of a job whose input fits ([`ReconstructJob::check`]) and
    /// whose shards are not empty. The only decoder an engine implements.
    fn reconstruct_checked(&mut self, job: ReconstructJob<'_>) -> Result<(), ErasureError>;

    /// Run an encode job (see [`EncodeJob`]) after checking its buffers' shapes.
    fn encode_from(&mut self, job: EncodeJob<'_>) -> Result<(), ErasureError> {
        job.check()?;
        // Empty shards: no recovery octets to compute and no originals to pad.
        if job.shard_bytes == 0 {
            return Ok(());
        }
        self.encode_checked(job)
    }

    /// Run a reconstruction job (see [`ReconstructJob`]) after checking its input.
    fn reconstruct(&mut self, job: ReconstructJob<'_>) -> Result<(), ErasureError> {
        job.check()?;
        // Empty shards: the `k` originals are empty too.
        if job.shard_bytes == 0 {
            return Ok(());
        }
        self.reconstruct_checked(job)
    }
}

/// The `k` zero-padded original shards of `source` for an engine that needs them
/// whole: written into `originals` when given (and returned), else `source` itself
/// when it is already whole, else a padded copy in `scratch`.
pub(crate) fn padded_originals<'a>(
    code: ErasureCode,
    shard_bytes: usize,
    source: &'a [u8],
    originals: Option<&'a mut [u8]>,
    scratch: &'a mut Vec<u8>,
) -> Result<&'a [u8], ErasureError> {
    let whole = code.originals.saturating_mul(shard_bytes);
    let out = match originals {
        Some(out) => out,
        None if source.len() == whole => return Ok(source),
        None => {
            scratch.clear();
            scratch.resize(whole, 0);
            scratch.as_mut_slice()
        }
    };
    if source.len() > out.len() {
        return Err(ErasureError::BufferShape(format!(
            "{} octets of originals in a buffer of {}",
            source.len(),
            out.len()
        )));
    }
    let (data, pad) = out.split_at_mut(source.len());
    data.copy_from_slice(source);
    pad.fill(0);
    Ok(out)
}

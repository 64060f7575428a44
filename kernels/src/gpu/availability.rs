//! The availability pipeline's coding and hashing fused on the GPU (GP §14,
//! "Availability Specifier"; the pipeline is laid out in `tessera_da::availability`).
//!
//! The unfused `gpu` path uploads a blob, encodes it, reads the `V` shards back, and
//! then uploads them again to hash them: three crossings of the bus for data that the
//! device already held. Here one submission per call does all of it:
//! 1. the originals are uploaded once and encoded as in [`super::reed_solomon`];
//! 2. the originals and the recovery rows are copied, device to device, into one
//!    buffer of `V` shards (one per row, `⌈words / 2⌉ · 4` octets apart);
//! 3. that buffer is digested where it lies — `H` of every shard (the bundle chunks'
//!    `b♣`) or `M_B` of every shard cut into segment shards (`s♣`, one tree level per
//!    dispatch, [`super::merkle`]);
//! 4. the shards and the `V` digests are read back together.
//!
//! A call whose working rows, shards or Merkle nodes do not fit one binding is left to
//! the unfused path ([`DigestingEngine`] then encodes on [`super::GpuEngine`] and
//! reports no digest).

use tessera_core::hash::Hash;

use super::device::{context, GpuContext, READBACK, STORAGE_OUT, STORAGE_WORK, UNIFORM};
use super::error::GpuError;
use super::merkle::Tree;
use super::reed_solomon::GpuEngine;
use super::reed_solomon::{Plan, GROUP, READBACK_COPY, UPLOAD_COPY};
use crate::engine::{EncodeJob, ErasureCode, ErasureEngine, ErasureError, ReconstructJob};

/// What is computed over the `V` shards of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Digest {
    /// `H(shard)` for every shard: the bundle chunks' hashes `b♣`.
    ChunkHashes,
    /// `M_B` of every shard cut into `piece`-octet items: the segment-shard roots `s♣`.
    BalancedRoots {
        /// Octets per item (`2 · W_P`).
        piece: usize,
    },
}

/// Octets of the `hash` entry point's uniform.
const HASH_PARAMS: u64 = 16;

impl GpuContext {
    /// Encode one call (as [`ErasureEngine::encode_from`], buffers checked by the
    /// caller) and return `digest` of each of its `V` shards, computed on the device;
    /// `Ok(None)`, with nothing written, when the call does not fit one submission.
    pub fn encode_digest(
        &self,
        code: ErasureCode,
        shard_bytes: usize,
        source: &[u8],
        originals: Option<&mut [u8]>,
        recovery: &mut [u8],
        digest: Digest,
    ) -> Result<Option<Vec<Hash>>, GpuError> {
        let (total, rows) = (code.total(), self.rows(code));
        let width = (shard_bytes / 2).div_ceil(2);
        let row_bytes = width * 4;
        // The segment-shard tree and its item size; `None` for chunk hashes.
        let tree = match digest {
            Digest::ChunkHashes => None,
            Digest::BalancedRoots { piece } => {
                let fits = piece > 0
                    && piece.is_multiple_of(4)
                    && shard_bytes.is_multiple_of(piece)
                    && shard_bytes >= piece;
                if !fits {
                    return Ok(None);
                }
                Some((Tree::new(shard_bytes / piece), piece))
            }
        };
        let work_size = (rows * row_bytes) as u64;
        let shards_size = (total * row_bytes) as u64;
        let digest_size = match &tree {
            None => total as u64 * 32,
            Some((tree, _)) => u64::from(tree.slots) * total as u64 * 32,
        };
        let fits = shard_bytes > 0
            && [work_size, shards_size, digest_size]
                .iter()
                .all(|&size| size <= self.binding_limit)
            && width as u64 <= GROUP * u64::from(self.max_groups);
        if !fits {
            return Ok(None);
        }
        self.scoped(|| {
            let digests = self.fused_submission(
                code,
                (shard_bytes, row_bytes),
                source,
                recovery,
                tree.as_ref().map(|(tree, piece)| (tree, *piece)),
            )?;
            if let Some(out) = originals {
                let n = source.len().min(out.len());
                let (data, pad) = out.split_at_mut(n);
                data.copy_from_slice(source.get(..n).unwrap_or(&[]));
                pad.fill(0);
            }
            Ok(Some(digests))
        })
    }

    fn fused_submission(
        &self,
        code: ErasureCode,
        (shard_bytes, row_bytes): (usize, usize),
        source: &[u8],
        recovery: &mut [u8],
        tree: Option<(&Tree, usize)>,
    ) -> Result<Vec<Hash>, GpuError> {
        let (k, total, chunk, rows) = (code.originals, code.total(), code.chunk(), self.rows(code));
        let mut guard = self.buffers();
        let buffers = &mut *guard;
        let storage = STORAGE_WORK;
        let work_size = (rows * row_bytes) as u64;
        let work = self.buffer(&mut buffers.work, work_size, storage, "reed_solomon work");
        // 1. The originals, one row each (a trailing odd column zero, so every shard's
        //    padding octets are zero and the hash of its first `shard_bytes` is exact).
        let upload_size = (k * row_bytes) as u64;
        let upload = self.stage(&mut buffers.upload, upload_size, |view| {
            for r in 0..k {
                let at = r * shard_bytes;
                let src = source
                    .get(at.min(source.len())..(at + shard_bytes).min(source.len()))
                    .unwrap_or(&[]);
                let row = r * row_bytes;
                view.slice(row..row + src.len()).copy_from_slice(src);
                view.slice(row + src.len()..row + row_bytes).fill(0);
            }
        })?;
        let shards_size = (total * row_bytes) as u64;
        let shards = self.buffer(&mut buffers.shards, shards_size, storage, "shards");
        // Only what the host lacks comes back: the recovery shards and the digests
        // (the originals are the host's own input).
        let recovery_size = (code.recovery * row_bytes) as u64;
        let readback_size = recovery_size + total as u64 * 32;
        let readback = self.buffer(&mut buffers.readback, readback_size, READBACK, "readback");
        let mut recorder = self.recorder();
        recorder.copy(UPLOAD_COPY, (upload, 0), (work, 0), upload_size);
        if chunk > k {
            recorder.clear(
                "zero the padding rows",
                work,
                upload_size,
                ((chunk - k) * row_bytes) as u64,
            );
        }
        let plan = Plan::encode(code, rows);
        self.run_plan(
            &mut recorder,
            &plan,
            work,
            work_size,
            (
                &mut buffers.params,
                &mut buffers.skews,
                &mut buffers.factor_tables,
            ),
            row_bytes / 4,
        )?;
        // 2. All V shards side by side on the device.
        recorder.copy(
            "gather: shards side by side",
            (upload, 0),
            (shards, 0),
            upload_size,
        );
        recorder.copy(
            "gather: shards side by side",
            (work, 0),
            (shards, upload_size),
            (code.recovery * row_bytes) as u64,
        );
        // 3. Their digests.
        let (digests, digests_at) = match tree {
            Some((tree, piece)) => self.record_balanced(
                &mut recorder,
                (
                    &mut buffers.specs,
                    &mut buffers.digest_params,
                    &mut buffers.hash_output,
                ),
                (shards, shards_size),
                tree,
                (total, row_bytes / 4, piece / 4),
            )?,
            None => {
                let output_size = total as u64 * 32;
                let output = self.buffer(
                    &mut buffers.hash_output,
                    output_size,
                    STORAGE_OUT,
                    "blake2b output",
                );
                let params = self.buffer(
                    &mut buffers.digest_params,
                    HASH_PARAMS,
                    UNIFORM,
                    "blake2b params",
                );
                self.record_hash(
                    &mut recorder,
                    params,
                    (shards, shards_size),
                    (output, output_size),
                    (shard_bytes, row_bytes / 4, total),
                )?;
                (output, 0)
            }
        };
        // 4. Recovery shards and digests back in one read.
        recorder.copy(
            READBACK_COPY,
            (shards, upload_size),
            (readback, 0),
            recovery_size,
        );
        recorder.copy(
            READBACK_COPY,
            (digests, digests_at),
            (readback, recovery_size),
            total as u64 * 32,
        );
        self.submit(recorder);
        let mut hashes = Vec::with_capacity(total);
        self.read_back(readback, readback_size, |octets| {
            let (rows, tail) = octets.split_at(recovery_size as usize);
            for (row, out) in rows
                .chunks_exact(row_bytes)
                .zip(recovery.chunks_exact_mut(shard_bytes))
            {
                out.copy_from_slice(&row[..shard_bytes]);
            }
            hashes.extend(super::device::digests(tail));
        })?;
        Ok(hashes)
    }
}

/// An erasure engine for the `gpu` availability pipeline: each encode call also
/// computes `digest` of the call's shards on the device ([`GpuContext::encode_digest`]),
/// kept for [`Self::take`]; a call too large for one submission is encoded by
/// [`GpuEngine`] and leaves no digest.
pub struct DigestingEngine {
    digest: Digest,
    digests: Option<Vec<Hash>>,
}

impl DigestingEngine {
    /// An engine that computes `digest` with every encode.
    pub fn new(digest: Digest) -> DigestingEngine {
        DigestingEngine {
            digest,
            digests: None,
        }
    }

    /// The digests of the last encode call, if it ran fused. (A call of empty shards
    /// runs no engine code and computes no digest, so take them after each call.)
    pub fn take(&mut self) -> Option<Vec<Hash>> {
        self.digests.take()
    }
}

impl ErasureEngine for DigestingEngine {
    fn encode_checked(&mut self, mut job: EncodeJob<'_>) -> Result<(), ErasureError> {
        self.digests = None;
        self.digests = context()?.encode_digest(
            job.code,
            job.shard_bytes,
            job.source,
            job.originals.as_deref_mut(),
            &mut *job.recovery,
            self.digest,
        )?;
        match self.digests {
            Some(_) => Ok(()),
            None => GpuEngine.encode_checked(job),
        }
    }

    fn reconstruct_checked(&mut self, job: ReconstructJob<'_>) -> Result<(), ErasureError> {
        GpuEngine.reconstruct_checked(job)
    }
}

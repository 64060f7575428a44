//! The erasure code's encoder on the GPU: the `cpu` reference's transform
//! (`crate::cpu`, GP Appendix H in the vectors' layout) run layer by layer by
//! `shaders/reed_solomon.wgsl`.
//!
//! Per submission, `work` holds `rows = (V − k).next_multiple_of(chunk)` rows (1024
//! full, 4 tiny) of `width` u32s, each u32 two columns (16-bit words). Every column is
//! an independent codeword, so the columns of many blobs (or of every segment of a
//! batch) sit side by side, split over submissions when they exceed one binding:
//! 1. rows `0..k` ← the originals (uploaded straight into `work`), rows `k..chunk` ← 0;
//! 2. the inverse transform over rows `0..chunk` (positions `0..chunk`): `P`'s
//!    novel-basis coefficients, as the cpu `ifft(.., chunk, 0, k)`;
//! 3. rows `0..chunk` copied to every further coset block of `chunk` rows;
//! 4. the forward transform over all rows, row `u` at position `chunk + u`: coset block
//!    `c` evaluates `P` on positions `chunk + c·chunk ..`, as the cpu `fft` per coset;
//! 5. rows `0..V − k` read back as the recovery shards.

use crate::cpu::field::{field, GROUP_ORDER};
use crate::cpu::novel_basis::novel_basis;
use crate::erasure::{ErasureCode, ErasureEngine, ErasureError};
use crate::shards::Shards;
use crate::simd::SimdEngine;

use super::{binding, context, Buffers, GpuContext, GpuError};

/// Invocations per workgroup of the `butterfly` and `broadcast` entry points.
const GROUP: u64 = 256;

/// Octets of one `Layer` uniform.
const LAYER: u64 = 32;

/// The `skews` entry of a zero factor.
const ZERO_FACTOR: u32 = u32::MAX;

/// The transform's dispatches for a code: each layer's uniform (its `width` left to
/// fill in) and the log-skews all layers index into.
struct Plan {
    /// `[half, j, skew_base, width, inverse, chunk, 0, 0]` per dispatch.
    layers: Vec<[u32; 8]>,
    /// Which entry of `layers` is the broadcast.
    broadcast: usize,
    /// Invocation rows (`y`) of each dispatch: butterflies per column, or rows copied.
    heights: Vec<u32>,
    /// `log Ŵ_j(ω_start)` of every block of every layer, or [`ZERO_FACTOR`].
    skews: Vec<u32>,
}

/// Steps 2–4 of the module docs for `code`, with the butterfly factors of the `cpu`
/// reference (`fft`/`ifft` take `skew(j, offset + start)` per block of `2^(j+1)` rows).
fn plan(code: ErasureCode, rows: usize) -> Plan {
    let (f, basis) = (field(), novel_basis());
    let chunk = code.chunk();
    let mut plan = Plan {
        layers: Vec::new(),
        broadcast: 0,
        heights: Vec::new(),
        skews: Vec::new(),
    };
    let layer = |plan: &mut Plan, half: usize, span: usize, offset: usize, inverse: u32| {
        let j = half.trailing_zeros();
        let base = plan.skews.len() as u32;
        for start in (0..span).step_by(2 * half) {
            let s = basis.skew(j as usize, offset + start);
            plan.skews
                .push(if s == 0 { ZERO_FACTOR } else { f.log(s) as u32 });
        }
        plan.layers
            .push([half as u32, j, base, 0, inverse, chunk as u32, 0, 0]);
        plan.heights.push((span / 2) as u32);
    };
    let mut half = 1;
    while half < chunk {
        layer(&mut plan, half, chunk, 0, 1);
        half *= 2;
    }
    plan.broadcast = plan.layers.len();
    plan.layers.push([0, 0, 0, 0, 0, chunk as u32, 0, 0]);
    plan.heights.push((rows - chunk) as u32);
    let mut half = chunk / 2;
    while half > 0 {
        layer(&mut plan, half, rows, chunk, 0);
        half /= 2;
    }
    if plan.skews.is_empty() {
        plan.skews.push(ZERO_FACTOR);
    }
    plan
}

/// u32s of the `tables` buffer: log, then exp (twice the group order).
pub(super) fn table_words() -> usize {
    (1 << 16) + 2 * GROUP_ORDER
}

/// The `tables` buffer's octets, in the layout `shaders/reed_solomon.wgsl` reads.
pub(super) fn table_bytes() -> Vec<u8> {
    let f = field();
    let words = f.log_table().iter().chain(f.exp_table());
    let mut out = Vec::with_capacity(table_words() * 4);
    for &w in words {
        out.extend_from_slice(&u32::from(w).to_le_bytes());
    }
    out
}

/// One code call in a batch: `k` original shards of `shard_bytes` read from `source`
/// (octets past its end are zero), `V − k` recovery shards written to `recovery`, and
/// the zero-padded originals to `originals` when given.
pub(crate) struct EncodeJob<'a> {
    /// The originals, unpadded.
    pub(crate) source: &'a [u8],
    /// Where the padded originals go, if anywhere.
    pub(crate) originals: Option<&'a mut [u8]>,
    /// Where the recovery shards go.
    pub(crate) recovery: &'a mut [u8],
    /// Octets per shard (even).
    pub(crate) shard_bytes: usize,
}

/// A run of one job's columns placed in a submission.
struct Piece {
    job: usize,
    /// First word (column) of the job's shards.
    word: usize,
    /// Words.
    words: usize,
    /// The first column it occupies in `work`.
    column: usize,
}

impl GpuContext {
    /// `C_k` of every blob (as [`crate::encode`]): all blobs' columns side by side, in as
    /// few submissions as the binding limit allows.
    pub fn encode_blobs(
        &self,
        code: ErasureCode,
        blobs: &[&[u8]],
    ) -> Result<Vec<Shards>, ErasureError> {
        let mut outs = Vec::with_capacity(blobs.len());
        for blob in blobs {
            let shard_bytes = code
                .shard_bytes(blob.len())
                .ok_or(ErasureError::LengthTooLarge(blob.len()))?;
            let mut out = Shards::new();
            out.reshape(code.total(), shard_bytes)
                .ok_or(ErasureError::LengthTooLarge(blob.len()))?;
            outs.push((shard_bytes, out));
        }
        let mut jobs: Vec<EncodeJob<'_>> = outs
            .iter_mut()
            .zip(blobs)
            .map(|((shard_bytes, out), blob)| {
                let (originals, recovery) = out
                    .bytes_mut()
                    .split_at_mut(code.originals.saturating_mul(*shard_bytes));
                EncodeJob {
                    source: blob,
                    originals: Some(originals),
                    recovery,
                    shard_bytes: *shard_bytes,
                }
            })
            .collect();
        check_jobs(code, &jobs)?;
        self.encode_jobs(code, &mut jobs)?;
        drop(jobs);
        Ok(outs.into_iter().map(|(_, out)| out).collect())
    }

    /// Encode every job of `code` (each job's buffers already checked by the caller:
    /// `recovery` holds `V − k` shards, `originals` `k`).
    pub(crate) fn encode_jobs(
        &self,
        code: ErasureCode,
        jobs: &mut [EncodeJob<'_>],
    ) -> Result<(), GpuError> {
        for job in jobs.iter_mut() {
            if let Some(out) = job.originals.as_deref_mut() {
                let n = job.source.len().min(out.len());
                let (data, pad) = out.split_at_mut(n);
                data.copy_from_slice(job.source.get(..n).unwrap_or(&[]));
                pad.fill(0);
            }
        }
        let rows = self.rows(code);
        let max_columns = (2 * (self.binding_limit / (4 * rows as u64)))
            .min(2 * GROUP * u64::from(self.max_groups)) as usize;
        if max_columns == 0 {
            return Err(GpuError::Operation(format!(
                "{rows} rows do not fit one binding"
            )));
        }
        // Place every job's columns, cutting submissions at `max_columns`.
        let mut submissions: Vec<Vec<Piece>> = vec![Vec::new()];
        let mut columns = 0;
        for (index, job) in jobs.iter().enumerate() {
            let mut word = 0;
            let words = job.shard_bytes / 2;
            while word < words {
                if columns == max_columns {
                    submissions.push(Vec::new());
                    columns = 0;
                }
                let take = (words - word).min(max_columns - columns);
                if let Some(pieces) = submissions.last_mut() {
                    pieces.push(Piece {
                        job: index,
                        word,
                        words: take,
                        column: columns,
                    });
                }
                word += take;
                columns += take;
            }
        }
        let mut buffers = self.buffers();
        for pieces in submissions.iter().filter(|p| !p.is_empty()) {
            self.scoped(|| self.encode_submission(&mut buffers, code, jobs, pieces))?;
        }
        Ok(())
    }

    /// Rows of the working matrix: the recovery shards rounded up to whole cosets.
    fn rows(&self, code: ErasureCode) -> usize {
        let chunk = code.chunk();
        code.recovery.next_multiple_of(chunk).max(chunk)
    }

    /// One submission: upload, transform, read back, scatter into the jobs.
    fn encode_submission(
        &self,
        buffers: &mut Buffers,
        code: ErasureCode,
        jobs: &mut [EncodeJob<'_>],
        pieces: &[Piece],
    ) -> Result<(), GpuError> {
        let (k, chunk, rows) = (code.originals, code.chunk(), self.rows(code));
        let columns = pieces.last().map_or(0, |p| p.column + p.words);
        let width = columns.div_ceil(2);
        let row_bytes = width * 4;
        let work_size = (rows * row_bytes) as u64;
        let work = self.buffer(
            &mut buffers.work,
            work_size,
            wgpu::BufferUsages::STORAGE
                | wgpu::BufferUsages::COPY_DST
                | wgpu::BufferUsages::COPY_SRC,
            "reed_solomon work",
        );
        // 1. Originals into rows 0..k, each piece at its columns (a trailing odd column
        //    is zeroed: its results are never read, but it stays deterministic), staged
        //    in the kept upload buffer and copied into `work`.
        let upload_size = (k * row_bytes) as u64;
        let upload = self.stage(&mut buffers.upload, upload_size, |view| {
            for r in 0..k {
                let row = r * row_bytes;
                for p in pieces {
                    let Some(job) = jobs.get(p.job) else { continue };
                    let at = r * job.shard_bytes + 2 * p.word;
                    let len = 2 * p.words;
                    let src = job
                        .source
                        .get(at.min(job.source.len())..(at + len).min(job.source.len()))
                        .unwrap_or(&[]);
                    let dst = row + 2 * p.column;
                    view.slice(dst..dst + src.len()).copy_from_slice(src);
                    view.slice(dst + src.len()..dst + len).fill(0);
                }
                view.slice(row + 2 * columns..row + row_bytes).fill(0);
            }
        })?;
        // The layers, one uniform each at its dynamic offset.
        let mut plan = plan(code, rows);
        for layer in &mut plan.layers {
            layer[3] = width as u32;
        }
        let align = self.uniform_align;
        let params = self.buffer(
            &mut buffers.params,
            plan.layers.len() as u64 * align,
            wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            "params",
        );
        let mut bytes = vec![0u8; plan.layers.len() * align as usize];
        for (slot, layer) in bytes.chunks_exact_mut(align as usize).zip(&plan.layers) {
            for (octets, word) in slot.chunks_exact_mut(4).zip(layer) {
                octets.copy_from_slice(&word.to_le_bytes());
            }
        }
        self.queue.write_buffer(params, 0, &bytes);
        let skews_size = (plan.skews.len() * 4) as u64;
        let skews = self.buffer(
            &mut buffers.skews,
            skews_size,
            wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
            "skews",
        );
        let skew_bytes: Vec<u8> = plan.skews.iter().flat_map(|s| s.to_le_bytes()).collect();
        self.queue.write_buffer(skews, 0, &skew_bytes);
        let recovery_size = (code.recovery * row_bytes) as u64;
        let readback = self.buffer(
            &mut buffers.readback,
            recovery_size,
            wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            "readback",
        );
        let bind_group = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("reed_solomon"),
            layout: &self.butterfly.layout,
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: self.tables.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: binding(work, work_size),
                },
                wgpu::BindGroupEntry {
                    binding: 2,
                    resource: binding(params, LAYER),
                },
                wgpu::BindGroupEntry {
                    binding: 3,
                    resource: binding(skews, skews_size),
                },
            ],
        });
        let mut encoder = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor::default());
        encoder.copy_buffer_to_buffer(upload, 0, work, 0, upload_size);
        if chunk > k {
            encoder.clear_buffer(
                work,
                (k * row_bytes) as u64,
                Some(((chunk - k) * row_bytes) as u64),
            );
        }
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor::default());
            let x = u32::try_from(width.div_ceil(GROUP as usize))
                .map_err(|_| GpuError::Operation(format!("{width} columns per row")))?;
            for (i, &height) in plan.heights.iter().enumerate() {
                if height == 0 {
                    continue;
                }
                if height > self.max_groups {
                    return Err(GpuError::Operation(format!(
                        "{height} rows exceed the dispatch limit"
                    )));
                }
                let offset = u32::try_from(i as u64 * align)
                    .map_err(|_| GpuError::Operation("too many layers".into()))?;
                pass.set_pipeline(if i == plan.broadcast {
                    &self.broadcast
                } else {
                    &self.butterfly.pipeline
                });
                pass.set_bind_group(0, &bind_group, &[offset]);
                pass.dispatch_workgroups(x, height, 1);
            }
        }
        encoder.copy_buffer_to_buffer(work, 0, readback, 0, recovery_size);
        self.queue.submit([encoder.finish()]);
        // 5. Row r of the result is recovery shard r of every piece.
        self.read_back(readback, recovery_size, |octets| {
            for p in pieces {
                let Some(job) = jobs.get_mut(p.job) else {
                    continue;
                };
                let sb = job.shard_bytes;
                for (r, row) in octets.chunks_exact(row_bytes).enumerate() {
                    let at = r * sb + 2 * p.word;
                    let src = row.get(2 * p.column..2 * (p.column + p.words));
                    if let (Some(dst), Some(src)) =
                        (job.recovery.get_mut(at..at + 2 * p.words), src)
                    {
                        dst.copy_from_slice(src);
                    }
                }
            }
        })
    }
}

/// The `gpu` erasure engine: encoding on the process's [`GpuContext`]; reconstruction
/// (not done on the GPU) on the `simd` engine it carries.
#[derive(Default)]
pub struct GpuEngine {
    simd: SimdEngine,
}

impl GpuEngine {
    /// Encode many calls of `code` in as few submissions as the binding limit allows.
    pub(crate) fn encode_jobs(
        &mut self,
        code: ErasureCode,
        jobs: &mut [EncodeJob<'_>],
    ) -> Result<(), ErasureError> {
        check_jobs(code, jobs)?;
        Ok(context()?.encode_jobs(code, jobs)?)
    }
}

/// Every job's buffers fit the code: `k` and `V − k` shards of an even size, and no
/// more source than `k` shards.
fn check_jobs(code: ErasureCode, jobs: &[EncodeJob<'_>]) -> Result<(), ErasureError> {
    for job in jobs {
        let fits = |count: usize, len: usize| count.checked_mul(job.shard_bytes) == Some(len);
        if job.shard_bytes % 2 != 0
            || !fits(code.recovery, job.recovery.len())
            || job
                .originals
                .as_deref()
                .is_some_and(|o| !fits(code.originals, o.len()))
            || job.source.len() > code.originals.saturating_mul(job.shard_bytes)
        {
            return Err(ErasureError::BufferShape(format!(
                "{} + {} shards of {} octets from {} octets into {}",
                code.originals,
                code.recovery,
                job.shard_bytes,
                job.source.len(),
                job.recovery.len()
            )));
        }
    }
    Ok(())
}

impl ErasureEngine for GpuEngine {
    fn encode(
        &mut self,
        code: ErasureCode,
        shard_bytes: usize,
        originals: &[u8],
        recovery: &mut [u8],
    ) -> Result<(), ErasureError> {
        code.check_encode_buffers(shard_bytes, originals, recovery)?;
        self.encode_from(code, shard_bytes, originals, None, recovery)
    }

    fn encode_from(
        &mut self,
        code: ErasureCode,
        shard_bytes: usize,
        source: &[u8],
        originals: Option<&mut [u8]>,
        recovery: &mut [u8],
    ) -> Result<(), ErasureError> {
        self.encode_jobs(
            code,
            &mut [EncodeJob {
                source,
                originals,
                recovery,
                shard_bytes,
            }],
        )
    }

    fn reconstruct(
        &mut self,
        code: ErasureCode,
        shard_bytes: usize,
        shards: &[(usize, &[u8])],
        originals: &mut [u8],
    ) -> Result<(), ErasureError> {
        self.simd.reconstruct(code, shard_bytes, shards, originals)
    }
}

//! The erasure code's encoder on the GPU: the `cpu` reference's transform
//! (`crate::cpu`, GP Appendix H in the vectors' layout) run by
//! `shaders/reed_solomon.wgsl`, up to [`MAX_RADIX_BITS`] layers per dispatch.
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
//!
//! Reconstruction follows the `cpu` reference's decoder (`crate::cpu::reed_solomon`) on
//! `2 · size` rows, `size = (chunk + V − k).next_power_of_two()` (2048 full, 8 tiny):
//! 1. the given shards are uploaded packed into rows `size ..`; a `scale` dispatch puts
//!    each, times the erasure locator `ℓ` at its position, in rows `0..size` (zeros
//!    where erased);
//! 2. the inverse transform over rows `0..size`;
//! 3. the formal derivative, rows `0..size` → rows `size ..`;
//! 4. the forward transform over rows `size ..`;
//! 5. a `scale` dispatch divides each erased original's row by `ℓ'` at its position, and
//!    rows `size .. size + k` are read back.
//!
//! `ℓ`'s values are computed on the host ([`locator_logs`]); one call's columns may be
//! split over several submissions (each a column range) when they exceed one binding.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::cpu::field::{field, GROUP_ORDER};
use crate::cpu::novel_basis::novel_basis;
use crate::engine::{EncodeJob, ErasureCode, ErasureEngine, ErasureError, ReconstructJob};
use crate::locator::locator_logs;
use crate::shards::Shards;

use super::device::{
    binding, context, Buffers, GpuContext, READBACK, STORAGE_IN, STORAGE_WORK, UNIFORM,
};
use super::error::GpuError;
use super::profile;
use super::recorder::Recorder;

/// Invocations per workgroup of the `butterfly` and `broadcast` entry points.
pub(super) const GROUP: u64 = 256;

/// How the transform's butterflies multiply by their factors. Both give the same
/// words; which is faster depends on the adapter's caches, so it is a setting to
/// measure (`tessera bench da --gpu-multiply`), not a guess.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Multiply {
    /// Through the field's log and exp tables (768 KiB, shared by every factor): two
    /// dependent loads per word. The default: the form measured on an H200 so far.
    Log,
    /// Through a 1 KiB product table per factor, filled on the device at the start of
    /// each submission (`expand`): two independent loads per word from memory that a
    /// workgroup's invocations share.
    Tables,
}

/// The process's [`Multiply`] (0: log, 1: tables).
static MULTIPLY: AtomicUsize = AtomicUsize::new(0);

/// Multiply by the transform's factors as `multiply` says, for the process.
pub fn set_multiply(multiply: Multiply) {
    MULTIPLY.store(multiply as usize, Ordering::Relaxed);
}

/// The current [`set_multiply`] setting.
pub fn multiply() -> Multiply {
    match MULTIPLY.load(Ordering::Relaxed) {
        0 => Multiply::Log,
        _ => Multiply::Tables,
    }
}

/// Submissions of one batch in flight at once: staged, running or waiting to be read
/// back (issue #20: "at least three in flight"), each with its own staging pair.
pub(super) const IN_FLIGHT: usize = 3;

/// The profile's count of stagings by how many submissions were then in flight: the
/// pipeline's overlap, visible in `bench da --profile`.
const IN_FLIGHT_SPANS: [&str; IN_FLIGHT] = [
    "pipeline: staged with 0 submissions in flight",
    "pipeline: staged with 1 submission in flight",
    "pipeline: staged with 2 submissions in flight",
];

/// Octets of one `Layer` uniform.
const LAYER: u64 = 48;

/// Words of one `Layer` uniform.
const LAYER_WORDS: usize = LAYER as usize / 4;

/// The most transform layers one `butterflies` dispatch runs (radix 2^4: 16 rows of a
/// column in registers per invocation). Fewer passes over the rows is the point: a
/// layer does little arithmetic per word it reads and writes.
pub const MAX_RADIX_BITS: usize = 4;

/// The most layers per `butterflies` dispatch that plans use from now on (1 ..=
/// [`MAX_RADIX_BITS`]; the default is the maximum).
static RADIX_BITS: AtomicUsize = AtomicUsize::new(MAX_RADIX_BITS);

/// Run at most `bits` transform layers per dispatch (clamped to 1 ..=
/// [`MAX_RADIX_BITS`]), for the process; `1` is one dispatch per layer. For measuring
/// what the radix gains on an adapter (`tessera bench da --gpu-radix-bits`); results
/// are the same at every setting.
pub fn set_radix_bits(bits: usize) {
    RADIX_BITS.store(bits.clamp(1, MAX_RADIX_BITS), Ordering::Relaxed);
}

/// The current [`set_radix_bits`] setting.
pub fn radix_bits() -> usize {
    RADIX_BITS.load(Ordering::Relaxed)
}

/// The `skews` entry of a zero factor.
const ZERO_FACTOR: u32 = u32::MAX;

/// The entry point a dispatch runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kernel {
    /// This many consecutive transform layers (1 ..= [`MAX_RADIX_BITS`]).
    Butterflies(u32),
    Broadcast,
    Scale,
    Derivative,
}

impl Kernel {
    /// The profile's name for its passes.
    fn label(self) -> &'static str {
        match self {
            Kernel::Butterflies(1) => "transform: 1 layer per pass",
            Kernel::Butterflies(2) => "transform: 2 layers per pass",
            Kernel::Butterflies(3) => "transform: 3 layers per pass",
            Kernel::Butterflies(_) => "transform: 4 layers per pass",
            Kernel::Broadcast => "transform: coset broadcast",
            Kernel::Scale => "decode: scale by the locator",
            Kernel::Derivative => "decode: formal derivative",
        }
    }
}

/// The profile's name for copies of inputs from the staging buffer.
pub(super) const UPLOAD_COPY: &str = "upload: staging to working buffer";
/// The profile's name for copies of results into a read-back buffer.
pub(super) const READBACK_COPY: &str = "read back: results to mappable buffer";

/// A sequence of dispatches over the `work` rows: each one's uniform (its `width` left
/// to fill in per submission), entry point and invocation rows, and the `skews` words
/// (butterfly factors, scale factors and rows) they index into.
pub(super) struct Plan {
    /// `[half, j, skew_base, width, inverse, chunk, base, 0, skew_bases[4]]` per
    /// dispatch (`width` is filled in per submission by [`GpuContext::run_plan`]).
    layers: Vec<[u32; LAYER_WORDS]>,
    kernels: Vec<Kernel>,
    /// Invocation rows (`y`) of each dispatch.
    heights: Vec<u32>,
    /// `log Ŵ_j(ω_start)` of every butterfly block, logs of scale factors and source
    /// rows, or [`ZERO_FACTOR`].
    skews: Vec<u32>,
}

/// WGSL of the `butterflies_<b>` entry points, `b` = 1 ..= [`MAX_RADIX_BITS`],
/// appended to `shaders/reed_solomon.wgsl`: `b` consecutive transform layers
/// `j0 .. j0 + b` in one pass over the rows. An invocation (column, group `g`) holds
/// the `2^b` rows these layers mix — `first + t · 2^j0`, `t < 2^b`, with `first` the
/// group's lowest row — in named registers, runs every butterfly of the `b` layers
/// on them (inverse: `j` ascending, as `ifft`; forward: descending, as `fft`), and
/// stores them once: `b` times fewer passes over the working matrix than one layer per
/// dispatch. Generated rather than written as loops over an array: an array indexed
/// at run time lives in memory (lavapipe ran three times slower with one), where
/// straight-line code keeps every value in a register.
pub(super) fn butterflies_source() -> String {
    use std::fmt::Write;
    let mut src = String::new();
    for (multiply, bits) in [Multiply::Log, Multiply::Tables]
        .into_iter()
        .flat_map(|m| (1..=MAX_RADIX_BITS).map(move |b| (m, b)))
    {
        let n = 1usize << bits;
        let (entry, suffix, factor) = match multiply {
            Multiply::Log => (format!("butterflies_{bits}"), "", "factor"),
            Multiply::Tables => (
                format!("butterflies_tables_{bits}"),
                "_table",
                "factor_index",
            ),
        };
        // Writing into a String cannot fail.
        let _ = write!(
            src,
            "\n@compute @workgroup_size(256)\n\
             fn {entry}(@builtin(global_invocation_id) gid: vec3<u32>) {{\n\
             \x20   let col = gid.x;\n\
             \x20   if (col >= layer.width) {{\n        return;\n    }}\n\
             \x20   let j0 = layer.j;\n\
             \x20   let first = ((gid.y >> j0) << (j0 + {bits}u)) + (gid.y & ((1u << j0) - 1u));\n\
             \x20   let stride = (1u << j0) * layer.width;\n\
             \x20   let at = (layer.base + first) * layer.width + col;\n\
             \x20   var r: vec2<u32>;\n"
        );
        for t in 0..n {
            let _ = writeln!(src, "    var v{t} = work[at + {t}u * stride];");
        }
        for (direction, order) in [
            ("inverse", (0..bits).collect::<Vec<_>>()),
            ("forward", (0..bits).rev().collect()),
        ] {
            let test = if direction == "inverse" {
                "if (layer.inverse == 1u) {"
            } else {
                "} else {"
            };
            let _ = writeln!(src, "    {test}");
            for l in order {
                let h = 1 << l;
                for t in (0..n).filter(|t| t & h == 0) {
                    let u = t + h;
                    let _ = writeln!(
                        src,
                        "        r = {direction}_butterfly{suffix}(v{t}, v{u}, {factor}({l}u, first + ({t}u << j0))); \
                         v{t} = r.x; v{u} = r.y;"
                    );
                }
            }
        }
        let _ = writeln!(src, "    }}");
        for t in 0..n {
            let _ = writeln!(src, "    work[at + {t}u * stride] = v{t};");
        }
        let _ = writeln!(src, "}}");
    }
    src
}

/// The `skews` word of a factor: its logarithm, or [`ZERO_FACTOR`] for zero.
fn log_word(c: u16) -> u32 {
    if c == 0 {
        ZERO_FACTOR
    } else {
        field().log(c) as u32
    }
}

impl Plan {
    fn new() -> Plan {
        Plan {
            layers: Vec::new(),
            kernels: Vec::new(),
            heights: Vec::new(),
            skews: Vec::new(),
        }
    }

    fn push(&mut self, layer: [u32; 8], kernel: Kernel, height: usize) {
        let mut words = [0; LAYER_WORDS];
        words[..8].copy_from_slice(&layer);
        self.push_words(words, kernel, height);
    }

    fn push_words(&mut self, layer: [u32; LAYER_WORDS], kernel: Kernel, height: usize) {
        self.layers.push(layer);
        self.kernels.push(kernel);
        self.heights.push(height as u32);
    }

    /// Transform layers `j < count` over rows `base .. base + span` at positions
    /// `offset ..` (inverse: j ascending, as the `cpu` reference's `ifft`; forward:
    /// descending, as its `fft`), in as few `butterflies` dispatches as
    /// [`radix_bits`] allows, split evenly (9 layers: 3 + 3 + 3, not 4 + 4 + 1).
    fn transform(&mut self, count: u32, span: usize, offset: usize, inverse: bool, base: usize) {
        let dispatches = count.div_ceil(radix_bits() as u32);
        let mut groups = Vec::with_capacity(dispatches as usize);
        let mut j0 = 0;
        for d in 0..dispatches {
            // The first `count % dispatches` groups take one layer more.
            let bits = count / dispatches + u32::from(d < count % dispatches);
            groups.push((j0, bits));
            j0 += bits;
        }
        if !inverse {
            groups.reverse();
        }
        for (j0, bits) in groups {
            self.butterflies(j0, bits, span, offset, inverse, base);
        }
    }

    /// Layers `j0 .. j0 + bits` in one dispatch: each layer's factors are the `cpu`
    /// reference's (`fft`/`ifft` take `skew(j, offset + start)` per block of `2^(j+1)`
    /// rows), one run of them per layer in `skews`.
    fn butterflies(
        &mut self,
        j0: u32,
        bits: u32,
        span: usize,
        offset: usize,
        inverse: bool,
        base: usize,
    ) {
        let basis = novel_basis();
        let mut words = [0; LAYER_WORDS];
        words[1] = j0;
        words[4] = u32::from(inverse);
        words[6] = base as u32;
        for l in 0..bits {
            let j = (j0 + l) as usize;
            words[8 + l as usize] = self.skews.len() as u32;
            for start in (0..span).step_by(2 << j) {
                self.skews.push(log_word(basis.skew(j, offset + start)));
            }
        }
        self.push_words(words, Kernel::Butterflies(bits), span >> bits);
    }

    /// Rows `base + r` ← row `source[r]` times `factors[r]` (a `skews` word) for every
    /// `r`.
    fn scale(&mut self, base: usize, factors: &[u32], source: &[u32]) {
        let skew_base = self.skews.len() as u32;
        self.skews.extend_from_slice(factors);
        self.skews.extend_from_slice(source);
        let n = factors.len();
        self.push(
            [n as u32, 0, skew_base, 0, 0, 0, base as u32, 0],
            Kernel::Scale,
            n,
        );
    }

    /// Steps 2–4 of the module docs for `code`.
    pub(super) fn encode(code: ErasureCode, rows: usize) -> Plan {
        let chunk = code.chunk();
        let layers = chunk.trailing_zeros();
        let mut plan = Plan::new();
        plan.transform(layers, chunk, 0, true, 0);
        plan.push(
            [0, 0, 0, 0, 0, chunk as u32, 0, 0],
            Kernel::Broadcast,
            rows - chunk,
        );
        plan.transform(layers, rows, chunk, false, 0);
        plan.finish()
    }

    /// The decoding of [`GpuContext::reconstruct`], on `2 · size` rows: the given shards
    /// arrive packed in rows `size ..` (shard `g` of `shards` in row `size + g`).
    fn reconstruct(
        code: ErasureCode,
        size: usize,
        shards: &[(usize, &[u8])],
        known: &[bool],
    ) -> Plan {
        let locator = locator_logs(known);
        let mut plan = Plan::new();
        // Q's values: each given shard times ℓ at its position, zero where erased.
        let mut factors = vec![ZERO_FACTOR; size];
        let mut source = vec![0; size];
        for (g, &(c, _)) in shards.iter().enumerate() {
            let u = code.position(c);
            factors[u] = locator[u];
            source[u] = (size + g) as u32;
        }
        plan.scale(0, &factors, &source);
        let bits = size.trailing_zeros();
        plan.transform(bits, size, 0, true, 0);
        // Q' into rows size.., then evaluated on positions 0..k.
        let basis = novel_basis();
        let skew_base = plan.skews.len() as u32;
        plan.skews
            .extend((0..bits as usize).map(|b| log_word(basis.derivative(b))));
        plan.push(
            [0, bits, skew_base, 0, 0, 0, size as u32, 0],
            Kernel::Derivative,
            size,
        );
        plan.transform(bits, size, 0, false, size);
        // P(ω_e) = Q'(ω_e) / ℓ'(ω_e) on erased originals; other rows are not read.
        let k = code.originals;
        let factors: Vec<u32> = (0..k)
            .map(|e| {
                if known[e] {
                    ZERO_FACTOR
                } else {
                    (GROUP_ORDER as u32 - locator[e]) % GROUP_ORDER as u32
                }
            })
            .collect();
        let source: Vec<u32> = (0..k).map(|e| (size + e) as u32).collect();
        plan.scale(size, &factors, &source);
        plan.finish()
    }

    fn finish(mut self) -> Plan {
        if self.skews.is_empty() {
            self.skews.push(ZERO_FACTOR);
        }
        self
    }
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
                    code,
                    shard_bytes: *shard_bytes,
                    source: blob,
                    originals: Some(originals),
                    recovery,
                }
            })
            .collect();
        jobs.iter().try_for_each(EncodeJob::check)?;
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
        // Pipelined, up to IN_FLIGHT submissions deep: submission n is staged while
        // n − 1 and n − 2 run or wait to be read back, each in its own upload and
        // read-back pair of the ring (the working buffer is shared: the queue runs
        // submissions in order). Only submission n − IN_FLIGHT, whose pair n reuses,
        // must have been read back first.
        let mut guard = self.buffers();
        let buffers = &mut *guard;
        let mut running: VecDeque<(wgpu::SubmissionIndex, &[Piece], usize)> = VecDeque::new();
        for (n, pieces) in submissions.iter().filter(|p| !p.is_empty()).enumerate() {
            let slot = n % IN_FLIGHT;
            if running.len() == IN_FLIGHT {
                if let Some((index, pieces, slot)) = running.pop_front() {
                    let readback = buffers.ring[slot].readback.as_ref();
                    self.scatter_recovery(readback, code, jobs, pieces, index)?;
                }
            }
            profile::count(IN_FLIGHT_SPANS[running.len()]);
            // The slot's pair stands in for the kept upload and read-back buffers
            // while the submission is recorded.
            buffers.swap_ring(slot);
            let index = self.scoped(|| self.encode_submission(buffers, code, jobs, pieces));
            buffers.swap_ring(slot);
            running.push_back((index?, pieces, slot));
        }
        while let Some((index, pieces, slot)) = running.pop_front() {
            let readback = buffers.ring[slot].readback.as_ref();
            self.scatter_recovery(readback, code, jobs, pieces, index)?;
        }
        Ok(())
    }

    /// Wait for submission `index` and copy its recovery rows into the jobs.
    fn scatter_recovery(
        &self,
        readback: Option<&wgpu::Buffer>,
        code: ErasureCode,
        jobs: &mut [EncodeJob<'_>],
        pieces: &[Piece],
        index: wgpu::SubmissionIndex,
    ) -> Result<(), GpuError> {
        let readback =
            readback.ok_or_else(|| GpuError::Operation("read-back buffer missing".into()))?;
        let columns = pieces.last().map_or(0, |p| p.column + p.words);
        let row_bytes = columns.div_ceil(2) * 4;
        let recovery_size = (code.recovery * row_bytes) as u64;
        // Row r of the result is recovery shard r of every piece.
        self.read_back_after(readback, recovery_size, Some(index), |octets| {
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

    /// Rows of the working matrix: the recovery shards rounded up to whole cosets.
    pub(super) fn rows(&self, code: ErasureCode) -> usize {
        let chunk = code.chunk();
        code.recovery.next_multiple_of(chunk).max(chunk)
    }

    /// Stage, record and submit one submission (upload, transform, copy the recovery
    /// rows to the read-back buffer); [`Self::scatter_recovery`] collects it.
    fn encode_submission(
        &self,
        buffers: &mut Buffers,
        code: ErasureCode,
        jobs: &mut [EncodeJob<'_>],
        pieces: &[Piece],
    ) -> Result<wgpu::SubmissionIndex, GpuError> {
        let (k, chunk, rows) = (code.originals, code.chunk(), self.rows(code));
        let columns = pieces.last().map_or(0, |p| p.column + p.words);
        let width = columns.div_ceil(2);
        let row_bytes = width * 4;
        let work_size = (rows * row_bytes) as u64;
        let work = self.buffer(
            &mut buffers.work,
            work_size,
            STORAGE_WORK,
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
        let plan = Plan::encode(code, rows);
        let recovery_size = (code.recovery * row_bytes) as u64;
        let readback = self.buffer(&mut buffers.readback, recovery_size, READBACK, "readback");
        let mut recorder = self.recorder();
        recorder.copy(UPLOAD_COPY, (upload, 0), (work, 0), upload_size);
        if chunk > k {
            recorder.clear(
                "zero the padding rows",
                work,
                (k * row_bytes) as u64,
                ((chunk - k) * row_bytes) as u64,
            );
        }
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
            width,
        )?;
        recorder.copy(READBACK_COPY, (work, 0), (readback, 0), recovery_size);
        Ok(self.submit(recorder))
    }
}

impl GpuContext {
    /// Record `plan`'s dispatches over `work` (rows of `width` u32s) into `encoder`: each
    /// layer's uniform at its dynamic offset in the kept `params` buffer, the factors in
    /// the kept `skews` buffer.
    pub(super) fn run_plan(
        &self,
        recorder: &mut Recorder,
        plan: &Plan,
        work: &wgpu::Buffer,
        work_size: u64,
        (params, skews, factor_tables): (
            &mut Option<wgpu::Buffer>,
            &mut Option<wgpu::Buffer>,
            &mut Option<wgpu::Buffer>,
        ),
        width: usize,
    ) -> Result<(), GpuError> {
        let align = self.uniform_align;
        let tables = multiply() == Multiply::Tables;
        // With per-factor tables, one more uniform after the plan's: `expand`'s, whose
        // `half` is the number of factors to expand.
        let mut expand = [0; LAYER_WORDS];
        expand[0] = plan.skews.len() as u32;
        let layers = plan.layers.iter().chain(tables.then_some(&expand));
        let count = plan.layers.len() + usize::from(tables);
        let params = self.buffer(params, count as u64 * align, UNIFORM, "params");
        let mut bytes = vec![0u8; count * align as usize];
        for (slot, layer) in bytes.chunks_exact_mut(align as usize).zip(layers) {
            // Word 3 of every uniform is the submission's row width.
            let mut layer = *layer;
            layer[3] = width as u32;
            for (octets, word) in slot.chunks_exact_mut(4).zip(layer) {
                octets.copy_from_slice(&word.to_le_bytes());
            }
        }
        self.queue.write_buffer(params, 0, &bytes);
        let skews_size = (plan.skews.len() * 4) as u64;
        let skews = self.buffer(skews, skews_size, STORAGE_IN, "skews");
        let skew_bytes: Vec<u8> = plan.skews.iter().flat_map(|s| s.to_le_bytes()).collect();
        self.queue.write_buffer(skews, 0, &skew_bytes);
        // 1 KiB per factor with tables; unused (but bound) without.
        let tables_size = if tables { skews_size * 256 } else { 1024 };
        let factor_tables = self.buffer(factor_tables, tables_size, STORAGE_WORK, "factor tables");
        let bind_group = self.bind_group(
            "reed_solomon",
            &self.reed_solomon,
            &[
                (0, self.tables.as_entire_binding()),
                (1, binding(work, work_size)),
                (2, binding(params, LAYER)),
                (3, binding(skews, skews_size)),
                (4, binding(factor_tables, tables_size)),
            ],
        );
        if tables {
            let factors = u32::try_from(plan.skews.len())
                .ok()
                .filter(|&f| f <= self.max_groups)
                .ok_or_else(|| GpuError::Operation("too many factors to expand".into()))?;
            let offset = u32::try_from(plan.layers.len() as u64 * align)
                .map_err(|_| GpuError::Operation("too many layers".into()))?;
            let mut pass = recorder.pass("transform: factor tables");
            pass.set_pipeline(&self.expand);
            pass.set_bind_group(0, &bind_group, &[offset]);
            pass.dispatch_workgroups(1, factors, 1);
        }
        let x = u32::try_from(width.div_ceil(GROUP as usize))
            .map_err(|_| GpuError::Operation(format!("{width} columns per row")))?;
        let mut dispatches = Vec::with_capacity(plan.heights.len());
        for (i, (&height, &kernel)) in plan.heights.iter().zip(&plan.kernels).enumerate() {
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
            let pipeline = match kernel {
                Kernel::Butterflies(bits) => (bits as usize)
                    .checked_sub(1)
                    .and_then(|b| {
                        if tables {
                            self.butterflies_tables.get(b)
                        } else {
                            self.butterflies.get(b)
                        }
                    })
                    .ok_or_else(|| GpuError::Operation(format!("radix 2^{bits}")))?,
                Kernel::Broadcast => &self.broadcast,
                Kernel::Scale => &self.scale,
                Kernel::Derivative => &self.derivative,
            };
            dispatches.push((pipeline, offset, height, kernel.label()));
        }
        // One pass for the whole plan, or one per dispatch when the profile times each.
        let record = |pass: &mut wgpu::ComputePass<'_>, (pipeline, offset, height, _)| {
            pass.set_pipeline(pipeline);
            pass.set_bind_group(0, &bind_group, &[offset]);
            pass.dispatch_workgroups(x, height, 1);
        };
        if recorder.passes_timed() {
            for dispatch in dispatches {
                record(&mut recorder.pass(dispatch.3), dispatch);
            }
        } else {
            let mut pass = recorder.pass("erasure code");
            for dispatch in dispatches {
                record(&mut pass, dispatch);
            }
        }
        Ok(())
    }

    /// `R_k` (as [`crate::reconstruct`]): the blob of `original_len` octets from any `k`
    /// or more of its shards.
    pub fn reconstruct(
        &self,
        code: ErasureCode,
        shards: &[(usize, &[u8])],
        original_len: usize,
    ) -> Result<Vec<u8>, ErasureError> {
        let shard_bytes = code
            .shard_bytes(original_len)
            .ok_or(ErasureError::LengthTooLarge(original_len))?;
        // Checked before allocating: the output is bounded by the shards' total size
        // (and `shard_bytes` is even, so `out` has the shape `reconstruct_into` wants).
        code.check_shards(shard_bytes, shards)?;
        let mut out = vec![0; code.originals * shard_bytes];
        self.reconstruct_into(code, shard_bytes, shards, &mut out)?;
        out.truncate(original_len);
        Ok(out)
    }

    /// `R_k` of one call (input checked by the caller): `originals` ← the `k` original
    /// shards of `shard_bytes` from any `k` or more of `shards`, as the `cpu` reference
    /// decodes them (see the module docs).
    pub(crate) fn reconstruct_into(
        &self,
        code: ErasureCode,
        shard_bytes: usize,
        shards: &[(usize, &[u8])],
        originals: &mut [u8],
    ) -> Result<(), GpuError> {
        let (k, chunk) = (code.originals, code.chunk());
        for &(c, shard) in shards.iter().filter(|(c, _)| *c < k) {
            if let Some(out) = originals.get_mut(c * shard_bytes..(c + 1) * shard_bytes) {
                out.copy_from_slice(shard);
            }
        }
        let size = (chunk + code.recovery).next_power_of_two();
        let mut known = vec![false; size];
        known[k..chunk].fill(true);
        for &(c, _) in shards {
            known[code.position(c)] = true;
        }
        if known[..k].iter().all(|&given| given) || shard_bytes == 0 {
            return Ok(());
        }
        let plan = Plan::reconstruct(code, size, shards, &known);
        let rows = 2 * size;
        let max_columns = (2 * (self.binding_limit / (4 * rows as u64)))
            .min(2 * GROUP * u64::from(self.max_groups)) as usize;
        if max_columns == 0 {
            return Err(GpuError::Operation(format!(
                "{rows} rows do not fit one binding"
            )));
        }
        let words = shard_bytes / 2;
        let mut buffers = self.buffers();
        let mut word = 0;
        while word < words {
            let columns = (words - word).min(max_columns);
            self.scoped(|| {
                self.reconstruct_submission(
                    &mut buffers,
                    (code, size, shard_bytes),
                    &plan,
                    shards,
                    (word, columns),
                    originals,
                    &known,
                )
            })?;
            word += columns;
        }
        Ok(())
    }

    /// One column range `[word, word + columns)` of a reconstruction.
    #[allow(clippy::too_many_arguments)]
    fn reconstruct_submission(
        &self,
        buffers: &mut Buffers,
        (code, size, shard_bytes): (ErasureCode, usize, usize),
        plan: &Plan,
        shards: &[(usize, &[u8])],
        (word, columns): (usize, usize),
        originals: &mut [u8],
        known: &[bool],
    ) -> Result<(), GpuError> {
        let k = code.originals;
        let width = columns.div_ceil(2);
        let row_bytes = width * 4;
        let work_size = (2 * size * row_bytes) as u64;
        let work = self.buffer(
            &mut buffers.work,
            work_size,
            STORAGE_WORK,
            "reed_solomon work",
        );
        // 1. The given shards' columns, packed one per row (a trailing odd column zero).
        let upload_size = (shards.len() * row_bytes) as u64;
        let upload = self.stage(&mut buffers.upload, upload_size, |view| {
            for (g, (_, shard)) in shards.iter().enumerate() {
                let row = g * row_bytes;
                let src = &shard[2 * word..2 * (word + columns)];
                view.slice(row..row + src.len()).copy_from_slice(src);
                view.slice(row + src.len()..row + row_bytes).fill(0);
            }
        })?;
        let result_size = (k * row_bytes) as u64;
        let readback = self.buffer(&mut buffers.readback, result_size, READBACK, "readback");
        let mut recorder = self.recorder();
        let packed_at = (size * row_bytes) as u64;
        recorder.copy(UPLOAD_COPY, (upload, 0), (work, packed_at), upload_size);
        self.run_plan(
            &mut recorder,
            plan,
            work,
            work_size,
            (
                &mut buffers.params,
                &mut buffers.skews,
                &mut buffers.factor_tables,
            ),
            width,
        )?;
        recorder.copy(READBACK_COPY, (work, packed_at), (readback, 0), result_size);
        self.submit(recorder);
        // 5. Row e of the result is erased original e's columns.
        self.read_back(readback, result_size, |octets| {
            for (e, row) in octets.chunks_exact(row_bytes).enumerate().take(k) {
                if known[e] {
                    continue;
                }
                let at = e * shard_bytes + 2 * word;
                if let (Some(dst), Some(src)) = (
                    originals.get_mut(at..at + 2 * columns),
                    row.get(..2 * columns),
                ) {
                    dst.copy_from_slice(src);
                }
            }
        })
    }
}

/// The `gpu` erasure engine: encoding and reconstruction on the process's
/// [`GpuContext`].
#[derive(Debug, Default, Clone, Copy)]
pub struct GpuEngine;

impl ErasureEngine for GpuEngine {
    fn encode_checked(&mut self, job: EncodeJob<'_>) -> Result<(), ErasureError> {
        let code = job.code;
        Ok(context()?.encode_jobs(code, &mut [job])?)
    }

    fn reconstruct_checked(&mut self, job: ReconstructJob<'_>) -> Result<(), ErasureError> {
        Ok(context()?.reconstruct_into(job.code, job.shard_bytes, job.shards, job.originals)?)
    }
}

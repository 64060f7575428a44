//! The `simd` backend: the low-rate Reed–Solomon code driven directly on
//! reed-solomon-simd's public [`Engine`] (its `DefaultEngine` picks AVX2, SSSE3 or NEON
//! at run time from the CPU's features) — except the encoder's transforms, which run on
//! this crate's AVX-512/GFNI kernel (`gfni.rs`) when the CPU has those features
//! ([`encoder_transforms`] says which; [`configure`] with `gfni: false` forces the
//! engine).
//!
//! The same transforms as reed-solomon-simd's `LowRateEncoder`/`LowRateDecoder`, but
//! run over column stripes: every 64-octet block position of a shard is an independent
//! set of codewords, so a blob's shards are cut into stripes of [`STRIPE_BLOCKS`]
//! blocks that are converted straight from the vectors' word layout into the engine's
//! working space (no padded copy, no per-shard vectors), transformed while they sit in
//! cache, and converted straight into the caller's output. Stripes are split into one
//! contiguous lane per rayon thread, each with its own working space kept in the engine
//! across calls.

// The workspace denies `unsafe`; this SIMD kernel module is the exception (its
// intrinsics' loads, stores and feature-gated calls), each block with its safety
// argument.
#[allow(unsafe_code)]
pub mod blake2b_x8;
mod features;
#[allow(unsafe_code)]
mod gfni;
#[allow(unsafe_code)]
mod layout;

pub use features::{config, configure, SimdConfig};

use std::ops::Range;
use std::sync::Arc;

use rayon::prelude::*;
use reed_solomon_simd::engine::utils::xor_within;
use reed_solomon_simd::engine::{
    DefaultEngine, Engine, GfElement, ShardsRefMut, GF_MODULUS, GF_ORDER,
};

use crate::engine::{EncodeJob, ErasureCode, ErasureEngine, ErasureError, ReconstructJob};
use layout::{from_blocks, to_blocks, BLOCK};

/// What runs the `simd` encoder's transforms on this CPU: `"avx512-gfni"` (this
/// crate's GFNI kernel) or `"reed-solomon-simd"` (its engine: AVX2, SSSE3, NEON or
/// scalar).
pub fn encoder_transforms() -> &'static str {
    if gfni::available() {
        "avx512-gfni"
    } else {
        "reed-solomon-simd"
    }
}

/// Blocks per column stripe: 64 blocks (4 KiB) of each of 1024 working shards is 4 MiB
/// of encoder working space (8 MiB for the decoder's 2048). Measured on one full
/// bundle: 16 and 32 were slower (more, narrower transform calls), 128 no faster.
pub const STRIPE_BLOCKS: usize = 64;

/// The fewest blocks worth a lane of their own (below this, threads cost more than
/// they save).
const MIN_LANE_BLOCKS: usize = 64;

/// A reusable engine: reed-solomon-simd's SIMD engine plus one working space per lane
/// and the decoder's erasure-locator table, all kept across calls.
pub struct SimdEngine {
    engine: DefaultEngine,
    lanes: Vec<Vec<[u8; BLOCK]>>,
    erasures: Vec<GfElement>,
    threads: usize,
    stripe_blocks: usize,
}

impl Default for SimdEngine {
    fn default() -> Self {
        SimdEngine {
            engine: DefaultEngine::new(),
            lanes: Vec::new(),
            erasures: Vec::new(),
            threads: 0,
            stripe_blocks: STRIPE_BLOCKS,
        }
    }
}

impl SimdEngine {
    /// An engine that splits one blob over at most `threads` lanes (0: as many as
    /// rayon's current pool has threads; 1: the calling thread only).
    pub fn with_threads(threads: usize) -> SimdEngine {
        SimdEngine {
            threads,
            ..SimdEngine::default()
        }
    }

    /// Use stripes of `blocks` 64-octet blocks (at least 1); for tuning benches.
    pub fn set_stripe_blocks(&mut self, blocks: usize) {
        self.stripe_blocks = blocks.max(1);
    }

    /// The lanes' column ranges (in octets) for shards of `shard_bytes`.
    fn lane_ranges(&self, shard_bytes: usize) -> Vec<Range<usize>> {
        let blocks = shard_bytes.div_ceil(BLOCK);
        let threads = match self.threads {
            0 => rayon::current_num_threads(),
            n => n,
        };
        let lanes = threads.min(blocks.div_ceil(MIN_LANE_BLOCKS)).max(1);
        (0..lanes)
            .map(|l| {
                let start = blocks * l / lanes * BLOCK;
                let end = (blocks * (l + 1) / lanes * BLOCK).min(shard_bytes);
                start.min(shard_bytes)..end
            })
            .collect()
    }

    /// Make sure there is one working space per lane.
    fn ensure_lanes(&mut self, lanes: usize) {
        if self.lanes.len() < lanes {
            self.lanes.resize_with(lanes, Vec::new);
        }
    }
}

impl SimdEngine {
    /// Reconstruction on the AVX-512/GFNI decoder: the `cpu` reference's method (and
    /// factors), the erasure locator over the `size` transform positions only
    /// ([`crate::locator::locator_logs`]), stripes over lanes as for encoding.
    fn reconstruct_gfni(
        &mut self,
        code: ErasureCode,
        shard_bytes: usize,
        given: &[Option<&[u8]>],
        originals: &mut [u8],
    ) -> Result<(), ErasureError> {
        let plan = gfni::DecodePlan::get(code);
        let size = plan.size;
        let (k, chunk) = (code.originals, code.chunk());
        // Known positions: the shards given, and the zero padding k..chunk.
        let mut known = vec![false; size];
        known[k..chunk].fill(true);
        for (c, shard) in given.iter().enumerate() {
            if shard.is_some() {
                known[code.position(c)] = true;
            }
        }
        if known[..k].iter().all(|&given| given) {
            // Every original was given: reconstruction is their concatenation.
            for (out, shard) in originals.chunks_exact_mut(shard_bytes).zip(given) {
                if let Some(shard) = shard {
                    out.copy_from_slice(shard);
                }
            }
            return Ok(());
        }
        let exp = crate::cpu::field::field().exp_table();
        let order = crate::cpu::field::GROUP_ORDER as u32;
        let locator = crate::locator::locator_logs(&known);
        let factor = |log: u32| gfni::Factor::new(exp[log as usize]);
        // Q's values: each given shard times ℓ at its position; P(ω_e) = Q'(ω_e)/ℓ'(ω_e).
        let weights: Vec<Option<gfni::Factor>> = (0..size)
            .map(|u| known[u].then(|| factor(locator[u])).flatten())
            .collect();
        let unweights: Vec<Option<gfni::Factor>> = (0..k)
            .map(|e| {
                (!known[e])
                    .then(|| factor((order - locator[e]) % order))
                    .flatten()
            })
            .collect();
        let ranges = self.lane_ranges(shard_bytes);
        self.ensure_lanes(ranges.len());
        let pieces = split_rows(originals, shard_bytes, &ranges);
        let stripe = self.stripe_blocks;
        let (weights, unweights) = (weights.as_slice(), unweights.as_slice());
        let run = |((work, range), mut out): ((&mut Work, &Range<usize>), Pieces<'_>)| {
            for_each_stripe(work, range.clone(), stripe, size, |work, w, cols, local| {
                for (u, blocks) in work.chunks_exact_mut(w).enumerate() {
                    let c = if u < k {
                        Some(u)
                    } else if u >= chunk && u - chunk < code.recovery {
                        Some(k + u - chunk)
                    } else {
                        None
                    };
                    let words = c
                        .and_then(|c| given.get(c).copied().flatten())
                        .and_then(|s| s.get(cols.clone()));
                    match words {
                        Some(words) => {
                            if u < k {
                                if let Some(o) =
                                    out.get_mut(u).and_then(|o| o.get_mut(local.clone()))
                                {
                                    o.copy_from_slice(words);
                                }
                            }
                            to_blocks(words, blocks);
                            gfni::scale(blocks, weights.get(u).and_then(Option::as_ref));
                        }
                        None => blocks.fill([0; BLOCK]),
                    }
                }
                gfni::decode_stripe(&plan, work, w);
                for (e, (blocks, o)) in work.chunks_exact_mut(w).zip(out.iter_mut()).enumerate() {
                    if known.get(e).copied().unwrap_or(true) {
                        continue;
                    }
                    gfni::scale(blocks, unweights.get(e).and_then(Option::as_ref));
                    if let Some(o) = o.get_mut(local.clone()) {
                        from_blocks(blocks, o);
                    }
                }
            });
        };
        let jobs = self.lanes.iter_mut().zip(&ranges).zip(pieces);
        run_lanes(jobs, ranges.len(), run);
        Ok(())
    }
}

/// One lane's working space.
type Work = Vec<[u8; BLOCK]>;
/// One lane's pieces of a buffer's rows.
type Pieces<'a> = Vec<&'a mut [u8]>;

/// Cut every `shard_bytes` row of `buffer` at the lane boundaries: `result[l]` holds
/// lane `l`'s piece of each row, in row order.
fn split_rows<'a>(
    buffer: &'a mut [u8],
    shard_bytes: usize,
    ranges: &[Range<usize>],
) -> Vec<Vec<&'a mut [u8]>> {
    let mut out: Vec<Vec<&mut [u8]>> = ranges.iter().map(|_| Vec::new()).collect();
    for row in buffer.chunks_exact_mut(shard_bytes) {
        let mut rest = row;
        for (range, lane) in ranges.iter().zip(out.iter_mut()) {
            let (piece, tail) = rest.split_at_mut(range.len().min(rest.len()));
            lane.push(piece);
            rest = tail;
        }
    }
    out
}

/// Run `f` on each column stripe of a lane's `range` (at most `stripe` blocks wide):
/// `f(work, w, cols, local)`, with `work` the lane's working space cut to `rows` rows
/// of `w` blocks (grown when needed, kept across calls), `cols` the stripe's octets
/// within a shard and `local` the same octets within the lane's pieces.
fn for_each_stripe(
    work: &mut Work,
    range: Range<usize>,
    stripe: usize,
    rows: usize,
    mut f: impl FnMut(&mut [[u8; BLOCK]], usize, Range<usize>, Range<usize>),
) {
    let lane_start = range.start;
    let step = stripe * BLOCK;
    for start in range.clone().step_by(step) {
        let cols = start..(start + step).min(range.end);
        let w = cols.len().div_ceil(BLOCK);
        if work.len() < rows * w {
            work.resize(rows * w, [0; BLOCK]);
        }
        let local = cols.start - lane_start..cols.end - lane_start;
        f(&mut work[..rows * w], w, cols, local);
    }
}

/// Run every lane's job: on the calling thread when there is one lane (a rayon task
/// would only add its cost), else one rayon task per lane.
fn run_lanes<J: Send>(jobs: impl Iterator<Item = J>, lanes: usize, run: impl Fn(J) + Send + Sync) {
    if lanes == 1 {
        jobs.for_each(run);
    } else {
        jobs.collect::<Vec<_>>().into_par_iter().for_each(run);
    }
}

/// One lane's view of a call: the shape and the engine.
struct Lane<'e> {
    engine: &'e DefaultEngine,
    code: ErasureCode,
    shard_bytes: usize,
    stripe: usize,
    /// The encoder's AVX-512/GFNI transforms, when the CPU has them.
    gfni: Option<Arc<gfni::EncodePlan>>,
}

impl Lane<'_> {
    /// Low-rate encode of one lane, as reed-solomon-simd's `LowRateEncoder::encode`.
    fn encode(
        &self,
        work: &mut Vec<[u8; BLOCK]>,
        range: Range<usize>,
        source: &[u8],
        mut originals: Vec<&mut [u8]>,
        mut recovery: Vec<&mut [u8]>,
    ) {
        let ErasureCode {
            originals: k,
            recovery: r,
        } = self.code;
        let chunk = self.code.chunk();
        let work_count = r.next_multiple_of(chunk);
        let stripe = self.stripe;
        for_each_stripe(work, range, stripe, work_count, |work, w, cols, local| {
            for (i, blocks) in work.chunks_exact_mut(w).take(k).enumerate() {
                let row = i * self.shard_bytes;
                let lo = (row + cols.start).min(source.len());
                let hi = (row + cols.end).min(source.len());
                let words = source.get(lo..hi).unwrap_or(&[]);
                to_blocks(words, blocks);
                if let Some(out) = originals.get_mut(i).and_then(|o| o.get_mut(local.clone())) {
                    let (data, pad) = out.split_at_mut(words.len().min(out.len()));
                    data.copy_from_slice(words.get(..data.len()).unwrap_or(&[]));
                    pad.fill(0);
                }
            }
            work[k * w..chunk * w].fill([0; BLOCK]);
            if let Some(plan) = &self.gfni {
                gfni::encode_stripe(plan, chunk, work, w);
                for (blocks, out) in work.chunks_exact(w).zip(recovery.iter_mut()) {
                    if let Some(out) = out.get_mut(local.clone()) {
                        from_blocks(blocks, out);
                    }
                }
                return;
            }
            self.engine
                .ifft(&mut ShardsRefMut::new(work_count, w, work), 0, chunk, k, 0);
            let mut at = chunk;
            while at < r {
                work.copy_within(0..chunk * w, at * w);
                at += chunk;
            }
            let mut at = 0;
            while at < r {
                let truncated = (r - at).min(chunk);
                self.engine.fft(
                    &mut ShardsRefMut::new(work_count, w, work),
                    at,
                    chunk,
                    truncated,
                    at + chunk,
                );
                at += chunk;
            }
            for (blocks, out) in work.chunks_exact(w).zip(recovery.iter_mut()) {
                if let Some(out) = out.get_mut(local.clone()) {
                    from_blocks(blocks, out);
                }
            }
        });
    }

    /// Low-rate decode of one lane, as reed-solomon-simd's `LowRateDecoder::decode`,
    /// with the erasure locator (`erasures`) computed once for all lanes.
    fn reconstruct(
        &self,
        work: &mut Vec<[u8; BLOCK]>,
        range: Range<usize>,
        given: &[Option<&[u8]>],
        erasures: &[GfElement],
        mut originals: Vec<&mut [u8]>,
    ) {
        let k = self.code.originals;
        let chunk = self.code.chunk();
        let recovery_end = chunk + self.code.recovery;
        let work_count = recovery_end.next_power_of_two();
        let stripe = self.stripe;
        for_each_stripe(work, range, stripe, work_count, |work, w, cols, local| {
            // Received originals are copied as they are; only the missing ones are
            // computed.
            for (out, shard) in originals.iter_mut().zip(given) {
                if let (Some(out), Some(words)) = (
                    out.get_mut(local.clone()),
                    shard.and_then(|s| s.get(cols.clone())),
                ) {
                    out.copy_from_slice(words);
                }
            }
            for (position, blocks) in work.chunks_exact_mut(w).enumerate() {
                let shard = match position {
                    p if p < k => given.get(p).copied().flatten(),
                    p if (chunk..recovery_end).contains(&p) => {
                        given.get(k + p - chunk).copied().flatten()
                    }
                    _ => None,
                };
                match shard.and_then(|s| s.get(cols.clone())) {
                    Some(words) => {
                        to_blocks(words, blocks);
                        let factor = erasures.get(position).copied().unwrap_or(0);
                        self.engine.mul(blocks, factor);
                    }
                    None => blocks.fill([0; BLOCK]),
                }
            }
            let mut shards = ShardsRefMut::new(work_count, w, work);
            self.engine
                .ifft(&mut shards, 0, work_count, recovery_end, 0);
            formal_derivative(&mut shards);
            self.engine.fft(&mut shards, 0, work_count, recovery_end, 0);
            for (i, (out, blocks)) in originals
                .iter_mut()
                .zip(work.chunks_exact_mut(w))
                .enumerate()
            {
                if given.get(i).copied().flatten().is_some() {
                    continue;
                }
                let factor = erasures.get(i).copied().unwrap_or(0);
                self.engine.mul(blocks, GF_MODULUS - factor);
                if let Some(out) = out.get_mut(local.clone()) {
                    from_blocks(blocks, out);
                }
            }
        });
    }
}

/// The formal derivative in the novel basis, as reed-solomon-simd's (crate-private)
/// `formal_derivative`.
fn formal_derivative(data: &mut ShardsRefMut<'_>) {
    for i in 1..data.len() {
        let width = 1usize << i.trailing_zeros();
        xor_within(data, i - width, i, width);
    }
}

impl ErasureEngine for SimdEngine {
    /// Fused: the padding is read as zeros while the originals are converted, and
    /// the padded originals are written in the same pass.
    fn encode_checked(&mut self, job: EncodeJob<'_>) -> Result<(), ErasureError> {
        let (code, shard_bytes, source, recovery) =
            (job.code, job.shard_bytes, job.source, job.recovery);
        let ranges = self.lane_ranges(shard_bytes);
        self.ensure_lanes(ranges.len());
        let rec_pieces = split_rows(recovery, shard_bytes, &ranges);
        let orig_pieces = match job.originals {
            Some(o) => split_rows(o, shard_bytes, &ranges),
            None => ranges.iter().map(|_| Vec::new()).collect(),
        };
        let engine = &self.engine;
        let stripe = self.stripe_blocks;
        let plan = gfni::available().then(|| gfni::EncodePlan::get(code));
        let run = |(((work, range), orig), rec): (
            ((&mut Work, &Range<usize>), Pieces<'_>),
            Pieces<'_>,
        )| {
            let lane = Lane {
                engine,
                code,
                shard_bytes,
                stripe,
                gfni: plan.clone(),
            };
            lane.encode(work, range.clone(), source, orig, rec);
        };
        let jobs = self
            .lanes
            .iter_mut()
            .zip(&ranges)
            .zip(orig_pieces)
            .zip(rec_pieces);
        run_lanes(jobs, ranges.len(), run);
        Ok(())
    }

    fn reconstruct_checked(&mut self, job: ReconstructJob<'_>) -> Result<(), ErasureError> {
        let (code, shard_bytes, shards, originals) =
            (job.code, job.shard_bytes, job.shards, job.originals);
        // given[i]: shard i (original i < k, recovery i − k), if it was received.
        let mut given: Vec<Option<&[u8]>> = vec![None; code.total()];
        for &(index, shard) in shards {
            if let Some(slot) = given.get_mut(index) {
                *slot = Some(shard);
            }
        }
        if gfni::available() {
            return self.reconstruct_gfni(code, shard_bytes, &given, originals);
        }
        let chunk = code.chunk();
        let recovery_end = chunk + code.recovery;
        // GF(2^16) has 2^16 elements, so the locator table has GF_ORDER entries.
        self.erasures.clear();
        self.erasures.resize(GF_ORDER, 0);
        let Ok(erasures) = <&mut [GfElement; GF_ORDER]>::try_from(self.erasures.as_mut_slice())
        else {
            return Err(ErasureError::BufferShape("erasure table".into()));
        };
        let mut missing = false;
        for (i, e) in erasures.iter_mut().enumerate() {
            let received = match i {
                i if i < code.originals => given.get(i).copied().flatten().is_some(),
                i if (chunk..recovery_end).contains(&i) => given
                    .get(code.originals + i - chunk)
                    .copied()
                    .flatten()
                    .is_some(),
                i if i < code.originals.max(chunk) => true,
                _ => false,
            };
            *e = u16::from(!received);
            missing |= i < code.originals && !received;
        }
        if missing {
            <DefaultEngine as Engine>::eval_poly(erasures, GF_ORDER);
        }
        let ranges = self.lane_ranges(shard_bytes);
        self.ensure_lanes(ranges.len());
        let pieces = split_rows(originals, shard_bytes, &ranges);
        let engine = &self.engine;
        let stripe = self.stripe_blocks;
        let erasures = self.erasures.as_slice();
        let given = given.as_slice();
        let run = |((work, range), out): ((&mut Work, &Range<usize>), Pieces<'_>)| {
            let lane = Lane {
                engine,
                code,
                shard_bytes,
                stripe,
                gfni: None,
            };
            lane.reconstruct(work, range.clone(), given, erasures, out);
        };
        let jobs = self.lanes.iter_mut().zip(&ranges).zip(pieces);
        run_lanes(jobs, ranges.len(), run);
        Ok(())
    }
}

//! The `da` throughput measurements behind `tessera bench da`: one table measured in one
//! run, each backend beside raw reed-solomon-simd on the same shard shape as the
//! baseline. Speed is only ever compared within one run (figures move between machines).
//!
//! Workload `package`: one maximum-size work package, i.e. a `W_B` = 13,791,360-octet
//! bundle plus `W_X` = 3072 exported segments (proof pages are not yet included).
//! Operations (each record's `input_bytes` is the data it consumed):
//! - `encode`: the bundle's `V` chunks and every segment's `V` shards;
//! - `reconstruct`: the bundle from `k` shards, 100 originals and `k − 100` recovery
//!   (tiny: one of each), the shape an auditor usually sees;
//! - `hash`: Blake2b-256 of every bundle chunk and every segment shard.

use std::time::Instant;

use reed_solomon_simd::{ReedSolomonDecoder, ReedSolomonEncoder};
use tessera_core::spec::ChainSpec;

use crate::backend::Backend;
use crate::erasure::{encode, reconstruct, ErasureCode, ErasureError};
use crate::hashing::blake2b_many;
use crate::segment::encode_segments;

/// One measurement: the JSON record `tessera bench da --json` prints.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    /// What was processed: `package` (one maximum-size work package).
    pub workload: String,
    /// `encode`, `reconstruct` or `hash`.
    pub operation: String,
    /// `cpu`, `simd` or `reed-solomon-simd` (the raw baseline).
    pub backend: String,
    /// Octets of input the operation consumed.
    pub input_bytes: u64,
    /// The fastest of the repetitions, in seconds.
    pub seconds: f64,
    /// `input_bytes / seconds / 10^6`.
    pub mb_per_s: f64,
}

/// Where a bench run is, for a progress bar: `done` of `total` steps, `step` naming
/// the one about to run.
#[derive(Clone, Debug)]
pub struct Progress {
    /// Steps finished.
    pub done: usize,
    /// All steps of the run.
    pub total: usize,
    /// The step now starting, e.g. `package encode simd`.
    pub step: String,
}

/// Raw reed-solomon-simd with a reused encoder and decoder: the baseline. Its shards
/// are in the library's own layout, so it does no conversion at all.
#[derive(Default)]
pub struct RawReedSolomon {
    encoder: Option<ReedSolomonEncoder>,
    decoder: Option<ReedSolomonDecoder>,
}

fn simd_error(e: reed_solomon_simd::Error) -> ErasureError {
    ErasureError::Simd(e.to_string())
}

impl RawReedSolomon {
    /// Recovery shards of `originals` (`k` shards of `shard_bytes`, back to back) into
    /// `recovery`.
    pub fn encode(
        &mut self,
        code: ErasureCode,
        shard_bytes: usize,
        originals: &[u8],
        recovery: &mut [u8],
    ) -> Result<(), ErasureError> {
        code.check_encode_buffers(shard_bytes, originals, recovery)?;
        let encoder = match self.encoder.take() {
            Some(mut e) => {
                e.reset(code.originals, code.recovery, shard_bytes)
                    .map_err(simd_error)?;
                e
            }
            None => ReedSolomonEncoder::new(code.originals, code.recovery, shard_bytes)
                .map_err(simd_error)?,
        };
        let encoder = self.encoder.insert(encoder);
        for shard in originals.chunks_exact(shard_bytes) {
            encoder.add_original_shard(shard).map_err(simd_error)?;
        }
        let result = encoder.encode().map_err(simd_error)?;
        for (out, shard) in recovery
            .chunks_exact_mut(shard_bytes)
            .zip(result.recovery_iter())
        {
            out.copy_from_slice(shard);
        }
        Ok(())
    }

    /// The missing originals from `shards`; returns how many octets were restored.
    pub fn reconstruct(
        &mut self,
        code: ErasureCode,
        shard_bytes: usize,
        shards: &[(usize, &[u8])],
    ) -> Result<usize, ErasureError> {
        code.check_shards(shard_bytes, shards)?;
        let decoder = match self.decoder.take() {
            Some(mut d) => {
                d.reset(code.originals, code.recovery, shard_bytes)
                    .map_err(simd_error)?;
                d
            }
            None => ReedSolomonDecoder::new(code.originals, code.recovery, shard_bytes)
                .map_err(simd_error)?,
        };
        let decoder = self.decoder.insert(decoder);
        for &(index, shard) in shards {
            if index < code.originals {
                decoder.add_original_shard(index, shard)
            } else {
                decoder.add_recovery_shard(index - code.originals, shard)
            }
            .map_err(simd_error)?;
        }
        let result = decoder.decode().map_err(simd_error)?;
        Ok(result.restored_original_iter().map(|(_, s)| s.len()).sum())
    }
}

/// Deterministic filler data (splitmix64), so runs are comparable.
pub fn filler(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        out.extend_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// The shard indices a `reconstruct` measurement uses: 100 originals (tiny: 1), the
/// rest recovery.
pub fn reconstruct_indices(code: ErasureCode) -> Vec<usize> {
    let originals = code.originals.min(100).min(code.originals.div_ceil(2));
    (0..originals)
        .chain(code.originals..code.total())
        .take(code.originals)
        .collect()
}

/// The fastest of `repetitions` runs of `f`, in seconds.
fn fastest<T>(
    repetitions: usize,
    mut f: impl FnMut() -> Result<T, ErasureError>,
) -> Result<f64, ErasureError> {
    let mut best = f64::INFINITY;
    for _ in 0..repetitions.max(1) {
        let start = Instant::now();
        std::hint::black_box(f()?);
        best = best.min(start.elapsed().as_secs_f64());
    }
    Ok(best)
}

/// Measure the `package` workload on each of `backends` (`Auto` is measured as what it
/// resolves to) and, when `baseline` is set, on raw reed-solomon-simd; each figure is
/// the fastest of `repetitions` runs. `progress` is called before every step.
pub fn bench_da(
    spec: &ChainSpec,
    backends: &[Backend],
    baseline: bool,
    repetitions: usize,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Vec<Record>, ErasureError> {
    let code = ErasureCode::for_spec(spec);
    let bundle = filler(spec.max_bundle_size as usize, 1);
    let segments: Vec<Vec<u8>> = (0..spec.max_exports as u64)
        .map(|i| filler(spec.segment_size as usize, 2 + i))
        .collect();
    let segment_bytes = segments.iter().map(Vec::len).sum::<usize>();
    let chunks = encode(spec, Backend::Simd, &bundle)?;
    let segment_shards: Vec<Vec<u8>> = encode_segments(spec, Backend::Simd, &segments)?
        .into_iter()
        .flatten()
        .collect();
    let indices = reconstruct_indices(code);
    let chosen: Vec<(usize, &[u8])> = indices
        .iter()
        .filter_map(|&i| chunks.get(i).map(|c| (i, c.as_slice())))
        .collect();
    let hashed: Vec<&[u8]> = chunks
        .iter()
        .chain(&segment_shards)
        .map(Vec::as_slice)
        .collect();
    let hashed_bytes = hashed.iter().map(|x| x.len()).sum::<usize>();

    let mut backends: Vec<Backend> = backends.iter().map(|b| b.resolve()).collect();
    backends.dedup();
    let total = backends.len() * 3 + if baseline { 2 } else { 0 };
    let mut records = Vec::new();
    let mut step = |name: String, records: &Vec<Record>| {
        progress(&Progress {
            done: records.len(),
            total,
            step: name,
        });
    };
    let record = |operation: &str, backend: &str, input_bytes: usize, seconds: f64| Record {
        workload: "package".into(),
        operation: operation.into(),
        backend: backend.into(),
        input_bytes: input_bytes as u64,
        seconds,
        mb_per_s: input_bytes as f64 / seconds / 1e6,
    };

    for &backend in &backends {
        let name = backend.name();
        step(format!("package encode {name}"), &records);
        let seconds = fastest(repetitions, || {
            Ok((
                encode(spec, backend, &bundle)?,
                encode_segments(spec, backend, &segments)?,
            ))
        })?;
        records.push(record(
            "encode",
            name,
            bundle.len() + segment_bytes,
            seconds,
        ));

        step(format!("package reconstruct {name}"), &records);
        let seconds = fastest(repetitions, || {
            reconstruct(spec, backend, &chosen, bundle.len())
        })?;
        records.push(record("reconstruct", name, bundle.len(), seconds));

        step(format!("package hash {name}"), &records);
        let seconds = fastest(repetitions, || Ok(blake2b_many(backend, &hashed)))?;
        records.push(record("hash", name, hashed_bytes, seconds));
    }
    if baseline {
        let name = "reed-solomon-simd";
        let mut raw = RawReedSolomon::default();
        let bundle_shard = chunks.first().map_or(0, Vec::len);
        let segment_shard = segment_bytes / code.originals.max(1);
        let mut padded = bundle.clone();
        padded.resize(code.originals * bundle_shard, 0);
        let mut bundle_recovery = vec![0u8; code.recovery * bundle_shard];
        // The segments as one call of the same total shard shape the simd path uses.
        let segment_originals = filler(code.originals * segment_shard, 3);
        let mut segment_recovery = vec![0u8; code.recovery * segment_shard];
        step(format!("package encode {name}"), &records);
        let seconds = fastest(repetitions, || {
            raw.encode(code, bundle_shard, &padded, &mut bundle_recovery)?;
            raw.encode(
                code,
                segment_shard,
                &segment_originals,
                &mut segment_recovery,
            )
        })?;
        records.push(record(
            "encode",
            name,
            bundle.len() + segment_bytes,
            seconds,
        ));

        step(format!("package reconstruct {name}"), &records);
        let seconds = fastest(repetitions, || raw.reconstruct(code, bundle_shard, &chosen))?;
        records.push(record("reconstruct", name, bundle.len(), seconds));
    }
    Ok(records)
}

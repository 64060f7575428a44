//! The `da` throughput measurements behind `tessera bench da`: one table measured in one
//! run, each backend beside raw reed-solomon-simd on the same shard shapes as the
//! baseline, printed as a table ([`print_table`]), JSON records ([`json`]) or an SVG
//! plot ([`plot`]). Speed is only ever compared within one run (figures move between
//! machines).
//!
//! Workloads:
//! - `package`: one maximum-size work package: a `W_B` = 13,791,360-octet bundle and
//!   `W_X` = 3072 exported segments, with their 48 proof pages;
//! - `slot`: a full-network slot, one such package per core (`C`: 341 full, 2 tiny),
//!   processed as a stream of packages (one package's buffers in memory at a time; the
//!   packages' bundles differ in their first 8 octets, their segments are shared). It
//!   is measured once per run (its packages are the repetitions), and without the `cpu`
//!   backend when it has more than [`CPU_SLOT_LIMIT`] packages (minutes per package
//!   would make it hours).
//!
//! Operations (each record's `input_bytes` is the data it consumed):
//! - `encode`: the bundle's `V` chunks and the `V` segment shards of the segments and
//!   proof pages (input: bundle + segments + pages);
//! - `reconstruct`: the bundle from `k` shards, 100 originals and `k − 100` recovery
//!   (tiny: one of each), the shape an auditor usually sees (input: the bundle);
//! - `hash`: `b♣`, `s♣` and the erasure root from the coded shards (input: every chunk
//!   and segment shard);
//! - `erasure_root`: the whole availability pipeline from bundle and exported segments
//!   (paged proofs, coding, hashing; input: bundle + segments).
//!
//! The raw reed-solomon-simd baseline runs `encode` and `reconstruct` on the same shard
//! shapes with a reused encoder and decoder, on its own layout (no conversion).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use crate::gpu_profile::{self, Profile};
use anyhow::{bail, Context as _};
use reed_solomon_simd::{ReedSolomonDecoder, ReedSolomonEncoder};
use tessera_core::spec::ChainSpec;
use tessera_da::availability::{paged_proofs_simd, AvailabilityEngine};
use tessera_kernels::{Backend, ErasureCode, ErasureCoder, ErasureError};
use tessera_test_support::SplitMix;

/// The most packages a slot may have for the `cpu` backend to be measured on it.
pub const CPU_SLOT_LIMIT: usize = 8;

/// The backend name of the raw baseline in records.
pub const BASELINE: &str = "reed-solomon-simd";

/// One measurement: the JSON record `tessera bench da --json` prints.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    /// What was processed: `package` or `slot`.
    pub workload: String,
    /// `encode`, `reconstruct`, `hash` or `erasure_root`.
    pub operation: String,
    /// `cpu`, `simd`, `gpu` or `reed-solomon-simd` (the raw baseline).
    pub backend: String,
    /// Octets of input the operation consumed.
    pub input_bytes: u64,
    /// The fastest of the repetitions, in seconds.
    pub seconds: f64,
    /// `input_bytes / seconds / 10^6`.
    pub mb_per_s: f64,
    /// With `--profile`, the `gpu` backend's host and GPU spans over all repetitions
    /// of the operation (empty otherwise).
    pub profile: Profile,
}

/// Where a bench run is, for a progress bar: `done` of `total` steps, `step` naming
/// the one running.
#[derive(Clone, Debug)]
pub struct Progress {
    /// Steps finished.
    pub done: usize,
    /// All steps of the run.
    pub total: usize,
    /// The step now running, e.g. `package encode simd` (with the package for slots).
    pub step: String,
}

/// A workload of `tessera bench da`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    /// One maximum-size work package.
    Package,
    /// One maximum-size package per core: a full-network slot.
    Slot,
}

impl Workload {
    /// The name records use.
    pub fn name(self) -> &'static str {
        match self {
            Workload::Package => "package",
            Workload::Slot => "slot",
        }
    }

    /// Packages in the workload: 1, or `C`.
    pub fn packages(self, spec: &ChainSpec) -> usize {
        match self {
            Workload::Package => 1,
            Workload::Slot => spec.cores().max(1),
        }
    }
}

impl std::str::FromStr for Workload {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "package" => Ok(Workload::Package),
            "slot" => Ok(Workload::Slot),
            other => Err(format!(
                "unknown workload `{other}`: expected `package` or `slot`"
            )),
        }
    }
}

/// What a `bench_da` run measures.
#[derive(Clone, Debug)]
pub struct BenchConfig {
    /// Backends to measure (`Auto` is measured as what it resolves to).
    pub backends: Vec<Backend>,
    /// Also measure raw reed-solomon-simd.
    pub baseline: bool,
    /// Workloads, in order.
    pub workloads: Vec<Workload>,
    /// Repetitions of the `package` workload (the fastest counts).
    pub repetitions: usize,
    /// Record the `gpu` backend's host profile per operation
    /// (`tessera_kernels::gpu::profile`; the caller enables it).
    pub profile: bool,
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
    SplitMix(seed).bytes(len)
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

/// One maximum-size package's inputs, built once per run.
struct PackageInput {
    bundle: Vec<u8>,
    segments: Vec<Vec<u8>>,
    /// `s ⌢ P(s)`.
    coded: Vec<Vec<u8>>,
}

impl PackageInput {
    fn new(spec: &ChainSpec) -> Result<PackageInput, ErasureError> {
        let bundle = filler(spec.max_bundle_size as usize, 1);
        let segments: Vec<Vec<u8>> = (0..spec.max_exports as u64)
            .map(|i| filler(spec.segment_size as usize, 2 + i))
            .collect();
        let (pages, _) = paged_proofs_simd(spec, &segments)?;
        let coded = segments.iter().cloned().chain(pages).collect();
        Ok(PackageInput {
            bundle,
            segments,
            coded,
        })
    }

    fn segment_bytes(&self) -> usize {
        self.segments.iter().map(Vec::len).sum()
    }

    fn coded_bytes(&self) -> usize {
        self.coded.iter().map(Vec::len).sum()
    }

    /// Make the bundle package `p`'s (its first 8 octets).
    fn set_package(&mut self, p: usize) {
        for (b, x) in self.bundle.iter_mut().zip((p as u64).to_le_bytes()) {
            *b = x;
        }
    }
}

/// The raw baseline's buffers: both codes' originals in reed-solomon-simd's layout.
struct RawInput {
    bundle_shard: usize,
    bundle_originals: Vec<u8>,
    bundle_recovery: Vec<u8>,
    segment_shard: usize,
    segment_originals: Vec<u8>,
    segment_recovery: Vec<u8>,
}

/// Measure `config` on `spec`; `progress` is called before every step (and for each
/// package of a slot).
pub fn bench_da(
    spec: &ChainSpec,
    config: &BenchConfig,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Vec<Record>, ErasureError> {
    let code = ErasureCode::for_spec(spec);
    let mut input = PackageInput::new(spec)?;
    let mut backends: Vec<Backend> = config.backends.iter().map(|b| b.resolve()).collect();
    backends.dedup();
    let runs_on = |workload: Workload, backend: Backend| {
        backend != Backend::Cpu || workload.packages(spec) <= CPU_SLOT_LIMIT
    };
    let total: usize = config
        .workloads
        .iter()
        .map(|&w| {
            backends.iter().filter(|&&b| runs_on(w, b)).count() * 4
                + if config.baseline { 2 } else { 0 }
        })
        .sum();

    // Shards the reconstruct steps start from, and the raw baseline's buffers.
    let mut coder = ErasureCoder::new(spec, Backend::Simd);
    let chunks = coder.encode(&input.bundle)?;
    let indices = reconstruct_indices(code);
    let chosen: Vec<(usize, &[u8])> = indices
        .iter()
        .filter_map(|&i| chunks.get(i).map(|c| (i, c)))
        .collect();
    let raw_input = RawInput {
        bundle_shard: chunks.shard_len(),
        bundle_originals: filler(code.originals * chunks.shard_len(), 3),
        bundle_recovery: vec![0u8; code.recovery * chunks.shard_len()],
        segment_shard: input.coded.len() * 2 * spec.segment_pieces as usize,
        segment_originals: filler(
            code.originals * input.coded.len() * 2 * spec.segment_pieces as usize,
            4,
        ),
        segment_recovery: vec![
            0u8;
            code.recovery * input.coded.len() * 2 * spec.segment_pieces as usize
        ],
    };
    let mut raw_input = raw_input;

    let mut records = Vec::new();
    for &workload in &config.workloads {
        let packages = workload.packages(spec);
        let repetitions = match workload {
            Workload::Package => config.repetitions.max(1),
            Workload::Slot => 1,
        };
        let name = workload.name();
        let mut measure = |operation: &str,
                           backend: &str,
                           input_bytes: usize,
                           records: &mut Vec<Record>,
                           f: &mut dyn FnMut(usize) -> Result<(), ErasureError>|
         -> Result<(), ErasureError> {
            let step = format!("{name} {operation} {backend}");
            let mut best = f64::INFINITY;
            // Spans of earlier work (setup, other operations) are not this one's.
            gpu_profile::discard();
            for _ in 0..repetitions {
                let start = Instant::now();
                for p in 0..packages {
                    progress(&Progress {
                        done: records.len(),
                        total,
                        step: if packages > 1 {
                            format!("{step} ({}/{packages})", p + 1)
                        } else {
                            step.clone()
                        },
                    });
                    f(p)?;
                }
                best = best.min(start.elapsed().as_secs_f64());
            }
            let input_bytes = input_bytes.saturating_mul(packages);
            records.push(Record {
                workload: name.into(),
                operation: operation.into(),
                backend: backend.into(),
                input_bytes: input_bytes as u64,
                seconds: best,
                mb_per_s: input_bytes as f64 / best / 1e6,
                profile: if config.profile {
                    Profile::take(repetitions)
                } else {
                    Profile::default()
                },
            });
            Ok(())
        };
        let package_bytes = input.bundle.len() + input.coded_bytes();
        for &backend in backends.iter().filter(|&&b| runs_on(workload, b)) {
            let backend_name = backend.name();
            let mut engine = AvailabilityEngine::new(spec, backend);
            let mut coder = ErasureCoder::new(spec, backend);
            let mut restored = Vec::new();
            measure(
                "encode",
                backend_name,
                package_bytes,
                &mut records,
                &mut |p| {
                    input.set_package(p);
                    engine.encode(&input.bundle, &input.coded)
                },
            )?;
            let hashed =
                engine.chunks().as_bytes().len() + engine.segment_shards().as_bytes().len();
            measure(
                "reconstruct",
                backend_name,
                input.bundle.len(),
                &mut records,
                &mut |_| coder.reconstruct_into(&chosen, input.bundle.len(), &mut restored),
            )?;
            measure("hash", backend_name, hashed, &mut records, &mut |_| {
                std::hint::black_box(engine.erasure_root_of_shards());
                Ok(())
            })?;
            let exported = input.bundle.len() + input.segment_bytes();
            measure(
                "erasure_root",
                backend_name,
                exported,
                &mut records,
                &mut |p| {
                    input.set_package(p);
                    std::hint::black_box(engine.roots(&input.bundle, &input.segments)?);
                    Ok(())
                },
            )?;
        }
        if config.baseline {
            let mut raw = RawReedSolomon::default();
            let raw_input = &mut raw_input;
            measure("encode", BASELINE, package_bytes, &mut records, &mut |_| {
                raw.encode(
                    code,
                    raw_input.bundle_shard,
                    &raw_input.bundle_originals,
                    &mut raw_input.bundle_recovery,
                )?;
                raw.encode(
                    code,
                    raw_input.segment_shard,
                    &raw_input.segment_originals,
                    &mut raw_input.segment_recovery,
                )
            })?;
            measure(
                "reconstruct",
                BASELINE,
                input.bundle.len(),
                &mut records,
                &mut |_| {
                    raw.reconstruct(code, raw_input.bundle_shard, &chosen)
                        .map(|_| ())
                },
            )?;
        }
    }
    Ok(records)
}

/// The backends named by `--backend` (`cpu`, `simd`, `gpu`, `auto`, or `all`: cpu,
/// simd, and gpu when a GPU adapter exists), each concrete backend once.
pub fn parse_backends(list: &str) -> anyhow::Result<Vec<Backend>> {
    let mut out = Vec::new();
    for name in list.split(',').map(str::trim) {
        match name {
            "all" => {
                out.extend([Backend::Cpu, Backend::Simd]);
                match tessera_kernels::gpu::context() {
                    Ok(_) => out.push(Backend::Gpu),
                    Err(e) => eprintln!("bench da: no gpu rows: {e}"),
                }
            }
            other => out.push(other.parse().map_err(anyhow::Error::msg)?),
        }
    }
    if out.contains(&Backend::Gpu) {
        tessera_kernels::gpu::context().context("--backend gpu")?;
    }
    let mut seen = Vec::new();
    out.retain(|b: &Backend| {
        let keep = !seen.contains(&b.resolve());
        seen.push(b.resolve());
        keep
    });
    Ok(out)
}

/// The workloads named by `--workload`, each once.
pub fn parse_workloads(list: &str) -> anyhow::Result<Vec<Workload>> {
    let mut out: Vec<Workload> = Vec::new();
    for name in list.split(',').map(str::trim) {
        let w: Workload = name.parse().map_err(anyhow::Error::msg)?;
        if !out.contains(&w) {
            out.push(w);
        }
    }
    Ok(out)
}

/// The records as the JSON array `tessera bench da --json` prints.
pub fn json(records: &[Record]) -> serde_json::Value {
    records
        .iter()
        .map(|r| {
            let mut record = serde_json::json!({
                "workload": r.workload,
                "operation": r.operation,
                "backend": r.backend,
                "input_bytes": r.input_bytes,
                "seconds": r.seconds,
                "mb_per_s": r.mb_per_s,
            });
            if !r.profile.is_empty() {
                record["profile"] = r.profile.json();
            }
            record
        })
        .collect()
}

/// The baseline's figure for the same workload and operation, if it was measured.
fn baseline_of<'a>(records: &'a [Record], r: &Record) -> Option<&'a Record> {
    records
        .iter()
        .find(|b| b.backend == BASELINE && b.workload == r.workload && b.operation == r.operation)
}

/// The table `tessera bench da` prints: every record beside the baseline's figure for
/// the same workload and operation.
pub fn print_table(spec: &ChainSpec, records: &[Record]) {
    println!(
        "tessera bench da: {} spec, {} rayon threads, simd encoder on {}; MB/s of input \
         (10^6 octets); vs raw = throughput / reed-solomon-simd's in this run",
        spec.name,
        rayon::current_num_threads(),
        tessera_kernels::simd::encoder_transforms()
    );
    println!(
        "{:<9} {:<13} {:<18} {:>12} {:>10} {:>10} {:>7}",
        "workload", "operation", "backend", "input MB", "seconds", "MB/s", "vs raw"
    );
    for r in records {
        let ratio = baseline_of(records, r)
            .map(|b| format!("{:.2}", r.mb_per_s / b.mb_per_s))
            .unwrap_or_else(|| "-".into());
        println!(
            "{:<9} {:<13} {:<18} {:>12.1} {:>10.4} {:>10.1} {:>7}",
            r.workload,
            r.operation,
            r.backend,
            r.input_bytes as f64 / 1e6,
            r.seconds,
            r.mb_per_s,
            ratio
        );
    }
    let mut out = std::io::stdout().lock();
    for r in records.iter().filter(|r| !r.profile.is_empty()) {
        let title = format!("{} {} on {}", r.workload, r.operation, r.backend);
        // A closed stdout only loses the breakdown.
        let _ = r.profile.write(&mut out, &title, r.seconds);
    }
}

/// Throughput (MB/s) against batch size (packages, log scale), one line per backend
/// and operation.
/// The plot's caption names the machine (`machine`, a [`crate::machine::Machine::line`]).
pub fn plot(
    spec: &ChainSpec,
    records: &[Record],
    path: &Path,
    machine: &str,
) -> anyhow::Result<()> {
    use plotters::prelude::*;

    let batch = |r: &Record| -> f64 {
        let w: Workload = r.workload.parse().unwrap_or(Workload::Package);
        w.packages(spec) as f64
    };
    let mut series: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    for r in records {
        series
            .entry(format!("{} {}", r.backend, r.operation))
            .or_default()
            .push((batch(r).log10(), r.mb_per_s));
    }
    if series.is_empty() {
        bail!("no records to plot");
    }
    let x_max = series
        .values()
        .flatten()
        .map(|p| p.0)
        .fold(0.0f64, f64::max)
        .max(1.0);
    let y_max = series
        .values()
        .flatten()
        .map(|p| p.1)
        .fold(0.0f64, f64::max)
        * 1.1;
    let root = SVGBackend::new(path, (960, 600)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!(
                "tessera bench da ({} spec): throughput by batch — {machine}",
                spec.name
            ),
            ("sans-serif", 14),
        )
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(-0.1..x_max + 0.1, 0.0..y_max.max(1.0))?;
    chart
        .configure_mesh()
        .x_desc("work packages per batch")
        .y_desc("MB/s of input")
        .x_label_formatter(&|x| format!("{:.0}", 10f64.powf(*x)))
        .draw()?;
    for (i, (name, points)) in series.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        chart
            .draw_series(LineSeries::new(
                points.iter().copied(),
                color.stroke_width(2),
            ))?
            .label(name.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], color));
        chart.draw_series(points.iter().map(|&p| Circle::new(p, 4, color.filled())))?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

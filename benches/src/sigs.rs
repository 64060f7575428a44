//! The Ed25519 measurements behind `tessera bench sigs`: verifications per second for
//! batches of several sizes on each backend, in one run, beside ed25519-dalek's single
//! verification as the baseline, with the measured crossover between `cpu` and `simd`;
//! a table ([`write_table`]), JSON records ([`Record::json`]) or an SVG plot ([`plot`]).
//! The `gpu` backend (the WGSL kernel the process chose, `shaders/ed25519.wgsl` by
//! default; see `tessera_kernels::gpu::ed25519::set_kernel`) is measured when asked
//! for by name, or by `all` when a GPU adapter exists; on a software adapter
//! (lavapipe) its figures say nothing about a hardware GPU.
//!
//! Workload ([`SignedBatch`]): JAM-shaped messages (`X_A ⌢ H(·)`, 45 octets) signed by
//! 1023 distinct keys in turn (a full validator set), the shape of a block's
//! assurances or of a tranche's announcements and judgments. Each figure is the
//! fastest of several timed repetitions of verifying the whole batch (key
//! decompression included, as the keys arrive as octets); speeds are only ever
//! compared within one run.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use rayon::prelude::*;
use tessera_core::crypto::ed25519::{Keypair, PublicKey, Signature};
use tessera_core::hash::blake2b_256;
use tessera_kernels::signatures::try_verify_ed25519_batch;
use tessera_kernels::Backend;

use crate::gpu_profile::{self, Profile};

/// `n` signatures by `keys` distinct validators (item `i` by validator `i mod keys`),
/// each on an assurance-shaped message, `X_A ‖ H(i)` (45 octets, GP 11.13).
#[derive(Clone, Debug)]
pub struct SignedBatch {
    keys: Vec<PublicKey>,
    messages: Vec<Vec<u8>>,
    signatures: Vec<Signature>,
}

impl SignedBatch {
    /// Make `n` signatures by `keys.max(1)` deterministic keys (signed in parallel).
    pub fn new(n: usize, keys: usize) -> Self {
        let pairs: Vec<Keypair> = (0..keys.max(1))
            .into_par_iter()
            .map(|k| {
                let mut seed = [0u8; 32];
                seed[..8].copy_from_slice(&(k as u64).to_le_bytes());
                seed[8] = 0x7e;
                Keypair::from_seed(seed)
            })
            .collect();
        let (messages, signatures): (Vec<Vec<u8>>, Vec<Signature>) = (0..n)
            .into_par_iter()
            .map(|i| {
                let msg = [
                    b"jam_available".as_slice(),
                    &blake2b_256(&(i as u64).to_le_bytes())[..],
                ]
                .concat();
                let sig = pairs[i % pairs.len()].sign(&msg);
                (msg, sig)
            })
            .unzip();
        let keys = (0..n).map(|i| pairs[i % pairs.len()].public()).collect();
        SignedBatch {
            keys,
            messages,
            signatures,
        }
    }

    /// The number of signatures.
    pub fn len(&self) -> usize {
        self.signatures.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.signatures.is_empty()
    }

    /// The first `n` items (all of them if `n` is larger), as the batch APIs take
    /// them.
    pub fn items(&self, n: usize) -> Vec<(PublicKey, &[u8], Signature)> {
        self.keys
            .iter()
            .zip(&self.messages)
            .zip(&self.signatures)
            .take(n)
            .map(|((k, m), s)| (*k, m.as_slice(), *s))
            .collect()
    }
}

/// What [`measure`] reports as it goes, for a progress bar.
#[derive(Clone, Copy, Debug)]
pub enum Progress<'a> {
    /// The step now running.
    Message(&'a str),
    /// One step (a backend at one batch size) finished.
    StepDone,
}

/// JAM's full validator count: the workload cycles through this many keys.
pub const VALIDATORS: usize = 1023;
/// Repetitions continue until this much time has been spent on one figure.
const MIN_TIME: Duration = Duration::from_millis(400);
/// At most this many repetitions per figure.
const MAX_REPS: usize = 2000;
/// The baseline's name in the records.
pub const DALEK: &str = "ed25519-dalek";

/// One measurement, as `--json` prints it.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    /// Items in the batch.
    pub batch: usize,
    /// `cpu`, `simd`, `gpu`, `auto` or `ed25519-dalek`.
    pub backend: String,
    /// Signatures verified in the timed repetition (the batch size).
    pub verifications: usize,
    /// Seconds the fastest repetition took.
    pub seconds: f64,
    /// `verifications / seconds`.
    pub per_second: f64,
    /// With profiling, the `gpu` backend's spans over the repetitions (empty
    /// otherwise).
    pub profile: Profile,
}

impl Record {
    /// The record as `--json` prints it.
    pub fn json(&self) -> serde_json::Value {
        let mut record = serde_json::json!({
            "batch": self.batch,
            "backend": self.backend,
            "verifications": self.verifications,
            "seconds": self.seconds,
            "per_second": self.per_second,
        });
        if !self.profile.is_empty() {
            record["profile"] = self.profile.json();
        }
        record
    }
}

/// The backends named by `--backend`.
pub fn parse_backends(list: &str) -> anyhow::Result<Vec<Backend>> {
    let mut out = Vec::new();
    for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let add: Vec<Backend> = match name {
            "all" => match tessera_kernels::gpu::context() {
                Ok(_) => vec![Backend::Cpu, Backend::Simd, Backend::Gpu],
                Err(e) => {
                    eprintln!("bench sigs: no gpu rows: {e}");
                    vec![Backend::Cpu, Backend::Simd]
                }
            },
            // Asked for by name, a missing adapter is an error: measuring the `simd`
            // fallback under the name `gpu` would mislead.
            "gpu" => {
                tessera_kernels::gpu::context().context("--backend gpu")?;
                vec![Backend::Gpu]
            }
            other => vec![other.parse().map_err(anyhow::Error::msg)?],
        };
        for b in add {
            if !out.contains(&b) {
                out.push(b);
            }
        }
    }
    if out.is_empty() {
        bail!("--backend names no backend");
    }
    Ok(out)
}

/// The table `tessera bench sigs` prints: every record beside ed25519-dalek's figure
/// at the same batch size, and the crossover.
pub fn write_table(out: &mut dyn Write, records: &[Record]) -> std::io::Result<()> {
    writeln!(
        out,
        "Ed25519 verification, {} rayon threads; {VALIDATORS} distinct keys; fastest repetition",
        rayon::current_num_threads()
    )?;
    writeln!(
        out,
        "{:>8}  {:<14} {:>14} {:>12} {:>10}",
        "batch", "backend", "verif/s", "seconds", "vs dalek"
    )?;
    for r in records {
        let ratio = per_second(records, r.batch, DALEK)
            .filter(|d| *d > 0.0)
            .map_or_else(|| "-".to_string(), |d| format!("{:.2}x", r.per_second / d));
        writeln!(
            out,
            "{:>8}  {:<14} {:>14.0} {:>12.6} {:>10}",
            r.batch, r.backend, r.per_second, r.seconds, ratio
        )?;
    }
    match crossover(records) {
        Some(b) => writeln!(
            out,
            "crossover: simd beats cpu from batch {b} (of those measured)"
        )?,
        None => writeln!(out, "crossover: none among the measured batches")?,
    }
    Ok(())
}

/// Time `run` repeatedly; the fastest repetition, in seconds.
/// The fastest of repeated runs, and how many ran.
fn fastest(mut run: impl FnMut() -> anyhow::Result<()>) -> anyhow::Result<(f64, usize)> {
    let started = Instant::now();
    let mut best = f64::INFINITY;
    let mut runs = 0;
    while runs < MAX_REPS {
        let t = Instant::now();
        run()?;
        runs += 1;
        best = best.min(t.elapsed().as_secs_f64());
        if started.elapsed() >= MIN_TIME {
            break;
        }
    }
    Ok((best, runs))
}

/// ed25519-dalek 2, one signature at a time (RFC 8032 `verify`, not `verify_strict`:
/// the closest to ZIP-215 it offers; the workload has no edge cases either treats
/// differently).
fn dalek_verify_all(items: &[(PublicKey, &[u8], Signature)]) -> anyhow::Result<()> {
    for (pk, msg, sig) in items {
        let key = ed25519_dalek::VerifyingKey::from_bytes(&pk.0 .0)
            .context("ed25519-dalek rejected a workload key")?;
        let sig = ed25519_dalek::Signature::from_bytes(&sig.0 .0);
        ed25519_dalek::Verifier::verify(&key, msg, &sig)
            .context("ed25519-dalek rejected a workload signature")?;
    }
    Ok(())
}

/// Measure every backend and the baseline at every batch size.
///
/// With `profile` (the caller enables `tessera_kernels::gpu::profile`), each record
/// keeps the spans of its repetitions.
pub fn measure(
    backends: &[Backend],
    batches: &[usize],
    profile: bool,
    progress: &mut dyn FnMut(Progress<'_>),
) -> anyhow::Result<Vec<Record>> {
    let largest = batches.iter().copied().max().unwrap_or(0);
    progress(Progress::Message(&format!("signing {largest} messages")));
    let workload = SignedBatch::new(largest, VALIDATORS);
    if backends.contains(&Backend::Gpu) {
        // The kernel is compiled on first use (seconds on lavapipe): not part of any
        // figure.
        progress(Progress::Message("compiling the gpu kernel"));
        try_verify_ed25519_batch(Backend::Gpu, &workload.items(1)).context("gpu backend")?;
    }
    let mut records = Vec::new();
    for &n in batches {
        let items = workload.items(n);
        for &backend in backends {
            progress(Progress::Message(&format!("batch {n} {backend}")));
            gpu_profile::discard();
            let (seconds, runs) = fastest(|| {
                let results = try_verify_ed25519_batch(backend, &items)
                    .with_context(|| format!("{backend} backend"))?;
                match results.iter().position(Result::is_err) {
                    Some(i) => bail!("{backend}: workload item {i} did not verify"),
                    None => Ok(()),
                }
            })?;
            let mut record = record(n, backend.name(), seconds);
            if profile {
                record.profile = Profile::take(runs);
            }
            records.push(record);
            progress(Progress::StepDone);
        }
        progress(Progress::Message(&format!("batch {n} {DALEK}")));
        let (seconds, _) = fastest(|| dalek_verify_all(&items))?;
        records.push(record(n, DALEK, seconds));
        progress(Progress::StepDone);
    }
    Ok(records)
}

fn record(batch: usize, backend: &str, seconds: f64) -> Record {
    Record {
        batch,
        backend: backend.to_string(),
        verifications: batch,
        seconds,
        per_second: if seconds > 0.0 {
            batch as f64 / seconds
        } else {
            0.0
        },
        profile: Profile::default(),
    }
}

fn per_second(records: &[Record], batch: usize, backend: &str) -> Option<f64> {
    records
        .iter()
        .find(|r| r.batch == batch && r.backend == backend)
        .map(|r| r.per_second)
}

/// The smallest measured batch size from which `simd` beats `cpu` at that size and
/// every larger one measured; `None` if it never does (or either is missing).
pub fn crossover(records: &[Record]) -> Option<usize> {
    let mut batches: Vec<usize> = records.iter().map(|r| r.batch).collect();
    batches.sort_unstable();
    batches.dedup();
    let wins: Vec<(usize, bool)> = batches
        .iter()
        .filter_map(|&b| {
            let cpu = per_second(records, b, "cpu")?;
            let simd = per_second(records, b, "simd")?;
            Some((b, simd > cpu))
        })
        .collect();
    let last_loss = wins.iter().rposition(|(_, win)| !win);
    let first = match last_loss {
        Some(i) => wins.get(i + 1),
        None => wins.first(),
    };
    first.map(|(b, _)| *b)
}

/// Verifications/s against batch size, both on log scales, one line per backend.
/// The plot's caption names the machine (`machine`, a [`crate::machine::Machine::line`]).
pub fn plot(path: &Path, records: &[Record], machine: &str) -> anyhow::Result<()> {
    use plotters::prelude::*;

    let max_batch = records.iter().map(|r| r.batch).max().unwrap_or(1).max(2) as f64;
    let max_rate = records.iter().map(|r| r.per_second).fold(1.0, f64::max) * 2.0;
    let min_rate = records
        .iter()
        .map(|r| r.per_second)
        .filter(|r| *r > 0.0)
        .fold(max_rate, f64::min)
        / 2.0;
    let root = SVGBackend::new(path, (800, 500)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("Ed25519 verifications/s — {machine}"),
            ("sans-serif", 14),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(
            (1.0..max_batch * 1.5).log_scale(),
            (min_rate..max_rate).log_scale(),
        )
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    chart
        .configure_mesh()
        .x_desc("batch size")
        .y_desc("verifications/s")
        .draw()
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let mut names: Vec<&str> = Vec::new();
    for r in records {
        if !names.contains(&r.backend.as_str()) {
            names.push(&r.backend);
        }
    }
    for (i, name) in names.into_iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        let points: Vec<(f64, f64)> = records
            .iter()
            .filter(|r| r.backend == name && r.per_second > 0.0)
            .map(|r| (r.batch as f64, r.per_second))
            .collect();
        chart
            .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))
            .map_err(|e| anyhow::anyhow!("{e:?}"))?
            .label(name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
        chart
            .draw_series(
                points
                    .into_iter()
                    .map(|p| Circle::new(p, 3, color.filled())),
            )
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    root.present().map_err(|e| anyhow::anyhow!("{e:?}"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(batch: usize, backend: &str, per_second: f64) -> Record {
        Record {
            batch,
            backend: backend.into(),
            verifications: batch,
            seconds: 1.0,
            per_second,
            profile: Profile::default(),
        }
    }

    #[test]
    fn crossover_is_first_batch_of_lasting_win() {
        let recs = vec![
            r(1, "cpu", 10.0),
            r(1, "simd", 9.0),
            r(2, "cpu", 10.0),
            r(2, "simd", 11.0),
            r(4, "cpu", 10.0),
            r(4, "simd", 9.5),
            r(8, "cpu", 10.0),
            r(8, "simd", 20.0),
        ];
        assert_eq!(crossover(&recs), Some(8));
        assert_eq!(crossover(&recs[..4]), Some(2));
        assert_eq!(crossover(&recs[..2]), None);
    }

    #[test]
    fn backend_lists() {
        let gpu = tessera_kernels::gpu::context().is_ok();
        let mut all = vec![Backend::Cpu, Backend::Simd];
        if gpu {
            all.push(Backend::Gpu);
        }
        assert_eq!(parse_backends("all").ok(), Some(all));
        assert_eq!(
            parse_backends("simd,cpu,simd").ok(),
            Some(vec![Backend::Simd, Backend::Cpu])
        );
        assert_eq!(parse_backends("gpu").is_ok(), gpu);
        assert!(parse_backends("tpu").is_err());
        assert!(parse_backends(",").is_err());
    }
}

//! `tessera trace DIR...`: import block-import trace folders step by step and
//! report each step, the import times, and a last line `N passed, M failed`.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context as _;
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tessera_core::codec::decode_exact;
use tessera_core::spec::ChainSpec;
use tessera_core::spec::SpecName;
use tessera_state::serial::trace_file::{Genesis, TraceStep};
use tessera_state::ChainState;

use crate::import::Importer;
use crate::store::StateStore;

/// Arguments of `tessera trace`.
#[derive(Debug, Args)]
pub struct TraceArgs {
    /// Trace folders: `genesis.bin` (optional) and step files `NNNNNNNN.bin`.
    #[arg(required = true)]
    pub dirs: Vec<PathBuf>,
    /// Keep states in a RocksDB database at this path instead of in memory.
    #[arg(long)]
    pub db: Option<PathBuf>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// One step's outcome.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StepResult {
    /// The folder.
    pub dir: String,
    /// The step file.
    pub file: String,
    /// Whether the step did what the trace says (imported to its root, or was
    /// rejected where the trace keeps the pre-state).
    pub ok: bool,
    /// Import time in milliseconds (none when the file did not decode).
    pub ms: Option<f64>,
    /// Why it failed.
    pub reason: Option<String>,
}

/// Import times of one folder, in milliseconds.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FolderSummary {
    /// The folder.
    pub dir: String,
    /// Steps that passed.
    pub passed: usize,
    /// Steps that failed.
    pub failed: usize,
    /// Mean import time.
    pub mean_ms: f64,
    /// Median.
    pub p50_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
}

/// Run the command; `Ok(false)` when any step failed.
pub fn run(spec: &ChainSpec, args: &TraceArgs) -> anyhow::Result<bool> {
    let store = match &args.db {
        Some(path) => StateStore::open(spec, path)
            .with_context(|| format!("cannot open the state database at {}", path.display()))?,
        None => StateStore::in_memory(spec),
    };
    let mut importer = Importer::new(spec, store);

    let mut folders: Vec<(PathBuf, Vec<PathBuf>)> = Vec::new();
    for dir in &args.dirs {
        let mut steps: Vec<PathBuf> = std::fs::read_dir(dir)
            .with_context(|| format!("cannot list {}", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.extension().is_some_and(|x| x == "bin")
                    && p.file_name().is_some_and(|n| n != "genesis.bin")
            })
            .collect();
        steps.sort();
        folders.push((dir.clone(), steps));
    }
    let total: usize = folders.iter().map(|(_, s)| s.len()).sum();
    let bar = if !args.json && std::io::stderr().is_terminal() {
        ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr())
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );

    let mut results = Vec::new();
    let mut summaries = Vec::new();
    for (dir, steps) in &folders {
        let name = dir.display().to_string();
        let genesis = dir.join("genesis.bin");
        if genesis.is_file() {
            let g: Genesis = read_genesis(spec, &genesis)?;
            importer
                .initialize(&g.header, &g.state.keyvals)
                .with_context(|| format!("{}: genesis state", genesis.display()))?;
        }
        let mut times = Vec::new();
        let (mut passed, mut failed) = (0usize, 0usize);
        for path in steps {
            bar.set_message(name.clone());
            let file = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let r = run_step(spec, &mut importer, path);
            let result = StepResult {
                dir: name.clone(),
                file,
                ok: r.is_ok(),
                ms: match &r {
                    Ok(ms) => Some(*ms),
                    Err((ms, _)) => *ms,
                },
                reason: r.err().map(|(_, reason)| reason),
            };
            if let Some(ms) = result.ms {
                times.push(ms);
            }
            if result.ok {
                passed += 1;
            } else {
                failed += 1;
            }
            if !args.json {
                bar.suspend(|| match &result.reason {
                    None => println!(
                        "{}/{} ok {:.3}",
                        result.dir,
                        result.file,
                        result.ms.unwrap_or(0.0)
                    ),
                    Some(reason) => println!("{}/{} FAIL {reason}", result.dir, result.file),
                });
            }
            results.push(result);
            bar.inc(1);
        }
        summaries.push(summarize(name, passed, failed, &mut times));
    }
    bar.finish_and_clear();

    let passed = results.iter().filter(|r| r.ok).count();
    let failed = results.len() - passed;
    if args.json {
        let all: Vec<f64> = results.iter().filter_map(|r| r.ms).collect();
        let out = serde_json::json!({
            "steps": results,
            "folders": summaries,
            "total": summarize("total".into(), passed, failed, &mut all.clone()),
            "passed": passed,
            "failed": failed,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        let mut all: Vec<f64> = results.iter().filter_map(|r| r.ms).collect();
        for s in summaries.iter().chain(std::iter::once(&summarize(
            "total".into(),
            passed,
            failed,
            &mut all,
        ))) {
            println!(
                "{}: {} steps, import mean {:.3} ms, p50 {:.3} ms, p99 {:.3} ms",
                s.dir,
                s.passed + s.failed,
                s.mean_ms,
                s.p50_ms,
                s.p99_ms
            );
        }
        println!("{passed} passed, {failed} failed");
    }
    Ok(failed == 0)
}

/// Import one step; `Ok(ms)` when it did what the trace says.
fn run_step(
    spec: &ChainSpec,
    importer: &mut Importer,
    path: &Path,
) -> Result<f64, (Option<f64>, String)> {
    let step: TraceStep =
        read_decoded(spec, path, "trace step").map_err(|e| (None, format!("{e:#}")))?;
    let parent = step.block.header.parent;
    // A step whose pre-state is not what the store holds for its parent (a fork
    // in a fuzzer-made trace, or a folder without genesis) starts from its own.
    let known = importer
        .state(&parent)
        .map_err(|e| (None, e.to_string()))?
        .map(|s| s.root);
    if known != Some(step.pre.root) {
        let pre = ChainState::deserialize(spec, &step.pre.keyvals).map_err(|e| {
            let other = other_spec(spec);
            let hint = if ChainState::deserialize(&other, &step.pre.keyvals).is_ok() {
                format!(
                    "; it decodes as a {other}-spec state: this looks like a {other}-spec \
                     trace, run with `--spec {other}`",
                    other = other.name
                )
            } else {
                String::new()
            };
            (None, format!("pre-state: {e}{hint}"))
        })?;
        importer
            .seed(parent, pre)
            .map_err(|e| (None, format!("pre-state: {e}")))?;
    }
    let expect_valid = step.post.root != step.pre.root;
    let start = Instant::now();
    let result = importer.import(&step.block);
    let ms = start.elapsed().as_secs_f64() * 1e3;
    match (result, expect_valid) {
        (Ok(root), true) if root == step.post.root => Ok(ms),
        (Ok(root), true) => Err((
            Some(ms),
            format!("state root {root}, expected {}", step.post.root),
        )),
        (Err(_), false) => Ok(ms),
        (Ok(_), false) => Err((Some(ms), "invalid block accepted".into())),
        (Err(e), true) => Err((Some(ms), format!("rejected: {e}"))),
    }
}

/// The genesis file, decoded under `spec` (see [`read_decoded`]).
fn read_genesis(spec: &ChainSpec, path: &Path) -> anyhow::Result<Genesis> {
    read_decoded(spec, path, "genesis")
}

/// A trace file, decoded under `spec`; when it does not decode but does under the
/// other built-in spec, the error says which spec the trace is for (a tiny trace
/// read with the default full spec fails at some offset otherwise).
fn read_decoded<T: tessera_core::codec::Decode>(
    spec: &ChainSpec,
    path: &Path,
    what: &str,
) -> anyhow::Result<T> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    match decode_exact::<T>(spec, &bytes) {
        Ok(v) => Ok(v),
        Err(e) => {
            let other = other_spec(spec);
            let hint = if decode_exact::<T>(&other, &bytes).is_ok() {
                format!(
                    "; it decodes as a {other}-spec {what}: this looks like a {other}-spec \
                     trace, run with `--spec {other}`",
                    other = other.name
                )
            } else {
                String::new()
            };
            Err(anyhow::anyhow!(
                "{}: does not decode as a {}-spec {what}: {e}{hint}",
                path.display(),
                spec.name
            ))
        }
    }
}

/// The built-in spec that `spec` is not.
fn other_spec(spec: &ChainSpec) -> ChainSpec {
    match spec.name {
        SpecName::Full => ChainSpec::tiny(),
        SpecName::Tiny => ChainSpec::full(),
    }
}

fn summarize(dir: String, passed: usize, failed: usize, times: &mut [f64]) -> FolderSummary {
    times.sort_by(f64::total_cmp);
    let pick = |q: f64| -> f64 {
        if times.is_empty() {
            return 0.0;
        }
        let i = ((times.len() as f64 - 1.0) * q).round() as usize;
        times.get(i).copied().unwrap_or(0.0)
    };
    let mean = if times.is_empty() {
        0.0
    } else {
        times.iter().sum::<f64>() / times.len() as f64
    };
    FolderSummary {
        dir,
        passed,
        failed,
        mean_ms: mean,
        p50_ms: pick(0.5),
        p99_ms: pick(0.99),
    }
}

//! `tessera bench da`: the command line of the data-availability throughput bench —
//! arguments, thread pool, progress bar and output. The measurements, the table, the
//! JSON records and the plot are `tessera_benches::da`'s.

use std::io::IsTerminal as _;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use tessera_benches::da::{
    bench_da, json, parse_backends, parse_workloads, plot, print_table, BenchConfig,
};
use tessera_core::spec::ChainSpec;

/// Arguments of `tessera bench da`.
#[derive(Debug, Args)]
pub struct BenchDaArgs {
    /// Backends, comma-separated: `cpu`, `simd`, `gpu`, `auto`, or `all` (cpu, simd, and
    /// gpu when a GPU adapter exists). Raw reed-solomon-simd is always measured beside
    /// them.
    #[arg(long, default_value = "all")]
    pub backend: String,
    /// Workloads, comma-separated: `package` (one maximum-size work package) and
    /// `slot` (one per core: 341 packages at full spec, streamed).
    #[arg(long, default_value = "package,slot")]
    pub workload: String,
    /// Runs of the `package` workload; the fastest counts (a slot runs once).
    #[arg(long, default_value_t = 3)]
    pub repetitions: usize,
    /// Rayon threads (0: one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Print one JSON array of records instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Also draw throughput by backend and batch size into this SVG file.
    #[arg(long)]
    pub plot: Option<PathBuf>,
}

/// Run `tessera bench da`.
pub fn da(spec: &ChainSpec, args: &BenchDaArgs) -> anyhow::Result<()> {
    let config = BenchConfig {
        backends: parse_backends(&args.backend)?,
        baseline: true,
        workloads: parse_workloads(&args.workload)?,
        repetitions: args.repetitions.max(1),
    };
    if args.threads > 0 {
        rayon::ThreadPoolBuilder::new()
            .num_threads(args.threads)
            .build_global()
            .context("cannot set up the rayon thread pool")?;
    }
    let bar = if args.json || !std::io::stderr().is_terminal() {
        ProgressBar::hidden()
    } else {
        let bar = ProgressBar::new(0);
        if let Ok(style) =
            ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} {msg}")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        bar
    };
    let records = bench_da(spec, &config, &mut |p| {
        bar.set_length(p.total as u64);
        bar.set_position(p.done as u64);
        bar.set_message(p.step.clone());
    })
    .context("bench da failed")?;
    bar.finish_and_clear();

    if args.json {
        println!("{}", serde_json::to_string_pretty(&json(&records))?);
    } else {
        print_table(spec, &records);
    }
    if let Some(path) = &args.plot {
        plot(spec, &records, path).with_context(|| format!("cannot draw {}", path.display()))?;
    }
    Ok(())
}

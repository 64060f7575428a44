//! `tessera bench da`: data-availability throughput of every backend beside raw
//! reed-solomon-simd, measured in one run (see `tessera_kernels::bench` for the
//! workloads and operations), as a table, as JSON records, or as an SVG plot.

use std::collections::BTreeMap;
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use tessera_core::spec::ChainSpec;
use tessera_kernels::bench::{bench_da, BenchConfig, Record, Workload, BASELINE};
use tessera_kernels::Backend;

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

fn parse_backends(list: &str) -> anyhow::Result<Vec<Backend>> {
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

fn parse_workloads(list: &str) -> anyhow::Result<Vec<Workload>> {
    let mut out: Vec<Workload> = Vec::new();
    for name in list.split(',').map(str::trim) {
        let w: Workload = name.parse().map_err(anyhow::Error::msg)?;
        if !out.contains(&w) {
            out.push(w);
        }
    }
    Ok(out)
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
        let array: Vec<serde_json::Value> = records
            .iter()
            .map(|r| {
                serde_json::json!({
                    "workload": r.workload,
                    "operation": r.operation,
                    "backend": r.backend,
                    "input_bytes": r.input_bytes,
                    "seconds": r.seconds,
                    "mb_per_s": r.mb_per_s,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&array)?);
    } else {
        print_table(spec, &records);
    }
    if let Some(path) = &args.plot {
        plot(spec, &records, path).with_context(|| format!("cannot draw {}", path.display()))?;
    }
    Ok(())
}

/// The baseline's figure for the same workload and operation, if it was measured.
fn baseline_of<'a>(records: &'a [Record], r: &Record) -> Option<&'a Record> {
    records
        .iter()
        .find(|b| b.backend == BASELINE && b.workload == r.workload && b.operation == r.operation)
}

fn print_table(spec: &ChainSpec, records: &[Record]) {
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
}

/// Throughput (MB/s) against batch size (packages, log scale), one line per backend
/// and operation.
fn plot(spec: &ChainSpec, records: &[Record], path: &Path) -> anyhow::Result<()> {
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
            format!("tessera bench da ({} spec): throughput by batch", spec.name),
            ("sans-serif", 20),
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

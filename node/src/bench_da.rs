//! `tessera bench da`: the command line of the data-availability throughput bench —
//! arguments, thread pool, progress bar and output. The measurements, the table, the
//! JSON records and the plot are `tessera_benches::da`'s, and for the `validator`
//! workload (one validator's load per slot over JAMNP-S, on a tokio runtime)
//! `tessera_benches::validator`'s.

use std::io::IsTerminal as _;
use std::path::PathBuf;

use anyhow::{bail, Context as _};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use tessera_benches::da::{
    bench_da, json, parse_backends, parse_workloads, plot, print_table, BenchConfig,
};
use tessera_benches::machine::Machine;
use tessera_benches::validator::{self, ValidatorConfig};
use tessera_core::spec::ChainSpec;
use tessera_kernels::Backend;

/// Arguments of `tessera bench da`.
#[derive(Debug, Args)]
pub struct BenchDaArgs {
    /// Backends, comma-separated: `cpu`, `simd`, `gpu`, `auto`, or `all` (cpu, simd, and
    /// gpu when a GPU adapter exists). Raw reed-solomon-simd is always measured beside
    /// them.
    #[arg(long, default_value = "all")]
    pub backend: String,
    /// Workloads, comma-separated: `package` (one maximum-size work package),
    /// `slot` (one per core: 341 packages at full spec, streamed) and `validator` (one
    /// validator's availability load per slot — guarantor, assurer, auditor — through
    /// the store and JAMNP-S on loopback, beside the same work without the network).
    #[arg(long, default_value = "package,slot")]
    pub workload: String,
    /// Reports the `validator` workload audits (tranche 0: up to 10).
    #[arg(long, default_value_t = 10)]
    pub reports: usize,
    /// Runs of the `package` workload; the fastest counts (a slot runs once).
    #[arg(long, default_value_t = 3)]
    pub repetitions: usize,
    /// Rayon threads (0: one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Print one JSON array of records instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Time the `gpu` backend's host side per operation — staging copies, waits for
    /// the GPU, read-back copies, submissions — printed after the table and as each
    /// record's `profile` in the JSON.
    #[arg(long)]
    pub profile: bool,
    /// Erasure-code transform layers per GPU dispatch, 1 to 4 (default 4; 1 is one
    /// dispatch per layer), to measure what running several layers per pass gains on
    /// this adapter. Results are identical at every setting.
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=4))]
    pub gpu_radix_bits: Option<u8>,
    /// How the GPU transform multiplies: `log` (the field's log/exp tables, the
    /// default) or `tables` (a product table per factor, built on the device), to
    /// measure which is faster on this adapter. Results are identical.
    #[arg(long, value_parser = ["log", "tables"])]
    pub gpu_multiply: Option<String>,
    /// Store the simd and gpu rates measured side by side in the GPU calibration file
    /// (`--gpu-calibration`, or its default), which `auto` follows from then on:
    /// the GPU only for the operations and sizes where it was faster. Needs
    /// `--backend simd,gpu` (or `all`) and the `package` or `slot` workload.
    #[arg(long)]
    pub calibrate: bool,
    /// Also draw throughput by backend and batch size into this SVG file.
    #[arg(long)]
    pub plot: Option<PathBuf>,
}

/// Run `tessera bench da`.
pub fn da(
    spec: &ChainSpec,
    args: &BenchDaArgs,
    calibration: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    let (validator, kernels): (Vec<&str>, Vec<&str>) = args
        .workload
        .split(',')
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .partition(|&w| w == "validator");
    // Every argument is checked before anything is probed or run.
    let kernel_workloads = if kernels.is_empty() {
        Vec::new()
    } else {
        parse_workloads(&kernels.join(","))?
    };
    let backends = parse_backends(&args.backend)?;
    let both = backends.contains(&Backend::Gpu) && backends.contains(&Backend::Simd);
    let calibration = tessera_benches::calibrate::target(args.calibrate, calibration, both)?;
    if calibration.is_some() && kernel_workloads.is_empty() {
        bail!("--calibrate measures the package and slot workloads; none was asked for");
    }
    if args.threads > 0 {
        rayon::ThreadPoolBuilder::new()
            .num_threads(args.threads)
            .build_global()
            .context("cannot set up the rayon thread pool")?;
    }
    if let Some(bits) = args.gpu_radix_bits {
        tessera_kernels::gpu::reed_solomon::set_radix_bits(usize::from(bits));
    }
    if args.gpu_multiply.as_deref() == Some("tables") {
        tessera_kernels::gpu::reed_solomon::set_multiply(
            tessera_kernels::gpu::reed_solomon::Multiply::Tables,
        );
    }
    let machine = Machine::probe(backends.contains(&Backend::Gpu));
    if !args.json {
        println!("{}", machine.line());
    }
    if args.profile {
        tessera_kernels::gpu::profile::enable();
        let timestamps = backends.contains(&Backend::Gpu)
            && tessera_kernels::gpu::context().is_ok_and(|c| c.timestamp_queries());
        eprintln!(
            "profile: host timers around staging, waits, read-backs and submissions of the \
             gpu backend; {}",
            if timestamps {
                "the GPU's timestamps around each pass and copy (one pass per dispatch while \
                 profiling)"
            } else {
                "no GPU timestamps (the adapter has no timestamp queries, or no gpu backend)"
            }
        );
    }
    let mut json_out = Vec::new();
    if !kernel_workloads.is_empty() {
        let config = BenchConfig {
            backends: backends.clone(),
            baseline: true,
            workloads: kernel_workloads,
            repetitions: args.repetitions.max(1),
            profile: args.profile,
        };
        run_kernel_workloads(spec, args, &config, &machine, &mut json_out, calibration)?;
    }
    if !validator.is_empty() {
        let config = ValidatorConfig {
            backends,
            reports: args.reports.max(1),
        };
        let runtime = crate::bench_net::runtime(args.threads)?;
        if !args.json {
            eprintln!(
                "validator workload: starting {} endpoints and coding {} reports…",
                spec.validators() + 2,
                config.reports
            );
        }
        let records = runtime
            .block_on(validator::measure(spec, &config))
            .context("bench da --workload validator failed")?;
        if args.json {
            json_out.extend(
                records
                    .iter()
                    .map(serde_json::to_value)
                    .collect::<Result<Vec<_>, _>>()?,
            );
        } else {
            validator::print_table(&records);
        }
    }
    if args.json {
        let json_out = machine.annotate(json_out);
        println!("{}", serde_json::to_string_pretty(&json_out)?);
    }
    Ok(())
}

/// The `package` and `slot` workloads: the kernels alone.
fn run_kernel_workloads(
    spec: &ChainSpec,
    args: &BenchDaArgs,
    config: &BenchConfig,
    machine: &Machine,
    json_out: &mut Vec<serde_json::Value>,
    calibration: Option<&std::path::Path>,
) -> anyhow::Result<()> {
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
    let records = bench_da(spec, config, &mut |p| {
        bar.set_length(p.total as u64);
        bar.set_position(p.done as u64);
        bar.set_message(p.step.clone());
    })
    .context("bench da failed")?;
    bar.finish_and_clear();

    if args.json {
        match json(&records) {
            serde_json::Value::Array(items) => json_out.extend(items),
            other => json_out.push(other),
        }
    } else {
        print_table(spec, &records);
    }
    if let Some(path) = &args.plot {
        plot(spec, &records, path, &machine.line())
            .with_context(|| format!("cannot draw {}", path.display()))?;
    }
    if let Some(path) = calibration {
        let rates: Vec<tessera_benches::calibrate::Rate<'_>> = records
            .iter()
            .filter_map(|r| {
                let operation = tessera_kernels::calibration::Operation::from_name(&r.operation)?;
                Some((operation, r.input_bytes, r.backend.as_str(), r.mb_per_s))
            })
            .collect();
        tessera_benches::calibrate::store(path, &rates)?;
    }
    Ok(())
}

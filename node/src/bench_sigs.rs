//! `tessera bench sigs`: the command line of the Ed25519 bench — arguments, progress
//! bar and output. The workload, the measurements, the table, the JSON records and
//! the plot are `tessera_benches::sigs`'s.

use std::io::{IsTerminal as _, Write as _};
use std::path::PathBuf;

use anyhow::{bail, Context as _};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use tessera_benches::machine::Machine;
use tessera_benches::sigs::{measure, parse_backends, plot, write_table, Progress, Record};

/// Arguments of `tessera bench sigs`.
#[derive(Debug, Args)]
pub struct SigsArgs {
    /// Backends to measure, comma-separated: `cpu`, `simd`, `gpu`, `auto`, or `all`
    /// (`cpu,simd`, and `gpu` when a GPU adapter exists). The ed25519-dalek baseline
    /// is always measured.
    #[arg(long, default_value = "all")]
    pub backend: String,
    /// Print one JSON array of records `{"batch","backend","verifications","seconds",
    /// "per_second"}` instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Also draw verifications/s against batch size to this SVG file.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
    /// Time the `gpu` backend per batch: host spans (staging, waits, read-backs,
    /// submissions) and, where the adapter has timestamp queries, the GPU's own time
    /// per pass and copy; printed after the table and as each record's `profile`.
    #[arg(long)]
    pub profile: bool,
    /// Store the simd and gpu rates per batch size in the GPU calibration file
    /// (`--gpu-calibration`, or its default), which `auto` follows from then on.
    /// Needs `--backend simd,gpu` (or `all`).
    #[arg(long)]
    pub calibrate: bool,
    /// Which WGSL kernel the `gpu` backend runs: `program` (`shaders/ed25519.wgsl`,
    /// the default) or `registers` (`shaders/ed25519_registers.wgsl`, field elements
    /// in registers), to measure which is faster on this adapter. Verdicts are
    /// identical.
    #[arg(long, value_parser = ["program", "registers"])]
    pub gpu_ed25519: Option<String>,
    /// Batch sizes, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,64,1023,10000,100000")]
    pub batches: Vec<usize>,
}

/// Run `tessera bench sigs`.
pub fn run(args: &SigsArgs, calibration: Option<&std::path::Path>) -> anyhow::Result<()> {
    let backends = parse_backends(&args.backend)?;
    let both = backends.contains(&tessera_kernels::Backend::Gpu)
        && backends.contains(&tessera_kernels::Backend::Simd);
    let calibration = tessera_benches::calibrate::target(args.calibrate, calibration, both)?;
    if let Some(name) = &args.gpu_ed25519 {
        let kernel = tessera_kernels::gpu::ed25519::Ed25519Kernel::from_name(name)
            .with_context(|| format!("no ed25519 kernel named {name}"))?;
        tessera_kernels::gpu::ed25519::set_kernel(kernel);
    }
    let machine = Machine::probe(backends.contains(&tessera_kernels::Backend::Gpu));
    let mut batches = args.batches.clone();
    batches.retain(|&b| b > 0);
    batches.dedup();
    if batches.is_empty() {
        bail!("--batches names no batch size above zero");
    }
    let steps = (batches.len() * (backends.len() + 1)) as u64;
    let progress = if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(steps);
        bar.set_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    if args.profile {
        tessera_kernels::gpu::profile::enable();
    }
    let records = measure(&backends, &batches, args.profile, &mut |p| match p {
        Progress::Message(m) => progress.set_message(m.to_string()),
        Progress::StepDone => progress.inc(1),
    })?;
    progress.finish_and_clear();

    if let Some(path) = calibration {
        let rates: Vec<tessera_benches::calibrate::Rate<'_>> = records
            .iter()
            .map(|r| {
                let operation = tessera_kernels::calibration::Operation::Ed25519;
                (operation, r.batch as u64, r.backend.as_str(), r.per_second)
            })
            .collect();
        tessera_benches::calibrate::store(path, &rates)?;
    }
    if let Some(path) = &args.plot {
        plot(path, &records, &machine.line())
            .with_context(|| format!("writing {}", path.display()))?;
    }
    let mut out = std::io::stdout().lock();
    if args.json {
        let all: Vec<serde_json::Value> = records.iter().map(Record::json).collect();
        writeln!(out, "{}", serde_json::Value::Array(machine.annotate(all)))?;
        return Ok(());
    }
    writeln!(out, "{}", machine.line())?;
    write_table(&mut out, &records)?;
    for r in records.iter().filter(|r| !r.profile.is_empty()) {
        let title = format!("batch {} on {}", r.batch, r.backend);
        r.profile.write(&mut out, &title, r.seconds)?;
    }
    Ok(())
}

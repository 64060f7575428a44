//! `tessera bench audit`: the command line of the audit bench — arguments, the tokio
//! runtime and the rayon pool, and output. The workload, records and table are
//! `tessera_benches::audit`'s.

use anyhow::Context as _;
use clap::Args;
use tessera_benches::audit::{measure, print_table, AuditConfig};
use tessera_benches::da::parse_backends;
use tessera_benches::machine::Machine;
use tessera_core::ChainSpec;

/// Arguments of `tessera bench audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Reports audited (a validator's tranche 0: up to 10).
    #[arg(long, default_value_t = 10)]
    pub reports: usize,
    /// Backends of the bundle rebuilds, comma-separated: `cpu`, `simd`, `gpu`, `auto`
    /// or `all`.
    #[arg(long, default_value = "simd")]
    pub backend: String,
    /// PVM instructions (gas) each report's refine runs.
    #[arg(long, default_value_t = 50_000_000)]
    pub refine_instructions: u64,
    /// Threads of the tokio runtime and the rayon pool (0: one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Print one JSON array of records instead of the table.
    #[arg(long)]
    pub json: bool,
}

/// Run `tessera bench audit`.
pub fn run(spec: &ChainSpec, args: &AuditArgs) -> anyhow::Result<()> {
    let config = AuditConfig {
        reports: args.reports.max(1),
        backends: parse_backends(&args.backend)?,
        refine_instructions: args.refine_instructions,
    };
    if args.threads > 0 {
        rayon::ThreadPoolBuilder::new()
            .num_threads(args.threads)
            .build_global()
            .context("cannot set up the rayon thread pool")?;
    }
    let runtime = crate::bench_net::runtime(args.threads)?;
    if !args.json {
        eprintln!(
            "bench audit: {} reports, {} validators' shards, refine of {} instructions each…",
            config.reports,
            spec.validators(),
            config.refine_instructions
        );
    }
    let records = runtime
        .block_on(measure(spec, &config))
        .context("bench audit failed")?;
    let machine = Machine::probe(config.backends.contains(&tessera_kernels::Backend::Gpu));
    if args.json {
        println!("{}", machine.json(&records)?);
    } else {
        println!("{}", machine.line());
        print_table(&records);
    }
    Ok(())
}

//! `tessera bench pvm`: the command line of the PVM bench; the workloads, records and
//! table are `tessera_benches::pvm`'s.

use clap::Args;
use tessera_benches::machine::Machine;
use tessera_benches::pvm::{measure, print_table, PvmConfig};

/// Arguments of `tessera bench pvm`.
#[derive(Debug, Args)]
pub struct PvmArgs {
    /// Loop iterations of the compute workloads (memory and branch alike).
    #[arg(long, default_value_t = 2_000_000)]
    pub iterations: u64,
    /// Timed runs per backend and workload; the median is reported.
    #[arg(long, default_value_t = 7)]
    pub reps: usize,
    /// Leave out polkavm 0.30.0's interpreter and recompiler.
    #[arg(long)]
    pub no_polkavm: bool,
    /// Print one JSON array of records instead of the table.
    #[arg(long)]
    pub json: bool,
}

/// Run `tessera bench pvm`.
pub fn run(args: &PvmArgs) -> anyhow::Result<()> {
    if args.iterations == 0 {
        anyhow::bail!("--iterations must be at least 1");
    }
    let config = PvmConfig {
        iterations: args.iterations,
        reps: args.reps.max(1),
        polkavm: !args.no_polkavm,
    };
    if !args.json {
        eprintln!(
            "bench pvm: {} iterations, median of {} runs, one thread…",
            config.iterations, config.reps
        );
    }
    let records = measure(&config);
    let machine = Machine::probe(false);
    if args.json {
        println!("{}", machine.json(&records)?);
    } else {
        println!("{}", machine.line());
        print_table(&records);
    }
    Ok(())
}

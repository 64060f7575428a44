//! `tessera bench net`: the command line of the JAMNP-S loopback bench — arguments,
//! the tokio runtime and output. The workloads, records and table are
//! `tessera_benches::net`'s.

use anyhow::Context as _;
use clap::Args;
use tessera_benches::machine::Machine;
use tessera_benches::net::{measure, print_table, NetConfig, Workload};
use tessera_core::ChainSpec;

/// Arguments of `tessera bench net`.
#[derive(Debug, Args)]
pub struct NetArgs {
    /// Workloads, comma-separated: `fanout` (one guarantor serving every validator's
    /// CE 137 shard response at once), `stream` (single-stream transfer), `rtt`
    /// (small round trips).
    #[arg(long, value_delimiter = ',', default_values_t = ["fanout".to_string(), "stream".into(), "rtt".into()])]
    pub workload: Vec<String>,
    /// Requesting endpoints of `fanout` (0: one per validator, `V`).
    #[arg(long, default_value_t = 0)]
    pub peers: usize,
    /// Octets of each `stream` response.
    #[arg(long, default_value_t = 4 * 1024 * 1024)]
    pub stream_bytes: usize,
    /// Octets `stream` moves in all.
    #[arg(long, default_value_t = 256 * 1024 * 1024)]
    pub volume: usize,
    /// Requests of `rtt`.
    #[arg(long, default_value_t = 2000)]
    pub round_trips: usize,
    /// Tokio worker threads (0: one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Print one JSON array of records instead of the table.
    #[arg(long)]
    pub json: bool,
}

/// Run `tessera bench net`.
pub fn run(spec: &ChainSpec, args: &NetArgs) -> anyhow::Result<()> {
    let config = NetConfig {
        workloads: args
            .workload
            .iter()
            .map(|w| w.parse::<Workload>())
            .collect::<Result<_, _>>()
            .map_err(anyhow::Error::msg)?,
        peers: args.peers,
        stream_bytes: args.stream_bytes,
        volume: args.volume,
        round_trips: args.round_trips,
    };
    let runtime = crate::bench_net::runtime(args.threads)?;
    let records = runtime
        .block_on(measure(spec, &config))
        .context("bench net failed")?;
    let machine = Machine::probe(false);
    if args.json {
        println!("{}", machine.json(&records)?);
    } else {
        println!("{}", machine.line());
        print_table(&records);
    }
    Ok(())
}

/// The multi-threaded tokio runtime the bench commands run their endpoints on:
/// `threads` workers (0: one per core).
pub(crate) fn runtime(threads: usize) -> anyhow::Result<tokio::runtime::Runtime> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if threads > 0 {
        builder.worker_threads(threads);
    }
    builder
        .enable_all()
        .build()
        .context("starting the tokio runtime")
}

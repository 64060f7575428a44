//! The `tessera` command line. Everything lives in the `tessera_node` library; this
//! file only parses arguments and reports errors.

use clap::Parser as _;

/// jemalloc, not glibc's malloc, on Unix: a testnet of six validators at 0.5-s slots
/// kept ~200–300 MB of live heap (heaptrack) while its RSS climbed past 800 MB by
/// slot 1,700 under glibc, whose per-thread arenas hold freed memory for the many
/// tokio, rayon and RocksDB threads; with two arenas it stayed near 310 MB. jemalloc
/// (as reth and polkadot use) returns and reuses memory across threads. Measured in
/// the README.
///
/// It also provides the C `malloc` (tikv-jemallocator's
/// `unprefixed_malloc_on_supported_platforms`): RocksDB's C++ and the Vulkan driver
/// allocate through `malloc`, and with glibc's there they held about half the
/// resident set of a 2,900-slot testnet outside jemalloc (611 MB anonymous, 302 MB
/// of it jemalloc's), in glibc arenas no statistic of ours could see.
#[cfg(all(unix, not(target_env = "musl")))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's `stats.allocated` and `stats.resident`, refreshed (`epoch`) first:
/// jemalloc caches its statistics until the epoch advances.
#[cfg(all(unix, not(target_env = "musl")))]
fn jemalloc_stats() -> Option<tessera_node::metrics::AllocatorStats> {
    use tikv_jemalloc_ctl::{epoch, stats};
    epoch::advance().ok()?;
    Some(tessera_node::metrics::AllocatorStats {
        allocated: u64::try_from(stats::allocated::read().ok()?).ok()?,
        resident: u64::try_from(stats::resident::read().ok()?).ok()?,
    })
}

fn main() -> std::process::ExitCode {
    #[cfg(all(unix, not(target_env = "musl")))]
    tessera_node::metrics::set_allocator_stats(jemalloc_stats);
    let cli = tessera_node::cli::Cli::parse();
    // Logs go to stderr so that `--json` output on stdout stays clean;
    // `RUST_LOG` overrides the default level: `info`, and `warn` for benches, whose
    // thousand loopback endpoints would otherwise log every connection, and for the
    // testnet, whose status line per slot says what its validators do.
    let default = match cli.command {
        tessera_node::cli::Command::Bench(_) | tessera_node::cli::Command::Testnet(_) => "warn",
        _ => "info",
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default)),
        )
        .init();
    // The kernels' environment switches, read once, before any kernel runs.
    tessera_node::switches::Switches::from_env().apply();
    match tessera_node::cli::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

//! The `tessera` command line. Everything lives in the `tessera_node` library; this
//! file only parses arguments and reports errors.

use clap::Parser as _;

fn main() -> std::process::ExitCode {
    // Logs go to stderr so that `--json` output on stdout stays clean;
    // `RUST_LOG` overrides the default level (`info`).
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    // The kernels' environment switches, read once, before any kernel runs.
    tessera_node::switches::Switches::from_env().apply();
    let cli = tessera_node::cli::Cli::parse();
    match tessera_node::cli::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

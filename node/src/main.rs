//! The `tessera` command line. Everything lives in the `tessera_node` library; this
//! file only parses arguments and reports errors.

use clap::Parser as _;

fn main() -> std::process::ExitCode {
    let cli = tessera_node::cli::Cli::parse();
    match tessera_node::cli::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

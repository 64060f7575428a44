//! Argument parsing (clap) and dispatch to the commands.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use tessera_core::spec::{ChainSpec, SpecName};
use tessera_core::types::named::NamedType;

/// Tessera: a JAM node (Gray Paper v0.7.2) built for data-availability throughput.
#[derive(Debug, Parser)]
#[command(name = "tessera", version, about, long_about = None)]
pub struct Cli {
    /// Chain spec: `tiny` (the test vectors' 6-validator chain) or `full` (GP v0.7.2).
    /// Default: `tiny` for `testnet` and `node`, `full` otherwise.
    #[arg(long, global = true, visible_alias = "chain", value_parser = parse_spec)]
    pub spec: Option<SpecName>,

    /// PVM backend for every command that runs service code (trace, fuzz-target,
    /// node, testnet, bench audit): `recompiler` (x86-64 machine code), `interpreter`
    /// (the oracle), or `auto` (the recompiler where it exists).
    #[arg(long, global = true, default_value = "auto", value_parser = parse_pvm_backend)]
    pub pvm_backend: PvmBackend,

    /// The GPU calibration `--da-backend auto` (and every `auto` kernel) follows: where
    /// this machine's GPU was measured faster than simd, per operation and size
    /// (written by `tessera bench da --calibrate` and `bench sigs --calibrate`).
    /// Default: `$XDG_CONFIG_HOME/tessera/gpu-calibration.json` (or
    /// `~/.config/tessera/…`) if it exists. Without one, `auto` runs on simd.
    #[arg(long, global = true, value_name = "FILE")]
    pub gpu_calibration: Option<PathBuf>,

    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

fn parse_spec(s: &str) -> Result<SpecName, String> {
    s.parse()
}

/// `--pvm-backend`: a backend, or `None` for `auto`.
#[derive(Debug, Clone, Copy)]
pub struct PvmBackend(pub Option<tessera_pvm::Backend>);

fn parse_pvm_backend(s: &str) -> Result<PvmBackend, String> {
    tessera_pvm::Backend::parse(s).map(PvmBackend)
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Convert JAM values between the binary codec (GP Appendix C) and the test
    /// vectors' JSON form.
    #[command(subcommand)]
    Codec(CodecCommand),
    /// Measure throughput, each backend beside its baseline in one run.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Import block-import trace folders (`genesis.bin` and step files) and report
    /// each step, import times, and `N passed, M failed`.
    Trace(crate::trace_cmd::TraceArgs),
    /// Serve the JAM conformance fuzzer (protocol v1) on a Unix socket.
    FuzzTarget(FuzzTargetArgs),
    /// Print a validator's Ed25519 and Bandersnatch public keys and its network
    /// name N(k), from a JIP-5 seed.
    Key(crate::key_cmd::KeyArgs),
    /// Run a live local JAM network: every validator of the chain spec as a full
    /// node in this process, over QUIC on loopback (the main job; try
    /// `--slot-seconds 1 --slots 30`).
    Testnet(crate::testnet::TestnetArgs),
    /// Run one validator node: its database under `--base-path`, its keys from
    /// `--dev I` or `--key-file`, its peers from `--bootnode N(k)@ip:port`.
    Node(crate::node_cmd::NodeArgs),
    /// Submit a work package to guarantors over JAMNP-S CE 133 (builder ALPN): from
    /// a file, or generated for the testnet service.
    Submit(crate::submit_cmd::SubmitArgs),
    /// Diagnostic: one JAMNP-S endpoint that serves, or dials a peer and makes one
    /// request.
    #[command(hide = true)]
    NetPing(crate::net_cmd::NetPingArgs),
}

/// Arguments of `tessera fuzz-target`.
#[derive(Debug, Args)]
pub struct FuzzTargetArgs {
    /// The Unix socket to listen on (a stale socket file there is replaced).
    #[arg(long)]
    pub socket: PathBuf,
}

/// `tessera bench …`
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Data availability: erasure coding, hashing and erasure roots of work packages.
    Da(crate::bench_da::BenchDaArgs),
    /// Ed25519 verifications/s per backend and batch size, beside ed25519-dalek.
    Sigs(crate::bench_sigs::SigsArgs),
    /// JAMNP-S on loopback (a guarantor serving a whole shard set, single-stream
    /// transfer, small round trips), each beside plain TCP.
    Net(crate::bench_net::NetArgs),
    /// Auditing: reports fetched over CE 138, rebuilt and re-executed end to end, as
    /// an audit farm beside one report at a time.
    Audit(crate::bench_audit::AuditArgs),
    /// The PVM: the same programs on Tessera's interpreter and recompiler, as
    /// instructions/s and ratios.
    Pvm(crate::bench_pvm::PvmArgs),
}

/// `tessera codec …`
#[derive(Debug, Subcommand)]
pub enum CodecCommand {
    /// Decode a binary file and print it as JSON in the vectors' format.
    Decode(CodecArgs),
    /// Encode a JSON file (vectors' format) and write the binary codec.
    Encode(EncodeArgs),
    /// List the type names that `--type` accepts.
    Types,
}

/// The value type and input file of a codec command.
#[derive(Debug, Args)]
pub struct CodecArgs {
    /// The type of the value (see `tessera codec types`).
    #[arg(long = "type", short = 't', value_parser = parse_type)]
    pub ty: NamedType,
    /// The input file (`-` for standard input).
    pub file: PathBuf,
}

/// Arguments of `tessera codec encode`.
#[derive(Debug, Args)]
pub struct EncodeArgs {
    /// The value type and input file.
    #[command(flatten)]
    pub input: CodecArgs,
    /// Write the bytes to this file instead of printing them as 0x-hex.
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
}

fn parse_type(s: &str) -> Result<NamedType, String> {
    s.parse()
        .map_err(|e: tessera_core::types::named::TypeError| e.to_string())
}

/// The calibration file: `--gpu-calibration`, else the default path (whether or not
/// it exists yet: `bench … --calibrate` writes it).
pub fn calibration_file(flag: Option<PathBuf>) -> Option<PathBuf> {
    flag.or_else(|| {
        let config = std::env::var_os("XDG_CONFIG_HOME")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
        Some(config.join("tessera").join("gpu-calibration.json"))
    })
}

/// The calibration file in use, for `testnet --processes` to hand to its children.
static CALIBRATION_IN_USE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// The calibration file this process loaded, if any.
pub fn calibration_in_use() -> Option<&'static PathBuf> {
    CALIBRATION_IN_USE.get()
}

/// Install the calibration at `path` for `auto`. A file that `must_exist` (named on
/// the command line, not to be created by `--calibrate`) must; any must parse.
fn load_calibration(path: &std::path::Path, must_exist: bool) -> anyhow::Result<()> {
    use anyhow::Context as _;
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !must_exist => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("--gpu-calibration {}", path.display())),
    };
    let calibration = tessera_kernels::calibration::Calibration::from_json(&text)
        .map_err(anyhow::Error::msg)
        .with_context(|| format!("GPU calibration {}", path.display()))?;
    tracing::info!(
        file = %path.display(),
        adapter = %calibration.adapter,
        points = calibration.points.len(),
        "GPU calibration loaded: auto uses the GPU where it measured faster"
    );
    tessera_kernels::calibration::install(calibration);
    let _ = CALIBRATION_IN_USE.set(path.to_path_buf());
    Ok(())
}

/// Run a parsed command line; the exit status says whether it succeeded (a trace
/// with failed steps fails).
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let default = match cli.command {
        Command::Testnet(_) | Command::Node(_) | Command::Submit(_) => SpecName::Tiny,
        _ => SpecName::Full,
    };
    let spec = ChainSpec::by_name(cli.spec.unwrap_or(default));
    tessera_pvm::Backend::set_default(cli.pvm_backend.0);
    let calibration = calibration_file(cli.gpu_calibration.clone());
    // `bench … --calibrate` may create the file it names.
    let calibrating = match &cli.command {
        Command::Bench(BenchCommand::Da(args)) => args.calibrate,
        Command::Bench(BenchCommand::Sigs(args)) => args.calibrate,
        _ => false,
    };
    if let Some(path) = &calibration {
        load_calibration(path, cli.gpu_calibration.is_some() && !calibrating)?;
    }
    let ok = |r: anyhow::Result<()>| r.map(|()| ExitCode::SUCCESS);
    match cli.command {
        Command::FuzzTarget(args) => {
            crate::fuzz_target::node::run(&spec, &args.socket)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Trace(args) => crate::trace_cmd::run(&spec, &args).map(|passed| {
            if passed {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }),
        Command::Codec(CodecCommand::Decode(args)) => {
            ok(crate::codec_cmd::decode(&spec, args.ty, &args.file))
        }
        Command::Codec(CodecCommand::Encode(args)) => ok(crate::codec_cmd::encode(
            &spec,
            args.input.ty,
            &args.input.file,
            args.output.as_deref(),
        )),
        Command::Codec(CodecCommand::Types) => {
            crate::codec_cmd::list_types();
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench(BenchCommand::Da(args)) => {
            ok(crate::bench_da::da(&spec, &args, calibration.as_deref()))
        }
        Command::Bench(BenchCommand::Sigs(args)) => {
            ok(crate::bench_sigs::run(&args, calibration.as_deref()))
        }
        Command::Bench(BenchCommand::Net(args)) => ok(crate::bench_net::run(&spec, &args)),
        Command::Bench(BenchCommand::Audit(args)) => ok(crate::bench_audit::run(&spec, &args)),
        Command::Bench(BenchCommand::Pvm(args)) => ok(crate::bench_pvm::run(&args)),
        Command::Key(args) => ok(crate::key_cmd::run(&args)),
        Command::Submit(args) => ok(crate::submit_cmd::run(&spec, &args)),
        Command::NetPing(args) => ok(crate::net_cmd::run(&spec, &args)),
        Command::Node(args) => ok(crate::node_cmd::run(&spec, &args)),
        Command::Testnet(args) => crate::testnet::command(&spec, &args).map(|passed| {
            if passed {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }),
    }
}

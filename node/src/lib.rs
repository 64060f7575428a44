//! `tessera-node`: the `tessera` binary's library — its command line and the
//! commands behind it.
//!
//! This is the only crate that touches files, the terminal and (later) sockets,
//! thread pools and the database; the libraries it calls take everything as
//! arguments.

pub mod author;
pub mod bench_audit;
pub mod bench_da;
pub mod bench_net;
pub mod bench_sigs;
pub mod chainspec;
pub mod cli;
pub mod codec_cmd;
pub mod fuzz_target;
pub mod import;
pub mod key_cmd;
pub mod metrics;
pub mod net_cmd;
pub mod rpc;
pub mod store;
pub mod switches;
pub mod telemetry;
pub mod trace_cmd;

//! `tessera-node`: the `tessera` binary's library — its command line and the
//! commands behind it.
//!
//! This is the only crate that touches files, the terminal and (later) sockets,
//! thread pools and the database; the libraries it calls take everything as
//! arguments.

pub mod auditor;
pub mod author;
pub mod bench_audit;
pub mod bench_da;
pub mod bench_net;
pub mod bench_pvm;
pub mod bench_sigs;
pub mod builder;
pub mod chain;
pub mod chainspec;
pub mod cli;
pub mod codec_cmd;
pub mod exports;
pub mod finality;
pub mod fuzz_target;
pub mod genesis;
pub mod guarantor;
pub mod import;
pub mod key_cmd;
pub mod metrics;
pub mod net_cmd;
pub mod node;
pub mod node_cmd;
pub mod observe;
pub mod operator;
pub mod pool;
pub mod preimages;
pub mod rpc;
pub mod store;
pub mod submit_cmd;
pub mod switches;
pub mod telemetry;
pub mod testnet;
pub mod testnet_service;
pub mod tickets;
pub mod trace_cmd;

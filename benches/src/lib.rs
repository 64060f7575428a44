//! `tessera-benches`: every measurement of Tessera in one place, each backend beside
//! its baseline in the same run.
//! - [`da`]: the data-availability workloads of `tessera bench da` (a maximum-size work
//!   package, a full-network slot) on every backend beside raw reed-solomon-simd;
//! - [`validator`]: `tessera bench da --workload validator`, one validator's
//!   availability load per slot (guarantor, assurer, auditor) through `tessera-da`
//!   over JAMNP-S on loopback, beside the same work without the network;
//! - [`audit`]: `tessera bench audit`, reports audited end to end (fetch, rebuild,
//!   re-execute) as a farm beside one at a time;
//! - [`sigs`]: the Ed25519 batches of `tessera bench sigs` beside ed25519-dalek;
//! - [`net`]: the JAMNP-S workloads of `tessera bench net` (one guarantor serving a
//!   whole shard set, single-stream transfer, small round trips) beside plain TCP;
//! - `benches/`: the criterion benches (`cargo bench -p tessera-benches --bench …`):
//!   `erasure`, `signatures` (with the VRF batches), `stf` and `interpreter`.
//!
//! The `tessera` binary is the command-line front end of [`da`], [`sigs`] and [`net`]; this
//! crate measures and reports, and reads no environment (the binary applies the
//! kernels' switches before it calls in). The production crates carry no bench code
//! and no bench-only dependency (ed25519-dalek, plotters, criterion): they are here.
//! Speed is never asserted by a test; tests here check the records' shape only.

pub mod audit;
pub mod calibrate;
pub mod da;
pub mod gpu_profile;
pub mod machine;
pub mod net;
pub mod pvm;
pub mod sigs;
pub mod validator;

//! `tessera-state`: the chain state of GP v0.7.2 (§4.2) and its state-transition
//! components, one module per GP section.
//!
//! Each component is a pure function `apply(spec, &pre, &input) -> Result<(post,
//! output), error>`: the prior state is never mutated, so a rejected extrinsic leaves
//! it exactly as it was. Error enums mirror the error codes of the official vectors'
//! ASN.1 schemas. This crate knows nothing of the PVM (accumulation joins later), of
//! storage or of networking.

#[macro_use]
pub mod error_code;

pub mod accounts;
pub mod accumulate;
pub mod assurances;
pub mod authorizations;
pub mod chain_state;
pub mod disputes;
pub mod entropy;
pub mod history;
pub mod host;
pub mod judgments;
mod memo;
pub mod pending;
pub mod preimages;
pub mod refine;
pub mod reports;
pub mod safrole;
pub mod serialization;
pub mod state_key;
pub mod statistics;
pub mod trace_file;
pub mod transition;
pub mod validators;

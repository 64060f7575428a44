//! `tessera-state`: the chain state σ of GP v0.7.2 (§4.2) and the block-import
//! transition Υ over it, in the GP's own sections.
//!
//! - [`sigma`]: σ itself (eq. 4.4) and the parts that are plain state — the
//!   service accounts δ (§9), the validator key sets κ, λ, ι, γ_P (§6.3), the
//!   entropy η (§6.4), the pending reports ρ (§11.1) and the judgments ψ (§10.1).
//! - [`serial`]: σ's serialized form (appendix D, merklization.tex): the state-key
//!   constructor `C` (D.1), `T(σ)` and its inverse (D.2), the state root `M_σ`
//!   (D.5), and the trace files that carry states as key/value lists.
//! - [`stf`]: Υ (eqs. 4.5–4.20) — [`import_block`] — and one module per component
//!   it runs, in the GP's order: header rules (§5), judgments (§10), Safrole (§6),
//!   assurances and guarantees (§11), accumulation (§12), recent history (§7),
//!   preimages (§12.4), authorizations (§8) and statistics (§13).
//! - [`refine`]: Ψ_R and the work-report computation (appendix B.4, B.8; §14),
//!   which runs in-core on a guarantor and is no part of Υ.
//! - [`host`]: what the host functions of accumulation (in [`stf::accumulate`])
//!   and of refinement share (appendix B), so neither imports from the other.
//!
//! Each component of Υ is a pure function `apply(spec, &pre, &input) ->
//! Result<(post, output), error>`: the prior state is never mutated, so a rejected
//! extrinsic leaves it exactly as it was. Error enums mirror the error codes of
//! the official vectors' ASN.1 schemas. This crate knows nothing of storage or of
//! networking.

pub mod authorize;
mod deblobbed;
pub mod host;
pub mod refine;
pub mod serial;
pub mod sigma;
pub mod stf;

pub use sigma::ChainState;
pub use stf::{import_block, BlockError};

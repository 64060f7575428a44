//! The `gpu` backend: the DA kernels as WGSL compute shaders driven through wgpu (Vulkan,
//! Metal or DX12; in CI Mesa's software Vulkan driver, lavapipe).
//!
//! - [`reed_solomon`]: the erasure code's encoder and decoder (GP Appendix H, in the
//!   vectors' layout; `shaders/reed_solomon.wgsl`): the same additive FFT and erasure
//!   locator decoding as the `cpu` reference, step for step, with its log/exp tables in
//!   a storage buffer, up to four transform layers per dispatch (each invocation holds
//!   16 rows of a column in registers); encoding puts many blobs' columns side by side
//!   in one submission;
//! - [`availability`]: the availability pipeline's coding and hashing fused in one
//!   submission per call: a blob's (or the segments') shards are encoded, hashed
//!   (`H` of each bundle chunk, or `M_B` of each validator's segment shards) and only
//!   then read back, with the digests;
//! - [`blake2b`]: Blake2b-256 of many inputs (`shaders/blake2b.wgsl`), 64-bit words
//!   emulated with pairs of u32s;
//! - [`merkle`]: `M_B` of many equally shaped lists (the validators' segment-shard
//!   lists), one tree level per dispatch, with the same Blake2b code.
//! - [`profile`]: host-side timers over staging copies, waits, read-backs and
//!   submissions, summed by span while a process has profiling on;
//! - [`ed25519`]: Ed25519 verification under ZIP-215, one invocation per signature,
//!   field elements as 16 limbs of 16 bits, by one of two kernels
//!   ([`ed25519::Ed25519Kernel`]): `program` (`shaders/ed25519.wgsl`, a register
//!   machine, the default) or `registers` (`shaders/ed25519_registers.wgsl`, field
//!   elements in registers, 4-bit fixed windows); the host checks `s < ℓ` and computes
//!   `k = SHA-512(R ‖ A ‖ M) mod ℓ`, the shader decodes `A` and `R` and checks the
//!   cofactored equation. Each pipeline is compiled on first use (seconds on lavapipe
//!   on a 2-core machine without Mesa's shader cache, against well under a second for
//!   the others), so contexts that never verify a signature do not pay for it.
//!
//! One [`GpuContext`] per process ([`context`]) holds the device, the compiled pipelines,
//! the field tables and the upload (mapped staging), working, uniform and read-back
//! buffers, which are kept and only grown across calls (calls are serialised on them). Every binding stays within
//! [`MAX_BINDING`]; larger batches are split over several submissions.

pub mod availability;
pub mod blake2b;
mod device;
pub mod ed25519;
mod ed25519_base;
mod error;
pub mod merkle;
pub mod profile;
mod recorder;
pub mod reed_solomon;
mod tables;

pub use device::{auto_uses_gpu, context, GpuContext, MAX_BINDING};
pub use error::GpuError;
pub use reed_solomon::GpuEngine;

//! `tessera-kernels`: the data-availability kernels of Tessera behind one API.
//!
//! Each operation is exposed once and takes a [`Backend`] per call:
//! - [`erasure`]: the chunking function `C_k` and its inverse `R_k` of GP Appendix H,
//!   in the layout the official vectors fix (see that module);
//! - [`segment`]: the same code over batches of exported segments (Import DA);
//! - [`hashing`]: Blake2b-256 over many inputs;
//! - [`availability`]: the erasure root of one or many work packages (bundle chunks,
//!   segment shards with their proof pages, per-validator leaves);
//! - [`bench`]: the `da` throughput measurements the CLI prints.
//!
//! Backends: [`Backend::Cpu`] is a readable GF(2^16) additive-FFT reference written from
//! the GP ([`cpu`]) and the oracle the others are tested against bit for bit;
//! [`Backend::Simd`] drives reed-solomon-simd and blake2b_simd, whose SIMD paths are
//! chosen at run time from the CPU's features, with rayon across blobs and segments
//! ([`simd`]); [`Backend::Gpu`] runs WGSL compute shaders through wgpu ([`gpu`]);
//! [`Backend::Auto`] picks `Gpu` on a hardware GPU adapter, else `Simd`.

pub mod availability;
pub mod backend;
pub mod bench;
pub mod cpu;
pub mod erasure;
pub mod gpu;
pub mod hashing;
mod locator;
pub mod segment;
pub mod shards;
pub mod signatures;
pub mod simd;
pub mod vrf;

pub use backend::Backend;
pub use erasure::{
    encode, encode_many, reconstruct, ErasureCode, ErasureCoder, ErasureEngine, ErasureError,
};
pub use hashing::{blake2b_many, try_blake2b_many};
pub use segment::encode_segments;
pub use shards::Shards;

//! `tessera-kernels`: the data-availability kernels of Tessera behind one API.
//!
//! Each operation is exposed once and takes a [`Backend`] per call:
//! - [`erasure`]: the chunking function `C_k` and its inverse `R_k` of GP Appendix H,
//!   in the layout the official vectors fix (see that module);
//! - [`segment`]: the same code over batches of exported segments (Import DA);
//! - [`hashing`]: Blake2b-256 over many inputs;
//! - [`merkle`]: `M_B` of many lists of one length at once;
//! - [`digest`]: coding and digesting in one step (each shard's hash, or each row's
//!   `M_B`), fused on the GPU — what the availability pipeline of `tessera-da` runs on;
//! - [`signatures`] and [`vrf`]: Ed25519 and Bandersnatch checks in batches.
//!
//! Backends: [`Backend::Cpu`] is a readable GF(2^16) additive-FFT reference written from
//! the GP ([`cpu`]) and the oracle the others are tested against bit for bit;
//! [`Backend::Simd`] ([`simd`]) runs this crate's AVX-512/GFNI erasure encoder and
//! decoder and its eight-lane AVX-512 Blake2b where the CPU has those features, and
//! reed-solomon-simd's engine (AVX2, SSSE3 or NEON) and blake2b_simd elsewhere — each
//! chosen at run time from the CPU's features, never at compile time, and switchable
//! off by the program ([`simd::configure`]) — with rayon across blobs, stripes and
//! segments; [`Backend::Gpu`] runs WGSL compute shaders through wgpu ([`gpu`]);
//! [`Backend::Auto`] picks `Gpu` on a hardware GPU adapter, else `Simd`.
//!
//! Layering (no module imports one that imports it back): `backend`, `shards` and the
//! code's shape, errors and engine trait (`engine`) at the bottom; the engines (`cpu`,
//! `simd`, `gpu`) on them; `dispatch` (resolving `Auto`, the engine of a backend, the
//! GPU→SIMD fallback) above the engines; the public operations (`erasure`, `segment`,
//! `hashing`, `merkle`, `signatures`, `digest`) on top. What an erasure root is for,
//! and the paged proofs and leaves it is made of, belong to `tessera-da`. This crate
//! reads no environment and carries no bench code (`tessera-benches` measures it).

pub mod backend;
pub mod calibration;
pub mod cpu;
pub mod digest;
mod dispatch;
mod engine;
pub mod erasure;
pub mod gpu;
pub mod hashing;
mod locator;
pub mod merkle;
pub mod segment;
pub mod shards;
pub mod signatures;
pub mod simd;
pub mod vrf;

pub use backend::Backend;
pub use erasure::{
    encode, encode_many, reconstruct, EncodeJob, ErasureCode, ErasureCoder, ErasureEngine,
    ErasureError, ReconstructJob,
};
pub use hashing::{blake2b_many, try_blake2b_many};
pub use segment::encode_segments;
pub use shards::Shards;

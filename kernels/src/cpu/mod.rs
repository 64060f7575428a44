//! The `cpu` backend: a readable reference written from GP Appendix H, the oracle
//! every other backend is checked against bit for bit. Clarity beats speed here, but
//! it still uses the FFT (not `O(n²)` interpolation) so a maximum-size bundle encodes
//! in test time.

pub(crate) mod field;
pub(crate) mod novel_basis;
mod reed_solomon;

pub use reed_solomon::CpuEngine;

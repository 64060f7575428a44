//! Keys and signatures (GP §3.8.2): Ed25519 under ZIP-215 rules, and Bandersnatch
//! VRF signatures and ring proofs (Appendix G).

pub mod bandersnatch;
pub mod contexts;
pub mod ed25519;
pub mod jip5;
pub mod ring_cache;

//! `tessera-core`: the pure foundation of Tessera, a JAM node for Gray Paper v0.7.2.
//!
//! It holds the chain spec, the codec of Appendix C and the protocol types, the hash
//! functions, Ed25519 and Bandersnatch keys and signatures, the Merkle structures of
//! Appendices D and E and the shuffle of Appendix F. It does no I/O, starts no
//! threads and reads no configuration: callers pass everything in, including the
//! [`ChainSpec`]. Accelerated batch versions of its heavy operations live in
//! `tessera-kernels`; this crate keeps the readable reference forms.

// The codec derives name `::tessera_core::…` paths, which this makes resolve here too.
extern crate self as tessera_core;

pub mod bytes;
pub mod codec;
pub mod crypto;
pub mod hash;
pub mod memo;
pub mod merkle;
pub mod shuffle;
pub mod spec;
pub mod types;

pub use bytes::{ByteArray, Bytes};
pub use codec::{decode_exact, Decode, DecodeError, Encode, Reader};
pub use hash::Hash;
pub use spec::ChainSpec;

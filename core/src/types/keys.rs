//! Keys and signatures as octet strings, GP notation.tex (cryptography) and bandersnatch.tex. Their
//! arithmetic lives in `crate::crypto`; here they are opaque, fixed-length data.

use crate::bytes::ByteArray;

pub use crate::crypto::bandersnatch::{
    PublicKey as BandersnatchPublic, RingProof as BandersnatchRingVrfSignature,
    Signature as BandersnatchVrfSignature,
};
pub use crate::crypto::ed25519::{PublicKey as Ed25519Public, Signature as Ed25519Signature};
/// `B_BLS`: a BLS12-381 public key (144 octets).
pub type BlsPublic = ByteArray<144>;
/// A validator's opaque metadata (128 octets, GP safrole.tex).
pub type ValidatorMetadata = ByteArray<128>;

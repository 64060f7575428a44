//! Keys and signatures as octet strings, GP notation.tex (cryptography) and bandersnatch.tex. Their
//! arithmetic lives in `crate::crypto`; here they are opaque, fixed-length data.

use crate::bytes::ByteArray;

/// `H_B`: a Bandersnatch public key (32 octets).
pub type BandersnatchPublic = ByteArray<32>;
/// `H_E`: an Ed25519 public key (32 octets).
pub type Ed25519Public = ByteArray<32>;
/// `B_BLS`: a BLS12-381 public key (144 octets).
pub type BlsPublic = ByteArray<144>;
/// A validator's opaque metadata (128 octets, GP safrole.tex).
pub type ValidatorMetadata = ByteArray<128>;
/// `V_E`: an Ed25519 signature (64 octets).
pub type Ed25519Signature = ByteArray<64>;
/// `V^m_k⟨c⟩`: a Bandersnatch IETF VRF signature (96 octets).
pub type BandersnatchVrfSignature = ByteArray<96>;
/// `V̄^m_r⟨c⟩`: a Bandersnatch ring VRF proof (784 octets).
pub type BandersnatchRingVrfSignature = ByteArray<784>;

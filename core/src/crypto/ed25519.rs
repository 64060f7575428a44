//! Ed25519 keys and signatures (GP §3.8.2: keys `ℍ_E`, signatures `𝕍_k⟨m⟩ ⊂ 𝕐_64`),
//! verified under the ZIP-215 rules.
//!
//! The GP defines `𝕍_k⟨m⟩` by reference to RFC 8032, which leaves the edge cases
//! (small-order points, non-canonical encodings, cofactored or not) to the
//! implementation. JAM clients agree on ZIP-215 (<https://zips.z.cash/zip-0215>),
//! and the conformance vectors (`davxy/jam-conformance`, `crypto/ed25519`) check
//! exactly those edge cases. Under ZIP-215 a signature `(R, s)` on `m` by `A` is
//! valid iff:
//!
//! - `A` and `R` are 32-octet encodings that decompress to curve points. A
//!   **non-canonical** encoding (y ≥ p, or x = 0 with the sign bit set) is
//!   **accepted**, and so are small-order (torsion) points, including the identity.
//! - `s` is a **canonical** scalar, `s < ℓ` (ℓ = 2^252 + 27742317777372353535851937790883648493);
//!   an `s ≥ ℓ` is rejected.
//! - The **cofactored** equation holds: `[8][s]B = [8]R + [8][k]A`, with
//!   `k = SHA-512(R ‖ A ‖ m)` over the encodings **as given** (never re-encoded).
//!
//! Because the equation is cofactored, batch verification agrees with one-by-one
//! verification on every input, which is what lets [`verify_batch`] bisect a
//! failed batch without ever disagreeing with [`verify`]. The arithmetic is
//! `ed25519-zebra`'s, whose verification is ZIP-215.

pub mod batch;

use ed25519_zebra::{SigningKey, VerificationKey, VerificationKeyBytes};
use serde::{Deserialize, Serialize};

use crate::bytes::ByteArray;
use crate::codec::{Decode, DecodeError, Encode, Reader};

/// An Ed25519 public key, `ℍ_E`: the 32-octet encoding of the point `A`, kept as
/// given (it need not be canonical, nor even a point, until it is verified against).
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PublicKey(pub ByteArray<32>);

/// An Ed25519 signature, `𝕍_k⟨m⟩ ⊂ 𝕐_64`: the encoding of `R` then the scalar `s`,
/// both 32 octets, `s` little-endian.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Signature(pub ByteArray<64>);

/// Why an Ed25519 signature does not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Ed25519Error {
    /// The public key's 32 octets do not decompress to a curve point.
    #[error("public key is not the encoding of a curve point")]
    KeyNotAPoint,
    /// The signature's `R` does not decompress to a curve point.
    #[error("signature's R is not the encoding of a curve point")]
    RNotAPoint,
    /// The signature's `s` is not a canonical scalar (`s ≥ ℓ`), which ZIP-215 rejects.
    #[error("signature's s is not canonical (s ≥ ℓ)")]
    NonCanonicalS,
    /// All encodings are well formed but `[8][s]B = [8]R + [8][k]A` does not hold.
    #[error("signature does not satisfy the verification equation")]
    BadSignature,
}

/// The group order ℓ = 2^252 + 27742317777372353535851937790883648493, little-endian.
const ELL: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
];

/// Whether the little-endian 32-octet integer `s` is below ℓ.
fn is_canonical_scalar(s: &[u8; 32]) -> bool {
    // Compare as little-endian integers: the most significant octet is the last.
    for (a, b) in s.iter().rev().zip(ELL.iter().rev()) {
        if a != b {
            return a < b;
        }
    }
    false
}

/// Whether 32 octets decompress to a point, ZIP-215 style (non-canonical y and
/// "negative zero" x accepted). `ed25519-zebra` decompresses verification keys
/// exactly so, and decompresses `R` the same way, so it serves for both.
fn is_point(bytes: [u8; 32]) -> bool {
    VerificationKey::try_from(bytes).is_ok()
}

impl PublicKey {
    /// Verify `sig` on `msg` under this key; see [`verify`].
    pub fn verify(&self, msg: &[u8], sig: &Signature) -> Result<(), Ed25519Error> {
        verify(self, msg, sig)
    }
}

impl Signature {
    /// The encoding of the commitment point `R` (the first 32 octets).
    pub fn r(&self) -> [u8; 32] {
        let mut r = [0u8; 32];
        r.copy_from_slice(&self.0 .0[..32]);
        r
    }

    /// The scalar `s`, little-endian (the last 32 octets).
    pub fn s(&self) -> [u8; 32] {
        let mut s = [0u8; 32];
        s.copy_from_slice(&self.0 .0[32..]);
        s
    }

    /// The signature made of `R` and `s`.
    pub fn from_parts(r: [u8; 32], s: [u8; 32]) -> Self {
        let mut b = [0u8; 64];
        b[..32].copy_from_slice(&r);
        b[32..].copy_from_slice(&s);
        Signature(ByteArray(b))
    }

    fn to_zebra(self) -> ed25519_zebra::Signature {
        ed25519_zebra::Signature::from_bytes(&self.0 .0)
    }
}

/// The typed reason a signature that `ed25519-zebra` rejected is invalid. Only run
/// on the failure path, so valid signatures pay for no extra decompression.
#[cold]
fn classify_failure(pk: &PublicKey, sig: &Signature) -> Ed25519Error {
    if !is_canonical_scalar(&sig.s()) {
        Ed25519Error::NonCanonicalS
    } else if !is_point(pk.0 .0) {
        Ed25519Error::KeyNotAPoint
    } else if !is_point(sig.r()) {
        Ed25519Error::RNotAPoint
    } else {
        Ed25519Error::BadSignature
    }
}

/// Verify `sig` on `msg` by `pk` under ZIP-215 (see the module docs): `Ok` iff
/// `sig ∈ 𝕍_pk⟨msg⟩`. Malformed keys and signatures are errors, never panics.
pub fn verify(pk: &PublicKey, msg: &[u8], sig: &Signature) -> Result<(), Ed25519Error> {
    if !is_canonical_scalar(&sig.s()) {
        return Err(Ed25519Error::NonCanonicalS);
    }
    let vk = VerificationKey::try_from(pk.0 .0).map_err(|_| Ed25519Error::KeyNotAPoint)?;
    vk.verify(&sig.to_zebra(), msg)
        .map_err(|_| classify_failure(pk, sig))
}

/// The per-item outcome of [`verify_batch`], in the order the items were given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchResult {
    results: Vec<Result<(), Ed25519Error>>,
}

impl BatchResult {
    /// Whether every item verified (true for an empty batch).
    pub fn all_valid(&self) -> bool {
        self.results.iter().all(Result::is_ok)
    }

    /// The outcome of each item, in input order.
    pub fn results(&self) -> &[Result<(), Ed25519Error>] {
        &self.results
    }

    /// The outcomes, by value.
    pub fn into_results(self) -> Vec<Result<(), Ed25519Error>> {
        self.results
    }

    /// The outcome of item `i`; `None` when there is no such item.
    pub fn get(&self, i: usize) -> Option<Result<(), Ed25519Error>> {
        self.results.get(i).copied()
    }

    /// The indices of the items that did not verify, ascending.
    pub fn invalid_indices(&self) -> Vec<usize> {
        self.results
            .iter()
            .enumerate()
            .filter(|(_, r)| r.is_err())
            .map(|(i, _)| i)
            .collect()
    }

    /// The number of items.
    pub fn len(&self) -> usize {
        self.results.len()
    }

    /// Whether the batch had no items.
    pub fn is_empty(&self) -> bool {
        self.results.is_empty()
    }
}

/// Verify many signatures at once and report each one's outcome, exactly as
/// [`verify`] would for it.
///
/// Malformed items (`s ≥ ℓ`, a key or `R` that is not a point) are decided at once.
/// The rest go through one batch check (a random linear combination of the
/// cofactored equations, [`batch`]). Only if it fails is the batch bisected: each half
/// is batch-checked, recursing into the halves that fail, and when the left half of a
/// failed batch passes, the right half is known to fail and is split without being
/// checked again. So `f` bad items among `n` cost about `2f·log₂(n/f)` sub-batches,
/// not `n` single verifications. A valid item is never reported invalid; an invalid
/// one could pass only if a random 128-bit combination cancelled, with probability
/// about 2⁻¹²⁸.
pub fn verify_batch(items: &[(PublicKey, &[u8], Signature)]) -> BatchResult {
    let mut results = vec![Ok(()); items.len()];
    batch::verify_into(items, &mut results);
    BatchResult { results }
}

/// An Ed25519 secret key of our own, from its 32-octet seed (RFC 8032 §5.1.5).
#[derive(Clone)]
pub struct SecretKey(SigningKey);

impl SecretKey {
    /// The secret key whose RFC 8032 seed is `seed`.
    pub fn from_seed(seed: [u8; 32]) -> Self {
        SecretKey(SigningKey::from(seed))
    }

    /// The seed this key was made from.
    pub fn seed(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// The matching public key.
    pub fn public(&self) -> PublicKey {
        PublicKey(ByteArray(VerificationKeyBytes::from(&self.0).into()))
    }

    /// Sign `msg` (deterministic, RFC 8032); the result is canonical and verifies
    /// under ZIP-215 and RFC 8032 alike.
    pub fn sign(&self, msg: &[u8]) -> Signature {
        Signature(ByteArray(self.0.sign(msg).to_bytes()))
    }
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print secret material; the public key identifies the key well enough.
        f.debug_tuple("SecretKey").field(&self.public()).finish()
    }
}

/// A secret key together with its public key, so signing needs no re-derivation.
#[derive(Clone, Debug)]
pub struct Keypair {
    secret: SecretKey,
    public: PublicKey,
}

impl Keypair {
    /// The keypair whose RFC 8032 seed is `seed`.
    pub fn from_seed(seed: [u8; 32]) -> Self {
        Self::from_secret(SecretKey::from_seed(seed))
    }

    /// The keypair of `secret`.
    pub fn from_secret(secret: SecretKey) -> Self {
        let public = secret.public();
        Keypair { secret, public }
    }

    /// The public key.
    pub fn public(&self) -> PublicKey {
        self.public
    }

    /// The secret key.
    pub fn secret(&self) -> &SecretKey {
        &self.secret
    }

    /// Sign `msg`; see [`SecretKey::sign`].
    pub fn sign(&self, msg: &[u8]) -> Signature {
        self.secret.sign(msg)
    }
}

impl From<[u8; 32]> for PublicKey {
    fn from(b: [u8; 32]) -> Self {
        PublicKey(ByteArray(b))
    }
}

impl From<[u8; 64]> for Signature {
    fn from(b: [u8; 64]) -> Self {
        Signature(ByteArray(b))
    }
}

impl AsRef<[u8]> for PublicKey {
    fn as_ref(&self) -> &[u8] {
        &self.0 .0
    }
}

impl AsRef<[u8]> for Signature {
    fn as_ref(&self) -> &[u8] {
        &self.0 .0
    }
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&self.0, f)
    }
}

impl std::fmt::Display for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&self.0, f)
    }
}

impl std::fmt::Debug for Signature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&self.0, f)
    }
}

impl std::fmt::Display for Signature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&self.0, f)
    }
}

// Both serialize as their plain octets (GP C.1.1: fixed-length octet sequences
// have no prefix).
// Written by hand (like `Signature`'s below): read as one run of octets, so a short
// input names the key rather than the generic "fixed-length octets" of `ByteArray`.
impl Encode for PublicKey {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.0.encode_to(out);
    }
}

impl Decode for PublicKey {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.array::<32>("Ed25519 public key")
            .map(|b| PublicKey(ByteArray(b)))
    }
}

impl Encode for Signature {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.0.encode_to(out);
    }
}

impl Decode for Signature {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.array::<64>("Ed25519 signature")
            .map(|b| Signature(ByteArray(b)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn keypair(n: u8) -> Keypair {
        Keypair::from_seed([n; 32])
    }

    #[test]
    fn rfc8032_test_1() {
        // RFC 8032 §7.1, TEST 1: the empty message.
        let seed = crate::bytes::parse_hex(
            "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        )
        .unwrap();
        let kp = Keypair::from_seed(seed.try_into().unwrap());
        let pk: ByteArray<32> = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
            .parse()
            .unwrap();
        assert_eq!(kp.public(), PublicKey(pk));
        let sig: ByteArray<64> = "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155\
             5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
            .parse()
            .unwrap();
        assert_eq!(kp.sign(b""), Signature(sig));
        assert_eq!(verify(&kp.public(), b"", &Signature(sig)), Ok(()));
    }

    #[test]
    fn typed_errors() {
        let kp = keypair(1);
        let sig = kp.sign(b"msg");
        assert_eq!(
            verify(&kp.public(), b"other", &sig),
            Err(Ed25519Error::BadSignature)
        );
        // s = ℓ: the smallest non-canonical scalar.
        let bad_s = Signature::from_parts(sig.r(), ELL);
        assert_eq!(
            verify(&kp.public(), b"msg", &bad_s),
            Err(Ed25519Error::NonCanonicalS)
        );
        // y = 2 is not on the curve (x² = (y²-1)/(dy²+1) is a non-square for y = 2).
        let mut not_point = [0u8; 32];
        not_point[0] = 2;
        assert_eq!(
            verify(&PublicKey::from(not_point), b"msg", &sig),
            Err(Ed25519Error::KeyNotAPoint)
        );
        let bad_r = Signature::from_parts(not_point, sig.s());
        assert_eq!(
            verify(&kp.public(), b"msg", &bad_r),
            Err(Ed25519Error::RNotAPoint)
        );
    }

    #[test]
    fn scalar_canonicity_bounds() {
        let mut below = ELL;
        below[0] -= 1;
        assert!(is_canonical_scalar(&below));
        assert!(!is_canonical_scalar(&ELL));
        assert!(is_canonical_scalar(&[0u8; 32]));
        assert!(!is_canonical_scalar(&[0xff; 32]));
    }

    #[test]
    fn empty_and_single_batches() {
        assert!(verify_batch(&[]).all_valid());
        let kp = keypair(2);
        let sig = kp.sign(b"m");
        assert!(verify_batch(&[(kp.public(), b"m".as_slice(), sig)]).all_valid());
        let r = verify_batch(&[(kp.public(), b"x".as_slice(), sig)]);
        assert_eq!(r.results(), &[Err(Ed25519Error::BadSignature)]);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// Batches of generated signatures with arbitrary items spoiled report exactly
        /// the spoiled items, each with the error single verification gives.
        #[test]
        fn batch_isolates_bad_items(
            n in 1usize..40,
            spoil in proptest::collection::vec((any::<prop::sample::Index>(), 0u8..4), 0..6),
        ) {
            let msgs: Vec<Vec<u8>> = (0..n).map(|i| format!("message {i}").into_bytes()).collect();
            let mut items: Vec<(PublicKey, &[u8], Signature)> = msgs
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    let kp = keypair((i % 7) as u8);
                    (kp.public(), m.as_slice(), kp.sign(m))
                })
                .collect();
            for (at, how) in &spoil {
                let item = &mut items[at.index(n)];
                match how {
                    0 => item.2 .0 .0[40] ^= 1,
                    1 => item.2 = Signature::from_parts(item.2.r(), ELL),
                    2 => item.0 = PublicKey::from([2u8; 32]),
                    _ => item.1 = b"tampered",
                }
            }
            let got = verify_batch(&items);
            let want: Vec<_> = items.iter().map(|(pk, m, s)| verify(pk, m, s)).collect();
            prop_assert_eq!(got.results(), want.as_slice());
        }

        /// Arbitrary octets never panic, and batch and single verification agree.
        #[test]
        fn arbitrary_octets(pk in any::<[u8; 32]>(), r in any::<[u8; 32]>(), s in any::<[u8; 32]>()) {
            let sig = Signature::from_parts(r, s);
            let pk = PublicKey::from(pk);
            let single = verify(&pk, b"m", &sig);
            prop_assert!(single.is_err());
            let batch = verify_batch(&[(pk, b"m".as_slice(), sig), (pk, b"m".as_slice(), sig)]);
            prop_assert_eq!(batch.results(), &[single, single]);
        }
    }
}

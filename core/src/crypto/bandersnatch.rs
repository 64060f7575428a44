//! Bandersnatch VRFs (GP §3.8.2 and Appendix G, `bandersnatch.tex`).
//!
//! Two schemes over the Bandersnatch curve, both with the `ark-vrf` 0.1.0 suite
//! *Bandersnatch SHA-512 ELL2* (the version and suite the JAM test vectors name; later
//! `ark-vrf` releases changed the transcript and domain tags and do not verify them):
//!
//! - the IETF VRF signature `F̃_k⟨c⟩(m) ⊂ 𝕐_96` (GP G.1) with output `Y(s) ∈ ℍ` (G.2),
//!   made by [`sign`] and checked by [`verify`];
//! - the ring VRF proof `F̄_r⟨c⟩(m) ⊂ 𝕐_784` (G.4) over a ring root
//!   `r = O(⟦H_B⟧) ∈ 𝕐_144` (G.3), with output `Y(p)` (G.5), made by
//!   [`RingProver::prove`] and checked by [`RingVerifier::verify`].
//!
//! Here `c` is the VRF input (the context; its output is a function of key and `c`
//! only) and `m` the auxiliary data that is signed but does not change the output.
//! `Y` is the first 32 octets of the 64-octet `ark-vrf` output hash, as in G.2 and G.5.
//!
//! Encodings are those of the vectors: a public key is the 32-octet compressed point;
//! a signature is `output ‖ c ‖ s` (32 + 32 + 32); a ring proof is `output ‖ Pedersen
//! proof ‖ ring proof` (32 + 160 + 592); a ring root is three compressed BLS12-381 G1
//! points (48 × 3).
//!
//! # Costs
//!
//! Ring operations need a [`RingContext`], built once per ring size (the validator count
//! `V`: 6 in tiny, 1023 in full) and held for the process by
//! [`ring_cache`](super::ring_cache), with the ring roots and verifiers made from it. Building it reads the embedded
//! SRS without per-point checks (the file is pinned by the `ark-vrf` package checksum in
//! `Cargo.lock`; see `core/build.rs`) and sets up the PIOP domain, the next power of two
//! above `V + 257` (512 points for tiny, 2048 for full; 1791 keys is the most the 2^11
//! SRS allows). Measured on a 2-core development machine shared with other builds, so
//! take them as orders of magnitude (`conformance/tests/bandersnatch.rs`, `ring_costs_*`):
//!
//! | operation | V = 6 | V = 1023 |
//! | --- | --- | --- |
//! | [`RingContext::new`] | 2 ms | 8 ms |
//! | [`RingContext::commitment`] (ring root of V keys) | 85 ms | 340 ms |
//! | [`RingContext::prover`] + one [`RingProver::prove`] | 0.34 s | 1.1 s |
//! | [`RingContext::verifier`] (from a root) | 1 ms | 1.5 ms |
//! | one [`RingVerifier::verify`] | 10 ms | 12 ms |
//!
//! So: make one [`RingVerifier`] per ring root (per epoch) and reuse it for every
//! ticket; keep a [`RingProver`] per epoch rather than per proof.

use std::fmt;

use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};
use ark_vrf::suites::bandersnatch as suite;
use ark_vrf::{ietf, ring};

use crate::bytes::ByteArray;

/// `H_B`: a Bandersnatch public key, the 32-octet compressed curve point (GP §3.8.2).
///
/// Any 32 octets may appear on chain; whether they are a valid point is decided when
/// they are used, so this is plain bytes.
pub type PublicKey = ByteArray<32>;

/// `F̃_k⟨c⟩(m) ⊂ 𝕐_96`: an IETF VRF signature, output point then proof (GP G.1).
pub type Signature = ByteArray<96>;

/// `F̄_r⟨c⟩(m) ⊂ 𝕐_784`: a ring VRF proof, output point then proof (GP G.4).
pub type RingProof = ByteArray<784>;

/// `𝕐_R = 𝕐_144`: a ring root, the KZG commitment to a key list, `O(⟦H_B⟧)` (GP G.3).
pub type RingCommitment = ByteArray<144>;

/// `Y(·) ∈ ℍ`: the 32-octet VRF output hash (GP G.2, G.5).
pub type VrfOutputHash = ByteArray<32>;

/// The embedded KZG SRS: `bls12-381-srs-2-11-uncompressed-zcash.bin` from the
/// `ark-vrf` 0.1.0 crate package, copied to `$OUT_DIR` by `core/build.rs` (which says
/// how it is found).
static SRS: &[u8] = include_bytes!(concat!(
    env!("OUT_DIR"),
    "/bls12-381-srs-2-11-uncompressed-zcash.bin"
));

/// Why a Bandersnatch operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The 32 octets are not a point of the prime-order Bandersnatch subgroup.
    #[error("invalid Bandersnatch public key {0}")]
    InvalidPublicKey(PublicKey),
    /// The VRF input could not be hashed to a curve point.
    #[error("VRF input cannot be mapped to a Bandersnatch point")]
    InvalidVrfInput,
    /// The signature's output point or proof scalars do not decode.
    #[error("malformed IETF VRF signature")]
    MalformedSignature,
    /// The ring proof's output point, Pedersen proof or ring proof does not decode.
    #[error("malformed ring VRF proof")]
    MalformedRingProof,
    /// The ring root is not three valid compressed G1 points.
    #[error("malformed ring commitment")]
    MalformedRingCommitment,
    /// The signature or proof decodes but does not verify.
    #[error("VRF verification failed")]
    VerificationFailed,
    /// The ring size is outside what the embedded SRS supports.
    #[error("ring size {ring_size} unsupported (the SRS supports 1..={max})")]
    UnsupportedRingSize {
        /// The requested size.
        ring_size: usize,
        /// The largest size the embedded SRS supports.
        max: usize,
    },
    /// More keys were given than the ring has room for.
    #[error("{keys} keys given for a ring of size {ring_size}")]
    TooManyKeys {
        /// How many keys were given.
        keys: usize,
        /// The context's ring size.
        ring_size: usize,
    },
    /// The prover's index is not a position in the ring.
    #[error("prover index {index} is outside the ring of {keys} keys")]
    ProverIndexOutOfRange {
        /// The index given.
        index: usize,
        /// How many keys the ring has.
        keys: usize,
    },
    /// The ring key at the prover's index is not the prover's public key.
    #[error("the ring key at index {index} is not the prover's public key")]
    ProverKeyMismatch {
        /// The index given.
        index: usize,
    },
    /// The embedded SRS did not deserialize (a build problem, not an input problem).
    #[error("the embedded ring-VRF SRS is corrupt")]
    CorruptSrs,
    /// Serializing a value that was just computed failed (never expected).
    #[error("encoding the {0} failed")]
    Encoding(&'static str),
}

/// A Bandersnatch secret key.
#[derive(Clone)]
pub struct Secret(suite::Secret);

impl Secret {
    /// The secret whose scalar is derived from `seed` by `ark-vrf`'s `from_seed`
    /// (SHA-512 of the seed, reduced modulo the group order).
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Secret(suite::Secret::from_seed(seed))
    }

    /// The public key `H_B` of this secret.
    pub fn public(&self) -> PublicKey {
        let mut out = [0u8; 32];
        // A valid point always encodes into exactly 32 octets.
        let _ = self.0.public().0.serialize_compressed(&mut out[..]);
        ByteArray(out)
    }

    /// `Y` of any signature or ring proof this key makes with VRF input `vrf_input`,
    /// computed without making one (e.g. a ticket id before proving, GP 6.29).
    pub fn vrf_output(&self, vrf_input: &[u8]) -> Result<VrfOutputHash, Error> {
        let input = input_point(vrf_input)?;
        Ok(output_hash(&self.0.output(input)))
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret(public: {})", self.public())
    }
}

/// Hash the VRF input to a curve point (Elligator 2, RFC 9380).
fn input_point(vrf_input: &[u8]) -> Result<suite::Input, Error> {
    suite::Input::new(vrf_input).ok_or(Error::InvalidVrfInput)
}

/// `Y`: the first 32 octets of the output point's hash (GP G.2, G.5).
fn output_hash(output: &suite::Output) -> VrfOutputHash {
    let hash = output.hash();
    let mut out = [0u8; 32];
    out.iter_mut().zip(hash.iter()).for_each(|(o, h)| *o = *h);
    ByteArray(out)
}

/// Decode a public key, checking it is a point of the prime-order subgroup.
fn public_point(key: &PublicKey) -> Result<suite::Public, Error> {
    suite::Public::deserialize_compressed(&key[..]).map_err(|_| Error::InvalidPublicKey(*key))
}

/// Deserialize `T` from all of `bytes`, with point and subgroup checks.
fn decode_exact<T: CanonicalDeserialize>(mut bytes: &[u8]) -> Option<T> {
    let value = T::deserialize_compressed(&mut bytes).ok()?;
    bytes.is_empty().then_some(value)
}

/// Serialize into exactly `N` octets.
fn encode_exact<T: CanonicalSerialize, const N: usize>(
    value: &T,
    what: &'static str,
) -> Result<ByteArray<N>, Error> {
    let mut out = Vec::with_capacity(N);
    value
        .serialize_compressed(&mut out)
        .map_err(|_| Error::Encoding(what))?;
    ByteArray::from_slice(&out).ok_or(Error::Encoding(what))
}

/// Split the output point (the first 32 octets) off a signature or proof.
fn split_output(bytes: &[u8]) -> Option<(suite::Output, &[u8])> {
    let (output, rest) = bytes.split_at_checked(32)?;
    Some((decode_exact(output)?, rest))
}

/// The IETF VRF signature of `secret` on VRF input `vrf_input` and auxiliary data
/// `aux_data`: an element of `F̃_k⟨vrf_input⟩(aux_data)` (GP G.1).
pub fn sign(secret: &Secret, vrf_input: &[u8], aux_data: &[u8]) -> Result<Signature, Error> {
    let input = input_point(vrf_input)?;
    let output = secret.0.output(input);
    let proof = ietf::Prover::prove(&secret.0, input, output, aux_data);
    let mut out = Vec::with_capacity(96);
    output
        .serialize_compressed(&mut out)
        .and_then(|()| proof.serialize_compressed(&mut out))
        .map_err(|_| Error::Encoding("IETF VRF signature"))?;
    ByteArray::from_slice(&out).ok_or(Error::Encoding("IETF VRF signature"))
}

/// Check `signature ∈ F̃_key⟨vrf_input⟩(aux_data)` (GP G.1) and return its output
/// `Y(signature)` (G.2).
pub fn verify(
    key: &PublicKey,
    vrf_input: &[u8],
    aux_data: &[u8],
    signature: &Signature,
) -> Result<VrfOutputHash, Error> {
    let public = public_point(key)?;
    let input = input_point(vrf_input)?;
    let (output, proof) = split_output(&signature[..]).ok_or(Error::MalformedSignature)?;
    let proof: suite::IetfProof = decode_exact(proof).ok_or(Error::MalformedSignature)?;
    if !ietf_verify(&public, &input, &output, aux_data, &proof) {
        return Err(Error::VerificationFailed);
    }
    Ok(output_hash(&output))
}

/// ark-vrf's IETF verification (RFC 9381 §5.3 over the suite): with `(c, s)` the
/// proof, `U = s·G − c·Y` and `V = s·I − c·O`, the proof holds iff `c` is the
/// challenge of `(Y, I, O, U, V)` and `aux`. The same equations as
/// `ietf::Verifier::verify`, but each pair of products is one joint
/// double-and-add (Shamir's trick: one doubling chain instead of two) and `U`,
/// `V` are normalised together; exact group arithmetic, so the verdict is the
/// same, and block import verifies two of these per header.
fn ietf_verify(
    public: &suite::Public,
    input: &suite::Input,
    output: &suite::Output,
    aux: &[u8],
    proof: &suite::IetfProof,
) -> bool {
    use ark_vrf::reexports::ark_ec::CurveGroup;
    use ark_vrf::Suite as _;
    let minus_c = -proof.c;
    let g = suite::BandersnatchSha512Ell2::generator();
    let u = joint_mul(&g, &proof.s, &public.0, &minus_c);
    let v = joint_mul(&input.0, &proof.s, &output.0, &minus_c);
    let uv = Projective::normalize_batch(&[u, v]);
    let c = suite::BandersnatchSha512Ell2::challenge(
        &[&public.0, &input.0, &output.0, &uv[0], &uv[1]],
        aux,
    );
    c == proof.c
}

/// The suite's curve points in projective form.
type Projective = <suite::AffinePoint as ark_vrf::reexports::ark_ec::AffineRepr>::Group;

/// `a·P + b·Q` by one double-and-add over both scalars' bits.
fn joint_mul(
    p: &suite::AffinePoint,
    a: &suite::ScalarField,
    q: &suite::AffinePoint,
    b: &suite::ScalarField,
) -> Projective {
    use ark_vrf::reexports::ark_ec::{AdditiveGroup, CurveGroup};
    use ark_vrf::reexports::ark_ff::{BigInteger, PrimeField};
    let (a, b) = (a.into_bigint(), b.into_bigint());
    let pq = (Projective::from(*p) + q).into_affine();
    let bits = a.num_bits().max(b.num_bits());
    let mut acc = Projective::ZERO;
    for i in (0..bits).rev() {
        acc.double_in_place();
        match (a.get_bit(i as usize), b.get_bit(i as usize)) {
            (true, true) => acc += &pq,
            (true, false) => acc += p,
            (false, true) => acc += q,
            (false, false) => {}
        }
    }
    acc
}

/// `Y(signature)` (GP G.2) without verifying the signature.
pub fn vrf_output(signature: &Signature) -> Result<VrfOutputHash, Error> {
    let (output, _) = split_output(&signature[..]).ok_or(Error::MalformedSignature)?;
    Ok(output_hash(&output))
}

/// `Y(proof)` (GP G.5) without verifying the proof.
pub fn ring_vrf_output(proof: &RingProof) -> Result<VrfOutputHash, Error> {
    let (output, _) = split_output(&proof[..]).ok_or(Error::MalformedRingProof)?;
    Ok(output_hash(&output))
}

/// Ring-VRF parameters for one ring size: the embedded SRS truncated to the size's
/// domain, and the PIOP parameters. Build once per ring size (the validator count `V`)
/// and keep it; see the module docs for the cost.
#[derive(Clone)]
pub struct RingContext {
    params: suite::RingProofParams,
    ring_size: usize,
}

impl RingContext {
    /// The largest ring the embedded SRS (2^11 domain) supports.
    pub const MAX_RING_SIZE: usize = 1791;

    /// Parameters for rings of `ring_size` keys.
    pub fn new(ring_size: usize) -> Result<Self, Error> {
        let unsupported = Error::UnsupportedRingSize {
            ring_size,
            max: Self::MAX_RING_SIZE,
        };
        if ring_size == 0 || ring_size > Self::MAX_RING_SIZE {
            return Err(unsupported);
        }
        let pcs = suite::PcsParams::deserialize_uncompressed_unchecked(SRS)
            .map_err(|_| Error::CorruptSrs)?;
        let params =
            suite::RingProofParams::from_pcs_params(ring_size, pcs).map_err(|_| unsupported)?;
        Ok(RingContext { params, ring_size })
    }

    /// The ring size these parameters were made for.
    pub fn ring_size(&self) -> usize {
        self.ring_size
    }

    /// The curve points of a ring. A key that is not a valid point is replaced by the
    /// padding point (GP Appendix G, last paragraph).
    fn ring_points(&self, keys: &[PublicKey]) -> Result<Vec<suite::AffinePoint>, Error> {
        if keys.len() > self.ring_size {
            return Err(Error::TooManyKeys {
                keys: keys.len(),
                ring_size: self.ring_size,
            });
        }
        Ok(keys
            .iter()
            .map(|k| public_point(k).map_or(suite::RingProofParams::padding_point(), |p| p.0))
            .collect())
    }

    /// `O(keys)`: the ring root of a key list (GP G.3), e.g. `γ_z` from `γ_k`'s
    /// Bandersnatch keys (GP 6.26).
    pub fn commitment(&self, keys: &[PublicKey]) -> Result<RingCommitment, Error> {
        let points = self.ring_points(keys)?;
        let commitment = self.params.verifier_key(&points).commitment();
        encode_exact(&commitment, "ring commitment")
    }

    /// A verifier for proofs under the ring root `commitment`; reuse it for every proof
    /// under that root.
    pub fn verifier(&self, commitment: &RingCommitment) -> Result<RingVerifier, Error> {
        let commitment: suite::RingCommitment =
            decode_exact(&commitment[..]).ok_or(Error::MalformedRingCommitment)?;
        let key = self.params.verifier_key_from_commitment(commitment);
        Ok(RingVerifier(self.params.verifier(key)))
    }

    /// The prover key of the ring `keys`, serialized: the expensive half of
    /// [`RingContext::prover`] (an FFT over the SRS domain), the same for every
    /// member, so a process hosting several validators makes it once
    /// ([`crate::crypto::ring_cache::prover`]).
    pub fn prover_key_bytes(&self, keys: &[PublicKey]) -> Result<Vec<u8>, Error> {
        let points = self.ring_points(keys)?;
        let key = self.params.prover_key(&points);
        let mut out = Vec::new();
        key.serialize_uncompressed(&mut out)
            .map_err(|_| Error::Encoding("ring prover key"))?;
        Ok(out)
    }

    /// [`RingContext::prover`] from a prover key made by
    /// [`RingContext::prover_key_bytes`] for the same `keys` (trusted: made in this
    /// process, so it is read without the curve checks).
    pub fn prover_from_key_bytes(
        &self,
        key_bytes: &[u8],
        keys: &[PublicKey],
        index: usize,
        secret: &Secret,
    ) -> Result<RingProver, Error> {
        check_member(keys, index, secret)?;
        let prover_key = suite::RingProverKey::deserialize_uncompressed_unchecked(key_bytes)
            .map_err(|_| Error::Encoding("ring prover key"))?;
        Ok(RingProver {
            prover: self.params.prover(prover_key, index),
            secret: secret.clone(),
        })
    }

    /// A prover for the member at `index` of the ring `keys`, whose secret is `secret`.
    pub fn prover(
        &self,
        keys: &[PublicKey],
        index: usize,
        secret: &Secret,
    ) -> Result<RingProver, Error> {
        check_member(keys, index, secret)?;
        let points = self.ring_points(keys)?;
        let prover_key = self.params.prover_key(&points);
        Ok(RingProver {
            prover: self.params.prover(prover_key, index),
            secret: secret.clone(),
        })
    }
}

/// That `secret` is the member at `index` of the ring `keys`.
fn check_member(keys: &[PublicKey], index: usize, secret: &Secret) -> Result<(), Error> {
    let key = keys.get(index).ok_or(Error::ProverIndexOutOfRange {
        index,
        keys: keys.len(),
    })?;
    if *key != secret.public() {
        return Err(Error::ProverKeyMismatch { index });
    }
    Ok(())
}

impl fmt::Debug for RingContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RingContext(ring_size: {})", self.ring_size)
    }
}

/// Verifies ring proofs under one ring root (see [`RingContext::verifier`]).
pub struct RingVerifier(suite::RingVerifier);

impl RingVerifier {
    /// Check `proof ∈ F̄_r⟨vrf_input⟩(aux_data)` (GP G.4) for this verifier's root `r`
    /// and return its output `Y(proof)` (G.5).
    pub fn verify(
        &self,
        vrf_input: &[u8],
        aux_data: &[u8],
        proof: &RingProof,
    ) -> Result<VrfOutputHash, Error> {
        let input = input_point(vrf_input)?;
        let (output, proof) = split_output(&proof[..]).ok_or(Error::MalformedRingProof)?;
        let proof: suite::RingProof = decode_exact(proof).ok_or(Error::MalformedRingProof)?;
        <suite::Public as ring::Verifier<_>>::verify(input, output, aux_data, &proof, &self.0)
            .map_err(|_| Error::VerificationFailed)?;
        Ok(output_hash(&output))
    }
}

impl fmt::Debug for RingVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RingVerifier")
    }
}

/// Makes ring proofs for one member of one ring (see [`RingContext::prover`]).
pub struct RingProver {
    prover: suite::RingProver,
    secret: Secret,
}

impl RingProver {
    /// An element of `F̄_r⟨vrf_input⟩(aux_data)` (GP G.4) for this prover's ring root.
    pub fn prove(&self, vrf_input: &[u8], aux_data: &[u8]) -> Result<RingProof, Error> {
        let input = input_point(vrf_input)?;
        let output = self.secret.0.output(input);
        let proof = ring::Prover::prove(&self.secret.0, input, output, aux_data, &self.prover);
        let mut out = Vec::with_capacity(784);
        output
            .serialize_compressed(&mut out)
            .and_then(|()| proof.serialize_compressed(&mut out))
            .map_err(|_| Error::Encoding("ring VRF proof"))?;
        ByteArray::from_slice(&out).ok_or(Error::Encoding("ring VRF proof"))
    }
}

impl fmt::Debug for RingProver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RingProver({:?})", self.secret)
    }
}

/// Check `proof ∈ F̄_commitment⟨vrf_input⟩(aux_data)` (GP G.4) and return `Y(proof)`.
///
/// Builds a [`RingVerifier`] for this one call; to check many proofs under one root,
/// make the verifier once with [`RingContext::verifier`].
pub fn ring_verify(
    context: &RingContext,
    commitment: &RingCommitment,
    vrf_input: &[u8],
    aux_data: &[u8],
    proof: &RingProof,
) -> Result<VrfOutputHash, Error> {
    context
        .verifier(commitment)?
        .verify(vrf_input, aux_data, proof)
}

#[cfg(test)]
mod tests {
    use std::sync::OnceLock;

    use super::*;

    /// Built once: every ring test shares it, as callers are meant to.
    fn tiny_context() -> &'static RingContext {
        static CONTEXT: OnceLock<RingContext> = OnceLock::new();
        CONTEXT.get_or_init(|| RingContext::new(6).expect("ring size 6 is supported"))
    }

    fn secret(i: u8) -> Secret {
        Secret::from_seed(&[i; 32])
    }

    /// 32 octets that are not a point at all: `y` ≥ the field modulus.
    const NOT_A_POINT: PublicKey = ByteArray([0xff; 32]);

    /// Compressed encodings of curve points outside the prime-order subgroup: found by
    /// trying small `y` values, accepted without the subgroup check, rejected with it.
    fn off_subgroup_point() -> PublicKey {
        (0u8..=255)
            .map(|y| {
                let mut b = [0u8; 32];
                b[0] = y;
                ByteArray(b)
            })
            .find(|b| {
                suite::AffinePoint::deserialize_compressed_unchecked(&b[..])
                    .is_ok_and(|p| !p.is_in_correct_subgroup_assuming_on_curve())
            })
            .expect("some small y gives a point outside the subgroup")
    }

    /// The joint double-and-add verification gives ark-vrf's verdict on valid
    /// signatures, each byte of a corrupted one, another input and other aux data.
    #[test]
    fn ietf_verify_agrees_with_ark_vrf() {
        let ark = |key: &PublicKey, input: &[u8], aux: &[u8], sig: &Signature| {
            let Ok(public) = public_point(key) else {
                return None;
            };
            let (output, proof) = split_output(&sig[..])?;
            let proof: suite::IetfProof = decode_exact(proof)?;
            let input = input_point(input).ok()?;
            Some(ietf::Verifier::verify(&public, input, output, aux, &proof).is_ok())
        };
        for i in 1..=4u8 {
            let key = secret(i).public();
            let input = [b"jam_fallback_seal".as_slice(), &[i; 32]].concat();
            let sig = sign(&secret(i), &input, &[i; 7]).unwrap();
            assert_eq!(ark(&key, &input, &[i; 7], &sig), Some(true));
            assert!(verify(&key, &input, &[i; 7], &sig).is_ok());
            for (inp, aux) in [(&b"other"[..], &[i; 7][..]), (&input[..], &[][..])] {
                assert_eq!(ark(&key, inp, aux, &sig), Some(false));
                assert!(verify(&key, inp, aux, &sig).is_err());
            }
            for byte in 0..96 {
                let mut bad = sig;
                bad.0[byte] ^= 1 << (byte % 8);
                let ours = verify(&key, &input, &[i; 7], &bad).is_ok();
                assert_eq!(
                    ark(&key, &input, &[i; 7], &bad).unwrap_or(false),
                    ours,
                    "byte {byte}"
                );
            }
        }
    }

    #[test]
    fn ietf_round_trip() {
        let s = secret(1);
        let sig = sign(&s, b"context", b"message").unwrap();
        let y = verify(&s.public(), b"context", b"message", &sig).unwrap();
        assert_eq!(y, vrf_output(&sig).unwrap());
        // The output depends on key and context only, not on the message.
        assert_eq!(y, s.vrf_output(b"context").unwrap());
        let other = sign(&s, b"context", b"other message").unwrap();
        assert_eq!(vrf_output(&other).unwrap(), y);
        assert_ne!(s.vrf_output(b"context2").unwrap(), y);
    }

    #[test]
    fn ietf_tamper_fails() {
        let s = secret(2);
        let pk = s.public();
        let sig = sign(&s, b"context", b"message").unwrap();
        let fails = Err(Error::VerificationFailed);
        assert_eq!(verify(&pk, b"context", b"massage", &sig), fails);
        assert_eq!(verify(&pk, b"contexT", b"message", &sig), fails);
        assert_eq!(
            verify(&secret(3).public(), b"context", b"message", &sig),
            fails
        );
        for i in [0, 31, 32, 63, 64, 95] {
            let mut bad = sig;
            bad[i] ^= 1;
            assert!(
                verify(&pk, b"context", b"message", &bad).is_err(),
                "octet {i}"
            );
        }
    }

    #[test]
    fn bad_key_bytes_are_errors() {
        let s = secret(4);
        let sig = sign(&s, b"c", b"m").unwrap();
        for key in [NOT_A_POINT, off_subgroup_point()] {
            assert_eq!(
                verify(&key, b"c", b"m", &sig),
                Err(Error::InvalidPublicKey(key))
            );
        }
        assert_eq!(
            vrf_output(&ByteArray([0xff; 96])),
            Err(Error::MalformedSignature)
        );
        assert_eq!(
            ring_vrf_output(&ByteArray([0xff; 784])),
            Err(Error::MalformedRingProof)
        );
    }

    #[test]
    fn ring_round_trip_and_tamper() {
        let ctx = tiny_context();
        let secrets: Vec<Secret> = (10..16).map(secret).collect();
        let keys: Vec<PublicKey> = secrets.iter().map(Secret::public).collect();
        let root = ctx.commitment(&keys).unwrap();
        let verifier = ctx.verifier(&root).unwrap();

        let index = 2;
        let prover = ctx.prover(&keys, index, &secrets[index]).unwrap();
        let proof = prover.prove(b"ticket", b"").unwrap();
        let y = verifier.verify(b"ticket", b"", &proof).unwrap();
        assert_eq!(y, ring_vrf_output(&proof).unwrap());
        assert_eq!(y, secrets[index].vrf_output(b"ticket").unwrap());
        assert_eq!(ring_verify(ctx, &root, b"ticket", b"", &proof), Ok(y));

        let fails = Err(Error::VerificationFailed);
        assert_eq!(verifier.verify(b"ticket", b"aux", &proof), fails);
        assert_eq!(verifier.verify(b"tickets", b"", &proof), fails);
        let mut other_keys = keys.clone();
        other_keys[5] = secret(99).public();
        let other_root = ctx.commitment(&other_keys).unwrap();
        assert_ne!(other_root, root);
        assert_eq!(ring_verify(ctx, &other_root, b"ticket", b"", &proof), fails);
        // One octet in each part: output, Pedersen proof, ring proof.
        for i in [0, 40, 100, 191, 200, 500, 783] {
            let mut bad = proof;
            bad[i] ^= 1;
            assert!(verifier.verify(b"ticket", b"", &bad).is_err(), "octet {i}");
        }
    }

    #[test]
    fn invalid_ring_keys_become_padding() {
        let ctx = tiny_context();
        let mut keys: Vec<PublicKey> = (20..26).map(|i| secret(i).public()).collect();
        let mut padding = ByteArray([0u8; 32]);
        suite::RingProofParams::padding_point()
            .serialize_compressed(&mut padding[..])
            .unwrap();
        keys[1] = padding;
        let with_padding = ctx.commitment(&keys).unwrap();
        keys[1] = NOT_A_POINT;
        assert_eq!(ctx.commitment(&keys).unwrap(), with_padding);
        keys[1] = off_subgroup_point();
        assert_eq!(ctx.commitment(&keys).unwrap(), with_padding);
    }

    #[test]
    fn ring_misuse_is_an_error() {
        let ctx = tiny_context();
        let keys: Vec<PublicKey> = (30..36).map(|i| secret(i).public()).collect();
        assert!(matches!(
            RingContext::new(0),
            Err(Error::UnsupportedRingSize { .. })
        ));
        assert!(matches!(
            RingContext::new(RingContext::MAX_RING_SIZE + 1),
            Err(Error::UnsupportedRingSize { .. })
        ));
        let seven = [keys.as_slice(), &keys[..1]].concat();
        assert_eq!(
            ctx.commitment(&seven),
            Err(Error::TooManyKeys {
                keys: 7,
                ring_size: 6
            })
        );
        assert!(matches!(
            ctx.prover(&keys, 6, &secret(30)),
            Err(Error::ProverIndexOutOfRange { index: 6, keys: 6 })
        ));
        assert!(matches!(
            ctx.prover(&keys, 1, &secret(30)),
            Err(Error::ProverKeyMismatch { index: 1 })
        ));
        assert!(matches!(
            ctx.verifier(&ByteArray([0xff; 144])),
            Err(Error::MalformedRingCommitment)
        ));
    }

    #[test]
    fn verifier_is_shareable_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<RingContext>();
        assert_send_sync::<RingVerifier>();
    }

    /// A valid ring proof under [`tiny_context`], its root, and its signer's signature.
    fn fixture() -> &'static (RingCommitment, RingProof, PublicKey, Signature) {
        static FIXTURE: OnceLock<(RingCommitment, RingProof, PublicKey, Signature)> =
            OnceLock::new();
        FIXTURE.get_or_init(|| {
            let ctx = tiny_context();
            let secrets: Vec<Secret> = (40..46).map(secret).collect();
            let keys: Vec<PublicKey> = secrets.iter().map(Secret::public).collect();
            let proof = ctx
                .prover(&keys, 0, &secrets[0])
                .unwrap()
                .prove(b"in", b"")
                .unwrap();
            let sig = sign(&secrets[0], b"in", b"").unwrap();
            (ctx.commitment(&keys).unwrap(), proof, keys[0], sig)
        })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]

        /// Overwriting any window of a valid signature or proof with arbitrary octets
        /// gives an error, never a panic or an acceptance.
        #[test]
        fn corrupted_bytes_are_rejected(
            start in 0usize..784,
            junk in proptest::collection::vec(proptest::prelude::any::<u8>(), 1..64),
        ) {
            let (root, proof, key, sig) = fixture();
            let mut bad_proof = *proof;
            let mut bad_sig = *sig;
            for (i, b) in junk.iter().enumerate() {
                if let Some(o) = bad_proof.get_mut(start + i) {
                    *o ^= b | 1;
                }
                if let Some(o) = bad_sig.get_mut((start + i) % 96) {
                    *o ^= b | 1;
                }
            }
            let verifier = tiny_context().verifier(root).unwrap();
            proptest::prop_assert!(verifier.verify(b"in", b"", &bad_proof).is_err());
            proptest::prop_assert!(verify(key, b"in", b"", &bad_sig).is_err());
        }

        /// Arbitrary keys and roots are errors or valid, never panics.
        #[test]
        fn arbitrary_keys_and_roots_never_panic(
            key in proptest::array::uniform32(proptest::prelude::any::<u8>()),
            fill in proptest::prelude::any::<u8>(),
        ) {
            let (_, proof, _, sig) = fixture();
            let _ = verify(&ByteArray(key), b"in", b"", sig);
            let mut root = [fill; 144];
            root[..32].copy_from_slice(&key);
            if let Ok(v) = tiny_context().verifier(&ByteArray(root)) {
                proptest::prop_assert!(v.verify(b"in", b"", proof).is_err());
            }
            let _ = tiny_context().commitment(&[ByteArray(key); 6]);
        }
    }
}

//! Bandersnatch VRFs (GP Appendix G) verified many at a time across rayon's pool.
//!
//! - IETF VRF signatures `F̃_k⟨c⟩(m)` (G.1): block seals (GP 6.15, 6.16), the entropy
//!   source `H_V` (6.17) and audit-tranche evidence (eq:initialaudit,
//!   eq:latertranches), each under its own key: [`verify_ietf_many`].
//! - Ring VRF proofs `F̄_r⟨c⟩(m)` (G.4): ticket proofs (6.29), all under one ring root
//!   per epoch, `γ_z`: [`verify_ring_many`] against one [`RingVerifier`], which
//!   core's [`RingVerifiers`](tessera_core::crypto::ring_cache::RingVerifiers) builds
//!   once per root and hands out again for as long as the root stays in use — the
//!   same verifiers Safrole's ticket checks use.
//!
//! Each proof is independent (there is no batch equation across them in `ark-vrf`
//! 0.1.0), so parallelism is per item; results come back in input order with the
//! output hash `Y` (G.2, G.5) of each valid item.

use rayon::prelude::*;
use tessera_core::crypto::bandersnatch::{
    self, Error, PublicKey, RingProof, RingVerifier, Signature, VrfOutputHash,
};

/// One IETF VRF signature to check: key, VRF input (context), auxiliary data,
/// signature.
pub type IetfItem<'a> = (PublicKey, &'a [u8], &'a [u8], Signature);

/// One ring proof to check: VRF input (context), auxiliary data, proof.
pub type RingItem<'a> = (&'a [u8], &'a [u8], RingProof);

/// Check each `signature ∈ F̃_key⟨vrf_input⟩(aux_data)` (GP G.1) in parallel and
/// return each one's output `Y` (G.2) or why it failed, in input order. Bad keys and
/// malformed signatures fail their own item only.
pub fn verify_ietf_many(items: &[IetfItem<'_>]) -> Vec<Result<VrfOutputHash, Error>> {
    items
        .par_iter()
        .map(|(key, input, aux, sig)| bandersnatch::verify(key, input, aux, sig))
        .collect()
}

/// Check each `proof ∈ F̄_r⟨vrf_input⟩(aux_data)` (GP G.4) for `verifier`'s root `r`
/// in parallel and return each one's output `Y` (G.5) or why it failed, in input
/// order.
pub fn verify_ring_many(
    verifier: &RingVerifier,
    items: &[RingItem<'_>],
) -> Vec<Result<VrfOutputHash, Error>> {
    items
        .par_iter()
        .map(|(input, aux, proof)| verifier.verify(input, aux, proof))
        .collect()
}

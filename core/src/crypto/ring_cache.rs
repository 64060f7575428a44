//! The ring-VRF work (GP G.3–G.5) that is built once and reused by every user in
//! the process: one [`RingContext`] per ring size, the ring roots `O(keys)` of the
//! last few key sets, and per ring size a [`RingVerifiers`] holding the verifier
//! of each recent ring root. Safrole (ring root `γ_z`, GP 6.13; ticket checks, GP
//! 6.29) and the batch checks of `tessera-kernels` both draw on it, so a root's
//! verifier is built once however many proofs and callers use it.
//!
//! The costs that make this worth it are in [`super::bandersnatch`]'s docs: a
//! context reads the SRS and sets up the PIOP domain, a root is a KZG commitment
//! over the whole domain, a verifier about a millisecond, against about 10 ms per
//! proof.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::crypto::bandersnatch::{
    Error, PublicKey, RingCommitment, RingContext, RingProof, RingProver, RingVerifier, Secret,
    VrfOutputHash,
};
use crate::memo::Memo;

/// The context for rings of `ring_size` keys (the validator count `V`), built on
/// first use and shared afterwards.
pub fn context(ring_size: usize) -> Result<Arc<RingContext>, Error> {
    // Two specs (tiny and full) per process in practice; a few more fit.
    static CONTEXTS: Memo<usize, Arc<RingContext>> = Memo::new(4);
    CONTEXTS.get_or_try(
        |size| *size == ring_size,
        || Ok((ring_size, Arc::new(RingContext::new(ring_size)?))),
    )
}

/// `O(keys)` (GP G.3) through [`context`], remembered for the last four key
/// sets: computing a root is a KZG commitment over the whole SRS domain (tens of
/// milliseconds even for 6 keys), and consecutive epochs very often carry the
/// same keys (always, on a chain without validator changes).
pub fn root(ring_size: usize, keys: &[PublicKey]) -> Result<RingCommitment, Error> {
    static ROOTS: Memo<Vec<PublicKey>, RingCommitment> = Memo::new(4);
    ROOTS.get_or_try(
        |k| k.as_slice() == keys,
        || Ok((keys.to_vec(), context(ring_size)?.commitment(keys)?)),
    )
}

/// A ring prover for member `index` of `keys` whose secret is `secret`, through
/// [`context`]`(ring_size)`, with the ring's prover key made once per process for
/// the last few key sets (a testnet or an audit farm hosts several validators of
/// one ring; each used to spend most of a second of FFTs on the same key). The
/// lock is held while a key is made, so concurrent callers wait for it rather
/// than each making it.
pub fn prover(
    ring_size: usize,
    keys: &[PublicKey],
    index: usize,
    secret: &Secret,
) -> Result<RingProver, Error> {
    type Made = Vec<(Vec<PublicKey>, Arc<Vec<u8>>)>;
    static PROVER_KEYS: std::sync::Mutex<Made> = std::sync::Mutex::new(Vec::new());
    let ctx = context(ring_size)?;
    let bytes = {
        let mut made = PROVER_KEYS.lock().unwrap_or_else(|e| e.into_inner());
        match made.iter().find(|(k, _)| k.as_slice() == keys) {
            Some((_, b)) => b.clone(),
            None => {
                let b = Arc::new(ctx.prover_key_bytes(keys)?);
                made.push((keys.to_vec(), b.clone()));
                if made.len() > 2 {
                    made.remove(0);
                }
                b
            }
        }
    };
    ctx.prover_from_key_bytes(&bytes, keys, index, secret)
}

/// The process's [`RingVerifiers`] for rings of `ring_size` keys, over
/// [`context`]`(ring_size)`.
pub fn verifiers(ring_size: usize) -> Result<Arc<RingVerifiers>, Error> {
    static VERIFIERS: Memo<usize, Arc<RingVerifiers>> = Memo::new(4);
    VERIFIERS.get_or_try(
        |size| *size == ring_size,
        || Ok((ring_size, Arc::new(RingVerifiers::new(context(ring_size)?)))),
    )
}

/// The ring verifiers of one ring size, one per ring root (`γ_z`, GP 6.13), each
/// built on first use and handed out again for as long as it is among the last
/// few roots asked for: every ticket of an epoch is checked under one root.
///
/// Measured (`cargo bench -p tessera-benches --bench signatures`, tiny ring, loaded
/// 2-core machine): building a verifier takes 0.9 ms and checking one proof about
/// 18 ms of one core (4 proofs in 36 ms on 2 threads), so rebuilding per ticket would
/// add about 5 % to a tickets extrinsic; IETF signatures check at about 1.2 ms each
/// (16 in 19.6 ms on 2 threads). Reuse also keeps the verifier key out of the
/// per-ticket allocation path.
///
/// It also remembers the proofs it has found valid ([`RingVerifiers::verify`]): a
/// node meets each ticket several times (from its generator or proxy over CE
/// 131/132, then in every block on every fork that carries it, and, in a process
/// hosting several validators, once per validator), and each check is about 10 ms
/// of pairings. A proof is remembered with everything its validity depends on —
/// the root, the VRF input, the auxiliary data and all 784 octets — compared in
/// full, so a hit is exactly the result checking again would give.
#[derive(Debug)]
pub struct RingVerifiers {
    context: Arc<RingContext>,
    verifiers: Memo<RingCommitment, Arc<RingVerifier>>,
    builds: AtomicUsize,
    verified: Mutex<VerifiedProofs>,
    checks: AtomicUsize,
}

/// How many valid proofs [`RingVerifiers`] remembers: two epochs' worth of the
/// full spec's tickets (`V · N` = 1023 · 2 a contest), about 2 MB.
pub const REMEMBERED_PROOFS: usize = 4096;

/// The exact arguments of one successful [`RingVerifier::verify`].
type ProofKey = (RingCommitment, Vec<u8>, Vec<u8>, RingProof);

/// Valid proofs with their outputs, oldest evicted first.
#[derive(Debug, Default)]
struct VerifiedProofs {
    outputs: HashMap<ProofKey, VrfOutputHash>,
    order: VecDeque<ProofKey>,
}

impl RingVerifiers {
    /// Verifiers over `context` (one per ring size `V`), none built yet.
    pub fn new(context: Arc<RingContext>) -> Self {
        RingVerifiers {
            context,
            // The current epoch's root and a few before it, for blocks on forks.
            verifiers: Memo::new(4),
            builds: AtomicUsize::new(0),
            verified: Mutex::new(VerifiedProofs::default()),
            checks: AtomicUsize::new(0),
        }
    }

    /// Check `proof ∈ F̄_root⟨vrf_input⟩(aux_data)` (GP G.4) and return `Y(proof)`
    /// (G.5), as [`RingVerifier::verify`] under [`Self::for_root`]`(root)` does, but
    /// answering from memory for a proof already found valid with these same
    /// arguments. Failures are not remembered: they cost the sender a check each
    /// time, and a peer that keeps sending them is cut off by the caller.
    pub fn verify(
        &self,
        root: &RingCommitment,
        vrf_input: &[u8],
        aux_data: &[u8],
        proof: &RingProof,
    ) -> Result<VrfOutputHash, Error> {
        let key: ProofKey = (*root, vrf_input.to_vec(), aux_data.to_vec(), *proof);
        if let Some(output) = self.lock_verified().outputs.get(&key) {
            return Ok(*output);
        }
        let output = self.for_root(root)?.verify(vrf_input, aux_data, proof)?;
        self.checks.fetch_add(1, Ordering::Relaxed);
        let mut verified = self.lock_verified();
        if verified.outputs.insert(key.clone(), output).is_none() {
            verified.order.push_back(key);
            while verified.order.len() > REMEMBERED_PROOFS {
                if let Some(oldest) = verified.order.pop_front() {
                    verified.outputs.remove(&oldest);
                }
            }
        }
        Ok(output)
    }

    /// How many proofs [`Self::verify`] has checked with pairings (not from memory).
    pub fn checks(&self) -> usize {
        self.checks.load(Ordering::Relaxed)
    }

    fn lock_verified(&self) -> std::sync::MutexGuard<'_, VerifiedProofs> {
        // Entries are inserted whole, so a panic elsewhere leaves nothing half-made.
        self.verified.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The verifier for `root`: one already built if `root` is among the last
    /// few, otherwise a new one, which is kept.
    pub fn for_root(&self, root: &RingCommitment) -> Result<Arc<RingVerifier>, Error> {
        self.verifiers.get_or_try(
            |held| held == root,
            || {
                let verifier = Arc::new(self.context.verifier(root)?);
                self.builds.fetch_add(1, Ordering::Relaxed);
                Ok((*root, verifier))
            },
        )
    }

    /// How many verifiers have been built so far (one per root not held when asked).
    pub fn builds(&self) -> usize {
        self.builds.load(Ordering::Relaxed)
    }

    /// The ring context the verifiers are built from.
    pub fn context(&self) -> &RingContext {
        &self.context
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::bandersnatch::Secret;

    /// A root is computed once and its verifier built once, however many
    /// callers ask for them.
    #[test]
    fn one_root_one_verifier() {
        let keys: Vec<PublicKey> = (0u8..6)
            .map(|i| Secret::from_seed(&[i; 32]).public())
            .collect();
        let r = root(6, &keys).expect("root");
        assert_eq!(root(6, &keys).expect("root"), r);
        let all = verifiers(6).expect("verifiers");
        assert!(Arc::ptr_eq(&all, &verifiers(6).expect("verifiers")));
        let first = all.for_root(&r).expect("verifier");
        let builds = all.builds();
        assert!(Arc::ptr_eq(&first, &all.for_root(&r).expect("verifier")));
        assert_eq!(all.builds(), builds);
        assert_eq!(all.context().ring_size(), 6);
    }

    /// Provers made through the shared prover key prove like one made alone: every
    /// member's proof verifies under the ring root with the member's VRF output,
    /// and a secret not at its index is refused.
    #[test]
    fn shared_prover_key_proves_for_every_member() {
        let secrets: Vec<Secret> = (0u8..6).map(|i| Secret::from_seed(&[i + 40; 32])).collect();
        let keys: Vec<PublicKey> = secrets.iter().map(Secret::public).collect();
        let verifier = verifiers(6)
            .expect("verifiers")
            .for_root(&root(6, &keys).expect("root"))
            .expect("verifier");
        for (i, s) in secrets.iter().enumerate() {
            let proof = prover(6, &keys, i, s)
                .expect("prover")
                .prove(b"input", b"aux")
                .expect("proof");
            let output = verifier.verify(b"input", b"aux", &proof).expect("verifies");
            assert_eq!(output, s.vrf_output(b"input").expect("output"));
        }
        assert!(prover(6, &keys, 1, &secrets[0]).is_err());
        assert!(prover(6, &keys, 6, &secrets[0]).is_err());
    }

    /// A valid proof is checked with pairings once and then answered from memory
    /// with the same output; the same proof under another input or root, and a
    /// proof with one octet changed, are still checked, and fail.
    #[test]
    fn a_valid_proof_is_checked_once_and_nothing_else_is_taken_from_memory() {
        let secrets: Vec<Secret> = (0u8..6).map(|i| Secret::from_seed(&[i + 90; 32])).collect();
        let keys: Vec<PublicKey> = secrets.iter().map(Secret::public).collect();
        let r = root(6, &keys).expect("root");
        let other_root = root(6, &keys[..5]).expect("root");
        let proof = prover(6, &keys, 2, &secrets[2])
            .expect("prover")
            .prove(b"input", b"")
            .expect("proof");
        let fresh = RingVerifiers::new(context(6).expect("context"));
        let expected = secrets[2].vrf_output(b"input").expect("output");
        assert_eq!(fresh.verify(&r, b"input", b"", &proof), Ok(expected));
        assert_eq!(fresh.checks(), 1);
        assert_eq!(fresh.verify(&r, b"input", b"", &proof), Ok(expected));
        assert_eq!(fresh.checks(), 1, "the second time comes from memory");
        assert!(fresh.verify(&r, b"other input", b"", &proof).is_err());
        assert!(fresh.verify(&r, b"input", b"aux", &proof).is_err());
        assert!(fresh.verify(&other_root, b"input", b"", &proof).is_err());
        let mut tampered = proof;
        tampered.0[100] ^= 1;
        assert!(fresh.verify(&r, b"input", b"", &tampered).is_err());
        assert!(fresh.verify(&r, b"input", b"", &tampered).is_err());
        assert_eq!(fresh.checks(), 1, "failures are neither counted nor kept");
    }
}

//! Ed25519 signatures (GP §3.8.2, `𝕍_k⟨m⟩`) verified in batches, one API over the
//! backends, with a per-item result.
//!
//! A block carries up to `V` = 1023 assurance signatures (GP 11.13), up to `3C`
//! guarantee signatures (11.26) and the judgments of a dispute (10.3); off chain, every
//! validator checks the audit announcements (eq:announcement) and judgments
//! (eq:judgments) of all others every tranche. [`verify_ed25519_batch`] checks such a
//! batch and says which items are invalid and why, exactly as
//! [`tessera_core::crypto::ed25519::verify`] would for each one: ZIP-215 rules on
//! every backend (see that module for the rules and why batching cannot disagree with
//! them).
//!
//! Backends:
//! - [`Backend::Cpu`]: the reference, each item on its own with core's `verify`;
//! - [`Backend::Simd`]: the items split into chunks of at least [`SIMD_MIN_CHUNK`],
//!   spread over rayon's pool, each chunk one batch check by core's [`verify_batch`]
//!   (a random linear combination of the cofactored equations, evaluated as one
//!   multiscalar multiplication whose point arithmetic curve25519-dalek runs in AVX2
//!   lanes when the CPU has them, chosen at run time; validators' decompressed keys
//!   are remembered across batches, see `tessera_core::crypto::ed25519::batch`). A
//!   failing chunk is bisected, so `f` bad items among `n` cost about `2f·log₂(n/f)`
//!   sub-batches, not `n` single verifications;
//! - [`Backend::Gpu`]: one WGSL compute-shader invocation per item
//!   (`shaders/ed25519.wgsl` or `shaders/ed25519_registers.wgsl`, as
//!   [`crate::gpu::ed25519::set_kernel`] says, driven by [`crate::gpu::ed25519`]): decoding of `A` and
//!   `R` and the cofactored equation, in 16-bit-limb field arithmetic, for every item
//!   on its own (no random linear combination, so no bisection either). Without an
//!   adapter, or if a submission fails, [`try_verify_ed25519_batch`] returns the
//!   [`GpuError`] for the whole batch, while [`verify_ed25519_batch`] (which has no
//!   error to return) logs a warning and verifies the batch on `Simd` instead: every
//!   backend gives the same per-item results, so falling back changes the speed,
//!   never an outcome. This mirrors [`crate::blake2b_many`] / [`crate::try_blake2b_many`];
//! - [`Backend::Auto`]: `Cpu` below [`AUTO_CROSSOVER`] items; from there `Gpu` where
//!   a *hardware* GPU exists (lavapipe and other software adapters never qualify) and
//!   this machine's calibration (`tessera bench sigs --calibrate`, see
//!   [`crate::calibration`]) measured it faster than `simd` at that batch size;
//!   `Simd` otherwise.
//!
//! # Where `k = SHA-512(R ‖ A ‖ M)` is computed
//!
//! On the CPU, once per item, as the item is prepared (bisection re-batches the
//! prepared items without hashing again). Measured with `cargo bench -p tessera-benches --bench signatures`
//! (`prehash/sha512_r_a_m` vs `ed25519/simd/1023`, same run, loaded 2-core machine):
//! hashing `R ‖ A ‖ M` for a JAM-sized message (assurances, guarantees and judgments
//! sign 45–46 octets, so `R ‖ A ‖ M` fits one SHA-512 block; an announcement is
//! `X_I` + 1 + 34 per core + 32 octets) costs 0.41 µs per item, against 29 µs for the
//! item's share of the batch check (20–25 µs on a quieter run): under 2 % of the work.
//! That share is not worth a second implementation of SHA-512 on another
//! device, and keeping it here means the GPU backend receives fixed 32-octet
//! scalars instead of variable-length messages: 128 octets per item (`A`, `R`, `s`,
//! `k mod ℓ`), with `s ≥ ℓ` already rejected on the CPU.

use rayon::prelude::*;
use tessera_core::crypto::ed25519::{verify, verify_batch, Ed25519Error, PublicKey, Signature};

use crate::backend::Backend;
use crate::calibration::Operation;
use crate::dispatch::or_simd;
use crate::gpu::GpuError;

/// The smallest chunk [`Backend::Simd`] gives one rayon task.
///
/// A batch check gets cheaper per item as the batch grows (its multiscalar
/// multiplication amortises more, and a key that appears several times in one batch
/// enters it once), so chunks should be as large as the thread count allows.
/// Measured (`RAYON_NUM_THREADS=1 tessera bench sigs --backend cpu,simd --batches
/// 1,2,3,4,8,16,64,128,256,512,1023,2048,4096,8192`, release, 1023 distinct keys cycled
/// and remembered, idle 2-core machine, two runs): 67–70k verifications/s at 64 items,
/// 83k at 128, 88–90k at 256, 93–94k at 512, 94–101k at 1023, 125k at 2048 (keys now
/// repeat), 141k at 4096 and at 8192. Below 256 the per-item cost rises steeply, so a
/// second thread is only worth it for chunks of at least 256.
pub const SIMD_MIN_CHUNK: usize = 256;

/// The largest chunk [`Backend::Simd`] gives one rayon task: past it the per-item
/// cost has flattened (4096 → 8192 gains nothing in the measurements above), while a
/// failing chunk's bisection and the last straggling chunk stay short.
pub const SIMD_MAX_CHUNK: usize = 4096;

/// The batch size from which [`Backend::Auto`] uses [`Backend::Simd`]: the measured
/// crossover.
///
/// Measured in the same runs as [`SIMD_MIN_CHUNK`]: a batch of one runs at about the
/// same speed on both backends (cpu 30.3–30.4k/s, simd 30.2–34.2k/s: one
/// double-scalar multiplication either way), and from two items on `simd` wins: 1.3×
/// `cpu` at 2, 1.6× at 3, 1.7× at 4, 2.1× at 8, 2.3× at 16. Single items stay on `cpu`,
/// the reference, which skips the batch machinery.
pub const AUTO_CROSSOVER: usize = 2;

/// The backend [`verify_ed25519_batch`] runs for `n` items on `backend`: `Auto` is
/// `Cpu` below [`AUTO_CROSSOVER`] items and otherwise decided by the calibration
/// ([`Backend::resolve_for`]); small batches never touch the GPU.
pub fn ed25519_backend_for(backend: Backend, n: usize) -> Backend {
    match backend {
        Backend::Auto if n < AUTO_CROSSOVER => Backend::Cpu,
        Backend::Auto => backend.resolve_for(Operation::Ed25519, n as u64),
        concrete => concrete,
    }
}

/// Verify every `(key, message, signature)` and return each one's outcome, in input
/// order, identical on every backend to core's
/// [`verify`](tessera_core::crypto::ed25519::verify) for that item.
///
/// A key or `R` that is not a curve point, or an `s ≥ ℓ`, makes that item (and only
/// that item) invalid; nothing panics. An invalid item could pass a `Simd` batch check
/// only if a random 128-bit combination cancelled (probability about 2⁻¹²⁸); `Cpu`
/// and `Gpu` check every item on its own.
///
/// If the `Gpu` backend cannot run (no adapter, a failed submission), the batch is
/// verified on `Simd` instead, with a logged warning; use
/// [`try_verify_ed25519_batch`] to get the error.
pub fn verify_ed25519_batch(
    backend: Backend,
    items: &[(PublicKey, &[u8], Signature)],
) -> Vec<Result<(), Ed25519Error>> {
    or_simd(
        "ed25519 verification",
        try_verify_ed25519_batch(backend, items),
        || simd(items),
    )
}

/// [`verify_ed25519_batch`], with the `Gpu` backend's failure (no adapter, a failed
/// compilation, submission or read-back) returned for the whole batch instead of
/// falling back. Invalid items are never errors here: they are per-item results.
pub fn try_verify_ed25519_batch(
    backend: Backend,
    items: &[(PublicKey, &[u8], Signature)],
) -> Result<Vec<Result<(), Ed25519Error>>, GpuError> {
    Ok(match ed25519_backend_for(backend, items.len()) {
        Backend::Cpu => items.iter().map(|(pk, m, s)| verify(pk, m, s)).collect(),
        Backend::Gpu => crate::gpu::context()?.verify_ed25519_many(items)?,
        _ => simd(items),
    })
}

/// The `Simd` backend: chunks over rayon, each batch-checked and bisected by core.
fn simd(items: &[(PublicKey, &[u8], Signature)]) -> Vec<Result<(), Ed25519Error>> {
    let chunk = simd_chunk(items.len(), rayon::current_num_threads());
    if items.len() <= chunk {
        return verify_batch(items).into_results();
    }
    items
        .par_chunks(chunk)
        .flat_map_iter(|c| verify_batch(c).into_results())
        .collect()
}

/// The chunk size for `n` items on `threads` threads: an even share per thread,
/// clamped to [`SIMD_MIN_CHUNK`]..=[`SIMD_MAX_CHUNK`].
pub fn simd_chunk(n: usize, threads: usize) -> usize {
    n.div_ceil(threads.max(1))
        .clamp(SIMD_MIN_CHUNK, SIMD_MAX_CHUNK)
}

/// Why an item given as raw octets did not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The public key is not 32 octets.
    #[error("public key is {0} octets, not 32")]
    KeyLength(usize),
    /// The signature is not 64 octets.
    #[error("signature is {0} octets, not 64")]
    SignatureLength(usize),
    /// Well-formed octets that do not verify.
    #[error(transparent)]
    Invalid(#[from] Ed25519Error),
}

/// [`verify_ed25519_batch`] for items whose key and signature are still raw octets
/// (e.g. straight off the network): an item of the wrong length is reported as such
/// and left out of the batch; the others are verified together.
pub fn verify_ed25519_raw(
    backend: Backend,
    items: &[(&[u8], &[u8], &[u8])],
) -> Vec<Result<(), SignatureError>> {
    let mut results: Vec<Result<(), SignatureError>> = Vec::with_capacity(items.len());
    let mut typed = Vec::with_capacity(items.len());
    let mut positions = Vec::with_capacity(items.len());
    for (i, (pk, msg, sig)) in items.iter().enumerate() {
        let pk = <[u8; 32]>::try_from(*pk).map_err(|_| SignatureError::KeyLength(pk.len()));
        let sig =
            <[u8; 64]>::try_from(*sig).map_err(|_| SignatureError::SignatureLength(sig.len()));
        match (pk, sig) {
            (Ok(pk), Ok(sig)) => {
                typed.push((PublicKey::from(pk), *msg, Signature::from(sig)));
                positions.push(i);
                results.push(Ok(()));
            }
            (Err(e), _) | (_, Err(e)) => results.push(Err(e)),
        }
    }
    for (i, outcome) in positions
        .into_iter()
        .zip(verify_ed25519_batch(backend, &typed))
    {
        if let Some(slot) = results.get_mut(i) {
            *slot = outcome.map_err(SignatureError::Invalid);
        }
    }
    results
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_sizes() {
        assert_eq!(simd_chunk(1023, 1), 1023);
        assert_eq!(simd_chunk(1023, 2), 512);
        assert_eq!(simd_chunk(1023, 64), SIMD_MIN_CHUNK);
        assert_eq!(simd_chunk(100_000, 2), SIMD_MAX_CHUNK);
        assert_eq!(simd_chunk(0, 0), SIMD_MIN_CHUNK);
    }

    #[test]
    fn auto_resolves_by_size() {
        assert_eq!(ed25519_backend_for(Backend::Auto, 1), Backend::Cpu);
        assert_eq!(
            ed25519_backend_for(Backend::Auto, AUTO_CROSSOVER),
            Backend::Simd
        );
        assert_eq!(ed25519_backend_for(Backend::Cpu, 10_000), Backend::Cpu);
        // Without a calibration (none is installed in this test binary's process,
        // whatever adapter it has), never the GPU.
        assert_eq!(ed25519_backend_for(Backend::Auto, 1 << 20), Backend::Simd);
        assert_eq!(ed25519_backend_for(Backend::Gpu, 1), Backend::Gpu);
    }

    #[test]
    fn raw_lengths() {
        let signed: Vec<(PublicKey, Vec<u8>, Signature)> = (0..3u8)
            .map(|i| {
                let pair = tessera_core::crypto::ed25519::Keypair::from_seed([i + 1; 32]);
                let msg = vec![i; 45];
                let sig = pair.sign(&msg);
                (pair.public(), msg, sig)
            })
            .collect();
        let items: Vec<(PublicKey, &[u8], Signature)> = signed
            .iter()
            .map(|(k, m, s)| (*k, m.as_slice(), *s))
            .collect();
        let (k0, m0, s0) = items[0];
        let (k1, m1, s1) = items[1];
        let (k2, m2, s2) = items[2];
        let raw: Vec<(&[u8], &[u8], &[u8])> = vec![
            (&k0.0 .0[..31], m0, &s0.0 .0[..]),
            (&k1.0 .0[..], m1, &s1.0 .0[..]),
            (&k2.0 .0[..], m2, &s2.0 .0[..63]),
        ];
        for backend in [Backend::Cpu, Backend::Simd, Backend::Auto] {
            assert_eq!(
                verify_ed25519_raw(backend, &raw),
                vec![
                    Err(SignatureError::KeyLength(31)),
                    Ok(()),
                    Err(SignatureError::SignatureLength(63)),
                ]
            );
        }
    }
}

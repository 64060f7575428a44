//! Batch verification on curve25519-dalek with decompressed keys remembered.
//!
//! The check is the one `ed25519-zebra` makes (and ZIP-215 allows, since the
//! equation is cofactored): for random 128-bit `z_i`,
//! `[8]([Σ z_i s_i]B − Σ [z_i]R_i − Σ_A [Σ_{i: A_i = A} z_i k_i]A) = 0`, one
//! multiscalar multiplication over the basepoint, every `R_i` and every distinct key.
//! What differs is where the time goes: decompressing a point is a field square root
//! (about a third of a batch of distinct keys), and a validator's keys are the same
//! block after block, so decompressed keys are kept in a process-wide table
//! ([`KEY_TABLE_LIMIT`] entries, cleared when full). `R` is new with every signature
//! and is always decompressed.
//!
//! Decompression is curve25519-dalek's, which is ZIP-215's (a non-canonical `y` and a
//! "negative zero" `x` are accepted); single items are checked with the same
//! cofactored equation, so the verdicts equal [`super::verify`]'s (`ed25519-zebra`,
//! kept as the independent reference) on every input — the conformance and property
//! tests compare the two.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{OnceLock, PoisonError, RwLock};

use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha512};

use super::{Ed25519Error, PublicKey, Signature};

/// The most decompressed keys remembered: several epochs' worth of a full validator
/// set's keys (1023 each), a few MiB.
pub const KEY_TABLE_LIMIT: usize = 8192;

/// Decompressed keys by encoding (`None`: not a point).
type KeyTable = RwLock<HashMap<[u8; 32], Option<EdwardsPoint>>>;

fn key_table() -> &'static KeyTable {
    static TABLE: OnceLock<KeyTable> = OnceLock::new();
    TABLE.get_or_init(Default::default)
}

/// Whether keys are remembered (see [`set_key_table`]).
static REMEMBER: AtomicBool = AtomicBool::new(true);

/// Turn the table of decompressed keys on (the default) or off, for the whole process.
/// Off, every key is decompressed in every batch: how `tessera bench sigs` measures
/// batches of keys never seen before (its `TESSERA_NO_KEY_TABLE=1`; this library
/// reads no environment). Verdicts are the same either way; only speed differs.
pub fn set_key_table(enabled: bool) {
    REMEMBER.store(enabled, Ordering::Relaxed);
}

fn remember_keys() -> bool {
    REMEMBER.load(Ordering::Relaxed)
}

/// `A` for each key: from the table, the others decompressed once per distinct key
/// and remembered.
fn keys(items: &[(PublicKey, &[u8], Signature)]) -> Vec<Option<EdwardsPoint>> {
    let remember = remember_keys();
    let table = key_table();
    let mut out = vec![None; items.len()];
    let mut missing = Vec::new();
    {
        let known = table.read().unwrap_or_else(PoisonError::into_inner);
        for (i, (pk, _, _)) in items.iter().enumerate() {
            match known.get(&pk.0 .0).filter(|_| remember) {
                Some(point) => out[i] = *point,
                None => missing.push(i),
            }
        }
    }
    let mut fresh: HashMap<[u8; 32], Option<EdwardsPoint>> = HashMap::new();
    for i in missing {
        let bytes = items[i].0 .0 .0;
        out[i] = *fresh
            .entry(bytes)
            .or_insert_with(|| CompressedEdwardsY(bytes).decompress());
    }
    if remember && !fresh.is_empty() {
        let mut known = table.write().unwrap_or_else(PoisonError::into_inner);
        if known.len() + fresh.len() > KEY_TABLE_LIMIT {
            known.clear();
        }
        known.extend(fresh);
    }
    out
}

/// One item ready for the equation.
struct Prepared {
    index: usize,
    key: [u8; 32],
    a: EdwardsPoint,
    r: EdwardsPoint,
    s: Scalar,
    k: Scalar,
}

/// Verify every item and write its outcome into `results` (all `Ok` on entry):
/// malformed items are decided at once, in [`super::verify`]'s order (`s`, then `A`,
/// then `R`); the rest are batch-checked and bisected.
pub(super) fn verify_into(
    items: &[(PublicKey, &[u8], Signature)],
    results: &mut [Result<(), Ed25519Error>],
) {
    let keys = keys(items);
    let mut prepared = Vec::with_capacity(items.len());
    for (index, (item, a)) in items.iter().zip(keys).enumerate() {
        match prepare(index, item, a) {
            Ok(item) => prepared.push(item),
            Err(e) => {
                if let Some(slot) = results.get_mut(index) {
                    *slot = Err(e);
                }
            }
        }
    }
    bisect(&prepared, false, results);
}

/// Item `index` ready for the equation, or why it is malformed: `s`, then `A` (given
/// decompressed, `None` if not a point), then `R`.
fn prepare(
    index: usize,
    (pk, msg, sig): &(PublicKey, &[u8], Signature),
    a: Option<EdwardsPoint>,
) -> Result<Prepared, Ed25519Error> {
    let s = Option::<Scalar>::from(Scalar::from_canonical_bytes(sig.s()))
        .ok_or(Ed25519Error::NonCanonicalS)?;
    let a = a.ok_or(Ed25519Error::KeyNotAPoint)?;
    let r_bytes = sig.r();
    let r = CompressedEdwardsY(r_bytes)
        .decompress()
        .ok_or(Ed25519Error::RNotAPoint)?;
    // k = SHA-512(R ‖ A ‖ M) over the encodings as given.
    let hash = Sha512::new()
        .chain_update(r_bytes)
        .chain_update(pk.0 .0)
        .chain_update(msg)
        .finalize();
    let mut wide = [0u8; 64];
    wide.copy_from_slice(&hash);
    Ok(Prepared {
        index,
        key: pk.0 .0,
        a,
        r,
        s,
        k: Scalar::from_bytes_mod_order_wide(&wide),
    })
}

/// Check `items` as one batch (unless `known_bad`) and isolate its bad items into
/// `results`. Returns whether every item verified.
fn bisect(items: &[Prepared], known_bad: bool, results: &mut [Result<(), Ed25519Error>]) -> bool {
    match items {
        [] => true,
        [item] => {
            let ok = single(item);
            if !ok {
                if let Some(slot) = results.get_mut(item.index) {
                    *slot = Err(Ed25519Error::BadSignature);
                }
            }
            ok
        }
        _ => {
            if !known_bad && batch(items) {
                return true;
            }
            let (left, right) = items.split_at(items.len() / 2);
            let left_ok = bisect(left, false, results);
            // The whole failed; if the left half is clean, the fault is on the right.
            let right_ok = bisect(right, left_ok, results);
            left_ok && right_ok
        }
    }
}

/// `[8]([s]B − [k]A − R) = 0`.
fn single(item: &Prepared) -> bool {
    let sb_minus_ka = EdwardsPoint::vartime_double_scalar_mul_basepoint(&-item.k, &item.a, &item.s);
    (sb_minus_ka - item.r).mul_by_cofactor().is_identity()
}

/// The random linear combination of the items' equations (module docs).
fn batch(items: &[Prepared]) -> bool {
    let mut random = vec![0u8; 16 * items.len()];
    OsRng.fill_bytes(&mut random);
    let z: Vec<Scalar> = random
        .chunks_exact(16)
        .map(|c| {
            let mut bytes = [0u8; 32];
            bytes[..16].copy_from_slice(c);
            Scalar::from_bytes_mod_order(bytes)
        })
        .collect();
    let mut b = Scalar::ZERO;
    let mut key_slot: HashMap<[u8; 32], usize> = HashMap::new();
    let mut key_points: Vec<EdwardsPoint> = Vec::new();
    let mut key_scalars: Vec<Scalar> = Vec::new();
    let mut scalars = Vec::with_capacity(2 * items.len() + 1);
    let mut points = Vec::with_capacity(2 * items.len() + 1);
    for (item, z) in items.iter().zip(&z) {
        b += z * item.s;
        scalars.push(-z);
        points.push(item.r);
        let slot = *key_slot.entry(item.key).or_insert_with(|| {
            key_points.push(item.a);
            key_scalars.push(Scalar::ZERO);
            key_points.len() - 1
        });
        key_scalars[slot] -= z * item.k;
    }
    scalars.push(b);
    points.push(ED25519_BASEPOINT_POINT);
    scalars.extend(key_scalars);
    points.extend(key_points);
    EdwardsPoint::vartime_multiscalar_mul(scalars, points)
        .mul_by_cofactor()
        .is_identity()
}

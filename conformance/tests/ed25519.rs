//! The ZIP-215 Ed25519 vectors (`ed25519/vectors.json`, from `davxy/jam-conformance`
//! `crypto/ed25519/`): 196 signatures with small-order, canonical and non-canonical
//! `A` and `R` and `s = 0`, every one of which is valid under ZIP-215.
//!
//! The one case checks, and fails naming every vector that does not hold:
//! - each vector verifies on its own, and its `pk_canonical` / `r_canonical` flags
//!   agree with the encodings (so the non-canonical ones really are non-canonical);
//! - all 196 verify as one batch;
//! - 64 random compositions (random subsets, orders and repetitions) verify as batches;
//! - 64 batches mixing vectors and signatures of generated keys, with random items
//!   corrupted in ways that must fail, report exactly the corrupted items invalid,
//!   each with the expected error.
//!
//! Corruptions are chosen so that ZIP-215 must reject them. Changing the message of a
//! vector would not do: with `s = 0` and small-order `A` and `R`, `[8]R + [8][k]A = 0`
//! for every `k`. Instead a vector's `s` is replaced by a random non-zero canonical
//! scalar (`[8][s]B ≠ 0` as `B` has prime order ℓ), or by `s + ℓ` (≡ 0, so it would
//! pass a check that reduced `s`; ZIP-215 rejects it as `s ≥ ℓ`), or its `A` or `R` by
//! `y = 2`, which is no point (`x² = 3/(4d+1)` is a non-square mod p). Generated
//! keys' signatures are spoiled by changing the message.

use std::cell::Cell;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde::Deserialize;
use tessera_conformance::{ensure_eq, fail, CaseCtx, CaseError, Outcome, Suite};
use tessera_core::crypto::ed25519::{
    verify, verify_batch, Ed25519Error, Keypair, PublicKey, Signature,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Vector {
    number: u32,
    desc: String,
    pk: String,
    r: String,
    s: String,
    msg: String,
    pk_canonical: bool,
    r_canonical: bool,
}

/// A vector decoded: key, message, signature.
#[derive(Debug, Clone)]
struct Item {
    number: u32,
    desc: String,
    pk: PublicKey,
    msg: Vec<u8>,
    sig: Signature,
    /// Made with one of our generated keys (large order), not taken from a vector.
    own: bool,
}

fn hex32(field: &str, number: u32, s: &str) -> Result<[u8; 32], CaseError> {
    let v = hex::decode(s).map_err(|e| CaseError(format!("vector {number}: {field}: {e}")))?;
    v.try_into()
        .map_err(|v: Vec<u8>| CaseError(format!("vector {number}: {field}: {} octets", v.len())))
}

/// The group order ℓ, little-endian.
const ELL: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
];

/// p = 2^255 − 19, little-endian.
const P: [u8; 32] = {
    let mut p = [0xff; 32];
    p[0] = 0xed;
    p[31] = 0x7f;
    p
};

/// `a < b` for little-endian 256-bit integers.
fn lt(a: &[u8; 32], b: &[u8; 32]) -> bool {
    for (x, y) in a.iter().rev().zip(b.iter().rev()) {
        if x != y {
            return x < y;
        }
    }
    false
}

/// `a + b` for 256-bit little-endian integers (the shared test helper).
use tessera_test_support::add256 as add;

/// Whether a point encoding is canonical (RFC 8032 §5.1.3): `y < p`, and the sign
/// bit is clear when `x = 0`, i.e. when `y = ±1`.
fn is_canonical_encoding(b: &[u8; 32]) -> bool {
    let sign = b[31] >> 7 == 1;
    let mut y = *b;
    y[31] &= 0x7f;
    let one = {
        let mut o = [0u8; 32];
        o[0] = 1;
        o
    };
    let minus_one = {
        let mut m = P;
        m[0] -= 1;
        m
    };
    lt(&y, &P) && !(sign && (y == one || y == minus_one))
}

/// `y = 2`: not the encoding of any point.
fn not_a_point() -> [u8; 32] {
    let mut b = [0u8; 32];
    b[0] = 2;
    b
}

fn batch_input(items: &[Item]) -> Vec<(PublicKey, &[u8], Signature)> {
    items
        .iter()
        .map(|i| (i.pk, i.msg.as_slice(), i.sig))
        .collect()
}

/// How an item of a mixed batch is spoiled, and the error that must result.
#[derive(Debug, Clone, Copy)]
enum Corruption {
    /// Replace `s` by this canonical scalar (non-zero, below ℓ).
    OtherS([u8; 32]),
    /// Replace `s` by `s + ℓ`.
    SPlusEll,
    /// Replace `A` by a non-point.
    KeyNotAPoint,
    /// Replace `R` by a non-point.
    RNotAPoint,
}

fn corruption() -> impl Strategy<Value = Corruption> {
    prop_oneof![
        // Top nibble cleared keeps it below 2^252 < ℓ; a set low bit keeps it non-zero.
        any::<[u8; 32]>().prop_map(|mut s| {
            s[31] &= 0x0f;
            s[0] |= 1;
            Corruption::OtherS(s)
        }),
        Just(Corruption::SPlusEll),
        Just(Corruption::KeyNotAPoint),
        Just(Corruption::RNotAPoint),
    ]
}

fn corrupt(item: &mut Item, c: Corruption) -> Ed25519Error {
    match c {
        Corruption::OtherS(s) => {
            item.sig = Signature::from_parts(item.sig.r(), s);
            Ed25519Error::BadSignature
        }
        Corruption::SPlusEll => {
            item.sig = Signature::from_parts(item.sig.r(), add(&item.sig.s(), &ELL));
            Ed25519Error::NonCanonicalS
        }
        Corruption::KeyNotAPoint => {
            item.pk = PublicKey::from(not_a_point());
            Ed25519Error::KeyNotAPoint
        }
        Corruption::RNotAPoint => {
            item.sig = Signature::from_parts(not_a_point(), item.sig.s());
            Ed25519Error::RNotAPoint
        }
    }
}

/// Signatures of our own keys, so mixed batches hold large-order keys too.
fn generated(n: usize) -> Vec<Item> {
    (0..n)
        .map(|i| {
            let kp = Keypair::from_seed([i as u8 + 1; 32]);
            let msg = format!("generated {i}").into_bytes();
            Item {
                number: 1000 + i as u32,
                desc: format!("generated key {i}"),
                pk: kp.public(),
                sig: kp.sign(&msg),
                msg,
                own: true,
            }
        })
        .collect()
}

fn runner() -> TestRunner {
    TestRunner::new(Config {
        cases: 64,
        failure_persistence: None,
        ..Config::default()
    })
}

struct Ed25519Suite;

impl Suite for Ed25519Suite {
    fn folder(&self) -> &str {
        "ed25519"
    }

    fn is_case(&self, file: &str) -> bool {
        file == "vectors.json"
    }

    fn run_case(&self, ctx: &CaseCtx<'_>, file: &str) -> Result<Outcome, CaseError> {
        let vectors: Vec<Vector> = ctx.read_json(file)?;
        ensure_eq!(vectors.len(), 196, "number of vectors");

        let mut items = Vec::with_capacity(vectors.len());
        let mut failures = Vec::new();
        let (mut non_canonical_a, mut non_canonical_r) = (0, 0);
        for v in &vectors {
            let pk = hex32("pk", v.number, &v.pk)?;
            let r = hex32("r", v.number, &v.r)?;
            let s = hex32("s", v.number, &v.s)?;
            let msg = hex::decode(&v.msg)
                .map_err(|e| CaseError(format!("vector {}: msg: {e}", v.number)))?;
            if is_canonical_encoding(&pk) != v.pk_canonical {
                failures.push(format!(
                    "#{} ({}): pk_canonical flag disagrees",
                    v.number, v.desc
                ));
            }
            if is_canonical_encoding(&r) != v.r_canonical {
                failures.push(format!(
                    "#{} ({}): r_canonical flag disagrees",
                    v.number, v.desc
                ));
            }
            non_canonical_a += usize::from(!v.pk_canonical);
            non_canonical_r += usize::from(!v.r_canonical);
            let item = Item {
                number: v.number,
                desc: v.desc.clone(),
                pk: PublicKey::from(pk),
                msg,
                sig: Signature::from_parts(r, s),
                own: false,
            };
            if let Err(e) = verify(&item.pk, &item.msg, &item.sig) {
                failures.push(format!("#{} ({}): {e}", v.number, v.desc));
            }
            items.push(item);
        }
        if !failures.is_empty() {
            fail!(
                "{} of {} vectors fail individually:\n  {}",
                failures.len(),
                items.len(),
                failures.join("\n  ")
            );
        }

        let all = verify_batch(&batch_input(&items));
        if !all.all_valid() {
            let bad: Vec<String> = all
                .invalid_indices()
                .iter()
                .filter_map(|&i| items.get(i))
                .map(|it| format!("#{} ({})", it.number, it.desc))
                .collect();
            fail!(
                "the batch of all {} vectors rejects: {}",
                items.len(),
                bad.join(", ")
            );
        }

        // Random compositions: subsets in random order, with repetitions.
        let n = items.len();
        let composition = proptest::collection::vec(0..n, 1..=2 * n);
        runner()
            .run(&composition, |picks| {
                let batch: Vec<Item> = picks.iter().map(|&i| items[i].clone()).collect();
                let result = verify_batch(&batch_input(&batch));
                prop_assert!(
                    result.all_valid(),
                    "batch of {} rejects positions {:?}",
                    batch.len(),
                    result.invalid_indices()
                );
                Ok(())
            })
            .map_err(|e| CaseError(format!("random batch compositions: {e}")))?;

        // Mixed batches with corrupted items: exactly those must be reported, each
        // with the error its corruption forces.
        let own = generated(16);
        let mixed = (
            proptest::collection::vec(0..n, 0..=64),
            proptest::collection::vec(0..own.len(), 0..=16),
            proptest::collection::vec((any::<prop::sample::Index>(), corruption()), 1..=8),
            proptest::collection::vec(any::<prop::sample::Index>(), 0..=3),
            any::<prop::sample::Index>(),
        );
        let (corrupted_total, batches) = (Cell::new(0usize), Cell::new(0usize));
        runner()
            .run(
                &mixed,
                |(picks, own_picks, corruptions, tampers, rotate)| {
                    let mut batch: Vec<Item> = picks.iter().map(|&i| items[i].clone()).collect();
                    batch.extend(own_picks.iter().map(|&i| own[i].clone()));
                    if batch.is_empty() {
                        batch.push(items[0].clone());
                    }
                    let by = rotate.index(batch.len());
                    batch.rotate_left(by);
                    let mut expected: Vec<Option<Ed25519Error>> = vec![None; batch.len()];
                    for (at, c) in corruptions {
                        let i = at.index(batch.len());
                        if expected[i].is_none() {
                            expected[i] = Some(corrupt(&mut batch[i], c));
                        }
                    }
                    // Spoil messages of generated-key items left intact (own keys have
                    // large order, so a different message must fail).
                    for at in tampers {
                        let i = at.index(batch.len());
                        if expected[i].is_none() && batch[i].own {
                            batch[i].msg.push(0x5a);
                            expected[i] = Some(Ed25519Error::BadSignature);
                        }
                    }
                    let result = verify_batch(&batch_input(&batch));
                    let got: Vec<Option<Ed25519Error>> =
                        result.results().iter().map(|r| r.err()).collect();
                    if got != expected {
                        let diff: Vec<String> = got
                            .iter()
                            .zip(&expected)
                            .enumerate()
                            .filter(|(_, (g, w))| g != w)
                            .map(|(i, (g, w))| {
                                format!("pos {i} #{}: got {g:?}, want {w:?}", batch[i].number)
                            })
                            .collect();
                        return Err(TestCaseError::fail(diff.join("; ")));
                    }
                    batches.set(batches.get() + 1);
                    corrupted_total.set(corrupted_total.get() + result.invalid_indices().len());
                    // Single verification must agree item by item, too.
                    for (it, want) in batch.iter().zip(&expected) {
                        prop_assert_eq!(verify(&it.pk, &it.msg, &it.sig).err(), *want);
                    }
                    Ok(())
                },
            )
            .map_err(|e| CaseError(format!("corrupted batches: {e}")))?;

        eprintln!(
            "[ed25519] {n} vectors verify individually ({non_canonical_a} with non-canonical A, \
             {non_canonical_r} with non-canonical R) and as one batch; 64 random batch \
             compositions verify; {} mixed batches report exactly their {} corrupted items",
            batches.get(),
            corrupted_total.get()
        );
        Ok(Outcome::Passed)
    }
}

#[test]
fn ed25519() {
    tessera_conformance::run(&Ed25519Suite)
}

/// Our own keys: sign, verify, and see every kind of tampering fail.
#[test]
fn own_keys_round_trip() {
    for seed in 0u8..8 {
        let kp = Keypair::from_seed([seed; 32]);
        let msg = [b"jam round trip ".as_slice(), &[seed]].concat();
        let sig = kp.sign(&msg);
        assert_eq!(verify(&kp.public(), &msg, &sig), Ok(()));
        assert_eq!(kp.public().verify(&msg, &sig), Ok(()));

        let mut other_msg = msg.clone();
        other_msg[0] ^= 1;
        assert_eq!(
            verify(&kp.public(), &other_msg, &sig),
            Err(Ed25519Error::BadSignature)
        );

        let other_key = Keypair::from_seed([seed.wrapping_add(100); 32]).public();
        assert_eq!(
            verify(&other_key, &msg, &sig),
            Err(Ed25519Error::BadSignature)
        );

        for bit in [0usize, 100, 255, 256, 300, 500] {
            let mut bytes: [u8; 64] = sig.0.to_array();
            bytes[bit / 8] ^= 1 << (bit % 8);
            let result = verify(&kp.public(), &msg, &Signature::from(bytes));
            assert!(
                result.is_err(),
                "seed {seed}: flipping bit {bit} still verifies"
            );
        }

        let malleated = Signature::from_parts(sig.r(), add(&sig.s(), &ELL));
        assert_eq!(
            verify(&kp.public(), &msg, &malleated),
            Err(Ed25519Error::NonCanonicalS)
        );
    }
}

/// A copy of the vectors with one signature's `s` changed fails: the suite really
/// verifies. (Every vector has s = 0 over small-order points; s = 1 cannot verify.)
#[test]
fn corrupted_vector_copy_fails_the_suite() {
    let report = tessera_conformance::run_report_on_copy(&Ed25519Suite, |dir| {
        let path = dir.join("vectors.json");
        let mut v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        v[17]["s"] = serde_json::Value::from(format!("01{}", "00".repeat(31)));
        std::fs::write(&path, serde_json::to_vec(&v).unwrap()).unwrap();
    });
    let Some(report) = report else { return };
    assert_eq!(report.failed.len(), 1, "{report:?}");
    assert!(
        report.failed[0].1.contains("18"),
        "names the vector: {report:?}"
    );
}

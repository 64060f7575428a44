//! Batched signature verification: every backend gives the same per-item result as
//! core's one-at-a-time `verify` (ZIP-215), on the 196 official vectors alone and in
//! random compositions, on random valid, corrupted, non-canonical, small-order and
//! garbage inputs, and across chunk boundaries; and the JAM message builders of
//! `tessera_core::crypto::contexts` reproduce the messages the STF vectors' signatures
//! are over (assurances, guarantees, judgments, culprits, faults, ticket proofs).
//!
//! Vectors are read from `tessera_conformance::vectors_root()`; without them the
//! vector tests say so loudly and pass, unless `JAM_VECTORS_REQUIRED=1`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use proptest::prelude::*;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use tessera_core::bytes::ByteArray;
use tessera_core::crypto::bandersnatch::{RingCommitment, RingContext};
use tessera_core::crypto::contexts;
use tessera_core::crypto::ed25519::{verify, Ed25519Error, Keypair, PublicKey, Signature};
use tessera_core::crypto::ring_cache::RingVerifiers;
use tessera_core::hash::Hash;
use tessera_core::spec::ChainSpec;
use tessera_core::types::{
    Assurance, DisputesExtrinsic, Guarantee, TicketEnvelope, TimeSlot, ValidatorData,
};
use tessera_kernels::signatures::{verify_ed25519_batch, SIMD_MIN_CHUNK};
use tessera_kernels::vrf::verify_ring_many;
use tessera_kernels::Backend;

const BACKENDS: [Backend; 3] = [Backend::Cpu, Backend::Simd, Backend::Auto];

mod support;

use support::{borrow, zip215_items, Item};
type Outcomes = Vec<Result<(), Ed25519Error>>;

/// Every backend's result for `items`, checked equal to single verification; returns
/// that common result.
fn all_backends(items: &[Item]) -> Outcomes {
    let borrowed = borrow(items);
    let want: Outcomes = items.iter().map(|(k, m, s)| verify(k, m, s)).collect();
    for backend in BACKENDS {
        let got = verify_ed25519_batch(backend, &borrowed);
        assert_eq!(
            got, want,
            "backend {backend} disagrees with single verification"
        );
    }
    want
}

/// A vectors folder, or `None` (loudly) when absent and not required.
fn vectors(sub: &str) -> Option<PathBuf> {
    tessera_conformance::vectors_folder(sub)
}

fn read_json<T: DeserializeOwned>(path: &Path) -> T {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The `.json` cases of an STF folder, sorted.
fn cases(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
}

// ---------------------------------------------------------------------------------
// ZIP-215 vectors.

#[test]
fn zip215_vectors_alone_and_together_on_every_backend() {
    let Some(items) = zip215_items() else { return };
    for item in &items {
        let one = all_backends(std::slice::from_ref(item));
        assert_eq!(one, vec![Ok(())]);
    }
    let all = all_backends(&items);
    assert!(all.iter().all(Result::is_ok));
    // Several copies: 784 items, more than one simd chunk.
    let many: Vec<Item> = items
        .iter()
        .cycle()
        .take(4 * items.len())
        .cloned()
        .collect();
    assert!(many.len() > 2 * SIMD_MIN_CHUNK);
    assert!(all_backends(&many).iter().all(Result::is_ok));
    eprintln!(
        "[signatures] 196 ZIP-215 vectors verify alone, as one batch and as 784 on cpu, simd, auto"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, failure_persistence: None, ..ProptestConfig::default() })]

    /// Random subsets, orders and repetitions of the vectors verify on every backend.
    #[test]
    fn zip215_random_compositions(picks in proptest::collection::vec(0usize..196, 1..600)) {
        let Some(items) = zip215_items() else { return Ok(()) };
        let batch: Vec<Item> = picks.iter().map(|&i| items[i].clone()).collect();
        let got = all_backends(&batch);
        prop_assert!(got.iter().all(Result::is_ok));
    }
}

// ---------------------------------------------------------------------------------
// Random inputs.

/// The group order ℓ, little-endian.
const ELL: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
];

/// `a + b` for 256-bit little-endian integers (the shared test helper).
use tessera_test_support::add256 as add;

/// Small-order points (the 8-torsion), in canonical and non-canonical encodings:
/// the identity (y = 1), y = −1, and (0, ±√−1) as y = 0; plus the non-canonical
/// identity with the sign bit set and y = p + 1.
fn small_order_encodings() -> Vec<[u8; 32]> {
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let mut minus_one = [0xffu8; 32];
    minus_one[0] = 0xec;
    minus_one[31] = 0x7f;
    let zero = [0u8; 32];
    let mut neg_identity = identity;
    neg_identity[31] |= 0x80;
    let mut p_plus_one = [0xffu8; 32];
    p_plus_one[0] = 0xee;
    p_plus_one[31] = 0x7f;
    vec![identity, minus_one, zero, neg_identity, p_plus_one]
}

/// What a generated item becomes.
#[derive(Debug, Clone)]
enum Shape {
    Valid,
    FlipSBit(usize),
    FlipRBit(usize),
    OtherMessage,
    SPlusEll,
    SmallOrderKey(usize),
    SmallOrderR(usize),
    /// `A` and `R` small order and `s = 0`: valid under ZIP-215's cofactored check.
    SmallOrderBoth(usize, usize),
    Garbage([u8; 32], [u8; 32], [u8; 32]),
}

fn shape() -> impl Strategy<Value = Shape> {
    prop_oneof![
        4 => Just(Shape::Valid),
        1 => (0usize..256).prop_map(Shape::FlipSBit),
        1 => (0usize..256).prop_map(Shape::FlipRBit),
        1 => Just(Shape::OtherMessage),
        1 => Just(Shape::SPlusEll),
        1 => (0usize..5).prop_map(Shape::SmallOrderKey),
        1 => (0usize..5).prop_map(Shape::SmallOrderR),
        1 => (0usize..5, 0usize..5).prop_map(|(a, r)| Shape::SmallOrderBoth(a, r)),
        1 => any::<([u8; 32], [u8; 32], [u8; 32])>().prop_map(|(a, r, s)| Shape::Garbage(a, r, s)),
    ]
}

fn make(i: usize, shape: &Shape) -> Item {
    let kp = Keypair::from_seed([(i % 251) as u8 + 1; 32]);
    let msg = contexts::judgment_message(i.is_multiple_of(2), &ByteArray([(i % 256) as u8; 32]));
    let sig = kp.sign(&msg);
    let torsion = small_order_encodings();
    let pk = kp.public();
    match shape {
        Shape::Valid => (pk, msg, sig),
        Shape::FlipSBit(b) => {
            let mut s = sig.s();
            s[b / 8] ^= 1 << (b % 8);
            (pk, msg, Signature::from_parts(sig.r(), s))
        }
        Shape::FlipRBit(b) => {
            let mut r = sig.r();
            r[b / 8] ^= 1 << (b % 8);
            (pk, msg, Signature::from_parts(r, sig.s()))
        }
        Shape::OtherMessage => (pk, [msg.as_slice(), b"!"].concat(), sig),
        Shape::SPlusEll => (pk, msg, Signature::from_parts(sig.r(), add(&sig.s(), &ELL))),
        Shape::SmallOrderKey(t) => (PublicKey::from(torsion[*t]), msg, sig),
        Shape::SmallOrderR(t) => (pk, msg, Signature::from_parts(torsion[*t], sig.s())),
        Shape::SmallOrderBoth(a, r) => (
            PublicKey::from(torsion[*a]),
            msg,
            Signature::from_parts(torsion[*r], [0u8; 32]),
        ),
        Shape::Garbage(a, r, s) => (PublicKey::from(*a), msg, Signature::from_parts(*r, *s)),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    /// Mixed batches: every backend reports exactly what single verification reports,
    /// item by item.
    #[test]
    fn random_inputs_identical_on_every_backend(
        shapes in proptest::collection::vec(shape(), 0..80),
    ) {
        let items: Vec<Item> = shapes.iter().enumerate().map(|(i, s)| make(i, s)).collect();
        let got = all_backends(&items);
        for (shape, outcome) in shapes.iter().zip(&got) {
            match shape {
                Shape::Valid | Shape::SmallOrderBoth(..) => prop_assert_eq!(outcome, &Ok(())),
                Shape::SPlusEll => prop_assert_eq!(outcome, &Err(Ed25519Error::NonCanonicalS)),
                Shape::OtherMessage => prop_assert_eq!(outcome, &Err(Ed25519Error::BadSignature)),
                _ => {}
            }
        }
    }
}

/// Batches spanning several simd chunks, with a few bad items in different chunks and
/// at chunk edges.
#[test]
fn bad_items_across_chunks() {
    let n = 3 * SIMD_MIN_CHUNK + 17;
    let mut items: Vec<Item> = (0..n).map(|i| make(i, &Shape::Valid)).collect();
    let bad = [
        0,
        SIMD_MIN_CHUNK - 1,
        SIMD_MIN_CHUNK,
        2 * SIMD_MIN_CHUNK + 5,
        n - 1,
    ];
    for (k, &i) in bad.iter().enumerate() {
        items[i] = make(
            i,
            &[Shape::OtherMessage, Shape::SPlusEll, Shape::FlipSBit(3)][k % 3],
        );
    }
    let got = all_backends(&items);
    let invalid: Vec<usize> = got
        .iter()
        .enumerate()
        .filter(|(_, r)| r.is_err())
        .map(|(i, _)| i)
        .collect();
    assert_eq!(invalid, bad);
}

// ---------------------------------------------------------------------------------
// JAM messages against the STF vectors.

/// What a case's outcome says about its signatures.
#[derive(Debug, PartialEq)]
enum Expect {
    AllValid,
    SomeInvalid,
    /// The case fails for another reason, possibly before its signatures are checked.
    Unknown,
}

fn expect(output: &serde_json::Value, bad_signature_error: &str) -> Expect {
    match output.get("err").and_then(|e| e.as_str()) {
        None => Expect::AllValid,
        Some(e) if e == bad_signature_error => Expect::SomeInvalid,
        Some(_) => Expect::Unknown,
    }
}

/// Check one case's signatures on every backend against its expectation; returns how
/// many signatures it checked.
fn check(case: &Path, items: &[Item], want: Expect) -> usize {
    let got = all_backends(items);
    let valid = got.iter().filter(|r| r.is_ok()).count();
    match want {
        Expect::AllValid => assert_eq!(
            valid,
            items.len(),
            "{}: every signature should verify: {got:?}",
            case.display()
        ),
        Expect::SomeInvalid => assert!(
            valid < items.len(),
            "{}: some signature should fail",
            case.display()
        ),
        Expect::Unknown => {}
    }
    items.len()
}

fn ed25519_key(set: &[ValidatorData], index: u16) -> PublicKey {
    set.get(usize::from(index))
        .map_or(PublicKey::from([0u8; 32]), |v| v.ed25519)
}

#[derive(Deserialize)]
struct Case<I, S> {
    input: I,
    pre_state: S,
    output: serde_json::Value,
}

#[derive(Deserialize)]
struct AssurancesInput {
    assurances: Vec<Assurance>,
}

#[derive(Deserialize)]
struct AssurancesPre {
    curr_validators: Vec<ValidatorData>,
}

/// GP 11.13: `X_A ⌢ H(E(anchor, bitfield))` under `κ'[validator]`.
#[test]
fn assurance_messages_match_vectors() {
    let Some(dir) = vectors("stf/assurances/tiny") else {
        return;
    };
    let (mut signatures, mut all_valid_cases) = (0, 0);
    for case in cases(&dir) {
        let c: Case<AssurancesInput, AssurancesPre> = read_json(&case);
        let items: Vec<Item> = c
            .input
            .assurances
            .iter()
            .map(|a| {
                (
                    ed25519_key(&c.pre_state.curr_validators, a.validator_index),
                    contexts::assurance_message(&a.anchor, &a.bitfield),
                    a.signature,
                )
            })
            .collect();
        let want = expect(&c.output, "bad_signature");
        all_valid_cases += usize::from(want == Expect::AllValid && !items.is_empty());
        signatures += check(&case, &items, want);
    }
    assert!(
        all_valid_cases >= 2 && signatures > 20,
        "too little checked"
    );
    eprintln!(
        "[signatures] assurances/tiny: {signatures} signatures, {all_valid_cases} all-valid cases"
    );
}

#[derive(Deserialize)]
struct ReportsInput {
    guarantees: Vec<Guarantee>,
    slot: TimeSlot,
}

#[derive(Deserialize)]
struct ReportsPre {
    curr_validators: Vec<ValidatorData>,
    prev_validators: Vec<ValidatorData>,
}

/// GP 11.26: `X_G ⌢ H(E(r))`, under the guarantor's key of the rotation the
/// guarantee's slot falls in: `G` (from `κ'`) for the current rotation, `G*` for the
/// previous, whose keys are `κ'` unless that rotation began in the previous epoch,
/// then `λ'` (11.21–11.22).
#[test]
fn guarantee_messages_match_vectors() {
    let Some(dir) = vectors("stf/reports/tiny") else {
        return;
    };
    let rotation = ChainSpec::tiny().rotation_period;
    let epoch = ChainSpec::tiny().epoch_length;
    let (mut signatures, mut all_valid_cases) = (0, 0);
    for case in cases(&dir) {
        let c: Case<ReportsInput, ReportsPre> = read_json(&case);
        let mut items = Vec::new();
        for g in &c.input.guarantees {
            let message = contexts::guarantee_message_for(&g.report);
            // G* is drawn from κ when `τ' − R` is still in this epoch, else from λ.
            let prior = c.input.slot.saturating_sub(rotation);
            let set = if g.slot / rotation == c.input.slot / rotation
                || prior / epoch == c.input.slot / epoch
            {
                &c.pre_state.curr_validators
            } else {
                &c.pre_state.prev_validators
            };
            for s in &g.signatures {
                items.push((
                    ed25519_key(set, s.validator_index),
                    message.clone(),
                    s.signature,
                ));
            }
        }
        let want = expect(&c.output, "bad_signature");
        all_valid_cases += usize::from(want == Expect::AllValid && !items.is_empty());
        signatures += check(&case, &items, want);
    }
    assert!(
        all_valid_cases >= 5 && signatures > 30,
        "too little checked"
    );
    eprintln!("[signatures] reports/tiny: {signatures} guarantee signatures, {all_valid_cases} all-valid cases");
}

#[derive(Deserialize)]
struct DisputesInput {
    disputes: DisputesExtrinsic,
}

#[derive(Deserialize)]
struct DisputesPre {
    tau: TimeSlot,
    kappa: Vec<ValidatorData>,
    lambda: Vec<ValidatorData>,
}

/// GP 10.3–10.6: judgments `X_⊤/X_⊥ ⌢ H(r)` under `κ` (verdict of this epoch) or `λ`
/// (the previous one), culprits `X_G ⌢ H(r)` and faults `X_⊤/X_⊥ ⌢ H(r)` under their
/// own keys.
#[test]
fn judgment_messages_match_vectors() {
    let Some(dir) = vectors("stf/disputes/tiny") else {
        return;
    };
    let epoch = ChainSpec::tiny().epoch_length;
    let (mut signatures, mut all_valid_cases) = (0, 0);
    for case in cases(&dir) {
        let c: Case<DisputesInput, DisputesPre> = read_json(&case);
        let d = &c.input.disputes;
        let mut items = Vec::new();
        for v in &d.verdicts {
            let set = if v.age == c.pre_state.tau / epoch {
                &c.pre_state.kappa
            } else {
                &c.pre_state.lambda
            };
            for j in &v.votes {
                items.push((
                    ed25519_key(set, j.index),
                    contexts::judgment_message(j.vote, &v.target),
                    j.signature,
                ));
            }
        }
        for culprit in &d.culprits {
            items.push((
                culprit.key,
                contexts::guarantee_message(&culprit.target),
                culprit.signature,
            ));
        }
        for fault in &d.faults {
            items.push((
                fault.key,
                contexts::judgment_message(fault.vote, &fault.target),
                fault.signature,
            ));
        }
        let want = expect(&c.output, "bad_signature");
        all_valid_cases += usize::from(want == Expect::AllValid && !items.is_empty());
        signatures += check(&case, &items, want);
    }
    assert!(
        all_valid_cases >= 4 && signatures > 50,
        "too little checked"
    );
    eprintln!(
        "[signatures] disputes/tiny: {signatures} signatures, {all_valid_cases} all-valid cases"
    );
}

#[derive(Deserialize)]
struct SafroleInput {
    slot: TimeSlot,
    extrinsic: Vec<TicketEnvelope>,
}

#[derive(Deserialize)]
struct SafrolePre {
    tau: TimeSlot,
    eta: Vec<Hash>,
    gamma_z: RingCommitment,
}

/// GP 6.29: ticket proofs `F̄_{γ_z}⟨X_T ⌢ η'_2 ⌢ attempt⟩([])`, verified in parallel
/// against one ring verifier reused across cases with the same root.
#[test]
fn ticket_proofs_match_vectors() {
    let Some(dir) = vectors("stf/safrole/tiny") else {
        return;
    };
    let spec = ChainSpec::tiny();
    let context = RingContext::new(usize::from(spec.validator_count)).expect("ring context");
    let verifiers = RingVerifiers::new(Arc::new(context));
    let (mut proofs, mut all_valid_cases, mut roots) = (0, 0, Vec::new());
    for case in cases(&dir) {
        let c: Case<SafroleInput, SafrolePre> = read_json(&case);
        if c.input.extrinsic.is_empty() {
            continue;
        }
        // With no epoch change, η'_2 = η_2 and γ'_z = γ_z (GP 6.23, 6.13).
        assert_eq!(
            c.pre_state.tau / spec.epoch_length,
            c.input.slot / spec.epoch_length,
            "{}: tickets across an epoch change are not covered here",
            case.display()
        );
        let eta2 = *c.pre_state.eta.get(2).expect("η_2");
        let inputs: Vec<Vec<u8>> = c
            .input
            .extrinsic
            .iter()
            .map(|t| contexts::ticket_vrf_input(&eta2, t.attempt))
            .collect();
        let items: Vec<(&[u8], &[u8], _)> = inputs
            .iter()
            .zip(&c.input.extrinsic)
            .map(|(input, t)| (input.as_slice(), [].as_slice(), t.signature))
            .collect();
        if !roots.contains(&c.pre_state.gamma_z) {
            roots.push(c.pre_state.gamma_z);
        }
        let verifier = verifiers.for_root(&c.pre_state.gamma_z).expect("verifier");
        let got = verify_ring_many(&verifier, &items);
        let valid = got.iter().filter(|r| r.is_ok()).count();
        match expect(&c.output, "bad_ticket_proof") {
            Expect::AllValid => {
                all_valid_cases += 1;
                assert_eq!(valid, items.len(), "{}: {got:?}", case.display());
            }
            Expect::SomeInvalid => assert!(valid < items.len(), "{}", case.display()),
            Expect::Unknown => {}
        }
        proofs += items.len();
    }
    assert!(all_valid_cases >= 3 && proofs > 10, "too little checked");
    assert_eq!(
        verifiers.builds(),
        roots.len(),
        "one verifier per ring root"
    );
    eprintln!(
        "[signatures] safrole/tiny: {proofs} ticket proofs, {all_valid_cases} all-valid cases, \
         {} ring verifiers built for {} distinct roots",
        verifiers.builds(),
        roots.len()
    );
}

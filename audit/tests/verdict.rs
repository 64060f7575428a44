//! From judgments to a dispute the chain accepts (GP §10, §17.3): on the tiny spec
//! (V = 6, supermajority 5, ⌊V/3⌋ = 2), five validators judge a report invalid on
//! their trackers; the verdict built from what the tracker counted, with two
//! guarantors' signatures as culprits, is accepted by `tessera-state`'s disputes
//! transition (the code the official disputes vectors check): the report lands in
//! `ψ_B` and the guarantors in the offenders mark. Fewer judgments make no verdict;
//! a good and a wonky verdict come out with the vote splits GP 10.12 allows. No
//! vectors exist for this path; the disputes transition is the judge.

mod common;

use common::{auditors, kappa};
use tessera_audit::verdict::{culprits, verdict, Kind};
use tessera_audit::BlockAudit;
use tessera_core::crypto::contexts::guarantee_message;
use tessera_core::hash::blake2b_256;
use tessera_core::types::DisputesExtrinsic;
use tessera_core::ChainSpec;
use tessera_state::sigma::judgments::DisputesRecords;
use tessera_state::sigma::pending::AvailabilityAssignments;
use tessera_state::sigma::validators::ValidatorSet;
use tessera_state::stf::disputes::{apply, DisputesInput, DisputesState};

const EPOCH: u32 = 7;

fn tracker(spec: &ChainSpec, w: tessera_core::Hash) -> BlockAudit {
    let us = auditors(spec.validators());
    BlockAudit::from_parts(
        spec,
        blake2b_256(b"disputed block"),
        common::entropy(9, 0),
        EPOCH,
        kappa(&us),
        vec![None, Some(w)],
    )
    .unwrap()
}

fn pre_state(spec: &ChainSpec) -> DisputesState {
    let set = ValidatorSet(kappa(&auditors(spec.validators())));
    DisputesState {
        psi: DisputesRecords::default(),
        rho: AvailabilityAssignments(vec![None; spec.cores()]),
        tau: EPOCH * spec.epoch_length,
        kappa: set.clone(),
        lambda: set,
    }
}

#[test]
fn five_negative_judgments_and_two_culprits_make_a_dispute_the_chain_accepts() {
    let spec = common::selective_tiny();
    let us = auditors(spec.validators());
    let w = blake2b_256(b"a report whose guarantor lied");
    let mut block = tracker(&spec, w);
    // Four negative judgments are not enough (supermajority 5).
    for a in &us[..4] {
        block.judge(a, w, false).unwrap();
    }
    assert!(verdict(&spec, &block, &w).is_none());
    block.judge(&us[5], w, false).unwrap();
    let m = verdict(&spec, &block, &w).expect("five negative judgments");
    assert_eq!(m.kind, Kind::Bad);
    assert!(m.faults.is_empty());
    let v = m.verdict;
    assert_eq!(v.votes.len(), spec.supermajority());
    assert_eq!(v.age, EPOCH);
    assert!(v.votes.windows(2).all(|p| p[0].index < p[1].index));

    // Two guarantors signed the report: the culprits.
    let signed: Vec<_> = [&us[2], &us[3]]
        .iter()
        .map(|g| {
            let kp = &g.secrets.ed25519;
            (kp.public(), kp.sign(&guarantee_message(&w)))
        })
        .collect();
    let c = culprits(&w, &signed);
    let input = DisputesInput {
        disputes: DisputesExtrinsic {
            verdicts: vec![v],
            culprits: c.clone(),
            faults: Vec::new(),
        },
    };
    let (post, out) = apply(&spec, &pre_state(&spec), &input).expect("the chain accepts it");
    assert_eq!(post.psi.bad, vec![w]);
    let keys: Vec<_> = c.iter().map(|c| c.key).collect();
    assert_eq!(out.offenders_mark, keys);
    assert!(keys.iter().all(|k| post.psi.offenders.contains(k)));
}

#[test]
fn good_and_wonky_verdicts_have_the_allowed_splits() {
    let spec = common::selective_tiny();
    let us = auditors(spec.validators());
    let w = blake2b_256(b"an honest report");
    let mut block = tracker(&spec, w);
    // Five valid, one invalid: a good verdict, and the one against it a fault (a
    // good verdict stands only with one, GP 10.13).
    for (a, valid) in us.iter().zip([true, true, false, true, true, true]) {
        block.judge(a, w, valid).unwrap();
    }
    let m = verdict(&spec, &block, &w).unwrap();
    assert_eq!(m.kind, Kind::Good);
    assert_eq!(m.faults.len(), 1);
    assert_eq!(m.faults[0].key, us[2].secrets.ed25519.public());
    let input = DisputesInput {
        disputes: DisputesExtrinsic {
            verdicts: vec![m.verdict],
            culprits: Vec::new(),
            faults: m.faults.clone(),
        },
    };
    let (post, out) = apply(&spec, &pre_state(&spec), &input).expect("a good verdict");
    assert_eq!(post.psi.good, vec![w]);
    assert_eq!(out.offenders_mark, vec![m.faults[0].key]);

    // Two positive, three negative: wonky (⌊V/3⌋ = 2 positive of 5).
    let w = blake2b_256(b"a disputed report");
    let mut block = tracker(&spec, w);
    for (a, valid) in us.iter().zip([true, false, true, false, false]) {
        block.judge(a, w, valid).unwrap();
    }
    let m = verdict(&spec, &block, &w).unwrap();
    assert_eq!(m.kind, Kind::Wonky);
    let v = m.verdict;
    assert_eq!(
        v.votes.iter().filter(|j| j.vote).count(),
        spec.validators() / 3
    );
    let input = DisputesInput {
        disputes: DisputesExtrinsic {
            verdicts: vec![v],
            culprits: Vec::new(),
            faults: Vec::new(),
        },
    };
    // A wonky verdict needs neither culprits nor faults.
    let (post, _) = apply(&spec, &pre_state(&spec), &input).expect("a wonky verdict");
    assert_eq!(post.psi.wonky, vec![w]);
}

//! The audited condition `U(w)` and the block's `U` (GP v0.7.2 §17.3), case by
//! case. No official vectors exist for auditing; the cases are read off the GP's
//! definition: `U(w) ⇔ (J_⊥(w) = ∅ ∧ ∃n : A_n(w) ⊂ J_⊤(w)) ∨ |J_⊤(w)| > ⅔V`, and a
//! block is audited when every report that became available in it is.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{auditors, block, q_from_mask};
use tessera_audit::audited;
use tessera_core::ChainSpec;

fn set(v: &[u16]) -> BTreeSet<u16> {
    v.iter().copied().collect()
}

fn tranches(t: &[(u8, &[u16])]) -> BTreeMap<u8, BTreeSet<u16>> {
    t.iter().map(|(n, a)| (*n, set(a))).collect()
}

#[test]
fn u_of_w_in_all_its_cases() {
    // V = 6: ⅔V = 4, so "more than two-thirds" is 5 or more positive judges.
    let v = 6;
    let a0 = tranches(&[(0, &[1, 2])]);
    // Nothing announced, nothing judged.
    assert!(!audited(v, &BTreeMap::new(), &set(&[]), &set(&[])));
    // A tranche with no announcement does not count (see `audited`'s doc).
    assert!(!audited(v, &tranches(&[(0, &[])]), &set(&[3]), &set(&[])));
    // Announced auditors not all judged.
    assert!(!audited(v, &a0, &set(&[]), &set(&[])));
    assert!(!audited(v, &a0, &set(&[1]), &set(&[])));
    assert!(!audited(v, &a0, &set(&[1, 3]), &set(&[])));
    // All announced auditors of tranche 0 judged positively.
    assert!(audited(v, &a0, &set(&[1, 2]), &set(&[])));
    // … also with extra positive judges beside them.
    assert!(audited(v, &a0, &set(&[1, 2, 4]), &set(&[])));
    // Tranche 0 has a no-show, but every auditor of tranche 1 judged.
    let a01 = tranches(&[(0, &[1, 2]), (1, &[3, 4])]);
    assert!(!audited(v, &a01, &set(&[1, 3]), &set(&[])));
    assert!(audited(v, &a01, &set(&[1, 3, 4]), &set(&[])));
    // A negative judgment blocks the first way…
    assert!(!audited(v, &a0, &set(&[1, 2]), &set(&[5])));
    assert!(!audited(v, &a0, &set(&[1, 2, 3, 4]), &set(&[5])));
    // … but not the second: more than ⅔V positive judges.
    assert!(audited(v, &a0, &set(&[0, 1, 2, 3, 4]), &set(&[5])));
    // The second way needs no announcement at all.
    assert!(audited(
        v,
        &BTreeMap::new(),
        &set(&[0, 1, 2, 3, 4]),
        &set(&[])
    ));
    assert!(!audited(
        v,
        &BTreeMap::new(),
        &set(&[0, 1, 2, 3]),
        &set(&[])
    ));
    // Full: ⅔·1023 = 682, so 683 positive judges are needed, 682 are not.
    let many: BTreeSet<u16> = (0..683).collect();
    let fewer: BTreeSet<u16> = (0..682).collect();
    assert!(audited(1023, &BTreeMap::new(), &many, &set(&[1000])));
    assert!(!audited(1023, &BTreeMap::new(), &fewer, &set(&[1000])));
}

#[test]
fn block_is_audited_when_all_its_reports_are() {
    let spec = ChainSpec::tiny();
    let us = auditors(spec.validators());
    // A block where nothing became available is audited.
    assert!(block(&spec, 1, &us, vec![None, None]).is_audited());

    let q = q_from_mask(&spec, 1, |_| true);
    let mut audit = block(&spec, 1, &us, q.clone());
    assert!(!audit.is_audited());
    let mut announcers: BTreeMap<_, Vec<u16>> = BTreeMap::new();
    for (i, a) in us.iter().enumerate() {
        if let Some(ann) = audit.announce(a, 0).unwrap() {
            for (_, w) in &ann.announcement.reports {
                announcers.entry(*w).or_default().push(i as u16);
            }
        }
    }
    let w0 = q[0].unwrap();
    let w1 = q[1].unwrap();
    // Both reports need an announced auditor for this test to mean anything.
    assert!(announcers.contains_key(&w0) && announcers.contains_key(&w1));
    // Report 0's auditors all judge positively: report 0 audited, the block not yet.
    for v in &announcers[&w0] {
        audit.judge(&us[usize::from(*v)], w0, true).unwrap();
    }
    assert!(audit.report(&w0).unwrap().is_audited(6));
    assert!(!audit.report(&w1).unwrap().is_audited(6));
    assert!(!audit.is_audited());
    // Report 1's auditors too: the block is audited.
    for v in &announcers[&w1] {
        audit.judge(&us[usize::from(*v)], w1, true).unwrap();
    }
    assert!(audit.is_audited());

    // The same with a negative judgment on report 1 from one of its announcers:
    // not audited the first way (`J_⊥` is not empty), though every other
    // announcer judges it valid; audited the second way once more than two thirds
    // of the validators (five of six) judge it valid, and not at four.
    let mut audit2 = block(&spec, 1, &us, q.clone());
    for a in &us {
        audit2.announce(a, 0).unwrap();
    }
    for v in &announcers[&w0] {
        audit2.judge(&us[usize::from(*v)], w0, true).unwrap();
    }
    let dissenter = announcers[&w1][0];
    audit2
        .judge(&us[usize::from(dissenter)], w1, false)
        .unwrap();
    let others: Vec<u16> = (0..6u16).filter(|v| *v != dissenter).collect();
    for v in &others[..4] {
        audit2.judge(&us[usize::from(*v)], w1, true).unwrap();
    }
    assert_eq!(audit2.report(&w1).unwrap().positive().len(), 4);
    assert!(!audit2.is_audited());
    audit2.judge(&us[usize::from(others[4])], w1, true).unwrap();
    assert_eq!(audit2.report(&w1).unwrap().positive().len(), 5);
    assert!(audit2.is_audited());
}

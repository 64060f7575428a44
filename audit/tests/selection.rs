//! Audit selection (GP v0.7.2 §17.3) against direct computations from the GP's
//! definitions. No official vectors exist for auditing: each expected value here is
//! computed from the equations as written (the VRF input assembled by hand, the
//! Fisher–Yates shuffle of GP F.1 as its recursion reads, `Q` of F.2 from Blake2b,
//! the later-tranche inequality in floating point), not by the crate's functions.

mod common;

use std::collections::BTreeSet;

use common::{auditors, block, entropy, q_from_mask, report_hash};
use tessera_audit::selection::{initial_selection, jam_seconds, later_draw, tranche_at, Tranche};
use tessera_audit::{Auditor, BlockAudit, SelectionError};
use tessera_core::crypto::bandersnatch;
use tessera_core::hash::blake2b_256;
use tessera_core::{ChainSpec, Hash};
use tessera_net::messages::AuditEvidence;

/// `Q_l(h)` (GP F.2): `Q(h)_i = E₄⁻¹(H(h ⌢ E₄(⌊i/8⌋))_{4i mod 32 … +4})`.
fn gp_q(h: &Hash, l: usize) -> Vec<u32> {
    (0..l)
        .map(|i| {
            let d = blake2b_256(&[&h.0[..], &((i / 8) as u32).to_le_bytes()].concat());
            let o = (4 * i) % 32;
            u32::from_le_bytes([d.0[o], d.0[o + 1], d.0[o + 2], d.0[o + 3]])
        })
        .collect()
}

/// `F(s, r)` (GP F.1) as the recursion reads.
fn gp_f<T: Clone>(s: &[T], r: &[u32]) -> Vec<T> {
    if s.is_empty() {
        return vec![];
    }
    let l = s.len();
    let i = r[0] as usize % l;
    let mut rest = s.to_vec();
    rest[i] = s[l - 1].clone();
    let mut out = vec![s[i].clone()];
    out.extend(gp_f(&rest[..l - 1], &r[1..]));
    out
}

/// `Y(s_0)` for `auditor` directly: the output of its Bandersnatch key on the VRF
/// input `"jam_audit" ⌢ Y(H_V)` (eq:initialaudit; the VRF output is a function of key
/// and input only, GP G.1).
fn gp_y_s0(auditor: &Auditor, y_hv: &Hash) -> Hash {
    let input = [b"jam_audit".as_slice(), &y_hv.0].concat();
    auditor
        .secrets
        .bandersnatch
        .vrf_output(&input)
        .expect("Y(s_0)")
}

/// `a_0` (eq:initialaudit) directly: `p = F([(c, q_c)], Y(s_0))`, the non-empty
/// among the first `k`.
fn gp_a0(k: usize, q: &[Option<Hash>], y: &Hash) -> BTreeSet<(u16, Hash)> {
    let s: Vec<(u16, Option<Hash>)> = q.iter().enumerate().map(|(c, w)| (c as u16, *w)).collect();
    let p = gp_f(&s, &gp_q(y, s.len()));
    p.into_iter()
        .take(k)
        .filter_map(|(c, w)| w.map(|w| (c, w)))
        .collect()
}

fn announced_reports(a: &tessera_net::messages::AuditAnnouncement) -> BTreeSet<(u16, Hash)> {
    a.announcement.reports.iter().copied().collect()
}

#[test]
fn tranche_clock_follows_the_gp_formula() {
    let spec = common::selective_tiny();
    // n = ⌊(T − 6·H_T) / 8⌋: slot 10 starts at T = 60.
    assert_eq!(tranche_at(&spec, 59, 10), None, "before the slot");
    assert_eq!(tranche_at(&spec, 60, 10), Some(0));
    assert_eq!(tranche_at(&spec, 67, 10), Some(0));
    assert_eq!(tranche_at(&spec, 68, 10), Some(1));
    assert_eq!(tranche_at(&spec, 60 + 8 * 5 + 7, 10), Some(5));
    assert_eq!(jam_seconds(1_735_732_800), Some(0));
    assert_eq!(jam_seconds(1_735_732_799), None);
    assert_eq!(jam_seconds(1_735_732_800 + 3600), Some(3600));
}

#[test]
fn tranche0_equals_the_gp_definition_on_tiny() {
    let spec = common::selective_tiny();
    let us = auditors(spec.validators());
    let k = usize::from(spec.audit_tranche0_cores);
    let mut cores_drawn = BTreeSet::new();
    for seed in 0..4u8 {
        // Both cores with a report, then only core 1.
        for mask in [|_: u16| true, |c: u16| c == 1] {
            let q = q_from_mask(&spec, seed, mask);
            let mut audit = block(&spec, seed, &us, q.clone());
            let y_hv = audit.entropy();
            assert_eq!(y_hv, entropy(seed, 0));
            for a in &us {
                let expected = gp_a0(k, &q, &gp_y_s0(a, &y_hv));
                // The pure function, from Y(s_0).
                let got: BTreeSet<_> = initial_selection(&spec, &q, &gp_y_s0(a, &y_hv))
                    .expect("q has C entries")
                    .into_iter()
                    .collect();
                assert_eq!(
                    got,
                    expected,
                    "seed {seed}, auditor {:?}",
                    a.secrets.ed25519.public()
                );
                // The announcement, from s_0 signed by the auditor.
                let ann = audit.announce(a, 0).expect("announce");
                match &ann {
                    None => assert!(expected.is_empty()),
                    Some(ann) => {
                        assert_eq!(announced_reports(ann), expected);
                        let AuditEvidence::First(s0) = &ann.evidence else {
                            panic!("tranche 0 evidence is s_0");
                        };
                        assert_eq!(bandersnatch::vrf_output(s0).unwrap(), gp_y_s0(a, &y_hv));
                    }
                }
                cores_drawn.extend(expected.iter().map(|(c, _)| *c));
                // Never twice.
                assert_eq!(audit.announce(a, 0).expect("again"), None);
            }
        }
    }
    // With one core of two per auditor, the draw decides something: both cores occur.
    assert_eq!(cores_drawn, BTreeSet::from([0, 1]));
}

#[test]
fn tranche0_equals_the_gp_definition_on_full() {
    // 341 cores, 10 drawn: the shuffle over a long list, with empty cores skipped.
    let spec = ChainSpec::full();
    let us = auditors(3);
    // A full κ is not needed for the draw; pad with the three dev keys' data.
    let mut kappa = common::kappa(&us);
    kappa.resize(spec.validators(), kappa[0]);
    let q = q_from_mask(&spec, 9, |c| c % 3 != 0);
    let header_hash = blake2b_256(b"full header");
    let mut audit =
        BlockAudit::from_parts(&spec, header_hash, entropy(9, 1), 3, kappa, q.clone()).expect("q");
    for a in &us {
        let expected = gp_a0(10, &q, &gp_y_s0(a, &audit.entropy()));
        assert!(!expected.is_empty() && expected.len() <= 10);
        let ann = audit
            .announce(a, 0)
            .expect("announce")
            .expect("something drawn");
        assert_eq!(announced_reports(&ann), expected);
    }
}

#[test]
fn q_is_checked() {
    let spec = common::selective_tiny();
    assert_eq!(
        initial_selection(&spec, &[None], &Hash::default()),
        Err(SelectionError::CoreCount {
            expected: 2,
            got: 1
        })
    );
    let reports = [common::work_report(1, 1), common::work_report(0, 2)];
    let q = tessera_audit::selection::candidates(&spec, &reports).expect("q");
    assert_eq!(q, vec![Some(reports[1].hash()), Some(reports[0].hash())]);
    assert_eq!(
        tessera_audit::selection::candidates(&spec, &[common::work_report(2, 1)]),
        Err(SelectionError::CoreOutOfRange { core: 2, cores: 2 })
    );
    assert_eq!(
        tessera_audit::selection::candidates(
            &spec,
            &[common::work_report(1, 1), common::work_report(1, 2)]
        ),
        Err(SelectionError::TwoReportsOnOneCore { core: 1 })
    );
}

#[test]
fn later_draw_is_the_gp_inequality() {
    for spec in [common::selective_tiny(), ChainSpec::full()] {
        let v = f64::from(spec.validator_count);
        let f = f64::from(spec.audit_bias_factor);
        for m in 0..5usize {
            let mut drawn = 0usize;
            for y0 in 0..=255u8 {
                let mut y = Hash::default();
                y.0[0] = y0;
                y.0[1] = 0xff; // only the first octet counts
                               // (V / (256·F))·y0 < m, in floating point (exact for these values:
                               // V/(256F) is a dyadic fraction).
                let gp = v / (256.0 * f) * f64::from(y0) < m as f64;
                assert_eq!(later_draw(&spec, &y, m), gp, "V {v}, y0 {y0}, m {m}");
                drawn += usize::from(gp);
            }
            // F is "the expected number of validators which will be required to issue
            // a judgment … given a single no-show": V·P(drawn) ≈ F·m (within one
            // step of the octet's granularity), and never more than all V.
            let expected = v * drawn as f64 / 256.0;
            let fm = (f * m as f64).min(v);
            assert!(
                expected >= fm && expected <= fm + v / 256.0 + 1e-9,
                "V {v}, m {m}: {expected} expected auditors, F·m = {fm}"
            );
        }
    }
}

/// `a_1` for `auditor` directly from eq:latertranches: each report of `q` it did not
/// announce, with `m_1` no-shows, is drawn iff `(V/(256F))·Y(s_1(w))_0 < m_1`, or
/// is obliged by a negative judgment.
#[allow(clippy::too_many_arguments)]
fn gp_a1(
    spec: &ChainSpec,
    auditor: &Auditor,
    y_hv: &Hash,
    q: &[Option<Hash>],
    tranche: Tranche,
    announced: impl Fn(&Hash) -> bool,
    m: impl Fn(&Hash) -> usize,
    negative: impl Fn(&Hash) -> bool,
) -> BTreeSet<(u16, Hash)> {
    let v = f64::from(spec.validator_count);
    let f = f64::from(spec.audit_bias_factor);
    q.iter()
        .enumerate()
        .filter_map(|(c, w)| w.map(|w| (c as u16, w)))
        .filter(|(_, w)| !announced(w))
        .filter(|(_, w)| {
            let input = [b"jam_audit".as_slice(), &y_hv.0, &w.0, &[tranche]].concat();
            let y = auditor.secrets.bandersnatch.vrf_output(&input).expect("Y");
            v / (256.0 * f) * f64::from(y.0[0]) < m(w) as f64 || negative(w)
        })
        .collect()
}

#[test]
fn later_tranches_draw_for_planted_no_shows() {
    let spec = common::selective_tiny();
    let us = auditors(spec.validators());
    let mut some_drawn = false;
    let mut some_not_drawn = false;
    for seed in 0..6u8 {
        let q = q_from_mask(&spec, seed, |_| true);
        let mut audit = block(&spec, seed, &us, q.clone());
        let y_hv = audit.entropy();
        // Tranche 0: everyone announces its a_0.
        let mut tranche0 = Vec::new();
        for (i, a) in us.iter().enumerate() {
            if let Some(ann) = audit.announce(a, 0).expect("announce") {
                tranche0.push((i as u16, ann));
            }
        }
        // Plant the no-shows: of each report's tranche-0 auditors, the first (by
        // index) judges positively; the others never show.
        let mut no_shows: std::collections::BTreeMap<Hash, usize> = Default::default();
        let mut judged = BTreeSet::new();
        for w in q.iter().flatten() {
            let announcers: Vec<u16> = tranche0
                .iter()
                .filter(|(_, ann)| ann.announcement.reports.iter().any(|(_, h)| h == w))
                .map(|(v, _)| *v)
                .collect();
            if let Some(first) = announcers.first() {
                audit
                    .judge(&us[usize::from(*first)], *w, true)
                    .expect("judge");
                judged.insert((*first, *w));
            }
            no_shows.insert(*w, announcers.len().saturating_sub(1));
            assert_eq!(
                audit.report(w).unwrap().no_shows(0).len(),
                announcers.len().saturating_sub(1)
            );
        }
        let announced0: BTreeSet<(u16, Hash)> = tranche0
            .iter()
            .flat_map(|(v, ann)| ann.announcement.reports.iter().map(move |(_, h)| (*v, *h)))
            .collect();
        for (i, a) in us.iter().enumerate() {
            let v = i as u16;
            let expected = gp_a1(
                &spec,
                a,
                &y_hv,
                &q,
                1,
                |w| announced0.contains(&(v, *w)),
                |w| no_shows[w],
                |_| false,
            );
            let got = audit
                .announce(a, 1)
                .expect("announce")
                .map(|ann| {
                    // The evidence lists exactly the planted no-shows of each report.
                    let AuditEvidence::Subsequent(ev) = &ann.evidence else {
                        panic!("later evidence");
                    };
                    for ((_, w), e) in ann.announcement.reports.iter().zip(ev) {
                        assert_eq!(e.no_shows.len(), no_shows[w]);
                        for ns in &e.no_shows {
                            assert!(!judged.contains(&(ns.validator_index, *w)));
                        }
                    }
                    announced_reports(&ann)
                })
                .unwrap_or_default();
            assert_eq!(got, expected, "seed {seed}, auditor {v}");
            for w in q.iter().flatten() {
                if !announced0.contains(&(v, *w)) && no_shows[w] > 0 {
                    if expected.iter().any(|(_, h)| h == w) {
                        some_drawn = true;
                    } else {
                        some_not_drawn = true;
                    }
                }
            }
        }
    }
    // The planted cases exercise both outcomes of the draw.
    assert!(some_drawn && some_not_drawn);
}

#[test]
fn no_no_shows_means_no_later_tranche_and_a_negative_judgment_obliges() {
    let spec = common::selective_tiny();
    let us = auditors(spec.validators());
    let q = q_from_mask(&spec, 3, |_| true);
    let mut audit = block(&spec, 3, &us, q.clone());
    let mut announced = BTreeSet::new();
    for (i, a) in us.iter().enumerate() {
        if let Some(ann) = audit.announce(a, 0).unwrap() {
            for (_, w) in &ann.announcement.reports {
                announced.insert((i as u16, *w));
            }
        }
    }
    // Everyone who announced judges positively: no no-shows, nothing in tranche 1.
    for (v, w) in &announced {
        audit.judge(&us[usize::from(*v)], *w, true).unwrap();
    }
    for (i, a) in us.iter().enumerate() {
        assert_eq!(audit.announce(a, 1).unwrap(), None, "auditor {i}");
    }
    // A negative judgment on core 0's report: every auditor who has not announced it
    // must announce it in the next tranche.
    let w0 = report_hash(3, 0);
    let (judge, _) = *announced
        .iter()
        .find(|(_, w)| *w == w0)
        .expect("w0 announced");
    let mut other = block(&spec, 3, &us, q);
    other.judge(&us[usize::from(judge)], w0, false).unwrap();
    for a in &us {
        let ann = other.announce(a, 2).unwrap().expect("obliged");
        assert_eq!(announced_reports(&ann), BTreeSet::from([(0, w0)]));
    }
}

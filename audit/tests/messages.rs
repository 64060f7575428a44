//! CE 144 announcements and CE 145 judgments (GP v0.7.2 §17.3, eq:announcement and
//! eq:judgments; JAMNP-S `simple.md`): made by one auditor, sent through the wire
//! encoding, and counted by another validator's tracker; and every kind of bad
//! input refused with its typed error and never counted. No official vectors exist
//! for auditing; the messages signed are checked against the GP's form assembled by
//! hand.

mod common;

use std::collections::BTreeSet;

use common::{auditors, block, q_from_mask, report_hash};
use tessera_audit::{announcement, judgment, BlockAudit, RejectError, Signed};
use tessera_core::crypto::ed25519::{self, Keypair};
use tessera_core::crypto::jip5::ValidatorSecrets;
use tessera_core::hash::blake2b_256;
use tessera_core::types::Ed25519Public;
use tessera_core::ChainSpec;
use tessera_net::messages::{AuditAnnouncement, AuditEvidence, NoShow};
use tessera_net::Wire;

/// Through the CE 144 / 145 wire encoding and back.
fn wire<T: Wire + PartialEq + std::fmt::Debug>(spec: &ChainSpec, x: &T) -> T {
    let back = T::from_messages(spec, &x.to_messages()).expect("decodes");
    assert_eq!(&back, x);
    back
}

/// The tiny block of seed 5 with both cores occupied, the auditors, and each
/// auditor's tranche-0 announcement made on a scratch tracker.
fn setup() -> (
    ChainSpec,
    Vec<tessera_audit::Auditor>,
    BlockAudit,
    Vec<AuditAnnouncement>,
) {
    let spec = common::selective_tiny();
    let us = auditors(spec.validators());
    let q = q_from_mask(&spec, 5, |_| true);
    let observer = block(&spec, 5, &us, q.clone());
    let mut scratch = block(&spec, 5, &us, q);
    let anns = us
        .iter()
        .map(|a| {
            scratch
                .announce(a, 0)
                .unwrap()
                .expect("one core of two is drawn")
        })
        .collect();
    (spec, us, observer, anns)
}

fn key(a: &tessera_audit::Auditor) -> Ed25519Public {
    a.secrets.ed25519.public()
}

#[test]
fn announcement_signs_the_gp_message() {
    let (_, us, observer, anns) = setup();
    let ann = &anns[0];
    // X_I ⌢ n ⌢ E({E_2(c) ⌢ H(w)}) ⌢ H(H), assembled by hand (one report).
    let (c, w) = ann.announcement.reports[0];
    let msg = [
        b"jam_announce".as_slice(),
        &[0u8],
        &c.to_le_bytes(),
        &w.0,
        &observer.header_hash().0,
    ]
    .concat();
    assert!(ed25519::verify(&key(&us[0]), &msg, &ann.announcement.signature).is_ok());
    assert_eq!(
        announcement::message(0, &ann.announcement, &observer.header_hash()),
        msg
    );
}

#[test]
fn tranche0_announcements_round_trip_and_count() {
    let (spec, us, mut observer, anns) = setup();
    let batch: Vec<_> = us
        .iter()
        .zip(&anns)
        .map(|(a, ann)| (key(a), wire(&spec, ann)))
        .collect();
    let results = observer.receive_announcements(&batch);
    for (i, ((_, ann), r)) in us.iter().zip(&anns).zip(&results).enumerate() {
        let accepted = r.as_ref().expect("accepted");
        assert_eq!(accepted.validator, i as u16);
        assert_eq!(accepted.reports, ann.announcement.reports);
        for (_, w) in &ann.announcement.reports {
            assert!(observer
                .report(w)
                .unwrap()
                .announced(0)
                .contains(&(i as u16)));
        }
    }
    // A_0 of each report is exactly its announcers.
    for w in observer.candidates().to_vec().into_iter().flatten() {
        let expected: BTreeSet<u16> = anns
            .iter()
            .enumerate()
            .filter(|(_, ann)| ann.announcement.reports.iter().any(|(_, h)| *h == w))
            .map(|(i, _)| i as u16)
            .collect();
        assert_eq!(observer.report(&w).unwrap().announced(0), expected);
    }
    // Sent again: duplicates, not counted twice.
    let again = observer.receive_announcements(&batch[..1]);
    assert!(matches!(
        again[0],
        Err(RejectError::Duplicate { validator: 0, .. })
    ));
}

#[test]
fn bad_announcements_are_refused_and_not_counted() {
    let (_, us, mut observer, anns) = setup();
    let good = &anns[1];
    let (core, w) = good.announcement.reports[0];
    let other_core = 1 - core;
    let stranger = ValidatorSecrets::from_seed(&[0xAB; 32]);

    let mut bad_sig = good.clone();
    bad_sig.announcement.signature.0 .0[3] ^= 1;

    let mut bad_vrf = good.clone();
    if let AuditEvidence::First(s) = &mut bad_vrf.evidence {
        s.0[40] ^= 1;
    }

    // Auditor 1 announces the core it was not drawn for, properly signed and with
    // its true s_0: a validator claiming an audit it is not selected for.
    let not_selected = announcement::initial(
        &us[1].secrets.ed25519,
        good.header_hash,
        vec![(other_core, report_hash(5, other_core))],
        match &good.evidence {
            AuditEvidence::First(s) => *s,
            AuditEvidence::Subsequent(_) => unreachable!(),
        },
    );

    // An unknown report, properly signed.
    let unknown = announcement::initial(
        &us[1].secrets.ed25519,
        good.header_hash,
        vec![(core, blake2b_256(b"not a report"))],
        match &good.evidence {
            AuditEvidence::First(s) => *s,
            AuditEvidence::Subsequent(_) => unreachable!(),
        },
    );

    let mut wrong_block = good.clone();
    wrong_block.header_hash = blake2b_256(b"another block");

    let mut wrong_shape = good.clone();
    wrong_shape.tranche = 1;

    let mut empty = good.clone();
    empty.announcement =
        announcement::sign_body(&us[1].secrets.ed25519, 0, vec![], &good.header_hash);

    let twice = announcement::initial(
        &us[1].secrets.ed25519,
        good.header_hash,
        vec![(core, w), (core, w)],
        match &good.evidence {
            AuditEvidence::First(s) => *s,
            AuditEvidence::Subsequent(_) => unreachable!(),
        },
    );

    let batch = vec![
        (key(&us[1]), bad_sig),
        (key(&us[1]), bad_vrf),
        (key(&us[1]), not_selected),
        (key(&us[1]), unknown),
        (key(&us[1]), wrong_block),
        (key(&us[1]), wrong_shape),
        (key(&us[1]), empty),
        (key(&us[1]), twice),
        // Auditor 1's true announcement, sent by auditor 2 as its own.
        (key(&us[2]), good.clone()),
        // From a key outside κ.
        (stranger.ed25519.public(), good.clone()),
    ];
    let results = observer.receive_announcements(&batch);
    assert!(matches!(
        results[0],
        Err(RejectError::BadSignature {
            which: Signed::Announcement,
            ..
        })
    ));
    assert!(matches!(results[1], Err(RejectError::BadVrf(_))));
    assert_eq!(
        results[2],
        Err(RejectError::NotSelected {
            core: other_core,
            hash: report_hash(5, other_core)
        })
    );
    assert!(matches!(results[3], Err(RejectError::UnknownReport { .. })));
    assert!(matches!(results[4], Err(RejectError::WrongBlock { .. })));
    assert_eq!(results[5], Err(RejectError::EvidenceShape { tranche: 1 }));
    assert_eq!(results[6], Err(RejectError::Empty));
    assert_eq!(results[7], Err(RejectError::RepeatedCore { core }));
    assert!(matches!(
        results[8],
        Err(RejectError::BadSignature {
            which: Signed::Announcement,
            ..
        })
    ));
    assert!(matches!(results[9], Err(RejectError::NotAnAuditor { .. })));
    // Nothing was counted.
    for w in observer.candidates().to_vec().into_iter().flatten() {
        assert!(observer
            .report(&w)
            .unwrap()
            .announced_by_tranche()
            .is_empty());
    }
    // The good one, after all that, is counted; in the same batch as its copy, the
    // copy is a duplicate.
    let results =
        observer.receive_announcements(&[(key(&us[1]), good.clone()), (key(&us[1]), good.clone())]);
    assert!(results[0].is_ok());
    assert!(matches!(
        results[1],
        Err(RejectError::Duplicate { validator: 1, .. })
    ));
    assert_eq!(
        observer.report(&w).unwrap().announced(0),
        BTreeSet::from([1])
    );
}

/// A later-tranche announcement whose no-show evidence is tampered with.
#[test]
fn later_announcements_check_their_no_shows() {
    let (spec, us, mut observer, anns) = setup();
    // Everyone's tranche-0 announcement is known; nobody judges: every announcer is
    // a no-show. Find an auditor drawn in tranche 1 for some report.
    let batch: Vec<_> = us
        .iter()
        .zip(&anns)
        .map(|(a, ann)| (key(a), ann.clone()))
        .collect();
    assert!(observer
        .receive_announcements(&batch)
        .iter()
        .all(Result::is_ok));
    let mut scratch = observer.clone();
    let (auditor, later) = us
        .iter()
        .find_map(|a| scratch.announce(a, 1).unwrap().map(|ann| (a, ann)))
        .expect("with every tranche-0 auditor a no-show, someone is drawn in tranche 1");
    let later = wire(&spec, &later);
    let AuditEvidence::Subsequent(ev) = &later.evidence else {
        panic!("later evidence")
    };
    assert!(!ev[0].no_shows.is_empty());

    let mut forged_no_show = later.clone();
    if let AuditEvidence::Subsequent(ev) = &mut forged_no_show.evidence {
        ev[0].no_shows[0].announcement.signature.0 .0[0] ^= 1;
    }
    let mut repeated = later.clone();
    if let AuditEvidence::Subsequent(ev) = &mut repeated.evidence {
        let first = ev[0].no_shows[0].clone();
        ev[0].no_shows.push(first);
    }
    let mut mismatched = later.clone();
    if let AuditEvidence::Subsequent(ev) = &mut mismatched.evidence {
        let (c, w) = later.announcement.reports[0];
        // A no-show whose announcement (validly signed) is of the other report.
        let other = report_hash(5, 1 - c);
        let v = ev[0].no_shows[0].validator_index;
        ev[0].no_shows[0] = NoShow {
            validator_index: v,
            announcement: announcement::sign_body(
                &us[usize::from(v)].secrets.ed25519,
                0,
                vec![(1 - c, other)],
                &later.header_hash,
            ),
        };
        assert_ne!(other, w);
    }
    let mut no_show_unknown = later.clone();
    if let AuditEvidence::Subsequent(ev) = &mut no_show_unknown.evidence {
        ev[0].no_shows[0].validator_index = 6;
    }
    // With its no-shows removed, the draw has m = 0 and cannot select anything.
    let mut no_no_shows = later.clone();
    if let AuditEvidence::Subsequent(ev) = &mut no_no_shows.evidence {
        for e in ev.iter_mut() {
            e.no_shows.clear();
        }
    }
    let k = key(auditor);
    let results = observer.receive_announcements(&[
        (k, forged_no_show),
        (k, repeated),
        (k, mismatched),
        (k, no_show_unknown),
        (k, no_no_shows),
    ]);
    assert!(matches!(
        results[0],
        Err(RejectError::BadSignature {
            which: Signed::NoShow {
                report: 0,
                no_show: 0
            },
            ..
        })
    ));
    assert!(matches!(
        results[1],
        Err(RejectError::RepeatedNoShow { .. })
    ));
    assert!(matches!(
        results[2],
        Err(RejectError::NoShowMismatch { .. })
    ));
    assert!(matches!(
        results[3],
        Err(RejectError::UnknownValidator { index: 6, .. })
    ));
    assert!(matches!(results[4], Err(RejectError::NotSelected { .. })));
    for (_, w) in &later.announcement.reports {
        assert!(observer.report(w).unwrap().announced(1).is_empty());
    }
    // The untampered one is counted into A_1.
    let r = observer.receive_announcements(&[(k, later.clone())]);
    assert!(r[0].is_ok(), "{r:?}");
    let (_, w) = later.announcement.reports[0];
    assert!(observer
        .report(&w)
        .unwrap()
        .announced(1)
        .contains(&observer.validator_index(&key(auditor)).unwrap()));
}

#[test]
fn judgments_round_trip_and_bad_ones_are_refused() {
    let (spec, us, mut observer, _) = setup();
    let w = report_hash(5, 0);
    let mut scratch = observer.clone();
    let good = wire(&spec, &scratch.judge(&us[2], w, true).unwrap());
    // The GP message, by hand: "jam_valid" ⌢ H(w).
    let msg = [b"jam_valid".as_slice(), &w.0].concat();
    assert_eq!(judgment::message(&good), msg);
    assert!(ed25519::verify(&key(&us[2]), &msg, &good.signature).is_ok());

    let mut forged = good.clone();
    forged.signature.0 .0[10] ^= 1;
    let mut flipped = good.clone();
    flipped.valid = false; // signed "valid", claimed "invalid"
    let mut impostor = good.clone();
    impostor.validator_index = 3; // signed by 2
    let mut out_of_set = good.clone();
    out_of_set.validator_index = 6;
    let mut wrong_epoch = good.clone();
    wrong_epoch.epoch_index = 8;
    let unknown = judgment::sign(&us[2].secrets.ed25519, 7, 2, true, blake2b_256(b"x"));
    let results = observer.receive_judgments(&[
        forged,
        flipped,
        impostor,
        out_of_set,
        wrong_epoch,
        unknown,
        good.clone(),
        good.clone(),
    ]);
    for (i, r) in results.iter().take(3).enumerate() {
        assert!(
            matches!(
                r,
                Err(RejectError::BadSignature {
                    which: Signed::Judgment,
                    ..
                })
            ),
            "{i}: {r:?}"
        );
    }
    assert!(matches!(
        results[3],
        Err(RejectError::UnknownValidator { index: 6, .. })
    ));
    assert_eq!(
        results[4],
        Err(RejectError::WrongEpoch {
            expected: 7,
            got: 8
        })
    );
    assert!(matches!(
        results[5],
        Err(RejectError::UnknownReportHash { .. })
    ));
    assert_eq!(
        results[6]
            .as_ref()
            .map(|a| (a.validator, a.valid, a.equivocation)),
        Ok((2, true, false))
    );
    assert!(matches!(
        results[7],
        Err(RejectError::Duplicate { validator: 2, .. })
    ));
    let r = observer.report(&w).unwrap();
    assert_eq!(r.positive(), BTreeSet::from([2]));
    assert!(r.negative().is_empty());

    // A contradicting judgment by the same validator is kept and flagged.
    let contra = judgment::sign(&us[2].secrets.ed25519, 7, 2, false, w);
    let results = observer.receive_judgments(&[contra]);
    assert!(matches!(results[0], Ok(ref a) if a.equivocation && !a.valid));
    assert_eq!(observer.report(&w).unwrap().negative(), BTreeSet::from([2]));
    assert_eq!(observer.report(&w).unwrap().judgments().len(), 2);
}

#[test]
fn a_nulled_or_foreign_key_is_no_auditor() {
    let (_, us, observer, _) = setup();
    assert_eq!(observer.validator_index(&key(&us[4])), Some(4));
    assert_eq!(
        observer.validator_index(&Ed25519Public::from([0u8; 32])),
        None
    );
    let foreign = Keypair::from_seed([9; 32]).public();
    assert_eq!(observer.validator_index(&foreign), None);
    // Judging as an identity whose key is not in κ is refused; one that is
    // judges under its index there.
    let mut o = observer.clone();
    let stranger = tessera_audit::Auditor {
        secrets: tessera_core::crypto::jip5::ValidatorSecrets::dev(99),
    };
    assert!(matches!(
        o.judge(&stranger, report_hash(5, 0), true),
        Err(RejectError::NotAnAuditor { .. })
    ));
    let j = o.judge(&us[1], report_hash(5, 0), true).unwrap();
    assert_eq!(j.validator_index, 1);
}

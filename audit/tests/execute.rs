//! The audit itself (GP v0.7.2 §17.2–17.3, `e_n(w)`; Ξ of §14.4): a report the
//! guarantor computed honestly is judged valid; one whose guarantor lied, or whose
//! bundle is damaged in any octet, is judged invalid with the reason, and nothing
//! panics. No official vectors exist for audits: the package is built here, its
//! refine code is a one-instruction PVM program that halts at once, so by the
//! standard initialisation (GP A.7: `ω_0` is the halt address, `ω_7, ω_8` the
//! argument area) its output is its argument `E(c, i, w_s, ↕w_y, H(p))`, which the
//! test assembles by hand; the gas used is taken from the guarantor's own run of
//! `I(p, j)` (`tessera-state`'s refine, the code under audit, not this crate).

mod common;

use common::case::{case, honest, run, Auth};
use tessera_audit::execute::{Bundle, Invalid};
use tessera_core::hash::blake2b_256;
use tessera_core::types::WorkExecResult;
use tessera_core::{ByteArray, Bytes};

#[test]
fn an_honest_report_is_valid() {
    let c = case();
    assert_eq!(Bundle::decode(&c.spec, &c.bytes).unwrap(), c.bundle);
    assert_eq!(run(&c, &c.report, &c.bytes, &honest()), Ok(()));
}

#[test]
fn a_lying_guarantor_is_caught() {
    let c = case();
    let a = honest();
    // Altered refine output.
    let mut r = c.report.clone();
    r.results[0].result = WorkExecResult::Ok(Bytes(b"what I wish it said".to_vec()));
    assert!(matches!(
        run(&c, &r, &c.bytes, &a),
        Err(Invalid::Digest { item: 0, .. })
    ));
    // Altered gas.
    let mut r = c.report.clone();
    r.results[0].refine_load.gas_used += 1;
    assert!(matches!(
        run(&c, &r, &c.bytes, &a),
        Err(Invalid::Digest { item: 0, .. })
    ));
    // Claims an error where the code ran.
    let mut r = c.report.clone();
    r.results[0].result = WorkExecResult::Panic;
    assert!(matches!(
        run(&c, &r, &c.bytes, &a),
        Err(Invalid::Digest { .. })
    ));
    // One digest too many.
    let mut r = c.report.clone();
    r.results.push(r.results[0].clone());
    assert_eq!(
        run(&c, &r, &c.bytes, &a),
        Err(Invalid::DigestCount {
            expected: 1,
            got: 2
        })
    );
    // Wrong package hash, erasure root, length, context, authorizer.
    let mut r = c.report.clone();
    r.package_spec.hash = ByteArray([0; 32]);
    assert!(matches!(
        run(&c, &r, &c.bytes, &a),
        Err(Invalid::PackageHash { .. })
    ));
    let mut r = c.report.clone();
    r.package_spec.erasure_root = ByteArray([0; 32]);
    assert!(matches!(
        run(&c, &r, &c.bytes, &a),
        Err(Invalid::AvailabilitySpec { .. })
    ));
    let mut r = c.report.clone();
    r.package_spec.exports_count = 1;
    assert!(matches!(
        run(&c, &r, &c.bytes, &a),
        Err(Invalid::AvailabilitySpec { .. })
    ));
    let mut r = c.report.clone();
    r.context.lookup_anchor_slot += 1;
    assert_eq!(
        run(&c, &r, &c.bytes, &a),
        Err(Invalid::Field("refine context"))
    );
    let mut r = c.report.clone();
    r.authorizer_hash = ByteArray([0; 32]);
    assert_eq!(
        run(&c, &r, &c.bytes, &a),
        Err(Invalid::Field("authorizer hash"))
    );
    // Ψ_I says otherwise.
    let other = Auth(Some((b"other trace".to_vec(), 77)));
    assert_eq!(
        run(&c, &c.report, &c.bytes, &other),
        Err(Invalid::Field("authorizer trace"))
    );
    let more_gas = Auth(Some((b"authorized".to_vec(), 78)));
    assert_eq!(
        run(&c, &c.report, &c.bytes, &more_gas),
        Err(Invalid::Field("authorizer gas used"))
    );
    assert_eq!(
        run(&c, &c.report, &c.bytes, &Auth(None)),
        Err(Invalid::Unauthorized(WorkExecResult::Panic))
    );
    // The code is not available at the lookup anchor: Ψ_R gives BAD, not the output.
    let mut empty = case();
    empty.lookup.0.clear();
    assert!(matches!(
        run(&empty, &empty.report, &empty.bytes, &a),
        Err(Invalid::Digest { .. })
    ));
}

#[test]
fn damaged_bundles_are_invalid_never_a_panic() {
    let c = case();
    let a = honest();
    // Truncated, extended, empty, garbage.
    let r = &c.report;
    assert!(matches!(
        run(&c, r, &c.bytes[..c.bytes.len() - 1], &a),
        Err(Invalid::Decode(_))
    ));
    let mut longer = c.bytes.clone();
    longer.push(0);
    assert!(matches!(run(&c, r, &longer, &a), Err(Invalid::Decode(_))));
    assert!(matches!(run(&c, r, &[], &a), Err(Invalid::Decode(_))));
    assert!(matches!(
        run(&c, r, &[0xff; 64], &a),
        Err(Invalid::Decode(_))
    ));
    // The named failures of §17.2, each at its own place.
    let mut b = c.bundle.clone();
    b.extrinsics[0][0][0] ^= 1;
    assert_eq!(
        run(&c, r, &b.encode(), &a),
        Err(Invalid::ExtrinsicHash { item: 0, index: 0 })
    );
    let mut b = c.bundle.clone();
    b.imports[0][0][100] ^= 1;
    assert_eq!(
        run(&c, r, &b.encode(), &a),
        Err(Invalid::ImportJustification { item: 0, index: 0 })
    );
    let mut b = c.bundle.clone();
    b.justifications[0][0][0].0[0] ^= 1;
    assert_eq!(
        run(&c, r, &b.encode(), &a),
        Err(Invalid::ImportJustification { item: 0, index: 0 })
    );
    // Every single-octet change anywhere in the bundle is refused.
    for i in 0..c.bytes.len() {
        let mut bad = c.bytes.clone();
        bad[i] ^= 0x41;
        assert!(
            run(&c, r, &bad, &a).is_err(),
            "octet {i} changed and still valid"
        );
    }
}

/// Auditors of a tiny block re-execute what they announced and judge by the result:
/// the honest report becomes audited; the lying one draws only negative judgments,
/// each a valid `$jam_invalid` signature (the material of a dispute verdict).
#[test]
fn auditors_judge_what_they_re_execute() {
    let c = case();
    let mut lie = c.report.clone();
    lie.results[0].result = WorkExecResult::Ok(Bytes(b"forged".to_vec()));
    for (report, honest_report) in [(&c.report, true), (&lie, false)] {
        let us = common::auditors(c.spec.validators());
        let w = report.hash();
        let mut block = tessera_audit::BlockAudit::from_parts(
            &c.spec,
            blake2b_256(b"block"),
            common::entropy(1, 0),
            7,
            common::kappa(&us),
            vec![None, Some(w)],
        )
        .unwrap();
        let mut judges = Vec::new();
        for a in &us {
            if block.announce(a, 0).unwrap().is_some() {
                let valid = run(&c, report, &c.bytes, &honest()).is_ok();
                let j = block.judge(a, w, valid).unwrap();
                judges.push((a.secrets.ed25519.public(), j));
            }
        }
        assert!(!judges.is_empty(), "someone audits core 1");
        let r = block.report(&w).unwrap();
        assert_eq!(block.is_audited(), honest_report);
        if honest_report {
            assert!(r.negative().is_empty());
        } else {
            assert!(r.positive().is_empty());
            assert_eq!(r.negative().len(), judges.len());
            let msg = [b"jam_invalid".as_slice(), &w.0].concat();
            for (key, j) in &judges {
                assert!(!j.valid);
                assert!(key.verify(&msg, &j.signature).is_ok());
            }
        }
    }
}

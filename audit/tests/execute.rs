//! The audit itself (GP v0.7.2 §17.2–17.3, `e_n(w)`; Ξ of §14.4): a report the
//! guarantor computed honestly is judged valid; one whose guarantor lied, or whose
//! bundle is damaged in any octet, is judged invalid with the reason, and nothing
//! panics. No official vectors exist for audits: the package is built here, its
//! refine code is a one-instruction PVM program that halts at once, so by the
//! standard initialisation (GP A.7: `ω_0` is the halt address, `ω_7, ω_8` the
//! argument area) its output is its argument `E(c, i, w_s, ↕w_y, H(p))`, which the
//! test assembles by hand; the gas used is taken from the guarantor's own run of
//! `I(p, j)` (`tessera-state`'s refine, the code under audit, not this crate).

use std::collections::BTreeMap;

use tessera_audit::execute::{audit, Bundle, Context, ErasureRoot, Invalid, IsAuthorized};
use tessera_core::codec::Encode;
use tessera_core::hash::{blake2b_256, blake2b_256_concat};
use tessera_core::merkle::constant_depth;
use tessera_core::types::{
    AvailabilitySpec, CoreIndex, ExtrinsicSpec, Gas, ImportSpec, RefineContext, RefineLoad,
    SegmentRootLookup, ServiceId, TimeSlot, WorkExecResult, WorkItem, WorkPackage, WorkReport,
    WorkResult,
};
use tessera_core::{ByteArray, Bytes, ChainSpec, Hash};
use tessera_pvm::{Opcode, Program};
use tessera_state::refine::{refine_items, HistoricalLookup, Refinement};

const ANCHOR_SLOT: TimeSlot = 9;
const SERVICE: ServiceId = 5;

/// Λ over a fixed table, answering at the lookup-anchor slot only.
struct Lookup(BTreeMap<(ServiceId, Hash), Vec<u8>>);

impl HistoricalLookup for Lookup {
    fn historical_lookup(
        &self,
        service: ServiceId,
        slot: TimeSlot,
        hash: &Hash,
    ) -> Option<Vec<u8>> {
        (slot == ANCHOR_SLOT)
            .then(|| self.0.get(&(service, *hash)).cloned())
            .flatten()
    }
}

/// A stand-in Ψ_I: authorizes with a fixed trace and gas, or refuses.
struct Auth(Option<(Vec<u8>, Gas)>);

impl IsAuthorized for Auth {
    fn is_authorized(
        &self,
        _: &WorkPackage,
        _: CoreIndex,
    ) -> (Result<Vec<u8>, WorkExecResult>, Gas) {
        match &self.0 {
            Some((t, g)) => (Ok(t.clone()), *g),
            None => (Err(WorkExecResult::Panic), 3),
        }
    }
}

/// A stand-in for `da`'s erasure root: any function of the bundle and the exports
/// serves to test that the audit recomputes it from what it re-executed.
struct Root;

impl ErasureRoot for Root {
    fn erasure_root(&self, bundle: &[u8], exports: &[Vec<u8>]) -> Hash {
        let mut all = bundle.to_vec();
        exports.iter().for_each(|e| all.extend_from_slice(e));
        blake2b_256(&all)
    }
}

/// A standard program (GP A.7) with no data, no heap, a 4 KiB stack, and `code`, as
/// a preimage `E(↕z, c)` with metadata "m".
fn halting_program() -> Vec<u8> {
    // `jump_ind ω_0 + 0`: ω_0 starts at the halt address 2^32 − 2^16.
    let code = [Opcode::JumpInd.code(), 0];
    let blob = Program::encode_blob(&[], &code, &[true, false]);
    let mut p = vec![0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0];
    p.extend_from_slice(&u32::try_from(blob.len()).unwrap().to_le_bytes());
    p.extend_from_slice(&blob);
    let mut preimage = vec![1, b'm'];
    preimage.extend_from_slice(&p);
    preimage
}

struct Case {
    spec: ChainSpec,
    bundle: Bundle,
    bytes: Vec<u8>,
    report: WorkReport,
    lookup: Lookup,
}

fn case() -> Case {
    let spec = ChainSpec::tiny();
    let code = halting_program();
    let code_hash = blake2b_256(&code);
    // One import: segment 1 of a three-segment tree, proven by J_0.
    let w_g = spec.segment_size as usize;
    let tree: Vec<Vec<u8>> = (0..3u8).map(|i| vec![i + 1; w_g]).collect();
    let tree_root = constant_depth::root(&tree, blake2b_256);
    let path = constant_depth::justification(&tree, 1, blake2b_256).unwrap();
    let extrinsic = b"an extrinsic blob".to_vec();
    let payload = b"payload".to_vec();
    let item = WorkItem {
        service: SERVICE,
        code_hash,
        refine_gas_limit: 1_000_000,
        accumulate_gas_limit: 1_000,
        export_count: 0,
        payload: Bytes(payload.clone()),
        import_segments: vec![ImportSpec {
            tree_root,
            index: 1,
        }],
        extrinsic: vec![ExtrinsicSpec {
            hash: blake2b_256(&extrinsic),
            len: extrinsic.len() as u32,
        }],
    };
    let package = WorkPackage {
        auth_code_host: SERVICE,
        auth_code_hash: ByteArray([7; 32]),
        context: RefineContext {
            anchor: ByteArray([1; 32]),
            state_root: ByteArray([2; 32]),
            beefy_root: ByteArray([3; 32]),
            lookup_anchor: ByteArray([4; 32]),
            lookup_anchor_slot: ANCHOR_SLOT,
            prerequisites: Vec::new(),
        },
        authorization: Bytes(b"token".to_vec()),
        authorizer_config: Bytes(b"config".to_vec()),
        items: vec![item.clone()],
    };
    let bundle = Bundle {
        package: package.clone(),
        extrinsics: vec![vec![extrinsic]],
        imports: vec![vec![tree[1].clone()]],
        justifications: vec![vec![path]],
    };
    let bytes = bundle.encode();
    let lookup = Lookup(BTreeMap::from([((SERVICE, code_hash), code)]));
    let package_hash = blake2b_256(&package.encode());

    // The guarantor's run: I(p, 0).
    let trace = b"authorized".to_vec();
    let outcomes = refine_items(&Refinement {
        spec: &spec,
        core: 1,
        package: &package,
        auth_trace: &trace,
        imports: &bundle.imports,
        extrinsics: &bundle.extrinsics,
        lookup: &lookup,
    });
    // The output is the argument E(c, i, w_s, ↕w_y, H(p)), by hand (all four
    // naturals are below 128: one octet each).
    let mut args = vec![1, 0, SERVICE as u8, payload.len() as u8];
    args.extend_from_slice(&payload);
    args.extend_from_slice(&package_hash.0);
    assert_eq!(outcomes[0].result, WorkExecResult::Ok(Bytes(args.clone())));
    assert!(outcomes[0].exports.is_empty());

    let digest = WorkResult {
        service_id: SERVICE,
        code_hash,
        payload_hash: blake2b_256(&payload),
        accumulate_gas: 1_000,
        result: WorkExecResult::Ok(Bytes(args)),
        refine_load: RefineLoad {
            gas_used: outcomes[0].gas_used,
            imports: 1,
            extrinsic_count: 1,
            extrinsic_size: 17,
            exports: 0,
        },
    };
    let no_exports: [Vec<u8>; 0] = [];
    let report = WorkReport {
        package_spec: AvailabilitySpec {
            hash: package_hash,
            length: bytes.len() as u32,
            erasure_root: Root.erasure_root(&bytes, &[]),
            exports_root: constant_depth::root(&no_exports, blake2b_256),
            exports_count: 0,
        },
        context: package.context.clone(),
        core_index: 1,
        authorizer_hash: blake2b_256_concat(&[&[7; 32], b"config"]),
        auth_gas_used: 77,
        auth_output: Bytes(trace),
        segment_root_lookup: SegmentRootLookup(Vec::new()),
        results: vec![digest],
    };
    Case {
        spec,
        bundle,
        bytes,
        report,
        lookup,
    }
}

fn run(c: &Case, report: &WorkReport, bytes: &[u8], auth: &Auth) -> Result<(), Invalid> {
    let ctx = Context {
        lookup: &c.lookup,
        is_authorized: auth,
        erasure_root: &Root,
    };
    audit(&c.spec, report, bytes, &ctx)
}

fn honest() -> Auth {
    Auth(Some((b"authorized".to_vec(), 77)))
}

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

mod common;

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

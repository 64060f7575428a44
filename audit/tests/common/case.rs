//! The audit tests' package: one work item whose refine code is a one-instruction
//! PVM program that halts at once, so by the standard initialisation (GP A.7: `ω_0`
//! is the halt address, `ω_7, ω_8` the argument area) its output is its argument
//! `E(c, i, w_s, ↕w_y, H(p))`, which [`case`] assembles by hand; the gas used is
//! taken from the guarantor's own run of `I(p, j)` (`tessera-state`'s refine).

#![allow(dead_code, unreachable_pub)]

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

pub const ANCHOR_SLOT: TimeSlot = 9;
pub const SERVICE: ServiceId = 5;

/// Λ over a fixed table, answering at the lookup-anchor slot only.
pub struct Lookup(pub BTreeMap<(ServiceId, Hash), Vec<u8>>);

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
pub struct Auth(pub Option<(Vec<u8>, Gas)>);

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
pub struct Root;

impl ErasureRoot for Root {
    fn erasure_root(&self, bundle: &[u8], exports: &[Vec<u8>]) -> Hash {
        let mut all = bundle.to_vec();
        exports.iter().for_each(|e| all.extend_from_slice(e));
        blake2b_256(&all)
    }
}

/// A standard program (GP A.7) with no data, no heap, a 4 KiB stack, and `code`, as
/// a preimage `E(↕z, c)` with metadata "m".
pub fn halting_program() -> Vec<u8> {
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

pub struct Case {
    pub spec: ChainSpec,
    pub bundle: Bundle,
    pub bytes: Vec<u8>,
    pub report: WorkReport,
    pub lookup: Lookup,
}

pub fn case() -> Case {
    let spec = super::selective_tiny();
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

pub fn run(c: &Case, report: &WorkReport, bytes: &[u8], auth: &Auth) -> Result<(), Invalid> {
    let ctx = Context {
        lookup: &c.lookup,
        is_authorized: auth,
        erasure_root: &Root,
    };
    audit(&c.spec, report, bytes, &ctx)
}

pub fn honest() -> Auth {
    Auth(Some((b"authorized".to_vec(), 77)))
}

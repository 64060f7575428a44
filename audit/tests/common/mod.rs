//! Helpers the audit tests share. No official vectors exist for auditing (GP §17 is
//! off-chain); every expectation in these tests is derived from the GP's
//! definitions, computed independently of the code under test.

#![allow(dead_code, unreachable_pub)]

pub mod case;
pub mod loopback;

use tessera_audit::{Auditor, BlockAudit};
use tessera_core::crypto::bandersnatch;
use tessera_core::crypto::contexts;
use tessera_core::crypto::jip5::ValidatorSecrets;
use tessera_core::hash::blake2b_256;
use tessera_core::types::{
    AvailabilitySpec, RefineContext, SegmentRootLookup, ValidatorData, WorkReport,
};
use tessera_core::{ByteArray, Bytes, ChainSpec, Hash};

/// The tiny spec with one core of two drawn per auditor in tranche 0, as Tessera's
/// tiny spec had until it drew every core (see
/// [`ChainSpec::audit_tranche0_cores`]): tranche 0 then leaves reports undrawn,
/// so the shuffle, the no-shows and the later tranches have something to decide.
/// The selection mechanics under test are the GP's for any `k < C`.
pub fn selective_tiny() -> ChainSpec {
    ChainSpec {
        audit_tranche0_cores: 1,
        ..ChainSpec::tiny()
    }
}

/// The JIP-5 development validators `0..n` as auditors.
pub fn auditors(n: usize) -> Vec<Auditor> {
    (0..n)
        .map(|i| Auditor {
            secrets: ValidatorSecrets::dev(i as u32),
        })
        .collect()
}

/// `κ` of those auditors.
pub fn kappa(auditors: &[Auditor]) -> Vec<ValidatorData> {
    auditors
        .iter()
        .map(|a| ValidatorData {
            bandersnatch: a.secrets.bandersnatch.public(),
            ed25519: a.secrets.ed25519.public(),
            bls: ByteArray([0; 144]),
            metadata: ByteArray([0; 128]),
        })
        .collect()
}

/// `Y(H_V)` of a real entropy-source signature (GP 6.17) made by development
/// validator `author` over a seal output derived from `seed`.
pub fn entropy(seed: u8, author: u32) -> Hash {
    let seal_output = blake2b_256(&[b"seal output".as_slice(), &[seed]].concat());
    let secret = ValidatorSecrets::dev(author).bandersnatch;
    let hv = bandersnatch::sign(&secret, &contexts::entropy_vrf_input(&seal_output), &[])
        .expect("sign H_V");
    bandersnatch::vrf_output(&hv).expect("Y(H_V)")
}

/// A distinct report hash per `(seed, core)`.
pub fn report_hash(seed: u8, core: u16) -> Hash {
    blake2b_256(&[b"report".as_slice(), &[seed], &core.to_le_bytes()].concat())
}

/// `q` with a report on every core whose bit is set in `mask`.
pub fn q_from_mask(spec: &ChainSpec, seed: u8, mask: impl Fn(u16) -> bool) -> Vec<Option<Hash>> {
    (0..spec.core_count)
        .map(|c| mask(c).then(|| report_hash(seed, c)))
        .collect()
}

/// The tracker of a block with header hash from `seed`, `Y(H_V)` from `seed`, epoch 7.
pub fn block(spec: &ChainSpec, seed: u8, auditors: &[Auditor], q: Vec<Option<Hash>>) -> BlockAudit {
    let header_hash = blake2b_256(&[b"header".as_slice(), &[seed]].concat());
    BlockAudit::from_parts(spec, header_hash, entropy(seed, 0), 7, kappa(auditors), q)
        .expect("q has C entries")
}

/// A work report on `core` with a distinguishing `tag`.
pub fn work_report(core: u16, tag: u8) -> WorkReport {
    WorkReport {
        package_spec: AvailabilitySpec {
            hash: ByteArray([tag; 32]),
            length: 100,
            erasure_root: ByteArray([1; 32]),
            exports_root: ByteArray([2; 32]),
            exports_count: 0,
        },
        context: RefineContext {
            anchor: ByteArray([3; 32]),
            state_root: ByteArray([4; 32]),
            beefy_root: ByteArray([5; 32]),
            lookup_anchor: ByteArray([3; 32]),
            lookup_anchor_slot: 1,
            prerequisites: Vec::new(),
        },
        core_index: core,
        authorizer_hash: ByteArray([6; 32]),
        auth_gas_used: 0,
        auth_output: Bytes(Vec::new()),
        segment_root_lookup: SegmentRootLookup(Vec::new()),
        results: Vec::new(),
    }
}

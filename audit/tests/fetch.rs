//! Getting bundles to audit over real JAMNP-S endpoints on loopback (tiny spec, V = 6,
//! R = 2), each node with its own RocksDB, through `tessera-da`'s handlers. No vectors
//! exist for this; the checks follow GP §17.2 and JAMNP-S CE 147/138:
//! - an honest guarantor's CE 147 bundle is used as it is;
//! - a guarantor serving another bundle under the report's erasure root is passed
//!   over, and the bundle is rebuilt from two assurers' proven CE 138 shards;
//! - two reports without guarantors are both rebuilt (one kernel call) and equal
//!   their bundles;
//! - with one assurer of the two needed, the fetch is a typed error.

mod common;

use std::sync::Arc;

use common::loopback::{node, Node};

use tessera_audit::execute::Bundle;
use tessera_audit::fetch::{
    fetch_bundles, fetch_bundles_observed, BundleEvents, BundleFetch, BundleFetchError, Source,
};
use tessera_core::codec::Encode;
use tessera_core::hash::{blake2b_256, blake2b_256_concat};
use tessera_core::merkle::constant_depth;
use tessera_core::types::{
    AvailabilitySpec, RefineContext, SegmentRootLookup, WorkItem, WorkPackage, WorkReport,
};
use tessera_core::{ByteArray, Bytes, ChainSpec, Hash};
use tessera_da::availability::AvailabilityEngine;
use tessera_da::fetch::Holder;
use tessera_da::package::Distributable;
use tessera_da::serve::store_distributable;
use tessera_kernels::Backend;
use tessera_net::PeerId;

/// A one-item package with `payload`, as its bundle, and a report naming it (only the
/// fields a fetch checks are meaningful).
fn report(spec: &ChainSpec, payload: &[u8]) -> (Vec<u8>, WorkReport, Distributable) {
    let package = WorkPackage {
        auth_code_host: 1,
        auth_code_hash: ByteArray([7; 32]),
        context: RefineContext {
            anchor: ByteArray([1; 32]),
            state_root: ByteArray([2; 32]),
            beefy_root: ByteArray([3; 32]),
            lookup_anchor: ByteArray([4; 32]),
            lookup_anchor_slot: 9,
            prerequisites: Vec::new(),
        },
        authorization: Bytes(b"token".to_vec()),
        authorizer_config: Bytes(b"config".to_vec()),
        items: vec![WorkItem {
            service: 1,
            code_hash: ByteArray([8; 32]),
            refine_gas_limit: 1_000,
            accumulate_gas_limit: 1_000,
            export_count: 0,
            payload: Bytes(payload.to_vec()),
            import_segments: Vec::new(),
            extrinsic: Vec::new(),
        }],
    };
    let bundle = Bundle {
        package: package.clone(),
        extrinsics: vec![Vec::new()],
        imports: vec![Vec::new()],
        justifications: vec![Vec::new()],
    }
    .encode();
    let mut engine = AvailabilityEngine::new(spec, Backend::Simd);
    let coded = Distributable::new(spec, &mut engine, &bundle, &[] as &[Vec<u8>]).unwrap();
    let no_exports: [Vec<u8>; 0] = [];
    let report = WorkReport {
        package_spec: AvailabilitySpec {
            hash: blake2b_256(&package.encode()),
            length: bundle.len() as u32,
            erasure_root: coded.erasure_root,
            exports_root: constant_depth::root(&no_exports, blake2b_256),
            exports_count: 0,
        },
        context: package.context.clone(),
        core_index: 0,
        authorizer_hash: blake2b_256_concat(&[&[7; 32], b"config"]),
        auth_gas_used: 0,
        auth_output: Bytes(Vec::new()),
        segment_root_lookup: SegmentRootLookup(Vec::new()),
        results: Vec::new(),
    };
    (bundle, report, coded)
}

/// Assurers holding shard `i` each of `coded`, connected from `auditor`.
async fn assurers(
    spec: &ChainSpec,
    auditor: &Node,
    coded: &[&Distributable],
) -> (Vec<Node>, Vec<Holder>) {
    let mut nodes = Vec::new();
    let mut holders = Vec::new();
    for i in 0..spec.validators() {
        let n = node(spec, 20 + i as u8);
        for c in coded {
            let set = c.shard_set(i).unwrap();
            n.store
                .put_shard_set(&c.erasure_root, i as u16, &set, 1)
                .unwrap();
        }
        auditor
            .net
            .connect(n.net.peer_id(), n.net.local_addr().unwrap())
            .await
            .unwrap();
        holders.push(Holder {
            peer: n.net.peer_id(),
            shard_index: i as u16,
        });
        nodes.push(n);
    }
    (nodes, holders)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bundles_come_from_guarantors_when_theirs_else_from_shards() {
    let spec = common::selective_tiny();
    let (bundle_a, report_a, coded_a) = report(&spec, b"report a");
    let (bundle_b, report_b, coded_b) = report(&spec, b"report b");
    let auditor = node(&spec, 1);
    let (_assurers, holders) = assurers(&spec, &auditor, &[&coded_a, &coded_b]).await;

    // An honest guarantor of A; one of B that serves A's bundle under B's root.
    let honest = node(&spec, 2);
    store_distributable(
        &honest.store,
        &coded_a,
        &bundle_a,
        &[] as &[Vec<u8>],
        1,
        None,
    )
    .unwrap();
    let liar = node(&spec, 3);
    liar.store
        .put_package(
            &coded_b.erasure_root,
            &bundle_a,
            &coded_b.segments_root,
            &[],
            1,
        )
        .unwrap();
    for g in [&honest, &liar] {
        auditor
            .net
            .connect(g.net.peer_id(), g.net.local_addr().unwrap())
            .await
            .unwrap();
    }
    // The assurers are asked last-first, so recovery shards are among those used.
    let mut reversed = holders.clone();
    reversed.reverse();
    let jobs = [
        BundleFetch {
            report: report_a.clone(),
            guarantors: vec![honest.net.peer_id()],
            assurers: reversed.clone(),
        },
        BundleFetch {
            report: report_b.clone(),
            guarantors: vec![liar.net.peer_id()],
            assurers: reversed.clone(),
        },
    ];
    let events = Arc::new(Recorder::default());
    let got =
        fetch_bundles_observed(&auditor.net, &spec, Backend::Simd, &jobs, events.clone()).await;
    let a = got[0].as_ref().unwrap();
    assert_eq!(a.source, Source::Guarantor(honest.net.peer_id()));
    assert!(a.bundle == bundle_a);
    let b = got[1].as_ref().unwrap();
    assert_eq!(b.source, Source::Shards);
    assert!(b.bundle == bundle_b);
    // What was reported: A's request to its guarantor and its end; B's request,
    // ended as a failure (not B's bundle), then R shard requests, each ended
    // well, and one rebuild — not trivial, recovery shards being among those
    // used.
    let seen = events.seen.lock().unwrap().clone();
    let (a, b) = (report_a.hash(), report_b.hash());
    let of = |r: Hash| seen.iter().filter(|e| e.report() == Some(r)).count();
    assert!(
        seen.contains(&Seen::Bundle(a, honest.net.peer_id())),
        "{seen:?}"
    );
    assert!(
        seen.contains(&Seen::Bundle(b, liar.net.peer_id())),
        "{seen:?}"
    );
    let ends: Vec<&Seen> = seen.iter().filter(|e| matches!(e, Seen::End(..))).collect();
    let failed: Vec<&&Seen> = ends
        .iter()
        .filter(|e| matches!(e, Seen::End(_, Err(why)) if why.contains("not the report's bundle")))
        .collect();
    assert_eq!(failed.len(), 1, "{seen:?}");
    let shards = seen
        .iter()
        .filter(|e| matches!(e, Seen::Shard(r, ..) if *r == b))
        .count();
    assert_eq!(shards, spec.erasure_originals(), "{seen:?}");
    assert_eq!(ends.len(), 2 + shards, "every request ends once: {seen:?}");
    assert!(seen.contains(&Seen::Rebuilding(b, false)), "{seen:?}");
    assert!(seen.contains(&Seen::Rebuilt(b, Ok(()))), "{seen:?}");
    assert_eq!(of(a), 1, "A came whole from its guarantor: {seen:?}");

    // No guarantors: both rebuilt, in one call.
    let jobs: Vec<BundleFetch> = [&report_a, &report_b]
        .into_iter()
        .map(|r| BundleFetch {
            report: r.clone(),
            guarantors: Vec::new(),
            assurers: holders.clone(),
        })
        .collect();
    let got = fetch_bundles(&auditor.net, &spec, Backend::Simd, &jobs).await;
    for (result, bundle) in got.iter().zip([&bundle_a, &bundle_b]) {
        let fetched = result.as_ref().unwrap();
        assert_eq!(fetched.source, Source::Shards);
        assert!(fetched.bundle == *bundle);
    }

    // One assurer where R = 2 are needed.
    let jobs = [BundleFetch {
        report: report_a,
        guarantors: Vec::new(),
        assurers: holders[..1].to_vec(),
    }];
    let got = fetch_bundles(&auditor.net, &spec, Backend::Simd, &jobs).await;
    assert!(
        matches!(
            got[0],
            Err(BundleFetchError::TooFewShards { got: 1, needed: 2 })
        ),
        "{:?}",
        got[0]
    );
}

/// What a fetch reported, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Seen {
    Bundle(Hash, PeerId),
    Shard(Hash, PeerId, u16),
    End(u64, Result<(), String>),
    Rebuilding(Hash, bool),
    Rebuilt(Hash, Result<(), String>),
}

impl Seen {
    fn report(&self) -> Option<Hash> {
        match self {
            Seen::Bundle(r, _)
            | Seen::Shard(r, ..)
            | Seen::Rebuilding(r, _)
            | Seen::Rebuilt(r, _) => Some(*r),
            Seen::End(..) => None,
        }
    }
}

/// A [`BundleEvents`] that records what it is told, each request under a token
/// of its own.
#[derive(Default)]
struct Recorder {
    seen: std::sync::Mutex<Vec<Seen>>,
    tokens: std::sync::atomic::AtomicU64,
}

impl Recorder {
    fn push(&self, e: Seen) {
        self.seen.lock().unwrap().push(e);
    }
    fn token(&self) -> u64 {
        self.tokens
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1
    }
}

impl BundleEvents for Recorder {
    fn sending_bundle_request(&self, report: &Hash, peer: &PeerId) -> u64 {
        self.push(Seen::Bundle(*report, *peer));
        self.token()
    }
    fn bundle_request_finished(&self, token: u64, outcome: Result<(), String>) {
        self.push(Seen::End(token, outcome));
    }
    fn sending_shard_request(&self, report: &Hash, peer: &PeerId, shard_index: u16) -> u64 {
        self.push(Seen::Shard(*report, *peer, shard_index));
        self.token()
    }
    fn shard_request_finished(&self, token: u64, outcome: Result<(), String>) {
        self.push(Seen::End(token, outcome));
    }
    fn reconstructing(&self, report: &Hash, trivial: bool) {
        self.push(Seen::Rebuilding(*report, trivial));
    }
    fn reconstructed(&self, report: &Hash, outcome: Result<(), String>) {
        self.push(Seen::Rebuilt(*report, outcome));
    }
}

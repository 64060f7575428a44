//! Availability over real JAMNP-S endpoints on loopback, each node with its own
//! RocksDB in a temporary directory (tiny spec, V = 6): a guarantor stores a coded
//! package with exports; every assurer fetches its shard over CE 137 from a corrupt
//! guarantor (detected and passed over) and the honest one, and stores it; an
//! auditor fetches bundle shards from two assurers over CE 138 and rebuilds the
//! bundle, and the whole bundle over CE 147; a guarantor rebuilds an exported
//! segment from two assurers' CE 139/140 segment shards, and fetches segments with
//! import proofs over CE 148; requests for data not held are refused.

mod common;

use std::sync::Arc;

use common::{connect, node, Node};

use tessera_core::hash::{blake2b_256, Hash};
use tessera_core::merkle::constant_depth::{leaf_hash, root_from_justification};
use tessera_core::spec::ChainSpec;
use tessera_da::availability::AvailabilityEngine;
use tessera_da::fetch::{fetch_audit_shard, fetch_shard_set, fetch_shard_set_from, FetchError};
use tessera_da::justification::verify_segment_shard;
use tessera_da::package::Distributable;
use tessera_da::serve::{register_observed, store_distributable, ServeEvents, Served};
use tessera_kernels::{erasure, Backend};
use tessera_net::messages::{
    BundleRequest, JustifiedSegmentShardRequest, SegmentRequest, SegmentRequestItem,
    SegmentRequestProtocol, SegmentShardRequest, SegmentShardRequestItem,
    SegmentShardRequestProtocol,
};
use tessera_net::RequestError;
use tessera_test_support::SplitMix;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shards_travel_verified_and_rebuild_the_package() {
    let spec = ChainSpec::tiny();
    let v = spec.validators();
    let mut rng = SplitMix(42);
    let bundle = rng.bytes(9_000);
    let segments = rng.blobs(3, spec.segment_size as usize);

    // The honest guarantor codes and stores the package; a corrupt one serves the
    // same sets with one octet of each bundle shard flipped.
    let guarantor = node(&spec, 1);
    let corrupt = node(&spec, 2);
    let mut engine = AvailabilityEngine::new(&spec, Backend::Simd);
    let package = Distributable::new(&spec, &mut engine, &bundle, &segments).unwrap();
    let root = package.erasure_root;
    store_distributable(&guarantor.store, &package, &bundle, &segments, 1, None).unwrap();
    for i in 0..v {
        let mut set = package.shard_set(i).unwrap();
        set.bundle_shard[0] ^= 1;
        corrupt
            .store
            .put_shard_set(&root, i as u16, &set, 1)
            .unwrap();
    }

    // Every assurer fetches its shard, the corrupt guarantor first.
    let assurers: Vec<Node> = (0..v).map(|i| node(&spec, 10 + i as u8)).collect();
    let guarantors = [corrupt.net.peer_id(), guarantor.net.peer_id()];
    for (i, a) in assurers.iter().enumerate() {
        connect(a, &corrupt).await;
        connect(a, &guarantor).await;
        let index = i as u16;
        let bad = fetch_shard_set_from(&a.net, &spec, &corrupt.net.peer_id(), &root, index).await;
        assert!(matches!(bad, Err(FetchError::Invalid { .. })), "{bad:?}");
        let set = fetch_shard_set(&a.net, &a.store, &guarantors, &root, index, 2)
            .await
            .unwrap();
        assert_eq!(set, package.shard_set(i).unwrap());
        assert_eq!(a.store.shard_set(&root, index).unwrap(), Some(set));
    }
    // Only a corrupt guarantor: nothing is stored.
    let lone = node(&spec, 30);
    connect(&lone, &corrupt).await;
    let r = fetch_shard_set(
        &lone.net,
        &lone.store,
        &[corrupt.net.peer_id()],
        &root,
        0,
        2,
    )
    .await;
    assert!(
        matches!(r, Err(FetchError::Exhausted { tried: 1, .. })),
        "{r:?}"
    );
    assert_eq!(lone.store.shard_set(&root, 0).unwrap(), None);

    // An auditor rebuilds the bundle from two assurers' CE 138 shards (4 and 1:
    // a recovery shard and an original), and fetches it whole over CE 147.
    let auditor = node(&spec, 40);
    let mut pieces: Vec<(usize, Vec<u8>)> = Vec::new();
    for i in [4usize, 1] {
        connect(&auditor, &assurers[i]).await;
        let shard = fetch_audit_shard(
            &auditor.net,
            &spec,
            &assurers[i].net.peer_id(),
            &root,
            i as u16,
        )
        .await
        .unwrap();
        pieces.push((i, shard));
    }
    let given: Vec<(usize, &[u8])> = pieces.iter().map(|(i, s)| (*i, s.as_slice())).collect();
    let rebuilt = erasure::reconstruct(&spec, Backend::Simd, &given, bundle.len()).unwrap();
    assert_eq!(rebuilt, bundle);
    connect(&auditor, &guarantor).await;
    let whole = auditor
        .net
        .request::<BundleRequest>(&guarantor.net.peer_id(), &root)
        .await
        .unwrap();
    assert_eq!(whole.0, bundle);

    // Assurers 3 and 5 saw the report audited: their bundle shards are pruned, their
    // segment shards kept (GP 14.3), so CE 138 is refused and CE 139/140 still served.
    for i in [3usize, 5] {
        assurers[i].store.release_bundle(&root, 3).unwrap();
        assurers[i].store.prune(3).unwrap();
        assert_eq!(
            assurers[i].store.bundle_shard(&root, i as u16).unwrap(),
            None
        );
        connect(&auditor, &assurers[i]).await;
        let peer = assurers[i].net.peer_id();
        let r = fetch_audit_shard(&auditor.net, &spec, &peer, &root, i as u16).await;
        assert!(r.is_err(), "{r:?}");
    }
    // A guarantor rebuilds exported segment 2 from assurers 3 and 5 (CE 139), and
    // checks each shard's CE 140 justification.
    let importer = node(&spec, 50);
    let k = 2u16;
    let mut pieces = Vec::new();
    for i in [3usize, 5] {
        connect(&importer, &assurers[i]).await;
        let peer = assurers[i].net.peer_id();
        let request = SegmentShardRequest(vec![SegmentShardRequestItem {
            erasure_root: root,
            shard_index: i as u16,
            segment_indices: vec![k],
        }]);
        let plain = importer
            .net
            .request::<SegmentShardRequestProtocol>(&peer, &request)
            .await
            .unwrap();
        let justified = importer
            .net
            .request::<JustifiedSegmentShardRequest>(&peer, &request)
            .await
            .unwrap();
        assert_eq!(plain, justified.shards);
        let shard = &plain.0[0];
        // 3 exports and 1 proof page.
        verify_segment_shard(
            &spec,
            &root,
            i,
            4,
            usize::from(k),
            shard,
            &justified.justifications[0],
        )
        .unwrap();
        pieces.push((i, shard.clone()));
    }
    let given: Vec<(usize, &[u8])> = pieces.iter().map(|(i, s)| (*i, s.as_slice())).collect();
    let segment =
        erasure::reconstruct(&spec, Backend::Simd, &given, spec.segment_size as usize).unwrap();
    assert_eq!(segment, segments[usize::from(k)]);

    // CE 148 from the guarantor: segments with import proofs to the segments root.
    connect(&importer, &guarantor).await;
    let request = SegmentRequest(vec![SegmentRequestItem {
        segments_root: package.segments_root,
        segment_indices: vec![0, 2],
    }]);
    let got = importer
        .net
        .request::<SegmentRequestProtocol>(&guarantor.net.peer_id(), &request)
        .await
        .unwrap();
    for (n, &i) in [0usize, 2].iter().enumerate() {
        assert_eq!(got.segments[n], segments[i]);
        let leaf = leaf_hash(&got.segments[n], blake2b_256);
        let proven = root_from_justification(leaf, i, &got.import_proofs[n], blake2b_256).unwrap();
        assert_eq!(proven, package.segments_root);
    }

    // Data not held is refused, never made up.
    let unknown = Hash::from([9u8; 32]);
    let r = fetch_audit_shard(&auditor.net, &spec, &assurers[4].net.peer_id(), &unknown, 4).await;
    assert!(
        matches!(
            r,
            Err(FetchError::Request {
                error: RequestError::Refused | RequestError::Reset { .. },
                ..
            })
        ),
        "{r:?}"
    );
    let r = auditor
        .net
        .request::<BundleRequest>(&guarantor.net.peer_id(), &unknown)
        .await;
    assert!(r.is_err(), "{r:?}");
    // An assurer holds only its own index.
    let r = fetch_audit_shard(&auditor.net, &spec, &assurers[4].net.peer_id(), &root, 1).await;
    assert!(r.is_err(), "{r:?}");
}

/// What a [`ServeEvents`] saw, in order.
#[derive(Default)]
struct Recorded(std::sync::Mutex<Vec<String>>);

impl ServeEvents for Recorded {
    fn received(&self, peer: &tessera_net::PeerId, request: Served) -> u64 {
        let mut seen = self.0.lock().unwrap();
        seen.push(format!("received {request:?} from {}", peer.0 .0[0]));
        seen.len() as u64
    }
    fn answered(&self, token: u64, request: Served, outcome: Result<(), &str>) {
        let outcome = outcome.map_err(|e| e.split(' ').take(3).collect::<Vec<_>>().join(" "));
        self.0
            .lock()
            .unwrap()
            .push(format!("answered {token} {request:?} {outcome:?}"));
    }
}

/// The served requests are reported (the node turns them into JIP-3's receiving-side
/// events): CE 137, 138, 147, 139 and 140 each `received` with what was asked, then
/// `answered` with the same token — `Ok` when served, the refusal when not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn served_requests_are_reported_before_and_after() {
    let spec = ChainSpec::tiny();
    let mut rng = SplitMix(7);
    let bundle = rng.bytes(3_000);
    let exports = vec![rng.bytes(spec.segment_size as usize)];
    let guarantor = node(&spec, 1);
    let mut engine = AvailabilityEngine::new(&spec, Backend::Simd);
    let package = Distributable::new(&spec, &mut engine, &bundle, &exports).unwrap();
    let root = package.erasure_root;
    store_distributable(&guarantor.store, &package, &bundle, &exports, 1, None).unwrap();
    // A second endpoint over the same store, reporting to `recorded`.
    let recorded = Arc::new(Recorded::default());
    let observed = tessera_net::Network::start(
        tessera_net::Identity::from_ed25519_seed([2; 32]),
        spec.clone(),
        common::config(),
    )
    .unwrap();
    register_observed(&observed, guarantor.store.clone(), recorded.clone());
    let auditor = node(&spec, 9);
    auditor
        .net
        .connect(observed.peer_id(), observed.local_addr().unwrap())
        .await
        .unwrap();

    let set = fetch_shard_set_from(&auditor.net, &spec, &observed.peer_id(), &root, 3).await;
    assert_eq!(set.unwrap(), package.shard_set(3).unwrap());
    let shard = fetch_audit_shard(&auditor.net, &spec, &observed.peer_id(), &root, 1).await;
    assert!(shard.is_ok(), "{shard:?}");
    let whole = auditor
        .net
        .request::<BundleRequest>(&observed.peer_id(), &root)
        .await
        .unwrap();
    assert_eq!(whole.0, bundle);
    let unknown = tessera_core::ByteArray([0xEE; 32]);
    let refused = auditor
        .net
        .request::<BundleRequest>(&observed.peer_id(), &unknown)
        .await;
    assert!(refused.is_err());
    // CE 139 for segment 0 and its proof page (index 1); CE 140 for a segment the
    // package did not export.
    let segments = |indices: Vec<u16>| {
        SegmentShardRequest(vec![SegmentShardRequestItem {
            erasure_root: root,
            shard_index: 2,
            segment_indices: indices,
        }])
    };
    let plain = auditor
        .net
        .request::<SegmentShardRequestProtocol>(&observed.peer_id(), &segments(vec![0, 1]))
        .await;
    assert!(plain.is_ok(), "{plain:?}");
    let justified = auditor
        .net
        .request::<JustifiedSegmentShardRequest>(&observed.peer_id(), &segments(vec![9]))
        .await;
    assert!(justified.is_err());

    let from = auditor.net.peer_id().0 .0[0];
    let seen = recorded.0.lock().unwrap().clone();
    let set_req = Served::ShardSet {
        erasure_root: root,
        shard_index: 3,
    };
    let audit_req = Served::AuditShard {
        erasure_root: root,
        shard_index: 1,
    };
    let bundle_req = Served::Bundle { erasure_root: root };
    let unknown_req = Served::Bundle {
        erasure_root: unknown,
    };
    let plain_req = Served::SegmentShards {
        justified: false,
        shards: 2,
    };
    let justified_req = Served::SegmentShards {
        justified: true,
        shards: 1,
    };
    assert_eq!(
        seen,
        [
            format!("received {set_req:?} from {from}"),
            format!("answered 1 {set_req:?} Ok(())"),
            format!("received {audit_req:?} from {from}"),
            format!("answered 3 {audit_req:?} Ok(())"),
            format!("received {bundle_req:?} from {from}"),
            format!("answered 5 {bundle_req:?} Ok(())"),
            format!("received {unknown_req:?} from {from}"),
            format!("answered 7 {unknown_req:?} Err(\"no bundle held\")"),
            format!("received {plain_req:?} from {from}"),
            format!("answered 9 {plain_req:?} Ok(())"),
            format!("received {justified_req:?} from {from}"),
            seen[11].clone(),
        ]
    );
    let refusal = format!("answered 11 {justified_req:?} Err(");
    assert!(seen[11].starts_with(&refusal), "{}", seen[11]);
}

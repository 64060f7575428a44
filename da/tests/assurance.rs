//! Assurances end to end on loopback (tiny spec, the six JIP-5 development
//! validators, each its own endpoint named by its Ed25519 key and its own RocksDB):
//! a guarantor stores a coded package for core 0; every validator fetches its shard
//! `(c·R + v) mod V` over CE 137, sets its bit, signs and sends its assurance over
//! CE 141 to the block author; the author checks them in one batch, builds `E_A`,
//! and the existing assurances transition (GP 11.10–11.17) makes the report
//! available. A forged assurance and one from a non-validator are refused.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tessera_core::crypto::jip5::ValidatorSecrets;
use tessera_core::spec::ChainSpec;
use tessera_core::types::{
    AvailabilitySpec, RefineContext, SegmentRootLookup, ValidatorData, WorkReport,
};
use tessera_core::{ByteArray, Bytes, Hash};
use tessera_da::assignment::shard_index;
use tessera_da::assurance::{self, bitfield, distribute, sign, AssuranceError, AssurancePool};
use tessera_da::availability::AvailabilityEngine;
use tessera_da::fetch::fetch_shard_set;
use tessera_da::package::Distributable;
use tessera_da::serve::{self, store_distributable};
use tessera_da::store::ShardStore;
use tessera_kernels::Backend;
use tessera_net::messages::AssuranceDistribution;
use tessera_net::{Identity, Network, NetworkConfig, RequestError};
use tessera_state::sigma::pending::{AvailabilityAssignments, PendingReport};
use tessera_state::sigma::validators::ValidatorSet;
use tessera_state::stf::assurances::{apply, AssurancesInput, AssurancesState};
use tessera_test_support::SplitMix;

const PARENT: Hash = ByteArray([0x77; 32]);

fn config() -> NetworkConfig {
    let mut c = NetworkConfig::new("127.0.0.1:0".parse().unwrap(), ByteArray([0xA5; 32]));
    c.request_timeout = Duration::from_secs(5);
    c.stream_timeout = Duration::from_millis(800);
    c.handshake_timeout = Duration::from_secs(3);
    c
}

/// The report pending on core 0, its availability specifier the package's.
fn report(erasure_root: Hash, segments_root: Hash, exports: u16) -> WorkReport {
    WorkReport {
        package_spec: AvailabilitySpec {
            hash: ByteArray([1; 32]),
            length: 9_000,
            erasure_root,
            exports_root: segments_root,
            exports_count: exports,
        },
        context: RefineContext {
            anchor: PARENT,
            state_root: ByteArray([2; 32]),
            beefy_root: ByteArray([3; 32]),
            lookup_anchor: PARENT,
            lookup_anchor_slot: 1,
            prerequisites: Vec::new(),
        },
        core_index: 0,
        authorizer_hash: ByteArray([4; 32]),
        auth_gas_used: 0,
        auth_output: Bytes(Vec::new()),
        segment_root_lookup: SegmentRootLookup(Vec::new()),
        results: Vec::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assurances_from_fetched_shards_make_the_report_available() {
    let spec = ChainSpec::tiny();
    let v = spec.validators();
    let secrets: Vec<ValidatorSecrets> = (0..v as u32).map(ValidatorSecrets::dev).collect();
    let keys: Vec<_> = secrets.iter().map(|s| s.ed25519.public()).collect();

    // Each validator: an endpoint under its own Ed25519 key, a store, the DA handlers.
    let mut nodes = Vec::new();
    for s in &secrets {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(ShardStore::open(&spec, dir.path()).unwrap());
        let net = Network::start(Identity::new(s.ed25519.clone()), spec.clone(), config()).unwrap();
        serve::register(&net, store.clone());
        nodes.push((net, store, dir));
    }
    // Validator 0 guarantees a package with two exports on core 0.
    let mut rng = SplitMix(7);
    let bundle = rng.bytes(9_000);
    let segments = rng.blobs(2, spec.segment_size as usize);
    let mut engine = AvailabilityEngine::new(&spec, Backend::Simd);
    let package = Distributable::new(&spec, &mut engine, &bundle, &segments).unwrap();
    store_distributable(&nodes[0].1, &package, &bundle, &segments, 1, None).unwrap();
    let root = package.erasure_root;

    // Validator 5 authors the next block.
    let author = 5;
    let pool = Arc::new(Mutex::new(AssurancePool::new(
        &spec,
        Backend::Simd,
        keys.clone(),
    )));
    assurance::register(&nodes[author].0, pool.clone());

    let guarantor = nodes[0].0.peer_id();
    let author_id = nodes[author].0.peer_id();
    let pending = [Some(root), None];
    for (i, (net, store, _)) in nodes.iter().enumerate() {
        let me = i as u16;
        if i != 0 {
            net.connect(guarantor, nodes[0].0.local_addr().unwrap())
                .await
                .unwrap();
        }
        if i != author {
            net.connect(author_id, nodes[author].0.local_addr().unwrap())
                .await
                .unwrap();
        }
        // Before fetching, the bit is clear (the guarantor holds every shard).
        assert_eq!(
            bitfield(&spec, store, &pending, me).unwrap().is_set(0),
            i == 0
        );
        let index = shard_index(&spec, 0, me).unwrap();
        if i != 0 {
            fetch_shard_set(net, store, &[guarantor], &root, index, 2)
                .await
                .unwrap();
        }
        let bits = bitfield(&spec, store, &pending, me).unwrap();
        assert!(bits.is_set(0) && !bits.is_set(1), "validator {i}");
        let a = sign(secrets[i].ed25519.secret(), me, PARENT, bits);
        if i == author {
            pool.lock()
                .unwrap()
                .receive(&author_id, assurance::to_message(&a))
                .unwrap();
        } else {
            assert!(distribute(net, &[author_id], &a).await.is_empty());
        }
    }

    // A forged assurance (validator 2's message re-signed by validator 3) fails the
    // batch check and does not replace validator 2's.
    let forged = sign(
        secrets[3].ed25519.secret(),
        2,
        PARENT,
        bitfield(&spec, &nodes[2].1, &pending, 2).unwrap(),
    );
    pool.lock()
        .unwrap()
        .receive(&nodes[2].0.peer_id(), assurance::to_message(&forged))
        .unwrap();
    // A peer that is no validator is refused at once.
    let stranger = Network::start(
        Identity::from_ed25519_seed([0xEE; 32]),
        spec.clone(),
        config(),
    )
    .unwrap();
    stranger
        .connect(author_id, nodes[author].0.local_addr().unwrap())
        .await
        .unwrap();
    let r = stranger
        .request::<AssuranceDistribution>(&author_id, &assurance::to_message(&forged))
        .await;
    assert!(
        matches!(r, Err(RequestError::Refused | RequestError::Reset { .. })),
        "{r:?}"
    );
    assert_eq!(
        pool.lock()
            .unwrap()
            .receive(&stranger.peer_id(), assurance::to_message(&forged)),
        Err(AssuranceError::NotAValidator(stranger.peer_id()))
    );

    // The author checks the batch: only the forged one is rejected.
    let rejected = pool.lock().unwrap().check();
    assert_eq!(rejected, vec![AssuranceError::BadSignature(2)]);
    let extrinsic = pool.lock().unwrap().for_block(&PARENT);
    let indices: Vec<u16> = extrinsic.0.iter().map(|a| a.validator_index).collect();
    assert_eq!(indices, (0..v as u16).collect::<Vec<_>>());
    assert!(pool
        .lock()
        .unwrap()
        .for_block(&ByteArray([0; 32]))
        .0
        .is_empty());

    // Through the assurances transition: the report on core 0 becomes available.
    let pending_report = report(root, package.segments_root, 2);
    let pre = AssurancesState {
        avail_assignments: AvailabilityAssignments(vec![
            Some(PendingReport {
                report: pending_report.clone(),
                timeout: 1,
            }),
            None,
        ]),
        curr_validators: ValidatorSet(
            keys.iter()
                .map(|k| ValidatorData {
                    bandersnatch: ByteArray([0; 32]),
                    ed25519: *k,
                    bls: ByteArray([0; 144]),
                    metadata: ByteArray([0; 128]),
                })
                .collect(),
        ),
    };
    let input = AssurancesInput {
        assurances: extrinsic,
        slot: 2,
        parent: PARENT,
    };
    let (post, out) = apply(&spec, &pre, &input).unwrap();
    assert_eq!(out.reported, vec![pending_report]);
    assert!(post.avail_assignments.get(0).is_none());
}

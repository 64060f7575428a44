//! The preimage pool (`tessera_node::preimages`, GP v0.7.2 §12.4) and its path
//! through a testnet.
//!
//! - The pool takes a preimage only for a service whose lookup entry
//!   `l[(H(p), |p|)]` is `[]` with `p[H(p)]` absent; it refuses one not
//!   requested, one already provided, one for no service and one over `W_C`, each
//!   with its own error. The extrinsic the pools build orders `E_P` by `(s, p)`,
//!   the block imports, and the posterior state holds each preimage with its
//!   lookup entry `[τ']`; the pool then prunes them all.
//! - A 6-validator tiny testnet with 1-second slots: a non-validator peer
//!   announces (CE 142) a solicited preimage to validator 1 and serves the wrong
//!   data over CE 143 — refused — then the right data — pooled; the
//!   genesis-solicited preimage ([`SOLICITED_PREIMAGE`]) submitted over JIP-2 RPC
//!   to validator 0 ends up in every validator's best state within a few slots,
//!   and validator 0 then serves it over CE 143.
//!
//! Expected values come from the definitions (`H`, the lookup entry), not from
//! written-out hashes.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use jsonrpsee::async_client::ClientBuilder;
use jsonrpsee::client_transport::ws::{Url, WsTransportClientBuilder};
use jsonrpsee::core::client::{ClientT, Error as ClientError};
use jsonrpsee::rpc_params;
use serde_json::Value;
use tessera_core::crypto::jip5::ValidatorSecrets;
use tessera_core::hash::{blake2b_256, Hash};
use tessera_core::spec::ChainSpec;
use tessera_core::types::{Preimage, ServiceId, TimeSlot};
use tessera_net::messages::{PreimageAnnouncement, PreimageRequest, Raw};
use tessera_net::{Identity, Network, NetworkConfig, Refusal};
use tessera_node::author::{author_block, slot_author, Parent};
use tessera_node::genesis::{testnet_genesis, SOLICITED_PREIMAGE};
use tessera_node::node::NodeEvent;
use tessera_node::operator::{self, OperatorConfig};
use tessera_node::pool::Pools;
use tessera_node::preimages::{PreimageError, PreimagePool};
use tessera_node::rpc::RpcConfig;
use tessera_node::testnet::{Testnet, TestnetConfig};
use tessera_node::testnet_service::{self, SERVICE_ID};
use tessera_state::sigma::accounts::ServiceAccount;
use tessera_state::{import_block, ChainState};

fn devs(spec: &ChainSpec) -> Vec<ValidatorSecrets> {
    (0..spec.validators() as u32)
        .map(ValidatorSecrets::dev)
        .collect()
}

fn len32(p: &[u8]) -> u32 {
    u32::try_from(p.len()).unwrap()
}

/// Whether service `s` of `state` holds `p` with lookup entry `slots`.
fn holds(state: &ChainState, s: ServiceId, p: &[u8]) -> Option<Vec<TimeSlot>> {
    let a = state.delta.get(&s)?;
    let h = blake2b_256(p);
    (a.preimage(s, &h)? == p).then(|| a.lookup(s, &h, len32(p)))?
}

#[test]
fn genesis_solicits_the_documented_preimage() {
    let spec = ChainSpec::tiny();
    let (_, state) = testnet_genesis(&spec, &devs(&spec)).unwrap();
    let a = &state.delta[&SERVICE_ID];
    let h = blake2b_256(SOLICITED_PREIMAGE);
    assert_eq!(
        a.lookup(SERVICE_ID, &h, len32(SOLICITED_PREIMAGE)),
        Some(vec![])
    );
    assert_eq!(a.preimage(SERVICE_ID, &h), None);
    // GP 9.8: every lookup entry `(h, z)` is two items and `81 + z` octets; the
    // service has no storage items.
    let lengths = [
        testnet_service::service_preimage().len(),
        testnet_service::authorizer_preimage().len(),
        SOLICITED_PREIMAGE.len(),
    ];
    assert_eq!(a.info.items, 2 * lengths.len() as u32);
    assert_eq!(
        a.info.bytes,
        lengths.iter().map(|z| 81 + *z as u64).sum::<u64>()
    );
}

#[test]
fn the_pool_takes_only_awaited_preimages() {
    let spec = ChainSpec::tiny();
    let (_, state) = testnet_genesis(&spec, &devs(&spec)).unwrap();
    let mut pool = PreimagePool::new(&spec);
    let h = blake2b_256(SOLICITED_PREIMAGE);

    // Not requested: no lookup entry of that hash and length.
    let other = b"a preimage nobody asked for".to_vec();
    assert_eq!(
        pool.add(&state, SERVICE_ID, other.clone()),
        Err(PreimageError::NotRequested {
            service: SERVICE_ID,
            hash: blake2b_256(&other),
            length: other.len(),
        })
    );
    // The right hash with the wrong length is another lookup key.
    let mut longer = SOLICITED_PREIMAGE.to_vec();
    longer.push(0);
    assert!(matches!(
        pool.add(&state, SERVICE_ID, longer),
        Err(PreimageError::NotRequested { .. })
    ));
    // Already provided: the service's code is in `p` with lookup `[0]`.
    let code = testnet_service::service_preimage();
    assert_eq!(
        pool.add(&state, SERVICE_ID, code.clone()),
        Err(PreimageError::AlreadyProvided {
            service: SERVICE_ID,
            hash: blake2b_256(&code),
        })
    );
    // A service that does not exist.
    assert_eq!(
        pool.add(&state, SERVICE_ID + 1, SOLICITED_PREIMAGE.to_vec()),
        Err(PreimageError::NoSuchService {
            service: SERVICE_ID + 1
        })
    );
    // Over `W_C`, refused before it is hashed.
    let big = vec![0u8; spec.max_service_code_size as usize + 1];
    assert_eq!(
        pool.add(&state, SERVICE_ID, big),
        Err(PreimageError::TooLarge {
            size: spec.max_service_code_size as usize + 1,
            max: spec.max_service_code_size as usize,
        })
    );
    assert!(pool.is_empty());
    // Each message names its reason.
    let e = pool.add(&state, SERVICE_ID, other).unwrap_err().to_string();
    assert!(e.contains("has not requested"), "{e}");

    // The solicited one: pooled once, and again is no change.
    assert_eq!(
        pool.add(&state, SERVICE_ID, SOLICITED_PREIMAGE.to_vec()),
        Ok(true)
    );
    assert_eq!(
        pool.add(&state, SERVICE_ID, SOLICITED_PREIMAGE.to_vec()),
        Ok(false)
    );
    assert_eq!(
        pool.get(&h).as_deref().map(Vec::as_slice),
        Some(SOLICITED_PREIMAGE)
    );
    assert_eq!((pool.len(), pool.octets()), (1, SOLICITED_PREIMAGE.len()));
}

/// Service 0 and a second service solicit several preimages; pooled in any
/// order, the pools' extrinsic has them ordered by `(s, p)`, the block imports,
/// and the posterior state holds each with lookup `[τ']`.
#[test]
fn the_extrinsic_is_ordered_and_imports() {
    let spec = ChainSpec::tiny();
    let validators = devs(&spec);
    let (header, mut state) = testnet_genesis(&spec, &validators).unwrap();
    let second: ServiceId = 42;
    let blobs: Vec<Vec<u8>> = vec![
        b"zz".to_vec(),
        b"a".to_vec(),
        b"mmm".to_vec(),
        SOLICITED_PREIMAGE.to_vec(),
    ];
    {
        let a = Arc::make_mut(state.delta.get_mut(&SERVICE_ID).unwrap());
        for b in &blobs {
            a.add_lookup(SERVICE_ID, &blake2b_256(b), len32(b));
        }
        let mut other = ServiceAccount::default();
        for b in &blobs[..2] {
            other.add_lookup(second, &blake2b_256(b), len32(b));
        }
        state.delta.insert(second, Arc::new(other));
    }
    let keys = state.kappa.0.iter().map(|k| k.ed25519).collect();
    let mut pools = Pools::new(&spec, tessera_kernels::Backend::Cpu, keys);
    // Pooled in reverse, second service first.
    for b in blobs[..2].iter().rev() {
        assert_eq!(pools.preimages.add(&state, second, b.clone()), Ok(true));
    }
    for b in blobs.iter().rev() {
        assert!(pools.preimages.add(&state, SERVICE_ID, b.clone()).is_ok());
    }
    let root = state.root();
    let slot = 1;
    let extrinsic = pools.extrinsic(&state, &header.hash(), slot);
    let items = &extrinsic.preimages.0;
    let mut expected: Vec<Preimage> = blobs
        .iter()
        .map(|b| Preimage {
            requester: SERVICE_ID,
            blob: b.clone().into(),
        })
        .chain(blobs[..2].iter().map(|b| Preimage {
            requester: second,
            blob: b.clone().into(),
        }))
        .collect();
    expected.sort();
    assert_eq!(items, &expected);
    assert!(items
        .windows(2)
        .all(|w| (w[0].requester, &w[0].blob.0) < (w[1].requester, &w[1].blob.0)));

    let (author, _) = slot_author(&spec, &state, slot, &validators)
        .unwrap()
        .expect("a dev validator holds slot 1");
    let block = author_block(
        &spec,
        Parent {
            state: &state,
            header_hash: header.hash(),
            state_root: root,
        },
        slot,
        author,
        extrinsic,
    )
    .unwrap();
    let post = import_block(&spec, &state, &root, &block)
        .unwrap_or_else(|e| panic!("the block with E_P does not import: {e}"));
    for b in &blobs {
        assert_eq!(holds(&post, SERVICE_ID, b), Some(vec![slot]));
    }
    for b in &blobs[..2] {
        assert_eq!(holds(&post, second, b), Some(vec![slot]));
    }
    // Provided: the pool drops them, and nothing is offered again.
    pools.prune(&post);
    assert!(pools.preimages.is_empty());
    assert_eq!(pools.preimages.octets(), 0);
    assert!(pools.preimages.extrinsic(&post).0.is_empty());
    assert_eq!(
        pools
            .preimages
            .add(&post, SERVICE_ID, SOLICITED_PREIMAGE.to_vec()),
        Err(PreimageError::AlreadyProvided {
            service: SERVICE_ID,
            hash: blake2b_256(SOLICITED_PREIMAGE),
        })
    );
}

/// `submitPreimage` to validator 0 over RPC; CE 142/143 spread it, some
/// validator's block carries it, and every validator's best state holds it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_submitted_preimage_reaches_every_validator() {
    let spec = ChainSpec::tiny();
    let validators = devs(&spec);
    let mut genesis = testnet_genesis(&spec, &validators).unwrap();
    // A second solicited preimage, for the peer below to introduce.
    let fetched: &[u8] = b"introduced by a non-validator over CE 142/143";
    let fetched_hash = blake2b_256(fetched);
    Arc::make_mut(genesis.1.delta.get_mut(&SERVICE_ID).unwrap()).add_lookup(
        SERVICE_ID,
        &fetched_hash,
        len32(fetched),
    );
    let genesis_hash = genesis.0.hash();
    let net = Testnet::start(TestnetConfig {
        spec: spec.clone(),
        genesis,
        validators,
        slot_duration: Duration::from_secs(1),
        base_path: None,
        port: 0,
        backend: tessera_kernels::Backend::Simd,
        archive: false,
        liars: Vec::new(),
        droppers: Vec::new(),
        hosted: None,
        remote: Vec::new(),
        slot_zero: None,
        farm: false,
    })
    .unwrap();
    // The testnet's JIP-4 chainspec names this network: its genesis, and every
    // validator as a bootnode where it listens.
    let written = tessera_node::chainspec::load(&net.chainspec_path()).unwrap();
    assert_eq!(written.genesis_header.hash(), genesis_hash);
    assert_eq!(written.spec.validators(), spec.validators());
    let listening: Vec<String> = net
        .nodes
        .iter()
        .map(|n| {
            let network = &n.shared().network;
            format!(
                "{}@{}",
                network.peer_id().alt_name(),
                network.local_addr().unwrap()
            )
        })
        .collect();
    let named: Vec<String> = written.bootnodes.iter().map(ToString::to_string).collect();
    assert_eq!(named, listening);
    let shared = net.nodes[0].shared().clone();
    let operator = operator::start(
        shared.clone(),
        OperatorConfig {
            rpc: Some(RpcConfig {
                port: 0,
                external: false,
            }),
            ..Default::default()
        },
    )
    .await;
    let url = Url::parse(&format!("ws://{}", operator.rpc_addr().unwrap())).unwrap();
    let (tx, rx) = WsTransportClientBuilder::default()
        .build(url)
        .await
        .unwrap();
    let client = ClientBuilder::default()
        .request_timeout(Duration::from_secs(5))
        .build_with_tokio(tx, rx);
    let submit = |p: &[u8]| {
        let params = rpc_params![SERVICE_ID, B64.encode(p)];
        let client = &client;
        async move {
            match client.request::<Value, _>("submitPreimage", params).await {
                Ok(v) => Ok(v),
                Err(ClientError::Call(e)) => Err(e.message().to_owned()),
                Err(e) => panic!("submitPreimage: transport error {e}"),
            }
        }
    };

    // Wait for the validators to connect (every one has imported a block).
    let deadline = Instant::now() + Duration::from_secs(20);
    while net
        .nodes
        .iter()
        .any(|n| n.shared().chain().best().height == 0)
    {
        assert!(Instant::now() < deadline, "no blocks on every validator");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let refused = submit(b"not solicited").await.unwrap_err();
    assert!(refused.contains("has not requested"), "{refused}");

    // A non-validator peer announces `fetched` to validator 1 (CE 142) and
    // answers its CE 143 request with other data first: refused, not pooled.
    let honest = Arc::new(AtomicBool::new(false));
    let served = Arc::new(AtomicUsize::new(0));
    let peer = Network::start(
        Identity::from_ed25519_seed([0x5e; 32]),
        spec.clone(),
        NetworkConfig::new("127.0.0.1:0".parse().unwrap(), genesis_hash),
    )
    .unwrap();
    {
        let (honest, served) = (honest.clone(), served.clone());
        peer.register::<PreimageRequest, _, _>(move |_, h: Hash| {
            let data = if honest.load(Ordering::SeqCst) {
                fetched.to_vec()
            } else {
                b"not the announced preimage".to_vec()
            };
            served.fetch_add(1, Ordering::SeqCst);
            async move {
                if h == fetched_hash {
                    Ok(Raw(data))
                } else {
                    Err(Refusal("unknown".into()))
                }
            }
        });
    }
    let v1 = net.nodes[1].shared().clone();
    peer.connect(v1.network.peer_id(), v1.network.local_addr().unwrap())
        .await
        .unwrap();
    let held_by_v1 = || {
        let best = v1.chain().best().hash;
        let state = v1.chain().state(&best).unwrap().unwrap().state;
        v1.pools().preimages.contains(&fetched_hash) || holds(&state, SERVICE_ID, fetched).is_some()
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    peer.request::<PreimageAnnouncement>(&v1.network.peer_id(), &fetched_hash)
        .await
        .unwrap();
    while served.load(Ordering::SeqCst) == 0 {
        assert!(Instant::now() < deadline, "validator 1 did not fetch");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!held_by_v1(), "a preimage not matching its hash was pooled");
    // Then the right data: fetched again and pooled.
    honest.store(true, Ordering::SeqCst);
    peer.request::<PreimageAnnouncement>(&v1.network.peer_id(), &fetched_hash)
        .await
        .unwrap();
    while !held_by_v1() {
        assert!(
            Instant::now() < deadline,
            "validator 1 did not pool the preimage"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(served.load(Ordering::SeqCst), 2);
    let mut events = net.nodes[0].subscribe();
    assert_eq!(submit(SOLICITED_PREIMAGE).await, Ok(Value::Null));

    // The blocks that carry it (one per fork at most), seen from validator 0.
    let mut carried_in: BTreeSet<TimeSlot> = BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(15);
    // Every best state holds it with lookup `[τ']`, τ' the slot of a block that
    // carried it (GP §12.4), and no pool holds it any more.
    let solicited_hash = blake2b_256(SOLICITED_PREIMAGE);
    let everywhere = |carried_in: &BTreeSet<TimeSlot>| {
        net.nodes.iter().all(|n| {
            let shared = n.shared();
            let best = shared.chain().best().hash;
            let state = shared.chain().state(&best).unwrap().unwrap().state;
            holds(&state, SERVICE_ID, SOLICITED_PREIMAGE)
                .is_some_and(|l| l.len() == 1 && carried_in.contains(&l[0]))
                && !shared.pools().preimages.contains(&solicited_hash)
        })
    };
    while !everywhere(&carried_in) {
        assert!(
            Instant::now() < deadline,
            "the preimage did not reach every validator (carried in {carried_in:?})"
        );
        let event = tokio::time::timeout(Duration::from_millis(500), events.recv()).await;
        if let Ok(Ok(NodeEvent::Authored(info) | NodeEvent::Imported(info))) = event {
            let block = shared.chain().block(&info.hash);
            let Some(block) = block else { continue };
            let items = &block.extrinsic.preimages.0;
            if items
                .iter()
                .any(|p| p.requester == SERVICE_ID && p.blob.0.as_slice() == SOLICITED_PREIMAGE)
            {
                carried_in.insert(info.slot);
            }
        }
    }
    // Now provided: submitting again names the reason.
    let again = submit(SOLICITED_PREIMAGE).await.unwrap_err();
    assert!(again.contains("already been provided"), "{again}");
    // Validator 0 serves it over CE 143 (from its state now), and refuses a hash
    // it has no preimage for.
    let v0 = shared.network.peer_id();
    peer.connect(v0, shared.network.local_addr().unwrap())
        .await
        .unwrap();
    let Raw(got) = peer
        .request::<PreimageRequest>(&v0, &blake2b_256(SOLICITED_PREIMAGE))
        .await
        .unwrap();
    assert_eq!(got, SOLICITED_PREIMAGE);
    assert!(peer
        .request::<PreimageRequest>(&v0, &blake2b_256(b"nobody has this"))
        .await
        .is_err());
    peer.close();
}

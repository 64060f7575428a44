//! The JIP-2 RPC server against a fake node: a small in-memory chain of three
//! blocks whose states are built here. A WebSocket client calls every method with
//! good and bad parameters, and subscriptions see new blocks. Expected values are
//! computed from the states with the state crate's own serialization (GP D.2), not
//! written out.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use jsonrpsee::async_client::{Client, ClientBuilder};
use jsonrpsee::client_transport::ws::{Url, WsTransportClientBuilder};
use jsonrpsee::core::client::{ClientT, Error as ClientError, Subscription, SubscriptionClientT};
use jsonrpsee::core::params::ArrayParams;
use jsonrpsee::rpc_params;
use serde_json::{json, Value};
use tessera_core::bytes::ByteArray;
use tessera_core::hash::{blake2b_256, Hash};
use tessera_core::spec::ChainSpec;
use tessera_core::types::ServiceId;
use tessera_node::rpc::{
    self, BlockDescriptor, ChainEvent, NodeView, RpcConfig, WorkPackageStatus,
};
use tessera_state::serial::state_key;
use tessera_state::sigma::accounts::{ServiceAccount, ServiceInfo};
use tessera_state::sigma::{ChainState, Gamma, Statistics};
use tessera_state::stf::accumulate::PrivilegesRecord;
use tessera_state::stf::safrole::sealing::TicketsOrKeys;
use tessera_state::stf::statistics::ValidatorActivityRecord;
use tokio::sync::broadcast;

const SERVICE: ServiceId = 7;
const KEY: &[u8] = b"counter";
const PREIMAGE: &[u8] = b"the service's preimage";
const REQUESTED_LEN: u32 = 10;

struct Block {
    desc: BlockDescriptor,
    parent: Option<BlockDescriptor>,
    state: Arc<ChainState>,
}

#[derive(Default)]
struct Chain {
    blocks: HashMap<Hash, Block>,
    best: Option<BlockDescriptor>,
    finalized: Option<BlockDescriptor>,
}

/// A work-package submission as the node received it: core, package, extrinsics.
type Submitted = (u16, Vec<u8>, Vec<Vec<u8>>);

struct Fake {
    spec: ChainSpec,
    chain: Mutex<Chain>,
    events: broadcast::Sender<ChainEvent>,
    packages: Mutex<Vec<Submitted>>,
    preimages: Mutex<Vec<(ServiceId, Vec<u8>)>>,
}

fn zero_block() -> BlockDescriptor {
    BlockDescriptor {
        header_hash: Hash::default(),
        slot: 0,
    }
}

impl NodeView for Fake {
    fn spec(&self) -> &ChainSpec {
        &self.spec
    }
    fn best_block(&self) -> BlockDescriptor {
        self.chain.lock().unwrap().best.unwrap_or_else(zero_block)
    }
    fn finalized_block(&self) -> BlockDescriptor {
        self.chain
            .lock()
            .unwrap()
            .finalized
            .unwrap_or_else(zero_block)
    }
    fn parent(&self, h: &Hash) -> Option<BlockDescriptor> {
        self.chain.lock().unwrap().blocks.get(h)?.parent
    }
    fn state(&self, h: &Hash) -> Option<Arc<ChainState>> {
        Some(self.chain.lock().unwrap().blocks.get(h)?.state.clone())
    }
    fn events(&self) -> broadcast::Receiver<ChainEvent> {
        self.events.subscribe()
    }
    fn submit_work_package(
        &self,
        core: u16,
        package: Vec<u8>,
        extrinsics: Vec<Vec<u8>>,
    ) -> Result<(), String> {
        if package.is_empty() {
            return Err("empty work-package".into());
        }
        self.packages
            .lock()
            .unwrap()
            .push((core, package, extrinsics));
        Ok(())
    }
    fn submit_preimage(&self, requester: ServiceId, preimage: Vec<u8>) -> Result<(), String> {
        self.preimages.lock().unwrap().push((requester, preimage));
        Ok(())
    }
    fn work_package_status(
        &self,
        h: &Hash,
        package: &Hash,
        _anchor: &Hash,
    ) -> Option<WorkPackageStatus> {
        let chain = self.chain.lock().unwrap();
        let b = chain.blocks.get(h)?;
        // The fake's rule: a package whose hash starts with 0xAA was reported on
        // core 1 in the block at slot 1; any other has `10 - slot` blocks left.
        Some(if package.0[0] == 0xAA {
            WorkPackageStatus::Reported {
                reported_in: b.desc,
                core: 1,
                report_hash: ByteArray([0xBB; 32]),
            }
        } else {
            WorkPackageStatus::Reportable {
                remaining_blocks: 10 - b.desc.slot,
            }
        })
    }
}

impl Fake {
    fn add(
        &self,
        slot: u32,
        parent: Option<BlockDescriptor>,
        state: ChainState,
    ) -> BlockDescriptor {
        let desc = BlockDescriptor {
            header_hash: blake2b_256(&slot.to_le_bytes()),
            slot,
        };
        self.chain.lock().unwrap().blocks.insert(
            desc.header_hash,
            Block {
                desc,
                parent,
                state: Arc::new(state),
            },
        );
        desc
    }
    fn set_best(&self, b: BlockDescriptor) {
        self.chain.lock().unwrap().best = Some(b);
        let _ = self.events.send(ChainEvent::BestBlock(b));
    }
    fn set_finalized(&self, b: BlockDescriptor) {
        self.chain.lock().unwrap().finalized = Some(b);
        let _ = self.events.send(ChainEvent::FinalizedBlock(b));
    }
}

/// A state at `slot` with one service whose storage `KEY` holds `value`, one
/// provided preimage and one outstanding request, and non-zero statistics.
fn state(spec: &ChainSpec, slot: u32, value: &[u8]) -> ChainState {
    let c = spec.cores();
    let mut account = ServiceAccount {
        info: ServiceInfo {
            code_hash: ByteArray([3; 32]),
            balance: 1 << 40,
            creation_slot: 0,
            last_accumulation_slot: slot,
            ..Default::default()
        },
        ..Default::default()
    };
    account.set_storage(SERVICE, KEY, value.to_vec());
    let ph = blake2b_256(PREIMAGE);
    account.set_preimage(SERVICE, &ph, PREIMAGE.to_vec());
    account.set_lookup(SERVICE, &ph, PREIMAGE.len() as u32, &[3]);
    account.set_lookup(SERVICE, &ByteArray([9; 32]), REQUESTED_LEN, &[]);
    let records = (0..spec.validators())
        .map(|i| ValidatorActivityRecord {
            blocks: slot + i as u32,
            ..Default::default()
        })
        .collect::<Vec<_>>();
    ChainState {
        alpha: Default::default(),
        phi: Default::default(),
        beta: Default::default(),
        gamma: Gamma {
            pending: Default::default(),
            ring_root: ByteArray([0; 144]),
            seal_keys: TicketsOrKeys::Keys(Vec::new()),
            tickets: Vec::new(),
        },
        psi: Default::default(),
        eta: Default::default(),
        iota: Default::default(),
        kappa: Default::default(),
        lambda: Default::default(),
        rho: Default::default(),
        tau: slot,
        chi: PrivilegesRecord {
            bless: 0,
            assign: vec![0; c],
            designate: 0,
            register: 0,
            always_acc: Vec::new(),
        },
        pi: Statistics {
            // π_V and π_L differ, so that an encoder that swapped them is caught.
            last: records
                .iter()
                .map(|r| ValidatorActivityRecord {
                    blocks: r.blocks + 100,
                    ..*r
                })
                .collect(),
            current: records,
            ..Default::default()
        },
        omega: vec![Vec::new(); spec.epoch_length as usize],
        xi: vec![Vec::new(); spec.epoch_length as usize],
        theta: Vec::new(),
        delta: [(SERVICE, Arc::new(account))].into_iter().collect(),
    }
}

fn b64(x: &[u8]) -> Value {
    Value::String(B64.encode(x))
}

fn desc_json(b: BlockDescriptor) -> Value {
    json!({ "header_hash": b64(&b.header_hash.0), "slot": b.slot })
}

async fn client(addr: std::net::SocketAddr) -> Client {
    let url = Url::parse(&format!("ws://{addr}")).unwrap();
    let (tx, rx) = WsTransportClientBuilder::default()
        .build(url)
        .await
        .unwrap();
    ClientBuilder::default()
        .request_timeout(Duration::from_secs(5))
        .build_with_tokio(tx, rx)
}

async fn call(
    c: &Client,
    method: &str,
    params: ArrayParams,
) -> Result<Value, (i32, String, Option<Value>)> {
    match c.request::<Value, _>(method, params).await {
        Ok(v) => Ok(v),
        Err(ClientError::Call(e)) => Err((
            e.code(),
            e.message().to_owned(),
            e.data().map(|d| serde_json::from_str(d.get()).unwrap()),
        )),
        Err(e) => panic!("{method}: transport error {e}"),
    }
}

/// The call fails with JSON-RPC "invalid params" (-32602) and a message.
async fn invalid(c: &Client, method: &str, params: ArrayParams) {
    match call(c, method, params).await {
        Err((code, msg, _)) => {
            assert_eq!(code, -32602, "{method}: {msg}");
            assert!(!msg.is_empty());
        }
        Ok(v) => panic!("{method} accepted bad params: {v}"),
    }
}

async fn next(sub: &mut Subscription<Value>) -> Value {
    tokio::time::timeout(Duration::from_secs(5), sub.next())
        .await
        .expect("no notification within 5 s")
        .expect("subscription closed")
        .expect("notification does not decode")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_method_good_and_bad_params_and_subscriptions() {
    let spec = ChainSpec::tiny();
    let (events, _) = broadcast::channel(16);
    let fake = Arc::new(Fake {
        spec: spec.clone(),
        chain: Mutex::default(),
        events,
        packages: Mutex::default(),
        preimages: Mutex::default(),
    });
    let s0 = state(&spec, 0, b"zero");
    let s1 = state(&spec, 1, b"one");
    let g = fake.add(0, None, s0.clone());
    let b1 = fake.add(1, Some(g), s1.clone());
    fake.set_best(b1);
    fake.set_finalized(g);

    let server = rpc::start(
        RpcConfig {
            port: 0,
            external: false,
        },
        fake.clone(),
    )
    .await
    .unwrap();
    let addr = server.local_addr();
    assert!(addr.ip().is_loopback());
    assert_ne!(addr.port(), 0);
    let c = client(addr).await;

    // parameters: every member is the spec's constant of that name.
    let p = call(&c, "parameters", rpc_params![]).await.unwrap();
    let v1 = &p["V1"];
    assert_eq!(v1["core_count"], json!(spec.core_count));
    assert_eq!(v1["val_count"], json!(spec.validator_count));
    assert_eq!(v1["epoch_period"], json!(spec.epoch_length));
    assert_eq!(v1["basic_piece_len"], json!(spec.erasure_piece_size));
    assert_eq!(v1["max_input"], json!(spec.max_bundle_size));
    assert_eq!(v1.as_object().unwrap().len(), 33);
    invalid(&c, "parameters", rpc_params![1]).await;

    // bestBlock, finalizedBlock, parent.
    assert_eq!(
        call(&c, "bestBlock", rpc_params![]).await.unwrap(),
        desc_json(b1)
    );
    assert_eq!(
        call(&c, "finalizedBlock", rpc_params![]).await.unwrap(),
        desc_json(g)
    );
    assert_eq!(
        call(&c, "parent", rpc_params![b64(&b1.header_hash.0)])
            .await
            .unwrap(),
        desc_json(g)
    );
    // The genesis block has no parent here: JIP-2 error 1 with the hash as data.
    let (code, _, data) = call(&c, "parent", rpc_params![b64(&g.header_hash.0)])
        .await
        .unwrap_err();
    assert_eq!(code, 1);
    assert_eq!(data, Some(b64(&g.header_hash.0)));
    invalid(&c, "parent", rpc_params![]).await;
    invalid(&c, "parent", rpc_params!["not base64!"]).await;
    invalid(&c, "parent", rpc_params![b64(&[0; 31])]).await;
    invalid(&c, "parent", rpc_params![42]).await;
    // Parameters by name are refused (JIP-2: by position).
    let mut named = jsonrpsee::core::params::ObjectParams::new();
    named.insert("header_hash", b64(&b1.header_hash.0)).unwrap();
    let err = c.request::<Value, _>("parent", named).await.unwrap_err();
    assert!(matches!(err, ClientError::Call(e) if e.code() == -32602));

    // stateRoot: M_σ of the block's posterior state.
    let h1 = b64(&b1.header_hash.0);
    assert_eq!(
        call(&c, "stateRoot", rpc_params![h1.clone()])
            .await
            .unwrap(),
        b64(&s1.root().0)
    );
    let unknown = b64(&[0xEE; 32]);
    assert_eq!(
        call(&c, "stateRoot", rpc_params![unknown.clone()])
            .await
            .unwrap_err()
            .0,
        1
    );

    // statistics: π as serialized at C(13).
    let kv1 = s1.serialize();
    assert_eq!(
        call(&c, "statistics", rpc_params![h1.clone()])
            .await
            .unwrap(),
        b64(&kv1[&state_key::component(13)])
    );
    invalid(&c, "statistics", rpc_params![h1.clone(), 1]).await;

    // serviceData: the metadata as serialized at C(255, s); Null for no service.
    assert_eq!(
        call(&c, "serviceData", rpc_params![h1.clone(), SERVICE])
            .await
            .unwrap(),
        b64(&kv1[&state_key::service(SERVICE)])
    );
    assert_eq!(
        call(&c, "serviceData", rpc_params![h1.clone(), 8])
            .await
            .unwrap(),
        Value::Null
    );
    invalid(&c, "serviceData", rpc_params![h1.clone(), -1]).await;
    invalid(&c, "serviceData", rpc_params![h1.clone(), 1u64 << 32]).await;

    // serviceValue: per block.
    assert_eq!(
        call(
            &c,
            "serviceValue",
            rpc_params![h1.clone(), SERVICE, b64(KEY)]
        )
        .await
        .unwrap(),
        b64(b"one")
    );
    assert_eq!(
        call(
            &c,
            "serviceValue",
            rpc_params![b64(&g.header_hash.0), SERVICE, b64(KEY)]
        )
        .await
        .unwrap(),
        b64(b"zero")
    );
    assert_eq!(
        call(
            &c,
            "serviceValue",
            rpc_params![h1.clone(), SERVICE, b64(b"other")]
        )
        .await
        .unwrap(),
        Value::Null
    );
    invalid(&c, "serviceValue", rpc_params![h1.clone(), SERVICE, 5]).await;

    // servicePreimage.
    let ph = blake2b_256(PREIMAGE);
    assert_eq!(
        call(
            &c,
            "servicePreimage",
            rpc_params![h1.clone(), SERVICE, b64(&ph.0)]
        )
        .await
        .unwrap(),
        b64(PREIMAGE)
    );
    assert_eq!(
        call(
            &c,
            "servicePreimage",
            rpc_params![h1.clone(), SERVICE, b64(&[1; 32])]
        )
        .await
        .unwrap(),
        Value::Null
    );
    invalid(&c, "servicePreimage", rpc_params![h1.clone(), SERVICE]).await;

    // serviceRequest: provided at slot 3 → [3]; requested only → []; unknown → Null.
    assert_eq!(
        call(
            &c,
            "serviceRequest",
            rpc_params![h1.clone(), SERVICE, b64(&ph.0), PREIMAGE.len()]
        )
        .await
        .unwrap(),
        json!([3])
    );
    assert_eq!(
        call(
            &c,
            "serviceRequest",
            rpc_params![h1.clone(), SERVICE, b64(&[9; 32]), REQUESTED_LEN]
        )
        .await
        .unwrap(),
        json!([])
    );
    assert_eq!(
        call(
            &c,
            "serviceRequest",
            rpc_params![h1.clone(), SERVICE, b64(&[9; 32]), 11]
        )
        .await
        .unwrap(),
        Value::Null
    );
    invalid(
        &c,
        "serviceRequest",
        rpc_params![h1.clone(), SERVICE, b64(&[9; 32]), "10"],
    )
    .await;

    // listServices.
    assert_eq!(
        call(&c, "listServices", rpc_params![h1.clone()])
            .await
            .unwrap(),
        json!([SERVICE])
    );
    assert_eq!(
        call(&c, "listServices", rpc_params![unknown.clone()])
            .await
            .unwrap_err()
            .0,
        1
    );

    // submitWorkPackage: handed to the node as decoded octets.
    assert_eq!(
        call(
            &c,
            "submitWorkPackage",
            rpc_params![1, b64(b"package"), vec![b64(b"x1"), b64(b"x2")]]
        )
        .await
        .unwrap(),
        Value::Null
    );
    assert_eq!(
        fake.packages.lock().unwrap().as_slice(),
        &[(
            1u16,
            b"package".to_vec(),
            vec![b"x1".to_vec(), b"x2".to_vec()]
        )]
    );
    invalid(
        &c,
        "submitWorkPackage",
        rpc_params![spec.core_count, b64(b"p"), Vec::<Value>::new()],
    )
    .await;
    invalid(
        &c,
        "submitWorkPackage",
        rpc_params![0, b64(b"p"), b64(b"x")],
    )
    .await;
    invalid(
        &c,
        "submitWorkPackage",
        rpc_params![0, b64(b"p"), vec![json!(1)]],
    )
    .await;
    // The node's refusal is JIP-2 error 0 with its message.
    let (code, msg, _) = call(
        &c,
        "submitWorkPackage",
        rpc_params![0, b64(b""), Vec::<Value>::new()],
    )
    .await
    .unwrap_err();
    assert_eq!((code, msg.as_str()), (0, "empty work-package"));

    // submitPreimage.
    assert_eq!(
        call(&c, "submitPreimage", rpc_params![SERVICE, b64(PREIMAGE)])
            .await
            .unwrap(),
        Value::Null
    );
    assert_eq!(
        fake.preimages.lock().unwrap().as_slice(),
        &[(SERVICE, PREIMAGE.to_vec())]
    );
    invalid(&c, "submitPreimage", rpc_params![SERVICE]).await;

    // workPackageStatus.
    let anchor = b64(&g.header_hash.0);
    assert_eq!(
        call(
            &c,
            "workPackageStatus",
            rpc_params![h1.clone(), b64(&[1; 32]), anchor.clone()]
        )
        .await
        .unwrap(),
        json!({ "Reportable": { "remaining_blocks": 9 } })
    );
    assert_eq!(
        call(
            &c,
            "workPackageStatus",
            rpc_params![h1.clone(), b64(&[0xAA; 32]), anchor.clone()]
        )
        .await
        .unwrap(),
        json!({ "Reported": { "reported_in": desc_json(b1), "core": 1, "report_hash": b64(&[0xBB; 32]) } })
    );
    assert_eq!(
        call(
            &c,
            "workPackageStatus",
            rpc_params![unknown.clone(), b64(&[1; 32]), anchor.clone()]
        )
        .await
        .unwrap_err()
        .0,
        1
    );
    invalid(
        &c,
        "workPackageStatus",
        rpc_params![h1.clone(), b64(&[1; 32])],
    )
    .await;

    // Subscriptions: the current value at once, then each new tracked block.
    let mut best = c
        .subscribe::<Value, _>("subscribeBestBlock", rpc_params![], "unsubscribeBestBlock")
        .await
        .unwrap();
    // JIP-2: subscription ids are Numbers.
    assert!(matches!(
        best.kind(),
        jsonrpsee::core::client::SubscriptionKind::Subscription(
            jsonrpsee::types::SubscriptionId::Num(_)
        )
    ));
    let mut fin = c
        .subscribe::<Value, _>(
            "subscribeFinalizedBlock",
            rpc_params![],
            "unsubscribeFinalizedBlock",
        )
        .await
        .unwrap();
    let mut value = c
        .subscribe::<Value, _>(
            "subscribeServiceValue",
            rpc_params![SERVICE, b64(KEY), false],
            "unsubscribeServiceValue",
        )
        .await
        .unwrap();
    let mut stats = c
        .subscribe::<Value, _>(
            "subscribeStatistics",
            rpc_params![true],
            "unsubscribeStatistics",
        )
        .await
        .unwrap();
    let mut status = c
        .subscribe::<Value, _>(
            "subscribeWorkPackageStatus",
            rpc_params![b64(&[1; 32]), anchor.clone(), false],
            "unsubscribeWorkPackageStatus",
        )
        .await
        .unwrap();
    assert_eq!(next(&mut best).await, desc_json(b1));
    assert_eq!(next(&mut fin).await, desc_json(g));
    assert_eq!(
        next(&mut value).await,
        json!({ "header_hash": h1.clone(), "slot": 1, "value": b64(b"one") })
    );
    let kv0 = s0.serialize();
    assert_eq!(
        next(&mut stats).await,
        json!({ "header_hash": b64(&g.header_hash.0), "slot": 0, "value": b64(&kv0[&state_key::component(13)]) })
    );
    assert_eq!(
        next(&mut status).await["value"],
        json!({ "Reportable": { "remaining_blocks": 9 } })
    );

    let s2 = state(&spec, 2, b"two");
    let b2 = fake.add(2, Some(b1), s2);
    fake.set_best(b2);
    fake.set_finalized(b1);
    assert_eq!(next(&mut best).await, desc_json(b2));
    assert_eq!(next(&mut fin).await, desc_json(b1));
    assert_eq!(
        next(&mut value).await,
        json!({ "header_hash": b64(&b2.header_hash.0), "slot": 2, "value": b64(b"two") })
    );
    assert_eq!(
        next(&mut stats).await,
        json!({ "header_hash": h1.clone(), "slot": 1, "value": b64(&kv1[&state_key::component(13)]) })
    );
    assert_eq!(
        next(&mut status).await["value"],
        json!({ "Reportable": { "remaining_blocks": 8 } })
    );

    // A subscription with bad params is refused with invalid params.
    let err = c
        .subscribe::<Value, _>(
            "subscribeServiceData",
            rpc_params![SERVICE],
            "unsubscribeServiceData",
        )
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Call(e) if e.code() == -32602));
    let mut data = c
        .subscribe::<Value, _>(
            "subscribeServiceData",
            rpc_params![SERVICE, false],
            "unsubscribeServiceData",
        )
        .await
        .unwrap();
    assert_eq!(next(&mut data).await["slot"], json!(2));
    let mut pre = c
        .subscribe::<Value, _>(
            "subscribeServicePreimage",
            rpc_params![SERVICE, b64(&ph.0), false],
            "unsubscribeServicePreimage",
        )
        .await
        .unwrap();
    assert_eq!(next(&mut pre).await["value"], b64(PREIMAGE));
    let mut req = c
        .subscribe::<Value, _>(
            "subscribeServiceRequest",
            rpc_params![SERVICE, b64(&ph.0), PREIMAGE.len(), true],
            "unsubscribeServiceRequest",
        )
        .await
        .unwrap();
    assert_eq!(next(&mut req).await["value"], json!([3]));

    // The server survived all of it.
    assert_eq!(
        call(&c, "bestBlock", rpc_params![]).await.unwrap(),
        desc_json(b2)
    );
    best.unsubscribe().await.unwrap();
    server.stop().await;
}

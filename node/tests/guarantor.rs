//! Guaranteeing over JAMNP-S on loopback (`tessera_node::guarantor`): the six tiny
//! JIP-5 development validators on the testnet genesis, each with a
//! [`Guarantor`], and a builder submitting over CE 133.
//!
//! - An honest core's package yields a guarantee with ≥ 2 valid signatures whose
//!   report carries the service's refine output (the FNV-1a of the payload,
//!   [`refine_reference`]), the guarantee reaches the other validators over CE 135,
//!   and a block at slot 1 carrying it imports on the genesis (the guarantees STF,
//!   GP 11.23–11.44, through `import_block`).
//! - A package whose authorizer hash is not in the core's pool (GP 11.30) is
//!   refused to the builder, and nothing is guaranteed.
//! - On the other core two of the three guarantors lie: submitted to a liar, the
//!   guarantee's report differs from the honest one, and it still imports (the
//!   lie reaches the chain, for auditors to catch).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tessera_core::crypto::ed25519;
use tessera_core::crypto::jip5::{ed25519_seed, trivial_seed, ValidatorSecrets};
use tessera_core::hash::Hash;
use tessera_core::spec::ChainSpec;
use tessera_core::types::{
    CoreIndex, Extrinsic, Guarantee, GuaranteesExtrinsic, WorkExecResult, WorkPackage,
};
use tessera_core::Bytes;
use tessera_da::availability::AvailabilityEngine;
use tessera_da::store::ShardStore;
use tessera_kernels::Backend;
use tessera_net::messages::{
    WorkPackageSubmission, WorkPackageSubmissionProtocol, WorkReportDistribution,
};
use tessera_net::{Identity, Network, NetworkConfig, PeerId};
use tessera_node::author::{author_block, slot_author, Parent};
use tessera_node::builder::{testnet_package, Anchor};
use tessera_node::genesis::testnet_genesis;
use tessera_node::guarantor::{guarantee_message, guarantors_of, Behaviour, BestState, Guarantor};
use tessera_node::testnet_service::refine_reference;
use tessera_state::{import_block, ChainState};

const SLOT: u32 = 1;

fn config(genesis: Hash, builder: bool) -> NetworkConfig {
    let mut c = NetworkConfig::new("127.0.0.1:0".parse().unwrap(), genesis);
    c.builder = builder;
    c.request_timeout = Duration::from_secs(20);
    c.stream_timeout = Duration::from_secs(20);
    c.handshake_timeout = Duration::from_secs(5);
    c
}

struct Net {
    spec: ChainSpec,
    genesis_hash: Hash,
    state: Arc<ChainState>,
    root: Hash,
    validators: Vec<ValidatorSecrets>,
    nets: Vec<Network>,
    guarantors: Vec<Guarantor>,
    /// CE 135 deliveries, by receiving validator.
    received: Arc<Mutex<BTreeMap<usize, Vec<Guarantee>>>>,
    _dirs: Vec<tempfile::TempDir>,
}

/// The six validators, every pair connected; `liars` lie.
async fn start(liars: &[usize]) -> Net {
    let spec = ChainSpec::tiny();
    let validators: Vec<ValidatorSecrets> = (0..spec.validators() as u32)
        .map(ValidatorSecrets::dev)
        .collect();
    let (header, state) = testnet_genesis(&spec, &validators).unwrap();
    let genesis_hash = header.hash();
    let root = state.root();
    let state = Arc::new(state);
    let mut nets = Vec::new();
    for (i, v) in validators.iter().enumerate() {
        let id = Identity::from_ed25519_seed(ed25519_seed(&trivial_seed(i as u32)));
        assert_eq!(id.peer_id(), PeerId::from(v.ed25519.public()));
        nets.push(Network::start(id, spec.clone(), config(genesis_hash, false)).unwrap());
    }
    for i in 0..nets.len() {
        for j in i + 1..nets.len() {
            nets[i]
                .connect(nets[j].peer_id(), nets[j].local_addr().unwrap())
                .await
                .unwrap();
        }
    }
    let received = Arc::new(Mutex::new(BTreeMap::<usize, Vec<Guarantee>>::new()));
    let mut guarantors = Vec::new();
    let mut dirs = Vec::new();
    for (i, net) in nets.iter().enumerate() {
        let r = received.clone();
        net.register::<WorkReportDistribution, _, _>(move |_peer, g: Guarantee| {
            let r = r.clone();
            async move {
                r.lock().unwrap().entry(i).or_default().push(g);
                Ok(())
            }
        });
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(ShardStore::open(&spec, dir.path()).unwrap());
        dirs.push(dir);
        let best = {
            let state = state.clone();
            move || BestState {
                header_hash: genesis_hash,
                state: state.clone(),
                state_root: root,
                slot: SLOT,
            }
        };
        guarantors.push(Guarantor::start(
            spec.clone(),
            validators[i].clone(),
            if liars.contains(&i) {
                Behaviour::Lie
            } else {
                Behaviour::Honest
            },
            net.clone(),
            best,
            store,
            AvailabilityEngine::new(&spec, Backend::Cpu),
        ));
    }
    Net {
        spec,
        genesis_hash,
        state,
        root,
        validators,
        nets,
        guarantors,
        received,
        _dirs: dirs,
    }
}

impl Net {
    fn package(&self, payload: &[u8]) -> WorkPackage {
        testnet_package(
            &self.spec,
            &self.state,
            &Anchor {
                header_hash: self.genesis_hash,
                state_root: self.root,
            },
            payload.to_vec(),
        )
    }

    /// Submit over CE 133 from a fresh builder endpoint to validator `to`.
    async fn submit(
        &self,
        to: usize,
        core: CoreIndex,
        package: WorkPackage,
    ) -> Result<(), tessera_net::RequestError> {
        let id = Identity::from_ed25519_seed([0xb1; 32]);
        let builder =
            Network::start(id, self.spec.clone(), config(self.genesis_hash, true)).unwrap();
        let peer = self.nets[to].peer_id();
        builder
            .connect(peer, self.nets[to].local_addr().unwrap())
            .await
            .unwrap();
        let r = builder
            .request::<WorkPackageSubmissionProtocol>(
                &peer,
                &WorkPackageSubmission {
                    core_index: core,
                    package,
                    extrinsics: Vec::new(),
                },
            )
            .await;
        builder.close();
        r
    }

    /// Import a block at slot 1 carrying `g` onto the genesis.
    fn import(&self, g: &Guarantee) -> Result<ChainState, String> {
        let (author, _) = slot_author(&self.spec, &self.state, SLOT, &self.validators)
            .unwrap()
            .expect("a dev author for slot 1");
        let block = author_block(
            &self.spec,
            Parent {
                state: &self.state,
                header_hash: self.genesis_hash,
                state_root: self.root,
            },
            SLOT,
            author,
            Extrinsic {
                guarantees: GuaranteesExtrinsic(vec![g.clone()]),
                ..Default::default()
            },
        )
        .map_err(|e| e.to_string())?;
        import_block(&self.spec, &self.state, &self.root, &block).map_err(|e| e.to_string())
    }

    /// The signatures verify against κ (GP 11.26).
    fn check_signatures(&self, g: &Guarantee) {
        let message = guarantee_message(&g.report.hash());
        for s in &g.signatures {
            let key = self.state.kappa.ed25519(s.validator_index).unwrap();
            ed25519::verify(key, &message, &s.signature).expect("a valid guarantor signature");
        }
    }
}

async fn next_guarantee(
    g: &Guarantor,
    rx: &mut tokio::sync::broadcast::Receiver<Guarantee>,
) -> Guarantee {
    let _ = g;
    tokio::time::timeout(Duration::from_secs(40), rx.recv())
        .await
        .expect("a guarantee in time")
        .expect("the guarantee channel")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guarantees_refuses_and_lies_on_loopback() {
    // Which validators guarantee which core at slot 1 (GP 11.20); the second
    // core gets two liars.
    let spec = ChainSpec::tiny();
    let validators: Vec<ValidatorSecrets> = (0..spec.validators() as u32)
        .map(ValidatorSecrets::dev)
        .collect();
    let (_, genesis) = testnet_genesis(&spec, &validators).unwrap();
    let honest_core: CoreIndex = 0;
    let lying_core: CoreIndex = 1;
    let honest = guarantors_of(&spec, &genesis, SLOT, honest_core);
    let lying = guarantors_of(&spec, &genesis, SLOT, lying_core);
    assert_eq!((honest.len(), lying.len()), (3, 3));
    let liars = [usize::from(lying[0]), usize::from(lying[1])];
    let net = start(&liars).await;

    // 1. An honest package, submitted to the core's first guarantor.
    let primary = usize::from(honest[0]);
    let mut rx = net.guarantors[primary].subscribe();
    let payload = b"tessera testnet payload".to_vec();
    let package = net.package(&payload);
    net.submit(primary, honest_core, package.clone())
        .await
        .expect("the submission is accepted");
    let g = next_guarantee(&net.guarantors[primary], &mut rx).await;
    assert!(g.signatures.len() >= 2, "{} signatures", g.signatures.len());
    assert!(g
        .signatures
        .windows(2)
        .all(|w| w[0].validator_index < w[1].validator_index));
    assert!(g
        .signatures
        .iter()
        .all(|s| honest.contains(&s.validator_index)));
    net.check_signatures(&g);
    assert_eq!(g.slot, SLOT);
    assert_eq!(g.report.core_index, honest_core);
    assert_eq!(
        g.report.results[0].result,
        WorkExecResult::Ok(Bytes(refine_reference(&payload)))
    );
    let post = net.import(&g).expect("the guarantee imports at slot 1");
    assert_eq!(
        post.rho.0[usize::from(honest_core)]
            .as_ref()
            .map(|p| &p.report),
        Some(&g.report)
    );
    // CE 135 reached the other validators.
    tokio::time::sleep(Duration::from_millis(300)).await;
    {
        let received = net.received.lock().unwrap();
        let got = (0..net.nets.len())
            .filter(|i| *i != primary)
            .filter(|i| received.get(i).is_some_and(|v| v.contains(&g)))
            .count();
        assert_eq!(got, net.nets.len() - 1, "CE 135 deliveries");
    }

    // 2. An authorizer that is not in the pool: refused to the builder.
    let mut bad = net.package(b"unauthorized");
    bad.authorizer_config = Bytes(b"not the testnet's".to_vec());
    assert!(net.submit(primary, honest_core, bad).await.is_err());
    // Not assigned to that core: refused too.
    assert!(net
        .submit(usize::from(lying[2]), honest_core, net.package(b"x"))
        .await
        .is_err());

    // 3. Two liars on the other core: the report differs from the honest one.
    let liar = liars[0];
    let mut rx = net.guarantors[liar].subscribe();
    let payload = b"a payload a liar misreports".to_vec();
    net.submit(liar, lying_core, net.package(&payload))
        .await
        .expect("accepted");
    let lie = next_guarantee(&net.guarantors[liar], &mut rx).await;
    assert_eq!(lie.signatures.len(), 2);
    assert!(lie
        .signatures
        .iter()
        .all(|s| liars.contains(&usize::from(s.validator_index))));
    net.check_signatures(&lie);
    assert_ne!(
        lie.report.results[0].result,
        WorkExecResult::Ok(Bytes(refine_reference(&payload)))
    );
    net.import(&lie).expect("a lie passes the guarantees STF");
    for n in &net.nets {
        n.close();
    }
}

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
//! - Segment imports (GP 14.3, no vector: the reference is the service's own
//!   export definition and GP 14.14's bundle): a package on one core exports a
//!   segment; a package on the other core imports it, by segments root and by
//!   package hash, fetched over CE 139 from the exporting core's shard holders.
//!   Its bundle (checked through the erasure root and length of the report)
//!   carries exactly that segment and its justification, its co-guarantors sign,
//!   and imports the node knows nothing of are refused. The importer learns of
//!   the exporter from a stored block read back as after a restart
//!   (`ExportsIndex::recall`).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tessera_core::crypto::ed25519;
use tessera_core::crypto::jip5::{ed25519_seed, trivial_seed, ValidatorSecrets};
use tessera_core::hash::Hash;
use tessera_core::spec::ChainSpec;
use tessera_core::types::{
    CoreIndex, Extrinsic, Guarantee, GuaranteesExtrinsic, ImportSpec, WorkExecResult, WorkPackage,
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
use tessera_node::exports::{ExportsIndex, PACKAGE_HASH_FLAG};
use tessera_node::genesis::testnet_genesis;
use tessera_node::guarantor::{guarantee_message, guarantors_of, Behaviour, BestState, Guarantor};
use tessera_node::testnet_service::{export_reference, refine_reference};
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
    genesis: tessera_core::types::Header,
    genesis_hash: Hash,
    state: Arc<ChainState>,
    root: Hash,
    validators: Vec<ValidatorSecrets>,
    nets: Vec<Network>,
    guarantors: Vec<Guarantor>,
    /// The guarantors' exports index (each node's own in a real node).
    exports: Arc<ExportsIndex>,
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
    let exports = Arc::new(ExportsIndex::new());
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
        tessera_da::serve::register(net, store.clone());
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
        let guarantor = Guarantor::start(
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
        );
        assert!(guarantor.set_exports(exports.clone()));
        guarantors.push(guarantor);
    }
    Net {
        spec,
        genesis_hash,
        state,
        root,
        validators,
        nets,
        guarantors,
        exports,
        received,
        genesis: header,
        _dirs: dirs,
    }
}

impl Net {
    fn package(&self, payload: &[u8]) -> WorkPackage {
        self.package_importing(payload, Vec::new())
    }

    fn package_importing(&self, payload: &[u8], imports: Vec<ImportSpec>) -> WorkPackage {
        testnet_package(
            &self.spec,
            &self.state,
            &Anchor {
                header_hash: self.genesis_hash,
                state_root: self.root,
            },
            payload.to_vec(),
            imports,
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
        let block = self.block_with(g)?;
        import_block(&self.spec, &self.state, &self.root, &block).map_err(|e| e.to_string())
    }

    /// The block of slot 1 on genesis carrying `g`.
    fn block_with(&self, g: &Guarantee) -> Result<tessera_core::types::Block, String> {
        let (author, _) = slot_author(&self.spec, &self.state, SLOT, &self.validators)
            .unwrap()
            .expect("a dev author for slot 1");
        author_block(
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
        .map_err(|e| e.to_string())
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imports_are_fetched_proven_and_carried_in_the_bundle() {
    use tessera_audit::execute::Bundle;
    use tessera_core::codec::Encode;
    use tessera_core::hash::blake2b_256;
    use tessera_core::merkle::constant_depth;
    use tessera_da::package::Distributable;

    let net = start(&[]).await;
    let spec = net.spec.clone();
    let w_g = spec.segment_size as usize;
    let (exporting, importing): (CoreIndex, CoreIndex) = (0, 1);
    let exporter = usize::from(guarantors_of(&spec, &net.state, SLOT, exporting)[0]);
    let importer = usize::from(guarantors_of(&spec, &net.state, SLOT, importing)[0]);

    // 1. A package exporting three segments, the service's E_8(h) ⌢ E_8(j)
    // padded; the last is imported (a justification two levels deep).
    let payload = b"a package whose export is imported".to_vec();
    let mut rx = net.guarantors[exporter].subscribe();
    let mut package = net.package(&payload);
    package.items[0].export_count = 3;
    net.submit(exporter, exporting, package.clone())
        .await
        .expect("accepted");
    let exported = next_guarantee(&net.guarantors[exporter], &mut rx).await;
    let segments: Vec<Vec<u8>> = (0..3).map(|j| export_reference(&payload, j, w_g)).collect();
    let segment = segments[2].clone();
    let justification = constant_depth::justifications(&segments, blake2b_256)[2].clone();
    assert_eq!(justification.len(), 2);
    let spec_of = exported.report.package_spec;
    assert_eq!(spec_of.exports_count, 3);
    assert_eq!(
        spec_of.exports_root,
        constant_depth::root(&segments, blake2b_256)
    );
    let by_root = ImportSpec {
        tree_root: spec_of.exports_root,
        index: 2,
    };

    // The importer's JIP-3 events, to a test server (messages after the info
    // message: E_8(time), the discriminator, the fields).
    let (events, events_addr) = telemetry_sink().await;
    let observer = tessera_node::observe::Observer::new();
    assert!(
        observer.connect_telemetry(tessera_node::telemetry::Telemetry::connect(
            events_addr.to_string(),
            tessera_node::telemetry::NodeInfo {
                peer_id: net.nets[importer].peer_id().0 .0,
                address: net.nets[importer].local_addr().unwrap(),
                flags: 0,
                name: tessera_node::telemetry::Text::new("Tessera"),
                version: tessera_node::telemetry::Text::new("test"),
                note: tessera_node::telemetry::Text::new(""),
            },
        ))
    );
    assert!(net.guarantors[importer].set_observer(observer));

    // 2. Before any block carried its report, the importer knows no such root.
    let first = net.package_importing(b"too early", vec![by_root]);
    assert!(net.submit(importer, importing, first).await.is_err());
    // The index learns of it from a block carrying its report: stored, then
    // read back by a restarted node ([`ExportsIndex::recall`]).
    {
        use tessera_node::chain::Chain;
        use tessera_node::store::StateStore;
        let dir = tempfile::tempdir().unwrap();
        let open = || {
            Chain::open(
                &spec,
                StateStore::open(&spec, dir.path()).unwrap(),
                &net.genesis,
                (*net.state).clone(),
            )
            .unwrap()
        };
        let mut chain = open();
        chain
            .import(&net.block_with(&exported).unwrap())
            .expect("the exporter's guarantee imports");
        drop(chain);
        assert_eq!(net.exports.recall(&open()), 1);
    }

    // 3. Imported by segments root, then by package hash.
    let mut rx = net.guarantors[importer].subscribe();
    let by_hash = ImportSpec {
        tree_root: spec_of.hash,
        index: PACKAGE_HASH_FLAG | 2,
    };
    for (imports, lookup) in [
        (vec![by_root], vec![]),
        (vec![by_hash], vec![(spec_of.hash, spec_of.exports_root)]),
    ] {
        let payload = format!("importing {lookup:?}").into_bytes();
        let package = net.package_importing(&payload, imports);
        net.submit(importer, importing, package.clone())
            .await
            .expect("an import of a known segment is accepted");
        let g = next_guarantee(&net.guarantors[importer], &mut rx).await;
        assert!(g.signatures.len() >= 2, "co-guarantors checked and signed");
        net.check_signatures(&g);
        assert_eq!(
            g.report.results[0].result,
            WorkExecResult::Ok(Bytes(refine_reference(&payload)))
        );
        let got: Vec<_> = g
            .report
            .segment_root_lookup
            .0
            .iter()
            .map(|l| (l.work_package_hash, l.segment_tree_root))
            .collect();
        assert_eq!(got, lookup);
        // GP 14.14: the bundle is the package, its imported segment and the
        // segment's justification J_0; the report's erasure root and length are
        // those of exactly that bundle with the importer's own export.
        let bundle = Bundle {
            package: package.clone(),
            extrinsics: vec![Vec::new()],
            imports: vec![vec![segment.clone()]],
            justifications: vec![vec![justification.clone()]],
        }
        .encode();
        let exports = vec![export_reference(&payload, 0, w_g)];
        let mut engine = AvailabilityEngine::new(&spec, Backend::Cpu);
        let coded = Distributable::new(&spec, &mut engine, &bundle, &exports).unwrap();
        assert_eq!(g.report.package_spec.length as usize, bundle.len());
        assert_eq!(g.report.package_spec.erasure_root, coded.erasure_root);
        assert_eq!(g.report.package_spec.hash, blake2b_256(&package.encode()));
        // JIP-3: 160 for an import named by hash (package hash, segments root),
        // 161 (segments root, erasure root), 168 (import ids [0], not trivial),
        // a CE 139 request to each of R = 2 assurers (162, then 165 and 167),
        // 170 naming 168's event, 172 (import ids [0]); each under one
        // submission event.
        let all = segment_events(&events).await;
        let (requests, seen): (Vec<_>, Vec<_>) = all
            .into_iter()
            .partition(|(d, _, _)| (162..=167).contains(d));
        let expected: Vec<u8> = if lookup.is_empty() {
            vec![161, 168, 170, 172]
        } else {
            vec![160, 161, 168, 170, 172]
        };
        assert_eq!(
            seen.iter().map(|(d, _, _)| *d).collect::<Vec<_>>(),
            expected
        );
        let count = |d: u8| requests.iter().filter(|(x, _, _)| *x == d).count();
        assert_eq!((count(162), count(165), count(167)), (2, 2, 2));
        for (_, id, fields) in requests.iter().filter(|(d, _, _)| *d == 162) {
            assert_eq!(*id, seen[0].1, "under the submission event");
            // Assurer, CE 139 (not 140), then (import segment ID, shard index):
            // the import (ID 0) and its proof page (2^15 + page 0).
            assert_eq!(fields[32], 0);
            assert_eq!(fields[33], 2);
            let shard = u16::from_le_bytes([fields[36], fields[37]]);
            assert_eq!(&fields[34..36], &0u16.to_le_bytes());
            assert_eq!(&fields[38..40], &0x8000u16.to_le_bytes());
            assert_eq!(u16::from_le_bytes([fields[40], fields[41]]), shard);
            assert_eq!(fields.len(), 42);
        }
        let submission = seen[0].1;
        let fields = |d: u8| &seen.iter().find(|(x, _, _)| *x == d).unwrap().2;
        if !lookup.is_empty() {
            assert_eq!(fields(160)[..32], spec_of.hash.0);
            assert_eq!(fields(160)[32..], spec_of.exports_root.0);
        }
        assert_eq!(fields(161)[..32], spec_of.exports_root.0);
        assert_eq!(fields(161)[32..], spec_of.erasure_root.0);
        assert_eq!(fields(168), &[1, 0, 0, 0]);
        let reconstructing = seen.iter().find(|(d, _, _)| *d == 168).unwrap();
        assert_eq!(reconstructing.1, submission);
        let reconstructed = seen.iter().find(|(d, _, _)| *d == 170).unwrap();
        assert!(reconstructed.1 > submission, "170 names 168's own event");
        assert_eq!(fields(172), &[1, 0, 0]);
    }

    // 4. Refused: an index past the export count, and an unknown root.
    let past = net.package_importing(
        b"past the exports",
        vec![ImportSpec {
            tree_root: spec_of.exports_root,
            index: 3,
        }],
    );
    assert!(net.submit(importer, importing, past).await.is_err());
    let unknown = net.package_importing(
        b"unknown",
        vec![ImportSpec {
            tree_root: blake2b_256(b"no such root"),
            index: 0,
        }],
    );
    assert!(net.submit(importer, importing, unknown).await.is_err());
    for n in &net.nets {
        n.close();
    }
}

type Events = Arc<tokio::sync::Mutex<tokio::sync::mpsc::UnboundedReceiver<Vec<u8>>>>;

/// A telemetry server on loopback: each message after the node-information
/// message, whole, in order.
async fn telemetry_sink() -> (Events, std::net::SocketAddr) {
    use tokio::io::AsyncReadExt as _;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut first = true;
        loop {
            let mut size = [0u8; 4];
            if s.read_exact(&mut size).await.is_err() {
                return;
            }
            let mut m = vec![0u8; u32::from_le_bytes(size) as usize];
            if s.read_exact(&mut m).await.is_err() {
                return;
            }
            if !std::mem::take(&mut first) {
                let _ = tx.send(m);
            }
        }
    });
    (Arc::new(tokio::sync::Mutex::new(rx)), addr)
}

/// The segment-recovery events (JIP-3 160–172) up to the next 172 "segments
/// verified": each as (discriminator, first field as an event ID, the fields
/// after it). Events are numbered in the order sent, so the ID of the first
/// field is the submission's (or, for 170, the 168 event's).
async fn segment_events(events: &Events) -> Vec<(u8, u64, Vec<u8>)> {
    let mut rx = events.lock().await;
    let mut seen = Vec::new();
    loop {
        let m = tokio::time::timeout(Duration::from_secs(20), rx.recv())
            .await
            .expect("segment events in time")
            .expect("the telemetry server");
        let disc = m[8];
        if (160..=172).contains(&disc) {
            let id = u64::from_le_bytes(m[9..17].try_into().unwrap());
            seen.push((disc, id, m[17..].to_vec()));
            if disc == 172 {
                return seen;
            }
        }
    }
}

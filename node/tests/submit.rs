//! `tessera submit` (`tessera_node::submit_cmd`): the library submission reaches
//! real guarantors over CE 133 with the builder ALPN and is guaranteed; the
//! command refuses a malformed package file or target with a clear error.

use std::sync::Arc;
use std::time::Duration;

use tessera_core::crypto::jip5::{ed25519_seed, trivial_seed, ValidatorSecrets};
use tessera_core::spec::ChainSpec;
use tessera_core::types::WorkExecResult;
use tessera_core::Bytes;
use tessera_da::availability::AvailabilityEngine;
use tessera_da::store::ShardStore;
use tessera_kernels::Backend;
use tessera_net::messages::WorkPackageSubmission;
use tessera_net::{Identity, Network, NetworkConfig};
use tessera_node::builder::{testnet_package, Anchor};
use tessera_node::genesis::testnet_genesis;
use tessera_node::guarantor::{guarantors_of, Behaviour, BestState, Guarantor};
use tessera_node::submit_cmd::{parse_target, submit, Target};
use tessera_node::testnet_service::refine_reference;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn library_submission_is_guaranteed() {
    let spec = ChainSpec::tiny();
    let validators: Vec<ValidatorSecrets> = (0..spec.validators() as u32)
        .map(ValidatorSecrets::dev)
        .collect();
    let (header, state) = testnet_genesis(&spec, &validators).unwrap();
    let (genesis_hash, root) = (header.hash(), state.root());
    let state = Arc::new(state);
    let mut config = NetworkConfig::new("127.0.0.1:0".parse().unwrap(), genesis_hash);
    config.request_timeout = Duration::from_secs(20);
    let nets: Vec<Network> = (0..validators.len())
        .map(|i| {
            let id = Identity::from_ed25519_seed(ed25519_seed(&trivial_seed(i as u32)));
            Network::start(id, spec.clone(), config.clone()).unwrap()
        })
        .collect();
    for i in 0..nets.len() {
        for j in i + 1..nets.len() {
            nets[i]
                .connect(nets[j].peer_id(), nets[j].local_addr().unwrap())
                .await
                .unwrap();
        }
    }
    let mut dirs = Vec::new();
    let guarantors: Vec<Guarantor> = nets
        .iter()
        .enumerate()
        .map(|(i, net)| {
            let dir = tempfile::tempdir().unwrap();
            let store = Arc::new(ShardStore::open(&spec, dir.path()).unwrap());
            dirs.push(dir);
            let state = state.clone();
            Guarantor::start(
                spec.clone(),
                validators[i].clone(),
                Behaviour::Honest,
                net.clone(),
                move || BestState {
                    header_hash: genesis_hash,
                    state: state.clone(),
                    state_root: root,
                    slot: 1,
                },
                store,
                AvailabilityEngine::new(&spec, Backend::Cpu),
            )
        })
        .collect();
    let core = 1;
    let to = usize::from(guarantors_of(&spec, &state, 1, core)[0]);
    let mut rx = guarantors[to].subscribe();
    let payload = vec![0x5a; 5000];
    let package = testnet_package(
        &spec,
        &state,
        &Anchor {
            header_hash: genesis_hash,
            state_root: root,
        },
        payload.clone(),
        Vec::new(),
    );
    // The target as a user writes it: N(k)@ip:port.
    let target = parse_target(&format!(
        "{}@{}",
        nets[to].peer_id().alt_name(),
        nets[to].local_addr().unwrap()
    ))
    .unwrap();
    assert_eq!(
        target,
        Target {
            peer: nets[to].peer_id(),
            addr: nets[to].local_addr().unwrap()
        }
    );
    let results = submit(
        &spec,
        genesis_hash,
        &[target],
        &WorkPackageSubmission {
            core_index: core,
            package,
            extrinsics: Vec::new(),
        },
        Duration::from_secs(10),
    )
    .await
    .unwrap();
    assert!(results[0].is_ok(), "{:?}", results[0]);
    let g = tokio::time::timeout(Duration::from_secs(40), rx.recv())
        .await
        .expect("a guarantee in time")
        .unwrap();
    assert!(g.signatures.len() >= 2);
    assert_eq!(
        g.report.results[0].result,
        WorkExecResult::Ok(Bytes(refine_reference(&payload)))
    );
    for n in &nets {
        n.close();
    }
}

fn tessera(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(args)
        .output()
        .expect("runs tessera")
}

#[test]
fn malformed_package_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.bin");
    std::fs::write(&file, [0xff, 0x01, 0x02]).unwrap();
    let key = Identity::from_ed25519_seed([7; 32]).peer_id().alt_name();
    let target = format!("{key}@127.0.0.1:9");
    let out = tessera(&[
        "submit",
        "--chain",
        "tiny",
        "--to",
        &target,
        "--core",
        "0",
        "--package",
        file.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("is not a GP-encoded work package"),
        "stderr: {err}"
    );
}

#[test]
fn malformed_target_is_a_clear_error() {
    let out = tessera(&[
        "submit",
        "--chain",
        "tiny",
        "--to",
        "nobody@127.0.0.1:9",
        "--core",
        "0",
        "--payload-bytes",
        "10",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is not a JAMNP-S N(k)"), "stderr: {err}");
}

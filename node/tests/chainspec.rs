//! JIP-4 chainspecs: one written then read back, and malformed ones whose errors
//! name the field at fault.

use std::sync::Arc;

use serde_json::{json, Value};
use tessera_core::bytes::ByteArray;
use tessera_core::codec::Encode;
use tessera_core::crypto::ed25519;
use tessera_core::spec::ChainSpec;
use tessera_core::types::{Header, ValidatorData};
use tessera_node::chainspec::{self, Bootnode, ChainSpecError, ChainSpecFile};
use tessera_state::sigma::accounts::{ServiceAccount, ServiceInfo};
use tessera_state::sigma::pending::AvailabilityAssignments;
use tessera_state::sigma::validators::ValidatorSet;
use tessera_state::sigma::{ChainState, Gamma, Statistics};
use tessera_state::stf::accumulate::PrivilegesRecord;
use tessera_state::stf::authorizations::{AuthPools, AuthQueues};
use tessera_state::stf::safrole::sealing::TicketsOrKeys;
use tessera_state::stf::statistics::CoresStatistics;

fn validators(spec: &ChainSpec, seed: u8) -> ValidatorSet {
    ValidatorSet(
        (0..spec.validators())
            .map(|i| {
                let b = seed.wrapping_add(i as u8);
                ValidatorData {
                    bandersnatch: ByteArray([b; 32]),
                    ed25519: ed25519::PublicKey(ByteArray([b; 32])),
                    bls: ByteArray([b; 144]),
                    metadata: ByteArray([b; 128]),
                }
            })
            .collect(),
    )
}

/// A tiny genesis state with every component at its spec-fixed size and one
/// service with a storage item.
fn genesis_state(spec: &ChainSpec) -> ChainState {
    let c = spec.cores();
    let e = spec.epoch_length as usize;
    let mut account = ServiceAccount {
        info: ServiceInfo {
            code_hash: ByteArray([3; 32]),
            balance: 1 << 40,
            ..Default::default()
        },
        ..Default::default()
    };
    account.set_storage(7, b"key", b"value".to_vec());
    ChainState {
        alpha: AuthPools(vec![vec![ByteArray([1; 32])]; c]),
        phi: AuthQueues(vec![
            vec![ByteArray([1; 32]); spec.auth_queue_size as usize];
            c
        ]),
        beta: Default::default(),
        gamma: Gamma {
            pending: validators(spec, 10),
            ring_root: ByteArray([0; 144]),
            seal_keys: TicketsOrKeys::Keys(vec![ByteArray([5; 32]); e]),
            tickets: Vec::new(),
        },
        psi: Default::default(),
        eta: Default::default(),
        iota: validators(spec, 10),
        kappa: validators(spec, 20),
        lambda: validators(spec, 30),
        rho: AvailabilityAssignments(vec![None; c]),
        tau: 0,
        chi: PrivilegesRecord {
            bless: 0,
            assign: vec![0; c],
            designate: 0,
            register: 0,
            always_acc: Vec::new(),
        },
        pi: Statistics {
            current: vec![Default::default(); spec.validators()],
            last: vec![Default::default(); spec.validators()],
            cores: CoresStatistics(vec![Default::default(); c]),
            services: Vec::new(),
        },
        omega: vec![Vec::new(); e],
        xi: vec![Vec::new(); e],
        theta: Vec::new(),
        delta: [(7, Arc::new(account))].into_iter().collect(),
    }
}

fn header() -> Header {
    Header {
        parent: ByteArray([0; 32]),
        parent_state_root: ByteArray([0; 32]),
        extrinsic_hash: ByteArray([9; 32]),
        slot: 0,
        epoch_mark: None,
        tickets_mark: None,
        author_index: 0,
        entropy_source: ByteArray([0; 96]),
        offenders_mark: Vec::new(),
        seal: ByteArray([0; 96]),
    }
}

fn spec_file() -> ChainSpecFile {
    let spec = ChainSpec::tiny();
    ChainSpecFile {
        id: "tessera-testnet".into(),
        bootnodes: vec![
            Bootnode {
                peer: tessera_net::PeerId(ed25519::PublicKey(ByteArray([0xAB; 32]))),
                addr: "127.0.0.1:40000".parse().unwrap(),
            },
            Bootnode {
                peer: tessera_net::PeerId(ed25519::PublicKey(ByteArray([0x01; 32]))),
                addr: "[::1]:40001".parse().unwrap(),
            },
        ],
        genesis_state: genesis_state(&spec),
        genesis_header: header(),
        spec,
    }
}

fn field_of(e: ChainSpecError) -> String {
    match e {
        ChainSpecError::Field { field, reason } => {
            assert!(!reason.is_empty());
            field
        }
        other => panic!("expected a field error, got {other}"),
    }
}

#[test]
fn written_then_read_is_the_same_spec() {
    let dir = std::env::temp_dir().join(format!("tessera-chainspec-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("spec.json");
    let c = spec_file();
    chainspec::write(&path, &c).unwrap();
    let back = chainspec::load(&path).unwrap();
    assert_eq!(back, c);
    assert_eq!(back.spec.name, tessera_core::spec::SpecName::Tiny);

    // The file is JIP-4's shape: hex header, 62-digit state keys, N(k)@ip:port.
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(
        v["genesis_header"],
        json!(hex::encode(c.genesis_header.encode()))
    );
    let state = v["genesis_state"].as_object().unwrap();
    assert_eq!(state.len(), c.genesis_state.serialize().len());
    assert!(state.keys().all(|k| k.len() == 62));
    let boot = v["bootnodes"].as_array().unwrap();
    assert_eq!(
        boot[0],
        json!(format!(
            "{}@127.0.0.1:40000",
            tessera_net::alt_name(&ed25519::PublicKey(ByteArray([0xAB; 32])))
        ))
    );
    assert!(boot[1].as_str().unwrap().ends_with("@[::1]:40001"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn full_parameters_and_absent_parameters() {
    // `protocol_parameters` absent: the GP's (full) parameters, under which this
    // tiny state's validator sets have the wrong length: an error naming
    // `genesis_state`.
    let mut v: Value = serde_json::from_str(&chainspec::to_json(&spec_file())).unwrap();
    v.as_object_mut().unwrap().remove("protocol_parameters");
    assert_eq!(
        field_of(chainspec::parse(&v.to_string()).unwrap_err()),
        "genesis_state"
    );
    // A full-spec file reads back as full.
    let spec = ChainSpec::full();
    let mut c = spec_file();
    c.genesis_state = genesis_state(&spec);
    c.spec = spec;
    let back = chainspec::parse(&chainspec::to_json(&c)).unwrap();
    assert_eq!(back.spec.name, tessera_core::spec::SpecName::Full);
    assert_eq!(back, c);
}

#[test]
fn malformed_specs_name_the_field() {
    let good: Value = serde_json::from_str(&chainspec::to_json(&spec_file())).unwrap();
    let with = |f: &dyn Fn(&mut serde_json::Map<String, Value>)| {
        let mut v = good.clone();
        f(v.as_object_mut().unwrap());
        chainspec::parse(&v.to_string()).unwrap_err()
    };
    assert!(matches!(
        chainspec::parse("{"),
        Err(ChainSpecError::Json(_))
    ));
    assert!(matches!(
        chainspec::parse("[]"),
        Err(ChainSpecError::Json(_))
    ));
    assert_eq!(
        field_of(with(&|m| {
            m.remove("id");
        })),
        "id"
    );
    assert_eq!(
        field_of(with(&|m| {
            m.insert("id".into(), json!(5));
        })),
        "id"
    );
    assert_eq!(
        field_of(with(&|m| {
            m.insert("bootnodes".into(), json!("x"));
        })),
        "bootnodes"
    );
    let name = tessera_net::alt_name(&ed25519::PublicKey(ByteArray([0xAB; 32])));
    let bad_boots = [
        json!("no-at-sign"),
        json!(format!("{name}@localhost:80")),
        json!(format!("{name}@127.0.0.1")),
        json!("eabc@127.0.0.1:80"),
        json!(format!("{}@127.0.0.1:80", name.replace('e', "1"))),
        json!(7),
    ];
    for b in bad_boots {
        let e = with(&|m| {
            m.insert(
                "bootnodes".into(),
                json!([format!("{name}@127.0.0.1:1"), b.clone()]),
            );
        });
        assert_eq!(field_of(e), "bootnodes[1]", "{b}");
    }
    assert_eq!(
        field_of(with(&|m| {
            m.insert("protocol_parameters".into(), json!("00ff"));
        })),
        "protocol_parameters"
    );
    assert_eq!(
        field_of(with(&|m| {
            m.insert("protocol_parameters".into(), json!("zz"));
        })),
        "protocol_parameters"
    );
    assert_eq!(
        field_of(with(&|m| {
            m.remove("genesis_header");
        })),
        "genesis_header"
    );
    let short_header = good["genesis_header"].as_str().unwrap()[..100].to_owned();
    assert_eq!(
        field_of(with(&|m| {
            m.insert("genesis_header".into(), json!(short_header.clone()));
        })),
        "genesis_header"
    );
    assert_eq!(
        field_of(with(&|m| {
            m.remove("genesis_state");
        })),
        "genesis_state"
    );
    assert_eq!(
        field_of(with(&|m| {
            m.insert("genesis_state".into(), json!([]));
        })),
        "genesis_state"
    );
    let e = with(&|m| {
        m["genesis_state"]
            .as_object_mut()
            .unwrap()
            .insert("abcd".into(), json!("00"));
    });
    assert_eq!(field_of(e), "genesis_state[\"abcd\"]");
    let key = "ff".repeat(31);
    let e = with(&|m| {
        m["genesis_state"]
            .as_object_mut()
            .unwrap()
            .insert(key.clone(), json!("not hex"));
    });
    assert_eq!(field_of(e), format!("genesis_state[\"{key}\"]"));
    // A component that does not decode: the state decoder's error, under
    // `genesis_state`.
    let tau = format!("0b{}", "00".repeat(30));
    let e = with(&|m| {
        m["genesis_state"]
            .as_object_mut()
            .unwrap()
            .insert(tau.clone(), json!("0102"));
    });
    assert_eq!(field_of(e), "genesis_state");
    // A missing file is an I/O error naming the path.
    let e = chainspec::load(std::path::Path::new("/nonexistent/spec.json")).unwrap_err();
    assert!(e.to_string().contains("/nonexistent/spec.json"));
}

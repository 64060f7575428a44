//! The testnet genesis (`tessera_node::genesis`): its state serializes and
//! deserializes to itself (GP D.2) with the same root (D.5), and the JIP-5
//! development validators author and import empty blocks on it through two whole
//! epochs (slots 1..=2E, across the epoch boundary where Safrole rotates κ and
//! draws new fallback keys, GP 6.13–6.26).

use tessera_core::crypto::jip5::ValidatorSecrets;
use tessera_core::hash::blake2b_256;
use tessera_core::spec::ChainSpec;
use tessera_core::types::Extrinsic;
use tessera_node::author::{author_block, slot_author, Parent};
use tessera_node::genesis::{testnet_genesis, GenesisError, StateLookup};
use tessera_node::testnet_service;
use tessera_state::refine::HistoricalLookup;
use tessera_state::stf::safrole::sealing::{fallback_keys, TicketsOrKeys};
use tessera_state::{import_block, ChainState};

fn devs(spec: &ChainSpec) -> Vec<ValidatorSecrets> {
    (0..spec.validators() as u32)
        .map(ValidatorSecrets::dev)
        .collect()
}

#[test]
fn genesis_state_round_trips_with_its_root() {
    let spec = ChainSpec::tiny();
    let (header, state) = testnet_genesis(&spec, &devs(&spec)).expect("genesis");
    let kv = state.serialize();
    let back = ChainState::deserialize(&spec, &kv).expect("deserializes");
    assert_eq!(back, state);
    assert_eq!(back.root(), state.root());
    // The genesis header is β_H's only entry (GP 7.2).
    assert_eq!(state.beta.history.len(), 1);
    assert_eq!(state.beta.history[0].header_hash, header.hash());
    assert_eq!(header.slot, 0);
}

#[test]
fn genesis_keys_entropy_and_service_follow_their_definitions() {
    let spec = ChainSpec::tiny();
    let validators = devs(&spec);
    let (_, state) = testnet_genesis(&spec, &validators).expect("genesis");
    for (i, v) in validators.iter().enumerate() {
        for set in [
            &state.kappa,
            &state.lambda,
            &state.iota,
            &state.gamma.pending,
        ] {
            assert_eq!(set.0[i].bandersnatch, v.bandersnatch.public());
            assert_eq!(set.0[i].ed25519, v.ed25519.public());
        }
    }
    // γ_S = F(η_2, κ) (GP 6.26).
    assert_eq!(
        state.gamma.seal_keys,
        TicketsOrKeys::Keys(fallback_keys(
            &state.eta.0[2],
            &state.kappa,
            spec.epoch_length
        ))
    );
    // η_0 = H("tessera-testnet-genesis-entropy" ⌢ 0).
    let mut input = b"tessera-testnet-genesis-entropy".to_vec();
    input.push(0);
    assert_eq!(state.eta.0[0], blake2b_256(&input));
    // α and φ hold the testnet authorizer on every core.
    let auth = testnet_service::authorizer_hash();
    assert!(state.alpha.0.iter().all(|p| p == &vec![auth]));
    assert!(state.phi.0.iter().flatten().all(|h| *h == auth));
    // Λ finds the service's code and the authorizer at any slot (GP 9.7).
    let lookup = StateLookup(&state);
    for slot in [0, 1, 1000, u32::MAX] {
        assert_eq!(
            lookup.historical_lookup(
                testnet_service::SERVICE_ID,
                slot,
                &testnet_service::service_code_hash()
            ),
            Some(testnet_service::service_preimage())
        );
        assert_eq!(
            lookup.historical_lookup(
                testnet_service::SERVICE_ID,
                slot,
                &testnet_service::authorizer_code_hash()
            ),
            Some(testnet_service::authorizer_preimage())
        );
    }
    assert_eq!(
        lookup.historical_lookup(testnet_service::SERVICE_ID, 0, &blake2b_256(b"absent")),
        None
    );
}

#[test]
fn genesis_refuses_a_wrong_validator_count() {
    let spec = ChainSpec::tiny();
    let mut validators = devs(&spec);
    validators.pop();
    assert_eq!(
        testnet_genesis(&spec, &validators).map(|_| ()),
        Err(GenesisError::ValidatorCount {
            expected: spec.validators(),
            got: spec.validators() - 1
        })
    );
}

/// Slots 1..=2E: each has a dev author, and its empty block imports onto the
/// previous one.
#[test]
fn dev_validators_author_two_epochs_of_empty_blocks() {
    let spec = ChainSpec::tiny();
    let validators = devs(&spec);
    let (header, mut state) = testnet_genesis(&spec, &validators).expect("genesis");
    let mut parent_hash = header.hash();
    let mut root = state.root();
    let first_kappa = state.kappa.clone();
    for slot in 1..=2 * spec.epoch_length {
        let (author, _) = slot_author(&spec, &state, slot, &validators)
            .expect("slot context")
            .unwrap_or_else(|| panic!("no dev validator holds slot {slot}"));
        let block = author_block(
            &spec,
            Parent {
                state: &state,
                header_hash: parent_hash,
                state_root: root,
            },
            slot,
            author,
            Extrinsic::default(),
        )
        .expect("authored");
        let post = import_block(&spec, &state, &root, &block)
            .unwrap_or_else(|e| panic!("block of slot {slot} does not import: {e}"));
        assert_eq!(post.tau, slot);
        // The first block of each epoch carries the epoch marker (GP 6.27).
        assert_eq!(
            block.header.epoch_mark.is_some(),
            slot % spec.epoch_length == 0,
            "slot {slot}"
        );
        parent_hash = block.header.hash();
        state = post;
        root = state.root();
    }
    // κ rotated to γ_P (the same keys here) and η moved on.
    assert_eq!(state.kappa, first_kappa);
    assert_ne!(
        state.eta,
        testnet_genesis(&spec, &validators).unwrap().1.eta
    );
}

// ---------------------------------------------------------------------------
// The testnet service's code (`tessera_node::testnet_service`) on the genesis.

use tessera_core::codec::Encode;
use tessera_core::types::{
    AvailabilitySpec, RefineLoad, SegmentRootLookup, WorkExecResult, WorkReport, WorkResult,
};
use tessera_node::builder::{testnet_package, Anchor};
use tessera_state::authorize::psi_i;
use tessera_state::refine::{refine_items, Refinement};
use tessera_state::stf::accumulate::operand::{AccumulateInput, Operand};
use tessera_state::stf::accumulate::partial::{PartialState, Privileges};
use tessera_state::stf::accumulate::{accumulate_block, AccumulationState};

/// Payloads of several sizes: empty, one octet, across the 4 KiB chunk, several
/// chunks.
fn payloads() -> Vec<Vec<u8>> {
    [0usize, 1, 7, 4095, 4096, 4097, 10_000]
        .iter()
        .map(|&n| (0..n).map(|i| (i * 31 + 7) as u8).collect())
        .collect()
}

#[test]
fn service_authorizes_and_refines_to_the_fnv_of_the_payload() {
    let spec = ChainSpec::tiny();
    let (header, state) = testnet_genesis(&spec, &devs(&spec)).expect("genesis");
    let anchor = Anchor {
        header_hash: header.hash(),
        state_root: state.root(),
    };
    let lookup = StateLookup(&state);
    for payload in payloads() {
        let mut package = testnet_package(&spec, &state, &anchor, payload.clone(), Vec::new());
        // 0 to 3 exports, by the payload's length.
        package.items[0].export_count = (payload.len() % 4) as u16;
        for core in 0..spec.core_count {
            // Ψ_I halts at once: its trace is its argument E_2(c) (GP B.2).
            let (trace, _gas) = psi_i(&spec, &package, core, &lookup);
            assert_eq!(trace, Ok(core.to_le_bytes().to_vec()));
            let trace = trace.unwrap();
            let outcomes = refine_items(&Refinement {
                spec: &spec,
                core,
                package: &package,
                auth_trace: &trace,
                imports: &[Vec::new()],
                extrinsics: &[Vec::new()],
                lookup: &lookup,
            });
            assert_eq!(outcomes.len(), 1);
            assert_eq!(
                outcomes[0].result,
                WorkExecResult::Ok(testnet_service::refine_reference(&payload).into()),
                "payload of {} octets on core {core}",
                payload.len()
            );
            assert!(outcomes[0].gas_used <= package.items[0].refine_gas_limit);
            // It exports the item's w_e segments, E_8(h) ⌢ E_8(j) padded to W_G.
            let w_e = usize::from(package.items[0].export_count);
            let expected: Vec<Vec<u8>> = (0..w_e as u64)
                .map(|j| testnet_service::export_reference(&payload, j, spec.segment_size as usize))
                .collect();
            assert_eq!(outcomes[0].exports, expected);
        }
    }
    // The reference is FNV-1a 64: its published value for "a".
    assert_eq!(
        testnet_service::refine_reference(b"a"),
        0xaf63_dc4c_8601_ec8c_u64.to_le_bytes().to_vec()
    );
}

#[test]
fn service_accumulate_writes_each_operand_under_its_package_hash() {
    let spec = ChainSpec::tiny();
    let (_, state) = testnet_genesis(&spec, &devs(&spec)).expect("genesis");
    let s = testnet_service::SERVICE_ID;
    let report = |tag: u8, output: Vec<u8>| WorkReport {
        package_spec: AvailabilitySpec {
            hash: blake2b_256(&[tag]),
            length: 100,
            erasure_root: blake2b_256(&[tag, 1]),
            exports_root: blake2b_256(&[tag, 2]),
            exports_count: 0,
        },
        context: tessera_core::types::RefineContext {
            anchor: blake2b_256(b"anchor"),
            state_root: blake2b_256(b"state root"),
            beefy_root: blake2b_256(b"beefy root"),
            lookup_anchor: blake2b_256(b"anchor"),
            lookup_anchor_slot: 0,
            prerequisites: Vec::new(),
        },
        core_index: u16::from(tag) % spec.core_count,
        authorizer_hash: testnet_service::authorizer_hash(),
        auth_gas_used: 1,
        auth_output: vec![tag, 0].into(),
        segment_root_lookup: SegmentRootLookup(Vec::new()),
        results: vec![WorkResult {
            service_id: s,
            code_hash: testnet_service::service_code_hash(),
            payload_hash: blake2b_256(&[tag, 3]),
            accumulate_gas: 100_000,
            result: WorkExecResult::Ok(output.into()),
            refine_load: RefineLoad::default(),
        }],
    };
    let reports = vec![
        report(1, testnet_service::refine_reference(b"one")),
        report(2, testnet_service::refine_reference(b"two")),
    ];
    let pre = AccumulationState {
        slot: state.tau,
        ready: state.omega.clone(),
        accumulated: state.xi.clone(),
        partial: PartialState {
            accounts: state.delta.clone(),
            staging: state.iota.0.iter().map(|k| k.encode()).collect(),
            auth_queues: state.phi.0.clone(),
            privileges: Privileges::from(&state.chi),
        },
    };
    let out = accumulate_block(&spec, &pre, 1, state.eta.0[0], &reports);
    let account = out.state.partial.accounts.get(&s).expect("the service");
    for r in &reports {
        let d = &r.results[0];
        // The operand O of GP 12 as fetch kind 15 encodes it: E(0, p, e, a, y, g, l, t).
        let expected = AccumulateInput::Operand(Operand {
            package_hash: r.package_spec.hash,
            exports_root: r.package_spec.exports_root,
            authorizer_hash: r.authorizer_hash,
            payload_hash: d.payload_hash,
            gas: d.accumulate_gas,
            result: d.result.clone(),
            trace: r.auth_output.clone(),
        })
        .encode();
        assert_eq!(
            account.storage(s, &testnet_service::accumulate_key(&r.package_spec.hash)),
            Some(expected.as_slice())
        );
    }
    assert_eq!(account.info.items, state.delta[&s].info.items + 2);
    assert_eq!(out.statistics.get(&s).map(|x| x.1), Some(2));
}

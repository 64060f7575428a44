//! Round trips of the protocol types, and the hashes of headers and extrinsics
//! checked against the block-import traces.

use proptest::prelude::*;

use super::*;
use crate::bytes::{ByteArray, Bytes};
use crate::codec::{decode_exact, Decode, Encode, Reader};
use crate::hash::Hash;
use crate::spec::ChainSpec;

fn hash() -> impl Strategy<Value = Hash> {
    any::<[u8; 32]>().prop_map(ByteArray)
}

fn bytes() -> impl Strategy<Value = Bytes> {
    prop::collection::vec(any::<u8>(), 0..40).prop_map(Bytes)
}

fn exec_result() -> impl Strategy<Value = WorkExecResult> {
    prop_oneof![
        bytes().prop_map(WorkExecResult::Ok),
        Just(WorkExecResult::OutOfGas),
        Just(WorkExecResult::Panic),
        Just(WorkExecResult::BadExports),
        Just(WorkExecResult::OutputOversize),
        Just(WorkExecResult::BadCode),
        Just(WorkExecResult::CodeOversize),
    ]
}

fn refine_load() -> impl Strategy<Value = RefineLoad> {
    (
        any::<u64>(),
        any::<u16>(),
        any::<u16>(),
        any::<u32>(),
        any::<u16>(),
    )
        .prop_map(
            |(gas_used, imports, extrinsic_count, extrinsic_size, exports)| RefineLoad {
                gas_used,
                imports,
                extrinsic_count,
                extrinsic_size,
                exports,
            },
        )
}

fn work_result() -> impl Strategy<Value = WorkResult> {
    (
        any::<u32>(),
        hash(),
        hash(),
        any::<u64>(),
        exec_result(),
        refine_load(),
    )
        .prop_map(
            |(service_id, code_hash, payload_hash, accumulate_gas, result, refine_load)| {
                WorkResult {
                    service_id,
                    code_hash,
                    payload_hash,
                    accumulate_gas,
                    result,
                    refine_load,
                }
            },
        )
}

fn verdict(spec: &ChainSpec) -> impl Strategy<Value = Verdict> {
    let judgement =
        (any::<bool>(), any::<u16>(), any::<[u8; 64]>()).prop_map(|(vote, index, s)| Judgement {
            vote,
            index,
            signature: crate::crypto::ed25519::Signature(ByteArray(s)),
        });
    (
        hash(),
        any::<u32>(),
        prop::collection::vec(judgement, spec.supermajority()),
    )
        .prop_map(|(target, age, votes)| Verdict { target, age, votes })
}

/// Encode, decode back, and go through JSON too; both must give the value.
fn round_trip<T>(spec: &ChainSpec, value: &T) -> Result<(), TestCaseError>
where
    T: Encode
        + Decode
        + Check
        + PartialEq
        + std::fmt::Debug
        + serde::Serialize
        + serde::de::DeserializeOwned,
{
    prop_assert_eq!(value.check(spec), Ok(()));
    let bytes = value.encode();
    prop_assert_eq!(
        &decode_exact::<T>(spec, &bytes).map_err(|e| TestCaseError::fail(e.to_string()))?,
        value
    );
    let json = serde_json::to_value(value).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(
        &serde_json::from_value::<T>(json).map_err(|e| TestCaseError::fail(e.to_string()))?,
        value
    );
    // A value followed by anything decodes as a prefix; decode_exact sees the tail.
    let mut longer = bytes.clone();
    longer.push(0);
    prop_assert!(decode_exact::<T>(spec, &longer).is_err());
    Ok(())
}

proptest! {
    #[test]
    fn work_results_round_trip(v in work_result()) {
        round_trip(&ChainSpec::tiny(), &v)?;
    }

    #[test]
    fn refine_loads_use_compact_naturals(v in refine_load()) {
        round_trip(&ChainSpec::tiny(), &v)?;
        // Five compact naturals: one octet each when all are below 128.
        let small = RefineLoad { gas_used: v.gas_used % 128, imports: v.imports % 128, extrinsic_count: 0, extrinsic_size: 0, exports: 0 };
        prop_assert_eq!(small.encode().len(), 5);
    }

    #[test]
    fn verdicts_round_trip_under_each_spec(tiny in verdict(&ChainSpec::tiny())) {
        round_trip(&ChainSpec::tiny(), &tiny)?;
        // The same verdict has the wrong number of votes for the full spec.
        prop_assert!(tiny.check(&ChainSpec::full()).is_err());
    }

    #[test]
    fn bitfields_round_trip(bits in prop::collection::vec(any::<bool>(), 341)) {
        let full = ChainSpec::full();
        let field = AvailabilityBitfield::from_bits(&bits);
        round_trip(&full, &field)?;
        for (core, bit) in bits.iter().enumerate() {
            prop_assert_eq!(field.is_set(core), *bit);
        }
        prop_assert_eq!(field.count_ones(), bits.iter().filter(|b| **b).count());
    }

    #[test]
    fn ticket_bodies_round_trip(id in hash(), attempt in any::<u8>()) {
        round_trip(&ChainSpec::tiny(), &TicketBody { id, attempt })?;
    }
}

#[test]
fn exec_result_json_forms_match_the_vectors() {
    use serde_json::json;
    let ok = WorkExecResult::Ok(Bytes(vec![0xaa, 0xbb]));
    assert_eq!(serde_json::to_value(&ok).unwrap(), json!({"ok": "0xaabb"}));
    assert_eq!(
        serde_json::to_value(WorkExecResult::Panic).unwrap(),
        json!({"panic": null})
    );
    for (tag, name) in WorkExecResult::NAMES.iter().enumerate().skip(1) {
        let v: WorkExecResult = serde_json::from_value(json!({ *name: null })).unwrap();
        assert_eq!(usize::from(v.tag()), tag);
        assert_eq!(v.encode(), vec![tag as u8]);
    }
    assert!(serde_json::from_value::<WorkExecResult>(json!({"ok": "0x", "panic": null})).is_err());
    assert!(serde_json::from_value::<WorkExecResult>(json!({"oops": null})).is_err());
    assert!(serde_json::from_value::<WorkExecResult>(json!({})).is_err());
    assert!(decode_exact::<WorkExecResult>(&ChainSpec::tiny(), &[7]).is_err());
}

#[test]
fn compact_fields_reject_values_their_type_cannot_hold() {
    // core_index is N_C but compact-encoded: 2^16 does not fit u16.
    let mut out = Vec::new();
    crate::codec::encode_natural(1 << 16, &mut out);
    let spec = ChainSpec::tiny();
    let mut r = Reader::new(&spec, &out);
    assert!(crate::codec::decode_compact::<u16>(&mut r, "core index").is_err());
}

/// One block-import step `{pre_state, block, post_state}` (traces/schema.asn),
/// a raw state being its root and its key/value pairs.
struct TraceStep {
    block: Block,
}

type RawState = (Hash, Vec<(ByteArray<31>, Bytes)>);

impl Decode for TraceStep {
    fn decode(r: &mut Reader<'_>) -> Result<Self, crate::codec::DecodeError> {
        let _pre: RawState = Decode::decode(r)?;
        let block = Decode::decode(r)?;
        let _post: RawState = Decode::decode(r)?;
        Ok(TraceStep { block })
    }
}

/// In the traces, real blocks: each header names the hash of its extrinsic and a
/// parent that is the genesis header or an earlier block, which checks
/// `Extrinsic::hash`, `Header::hash` and the block codec together.
#[test]
fn trace_blocks_hash_consistently() {
    let Some(root) = test_vectors::root() else {
        return;
    };
    let spec = ChainSpec::tiny();
    let mut checked = 0;
    for name in ["fallback", "safrole", "storage", "preimages"] {
        let dir = root.join("traces").join(name);
        let Ok(genesis) = std::fs::read(dir.join("genesis.bin")) else {
            continue;
        };
        let (genesis_header, _state): (Header, RawState) = decode_exact(&spec, &genesis).unwrap();
        let mut known = vec![genesis_header.hash()];
        let mut steps: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with('0'))
            })
            .collect();
        steps.sort();
        for path in steps {
            let bytes = std::fs::read(&path).unwrap();
            let step: TraceStep =
                decode_exact(&spec, &bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let header = &step.block.header;
            assert_eq!(
                header.extrinsic_hash,
                step.block.extrinsic.hash(),
                "{}",
                path.display()
            );
            assert!(
                known.contains(&header.parent),
                "{}: unknown parent",
                path.display()
            );
            assert_eq!(step.block.check(&spec), Ok(()), "{}", path.display());
            known.push(header.hash());
            checked += 1;
        }
    }
    eprintln!("checked {checked} trace blocks");
}

use proptest::prelude::*;
use serde_json::json;

use super::*;
use crate::types::bounds::{Bound, ViolationKind};
use crate::types::test_vectors::{codec_cases, type_of_stem};

#[test]
fn names_parse_back_and_are_unique() {
    let names = NamedType::names();
    for t in NamedType::ALL {
        assert_eq!(t.name().parse::<NamedType>().unwrap(), *t);
        assert_eq!(names.iter().filter(|n| **n == t.name()).count(), 1, "{t}");
    }
    let err = "work_report".parse::<NamedType>().unwrap_err();
    assert!(
        err.to_string().contains("unknown type `work_report`"),
        "{err}"
    );
    assert!(err.to_string().contains("work-report"), "{err}");
}

/// Each codec vector decodes to its JSON file, and its JSON encodes to its `.bin`.
#[test]
fn codec_vectors_convert_both_ways() {
    for (spec, stem, bytes, json) in codec_cases() {
        let ty = type_of_stem(&stem);
        let decoded = ty
            .decode_to_json(&spec, &bytes)
            .unwrap_or_else(|e| panic!("{stem}: {e}"));
        assert_eq!(decoded, json, "{} {stem}", spec.name);
        let encoded = ty
            .encode_from_json(&spec, &json)
            .unwrap_or_else(|e| panic!("{stem}: {e}"));
        assert_eq!(encoded, bytes, "{} {stem}", spec.name);
    }
}

fn tiny() -> ChainSpec {
    ChainSpec::tiny()
}

fn header_json() -> Value {
    codec_cases()
        .into_iter()
        .find(|(spec, stem, _, _)| spec.name == crate::spec::SpecName::Tiny && stem == "header_0")
        .map(|(_, _, _, json)| json)
        .unwrap_or_else(|| {
            // A hand-made header with an epoch mark, for when the vectors are absent.
            let key = format!("0x{}", "11".repeat(32));
            let sig = format!("0x{}", "22".repeat(96));
            let v = json!({"bandersnatch": key, "ed25519": key});
            json!({
                "parent": key, "parent_state_root": key, "extrinsic_hash": key, "slot": 1,
                "epoch_mark": {"entropy": key, "tickets_entropy": key, "validators": [v, v, v, v, v, v]},
                "tickets_mark": null, "author_index": 0, "entropy_source": sig,
                "offenders_mark": [], "seal": sig
            })
        })
}

#[test]
fn spec_violations_name_the_field() {
    let mut json = header_json();
    assert!(NamedType::Header.encode_from_json(&tiny(), &json).is_ok());
    json["epoch_mark"]["validators"]
        .as_array_mut()
        .unwrap()
        .pop();
    let err = NamedType::Header
        .encode_from_json(&tiny(), &json)
        .unwrap_err();
    match &err {
        TypeError::Spec { source, .. } => {
            assert_eq!(source.path, "epoch_mark.validators");
            assert_eq!(
                source.kind,
                ViolationKind::Length {
                    len: 5,
                    expected: Bound::Exactly(6)
                }
            );
        }
        other => panic!("expected a spec violation, got {other}"),
    }
    assert!(
        chain(&err).contains("epoch_mark.validators: length 5, expected exactly 6"),
        "{err}"
    );
    // Under the full spec the same header needs 1023 validators.
    let first = json["epoch_mark"]["validators"][0].clone();
    json["epoch_mark"]["validators"]
        .as_array_mut()
        .unwrap()
        .push(first);
    assert!(NamedType::Header.encode_from_json(&tiny(), &json).is_ok());
    assert!(matches!(
        NamedType::Header.encode_from_json(&ChainSpec::full(), &json),
        Err(TypeError::Spec { .. })
    ));
}

#[test]
fn bitfield_length_and_padding_are_checked() {
    let sig = format!("0x{}", "33".repeat(64));
    let hash = format!("0x{}", "44".repeat(32));
    let assurance = |bitfield: &str| json!([{"anchor": hash, "bitfield": bitfield, "validator_index": 0, "signature": sig}]);
    let ok = NamedType::AssurancesExtrinsic
        .encode_from_json(&tiny(), &assurance("0x03"))
        .unwrap();
    assert_eq!(
        NamedType::AssurancesExtrinsic
            .decode_to_json(&tiny(), &ok)
            .unwrap(),
        assurance("0x03")
    );
    let err = NamedType::AssurancesExtrinsic
        .encode_from_json(&tiny(), &assurance("0x0300"))
        .unwrap_err();
    assert!(
        chain(&err).contains("[0].bitfield: length 2, expected exactly 1"),
        "{err}"
    );
    let err = NamedType::AssurancesExtrinsic
        .encode_from_json(&tiny(), &assurance("0x04"))
        .unwrap_err();
    assert!(
        chain(&err).contains("[0].bitfield: bits past the core count"),
        "{err}"
    );
    // The decoder rejects the same padding bit.
    let mut bad = ok.clone();
    bad[33] = 0x07;
    assert!(NamedType::AssurancesExtrinsic
        .decode_to_json(&tiny(), &bad)
        .is_err());
}

/// The error and its sources, as `anyhow`'s `{:#}` prints them at the CLI.
fn chain(err: &dyn std::error::Error) -> String {
    let mut s = err.to_string();
    let mut cur = err.source();
    while let Some(e) = cur {
        s = format!("{s}: {e}");
        cur = e.source();
    }
    s
}

#[test]
fn json_shape_errors_carry_line_and_column() {
    let err = NamedType::RefineContext
        .encode_from_json_str(&tiny(), "{\n  \"anchor\":\n  5\n}")
        .unwrap_err();
    assert!(
        matches!(
            err,
            TypeError::Json {
                ty: "refine-context",
                ..
            }
        ),
        "{err}"
    );
    assert!(chain(&err).contains("line 3"), "{err}");
    let err = NamedType::WorkResult
        .encode_from_json(&tiny(), &json!({"service_id": 1}))
        .unwrap_err();
    assert!(chain(&err).contains("missing field"), "{err}");
    let err = NamedType::TicketBody
        .encode_from_json(
            &tiny(),
            &json!({"id": format!("0x{}", "00".repeat(32)), "attempt": 0, "extra": 1}),
        )
        .unwrap_err();
    assert!(chain(&err).contains("unknown field `extra`"), "{err}");
}

/// Decoding never panics, and whatever decodes is canonical: its JSON form
/// encodes back to exactly the input.
fn decode_all(spec: &ChainSpec, bytes: &[u8]) {
    for ty in NamedType::ALL {
        if let Ok(json) = ty.decode_to_json(spec, bytes) {
            let again = ty
                .encode_from_json(spec, &json)
                .unwrap_or_else(|e| panic!("{ty}: {e}"));
            assert_eq!(again, bytes, "{ty}: decoded input is not canonical");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..1024)) {
        decode_all(&ChainSpec::tiny(), &bytes);
        decode_all(&ChainSpec::full(), &bytes);
    }

    #[test]
    fn short_random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..48)) {
        decode_all(&ChainSpec::tiny(), &bytes);
    }
}

/// One edit to a vector's bytes.
#[derive(Clone, Debug)]
enum Mutation {
    Flip { at: prop::sample::Index, bit: u8 },
    Set { at: prop::sample::Index, value: u8 },
    Truncate { at: prop::sample::Index },
    Insert { at: prop::sample::Index, value: u8 },
    Remove { at: prop::sample::Index },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<prop::sample::Index>(), 0u8..8).prop_map(|(at, bit)| Mutation::Flip { at, bit }),
        (any::<prop::sample::Index>(), any::<u8>())
            .prop_map(|(at, value)| Mutation::Set { at, value }),
        any::<prop::sample::Index>().prop_map(|at| Mutation::Truncate { at }),
        (any::<prop::sample::Index>(), any::<u8>())
            .prop_map(|(at, value)| Mutation::Insert { at, value }),
        any::<prop::sample::Index>().prop_map(|at| Mutation::Remove { at }),
    ]
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    if bytes.is_empty() {
        return;
    }
    let len = bytes.len();
    match m {
        Mutation::Flip { at, bit } => bytes[at.index(len)] ^= 1 << bit,
        Mutation::Set { at, value } => bytes[at.index(len)] = *value,
        Mutation::Truncate { at } => bytes.truncate(at.index(len)),
        Mutation::Insert { at, value } => bytes.insert(at.index(len + 1), *value),
        Mutation::Remove { at } => {
            bytes.remove(at.index(len));
        }
    }
}

fn vector_bins() -> &'static [(ChainSpec, Vec<u8>)] {
    static BINS: std::sync::OnceLock<Vec<(ChainSpec, Vec<u8>)>> = std::sync::OnceLock::new();
    BINS.get_or_init(|| {
        codec_cases()
            .into_iter()
            .map(|(spec, _, bytes, _)| (spec, bytes))
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Vector bytes with one to three edits: every decoder rejects them cleanly or
    /// accepts a canonical value. Skipped quietly when the vectors are absent.
    #[test]
    fn mutated_vectors_never_panic(
        pick in any::<prop::sample::Index>(),
        edits in prop::collection::vec(mutation(), 1..4),
    ) {
        let bins = vector_bins();
        if !bins.is_empty() {
            let (spec, original) = &bins[pick.index(bins.len())];
            let mut bytes = original.clone();
            for m in &edits {
                apply(&mut bytes, m);
            }
            decode_all(spec, &bytes);
        }
    }
}

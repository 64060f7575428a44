//! The codec vectors, `codec/{tiny,full}`: each `NAME.bin` is one value of the
//! type its name gives (`header_0` → header, `work_result_1` → work result),
//! and `NAME.json` is the same value in JSON. A case decodes the `.bin`
//! (strictly, no trailing bytes), re-encodes it to the identical octets, and
//! checks the JSON both ways: the file deserializes to the decoded value, and the
//! decoded value serializes to the file's JSON exactly. It then does the same
//! through `NamedType`, the entry point of `tessera codec`.

use std::fmt::Debug;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use tessera_conformance::{ensure_eq, fail, CaseCtx, CaseError, Outcome, Suite};
use tessera_core::codec::{decode_exact, Decode, Encode};
use tessera_core::types::{self, NamedType};
use tessera_core::ChainSpec;

/// The type of a vector file from its stem: a trailing `_N` is a case number,
/// underscores become dashes (`work_result_0` → `work-result`).
fn type_of_stem(stem: &str) -> Result<NamedType, CaseError> {
    let base = match stem.rsplit_once('_') {
        Some((base, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => base,
        _ => stem,
    };
    base.replace('_', "-")
        .parse()
        .map_err(|e| CaseError(format!("vector `{stem}` names no known type: {e}")))
}

/// Every check of one value of type `T` against its `.bin` and parsed `.json`.
fn check_typed<T>(spec: &ChainSpec, bin: &[u8], json: &Value) -> Result<(), CaseError>
where
    T: Decode + Encode + Serialize + DeserializeOwned + PartialEq + Debug,
{
    let decoded: T = decode_exact(spec, bin).map_err(|e| CaseError(format!("decode: {e}")))?;
    let reencoded = decoded.encode();
    if reencoded != bin {
        fail!(
            "re-encoding differs: {} octets vs {} in the vector, first difference at {:?}",
            reencoded.len(),
            bin.len(),
            reencoded.iter().zip(bin).position(|(a, b)| a != b)
        );
    }
    let from_json: T =
        T::deserialize(json).map_err(|e| CaseError(format!("JSON does not deserialize: {e}")))?;
    ensure_eq!(
        from_json,
        decoded,
        "the JSON file and the .bin hold different values"
    );
    let as_json = serde_json::to_value(&decoded)?;
    ensure_eq!(
        as_json,
        *json,
        "the decoded value's JSON differs from the file"
    );
    Ok(())
}

fn check_as(ty: NamedType, spec: &ChainSpec, bin: &[u8], json: &Value) -> Result<(), CaseError> {
    match ty {
        NamedType::Header => check_typed::<types::Header>(spec, bin, json),
        NamedType::Block => check_typed::<types::Block>(spec, bin, json),
        NamedType::Extrinsic => check_typed::<types::Extrinsic>(spec, bin, json),
        NamedType::TicketsExtrinsic => check_typed::<types::TicketsExtrinsic>(spec, bin, json),
        NamedType::PreimagesExtrinsic => check_typed::<types::PreimagesExtrinsic>(spec, bin, json),
        NamedType::GuaranteesExtrinsic => {
            check_typed::<types::GuaranteesExtrinsic>(spec, bin, json)
        }
        NamedType::AssurancesExtrinsic => {
            check_typed::<types::AssurancesExtrinsic>(spec, bin, json)
        }
        NamedType::DisputesExtrinsic => check_typed::<types::DisputesExtrinsic>(spec, bin, json),
        NamedType::WorkPackage => check_typed::<types::WorkPackage>(spec, bin, json),
        NamedType::WorkItem => check_typed::<types::WorkItem>(spec, bin, json),
        NamedType::WorkReport => check_typed::<types::WorkReport>(spec, bin, json),
        NamedType::WorkResult => check_typed::<types::WorkResult>(spec, bin, json),
        NamedType::RefineContext => check_typed::<types::RefineContext>(spec, bin, json),
        other => fail!("no codec vector is expected for type `{other}`"),
    }?;
    // The same through the name-based entry point the CLI uses.
    let via_name = ty
        .decode_to_json(spec, bin)
        .map_err(|e| CaseError(format!("{ty}: {e}")))?;
    ensure_eq!(
        via_name,
        *json,
        "NamedType::decode_to_json differs from the file"
    );
    let encoded = ty
        .encode_from_json(spec, json)
        .map_err(|e| CaseError(format!("{ty}: {e}")))?;
    ensure_eq!(
        encoded,
        bin,
        "NamedType::encode_from_json differs from the .bin"
    );
    Ok(())
}

struct CodecSuite {
    folder: &'static str,
    spec: ChainSpec,
}

impl Suite for CodecSuite {
    fn folder(&self) -> &str {
        self.folder
    }

    fn is_case(&self, file: &str) -> bool {
        file.ends_with(".bin")
    }

    fn run_case(&self, ctx: &CaseCtx<'_>, file: &str) -> Result<Outcome, CaseError> {
        let stem = file.trim_end_matches(".bin");
        let ty = type_of_stem(stem)?;
        let bin = ctx.read(file)?;
        let json: Value = ctx.read_json(format!("{stem}.json"))?;
        check_as(ty, &self.spec, &bin, &json)?;
        Ok(Outcome::Passed)
    }
}

#[test]
fn codec_tiny() {
    tessera_conformance::run(&CodecSuite {
        folder: "codec/tiny",
        spec: ChainSpec::tiny(),
    });
}

#[test]
fn codec_full() {
    tessera_conformance::run(&CodecSuite {
        folder: "codec/full",
        spec: ChainSpec::full(),
    });
}

/// A vector's `.bin` and parsed `.json`, read directly (outside a suite), or
/// `None` when the vectors are absent and not required.
fn load(spec: &str, stem: &str) -> Option<(Vec<u8>, Value)> {
    let dir = tessera_conformance::vectors_folder(&format!("codec/{spec}"))?;
    let bin = std::fs::read(dir.join(format!("{stem}.bin"))).expect("vector .bin");
    let json = serde_json::from_slice(
        &std::fs::read(dir.join(format!("{stem}.json"))).expect("vector .json"),
    )
    .expect("vector JSON");
    Some((bin, json))
}

#[test]
fn stems_map_to_types() {
    assert_eq!(type_of_stem("header_0").unwrap(), NamedType::Header);
    assert_eq!(
        type_of_stem("work_result_1").unwrap(),
        NamedType::WorkResult
    );
    assert_eq!(
        type_of_stem("tickets_extrinsic").unwrap(),
        NamedType::TicketsExtrinsic
    );
    assert!(type_of_stem("state_snapshot").is_err());
    assert!(type_of_stem("work_results_0").is_err());
}

/// Every single-bit flip and every truncation of a vector is either rejected with
/// an error or decodes to a different value — never a panic, never the original.
#[test]
fn corrupted_bytes_are_rejected_or_change_the_value() {
    let spec = ChainSpec::tiny();
    for (stem, ty) in [
        ("work_result_0", NamedType::WorkResult),
        ("header_1", NamedType::Header),
    ] {
        let Some((bin, json)) = load("tiny", stem) else {
            return;
        };
        for at in 0..bin.len() {
            for bit in 0..8 {
                let mut bad = bin.clone();
                bad[at] ^= 1 << bit;
                if let Ok(value) = ty.decode_to_json(&spec, &bad) {
                    assert_ne!(
                        value, json,
                        "{stem}: flipping bit {bit} of octet {at} went unnoticed"
                    );
                }
            }
        }
        for len in 0..bin.len() {
            assert!(
                ty.decode_to_json(&spec, &bin[..len]).is_err(),
                "{stem} truncated to {len} decoded"
            );
        }
        let mut longer = bin.clone();
        longer.push(0);
        assert!(
            ty.decode_to_json(&spec, &longer).is_err(),
            "{stem} with a trailing octet decoded"
        );
    }
    // A corrupted tag is reported where it is: the tickets-mark option of header_1.
    let Some((mut bin, _)) = load("tiny", "header_1") else {
        return;
    };
    bin[101] = 2;
    let err = decode_exact::<types::Header>(&spec, &bin).unwrap_err();
    assert_eq!(err.offset, 101, "{err}");
}

/// The comparison is able to fail: one JSON value changed makes a case fail.
#[test]
fn corrupted_json_fails_the_comparison() {
    let spec = ChainSpec::tiny();
    let Some((bin, json)) = load("tiny", "work_report") else {
        return;
    };
    check_as(NamedType::WorkReport, &spec, &bin, &json).expect("the untouched vector passes");
    let mut changed = json.clone();
    changed["results"][0]["accumulate_gas"] = Value::from(43);
    assert!(check_as(NamedType::WorkReport, &spec, &bin, &changed).is_err());
    let mut extra = json.clone();
    extra["package_spec"]["surplus"] = Value::from(1);
    assert!(check_as(NamedType::WorkReport, &spec, &bin, &extra).is_err());
    let mut renamed = json;
    renamed["results"][1]["result"] = serde_json::json!({"out_of_gas": null});
    assert!(check_as(NamedType::WorkReport, &spec, &bin, &renamed).is_err());
    // And the wrong spec fails too: tiny's header has 6 epoch-mark validators.
    let Some((header, header_json)) = load("tiny", "header_0") else {
        return;
    };
    assert!(check_as(NamedType::Header, &ChainSpec::full(), &header, &header_json).is_err());
}

/// A copy of `codec/tiny` with one expected value changed, in the JSON or in the
/// binary, fails exactly that case: the suite really compares.
#[test]
fn corrupted_vector_copy_fails_the_suite() {
    let suite = CodecSuite {
        folder: "codec/tiny",
        spec: ChainSpec::tiny(),
    };
    let json_edit = tessera_conformance::run_report_on_copy(&suite, |dir| {
        let path = dir.join("header_0.json");
        let mut v: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        v["slot"] = Value::from(v["slot"].as_u64().unwrap() + 1);
        std::fs::write(&path, serde_json::to_vec(&v).unwrap()).unwrap();
    });
    let bin_edit = tessera_conformance::run_report_on_copy(&suite, |dir| {
        let path = dir.join("work_report.bin");
        let mut b = std::fs::read(&path).unwrap();
        // The last octet lies in the last work result's payload: a value change.
        *b.last_mut().unwrap() ^= 0x01;
        std::fs::write(&path, b).unwrap();
    });
    for (report, file) in [(json_edit, "header_0.bin"), (bin_edit, "work_report.bin")] {
        let Some(report) = report else { return };
        let failed: Vec<&str> = report.failed.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(failed, [file], "{report:?}");
    }
}

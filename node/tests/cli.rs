//! The `tessera` binary, run as a user would: codec round trips on the official
//! vectors and the messages bad input gets.

use std::path::PathBuf;
use std::process::{Command, Output};

fn tessera(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(args)
        .output()
        .expect("the tessera binary runs")
}

/// The codec vectors folder, or `None` (with a loud message) when vectors are absent
/// and not required.
fn codec_dir(spec: &str) -> Option<PathBuf> {
    tessera_conformance::vectors_folder(&format!("codec/{spec}"))
}

#[test]
fn decode_then_encode_reproduces_every_codec_vector() {
    for (spec, dir) in ["tiny", "full"]
        .into_iter()
        .filter_map(|s| codec_dir(s).map(|d| (s, d)))
    {
        let mut checked = 0;
        for stem in [
            "header_0",
            "block",
            "extrinsic",
            "work_package",
            "work_report",
        ] {
            let ty = stem.trim_end_matches("_0").replace('_', "-");
            let bin = dir.join(format!("{stem}.bin"));
            let out = tessera(&[
                "--spec",
                spec,
                "codec",
                "decode",
                "--type",
                &ty,
                bin.to_str().unwrap(),
            ]);
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            let expected: serde_json::Value =
                serde_json::from_slice(&std::fs::read(dir.join(format!("{stem}.json"))).unwrap())
                    .unwrap();
            assert_eq!(
                printed, expected,
                "{spec}/{stem}: decoded JSON differs from the vector"
            );

            let json_path = std::env::temp_dir().join(format!("tessera-cli-{spec}-{stem}.json"));
            std::fs::write(&json_path, &out.stdout).unwrap();
            let bin_out = std::env::temp_dir().join(format!("tessera-cli-{spec}-{stem}.bin"));
            let out = tessera(&[
                "--spec",
                spec,
                "codec",
                "encode",
                "--type",
                &ty,
                json_path.to_str().unwrap(),
                "-o",
                bin_out.to_str().unwrap(),
            ]);
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(
                std::fs::read(&bin_out).unwrap(),
                std::fs::read(&bin).unwrap()
            );
            checked += 1;
        }
        assert_eq!(checked, 5);
    }
}

#[test]
fn truncated_file_names_the_offset() {
    let Some(dir) = codec_dir("tiny") else { return };
    let bytes = std::fs::read(dir.join("header_0.bin")).unwrap();
    let path = std::env::temp_dir().join("tessera-cli-truncated-header.bin");
    std::fs::write(&path, &bytes[..bytes.len() - 10]).unwrap();
    let out = tessera(&[
        "--spec",
        "tiny",
        "codec",
        "decode",
        "--type",
        "header",
        path.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("byte offset"), "{err}");
    assert!(err.contains("not a valid header"), "{err}");
}

#[test]
fn unknown_type_and_bad_json_are_clear_errors() {
    let out = tessera(&["codec", "decode", "--type", "no-such-type", "x.bin"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-type"));

    let path = std::env::temp_dir().join("tessera-cli-bad.json");
    std::fs::write(&path, br#"{"slot": "not a number"}"#).unwrap();
    let out = tessera(&[
        "codec",
        "encode",
        "--type",
        "header",
        path.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a valid header"));
}

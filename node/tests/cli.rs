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

/// `tessera trace` on a whole official folder: one `ok` line per step in file
/// order, the per-folder and total timing lines, and the exact last line.
#[test]
fn trace_imports_a_folder_and_ends_with_the_tally() {
    let Some(dir) = tessera_conformance::vectors_folder("traces/fallback") else {
        return;
    };
    let mut steps: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".bin") && n != "genesis.bin")
        .collect();
    steps.sort();
    let out = tessera(&["--spec", "tiny", "trace", dir.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    for (line, file) in lines.iter().zip(&steps) {
        let rest = line
            .strip_prefix(&format!("{}/{file} ok ", dir.display()))
            .unwrap_or_else(|| panic!("unexpected step line {line:?} for {file}"));
        let ms: f64 = rest.parse().expect("import time in ms");
        assert!(ms >= 0.0);
    }
    assert_eq!(lines.len(), steps.len() + 3, "{stdout}");
    assert!(lines[steps.len()].starts_with(&format!(
        "{}: {} steps, import mean",
        dir.display(),
        steps.len()
    )));
    assert!(lines[steps.len() + 1].starts_with(&format!("total: {} steps", steps.len())));
    assert_eq!(
        lines.last().copied(),
        Some(format!("{} passed, 0 failed", steps.len()).as_str())
    );
}

/// A tiny-spec trace run under the default (full) spec fails, and the error says
/// which spec the trace is for instead of only a byte offset.
#[test]
fn trace_under_the_wrong_spec_names_the_right_one() {
    let Some(dir) = tessera_conformance::vectors_folder("traces/fallback") else {
        return;
    };
    let out = tessera(&["trace", dir.to_str().unwrap()]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("this looks like a tiny-spec trace, run with `--spec tiny`"),
        "{stderr}"
    );
}

/// The same for a folder of step files without `genesis.bin`: each step's FAIL
/// line names the spec its file (or its pre-state) decodes under.
#[test]
fn trace_steps_under_the_wrong_spec_name_the_right_one() {
    let Some(src) = tessera_conformance::vectors_folder("traces/fallback") else {
        return;
    };
    let dir = trace_copy("steps-spec", &src, &["00000001.bin", "00000002.bin"]);
    let out = tessera(&["trace", dir.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let _ = std::fs::remove_dir_all(dir.parent().unwrap());
    assert!(!out.status.success());
    let fails: Vec<&str> = stdout.lines().filter(|l| l.contains(" FAIL ")).collect();
    assert_eq!(fails.len(), 2, "{stdout}");
    for line in fails {
        assert!(
            line.contains("this looks like a tiny-spec trace, run with `--spec tiny`"),
            "{line}"
        );
    }
}

/// A fresh folder `<tmp>/tessera-cli-trace-<tag>-<pid>/trace` holding copies of
/// `files` from the trace folder `src`; remove its parent when done.
fn trace_copy(tag: &str, src: &std::path::Path, files: &[&str]) -> PathBuf {
    let root = std::env::temp_dir().join(format!("tessera-cli-trace-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let dir = root.join("trace");
    std::fs::create_dir_all(&dir).unwrap();
    for f in files {
        std::fs::copy(src.join(f), dir.join(f)).unwrap();
    }
    dir
}

/// A step file that does not decode is a `FAIL` line naming the file, the rest
/// of the folder still runs, the tally counts it, and the exit status is
/// non-zero; `--json` says the same to machines.
#[test]
fn trace_reports_a_broken_step_and_fails() {
    let Some(src) = tessera_conformance::vectors_folder("traces/fallback") else {
        return;
    };
    let dir = trace_copy(
        "broken",
        &src,
        &["genesis.bin", "00000001.bin", "00000003.bin"],
    );
    let step2 = std::fs::read(src.join("00000002.bin")).unwrap();
    std::fs::write(dir.join("00000002.bin"), &step2[..step2.len() / 2]).unwrap();

    let out = tessera(&["--spec", "tiny", "trace", dir.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    let d = dir.display();
    assert!(
        lines[0].starts_with(&format!("{d}/00000001.bin ok ")),
        "{stdout}"
    );
    assert!(
        lines[1].starts_with(&format!("{d}/00000002.bin FAIL ")),
        "{stdout}"
    );
    assert!(lines[1].contains("does not decode"), "{stdout}");
    // Step 3's parent is step 2's block, which never imported: it starts from
    // its own pre-state and still passes.
    assert!(
        lines[2].starts_with(&format!("{d}/00000003.bin ok ")),
        "{stdout}"
    );
    assert_eq!(lines.last().copied(), Some("2 passed, 1 failed"));

    let out = tessera(&["--spec", "tiny", "trace", "--json", dir.to_str().unwrap()]);
    assert!(!out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    assert_eq!(v["passed"], 2);
    assert_eq!(v["failed"], 1);
    assert_eq!(v["steps"][1]["ok"], false);
    std::fs::remove_dir_all(dir.parent().unwrap()).unwrap();
}

#[test]
fn trace_of_a_missing_folder_is_a_clear_error() {
    let out = tessera(&["--spec", "tiny", "trace", "/no/such/trace/folder"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot list /no/such/trace/folder"), "{err}");
}

/// `--db PATH` keeps the states in RocksDB: a second run over the same folder
/// and database still passes (each step finds its parent's state stored).
#[test]
fn trace_with_a_rocksdb_store_passes_twice() {
    let Some(src) = tessera_conformance::vectors_folder("traces/storage") else {
        return;
    };
    let dir = trace_copy(
        "db",
        &src,
        &[
            "genesis.bin",
            "00000001.bin",
            "00000002.bin",
            "00000003.bin",
        ],
    );
    let root = dir.parent().unwrap().to_path_buf();
    let db = root.join("db");
    for run in 0..2 {
        let out = tessera(&[
            "--spec",
            "tiny",
            "trace",
            "--db",
            db.to_str().unwrap(),
            dir.to_str().unwrap(),
        ]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "run {run}: {stdout}");
        assert_eq!(
            stdout.lines().last(),
            Some("3 passed, 0 failed"),
            "run {run}"
        );
    }
    assert!(db.join("CURRENT").is_file(), "a RocksDB database at --db");
    std::fs::remove_dir_all(&root).unwrap();
}

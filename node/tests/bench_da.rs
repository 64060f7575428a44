//! `tessera bench da --json` prints one JSON array of records of exactly the documented
//! shape (no timing assertions: speed is for benches, not tests).

use std::process::Command;

/// Run `tessera` with `args` (which end in `--json`), require success, and parse
/// what it printed.
fn tessera_json(args: &[&str]) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(args)
        .output()
        .expect("the tessera binary runs");
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("stdout is JSON")
}

/// `bench da` of one tiny package, once.
const ONE_TINY_PACKAGE: [&str; 8] = [
    "bench",
    "da",
    "--spec",
    "tiny",
    "--workload",
    "package",
    "--repetitions",
    "1",
];

#[test]
fn bench_da_json_records_have_the_documented_shape() {
    let value = tessera_json(&[&ONE_TINY_PACKAGE[..], &["--json"]].concat());
    let records = value.as_array().expect("a JSON array");
    let keys = [
        "workload",
        "operation",
        "backend",
        "input_bytes",
        "seconds",
        "mb_per_s",
        "machine",
    ];
    let mut seen = Vec::new();
    for record in records {
        let object = record.as_object().expect("each record is an object");
        let mut got: Vec<&str> = object.keys().map(String::as_str).collect();
        got.sort_unstable();
        let mut want = keys.to_vec();
        want.sort_unstable();
        assert_eq!(got, want, "{record}");
        assert_eq!(record["workload"], "package");
        for key in ["cpu", "simd", "gpu"] {
            assert!(record["machine"][key].as_str().is_some(), "{record}");
        }
        let operation = record["operation"].as_str().expect("operation is a string");
        assert!(["encode", "reconstruct", "hash", "erasure_root"].contains(&operation));
        let backend = record["backend"].as_str().expect("backend is a string");
        assert!(["cpu", "simd", "gpu", "reed-solomon-simd"].contains(&backend));
        assert!(record["input_bytes"].as_u64().is_some_and(|n| n > 0));
        assert!(record["seconds"].as_f64().is_some());
        assert!(record["mb_per_s"].as_f64().is_some());
        seen.push((operation.to_string(), backend.to_string()));
    }
    // Every operation on each backend (`gpu` when an adapter exists, as `all` measures
    // it then), and the baseline's encode and reconstruct.
    let gpu = tessera_kernels::gpu::context().is_ok();
    let backends: &[&str] = if gpu {
        &["cpu", "simd", "gpu"]
    } else {
        &["cpu", "simd"]
    };
    for &backend in backends {
        for operation in ["encode", "reconstruct", "hash", "erasure_root"] {
            assert!(
                seen.contains(&(operation.into(), backend.into())),
                "{operation} {backend}"
            );
        }
    }
    for operation in ["encode", "reconstruct"] {
        assert!(seen.contains(&(operation.into(), "reed-solomon-simd".into())));
    }
    assert_eq!(records.len(), 4 * backends.len() + 2);
}

/// `--workload validator` on the tiny spec (V = 6, C = 2, R = 2): one record per phase
/// and path, counting what each phase must do; the run itself fails unless every
/// shard proved, every set was stored and every rebuilt bundle equals its original.
#[test]
fn bench_da_validator_records_count_every_phase() {
    let value = tessera_json(&[
        "bench",
        "da",
        "--spec",
        "tiny",
        "--workload",
        "validator",
        "--backend",
        "simd",
        "--reports",
        "2",
        "--json",
    ]);
    let records = value.as_array().expect("a JSON array");
    // V CE 137 answers; one shard per core (C = 2); R = 2 shards of each of 2 reports.
    let expected = [
        ("guarantor", 6),
        ("assurer", 2),
        ("auditor", 4),
        ("slot", 12),
    ];
    assert_eq!(records.len(), 2 * expected.len());
    for (phase, requests) in expected {
        for path in ["network", "local"] {
            let r = records
                .iter()
                .find(|r| r["phase"] == phase && r["path"] == path)
                .unwrap_or_else(|| panic!("{phase} {path} missing"));
            assert_eq!(r["workload"], "validator");
            assert!(r["machine"]["cpu"].as_str().is_some(), "{r}");
            assert_eq!(r["backend"], "simd");
            assert_eq!(r["requests"], requests, "{phase} {path}");
            assert!(r["bytes"].as_u64().is_some_and(|b| b > 0), "{r}");
            for key in ["seconds", "cpu_seconds", "mb_per_s", "over_local"] {
                assert!(r[key].as_f64().is_some(), "{key} in {r}");
            }
        }
    }
}

/// `tessera bench audit` on the tiny spec: every phase of both modes, the farm's
/// speed-up computed against one at a time; the run itself fails unless every
/// report's refine loop ran to its end and every audit came out valid.
#[test]
fn bench_audit_records_cover_both_modes_and_every_phase() {
    let value = tessera_json(&[
        "bench",
        "audit",
        "--spec",
        "tiny",
        "--reports",
        "2",
        "--refine-instructions",
        "20000",
        "--json",
    ]);
    let records = value.as_array().expect("a JSON array");
    assert_eq!(records.len(), 10);
    for mode in ["farm", "one-at-a-time"] {
        for phase in ["fetch", "reconstruct", "execute", "refine", "total"] {
            let r = records
                .iter()
                .find(|r| r["mode"] == mode && r["phase"] == phase)
                .unwrap_or_else(|| panic!("{mode} {phase} missing"));
            assert_eq!(r["backend"], "simd");
            assert_eq!(r["reports"], 2);
            assert!(r["machine"]["simd"].as_str().is_some(), "{r}");
            for key in ["seconds", "reports_per_s", "speedup"] {
                assert!(r[key].as_f64().is_some_and(|x| x > 0.0), "{key} in {r}");
            }
        }
    }
}

/// `--profile` on the `gpu` backend (lavapipe in CI): each gpu record carries its
/// host-side spans — the staging copy, the wait for the GPU, the read-back copy and
/// the submission each timed at least once — and, where the adapter has timestamp
/// queries (lavapipe has), GPU-timed passes; the other backends' records none.
#[test]
fn bench_da_profile_names_the_gpu_spans() {
    if tessera_kernels::gpu::context().is_err() {
        assert!(
            std::env::var("TESSERA_REQUIRE_GPU").as_deref() != Ok("1"),
            "TESSERA_REQUIRE_GPU=1 but no GPU adapter"
        );
        eprintln!("bench_da_profile_names_the_gpu_spans: no GPU adapter, skipped");
        return;
    }
    let value = tessera_json(
        &[
            &ONE_TINY_PACKAGE[..],
            &["--backend", "gpu", "--profile", "--json"],
        ]
        .concat(),
    );
    let timestamps = tessera_kernels::gpu::context().is_ok_and(|c| c.timestamp_queries());
    for r in value.as_array().expect("a JSON array") {
        if r["backend"] != "gpu" {
            assert!(r.get("profile").is_none(), "{r}");
            continue;
        }
        let profile = r["profile"]
            .as_array()
            .unwrap_or_else(|| panic!("a gpu record without a profile: {r}"));
        let on = |clock: &str| -> Vec<&str> {
            profile
                .iter()
                .filter(|s| s["clock"] == clock)
                .map(|s| s["span"].as_str().expect("a span name"))
                .collect()
        };
        let (spans, gpu_spans) = (on("host"), on("gpu"));
        if timestamps {
            // The GPU's clock around each pass: the erasure transform's stages where
            // the operation codes, Blake2b or tree levels where it hashes.
            let want = match r["operation"].as_str() {
                Some("encode" | "reconstruct" | "erasure_root") => "transform: ",
                _ => "hash: ",
            };
            assert!(
                gpu_spans.iter().any(|s| s.starts_with(want)),
                "no GPU-timed {want}… pass in {r}"
            );
        } else {
            assert!(gpu_spans.is_empty(), "{r}");
        }
        for want in [
            "submit",
            "upload: host copy into staging",
            "read back: wait for the GPU and map",
            "read back: host copy out",
        ] {
            assert!(spans.contains(&want), "{want} missing in {r}");
        }
    }
}

/// `--calibrate` stores, per operation, the simd and gpu rates of this run in the
/// calibration file (adapter named), and a later process loads it; a malformed file
/// is an error naming it, and `--calibrate` without both backends is refused.
#[test]
fn bench_da_calibrate_writes_a_calibration_auto_can_load() {
    let dir = std::env::temp_dir().join(format!("tessera-calibrate-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let file = dir.join("gpu-calibration.json");
    let file_arg = file.to_str().expect("a UTF-8 temp path");
    // `bench da` of one tiny package with the calibration file, then `more`.
    let bench = [&["--gpu-calibration", file_arg][..], &ONE_TINY_PACKAGE].concat();
    // It must fail; its stderr.
    let fails = |more: &[&str]| -> String {
        let out = Command::new(env!("CARGO_BIN_EXE_tessera"))
            .args(&bench)
            .args(more)
            .output()
            .expect("the tessera binary runs");
        assert!(!out.status.success(), "{more:?} succeeded");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let refused = fails(&["--backend", "simd", "--calibrate"]);
    assert!(refused.contains("--backend simd,gpu"), "{refused}");
    // A calibration named on the command line must exist.
    let missing = fails(&["--backend", "simd"]);
    assert!(missing.contains("--gpu-calibration"), "{missing}");

    let Ok(ctx) = tessera_kernels::gpu::context() else {
        assert!(
            std::env::var("TESSERA_REQUIRE_GPU").as_deref() != Ok("1"),
            "TESSERA_REQUIRE_GPU=1 but no GPU adapter"
        );
        eprintln!(
            "bench_da_calibrate_writes_a_calibration_auto_can_load: no GPU adapter, rest skipped"
        );
        return;
    };
    std::fs::create_dir_all(&dir).expect("a temp dir");
    // The same bench, expected to succeed: its JSON records.
    let runs = |more: &[&str]| {
        let mut args = bench.to_vec();
        args.push("--json");
        args.extend_from_slice(more);
        tessera_json(&args)
    };
    let records = runs(&["--backend", "simd,gpu", "--calibrate"]);
    let text = std::fs::read_to_string(&file).expect("the calibration was written");
    let calibration = tessera_kernels::calibration::Calibration::from_json(&text)
        .expect("the written calibration parses");
    assert_eq!(calibration.adapter, ctx.adapter_name());
    let mut operations: Vec<&str> = calibration
        .points
        .iter()
        .map(|p| p.operation.name())
        .collect();
    operations.dedup();
    assert_eq!(
        operations,
        ["encode", "erasure_root", "hash", "reconstruct"]
    );
    // Each point is the run's own pair of rates.
    for p in &calibration.points {
        let rate = |backend: &str| {
            records
                .as_array()
                .expect("records")
                .iter()
                .find(|r| r["operation"] == p.operation.name() && r["backend"] == backend)
                .and_then(|r| r["mb_per_s"].as_f64())
                .expect("a record per point")
        };
        assert_eq!((p.gpu_per_s, p.simd_per_s), (rate("gpu"), rate("simd")));
    }
    // The file loads in a later process (a software adapter still runs `auto` on simd).
    runs(&["--backend", "auto"]);
    std::fs::write(&file, "{\"adapter\": 3}").expect("overwrite");
    let stderr = fails(&["--backend", "simd"]);
    assert!(
        stderr.contains("GPU calibration") && stderr.contains("adapter"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

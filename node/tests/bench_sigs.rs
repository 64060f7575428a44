//! `tessera bench sigs --json` on small batches: one JSON array of records with exactly
//! the fields `batch`, `backend`, `verifications`, `seconds`, `per_second`, one per
//! batch size and backend (plus the ed25519-dalek baseline), and `--plot` writes an
//! SVG; `gpu` rows exactly when a GPU adapter exists. No timing assertions.

use std::process::Command;

#[test]
fn json_records_have_the_promised_shape() {
    let svg = std::env::temp_dir().join(format!("tessera-bench-sigs-{}.svg", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["bench", "sigs", "--json", "--batches", "1,3,64"])
        .args(["--backend", "all", "--plot"])
        .arg(&svg)
        .output()
        .expect("the tessera binary runs");
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let value: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("stdout is one JSON value");
    let records = value.as_array().expect("a JSON array");
    let mut backends = vec!["cpu", "simd", "ed25519-dalek"];
    if tessera_kernels::gpu::context().is_ok() {
        backends.push("gpu");
    }
    assert_eq!(
        records.len(),
        3 * backends.len(),
        "3 batches × {backends:?}"
    );
    let mut seen = Vec::new();
    for r in records {
        let obj = r.as_object().expect("each record is an object");
        let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "backend",
                "batch",
                "machine",
                "per_second",
                "seconds",
                "verifications"
            ]
        );
        common_machine(&obj["machine"]);
        let batch = obj["batch"].as_u64().expect("batch is an integer");
        let backend = obj["backend"].as_str().expect("backend is a string");
        assert!(backends.contains(&backend), "{backend}");
        assert_eq!(obj["verifications"].as_u64(), Some(batch));
        let seconds = obj["seconds"].as_f64().expect("seconds is a number");
        let per_second = obj["per_second"].as_f64().expect("per_second is a number");
        assert!(seconds > 0.0 && per_second > 0.0);
        let implied = batch as f64 / seconds;
        assert!((per_second - implied).abs() <= 1e-6 * implied);
        seen.push((batch, backend.to_string()));
    }
    let drawing = std::fs::read_to_string(&svg).expect("--plot wrote the SVG");
    let _ = std::fs::remove_file(&svg);
    assert!(drawing.contains("<svg") && drawing.contains("ed25519-dalek"));
    for batch in [1u64, 3, 64] {
        for backend in &backends {
            assert!(
                seen.contains(&(batch, backend.to_string())),
                "{batch} {backend}"
            );
        }
    }
}

#[test]
fn unknown_backend_is_an_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args([
            "bench",
            "sigs",
            "--json",
            "--batches",
            "1",
            "--backend",
            "tpu",
        ])
        .output()
        .expect("the tessera binary runs");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown backend"));
}

/// `--backend gpu` runs the kernel when there is an adapter (profiled), and is an
/// error naming the missing adapter when there is none (never `simd` relabelled).
#[test]
fn gpu_backend_runs_or_says_why_not() {
    let out = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args([
            "bench",
            "sigs",
            "--json",
            "--batches",
            "2",
            "--backend",
            "gpu",
            "--profile",
        ])
        .output()
        .expect("the tessera binary runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    if tessera_kernels::gpu::context().is_ok() {
        assert!(out.status.success(), "{stderr}");
        let value: serde_json::Value =
            serde_json::from_slice(&out.stdout).expect("stdout is one JSON value");
        let backends: Vec<&str> = value
            .as_array()
            .expect("a JSON array")
            .iter()
            .filter_map(|r| r["backend"].as_str())
            .collect();
        assert_eq!(backends, ["gpu", "ed25519-dalek"]);
        // `--profile`: the gpu record has its spans, the verify pass on the GPU's
        // clock where the adapter has timestamp queries; the baseline has none.
        let records = value.as_array().expect("a JSON array");
        let spans: Vec<(&str, &str)> = records[0]["profile"]
            .as_array()
            .expect("the gpu record's profile")
            .iter()
            .map(|s| {
                (
                    s["clock"].as_str().unwrap_or("?"),
                    s["span"].as_str().unwrap_or("?"),
                )
            })
            .collect();
        assert!(spans.contains(&("host", "submit")), "{spans:?}");
        let timestamps = tessera_kernels::gpu::context().is_ok_and(|c| c.timestamp_queries());
        assert_eq!(
            spans.contains(&("gpu", "ed25519: verify")),
            timestamps,
            "{spans:?}"
        );
        assert!(records[1].get("profile").is_none());
    } else {
        assert!(!out.status.success());
        assert!(stderr.contains("no GPU adapter"), "{stderr}");
    }
}

/// A record's `machine`: the CPU model, the threads, the SIMD engine and the GPU
/// adapter (or why none), all named.
fn common_machine(m: &serde_json::Value) {
    for key in ["cpu", "simd", "gpu"] {
        assert!(
            m[key].as_str().is_some_and(|s| !s.is_empty()),
            "{key} in {m}"
        );
    }
    assert!(m["threads"].as_u64().is_some_and(|t| t > 0), "{m}");
}

/// `--calibrate` stores the run's simd and gpu verifications/s per batch as Ed25519
/// points of the calibration file, keeping what the file held for other operations.
#[test]
fn calibrate_stores_ed25519_points_beside_the_others() {
    let Ok(ctx) = tessera_kernels::gpu::context() else {
        assert!(
            std::env::var("TESSERA_REQUIRE_GPU").as_deref() != Ok("1"),
            "TESSERA_REQUIRE_GPU=1 but no GPU adapter"
        );
        eprintln!("calibrate_stores_ed25519_points_beside_the_others: no GPU adapter, skipped");
        return;
    };
    use tessera_kernels::calibration::{Calibration, Operation, Point};
    let dir = std::env::temp_dir().join(format!("tessera-sigs-calibrate-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("gpu-calibration.json");
    let earlier = Calibration {
        adapter: ctx.adapter_name().to_string(),
        points: vec![Point {
            operation: Operation::Encode,
            size: 1000,
            gpu_per_s: 1.0,
            simd_per_s: 2.0,
        }],
        ..Calibration::default()
    };
    std::fs::write(&file, earlier.to_json()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .arg("--gpu-calibration")
        .arg(&file)
        .args(["bench", "sigs", "--json", "--batches", "2,4"])
        .args(["--backend", "simd,gpu", "--calibrate"])
        .output()
        .expect("the tessera binary runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let records: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let written = Calibration::from_json(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let ed25519: Vec<&Point> = written
        .points
        .iter()
        .filter(|p| p.operation == Operation::Ed25519)
        .collect();
    assert_eq!(ed25519.iter().map(|p| p.size).collect::<Vec<_>>(), [2, 4]);
    for p in ed25519 {
        let rate = |backend: &str| {
            records
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["batch"] == p.size && r["backend"] == backend)
                .and_then(|r| r["per_second"].as_f64())
                .unwrap()
        };
        assert_eq!((p.gpu_per_s, p.simd_per_s), (rate("gpu"), rate("simd")));
    }
    assert!(written.points.contains(&earlier.points[0]), "{written:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

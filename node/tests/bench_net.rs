//! `tessera bench net --json` on the tiny spec with small sizes prints one JSON array
//! of records of exactly the documented shape, JAMNP-S beside TCP for each workload
//! (no timing assertions: speed is for benches, not tests).

use std::process::Command;

#[test]
fn bench_net_json_records_have_the_documented_shape() {
    let small = "--spec tiny --stream-bytes 65536 --volume 131072 --round-trips 3 --threads 2";
    let out = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["bench", "net", "--json"])
        .args(small.split(' '))
        .output()
        .expect("the tessera binary runs");
    assert!(out.status.success(), "{out:?}");
    let records: Vec<serde_json::Value> =
        serde_json::from_slice(&out.stdout).expect("stdout is one JSON array");
    let mut keys = [
        "workload",
        "transport",
        "peers",
        "requests",
        "response_bytes",
        "setup_seconds",
        "seconds",
        "requests_per_s",
        "mb_per_s",
        "vs_tcp",
        "machine",
    ];
    keys.sort_unstable();
    let mut seen = Vec::new();
    for record in &records {
        let object = record.as_object().expect("each record is an object");
        let mut got: Vec<&str> = object.keys().map(String::as_str).collect();
        got.sort_unstable();
        assert_eq!(got, keys, "{record}");
        assert!(record["machine"]["cpu"].as_str().is_some(), "{record}");
        for number in [
            "setup_seconds",
            "seconds",
            "requests_per_s",
            "mb_per_s",
            "vs_tcp",
        ] {
            assert!(record[number].as_f64().is_some(), "{record}");
        }
        seen.push((
            record["workload"].as_str().unwrap_or_default().to_string(),
            record["transport"].as_str().unwrap_or_default().to_string(),
        ));
    }
    let want: Vec<(String, String)> = ["fanout", "stream", "rtt"]
        .iter()
        .flat_map(|w| ["jamnp-s", "tcp"].map(|t| (w.to_string(), t.to_string())))
        .collect();
    assert_eq!(seen, want);
}

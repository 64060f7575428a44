//! `bench_da` measures every operation on every backend asked for, beside the raw
//! baseline, with the documented inputs (no timing assertions: speed is for benches,
//! not tests).

use tessera_benches::da::{bench_da, BenchConfig, Workload};
use tessera_core::spec::ChainSpec;
use tessera_kernels::Backend;

#[test]
fn bench_da_reports_every_operation() {
    let mut steps = Vec::new();
    let config = BenchConfig {
        backends: vec![Backend::Auto, Backend::Simd],
        baseline: true,
        workloads: vec![Workload::Package],
        repetitions: 1,
        profile: false,
    };
    let records = bench_da(&ChainSpec::tiny(), &config, &mut |p| {
        steps.push(p.step.clone())
    })
    .unwrap();
    let names: Vec<(&str, &str)> = records
        .iter()
        .map(|r| (r.operation.as_str(), r.backend.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("encode", "simd"),
            ("reconstruct", "simd"),
            ("hash", "simd"),
            ("erasure_root", "simd"),
            ("encode", "reed-solomon-simd"),
            ("reconstruct", "reed-solomon-simd")
        ]
    );
    assert_eq!(steps.len(), records.len());
    assert!(records
        .iter()
        .all(|r| r.workload == "package" && r.seconds > 0.0 && r.mb_per_s > 0.0));
    // Bundle W_B, 3072 segments of W_G and their 48 proof pages.
    assert_eq!(records[0].input_bytes, 13_791_360 + (3072 + 48) * 4104);
    assert_eq!(records[3].input_bytes, 13_791_360 + 3072 * 4104);
}

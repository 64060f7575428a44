//! `bench net` on the tiny spec with small sizes: every workload runs over JAMNP-S and
//! TCP on loopback and reports records of the documented shape (no timing
//! assertions: speed is for benches, not tests).

use tessera_benches::net::{measure, NetConfig, Workload};
use tessera_core::ChainSpec;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_workload_reports_jamnp_s_beside_tcp() {
    let spec = ChainSpec::tiny();
    let config = NetConfig {
        workloads: vec![Workload::Fanout, Workload::Stream, Workload::RoundTrip],
        peers: 0,
        stream_bytes: 100_000,
        volume: 300_000,
        round_trips: 5,
    };
    let records = measure(&spec, &config).await.expect("the bench runs");
    let shape: Vec<(&str, &str, usize, usize)> = records
        .iter()
        .map(|r| (r.workload, r.transport, r.peers, r.requests))
        .collect();
    // Fanout: one requester per validator (tiny: 6); stream: 300,000 / 100,000.
    assert_eq!(
        shape,
        [
            ("fanout", "jamnp-s", 6, 6),
            ("fanout", "tcp", 6, 6),
            ("stream", "jamnp-s", 1, 3),
            ("stream", "tcp", 1, 3),
            ("rtt", "jamnp-s", 1, 5),
            ("rtt", "tcp", 1, 5),
        ]
    );
    for pair in records.chunks(2) {
        // The same bytes over both transports.
        assert_eq!(pair[0].response_bytes, pair[1].response_bytes);
        assert!(pair[0].response_bytes > 0);
        assert_eq!(pair[1].vs_tcp, 1.0);
        assert!(pair[0].vs_tcp.is_finite() && pair[0].vs_tcp > 0.0);
    }
    assert_eq!(records[2].response_bytes, 300_000);
    assert_eq!(records[4].response_bytes, 5 * 64);
}

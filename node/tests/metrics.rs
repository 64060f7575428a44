//! The Prometheus endpoint: started on port 0, recorded into, scraped with a plain
//! HTTP GET over a TcpStream, and its text format parsed.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tessera_node::metrics::{
    self, AllocatorStats, AuditOutcome, BackendLabel, DaBackend, NodeMetrics, OutcomeLabel,
};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

async fn get(addr: std::net::SocketAddr, path: &str) -> (String, String) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut reply = String::new();
    tokio::time::timeout(Duration::from_secs(5), s.read_to_string(&mut reply))
        .await
        .unwrap()
        .unwrap();
    let (head, body) = reply.split_once("\r\n\r\n").unwrap();
    (head.to_owned(), body.to_owned())
}

/// Sample lines `name{labels} value` of the text format, by `name{labels}`.
fn samples(text: &str) -> HashMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (k, v) = l.rsplit_once(' ').unwrap();
            (k.to_owned(), v.parse::<f64>().unwrap())
        })
        .collect()
}

#[tokio::test]
async fn scrape_after_recording() {
    let m = Arc::new(NodeMetrics::new());
    let server = metrics::serve(0, m.clone()).await.unwrap();
    let addr = server.local_addr();
    assert!(addr.ip().is_loopback());
    assert_ne!(addr.port(), 0);

    m.blocks_imported.inc_by(3);
    m.blocks_authored.inc();
    m.block_import_seconds.observe(0.25);
    m.block_import_seconds.observe(0.5);
    m.best_slot.set(42);
    m.finalized_slot.set(40);
    m.grandpa_voter_set.set(2);
    let gpu = BackendLabel {
        backend: DaBackend::Gpu,
    };
    let simd = BackendLabel {
        backend: DaBackend::Simd,
    };
    m.da_encode_seconds.get_or_create(&gpu).observe(0.002);
    m.da_encode_bytes.get_or_create(&gpu).inc_by(1 << 20);
    m.da_reconstruct_bytes.get_or_create(&simd).inc_by(4104);
    m.da_reconstruct_seconds.get_or_create(&simd).observe(0.01);
    m.shards_served.inc_by(7);
    m.shards_fetched.inc_by(5);
    m.assurances_made.inc();
    m.assurances_received.inc_by(5);
    m.audits
        .get_or_create(&OutcomeLabel {
            outcome: AuditOutcome::Valid,
        })
        .inc_by(2);
    m.audits
        .get_or_create(&OutcomeLabel {
            outcome: AuditOutcome::Invalid,
        })
        .inc();
    m.audit_tranche.observe(0.0);
    m.audit_tranche.observe(2.0);
    m.peers.set(5);
    m.gpu_queue_depth.set(3);
    m.work_packages_guaranteed.inc_by(4);
    m.work_packages_accumulated.inc_by(4);
    m.set_db_memory(&tessera_node::store::DbMemory {
        block_cache: 30_000_000,
        block_cache_pinned: 1_000,
        memtables: 12_000_000,
        table_readers: 4_096,
    });
    // The allocator's figures are read at the scrape, from what the binary registers.
    metrics::set_allocator_stats(|| {
        Some(AllocatorStats {
            allocated: 123_456,
            resident: 654_321,
        })
    });

    let (head, body) = get(addr, "/metrics").await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head
        .to_ascii_lowercase()
        .contains("content-type: application/openmetrics-text"));
    assert!(body.ends_with("# EOF\n"));
    let s = samples(&body);
    let expect = [
        ("tessera_blocks_imported_total", 3.0),
        ("tessera_blocks_authored_total", 1.0),
        ("tessera_block_import_seconds_count", 2.0),
        ("tessera_block_import_seconds_sum", 0.75),
        ("tessera_best_slot", 42.0),
        ("tessera_finalized_slot", 40.0),
        ("tessera_grandpa_voter_set", 2.0),
        ("tessera_da_encode_seconds_count{backend=\"Gpu\"}", 1.0),
        (
            "tessera_da_encode_bytes_total{backend=\"Gpu\"}",
            f64::from(1u32 << 20),
        ),
        (
            "tessera_da_reconstruct_bytes_total{backend=\"Simd\"}",
            4104.0,
        ),
        (
            "tessera_da_reconstruct_seconds_count{backend=\"Simd\"}",
            1.0,
        ),
        ("tessera_shards_served_total", 7.0),
        ("tessera_shards_fetched_total", 5.0),
        ("tessera_assurances_made_total", 1.0),
        ("tessera_assurances_received_total", 5.0),
        ("tessera_audits_total{outcome=\"Valid\"}", 2.0),
        ("tessera_audits_total{outcome=\"Invalid\"}", 1.0),
        ("tessera_audit_tranche_count", 2.0),
        ("tessera_audit_tranche_bucket{le=\"0.0\"}", 1.0),
        ("tessera_audit_tranche_bucket{le=\"2.0\"}", 2.0),
        ("tessera_peers", 5.0),
        ("tessera_gpu_queue_depth", 3.0),
        ("tessera_work_packages_guaranteed_total", 4.0),
        ("tessera_work_packages_accumulated_total", 4.0),
        ("tessera_memory_allocated_bytes", 123_456.0),
        ("tessera_memory_resident_bytes", 654_321.0),
        (
            "tessera_rocksdb_memory_bytes{part=\"block_cache\"}",
            30_000_000.0,
        ),
        (
            "tessera_rocksdb_memory_bytes{part=\"block_cache_pinned\"}",
            1_000.0,
        ),
        (
            "tessera_rocksdb_memory_bytes{part=\"memtables\"}",
            12_000_000.0,
        ),
        (
            "tessera_rocksdb_memory_bytes{part=\"table_readers\"}",
            4_096.0,
        ),
    ];
    for (k, v) in expect {
        assert_eq!(s.get(k), Some(&v), "{k} in\n{body}");
    }
    // The resident set is this test process's own: more than a megabyte, less
    // than the machine.
    let rss = s["tessera_process_resident_bytes"];
    assert!((1e6..1e12).contains(&rss), "{rss}");
    // The histogram's 0.25 s and 0.5 s observations fall in the buckets above them.
    let le_1 = s
        .iter()
        .find(|(k, _)| k.starts_with("tessera_block_import_seconds_bucket{le=\"0.8192"))
        .map(|(_, v)| *v);
    assert_eq!(le_1, Some(2.0), "{body}");

    // Every metric the Grafana dashboard queries is one the node exports.
    let dashboard =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/grafana/tessera.json"))
            .unwrap();
    let dash: serde_json::Value = serde_json::from_str(&dashboard).unwrap();
    let mut queried = 0;
    for panel in dash["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"].as_str().unwrap();
            for (i, _) in expr.match_indices("tessera_") {
                let name: String = expr[i..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                assert!(
                    s.keys()
                        .any(|k| k == &name || k.starts_with(&format!("{name}{{"))),
                    "dashboard queries {name}, which /metrics does not export"
                );
                queried += 1;
            }
        }
    }
    assert!(queried >= 19, "the dashboard queries {queried} series");

    // Another path is 404; another method 405; the server still answers after.
    let (head, _) = get(addr, "/other").await;
    assert!(head.starts_with("HTTP/1.1 404"), "{head}");
    let mut s2 = TcpStream::connect(addr).await.unwrap();
    s2.write_all(b"POST /metrics HTTP/1.1\r\n\r\n")
        .await
        .unwrap();
    let mut reply = String::new();
    s2.read_to_string(&mut reply).await.unwrap();
    assert!(reply.starts_with("HTTP/1.1 405"), "{reply}");
    // A head that never ends is cut off at the size bound with 400.
    let mut s3 = TcpStream::connect(addr).await.unwrap();
    let junk = vec![b'a'; metrics::MAX_REQUEST_HEAD + 10];
    let _ = s3.write_all(&junk).await;
    let mut reply = String::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s3.read_to_string(&mut reply)).await;
    assert!(reply.starts_with("HTTP/1.1 400"), "{reply}");
    let (head, _) = get(addr, "/metrics").await;
    assert!(head.starts_with("HTTP/1.1 200"));
}

//! Import DA over real JAMNP-S endpoints on loopback (tiny spec, V = 6, R = 2), each
//! assurer with its own RocksDB: a guarantor imports segments of a package that
//! exported 70 (two proof pages), through `import_segments`. No vectors exist for
//! this; the checks follow GP 14.3 and JAMNP-S CE 139/140:
//! - from honest assurers, every segment equals the exported one and its import
//!   proof `J₀` proves it to the segments root;
//! - an assurer whose segment shards are corrupt, asked first, makes the CE 139
//!   rebuild inconsistent; the CE 140 round proves every shard, passes it over, and
//!   the import succeeds;
//! - shards that all prove to the erasure root but rebuild segments that do not
//!   prove to the claimed segments root are an invalid erasure root;
//! - an index not exported, and too few assurers, are typed errors.

mod common;

use common::{node, Node};

use tessera_core::hash::blake2b_256;
use tessera_core::merkle::constant_depth::{leaf_hash, root, root_from_justification};
use tessera_core::spec::ChainSpec;
use tessera_da::availability::AvailabilityEngine;
use tessera_da::import::{import_segments, ExportedBy, Holder, ImportError};
use tessera_da::package::Distributable;
use tessera_kernels::Backend;
use tessera_test_support::SplitMix;

/// Assurers holding shard `i` each of `package`; `corrupt` has its segment shards
/// flipped (its stored justification still proves the honest ones).
async fn assurers(
    spec: &ChainSpec,
    importer: &Node,
    package: &Distributable,
    corrupt: Option<usize>,
) -> (Vec<Node>, Vec<Holder>) {
    let mut nodes = Vec::new();
    let mut holders = Vec::new();
    for i in 0..spec.validators() {
        let n = node(spec, 10 + i as u8);
        let mut set = package.shard_set(i).unwrap();
        if corrupt == Some(i) {
            for shard in &mut set.segment_shards {
                shard[0] ^= 0x5A;
            }
        }
        n.store
            .put_shard_set(&package.erasure_root, i as u16, &set, 1)
            .unwrap();
        importer
            .net
            .connect(n.net.peer_id(), n.net.local_addr().unwrap())
            .await
            .unwrap();
        holders.push(Holder {
            peer: n.net.peer_id(),
            shard_index: i as u16,
        });
        nodes.push(n);
    }
    (nodes, holders)
}

fn package(spec: &ChainSpec, segments: &[Vec<u8>]) -> Distributable {
    let mut engine = AvailabilityEngine::new(spec, Backend::Simd);
    Distributable::new(spec, &mut engine, b"bundle", segments).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn segments_are_imported_proven_past_a_corrupt_assurer() {
    let spec = ChainSpec::tiny();
    let segments = SplitMix(7).blobs(70, spec.segment_size as usize);
    let package = package(&spec, &segments);
    let from = ExportedBy {
        erasure_root: package.erasure_root,
        segments_root: package.segments_root,
        export_count: 70,
    };
    let wanted = [69u16, 0, 5, 64, 5];

    for corrupt in [None, Some(0)] {
        let importer = node(&spec, 1);
        let (_nodes, holders) = assurers(&spec, &importer, &package, corrupt).await;
        let got = import_segments(
            &importer.net,
            &spec,
            Backend::Simd,
            &from,
            &wanted,
            &holders,
        )
        .await
        .unwrap_or_else(|e| panic!("corrupt {corrupt:?}: {e}"));
        assert_eq!(got.len(), wanted.len());
        for (s, &i) in got.iter().zip(&wanted) {
            assert_eq!(s.index, i);
            assert!(s.segment == segments[usize::from(i)], "segment {i}");
            let leaf = leaf_hash(&s.segment, blake2b_256);
            let proven =
                root_from_justification(leaf, usize::from(i), &s.proof, blake2b_256).unwrap();
            assert_eq!(proven, package.segments_root, "J₀ of segment {i}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erasure_root_inconsistent_with_the_segments_root_is_named() {
    let spec = ChainSpec::tiny();
    let segments = SplitMix(8).blobs(3, spec.segment_size as usize);
    let package = package(&spec, &segments);
    // The report claims other segments: every shard proves to the erasure root, but
    // what they rebuild does not prove to this segments root.
    let claimed = SplitMix(9).blobs(3, spec.segment_size as usize);
    let from = ExportedBy {
        erasure_root: package.erasure_root,
        segments_root: root(&claimed, blake2b_256),
        export_count: 3,
    };
    let importer = node(&spec, 2);
    let (_nodes, holders) = assurers(&spec, &importer, &package, None).await;
    let r = import_segments(&importer.net, &spec, Backend::Simd, &from, &[1], &holders).await;
    assert!(
        matches!(r, Err(ImportError::InvalidErasureRoot { index: 1, .. })),
        "{r:?}"
    );

    // Not exported; too few assurers (one of R = 2).
    let honest = ExportedBy {
        segments_root: package.segments_root,
        ..from
    };
    let r = import_segments(&importer.net, &spec, Backend::Simd, &honest, &[3], &holders).await;
    assert!(
        matches!(
            r,
            Err(ImportError::NotExported {
                index: 3,
                export_count: 3
            })
        ),
        "{r:?}"
    );
    let r = import_segments(
        &importer.net,
        &spec,
        Backend::Simd,
        &honest,
        &[0],
        &holders[..1],
    )
    .await;
    assert!(
        matches!(
            r,
            Err(ImportError::TooFewHolders {
                got: 1,
                needed: 2,
                ..
            })
        ),
        "{r:?}"
    );
}

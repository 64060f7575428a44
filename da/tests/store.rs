//! The shard store on a real RocksDB in temporary directories: round trips, the
//! GP's retention (pruning removes exactly what expired), all-or-nothing writes,
//! and no acknowledged shard lost when the writing process is killed (`SIGKILL`).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use tessera_core::hash::Hash;
use tessera_core::spec::ChainSpec;
use tessera_da::store::{Pruned, ShardSet, ShardStore, StoreError, StoredSegment};
use tessera_net::messages::{Justification, JustificationStep};
use tessera_test_support::SplitMix;

/// Tiny, with segments kept 20 slots so that pruning can be watched.
fn spec() -> ChainSpec {
    ChainSpec {
        segment_retention_slots: 20,
        ..ChainSpec::tiny()
    }
}

fn shard_set(spec: &ChainSpec, seed: u64, segments: usize) -> ShardSet {
    let mut rng = SplitMix(seed);
    let shard = 2 * spec.segment_pieces as usize;
    ShardSet {
        bundle_shard: rng.bytes(100 + (seed as usize % 50)),
        segment_shards: (0..segments).map(|_| rng.bytes(shard)).collect(),
        justification: Justification(vec![
            JustificationStep::Hash(Hash::from_slice(&rng.bytes(32)).unwrap()),
            JustificationStep::Pair(Hash::from([1; 32]), Hash::from([2; 32])),
        ]),
    }
}

fn root(n: u8) -> Hash {
    Hash::from([n; 32])
}

#[test]
fn shard_sets_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let spec = spec();
    let store = ShardStore::open(&spec, dir.path()).unwrap();
    let set = shard_set(&spec, 1, 3);
    store.put_shard_set(&root(1), 4, &set, 10).unwrap();
    assert_eq!(store.shard_set(&root(1), 4).unwrap(), Some(set.clone()));
    assert_eq!(
        store.bundle_shard(&root(1), 4).unwrap(),
        Some(set.bundle_shard.clone())
    );
    assert_eq!(
        store.segment_shards(&root(1), 4).unwrap(),
        Some(set.segment_shards.clone())
    );
    assert_eq!(
        store.justification(&root(1), 4).unwrap(),
        Some(set.justification.clone())
    );
    // Another index, another root: not held.
    assert_eq!(store.shard_set(&root(1), 5).unwrap(), None);
    assert_eq!(store.bundle_shard(&root(2), 4).unwrap(), None);
    // A set with no segment shards (a package that exports nothing).
    let empty = shard_set(&spec, 2, 0);
    store.put_shard_set(&root(2), 0, &empty, 10).unwrap();
    assert_eq!(store.shard_set(&root(2), 0).unwrap(), Some(empty));
    // Reopened, all is still there.
    drop(store);
    let store = ShardStore::open(&spec, dir.path()).unwrap();
    assert_eq!(store.shard_set(&root(1), 4).unwrap(), Some(set));
}

#[test]
fn a_mis_sized_segment_shard_is_refused_and_nothing_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let spec = spec();
    let store = ShardStore::open(&spec, dir.path()).unwrap();
    let mut set = shard_set(&spec, 3, 2);
    set.segment_shards[1].pop();
    assert!(matches!(
        store.put_shard_set(&root(3), 0, &set, 1),
        Err(StoreError::Invalid { .. })
    ));
    assert_eq!(store.bundle_shard(&root(3), 0).unwrap(), None);
    assert_eq!(store.prune(u32::MAX - 1).unwrap(), Pruned::default());
}

#[test]
fn pruning_follows_the_retention_rules() {
    let dir = tempfile::tempdir().unwrap();
    let spec = spec();
    let u = spec.availability_timeout; // 5
    let store = ShardStore::open(&spec, dir.path()).unwrap();
    // Root 1: its report never becomes available. Root 2: it does, then is audited.
    store
        .put_shard_set(&root(1), 0, &shard_set(&spec, 1, 2), 10)
        .unwrap();
    store
        .put_shard_set(&root(2), 3, &shard_set(&spec, 2, 2), 10)
        .unwrap();
    store
        .put_shard_set(&root(2), 4, &shard_set(&spec, 3, 2), 11)
        .unwrap();
    store.keep_bundle(&root(2)).unwrap();

    assert_eq!(store.prune(10 + u - 1).unwrap(), Pruned::default());
    // At 10 + U root 1's bundle shard goes; its segment shards stay.
    let p = store.prune(10 + u).unwrap();
    assert_eq!(
        p,
        Pruned {
            bundle_shards: 1,
            ..Pruned::default()
        }
    );
    assert_eq!(store.bundle_shard(&root(1), 0).unwrap(), None);
    assert!(store.segment_shards(&root(1), 0).unwrap().is_some());
    assert!(store.justification(&root(1), 0).unwrap().is_some());
    // b♣ outlives its bundle shard: CE 140 needs it.
    let set = shard_set(&spec, 1, 2);
    assert_eq!(
        store.bundle_shard_hash(&root(1), 0).unwrap(),
        Some(tessera_core::hash::blake2b_256(&set.bundle_shard))
    );
    // So does s♣, which CE 138 appends: M_B of the segment shards, stored once.
    let items: Vec<&[u8]> = set.segment_shards.iter().map(Vec::as_slice).collect();
    assert_eq!(
        store.segment_shards_root(&root(1), 0).unwrap(),
        Some(tessera_core::merkle::balanced::root(
            &items,
            tessera_core::hash::blake2b_256
        ))
    );
    // Root 2's bundle shards are kept past U.
    assert_eq!(store.prune(11 + u).unwrap(), Pruned::default());
    assert!(store.bundle_shard(&root(2), 3).unwrap().is_some());
    // Audited at 18: both of its bundle shards go at the next prune.
    store.release_bundle(&root(2), 18).unwrap();
    assert_eq!(store.prune(17).unwrap(), Pruned::default());
    assert_eq!(
        store.prune(18).unwrap(),
        Pruned {
            bundle_shards: 2,
            ..Pruned::default()
        }
    );
    assert!(store.bundle_shard(&root(2), 3).unwrap().is_none());
    assert!(store.bundle_shard(&root(2), 4).unwrap().is_none());
    // Segment shards: 20 slots after receipt (30 for the slot-10 sets, 31 for the other).
    assert_eq!(store.prune(29).unwrap(), Pruned::default());
    assert_eq!(
        store.prune(30).unwrap(),
        Pruned {
            segment_shard_sets: 2,
            ..Pruned::default()
        }
    );
    assert!(store.segment_shards(&root(1), 0).unwrap().is_none());
    assert!(store.justification(&root(2), 3).unwrap().is_none());
    assert!(store.segment_shards(&root(2), 4).unwrap().is_some());
    assert_eq!(
        store.prune(31).unwrap(),
        Pruned {
            segment_shard_sets: 1,
            ..Pruned::default()
        }
    );
    // Nothing is left to prune.
    assert_eq!(store.prune(u32::MAX).unwrap(), Pruned::default());
}

/// A guarantor stores every index's row to serve the assurers, but keeps past
/// the availability window (`U` slots) only its own index's segment shards, as
/// an assurer keeps its own: the others' go with their bundle shards.
#[test]
fn a_guarantor_keeps_only_its_own_row_past_the_availability_window() {
    let dir = tempfile::tempdir().unwrap();
    let spec = spec();
    let u = spec.availability_timeout;
    let store = ShardStore::open(&spec, dir.path()).unwrap();
    let sets: Vec<ShardSet> = (0..3).map(|i| shard_set(&spec, 10 + i, 2)).collect();
    let concatenated: Vec<Vec<u8>> = sets.iter().map(|s| s.segment_shards.concat()).collect();
    let rows = sets
        .iter()
        .zip(&concatenated)
        .enumerate()
        .map(|(i, (set, segs))| tessera_da::store::ShardRow {
            index: i as u16,
            bundle_shard: &set.bundle_shard,
            segment_shards: segs,
            segment_shards_root: Hash::from([i as u8; 32]),
            justification: &set.justification,
        });
    let own = 1;
    store.put_guarantor_rows(&root(9), rows, 10, own).unwrap();
    for i in 0..3 {
        assert_eq!(
            store.shard_set(&root(9), i).unwrap().as_ref(),
            Some(&sets[usize::from(i)]),
            "row {i} served whole until U"
        );
    }
    // At 10 + U: every bundle shard, and the other rows' segment shards and
    // justifications, expire; the guarantor's own row keeps its segment shards.
    assert_eq!(
        store.prune(10 + u).unwrap(),
        Pruned {
            bundle_shards: 3,
            segment_shard_sets: 2,
            ..Pruned::default()
        }
    );
    for i in [0u16, 2] {
        assert!(store.segment_shards(&root(9), i).unwrap().is_none());
        assert!(store.justification(&root(9), i).unwrap().is_none());
    }
    assert!(store.segment_shards(&root(9), own).unwrap().is_some());
    assert!(store.justification(&root(9), own).unwrap().is_some());
    // Its own goes with the segment retention, 20 slots after receipt.
    assert_eq!(store.prune(29).unwrap(), Pruned::default());
    assert_eq!(
        store.prune(30).unwrap(),
        Pruned {
            segment_shard_sets: 1,
            ..Pruned::default()
        }
    );
    assert_eq!(store.prune(u32::MAX).unwrap(), Pruned::default());
}

fn segments(spec: &ChainSpec, n: usize, seed: u64) -> Vec<StoredSegment> {
    let mut rng = SplitMix(seed);
    (0..n)
        .map(|i| StoredSegment {
            segment: rng.bytes(spec.segment_size as usize),
            proof: (0..i % 4).map(|k| Hash::from([k as u8; 32])).collect(),
        })
        .collect()
}

#[test]
fn a_guarantors_package_is_served_then_expires() {
    let dir = tempfile::tempdir().unwrap();
    let spec = spec();
    let store = ShardStore::open(&spec, dir.path()).unwrap();
    let (erasure, segs_root) = (root(7), root(8));
    let segs = segments(&spec, 5, 1);
    store
        .put_package(&erasure, b"bundle", &segs_root, &segs, 100)
        .unwrap();
    // A neighbouring segments root, to check that pruning one leaves the other.
    let other = segments(&spec, 2, 2);
    store
        .put_package(&root(6), b"other", &root(9), &other, 200)
        .unwrap();
    assert_eq!(
        store.bundle(&erasure).unwrap().as_deref(),
        Some(&b"bundle"[..])
    );
    for (i, s) in segs.iter().enumerate() {
        assert_eq!(
            store.segment(&segs_root, i as u16).unwrap().as_ref(),
            Some(s)
        );
    }
    assert_eq!(store.segment(&segs_root, 5).unwrap(), None);

    assert_eq!(
        store.prune(105).unwrap(),
        Pruned {
            bundles: 1,
            ..Pruned::default()
        }
    );
    assert_eq!(store.bundle(&erasure).unwrap(), None);
    assert!(store.segment(&segs_root, 0).unwrap().is_some());
    assert_eq!(
        store.prune(120).unwrap(),
        Pruned {
            segment_sets: 1,
            ..Pruned::default()
        }
    );
    for i in 0..5 {
        assert_eq!(store.segment(&segs_root, i).unwrap(), None);
    }
    assert_eq!(
        store.segment(&root(9), 1).unwrap().as_ref(),
        Some(&other[1])
    );

    // A segment of the wrong size is refused whole.
    let mut bad = segments(&spec, 2, 3);
    bad[1].segment.pop();
    assert!(store
        .put_package(&root(10), b"b", &root(11), &bad, 1)
        .is_err());
    assert_eq!(store.bundle(&root(10)).unwrap(), None);
    assert_eq!(store.segment(&root(11), 0).unwrap(), None);
}

#[test]
fn a_database_without_the_families_is_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut options = rocksdb::Options::default();
    options.create_if_missing(true);
    let db = rocksdb::DB::open(&options, dir.path()).unwrap();
    assert!(matches!(
        ShardStore::with_db(&spec(), std::sync::Arc::new(db)),
        Err(StoreError::MissingFamily(_))
    ));
}

/// The environment variable naming the database a `writer_child` writes to.
const CHILD_DB: &str = "TESSERA_DA_TEST_CHILD_DB";

/// Run by `no_acknowledged_shard_is_lost_when_killed` as a child process: writes
/// shard sets one after another, printing `acked N` after each write returns,
/// until killed.
#[test]
#[ignore = "the child process of no_acknowledged_shard_is_lost_when_killed"]
fn writer_child() {
    let Some(path) = std::env::var_os(CHILD_DB) else {
        return;
    };
    let spec = spec();
    let store = ShardStore::open(&spec, std::path::Path::new(&path)).unwrap();
    for n in 0..100_000u32 {
        let set = shard_set(&spec, u64::from(n), 3);
        store.put_shard_set(&child_root(n), 0, &set, 1).unwrap();
        println!("acked {n}");
    }
}

fn child_root(n: u32) -> Hash {
    let mut h = [0u8; 32];
    h[..4].copy_from_slice(&n.to_be_bytes());
    Hash::from(h)
}

#[test]
fn no_acknowledged_shard_is_lost_when_killed() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "writer_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DB, dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut acked = None;
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if let Some(n) = line.strip_prefix("acked ") {
            let n: u32 = n.parse().unwrap();
            acked = Some(n);
            if n >= 200 {
                break;
            }
        }
    }
    // SIGKILL, mid-write: no chance to flush or close.
    child.kill().unwrap();
    child.wait().unwrap();
    let acked = acked.expect("the child acknowledged no write");

    let spec = spec();
    let store = ShardStore::open(&spec, dir.path()).unwrap();
    for n in 0..=acked {
        let want = shard_set(&spec, u64::from(n), 3);
        assert_eq!(
            store.shard_set(&child_root(n), 0).unwrap(),
            Some(want),
            "set {n}"
        );
    }
    // Writes after the last acknowledgement are whole or absent, never partial.
    for n in acked + 1..acked + 50 {
        let r = child_root(n);
        let parts = [
            store.bundle_shard(&r, 0).unwrap().is_some(),
            store.segment_shards(&r, 0).unwrap().is_some(),
            store.justification(&r, 0).unwrap().is_some(),
        ];
        assert!(
            parts.iter().all(|p| *p) || parts.iter().all(|p| !p),
            "set {n}: {parts:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_background_pruner_removes_what_expired() {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;
    let dir = tempfile::tempdir().unwrap();
    let spec = spec();
    let store = Arc::new(ShardStore::open(&spec, dir.path()).unwrap());
    store
        .put_shard_set(&root(1), 0, &shard_set(&spec, 1, 1), 10)
        .unwrap();
    let slot = Arc::new(AtomicU32::new(10));
    let clock = slot.clone();
    let pruner = tessera_da::store::spawn_pruner(
        store.clone(),
        std::time::Duration::from_millis(10),
        move || clock.load(Ordering::SeqCst),
    );
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert!(
        store.bundle_shard(&root(1), 0).unwrap().is_some(),
        "nothing expired yet"
    );
    // The clock passes 10 + U: the bundle shard goes, the segment shards stay.
    slot.store(15, Ordering::SeqCst);
    let mut gone = false;
    for _ in 0..200 {
        if store.bundle_shard(&root(1), 0).unwrap().is_none() {
            gone = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    pruner.abort();
    assert!(gone, "the pruner did not remove the expired bundle shard");
    assert!(store.segment_shards(&root(1), 0).unwrap().is_some());
}

//! The state store and the importer over it: RocksDB keeps states across
//! reopening, and a rejected block leaves every stored state as it was.

use std::path::PathBuf;

use tessera_core::codec::decode_exact;
use tessera_core::spec::ChainSpec;
use tessera_node::import::{ImportError, Importer};
use tessera_node::store::{StateStore, StoreError};
use tessera_state::serial::trace_file::{Genesis, TraceStep};

/// A fresh, empty folder under the system's temporary folder, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let path = std::env::temp_dir().join(format!(
            "tessera-store-{tag}-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn storage_trace() -> Option<(Genesis, Vec<TraceStep>)> {
    let dir = tessera_conformance::vectors_folder("traces/storage")?;
    let spec = ChainSpec::tiny();
    let genesis = decode_exact(&spec, &std::fs::read(dir.join("genesis.bin")).unwrap()).unwrap();
    let steps = (1..=3)
        .map(|i| {
            let bytes = std::fs::read(dir.join(format!("{i:08}.bin"))).unwrap();
            decode_exact(&spec, &bytes).unwrap()
        })
        .collect();
    Some((genesis, steps))
}

#[test]
fn rocksdb_keeps_imported_states_across_reopening() {
    let Some((genesis, steps)) = storage_trace() else {
        return;
    };
    let spec = ChainSpec::tiny();
    let db = TempDir::new("reopen");
    {
        let mut importer = Importer::new(&spec, StateStore::open(&spec, &db.0).unwrap());
        let root = importer
            .initialize(&genesis.header, &genesis.state.keyvals)
            .unwrap();
        assert_eq!(root, genesis.state.root);
        for step in &steps {
            assert_eq!(importer.import(&step.block).unwrap(), step.post.root);
        }
    }
    // A new process: nothing cached, every state read back from disk.
    let mut store = StateStore::open(&spec, &db.0).unwrap();
    let genesis_state = store.get(&genesis.header.hash()).unwrap().unwrap();
    assert_eq!(genesis_state.root, genesis.state.root);
    for step in &steps {
        let stored = store.get(&step.block.header.hash()).unwrap().unwrap();
        assert_eq!(stored.root, step.post.root);
        assert_eq!(
            stored.state.root(),
            step.post.root,
            "decoded state re-merklizes"
        );
        assert_eq!(stored.state.serialize(), step.post.keyvals);
    }
    // And the chain goes on from the reopened store.
    let mut importer = Importer::new(&spec, store);
    let dir = tessera_conformance::vectors_folder("traces/storage").unwrap();
    let next: TraceStep =
        decode_exact(&spec, &std::fs::read(dir.join("00000004.bin")).unwrap()).unwrap();
    assert_eq!(importer.import(&next.block).unwrap(), next.post.root);
}

#[test]
fn rejected_block_stores_nothing_and_keeps_its_parent() {
    let Some((genesis, steps)) = storage_trace() else {
        return;
    };
    let spec = ChainSpec::tiny();
    for rocks in [false, true] {
        let db = TempDir::new("reject");
        let store = if rocks {
            StateStore::open(&spec, &db.0).unwrap()
        } else {
            StateStore::in_memory(&spec)
        };
        let mut importer = Importer::new(&spec, store);
        importer
            .initialize(&genesis.header, &genesis.state.keyvals)
            .unwrap();
        let mut bad = steps[0].block.clone();
        bad.header.extrinsic_hash.0[0] ^= 1;
        let err = importer.import(&bad).unwrap_err();
        assert!(matches!(err, ImportError::Block(_)), "{err}");
        assert!(importer.state(&bad.header.hash()).unwrap().is_none());
        let parent = importer.state(&genesis.header.hash()).unwrap().unwrap();
        assert_eq!(parent.root, genesis.state.root);
        // The good block still imports onto the untouched parent.
        assert_eq!(
            importer.import(&steps[0].block).unwrap(),
            steps[0].post.root
        );
    }
}

#[test]
fn unknown_parent_is_a_typed_error() {
    let Some((_, steps)) = storage_trace() else {
        return;
    };
    let spec = ChainSpec::tiny();
    let mut importer = Importer::new(&spec, StateStore::in_memory(&spec));
    let err = importer.import(&steps[1].block).unwrap_err();
    assert!(matches!(err, ImportError::UnknownParent(p) if p == steps[1].block.header.parent));
}

#[test]
fn corrupt_database_value_is_reported_not_panicked() {
    let spec = ChainSpec::tiny();
    let header = tessera_core::hash::Hash::from([7u8; 32]);
    let raw_put = |path: &std::path::Path| {
        let options = rocksdb::Options::default();
        let families = rocksdb::DB::list_cf(&options, path).unwrap_or_default();
        let raw = if families.is_empty() {
            rocksdb::DB::open_default(path).unwrap()
        } else {
            rocksdb::DB::open_cf(&options, path, families).unwrap()
        };
        raw.put(header.0, b"not a state").unwrap();
    };
    // A database with states but no layout record: written by an older Tessera.
    let old = TempDir::new("old-layout");
    raw_put(&old.0);
    let err = StateStore::open(&spec, &old.0).err().expect("refused");
    assert!(matches!(err, StoreError::OldLayout(_)), "{err}");
    assert!(err.to_string().contains("fresh --base-path"), "{err}");
    // A record in this layout that does not decode.
    let db = TempDir::new("corrupt");
    drop(StateStore::open(&spec, &db.0).unwrap());
    raw_put(&db.0);
    let mut store = StateStore::open(&spec, &db.0).unwrap();
    let err = store.get(&header).unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
}

#[test]
fn states_and_shards_share_one_database() {
    use tessera_da::store::ShardSet;
    use tessera_net::messages::Justification;
    let spec = ChainSpec::tiny();
    let db = TempDir::new("shared");
    let root = tessera_core::hash::Hash::from([3u8; 32]);
    let set = ShardSet {
        bundle_shard: vec![1, 2, 3],
        segment_shards: vec![vec![9; 2 * spec.segment_pieces as usize]],
        justification: Justification::default(),
    };
    {
        let store = StateStore::open(&spec, &db.0).unwrap();
        let shards = store
            .shard_store()
            .unwrap()
            .expect("a RocksDB store has shards");
        shards.put_shard_set(&root, 1, &set, 0).unwrap();
    }
    let store = StateStore::open(&spec, &db.0).unwrap();
    let shards = store.shard_store().unwrap().unwrap();
    assert_eq!(shards.shard_set(&root, 1).unwrap(), Some(set));
    assert!(StateStore::in_memory(&spec)
        .shard_store()
        .unwrap()
        .is_none());
}

/// Successive states share their unchanged values: the second state of a chain adds
/// only the values that changed, deleting a state sweeps exactly the values no kept
/// state references, and every kept state still reads back to its root.
#[test]
fn states_share_values_and_deleting_sweeps_the_rest() {
    let Some((genesis, steps)) = storage_trace() else {
        return;
    };
    let spec = ChainSpec::tiny();
    let db = TempDir::new("share");
    let family = |store: &StateStore, name: &str| {
        store
            .usage()
            .unwrap()
            .into_iter()
            .find(|u| u.family == name)
            .unwrap_or_else(|| panic!("no family {name}"))
    };
    let genesis_hash = genesis.header.hash();
    let mut hashes = vec![genesis_hash];
    {
        let mut importer = Importer::new(&spec, StateStore::open(&spec, &db.0).unwrap());
        importer
            .initialize(&genesis.header, &genesis.state.keyvals)
            .unwrap();
        for step in &steps {
            importer.import(&step.block).unwrap();
            hashes.push(step.block.header.hash());
        }
    }
    // The values a set of states needs, counted from the trace itself: each
    // distinct value at each key (values are stored per key, see `store.rs`).
    let distinct = |states: &[&tessera_state::serial::KeyValues]| {
        let mut all = std::collections::BTreeSet::new();
        for kv in states {
            all.extend(kv.iter().map(|(k, v)| (*k, v.clone())));
        }
        all.len() as u64
    };
    let all_states: Vec<_> = std::iter::once(&genesis.state.keyvals)
        .chain(steps.iter().map(|s| &s.post.keyvals))
        .collect();
    let mut store = StateStore::open(&spec, &db.0).unwrap();
    assert_eq!(family(&store, "states").entries, 4);
    assert_eq!(
        family(&store, "state_values").entries,
        distinct(&all_states),
        "each distinct value at a key stored once"
    );
    let whole: usize = all_states
        .iter()
        .map(|kv| kv.values().map(Vec::len).sum::<usize>())
        .sum();
    assert!(
        (family(&store, "state_values").bytes as usize) < whole,
        "four states share what they share"
    );

    // Delete genesis and the first step: what stays is what the last two need.
    store.delete_states(&hashes[..2]).unwrap();
    assert_eq!(family(&store, "states").entries, 2);
    assert_eq!(
        family(&store, "state_values").entries,
        distinct(&all_states[2..])
    );
    for (hash, step) in hashes[2..].iter().zip(&steps[1..]) {
        let stored = store.get(hash).unwrap().unwrap();
        assert_eq!(stored.root, step.post.root);
        assert_eq!(stored.state.root(), step.post.root);
    }
    assert!(store.get(&hashes[0]).unwrap().is_none());
    // Reopened, nothing cached: the same.
    drop(store);
    let mut store = StateStore::open(&spec, &db.0).unwrap();
    for (hash, step) in hashes[2..].iter().zip(&steps[1..]) {
        assert_eq!(
            store.get(hash).unwrap().unwrap().state.root(),
            step.post.root
        );
    }
}

/// A record naming a value the database lacks is a typed error, not a panic.
#[test]
fn a_missing_state_value_is_reported_not_panicked() {
    let Some((genesis, _)) = storage_trace() else {
        return;
    };
    let spec = ChainSpec::tiny();
    let db = TempDir::new("missing");
    {
        let mut importer = Importer::new(&spec, StateStore::open(&spec, &db.0).unwrap());
        importer
            .initialize(&genesis.header, &genesis.state.keyvals)
            .unwrap();
    }
    {
        let raw = rocksdb::DB::open_cf(
            &rocksdb::Options::default(),
            &db.0,
            rocksdb::DB::list_cf(&rocksdb::Options::default(), &db.0).unwrap(),
        )
        .unwrap();
        let values = raw.cf_handle("state_values").unwrap();
        let first = raw
            .iterator_cf(values, rocksdb::IteratorMode::Start)
            .next()
            .unwrap()
            .unwrap()
            .0;
        raw.delete_cf(values, first).unwrap();
    }
    let mut store = StateStore::open(&spec, &db.0).unwrap();
    let err = store.get(&genesis.header.hash()).unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains("missing"), "{err}");
}

//! One block's state written to the node's RocksDB store, as block import does
//! it (`StateStore::stage_child` then `commit`), on a testnet genesis whose
//! service holds `N` items, each block writing two: with a whole record one
//! block in 64 of a chain (`store::WHOLE_EVERY`, changes records between) beside
//! a whole record every block (`set_whole_every(1)`: the layout before changes
//! records, one 63-octet entry per key of the state each block). States behind
//! the newest two are pruned every 16 blocks, as finality would.
//!
//! Besides the times, it prints the octets of state records written per block
//! (the growth of the records the database holds across one block's write:
//! the record's encoded size), over 256 blocks, and what is held after them.
//!
//! `cargo bench -p tessera-node --bench state_put`

#![allow(missing_docs)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::item_key;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use tessera_core::hash::{blake2b_256, Hash};
use tessera_core::spec::ChainSpec;
use tessera_node::store::StateStore;
use tessera_node::testnet_service::SERVICE_ID as SERVICE;
use tessera_state::ChainState;

/// A chain of blocks over one store: the newest state and its header.
struct Chain {
    store: StateStore,
    _dir: tempfile::TempDir,
    head: (Hash, Arc<ChainState>),
    kept: Vec<Hash>,
    n: u64,
}

impl Chain {
    fn new(items: u64, whole_every: u32) -> Chain {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let mut store = StateStore::open(&ChainSpec::tiny(), dir.path()).expect("the store");
        store.set_whole_every(whole_every);
        let state = common::state(items);
        let header = Hash::from([0; 32]);
        store.put(header, state.clone()).expect("genesis stored");
        Chain {
            store,
            _dir: dir,
            head: (header, state),
            kept: vec![header],
            n: 0,
        }
    }

    /// One block: two items written, the state stored; every 16 blocks the
    /// states behind the newest two pruned.
    fn block(&mut self) {
        self.write();
        self.prune();
    }

    /// Two items written, the state stored.
    fn write(&mut self) {
        self.n += 1;
        let mut post = (*self.head.1).clone();
        let account = Arc::make_mut(post.delta.get_mut(&SERVICE).expect("the service"));
        account
            .items
            .insert(item_key(u64::MAX - 2 * self.n), vec![1; 100]);
        account
            .items
            .insert(item_key(u64::MAX - 2 * self.n - 1), vec![2; 100]);
        let post = Arc::new(post);
        let header = blake2b_256(&self.n.to_le_bytes());
        let staged = self
            .store
            .stage_child(&self.head.0, post.clone())
            .expect("staged");
        self.store.commit(header, staged, None).expect("committed");
        self.head = (header, post);
        self.kept.push(header);
    }

    /// Every 16 blocks, the states behind the newest two pruned.
    fn prune(&mut self) {
        if self.n.is_multiple_of(16) {
            let doomed: Vec<Hash> = self.kept.drain(..self.kept.len() - 2).collect();
            self.store.delete_states(&doomed).expect("pruned");
        }
    }

    fn records_octets(&self) -> u64 {
        self.store
            .usage()
            .expect("usage")
            .iter()
            .filter(|u| u.family == "states" || u.family == "state_bases")
            .map(|u| u.bytes)
            .sum()
    }
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("state_put");
    group.sample_size(10);
    for items in [1_000u64, 20_000] {
        for (name, every) in [("whole_every_block", 1u32), ("changes", 64)] {
            // The records written per block, over 256 blocks: the growth of the
            // records held between two prunings is what one block wrote.
            let mut chain = Chain::new(items, every);
            let mut written = 0u64;
            for _ in 0..256 {
                let before = chain.records_octets();
                chain.write();
                written += chain.records_octets().saturating_sub(before);
                chain.prune();
            }
            eprintln!(
                "state_put {name} ({items} items): {:.1} KB of state records written per block, {:.1} KB held after 256 blocks",
                written as f64 / 256.0 / 1e3,
                chain.records_octets() as f64 / 1e3
            );
            group.bench_function(BenchmarkId::new(name, items), |b| {
                b.iter_custom(|iters| {
                    let mut elapsed = Duration::ZERO;
                    for _ in 0..iters {
                        let started = Instant::now();
                        chain.block();
                        elapsed += started.elapsed();
                    }
                    elapsed
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

//! `M_σ` (GP D.5) of a state that grows, two ways: from scratch
//! (`state_root_of_map`, the reference, what every import did before the store
//! worked by changes) against the persistent trie updated along one block's
//! changes (`StateTrie::updated`, what `tessera-node`'s store does now). The
//! state is a service's storage of `N` items of 200 octets (the testnet
//! service keeps one per accumulated package: about 14,000 after a 10,000-slot
//! run) plus 16 components; a block changes 12 components and writes 2 items.
//!
//! `cargo bench -p tessera-benches --bench state_root`

#![allow(missing_docs)]

use std::collections::BTreeMap;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use tessera_core::hash::blake2b_256;
use tessera_core::merkle::state_trie::{Leaf, StateTrie};
use tessera_core::merkle::trie::{state_key, state_root_of_map, StateKey};

fn item_key(i: u64) -> StateKey {
    state_key(&blake2b_256(&i.to_le_bytes()).0)
}

fn state(items: u64) -> BTreeMap<StateKey, Vec<u8>> {
    let mut map: BTreeMap<StateKey, Vec<u8>> = (1..=16u8)
        .map(|c| (state_key(&[c]), vec![c; 1_000]))
        .collect();
    map.extend((0..items).map(|i| (item_key(i), vec![i as u8; 200])));
    map
}

/// One block's changes to a state of `items` items: 12 components and 2 new items.
fn block(items: u64, n: u8) -> Vec<(StateKey, Vec<u8>)> {
    let mut changes: Vec<(StateKey, Vec<u8>)> = (1..=12u8)
        .map(|c| (state_key(&[c]), vec![c ^ n; 1_000]))
        .collect();
    changes.extend((items..items + 2).map(|i| (item_key(i), vec![n; 200])));
    changes
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("state_root");
    group.sample_size(20);
    for items in [1_000u64, 14_000] {
        let base = state(items);
        let changes = block(items, 1);
        let mut after = base.clone();
        after.extend(changes.iter().cloned());
        group.bench_with_input(BenchmarkId::new("from_scratch", items), &after, |b, m| {
            b.iter(|| state_root_of_map(m))
        });
        let trie = StateTrie::from_map(&base);
        group.bench_with_input(
            BenchmarkId::new("trie_updated", items),
            &changes,
            |b, ch| {
                b.iter(|| {
                    trie.updated(ch.iter().map(|(k, v)| (*k, Some(Leaf::new(*k, v)))))
                        .root()
                })
            },
        );
        assert_eq!(
            trie.updated(changes.iter().map(|(k, v)| (*k, Some(Leaf::new(*k, v)))))
                .root(),
            state_root_of_map(&after),
            "the two roots agree"
        );
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

//! One block's work on a service account that holds `N` items, as block import
//! does it: copy the prior state (`σ` is copied per block; the account a block
//! changes is copied on write, `Arc::make_mut`), write two items, then take the
//! changes against the prior state (`ChainState::serial_changes`, what the store
//! writes and the trie is updated along). With the account's items in a
//! persistent map (`imbl::OrdMap`) both steps cost what the block changed; with
//! a `BTreeMap` both walk the whole account. The testnet service keeps an item
//! per accumulated package (about 20,000 after a 10,000-slot run).
//!
//! The state is the testnet genesis (`tessera_node::genesis`), its service given
//! `N` items.
//!
//! `cargo bench -p tessera-node --bench account_changes`

#![allow(missing_docs)]

mod common;

use std::sync::Arc;

use common::{item_key, state};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use tessera_node::testnet_service::SERVICE_ID as SERVICE;
use tessera_state::ChainState;

/// The block: the posterior state with two new items, and its changes.
fn block(prior: &Arc<ChainState>, n: u64) -> usize {
    let mut post = (**prior).clone();
    let account = Arc::make_mut(post.delta.get_mut(&SERVICE).expect("the service"));
    account.items.insert(item_key(u64::MAX - n), vec![1; 100]);
    account
        .items
        .insert(item_key(u64::MAX - n - 1), vec![2; 100]);
    post.serial_changes(prior).len()
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("account_changes");
    group.sample_size(20);
    for items in [1_000u64, 20_000, 100_000] {
        let prior = state(items);
        assert_eq!(block(&prior, 0), 2, "two items changed");
        group.bench_with_input(BenchmarkId::new("block", items), &prior, |b, p| {
            b.iter(|| block(p, 0))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

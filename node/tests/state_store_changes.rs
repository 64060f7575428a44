//! States stored by what their blocks changed: `ChainState::serial_changes`
//! turns `T(prior)` into `T(post)` exactly, the trie updated along those changes
//! has the reference root `M_σ`, and a RocksDB store of a tree of such states,
//! pruned at random, keeps exactly the values its remaining states hold and gives
//! every one of them back, with its root, after reopening — with a whole record
//! every 3 blocks of a chain, so that states are read through chains of
//! changes records whose bases were pruned, and the bases are bounded.
//!
//! No vector covers this (it is Tessera's storage, not a GP function); the
//! reference is GP D.2/D.5 as `ChainState::serialize` and `ChainState::root`
//! compute them from scratch.

use std::collections::BTreeSet;
use std::sync::Arc;

use proptest::prelude::*;
use tessera_core::crypto::jip5::ValidatorSecrets;
use tessera_core::hash::Hash;
use tessera_core::merkle::state_trie::Leaf;
use tessera_core::spec::ChainSpec;
use tessera_node::genesis::testnet_genesis;
use tessera_node::store::StateStore;
use tessera_state::serial::KeyValues;
use tessera_state::sigma::accounts::ServiceAccount;
use tessera_state::ChainState;

/// One thing a block may do to the state.
#[derive(Clone, Debug)]
enum Mutation {
    /// Service 0's storage item `key` set to `len` octets of `fill` (both sides
    /// of the 32-octet embedding limit).
    SetItem { key: u8, len: usize, fill: u8 },
    /// Service 0's storage item `key` removed.
    RemoveItem { key: u8 },
    /// τ set.
    Tau(u32),
    /// λ′ = κ, κ′ = λ: equal values under different keys.
    SwapKappaLambda,
    /// A new service with one storage item.
    AddService(u32),
    /// A service (not 0) removed.
    RemoveService(u32),
    /// Service 0's balance set.
    Balance(u64),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (0u8..24, 0usize..80, any::<u8>())
            .prop_map(|(key, len, fill)| Mutation::SetItem { key, len, fill }),
        2 => (0u8..24).prop_map(|key| Mutation::RemoveItem { key }),
        1 => any::<u32>().prop_map(Mutation::Tau),
        1 => Just(Mutation::SwapKappaLambda),
        1 => (1u32..4).prop_map(Mutation::AddService),
        1 => (1u32..4).prop_map(Mutation::RemoveService),
        1 => any::<u64>().prop_map(Mutation::Balance),
    ]
}

fn apply(state: &ChainState, mutations: &[Mutation]) -> ChainState {
    let mut s = state.clone();
    for m in mutations {
        match m {
            Mutation::SetItem { key, len, fill } => Arc::make_mut(s.delta.get_mut(&0).unwrap())
                .set_storage(0, &[*key], vec![*fill; *len]),
            Mutation::RemoveItem { key } => {
                Arc::make_mut(s.delta.get_mut(&0).unwrap()).remove_storage(0, &[*key])
            }
            Mutation::Tau(t) => s.tau = *t,
            Mutation::SwapKappaLambda => std::mem::swap(&mut s.kappa, &mut s.lambda),
            Mutation::AddService(id) => {
                let mut account = ServiceAccount::default();
                account.info.balance = 1 << 40;
                account.set_storage(*id, b"key", vec![*id as u8; 40]);
                s.delta.insert(*id, Arc::new(account));
            }
            Mutation::RemoveService(id) => {
                s.delta.remove(id);
            }
            Mutation::Balance(b) => Arc::make_mut(s.delta.get_mut(&0).unwrap()).info.balance = *b,
        }
    }
    s
}

fn genesis(spec: &ChainSpec) -> ChainState {
    let devs: Vec<_> = (0..spec.validators())
        .map(|i| ValidatorSecrets::dev(i as u32))
        .collect();
    testnet_genesis(spec, &devs).unwrap().1
}

fn blocks() -> impl Strategy<Value = Vec<Vec<Mutation>>> {
    prop::collection::vec(prop::collection::vec(mutation(), 0..6), 1..8)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn changes_turn_the_prior_serialization_into_the_posterior_and_its_root(
        blocks in blocks(),
    ) {
        let spec = ChainSpec::tiny();
        let mut prior = genesis(&spec);
        let mut trie = tessera_core::merkle::state_trie::StateTrie::from_map(&prior.serialize());
        for block in &blocks {
            let post = apply(&prior, block);
            let changes = post.serial_changes(&prior);
            prop_assert!(changes.windows(2).all(|w| w[0].0 < w[1].0), "in key order, once each");
            let mut kv: KeyValues = prior.serialize();
            for (k, v) in &changes {
                prop_assert!(kv.get(k) != v.as_ref(), "only real changes");
                match v {
                    Some(v) => kv.insert(*k, v.clone()),
                    None => kv.remove(k),
                };
            }
            prop_assert!(kv == post.serialize(), "the changes give T(post)");
            trie = trie.updated(changes.iter().map(|(k, v)| (*k, v.as_deref().map(|v| Leaf::new(*k, v)))));
            prop_assert_eq!(trie.root(), post.root());
            prior = post;
        }
    }
}

/// A step of the store test: a child of the `parent`-th state still stored
/// (modulo their number), or the pruning of the states picked by `mask`.
#[derive(Clone, Debug)]
enum Step {
    Child {
        parent: usize,
        mutations: Vec<Mutation>,
    },
    Prune {
        mask: u32,
    },
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    prop::collection::vec(
        prop_oneof![
            3 => (any::<usize>(), prop::collection::vec(mutation(), 0..5))
                .prop_map(|(parent, mutations)| Step::Child { parent, mutations }),
            1 => any::<u32>().prop_map(|mask| Step::Prune { mask }),
        ],
        1..32,
    )
}

/// How many values the states hold: each distinct value at each key.
fn distinct_values(states: &[&ChainState]) -> u64 {
    let mut all = BTreeSet::new();
    for s in states {
        all.extend(s.serialize());
    }
    all.len() as u64
}

fn entries_in(store: &StateStore, family: &str) -> u64 {
    store
        .usage()
        .unwrap()
        .into_iter()
        .find(|u| u.family == family)
        .unwrap()
        .entries
}

fn values_in_store(store: &StateStore) -> u64 {
    entries_in(store, "state_values")
}

/// One whole record in this many of a chain, in the store test.
const WHOLE_EVERY: u32 = 3;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn a_pruned_tree_of_states_keeps_exactly_the_values_it_needs(steps in steps()) {
        let spec = ChainSpec::tiny();
        let dir = std::env::temp_dir().join(format!(
            "tessera-state-changes-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        let genesis = genesis(&spec);
        // (header, state, root) of every state still stored, oldest first.
        let mut kept: Vec<(Hash, ChainState, Hash)> = Vec::new();
        {
            let mut store = StateStore::open(&spec, &dir).unwrap();
            store.set_whole_every(WHOLE_EVERY);
            let root = store.put(Hash::from([0; 32]), Arc::new(genesis.clone())).unwrap();
            prop_assert_eq!(root, genesis.root());
            kept.push((Hash::from([0; 32]), genesis, root));
            for (n, step) in steps.iter().enumerate() {
                match step {
                    Step::Child { parent, mutations } if !kept.is_empty() => {
                        let (parent_hash, parent_state, _) = &kept[parent % kept.len()];
                        let post = apply(parent_state, mutations);
                        let mut header = [0u8; 32];
                        header[..8].copy_from_slice(&(n as u64 + 1).to_le_bytes());
                        let header = Hash::from(header);
                        let root = store.put_child(header, parent_hash, Arc::new(post.clone())).unwrap();
                        prop_assert_eq!(root, post.root());
                        kept.push((header, post, root));
                    }
                    Step::Child { .. } => {}
                    Step::Prune { mask } => {
                        let doomed: Vec<Hash> = kept
                            .iter()
                            .enumerate()
                            .filter(|(i, _)| mask >> (i % 32) & 1 == 1)
                            .map(|(_, k)| k.0)
                            .collect();
                        store.delete_states(&doomed).unwrap();
                        kept.retain(|k| !doomed.contains(&k.0));
                        for h in &doomed {
                            prop_assert!(store.get(h).unwrap().is_none(), "a pruned state is gone");
                        }
                    }
                }
                let states: Vec<&ChainState> = kept.iter().map(|k| &k.1).collect();
                prop_assert_eq!(values_in_store(&store), distinct_values(&states), "after step {}", n);
                prop_assert_eq!(entries_in(&store, "states"), kept.len() as u64);
                // Each kept state is read through fewer than `WHOLE_EVERY` records
                // besides its own, so no more bases than that are needed.
                let bases = entries_in(&store, "state_bases");
                prop_assert!(
                    bases <= kept.len() as u64 * u64::from(WHOLE_EVERY - 1),
                    "{} bases for {} kept states", bases, kept.len()
                );
            }
        }
        // Reopened, nothing in memory: every kept state, whole, with its root.
        let mut store = StateStore::open(&spec, &dir).unwrap();
        store.set_whole_every(WHOLE_EVERY);
        for (header, state, root) in &kept {
            let stored = store.get(header).unwrap().expect("a kept state is stored");
            prop_assert_eq!(stored.root, *root);
            prop_assert!(&*stored.state == state, "the state under {} comes back changed", header);
        }
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

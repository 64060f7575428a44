//! The state trie kept between states: `M_σ` (GP D.5) as nodes that successive
//! states share, so that a state differing from its parent in `d` keys gets its
//! root from `O(d · depth)` hashes instead of hashing all of `T(σ)` again.
//!
//! The nodes are the recursion `M(d)` of GP (D.6) made into a tree: over the keys
//! that agree on their first `i` bits, none is the zero hash, one is that key's
//! leaf `L(k, v)` (D.4) whatever `i` is, and more than one is the branch `B(l, r)`
//! (D.3) over those whose bit `i` is 0 and those whose bit is 1. So a lone key
//! sits as a leaf as high as its siblings allow, and removing a key lifts a leaf
//! left alone up past every branch that no longer has two keys below it.
//!
//! Nodes never change once made and are shared by `Arc`: an update makes new
//! nodes only on the paths to the keys it changes and points at the old ones
//! everywhere else. [`super::trie::state_root_of_map`] stays the reference; the
//! tests hold this trie to it after every update.
//!
//! Each leaf also keeps `H(v)` of its value, which the node's state store uses to
//! address the value.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::trie::{branch_node, leaf_node, BitOrder, StateKey, MAX_EMBEDDED_VALUE, STATE_KEY_LEN};
use crate::hash::{blake2b_256, Hash};

/// A key's leaf: the key, `H(v)` of its value, and `H(L(k, v))`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Leaf {
    /// The state key `k`.
    pub key: StateKey,
    /// `H(v)`.
    pub value_hash: Hash,
    /// `H(L(k, v))`: the leaf's node hash.
    hash: Hash,
}

impl Leaf {
    /// The leaf of `key` holding `value`.
    pub fn new(key: StateKey, value: &[u8]) -> Leaf {
        let value_hash = blake2b_256(value);
        let node = if value.len() <= MAX_EMBEDDED_VALUE {
            leaf_node(&key, value)
        } else {
            BitOrder::MsbFirst.hashed_leaf_node(&key, &value_hash)
        };
        Leaf {
            key,
            value_hash,
            hash: blake2b_256(&node),
        }
    }
}

type Link = Option<Arc<Node>>;

#[derive(Debug)]
enum Node {
    Leaf(Leaf),
    Branch { hash: Hash, left: Link, right: Link },
}

impl Node {
    fn hash(&self) -> Hash {
        match self {
            Node::Leaf(leaf) => leaf.hash,
            Node::Branch { hash, .. } => *hash,
        }
    }
}

fn hash(link: &Link) -> Hash {
    link.as_ref().map_or(Hash::ZERO, |n| n.hash())
}

/// Bit `i` of a key, most significant first (GP §3.7).
fn bit(key: &StateKey, i: usize) -> bool {
    BitOrder::MsbFirst.bit(key.as_ref(), i)
}

/// A change to a trie: `key` now holds the value of `leaf`, or nothing.
pub type Change = (StateKey, Option<Leaf>);

/// The state trie of some `T(σ)`; cloning it is one reference count.
#[derive(Clone, Default)]
pub struct StateTrie {
    root: Link,
}

impl std::fmt::Debug for StateTrie {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateTrie")
            .field("root", &self.root())
            .finish_non_exhaustive()
    }
}

impl StateTrie {
    /// The trie of `T(σ)` given in full.
    pub fn from_map<V: AsRef<[u8]>>(map: &BTreeMap<StateKey, V>) -> StateTrie {
        let leaves: Vec<Leaf> = map.iter().map(|(k, v)| Leaf::new(*k, v.as_ref())).collect();
        StateTrie {
            root: build(&leaves, 0),
        }
    }

    /// `M_σ`: the root's hash, the zero hash when empty (GP D.6).
    pub fn root(&self) -> Hash {
        hash(&self.root)
    }

    /// This trie with `changes` made: each key set to its leaf or removed. The
    /// changes may come in any order; of two for the same key the later wins.
    /// `self` is unchanged and shares every untouched node with the result.
    pub fn updated(&self, changes: impl IntoIterator<Item = Change>) -> StateTrie {
        let mut changes: Vec<Change> = changes.into_iter().collect();
        // Stable, so the later of two changes to one key stays last; keep it.
        changes.sort_by_key(|c| c.0);
        let mut deduped: Vec<Change> = Vec::with_capacity(changes.len());
        for c in changes {
            match deduped.last_mut() {
                Some(last) if last.0 == c.0 => *last = c,
                _ => deduped.push(c),
            }
        }
        StateTrie {
            root: update(&self.root, 0, &deduped),
        }
    }

    /// The leaf of `key`, if the trie holds it.
    pub fn get(&self, key: &StateKey) -> Option<&Leaf> {
        let mut at = self.root.as_deref();
        let mut depth = 0;
        while let Some(node) = at {
            match node {
                Node::Leaf(leaf) => return (leaf.key == *key).then_some(leaf),
                Node::Branch { left, right, .. } => {
                    at = if bit(key, depth) { right } else { left }.as_deref();
                    depth += 1;
                }
            }
        }
        None
    }

    /// Every leaf, in key order.
    pub fn leaves(&self) -> Vec<Leaf> {
        let mut out = Vec::new();
        collect(&self.root, &mut out);
        out
    }

    /// The leaves of `self` that `other` may lack: every leaf of `self` outside
    /// the subtrees the two share (compared position by position, by hash).
    /// A superset of what `other` lacks, small when the two are a few blocks
    /// apart; a caller that needs exactness checks each with [`StateTrie::get`].
    pub fn leaves_not_shared_with(&self, other: &StateTrie) -> Vec<Leaf> {
        let mut out = Vec::new();
        unshared(&self.root, &other.root, &mut out);
        out
    }
}

fn branch(left: Link, right: Link) -> Arc<Node> {
    Arc::new(Node::Branch {
        hash: blake2b_256(&branch_node(&hash(&left), &hash(&right))),
        left,
        right,
    })
}

/// `M(d)` over `leaves` (strictly ordered by key, agreeing on their first `depth`
/// bits), as nodes.
fn build(leaves: &[Leaf], depth: usize) -> Link {
    match leaves {
        [] => None,
        [leaf] => Some(Arc::new(Node::Leaf(*leaf))),
        // Distinct 31-octet keys part within their 248 bits; reaching the end
        // would mean a duplicate key, which `from_map` and `updated` rule out.
        _ if depth >= STATE_KEY_LEN * 8 => leaves.last().map(|l| Arc::new(Node::Leaf(*l))),
        _ => {
            // Octet order is MSB-first bit order, so each side is a run.
            let split = leaves.partition_point(|l| !bit(&l.key, depth));
            let (left, right) = leaves.split_at(split);
            Some(branch(build(left, depth + 1), build(right, depth + 1)))
        }
    }
}

/// `node` (at `depth`) with `changes` (strictly ordered by key, each agreeing
/// with the node's position on its first `depth` bits) made.
fn update(node: &Link, depth: usize, changes: &[Change]) -> Link {
    if changes.is_empty() {
        return node.clone();
    }
    match node.as_deref() {
        // Below an empty position or a lone leaf there are only the changes (and
        // that leaf, unless a change replaces or removes it): build them afresh.
        None => build(
            &changes.iter().filter_map(|c| c.1).collect::<Vec<_>>(),
            depth,
        ),
        Some(Node::Leaf(old)) => {
            let mut leaves: Vec<Leaf> = changes.iter().filter_map(|c| c.1).collect();
            if !changes.iter().any(|c| c.0 == old.key) {
                let at = leaves.partition_point(|l| l.key < old.key);
                leaves.insert(at, *old);
            }
            build(&leaves, depth)
        }
        Some(Node::Branch { left, right, .. }) => {
            let split = changes.partition_point(|c| !bit(&c.0, depth));
            let (to_left, to_right) = changes.split_at(split);
            join(
                update(left, depth + 1, to_left),
                update(right, depth + 1, to_right),
            )
        }
    }
}

/// The node over the keys of `left` and `right`: a branch while it has two keys
/// or more below it; a leaf left alone rises (`M` of one key is its leaf at any
/// depth).
fn join(left: Link, right: Link) -> Link {
    match (left, right) {
        (None, None) => None,
        (Some(n), None) | (None, Some(n)) if matches!(*n, Node::Leaf(_)) => Some(n),
        (left, right) => Some(branch(left, right)),
    }
}

fn collect(link: &Link, out: &mut Vec<Leaf>) {
    match link.as_deref() {
        None => {}
        Some(Node::Leaf(leaf)) => out.push(*leaf),
        Some(Node::Branch { left, right, .. }) => {
            collect(left, out);
            collect(right, out);
        }
    }
}

fn unshared(mine: &Link, theirs: &Link, out: &mut Vec<Leaf>) {
    if hash(mine) == hash(theirs) {
        return;
    }
    match (mine.as_deref(), theirs.as_deref()) {
        (
            Some(Node::Branch { left, right, .. }),
            Some(Node::Branch {
                left: other_left,
                right: other_right,
                ..
            }),
        ) => {
            unshared(left, other_left, out);
            unshared(right, other_right, out);
        }
        _ => collect(mine, out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::trie::state_root_of_map;
    use crate::ByteArray;
    use proptest::prelude::*;

    type Map = BTreeMap<StateKey, Vec<u8>>;

    /// Keys from a small alphabet of first octets and a shared tail, so that
    /// many share long prefixes (deep single-sided branches) and some collide.
    fn key() -> impl Strategy<Value = StateKey> {
        (0u8..6, 0u8..4, any::<u8>()).prop_map(|(a, b, c)| {
            let mut k = [0u8; 31];
            k[0] = a << 5;
            k[15] = b;
            k[30] = c & 0x0f;
            ByteArray(k)
        })
    }

    fn value() -> impl Strategy<Value = Vec<u8>> {
        // Both sides of the 32-octet embedding limit.
        prop_oneof![
            prop::collection::vec(any::<u8>(), 0..=32),
            prop::collection::vec(any::<u8>(), 33..80),
        ]
    }

    fn map() -> impl Strategy<Value = Map> {
        prop::collection::btree_map(key(), value(), 0..40)
    }

    fn changes() -> impl Strategy<Value = Vec<(StateKey, Option<Vec<u8>>)>> {
        prop::collection::vec((key(), prop::option::of(value())), 0..30)
    }

    fn apply(map: &mut Map, changes: &[(StateKey, Option<Vec<u8>>)]) -> Vec<Change> {
        changes
            .iter()
            .map(|(k, v)| {
                match v {
                    Some(v) => map.insert(*k, v.clone()),
                    None => map.remove(k),
                };
                (*k, v.as_ref().map(|v| Leaf::new(*k, v)))
            })
            .collect()
    }

    proptest! {
        #[test]
        fn built_whole_it_is_the_reference_root(m in map()) {
            let trie = StateTrie::from_map(&m);
            prop_assert_eq!(trie.root(), state_root_of_map(&m));
            let keys: Vec<StateKey> = trie.leaves().iter().map(|l| l.key).collect();
            prop_assert_eq!(keys, m.keys().copied().collect::<Vec<_>>());
        }

        #[test]
        fn updated_it_is_the_reference_root_of_the_changed_map(
            m in map(),
            rounds in prop::collection::vec(changes(), 1..4),
        ) {
            let mut m = m;
            let mut trie = StateTrie::from_map(&m);
            for round in &rounds {
                let before = trie.clone();
                let root_before = before.root();
                trie = trie.updated(apply(&mut m, round));
                prop_assert_eq!(trie.root(), state_root_of_map(&m));
                // The old version is untouched.
                prop_assert_eq!(before.root(), root_before);
                for (k, v) in &m {
                    prop_assert_eq!(trie.get(k).map(|l| l.value_hash), Some(blake2b_256(v)));
                }
                for (k, _) in round {
                    prop_assert_eq!(trie.get(k).is_some(), m.contains_key(k));
                }
                // Every leaf of the old version the new one lacks is reported.
                let reported = before.leaves_not_shared_with(&trie);
                for leaf in before.leaves() {
                    if trie.get(&leaf.key) != Some(&leaf) {
                        prop_assert!(reported.contains(&leaf), "{:?} not reported", leaf.key);
                    }
                }
            }
        }
    }

    #[test]
    fn removing_down_to_one_key_lifts_its_leaf_to_the_root() {
        let k = |a: u8, b: u8| {
            let mut k = [0u8; 31];
            k[0] = a;
            k[30] = b;
            ByteArray(k)
        };
        let m: Map = [
            (k(0, 0), vec![1]),
            (k(0, 1), vec![2]),
            (k(0x80, 0), vec![3]),
        ]
        .into();
        let trie = StateTrie::from_map(&m);
        let one = trie.updated([(k(0, 0), None), (k(0x80, 0), None)]);
        assert_eq!(one.root(), blake2b_256(&leaf_node(&k(0, 1), &[2])));
        assert_eq!(one.updated([(k(0, 1), None)]).root(), Hash::ZERO);
    }
}

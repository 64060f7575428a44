//! The well-balanced binary Merkle tree `M_B`, GP (E.3).
//!
//! Items are not hashed as leaves (except a lone item), so this suits items of
//! about 32 octets; larger items are better hashed by the caller first. The GP
//! types `N` over `⟦𝕐_n⟧`, items of one length: with items of differing lengths the
//! concatenation `$node ⌢ l ⌢ r` is ambiguous (`[[0], []]` and `[[], [0]]` share a
//! root), so callers pass items of equal length.

use super::node::{node, node_from_trace, trace, Node};
use super::{HashFn, MerkleError};
use crate::hash::Hash;

/// `M_B(v, H)`, GP (E.3): `H(v_0)` for a single item, `N(v, H)` otherwise (the zero
/// hash for no items).
pub fn root<T: AsRef<[u8]>>(leaves: &[T], hash: HashFn) -> Hash {
    match leaves {
        [item] => hash(item.as_ref()),
        _ => match node(leaves, hash) {
            Node::Hash(h) => h,
            // N yields an item only for a one-item sequence, handled above.
            Node::Item(item) => hash(item),
        },
    }
}

/// `T(v, i, H)` (E.2) over the items: the siblings from the top down that,
/// with item `i`, recompute [`root`] (see [`root_from_trace`]).
pub fn justification<T: AsRef<[u8]>>(
    leaves: &[T],
    index: usize,
    hash: HashFn,
) -> Result<Vec<Node<'_>>, MerkleError> {
    trace(leaves, index, hash)
}

/// [`justification`] of every item at once: each node of the tree is hashed once
/// and handed to the paths below its sibling, where calling [`justification`] per
/// item hashes about the whole tree for each (a guarantor proves all `V` = 1023
/// shards of a package).
pub fn justifications<T: AsRef<[u8]>>(leaves: &[T], hash: HashFn) -> Vec<Vec<Node<'_>>> {
    let mut paths = vec![Vec::new(); leaves.len()];
    walk(leaves, &mut paths, hash);
    // Siblings were pushed from the bottom up; T lists them from the top down.
    for path in &mut paths {
        path.reverse();
    }
    paths
}

/// `N(v, H)` (E.1), pushing each subtree's sibling onto the paths of its items.
fn walk<'a, T: AsRef<[u8]>>(v: &'a [T], paths: &mut [Vec<Node<'a>>], hash: HashFn) -> Node<'a> {
    match v {
        [] => Node::Hash(Hash::ZERO),
        [item] => Node::Item(item.as_ref()),
        _ => {
            let mid = v.len().div_ceil(2);
            let (left_paths, right_paths) = paths.split_at_mut(mid);
            let left = walk(&v[..mid], left_paths, hash);
            let right = walk(&v[mid..], right_paths, hash);
            for path in left_paths.iter_mut() {
                path.push(right);
            }
            for path in right_paths.iter_mut() {
                path.push(left);
            }
            Node::Hash(super::node::inner(left.as_ref(), right.as_ref(), hash))
        }
    }
}

/// Recompute `M_B` of a `len`-item sequence from item `index` and its
/// [`justification`].
pub fn root_from_trace(
    item: &[u8],
    index: usize,
    len: usize,
    trace: &[impl AsRef<[u8]>],
    hash: HashFn,
) -> Result<Hash, MerkleError> {
    Ok(match node_from_trace(item, index, len, trace, hash)? {
        Node::Hash(h) => h,
        // Only a one-item sequence ends at its item, and M_B hashes that item.
        Node::Item(item) => hash(item),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::{blake2b_256, keccak_256};
    use proptest::prelude::*;

    fn cat(parts: &[&[u8]]) -> Vec<u8> {
        parts.concat()
    }

    proptest! {
        /// All paths at once equal each path alone, for every tree shape up to 70.
        #[test]
        fn justifications_equal_each_justification(n in 0usize..70, seed in any::<u8>()) {
            let items: Vec<[u8; 32]> = (0..n).map(|i| [seed ^ i as u8; 32]).collect();
            let all = justifications(&items, blake2b_256);
            prop_assert_eq!(all.len(), n);
            for (i, path) in all.iter().enumerate() {
                prop_assert_eq!(path, &justification(&items, i, blake2b_256).unwrap());
            }
        }
    }

    #[test]
    fn small_cases_follow_e3() {
        let h = blake2b_256;
        let none: [&[u8]; 0] = [];
        assert_eq!(root(&none, h), Hash::ZERO);
        assert_eq!(root(&[b"a"], h), h(b"a"));
        // Two items: neither is hashed on its own.
        assert_eq!(root(&[b"a", b"b"], h), h(b"nodeab"));
        // Three items split 2 + 1: the left pair is a node, the right item stays raw.
        let left = h(b"nodeab");
        assert_eq!(
            root(&[b"a", b"b", b"c"], h),
            h(&cat(&[b"node", &left[..], b"c"]))
        );
        // Four: two pairs.
        let right = h(b"nodecd");
        assert_eq!(
            root(&[b"a", b"b", b"c", b"d"], h),
            h(&cat(&[b"node", &left[..], &right[..]]))
        );
        // The hash function is an argument.
        assert_eq!(root(&[b"a", b"b"], keccak_256), keccak_256(b"nodeab"));
    }

    #[test]
    fn out_of_range_index_is_an_error() {
        let h = blake2b_256;
        assert_eq!(
            justification(&[b"a"], 1, h),
            Err(MerkleError::IndexOutOfRange { index: 1, len: 1 })
        );
        let none: [&[u8]; 0] = [];
        assert!(justification(&none, 0, h).is_err());
        assert!(root_from_trace(b"a", 3, 3, &[[0u8; 32]], h).is_err());
        // A trace of the wrong length does not verify.
        assert_eq!(
            root_from_trace(b"a", 0, 3, &[[0u8; 32]], h),
            Err(MerkleError::JustificationLength {
                expected: 2,
                found: 1
            })
        );
    }

    fn items() -> impl Strategy<Value = Vec<Vec<u8>>> {
        prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 1..40)
    }

    fn hashes() -> impl Strategy<Value = Vec<[u8; 32]>> {
        prop::collection::vec(any::<[u8; 32]>(), 1..40)
    }

    proptest! {
        #[test]
        fn every_trace_recomputes_the_root(v in items(), pick in any::<prop::sample::Index>()) {
            let h = blake2b_256;
            let i = pick.index(v.len());
            let t = justification(&v, i, h).unwrap();
            prop_assert!(t.len() <= usize::BITS as usize);
            prop_assert_eq!(root_from_trace(&v[i], i, v.len(), &t, h).unwrap(), root(&v, h));
        }

        #[test]
        fn swapping_two_distinct_items_changes_the_root(v in hashes(), a in any::<prop::sample::Index>(), b in any::<prop::sample::Index>()) {
            let (a, b) = (a.index(v.len()), b.index(v.len()));
            prop_assume!(v[a] != v[b]);
            let mut w = v.clone();
            w.swap(a, b);
            prop_assert_ne!(root(&v, blake2b_256), root(&w, blake2b_256));
        }
    }
}

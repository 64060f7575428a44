//! The constant-depth binary Merkle tree `M`, GP (E.4), with its page
//! justifications `J_x` (E.5), leaf pages `L_x` (E.6) and the constancy
//! preprocessor `C` (E.7).
//!
//! `C` hashes every item with the prefix `$leaf` and pads with zero hashes to the
//! next power of two, so every leaf sits at the same depth
//! `d = ⌈log₂ max(1, |v|)⌉`. A page is an aligned run of `2^x` leaves; the tree has
//! `2^(d−x)` pages (one when `x ≥ d`). Page indices run over the padded tree, which
//! is the domain of `T(C(v), 2^x·i, H)` that `J_x` truncates.

use super::node::{inner, node, trace, Node};
use super::{HashFn, MerkleError};
use crate::hash::Hash;

/// The prefix that separates leaves from inner nodes: `$leaf` in GP (E.7).
pub const LEAF_PREFIX: &[u8] = b"leaf";

/// `H($leaf ⌢ l)`: one item as a leaf, GP (E.6) and (E.7).
pub fn leaf_hash(item: &[u8], hash: HashFn) -> Hash {
    let mut buf = Vec::with_capacity(LEAF_PREFIX.len() + item.len());
    buf.extend_from_slice(LEAF_PREFIX);
    buf.extend_from_slice(item);
    hash(&buf)
}

/// `d = ⌈log₂ max(1, n)⌉`: the depth of the padded tree over `n` items.
pub fn depth(n: usize) -> u32 {
    usize::BITS - (n.max(1) - 1).leading_zeros()
}

/// `C(v, H)`, GP (E.7): the items as leaves, padded with zero hashes to
/// `2^⌈log₂ max(1, |v|)⌉` leaves.
pub fn constancy<T: AsRef<[u8]>>(v: &[T], hash: HashFn) -> Vec<Hash> {
    let width = pow2(depth(v.len()));
    let mut out: Vec<Hash> = v
        .iter()
        .map(|item| leaf_hash(item.as_ref(), hash))
        .collect();
    out.resize(width, Hash::ZERO);
    out
}

/// `N` over leaves that are all hashes is always a hash.
fn node_hash(v: &[Hash], hash: HashFn) -> Hash {
    match node(v, hash) {
        Node::Hash(h) => h,
        Node::Item(item) => Hash::from_slice(item).unwrap_or(Hash::ZERO),
    }
}

/// `M(v, H)`, GP (E.4): `N(C(v, H), H)`.
pub fn root<T: AsRef<[u8]>>(v: &[T], hash: HashFn) -> Hash {
    node_hash(&constancy(v, hash), hash)
}

/// The number of pages of `2^x` leaves in the padded tree over `n` items.
pub fn page_count(n: usize, log_page_size: u32) -> usize {
    let d = depth(n);
    pow2(d.saturating_sub(log_page_size))
}

/// `J_x(v, i, H)`, GP (E.5): the first `max(0, d − x)` nodes of `T(C(v, H), 2^x·i, H)`,
/// i.e. the path from the root down to page `i`, top first.
pub fn page_justification<T: AsRef<[u8]>>(
    v: &[T],
    page: usize,
    log_page_size: u32,
    hash: HashFn,
) -> Result<Vec<Hash>, MerkleError> {
    let start = page_start(v.len(), page, log_page_size)?;
    let leaves = constancy(v, hash);
    let keep = depth(v.len()).saturating_sub(log_page_size) as usize;
    let path = trace(&leaves, start, hash)?;
    Ok(path
        .iter()
        .take(keep)
        .map(|n| match n {
            Node::Hash(h) => *h,
            Node::Item(item) => Hash::from_slice(item).unwrap_or(Hash::ZERO),
        })
        .collect())
}

/// `J_0(v, i, H)`: the full justification of item `i` (index into the padded tree).
pub fn justification<T: AsRef<[u8]>>(
    v: &[T],
    index: usize,
    hash: HashFn,
) -> Result<Vec<Hash>, MerkleError> {
    page_justification(v, index, 0, hash)
}

/// `J_0(v, i, H)` for every item `i` of `v` at once: the padded tree is hashed once,
/// level by level, and each path read off it, where calling [`justification`] per
/// item would hash the whole tree again for each (quadratic: a guarantor proves all
/// of up to `W_M` = 3072 exported segments).
pub fn justifications<T: AsRef<[u8]>>(v: &[T], hash: HashFn) -> Vec<Vec<Hash>> {
    let mut paths = leaf_paths(constancy(v, hash), hash);
    paths.truncate(v.len());
    paths
}

/// For a full tree over `leaves` (already hashed and padded, `2^d` of them), the path
/// of every leaf to the root: the sibling at each level below the root, top first.
/// Used for whole trees ([`justifications`]) and for the subtree of one proof page,
/// whose leaves `L_x` a paged proof carries.
pub fn leaf_paths(leaves: Vec<Hash>, hash: HashFn) -> Vec<Vec<Hash>> {
    let count = leaves.len();
    // levels[0]: the leaves; levels[k + 1]: the parents of levels[k]; the last is the root.
    let mut levels = vec![leaves];
    while let Some(below) = levels.last().filter(|l| l.len() > 1) {
        let above = below
            .chunks(2)
            .map(|pair| match pair {
                [l, r] => inner(l.as_ref(), r.as_ref(), hash),
                // An odd level only arises from a count that is no power of two;
                // pad it as C does.
                [l] => inner(l.as_ref(), Hash::ZERO.as_ref(), hash),
                _ => Hash::ZERO,
            })
            .collect();
        levels.push(above);
    }
    (0..count)
        .map(|i| {
            levels[..levels.len() - 1]
                .iter()
                .enumerate()
                .rev()
                .map(|(k, level)| level.get((i >> k) ^ 1).copied().unwrap_or(Hash::ZERO))
                .collect()
        })
        .collect()
}

/// `L_x(v, i, H)`, GP (E.6): the leaves `H($leaf ⌢ l)` of the items in page `i`,
/// `v_{2^x·i .. min(2^x·i + 2^x, |v|)}`, without padding (empty for a page that is
/// all padding).
pub fn leaf_page<T: AsRef<[u8]>>(
    v: &[T],
    page: usize,
    log_page_size: u32,
    hash: HashFn,
) -> Result<Vec<Hash>, MerkleError> {
    let start = page_start(v.len(), page, log_page_size)?;
    let size = page_size(v.len(), log_page_size);
    let items = v.get(start..).unwrap_or(&[]);
    Ok(items
        .iter()
        .take(size)
        .map(|item| leaf_hash(item.as_ref(), hash))
        .collect())
}

/// The root of one page's subtree, from its [`leaf_page`]: the leaves padded with
/// zero hashes to the page's width `min(2^x, 2^d)` for a tree of `n` items.
pub fn page_root(leaves: &[Hash], n: usize, log_page_size: u32, hash: HashFn) -> Hash {
    let width = page_size(n, log_page_size);
    let mut padded: Vec<Hash> = leaves.iter().take(width).copied().collect();
    padded.resize(width, Hash::ZERO);
    node_hash(&padded, hash)
}

/// Recompute `M` from the root of subtree `index` (a leaf for `J_0`, a
/// [`page_root`] for `J_x`) and its justification: each node of the path is the
/// sibling at one level, top first, and bit `k` of `index` (from the bottom) says
/// whether the path went right at that level.
pub fn root_from_justification(
    subtree_root: Hash,
    index: usize,
    justification: &[Hash],
    hash: HashFn,
) -> Result<Hash, MerkleError> {
    let levels = justification.len();
    if levels < usize::BITS as usize && index >> levels != 0 {
        return Err(MerkleError::IndexOutOfRange {
            index,
            len: pow2(levels as u32),
        });
    }
    let mut acc = subtree_root;
    for (k, sibling) in justification.iter().rev().enumerate() {
        let went_right = index.checked_shr(k as u32).is_some_and(|b| b & 1 == 1);
        acc = if went_right {
            inner(sibling.as_ref(), acc.as_ref(), hash)
        } else {
            inner(acc.as_ref(), sibling.as_ref(), hash)
        };
    }
    Ok(acc)
}

/// Leaves per page: `2^x`, or the whole padded tree when that is smaller.
fn page_size(n: usize, log_page_size: u32) -> usize {
    pow2(depth(n).min(log_page_size))
}

/// `2^e`, saturating: only a tree over more than `2^63` items could reach it.
fn pow2(e: u32) -> usize {
    1usize.checked_shl(e).unwrap_or(usize::MAX)
}

/// The first leaf of page `page`, if the padded tree has that page.
fn page_start(n: usize, page: usize, log_page_size: u32) -> Result<usize, MerkleError> {
    let pages = page_count(n, log_page_size);
    if page >= pages {
        return Err(MerkleError::PageOutOfRange {
            page,
            pages,
            log_page_size,
        });
    }
    Ok(page.saturating_mul(page_size(n, log_page_size)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::blake2b_256;
    use proptest::prelude::*;

    const H: HashFn = blake2b_256;

    fn cat(parts: &[&[u8]]) -> Vec<u8> {
        parts.concat()
    }

    fn leaf(x: &[u8]) -> Hash {
        H(&cat(&[b"leaf", x]))
    }

    fn node2(l: Hash, r: Hash) -> Hash {
        H(&cat(&[b"node", &l[..], &r[..]]))
    }

    #[test]
    fn small_cases_follow_e4_and_e7() {
        let none: [&[u8]; 0] = [];
        // C of nothing is one zero leaf, whose N is itself.
        assert_eq!(constancy(&none, H), vec![Hash::ZERO]);
        assert_eq!(root(&none, H), Hash::ZERO);
        // One item: just its leaf.
        assert_eq!(root(&[b"a"], H), leaf(b"a"));
        assert_eq!(root(&[b"a", b"b"], H), node2(leaf(b"a"), leaf(b"b")));
        // Three items pad to four with a zero hash.
        assert_eq!(
            root(&[b"a", b"b", b"c"], H),
            node2(node2(leaf(b"a"), leaf(b"b")), node2(leaf(b"c"), Hash::ZERO))
        );
        assert_eq!(depth(0), 0);
        assert_eq!(depth(1), 0);
        assert_eq!(depth(2), 1);
        assert_eq!(depth(3), 2);
        assert_eq!(depth(4), 2);
        assert_eq!(depth(5), 3);
    }

    #[test]
    fn justifications_of_a_small_tree() {
        let v = [b"a", b"b", b"c"];
        let (la, lb, lc) = (leaf(b"a"), leaf(b"b"), leaf(b"c"));
        let right = node2(lc, Hash::ZERO);
        assert_eq!(justification(&v, 0, H).unwrap(), vec![right, lb]);
        assert_eq!(
            justification(&v, 2, H).unwrap(),
            vec![node2(la, lb), Hash::ZERO]
        );
        // The padding leaf has a path too; the tree has four leaves.
        assert_eq!(justification(&v, 3, H).unwrap(), vec![node2(la, lb), lc]);
        assert!(justification(&v, 4, H).is_err());
        // Pages of two: the path stops above the page, and the page holds the leaves.
        assert_eq!(
            page_justification(&v, 1, 1, H).unwrap(),
            vec![node2(la, lb)]
        );
        assert_eq!(leaf_page(&v, 1, 1, H).unwrap(), vec![lc]);
        assert_eq!(leaf_page(&v, 0, 1, H).unwrap(), vec![la, lb]);
        // Pages as large as the tree or larger: one page, no path.
        assert_eq!(page_justification(&v, 0, 2, H).unwrap(), Vec::<Hash>::new());
        assert_eq!(page_justification(&v, 0, 9, H).unwrap(), Vec::<Hash>::new());
        assert_eq!(leaf_page(&v, 0, 9, H).unwrap(), vec![la, lb, lc]);
        assert!(leaf_page(&v, 1, 2, H).is_err());
        assert!(page_justification(&v, 0, u32::MAX, H).is_ok());
    }

    fn items() -> impl Strategy<Value = Vec<Vec<u8>>> {
        prop::collection::vec(prop::collection::vec(any::<u8>(), 0..8), 0..40)
    }

    proptest! {
        #[test]
        fn every_leaf_justification_recomputes_the_root(v in items()) {
            let r = root(&v, H);
            let leaves = constancy(&v, H);
            for (i, l) in leaves.iter().enumerate() {
                let j = justification(&v, i, H).unwrap();
                prop_assert_eq!(j.len(), depth(v.len()) as usize);
                prop_assert_eq!(root_from_justification(*l, i, &j, H).unwrap(), r);
            }
        }

        #[test]
        fn all_justifications_at_once_equal_each_alone(v in items()) {
            let all = justifications(&v, H);
            prop_assert_eq!(all.len(), v.len());
            for (i, j) in all.iter().enumerate() {
                prop_assert_eq!(j, &justification(&v, i, H).unwrap());
            }
        }

        #[test]
        fn every_page_recomputes_the_root(v in items(), x in 0u32..7) {
            let r = root(&v, H);
            for page in 0..page_count(v.len(), x) {
                let j = page_justification(&v, page, x, H).unwrap();
                let leaves = leaf_page(&v, page, x, H).unwrap();
                let sub = page_root(&leaves, v.len(), x, H);
                prop_assert_eq!(root_from_justification(sub, page, &j, H).unwrap(), r);
                // J_x is the top of the full path of the page's first leaf.
                let full = justification(&v, page << x.min(depth(v.len())), H).unwrap();
                prop_assert_eq!(&full[..j.len()], &j[..]);
            }
            prop_assert!(page_justification(&v, page_count(v.len(), x), x, H).is_err());
        }

        #[test]
        fn changing_an_item_changes_the_root(v in items(), pick in any::<prop::sample::Index>()) {
            prop_assume!(!v.is_empty());
            let mut w = v.clone();
            w[pick.index(v.len())].push(0);
            prop_assert_ne!(root(&v, H), root(&w, H));
        }
    }
}

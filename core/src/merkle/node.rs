//! The node function `N` (GP E.1) and the trace function `T` (GP E.2) of the binary
//! Merkle trees of Appendix E.
//!
//! Both split a sequence at `⌈|v|/2⌉`, so the left half is never the shorter one.

use super::{HashFn, MerkleError};
use crate::hash::Hash;

/// The prefix that separates inner nodes from leaves: `$node` in GP (E.1).
pub const NODE_PREFIX: &[u8] = b"node";

/// A value of `N`: `𝕐_n ∪ ℍ`, either an item of the sequence itself (when the
/// subtree has one item) or a hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Node<'a> {
    /// The single item of a one-item subtree, unhashed.
    Item(&'a [u8]),
    /// The zero hash of an empty tree, or the hash of an inner node.
    Hash(Hash),
}

impl AsRef<[u8]> for Node<'_> {
    fn as_ref(&self) -> &[u8] {
        match self {
            Node::Item(item) => item,
            Node::Hash(h) => h.as_ref(),
        }
    }
}

impl Node<'_> {
    /// The node as owned octets.
    pub fn to_vec(&self) -> Vec<u8> {
        self.as_ref().to_vec()
    }
}

/// `H($node ⌢ l ⌢ r)`: an inner node over its two children.
pub fn inner(left: &[u8], right: &[u8], hash: HashFn) -> Hash {
    let mut buf = Vec::with_capacity(NODE_PREFIX.len() + left.len() + right.len());
    buf.extend_from_slice(NODE_PREFIX);
    buf.extend_from_slice(left);
    buf.extend_from_slice(right);
    hash(&buf)
}

/// `N(v, H)`, GP (E.1): the zero hash for no items, the item itself for one, and
/// `H($node ⌢ N(v_{..⌈|v|/2⌉}) ⌢ N(v_{⌈|v|/2⌉..}))` otherwise.
pub fn node<T: AsRef<[u8]>>(v: &[T], hash: HashFn) -> Node<'_> {
    match v {
        [] => Node::Hash(Hash::ZERO),
        [item] => Node::Item(item.as_ref()),
        _ => {
            let (left, right) = v.split_at(v.len().div_ceil(2));
            Node::Hash(inner(
                node(left, hash).as_ref(),
                node(right, hash).as_ref(),
                hash,
            ))
        }
    }
}

/// `T(v, i, H)`, GP (E.2): the sibling of each node on the way from the root down to
/// item `i`, top first. Defined for `i < |v|`; empty for a single item.
pub fn trace<T: AsRef<[u8]>>(
    v: &[T],
    index: usize,
    hash: HashFn,
) -> Result<Vec<Node<'_>>, MerkleError> {
    if index >= v.len() {
        return Err(MerkleError::IndexOutOfRange {
            index,
            len: v.len(),
        });
    }
    let (mut v, mut i) = (v, index);
    let mut out = Vec::new();
    while v.len() > 1 {
        let (left, right) = v.split_at(v.len().div_ceil(2));
        // P^⊥ is the half not holding i, P^⊤ the half holding it, P_I its offset.
        if i < left.len() {
            out.push(node(right, hash));
            v = left;
        } else {
            out.push(node(left, hash));
            i -= left.len();
            v = right;
        }
    }
    Ok(out)
}

/// The way from the root of a `len`-item tree down to item `index`, as `trace` walks
/// it: at each level, whether the item lies in the left half. Its length is the
/// number of entries of `T(v, index, H)`.
pub fn path(len: usize, index: usize) -> Result<Vec<bool>, MerkleError> {
    if index >= len {
        return Err(MerkleError::IndexOutOfRange { index, len });
    }
    let (mut n, mut i) = (len, index);
    let mut went_left = Vec::new();
    while n > 1 {
        let mid = n.div_ceil(2);
        went_left.push(i < mid);
        if i < mid {
            n = mid;
        } else {
            i -= mid;
            n -= mid;
        }
    }
    Ok(went_left)
}

/// Recompute `N(v, H)` from item `index` of a `len`-item sequence and its trace
/// `T(v, index, H)`: the check a holder of a justification makes.
pub fn node_from_trace<'a>(
    item: &'a [u8],
    index: usize,
    len: usize,
    trace: &[impl AsRef<[u8]>],
    hash: HashFn,
) -> Result<Node<'a>, MerkleError> {
    let went_left = path(len, index)?;
    if went_left.len() != trace.len() {
        return Err(MerkleError::JustificationLength {
            expected: went_left.len(),
            found: trace.len(),
        });
    }
    let mut acc: Option<Hash> = None;
    for (left, sibling) in went_left.iter().zip(trace).rev() {
        let here: &[u8] = match &acc {
            Some(h) => h.as_ref(),
            None => item,
        };
        let h = if *left {
            inner(here, sibling.as_ref(), hash)
        } else {
            inner(sibling.as_ref(), here, hash)
        };
        acc = Some(h);
    }
    Ok(match acc {
        Some(h) => Node::Hash(h),
        None => Node::Item(item),
    })
}

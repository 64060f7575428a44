//! Shard justifications: the co-paths that prove a shard belongs to an erasure root.
//!
//! The erasure root is `u = M_B([b♣_i ⌢ s♣_i | i ← N_V], H)` (GP (14.16), the
//! availability specifier): leaf `i` is the hash of validator `i`'s bundle shard,
//! `b♣_i = H(bundle shard i)`, followed by the root of its segment shards,
//! `s♣_i = M_B(segment shards with index i, H)`. Both trees are the well-balanced
//! tree of GP (E.3), so a shard's proof is the trace `T(v, i, H)` of GP (E.2): the
//! sibling node at each level from the top down, where a sibling that is a single
//! item is the item itself, unhashed — which is why JAMNP-S entries come in three
//! forms (its `Justification` discriminators): `0` a hash, `1` a pair of hashes (a
//! sibling leaf `b♣_j ⌢ s♣_j`), `2` a segment shard (a sibling leaf of the segment
//! shard tree).
//!
//! JAMNP-S sends three justifications:
//! - CE 137 (guarantor → assurer), with the bundle shard and all segment shards of
//!   the index: `T([b♣ ⌢ s♣], i, H)`; [`bundle_shard`], checked by
//!   [`verify_bundle_shard`].
//! - CE 138 (assurer → auditor), with the bundle shard alone: the CE 137
//!   justification with `s♣_i` appended; [`audit_shard`], [`verify_audit_shard`].
//! - CE 140 (assurer → guarantor), per segment shard: `j ⌢ [b♣_i] ⌢ T(s, k, H)` with
//!   `j` the CE 137 justification, `s` the segment shards of index `i` and `k` the
//!   segment's index; [`segment_shard`], [`verify_segment_shard`].
//!
//! Verification recomputes the root bottom-up and compares it with the erasure root:
//! with Blake2b collision resistant that is the whole check, so an entry of the
//! wrong form (a pair where a hash belongs) fails by the root, not by a rule of its
//! own.

use tessera_core::hash::{blake2b_256, Hash};
use tessera_core::merkle::node::{path, Node};
use tessera_core::merkle::{balanced, MerkleError};
use tessera_core::spec::ChainSpec;
use tessera_net::messages::{Justification, JustificationStep};

/// Why a justification could not be made, or does not prove its shard.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum JustificationError {
    /// The shard index, segment index or a tree size is out of range, or the
    /// justification's length does not fit the tree.
    #[error(transparent)]
    Shape(#[from] MerkleError),
    /// The justification is shorter than the parts its form needs.
    #[error("justification has {found} entries where at least {needed} are needed")]
    TooShort {
        /// Entries needed.
        needed: usize,
        /// Entries given.
        found: usize,
    },
    /// An entry that must be one hash is of another form.
    #[error("justification entry {at} must be a single hash ({what})")]
    NotAHash {
        /// The entry's position.
        at: usize,
        /// What the entry stands for.
        what: &'static str,
    },
    /// The recomputed root is not the erasure root.
    #[error("the shard does not prove to the erasure root: recomputed {recomputed}")]
    RootMismatch {
        /// The root the shard and justification lead to.
        recomputed: Hash,
    },
}

/// `s♣_i = M_B(s, H)`: the root of one validator's segment shards (exported
/// segments, then proof pages), GP (14.16).
pub fn segment_shards_root<S: AsRef<[u8]>>(segment_shards: &[S]) -> Hash {
    balanced::root(segment_shards, blake2b_256)
}

/// Leaf `i` of the erasure-root tree, `b♣_i ⌢ s♣_i`.
pub fn erasure_leaf(bundle_shard_hash: &Hash, segment_shards_root: &Hash) -> [u8; 64] {
    let mut leaf = [0u8; 64];
    leaf[..32].copy_from_slice(bundle_shard_hash.as_ref());
    leaf[32..].copy_from_slice(segment_shards_root.as_ref());
    leaf
}

/// The erasure root `M_B` of the `V` leaves.
pub fn erasure_root(leaves: &[[u8; 64]]) -> Hash {
    balanced::root(leaves, blake2b_256)
}

/// CE 137's justification of shard `index`: `T([b♣ ⌢ s♣], index, H)` over the `V`
/// leaves.
pub fn bundle_shard(leaves: &[[u8; 64]], index: usize) -> Result<Justification, MerkleError> {
    let trace = balanced::justification(leaves, index, blake2b_256)?;
    Ok(Justification(
        trace.iter().map(|n| erasure_tree_step(*n)).collect(),
    ))
}

/// [`bundle_shard`] of every index at once (a guarantor's whole package), each node
/// of the `V`-leaf tree hashed once.
pub fn bundle_shards(leaves: &[[u8; 64]]) -> Vec<Justification> {
    balanced::justifications(leaves, blake2b_256)
        .into_iter()
        .map(|trace| Justification(trace.into_iter().map(erasure_tree_step).collect()))
        .collect()
}

/// CE 138's justification: CE 137's with `s♣_i` appended, so that an auditor holding
/// only the bundle shard can rebuild its leaf.
pub fn audit_shard(bundle_shard: &Justification, segment_shards_root: Hash) -> Justification {
    let mut steps = bundle_shard.0.clone();
    steps.push(JustificationStep::Hash(segment_shards_root));
    Justification(steps)
}

/// CE 140's justification of segment shard `segment_index` among `segment_shards`
/// (all the segment shards of the assurer's shard index): `j ⌢ [b♣_i] ⌢ T(s, k, H)`.
pub fn segment_shard<S: AsRef<[u8]>>(
    bundle_shard: &Justification,
    bundle_shard_hash: Hash,
    segment_shards: &[S],
    segment_index: usize,
) -> Result<Justification, MerkleError> {
    let trace = balanced::justification(segment_shards, segment_index, blake2b_256)?;
    let mut steps = bundle_shard.0.clone();
    steps.push(JustificationStep::Hash(bundle_shard_hash));
    steps.extend(trace.iter().map(|n| match n {
        Node::Hash(h) => JustificationStep::Hash(*h),
        Node::Item(shard) => JustificationStep::SegmentShard(shard.to_vec()),
    }));
    Ok(Justification(steps))
}

/// Check a CE 137 response: `bundle_shard` and `segment_shards` are shard `index` of
/// the package whose erasure root is `erasure_root`. Gives `s♣_index`, the segment
/// shards' root it proved (the store keeps it for CE 138).
pub fn verify_bundle_shard<S: AsRef<[u8]>>(
    spec: &ChainSpec,
    erasure_root: &Hash,
    index: usize,
    bundle_shard: &[u8],
    segment_shards: &[S],
    justification: &Justification,
) -> Result<Hash, JustificationError> {
    let segments = segment_shards_root(segment_shards);
    let leaf = erasure_leaf(&blake2b_256(bundle_shard), &segments);
    check_erasure_path(spec, erasure_root, index, &leaf, &justification.0)?;
    Ok(segments)
}

/// Check a CE 138 response: `bundle_shard` is shard `index` of the package whose
/// erasure root is `erasure_root`.
pub fn verify_audit_shard(
    spec: &ChainSpec,
    erasure_root: &Hash,
    index: usize,
    bundle_shard: &[u8],
    justification: &Justification,
) -> Result<(), JustificationError> {
    let Some((last, path)) = justification.0.split_last() else {
        return Err(JustificationError::TooShort {
            needed: 1,
            found: 0,
        });
    };
    let segment_root = single_hash(last, path.len(), "the segment-shard root s♣_i")?;
    let leaf = erasure_leaf(&blake2b_256(bundle_shard), &segment_root);
    check_erasure_path(spec, erasure_root, index, &leaf, path)
}

/// Check one CE 140 segment shard: `shard` is segment `segment_index` (of
/// `segment_count` exported and proof segments) in shard `index` of the package whose
/// erasure root is `erasure_root`.
pub fn verify_segment_shard(
    spec: &ChainSpec,
    erasure_root: &Hash,
    index: usize,
    segment_count: usize,
    segment_index: usize,
    shard: &[u8],
    justification: &Justification,
) -> Result<(), JustificationError> {
    let steps = &justification.0;
    let lower = path(segment_count, segment_index)?.len();
    let upper = path(spec.validators(), index)?.len();
    let needed = upper + 1 + lower;
    if steps.len() != needed {
        return Err(MerkleError::JustificationLength {
            expected: needed,
            found: steps.len(),
        }
        .into());
    }
    let (erasure_path, rest) = steps.split_at(upper);
    let (bundle_hash, segment_path) = rest.split_at(1);
    let bundle_hash = single_hash(&bundle_hash[0], upper, "the bundle-shard hash b♣_i")?;
    let segment_root = balanced::root_from_trace(
        shard,
        segment_index,
        segment_count,
        &step_bytes(segment_path),
        blake2b_256,
    )?;
    let leaf = erasure_leaf(&bundle_hash, &segment_root);
    check_erasure_path(spec, erasure_root, index, &leaf, erasure_path)
}

/// The erasure-root tree's sibling as JAMNP-S sends it: a sibling leaf is the pair
/// `b♣_j ⌢ s♣_j`.
fn erasure_tree_step(node: Node<'_>) -> JustificationStep {
    match node {
        Node::Hash(h) => JustificationStep::Hash(h),
        Node::Item(leaf) => {
            let (b, s) = leaf.split_at(32);
            let half = |h| Hash::from_slice(h).expect("erasure-tree leaves are 64 octets");
            JustificationStep::Pair(half(b), half(s))
        }
    }
}

fn single_hash(
    step: &JustificationStep,
    at: usize,
    what: &'static str,
) -> Result<Hash, JustificationError> {
    match step {
        JustificationStep::Hash(h) => Ok(*h),
        _ => Err(JustificationError::NotAHash { at, what }),
    }
}

/// Each entry's octets as the tree concatenates them.
fn step_bytes(steps: &[JustificationStep]) -> Vec<Vec<u8>> {
    steps
        .iter()
        .map(|s| match s {
            JustificationStep::Hash(h) => h.as_ref().to_vec(),
            JustificationStep::Pair(a, b) => [a.as_ref(), b.as_ref()].concat(),
            JustificationStep::SegmentShard(shard) => shard.clone(),
        })
        .collect()
}

/// Leaf `index` and its path up the `V`-leaf erasure tree must give `erasure_root`.
fn check_erasure_path(
    spec: &ChainSpec,
    erasure_root: &Hash,
    index: usize,
    leaf: &[u8; 64],
    steps: &[JustificationStep],
) -> Result<(), JustificationError> {
    let recomputed = balanced::root_from_trace(
        leaf,
        index,
        spec.validators(),
        &step_bytes(steps),
        blake2b_256,
    )?;
    if recomputed == *erasure_root {
        Ok(())
    } else {
        Err(JustificationError::RootMismatch { recomputed })
    }
}

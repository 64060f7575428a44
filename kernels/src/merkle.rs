//! `M_B` (GP (E.3), the well-balanced Merkle tree) of many lists at once: the
//! primitive behind every validator's segment-shard root, where `V` lists of the same
//! length are hashed together.
//!
//! Each row of a [`Shards`] is one list, cut into `piece`-octet items. `Cpu` builds
//! each tree with `tessera_core::merkle::balanced`; `Simd` walks the trees of a group
//! of rows together, so every inner node is one `many` batch across the group (their
//! lists have one length and so one shape); `Gpu` hashes one tree level per dispatch
//! across all rows ([`crate::gpu::merkle`]), falling back to `Simd` with a warning.

use rayon::prelude::*;
use tessera_core::hash::{blake2b_256, Hash};
use tessera_core::merkle::balanced;

use crate::backend::Backend;
use crate::calibration::Operation;
use crate::hashing::hash_batch;
use crate::shards::Shards;

/// Rows whose trees are walked together in one `many` batch.
const ROWS_PER_BATCH: usize = 32;

/// `[M_B(row cut into piece-octet items, H) | row ∈ rows]`.
pub fn balanced_roots(backend: Backend, rows: &Shards, piece: usize) -> Vec<Hash> {
    let items = rows.shard_len().checked_div(piece).unwrap_or(0);
    let bytes = (rows.count() * rows.shard_len()) as u64;
    match backend.resolve_for(Operation::Hash, bytes) {
        Backend::Cpu => rows
            .iter()
            .map(|row| {
                let list: Vec<&[u8]> = row.chunks_exact(piece.max(1)).collect();
                balanced::root(&list, blake2b_256)
            })
            .collect(),
        Backend::Gpu => {
            let list: Vec<&[u8]> = rows.iter().collect();
            match crate::gpu::context().and_then(|ctx| ctx.balanced_roots(&list, piece)) {
                Ok(roots) => roots,
                Err(e) => {
                    tracing::warn!("balanced roots on gpu failed, using simd instead: {e}");
                    balanced_roots(Backend::Simd, rows, piece)
                }
            }
        }
        _ => {
            let rows: Vec<&[u8]> = rows.iter().collect();
            rows.par_chunks(ROWS_PER_BATCH)
                .flat_map_iter(|group| {
                    let walk = Walk { rows: group, piece };
                    match walk.node(0, items) {
                        // M_B of a single item hashes it.
                        Value::Item(j) => {
                            let inputs: Vec<&[u8]> =
                                group.iter().map(|row| walk.item(row, j)).collect();
                            hash_batch(&inputs)
                        }
                        Value::Hashes(hashes) => hashes,
                    }
                })
                .collect()
        }
    }
}

/// The value of `N` (GP (E.1)) at one subtree, for every row of a group at once.
enum Value {
    /// A one-item subtree: item `j` of each row's list, unhashed.
    Item(usize),
    /// One hash per row.
    Hashes(Vec<Hash>),
}

/// `N` over a group of rows' lists, which all have the same length and so the same
/// tree shape: each inner node is one `many` batch across the group.
struct Walk<'a> {
    rows: &'a [&'a [u8]],
    piece: usize,
}

impl Walk<'_> {
    fn item<'r>(&self, row: &'r [u8], j: usize) -> &'r [u8] {
        row.get(j * self.piece..(j + 1) * self.piece).unwrap_or(&[])
    }

    /// `N(v_{lo..hi})`, splitting at `⌈n/2⌉` as (E.1) does.
    fn node(&self, lo: usize, hi: usize) -> Value {
        match hi - lo {
            0 => Value::Hashes(vec![Hash::ZERO; self.rows.len()]),
            1 => Value::Item(lo),
            n => {
                let mid = lo + n.div_ceil(2);
                let left = self.node(lo, mid);
                let right = self.node(mid, hi);
                // One flat buffer of `$node ⌢ l ⌢ r` per row, hashed as a batch.
                let side = |value: &Value, g: usize, row: &[u8], out: &mut Vec<u8>| match value {
                    Value::Item(j) => out.extend_from_slice(self.item(row, *j)),
                    Value::Hashes(h) => {
                        out.extend_from_slice(h.get(g).map_or(&[][..], |h| h.as_ref()))
                    }
                };
                // A node's preimage is at most `$node` and two 32-octet hashes or items.
                let side_max = self.piece.max(32);
                let mut buffer = Vec::with_capacity(self.rows.len() * (4 + 2 * side_max));
                let mut ends = Vec::with_capacity(self.rows.len());
                for (g, row) in self.rows.iter().enumerate() {
                    buffer.extend_from_slice(b"node");
                    side(&left, g, row, &mut buffer);
                    side(&right, g, row, &mut buffer);
                    ends.push(buffer.len());
                }
                let inputs: Vec<&[u8]> = ends
                    .iter()
                    .scan(0, |start, &end| {
                        let input = buffer.get(*start..end).unwrap_or(&[]);
                        *start = end;
                        Some(input)
                    })
                    .collect();
                Value::Hashes(hash_batch(&inputs))
            }
        }
    }
}

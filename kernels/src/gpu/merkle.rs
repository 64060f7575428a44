//! `M_B` (GP (E.1)–(E.2)) of many lists of equal shape on the GPU: the `merkle_node`
//! entry point of `shaders/blake2b.wgsl`, one tree level per dispatch. In the
//! availability pipeline these are the `V` validators' segment-shard lists (`s♣`),
//! thousands of 12-octet items each, so every node level is a wide batch.

use tessera_core::hash::{blake2b_256, Hash};
use tessera_core::merkle::balanced;

use super::device::{binding, digests, GpuContext, READBACK, STORAGE_IN, STORAGE_OUT, UNIFORM};
use super::error::GpuError;
use super::recorder::Recorder;
use super::reed_solomon::{READBACK_COPY, UPLOAD_COPY};

/// Invocations per workgroup (lists) of `merkle_node`.
const GROUP: u64 = 64;

/// Octets of one `Level` uniform.
const LEVEL: u64 = 32;

/// A side of a node: item `j` of the list, or the hash of node slot `s`.
const HASH: u32 = 0x8000_0000;
/// No right side (a one-item list's root hashes the item alone).
const NONE: u32 = u32::MAX;

/// The nodes of `M_B` over `n ≥ 1` items, as `(left, right, slot, prefixed)` specs grouped
/// by height (every node after the nodes it reads), and the root's slot.
pub(super) struct Tree {
    /// Specs per height, lowest first.
    levels: Vec<Vec<[u32; 4]>>,
    pub(super) slots: u32,
    root: u32,
}

impl Tree {
    pub(super) fn new(n: usize) -> Tree {
        let mut tree = Tree {
            levels: Vec::new(),
            slots: 0,
            root: 0,
        };
        tree.root = if n == 1 {
            // M_B of one item is H(item) (E.2), not the item itself.
            tree.push(1, [0, NONE, 0, 0])
        } else {
            let (side, _) = tree.node(0, n);
            side & !HASH
        };
        tree
    }

    /// Add a spec at `height`, giving it the next slot.
    fn push(&mut self, height: usize, mut spec: [u32; 4]) -> u32 {
        let slot = self.slots;
        self.slots += 1;
        spec[2] = slot;
        if self.levels.len() < height {
            self.levels.resize(height, Vec::new());
        }
        self.levels[height - 1].push(spec);
        slot
    }

    /// `N(v_{lo..hi})` (E.1) for `hi − lo ≥ 1`: the side that refers to it, and its
    /// height (0 for an item). Splits at `⌈n/2⌉` as (E.1) does.
    fn node(&mut self, lo: usize, hi: usize) -> (u32, usize) {
        if hi - lo == 1 {
            return (lo as u32, 0);
        }
        let mid = lo + (hi - lo).div_ceil(2);
        let (left, lh) = self.node(lo, mid);
        let (right, rh) = self.node(mid, hi);
        let height = lh.max(rh) + 1;
        (HASH | self.push(height, [left, right, 0, 1]), height)
    }
}

impl GpuContext {
    /// `[M_B(row cut into piece-octet items) | row ∈ rows]`: every row the same length,
    /// a multiple of `piece` (which is a multiple of 4). Lists are split over
    /// submissions so that items and node hashes each fit one binding.
    pub fn balanced_roots(&self, rows: &[&[u8]], piece: usize) -> Result<Vec<Hash>, GpuError> {
        let Some(first) = rows.first() else {
            return Ok(Vec::new());
        };
        let row_bytes = first.len();
        let shape_ok = piece > 0
            && piece.is_multiple_of(4)
            && row_bytes % piece == 0
            && rows.iter().all(|r| r.len() == row_bytes);
        if !shape_ok {
            return Err(GpuError::Operation(format!(
                "balanced_roots: rows of {row_bytes} octets in {piece}-octet items"
            )));
        }
        let n = row_bytes / piece;
        if n == 0 {
            return Ok(vec![Hash::ZERO; rows.len()]);
        }
        let tree = Tree::new(n);
        let per_list = (u64::from(tree.slots) * 32).max(row_bytes as u64);
        let lists = (self.binding_limit / per_list) as usize;
        if lists == 0 {
            // Too long for one binding: the CPU reference, list by list.
            return Ok(rows
                .iter()
                .map(|row| {
                    let items: Vec<&[u8]> = row.chunks_exact(piece).collect();
                    balanced::root(&items, blake2b_256)
                })
                .collect());
        }
        let mut out = Vec::with_capacity(rows.len());
        for group in rows.chunks(lists.min(GROUP as usize * self.max_groups as usize)) {
            out.extend(self.scoped(|| self.balanced_submission(&tree, group, piece))?);
        }
        Ok(out)
    }

    fn balanced_submission(
        &self,
        tree: &Tree,
        rows: &[&[u8]],
        piece: usize,
    ) -> Result<Vec<Hash>, GpuError> {
        let mut guard = self.buffers();
        let buffers = &mut *guard;
        let row_bytes = rows.first().map_or(0, |r| r.len());
        let items_size = ((rows.len() * row_bytes) as u64).max(4);
        let upload = self.stage(&mut buffers.upload, items_size, |view| {
            for (l, row) in rows.iter().enumerate() {
                view.slice(l * row_bytes..(l + 1) * row_bytes)
                    .copy_from_slice(row);
            }
        })?;
        let items = self.buffer(
            &mut buffers.hash_input,
            items_size,
            STORAGE_IN,
            "merkle items",
        );
        let result_size = rows.len() as u64 * 32;
        let readback = self.buffer(&mut buffers.readback, result_size, READBACK, "readback");
        let mut recorder = self.recorder();
        recorder.copy(UPLOAD_COPY, (upload, 0), (items, 0), items_size);
        let (nodes, root_at) = self.record_balanced(
            &mut recorder,
            (
                &mut buffers.skews,
                &mut buffers.params,
                &mut buffers.hash_output,
            ),
            (items, items_size),
            tree,
            (rows.len(), row_bytes / 4, piece / 4),
        )?;
        recorder.copy(READBACK_COPY, (nodes, root_at), (readback, 0), result_size);
        self.submit(recorder);
        let mut roots = Vec::with_capacity(rows.len());
        self.read_back(readback, result_size, |octets| {
            roots.extend(digests(octets));
        })?;
        Ok(roots)
    }

    /// Record the dispatches of `tree` over `items` (`lists` lists of `row_words` words,
    /// items of `piece_words` words) into `encoder`, with the specs, level uniforms and
    /// node hashes in the given kept buffers. Returns the node buffer and the offset of
    /// the roots (`lists` hashes of 32 octets).
    pub(super) fn record_balanced<'b>(
        &self,
        recorder: &mut Recorder,
        (specs_slot, params_slot, nodes_slot): (
            &'b mut Option<wgpu::Buffer>,
            &'b mut Option<wgpu::Buffer>,
            &'b mut Option<wgpu::Buffer>,
        ),
        (items, items_size): (&wgpu::Buffer, u64),
        tree: &Tree,
        (lists, row_words, piece_words): (usize, usize, usize),
    ) -> Result<(&'b wgpu::Buffer, u64), GpuError> {
        let nodes_size = u64::from(tree.slots) * lists as u64 * 32;
        let nodes = self.buffer(nodes_slot, nodes_size, STORAGE_OUT, "merkle nodes");
        let specs: Vec<[u32; 4]> = tree.levels.iter().flatten().copied().collect();
        let specs_bytes: Vec<u8> = specs
            .iter()
            .flatten()
            .flat_map(|w| w.to_le_bytes())
            .collect();
        let specs_buffer = self.buffer(
            specs_slot,
            specs_bytes.len() as u64,
            STORAGE_IN,
            "merkle specs",
        );
        self.queue.write_buffer(specs_buffer, 0, &specs_bytes);
        let align = self.uniform_align;
        let params = self.buffer(
            params_slot,
            tree.levels.len() as u64 * align,
            UNIFORM,
            "merkle levels",
        );
        let mut bytes = vec![0u8; tree.levels.len() * align as usize];
        let mut first = 0;
        for (slot, level) in bytes.chunks_exact_mut(align as usize).zip(&tree.levels) {
            let words = [lists, row_words, piece_words, first, level.len(), 0, 0, 0];
            for (octets, word) in slot.chunks_exact_mut(4).zip(words) {
                octets.copy_from_slice(&(word as u32).to_le_bytes());
            }
            first += level.len();
        }
        self.queue.write_buffer(params, 0, &bytes);
        let bind_group = self.bind_group(
            "merkle",
            &self.merkle.layout,
            &[
                (0, binding(items, items_size)),
                (1, binding(nodes, nodes_size)),
                (3, binding(params, LEVEL)),
                (4, binding(specs_buffer, specs_bytes.len() as u64)),
            ],
        );
        let x = u32::try_from((lists as u64).div_ceil(GROUP))
            .ok()
            .filter(|&x| x <= self.max_groups)
            .ok_or_else(|| GpuError::Operation(format!("{lists} lists in one dispatch")))?;
        let mut dispatches = Vec::with_capacity(tree.levels.len());
        for (i, level) in tree.levels.iter().enumerate() {
            let height = u32::try_from(level.len())
                .ok()
                .filter(|&h| h <= self.max_groups)
                .ok_or_else(|| {
                    GpuError::Operation(format!("{} nodes in one tree level", level.len()))
                })?;
            let offset = u32::try_from(i as u64 * align)
                .map_err(|_| GpuError::Operation("too many tree levels".into()))?;
            dispatches.push((offset, height));
        }
        // One pass for the tree, or one per level when the profile times each.
        let record = |pass: &mut wgpu::ComputePass<'_>, (offset, height)| {
            pass.set_pipeline(&self.merkle.pipeline);
            pass.set_bind_group(0, &bind_group, &[offset]);
            pass.dispatch_workgroups(x, height, 1);
        };
        if recorder.passes_timed() {
            for dispatch in dispatches {
                record(&mut recorder.pass("merkle: one tree level"), dispatch);
            }
        } else {
            let mut pass = recorder.pass("merkle: tree levels");
            for dispatch in dispatches {
                record(&mut pass, dispatch);
            }
        }
        Ok((nodes, u64::from(tree.root) * lists as u64 * 32))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every node comes after the nodes it reads, and the root covers all items.
    #[test]
    fn tree_levels_are_in_dependency_order() {
        for n in [1usize, 2, 3, 5, 7, 64, 100, 3120] {
            let tree = Tree::new(n);
            let mut done = vec![false; tree.slots as usize];
            for level in &tree.levels {
                for spec in level {
                    for side in [spec[0], spec[1]] {
                        if side != NONE && side & HASH != 0 {
                            assert!(done[(side & !HASH) as usize], "n {n}");
                        } else if side != NONE {
                            assert!((side as usize) < n);
                        }
                    }
                }
                for spec in level {
                    done[spec[2] as usize] = true;
                }
            }
            assert!(done[tree.root as usize]);
            assert_eq!(tree.slots as usize, n.max(2) - 1);
        }
    }
}

//! Where the segments a work package may import are (GP v0.7.2 §14.3; JAMNP-S
//! CE 139/140): for each package whose report this node has seen in a block's
//! guarantees (`E_G`, GP 11.23), its availability specifier's erasure root `u`,
//! segments root `e` and export count `n`, and the core whose assurers hold its
//! shards, found by segments root or by work-package hash.
//!
//! An import `(h, i)` names `h` either as a segments root or, with bit 15 of `i`
//! set, as a work-package hash `h⊞` (GP C.2). A guarantor resolves both through
//! this index before fetching ([`tessera_da::import::import_segments`]); for the
//! hash form it also puts `(h, e)` in the report's segment-root lookup `l`,
//! which block import holds against recent history (GP 11.41).
//!
//! The index is fed from imported blocks, on every fork, and keeps the last
//! [`ExportsIndex::CAPACITY`] reports with exports, oldest forgotten first; an
//! import of an older package is refused by the guarantor as unknown. At start
//! it is rebuilt from the stored blocks ([`ExportsIndex::recall`]).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use tessera_core::hash::Hash;
use tessera_core::types::{CoreIndex, ImportSpec, TimeSlot, WorkReport};
use tessera_da::import::ExportedBy;

/// Bit 15 of an import's index marks `h` as a work-package hash `h⊞` (GP C.2).
pub const PACKAGE_HASH_FLAG: u16 = 1 << 15;

/// A package's exports as its report specifies them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Exported {
    /// The work-package hash `s_h`.
    pub package: Hash,
    /// `u`, `e` and `n`.
    pub by: ExportedBy,
    /// The core whose assignment places the shards (GP 14.16 with the core's
    /// shard rotation, `tessera_da::assignment`).
    pub core: CoreIndex,
    /// The slot of the block whose guarantees carried the report: its assurers
    /// took their shards under their indices in that epoch's `κ`.
    pub slot: TimeSlot,
}

/// An import resolved: the exporting package and the segment's index in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resolved {
    /// The package that exported it.
    pub exported: Exported,
    /// The segment's index among its exports (bit 15 cleared).
    pub index: u16,
    /// Whether the import named the package by its hash (so the report's `l`
    /// needs `(hash, e)`).
    pub by_package_hash: bool,
}

/// Reports with exports, by segments root and by package hash (module docs).
#[derive(Debug, Default)]
pub struct ExportsIndex {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    by_root: HashMap<Hash, Exported>,
    root_of_package: HashMap<Hash, Hash>,
    /// Segments roots, oldest first.
    order: VecDeque<Hash>,
}

impl ExportsIndex {
    /// How many packages' exports are remembered.
    pub const CAPACITY: usize = 4096;

    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // Entries are inserted whole; a panic elsewhere leaves nothing half-made.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Remember `report`'s exports (nothing for a report without any), carried
    /// by a block of slot `slot`.
    pub fn record(&self, report: &WorkReport, slot: TimeSlot) {
        let s = &report.package_spec;
        if s.exports_count == 0 {
            return;
        }
        let exported = Exported {
            package: s.hash,
            by: ExportedBy {
                erasure_root: s.erasure_root,
                segments_root: s.exports_root,
                export_count: s.exports_count,
            },
            core: report.core_index,
            slot,
        };
        let mut inner = self.lock();
        if inner.by_root.insert(s.exports_root, exported).is_none() {
            inner.order.push_back(s.exports_root);
        }
        inner.root_of_package.insert(s.hash, s.exports_root);
        while inner.order.len() > Self::CAPACITY {
            if let Some(old) = inner.order.pop_front() {
                if let Some(e) = inner.by_root.remove(&old) {
                    inner.root_of_package.remove(&e.package);
                }
            }
        }
    }

    /// Rebuild the index from the blocks of `chain` as a node that had imported
    /// them would have it: the index lives in memory, and a restarted node still
    /// guarantees packages importing segments exported before it stopped. Only
    /// the newest blocks are read (from the newest back, until the index would be
    /// full), then recorded oldest first. How many reports with exports were seen.
    pub fn recall(&self, chain: &crate::chain::Chain) -> usize {
        let mut newest_first: Vec<(WorkReport, TimeSlot)> = Vec::new();
        for info in chain.in_slot_order().into_iter().rev() {
            if newest_first.len() >= Self::CAPACITY {
                break;
            }
            let Some(block) = chain.block(&info.hash) else {
                continue;
            };
            newest_first.extend(
                block
                    .extrinsic
                    .guarantees
                    .0
                    .iter()
                    .rev()
                    .filter(|g| g.report.package_spec.exports_count > 0)
                    .map(|g| (g.report.clone(), info.slot)),
            );
        }
        for (report, slot) in newest_first.iter().rev() {
            self.record(report, *slot);
        }
        newest_first.len()
    }

    /// The package whose segments root is `root`.
    pub fn by_segments_root(&self, root: &Hash) -> Option<Exported> {
        self.lock().by_root.get(root).copied()
    }

    /// The package whose work-package hash is `hash`.
    pub fn by_package_hash(&self, hash: &Hash) -> Option<Exported> {
        let inner = self.lock();
        let root = inner.root_of_package.get(hash)?;
        inner.by_root.get(root).copied()
    }

    /// The package and index an import names, in either form; `None` if the
    /// package is not known here.
    pub fn resolve(&self, import: &ImportSpec) -> Option<Resolved> {
        let by_package_hash = import.index & PACKAGE_HASH_FLAG != 0;
        let exported = if by_package_hash {
            self.by_package_hash(&import.tree_root)?
        } else {
            self.by_segments_root(&import.tree_root)?
        };
        Some(Resolved {
            exported,
            index: import.index & !PACKAGE_HASH_FLAG,
            by_package_hash,
        })
    }

    /// How many packages' exports are remembered.
    pub fn len(&self) -> usize {
        self.lock().order.len()
    }

    /// Whether none are.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_core::hash::blake2b_256;
    use tessera_core::types::{AvailabilitySpec, RefineContext, SegmentRootLookup};

    fn report(tag: u8, exports: u16) -> WorkReport {
        WorkReport {
            package_spec: AvailabilitySpec {
                hash: blake2b_256(&[tag]),
                length: 10,
                erasure_root: blake2b_256(&[tag, 1]),
                exports_root: blake2b_256(&[tag, 2]),
                exports_count: exports,
            },
            context: RefineContext {
                anchor: Hash::ZERO,
                state_root: Hash::ZERO,
                beefy_root: Hash::ZERO,
                lookup_anchor: Hash::ZERO,
                lookup_anchor_slot: 0,
                prerequisites: Vec::new(),
            },
            core_index: u16::from(tag % 2),
            authorizer_hash: Hash::ZERO,
            auth_gas_used: 0,
            auth_output: Vec::new().into(),
            segment_root_lookup: SegmentRootLookup(Vec::new()),
            results: Vec::new(),
        }
    }

    /// Both forms of `h` resolve to the same package; the flag is cleared from
    /// the index; reports without exports and unknown roots resolve to nothing.
    #[test]
    fn imports_resolve_by_segments_root_and_by_package_hash() {
        let index = ExportsIndex::new();
        let r = report(1, 3);
        index.record(&r, 0);
        index.record(&report(2, 0), 0);
        assert_eq!(index.len(), 1);
        let by_root = index
            .resolve(&ImportSpec {
                tree_root: r.package_spec.exports_root,
                index: 2,
            })
            .expect("known by segments root");
        assert_eq!(by_root.index, 2);
        assert!(!by_root.by_package_hash);
        assert_eq!(
            by_root.exported.by.erasure_root,
            r.package_spec.erasure_root
        );
        assert_eq!(by_root.exported.by.export_count, 3);
        assert_eq!(by_root.exported.core, r.core_index);
        let by_hash = index
            .resolve(&ImportSpec {
                tree_root: r.package_spec.hash,
                index: PACKAGE_HASH_FLAG | 2,
            })
            .expect("known by package hash");
        assert_eq!(by_hash.index, 2);
        assert!(by_hash.by_package_hash);
        assert_eq!(by_hash.exported, by_root.exported);
        // The hash without the flag is not a segments root, and vice versa.
        let unflagged = ImportSpec {
            tree_root: r.package_spec.hash,
            index: 2,
        };
        assert_eq!(index.resolve(&unflagged), None);
        let flagged_root = ImportSpec {
            tree_root: r.package_spec.exports_root,
            index: PACKAGE_HASH_FLAG,
        };
        assert_eq!(index.resolve(&flagged_root), None);
        let empty = report(2, 0);
        assert_eq!(index.by_package_hash(&empty.package_spec.hash), None);
    }

    /// Past the capacity the oldest package is forgotten, by both keys.
    #[test]
    fn the_oldest_package_is_forgotten_first() {
        let index = ExportsIndex::new();
        let first = report(0, 1);
        index.record(&first, 0);
        for i in 0..ExportsIndex::CAPACITY {
            let mut r = report(1, 1);
            r.package_spec.hash = blake2b_256(&i.to_le_bytes());
            r.package_spec.exports_root = blake2b_256(&[&i.to_le_bytes()[..], b"root"].concat());
            index.record(&r, 0);
        }
        assert_eq!(index.len(), ExportsIndex::CAPACITY);
        assert_eq!(
            index.by_segments_root(&first.package_spec.exports_root),
            None
        );
        assert_eq!(index.by_package_hash(&first.package_spec.hash), None);
    }
}

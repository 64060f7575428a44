//! The availability pipeline of a work package: from its bundle and exported segments
//! to the erasure root `u` of its availability specifier (GP §14,
//! work_packages_and_reports.tex, "Availability Specifier", function `A`):
//!
//! ```text
//! u  = M_B([x_0 ⌢ x_1 | x ← transpose [b♣, s♣]])
//! b♣ = H^#(C_{⌈|b|/W_E⌉}(P_{W_E}(b)))                 bundle chunk hashes
//! s♣ = M_B^#(transpose C_6^#(s ⌢ P(s)))               per-validator segment-shard roots
//! e  = M(s)                                            segments root
//! ```
//!
//! with the paged proofs `P(s)` of eq. `pagedproofs`:
//! `[P_{W_G}(E(↕J_6(s, i), ↕L_6(s, i))) | i ← N_{⌈|s|/64⌉}]`.
//!
//! Validator `i`'s leaf is `H(bundle chunk i) ⌢ M_B(its segment shards)`, 64 octets.
//! For a package that exports nothing, `s ⌢ P(s)` is empty and the transpose of an
//! empty sequence is taken as `V` empty lists, so `s♣_i = M_B([]) = H_0` (the zero
//! hash) for every validator — the reading other clients use; the GP text leaves the
//! transpose of zero rows implicit.
//!
//! [`Backend::Cpu`] is the reference, built readably from `tessera_core::merkle`'s
//! `M_B`, `M`, `J_x` and `L_x` and one `C` call per segment. The other backends run
//! the kernels' primitives: all segments and proof pages coded in one column-parallel
//! call, with `b♣` (a hash per chunk) and `s♣` (`M_B` of many lists) computed by the
//! kernels' coding-with-digests step (`tessera_kernels::digest`, fused in one GPU
//! submission on `gpu`), and the segments tree hashed level by level in `many`
//! batches on the CPU. The engine keeps `b♣` and `s♣` of its last package, so a
//! guarantor's justifications ([`crate::package`]) need no second hashing pass.
//! No official vector covers this pipeline (the codec vectors' `package_spec` come
//! without their bundles and segments), so `simd` and `gpu` are checked against `cpu`.

use rayon::prelude::*;
use tessera_core::codec::encode_natural;
use tessera_core::hash::{blake2b_256, Hash};
use tessera_core::merkle::{balanced, constant_depth};
use tessera_core::spec::ChainSpec;

use tessera_kernels::digest::shard_hashes;
use tessera_kernels::erasure::{encode, ErasureCoder, ErasureError};
use tessera_kernels::merkle::balanced_roots;
use tessera_kernels::segment::segment_shard_bytes;
use tessera_kernels::{blake2b_many, Backend, Shards};

use crate::justification::erasure_leaf;

/// `x` of `J_x` and `L_x` in the paged proofs: pages of `2^6 = 64` segments.
pub const PAGE_LOG: u32 = 6;

/// Segments per proof page, `2^PAGE_LOG`.
pub const PAGE_SEGMENTS: usize = 1 << PAGE_LOG;

/// The roots of a package's availability specifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Roots {
    /// `u`: the erasure root.
    pub erasure_root: Hash,
    /// `e = M(s)`: the segments root (constant-depth, GP (E.4)).
    pub segments_root: Hash,
}

/// A reusable pipeline for one chain spec and backend: it keeps its erasure coder and
/// its shard buffers across packages, and the leaf halves `b♣`, `s♣` of the last one.
pub struct AvailabilityEngine {
    spec: ChainSpec,
    backend: Backend,
    coder: ErasureCoder,
    chunks: Shards,
    segment_shards: Shards,
    bundle_hashes: Vec<Hash>,
    segment_roots: Vec<Hash>,
}

impl AvailabilityEngine {
    /// A pipeline for `spec` on `backend` (rayon's current pool for `simd`).
    pub fn new(spec: &ChainSpec, backend: Backend) -> AvailabilityEngine {
        AvailabilityEngine {
            spec: spec.clone(),
            backend: backend.resolve(),
            coder: ErasureCoder::new(spec, backend),
            chunks: Shards::new(),
            segment_shards: Shards::new(),
            bundle_hashes: Vec::new(),
            segment_roots: Vec::new(),
        }
    }

    /// The backend it runs on (`Auto` resolved).
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The bundle chunks of the last package: `C(P_{W_E}(b))`, `V` shards.
    pub fn chunks(&self) -> &Shards {
        &self.chunks
    }

    /// The segment shards of the last package: shard `i` is validator `i`'s shards of
    /// `s ⌢ P(s)` (each `2 · W_P` octets), back to back.
    pub fn segment_shards(&self) -> &Shards {
        &self.segment_shards
    }

    /// The leaves `b♣_i ⌢ s♣_i` of the last [`Self::roots`] (empty before one, and
    /// after [`Self::encode`] alone).
    pub fn leaves(&self) -> Vec<[u8; 64]> {
        self.bundle_hashes
            .iter()
            .zip(&self.segment_roots)
            .map(|(b, s)| erasure_leaf(b, s))
            .collect()
    }

    /// The bundle chunks and segment shards of a package whose proof pages are already
    /// appended to its segments (`segments_and_pages = s ⌢ P(s)`): the coding step
    /// alone.
    pub fn encode<S: AsRef<[u8]> + Sync>(
        &mut self,
        bundle: &[u8],
        segments_and_pages: &[S],
    ) -> Result<(), ErasureError> {
        self.bundle_hashes.clear();
        self.segment_roots.clear();
        self.coder.encode_into(bundle, &mut self.chunks)?;
        self.coder
            .encode_segments_into(&self.spec, segments_and_pages, &mut self.segment_shards)
    }

    /// `u` of the last [`Self::encode`]: the hashing step alone (`b♣`, `s♣`, `M_B`).
    pub fn erasure_root_of_shards(&self) -> Hash {
        let piece = segment_shard_bytes(&self.spec);
        let bundle = shard_hashes(self.backend, &self.chunks);
        let segments = balanced_roots(self.backend, &self.segment_shards, piece);
        erasure_root(&bundle, &segments)
    }

    /// The whole pipeline for one package: paged proofs, coding, hashing, roots.
    pub fn roots<S: AsRef<[u8]> + Sync>(
        &mut self,
        bundle: &[u8],
        segments: &[S],
    ) -> Result<Roots, ErasureError> {
        check_segments(&self.spec, segments)?;
        self.bundle_hashes.clear();
        self.segment_roots.clear();
        if self.backend == Backend::Cpu {
            let reference = reference(&self.spec, bundle, segments)?;
            self.chunks = reference.chunks;
            self.segment_shards = reference.segment_shards;
            self.bundle_hashes = reference.bundle_hashes;
            self.segment_roots = reference.segment_roots;
            return Ok(reference.roots);
        }
        let (pages, segments_root) = paged_proofs_simd(&self.spec, segments)?;
        let all: Vec<&[u8]> = segments
            .iter()
            .map(AsRef::as_ref)
            .chain(pages.iter().map(Vec::as_slice))
            .collect();
        // b♣ and s♣ come out of the coding step (fused on the GPU).
        let bundle_hashes = self.coder.encode_hashed(bundle, &mut self.chunks)?;
        let segment_roots =
            self.coder
                .encode_segments_rooted(&self.spec, &all, &mut self.segment_shards)?;
        let erasure_root = erasure_root(&bundle_hashes, &segment_roots);
        self.bundle_hashes = bundle_hashes;
        self.segment_roots = segment_roots;
        Ok(Roots {
            erasure_root,
            segments_root,
        })
    }
}

/// The roots of many packages `(bundle, exported segments)`, one after another, each
/// using every thread (so memory holds one package's shards at a time).
pub fn roots_many<B: AsRef<[u8]>, S: AsRef<[u8]> + Sync>(
    spec: &ChainSpec,
    backend: Backend,
    packages: &[(B, Vec<S>)],
) -> Result<Vec<Roots>, ErasureError> {
    let mut engine = AvailabilityEngine::new(spec, backend);
    packages
        .iter()
        .map(|(bundle, segments)| engine.roots(bundle.as_ref(), segments))
        .collect()
}

/// The reference pipeline's outputs.
pub struct Reference {
    /// `u` and `e`.
    pub roots: Roots,
    /// The bundle chunks.
    pub chunks: Shards,
    /// Validator `i`'s segment shards of `s ⌢ P(s)`, back to back.
    pub segment_shards: Shards,
    /// `b♣`.
    pub bundle_hashes: Vec<Hash>,
    /// `s♣`.
    pub segment_roots: Vec<Hash>,
}

/// The availability specifier's roots written out as the GP states them, from
/// `tessera_core::merkle` and the `cpu` erasure code: the oracle for `simd`.
pub fn reference<S: AsRef<[u8]>>(
    spec: &ChainSpec,
    bundle: &[u8],
    segments: &[S],
) -> Result<Reference, ErasureError> {
    check_segments(spec, segments)?;
    let v = spec.validators();
    // b♣ = H^#(C_{⌈|b|/W_E⌉}(P_{W_E}(b)))
    let chunks = encode(spec, Backend::Cpu, bundle)?;
    let bundle_hashes: Vec<Hash> = chunks.iter().map(|c| blake2b_256(c)).collect();
    // s ⌢ P(s), each coded with C_6 (the same code at W_G = 6 · W_E octets).
    let pages = paged_proofs(spec, segments)?;
    let all: Vec<&[u8]> = segments
        .iter()
        .map(AsRef::as_ref)
        .chain(pages.iter().map(Vec::as_slice))
        .collect();
    let coded: Vec<Vec<Vec<u8>>> = all
        .iter()
        .map(|x| encode(spec, Backend::Cpu, x))
        .collect::<Result<_, _>>()?;
    // transpose: validator i's list is shard i of every coded segment, in order.
    let per_validator: Vec<Vec<&[u8]>> = (0..v)
        .map(|i| {
            coded
                .iter()
                .filter_map(|c| c.get(i).map(Vec::as_slice))
                .collect()
        })
        .collect();
    // s♣ = M_B^#(...)
    let segment_roots: Vec<Hash> = per_validator
        .iter()
        .map(|list| balanced::root(list, blake2b_256))
        .collect();
    let rows: Vec<Vec<u8>> = per_validator.iter().map(|list| list.concat()).collect();
    let segment_shards = Shards::from_rows(&rows)
        .ok_or_else(|| ErasureError::BufferShape("segment shard rows differ".into()))?;
    let chunks = Shards::from_rows(&chunks)
        .ok_or_else(|| ErasureError::BufferShape("bundle chunks differ".into()))?;
    Ok(Reference {
        roots: Roots {
            erasure_root: erasure_root(&bundle_hashes, &segment_roots),
            segments_root: constant_depth::root(segments, blake2b_256),
        },
        chunks,
        segment_shards,
        bundle_hashes,
        segment_roots,
    })
}

/// `u = M_B([b♣_i ⌢ s♣_i | i ← N_V])`: the erasure root from the per-validator halves.
pub fn erasure_root(bundle_hashes: &[Hash], segment_roots: &[Hash]) -> Hash {
    let leaves: Vec<[u8; 64]> = bundle_hashes
        .iter()
        .zip(segment_roots)
        .map(|(b, s)| erasure_leaf(b, s))
        .collect();
    balanced::root(&leaves, blake2b_256)
}

/// Every segment must be `W_G` octets.
fn check_segments<S: AsRef<[u8]>>(spec: &ChainSpec, segments: &[S]) -> Result<(), ErasureError> {
    let expected = spec.segment_size as usize;
    match segments.iter().position(|s| s.as_ref().len() != expected) {
        Some(index) => Err(ErasureError::WrongSegmentLength {
            index,
            expected,
            got: segments.get(index).map_or(0, |s| s.as_ref().len()),
        }),
        None => Ok(()),
    }
}

/// One proof page: `P_{W_G}(E(↕justification, ↕leaves))`.
fn proof_page(
    spec: &ChainSpec,
    justification: &[Hash],
    leaves: &[Hash],
) -> Result<Vec<u8>, ErasureError> {
    let size = spec.segment_size as usize;
    let mut page = Vec::with_capacity(size);
    for seq in [justification, leaves] {
        encode_natural(seq.len() as u64, &mut page);
        for h in seq {
            page.extend_from_slice(h.as_ref());
        }
    }
    if page.len() > size {
        return Err(ErasureError::BufferShape(format!(
            "a proof page of {} octets exceeds W_G = {size}",
            page.len()
        )));
    }
    page.resize(size, 0);
    Ok(page)
}

/// `P(s)`, GP eq. `pagedproofs`: for each page of 64 segments, its justification
/// `J_6` to the segments root and its leaves `L_6`, encoded and zero-padded to `W_G`
/// (the reference form, from `tessera_core::merkle::constant_depth`).
pub fn paged_proofs<S: AsRef<[u8]>>(
    spec: &ChainSpec,
    segments: &[S],
) -> Result<Vec<Vec<u8>>, ErasureError> {
    let merkle = |e: tessera_core::merkle::MerkleError| ErasureError::BufferShape(e.to_string());
    (0..segments.len().div_ceil(PAGE_SEGMENTS))
        .map(|i| {
            let justification =
                constant_depth::page_justification(segments, i, PAGE_LOG, blake2b_256)
                    .map_err(merkle)?;
            let leaves =
                constant_depth::leaf_page(segments, i, PAGE_LOG, blake2b_256).map_err(merkle)?;
            proof_page(spec, &justification, &leaves)
        })
        .collect()
}

/// `P(s)` and `M(s)` from one pass over the constant-depth tree: the leaves
/// `H($leaf ⌢ s_j)` and each level of inner nodes are hashed in `many` batches.
pub fn paged_proofs_simd<S: AsRef<[u8]> + Sync>(
    spec: &ChainSpec,
    segments: &[S],
) -> Result<(Vec<Vec<u8>>, Hash), ErasureError> {
    // C(s): leaves padded with zero hashes to 2^d.
    let depth = constant_depth::depth(segments.len());
    let width = 1usize
        .checked_shl(depth)
        .ok_or(ErasureError::LengthTooLarge(segments.len()))?;
    let mut leaves: Vec<Hash> = segments
        .par_chunks(PAGE_SEGMENTS)
        .flat_map_iter(|batch| {
            let inputs: Vec<Vec<u8>> = batch
                .iter()
                .map(|s| [constant_depth::LEAF_PREFIX, s.as_ref()].concat())
                .collect();
            blake2b_many(Backend::Simd, &inputs)
        })
        .collect();
    leaves.resize(width, Hash::ZERO);
    // levels[h]: the nodes at height h; levels[depth] is the root alone.
    let mut levels: Vec<Vec<Hash>> = vec![leaves];
    while let Some(below) = levels.last().filter(|l| l.len() > 1) {
        let inputs: Vec<[u8; 68]> = below
            .chunks_exact(2)
            .map(|pair| {
                let mut input = [0u8; 68];
                input[..4].copy_from_slice(b"node");
                input[4..36].copy_from_slice(pair[0].as_ref());
                input[36..].copy_from_slice(pair[1].as_ref());
                input
            })
            .collect();
        let above = blake2b_many(Backend::Simd, &inputs);
        levels.push(above);
    }
    let root = levels
        .last()
        .and_then(|l| l.first())
        .copied()
        .unwrap_or(Hash::ZERO);
    let page_height = depth.min(PAGE_LOG) as usize;
    let leaf_level = levels.first().map(Vec::as_slice).unwrap_or(&[]);
    let pages = (0..segments.len().div_ceil(PAGE_SEGMENTS))
        .map(|i| {
            // J_6: the sibling at each height from the top down to the page's subtree.
            let justification: Vec<Hash> = (page_height..depth as usize)
                .rev()
                .map(|h| {
                    let ancestor = i >> (h - page_height);
                    levels
                        .get(h)
                        .and_then(|l| l.get(ancestor ^ 1))
                        .copied()
                        .unwrap_or(Hash::ZERO)
                })
                .collect();
            // L_6: the page's leaves, without the padding.
            let start = i * PAGE_SEGMENTS;
            let end = (start + PAGE_SEGMENTS).min(segments.len());
            let page_leaves = leaf_level.get(start..end).unwrap_or(&[]);
            proof_page(spec, &justification, page_leaves)
        })
        .collect::<Result<_, _>>()?;
    Ok((pages, root))
}

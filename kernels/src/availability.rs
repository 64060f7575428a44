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
//! `M_B`, `M`, `J_x` and `L_x` and one `C` call per segment; [`Backend::Simd`] is the
//! same math with all segments and proof pages coded in one column-parallel call,
//! the Merkle trees hashed level by level in blake2b_simd `many` batches, and the
//! `V` segment-shard trees walked together so each of their nodes is one batch.
//! [`Backend::Gpu`] runs the same pipeline with the coding (bundle and all segments),
//! the bundle-chunk hashes `b♣` and the segment-shard trees `s♣` (one dispatch per tree
//! level across all validators) on the GPU, each call's coding and hashing fused in one
//! submission so shards cross the bus once ([`crate::gpu::availability`]); the paged
//! proofs and the final `V`-leaf tree stay on the CPU.
//! No official vector covers this pipeline (the codec vectors' `package_spec` come
//! without their bundles and segments), so `simd` and `gpu` are checked against `cpu`.

use rayon::prelude::*;
use tessera_core::codec::encode_natural;
use tessera_core::hash::{blake2b_256, Hash};
use tessera_core::merkle::{balanced, constant_depth};
use tessera_core::spec::ChainSpec;

use crate::backend::Backend;
use crate::erasure::{encode, encode_blob, ErasureCoder, ErasureError};
use crate::gpu::availability::{Digest, DigestingEngine};
use crate::hashing::{blake2b_many, hash_batch};
use crate::segment::{encode_segment_rows, segment_shard_bytes};
use crate::shards::Shards;

/// `x` of `J_x` and `L_x` in the paged proofs: pages of `2^6 = 64` segments.
pub const PAGE_LOG: u32 = 6;

/// Segments per proof page, `2^PAGE_LOG`.
pub const PAGE_SEGMENTS: usize = 1 << PAGE_LOG;

/// Validators whose segment-shard trees are walked together in one `many` batch.
const VALIDATORS_PER_BATCH: usize = 32;

/// The roots of a package's availability specifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Roots {
    /// `u`: the erasure root.
    pub erasure_root: Hash,
    /// `e = M(s)`: the segments root (constant-depth, GP (E.4)).
    pub segments_root: Hash,
}

/// A reusable pipeline for one chain spec and backend: it keeps its erasure coder and
/// its shard buffers across packages.
pub struct AvailabilityEngine {
    spec: ChainSpec,
    backend: Backend,
    coder: ErasureCoder,
    chunks: Shards,
    segment_shards: Shards,
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

    /// The bundle chunks and segment shards of a package whose proof pages are already
    /// appended to its segments (`segments_and_pages = s ⌢ P(s)`): the coding step
    /// alone.
    pub fn encode<S: AsRef<[u8]> + Sync>(
        &mut self,
        bundle: &[u8],
        segments_and_pages: &[S],
    ) -> Result<(), ErasureError> {
        self.coder.encode_into(bundle, &mut self.chunks)?;
        self.coder
            .encode_segments_into(&self.spec, segments_and_pages, &mut self.segment_shards)
    }

    /// `u` of the last [`Self::encode`]: the hashing step alone (`b♣`, `s♣`, `M_B`).
    pub fn erasure_root_of_shards(&self) -> Hash {
        let piece = segment_shard_bytes(&self.spec);
        let bundle = chunk_hashes(self.backend, &self.chunks);
        let segments = segment_shard_roots(self.backend, &self.segment_shards, piece);
        erasure_root(&bundle, &segments)
    }

    /// The whole pipeline for one package: paged proofs, coding, hashing, roots.
    pub fn roots<S: AsRef<[u8]> + Sync>(
        &mut self,
        bundle: &[u8],
        segments: &[S],
    ) -> Result<Roots, ErasureError> {
        check_segments(&self.spec, segments)?;
        if self.backend == Backend::Cpu {
            let reference = reference(&self.spec, bundle, segments)?;
            self.chunks = reference.chunks;
            self.segment_shards = reference.segment_shards;
            return Ok(reference.roots);
        }
        let (pages, segments_root) = paged_proofs_simd(&self.spec, segments)?;
        let all: Vec<&[u8]> = segments
            .iter()
            .map(AsRef::as_ref)
            .chain(pages.iter().map(Vec::as_slice))
            .collect();
        if self.backend == Backend::Gpu {
            return Ok(Roots {
                erasure_root: self.gpu_fused(bundle, &all)?,
                segments_root,
            });
        }
        self.encode(bundle, &all)?;
        Ok(Roots {
            erasure_root: self.erasure_root_of_shards(),
            segments_root,
        })
    }
}

impl AvailabilityEngine {
    /// `u` on the GPU with coding and hashing fused per call
    /// ([`crate::gpu::availability`]); a call too large for one submission is digested
    /// separately, as [`Self::erasure_root_of_shards`] does.
    fn gpu_fused(
        &mut self,
        bundle: &[u8],
        segments_and_pages: &[&[u8]],
    ) -> Result<Hash, ErasureError> {
        let code = self.coder.code();
        let piece = segment_shard_bytes(&self.spec);
        let mut engine = DigestingEngine::new(Digest::ChunkHashes);
        encode_blob(&mut engine, code, bundle, &mut self.chunks)?;
        let bundle_hashes = engine
            .take()
            .unwrap_or_else(|| chunk_hashes(self.backend, &self.chunks));
        let mut engine = DigestingEngine::new(Digest::BalancedRoots { piece });
        encode_segment_rows(
            &mut engine,
            code,
            &self.spec,
            segments_and_pages,
            &mut self.segment_shards,
        )?;
        let segment_roots = engine
            .take()
            .unwrap_or_else(|| segment_shard_roots(self.backend, &self.segment_shards, piece));
        Ok(erasure_root(&bundle_hashes, &segment_roots))
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
    })
}

/// `u = M_B([b♣_i ⌢ s♣_i | i ← N_V])`: the erasure root from the per-validator halves.
pub fn erasure_root(bundle_hashes: &[Hash], segment_roots: &[Hash]) -> Hash {
    let leaves: Vec<[u8; 64]> = bundle_hashes
        .iter()
        .zip(segment_roots)
        .map(|(b, s)| {
            let mut leaf = [0u8; 64];
            leaf[..32].copy_from_slice(b.as_ref());
            leaf[32..].copy_from_slice(s.as_ref());
            leaf
        })
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
            hash_batch(&inputs)
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

/// `b♣`: the hash of every bundle chunk.
pub fn chunk_hashes(backend: Backend, chunks: &Shards) -> Vec<Hash> {
    let rows: Vec<&[u8]> = chunks.iter().collect();
    blake2b_many(backend, &rows)
}

/// `s♣`: for each validator, `M_B` over its segment shards (`rows` shard `i` cut into
/// `piece`-octet items).
pub fn segment_shard_roots(backend: Backend, rows: &Shards, piece: usize) -> Vec<Hash> {
    let items = rows.shard_len().checked_div(piece).unwrap_or(0);
    match backend.resolve() {
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
                    tracing::warn!("segment-shard roots on gpu failed, using simd instead: {e}");
                    segment_shard_roots(Backend::Simd, rows, piece)
                }
            }
        }
        _ => {
            let rows: Vec<&[u8]> = rows.iter().collect();
            rows.par_chunks(VALIDATORS_PER_BATCH)
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

/// The value of `N` (GP (E.1)) at one subtree, for every validator of a group at once.
enum Value {
    /// A one-item subtree: item `j` of each validator's list, unhashed.
    Item(usize),
    /// One hash per validator.
    Hashes(Vec<Hash>),
}

/// `N` over a group of validators' lists, which all have the same length and so the
/// same tree shape: each inner node is one `many` batch across the group.
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
                // One flat buffer of `$node ⌢ l ⌢ r` per validator, hashed as a batch.
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

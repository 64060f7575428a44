//! The availability pipeline: `simd` equals the `cpu` reference bit for bit (roots,
//! chunks, segment shards, proof pages), and the proof pages justify every segment
//! against the segments root. No official vector covers this pipeline.

use tessera_core::codec::{Decode, Reader};
use tessera_core::hash::{blake2b_256, Hash};
use tessera_core::merkle::constant_depth;
use tessera_core::spec::ChainSpec;
use tessera_da::availability::{
    paged_proofs, paged_proofs_simd, reference, roots_many, AvailabilityEngine, PAGE_LOG,
};
use tessera_kernels::{gpu, Backend, ErasureError};
use tessera_test_support::SplitMix;

fn package(
    spec: &ChainSpec,
    rng: &mut SplitMix,
    bundle_len: usize,
    count: usize,
) -> (Vec<u8>, Vec<Vec<u8>>) {
    let bundle = rng.bytes(bundle_len);
    let segments = (0..count)
        .map(|_| rng.bytes(spec.segment_size as usize))
        .collect();
    (bundle, segments)
}

/// The reference's leaves `b♣_i ⌢ s♣_i`, from its own hashes.
fn leaves_of(r: &tessera_da::availability::Reference) -> Vec<[u8; 64]> {
    r.bundle_hashes
        .iter()
        .zip(&r.segment_roots)
        .map(|(b, s)| tessera_da::justification::erasure_leaf(b, s))
        .collect()
}

fn check(spec: &ChainSpec, bundle: &[u8], segments: &[Vec<u8>]) {
    let cpu = reference(spec, bundle, segments).unwrap();
    let mut simd = AvailabilityEngine::new(spec, Backend::Simd);
    let roots = simd.roots(bundle, segments).unwrap();
    assert_eq!(roots, cpu.roots, "{} segments", segments.len());
    assert!(*simd.chunks() == cpu.chunks);
    assert!(*simd.segment_shards() == cpu.segment_shards);
    assert!(simd.leaves() == leaves_of(&cpu));
    assert_eq!(cpu.chunks.count(), spec.validators());
    // The cpu engine value gives the reference's result too.
    let mut engine = AvailabilityEngine::new(spec, Backend::Cpu);
    assert_eq!(engine.roots(bundle, segments).unwrap(), cpu.roots);
    assert_eq!(
        cpu.roots.segments_root,
        constant_depth::root(segments, blake2b_256)
    );
}

#[test]
fn simd_equals_cpu_at_tiny() {
    let spec = ChainSpec::tiny();
    let mut rng = SplitMix(1);
    for (bundle_len, count) in [
        (0, 0),
        (1, 0),
        (5, 1),
        (1000, 63),
        (4104, 64),
        (777, 65),
        (3, 130),
    ] {
        let (bundle, segments) = package(&spec, &mut rng, bundle_len, count);
        check(&spec, &bundle, &segments);
    }
}

#[test]
fn simd_equals_cpu_at_tiny_with_3072_segments() {
    let spec = ChainSpec::tiny();
    let mut rng = SplitMix(2);
    let (bundle, segments) = package(&spec, &mut rng, 100_000, 3072);
    check(&spec, &bundle, &segments);
}

#[test]
fn simd_equals_cpu_at_full() {
    let spec = ChainSpec::full();
    let mut rng = SplitMix(3);
    for (bundle_len, count) in [(0, 0), (684, 1), (20_000, 3), (5000, 70)] {
        let (bundle, segments) = package(&spec, &mut rng, bundle_len, count);
        check(&spec, &bundle, &segments);
    }
}

#[test]
fn proof_pages_justify_every_segment() {
    let spec = ChainSpec::tiny();
    let mut rng = SplitMix(4);
    for count in [1usize, 2, 64, 65, 200] {
        let (_, segments) = package(&spec, &mut rng, 0, count);
        let pages = paged_proofs(&spec, &segments).unwrap();
        let (simd_pages, root) = paged_proofs_simd(&spec, &segments).unwrap();
        assert!(pages == simd_pages);
        assert_eq!(root, constant_depth::root(&segments, blake2b_256));
        assert_eq!(pages.len(), count.div_ceil(64));
        for (i, page) in pages.iter().enumerate() {
            assert_eq!(page.len(), spec.segment_size as usize);
            // E(↕J_6, ↕L_6), then zero padding.
            let mut reader = Reader::new(&spec, page);
            let justification = Vec::<Hash>::decode(&mut reader).unwrap();
            let leaves = Vec::<Hash>::decode(&mut reader).unwrap();
            assert!(
                reader.remaining() == 0
                    || page[page.len() - reader.remaining()..]
                        .iter()
                        .all(|&b| b == 0)
            );
            let first = i * 64;
            assert_eq!(leaves.len(), (count - first).min(64));
            for (j, leaf) in leaves.iter().enumerate() {
                assert_eq!(
                    *leaf,
                    constant_depth::leaf_hash(&segments[first + j], blake2b_256)
                );
            }
            let sub = constant_depth::page_root(&leaves, count, PAGE_LOG, blake2b_256);
            assert_eq!(
                constant_depth::root_from_justification(sub, i, &justification, blake2b_256)
                    .unwrap(),
                root
            );
        }
    }
}

#[test]
fn many_packages_equal_one_by_one_and_bad_segments_are_refused() {
    let spec = ChainSpec::tiny();
    let mut rng = SplitMix(5);
    let packages: Vec<(Vec<u8>, Vec<Vec<u8>>)> = (0..3)
        .map(|i| package(&spec, &mut rng, 1000 * i + 1, 3 * i))
        .collect();
    let many = roots_many(&spec, Backend::Simd, &packages).unwrap();
    for ((bundle, segments), roots) in packages.iter().zip(&many) {
        assert_eq!(reference(&spec, bundle, segments).unwrap().roots, *roots);
    }
    let bad = vec![vec![0u8; 4104], vec![0u8; 4103]];
    for backend in [Backend::Cpu, Backend::Simd] {
        assert_eq!(
            AvailabilityEngine::new(&spec, backend).roots(&[1, 2, 3], &bad),
            Err(ErasureError::WrongSegmentLength {
                index: 1,
                expected: 4104,
                got: 4103
            })
        );
    }
}

/// The `gpu` pipeline (coding and digests fused per call) equals the reference; CI
/// runs it on lavapipe.
#[test]
fn gpu_availability_pipeline_equals_cpu() {
    let present = tessera_test_support::present_or_skip(
        "gpu_availability_pipeline_equals_cpu",
        "TESSERA_REQUIRE_GPU",
        gpu::context(),
    );
    if present.is_none() {
        return;
    }
    let mut rng = SplitMix(11);
    let cases = [
        (ChainSpec::tiny(), 0usize, 0usize),
        (ChainSpec::tiny(), 1000, 3),
        (ChainSpec::tiny(), 4104, 65),
        (ChainSpec::full(), 1, 1),
        (ChainSpec::full(), 20_000, 70),
    ];
    for (spec, bundle_len, count) in cases {
        let bundle = rng.bytes(bundle_len);
        let segments: Vec<Vec<u8>> = (0..count)
            .map(|_| rng.bytes(spec.segment_size as usize))
            .collect();
        let cpu = reference(&spec, &bundle, &segments).unwrap();
        let mut engine = AvailabilityEngine::new(&spec, Backend::Gpu);
        assert_eq!(engine.roots(&bundle, &segments).unwrap(), cpu.roots);
        assert!(*engine.chunks() == cpu.chunks);
        assert!(*engine.segment_shards() == cpu.segment_shards);
        assert!(engine.leaves() == leaves_of(&cpu));
    }
}

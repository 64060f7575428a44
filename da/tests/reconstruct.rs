//! Reconstruction from shards a guarantor's `Distributable` made: many bundles in
//! one call from random `R`-subsets (tiny and full), an inconsistent shard set
//! refused, too few shards failing only their own job, segments checked against the
//! segments root with their import proofs.

use tessera_core::spec::ChainSpec;
use tessera_da::availability::AvailabilityEngine;
use tessera_da::package::{exported_segments, Distributable};
use tessera_da::reconstruct::{bundles, segment, BundleShards, ReconstructError};
use tessera_kernels::Backend;
use tessera_test_support::SplitMix;

struct Coded {
    bundle: Vec<u8>,
    segments: Vec<Vec<u8>>,
    package: Distributable,
}

fn coded(spec: &ChainSpec, bundle_len: usize, exports: usize, seed: u64) -> Coded {
    let mut rng = SplitMix(seed);
    let bundle = rng.bytes(bundle_len);
    let segments = rng.blobs(exports, spec.segment_size as usize);
    let mut engine = AvailabilityEngine::new(spec, Backend::Simd);
    let package = Distributable::new(spec, &mut engine, &bundle, &segments).unwrap();
    Coded {
        bundle,
        segments,
        package,
    }
}

fn bundle_shards(c: &Coded, indices: &[usize]) -> Vec<(usize, Vec<u8>)> {
    indices
        .iter()
        .map(|&i| (i, c.package.shard_set(i).unwrap().bundle_shard))
        .collect()
}

fn borrowed(shards: &[(usize, Vec<u8>)]) -> Vec<(usize, &[u8])> {
    shards.iter().map(|(i, s)| (*i, s.as_slice())).collect()
}

#[test]
fn many_bundles_rebuild_in_one_call() {
    for spec in [ChainSpec::tiny(), ChainSpec::full()] {
        let r = spec.erasure_originals();
        let mut rng = SplitMix(3);
        let packages: Vec<Coded> = (0..4)
            .map(|n| coded(&spec, 1_000 + 3_000 * n, 0, n as u64))
            .collect();
        let picked: Vec<Vec<(usize, Vec<u8>)>> = packages
            .iter()
            .map(|c| bundle_shards(c, &rng.subset(spec.validators(), r)))
            .collect();
        let views: Vec<Vec<(usize, &[u8])>> = picked.iter().map(|p| borrowed(p)).collect();
        let jobs: Vec<BundleShards<'_>> = views
            .iter()
            .zip(&packages)
            .map(|(v, c)| job(v, c.bundle.len()))
            .collect();
        for backend in [Backend::Cpu, Backend::Simd] {
            let out = bundles(&spec, backend, &jobs);
            for (got, c) in out.into_iter().zip(&packages) {
                assert_eq!(got.unwrap(), c.bundle, "{:?} {backend:?}", spec.name);
            }
        }
    }
}

fn job<'a>(shards: &'a [(usize, &'a [u8])], bundle_len: usize) -> BundleShards<'a> {
    BundleShards { shards, bundle_len }
}

#[test]
fn an_inconsistent_shard_set_is_refused_and_too_few_fail_alone() {
    let spec = ChainSpec::tiny();
    let c = coded(&spec, 5_000, 0, 9);
    // Three shards of which one is not on the codeword (but would pass any check
    // of its own against a root made from it).
    let mut shards = bundle_shards(&c, &[0, 3, 5]);
    shards[2].1[0] ^= 1;
    let too_few = bundle_shards(&c, &[4]);
    let good = bundle_shards(&c, &[2, 5]);
    let (s, f, g) = (borrowed(&shards), borrowed(&too_few), borrowed(&good));
    let len = c.bundle.len();
    let out = bundles(
        &spec,
        Backend::Simd,
        &[job(&s, len), job(&f, len), job(&g, len)],
    );
    assert!(
        matches!(out[0], Err(ReconstructError::Inconsistent { .. })),
        "{:?}",
        out[0]
    );
    assert!(
        matches!(out[1], Err(ReconstructError::Erasure(_))),
        "{:?}",
        out[1]
    );
    assert_eq!(out[2].as_ref().unwrap(), &c.bundle);
}

#[test]
fn segments_rebuild_and_prove_to_the_segments_root() {
    let spec = ChainSpec::tiny();
    let c = coded(&spec, 100, 5, 11);
    let stored = exported_segments(&c.segments);
    for k in 0..5 {
        let shards: Vec<(usize, Vec<u8>)> = [1usize, 4]
            .iter()
            .map(|&i| (i, c.package.shard_set(i).unwrap().segment_shards[k].clone()))
            .collect();
        let view = borrowed(&shards);
        let root = &c.package.segments_root;
        let got = segment(&spec, Backend::Simd, &view, root, k, &stored[k].proof).unwrap();
        assert_eq!(got, c.segments[k]);
        // Another segment's proof, or another index, does not prove.
        let other = &stored[(k + 1) % 5].proof;
        assert!(matches!(
            segment(&spec, Backend::Simd, &view, root, (k + 1) % 5, other),
            Err(ReconstructError::SegmentRoot { .. })
        ));
    }
}

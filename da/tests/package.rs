//! A guarantor's package coded for distribution: on every CPU backend the same
//! roots as the kernels' reference, every validator's shard set proves to the
//! erasure root, and every exported segment's import proof to the segments root.

use tessera_core::hash::blake2b_256;
use tessera_core::merkle::constant_depth::{leaf_hash, root_from_justification};
use tessera_core::spec::ChainSpec;
use tessera_da::availability::{reference, AvailabilityEngine};
use tessera_da::justification::verify_bundle_shard;
use tessera_da::package::{exported_segments, Distributable, PackageError};
use tessera_kernels::Backend;
use tessera_test_support::SplitMix;

fn inputs(
    spec: &ChainSpec,
    bundle_len: usize,
    exports: usize,
    seed: u64,
) -> (Vec<u8>, Vec<Vec<u8>>) {
    let mut rng = SplitMix(seed);
    let bundle = rng.bytes(bundle_len);
    let segments = rng.blobs(exports, spec.segment_size as usize);
    (bundle, segments)
}

#[test]
fn every_shard_set_proves_to_the_reference_root() {
    let spec = ChainSpec::tiny();
    let (bundle, segments) = inputs(&spec, 20_000, 70, 1);
    let want = reference(&spec, &bundle, &segments).unwrap().roots;
    for backend in [Backend::Cpu, Backend::Simd] {
        let mut engine = AvailabilityEngine::new(&spec, backend);
        let d = Distributable::new(&spec, &mut engine, &bundle, &segments).unwrap();
        assert_eq!(d.erasure_root, want.erasure_root, "{backend:?}");
        assert_eq!(d.segments_root, want.segments_root, "{backend:?}");
        assert_eq!(d.shard_count(), spec.validators());
        for i in 0..spec.validators() {
            let set = d.shard_set(i).unwrap();
            // 70 exports and their 2 proof pages.
            assert_eq!(set.segment_shards.len(), 72);
            verify_bundle_shard(
                &spec,
                &d.erasure_root,
                i,
                &set.bundle_shard,
                &set.segment_shards,
                &set.justification,
            )
            .unwrap_or_else(|e| panic!("{backend:?}, shard {i}: {e}"));
            assert_eq!(d.bundle_shard_hash(i), Some(blake2b_256(&set.bundle_shard)));
        }
        assert!(matches!(
            d.shard_set(spec.validators()),
            Err(PackageError::IndexOutOfRange { .. })
        ));
    }
}

#[test]
fn every_import_proof_proves_to_the_segments_root() {
    let spec = ChainSpec::tiny();
    for exports in [1, 2, 5, 64, 65] {
        let (bundle, segments) = inputs(&spec, 100, exports, exports as u64);
        let mut engine = AvailabilityEngine::new(&spec, Backend::Simd);
        let d = Distributable::new(&spec, &mut engine, &bundle, &segments).unwrap();
        let stored = exported_segments(&segments);
        assert_eq!(stored.len(), exports);
        for (i, s) in stored.iter().enumerate() {
            assert_eq!(s.segment, segments[i]);
            let leaf = leaf_hash(&s.segment, blake2b_256);
            let root = root_from_justification(leaf, i, &s.proof, blake2b_256).unwrap();
            assert_eq!(root, d.segments_root, "{exports} exports, segment {i}");
        }
    }
}

#[test]
fn a_segment_of_the_wrong_size_is_a_typed_error() {
    let spec = ChainSpec::tiny();
    let (bundle, mut segments) = inputs(&spec, 100, 2, 9);
    segments[1].pop();
    let mut engine = AvailabilityEngine::new(&spec, Backend::Simd);
    assert!(matches!(
        Distributable::new(&spec, &mut engine, &bundle, &segments),
        Err(PackageError::Erasure(_))
    ));
}

//! Every backend equals the `cpu` reference bit for bit, reconstruction works from any
//! `k` shards, and bad input gets typed errors. (The official vectors are checked in
//! `conformance/tests/erasure.rs`.)

use proptest::prelude::*;
use tessera_core::spec::ChainSpec;
use tessera_kernels::segment::segment_shard_bytes;
use tessera_kernels::{
    blake2b_many, encode, encode_many, encode_segments, reconstruct, Backend, ErasureError,
};
use tessera_test_support::SplitMix;

/// splitmix64: deterministic test data without a dependency.
fn pick<'a>(shards: &'a [Vec<u8>], indices: &[usize]) -> Vec<(usize, &'a [u8])> {
    indices.iter().map(|&i| (i, shards[i].as_slice())).collect()
}

/// Encode on every backend, require equality with `cpu`, and reconstruct from a
/// recovery-only and a random subset on every backend.
fn check_blob(spec: &ChainSpec, blob: &[u8], rng: &mut SplitMix) {
    let k = spec.erasure_originals();
    let v = spec.validators();
    let reference = encode(spec, Backend::Cpu, blob).unwrap();
    assert_eq!(reference.len(), v);
    let shard_bytes = blob.len().div_ceil(2 * k) * 2;
    assert!(reference.iter().all(|s| s.len() == shard_bytes));
    for backend in [Backend::Simd, Backend::Auto] {
        assert!(
            encode(spec, backend, blob).unwrap() == reference,
            "{backend} != cpu, {} octets",
            blob.len()
        );
    }
    let recovery_only: Vec<usize> = (v - k..v).collect();
    for backend in [Backend::Cpu, Backend::Simd] {
        for indices in [recovery_only.clone(), rng.subset(v, k)] {
            let got = reconstruct(spec, backend, &pick(&reference, &indices), blob.len()).unwrap();
            assert!(got == blob, "{backend}: reconstruct {} octets", blob.len());
        }
    }
}

#[test]
fn simd_equals_cpu_on_edge_sizes() {
    let mut rng = SplitMix(1);
    for spec in [ChainSpec::tiny(), ChainSpec::full()] {
        for len in [0usize, 1, 2, 3, 683, 684, 685, 1368, 4104, 10_000] {
            check_blob(&spec, &rng.bytes(len), &mut rng);
        }
        for _ in 0..4 {
            let len = (rng.next_u64() % 50_000) as usize;
            check_blob(&spec, &rng.bytes(len), &mut rng);
        }
    }
}

#[test]
fn simd_equals_cpu_on_a_maximum_bundle() {
    // W_B = 13,791,360 octets: 40,326-octet shards.
    let spec = ChainSpec::full();
    let mut rng = SplitMix(2);
    let blob = rng.bytes(spec.max_bundle_size as usize);
    check_blob(&spec, &blob, &mut rng);
}

#[test]
fn encode_many_equals_encode() {
    let spec = ChainSpec::full();
    let mut rng = SplitMix(3);
    let blobs: Vec<Vec<u8>> = (0..5).map(|i| rng.bytes(i * 1000 + 7)).collect();
    let refs: Vec<&[u8]> = blobs.iter().map(Vec::as_slice).collect();
    let many = encode_many(&spec, Backend::Simd, &refs).unwrap();
    for (blob, shards) in blobs.iter().zip(&many) {
        assert!(*shards == encode(&spec, Backend::Cpu, blob).unwrap());
    }
}

#[test]
fn segment_shards_equal_per_segment_encoding() {
    let mut rng = SplitMix(4);
    for spec in [ChainSpec::tiny(), ChainSpec::full()] {
        // 130 segments: two full groups of 64 and a partial one.
        let count = if spec.validators() > 6 { 130 } else { 70 };
        let segments: Vec<Vec<u8>> = (0..count)
            .map(|_| rng.bytes(spec.segment_size as usize))
            .collect();
        for backend in [Backend::Cpu, Backend::Simd] {
            let shards = encode_segments(&spec, backend, &segments).unwrap();
            assert_eq!(shards.len(), count);
            for (segment, got) in segments.iter().zip(&shards) {
                assert!(got.iter().all(|s| s.len() == segment_shard_bytes(&spec)));
                assert!(
                    *got == encode(&spec, Backend::Cpu, segment).unwrap(),
                    "{backend}"
                );
            }
        }
        let bad = vec![vec![0u8; spec.segment_size as usize], vec![0u8; 5]];
        assert_eq!(
            encode_segments(&spec, Backend::Simd, &bad).err(),
            Some(ErasureError::WrongSegmentLength {
                index: 1,
                expected: spec.segment_size as usize,
                got: 5
            })
        );
    }
    assert_eq!(segment_shard_bytes(&ChainSpec::full()), 12);
    assert_eq!(segment_shard_bytes(&ChainSpec::tiny()), 2052);
}

#[test]
fn bad_shards_get_typed_errors() {
    let spec = ChainSpec::full();
    let mut rng = SplitMix(5);
    let blob = rng.bytes(2000);
    let shards = encode(&spec, Backend::Simd, &blob).unwrap();
    let good: Vec<usize> = (100..442).collect();
    for backend in [Backend::Cpu, Backend::Simd] {
        let run = |given: &[(usize, &[u8])]| reconstruct(&spec, backend, given, blob.len());

        let mut given = pick(&shards, &good);
        given[3].1 = &given[3].1[1..];
        assert_eq!(
            run(&given),
            Err(ErasureError::WrongShardLength {
                index: 103,
                expected: 6,
                got: 5
            })
        );

        let mut given = pick(&shards, &good);
        given[5].0 = 100;
        assert_eq!(
            run(&given),
            Err(ErasureError::DuplicateIndex { index: 100 })
        );

        let mut given = pick(&shards, &good);
        given[0].0 = 1023;
        assert_eq!(
            run(&given),
            Err(ErasureError::IndexOutOfRange {
                index: 1023,
                total: 1023
            })
        );

        let given = pick(&shards, &good[..341]);
        assert_eq!(
            run(&given),
            Err(ErasureError::TooFewShards {
                got: 341,
                needed: 342
            })
        );

        assert_eq!(
            run(&[]),
            Err(ErasureError::TooFewShards {
                got: 0,
                needed: 342
            })
        );
        assert!(matches!(
            reconstruct(&spec, backend, &pick(&shards, &good), usize::MAX),
            Err(ErasureError::LengthTooLarge(_) | ErasureError::WrongShardLength { .. })
        ));
    }
}

#[test]
fn blake2b_many_equals_cpu() {
    let mut rng = SplitMix(6);
    let inputs: Vec<Vec<u8>> = (0..300).map(|i| rng.bytes((i * 37) % 1500)).collect();
    let cpu = blake2b_many(Backend::Cpu, &inputs);
    assert_eq!(cpu.len(), inputs.len());
    assert_eq!(blake2b_many(Backend::Simd, &inputs), cpu);
    assert_eq!(blake2b_many(Backend::Auto, &inputs), cpu);
    assert_eq!(cpu[0], tessera_core::hash::blake2b_256(&inputs[0]));
}

/// The AVX-512 eight-lane Blake2b (where the CPU has it) equals the reference on every
/// single-block length `0..=128`, in whole groups of eight and in a ragged tail; a
/// batch with one longer input goes to blake2b_simd whole and agrees too.
#[test]
fn blake2b_short_inputs_equal_cpu_on_every_length() {
    use tessera_kernels::simd::blake2b_x8;
    if !blake2b_x8::available() {
        eprintln!("no AVX-512F here: the eight-lane kernel is not exercised, blake2b_simd is");
    }
    let mut rng = SplitMix(16);
    let inputs: Vec<Vec<u8>> = (0..=128usize)
        .flat_map(|len| (0..3).map(|_| rng.bytes(len)).collect::<Vec<_>>())
        .collect();
    let cpu = blake2b_many(Backend::Cpu, &inputs);
    assert_eq!(blake2b_many(Backend::Simd, &inputs), cpu);
    for (x, h) in inputs.iter().zip(&cpu).step_by(7) {
        let eight = [x.as_slice(); 8];
        if let Some(digests) = blake2b_x8::hash8(eight) {
            assert!(digests.iter().all(|d| d == &h.0), "{} octets", x.len());
        }
    }
    let mut mixed = inputs[..20].to_vec();
    mixed.push(rng.bytes(129));
    assert_eq!(
        blake2b_many(Backend::Simd, &mixed),
        blake2b_many(Backend::Cpu, &mixed)
    );
    // Equal lengths over several blocks (bundle chunks), in groups of eight and a tail,
    // and a group that mixes one long length with short inputs.
    for len in [129usize, 200, 256, 257, 1000, 40_326] {
        let same: Vec<Vec<u8>> = (0..19).map(|_| rng.bytes(len)).collect();
        assert_eq!(
            blake2b_many(Backend::Simd, &same),
            blake2b_many(Backend::Cpu, &same),
            "{len} octets"
        );
        let mut ragged = same[..5].to_vec();
        ragged.extend((0..5).map(|i| rng.bytes(i * 30)));
        assert_eq!(
            blake2b_many(Backend::Simd, &ragged),
            blake2b_many(Backend::Cpu, &ragged),
            "{len} octets among short ones"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn random_blobs_agree_and_reconstruct(
        blob in proptest::collection::vec(any::<u8>(), 0..3000),
        seed in any::<u64>(),
        full in any::<bool>(),
    ) {
        let spec = if full { ChainSpec::full() } else { ChainSpec::tiny() };
        let mut rng = SplitMix(seed);
        let k = spec.erasure_originals();
        let cpu = encode(&spec, Backend::Cpu, &blob).unwrap();
        prop_assert!(encode(&spec, Backend::Simd, &blob).unwrap() == cpu);
        let indices = rng.subset(spec.validators(), k);
        for backend in [Backend::Cpu, Backend::Simd] {
            prop_assert!(reconstruct(&spec, backend, &pick(&cpu, &indices), blob.len()).unwrap() == blob);
        }
    }
}

//! Coding with digests (`ErasureCoder::encode_hashed`, `encode_segments_rooted`):
//! on every backend the shards equal the `cpu` code's and the digests equal core's
//! `H` and `M_B` computed from those shards.

use tessera_core::hash::blake2b_256;
use tessera_core::merkle::balanced;
use tessera_core::spec::ChainSpec;
use tessera_kernels::segment::segment_shard_bytes;
use tessera_kernels::{encode, encode_segments, gpu, Backend, ErasureCoder, Shards};
use tessera_test_support::SplitMix;

fn backends() -> Vec<Backend> {
    let mut all = vec![Backend::Cpu, Backend::Simd];
    let gpu = tessera_test_support::present_or_skip(
        "coding_with_digests_equals_core",
        "TESSERA_REQUIRE_GPU",
        gpu::context(),
    );
    if gpu.is_some() {
        all.push(Backend::Gpu);
    }
    all
}

#[test]
fn coding_with_digests_equals_core() {
    let mut rng = SplitMix(21);
    for backend in backends() {
        for spec in [ChainSpec::tiny(), ChainSpec::full()] {
            let mut coder = ErasureCoder::new(&spec, backend);
            let mut out = Shards::new();
            for len in [0usize, 1, 684, 30_001] {
                let blob = rng.bytes(len);
                let hashes = coder.encode_hashed(&blob, &mut out).unwrap();
                let want = encode(&spec, Backend::Cpu, &blob).unwrap();
                assert!(out.to_vecs() == want, "{backend:?} shards, {len} octets");
                let want_hashes: Vec<_> = want.iter().map(|s| blake2b_256(s)).collect();
                assert!(hashes == want_hashes, "{backend:?} hashes, {len} octets");
            }
            let piece = segment_shard_bytes(&spec);
            for count in [1usize, 3, 70] {
                let segments: Vec<Vec<u8>> = (0..count)
                    .map(|_| rng.bytes(spec.segment_size as usize))
                    .collect();
                let roots = coder
                    .encode_segments_rooted(&spec, &segments, &mut out)
                    .unwrap();
                // Row i: shard i of every segment, in order (the cpu code's).
                let per_segment = encode_segments(&spec, Backend::Cpu, &segments).unwrap();
                let want: Vec<Vec<u8>> = (0..spec.validators())
                    .map(|i| per_segment.iter().flat_map(|s| s[i].clone()).collect())
                    .collect();
                assert!(out.to_vecs() == want, "{backend:?} segment rows, {count}");
                let want_roots: Vec<_> = want
                    .iter()
                    .map(|row| {
                        let items: Vec<&[u8]> = row.chunks(piece).collect();
                        balanced::root(&items, blake2b_256)
                    })
                    .collect();
                assert!(roots == want_roots, "{backend:?} row roots, {count}");
            }
        }
    }
}

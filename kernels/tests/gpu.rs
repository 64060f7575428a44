//! The `gpu` backend equals the `cpu` reference bit for bit (erasure coding of blobs,
//! batches and segments, the availability pipeline) and blake2b_simd (hashing). The
//! official erasure vectors run on `gpu` in `conformance/tests/erasure.rs`.
//!
//! Without a GPU adapter these tests say so loudly and pass, unless
//! `TESSERA_REQUIRE_GPU=1` (CI sets it; there lavapipe, Mesa's software Vulkan, is the
//! adapter).

mod support;

use support::gpu_or_skip;
use tessera_core::spec::ChainSpec;
use tessera_kernels::erasure::ErasureCode;
use tessera_kernels::gpu::{self, GpuContext, GpuError};
use tessera_kernels::{
    encode, encode_many, encode_segments, reconstruct, try_blake2b_many, Backend, ErasureError,
};
use tessera_test_support::SplitMix;

fn check_blob(spec: &ChainSpec, blob: &[u8]) {
    let reference = encode(spec, Backend::Cpu, blob).unwrap();
    let got = encode(spec, Backend::Gpu, blob).unwrap();
    assert!(
        got == reference,
        "{}: gpu != cpu, {} octets",
        spec.name,
        blob.len()
    );
}

#[test]
fn gpu_equals_cpu_on_edge_sizes() {
    if gpu_or_skip("gpu_equals_cpu_on_edge_sizes").is_none() {
        return;
    }
    let mut rng = SplitMix(7);
    for spec in [ChainSpec::tiny(), ChainSpec::full()] {
        for len in [0usize, 1, 2, 3, 683, 684, 685, 1368, 4104, 10_001] {
            check_blob(&spec, &rng.bytes(len));
        }
    }
}

#[test]
fn gpu_equals_cpu_on_a_large_blob() {
    if gpu_or_skip("gpu_equals_cpu_on_a_large_blob").is_none() {
        return;
    }
    // A maximum bundle, W_B = 13,791,360 octets: 40,326-octet shards, an odd number of
    // columns (20,163). About 5 s on lavapipe.
    let spec = ChainSpec::full();
    check_blob(&spec, &SplitMix(8).bytes(spec.max_bundle_size as usize));
}

#[test]
fn gpu_batches_equal_cpu_across_submissions() {
    let Some(shared) = gpu_or_skip("gpu_batches_equal_cpu_across_submissions") else {
        return;
    };
    let mut rng = SplitMix(9);
    for spec in [ChainSpec::tiny(), ChainSpec::full()] {
        let blobs: Vec<Vec<u8>> = [0usize, 5, 684, 3000, 1, 9000, 685]
            .iter()
            .map(|&len| rng.bytes(len))
            .collect();
        let refs: Vec<&[u8]> = blobs.iter().map(Vec::as_slice).collect();
        let expected: Vec<Vec<Vec<u8>>> = refs
            .iter()
            .map(|b| encode(&spec, Backend::Cpu, b).unwrap())
            .collect();
        assert!(encode_many(&spec, Backend::Gpu, &refs).unwrap() == expected);
        // A binding of 4 KiB holds a handful of columns: blobs are cut across many
        // submissions, and submissions mix blobs.
        let small = GpuContext::new().unwrap().with_binding_limit(4096);
        let code = ErasureCode::for_spec(&spec);
        for (ctx, what) in [(shared, "shared"), (&small, "4 KiB bindings")] {
            let got = ctx.encode_blobs(code, &refs).unwrap();
            for (i, (shards, want)) in got.iter().zip(&expected).enumerate() {
                assert!(
                    shards.to_vecs() == *want,
                    "{}: {what}: blob {i} of {} octets",
                    spec.name,
                    refs[i].len()
                );
            }
        }
    }
}

#[test]
fn gpu_segments_and_reconstruct_equal_cpu() {
    if gpu_or_skip("gpu_segments_and_reconstruct_equal_cpu").is_none() {
        return;
    }
    let mut rng = SplitMix(10);
    for spec in [ChainSpec::tiny(), ChainSpec::full()] {
        let segments: Vec<Vec<u8>> = (0..5)
            .map(|_| rng.bytes(spec.segment_size as usize))
            .collect();
        assert!(
            encode_segments(&spec, Backend::Gpu, &segments).unwrap()
                == encode_segments(&spec, Backend::Cpu, &segments).unwrap(),
            "{}: segments",
            spec.name
        );
        let blob = rng.bytes(5000);
        let shards = encode(&spec, Backend::Cpu, &blob).unwrap();
        let k = spec.erasure_originals();
        let chosen: Vec<(usize, &[u8])> = rng
            .subset(spec.validators(), k)
            .into_iter()
            .map(|i| (i, shards[i].as_slice()))
            .collect();
        assert_eq!(
            reconstruct(&spec, Backend::Gpu, &chosen, blob.len()).unwrap(),
            blob
        );
    }
}

/// Reconstruction on `gpu` equals the `cpu` reference's output bit for bit — also on
/// shards that are not a codeword (random octets), where both decode the same
/// arithmetic — and returns the blob from random `k`-subsets, recovery shards only, all
/// shards, and all originals but one; `k − 1` shards and bad indices are typed errors.
#[test]
fn gpu_reconstruct_equals_cpu() {
    let Some(shared) = gpu_or_skip("gpu_reconstruct_equals_cpu") else {
        return;
    };
    let mut rng = SplitMix(11);
    // A binding of 16 KiB holds a few columns of the 2 · 2048 working rows: a blob is
    // cut into many column-range submissions.
    let small = GpuContext::new().unwrap().with_binding_limit(16 << 10);
    for spec in [ChainSpec::tiny(), ChainSpec::full()] {
        let (k, v) = (spec.erasure_originals(), spec.validators());
        let code = ErasureCode::for_spec(&spec);
        for len in [1usize, 683, 684, 685, 4104, 30_001] {
            let blob = rng.bytes(len);
            let shards = encode(&spec, Backend::Cpu, &blob).unwrap();
            let mut subsets = vec![
                rng.subset(v, k),
                rng.subset(v, k + (v - k) / 2),
                (v - k..v).collect::<Vec<_>>().into_iter().take(k).collect(),
                (0..v).collect(),
                (1..=k).collect(),
            ];
            subsets.retain(|s| s.len() >= k);
            for subset in subsets {
                let chosen: Vec<(usize, &[u8])> =
                    subset.iter().map(|&i| (i, shards[i].as_slice())).collect();
                let want = reconstruct(&spec, Backend::Cpu, &chosen, len).unwrap();
                assert_eq!(want, blob);
                let got = reconstruct(&spec, Backend::Gpu, &chosen, len).unwrap();
                assert!(got == blob, "{}: {len} octets from {subset:?}", spec.name);
                if len == 30_001 {
                    assert!(small.reconstruct(code, &chosen, len).unwrap() == blob);
                }
            }
            // Not a codeword: the same arithmetic gives the same octets.
            let noise: Vec<Vec<u8>> = (0..v).map(|_| rng.bytes(shards[0].len())).collect();
            let chosen: Vec<(usize, &[u8])> = rng
                .subset(v, k)
                .into_iter()
                .map(|i| (i, noise[i].as_slice()))
                .collect();
            assert!(
                reconstruct(&spec, Backend::Gpu, &chosen, len).unwrap()
                    == reconstruct(&spec, Backend::Cpu, &chosen, len).unwrap(),
                "{}: {len} octets of noise",
                spec.name
            );
            let too_few = &chosen[..k - 1];
            assert!(matches!(
                reconstruct(&spec, Backend::Gpu, too_few, len),
                Err(ErasureError::TooFewShards { .. })
            ));
            assert!(matches!(
                shared.reconstruct(code, &[(v, noise[0].as_slice())], len),
                Err(ErasureError::IndexOutOfRange { .. })
            ));
        }
    }
}

#[test]
fn gpu_every_radix_and_multiplication_equals_cpu() {
    if gpu_or_skip("gpu_every_radix_and_multiplication_equals_cpu").is_none() {
        return;
    }
    // 1 to 4 transform layers per dispatch, multiplying through the log/exp tables
    // and through per-factor product tables. The full spec's encode runs 9 + 9 layers
    // (at most 4 per dispatch: 3 + 3 + 3; at most 2: 2 + 2 + 2 + 2 + 1), its decode
    // 11 + 11 (4 + 4 + 3), tiny's encode 1 + 1 and decode 3 + 3.
    // The setting is process-wide; the other tests of this binary may run under any
    // of them meanwhile, which is harmless since every setting must give these octets.
    use gpu::reed_solomon::{set_multiply, set_radix_bits, Multiply, MAX_RADIX_BITS};
    let mut rng = SplitMix(21);
    let settings = [Multiply::Log, Multiply::Tables]
        .into_iter()
        .flat_map(|m| (1..=MAX_RADIX_BITS).map(move |bits| (m, bits)));
    for (multiply, bits) in settings {
        set_multiply(multiply);
        set_radix_bits(bits);
        for spec in [ChainSpec::tiny(), ChainSpec::full()] {
            let (k, v) = (spec.erasure_originals(), spec.validators());
            for len in [1usize, 684, 9_999] {
                let blob = rng.bytes(len);
                let shards = encode(&spec, Backend::Cpu, &blob).unwrap();
                assert!(
                    encode(&spec, Backend::Gpu, &blob).unwrap() == shards,
                    "{} encode at {bits} layers per dispatch, {multiply:?}, {len} octets",
                    spec.name
                );
                let chosen: Vec<(usize, &[u8])> = rng
                    .subset(v, k)
                    .into_iter()
                    .map(|i| (i, shards[i].as_slice()))
                    .collect();
                assert!(
                    reconstruct(&spec, Backend::Gpu, &chosen, len).unwrap() == blob,
                    "{} reconstruct at {bits} layers per dispatch, {multiply:?}, {len} octets",
                    spec.name
                );
            }
        }
    }
    set_multiply(Multiply::Log);
    set_radix_bits(MAX_RADIX_BITS);
}

/// A maximum bundle (W_B octets, more columns than one 128 MiB binding holds at 4096
/// rows) rebuilt from a random `k`-subset.
#[test]
fn gpu_reconstructs_a_large_blob() {
    if gpu_or_skip("gpu_reconstructs_a_large_blob").is_none() {
        return;
    }
    let spec = ChainSpec::full();
    let mut rng = SplitMix(12);
    let blob = rng.bytes(spec.max_bundle_size as usize);
    let shards = encode(&spec, Backend::Simd, &blob).unwrap();
    let chosen: Vec<(usize, &[u8])> = rng
        .subset(spec.validators(), spec.erasure_originals())
        .into_iter()
        .map(|i| (i, shards[i].as_slice()))
        .collect();
    assert!(reconstruct(&spec, Backend::Gpu, &chosen, blob.len()).unwrap() == blob);
}

/// `M_B` of many lists on the GPU equals core's `balanced::root` for list lengths that
/// give every tree shape (one item, powers of two and odd splits), for the full spec's
/// 12-octet and the tiny spec's 2052-octet items, and across submissions when one
/// binding holds only a few lists.
#[test]
fn gpu_balanced_roots_equal_core() {
    let Some(shared) = gpu_or_skip("gpu_balanced_roots_equal_core") else {
        return;
    };
    let small = GpuContext::new().unwrap().with_binding_limit(64 << 10);
    let mut rng = SplitMix(13);
    for (piece, lists, items) in [
        (12usize, 5usize, 0usize),
        (12, 7, 1),
        (12, 9, 2),
        (12, 70, 3),
        (12, 3, 64),
        (12, 33, 101),
        (12, 1023, 49),
        (2052, 6, 5),
    ] {
        let rows: Vec<Vec<u8>> = (0..lists).map(|_| rng.bytes(piece * items)).collect();
        let refs: Vec<&[u8]> = rows.iter().map(Vec::as_slice).collect();
        let want: Vec<_> = refs
            .iter()
            .map(|row| {
                let list: Vec<&[u8]> = row.chunks_exact(piece).collect();
                tessera_core::merkle::balanced::root(&list, tessera_core::hash::blake2b_256)
            })
            .collect();
        for (ctx, what) in [(shared, "shared"), (&small, "64 KiB bindings")] {
            assert_eq!(
                ctx.balanced_roots(&refs, piece).unwrap(),
                want,
                "{what}: {lists} lists of {items} items of {piece} octets"
            );
        }
    }
    assert!(shared.balanced_roots(&[&[0u8; 10][..]], 4).is_err());
}

/// The fused pipeline (encode, then digest the shards where they lie) gives the `cpu`
/// shards and the digests core computes from them — chunk hashes for blobs with an odd
/// and an even number of words per shard, `M_B` roots for segment-shard rows — and
/// declines (`None`, nothing written) a call larger than one binding.
#[test]
fn gpu_fused_encode_and_digest_equal_cpu() {
    let Some(ctx) = gpu_or_skip("gpu_fused_encode_and_digest_equal_cpu") else {
        return;
    };
    use tessera_core::hash::blake2b_256;
    use tessera_kernels::gpu::availability::Digest;
    let mut rng = SplitMix(15);
    for spec in [ChainSpec::tiny(), ChainSpec::full()] {
        let code = ErasureCode::for_spec(&spec);
        let k = spec.erasure_originals();
        for len in [1usize, 684, 2052, 30_001] {
            let blob = rng.bytes(len);
            let want = encode(&spec, Backend::Cpu, &blob).unwrap();
            let shard_bytes = want[0].len();
            let mut originals = vec![0xAA; k * shard_bytes];
            let mut recovery = vec![0xAA; (spec.validators() - k) * shard_bytes];
            let hashes = ctx
                .encode_digest(
                    code,
                    shard_bytes,
                    &blob,
                    Some(&mut originals),
                    &mut recovery,
                    Digest::ChunkHashes,
                )
                .unwrap()
                .expect("fits one submission");
            let got: Vec<Vec<u8>> = originals
                .chunks_exact(shard_bytes)
                .chain(recovery.chunks_exact(shard_bytes))
                .map(<[u8]>::to_vec)
                .collect();
            assert!(got == want, "{}: {len} octets", spec.name);
            let want_hashes: Vec<_> = want.iter().map(|s| blake2b_256(s)).collect();
            assert_eq!(hashes, want_hashes, "{}: {len} octets", spec.name);
        }
        // Segment-shard rows: M_B over 2·W_P-octet items of every shard.
        let piece = 2 * spec.segment_pieces as usize;
        for items in [1usize, 2, 5, 65] {
            let source = rng.bytes(k * piece * items);
            let shard_bytes = piece * items;
            let mut recovery = vec![0; (spec.validators() - k) * shard_bytes];
            let roots = ctx
                .encode_digest(
                    code,
                    shard_bytes,
                    &source,
                    None,
                    &mut recovery,
                    Digest::BalancedRoots { piece },
                )
                .unwrap()
                .expect("fits one submission");
            let want = encode(&spec, Backend::Cpu, &source).unwrap();
            assert!(recovery
                .chunks_exact(shard_bytes)
                .eq(want[k..].iter().map(Vec::as_slice)));
            for (shard, root) in want.iter().zip(&roots) {
                let list: Vec<&[u8]> = shard.chunks_exact(piece).collect();
                assert_eq!(
                    *root,
                    tessera_core::merkle::balanced::root(&list, blake2b_256),
                    "{}: {items} items",
                    spec.name
                );
            }
        }
    }
    // Too large for 4 KiB bindings: declined, nothing written.
    let small = GpuContext::new().unwrap().with_binding_limit(4096);
    let spec = ChainSpec::full();
    let code = ErasureCode::for_spec(&spec);
    let blob = rng.bytes(100_000);
    let shard_bytes = code.shard_bytes(blob.len()).unwrap();
    let mut recovery = vec![7; code.recovery * shard_bytes];
    assert!(small
        .encode_digest(
            code,
            shard_bytes,
            &blob,
            None,
            &mut recovery,
            Digest::ChunkHashes
        )
        .unwrap()
        .is_none());
    assert!(recovery.iter().all(|&b| b == 7));
}

#[test]
fn gpu_blake2b_equals_blake2b_simd() {
    if gpu_or_skip("gpu_blake2b_equals_blake2b_simd").is_none() {
        return;
    }
    let mut rng = SplitMix(12);
    let expect = |x: &[u8]| {
        let mut out = [0u8; 32];
        out.copy_from_slice(
            blake2b_simd::Params::new()
                .hash_length(32)
                .hash(x)
                .as_bytes(),
        );
        out
    };
    let mut all: Vec<Vec<u8>> = Vec::new();
    for len in [0usize, 1, 3, 12, 127, 128, 129, 255, 256, 257, 4104] {
        let inputs: Vec<Vec<u8>> = (0..5).map(|_| rng.bytes(len)).collect();
        let got = try_blake2b_many(Backend::Gpu, &inputs).unwrap();
        for (x, h) in inputs.iter().zip(&got) {
            assert_eq!(h.0, expect(x), "{len} octets");
        }
        all.extend(inputs);
    }
    // Mixed lengths in one call, in order.
    rng.pick(&(0..all.len()).collect::<Vec<_>>(), all.len())
        .into_iter()
        .for_each(|i| all.swap(0, i));
    let got = try_blake2b_many(Backend::Gpu, &all).unwrap();
    for (x, h) in all.iter().zip(&got) {
        assert_eq!(h.0, expect(x), "mixed batch, {} octets", x.len());
    }
    assert!(try_blake2b_many(Backend::Gpu, &[] as &[&[u8]])
        .unwrap()
        .is_empty());
}

/// Both Blake2b variants — native u64 (SHADER_INT64) and u32 pairs — equal
/// blake2b_simd on one adapter. CI's lavapipe has SHADER_INT64; an adapter without it
/// tests the u32-pair variant only, and says so.
#[test]
fn gpu_blake2b_variants_both_equal_blake2b_simd() {
    if gpu_or_skip("gpu_blake2b_variants_both_equal_blake2b_simd").is_none() {
        return;
    }
    let with = GpuContext::new().unwrap();
    if !with.uses_int64() {
        eprintln!(
            "adapter `{}` has no SHADER_INT64: u32-pair variant only",
            with.adapter_name()
        );
    }
    let without = GpuContext::new().unwrap().without_int64();
    assert!(!without.uses_int64());
    let mut rng = SplitMix(14);
    let inputs: Vec<Vec<u8>> = [0usize, 1, 4, 7, 64, 127, 128, 129, 200, 256, 1000, 40_326]
        .iter()
        .flat_map(|&len| (0..3).map(|_| rng.bytes(len)).collect::<Vec<_>>())
        .collect();
    let want = try_blake2b_many(Backend::Simd, &inputs).unwrap();
    for ctx in [&with, &without] {
        assert_eq!(
            ctx.blake2b_many(&inputs).unwrap(),
            want,
            "int64: {}",
            ctx.uses_int64()
        );
    }
}

#[test]
fn explicit_gpu_without_an_adapter_is_a_typed_error() {
    let spec = ChainSpec::tiny();
    match gpu::context() {
        Ok(_) => assert!(encode(&spec, Backend::Gpu, b"x").is_ok()),
        Err(e) => {
            assert!(matches!(e, GpuError::NoAdapter(_)), "{e}");
            assert!(matches!(
                encode(&spec, Backend::Gpu, b"x"),
                Err(ErasureError::Gpu(GpuError::NoAdapter(_)))
            ));
            assert!(matches!(
                try_blake2b_many(Backend::Gpu, &[b"x"]),
                Err(GpuError::NoAdapter(_))
            ));
            // Auto falls back to simd.
            assert_eq!(Backend::Auto.resolve(), Backend::Simd);
            assert!(encode(&spec, Backend::Auto, b"x").is_ok());
        }
    }
}

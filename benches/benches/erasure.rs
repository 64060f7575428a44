//! Erasure coding and erasure roots at full spec (342:681): `cpu`, `simd` (one thread
//! and the whole pool) and raw reed-solomon-simd on the same shard shape as the
//! baseline. Throughput is in octets of input (the bundle; bundle + segments for
//! erasure roots).

// `criterion_group!` defines an undocumented `pub fn benches`.
#![allow(missing_docs)]

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use tessera_benches::da::{filler, reconstruct_indices, RawReedSolomon};
use tessera_core::spec::ChainSpec;
use tessera_da::availability::AvailabilityEngine;
use tessera_kernels::{Backend, ErasureCode, ErasureCoder, Shards};

fn bundle_erasure(c: &mut Criterion) {
    let spec = ChainSpec::full();
    let code = ErasureCode::for_spec(&spec);
    let bundle = filler(spec.max_bundle_size as usize, 1);
    let shard_bytes = code.shard_bytes(bundle.len()).unwrap_or(0);
    let chunks = ErasureCoder::new(&spec, Backend::Simd)
        .encode(&bundle)
        .expect("encode");
    let chosen: Vec<(usize, &[u8])> = reconstruct_indices(code)
        .into_iter()
        .map(|i| (i, chunks.shard(i)))
        .collect();
    // The raw baseline takes the zero-padded bundle (40,326-octet shards) directly.
    let mut padded = bundle.clone();
    padded.resize(code.originals * shard_bytes, 0);
    let mut recovery = vec![0u8; code.recovery * shard_bytes];
    let mut raw = RawReedSolomon::default();
    let coders = [
        ("cpu", ErasureCoder::new(&spec, Backend::Cpu)),
        (
            "simd-1-thread",
            ErasureCoder::with_threads(&spec, Backend::Simd, 1),
        ),
        ("simd", ErasureCoder::new(&spec, Backend::Simd)),
    ];

    let mut group = c.benchmark_group("bundle_encode");
    group
        .sample_size(10)
        .throughput(Throughput::Bytes(bundle.len() as u64));
    let mut out = Shards::new();
    for (name, mut coder) in coders {
        group.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter(|| {
                coder
                    .encode_into(black_box(&bundle), &mut out)
                    .expect("encode")
            })
        });
    }
    group.bench_function(BenchmarkId::from_parameter("reed-solomon-simd"), |b| {
        b.iter(|| {
            raw.encode(code, shard_bytes, black_box(&padded), &mut recovery)
                .expect("encode")
        })
    });
    group.finish();

    let mut group = c.benchmark_group("bundle_reconstruct");
    group
        .sample_size(10)
        .throughput(Throughput::Bytes(bundle.len() as u64));
    let mut restored = Vec::new();
    for (name, threads, backend) in [
        ("cpu", 0, Backend::Cpu),
        ("simd-1-thread", 1, Backend::Simd),
        ("simd", 0, Backend::Simd),
    ] {
        let mut coder = ErasureCoder::with_threads(&spec, backend, threads);
        group.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter(|| {
                coder
                    .reconstruct_into(black_box(&chosen), bundle.len(), &mut restored)
                    .expect("decode")
            })
        });
    }
    group.bench_function(BenchmarkId::from_parameter("reed-solomon-simd"), |b| {
        b.iter(|| {
            raw.reconstruct(code, shard_bytes, black_box(&chosen))
                .expect("decode")
        })
    });
    group.finish();
}

fn erasure_root(c: &mut Criterion) {
    let spec = ChainSpec::full();
    let mut group = c.benchmark_group("erasure_root");
    group.sample_size(10);
    // A small package on both backends, and a maximum one (W_B + 3072 segments) on simd.
    for (segments, backends) in [
        (64usize, &[Backend::Cpu, Backend::Simd][..]),
        (spec.max_exports as usize, &[Backend::Simd][..]),
    ] {
        let bundle_len = if segments == 64 {
            100_000
        } else {
            spec.max_bundle_size as usize
        };
        let bundle = filler(bundle_len, 1);
        let exported: Vec<Vec<u8>> = (0..segments as u64)
            .map(|i| filler(spec.segment_size as usize, 2 + i))
            .collect();
        group.throughput(Throughput::Bytes(
            (bundle.len() + segments * spec.segment_size as usize) as u64,
        ));
        for &backend in backends {
            let mut engine = AvailabilityEngine::new(&spec, backend);
            group.bench_function(BenchmarkId::new(backend.name(), segments), |b| {
                b.iter(|| engine.roots(black_box(&bundle), &exported).expect("roots"))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bundle_erasure, erasure_root);
criterion_main!(benches);

//! Erasure coding of one maximum-size bundle (W_B = 13,791,360 octets, full spec,
//! 342:681): encode and reconstruct on `cpu`, `simd`, and raw reed-solomon-simd on the
//! same shard shape as the baseline. Throughput is in octets of the bundle.

// `criterion_group!` defines an undocumented `pub fn benches`.
#![allow(missing_docs)]

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use tessera_core::spec::ChainSpec;
use tessera_kernels::bench::{filler, reconstruct_indices, RawReedSolomon};
use tessera_kernels::simd::SimdEngine;
use tessera_kernels::{encode, reconstruct, Backend, ErasureCode, ErasureEngine};

fn bundle_erasure(c: &mut Criterion) {
    let spec = ChainSpec::full();
    let code = ErasureCode::for_spec(&spec);
    let bundle = filler(spec.max_bundle_size as usize, 1);
    let shard_bytes = code.shard_bytes(bundle.len()).unwrap_or(0);
    let chunks = encode(&spec, Backend::Simd, &bundle).expect("encode");
    let chosen: Vec<(usize, &[u8])> = reconstruct_indices(code)
        .into_iter()
        .map(|i| (i, chunks[i].as_slice()))
        .collect();
    // The raw baseline takes the zero-padded bundle (40,326-octet shards) directly.
    let mut padded = bundle.clone();
    padded.resize(code.originals * shard_bytes, 0);
    let mut recovery = vec![0u8; code.recovery * shard_bytes];
    let mut raw = RawReedSolomon::default();

    let mut group = c.benchmark_group("bundle_encode");
    group
        .sample_size(10)
        .throughput(Throughput::Bytes(bundle.len() as u64));
    for backend in [Backend::Cpu, Backend::Simd] {
        group.bench_function(BenchmarkId::from_parameter(backend), |b| {
            b.iter(|| encode(&spec, backend, black_box(&bundle)).expect("encode"))
        });
    }
    // The simd engine alone, with reused buffers: the layout conversion is its only
    // difference from the baseline.
    let mut engine = SimdEngine::default();
    group.bench_function(BenchmarkId::from_parameter("simd-engine"), |b| {
        b.iter(|| {
            engine
                .encode(code, shard_bytes, black_box(&padded), &mut recovery)
                .expect("encode")
        })
    });
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
    for backend in [Backend::Cpu, Backend::Simd] {
        group.bench_function(BenchmarkId::from_parameter(backend), |b| {
            b.iter(|| {
                reconstruct(&spec, backend, black_box(&chosen), bundle.len()).expect("decode")
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

criterion_group!(benches, bundle_erasure);
criterion_main!(benches);

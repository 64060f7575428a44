//! The `gpu` backend's profile (issue #20): a batch cut into many submissions keeps
//! up to three in flight — the profile counts each staging by how many submissions
//! were then in flight — with results still equal to the `cpu` reference, and where
//! the adapter has timestamp queries the GPU's own clock times the passes. In a test
//! binary of its own, because profiling is process-wide and changes how passes are
//! recorded (one per dispatch while timing).

mod support;

use support::gpu_or_skip;
use tessera_core::spec::ChainSpec;
use tessera_kernels::erasure::ErasureCode;
use tessera_kernels::gpu::{profile, GpuContext};
use tessera_kernels::{encode, Backend};
use tessera_test_support::SplitMix;

#[test]
fn batches_keep_three_submissions_in_flight_and_are_timed_on_the_gpu() {
    let Some(shared) = gpu_or_skip("batches_keep_three_submissions_in_flight") else {
        return;
    };
    profile::enable();
    let spec = ChainSpec::full();
    let code = ErasureCode::for_spec(&spec);
    let blobs: Vec<Vec<u8>> = (0..6).map(|i| SplitMix(30 + i).bytes(5_000)).collect();
    let refs: Vec<&[u8]> = blobs.iter().map(Vec::as_slice).collect();
    // 4 KiB bindings hold two columns of the 1024 working rows: each blob's shards
    // of 2 · ⌈5000 / 684⌉ = 16 octets (8 words) need four submissions, 24 in all.
    let small = GpuContext::new()
        .expect("the adapter opens twice")
        .with_binding_limit(4096);
    let _ = profile::take();
    let got = small.encode_blobs(code, &refs).expect("the batch encodes");
    let spans = profile::take();
    for (shards, blob) in got.iter().zip(&refs) {
        assert!(shards.to_vecs() == encode(&spec, Backend::Cpu, blob).unwrap());
    }
    let count = |name: &str| {
        spans
            .iter()
            .find(|s| s.span == name && !s.on_gpu)
            .map_or(0, |s| s.count)
    };
    let stagings = [
        count("pipeline: staged with 0 submissions in flight"),
        count("pipeline: staged with 1 submission in flight"),
        count("pipeline: staged with 2 submissions in flight"),
    ];
    // The first staging finds none in flight, the second one, every later one two
    // (a third in flight is read back only when its pair is needed again).
    assert_eq!(stagings, [1, 1, 22], "{spans:?}");
    if shared.timestamp_queries() {
        assert!(
            spans
                .iter()
                .any(|s| s.on_gpu && s.span.starts_with("transform: ") && s.seconds > 0.0),
            "no GPU-timed transform pass: {spans:?}"
        );
    }
}

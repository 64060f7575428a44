//! The `simd` backend on reed-solomon-simd's engine, as on a CPU without AVX-512/GFNI:
//! the GFNI kernels are switched off (`simd::configure`, process-wide) before the
//! first erasure call of this test binary (its own process), so both engines are
//! checked against `cpu` on every machine — the AVX-512/GFNI one in `backends.rs`
//! where the CPU has the features.

use tessera_core::spec::ChainSpec;
use tessera_kernels::simd::SimdConfig;
use tessera_kernels::{encode, reconstruct, simd, Backend};
use tessera_test_support::SplitMix;

#[test]
fn reed_solomon_simd_engine_equals_cpu() {
    // The only test in this binary, so no other test runs on the GFNI kernels meanwhile.
    simd::configure(SimdConfig {
        gfni: false,
        ..SimdConfig::default()
    });
    assert_eq!(simd::encoder_transforms(), "reed-solomon-simd");
    let mut rng = SplitMix(21);
    for spec in [ChainSpec::tiny(), ChainSpec::full()] {
        let (k, v) = (spec.erasure_originals(), spec.validators());
        for len in [1usize, 683, 684, 685, 4104, 100_001] {
            let blob = rng.bytes(len);
            let want = encode(&spec, Backend::Cpu, &blob).unwrap();
            assert!(
                encode(&spec, Backend::Simd, &blob).unwrap() == want,
                "{} octets",
                len
            );
            for subset in [rng.subset(v, k), (v - k..v).collect()] {
                let chosen: Vec<(usize, &[u8])> =
                    subset.iter().map(|&i| (i, want[i].as_slice())).collect();
                assert!(reconstruct(&spec, Backend::Simd, &chosen, len).unwrap() == blob);
            }
        }
    }
}

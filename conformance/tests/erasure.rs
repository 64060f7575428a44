//! `erasure/{tiny,full}`: GP Appendix H's chunking function and its inverse, on every
//! kernel backend. Each case is `ec-N.json` (`data` and its `V` shards) and `ec-N.bin`
//! (the same value in the JAM codec: the data blob length-prefixed, then the
//! length-prefixed sequence of length-prefixed shards); both are decoded and must agree.
//!
//! `gpu` runs when an adapter exists (lavapipe in CI); without one it is skipped with a
//! note, unless `TESSERA_REQUIRE_GPU=1`, which makes a missing adapter a failure.

use serde::Deserialize;
use tessera_conformance::{ensure_eq, fail, CaseCtx, CaseError, Outcome, Suite};
use tessera_core::bytes::Bytes;
use tessera_core::codec::{Decode, Reader};
use tessera_core::spec::ChainSpec;
use tessera_kernels::{encode, gpu, reconstruct, Backend, ErasureError};
use tessera_test_support::SplitMix;

/// The vectors' erasure case (`jam-types.asn`-style JSON).
#[derive(Deserialize)]
struct ErasureCase {
    data: Bytes,
    shards: Vec<Bytes>,
}

/// Every backend: `cpu`, `simd`, `auto`, and `gpu` when it can run (or is required).
fn backends() -> Vec<Backend> {
    let mut backends = vec![Backend::Cpu, Backend::Simd, Backend::Auto];
    let required = tessera_test_support::required("TESSERA_REQUIRE_GPU");
    match gpu::context() {
        Ok(_) => backends.push(Backend::Gpu),
        // Kept so that every case fails with the adapter error.
        Err(_) if required => backends.push(Backend::Gpu),
        Err(e) => eprintln!("SKIPPED the gpu backend: {e} (TESSERA_REQUIRE_GPU=1 fails instead)"),
    }
    backends
}

struct ErasureSuite {
    folder: &'static str,
    spec: ChainSpec,
}

impl ErasureSuite {
    fn check_reconstruct(
        &self,
        backend: Backend,
        case: &ErasureCase,
        indices: &[usize],
        what: &str,
    ) -> Result<(), CaseError> {
        let chosen: Vec<(usize, &[u8])> = indices
            .iter()
            .map(|&i| (i, case.shards[i].0.as_slice()))
            .collect();
        let got = reconstruct(&self.spec, backend, &chosen, case.data.0.len())?;
        ensure_eq!(
            got,
            case.data.0,
            "{backend}: reconstruct from {what} {indices:?}"
        );
        Ok(())
    }
}

impl Suite for ErasureSuite {
    fn folder(&self) -> &str {
        self.folder
    }

    fn is_case(&self, file: &str) -> bool {
        file.ends_with(".json")
    }

    fn run_case(&self, ctx: &CaseCtx<'_>, file: &str) -> Result<Outcome, CaseError> {
        let case: ErasureCase = ctx.read_json(file)?;
        let bin = ctx.read(file.replace(".json", ".bin"))?;
        let mut reader = Reader::new(&self.spec, &bin);
        let data = Bytes::decode(&mut reader)?;
        let shards = Vec::<Bytes>::decode(&mut reader)?;
        reader.finish()?;
        ensure_eq!(data, case.data, "{file}: .bin data differs from .json");
        ensure_eq!(shards, case.shards, "{file}: .bin shards differ from .json");

        let k = self.spec.erasure_originals();
        let v = self.spec.validators();
        if case.shards.len() != v {
            fail!("{file}: {} shards, expected V = {v}", case.shards.len());
        }
        let mut rng = SplitMix(case.data.0.len() as u64);
        let all: Vec<usize> = (0..v).collect();
        let recovery: Vec<usize> = (k..v).collect();
        for backend in backends() {
            let got = encode(&self.spec, backend, &case.data.0)?;
            let expected: Vec<&[u8]> = case.shards.iter().map(|s| s.0.as_slice()).collect();
            let got: Vec<&[u8]> = got.iter().map(Vec::as_slice).collect();
            ensure_eq!(got, expected, "{file}: {backend}: encode");

            self.check_reconstruct(backend, &case, &rng.pick(&recovery, k), "recovery only")?;
            for _ in 0..3 {
                self.check_reconstruct(backend, &case, &rng.pick(&all, k), "random subset")?;
            }
            // Exactly one original, the rest recovery.
            let mut mixed = rng.pick(&recovery, k - 1);
            mixed.push(rng.pick(&all[..k], 1)[0]);
            self.check_reconstruct(backend, &case, &mixed, "mixed subset")?;

            let too_few: Vec<(usize, &[u8])> = rng
                .pick(&all, k - 1)
                .into_iter()
                .map(|i| (i, case.shards[i].0.as_slice()))
                .collect();
            match reconstruct(&self.spec, backend, &too_few, case.data.0.len()) {
                Err(ErasureError::TooFewShards { got, needed }) if got == k - 1 && needed == k => {}
                other => fail!("{file}: {backend}: k − 1 shards gave {other:?}"),
            }
        }
        Ok(Outcome::Passed)
    }
}

#[test]
fn erasure_tiny() {
    tessera_conformance::run(&ErasureSuite {
        folder: "erasure/tiny",
        spec: ChainSpec::tiny(),
    });
}

#[test]
fn erasure_full() {
    tessera_conformance::run(&ErasureSuite {
        folder: "erasure/full",
        spec: ChainSpec::full(),
    });
}

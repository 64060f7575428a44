//! The heaviest STF cases of the full-spec vectors: a safrole epoch change (ring
//! root of 1023 keys), safrole ticket verification, disputes with a full
//! verdict of 683 judgements, and reports. Reads `$JAM_VECTORS` (default
//! `../shared/vectors` beside the workspace); skips a case whose file is absent.

#![allow(missing_docs)]

use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion};
use tessera_core::codec::{Decode, Reader};
use tessera_core::crypto::ring_cache;
use tessera_core::ChainSpec;
use tessera_state::stf::{disputes, reports, safrole};

fn vectors() -> PathBuf {
    std::env::var_os("JAM_VECTORS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/vectors"))
        })
}

/// The input and pre-state of a full-spec case (the first two fields of a vector).
fn load<I: Decode, S: Decode>(spec: &ChainSpec, path: &str) -> Option<(I, S)> {
    let bytes = std::fs::read(vectors().join(path)).ok()?;
    let mut r = Reader::new(spec, &bytes);
    let input = I::decode(&mut r).ok()?;
    let state = S::decode(&mut r).ok()?;
    Some((input, state))
}

fn bench(c: &mut Criterion) {
    let spec = ChainSpec::full();
    let mut group = c.benchmark_group("stf_full");
    group.sample_size(10);

    let cases = [
        (
            "safrole/epoch_change",
            "stf/safrole/full/publish-tickets-with-mark-5.bin",
        ),
        (
            "safrole/tickets",
            "stf/safrole/full/publish-tickets-with-mark-2.bin",
        ),
    ];
    for (name, path) in cases {
        if let Some((input, pre)) =
            load::<safrole::SafroleInput, safrole::SafroleState>(&spec, path)
        {
            // Build the ring context outside the timing; it is built once per process.
            // The epoch change's ring root is remembered after its first computation
            // (`ring_cache::root`), so `epoch_change` measures the rest of the
            // transition; `ring_root` below measures the commitment itself.
            let _ = ring_cache::context(spec.validators());
            group.bench_function(name, |b| b.iter(|| safrole::apply(&spec, &pre, &input)));
            if name == "safrole/epoch_change" {
                let keys: Vec<_> = pre.iota.0.iter().map(|k| k.bandersnatch).collect();
                if let Ok(ctx) = ring_cache::context(spec.validators()) {
                    group.bench_function("safrole/ring_root", |b| b.iter(|| ctx.commitment(&keys)));
                }
            }
        }
    }
    if let Some((input, pre)) = load::<disputes::DisputesInput, disputes::DisputesState>(
        &spec,
        "stf/disputes/full/progress_invalidates_avail_assignments-1.bin",
    ) {
        group.bench_function("disputes/verdicts", |b| {
            b.iter(|| disputes::apply(&spec, &pre, &input))
        });
    }
    if let Some((input, pre)) = load::<reports::ReportsInput, reports::ReportsState>(
        &spec,
        "stf/reports/full/multiple_reports-1.bin",
    ) {
        group.bench_function("reports/multiple", |b| {
            b.iter(|| reports::apply(&spec, &pre, &input))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

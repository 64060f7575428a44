//! Signature verification costs: Ed25519 batches on `cpu` and `simd` (per item), the
//! SHA-512 prehash `k = H(R ‖ A ‖ M)` on its own (why it stays on the CPU, see
//! `tessera_kernels::signatures`), and Bandersnatch IETF signatures and ring proofs
//! verified in parallel, with the once-per-epoch ring verifier build beside them.

// `criterion_group!` defines an undocumented `pub fn benches`.
#![allow(missing_docs)]

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use sha2::{Digest, Sha512};
use tessera_benches::sigs::SignedBatch;
use tessera_core::crypto::bandersnatch::{self, RingContext, Secret};
use tessera_kernels::signatures::verify_ed25519_batch;
use tessera_kernels::vrf::{verify_ietf_many, verify_ring_many};
use tessera_kernels::Backend;

/// JAM's validator count: batches cycle through this many distinct keys.
const VALIDATORS: usize = 1023;

fn ed25519(c: &mut Criterion) {
    let batch = SignedBatch::new(1023, VALIDATORS);
    let mut group = c.benchmark_group("ed25519");
    group.sample_size(10);
    for n in [1usize, 64, 1023] {
        let items = batch.items(n);
        group.throughput(Throughput::Elements(n as u64));
        for backend in [Backend::Cpu, Backend::Simd] {
            group.bench_with_input(BenchmarkId::new(backend.name(), n), &items, |b, items| {
                b.iter(|| verify_ed25519_batch(backend, black_box(items)))
            });
        }
    }
    group.finish();

    // The prehash alone, on the same 45-octet assurance-shaped messages.
    let items = batch.items(1023);
    let mut group = c.benchmark_group("prehash");
    group.throughput(Throughput::Elements(items.len() as u64));
    group.bench_function("sha512_r_a_m", |b| {
        b.iter(|| {
            items
                .iter()
                .map(|(pk, m, s)| {
                    let mut h = Sha512::new();
                    h.update(&s.0 .0[..32]);
                    h.update(pk.0 .0);
                    h.update(m);
                    h.finalize()[0]
                })
                .fold(0u8, |a, b| a ^ b)
        })
    });
    group.finish();
}

fn bandersnatch_vrfs(c: &mut Criterion) {
    const N: usize = 16;
    let secrets: Vec<Secret> = (0..N as u8).map(|i| Secret::from_seed(&[i; 32])).collect();
    let inputs: Vec<Vec<u8>> = (0..N)
        .map(|i| [b"jam_fallback_seal".as_slice(), &[i as u8; 32]].concat())
        .collect();
    let sigs: Vec<_> = secrets
        .iter()
        .zip(&inputs)
        .map(|(s, input)| bandersnatch::sign(s, input, b"header").expect("sign"))
        .collect();
    let items: Vec<_> = secrets
        .iter()
        .zip(&inputs)
        .zip(&sigs)
        .map(|((s, input), sig)| (s.public(), input.as_slice(), b"header".as_slice(), *sig))
        .collect();
    let mut group = c.benchmark_group("bandersnatch");
    group.sample_size(10);
    group.throughput(Throughput::Elements(N as u64));
    group.bench_function("ietf_many_16", |b| {
        b.iter(|| verify_ietf_many(black_box(&items)))
    });

    // Ring proofs on the tiny ring (V = 6); proving is slow, so only a few.
    const RING: usize = 6;
    const PROOFS: usize = 4;
    let ring_secrets: Vec<Secret> = (0..RING as u8)
        .map(|i| Secret::from_seed(&[100 + i; 32]))
        .collect();
    let keys: Vec<_> = ring_secrets.iter().map(Secret::public).collect();
    let context = RingContext::new(RING).expect("ring context");
    let root = context.commitment(&keys).expect("ring root");
    let ring_inputs: Vec<Vec<u8>> = (0..PROOFS)
        .map(|i| [b"jam_ticket_seal".as_slice(), &[7u8; 32], &[i as u8]].concat())
        .collect();
    let proofs: Vec<_> = ring_inputs
        .iter()
        .enumerate()
        .map(|(i, input)| {
            context
                .prover(&keys, i % RING, &ring_secrets[i % RING])
                .and_then(|p| p.prove(input, b""))
                .expect("prove")
        })
        .collect();
    let ring_items: Vec<_> = ring_inputs
        .iter()
        .zip(&proofs)
        .map(|(input, proof)| (input.as_slice(), b"".as_slice(), *proof))
        .collect();
    let verifier = context.verifier(&root).expect("verifier");
    group.throughput(Throughput::Elements(PROOFS as u64));
    group.bench_function("ring_many_4_tiny", |b| {
        b.iter(|| verify_ring_many(&verifier, black_box(&ring_items)))
    });
    group.throughput(Throughput::Elements(1));
    group.bench_function("ring_verifier_build_tiny", |b| {
        b.iter(|| context.verifier(black_box(&root)).expect("verifier"))
    });
    group.finish();
}

criterion_group!(benches, ed25519, bandersnatch_vrfs);
criterion_main!(benches);

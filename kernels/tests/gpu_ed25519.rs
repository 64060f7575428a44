//! The `gpu` Ed25519 backend gives, item by item, exactly the result of core's
//! one-at-a-time `verify` (ZIP-215) and of the `cpu` backend, with each of its kernels
//! (`program`, `shaders/ed25519.wgsl`; `registers`, `shaders/ed25519_registers.wgsl`;
//! every test runs once per kernel, in the modules `program` and `registers`): on
//! the 196 ZIP-215 vectors alone and as one batch; on a seeded mix of valid,
//! corrupted, non-canonical, small-order, mixed-order and not-a-point inputs; on an
//! empty batch; and across submissions.
//!
//! Without a GPU adapter these tests say so loudly and pass, unless
//! `TESSERA_REQUIRE_GPU=1` (CI sets it; there lavapipe, Mesa's software Vulkan, is the
//! adapter). lavapipe runs the kernel on the CPU, so batches are kept to a few hundred
//! items.

use std::time::Instant;

use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};
use curve25519_dalek::scalar::Scalar;
use sha2::{Digest, Sha512};
use tessera_core::crypto::ed25519::{verify, Ed25519Error, Keypair, PublicKey, Signature};
use tessera_kernels::gpu::ed25519::Ed25519Kernel;
use tessera_kernels::gpu::GpuContext;
use tessera_kernels::signatures::{try_verify_ed25519_batch, verify_ed25519_batch};
use tessera_kernels::Backend;
use tessera_test_support::SplitMix;

mod support;

use support::{borrow, gpu_or_skip, zip215_items, Item};

type Outcomes = Vec<Result<(), Ed25519Error>>;

/// Each test, once per kernel.
macro_rules! per_kernel {
    ($($test:ident),* $(,)?) => {
        mod program {
            use super::*;
            $(#[test]
            fn $test() {
                super::$test(Ed25519Kernel::Program);
            })*
        }
        mod registers {
            use super::*;
            $(#[test]
            fn $test() {
                super::$test(Ed25519Kernel::Registers);
            })*
        }
    };
}

per_kernel!(
    gpu_zip215_vectors_alone_and_together,
    gpu_random_inputs_equal_cpu,
    gpu_empty_batch,
    gpu_batches_split_across_submissions,
    gpu_kernel_compiles,
);

/// `kernel`'s results for `items`, checked equal item by item to single verification
/// and to the `cpu` backend; returns them.
fn gpu_equals_reference(ctx: &GpuContext, kernel: Ed25519Kernel, items: &[Item]) -> Outcomes {
    let borrowed = borrow(items);
    let want: Outcomes = items.iter().map(|(k, m, s)| verify(k, m, s)).collect();
    assert_eq!(verify_ed25519_batch(Backend::Cpu, &borrowed), want);
    let got = ctx
        .verify_ed25519_many_with(kernel, &borrowed)
        .expect("gpu runs");
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(
            g,
            w,
            "item {i}: {kernel:?} kernel {g:?}, reference {w:?}: key {:?}, signature {:?}, \
             message {}",
            items[i].0,
            items[i].2,
            hex::encode(&items[i].1)
        );
    }
    got
}

// ---------------------------------------------------------------------------------
// ZIP-215 vectors.

fn gpu_zip215_vectors_alone_and_together(kernel: Ed25519Kernel) {
    let Some(ctx) = gpu_or_skip("gpu_zip215_vectors_alone_and_together") else {
        return;
    };
    let Some(items) = zip215_items() else { return };
    let started = Instant::now();
    for item in &items {
        assert_eq!(
            gpu_equals_reference(ctx, kernel, std::slice::from_ref(item)),
            vec![Ok(())]
        );
    }
    let alone = started.elapsed();
    let started = Instant::now();
    let all = gpu_equals_reference(ctx, kernel, &items);
    assert!(all.iter().all(Result::is_ok));
    eprintln!(
        "[gpu_ed25519] 196 ZIP-215 vectors verify on gpu ({}): one by one in {alone:.2?}, \
         as one batch in {:.2?}",
        kernel.name(),
        started.elapsed()
    );
}

// ---------------------------------------------------------------------------------
// Seeded random inputs.

/// The group order ℓ, little-endian.
const ELL: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
];

/// p = 2^255 − 19, little-endian.
const P: [u8; 32] = [
    0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
];

/// `a + b` for 256-bit little-endian integers (the shared test helper).
use tessera_test_support::add256 as add;

/// `y` as a 32-octet little-endian value.
fn small(y: u8) -> [u8; 32] {
    let mut out = [0u8; 32];
    out[0] = y;
    out
}

/// The 8-torsion in its canonical encodings, and with the sign bit flipped (for the
/// points with x = 0, the identity and (0, −1), that is ZIP-215's "negative zero").
fn torsion_encodings() -> Vec<[u8; 32]> {
    let mut out = Vec::new();
    for t in EIGHT_TORSION {
        let e = t.compress().to_bytes();
        let mut flipped = e;
        flipped[31] ^= 0x80;
        out.push(e);
        out.push(flipped);
    }
    out
}

/// Encodings with y ≥ p (non-canonical, reduced mod p under ZIP-215): y = p + t for
/// t = 0..19 (y ≡ 0, 1, ..., 18; some are points, e.g. t = 0 and 1, others not), with
/// and without the sign bit.
fn non_canonical_y(t: u8, sign: bool) -> [u8; 32] {
    let mut e = add(&P, &small(t));
    if sign {
        e[31] |= 0x80;
    }
    e
}

/// A signature valid under the cofactored equation by a key with a torsion component:
/// `A = [a]B + T₁`, `R = [r]B + T₂`, `s = r + k·a`. `[s]B − [k]A − R = −[k]T₁ − T₂`
/// vanishes only after multiplying by 8, so a cofactorless check would reject it.
fn mixed_order(rng: &mut SplitMix, msg: &[u8]) -> (PublicKey, Signature) {
    let a = Scalar::from_bytes_mod_order_wide(&wide(rng));
    let r = Scalar::from_bytes_mod_order_wide(&wide(rng));
    let t1 = EIGHT_TORSION[(rng.next_u64() % 8) as usize];
    let t2 = EIGHT_TORSION[(rng.next_u64() % 8) as usize];
    let big_a = (ED25519_BASEPOINT_POINT * a + t1).compress().to_bytes();
    let big_r = (ED25519_BASEPOINT_POINT * r + t2).compress().to_bytes();
    let digest: [u8; 64] = Sha512::new()
        .chain_update(big_r)
        .chain_update(big_a)
        .chain_update(msg)
        .finalize()
        .into();
    let k = Scalar::from_bytes_mod_order_wide(&digest);
    let s = r + k * a;
    (
        PublicKey::from(big_a),
        Signature::from_parts(big_r, s.to_bytes()),
    )
}

fn wide(rng: &mut SplitMix) -> [u8; 64] {
    let mut out = [0u8; 64];
    out.copy_from_slice(&rng.bytes(64));
    out
}

fn random32(rng: &mut SplitMix) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(&rng.bytes(32));
    out
}

/// Item `i` of the seeded mix, of kind `kind`.
fn make(rng: &mut SplitMix, i: usize, kind: u64) -> Item {
    let kp = Keypair::from_seed([(i % 251) as u8 + 1; 32]);
    let len = (rng.next_u64() % 80) as usize;
    let msg = rng.bytes(len);
    let sig = kp.sign(&msg);
    let pk = kp.public();
    let bit = (rng.next_u64() % 256) as usize;
    let torsion = torsion_encodings();
    let pick_torsion = |rng: &mut SplitMix| torsion[(rng.next_u64() as usize) % torsion.len()];
    match kind {
        // Valid.
        0..=2 => (pk, msg, sig),
        // A bit of R, s or A flipped, or the message changed.
        3 => {
            let mut r = sig.r();
            r[bit / 8] ^= 1 << (bit % 8);
            (pk, msg, Signature::from_parts(r, sig.s()))
        }
        4 => {
            let mut s = sig.s();
            s[bit / 8] ^= 1 << (bit % 8);
            (pk, msg, Signature::from_parts(sig.r(), s))
        }
        5 => {
            let mut a = pk.0 .0;
            a[bit / 8] ^= 1 << (bit % 8);
            (PublicKey::from(a), msg, sig)
        }
        6 => (pk, [msg.as_slice(), b"!"].concat(), sig),
        // s ≥ ℓ: s + ℓ, ℓ itself, all ones.
        7 => {
            let s = match rng.next_u64() % 3 {
                0 => add(&sig.s(), &ELL),
                1 => ELL,
                _ => [0xff; 32],
            };
            (pk, msg, Signature::from_parts(sig.r(), s))
        }
        // Small-order A or R, or both with s = 0 (valid under ZIP-215), or with a
        // random canonical s (invalid).
        8 => (PublicKey::from(pick_torsion(rng)), msg, sig),
        9 => (pk, msg, Signature::from_parts(pick_torsion(rng), sig.s())),
        10 => {
            let s = if rng.next_u64().is_multiple_of(2) {
                [0u8; 32]
            } else {
                Scalar::from_bytes_mod_order(random32(rng)).to_bytes()
            };
            (
                PublicKey::from(pick_torsion(rng)),
                msg,
                Signature::from_parts(pick_torsion(rng), s),
            )
        }
        // Non-canonical y ≥ p for A or R (or both, with s = 0).
        11 => {
            let a = non_canonical_y(
                (rng.next_u64() % 19) as u8,
                rng.next_u64().is_multiple_of(2),
            );
            (PublicKey::from(a), msg, sig)
        }
        12 => {
            let r = non_canonical_y(
                (rng.next_u64() % 19) as u8,
                rng.next_u64().is_multiple_of(2),
            );
            (pk, msg, Signature::from_parts(r, sig.s()))
        }
        13 => {
            let a = non_canonical_y((rng.next_u64() % 2) as u8, rng.next_u64().is_multiple_of(2));
            let r = non_canonical_y((rng.next_u64() % 2) as u8, rng.next_u64().is_multiple_of(2));
            (PublicKey::from(a), msg, Signature::from_parts(r, [0; 32]))
        }
        // A key or R with a torsion component, valid under the cofactored equation.
        14 => {
            let (a, s) = mixed_order(rng, &msg);
            (a, msg, s)
        }
        // Garbage A and R with a canonical s: about half of random y are no point.
        15 => {
            let s = Scalar::from_bytes_mod_order(random32(rng)).to_bytes();
            (
                PublicKey::from(random32(rng)),
                msg,
                Signature::from_parts(random32(rng), s),
            )
        }
        // Garbage everything.
        _ => (
            PublicKey::from(random32(rng)),
            msg,
            Signature::from_parts(random32(rng), random32(rng)),
        ),
    }
}

fn gpu_random_inputs_equal_cpu(kernel: Ed25519Kernel) {
    let Some(ctx) = gpu_or_skip("gpu_random_inputs_equal_cpu") else {
        return;
    };
    let mut rng = SplitMix(0xed25519);
    let items: Vec<Item> = (0..400)
        .map(|i| {
            let kind = rng.next_u64() % 17;
            make(&mut rng, i, kind)
        })
        .collect();
    let started = Instant::now();
    let got = gpu_equals_reference(ctx, kernel, &items);
    let elapsed = started.elapsed();
    let count = |e: Option<Ed25519Error>| got.iter().filter(|r| r.err() == e).count();
    let tally = [
        count(None),
        count(Some(Ed25519Error::KeyNotAPoint)),
        count(Some(Ed25519Error::RNotAPoint)),
        count(Some(Ed25519Error::NonCanonicalS)),
        count(Some(Ed25519Error::BadSignature)),
    ];
    eprintln!(
        "[gpu_ed25519] {} mixed items (ok, key not a point, R not a point, s ≥ ℓ, bad): \
         {tally:?}, gpu ({}) {elapsed:.2?} including the cpu reference run",
        items.len(),
        kernel.name()
    );
    assert!(
        tally.iter().all(|&n| n >= 10),
        "every verdict covered: {tally:?}"
    );
}

fn gpu_empty_batch(kernel: Ed25519Kernel) {
    let Some(ctx) = gpu_or_skip("gpu_empty_batch") else {
        return;
    };
    assert_eq!(ctx.verify_ed25519_many_with(kernel, &[]), Ok(vec![]));
    // Only non-canonical s: nothing reaches the GPU.
    let kp = Keypair::from_seed([3; 32]);
    let sig = Signature::from_parts(kp.sign(b"m").r(), ELL);
    let want = Ok(vec![Err(Ed25519Error::NonCanonicalS)]);
    let item = [(kp.public(), b"m".as_slice(), sig)];
    assert_eq!(ctx.verify_ed25519_many_with(kernel, &item), want);
    // The backend's entry point, with the process's kernel (the default).
    if kernel == Ed25519Kernel::Program {
        assert_eq!(try_verify_ed25519_batch(Backend::Gpu, &[]), Ok(vec![]));
        assert_eq!(try_verify_ed25519_batch(Backend::Gpu, &item), want);
    }
}

fn gpu_batches_split_across_submissions(kernel: Ed25519Kernel) {
    if gpu_or_skip("gpu_batches_split_across_submissions").is_none() {
        return;
    }
    // 4 KiB bindings hold 32 items: 100 items take four submissions.
    let ctx = GpuContext::new()
        .expect("a second context")
        .with_binding_limit(4096);
    let mut rng = SplitMix(42);
    let items: Vec<Item> = (0..100)
        .map(|i| {
            let kind = [0, 3, 6, 7, 8, 15][i % 6];
            make(&mut rng, i, kind)
        })
        .collect();
    let want: Outcomes = items.iter().map(|(k, m, s)| verify(k, m, s)).collect();
    let got = ctx
        .verify_ed25519_many_with(kernel, &borrow(&items))
        .expect("gpu runs");
    assert_eq!(got, want);
}

/// The kernel compiles in a fresh context (no pipeline cached in this process; Mesa's
/// own shader cache may still answer, unless `MESA_SHADER_CACHE_DISABLE=true`), and
/// how long that takes: the first verification of one item, less the second.
fn gpu_kernel_compiles(kernel: Ed25519Kernel) {
    if gpu_or_skip("gpu_kernel_compiles").is_none() {
        return;
    }
    let ctx = GpuContext::new().expect("a fresh context");
    let kp = Keypair::from_seed([5; 32]);
    let item = [(kp.public(), b"m".as_slice(), kp.sign(b"m"))];
    let started = Instant::now();
    assert_eq!(
        ctx.verify_ed25519_many_with(kernel, &item),
        Ok(vec![Ok(())])
    );
    let first = started.elapsed();
    let started = Instant::now();
    assert_eq!(
        ctx.verify_ed25519_many_with(kernel, &item),
        Ok(vec![Ok(())])
    );
    let second = started.elapsed();
    eprintln!(
        "[gpu_ed25519] {} kernel: first verification {first:.2?} (pipeline built), second \
         {second:.2?}",
        kernel.name()
    );
}

//! The encoder's transforms on AVX-512 with GFNI: GF(2^16) multiplication by a
//! constant as four 8×8 bit matrices applied by `vgf2p8affineqb`.
//!
//! reed-solomon-simd multiplies with nibble tables and `pshufb` on 256-bit registers
//! (eight table lookups and a dozen shifts, masks and XORs per 32 elements). Over
//! GF(2), multiplication by a constant `c` is a linear map of the 16 bits of an
//! element, so on an element split into its low byte `l` and high byte `h` it is
//! `(A_ll·l ⊕ A_lh·h, A_hl·l ⊕ A_hh·h)` for four 8×8 bit matrices, and GFNI applies one
//! 8×8 matrix per 64-bit lane to every byte. An engine block (the layout of
//! `super::layout`: 32 low bytes, then 32 high bytes, which is exactly one 512-bit
//! register) is multiplied with one 256-bit-half swap, two affine transforms (the
//! diagonal matrices `[A_ll ×4 | A_hh ×4]` on the block, the off-diagonal ones
//! `[A_lh ×4 | A_hl ×4]` on the swapped block) and one XOR.
//!
//! The transforms are the `cpu` reference's (`crate::cpu::novel_basis`) with the same
//! factors, layer for layer, so this path is checked bit for bit against `cpu`
//! (`kernels/tests/backends.rs`) wherever the CPU has the features; elsewhere the
//! `simd` backend keeps reed-solomon-simd's engine.

use std::sync::{Arc, Mutex, OnceLock};

use crate::cpu::field::field;
use crate::cpu::novel_basis::novel_basis;
use crate::engine::ErasureCode;

use super::features;
use super::layout::BLOCK;

/// Multiplication by one constant: the 512-bit matrix operands of the two affine
/// transforms (`diagonal` for the block, `cross` for its swapped halves).
#[derive(Clone, Copy)]
#[repr(C, align(64))]
pub(crate) struct Factor {
    diagonal: [u64; 8],
    cross: [u64; 8],
}

impl Factor {
    /// The matrices of `x ↦ c·x` (`None` for `c = 0`: the butterfly then only adds).
    pub(super) fn new(c: u16) -> Option<Factor> {
        if c == 0 {
            return None;
        }
        let f = field();
        // column[i] = c · x^(bit i): the image of input bit i.
        let column: [u16; 16] = std::array::from_fn(|i| f.mul(c, 1 << i));
        // The matrix from input byte `from` to output byte `to`, in gf2p8affine's
        // operand encoding: output bit r is the parity of (operand byte 7 − r) & input.
        let matrix = |from: usize, to: usize| {
            let mut m = 0u64;
            for r in 0..8 {
                let row = (0..8).fold(0u64, |acc, i| {
                    acc | u64::from(column[8 * from + i] >> (8 * to + r) & 1) << i
                });
                m |= row << (8 * (7 - r));
            }
            m
        };
        let (ll, lh, hl, hh) = (matrix(0, 0), matrix(1, 0), matrix(0, 1), matrix(1, 1));
        Some(Factor {
            diagonal: [ll, ll, ll, ll, hh, hh, hh, hh],
            cross: [lh, lh, lh, lh, hl, hl, hl, hl],
        })
    }
}

/// One transform layer: partners `half` rows apart, one factor per block of `2·half`
/// rows (from row 0 on).
struct Layer {
    half: usize,
    factors: Vec<Option<Factor>>,
}

/// The low-rate encoder's transforms for one code, as the `cpu` reference's `encode`
/// runs them: the inverse transform of the `chunk` rows (blocks past `k` are zero and
/// skipped), then per coset of `chunk` rows the forward transform of the rows wanted.
pub(super) struct EncodePlan {
    inverse: Vec<Layer>,
    /// Per coset: its first row and its layers.
    cosets: Vec<(usize, Vec<Layer>)>,
}

impl EncodePlan {
    fn new(code: ErasureCode) -> EncodePlan {
        let basis = novel_basis();
        let chunk = code.chunk();
        let layer = |half: usize, span: usize, offset: usize| Layer {
            half,
            factors: (0..span)
                .step_by(2 * half)
                .map(|start| {
                    Factor::new(basis.skew(half.trailing_zeros() as usize, offset + start))
                })
                .collect(),
        };
        let mut inverse = Vec::new();
        let mut half = 1;
        while half < chunk {
            inverse.push(layer(half, code.originals, 0));
            half *= 2;
        }
        let mut cosets = Vec::new();
        let mut done = 0;
        while done < code.recovery {
            let wanted = chunk.min(code.recovery - done);
            let mut layers = Vec::new();
            let mut half = chunk / 2;
            while half > 0 {
                layers.push(layer(half, wanted, chunk + done));
                half /= 2;
            }
            cosets.push((done, layers));
            done += chunk;
        }
        EncodePlan { inverse, cosets }
    }

    /// The plan of `code`, built once per process.
    pub(super) fn get(code: ErasureCode) -> Arc<EncodePlan> {
        static PLANS: Plans<EncodePlan> = OnceLock::new();
        plan_of(&PLANS, code, EncodePlan::new)
    }
}

/// Plans built so far, one per code (a process sees one or two codes).
type Plans<P> = OnceLock<Mutex<Vec<(ErasureCode, Arc<P>)>>>;

/// `code`'s plan from `plans`, built by `build` the first time.
fn plan_of<P>(plans: &Plans<P>, code: ErasureCode, build: fn(ErasureCode) -> P) -> Arc<P> {
    let mut plans = plans
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((_, plan)) = plans.iter().find(|(c, _)| *c == code) {
        return plan.clone();
    }
    let plan = Arc::new(build(code));
    plans.push((code, plan.clone()));
    plan
}

/// The decoder's transforms for one code, as the `cpu` reference's `reconstruct` runs
/// them on `size = (chunk + V − k).next_power_of_two()` rows: the inverse transform
/// (blocks from `chunk + V − k` on are zero and skipped), the formal derivative, and the
/// forward transform evaluated on the `k` original positions only.
pub(super) struct DecodePlan {
    pub(super) size: usize,
    inverse: Vec<Layer>,
    /// `Ŵ_b'` for `b < log2 size`.
    derivative: Vec<Option<Factor>>,
    forward: Vec<Layer>,
}

impl DecodePlan {
    fn new(code: ErasureCode) -> DecodePlan {
        let basis = novel_basis();
        let recovery_end = code.chunk() + code.recovery;
        let size = recovery_end.next_power_of_two();
        let layer = |half: usize, span: usize| Layer {
            half,
            factors: (0..span)
                .step_by(2 * half)
                .map(|start| Factor::new(basis.skew(half.trailing_zeros() as usize, start)))
                .collect(),
        };
        let mut inverse = Vec::new();
        let mut half = 1;
        while half < size {
            inverse.push(layer(half, recovery_end));
            half *= 2;
        }
        let mut forward = Vec::new();
        let mut half = size / 2;
        while half > 0 {
            forward.push(layer(half, code.originals));
            half /= 2;
        }
        let derivative = (0..size.trailing_zeros() as usize)
            .map(|b| Factor::new(basis.derivative(b)))
            .collect();
        DecodePlan {
            size,
            inverse,
            derivative,
            forward,
        }
    }

    /// The plan of `code`, built once per process.
    pub(super) fn get(code: ErasureCode) -> Arc<DecodePlan> {
        static PLANS: Plans<DecodePlan> = OnceLock::new();
        plan_of(&PLANS, code, DecodePlan::new)
    }
}

/// `blocks` times the constant of `factor` (zeros for `None`).
pub(super) fn scale(blocks: &mut [[u8; BLOCK]], factor: Option<&Factor>) {
    #[cfg(target_arch = "x86_64")]
    if features::gfni_cpu() {
        // SAFETY: `gfni_cpu` checked AVX-512F, AVX-512VBMI and GFNI.
        unsafe { x86::scale(blocks, factor) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (blocks, factor);
}

/// Steps between the scalings of the `cpu` decoder on one stripe of `plan.size` rows of
/// `w` blocks: inverse transform, formal derivative, forward transform. Only called
/// when [`available`].
pub(super) fn decode_stripe(plan: &DecodePlan, work: &mut [[u8; BLOCK]], w: usize) {
    #[cfg(target_arch = "x86_64")]
    if features::gfni_cpu() {
        // SAFETY: as in `encode_stripe`.
        unsafe { x86::decode_stripe(plan, work, w) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (plan, work, w);
}

/// Whether the GFNI path runs: the CPU has AVX-512F, AVX-512VBMI and GFNI and the
/// program has not switched it off ([`super::SimdConfig::gfni`], for A/B measurements
/// against reed-solomon-simd's engine). The dispatch decision; the kernels below check
/// only the CPU ([`features::gfni_cpu`]), their safety condition, so a switch between
/// two calls of one operation cannot leave it half done.
pub(super) fn available() -> bool {
    features::gfni()
}

/// Steps 2–4 of the `cpu` encoder on one stripe: `work` holds `rows` rows of `w`
/// blocks, rows `0..k` the originals and `k..chunk` zeros; afterwards row `u` holds
/// recovery shard `u`. Only called when [`available`].
pub(super) fn encode_stripe(plan: &EncodePlan, chunk: usize, work: &mut [[u8; BLOCK]], w: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        if features::gfni_cpu() {
            // SAFETY: `gfni_cpu` checked that the CPU has AVX-512F and GFNI, the only
            // features `x86::encode_stripe` is compiled for.
            unsafe { x86::encode_stripe(plan, chunk, work, w) }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (plan, chunk, work, w);
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::{EncodePlan, Factor, Layer, BLOCK};

    /// `v · c` for the constant whose matrices are `(diagonal, cross)`.
    #[inline]
    #[target_feature(enable = "avx512f,gfni")]
    fn mul(v: __m512i, diagonal: __m512i, cross: __m512i) -> __m512i {
        let swapped = _mm512_shuffle_i64x2::<0b01_00_11_10>(v, v);
        _mm512_xor_si512(
            _mm512_gf2p8affine_epi64_epi8::<0>(v, diagonal),
            _mm512_gf2p8affine_epi64_epi8::<0>(swapped, cross),
        )
    }

    #[inline]
    #[target_feature(enable = "avx512f")]
    fn load(block: &[u8; BLOCK]) -> __m512i {
        // SAFETY: `block` is 64 readable octets; the load is unaligned.
        unsafe { _mm512_loadu_si512(block.as_ptr().cast()) }
    }

    #[inline]
    #[target_feature(enable = "avx512f")]
    fn store(block: &mut [u8; BLOCK], v: __m512i) {
        // SAFETY: `block` is 64 writable octets; the store is unaligned.
        unsafe { _mm512_storeu_si512(block.as_mut_ptr().cast(), v) }
    }

    /// One layer over rows `0..` of `rows` (`w` blocks each): per pair `(lo, hi)`,
    /// inverse `hi += lo; lo += s·hi`, forward `lo += s·hi; hi += lo`.
    #[target_feature(enable = "avx512f,gfni")]
    fn layer(rows: &mut [[u8; BLOCK]], w: usize, layer: &Layer, inverse: bool) {
        let half = layer.half;
        for (group, factor) in rows.chunks_mut(2 * half * w).zip(&layer.factors) {
            if group.len() < 2 * half * w {
                break;
            }
            let (lo_rows, hi_rows) = group.split_at_mut(half * w);
            let s = matrices(factor.as_ref());
            for (lo, hi) in lo_rows.iter_mut().zip(hi_rows.iter_mut()) {
                let (mut l, mut h) = (load(lo), load(hi));
                if inverse {
                    h = _mm512_xor_si512(h, l);
                    l = add_mul(l, h, s);
                } else {
                    l = add_mul(l, h, s);
                    h = _mm512_xor_si512(h, l);
                }
                store(lo, l);
                store(hi, h);
            }
        }
    }

    /// A factor's two matrix operands, or `None` for zero (or a block past the
    /// transform's truncation, whose butterflies are skipped or act on zeros).
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn matrices(factor: Option<&Factor>) -> Option<(__m512i, __m512i)> {
        factor.map(|f| {
            // SAFETY: `Factor` is 64-byte aligned `[u64; 8]` pairs, 64 octets each.
            unsafe {
                (
                    _mm512_load_si512(f.diagonal.as_ptr().cast()),
                    _mm512_load_si512(f.cross.as_ptr().cast()),
                )
            }
        })
    }

    /// `lo += s·hi` when `s` is non-zero.
    #[inline]
    #[target_feature(enable = "avx512f,gfni")]
    fn add_mul(lo: __m512i, hi: __m512i, s: Option<(__m512i, __m512i)>) -> __m512i {
        match s {
            Some((d, c)) => _mm512_xor_si512(lo, mul(hi, d, c)),
            None => lo,
        }
    }

    /// Two consecutive layers in one pass over the rows (radix 4): half the memory
    /// traffic of [`layer`] twice, the same butterflies in the same order per row
    /// quadruple. Inverse: `first` at distance `h`, `second` at `2h`; forward: `first`
    /// at `2h`, `second` at `h`.
    #[target_feature(enable = "avx512f,gfni")]
    fn two_layers(
        rows: &mut [[u8; BLOCK]],
        w: usize,
        (first, second): (&Layer, &Layer),
        inverse: bool,
    ) {
        let h = first.half.min(second.half);
        let (outer, inner) = if inverse {
            (second, first)
        } else {
            (first, second)
        };
        for (g, group) in rows
            .chunks_mut(4 * h * w)
            .enumerate()
            .take(outer.factors.len())
        {
            if group.len() < 4 * h * w {
                break;
            }
            let c = matrices(outer.factors.get(g).and_then(Option::as_ref));
            let a = matrices(inner.factors.get(2 * g).and_then(Option::as_ref));
            let b = matrices(inner.factors.get(2 * g + 1).and_then(Option::as_ref));
            let inner_b = inner.factors.get(2 * g + 1).is_some();
            let (q01, q23) = group.split_at_mut(2 * h * w);
            let (q0, q1) = q01.split_at_mut(h * w);
            let (q2, q3) = q23.split_at_mut(h * w);
            for (((r0, r1), r2), r3) in q0
                .iter_mut()
                .zip(q1.iter_mut())
                .zip(q2.iter_mut())
                .zip(q3.iter_mut())
            {
                let (mut x0, mut x1, mut x2, mut x3) = (load(r0), load(r1), load(r2), load(r3));
                if inverse {
                    x1 = _mm512_xor_si512(x1, x0);
                    x0 = add_mul(x0, x1, a);
                    x3 = _mm512_xor_si512(x3, x2);
                    x2 = add_mul(x2, x3, b);
                    x2 = _mm512_xor_si512(x2, x0);
                    x0 = add_mul(x0, x2, c);
                    x3 = _mm512_xor_si512(x3, x1);
                    x1 = add_mul(x1, x3, c);
                } else {
                    x0 = add_mul(x0, x2, c);
                    x2 = _mm512_xor_si512(x2, x0);
                    x1 = add_mul(x1, x3, c);
                    x3 = _mm512_xor_si512(x3, x1);
                    x0 = add_mul(x0, x1, a);
                    x1 = _mm512_xor_si512(x1, x0);
                    if inner_b {
                        x2 = add_mul(x2, x3, b);
                        x3 = _mm512_xor_si512(x3, x2);
                    }
                }
                store(r0, x0);
                store(r1, x1);
                store(r2, x2);
                store(r3, x3);
            }
        }
    }

    /// The layers of one transform, two per pass where there are two left.
    #[target_feature(enable = "avx512f,gfni")]
    fn layers(rows: &mut [[u8; BLOCK]], w: usize, layers: &[Layer], inverse: bool) {
        let mut pairs = layers.chunks_exact(2);
        for pair in &mut pairs {
            two_layers(rows, w, (&pair[0], &pair[1]), inverse);
        }
        for l in pairs.remainder() {
            layer(rows, w, l, inverse);
        }
    }

    /// See [`super::scale`].
    #[target_feature(enable = "avx512f,gfni")]
    pub(super) fn scale(blocks: &mut [[u8; BLOCK]], factor: Option<&Factor>) {
        let m = matrices(factor);
        for block in blocks {
            let v = match m {
                Some((d, c)) => mul(load(block), d, c),
                None => _mm512_setzero_si512(),
            };
            store(block, v);
        }
    }

    /// See [`super::decode_stripe`].
    #[target_feature(enable = "avx512f,gfni")]
    pub(super) fn decode_stripe(plan: &super::DecodePlan, work: &mut [[u8; BLOCK]], w: usize) {
        let size = plan.size;
        let rows = &mut work[..size * w];
        layers(rows, w, &plan.inverse, true);
        // The formal derivative in place, ascending: row m becomes
        // Σ_{b: bit b of m clear} Ŵ_b'·row(m + 2^b), which reads only rows above m,
        // still untouched.
        let derivative: Vec<_> = plan
            .derivative
            .iter()
            .map(|f| matrices(f.as_ref()))
            .collect();
        for m in 0..size {
            for i in 0..w {
                let mut acc = _mm512_setzero_si512();
                for (b, factor) in derivative.iter().enumerate() {
                    let partner = m | 1 << b;
                    if partner != m && partner < size {
                        acc = add_mul(acc, load(&rows[partner * w + i]), *factor);
                    }
                }
                store(&mut rows[m * w + i], acc);
            }
        }
        layers(rows, w, &plan.forward, false);
    }

    /// See [`super::encode_stripe`].
    #[target_feature(enable = "avx512f,gfni")]
    pub(super) fn encode_stripe(
        plan: &EncodePlan,
        chunk: usize,
        work: &mut [[u8; BLOCK]],
        w: usize,
    ) {
        let coefficients = chunk * w;
        layers(&mut work[..coefficients], w, &plan.inverse, true);
        for (start, _) in &plan.cosets {
            if *start > 0 {
                work.copy_within(0..coefficients, start * w);
            }
        }
        for (start, layers) in &plan.cosets {
            self::layers(&mut work[start * w..(start + chunk) * w], w, layers, false);
        }
    }
}

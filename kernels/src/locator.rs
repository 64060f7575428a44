//! The erasure locator of decoding (GP Appendix H's `R_k`, in the `cpu` reference's
//! method, `crate::cpu::reed_solomon`) in logarithms, computed fast for the `gpu` and
//! `simd` decoders.

use crate::cpu::field::{field, GROUP_ORDER};

/// For every position `u < size = known.len()`, `Σ_{e erased} log(ω_u − ω_e) mod 65535`
/// with `log 0` taken as 0 — that is `log ℓ(ω_u)` at a known `u` and, as `u`'s own
/// factor drops out, `log ℓ'(ω_u) = log Π_{e ≠ u} (ω_u − ω_e)` at an erased one: the
/// `cpu` reference's `locator_at(u)`, in logarithms.
///
/// Positions are Cantor-basis words, so `ω_u − ω_e = ω_{u ⊕ e}` and the sum is the
/// XOR-convolution of the erasure indicator with the log table, which Walsh–Hadamard
/// transforms turn into a pointwise product (Leopard does the same over the whole
/// field): `O(size · log size)` instead of the reference's `O(size · |erased|)`, which
/// would dominate a GPU decode. The transform's inverse is itself divided by `size`;
/// `size = 2^m` divides `2^16 ≡ 1 (mod 65535)`, so dividing is multiplying by `2^(16−m)`.
pub(crate) fn locator_logs(known: &[bool]) -> Vec<u32> {
    const M: u64 = GROUP_ORDER as u64;
    let f = field();
    let size = known.len();
    let walsh = |v: &mut [u64]| {
        let mut half = 1;
        while half < v.len() {
            for block in v.chunks_exact_mut(2 * half) {
                let (lo, hi) = block.split_at_mut(half);
                for (a, b) in lo.iter_mut().zip(hi) {
                    (*a, *b) = ((*a + *b) % M, (*a + M - *b) % M);
                }
            }
            half *= 2;
        }
    };
    let mut logs: Vec<u64> = (0..size)
        .map(|u| if u == 0 { 0 } else { f.log(u as u16) as u64 })
        .collect();
    let mut erased: Vec<u64> = known.iter().map(|&k| u64::from(!k)).collect();
    walsh(&mut logs);
    walsh(&mut erased);
    for (e, l) in erased.iter_mut().zip(&logs) {
        *e = *e * l % M;
    }
    walsh(&mut erased);
    let inverse_size = 1u64 << (16 - size.trailing_zeros());
    erased
        .iter()
        .map(|&v| (v * inverse_size % M) as u32)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [`locator_logs`] against the `cpu` reference's direct product, on random erasure
    /// patterns of both codes' transform sizes and the extremes (none, one, all but one
    /// erased).
    #[test]
    fn locator_logs_equal_the_direct_product() {
        let f = field();
        let mut state = 0x1234_5678_u64;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            state >> 33
        };
        for size in [2usize, 8, 64, 2048] {
            let mut patterns: Vec<Vec<bool>> = vec![vec![true; size], vec![false; size]];
            let mut one = vec![true; size];
            one[size / 2] = false;
            patterns.push(one);
            for _ in 0..4 {
                patterns.push((0..size).map(|_| next() % 3 != 0).collect());
            }
            for known in patterns {
                let got = locator_logs(&known);
                let erased: Vec<usize> = (0..size).filter(|&u| !known[u]).collect();
                for u in (0..size).step_by((size / 64).max(1)) {
                    let product = erased
                        .iter()
                        .filter(|&&e| e != u)
                        .fold(1u16, |acc, &e| f.mul(acc, (u ^ e) as u16));
                    assert_eq!(got[u] as usize, f.log(product), "size {size}, position {u}");
                }
            }
        }
    }
}

//! The additive FFT over GF(2^16) in the novel polynomial basis of Lin, Chung and
//! Han ("Novel polynomial basis and its application to Reed–Solomon erasure codes",
//! 2014), which GP Appendix H names as the transform it uses.
//!
//! Notation. `ω_u` is the field element whose Cantor-basis word is the integer `u`, so
//! `{ω_u | u < 2^j}` is the subspace `V_j` spanned by `v_0 … v_{j−1}`.
//! `W_j(x) = Π_{a ∈ V_j} (x − a)` is its vanishing polynomial, `Ŵ_j = W_j / W_j(v_j)`
//! the normalised one (so `Ŵ_j(v_j) = 1`), and the novel basis is
//! `X_i = Π_{j: bit j of i} Ŵ_j`. A polynomial of degree `< 2^m` is a row of `2^m`
//! coefficients in that basis.
//!
//! Every `W_j` is F_2-linear (a linearised polynomial), so `Ŵ_j(ω_u)` is the XOR of
//! `Ŵ_j(v_b)` over the set bits `b` of `u`, and `W_{j+1}(x) = W_j(x) · (W_j(x) + W_j(v_j))`.
//!
//! Data are rows of words: row `u` of a [`Rows`] is the value (or coefficient) at
//! position `u` for every word position of a shard at once, as Leopard and
//! reed-solomon-simd do, so one butterfly factor serves a whole shard.

use std::sync::OnceLock;

use super::field::{field, Field};

/// `2^16`: the number of field elements and so of evaluation positions.
const POSITIONS_BITS: usize = 16;

/// The subspace polynomials evaluated on the basis, and the derivatives of `Ŵ_j`.
pub(crate) struct NovelBasis {
    /// `w_hat[j][b] = Ŵ_j(v_b)` (zero for `b < j`, one for `b = j`).
    w_hat: [[u16; POSITIONS_BITS]; POSITIONS_BITS],
    /// `derivative[j] = Ŵ_j'`, a constant because `Ŵ_j` is linearised: the coefficient of
    /// `x` in `W_j`, which is `Π_{0 ≠ a ∈ V_j} a`, over `W_j(v_j)`.
    derivative: [u16; POSITIONS_BITS],
}

/// The shared tables (built on first use).
pub(crate) fn novel_basis() -> &'static NovelBasis {
    static BASIS: OnceLock<NovelBasis> = OnceLock::new();
    BASIS.get_or_init(NovelBasis::build)
}

impl NovelBasis {
    fn build() -> NovelBasis {
        let f = field();
        // w[b] = W_j(v_b) for the current j, starting from W_0(x) = x.
        let mut w: [u16; POSITIONS_BITS] = std::array::from_fn(|b| 1u16 << b);
        let mut w_hat = [[0u16; POSITIONS_BITS]; POSITIONS_BITS];
        let mut derivative = [0u16; POSITIONS_BITS];
        for j in 0..POSITIONS_BITS {
            let norm = w[j];
            for b in 0..POSITIONS_BITS {
                w_hat[j][b] = f.div(w[b], norm);
            }
            let x_coefficient = (1..1u32 << j).fold(1u16, |acc, a| f.mul(acc, a as u16));
            derivative[j] = f.div(x_coefficient, norm);
            // W_{j+1}(x) = W_j(x) · W_j(x + v_j) = W_j(x) · (W_j(x) + W_j(v_j)).
            w = w.map(|wb| f.mul(wb, wb ^ norm));
        }
        NovelBasis { w_hat, derivative }
    }

    /// `Ŵ_j(ω_u)`: the butterfly factor ("skew") of the layer that splits cosets of
    /// `V_{j+1}` into cosets of `V_j`, for the coset starting at position `u`.
    pub(crate) fn skew(&self, j: usize, u: usize) -> u16 {
        (0..POSITIONS_BITS)
            .filter(|b| u >> b & 1 == 1)
            .fold(0, |acc, b| acc ^ self.w_hat[j][b])
    }

    /// `Ŵ_j'`, the constant derivative of `Ŵ_j` (the factors of [`formal_derivative`]).
    pub(crate) fn derivative(&self, j: usize) -> u16 {
        self.derivative[j]
    }
}

/// A matrix of words: `count` rows of `width` words each.
pub(crate) struct Rows {
    words: Vec<u16>,
    width: usize,
}

impl Rows {
    /// `count` rows of zeros.
    pub(crate) fn zeros(count: usize, width: usize) -> Rows {
        Rows {
            words: vec![0; count * width],
            width,
        }
    }

    /// Row `u`.
    pub(crate) fn row(&self, u: usize) -> &[u16] {
        &self.words[u * self.width..(u + 1) * self.width]
    }

    /// Row `u`, mutable.
    pub(crate) fn row_mut(&mut self, u: usize) -> &mut [u16] {
        &mut self.words[u * self.width..(u + 1) * self.width]
    }

    /// Rows `lo` and `lo + distance`, both mutable.
    fn pair_mut(&mut self, lo: usize, distance: usize) -> (&mut [u16], &mut [u16]) {
        let (head, tail) = self.words.split_at_mut((lo + distance) * self.width);
        (
            &mut head[lo * self.width..(lo + 1) * self.width],
            &mut tail[..self.width],
        )
    }

    /// Row `u` times the constant `c`, in place.
    pub(crate) fn scale_row(&mut self, u: usize, c: u16) {
        let f = field();
        let row = self.row_mut(u);
        if c == 0 {
            row.fill(0);
        } else {
            let log_c = f.log(c);
            row.iter_mut().for_each(|w| *w = f.mul_log(*w, log_c));
        }
    }
}

/// `lo += c · hi` over whole rows.
fn add_scaled(f: &Field, lo: &mut [u16], hi: &[u16], c: u16) {
    if c == 0 {
        return;
    }
    let log_c = f.log(c);
    for (l, &h) in lo.iter_mut().zip(hi) {
        *l ^= f.mul_log(h, log_c);
    }
}

/// `hi += lo` over whole rows.
fn add(hi: &mut [u16], lo: &[u16]) {
    for (h, &l) in hi.iter_mut().zip(lo) {
        *h ^= l;
    }
}

/// Forward transform. Rows `0..size` of `rows` hold the novel-basis coefficients of a
/// polynomial `P` of degree `< size` (a power of two); afterwards row `u` holds
/// `P(ω_{offset + u})`, for `u < wanted` (rows from `wanted` on are left meaningless,
/// which saves the blocks only they need). `offset` is a multiple of `size`.
///
/// Splitting `P = P_0 + Ŵ_{m−1} · P_1` over the two halves of the coefficients: on the
/// coset `offset + V_{m−1}`, `Ŵ_{m−1}` is the constant `s = Ŵ_{m−1}(ω_offset)`, and on
/// the other half it is `s + 1`. So the lower half becomes `P_0 + s·P_1` and the upper
/// `P_0 + (s+1)·P_1`, i.e. `lo += s·hi; hi += lo`, and each half recurses.
pub(crate) fn fft(rows: &mut Rows, size: usize, offset: usize, wanted: usize) {
    let (f, basis) = (field(), novel_basis());
    let mut half = size / 2;
    while half > 0 {
        let j = half.trailing_zeros() as usize;
        for start in (0..wanted).step_by(2 * half) {
            let s = basis.skew(j, offset + start);
            for u in start..start + half {
                let (lo, hi) = rows.pair_mut(u, half);
                add_scaled(f, lo, hi, s);
                add(hi, lo);
            }
        }
        half /= 2;
    }
}

/// Inverse transform: rows `0..size` hold `P(ω_{offset + u})`; afterwards they hold
/// `P`'s novel-basis coefficients. Rows from `nonzero` on must be zero on entry (whole
/// blocks of zeros stay zero, so they are skipped). Each layer undoes one layer of
/// [`fft`], smallest first: `hi += lo; lo += s·hi`.
pub(crate) fn ifft(rows: &mut Rows, size: usize, offset: usize, nonzero: usize) {
    let (f, basis) = (field(), novel_basis());
    let mut half = 1;
    while half < size {
        let j = half.trailing_zeros() as usize;
        for start in (0..nonzero).step_by(2 * half) {
            let s = basis.skew(j, offset + start);
            for u in start..start + half {
                let (lo, hi) = rows.pair_mut(u, half);
                add(hi, lo);
                add_scaled(f, lo, hi, s);
            }
        }
        half *= 2;
    }
}

/// The formal derivative, in place, of the polynomial whose novel-basis coefficients
/// are rows `0..size`. By the product rule, `X_i' = Σ_{j ∈ bits(i)} Ŵ_j' · X_{i − 2^j}`
/// (each `Ŵ_j'` is a constant), so coefficient `i` moves to `i − 2^j` scaled by `Ŵ_j'`.
pub(crate) fn formal_derivative(rows: &mut Rows, size: usize) {
    let (f, basis) = (field(), novel_basis());
    let mut derived = Rows::zeros(size, rows.width);
    for i in 1..size {
        for j in (0..POSITIONS_BITS).filter(|j| i >> j & 1 == 1) {
            add_scaled(
                f,
                derived.row_mut(i - (1 << j)),
                rows.row(i),
                basis.derivative(j),
            );
        }
    }
    rows.words[..size * rows.width].copy_from_slice(&derived.words);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Evaluate the novel-basis polynomial with coefficients `c` at `x`, from the
    /// definition `X_i = Π_{j ∈ bits(i)} Ŵ_j`, with `Ŵ_j(x)` computed by its product.
    fn evaluate_by_definition(c: &[u16], x: u16) -> u16 {
        let f = field();
        let w = |j: usize, y: u16| (0..1u32 << j).fold(1u16, |acc, a| f.mul(acc, y ^ a as u16));
        let w_hat = |j: usize, y: u16| f.div(w(j, y), w(j, 1 << j));
        c.iter().enumerate().fold(0, |acc, (i, &ci)| {
            let x_i = (0..16)
                .filter(|j| i >> j & 1 == 1)
                .fold(1, |p, j| f.mul(p, w_hat(j, x)));
            acc ^ f.mul(ci, x_i)
        })
    }

    #[test]
    fn fft_evaluates_the_novel_basis_polynomial() {
        let coefficients: Vec<u16> = (0..16u16)
            .map(|i| i.wrapping_mul(0x9E37) ^ 0x1234)
            .collect();
        for offset in [0usize, 16, 48, 512] {
            let mut rows = Rows::zeros(16, 1);
            for (u, &c) in coefficients.iter().enumerate() {
                rows.row_mut(u)[0] = c;
            }
            fft(&mut rows, 16, offset, 16);
            for u in 0..16 {
                let expected = evaluate_by_definition(&coefficients, (offset + u) as u16);
                assert_eq!(rows.row(u)[0], expected, "offset {offset} position {u}");
            }
            ifft(&mut rows, 16, offset, 16);
            for (u, &c) in coefficients.iter().enumerate() {
                assert_eq!(rows.row(u)[0], c);
            }
        }
    }

    #[test]
    fn formal_derivative_follows_the_product_rule() {
        // One basis element:
        // X_3 = Ŵ_0 · Ŵ_1, so X_3' = Ŵ_0' · Ŵ_1 + Ŵ_0 · Ŵ_1'.
        let basis = novel_basis();
        let mut rows = Rows::zeros(4, 1);
        rows.row_mut(3)[0] = 1;
        formal_derivative(&mut rows, 4);
        assert_eq!(rows.row(0)[0], 0);
        assert_eq!(rows.row(1)[0], basis.derivative[1]);
        assert_eq!(rows.row(2)[0], basis.derivative[0]);
        assert_eq!(rows.row(3)[0], 0);
        // Ŵ_0(x) = x, so its derivative is 1.
        assert_eq!(basis.derivative[0], 1);
    }
}

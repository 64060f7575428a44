//! The field GF(2^16) of GP Appendix H ("Code Word representation"), in the Cantor
//! basis the GP names `v_0 … v_15`.
//!
//! A word `m` (a little-endian octet pair) stands for the field element
//! `Σ m_j · v_j`, where `m_j` is bit `j` of `m` and `v_j` is the `j`-th Cantor basis
//! element, itself written in the polynomial basis `{1, α, …, α^15}` of
//! `F_2[x] / (x^16 + x^5 + x^3 + x^2 + 1)`. Addition is XOR in either basis;
//! multiplication goes through discrete logarithms of the polynomial-basis form.
//!
//! Clarity first: the tables are built from the definitions below, and
//! [`Field::mul_by_definition`] multiplies without them so tests can check the tables.

use std::sync::OnceLock;

/// The field polynomial `x^16 + x^5 + x^3 + x^2 + 1` (GP Appendix H).
pub(crate) const POLYNOMIAL: u32 = 0x1_002D;

/// The multiplicative group order, `2^16 − 1`.
pub(crate) const GROUP_ORDER: usize = 65_535;

/// The Cantor basis `v_0 … v_15` of GP Appendix H, each in the polynomial basis
/// (bit `i` is the coefficient of `α^i`); e.g. `v_1 = α^15+α^13+α^11+α^10+α^7+α^6+α^3+α`
/// is `0xACCA`. A Cantor basis satisfies `v_0 = 1` and `v_j^2 + v_j = v_{j−1}`,
/// which a test checks; that is what makes the novel-basis FFT's subspace
/// polynomials cheap (Lin, Chung, Han 2014).
pub(crate) const CANTOR_BASIS: [u16; 16] = [
    0x0001, 0xACCA, 0x3C0E, 0x163E, 0xC582, 0xED2E, 0x914C, 0x4012, 0x6C98, 0x10D8, 0x6A72, 0xB900,
    0xFDB8, 0xFB34, 0xFF38, 0x991E,
];

/// Log and exp tables of GF(2^16) over Cantor-basis words.
pub(crate) struct Field {
    /// `log[w]`: the discrete logarithm, base `α`, of the element word `w` stands for
    /// (`log[0]` is unused).
    log: Vec<u16>,
    /// `exp[i]`: the Cantor-basis word of `α^i`, for `i < 2 · GROUP_ORDER` so a sum of
    /// two logarithms indexes it without a reduction.
    exp: Vec<u16>,
}

/// The one shared table set (built on first use, about 0.4 MB).
pub(crate) fn field() -> &'static Field {
    static FIELD: OnceLock<Field> = OnceLock::new();
    FIELD.get_or_init(Field::build)
}

/// The polynomial-basis form of a Cantor-basis word: `Σ m_j · v_j`.
pub(crate) fn to_polynomial_basis(word: u16) -> u16 {
    CANTOR_BASIS
        .iter()
        .enumerate()
        .filter(|(j, _)| word >> j & 1 == 1)
        .fold(0, |acc, (_, v)| acc ^ v)
}

/// Multiply two polynomial-basis elements: carry-less product reduced modulo
/// [`POLYNOMIAL`].
pub(crate) fn polynomial_mul(a: u16, b: u16) -> u16 {
    let mut product: u32 = 0;
    for i in 0..16 {
        if b >> i & 1 == 1 {
            product ^= u32::from(a) << i;
        }
    }
    for bit in (16..32).rev() {
        if product >> bit & 1 == 1 {
            product ^= POLYNOMIAL << (bit - 16);
        }
    }
    product as u16
}

impl Field {
    fn build() -> Field {
        // The inverse of `to_polynomial_basis`; it is a bijection because the
        // Cantor basis is a basis (checked by a test).
        let mut cantor_of = vec![0u16; 1 << 16];
        for word in 0..=u16::MAX {
            cantor_of[usize::from(to_polynomial_basis(word))] = word;
        }
        let mut log = vec![0u16; 1 << 16];
        let mut exp = vec![0u16; 2 * GROUP_ORDER];
        // α = x is a generator of the multiplicative group (the polynomial is primitive).
        let mut power: u16 = 1;
        for i in 0..GROUP_ORDER {
            let word = cantor_of[usize::from(power)];
            exp[i] = word;
            exp[i + GROUP_ORDER] = word;
            log[usize::from(word)] = i as u16;
            power = polynomial_mul(power, 2);
        }
        Field { log, exp }
    }

    /// The whole log table, indexed by word (for the GPU backend's storage buffer).
    pub(crate) fn log_table(&self) -> &[u16] {
        &self.log
    }

    /// The whole exp table, `2 · GROUP_ORDER` entries (for the GPU backend).
    pub(crate) fn exp_table(&self) -> &[u16] {
        &self.exp
    }

    /// The discrete logarithm of a non-zero element.
    pub(crate) fn log(&self, a: u16) -> usize {
        usize::from(self.log[usize::from(a)])
    }

    /// `a · b`.
    pub(crate) fn mul(&self, a: u16, b: u16) -> u16 {
        if a == 0 || b == 0 {
            0
        } else {
            self.exp[self.log(a) + self.log(b)]
        }
    }

    /// `a · b` where `log_b` is the logarithm of a non-zero `b`: the inner loop of the
    /// FFT butterflies, where one factor is fixed per block.
    pub(crate) fn mul_log(&self, a: u16, log_b: usize) -> u16 {
        if a == 0 {
            0
        } else {
            self.exp[self.log(a) + log_b]
        }
    }

    /// `1 / a` for non-zero `a`.
    pub(crate) fn inv(&self, a: u16) -> u16 {
        self.exp[GROUP_ORDER - self.log(a)]
    }

    /// `a / b` for non-zero `b`.
    pub(crate) fn div(&self, a: u16, b: u16) -> u16 {
        self.mul(a, self.inv(b))
    }

    /// `a · b` straight from the definitions, without tables (for tests).
    #[cfg(test)]
    pub(crate) fn mul_by_definition(a: u16, b: u16) -> u16 {
        let product = polynomial_mul(to_polynomial_basis(a), to_polynomial_basis(b));
        (0..=u16::MAX)
            .find(|&w| to_polynomial_basis(w) == product)
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cantor_basis_is_a_cantor_basis() {
        assert_eq!(CANTOR_BASIS[0], 1);
        for j in 1..16 {
            let v = CANTOR_BASIS[j];
            assert_eq!(
                polynomial_mul(v, v) ^ v,
                CANTOR_BASIS[j - 1],
                "v_{j}^2 + v_{j} = v_{}",
                j - 1
            );
        }
        let mut seen = vec![false; 1 << 16];
        for w in 0..=u16::MAX {
            seen[usize::from(to_polynomial_basis(w))] = true;
        }
        assert!(seen.iter().all(|&s| s), "the basis spans GF(2^16)");
    }

    #[test]
    fn tables_agree_with_the_definition() {
        let f = field();
        let samples = [
            0u16, 1, 2, 3, 0x8000, 0xACCA, 0xFFFF, 0x1234, 0xBEEF, 0x0F0F,
        ];
        for &a in &samples {
            for &b in &samples[..5] {
                assert_eq!(
                    f.mul(a, b),
                    Field::mul_by_definition(a, b),
                    "{a:#x} * {b:#x}"
                );
            }
            if a != 0 {
                assert_eq!(f.mul(a, f.inv(a)), 1);
                assert_eq!(f.div(f.mul(a, 0x5555), a), 0x5555);
            }
        }
    }
}

//! Register-word arithmetic of GP A.1: the sign functions `Z_n` / `Z_n⁻¹` (A.10, A.11)
//! and the signed extension `X_n` (A.16), plus the few width-changing casts they need.
//!
//! This is the only module allowed to use `as`: every cast here is a deliberate
//! truncation or two's-complement reinterpretation, named for what it does.
#![allow(clippy::as_conversions)]

/// `x mod 2^32`.
#[inline(always)]
pub(crate) const fn lo32(x: u64) -> u32 {
    x as u32
}

/// `x mod 2^16`.
#[inline(always)]
pub(crate) const fn lo16(x: u64) -> u16 {
    x as u16
}

/// `x mod 2^8`.
#[inline(always)]
pub(crate) const fn lo8(x: u64) -> u8 {
    x as u8
}

/// `X_4(x mod 2^32)`: sign-extend the low 32 bits to a register word.
#[inline(always)]
pub(crate) const fn sx32(x: u64) -> u64 {
    x as u32 as i32 as i64 as u64
}

/// `X_2(x mod 2^16)`.
#[inline(always)]
pub(crate) const fn sx16(x: u64) -> u64 {
    x as u16 as i16 as i64 as u64
}

/// `X_1(x mod 2^8)`.
#[inline(always)]
pub(crate) const fn sx8(x: u64) -> u64 {
    x as u8 as i8 as i64 as u64
}

/// `Z_8(x)`: the word read as a signed 64-bit integer.
#[inline(always)]
pub(crate) const fn signed(x: u64) -> i64 {
    x as i64
}

/// `Z_8⁻¹(x)`.
#[inline(always)]
pub(crate) const fn unsigned(x: i64) -> u64 {
    x as u64
}

/// `Z_4(x mod 2^32)`.
#[inline(always)]
pub(crate) const fn signed32(x: u64) -> i32 {
    x as u32 as i32
}

/// `Z_8⁻¹` of a 32-bit signed value (sign-extends).
#[inline(always)]
pub(crate) const fn unsigned_from32(x: i32) -> u64 {
    x as i64 as u64
}

/// `⌊Z_8(a) · Z_8(b) / 2^64⌋` (mul_upper_s_s).
#[inline(always)]
pub(crate) const fn mul_high_ss(a: u64, b: u64) -> u64 {
    ((a as i64 as i128 * b as i64 as i128) >> 64) as u64
}

/// `⌊a · b / 2^64⌋` (mul_upper_u_u).
#[inline(always)]
pub(crate) const fn mul_high_uu(a: u64, b: u64) -> u64 {
    ((a as u128 * b as u128) >> 64) as u64
}

/// `⌊Z_8(a) · b / 2^64⌋` (mul_upper_s_u); |product| < 2^127 so i128 is exact and `>>`
/// is the floor.
#[inline(always)]
pub(crate) const fn mul_high_su(a: u64, b: u64) -> u64 {
    ((a as i64 as i128 * b as i128) >> 64) as u64
}

/// A shift or rotate amount: `x mod 2^bits` as the `u32` that Rust's shifts take.
#[inline(always)]
pub(crate) const fn amount(x: u64, bits: u32) -> u32 {
    (x % bits as u64) as u32
}

/// GP A.16, `X_n`: sign-extend an `n`-octet little-endian value (`n ≤ 8`) to a word.
#[inline(always)]
pub(crate) const fn sext(x: u64, n: u32) -> u64 {
    match n {
        0 => 0,
        8.. => x,
        _ => {
            let shift = 64 - 8 * n;
            (((x << shift) as i64) >> shift) as u64
        }
    }
}

/// Widen a `u32` to `usize` (lossless on every target this crate supports).
#[inline(always)]
pub(crate) const fn idx(x: u32) -> usize {
    x as usize
}

/// `usize` → `u32`, saturating (only used for lengths already bounded by `u32`).
#[inline(always)]
pub(crate) fn to_u32(x: usize) -> u32 {
    u32::try_from(x).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sext_matches_gp_formula() {
        // X_n(x) = x + ⌊x / 2^(8n-1)⌋ (2^64 − 2^(8n)), checked in u128.
        for n in 1..=4u32 {
            for x in [
                0u64,
                1,
                0x7f,
                0x80,
                0xff,
                0x7fff,
                0x8000,
                0xffff,
                0x8000_0000,
                0xffff_ffff,
            ] {
                let x = x & ((1u64 << (8 * n)) - 1);
                let want = (u128::from(x)
                    + u128::from(x >> (8 * n - 1)) * ((1u128 << 64) - (1u128 << (8 * n))))
                    % (1u128 << 64);
                assert_eq!(u128::from(sext(x, n)), want, "n={n} x={x:#x}");
            }
        }
        assert_eq!(sext(0, 0), 0);
    }

    #[test]
    fn mul_high_forms() {
        assert_eq!(mul_high_uu(u64::MAX, u64::MAX), u64::MAX - 1);
        assert_eq!(mul_high_ss(u64::MAX, u64::MAX), 0); // (-1)(-1) = 1
        assert_eq!(mul_high_su(u64::MAX, 2), u64::MAX); // -2 → floor(-2 / 2^64) = -1
        assert_eq!(mul_high_ss(1 << 63, 1 << 63), 1 << 62); // (-2^63)^2 / 2^64
    }
}

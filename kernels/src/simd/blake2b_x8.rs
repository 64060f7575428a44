//! Blake2b-256 (RFC 7693; GP §3.8.1's `H`) of eight single-block inputs at once on
//! AVX-512: one 64-bit word of each of the eight states per 512-bit register, so each
//! `G` step is a handful of vector additions, XORs and native 64-bit rotations
//! (`vprorq`), where blake2b_simd's AVX2 path runs four lanes and builds rotations from
//! shuffles and shifts.
//!
//! The availability pipeline hashes millions of short preimages — a segment-shard
//! Merkle node is `$node ⌢ l ⌢ r`, 28 to 68 octets, one 128-octet block — and `V`
//! bundle chunks of one length. So the kernel takes eight inputs that either all fit
//! one block or all have the same length; [`crate::hashing`] sends it batches of
//! those, and everything else stays on blake2b_simd. Checked against the reference on
//! every length `0..=128` and on equal-length multi-block groups
//! (`kernels/tests/backends.rs`).

use super::features;

/// The longest input this kernel hashes: one Blake2b block.
pub const BLOCK: usize = 128;

/// Whether this CPU runs the kernel: it has AVX-512F and the program has not switched
/// the kernel off ([`super::SimdConfig::avx512_blake2b`], for A/B measurements against
/// blake2b_simd).
pub fn available() -> bool {
    features::avx512_blake2b()
}

/// `H(x)` of eight inputs that either all fit one block ([`BLOCK`] octets, lengths
/// free) or all have the same length (any); `None` if the CPU lacks the features or the
/// inputs are neither.
pub fn hash8(inputs: [&[u8]; 8]) -> Option<[[u8; 32]; 8]> {
    let len = inputs[0].len();
    let single = inputs.iter().all(|x| x.len() <= BLOCK);
    if !available() || !(single || inputs.iter().all(|x| x.len() == len)) {
        return None;
    }
    #[cfg(target_arch = "x86_64")]
    {
        let blocks = if single {
            1
        } else {
            len.div_ceil(BLOCK).max(1)
        };
        // SAFETY: `available` checked AVX-512F (`features::avx512f_cpu`), the only
        // feature `State` uses.
        let mut state = unsafe { x86::State::new() };
        for b in 0..blocks {
            // m[i][lane]: message word i of each lane's block b, zero-padded.
            let mut m = [[0u64; 8]; 16];
            let mut counter = [0u64; 8];
            for (lane, x) in inputs.iter().enumerate() {
                let block = x
                    .get(b * BLOCK..x.len().min((b + 1) * BLOCK))
                    .unwrap_or(&[]);
                let (words, tail) = block.as_chunks::<8>();
                for (row, word) in m.iter_mut().zip(words) {
                    row[lane] = u64::from_le_bytes(*word);
                }
                if let Some(row) = m.get_mut(words.len()).filter(|_| !tail.is_empty()) {
                    let mut w = [0u8; 8];
                    w[..tail.len()].copy_from_slice(tail);
                    row[lane] = u64::from_le_bytes(w);
                }
                // The octet counter t: octets hashed so far, this block included.
                counter[lane] = (x.len().min((b + 1) * BLOCK)) as u64;
            }
            // SAFETY: as above.
            unsafe { state.compress(&m, &counter, b + 1 == blocks) };
        }
        // SAFETY: as above.
        let h = unsafe { state.digests() };
        let mut out = [[0u8; 32]; 8];
        for (lane, digest) in out.iter_mut().enumerate() {
            for (i, octets) in digest.chunks_exact_mut(8).enumerate() {
                octets.copy_from_slice(&h[i][lane].to_le_bytes());
            }
        }
        Some(out)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        None
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    /// The Blake2b IV (the SHA-512 IV).
    const IV: [u64; 8] = [
        0x6a09e667f3bcc908,
        0xbb67ae8584caa73b,
        0x3c6ef372fe94f82b,
        0xa54ff53a5f1d36f1,
        0x510e527fade682d1,
        0x9b05688c2b3e6c1f,
        0x1f83d9abfb41bd6b,
        0x5be0cd19137e2179,
    ];

    /// The message schedule σ of rounds 0..10 (rounds 10 and 11 reuse 0 and 1).
    const SIGMA: [[usize; 16]; 10] = [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
        [14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3],
        [11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4],
        [7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8],
        [9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13],
        [2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9],
        [12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11],
        [13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10],
        [6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5],
        [10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0],
    ];

    #[inline]
    #[target_feature(enable = "avx512f")]
    fn load(words: &[u64; 8]) -> __m512i {
        // SAFETY: `words` is 64 readable octets; the load is unaligned.
        unsafe { _mm512_loadu_si512(words.as_ptr().cast()) }
    }

    /// The mixing function G (RFC 7693 §3.1) on columns `a, b, c, d` of `v`.
    #[inline]
    #[target_feature(enable = "avx512f")]
    #[allow(clippy::many_single_char_names)]
    fn g(
        v: &mut [__m512i; 16],
        (a, b, c, d): (usize, usize, usize, usize),
        x: __m512i,
        y: __m512i,
    ) {
        v[a] = _mm512_add_epi64(_mm512_add_epi64(v[a], v[b]), x);
        v[d] = _mm512_ror_epi64::<32>(_mm512_xor_si512(v[d], v[a]));
        v[c] = _mm512_add_epi64(v[c], v[d]);
        v[b] = _mm512_ror_epi64::<24>(_mm512_xor_si512(v[b], v[c]));
        v[a] = _mm512_add_epi64(_mm512_add_epi64(v[a], v[b]), y);
        v[d] = _mm512_ror_epi64::<16>(_mm512_xor_si512(v[d], v[a]));
        v[c] = _mm512_add_epi64(v[c], v[d]);
        v[b] = _mm512_ror_epi64::<63>(_mm512_xor_si512(v[b], v[c]));
    }

    /// Eight Blake2b-256 states, word `i` of every lane in `h[i]`.
    pub(super) struct State {
        h: [__m512i; 8],
    }

    impl State {
        /// The initial state. Parameter block: digest length 32, no key, fanout 1,
        /// depth 1.
        #[target_feature(enable = "avx512f")]
        pub(super) fn new() -> State {
            State {
                h: std::array::from_fn(|i| {
                    let word = if i == 0 { IV[0] ^ 0x0101_0020 } else { IV[i] };
                    _mm512_set1_epi64(word as i64)
                }),
            }
        }

        /// The compression function F (RFC 7693 §3.2) of one block per lane, with each
        /// lane's octet counter `t` (< 2^64 here) and the final-block flag.
        #[target_feature(enable = "avx512f")]
        pub(super) fn compress(&mut self, m: &[[u64; 8]; 16], t: &[u64; 8], last: bool) {
            let m: [__m512i; 16] = std::array::from_fn(|i| load(&m[i]));
            let mut v: [__m512i; 16] = std::array::from_fn(|i| {
                if i < 8 {
                    self.h[i]
                } else {
                    _mm512_set1_epi64(IV[i - 8] as i64)
                }
            });
            v[12] = _mm512_xor_si512(v[12], load(t));
            if last {
                v[14] = _mm512_xor_si512(v[14], _mm512_set1_epi64(-1));
            }
            for r in 0..12 {
                let s = &SIGMA[r % 10];
                g(&mut v, (0, 4, 8, 12), m[s[0]], m[s[1]]);
                g(&mut v, (1, 5, 9, 13), m[s[2]], m[s[3]]);
                g(&mut v, (2, 6, 10, 14), m[s[4]], m[s[5]]);
                g(&mut v, (3, 7, 11, 15), m[s[6]], m[s[7]]);
                g(&mut v, (0, 5, 10, 15), m[s[8]], m[s[9]]);
                g(&mut v, (1, 6, 11, 12), m[s[10]], m[s[11]]);
                g(&mut v, (2, 7, 8, 13), m[s[12]], m[s[13]]);
                g(&mut v, (3, 4, 9, 14), m[s[14]], m[s[15]]);
            }
            for i in 0..8 {
                self.h[i] = _mm512_xor_si512(_mm512_xor_si512(self.h[i], v[i]), v[i + 8]);
            }
        }

        /// The 32-octet digests' state words, `out[i][lane]`.
        #[target_feature(enable = "avx512f")]
        pub(super) fn digests(&self) -> [[u64; 8]; 4] {
            let mut out = [[0u64; 8]; 4];
            for (words, h) in out.iter_mut().zip(&self.h) {
                // SAFETY: `words` is 64 writable octets; the store is unaligned.
                unsafe { _mm512_storeu_si512(words.as_mut_ptr().cast(), *h) };
            }
            out
        }
    }
}

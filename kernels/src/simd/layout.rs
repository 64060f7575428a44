//! The vectors' little-endian words versus the GF(2^16) element layout of
//! reed-solomon-simd's engines.
//!
//! The engines work on 64-octet blocks of 32 field elements: octet `j` holds the low
//! half of element `j` and octet `32 + j` its high half. The vectors read a shard as
//! consecutive little-endian words. A shard's final partial block of `t` octets puts
//! its `t/2` words at elements `0..t/2` the same way (the rest is zero and ignored), so
//! one rule covers every block and a column of blocks can be converted on its own.
//!
//! The conversion is fused with the copy into (and out of) the engine's working space,
//! one cache-sized column stripe at a time, so it costs one pass over the data — the
//! same pass reed-solomon-simd's own `add_original_shard` and result copy make. Where
//! the GFNI kernels run ([`super::features::gfni`]), whole blocks are permuted with one
//! AVX-512VBMI `vpermb` each; elsewhere eight octets at a time in 64-bit registers.

use super::features;

/// Octets per engine block.
pub(super) const BLOCK: usize = 64;

/// The even-indexed octets of `x` (little-endian), packed into the low 32 bits.
#[inline(always)]
fn even_octets(x: u64) -> u64 {
    let t = x & 0x00FF_00FF_00FF_00FF;
    let t = (t | (t >> 8)) & 0x0000_FFFF_0000_FFFF;
    (t | (t >> 16)) & 0x0000_0000_FFFF_FFFF
}

/// Spread the low 32 bits of `x` over the even-indexed octets.
#[inline(always)]
fn spread_octets(x: u64) -> u64 {
    let t = x & 0x0000_0000_FFFF_FFFF;
    let t = (t | (t << 16)) & 0x0000_FFFF_0000_FFFF;
    (t | (t << 8)) & 0x00FF_00FF_00FF_00FF
}

/// Split one whole block of words into low and high halves, eight octets (four
/// words) at a time in 64-bit registers.
#[inline]
fn split_block(words: &[u8; BLOCK], out: &mut [u8; BLOCK]) {
    let (low, high) = out.split_at_mut(BLOCK / 2);
    for ((w, l), h) in words
        .chunks_exact(8)
        .zip(low.chunks_exact_mut(4))
        .zip(high.chunks_exact_mut(4))
    {
        let mut x = [0u8; 8];
        x.copy_from_slice(w);
        let x = u64::from_le_bytes(x);
        l.copy_from_slice(&(even_octets(x) as u32).to_le_bytes());
        h.copy_from_slice(&(even_octets(x >> 8) as u32).to_le_bytes());
    }
}

/// Join one whole block's halves back into words.
#[inline]
fn join_block(block: &[u8; BLOCK], out: &mut [u8; BLOCK]) {
    let (low, high) = block.split_at(BLOCK / 2);
    for ((w, l), h) in out
        .chunks_exact_mut(8)
        .zip(low.chunks_exact(4))
        .zip(high.chunks_exact(4))
    {
        let mut lo = [0u8; 4];
        lo.copy_from_slice(l);
        let mut hi = [0u8; 4];
        hi.copy_from_slice(h);
        let x = spread_octets(u64::from(u32::from_le_bytes(lo)))
            | (spread_octets(u64::from(u32::from_le_bytes(hi))) << 8);
        w.copy_from_slice(&x.to_le_bytes());
    }
}

/// Words (`words`, up to `64 · blocks.len()` octets; missing octets, an odd last one's
/// high half included, read as zero) into engine blocks.
pub(super) fn to_blocks(words: &[u8], blocks: &mut [[u8; BLOCK]]) {
    let (whole, _) = words.as_chunks::<BLOCK>();
    let whole = &whole[..whole.len().min(blocks.len())];
    let (blocks, mut rest) = if split_blocks(whole, &mut blocks[..whole.len()]) {
        (&mut blocks[whole.len()..], &words[whole.len() * BLOCK..])
    } else {
        (blocks, words)
    };
    for block in blocks.iter_mut() {
        match rest.split_first_chunk::<BLOCK>() {
            Some((whole, tail)) => {
                split_block(whole, block);
                rest = tail;
            }
            None => {
                *block = [0; BLOCK];
                let (low, high) = block.split_at_mut(BLOCK / 2);
                // An odd final octet (an unpadded blob's last) is a word whose high
                // octet is padding, zero.
                for ((pair, l), h) in rest.chunks(2).zip(low).zip(high) {
                    *l = pair[0];
                    *h = pair.get(1).copied().unwrap_or(0);
                }
                rest = &[];
            }
        }
    }
}

/// Engine blocks back into words: fills `out` (at most `64 · blocks.len()` octets).
pub(super) fn from_blocks(blocks: &[[u8; BLOCK]], out: &mut [u8]) {
    let whole = (out.len() / BLOCK).min(blocks.len());
    let (head, tail) = out.split_at_mut(whole * BLOCK);
    let (blocks, out) = if join_blocks(&blocks[..whole], head.as_chunks_mut().0) {
        (&blocks[whole..], tail)
    } else {
        (blocks, out)
    };
    let mut out_blocks = out.chunks_exact_mut(BLOCK);
    let mut used = 0;
    for (block, out_block) in blocks.iter().zip(&mut out_blocks) {
        if let Ok(out_block) = <&mut [u8; BLOCK]>::try_from(out_block) {
            join_block(block, out_block);
        }
        used += 1;
    }
    let tail = out_blocks.into_remainder();
    if let Some(block) = blocks.get(used) {
        let (low, high) = block.split_at(BLOCK / 2);
        for ((pair, l), h) in tail.chunks_exact_mut(2).zip(low).zip(high) {
            pair[0] = *l;
            pair[1] = *h;
        }
    }
}

/// Whole blocks of little-endian words into engine blocks (low octets, then high), one
/// `vpermb` per block, where the GFNI kernels run (the same switch: the A/B
/// measurement against reed-solomon-simd's engine turns both off); `false` (nothing
/// done) elsewhere.
fn split_blocks(words: &[[u8; BLOCK]], blocks: &mut [[u8; BLOCK]]) -> bool {
    #[cfg(target_arch = "x86_64")]
    if features::gfni() {
        // SAFETY: `gfni` checked AVX-512F and AVX-512VBMI (and GFNI).
        unsafe { x86::permute_blocks(words, blocks, false) };
        return true;
    }
    let _ = (words, blocks);
    false
}

/// The inverse of [`split_blocks`].
fn join_blocks(blocks: &[[u8; BLOCK]], words: &mut [[u8; BLOCK]]) -> bool {
    #[cfg(target_arch = "x86_64")]
    if features::gfni() {
        // SAFETY: as in `split_blocks`.
        unsafe { x86::permute_blocks(blocks, words, true) };
        return true;
    }
    let _ = (blocks, words);
    false
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::BLOCK;

    /// `to[i]` ← `from[i]` permuted: split (`join` false: octet `2j` to `j`, `2j + 1`
    /// to `32 + j`) or its inverse.
    #[target_feature(enable = "avx512f,avx512vbmi")]
    pub(super) fn permute_blocks(from: &[[u8; BLOCK]], to: &mut [[u8; BLOCK]], join: bool) {
        let index: [u8; BLOCK] = std::array::from_fn(|i| {
            let i = i as u8;
            match (join, i < 32) {
                (false, true) => 2 * i,
                (false, false) => 2 * (i - 32) + 1,
                (true, _) if i.is_multiple_of(2) => i / 2,
                (true, _) => 32 + i / 2,
            }
        });
        // SAFETY (all three): each block is 64 readable (or writable) octets; the
        // loads and stores are unaligned.
        let index = unsafe { _mm512_loadu_si512(index.as_ptr().cast()) };
        for (f, t) in from.iter().zip(to.iter_mut()) {
            let v = unsafe { _mm512_loadu_si512(f.as_ptr().cast()) };
            unsafe {
                _mm512_storeu_si512(t.as_mut_ptr().cast(), _mm512_permutexvar_epi8(index, v))
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_round_trip_and_split_words() {
        for len in [0usize, 2, 6, 62, 64, 66, 128, 190] {
            let words: Vec<u8> = (0..len).map(|i| i as u8 + 1).collect();
            let mut blocks = vec![[0xAA; BLOCK]; len.div_ceil(BLOCK)];
            to_blocks(&words, &mut blocks);
            if len > 0 {
                // Word 0's low octet at 0, its high octet at 32.
                assert_eq!(blocks[0][0], 1);
                assert_eq!(blocks[0][32], 2);
            }
            if len % BLOCK != 0 {
                // The unused elements of a partial block are zero.
                let last = blocks.last().unwrap();
                assert_eq!(last[31], 0);
                assert_eq!(last[63], 0);
            }
            let mut back = vec![0; len];
            from_blocks(&blocks, &mut back);
            assert_eq!(back, words);
        }
    }
}

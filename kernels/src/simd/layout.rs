//! reed-solomon-simd's in-memory shard layout versus the vectors' little-endian words.
//!
//! reed-solomon-simd stores each 64-octet block of a shard (32 words) as the 32 low
//! octets followed by the 32 high octets; a final partial block of `t` octets holds its
//! `t/2` low octets then its `t/2` high octets (its `Shards::insert`). The vectors read a
//! shard as consecutive little-endian words. Converting the layout once per shard, rather
//! than calling the encoder once per word position, keeps a whole blob in one call; and
//! since the library accepts any even shard size, no padding to 64 octets is needed.

/// Octets per block of reed-solomon-simd's layout.
const BLOCK: usize = 64;

/// Little-endian words (`words`) to reed-solomon-simd's layout (`out`, same length).
pub(super) fn to_simd_layout(words: &[u8], out: &mut [u8]) {
    let whole = words.len() / BLOCK * BLOCK;
    let (words_whole, words_tail) = words.split_at(whole);
    let (out_whole, out_tail) = out.split_at_mut(whole.min(out.len()));
    // Whole blocks have a fixed length, which lets the compiler vectorise the shuffle.
    for (block, out_block) in words_whole
        .chunks_exact(BLOCK)
        .zip(out_whole.chunks_exact_mut(BLOCK))
    {
        let (low, high) = out_block.split_at_mut(BLOCK / 2);
        for j in 0..BLOCK / 2 {
            low[j] = block[2 * j];
            high[j] = block[2 * j + 1];
        }
    }
    let (low, high) = out_tail.split_at_mut(words_tail.len() / 2);
    for ((pair, l), h) in words_tail.chunks_exact(2).zip(low).zip(high) {
        *l = pair[0];
        *h = pair[1];
    }
}

/// reed-solomon-simd's layout (`simd`) back to little-endian words (`out`, same length).
pub(super) fn from_simd_layout(simd: &[u8], out: &mut [u8]) {
    let whole = simd.len() / BLOCK * BLOCK;
    let (simd_whole, simd_tail) = simd.split_at(whole);
    let (out_whole, out_tail) = out.split_at_mut(whole.min(out.len()));
    for (block, out_block) in simd_whole
        .chunks_exact(BLOCK)
        .zip(out_whole.chunks_exact_mut(BLOCK))
    {
        let (low, high) = block.split_at(BLOCK / 2);
        for j in 0..BLOCK / 2 {
            out_block[2 * j] = low[j];
            out_block[2 * j + 1] = high[j];
        }
    }
    let (low, high) = simd_tail.split_at(simd_tail.len() / 2);
    for ((pair, l), h) in out_tail.chunks_exact_mut(2).zip(low).zip(high) {
        pair[0] = *l;
        pair[1] = *h;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_round_trips_and_splits_each_block() {
        for len in [2usize, 6, 62, 64, 66, 128, 190] {
            let words: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let mut simd = vec![0; len];
            to_simd_layout(&words, &mut simd);
            // First block: low octets (even positions) first.
            let first = len.min(BLOCK);
            assert_eq!(simd[0], 0);
            assert_eq!(simd[first / 2], 1);
            let mut back = vec![0; len];
            from_simd_layout(&simd, &mut back);
            assert_eq!(back, words);
        }
    }
}

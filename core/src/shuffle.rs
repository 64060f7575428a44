//! The Fisher–Yates shuffle `F` and the numeric-sequence-from-hash function `Q`,
//! GP Appendix F (shuffling.tex).
//!
//! The shuffle is a consensus rule, not a statistics utility: it fixes the
//! guarantor-to-core assignment (§11.3, eq. 11.19–11.21), the Safrole fallback key
//! sequence (§6) and audit selection (§17), so every node must produce the very same
//! permutation from the same entropy, modulo bias included.

use crate::hash::{blake2b_256_concat, Hash};

/// Why [`fisher_yates`] cannot shuffle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ShuffleError {
    /// `F` consumes one number per element: `r ∈ ℕ_{l:}` must be at least as long as `s`.
    #[error("shuffling {needed} items needs {needed} random numbers, {given} given")]
    TooFewNumbers {
        /// `l = |s|`.
        needed: usize,
        /// `|r|`.
        given: usize,
    },
}

/// `F(s, r)`, GP (F.1): the Fisher–Yates shuffle of `s` driven by the numbers `r`.
///
/// `F(s, r) = [s_{r₀ mod l}] ⌢ F(s′_{…l−1}, r_{1…})` where `s′ = s` except
/// `s′_{r₀ mod l} = s_{l−1}`, and `F([], r) = []`. That is: pick index `r₀ mod l`,
/// move the last element into the hole, drop the last place, repeat. Numbers beyond
/// the first `l` are ignored; fewer than `l` is an error.
pub fn fisher_yates<T: Clone>(s: &[T], r: &[u32]) -> Result<Vec<T>, ShuffleError> {
    if r.len() < s.len() {
        return Err(ShuffleError::TooFewNumbers {
            needed: s.len(),
            given: r.len(),
        });
    }
    Ok(shuffle_with(s, r.iter().copied()))
}

/// `F(s, h) = F(s, Q_l(h))`, GP (F.3): shuffle `s` with numbers drawn from `entropy`.
pub fn shuffle_by_entropy<T: Clone>(s: &[T], entropy: &Hash) -> Vec<T> {
    shuffle_with(s, SequenceFromHash::new(entropy))
}

/// `Q_l(h)`, GP (F.2): the first `l` numbers drawn from `h`; see [`SequenceFromHash`].
pub fn sequence_from_hash(h: &Hash, l: usize) -> Vec<u32> {
    SequenceFromHash::new(h).take(l).collect()
}

/// The sequence `Q(h)` of GP (F.2) as an endless iterator:
/// `Q(h)_i = E₄⁻¹(H(h ⌢ E₄(⌊i/8⌋))_{4i mod 32 …})`.
///
/// Each Blake2b-256 digest yields eight 4-octet little-endian words, so the digest
/// of block `⌊i/8⌋` is computed once and reused for its eight numbers. `E₄` is only
/// defined below 2³², i.e. for `i < 2³⁵`; past that (far beyond any JAM sequence)
/// the block index wraps modulo 2³² rather than panicking.
#[derive(Debug, Clone)]
pub struct SequenceFromHash {
    entropy: Hash,
    block: u32,
    words: [u32; 8],
    next: usize,
}

impl SequenceFromHash {
    /// The sequence `Q(h)`, starting at `i = 0`.
    pub fn new(h: &Hash) -> Self {
        // `next == 8` means "no digest computed yet for `block`".
        SequenceFromHash {
            entropy: *h,
            block: 0,
            words: [0; 8],
            next: 8,
        }
    }
}

impl Iterator for SequenceFromHash {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        if self.next >= self.words.len() {
            let digest = blake2b_256_concat(&[&self.entropy.0, &self.block.to_le_bytes()]);
            for (w, c) in self.words.iter_mut().zip(digest.0.chunks_exact(4)) {
                *w = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
            }
            self.block = self.block.wrapping_add(1);
            self.next = 0;
        }
        let w = self.words.get(self.next).copied();
        self.next += 1;
        w
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (usize::MAX, None)
    }
}

/// `F` with numbers from any source; stops early (never panics) if it runs dry.
fn shuffle_with<T: Clone>(s: &[T], r: impl IntoIterator<Item = u32>) -> Vec<T> {
    let mut rest = s.to_vec();
    let mut out = Vec::with_capacity(s.len());
    let mut r = r.into_iter();
    while !rest.is_empty() {
        let Some(r0) = r.next() else { break };
        // `r₀ mod l < l`, so the index is in range and fits a usize.
        let l = rest.len();
        let pick = (u64::from(r0) % l as u64) as usize;
        // `swap_remove` is exactly the GP's step: s′_{pick} = s_{l−1}, then s′_{…l−1}.
        out.push(rest.swap_remove(pick));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// F (F.1) written as the recursion reads, for comparison.
    fn f_recursive(s: &[u32], r: &[u32]) -> Vec<u32> {
        let Some((&r0, r_rest)) = r.split_first() else {
            return vec![];
        };
        if s.is_empty() {
            return vec![];
        }
        let l = s.len();
        let i = r0 as usize % l;
        let mut s2 = s.to_vec();
        s2[i] = s[l - 1];
        let mut out = vec![s[i]];
        out.extend(f_recursive(&s2[..l - 1], r_rest));
        out
    }

    #[test]
    fn empty_and_short_inputs() {
        assert_eq!(fisher_yates::<u8>(&[], &[]), Ok(vec![]));
        assert_eq!(
            fisher_yates(&[1, 2], &[5]),
            Err(ShuffleError::TooFewNumbers {
                needed: 2,
                given: 1
            })
        );
        assert!(shuffle_by_entropy::<u8>(&[], &Hash::default()).is_empty());
    }

    #[test]
    fn q_reuses_one_digest_per_eight_numbers() {
        let h = Hash::from([7u8; 32]);
        let q = sequence_from_hash(&h, 17);
        for (block, chunk) in q.chunks(8).enumerate() {
            let d = blake2b_256_concat(&[&h.0, &(block as u32).to_le_bytes()]);
            for (j, w) in chunk.iter().enumerate() {
                assert_eq!(w.to_le_bytes(), d.0[4 * j..4 * j + 4]);
            }
        }
    }

    proptest! {
        #[test]
        fn matches_the_recursive_definition(
            s in proptest::collection::vec(any::<u32>(), 0..64),
            extra in proptest::collection::vec(any::<u32>(), 0..4),
            seed in any::<[u32; 64]>(),
        ) {
            let mut r: Vec<u32> = seed[..s.len()].to_vec();
            r.extend(extra);
            prop_assert_eq!(fisher_yates(&s, &r).unwrap(), f_recursive(&s, &r));
        }

        #[test]
        fn is_a_permutation(n in 0usize..300, h in any::<[u8; 32]>()) {
            let s: Vec<usize> = (0..n).collect();
            let mut out = shuffle_by_entropy(&s, &Hash::from(h));
            out.sort_unstable();
            prop_assert_eq!(out, s);
        }
    }
}

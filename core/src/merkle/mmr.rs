//! Merkle Mountain Ranges, GP §E.2: append `A` (E.8), encoding `E_M` (E.9) and
//! super-peak `M_R` (E.10).
//!
//! An MMR is `⟦ℍ?⟧`: peak `i` is the root of a perfect tree of `2^i` appended items,
//! or `∅` when the count has no such term. The GP's BEEFY belt (recent history
//! `β_B`) is an MMR under Keccak-256, and its super-peak is the `beefy_root` of each
//! recent-history entry. Inner nodes here are `H(l ⌢ r)` with no prefix, unlike the
//! trees of §E.1.

use serde::{Deserialize, Serialize};

use super::HashFn;
use crate::codec::{Decode, Encode};
use crate::hash::Hash;

/// The prefix of each super-peak hash: `$peak` in GP (E.10).
pub const PEAK_PREFIX: &[u8] = b"peak";

/// A Merkle Mountain Range: its peaks, lowest (a single item) first. The JSON form
/// is the vectors' `{"peaks": [null | "0x…", …]}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
#[serde(deny_unknown_fields)]
pub struct Mmr {
    /// `r_i`: the root of the `2^i`-item mountain, if there is one. No bound on
    /// the count beyond the input's size: the GP gives none, and each peak takes an
    /// octet.
    #[codec(seq, name = "mmr peaks")]
    pub peaks: Vec<Option<Hash>>,
}

impl Mmr {
    /// The empty range `[]`.
    pub fn new() -> Self {
        Self::default()
    }

    /// `A(r, l, H)`, GP (E.8): append `leaf`, merging equal-sized mountains upward as
    /// a binary counter carries: `P(r, l, n)` stores `l` at the first empty peak
    /// `n`, else takes `H(r_n ⌢ l)` up to `n + 1` and empties `r_n`.
    pub fn append(&mut self, leaf: Hash, hash: HashFn) {
        let mut carry = leaf;
        for peak in self.peaks.iter_mut() {
            match peak.take() {
                None => {
                    *peak = Some(carry);
                    return;
                }
                Some(left) => {
                    let mut buf = [0u8; 64];
                    buf[..32].copy_from_slice(left.as_ref());
                    buf[32..].copy_from_slice(carry.as_ref());
                    carry = hash(&buf);
                }
            }
        }
        self.peaks.push(Some(carry));
    }

    /// [`append`](Self::append) returning the new range.
    pub fn appended(mut self, leaf: Hash, hash: HashFn) -> Self {
        self.append(leaf, hash);
        self
    }

    /// `M_R(b)`, GP (E.10): over the present peaks `h` (lowest first), the zero hash
    /// for none, `h_0` for one, and `H($peak ⌢ M_R(h_{..|h|−1}) ⌢ h_{|h|−1})`
    /// otherwise. The GP fixes `H` to Keccak-256 (`H_K`); it is an argument here.
    pub fn super_peak(&self, hash: HashFn) -> Hash {
        let mut present = self.peaks.iter().flatten();
        let Some(first) = present.next() else {
            return Hash::ZERO;
        };
        // The recursion peels the last peak off, so folding from the first is the same.
        present.fold(*first, |acc, peak| {
            let mut buf = [0u8; 4 + 64];
            buf[..4].copy_from_slice(PEAK_PREFIX);
            buf[4..36].copy_from_slice(acc.as_ref());
            buf[36..].copy_from_slice(peak.as_ref());
            hash(&buf)
        })
    }
}

/// `E_M(b)`, GP (E.9): `E(↕[¿x | x <− b])`, the peaks as a length-prefixed sequence
/// of optional hashes.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::decode_exact;
    use crate::hash::{blake2b_256, keccak_256};
    use crate::spec::ChainSpec;
    use proptest::prelude::*;

    const H: HashFn = keccak_256;

    fn h2(l: Hash, r: Hash) -> Hash {
        H(&[&l[..], &r[..]].concat())
    }

    fn peak(l: Hash, r: Hash) -> Hash {
        H(&[b"peak", &l[..], &r[..]].concat())
    }

    fn leaf(i: u8) -> Hash {
        blake2b_256(&[i])
    }

    #[test]
    fn appends_carry_like_a_binary_counter() {
        let (a, b, c) = (leaf(0), leaf(1), leaf(2));
        let mut m = Mmr::new();
        assert_eq!(m.super_peak(H), Hash::ZERO);
        m.append(a, H);
        assert_eq!(m.peaks, vec![Some(a)]);
        assert_eq!(m.super_peak(H), a);
        m.append(b, H);
        assert_eq!(m.peaks, vec![None, Some(h2(a, b))]);
        assert_eq!(m.super_peak(H), h2(a, b));
        m.append(c, H);
        assert_eq!(m.peaks, vec![Some(c), Some(h2(a, b))]);
        // Lowest peak first: the super-peak hashes the lower one on the left.
        assert_eq!(m.super_peak(H), peak(c, h2(a, b)));
        let d = leaf(3);
        m.append(d, H);
        assert_eq!(m.peaks, vec![None, None, Some(h2(h2(a, b), h2(c, d)))]);
    }

    #[test]
    fn super_peak_of_three_peaks_nests_left() {
        let (x, y, z) = (leaf(7), leaf(8), leaf(9));
        let m = Mmr {
            peaks: vec![Some(x), None, Some(y), Some(z)],
        };
        assert_eq!(m.super_peak(H), peak(peak(x, y), z));
    }

    #[test]
    fn codec_and_json_forms() {
        let x = leaf(1);
        let m = Mmr {
            peaks: vec![None, Some(x)],
        };
        let bytes = m.encode();
        let mut expect = vec![2u8, 0, 1];
        expect.extend_from_slice(&x[..]);
        assert_eq!(bytes, expect);
        let spec = ChainSpec::tiny();
        assert_eq!(decode_exact::<Mmr>(&spec, &bytes).unwrap(), m);
        assert!(decode_exact::<Mmr>(&spec, &[1, 2]).is_err());
        assert!(decode_exact::<Mmr>(&spec, &[200]).is_err());
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(json, format!("{{\"peaks\":[null,\"{x}\"]}}"));
        assert_eq!(serde_json::from_str::<Mmr>(&json).unwrap(), m);
    }

    /// The mountains of `n` items straight from the definition: split the items into
    /// perfect trees by the binary digits of `n`, largest (oldest) first.
    fn naive(items: &[Hash]) -> Vec<Option<Hash>> {
        fn perfect(v: &[Hash]) -> Hash {
            match v {
                [x] => *x,
                _ => {
                    let (l, r) = v.split_at(v.len() / 2);
                    h2(perfect(l), perfect(r))
                }
            }
        }
        let n = items.len();
        let bits = (usize::BITS - n.leading_zeros()) as usize;
        let mut peaks = vec![None; bits];
        let mut start = 0;
        for i in (0..bits).rev() {
            if n >> i & 1 == 1 {
                peaks[i] = Some(perfect(&items[start..start + (1 << i)]));
                start += 1 << i;
            }
        }
        peaks
    }

    proptest! {
        #[test]
        fn peaks_match_a_naive_recomputation(seeds in prop::collection::vec(any::<u8>(), 0..70)) {
            let items: Vec<Hash> = seeds.iter().enumerate().map(|(i, s)| blake2b_256(&[*s, i as u8])).collect();
            let mut m = Mmr::new();
            for (k, x) in items.iter().enumerate() {
                m.append(*x, H);
                prop_assert_eq!(&m.peaks, &naive(&items[..=k]));
            }
            let bytes = m.encode();
            prop_assert_eq!(decode_exact::<Mmr>(&ChainSpec::tiny(), &bytes).unwrap(), m);
        }
    }
}

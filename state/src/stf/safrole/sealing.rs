//! The seal-key sequence `γ_s` (GP safrole.tex, eqs. 6.24–6.26): the tickets of
//! the accumulator in outside-in order, or the fallback keys drawn by entropy.

use serde::{Deserialize, Serialize};
use tessera_core::codec::{Decode, Encode};
use tessera_core::hash::blake2b_256;
use tessera_core::types::{BandersnatchPublic, TicketBody};
use tessera_core::Hash;

use crate::sigma::validators::ValidatorSet;

/// `γ_s ∈ ⟦T⟧_E ∪ ⟦H_B⟧_E`: tickets, or fallback Bandersnatch keys. Encoded with
/// a tag octet (0 tickets, 1 keys) then `E` items without prefix (GP C.2). JSON
/// is `{"tickets": […]}` or `{"keys": […]}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
#[codec(tag_name = "seal-key tag", what = "seal keys (tickets or keys)")]
#[serde(rename_all = "snake_case")]
pub enum TicketsOrKeys {
    /// The winning tickets, outside-in.
    Tickets(#[codec(len = spec.epoch_length as usize)] Vec<TicketBody>),
    /// The fallback keys.
    Keys(#[codec(len = spec.epoch_length as usize)] Vec<BandersnatchPublic>),
}

/// `Z(s)` (GP 6.25): outside-in order, `[s_0, s_{n−1}, s_1, s_{n−2}, …]`.
pub fn outside_in<T: Clone>(s: &[T]) -> Vec<T> {
    let mut out = Vec::with_capacity(s.len());
    let (mut front, mut back) = (0usize, s.len());
    while front < back {
        if let Some(x) = s.get(front) {
            out.push(x.clone());
        }
        front += 1;
        if front < back {
            back -= 1;
            if let Some(x) = s.get(back) {
                out.push(x.clone());
            }
        }
    }
    out
}

/// `F(r, k)` (GP 6.26): for each slot `i` of the epoch the Bandersnatch key of
/// validator `E_4⁻¹(H(r ⌢ E_4(i))_{..4}) mod |k|`.
pub fn fallback_keys(
    entropy: &Hash,
    keys: &ValidatorSet,
    epoch_length: u32,
) -> Vec<BandersnatchPublic> {
    (0..epoch_length)
        .map(|i| {
            let digest = blake2b_256(&[&entropy[..], &i.to_le_bytes()].concat());
            let word = u32::from_le_bytes([digest[0], digest[1], digest[2], digest[3]]);
            let n = keys.0.len().max(1);
            keys.0
                .get(word as usize % n)
                .map(|k| k.bandersnatch)
                .unwrap_or_default()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// `Z` is a permutation that takes the ends alternately: even places
        /// read the sequence from the front, odd places from the back.
        #[test]
        fn outside_in_alternates_ends(s in proptest::collection::vec(any::<u32>(), 0..40)) {
            let z = outside_in(&s);
            let mut sorted_z = z.clone();
            let mut sorted_s = s.clone();
            sorted_z.sort_unstable();
            sorted_s.sort_unstable();
            prop_assert_eq!(sorted_z, sorted_s);
            for (i, x) in z.iter().enumerate() {
                let from = if i % 2 == 0 { i / 2 } else { s.len() - 1 - i / 2 };
                prop_assert_eq!(Some(x), s.get(from));
            }
        }
    }
}

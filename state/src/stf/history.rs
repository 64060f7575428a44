//! Recent history `β`, GP v0.7.2 recent_history.tex (§7): the last `H` blocks'
//! header hashes, state roots, accumulation-result super-peaks and reported work
//! packages (`β_H`), and the accumulation-result MMR, the BEEFY belt (`β_B`).
//!
//! The transition runs in two steps the GP separates: the prior state root of the
//! newest entry is filled in once the next block's header gives it (`β†_H`, 7.5),
//! and the block's own entry is appended after accumulation (7.7–7.8). [`apply`]
//! does both, as the vectors (`stf/history`) do.

use serde::{Deserialize, Serialize};
use tessera_core::codec::{Decode, Encode};
use tessera_core::hash::{keccak_256, Hash};
use tessera_core::merkle::mmr::Mmr;
use tessera_core::spec::ChainSpec;

/// One reported work package of a block: its hash `h` and segment root `e`, an
/// entry of the dictionary `p` of a recent-history item (GP 7.2).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Encode, Decode,
)]
#[serde(deny_unknown_fields)]
pub struct ReportedWorkPackage {
    /// The work-package hash (the dictionary key).
    pub hash: Hash,
    /// The exports (segment) root.
    pub exports_root: Hash,
}

/// One item of `β_H` (GP 7.2): header hash `h`, accumulation-result super-peak `b`,
/// posterior state root `s` and reported packages `p`. Encoded
/// `E(h, b, s, ↕p)` (GP C, the `β` component of the state serialization), with
/// `p` a dictionary ordered by package hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
#[serde(deny_unknown_fields)]
pub struct BlockInfo {
    /// `h`: the block's header hash.
    pub header_hash: Hash,
    /// `b`: `M_R(β'_B)`, the super-peak of the belt after this block (GP 7.8).
    pub beefy_root: Hash,
    /// `s`: the block's posterior state root; zero until the next block fills it in.
    pub state_root: Hash,
    /// `p`: the packages reported in the block, strictly ordered by hash.
    #[codec(seq, sorted_by = hash, name = "reported work packages")]
    pub reported: Vec<ReportedWorkPackage>,
}

/// `β ≡ (β_H, β_B)` (GP 7.1): the recent blocks, oldest first and at most `H`, and
/// the accumulation-result MMR.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
#[serde(deny_unknown_fields)]
pub struct RecentBlocks {
    /// `β_H`: at most `H` recent blocks, oldest first.
    #[codec(seq, max = spec.recent_history_size as usize, name = "recent history")]
    pub history: Vec<BlockInfo>,
    /// `β_B`: the BEEFY belt, an MMR of accumulation-result roots under Keccak-256.
    pub mmr: Mmr,
}

impl RecentBlocks {
    /// The exports root of package `hash` if a recent block reported it (the
    /// lookups of GP 11.37 and 11.40).
    pub fn exports_root(&self, hash: &Hash) -> Option<&Hash> {
        self.history
            .iter()
            .flat_map(|b| &b.reported)
            .find(|p| p.hash == *hash)
            .map(|p| &p.exports_root)
    }
}

/// The state part this transition reads and writes: `β`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
#[serde(deny_unknown_fields)]
pub struct State {
    /// `β`.
    pub beta: RecentBlocks,
}

/// What the block gives the transition.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
#[serde(deny_unknown_fields)]
pub struct Input {
    /// `H(H)`: the block's header hash.
    pub header_hash: Hash,
    /// `H_r`: the parent (prior) state root from the header.
    pub parent_state_root: Hash,
    /// The root of the accumulation outputs' Merkle tree (GP 7.6, `M_B` of the
    /// accumulation output pairs).
    pub accumulate_root: Hash,
    /// `((g_r)_s)_p ↦ ((g_r)_s)_e` for each guarantee `g ∈ E_G`, in any order.
    #[codec(seq, max = spec.cores(), name = "work packages")]
    pub work_packages: Vec<ReportedWorkPackage>,
}

/// The transition's output: none (the vectors' `Output ::= NULL`).
pub type Output = ();

/// Why the transition rejects its input. The vectors define no error for this
/// component; the one case here is input the reports transition already excludes.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The same work package is reported twice in one block, so `p` would not be
    /// a dictionary (the reports transition forbids it, GP reporting_assurance.tex, "no duplicate package" in `E_G`).
    #[error("work package {0} reported twice in one block")]
    DuplicateWorkPackage(Hash),
}

/// The recent-history transition `β → β'` (GP 7.5–7.8).
pub fn apply(spec: &ChainSpec, pre: &State, input: &Input) -> Result<(State, Output), Error> {
    // GP 7.8: `p`, a dictionary, so order by package hash and refuse duplicates.
    let mut reported = input.work_packages.clone();
    reported.sort_unstable_by_key(|p| p.hash);
    if let Some(w) = reported.windows(2).find(|w| w[0].hash == w[1].hash) {
        return Err(Error::DuplicateWorkPackage(w[0].hash));
    }

    // GP 7.5: β†_H, the newest entry's state root becomes the header's `H_r`.
    let mut history = pre.beta.history.clone();
    if let Some(newest) = history.last_mut() {
        newest.state_root = input.parent_state_root;
    }

    // GP 7.7: β'_B = A(β_B, r, H_K).
    let mmr = pre
        .beta
        .mmr
        .clone()
        .appended(input.accumulate_root, keccak_256);

    // GP 7.8: append (p, h, s = 0, b = M_R(β'_B)) and keep the last `H` entries.
    history.push(BlockInfo {
        header_hash: input.header_hash,
        beefy_root: mmr.super_peak(keccak_256),
        state_root: Hash::ZERO,
        reported,
    });
    let keep = spec.recent_history_size as usize;
    let excess = history.len().saturating_sub(keep);
    history.drain(..excess);

    Ok((
        State {
            beta: RecentBlocks { history, mmr },
        },
        (),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use tessera_core::codec::decode_exact;

    fn h(i: u8) -> Hash {
        Hash::from([i; 32])
    }

    fn input(i: u8, packages: Vec<ReportedWorkPackage>) -> Input {
        Input {
            header_hash: h(i),
            parent_state_root: h(i.wrapping_add(100)),
            accumulate_root: h(i.wrapping_add(200)),
            work_packages: packages,
        }
    }

    #[test]
    fn duplicate_packages_are_rejected() {
        let p = ReportedWorkPackage {
            hash: h(1),
            exports_root: h(2),
        };
        let spec = ChainSpec::tiny();
        let err = apply(&spec, &State::default(), &input(0, vec![p, p])).unwrap_err();
        assert_eq!(err, Error::DuplicateWorkPackage(h(1)));
    }

    proptest! {
        /// Any chain of blocks keeps at most `H` entries, each newest entry's prior
        /// state root is filled in by the next block, and the state round-trips
        /// through the codec.
        #[test]
        fn history_is_bounded_and_roundtrips(n in 0u8..20) {
            let spec = ChainSpec::tiny();
            let mut state = State::default();
            for i in 0..n {
                (state, ()) = apply(&spec, &state, &input(i, vec![])).unwrap();
                let len = state.beta.history.len();
                prop_assert!(len <= spec.recent_history_size as usize);
                if len >= 2 {
                    prop_assert_eq!(state.beta.history[len - 2].state_root, h(i.wrapping_add(100)));
                }
                let bytes = state.encode();
                prop_assert_eq!(decode_exact::<State>(&spec, &bytes).unwrap(), state.clone());
            }
        }
    }
}

//! `ψ ≡ (ψ_G, ψ_B, ψ_W, ψ_O)`, the record of past judgments (GP judgments.tex,
//! "State"; vectors' `DisputesRecords`).

use serde::{Deserialize, Serialize};
use tessera_core::codec::{Decode, Encode};
use tessera_core::types::Ed25519Public;
use tessera_core::Hash;

/// `ψ`: reports judged good, bad and wonky, and the Ed25519 keys of offenders.
/// Each is a set, held as a strictly ascending sequence and encoded `E(↕x)` (GP
/// C.2, the state serialization of `ψ`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
#[serde(deny_unknown_fields)]
pub struct DisputesRecords {
    /// `ψ_G`: reports judged correct.
    #[codec(seq, sorted, name = "ψ_G")]
    pub good: Vec<Hash>,
    /// `ψ_B`: reports judged incorrect.
    #[codec(seq, sorted, name = "ψ_B")]
    pub bad: Vec<Hash>,
    /// `ψ_W`: reports whose validity could not be determined.
    #[codec(seq, sorted, name = "ψ_W")]
    pub wonky: Vec<Hash>,
    /// `ψ_O`: the Ed25519 keys of validators found to have misjudged.
    #[codec(seq, sorted, name = "ψ_O")]
    pub offenders: Vec<Ed25519Public>,
}

impl DisputesRecords {
    /// Whether `report` was judged at all: `ψ_G ∪ ψ_B ∪ ψ_W` (GP 10.9).
    pub fn judged(&self, report: &Hash) -> bool {
        [&self.good, &self.bad, &self.wonky]
            .iter()
            .any(|set| set.binary_search(report).is_ok())
    }
}

/// Insert `item` into the strictly ascending `set`, keeping it so.
pub fn insert_sorted<T: Ord>(set: &mut Vec<T>, item: T) {
    if let Err(at) = set.binary_search(&item) {
        set.insert(at, item);
    }
}

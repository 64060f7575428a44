//! The disputes extrinsic `E_D ≡ (v, c, f)`, GP judgments.tex.

use serde::{Deserialize, Serialize};

use crate::codec::{Decode, Encode};
use crate::hash::Hash;
use crate::types::bounds::Check;
use crate::types::indices::ValidatorIndex;
use crate::types::keys::{Ed25519Public, Ed25519Signature};

/// A judgement `(v, i, s)`: the vote (valid or not), the judge's validator
/// index and signature. Encoded `(v, E_2(i), s)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode, Check)]
#[serde(deny_unknown_fields)]
pub struct Judgement {
    /// `v`: whether the judge found the report valid.
    pub vote: bool,
    /// `i`: the judge's validator index.
    pub index: ValidatorIndex,
    /// `s`: its Ed25519 signature.
    pub signature: Ed25519Signature,
}

/// A verdict `(r, a, j)`: the report hash, the epoch index `a` of the validator
/// set that judged (`age` in the vectors), and exactly `⌊2V/3⌋+1` judgements.
/// Encoded `(r, E_4(a), j)` with no prefix on `j`, whose length is fixed (GP C.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode, Check)]
#[serde(deny_unknown_fields)]
pub struct Verdict {
    /// `r`: the work-report hash judged.
    pub target: Hash,
    /// `a`: the epoch index of the judging validator set.
    pub age: u32,
    /// `j`: the judgements, exactly the supermajority `⌊2V/3⌋+1`.
    #[codec(len = spec.supermajority())]
    pub votes: Vec<Judgement>,
}

/// A culprit `(r, k, s)`: a guarantor of a report judged bad, by its key and its
/// guarantee signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode, Check)]
#[serde(deny_unknown_fields)]
pub struct Culprit {
    /// `r`: the work-report hash.
    pub target: Hash,
    /// `k`: the guarantor's Ed25519 key.
    pub key: Ed25519Public,
    /// `s`: its signature.
    pub signature: Ed25519Signature,
}

/// A fault `(r, v, k, s)`: a judge who voted `v` against the verdict on `r`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode, Check)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    /// `r`: the work-report hash.
    pub target: Hash,
    /// `v`: the vote cast.
    pub vote: bool,
    /// `k`: the judge's Ed25519 key.
    pub key: Ed25519Public,
    /// `s`: its signature.
    pub signature: Ed25519Signature,
}

/// `E_D ≡ (v, c, f)`, encoded `E(↕v, ↕c, ↕f)` (GP C.2). The GP's ordering rules
/// (verdicts by report hash, culprits and faults by key, judgements by index) are
/// the disputes transition's checks, with their own vector errors
/// (`verdicts_not_sorted_unique`, `culprits_not_sorted_unique`, …), so decoding
/// accepts any order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, Encode, Decode, Check)]
#[serde(deny_unknown_fields)]
pub struct DisputesExtrinsic {
    /// `v`: verdicts.
    pub verdicts: Vec<Verdict>,
    /// `c`: culprits.
    pub culprits: Vec<Culprit>,
    /// `f`: faults.
    pub faults: Vec<Fault>,
}

//! The disputes extrinsic `E_D ≡ (v, c, f)`, GP judgments.tex.

use serde::{Deserialize, Serialize};

use crate::codec::{encode_fixed_seq, Decode, DecodeError, Encode, Reader};
use crate::hash::Hash;
use crate::spec::ChainSpec;
use crate::types::bounds::{check_seq, Bound, Check, SpecViolation};
use crate::types::indices::ValidatorIndex;
use crate::types::keys::{Ed25519Public, Ed25519Signature};

/// A judgement `(v, i, s)`: the vote (valid or not), the judge's validator
/// index and signature. Encoded `(v, E_2(i), s)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Judgement {
    /// `v`: whether the judge found the report valid.
    pub vote: bool,
    /// `i`: the judge's validator index.
    pub index: ValidatorIndex,
    /// `s`: its Ed25519 signature.
    pub signature: Ed25519Signature,
}

codec_struct!(Judgement {
    vote,
    index,
    signature
});

/// A verdict `(r, a, j)`: the report hash, the epoch index `a` of the validator
/// set that judged (`age` in the vectors), and exactly `⌊2V/3⌋+1` judgements.
/// Encoded `(r, E_4(a), j)` with no prefix on `j`, whose length is fixed (GP C.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Verdict {
    /// `r`: the work-report hash judged.
    pub target: Hash,
    /// `a`: the epoch index of the judging validator set.
    pub age: u32,
    /// `j`: the judgements, exactly the supermajority `⌊2V/3⌋+1`.
    pub votes: Vec<Judgement>,
}

impl Encode for Verdict {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.target.encode_to(out);
        self.age.encode_to(out);
        encode_fixed_seq(&self.votes, out);
    }
}

impl Decode for Verdict {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Verdict {
            target: Decode::decode(r)?,
            age: Decode::decode(r)?,
            votes: r.fixed_seq(r.spec().supermajority())?,
        })
    }
}

impl Check for Verdict {
    fn check(&self, spec: &ChainSpec) -> Result<(), SpecViolation> {
        check_seq(&self.votes, Bound::Exactly(spec.supermajority()), spec)
            .map_err(|e| e.within("votes"))
    }
}

/// A culprit `(r, k, s)`: a guarantor of a report judged bad, by its key and its
/// guarantee signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Culprit {
    /// `r`: the work-report hash.
    pub target: Hash,
    /// `k`: the guarantor's Ed25519 key.
    pub key: Ed25519Public,
    /// `s`: its signature.
    pub signature: Ed25519Signature,
}

codec_struct!(Culprit {
    target,
    key,
    signature
});

/// A fault `(r, v, k, s)`: a judge who voted `v` against the verdict on `r`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
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

codec_struct!(Fault {
    target,
    vote,
    key,
    signature
});

/// `E_D ≡ (v, c, f)`, encoded `E(↕v, ↕c, ↕f)` (GP C.2). The GP's ordering rules
/// (verdicts by report hash, culprits and faults by key, judgements by index) are
/// the disputes transition's checks, with their own vector errors
/// (`verdicts_not_sorted_unique`, `culprits_not_sorted_unique`, …), so decoding
/// accepts any order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisputesExtrinsic {
    /// `v`: verdicts.
    pub verdicts: Vec<Verdict>,
    /// `c`: culprits.
    pub culprits: Vec<Culprit>,
    /// `f`: faults.
    pub faults: Vec<Fault>,
}

codec_struct!(DisputesExtrinsic {
    verdicts,
    culprits,
    faults
});

//! From judgments to the disputes extrinsic (GP v0.7.2 §10.2 and §17.3: "enough
//! judgments become the verdict material that a block author puts into the disputes
//! extrinsic").
//!
//! A verdict `(r, a, j)` carries exactly `⌊2V/3⌋ + 1` judgments, ordered by
//! validator index (GP 10.10), whose positive votes number `0` (bad), `⌊V/3⌋`
//! (wonky) or all of them (good) (GP 10.12). [`verdict`] makes one from the
//! judgments a [`BlockAudit`] has counted, when it holds enough of one kind, with
//! the faults: the counted judgments that contradict a good or bad verdict (a good
//! verdict needs at least one, GP 10.13). A bad verdict needs at least two culprits
//! (GP 10.13): the guarantors' signatures over the report ([`culprits`], from the
//! guarantee the block carried or the negative judgment's attachment). Culprits and
//! faults are sorted by key (GP 10.8).

use tessera_core::types::{Culprit, Ed25519Public, Ed25519Signature, Fault, Judgement, Verdict};
use tessera_core::{ChainSpec, Hash};

use crate::tracker::BlockAudit;

/// What kind of verdict the counted judgments support.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `⌊2V/3⌋ + 1` positive judgments: the report is good.
    Good,
    /// `⌊2V/3⌋ + 1` negative judgments: the report is bad.
    Bad,
    /// `⌊V/3⌋` positive and the rest negative, `⌊2V/3⌋ + 1` in all: wonky.
    Wonky,
}

/// A verdict and the faults that go with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Material {
    /// What the verdict says.
    pub kind: Kind,
    /// `(r, a, j)`.
    pub verdict: Verdict,
    /// The counted judgments against a good or bad verdict, sorted by key.
    pub faults: Vec<Fault>,
}

/// The verdict on `report` from the judgments `block` has counted, of the first kind
/// they support (good, then bad, then wonky), for the epoch of `block`'s validator
/// set; `None` while they support none.
pub fn verdict(spec: &ChainSpec, block: &BlockAudit, report: &Hash) -> Option<Material> {
    let r = block.report(report)?;
    let mut positive = Vec::new();
    let mut negative = Vec::new();
    for (index, valid, signature) in r.judgments() {
        let j = Judgement {
            vote: valid,
            index,
            signature,
        };
        if valid {
            positive.push(j);
        } else {
            negative.push(j);
        }
    }
    let need = spec.supermajority();
    let wonky = spec.validators() / 3;
    // The judgments against the outcome, as faults (good and bad verdicts only).
    let against = |judgments: &[Judgement]| -> Vec<Fault> {
        let mut f: Vec<Fault> = judgments
            .iter()
            .filter_map(|j| {
                Some(Fault {
                    target: *report,
                    vote: j.vote,
                    key: block.validator_key(j.index)?,
                    signature: j.signature,
                })
            })
            .collect();
        f.sort_by_key(|x| x.key);
        f
    };
    let (kind, mut votes, faults) = if positive.len() >= need {
        let faults = against(&negative);
        (
            Kind::Good,
            positive.into_iter().take(need).collect::<Vec<_>>(),
            faults,
        )
    } else if negative.len() >= need {
        let faults = against(&positive);
        (Kind::Bad, negative.into_iter().take(need).collect(), faults)
    } else if positive.len() >= wonky && negative.len() >= need - wonky {
        let mut v: Vec<Judgement> = positive.into_iter().take(wonky).collect();
        v.extend(negative.into_iter().take(need - wonky));
        (Kind::Wonky, v, Vec::new())
    } else {
        return None;
    };
    votes.sort_by_key(|j| j.index);
    Some(Material {
        kind,
        verdict: Verdict {
            target: *report,
            age: block.epoch(),
            votes,
        },
        faults,
    })
}

/// The culprits of a bad report from its guarantors' signatures `(key, signature)`
/// over `"$jam_guarantee" ⌢ H(w)`, sorted by key with duplicates dropped.
pub fn culprits(report: &Hash, guarantors: &[(Ed25519Public, Ed25519Signature)]) -> Vec<Culprit> {
    let mut out: Vec<Culprit> = guarantors
        .iter()
        .map(|(key, signature)| Culprit {
            target: *report,
            key: *key,
            signature: *signature,
        })
        .collect();
    out.sort_by_key(|c| c.key);
    out.dedup_by(|a, b| a.key == b.key);
    out
}

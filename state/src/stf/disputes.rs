//! Judgments, GP v0.7.2 §10 (judgments.tex, eqs. 10.1–10.20): the disputes
//! extrinsic `E_D = (v, c, f)` records verdicts, culprits and faults in `ψ`,
//! clears reports judged not good from `ρ` (giving `ρ†`) and names the new
//! offenders `H_O`.

use serde::{Deserialize, Serialize};
use tessera_core::codec::{Decode, Encode};
use tessera_core::crypto::ed25519;
use tessera_core::spec::ChainSpec;
use tessera_core::types::{DisputesExtrinsic, Ed25519Public, TimeSlot};
use tessera_core::Hash;

use crate::sigma::judgments::{insert_sorted, DisputesRecords};
use crate::sigma::pending::AvailabilityAssignments;
use crate::sigma::validators::ValidatorSet;

/// `X_⊤`: the context string of a judgement that the report is valid (GP 10.3).
pub const X_VALID: &[u8] = b"jam_valid";
/// `X_⊥`: the context string of a judgement that the report is invalid (GP 10.3).
pub const X_INVALID: &[u8] = b"jam_invalid";
/// `X_G`: the context string of a guarantee signature (GP 11.26), which a culprit
/// carries (GP 10.5).
pub const X_GUARANTEE: &[u8] = b"jam_guarantee";

/// The part of the state the disputes transition reads and writes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
#[serde(deny_unknown_fields)]
pub struct DisputesState {
    /// `ψ`: past judgments and offenders.
    pub psi: DisputesRecords,
    /// `ρ` before, `ρ†` after: reports pending availability.
    pub rho: AvailabilityAssignments,
    /// `τ`: the prior timeslot, which fixes the current epoch.
    pub tau: TimeSlot,
    /// `κ`: the current validators.
    pub kappa: ValidatorSet,
    /// `λ`: the previous epoch's validators.
    pub lambda: ValidatorSet,
}

/// The block data the transition consumes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
#[serde(deny_unknown_fields)]
pub struct DisputesInput {
    /// `E_D`: the disputes extrinsic.
    pub disputes: DisputesExtrinsic,
}

/// The transition's result besides the state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
#[serde(deny_unknown_fields)]
pub struct DisputesOutput {
    /// `H_O` (GP 10.20): the culprits' keys then the faults' keys.
    #[codec(seq, name = "offenders mark")]
    pub offenders_mark: Vec<Ed25519Public>,
}

/// Why a disputes extrinsic is invalid; names and codes are the vectors'.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "snake_case")]
pub enum DisputesError {
    /// GP 10.9: a verdict's report was judged before.
    #[error("report already judged")]
    AlreadyJudged,
    /// GP 10.12: a verdict's positive votes are not `0`, `⌊V/3⌋` or `⌊2V/3⌋+1`.
    #[error("verdict vote split is not 0, 1/3 or 2/3+1")]
    BadVoteSplit,
    /// GP 10.7: verdicts are not strictly ascending by report hash.
    #[error("verdicts not sorted or not unique")]
    VerdictsNotSortedUnique,
    /// GP 10.10: a verdict's judgements are not strictly ascending by index.
    #[error("judgements not sorted or not unique")]
    JudgementsNotSortedUnique,
    /// GP 10.8: culprits are not strictly ascending by key.
    #[error("culprits not sorted or not unique")]
    CulpritsNotSortedUnique,
    /// GP 10.8: faults are not strictly ascending by key.
    #[error("faults not sorted or not unique")]
    FaultsNotSortedUnique,
    /// GP 10.14: a bad verdict without two culprits.
    #[error("bad verdict without two culprits")]
    NotEnoughCulprits,
    /// GP 10.13: a good verdict without a fault.
    #[error("good verdict without a fault")]
    NotEnoughFaults,
    /// GP 10.5: a culprit's report is not judged bad.
    #[error("culprit for a report not judged bad")]
    CulpritsVerdictNotBad,
    /// GP 10.6: a fault's vote agrees with the verdict.
    #[error("fault vote agrees with the verdict")]
    FaultVerdictWrong,
    /// GP 10.5–10.6: the key is already an offender (`k ∉ ψ_O`).
    #[error("offender already reported")]
    OffenderAlreadyReported,
    /// GP 10.3: a verdict's age is neither the current nor the previous epoch.
    #[error("judgement age is not the current or previous epoch")]
    BadJudgementAge,
    /// GP 10.3: a judge index is not below `V`.
    #[error("judge index out of range")]
    BadValidatorIndex,
    /// GP 10.3, 10.5, 10.6: a signature does not verify.
    #[error("bad signature")]
    BadSignature,
    /// GP 10.5: a culprit's key is not a current or previous validator's.
    #[error("culprit key is not a validator key")]
    BadGuarantorKey,
    /// GP 10.6: a fault's key is not a current or previous validator's.
    #[error("fault key is not a validator key")]
    BadAuditorKey,
}

error_codes!(DisputesError {
    AlreadyJudged = 0,
    BadVoteSplit = 1,
    VerdictsNotSortedUnique = 2,
    JudgementsNotSortedUnique = 3,
    CulpritsNotSortedUnique = 4,
    FaultsNotSortedUnique = 5,
    NotEnoughCulprits = 6,
    NotEnoughFaults = 7,
    CulpritsVerdictNotBad = 8,
    FaultVerdictWrong = 9,
    OffenderAlreadyReported = 10,
    BadJudgementAge = 11,
    BadValidatorIndex = 12,
    BadSignature = 13,
    BadGuarantorKey = 14,
    BadAuditorKey = 15,
});

/// One signature to check: key, message, signature.
type Signed = (Ed25519Public, Vec<u8>, ed25519::Signature);

/// The message of a judgement or fault vote: `X_v ⌢ r` (GP 10.3, 10.6).
fn vote_message(vote: bool, report: &Hash) -> Vec<u8> {
    [if vote { X_VALID } else { X_INVALID }, &report[..]].concat()
}

/// Apply the disputes extrinsic (GP 10.2–10.20). All signatures of the
/// extrinsic (judgements, culprits, faults) are checked in one batch, after the
/// structural rules, so a failure maps to [`DisputesError::BadSignature`].
pub fn apply(
    spec: &ChainSpec,
    pre: &DisputesState,
    input: &DisputesInput,
) -> Result<(DisputesState, DisputesOutput), DisputesError> {
    let DisputesExtrinsic {
        verdicts,
        culprits,
        faults,
    } = &input.disputes;
    let psi = &pre.psi;
    let epoch = pre.tau / spec.epoch_length;
    let mut signed: Vec<Signed> = Vec::new();

    // GP 10.7: verdicts ordered by report hash, no duplicates.
    if verdicts.windows(2).any(|w| w[0].target >= w[1].target) {
        return Err(DisputesError::VerdictsNotSortedUnique);
    }
    let good_votes = spec.supermajority();
    let wonky_votes = spec.validators() / 3;
    // (report, positive votes) for each verdict.
    let mut tallies: Vec<(Hash, usize)> = Vec::with_capacity(verdicts.len());
    for verdict in verdicts {
        // GP 10.9: a report is judged only once.
        if psi.judged(&verdict.target) {
            return Err(DisputesError::AlreadyJudged);
        }
        // GP 10.3: judged by the current set (age = epoch) or the previous one.
        let judges = if verdict.age == epoch {
            &pre.kappa
        } else if epoch.checked_sub(1) == Some(verdict.age) {
            &pre.lambda
        } else {
            return Err(DisputesError::BadJudgementAge);
        };
        // GP 10.10: judgements ordered by validator index, no duplicates.
        if verdict.votes.windows(2).any(|w| w[0].index >= w[1].index) {
            return Err(DisputesError::JudgementsNotSortedUnique);
        }
        if verdict.votes.len() != spec.supermajority() {
            return Err(DisputesError::BadVoteSplit);
        }
        for judgement in &verdict.votes {
            let key = judges
                .ed25519(judgement.index)
                .filter(|_| usize::from(judgement.index) < spec.validators())
                .ok_or(DisputesError::BadValidatorIndex)?;
            signed.push((
                *key,
                vote_message(judgement.vote, &verdict.target),
                judgement.signature,
            ));
        }
        // GP 10.11–10.12.
        let positive = verdict.votes.iter().filter(|j| j.vote).count();
        if positive != 0 && positive != wonky_votes && positive != good_votes {
            return Err(DisputesError::BadVoteSplit);
        }
        tallies.push((verdict.target, positive));
    }

    // GP 10.15–10.18: the posterior judgment sets.
    let mut post_psi = psi.clone();
    for &(report, positive) in &tallies {
        let set = if positive == good_votes {
            &mut post_psi.good
        } else if positive == 0 {
            &mut post_psi.bad
        } else {
            &mut post_psi.wonky
        };
        insert_sorted(set, report);
    }

    // GP 10.2: k, the keys of the current and previous sets less the offenders.
    let is_validator_key = |key: &Ed25519Public| {
        pre.kappa
            .0
            .iter()
            .chain(&pre.lambda.0)
            .any(|v| v.ed25519 == *key)
    };

    // GP 10.5, 10.8: culprits.
    if culprits.windows(2).any(|w| w[0].key >= w[1].key) {
        return Err(DisputesError::CulpritsNotSortedUnique);
    }
    for culprit in culprits {
        if post_psi.bad.binary_search(&culprit.target).is_err() {
            return Err(DisputesError::CulpritsVerdictNotBad);
        }
        if psi.offenders.binary_search(&culprit.key).is_ok() {
            return Err(DisputesError::OffenderAlreadyReported);
        }
        if !is_validator_key(&culprit.key) {
            return Err(DisputesError::BadGuarantorKey);
        }
        signed.push((
            culprit.key,
            [X_GUARANTEE, &culprit.target[..]].concat(),
            culprit.signature,
        ));
    }

    // GP 10.6, 10.8: faults. A fault's vote contradicts the verdict: it voted
    // valid on a report judged bad, or invalid on one judged good.
    if faults.windows(2).any(|w| w[0].key >= w[1].key) {
        return Err(DisputesError::FaultsNotSortedUnique);
    }
    for fault in faults {
        let bad = post_psi.bad.binary_search(&fault.target).is_ok();
        let good = post_psi.good.binary_search(&fault.target).is_ok();
        if !(bad && fault.vote || good && !fault.vote) {
            return Err(DisputesError::FaultVerdictWrong);
        }
        if psi.offenders.binary_search(&fault.key).is_ok() {
            return Err(DisputesError::OffenderAlreadyReported);
        }
        if !is_validator_key(&fault.key) {
            return Err(DisputesError::BadAuditorKey);
        }
        signed.push((
            fault.key,
            vote_message(fault.vote, &fault.target),
            fault.signature,
        ));
    }

    // GP 10.13–10.14: a good verdict needs a fault, a bad one two culprits.
    for &(report, positive) in &tallies {
        if positive == good_votes && !faults.iter().any(|f| f.target == report) {
            return Err(DisputesError::NotEnoughFaults);
        }
        if positive == 0 && culprits.iter().filter(|c| c.target == report).count() < 2 {
            return Err(DisputesError::NotEnoughCulprits);
        }
    }

    // One batch for every signature of the extrinsic.
    let batch: Vec<(Ed25519Public, &[u8], ed25519::Signature)> = signed
        .iter()
        .map(|(k, m, s)| (*k, m.as_slice(), *s))
        .collect();
    if !ed25519::verify_batch(&batch).all_valid() {
        return Err(DisputesError::BadSignature);
    }

    // GP 10.19: offenders are the culprits' and faults' keys.
    let offenders_mark: Vec<Ed25519Public> = culprits
        .iter()
        .map(|c| c.key)
        .chain(faults.iter().map(|f| f.key))
        .collect();
    for key in &offenders_mark {
        insert_sorted(&mut post_psi.offenders, *key);
    }

    // GP 10.15: ρ† drops every report whose verdict was not good.
    let mut rho = pre.rho.clone();
    for slot in rho.0.iter_mut() {
        let judged_not_good = slot.as_ref().is_some_and(|pending| {
            let hash = pending.report.hash();
            tallies
                .iter()
                .any(|&(report, positive)| report == hash && positive < good_votes)
        });
        if judged_not_good {
            *slot = None;
        }
    }

    let post = DisputesState {
        psi: post_psi,
        rho,
        ..pre.clone()
    };
    Ok((post, DisputesOutput { offenders_mark }))
}

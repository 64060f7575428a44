//! Availability assurances, GP v0.7.2 §11.2 (reporting_assurance.tex, eqs.
//! 11.10–11.17): the assurances extrinsic `E_A` turns `ρ†` into `ρ‡` and yields
//! `W`, the reports that became available.

use serde::{Deserialize, Serialize};
use tessera_core::codec::{Decode, Encode};
use tessera_core::crypto::ed25519;
use tessera_core::hash::blake2b_256;
use tessera_core::spec::ChainSpec;
use tessera_core::types::{AssurancesExtrinsic, Ed25519Public, TimeSlot, WorkReport};
use tessera_core::Hash;

use crate::sigma::pending::AvailabilityAssignments;
use crate::sigma::validators::ValidatorSet;

/// `X_A`: the context string of an assurance signature (GP 11.13).
pub const X_AVAILABLE: &[u8] = b"jam_available";

/// The part of the state the assurances transition reads and writes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
#[serde(deny_unknown_fields)]
pub struct AssurancesState {
    /// `ρ†` before, `ρ‡` after: reports pending availability.
    pub avail_assignments: AvailabilityAssignments,
    /// `κ`: the prior active validators, whose keys sign assurances (GP 11.13:
    /// the parent block's set; on the first block of an epoch it differs from
    /// `κ'`). The vectors name it `curr_validators`.
    pub curr_validators: ValidatorSet,
}

/// The block data the transition consumes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
#[serde(deny_unknown_fields)]
pub struct AssurancesInput {
    /// `E_A`: the assurances extrinsic.
    pub assurances: AssurancesExtrinsic,
    /// `H_T`: the block's timeslot.
    pub slot: TimeSlot,
    /// `H_P`: the parent header hash, every assurance's anchor.
    pub parent: Hash,
}

/// The transition's result besides the state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
#[serde(deny_unknown_fields)]
pub struct AssurancesOutput {
    /// `W` (GP 11.16): the reports that became available, in core order.
    #[codec(seq, max = spec.cores(), name = "available reports")]
    pub reported: Vec<WorkReport>,
}

/// Why an assurances extrinsic is invalid; names and codes are the vectors'.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "snake_case")]
pub enum AssurancesError {
    /// GP 11.11: an assurance's anchor is not the parent hash.
    #[error("an assurance is not anchored on the parent block")]
    BadAttestationParent,
    /// An assurer index is not below `V`.
    #[error("assurer index out of range")]
    BadValidatorIndex,
    /// GP 11.15: a bit is set for a core with no pending report.
    #[error("an assurance covers a core with no pending report")]
    CoreNotEngaged,
    /// GP 11.13: a signature does not verify.
    #[error("bad assurance signature")]
    BadSignature,
    /// GP 11.12: assurers are not strictly ascending by index.
    #[error("assurers not sorted or not unique")]
    NotSortedOrUniqueAssurers,
}

error_codes!(AssurancesError {
    BadAttestationParent = 0,
    BadValidatorIndex = 1,
    CoreNotEngaged = 2,
    BadSignature = 3,
    NotSortedOrUniqueAssurers = 4,
});

/// Apply the assurances extrinsic: check it (GP 11.10–11.15), find the reports
/// made available (11.16) and clear them and the timed-out ones from `ρ` (11.17).
pub fn apply(
    spec: &ChainSpec,
    pre: &AssurancesState,
    input: &AssurancesInput,
) -> Result<(AssurancesState, AssurancesOutput), AssurancesError> {
    let assurances = &input.assurances.0;
    let rho = &pre.avail_assignments;
    if assurances.len() > spec.validators() {
        return Err(AssurancesError::BadValidatorIndex);
    }
    let mut signed: Vec<(Ed25519Public, Vec<u8>, ed25519::Signature)> =
        Vec::with_capacity(assurances.len());
    let mut counts = vec![0usize; spec.cores()];
    let mut previous: Option<u16> = None;
    for a in assurances {
        // GP 11.11.
        if a.anchor != input.parent {
            return Err(AssurancesError::BadAttestationParent);
        }
        let key = pre
            .curr_validators
            .ed25519(a.validator_index)
            .filter(|_| usize::from(a.validator_index) < spec.validators())
            .ok_or(AssurancesError::BadValidatorIndex)?;
        // GP 11.12.
        if previous.is_some_and(|p| p >= a.validator_index) {
            return Err(AssurancesError::NotSortedOrUniqueAssurers);
        }
        previous = Some(a.validator_index);
        for (core, count) in counts.iter_mut().enumerate() {
            if a.bitfield.is_set(core) {
                // GP 11.15.
                if rho.get(core).is_none() {
                    return Err(AssurancesError::CoreNotEngaged);
                }
                *count += 1;
            }
        }
        // GP 11.13: the message is X_A ⌢ H(E(H_P, a_f)).
        let mut payload = input.parent.encode();
        a.bitfield.encode_to(&mut payload);
        let message = [X_AVAILABLE, &blake2b_256(&payload)[..]].concat();
        signed.push((*key, message, a.signature));
    }
    let batch: Vec<(Ed25519Public, &[u8], ed25519::Signature)> = signed
        .iter()
        .map(|(k, m, s)| (*k, m.as_slice(), *s))
        .collect();
    if !ed25519::verify_batch(&batch).all_valid() {
        return Err(AssurancesError::BadSignature);
    }

    // GP 11.16: available once more than two thirds of validators assure it.
    let threshold = spec.supermajority();
    let mut post = pre.clone();
    let mut reported = Vec::new();
    for (core, slot) in post.avail_assignments.0.iter_mut().enumerate() {
        let Some(pending) = slot else { continue };
        let available = counts.get(core).is_some_and(|&n| n >= threshold);
        let timed_out = u64::from(input.slot)
            >= u64::from(pending.timeout) + u64::from(spec.availability_timeout);
        if available {
            reported.push(pending.report.clone());
        }
        // GP 11.17.
        if available || timed_out {
            *slot = None;
        }
    }
    Ok((post, AssurancesOutput { reported }))
}

//! Activity statistics `π`, GP v0.7.2 statistics.tex (§13).
//!
//! `π ≡ (π_V, π_L, π_C, π_S)` (GP 13.1). This module holds the validator records
//! `π_V` (this epoch's accumulator) and `π_L` (the last epoch's), with their
//! transition (GP 13.3–13.5), and the per-block core and service records `π_C`
//! and `π_S` (GP 13.6–13.12), whose parts the transitions that drive them fill in:
//! preimages the provision, reports the refinement load.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use tessera_core::codec::{Decode, DecodeError, Encode, Reader};
use tessera_core::types::ValidatorIndex;
use tessera_core::types::{Ed25519Public, Extrinsic, Gas, ServiceId, TimeSlot, ValidatorData};
use tessera_core::ChainSpec;

/// One validator's activity over an epoch (GP 13.2): blocks `b`, tickets `t`,
/// preimages `p` and their octets `d`, guarantees `g`, assurances `a`. Encoded as
/// six `E_4` (GP C, the `π` state component).
///
/// The GP types these `N`; the encoding (and so the vectors) fix them to 32 bits,
/// and the transition saturates rather than wrap.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
#[serde(deny_unknown_fields)]
pub struct ValidatorActivityRecord {
    /// `b`: blocks produced.
    #[codec(fixed)]
    pub blocks: u32,
    /// `t`: tickets introduced.
    #[codec(fixed)]
    pub tickets: u32,
    /// `p`: preimages introduced.
    #[codec(fixed, name = "preimages")]
    pub pre_images: u32,
    /// `d`: total octets of the preimages introduced.
    #[codec(fixed, name = "preimages size")]
    pub pre_images_size: u32,
    /// `g`: reports guaranteed.
    #[codec(fixed)]
    pub guarantees: u32,
    /// `a`: availability assurances made.
    #[codec(fixed)]
    pub assurances: u32,
}

/// One core's activity in a block, `π_C[c]` (GP 13.7–13.9). Every field is a
/// compact natural in the encoding (GP C, the `π_C` component).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
#[serde(deny_unknown_fields)]
pub struct CoreActivityRecord {
    /// `d`: the availability load.
    #[codec(compact)]
    pub da_load: u64,
    /// `p`: the assurances' popularity.
    #[codec(compact)]
    pub popularity: u64,
    /// `i`: segments imported by reported work.
    #[codec(compact)]
    pub imports: u64,
    /// `x`: extrinsics used by reported work.
    #[codec(compact)]
    pub extrinsic_count: u64,
    /// `z`: their total size.
    #[codec(compact)]
    pub extrinsic_size: u64,
    /// `e`: segments exported.
    #[codec(compact)]
    pub exports: u64,
    /// `b`: the reported bundles' total length.
    #[codec(compact)]
    pub bundle_size: u64,
    /// `u`: gas used in refinement.
    #[codec(compact)]
    pub gas_used: Gas,
}

/// `π_C`: one record per core, no length prefix. JSON is the array.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
#[serde(transparent)]
pub struct CoresStatistics(#[codec(len = spec.cores())] pub Vec<CoreActivityRecord>);

/// One service's activity in a block, an entry of `π_S` (GP 13.6): provision
/// `p = (count, octets)`, refinement `r = (count, gas)`, imports `i`, extrinsics
/// `x` and their octets `z`, exports `e`, accumulation `a = (count, gas)`. Every
/// field is a compact natural in the encoding (GP C, the `π_S` component); the GP
/// types them `N` and `N_G`, so they are held as 64 bits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
#[serde(deny_unknown_fields)]
pub struct ServiceActivityRecord {
    /// `p_0`: preimages provided for the service.
    #[codec(compact)]
    pub provided_count: u64,
    /// `p_1`: their total octets.
    #[codec(compact)]
    pub provided_size: u64,
    /// `r_0`: work digests refined for the service.
    #[codec(compact)]
    pub refinement_count: u64,
    /// `r_1`: gas those refinements used.
    #[codec(compact)]
    pub refinement_gas_used: Gas,
    /// `i`: segments imported.
    #[codec(compact)]
    pub imports: u64,
    /// `x`: extrinsics used.
    #[codec(compact)]
    pub extrinsic_count: u64,
    /// `z`: their total octets.
    #[codec(compact)]
    pub extrinsic_size: u64,
    /// `e`: segments exported.
    #[codec(compact)]
    pub exports: u64,
    /// `a_0`: work items accumulated.
    #[codec(compact)]
    pub accumulate_count: u64,
    /// `a_1`: gas accumulation used.
    #[codec(compact)]
    pub accumulate_gas_used: Gas,
}

/// One entry `s ↦ record` of `π_S ∈ D⟨N_S → …⟩`; `π_S` is a sequence of these
/// strictly ordered by service id, encoded `E_4(s) ⌢ record` each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
#[serde(deny_unknown_fields)]
pub struct ServiceStatisticsEntry {
    /// `s`: the service.
    pub id: ServiceId,
    /// Its activity in the block.
    pub record: ServiceActivityRecord,
}

/// Read `π_S`: entries strictly ordered by service id, as a dictionary (GP C.10).
pub fn decode_service_statistics(
    r: &mut Reader<'_>,
) -> Result<Vec<ServiceStatisticsEntry>, DecodeError> {
    r.seq_sorted_by("service statistics", None, |s: &ServiceStatisticsEntry| {
        s.id
    })
}

/// `π_S[s]`, inserted as all zeros (in id order) if the service has no entry yet.
/// Always `Some`: the position found is in range (the `Option` spares an index).
pub fn service_record(
    stats: &mut Vec<ServiceStatisticsEntry>,
    id: ServiceId,
) -> Option<&mut ServiceActivityRecord> {
    let at = match stats.binary_search_by_key(&id, |e| e.id) {
        Ok(at) => at,
        Err(at) => {
            stats.insert(
                at,
                ServiceStatisticsEntry {
                    id,
                    record: ServiceActivityRecord::default(),
                },
            );
            at
        }
    };
    stats.get_mut(at).map(|e| &mut e.record)
}

/// The state part the validator-statistics transition reads: `π_V`, `π_L`, the
/// prior slot `τ` and the posterior active set `κ'` (for the reporters' keys).
/// The four are encoded in turn; the record and key sequences have exactly `V`
/// items and no length prefix.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
#[serde(deny_unknown_fields)]
pub struct State {
    /// `π_V`: this epoch's records, one per validator.
    #[codec(len = spec.validators())]
    pub vals_curr_stats: Vec<ValidatorActivityRecord>,
    /// `π_L`: the last epoch's records.
    #[codec(len = spec.validators())]
    pub vals_last_stats: Vec<ValidatorActivityRecord>,
    /// `τ`: the prior slot (unchanged here; safrole advances it).
    pub slot: TimeSlot,
    /// `κ'`: the posterior active validator set.
    #[codec(len = spec.validators())]
    pub curr_validators: Vec<ValidatorData>,
}

/// What the block gives the transition.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
#[serde(deny_unknown_fields)]
pub struct Input {
    /// `τ' = H_t`: the block's slot.
    pub slot: TimeSlot,
    /// `H_i`: the block author's validator index.
    pub author_index: ValidatorIndex,
    /// `E`: the block's extrinsic.
    pub extrinsic: Extrinsic,
}

/// The transition's output: none (the vectors' `Output ::= NULL`).
pub type Output = ();

/// Why the transition rejects its input or state. The vectors define no error for
/// this component; these are values the GP's types exclude.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// `H_i ∉ N_V`.
    #[error("author index {0} out of range")]
    BadAuthorIndex(ValidatorIndex),
    /// A guarantee credential names a validator outside `κ'`.
    #[error("guarantor index {0} out of range")]
    BadGuarantorIndex(ValidatorIndex),
    /// The state does not hold `V` records of each kind and `V` keys.
    #[error("statistics state does not match the chain spec")]
    BadStateShape,
}

/// The validator-statistics transition (GP 13.3–13.5), with the reporters set `R`
/// taken as the Ed25519 keys in `κ'` of every guarantee credential's validator.
///
/// The GP's `R` (reporting_assurance.tex, eq:guarantorsig) takes each guarantor's
/// key from the assignment of the guarantee's rotation, which for a guarantee from
/// the previous rotation across an epoch boundary is `λ'`; the vectors' state holds
/// only `κ'`. The block importer passes the reports transition's `R` to
/// [`apply_with_reporters`] instead.
pub fn apply(spec: &ChainSpec, pre: &State, input: &Input) -> Result<(State, Output), Error> {
    let mut reporters = BTreeSet::new();
    for guarantee in &input.extrinsic.guarantees.0 {
        for credential in &guarantee.signatures {
            let key = pre
                .curr_validators
                .get(usize::from(credential.validator_index))
                .ok_or(Error::BadGuarantorIndex(credential.validator_index))?;
            reporters.insert(key.ed25519);
        }
    }
    apply_with_reporters(spec, pre, input, &reporters)
}

/// The validator-statistics transition (GP 13.3–13.5) given the reporters set `R`.
pub fn apply_with_reporters(
    spec: &ChainSpec,
    pre: &State,
    input: &Input,
    reporters: &BTreeSet<Ed25519Public>,
) -> Result<(State, Output), Error> {
    let v = spec.validators();
    if pre.vals_curr_stats.len() != v
        || pre.vals_last_stats.len() != v
        || pre.curr_validators.len() != v
    {
        return Err(Error::BadStateShape);
    }
    let author = usize::from(input.author_index);
    if author >= v {
        return Err(Error::BadAuthorIndex(input.author_index));
    }

    // GP 13.3–13.4: a new epoch starts the accumulator afresh and retires it to π_L.
    let epoch_length = spec.epoch_length.max(1);
    let (mut current, last) = if input.slot / epoch_length == pre.slot / epoch_length {
        (pre.vals_curr_stats.clone(), pre.vals_last_stats.clone())
    } else {
        (
            vec![ValidatorActivityRecord::default(); v],
            pre.vals_curr_stats.clone(),
        )
    };

    // GP 13.5.
    let extrinsic = &input.extrinsic;
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    let preimage_octets = extrinsic
        .preimages
        .0
        .iter()
        .fold(0u32, |sum, p| sum.saturating_add(count(p.blob.len())));
    for (index, (record, key)) in current.iter_mut().zip(&pre.curr_validators).enumerate() {
        if index == author {
            record.blocks = record.blocks.saturating_add(1);
            record.tickets = record
                .tickets
                .saturating_add(count(extrinsic.tickets.0.len()));
            record.pre_images = record
                .pre_images
                .saturating_add(count(extrinsic.preimages.0.len()));
            record.pre_images_size = record.pre_images_size.saturating_add(preimage_octets);
        }
        if reporters.contains(&key.ed25519) {
            record.guarantees = record.guarantees.saturating_add(1);
        }
        if extrinsic
            .assurances
            .0
            .iter()
            .any(|a| usize::from(a.validator_index) == index)
        {
            record.assurances = record.assurances.saturating_add(1);
        }
    }

    Ok((
        State {
            vals_curr_stats: current,
            vals_last_stats: last,
            slot: pre.slot,
            curr_validators: pre.curr_validators.clone(),
        },
        (),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use tessera_core::codec::decode_exact;

    fn validator(i: u8) -> ValidatorData {
        ValidatorData {
            bandersnatch: [i; 32].into(),
            ed25519: Ed25519Public([i; 32].into()),
            bls: [i; 144].into(),
            metadata: [i; 128].into(),
        }
    }

    fn state(spec: &ChainSpec, slot: TimeSlot) -> State {
        let record = ValidatorActivityRecord {
            blocks: 7,
            ..Default::default()
        };
        State {
            vals_curr_stats: vec![record; spec.validators()],
            vals_last_stats: vec![ValidatorActivityRecord::default(); spec.validators()],
            slot,
            curr_validators: (0..spec.validators() as u8).map(validator).collect(),
        }
    }

    #[test]
    fn author_out_of_range_is_an_error() {
        let spec = ChainSpec::tiny();
        let input = Input {
            slot: 1,
            author_index: 6,
            extrinsic: Extrinsic::default(),
        };
        assert_eq!(
            apply(&spec, &state(&spec, 0), &input),
            Err(Error::BadAuthorIndex(6))
        );
    }

    proptest! {
        /// Within an epoch only the author's block count moves on an empty
        /// extrinsic; across one the accumulator restarts and is retired to π_L.
        /// The state round-trips through the codec.
        #[test]
        fn epoch_rollover(slot in 0u32..1000, step in 0u32..30, author in 0u16..6) {
            let spec = ChainSpec::tiny();
            let pre = state(&spec, slot);
            let input = Input { slot: slot + step, author_index: author, extrinsic: Extrinsic::default() };
            let (post, ()) = apply(&spec, &pre, &input).unwrap();
            let same_epoch = (slot + step) / 12 == slot / 12;
            let base = if same_epoch { 7 } else { 0 };
            for (i, r) in post.vals_curr_stats.iter().enumerate() {
                prop_assert_eq!(r.blocks, base + u32::from(i == usize::from(author)));
            }
            let last = if same_epoch { &pre.vals_last_stats } else { &pre.vals_curr_stats };
            prop_assert_eq!(&post.vals_last_stats, last);
            prop_assert_eq!(decode_exact::<State>(&spec, &post.encode()).unwrap(), post);
        }
    }
}

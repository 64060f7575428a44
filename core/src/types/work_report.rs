//! Work reports, GP work_packages_and_reports.tex ("Work Report").

use serde::{Deserialize, Serialize};

use super::availability::AvailabilitySpec;
use super::bounds::{Bound, Check, SpecViolation, ViolationKind};
use super::indices::{CoreIndex, Gas};
use super::refine_context::RefineContext;
use super::work_result::WorkResult;
use crate::bytes::Bytes;
use crate::codec::{encode_seq, Decode, DecodeError, DecodeErrorKind, Encode, Reader};
use crate::hash::{blake2b_256, Hash};
use crate::spec::ChainSpec;

/// One entry `p ↦ e` of a report's segment-root lookup `l`: a work package's
/// hash and its exported segments' root.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    Encode,
    Decode,
    Check,
)]
#[serde(deny_unknown_fields)]
pub struct SegmentRootLookupItem {
    /// The work-package hash (the dictionary key).
    pub work_package_hash: Hash,
    /// Its segment-tree root.
    pub segment_tree_root: Hash,
}

/// `l ∈ ⟨H → H⟩`: the dictionary of segment roots a report relies on, encoded
/// as its pairs ordered by key (GP C.1, dictionaries). Decoding rejects keys out of
/// order or repeated; the vectors always hold it sorted. JSON is the array of
/// pairs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SegmentRootLookup(pub Vec<SegmentRootLookupItem>);

impl SegmentRootLookup {
    /// The segment root recorded for work package `hash`.
    pub fn get(&self, hash: &Hash) -> Option<&Hash> {
        self.0
            .binary_search_by(|item| item.work_package_hash.cmp(hash))
            .ok()
            .and_then(|i| self.0.get(i))
            .map(|item| &item.segment_tree_root)
    }

    fn keys_ascend(&self) -> bool {
        self.0
            .windows(2)
            .all(|w| w[0].work_package_hash < w[1].work_package_hash)
    }
}

// Written by hand: a dictionary ordered by one field of its items (not by the whole
// item, as `seq, sorted` would compare), with each out-of-order key reported at its
// own offset as the vectors' decoders expect.
impl Encode for SegmentRootLookup {
    fn encode_to(&self, out: &mut Vec<u8>) {
        encode_seq(&self.0, out);
    }
}

impl Decode for SegmentRootLookup {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let len = r.length("segment-root lookup", None)?;
        let mut items: Vec<SegmentRootLookupItem> = Vec::new();
        for _ in 0..len {
            let at = r.position();
            let item = SegmentRootLookupItem::decode(r)?;
            if items
                .last()
                .is_some_and(|last| last.work_package_hash >= item.work_package_hash)
            {
                return Err(DecodeError::new(
                    at,
                    DecodeErrorKind::NotSorted {
                        what: "segment-root lookup",
                    },
                ));
            }
            items.push(item);
        }
        Ok(SegmentRootLookup(items))
    }
}

impl Check for SegmentRootLookup {
    fn check(&self, _: &ChainSpec) -> Result<(), SpecViolation> {
        if self.keys_ascend() {
            Ok(())
        } else {
            Err(SpecViolation::new(ViolationKind::Invalid(
                "work-package hashes are not strictly ascending (a dictionary is encoded ordered by key)",
            )))
        }
    }
}

/// `R` (GP "work report"): availability spec `s`, context `c`, core `c`,
/// authorizer hash `a`, authorizer gas used `g`, authorizer trace `t`,
/// segment-root lookup `l` and digests `d`. Encoded
/// `E(s, c, c, a, g, ↕t, ↕l, ↕d)` (GP C.2), where the core index and the gas are
/// compact naturals (the `.bin` vectors agree).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode, Check)]
#[serde(deny_unknown_fields)]
pub struct WorkReport {
    /// `s`: the availability specification.
    pub package_spec: AvailabilitySpec,
    /// `c`: the refinement context.
    pub context: RefineContext,
    /// `c`: the core the package was reported on. Not bounded by `C` here: the
    /// codec vector itself has core 3 on the 2-core tiny chain, and the reports
    /// transition has its own `bad_core_index` error.
    #[codec(compact, name = "core index")]
    pub core_index: CoreIndex,
    /// `a`: the authorizer hash.
    pub authorizer_hash: Hash,
    /// `g`: gas used by Is-Authorized.
    #[codec(compact, name = "authorizer gas used")]
    pub auth_gas_used: Gas,
    /// `t`: the authorizer trace (output).
    pub auth_output: Bytes,
    /// `l`: the segment-root lookup.
    pub segment_root_lookup: SegmentRootLookup,
    /// `d`: the work digests, at most `I`. The GP's lower bound of one is left to
    /// the reports transition, whose vector `report_with_no_results-1` carries an
    /// empty list and expects the error `missing_work_results`.
    #[codec(seq, max = spec.max_work_items as usize, name = "work digests")]
    pub results: Vec<WorkResult>,
}

impl WorkReport {
    /// The codec bound on `d`: at most `I`.
    pub fn results_bound(spec: &ChainSpec) -> Bound {
        Bound::AtMost(spec.max_work_items as usize)
    }

    /// `H(E(r))`, the report hash that guarantees, assurances and disputes name.
    pub fn hash(&self) -> Hash {
        blake2b_256(&self.encode())
    }
}

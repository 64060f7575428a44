//! The refinement context of a work package, GP work_packages_and_reports.tex.

use serde::{Deserialize, Serialize};

use super::bounds::Check;
use super::indices::TimeSlot;
use crate::codec::{Decode, Encode};
use crate::hash::Hash;

/// `C` (GP work_packages_and_reports.tex, refinement context): the chain state a work package is refined against. Encoded
/// `E(a, s, b, l, E_4(t), ↕p)` (GP C.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode, Check)]
#[serde(deny_unknown_fields)]
pub struct RefineContext {
    /// `a`: the anchor block's header hash.
    pub anchor: Hash,
    /// `s`: the anchor block's posterior state root.
    pub state_root: Hash,
    /// `b`: the anchor block's accumulation-output super-peak (BEEFY root).
    pub beefy_root: Hash,
    /// `l`: the lookup-anchor block's header hash.
    pub lookup_anchor: Hash,
    /// `t`: the lookup-anchor block's timeslot.
    pub lookup_anchor_slot: TimeSlot,
    /// `p`: the hashes of prerequisite work packages. The GP makes this a set
    /// (encoded in order); the count limit `J` and uniqueness are checked by the
    /// reports transition (vector `too_many_dependencies`), not here.
    pub prerequisites: Vec<Hash>,
}

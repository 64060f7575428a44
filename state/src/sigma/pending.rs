//! `ρ`, the work reports pending availability, one slot per core (GP
//! reporting_assurance.tex, "State"; vectors' `AvailabilityAssignments`).

use serde::{Deserialize, Serialize};
use tessera_core::codec::{Decode, Encode};
use tessera_core::types::{TimeSlot, WorkReport};

/// One occupied core `(r, t)`: the report and the slot it was reported in. The
/// vectors name `t` `timeout`, but it holds the reporting slot: a report times
/// out once `H_T ≥ t + U` (GP 11.17).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
#[serde(deny_unknown_fields)]
pub struct PendingReport {
    /// `r`: the work report.
    pub report: WorkReport,
    /// `t`: the slot it was reported in.
    pub timeout: TimeSlot,
}

/// `ρ ∈ ⟦(r, t)?⟧_C`: each core's pending report, if any. Encoded as `C` optional
/// values with no length prefix (GP C.2). JSON is the array, `null` for a free core.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
#[serde(transparent)]
pub struct AvailabilityAssignments(#[codec(len = spec.cores())] pub Vec<Option<PendingReport>>);

impl AvailabilityAssignments {
    /// The pending report of core `core`, if the core exists and is engaged.
    pub fn get(&self, core: usize) -> Option<&PendingReport> {
        self.0.get(core).and_then(Option::as_ref)
    }
}

//! `stf/disputes/{tiny,full}`: judgments (GP §10).

#[macro_use]
mod stf_support;

use stf_support::{corrupted_post_state_fails, VectorResult};
use tessera_state::stf::disputes;

stf_component! {
    Disputes: disputes::{DisputesInput, DisputesState, DisputesOutput, DisputesError},
    vector_output: VectorResult<disputes::DisputesOutput, disputes::DisputesError>,
}

#[test]
fn corruption_is_caught() {
    corrupted_post_state_fails::<Disputes>("progress_with_culprits-4");
}

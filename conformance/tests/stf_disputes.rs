//! `stf/disputes/{tiny,full}`: judgments (GP §10).

#[macro_use]
mod stf_support;

use stf_support::{corrupted_post_state_fails, VectorResult};
use tessera_state::stf::disputes::{
    self, DisputesError, DisputesInput, DisputesOutput, DisputesState,
};

stf_component! {
    name: Disputes,
    folder: "disputes",
    apply: disputes::apply,
    input: DisputesInput,
    state: DisputesState,
    output: DisputesOutput,
    error: DisputesError,
    vector_output: VectorResult<DisputesOutput, DisputesError>,
}

#[test]
fn corruption_is_caught() {
    corrupted_post_state_fails::<Disputes>("progress_with_culprits-4");
}

//! `stf/assurances/{tiny,full}`: availability assurances (GP §11.2).

#[macro_use]
mod stf_support;

use stf_support::{corrupted_post_state_fails, VectorResult};
use tessera_state::stf::assurances::{
    self, AssurancesError, AssurancesInput, AssurancesOutput, AssurancesState,
};

stf_component! {
    name: Assurances,
    folder: "assurances",
    apply: assurances::apply,
    input: AssurancesInput,
    state: AssurancesState,
    output: AssurancesOutput,
    error: AssurancesError,
    vector_output: VectorResult<AssurancesOutput, AssurancesError>,
}

#[test]
fn corruption_is_caught() {
    corrupted_post_state_fails::<Assurances>("some_assurances-1");
}

//! `stf/assurances/{tiny,full}`: availability assurances (GP §11.2).

#[macro_use]
mod stf_support;

use stf_support::{corrupted_post_state_fails, VectorResult};
use tessera_state::stf::assurances;

stf_component! {
    Assurances: assurances::{AssurancesInput, AssurancesState, AssurancesOutput, AssurancesError},
    vector_output: VectorResult<assurances::AssurancesOutput, assurances::AssurancesError>,
}

#[test]
fn corruption_is_caught() {
    corrupted_post_state_fails::<Assurances>("some_assurances-1");
}

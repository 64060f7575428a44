//! `stf/safrole/{tiny,full}`: Safrole block production (GP §6).

#[macro_use]
mod stf_support;

use stf_support::{corrupted_post_state_fails, VectorResult};
use tessera_state::stf::safrole::{self, SafroleError, SafroleInput, SafroleOutput, SafroleState};

stf_component! {
    name: Safrole,
    folder: "safrole",
    apply: safrole::apply,
    input: SafroleInput,
    state: SafroleState,
    output: SafroleOutput,
    error: SafroleError,
    vector_output: VectorResult<SafroleOutput, SafroleError>,
}

#[test]
fn corruption_is_caught() {
    corrupted_post_state_fails::<Safrole>("publish-tickets-with-mark-1");
}

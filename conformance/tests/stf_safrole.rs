//! `stf/safrole/{tiny,full}`: Safrole block production (GP §6).

#[macro_use]
mod stf_support;

use stf_support::{corrupted_post_state_fails, VectorResult};
use tessera_state::stf::safrole;

stf_component! {
    Safrole: safrole::{SafroleInput, SafroleState, SafroleOutput, SafroleError},
    vector_output: VectorResult<safrole::SafroleOutput, safrole::SafroleError>,
}

#[test]
fn corruption_is_caught() {
    corrupted_post_state_fails::<Safrole>("publish-tickets-with-mark-1");
}

//! The authorization transition (GP §8) against `stf/authorizations/{tiny,full}`:
//! every case's posterior pools `α'` and queues `φ'` must match.

#[macro_use]
mod stf_support;

use stf_support::{corrupted_case_fails, Null};
use tessera_state::stf::authorizations;

stf_component! {
    Authorizations: authorizations::{Input, State, Output, Error},
    vector_output: Null,
}

#[test]
fn corruption_is_caught() {
    corrupted_case_fails::<Authorizations>("progress_authorizations-2.bin", |case| {
        case.post_state.auth_pools.0[1][0].0[31] ^= 0x80;
    });
}

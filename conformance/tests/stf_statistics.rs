//! The validator-statistics transition (GP §13) against
//! `stf/statistics/{tiny,full}`: every case's posterior `π_V`, `π_L` must match.

#[macro_use]
mod stf_support;

use stf_support::{corrupted_case_fails, Null};
use tessera_state::stf::statistics;

stf_component! {
    Statistics: statistics::{Input, State, Output, Error},
    vector_output: Null,
}

#[test]
fn corruption_is_caught() {
    corrupted_case_fails::<Statistics>("stats_with_some_extrinsic-1.bin", |case| {
        case.post_state.vals_curr_stats[2].guarantees += 1;
    });
    corrupted_case_fails::<Statistics>("stats_with_epoch_change-1.bin", |case| {
        case.post_state.vals_last_stats[5].assurances -= 1;
    });
}

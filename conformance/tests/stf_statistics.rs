//! The validator-statistics transition (GP §13) against
//! `stf/statistics/{tiny,full}`: every case's posterior `π_V`, `π_L` must match.

mod stf_support;

use stf_support::{corrupted_case_fails, Component, Null, StfSuite};
use tessera_core::ChainSpec;
use tessera_state::statistics::{self, Error, Input, Output, State};

struct Statistics;

impl Component for Statistics {
    type Input = Input;
    type State = State;
    type Output = Output;
    type Error = Error;
    type VectorOutput = Null;

    fn apply(spec: &ChainSpec, pre: &State, input: &Input) -> Result<(State, Output), Error> {
        statistics::apply(spec, pre, input)
    }
}

#[test]
fn stf_statistics_tiny() {
    tessera_conformance::run(&StfSuite::<Statistics>::tiny("statistics"));
}

#[test]
fn stf_statistics_full() {
    tessera_conformance::run(&StfSuite::<Statistics>::full("statistics"));
}

#[test]
fn corrupted_post_state_fails() {
    corrupted_case_fails::<Statistics>("statistics", "stats_with_some_extrinsic-1.bin", |case| {
        case.post_state.vals_curr_stats[2].guarantees += 1;
    });
    corrupted_case_fails::<Statistics>("statistics", "stats_with_epoch_change-1.bin", |case| {
        case.post_state.vals_last_stats[5].assurances -= 1;
    });
}

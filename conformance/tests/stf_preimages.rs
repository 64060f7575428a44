//! The preimage-integration transition (GP §12.4) against
//! `stf/preimages/{tiny,full}`: on `ok` the posterior accounts and service
//! statistics must match; on `err` the error code must, and the state stays.

mod stf_support;

use stf_support::{corrupted_case_fails, Component, Null, StfSuite, VectorResult};
use tessera_core::ChainSpec;
use tessera_state::preimages::{self, Error, Input, Output, State};

struct Preimages;

impl Component for Preimages {
    type Input = Input;
    type State = State;
    type Output = Output;
    type Error = Error;
    type VectorOutput = VectorResult<Null, Error>;

    fn apply(spec: &ChainSpec, pre: &State, input: &Input) -> Result<(State, Output), Error> {
        preimages::apply(spec, pre, input)
    }
}

#[test]
fn stf_preimages_tiny() {
    tessera_conformance::run(&StfSuite::<Preimages>::tiny("preimages"));
}

#[test]
fn stf_preimages_full() {
    tessera_conformance::run(&StfSuite::<Preimages>::full("preimages"));
}

#[test]
fn corrupted_post_state_fails() {
    corrupted_case_fails::<Preimages>("preimages", "preimages_order_check-3.bin", |case| {
        case.post_state.accounts[1].data.preimage_requests[2].value = vec![41];
    });
    corrupted_case_fails::<Preimages>("preimages", "preimages_order_check-3.bin", |case| {
        case.post_state.statistics[0].record.provided_size += 1;
    });
    // An error case whose expected code is changed must fail too.
    corrupted_case_fails::<Preimages>("preimages", "preimage_not_needed-1.bin", |case| {
        case.output = VectorResult::Err(Error::PreimagesNotSortedUnique);
    });
}

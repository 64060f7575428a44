//! The authorization transition (GP §8) against `stf/authorizations/{tiny,full}`:
//! every case's posterior pools `α'` and queues `φ'` must match.

mod stf_support;

use stf_support::{corrupted_case_fails, Component, Null, StfSuite};
use tessera_core::ChainSpec;
use tessera_state::authorizations::{self, Error, Input, Output, State};

struct Authorizations;

impl Component for Authorizations {
    type Input = Input;
    type State = State;
    type Output = Output;
    type Error = Error;
    type VectorOutput = Null;

    fn apply(spec: &ChainSpec, pre: &State, input: &Input) -> Result<(State, Output), Error> {
        authorizations::apply(spec, pre, input)
    }
}

#[test]
fn stf_authorizations_tiny() {
    tessera_conformance::run(&StfSuite::<Authorizations>::tiny("authorizations"));
}

#[test]
fn stf_authorizations_full() {
    tessera_conformance::run(&StfSuite::<Authorizations>::full("authorizations"));
}

#[test]
fn corrupted_post_state_fails() {
    corrupted_case_fails::<Authorizations>(
        "authorizations",
        "progress_authorizations-2.bin",
        |case| {
            case.post_state.auth_pools[1][0].0[31] ^= 0x80;
        },
    );
}

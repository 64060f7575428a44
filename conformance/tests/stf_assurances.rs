//! `stf/assurances/{tiny,full}`: availability assurances (GP §11.2).

mod common_stf;

use common_stf::{corrupted_post_state_fails, Component, StfSuite};
use tessera_core::ChainSpec;
use tessera_state::assurances::{
    self, AssurancesError, AssurancesInput, AssurancesOutput, AssurancesState,
};

struct Assurances;

impl Component for Assurances {
    type Input = AssurancesInput;
    type State = AssurancesState;
    type Output = AssurancesOutput;
    type Error = AssurancesError;

    fn apply(
        spec: &ChainSpec,
        pre: &AssurancesState,
        input: &AssurancesInput,
    ) -> Result<(AssurancesState, AssurancesOutput), AssurancesError> {
        assurances::apply(spec, pre, input)
    }
}

#[test]
fn assurances_tiny() {
    tessera_conformance::run(&StfSuite::<Assurances>::new(
        "assurances",
        ChainSpec::tiny(),
    ));
}

#[test]
fn assurances_full() {
    tessera_conformance::run(&StfSuite::<Assurances>::new(
        "assurances",
        ChainSpec::full(),
    ));
}

#[test]
fn assurances_corrupted_post_state_fails() {
    corrupted_post_state_fails::<Assurances>("assurances", "some_assurances-1");
}

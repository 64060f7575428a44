//! `stf/disputes/{tiny,full}`: judgments (GP §10).

mod common_stf;

use common_stf::{corrupted_post_state_fails, Component, StfSuite};
use tessera_core::ChainSpec;
use tessera_state::disputes::{self, DisputesError, DisputesInput, DisputesOutput, DisputesState};

struct Disputes;

impl Component for Disputes {
    type Input = DisputesInput;
    type State = DisputesState;
    type Output = DisputesOutput;
    type Error = DisputesError;

    fn apply(
        spec: &ChainSpec,
        pre: &DisputesState,
        input: &DisputesInput,
    ) -> Result<(DisputesState, DisputesOutput), DisputesError> {
        disputes::apply(spec, pre, input)
    }
}

#[test]
fn disputes_tiny() {
    tessera_conformance::run(&StfSuite::<Disputes>::new("disputes", ChainSpec::tiny()));
}

#[test]
fn disputes_full() {
    tessera_conformance::run(&StfSuite::<Disputes>::new("disputes", ChainSpec::full()));
}

#[test]
fn disputes_corrupted_post_state_fails() {
    corrupted_post_state_fails::<Disputes>("disputes", "progress_with_culprits-4");
}

//! `stf/safrole/{tiny,full}`: Safrole block production (GP §6).

mod common_stf;

use common_stf::{corrupted_post_state_fails, Component, StfSuite};
use tessera_core::ChainSpec;
use tessera_state::safrole::{self, SafroleError, SafroleInput, SafroleOutput, SafroleState};

struct Safrole;

impl Component for Safrole {
    type Input = SafroleInput;
    type State = SafroleState;
    type Output = SafroleOutput;
    type Error = SafroleError;

    fn apply(
        spec: &ChainSpec,
        pre: &SafroleState,
        input: &SafroleInput,
    ) -> Result<(SafroleState, SafroleOutput), SafroleError> {
        safrole::apply(spec, pre, input)
    }
}

#[test]
fn safrole_tiny() {
    tessera_conformance::run(&StfSuite::<Safrole>::new("safrole", ChainSpec::tiny()));
}

#[test]
fn safrole_full() {
    tessera_conformance::run(&StfSuite::<Safrole>::new("safrole", ChainSpec::full()));
}

#[test]
fn safrole_corrupted_post_state_fails() {
    corrupted_post_state_fails::<Safrole>("safrole", "publish-tickets-with-mark-1");
}

//! `stf/reports/{tiny,full}`: guarantees (GP §11.3–11.4).

mod common_stf;

use common_stf::{corrupted_post_state_fails, Component, StfSuite};
use tessera_core::ChainSpec;
use tessera_state::reports::{self, ReportsError, ReportsInput, ReportsOutput, ReportsState};

struct Reports;

impl Component for Reports {
    type Input = ReportsInput;
    type State = ReportsState;
    type Output = ReportsOutput;
    type Error = ReportsError;

    fn apply(
        spec: &ChainSpec,
        pre: &ReportsState,
        input: &ReportsInput,
    ) -> Result<(ReportsState, ReportsOutput), ReportsError> {
        reports::apply(spec, pre, input)
    }
}

#[test]
fn reports_tiny() {
    tessera_conformance::run(&StfSuite::<Reports>::new("reports", ChainSpec::tiny()));
}

#[test]
fn reports_full() {
    tessera_conformance::run(&StfSuite::<Reports>::new("reports", ChainSpec::full()));
}

#[test]
fn reports_corrupted_post_state_fails() {
    corrupted_post_state_fails::<Reports>("reports", "multiple_reports-1");
}

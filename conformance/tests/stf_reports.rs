//! `stf/reports/{tiny,full}`: guarantees (GP §11.3–11.4).

#[macro_use]
mod stf_support;

use stf_support::{corrupted_post_state_fails, VectorResult};
use tessera_state::stf::reports::{self, ReportsError, ReportsInput, ReportsOutput, ReportsState};

stf_component! {
    name: Reports,
    folder: "reports",
    apply: reports::apply,
    input: ReportsInput,
    state: ReportsState,
    output: ReportsOutput,
    error: ReportsError,
    vector_output: VectorResult<ReportsOutput, ReportsError>,
}

#[test]
fn corruption_is_caught() {
    corrupted_post_state_fails::<Reports>("multiple_reports-1");
}

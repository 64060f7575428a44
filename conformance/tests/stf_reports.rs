//! `stf/reports/{tiny,full}`: guarantees (GP §11.3–11.4).

#[macro_use]
mod stf_support;

use stf_support::{corrupted_post_state_fails, VectorResult};
use tessera_state::stf::reports;

stf_component! {
    Reports: reports::{ReportsInput, ReportsState, ReportsOutput, ReportsError},
    vector_output: VectorResult<reports::ReportsOutput, reports::ReportsError>,
}

#[test]
fn corruption_is_caught() {
    corrupted_post_state_fails::<Reports>("multiple_reports-1");
}

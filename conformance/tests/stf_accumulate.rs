//! The accumulation transition (GP §12) against `stf/accumulate/{tiny,full}`: each
//! case runs the service code on the PVM with the accumulate host functions; the
//! output (accumulation-output root) and the whole posterior state part must match.

#[macro_use]
mod stf_support;

use stf_support::{corrupted_case_fails, VectorResult};
use tessera_core::hash::Hash;
use tessera_state::accumulate::{self, Error, Input, Output, State};

stf_component! {
    name: Accumulate,
    folder: "accumulate",
    apply: accumulate::apply,
    input: Input,
    state: State,
    output: Output,
    error: Error,
    vector_output: VectorResult<Hash, Error>,
}

#[test]
fn corruption_is_caught() {
    corrupted_case_fails::<Accumulate>("process_one_immediate_report-1.bin", |case| {
        case.post_state.accounts[0].data.service.bytes += 1;
    });
    corrupted_case_fails::<Accumulate>("process_one_immediate_report-1.bin", |case| {
        case.post_state.statistics[0].record.accumulate_gas_used += 1;
    });
    corrupted_case_fails::<Accumulate>("work_for_ejected_service-3.bin", |case| {
        case.output = VectorResult::Ok(Hash::default());
    });
}

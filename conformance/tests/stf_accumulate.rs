//! The accumulation transition (GP §12) against `stf/accumulate/{tiny,full}`: each
//! case runs the service code on the PVM with the accumulate host functions; the
//! output (accumulation-output root) and the whole posterior state part must match.

#[macro_use]
mod stf_support;

use stf_support::{corrupted_case_fails, VectorResult};
use tessera_core::hash::Hash;
use tessera_state::stf::accumulate;

stf_component! {
    Accumulate: accumulate::{Input, State, Output, Error},
    post: ItemState,
    vector_output: VectorResult<Hash, accumulate::Error>,
}

#[test]
fn corruption_is_caught() {
    corrupted_case_fails::<Accumulate>("process_one_immediate_report-1.bin", |case| {
        case.post_state.accounts[0].data.service.bytes += 1;
    });
    corrupted_case_fails::<Accumulate>("process_one_immediate_report-1.bin", |case| {
        case.post_state.statistics[0].record.accumulate_gas_used += 1;
    });
    // δ is compared in item form: a storage value, a storage key and a lookup
    // entry each land in a different item.
    corrupted_case_fails::<Accumulate>("accumulate_ready_queued_reports-1.bin", |case| {
        if let Some(a) = case
            .post_state
            .accounts
            .iter_mut()
            .find(|a| !a.data.storage.is_empty())
        {
            a.data.storage[0].value.0.push(0);
        }
    });
    corrupted_case_fails::<Accumulate>("accumulate_ready_queued_reports-1.bin", |case| {
        if let Some(a) = case
            .post_state
            .accounts
            .iter_mut()
            .find(|a| !a.data.storage.is_empty())
        {
            a.data.storage[0].key.0.push(0);
        }
    });
    corrupted_case_fails::<Accumulate>("accumulate_ready_queued_reports-1.bin", |case| {
        if let Some(a) = case
            .post_state
            .accounts
            .iter_mut()
            .find(|a| !a.data.preimage_requests.is_empty())
        {
            a.data.preimage_requests[0].value.push(1);
        }
    });
    corrupted_case_fails::<Accumulate>("work_for_ejected_service-3.bin", |case| {
        case.output = VectorResult::Ok(Hash::default());
    });
}

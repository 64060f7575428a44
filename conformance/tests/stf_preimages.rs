//! The preimage-integration transition (GP §12.4) against
//! `stf/preimages/{tiny,full}`: on `ok` the posterior accounts and service
//! statistics must match; on `err` the error code must, and the state stays.

#[macro_use]
mod stf_support;

use stf_support::{corrupted_case_fails, Null, VectorResult};
use tessera_state::stf::preimages;

stf_component! {
    Preimages: preimages::{Input, State, Output, Error},
    post: ItemState,
    vector_output: VectorResult<Null, preimages::Error>,
}

#[test]
fn corruption_is_caught() {
    corrupted_case_fails::<Preimages>("preimages_order_check-3.bin", |case| {
        case.post_state.accounts[1].data.preimage_requests[2].value = vec![41];
    });
    corrupted_case_fails::<Preimages>("preimages_order_check-3.bin", |case| {
        case.post_state.statistics[0].record.provided_size += 1;
    });
    // An error case whose expected code is changed must fail too.
    corrupted_case_fails::<Preimages>("preimage_not_needed-1.bin", |case| {
        case.output = VectorResult::Err(preimages::Error::PreimagesNotSortedUnique);
    });
}

//! The recent-history transition (GP §7) against `stf/history/{tiny,full}`: every
//! case's output and posterior `β` must match. The MMR alone is also checked by
//! `history_mmr.rs`, which tests the core MMR; this suite tests the transition.

#[macro_use]
mod stf_support;

use stf_support::{corrupted_case_fails, Null};
use tessera_core::hash::Hash;
use tessera_state::stf::history;

stf_component! {
    History: history::{Input, State, Output, Error},
    vector_output: Null,
}

#[test]
fn corruption_is_caught() {
    corrupted_case_fails::<History>("progress_blocks_history-2.bin", |case| {
        let newest = case
            .post_state
            .beta
            .history
            .last_mut()
            .expect("the post-state has a newest block");
        newest.beefy_root.0[0] ^= 1;
    });
    corrupted_case_fails::<History>("progress_blocks_history-3.bin", |case| {
        case.post_state.beta.history[0].state_root = Hash::ZERO;
    });
}

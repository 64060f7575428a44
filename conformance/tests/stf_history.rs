//! The recent-history transition (GP §7) against `stf/history/{tiny,full}`: every
//! case's output and posterior `β` must match. The MMR alone is also checked by
//! `history_mmr.rs`, which tests the core MMR; this suite tests the transition.

mod stf_support;

use stf_support::{corrupted_case_fails, Component, Null, StfSuite};
use tessera_core::hash::Hash;
use tessera_core::ChainSpec;
use tessera_state::history::{self, Error, Input, Output, State};

struct History;

impl Component for History {
    type Input = Input;
    type State = State;
    type Output = Output;
    type Error = Error;
    type VectorOutput = Null;

    fn apply(spec: &ChainSpec, pre: &State, input: &Input) -> Result<(State, Output), Error> {
        history::apply(spec, pre, input)
    }
}

#[test]
fn stf_history_tiny() {
    tessera_conformance::run(&StfSuite::<History>::tiny("history"));
}

#[test]
fn stf_history_full() {
    tessera_conformance::run(&StfSuite::<History>::full("history"));
}

#[test]
fn corrupted_post_state_fails() {
    corrupted_case_fails::<History>("history", "progress_blocks_history-2.bin", |case| {
        let newest = case
            .post_state
            .beta
            .history
            .last_mut()
            .expect("the post-state has a newest block");
        newest.beefy_root.0[0] ^= 1;
    });
    corrupted_case_fails::<History>("history", "progress_blocks_history-3.bin", |case| {
        case.post_state.beta.history[0].state_root = Hash::ZERO;
    });
}

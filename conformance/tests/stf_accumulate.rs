//! The accumulation transition (GP §12) against `stf/accumulate/{tiny,full}`: each
//! case runs the service code on the PVM with the accumulate host functions; the
//! output (accumulation-output root) and the whole posterior state part must match.

mod stf_support;

use stf_support::{corrupted_case_fails, Component, Expected, StfSuite, VectorResult};
use tessera_core::hash::Hash;
use tessera_core::ChainSpec;
use tessera_state::accumulate::{self, Error, Input, Output, State};

struct Accumulate;

impl Expected<Hash, Error> for VectorResult<Hash, Error> {
    fn expected(&self) -> Result<Hash, Error> {
        match self {
            VectorResult::Ok(h) => Ok(*h),
            VectorResult::Err(e) => Err(*e),
        }
    }
}

impl Component for Accumulate {
    type Input = Input;
    type State = State;
    type Output = Output;
    type Error = Error;
    type VectorOutput = VectorResult<Hash, Error>;

    fn apply(spec: &ChainSpec, pre: &State, input: &Input) -> Result<(State, Output), Error> {
        accumulate::apply(spec, pre, input)
    }
}

#[test]
fn stf_accumulate_tiny() {
    tessera_conformance::run(&StfSuite::<Accumulate>::tiny("accumulate"));
}

#[test]
fn stf_accumulate_full() {
    tessera_conformance::run(&StfSuite::<Accumulate>::full("accumulate"));
}

#[test]
fn corrupted_post_state_fails() {
    corrupted_case_fails::<Accumulate>(
        "accumulate",
        "process_one_immediate_report-1.bin",
        |case| {
            case.post_state.accounts[0].data.service.bytes += 1;
        },
    );
    corrupted_case_fails::<Accumulate>(
        "accumulate",
        "process_one_immediate_report-1.bin",
        |case| {
            case.post_state.statistics[0].record.accumulate_gas_used += 1;
        },
    );
    corrupted_case_fails::<Accumulate>("accumulate", "work_for_ejected_service-3.bin", |case| {
        case.output = VectorResult::Ok(Hash::default());
    });
}

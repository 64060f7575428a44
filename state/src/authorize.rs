//! Ψ_I, the Is-Authorized invocation (GP v0.7.2 appendix B.2, eq.
//! isauthinvocation): the package's authorizer code run on core `c`.
//!
//! ```text
//! Ψ_I(p, c) = (BAD, 0)   when p_authcode = ∅
//!             (BIG, 0)   when |p_authcode| > W_A
//!             (r, u)     where (u, r, ∅) = Ψ_M(p_authcode, 0, G_I, E_2(c), F, ∅)
//! ```
//!
//! `p_authcode` is defined in §14.3 by `E(↕p_m, p_authcode) = Λ(δ[p_h], (p_x)_t,
//! p_u)`: the code hash `p_u` looked up in the host service `p_h` at the lookup
//! anchor's slot, its metadata split off. The size check is on that code (Ψ_R's, by
//! contrast, is on the whole preimage). A preimage that does not split has no
//! `p_authcode`: BAD. The host functions `F` are
//! `gas` and `fetch` (Ω_Y with the package alone: kinds 0 and 7–13), JIP-1's `log`,
//! and `WHAT` for every other identifier; each costs 10 gas. The invocation is
//! stateless: no context.
//!
//! Deviation, as in Ψ_R: an output longer than `W_R` is not materialised (it could
//! be gigabytes of lazily mapped memory); it is ⊖ (output oversize), which no
//! report could carry as its authorizer trace anyway (`|t| ≤ W_R`).

use tessera_core::spec::ChainSpec;
use tessera_core::types::{CoreIndex, Gas, WorkExecResult, WorkPackage};
use tessera_pvm::{invoke_bounded_with, HostCalls, HostOutcome, InvocationResult, Machine};

use crate::host::{code, id, HOST_CALL_GAS};
use crate::refine::fetch::package_value;
use crate::refine::host::{reply, reply_slice};
use crate::refine::{strip_metadata, HistoricalLookup};

/// The entry point of the authorizer code (Ψ_M at pc 0).
const AUTHORIZE_PC: u32 = 0;

/// `Ψ_I(p, c)`: the authorizer trace (or the error) and the gas used, with δ as
/// `lookup`.
pub fn psi_i(
    spec: &ChainSpec,
    package: &WorkPackage,
    core: CoreIndex,
    lookup: &dyn HistoricalLookup,
) -> (Result<Vec<u8>, WorkExecResult>, Gas) {
    let Some(preimage) = lookup.historical_lookup(
        package.auth_code_host,
        package.context.lookup_anchor_slot,
        &package.auth_code_hash,
    ) else {
        return (Err(WorkExecResult::BadCode), 0);
    };
    let Some(code) = strip_metadata(spec, &preimage) else {
        return (Err(WorkExecResult::BadCode), 0);
    };
    let limit = usize::try_from(spec.max_authorizer_code_size).unwrap_or(usize::MAX);
    if code.len() > limit {
        return (Err(WorkExecResult::CodeOversize), 0);
    }
    let mut host = AuthorizeHost { spec, package };
    let Some(program) = crate::deblobbed::standard(&package.auth_code_hash, code) else {
        // Y or deblobbing failed: Ψ_M panics at once, using no gas.
        return (Err(WorkExecResult::Panic), 0);
    };
    let (gas_used, result) = invoke_bounded_with(
        code,
        &program,
        AUTHORIZE_PC,
        spec.gas_is_authorized,
        &core.to_le_bytes(),
        &mut host,
        spec.max_report_output_size,
    );
    let result = match result {
        Err(_) => Err(WorkExecResult::OutputOversize),
        Ok(InvocationResult::OutOfGas) => Err(WorkExecResult::OutOfGas),
        Ok(InvocationResult::Panic) => Err(WorkExecResult::Panic),
        Ok(InvocationResult::Output(o)) => Ok(o),
    };
    (result, gas_used)
}

/// `F` of Ψ_I (eq. isauthorizedmutator).
struct AuthorizeHost<'a> {
    spec: &'a ChainSpec,
    package: &'a WorkPackage,
}

impl HostCalls for AuthorizeHost<'_> {
    fn host_call(&mut self, call: u64, m: &mut Machine<'_>) -> HostOutcome {
        let left = m.gas().saturating_sub(HOST_CALL_GAS);
        m.set_gas(left);
        if left < 0 {
            return HostOutcome::OutOfGas;
        }
        match call {
            id::GAS => reply(m, u64::try_from(left).unwrap_or(0)),
            id::FETCH => {
                let v = package_value(self.spec, self.package, m.reg(10), m.reg(11));
                reply_slice(m, v.as_deref(), m.reg(7), m.reg(8), m.reg(9))
            }
            // JIP-1: a debug message with no effect.
            id::LOG => HostOutcome::Continue,
            _ => reply(m, code::WHAT),
        }
    }
}

#[cfg(test)]
mod tests {
    //! No official vector runs Ψ_I; these follow B.2 with programs written here: the
    //! standard initialisation (GP A.7) puts the halt address in `ω_0` and the
    //! argument `E_2(c)` at `ω_7` with length `ω_8`, so a program that halts at once
    //! outputs its argument.
    use std::collections::BTreeMap;

    use tessera_core::hash::{blake2b_256, Hash};
    use tessera_core::types::{RefineContext, ServiceId, TimeSlot};
    use tessera_core::{ByteArray, Bytes};
    use tessera_pvm::{Opcode, Program};

    use super::*;

    const HOST: ServiceId = 3;
    const ANCHOR: TimeSlot = 5;

    struct Lookup(BTreeMap<Hash, Vec<u8>>);

    impl HistoricalLookup for Lookup {
        fn historical_lookup(&self, s: ServiceId, t: TimeSlot, h: &Hash) -> Option<Vec<u8>> {
            (s == HOST && t == ANCHOR)
                .then(|| self.0.get(h).cloned())
                .flatten()
        }
    }

    /// A standard program of `code` (instructions given whole), no data, a 4 KiB
    /// stack, as a preimage with metadata "a".
    fn program(instructions: &[Vec<u8>]) -> Vec<u8> {
        let mut code = Vec::new();
        let mut starts = Vec::new();
        for i in instructions {
            starts.push(true);
            starts.extend(std::iter::repeat_n(false, i.len() - 1));
            code.extend_from_slice(i);
        }
        let blob = Program::encode_blob(&[], &code, &starts);
        let mut p = vec![0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0];
        p.extend_from_slice(&u32::try_from(blob.len()).unwrap().to_le_bytes());
        p.extend_from_slice(&blob);
        let mut preimage = vec![1, b'a'];
        preimage.extend_from_slice(&p);
        preimage
    }

    fn halt() -> Vec<u8> {
        vec![Opcode::JumpInd.code(), 0]
    }

    fn ecalli(n: u8) -> Vec<u8> {
        vec![Opcode::Ecalli.code(), n]
    }

    fn package(code: &[u8]) -> WorkPackage {
        WorkPackage {
            auth_code_host: HOST,
            auth_code_hash: blake2b_256(code),
            context: RefineContext {
                anchor: ByteArray([1; 32]),
                state_root: ByteArray([2; 32]),
                beefy_root: ByteArray([3; 32]),
                lookup_anchor: ByteArray([4; 32]),
                lookup_anchor_slot: ANCHOR,
                prerequisites: Vec::new(),
            },
            authorization: Bytes(b"token".to_vec()),
            authorizer_config: Bytes(b"config".to_vec()),
            items: Vec::new(),
        }
    }

    fn run(
        spec: &ChainSpec,
        code: &[u8],
        core: CoreIndex,
    ) -> (Result<Vec<u8>, WorkExecResult>, Gas) {
        let lookup = Lookup(BTreeMap::from([(blake2b_256(code), code.to_vec())]));
        psi_i(spec, &package(code), core, &lookup)
    }

    #[test]
    fn a_program_that_halts_outputs_its_argument_the_core() {
        let spec = ChainSpec::tiny();
        let code = program(&[halt()]);
        // One instruction, one gas; the output is E_2(c).
        assert_eq!(run(&spec, &code, 1), (Ok(vec![1, 0]), 1));
        assert_eq!(run(&spec, &code, 0x0102), (Ok(vec![2, 1]), 1));
    }

    #[test]
    fn missing_or_oversized_code_is_bad_or_big_and_costs_nothing() {
        let spec = ChainSpec::tiny();
        let code = program(&[halt()]);
        let other = Lookup(BTreeMap::new());
        assert_eq!(
            psi_i(&spec, &package(&code), 0, &other),
            (Err(WorkExecResult::BadCode), 0)
        );
        // The metadata ("a", two octets with its length) is not counted: W_A
        // octets of code pass the size check, W_A + 1 do not.
        let limit = spec.max_authorizer_code_size as usize;
        let mut at_limit = code.clone();
        at_limit.resize(limit + 2, 0);
        assert_ne!(
            run(&spec, &at_limit, 0).0,
            Err(WorkExecResult::CodeOversize)
        );
        let mut big = code.clone();
        big.resize(limit + 3, 0);
        assert_eq!(run(&spec, &big, 0), (Err(WorkExecResult::CodeOversize), 0));
        // A preimage whose metadata length runs past its end has no code.
        assert_eq!(run(&spec, &[0x7F], 0), (Err(WorkExecResult::BadCode), 0));
    }

    #[test]
    fn host_calls_cost_ten_and_unknown_ones_answer_what() {
        let spec = ChainSpec::tiny();
        // gas, then halt: ω7 becomes the gas left, so the output range is not
        // readable and the output is empty (Ψ_M); 1 + 10 + 1 gas.
        let code = program(&[ecalli(0), halt()]);
        assert_eq!(run(&spec, &code, 0), (Ok(Vec::new()), 12));
        // read (3) is no Ψ_I host call: ω7 = WHAT, 10 gas all the same.
        let code = program(&[ecalli(3), halt()]);
        assert_eq!(run(&spec, &code, 0), (Ok(Vec::new()), 12));
        // log (JIP-1) changes nothing: the argument is still the output.
        let code = program(&[ecalli(100), halt()]);
        assert_eq!(run(&spec, &code, 7), (Ok(vec![7, 0]), 12));
    }

    #[test]
    fn a_program_that_never_halts_runs_out_of_g_i() {
        let spec = ChainSpec::tiny();
        // `jump` to itself: offset 0 from its own address.
        let code = program(&[vec![Opcode::Jump.code(), 0]]);
        assert_eq!(
            run(&spec, &code, 0),
            (Err(WorkExecResult::OutOfGas), spec.gas_is_authorized)
        );
    }
}

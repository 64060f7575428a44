//! Property tests: arbitrary blobs and arbitrary well-formed programs never panic the
//! host, always stop, and never use more gas than they were given.

use proptest::prelude::*;
use tessera_pvm::{
    psi, run_with_host, Access, ExitReason, HostCalls, HostOutcome, Machine, Memory, Program,
};

fn memory() -> Memory {
    let mut m = Memory::new();
    m.set_access(0x1_0000, 4, Access::ReadOnly);
    m.set_access(0x2_0000, 4, Access::Writable);
    m.set_heap_top(0x3_0000);
    m
}

/// A host that resumes every call, charging 10 gas like the accumulate host calls.
struct Resume;

impl HostCalls for Resume {
    fn host_call(&mut self, _id: u64, m: &mut Machine<'_>) -> HostOutcome {
        let g = m.gas() - 10;
        m.set_gas(g.max(0));
        if g < 0 {
            HostOutcome::OutOfGas
        } else {
            HostOutcome::Continue
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_blobs_never_panic(blob in proptest::collection::vec(any::<u8>(), 0..300),
                                gas in 0i64..5000, pc in 0u32..400) {
        let out = psi(&blob, pc, gas, [0x2_0000; 13], memory());
        prop_assert!(out.gas >= 0 && out.gas <= gas);
    }

    #[test]
    fn random_programs_stop_within_their_gas(
        code in proptest::collection::vec(any::<u8>(), 1..400),
        starts in proptest::collection::vec(any::<bool>(), 400),
        jumps in proptest::collection::vec(0u32..420, 0..8),
        regs in proptest::array::uniform13(prop_oneof![any::<u64>(), 0x1_0000u64..0x2_4000]),
        gas in 0i64..20_000,
        pc in 0u32..420,
    ) {
        let blob = Program::encode_blob(&jumps, &code, &starts);
        let program = Program::from_blob(&blob).expect("encode_blob is well formed");
        let mut m = Machine::new(&program, pc, gas, regs, memory());
        let exit = run_with_host(&mut m, &mut Resume);
        prop_assert!(m.gas() >= 0 && m.gas() <= gas);
        if exit == ExitReason::OutOfGas {
            prop_assert!(m.gas() < 10, "stopped for gas with {} left", m.gas());
        }
        // The same run in per-block mode also stops and never gains gas.
        let mut m = Machine::new(&program, pc, gas, regs, memory());
        m.set_gas_mode(tessera_pvm::GasMode::PerBasicBlock);
        let _ = m.run();
        prop_assert!(m.gas() <= gas);
    }
}

//! Random programs and random host-call results through the PVM: deblobbing, Ψ on
//! a raw blob, and Ψ_H via Ψ_M over a standard program, with a host that answers
//! every `ecalli` from the fuzz input (register values, memory writes, gas
//! charges and stop reasons). Nothing may panic, and gas may never grow.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_pvm::{invoke, psi, Memory, Program};

#[path = "scripted_host.rs"]
mod scripted_host;
use scripted_host::ScriptedHost;

fuzz_target!(|data: &[u8]| {
    if data.len() < 4 {
        return;
    }
    let (head, rest) = data.split_at(4);
    let gas = u64::from(u16::from_le_bytes([head[0], head[1]])) * 16;
    let split = usize::from(head[2]) % (rest.len() + 1);
    let (program, script) = rest.split_at(split);

    // Ψ on the raw bytes as a blob (most fail to deblob: that is an exit too).
    let _ = Program::from_blob(program);
    let out = psi(
        program,
        0,
        i64::try_from(gas).unwrap_or(0),
        [0; 13],
        Memory::new(),
    );
    assert!(out.gas <= i64::try_from(gas).unwrap_or(i64::MAX));

    // Ψ_M over a standard program: a minimal Y header around the raw bytes as code.
    let mut standard = Vec::with_capacity(program.len() + 15);
    standard.extend_from_slice(&[0, 0, 0, 0, 0, 0, head[3], 0, 0, 0x10, 0]);
    standard.extend_from_slice(&u32::try_from(program.len()).unwrap_or(0).to_le_bytes());
    standard.extend_from_slice(program);
    let mut host = ScriptedHost {
        script,
        at: 0,
        calls: 0,
    };
    let (used, _) = invoke(&standard, 0, gas, script, &mut host);
    assert!(used <= gas);
});

//! Random programs and random host-call results through the PVM: deblobbing, Ψ on
//! a raw blob, and Ψ_H via Ψ_M over a standard program, with a host that answers
//! every `ecalli` from the fuzz input (register values, memory writes, gas
//! charges and stop reasons). Nothing may panic, and gas may never grow.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_pvm::{invoke, psi, HostCalls, HostOutcome, Machine, Memory, Program};

/// A host whose every answer comes from the fuzz input.
struct ScriptedHost<'a> {
    script: &'a [u8],
    at: usize,
    calls: u32,
}

impl ScriptedHost<'_> {
    fn byte(&mut self) -> u8 {
        let b = self.script.get(self.at).copied().unwrap_or(0);
        self.at = self.at.wrapping_add(1);
        b
    }

    fn word(&mut self) -> u64 {
        (0..8).fold(0u64, |acc, _| (acc << 8) | u64::from(self.byte()))
    }
}

impl HostCalls for ScriptedHost<'_> {
    fn host_call(&mut self, _id: u64, m: &mut Machine<'_>) -> HostOutcome {
        self.calls += 1;
        if self.calls > 10_000 {
            return HostOutcome::Panic;
        }
        let before = m.gas();
        let charge = i64::from(self.byte());
        m.set_gas(before.saturating_sub(charge));
        let reg = usize::from(self.byte() % 13);
        let value = self.word();
        m.set_reg(reg, value);
        // A host write of a few octets wherever the program asked (ω7), as the
        // read and fetch calls do; refused where not writable.
        let len = usize::from(self.byte() % 16);
        let addr = u32::try_from(m.reg(7) & 0xffff_ffff).unwrap_or(0);
        let data: Vec<u8> = (0..len).map(|_| self.byte()).collect();
        let _ = m.memory.write(addr, &data);
        match self.byte() % 8 {
            0 => HostOutcome::Halt,
            1 => HostOutcome::Panic,
            2 => HostOutcome::OutOfGas,
            _ if m.gas() < 0 => HostOutcome::OutOfGas,
            _ => HostOutcome::Continue,
        }
    }
}

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
    let out = psi(program, 0, i64::try_from(gas).unwrap_or(0), [0; 13], Memory::new());
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

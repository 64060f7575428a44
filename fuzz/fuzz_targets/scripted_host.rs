//! The scripted host both PVM targets use: every answer of a host call (gas charge,
//! a register, a memory write, whether to continue) comes from the fuzz input.

use tessera_pvm::{HostCalls, HostOutcome, Machine};

/// A host whose every answer comes from the fuzz input.
pub struct ScriptedHost<'a> {
    pub script: &'a [u8],
    pub at: usize,
    pub calls: u32,
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

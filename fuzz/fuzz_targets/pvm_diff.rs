//! Differential fuzzing (issue 21): the recompiler against the interpreter, its
//! oracle. A program (code, bitmask and jump table from the input) runs through Ψ_H on
//! both backends with the same scripted host; the exit, pc, gas, registers, heap top
//! and the mapped memory must be identical.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_pvm::{run_with_host, Access, Backend, Machine, Memory, Program};

#[path = "scripted_host.rs"]
mod scripted_host;
use scripted_host::ScriptedHost;

fn memory() -> Memory {
    let mut m = Memory::new();
    m.set_access(0x1_0000, 2, Access::ReadOnly);
    m.poke(0x1_0000, &[0xa5; 300]);
    m.set_access(0x2_0000, 4, Access::Writable);
    m.poke(0x2_0000, &[0x3c; 100]);
    m.set_heap_top(0x2_4000);
    m
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 8 {
        return;
    }
    let (head, rest) = data.split_at(8);
    let gas = i64::from(u16::from_le_bytes([head[0], head[1]])) * 16;
    let code_len = usize::from(head[2]).min(rest.len());
    let (code, rest) = rest.split_at(code_len);
    let mask_len = code_len.div_ceil(8).min(rest.len());
    let (mask, script) = rest.split_at(mask_len);
    let starts: Vec<bool> = (0..code_len)
        .map(|i| mask.get(i / 8).is_some_and(|b| b >> (i % 8) & 1 == 1))
        .collect();
    let jumps: Vec<u32> = head[4..8].iter().map(|b| u32::from(*b)).collect();
    let blob = Program::encode_blob(&jumps, code, &starts);
    let Ok(program) = Program::from_blob(&blob) else {
        return;
    };
    let pc = u32::from(head[3]);
    let regs: [u64; 13] = std::array::from_fn(|i| 0x2_0000 + 8 * u64::try_from(i).unwrap_or(0));
    let run = |backend: Backend| {
        let mut m = Machine::new(&program, pc, gas, regs, memory());
        m.set_backend(backend);
        let mut host = ScriptedHost {
            script,
            at: 0,
            calls: 0,
        };
        let exit = run_with_host(&mut m, &mut host);
        let mut mem = vec![0u8; 6 * 4096];
        m.memory.peek(0x1_0000, &mut mem[..2 * 4096]);
        m.memory.peek(0x2_0000, &mut mem[2 * 4096..]);
        (exit, m.pc(), m.gas(), m.regs(), m.memory.heap_top(), mem)
    };
    let oracle = run(Backend::Interpreter);
    let got = run(Backend::Recompiler);
    assert!(
        got == oracle,
        "recompiler {:?} vs interpreter {:?}",
        (got.0, got.1, got.2, got.3),
        (oracle.0, oracle.1, oracle.2, oracle.3)
    );
});

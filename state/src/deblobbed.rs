//! Service code deblobbed once and remembered: the pre-decoded [`Program`] (and, on
//! the recompiler backend, its machine code, made on first run and kept with it) of
//! the last few codes run, for refine (Ψ_R), is-authorized (Ψ_I), accumulate (Ψ_A)
//! and refine's inner machines (Ω_M).
//!
//! Deblobbing, and more so translating, costs more than a short invocation runs,
//! and the same services run block after block and report after report. An entry
//! is found by its code's bytes (the code hash only narrows the search: a state
//! handed over by a peer or a fuzzer need not have preimages that hash to their
//! keys), so a hit is exactly the program that deblobbing the code would give.

use std::sync::Arc;

use tessera_core::hash::Hash;
use tessera_core::memo::Memo;
use tessera_pvm::{initialise, Program};

/// The deblobbed code `c` of the standard program `p` (GP A.7's Y, which lays `c`
/// out the same whatever the arguments), remembered for the last 32 programs;
/// `None` when Y or deblobbing fails (not remembered: Ψ_M panics on it at once).
pub(crate) fn standard(code_hash: &Hash, p: &[u8]) -> Option<Arc<Program>> {
    static PROGRAMS: Memo<(Hash, Vec<u8>), Arc<Program>> = Memo::new(32);
    PROGRAMS
        .get_or_try::<()>(
            |(h, c)| h == code_hash && c.as_slice() == p,
            || {
                let init = initialise(p, &[]).ok_or(())?;
                // `()`: nothing to say beyond "does not deblob", which Ψ_M makes a panic.
                let program = Program::from_blob(&init.code).map_err(|_| ())?;
                Ok(((*code_hash, p.to_vec()), Arc::new(program)))
            },
        )
        .ok()
}

/// A raw program blob (GP A.2) deblobbed, remembered for the last 16 (Ω_M's inner
/// machines: a refine may make many of the same code).
pub(crate) fn raw(blob: &[u8]) -> Option<Arc<Program>> {
    static PROGRAMS: Memo<Vec<u8>, Arc<Program>> = Memo::new(16);
    PROGRAMS
        .get_or_try::<()>(
            |b| b.as_slice() == blob,
            || {
                let program = Program::from_blob(blob).map_err(|_| ())?;
                Ok((blob.to_vec(), Arc::new(program)))
            },
        )
        .ok()
}

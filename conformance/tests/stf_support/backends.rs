//! Issue 21: suites that run service code run once per PVM backend, so every
//! accumulate vector and trace step checks the recompiler and the interpreter alike.
//!
//! The backend is the process-wide default (machines are created deep inside the
//! transitions, on rayon threads too), so the runs of one test binary take turns.

use std::sync::Mutex;

use tessera_pvm::Backend;

static TURN: Mutex<()> = Mutex::new(());

/// Run `f` with each backend as the default, in turn.
pub(crate) fn on_each_backend(what: &str, f: impl Fn()) {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    for backend in [Backend::Interpreter, Backend::Recompiler] {
        eprintln!("[{what}] PVM backend: {}", backend.name());
        Backend::set_default(Some(backend));
        f();
    }
    Backend::set_default(None);
}

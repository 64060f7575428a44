//! Where a call runs: [`Backend::Auto`] resolved (the GPU probe), the engine of a
//! backend for one erasure call ([`with_engine`]), and the GPU→SIMD fallback of the
//! operations that have no error to return ([`or_simd`]). The one place that knows
//! every backend, so that the backends and the types they share (`backend`, `engine`)
//! know none of each other.

use std::cell::RefCell;

use crate::backend::Backend;
use crate::calibration::{self, Operation};
use crate::cpu::CpuEngine;
use crate::engine::ErasureEngine;
use crate::gpu::{auto_uses_gpu, context, GpuEngine, GpuError};
use crate::simd::SimdEngine;

impl Backend {
    /// The concrete backend a call of `operation` at `size` with `self` runs on:
    /// `Auto` is `Gpu` when a hardware GPU adapter exists
    /// ([`crate::gpu::auto_uses_gpu`], probed once per process) and the installed
    /// calibration, made on that adapter, measured the GPU faster there
    /// ([`crate::calibration`]); else `Simd`. (Defined here, not beside the type,
    /// because it opens the GPU; [`Backend::resolve_with`] is the rule alone.)
    pub fn resolve_for(self, operation: Operation, size: u64) -> Backend {
        self.resolve_with(|| {
            auto_uses_gpu()
                && context().is_ok_and(|c| calibration::gpu_wins(operation, size, c.adapter_name()))
        })
    }

    /// The backend of a holder that picks once for all its packages (an
    /// [`crate::ErasureCoder`], the availability pipeline): `Auto` decided for the
    /// availability pipeline ([`Operation::ErasureRoot`]) at the largest size.
    pub fn resolve(self) -> Backend {
        self.resolve_for(Operation::ErasureRoot, u64::MAX)
    }
}

thread_local! {
    /// Each thread's reusable simd engine (encoder, decoder and scratch buffers).
    static SIMD_ENGINE: RefCell<SimdEngine> = RefCell::new(SimdEngine::default());
}

/// Run `f` with this thread's engine for `backend`, `Auto` resolved for `operation`
/// at `size`.
pub(crate) fn with_engine<T>(
    backend: Backend,
    (operation, size): (Operation, usize),
    f: impl FnOnce(&mut dyn ErasureEngine) -> T,
) -> T {
    match backend.resolve_for(operation, size as u64) {
        Backend::Cpu => f(&mut CpuEngine),
        Backend::Gpu => f(&mut GpuEngine),
        _ => SIMD_ENGINE.with(|engine| match engine.try_borrow_mut() {
            Ok(mut engine) => f(&mut *engine),
            // Only reachable if `f` re-enters; a fresh engine keeps that correct.
            Err(_) => f(&mut SimdEngine::default()),
        }),
    }
}

/// `result` of an operation's `try_` form, or — when the GPU could not run it (no
/// adapter, a failed submission; only the `Gpu` backend fails) — the same operation
/// on `Simd`, after one warning naming `what`. Every backend gives the same results,
/// so falling back changes the speed, never an outcome.
pub(crate) fn or_simd<T>(what: &str, result: Result<T, GpuError>, simd: impl FnOnce() -> T) -> T {
    match result {
        Ok(value) => value,
        Err(e) => {
            tracing::warn!("{what} on gpu failed, running it on simd instead: {e}");
            simd()
        }
    }
}

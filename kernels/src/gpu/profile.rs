//! Where the `gpu` backend's host thread spends its time (issue #20, "make the GPU's
//! time visible"): while profiling is on, every staging copy, every wait for a
//! mapping, every read-back copy and every submission is timed on the host and
//! summed by span. A process turns it on with [`enable`] and reads and clears the
//! sums with [`take`] (e.g. once per measured operation in `tessera bench da
//! --profile`). Off — the default — a span costs one relaxed atomic load.
//!
//! These are host timers: a wait for a mapping includes the GPU's work on the
//! submissions before it. Timing the passes on the GPU itself needs timestamp
//! queries ([`super::GpuContext::timestamp_queries`] says whether the adapter has
//! them); the passes do not write them yet.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

static ON: AtomicBool = AtomicBool::new(false);
static SUMS: Mutex<BTreeMap<&'static str, (u64, Duration)>> = Mutex::new(BTreeMap::new());

/// One span's total since the last [`take`].
#[derive(Clone, Debug, PartialEq)]
pub struct SpanTotal {
    /// What was timed.
    pub span: &'static str,
    /// How many times.
    pub count: u64,
    /// Their total, in seconds.
    pub seconds: f64,
}

/// Start summing spans (for the whole process).
pub fn enable() {
    ON.store(true, Ordering::Relaxed);
}

/// The sums since the last call, by span name, and start again from zero.
pub fn take() -> Vec<SpanTotal> {
    let mut sums = SUMS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    std::mem::take(&mut *sums)
        .into_iter()
        .map(|(span, (count, total))| SpanTotal {
            span,
            count,
            seconds: total.as_secs_f64(),
        })
        .collect()
}

/// Time `f` as `span` when profiling is on.
pub(super) fn timed<T>(span: &'static str, f: impl FnOnce() -> T) -> T {
    if !ON.load(Ordering::Relaxed) {
        return f();
    }
    let start = Instant::now();
    let out = f();
    let took = start.elapsed();
    let mut sums = SUMS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let entry = sums.entry(span).or_insert((0, Duration::ZERO));
    entry.0 += 1;
    entry.1 += took;
    out
}

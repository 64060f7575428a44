//! Where the `gpu` backend's host thread spends its time (issue #20, "make the GPU's
//! time visible"): while profiling is on, every staging copy, every wait for a
//! mapping, every read-back copy and every submission is timed on the host and
//! summed by span. A process turns it on with [`enable`] and reads and clears the
//! sums with [`take`] (e.g. once per measured operation in `tessera bench da
//! --profile`). Off — the default — a span costs one relaxed atomic load.
//!
//! These are host timers: a wait for a mapping includes the GPU's work on the
//! submissions before it. Where the adapter has timestamp queries
//! ([`super::GpuContext::timestamp_queries`]), the GPU's own clock times each compute
//! pass and (where it can write timestamps between commands) each copy as well,
//! summed as spans with [`SpanTotal::on_gpu`] set (see `recorder.rs`). Host and GPU
//! spans overlap in time: they are two views of one run, not parts of a sum.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

static ON: AtomicBool = AtomicBool::new(false);
/// A span's key: whether the GPU timed it, and its name.
type SpanKey = (bool, &'static str);

/// Count and total per span.
static SUMS: Mutex<BTreeMap<SpanKey, (u64, Duration)>> = Mutex::new(BTreeMap::new());

/// One span's total since the last [`take`].
#[derive(Clone, Debug, PartialEq)]
pub struct SpanTotal {
    /// What was timed.
    pub span: &'static str,
    /// How many times.
    pub count: u64,
    /// Their total, in seconds.
    pub seconds: f64,
    /// Timed by the GPU's clock (timestamp queries around a pass or copy) rather
    /// than the host's.
    pub on_gpu: bool,
}

/// Start summing spans (for the whole process).
pub fn enable() {
    ON.store(true, Ordering::Relaxed);
}

/// Whether spans are being summed.
pub(super) fn enabled() -> bool {
    ON.load(Ordering::Relaxed)
}

/// The sums since the last call (host spans first, then GPU spans, each by name),
/// and start again from zero. GPU spans of submissions still running are waited for.
pub fn take() -> Vec<SpanTotal> {
    super::device::collect_gpu_times();
    let mut sums = SUMS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    std::mem::take(&mut *sums)
        .into_iter()
        .map(|((on_gpu, span), (count, total))| SpanTotal {
            span,
            count,
            seconds: total.as_secs_f64(),
            on_gpu,
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
    add(false, span, start.elapsed());
    out
}

/// Count one `span` (an event, not a duration) when profiling is on.
pub(super) fn count(span: &'static str) {
    if enabled() {
        add(false, span, Duration::ZERO);
    }
}

/// Add an interval the GPU timed, of `nanoseconds`.
pub(super) fn add_gpu(span: &'static str, nanoseconds: f64) {
    add(
        true,
        span,
        Duration::from_secs_f64(nanoseconds.max(0.0) / 1e9),
    );
}

fn add(on_gpu: bool, span: &'static str, took: Duration) {
    let mut sums = SUMS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let entry = sums.entry((on_gpu, span)).or_insert((0, Duration::ZERO));
    entry.0 += 1;
    entry.1 += took;
}

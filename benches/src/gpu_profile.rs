//! The `gpu` backend's profile (`tessera_kernels::gpu::profile`) as benches print it:
//! host spans (staging copies, waits, read-backs, submissions) and, where the adapter
//! has timestamp queries, GPU spans (each pass and copy on the GPU's own clock), per
//! run of the measured operation.

use std::io::Write;

use tessera_kernels::gpu::profile::SpanTotal;

/// The profile of one measured operation: its spans over `runs` runs.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Profile {
    /// The spans summed over all runs.
    pub spans: Vec<SpanTotal>,
    /// Runs the spans sum over.
    pub runs: usize,
}

impl Profile {
    /// The spans recorded since the last [`Profile::take`] (or [`discard`]), over
    /// `runs` runs.
    pub fn take(runs: usize) -> Profile {
        Profile {
            spans: tessera_kernels::gpu::profile::take(),
            runs: runs.max(1),
        }
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    fn per_run(&self, seconds: f64) -> f64 {
        seconds / self.runs.max(1) as f64
    }

    /// The spans as JSON: `[{"span", "clock": "host"|"gpu", "count", "seconds_per_run"}]`.
    pub fn json(&self) -> serde_json::Value {
        self.spans
            .iter()
            .map(|s| {
                serde_json::json!({
                    "span": s.span,
                    "clock": if s.on_gpu { "gpu" } else { "host" },
                    "count": s.count,
                    "seconds_per_run": self.per_run(s.seconds),
                })
            })
            .collect()
    }

    /// The breakdown under `title`, for a run whose best time was `best_seconds`:
    /// host spans and what is left of the run outside them, then GPU spans and their
    /// sum (the GPU busy time the timestamps saw).
    pub fn write(
        &self,
        out: &mut dyn Write,
        title: &str,
        best_seconds: f64,
    ) -> std::io::Result<()> {
        writeln!(
            out,
            "profile, {title} (per run, mean of {}; the best run took {best_seconds:.4} s):",
            self.runs
        )?;
        let runs = self.runs.max(1) as u64;
        let mut host = 0.0;
        for s in self.spans.iter().filter(|s| !s.on_gpu) {
            writeln!(
                out,
                "  host {:<44} {:>7} × {:>10.4} s",
                s.span,
                s.count / runs,
                self.per_run(s.seconds)
            )?;
            host += self.per_run(s.seconds);
        }
        writeln!(
            out,
            "  host {:<44} {:>17.4} s",
            "rest (host work outside these spans)",
            (best_seconds - host).max(0.0)
        )?;
        let gpu: Vec<&SpanTotal> = self.spans.iter().filter(|s| s.on_gpu).collect();
        if gpu.is_empty() {
            return writeln!(
                out,
                "  gpu  (no timestamp queries on this adapter: host timers only)"
            );
        }
        let mut busy = 0.0;
        for s in gpu {
            writeln!(
                out,
                "  gpu  {:<44} {:>7} × {:>10.4} s",
                s.span,
                s.count / runs,
                self.per_run(s.seconds)
            )?;
            busy += self.per_run(s.seconds);
        }
        writeln!(
            out,
            "  gpu  {:<44} {:>17.4} s ({:.0}% of the best run)",
            "busy (sum of the timed passes and copies)",
            busy,
            100.0 * busy / best_seconds.max(f64::MIN_POSITIVE)
        )
    }
}

/// Drop what the profile recorded so far (setup, earlier operations).
pub fn discard() {
    let _ = tessera_kernels::gpu::profile::take();
}

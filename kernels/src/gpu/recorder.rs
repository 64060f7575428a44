//! Recording a submission, with the GPU's own clock around each step while profiling
//! (issue #20, "make the GPU's time visible"): every kernel records its copies and
//! compute passes through a [`Recorder`] rather than a bare command encoder, naming
//! each step. When [`super::profile`] is on and the adapter has timestamp queries,
//! each compute pass gets a pair of timestamp writes (its beginning and end), and so
//! does each copy where the adapter can write timestamps between commands
//! (`TIMESTAMP_QUERY_INSIDE_ENCODERS`); the queries are resolved at the end of the
//! submission into a buffer that is mapped when the GPU is done with it, and the
//! intervals are added to the profile as GPU spans (`SpanTotal::on_gpu`).
//!
//! While timing, each dispatch of a plan runs in a pass of its own (so each transform
//! stage and tree level is timed); otherwise a plan is one pass, as it always was.
//! Timing costs a few queries and one small read-back per submission and nothing when
//! profiling is off.

use std::sync::mpsc;

use super::device::GpuContext;
use super::profile;

/// Queries per submission: 256 timed intervals (a full encode records about a dozen;
/// further intervals go untimed rather than failing).
const QUERIES: u32 = 512;

/// The timestamp queries of one submission.
struct Timer {
    queries: wgpu::QuerySet,
    /// The label of interval `i` (queries `2i` and `2i + 1`).
    labels: Vec<&'static str>,
    /// Whether timestamps may be written between commands (copies timed too).
    inside_encoders: bool,
}

impl Timer {
    /// The queries of the next interval, or `None` once the set is full.
    fn next(&mut self, label: &'static str) -> Option<(u32, u32)> {
        let i = self.labels.len() as u32;
        (2 * i + 1 < QUERIES).then(|| {
            self.labels.push(label);
            (2 * i, 2 * i + 1)
        })
    }
}

/// The resolved queries of a submitted [`Recorder`], read once the GPU has run it.
pub(super) struct PendingTimes {
    labels: Vec<&'static str>,
    buffer: wgpu::Buffer,
    mapped: mpsc::Receiver<Result<(), wgpu::BufferAsyncError>>,
}

/// A command encoder with named steps, timed on the GPU while profiling.
pub(super) struct Recorder {
    encoder: wgpu::CommandEncoder,
    timer: Option<Timer>,
}

impl Recorder {
    /// Whether passes are being timed, so that each dispatch should have its own.
    pub(super) fn passes_timed(&self) -> bool {
        self.timer.is_some()
    }

    /// Copy `size` octets of `src` from `src_at` into `dst` at `dst_at`.
    pub(super) fn copy(
        &mut self,
        label: &'static str,
        (src, src_at): (&wgpu::Buffer, u64),
        (dst, dst_at): (&wgpu::Buffer, u64),
        size: u64,
    ) {
        let queries = self.between_commands(label);
        if let Some((begin, _)) = queries {
            self.write_timestamp(begin);
        }
        self.encoder
            .copy_buffer_to_buffer(src, src_at, dst, dst_at, size);
        if let Some((_, end)) = queries {
            self.write_timestamp(end);
        }
    }

    /// Zero `size` octets of `buffer` from `at`.
    pub(super) fn clear(&mut self, label: &'static str, buffer: &wgpu::Buffer, at: u64, size: u64) {
        let queries = self.between_commands(label);
        if let Some((begin, _)) = queries {
            self.write_timestamp(begin);
        }
        self.encoder.clear_buffer(buffer, at, Some(size));
        if let Some((_, end)) = queries {
            self.write_timestamp(end);
        }
    }

    /// A compute pass named `label`, timed from its beginning to its end while
    /// profiling.
    pub(super) fn pass(&mut self, label: &'static str) -> wgpu::ComputePass<'_> {
        let queries = self.timer.as_mut().and_then(|t| t.next(label));
        let timestamp_writes = match (&self.timer, queries) {
            (Some(timer), Some((begin, end))) => Some(wgpu::ComputePassTimestampWrites {
                query_set: &timer.queries,
                beginning_of_pass_write_index: Some(begin),
                end_of_pass_write_index: Some(end),
            }),
            _ => None,
        };
        self.encoder
            .begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some(label),
                timestamp_writes,
            })
    }

    fn between_commands(&mut self, label: &'static str) -> Option<(u32, u32)> {
        self.timer
            .as_mut()
            .filter(|t| t.inside_encoders)
            .and_then(|t| t.next(label))
    }

    fn write_timestamp(&mut self, query: u32) {
        if let Some(timer) = &self.timer {
            self.encoder.write_timestamp(&timer.queries, query);
        }
    }
}

impl GpuContext {
    /// A recorder for one submission; timed when profiling is on and the adapter has
    /// timestamp queries.
    pub(super) fn recorder(&self) -> Recorder {
        let encoder = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor::default());
        let timer = (self.timestamps && profile::enabled()).then(|| Timer {
            queries: self.device.create_query_set(&wgpu::QuerySetDescriptor {
                label: Some("profile timestamps"),
                ty: wgpu::QueryType::Timestamp,
                count: QUERIES,
            }),
            labels: Vec::new(),
            inside_encoders: self.timestamps_inside_encoders,
        });
        Recorder { encoder, timer }
    }

    /// Submit what `recorder` recorded (timed as a host span of the profile); its
    /// timestamps, if any, are resolved in the same submission and read later by
    /// [`Self::collect_gpu_times`].
    pub(super) fn submit(&self, recorder: Recorder) -> wgpu::SubmissionIndex {
        let Recorder { mut encoder, timer } = recorder;
        let pending = timer
            .filter(|t| !t.labels.is_empty())
            .map(|t| self.resolve(&mut encoder, t));
        let index = profile::timed("submit", || self.queue.submit([encoder.finish()]));
        if let Some((labels, buffer)) = pending {
            let (sender, mapped) = mpsc::channel();
            buffer.map_async(wgpu::MapMode::Read, .., move |result| {
                let _ = sender.send(result);
            });
            self.pending_times().push(PendingTimes {
                labels,
                buffer,
                mapped,
            });
        }
        index
    }

    /// Resolve `timer`'s queries into a mappable buffer at the end of `encoder`.
    fn resolve(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        timer: Timer,
    ) -> (Vec<&'static str>, wgpu::Buffer) {
        let queries = 2 * timer.labels.len() as u32;
        let size = u64::from(queries) * 8;
        let resolved = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("profile timestamps resolved"),
            size,
            usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let readable = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("profile timestamps read back"),
            size,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        encoder.resolve_query_set(&timer.queries, 0..queries, &resolved, 0);
        encoder.copy_buffer_to_buffer(&resolved, 0, &readable, 0, size);
        (timer.labels, readable)
    }

    /// Add the intervals of every submission the GPU has finished to the profile;
    /// with `wait`, wait for all of them first.
    pub(super) fn collect_gpu_times(&self, wait: bool) {
        let mut pending = self.pending_times();
        if pending.is_empty() {
            return;
        }
        let poll = if wait {
            wgpu::PollType::Wait {
                submission_index: None,
                timeout: None,
            }
        } else {
            wgpu::PollType::Poll
        };
        if let Err(e) = self.device.poll(poll) {
            tracing::warn!("profile: waiting for the GPU's timestamps: {e}");
            return;
        }
        let period_ns = f64::from(self.queue.get_timestamp_period());
        pending.retain(|p| match p.mapped.try_recv() {
            Ok(Ok(())) => {
                if let Ok(view) = p.buffer.get_mapped_range(..) {
                    let ticks: Vec<u64> = view
                        .chunks_exact(8)
                        .map(|t| u64::from_le_bytes(t.try_into().unwrap_or([0; 8])))
                        .collect();
                    for (label, pair) in p.labels.iter().zip(ticks.chunks_exact(2)) {
                        // A pair out of order (a clock reset) is not an interval.
                        if let Some(elapsed) = pair[1].checked_sub(pair[0]) {
                            profile::add_gpu(label, elapsed as f64 * period_ns);
                        }
                    }
                }
                p.buffer.unmap();
                false
            }
            Ok(Err(e)) => {
                tracing::warn!("profile: reading the GPU's timestamps: {e}");
                false
            }
            Err(mpsc::TryRecvError::Empty) => true,
            Err(mpsc::TryRecvError::Disconnected) => false,
        });
    }
}

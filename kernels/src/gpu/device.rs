//! The device side of the `gpu` backend: one [`GpuContext`] per process ([`context`])
//! with the adapter, its device and queue, the compiled pipelines, the field tables and
//! the buffers kept across calls, and the helpers every kernel's submissions share
//! (buffer growth, staging, read-back, error scopes, bind groups). The kernels
//! (`reed_solomon`, `blake2b`, `merkle`, `ed25519`, `availability`) add their
//! operations to [`GpuContext`] in their own files.

use std::future::Future;
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::task::{Context, Poll, Waker};

use super::error::GpuError;
use super::profile::timed;
use super::recorder::PendingTimes;
use super::reed_solomon::{butterflies_source, IN_FLIGHT, MAX_RADIX_BITS};
use super::tables;

/// The largest storage binding (and so working buffer) the backend uses: 128 MiB, the
/// WebGPU default limit every adapter offers.
pub const MAX_BINDING: u64 = 128 << 20;

/// The one shared context, created on first use.
static CONTEXT: OnceLock<Result<GpuContext, GpuError>> = OnceLock::new();

/// The process's GPU context, created on first call; the error again on every call if
/// there is no usable adapter.
pub fn context() -> Result<&'static GpuContext, GpuError> {
    CONTEXT
        .get_or_init(GpuContext::new)
        .as_ref()
        .map_err(Clone::clone)
}

/// Add the GPU-timed intervals of the process's context, if it has one, to the
/// profile, waiting for submissions still running (see `recorder.rs`).
pub(super) fn collect_gpu_times() {
    if let Some(Ok(ctx)) = CONTEXT.get() {
        ctx.collect_gpu_times(true);
    }
}

/// Whether [`crate::Backend::Auto`] may run on the GPU at all: only when the adapter
/// is real hardware (a software rasteriser such as lavapipe is slower than `simd`).
/// Where it then runs is the calibration's to say ([`crate::calibration`]). Decided
/// once per process and logged once.
pub fn auto_uses_gpu() -> bool {
    static AUTO: OnceLock<bool> = OnceLock::new();
    // The adapter is looked at before any device is opened: a software adapter
    // never gets a context (whose device, kernels and kept buffers held ~70 MB for
    // the life of a node that then ran on simd anyway).
    *AUTO.get_or_init(|| match best_adapter() {
        Some(info) if info.device_type != wgpu::DeviceType::Cpu => match context() {
            Ok(ctx) => {
                tracing::info!(
                    adapter = %ctx.adapter_name(),
                    "backend auto: a hardware GPU; used for the operations and sizes its \
                     calibration measured faster than simd (`tessera bench da --calibrate`)"
                );
                true
            }
            Err(e) => {
                tracing::info!("backend auto: falling back to simd: {e}");
                false
            }
        },
        Some(info) => {
            tracing::info!(
                adapter = %info.name,
                "backend auto: software GPU adapter only, falling back to simd"
            );
            false
        }
        None => {
            tracing::info!("backend auto: no GPU adapter, falling back to simd");
            false
        }
    })
}

/// The adapter [`GpuContext::new`] would open, without opening it.
fn best_adapter() -> Option<wgpu::AdapterInfo> {
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle());
    let adapters = block_on(instance.enumerate_adapters(wgpu::Backends::all()));
    adapters
        .into_iter()
        .map(|a| a.get_info())
        .min_by_key(|i| preference(i.device_type))
}

/// Run a future that native wgpu resolves without an executor (adapter and device
/// requests, error-scope pops), polling it on this thread.
pub(super) fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return value;
        }
        std::thread::yield_now();
    }
}

/// Buffers kept across calls, grown on demand.
#[derive(Default)]
pub(super) struct Buffers {
    pub(super) upload: Option<wgpu::Buffer>,
    pub(super) work: Option<wgpu::Buffer>,
    pub(super) readback: Option<wgpu::Buffer>,
    pub(super) params: Option<wgpu::Buffer>,
    pub(super) skews: Option<wgpu::Buffer>,
    /// The transform's per-factor product tables (`Multiply::Tables`).
    pub(super) factor_tables: Option<wgpu::Buffer>,
    pub(super) hash_input: Option<wgpu::Buffer>,
    pub(super) hash_output: Option<wgpu::Buffer>,
    pub(super) sig_input: Option<wgpu::Buffer>,
    pub(super) sig_output: Option<wgpu::Buffer>,
    /// The fused pipeline's device-resident shards, Merkle specs and digest uniforms.
    pub(super) shards: Option<wgpu::Buffer>,
    pub(super) specs: Option<wgpu::Buffer>,
    pub(super) digest_params: Option<wgpu::Buffer>,
    /// The upload and read-back pairs of a pipelined batch, one per submission in
    /// flight (`reed_solomon::IN_FLIGHT`).
    pub(super) ring: [Staging; IN_FLIGHT],
}

/// One submission's upload and read-back buffers.
#[derive(Default)]
pub(super) struct Staging {
    pub(super) upload: Option<wgpu::Buffer>,
    pub(super) readback: Option<wgpu::Buffer>,
}

impl Buffers {
    /// Exchange the kept upload and read-back buffers with ring slot `slot`'s (twice
    /// restores them), so that code staging through `upload` and reading back through
    /// `readback` uses the slot's pair.
    pub(super) fn swap_ring(&mut self, slot: usize) {
        if let Some(pair) = self.ring.get_mut(slot) {
            std::mem::swap(&mut self.upload, &mut pair.upload);
            std::mem::swap(&mut self.readback, &mut pair.readback);
        }
    }
}

/// A compute pipeline and its bind-group layout.
pub(super) struct Pipeline {
    pub(super) layout: wgpu::BindGroupLayout,
    pub(super) pipeline: wgpu::ComputePipeline,
}

/// An adapter, its device and queue, the kernels' pipelines and reusable buffers.
pub struct GpuContext {
    pub(super) device: wgpu::Device,
    pub(super) queue: wgpu::Queue,
    pub(super) info: wgpu::AdapterInfo,
    /// Whether the device has timestamp queries (for the profile's GPU spans).
    pub(super) timestamps: bool,
    /// Whether it can also write them between commands (copies timed too).
    pub(super) timestamps_inside_encoders: bool,
    /// Timestamps of submitted work not read yet (profiling only).
    pub(super) pending_times: Mutex<Vec<PendingTimes>>,
    /// The largest storage binding used (≤ [`MAX_BINDING`]).
    pub(super) binding_limit: u64,
    /// The device's dynamic uniform offset alignment.
    pub(super) uniform_align: u64,
    /// Workgroups per dispatch dimension.
    pub(super) max_groups: u32,
    /// The erasure code's bind-group layout, shared by its kernels.
    pub(super) reed_solomon: wgpu::BindGroupLayout,
    /// `butterflies` compiled for 1 to [`MAX_RADIX_BITS`] layers per dispatch (entry
    /// `b − 1` runs `b` layers).
    pub(super) butterflies: [wgpu::ComputePipeline; MAX_RADIX_BITS],
    /// The same with per-factor product tables (`Multiply::Tables`).
    pub(super) butterflies_tables: [wgpu::ComputePipeline; MAX_RADIX_BITS],
    /// Fills the product tables.
    pub(super) expand: wgpu::ComputePipeline,
    pub(super) broadcast: wgpu::ComputePipeline,
    pub(super) scale: wgpu::ComputePipeline,
    pub(super) derivative: wgpu::ComputePipeline,
    pub(super) blake2b: Pipeline,
    /// The native-u64 variant of `blake2b`'s `hash`, when the device has SHADER_INT64.
    pub(super) blake2b_int64: Option<wgpu::ComputePipeline>,
    pub(super) merkle: Pipeline,
    /// The Ed25519 verifiers, in `ed25519::Ed25519Kernel::ALL` order, each compiled on
    /// first use (see [`ed25519`]): large shaders that would otherwise slow every
    /// context creation, erasure-only runs included.
    pub(super) ed25519: [OnceLock<Result<super::ed25519::Verifier, GpuError>>; 2],
    /// log and exp tables of the field (see `shaders/reed_solomon.wgsl`).
    pub(super) tables: wgpu::Buffer,
    pub(super) buffers: Mutex<Buffers>,
}

impl std::fmt::Debug for GpuContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuContext")
            .field("adapter", &self.info.name)
            .field("backend", &self.info.backend)
            .field("device_type", &self.info.device_type)
            .finish_non_exhaustive()
    }
}

/// Adapters in order of preference: discrete, integrated, virtual, other, software.
fn preference(kind: wgpu::DeviceType) -> u8 {
    match kind {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Other => 3,
        wgpu::DeviceType::Cpu => 4,
    }
}

impl GpuContext {
    /// Open the most capable adapter (hardware before software), create its device and
    /// compile the kernels. [`GpuError::NoAdapter`] when there is none.
    pub fn new() -> Result<GpuContext, GpuError> {
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle());
        let adapters = block_on(instance.enumerate_adapters(wgpu::Backends::all()));
        let adapter = adapters
            .into_iter()
            .min_by_key(|a| preference(a.get_info().device_type))
            .ok_or_else(|| {
                GpuError::NoAdapter(format!(
                    "wgpu enumerated no adapter on the backends built in: {:?}",
                    wgpu::Instance::enabled_backend_features()
                ))
            })?;
        let info = adapter.get_info();
        let adapter_limits = adapter.limits();
        // 64-bit integers in shaders, where the adapter has them, for the native-u64
        // Blake2b variant, and timestamp queries for the profile; nothing else needs an
        // optional feature.
        let features = adapter.features()
            & (wgpu::Features::SHADER_INT64
                | wgpu::Features::TIMESTAMP_QUERY
                | wgpu::Features::TIMESTAMP_QUERY_INSIDE_ENCODERS);
        let timestamps = features.contains(wgpu::Features::TIMESTAMP_QUERY);
        let timestamps_inside_encoders =
            timestamps && features.contains(wgpu::Features::TIMESTAMP_QUERY_INSIDE_ENCODERS);
        let (device, queue) = block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("tessera-kernels"),
            required_features: features,
            required_limits: adapter_limits.clone(),
            ..Default::default()
        }))
        .map_err(|e| GpuError::Device {
            adapter: info.name.clone(),
            reason: e.to_string(),
        })?;
        // Errors are caught by the error scopes around every operation; anything else
        // (e.g. a lost device) is logged rather than panicking.
        device.on_uncaptured_error(std::sync::Arc::new(|e: wgpu::Error| {
            tracing::error!("uncaptured GPU error: {e}");
        }));
        let limits = device.limits();
        let binding_limit = MAX_BINDING
            .min(limits.max_storage_buffer_binding_size)
            .min(limits.max_buffer_size);
        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let rs_layout = bind_group_layout(
            &device,
            "reed_solomon",
            &[
                storage_entry(0, true),
                storage_entry(1, false),
                uniform_entry(2, true),
                storage_entry(3, true),
                storage_entry(4, false),
            ],
        );
        let rs_source = format!(
            "{}{}",
            include_str!("../../../shaders/reed_solomon.wgsl"),
            butterflies_source()
        );
        let rs_module = shader(&device, "reed_solomon", &rs_source);
        // `<prefix>_1 ..= <prefix>_4`: the generated entry points of each radix.
        let radices = |prefix: &str| -> [wgpu::ComputePipeline; MAX_RADIX_BITS] {
            std::array::from_fn(|b| {
                let entry = format!("{prefix}_{}", b + 1);
                compute_pipeline(&device, &rs_layout, &rs_module, &entry)
            })
        };
        let butterflies = radices("butterflies");
        let butterflies_tables = radices("butterflies_tables");
        let expand = compute_pipeline(&device, &rs_layout, &rs_module, "expand");
        let broadcast = compute_pipeline(&device, &rs_layout, &rs_module, "broadcast");
        let scale = compute_pipeline(&device, &rs_layout, &rs_module, "scale");
        let derivative = compute_pipeline(&device, &rs_layout, &rs_module, "derivative");
        let blake2b_layout = bind_group_layout(
            &device,
            "blake2b",
            &[
                storage_entry(0, true),
                storage_entry(1, false),
                uniform_entry(2, false),
            ],
        );
        let blake2b_module = shader(
            &device,
            "blake2b",
            include_str!("../../../shaders/blake2b.wgsl"),
        );
        let blake2b = Pipeline {
            pipeline: compute_pipeline(&device, &blake2b_layout, &blake2b_module, "hash"),
            layout: blake2b_layout,
        };
        let blake2b_int64 = features.contains(wgpu::Features::SHADER_INT64).then(|| {
            let module = shader(
                &device,
                "blake2b_int64",
                include_str!("../../../shaders/blake2b_int64.wgsl"),
            );
            compute_pipeline(&device, &blake2b.layout, &module, "hash")
        });
        let merkle_layout = bind_group_layout(
            &device,
            "merkle",
            &[
                storage_entry(0, true),
                storage_entry(1, false),
                uniform_entry(3, true),
                storage_entry(4, true),
            ],
        );
        let merkle = Pipeline {
            pipeline: compute_pipeline(&device, &merkle_layout, &blake2b_module, "merkle_node"),
            layout: merkle_layout,
        };
        let tables = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("GF(2^16) tables"),
            size: (tables::table_words() * 4) as u64,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        queue.write_buffer(&tables, 0, &tables::table_bytes());
        if let Some(e) = block_on(scope.pop()) {
            return Err(GpuError::Device {
                adapter: info.name.clone(),
                reason: format!("building the kernels: {e}"),
            });
        }
        Ok(GpuContext {
            uniform_align: u64::from(limits.min_uniform_buffer_offset_alignment).max(64),
            max_groups: limits.max_compute_workgroups_per_dimension.max(1),
            binding_limit,
            device,
            queue,
            info,
            timestamps,
            timestamps_inside_encoders,
            pending_times: Mutex::new(Vec::new()),
            reed_solomon: rs_layout,
            butterflies,
            butterflies_tables,
            expand,
            broadcast,
            scale,
            derivative,
            blake2b,
            blake2b_int64,
            merkle,
            ed25519: Default::default(),
            tables,
            buffers: Mutex::new(Buffers::default()),
        })
    }

    /// This context with storage bindings of at most `bytes` (at least 4 KiB): batches
    /// are then split over more submissions. For tests of that splitting.
    pub fn with_binding_limit(mut self, bytes: u64) -> GpuContext {
        self.binding_limit = bytes.clamp(4096, self.binding_limit);
        self
    }

    /// This context without the SHADER_INT64 variant of Blake2b (the u32-pair one runs
    /// instead). For tests of both variants on one adapter.
    pub fn without_int64(mut self) -> GpuContext {
        self.blake2b_int64 = None;
        self
    }

    /// Whether Blake2b runs in native 64-bit arithmetic (the device has SHADER_INT64).
    pub fn uses_int64(&self) -> bool {
        self.blake2b_int64.is_some()
    }

    /// The adapter's name, e.g. `llvmpipe (LLVM 15.0.6, 256 bits)` for lavapipe.
    pub fn adapter_name(&self) -> &str {
        &self.info.name
    }

    /// The adapter's API and driver, e.g. `Vulkan, llvmpipe Mesa 24.0`.
    pub fn driver(&self) -> String {
        let mut d = format!("{:?}", self.info.backend);
        for part in [&self.info.driver, &self.info.driver_info] {
            if !part.is_empty() {
                d.push_str(", ");
                d.push_str(part);
            }
        }
        d
    }

    /// The timestamps not read yet (a poisoned lock only lost a profile entry).
    pub(super) fn pending_times(&self) -> MutexGuard<'_, Vec<PendingTimes>> {
        self.pending_times
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether the adapter offers timestamp queries (GPU-side timing of passes).
    pub fn timestamp_queries(&self) -> bool {
        self.timestamps
    }

    /// Whether the adapter is a software rasteriser (lavapipe, WARP, SwiftShader).
    pub fn is_software(&self) -> bool {
        self.info.device_type == wgpu::DeviceType::Cpu
    }

    /// The kept buffers (a poisoned lock only means another call panicked midway; the
    /// buffers themselves stay valid).
    pub(super) fn buffers(&self) -> MutexGuard<'_, Buffers> {
        self.buffers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// `slot`'s buffer, replaced by one of at least `size` octets (rounded up to a power
    /// of two, at most the binding limit) if it is smaller.
    pub(super) fn buffer<'b>(
        &self,
        slot: &'b mut Option<wgpu::Buffer>,
        size: u64,
        usage: wgpu::BufferUsages,
        label: &str,
    ) -> &'b wgpu::Buffer {
        let size = size.max(16);
        if slot.as_ref().is_some_and(|b| b.size() < size) {
            *slot = None;
        }
        slot.get_or_insert_with(|| {
            let rounded = size.next_power_of_two().min(self.binding_limit).max(size);
            self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: rounded.next_multiple_of(wgpu::COPY_BUFFER_ALIGNMENT),
                usage,
                mapped_at_creation: false,
            })
        })
    }

    /// A bind group of `layout` with `(binding, resource)` entries.
    pub(super) fn bind_group(
        &self,
        label: &str,
        layout: &wgpu::BindGroupLayout,
        entries: &[(u32, wgpu::BindingResource<'_>)],
    ) -> wgpu::BindGroup {
        let entries: Vec<wgpu::BindGroupEntry<'_>> = entries
            .iter()
            .map(|(binding, resource)| wgpu::BindGroupEntry {
                binding: *binding,
                resource: resource.clone(),
            })
            .collect();
        self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(label),
            layout,
            entries: &entries,
        })
    }

    /// Workgroup counts `(x, y)` covering `threads` invocations at `per_group` each,
    /// within the per-dimension limit (the shaders fold `y` back into one index).
    pub(super) fn groups(&self, threads: u64, per_group: u64) -> Result<(u32, u32), GpuError> {
        let groups = threads.div_ceil(per_group).max(1);
        let x = groups.min(u64::from(self.max_groups));
        let y = groups.div_ceil(x);
        match (u32::try_from(x), u32::try_from(y)) {
            (Ok(x), Ok(y)) if y <= self.max_groups => Ok((x, y)),
            _ => Err(GpuError::Operation(format!(
                "{threads} invocations exceed the dispatch limits"
            ))),
        }
    }

    /// Run `f` with validation and out-of-memory errors captured as [`GpuError`].
    pub(super) fn scoped<T>(&self, f: impl FnOnce() -> Result<T, GpuError>) -> Result<T, GpuError> {
        let memory = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let validation = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let result = f();
        let validation = block_on(validation.pop());
        let memory = block_on(memory.pop());
        match (validation, memory) {
            (Some(e), _) | (None, Some(e)) => Err(GpuError::Operation(e.to_string())),
            (None, None) => result,
        }
    }

    /// Map `buffer[..size]` in `mode`, waiting only for submission `after` (the
    /// buffer's last user; `None`: the latest submission) rather than for the whole
    /// queue, so later submissions keep the GPU busy meanwhile; a buffer no submission
    /// still uses maps at once.
    pub(super) fn map_after(
        &self,
        buffer: &wgpu::Buffer,
        mode: wgpu::MapMode,
        size: u64,
        after: Option<wgpu::SubmissionIndex>,
    ) -> Result<(), GpuError> {
        let (sender, receiver) = std::sync::mpsc::channel();
        buffer.map_async(mode, ..size, move |result| {
            let _ = sender.send(result);
        });
        let waited = |e: wgpu::PollError| GpuError::Operation(format!("waiting for the GPU: {e}"));
        self.device.poll(wgpu::PollType::Poll).map_err(waited)?;
        let answer = match receiver.try_recv() {
            Ok(answer) => Ok(answer),
            Err(_) => {
                self.device
                    .poll(wgpu::PollType::Wait {
                        submission_index: after,
                        timeout: None,
                    })
                    .map_err(waited)?;
                receiver.recv()
            }
        };
        match answer {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(GpuError::Operation(format!("mapping a buffer: {e}"))),
            Err(_) => Err(GpuError::Operation("mapping a buffer: no answer".into())),
        }
    }

    /// Fill the kept upload buffer's first `size` octets with `fill` (through wgpu's
    /// write-only view of the mapping) and return it, unmapped, for a copy into a
    /// storage buffer.
    pub(super) fn stage<'b>(
        &self,
        slot: &'b mut Option<wgpu::Buffer>,
        size: u64,
        fill: impl FnOnce(&mut wgpu::BufferViewMut),
    ) -> Result<&'b wgpu::Buffer, GpuError> {
        let usage = wgpu::BufferUsages::MAP_WRITE | wgpu::BufferUsages::COPY_SRC;
        let upload = self.buffer(slot, size, usage, "upload");
        // An upload buffer is only reused once the submission that read it has been
        // read back, so it is idle here and maps without waiting for the queue.
        timed("upload: map staging buffer", || {
            self.map_after(upload, wgpu::MapMode::Write, size, None)
        })?;
        let outcome = timed("upload: host copy into staging", || {
            match upload.get_mapped_range_mut(..size) {
                Ok(mut view) => {
                    fill(&mut view);
                    Ok(())
                }
                Err(e) => Err(GpuError::Operation(format!("writing inputs: {e}"))),
            }
        });
        upload.unmap();
        outcome.map(|()| upload)
    }

    /// Wait for the queue, map `buffer[..size]` and hand its octets to `read`.
    pub(super) fn read_back(
        &self,
        buffer: &wgpu::Buffer,
        size: u64,
        read: impl FnOnce(&[u8]),
    ) -> Result<(), GpuError> {
        self.read_back_after(buffer, size, None, read)
    }

    /// [`Self::read_back`] of the results of submission `after` only.
    pub(super) fn read_back_after(
        &self,
        buffer: &wgpu::Buffer,
        size: u64,
        after: Option<wgpu::SubmissionIndex>,
        read: impl FnOnce(&[u8]),
    ) -> Result<(), GpuError> {
        timed("read back: wait for the GPU and map", || {
            self.map_after(buffer, wgpu::MapMode::Read, size, after)
        })?;
        self.collect_gpu_times(false);
        let outcome = timed("read back: host copy out", || {
            match buffer.get_mapped_range(..size) {
                Ok(view) => {
                    read(&view);
                    Ok(())
                }
                Err(e) => Err(GpuError::Operation(format!("reading results: {e}"))),
            }
        });
        buffer.unmap();
        outcome
    }
}

/// A storage-buffer layout entry.
pub(super) fn storage_entry(binding: u32, read_only: bool) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Storage { read_only },
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    }
}

/// A uniform-buffer layout entry.
pub(super) fn uniform_entry(binding: u32, dynamic: bool) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Uniform,
            has_dynamic_offset: dynamic,
            min_binding_size: None,
        },
        count: None,
    }
}

/// A bind-group layout of `entries`.
pub(super) fn bind_group_layout(
    device: &wgpu::Device,
    label: &str,
    entries: &[wgpu::BindGroupLayoutEntry],
) -> wgpu::BindGroupLayout {
    device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: Some(label),
        entries,
    })
}

/// A WGSL shader module.
pub(super) fn shader(device: &wgpu::Device, label: &str, source: &str) -> wgpu::ShaderModule {
    device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some(label),
        source: wgpu::ShaderSource::Wgsl(source.into()),
    })
}

/// The compute pipeline of `entry` in `module`, bound through `layout` alone.
pub(super) fn compute_pipeline(
    device: &wgpu::Device,
    layout: &wgpu::BindGroupLayout,
    module: &wgpu::ShaderModule,
    entry: &str,
) -> wgpu::ComputePipeline {
    device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some(entry),
        layout: Some(
            &device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                label: Some(entry),
                bind_group_layouts: &[Some(layout)],
                immediate_size: 0,
            }),
        ),
        module,
        entry_point: Some(entry),
        compilation_options: Default::default(),
        cache: None,
    })
}

// Usages of the kept buffers, by role.

/// A storage buffer filled from the host (inputs).
pub(super) const STORAGE_IN: wgpu::BufferUsages =
    wgpu::BufferUsages::STORAGE.union(wgpu::BufferUsages::COPY_DST);
/// A storage buffer copied out (results).
pub(super) const STORAGE_OUT: wgpu::BufferUsages =
    wgpu::BufferUsages::STORAGE.union(wgpu::BufferUsages::COPY_SRC);
/// A storage buffer both filled and copied out (working space).
pub(super) const STORAGE_WORK: wgpu::BufferUsages = STORAGE_IN.union(wgpu::BufferUsages::COPY_SRC);
/// A uniform buffer written from the host.
pub(super) const UNIFORM: wgpu::BufferUsages =
    wgpu::BufferUsages::UNIFORM.union(wgpu::BufferUsages::COPY_DST);
/// A read-back buffer the host maps.
pub(super) const READBACK: wgpu::BufferUsages =
    wgpu::BufferUsages::MAP_READ.union(wgpu::BufferUsages::COPY_DST);

/// 32-octet digests read back, in order.
pub(super) fn digests(octets: &[u8]) -> impl Iterator<Item = tessera_core::hash::Hash> + '_ {
    octets.chunks_exact(32).map(|h| {
        let mut hash = [0u8; 32];
        hash.copy_from_slice(h);
        tessera_core::bytes::ByteArray(hash)
    })
}

/// A binding of `buffer[..size]`.
pub(super) fn binding(buffer: &wgpu::Buffer, size: u64) -> wgpu::BindingResource<'_> {
    wgpu::BindingResource::Buffer(wgpu::BufferBinding {
        buffer,
        offset: 0,
        size: wgpu::BufferSize::new(size),
    })
}

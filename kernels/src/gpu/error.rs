//! Why the `gpu` backend cannot run: the one error type of every GPU operation.

/// Why the GPU backend cannot run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GpuError {
    /// No adapter (GPU or software driver) was found.
    #[error(
        "no GPU adapter found ({0}); install a Vulkan, Metal or DX12 driver (on Linux without \
         a GPU, Mesa's lavapipe: `apt-get install mesa-vulkan-drivers libvulkan1`) or use \
         the `simd` backend"
    )]
    NoAdapter(String),
    /// The adapter refused to open a device.
    #[error("GPU adapter `{adapter}` refused a device: {reason}")]
    Device {
        /// The adapter's name.
        adapter: String,
        /// wgpu's reason.
        reason: String,
    },
    /// A GPU operation failed (validation, out of memory, a lost device, a failed map).
    #[error("GPU operation failed: {0}")]
    Operation(String),
}

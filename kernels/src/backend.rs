//! Which implementation of a kernel runs: chosen per call.

/// The implementation a kernel call uses. Every backend returns the same bytes; `Cpu`
/// is the reference the others are tested against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Backend {
    /// The portable reference, written from the GP for clarity (the oracle).
    Cpu,
    /// The fast CPU path: this crate's AVX-512/GFNI erasure code and AVX-512 Blake2b
    /// where the CPU has them, else reed-solomon-simd (AVX2/SSSE3/NEON) and
    /// blake2b_simd's `many`, chosen at run time (see [`crate::simd`]); rayon across
    /// blobs.
    Simd,
    /// WGSL compute shaders through wgpu (Vulkan, Metal, DX12): Reed–Solomon encoding,
    /// Blake2b batches and Ed25519 verification on the GPU (see [`crate::gpu`]).
    /// Without an adapter, calls that can fail return
    /// [`crate::gpu::GpuError::NoAdapter`] (inside [`crate::ErasureError::Gpu`] for the
    /// erasure code; as is from [`crate::try_blake2b_many`] and
    /// [`crate::signatures::try_verify_ed25519_batch`]).
    Gpu,
    /// Let the library pick, per operation and size: [`Backend::Gpu`] where a hardware
    /// GPU adapter exists and this machine's calibration measured it faster than
    /// `simd` at that operation and size ([`crate::calibration`]), otherwise
    /// [`Backend::Simd`] — so never a path slower than `simd`.
    #[default]
    Auto,
}

impl Backend {
    /// The concrete backend a call with `self` runs on, where `gpu_wins` says whether
    /// the GPU should run it (asked only for `Auto`): `Auto` is `Gpu` if so, else
    /// `Simd`. [`Backend::resolve_for`] (in `crate::dispatch`, which may open the GPU)
    /// passes the process's probe and calibration.
    pub fn resolve_with(self, gpu_wins: impl FnOnce() -> bool) -> Backend {
        match self {
            Backend::Auto if gpu_wins() => Backend::Gpu,
            Backend::Auto => Backend::Simd,
            concrete => concrete,
        }
    }

    /// The backend's name as the CLI and bench records spell it.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Cpu => "cpu",
            Backend::Simd => "simd",
            Backend::Gpu => "gpu",
            Backend::Auto => "auto",
        }
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Backend {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "cpu" => Ok(Backend::Cpu),
            "simd" => Ok(Backend::Simd),
            "gpu" => Ok(Backend::Gpu),
            "auto" => Ok(Backend::Auto),
            other => Err(format!(
                "unknown backend `{other}`: expected `cpu`, `simd`, `gpu` or `auto`"
            )),
        }
    }
}

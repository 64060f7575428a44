//! Which of this crate's own SIMD kernels run: each needs its CPU features (detected
//! at run time, once) and can be switched off for the whole process through
//! [`configure`] — for A/B measurements against the libraries they replace. The
//! program decides (the `tessera` binary maps its `TESSERA_NO_GFNI` and
//! `TESSERA_NO_AVX512_BLAKE2B` environment switches onto a [`SimdConfig`]); this
//! library reads no environment. Every setting gives the same bytes; only speed differs.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

/// The kernels a program allows; each still runs only where the CPU has its features.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SimdConfig {
    /// The AVX-512/GFNI erasure encoder and decoder and the VBMI word permute
    /// (needs AVX-512F, AVX-512VBMI and GFNI); off: reed-solomon-simd's engine.
    pub gfni: bool,
    /// Blake2b eight inputs at a time on AVX-512 (needs AVX-512F); off: blake2b_simd.
    pub avx512_blake2b: bool,
}

impl Default for SimdConfig {
    /// Everything the CPU can run.
    fn default() -> Self {
        SimdConfig {
            gfni: true,
            avx512_blake2b: true,
        }
    }
}

static GFNI: AtomicBool = AtomicBool::new(true);
static AVX512_BLAKE2B: AtomicBool = AtomicBool::new(true);

/// Allow (or forbid) the kernels of `config` from now on, for the whole process. Meant
/// to be called once at start, before the first kernel call; a call in between
/// changes the path of later calls only, never their results.
pub fn configure(config: SimdConfig) {
    GFNI.store(config.gfni, Ordering::Relaxed);
    AVX512_BLAKE2B.store(config.avx512_blake2b, Ordering::Relaxed);
}

/// What [`configure`] last allowed ([`SimdConfig::default`] if it was never called).
pub fn config() -> SimdConfig {
    SimdConfig {
        gfni: GFNI.load(Ordering::Relaxed),
        avx512_blake2b: AVX512_BLAKE2B.load(Ordering::Relaxed),
    }
}

/// Whether the GFNI kernels run: allowed, and the CPU has AVX-512F, AVX-512VBMI and
/// GFNI. A dispatch decision, taken once per call.
pub(crate) fn gfni() -> bool {
    GFNI.load(Ordering::Relaxed) && gfni_cpu()
}

/// Whether the CPU has what the GFNI kernels are compiled for (detected once): the
/// safety condition of calling them, independent of [`configure`].
pub(crate) fn gfni_cpu() -> bool {
    static CPU: OnceLock<bool> = OnceLock::new();
    *CPU.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        {
            std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512vbmi")
                && std::arch::is_x86_feature_detected!("gfni")
        }
        #[cfg(not(target_arch = "x86_64"))]
        false
    })
}

/// Whether the eight-lane Blake2b kernel runs: allowed, and the CPU has AVX-512F.
pub(crate) fn avx512_blake2b() -> bool {
    AVX512_BLAKE2B.load(Ordering::Relaxed) && avx512f_cpu()
}

/// Whether the CPU has AVX-512F (detected once): the safety condition of the
/// eight-lane Blake2b kernel.
pub(crate) fn avx512f_cpu() -> bool {
    static CPU: OnceLock<bool> = OnceLock::new();
    *CPU.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        {
            std::arch::is_x86_feature_detected!("avx512f")
        }
        #[cfg(not(target_arch = "x86_64"))]
        false
    })
}

//! The environment switches of the kernels, read once when the binary starts and
//! handed to the libraries through their APIs (the libraries read no environment):
//! - `TESSERA_NO_GFNI=1`: the `simd` erasure code on reed-solomon-simd's engine
//!   instead of the AVX-512/GFNI kernels;
//! - `TESSERA_NO_AVX512_BLAKE2B=1`: Blake2b on blake2b_simd instead of the eight-lane
//!   AVX-512 kernel;
//! - `TESSERA_NO_KEY_TABLE=1`: Ed25519 batches decompress every key instead of
//!   remembering validators' keys.
//!
//! They exist for A/B measurements with `tessera bench`; results are the same either
//! way.

use tessera_kernels::simd::SimdConfig;

/// The switches' values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Switches {
    /// What the kernels' own SIMD paths may use.
    pub simd: SimdConfig,
    /// Whether Ed25519 batches remember decompressed keys.
    pub key_table: bool,
}

impl Switches {
    /// The switches as `var` reads them: a switch is on only when its variable is `1`.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Switches {
        let off = |name: &str| var(name).is_some_and(|v| v == "1");
        Switches {
            simd: SimdConfig {
                gfni: !off("TESSERA_NO_GFNI"),
                avx512_blake2b: !off("TESSERA_NO_AVX512_BLAKE2B"),
            },
            key_table: !off("TESSERA_NO_KEY_TABLE"),
        }
    }

    /// The switches of this process's environment.
    pub fn from_env() -> Switches {
        Switches::from_vars(|name| std::env::var(name).ok())
    }

    /// Hand them to the kernels and to core, for the whole process.
    pub fn apply(self) {
        tessera_kernels::simd::configure(self.simd);
        tessera_core::crypto::ed25519::batch::set_key_table(self.key_table);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_one_turns_a_switch() {
        let on = Switches::from_vars(|_| None);
        assert_eq!(on.simd, SimdConfig::default());
        assert!(on.key_table);
        let off = Switches::from_vars(|_| Some("1".into()));
        assert!(!off.simd.gfni && !off.simd.avx512_blake2b && !off.key_table);
        let other = Switches::from_vars(|_| Some("0".into()));
        assert_eq!(other, on);
    }
}

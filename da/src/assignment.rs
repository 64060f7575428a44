//! Shard assignment: which erasure-coded shard of a core's package each validator
//! fetches and keeps (JAMNP-S, "Shard assignment").
//!
//! Validator `v` holds shard `i = (c·R + v) mod V` of the package reported on core
//! `c`, where `R` is the number of original (data) shards, `W_E / 2` (342 full, 2
//! tiny). Rotating the start by `c·R` makes the `R` validators that hold a core's
//! original shards — from which its bundle is rebuilt without decoding — different
//! for each core, so no few validators carry every core's cheap reconstruction.

use tessera_core::spec::ChainSpec;

/// The shard index validator `validator` holds for core `core`: `(c·R + v) mod V`.
/// Returns `None` for a core or validator index outside the spec's ranges.
pub fn shard_index(spec: &ChainSpec, core: u16, validator: u16) -> Option<u16> {
    if core >= spec.core_count || validator >= spec.validator_count {
        return None;
    }
    let v = u64::from(spec.validator_count);
    let r = spec.erasure_originals() as u64;
    let i = (u64::from(core) * r + u64::from(validator)) % v;
    // i < V ≤ u16::MAX.
    u16::try_from(i).ok()
}

/// The validator that holds shard `index` of core `core`'s package: the inverse of
/// [`shard_index`].
pub fn holder(spec: &ChainSpec, core: u16, index: u16) -> Option<u16> {
    if core >= spec.core_count || index >= spec.validator_count {
        return None;
    }
    let v = u64::from(spec.validator_count);
    let r = spec.erasure_originals() as u64;
    let start = (u64::from(core) * r) % v;
    u16::try_from((u64::from(index) + v - start) % v).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_core_is_a_permutation_of_the_validators() {
        for spec in [ChainSpec::tiny(), ChainSpec::full()] {
            for core in 0..spec.core_count {
                let mut seen = vec![false; spec.validators()];
                for v in 0..spec.validator_count {
                    let i = shard_index(&spec, core, v).unwrap();
                    assert!(!seen[usize::from(i)], "core {core}: index {i} twice");
                    seen[usize::from(i)] = true;
                    assert_eq!(holder(&spec, core, i), Some(v));
                }
            }
        }
    }

    #[test]
    fn follows_the_formula() {
        let full = ChainSpec::full();
        // Core 0 starts at validator 0; core 1 at R = 342; core 3 wraps: 3·342 = 1026 ≡ 3.
        assert_eq!(shard_index(&full, 0, 5), Some(5));
        assert_eq!(shard_index(&full, 1, 0), Some(342));
        assert_eq!(shard_index(&full, 3, 0), Some(3));
        assert_eq!(shard_index(&full, 1, 1000), Some((342 + 1000) % 1023));
        let tiny = ChainSpec::tiny();
        assert_eq!(shard_index(&tiny, 1, 5), Some((2 + 5) % 6));
    }

    #[test]
    fn out_of_range_is_none() {
        let tiny = ChainSpec::tiny();
        assert_eq!(shard_index(&tiny, 2, 0), None);
        assert_eq!(shard_index(&tiny, 0, 6), None);
        assert_eq!(holder(&tiny, 0, 6), None);
    }
}

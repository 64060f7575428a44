//! Guarantor assignments, GP v0.7.2 §11.3 (reporting_assurance.tex, eqs.
//! 11.18–11.22): which core each validator guarantees for, by rotation.

use tessera_core::shuffle::shuffle_by_entropy;
use tessera_core::spec::ChainSpec;
use tessera_core::types::{CoreIndex, TimeSlot};
use tessera_core::Hash;

/// `P(e, t)` (GP 11.20): the core of each validator index. The validators are
/// spread evenly over the cores, `⌊C·i/V⌋`, shuffled by entropy `e` (GP F.3),
/// then rotated by the rotation count within the epoch, `R(c, n) = [(x + n) mod
/// C]` with `n = ⌊(t mod E)/R⌋` (GP 11.19).
pub fn core_assignments(spec: &ChainSpec, entropy: &Hash, slot: TimeSlot) -> Vec<CoreIndex> {
    let cores = u64::from(spec.core_count);
    let validators = u64::from(spec.validator_count).max(1);
    let spread: Vec<u64> = (0..validators).map(|i| cores * i / validators).collect();
    let rotation = u64::from(slot % spec.epoch_length.max(1) / spec.rotation_period.max(1));
    shuffle_by_entropy(&spread, entropy)
        .into_iter()
        .map(|c| ((c + rotation) % cores.max(1)) as CoreIndex)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// With `V = 3C` (both specs), every core gets exactly three guarantors
        /// whatever the entropy and slot: the shuffle and rotation only permute.
        #[test]
        fn three_guarantors_per_core(entropy in any::<[u8; 32]>(), slot in any::<u32>()) {
            let spec = ChainSpec::tiny();
            let cores = core_assignments(&spec, &tessera_core::ByteArray(entropy), slot);
            prop_assert_eq!(cores.len(), spec.validators());
            for c in 0..spec.core_count {
                prop_assert_eq!(cores.iter().filter(|&&x| x == c).count(), 3);
            }
        }
    }
}

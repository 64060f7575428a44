//! `tessera-test-support`: the helpers that several of Tessera's test binaries (and
//! the benches' workloads) share, kept in one place so they cannot drift apart:
//! - [`SplitMix`]: a small deterministic generator, so test data and bench inputs are
//!   the same from run to run without a random-number dependency;
//! - [`add256`]: `a + b` on 256-bit little-endian integers, for building
//!   non-canonical scalars and field elements in the Ed25519 tests;
//! - [`required`] and [`present_or_skip`]: the rule for optional resources (a GPU
//!   adapter, `python3`): a loud skip by default, a failure when the named environment
//!   variable (e.g. `TESSERA_REQUIRE_GPU=1`, set by CI) requires it.
//!
//! It has no dependencies and knows nothing of Tessera's types, so production crates
//! can take it as a dev-dependency without a cycle. It is not for production code.

use std::fmt::Display;

/// A small deterministic generator (splitmix64): bench inputs that are the same from
/// run to run, and reproducible test data without a random-number dependency.
#[derive(Clone, Debug)]
pub struct SplitMix(pub u64);

impl SplitMix {
    /// The next 64 pseudo-random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// `len` pseudo-random octets.
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len + 8);
        while out.len() < len {
            out.extend_from_slice(&self.next_u64().to_le_bytes());
        }
        out.truncate(len);
        out
    }

    /// `count` blobs of `len` pseudo-random octets each (segments, shards).
    pub fn blobs(&mut self, count: usize, len: usize) -> Vec<Vec<u8>> {
        (0..count).map(|_| self.bytes(len)).collect()
    }

    /// `count` distinct items of `pool`, in random order (a partial Fisher–Yates).
    pub fn pick(&mut self, pool: &[usize], count: usize) -> Vec<usize> {
        let mut pool = pool.to_vec();
        for i in (1..pool.len()).rev() {
            let j = usize::try_from(self.next_u64() % (i as u64 + 1)).unwrap_or(0);
            pool.swap(i, j);
        }
        pool.truncate(count);
        pool
    }

    /// `count` distinct indices below `n`, in random order.
    pub fn subset(&mut self, n: usize, count: usize) -> Vec<usize> {
        self.pick(&(0..n).collect::<Vec<_>>(), count)
    }
}

/// `a + b` for 256-bit little-endian integers, wrapping at 2^256 (callers that need
/// an exact sum keep it below).
pub fn add256(a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut carry = 0u16;
    for ((o, x), y) in out.iter_mut().zip(a).zip(b) {
        let t = u16::from(*x) + u16::from(*y) + carry;
        *o = t as u8;
        carry = t >> 8;
    }
    out
}

/// Whether the environment variable `var` is `1`: the resource it names must be there
/// (CI sets `TESSERA_REQUIRE_GPU=1` and `TESSERA_REQUIRE_PYTHON=1`).
pub fn required(var: &str) -> bool {
    std::env::var(var).is_ok_and(|v| v == "1")
}

/// The resource `probe` found, or `None` after a loud note when it is missing and
/// `require_var` does not require it; a failure (panic) when it does. `test` names
/// what is skipped.
pub fn present_or_skip<T, E: Display>(
    test: &str,
    require_var: &str,
    probe: Result<T, E>,
) -> Option<T> {
    match probe {
        Ok(found) => Some(found),
        Err(e) => {
            assert!(!required(require_var), "{test}: {require_var}=1 but {e}");
            eprintln!("SKIPPED {test}: {e} (set {require_var}=1 to fail instead)");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add256_carries_and_wraps() {
        let mut a = [0xff; 32];
        a[31] = 0x7f;
        let mut one = [0; 32];
        one[0] = 1;
        let mut want = [0; 32];
        want[31] = 0x80;
        assert_eq!(add256(&a, &one), want);
        assert_eq!(add256(&[0xff; 32], &one), [0; 32]);
    }

    #[test]
    fn split_mix_is_deterministic() {
        assert_eq!(SplitMix(7).bytes(20), SplitMix(7).bytes(20));
        let mut rng = SplitMix(3);
        let mut picked = rng.subset(10, 10);
        picked.sort_unstable();
        assert_eq!(picked, (0..10).collect::<Vec<_>>());
    }
}

//! The chain-spec limits a value must meet before it may be encoded.
//!
//! Decoding enforces these limits as it reads. A value built some other way (from
//! JSON, by hand) may break them, and encoding cannot fail, so [`Check`] finds the
//! first violation and names the field where it lies, e.g.
//! `epoch_mark.validators: length 5, expected exactly 6`.

use std::fmt;

use crate::bytes::{ByteArray, Bytes};
use crate::spec::ChainSpec;

/// `#[derive(Check)]`: the bounds of the `#[codec]` field attributes (documented in
/// `tessera-codec-derive`), each field checked in turn.
pub use tessera_codec_derive::Check;

/// A length bound, as the GP writes sequence types: `⟦T⟧_n`, `⟦T⟧_{:n}`, `⟦T⟧_{m:n}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bound {
    /// Exactly `n` items (no length prefix in the encoding).
    Exactly(usize),
    /// At most `n` items.
    AtMost(usize),
    /// Between `min` and `max` items inclusive.
    Between(usize, usize),
}

impl Bound {
    /// Whether `len` meets the bound.
    pub fn admits(self, len: usize) -> bool {
        match self {
            Bound::Exactly(n) => len == n,
            Bound::AtMost(n) => len <= n,
            Bound::Between(min, max) => (min..=max).contains(&len),
        }
    }

    /// `Ok` if `len` meets the bound, otherwise the violation (with an empty path,
    /// to be filled in by the callers' [`SpecViolation::within`]).
    pub fn check(self, len: usize) -> Result<(), SpecViolation> {
        if self.admits(len) {
            Ok(())
        } else {
            Err(SpecViolation::new(ViolationKind::Length {
                len,
                expected: self,
            }))
        }
    }
}

impl fmt::Display for Bound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Bound::Exactly(n) => write!(f, "exactly {n}"),
            Bound::AtMost(n) => write!(f, "at most {n}"),
            Bound::Between(min, max) => write!(f, "between {min} and {max}"),
        }
    }
}

/// What is wrong with a value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ViolationKind {
    /// A sequence's length breaks its bound.
    Length {
        /// The length found.
        len: usize,
        /// The bound the spec sets.
        expected: Bound,
    },
    /// Any other rule the encoding relies on (bits past `C` set in a bitfield, a
    /// dictionary not ordered by key).
    Invalid(&'static str),
}

impl fmt::Display for ViolationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ViolationKind::Length { len, expected } => {
                write!(f, "length {len}, expected {expected}")
            }
            ViolationKind::Invalid(why) => f.write_str(why),
        }
    }
}

/// A value that breaks a chain-spec limit, and the field path where it does.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct SpecViolation {
    /// The path from the checked value to the offending field, like
    /// `guarantees[0].signatures`; empty when the value itself is at fault.
    pub path: String,
    /// What is wrong there.
    pub kind: ViolationKind,
}

impl SpecViolation {
    /// A violation at the checked value itself.
    pub fn new(kind: ViolationKind) -> Self {
        SpecViolation {
            path: String::new(),
            kind,
        }
    }

    /// The same violation seen from the struct holding it as field `field`.
    pub fn within(mut self, field: &str) -> Self {
        self.path = match self.path.chars().next() {
            None => field.to_owned(),
            Some('[') => format!("{field}{}", self.path),
            Some(_) => format!("{field}.{}", self.path),
        };
        self
    }

    /// The same violation seen from the sequence holding it at `index`.
    pub fn at_index(mut self, index: usize) -> Self {
        self.path = match self.path.chars().next() {
            None => format!("[{index}]"),
            Some('[') => format!("[{index}]{}", self.path),
            Some(_) => format!("[{index}].{}", self.path),
        };
        self
    }
}

impl fmt::Display for SpecViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.kind)
        } else {
            write!(f, "{}: {}", self.path, self.kind)
        }
    }
}

/// A value whose encoding depends on chain-spec limits it must meet.
pub trait Check {
    /// `Ok` if the value meets every limit of `spec` that decoding enforces, so
    /// that its encoding decodes back to it; otherwise the first violation.
    fn check(&self, spec: &ChainSpec) -> Result<(), SpecViolation>;
}

macro_rules! unconstrained {
    ($($t:ty),*) => {$(
        impl Check for $t {
            fn check(&self, _: &ChainSpec) -> Result<(), SpecViolation> {
                Ok(())
            }
        }
    )*};
}
unconstrained!(
    u8,
    u16,
    u32,
    u64,
    bool,
    Bytes,
    crate::crypto::ed25519::PublicKey,
    crate::crypto::ed25519::Signature
);

impl<const N: usize> Check for ByteArray<N> {
    fn check(&self, _: &ChainSpec) -> Result<(), SpecViolation> {
        Ok(())
    }
}

impl<T: Check> Check for Option<T> {
    fn check(&self, spec: &ChainSpec) -> Result<(), SpecViolation> {
        self.as_ref().map_or(Ok(()), |v| v.check(spec))
    }
}

/// Checks every item; the sequence's own length bound, if any, is the holder's job.
impl<T: Check> Check for Vec<T> {
    fn check(&self, spec: &ChainSpec) -> Result<(), SpecViolation> {
        check_items(self, spec)
    }
}

/// Check each item of `items`, reporting the index of the first that fails.
pub fn check_items<T: Check>(items: &[T], spec: &ChainSpec) -> Result<(), SpecViolation> {
    for (i, item) in items.iter().enumerate() {
        item.check(spec).map_err(|e| e.at_index(i))?;
    }
    Ok(())
}

/// Check a sequence's length against `bound`, then each item with `check`.
pub fn check_each<T>(
    items: &[T],
    bound: Bound,
    check: impl Fn(&T) -> Result<(), SpecViolation>,
) -> Result<(), SpecViolation> {
    bound.check(items.len())?;
    for (i, item) in items.iter().enumerate() {
        check(item).map_err(|e| e.at_index(i))?;
    }
    Ok(())
}

/// Check a sequence's length against `bound`, then each of its items.
pub fn check_seq<T: Check>(
    items: &[T],
    bound: Bound,
    spec: &ChainSpec,
) -> Result<(), SpecViolation> {
    bound.check(items.len())?;
    check_items(items, spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_compose_outside_in() {
        let v = Bound::Exactly(6)
            .check(5)
            .unwrap_err()
            .within("validators")
            .within("epoch_mark")
            .at_index(2)
            .within("headers");
        assert_eq!(v.path, "headers[2].epoch_mark.validators");
        assert_eq!(
            v.to_string(),
            "headers[2].epoch_mark.validators: length 5, expected exactly 6"
        );
        assert!(Bound::Between(2, 3).admits(3) && !Bound::Between(2, 3).admits(1));
        assert!(Bound::AtMost(3).check(4).is_err());
    }
}

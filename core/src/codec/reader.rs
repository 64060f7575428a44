use std::collections::BTreeMap;

use super::{Decode, DecodeError, DecodeErrorKind};
use crate::spec::ChainSpec;

/// A cursor over input octets, carrying the chain spec that fixes sequence lengths.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    spec: &'a ChainSpec,
    bytes: &'a [u8],
    pos: usize,
}

/// Initial capacity bound for decoded sequences: a declared length is trusted only as
/// far as the input left can back it, and never beyond this many items up front.
const MAX_PREALLOC_ITEMS: usize = 4096;

impl<'a> Reader<'a> {
    /// A reader at the start of `bytes`.
    pub fn new(spec: &'a ChainSpec, bytes: &'a [u8]) -> Self {
        Reader {
            spec,
            bytes,
            pos: 0,
        }
    }

    /// The chain spec.
    pub fn spec(&self) -> &'a ChainSpec {
        self.spec
    }

    /// Offset of the next unread octet.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Octets not yet read.
    pub fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    /// Succeeds only if every octet has been read.
    pub fn finish(&self) -> Result<(), DecodeError> {
        match self.remaining() {
            0 => Ok(()),
            count => Err(self.err(DecodeErrorKind::TrailingBytes { count })),
        }
    }

    /// An error of `kind` at the current position.
    pub fn err(&self, kind: DecodeErrorKind) -> DecodeError {
        DecodeError::new(self.pos, kind)
    }

    /// The next `n` octets.
    pub fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        if n > self.remaining() {
            return Err(self.err(DecodeErrorKind::UnexpectedEnd {
                what,
                needed: n,
                remaining: self.remaining(),
            }));
        }
        let s = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// The next `N` octets as an array.
    pub fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], DecodeError> {
        let s = self.take(N, what)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    /// `E_l⁻¹`: a little-endian natural of exactly `l ≤ 8` octets (eq. C.5).
    pub fn fixed(&mut self, l: usize, what: &'static str) -> Result<u64, DecodeError> {
        debug_assert!(l <= 8);
        let s = self.take(l, what)?;
        let mut a = [0u8; 8];
        a[..l].copy_from_slice(s);
        Ok(u64::from_le_bytes(a))
    }

    /// A `u8`.
    pub fn u8(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        Ok(self.take(1, what)?[0])
    }

    /// `E_2⁻¹`.
    pub fn u16(&mut self, what: &'static str) -> Result<u16, DecodeError> {
        self.array::<2>(what).map(u16::from_le_bytes)
    }

    /// `E_4⁻¹`.
    pub fn u32(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        self.array::<4>(what).map(u32::from_le_bytes)
    }

    /// `E_8⁻¹`.
    pub fn u64(&mut self, what: &'static str) -> Result<u64, DecodeError> {
        self.array::<8>(what).map(u64::from_le_bytes)
    }

    /// `E⁻¹` of a compact natural (eq. C.6), rejecting non-canonical forms.
    pub fn natural(&mut self, what: &'static str) -> Result<u64, DecodeError> {
        let start = self.pos;
        let prefix = self.u8(what)?;
        let l = prefix.leading_ones();
        if l == 8 {
            let x = self.u64(what)?;
            if x < 1 << 56 {
                return Err(DecodeError::new(
                    start,
                    DecodeErrorKind::NonCanonical { what },
                ));
            }
            return Ok(x);
        }
        let high = u64::from(prefix) & (0xFF >> (l + 1));
        let low = self.fixed(l as usize, what)?;
        let x = (high << (8 * l)) | low;
        if l > 0 && x < 1 << (7 * l) {
            return Err(DecodeError::new(
                start,
                DecodeErrorKind::NonCanonical { what },
            ));
        }
        Ok(x)
    }

    /// A compact natural that must fit `u32` (service ids, counts stored as `N_L`…).
    pub fn natural_u32(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        let start = self.pos;
        let x = self.natural(what)?;
        u32::try_from(x).map_err(|_| {
            DecodeError::new(
                start,
                DecodeErrorKind::LengthTooLarge {
                    what,
                    len: x,
                    max: u32::MAX.into(),
                },
            )
        })
    }

    /// A sequence length prefix, bounded by `max` (the spec's limit, if any) and by
    /// the octets left, since every item takes at least one.
    pub fn length(&mut self, what: &'static str, max: Option<usize>) -> Result<usize, DecodeError> {
        let start = self.pos;
        let len = self.natural(what)?;
        let bound = max.unwrap_or(usize::MAX);
        if len > bound as u64 {
            return Err(DecodeError::new(
                start,
                DecodeErrorKind::LengthTooLarge {
                    what,
                    len,
                    max: bound as u64,
                },
            ));
        }
        if len > self.remaining() as u64 {
            return Err(DecodeError::new(
                start,
                DecodeErrorKind::UnexpectedEnd {
                    what,
                    needed: usize::try_from(len).unwrap_or(usize::MAX),
                    remaining: self.remaining(),
                },
            ));
        }
        Ok(len as usize)
    }

    /// `↕x⁻¹`: a length-prefixed sequence of at most `max` items.
    pub fn seq<T: Decode>(
        &mut self,
        what: &'static str,
        max: Option<usize>,
    ) -> Result<Vec<T>, DecodeError> {
        let len = self.length(what, max)?;
        self.fixed_seq(len)
    }

    /// Exactly `n` items with no prefix (sequences whose length the type fixes, such
    /// as `V` validator keys or `C` cores).
    pub fn fixed_seq<T: Decode>(&mut self, n: usize) -> Result<Vec<T>, DecodeError> {
        self.fixed_seq_with(n, T::decode)
    }

    /// Exactly `n` items with no prefix, each read by `read` (items that are
    /// themselves sequences, like the `C` authorizer pools).
    pub fn fixed_seq_with<T>(
        &mut self,
        n: usize,
        mut read: impl FnMut(&mut Self) -> Result<T, DecodeError>,
    ) -> Result<Vec<T>, DecodeError> {
        let mut v = Vec::with_capacity(n.min(self.remaining()).min(MAX_PREALLOC_ITEMS));
        for _ in 0..n {
            v.push(read(self)?);
        }
        Ok(v)
    }

    /// A length-prefixed sequence whose items must be strictly increasing (the
    /// encoding of a set, or a sequence the GP requires ordered).
    pub fn sorted_seq<T: Decode + Ord>(
        &mut self,
        what: &'static str,
        max: Option<usize>,
    ) -> Result<Vec<T>, DecodeError> {
        let len = self.length(what, max)?;
        let mut v: Vec<T> = Vec::with_capacity(len.min(MAX_PREALLOC_ITEMS));
        for _ in 0..len {
            let at = self.pos;
            let item = T::decode(self)?;
            if v.last().is_some_and(|last| *last >= item) {
                return Err(DecodeError::new(at, DecodeErrorKind::NotSorted { what }));
            }
            v.push(item);
        }
        Ok(v)
    }

    /// A length-prefixed sequence of a dictionary's entries (eq. C.10) held as a
    /// sequence, strictly increasing by `key`. The whole sequence is read first, so
    /// an order error points at its length prefix.
    pub fn seq_sorted_by<T: Decode, K: PartialOrd>(
        &mut self,
        what: &'static str,
        max: Option<usize>,
        key: impl Fn(&T) -> K,
    ) -> Result<Vec<T>, DecodeError> {
        let at = self.pos;
        let items: Vec<T> = self.seq(what, max)?;
        if items.windows(2).any(|w| key(&w[0]) >= key(&w[1])) {
            return Err(DecodeError::new(at, DecodeErrorKind::NotSorted { what }));
        }
        Ok(items)
    }

    /// A dictionary (eq. C.10): length-prefixed pairs with strictly increasing keys.
    pub fn dictionary<K: Decode + Ord, V: Decode>(
        &mut self,
        what: &'static str,
        max: Option<usize>,
    ) -> Result<BTreeMap<K, V>, DecodeError> {
        let len = self.length(what, max)?;
        let mut m = BTreeMap::new();
        for _ in 0..len {
            let at = self.pos;
            let k = K::decode(self)?;
            if m.last_key_value().is_some_and(|(last, _)| *last >= k) {
                return Err(DecodeError::new(at, DecodeErrorKind::NotSorted { what }));
            }
            let v = V::decode(self)?;
            m.insert(k, v);
        }
        Ok(m)
    }

    /// A fixed-length bit sequence of `n` bits packed LSB-first (C.1.6); padding bits
    /// in the last octet must be zero.
    pub fn bits(&mut self, n: usize, what: &'static str) -> Result<Vec<bool>, DecodeError> {
        let start = self.pos;
        let octets = self.take(n.div_ceil(8), what)?;
        let bits: Vec<bool> = (0..n).map(|i| octets[i / 8] >> (i % 8) & 1 == 1).collect();
        if !n.is_multiple_of(8) && octets[n / 8] >> (n % 8) != 0 {
            return Err(DecodeError::new(
                start,
                DecodeErrorKind::InvalidValue {
                    what,
                    reason: "padding bits are not zero".into(),
                },
            ));
        }
        Ok(bits)
    }
}

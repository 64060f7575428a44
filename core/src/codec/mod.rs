//! The JAM codec, GP Appendix C (serialization.tex).
//!
//! Encoding is infallible and appends to a `Vec<u8>`. Decoding is strict and total:
//! every decoder reads from a [`Reader`] that knows the chain spec (fixed-length
//! sequences of `V`, `C` or `E` items depend on it), reports the byte offset of any
//! failure, rejects non-canonical naturals, unsorted dictionaries and trailing bytes,
//! and never reserves more memory than the input left could fill.

mod error;
mod reader;

pub use error::{DecodeError, DecodeErrorKind};
pub use reader::Reader;
/// `#[derive(Encode, Decode)]`: the field attributes and the GP equation each
/// implements are documented in `tessera-codec-derive`.
pub use tessera_codec_derive::{Decode, Encode};

use std::collections::BTreeMap;

use crate::bytes::{ByteArray, Bytes};
use crate::spec::ChainSpec;

/// A value with a JAM serialization `E(x)`.
pub trait Encode {
    /// Append `E(self)` to `out`.
    fn encode_to(&self, out: &mut Vec<u8>);

    /// `E(self)` as a new vector.
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_to(&mut out);
        out
    }
}

/// A value that can be read back from its JAM serialization, `E⁻¹`.
pub trait Decode: Sized {
    /// Read one value from the front of `r`, advancing it.
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError>;
}

/// Decode a whole buffer as one `T`; trailing bytes are an error.
pub fn decode_exact<T: Decode>(spec: &ChainSpec, bytes: &[u8]) -> Result<T, DecodeError> {
    let mut r = Reader::new(spec, bytes);
    let v = T::decode(&mut r)?;
    r.finish()?;
    Ok(v)
}

/// `E(x)` for a natural `x < 2^64`: the GP's variable-length "compact" integer
/// (C.1.3, eq. C.6): `l` leading one-bits in the first octet give the count of
/// further little-endian octets.
pub fn encode_natural(x: u64, out: &mut Vec<u8>) {
    if x < 0x80 {
        out.push(x as u8);
        return;
    }
    for l in 1..8u32 {
        if x < 1u64 << (7 * (l + 1)) {
            let prefix = (0xFFu16 << (8 - l)) as u8 | (x >> (8 * l)) as u8;
            out.push(prefix);
            out.extend_from_slice(&x.to_le_bytes()[..l as usize]);
            return;
        }
    }
    out.push(0xFF);
    out.extend_from_slice(&x.to_le_bytes());
}

/// `E_l(x)`: `x` in exactly `l ≤ 8` little-endian octets (C.1.2, eq. C.5).
pub fn encode_fixed(x: u64, l: usize, out: &mut Vec<u8>) {
    debug_assert!(
        l <= 8 && (l == 8 || x >> (8 * l) == 0),
        "{x} does not fit {l} octets"
    );
    out.extend_from_slice(&x.to_le_bytes()[..l]);
}

/// `E(↕x)`: a length prefix followed by each item (C.1.4).
pub fn encode_seq<T: Encode>(items: &[T], out: &mut Vec<u8>) {
    encode_natural(items.len() as u64, out);
    encode_fixed_seq(items, out);
}

/// `E(x)` of a sequence whose length the type fixes: the items only, no prefix.
pub fn encode_fixed_seq<T: Encode>(items: &[T], out: &mut Vec<u8>) {
    for item in items {
        item.encode_to(out);
    }
}

/// `E(b)` of a bit sequence (C.1.6): packed into octets least-significant bit first.
/// Fixed-length; a variable-length bitstring would be prefixed by its bit count.
pub fn encode_bits(bits: &[bool], out: &mut Vec<u8>) {
    for chunk in bits.chunks(8) {
        let mut byte = 0u8;
        for (i, &b) in chunk.iter().enumerate() {
            byte |= u8::from(b) << i;
        }
        out.push(byte);
    }
}

/// Read `E⁻¹` of a compact natural (eq. C.6) that must fit `T`, the field's integer
/// type: core indices, the counts of a refine load, the records of `π_C` and `π_S`.
pub fn decode_compact<T: TryFrom<u64>>(
    r: &mut Reader<'_>,
    what: &'static str,
) -> Result<T, DecodeError> {
    let at = r.position();
    let x = r.natural(what)?;
    T::try_from(x).map_err(|_| {
        DecodeError::new(
            at,
            DecodeErrorKind::InvalidValue {
                what,
                reason: format!("{x} does not fit {} octets", std::mem::size_of::<T>()),
            },
        )
    })
}

/// `¿x⁻¹` (C.1.5) with `read` for the value: the optional discriminator, then the
/// value if it is `1`.
pub fn decode_option<T>(
    r: &mut Reader<'_>,
    read: impl FnOnce(&mut Reader<'_>) -> Result<T, DecodeError>,
) -> Result<Option<T>, DecodeError> {
    let at = r.position();
    match r.u8("optional discriminator")? {
        0 => Ok(None),
        1 => read(r).map(Some),
        tag => Err(DecodeError::new(
            at,
            DecodeErrorKind::InvalidTag {
                what: "optional discriminator (0 or 1)",
                tag,
            },
        )),
    }
}

/// The integers of `E_l` (C.1.2, eq. C.5), `l` their width in octets.
pub trait FixedWidth: Sized {
    /// `E_l⁻¹`, naming the value `what` in errors.
    fn decode_fixed(r: &mut Reader<'_>, what: &'static str) -> Result<Self, DecodeError>;
}

macro_rules! fixed_width_int {
    ($($t:ty => $read:ident),*) => {$(
        impl FixedWidth for $t {
            fn decode_fixed(r: &mut Reader<'_>, what: &'static str) -> Result<Self, DecodeError> {
                r.$read(what)
            }
        }
        impl Encode for $t {
            fn encode_to(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
        }
        impl Decode for $t {
            fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
                r.$read(stringify!($t))
            }
        }
    )*};
}
fixed_width_int!(u8 => u8, u16 => u16, u32 => u32, u64 => u64);

impl Encode for bool {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.push(u8::from(*self));
    }
}

impl Decode for bool {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let at = r.position();
        match r.u8("boolean")? {
            0 => Ok(false),
            1 => Ok(true),
            tag => Err(DecodeError::new(
                at,
                DecodeErrorKind::InvalidTag {
                    what: "boolean",
                    tag,
                },
            )),
        }
    }
}

impl<const N: usize> Encode for ByteArray<N> {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0);
    }
}

impl<const N: usize> Decode for ByteArray<N> {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.array::<N>("fixed-length octets").map(ByteArray)
    }
}

impl Encode for Bytes {
    fn encode_to(&self, out: &mut Vec<u8>) {
        encode_natural(self.0.len() as u64, out);
        out.extend_from_slice(&self.0);
    }
}

impl Decode for Bytes {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let len = r.length("blob length", None)?;
        Ok(Bytes(r.take(len, "blob octets")?.to_vec()))
    }
}

/// `E(¿x)` (C.1.5): `0` for nothing, `1 ⌢ E(x)` otherwise.
impl<T: Encode> Encode for Option<T> {
    fn encode_to(&self, out: &mut Vec<u8>) {
        match self {
            None => out.push(0),
            Some(v) => {
                out.push(1);
                v.encode_to(out);
            }
        }
    }
}

impl<T: Decode> Decode for Option<T> {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        decode_option(r, T::decode)
    }
}

/// `E(x)` of a sequence of `N` items, `N` fixed by the type (C.1.4): no prefix.
impl<T: Encode, const N: usize> Encode for [T; N] {
    fn encode_to(&self, out: &mut Vec<u8>) {
        encode_fixed_seq(self, out);
    }
}

impl<T: Decode, const N: usize> Decode for [T; N] {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let at = r.position();
        let items: Vec<T> = r.fixed_seq(N)?;
        // `fixed_seq(N)` returns exactly `N` items, so this cannot fail.
        items.try_into().map_err(|_| {
            DecodeError::new(
                at,
                DecodeErrorKind::InvalidValue {
                    what: "fixed-length sequence",
                    reason: format!("expected {N} items"),
                },
            )
        })
    }
}

/// `E(↕x)`: a variable-length sequence is length-prefixed. Sequences whose length
/// the type fixes are encoded with [`encode_fixed_seq`] and read with
/// [`Reader::fixed_seq`] instead.
impl<T: Encode> Encode for Vec<T> {
    fn encode_to(&self, out: &mut Vec<u8>) {
        encode_seq(self, out);
    }
}

impl<T: Decode> Decode for Vec<T> {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.seq("sequence", None)
    }
}

impl<A: Encode, B: Encode> Encode for (A, B) {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.0.encode_to(out);
        self.1.encode_to(out);
    }
}

impl<A: Decode, B: Decode> Decode for (A, B) {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok((A::decode(r)?, B::decode(r)?))
    }
}

/// A dictionary `⟦K→V⟧` (C.1.4, eq. C.10): the length-prefixed sequence of its
/// pairs ordered by key.
impl<K: Encode, V: Encode> Encode for BTreeMap<K, V> {
    fn encode_to(&self, out: &mut Vec<u8>) {
        encode_natural(self.len() as u64, out);
        for (k, v) in self {
            k.encode_to(out);
            v.encode_to(out);
        }
    }
}

impl<K: Decode + Ord, V: Decode> Decode for BTreeMap<K, V> {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.dictionary("dictionary", None)
    }
}

#[cfg(test)]
mod derive_tests;
#[cfg(test)]
mod tests;

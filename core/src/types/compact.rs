//! Fields the GP serializes as compact naturals (eq. C.6) but whose domain is a
//! fixed-width integer: core indices and the counts of a work digest's refine load.
//! The decoder reads the natural and rejects values the field cannot hold.

use crate::codec::{encode_natural, DecodeError, DecodeErrorKind, Reader};

/// Append `E(x)`, the compact natural.
pub fn encode(x: impl Into<u64>, out: &mut Vec<u8>) {
    encode_natural(x.into(), out);
}

/// Read a compact natural that must fit `T`.
pub fn decode<T: TryFrom<u64>>(r: &mut Reader<'_>, what: &'static str) -> Result<T, DecodeError> {
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

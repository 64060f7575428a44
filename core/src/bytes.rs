//! Octet strings, `𝕐` (GP §3.7): fixed-length `𝕐_N` and variable-length `𝕐`.
//!
//! Both print and parse as `0x`-prefixed lower-case hex, the form the official
//! vectors' JSON uses, and carry their own codec: `𝕐_N` is its N octets, `𝕐` is
//! length-prefixed (GP C.1.4 `↕x`).

use std::fmt;
use std::ops::{Deref, DerefMut};

use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

/// Parse `0x`-prefixed (or bare) hex into bytes, with an error naming what was wrong.
pub fn parse_hex(s: &str) -> Result<Vec<u8>, String> {
    let digits = s.strip_prefix("0x").unwrap_or(s);
    hex::decode(digits).map_err(|e| format!("invalid hex string `{}`: {e}", abbreviate(s)))
}

fn abbreviate(s: &str) -> String {
    if s.len() > 24 {
        format!(
            "{}…",
            &s[..s.char_indices().nth(24).map_or(s.len(), |(i, _)| i)]
        )
    } else {
        s.to_owned()
    }
}

/// `𝕐_N`: exactly `N` octets (hashes, keys, signatures).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ByteArray<const N: usize>(pub [u8; N]);

impl<const N: usize> ByteArray<N> {
    /// All zero octets.
    pub const ZERO: Self = ByteArray([0u8; N]);

    /// The octets as an array.
    pub fn to_array(self) -> [u8; N] {
        self.0
    }

    /// Copy from a slice of exactly `N` octets.
    pub fn from_slice(s: &[u8]) -> Option<Self> {
        s.try_into().ok().map(ByteArray)
    }
}

impl<const N: usize> Default for ByteArray<N> {
    fn default() -> Self {
        Self::ZERO
    }
}

impl<const N: usize> From<[u8; N]> for ByteArray<N> {
    fn from(a: [u8; N]) -> Self {
        ByteArray(a)
    }
}

impl<const N: usize> From<ByteArray<N>> for [u8; N] {
    fn from(a: ByteArray<N>) -> Self {
        a.0
    }
}

impl<const N: usize> Deref for ByteArray<N> {
    type Target = [u8; N];
    fn deref(&self) -> &[u8; N] {
        &self.0
    }
}

impl<const N: usize> DerefMut for ByteArray<N> {
    fn deref_mut(&mut self) -> &mut [u8; N] {
        &mut self.0
    }
}

impl<const N: usize> AsRef<[u8]> for ByteArray<N> {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl<const N: usize> fmt::Debug for ByteArray<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", hex::encode(self.0))
    }
}

impl<const N: usize> fmt::Display for ByteArray<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", hex::encode(self.0))
    }
}

impl<const N: usize> std::str::FromStr for ByteArray<N> {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let v = parse_hex(s)?;
        let len = v.len();
        ByteArray::from_slice(&v).ok_or_else(|| {
            format!(
                "expected {N} octets of hex, found {len} in `{}`",
                abbreviate(s)
            )
        })
    }
}

impl<const N: usize> Serialize for ByteArray<N> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de, const N: usize> Deserialize<'de> for ByteArray<N> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(de::Error::custom)
    }
}

/// `𝕐`: a blob of any length.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Bytes(pub Vec<u8>);

impl Bytes {
    /// The octets as a slice.
    pub fn as_slice(&self) -> &[u8] {
        &self.0
    }
}

impl From<Vec<u8>> for Bytes {
    fn from(v: Vec<u8>) -> Self {
        Bytes(v)
    }
}

impl From<&[u8]> for Bytes {
    fn from(v: &[u8]) -> Self {
        Bytes(v.to_vec())
    }
}

impl Deref for Bytes {
    type Target = Vec<u8>;
    fn deref(&self) -> &Vec<u8> {
        &self.0
    }
}

impl DerefMut for Bytes {
    fn deref_mut(&mut self) -> &mut Vec<u8> {
        &mut self.0
    }
}

impl AsRef<[u8]> for Bytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", hex::encode(&self.0))
    }
}

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", hex::encode(&self.0))
    }
}

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        parse_hex(&s).map(Bytes).map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_errors() {
        let a: ByteArray<4> = serde_json::from_str("\"0x01020304\"").unwrap();
        assert_eq!(a.0, [1, 2, 3, 4]);
        assert_eq!(serde_json::to_string(&a).unwrap(), "\"0x01020304\"");
        let err = serde_json::from_str::<ByteArray<4>>("\"0x0102\"").unwrap_err();
        assert!(err.to_string().contains("expected 4 octets"), "{err}");
        assert!(serde_json::from_str::<Bytes>("\"0xzz\"").is_err());
        let b: Bytes = serde_json::from_str("\"0x\"").unwrap();
        assert!(b.is_empty());
    }
}

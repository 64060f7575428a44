//! The state-key constructor `C` of GP v0.7.2 merklization.tex (D.1): where each
//! part of σ lives in the 31-octet key space of the state trie.
//!
//! The service dictionaries (storage, preimages, lookups) are addressed by
//! `C(s, h)`, which keeps only the first 27 octets of `H(h)`: the original storage
//! key cannot be recovered from a state key, and the GP allows an implementation
//! not to keep it (D.2, last paragraph). Tessera keeps service items by state key.

use tessera_core::bytes::ByteArray;
use tessera_core::hash::blake2b_256_concat;
use tessera_core::hash::Hash;
use tessera_core::merkle::trie::STATE_KEY_LEN;
use tessera_core::types::ServiceId;

pub use tessera_core::merkle::trie::StateKey;

/// The chapter of the service-account metadata, `C(255, s)`.
pub const SERVICE_CHAPTER: u8 = 255;

/// `C(i) = [i, 0, 0, …]`: the key of state component `i` (1 = α … 16 = θ).
pub fn component(i: u8) -> StateKey {
    let mut k = [0u8; STATE_KEY_LEN];
    k[0] = i;
    ByteArray(k)
}

/// `C(i, s) = [i, n0, 0, n1, 0, n2, 0, n3, 0, 0, …]` with `n = E_4(s)`.
pub fn chapter_service(i: u8, s: ServiceId) -> StateKey {
    let mut k = [0u8; STATE_KEY_LEN];
    k[0] = i;
    for (j, n) in s.to_le_bytes().into_iter().enumerate() {
        k[1 + 2 * j] = n;
    }
    ByteArray(k)
}

/// `C(255, s)`: the key of service `s`'s metadata.
pub fn service(s: ServiceId) -> StateKey {
    chapter_service(SERVICE_CHAPTER, s)
}

/// `C(s, h) = [n0, a0, n1, a1, n2, a2, n3, a3, a4, …, a26]` with `n = E_4(s)` and
/// `a = H(h)_{..27}`, where `h` is the concatenation of `parts`.
pub fn service_item(s: ServiceId, parts: &[&[u8]]) -> StateKey {
    let a = blake2b_256_concat(parts);
    let mut k = [0u8; STATE_KEY_LEN];
    for (j, n) in s.to_le_bytes().into_iter().enumerate() {
        k[2 * j] = n;
        k[2 * j + 1] = a[j];
    }
    k[8..].copy_from_slice(&a[4..27]);
    ByteArray(k)
}

/// `C(s, E_4(2^32 − 1) ⌢ k)`: storage item `k` of service `s`.
pub fn storage(s: ServiceId, key: &[u8]) -> StateKey {
    service_item(s, &[&u32::MAX.to_le_bytes(), key])
}

/// `C(s, E_4(2^32 − 2) ⌢ h)`: the preimage of `h` held by service `s`.
pub fn preimage(s: ServiceId, h: &Hash) -> StateKey {
    service_item(s, &[&(u32::MAX - 1).to_le_bytes(), &h.0])
}

/// `C(s, E_4(l) ⌢ h)`: the lookup (request) entry `(h, l)` of service `s`.
pub fn lookup(s: ServiceId, h: &Hash, l: u32) -> StateKey {
    service_item(s, &[&l.to_le_bytes(), &h.0])
}

/// What a state key addresses, as far as the key alone tells.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    /// `C(i)` for a component index `i` in 1..=16 (or any other chapter).
    Component(u8),
    /// `C(255, s)`: a service's metadata.
    Service(ServiceId),
    /// `C(s, h)`: an item of service `s`'s dictionaries.
    ServiceItem(ServiceId),
}

/// Classify a key. `C(i)` and `C(255, s)` have zeros where `C(s, h)` has hash
/// octets; a `C(s, h)` key that happens to look like one of them would need 23
/// hash octets to be zero, which we treat as impossible, as the GP does (D.2).
pub fn classify(k: &StateKey) -> KeyKind {
    let tail_zero = k[8..].iter().all(|b| *b == 0);
    let odd_zero = [2usize, 4, 6].iter().all(|&i| k[i] == 0);
    if tail_zero && odd_zero {
        if k[0] == SERVICE_CHAPTER {
            return KeyKind::Service(u32::from_le_bytes([k[1], k[3], k[5], k[7]]));
        }
        if k[1..].iter().all(|b| *b == 0) {
            return KeyKind::Component(k[0]);
        }
    }
    KeyKind::ServiceItem(u32::from_le_bytes([k[0], k[2], k[4], k[6]]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_core::hash::blake2b_256;

    #[test]
    fn keys_classify_back() {
        assert_eq!(classify(&component(13)), KeyKind::Component(13));
        assert_eq!(
            classify(&service(0x0403_0201)),
            KeyKind::Service(0x0403_0201)
        );
        let k = storage(0x0403_0201, b"key");
        assert_eq!(classify(&k), KeyKind::ServiceItem(0x0403_0201));
        assert_eq!(&k[..8], &[1, k[1], 2, k[3], 3, k[5], 4, k[7]]);
    }

    #[test]
    fn item_key_interleaves_the_hash() {
        let h = blake2b_256(b"x");
        let mut whole = (u32::MAX - 1).to_le_bytes().to_vec();
        whole.extend_from_slice(&h.0);
        let a = blake2b_256(&whole);
        let k = preimage(7, &h);
        assert_eq!([k[1], k[3], k[5], k[7]], [a[0], a[1], a[2], a[3]]);
        assert_eq!(&k[8..], &a[4..27]);
    }
}

//! A service account `a ∈ A` as accumulation sees it (GP accounts.tex): the
//! metadata of `C(255, s)` plus storage `a_s`, preimages `a_p` and lookups `a_l`,
//! with the footprint `a_i`, `a_o` and threshold `a_t` (GP 9.8).

use std::collections::BTreeMap;

use tessera_core::hash::Hash;
use tessera_core::spec::ChainSpec;
use tessera_core::types::TimeSlot;

use crate::accounts::ServiceInfo;

/// A lookup key `(h, l)`: a preimage hash and its length.
pub type LookupKey = (Hash, u32);

/// One service account with all its dictionaries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceAccount {
    /// The metadata: `a_c`, `a_b`, `a_g`, `a_m`, `a_o`, `a_f`, `a_i`, `a_r`, `a_a`,
    /// `a_p`. `a_o` and `a_i` are kept in step with the dictionaries.
    pub info: ServiceInfo,
    /// `a_s`: storage.
    pub storage: BTreeMap<Vec<u8>, Vec<u8>>,
    /// `a_p`: preimages by hash.
    pub preimages: BTreeMap<Hash, Vec<u8>>,
    /// `a_l`: lookup entries, each at most three slots.
    pub lookups: BTreeMap<LookupKey, Vec<TimeSlot>>,
}

/// The octets a storage item adds to `a_o` (GP 9.8: `34 + |k| + |v|`).
pub fn storage_item_octets(key: &[u8], value: &[u8]) -> u64 {
    34 + len64(key) + len64(value)
}

/// The octets a lookup entry `(h, z)` adds to `a_o` (GP 9.8: `81 + z`).
pub fn lookup_octets(length: u32) -> u64 {
    81 + u64::from(length)
}

fn len64(x: &[u8]) -> u64 {
    u64::try_from(x.len()).unwrap_or(u64::MAX)
}

impl ServiceAccount {
    /// `a_t = max(0, B_S + B_I·a_i + B_L·a_o − a_f)` (GP 9.8), saturating.
    pub fn threshold(&self, spec: &ChainSpec) -> u64 {
        threshold(
            spec,
            u64::from(self.info.items),
            self.info.bytes,
            self.info.deposit_offset,
        )
    }

    /// The code `c` of `E(↕m, c) = a_p[a_c]` (GP accounts.tex, code and metadata):
    /// `None` if the preimage is absent or does not split.
    pub fn code(&self) -> Option<&[u8]> {
        let blob = self.preimages.get(&self.info.code_hash)?;
        let (len, rest) = decode_natural(blob)?;
        let len = usize::try_from(len).ok()?;
        rest.get(len..)
    }

    /// Insert or replace storage item `key`, keeping `a_i` and `a_o` in step.
    pub fn set_storage(&mut self, key: Vec<u8>, value: Vec<u8>) {
        let add = storage_item_octets(&key, &value);
        match self.storage.insert(key.clone(), value) {
            Some(old) => {
                self.info.bytes = self
                    .info
                    .bytes
                    .saturating_sub(storage_item_octets(&key, &old))
                    .saturating_add(add);
            }
            None => {
                self.info.items = self.info.items.saturating_add(1);
                self.info.bytes = self.info.bytes.saturating_add(add);
            }
        }
    }

    /// Remove storage item `key`, keeping `a_i` and `a_o` in step.
    pub fn remove_storage(&mut self, key: &[u8]) {
        if let Some(old) = self.storage.remove(key) {
            self.info.items = self.info.items.saturating_sub(1);
            self.info.bytes = self
                .info
                .bytes
                .saturating_sub(storage_item_octets(key, &old));
        }
    }

    /// Add an empty lookup entry `(h, z) ↦ []` (two items, `81 + z` octets).
    pub fn add_lookup(&mut self, key: LookupKey) {
        if self.lookups.insert(key, Vec::new()).is_none() {
            self.info.items = self.info.items.saturating_add(2);
            self.info.bytes = self.info.bytes.saturating_add(lookup_octets(key.1));
        }
    }

    /// Remove lookup entry `(h, z)` and preimage `h`.
    pub fn remove_lookup(&mut self, key: LookupKey) {
        if self.lookups.remove(&key).is_some() {
            self.info.items = self.info.items.saturating_sub(2);
            self.info.bytes = self.info.bytes.saturating_sub(lookup_octets(key.1));
        }
        self.preimages.remove(&key.0);
    }
}

/// `max(0, B_S + B_I·i + B_L·o − f)` (GP 9.8), saturating at `2^64 − 1`.
pub fn threshold(spec: &ChainSpec, items: u64, octets: u64, gratis: u64) -> u64 {
    let t = u128::from(spec.balance_per_service)
        + u128::from(spec.balance_per_item) * u128::from(items)
        + u128::from(spec.balance_per_octet) * u128::from(octets);
    u64::try_from(t.saturating_sub(u128::from(gratis))).unwrap_or(u64::MAX)
}

/// A compact natural (GP C.6) at the head of `bytes`, and the rest.
fn decode_natural(bytes: &[u8]) -> Option<(u64, &[u8])> {
    let (&first, rest) = bytes.split_first()?;
    let extra = first.leading_ones();
    if extra == 0 {
        return Some((u64::from(first), rest));
    }
    let n = usize::try_from(extra).ok()?;
    let tail = rest.get(..n)?;
    let mut value = 0u64;
    for (i, b) in tail.iter().enumerate() {
        value |= u64::from(*b) << (8 * i);
    }
    if extra < 8 {
        // With seven extra octets the first carries no payload bits (mask 0).
        let high = u64::from(first & 0xffu8.checked_shr(extra + 1).unwrap_or(0));
        value |= high << (8 * n);
    }
    Some((value, rest.get(n..)?))
}

#[cfg(test)]
mod tests {
    use super::decode_natural;
    use tessera_core::codec::encode_natural;

    proptest::proptest! {
        #[test]
        fn natural_round_trips(x: u64, tail: Vec<u8>) {
            let mut bytes = Vec::new();
            encode_natural(x, &mut bytes);
            bytes.extend_from_slice(&tail);
            let (got, rest) = decode_natural(&bytes).expect("decodes");
            proptest::prop_assert_eq!(got, x);
            proptest::prop_assert_eq!(rest, &tail[..]);
        }
    }
}

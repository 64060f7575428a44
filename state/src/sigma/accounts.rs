//! Service accounts `δ`, GP v0.7.2 accounts.tex (§9): the account `a ∈ A`
//! ([`ServiceAccount`]) with its metadata ([`ServiceInfo`]: `a_c`, `a_b`, `a_g`,
//! `a_m`, `a_o`, `a_f`, `a_i`, `a_r`, `a_a`, `a_p`) and the items of its
//! dictionaries — storage `a_s`, preimages `a_p` and lookups `a_l` — keyed by
//! state key exactly as `T(σ)` serializes them (GP merklization.tex D.2), with the
//! footprint `a_i`, `a_o` and threshold `a_t` (GP 9.8).
//!
//! The dictionaries share one map because the state trie addresses them only
//! by `C(s, E_4(2^32 − 1) ⌢ k)`, `C(s, E_4(2^32 − 2) ⌢ h)` and `C(s, E_4(l) ⌢ h)`,
//! all hashed: a storage key cannot be recovered from its state key, and the GP
//! lets an implementation not keep it (D.2). Each key depends on the service id,
//! so every accessor that computes one takes it.
//!
//! One account type serves σ, accumulation, preimage integration and
//! guarantees. The component vectors list a projection of each account instead,
//! by original key: the reports vectors its metadata ([`ServiceInfo`]), the
//! preimages vectors its preimage dictionaries ([`AccountPreimages`]); each is an
//! entry [`AccountEntry<T>`] of `δ`, strictly ordered by service id, and
//! [`ServiceAccount::from_dictionaries`] puts the listed items at their state keys.

use serde::{Deserialize, Serialize, Serializer};
use tessera_core::bytes::Bytes;
use tessera_core::codec::{encode_natural, Decode, Encode};
use tessera_core::spec::ChainSpec;
use tessera_core::types::{ServiceId, TimeSlot};
use tessera_core::Hash;

use crate::serial::state_key::{self, StateKey};

/// A service's metadata as serialized in state (GP D.2, `C(255, s)`): a version
/// octet, then code hash `a_c`, balance `a_b`, minimum item gas `a_g`, minimum
/// memo gas `a_m`, octets `a_o`, deposit offset `a_f`, items `a_i`, creation slot
/// `a_r`, last accumulation slot `a_a` and parent service `a_p`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
#[serde(deny_unknown_fields)]
pub struct ServiceInfo {
    /// The encoding version (0).
    pub version: u8,
    /// `a_c`: the code hash.
    pub code_hash: Hash,
    /// `a_b`: the balance.
    pub balance: u64,
    /// `a_g`: the minimum gas per accumulated item.
    pub min_item_gas: u64,
    /// `a_m`: the minimum gas per transfer memo.
    pub min_memo_gas: u64,
    /// `a_o`: the octets of storage used.
    pub bytes: u64,
    /// `a_f`: the deposit offset.
    pub deposit_offset: u64,
    /// `a_i`: the storage items.
    pub items: u32,
    /// `a_r`: the creation slot.
    pub creation_slot: u32,
    /// `a_a`: the most recent accumulation slot.
    pub last_accumulation_slot: u32,
    /// `a_p`: the parent service.
    pub parent_service: u32,
}

/// One entry `h ↦ d` of a service's preimage dictionary `a_p` (GP accounts.tex,
/// the account tuple).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
#[serde(deny_unknown_fields)]
pub struct PreimageEntry {
    /// `h = H(d)`.
    pub hash: Hash,
    /// `d`: the preimage.
    pub blob: Bytes,
}

/// The key `(h, l)` of a lookup entry: a preimage's hash and length.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Encode, Decode,
)]
#[serde(deny_unknown_fields)]
pub struct LookupKey {
    /// `h`: the requested preimage's hash.
    pub hash: Hash,
    /// `l`: its length in octets.
    pub length: u32,
}

/// One entry `(h, l) ↦ t` of a service's lookup dictionary `a_l ∈ D⟨(H, N_L) →
/// ⟦N_T⟧_{:3}⟩` (GP accounts.tex, the account tuple): the slots at which the
/// preimage became available and was forgotten. `[]` means requested and not yet
/// provided.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
#[serde(deny_unknown_fields)]
pub struct LookupEntry {
    /// `(h, l)`.
    pub key: LookupKey,
    /// `t`: at most three slots.
    #[codec(seq, max = MAX_LOOKUP_SLOTS, name = "lookup slots")]
    pub value: Vec<TimeSlot>,
}

/// The most slots a lookup entry holds (GP accounts.tex, `⟦N_T⟧_{:3}`).
pub const MAX_LOOKUP_SLOTS: usize = 3;

/// A service account's preimage parts: `a_p` and `a_l`, each strictly ordered by
/// key (the preimages vectors' `Account`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
#[serde(deny_unknown_fields)]
pub struct AccountPreimages {
    /// `a_p`: the preimages held, by hash.
    #[codec(seq, sorted_by = hash, name = "preimage dictionary")]
    pub preimage_blobs: Vec<PreimageEntry>,
    /// `a_l`: the preimage requests and their availability history.
    #[codec(seq, sorted_by = key, name = "lookup dictionary")]
    pub preimage_requests: Vec<LookupEntry>,
}

/// One entry `s ↦ a` of `δ`, with the projection `T` of the account a component
/// reads. Encoded `E_4(s) ⌢ E(a)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
#[serde(deny_unknown_fields)]
pub struct AccountEntry<T> {
    /// `s`: the service id.
    pub id: ServiceId,
    /// The account's parts.
    pub data: T,
}

/// One service account: its metadata and every item of its dictionaries.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ServiceAccount {
    /// The metadata: `a_c`, `a_b`, `a_g`, `a_m`, `a_o`, `a_f`, `a_i`, `a_r`, `a_a`,
    /// `a_p`. `a_o` and `a_i` are kept in step with the dictionaries.
    pub info: ServiceInfo,
    /// Every storage item, preimage and lookup entry, by state key, with the
    /// value `T(σ)` holds there: the storage value, the preimage, or
    /// `E(↕[E_4(x) | x ∈ t])` for a lookup entry `t` (GP D.2).
    #[serde(serialize_with = "items_as_hex")]
    pub items: imbl::OrdMap<StateKey, Vec<u8>>,
}

fn items_as_hex<S: Serializer>(
    items: &imbl::OrdMap<StateKey, Vec<u8>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_map(items.iter().map(|(k, v)| (k, Bytes(v.clone()))))
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

/// A lookup entry's value in state: `E(↕[E_4(x) | x ∈ t])` (GP D.2).
pub fn encode_lookup(slots: &[TimeSlot]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + 4 * slots.len());
    encode_natural(len64_of(slots.len()), &mut out);
    for x in slots {
        out.extend_from_slice(&x.to_le_bytes());
    }
    out
}

fn len64_of(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// The slots of a lookup entry's value, if it is `E(↕[E_4(x)])` with at most
/// three slots and nothing after them.
pub fn decode_lookup(bytes: &[u8]) -> Option<Vec<TimeSlot>> {
    let (n, rest) = decode_natural(bytes)?;
    let n = usize::try_from(n).ok().filter(|n| *n <= MAX_LOOKUP_SLOTS)?;
    if rest.len() != 4 * n {
        return None;
    }
    Some(
        rest.chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
    )
}

impl ServiceAccount {
    /// Service `s`'s account with metadata `info` and the dictionaries as the
    /// vectors list them (storage pairs, preimages, lookups), each put at its
    /// state key. `a_i` and `a_o` are taken from `info` as given.
    pub fn from_dictionaries<'a>(
        s: ServiceId,
        info: ServiceInfo,
        storage: impl IntoIterator<Item = (&'a [u8], &'a [u8])>,
        preimages: impl IntoIterator<Item = &'a PreimageEntry>,
        lookups: impl IntoIterator<Item = &'a LookupEntry>,
    ) -> Self {
        let mut items = imbl::OrdMap::new();
        for (k, v) in storage {
            items.insert(state_key::storage(s, k), v.to_vec());
        }
        for p in preimages {
            items.insert(state_key::preimage(s, &p.hash), p.blob.0.clone());
        }
        for l in lookups {
            items.insert(
                state_key::lookup(s, &l.key.hash, l.key.length),
                encode_lookup(&l.value),
            );
        }
        ServiceAccount { info, items }
    }

    /// `a_t = max(0, B_S + B_I·a_i + B_L·a_o − a_f)` (GP 9.8), saturating.
    pub fn threshold(&self, spec: &ChainSpec) -> u64 {
        threshold(
            spec,
            u64::from(self.info.items),
            self.info.bytes,
            self.info.deposit_offset,
        )
    }

    /// `a_s[k]` of this account, service `s`.
    pub fn storage(&self, s: ServiceId, key: &[u8]) -> Option<&[u8]> {
        self.items
            .get(&state_key::storage(s, key))
            .map(Vec::as_slice)
    }

    /// Insert or replace storage item `key` of service `s`, keeping `a_i` and
    /// `a_o` in step (GP 9.8).
    pub fn set_storage(&mut self, s: ServiceId, key: &[u8], value: Vec<u8>) {
        let add = storage_item_octets(key, &value);
        match self.items.insert(state_key::storage(s, key), value) {
            Some(old) => {
                self.info.bytes = self
                    .info
                    .bytes
                    .saturating_sub(storage_item_octets(key, &old))
                    .saturating_add(add);
            }
            None => {
                self.info.items = self.info.items.saturating_add(1);
                self.info.bytes = self.info.bytes.saturating_add(add);
            }
        }
    }

    /// Remove storage item `key` of service `s`, keeping `a_i` and `a_o` in step.
    pub fn remove_storage(&mut self, s: ServiceId, key: &[u8]) {
        if let Some(old) = self.items.remove(&state_key::storage(s, key)) {
            self.info.items = self.info.items.saturating_sub(1);
            self.info.bytes = self
                .info
                .bytes
                .saturating_sub(storage_item_octets(key, &old));
        }
    }

    /// `a_p[h]` of this account, service `s`.
    pub fn preimage(&self, s: ServiceId, h: &Hash) -> Option<&[u8]> {
        self.items
            .get(&state_key::preimage(s, h))
            .map(Vec::as_slice)
    }

    /// Set `a_p[h] = data`. Preimages do not count towards `a_i` or `a_o` (GP 9.8
    /// sums over `a_l` and `a_s` only).
    pub fn set_preimage(&mut self, s: ServiceId, h: &Hash, data: Vec<u8>) {
        self.items.insert(state_key::preimage(s, h), data);
    }

    /// `a_l[(h, l)]` of this account, service `s`: `None` if absent or if the
    /// stored value is not a valid slot sequence.
    pub fn lookup(&self, s: ServiceId, h: &Hash, l: u32) -> Option<Vec<TimeSlot>> {
        self.items
            .get(&state_key::lookup(s, h, l))
            .and_then(|v| decode_lookup(v))
    }

    /// Set `a_l[(h, l)] = slots`; a new entry adds two items and `81 + l`
    /// octets (GP 9.8).
    pub fn set_lookup(&mut self, s: ServiceId, h: &Hash, l: u32, slots: &[TimeSlot]) {
        let fresh = self
            .items
            .insert(state_key::lookup(s, h, l), encode_lookup(slots))
            .is_none();
        if fresh {
            self.info.items = self.info.items.saturating_add(2);
            self.info.bytes = self.info.bytes.saturating_add(lookup_octets(l));
        }
    }

    /// Add an empty lookup entry `(h, l) ↦ []` if there is none.
    pub fn add_lookup(&mut self, s: ServiceId, h: &Hash, l: u32) {
        if !self.items.contains_key(&state_key::lookup(s, h, l)) {
            self.set_lookup(s, h, l, &[]);
        }
    }

    /// Remove lookup entry `(h, l)` and preimage `h`, keeping `a_i` and `a_o` in
    /// step.
    pub fn remove_lookup(&mut self, s: ServiceId, h: &Hash, l: u32) {
        if self.items.remove(&state_key::lookup(s, h, l)).is_some() {
            self.info.items = self.info.items.saturating_sub(2);
            self.info.bytes = self.info.bytes.saturating_sub(lookup_octets(l));
        }
        self.items.remove(&state_key::preimage(s, h));
    }

    /// The code `c` of `E(↕m, c) = a_p[a_c]` (GP accounts.tex, code and metadata)
    /// of this account, service `s`: `None` if the preimage is absent or does not
    /// split.
    pub fn code(&self, s: ServiceId) -> Option<&[u8]> {
        let blob = self.preimage(s, &self.info.code_hash)?;
        let (len, rest) = decode_natural(blob)?;
        let len = usize::try_from(len).ok()?;
        rest.get(len..)
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
    use super::*;

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

    proptest::proptest! {
        #[test]
        fn lookup_value_round_trips(slots in proptest::collection::vec(proptest::num::u32::ANY, 0..=3)) {
            let bytes = encode_lookup(&slots);
            proptest::prop_assert_eq!(bytes.len(), 1 + 4 * slots.len());
            proptest::prop_assert_eq!(decode_lookup(&bytes), Some(slots));
        }

        #[test]
        fn malformed_lookup_values_are_absent(bytes: Vec<u8>) {
            let ok = decode_lookup(&bytes).is_some();
            let shape = matches!(bytes.first(), Some(n) if *n <= 3 && bytes.len() == 1 + 4 * usize::from(*n));
            proptest::prop_assert_eq!(ok, shape);
        }
    }

    /// The typed accessors keep `a_i`/`a_o` as GP 9.8 counts them and put each
    /// entry where the vectors' dictionaries put it.
    #[test]
    fn accessors_agree_with_the_vector_form() {
        let s = 42;
        let h = Hash::from([5u8; 32]);
        let mut a = ServiceAccount::default();
        a.set_storage(s, b"key", b"value".to_vec());
        a.add_lookup(s, &h, 10);
        a.set_lookup(s, &h, 10, &[7, 9]);
        a.set_preimage(s, &h, vec![1; 10]);
        assert_eq!((a.info.items, a.info.bytes), (3, 34 + 3 + 5 + 81 + 10));
        let b = ServiceAccount::from_dictionaries(
            s,
            a.info,
            [(&b"key"[..], &b"value"[..])],
            &[PreimageEntry {
                hash: h,
                blob: Bytes(vec![1; 10]),
            }],
            &[LookupEntry {
                key: LookupKey {
                    hash: h,
                    length: 10,
                },
                value: vec![7, 9],
            }],
        );
        assert_eq!(a, b);
        assert_eq!(a.storage(s, b"key"), Some(&b"value"[..]));
        assert_eq!(a.storage(s + 1, b"key"), None);
        assert_eq!(a.lookup(s, &h, 10), Some(vec![7, 9]));
        a.remove_lookup(s, &h, 10);
        a.remove_storage(s, b"key");
        assert_eq!((a.info.items, a.info.bytes), (0, 0));
        assert!(a.items.is_empty());
    }
}

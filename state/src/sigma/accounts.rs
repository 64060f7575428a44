//! Service accounts `δ`, GP v0.7.2 accounts.tex (§9): the parts of an account the
//! STF components read and write, one type per part, and the `s ↦ a` entry of
//! `δ` that carries them.
//!
//! Each component's vectors hold a projection of the account: the reports
//! transition its metadata ([`ServiceAccount`]), the preimages transition its
//! preimage dictionaries ([`AccountPreimages`]). Both are entries
//! [`AccountEntry<T>`] of `δ`, strictly ordered by service id.

use serde::{Deserialize, Serialize};
use tessera_core::bytes::Bytes;
use tessera_core::codec::{Decode, Encode};
use tessera_core::types::{ServiceId, TimeSlot};
use tessera_core::Hash;

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

/// An account's metadata alone (the reports vectors' `Account`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
#[serde(deny_unknown_fields)]
pub struct ServiceAccount {
    /// The metadata.
    pub service: ServiceInfo,
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
const MAX_LOOKUP_SLOTS: usize = 3;

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

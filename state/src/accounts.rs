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
use tessera_core::codec::{encode_seq, Decode, DecodeError, Encode, Reader};
use tessera_core::types::{ServiceId, TimeSlot};
use tessera_core::Hash;

use crate::dictionary::decode_sorted_by;

/// A service's metadata as serialized in state (GP D.2, `C(255, s)`): a version
/// octet, then code hash `a_c`, balance `a_b`, minimum item gas `a_g`, minimum
/// memo gas `a_m`, octets `a_o`, deposit offset `a_f`, items `a_i`, creation slot
/// `a_r`, last accumulation slot `a_a` and parent service `a_p`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
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

impl Encode for ServiceInfo {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.version.encode_to(out);
        self.code_hash.encode_to(out);
        self.balance.encode_to(out);
        self.min_item_gas.encode_to(out);
        self.min_memo_gas.encode_to(out);
        self.bytes.encode_to(out);
        self.deposit_offset.encode_to(out);
        self.items.encode_to(out);
        self.creation_slot.encode_to(out);
        self.last_accumulation_slot.encode_to(out);
        self.parent_service.encode_to(out);
    }
}

impl Decode for ServiceInfo {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(ServiceInfo {
            version: Decode::decode(r)?,
            code_hash: Decode::decode(r)?,
            balance: Decode::decode(r)?,
            min_item_gas: Decode::decode(r)?,
            min_memo_gas: Decode::decode(r)?,
            bytes: Decode::decode(r)?,
            deposit_offset: Decode::decode(r)?,
            items: Decode::decode(r)?,
            creation_slot: Decode::decode(r)?,
            last_accumulation_slot: Decode::decode(r)?,
            parent_service: Decode::decode(r)?,
        })
    }
}

/// An account's metadata alone (the reports vectors' `Account`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceAccount {
    /// The metadata.
    pub service: ServiceInfo,
}

impl Encode for ServiceAccount {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.service.encode_to(out);
    }
}

impl Decode for ServiceAccount {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(ServiceAccount {
            service: Decode::decode(r)?,
        })
    }
}

/// One entry `h ↦ d` of a service's preimage dictionary `a_p` (GP accounts.tex,
/// the account tuple).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreimageEntry {
    /// `h = H(d)`.
    pub hash: Hash,
    /// `d`: the preimage.
    pub blob: Bytes,
}

impl Encode for PreimageEntry {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.hash.encode_to(out);
        self.blob.encode_to(out);
    }
}

impl Decode for PreimageEntry {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(PreimageEntry {
            hash: Decode::decode(r)?,
            blob: Decode::decode(r)?,
        })
    }
}

/// The key `(h, l)` of a lookup entry: a preimage's hash and length.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LookupEntry {
    /// `(h, l)`.
    pub key: LookupKey,
    /// `t`: at most three slots.
    pub value: Vec<TimeSlot>,
}

/// The most slots a lookup entry holds (GP accounts.tex, `⟦N_T⟧_{:3}`).
const MAX_LOOKUP_SLOTS: usize = 3;

impl Encode for LookupEntry {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.key.hash.encode_to(out);
        self.key.length.encode_to(out);
        encode_seq(&self.value, out);
    }
}

impl Decode for LookupEntry {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(LookupEntry {
            key: LookupKey {
                hash: Decode::decode(r)?,
                length: Decode::decode(r)?,
            },
            value: r.seq("lookup slots", Some(MAX_LOOKUP_SLOTS))?,
        })
    }
}

/// A service account's preimage parts: `a_p` and `a_l`, each strictly ordered by
/// key (the preimages vectors' `Account`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountPreimages {
    /// `a_p`: the preimages held, by hash.
    pub preimage_blobs: Vec<PreimageEntry>,
    /// `a_l`: the preimage requests and their availability history.
    pub preimage_requests: Vec<LookupEntry>,
}

impl Encode for AccountPreimages {
    fn encode_to(&self, out: &mut Vec<u8>) {
        encode_seq(&self.preimage_blobs, out);
        encode_seq(&self.preimage_requests, out);
    }
}

impl Decode for AccountPreimages {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(AccountPreimages {
            preimage_blobs: decode_sorted_by(
                r,
                "preimage dictionary",
                None,
                |e: &PreimageEntry| e.hash,
            )?,
            preimage_requests: decode_sorted_by(
                r,
                "lookup dictionary",
                None,
                |e: &LookupEntry| e.key,
            )?,
        })
    }
}

/// One entry `s ↦ a` of `δ`, with the projection `T` of the account a component
/// reads. Encoded `E_4(s) ⌢ E(a)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountEntry<T> {
    /// `s`: the service id.
    pub id: ServiceId,
    /// The account's parts.
    pub data: T,
}

impl<T: Encode> Encode for AccountEntry<T> {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.id.encode_to(out);
        self.data.encode_to(out);
    }
}

impl<T: Decode> Decode for AccountEntry<T> {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(AccountEntry {
            id: Decode::decode(r)?,
            data: Decode::decode(r)?,
        })
    }
}

/// Read `δ` (a projection of it): entries strictly ordered by service id, as a
/// dictionary (GP C.10).
pub fn decode_accounts<T: Decode>(r: &mut Reader<'_>) -> Result<Vec<AccountEntry<T>>, DecodeError> {
    decode_sorted_by(r, "accounts", None, |a: &AccountEntry<T>| a.id)
}

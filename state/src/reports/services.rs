//! The service-account fields the guarantees transition reads (GP accounts.tex,
//! `a_c`, `a_g`, …; vectors' `ServiceInfo`), and the statistics it updates (GP
//! statistics.tex, `π_C` and `π_S`, report-related entries only).

use serde::{Deserialize, Serialize};
use tessera_core::codec::{encode_fixed_seq, encode_natural, Decode, DecodeError, Encode, Reader};
use tessera_core::types::ServiceId;
use tessera_core::Hash;

/// A service's metadata as serialized in state (GP D.2, `C(255, s)`): a version
/// octet, then code hash `a_c`, balance `a_b`, minimum item gas `a_g`, minimum
/// memo gas `a_m`, octets `a_o`, deposit offset `a_f`, items `a_i`, creation slot
/// `a_r`, last accumulation slot `a_a` and parent service `a_p`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
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

/// The vectors' `Account`: the service metadata only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Account {
    /// The metadata.
    pub service: ServiceInfo,
}

/// One `δ` entry: a service id and its account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountEntry {
    /// The service id.
    pub id: ServiceId,
    /// The account.
    pub data: Account,
}

/// One core's activity `π_C[c]` (GP 13.8–13.9): all compact naturals.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoreActivityRecord {
    /// `d`: the availability load.
    pub da_load: u64,
    /// `p`: the assurances' popularity.
    pub popularity: u64,
    /// `i`: segments imported by reported work.
    pub imports: u64,
    /// `x`: extrinsics used by reported work.
    pub extrinsic_count: u64,
    /// `z`: their total size.
    pub extrinsic_size: u64,
    /// `e`: segments exported.
    pub exports: u64,
    /// `b`: the reported bundles' total length.
    pub bundle_size: u64,
    /// `u`: gas used in refinement.
    pub gas_used: u64,
}

/// One service's activity `π_S[s]` (GP 13.10–13.12): all compact naturals.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceActivityRecord {
    /// `p.0`: preimages provided.
    pub provided_count: u64,
    /// `p.1`: their total size.
    pub provided_size: u64,
    /// `r.0`: work items refined.
    pub refinement_count: u64,
    /// `r.1`: gas used refining them.
    pub refinement_gas_used: u64,
    /// `i`: segments imported.
    pub imports: u64,
    /// `x`: extrinsics used.
    pub extrinsic_count: u64,
    /// `z`: their total size.
    pub extrinsic_size: u64,
    /// `e`: segments exported.
    pub exports: u64,
    /// `a.0`: items accumulated.
    pub accumulate_count: u64,
    /// `a.1`: gas used accumulating.
    pub accumulate_gas_used: u64,
}

/// One `π_S` entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceActivityEntry {
    /// The service id.
    pub id: ServiceId,
    /// Its activity.
    pub record: ServiceActivityRecord,
}

/// `π_C`: one record per core, no length prefix. JSON is the array.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CoresStatistics(pub Vec<CoreActivityRecord>);

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

impl Encode for AccountEntry {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.id.encode_to(out);
        self.data.service.encode_to(out);
    }
}

impl Decode for AccountEntry {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(AccountEntry {
            id: Decode::decode(r)?,
            data: Account {
                service: Decode::decode(r)?,
            },
        })
    }
}

/// Encode and decode a record of compact naturals in field order.
macro_rules! compact_record {
    ($ty:ident { $($f:ident),+ $(,)? }) => {
        impl Encode for $ty {
            fn encode_to(&self, out: &mut Vec<u8>) {
                $( encode_natural(self.$f, out); )+
            }
        }
        impl Decode for $ty {
            fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
                Ok($ty { $( $f: r.natural(stringify!($f))?, )+ })
            }
        }
    };
}

compact_record!(CoreActivityRecord {
    da_load,
    popularity,
    imports,
    extrinsic_count,
    extrinsic_size,
    exports,
    bundle_size,
    gas_used
});

compact_record!(ServiceActivityRecord {
    provided_count,
    provided_size,
    refinement_count,
    refinement_gas_used,
    imports,
    extrinsic_count,
    extrinsic_size,
    exports,
    accumulate_count,
    accumulate_gas_used
});

impl Encode for ServiceActivityEntry {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.id.encode_to(out);
        self.record.encode_to(out);
    }
}

impl Decode for ServiceActivityEntry {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(ServiceActivityEntry {
            id: Decode::decode(r)?,
            record: Decode::decode(r)?,
        })
    }
}

impl Encode for CoresStatistics {
    fn encode_to(&self, out: &mut Vec<u8>) {
        encode_fixed_seq(&self.0, out);
    }
}

impl Decode for CoresStatistics {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.fixed_seq(r.spec().cores()).map(CoresStatistics)
    }
}

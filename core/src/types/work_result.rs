//! Work digests (the vectors' "work results"), GP work_packages_and_reports.tex
//! ("Work Digest"), and the execution result `O` of Refine.

use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::bounds::Check;
use super::indices::{Gas, ServiceId};
use crate::bytes::Bytes;
use crate::codec::{Decode, Encode};
use crate::hash::Hash;

/// The result of refining one work item: `B ∪ E` with
/// `E = {∞, ☇, ⊚, ⊖, BAD, BIG}`. Encoded by `O` (GP C.2): a tag octet, then for
/// `ok` the length-prefixed output. JSON is a one-key object, `{"ok": "0x…"}` or
/// `{"panic": null}` (the vectors' `WorkExecResult` CHOICE, its kebab-case names
/// in snake_case like every vector name). The vectors exercise only `ok` and
/// `panic`; the other names follow the ASN.1 choice names and the GP's tag order.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Check)]
#[codec(tag_name = "work result tag", what = "work result (0..=6)")]
pub enum WorkExecResult {
    /// Tag 0: the refine output.
    Ok(Bytes),
    /// Tag 1, `∞`: out of gas.
    OutOfGas,
    /// Tag 2, `☇`: unexpected termination.
    Panic,
    /// Tag 3, `⊚`: the number of exports differed from the item's `e`.
    BadExports,
    /// Tag 4, `⊖`: the digest's outputs exceeded `W_R`.
    OutputOversize,
    /// Tag 5, `BAD`: the service code was not available.
    BadCode,
    /// Tag 6, `BIG`: the service code exceeded `W_C`.
    CodeOversize,
}

impl WorkExecResult {
    /// The JSON names of the variants, by tag.
    pub const NAMES: [&'static str; 7] = [
        "ok",
        "out_of_gas",
        "panic",
        "bad_exports",
        "output_oversize",
        "bad_code",
        "code_oversize",
    ];

    /// The `O` tag.
    pub fn tag(&self) -> u8 {
        match self {
            WorkExecResult::Ok(_) => 0,
            WorkExecResult::OutOfGas => 1,
            WorkExecResult::Panic => 2,
            WorkExecResult::BadExports => 3,
            WorkExecResult::OutputOversize => 4,
            WorkExecResult::BadCode => 5,
            WorkExecResult::CodeOversize => 6,
        }
    }

    /// The error variant of a nonzero tag.
    fn error_of_tag(tag: u8) -> Option<Self> {
        Some(match tag {
            1 => WorkExecResult::OutOfGas,
            2 => WorkExecResult::Panic,
            3 => WorkExecResult::BadExports,
            4 => WorkExecResult::OutputOversize,
            5 => WorkExecResult::BadCode,
            6 => WorkExecResult::CodeOversize,
            _ => return None,
        })
    }

    /// The JSON name of this variant.
    pub fn name(&self) -> &'static str {
        Self::NAMES[usize::from(self.tag())]
    }
}

impl Serialize for WorkExecResult {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(1))?;
        match self {
            WorkExecResult::Ok(output) => map.serialize_entry("ok", output)?,
            other => map.serialize_entry(other.name(), &())?,
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for WorkExecResult {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct OneKey;
        impl<'de> Visitor<'de> for OneKey {
            type Value = WorkExecResult;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object with exactly one key of ok, out_of_gas, panic, bad_exports, output_oversize, bad_code, code_oversize")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let key: String = map
                    .next_key()?
                    .ok_or_else(|| de::Error::invalid_length(0, &self))?;
                let value = if key == "ok" {
                    WorkExecResult::Ok(map.next_value()?)
                } else {
                    let tag = WorkExecResult::NAMES
                        .iter()
                        .position(|n| *n == key)
                        .and_then(|t| u8::try_from(t).ok())
                        .and_then(WorkExecResult::error_of_tag)
                        .ok_or_else(|| de::Error::unknown_variant(&key, &WorkExecResult::NAMES))?;
                    map.next_value::<()>()?;
                    tag
                };
                if map.next_key::<de::IgnoredAny>()?.is_some() {
                    return Err(de::Error::invalid_length(2, &self));
                }
                Ok(value)
            }
        }
        d.deserialize_map(OneKey)
    }
}

/// The refine load of a digest: gas used `u`, segments imported `i`, extrinsics
/// used `x` and their total size `z`, segments exported `e`. The GP encodes all
/// five as compact naturals, since the PVM never reads them (GP C.2).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, Encode, Decode, Check,
)]
#[serde(deny_unknown_fields)]
pub struct RefineLoad {
    /// `u`: the gas Refine used.
    #[codec(compact, name = "refine gas used")]
    pub gas_used: Gas,
    /// `i`: the number of segments imported.
    #[codec(compact, name = "imports count")]
    pub imports: u16,
    /// `x`: the number of extrinsics used.
    #[codec(compact, name = "extrinsic count")]
    pub extrinsic_count: u16,
    /// `z`: their total size in octets.
    #[codec(compact, name = "extrinsic size")]
    pub extrinsic_size: u32,
    /// `e`: the number of segments exported.
    #[codec(compact, name = "exports count")]
    pub exports: u16,
}

/// `D` (GP "work digest"; `WorkResult` in the vectors): what a work report says
/// about one refined item. Encoded
/// `E(E_4(s), c, y, E_8(g), O(l), u, i, x, z, e)` (GP C.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode, Check)]
#[serde(deny_unknown_fields)]
pub struct WorkResult {
    /// `s`: the service.
    pub service_id: ServiceId,
    /// `c`: its code hash at refinement.
    pub code_hash: Hash,
    /// `y`: the hash of the item's payload.
    pub payload_hash: Hash,
    /// `g`: the gas limit for accumulating this item.
    pub accumulate_gas: Gas,
    /// `l`: the refine output or error.
    pub result: WorkExecResult,
    /// `(u, i, x, z, e)`: what refinement consumed and produced.
    pub refine_load: RefineLoad,
}

/// The GP v0.7.2 name of [`WorkResult`].
pub type WorkDigest = WorkResult;

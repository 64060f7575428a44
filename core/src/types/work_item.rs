//! Work items, GP work_packages_and_reports.tex ("Work Packages and Work Items").

use serde::{Deserialize, Serialize};

use super::bounds::Check;
use super::indices::{Gas, ServiceId};
use crate::bytes::Bytes;
use crate::codec::{Decode, Encode};
use crate::hash::Hash;

/// An imported-segment reference `(h, i)` of `w_i` (GP work_packages_and_reports.tex, work items), encoded
/// `I(h, i) = (h, E_2(i))` (GP C.2).
///
/// The GP lets `h` be either a segment root or a work-package hash `r⊞`, and
/// marks the latter by adding `2^15` to the index in the encoding; the vectors'
/// ASN.1 (`ImportSpec`) carries `index` as a plain `U16`, so both forms are this
/// one record and the flag, when used, is bit 15 of `index`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode, Check)]
#[serde(deny_unknown_fields)]
pub struct ImportSpec {
    /// `h`: the segment tree root (or work-package hash) to import from.
    pub tree_root: Hash,
    /// `i`: the segment index in that tree.
    pub index: u16,
}

/// An extrinsic reference `(h, l)` of `w_x` (GP work_packages_and_reports.tex, work items): the blob's hash and its
/// length, encoded `(h, E_4(l))` (GP C.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode, Check)]
#[serde(deny_unknown_fields)]
pub struct ExtrinsicSpec {
    /// `h`: the hash of the extrinsic blob.
    pub hash: Hash,
    /// `l`: its length in octets.
    pub len: u32,
}

/// `W` (GP work_packages_and_reports.tex, work items): one item of a work package. Encoded
/// `E(E_4(s), c, E_8(g), E_8(a), E_2(e), ↕y, ↕I#(i), ↕x)` (GP C.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode, Check)]
#[serde(deny_unknown_fields)]
pub struct WorkItem {
    /// `s`: the service whose refine code runs.
    pub service: ServiceId,
    /// `c`: that service's code hash at the lookup anchor.
    pub code_hash: Hash,
    /// `g`: the gas limit of Refine.
    pub refine_gas_limit: Gas,
    /// `a`: the gas limit of Accumulate.
    pub accumulate_gas_limit: Gas,
    /// `e`: the number of segments exported.
    pub export_count: u16,
    /// `y`: the payload.
    pub payload: Bytes,
    /// `i`: the segments imported. The per-package limit `W_M` spans all items and
    /// is a package validity rule, not a codec bound.
    pub import_segments: Vec<ImportSpec>,
    /// `x`: the extrinsic blobs introduced (limit `T` per package, likewise).
    pub extrinsic: Vec<ExtrinsicSpec>,
}

//! Availability: the specification a work report gives of its erasure-coded
//! package (GP work_packages_and_reports.tex, "availability specification") and
//! the per-core bitfield an assurance carries (GP assurance.tex / reporting).

use serde::{Deserialize, Serialize};

use super::bounds::{Bound, Check, SpecViolation, ViolationKind};
use crate::bytes::Bytes;
use crate::codec::{encode_bits, Decode, DecodeError, Encode, Reader};
use crate::hash::Hash;
use crate::spec::ChainSpec;

/// `Y` (the vectors' `WorkPackageSpec`, JSON `package_spec`): the work-package
/// hash `p`, the bundle length `l`, the erasure root `u`, the exports root `e`
/// and the export count `n`. Encoded `E(p, E_4(l), u, e, E_2(n))` (GP C.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode, Check)]
#[serde(deny_unknown_fields)]
pub struct AvailabilitySpec {
    /// `p`: the work-package hash.
    pub hash: Hash,
    /// `l`: the auditable bundle's length in octets.
    pub length: u32,
    /// `u`: the erasure root.
    pub erasure_root: Hash,
    /// `e`: the segment (exports) root.
    pub exports_root: Hash,
    /// `n`: the number of exported segments.
    pub exports_count: u16,
}

/// `a_f ∈ 𝔹_C`: one bit per core, packed least-significant bit first into
/// `⌈C/8⌉` octets with no length prefix (GP C.1, bit sequences). The padding bits
/// past `C` must be zero, so that each bitfield has exactly one encoding. JSON is
/// the octets as hex.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AvailabilityBitfield(pub Bytes);

impl AvailabilityBitfield {
    /// A bitfield of `bits.len()` cores from their bits.
    pub fn from_bits(bits: &[bool]) -> Self {
        let mut out = Vec::with_capacity(bits.len().div_ceil(8));
        encode_bits(bits, &mut out);
        AvailabilityBitfield(Bytes(out))
    }

    /// Whether the bit of `core` is set; `false` past the end.
    pub fn is_set(&self, core: usize) -> bool {
        self.0
            .get(core / 8)
            .is_some_and(|octet| octet >> (core % 8) & 1 == 1)
    }

    /// The number of bits set.
    pub fn count_ones(&self) -> usize {
        self.0.iter().map(|o| o.count_ones() as usize).sum()
    }
}

// Written by hand: the bits are held packed, as the octets of `Bytes`, and decoding
// goes through the bit sequence only to refuse nonzero padding.
impl Encode for AvailabilityBitfield {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0);
    }
}

impl Decode for AvailabilityBitfield {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let bits = r.bits(r.spec().cores(), "availability bitfield")?;
        Ok(AvailabilityBitfield::from_bits(&bits))
    }
}

impl Check for AvailabilityBitfield {
    fn check(&self, spec: &ChainSpec) -> Result<(), SpecViolation> {
        Bound::Exactly(spec.availability_bitfield_bytes()).check(self.0.len())?;
        let cores = spec.cores();
        if (cores..self.0.len() * 8).any(|bit| self.is_set(bit)) {
            return Err(SpecViolation::new(ViolationKind::Invalid(
                "bits past the core count C are set",
            )));
        }
        Ok(())
    }
}

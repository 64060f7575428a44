//! The JAM protocol types of GP v0.7.2 that travel in blocks and work packages,
//! with their binary codec (Appendix C, serialization.tex) and the JSON form of
//! the official vectors.
//!
//! Field names are the vectors' snake_case JSON names (ASN.1 `jam-types.asn` of
//! `davxy/jam-test-vectors`, kebab-case there); each type's doc comment gives its
//! GP symbol. Fixed-width integers are `E_l` (little-endian), fields the GP leaves
//! as bare naturals are compact (eq. C.6). Sequences whose length the chain spec
//! fixes (`V` validator keys, `E` tickets, `⌊2V/3⌋+1` judgements, `⌈C/8⌉` octets of
//! bitfield) carry no length prefix, so decoding them reads the spec from the
//! [`Reader`](crate::codec::Reader). Values built from JSON are checked against the
//! spec with [`Check`] before they are encoded, since an encoder cannot fail.
//!
//! Architecture invariant: these are data only. Decoding enforces what the codec
//! itself needs (lengths, tags, canonical forms, the GP's upper bounds on
//! sequences); every validity rule that the vectors test as a state-transition
//! error (ordering of guarantors, judgements, culprits, lower bounds such as
//! "at least two guarantor signatures") is left to the state-transition code.

pub mod availability;
pub mod block;
pub mod bounds;
pub mod extrinsic;
pub mod header;
pub mod indices;
pub mod keys;
pub mod named;
pub mod refine_context;
pub mod ticket;
pub mod validator;
pub mod work_item;
pub mod work_package;
pub mod work_report;
pub mod work_result;

pub use availability::{AvailabilityBitfield, AvailabilitySpec};
pub use block::Block;
pub use bounds::{Bound, Check, SpecViolation, ViolationKind};
pub use extrinsic::{
    Assurance, AssurancesExtrinsic, Culprit, DisputesExtrinsic, Extrinsic, Fault, Guarantee,
    GuaranteesExtrinsic, Judgement, Preimage, PreimagesExtrinsic, TicketEnvelope, TicketsExtrinsic,
    ValidatorSignature, Verdict,
};
pub use header::{EpochMark, EpochMarkValidator, Header, TicketsMark};
pub use indices::{CoreIndex, Gas, ServiceId, TimeSlot, ValidatorIndex};
pub use keys::{
    BandersnatchPublic, BandersnatchRingVrfSignature, BandersnatchVrfSignature, BlsPublic,
    Ed25519Public, Ed25519Signature, ValidatorMetadata,
};
pub use named::{NamedType, TypeError};
pub use refine_context::RefineContext;
pub use ticket::TicketBody;
pub use validator::ValidatorData;
pub use work_item::{ExtrinsicSpec, ImportSpec, WorkItem};
pub use work_package::WorkPackage;
pub use work_report::{SegmentRootLookup, SegmentRootLookupItem, WorkReport};
pub use work_result::{RefineLoad, WorkDigest, WorkExecResult, WorkResult};

#[cfg(test)]
pub(crate) mod test_vectors;
#[cfg(test)]
mod tests;

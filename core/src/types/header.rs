//! Block headers, GP header.tex, and their serialization `E(H)` and the
//! unsigned form `E_U(H)` that the seal signs (GP C.2).

use serde::{Deserialize, Serialize};

use super::bounds::Check;
use super::indices::{TimeSlot, ValidatorIndex};
use super::keys::{BandersnatchPublic, BandersnatchVrfSignature, Ed25519Public};
use super::ticket::TicketBody;
use crate::codec::{Decode, Encode};
use crate::hash::{blake2b_256, Hash};

/// One validator's entry in the epoch mark: its Bandersnatch and Ed25519 keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode, Check)]
#[serde(deny_unknown_fields)]
pub struct EpochMarkValidator {
    /// `k_b`: the Bandersnatch key.
    pub bandersnatch: BandersnatchPublic,
    /// `k_e`: the Ed25519 key.
    pub ed25519: Ed25519Public,
}

/// `H_E` (GP header.tex, epoch marker): set in the first block of an epoch. The
/// next epoch's randomness `η_1`, the ticket-sealing randomness `η_2`, and the
/// `V` incoming validators' Bandersnatch and Ed25519 keys, encoded with no length
/// prefix since `V` is fixed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode, Check)]
#[serde(deny_unknown_fields)]
pub struct EpochMark {
    /// `η_1'`: the entropy for the next epoch.
    pub entropy: Hash,
    /// `η_2'`: the entropy that sealed the tickets now in use.
    pub tickets_entropy: Hash,
    /// The incoming validator set's keys, exactly `V`.
    #[codec(len = spec.validators())]
    pub validators: Vec<EpochMarkValidator>,
}

/// `H_W` (GP header.tex, winning-tickets marker): the `E` tickets that will seal
/// the next epoch, in outside-in order, with no length prefix. JSON is the array.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode, Check)]
#[serde(transparent)]
pub struct TicketsMark(#[codec(len = spec.epoch_length as usize)] pub Vec<TicketBody>);

/// `H` (GP header.tex). Encoded `E(H) = E(E_U(H), H_S)` with
/// `E_U(H) = E(H_P, H_R, H_X, E_4(H_T), ¿H_E, ¿H_W, E_2(H_I), H_V, ↕H_O)` (GP C.2);
/// the fields are in that order. `Encode` is written out as `E_U(H) ⌢ H_S`, since
/// the seal signs `E_U(H)` and both must agree.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Decode, Check)]
#[serde(deny_unknown_fields)]
pub struct Header {
    /// `H_P`: the parent header's hash.
    pub parent: Hash,
    /// `H_R`: the parent block's posterior state root.
    pub parent_state_root: Hash,
    /// `H_X`: the extrinsic hash.
    pub extrinsic_hash: Hash,
    /// `H_T`: the timeslot.
    pub slot: TimeSlot,
    /// `H_E`: the epoch marker.
    pub epoch_mark: Option<EpochMark>,
    /// `H_W`: the winning-tickets marker.
    pub tickets_mark: Option<TicketsMark>,
    /// `H_I`: the block author's index in the current validator set.
    pub author_index: ValidatorIndex,
    /// `H_V`: the entropy-yielding VRF signature.
    pub entropy_source: BandersnatchVrfSignature,
    /// `H_O`: the Ed25519 keys of newly judged offenders. Its order and content
    /// are the disputes transition's to check.
    pub offenders_mark: Vec<Ed25519Public>,
    /// `H_S`: the block seal.
    pub seal: BandersnatchVrfSignature,
}

impl Header {
    /// `E_U(H)`: the header without its seal, the message the seal signs.
    pub fn encode_unsigned(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_unsigned_to(&mut out);
        out
    }

    /// Append `E_U(H)` to `out`.
    pub fn encode_unsigned_to(&self, out: &mut Vec<u8>) {
        self.parent.encode_to(out);
        self.parent_state_root.encode_to(out);
        self.extrinsic_hash.encode_to(out);
        self.slot.encode_to(out);
        self.epoch_mark.encode_to(out);
        self.tickets_mark.encode_to(out);
        self.author_index.encode_to(out);
        self.entropy_source.encode_to(out);
        self.offenders_mark.encode_to(out);
    }

    /// `H(E(H))`: the header hash, which identifies the block.
    pub fn hash(&self) -> Hash {
        blake2b_256(&self.encode())
    }
}

impl Encode for Header {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.encode_unsigned_to(out);
        self.seal.encode_to(out);
    }
}

//! The accumulation inputs `I = O ∪ T` (GP accumulation.tex): operand tuples from
//! work digests and deferred transfers, with their encodings (GP C, the fetch
//! host call's `E(↕i)`).

use tessera_core::bytes::Bytes;
use tessera_core::codec::Encode;
use tessera_core::hash::Hash;
use tessera_core::types::{Gas, ServiceId, WorkExecResult};

/// `O`: one work digest as its service's accumulation sees it.
#[derive(Clone, Debug, PartialEq, Eq, Encode)]
pub struct Operand {
    /// `p`: the work-package hash.
    pub package_hash: Hash,
    /// `e`: the exports (segment) root.
    pub exports_root: Hash,
    /// `a`: the authorizer hash.
    pub authorizer_hash: Hash,
    /// `y`: the payload hash.
    pub payload_hash: Hash,
    /// `g`: the digest's accumulation gas.
    #[codec(compact)]
    pub gas: Gas,
    /// `l`: the refinement result.
    pub result: WorkExecResult,
    /// `t`: the authorizer trace.
    pub trace: Bytes,
}

/// `T`: a deferred transfer (GP 12.14).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transfer {
    /// `s`: the sender.
    pub source: ServiceId,
    /// `d`: the receiver.
    pub destination: ServiceId,
    /// `a`: the amount.
    pub amount: u64,
    /// `m`: the memo, `W_T` octets.
    pub memo: Vec<u8>,
    /// `g`: the gas the receiver gets for it.
    pub gas: Gas,
}

// Written by hand: the memo is held as a `Vec` but encoded as its `W_T` octets with
// no length prefix.
impl Encode for Transfer {
    /// `E_4(s) ⌢ E_4(d) ⌢ E_8(a) ⌢ m ⌢ E_8(g)`.
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.source.encode_to(out);
        self.destination.encode_to(out);
        self.amount.encode_to(out);
        out.extend_from_slice(&self.memo);
        self.gas.encode_to(out);
    }
}

/// `I = O ∪ T`, encoded with a discriminator: 0 for an operand, 1 for a transfer.
#[derive(Clone, Debug, PartialEq, Eq, Encode)]
pub enum AccumulateInput {
    /// A work digest.
    Operand(Operand),
    /// A deferred transfer.
    Transfer(Transfer),
}

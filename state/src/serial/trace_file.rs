//! The block-import trace format of the JAM test vectors (`traces/schema.asn`):
//! a state as its root and its full key/value list, a step as
//! `(pre-state, block, post-state)`, and the genesis header with its state. The
//! conformance fuzzer's `Initialize` message carries the same key/value list.

use std::collections::BTreeMap;

use tessera_core::bytes::{ByteArray, Bytes};
use tessera_core::codec::{encode_seq, Decode, DecodeError, Encode, Reader};
use tessera_core::hash::Hash;
use tessera_core::types::{Block, Header};

use crate::serial::KeyValues;

/// `RawState ::= { state-root, keyvals }`: a serialized state and its claimed root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawState {
    /// The root the producer computed.
    pub root: Hash,
    /// `T(σ)`, strictly ordered by key.
    pub keyvals: KeyValues,
}

// Written by hand: the key/value dictionary is held with bare `Vec<u8>` values,
// encoded as blobs (`↕v`) through `encode_keyvals`/`decode_keyvals`.
impl Encode for RawState {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.root.encode_to(out);
        encode_keyvals(&self.keyvals, out);
    }
}

impl Decode for RawState {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(RawState {
            root: Decode::decode(r)?,
            keyvals: decode_keyvals(r)?,
        })
    }
}

/// `↕[(k, ↕v)]`: a key/value list as the traces and the fuzzer protocol encode it.
pub fn encode_keyvals(kv: &KeyValues, out: &mut Vec<u8>) {
    let pairs: Vec<(ByteArray<31>, Bytes)> =
        kv.iter().map(|(k, v)| (*k, Bytes(v.clone()))).collect();
    encode_seq(&pairs, out);
}

/// Read a key/value list; keys must be strictly increasing (a state is a map).
pub fn decode_keyvals(r: &mut Reader<'_>) -> Result<KeyValues, DecodeError> {
    let kv: BTreeMap<ByteArray<31>, Bytes> = r.dictionary("state key/value pairs", None)?;
    Ok(kv.into_iter().map(|(k, v)| (k, v.0)).collect())
}

/// `TraceStep ::= { pre-state, block, post-state }`.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct TraceStep {
    /// The state the block is imported on.
    pub pre: RawState,
    /// The block.
    pub block: Block,
    /// The state after it; equal to `pre` where the block is invalid.
    pub post: RawState,
}

/// `Genesis ::= { header, state }`.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Genesis {
    /// The genesis header.
    pub header: Header,
    /// The genesis state.
    pub state: RawState,
}

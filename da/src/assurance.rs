//! Availability assurances: GP v0.7.2 §11.2 (eqs. 11.10–11.17) and JAMNP-S CE 141.
//!
//! An assurer sets bit `c` of its bitfield when it holds its shard of the report
//! pending on core `c` (ρ†), signs `X_A ⌢ H(E(anchor, bitfield))` with the anchor
//! the parent header hash (GP 11.13), and sends the assurance over CE 141 to the
//! next block authors. A block author keeps what it receives in an
//! [`AssurancePool`]: messages are queued as they arrive, their signatures checked
//! in one batch on the kernels' backend when a block is built, and the valid ones
//! anchored on the block's parent go into `E_A`, ordered by validator index
//! (GP 11.12).
//!
//! JAMNP-S's CE 141 message carries no validator index: the sender is the
//! validator whose Ed25519 key is the peer's (a validator's network identity is
//! its Ed25519 key), looked up in the set the assurances are checked against.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use tessera_core::crypto::contexts::assurance_message;
use tessera_core::crypto::ed25519::{PublicKey, SecretKey};
use tessera_core::hash::Hash;
use tessera_core::spec::ChainSpec;
use tessera_core::types::{Assurance, AssurancesExtrinsic, AvailabilityBitfield};
use tessera_kernels::signatures::verify_ed25519_batch;
use tessera_kernels::Backend;
use tessera_net::messages::{AssuranceDistribution, AssuranceMessage};
use tessera_net::{Network, PeerId, Refusal, RequestError};
use tracing::{debug, warn};

use crate::assignment::shard_index;
use crate::store::{ShardStore, StoreError};

/// The assurer's bitfield: bit `c` set when `store` holds validator `validator`'s
/// shard of the package pending on core `c` (`pending[c]`, its erasure root, from
/// ρ†). A core with nothing pending, or beyond `pending`, stays clear (GP 11.15
/// forbids a bit for a core with no pending report).
pub fn bitfield(
    spec: &ChainSpec,
    store: &ShardStore,
    pending: &[Option<Hash>],
    validator: u16,
) -> Result<AvailabilityBitfield, StoreError> {
    let mut bits = vec![false; spec.cores()];
    for (core, root) in pending.iter().enumerate().take(spec.cores()) {
        let (Some(root), Ok(core16)) = (root, u16::try_from(core)) else {
            continue;
        };
        let Some(index) = shard_index(spec, core16, validator) else {
            continue;
        };
        bits[core] = store.shard_set(root, index)?.is_some();
    }
    Ok(AvailabilityBitfield::from_bits(&bits))
}

/// Validator `validator`'s assurance anchored on `anchor` (the parent header hash),
/// signed per GP 11.13.
pub fn sign(
    secret: &SecretKey,
    validator: u16,
    anchor: Hash,
    bitfield: AvailabilityBitfield,
) -> Assurance {
    let signature = secret.sign(&assurance_message(&anchor, &bitfield));
    Assurance {
        anchor,
        bitfield,
        validator_index: validator,
        signature,
    }
}

/// The CE 141 form of an assurance (the index is the sender's identity).
pub fn to_message(a: &Assurance) -> AssuranceMessage {
    AssuranceMessage {
        anchor: a.anchor,
        bitfield: a.bitfield.clone(),
        signature: a.signature,
    }
}

/// Why an assurance was not taken.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AssuranceError {
    /// The sender is not a validator of the set assurances are checked against.
    #[error("{0} is not a validator of the current set")]
    NotAValidator(PeerId),
    /// The bitfield has the wrong number of octets for the spec's cores.
    #[error("bitfield of {got} octets where the spec has {expected}")]
    BitfieldLength {
        /// Octets received.
        got: usize,
        /// `⌈C/8⌉`.
        expected: usize,
    },
    /// The signature does not verify under the sender's key.
    #[error("validator {0}'s assurance signature does not verify")]
    BadSignature(u16),
}

/// What a block author holds of the assurances it received.
pub struct AssurancePool {
    spec: ChainSpec,
    backend: Backend,
    /// The Ed25519 keys of the set assurances are checked against (GP 11.13: the
    /// prior set κ of the block they go into).
    keys: Vec<PublicKey>,
    /// Received, not yet checked: `(validator, assurance)`.
    unchecked: Vec<Assurance>,
    /// Checked and valid, the latest per validator.
    valid: BTreeMap<u16, Assurance>,
}

impl AssurancePool {
    /// An empty pool checking against `keys`, with signature batches on `backend`.
    pub fn new(spec: &ChainSpec, backend: Backend, keys: Vec<PublicKey>) -> Self {
        AssurancePool {
            spec: spec.clone(),
            backend,
            keys,
            unchecked: Vec::new(),
            valid: BTreeMap::new(),
        }
    }

    /// A new validator set: what was held under the old keys is dropped.
    pub fn set_validators(&mut self, keys: Vec<PublicKey>) {
        self.keys = keys;
        self.unchecked.clear();
        self.valid.clear();
    }

    /// Queue an assurance received from `peer`; its signature is checked later, in
    /// a batch ([`Self::check`]).
    pub fn receive(&mut self, peer: &PeerId, msg: AssuranceMessage) -> Result<u16, AssuranceError> {
        let index = self
            .keys
            .iter()
            .position(|k| k == peer.key())
            .and_then(|i| u16::try_from(i).ok())
            .ok_or(AssuranceError::NotAValidator(*peer))?;
        let expected = self.spec.availability_bitfield_bytes();
        if msg.bitfield.0.len() != expected {
            return Err(AssuranceError::BitfieldLength {
                got: msg.bitfield.0.len(),
                expected,
            });
        }
        self.unchecked.push(Assurance {
            anchor: msg.anchor,
            bitfield: msg.bitfield,
            validator_index: index,
            signature: msg.signature,
        });
        Ok(index)
    }

    /// Check every queued signature in one batch; keep the valid ones (the latest
    /// per validator) and return the rejected.
    pub fn check(&mut self) -> Vec<AssuranceError> {
        let queued = std::mem::take(&mut self.unchecked);
        let messages: Vec<Vec<u8>> = queued
            .iter()
            .map(|a| assurance_message(&a.anchor, &a.bitfield))
            .collect();
        let items: Vec<(PublicKey, &[u8], _)> = queued
            .iter()
            .zip(&messages)
            .filter_map(|(a, m)| {
                let key = self.keys.get(usize::from(a.validator_index))?;
                Some((*key, m.as_slice(), a.signature))
            })
            .collect();
        let verdicts = verify_ed25519_batch(self.backend, &items);
        let mut rejected = Vec::new();
        for (a, verdict) in queued.into_iter().zip(verdicts) {
            if verdict.is_ok() {
                self.valid.insert(a.validator_index, a);
            } else {
                rejected.push(AssuranceError::BadSignature(a.validator_index));
            }
        }
        rejected
    }

    /// `E_A` for a block whose parent is `parent`: the checked assurances anchored
    /// on it, ascending by validator index (GP 11.11, 11.12). Call [`Self::check`]
    /// first.
    pub fn for_block(&self, parent: &Hash) -> AssurancesExtrinsic {
        AssurancesExtrinsic(
            self.valid
                .values()
                .filter(|a| a.anchor == *parent)
                .cloned()
                .collect(),
        )
    }
}

/// Register the CE 141 handler: each received assurance is queued in `pool`; one
/// from a peer that is not a validator, or with a malformed bitfield, is refused.
pub fn register(network: &Network, pool: Arc<Mutex<AssurancePool>>) {
    network.register::<AssuranceDistribution, _, _>(move |peer, msg: AssuranceMessage| {
        let pool = pool.clone();
        async move {
            let taken = pool
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .receive(&peer, msg);
            match taken {
                Ok(index) => {
                    debug!(%peer, validator = index, "assurance received");
                    Ok(())
                }
                Err(e) => {
                    warn!(%peer, error = %e, "assurance refused");
                    Err(Refusal(e.to_string()))
                }
            }
        }
    });
}

/// Send `assurance` over CE 141 to each of `authors`; returns the failures.
pub async fn distribute(
    network: &Network,
    authors: &[PeerId],
    assurance: &Assurance,
) -> Vec<(PeerId, RequestError)> {
    let msg = to_message(assurance);
    let mut failed = Vec::new();
    for peer in authors {
        if let Err(e) = network.request::<AssuranceDistribution>(peer, &msg).await {
            failed.push((*peer, e));
        }
    }
    failed
}

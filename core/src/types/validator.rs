//! Validator keys, GP safrole.tex ("Key Rotation"; `K`, the validator key set).

use serde::{Deserialize, Serialize};

use super::bounds::Check;
use super::keys::{BandersnatchPublic, BlsPublic, Ed25519Public, ValidatorMetadata};
use crate::codec::{Decode, Encode};

/// `K ≡ B_336` (GP safrole.tex, validator keys): a validator's key set, Bandersnatch `k_b`, Ed25519
/// `k_e`, BLS `k_l` and metadata `k_m`, encoded as their 336 concatenated octets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode, Check)]
#[serde(deny_unknown_fields)]
pub struct ValidatorData {
    /// `k_b`: the Bandersnatch key.
    pub bandersnatch: BandersnatchPublic,
    /// `k_e`: the Ed25519 key.
    pub ed25519: Ed25519Public,
    /// `k_l`: the BLS key.
    pub bls: BlsPublic,
    /// `k_m`: opaque metadata.
    pub metadata: ValidatorMetadata,
}

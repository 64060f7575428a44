//! Validator keys, GP safrole.tex ("Key Rotation"; `K`, the validator key set).

use serde::{Deserialize, Serialize};

use super::keys::{BandersnatchPublic, BlsPublic, Ed25519Public, ValidatorMetadata};

/// `K ≡ B_336` (GP safrole.tex, validator keys): a validator's key set, Bandersnatch `k_b`, Ed25519
/// `k_e`, BLS `k_l` and metadata `k_m`, encoded as their 336 concatenated octets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
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

codec_struct!(ValidatorData {
    bandersnatch,
    ed25519,
    bls,
    metadata
});

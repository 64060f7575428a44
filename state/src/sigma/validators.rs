//! Validator key sets `κ`, `λ`, `ι` and `γ_P` (GP safrole.tex, "Key Rotation").

use serde::{Deserialize, Serialize};
use tessera_core::codec::{Decode, Encode};
use tessera_core::types::{Ed25519Public, ValidatorData, ValidatorIndex};

/// `⟦K⟧_V`: one key set per validator, in validator-index order. Encoded with no
/// length prefix, since `V` is fixed by the chain spec (GP C.2). JSON is the array.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
#[serde(transparent)]
pub struct ValidatorSet(#[codec(len = spec.validators())] pub Vec<ValidatorData>);

impl ValidatorSet {
    /// The key set of validator `index`, if there is one.
    pub fn get(&self, index: ValidatorIndex) -> Option<&ValidatorData> {
        self.0.get(usize::from(index))
    }

    /// The Ed25519 key of validator `index`, if there is one.
    pub fn ed25519(&self, index: ValidatorIndex) -> Option<&Ed25519Public> {
        self.get(index).map(|k| &k.ed25519)
    }

    /// `Φ(k)` (GP 6.14): the set with every validator whose Ed25519 key is in
    /// `offenders` replaced by the null key (all 336 octets zero).
    pub fn without_offenders(&self, offenders: &[Ed25519Public]) -> ValidatorSet {
        ValidatorSet(
            self.0
                .iter()
                .map(|k| {
                    if offenders.contains(&k.ed25519) {
                        null_key()
                    } else {
                        *k
                    }
                })
                .collect(),
        )
    }
}

/// The null key set `[0]_336` that `Φ` substitutes for an offender (GP 6.14).
pub fn null_key() -> ValidatorData {
    ValidatorData {
        bandersnatch: Default::default(),
        ed25519: Default::default(),
        bls: tessera_core::ByteArray([0; 144]),
        metadata: tessera_core::ByteArray([0; 128]),
    }
}

//! Validator keys from a 32-octet seed, JIP-5 (`polkadot-fellows/JIPs`, `JIP-5.md`).
//!
//! `ed25519_seed = H("jam_val_key_ed25519" ⌢ seed)` and
//! `bandersnatch_seed = H("jam_val_key_bandersnatch" ⌢ seed)`, where `H` is
//! Blake2b-256; the Ed25519 secret is the RFC 8032 key of its seed and the
//! Bandersnatch secret is `ark-vrf`'s `from_seed` of its seed. The development
//! validators use `trivial_seed(i) = LE32(i)` repeated eight times.

use crate::crypto::{bandersnatch, ed25519};
use crate::hash::blake2b_256_concat;

/// The Ed25519 derivation's domain prefix.
pub const ED25519_CONTEXT: &[u8] = b"jam_val_key_ed25519";
/// The Bandersnatch derivation's domain prefix.
pub const BANDERSNATCH_CONTEXT: &[u8] = b"jam_val_key_bandersnatch";

/// `trivial_seed(i)`: `LE32(i)` repeated eight times (for testing only).
pub fn trivial_seed(i: u32) -> [u8; 32] {
    let mut seed = [0u8; 32];
    for chunk in seed.chunks_exact_mut(4) {
        chunk.copy_from_slice(&i.to_le_bytes());
    }
    seed
}

/// `ed25519_seed = H("jam_val_key_ed25519" ⌢ seed)`.
pub fn ed25519_seed(seed: &[u8; 32]) -> [u8; 32] {
    blake2b_256_concat(&[ED25519_CONTEXT, seed]).0
}

/// `bandersnatch_seed = H("jam_val_key_bandersnatch" ⌢ seed)`.
pub fn bandersnatch_seed(seed: &[u8; 32]) -> [u8; 32] {
    blake2b_256_concat(&[BANDERSNATCH_CONTEXT, seed]).0
}

/// The secret keys JIP-5 derives from one seed.
#[derive(Clone, Debug)]
pub struct ValidatorSecrets {
    /// The Ed25519 key (network identity, guarantees, assurances, judgements).
    pub ed25519: ed25519::Keypair,
    /// The Bandersnatch key (block seals, tickets, audit VRFs).
    pub bandersnatch: bandersnatch::Secret,
}

impl ValidatorSecrets {
    /// The keys of `seed`.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        ValidatorSecrets {
            ed25519: ed25519::Keypair::from_seed(ed25519_seed(seed)),
            bandersnatch: bandersnatch::Secret::from_seed(&bandersnatch_seed(seed)),
        }
    }

    /// The keys of development validator `i` (`trivial_seed(i)`).
    pub fn dev(i: u32) -> Self {
        Self::from_seed(&trivial_seed(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// JIP-5's development validators 0..5: (Ed25519 seed, Ed25519 public,
    /// Bandersnatch seed, Bandersnatch public).
    const DEV: [[&str; 4]; 6] = [
        [
            "996542becdf1e78278dc795679c825faca2e9ed2bf101bf3c4a236d3ed79cf59",
            "4418fb8c85bb3985394a8c2756d3643457ce614546202a2f50b093d762499ace",
            "007596986419e027e65499cc87027a236bf4a78b5e8bd7f675759d73e7a9c799",
            "ff71c6c03ff88adb5ed52c9681de1629a54e702fc14729f6b50d2f0a76f185b3",
        ],
        [
            "b81e308145d97464d2bc92d35d227a9e62241a16451af6da5053e309be4f91d7",
            "ad93247bd01307550ec7acd757ce6fb805fcf73db364063265b30a949e90d933",
            "12ca375c9242101c99ad5fafe8997411f112ae10e0e5b7c4589e107c433700ac",
            "dee6d555b82024f1ccf8a1e37e60fa60fd40b1958c4bb3006af78647950e1b91",
        ],
        [
            "0093c8c10a88ebbc99b35b72897a26d259313ee9bad97436a437d2e43aaafa0f",
            "cab2b9ff25c2410fbe9b8a717abb298c716a03983c98ceb4def2087500b8e341",
            "3d71dc0ffd02d90524fda3e4a220e7ec514a258c59457d3077ce4d4f003fd98a",
            "9326edb21e5541717fde24ec085000b28709847b8aab1ac51f84e94b37ca1b66",
        ],
        [
            "69b3a7031787e12bfbdcac1b7a737b3e5a9f9450c37e215f6d3b57730e21001a",
            "f30aa5444688b3cab47697b37d5cac5707bb3289e986b19b17db437206931a8d",
            "107a9148b39a1099eeaee13ac0e3c6b9c256258b51c967747af0f8749398a276",
            "0746846d17469fb2f95ef365efcab9f4e22fa1feb53111c995376be8019981cc",
        ],
        [
            "b4de9ebf8db5428930baa5a98d26679ab2a03eae7c791d582e6b75b7f018d0d4",
            "8b8c5d436f92ecf605421e873a99ec528761eb52a88a2f9a057b3b3003e6f32a",
            "0bb36f5ba8e3ba602781bb714e67182410440ce18aa800c4cb4dd22525b70409",
            "151e5c8fe2b9d8a606966a79edd2f9e5db47e83947ce368ccba53bf6ba20a40b",
        ],
        [
            "4a6482f8f479e3ba2b845f8cef284f4b3208ba3241ed82caa1b5ce9fc6281730",
            "ab0084d01534b31c1dd87c81645fd762482a90027754041ca1b56133d0466c06",
            "75e73b8364bf4753c5802021c6aa6548cddb63fe668e3cacf7b48cdb6824bb09",
            "2105650944fcd101621fd5bb3124c9fd191d114b7ad936c1d79d734f9f21392e",
        ],
    ];

    #[test]
    fn trivial_seeds_repeat_le32() {
        assert_eq!(trivial_seed(0), [0u8; 32]);
        assert_eq!(&trivial_seed(1)[..8], &[1, 0, 0, 0, 1, 0, 0, 0]);
        assert_eq!(&trivial_seed(0x0403_0201)[28..], &[1, 2, 3, 4]);
    }

    #[test]
    fn dev_validators_match_jip5() {
        for (i, [ed_seed, ed_pub, bs_seed, bs_pub]) in DEV.iter().enumerate() {
            let seed = trivial_seed(i as u32);
            assert_eq!(hex::encode(ed25519_seed(&seed)), *ed_seed, "validator {i}");
            assert_eq!(
                hex::encode(bandersnatch_seed(&seed)),
                *bs_seed,
                "validator {i}"
            );
            let keys = ValidatorSecrets::dev(i as u32);
            assert_eq!(
                hex::encode(keys.ed25519.public().0 .0),
                *ed_pub,
                "validator {i}"
            );
            assert_eq!(
                hex::encode(keys.bandersnatch.public().0),
                *bs_pub,
                "validator {i}"
            );
        }
    }
}

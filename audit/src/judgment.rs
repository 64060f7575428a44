//! Judgments, GP v0.7.2 §17.3 (eq:judgments), as JAMNP-S CE 145 carries them:
//! `𝕍_{κ_v,e}⟨X_{e_n(w)} ⌢ H(w)⟩` with `X_⊤ = $jam_valid`, `X_⊥ = $jam_invalid`
//! (core's [`contexts::judgment_message`], the same message the disputes
//! extrinsic's judgments sign, GP 10.3).

use tessera_core::crypto::contexts;
use tessera_core::crypto::ed25519::Keypair;
use tessera_core::types::ValidatorIndex;
use tessera_core::Hash;
use tessera_net::messages::JudgmentMessage;

/// The message a judgment signs (eq:judgments).
pub fn message(judgment: &JudgmentMessage) -> Vec<u8> {
    contexts::judgment_message(judgment.valid, &judgment.report_hash)
}

/// Our judgment on the report `report_hash`, as validator `validator_index` of the
/// set of epoch `epoch_index` (CE 145).
pub fn sign(
    key: &Keypair,
    epoch_index: u32,
    validator_index: ValidatorIndex,
    valid: bool,
    report_hash: Hash,
) -> JudgmentMessage {
    let signature = key.sign(&contexts::judgment_message(valid, &report_hash));
    JudgmentMessage {
        epoch_index,
        validator_index,
        valid,
        report_hash,
        signature,
    }
}

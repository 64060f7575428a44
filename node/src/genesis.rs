//! The local testnet's genesis, built from scratch (no `../shared` files): the
//! state σ at slot 0 of GP v0.7.2 §4.2 and its header.
//!
//! - `κ = λ = ι = γ_P` (GP 6.3): the given validators' keys, in order. Their
//!   Bandersnatch and Ed25519 keys are the validators' own; the BLS key and the
//!   metadata (GP 6.8) are zero: nothing in Tessera reads them yet.
//! - `γ_Z = O([k_b | k ← γ_P])` (GP 6.13), the ring root Safrole computes on
//!   rotation; `γ_S = F(η_2, κ)` (GP 6.24, 6.26), the fallback keys, as Safrole
//!   draws them for an epoch without tickets; `γ_A = []`.
//! - `η`: `η_i = H("tessera-testnet-genesis-entropy" ⌢ E_1(i))` for `i ∈ 0..4`
//!   ([`GENESIS_ENTROPY_CONTEXT`]).
//! - `τ = 0`; `ψ`, `ρ`, `ω`, `ξ`, `θ`, `π` empty (of the shapes the spec fixes).
//! - `α[c] = [p_a]`, `φ[c] = [p_a; Q]` for every core `c` (GP 8.1), `p_a` the
//!   testnet authorizer's hash ([`crate::testnet_service::authorizer_hash`]).
//! - `χ` (GP 9.9): the testnet service (id 0) is manager, assigner of every core,
//!   delegator and registrar; no always-accumulate services. Its code never calls
//!   the privileged host functions, so this only fills the fields GP 12 reads.
//! - `δ` (GP 9): the testnet service ([`crate::testnet_service`]) with its code
//!   preimage and the authorizer's preimage in `a_p`, each with the lookup entry
//!   `a_l[(h, |p|)] = [0]` (available since slot 0, GP 9.5–9.7), so the
//!   historical lookup `Λ` finds both at any slot; a balance of `2^62`, minimum
//!   item and memo gas 100. It also solicits one preimage,
//!   [`SOLICITED_PREIMAGE`]: `a_l[(H(p), |p|)] = []` with `p` absent from `a_p`,
//!   so that a testnet can take a preimage through JIP-2 `submitPreimage`, CE
//!   142/143 and `E_P` (GP §12.4). Its lookup entry counts in the footprint like
//!   any other (GP 9.8: two items `a_i` and `81 + |p|` octets `a_o`).
//! - `β_H = [(H(genesis header), M_R([]) = 0, 0, [])]` (GP 7.2): the genesis block
//!   is the first recent block, so block 1's `H_P` is checked against it (GP 5.2)
//!   and packages can be anchored on it; its state root is filled in by block 1's
//!   `H_R` (GP 7.5). `β_B` is the empty belt.
//!
//! [`rotating_testnet_genesis`] differs in `γ_P` only: the validators in reverse
//! order (and `γ_Z`, `H_E` with it), so that `κ` changes at the first two epoch
//! changes. [`changing_testnet_genesis`] differs in `γ_P` only too: the last
//! validator replaced by a newcomer, so that `κ`'s keys change at the first two
//! epoch changes (the newcomer in, then out again).
//!
//! The header (GP 5.1): `H_P = 0`, `H_R = 0`, `H_X` the hash of the empty
//! extrinsic (GP 5.4), `H_T = 0`, `H_E = (η_0, η_1, [(k_b, k_e) | k ← γ_P])` as an
//! epoch's first block would carry (GP 6.27), no `H_W`, `H_I = 0`, `H_O = []`, and
//! zero `H_V`, `H_S` (nobody seals the genesis block).

use std::collections::BTreeMap;
use std::sync::Arc;

use tessera_core::crypto::jip5::ValidatorSecrets;
use tessera_core::crypto::ring_cache;
use tessera_core::hash::{blake2b_256, Hash};
use tessera_core::merkle::mmr::Mmr;
use tessera_core::spec::ChainSpec;
use tessera_core::types::{
    BandersnatchVrfSignature, EpochMark, EpochMarkValidator, Extrinsic, Header, ServiceId,
    TimeSlot, ValidatorData,
};
use tessera_core::ByteArray;
use tessera_state::refine::HistoricalLookup;
use tessera_state::sigma::accounts::{ServiceAccount, ServiceInfo};
use tessera_state::sigma::entropy::EntropyBuffer;
use tessera_state::sigma::judgments::DisputesRecords;
use tessera_state::sigma::pending::AvailabilityAssignments;
use tessera_state::sigma::validators::ValidatorSet;
use tessera_state::sigma::{Gamma, Statistics};
use tessera_state::stf::accumulate::PrivilegesRecord;
use tessera_state::stf::authorizations::{AuthPools, AuthQueues};
use tessera_state::stf::header::extrinsic_hash;
use tessera_state::stf::history::{BlockInfo, RecentBlocks};
use tessera_state::stf::safrole::sealing::{fallback_keys, TicketsOrKeys};
use tessera_state::stf::statistics::{CoresStatistics, ValidatorActivityRecord};
use tessera_state::ChainState;

use crate::testnet_service::{self, SERVICE_ID};

/// The string the genesis entropy is derived from: `η_i = H(this ⌢ E_1(i))`.
pub const GENESIS_ENTROPY_CONTEXT: &[u8] = b"tessera-testnet-genesis-entropy";

/// The testnet service's balance at genesis.
pub const SERVICE_BALANCE: u64 = 1 << 62;

/// The testnet service's minimum gas per accumulated item and per memo (`a_g`,
/// `a_m`).
pub const SERVICE_MIN_GAS: u64 = 100;

/// The preimage the testnet service solicits at genesis (its lookup entry
/// `a_l[(H(p), |p|)] = []`, GP §9): nothing on chain provides it, so it waits for
/// someone to submit it (JIP-2 `submitPreimage`) and a block author to put it in
/// `E_P` (GP §12.4), after which the entry reads `[τ']` and `a_p[H(p)] = p`.
pub const SOLICITED_PREIMAGE: &[u8] = b"tessera testnet: a preimage requested at genesis";

/// Why a genesis could not be built.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GenesisError {
    /// The spec's `V` validators are needed, one key set each (GP 6.3).
    #[error("the spec needs {expected} validators, {got} given")]
    ValidatorCount {
        /// `V`.
        expected: usize,
        /// The number given.
        got: usize,
    },
    /// The ring root of `γ_P` could not be computed (GP 6.13).
    #[error("ring root of the genesis validators: {0}")]
    Ring(String),
}

/// The key set `(k_b, k_e, k_BLS, k_M)` of a validator (GP 6.8), with zero BLS key
/// and metadata.
pub fn validator_data(v: &ValidatorSecrets) -> ValidatorData {
    ValidatorData {
        bandersnatch: v.bandersnatch.public(),
        ed25519: v.ed25519.public(),
        bls: ByteArray([0; 144]),
        metadata: ByteArray([0; 128]),
    }
}

/// The genesis entropy `η` ([`GENESIS_ENTROPY_CONTEXT`]).
pub fn genesis_entropy() -> EntropyBuffer {
    EntropyBuffer(std::array::from_fn(|i| {
        let mut input = GENESIS_ENTROPY_CONTEXT.to_vec();
        input.push(u8::try_from(i).unwrap_or(0));
        blake2b_256(&input)
    }))
}

/// The genesis header and state of a local testnet of `validators` (in
/// validator-index order; `V` of them), as the module docs describe.
pub fn testnet_genesis(
    spec: &ChainSpec,
    validators: &[ValidatorSecrets],
) -> Result<(Header, ChainState), GenesisError> {
    genesis(spec, validators, Pending::Same)
}

/// [`testnet_genesis`] with the next epoch's validators `γ_P` in reverse order:
/// at the first epoch change `κ′ = γ_P` (GP 6.13) puts every validator at
/// another index (`V − 1 − i`), and at the second `γ_P′ = Φ(ι)` brings the
/// first order back. `tessera testnet --rotate-validators` runs on it, so that
/// every duty follows a changing `κ`.
pub fn rotating_testnet_genesis(
    spec: &ChainSpec,
    validators: &[ValidatorSecrets],
) -> Result<(Header, ChainState), GenesisError> {
    genesis(spec, validators, Pending::Reversed)
}

/// [`testnet_genesis`] with the last validator of the next epoch's set `γ_P`
/// replaced by `newcomer`: at the first epoch change `κ′ = γ_P` (GP 6.13) holds
/// the newcomer's keys in place of the last validator's, and at the second
/// `γ_P′ = Φ(ι)` brings the first set back. `tessera testnet
/// --change-validators` runs on it, so that GRANDPA hands off to a new voter
/// set twice and a validator leaves and joins `κ`.
pub fn changing_testnet_genesis(
    spec: &ChainSpec,
    validators: &[ValidatorSecrets],
    newcomer: &ValidatorSecrets,
) -> Result<(Header, ChainState), GenesisError> {
    genesis(
        spec,
        validators,
        Pending::LastReplaced(Box::new(validator_data(newcomer))),
    )
}

/// The genesis `γ_P` as it relates to `κ`.
enum Pending {
    Same,
    Reversed,
    LastReplaced(Box<ValidatorData>),
}

fn genesis(
    spec: &ChainSpec,
    validators: &[ValidatorSecrets],
    pending: Pending,
) -> Result<(Header, ChainState), GenesisError> {
    let v = spec.validators();
    if validators.len() != v {
        return Err(GenesisError::ValidatorCount {
            expected: v,
            got: validators.len(),
        });
    }
    let c = spec.cores();
    let e = spec.epoch_length as usize;
    let keys = ValidatorSet(validators.iter().map(validator_data).collect());
    let pending = {
        let mut set = keys.clone();
        match pending {
            Pending::Same => {}
            Pending::Reversed => set.0.reverse(),
            Pending::LastReplaced(newcomer) => {
                if let Some(last) = set.0.last_mut() {
                    *last = *newcomer;
                }
            }
        }
        set
    };
    let bandersnatch: Vec<_> = pending.0.iter().map(|k| k.bandersnatch).collect();
    let ring_root =
        ring_cache::root(v, &bandersnatch).map_err(|err| GenesisError::Ring(err.to_string()))?;
    let eta = genesis_entropy();
    let seal_keys = TicketsOrKeys::Keys(fallback_keys(&eta.0[2], &keys, spec.epoch_length));

    let header = Header {
        parent: Hash::ZERO,
        parent_state_root: Hash::ZERO,
        extrinsic_hash: extrinsic_hash(&Extrinsic::default()),
        slot: 0,
        epoch_mark: Some(EpochMark {
            entropy: eta.0[0],
            tickets_entropy: eta.0[1],
            validators: pending
                .0
                .iter()
                .map(|k| EpochMarkValidator {
                    bandersnatch: k.bandersnatch,
                    ed25519: k.ed25519,
                })
                .collect(),
        }),
        tickets_mark: None,
        author_index: 0,
        entropy_source: BandersnatchVrfSignature::default(),
        offenders_mark: Vec::new(),
        seal: BandersnatchVrfSignature::default(),
    };

    let auth = testnet_service::authorizer_hash();
    let state = ChainState {
        alpha: AuthPools(vec![vec![auth]; c]),
        phi: AuthQueues(vec![vec![auth; spec.auth_queue_size as usize]; c]),
        beta: RecentBlocks {
            history: vec![BlockInfo {
                header_hash: header.hash(),
                beefy_root: Mmr::default().super_peak(tessera_core::hash::keccak_256),
                state_root: Hash::ZERO,
                reported: Vec::new(),
            }],
            mmr: Mmr::default(),
        },
        gamma: Gamma {
            pending,
            ring_root,
            seal_keys,
            tickets: Vec::new(),
        },
        psi: DisputesRecords::default(),
        eta,
        iota: keys.clone(),
        kappa: keys.clone(),
        lambda: keys,
        rho: AvailabilityAssignments(vec![None; c]),
        tau: 0,
        chi: PrivilegesRecord {
            bless: SERVICE_ID,
            assign: vec![SERVICE_ID; c],
            designate: SERVICE_ID,
            register: SERVICE_ID,
            always_acc: Vec::new(),
        },
        pi: Statistics {
            current: vec![ValidatorActivityRecord::default(); v],
            last: vec![ValidatorActivityRecord::default(); v],
            cores: CoresStatistics(vec![Default::default(); c]),
            services: Vec::new(),
        },
        omega: vec![Vec::new(); e],
        xi: vec![Vec::new(); e],
        theta: Vec::new(),
        delta: BTreeMap::from([(SERVICE_ID, Arc::new(service_account()))]),
    };
    Ok((header, state))
}

/// The testnet service's account at genesis: code and authorizer preimages, each
/// available since slot 0, and the request for [`SOLICITED_PREIMAGE`].
pub fn service_account() -> ServiceAccount {
    let mut account = ServiceAccount {
        info: ServiceInfo {
            code_hash: testnet_service::service_code_hash(),
            balance: SERVICE_BALANCE,
            min_item_gas: SERVICE_MIN_GAS,
            min_memo_gas: SERVICE_MIN_GAS,
            ..Default::default()
        },
        ..Default::default()
    };
    for preimage in [
        testnet_service::service_preimage(),
        testnet_service::authorizer_preimage(),
    ] {
        let h = blake2b_256(&preimage);
        let len = u32::try_from(preimage.len()).unwrap_or(u32::MAX);
        account.set_lookup(SERVICE_ID, &h, len, &[0]);
        account.set_preimage(SERVICE_ID, &h, preimage);
    }
    // `add_lookup` keeps `a_i` and `a_o` in step (GP 9.8).
    let solicited = u32::try_from(SOLICITED_PREIMAGE.len()).unwrap_or(u32::MAX);
    account.add_lookup(SERVICE_ID, &blake2b_256(SOLICITED_PREIMAGE), solicited);
    account
}

/// `Λ(δ[s], t, h)` (GP 9.7) over a chain state: the preimage `p = a_p[h]` if the
/// lookup entry `a_l[(h, |p|)]` says it was available at slot `t` — `[x]`: `x ≤
/// t`; `[x, y]`: `x ≤ t < y`; `[x, y, z]`: `x ≤ t < y ∨ z ≤ t`.
#[derive(Clone, Copy, Debug)]
pub struct StateLookup<'a>(pub &'a ChainState);

impl HistoricalLookup for StateLookup<'_> {
    fn historical_lookup(
        &self,
        service: ServiceId,
        slot: TimeSlot,
        hash: &Hash,
    ) -> Option<Vec<u8>> {
        let account = self.0.delta.get(&service)?;
        let preimage = account.preimage(service, hash)?;
        let len = u32::try_from(preimage.len()).ok()?;
        let slots = account.lookup(service, hash, len)?;
        let available = match slots.as_slice() {
            [x] => *x <= slot,
            [x, y] => *x <= slot && slot < *y,
            [x, y, z] => (*x <= slot && slot < *y) || *z <= slot,
            _ => false,
        };
        available.then(|| preimage.to_vec())
    }
}

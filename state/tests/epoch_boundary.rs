//! The first block of an epoch through the full block import Υ, with assurances,
//! guarantees and disputes in the same block, signed with the tiny chain's JIP-5
//! keys. Each test states the GP v0.7.2 rule that decides which validator set a
//! component uses there, and derives the expected posterior from that rule (never
//! from Tessera's own output):
//!
//! - assurances are signed by the prior set κ (GP 11.13, eq:assurancesig);
//! - guarantees by `M = (P(η'_2, τ'), Φ(κ'))` for this rotation and `M*`, which
//!   is `(P(η'_2, τ'−R), Φ(κ'))` within the epoch and `(P(η'_3, τ'−R), Φ(λ'))`
//!   across its start (GP 11.19–11.22, 11.26, eq:priorassignments, eq:guarantorsig);
//! - judgments by κ or λ by the verdict's age against the prior τ (GP 10.3), and
//!   the offenders they make are nulled out of the incoming `γ'_P = Φ(ι)` in the
//!   same block (GP 6.13–6.14);
//! - the validator statistics roll over when `⌊τ'/E⌋ ≠ ⌊τ/E⌋`, credit
//!   assurances by index and guarantees by `κ'_v ∈ R` (GP 13.3–13.5).
//!
//! The pre-state is built by hand: a chain at slot `τ` whose sets κ, γ_P, λ and ι
//! are four different arrangements of eight JIP-5 validators, so that a rule
//! taking keys from the wrong set fails.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use tessera_core::bytes::{ByteArray, Bytes};
use tessera_core::codec::Encode;
use tessera_core::crypto::{bandersnatch, contexts, ed25519};
use tessera_core::hash::{blake2b_256, Hash};
use tessera_core::merkle::mmr::Mmr;
use tessera_core::shuffle::shuffle_by_entropy;
use tessera_core::spec::ChainSpec;
use tessera_core::types::{
    Assurance, AssurancesExtrinsic, AvailabilityBitfield, AvailabilitySpec, Block, Culprit,
    DisputesExtrinsic, EpochMark, EpochMarkValidator, Extrinsic, Guarantee, GuaranteesExtrinsic,
    Header, Judgement, RefineContext, RefineLoad, SegmentRootLookup, TimeSlot, ValidatorData,
    ValidatorSignature, Verdict, WorkExecResult, WorkReport, WorkResult,
};
use tessera_state::sigma::accounts::ServiceAccount;
use tessera_state::sigma::accounts::ServiceInfo;
use tessera_state::sigma::entropy::EntropyBuffer;
use tessera_state::sigma::judgments::DisputesRecords;
use tessera_state::sigma::pending::{AvailabilityAssignments, PendingReport};
use tessera_state::sigma::validators::ValidatorSet;
use tessera_state::sigma::{ChainState, Gamma, Statistics};
use tessera_state::stf::accumulate::PrivilegesRecord;
use tessera_state::stf::assurances::AssurancesError;
use tessera_state::stf::authorizations::{AuthPools, AuthQueues};
use tessera_state::stf::disputes::DisputesError;
use tessera_state::stf::history::{BlockInfo, RecentBlocks};
use tessera_state::stf::reports::ReportsError;
use tessera_state::stf::safrole::sealing::TicketsOrKeys;
use tessera_state::stf::statistics::{CoresStatistics, ValidatorActivityRecord};
use tessera_state::{import_block, BlockError};

/// One JIP-5 validator: its keys and secrets.
struct Validator {
    ed: ed25519::Keypair,
    band: bandersnatch::Secret,
    data: ValidatorData,
}

/// JIP-5 trivial seeds: seed `i` is `LE32(i)` eight times; the Ed25519 seed is
/// `blake2b-256("jam_val_key_ed25519" ⌢ seed)`, the Bandersnatch one
/// `blake2b-256("jam_val_key_bandersnatch" ⌢ seed)`.
fn jip5(i: u32) -> Validator {
    let seed: Vec<u8> = (0..8).flat_map(|_| i.to_le_bytes()).collect();
    let ed_seed = blake2b_256(&[b"jam_val_key_ed25519".as_slice(), &seed].concat());
    let band_seed = blake2b_256(&[b"jam_val_key_bandersnatch".as_slice(), &seed].concat());
    let ed = ed25519::Keypair::from_seed(ed_seed.0);
    let band = bandersnatch::Secret::from_seed(&band_seed.0);
    let data = ValidatorData {
        bandersnatch: band.public(),
        ed25519: ed.public(),
        bls: ByteArray([u8::try_from(i).unwrap_or(0); 144]),
        metadata: ByteArray([0; 128]),
    };
    Validator { ed, band, data }
}

/// The eight validators the sets are drawn from.
struct Pool(Vec<Validator>);

impl Pool {
    fn new() -> Pool {
        Pool((0..8).map(jip5).collect())
    }

    fn set(&self, members: [usize; 6]) -> ValidatorSet {
        ValidatorSet(members.iter().map(|&m| self.0[m].data).collect())
    }

    /// The validator whose Ed25519 key is `key`.
    fn by_ed(&self, key: &ed25519::PublicKey) -> &Validator {
        self.0
            .iter()
            .find(|v| v.ed.public() == *key)
            .expect("a pool key")
    }

    /// The validator whose Bandersnatch key is `key`.
    fn by_band(&self, key: &bandersnatch::PublicKey) -> &Validator {
        self.0
            .iter()
            .find(|v| v.band.public() == *key)
            .expect("a pool key")
    }
}

// κ, γ_P, λ and ι as members of the pool: four different arrangements.
const KAPPA: [usize; 6] = [0, 1, 2, 3, 4, 5];
const GAMMA_P: [usize; 6] = [6, 7, 3, 2, 5, 4];
const LAMBDA: [usize; 6] = [7, 6, 5, 4, 3, 2];
const IOTA: [usize; 6] = [3, 2, 1, 0, 7, 6];

const PARENT: Hash = ByteArray([0x11; 32]);
const PARENT_BEEFY: Hash = ByteArray([0x22; 32]);
const SERVICE: u32 = 7;
const CODE: Hash = ByteArray([0xc0; 32]);
const AUTHORIZER: Hash = ByteArray([0xa0; 32]);

fn eta() -> [Hash; 4] {
    [
        ByteArray([0xe0; 32]),
        ByteArray([0xe1; 32]),
        ByteArray([0xe2; 32]),
        ByteArray([0xe3; 32]),
    ]
}

/// A work report on `core` anchored on the parent block, whose state root the
/// next header gives (β†, GP 7.5).
fn report(core: u16, tag: u8, parent_state_root: Hash) -> WorkReport {
    WorkReport {
        package_spec: AvailabilitySpec {
            hash: ByteArray([tag; 32]),
            length: 100,
            erasure_root: ByteArray([tag ^ 0xff; 32]),
            exports_root: ByteArray([tag ^ 0x0f; 32]),
            exports_count: 0,
        },
        context: RefineContext {
            anchor: PARENT,
            state_root: parent_state_root,
            beefy_root: PARENT_BEEFY,
            lookup_anchor: PARENT,
            lookup_anchor_slot: 11,
            prerequisites: Vec::new(),
        },
        core_index: core,
        authorizer_hash: AUTHORIZER,
        auth_gas_used: 0,
        auth_output: Bytes(Vec::new()),
        segment_root_lookup: SegmentRootLookup(Vec::new()),
        results: vec![WorkResult {
            service_id: SERVICE,
            code_hash: CODE,
            payload_hash: ByteArray([tag; 32]),
            accumulate_gas: 1_000,
            result: WorkExecResult::Ok(Bytes(vec![tag])),
            refine_load: RefineLoad::default(),
        }],
    }
}

/// The pending report of core 0, reported at slot 10 (it times out at 15).
fn pending_report() -> WorkReport {
    report(0, 0x50, ByteArray([0x33; 32]))
}

/// A chain at slot `tau` with the four sets, a report pending on core 0, one
/// service, and non-zero validator statistics.
fn pre_state(spec: &ChainSpec, pool: &Pool, tau: TimeSlot) -> ChainState {
    let v = spec.validators();
    let c = spec.cores();
    let e = spec.epoch_length as usize;
    let kappa = pool.set(KAPPA);
    let account = ServiceAccount {
        info: ServiceInfo {
            code_hash: CODE,
            balance: 1 << 40,
            min_item_gas: 10,
            min_memo_gas: 10,
            ..Default::default()
        },
        ..Default::default()
    };
    let current: Vec<ValidatorActivityRecord> = (0..v)
        .map(|i| ValidatorActivityRecord {
            blocks: 10 + i as u32,
            guarantees: 20 + i as u32,
            assurances: 30 + i as u32,
            ..Default::default()
        })
        .collect();
    ChainState {
        alpha: AuthPools(vec![vec![AUTHORIZER]; c]),
        phi: AuthQueues(vec![vec![AUTHORIZER; spec.auth_queue_size as usize]; c]),
        beta: RecentBlocks {
            history: vec![BlockInfo {
                header_hash: PARENT,
                beefy_root: PARENT_BEEFY,
                state_root: Hash::default(),
                reported: Vec::new(),
            }],
            mmr: Mmr::default(),
        },
        gamma: Gamma {
            pending: pool.set(GAMMA_P),
            ring_root: ByteArray([0; 144]),
            seal_keys: TicketsOrKeys::Keys(vec![kappa.0[0].bandersnatch; e]),
            tickets: Vec::new(),
        },
        psi: DisputesRecords::default(),
        eta: EntropyBuffer(eta()),
        iota: pool.set(IOTA),
        kappa,
        lambda: pool.set(LAMBDA),
        rho: AvailabilityAssignments(
            (0..c)
                .map(|core| {
                    (core == 0).then(|| PendingReport {
                        report: pending_report(),
                        timeout: 10,
                    })
                })
                .collect(),
        ),
        tau,
        chi: PrivilegesRecord {
            bless: 0,
            assign: vec![0; c],
            designate: 0,
            register: 0,
            always_acc: Vec::new(),
        },
        pi: Statistics {
            current,
            last: vec![ValidatorActivityRecord::default(); v],
            cores: CoresStatistics(vec![Default::default(); c]),
            services: Vec::new(),
        },
        omega: vec![Vec::new(); e],
        xi: vec![Vec::new(); e],
        theta: Vec::new(),
        delta: BTreeMap::from([(SERVICE, Arc::new(account))]),
    }
}

/// `Φ(k)` (GP 6.14): offenders' keys replaced by the null key.
fn phi(set: &ValidatorSet, offenders: &[ed25519::PublicKey]) -> ValidatorSet {
    ValidatorSet(
        set.0
            .iter()
            .map(|k| {
                if offenders.contains(&k.ed25519) {
                    ValidatorData {
                        bandersnatch: ByteArray([0; 32]),
                        ed25519: ed25519::PublicKey::from([0; 32]),
                        bls: ByteArray([0; 144]),
                        metadata: ByteArray([0; 128]),
                    }
                } else {
                    *k
                }
            })
            .collect(),
    )
}

/// `P(e, t)` (GP 11.20): `R(F([⌊C·i/V⌋ | i ∈ N_V], e), ⌊(t mod E)/R⌋)`.
fn cores_of(spec: &ChainSpec, entropy: &Hash, t: TimeSlot) -> Vec<u16> {
    let (c, v) = (u32::from(spec.core_count), u32::from(spec.validator_count));
    let spread: Vec<u32> = (0..v).map(|i| c * i / v).collect();
    let n = (t % spec.epoch_length) / spec.rotation_period;
    shuffle_by_entropy(&spread, entropy)
        .into_iter()
        .map(|x| u16::try_from((x + n) % c).unwrap_or(u16::MAX))
        .collect()
}

/// Everything the header needs besides the extrinsic, for a block at `slot`
/// that starts a new epoch: the posterior η', κ' and γ'_P that GP 6.13–6.14 and
/// 6.23 give, from which the seal key (GP 6.24, 6.26) and `H_E` (GP 6.27).
struct EpochChange {
    eta: [Hash; 4],
    kappa: ValidatorSet,
    lambda: ValidatorSet,
    gamma_p: ValidatorSet,
}

fn epoch_change(pre: &ChainState, offenders: &[ed25519::PublicKey]) -> EpochChange {
    let [e0, e1, e2, _] = pre.eta.0;
    EpochChange {
        // η'_0 is only known once H_V is; the seal does not need it.
        eta: [Hash::default(), e0, e1, e2],
        kappa: pre.gamma.pending.clone(),
        lambda: pre.kappa.clone(),
        gamma_p: phi(&pre.iota, offenders),
    }
}

/// Seal a block at `slot` on `pre` with extrinsic `e`, by the fallback key of the
/// slot (GP 6.24: no tickets accumulated, so `γ'_S = F(η'_2, κ')`).
fn seal(
    spec: &ChainSpec,
    pool: &Pool,
    pre: &ChainState,
    change: &EpochChange,
    slot: TimeSlot,
    extrinsic: Extrinsic,
    offenders_mark: Vec<ed25519::PublicKey>,
) -> Block {
    // GP 6.26: F(r, k)[i] = k[E_4⁻¹(H(r ⌢ E_4(i))_{..4}) mod |k|]_b.
    let i = slot % spec.epoch_length;
    let digest = blake2b_256(&[&change.eta[2][..], &i.to_le_bytes()].concat());
    let word = u32::from_le_bytes([digest[0], digest[1], digest[2], digest[3]]);
    let author_index = word as usize % change.kappa.0.len();
    let author = pool.by_band(&change.kappa.0[author_index].bandersnatch);
    // GP 6.16–6.17: H_S over X_F ⌢ η'_3, H_V over X_E ⌢ Y(H_S).
    let seal_input = contexts::fallback_seal_vrf_input(&change.eta[3]);
    let y = author.band.vrf_output(&seal_input).expect("vrf output");
    let entropy_source =
        bandersnatch::sign(&author.band, &contexts::entropy_vrf_input(&y), &[]).expect("H_V");
    let mut header = Header {
        parent: PARENT,
        parent_state_root: pre.root(),
        extrinsic_hash: tessera_state::stf::header::extrinsic_hash(&extrinsic),
        slot,
        // GP 6.27: H_E = (η_0, η_1, [(k_b, k_e) | k ← γ'_P]).
        epoch_mark: Some(EpochMark {
            entropy: pre.eta.0[0],
            tickets_entropy: pre.eta.0[1],
            validators: change
                .gamma_p
                .0
                .iter()
                .map(|k| EpochMarkValidator {
                    bandersnatch: k.bandersnatch,
                    ed25519: k.ed25519,
                })
                .collect(),
        }),
        tickets_mark: None,
        author_index: u16::try_from(author_index).unwrap_or(u16::MAX),
        entropy_source,
        offenders_mark,
        seal: ByteArray([0; 96]),
    };
    header.seal =
        bandersnatch::sign(&author.band, &seal_input, &header.encode_unsigned()).expect("H_S");
    Block { header, extrinsic }
}

/// Assurances by `who` (indices), each for core 0, signed by `keys[who]` with
/// `X_A ⌢ H(E(H_P, a_f))` (GP 11.13).
fn assurances(pool: &Pool, keys: &ValidatorSet, who: &[u16]) -> AssurancesExtrinsic {
    let bitfield = AvailabilityBitfield(Bytes(vec![0b01]));
    let mut payload = PARENT.encode();
    bitfield.encode_to(&mut payload);
    let message = [b"jam_available".as_slice(), &blake2b_256(&payload)[..]].concat();
    AssurancesExtrinsic(
        who.iter()
            .map(|&v| Assurance {
                anchor: PARENT,
                bitfield: bitfield.clone(),
                validator_index: v,
                signature: pool
                    .by_ed(&keys.0[usize::from(v)].ed25519)
                    .ed
                    .sign(&message),
            })
            .collect(),
    )
}

/// A guarantee of `r` made at slot `t` by the first two validators that `cores`
/// assigns to the report's core, signed with their keys in `keys`
/// (`X_G ⌢ H(r)`, GP 11.26).
fn guarantee(
    pool: &Pool,
    r: WorkReport,
    t: TimeSlot,
    cores: &[u16],
    keys: &ValidatorSet,
) -> Guarantee {
    let message = [b"jam_guarantee".as_slice(), &r.hash()[..]].concat();
    let signatures = cores
        .iter()
        .enumerate()
        .filter(|(_, &c)| c == r.core_index)
        .take(2)
        .map(|(v, _)| ValidatorSignature {
            validator_index: u16::try_from(v).unwrap_or(u16::MAX),
            signature: pool.by_ed(&keys.0[v].ed25519).ed.sign(&message),
        })
        .collect();
    Guarantee {
        report: r,
        slot: t,
        signatures,
    }
}

fn guarantors(g: &Guarantee) -> Vec<usize> {
    g.signatures
        .iter()
        .map(|s| usize::from(s.validator_index))
        .collect()
}

/// GP 13.3–13.5 by hand for a block that starts an epoch: the accumulator
/// restarts (π'_L = π_V), the author gets its block, assurers are credited by
/// index and guarantors by `κ'_v ∈ R`.
fn expected_validator_stats(
    pre: &ChainState,
    kappa_post: &ValidatorSet,
    author: usize,
    assurers: &[u16],
    reporters: &BTreeSet<ed25519::PublicKey>,
) -> (Vec<ValidatorActivityRecord>, Vec<ValidatorActivityRecord>) {
    let current = kappa_post
        .0
        .iter()
        .enumerate()
        .map(|(v, k)| ValidatorActivityRecord {
            blocks: u32::from(v == author),
            guarantees: u32::from(reporters.contains(&k.ed25519)),
            assurances: u32::from(assurers.iter().any(|&a| usize::from(a) == v)),
            ..Default::default()
        })
        .collect();
    (current, pre.pi.current.clone())
}

/// A block at `slot`, the first of a later epoch, on a chain at slot 11: five
/// assurances (a supermajority) make core 0's report available, a guarantee of
/// this rotation refills core 0 and one made at `previous_slot` (the previous
/// rotation) fills core 1.
struct Scenario {
    spec: ChainSpec,
    pool: Pool,
    pre: ChainState,
    change: EpochChange,
    assurers: Vec<u16>,
    current: Guarantee,
    previous: Guarantee,
}

fn scenario(slot: TimeSlot, previous_slot: TimeSlot) -> Scenario {
    let spec = ChainSpec::tiny();
    let pool = Pool::new();
    let pre = pre_state(&spec, &pool, 11);
    let change = epoch_change(&pre, &[]);
    let h_r = pre.root();
    // GP 11.21: M = (P(η'_2, τ'), Φ(κ')).
    let m = cores_of(&spec, &change.eta[2], slot);
    let current = guarantee(&pool, report(0, 0x60, h_r), slot, &m, &change.kappa);
    // GP eq:priorassignments: M* from (η'_2, κ') when τ' − R is in τ''s epoch,
    // else from (η'_3, λ').
    let back = slot - spec.rotation_period;
    let (entropy, keys) = if back / spec.epoch_length == slot / spec.epoch_length {
        (change.eta[2], &change.kappa)
    } else {
        (change.eta[3], &change.lambda)
    };
    let m_star = cores_of(&spec, &entropy, back);
    let previous = guarantee(&pool, report(1, 0x61, h_r), previous_slot, &m_star, keys);
    Scenario {
        spec,
        pool,
        pre,
        change,
        assurers: vec![0, 1, 2, 3, 4],
        current,
        previous,
    }
}

impl Scenario {
    fn block(&self, assurance_keys: &ValidatorSet, slot: TimeSlot) -> Block {
        let extrinsic = Extrinsic {
            assurances: assurances(&self.pool, assurance_keys, &self.assurers),
            guarantees: GuaranteesExtrinsic(vec![self.current.clone(), self.previous.clone()]),
            ..Default::default()
        };
        seal(
            &self.spec,
            &self.pool,
            &self.pre,
            &self.change,
            slot,
            extrinsic,
            Vec::new(),
        )
    }

    /// The expected posterior parts of an accepted block at `slot`, each from its
    /// GP rule.
    fn check(&self, block: &Block, post: &ChainState, m_star_keys: &ValidatorSet) {
        let slot = block.header.slot;
        // GP 6.13: (γ'_P, κ', λ') = (Φ(ι), γ_P, κ).
        assert_eq!(post.kappa, self.change.kappa, "κ' = γ_P");
        assert_eq!(post.lambda, self.change.lambda, "λ' = κ");
        assert_eq!(post.gamma.pending, self.change.gamma_p, "γ'_P = Φ(ι)");
        // GP 11.16–11.17 and §11.5: core 0's report became available and left ρ;
        // both new reports are on their cores, stamped τ'.
        assert_eq!(
            post.rho.0,
            vec![
                Some(PendingReport {
                    report: self.current.report.clone(),
                    timeout: slot
                }),
                Some(PendingReport {
                    report: self.previous.report.clone(),
                    timeout: slot
                }),
            ]
        );
        // GP 11.26: R holds each guarantor's key in the set of its assignment.
        let mut reporters = BTreeSet::new();
        for v in guarantors(&self.current) {
            reporters.insert(self.change.kappa.0[v].ed25519);
        }
        for v in guarantors(&self.previous) {
            reporters.insert(m_star_keys.0[v].ed25519);
        }
        let (current, last) = expected_validator_stats(
            &self.pre,
            &self.change.kappa,
            usize::from(block.header.author_index),
            &self.assurers,
            &reporters,
        );
        assert_eq!(post.pi.current, current, "π'_V (GP 13.5)");
        assert_eq!(post.pi.last, last, "π'_L = π_V (GP 13.4)");
        // GP 13.9: popularity counts the assurances' bits per core.
        assert_eq!(post.pi.cores.0[0].popularity, 5);
        assert_eq!(post.pi.cores.0[1].popularity, 0);
    }
}

/// The validator set of the first block of an epoch (κ' = γ_P) differs from the
/// parent's (κ): the assurances, made under the parent, verify against κ.
#[test]
fn assurances_at_epoch_start_are_checked_against_the_prior_set() {
    let s = scenario(12, 10);
    assert_ne!(s.pre.kappa, s.change.kappa, "the test needs κ' ≠ κ");
    let block = s.block(&s.pre.kappa, 12);
    let post = import_block(&s.spec, &s.pre, &s.pre.root(), &block)
        .expect("assurances signed by κ are valid (GP 11.13)");
    s.check(&block, &post, &s.change.lambda);
}

/// The same block with its assurances signed by the incoming set κ' instead is
/// invalid (GP 11.13), and nothing else in it is.
#[test]
fn assurances_signed_by_the_incoming_set_are_rejected() {
    let s = scenario(12, 10);
    let block = s.block(&s.change.kappa, 12);
    assert_eq!(
        import_block(&s.spec, &s.pre, &s.pre.root(), &block).err(),
        Some(BlockError::Assurances(AssurancesError::BadSignature))
    );
}

/// A guarantee made in the last rotation of the previous epoch is checked against
/// `M* = (P(η'_3, τ'−R), Φ(λ'))`: signed by κ'-keys of the same indices it is
/// invalid.
#[test]
fn previous_epoch_guarantee_uses_eta3_and_lambda_prime() {
    let s = scenario(12, 10);
    let mut bad = s.previous.clone();
    let message = [b"jam_guarantee".as_slice(), &bad.report.hash()[..]].concat();
    for sig in &mut bad.signatures {
        let key = s.change.kappa.0[usize::from(sig.validator_index)].ed25519;
        sig.signature = s.pool.by_ed(&key).ed.sign(&message);
    }
    let extrinsic = Extrinsic {
        assurances: assurances(&s.pool, &s.pre.kappa, &s.assurers),
        guarantees: GuaranteesExtrinsic(vec![s.current.clone(), bad]),
        ..Default::default()
    };
    let block = seal(
        &s.spec,
        &s.pool,
        &s.pre,
        &s.change,
        12,
        extrinsic,
        Vec::new(),
    );
    assert_eq!(
        import_block(&s.spec, &s.pre, &s.pre.root(), &block).err(),
        Some(BlockError::Reports(ReportsError::BadSignature))
    );
}

/// The epoch's first slots skipped: the block at slot 17, in rotation 1 of
/// epoch 1, on a chain at slot 11. `τ' − R = 13` is in the epoch of τ', so the
/// guarantee of slot 13 (the previous rotation) is assigned by
/// `(P(η'_2, 13), Φ(κ'))`, and the assurances are still signed by κ.
#[test]
fn skipped_first_slots_previous_rotation_is_in_the_new_epoch() {
    let s = scenario(17, 13);
    let block = s.block(&s.pre.kappa, 17);
    let post = import_block(&s.spec, &s.pre, &s.pre.root(), &block)
        .expect("a valid block after skipped slots");
    s.check(&block, &post, &s.change.kappa);
    // And signed by κ' the assurances are invalid here too.
    let block = s.block(&s.change.kappa, 17);
    assert_eq!(
        import_block(&s.spec, &s.pre, &s.pre.root(), &block).err(),
        Some(BlockError::Assurances(AssurancesError::BadSignature))
    );
}

/// A whole epoch skipped: slot 11 to slot 25. Safrole rotates once (κ' = γ_P,
/// λ' = κ, η'_3 = η_2), the statistics roll over once, the guarantee of slot 21
/// (previous rotation, epoch 1 ≠ 2) is assigned by `(P(η'_3, 21), Φ(λ'))`.
#[test]
fn skipped_epoch_rotates_once() {
    let s = scenario(25, 21);
    let block = s.block(&s.pre.kappa, 25);
    let post = import_block(&s.spec, &s.pre, &s.pre.root(), &block)
        .expect("a valid block after a skipped epoch");
    s.check(&block, &post, &s.change.lambda);
    assert_eq!(
        post.eta.0[1..],
        s.pre.eta.0[..3],
        "η' rotates once (GP 6.23)"
    );
}

/// Disputes in the first block of an epoch: a verdict whose age is the prior
/// epoch `⌊τ/E⌋` is judged by κ (GP 10.3), its culprits join ψ'_O, and the same
/// block's incoming set `γ'_P = Φ(ι)` has them nulled (GP 6.14, with ψ'_O), as
/// does the epoch marker.
#[test]
fn disputes_at_epoch_start_judge_by_prior_tau_and_null_new_offenders() {
    let spec = ChainSpec::tiny();
    let pool = Pool::new();
    let pre = pre_state(&spec, &pool, 11);
    let target = ByteArray([0x77; 32]);
    let votes = |keys: &ValidatorSet| -> Vec<Judgement> {
        let message = [b"jam_invalid".as_slice(), &target[..]].concat();
        (0..spec.supermajority())
            .map(|v| Judgement {
                vote: false,
                index: u16::try_from(v).unwrap_or(u16::MAX),
                signature: pool.by_ed(&keys.0[v].ed25519).ed.sign(&message),
            })
            .collect()
    };
    // Two culprits from κ whose keys are also in ι (pool members 2 and 3).
    let mut culprit_keys = vec![pool.0[2].ed.public(), pool.0[3].ed.public()];
    culprit_keys.sort();
    let culprits: Vec<Culprit> = culprit_keys
        .iter()
        .map(|k| Culprit {
            target,
            key: *k,
            signature: pool
                .by_ed(k)
                .ed
                .sign(&[b"jam_guarantee".as_slice(), &target[..]].concat()),
        })
        .collect();
    let make = |age: u32, keys: &ValidatorSet| {
        let change = epoch_change(&pre, &culprit_keys);
        let extrinsic = Extrinsic {
            disputes: DisputesExtrinsic {
                verdicts: vec![Verdict {
                    target,
                    age,
                    votes: votes(keys),
                }],
                culprits: culprits.clone(),
                faults: Vec::new(),
            },
            ..Default::default()
        };
        // GP 10.20: H_O = the culprits' keys, then the faults'.
        seal(
            &spec,
            &pool,
            &pre,
            &change,
            12,
            extrinsic,
            culprit_keys.clone(),
        )
    };

    // Age ⌊τ/E⌋ = 0, signed by κ: valid.
    let block = make(0, &pre.kappa);
    let post = import_block(&spec, &pre, &pre.root(), &block).expect("a valid verdict");
    assert_eq!(post.psi.bad, vec![target], "ψ'_B (GP 10.16)");
    assert_eq!(post.psi.offenders, culprit_keys, "ψ'_O (GP 10.19)");
    let nulled = phi(&pre.iota, &culprit_keys);
    assert_eq!(
        post.gamma.pending, nulled,
        "γ'_P = Φ(ι) with ψ'_O (GP 6.14)"
    );
    assert_eq!(
        post.gamma
            .pending
            .0
            .iter()
            .filter(|k| k.ed25519 == ed25519::PublicKey::from([0; 32]))
            .count(),
        2
    );
    assert_eq!(post.kappa, pre.gamma.pending, "κ' = γ_P, not nulled again");

    // Age ⌊τ'/E⌋ = 1, the new epoch: not an age the prior τ allows.
    let block = make(1, &pre.kappa);
    assert_eq!(
        import_block(&spec, &pre, &pre.root(), &block).err(),
        Some(BlockError::Disputes(DisputesError::BadJudgementAge))
    );
    // Age 0 signed by the incoming κ': bad signatures.
    let block = make(0, &pre.gamma.pending);
    assert_eq!(
        import_block(&spec, &pre, &pre.root(), &block).err(),
        Some(BlockError::Disputes(DisputesError::BadSignature))
    );
}

/// The JIP-5 derivation gives the vectors' validator 0 (`4418fb8c…99ace`).
#[test]
fn jip5_validator_zero() {
    let key = jip5(0).ed.public();
    let hex: String = key.0 .0.iter().map(|b| format!("{b:02x}")).collect();
    assert!(
        hex.starts_with("4418fb8c") && hex.ends_with("99ace"),
        "{hex}"
    );
}

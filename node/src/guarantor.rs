//! Guaranteeing (GP v0.7.2 §11.3–11.4 and §14.3; JAMNP-S CE 133, 134, 135): a
//! validator that receives a work package for a core it is assigned to checks it,
//! runs Ψ_I then Ψ_R, makes the work report with its availability specifier
//! (GP 14.16), has its co-guarantors re-run and sign it, and distributes the
//! guarantee, serving the package's shards from then on (CE 137).
//!
//! The checks before refine (`Inner::check`), each as block import will
//! apply it to the guarantee (GP 11.23–11.42), on the node's best state:
//! - the package names a core below `C`, has 1..=`I` items and at most `W_M`
//!   imports in all (GP 14.2), each naming a package whose report this node has
//!   seen, by segments root or work-package hash ([`crate::exports`]), and an
//!   index below its export count;
//! - the guarantor is assigned to the core by `M` (GP 11.18–11.22) for the slot
//!   the guarantee is made at: `P(η'_2, t)` over `κ`, or over `Φ(γ_P)` with `η_1`
//!   as `η'_2` when `t` is in the epoch after the best state's (GP 6.13, 6.23);
//! - `p_a = H(p_u ⌢ p_f)` is in `α[core]` (GP 11.30, 14.9);
//! - the anchor is in `β_H` with its state and BEEFY roots (GP 11.32), the best
//!   block's state root being the best state's own root (β_H's newest entry has it
//!   only from the next block on, GP 7.5);
//! - the lookup anchor is at most `L` slots old (GP 11.33);
//! - every extrinsic blob hashes to its reference (GP 14.4).
//!
//! Then the imported segments are fetched from the exporting packages' assurers
//! and proven to their segments roots (GP 14.3, JAMNP-S CE 139/140:
//! [`tessera_da::import::import_segments`]), Ψ_I (with `Λ` over the best state,
//! [`crate::genesis::StateLookup`]) must authorize, Ψ_R runs per item
//! ([`refine_items`]) with the imports, and the report is built as an auditor
//! ([`tessera_audit::execute`]) recomputes it: the bundle carries each import
//! with its justification `J_0` (GP 14.14), and the report's segment-root lookup
//! `l` maps each package named by hash to its segments root. A co-guarantor
//! takes the imports from the bundle, checks every justification against the
//! segments root its own index gives (and the primary's CE 134 mappings against
//! that index), and refines with them. The guarantor signs
//! `X_G ⌢ H(E(report))` (GP 11.26), sends the bundle to the other guarantors of
//! the core over CE 134 and keeps each signature on the same report hash, then
//! with 2–3 signatures ordered by validator index makes the [`Guarantee`] for its
//! slot, stores the shards for CE 137/138 ([`store_distributable`]) and sends the
//! guarantee to every connected validator of `κ` over CE 135.
//!
//! [`Behaviour::Lie`] (the testnet's `--byzantine-guarantor`): as primary, the
//! guarantor flips the first octet of each `Ok` refine output (appending one to
//! an empty output) before making the report; as co-guarantor it skips every
//! check and signs the report a lying primary makes of the bundle. Two lying
//! guarantors of one core thus put a false report on chain, for auditors to catch.
//!
//! [`Behaviour::Drop`] (the testnet's `--faulty-guarantor`): as primary, the
//! guarantor checks a submitted package and takes it (CE 133 answered), then
//! never guarantees it — as a guarantor does whose co-guarantors did not answer
//! in time; as co-guarantor it is honest. What a builder must recover from.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use tessera_audit::execute::{digest, Bundle};
use tessera_core::codec::Encode;
use tessera_core::crypto::ed25519;
use tessera_core::crypto::jip5::ValidatorSecrets;
use tessera_core::hash::{blake2b_256, Hash};
use tessera_core::merkle::constant_depth;
use tessera_core::spec::ChainSpec;
use tessera_core::types::{
    AvailabilitySpec, CoreIndex, Guarantee, SegmentRootLookup, SegmentRootLookupItem, TimeSlot,
    ValidatorIndex, ValidatorSignature, WorkExecResult, WorkPackage, WorkReport,
};
use tessera_da::availability::AvailabilityEngine;
use tessera_da::package::Distributable;
use tessera_da::serve::store_distributable;
use tessera_da::store::ShardStore;
use tessera_net::messages::{
    BundleWithMappings, SegmentRootMappings, WorkPackageSharing, WorkPackageSubmission,
    WorkPackageSubmissionProtocol, WorkReportDistribution, WorkReportSignature,
};
use tessera_net::{Network, PeerId, Refusal};
use tessera_state::authorize::psi_i;
use tessera_state::refine::{refine_items, Refinement};
use tessera_state::sigma::validators::ValidatorSet;
use tessera_state::stf::reports::assignment::core_assignments;
use tessera_state::stf::reports::X_GUARANTEE;
use tessera_state::ChainState;
use tokio::sync::broadcast;

use crate::exports::{ExportsIndex, Resolved};
use crate::genesis::StateLookup;
use crate::observe::Observer;
use crate::telemetry::{
    Event, EventId, ExecCost, GuaranteeOutline, IsAuthorizedCost, Reason, RefineCost,
    WorkPackageOutline, WorkReportOutline,
};

/// How a guarantor behaves.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Behaviour {
    /// As the GP says.
    #[default]
    Honest,
    /// Misreports refine outputs as primary, signs without checking as
    /// co-guarantor (see the module docs).
    Lie,
    /// Takes submitted packages and never guarantees them (module docs).
    Drop,
}

/// The chain as the guarantor sees it when a package arrives.
#[derive(Clone, Debug)]
pub struct BestState {
    /// The best block's header hash.
    pub header_hash: Hash,
    /// Its posterior state.
    pub state: Arc<ChainState>,
    /// `M_σ` of that state.
    pub state_root: Hash,
    /// The slot the guarantee is made at (the node's current slot, at least the
    /// best state's `τ`).
    pub slot: TimeSlot,
}

/// Where the guarantor reads the best state from: the node passes a closure.
pub trait ChainView: Send + Sync + 'static {
    /// The current best state.
    fn best(&self) -> BestState;
}

impl<F: Fn() -> BestState + Send + Sync + 'static> ChainView for F {
    fn best(&self) -> BestState {
        self()
    }
}

/// Why a package is not guaranteed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GuaranteeError {
    /// The core is not below `C`.
    #[error("core {0} does not exist")]
    BadCore(CoreIndex),
    /// GP 11.3/14.2: a package has 1..=I items.
    #[error("the package has {0} work items")]
    BadItemCount(usize),
    /// GP 14.2: more than `W_M` imports in all.
    #[error("the package imports {0} segments, more than W_M")]
    TooManyImports(usize),
    /// An import names a package whose report this node has not seen.
    #[error("import from {0}, a package this node knows no exports of")]
    UnknownImport(Hash),
    /// An import's index is not below its package's export count.
    #[error("import of segment {index} of a package that exported {count}")]
    NotExported {
        /// The index asked for.
        index: u16,
        /// The package's `n`.
        count: u16,
    },
    /// Fetching or proving the imported segments failed.
    #[error("importing segments: {0}")]
    Import(String),
    /// GP 11.26: we are not among the core's guarantors at this slot.
    #[error("validator {index:?} is not assigned to core {core} at slot {slot}")]
    NotAssigned {
        /// Our index, if we are in the validator set at all.
        index: Option<ValidatorIndex>,
        /// The core.
        core: CoreIndex,
        /// The slot.
        slot: TimeSlot,
    },
    /// GP 11.30: `H(p_u ⌢ p_f)` is not in the core's pool.
    #[error("authorizer {0} is not in the core's pool")]
    Unauthorized(Hash),
    /// GP 11.32: the anchor is not a recent block, or its roots differ.
    #[error("anchor {0} is not a recent block with these roots")]
    BadAnchor(Hash),
    /// GP 11.33: the lookup anchor is older than `L` slots.
    #[error("lookup anchor at slot {anchor} is too old at slot {slot}")]
    LookupAnchorTooOld {
        /// `x_t`.
        anchor: TimeSlot,
        /// The current slot.
        slot: TimeSlot,
    },
    /// GP 14.4: the extrinsic data do not match the items' references.
    #[error("extrinsic data: {0}")]
    Extrinsics(String),
    /// Ψ_I did not authorize the package (GP B.2).
    #[error("the authorizer refused the package: {0:?}")]
    NotAuthorized(WorkExecResult),
    /// A CE 134 bundle does not decode (GP 14.4).
    #[error("bundle: {0}")]
    Bundle(String),
    /// Erasure coding the bundle failed.
    #[error("erasure coding: {0}")]
    Coding(String),
    /// Storing the shards failed.
    #[error("shard store: {0}")]
    Store(String),
    /// Fewer than two guarantors signed the report (GP 11.23).
    #[error("only {0} guarantor(s) signed the report")]
    NotEnoughSignatures(usize),
    /// A blocking task failed.
    #[error("internal: {0}")]
    Internal(String),
}

/// A report as its guarantor made it, with what it serves.
pub struct Made {
    /// The report.
    pub report: WorkReport,
    /// `E(bundle)`.
    pub bundle: Vec<u8>,
    /// The coded bundle and exports.
    pub coded: Distributable,
    /// The exported segments.
    pub exports: Vec<Vec<u8>>,
    /// Ψ_I's gas and time.
    pub authorization: (u64, Duration),
    /// Ψ_R's gas per item, and each item's share of the refine time.
    pub refinement: Vec<(u64, Duration)>,
    /// The erasure coding's time (bundle and exports, GP 14.16).
    pub coding: Duration,
}

/// One validator's guaranteeing service.
#[derive(Clone)]
pub struct Guarantor {
    inner: Arc<Inner>,
}

struct Inner {
    spec: ChainSpec,
    keys: ValidatorSecrets,
    behaviour: Behaviour,
    network: Network,
    chain: Box<dyn ChainView>,
    store: Arc<ShardStore>,
    engine: Mutex<AvailabilityEngine>,
    /// The engine's backend (read without waiting for the engine).
    backend: tessera_kernels::Backend,
    guarantees: broadcast::Sender<Guarantee>,
    observer: OnceLock<Observer>,
    exports: OnceLock<Arc<ExportsIndex>>,
}

/// One exporting package's segment-shard requests as JIP-3 events 162, 165 and
/// 167 (or 164) under the submission event: each requested index of `s ⌢ P(s)`
/// named by its import segment ID — the first import of the package wanting that
/// segment, or `2^15` plus the page's index for a proof page.
struct SegmentRequests {
    telemetry: crate::telemetry::Telemetry,
    submission: EventId,
    /// `n`: where the proof pages start.
    export_count: u16,
    /// The import segment ID of each wanted segment.
    first_id: std::collections::BTreeMap<u16, u16>,
}

impl tessera_da::import::ImportEvents for SegmentRequests {
    fn sending(&self, peer: &PeerId, justified: bool, segments: &[u16], shard_index: u16) -> u64 {
        let pairs = segments
            .iter()
            .map(|&k| {
                let id = match k.checked_sub(self.export_count) {
                    Some(page) => (1 << 15) | page,
                    None => self.first_id.get(&k).copied().unwrap_or(u16::MAX),
                };
                (id, shard_index)
            })
            .collect();
        self.telemetry.send(Event::SendingSegmentShardRequest(
            self.submission,
            crate::telemetry::peer_id(peer),
            justified,
            pairs,
        ))
    }

    fn finished(&self, token: u64, outcome: Result<(), String>) {
        match outcome {
            Ok(()) => {
                self.telemetry.send(Event::SegmentShardRequestSent(token));
                self.telemetry.send(Event::SegmentShardsTransferred(token));
            }
            Err(why) => {
                self.telemetry
                    .send(Event::SegmentShardRequestFailed(token, why.into()));
            }
        }
    }
}

/// Who holds which segment shard of `exported` (GP 14.16): each validator but
/// `me`, with the shard index of its index in the `κ` of the epoch whose block
/// carried the report — the assurers took their shards under those indices —
/// which `state` knows as `κ` (this epoch) or `λ` (the previous one). Then, in
/// case an assurer took its shard after an epoch change, each validator with the
/// shard index of its index in the other set, where that differs. An older
/// export is looked for under `κ` first.
fn export_holders(
    spec: &ChainSpec,
    state: &ChainState,
    exported: &crate::exports::Exported,
    me: &PeerId,
) -> Vec<tessera_da::import::Holder> {
    let epoch = |slot: u32| slot / spec.epoch_length.max(1);
    let (first, second) = if epoch(exported.slot) + 1 == epoch(state.tau) {
        (&state.lambda, &state.kappa)
    } else {
        (&state.kappa, &state.lambda)
    };
    let of = |set: &tessera_state::sigma::validators::ValidatorSet| {
        set.0
            .iter()
            .enumerate()
            .filter_map(|(v, validator)| {
                let peer = PeerId::from(validator.ed25519);
                let v = u16::try_from(v).ok()?;
                (peer != *me).then_some(tessera_da::import::Holder {
                    peer,
                    shard_index: tessera_da::assignment::shard_index(spec, exported.core, v)?,
                })
            })
            .collect::<Vec<_>>()
    };
    let mut holders = of(first);
    let listed: std::collections::HashSet<(PeerId, u16)> =
        holders.iter().map(|h| (h.peer, h.shard_index)).collect();
    holders.extend(
        of(second)
            .into_iter()
            .filter(|h| !listed.contains(&(h.peer, h.shard_index))),
    );
    holders
}

/// A package's imports for Ψ_R and its bundle: per item, the segments (`W_G`
/// octets each) and their justifications `J_0`, and the report's segment-root
/// lookup `l`.
#[derive(Clone, Debug, Default)]
pub struct Imports {
    /// `S#(p_w)`.
    pub segments: Vec<Vec<Vec<u8>>>,
    /// `J#(p_w)`.
    pub justifications: Vec<Vec<Vec<Hash>>>,
    /// `l`: work-package hash to segments root, for imports named by hash.
    pub lookup: SegmentRootLookup,
}

impl Imports {
    /// No imports, for a package whose items import nothing.
    pub fn none(package: &WorkPackage) -> Self {
        Imports {
            segments: package.items.iter().map(|_| Vec::new()).collect(),
            justifications: package.items.iter().map(|_| Vec::new()).collect(),
            lookup: SegmentRootLookup(Vec::new()),
        }
    }

    /// `l` for the imports of `package` that name a package by hash, resolved
    /// in `resolved` (one per import, in item order), ordered by hash as GP C.2
    /// encodes a dictionary.
    fn lookup_of(package: &WorkPackage, resolved: &[Resolved]) -> SegmentRootLookup {
        let imports = package.items.iter().flat_map(|w| &w.import_segments);
        let mut pairs: Vec<(Hash, Hash)> = imports
            .zip(resolved)
            .filter(|(_, r)| r.by_package_hash)
            .map(|(i, r)| (i.tree_root, r.exported.by.segments_root))
            .collect();
        pairs.sort();
        pairs.dedup();
        SegmentRootLookup(
            pairs
                .into_iter()
                .map(
                    |(work_package_hash, segment_tree_root)| SegmentRootLookupItem {
                        work_package_hash,
                        segment_tree_root,
                    },
                )
                .collect(),
        )
    }
}

/// The guarantor assignment in force at `slot` on `state` (GP 11.18–11.22): each
/// validator's core and the key set it signs with.
pub fn assignment(
    spec: &ChainSpec,
    state: &ChainState,
    slot: TimeSlot,
) -> (Vec<CoreIndex>, ValidatorSet) {
    let e = spec.epoch_length.max(1);
    if slot / e > state.tau / e {
        // The block at `slot` rotates: η'_2 = η_1, κ' = Φ(γ_P) (GP 6.13–6.14, 6.23).
        (
            core_assignments(spec, &state.eta.0[1], slot),
            state.gamma.pending.without_offenders(&state.psi.offenders),
        )
    } else {
        (
            core_assignments(spec, &state.eta.0[2], slot),
            state.kappa.clone(),
        )
    }
}

/// The validator indices assigned to `core` at `slot`, ascending.
pub fn guarantors_of(
    spec: &ChainSpec,
    state: &ChainState,
    slot: TimeSlot,
    core: CoreIndex,
) -> Vec<ValidatorIndex> {
    assignment(spec, state, slot)
        .0
        .iter()
        .enumerate()
        .filter(|(_, c)| **c == core)
        .filter_map(|(i, _)| ValidatorIndex::try_from(i).ok())
        .collect()
}

/// Split the concatenated extrinsic data of CE 133 into each item's blobs, checking
/// each against its hash (GP 14.4).
pub fn split_extrinsics(
    package: &WorkPackage,
    data: &[u8],
) -> Result<Vec<Vec<Vec<u8>>>, GuaranteeError> {
    let mut at = 0usize;
    let mut out = Vec::with_capacity(package.items.len());
    for item in &package.items {
        let mut blobs = Vec::with_capacity(item.extrinsic.len());
        for x in &item.extrinsic {
            let len = usize::try_from(x.len).unwrap_or(usize::MAX);
            let end = at
                .checked_add(len)
                .filter(|e| *e <= data.len())
                .ok_or_else(|| GuaranteeError::Extrinsics("data too short".into()))?;
            let blob = &data[at..end];
            if blake2b_256(blob) != x.hash {
                return Err(GuaranteeError::Extrinsics(format!(
                    "blob at {at} does not hash to {}",
                    x.hash
                )));
            }
            blobs.push(blob.to_vec());
            at = end;
        }
        out.push(blobs);
    }
    if at != data.len() {
        return Err(GuaranteeError::Extrinsics(format!(
            "{} octets left over",
            data.len() - at
        )));
    }
    Ok(out)
}

/// The report of `package` on `core` (GP 14.11–14.16): Ψ_I, Ψ_R per item, the
/// bundle coded for availability. `lie` alters the refine outputs as
/// [`Behaviour::Lie`] says.
#[allow(clippy::too_many_arguments)]
pub fn make_report(
    spec: &ChainSpec,
    engine: &mut AvailabilityEngine,
    state: &ChainState,
    core: CoreIndex,
    package: &WorkPackage,
    extrinsics: Vec<Vec<Vec<u8>>>,
    imported: Imports,
    lie: bool,
) -> Result<Made, GuaranteeError> {
    let lookup = StateLookup(state);
    let started = Instant::now();
    let (trace, auth_gas) = psi_i(spec, package, core, &lookup);
    let authorization = (auth_gas, started.elapsed());
    let trace = trace.map_err(GuaranteeError::NotAuthorized)?;
    let Imports {
        segments: imports,
        justifications,
        lookup: segment_root_lookup,
    } = imported;
    let started = Instant::now();
    let outcomes = refine_items(&Refinement {
        spec,
        core,
        package,
        auth_trace: &trace,
        imports: &imports,
        extrinsics: &extrinsics,
        lookup: &lookup,
    });
    let share = started.elapsed() / u32::try_from(outcomes.len().max(1)).unwrap_or(u32::MAX);
    let refinement = outcomes.iter().map(|o| (o.gas_used, share)).collect();
    let exports: Vec<Vec<u8>> = outcomes.iter().flat_map(|o| o.exports.clone()).collect();
    let results = package
        .items
        .iter()
        .zip(outcomes)
        .map(|(w, o)| {
            let result = match o.result {
                WorkExecResult::Ok(out) if lie => {
                    let mut out = out.0;
                    match out.first_mut() {
                        Some(b) => *b ^= 0xff,
                        None => out.push(0xff),
                    }
                    WorkExecResult::Ok(out.into())
                }
                r => r,
            };
            digest(w, result, o.gas_used)
        })
        .collect();
    let bundle = Bundle {
        package: package.clone(),
        extrinsics,
        justifications,
        imports,
    }
    .encode();
    let started = Instant::now();
    let coded = Distributable::new(spec, engine, &bundle, &exports)
        .map_err(|e| GuaranteeError::Coding(e.to_string()))?;
    let coding = started.elapsed();
    let report = WorkReport {
        package_spec: AvailabilitySpec {
            hash: blake2b_256(&package.encode()),
            length: u32::try_from(bundle.len()).unwrap_or(u32::MAX),
            erasure_root: coded.erasure_root,
            exports_root: constant_depth::root(&exports, blake2b_256),
            exports_count: u16::try_from(exports.len()).unwrap_or(u16::MAX),
        },
        context: package.context.clone(),
        core_index: core,
        authorizer_hash: authorizer_hash(package),
        auth_gas_used: auth_gas,
        auth_output: trace.into(),
        segment_root_lookup,
        results,
    };
    Ok(Made {
        report,
        bundle,
        coded,
        exports,
        authorization,
        refinement,
        coding,
    })
}

/// `p_a = H(p_u ⌢ p_f)` (GP 14.9).
pub fn authorizer_hash(package: &WorkPackage) -> Hash {
    let mut bytes = package.auth_code_hash.0.to_vec();
    bytes.extend_from_slice(&package.authorizer_config.0);
    blake2b_256(&bytes)
}

/// `X_G ⌢ H(E(report))`: what a guarantor signs (GP 11.26).
pub fn guarantee_message(report_hash: &Hash) -> Vec<u8> {
    [X_GUARANTEE, &report_hash.0[..]].concat()
}

impl Guarantor {
    /// The guarantor of validator `keys`, reading the best state from `chain`,
    /// storing shards in `store` (which the node serves with
    /// [`tessera_da::serve::register`]), coding on `engine`. Registers the CE 133
    /// and CE 134 handlers on `network`.
    pub fn start(
        spec: ChainSpec,
        keys: ValidatorSecrets,
        behaviour: Behaviour,
        network: Network,
        chain: impl ChainView,
        store: Arc<ShardStore>,
        engine: AvailabilityEngine,
    ) -> Guarantor {
        let (guarantees, _) = broadcast::channel(64);
        let g = Guarantor {
            inner: Arc::new(Inner {
                spec,
                keys,
                behaviour,
                network: network.clone(),
                chain: Box::new(chain),
                store,
                backend: engine.backend(),
                engine: Mutex::new(engine),
                guarantees,
                observer: OnceLock::new(),
                exports: OnceLock::new(),
            }),
        };
        let me = g.clone();
        network.register::<WorkPackageSubmissionProtocol, _, _>(
            move |peer, req: WorkPackageSubmission| {
                let me = me.clone();
                async move { me.on_submission(peer, req).await }
            },
        );
        let me = g.clone();
        network.register::<WorkPackageSharing, _, _>(move |peer, req: BundleWithMappings| {
            let me = me.clone();
            async move {
                let inner = me.inner.clone();
                let telemetry = inner.observer().telemetry().clone();
                let sharing = telemetry.send(Event::WorkPackageBeingShared(
                    crate::telemetry::peer_id(&peer),
                ));
                let signed = tokio::task::spawn_blocking(move || inner.co_guarantee(req, sharing))
                    .await
                    .map_err(|e| Refusal(e.to_string()))?
                    .map_err(|e| {
                        tracing::debug!(peer = %peer, error = %e, "CE 134 refused");
                        telemetry.send(Event::WorkPackageFailed(sharing, e.to_string().into()));
                        Refusal(e.to_string())
                    })?;
                telemetry.send(Event::WorkReportSignatureSent(sharing));
                Ok(signed)
            }
        });
        g
    }

    /// Resolve imports through `exports` from now on (without it, a package
    /// that imports is refused as importing from an unknown package); `false`
    /// if one was already set.
    pub fn set_exports(&self, exports: Arc<ExportsIndex>) -> bool {
        self.inner.exports.set(exports).is_ok()
    }

    /// Record this guarantor's work (JIP-3 guaranteeing events, the DA encode
    /// metrics) into `observer` from now on; `false` if one was already set.
    pub fn set_observer(&self, observer: Observer) -> bool {
        self.inner.observer.set(observer).is_ok()
    }

    /// Every guarantee this guarantor makes from a CE 133 submission (the node's
    /// pool takes them from here, as the other validators take them from CE 135).
    pub fn subscribe(&self) -> broadcast::Receiver<Guarantee> {
        self.inner.guarantees.subscribe()
    }

    /// CE 133: check the package and authorize it before answering (a bad package
    /// is refused to the builder), then refine, share and distribute in the
    /// background; the guarantee goes to [`Guarantor::subscribe`].
    async fn on_submission(&self, peer: PeerId, req: WorkPackageSubmission) -> Result<(), Refusal> {
        let inner = self.inner.clone();
        let telemetry = inner.observer().telemetry().clone();
        let submission = telemetry.send(Event::WorkPackageSubmission(
            crate::telemetry::peer_id(&peer),
            false,
        ));
        let WorkPackageSubmission {
            core_index,
            package,
            extrinsics,
        } = req;
        let prepared = tokio::task::spawn_blocking(move || {
            let best = inner.chain.best();
            let resolved = inner.check(&best, core_index, &package)?;
            let blobs = split_extrinsics(&package, &extrinsics)?;
            let lookup = StateLookup(&best.state);
            psi_i(&inner.spec, &package, core_index, &lookup)
                .0
                .map_err(GuaranteeError::NotAuthorized)?;
            Ok::<_, GuaranteeError>((best, package, blobs, resolved))
        })
        .await
        .map_err(|e| Refusal(e.to_string()))?
        .map_err(|e| {
            tracing::info!(builder = %peer, error = %e, "work package refused");
            telemetry.send(Event::WorkPackageFailed(submission, e.to_string().into()));
            Refusal(e.to_string())
        })?;
        if self.inner.behaviour == Behaviour::Drop {
            tracing::debug!(builder = %peer, "work package taken and dropped (a faulty guarantor)");
            return Ok(());
        }
        let me = self.clone();
        tokio::spawn(async move {
            let (best, package, blobs, resolved) = prepared;
            match me
                .guarantee_checked(best, core_index, package, blobs, resolved, submission)
                .await
            {
                Ok(g) => {
                    let _ = me.inner.guarantees.send(g);
                }
                Err(e) => tracing::warn!(error = %e, "work package not guaranteed"),
            }
        });
        Ok(())
    }

    /// Guarantee `package` (with its concatenated extrinsic data) on `core`: the
    /// whole of GP 14.3 and CE 134/135 as the module docs say, returning the
    /// guarantee.
    pub async fn guarantee(
        &self,
        core: CoreIndex,
        package: WorkPackage,
        extrinsics: &[u8],
    ) -> Result<Guarantee, GuaranteeError> {
        // JIP-3 knows submissions by a builder's peer; one through this node's
        // RPC is told as submitted by the node itself.
        let telemetry = self.inner.observer().telemetry().clone();
        let submission = telemetry.send(Event::WorkPackageSubmission(
            crate::telemetry::peer_id(&self.inner.network.peer_id()),
            false,
        ));
        let best = self.inner.chain.best();
        let checked = self
            .inner
            .check(&best, core, &package)
            .and_then(|resolved| {
                split_extrinsics(&package, extrinsics).map(|blobs| (blobs, resolved))
            });
        let (blobs, resolved) = match checked {
            Ok(checked) => checked,
            Err(e) => {
                telemetry.send(Event::WorkPackageFailed(submission, e.to_string().into()));
                return Err(e);
            }
        };
        self.guarantee_checked(best, core, package, blobs, resolved, submission)
            .await
    }

    async fn guarantee_checked(
        &self,
        best: BestState,
        core: CoreIndex,
        package: WorkPackage,
        blobs: Vec<Vec<Vec<u8>>>,
        resolved: Vec<Resolved>,
        submission: EventId,
    ) -> Result<Guarantee, GuaranteeError> {
        let result = self
            .guarantee_observed(best, core, package, blobs, resolved, submission)
            .await;
        if let Err(e) = &result {
            self.inner
                .observer()
                .telemetry()
                .send(Event::WorkPackageFailed(submission, e.to_string().into()));
        }
        result
    }

    async fn guarantee_observed(
        &self,
        best: BestState,
        core: CoreIndex,
        package: WorkPackage,
        blobs: Vec<Vec<Vec<u8>>>,
        resolved: Vec<Resolved>,
        submission: EventId,
    ) -> Result<Guarantee, GuaranteeError> {
        let inner = self.inner.clone();
        let observer = inner.observer().clone();
        let telemetry = observer.telemetry();
        if telemetry.enabled() {
            let outline = WorkPackageOutline::of(&package, blake2b_256(&package.encode()));
            telemetry.send(Event::WorkPackageReceived(submission, core, outline));
        }
        let slot = best.slot;
        let state = best.state.clone();
        let imported = inner
            .fetch_imports(&state, &package, &resolved, submission)
            .await?;
        let made = {
            let inner = inner.clone();
            let state = state.clone();
            tokio::task::spawn_blocking(move || {
                let _gpu = inner.observer().gpu_job(inner.backend());
                let mut engine = inner.engine.lock().unwrap_or_else(|e| e.into_inner());
                make_report(
                    &inner.spec,
                    &mut engine,
                    &state,
                    core,
                    &package,
                    blobs,
                    imported,
                    inner.behaviour == Behaviour::Lie,
                )
            })
            .await
            .map_err(|e| GuaranteeError::Internal(e.to_string()))??
        };
        inner.observe_made(&made, submission);
        let report_hash = made.report.hash();
        let message = guarantee_message(&report_hash);
        let (_, validators) = assignment(&inner.spec, &state, slot);
        let me = inner
            .my_index(&validators)
            .ok_or(GuaranteeError::NotAssigned {
                index: None,
                core,
                slot,
            })?;
        let mut signatures = vec![ValidatorSignature {
            validator_index: me,
            signature: inner.keys.ed25519.sign(&message),
        }];
        // CE 134 to the co-guarantors, concurrently.
        let request = BundleWithMappings {
            core_index: core,
            mappings: SegmentRootMappings(
                made.report
                    .segment_root_lookup
                    .0
                    .iter()
                    .map(|l| (l.work_package_hash, l.segment_tree_root))
                    .collect(),
            ),
            bundle: made.bundle.clone(),
        };
        let mut asks = tokio::task::JoinSet::new();
        for index in guarantors_of(&inner.spec, &state, slot, core) {
            if index == me {
                continue;
            }
            let Some(key) = validators.ed25519(index).copied() else {
                continue;
            };
            let (network, request) = (inner.network.clone(), request.clone());
            telemetry.send(Event::SharingWorkPackage(submission, key.0));
            asks.spawn(async move {
                let r = network
                    .request::<WorkPackageSharing>(&PeerId::from(key), &request)
                    .await;
                (index, key, r)
            });
        }
        while let Some(joined) = asks.join_next().await {
            let Ok((index, key, response)) = joined else {
                continue;
            };
            match response {
                Ok(WorkReportSignature {
                    report_hash: theirs,
                    signature,
                }) if theirs == report_hash
                    && ed25519::verify(&key, &message, &signature).is_ok() =>
                {
                    telemetry.send(Event::WorkReportSignatureReceived(submission, key.0));
                    signatures.push(ValidatorSignature {
                        validator_index: index,
                        signature,
                    });
                }
                Ok(other) => {
                    telemetry.send(Event::WorkPackageSharingFailed(
                        submission,
                        key.0,
                        "the co-guarantor's report differs or its signature is bad".into(),
                    ));
                    tracing::warn!(
                        co_guarantor = index,
                        theirs = %other.report_hash,
                        ours = %report_hash,
                        "co-guarantor's report differs or its signature is bad"
                    )
                }
                Err(e) => {
                    telemetry.send(Event::WorkPackageSharingFailed(
                        submission,
                        key.0,
                        e.to_string().into(),
                    ));
                    tracing::debug!(co_guarantor = index, error = %e, "CE 134 failed")
                }
            }
        }
        if signatures.len() < 2 {
            return Err(GuaranteeError::NotEnoughSignatures(signatures.len()));
        }
        signatures.sort_by_key(|s| s.validator_index);
        signatures.truncate(3);
        let guarantee = Guarantee {
            report: made.report.clone(),
            slot,
            signatures,
        };
        let built = telemetry.send(Event::GuaranteeBuilt(
            submission,
            GuaranteeOutline::of(&guarantee),
        ));
        {
            let inner = inner.clone();
            let own = inner.own_shard_index(&state, core);
            tokio::task::spawn_blocking(move || {
                store_distributable(
                    &inner.store,
                    &made.coded,
                    &made.bundle,
                    &made.exports,
                    slot,
                    own,
                )
            })
            .await
            .map_err(|e| GuaranteeError::Internal(e.to_string()))?
            .map_err(|e| GuaranteeError::Store(e.to_string()))?;
        }
        // CE 135 to every connected validator of the set.
        let mut sends = tokio::task::JoinSet::new();
        for (i, v) in validators.0.iter().enumerate() {
            if i == usize::from(me) {
                continue;
            }
            let peer = PeerId::from(v.ed25519);
            if !inner.network.is_connected(&peer) {
                continue;
            }
            let (network, g) = (inner.network.clone(), guarantee.clone());
            let telemetry = telemetry.clone();
            sends.spawn(async move {
                let sending = telemetry.send(Event::SendingGuarantee(
                    built,
                    crate::telemetry::peer_id(&peer),
                ));
                match network.request::<WorkReportDistribution>(&peer, &g).await {
                    Ok(()) => {
                        telemetry.send(Event::GuaranteeSent(sending));
                    }
                    Err(e) => {
                        telemetry.send(Event::GuaranteeSendFailed(sending, e.to_string().into()));
                        tracing::debug!(peer = %peer, error = %e, "CE 135 failed");
                    }
                }
            });
        }
        while sends.join_next().await.is_some() {}
        telemetry.send(Event::GuaranteesDistributed(submission));
        tracing::info!(
            core,
            slot,
            package = %guarantee.report.package_spec.hash,
            signatures = guarantee.signatures.len(),
            "work report guaranteed"
        );
        Ok(guarantee)
    }
}

impl Inner {
    /// The observer, or one that records into nothing anyone reads before
    /// [`Guarantor::set_observer`].
    fn observer(&self) -> &Observer {
        static NONE: OnceLock<Observer> = OnceLock::new();
        self.observer
            .get()
            .unwrap_or_else(|| NONE.get_or_init(Observer::new))
    }

    /// A report made for the submission or sharing event `event`: its costs and
    /// outline to telemetry (JIP-3 events 95, 101, 102), its coding to the DA
    /// metrics.
    fn observe_made(&self, made: &Made, event: EventId) {
        let observer = self.observer();
        let octets = made.bundle.len() + made.exports.iter().map(Vec::len).sum::<usize>();
        observer.encoded(self.backend(), octets, made.coding);
        let telemetry = observer.telemetry();
        let cost = |(gas, took): (u64, Duration)| ExecCost {
            gas,
            ns: u64::try_from(took.as_nanos()).unwrap_or(u64::MAX),
        };
        telemetry.send(Event::Authorized(
            event,
            IsAuthorizedCost {
                total: cost(made.authorization),
                ..Default::default()
            },
        ));
        telemetry.send(Event::Refined(
            event,
            made.refinement
                .iter()
                .map(|r| RefineCost {
                    total: cost(*r),
                    ..Default::default()
                })
                .collect(),
        ));
        telemetry.send(Event::WorkReportBuilt(
            event,
            WorkReportOutline::of(&made.report, made.bundle.len()),
        ));
    }

    /// The backend the erasure coding runs on.
    fn backend(&self) -> tessera_kernels::Backend {
        self.backend
    }

    /// This guarantor's own shard index of `core`'s packages, the one it holds
    /// as an assurer (its index in `κ`, GP 14.16's assignment).
    fn own_shard_index(&self, state: &ChainState, core: CoreIndex) -> Option<u16> {
        let v = self.my_index(&state.kappa)?;
        tessera_da::assignment::shard_index(&self.spec, core, v)
    }

    fn my_index(&self, validators: &ValidatorSet) -> Option<ValidatorIndex> {
        let key = self.keys.ed25519.public();
        validators
            .0
            .iter()
            .position(|v| v.ed25519 == key)
            .and_then(|i| ValidatorIndex::try_from(i).ok())
    }

    /// Each import of `package`, in item order, resolved through the exports
    /// index (GP 14.2's bound `W_M` on their number checked first).
    fn resolve_imports(&self, package: &WorkPackage) -> Result<Vec<Resolved>, GuaranteeError> {
        let count: usize = package.items.iter().map(|w| w.import_segments.len()).sum();
        if count > self.spec.max_imports as usize {
            return Err(GuaranteeError::TooManyImports(count));
        }
        let imports = package.items.iter().flat_map(|w| &w.import_segments);
        imports
            .map(|import| {
                let r = self
                    .exports
                    .get()
                    .and_then(|index| index.resolve(import))
                    .ok_or(GuaranteeError::UnknownImport(import.tree_root))?;
                if r.index >= r.exported.by.export_count {
                    return Err(GuaranteeError::NotExported {
                        index: r.index,
                        count: r.exported.by.export_count,
                    });
                }
                Ok(r)
            })
            .collect()
    }

    /// The primary's imports (GP 14.3): each exporting package's wanted
    /// segments fetched from the assurers of its core (CE 139, then CE 140 on
    /// an inconsistency) and proven to its segments root. JIP-3 events under the
    /// submission event `submission`: 160 for each package named by hash, 161
    /// for each exporting package, 168 then 170 (or 169) around each package's
    /// fetch and reconstruction, 172 (or 171) for the imports proven.
    async fn fetch_imports(
        &self,
        state: &ChainState,
        package: &WorkPackage,
        resolved: &[Resolved],
        submission: EventId,
    ) -> Result<Imports, GuaranteeError> {
        if resolved.is_empty() {
            return Ok(Imports::none(package));
        }
        let telemetry = self.observer().telemetry();
        let imports = package.items.iter().flat_map(|w| &w.import_segments);
        // Per exporting package: its exports, the import segment IDs (positions
        // among all the package's imports) it serves, and each wanted index's
        // first such ID.
        struct Wanted {
            exported: crate::exports::Exported,
            ids: Vec<u16>,
            first_id: std::collections::BTreeMap<u16, u16>,
        }
        let mut wanted: std::collections::BTreeMap<Hash, Wanted> =
            std::collections::BTreeMap::new();
        for (id, (import, r)) in imports.zip(resolved).enumerate() {
            if r.by_package_hash {
                telemetry.send(Event::WorkPackageHashMapped(
                    submission,
                    import.tree_root,
                    r.exported.by.segments_root,
                ));
            }
            let entry = wanted
                .entry(r.exported.by.segments_root)
                .or_insert_with(|| {
                    telemetry.send(Event::SegmentsRootMapped(
                        submission,
                        r.exported.by.segments_root,
                        r.exported.by.erasure_root,
                    ));
                    Wanted {
                        exported: r.exported,
                        ids: Vec::new(),
                        first_id: Default::default(),
                    }
                });
            let id = u16::try_from(id).unwrap_or(u16::MAX);
            entry.ids.push(id);
            entry.first_id.entry(r.index).or_insert(id);
        }
        let all_ids: Vec<u16> = wanted.values().flat_map(|w| w.ids.clone()).collect();
        let me = self.network.peer_id();
        let mut proven = std::collections::HashMap::new();
        for (root, w) in wanted {
            let (exported, ids) = (w.exported, w.ids);
            let indices: Vec<u16> = w.first_id.keys().copied().collect();
            let holders = export_holders(&self.spec, state, &exported, &me);
            let reconstructing = telemetry.send(Event::ReconstructingSegments(
                submission,
                ids.clone(),
                false,
            ));
            let requests = Arc::new(SegmentRequests {
                telemetry: telemetry.clone(),
                submission,
                export_count: exported.by.export_count,
                first_id: w.first_id,
            });
            let segments = match tessera_da::import::import_segments_observed(
                &self.network,
                &self.spec,
                self.backend,
                &exported.by,
                &indices,
                &holders,
                requests,
            )
            .await
            {
                Ok(segments) => {
                    telemetry.send(Event::SegmentsReconstructed(reconstructing));
                    segments
                }
                Err(e) => {
                    let reason: Reason = e.to_string().into();
                    telemetry.send(match e {
                        // Shards proven to the erasure root rebuilt segments that do
                        // not prove to the segments root: verification failed.
                        tessera_da::import::ImportError::InvalidErasureRoot { .. } => {
                            Event::SegmentVerificationFailed(submission, ids, reason)
                        }
                        _ => Event::SegmentReconstructionFailed(reconstructing, reason),
                    });
                    return Err(GuaranteeError::Import(e.to_string()));
                }
            };
            for s in segments {
                proven.insert((root, s.index), s);
            }
        }
        let mut imports = Imports::none(package);
        let mut next = resolved.iter();
        for (item, w) in package.items.iter().enumerate() {
            for _ in &w.import_segments {
                let segment = next
                    .next()
                    .and_then(|r| proven.get(&(r.exported.by.segments_root, r.index)))
                    .ok_or_else(|| GuaranteeError::Import("a segment was not fetched".into()))?;
                imports.segments[item].push(segment.segment.clone());
                imports.justifications[item].push(segment.proof.clone());
            }
        }
        imports.lookup = Imports::lookup_of(package, resolved);
        telemetry.send(Event::SegmentsVerified(submission, all_ids));
        Ok(imports)
    }

    /// The checks before refine (module docs); the imports, resolved.
    fn check(
        &self,
        best: &BestState,
        core: CoreIndex,
        package: &WorkPackage,
    ) -> Result<Vec<Resolved>, GuaranteeError> {
        let spec = &self.spec;
        let state = &best.state;
        if usize::from(core) >= spec.cores() {
            return Err(GuaranteeError::BadCore(core));
        }
        let items = package.items.len();
        if items == 0 || items > spec.max_work_items as usize {
            return Err(GuaranteeError::BadItemCount(items));
        }
        let resolved = self.resolve_imports(package)?;
        let (cores, validators) = assignment(spec, state, best.slot);
        let index = self.my_index(&validators);
        if index.and_then(|i| cores.get(usize::from(i))) != Some(&core) {
            return Err(GuaranteeError::NotAssigned {
                index,
                core,
                slot: best.slot,
            });
        }
        let auth = authorizer_hash(package);
        if !state
            .alpha
            .0
            .get(usize::from(core))
            .is_some_and(|p| p.contains(&auth))
        {
            return Err(GuaranteeError::Unauthorized(auth));
        }
        let x = &package.context;
        let anchored = state.beta.history.iter().any(|b| {
            let root = if b.header_hash == best.header_hash {
                best.state_root
            } else {
                b.state_root
            };
            b.header_hash == x.anchor && root == x.state_root && b.beefy_root == x.beefy_root
        });
        if !anchored {
            return Err(GuaranteeError::BadAnchor(x.anchor));
        }
        if u64::from(x.lookup_anchor_slot) + u64::from(spec.max_lookup_anchor_age)
            < u64::from(best.slot)
        {
            return Err(GuaranteeError::LookupAnchorTooOld {
                anchor: x.lookup_anchor_slot,
                slot: best.slot,
            });
        }
        Ok(resolved)
    }

    /// CE 134 as co-guarantor: decode the bundle, check and refine it as the
    /// primary did, sign the report (GP 11.26). A liar skips the checks and signs
    /// the lying report.
    fn co_guarantee(
        &self,
        req: BundleWithMappings,
        sharing: EventId,
    ) -> Result<WorkReportSignature, GuaranteeError> {
        let spec = &self.spec;
        let bundle =
            Bundle::decode(spec, &req.bundle).map_err(|e| GuaranteeError::Bundle(e.to_string()))?;
        let telemetry = self.observer().telemetry();
        if telemetry.enabled() {
            let package = &bundle.package;
            let outline = WorkPackageOutline::of(package, blake2b_256(&package.encode()));
            telemetry.send(Event::WorkPackageReceived(sharing, req.core_index, outline));
        }
        let best = self.chain.best();
        let lie = self.behaviour == Behaviour::Lie;
        let mut imported = Imports::none(&bundle.package);
        if !lie {
            // The imports as the primary fetched them, each proven to the segments
            // root our own index gives (and the primary's mappings agreeing).
            let resolved = self.check(&best, req.core_index, &bundle.package)?;
            imported.lookup = Imports::lookup_of(&bundle.package, &resolved);
            for (hash, root) in &req.mappings.0 {
                if imported.lookup.get(hash).is_some_and(|ours| ours != root) {
                    return Err(GuaranteeError::Import(format!(
                        "the primary maps package {hash} to segments root {root}, which is not its root"
                    )));
                }
            }
            tessera_audit::execute::check_justifications(&bundle, &imported.lookup)
                .map_err(|e| GuaranteeError::Import(e.to_string()))?;
            for (item, blobs) in bundle.package.items.iter().zip(&bundle.extrinsics) {
                for (x, blob) in item.extrinsic.iter().zip(blobs) {
                    if blake2b_256(blob) != x.hash {
                        return Err(GuaranteeError::Extrinsics(
                            "a blob does not hash to its reference".into(),
                        ));
                    }
                }
            }
        }
        let made = {
            let _gpu = self.observer().gpu_job(self.backend());
            let mut engine = self.engine.lock().unwrap_or_else(|e| e.into_inner());
            make_report(
                spec,
                &mut engine,
                &best.state,
                req.core_index,
                &bundle.package,
                bundle.extrinsics,
                Imports {
                    segments: bundle.imports,
                    justifications: bundle.justifications,
                    lookup: imported.lookup,
                },
                lie,
            )?
        };
        self.observe_made(&made, sharing);
        let report_hash = made.report.hash();
        // A co-guarantor also holds the package's shards (JAMNP-S CE 134: it may be
        // asked for them like the primary).
        store_distributable(
            &self.store,
            &made.coded,
            &made.bundle,
            &made.exports,
            best.slot,
            self.own_shard_index(&best.state, req.core_index),
        )
        .map_err(|e| GuaranteeError::Store(e.to_string()))?;
        Ok(WorkReportSignature {
            report_hash,
            signature: self.keys.ed25519.sign(&guarantee_message(&report_hash)),
        })
    }
}

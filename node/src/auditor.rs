//! The auditor's duty (GP v0.7.2 §17, JAMNP-S CE 144/145/138/147), through
//! `tessera-audit`'s farm: with this node's one identity, or shared by every
//! validator a process hosts (`tessera node --validators-hosted K`,
//! `tessera testnet --farm`). Shared, a block is tracked once (by whichever
//! hosted node imports it first), each report it made available is fetched and
//! re-executed once and judged by every hosted identity that selected it; each
//! identity's announcements and judgments go out on its own node's endpoint,
//! and the outcome (audited, disregarded, disputed) reaches every hosted node's
//! chain and pools.
//!
//! For each imported block that made reports available (`W`, GP 11.16) the node
//! tracks a [`BlockAudit`] and runs tranche `n` once its time comes — tranche 0 at
//! once, tranche `n` `n` tranche periods later: announce (CE 144), fetch the
//! bundle (CE 147 from a guarantor, else CE 138 shards), re-execute, judge
//! (CE 145) — and publishes to every validator. Between tranches it counts what
//! the others published. A block whose every report is audited (`U(w)`,
//! §17.3) is marked audited in the chain, which may make it the best block
//! (GP 19.1). A report with a verdict of *bad* or *wonky* (GP 10.2) goes into the
//! disputes pool with its culprits (the guarantors' credentials from the block
//! that carried the guarantee) and faults, for the next block authored here.
//!
//! The tranche period is the GP's `A = 8 s` scaled by the slot length (`P = 6 s`
//! on the GP's chain), so a testnet with short slots audits at the same pace in
//! slots.
//!
//! With telemetry on, the bundle fetches are JIP-3's bundle-recovery events, the
//! auditor's side ([`RecoveryEvents`]).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use tessera_audit::execute::{Context, StateAuthorizer};
use tessera_audit::fetch::{BundleEvents, BundleFetch};
use tessera_audit::gossip::{publish, Inbox};
use tessera_audit::verdict::{culprits, verdict, Kind};
use tessera_audit::{Auditor, BlockAudit};
use tessera_core::hash::Hash;
use tessera_core::spec::ChainSpec;
use tessera_core::types::{Ed25519Public, Ed25519Signature, WorkReport};
use tessera_da::availability::AvailabilityEngine;
use tessera_da::fetch::Holder;
use tokio::sync::broadcast;
use tracing::{info, warn};

use crate::chain::BlockInfo;
use crate::genesis::StateLookup;
use crate::metrics::{AuditOutcome, OutcomeLabel};
use crate::node::{NodeEvent, Shared};
use crate::telemetry::{peer_id, Event, EventId, Telemetry};

/// Tranches after which a block still not audited is given up on (logged).
const MAX_TRANCHES: u32 = 12;

/// What the node's audits have done (a shared farm's: all its hosted nodes').
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AuditCounts {
    /// Blocks that made reports available and were audited.
    pub blocks_audited: u64,
    /// Reports re-executed (once each, however many hosted identities judged).
    pub executed: u64,
    /// Of those, judged invalid.
    pub invalid: u64,
    /// Verdicts of bad or wonky put into the disputes pool.
    pub disputes: u64,
}

/// One block under audit.
struct Tracked {
    started: Instant,
    /// The next tranche to run.
    next: u32,
    sources: BTreeMap<Hash, BundleFetch>,
    state: Arc<tessera_state::ChainState>,
    disputed: bool,
}

/// Epochs a report's guarantor credentials are kept after the block that carried its
/// guarantee (its audit ends within a few tranches of its availability, which comes
/// within U slots of the guarantee, GP 11.4).
const CREDENTIAL_EPOCHS: u32 = 2;

/// A guarantee's signers: key and signature.
type Credentials = Vec<(Ed25519Public, Ed25519Signature)>;

/// How many tracked block hashes a duty remembers, so that the other hosted
/// nodes' imports of a block do not track it again.
const TRACKED_MEMORY: usize = 4096;

/// The auditor: its identities, the farm, the nodes it audits for and the
/// blocks it tracks.
pub struct AuditDuty {
    farm: tokio::sync::Mutex<tessera_audit::farm::Farm>,
    /// Identities attached since the last tranche, for the farm to host (it is
    /// locked across a tranche's awaits, which a node's start does not wait for).
    joining: Mutex<Vec<Auditor>>,
    /// The hosted nodes ([`AuditDuty::attach`]).
    members: Mutex<Vec<Weak<Shared>>>,
    /// Blocks tracked so far, newest last (at most [`TRACKED_MEMORY`]).
    tracked: Mutex<VecDeque<Hash>>,
    blocks: Mutex<BTreeMap<Hash, Tracked>>,
    /// The trackers, by header hash (the inbox drains into them).
    audits: Mutex<BTreeMap<Hash, BlockAudit>>,
    inbox: Arc<Mutex<Inbox>>,
    engine: Mutex<AvailabilityEngine>,
    /// Guarantor credentials by report hash (from imported blocks' `E_G`), with the
    /// slot of the block that carried them: kept [`CREDENTIAL_EPOCHS`] epochs, long
    /// past any audit of the report, then dropped.
    credentials: Mutex<BTreeMap<Hash, (u32, Credentials)>>,
    counts: Mutex<AuditCounts>,
    tranche: Duration,
    /// The bundle fetches' requests and rebuilds, as telemetry events.
    recovery: Arc<RecoveryEvents>,
}

impl AuditDuty {
    /// A duty for the validators it will host (each attached with
    /// [`AuditDuty::attach`] as its node starts), whose slots last `slot`,
    /// rebuilding bundles on `backend`.
    pub fn new(spec: &ChainSpec, backend: tessera_kernels::Backend, slot: Duration) -> AuditDuty {
        let recovery = Arc::new(RecoveryEvents::default());
        let mut farm = tessera_audit::farm::Farm::new(spec, backend, Vec::new());
        farm.observe(recovery.clone());
        AuditDuty {
            farm: tokio::sync::Mutex::new(farm),
            joining: Mutex::new(Vec::new()),
            members: Mutex::new(Vec::new()),
            tracked: Mutex::new(VecDeque::new()),
            blocks: Mutex::new(BTreeMap::new()),
            audits: Mutex::new(BTreeMap::new()),
            inbox: Arc::new(Mutex::new(Inbox::default())),
            engine: Mutex::new(AvailabilityEngine::new(spec, backend)),
            credentials: Mutex::new(BTreeMap::new()),
            counts: Mutex::new(AuditCounts::default()),
            tranche: slot * 8 / 6,
            recovery,
        }
    }

    /// Audit for the node `shared`: its identity joins the farm (at the next
    /// tranche), the audit messages its endpoint receives come to this duty's
    /// inbox, its endpoint publishes its identity's, and the outcomes reach its
    /// chain and pools.
    pub fn attach(&self, shared: &Arc<Shared>) {
        if !shared.validating {
            return;
        }
        lock(&self.joining).push(Auditor {
            secrets: shared.keys.clone(),
        });
        tessera_audit::gossip::register(&shared.network, self.inbox.clone());
        lock(&self.members).push(Arc::downgrade(shared));
    }

    /// The hosted nodes still running.
    fn members(&self) -> Vec<Arc<Shared>> {
        lock(&self.members)
            .iter()
            .filter_map(Weak::upgrade)
            .collect()
    }

    /// What the audits have done so far.
    pub fn counts(&self) -> AuditCounts {
        *lock(&self.counts)
    }

    /// Start tracking the block `info` that made `available` available; `began`
    /// is the telemetry event that began its import or authoring on `shared`.
    fn track(
        &self,
        shared: &Shared,
        info: &BlockInfo,
        available: &[WorkReport],
        began: Option<EventId>,
    ) -> anyhow::Result<()> {
        {
            // Hosted nodes import the same blocks: the first tracks it for all.
            let mut tracked = lock(&self.tracked);
            if tracked.contains(&info.hash) {
                return Ok(());
            }
            tracked.push_back(info.hash);
            while tracked.len() > TRACKED_MEMORY {
                tracked.pop_front();
            }
        }
        let mut chain = shared.chain();
        let block = chain
            .block(&info.hash)
            .ok_or_else(|| anyhow::anyhow!("block {} not in the tree", info.hash))?;
        // Remember who guaranteed what (culprits of a bad verdict, GP 10.5).
        let parent = chain
            .state(&info.parent)?
            .ok_or_else(|| anyhow::anyhow!("no state for the parent of {}", info.hash))?;
        let state = chain
            .state(&info.hash)?
            .ok_or_else(|| anyhow::anyhow!("no state for {}", info.hash))?
            .state;
        {
            let mut creds = lock(&self.credentials);
            for g in &block.extrinsic.guarantees.0 {
                let signers = guarantor_set(&shared.spec, &state, info.slot, g.slot);
                let list: Vec<(Ed25519Public, Ed25519Signature)> = g
                    .signatures
                    .iter()
                    .filter_map(|s| {
                        let key = signers.ed25519(s.validator_index)?;
                        Some((*key, s.signature))
                    })
                    .collect();
                creds.insert(g.report.hash(), (info.slot, list));
            }
            let keep = CREDENTIAL_EPOCHS * chain.spec().epoch_length;
            let floor = info.slot.saturating_sub(keep);
            creds.retain(|_, (slot, _)| *slot >= floor);
        }
        if available.is_empty() {
            return Ok(());
        }
        drop(chain);
        // A block no hosted validator audits (none is in its auditors' set, the
        // parent's `κ`: one of `γ_P` waiting for its epoch, or one that left
        // `κ`) is not tracked: no audit messages come for it, and finality needs
        // no vote from us on it.
        let auditors = &parent.state.kappa;
        if !self
            .members()
            .iter()
            .any(|m| m.index_in(auditors).is_some())
        {
            tracing::debug!(block = %info.hash, "no validator here is among this block's auditors; not audited here");
            return Ok(());
        }
        let epoch = info.slot / shared.spec.epoch_length.max(1);
        let audit = BlockAudit::new(
            &shared.spec,
            &block.header,
            epoch,
            parent.state.kappa.0.clone(),
            available,
        )?;
        let me = shared.network.peer_id();
        // The auditors' set, the parent's `κ`, by index: the assurers that
        // assured these reports held their shards under these indices.
        let kappa: Vec<tessera_net::PeerId> = parent
            .state
            .kappa
            .0
            .iter()
            .map(|v| tessera_net::PeerId::from(v.ed25519))
            .collect();
        let sources = available
            .iter()
            .map(|report| {
                let core = report.core_index;
                let assurers = kappa
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| **p != me)
                    .filter_map(|(v, peer)| {
                        let v = u16::try_from(v).ok()?;
                        Some(Holder {
                            peer: *peer,
                            shard_index: tessera_da::assignment::shard_index(
                                &shared.spec,
                                core,
                                v,
                            )?,
                        })
                    })
                    .collect();
                // The report's guarantors (from the block that carried its
                // guarantee), else every other validator.
                let known: Vec<tessera_net::PeerId> = lock(&self.credentials)
                    .get(&report.hash())
                    .map(|(_, c)| {
                        c.iter()
                            .map(|(k, _)| tessera_net::PeerId::from(*k))
                            .collect()
                    })
                    .unwrap_or_default();
                let guarantors = if known.is_empty() {
                    kappa.iter().copied().filter(|p| *p != me).collect()
                } else {
                    known.into_iter().filter(|p| *p != me).collect()
                };
                (
                    report.hash(),
                    BundleFetch {
                        report: report.clone(),
                        guarantors,
                        assurers,
                    },
                )
            })
            .collect();
        if let Some(began) = began {
            for report in available {
                self.recovery
                    .audit(report.hash(), shared.observer.telemetry(), began);
            }
        }
        lock(&self.audits).insert(info.hash, audit);
        lock(&self.blocks).insert(
            info.hash,
            Tracked {
                started: Instant::now(),
                next: 0,
                sources,
                state,
                disputed: false,
            },
        );
        Ok(())
    }

    /// Run what is due: count received messages, run due tranches, mark audited
    /// blocks, pool verdicts.
    async fn tick(&self, shared: &Arc<Shared>) {
        {
            let mut audits = lock(&self.audits);
            lock(&self.inbox).drain_into(&mut audits);
        }
        let due: Vec<(Hash, u32)> = {
            let blocks = lock(&self.blocks);
            blocks
                .iter()
                .filter_map(|(h, t)| {
                    let tranche = u32::try_from(
                        t.started.elapsed().as_nanos() / self.tranche.as_nanos().max(1),
                    )
                    .unwrap_or(u32::MAX);
                    (tranche >= t.next).then_some((*h, tranche))
                })
                .collect()
        };
        for (hash, tranche) in due {
            self.run_tranche(shared, hash, tranche).await;
        }
        self.conclude(shared);
    }

    async fn run_tranche(&self, shared: &Arc<Shared>, hash: Hash, tranche: u32) {
        let Some(mut tracked) = lock(&self.blocks).remove(&hash) else {
            return;
        };
        let Some(mut audit) = lock(&self.audits).remove(&hash) else {
            return;
        };
        tracked.next = tranche + 1;
        let lookup = StateLookup(&tracked.state);
        let authorizer = StateAuthorizer {
            spec: &shared.spec,
            lookup: &lookup,
        };
        let ctx = Context {
            lookup: &lookup,
            is_authorized: &authorizer,
            erasure_root: &self.engine,
        };
        let deadline = tracked.started + self.tranche * (tranche + 1);
        let (result, before, after) = {
            let mut farm = self.farm.lock().await;
            for identity in lock(&self.joining).drain(..) {
                farm.host(identity);
            }
            let before = farm.counters();
            let result = farm
                .tranche(
                    &shared.network,
                    &mut audit,
                    u8::try_from(tranche).unwrap_or(u8::MAX),
                    &tracked.sources,
                    &ctx,
                    deadline,
                )
                .await;
            (result, before, farm.counters())
        };
        // Rebuilds and unavailable bundles, as the farm counted them.
        let observer = &shared.observer;
        if after.reconstructed > before.reconstructed {
            observer.reconstructed(
                shared.backend,
                after.rebuilt_bytes - before.rebuilt_bytes,
                Duration::from_nanos(after.rebuild_nanos - before.rebuild_nanos),
            );
        }
        observer
            .metrics
            .audits
            .get_or_create(&OutcomeLabel {
                outcome: AuditOutcome::Failed,
            })
            .inc_by(after.unavailable.saturating_sub(before.unavailable));
        match result {
            Ok(work) => {
                for verdict in work.verdicts.values() {
                    let outcome = match verdict {
                        Ok(()) => AuditOutcome::Valid,
                        Err(_) => AuditOutcome::Invalid,
                    };
                    observer
                        .metrics
                        .audits
                        .get_or_create(&OutcomeLabel { outcome })
                        .inc();
                    observer.metrics.audit_tranche.observe(f64::from(tranche));
                }
                {
                    let mut counts = lock(&self.counts);
                    counts.executed += work.verdicts.len() as u64;
                    counts.invalid += work.verdicts.values().filter(|v| v.is_err()).count() as u64;
                }
                // Each hosted identity publishes on its own endpoint, under its
                // index in this block's auditors' set, to that set.
                let endpoints: BTreeMap<_, _> = self
                    .members()
                    .iter()
                    .filter_map(|m| {
                        let v = audit.validator_index(&m.keys.ed25519.public())?;
                        Some((v, m.network.clone()))
                    })
                    .collect();
                let auditors: Vec<tessera_net::PeerId> = (0..shared.spec.validators())
                    .filter_map(|v| audit.validator_key(u16::try_from(v).ok()?))
                    .map(tessera_net::PeerId::from)
                    .collect();
                let failed = publish(&endpoints, &auditors, &work).await;
                if failed > 0 {
                    warn!(block = %hash, tranche, failed, "audit messages not delivered");
                }
            }
            Err(e) => warn!(block = %hash, tranche, error = %e, "audit tranche failed"),
        }
        // Messages that arrived meanwhile for this block were left in the inbox
        // as unknown; the next drain counts them again only if still queued.
        lock(&self.audits).insert(hash, audit);
        lock(&self.blocks).insert(hash, tracked);
    }

    /// Mark audited blocks, pool verdicts, give up on blocks past the last tranche.
    fn conclude(&self, shared: &Arc<Shared>) {
        let members = self.members();
        let members = if members.is_empty() {
            vec![shared.clone()]
        } else {
            members
        };
        let mut blocks = lock(&self.blocks);
        let audits = lock(&self.audits);
        let mut done = Vec::new();
        for (hash, t) in blocks.iter_mut() {
            let Some(audit) = audits.get(hash) else {
                continue;
            };
            if !t.disputed {
                for w in t.sources.keys() {
                    let Some(material) = verdict(&shared.spec, audit, w) else {
                        continue;
                    };
                    if material.kind == Kind::Good {
                        continue;
                    }
                    let guarantors = lock(&self.credentials)
                        .get(w)
                        .map(|(_, c)| c.clone())
                        .unwrap_or_default();
                    let culprits = if material.kind == Kind::Bad {
                        culprits(w, &guarantors)
                    } else {
                        Vec::new()
                    };
                    warn!(report = %w, kind = ?material.kind, culprits = culprits.len(), "verdict: report disputed");
                    for m in &members {
                        m.pools().add_dispute(
                            material.verdict.clone(),
                            culprits.clone(),
                            material.faults.clone(),
                        );
                    }
                    lock(&self.counts).disputes += 1;
                    t.disputed = true;
                }
            }
            // GP §17.4: a chain that accumulates a report a third of the
            // validators judge invalid is not built on.
            let invalid = t.sources.keys().any(|w| {
                audit
                    .report(w)
                    .is_some_and(|r| r.negative().len() * 3 >= shared.spec.validators())
            });
            if invalid {
                for m in &members {
                    let mut chain = m.chain();
                    if !chain.is_disregarded(hash) {
                        warn!(block = %hash, key = %m.keys.ed25519.public(), "a report it accumulates is judged invalid by a third of the validators; chain disregarded");
                        if chain.set_disregarded(*hash) {
                            let best = chain.best().clone();
                            drop(chain);
                            m.emit(NodeEvent::Best(best));
                        }
                    }
                }
            }
            if audit.is_audited() {
                done.push(*hash);
                for m in &members {
                    m.chain().set_audited(*hash);
                }
                lock(&self.counts).blocks_audited += 1;
                info!(block = %hash, "block audited");
            } else if t.next > MAX_TRANCHES && !t.disputed {
                warn!(block = %hash, "block not audited after {MAX_TRANCHES} tranches; given up");
                done.push(*hash);
            } else if t.next > MAX_TRANCHES * 4 {
                done.push(*hash);
            }
        }
        drop(audits);
        for h in done {
            if let Some(t) = blocks.remove(&h) {
                lock(&self.inbox).finish(h, t.sources.into_keys().collect());
            }
            lock(&self.audits).remove(&h);
        }
    }
}

/// The set whose indices the signatures of a guarantee of slot `guaranteed`,
/// carried by the block of slot `slot` with posterior state `post`, name (GP
/// 11.21–11.22, as the reports transition reads them): `κ′` for a guarantee of
/// the block's rotation, and for one of the rotation before, `κ′` if that
/// rotation began in this epoch, else `λ′`.
fn guarantor_set<'a>(
    spec: &ChainSpec,
    post: &'a tessera_state::ChainState,
    slot: u32,
    guaranteed: u32,
) -> &'a tessera_state::sigma::validators::ValidatorSet {
    let rotation = spec.rotation_period.max(1);
    let epoch = spec.epoch_length.max(1);
    let prior = slot.saturating_sub(rotation);
    if guaranteed / rotation == slot / rotation || prior / epoch == slot / epoch {
        &post.kappa
    } else {
        &post.lambda
    }
}

/// The audits' bundle recovery as JIP-3 events, the auditor's side: CE 147
/// requests (148, then 151 and 153, or 150), CE 138 requests (140, then 143 and
/// 145, or 142) and rebuilds (146, 147).
///
/// JIP-3 leaves the "auditing event" that 140, 146, 147 and 148 name as a TODO
/// (it defines no auditing events yet). Tessera names the event that began the
/// authoring (40) or import (43) of the block whose reports are audited, on the
/// telemetry connection of the node that tracked it: the nearest event JIP-3
/// defines to "this block's audit begins".
#[derive(Default)]
pub(crate) struct RecoveryEvents {
    /// Per report under audit: its node's telemetry and the block's event, the
    /// newest [`RECOVERY_REPORTS`] kept.
    reports: Mutex<(HashMap<Hash, Reported>, VecDeque<Hash>)>,
    /// Requests in flight by token: their telemetry and sending event.
    requests: Mutex<HashMap<u64, Reported>>,
    /// The last token given (0 is "not reported").
    tokens: AtomicU64,
}

/// A telemetry connection and an event sent on it.
type Reported = (Telemetry, EventId);

/// How many reports' audit events [`RecoveryEvents`] remembers: far more than
/// are under audit at once.
const RECOVERY_REPORTS: usize = 4096;

impl RecoveryEvents {
    /// Report the recovery of `report`'s bundle on `telemetry`, under `began`.
    fn audit(&self, report: Hash, telemetry: &Telemetry, began: EventId) {
        let mut guard = lock(&self.reports);
        let (map, order) = &mut *guard;
        if map.insert(report, (telemetry.clone(), began)).is_none() {
            order.push_back(report);
        }
        while order.len() > RECOVERY_REPORTS {
            if let Some(old) = order.pop_front() {
                map.remove(&old);
            }
        }
    }

    /// `event(the block's event)` sent for `report`, if reported: the token for
    /// its request's end.
    fn sending(&self, report: &Hash, event: impl FnOnce(EventId) -> Event) -> u64 {
        let Some((telemetry, began)) = lock(&self.reports).0.get(report).cloned() else {
            return 0;
        };
        let id = telemetry.send(event(began));
        let token = self.tokens.fetch_add(1, Ordering::Relaxed) + 1;
        lock(&self.requests).insert(token, (telemetry, id));
        token
    }

    /// The request `token` ended: `done(its id)` if it succeeded, else
    /// `failed(its id, why)`.
    fn finished(
        &self,
        token: u64,
        outcome: Result<(), String>,
        done: impl FnOnce(EventId) -> [Event; 2],
        failed: impl FnOnce(EventId, String) -> Event,
    ) {
        let Some((telemetry, id)) = lock(&self.requests).remove(&token) else {
            return;
        };
        match outcome {
            Ok(()) => done(id).into_iter().for_each(|e| {
                telemetry.send(e);
            }),
            Err(why) => {
                telemetry.send(failed(id, why));
            }
        }
    }

    /// `event(the block's event)` for `report`, if reported.
    fn about(&self, report: &Hash, event: impl FnOnce(EventId) -> Event) {
        if let Some((telemetry, began)) = lock(&self.reports).0.get(report).cloned() {
            telemetry.send(event(began));
        }
    }
}

impl BundleEvents for RecoveryEvents {
    fn sending_bundle_request(&self, report: &Hash, peer: &tessera_net::PeerId) -> u64 {
        self.sending(report, |began| {
            Event::SendingBundleRequest(began, peer_id(peer))
        })
    }
    fn bundle_request_finished(&self, token: u64, outcome: Result<(), String>) {
        self.finished(
            token,
            outcome,
            |id| [Event::BundleRequestSent(id), Event::BundleTransferred(id)],
            |id, why| Event::BundleRequestFailed(id, why.into()),
        );
    }
    fn sending_shard_request(
        &self,
        report: &Hash,
        peer: &tessera_net::PeerId,
        shard_index: u16,
    ) -> u64 {
        self.sending(report, |began| {
            Event::SendingBundleShardRequest(began, peer_id(peer), shard_index)
        })
    }
    fn shard_request_finished(&self, token: u64, outcome: Result<(), String>) {
        self.finished(
            token,
            outcome,
            |id| {
                [
                    Event::BundleShardRequestSent(id),
                    Event::BundleShardTransferred(id),
                ]
            },
            |id, why| Event::BundleShardRequestFailed(id, why.into()),
        );
    }
    fn reconstructing(&self, report: &Hash, trivial: bool) {
        self.about(report, |began| Event::ReconstructingBundle(began, trivial));
    }
    fn reconstructed(&self, report: &Hash, outcome: Result<(), String>) {
        // JIP-3 has no "reconstruction failed" event; the farm logs the failure.
        if outcome.is_ok() {
            self.about(report, Event::BundleReconstructed);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The auditor task: track blocks as they are imported, tick four times a
/// tranche.
pub async fn run(
    shared: Arc<Shared>,
    duty: Arc<AuditDuty>,
    mut events: broadcast::Receiver<NodeEvent>,
) {
    let mut tick = tokio::time::interval(duty.tranche / 4);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            event = events.recv() => match event {
                Ok(NodeEvent::Available(info, available, began)) => {
                    if let Err(e) = duty.track(&shared, &info, &available, began) {
                        warn!(block = %info.hash, error = %e, "block not tracked for audit");
                    }
                    if !available.is_empty() {
                        duty.tick(&shared).await;
                    }
                }
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(n)) => warn!(missed = n, "auditor lagged behind the node's events"),
                Err(broadcast::error::RecvError::Closed) => return,
            },
            _ = tick.tick() => duty.tick(&shared).await,
        }
    }
}

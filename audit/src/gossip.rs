//! Announcements and judgments over the network (JAMNP-S CE 144 "Audit announcement"
//! and CE 145 "Judgment publication"; both are sent by an auditor to the other
//! validators).
//!
//! Received messages are not checked one by one as they arrive: the handlers queue
//! them in an [`Inbox`] (bounded: a full inbox refuses, which resets the stream, and
//! says so in the log), and [`Inbox::drain_into`] hands each block's
//! announcements, and each judgment to the block whose report it names, to
//! [`BlockAudit`]'s batch checks (Ed25519 in one batch, then the VRFs). What fails
//! is logged with its reason and never counted. What is for a block or report this
//! node does not track yet is held and tried again at each drain, for up to
//! [`HOLD`]: an auditor's messages often arrive before a node has imported the
//! block (a fork block, a node a slot behind), and a node that dropped them could
//! never see that block audited — its best chain would part from its peers' for
//! good (GP 19.1 counts only audited blocks). Accepted negative judgments are
//! returned, for the caller to forward to its grid neighbours (§17.3: a negative
//! judgment obliges every auditor to audit).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tessera_core::types::{Ed25519Public, ValidatorIndex};
use tessera_core::Hash;
use tessera_net::messages::{
    AuditAnnouncement, AuditAnnouncementProtocol, JudgmentMessage, JudgmentPublication,
};
use tessera_net::{Network, PeerId, Refusal};
use tracing::{debug, warn};

use crate::farm::TrancheWork;
use crate::tracker::BlockAudit;

/// Messages queued between batch checks, at most this many of each kind (and
/// as many again held for blocks not yet tracked).
pub const INBOX_LIMIT: usize = 16_384;

/// How long a message for a block or report not tracked is held: the GP's
/// tranche period `A` (8 s) times the audit's tranches a node runs, with room.
pub const HOLD: Duration = Duration::from_secs(120);

/// What arrived since the last drain, and what waits for its block.
#[derive(Debug, Default)]
pub struct Inbox {
    announcements: Vec<(Ed25519Public, AuditAnnouncement)>,
    judgments: Vec<JudgmentMessage>,
    /// Announcements for blocks not tracked yet, with when they arrived.
    held_announcements: Vec<(Instant, Ed25519Public, AuditAnnouncement)>,
    /// Judgments on reports not tracked yet, with when they arrived.
    held_judgments: Vec<(Instant, JudgmentMessage)>,
    /// Blocks (and their reports) this node finished auditing, newest last:
    /// messages for them are dropped, not held.
    finished: std::collections::VecDeque<(Hash, Vec<Hash>)>,
}

/// Finished blocks remembered: a block's late messages come within a few
/// tranches, while many newer blocks finish.
pub const FINISHED_LIMIT: usize = 1024;

/// What a drain counted and refused.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Drained {
    /// Announcements counted.
    pub announcements: usize,
    /// Judgments counted.
    pub judgments: usize,
    /// Messages refused (bad signature or VRF, non-auditor, duplicate, …).
    pub refused: usize,
    /// Messages for blocks or reports not tracked here.
    pub unknown: usize,
    /// The negative judgments counted, to forward.
    pub negative: Vec<JudgmentMessage>,
}

impl Inbox {
    /// Queue a received announcement from `sender` (the peer's certificate key).
    pub fn push_announcement(
        &mut self,
        sender: Ed25519Public,
        a: AuditAnnouncement,
    ) -> Result<(), Refusal> {
        if self.announcements.len() >= INBOX_LIMIT {
            warn!(%sender, "audit inbox full: announcement refused");
            return Err(Refusal("audit announcements inbox full".into()));
        }
        self.announcements.push((sender, a));
        Ok(())
    }

    /// Queue a received judgment.
    pub fn push_judgment(&mut self, j: JudgmentMessage) -> Result<(), Refusal> {
        if self.judgments.len() >= INBOX_LIMIT {
            warn!(
                validator = j.validator_index,
                "audit inbox full: judgment refused"
            );
            return Err(Refusal("judgments inbox full".into()));
        }
        self.judgments.push(j);
        Ok(())
    }

    /// The block `header` (with the reports `reports`) is no longer tracked: it
    /// was audited or given up. Messages held for it are dropped, and so are
    /// those that arrive later.
    pub fn finish(&mut self, header: Hash, reports: Vec<Hash>) {
        self.held_announcements
            .retain(|(_, _, a)| a.header_hash != header);
        self.held_judgments
            .retain(|(_, j)| !reports.contains(&j.report_hash));
        self.finished.push_back((header, reports));
        while self.finished.len() > FINISHED_LIMIT {
            self.finished.pop_front();
        }
    }

    fn is_finished_block(&self, header: &Hash) -> bool {
        self.finished.iter().any(|(h, _)| h == header)
    }

    fn is_finished_report(&self, report: &Hash) -> bool {
        self.finished.iter().any(|(_, r)| r.contains(report))
    }

    /// Check everything queued against the blocks tracked in `blocks` (by header
    /// hash), in batches, and count what passes.
    pub fn drain_into(&mut self, blocks: &mut BTreeMap<Hash, BlockAudit>) -> Drained {
        let mut out = Drained::default();
        let now = Instant::now();
        let fresh = |at: &Instant| now.duration_since(*at) < HOLD;
        let mut by_block: BTreeMap<Hash, Vec<(Ed25519Public, AuditAnnouncement)>> = BTreeMap::new();
        let held = std::mem::take(&mut self.held_announcements);
        let queued: Vec<_> = self
            .announcements
            .drain(..)
            .map(|(s, a)| (now, s, a))
            .collect();
        for (at, sender, a) in held.into_iter().filter(|(at, ..)| fresh(at)).chain(queued) {
            if blocks.contains_key(&a.header_hash) {
                by_block.entry(a.header_hash).or_default().push((sender, a));
            } else if self.is_finished_block(&a.header_hash) {
                out.unknown += 1;
            } else {
                debug!(header = %a.header_hash, %sender, "announcement for a block not tracked; held");
                out.unknown += 1;
                self.held_announcements.push((at, sender, a));
            }
        }
        keep_newest(&mut self.held_announcements, INBOX_LIMIT);
        for (header, batch) in by_block {
            let Some(block) = blocks.get_mut(&header) else {
                continue;
            };
            for (result, (sender, _)) in block.receive_announcements(&batch).into_iter().zip(&batch)
            {
                match result {
                    Ok(_) => out.announcements += 1,
                    Err(reason) => {
                        warn!(%sender, header = %header, %reason, "audit announcement refused");
                        out.refused += 1;
                    }
                }
            }
        }
        let mut by_report: BTreeMap<Hash, Vec<JudgmentMessage>> = BTreeMap::new();
        let held = std::mem::take(&mut self.held_judgments);
        let queued: Vec<_> = self.judgments.drain(..).map(|j| (now, j)).collect();
        for (at, j) in held.into_iter().filter(|(at, _)| fresh(at)).chain(queued) {
            // A judgment names a report, not a block (CE 145): it counts for every
            // tracked block that made the report available (the same report can
            // become available on two forks), except where already counted.
            // (A block of another epoch has another auditor set: the judgment's
            // epoch must be the block's.)
            let mut known = false;
            for (header, b) in blocks.iter() {
                let Some(r) = b.report(&j.report_hash) else {
                    continue;
                };
                known = true;
                let counted = r.positive().contains(&j.validator_index)
                    || r.negative().contains(&j.validator_index);
                if counted || b.epoch() != j.epoch_index {
                    continue;
                }
                let batch = by_report.entry(*header).or_default();
                // The same message twice in one drain (held and received again,
                // or forwarded) is checked once. Only an identical copy: a forged
                // one must not shadow the genuine message.
                if !batch.contains(&j) {
                    batch.push(j.clone());
                }
            }
            if !known {
                // Held even when its block finished: another fork's block may make
                // the same report available later.
                if at == now && !self.is_finished_report(&j.report_hash) {
                    debug!(report = %j.report_hash, "judgment on a report not tracked; held");
                }
                out.unknown += 1;
                self.held_judgments.push((at, j));
            }
        }
        keep_newest(&mut self.held_judgments, INBOX_LIMIT);
        for (header, batch) in by_report {
            let Some(block) = blocks.get_mut(&header) else {
                continue;
            };
            for (result, j) in block.receive_judgments(&batch).into_iter().zip(batch) {
                match result {
                    Ok(_) => {
                        out.judgments += 1;
                        if !j.valid {
                            out.negative.push(j);
                        }
                    }
                    Err(reason) => {
                        warn!(validator = j.validator_index, report = %j.report_hash, %reason, "judgment refused");
                        out.refused += 1;
                    }
                }
            }
        }
        out
    }
}

/// Drop the oldest of `held` (in arrival order) beyond `limit`.
fn keep_newest<T>(held: &mut Vec<T>, limit: usize) {
    let excess = held.len().saturating_sub(limit);
    held.drain(..excess);
}

/// Register the CE 144 and CE 145 handlers on `network`, queueing into `inbox`.
pub fn register(network: &Network, inbox: Arc<Mutex<Inbox>>) {
    let queue = inbox.clone();
    network.register::<AuditAnnouncementProtocol, _, _>(
        move |peer: PeerId, a: AuditAnnouncement| {
            let queue = queue.clone();
            async move { lock(&queue).push_announcement(*peer.key(), a) }
        },
    );
    network.register::<JudgmentPublication, _, _>(move |_peer: PeerId, j: JudgmentMessage| {
        let queue = inbox.clone();
        async move { lock(&queue).push_judgment(j) }
    });
}

/// Send a tranche's announcements (CE 144) and judgments (CE 145) to each of
/// `peers`, all at once, each from its identity's own endpoint in `endpoints` (the
/// receiver knows an announcer by its connection); gives the number of messages
/// that failed or had no endpoint (each logged).
pub async fn publish(
    endpoints: &BTreeMap<ValidatorIndex, Network>,
    peers: &[PeerId],
    work: &TrancheWork,
) -> usize {
    let mut failed = 0;
    for (v, network) in endpoints {
        let announcements: Vec<AuditAnnouncement> = work
            .announcements
            .iter()
            .filter(|(by, _)| by == v)
            .map(|(_, a)| a.clone())
            .collect();
        let judgments: Vec<JudgmentMessage> = work
            .judgments
            .iter()
            .filter(|j| j.validator_index == *v)
            .cloned()
            .collect();
        let to: Vec<PeerId> = peers
            .iter()
            .filter(|p| *p != &network.peer_id())
            .copied()
            .collect();
        failed += forward(network, &to, &announcements, &judgments).await;
    }
    let orphans = work
        .announcements
        .iter()
        .filter(|(v, _)| !endpoints.contains_key(v))
        .count()
        + work
            .judgments
            .iter()
            .filter(|j| !endpoints.contains_key(&j.validator_index))
            .count();
    if orphans > 0 {
        warn!(
            orphans,
            "audit messages of identities without an endpoint were not sent"
        );
    }
    failed + orphans
}

/// Send `announcements` and `judgments` to each of `peers` (publishing our own, or
/// forwarding received negative judgments); gives the number that failed.
pub async fn forward(
    network: &Network,
    peers: &[PeerId],
    announcements: &[AuditAnnouncement],
    judgments: &[JudgmentMessage],
) -> usize {
    let mut sends = tokio::task::JoinSet::new();
    for peer in peers {
        for a in announcements {
            let (network, peer, a) = (network.clone(), *peer, a.clone());
            sends.spawn(async move {
                (
                    peer,
                    network
                        .request::<AuditAnnouncementProtocol>(&peer, &a)
                        .await
                        .err(),
                )
            });
        }
        for j in judgments {
            let (network, peer, j) = (network.clone(), *peer, j.clone());
            sends.spawn(async move {
                (
                    peer,
                    network
                        .request::<JudgmentPublication>(&peer, &j)
                        .await
                        .err(),
                )
            });
        }
    }
    let mut failed = 0;
    while let Some(joined) = sends.join_next().await {
        match joined {
            Ok((_, None)) => {}
            Ok((peer, Some(error))) => {
                warn!(%peer, %error, "CE 144/145 send failed");
                failed += 1;
            }
            Err(error) => {
                warn!(%error, "CE 144/145 send task failed");
                failed += 1;
            }
        }
    }
    failed
}

/// The inbox, even if a panicking holder poisoned its lock (the queue stays valid:
/// pushes and drains leave it whole).
fn lock(inbox: &Mutex<Inbox>) -> std::sync::MutexGuard<'_, Inbox> {
    match inbox.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

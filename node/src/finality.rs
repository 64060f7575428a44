//! GRANDPA finality (GP v0.7.2 §19, "Grandpa and the Best Chain") on the
//! `finality-grandpa` crate's voter, over Tessera's own CE 250 stream kind.
//!
//! GP §19 has validators finalize with GRANDPA and requires that the best chain
//! (eq. 19.1) descend from the latest finalized block and contain only audited
//! blocks. This module runs the voter of one validator:
//!
//! - **The chain** comes from a [`BlockTree`] the node implements: parents and
//!   heights of known blocks, the best block whose ancestors are all audited (the
//!   only block we prevote for, or a descendant of the round's base), the
//!   finalized block, and a callback that receives each finalized block with its
//!   justification.
//! - **The network** is [`tessera_net::Network`] with one stream kind of
//!   Tessera's own, CE 250 ([`tessera_net::messages::GrandpaProtocol`]; JAMNP-S
//!   defines no GRANDPA streams yet): one [`GrandpaMessage`] per stream — a vote,
//!   a commit or a catch-up — sent to every peer given to [`start`], commits
//!   also to the other connected nodes that are not builders (followers, which
//!   run this module without a key and learn finality from commits alone).
//! - **Signatures** are Ed25519 with the validators' keys (`κ_e`; JIP-5 dev keys in
//!   tests) over [`vote_payload`]: the context `"tessera_grandpa"`, then the GP
//!   codec encoding of the vote, the round (`E_8`) and the voter-set id (`E_8`).
//!
//! Incoming messages are checked before the voter sees them: a set id that is not
//! ours, a key outside the voter set or a bad signature drops the message and
//! names the peer in a log line; votes for blocks the tree does not know yet wait
//! (bounded) until it does; votes too far ahead of our round are dropped. A voter
//! that falls behind is sent a catch-up by the peers it sends old-round votes to.
//!
//! **Voter sets.** A set is fixed per set id: the keys of `κ` of the finalized
//! block's state, each of weight 1. A new order of the same keys (as
//! `tessera testnet --rotate-validators` makes at its epoch changes) is the same
//! voter set: votes name keys, not indices. An epoch change that brings other
//! keys into `κ` (GP 6.13; `tessera testnet --change-validators`) ends the set
//! at that block ([`BlockTree::next_voter_set`]): the set votes for nothing past
//! it (the best block is cut there), and once it is final (by the set's own
//! round or a commit received) the voter hands off — a fresh record of set id
//! `+1`, then a voter of the new keys starting from that block. The node's
//! store writes the new id with the finalized block, so a restart starts in the
//! right set. A peer still voting in an ended set is sent the commit that ended
//! it (the last few sets' are kept), which hands it off too, and so is a peer
//! that connects after a hand-off; a later set's commit is kept until we hand
//! off to that set, its votes are dropped (voters resend theirs). A
//! justification names its set id, so either set's can be checked. GRANDPA's
//! BFT threshold means a set of `V` tolerates `⌊(V−1)/3⌋` silent voters (one of
//! six in the tiny spec).
//!
//! **The voter's record** ([`record`], in the node's store) lets a validator
//! killed and restarted resume its rounds without equivocating: GP §19 relies on
//! GRANDPA's safety, which holds only while under a third of the voters sign two
//! different votes of one kind in one round. It holds the set id, the last
//! completed round (number, base, state and votes) and our votes in the round
//! after it, and is written (synced) at these moments:
//!
//! - before each of our votes leaves: the crate reports a primary proposal,
//!   prevote or precommit to the environment (`proposed`, `prevoted`,
//!   `precommitted`) before it hands the vote to the outgoing sink, and the
//!   callback returns only once the record is on disk (write-then-send); a failed
//!   write stops the voter with the vote unsent;
//! - when a round completes (`completed`: the next round starts from it), and
//!   when it concludes (`concluded`: the same round with its later votes).
//!
//! On [`start`], a record of the same set id restarts the voter after its
//! completed round (the crate reruns that round from its votes in the
//! background), and in the round after it the only votes that leave are the ones
//! recorded there: they are re-sent at once, and a different vote the voter
//! computes is replaced by the recorded one in the sink (as Substrate does). A
//! record of another set is logged and ignored; one that does not decode stops
//! [`start`] with an error naming it.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use finality_grandpa as grandpa;
use futures::channel::mpsc;
use futures::{FutureExt, Sink};
use grandpa::voter::{
    Callback, CatchUpProcessingOutcome, CommitProcessingOutcome, CommunicationIn, CommunicationOut,
};
use grandpa::voter::{RoundData, Voter};
use grandpa::voter_set::VoterSet;
use grandpa::{Chain, Equivocation, HistoricalVotes, Message, SignedMessage};
use tessera_core::codec::Encode;
use tessera_core::crypto::ed25519::{self, Keypair, PublicKey, Signature};
use tessera_core::{decode_exact, ChainSpec, DecodeError, Hash};
use tessera_net::messages::{
    GrandpaMessage, GrandpaProtocol, GrandpaTarget, GrandpaVote, SignedGrandpaVote,
};
use tessera_net::{Network, PeerId, Refusal};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

pub mod record;

use record::Noted;
pub use record::{VoterRecord, VoterStore};

/// The signing context of GRANDPA votes: Tessera's own (the GP defines no GRANDPA
/// context), in the style of GP I.4.5's `$jam_…` strings.
pub const GRANDPA_CONTEXT: &[u8] = b"tessera_grandpa";

/// How many rounds ahead of ours a vote may be and still be kept for later.
const ROUND_WINDOW: u64 = 4;
/// The most ancestors walked for one ancestry query (a local, trusted tree; the
/// bound only keeps a corrupted one from exhausting memory).
const MAX_ANCESTRY: u32 = 1 << 20;
/// Votes and commits waiting for their blocks, at most this many per voter.
const PENDING_PER_VOTER: usize = 16;

/// A block as finality sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockInfo {
    /// The parent's header hash (`H_P`); never asked of genesis.
    pub parent: Hash,
    /// The block's height from genesis: genesis is 0, a child is its parent plus 1
    /// (not its timeslot).
    pub number: u32,
}

/// The node's block tree, as GRANDPA needs it. Implemented by the node (its store
/// and fork choice); called from the voter's task, so every method should return
/// at once (hand heavy work off).
pub trait BlockTree: Send + Sync + 'static {
    /// The parent and height of a known block (imported, and not pruned), `None`
    /// if unknown. Genesis must be known (height 0).
    fn block(&self, hash: &Hash) -> Option<BlockInfo>;
    /// The best block whose ancestors (and itself) are all audited, and its height:
    /// GP §19's best chain (eq. 19.1) cut at the first unaudited block. The voter
    /// prevotes for it (when it descends from the round's base), never beyond.
    fn best_votable(&self) -> (Hash, u32);
    /// The latest finalized block and its height (genesis at first).
    fn finalized(&self) -> (Hash, u32);
    /// `hash` (at height `number`) is final. `justification` is the commit that
    /// proves it, encoded as a CE 250 commit message ([`verify_justification`]
    /// checks one). Called once per finalized block the voter learns, in increasing
    /// height (blocks between two calls are final too).
    fn finalize(&self, hash: Hash, number: u32, justification: Vec<u8>);
    /// The next voter set's keys if `hash` is the last block the voter set in
    /// force before it finalizes: the block whose posterior state changes the
    /// validators' keys (`κ′` a different set of keys from `κ`, GP 6.13). Blocks
    /// after it are finalized by those keys under the next set id. `None` for
    /// every other block (the default: a voter set for ever).
    fn next_voter_set(&self, hash: &Hash) -> Option<Vec<PublicKey>> {
        let _ = hash;
        None
    }
}

/// What [`start`] needs.
#[derive(Clone, Debug)]
pub struct FinalityConfig {
    /// The voters of the set in force after the tree's finalized block: the
    /// validators' Ed25519 keys (`κ_e`), each of weight 1.
    pub voters: Vec<PublicKey>,
    /// That set's id (0 for the genesis set, one more at each hand-off; signed
    /// into every vote).
    pub set_id: u64,
    /// Our validator key; `None` (or a key outside `voters`) observes without voting.
    pub local: Option<Keypair>,
    /// GRANDPA's gossip-time estimate `T`: prevotes go out `2T` after a round
    /// starts, precommits at `4T` at the earliest.
    pub gossip_duration: Duration,
}

/// Why finality could not start or stopped.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FinalityError {
    /// The voter list is empty, or its total weight overflows.
    #[error("the voter set is empty")]
    EmptyVoterSet,
    /// A voter is listed twice.
    #[error("voter {0:?} is listed twice")]
    DuplicateVoter(PublicKey),
    /// The gossip duration is zero.
    #[error("the gossip duration must be positive")]
    ZeroGossipDuration,
    /// The GRANDPA state machine failed (a block it relied on disappeared).
    #[error("grandpa: {0}")]
    Grandpa(String),
    /// The voter's record ([`record`]) could not be read, decoded or written: the
    /// voter does not vote without it (what the store said).
    #[error("the GRANDPA voter record: {0}")]
    Record(String),
}

impl From<grandpa::Error> for FinalityError {
    fn from(e: grandpa::Error) -> Self {
        FinalityError::Grandpa(e.to_string())
    }
}

/// Why a justification (or a commit) does not prove finality.
#[derive(Debug, thiserror::Error)]
pub enum JustificationError {
    /// The octets are not a CE 250 message.
    #[error("undecodable justification: {0}")]
    Decode(#[from] DecodeError),
    /// A CE 250 vote or catch-up, not a commit.
    #[error("not a commit")]
    NotACommit,
    /// Signed for another voter set.
    #[error("commit of set {got}, expected set {expected}")]
    WrongSet {
        /// The set id the commit names.
        got: u64,
        /// Ours.
        expected: u64,
    },
    /// An entry is not a precommit.
    #[error("entry {0} is not a precommit")]
    NotAPrecommit(usize),
    /// An entry's key is not a voter.
    #[error("entry {index}: key {key:?} is not a voter")]
    UnknownVoter {
        /// The entry's index.
        index: usize,
        /// Its key.
        key: PublicKey,
    },
    /// An entry's signature does not verify.
    #[error("entry {index}: bad signature by {key:?}")]
    BadSignature {
        /// The entry's index.
        index: usize,
        /// Its key.
        key: PublicKey,
    },
    /// An entry's target is unknown or not a descendant of (or equal to) the
    /// commit's target.
    #[error("entry {0}: target does not descend from the commit's target")]
    NotDescendant(usize),
    /// The commit's target is not a known block at its stated height.
    #[error("the commit's target is not a known block at its height")]
    UnknownTarget,
    /// Fewer distinct voters than the threshold signed.
    #[error("{got} distinct voters signed; {need} needed")]
    NotEnoughVoters {
        /// Distinct voters with a valid precommit.
        got: usize,
        /// The threshold `V − ⌊(V−1)/3⌋`.
        need: usize,
    },
}

/// The octets a voter signs for `vote` in `round` of set `set_id`:
/// `"tessera_grandpa" ⌢ E(vote) ⌢ E_8(round) ⌢ E_8(set_id)`, where `E(vote)` is the
/// CE 250 encoding of [`GrandpaVote`] (kind octet, header hash, `E_4` height).
pub fn vote_payload(vote: &GrandpaVote, round: u64, set_id: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(GRANDPA_CONTEXT.len() + 37 + 16);
    out.extend_from_slice(GRANDPA_CONTEXT);
    vote.encode_to(&mut out);
    round.encode_to(&mut out);
    set_id.encode_to(&mut out);
    out
}

/// The threshold of a set of `n` voters of weight 1: `n − ⌊(n−1)/3⌋` (the
/// `finality-grandpa` crate's supermajority).
pub fn threshold(n: usize) -> usize {
    n - n.saturating_sub(1) / 3
}

/// Check a justification given to [`BlockTree::finalize`] (or received with a
/// block): a CE 250 commit of set `set_id` whose precommits, signed by at least
/// [`threshold`] distinct `voters`, all target the commit's target or its
/// descendants in `tree`. Returns the finalized block.
pub fn verify_justification(
    spec: &ChainSpec,
    bytes: &[u8],
    voters: &[PublicKey],
    set_id: u64,
    tree: &dyn BlockTree,
) -> Result<GrandpaTarget, JustificationError> {
    let GrandpaMessage::Commit {
        round,
        set_id: got,
        target,
        precommits,
    } = decode_exact::<GrandpaMessage>(spec, bytes)?
    else {
        return Err(JustificationError::NotACommit);
    };
    if got != set_id {
        return Err(JustificationError::WrongSet {
            got,
            expected: set_id,
        });
    }
    if tree.block(&target.hash).map(|b| b.number) != Some(target.number) {
        return Err(JustificationError::UnknownTarget);
    }
    let mut signers = HashSet::new();
    for (index, p) in precommits.iter().enumerate() {
        let GrandpaVote::Precommit(t) = p.vote else {
            return Err(JustificationError::NotAPrecommit(index));
        };
        if !voters.contains(&p.voter) {
            return Err(JustificationError::UnknownVoter {
                index,
                key: p.voter,
            });
        }
        if ed25519::verify(
            &p.voter,
            &vote_payload(&p.vote, round, set_id),
            &p.signature,
        )
        .is_err()
        {
            return Err(JustificationError::BadSignature {
                index,
                key: p.voter,
            });
        }
        let known = tree.block(&t.hash).map(|b| b.number) == Some(t.number);
        if !known || !descends(tree, target.hash, t.hash) {
            return Err(JustificationError::NotDescendant(index));
        }
        signers.insert(p.voter);
    }
    let need = threshold(voters.len());
    if signers.len() < need {
        return Err(JustificationError::NotEnoughVoters {
            got: signers.len(),
            need,
        });
    }
    Ok(target)
}

/// The blocks strictly between `base` and `block`, from `block`'s parent down, or
/// `None` if `block` does not descend from `base` (or either is unknown).
fn ancestry(tree: &dyn BlockTree, base: Hash, block: Hash) -> Option<Vec<Hash>> {
    let base_number = tree.block(&base)?.number;
    let mut info = tree.block(&block)?;
    if info.number <= base_number || info.number - base_number > MAX_ANCESTRY {
        return None;
    }
    let mut out = Vec::new();
    while info.number > base_number + 1 {
        out.push(info.parent);
        let parent = tree.block(&info.parent)?;
        if parent.number + 1 != info.number {
            return None;
        }
        info = parent;
    }
    (info.parent == base).then_some(out)
}

/// Whether `block` is `base` or descends from it.
fn descends(tree: &dyn BlockTree, base: Hash, block: Hash) -> bool {
    base == block || ancestry(tree, base, block).is_some()
}

type Number = u32;
type GSigned = SignedMessage<Hash, Number, Signature, PublicKey>;
type GCommit = grandpa::Commit<Hash, Number, Signature, PublicKey>;
type GCatchUp = grandpa::CatchUp<Hash, Number, Signature, PublicKey>;
type GIn = CommunicationIn<Hash, Number, Signature, PublicKey>;
type GOut = CommunicationOut<Hash, Number, Signature, PublicKey>;
type RoundTx = mpsc::UnboundedSender<Result<GSigned, FinalityError>>;
type GlobalTx = mpsc::UnboundedSender<Result<GIn, FinalityError>>;

fn to_target(hash: &Hash, number: Number) -> GrandpaTarget {
    GrandpaTarget {
        hash: *hash,
        number,
    }
}

fn to_wire(message: &Message<Hash, Number>) -> GrandpaVote {
    match message {
        Message::Prevote(v) => GrandpaVote::Prevote(to_target(&v.target_hash, v.target_number)),
        Message::Precommit(v) => GrandpaVote::Precommit(to_target(&v.target_hash, v.target_number)),
        Message::PrimaryPropose(v) => {
            GrandpaVote::PrimaryPropose(to_target(&v.target_hash, v.target_number))
        }
    }
}

fn from_wire(vote: &GrandpaVote) -> Message<Hash, Number> {
    match *vote {
        GrandpaVote::Prevote(t) => Message::Prevote(grandpa::Prevote::new(t.hash, t.number)),
        GrandpaVote::Precommit(t) => Message::Precommit(grandpa::Precommit::new(t.hash, t.number)),
        GrandpaVote::PrimaryPropose(t) => {
            Message::PrimaryPropose(grandpa::PrimaryPropose::new(t.hash, t.number))
        }
    }
}

fn target_of(vote: &GrandpaVote) -> GrandpaTarget {
    match *vote {
        GrandpaVote::Prevote(t) | GrandpaVote::Precommit(t) | GrandpaVote::PrimaryPropose(t) => t,
    }
}

fn kind_of(vote: &GrandpaVote) -> u8 {
    match vote {
        GrandpaVote::Prevote(_) => 0,
        GrandpaVote::Precommit(_) => 1,
        GrandpaVote::PrimaryPropose(_) => 2,
    }
}

fn signed_to_wire(m: &GSigned) -> SignedGrandpaVote {
    SignedGrandpaVote {
        vote: to_wire(&m.message),
        signature: m.signature,
        voter: m.id,
    }
}

fn signed_from_wire(v: &SignedGrandpaVote) -> GSigned {
    SignedMessage {
        message: from_wire(&v.vote),
        signature: v.signature,
        id: v.voter,
    }
}

/// The CE 250 commit message of `commit` (also the justification's encoding).
fn commit_message(round: u64, set_id: u64, commit: &GCommit) -> GrandpaMessage {
    GrandpaMessage::Commit {
        round,
        set_id,
        target: to_target(&commit.target_hash, commit.target_number),
        precommits: commit
            .precommits
            .iter()
            .map(|p| SignedGrandpaVote {
                vote: GrandpaVote::Precommit(to_target(
                    &p.precommit.target_hash,
                    p.precommit.target_number,
                )),
                signature: p.signature,
                voter: p.id,
            })
            .collect(),
    }
}

// ---------------------------------------------------------------------------
// The running voter: routing between the network and the voter's rounds.

/// One round's incoming votes.
#[derive(Default)]
struct RoundSlot {
    /// The round's input to the voter, once `round_data` opened it.
    tx: Option<RoundTx>,
    /// Whether the voter dropped that input (the round is over).
    closed: bool,
    /// Every vote accepted for the round, replayed to a newly opened input.
    log: Vec<GSigned>,
    /// Targets accepted per (voter, vote kind): a duplicate is dropped, and more
    /// than two (one equivocation proves the fault) too.
    by_voter: HashMap<(PublicKey, u8), Vec<Hash>>,
}

/// A verified message waiting for blocks the tree does not know yet.
enum Pending {
    Vote {
        round: u64,
        vote: SignedGrandpaVote,
        from: Option<PeerId>,
    },
    Commit {
        round: u64,
        commit: GCommit,
        from: PeerId,
    },
    CatchUp {
        catch_up: GCatchUp,
        from: PeerId,
    },
}

/// The latest round the voter completed: what a catch-up carries.
struct CompletedRound {
    round: u64,
    base: (Hash, Number),
    votes: Vec<GSigned>,
}

#[derive(Default)]
struct Router {
    /// The voter's best round (the highest `round_data` was asked for).
    round: u64,
    rounds: BTreeMap<u64, RoundSlot>,
    /// The voter's commit and catch-up input.
    global: Option<GlobalTx>,
    pending: VecDeque<Pending>,
    /// Our own votes of recent rounds, resent every few gossip periods.
    own: Vec<(u64, SignedGrandpaVote)>,
    completed: Option<CompletedRound>,
    /// The completed round of the last catch-up sent to each peer.
    caught_up: HashMap<PeerId, u64>,
}

/// What a target is to the tree.
enum Known {
    Yes,
    /// Not (yet) imported.
    Unknown,
    /// Known, at another height than the message says: the message is bad.
    WrongHeight,
}

struct Shared {
    voters: VoterSet<PublicKey>,
    voter_count: usize,
    set_id: u64,
    local: Option<Keypair>,
    gossip: Duration,
    tree: Arc<dyn BlockTree>,
    network: Network,
    peers: Vec<PeerId>,
    router: Mutex<Router>,
    /// The latest finalized block, shared by every set's voter.
    finalized: Arc<watch::Sender<(Hash, Number)>>,
    /// Set once this set's last block is finalized: the voter then votes for
    /// nothing new while the next set's voter starts.
    retired: AtomicBool,
    /// Where the hand-off to the next set goes (the supervisor of [`start`]).
    hand_off: tokio::sync::mpsc::UnboundedSender<HandOff>,
    /// The voter's record as last written (see [`record`]); locked alone, or
    /// before the store, never with the router.
    record: Mutex<VoterRecord>,
    store: Arc<dyn VoterStore>,
}

impl Shared {
    fn router(&self) -> MutexGuard<'_, Router> {
        self.router.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn record(&self) -> MutexGuard<'_, VoterRecord> {
        self.record.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Change the record with `change` and, if it says so, write it; the record
    /// in memory changes only once the write succeeded.
    fn update_record(
        &self,
        change: impl FnOnce(&mut VoterRecord) -> bool,
    ) -> Result<(), FinalityError> {
        let mut record = self.record();
        let mut next = record.clone();
        if change(&mut next) {
            self.store
                .save_voter_record(&next)
                .map_err(|e| FinalityError::Record(e.to_string()))?;
            *record = next;
        }
        Ok(())
    }

    /// Record our `vote` in `round` before it leaves (write-then-send): GRANDPA,
    /// which GP §19 finalizes with, is safe only while voters do not equivocate,
    /// and a vote sent but not on disk could be cast differently after a
    /// restart. A vote of that kind recorded before a restart is kept;
    /// [`Shared::vote_to_send`] then sends it instead.
    fn record_vote(&self, round: u64, vote: GrandpaVote) -> Result<(), FinalityError> {
        let mut noted = Noted::Past;
        self.update_record(|r| {
            noted = r.note_vote(round, vote);
            noted == Noted::New
        })?;
        match noted {
            Noted::New | Noted::Past => Ok(()),
            Noted::Recorded(recorded) => {
                if recorded != vote {
                    info!(round, ?recorded, instead_of = ?vote,
                        "GRANDPA: keeping the vote recorded before a restart");
                }
                Ok(())
            }
            Noted::Full => Err(FinalityError::Record(format!(
                "no room to record a vote in round {round}; not voting"
            ))),
        }
    }

    /// The vote that may leave when the voter casts `vote` in `round`: the one
    /// recorded for that round and kind (the same one, unless the voter restarted
    /// in the round), `vote` itself in a round at or before the completed one (it
    /// is never run again), and none if it was not recorded.
    fn vote_to_send(&self, round: u64, vote: GrandpaVote) -> Option<GrandpaVote> {
        let record = self.record();
        if round <= record.completed_round() {
            return Some(vote);
        }
        record.recorded(round, &vote)
    }

    /// Record `round` as the last completed one: a restarted voter runs it again
    /// in the background from these votes and votes from the round after.
    fn record_completed(&self, round: record::CompletedRound) -> Result<(), FinalityError> {
        self.update_record(|r| r.note_completed(round))
    }

    /// Update the last completed round with the votes it had when it concluded.
    fn record_concluded(&self, round: record::CompletedRound) -> Result<(), FinalityError> {
        self.update_record(|r| r.note_concluded(round))
    }

    /// After a restart: let catch-ups be served from the recorded completed round,
    /// and route and re-send our votes recorded in the round after it (the same
    /// octets: Ed25519 signatures are deterministic), so that the round counts
    /// them and peers that missed them get them.
    fn resume(&self, record: &VoterRecord) {
        if let Some(c) = &record.completed {
            self.router().completed = Some(CompletedRound {
                round: c.round,
                base: (c.base.hash, c.base.number),
                votes: c.votes.iter().map(signed_from_wire).collect(),
            });
        }
        let round = record.completed_round() + 1;
        for vote in record.cast(round).into_iter().flat_map(|c| c.votes()) {
            self.sign_and_send(round, vote);
        }
    }

    fn known(&self, t: &GrandpaTarget) -> Known {
        match self.tree.block(&t.hash) {
            None => Known::Unknown,
            Some(b) if b.number == t.number => Known::Yes,
            Some(_) => Known::WrongHeight,
        }
    }

    /// The worst of `targets`.
    fn all_known(&self, targets: impl IntoIterator<Item = GrandpaTarget>) -> Known {
        let mut out = Known::Yes;
        for t in targets {
            match self.known(&t) {
                Known::WrongHeight => return Known::WrongHeight,
                Known::Unknown => out = Known::Unknown,
                Known::Yes => {}
            }
        }
        out
    }

    fn send_to(&self, peer: PeerId, message: Arc<GrandpaMessage>) {
        let network = self.network.clone();
        tokio::spawn(async move {
            if let Err(e) = network.request::<GrandpaProtocol>(&peer, &message).await {
                debug!(%peer, error = %e, "GRANDPA message not delivered");
            }
        });
    }

    fn broadcast(&self, message: GrandpaMessage) {
        let message = Arc::new(message);
        for peer in &self.peers {
            self.send_to(*peer, message.clone());
        }
    }

    /// A commit of ours goes to the peers and to every other connected node
    /// that is not a builder: followers (`tessera node --follower`) observe
    /// finality from commits alone. An observer sends none: it has no votes
    /// of its own to commit.
    fn broadcast_commit(&self, message: GrandpaMessage) {
        if self.local.is_none() {
            return;
        }
        self.send_commit_everywhere(Arc::new(message), &[]);
    }

    /// `message` to the peers, `more`, and every other connected node that is
    /// not a builder.
    fn send_commit_everywhere(&self, message: Arc<GrandpaMessage>, more: &[PeerId]) {
        let mut to = self.peers.clone();
        for peer in more {
            if !to.contains(peer) && *peer != self.network.peer_id() {
                to.push(*peer);
            }
        }
        for peer in self.network.connected_peers() {
            if !to.contains(&peer) && self.network.is_builder(&peer) == Some(false) {
                to.push(peer);
            }
        }
        for peer in to {
            self.send_to(peer, message.clone());
        }
    }

    fn park(&self, router: &mut Router, pending: Pending) {
        if router.pending.len() >= PENDING_PER_VOTER * self.voter_count {
            router.pending.pop_front();
        }
        router.pending.push_back(pending);
    }

    /// Route a verified vote to its round (or park it until its block is known).
    fn deliver_vote(
        &self,
        router: &mut Router,
        round: u64,
        vote: SignedGrandpaVote,
        from: Option<PeerId>,
    ) {
        if round > router.round.saturating_add(ROUND_WINDOW) {
            debug!(
                round,
                ours = router.round,
                "GRANDPA vote too far ahead; dropped"
            );
            return;
        }
        if let Some(peer) = from {
            self.maybe_catch_up(router, peer, round);
        }
        let target = target_of(&vote.vote);
        match self.known(&target) {
            Known::Yes => {}
            Known::Unknown => {
                self.park(router, Pending::Vote { round, vote, from });
                return;
            }
            Known::WrongHeight => {
                warn!(peer = ?from, round, "GRANDPA vote names a block at the wrong height; dropped");
                return;
            }
        }
        if round < router.round && !router.rounds.contains_key(&round) {
            return; // a round the voter no longer runs
        }
        let slot = router.rounds.entry(round).or_default();
        if slot.closed {
            return;
        }
        let targets = slot
            .by_voter
            .entry((vote.voter, kind_of(&vote.vote)))
            .or_default();
        if targets.contains(&target.hash) || targets.len() >= 2 {
            return;
        }
        targets.push(target.hash);
        let message = signed_from_wire(&vote);
        slot.log.push(message.clone());
        if let Some(tx) = &slot.tx {
            if tx.unbounded_send(Ok(message)).is_err() {
                slot.tx = None;
                slot.closed = true;
            }
        }
    }

    /// Send `peer`, whose vote is for `round`, our last completed round if that is
    /// later: the crate only imports a catch-up for a round beyond the receiver's.
    fn maybe_catch_up(&self, router: &mut Router, peer: PeerId, round: u64) {
        let Some(c) = &router.completed else { return };
        if round >= c.round || router.caught_up.get(&peer) == Some(&c.round) {
            return;
        }
        let pick = |precommit: bool| {
            c.votes
                .iter()
                .filter(|m| matches!(m.message, Message::Precommit(_)) == precommit)
                .filter(|m| !matches!(m.message, Message::PrimaryPropose(_)))
                .map(signed_to_wire)
                .collect::<Vec<_>>()
        };
        let message = GrandpaMessage::CatchUp {
            round: c.round,
            set_id: self.set_id,
            base: to_target(&c.base.0, c.base.1),
            prevotes: pick(false),
            precommits: pick(true),
        };
        router.caught_up.insert(peer, c.round);
        debug!(%peer, their_round = round, round = c.round, "sending a GRANDPA catch-up");
        self.send_to(peer, Arc::new(message));
    }

    fn deliver_commit(&self, router: &mut Router, round: u64, commit: GCommit, from: PeerId) {
        let targets = std::iter::once(to_target(&commit.target_hash, commit.target_number)).chain(
            commit
                .precommits
                .iter()
                .map(|p| to_target(&p.precommit.target_hash, p.precommit.target_number)),
        );
        match self.all_known(targets) {
            Known::Yes => {}
            Known::Unknown => {
                return self.park(
                    router,
                    Pending::Commit {
                        round,
                        commit,
                        from,
                    },
                )
            }
            Known::WrongHeight => {
                warn!(peer = %from, round, "GRANDPA commit names a block at the wrong height; dropped");
                return;
            }
        }
        let callback = Callback::Work(Box::new(move |outcome: CommitProcessingOutcome| {
            if let CommitProcessingOutcome::Bad(bad) = outcome {
                warn!(peer = %from, round, invalid_voters = bad.num_invalid_voters(),
                    precommits = bad.num_precommits(), "GRANDPA commit does not justify its target");
            }
        }));
        if let Some(tx) = &router.global {
            let _ = tx.unbounded_send(Ok(CommunicationIn::Commit(round, commit.into(), callback)));
        }
    }

    fn deliver_catch_up(&self, router: &mut Router, catch_up: GCatchUp, from: PeerId) {
        if catch_up.round_number <= router.round {
            return; // useless: we are there already
        }
        let targets = std::iter::once(to_target(&catch_up.base_hash, catch_up.base_number))
            .chain(
                catch_up
                    .prevotes
                    .iter()
                    .map(|p| to_target(&p.prevote.target_hash, p.prevote.target_number)),
            )
            .chain(
                catch_up
                    .precommits
                    .iter()
                    .map(|p| to_target(&p.precommit.target_hash, p.precommit.target_number)),
            );
        match self.all_known(targets) {
            Known::Yes => {}
            Known::Unknown => return self.park(router, Pending::CatchUp { catch_up, from }),
            Known::WrongHeight => {
                warn!(peer = %from, "GRANDPA catch-up names a block at the wrong height; dropped");
                return;
            }
        }
        let round = catch_up.round_number;
        let callback = Callback::Work(Box::new(move |outcome: CatchUpProcessingOutcome| {
            if let CatchUpProcessingOutcome::Bad(_) = outcome {
                warn!(peer = %from, round, "GRANDPA catch-up does not complete its round");
            }
        }));
        if let Some(tx) = &router.global {
            let _ = tx.unbounded_send(Ok(CommunicationIn::CatchUp(catch_up, callback)));
        }
    }

    /// Re-route every parked message once (those still waiting park again).
    fn retry_pending(&self) {
        let mut router = self.router();
        let parked = std::mem::take(&mut router.pending);
        for p in parked {
            match p {
                Pending::Vote { round, vote, from } => {
                    self.deliver_vote(&mut router, round, vote, from)
                }
                Pending::Commit {
                    round,
                    commit,
                    from,
                } => self.deliver_commit(&mut router, round, commit, from),
                Pending::CatchUp { catch_up, from } => {
                    self.deliver_catch_up(&mut router, catch_up, from)
                }
            }
        }
    }

    /// Resend our votes of the current round (peers that were not connected when
    /// we first sent them, or that lost them, get them now; duplicates are
    /// dropped on arrival).
    fn resend_own(&self) {
        let votes: Vec<(u64, SignedGrandpaVote)> = {
            let router = self.router();
            let current = router.round;
            router
                .own
                .iter()
                .filter(|(r, _)| *r == current)
                .copied()
                .collect()
        };
        for (round, vote) in votes {
            self.broadcast(GrandpaMessage::Vote {
                round,
                set_id: self.set_id,
                vote,
            });
        }
    }

    /// Send the voter's `message` in `round`: the vote the record allows
    /// ([`Shared::vote_to_send`]), or nothing if it was never recorded.
    fn cast(&self, round: u64, message: &Message<Hash, Number>) {
        let vote = to_wire(message);
        match self.vote_to_send(round, vote) {
            Some(allowed) => self.sign_and_send(round, allowed),
            None => warn!(round, ?vote, "GRANDPA vote not recorded; not sent"),
        }
    }

    /// Sign, route locally and broadcast one of our votes.
    fn sign_and_send(&self, round: u64, vote: GrandpaVote) {
        let Some(key) = &self.local else { return };
        let signed = SignedGrandpaVote {
            vote,
            signature: key.sign(&vote_payload(&vote, round, self.set_id)),
            voter: key.public(),
        };
        {
            let mut router = self.router();
            router.own.retain(|(r, _)| r.saturating_add(1) >= round);
            router.own.push((round, signed));
            self.deliver_vote(&mut router, round, signed, None);
        }
        self.broadcast(GrandpaMessage::Vote {
            round,
            set_id: self.set_id,
            vote: signed,
        });
    }

    /// Check the voters and signatures of an incoming message (CPU work: run off
    /// the runtime). Returns why it is bad.
    fn check(&self, message: &GrandpaMessage) -> Result<(), String> {
        let limit = 2 * self.voter_count;
        let (round, votes, kinds): (u64, Vec<&SignedGrandpaVote>, Vec<u8>) = match message {
            GrandpaMessage::Vote { round, vote, .. } => {
                (*round, vec![vote], vec![kind_of(&vote.vote)])
            }
            GrandpaMessage::Commit {
                round, precommits, ..
            } => {
                if precommits.len() > limit {
                    return Err(format!(
                        "{} precommits for {} voters",
                        precommits.len(),
                        self.voter_count
                    ));
                }
                (
                    *round,
                    precommits.iter().collect(),
                    vec![1; precommits.len()],
                )
            }
            GrandpaMessage::CatchUp {
                round,
                prevotes,
                precommits,
                ..
            } => {
                if prevotes.len() > limit || precommits.len() > limit {
                    return Err("more votes than voters".into());
                }
                let kinds = std::iter::repeat_n(0, prevotes.len())
                    .chain(std::iter::repeat_n(1, precommits.len()))
                    .collect();
                (*round, prevotes.iter().chain(precommits).collect(), kinds)
            }
        };
        let mut payloads = Vec::with_capacity(votes.len());
        for (i, (v, kind)) in votes.iter().zip(&kinds).enumerate() {
            if self.voters.get(&v.voter).is_none() {
                return Err(format!("vote {i} by {:?}, not a voter", v.voter));
            }
            let expected = kind_of(&v.vote);
            // A vote message may carry any kind; commits and catch-ups say which.
            if !matches!(message, GrandpaMessage::Vote { .. }) && expected != *kind {
                return Err(format!("vote {i} is of the wrong kind"));
            }
            payloads.push(vote_payload(&v.vote, round, self.set_id));
        }
        let items: Vec<(PublicKey, &[u8], Signature)> = votes
            .iter()
            .zip(&payloads)
            .map(|(v, p)| (v.voter, p.as_slice(), v.signature))
            .collect();
        let result = ed25519::verify_batch(&items);
        match result.invalid_indices().first() {
            Some(i) => Err(format!("vote {i}: bad signature")),
            None => Ok(()),
        }
    }

    /// Handle one CE 250 message from `peer`.
    async fn on_message(self: Arc<Self>, peer: PeerId, message: GrandpaMessage) {
        let set_id = match &message {
            GrandpaMessage::Vote { set_id, .. }
            | GrandpaMessage::Commit { set_id, .. }
            | GrandpaMessage::CatchUp { set_id, .. } => *set_id,
        };
        if set_id != self.set_id {
            debug!(%peer, set_id, ours = self.set_id, "GRANDPA message of another voter set; dropped");
            return;
        }
        let me = self.clone();
        let checked =
            match tokio::task::spawn_blocking(move || me.check(&message).map(|()| message)).await {
                Ok(checked) => checked,
                // The runtime is shutting down: nothing to report.
                Err(e) if e.is_cancelled() => return,
                Err(e) => Err(format!("check failed: {e}")),
            };
        let message = match checked {
            Ok(m) => m,
            Err(reason) => {
                warn!(%peer, %reason, "GRANDPA message dropped");
                return;
            }
        };
        let mut router = self.router();
        match message {
            GrandpaMessage::Vote { round, vote, .. } => {
                self.deliver_vote(&mut router, round, vote, Some(peer))
            }
            GrandpaMessage::Commit {
                round,
                target,
                precommits,
                ..
            } => {
                let commit = GCommit {
                    target_hash: target.hash,
                    target_number: target.number,
                    precommits: precommits
                        .iter()
                        .map(|p| {
                            let t = target_of(&p.vote);
                            grandpa::SignedPrecommit {
                                precommit: grandpa::Precommit::new(t.hash, t.number),
                                signature: p.signature,
                                id: p.voter,
                            }
                        })
                        .collect(),
                };
                self.deliver_commit(&mut router, round, commit, peer)
            }
            GrandpaMessage::CatchUp {
                round,
                base,
                prevotes,
                precommits,
                ..
            } => {
                let catch_up = GCatchUp {
                    round_number: round,
                    prevotes: prevotes
                        .iter()
                        .map(|p| {
                            let t = target_of(&p.vote);
                            grandpa::SignedPrevote {
                                prevote: grandpa::Prevote::new(t.hash, t.number),
                                signature: p.signature,
                                id: p.voter,
                            }
                        })
                        .collect(),
                    precommits: precommits
                        .iter()
                        .map(|p| {
                            let t = target_of(&p.vote);
                            grandpa::SignedPrecommit {
                                precommit: grandpa::Precommit::new(t.hash, t.number),
                                signature: p.signature,
                                id: p.voter,
                            }
                        })
                        .collect(),
                    base_hash: base.hash,
                    base_number: base.number,
                };
                self.deliver_catch_up(&mut router, catch_up, peer)
            }
        }
    }

    /// The block to prevote for given the round's `base`: our best audited block
    /// if it is `base` or descends from it; otherwise `base` itself, the least a
    /// vote in this round may name (a vote must contain the base). The crate stops
    /// a voter that casts no prevote until a catch-up, so abstaining would cost
    /// more than voting for a block a supermajority already prevoted.
    ///
    /// A set votes for nothing past its last block (the first block after `base`
    /// that [`BlockTree::next_voter_set`] names): the next set finalizes what
    /// follows, so the best block is cut there, and once that block is final
    /// this set's voter votes for its base alone until it is replaced.
    fn best_containing(&self, base: Hash) -> Option<(Hash, Number)> {
        let base_number = self.tree.block(&base)?.number;
        if self.retired.load(Ordering::SeqCst) {
            return Some((base, base_number));
        }
        let (best, number) = self.tree.best_votable();
        if best == base {
            return Some((best, number));
        }
        let Some(between) = ancestry(&*self.tree, base, best) else {
            return Some((base, base_number));
        };
        let last = between
            .iter()
            .rev()
            .chain(std::iter::once(&best))
            .zip(base_number + 1..)
            .find(|(h, _)| self.tree.next_voter_set(h).is_some());
        Some(last.map_or((best, number), |(h, n)| (*h, n)))
    }

    /// The set ends if the blocks newly final, from the one after `previous` up
    /// to `hash`, include its last block: hand off to the next set (its id one
    /// more for each such block; there is one unless a supermajority voted past
    /// its set's end), with `justification`, the commit that ended this set.
    fn hand_off_if_ended(
        &self,
        previous: Hash,
        hash: Hash,
        number: Number,
        justification: &GrandpaMessage,
    ) {
        let mut newly = ancestry(&*self.tree, previous, hash).unwrap_or_default();
        newly.reverse();
        newly.push(hash);
        let mut next = None;
        let mut ended = 0u64;
        for h in &newly {
            if let Some(keys) = self.tree.next_voter_set(h) {
                ended += 1;
                next = Some(keys);
            }
        }
        let Some(voters) = next else { return };
        self.retired.store(true, Ordering::SeqCst);
        let set_id = self.set_id + ended;
        info!(
            set_id = self.set_id,
            next_set_id = set_id,
            voters = voters.len(),
            number,
            "GRANDPA voter set ends with this block; handing off"
        );
        let _ = self.hand_off.send(HandOff {
            ended_set: self.set_id,
            set_id,
            voters,
            justification: Arc::new(justification.clone()),
        });
    }

    fn commit_delay(&self) -> Duration {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        self.gossip * (nanos % 1000) / 1000
    }
}

type VoteTimer = Pin<Box<dyn std::future::Future<Output = Result<(), FinalityError>> + Send>>;

fn timer(after: Duration) -> VoteTimer {
    Box::pin(tokio::time::sleep(after).map(Ok::<(), FinalityError>))
}

/// The voter's environment: the tree, the router and the key.
struct Env {
    shared: Arc<Shared>,
}

impl Chain<Hash, Number> for Env {
    fn ancestry(&self, base: Hash, block: Hash) -> Result<Vec<Hash>, grandpa::Error> {
        ancestry(&*self.shared.tree, base, block).ok_or(grandpa::Error::NotDescendent)
    }
}

/// A round's outgoing votes: signed, routed back to the round, broadcast.
struct OutgoingVotes {
    shared: Arc<Shared>,
    round: u64,
}

impl Sink<Message<Hash, Number>> for OutgoingVotes {
    type Error = FinalityError;
    fn poll_ready(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }
    fn start_send(self: Pin<&mut Self>, item: Message<Hash, Number>) -> Result<(), Self::Error> {
        self.shared.cast(self.round, &item);
        Ok(())
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }
    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }
}

/// The voter's outgoing commits: broadcast.
struct OutgoingCommits {
    shared: Arc<Shared>,
}

impl Sink<GOut> for OutgoingCommits {
    type Error = FinalityError;
    fn poll_ready(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }
    fn start_send(self: Pin<&mut Self>, item: GOut) -> Result<(), Self::Error> {
        let CommunicationOut::Commit(round, commit) = item;
        debug!(
            round,
            number = commit.target_number,
            "broadcasting a GRANDPA commit"
        );
        self.shared
            .broadcast_commit(commit_message(round, self.shared.set_id, &commit));
        Ok(())
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }
    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }
}

impl grandpa::voter::Environment<Hash, Number> for Env {
    type Timer = VoteTimer;
    type BestChain = futures::future::Ready<Result<Option<(Hash, Number)>, FinalityError>>;
    type Id = PublicKey;
    type Signature = Signature;
    type In = mpsc::UnboundedReceiver<Result<GSigned, FinalityError>>;
    type Out = OutgoingVotes;
    type Error = FinalityError;

    fn best_chain_containing(&self, base: Hash) -> Self::BestChain {
        futures::future::ready(Ok(self.shared.best_containing(base)))
    }

    fn round_data(&self, round: u64) -> RoundData<PublicKey, VoteTimer, Self::In, OutgoingVotes> {
        let (tx, rx) = mpsc::unbounded();
        {
            let mut router = self.shared.router();
            if round > router.round {
                router.round = round;
                // Forget rounds the voter dropped, and old ones it never opened.
                router.rounds.retain(|r, slot| {
                    let open = slot.tx.as_ref().is_some_and(|t| !t.is_closed());
                    !slot.closed && (open || *r >= round)
                });
            }
            let slot = router.rounds.entry(round).or_default();
            slot.closed = false;
            for m in &slot.log {
                let _ = tx.unbounded_send(Ok(m.clone()));
            }
            slot.tx = Some(tx);
        }
        let gossip = self.shared.gossip;
        RoundData {
            voter_id: self.shared.local.as_ref().map(Keypair::public),
            prevote_timer: timer(gossip * 2),
            precommit_timer: timer(gossip * 4),
            incoming: rx,
            outgoing: OutgoingVotes {
                shared: self.shared.clone(),
                round,
            },
        }
    }

    fn round_commit_timer(&self) -> VoteTimer {
        timer(self.shared.commit_delay())
    }

    // The crate calls these three before it hands the vote to `OutgoingVotes`:
    // an error here stops the voter with the vote unsent.
    fn proposed(
        &self,
        round: u64,
        propose: grandpa::PrimaryPropose<Hash, Number>,
    ) -> Result<(), FinalityError> {
        let target = to_target(&propose.target_hash, propose.target_number);
        self.shared
            .record_vote(round, GrandpaVote::PrimaryPropose(target))
    }

    fn prevoted(
        &self,
        round: u64,
        prevote: grandpa::Prevote<Hash, Number>,
    ) -> Result<(), FinalityError> {
        let target = to_target(&prevote.target_hash, prevote.target_number);
        self.shared.record_vote(round, GrandpaVote::Prevote(target))
    }

    fn precommitted(
        &self,
        round: u64,
        precommit: grandpa::Precommit<Hash, Number>,
    ) -> Result<(), FinalityError> {
        let target = to_target(&precommit.target_hash, precommit.target_number);
        self.shared
            .record_vote(round, GrandpaVote::Precommit(target))
    }

    fn completed(
        &self,
        round: u64,
        state: grandpa::round::State<Hash, Number>,
        base: (Hash, Number),
        votes: &HistoricalVotes<Hash, Number, Signature, PublicKey>,
    ) -> Result<(), FinalityError> {
        debug!(round, estimate = ?state.estimate.map(|e| e.1), "GRANDPA round completed");
        self.shared
            .record_completed(recorded_round(round, &state, base, votes))?;
        self.shared.router().completed = Some(CompletedRound {
            round,
            base,
            votes: votes.seen().to_vec(),
        });
        Ok(())
    }

    fn concluded(
        &self,
        round: u64,
        state: grandpa::round::State<Hash, Number>,
        base: (Hash, Number),
        votes: &HistoricalVotes<Hash, Number, Signature, PublicKey>,
    ) -> Result<(), FinalityError> {
        self.shared
            .record_concluded(recorded_round(round, &state, base, votes))
    }

    fn finalize_block(
        &self,
        hash: Hash,
        number: Number,
        round: u64,
        commit: GCommit,
    ) -> Result<(), FinalityError> {
        let message = commit_message(round, self.shared.set_id, &commit);
        info!(number, hash = %hex::encode(hash.0), round, "finalized");
        let previous = self.shared.finalized.borrow().0;
        self.shared.tree.finalize(hash, number, message.encode());
        self.shared.finalized.send_replace((hash, number));
        self.shared
            .hand_off_if_ended(previous, hash, number, &message);
        Ok(())
    }

    fn prevote_equivocation(
        &self,
        round: u64,
        e: Equivocation<PublicKey, grandpa::Prevote<Hash, Number>, Signature>,
    ) {
        warn!(round, voter = ?e.identity, first = e.first.0.target_number,
            second = e.second.0.target_number, "GRANDPA prevote equivocation");
    }

    fn precommit_equivocation(
        &self,
        round: u64,
        e: Equivocation<PublicKey, grandpa::Precommit<Hash, Number>, Signature>,
    ) {
        warn!(round, voter = ?e.identity, first = e.first.0.target_number,
            second = e.second.0.target_number, "GRANDPA precommit equivocation");
    }
}

/// Round `round` as the record keeps it (its first [`record::MAX_RECORD_VOTES`]
/// votes: those that completed it).
fn recorded_round(
    round: u64,
    state: &grandpa::round::State<Hash, Number>,
    base: (Hash, Number),
    votes: &HistoricalVotes<Hash, Number, Signature, PublicKey>,
) -> record::CompletedRound {
    let target = |b: &Option<(Hash, Number)>| b.map(|(h, n)| to_target(&h, n));
    record::CompletedRound {
        round,
        base: to_target(&base.0, base.1),
        state: record::RoundState {
            prevote_ghost: target(&state.prevote_ghost),
            finalized: target(&state.finalized),
            estimate: target(&state.estimate),
            completable: state.completable,
        },
        votes: votes
            .seen()
            .iter()
            .take(record::MAX_RECORD_VOTES)
            .map(signed_to_wire)
            .collect(),
    }
}

/// The voter's record to resume from: the stored one if it is of set `set_id`;
/// otherwise a fresh one (a record of another set is logged and left to be
/// overwritten: its rounds are not this set's).
fn restored_record(store: &dyn VoterStore, set_id: u64) -> Result<VoterRecord, FinalityError> {
    let stored = store
        .load_voter_record()
        .map_err(|e| FinalityError::Record(format!("{e}; not voting without it")))?;
    match stored {
        None => Ok(VoterRecord::new(set_id)),
        Some(r) if r.set_id != set_id => {
            warn!(
                recorded_set = r.set_id,
                set_id, "GRANDPA voter record of another set ignored; starting at round 1"
            );
            Ok(VoterRecord::new(set_id))
        }
        Some(r) => {
            info!(
                completed = r.completed_round(),
                estimate = ?r.completed.as_ref().and_then(|c| c.state.estimate).map(|e| e.number),
                "GRANDPA voter resumes after its recorded round"
            );
            Ok(r)
        }
    }
}

/// What `Voter::new` resumes from: the last completed round's number, votes and
/// base, or round 0 on `finalized` when none completed.
fn last_round(
    record: &VoterRecord,
    finalized: (Hash, Number),
) -> (u64, Vec<GSigned>, (Hash, Number)) {
    match &record.completed {
        Some(c) => (
            c.round,
            c.votes.iter().map(signed_from_wire).collect(),
            (c.base.hash, c.base.number),
        ),
        None => (0, Vec::new(), finalized),
    }
}

/// What a set's voter hands the supervisor of [`start`] when its last block is
/// final.
struct HandOff {
    /// The set that ended.
    ended_set: u64,
    /// The next set's id and keys.
    set_id: u64,
    voters: Vec<PublicKey>,
    /// The commit that finalized the ended set's last block: sent to a peer still
    /// voting in that set, so that it hands off too.
    justification: Arc<GrandpaMessage>,
}

/// The ended sets' last commits kept for peers that lag behind.
const ENDED_SETS_KEPT: usize = 4;

/// What the CE 250 handler routes by: the current set's voter, and the commits
/// that ended the sets before it.
struct Sets {
    current: Mutex<Weak<Shared>>,
    ended: Mutex<BTreeMap<u64, Arc<GrandpaMessage>>>,
    /// When each peer was last sent an ended set's commit (at most once per
    /// second each).
    answered: Mutex<HashMap<PeerId, std::time::Instant>>,
    /// The connected peers already sent the kept ended sets' commits (since the
    /// last hand-off): a node that connects later (one syncing from genesis, a
    /// follower, a restarted node) gets them once.
    informed: Mutex<HashSet<PeerId>>,
    /// The newest commit of each later set than ours (at most
    /// [`ENDED_SETS_KEPT`] sets ahead), from whom: checked and delivered once we
    /// hand off to that set. A node behind by several sets gets their ending
    /// commits in any order.
    later: Mutex<BTreeMap<u64, (PeerId, GrandpaMessage)>>,
}

impl Sets {
    fn current(&self) -> Option<Arc<Shared>> {
        lock_plain(&self.current).upgrade()
    }

    /// A message for the current set goes to its voter. A vote or catch-up of a
    /// set that ended is answered with that set's last commit (its sender has not
    /// seen its set end). A commit of a later set is kept until we hand off to
    /// that set; its votes are dropped (its voters resend them).
    async fn on_message(&self, peer: PeerId, message: GrandpaMessage) {
        let Some(current) = self.current() else {
            return;
        };
        let set_id = match &message {
            GrandpaMessage::Vote { set_id, .. }
            | GrandpaMessage::Commit { set_id, .. }
            | GrandpaMessage::CatchUp { set_id, .. } => *set_id,
        };
        if set_id > current.set_id {
            if matches!(message, GrandpaMessage::Commit { .. })
                && set_id - current.set_id <= ENDED_SETS_KEPT as u64
            {
                lock_plain(&self.later).insert(set_id, (peer, message));
            }
            return;
        }
        if set_id < current.set_id {
            // A commit of an ended set is not answered: the sender has ended it
            // too (it is one of the commits we send on hand-off or to new peers).
            if matches!(message, GrandpaMessage::Commit { .. }) {
                return;
            }
            let ended = lock_plain(&self.ended).get(&set_id).cloned();
            let Some(commit) = ended else { return };
            let now = std::time::Instant::now();
            {
                let mut answered = lock_plain(&self.answered);
                if answered
                    .get(&peer)
                    .is_some_and(|t| now.duration_since(*t) < Duration::from_secs(1))
                {
                    return;
                }
                answered.retain(|_, t| now.duration_since(*t) < Duration::from_secs(60));
                answered.insert(peer, now);
            }
            debug!(%peer, set_id, ours = current.set_id, "a peer votes in an ended GRANDPA set; sending it that set's last commit");
            current.send_to(peer, commit);
            return;
        }
        current.on_message(peer, message).await;
    }

    /// Send the kept ended sets' commits, oldest first, to each connected peer
    /// that is not a builder and has not had them since the last hand-off.
    fn inform_new_peers(&self) {
        let Some(current) = self.current() else {
            return;
        };
        let ended: Vec<Arc<GrandpaMessage>> = lock_plain(&self.ended).values().cloned().collect();
        if ended.is_empty() {
            return;
        }
        let network = &current.network;
        let new: Vec<PeerId> = {
            let connected = network.connected_peers();
            let mut informed = lock_plain(&self.informed);
            // A peer that went away is told again when it comes back (it may
            // have restarted from before the hand-off).
            informed.retain(|p| connected.contains(p));
            connected
                .into_iter()
                .filter(|p| network.is_builder(p) == Some(false))
                .filter(|p| informed.insert(*p))
                .collect()
        };
        for peer in new {
            for commit in &ended {
                current.send_to(peer, commit.clone());
            }
        }
    }

    /// After a hand-off: the commits kept for the new current set, to its voter.
    fn deliver_later(&self) {
        let Some(current) = self.current() else {
            return;
        };
        let due = {
            let mut later = lock_plain(&self.later);
            later.retain(|set, _| *set >= current.set_id);
            later.remove(&current.set_id)
        };
        if let Some((peer, message)) = due {
            tokio::spawn(async move { current.on_message(peer, message).await });
        }
    }
}

/// Lock a mutex whose data stays consistent even if a holder panicked.
fn lock_plain<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// One set's voter, running.
struct Running {
    shared: Arc<Shared>,
    voter: JoinHandle<()>,
    ticker: JoinHandle<()>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.voter.abort();
        self.ticker.abort();
    }
}

/// A running voter, handing off from set to set. Dropping it (or
/// [`FinalityHandle::stop`]) stops the voter; the CE 250 handler it registered
/// then drops what arrives.
pub struct FinalityHandle {
    supervisor: JoinHandle<()>,
    finalized: watch::Receiver<(Hash, u32)>,
    sets: Weak<Sets>,
}

impl std::fmt::Debug for FinalityHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FinalityHandle")
            .field("finalized", &self.finalized())
            .field("set_id", &self.set_id())
            .field("running", &self.is_running())
            .finish()
    }
}

impl FinalityHandle {
    fn current(&self) -> Option<Arc<Shared>> {
        self.sets.upgrade()?.current()
    }

    /// The latest block this voter finalized (the tree's finalized block at start
    /// until then) and its height.
    pub fn finalized(&self) -> (Hash, u32) {
        *self.finalized.borrow()
    }

    /// A receiver that sees every change of [`FinalityHandle::finalized`].
    pub fn subscribe(&self) -> watch::Receiver<(Hash, u32)> {
        self.finalized.clone()
    }

    /// The voter's current round in its current set (0 before the first).
    pub fn round(&self) -> u64 {
        self.current().map_or(0, |s| s.router().round)
    }

    /// The id of the voter set the voter now votes (or observes) in.
    pub fn set_id(&self) -> u64 {
        self.current().map_or(0, |s| s.set_id)
    }

    /// Whether the voter is still running (it stops on [`FinalityHandle::stop`],
    /// or on an error it logs).
    pub fn is_running(&self) -> bool {
        !self.supervisor.is_finished()
    }

    /// Stop the voter.
    pub fn stop(self) {}
}

impl Drop for FinalityHandle {
    fn drop(&mut self) {
        self.supervisor.abort();
    }
}

/// Start the GRANDPA voter of `config` on the current tokio runtime: register the
/// CE 250 handler on `network`, send our votes and commits to `peers` (the other
/// voters' peer ids, which are their Ed25519 keys; ours is skipped), finalize
/// through `tree`, and keep the voter's record in `store`.
///
/// The voter resumes from the record of set `config.set_id` in `store`: it runs
/// the recorded completed round again in the background and votes from the round
/// after it, sending in that round only the votes recorded there, if any. With no
/// record (or one of another set) it starts at round 1 from `tree.finalized()`.
/// A record that cannot be read or decoded is an error: the voter cannot know
/// what it signed.
///
/// When the last block of the set is final ([`BlockTree::next_voter_set`]), the
/// voter hands off: a fresh record of the next set is written, and a voter of
/// that set starts from the finalized block, sending to the new voters (by
/// their keys as peer ids), with `config.local` voting if it is among them.
pub fn start(
    config: FinalityConfig,
    network: Network,
    peers: Vec<PeerId>,
    tree: Arc<dyn BlockTree>,
    store: Arc<dyn VoterStore>,
) -> Result<FinalityHandle, FinalityError> {
    if config.gossip_duration.is_zero() {
        return Err(FinalityError::ZeroGossipDuration);
    }
    let finalized = tree.finalized();
    let (finalized_tx, finalized_rx) = watch::channel(finalized);
    let finalized_tx = Arc::new(finalized_tx);
    let (hand_off_tx, mut hand_off_rx) = tokio::sync::mpsc::unbounded_channel();
    let launcher = Launcher {
        local: config.local.clone(),
        gossip: config.gossip_duration,
        network: network.clone(),
        tree,
        store,
        finalized: finalized_tx,
        hand_off: hand_off_tx,
    };
    let first = launcher.launch(config.set_id, &config.voters, peers)?;
    let sets = Arc::new(Sets {
        current: Mutex::new(Arc::downgrade(&first.shared)),
        ended: Mutex::new(BTreeMap::new()),
        answered: Mutex::new(HashMap::new()),
        informed: Mutex::new(HashSet::new()),
        later: Mutex::new(BTreeMap::new()),
    });
    // The commit that ended the set before ours, if the store kept it: a node
    // restarted after a hand-off still tells the peers that missed it.
    match launcher.store.load_ended_commit() {
        Ok(Some(commit @ GrandpaMessage::Commit { set_id, .. })) if set_id < config.set_id => {
            lock_plain(&sets.ended).insert(set_id, Arc::new(commit));
        }
        Ok(Some(_)) => {
            warn!("the stored commit that ended the last voter set is not one of an earlier set; ignored")
        }
        Ok(None) => {}
        Err(e) => {
            warn!(error = %e, "the commit that ended the last voter set could not be read; ignored")
        }
    }
    let handler_sets = Arc::downgrade(&sets);
    network.register::<GrandpaProtocol, _, _>(move |peer, message| {
        let sets = handler_sets.upgrade();
        async move {
            if let Some(sets) = sets {
                sets.on_message(peer, message).await;
            }
            Ok::<(), Refusal>(())
        }
    });
    let handle_sets = Arc::downgrade(&sets);
    let supervisor = tokio::spawn(async move {
        let mut running = first;
        let mut inform = tokio::time::interval(Duration::from_secs(1));
        inform.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = &mut running.voter => break,
                _ = inform.tick() => sets.inform_new_peers(),
                next = hand_off_rx.recv() => {
                    let Some(next) = next else { break };
                    if next.ended_set != running.shared.set_id {
                        continue; // a late duplicate from a voter already replaced
                    }
                    {
                        let mut ended = lock_plain(&sets.ended);
                        ended.insert(next.ended_set, next.justification.clone());
                        while ended.len() > ENDED_SETS_KEPT {
                            ended.pop_first();
                        }
                    }
                    // The new set's record first: a restart then resumes in it
                    // (the node's store already says which set follows the
                    // finalized block).
                    if let Err(e) = launcher.store.save_voter_record(&VoterRecord::new(next.set_id)) {
                        warn!(error = %e, set_id = next.set_id, "GRANDPA voter record of the next set not written; the voter stops");
                        break;
                    }
                    let peers: Vec<PeerId> = next.voters.iter().map(|k| PeerId::from(*k)).collect();
                    // The commit that ended the set, to both sets' voters and the
                    // followers: the voter stops before its own commit timer would
                    // have sent it, and an observer of the ended set (a voter of
                    // the next) learns the end from it alone.
                    running.shared.send_commit_everywhere(next.justification.clone(), &peers);
                    match launcher.launch(next.set_id, &next.voters, peers) {
                        Ok(r) => {
                            info!(set_id = next.set_id, voters = next.voters.len(),
                                voting = r.shared.local.is_some(), "GRANDPA voter set handed off");
                            *lock_plain(&sets.current) = Arc::downgrade(&r.shared);
                            running = r;
                            // Everyone connected now had this set's end from
                            // the broadcast above; later peers get it once.
                            let connected = launcher.network.connected_peers();
                            *lock_plain(&sets.informed) = connected.into_iter().collect();
                            sets.deliver_later();
                        }
                        Err(e) => {
                            warn!(error = %e, set_id = next.set_id, "GRANDPA voter of the next set did not start");
                            break;
                        }
                    }
                }
            }
        }
    });
    Ok(FinalityHandle {
        supervisor,
        finalized: finalized_rx,
        sets: handle_sets,
    })
}

/// What every set's voter shares: starts one set's voter.
struct Launcher {
    local: Option<Keypair>,
    gossip: Duration,
    network: Network,
    tree: Arc<dyn BlockTree>,
    store: Arc<dyn VoterStore>,
    finalized: Arc<watch::Sender<(Hash, Number)>>,
    hand_off: tokio::sync::mpsc::UnboundedSender<HandOff>,
}

impl Launcher {
    /// Start the voter of set `set_id` with `voters` from its record in the
    /// store (or round 1 on the finalized block), sending to `peers`.
    fn launch(
        &self,
        set_id: u64,
        voter_keys: &[PublicKey],
        peers: Vec<PeerId>,
    ) -> Result<Running, FinalityError> {
        let mut unique = HashSet::new();
        for v in voter_keys {
            if !unique.insert(*v) {
                return Err(FinalityError::DuplicateVoter(*v));
            }
        }
        let voters = VoterSet::new(voter_keys.iter().map(|k| (*k, 1)))
            .ok_or(FinalityError::EmptyVoterSet)?;
        let record = restored_record(&*self.store, set_id)?;
        let local = self
            .local
            .clone()
            .filter(|k| voters.get(&k.public()).is_some());
        if local.is_none() {
            info!(
                set_id,
                "GRANDPA: no voter key of this set here; observing only"
            );
        }
        let me = self.network.peer_id();
        let peers: Vec<PeerId> = peers.into_iter().filter(|p| *p != me).collect();
        let finalized = self.tree.finalized();
        self.finalized.send_replace(finalized);
        let (global_tx, global_rx) = mpsc::unbounded();
        let shared = Arc::new(Shared {
            voters: voters.clone(),
            voter_count: voter_keys.len(),
            set_id,
            local,
            gossip: self.gossip,
            tree: self.tree.clone(),
            network: self.network.clone(),
            peers,
            router: Mutex::new(Router {
                global: Some(global_tx),
                ..Router::default()
            }),
            finalized: self.finalized.clone(),
            retired: AtomicBool::new(false),
            hand_off: self.hand_off.clone(),
            record: Mutex::new(record.clone()),
            store: self.store.clone(),
        });
        let env = Arc::new(Env {
            shared: shared.clone(),
        });
        let commits = OutgoingCommits {
            shared: shared.clone(),
        };
        let (last_number, last_votes, last_base) = last_round(&record, finalized);
        let voter = Voter::new(
            env,
            voters,
            (global_rx, commits),
            last_number,
            last_votes,
            last_base,
            finalized,
        );
        // `Voter::new` opened the round after the completed one: our votes go there.
        shared.resume(&record);
        let voter = tokio::spawn(async move {
            match voter.await {
                Ok(()) => info!(set_id, "GRANDPA voter ended"),
                Err(e) => warn!(set_id, error = %e, "GRANDPA voter stopped"),
            }
        });
        let weak = Arc::downgrade(&shared);
        let gossip = self.gossip;
        let ticker = tokio::spawn(async move {
            let mut tick = 0u64;
            loop {
                tokio::time::sleep(gossip).await;
                let Some(shared) = weak.upgrade() else { break };
                shared.retry_pending();
                tick += 1;
                if tick.is_multiple_of(4) {
                    shared.resend_own();
                }
            }
        });
        Ok(Running {
            shared,
            voter,
            ticker,
        })
    }
}

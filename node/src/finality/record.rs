//! The GRANDPA voter's persisted record: what a restarted validator must know so
//! that it resumes its rounds and never signs two different votes of one kind in
//! one round (an equivocation; GP v0.7.2 §19 finalizes with GRANDPA and relies on
//! its safety, which holds only while fewer than a third of the voters equivocate).
//!
//! The record holds the voter-set id, the last round the voter completed (its
//! number, base, state and votes: what `Voter::new` rebuilds that round from), and
//! our own votes in every later round. It is encoded with Tessera's codec and kept
//! under [`VOTER_RECORD_KEY`] in the store's `meta` family; the pure bookkeeping
//! here decides what changes, [`crate::finality`] writes it before a vote leaves.

use std::sync::Mutex;

use tessera_core::codec::{Decode, Encode};
use tessera_net::messages::{
    GrandpaMessage, GrandpaTarget, GrandpaVote, SignedGrandpaVote, MAX_GRANDPA_VOTES,
};

use crate::store::{StateStore, StoreError};

/// The key of the voter's record in the store's `meta` family.
pub const VOTER_RECORD_KEY: &str = "grandpa_voter";

/// The most votes of a completed round kept: a prevote, a precommit and their
/// equivocations for every voter of the largest set, and a primary proposal
/// (`2 × MAX_GRANDPA_VOTES + 1`). A round seen with more keeps its first ones,
/// those that completed it.
pub const MAX_RECORD_VOTES: usize = 2 * MAX_GRANDPA_VOTES + 1;

/// The most rounds after the completed one that hold our votes. The voter casts
/// votes in its best round (the one after the completed round, since a round is
/// recorded as completed before the next one starts) and in earlier rounds still
/// running in the background (at or before the completed one: nothing to record),
/// so one is the most it needs; the bound only keeps a record decodable.
pub const MAX_LIVE_ROUNDS: usize = 8;

/// The voter's persisted state.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct VoterRecord {
    /// The voter-set id the rounds belong to (a record of another set is not used).
    pub set_id: u64,
    /// The last round the voter completed; `None` before the first.
    pub completed: Option<CompletedRound>,
    /// Our votes in rounds after [`VoterRecord::completed`], by increasing round.
    #[codec(seq, max = MAX_LIVE_ROUNDS, name = "grandpa voter live rounds")]
    pub live: Vec<CastVotes>,
}

/// A completed round: what `Voter::new` needs to run it again in the background
/// (its number, base and votes; it recomputes the state from the votes) and the
/// state it had, kept for the log and for checks.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct CompletedRound {
    /// The round number.
    pub round: u64,
    /// The round's base: every vote in it names this block or a descendant.
    pub base: GrandpaTarget,
    /// The round's state when it completed (or, later, concluded).
    pub state: RoundState,
    /// The votes the round had seen, ours and the other voters', in order.
    #[codec(seq, max = MAX_RECORD_VOTES, name = "grandpa completed round votes")]
    pub votes: Vec<SignedGrandpaVote>,
}

/// `finality_grandpa::round::State` in the record's terms.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Encode, Decode)]
pub struct RoundState {
    /// The prevote-GHOST block.
    pub prevote_ghost: Option<GrandpaTarget>,
    /// The block the round finalized.
    pub finalized: Option<GrandpaTarget>,
    /// The round's estimate.
    pub estimate: Option<GrandpaTarget>,
    /// Whether the round was completable.
    pub completable: bool,
}

/// Our votes in one round, each at most once: the first recorded is the only one
/// this voter ever sends in that round.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Encode, Decode)]
pub struct CastVotes {
    /// The round number.
    pub round: u64,
    /// Our primary proposal, if we were the round's primary and proposed.
    pub propose: Option<GrandpaTarget>,
    /// Our prevote.
    pub prevote: Option<GrandpaTarget>,
    /// Our precommit.
    pub precommit: Option<GrandpaTarget>,
}

impl CastVotes {
    /// The recorded vote of `vote`'s kind.
    fn slot(&mut self, vote: &GrandpaVote) -> &mut Option<GrandpaTarget> {
        match vote {
            GrandpaVote::PrimaryPropose(_) => &mut self.propose,
            GrandpaVote::Prevote(_) => &mut self.prevote,
            GrandpaVote::Precommit(_) => &mut self.precommit,
        }
    }

    /// The recorded votes, as they go on the wire.
    pub fn votes(&self) -> impl Iterator<Item = GrandpaVote> {
        let propose = self.propose.map(GrandpaVote::PrimaryPropose);
        let prevote = self.prevote.map(GrandpaVote::Prevote);
        let precommit = self.precommit.map(GrandpaVote::Precommit);
        propose.into_iter().chain(prevote).chain(precommit)
    }
}

/// What [`VoterRecord::note_vote`] made of a vote the voter is about to send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Noted {
    /// The first vote of its kind in its round: the record changed and must be
    /// on disk before the vote is sent.
    New,
    /// A vote of this kind was recorded for this round already (before a
    /// restart): that one, and only that one, may be sent.
    Recorded(GrandpaVote),
    /// A round at or before the completed one: a restarted voter never runs it
    /// again, so there is nothing to record.
    Past,
    /// [`MAX_LIVE_ROUNDS`] rounds hold votes already: the vote cannot be
    /// recorded, so it must not be sent. (The voter votes in at most one round
    /// after the completed one, so this is a broken invariant, not a load.)
    Full,
}

/// The target of any vote.
fn target(vote: &GrandpaVote) -> GrandpaTarget {
    match *vote {
        GrandpaVote::Prevote(t) | GrandpaVote::Precommit(t) | GrandpaVote::PrimaryPropose(t) => t,
    }
}

/// `target` as a vote of `kind`'s kind.
fn with_kind(kind: &GrandpaVote, target: GrandpaTarget) -> GrandpaVote {
    match kind {
        GrandpaVote::PrimaryPropose(_) => GrandpaVote::PrimaryPropose(target),
        GrandpaVote::Prevote(_) => GrandpaVote::Prevote(target),
        GrandpaVote::Precommit(_) => GrandpaVote::Precommit(target),
    }
}

impl VoterRecord {
    /// The record of a voter of set `set_id` that has completed no round.
    pub fn new(set_id: u64) -> Self {
        VoterRecord {
            set_id,
            completed: None,
            live: Vec::new(),
        }
    }

    /// The last completed round's number (0 before the first: the voter then
    /// starts at round 1).
    pub fn completed_round(&self) -> u64 {
        self.completed.as_ref().map_or(0, |c| c.round)
    }

    /// Our votes in `round`, if it is a live round.
    pub fn cast(&self, round: u64) -> Option<&CastVotes> {
        self.live.iter().find(|c| c.round == round)
    }

    /// The vote of `vote`'s kind recorded for `round`.
    pub fn recorded(&self, round: u64, vote: &GrandpaVote) -> Option<GrandpaVote> {
        let mut cast = *self.cast(round)?;
        let recorded = *cast.slot(vote);
        recorded.map(|t| with_kind(vote, t))
    }

    /// Record that the voter is about to send `vote` in `round`, unless a vote of
    /// that kind is recorded there already (see [`Noted`]).
    pub fn note_vote(&mut self, round: u64, vote: GrandpaVote) -> Noted {
        if round <= self.completed_round() {
            return Noted::Past;
        }
        if let Some(recorded) = self.recorded(round, &vote) {
            return Noted::Recorded(recorded);
        }
        let index = match self.live.iter().position(|c| c.round >= round) {
            Some(i) if self.live[i].round == round => i,
            _ if self.live.len() >= MAX_LIVE_ROUNDS => return Noted::Full,
            at => {
                let i = at.unwrap_or(self.live.len());
                let fresh = CastVotes {
                    round,
                    ..CastVotes::default()
                };
                self.live.insert(i, fresh);
                i
            }
        };
        *self.live[index].slot(&vote) = Some(target(&vote));
        Noted::New
    }

    /// Record `round` as the last completed one (rounds complete in increasing
    /// order; an older one changes nothing). Our votes in it and in earlier
    /// rounds are dropped: a restarted voter never votes in them again.
    pub fn note_completed(&mut self, round: CompletedRound) -> bool {
        if round.round <= self.completed_round() {
            return false;
        }
        self.live.retain(|c| c.round > round.round);
        self.completed = Some(round);
        true
    }

    /// Update the last completed round with its state and votes when it
    /// concluded (more votes, the same prefix); another round changes nothing.
    pub fn note_concluded(&mut self, round: CompletedRound) -> bool {
        match &mut self.completed {
            Some(c) if c.round == round.round && *c != round => {
                *c = round;
                true
            }
            _ => false,
        }
    }
}

/// Where the voter's record is kept. [`crate::finality::start`] reads it once;
/// the voter writes it before each of its votes leaves and when a round
/// completes or concludes. A write must be durable when it returns.
pub trait VoterStore: Send + Sync + 'static {
    /// The stored record, `None` if none was written. A record that does not
    /// decode is [`StoreError::CorruptRecord`].
    fn load_voter_record(&self) -> Result<Option<VoterRecord>, StoreError>;
    /// Replace the stored record, durably.
    fn save_voter_record(&self, record: &VoterRecord) -> Result<(), StoreError>;
    /// The commit (a CE 250 message) that finalized the last block of the voter
    /// set before the current one, if the store keeps it: after a restart,
    /// peers still in that set are sent it. One that does not decode is
    /// [`StoreError::CorruptRecord`]. Default: none kept.
    fn load_ended_commit(&self) -> Result<Option<GrandpaMessage>, StoreError> {
        Ok(None)
    }
}

/// A store of its own (tests, tools): the record in its `meta` family.
impl VoterStore for Mutex<StateStore> {
    fn load_voter_record(&self) -> Result<Option<VoterRecord>, StoreError> {
        self.lock()
            .unwrap_or_else(|e| e.into_inner())
            .voter_record()
    }

    fn save_voter_record(&self, record: &VoterRecord) -> Result<(), StoreError> {
        self.lock()
            .unwrap_or_else(|e| e.into_inner())
            .set_voter_record(record)
    }
}

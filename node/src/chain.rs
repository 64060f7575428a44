//! The block tree a node keeps: every imported block since genesis, the best
//! block (GP v0.7.2 §19, eq. 19.1), the finalized block, and the posterior state
//! of each block in the [`StateStore`].
//!
//! Two heads, as the GP defines them:
//!
//! - The *best block* (GP §17.4, the end of "Auditing and Judging"): "that on
//!   which we build new blocks" — the chain with the most ticket-sealed blocks
//!   (`m`, the count of ancestors with `isticketed`) that contains no
//!   *disregarded* block, one that accumulates a report at least a third of the
//!   validators judged invalid. It does not wait for audits: a tranche lasts
//!   `A = 8 s` and a slot `P = 6 s`, so an author that waited for its parent's
//!   audit would find it only after the next slot had begun, orphaning every
//!   block that made reports available.
//! - The *vote target* (GP 19.1, `B^♭`): "the chain on which the participant
//!   should make Grandpa votes" — among the blocks that descend from the finalized
//!   block and whose every unfinalized ancestor (itself included) is *audited*
//!   (all the reports it made available were judged valid, GP §17), the one with
//!   the greatest `m`.
//!
//! Both heads also keep out every chain with an *equivocation* (GP 19.3): an
//! unfinalized block (itself included) for which another valid block of the same
//! timeslot is known, on any fork. The GP's definition is the timeslot alone
//! (two valid blocks of one slot can only come from its one seal key signing
//! twice), and it rules out both blocks and everything built on them. GP 19.3
//! states it for the vote target; it holds for the authoring head too, because
//! an author that kept building on a chain no voter may vote for would stall
//! finality, while one that builds beside the equivocation (on the last block
//! before it) makes a chain the voters can take.
//!
//! Ties go to the greater height, then the lower header hash, so that every node
//! picks the same block.
//!
//! **GRANDPA's voter sets** (GP §19 finalizes with GRANDPA over the validators'
//! Ed25519 keys): the set that finalizes the blocks after the finalized one is
//! `κ` of the finalized block's state, and its id counts the hand-offs since
//! genesis. A block whose posterior `κ′` holds other keys than its parent's `κ`
//! (an epoch change, GP 6.13, where `γ_P` brought new validators) is the last
//! block of the set before it ([`BlockInfo::next_voters`]); when finality passes
//! it the id goes up by one, written with the finalized block in one write
//! (`voter-set`), so that a restarted node starts in the right set.
//!
//! A block is stored with its posterior state in one write
//! ([`StateStore::commit`]) so that a node killed mid-import restarts on
//! a consistent tree: [`Chain::open`] rebuilds the tree from the stored blocks.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use tessera_core::codec::{decode_exact, Encode};
use tessera_core::crypto::ed25519::PublicKey;
use tessera_core::hash::Hash;
use tessera_core::spec::ChainSpec;
use tessera_core::types::{Block, Header, TimeSlot, WorkReport};
use tessera_state::sigma::validators::ValidatorSet;
use tessera_state::stf::safrole::sealing::TicketsOrKeys;
use tessera_state::{import_block, BlockError, ChainState};

use crate::finality::VoterRecord;
use crate::store::{StateStore, StoreError, Stored};
use tessera_net::messages::GrandpaMessage;

/// Why a block was not added to the tree.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// The block's parent is not in the tree (fetch it first).
    #[error("unknown parent {0}")]
    UnknownParent(Hash),
    /// The block is not after the finalized block.
    #[error("block at slot {slot} does not descend from the finalized block")]
    BelowFinalized {
        /// The block's slot.
        slot: TimeSlot,
    },
    /// The block breaks a rule of the GP.
    #[error("invalid block: {0}")]
    Block(#[from] BlockError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored block or record does not decode.
    #[error("stored block {hash} is corrupt: {reason}")]
    Corrupt {
        /// Its header hash.
        hash: Hash,
        /// What is wrong.
        reason: String,
    },
}

/// What the tree knows of one block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockInfo {
    /// The header hash.
    pub hash: Hash,
    /// `H_P`.
    pub parent: Hash,
    /// `H_T`.
    pub slot: TimeSlot,
    /// Its height: genesis is 0, each block one more than its parent.
    pub height: u32,
    /// Ticket-sealed blocks from genesis to this one (GP 19.1's `m`).
    pub ticketed: u32,
    /// The posterior state root `M_σ(σ')`.
    pub state_root: Hash,
    /// The keys of `κ′` if they are not those of the parent's `κ` (as a set):
    /// this block is the last its GRANDPA voter set finalizes, and these keys
    /// finalize the blocks after it. Known for blocks after the finalized one.
    pub next_voters: Option<Arc<Vec<PublicKey>>>,
}

/// The Ed25519 keys of a validator set, in its order (GRANDPA's voters).
pub fn voter_keys(set: &ValidatorSet) -> Vec<PublicKey> {
    set.0.iter().map(|v| v.ed25519).collect()
}

/// `κ′`'s keys if they differ, as a set, from `κ`'s: a reordering is the same
/// voter set (votes name keys).
fn changed_voters(kappa: &ValidatorSet, posterior: &ValidatorSet) -> Option<Arc<Vec<PublicKey>>> {
    if kappa == posterior {
        return None;
    }
    let sorted = |set: &ValidatorSet| {
        let mut keys = voter_keys(set);
        keys.sort_unstable_by_key(|k| k.0);
        keys
    };
    (sorted(kappa) != sorted(posterior)).then(|| Arc::new(voter_keys(posterior)))
}

/// What an import did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Imported {
    /// The block was already in the tree.
    Known,
    /// The block was added; `best_changed` if it (or a block it made eligible)
    /// is now the best block.
    New {
        /// Its tree entry.
        info: BlockInfo,
        /// `W` (GP 11.16): the reports this block made available, which must be
        /// audited before the block counts as audited (none: audited at once).
        available: Vec<WorkReport>,
        /// Whether the best block changed.
        best_changed: bool,
    },
}

/// The record key of the finalized block's hash.
const FINALIZED: &str = "finalized";
/// The record key of the GRANDPA voter set's id after the finalized block (`E_8`;
/// absent: 0).
const VOTER_SET: &str = "voter-set";
/// The record key of the commit that ended the set before it (a CE 250 message,
/// as GRANDPA's justification gives it), when the finalization that ended it
/// came with one.
const VOTER_SET_END: &str = "voter-set-end";

/// Finalized blocks kept in memory below the finalized one (older ones are read back
/// from the store when asked for): a 10,000-slot run would otherwise hold every block
/// in every validator's memory.
pub const FINALIZED_BLOCKS_IN_MEMORY: u32 = 256;

/// The block tree over a [`StateStore`].
pub struct Chain {
    spec: ChainSpec,
    store: StateStore,
    infos: HashMap<Hash, BlockInfo>,
    blocks: HashMap<Hash, Arc<Block>>,
    children: HashMap<Hash, Vec<Hash>>,
    /// Blocks known to be audited (and genesis); see the module docs.
    audited: BTreeSet<Hash>,
    /// Blocks that accumulate a report judged invalid by a third of the
    /// validators (GP §17.4): no block is built on them or their descendants.
    disregarded: BTreeSet<Hash>,
    genesis: Hash,
    finalized: Hash,
    /// The best block (GP §17.4), to author on.
    best: Hash,
    /// The vote target (GP 19.1).
    vote: Hash,
    /// Keep every state (`--archive`) instead of pruning at finality.
    archive: bool,
    /// Blocks whose states are in the store: the finalized block's and the
    /// unfinalized ones' (every block's in an archive). Finality prunes from
    /// this set, so it stays as small as the unfinalized tree.
    stored: HashSet<Hash>,
    /// The imported blocks of each timeslot after the finalized block's: two in
    /// one slot are an equivocation (GP 19.3).
    by_slot: HashMap<TimeSlot, Vec<Hash>>,
    /// The GRANDPA voter set after the finalized block: its id and keys.
    voter_set: (u64, Arc<Vec<PublicKey>>),
}

impl Chain {
    /// The tree over `store`, whose genesis is `genesis` with state
    /// `genesis_state`. A store that already holds blocks (a restart) gives them
    /// back, with the finalized block it recorded; blocks up to the finalized one
    /// and blocks that made nothing available are audited, the rest wait for
    /// their audits again.
    pub fn open(
        spec: &ChainSpec,
        mut store: StateStore,
        genesis: &Header,
        genesis_state: ChainState,
    ) -> Result<Chain, ChainError> {
        let genesis_hash = genesis.hash();
        let root = if store.contains(&genesis_hash)? {
            store
                .get(&genesis_hash)?
                .map(|s| s.root)
                .unwrap_or_default()
        } else {
            store.put(genesis_hash, Arc::new(genesis_state))?
        };
        let genesis_info = BlockInfo {
            hash: genesis_hash,
            parent: genesis.parent,
            slot: genesis.slot,
            height: 0,
            ticketed: 0,
            state_root: root,
            next_voters: None,
        };
        let mut chain = Chain {
            spec: spec.clone(),
            store,
            infos: HashMap::from([(genesis_hash, genesis_info)]),
            blocks: HashMap::new(),
            children: HashMap::new(),
            audited: BTreeSet::from([genesis_hash]),
            disregarded: BTreeSet::new(),
            genesis: genesis_hash,
            finalized: genesis_hash,
            best: genesis_hash,
            vote: genesis_hash,
            archive: false,
            stored: HashSet::from([genesis_hash]),
            by_slot: HashMap::new(),
            voter_set: (0, Arc::new(Vec::new())),
        };
        chain.reload()?;
        chain.evict_old_blocks();
        Ok(chain)
    }

    /// Rebuild the tree from the stored blocks (parents before children: a
    /// child's slot is after its parent's, GP 5.7).
    fn reload(&mut self) -> Result<(), ChainError> {
        let mut stored = Vec::new();
        for (hash, bytes) in self.store.blocks()? {
            let corrupt = |reason: String| ChainError::Corrupt { hash, reason };
            if bytes.len() < 33 {
                return Err(corrupt(format!("a record of {} octets", bytes.len())));
            }
            let (head, body) = bytes.split_at(33);
            let block: Block =
                decode_exact(&self.spec, body).map_err(|e| corrupt(e.to_string()))?;
            let mut root = [0u8; 32];
            root.copy_from_slice(&head[1..]);
            stored.push((block, head[0] == 1, tessera_core::ByteArray(root)));
        }
        stored.sort_by_key(|(b, _, _)| b.header.slot);
        for (block, ticketed, root) in stored {
            let hash = block.header.hash();
            let Some(parent) = self.infos.get(&block.header.parent).cloned() else {
                continue;
            };
            if self.store.contains(&hash)? {
                self.stored.insert(hash);
            }
            // Audited unless it made reports available (checked when the parent's
            // state is still there; a pruned one is below the finalized block).
            // The same goes for a change of voters, which only an epoch change
            // makes (GP 6.13).
            let (unaudited, next_voters) = match self.store.get(&parent.hash)? {
                Some(prior) => {
                    let unaudited = !available_reports(&self.spec, &prior.state, &block).is_empty();
                    let next_voters = match block.header.epoch_mark {
                        Some(_) => self
                            .store
                            .get(&hash)?
                            .and_then(|post| changed_voters(&prior.state.kappa, &post.state.kappa)),
                        None => None,
                    };
                    (unaudited, next_voters)
                }
                None => (false, None),
            };
            self.insert(&parent, block, ticketed, root, next_voters);
            if !unaudited {
                self.audited.insert(hash);
            }
        }
        if let Some(bytes) = self.store.meta(FINALIZED)? {
            let hash = <[u8; 32]>::try_from(bytes.as_slice())
                .map(tessera_core::ByteArray)
                .map_err(|_| ChainError::Corrupt {
                    hash: Hash::default(),
                    reason: "finalized record is not a hash".into(),
                })?;
            if self.infos.contains_key(&hash) {
                self.finalized = hash;
                // Final blocks count as audited (`is_audited`) without a mark.
                let floor = self.infos[&hash].slot;
                self.by_slot.retain(|slot, _| *slot > floor);
            }
        }
        let set_id = match self.store.meta(VOTER_SET)? {
            None => 0,
            Some(bytes) => {
                decode_exact::<u64>(&self.spec, &bytes).map_err(|e| ChainError::Corrupt {
                    hash: self.finalized,
                    reason: format!("the voter-set record: {e}"),
                })?
            }
        };
        let finalized_state =
            self.store
                .get(&self.finalized)?
                .ok_or_else(|| ChainError::Corrupt {
                    hash: self.finalized,
                    reason: "the finalized block's state is missing".into(),
                })?;
        self.voter_set = (set_id, Arc::new(voter_keys(&finalized_state.state.kappa)));
        self.choose_heads();
        Ok(())
    }

    fn insert(
        &mut self,
        parent: &BlockInfo,
        block: Block,
        ticketed: bool,
        state_root: Hash,
        next_voters: Option<Arc<Vec<PublicKey>>>,
    ) -> BlockInfo {
        let hash = block.header.hash();
        let info = BlockInfo {
            hash,
            parent: parent.hash,
            slot: block.header.slot,
            height: parent.height + 1,
            ticketed: parent.ticketed + u32::from(ticketed),
            state_root,
            next_voters,
        };
        self.infos.insert(hash, info.clone());
        let twins = self.by_slot.entry(info.slot).or_default();
        twins.push(hash);
        if twins.len() == 2 {
            tracing::warn!(slot = info.slot, first = %twins[0], second = %hash,
                "equivocation: two blocks of one timeslot; neither chain is built on or voted for (GP 19.3)");
        }
        self.blocks.insert(hash, Arc::new(block));
        self.children.entry(parent.hash).or_default().push(hash);
        info
    }

    /// The availability store in the same database (`None` for an in-memory
    /// store).
    pub fn shard_store(&self) -> Result<Option<tessera_da::store::ShardStore>, ChainError> {
        Ok(self.store.shard_store()?)
    }

    /// What each part of the node's database holds ([`StateStore::usage`]).
    pub fn store_usage(&self) -> Result<Vec<crate::store::FamilyUsage>, ChainError> {
        Ok(self.store.usage()?)
    }

    /// What the node's database holds in memory ([`StateStore::db_memory`]).
    pub fn db_memory(&self) -> Result<Option<crate::store::DbMemory>, ChainError> {
        Ok(self.store.db_memory()?)
    }

    /// The chain spec.
    pub fn spec(&self) -> &ChainSpec {
        &self.spec
    }

    /// Import `block` onto its parent's state (`Υ`, GP 4.1) and add it to the
    /// tree. A rejected block changes nothing.
    pub fn import(&mut self, block: &Block) -> Result<Imported, ChainError> {
        let hash = block.header.hash();
        if self.infos.contains_key(&hash) {
            return Ok(Imported::Known);
        }
        let parent = self
            .infos
            .get(&block.header.parent)
            .cloned()
            .ok_or(ChainError::UnknownParent(block.header.parent))?;
        if !self.descends_from_finalized(&parent.hash) {
            return Err(ChainError::BelowFinalized {
                slot: block.header.slot,
            });
        }
        let prior = self
            .store
            .get(&parent.hash)?
            .ok_or(ChainError::UnknownParent(parent.hash))?;
        let post = import_block(&self.spec, &prior.state, &prior.root, block)?;
        // `isticketed` (GP 6.15): the slot's seal key was a ticket.
        let ticketed = matches!(post.gamma.seal_keys, TicketsOrKeys::Tickets(_));
        let next_voters = changed_voters(&prior.state.kappa, &post.kappa);
        // The record: `isticketed`, the posterior root, `E(B)`. The root comes
        // from the parent's trie updated along what the block changed.
        let staged = self.store.stage_child(&parent.hash, Arc::new(post))?;
        let root = staged.root();
        let mut record = vec![u8::from(ticketed)];
        record.extend_from_slice(&root.0);
        block.encode_to(&mut record);
        self.store.commit(hash, staged, Some(&record))?;
        self.stored.insert(hash);
        let available = available_reports(&self.spec, &prior.state, block);
        let info = self.insert(&parent, block.clone(), ticketed, root, next_voters);
        if available.is_empty() {
            self.audited.insert(hash);
        }
        let before = self.best;
        self.choose_heads();
        Ok(Imported::New {
            info,
            available,
            best_changed: before != self.best,
        })
    }

    /// Mark `hash` audited (GP §17: every report it made available was judged
    /// valid), which may make it or a descendant the vote target (GRANDPA asks
    /// for it when it votes).
    pub fn set_audited(&mut self, hash: Hash) {
        if self.infos.contains_key(&hash) && self.audited.insert(hash) {
            self.choose_heads();
        }
    }

    /// Disregard `hash` (GP §17.4: it accumulates a report that at least a third
    /// of the validators judge invalid): neither it nor a descendant is the best
    /// block again. Returns whether the best block changed.
    pub fn set_disregarded(&mut self, hash: Hash) -> bool {
        if !self.infos.contains_key(&hash) || !self.disregarded.insert(hash) {
            return false;
        }
        let before = self.best;
        self.choose_heads();
        before != self.best
    }

    /// Whether `hash` is disregarded.
    pub fn is_disregarded(&self, hash: &Hash) -> bool {
        self.disregarded.contains(hash)
    }

    /// Whether `hash` is audited: marked so, or final (finality follows audits;
    /// the marks of blocks behind the finalized one are dropped).
    pub fn is_audited(&self, hash: &Hash) -> bool {
        self.audited.contains(hash) || self.is_ancestor(hash, &self.finalized)
    }

    /// Keep every state (an archive node) instead of pruning at finality.
    pub fn set_archive(&mut self, archive: bool) {
        self.archive = archive;
    }

    /// Whether every state is kept (`--archive`).
    pub fn is_archive(&self) -> bool {
        self.archive
    }

    /// The GRANDPA voter set that finalizes the blocks after the finalized one:
    /// its id and its keys (`κ` of the finalized block's state).
    pub fn voter_set(&self) -> (u64, Arc<Vec<PublicKey>>) {
        self.voter_set.clone()
    }

    /// The commit that ended the voter set before the current one, as
    /// [`Chain::finalize_justified`] kept it.
    pub fn voter_set_end(&self) -> Result<Option<GrandpaMessage>, StoreError> {
        let Some(bytes) = self.store.meta(VOTER_SET_END)? else {
            return Ok(None);
        };
        decode_exact(&self.spec, &bytes)
            .map(Some)
            .map_err(|source| StoreError::CorruptRecord {
                key: VOTER_SET_END,
                source,
            })
    }

    /// The GRANDPA voter's record in the store ([`StateStore::voter_record`]).
    pub fn voter_record(&self) -> Result<Option<VoterRecord>, StoreError> {
        self.store.voter_record()
    }

    /// Replace the GRANDPA voter's record, durably
    /// ([`StateStore::set_voter_record`]).
    pub fn set_voter_record(&mut self, record: &VoterRecord) -> Result<(), StoreError> {
        self.store.set_voter_record(record)
    }

    /// Finalize `hash` (a descendant of the finalized block), recording it, and
    /// (unless an archive) prune the states no longer needed: those of the
    /// finalized block's ancestors and of every fork that does not descend from
    /// it. What stays is the finalized state and every unfinalized state after
    /// it; blocks themselves all stay (peers sync from them). Returns the number
    /// of states pruned, or `None` if `hash` was not a new finalized block.
    pub fn finalize(&mut self, hash: Hash) -> Result<Option<usize>, ChainError> {
        self.finalize_justified(hash, None)
    }

    /// [`Chain::finalize`], with the `justification` that proves it (GRANDPA's
    /// commit): kept when the finalized blocks end a voter set
    /// ([`Chain::voter_set_end`]).
    pub fn finalize_justified(
        &mut self,
        hash: Hash,
        justification: Option<&[u8]>,
    ) -> Result<Option<usize>, ChainError> {
        if hash == self.finalized || !self.infos.contains_key(&hash) {
            return Ok(None);
        }
        if !self.is_ancestor(&self.finalized, &hash) {
            return Ok(None);
        }
        // The voter sets that end at the newly final blocks (one, unless a
        // supermajority voted past its set's last block).
        let mut ended = 0;
        let mut next = None;
        let mut at = hash;
        while at != self.finalized {
            let info = &self.infos[&at];
            if let Some(keys) = &info.next_voters {
                ended += 1;
                next.get_or_insert_with(|| keys.clone());
            }
            at = info.parent;
        }
        match next {
            Some(keys) => {
                let set_id = self.voter_set.0 + ended;
                let id = set_id.encode();
                let mut records = vec![(FINALIZED, hash.0.as_slice()), (VOTER_SET, id.as_slice())];
                records.extend(justification.map(|j| (VOTER_SET_END, j)));
                self.store.set_metas(&records)?;
                tracing::info!(
                    set_id,
                    voters = keys.len(),
                    "GRANDPA voter set handed off at the finalized block"
                );
                self.voter_set = (set_id, keys);
            }
            None => self.store.set_meta(FINALIZED, &hash.0)?,
        }
        self.finalized = hash;
        // An equivocation matters only above the finalized block (GP 19.3).
        let floor = self.infos[&hash].slot;
        self.by_slot.retain(|slot, _| *slot > floor);
        self.choose_heads();
        // The finalized block and its descendants: what stays above finality.
        let keep: HashSet<Hash> = {
            let mut keep = HashSet::from([hash]);
            let mut stack = vec![hash];
            while let Some(at) = stack.pop() {
                for c in self.children.get(&at).into_iter().flatten() {
                    keep.insert(*c);
                    stack.push(*c);
                }
            }
            keep
        };
        // Audit marks matter only above the finalized block (`chain_audited`).
        self.audited.retain(|h| keep.contains(h));
        if self.archive {
            self.evict_old_blocks();
            return Ok(Some(0));
        }
        let doomed: Vec<Hash> = self
            .stored
            .iter()
            .filter(|h| !keep.contains(*h))
            .copied()
            .collect();
        self.store.delete_states(&doomed)?;
        for h in &doomed {
            self.stored.remove(h);
        }
        self.evict_old_blocks();
        Ok(Some(doomed.len()))
    }

    /// Whether `ancestor` is `block` or one of its ancestors.
    pub fn is_ancestor(&self, ancestor: &Hash, block: &Hash) -> bool {
        let Some(target) = self.infos.get(ancestor) else {
            return false;
        };
        let mut at = *block;
        while let Some(info) = self.infos.get(&at) {
            if at == *ancestor {
                return true;
            }
            if info.height <= target.height {
                return false;
            }
            at = info.parent;
        }
        false
    }

    fn descends_from_finalized(&self, hash: &Hash) -> bool {
        self.is_ancestor(&self.finalized, hash)
    }

    /// Whether every block from `hash` back to the finalized block is audited.
    fn chain_audited(&self, hash: &Hash) -> bool {
        let mut at = *hash;
        loop {
            if at == self.finalized {
                return true;
            }
            if !self.audited.contains(&at) {
                return false;
            }
            match self.infos.get(&at) {
                Some(info) => at = info.parent,
                None => return false,
            }
        }
    }

    fn choose_heads(&mut self) {
        self.best = self.choose(|c, h| !c.disregarded.contains(h) && !c.equivocated(h));
        self.vote = self.choose(|c, h| c.audited.contains(h) && !c.equivocated(h));
        debug_assert!(self.chain_audited(&self.vote));
    }

    /// The block with the greatest (`m`, height, lowest hash) among the
    /// descendants of the finalized block whose every unfinalized ancestor, itself
    /// included, passes `eligible` (see the module docs).
    fn choose(&self, eligible: impl Fn(&Chain, &Hash) -> bool) -> Hash {
        let key = |i: &BlockInfo| (i.ticketed, i.height, std::cmp::Reverse(i.hash));
        let mut best = &self.infos[&self.finalized];
        let mut stack = vec![self.finalized];
        while let Some(at) = stack.pop() {
            for child in self.children.get(&at).into_iter().flatten() {
                if !eligible(self, child) {
                    continue;
                }
                let info = &self.infos[child];
                if key(info) > key(best) {
                    best = info;
                }
                stack.push(*child);
            }
        }
        best.hash
    }

    /// Whether another block of `hash`'s timeslot is known (GP 19.3).
    pub fn equivocated(&self, hash: &Hash) -> bool {
        self.infos
            .get(hash)
            .and_then(|i| self.by_slot.get(&i.slot))
            .is_some_and(|twins| twins.len() > 1)
    }

    /// The best block (GP §17.4): the head to author on.
    pub fn best(&self) -> &BlockInfo {
        &self.infos[&self.best]
    }

    /// The vote target (GP 19.1): the block GRANDPA votes for.
    pub fn vote_target(&self) -> &BlockInfo {
        &self.infos[&self.vote]
    }

    /// The most recent finalized block.
    pub fn finalized(&self) -> &BlockInfo {
        &self.infos[&self.finalized]
    }

    /// The genesis header's hash.
    pub fn genesis_hash(&self) -> Hash {
        self.genesis
    }

    /// The tree entry of `hash`.
    pub fn info(&self, hash: &Hash) -> Option<&BlockInfo> {
        self.infos.get(hash)
    }

    /// The block `hash` (not genesis, whose body is not kept): from memory while it
    /// is unfinalized or among the last [`FINALIZED_BLOCKS_IN_MEMORY`] finalized
    /// blocks, else read back from the store.
    pub fn block(&self, hash: &Hash) -> Option<Arc<Block>> {
        if let Some(b) = self.blocks.get(hash) {
            return Some(b.clone());
        }
        self.infos.get(hash)?;
        let bytes = match self.store.block(hash) {
            Ok(Some(bytes)) => bytes,
            Ok(None) => return None,
            Err(e) => {
                tracing::warn!(block = %hash, "reading a stored block: {e}");
                return None;
            }
        };
        let body = bytes.get(33..)?;
        match decode_exact::<Block>(&self.spec, body) {
            Ok(b) => Some(Arc::new(b)),
            Err(e) => {
                tracing::warn!(block = %hash, "a stored block does not decode: {e}");
                None
            }
        }
    }

    /// Blocks whose bodies are held in memory.
    pub fn blocks_in_memory(&self) -> usize {
        self.blocks.len()
    }

    /// Drop from memory the blocks more than [`FINALIZED_BLOCKS_IN_MEMORY`] below
    /// the finalized one (the store keeps them all, for sync and RPC).
    fn evict_old_blocks(&mut self) {
        let Some(finalized) = self.infos.get(&self.finalized).map(|i| i.height) else {
            return;
        };
        let floor = finalized.saturating_sub(FINALIZED_BLOCKS_IN_MEMORY);
        let infos = &self.infos;
        self.blocks
            .retain(|h, _| infos.get(h).is_none_or(|i| i.height >= floor));
    }

    /// How many states the tree holds in the store, and how many audit marks
    /// it keeps: both as few as the finalized block and the tree above it.
    pub fn tracked(&self) -> (usize, usize) {
        (self.stored.len(), self.audited.len())
    }

    /// Blocks in the tree, genesis included.
    pub fn len(&self) -> usize {
        self.infos.len()
    }

    /// Never: genesis is always there.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The posterior state of `hash`.
    pub fn state(&mut self, hash: &Hash) -> Result<Option<Stored>, ChainError> {
        Ok(self.store.get(hash)?)
    }

    /// The hashes from `block` back to, but not including, `base`; `None` if
    /// `base` is not an ancestor of `block`.
    pub fn ancestry(&self, base: &Hash, block: &Hash) -> Option<Vec<Hash>> {
        let floor = self.infos.get(base)?.height;
        let mut out = Vec::new();
        let mut at = *block;
        loop {
            if at == *base {
                return Some(out);
            }
            let info = self.infos.get(&at)?;
            if info.height <= floor {
                return None;
            }
            out.push(at);
            at = info.parent;
        }
    }

    /// CE 128's answer: up to `max` blocks from `hash` — its descendants breadth
    /// first (`ascending`), or it and its ancestors (descending).
    pub fn walk(&self, hash: &Hash, ascending: bool, max: usize) -> Vec<Arc<Block>> {
        let mut out = Vec::new();
        if ascending {
            let mut frontier = vec![*hash];
            while !frontier.is_empty() && out.len() < max {
                let mut next = Vec::new();
                for h in frontier {
                    for c in self.children.get(&h).into_iter().flatten() {
                        if out.len() < max {
                            if let Some(b) = self.block(c) {
                                out.push(b);
                            }
                            next.push(*c);
                        }
                    }
                }
                frontier = next;
            }
        } else {
            let mut at = *hash;
            while out.len() < max {
                let Some(b) = self.block(&at) else { break };
                at = b.header.parent;
                out.push(b);
            }
        }
        out
    }

    /// Every block in the tree but genesis, oldest slot first (parents before
    /// children, GP 5.7).
    pub fn in_slot_order(&self) -> Vec<&BlockInfo> {
        let mut out: Vec<&BlockInfo> = self
            .infos
            .values()
            .filter(|i| i.hash != self.genesis)
            .collect();
        out.sort_by_key(|i| (i.slot, i.height));
        out
    }

    /// The blocks without children that descend from the finalized block
    /// (UP 0 handshake leaves).
    pub fn leaves(&self) -> Vec<&BlockInfo> {
        let mut out = Vec::new();
        let mut stack = vec![self.finalized];
        while let Some(at) = stack.pop() {
            match self.children.get(&at) {
                Some(c) if !c.is_empty() => stack.extend(c.iter().copied()),
                _ => out.push(&self.infos[&at]),
            }
        }
        out
    }
}

/// `W` (GP 11.16) of `block` on `prior`: the reports pending on cores that more
/// than two thirds of the validators assure. The block has been imported, so its
/// assurances are valid; only the counting is repeated here. (A report cleared by
/// the same block's disputes, GP 10.15, is left out as `ρ‡` does.)
pub fn available_reports(spec: &ChainSpec, prior: &ChainState, block: &Block) -> Vec<WorkReport> {
    let disputed: BTreeSet<Hash> = block
        .extrinsic
        .disputes
        .verdicts
        .iter()
        .map(|v| v.target)
        .collect();
    let threshold = spec.supermajority();
    prior
        .rho
        .0
        .iter()
        .enumerate()
        .filter_map(|(core, pending)| {
            let pending = pending.as_ref()?;
            let count = block
                .extrinsic
                .assurances
                .0
                .iter()
                .filter(|a| a.bitfield.is_set(core))
                .count();
            (count >= threshold && !disputed.contains(&pending.report.hash()))
                .then(|| pending.report.clone())
        })
        .collect()
}

//! GRANDPA finality (`tessera_node::finality`) on loopback JAMNP-S endpoints: six
//! JIP-5 dev validators vote over CE 250 on a shared in-memory block tree that
//! grows (with a fork) while they run.
//!
//! GRANDPA's threshold for six voters is `6 − ⌊5/3⌋ = 5`: one silent voter is
//! tolerated, two are not. The tests check both sides of that line, a voter whose
//! audited tip lags capping finality, forged commits refused, the CE 250 codec,
//! and the voter's record: stored and read back, written before each vote leaves,
//! and resumed from after a restart without a vote that differs from it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use proptest::prelude::*;
use tessera_core::crypto::ed25519::{self, Keypair, PublicKey};
use tessera_core::crypto::jip5::ValidatorSecrets;
use tessera_core::{decode_exact, ByteArray, ChainSpec, Encode, Hash};
use tessera_net::messages::{
    GrandpaMessage, GrandpaProtocol, GrandpaTarget, GrandpaVote, SignedGrandpaVote,
};
use tessera_net::{Identity, Network, NetworkConfig, PeerId, Refusal, Wire};
use tessera_node::finality::record::{
    CastVotes, CompletedRound, Noted, RoundState, VoterRecord, VoterStore, MAX_LIVE_ROUNDS,
    VOTER_RECORD_KEY,
};
use tessera_node::finality::{
    self, threshold, verify_justification, vote_payload, BlockInfo, BlockTree, FinalityConfig,
    FinalityError, FinalityHandle, JustificationError,
};
use tessera_node::store::{StateStore, StoreError};

const GOSSIP: Duration = Duration::from_millis(50);

// ---------------------------------------------------------------------------
// A shared in-memory block tree and one voter's view of it.

/// Block `number` of branch `fork` (0 is the main chain); genesis is `h(0, 0)`.
fn h(fork: u8, number: u32) -> Hash {
    let mut b = [0u8; 32];
    b[0] = fork;
    b[1..5].copy_from_slice(&number.to_le_bytes());
    b[31] = 0x6a;
    ByteArray(b)
}

fn genesis() -> Hash {
    h(0, 0)
}

#[derive(Default)]
struct Blocks {
    blocks: HashMap<Hash, BlockInfo>,
    /// Tips of the branches.
    leaves: Vec<(Hash, u32)>,
}

impl Blocks {
    fn new() -> Self {
        let mut b = Blocks::default();
        b.blocks.insert(
            genesis(),
            BlockInfo {
                parent: ByteArray([0; 32]),
                number: 0,
            },
        );
        b.leaves.push((genesis(), 0));
        b
    }

    /// Add block `(fork, number)` as a child of `parent`.
    fn add(&mut self, fork: u8, parent: Hash) -> (Hash, u32) {
        let number = self.blocks[&parent].number + 1;
        let hash = h(fork, number);
        self.blocks.insert(hash, BlockInfo { parent, number });
        self.leaves.retain(|(l, _)| *l != parent);
        self.leaves.push((hash, number));
        (hash, number)
    }

    /// The ancestor of `hash` at height `number`.
    fn ancestor_at(&self, mut hash: Hash, number: u32) -> Hash {
        while self.blocks[&hash].number > number {
            hash = self.blocks[&hash].parent;
        }
        hash
    }

    fn descends(&self, base: Hash, block: Hash) -> bool {
        let n = self.blocks[&base].number;
        self.blocks[&block].number >= n && self.ancestor_at(block, n) == base
    }
}

type Shared = Arc<Mutex<Blocks>>;

/// One voter's tree: the shared blocks, its own finalized block, and an optional
/// audit cap (its best votable block is never above that height).
struct View {
    blocks: Shared,
    cap: Option<u32>,
    /// Calls of `best_votable`: the voter asks it only to construct a prevote.
    asked: std::sync::atomic::AtomicUsize,
    finalized: Mutex<(Hash, u32)>,
    justifications: Mutex<Vec<(Hash, u32, Vec<u8>)>>,
    /// Finalizations that did not extend the previous finalized block.
    violations: Mutex<Vec<String>>,
    /// Heights whose blocks (on every branch) end the voter set in force, with
    /// the next set's keys.
    ends: Vec<(u32, Vec<PublicKey>)>,
}

impl View {
    fn new(blocks: Shared, cap: Option<u32>) -> Arc<View> {
        View::with_ends(blocks, cap, Vec::new())
    }

    /// A view in which the blocks at the heights of `ends` end voter sets.
    fn with_ends(blocks: Shared, cap: Option<u32>, ends: Vec<(u32, Vec<PublicKey>)>) -> Arc<View> {
        Arc::new(View {
            blocks,
            cap,
            asked: Default::default(),
            finalized: Mutex::new((genesis(), 0)),
            justifications: Mutex::new(Vec::new()),
            violations: Mutex::new(Vec::new()),
            ends,
        })
    }
}

impl BlockTree for View {
    fn block(&self, hash: &Hash) -> Option<BlockInfo> {
        self.blocks.lock().unwrap().blocks.get(hash).copied()
    }

    fn best_votable(&self) -> (Hash, u32) {
        self.asked.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        // Never hold both locks: the test reads `finalized` with `blocks` held.
        let (fin, _) = self.finalized();
        let blocks = self.blocks.lock().unwrap();
        let (tip, n) = blocks
            .leaves
            .iter()
            .filter(|(l, _)| blocks.descends(fin, *l))
            .max_by_key(|(_, n)| *n)
            .copied()
            .unwrap_or((fin, blocks.blocks[&fin].number));
        match self.cap {
            Some(cap) if n > cap => (blocks.ancestor_at(tip, cap), cap),
            _ => (tip, n),
        }
    }

    fn finalized(&self) -> (Hash, u32) {
        *self.finalized.lock().unwrap()
    }

    fn next_voter_set(&self, hash: &Hash) -> Option<Vec<PublicKey>> {
        let number = self.block(hash)?.number;
        self.ends
            .iter()
            .find(|(n, _)| *n == number)
            .map(|(_, keys)| keys.clone())
    }

    fn finalize(&self, hash: Hash, number: u32, justification: Vec<u8>) {
        let fin = self.finalized();
        let ok = number > fin.1 && self.blocks.lock().unwrap().descends(fin.0, hash);
        if !ok {
            self.violations
                .lock()
                .unwrap()
                .push(format!("{number} after {}", fin.1));
        }
        *self.finalized.lock().unwrap() = (hash, number);
        self.justifications
            .lock()
            .unwrap()
            .push((hash, number, justification));
    }
}

/// Grow the main chain every 60 ms and a fork (off height 1, longer at first)
/// every 120 ms, until aborted.
fn grow(blocks: Shared) -> tokio::task::JoinHandle<()> {
    {
        let mut b = blocks.lock().unwrap();
        let (g1, _) = b.add(0, genesis());
        let mut tip = b.add(1, g1).0;
        for _ in 0..3 {
            tip = b.add(1, tip).0;
        }
    }
    tokio::spawn(async move {
        let mut tick = 0u32;
        loop {
            tokio::time::sleep(Duration::from_millis(60)).await;
            let mut b = blocks.lock().unwrap();
            let tip = |b: &Blocks, fork: u8| {
                b.leaves
                    .iter()
                    .filter(|(l, _)| l.0[0] == fork)
                    .max_by_key(|(_, n)| *n)
                    .map(|(l, _)| *l)
                    .unwrap_or(h(0, 1))
            };
            let main = tip(&b, 0);
            b.add(0, main);
            if tick.is_multiple_of(2) {
                let fork = tip(&b, 1);
                b.add(1, fork);
            }
            tick += 1;
        }
    })
}

// ---------------------------------------------------------------------------
// Loopback validators.

fn dev_key(i: u32) -> Keypair {
    static KEYS: std::sync::OnceLock<Vec<Keypair>> = std::sync::OnceLock::new();
    KEYS.get_or_init(|| (0..7).map(|i| ValidatorSecrets::dev(i).ed25519).collect())[i as usize]
        .clone()
}

fn voters() -> Vec<PublicKey> {
    (0..6).map(|i| dev_key(i).public()).collect()
}

fn net_config() -> NetworkConfig {
    let mut c = NetworkConfig::new("127.0.0.1:0".parse().unwrap(), ByteArray([0xF1; 32]));
    c.request_timeout = Duration::from_secs(2);
    c.stream_timeout = Duration::from_millis(800);
    c.handshake_timeout = Duration::from_secs(3);
    c.fallback_dial_delay = Duration::from_millis(300);
    c
}

fn endpoint(key: Keypair) -> Network {
    Network::start(Identity::new(key), ChainSpec::tiny(), net_config()).expect("endpoint starts")
}

/// Endpoints for the `online` dev validators, fully connected.
async fn mesh(online: &[u32]) -> Vec<Network> {
    let nets: Vec<Network> = online.iter().map(|i| endpoint(dev_key(*i))).collect();
    for (a, na) in nets.iter().enumerate() {
        for nb in &nets[a + 1..] {
            na.connect(nb.peer_id(), nb.local_addr().unwrap())
                .await
                .expect("loopback dial");
        }
    }
    assert!(
        eventually(5, || nets
            .iter()
            .all(|n| n.connected_peers().len() == nets.len() - 1))
        .await,
        "mesh connected"
    );
    nets
}

/// Poll `f` every 20 ms for up to `secs` seconds.
async fn eventually(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    let end = tokio::time::Instant::now() + Duration::from_secs(secs);
    while tokio::time::Instant::now() < end {
        if f() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    f()
}

fn peers() -> Vec<PeerId> {
    voters().into_iter().map(PeerId).collect()
}

/// A voter's record store of its own, in memory.
type RecordStore = Arc<Mutex<StateStore>>;

fn record_store() -> RecordStore {
    Arc::new(Mutex::new(StateStore::in_memory(&ChainSpec::tiny())))
}

fn stored_record(store: &RecordStore) -> Option<VoterRecord> {
    store.load_voter_record().expect("the record reads back")
}

struct Voters {
    _nets: Vec<Network>,
    handles: Vec<FinalityHandle>,
    views: Vec<Arc<View>>,
    stores: Vec<RecordStore>,
    _grower: tokio::task::JoinHandle<()>,
}

impl Drop for Voters {
    fn drop(&mut self) {
        self._grower.abort();
        for n in &self._nets {
            n.close();
        }
    }
}

/// Run voters `online` (of the six) on one growing tree; `caps` gives voters an
/// audit cap.
async fn run(online: &[u32], caps: &[(u32, u32)]) -> Voters {
    run_with(online, caps, Vec::new(), 0).await
}

/// [`run`], with the blocks at the heights of `ends` ending voter sets (every
/// voter starts in set 0, the six), and the main chain grown `ahead` blocks
/// before the voters start.
async fn run_with(
    online: &[u32],
    caps: &[(u32, u32)],
    ends: Vec<(u32, Vec<PublicKey>)>,
    ahead: u32,
) -> Voters {
    let blocks: Shared = Arc::new(Mutex::new(Blocks::new()));
    let nets = mesh(online).await;
    let grower = grow(blocks.clone());
    {
        let mut b = blocks.lock().unwrap();
        let mut tip = h(0, 1);
        for _ in 0..ahead {
            tip = b.add(0, tip).0;
        }
    }
    let mut handles = Vec::new();
    let mut views = Vec::new();
    let mut stores = Vec::new();
    for (i, net) in online.iter().zip(&nets) {
        let cap = caps.iter().find(|(v, _)| v == i).map(|(_, c)| *c);
        let view = View::with_ends(blocks.clone(), cap, ends.clone());
        let config = FinalityConfig {
            voters: voters(),
            set_id: 0,
            local: Some(dev_key(*i)),
            gossip_duration: GOSSIP,
        };
        let store = record_store();
        let handle = finality::start(config, net.clone(), peers(), view.clone(), store.clone());
        handles.push(handle.expect("starts"));
        views.push(view);
        stores.push(store);
    }
    Voters {
        _nets: nets,
        handles,
        views,
        stores,
        _grower: grower,
    }
}

/// Every pair of finalized blocks lies on one chain, and no voter ever went back.
fn assert_consistent(v: &Voters) {
    let fins: Vec<(Hash, u32)> = v.views.iter().map(|w| w.finalized()).collect();
    let blocks = v.views[0].blocks.lock().unwrap();
    for a in &fins {
        for b in &fins {
            let (lo, hi) = if a.1 <= b.1 { (a, b) } else { (b, a) };
            assert!(
                blocks.descends(lo.0, hi.0),
                "finalized blocks conflict: {fins:?}"
            );
        }
    }
    for view in &v.views {
        assert!(view.violations.lock().unwrap().is_empty());
    }
}

fn min_finalized(v: &Voters) -> u32 {
    v.handles.iter().map(|h| h.finalized().1).min().unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn six_voters_finalize_the_same_growing_chain() {
    let v = run(&[0, 1, 2, 3, 4, 5], &[]).await;
    assert!(
        eventually(20, || min_finalized(&v) >= 8).await,
        "all six reach height 8: {:?}",
        v.handles
            .iter()
            .map(|h| h.finalized().1)
            .collect::<Vec<_>>()
    );
    assert_consistent(&v);
    // The same block at a common height: the lowest finalized one is an ancestor
    // of every other voter's.
    assert!(v.handles.iter().all(|h| h.is_running() && h.round() > 1));
    // Each voter recorded the rounds it completed, up to the one before its own.
    for (h, store) in v.handles.iter().zip(&v.stores) {
        let record = stored_record(store).expect("a record was written");
        assert_eq!(record.set_id, 0);
        let completed = record.completed.expect("a completed round");
        assert!(completed.round >= 1 && completed.round < h.round());
        assert!(completed.state.completable);
        assert!(!completed.votes.is_empty());
    }

    // Every justification handed to the tree verifies, and a tampered one does not.
    let spec = ChainSpec::tiny();
    let (hash, number, just) = v.views[2].justifications.lock().unwrap()[0].clone();
    let target = verify_justification(&spec, &just, &voters(), 0, &*v.views[2]).expect("verifies");
    assert_eq!((target.hash, target.number), (hash, number));
    assert!(matches!(
        verify_justification(&spec, &just, &voters(), 1, &*v.views[2]),
        Err(JustificationError::WrongSet {
            got: 0,
            expected: 1
        })
    ));
    let mut bad = just.clone();
    let last = bad.len() - 40; // inside the last precommit's signature
    bad[last] ^= 1;
    assert!(matches!(
        verify_justification(&spec, &bad, &voters(), 0, &*v.views[2]),
        Err(JustificationError::BadSignature { .. })
    ));
    assert!(
        verify_justification(&spec, &just[..just.len() - 1], &voters(), 0, &*v.views[2]).is_err()
    );
}

/// A node outside the voter set (a follower: no key, `local: None`) connected
/// to the six voters finalizes the same chain from their commits alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_observer_finalizes_from_the_voters_commits() {
    let v = run(&[0, 1, 2, 3, 4, 5], &[]).await;
    let observer = endpoint(ValidatorSecrets::dev(6).ed25519);
    for net in &v._nets {
        observer
            .connect(net.peer_id(), net.local_addr().unwrap())
            .await
            .expect("loopback dial");
    }
    let view = View::new(v.views[0].blocks.clone(), None);
    let config = FinalityConfig {
        voters: voters(),
        set_id: 0,
        local: None,
        gossip_duration: GOSSIP,
    };
    let handle = finality::start(
        config,
        observer.clone(),
        peers(),
        view.clone(),
        record_store(),
    )
    .expect("an observer starts");
    assert!(
        eventually(20, || handle.finalized().1 >= 8).await,
        "the observer reached {:?}; the voters {:?}",
        handle.finalized(),
        v.handles
            .iter()
            .map(|h| h.finalized().1)
            .collect::<Vec<_>>()
    );
    assert!(view.violations.lock().unwrap().is_empty());
    assert_eq!(
        view.asked.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "an observer never votes"
    );
    let fin = handle.finalized();
    let blocks = view.blocks.lock().unwrap();
    for h in &v.handles {
        let (lo, hi) = if fin.1 <= h.finalized().1 {
            (fin, h.finalized())
        } else {
            (h.finalized(), fin)
        };
        assert!(
            blocks.descends(lo.0, hi.0),
            "the observer's finalized block conflicts"
        );
    }
    drop(blocks);
    observer.close();
}

/// Two hand-offs: dev validator 6 replaces 5 at height 3 (set 1), and 5 comes
/// back at height 7 (set 2). Seven endpoints run a voter each, all started in
/// set 0 (6 observing) on a main chain already 10 blocks high. Every voter
/// finalizes each set's last block itself (a set never votes past it, though
/// its first round could have finalized the whole chain), ends in set 2, and
/// every justification it was given is signed by the set in force below its
/// block, under that set's id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn voter_sets_hand_off_at_the_blocks_that_change_them() {
    let set = |ids: [u32; 6]| ids.iter().map(|i| dev_key(*i).public()).collect::<Vec<_>>();
    let sets = [
        set([0, 1, 2, 3, 4, 5]),
        set([0, 1, 2, 3, 4, 6]),
        set([0, 1, 2, 3, 4, 5]),
    ];
    let ends = vec![(3, sets[1].clone()), (7, sets[2].clone())];
    let v = run_with(&[0, 1, 2, 3, 4, 5, 6], &[], ends.clone(), 9).await;
    assert!(
        eventually(40, || min_finalized(&v) >= 14).await,
        "all seven reach height 14: {:?} in sets {:?}",
        v.handles
            .iter()
            .map(|h| h.finalized().1)
            .collect::<Vec<_>>(),
        v.handles.iter().map(|h| h.set_id()).collect::<Vec<_>>()
    );
    assert_consistent(&v);
    let spec = ChainSpec::tiny();
    for (i, ((h, view), store)) in v.handles.iter().zip(&v.views).zip(&v.stores).enumerate() {
        assert_eq!(h.set_id(), 2, "voter {i} is in set 2");
        assert_eq!(
            stored_record(store).map(|r| r.set_id),
            Some(2),
            "voter {i}'s record"
        );
        let justifications = view.justifications.lock().unwrap().clone();
        for end in [3, 7] {
            assert!(
                justifications.iter().any(|(_, n, _)| *n == end),
                "voter {i} finalized the last block of a set, #{end}, itself: {:?}",
                justifications.iter().map(|(_, n, _)| n).collect::<Vec<_>>()
            );
        }
        for (hash, number, just) in &justifications {
            let set_id = match number {
                0..=3 => 0,
                4..=7 => 1,
                _ => 2,
            };
            let target = verify_justification(&spec, just, &sets[set_id], set_id as u64, &**view)
                .unwrap_or_else(|e| panic!("voter {i}'s justification of #{number}: {e}"));
            assert_eq!((target.hash, target.number), (*hash, *number));
        }
    }

    // A follower that starts now, from genesis in set 0, is sent the two ended
    // sets' commits when it connects (in whatever order they arrive, the later
    // one waits for its set), hands off twice and follows finality in set 2.
    let follower = endpoint(ValidatorSecrets::dev(7).ed25519);
    let view = View::with_ends(v.views[0].blocks.clone(), None, ends.clone());
    let config = FinalityConfig {
        voters: sets[0].clone(),
        set_id: 0,
        local: None,
        gossip_duration: GOSSIP,
    };
    let peers = sets[0].iter().map(|k| PeerId(*k)).collect();
    let handle = finality::start(
        config,
        follower.clone(),
        peers,
        view.clone(),
        record_store(),
    )
    .expect("a follower starts");
    for net in &v._nets {
        follower
            .connect(net.peer_id(), net.local_addr().unwrap())
            .await
            .expect("loopback dial");
    }
    let target = min_finalized(&v) + 3;
    assert!(
        eventually(20, || handle.set_id() == 2
            && handle.finalized().1 >= target)
        .await,
        "the late follower is in set {} at #{} (the voters at #{})",
        handle.set_id(),
        handle.finalized().1,
        min_finalized(&v)
    );
    assert!(view.violations.lock().unwrap().is_empty());
    follower.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_of_six_online_still_finalize() {
    let v = run(&[0, 1, 2, 4, 5], &[]).await;
    assert!(
        eventually(20, || min_finalized(&v) >= 5).await,
        "five voters reach height 5: {:?}",
        v.handles
            .iter()
            .map(|h| h.finalized().1)
            .collect::<Vec<_>>()
    );
    assert_consistent(&v);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_of_six_online_finalize_nothing() {
    assert_eq!(threshold(6), 5);
    let v = run(&[0, 1, 3, 5], &[]).await;
    // Twenty round lengths (4 gossip periods each) and more.
    tokio::time::sleep(GOSSIP * 4 * 20).await;
    for (h, view) in v.handles.iter().zip(&v.views) {
        assert_eq!(h.finalized(), (genesis(), 0));
        assert!(view.justifications.lock().unwrap().is_empty());
        assert!(h.is_running());
        assert_eq!(h.round(), 1, "no round completes without a supermajority");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lagging_auditor_caps_finality_when_it_is_needed() {
    // Five online (the threshold), voter 2 has audited up to height 4 only.
    let v = run(&[0, 1, 2, 3, 4], &[(2, 4)]).await;
    assert!(
        eventually(20, || min_finalized(&v) >= 4).await,
        "finality reaches the cap: {:?}",
        v.handles
            .iter()
            .map(|h| h.finalized().1)
            .collect::<Vec<_>>()
    );
    tokio::time::sleep(GOSSIP * 4 * 10).await;
    for h in &v.handles {
        assert_eq!(
            h.finalized().1,
            4,
            "finality stays at the lagging voter's tip"
        );
    }
    assert_consistent(&v);
}

// ---------------------------------------------------------------------------
// Bad input: forged commits and votes, malformed bytes.

fn precommit(key: &Keypair, round: u64, set_id: u64, target: GrandpaTarget) -> SignedGrandpaVote {
    let vote = GrandpaVote::Precommit(target);
    SignedGrandpaVote {
        vote,
        signature: key.sign(&vote_payload(&vote, round, set_id)),
        voter: key.public(),
    }
}

fn commit(keys: &[Keypair], round: u64, target: GrandpaTarget) -> GrandpaMessage {
    GrandpaMessage::Commit {
        round,
        set_id: 0,
        target,
        precommits: keys
            .iter()
            .map(|k| precommit(k, round, 0, target))
            .collect(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_commits_are_refused_and_a_valid_one_finalizes() {
    let blocks: Shared = Arc::new(Mutex::new(Blocks::new()));
    {
        let mut b = blocks.lock().unwrap();
        let mut tip = genesis();
        for _ in 0..6 {
            tip = b.add(0, tip).0;
        }
    }
    let view = View::new(blocks.clone(), None);
    let voter = endpoint(dev_key(0));
    let outsider = endpoint(Keypair::from_seed([0x99; 32]));
    outsider
        .connect(voter.peer_id(), voter.local_addr().unwrap())
        .await
        .expect("dial");
    assert!(eventually(5, || voter.is_connected(&outsider.peer_id())).await);
    // Voter 0 alone: its own votes never reach a threshold, so only commits move it.
    let handle = finality::start(
        FinalityConfig {
            voters: voters(),
            set_id: 0,
            local: Some(dev_key(0)),
            gossip_duration: GOSSIP,
        },
        voter.clone(),
        peers(),
        view.clone(),
        record_store(),
    )
    .expect("starts");
    let keys: Vec<Keypair> = (0..6).map(dev_key).collect();
    let at = |n: u32| GrandpaTarget {
        hash: h(0, n),
        number: n,
    };
    let send = |m: GrandpaMessage| {
        let outsider = outsider.clone();
        let peer = voter.peer_id();
        async move { outsider.request::<GrandpaProtocol>(&peer, &m).await }
    };

    // Four signatures: below the threshold of five.
    send(commit(&keys[1..5], 3, at(5)))
        .await
        .expect("accepted on the wire");
    // Five, one of them corrupted.
    let mut corrupted = commit(&keys[1..6], 3, at(5));
    if let GrandpaMessage::Commit { precommits, .. } = &mut corrupted {
        precommits[2].signature.0 .0[0] ^= 1;
    }
    send(corrupted).await.expect("accepted on the wire");
    // Five from keys outside the set.
    let strangers: Vec<Keypair> = (0..5).map(|i| Keypair::from_seed([0x40 + i; 32])).collect();
    send(commit(&strangers, 3, at(5)))
        .await
        .expect("accepted on the wire");
    // Five valid signatures of another set.
    let mut other_set = commit(&keys[1..6], 3, at(5));
    if let GrandpaMessage::Commit { set_id, .. } = &mut other_set {
        *set_id = 7;
    }
    send(other_set).await.expect("accepted on the wire");
    // Five valid signatures naming the block at the wrong height.
    send(commit(
        &keys[1..6],
        3,
        GrandpaTarget {
            hash: h(0, 5),
            number: 4,
        },
    ))
    .await
    .expect("accepted on the wire");
    // Five valid signatures for a block the tree does not know (yet).
    send(commit(&keys[1..6], 3, at(9)))
        .await
        .expect("accepted on the wire");
    tokio::time::sleep(GOSSIP * 8).await;
    assert_eq!(
        handle.finalized(),
        (genesis(), 0),
        "no forged commit finalized anything"
    );
    assert!(handle.is_running());

    // A valid commit finalizes its block.
    send(commit(&keys[1..6], 3, at(3)))
        .await
        .expect("accepted on the wire");
    assert!(eventually(3, || handle.finalized() == (h(0, 3), 3)).await);
    // The parked commit for block 9 lands once the block is imported.
    {
        let mut b = blocks.lock().unwrap();
        let mut tip = h(0, 6);
        for _ in 0..3 {
            tip = b.add(0, tip).0;
        }
    }
    assert!(eventually(3, || handle.finalized() == (h(0, 9), 9)).await);
    assert!(view.violations.lock().unwrap().is_empty());
    assert!(handle.is_running());
    voter.close();
    outsider.close();
}

#[tokio::test(flavor = "current_thread")]
async fn a_bad_configuration_is_an_error() {
    let net = endpoint(dev_key(0));
    let tree = View::new(Arc::new(Mutex::new(Blocks::new())), None);
    let mut config = FinalityConfig {
        voters: Vec::new(),
        set_id: 0,
        local: None,
        gossip_duration: GOSSIP,
    };
    assert_eq!(
        finality::start(
            config.clone(),
            net.clone(),
            Vec::new(),
            tree.clone(),
            record_store()
        )
        .err(),
        Some(FinalityError::EmptyVoterSet)
    );
    config.voters = vec![voters()[0], voters()[0]];
    assert_eq!(
        finality::start(
            config.clone(),
            net.clone(),
            Vec::new(),
            tree.clone(),
            record_store()
        )
        .err(),
        Some(FinalityError::DuplicateVoter(voters()[0]))
    );
    config.voters = voters();
    config.gossip_duration = Duration::ZERO;
    assert_eq!(
        finality::start(config, net.clone(), Vec::new(), tree, record_store()).err(),
        Some(FinalityError::ZeroGossipDuration)
    );
    net.close();
}

#[test]
fn ce250_vote_encoding_is_as_documented() {
    let key = dev_key(1);
    let target = GrandpaTarget {
        hash: ByteArray([7; 32]),
        number: 0x0102_0304,
    };
    let vote = GrandpaVote::Prevote(target);
    let payload = vote_payload(&vote, 9, 2);
    let mut want = b"tessera_grandpa".to_vec();
    want.push(0);
    want.extend_from_slice(&[7; 32]);
    want.extend_from_slice(&[4, 3, 2, 1]);
    want.extend_from_slice(&9u64.to_le_bytes());
    want.extend_from_slice(&2u64.to_le_bytes());
    assert_eq!(payload, want);

    let signed = SignedGrandpaVote {
        vote,
        signature: key.sign(&payload),
        voter: key.public(),
    };
    let message = GrandpaMessage::Vote {
        round: 9,
        set_id: 2,
        vote: signed,
    };
    let bytes = message.encode();
    // tag, round, set id, vote kind, target, signature, key.
    assert_eq!(bytes.len(), 1 + 8 + 8 + 1 + 36 + 64 + 32);
    assert_eq!(bytes[0], 0);
    assert_eq!(&bytes[1..9], &9u64.to_le_bytes());
    assert_eq!(&bytes[bytes.len() - 32..], &key.public().0 .0[..]);
    let spec = ChainSpec::tiny();
    assert_eq!(
        decode_exact::<GrandpaMessage>(&spec, &bytes).unwrap(),
        message
    );
    assert_eq!(
        GrandpaMessage::from_messages(&spec, std::slice::from_ref(&bytes)).unwrap(),
        message
    );
    // Trailing octets, an unknown message kind and an unknown vote kind are errors.
    let mut trailing = bytes.clone();
    trailing.push(0);
    assert!(decode_exact::<GrandpaMessage>(&spec, &trailing).is_err());
    let mut kind = bytes.clone();
    kind[0] = 3;
    assert!(decode_exact::<GrandpaMessage>(&spec, &kind).is_err());
    let mut vote_kind = bytes;
    vote_kind[17] = 3;
    assert!(decode_exact::<GrandpaMessage>(&spec, &vote_kind).is_err());
}

// ---------------------------------------------------------------------------
// The voter's record: stored and read back, written before a vote leaves, and
// resumed from after a restart.

fn target(fork: u8, number: u32) -> GrandpaTarget {
    GrandpaTarget {
        hash: h(fork, number),
        number,
    }
}

fn signed(key: &Keypair, round: u64, vote: GrandpaVote) -> SignedGrandpaVote {
    SignedGrandpaVote {
        vote,
        signature: key.sign(&vote_payload(&vote, round, 0)),
        voter: key.public(),
    }
}

/// Voter 0's record of set 0 after a crash: round 3 completed on genesis (voters
/// 1–5 prevoted and precommitted it), and in round 4 voter 0 prevoted `prevote`.
fn record_after_round_3(prevote: GrandpaTarget) -> VoterRecord {
    let base = target(0, 0);
    let prevotes = (1..6).map(|i| signed(&dev_key(i), 3, GrandpaVote::Prevote(base)));
    let precommits = (1..6).map(|i| signed(&dev_key(i), 3, GrandpaVote::Precommit(base)));
    VoterRecord {
        set_id: 0,
        completed: Some(CompletedRound {
            round: 3,
            base,
            state: RoundState {
                prevote_ghost: Some(base),
                finalized: Some(base),
                estimate: Some(base),
                completable: true,
            },
            votes: prevotes.chain(precommits).collect(),
        }),
        live: vec![CastVotes {
            round: 4,
            prevote: Some(prevote),
            ..CastVotes::default()
        }],
    }
}

/// Genesis, a main chain to height 6 and a fork off genesis to height 3: the
/// best votable block is the main chain's tip, `h(0, 6)`.
fn two_branches() -> Shared {
    let mut b = Blocks::new();
    let mut tip = genesis();
    for _ in 0..6 {
        tip = b.add(0, tip).0;
    }
    let mut fork = genesis();
    for _ in 0..3 {
        fork = b.add(1, fork).0;
    }
    Arc::new(Mutex::new(b))
}

fn voter_0_config() -> FinalityConfig {
    FinalityConfig {
        voters: voters(),
        set_id: 0,
        local: Some(dev_key(0)),
        gossip_duration: GOSSIP,
    }
}

/// Voter 0's endpoint and a listener's (dev key 1, one of voter 0's peers),
/// connected.
async fn voter_and_listener() -> (Network, Network) {
    let voter = endpoint(dev_key(0));
    let listener = endpoint(dev_key(1));
    listener
        .connect(voter.peer_id(), voter.local_addr().unwrap())
        .await
        .expect("loopback dial");
    assert!(eventually(5, || voter.is_connected(&listener.peer_id())).await);
    (voter, listener)
}

/// A vote the listener received, and whether voter 0's record held it then.
#[derive(Clone, Debug)]
struct Heard {
    round: u64,
    vote: SignedGrandpaVote,
    recorded: bool,
}

/// Every CE 250 vote `listener` receives, checked against `store` on arrival.
fn listen(listener: &Network, store: RecordStore) -> Arc<Mutex<Vec<Heard>>> {
    let heard = Arc::new(Mutex::new(Vec::new()));
    let sink = heard.clone();
    listener.register::<GrandpaProtocol, _, _>(move |_peer, message| {
        if let GrandpaMessage::Vote { round, vote, .. } = message {
            let recorded = stored_record(&store).is_some_and(|r| {
                round <= r.completed_round()
                    || r.cast(round)
                        .is_some_and(|c| c.votes().any(|v| v == vote.vote))
            });
            sink.lock().unwrap().push(Heard {
                round,
                vote,
                recorded,
            });
        }
        async { Ok::<(), Refusal>(()) }
    });
    heard
}

fn completed_on_genesis(round: u64) -> CompletedRound {
    CompletedRound {
        round,
        base: target(0, 0),
        state: RoundState::default(),
        votes: Vec::new(),
    }
}

#[test]
fn the_first_vote_of_a_kind_in_a_round_is_the_only_one_recorded() {
    let mut r = VoterRecord::new(0);
    let prevote = |n| GrandpaVote::Prevote(target(0, n));
    let precommit = |n| GrandpaVote::Precommit(target(0, n));
    assert_eq!(r.note_vote(1, prevote(3)), Noted::New);
    assert_eq!(r.note_vote(1, prevote(4)), Noted::Recorded(prevote(3)));
    assert_eq!(r.note_vote(1, precommit(2)), Noted::New);
    assert_eq!(r.note_vote(1, precommit(3)), Noted::Recorded(precommit(2)));
    let propose = GrandpaVote::PrimaryPropose(target(0, 1));
    assert_eq!(r.note_vote(1, propose), Noted::New);
    let cast = r.cast(1).copied().unwrap_or_default();
    assert_eq!(
        cast.votes().collect::<Vec<_>>(),
        vec![propose, prevote(3), precommit(2)]
    );
}

#[test]
fn completing_a_round_drops_its_votes_and_earlier_rounds_are_past() {
    let mut r = VoterRecord::new(0);
    assert_eq!(
        r.note_vote(2, GrandpaVote::Prevote(target(0, 3))),
        Noted::New
    );
    assert_eq!(
        r.note_vote(3, GrandpaVote::Prevote(target(0, 4))),
        Noted::New
    );
    assert!(r.note_completed(completed_on_genesis(2)));
    assert!(
        !r.note_completed(completed_on_genesis(1)),
        "an older round changes nothing"
    );
    assert_eq!(r.completed_round(), 2);
    assert_eq!(r.live.iter().map(|c| c.round).collect::<Vec<_>>(), vec![3]);
    assert_eq!(
        r.note_vote(2, GrandpaVote::Precommit(target(0, 3))),
        Noted::Past
    );
    // Concluding the completed round updates it; another round does not.
    let mut more = completed_on_genesis(2);
    more.state.completable = true;
    assert!(r.note_concluded(more.clone()));
    assert!(!r.note_concluded(more));
    assert!(!r.note_concluded(completed_on_genesis(1)));
}

#[test]
fn live_rounds_stay_ordered_and_a_full_record_refuses_a_new_round() {
    let mut r = VoterRecord::new(0);
    let prevote = GrandpaVote::Prevote(target(0, 1));
    let last = MAX_LIVE_ROUNDS as u64 + 1;
    for round in (2..=last).rev() {
        assert_eq!(r.note_vote(round, prevote), Noted::New);
    }
    let rounds: Vec<u64> = r.live.iter().map(|c| c.round).collect();
    assert_eq!(rounds, (2..=last).collect::<Vec<_>>());
    // A new round does not fit (its vote must not be sent); a recorded one does.
    assert_eq!(r.note_vote(1, prevote), Noted::Full);
    assert_eq!(
        r.note_vote(2, GrandpaVote::Precommit(target(0, 1))),
        Noted::New
    );
}

#[test]
fn the_voter_record_round_trips_through_rocksdb_and_a_corrupt_one_is_a_typed_error() {
    let spec = ChainSpec::tiny();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let record = record_after_round_3(target(1, 3));
    {
        let mut store = StateStore::open(&spec, dir.path()).expect("opens");
        assert_eq!(store.voter_record().expect("reads"), None);
        store.set_voter_record(&record).expect("writes");
    }
    let mut store = StateStore::open(&spec, dir.path()).expect("reopens");
    assert_eq!(store.voter_record().expect("reads"), Some(record.clone()));

    // Truncated, one octet too many, an option tag that is neither 0 nor 1 (the
    // one of `completed`, after the set id's eight octets): an error naming the
    // record, never a panic.
    let bytes = record.encode();
    let mut bad_tag = bytes.clone();
    bad_tag[8] = 7;
    let corrupt = [
        bytes[..bytes.len() - 1].to_vec(),
        [bytes.clone(), vec![0]].concat(),
        bad_tag,
        Vec::new(),
    ];
    for bad in corrupt {
        store.set_meta(VOTER_RECORD_KEY, &bad).expect("writes");
        match store.voter_record() {
            Err(StoreError::CorruptRecord { key, .. }) => assert_eq!(key, VOTER_RECORD_KEY),
            other => panic!("a corrupt record read as {other:?}"),
        }
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_corrupt_record_stops_start_and_one_of_another_set_is_ignored() {
    let net = endpoint(dev_key(0));
    let tree = View::new(two_branches(), None);
    let store = record_store();
    store
        .lock()
        .unwrap()
        .set_meta(VOTER_RECORD_KEY, &[1, 2, 3])
        .expect("writes");
    match finality::start(
        voter_0_config(),
        net.clone(),
        Vec::new(),
        tree.clone(),
        store,
    ) {
        Err(FinalityError::Record(reason)) => {
            assert!(reason.contains(VOTER_RECORD_KEY), "{reason}")
        }
        other => panic!("started on a corrupt record: {other:?}"),
    }

    // A record of set 5 says nothing of set 0's rounds: the voter starts at 1.
    let store = record_store();
    let mut other_set = record_after_round_3(target(1, 3));
    other_set.set_id = 5;
    store.save_voter_record(&other_set).expect("writes");
    let handle =
        finality::start(voter_0_config(), net.clone(), Vec::new(), tree, store).expect("starts");
    assert_eq!(handle.round(), 1);
    drop(handle);
    net.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_vote_is_recorded_before_it_leaves() {
    let (voter, listener) = voter_and_listener().await;
    let store = record_store();
    let heard = listen(&listener, store.clone());
    let view = View::new(two_branches(), None);
    let handle = finality::start(
        voter_0_config(),
        voter.clone(),
        peers(),
        view,
        store.clone(),
    )
    .expect("starts");
    let prevoted = || {
        heard
            .lock()
            .unwrap()
            .iter()
            .any(|h| matches!(h.vote.vote, GrandpaVote::Prevote(_)))
    };
    assert!(eventually(5, prevoted).await, "voter 0 prevotes");
    let heard = heard.lock().unwrap().clone();
    assert!(
        heard.iter().all(|h| h.recorded),
        "a vote arrived before it was recorded: {heard:?}"
    );
    assert!(heard.iter().all(|h| h.round == 1));
    let record = stored_record(&store).expect("written");
    assert_eq!(record.cast(1).and_then(|c| c.prevote), Some(target(0, 6)));
    assert!(handle.is_running());
    voter.close();
    listener.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_voter_resumes_after_its_round_and_sends_only_its_recorded_vote() {
    let (voter, listener) = voter_and_listener().await;
    let store = record_store();
    // Before the crash voter 0 prevoted the fork's tip in round 4; its tree now
    // offers the main chain's tip, `h(0, 6)`, a different prevote.
    let recorded = target(1, 3);
    store
        .save_voter_record(&record_after_round_3(recorded))
        .expect("writes");
    let heard = listen(&listener, store.clone());
    let view = View::new(two_branches(), None);
    let handle = finality::start(
        voter_0_config(),
        voter.clone(),
        peers(),
        view.clone(),
        store.clone(),
    )
    .expect("starts");
    assert_eq!(
        handle.round(),
        4,
        "the voter starts after its completed round"
    );

    // Wait until the voter has constructed its own prevote (it asks the tree
    // for it), then long enough for that prevote and a resend to arrive.
    let asked = || view.asked.load(std::sync::atomic::Ordering::SeqCst) > 0;
    assert!(eventually(5, asked).await, "voter 0 constructs a prevote");
    tokio::time::sleep(GOSSIP * 8).await;
    let heard = heard.lock().unwrap().clone();
    assert!(!heard.is_empty(), "voter 0 re-sends its recorded prevote");
    for h in &heard {
        assert_eq!(
            (h.round, h.vote.vote),
            (4, GrandpaVote::Prevote(recorded)),
            "voter 0 sent another vote: {heard:?}"
        );
        assert_eq!(h.vote.voter, dev_key(0).public());
        let payload = vote_payload(&h.vote.vote, 4, 0);
        assert!(ed25519::verify(&h.vote.voter, &payload, &h.vote.signature).is_ok());
        assert!(h.recorded);
    }
    let record = stored_record(&store).expect("kept");
    assert_eq!(record.completed_round(), 3);
    assert_eq!(record.cast(4).and_then(|c| c.prevote), Some(recorded));
    assert!(handle.is_running());
    voter.close();
    listener.close();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Random bytes, and mutations of a valid commit, never panic the decoder.
    #[test]
    fn ce250_decoder_never_panics(
        bytes in proptest::collection::vec(any::<u8>(), 0..600),
        flip in any::<(usize, u8)>(),
    ) {
        let spec = ChainSpec::tiny();
        let _ = decode_exact::<GrandpaMessage>(&spec, &bytes);
        let keys: Vec<Keypair> = (0..2).map(dev_key).collect();
        let mut valid = commit(&keys, 1, GrandpaTarget { hash: h(0, 1), number: 1 }).encode();
        let i = flip.0 % valid.len();
        valid[i] ^= flip.1;
        let _ = decode_exact::<GrandpaMessage>(&spec, &valid);
        valid.truncate(i);
        let _ = decode_exact::<GrandpaMessage>(&spec, &valid);
    }

    /// Random bytes, and mutations of a valid voter record, never panic its
    /// decoder.
    #[test]
    fn voter_record_decoder_never_panics(
        bytes in proptest::collection::vec(any::<u8>(), 0..600),
        flip in any::<(usize, u8)>(),
    ) {
        let spec = ChainSpec::tiny();
        let _ = decode_exact::<VoterRecord>(&spec, &bytes);
        let mut valid = record_after_round_3(target(1, 3)).encode();
        let i = flip.0 % valid.len();
        valid[i] ^= flip.1;
        let _ = decode_exact::<VoterRecord>(&spec, &valid);
        valid.truncate(i);
        let _ = decode_exact::<VoterRecord>(&spec, &valid);
    }
}

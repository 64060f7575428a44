//! JIP-3 telemetry against test TCP servers that decode what they receive with a
//! decoder written here from JIP-3's definitions (not with the node's encoder):
//! the node-information message, at least ten Status events, and the authoring,
//! guaranteeing, shard/assurance, bundle-recovery and segment-recovery events,
//! field by field; then a server that disappears mid-run while the node keeps
//! sending, and comes back.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tessera_core::bytes::ByteArray;
use tessera_node::telemetry::{
    BlockOutline, Event, Fixed, GuaranteeOutline, NodeInfo, Status, Telemetry, Text,
};
use tokio::io::AsyncReadExt as _;
use tokio::net::{TcpListener, TcpStream};

const WAIT: Duration = Duration::from_secs(15);

/// Reads JIP-3's encodings from one message.
struct Msg {
    b: Vec<u8>,
    at: usize,
}

impl Msg {
    fn take(&mut self, n: usize) -> &[u8] {
        assert!(self.at + n <= self.b.len(), "message too short");
        let s = &self.b[self.at..self.at + n];
        self.at += n;
        s
    }
    fn u8(&mut self) -> u8 {
        self.take(1)[0]
    }
    fn u16(&mut self) -> u16 {
        u16::from_le_bytes(self.take(2).try_into().unwrap())
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.take(4).try_into().unwrap())
    }
    fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.take(8).try_into().unwrap())
    }
    fn hash(&mut self) -> [u8; 32] {
        self.take(32).try_into().unwrap()
    }
    fn bool(&mut self) -> bool {
        match self.u8() {
            0 => false,
            1 => true,
            x => panic!("bool {x}"),
        }
    }
    /// The general natural `E(x)` (GP C.6): `l` leading one-bits of the first
    /// octet count the further little-endian octets.
    fn len(&mut self) -> usize {
        let first = self.u8();
        let l = first.leading_ones() as usize;
        if l == 8 {
            return u64::from_le_bytes(self.take(8).try_into().unwrap()) as usize;
        }
        let mut x: u64 = 0;
        for (i, b) in self.take(l).iter().enumerate() {
            x |= u64::from(*b) << (8 * i);
        }
        let high = u64::from(first & (0xFFu8.checked_shr(l as u32 + 1).unwrap_or(0)));
        (x | (high << (8 * l))) as usize
    }
    fn string(&mut self, max: usize) -> String {
        let n = self.len();
        assert!(n <= max, "String<{max}> of {n}");
        String::from_utf8(self.take(n).to_vec()).unwrap()
    }
    fn end(&self) {
        assert_eq!(self.at, self.b.len(), "trailing octets");
    }
}

/// The universal fields of an event: its timestamp, then discriminator `disc`.
fn next(disc: u8, m: &mut Msg) {
    m.u64();
    assert_eq!(m.u8(), disc);
}

async fn read_msg(s: &mut TcpStream) -> Msg {
    let mut size = [0u8; 4];
    tokio::time::timeout(WAIT, s.read_exact(&mut size))
        .await
        .expect("no message")
        .unwrap();
    let mut b = vec![0u8; u32::from_le_bytes(size) as usize];
    s.read_exact(&mut b).await.unwrap();
    Msg { b, at: 0 }
}

fn info() -> NodeInfo {
    NodeInfo {
        peer_id: ByteArray([7; 32]),
        address: "127.0.0.1:40000".parse().unwrap(),
        flags: 0,
        name: Text::new("Tessera"),
        version: Text::new("0.1.0"),
        note: Text::new("a note that is long enough to matter".repeat(20)),
    }
}

/// The node-information message, field by field (JIP-3 § Node information).
fn check_info(mut m: Msg) {
    assert_eq!(m.u8(), 0, "protocol version");
    assert_eq!(m.hash(), [7; 32]);
    let ip = m.take(16).to_vec();
    assert_eq!(
        ip,
        std::net::Ipv4Addr::new(127, 0, 0, 1)
            .to_ipv6_mapped()
            .octets()
    );
    assert_eq!(m.u16(), 40000);
    assert_eq!(m.u32(), 0, "flags");
    assert_eq!(m.string(32), "Tessera");
    assert_eq!(m.string(32), "0.1.0");
    let note = m.string(512);
    assert_eq!(note.len(), 512, "the note is cut at String<512>");
    m.end();
}

async fn listen() -> (TcpListener, SocketAddr) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let a = l.local_addr().unwrap();
    (l, a)
}

async fn accept(l: &TcpListener) -> TcpStream {
    tokio::time::timeout(WAIT, l.accept())
        .await
        .expect("the node did not connect")
        .unwrap()
        .0
}

#[tokio::test]
async fn info_then_events_decode_as_jip3_defines() {
    let (l, addr) = listen().await;
    let t = Telemetry::connect(addr.to_string(), info());
    let mut s = accept(&l).await;
    check_info(read_msg(&mut s).await);

    let peer = ByteArray([0x11; 32]);
    let parent = ByteArray([0x22; 32]);
    let root = ByteArray([0x33; 32]);
    let mut ids = Vec::new();
    for i in 0..12u32 {
        ids.push(t.send(Event::Status(Status {
            peers: i,
            validator_peers: 5,
            announcement_peers: 4,
            guarantees_by_core: Fixed(vec![1, 2]),
            shards: 100 + i,
            shards_size: 1 << 33,
            preimages: 3,
            preimages_size: 300,
        })));
    }
    let authoring = t.send(Event::Authoring(6, parent));
    let outline = BlockOutline {
        size: 1000,
        header_hash: root,
        tickets: 1,
        preimages: 2,
        preimages_size: 30,
        guarantees: 3,
        assurances: 4,
        dispute_verdicts: 0,
    };
    t.send(Event::Authored(authoring, outline));
    let submission = t.send(Event::WorkPackageSubmission(peer, true));
    t.send(Event::GuaranteeBuilt(
        submission,
        GuaranteeOutline {
            report_hash: root,
            slot: 6,
            guarantors: vec![1, 4],
        },
    ));
    t.send(Event::SendingShardRequest(peer, root, 3));
    t.send(Event::DistributingAssurance(parent, Fixed(vec![0b10])));
    t.send(Event::AssuranceReceived(peer, parent));
    t.send(Event::ReconstructingBundle(submission, true));
    t.send(Event::BundleReconstructed(submission));
    let segs = t.send(Event::ReconstructingSegments(
        submission,
        vec![0, 1, 0x8000],
        false,
    ));
    t.send(Event::SegmentsReconstructed(segs));
    t.send(Event::SegmentsVerified(submission, vec![0, 1]));
    assert_eq!(ids, (0..12).collect::<Vec<u64>>(), "event IDs count from 0");

    let start = tessera_node::telemetry::now();
    // Status (10), twelve of them.
    for i in 0..12u32 {
        let mut m = read_msg(&mut s).await;
        let ts = m.u64();
        assert!(ts > 0 && ts <= start, "timestamp {ts}");
        assert_eq!(m.u8(), 10);
        assert_eq!((m.u32(), m.u32(), m.u32()), (i, 5, 4));
        assert_eq!(m.take(2), &[1, 2], "[u8; C] with C = 2, no prefix");
        assert_eq!(
            (m.u32(), m.u64(), m.u32(), m.u32()),
            (100 + i, 1 << 33, 3, 300)
        );
        m.end();
    }
    // 40 Authoring: slot, parent.
    let mut m = read_msg(&mut s).await;
    next(40, &mut m);
    assert_eq!((m.u32(), m.hash()), (6, parent.0));
    m.end();
    // 42 Authored: the "authoring" event's ID, then Block Outline.
    let mut m = read_msg(&mut s).await;
    next(42, &mut m);
    assert_eq!(m.u64(), 12, "the 13th event is the authoring event");
    assert_eq!(m.u32(), 1000);
    assert_eq!(m.hash(), root.0);
    assert_eq!(
        (m.u32(), m.u32(), m.u32(), m.u32(), m.u32(), m.u32()),
        (1, 2, 30, 3, 4, 0)
    );
    m.end();
    // 90 Work-package submission: builder, CE 146?
    let mut m = read_msg(&mut s).await;
    next(90, &mut m);
    assert_eq!((m.hash(), m.bool()), (peer.0, true));
    m.end();
    // 105 Guarantee built: submission ID, Guarantee Outline (hash, slot, len++[u16]).
    let mut m = read_msg(&mut s).await;
    next(105, &mut m);
    assert_eq!(m.u64(), 14);
    assert_eq!((m.hash(), m.u32()), (root.0, 6));
    assert_eq!(m.len(), 2);
    assert_eq!((m.u16(), m.u16()), (1, 4));
    m.end();
    // 120 Sending shard request: guarantor, erasure-root, shard index.
    let mut m = read_msg(&mut s).await;
    next(120, &mut m);
    assert_eq!((m.hash(), m.hash(), m.u16()), (peer.0, root.0, 3));
    m.end();
    // 126 Distributing assurance: anchor, [u8; ceil(C/8)].
    let mut m = read_msg(&mut s).await;
    next(126, &mut m);
    assert_eq!((m.hash(), m.u8()), (parent.0, 0b10));
    m.end();
    // 131 Assurance received: sender, anchor.
    let mut m = read_msg(&mut s).await;
    next(131, &mut m);
    assert_eq!((m.hash(), m.hash()), (peer.0, parent.0));
    m.end();
    // 146 Reconstructing bundle: event ID, trivial?
    let mut m = read_msg(&mut s).await;
    next(146, &mut m);
    assert_eq!((m.u64(), m.bool()), (14, true));
    m.end();
    // 147 Bundle reconstructed.
    let mut m = read_msg(&mut s).await;
    next(147, &mut m);
    assert_eq!(m.u64(), 14);
    m.end();
    // 168 Reconstructing segments: event ID, len++[Import Segment ID], trivial?
    let mut m = read_msg(&mut s).await;
    next(168, &mut m);
    assert_eq!(m.u64(), 14);
    assert_eq!(m.len(), 3);
    assert_eq!((m.u16(), m.u16(), m.u16(), m.bool()), (0, 1, 0x8000, false));
    m.end();
    // 170 Segments reconstructed: the "reconstructing segments" event's ID (21).
    let mut m = read_msg(&mut s).await;
    next(170, &mut m);
    assert_eq!(m.u64(), 21);
    m.end();
    // 172 Segments verified: event ID, len++[u16].
    let mut m = read_msg(&mut s).await;
    next(172, &mut m);
    assert_eq!(m.u64(), 14);
    assert_eq!(m.len(), 2);
    assert_eq!((m.u16(), m.u16()), (0, 1));
    m.end();
    assert_eq!(t.dropped(), 0);
}

#[tokio::test]
async fn a_server_that_disappears_does_not_stop_the_sender() {
    let (l, addr) = listen().await;
    let t = Telemetry::connect(addr.to_string(), info());
    let mut s = accept(&l).await;
    check_info(read_msg(&mut s).await);
    let status = || {
        Event::Status(Status {
            guarantees_by_core: Fixed(vec![0, 0]),
            ..Default::default()
        })
    };
    for _ in 0..3 {
        t.send(status());
    }
    for _ in 0..3 {
        let mut m = read_msg(&mut s).await;
        m.u64();
        assert_eq!(m.u8(), 10);
    }
    // The server goes away, listener and connection.
    drop(s);
    drop(l);
    // The node keeps sending, far more than the queue holds; no send blocks.
    let mut slowest = Duration::ZERO;
    for round in 0..50 {
        for _ in 0..200 {
            let t0 = Instant::now();
            t.send(status());
            slowest = slowest.max(t0.elapsed());
        }
        if round % 10 == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    assert!(
        slowest < Duration::from_millis(100),
        "a send took {slowest:?}"
    );

    // The server comes back on the same port; the node reconnects, sends its
    // information again, and accounts for the lost events with "Dropped" so that
    // event IDs still match what `send` returned.
    let l = TcpListener::bind(addr).await.unwrap();
    let mut s = accept(&l).await;
    check_info(read_msg(&mut s).await);
    let marker = ByteArray([0x5A; 32]);
    let marker_id = t.send(Event::BestBlockChanged(999, marker));
    let mut counted: u64 = 0;
    let mut saw_dropped = false;
    loop {
        let mut m = read_msg(&mut s).await;
        let ts = m.u64();
        match m.u8() {
            0 => {
                // Dropped: the last dropped event's timestamp, then the count.
                let last = m.u64();
                assert!(last >= ts, "dropped range {ts}..{last}");
                counted += u64::from(m.u32());
                saw_dropped = true;
            }
            10 => counted += 1,
            11 => {
                assert_eq!((m.u32(), m.hash()), (999, marker.0));
                assert_eq!(counted, marker_id, "event IDs stay in step");
                break;
            }
            d => panic!("unexpected event {d}"),
        }
        m.end();
    }
    assert!(saw_dropped, "the lost events are reported as Dropped");
}

/// A node's served availability requests as JIP-3's receiving-side events: CE 138
/// gives 141 "receiving bundle shard request" (the auditor), 144 "bundle shard
/// request received" (its ID, erasure root, shard index), 145 "bundle shard
/// transferred"; a refused CE 147 gives 149, 152 and 150 "bundle request failed"
/// with the reason; CE 137 gives 121, 124 and 125; a refused CE 140 gives 163,
/// 166 and 164 — each later event naming the first's ID.
#[tokio::test]
async fn served_requests_are_receiving_side_events() {
    use tessera_da::serve::{ServeEvents, Served};
    let (l, addr) = listen().await;
    let observer = tessera_node::observe::Observer::new();
    assert!(observer.connect_telemetry(Telemetry::connect(addr.to_string(), info())));
    let mut s = accept(&l).await;
    check_info(read_msg(&mut s).await);

    let auditor = tessera_net::PeerId(tessera_core::crypto::ed25519::PublicKey(ByteArray(
        [0x44; 32],
    )));
    let root = ByteArray([0x55; 32]);
    let shard = Served::AuditShard {
        erasure_root: root,
        shard_index: 4,
    };
    let token = observer.received(&auditor, shard);
    observer.answered(token, shard, Ok(()));
    let bundle = Served::Bundle { erasure_root: root };
    let refused = observer.received(&auditor, bundle);
    observer.answered(refused, bundle, Err("no bundle held"));
    let set = Served::ShardSet {
        erasure_root: root,
        shard_index: 2,
    };
    let assurer = observer.received(&auditor, set);
    observer.answered(assurer, set, Ok(()));
    let segments = Served::SegmentShards {
        justified: true,
        shards: 3,
    };
    let guarantor = observer.received(&auditor, segments);
    observer.answered(guarantor, segments, Err("no shard held"));

    let mut m = read_msg(&mut s).await;
    next(141, &mut m);
    assert_eq!(m.hash(), [0x44; 32]);
    m.end();
    let mut m = read_msg(&mut s).await;
    next(144, &mut m);
    assert_eq!(m.u64(), token);
    assert_eq!(m.hash(), [0x55; 32]);
    assert_eq!(m.u16(), 4);
    m.end();
    let mut m = read_msg(&mut s).await;
    next(145, &mut m);
    assert_eq!(m.u64(), token);
    m.end();

    let mut m = read_msg(&mut s).await;
    next(149, &mut m);
    assert_eq!(m.hash(), [0x44; 32]);
    m.end();
    let mut m = read_msg(&mut s).await;
    next(152, &mut m);
    assert_eq!(m.u64(), refused);
    assert_eq!(m.hash(), [0x55; 32]);
    m.end();
    let mut m = read_msg(&mut s).await;
    next(150, &mut m);
    assert_eq!(m.u64(), refused);
    assert_eq!(m.string(128), "no bundle held");
    m.end();

    for (disc, id) in [(121u8, None), (124, Some(assurer)), (125, Some(assurer))] {
        let mut m = read_msg(&mut s).await;
        next(disc, &mut m);
        match id {
            None => assert_eq!(m.hash(), [0x44; 32]),
            Some(id) => assert_eq!(m.u64(), id),
        }
        if disc == 124 {
            assert_eq!(m.hash(), [0x55; 32]);
            assert_eq!(m.u16(), 2);
        }
        m.end();
    }
    // CE 140 (3 segment shards) refused: 163 (sender, CE 140), 166 (ID, 3), 164.
    let mut m = read_msg(&mut s).await;
    next(163, &mut m);
    assert_eq!(m.hash(), [0x44; 32]);
    assert!(m.bool());
    m.end();
    let mut m = read_msg(&mut s).await;
    next(166, &mut m);
    assert_eq!(m.u64(), guarantor);
    assert_eq!(m.u16(), 3);
    m.end();
    let mut m = read_msg(&mut s).await;
    next(164, &mut m);
    assert_eq!(m.u64(), guarantor);
    assert_eq!(m.string(128), "no shard held");
    m.end();
}

//! The fuzzer protocol v1 (`fuzz-proto/` in the vectors): every recorded message
//! decodes to what its file name says, re-encodes to the same octets and equals its
//! JSON twin; a scripted target served over a socket pair reproduces each recorded
//! session on the wire; malformed input ends a session with a typed error, never a
//! panic.

use std::collections::VecDeque;
use std::io::{self, Cursor, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::OnceLock;

use proptest::prelude::*;
use tessera_conformance::{ensure_eq, fail, CaseCtx, CaseError, Outcome, Suite};
use tessera_core::codec::{decode_exact, Encode};
use tessera_core::hash::Hash;
use tessera_core::spec::ChainSpec;
use tessera_core::types::Block;
use tessera_node::fuzz_target::message::{
    Initialize, KeyValue, Kind, Message, PeerInfo, Version, FEATURE_ANCESTRY, FEATURE_FORKS,
    FUZZ_VERSION,
};
use tessera_node::fuzz_target::recording::{recorded_session, Exchange, RecordedName, Side};
use tessera_node::fuzz_target::session::{
    read_frame, read_message, serve, write_frame, write_message, FrameError, ImportError, Session,
    SessionEnd, SessionError, Target, MAX_FRAME_LEN,
};

/// The recorded sessions; their blocks are for the tiny spec.
const RECORDINGS: [&str; 2] = [
    "fuzz-proto/examples/0.7.2/no_forks",
    "fuzz-proto/examples/0.7.2/forks",
];

fn tiny() -> &'static ChainSpec {
    static TINY: OnceLock<ChainSpec> = OnceLock::new();
    TINY.get_or_init(ChainSpec::tiny)
}

// ---------------------------------------------------------------- recorded messages

/// One case per `.bin` message; its `.json` twin is read by the same case.
struct RecordedMessages(&'static str);

impl Suite for RecordedMessages {
    fn folder(&self) -> &str {
        self.0
    }

    fn is_case(&self, file: &str) -> bool {
        file.ends_with(".bin")
    }

    fn run_case(&self, ctx: &CaseCtx<'_>, file: &str) -> Result<Outcome, CaseError> {
        let Some(stem) = file.strip_suffix(".bin") else {
            fail!("not a .bin file")
        };
        let Some(name) = RecordedName::parse(stem) else {
            fail!("file name does not say step, side and kind")
        };
        let bytes = ctx.read(file)?;
        let json: serde_json::Value = ctx.read_json(format!("{stem}.json"))?;

        let message: Message = decode_exact(tiny(), &bytes)?;
        ensure_eq!(message.kind(), name.kind, "kind decoded vs file name");
        let sent_by_target = matches!(
            name.kind,
            Kind::PeerInfo | Kind::StateRoot | Kind::State | Kind::Error
        );
        let may_send = match name.side {
            Side::Fuzzer => name.kind.is_request(),
            Side::Target => sent_by_target,
        };
        if !may_send {
            fail!("the {:?} does not send {}", name.side, name.kind);
        }
        ensure_eq!(message.encode(), bytes, "re-encoding");

        let from_json: Message = serde_json::from_value(json.clone())?;
        if from_json != message {
            fail!("the .json does not hold the message the .bin does");
        }
        ensure_eq!(serde_json::to_value(&message)?, json, "message as JSON");
        Ok(Outcome::Passed)
    }
}

#[test]
fn recorded_messages_no_forks() {
    tessera_conformance::run(&RecordedMessages(RECORDINGS[0]));
}

#[test]
fn recorded_messages_forks() {
    tessera_conformance::run(&RecordedMessages(RECORDINGS[1]));
}

#[test]
fn a_corrupted_recording_fails() {
    let suite = RecordedMessages(RECORDINGS[0]);
    let Some(report) = tessera_conformance::run_report_on_copy(&suite, |dir| {
        let path = dir.join("00000001_target_state_root.bin");
        let mut bytes = std::fs::read(&path).expect("read the copy");
        if let Some(last) = bytes.last_mut() {
            *last ^= 1;
        }
        std::fs::write(&path, bytes).expect("write the copy");
    }) else {
        return;
    };
    let failed: Vec<&str> = report.failed.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(failed, ["00000001_target_state_root.bin"]);
}

/// A recording, as exchanges, with the number of `.bin` files it came from; `None`
/// when the vectors are absent.
fn recording(rel: &str) -> Option<(Vec<Exchange>, usize)> {
    let dir = tessera_conformance::vectors_folder(rel)?;
    let bins = std::fs::read_dir(&dir)
        .expect("list the recording")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "bin"))
        })
        .count();
    let exchanges = recorded_session(&dir, tiny()).expect("read the recording");
    Some((exchanges, bins))
}

#[test]
fn recordings_pair_every_request_with_a_reply() {
    for rel in RECORDINGS {
        let Some((exchanges, bins)) = recording(rel) else {
            continue;
        };
        assert_eq!(
            exchanges.len() * 2,
            bins,
            "{rel}: every file in one exchange"
        );
        let kinds: Vec<Kind> = exchanges.iter().map(|x| x.request.kind()).collect();
        assert_eq!(
            kinds.get(..2),
            Some(&[Kind::PeerInfo, Kind::Initialize][..]),
            "{rel}: handshake, then initialize"
        );
        for x in &exchanges {
            let allowed: &[Kind] = match x.request.kind() {
                Kind::PeerInfo => &[Kind::PeerInfo],
                Kind::Initialize => &[Kind::StateRoot],
                Kind::ImportBlock => &[Kind::StateRoot, Kind::Error],
                Kind::GetState => &[Kind::State],
                other => panic!("{rel} step {}: the fuzzer sent {other}", x.step),
            };
            assert!(
                allowed.contains(&x.reply.kind()),
                "{rel} step {}: {} answered by {}",
                x.step,
                x.request.kind(),
                x.reply.kind()
            );
        }
    }
}

// ---------------------------------------------------------------- a scripted target

/// A target that answers with the recorded replies, in order, and keeps what it was
/// asked: serving it must reproduce the recording on the wire.
struct Scripted {
    replies: VecDeque<Message>,
    asked: Vec<Message>,
}

impl Scripted {
    fn new(replies: impl IntoIterator<Item = Message>) -> Self {
        Scripted {
            replies: replies.into_iter().collect(),
            asked: Vec::new(),
        }
    }

    fn next(&mut self) -> Option<Message> {
        self.replies.pop_front()
    }
}

impl Target for Scripted {
    fn peer_info(&mut self, fuzzer: &PeerInfo) -> PeerInfo {
        self.asked.push(Message::PeerInfo(fuzzer.clone()));
        match self.next() {
            Some(Message::PeerInfo(ours)) => ours,
            _ => PeerInfo {
                fuzz_version: 0,
                fuzz_features: 0,
                jam_version: Version::default(),
                app_version: Version::default(),
                app_name: "out of script".into(),
            },
        }
    }

    fn initialize(&mut self, init: &Initialize, _features: u32) -> Result<Hash, String> {
        self.asked.push(Message::Initialize(init.clone()));
        match self.next() {
            Some(Message::StateRoot(root)) => Ok(root),
            other => Err(format!("script says {other:?}")),
        }
    }

    fn import_block(&mut self, block: &Block) -> Result<Hash, ImportError> {
        self.asked.push(Message::ImportBlock(block.clone()));
        match self.next() {
            Some(Message::StateRoot(root)) => Ok(root),
            Some(Message::Error(why)) => Err(ImportError::Rejected(why)),
            other => Err(ImportError::Internal(format!("script says {other:?}"))),
        }
    }

    fn get_state(&mut self, header_hash: &Hash) -> Result<Vec<KeyValue>, String> {
        self.asked.push(Message::GetState(*header_hash));
        match self.next() {
            Some(Message::State(kvs)) => Ok(kvs),
            other => Err(format!("script says {other:?}")),
        }
    }
}

#[test]
fn serve_reproduces_each_recording_over_a_socket_pair() {
    for rel in RECORDINGS {
        let Some((exchanges, _)) = recording(rel) else {
            continue;
        };
        let (mut fuzzer, target_end) = UnixStream::pair().expect("socket pair");
        let replies: Vec<Message> = exchanges.iter().map(|x| x.reply.clone()).collect();
        let server = std::thread::spawn(move || {
            let mut target = Scripted::new(replies);
            let end = serve(target_end, tiny(), &mut target);
            (end, target.asked)
        });
        for x in &exchanges {
            write_message(&mut fuzzer, &x.request).expect("send a request");
            let frame = read_frame(&mut fuzzer)
                .expect("a whole reply frame")
                .expect("a reply, not the end of the stream");
            assert_eq!(
                frame,
                x.reply.encode(),
                "{rel} step {}: reply octets",
                x.step
            );
        }
        drop(fuzzer);
        let (end, asked) = server.join().expect("the server thread");
        let end = end.expect("the session ends cleanly when the fuzzer closes");

        let requests: Vec<Message> = exchanges.iter().map(|x| x.request.clone()).collect();
        assert!(
            asked == requests,
            "{rel}: the target saw the recorded requests"
        );
        let (Message::PeerInfo(theirs), Message::PeerInfo(ours)) =
            (&exchanges[0].request, &exchanges[0].reply)
        else {
            panic!("{rel}: step 0 is not the handshake");
        };
        let count = |kind| {
            exchanges
                .iter()
                .filter(|x| x.request.kind() == Kind::ImportBlock && x.reply.kind() == kind)
                .count()
        };
        assert_eq!(
            end,
            SessionEnd {
                fuzzer: Some(theirs.clone()),
                features: theirs.fuzz_features & ours.fuzz_features,
                requests: exchanges.len(),
                imported: count(Kind::StateRoot),
                rejected: count(Kind::Error),
            },
            "{rel}: session summary"
        );
    }
}

// ---------------------------------------------------------------- session rules

/// A stream whose input is fixed and whose output is collected.
struct Duplex {
    input: Cursor<Vec<u8>>,
    output: Vec<u8>,
}

impl Duplex {
    fn new(input: Vec<u8>) -> Self {
        Duplex {
            input: Cursor::new(input),
            output: Vec::new(),
        }
    }
}

impl Read for Duplex {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.input.read(buf)
    }
}

impl Write for Duplex {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.output.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn frame(message: &Message) -> Vec<u8> {
    let mut out = Vec::new();
    write_message(&mut out, message).expect("write to a vector");
    out
}

fn peer(name: &str, version: u8, features: u32) -> PeerInfo {
    PeerInfo {
        fuzz_version: version,
        fuzz_features: features,
        jam_version: Version::GRAY_PAPER,
        app_version: Version {
            major: 0,
            minor: 1,
            patch: 0,
        },
        app_name: name.into(),
    }
}

fn hello() -> Vec<u8> {
    frame(&Message::PeerInfo(peer(
        "fuzzer",
        FUZZ_VERSION,
        FEATURE_FORKS,
    )))
}

/// Serve `input` to a target scripted with `replies`; the outcome, and the replies
/// written, decoded.
fn serve_bytes(
    input: Vec<u8>,
    replies: Vec<Message>,
) -> (Result<SessionEnd, SessionError>, Vec<Message>) {
    let mut stream = Duplex::new(input);
    let mut target = Scripted::new(replies);
    let outcome = serve(&mut stream, tiny(), &mut target);
    let mut written = Cursor::new(stream.output);
    let mut out = Vec::new();
    while let Some(m) = read_message(&mut written, tiny(), out.len()).expect("our own replies") {
        out.push(m);
    }
    (outcome, out)
}

fn our_peer() -> Message {
    Message::PeerInfo(peer(
        "tessera",
        FUZZ_VERSION,
        FEATURE_ANCESTRY | FEATURE_FORKS,
    ))
}

#[test]
fn handshake_negotiates_the_common_features() {
    let (outcome, out) = serve_bytes(hello(), vec![our_peer()]);
    let end = outcome.expect("clean end");
    assert_eq!(end.features, FEATURE_FORKS);
    assert_eq!(end.requests, 1);
    assert_eq!(out, vec![our_peer()]);
}

#[test]
fn end_of_stream_before_the_handshake_is_a_clean_end() {
    let (outcome, out) = serve_bytes(Vec::new(), vec![]);
    assert_eq!(outcome.expect("clean end"), SessionEnd::default());
    assert!(out.is_empty());
}

#[test]
fn requests_before_the_handshake_end_the_session() {
    let input = frame(&Message::GetState(Hash::ZERO));
    let (outcome, out) = serve_bytes(input, vec![]);
    assert!(matches!(
        outcome,
        Err(SessionError::Unexpected {
            got: Kind::GetState,
            ..
        })
    ));
    assert!(out.is_empty(), "no reply to an unexpected message");
}

#[test]
fn another_protocol_version_ends_the_session() {
    let input = frame(&Message::PeerInfo(peer("fuzzer", 2, FEATURE_FORKS)));
    let (outcome, out) = serve_bytes(input, vec![our_peer()]);
    assert!(matches!(
        outcome,
        Err(SessionError::UnsupportedVersion { version: 2 })
    ));
    assert!(out.is_empty());
}

#[test]
fn replies_and_second_handshakes_from_the_fuzzer_end_the_session() {
    for bad in [
        Message::PeerInfo(peer("again", FUZZ_VERSION, 0)),
        Message::StateRoot(Hash::ZERO),
        Message::State(vec![]),
        Message::Error("no".into()),
    ] {
        let kind = bad.kind();
        let mut input = hello();
        input.extend(frame(&bad));
        let (outcome, out) = serve_bytes(input, vec![our_peer()]);
        assert!(
            matches!(outcome, Err(SessionError::Unexpected { got, .. }) if got == kind),
            "{kind}: {outcome:?}"
        );
        assert_eq!(out, vec![our_peer()], "{kind}: only the handshake answered");
    }
}

#[test]
fn get_state_is_answered_by_state() {
    let kvs = vec![KeyValue {
        key: [7u8; 31].into(),
        value: vec![1, 2, 3].into(),
    }];
    let mut input = hello();
    input.extend(frame(&Message::GetState(Hash::from([9u8; 32]))));
    let (outcome, out) = serve_bytes(input, vec![our_peer(), Message::State(kvs.clone())]);
    assert_eq!(outcome.expect("clean end").requests, 2);
    assert_eq!(out, vec![our_peer(), Message::State(kvs)]);
}

#[test]
fn out_of_protocol_target_failures_close_without_a_reply() {
    // GetState and Initialize have no error reply; an internal import failure must
    // not be reported as a protocol `Error` either.
    let block_request = recording(RECORDINGS[0]).and_then(|(xs, _)| {
        xs.into_iter()
            .map(|x| x.request)
            .find(|m| m.kind() == Kind::ImportBlock)
    });
    let mut requests = vec![Message::GetState(Hash::ZERO)];
    requests.extend(block_request);
    for request in requests {
        let kind = request.kind();
        let mut input = hello();
        input.extend(frame(&request));
        // The script answers with a PeerInfo, which no target method can return.
        let (outcome, out) = serve_bytes(input, vec![our_peer(), our_peer()]);
        assert!(
            matches!(&outcome, Err(SessionError::Target { request, .. }) if *request == kind),
            "{kind}: {outcome:?}"
        );
        assert_eq!(out, vec![our_peer()], "{kind}: no reply");
    }
}

#[test]
fn malformed_frames_end_the_session_with_typed_errors() {
    let with = |tail: &[u8]| {
        let mut input = hello();
        input.extend_from_slice(tail);
        serve_bytes(input, vec![our_peer()])
    };
    // An unknown tag.
    let (outcome, out) = with(&[1, 0, 0, 0, 6]);
    assert!(matches!(
        outcome,
        Err(SessionError::Malformed { index: 1, .. })
    ));
    assert_eq!(out.len(), 1);
    // An empty frame.
    let (outcome, _) = with(&[0, 0, 0, 0]);
    assert!(matches!(outcome, Err(SessionError::Malformed { .. })));
    // A state root one octet short, and one octet long.
    let root = frame(&Message::StateRoot(Hash::ZERO));
    let (outcome, _) = with(&[&32u32.to_le_bytes()[..], &root[4..36]].concat());
    assert!(matches!(outcome, Err(SessionError::Malformed { .. })));
    let (outcome, _) = with(&[&34u32.to_le_bytes()[..], &root[4..], &[0]].concat());
    assert!(matches!(outcome, Err(SessionError::Malformed { .. })));
    // The stream ends inside a prefix, and inside a body.
    let (outcome, _) = with(&[5, 0]);
    assert!(matches!(
        outcome,
        Err(SessionError::Frame {
            index: 1,
            source: FrameError::TruncatedPrefix { got: 2 }
        })
    ));
    let (outcome, _) = with(&[10, 0, 0, 0, 4, 1, 2]);
    assert!(matches!(
        outcome,
        Err(SessionError::Frame {
            source: FrameError::TruncatedBody { len: 10, got: 3 },
            ..
        })
    ));
    // A length beyond the limit is refused before any body is read.
    let (outcome, _) = with(&(MAX_FRAME_LEN + 1).to_le_bytes());
    assert!(matches!(
        outcome,
        Err(SessionError::Frame {
            source: FrameError::TooLarge { .. },
            ..
        })
    ));
    let (outcome, _) = with(&u32::MAX.to_le_bytes());
    assert!(matches!(
        outcome,
        Err(SessionError::Frame {
            source: FrameError::TooLarge { len: u32::MAX },
            ..
        })
    ));
}

#[test]
fn invalid_utf8_text_is_rejected() {
    let mut bytes = Message::Error("ok".into()).encode();
    if let Some(last) = bytes.last_mut() {
        *last = 0xFF;
    }
    assert!(decode_exact::<Message>(tiny(), &bytes).is_err());
}

#[test]
fn ancestry_longer_than_24_is_rejected() {
    let Some((exchanges, _)) = recording(RECORDINGS[0]) else {
        return;
    };
    let Some(Message::Initialize(mut init)) = exchanges.into_iter().map(|x| x.request).nth(1)
    else {
        panic!("step 1 is not initialize");
    };
    let item = tessera_node::fuzz_target::message::AncestryItem {
        slot: 1,
        header_hash: Hash::ZERO,
    };
    init.ancestry = vec![item; 24];
    let ok = Message::Initialize(init.clone()).encode();
    assert!(decode_exact::<Message>(tiny(), &ok).is_ok());
    init.ancestry.push(item);
    let long = Message::Initialize(init).encode();
    assert!(decode_exact::<Message>(tiny(), &long).is_err());
}

#[test]
fn session_state_machine_is_usable_without_io() {
    let mut target = Scripted::new(vec![our_peer(), Message::StateRoot(Hash::ZERO)]);
    let mut session = Session::new(&mut target);
    let reply = session
        .handle(Message::PeerInfo(peer("fuzzer", FUZZ_VERSION, 3)))
        .expect("handshake");
    assert_eq!(reply, our_peer());
    assert_eq!(session.progress().features, 3);
    assert!(session.handle(Message::StateRoot(Hash::ZERO)).is_err());
}

#[test]
fn serve_unix_replaces_a_stale_socket_and_serves_one_connection_at_a_time() {
    use std::os::unix::net::UnixListener;
    let dir = std::env::temp_dir().join(format!("tessera-fuzz-proto-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let path = dir.join("target.sock");
    let _ = std::fs::remove_file(&path);
    drop(UnixListener::bind(&path).expect("leave a stale socket behind"));
    assert!(
        path.exists(),
        "the stale socket file stays after its listener is gone"
    );

    let server_path = path.clone();
    let server = std::thread::spawn(move || {
        let mut target = Scripted::new(vec![our_peer(), our_peer()]);
        let mut outcomes = Vec::new();
        let served = tessera_node::fuzz_target::session::serve_unix(
            &server_path,
            tiny(),
            &mut target,
            |outcome| {
                outcomes.push(outcome);
                if outcomes.len() == 2 {
                    std::ops::ControlFlow::Break(())
                } else {
                    std::ops::ControlFlow::Continue(())
                }
            },
        );
        (served, outcomes)
    });
    for _ in 0..2 {
        let mut fuzzer = (0..200)
            .find_map(|_| {
                UnixStream::connect(&path).ok().or_else(|| {
                    std::thread::sleep(std::time::Duration::from_millis(10));
                    None
                })
            })
            .expect("connect to the target");
        fuzzer.write_all(&hello()).expect("send the handshake");
        let reply = read_message(&mut fuzzer, tiny(), 0).expect("a reply");
        assert_eq!(reply, Some(our_peer()));
    }
    let (served, outcomes) = server.join().expect("the server thread");
    served.expect("the listener ends when told");
    assert_eq!(outcomes.len(), 2);
    for outcome in outcomes {
        assert_eq!(outcome.expect("clean end").requests, 1);
    }
    assert!(!path.exists(), "the socket file is removed on return");

    // A file that is not a socket is never removed.
    std::fs::write(&path, b"precious").expect("write a regular file");
    let mut target = Scripted::new(vec![]);
    let err = tessera_node::fuzz_target::session::serve_unix(&path, tiny(), &mut target, |_| {
        std::ops::ControlFlow::Break(())
    })
    .expect_err("refuses a regular file");
    assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
    assert_eq!(std::fs::read(&path).expect("still there"), b"precious");
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------- properties

/// A few recorded messages of each kind, for mutation.
fn samples() -> &'static [Vec<u8>] {
    static SAMPLES: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    SAMPLES.get_or_init(|| {
        let Some(dir) = tessera_conformance::vectors_folder(RECORDINGS[1]) else {
            return Vec::new();
        };
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .expect("list the recording")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "bin"))
            .collect();
        files.sort();
        files
            .iter()
            .take(24)
            .map(|p| std::fs::read(p).expect("read a recorded message"))
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_octets_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode_exact::<Message>(tiny(), &bytes);
        let mut input = hello();
        input.extend_from_slice(&bytes);
        let _ = serve_bytes(input, vec![our_peer()]);
        let _ = serve_bytes(bytes, vec![our_peer()]);
    }

    #[test]
    fn truncated_messages_are_errors(pick in any::<prop::sample::Index>(), cut in any::<prop::sample::Index>()) {
        let samples = samples();
        if samples.is_empty() {
            return Ok(()); // vectors absent: nothing to mutate
        }
        let bytes = pick.get(samples);
        let cut = cut.index(bytes.len());
        prop_assert!(decode_exact::<Message>(tiny(), &bytes[..cut]).is_err());
        // The same cut inside a frame: a typed frame error.
        let mut framed = Vec::new();
        write_frame(&mut framed, bytes).expect("write to a vector");
        let mut input = hello();
        input.extend_from_slice(&framed[..cut + 4]);
        let (outcome, _) = serve_bytes(input, vec![our_peer()]);
        prop_assert!(
            matches!(
                outcome,
                Err(SessionError::Frame { source: FrameError::TruncatedBody { .. }, .. })
            ),
            "{:?}",
            outcome
        );
    }

    #[test]
    fn mutated_messages_decode_canonically_or_not_at_all(
        pick in any::<prop::sample::Index>(),
        at in any::<prop::sample::Index>(),
        xor in 1u8..,
    ) {
        let samples = samples();
        if samples.is_empty() {
            return Ok(()); // vectors absent: nothing to mutate
        }
        let mut bytes = pick.get(samples).clone();
        let at = at.index(bytes.len());
        if let Some(b) = bytes.get_mut(at) {
            *b ^= xor;
        }
        // The codec is canonical: what decodes re-encodes to the same octets.
        if let Ok(m) = decode_exact::<Message>(tiny(), &bytes) {
            prop_assert_eq!(m.encode(), bytes);
        }
    }
}

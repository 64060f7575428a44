//! The recorded fuzzer sessions (`fuzz-proto/examples/0.7.2/{no_forks,forks}`)
//! replayed message by message against Tessera's own target: every reply must be
//! the recorded one — the same state roots, an `Error` exactly where the
//! recording has one (its text is free-form), the same handshake fields that the
//! protocol fixes. The same sessions replay again with `feature-ancestry`
//! switched on (the recordings negotiated forks only): every lookup anchor in
//! them is an ancestor, so the replies must not change; a block whose anchor is
//! not must be refused.

use tessera_core::spec::ChainSpec;
use tessera_node::fuzz_target::message::{Message, FEATURE_ANCESTRY};
use tessera_node::fuzz_target::node::NodeTarget;
use tessera_node::fuzz_target::recording::recorded_session;
use tessera_node::fuzz_target::session::Session;

/// Replay `rel`; with `ancestry`, the fuzzer's `PeerInfo` offers
/// `feature-ancestry` too.
fn replay(rel: &str, ancestry: bool) {
    let Some(dir) = tessera_conformance::vectors_folder(rel) else {
        return;
    };
    // `RUST_LOG=tessera_state=trace` shows each accumulation and host call.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let spec = ChainSpec::tiny();
    let exchanges = recorded_session(&dir, &spec).expect("read the recording");
    assert!(!exchanges.is_empty(), "{rel}: empty recording");
    let mut target = NodeTarget::new(&spec);
    let mut session = Session::new(&mut target);
    let (mut roots, mut errors) = (0usize, 0usize);
    for mut x in exchanges {
        tracing::info!(step = x.step, "replaying");
        if let (true, Message::PeerInfo(p)) = (ancestry, &mut x.request) {
            p.fuzz_features |= FEATURE_ANCESTRY;
        }
        let got = session
            .handle(x.request.clone())
            .unwrap_or_else(|e| panic!("{rel} step {}: session ended: {e}", x.step));
        match (&x.reply, &got) {
            (Message::PeerInfo(want), Message::PeerInfo(got)) => {
                assert_eq!(got.fuzz_version, want.fuzz_version, "{rel}: fuzz version");
                assert_eq!(got.jam_version, want.jam_version, "{rel}: GP version");
            }
            (Message::Error(_), Message::Error(_)) => errors += 1,
            (Message::StateRoot(want), Message::StateRoot(got)) => {
                assert_eq!(got, want, "{rel} step {}: state root", x.step);
                roots += 1;
            }
            (want, got) => panic!(
                "{rel} step {}: replied {got:?}, recording has {want:?}",
                x.step
            ),
        }
    }
    eprintln!("[{rel}] replayed: {roots} state roots equal, {errors} rejections equal");
}

/// Issue 21: the recordings run once per PVM backend, which is a process-wide default
/// (machines are made deep in the transition), so the runs take turns.
fn on_each_backend(f: impl Fn()) {
    static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    for backend in [
        tessera_pvm::Backend::Interpreter,
        tessera_pvm::Backend::Recompiler,
    ] {
        eprintln!("PVM backend: {}", backend.name());
        tessera_pvm::Backend::set_default(Some(backend));
        f();
    }
    tessera_pvm::Backend::set_default(None);
}

#[test]
fn no_forks_recording_replays_exactly() {
    on_each_backend(|| replay("fuzz-proto/examples/0.7.2/no_forks", false));
}

#[test]
fn forks_recording_replays_exactly() {
    on_each_backend(|| replay("fuzz-proto/examples/0.7.2/forks", false));
}

#[test]
fn no_forks_recording_replays_exactly_with_ancestry_checks() {
    replay("fuzz-proto/examples/0.7.2/no_forks", true);
}

#[test]
fn forks_recording_replays_exactly_with_ancestry_checks() {
    replay("fuzz-proto/examples/0.7.2/forks", true);
}

/// A guarantee whose lookup anchor is no ancestor is refused under
/// `feature-ancestry`, naming GP 11.35, and the head's state stays.
#[test]
fn unknown_lookup_anchor_is_refused_with_ancestry() {
    let Some(dir) = tessera_conformance::vectors_folder("fuzz-proto/examples/0.7.2/no_forks")
    else {
        return;
    };
    let spec = ChainSpec::tiny();
    let exchanges = recorded_session(&dir, &spec).expect("read the recording");
    let mut target = NodeTarget::new(&spec);
    let mut session = Session::new(&mut target);
    let mut tampered = false;
    for mut x in exchanges {
        if let Message::PeerInfo(p) = &mut x.request {
            p.fuzz_features |= FEATURE_ANCESTRY;
        }
        let with_guarantee = matches!(&x.request,
            Message::ImportBlock(b) if !b.extrinsic.guarantees.0.is_empty());
        if with_guarantee && matches!(x.reply, Message::StateRoot(_)) {
            let Message::ImportBlock(mut b) = x.request.clone() else {
                unreachable!()
            };
            b.extrinsic.guarantees.0[0].report.context.lookup_anchor.0[0] ^= 1;
            match session
                .handle(Message::ImportBlock(b))
                .expect("session goes on")
            {
                Message::Error(e) => assert!(e.contains("GP 11.35"), "{e}"),
                other => panic!("step {}: tampered anchor accepted: {other:?}", x.step),
            }
            tampered = true;
            break;
        }
        session.handle(x.request).expect("session goes on");
    }
    assert!(tampered, "the recording has a block with a guarantee");
}

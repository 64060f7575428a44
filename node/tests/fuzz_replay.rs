//! The recorded fuzzer sessions (`fuzz-proto/examples/0.7.2/{no_forks,forks}`)
//! replayed message by message against Tessera's own target: every reply must be
//! the recorded one — the same state roots, an `Error` exactly where the
//! recording has one (its text is free-form), the same handshake fields that the
//! protocol fixes.

use tessera_core::spec::ChainSpec;
use tessera_node::fuzz_target::message::Message;
use tessera_node::fuzz_target::node::NodeTarget;
use tessera_node::fuzz_target::recording::recorded_session;
use tessera_node::fuzz_target::session::Session;

fn replay(rel: &str) {
    let Some(dir) = tessera_conformance::vectors_folder(rel) else {
        return;
    };
    let spec = ChainSpec::tiny();
    let exchanges = recorded_session(&dir, &spec).expect("read the recording");
    assert!(!exchanges.is_empty(), "{rel}: empty recording");
    let mut target = NodeTarget::new(&spec);
    let mut session = Session::new(&mut target);
    let (mut roots, mut errors) = (0usize, 0usize);
    for x in exchanges {
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

#[test]
fn no_forks_recording_replays_exactly() {
    replay("fuzz-proto/examples/0.7.2/no_forks");
}

#[test]
fn forks_recording_replays_exactly() {
    replay("fuzz-proto/examples/0.7.2/forks");
}

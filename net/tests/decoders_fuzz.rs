//! Property tests: every message decoder takes random bytes, and mutations of
//! valid messages, without panicking; messages are only fed up to their declared
//! maximum, so a decoder's allocations are bounded by that maximum.

mod common;

use proptest::prelude::*;
use tessera_core::ChainSpec;
use tessera_net::messages::*;
use tessera_net::Wire;

type Check = fn(&ChainSpec, &[Vec<u8>]);

fn check<W: Wire>(spec: &ChainSpec, msgs: &[Vec<u8>]) {
    if msgs.len() > W::max_messages(spec) {
        return;
    }
    let msgs: Vec<Vec<u8>> = msgs
        .iter()
        .enumerate()
        .map(|(i, m)| m[..m.len().min(W::max_size(spec, i) as usize)].to_vec())
        .collect();
    let _ = W::from_messages(spec, &msgs);
}

fn check_up0(spec: &ChainSpec, msgs: &[Vec<u8>]) {
    for m in msgs {
        let _ = tessera_core::decode_exact::<Handshake>(spec, m);
        let _ = tessera_core::decode_exact::<Announcement>(spec, m);
    }
}

fn checks() -> Vec<(&'static str, Check)> {
    vec![
        ("up0", check_up0),
        ("128 req", check::<BlockRequest>),
        ("128 resp", check::<Blocks>),
        ("129 req", check::<StateRequest>),
        ("129 resp", check::<StateResponse>),
        ("131/132", check::<Ticket>),
        ("133", check::<WorkPackageSubmission>),
        ("134/146 req", check::<BundleWithMappings>),
        ("134 resp", check::<WorkReportSignature>),
        ("135", check::<tessera_core::types::Guarantee>),
        ("136 resp", check::<tessera_core::types::WorkReport>),
        ("hash", check::<tessera_core::Hash>),
        ("137/138 req", check::<ShardRequest>),
        ("137 resp", check::<ShardResponse>),
        ("138 resp", check::<AuditShardResponse>),
        ("139/140 req", check::<SegmentShardRequest>),
        ("139 resp", check::<SegmentShards>),
        ("140 resp", check::<JustifiedSegmentShards>),
        ("141", check::<AssuranceMessage>),
        ("143/147 resp", check::<Raw>),
        ("144", check::<AuditAnnouncement>),
        ("145", check::<JudgmentMessage>),
        ("148 req", check::<SegmentRequest>),
        ("148 resp", check::<SegmentResponse>),
    ]
}

/// Valid message lists to mutate, so the decoders get past their first field.
fn seeds() -> Vec<Vec<Vec<u8>>> {
    use common::samples::*;
    vec![
        block_request().to_messages(),
        blocks().to_messages(),
        state_request().to_messages(),
        state_response().to_messages(),
        ticket().to_messages(),
        bundle_with_mappings().to_messages(),
        shard_response().to_messages(),
        audit_shard_response().to_messages(),
        segment_shard_request().to_messages(),
        justified_segment_shards().to_messages(),
        assurance().to_messages(),
        audit_announcement_first().to_messages(),
        audit_announcement_later().to_messages(),
        judgment().to_messages(),
        segment_request().to_messages(),
        segment_response().to_messages(),
        vec![tessera_core::codec::Encode::encode(&handshake())],
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_bytes_never_panic(msgs in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..512), 0..4)) {
        let spec = ChainSpec::tiny();
        for (_, c) in checks() {
            c(&spec, &msgs);
        }
        let full = ChainSpec::full();
        for (_, c) in checks() {
            c(&full, &msgs);
        }
    }

    #[test]
    fn mutated_messages_never_panic(
        seed in 0usize..17,
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
        which in any::<prop::sample::Index>(),
    ) {
        let spec = ChainSpec::tiny();
        let mut msgs = seeds()[seed].clone();
        if !msgs.is_empty() {
            let i = which.index(msgs.len());
            for (at, b) in &edits {
                if !msgs[i].is_empty() {
                    let j = at.index(msgs[i].len());
                    msgs[i][j] = *b;
                }
            }
            let keep = cut.index(msgs[i].len() + 1);
            if edits[0].1 & 1 == 1 {
                msgs[i].truncate(keep);
            }
        }
        for (_, c) in checks() {
            c(&spec, &msgs);
        }
    }
}

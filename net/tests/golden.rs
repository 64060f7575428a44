//! Golden encodings of every message kind, written from the field lists of
//! JAMNP-S (`simple.md`), checked both ways: the value encodes to exactly these
//! octets, and these octets decode to the value. GP types ("As in GP") are the
//! core codec's encodings. Tiny chain: `C = 2`, segment shard `2·W_P = 2052`.

mod common;

use std::fmt::Debug;

use common::samples::*;
use common::*;
use tessera_core::codec::Encode;
use tessera_core::decode_exact;
use tessera_net::messages::*;
use tessera_net::Wire;

fn le16(x: u16) -> Vec<u8> {
    x.to_le_bytes().to_vec()
}
fn le32(x: u32) -> Vec<u8> {
    x.to_le_bytes().to_vec()
}
fn rep(b: u8, n: usize) -> Vec<u8> {
    vec![b; n]
}
fn cat(parts: &[Vec<u8>]) -> Vec<u8> {
    parts.concat()
}

fn both_ways<W: Wire + PartialEq + Debug>(value: W, golden: Vec<Vec<u8>>) {
    let spec = spec();
    assert_eq!(value.to_messages(), golden, "encoding of {value:?}");
    assert_eq!(W::from_messages(&spec, &golden).unwrap(), value);
    assert!(golden.len() <= W::max_messages(&spec));
    for (i, m) in golden.iter().enumerate() {
        assert!(
            m.len() <= W::max_size(&spec, i) as usize,
            "message {i} above its maximum"
        );
    }
}

/// Appending an octet to message `i` is an error at the byte just past the value
/// (for messages whose length the content fixes).
fn trailing_refused<W: Wire + Debug>(golden: &[Vec<u8>], i: usize) {
    let mut g = golden.to_vec();
    g[i].push(0);
    let e = W::from_messages(&spec(), &g).unwrap_err();
    assert_eq!(e.offset(), golden[i].len(), "{e}");
}

#[test]
fn up0_handshake_and_announcement() {
    let spec = spec();
    let hs = handshake();
    let golden = cat(&[
        rep(1, 32),
        le32(10),
        vec![2],
        rep(2, 32),
        le32(11),
        rep(3, 32),
        le32(12),
    ]);
    assert_eq!(hs.encode(), golden);
    assert_eq!(decode_exact::<Handshake>(&spec, &golden).unwrap(), hs);
    let ann = Announcement {
        header: header(5),
        finalized: BlockRef {
            hash: h(1),
            slot: 10,
        },
    };
    let golden = cat(&[header(5).encode(), rep(1, 32), le32(10)]);
    assert_eq!(ann.encode(), golden);
    assert_eq!(decode_exact::<Announcement>(&spec, &golden).unwrap(), ann);
}

#[test]
fn ce128_block_request() {
    let g = vec![cat(&[rep(9, 32), vec![1], le32(3)])];
    both_ways(block_request(), g.clone());
    trailing_refused::<BlockRequest>(&g, 0);
    let mut bad = g.clone();
    bad[0][32] = 2;
    let e = BlockRequest::from_messages(&spec(), &bad).unwrap_err();
    assert_eq!(e.offset(), 32);
    both_ways(blocks(), vec![cat(&[block(1).encode(), block(2).encode()])]);
    both_ways(Blocks(vec![]), vec![vec![]]);
}

#[test]
fn ce129_state_request() {
    let g = vec![cat(&[rep(9, 32), rep(1, 31), rep(0xFF, 31), le32(4096)])];
    both_ways(state_request(), g.clone());
    trailing_refused::<StateRequest>(&g, 0);
    both_ways(
        state_response(),
        vec![
            cat(&[rep(7, 64), rep(8, 64)]),
            cat(&[rep(1, 31), vec![3, 1, 2, 3], rep(2, 31), vec![0]]),
        ],
    );
}

#[test]
fn ce131_132_ticket() {
    let g = vec![cat(&[le32(7), vec![1], rep(9, 784)])];
    both_ways(ticket(), g.clone());
    trailing_refused::<Ticket>(&g, 0);
    let mut bad = g;
    bad[0][4] = 3; // tiny N = 3: attempts 0..=2
    assert_eq!(
        Ticket::from_messages(&spec(), &bad).unwrap_err().offset(),
        4
    );
}

#[test]
fn ce133_work_package_submission() {
    let Some(gp) = gp_samples() else { return };
    let total: u32 = gp
        .package
        .items
        .iter()
        .flat_map(|i| i.extrinsic.iter())
        .map(|x| x.len)
        .sum();
    let sub = WorkPackageSubmission {
        core_index: 1,
        package: gp.package.clone(),
        extrinsics: rep(0x5A, total as usize),
    };
    both_ways(
        sub,
        vec![
            cat(&[le16(1), gp.package.encode()]),
            rep(0x5A, total as usize),
        ],
    );
    // Extrinsic data whose length disagrees with the package is refused.
    let bad = vec![
        cat(&[le16(1), gp.package.encode()]),
        rep(0x5A, total as usize + 1),
    ];
    assert!(WorkPackageSubmission::from_messages(&spec(), &bad).is_err());
}

#[test]
fn ce134_146_bundle_with_mappings() {
    let g = vec![
        cat(&[le16(1), vec![1], rep(1, 32), rep(2, 32)]),
        vec![1, 2, 3, 4, 5],
    ];
    both_ways(bundle_with_mappings(), g.clone());
    trailing_refused::<BundleWithMappings>(&g, 0);
    both_ways(report_signature(), vec![cat(&[rep(4, 32), rep(5, 64)])]);
}

#[test]
fn ce135_136_guarantee_and_report() {
    let Some(gp) = gp_samples() else { return };
    both_ways(gp.guarantee.clone(), vec![gp.guarantee.encode()]);
    both_ways(gp.report.clone(), vec![gp.report.encode()]);
    both_ways(h(4), vec![rep(4, 32)]);
}

#[test]
fn ce137_138_shards_and_justifications() {
    let g = vec![cat(&[rep(8, 32), le16(3)])];
    both_ways(shard_request(), g.clone());
    trailing_refused::<ShardRequest>(&g, 0);
    let just = cat(&[vec![0], rep(1, 32), vec![1], rep(2, 32), rep(3, 32)]);
    both_ways(
        shard_response(),
        vec![
            rep(1, 10),
            cat(&[rep(2, SHARD), rep(3, SHARD)]),
            just.clone(),
        ],
    );
    both_ways(audit_shard_response(), vec![rep(4, 6), just.clone()]);
    // Discriminator 3 does not exist.
    let bad = vec![rep(4, 6), cat(&[just.clone(), vec![3]])];
    assert_eq!(
        AuditShardResponse::from_messages(&spec(), &bad)
            .unwrap_err()
            .offset(),
        just.len()
    );
    // A segment-shard message that is not a whole number of shards.
    let bad = vec![rep(1, 10), rep(2, SHARD + 1), just];
    assert!(ShardResponse::from_messages(&spec(), &bad).is_err());
}

#[test]
fn ce139_140_segment_shards() {
    let g = vec![cat(&[
        rep(8, 32),
        le16(2),
        vec![2],
        le16(0),
        le16(5),
        rep(9, 32),
        le16(2),
        vec![0],
    ])];
    both_ways(segment_shard_request(), g);
    let shards = cat(&[rep(3, SHARD), rep(4, SHARD)]);
    both_ways(segment_shards(), vec![shards.clone()]);
    both_ways(
        justified_segment_shards(),
        vec![
            shards.clone(),
            cat(&[vec![0], rep(1, 32), vec![1], rep(2, 32), rep(3, 32)]),
            cat(&[vec![0], rep(5, 32), vec![2], rep(6, SHARD)]),
        ],
    );
    // One justification per shard, no more, no less.
    let short = vec![shards, cat(&[vec![0], rep(1, 32)])];
    assert!(matches!(
        JustifiedSegmentShards::from_messages(&spec(), &short),
        Err(WireError::MessageCount { got: 2, .. })
    ));
}

#[test]
fn ce141_assurance() {
    let g = vec![cat(&[rep(1, 32), vec![0b01], rep(2, 64)])];
    both_ways(assurance(), g.clone());
    trailing_refused::<AssuranceMessage>(&g, 0);
}

#[test]
fn ce142_143_147_hash_and_raw() {
    both_ways(h(5), vec![rep(5, 32)]);
    trailing_refused::<tessera_core::Hash>(&[rep(5, 32)], 0);
    both_ways(Raw(vec![1, 2, 3, 4]), vec![vec![1, 2, 3, 4]]);
    both_ways(Raw(vec![]), vec![vec![]]);
}

#[test]
fn ce144_audit_announcement() {
    let body = |tranche: u8| {
        cat(&[
            rep(7, 32),
            vec![tranche],
            vec![2],
            le16(0),
            rep(1, 32),
            le16(1),
            rep(2, 32),
            rep(3, 64),
        ])
    };
    both_ways(audit_announcement_first(), vec![body(0), rep(8, 96)]);
    let later = vec![
        body(2),
        cat(&[
            rep(8, 96),
            vec![1],
            le16(4),
            vec![1],
            le16(0),
            rep(1, 32),
            rep(9, 64),
            rep(10, 96),
            vec![0],
        ]),
    ];
    both_ways(audit_announcement_later(), later.clone());
    trailing_refused::<AuditAnnouncement>(&later, 1);
}

#[test]
fn ce145_judgment() {
    let g = vec![cat(&[le32(3), le16(5), vec![1], rep(6, 32), rep(7, 64)])];
    both_ways(judgment(), g.clone());
    trailing_refused::<JudgmentMessage>(&g, 0);
    let mut bad = g;
    bad[0][6] = 2;
    assert_eq!(
        JudgmentMessage::from_messages(&spec(), &bad)
            .unwrap_err()
            .offset(),
        6
    );
}

#[test]
fn ce148_segments() {
    both_ways(
        segment_request(),
        vec![cat(&[rep(1, 32), vec![2], le16(0), le16(1)])],
    );
    both_ways(
        segment_response(),
        vec![
            cat(&[rep(7, 4104), rep(8, 4104)]),
            cat(&[vec![1], rep(1, 32), vec![2], rep(2, 32), rep(3, 32)]),
        ],
    );
}

#[test]
fn fin_only_sides_have_no_messages() {
    both_ways((), vec![]);
    assert!(<() as Wire>::from_messages(&spec(), &[vec![]]).is_err());
}

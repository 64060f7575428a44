//! Sample values of every message, shared by the exchange and golden tests.

use tessera_core::types::AvailabilityBitfield;
use tessera_core::{ByteArray, Bytes};
use tessera_net::messages::*;

use super::{block, h, sig};

pub fn block_request() -> BlockRequest {
    BlockRequest {
        header_hash: h(9),
        direction: Direction::DescendingInclusive,
        max_blocks: 3,
    }
}

pub fn blocks() -> Blocks {
    Blocks(vec![block(1), block(2)])
}

pub fn state_request() -> StateRequest {
    StateRequest {
        header_hash: h(9),
        start_key: ByteArray([1; 31]),
        end_key: ByteArray([0xFF; 31]),
        max_size: 4096,
    }
}

pub fn state_response() -> StateResponse {
    StateResponse {
        boundary_nodes: vec![ByteArray([7; 64]), ByteArray([8; 64])],
        pairs: vec![
            (ByteArray([1; 31]), Bytes(vec![1, 2, 3])),
            (ByteArray([2; 31]), Bytes(vec![])),
        ],
    }
}

pub fn ticket() -> Ticket {
    Ticket {
        epoch_index: 7,
        attempt: 1,
        proof: ByteArray([9; 784]),
    }
}

pub fn bundle_with_mappings() -> BundleWithMappings {
    BundleWithMappings {
        core_index: 1,
        mappings: SegmentRootMappings(vec![(h(1), h(2))]),
        bundle: vec![1, 2, 3, 4, 5],
    }
}

pub fn report_signature() -> WorkReportSignature {
    WorkReportSignature {
        report_hash: h(4),
        signature: sig(5),
    }
}

pub fn shard_request() -> ShardRequest {
    ShardRequest {
        erasure_root: h(8),
        shard_index: 3,
    }
}

/// Tiny chain: a segment shard is 2·W_P = 2052 octets.
pub const SHARD: usize = 2052;

pub fn justification() -> Justification {
    Justification(vec![
        JustificationStep::Hash(h(1)),
        JustificationStep::Pair(h(2), h(3)),
    ])
}

pub fn shard_response() -> ShardResponse {
    ShardResponse {
        bundle_shard: vec![1; 10],
        segment_shards: SegmentShards(vec![vec![2; SHARD], vec![3; SHARD]]),
        justification: justification(),
    }
}

pub fn audit_shard_response() -> AuditShardResponse {
    AuditShardResponse {
        bundle_shard: vec![4; 6],
        justification: justification(),
    }
}

pub fn segment_shard_request() -> SegmentShardRequest {
    SegmentShardRequest(vec![
        SegmentShardRequestItem {
            erasure_root: h(8),
            shard_index: 2,
            segment_indices: vec![0, 5],
        },
        SegmentShardRequestItem {
            erasure_root: h(9),
            shard_index: 2,
            segment_indices: vec![],
        },
    ])
}

pub fn segment_shards() -> SegmentShards {
    SegmentShards(vec![vec![3; SHARD], vec![4; SHARD]])
}

pub fn justified_segment_shards() -> JustifiedSegmentShards {
    JustifiedSegmentShards {
        shards: segment_shards(),
        justifications: vec![
            justification(),
            Justification(vec![
                JustificationStep::Hash(h(5)),
                JustificationStep::SegmentShard(vec![6; SHARD]),
            ]),
        ],
    }
}

pub fn assurance() -> AssuranceMessage {
    AssuranceMessage {
        anchor: h(1),
        bitfield: AvailabilityBitfield::from_bits(&[true, false]),
        signature: sig(2),
    }
}

pub fn announcement_body() -> AuditAnnouncementBody {
    AuditAnnouncementBody {
        reports: vec![(0, h(1)), (1, h(2))],
        signature: sig(3),
    }
}

pub fn audit_announcement_first() -> AuditAnnouncement {
    AuditAnnouncement {
        header_hash: h(7),
        tranche: 0,
        announcement: announcement_body(),
        evidence: AuditEvidence::First(ByteArray([8; 96])),
    }
}

pub fn audit_announcement_later() -> AuditAnnouncement {
    AuditAnnouncement {
        header_hash: h(7),
        tranche: 2,
        announcement: announcement_body(),
        evidence: AuditEvidence::Subsequent(vec![
            SubsequentEvidence {
                signature: ByteArray([8; 96]),
                no_shows: vec![NoShow {
                    validator_index: 4,
                    announcement: AuditAnnouncementBody {
                        reports: vec![(0, h(1))],
                        signature: sig(9),
                    },
                }],
            },
            SubsequentEvidence {
                signature: ByteArray([10; 96]),
                no_shows: vec![],
            },
        ]),
    }
}

pub fn judgment() -> JudgmentMessage {
    JudgmentMessage {
        epoch_index: 3,
        validator_index: 5,
        valid: true,
        report_hash: h(6),
        signature: sig(7),
    }
}

pub fn segment_request() -> SegmentRequest {
    SegmentRequest(vec![SegmentRequestItem {
        segments_root: h(1),
        segment_indices: vec![0, 1],
    }])
}

pub fn segment_response() -> SegmentResponse {
    SegmentResponse {
        segments: vec![vec![7; 4104], vec![8; 4104]],
        import_proofs: vec![vec![h(1)], vec![h(2), h(3)]],
    }
}

pub fn handshake() -> Handshake {
    Handshake {
        finalized: BlockRef {
            hash: h(1),
            slot: 10,
        },
        leaves: vec![
            BlockRef {
                hash: h(2),
                slot: 11,
            },
            BlockRef {
                hash: h(3),
                slot: 12,
            },
        ],
    }
}

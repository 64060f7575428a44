//! Every stream kind of JAMNP-S as typed messages on the GP codec, and one of
//! Tessera's own (CE 250, GRANDPA, not JAMNP-S: see [`GrandpaProtocol`]).
//!
//! Each side of a stream sends a fixed pattern of messages ("`-->`" and "`<--`"
//! lines of the spec). A [`Wire`] value is what one side sends, as a list of
//! message contents; a [`Protocol`] pairs the request and the response of one CE
//! kind. Decoding is strict (`decode_exact` per message: trailing octets, bad tags,
//! wrong lengths are errors with their byte offset) and every message has a
//! declared maximum size, derived from the chain spec's constants where the spec
//! bounds it and from a documented policy where it does not; the framing refuses
//! a size prefix above it before allocating anything.
//!
//! Sequences written `[X]` without `len++` fill the rest of their message; their
//! decoders below read items until the message ends.

use tessera_core::codec::{encode_natural, Decode, DecodeError, DecodeErrorKind, Encode, Reader};
use tessera_core::types::{
    AvailabilityBitfield, BandersnatchRingVrfSignature, BandersnatchVrfSignature, Block,
    Ed25519Public, Ed25519Signature, Guarantee, Header, WorkPackage, WorkReport,
};
use tessera_core::{decode_exact, ByteArray, ChainSpec, Hash};

/// A stream kind: UP kinds are below 128, CE kinds 128 and above.
pub type StreamKind = u8;

/// UP 0, block announcement.
pub const UP_BLOCK_ANNOUNCEMENT: StreamKind = 0;

/// Whether `kind` is a Common Ephemeral kind (JAMNP-S "Protocols and streams").
pub fn is_ce(kind: StreamKind) -> bool {
    kind >= 128
}

/// The most leaves a UP 0 handshake may list (policy: the spec sets no bound;
/// unfinalized forks beyond this are pathological).
pub const MAX_LEAVES: usize = 1024;
/// The most entries of one justification (policy: a co-path in a tree of `V`
/// leaves plus the segment tree is far shorter).
pub const MAX_JUSTIFICATION_STEPS: usize = 64;
/// The most request items in one CE 139/140/148 request (policy).
pub const MAX_REQUEST_ITEMS: usize = 1024;
/// Largest CE 129 key/value message (policy: responders bound it by the request's
/// maximum size; a single oversized pair is allowed by the spec, up to this).
pub const MAX_STATE_RESPONSE: usize = 32 * 1024 * 1024;
/// Largest CE 144 evidence message (policy: no-show lists are short in practice).
pub const MAX_AUDIT_EVIDENCE: usize = 16 * 1024 * 1024;
/// Largest CE 128 response (policy): a requester asks for as many blocks as fit.
pub const MAX_BLOCKS_RESPONSE: usize = 256 * 1024 * 1024;

fn clamp(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Upper bounds on encoded sizes, from the chain spec (GP v0.7.2 constants).
pub mod bounds {
    use super::*;

    /// A header: fixed fields, an epoch mark of `V` key pairs, a tickets mark of `E`
    /// tickets, up to `V` offenders, two Bandersnatch signatures (GP C.2, 5.x).
    pub fn header(spec: &ChainSpec) -> usize {
        let v = spec.validators();
        let e = spec.epoch_length as usize;
        32 * 3 + 4 + (1 + 64 + 64 * v) + (1 + 33 * e) + 2 + 96 + (9 + 32 * v) + 96
    }

    /// A work report: the output bound `W_R` plus the fixed parts of at most `I`
    /// digests, `J` prerequisites and lookups (GP 11.x), generously rounded.
    pub fn work_report(spec: &ChainSpec) -> usize {
        spec.max_report_output_size as usize
            + 1024
            + 256 * spec.max_work_items as usize
            + 72 * spec.max_report_dependencies as usize
    }

    /// A guarantee: report, slot and three credentials.
    pub fn guarantee(spec: &ChainSpec) -> usize {
        work_report(spec) + 4 + 1 + 3 * 66
    }

    /// A block: header plus extrinsic. Tickets `K·785`, guarantees `C`,
    /// assurances `V`, disputes bounded by `V` judgements per core; preimages have
    /// no GP bound and are taken as at most `W_B` in all (policy).
    pub fn block(spec: &ChainSpec) -> usize {
        let v = spec.validators();
        let c = spec.cores();
        header(spec)
            + 9
            + spec.max_tickets_per_extrinsic as usize * 785
            + 9
            + c * guarantee(spec)
            + 9
            + v * (32 + spec.availability_bitfield_bytes() + 2 + 64)
            + 27
            + 2 * c * (36 + v * 67)
            + v * 2 * 129
            + 9
            + spec.max_bundle_size as usize
    }

    /// A work-package bundle (and a work package, and its extrinsic data): `W_B`.
    pub fn bundle(spec: &ChainSpec) -> usize {
        spec.max_bundle_size as usize
    }

    /// One validator's shard of a bundle: `2·⌈W_B / W_E⌉` octets (GP H).
    pub fn bundle_shard(spec: &ChainSpec) -> usize {
        2 * (spec.max_bundle_size as usize).div_ceil(spec.erasure_piece_size as usize)
    }

    /// One segment shard: `2·W_P` octets (12 full, 2052 tiny).
    pub fn segment_shard(spec: &ChainSpec) -> usize {
        2 * spec.segment_pieces as usize
    }

    /// Exported and proof segments of one package: `W_X + ⌈W_X/64⌉`.
    pub fn exported_and_proof_segments(spec: &ChainSpec) -> usize {
        let x = spec.max_exports as usize;
        x + x.div_ceil(64)
    }

    /// A justification: its steps, each a discriminator and at most two hashes or a
    /// segment shard.
    pub fn justification(spec: &ChainSpec) -> usize {
        MAX_JUSTIFICATION_STEPS * (1 + 64.max(segment_shard(spec)))
    }
}

/// Why the messages of one side of a stream did not decode.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// The side sent a different number of messages than its protocol has.
    #[error("expected {expected} messages, got {got}")]
    MessageCount {
        /// What the protocol expects (a count or a range, in words).
        expected: &'static str,
        /// How many arrived.
        got: usize,
    },
    /// One message did not decode.
    #[error("message {message}: {error}")]
    Decode {
        /// The message's index on this side of the stream.
        message: usize,
        /// The codec error, with its byte offset within the message.
        #[source]
        error: DecodeError,
    },
}

impl WireError {
    /// Byte offset of a decoding failure within its message (0 for a count error).
    pub fn offset(&self) -> usize {
        match self {
            WireError::Decode { error, .. } => error.offset,
            WireError::MessageCount { .. } => 0,
        }
    }
}

/// What one side of a stream sends: a list of messages.
pub trait Wire: Sized + Send + Sync + 'static {
    /// The most messages this side may send.
    fn max_messages(spec: &ChainSpec) -> usize;
    /// The largest content of message `index`.
    fn max_size(spec: &ChainSpec, index: usize) -> u32;
    /// The message contents, in order.
    fn to_messages(&self) -> Vec<Vec<u8>>;
    /// Decode from the message contents.
    fn from_messages(spec: &ChainSpec, messages: &[Vec<u8>]) -> Result<Self, WireError>;
}

fn decode_message<T: Decode>(
    spec: &ChainSpec,
    messages: &[Vec<u8>],
    index: usize,
) -> Result<T, WireError> {
    decode_exact(spec, &messages[index]).map_err(|error| WireError::Decode {
        message: index,
        error,
    })
}

fn expect_count(messages: &[Vec<u8>], n: usize, expected: &'static str) -> Result<(), WireError> {
    if messages.len() == n {
        Ok(())
    } else {
        Err(WireError::MessageCount {
            expected,
            got: messages.len(),
        })
    }
}

/// A side that sends nothing but FIN.
impl Wire for () {
    fn max_messages(_: &ChainSpec) -> usize {
        0
    }
    fn max_size(_: &ChainSpec, _: usize) -> u32 {
        0
    }
    fn to_messages(&self) -> Vec<Vec<u8>> {
        Vec::new()
    }
    fn from_messages(_: &ChainSpec, messages: &[Vec<u8>]) -> Result<Self, WireError> {
        expect_count(messages, 0, "0")
    }
}

/// Implement [`Wire`] for a type sent as exactly one message.
macro_rules! one_message {
    ($ty:ty, |$spec:ident| $max:expr) => {
        impl Wire for $ty {
            fn max_messages(_: &ChainSpec) -> usize {
                1
            }
            fn max_size($spec: &ChainSpec, _: usize) -> u32 {
                clamp($max)
            }
            fn to_messages(&self) -> Vec<Vec<u8>> {
                vec![self.encode()]
            }
            fn from_messages(spec: &ChainSpec, messages: &[Vec<u8>]) -> Result<Self, WireError> {
                expect_count(messages, 1, "1")?;
                decode_message(spec, messages, 0)
            }
        }
    };
}

/// Read items until the message ends (a `[X]` sequence without `len++`), at most
/// `max` of them.
fn read_to_end<T>(
    r: &mut Reader<'_>,
    max: usize,
    what: &'static str,
    mut item: impl FnMut(&mut Reader<'_>) -> Result<T, DecodeError>,
) -> Result<Vec<T>, DecodeError> {
    let mut out = Vec::new();
    while r.remaining() > 0 {
        if out.len() == max {
            return Err(r.err(DecodeErrorKind::LengthTooLarge {
                what,
                len: max as u64 + 1,
                max: max as u64,
            }));
        }
        out.push(item(r)?);
    }
    Ok(out)
}

/// Content that is the whole message as raw octets (`[u8]`): extrinsic data,
/// bundles, shards, preimages.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Raw(pub Vec<u8>);

// Hand-written: the content is the rest of the message, with no length prefix.
impl Encode for Raw {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0);
    }
}

impl Decode for Raw {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let n = r.remaining();
        Ok(Raw(r.take(n, "raw octets")?.to_vec()))
    }
}

// ---------------------------------------------------------------------------
// UP 0: block announcement.

/// `Final = Header Hash ++ Slot` (also the form of a `Leaf`), UP 0.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Encode, Decode)]
pub struct BlockRef {
    /// The header hash.
    pub hash: Hash,
    /// Its slot.
    pub slot: u32,
}

/// `Handshake = Final ++ len++[Leaf]`, UP 0: the latest finalized block and every
/// known leaf.
#[derive(Clone, Debug, Default, PartialEq, Eq, Encode, Decode)]
pub struct Handshake {
    /// The latest finalized block.
    pub finalized: BlockRef,
    /// The known leaves (descendants of the finalized block without children).
    #[codec(seq, max = MAX_LEAVES, name = "handshake leaves")]
    pub leaves: Vec<BlockRef>,
}

impl Handshake {
    /// The largest handshake.
    pub fn max_size(_spec: &ChainSpec) -> u32 {
        clamp(36 + 9 + 36 * MAX_LEAVES)
    }
}

/// `Announcement = Header ++ Final`, UP 0.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Announcement {
    /// The new block's header.
    pub header: Header,
    /// The latest finalized block.
    pub finalized: BlockRef,
}

impl Announcement {
    /// The largest announcement.
    pub fn max_size(spec: &ChainSpec) -> u32 {
        clamp(bounds::header(spec) + 36)
    }
}

// ---------------------------------------------------------------------------
// CE 128: block request.

/// `Direction`, CE 128.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
#[codec(tag_name = "direction", what = "direction (0 or 1)")]
pub enum Direction {
    /// 0: children of the given block, then grandchildren, …
    AscendingExclusive,
    /// 1: the given block, then its parent, …
    DescendingInclusive,
}

/// CE 128 request: `Header Hash ++ Direction ++ Maximum Blocks`.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct BlockRequest {
    /// Where to start.
    pub header_hash: Hash,
    /// Which way to walk.
    pub direction: Direction,
    /// At most this many blocks.
    pub max_blocks: u32,
}
one_message!(BlockRequest, |_spec| 37);

/// CE 128 response: `[Block]`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Blocks(pub Vec<Block>);

// Hand-written: `[Block]` without `len++` fills the rest of the message.
impl Encode for Blocks {
    fn encode_to(&self, out: &mut Vec<u8>) {
        for b in &self.0 {
            b.encode_to(out);
        }
    }
}

impl Decode for Blocks {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        read_to_end(r, usize::MAX, "blocks", Block::decode).map(Blocks)
    }
}
one_message!(Blocks, |spec| MAX_BLOCKS_RESPONSE.max(bounds::block(spec)));

// ---------------------------------------------------------------------------
// CE 129: state request.

/// A state key as sent: its first 31 octets.
pub type StateKey = ByteArray<31>;

/// CE 129 request: `Header Hash ++ Start Key ++ End Key ++ Maximum Size`.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct StateRequest {
    /// The block whose posterior state is asked for.
    pub header_hash: Hash,
    /// First key (inclusive).
    pub start_key: StateKey,
    /// Last key (inclusive).
    pub end_key: StateKey,
    /// Response size bound in octets.
    pub max_size: u32,
}
one_message!(StateRequest, |_spec| 32 + 31 + 31 + 4);

/// CE 129 response: `[Boundary Node]` then `[Key ++ Value]`, two messages.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StateResponse {
    /// Trie nodes on the paths to the start key and the last key returned (64
    /// octets each, GP D).
    pub boundary_nodes: Vec<ByteArray<64>>,
    /// Key/value pairs in key order; values are `len++[u8]`.
    pub pairs: Vec<(StateKey, tessera_core::Bytes)>,
}

/// Boundary nodes on two paths of at most 248 levels.
const MAX_BOUNDARY_NODES: usize = 2 * 249;

impl Wire for StateResponse {
    fn max_messages(_: &ChainSpec) -> usize {
        2
    }
    fn max_size(_: &ChainSpec, index: usize) -> u32 {
        clamp(if index == 0 {
            64 * MAX_BOUNDARY_NODES
        } else {
            MAX_STATE_RESPONSE
        })
    }
    fn to_messages(&self) -> Vec<Vec<u8>> {
        let mut nodes = Vec::new();
        for n in &self.boundary_nodes {
            n.encode_to(&mut nodes);
        }
        let mut pairs = Vec::new();
        for p in &self.pairs {
            p.encode_to(&mut pairs);
        }
        vec![nodes, pairs]
    }
    fn from_messages(spec: &ChainSpec, m: &[Vec<u8>]) -> Result<Self, WireError> {
        expect_count(m, 2, "2")?;
        let nodes = decode_with(spec, m, 0, |r| {
            read_to_end(r, MAX_BOUNDARY_NODES, "boundary nodes", Decode::decode)
        })?;
        let pairs = decode_with(spec, m, 1, |r| {
            read_to_end(r, usize::MAX, "key/value pairs", Decode::decode)
        })?;
        Ok(StateResponse {
            boundary_nodes: nodes,
            pairs,
        })
    }
}

fn decode_with<T>(
    spec: &ChainSpec,
    messages: &[Vec<u8>],
    index: usize,
    f: impl FnOnce(&mut Reader<'_>) -> Result<T, DecodeError>,
) -> Result<T, WireError> {
    let mut r = Reader::new(spec, &messages[index]);
    let v = f(&mut r)
        .and_then(|v| r.finish().map(|()| v))
        .map_err(|error| WireError::Decode {
            message: index,
            error,
        })?;
    Ok(v)
}

// ---------------------------------------------------------------------------
// CE 131/132: Safrole ticket distribution.

/// CE 131/132: `Epoch Index ++ Attempt ++ Bandersnatch RingVRF Proof`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ticket {
    /// The epoch the ticket will be used in.
    pub epoch_index: u32,
    /// The attempt, below `N` (the spec's `{0, 1}` is the full chain's `N = 2`).
    pub attempt: u8,
    /// The ring VRF proof.
    pub proof: BandersnatchRingVrfSignature,
}

// Hand-written: decoding also refuses an attempt not below `N`, at its offset.
impl Encode for Ticket {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.epoch_index.encode_to(out);
        self.attempt.encode_to(out);
        self.proof.encode_to(out);
    }
}

impl Decode for Ticket {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let epoch_index = r.u32("epoch index")?;
        let at = r.position();
        let attempt = r.u8("attempt")?;
        if attempt >= r.spec().tickets_per_validator {
            return Err(DecodeError::new(
                at,
                DecodeErrorKind::InvalidTag {
                    what: "ticket attempt (below N)",
                    tag: attempt,
                },
            ));
        }
        Ok(Ticket {
            epoch_index,
            attempt,
            proof: Decode::decode(r)?,
        })
    }
}
one_message!(Ticket, |_spec| 4 + 1 + 784);

// ---------------------------------------------------------------------------
// CE 133 / 134 / 146: work packages and bundles.

/// `Segment Root Mappings = len++[Work Package Hash ++ Segment Root]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Encode, Decode)]
pub struct SegmentRootMappings(
    /// The pairs, at most `W_M` (the import bound).
    #[codec(seq, max = spec.max_imports as usize, name = "segment root mappings")]
    pub Vec<(Hash, Hash)>,
);

/// CE 133: `Core Index ++ Work Package`, then `[Extrinsic]` (the extrinsic data
/// the package references, concatenated).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkPackageSubmission {
    /// The core the package is for.
    pub core_index: u16,
    /// The work package.
    pub package: WorkPackage,
    /// Its extrinsic data, concatenated in reference order.
    pub extrinsics: Vec<u8>,
}

impl Wire for WorkPackageSubmission {
    fn max_messages(_: &ChainSpec) -> usize {
        2
    }
    fn max_size(spec: &ChainSpec, _: usize) -> u32 {
        clamp(2 + bounds::bundle(spec))
    }
    fn to_messages(&self) -> Vec<Vec<u8>> {
        let mut first = self.core_index.encode();
        self.package.encode_to(&mut first);
        vec![first, self.extrinsics.clone()]
    }
    fn from_messages(spec: &ChainSpec, m: &[Vec<u8>]) -> Result<Self, WireError> {
        expect_count(m, 2, "2")?;
        let (core_index, package) = decode_message::<(u16, WorkPackage)>(spec, m, 0)?;
        // The extrinsic message's length must equal the sum of the package's
        // extrinsic lengths (CE 133).
        let expected: u64 = package
            .items
            .iter()
            .flat_map(|i| i.extrinsic.iter())
            .map(|x| u64::from(x.len))
            .sum();
        if expected != m[1].len() as u64 {
            return Err(WireError::Decode {
                message: 1,
                error: DecodeError::new(
                    0,
                    DecodeErrorKind::InvalidValue {
                        what: "extrinsic data",
                        reason: format!(
                            "{} octets, but the package references {expected}",
                            m[1].len()
                        ),
                    },
                ),
            });
        }
        Ok(WorkPackageSubmission {
            core_index,
            package,
            extrinsics: m[1].clone(),
        })
    }
}

/// CE 134 request and CE 146: `Core Index ++ Segment Root Mappings`, then the
/// work-package bundle (as in GP, carried as its octets).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BundleWithMappings {
    /// The core.
    pub core_index: u16,
    /// Work-package hash to segment root mappings.
    pub mappings: SegmentRootMappings,
    /// The encoded bundle.
    pub bundle: Vec<u8>,
}

impl Wire for BundleWithMappings {
    fn max_messages(_: &ChainSpec) -> usize {
        2
    }
    fn max_size(spec: &ChainSpec, index: usize) -> u32 {
        clamp(if index == 0 {
            2 + 9 + 64 * spec.max_imports as usize
        } else {
            bounds::bundle(spec)
        })
    }
    fn to_messages(&self) -> Vec<Vec<u8>> {
        let mut first = self.core_index.encode();
        self.mappings.encode_to(&mut first);
        vec![first, self.bundle.clone()]
    }
    fn from_messages(spec: &ChainSpec, m: &[Vec<u8>]) -> Result<Self, WireError> {
        expect_count(m, 2, "2")?;
        let (core_index, mappings) = decode_message::<(u16, SegmentRootMappings)>(spec, m, 0)?;
        Ok(BundleWithMappings {
            core_index,
            mappings,
            bundle: m[1].clone(),
        })
    }
}

/// CE 134 response: `Work Report Hash ++ Ed25519 Signature`.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct WorkReportSignature {
    /// The hash of the report the guarantor computed.
    pub report_hash: Hash,
    /// Its guarantee signature.
    pub signature: Ed25519Signature,
}
one_message!(WorkReportSignature, |_spec| 96);

one_message!(Guarantee, |spec| bounds::guarantee(spec));
one_message!(WorkReport, |spec| bounds::work_report(spec));
one_message!(Hash, |_spec| 32);

// ---------------------------------------------------------------------------
// CE 137 / 138 / 139 / 140: shards and justifications.

/// CE 137/138 request: `Erasure Root ++ Shard Index`.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct ShardRequest {
    /// The erasure root of the package.
    pub erasure_root: Hash,
    /// The shard (validator) index.
    pub shard_index: u16,
}
one_message!(ShardRequest, |_spec| 34);

/// One justification entry, with its one-octet discriminator: `0 ++ Hash`,
/// `1 ++ Hash ++ Hash` or `2 ++ Segment Shard`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JustificationStep {
    /// 0: a sibling hash.
    Hash(Hash),
    /// 1: a pair of hashes (a bundle-shard hash and a segment-shard root).
    Pair(Hash, Hash),
    /// 2: a sibling segment shard (CE 140 only), `2·W_P` octets.
    SegmentShard(Vec<u8>),
}

// Hand-written: variant 2 is a raw run of `2·W_P` octets, refused whole when short.
impl Encode for JustificationStep {
    fn encode_to(&self, out: &mut Vec<u8>) {
        match self {
            JustificationStep::Hash(h) => {
                out.push(0);
                h.encode_to(out);
            }
            JustificationStep::Pair(a, b) => {
                out.push(1);
                a.encode_to(out);
                b.encode_to(out);
            }
            JustificationStep::SegmentShard(s) => {
                out.push(2);
                out.extend_from_slice(s);
            }
        }
    }
}

impl Decode for JustificationStep {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let at = r.position();
        match r.u8("justification discriminator")? {
            0 => Ok(JustificationStep::Hash(Decode::decode(r)?)),
            1 => Ok(JustificationStep::Pair(
                Decode::decode(r)?,
                Decode::decode(r)?,
            )),
            2 => {
                let n = bounds::segment_shard(r.spec());
                Ok(JustificationStep::SegmentShard(
                    r.take(n, "segment shard")?.to_vec(),
                ))
            }
            tag => Err(DecodeError::new(
                at,
                DecodeErrorKind::InvalidTag {
                    what: "justification discriminator (0, 1 or 2)",
                    tag,
                },
            )),
        }
    }
}

/// A justification: its entries fill the message.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Justification(pub Vec<JustificationStep>);

// Hand-written: its steps fill the rest of the message, with no length prefix.
impl Encode for Justification {
    fn encode_to(&self, out: &mut Vec<u8>) {
        for s in &self.0 {
            s.encode_to(out);
        }
    }
}

impl Decode for Justification {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        read_to_end(
            r,
            MAX_JUSTIFICATION_STEPS,
            "justification",
            JustificationStep::decode,
        )
        .map(Justification)
    }
}

/// Segment shards filling a message: `[Segment Shard]`, `2·W_P` octets each.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SegmentShards(pub Vec<Vec<u8>>);

// Hand-written: raw `2·W_P`-octet shards fill the rest of the message.
impl Encode for SegmentShards {
    fn encode_to(&self, out: &mut Vec<u8>) {
        for s in &self.0 {
            out.extend_from_slice(s);
        }
    }
}

impl Decode for SegmentShards {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let n = bounds::segment_shard(r.spec());
        let max = bounds::exported_and_proof_segments(r.spec());
        read_to_end(r, max, "segment shards", |r| {
            Ok(r.take(n, "segment shard")?.to_vec())
        })
        .map(SegmentShards)
    }
}

/// CE 137 response: `Bundle Shard`, `[Segment Shard]`, `Justification`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ShardResponse {
    /// The bundle shard.
    pub bundle_shard: Vec<u8>,
    /// Every exported and proof segment shard with this index.
    pub segment_shards: SegmentShards,
    /// The co-path from the erasure root.
    pub justification: Justification,
}

impl Wire for ShardResponse {
    fn max_messages(_: &ChainSpec) -> usize {
        3
    }
    fn max_size(spec: &ChainSpec, index: usize) -> u32 {
        clamp(match index {
            0 => bounds::bundle_shard(spec),
            1 => bounds::exported_and_proof_segments(spec) * bounds::segment_shard(spec),
            _ => bounds::justification(spec),
        })
    }
    fn to_messages(&self) -> Vec<Vec<u8>> {
        vec![
            self.bundle_shard.clone(),
            self.segment_shards.encode(),
            self.justification.encode(),
        ]
    }
    fn from_messages(spec: &ChainSpec, m: &[Vec<u8>]) -> Result<Self, WireError> {
        expect_count(m, 3, "3")?;
        Ok(ShardResponse {
            bundle_shard: m[0].clone(),
            segment_shards: decode_message(spec, m, 1)?,
            justification: decode_message(spec, m, 2)?,
        })
    }
}

/// CE 138 response: `Bundle Shard`, `Justification`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditShardResponse {
    /// The bundle shard.
    pub bundle_shard: Vec<u8>,
    /// The co-path from the erasure root.
    pub justification: Justification,
}

impl Wire for AuditShardResponse {
    fn max_messages(_: &ChainSpec) -> usize {
        2
    }
    fn max_size(spec: &ChainSpec, index: usize) -> u32 {
        clamp(match index {
            0 => bounds::bundle_shard(spec),
            _ => bounds::justification(spec),
        })
    }
    fn to_messages(&self) -> Vec<Vec<u8>> {
        vec![self.bundle_shard.clone(), self.justification.encode()]
    }
    fn from_messages(spec: &ChainSpec, m: &[Vec<u8>]) -> Result<Self, WireError> {
        expect_count(m, 2, "2")?;
        Ok(AuditShardResponse {
            bundle_shard: m[0].clone(),
            justification: decode_message(spec, m, 1)?,
        })
    }
}

/// One CE 139/140 request item: `Erasure Root ++ Shard Index ++ len++[Segment Index]`.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct SegmentShardRequestItem {
    /// The erasure root.
    pub erasure_root: Hash,
    /// The shard index.
    pub shard_index: u16,
    /// The segments whose shards are wanted.
    #[codec(seq, max = spec.max_imports as usize, name = "segment indices")]
    pub segment_indices: Vec<u16>,
}

/// CE 139/140 request: `[Erasure Root ++ Shard Index ++ len++[Segment Index]]`.
/// In all at most `W_M` segment indices.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SegmentShardRequest(pub Vec<SegmentShardRequestItem>);

// Hand-written: items fill the message and their segment indices are bounded in all.
impl Encode for SegmentShardRequest {
    fn encode_to(&self, out: &mut Vec<u8>) {
        for i in &self.0 {
            i.encode_to(out);
        }
    }
}

impl Decode for SegmentShardRequest {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let max = r.spec().max_imports as usize;
        let mut total = 0usize;
        read_to_end(r, MAX_REQUEST_ITEMS, "segment shard request", |r| {
            let at = r.position();
            let item = SegmentShardRequestItem::decode(r)?;
            total += item.segment_indices.len();
            if total > max {
                return Err(DecodeError::new(
                    at,
                    DecodeErrorKind::LengthTooLarge {
                        what: "segment shards requested in all",
                        len: total as u64,
                        max: max as u64,
                    },
                ));
            }
            Ok(item)
        })
        .map(SegmentShardRequest)
    }
}
one_message!(SegmentShardRequest, |spec| MAX_REQUEST_ITEMS * 37
    + 2 * spec.max_imports as usize);

impl Wire for SegmentShards {
    fn max_messages(_: &ChainSpec) -> usize {
        1
    }
    fn max_size(spec: &ChainSpec, _: usize) -> u32 {
        clamp(bounds::exported_and_proof_segments(spec) * bounds::segment_shard(spec))
    }
    fn to_messages(&self) -> Vec<Vec<u8>> {
        vec![self.encode()]
    }
    fn from_messages(spec: &ChainSpec, m: &[Vec<u8>]) -> Result<Self, WireError> {
        expect_count(m, 1, "1")?;
        decode_message(spec, m, 0)
    }
}

/// CE 140 response: `[Segment Shard]`, then one `Justification` per shard.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JustifiedSegmentShards {
    /// The shards, in request order.
    pub shards: SegmentShards,
    /// One justification per shard.
    pub justifications: Vec<Justification>,
}

impl Wire for JustifiedSegmentShards {
    fn max_messages(spec: &ChainSpec) -> usize {
        1 + bounds::exported_and_proof_segments(spec)
    }
    fn max_size(spec: &ChainSpec, index: usize) -> u32 {
        if index == 0 {
            SegmentShards::max_size(spec, 0)
        } else {
            clamp(bounds::justification(spec))
        }
    }
    fn to_messages(&self) -> Vec<Vec<u8>> {
        let mut out = vec![self.shards.encode()];
        out.extend(self.justifications.iter().map(Encode::encode));
        out
    }
    fn from_messages(spec: &ChainSpec, m: &[Vec<u8>]) -> Result<Self, WireError> {
        if m.is_empty() {
            return Err(WireError::MessageCount {
                expected: "1 + one per shard",
                got: 0,
            });
        }
        let shards: SegmentShards = decode_message(spec, m, 0)?;
        expect_count(m, 1 + shards.0.len(), "1 + one per shard")?;
        let justifications = (1..m.len())
            .map(|i| decode_message(spec, m, i))
            .collect::<Result<_, _>>()?;
        Ok(JustifiedSegmentShards {
            shards,
            justifications,
        })
    }
}

// ---------------------------------------------------------------------------
// CE 141: assurance distribution.

/// CE 141: `Anchor Hash ++ Bitfield ++ Ed25519 Signature`; the bitfield has
/// `⌈C/8⌉` octets (43 on the full chain).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct AssuranceMessage {
    /// The anchor (parent header hash).
    pub anchor: Hash,
    /// One bit per core.
    pub bitfield: AvailabilityBitfield,
    /// The assurer's signature.
    pub signature: Ed25519Signature,
}
one_message!(AssuranceMessage, |spec| 32
    + spec.availability_bitfield_bytes()
    + 64);

// ---------------------------------------------------------------------------
// CE 142 / 143 / 147: preimages and bundles by hash.

/// CE 143 response (a preimage) and CE 147 response (a bundle): raw octets.
impl Wire for Raw {
    fn max_messages(_: &ChainSpec) -> usize {
        1
    }
    fn max_size(spec: &ChainSpec, _: usize) -> u32 {
        clamp(bounds::bundle(spec).max(spec.max_service_code_size as usize))
    }
    fn to_messages(&self) -> Vec<Vec<u8>> {
        vec![self.0.clone()]
    }
    fn from_messages(_: &ChainSpec, m: &[Vec<u8>]) -> Result<Self, WireError> {
        expect_count(m, 1, "1")?;
        Ok(Raw(m[0].clone()))
    }
}

// ---------------------------------------------------------------------------
// CE 144: audit announcement.

/// `Announcement = len++[Core Index ++ Work Report Hash] ++ Ed25519 Signature`.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct AuditAnnouncementBody {
    /// The work reports to audit, by core.
    #[codec(seq, max = spec.cores(), name = "announced reports")]
    pub reports: Vec<(u16, Hash)>,
    /// The auditor's signature.
    pub signature: Ed25519Signature,
}

/// `No-Show = Validator Index ++ Announcement` (from the previous tranche).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct NoShow {
    /// The auditor that did not show.
    pub validator_index: u16,
    /// Its announcement.
    pub announcement: AuditAnnouncementBody,
}

/// Evidence for one announced report in a tranche after the first:
/// `Bandersnatch Signature ++ len++[No-Show]`.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct SubsequentEvidence {
    /// `s_n(w)`.
    pub signature: BandersnatchVrfSignature,
    /// The no-shows it claims.
    #[codec(seq, max = spec.validators(), name = "no-shows")]
    pub no_shows: Vec<NoShow>,
}

/// `Evidence`: tranche 0's `s_0`, or one [`SubsequentEvidence`] per announced report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuditEvidence {
    /// Tranche 0: `s_0`.
    First(BandersnatchVrfSignature),
    /// Later tranches: one entry per announced report, in order.
    Subsequent(Vec<SubsequentEvidence>),
}

/// CE 144: `Header Hash ++ Tranche ++ Announcement`, then `Evidence`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditAnnouncement {
    /// The block being audited.
    pub header_hash: Hash,
    /// The tranche.
    pub tranche: u8,
    /// What is announced.
    pub announcement: AuditAnnouncementBody,
    /// Why.
    pub evidence: AuditEvidence,
}

impl Wire for AuditAnnouncement {
    fn max_messages(_: &ChainSpec) -> usize {
        2
    }
    fn max_size(spec: &ChainSpec, index: usize) -> u32 {
        clamp(if index == 0 {
            32 + 1 + 9 + 34 * spec.cores() + 64
        } else {
            MAX_AUDIT_EVIDENCE
        })
    }
    fn to_messages(&self) -> Vec<Vec<u8>> {
        let mut first = self.header_hash.encode();
        self.tranche.encode_to(&mut first);
        self.announcement.encode_to(&mut first);
        let mut second = Vec::new();
        match &self.evidence {
            AuditEvidence::First(s) => s.encode_to(&mut second),
            AuditEvidence::Subsequent(items) => {
                for i in items {
                    i.encode_to(&mut second);
                }
            }
        }
        vec![first, second]
    }
    fn from_messages(spec: &ChainSpec, m: &[Vec<u8>]) -> Result<Self, WireError> {
        expect_count(m, 2, "2")?;
        let (header_hash, (tranche, announcement)) =
            decode_message::<(Hash, (u8, AuditAnnouncementBody))>(spec, m, 0)?;
        let evidence = if tranche == 0 {
            AuditEvidence::First(decode_message(spec, m, 1)?)
        } else {
            let n = announcement.reports.len();
            AuditEvidence::Subsequent(decode_with(spec, m, 1, |r| r.fixed_seq(n))?)
        };
        Ok(AuditAnnouncement {
            header_hash,
            tranche,
            announcement,
            evidence,
        })
    }
}

// ---------------------------------------------------------------------------
// CE 145: judgment publication.

/// CE 145: `Epoch Index ++ Validator Index ++ Validity ++ Work Report Hash ++
/// Ed25519 Signature`.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct JudgmentMessage {
    /// The epoch of the judging validator set.
    pub epoch_index: u32,
    /// The judge.
    pub validator_index: u16,
    /// 1 valid, 0 invalid.
    pub valid: bool,
    /// The report judged.
    pub report_hash: Hash,
    /// The judge's signature.
    pub signature: Ed25519Signature,
}
one_message!(JudgmentMessage, |_spec| 4 + 2 + 1 + 32 + 64);

// ---------------------------------------------------------------------------
// CE 148: segment request.

/// One CE 148 request item: `Segments-Root ++ len++[Segment Index]`.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct SegmentRequestItem {
    /// The segments root of the exporting package.
    pub segments_root: Hash,
    /// The segments wanted.
    #[codec(seq, max = spec.max_imports as usize, name = "segment indices")]
    pub segment_indices: Vec<u16>,
}

/// CE 148 request: `[Segments-Root ++ len++[Segment Index]]`, at most `W_M`
/// segments in all.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SegmentRequest(pub Vec<SegmentRequestItem>);

// Hand-written: items fill the message and their segment indices are bounded in all.
impl Encode for SegmentRequest {
    fn encode_to(&self, out: &mut Vec<u8>) {
        for i in &self.0 {
            i.encode_to(out);
        }
    }
}

impl Decode for SegmentRequest {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let max = r.spec().max_imports as usize;
        let mut total = 0usize;
        read_to_end(r, MAX_REQUEST_ITEMS, "segment request", |r| {
            let at = r.position();
            let item = SegmentRequestItem::decode(r)?;
            total += item.segment_indices.len();
            if total > max {
                return Err(DecodeError::new(
                    at,
                    DecodeErrorKind::LengthTooLarge {
                        what: "segments requested in all",
                        len: total as u64,
                        max: max as u64,
                    },
                ));
            }
            Ok(item)
        })
        .map(SegmentRequest)
    }
}
one_message!(SegmentRequest, |spec| MAX_REQUEST_ITEMS * 35
    + 2 * spec.max_imports as usize);

/// CE 148 response: `[Segment]` (`W_G` octets each), then `[Import-Proof]` with
/// `Import-Proof = len++[Hash]`, one per segment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SegmentResponse {
    /// The segments, in request order.
    pub segments: Vec<Vec<u8>>,
    /// One import proof per segment.
    pub import_proofs: Vec<Vec<Hash>>,
}

/// Hashes in one import proof: a page proof of depth `log2(64)` plus the
/// segment-root path, bounded generously (policy).
const MAX_IMPORT_PROOF: usize = 32;

impl Wire for SegmentResponse {
    fn max_messages(_: &ChainSpec) -> usize {
        2
    }
    fn max_size(spec: &ChainSpec, index: usize) -> u32 {
        let n = spec.max_imports as usize;
        clamp(if index == 0 {
            n * spec.segment_size as usize
        } else {
            n * (1 + 32 * MAX_IMPORT_PROOF)
        })
    }
    fn to_messages(&self) -> Vec<Vec<u8>> {
        let segments = self.segments.concat();
        let mut proofs = Vec::new();
        for p in &self.import_proofs {
            encode_natural(p.len() as u64, &mut proofs);
            for h in p {
                h.encode_to(&mut proofs);
            }
        }
        vec![segments, proofs]
    }
    fn from_messages(spec: &ChainSpec, m: &[Vec<u8>]) -> Result<Self, WireError> {
        expect_count(m, 2, "2")?;
        let size = spec.segment_size as usize;
        let max = spec.max_imports as usize;
        let segments = decode_with(spec, m, 0, |r| {
            read_to_end(r, max, "segments", |r| {
                Ok(r.take(size, "segment")?.to_vec())
            })
        })?;
        let n = segments.len();
        let import_proofs = decode_with(spec, m, 1, |r| {
            (0..n)
                .map(|_| r.seq("import proof", Some(MAX_IMPORT_PROOF)))
                .collect::<Result<Vec<_>, _>>()
        })?;
        Ok(SegmentResponse {
            segments,
            import_proofs,
        })
    }
}

// ---------------------------------------------------------------------------
// CE 250: GRANDPA messages — Tessera's own stream kind, NOT part of JAMNP-S.
//
// JAMNP-S (`simple.md`) defines no GRANDPA streams yet, so Tessera carries its
// finality votes on a kind of its own, far above the kinds JAMNP-S uses (UP 0, CE
// 128–148): a peer that does not know it resets the stream ("no handler"), which
// costs it nothing. One message per stream, empty response.
// Block numbers are heights from genesis (genesis is 0); the encoding is the GP
// codec (Appendix C): integers `E_4`/`E_8` little-endian, sequences `↕x`.

/// The most precommits of one GRANDPA commit or catch-up side: one per voter of the
/// largest validator set (`V = 1023`, GP I.4.4), twice over for equivocations.
pub const MAX_GRANDPA_VOTES: usize = 2 * 1023;

/// A vote's target block: `Header Hash ++ E_4(height)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Encode, Decode)]
pub struct GrandpaTarget {
    /// The block's header hash.
    pub hash: Hash,
    /// The block's height from genesis (its number; genesis is 0).
    pub number: u32,
}

/// One GRANDPA vote: `0 ++ Target` prevote, `1 ++ Target` precommit,
/// `2 ++ Target` primary proposal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
#[codec(tag_name = "grandpa vote kind", what = "grandpa vote kind (0, 1 or 2)")]
pub enum GrandpaVote {
    /// 0: a prevote.
    Prevote(GrandpaTarget),
    /// 1: a precommit.
    Precommit(GrandpaTarget),
    /// 2: the round's primary proposal.
    PrimaryPropose(GrandpaTarget),
}

/// A signed vote: `Vote ++ Ed25519 Signature ++ Ed25519 Key` (the voter's key
/// last). What the signature covers is the finality module's business
/// (`tessera_node::finality`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub struct SignedGrandpaVote {
    /// The vote.
    pub vote: GrandpaVote,
    /// The voter's signature.
    pub signature: Ed25519Signature,
    /// The voter's Ed25519 key.
    pub voter: Ed25519Public,
}

/// The CE 250 message: one of a vote, a commit or a catch-up, each with its round
/// and voter-set id.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
#[codec(
    tag_name = "grandpa message kind",
    what = "grandpa message kind (0, 1 or 2)"
)]
pub enum GrandpaMessage {
    /// 0: `E_8(round) ++ E_8(set id) ++ SignedVote`.
    Vote {
        /// The round.
        round: u64,
        /// The voter-set id.
        set_id: u64,
        /// The signed vote.
        vote: SignedGrandpaVote,
    },
    /// 1: `E_8(round) ++ E_8(set id) ++ Target ++ len++[SignedVote]`: a commit,
    /// the precommits that finalize `target` (each a `Precommit` vote).
    Commit {
        /// The round.
        round: u64,
        /// The voter-set id.
        set_id: u64,
        /// The finalized block.
        target: GrandpaTarget,
        /// The precommits justifying it.
        #[codec(seq, max = MAX_GRANDPA_VOTES, name = "grandpa commit precommits")]
        precommits: Vec<SignedGrandpaVote>,
    },
    /// 2: `E_8(round) ++ E_8(set id) ++ Target ++ len++[SignedVote] ++
    /// len++[SignedVote]`: a catch-up, the prevotes and precommits that complete
    /// `round`, all descending from `base`.
    CatchUp {
        /// The completed round.
        round: u64,
        /// The voter-set id.
        set_id: u64,
        /// A block every vote target descends from.
        base: GrandpaTarget,
        /// The round's prevotes.
        #[codec(seq, max = MAX_GRANDPA_VOTES, name = "grandpa catch-up prevotes")]
        prevotes: Vec<SignedGrandpaVote>,
        /// The round's precommits.
        #[codec(seq, max = MAX_GRANDPA_VOTES, name = "grandpa catch-up precommits")]
        precommits: Vec<SignedGrandpaVote>,
    },
}
one_message!(GrandpaMessage, |_spec| 1
    + 8
    + 8
    + 36
    + 2 * (9 + MAX_GRANDPA_VOTES * 133));

// ---------------------------------------------------------------------------
// The CE protocols.

/// One CE stream kind: its number, its request and its response.
pub trait Protocol: Send + Sync + 'static {
    /// The stream kind.
    const KIND: StreamKind;
    /// Its name, for logs.
    const NAME: &'static str;
    /// What the stream's initiator sends before its FIN.
    type Request: Wire;
    /// What the acceptor sends back before its FIN.
    type Response: Wire;
}

macro_rules! protocols {
    ($($(#[$doc:meta])* $name:ident = $kind:literal, $label:literal: $req:ty => $resp:ty;)*) => {
        $(
            $(#[$doc])*
            #[derive(Clone, Copy, Debug)]
            pub struct $name;
            impl Protocol for $name {
                const KIND: StreamKind = $kind;
                const NAME: &'static str = $label;
                type Request = $req;
                type Response = $resp;
            }
        )*
        /// Every CE kind this crate knows, with its name.
        pub const CE_KINDS: &[(StreamKind, &str)] = &[$(($kind, $label)),*];
    };
}

protocols! {
    /// CE 128: block request (`Node -> Node`).
    BlockRequestProtocol = 128, "block request": BlockRequest => Blocks;
    /// CE 129: state request (`Node -> Node`).
    StateRequestProtocol = 129, "state request": StateRequest => StateResponse;
    /// CE 131: Safrole ticket, generator to proxy.
    TicketToProxy = 131, "ticket to proxy": Ticket => ();
    /// CE 132: Safrole ticket, proxy to all current validators.
    TicketDistribution = 132, "ticket distribution": Ticket => ();
    /// CE 133: work-package submission (`Builder -> Guarantor`).
    WorkPackageSubmissionProtocol = 133, "work-package submission": WorkPackageSubmission => ();
    /// CE 134: work-package sharing (`Guarantor -> Guarantor`).
    WorkPackageSharing = 134, "work-package sharing": BundleWithMappings => WorkReportSignature;
    /// CE 135: work-report distribution (`Guarantor -> Validator`).
    WorkReportDistribution = 135, "work-report distribution": Guarantee => ();
    /// CE 136: work-report request (`Node -> Node`).
    WorkReportRequest = 136, "work-report request": Hash => WorkReport;
    /// CE 137: shard distribution (`Assurer -> Guarantor`).
    ShardDistribution = 137, "shard distribution": ShardRequest => ShardResponse;
    /// CE 138: audit shard request (`Auditor -> Assurer`).
    AuditShardRequest = 138, "audit shard request": ShardRequest => AuditShardResponse;
    /// CE 139: segment shard request without justifications.
    SegmentShardRequestProtocol = 139, "segment shard request": SegmentShardRequest => SegmentShards;
    /// CE 140: segment shard request with justifications.
    JustifiedSegmentShardRequest = 140, "justified segment shard request": SegmentShardRequest => JustifiedSegmentShards;
    /// CE 141: assurance distribution (`Assurer -> Validator`).
    AssuranceDistribution = 141, "assurance distribution": AssuranceMessage => ();
    /// CE 142: preimage announcement (`Node -> Validator`).
    PreimageAnnouncement = 142, "preimage announcement": Hash => ();
    /// CE 143: preimage request (`Node -> Node`).
    PreimageRequest = 143, "preimage request": Hash => Raw;
    /// CE 144: audit announcement (`Auditor -> Auditor`).
    AuditAnnouncementProtocol = 144, "audit announcement": AuditAnnouncement => ();
    /// CE 145: judgment publication (`Auditor -> Validator`).
    JudgmentPublication = 145, "judgment publication": JudgmentMessage => ();
    /// CE 146: work-package bundle submission (`Builder -> Guarantor`).
    BundleSubmission = 146, "bundle submission": BundleWithMappings => ();
    /// CE 147: bundle request by erasure root (`Auditor -> Guarantor`).
    BundleRequest = 147, "bundle request": Hash => Raw;
    /// CE 148: segment request (`Guarantor -> Guarantor`).
    SegmentRequestProtocol = 148, "segment request": SegmentRequest => SegmentResponse;
    /// CE 250: GRANDPA vote, commit or catch-up (`Validator -> Validator`).
    /// **Tessera's own, not JAMNP-S** (which defines no GRANDPA streams yet).
    GrandpaProtocol = 250, "tessera grandpa message": GrandpaMessage => ();
}

/// The name of a stream kind, for logs.
pub fn kind_name(kind: StreamKind) -> &'static str {
    if kind == UP_BLOCK_ANNOUNCEMENT {
        return "block announcement";
    }
    CE_KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or("unknown", |(_, n)| n)
}

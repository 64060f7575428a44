//! JIP-3 telemetry: the node connects to a telemetry server (`--telemetry
//! HOST:PORT`) and sends its node-information message, then one message per event.
//!
//! Wire form (JIP-3 § Message encoding): each message is its size as a
//! little-endian `u32`, then its content in the GP codec, with `u8`/`u16`/`u32`/
//! `u64` fields fixed-width (`E_1`, `E_2`, `E_4`, `E_8`), `len++` sequences prefixed
//! with the general natural `E(n)`, `Option` as `0` or `1 ++ T`, `String<N>` as
//! `len++[u8]` of at most `N` octets. An event message is `Timestamp` (microseconds
//! since the JAM Common Era, GP §4.4: 1200 UTC, 1 January 2025) ++ the event's
//! discriminator octet ++ its fields ([`Event`]'s variants carry JIP-3's numbers as
//! their codec tags).
//!
//! Sending never blocks or fails the node: [`Telemetry::send`] encodes the event
//! and puts it on a bounded queue that a background task writes to the socket. A
//! full queue drops the event (counted, see [`Telemetry::dropped`]); the server
//! learns of it through a JIP-3 "Dropped" event (discriminator 0) in its place. A
//! lost or refused connection is retried with exponential back-off (logged once per
//! outage); each new connection starts with the node-information message, and the
//! events that could not be delivered meanwhile are reported as one "Dropped"
//! event, so that event IDs (JIP-3 § Event IDs: per connection, counting a
//! "Dropped" event as the number of events it replaces) stay those
//! [`Telemetry::send`] returned.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tessera_core::codec::{encode_natural, Encode};
use tessera_core::hash::Hash;
use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpStream;
use tokio::sync::mpsc;

/// The JAM Common Era as seconds after the Unix epoch (GP §4.4: 1200 UTC on
/// 1 January 2025).
pub const COMMON_ERA_UNIX_SECONDS: u64 = 1_735_732_800;

/// The JIP-3 protocol version this node speaks (the node-information message's
/// first octet).
pub const PROTOCOL_VERSION: u8 = 0;

/// Events queued for the writer at most; beyond this they are dropped.
pub const QUEUE_EVENTS: usize = 4096;

/// First retry delay after a lost or refused connection; doubled up to
/// [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// A write that takes longer than this counts as a lost connection.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// An event ID (JIP-3 § Event IDs), as returned by [`Telemetry::send`]; later
/// events name earlier ones by it.
pub type EventId = u64;

/// A JIP-3 timestamp: microseconds since the JAM Common Era.
pub type Timestamp = u64;

/// Now as a JIP-3 timestamp (0 if the clock is before the Common Era).
pub fn now() -> Timestamp {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| {
            let us = d
                .as_micros()
                .saturating_sub(u128::from(COMMON_ERA_UNIX_SECONDS) * 1_000_000);
            u64::try_from(us).unwrap_or(u64::MAX)
        })
        .unwrap_or(0)
}

/// `String<N>` (JIP-3 common types): `len++[u8]`, at most `N` octets of UTF-8.
/// Longer text is cut at the last character boundary that fits.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Text<const N: usize>(String);

impl<const N: usize> Text<N> {
    /// `s`, cut to at most `N` octets.
    pub fn new(s: impl Into<String>) -> Self {
        let mut s = s.into();
        if s.len() > N {
            let mut end = N;
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            s.truncate(end);
        }
        Text(s)
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<const N: usize> From<&str> for Text<N> {
    fn from(s: &str) -> Self {
        Text::new(s)
    }
}

impl<const N: usize> From<String> for Text<N> {
    fn from(s: String) -> Self {
        Text::new(s)
    }
}

impl<const N: usize> Encode for Text<N> {
    fn encode_to(&self, out: &mut Vec<u8>) {
        encode_natural(self.0.len() as u64, out);
        out.extend_from_slice(self.0.as_bytes());
    }
}

/// `Reason` (JIP-3): `String<128>`, freeform, may be empty.
pub type Reason = Text<128>;

/// `Peer ID` (JIP-3): an Ed25519 public key.
pub type PeerId = tessera_core::bytes::ByteArray<32>;

/// A JAMNP-S peer as JIP-3 names it: its Ed25519 key.
pub fn peer_id(peer: &tessera_net::PeerId) -> PeerId {
    tessera_core::bytes::ByteArray(*peer.as_bytes())
}

/// `Peer Address` (JIP-3): `[u8; 16] ++ u16`, the IPv6 address (IPv4 mapped) and
/// port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerAddress(pub SocketAddr);

impl Encode for PeerAddress {
    fn encode_to(&self, out: &mut Vec<u8>) {
        let v6 = match self.0.ip() {
            IpAddr::V4(a) => a.to_ipv6_mapped(),
            IpAddr::V6(a) => a,
        };
        out.extend_from_slice(&v6.octets());
        self.0.port().encode_to(out);
    }
}

/// `Connection Side` (JIP-3): 0 local, 1 remote.
#[derive(Clone, Copy, Debug, PartialEq, Eq, tessera_core::codec::Encode)]
pub enum ConnectionSide {
    /// 0: this node.
    Local,
    /// 1: the peer.
    Remote,
}

/// A sequence of exactly as many items as the chain spec says (`[T; C]` in JIP-3),
/// encoded without a length prefix.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Fixed<T>(pub Vec<T>);

impl<T: Encode> Encode for Fixed<T> {
    fn encode_to(&self, out: &mut Vec<u8>) {
        for x in &self.0 {
            x.encode_to(out);
        }
    }
}

/// `Block Outline` (JIP-3 common types).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, tessera_core::codec::Encode)]
pub struct BlockOutline {
    /// Size of the encoded block in octets.
    pub size: u32,
    /// The header hash.
    pub header_hash: Hash,
    /// Tickets in the extrinsic.
    pub tickets: u32,
    /// Preimages in the extrinsic.
    pub preimages: u32,
    /// Total octets of those preimages.
    pub preimages_size: u32,
    /// Guarantees in the extrinsic.
    pub guarantees: u32,
    /// Assurances in the extrinsic.
    pub assurances: u32,
    /// Dispute verdicts in the extrinsic.
    pub dispute_verdicts: u32,
}

impl BlockOutline {
    /// The outline of `block`.
    pub fn of(block: &tessera_core::types::Block) -> BlockOutline {
        let x = &block.extrinsic;
        let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        BlockOutline {
            size: count(block.encode().len()),
            header_hash: block.header.hash(),
            tickets: count(x.tickets.0.len()),
            preimages: count(x.preimages.0.len()),
            preimages_size: count(x.preimages.0.iter().map(|p| p.blob.0.len()).sum()),
            guarantees: count(x.guarantees.0.len()),
            assurances: count(x.assurances.0.len()),
            dispute_verdicts: count(x.disputes.verdicts.len()),
        }
    }
}

/// `Exec Cost` (JIP-3): gas used and wall-clock nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, tessera_core::codec::Encode)]
pub struct ExecCost {
    /// Gas used.
    pub gas: u64,
    /// Elapsed wall-clock time, nanoseconds.
    pub ns: u64,
}

/// `Is-Authorized Cost` (JIP-3).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, tessera_core::codec::Encode)]
pub struct IsAuthorizedCost {
    /// The whole call.
    pub total: ExecCost,
    /// Loading and compiling the code, nanoseconds.
    pub load_ns: u64,
    /// Host calls.
    pub host_calls: ExecCost,
}

/// `Refine Cost` (JIP-3).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, tessera_core::codec::Encode)]
pub struct RefineCost {
    /// The whole call.
    pub total: ExecCost,
    /// Loading and compiling the code, nanoseconds.
    pub load_ns: u64,
    /// `historical_lookup` calls.
    pub historical_lookup: ExecCost,
    /// `machine`/`expunge` calls.
    pub machine_expunge: ExecCost,
    /// `peek`/`poke`/`pages` calls.
    pub peek_poke_pages: ExecCost,
    /// `invoke` calls.
    pub invoke: ExecCost,
    /// Other host calls.
    pub other: ExecCost,
}

/// `Accumulate Cost` (JIP-3).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, tessera_core::codec::Encode)]
pub struct AccumulateCost {
    /// Accumulate calls.
    pub calls: u32,
    /// Transfers processed.
    pub transfers: u32,
    /// Items accumulated.
    pub items: u32,
    /// The whole of it.
    pub total: ExecCost,
    /// Loading and compiling the code, nanoseconds.
    pub load_ns: u64,
    /// `read`/`write` calls.
    pub read_write: ExecCost,
    /// `lookup` calls.
    pub lookup: ExecCost,
    /// `query`/`solicit`/`forget`/`provide` calls.
    pub query_solicit_forget_provide: ExecCost,
    /// `info`/`new`/`upgrade`/`eject` calls.
    pub info_new_upgrade_eject: ExecCost,
    /// `transfer` calls.
    pub transfer: ExecCost,
    /// Gas charged for transfer processing by destination services.
    pub transfer_gas: u64,
    /// Other host calls.
    pub other: ExecCost,
}

/// `Import Spec` (JIP-3): root (segments-root or work-package hash) and export
/// index, plus 2^15 when the root is a work-package hash.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, tessera_core::codec::Encode)]
pub struct ImportSpec {
    /// Segments-root or work-package hash.
    pub root: Hash,
    /// Export index (+ 2^15 for a work-package hash).
    pub index: u16,
}

/// `Work-Item Outline` (JIP-3).
#[derive(Clone, Debug, Default, PartialEq, Eq, tessera_core::codec::Encode)]
pub struct WorkItemOutline {
    /// The service.
    pub service: u32,
    /// Payload size in octets.
    pub payload_size: u32,
    /// Refine gas limit.
    pub refine_gas: u64,
    /// Accumulate gas limit.
    pub accumulate_gas: u64,
    /// Sum of extrinsic lengths.
    pub extrinsics_size: u32,
    /// The imports (`len++`).
    pub imports: Vec<ImportSpec>,
    /// Exported segments.
    pub exports: u16,
}

/// `Work-Package Outline` (JIP-3).
#[derive(Clone, Debug, Default, PartialEq, Eq, tessera_core::codec::Encode)]
pub struct WorkPackageOutline {
    /// Encoded size excluding extrinsic data, octets.
    pub size: u32,
    /// The work-package hash.
    pub hash: Hash,
    /// The anchor's header hash.
    pub anchor: Hash,
    /// The lookup anchor's slot.
    pub lookup_anchor_slot: u32,
    /// Prerequisite work-package hashes (`len++`).
    pub prerequisites: Vec<Hash>,
    /// The items (`len++`).
    pub items: Vec<WorkItemOutline>,
}

/// `Work-Report Outline` (JIP-3).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, tessera_core::codec::Encode)]
pub struct WorkReportOutline {
    /// The work-report hash.
    pub hash: Hash,
    /// Bundle size in octets.
    pub bundle_size: u32,
    /// The erasure-root.
    pub erasure_root: Hash,
    /// The segments-root.
    pub segments_root: Hash,
}

impl WorkPackageOutline {
    /// The outline of `package`, whose hash is `hash`.
    pub fn of(package: &tessera_core::types::WorkPackage, hash: Hash) -> WorkPackageOutline {
        let c = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        WorkPackageOutline {
            size: c(package.encode().len()),
            hash,
            anchor: package.context.anchor,
            lookup_anchor_slot: package.context.lookup_anchor_slot,
            prerequisites: package.context.prerequisites.clone(),
            items: package
                .items
                .iter()
                .map(|w| WorkItemOutline {
                    service: w.service,
                    payload_size: c(w.payload.0.len()),
                    refine_gas: w.refine_gas_limit,
                    accumulate_gas: w.accumulate_gas_limit,
                    extrinsics_size: c(w.extrinsic.iter().map(|x| x.len as usize).sum()),
                    imports: w
                        .import_segments
                        .iter()
                        .map(|i| ImportSpec {
                            root: i.tree_root,
                            index: i.index,
                        })
                        .collect(),
                    exports: w.export_count,
                })
                .collect(),
        }
    }
}

impl WorkReportOutline {
    /// The outline of `report`, whose bundle is `bundle_size` octets.
    pub fn of(report: &tessera_core::types::WorkReport, bundle_size: usize) -> WorkReportOutline {
        WorkReportOutline {
            hash: report.hash(),
            bundle_size: u32::try_from(bundle_size).unwrap_or(u32::MAX),
            erasure_root: report.package_spec.erasure_root,
            segments_root: report.package_spec.exports_root,
        }
    }
}

/// `Guarantee Outline` (JIP-3).
#[derive(Clone, Debug, Default, PartialEq, Eq, tessera_core::codec::Encode)]
pub struct GuaranteeOutline {
    /// The work-report hash.
    pub report_hash: Hash,
    /// The guarantee's slot.
    pub slot: u32,
    /// The guarantors' validator indices (`len++`).
    pub guarantors: Vec<u16>,
}

impl GuaranteeOutline {
    /// The outline of `guarantee`.
    pub fn of(guarantee: &tessera_core::types::Guarantee) -> GuaranteeOutline {
        GuaranteeOutline {
            report_hash: guarantee.report.hash(),
            slot: guarantee.slot,
            guarantors: guarantee
                .signatures
                .iter()
                .map(|s| s.validator_index)
                .collect(),
        }
    }
}

/// `Guarantee Discard Reason` (JIP-3), one octet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, tessera_core::codec::Encode)]
pub enum GuaranteeDiscardReason {
    /// 0: the work-package was reported on-chain.
    ReportedOnChain,
    /// 1: replaced by a better guarantee.
    Replaced,
    /// 2: it cannot be reported on-chain.
    CannotBeReported,
    /// 3: too many guarantees.
    TooMany,
    /// 4: other.
    Other,
}

/// The node-information message (JIP-3 § Node information message).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeInfo {
    /// This node's Ed25519 public key (its JAMNP-S peer id).
    pub peer_id: PeerId,
    /// The address it listens on.
    pub address: SocketAddr,
    /// Node flags; bit 0: the PVM is a recompiler (1) or an interpreter (0).
    pub flags: u32,
    /// Implementation name (`String<32>`), e.g. "Tessera".
    pub name: Text<32>,
    /// Implementation version (`String<32>`).
    pub version: Text<32>,
    /// Freeform note (`String<512>`).
    pub note: Text<512>,
}

impl Encode for NodeInfo {
    fn encode_to(&self, out: &mut Vec<u8>) {
        PROTOCOL_VERSION.encode_to(out);
        self.peer_id.encode_to(out);
        PeerAddress(self.address).encode_to(out);
        self.flags.encode_to(out);
        self.name.encode_to(out);
        self.version.encode_to(out);
        self.note.encode_to(out);
    }
}

/// JIP-3 "Status" (10): emitted about every 2 seconds.
#[derive(Clone, Debug, Default, PartialEq, Eq, tessera_core::codec::Encode)]
pub struct Status {
    /// Total peers.
    pub peers: u32,
    /// Validator peers.
    pub validator_peers: u32,
    /// Peers with a block-announcement stream open.
    pub announcement_peers: u32,
    /// Guarantees in the pool, by core (`[u8; C]`, exactly `C` entries).
    pub guarantees_by_core: Fixed<u8>,
    /// Shards in the availability store.
    pub shards: u32,
    /// Total octets of those shards.
    pub shards_size: u64,
    /// Preimages in the pool, ready for a block.
    pub preimages: u32,
    /// Total octets of those preimages.
    pub preimages_size: u32,
}

/// A JIP-3 event. Each variant's codec tag is JIP-3's discriminator (the number in
/// its section heading); its fields are JIP-3's, in order. Event-ID fields name
/// earlier events by what [`Telemetry::send`] returned for them.
#[derive(Clone, Debug, PartialEq, Eq, tessera_core::codec::Encode)]
#[codec(tag_name = "event", what = "JIP-3 event")]
pub enum Event {
    /// 10: Status.
    #[codec(tag = 10)]
    Status(Status),
    /// 11: Best block changed (new best slot, header hash).
    #[codec(tag = 11)]
    BestBlockChanged(u32, Hash),
    /// 12: Finalized block changed (new finalized slot, header hash).
    #[codec(tag = 12)]
    FinalizedBlockChanged(u32, Hash),
    /// 13: Sync status changed (in sync?).
    #[codec(tag = 13)]
    SyncStatusChanged(bool),

    /// 40: Authoring (slot, parent header hash).
    #[codec(tag = 40)]
    Authoring(u32, Hash),
    /// 41: Authoring failed ("authoring" event, reason).
    #[codec(tag = 41)]
    AuthoringFailed(EventId, Reason),
    /// 42: Authored ("authoring" event, outline).
    #[codec(tag = 42)]
    Authored(EventId, BlockOutline),
    /// 43: Importing (slot, outline).
    #[codec(tag = 43)]
    Importing(u32, BlockOutline),
    /// 44: Block verification failed ("importing" event, reason).
    #[codec(tag = 44)]
    BlockVerificationFailed(EventId, Reason),
    /// 45: Block verified ("importing" event).
    #[codec(tag = 45)]
    BlockVerified(EventId),
    /// 46: Block execution failed ("authoring"/"importing" event, reason).
    #[codec(tag = 46)]
    BlockExecutionFailed(EventId, Reason),
    /// 47: Block executed ("authoring"/"importing" event, accumulated services
    /// with their costs, each service once).
    #[codec(tag = 47)]
    BlockExecuted(EventId, Vec<(u32, AccumulateCost)>),

    /// 90: Work-package submission (builder, CE 146?).
    #[codec(tag = 90)]
    WorkPackageSubmission(PeerId, bool),
    /// 91: Work-package being shared (primary guarantor).
    #[codec(tag = 91)]
    WorkPackageBeingShared(PeerId),
    /// 92: Work-package failed (submission/sharing event, reason).
    #[codec(tag = 92)]
    WorkPackageFailed(EventId, Reason),
    /// 93: Duplicate work-package (submission/sharing event, core, hash).
    #[codec(tag = 93)]
    DuplicateWorkPackage(EventId, u16, Hash),
    /// 94: Work-package received (submission/sharing event, core, outline).
    #[codec(tag = 94)]
    WorkPackageReceived(EventId, u16, WorkPackageOutline),
    /// 95: Authorized (submission/sharing event, cost).
    #[codec(tag = 95)]
    Authorized(EventId, IsAuthorizedCost),
    /// 96: Extrinsic data received (submission/sharing event).
    #[codec(tag = 96)]
    ExtrinsicDataReceived(EventId),
    /// 97: Imports received (submission/sharing event).
    #[codec(tag = 97)]
    ImportsReceived(EventId),
    /// 98: Sharing work-package (submission event, secondary guarantor).
    #[codec(tag = 98)]
    SharingWorkPackage(EventId, PeerId),
    /// 99: Work-package sharing failed (submission event, secondary, reason).
    #[codec(tag = 99)]
    WorkPackageSharingFailed(EventId, PeerId, Reason),
    /// 100: Bundle sent (submission event, secondary guarantor).
    #[codec(tag = 100)]
    BundleSent(EventId, PeerId),
    /// 101: Refined (submission/sharing event, cost per work item).
    #[codec(tag = 101)]
    Refined(EventId, Vec<RefineCost>),
    /// 102: Work-report built (submission/sharing event, outline).
    #[codec(tag = 102)]
    WorkReportBuilt(EventId, WorkReportOutline),
    /// 103: Work-report signature sent (sharing event).
    #[codec(tag = 103)]
    WorkReportSignatureSent(EventId),
    /// 104: Work-report signature received (submission event, secondary).
    #[codec(tag = 104)]
    WorkReportSignatureReceived(EventId, PeerId),
    /// 105: Guarantee built (submission event, outline).
    #[codec(tag = 105)]
    GuaranteeBuilt(EventId, GuaranteeOutline),
    /// 106: Sending guarantee ("guarantee built" event, recipient).
    #[codec(tag = 106)]
    SendingGuarantee(EventId, PeerId),
    /// 107: Guarantee send failed ("sending guarantee" event, reason).
    #[codec(tag = 107)]
    GuaranteeSendFailed(EventId, Reason),
    /// 108: Guarantee sent ("sending guarantee" event).
    #[codec(tag = 108)]
    GuaranteeSent(EventId),
    /// 109: Guarantees distributed (submission event).
    #[codec(tag = 109)]
    GuaranteesDistributed(EventId),
    /// 110: Receiving guarantee (sender).
    #[codec(tag = 110)]
    ReceivingGuarantee(PeerId),
    /// 111: Guarantee receive failed ("receiving guarantee" event, reason).
    #[codec(tag = 111)]
    GuaranteeReceiveFailed(EventId, Reason),
    /// 112: Guarantee received ("receiving guarantee" event, outline).
    #[codec(tag = 112)]
    GuaranteeReceived(EventId, GuaranteeOutline),
    /// 113: Guarantee discarded (outline, reason).
    #[codec(tag = 113)]
    GuaranteeDiscarded(GuaranteeOutline, GuaranteeDiscardReason),

    /// 120: Sending shard request (guarantor, erasure-root, shard index).
    #[codec(tag = 120)]
    SendingShardRequest(PeerId, Hash, u16),
    /// 121: Receiving shard request (assurer).
    #[codec(tag = 121)]
    ReceivingShardRequest(PeerId),
    /// 122: Shard request failed (sending/receiving event, reason).
    #[codec(tag = 122)]
    ShardRequestFailed(EventId, Reason),
    /// 123: Shard request sent ("sending shard request" event).
    #[codec(tag = 123)]
    ShardRequestSent(EventId),
    /// 124: Shard request received ("receiving shard request" event,
    /// erasure-root, shard index).
    #[codec(tag = 124)]
    ShardRequestReceived(EventId, Hash, u16),
    /// 125: Shards transferred (sending/receiving event).
    #[codec(tag = 125)]
    ShardsTransferred(EventId),
    /// 126: Distributing assurance (anchor, availability bitfield of
    /// `⌈C/8⌉` octets).
    #[codec(tag = 126)]
    DistributingAssurance(Hash, Fixed<u8>),
    /// 127: Assurance send failed ("distributing assurance" event, recipient,
    /// reason).
    #[codec(tag = 127)]
    AssuranceSendFailed(EventId, PeerId, Reason),
    /// 128: Assurance sent ("distributing assurance" event, recipient).
    #[codec(tag = 128)]
    AssuranceSent(EventId, PeerId),
    /// 129: Assurance distributed ("distributing assurance" event).
    #[codec(tag = 129)]
    AssuranceDistributed(EventId),
    /// 130: Assurance receive failed (sender, reason).
    #[codec(tag = 130)]
    AssuranceReceiveFailed(PeerId, Reason),
    /// 131: Assurance received (sender, anchor).
    #[codec(tag = 131)]
    AssuranceReceived(PeerId, Hash),

    /// 140: Sending bundle shard request (auditing event, assurer, shard index).
    #[codec(tag = 140)]
    SendingBundleShardRequest(EventId, PeerId, u16),
    /// 141: Receiving bundle shard request (auditor).
    #[codec(tag = 141)]
    ReceivingBundleShardRequest(PeerId),
    /// 142: Bundle shard request failed (sending/receiving event, reason).
    #[codec(tag = 142)]
    BundleShardRequestFailed(EventId, Reason),
    /// 143: Bundle shard request sent ("sending bundle shard request" event).
    #[codec(tag = 143)]
    BundleShardRequestSent(EventId),
    /// 144: Bundle shard request received ("receiving …" event, erasure-root,
    /// shard index).
    #[codec(tag = 144)]
    BundleShardRequestReceived(EventId, Hash, u16),
    /// 145: Bundle shard transferred (sending/receiving event).
    #[codec(tag = 145)]
    BundleShardTransferred(EventId),
    /// 146: Reconstructing bundle (auditing event, trivial reconstruction?).
    #[codec(tag = 146)]
    ReconstructingBundle(EventId, bool),
    /// 147: Bundle reconstructed (auditing event).
    #[codec(tag = 147)]
    BundleReconstructed(EventId),
    /// 148: Sending bundle request (auditing event, guarantor).
    #[codec(tag = 148)]
    SendingBundleRequest(EventId, PeerId),
    /// 149: Receiving bundle request (auditor).
    #[codec(tag = 149)]
    ReceivingBundleRequest(PeerId),
    /// 150: Bundle request failed (sending/receiving event, reason).
    #[codec(tag = 150)]
    BundleRequestFailed(EventId, Reason),
    /// 151: Bundle request sent ("sending bundle request" event).
    #[codec(tag = 151)]
    BundleRequestSent(EventId),
    /// 152: Bundle request received ("receiving bundle request" event,
    /// erasure-root).
    #[codec(tag = 152)]
    BundleRequestReceived(EventId, Hash),
    /// 153: Bundle transferred (sending/receiving event).
    #[codec(tag = 153)]
    BundleTransferred(EventId),

    /// 160: Work-package hash mapped (submission event, package hash,
    /// segments-root).
    #[codec(tag = 160)]
    WorkPackageHashMapped(EventId, Hash, Hash),
    /// 161: Segments-root mapped (submission event, segments-root, erasure-root).
    #[codec(tag = 161)]
    SegmentsRootMapped(EventId, Hash, Hash),
    /// 162: Sending segment shard request (submission event, assurer, CE 140?,
    /// (import segment id, shard index) pairs).
    #[codec(tag = 162)]
    SendingSegmentShardRequest(EventId, PeerId, bool, Vec<(u16, u16)>),
    /// 163: Receiving segment shard request (sender, CE 140?).
    #[codec(tag = 163)]
    ReceivingSegmentShardRequest(PeerId, bool),
    /// 164: Segment shard request failed (sending/receiving event, reason).
    #[codec(tag = 164)]
    SegmentShardRequestFailed(EventId, Reason),
    /// 165: Segment shard request sent ("sending …" event).
    #[codec(tag = 165)]
    SegmentShardRequestSent(EventId),
    /// 166: Segment shard request received ("receiving …" event, shards asked).
    #[codec(tag = 166)]
    SegmentShardRequestReceived(EventId, u16),
    /// 167: Segment shards transferred (sending/receiving event).
    #[codec(tag = 167)]
    SegmentShardsTransferred(EventId),
    /// 168: Reconstructing segments (submission event, import segment ids,
    /// trivial reconstruction?).
    #[codec(tag = 168)]
    ReconstructingSegments(EventId, Vec<u16>, bool),
    /// 169: Segment reconstruction failed ("reconstructing segments" event,
    /// reason).
    #[codec(tag = 169)]
    SegmentReconstructionFailed(EventId, Reason),
    /// 170: Segments reconstructed ("reconstructing segments" event).
    #[codec(tag = 170)]
    SegmentsReconstructed(EventId),
    /// 171: Segment verification failed (submission event, failed import
    /// indices, reason).
    #[codec(tag = 171)]
    SegmentVerificationFailed(EventId, Vec<u16>, Reason),
    /// 172: Segments verified (submission event, verified import indices).
    #[codec(tag = 172)]
    SegmentsVerified(EventId, Vec<u16>),
    /// 173: Sending segment request (submission event, previous guarantor,
    /// import indices).
    #[codec(tag = 173)]
    SendingSegmentRequest(EventId, PeerId, Vec<u16>),
    /// 174: Receiving segment request (guarantor).
    #[codec(tag = 174)]
    ReceivingSegmentRequest(PeerId),
    /// 175: Segment request failed (sending/receiving event, reason).
    #[codec(tag = 175)]
    SegmentRequestFailed(EventId, Reason),
    /// 176: Segment request sent ("sending segment request" event).
    #[codec(tag = 176)]
    SegmentRequestSent(EventId),
    /// 177: Segment request received ("receiving …" event, segments asked).
    #[codec(tag = 177)]
    SegmentRequestReceived(EventId, u16),
    /// 178: Segments transferred (sending/receiving event).
    #[codec(tag = 178)]
    SegmentsTransferred(EventId),
}

/// One queued event: its ID, timestamp and encoded discriminator and fields.
struct Queued {
    id: EventId,
    at: Timestamp,
    body: Vec<u8>,
    /// First and last timestamps of the events dropped just before this one
    /// because the queue was full.
    dropped_before: Option<(Timestamp, Timestamp)>,
}

/// Sender-side bookkeeping, under one lock so that IDs are given in queue order.
#[derive(Default)]
struct Ids {
    next: EventId,
    /// First and last timestamps of the events dropped since the last queued one.
    dropped: Option<(Timestamp, Timestamp)>,
}

struct Shared {
    ids: Mutex<Ids>,
    tx: Option<mpsc::Sender<Queued>>,
    dropped: AtomicU64,
}

/// A handle on the telemetry connection; cheap to clone. Without a server
/// ([`Telemetry::disabled`]) every call is a no-op.
#[derive(Clone)]
pub struct Telemetry {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Telemetry")
            .field("enabled", &self.shared.tx.is_some())
            .field("dropped", &self.dropped())
            .finish()
    }
}

impl Telemetry {
    /// Start sending to `addr` (`HOST:PORT`, resolved at each connection attempt)
    /// with `info` as the first message of each connection. Returns at once; the
    /// connection is made by a background task. Must be called within a tokio
    /// runtime.
    pub fn connect(addr: impl Into<String>, info: NodeInfo) -> Telemetry {
        let (tx, rx) = mpsc::channel(QUEUE_EVENTS);
        let shared = Arc::new(Shared {
            ids: Mutex::new(Ids::default()),
            tx: Some(tx),
            dropped: AtomicU64::new(0),
        });
        tokio::spawn(writer(addr.into(), info.encode(), rx));
        Telemetry { shared }
    }

    /// A handle that sends nothing (no `--telemetry`).
    pub fn disabled() -> Telemetry {
        Telemetry {
            shared: Arc::new(Shared {
                ids: Mutex::new(Ids::default()),
                tx: None,
                dropped: AtomicU64::new(0),
            }),
        }
    }

    /// Send `event`, timestamped now; returns its event ID for later events to
    /// refer to. Never blocks: if the queue is full the event is dropped and
    /// counted.
    pub fn send(&self, event: Event) -> EventId {
        self.send_at(now(), event)
    }

    /// [`Telemetry::send`] with the event's own timestamp.
    pub fn send_at(&self, at: Timestamp, event: Event) -> EventId {
        let Some(tx) = &self.shared.tx else {
            return 0;
        };
        let body = event.encode();
        // A poisoned lock only means another sender panicked mid-send; the
        // counter inside is still sound.
        let mut ids = self.shared.ids.lock().unwrap_or_else(|e| e.into_inner());
        let id = ids.next;
        ids.next += 1;
        let q = Queued {
            id,
            at,
            body,
            dropped_before: ids.dropped,
        };
        match tx.try_send(q) {
            Ok(()) => ids.dropped = None,
            Err(_) => {
                self.shared.dropped.fetch_add(1, Ordering::Relaxed);
                ids.dropped = Some(ids.dropped.map_or((at, at), |(first, _)| (first, at)));
            }
        }
        id
    }

    /// Whether events go anywhere (a server was given); callers skip building
    /// costly event fields when not.
    pub fn enabled(&self) -> bool {
        self.shared.tx.is_some()
    }

    /// Events dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }
}

/// The JIP-3 "Dropped" event (0): the first dropped event's timestamp as the
/// universal one, then the last one's, then the count.
fn dropped_message(first: Timestamp, last: Timestamp, count: u64) -> Vec<u8> {
    let mut m = Vec::with_capacity(21);
    first.encode_to(&mut m);
    0u8.encode_to(&mut m);
    last.encode_to(&mut m);
    u32::try_from(count).unwrap_or(u32::MAX).encode_to(&mut m);
    m
}

/// Append `msg` with its `u32` little-endian size prefix.
fn frame(msg: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(&u32::try_from(msg.len()).unwrap_or(u32::MAX).to_le_bytes());
    out.extend_from_slice(msg);
}

/// Events not delivered, to be reported by a "Dropped" event: the first and last
/// of their timestamps.
struct Gap {
    first: Option<Timestamp>,
    last: Option<Timestamp>,
}

impl Gap {
    fn note(&mut self, at: Timestamp) {
        self.first.get_or_insert(at);
        self.last = Some(at);
    }

    /// `q` is not delivered: it and the events dropped before it join the gap.
    fn absorb(&mut self, q: &Queued) {
        if let Some((first, last)) = q.dropped_before {
            self.note(first);
            self.note(last);
        }
        self.note(q.at);
    }
}

/// The background writer: connect (with back-off), send the info message, then
/// every queued event, each preceded by a "Dropped" event when IDs were skipped.
async fn writer(addr: String, info: Vec<u8>, mut rx: mpsc::Receiver<Queued>) {
    let mut backoff = MIN_BACKOFF;
    let mut outage_logged = false;
    let mut gap = Gap {
        first: None,
        last: None,
    };
    // An event taken from the queue but not written when the connection failed.
    let mut pending: Option<Queued> = None;
    loop {
        let stream = match TcpStream::connect(&addr).await {
            Ok(s) => s,
            Err(e) => {
                if !outage_logged {
                    tracing::warn!(%addr, "telemetry: cannot connect ({e}); retrying in the background");
                    outage_logged = true;
                }
                // Drain what arrives meanwhile (counting it into the gap) while
                // waiting to retry; stop when every sender is gone.
                let deadline = tokio::time::sleep(backoff);
                tokio::pin!(deadline);
                loop {
                    tokio::select! {
                        () = &mut deadline => break,
                        q = rx.recv() => match q {
                            Some(q) => gap.absorb(&q),
                            None => return,
                        },
                    }
                }
                if let Some(q) = pending.take() {
                    gap.absorb(&q);
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        if outage_logged {
            tracing::info!(%addr, "telemetry: connected");
        }
        backoff = MIN_BACKOFF;
        match session(stream, &info, &mut rx, &mut gap, &mut pending).await {
            SessionEnd::SendersGone => return,
            SessionEnd::Lost(e) => {
                tracing::warn!(%addr, "telemetry: connection lost ({e}); reconnecting in the background");
                outage_logged = true;
            }
        }
    }
}

enum SessionEnd {
    SendersGone,
    Lost(std::io::Error),
}

async fn write_all(stream: &mut TcpStream, buf: &[u8]) -> std::io::Result<()> {
    match tokio::time::timeout(WRITE_TIMEOUT, stream.write_all(buf)).await {
        Ok(r) => r,
        Err(_) => Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "write timed out",
        )),
    }
}

/// One connection: the info message, then events. The server's event count
/// starts at 0 on every connection (JIP-3 § Event IDs); an event whose ID is ahead
/// of the count is preceded by a "Dropped" event covering the difference.
async fn session(
    mut stream: TcpStream,
    info: &[u8],
    rx: &mut mpsc::Receiver<Queued>,
    gap: &mut Gap,
    pending: &mut Option<Queued>,
) -> SessionEnd {
    let mut buf = Vec::with_capacity(4096);
    frame(info, &mut buf);
    if let Err(e) = write_all(&mut stream, &buf).await {
        return SessionEnd::Lost(e);
    }
    let mut expected: EventId = 0;
    loop {
        let q = match pending.take() {
            Some(q) => q,
            None => match rx.recv().await {
                Some(q) => q,
                None => return SessionEnd::SendersGone,
            },
        };
        buf.clear();
        if let Some((first, last)) = q.dropped_before {
            gap.note(first);
            gap.note(last);
        }
        if q.id > expected {
            let first = gap.first.unwrap_or(q.at);
            let last = gap.last.unwrap_or(q.at);
            frame(&dropped_message(first, last, q.id - expected), &mut buf);
        }
        let mut msg = Vec::with_capacity(8 + q.body.len());
        q.at.encode_to(&mut msg);
        msg.extend_from_slice(&q.body);
        frame(&msg, &mut buf);
        match write_all(&mut stream, &buf).await {
            Ok(()) => {
                gap.first = None;
                gap.last = None;
                expected = q.id + 1;
            }
            Err(e) => {
                *pending = Some(q);
                return SessionEnd::Lost(e);
            }
        }
    }
}

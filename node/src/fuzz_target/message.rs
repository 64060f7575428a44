//! The messages of the JAM conformance fuzzer protocol v1 (`fuzz-v1.asn` in the
//! vectors' `fuzz-proto/` folder), with their JAM-codec (GP Appendix C) and JSON forms.
//!
//! A message is `E(tag) ⌢ E(body)`: one tag octet (the ASN.1 `CHOICE` index: 0…5, or
//! 255 for `Error`) and the body in the JAM codec. `Header` and `Block` are the GP's,
//! so decoding needs the chain spec (the recordings use `tiny`). Decoding is strict
//! and total, like every decoder of [`tessera_core::codec`]: unknown tags, invalid
//! UTF-8, over-long ancestries and trailing octets are typed errors with offsets.

use serde::{Deserialize, Serialize};
use tessera_core::bytes::Bytes;
use tessera_core::codec::{Decode, DecodeError, DecodeErrorKind, Encode, Reader};
use tessera_core::hash::Hash;
use tessera_core::merkle::trie::StateKey;
use tessera_core::types::indices::TimeSlot;
use tessera_core::types::{Block, Header};

/// The protocol version this module speaks (`fuzz-version` of `PeerInfo`).
pub const FUZZ_VERSION: u8 = 1;

/// `Features ::= U32`: a bit set, negotiated as the bitwise AND of both peers' sets.
pub type Features = u32;

/// `feature-ancestry` (2^0): `Initialize` carries the ancestry of the first imported
/// block, and the target checks guarantee lookup anchors against the last `L`
/// headers (GP reports.tex); without it that check is skipped.
pub const FEATURE_ANCESTRY: Features = 1;

/// `feature-fork` (2^1): the fuzzer may import sibling blocks (forks of depth at most
/// one: mutants of a block, then the block itself, which the chain extends).
pub const FEATURE_FORKS: Features = 1 << 1;

/// `feature-reserved` (2^31): reserved for future extensions.
pub const FEATURE_RESERVED: Features = 1 << 31;

/// `Ancestry ::= SEQUENCE (SIZE(0..24))`: the most ancestry items an `Initialize`
/// may carry (the README scales the GP's `L = 14400` to 24 for the tiny spec).
pub const MAX_ANCESTRY: usize = 24;

/// `Version ::= SEQUENCE { major U8, minor U8, patch U8 }`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Version {
    /// Major version.
    pub major: u8,
    /// Minor version.
    pub minor: u8,
    /// Patch version.
    pub patch: u8,
}

impl Version {
    /// The version of the Gray Paper Tessera implements, v0.7.2.
    pub const GRAY_PAPER: Version = Version {
        major: 0,
        minor: 7,
        patch: 2,
    };
}

// Written by hand: the three octets are read as one, so a short input names the
// version rather than one of its parts.
impl Encode for Version {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[self.major, self.minor, self.patch]);
    }
}

impl Decode for Version {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let [major, minor, patch] = r.array::<3>("version")?;
        Ok(Version {
            major,
            minor,
            patch,
        })
    }
}

/// A `UTF8String`: its octets length-prefixed (GP C.1.4 `↕x`); they must be UTF-8.
fn encode_text(s: &str, out: &mut Vec<u8>) {
    tessera_core::codec::encode_natural(s.len() as u64, out);
    out.extend_from_slice(s.as_bytes());
}

fn decode_text(r: &mut Reader<'_>, what: &'static str) -> Result<String, DecodeError> {
    let at = r.position();
    let len = r.length(what, None)?;
    let octets = r.take(len, what)?;
    String::from_utf8(octets.to_vec()).map_err(|e| {
        DecodeError::new(
            at,
            DecodeErrorKind::InvalidValue {
                what,
                reason: format!("not UTF-8: {e}"),
            },
        )
    })
}

/// `PeerInfo`: what each peer sends once, fuzzer first, to open a session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerInfo {
    /// `fuzz-version`: the protocol version ([`FUZZ_VERSION`]).
    pub fuzz_version: u8,
    /// `fuzz-features`: the features this peer supports.
    pub fuzz_features: Features,
    /// `jam-version`: the Gray Paper version implemented.
    pub jam_version: Version,
    /// `app-version`: the application's own version.
    pub app_version: Version,
    /// `app-name`: the application's name.
    pub app_name: String,
}

// Written by hand: `app_name` is a `String` whose octets must be UTF-8.
impl Encode for PeerInfo {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.fuzz_version.encode_to(out);
        self.fuzz_features.encode_to(out);
        self.jam_version.encode_to(out);
        self.app_version.encode_to(out);
        encode_text(&self.app_name, out);
    }
}

impl Decode for PeerInfo {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(PeerInfo {
            fuzz_version: Decode::decode(r)?,
            fuzz_features: Decode::decode(r)?,
            jam_version: Decode::decode(r)?,
            app_version: Decode::decode(r)?,
            app_name: decode_text(r, "app name")?,
        })
    }
}

/// `KeyValue`: one state-trie entry, a 31-octet key `C(…)` (GP D.1) and its value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
#[serde(deny_unknown_fields)]
pub struct KeyValue {
    /// The state key.
    pub key: StateKey,
    /// The serialized value.
    pub value: Bytes,
}

/// `AncestryItem`: one ancestor's timeslot and header hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
#[serde(deny_unknown_fields)]
pub struct AncestryItem {
    /// `slot`: the ancestor's `H_T`.
    pub slot: TimeSlot,
    /// `header-hash`: the ancestor's `H(E(H))`.
    pub header_hash: Hash,
}

/// `Initialize`: (re)set the target to `keyvals`, the state of the "genesis-like"
/// `header`, and tell it that block's ancestry.
///
/// The README: the state is to be taken exactly as given, whatever the header says;
/// the header's hash only names that state (a later block's parent).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
#[serde(deny_unknown_fields)]
pub struct Initialize {
    /// `header`: the header whose posterior state `keyvals` is.
    pub header: Header,
    /// `keyvals`: the full state, in the order sent (a `SEQUENCE OF`, not a
    /// dictionary: the codec does not require it sorted). The ASN names it
    /// `keyvals`, the recordings' JSON `state`; the JSON wins for serde.
    #[serde(rename = "state")]
    #[codec(seq, name = "state key-values")]
    pub keyvals: Vec<KeyValue>,
    /// `ancestry`: at most [`MAX_ANCESTRY`] items, including `header`'s own hash;
    /// empty unless [`FEATURE_ANCESTRY`] was negotiated.
    #[codec(seq, max = MAX_ANCESTRY, name = "ancestry")]
    pub ancestry: Vec<AncestryItem>,
}

/// The kinds of [`Message`], for reporting which one arrived where another belonged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// [`Message::PeerInfo`].
    PeerInfo,
    /// [`Message::Initialize`].
    Initialize,
    /// [`Message::StateRoot`].
    StateRoot,
    /// [`Message::ImportBlock`].
    ImportBlock,
    /// [`Message::GetState`].
    GetState,
    /// [`Message::State`].
    State,
    /// [`Message::Error`].
    Error,
}

impl Kind {
    /// Every kind, in tag order.
    pub const ALL: [Kind; 7] = [
        Kind::PeerInfo,
        Kind::Initialize,
        Kind::StateRoot,
        Kind::ImportBlock,
        Kind::GetState,
        Kind::State,
        Kind::Error,
    ];

    /// The tag octet that opens the message (the ASN.1 `CHOICE` index).
    pub const fn tag(self) -> u8 {
        match self {
            Kind::PeerInfo => 0,
            Kind::Initialize => 1,
            Kind::StateRoot => 2,
            Kind::ImportBlock => 3,
            Kind::GetState => 4,
            Kind::State => 5,
            Kind::Error => 255,
        }
    }

    /// The kind a tag octet names, if any.
    pub fn from_tag(tag: u8) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.tag() == tag)
    }

    /// The name the recordings use, in JSON and in file names (`import_block`).
    pub const fn name(self) -> &'static str {
        match self {
            Kind::PeerInfo => "peer_info",
            Kind::Initialize => "initialize",
            Kind::StateRoot => "state_root",
            Kind::ImportBlock => "import_block",
            Kind::GetState => "get_state",
            Kind::State => "state",
            Kind::Error => "error",
        }
    }

    /// The kind named `name` (as [`Kind::name`] spells it).
    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Whether the fuzzer sends this kind (a request), rather than the target.
    /// `PeerInfo` travels both ways; it counts as a request.
    pub const fn is_request(self) -> bool {
        matches!(
            self,
            Kind::PeerInfo | Kind::Initialize | Kind::ImportBlock | Kind::GetState
        )
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// `Message ::= CHOICE {…}`: every message of the protocol. JSON is externally
/// tagged by the snake-case name, as in the recordings (`{"state_root": "0x…"}`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(clippy::large_enum_variant)] // one message in flight at a time
pub enum Message {
    /// `[0] PeerInfo`: the handshake, both ways.
    PeerInfo(PeerInfo),
    /// `[1] Initialize`: set the state; answered by `StateRoot`.
    Initialize(Initialize),
    /// `[2] StateRoot`: the posterior state root `M_σ` (GP D.2) of the head.
    StateRoot(Hash),
    /// `[3] ImportBlock`: import a block; answered by `StateRoot` or `Error`.
    ImportBlock(Block),
    /// `[4] GetState`: the full state after the block with this header hash;
    /// answered by `State`.
    GetState(Hash),
    /// `[5] State`: the full state, as key-values.
    State(Vec<KeyValue>),
    /// `[255] Error`: the block was rejected, for the reason given (debugging only).
    Error(String),
}

impl Message {
    /// The kind of this message.
    pub fn kind(&self) -> Kind {
        match self {
            Message::PeerInfo(_) => Kind::PeerInfo,
            Message::Initialize(_) => Kind::Initialize,
            Message::StateRoot(_) => Kind::StateRoot,
            Message::ImportBlock(_) => Kind::ImportBlock,
            Message::GetState(_) => Kind::GetState,
            Message::State(_) => Kind::State,
            Message::Error(_) => Kind::Error,
        }
    }
}

// Written by hand: the tags are `Kind`'s (255 for `Error`), which the JSON form
// and the session share, and two bodies are text that must be UTF-8.
impl Encode for Message {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.push(self.kind().tag());
        match self {
            Message::PeerInfo(m) => m.encode_to(out),
            Message::Initialize(m) => m.encode_to(out),
            Message::StateRoot(h) | Message::GetState(h) => h.encode_to(out),
            Message::ImportBlock(b) => b.encode_to(out),
            Message::State(kvs) => kvs.encode_to(out),
            Message::Error(s) => encode_text(s, out),
        }
    }
}

impl Decode for Message {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let at = r.position();
        let tag = r.u8("message tag")?;
        let kind = Kind::from_tag(tag).ok_or_else(|| {
            DecodeError::new(
                at,
                DecodeErrorKind::InvalidTag {
                    what: "fuzzer protocol message",
                    tag,
                },
            )
        })?;
        Ok(match kind {
            Kind::PeerInfo => Message::PeerInfo(Decode::decode(r)?),
            Kind::Initialize => Message::Initialize(Decode::decode(r)?),
            Kind::StateRoot => Message::StateRoot(Decode::decode(r)?),
            Kind::ImportBlock => Message::ImportBlock(Decode::decode(r)?),
            Kind::GetState => Message::GetState(Decode::decode(r)?),
            Kind::State => Message::State(r.seq("state key-values", None)?),
            Kind::Error => Message::Error(decode_text(r, "error message")?),
        })
    }
}

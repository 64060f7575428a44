//! JIP-4 chainspec files: the JSON that names a network, its bootnodes, its genesis
//! header and state, and its protocol parameters.
//!
//! The root object's members (JIP-4 § Chain Specification JSON Format):
//! - `id`: the network's identifier (a String).
//! - `bootnodes` (optional): Strings `N(k)@ip:port`, `N(k)` the 53-character
//!   alternative name of the node's Ed25519 key (JAMNP-S "Encryption and
//!   handshake"), `ip` IPv4 or IPv6 (optionally in brackets).
//! - `genesis_header`: hex of the GP-encoded genesis header (GP C.2).
//! - `genesis_state`: an Object from 62-hex-digit state keys (31 octets, GP D.1)
//!   to hex values: the serialized genesis state `T(σ)` (GP D.2).
//! - `protocol_parameters` (optional): hex of the parameters encoded as the
//!   `fetch` host call's kind 0 returns them (GP B.6). Tessera runs the `tiny` and
//!   `full` parameter sets only, so any other value is an error; when absent the
//!   GP's own (`full`) parameters apply.
//!
//! Hex strings may carry a `0x` prefix. Members JIP-4 does not define are ignored.
//! Every error names the member (and, for a bootnode or a state entry, which one).

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::Path;

use serde_json::{Map, Value};
use tessera_core::codec::{decode_exact, Encode};
use tessera_core::spec::ChainSpec;
use tessera_core::types::Header;
use tessera_net::identity::key_of_alt_name;
use tessera_net::PeerId;
use tessera_state::serial::KeyValues;
use tessera_state::ChainState;

/// The largest chainspec file read (a full-spec genesis state with service code
/// is a few MB; this leaves room and bounds the allocation).
pub const MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;

/// A bootnode: its peer id and address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bootnode {
    /// The node's Ed25519 key.
    pub peer: PeerId,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl std::fmt::Display for Bootnode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // `SocketAddr` writes IPv6 in brackets, as JIP-4 allows.
        write!(f, "{}@{}", self.peer.alt_name(), self.addr)
    }
}

impl std::str::FromStr for Bootnode {
    type Err = String;

    /// `N(k)@ip:port`.
    fn from_str(s: &str) -> Result<Self, String> {
        let (name, addr) = s
            .split_once('@')
            .ok_or_else(|| format!("`{s}` is not of the form N(k)@ip:port"))?;
        let key = key_of_alt_name(name).ok_or_else(|| {
            format!("`{name}` is not the 53-character name of an Ed25519 key (\"e\" and 52 base-32 digits)")
        })?;
        let addr: SocketAddr = addr
            .parse()
            .map_err(|_| format!("`{addr}` is not an ip:port address"))?;
        Ok(Bootnode {
            peer: PeerId(key),
            addr,
        })
    }
}

/// A parsed chainspec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainSpecFile {
    /// `id`.
    pub id: String,
    /// `bootnodes`.
    pub bootnodes: Vec<Bootnode>,
    /// The protocol parameters (`protocol_parameters`, or `full` when absent).
    pub spec: ChainSpec,
    /// `genesis_header`, decoded.
    pub genesis_header: Header,
    /// `genesis_state`, decoded (`T⁻¹`, GP D.2); `serialize()` gives the key/value
    /// form back.
    pub genesis_state: ChainState,
}

/// Why a chainspec could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ChainSpecError {
    /// The file could not be read or written.
    #[error("chainspec {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The file is larger than [`MAX_FILE_BYTES`].
    #[error("chainspec {path}: {size} bytes, more than the {MAX_FILE_BYTES} read")]
    TooLarge {
        /// The file.
        path: String,
        /// Its size.
        size: u64,
    },
    /// The text is not JSON, or its root is not an Object.
    #[error("chainspec is not a JSON object: {0}")]
    Json(String),
    /// A member is missing or wrong.
    #[error("chainspec field `{field}`: {reason}")]
    Field {
        /// The member, e.g. `bootnodes[1]` or `genesis_state["0a00…"]`.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
}

fn field(field: impl Into<String>, reason: impl Into<String>) -> ChainSpecError {
    ChainSpecError::Field {
        field: field.into(),
        reason: reason.into(),
    }
}

/// Read and parse the chainspec at `path`.
pub fn load(path: &Path) -> Result<ChainSpecFile, ChainSpecError> {
    let io = |source| ChainSpecError::Io {
        path: path.display().to_string(),
        source,
    };
    let size = std::fs::metadata(path).map_err(io)?.len();
    if size > MAX_FILE_BYTES {
        return Err(ChainSpecError::TooLarge {
            path: path.display().to_string(),
            size,
        });
    }
    let text = std::fs::read_to_string(path).map_err(io)?;
    parse(&text)
}

/// Parse a chainspec's JSON text.
pub fn parse(text: &str) -> Result<ChainSpecFile, ChainSpecError> {
    let root: Value =
        serde_json::from_str(text).map_err(|e| ChainSpecError::Json(e.to_string()))?;
    let Value::Object(root) = root else {
        return Err(ChainSpecError::Json("the root is not an Object".into()));
    };
    let id = match root.get("id") {
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(field("id", "expected a String")),
        None => return Err(field("id", "missing")),
    };
    let bootnodes = match root.get("bootnodes") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(xs)) => xs
            .iter()
            .enumerate()
            .map(|(i, x)| match x {
                Value::String(s) => s.parse().map_err(|e| field(format!("bootnodes[{i}]"), e)),
                _ => Err(field(format!("bootnodes[{i}]"), "expected a String")),
            })
            .collect::<Result<Vec<_>, _>>()?,
        Some(_) => return Err(field("bootnodes", "expected an Array of Strings")),
    };
    let spec = match root.get("protocol_parameters") {
        None | Some(Value::Null) => ChainSpec::full(),
        Some(v) => {
            let bytes = hex_member(v, "protocol_parameters")?;
            [ChainSpec::tiny(), ChainSpec::full()]
                .into_iter()
                .find(|s| tessera_state::host::constants(s) == bytes)
                .ok_or_else(|| {
                    field(
                        "protocol_parameters",
                        "not the `tiny` or `full` parameters of GP v0.7.2, the only ones Tessera runs",
                    )
                })?
        }
    };
    let header_bytes = hex_member(
        root.get("genesis_header")
            .ok_or_else(|| field("genesis_header", "missing"))?,
        "genesis_header",
    )?;
    let genesis_header: Header = decode_exact(&spec, &header_bytes).map_err(|e| {
        field(
            "genesis_header",
            format!(
                "not a GP-encoded header for the `{}` parameters: {e}",
                spec.name
            ),
        )
    })?;
    let kv = match root.get("genesis_state") {
        Some(Value::Object(m)) => state_entries(m)?,
        Some(_) => {
            return Err(field(
                "genesis_state",
                "expected an Object of hex keys to hex values",
            ))
        }
        None => return Err(field("genesis_state", "missing")),
    };
    let genesis_state =
        ChainState::deserialize(&spec, &kv).map_err(|e| field("genesis_state", e.to_string()))?;
    Ok(ChainSpecFile {
        id,
        bootnodes,
        spec,
        genesis_header,
        genesis_state,
    })
}

fn state_entries(m: &Map<String, Value>) -> Result<KeyValues, ChainSpecError> {
    let mut kv = KeyValues::new();
    for (k, v) in m {
        let name = format!("genesis_state[\"{k}\"]");
        let key = hex_str(k).map_err(|e| field(&name, format!("key: {e}")))?;
        let key: [u8; 31] = key.as_slice().try_into().map_err(|_| {
            field(
                &name,
                format!(
                    "a state key is 31 octets (62 hex digits), this is {}",
                    key.len()
                ),
            )
        })?;
        let value = match v {
            Value::String(s) => hex_str(s).map_err(|e| field(&name, format!("value: {e}")))?,
            _ => return Err(field(&name, "expected a hex String value")),
        };
        if kv
            .insert(tessera_core::bytes::ByteArray(key), value)
            .is_some()
        {
            return Err(field(&name, "the same key appears twice"));
        }
    }
    Ok(kv)
}

fn hex_member(v: &Value, name: &str) -> Result<Vec<u8>, ChainSpecError> {
    match v {
        Value::String(s) => hex_str(s).map_err(|e| field(name, e)),
        _ => Err(field(name, "expected a hex String")),
    }
}

fn hex_str(s: &str) -> Result<Vec<u8>, String> {
    hex::decode(s.strip_prefix("0x").unwrap_or(s)).map_err(|e| format!("not hex: {e}"))
}

/// The chainspec's JSON text (every member, `protocol_parameters` included).
pub fn to_json(c: &ChainSpecFile) -> String {
    let mut state = Map::new();
    for (k, v) in c.genesis_state.serialize() {
        state.insert(hex::encode(k.0), Value::String(hex::encode(v)));
    }
    let root = serde_json::json!({
        "id": c.id,
        "bootnodes": c.bootnodes.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "genesis_header": hex::encode(c.genesis_header.encode()),
        "genesis_state": state,
        "protocol_parameters": hex::encode(tessera_state::host::constants(&c.spec)),
    });
    let mut out = serde_json::to_string_pretty(&root).unwrap_or_default();
    let _ = writeln!(out);
    out
}

/// Write `c` to `path` as JIP-4 JSON.
pub fn write(path: &Path, c: &ChainSpecFile) -> Result<(), ChainSpecError> {
    std::fs::write(path, to_json(c)).map_err(|source| ChainSpecError::Io {
        path: path.display().to_string(),
        source,
    })
}

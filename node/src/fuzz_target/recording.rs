//! Recorded sessions, as the vectors' `fuzz-proto/examples/<version>/<name>/` hold
//! them: per step `NNNNNNNN`, the fuzzer's request `NNNNNNNN_fuzzer_<kind>.bin` and
//! the target's reply `NNNNNNNN_target_<kind>.bin` (each one unframed message), with
//! `.json` twins. This reads the `.bin` files, so a replay can feed the requests to a
//! [`Session`](super::session::Session) and compare its replies.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use tessera_core::codec::{decode_exact, DecodeError};
use tessera_core::spec::ChainSpec;

use super::message::{Kind, Message};

/// Which peer sent a recorded message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Side {
    /// The fuzzer (requests).
    Fuzzer,
    /// The target (replies).
    Target,
}

/// What a recorded message's file name says: `NNNNNNNN_<side>_<kind>.<ext>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordedName {
    /// The step number.
    pub step: u32,
    /// Who sent it.
    pub side: Side,
    /// The message kind.
    pub kind: Kind,
}

impl RecordedName {
    /// Parse a file name without its extension (`00000002_fuzzer_import_block`).
    pub fn parse(stem: &str) -> Option<RecordedName> {
        let (step, rest) = stem.split_once('_')?;
        if step.len() != 8 || !step.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let (side, kind) = rest.split_once('_')?;
        let side = match side {
            "fuzzer" => Side::Fuzzer,
            "target" => Side::Target,
            _ => return None,
        };
        Some(RecordedName {
            step: step.parse().ok()?,
            side,
            kind: Kind::from_name(kind)?,
        })
    }
}

/// One step of a recording: the fuzzer's request and the reply the recorded target
/// gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exchange {
    /// The step number.
    pub step: u32,
    /// The fuzzer's message.
    pub request: Message,
    /// The recorded target's reply.
    pub reply: Message,
}

/// Why a recording could not be read.
#[derive(Debug, thiserror::Error)]
pub enum RecordingError {
    /// The folder or a file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The failure.
        #[source]
        source: std::io::Error,
    },
    /// A `.bin` file is not named `NNNNNNNN_<fuzzer|target>_<kind>.bin`.
    #[error("{0}: not a recorded message's file name")]
    BadName(PathBuf),
    /// A file does not decode as a message.
    #[error("{path}: {source}")]
    Decode {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: DecodeError,
    },
    /// A file holds another kind of message than its name says.
    #[error("{path}: holds a {found} message")]
    WrongKind {
        /// The file.
        path: PathBuf,
        /// The kind decoded.
        found: Kind,
    },
    /// A step lacks its request or its reply, or has two of one.
    #[error("step {step}: expected one fuzzer and one target message")]
    Incomplete {
        /// The step.
        step: u32,
    },
}

/// Read the recording in `dir`, decoding under `spec`: its exchanges in step order.
pub fn recorded_session(dir: &Path, spec: &ChainSpec) -> Result<Vec<Exchange>, RecordingError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| RecordingError::Io { path, source }
    };
    let mut steps: BTreeMap<u32, (Vec<Message>, Vec<Message>)> = BTreeMap::new();
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let path = entry.map_err(io(dir))?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("bin") {
            continue;
        }
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .and_then(RecordedName::parse)
            .ok_or_else(|| RecordingError::BadName(path.clone()))?;
        let bytes = std::fs::read(&path).map_err(io(&path))?;
        let message: Message =
            decode_exact(spec, &bytes).map_err(|source| RecordingError::Decode {
                path: path.clone(),
                source,
            })?;
        if message.kind() != name.kind {
            return Err(RecordingError::WrongKind {
                path,
                found: message.kind(),
            });
        }
        let (requests, replies) = steps.entry(name.step).or_default();
        match name.side {
            Side::Fuzzer => requests.push(message),
            Side::Target => replies.push(message),
        }
    }
    steps
        .into_iter()
        .map(|(step, (mut requests, mut replies))| {
            match (
                requests.pop(),
                replies.pop(),
                requests.is_empty(),
                replies.is_empty(),
            ) {
                (Some(request), Some(reply), true, true) => Ok(Exchange {
                    step,
                    request,
                    reply,
                }),
                _ => Err(RecordingError::Incomplete { step }),
            }
        })
        .collect()
}

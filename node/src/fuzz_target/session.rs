//! A fuzzer-protocol session from the target's side: framing, the handshake, and
//! the request/reply loop over any byte stream, generic over a [`Target`].
//!
//! Framing (fuzz-proto README, "Messages Codec"): each message is `E_4(len) ⌢ m`,
//! its JAM encoding prefixed by its length as a 32-bit little-endian integer. The
//! fuzzer speaks first; the target answers each request before the next is sent.
//! A malformed or unexpected message ends the session (README, "General Rules"):
//! [`serve`] returns a typed [`SessionError`] and never panics on input.

use std::io::{self, Read, Write};
use std::ops::ControlFlow;
use std::os::unix::fs::FileTypeExt as _;
use std::os::unix::net::UnixListener;
use std::path::Path;

use tessera_core::codec::{decode_exact, DecodeError, Encode};
use tessera_core::hash::Hash;
use tessera_core::spec::ChainSpec;
use tessera_core::types::Block;

use super::message::{Features, Initialize, KeyValue, Kind, Message, PeerInfo, FUZZ_VERSION};

/// The largest frame accepted, 256 MiB: far above any tiny- or full-spec state or
/// block, and checked before anything is allocated for the frame.
pub const MAX_FRAME_LEN: u32 = 256 << 20;

/// Why a frame could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The stream ended inside the 4-octet length prefix.
    #[error("stream ended after {got} of the 4 length-prefix octets")]
    TruncatedPrefix {
        /// Prefix octets received.
        got: usize,
    },
    /// The length prefix exceeds [`MAX_FRAME_LEN`].
    #[error("frame length {len} exceeds the limit of {MAX_FRAME_LEN} octets")]
    TooLarge {
        /// The declared length.
        len: u32,
    },
    /// The stream ended inside the frame's body.
    #[error("stream ended after {got} of the frame's {len} octets")]
    TruncatedBody {
        /// The declared length.
        len: u32,
        /// Octets received.
        got: usize,
    },
    /// The stream failed.
    #[error("reading a frame: {0}")]
    Io(#[from] io::Error),
}

/// Read one frame's body: `Ok(None)` when the stream ends cleanly before a frame.
pub fn read_frame(r: &mut impl Read) -> Result<Option<Vec<u8>>, FrameError> {
    let mut prefix = [0u8; 4];
    let mut got = 0;
    while got < prefix.len() {
        let n = match r.read(prefix.get_mut(got..).unwrap_or_default()) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        };
        if n == 0 {
            return match got {
                0 => Ok(None),
                got => Err(FrameError::TruncatedPrefix { got }),
            };
        }
        got += n;
    }
    let len = u32::from_le_bytes(prefix);
    if len > MAX_FRAME_LEN {
        return Err(FrameError::TooLarge { len });
    }
    // Grow with what actually arrives rather than trusting the prefix up front.
    let mut body = Vec::new();
    r.take(u64::from(len)).read_to_end(&mut body)?;
    if body.len() != len as usize {
        return Err(FrameError::TruncatedBody {
            len,
            got: body.len(),
        });
    }
    Ok(Some(body))
}

/// Write one frame, `E_4(len) ⌢ payload`, and flush.
pub fn write_frame(w: &mut impl Write, payload: &[u8]) -> io::Result<()> {
    let len = u32::try_from(payload.len())
        .ok()
        .filter(|&len| len <= MAX_FRAME_LEN)
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "message of {} octets exceeds the frame limit {MAX_FRAME_LEN}",
                    payload.len()
                ),
            )
        })?;
    let mut frame = Vec::with_capacity(payload.len() + 4);
    frame.extend_from_slice(&len.to_le_bytes());
    frame.extend_from_slice(payload);
    w.write_all(&frame)?;
    w.flush()
}

/// Why a session ended other than by the fuzzer closing the connection.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// Message number `index` (0-based, in arrival order) was not a whole frame.
    #[error("message {index}: {source}")]
    Frame {
        /// The message's position in the session.
        index: usize,
        /// What was wrong with the frame.
        #[source]
        source: FrameError,
    },
    /// Message number `index` was a whole frame but not a valid message.
    #[error("message {index}: malformed: {source}")]
    Malformed {
        /// The message's position in the session.
        index: usize,
        /// Where and why decoding failed.
        #[source]
        source: DecodeError,
    },
    /// A message the protocol does not allow at this point (a reply kind, a second
    /// handshake, a request before the handshake).
    #[error("unexpected {got} message: expected {expected}")]
    Unexpected {
        /// The kind that arrived.
        got: Kind,
        /// What the protocol allowed here.
        expected: &'static str,
    },
    /// The fuzzer speaks a protocol version other than [`FUZZ_VERSION`].
    #[error("fuzzer protocol version {version} is not supported (only {FUZZ_VERSION})")]
    UnsupportedVersion {
        /// The fuzzer's version.
        version: u8,
    },
    /// The target failed a request in a way the protocol has no reply for, so the
    /// session closes without an `Error` message (README, "Message Types").
    #[error("target failed {request}: {message}")]
    Target {
        /// The request that failed.
        request: Kind,
        /// Why.
        message: String,
    },
    /// A reply could not be written.
    #[error("writing a reply: {0}")]
    Write(#[source] io::Error),
}

/// Why [`Target::import_block`] did not import a block.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    /// The block is invalid under the protocol (GP): answered with an `Error`
    /// message carrying this text; the session goes on with the state unchanged.
    #[error("block rejected: {0}")]
    Rejected(String),
    /// An out-of-protocol failure: the session closes without a reply.
    #[error("internal failure: {0}")]
    Internal(String),
}

/// The node behind a session: what answers the fuzzer's requests.
pub trait Target {
    /// This target's `PeerInfo`, sent once the fuzzer's has arrived (`fuzzer`).
    /// Its `fuzz_features` are what the target supports; the session's features
    /// are the bitwise AND of both.
    fn peer_info(&mut self, fuzzer: &PeerInfo) -> PeerInfo;

    /// Set (or reset) the state to `init.keyvals`, exactly as given, as the
    /// posterior state of `init.header`, with `init.ancestry` as known ancestors;
    /// return the state root `M_σ` (GP D.2). `features` are the session's
    /// negotiated features (ancestry checks only with
    /// [`FEATURE_ANCESTRY`](super::message::FEATURE_ANCESTRY)). An `Err` ends the
    /// session: the protocol has no error reply to `Initialize`.
    fn initialize(&mut self, init: &Initialize, features: Features) -> Result<Hash, String>;

    /// Import `block` on top of the head (or, with forks, beside it) and return the
    /// posterior state root.
    fn import_block(&mut self, block: &Block) -> Result<Hash, ImportError>;

    /// The full state after the block whose header hash is `header_hash`. An `Err`
    /// ends the session: the protocol has no error reply to `GetState`.
    fn get_state(&mut self, header_hash: &Hash) -> Result<Vec<KeyValue>, String>;
}

/// How a session that the fuzzer closed went.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SessionEnd {
    /// The fuzzer's `PeerInfo`; `None` if it closed before the handshake.
    pub fuzzer: Option<PeerInfo>,
    /// The negotiated features.
    pub features: Features,
    /// Requests answered, the handshake included.
    pub requests: usize,
    /// Blocks imported (answered by `StateRoot`).
    pub imported: usize,
    /// Blocks rejected (answered by `Error`).
    pub rejected: usize,
}

/// The protocol's state machine for one session, without any I/O: feed it each
/// request in turn and send back what it returns. [`serve`] is this plus framing;
/// tests can drive it directly from a recording.
pub struct Session<'t, T: Target> {
    target: &'t mut T,
    end: SessionEnd,
}

impl<'t, T: Target> Session<'t, T> {
    /// A session that has not yet seen the handshake.
    pub fn new(target: &'t mut T) -> Self {
        Session {
            target,
            end: SessionEnd::default(),
        }
    }

    /// What the session has done so far.
    pub fn progress(&self) -> &SessionEnd {
        &self.end
    }

    /// The reply to `request`, or why the session must end.
    pub fn handle(&mut self, request: Message) -> Result<Message, SessionError> {
        let reply = match (&self.end.fuzzer, request) {
            (None, Message::PeerInfo(fuzzer)) => {
                if fuzzer.fuzz_version != FUZZ_VERSION {
                    return Err(SessionError::UnsupportedVersion {
                        version: fuzzer.fuzz_version,
                    });
                }
                let ours = self.target.peer_info(&fuzzer);
                self.end.features = fuzzer.fuzz_features & ours.fuzz_features;
                self.end.fuzzer = Some(fuzzer);
                Message::PeerInfo(ours)
            }
            (None, other) => {
                return Err(SessionError::Unexpected {
                    got: other.kind(),
                    expected: "peer_info (the handshake comes first)",
                })
            }
            (Some(_), Message::Initialize(init)) => self
                .target
                .initialize(&init, self.end.features)
                .map(Message::StateRoot)
                .map_err(|message| SessionError::Target {
                    request: Kind::Initialize,
                    message,
                })?,
            (Some(_), Message::ImportBlock(block)) => match self.target.import_block(&block) {
                Ok(root) => {
                    self.end.imported += 1;
                    Message::StateRoot(root)
                }
                Err(ImportError::Rejected(why)) => {
                    self.end.rejected += 1;
                    Message::Error(why)
                }
                Err(ImportError::Internal(message)) => {
                    return Err(SessionError::Target {
                        request: Kind::ImportBlock,
                        message,
                    })
                }
            },
            (Some(_), Message::GetState(hash)) => self
                .target
                .get_state(&hash)
                .map(Message::State)
                .map_err(|message| SessionError::Target {
                    request: Kind::GetState,
                    message,
                })?,
            (Some(_), other) => {
                return Err(SessionError::Unexpected {
                    got: other.kind(),
                    expected: "initialize, import_block or get_state",
                })
            }
        };
        self.end.requests += 1;
        Ok(reply)
    }

    /// The summary of the session, once it is over.
    pub fn finish(self) -> SessionEnd {
        self.end
    }
}

/// Read one message: `Ok(None)` at a clean end of stream. `index` is the message's
/// position in the session, for errors.
pub fn read_message(
    r: &mut impl Read,
    spec: &ChainSpec,
    index: usize,
) -> Result<Option<Message>, SessionError> {
    let Some(frame) = read_frame(r).map_err(|source| SessionError::Frame { index, source })? else {
        return Ok(None);
    };
    decode_exact(spec, &frame)
        .map(Some)
        .map_err(|source| SessionError::Malformed { index, source })
}

/// Write one message as a frame.
pub fn write_message(w: &mut impl Write, message: &Message) -> io::Result<()> {
    write_frame(w, &message.encode())
}

/// Serve one session on `stream`: the handshake, then request/reply until the
/// fuzzer closes the connection (`Ok`) or something ends it early (`Err`).
/// Messages are decoded under `spec`, which fixes the shape of headers and blocks.
pub fn serve<S: Read + Write>(
    mut stream: S,
    spec: &ChainSpec,
    target: &mut impl Target,
) -> Result<SessionEnd, SessionError> {
    let mut session = Session::new(target);
    let mut index = 0;
    while let Some(request) = read_message(&mut stream, spec, index)? {
        index += 1;
        let reply = session.handle(request)?;
        write_message(&mut stream, &reply).map_err(SessionError::Write)?;
    }
    Ok(session.finish())
}

/// Listen on a Unix socket at `path` and serve one connection at a time, handing
/// each session's outcome to `on_session`, until it says [`ControlFlow::Break`].
///
/// A stale socket file at `path` is removed first; any other kind of file there is
/// left alone and reported as an error. The socket file is removed on return.
pub fn serve_unix(
    path: &Path,
    spec: &ChainSpec,
    target: &mut impl Target,
    mut on_session: impl FnMut(Result<SessionEnd, SessionError>) -> ControlFlow<()>,
) -> io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => std::fs::remove_file(path)?,
        Ok(_) => {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} exists and is not a socket", path.display()),
            ))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let listener = UnixListener::bind(path)?;
    let result = (|| {
        for stream in listener.incoming() {
            let outcome = serve(stream?, spec, target);
            if on_session(outcome).is_break() {
                break;
            }
        }
        Ok(())
    })();
    let _ = std::fs::remove_file(path);
    result
}

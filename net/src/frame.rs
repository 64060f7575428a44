//! Stream framing (JAMNP-S "Protocols and streams"): the opener's one byte of
//! stream kind, then messages, each a little-endian `u32` size and that many
//! octets of content. A size above the declared maximum is refused before any
//! buffer is allocated, and the buffer grows only as content arrives.

use quinn::{RecvStream, SendStream};

/// The largest buffer allocated up front for one message; beyond it the buffer
/// grows as the content arrives, so a peer cannot make us reserve memory it does
/// not send.
const INITIAL_BUFFER: usize = 64 * 1024;

/// Why a message could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The size prefix exceeds the maximum of this message.
    #[error("message size {size} exceeds its maximum {max}")]
    TooLarge {
        /// The declared size.
        size: u32,
        /// The maximum for this message.
        max: u32,
    },
    /// The stream ended inside a size prefix or a message.
    #[error("stream finished inside a message")]
    Truncated,
    /// The peer reset the stream (or stopped it while we wrote).
    #[error("stream reset by the peer (code {0})")]
    Reset(u64),
    /// The connection failed or the stream was otherwise unreadable.
    #[error("stream read failed: {0}")]
    Read(String),
    /// Writing failed.
    #[error("stream write failed: {0}")]
    Write(String),
}

impl From<quinn::ReadError> for FrameError {
    fn from(e: quinn::ReadError) -> Self {
        match e {
            quinn::ReadError::Reset(code) => FrameError::Reset(code.into_inner()),
            other => FrameError::Read(other.to_string()),
        }
    }
}

impl From<quinn::WriteError> for FrameError {
    fn from(e: quinn::WriteError) -> Self {
        match e {
            quinn::WriteError::Stopped(code) => FrameError::Reset(code.into_inner()),
            other => FrameError::Write(other.to_string()),
        }
    }
}

/// Read the opener's stream-kind byte.
pub async fn read_kind(recv: &mut RecvStream) -> Result<u8, FrameError> {
    let mut b = [0u8; 1];
    match recv.read(&mut b).await? {
        Some(1) => Ok(b[0]),
        _ => Err(FrameError::Truncated),
    }
}

/// Read one message of at most `max` octets; `Ok(None)` if the stream finished
/// cleanly before its size prefix.
pub async fn read_message(recv: &mut RecvStream, max: u32) -> Result<Option<Vec<u8>>, FrameError> {
    let mut prefix = [0u8; 4];
    let mut filled = 0;
    while filled < 4 {
        match recv.read(&mut prefix[filled..]).await? {
            Some(n) => filled += n,
            None if filled == 0 => return Ok(None),
            None => return Err(FrameError::Truncated),
        }
    }
    let size = u32::from_le_bytes(prefix);
    if size > max {
        return Err(FrameError::TooLarge { size, max });
    }
    let size = size as usize;
    let mut buf = Vec::with_capacity(size.min(INITIAL_BUFFER));
    while buf.len() < size {
        match recv.read_chunk(size - buf.len(), true).await? {
            Some(chunk) => buf.extend_from_slice(&chunk.bytes),
            None => return Err(FrameError::Truncated),
        }
    }
    Ok(Some(buf))
}

/// Write one message: its size and content.
pub async fn write_message(send: &mut SendStream, content: &[u8]) -> Result<(), FrameError> {
    let size = u32::try_from(content.len()).map_err(|_| FrameError::TooLarge {
        size: u32::MAX,
        max: u32::MAX,
    })?;
    send.write_all(&size.to_le_bytes()).await?;
    send.write_all(content).await?;
    Ok(())
}

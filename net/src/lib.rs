//! `tessera-net`: JAMNP-S, the JAM Simple Networking Protocol
//! (`zdave-parity/jam-np`, `simple.md`), over QUIC (quinn) and TLS 1.3 (rustls).
//!
//! It holds the node's network identity (Ed25519 certificates named `N(k)`), the
//! certificate verifiers that enforce JAMNP-S on both sides of a handshake, the
//! stream framing, every stream kind as a typed message on the GP codec, and a
//! [`Network`] handle: handlers registered per CE kind, typed requests with
//! timeouts, UP 0 block announcements, and the connection policy (preferred
//! initiator, fallback dial, reconnects, grid neighbours). It knows messages and
//! peers, not what they mean: availability, auditing and block import register
//! handlers and make requests through it. It starts no runtime of its own; the
//! caller's tokio runtime runs its tasks.
//!
//! Not here yet: waiting for finality before applying an epoch's connectivity
//! change (JAMNP-S "Epoch transitions": the caller decides when to call
//! [`Network::set_validators`]) and any meaning of the messages (ticket proxies, forwarding schedules, shard
//! and justification checks belong to the crates that register handlers).

pub mod connectivity;
pub mod frame;
pub mod identity;
pub mod messages;
pub mod metrics;
pub mod network;
pub mod tls;

pub use identity::{alt_name, Identity, PeerId};
pub use messages::{Protocol, StreamKind, Wire};
pub use metrics::Metrics;
pub use network::{Network, NetworkConfig, NetworkError, Refusal, RequestError};

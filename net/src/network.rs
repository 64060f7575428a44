//! The [`Network`] handle: one QUIC endpoint that dials and accepts JAMNP-S
//! connections, serves registered CE handlers, makes typed requests, runs UP 0
//! block announcements, and keeps the required validator connections up.
//!
//! Every stream a peer opens is bounded: its kind byte and its whole request must
//! arrive within [`NetworkConfig::stream_timeout`], every message is checked
//! against its declared maximum before anything is allocated, at most
//! [`NetworkConfig::max_inflight_per_kind`] streams of one kind run at once per
//! connection (beyond that the stream is refused), and a stream that misbehaves is
//! reset with one log line naming the peer and the reason. A bad UP 0 handshake
//! closes the connection.

use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use quinn::{Connection, RecvStream, SendStream, VarInt};
use tessera_core::codec::Encode;
use tessera_core::{decode_exact, ChainSpec, Hash};
use tokio::sync::{mpsc, oneshot, Semaphore};
use tokio::task::JoinHandle;
use tracing::{debug, info, warn, Instrument};

use crate::connectivity::{we_initiate, ValidatorSets};
use crate::frame::{read_kind, read_message, write_message, FrameError};
use crate::identity::{verify_certificate, Identity, PeerId};
use crate::messages::{
    is_ce, kind_name, Announcement, Handshake, Protocol, StreamKind, Wire, WireError,
    UP_BLOCK_ANNOUNCEMENT,
};
use crate::metrics::Metrics;
use crate::tls::{self, TlsError};

/// Stream reset codes Tessera sends (JAMNP-S leaves them open; any reset by the
/// acceptor means the request was rejected or failed).
pub mod codes {
    /// The request was refused: no handler, the handler refused, or too many
    /// streams of this kind are in flight.
    pub const REFUSED: u32 = 1;
    /// A message did not decode, the stream ended inside one, or messages were
    /// missing or extra.
    pub const PROTOCOL: u32 = 2;
    /// A size prefix exceeded the message's maximum.
    pub const TOO_LARGE: u32 = 3;
    /// The peer did not finish its side in time.
    pub const TIMEOUT: u32 = 4;
    /// Unknown stream kind, or a UP kind opened by the connection's acceptor.
    pub const UNKNOWN_KIND: u32 = 5;
    /// The handler failed.
    pub const INTERNAL: u32 = 6;
    /// A UP stream replaced by one with a greater id.
    pub const SUPERSEDED: u32 = 7;
    /// Connection close: a duplicate connection to the same peer.
    pub const CLOSE_DUPLICATE: u32 = 1;
    /// Connection close: a bad UP 0 handshake or a protocol violation.
    pub const CLOSE_PROTOCOL: u32 = 2;
    /// Connection close: the ALPN is not ours.
    pub const CLOSE_ALPN: u32 = 3;
    /// Connection close: the endpoint shuts down.
    pub const CLOSE_SHUTDOWN: u32 = 0;
    /// Connection close: every builder slot is taken.
    pub const CLOSE_BUILDER_SLOTS: u32 = 4;
}

/// Messages above this many octets are decoded on the blocking pool, off the
/// runtime's I/O threads.
const BLOCKING_DECODE_THRESHOLD: usize = 64 * 1024;
/// Announcements queued per UP 0 stream; when full, new ones are dropped (JAMNP-S
/// lets a node skip announcing a block whose descendant it announces).
const ANNOUNCEMENT_QUEUE: usize = 64;

/// Endpoint settings.
#[derive(Clone, Debug)]
pub struct NetworkConfig {
    /// The UDP address to listen on.
    pub listen: SocketAddr,
    /// The genesis header hash, whose first four octets name the chain in ALPN.
    pub genesis_hash: Hash,
    /// Whether we dial as a work-package builder (`jamnp-s/0/H/builder`).
    pub builder: bool,
    /// Time for a whole request we make, from opening the stream to the
    /// acceptor's FIN; also the time a handler may take to answer.
    pub request_timeout: Duration,
    /// Time a peer has to send a stream's kind and its whole request with FIN.
    pub stream_timeout: Duration,
    /// Time for a QUIC/TLS handshake.
    pub handshake_timeout: Duration,
    /// QUIC idle timeout; keep-alives go out at a third of it.
    pub idle_timeout: Duration,
    /// How long the peer that is not the preferred initiator waits before dialling
    /// itself (JAMNP-S suggests 5 s).
    pub fallback_dial_delay: Duration,
    /// First delay before re-dialling a required peer after a failure; doubled
    /// per failure up to [`NetworkConfig::reconnect_backoff_max`].
    pub reconnect_backoff_min: Duration,
    /// Longest re-dial delay.
    pub reconnect_backoff_max: Duration,
    /// Concurrent bidirectional streams a peer may open on one connection.
    pub max_streams_per_connection: u32,
    /// Concurrent inbound streams of one CE kind per connection.
    pub max_inflight_per_kind: usize,
    /// Connections accepted with the builder ALPN (`jamnp-s/0/H/builder`) kept at
    /// once; one more is closed at the handshake. JAMNP-S (`simple.md`, on the
    /// builder ALPN: "~20 slots kept for builders") sets the default; validators'
    /// connections (the plain ALPN) are never counted or refused by it.
    pub max_builder_connections: usize,
    /// The UDP socket's receive and send buffer sizes asked of the kernel (which
    /// caps them at `net.core.rmem_max` / `wmem_max`). The kernel's usual default
    /// (~208 KiB) overflows when hundreds of peers send shards at once — the
    /// datagrams dropped are then resent after QUIC's loss timers, and the transfer
    /// waits instead of running (`tessera bench da --workload validator` measured
    /// one datagram in ten dropped at the default).
    pub socket_buffer_bytes: usize,
}

impl NetworkConfig {
    /// Defaults for `listen` and the chain of `genesis_hash`.
    pub fn new(listen: SocketAddr, genesis_hash: Hash) -> Self {
        NetworkConfig {
            listen,
            genesis_hash,
            builder: false,
            request_timeout: Duration::from_secs(10),
            stream_timeout: Duration::from_secs(10),
            handshake_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(30),
            fallback_dial_delay: Duration::from_secs(5),
            reconnect_backoff_min: Duration::from_millis(500),
            reconnect_backoff_max: Duration::from_secs(30),
            max_streams_per_connection: 256,
            max_inflight_per_kind: 32,
            max_builder_connections: 20,
            socket_buffer_bytes: 4 << 20,
        }
    }
}

/// The endpoint's UDP socket on `addr`, with buffers of `buffer` octets asked for; a
/// kernel that grants less is logged once with the sysctl to raise.
fn bind_udp(addr: SocketAddr, buffer: usize) -> std::io::Result<std::net::UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    if addr.is_ipv6() {
        // As `std::net::UdpSocket::bind` leaves it: the platform's default.
        let _ = socket.set_only_v6(false);
    }
    for (what, set, get) in [
        (
            "receive",
            Socket::set_recv_buffer_size as fn(&Socket, usize) -> std::io::Result<()>,
            Socket::recv_buffer_size as fn(&Socket) -> std::io::Result<usize>,
        ),
        (
            "send",
            Socket::set_send_buffer_size,
            Socket::send_buffer_size,
        ),
    ] {
        if let Err(e) = set(&socket, buffer) {
            tracing::warn!(error = %e, "cannot set the UDP {what} buffer to {buffer} octets");
        }
        // Linux reports twice the size it grants (bookkeeping included). Said once
        // per process: a bench or a farm opens many endpoints.
        static WARNED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
        match get(&socket) {
            Ok(granted)
                if granted < buffer && !WARNED.swap(true, std::sync::atomic::Ordering::Relaxed) =>
            {
                tracing::warn!(
                    granted,
                    asked = buffer,
                    "the kernel grants a smaller UDP {what} buffer than asked; raise \
                 net.core.{}mem_max to avoid dropped datagrams under load",
                    if what == "receive" { "r" } else { "w" }
                )
            }
            _ => {}
        }
    }
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    Ok(socket.into())
}

/// Why the endpoint could not start or a dial failed.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    /// TLS or QUIC configuration.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// Binding the socket.
    #[error("binding {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The dial could not start.
    #[error("dialling {peer} at {addr}: {reason}")]
    Dial {
        /// The peer.
        peer: PeerId,
        /// Its address.
        addr: SocketAddr,
        /// Why.
        reason: String,
    },
    /// The handshake failed or was refused (certificates, ALPN, timeout).
    #[error("handshake with {addr} failed: {reason}")]
    Handshake {
        /// The remote address.
        addr: SocketAddr,
        /// Why.
        reason: String,
    },
}

/// Why a request failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// No response (with FIN) within the request timeout.
    #[error("request timed out")]
    Timeout,
    /// The acceptor reset the stream with `code` (see [`codes`]).
    #[error("stream reset by the peer (code {code})")]
    Reset {
        /// The reset code.
        code: u64,
    },
    /// The acceptor refused the request (no handler, refused, busy).
    #[error("request refused by the peer")]
    Refused,
    /// The response did not decode.
    #[error(
        "undecodable response on kind {kind} at message {message}, byte offset {offset}: {error}"
    )]
    Decode {
        /// The stream kind.
        kind: StreamKind,
        /// Index of the message on the response side.
        message: usize,
        /// Byte offset within that message.
        offset: usize,
        /// What was wrong.
        error: WireError,
    },
    /// A response message exceeded its maximum (or there were too many).
    #[error("response on kind {kind}: size {size} above its maximum {max}")]
    TooLarge {
        /// The stream kind.
        kind: StreamKind,
        /// The declared size (or message count).
        size: u64,
        /// The maximum.
        max: u64,
    },
    /// We have no connection to the peer.
    #[error("no connection to peer {0}")]
    PeerUnknown(PeerId),
    /// The connection failed under the request.
    #[error("connection failed: {0}")]
    Connection(String),
}

/// A handler's refusal: the stream is reset with [`codes::REFUSED`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("refused: {0}")]
pub struct Refusal(pub String);

/// What UP 0 reports to the node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BlockAnnouncementEvent {
    /// The peer's handshake: its finalized block and leaves.
    Handshake(Handshake),
    /// A new block.
    Announcement(Box<Announcement>),
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;
type Messages = Vec<Vec<u8>>;

/// Why an inbound request was not answered.
enum ServeFailure {
    Decode(WireError),
    Refused(String),
}

type ErasedCall =
    Box<dyn Fn(PeerId, Messages) -> BoxFuture<Result<Messages, ServeFailure>> + Send + Sync>;

struct ErasedHandler {
    name: &'static str,
    max_messages: usize,
    max_size: fn(&ChainSpec, usize) -> u32,
    call: ErasedCall,
}

type AnnouncementHandler = Arc<dyn Fn(PeerId, BlockAnnouncementEvent) + Send + Sync>;

/// One live connection.
/// How long after a connection opened by the preferred initiator one opened by
/// the other side counts as a redial (the peer lost the first) rather than a
/// simultaneous dial ([`Inner::register`]).
const REDIAL_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

struct ConnState {
    conn: Connection,
    peer: PeerId,
    we_initiated: bool,
    /// When the handshake completed.
    opened: std::time::Instant,
    builder: bool,
    kind_limits: Mutex<HashMap<StreamKind, Arc<Semaphore>>>,
    up0: Mutex<Option<Up0Slot>>,
}

struct Up0Slot {
    index: u64,
    tx: mpsc::Sender<Announcement>,
    cancel: oneshot::Sender<()>,
}

struct Inner {
    identity: Identity,
    me: PeerId,
    spec: Arc<ChainSpec>,
    config: NetworkConfig,
    endpoint: quinn::Endpoint,
    client_config: quinn::ClientConfig,
    builder_client_config: quinn::ClientConfig,
    alpn: Vec<u8>,
    alpn_builder: Vec<u8>,
    peers: Mutex<HashMap<PeerId, Arc<ConnState>>>,
    handlers: RwLock<HashMap<StreamKind, Arc<ErasedHandler>>>,
    announcements: RwLock<Option<AnnouncementHandler>>,
    chain_head: Mutex<Handshake>,
    validators: Mutex<ValidatorSets>,
    maintainers: Mutex<HashMap<PeerId, JoinHandle<()>>>,
    metrics: Arc<Metrics>,
}

/// A JAMNP-S endpoint. Cheap to clone; every clone drives the same endpoint.
#[derive(Clone)]
pub struct Network {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Network({})", self.inner.me)
    }
}

fn transport(config: &NetworkConfig) -> Arc<quinn::TransportConfig> {
    let mut t = quinn::TransportConfig::default();
    t.max_concurrent_bidi_streams(VarInt::from_u32(config.max_streams_per_connection));
    t.max_concurrent_uni_streams(VarInt::from_u32(0));
    t.max_idle_timeout(quinn::IdleTimeout::try_from(config.idle_timeout).ok());
    t.keep_alive_interval(Some(config.idle_timeout / 3));
    Arc::new(t)
}

fn code(c: u32) -> VarInt {
    VarInt::from_u32(c)
}

impl Network {
    /// Open the endpoint on `config.listen` and start accepting. Must be called
    /// within a tokio runtime, whose tasks then run the endpoint.
    pub fn start(
        identity: Identity,
        spec: ChainSpec,
        config: NetworkConfig,
    ) -> Result<Network, NetworkError> {
        let transport = transport(&config);
        let mut server =
            tls::quic_server_config(tls::server_config(&identity, &config.genesis_hash)?)?;
        server.transport_config(transport.clone());
        let alpn = tls::alpn(&config.genesis_hash, false);
        let alpn_builder = tls::alpn(&config.genesis_hash, true);
        let mut client_config =
            tls::quic_client_config(tls::client_config(&identity, alpn.clone())?)?;
        client_config.transport_config(transport.clone());
        let mut builder_client_config =
            tls::quic_client_config(tls::client_config(&identity, alpn_builder.clone())?)?;
        builder_client_config.transport_config(transport);
        let bind_error = |source| NetworkError::Bind {
            addr: config.listen,
            source,
        };
        let socket = bind_udp(config.listen, config.socket_buffer_bytes).map_err(bind_error)?;
        let runtime = quinn::default_runtime().ok_or_else(|| {
            bind_error(std::io::Error::other(
                "no async runtime found (start within tokio)",
            ))
        })?;
        let endpoint = quinn::Endpoint::new(
            quinn::EndpointConfig::default(),
            Some(server),
            socket,
            runtime,
        )
        .map_err(bind_error)?;
        let me = identity.peer_id();
        let inner = Arc::new(Inner {
            identity,
            me,
            spec: Arc::new(spec),
            config,
            endpoint,
            client_config,
            builder_client_config,
            alpn,
            alpn_builder,
            peers: Mutex::new(HashMap::new()),
            handlers: RwLock::new(HashMap::new()),
            announcements: RwLock::new(None),
            chain_head: Mutex::new(Handshake::default()),
            validators: Mutex::new(ValidatorSets::default()),
            maintainers: Mutex::new(HashMap::new()),
            metrics: Arc::new(Metrics::default()),
        });
        let accept = inner.clone();
        tokio::spawn(async move { accept.accept_loop().await });
        info!(peer = %me, addr = ?inner.endpoint.local_addr().ok(), "JAMNP-S endpoint listening");
        Ok(Network { inner })
    }

    /// Our peer id.
    pub fn peer_id(&self) -> PeerId {
        self.inner.me
    }

    /// Our identity.
    pub fn identity(&self) -> &Identity {
        &self.inner.identity
    }

    /// The bound socket address.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.inner.endpoint.local_addr()
    }

    /// The counters.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.inner.metrics
    }

    /// Peers with a live connection.
    pub fn connected_peers(&self) -> Vec<PeerId> {
        let peers = self.inner.peers.lock().unwrap_or_else(|e| e.into_inner());
        peers
            .values()
            .filter(|s| s.conn.close_reason().is_none())
            .map(|s| s.peer)
            .collect()
    }

    /// Whether a live connection to `peer` exists.
    pub fn is_connected(&self, peer: &PeerId) -> bool {
        self.inner.live(peer).is_some()
    }

    /// Whether we initiated our live connection to `peer` (`None` if none).
    pub fn we_initiated(&self, peer: &PeerId) -> Option<bool> {
        self.inner.live(peer).map(|s| s.we_initiated)
    }

    /// Whether `peer` connected to us with the builder ALPN (`None` if not
    /// connected).
    pub fn is_builder(&self, peer: &PeerId) -> Option<bool> {
        self.inner.live(peer).map(|s| s.builder)
    }

    /// Dial `peer` at `addr` unless already connected. The peer must present a
    /// certificate for exactly this key.
    pub async fn connect(&self, peer: PeerId, addr: SocketAddr) -> Result<(), NetworkError> {
        self.inner.clone().connect(peer, addr).await
    }

    /// Register the handler of CE kind `P`. The handler runs for each inbound
    /// stream of that kind, after the whole request has arrived and decoded; its
    /// response is sent and the stream finished, or, on [`Refusal`], the stream is
    /// reset. A later registration replaces an earlier one.
    pub fn register<P, F, Fut>(&self, handler: F)
    where
        P: Protocol,
        F: Fn(PeerId, P::Request) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<P::Response, Refusal>> + Send + 'static,
    {
        let handler = Arc::new(handler);
        let spec = self.inner.spec.clone();
        let call =
            move |peer: PeerId, msgs: Messages| -> BoxFuture<Result<Messages, ServeFailure>> {
                let handler = handler.clone();
                let spec = spec.clone();
                Box::pin(async move {
                    let req = decode_off_runtime::<P::Request>(spec, msgs)
                        .await
                        .map_err(ServeFailure::Decode)?;
                    let resp = handler(peer, req)
                        .await
                        .map_err(|r| ServeFailure::Refused(r.0))?;
                    Ok(resp.to_messages())
                })
            };
        let erased = ErasedHandler {
            name: P::NAME,
            max_messages: P::Request::max_messages(&self.inner.spec),
            max_size: P::Request::max_size,
            call: Box::new(call),
        };
        self.inner
            .handlers
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(P::KIND, Arc::new(erased));
    }

    /// Make a CE request of kind `P` to `peer` and wait for the whole response.
    pub async fn request<P: Protocol>(
        &self,
        peer: &PeerId,
        request: &P::Request,
    ) -> Result<P::Response, RequestError> {
        let state = self
            .inner
            .live(peer)
            .ok_or(RequestError::PeerUnknown(*peer))?;
        let metrics = &self.inner.metrics;
        let result = tokio::time::timeout(
            self.inner.config.request_timeout,
            self.inner.clone().request_on::<P>(state.clone(), request),
        )
        .await
        .unwrap_or(Err(RequestError::Timeout));
        if let Err(e) = &result {
            metrics.error(P::KIND);
            debug!(peer = %peer, kind = P::KIND, name = P::NAME, error = %e, "request failed");
        }
        result
    }

    /// Set what our UP 0 handshakes say: the latest finalized block and leaves.
    pub fn set_chain_head(&self, handshake: Handshake) {
        *self
            .inner
            .chain_head
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = handshake;
    }

    /// Receive every UP 0 handshake and announcement through `handler` (called on
    /// the runtime: it should hand work off, not do it).
    pub fn on_block_announcement(
        &self,
        handler: impl Fn(PeerId, BlockAnnouncementEvent) + Send + Sync + 'static,
    ) {
        *self
            .inner
            .announcements
            .write()
            .unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(handler));
    }

    /// Announce a block on every open UP 0 stream. Returns how many streams it
    /// was queued on; a full queue drops it (with a log line).
    pub fn announce(&self, announcement: &Announcement) -> usize {
        let peers: Vec<Arc<ConnState>> = {
            let p = self.inner.peers.lock().unwrap_or_else(|e| e.into_inner());
            p.values().cloned().collect()
        };
        let mut queued = 0;
        for s in peers {
            let up0 = s.up0.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(slot) = up0.as_ref() {
                match slot.tx.try_send(announcement.clone()) {
                    Ok(()) => queued += 1,
                    Err(_) => {
                        self.inner.metrics.error(UP_BLOCK_ANNOUNCEMENT);
                        warn!(peer = %s.peer, "announcement queue full; announcement dropped");
                    }
                }
            }
        }
        queued
    }

    /// Whether a UP 0 stream is open with `peer`.
    pub fn has_block_announcements(&self, peer: &PeerId) -> bool {
        self.inner
            .live(peer)
            .is_some_and(|s| s.up0.lock().unwrap_or_else(|e| e.into_inner()).is_some())
    }

    /// Set the validator sets of the previous, current and next epochs: every
    /// validator among them is kept connected (we dial at once where we are the
    /// preferred initiator, after the fallback delay otherwise, and re-dial with
    /// backoff), and peers no longer required stop being maintained.
    pub fn set_validators(&self, sets: ValidatorSets) {
        let required = sets.required_peers(&self.inner.me);
        *self
            .inner
            .validators
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = sets;
        let mut maintainers = self
            .inner
            .maintainers
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        maintainers.retain(|peer, task| {
            let keep = required.iter().any(|(p, _)| p == peer);
            if !keep {
                task.abort();
            }
            keep
        });
        for (peer, addr) in required {
            if maintainers.contains_key(&peer) {
                continue;
            }
            let inner = self.inner.clone();
            maintainers.insert(peer, tokio::spawn(inner.maintain(peer, addr)));
        }
    }

    /// Close every connection and the endpoint.
    pub fn close(&self) {
        for (_, t) in self
            .inner
            .maintainers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain()
        {
            t.abort();
        }
        self.inner
            .endpoint
            .close(code(codes::CLOSE_SHUTDOWN), b"shutdown");
    }
}

async fn decode_off_runtime<W: Wire>(spec: Arc<ChainSpec>, msgs: Messages) -> Result<W, WireError> {
    let total: usize = msgs.iter().map(Vec::len).sum();
    if total <= BLOCKING_DECODE_THRESHOLD {
        return W::from_messages(&spec, &msgs);
    }
    match tokio::task::spawn_blocking(move || W::from_messages(&spec, &msgs)).await {
        Ok(r) => r,
        Err(e) => Err(WireError::MessageCount {
            expected: "a decoder that does not panic",
            got: usize::from(e.is_panic()),
        }),
    }
}

/// Read messages until FIN: at most `max_messages`, message `i` at most
/// `max_size(i)` octets.
async fn read_side(
    recv: &mut RecvStream,
    spec: &ChainSpec,
    max_messages: usize,
    max_size: impl Fn(&ChainSpec, usize) -> u32,
    metrics: &Metrics,
    kind: StreamKind,
) -> Result<Messages, SideError> {
    let mut msgs = Vec::new();
    loop {
        let max = if msgs.len() < max_messages {
            max_size(spec, msgs.len())
        } else {
            0
        };
        match read_message(recv, max).await {
            Ok(Some(m)) => {
                if msgs.len() >= max_messages {
                    return Err(SideError::TooManyMessages(msgs.len() + 1, max_messages));
                }
                metrics.received(kind, m.len());
                msgs.push(m);
            }
            Ok(None) => return Ok(msgs),
            Err(FrameError::TooLarge { .. }) if msgs.len() >= max_messages => {
                return Err(SideError::TooManyMessages(msgs.len() + 1, max_messages))
            }
            Err(e) => return Err(SideError::Frame(e)),
        }
    }
}

enum SideError {
    Frame(FrameError),
    TooManyMessages(usize, usize),
}

impl std::fmt::Display for SideError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SideError::Frame(e) => e.fmt(f),
            SideError::TooManyMessages(n, max) => write!(f, "{n} messages, at most {max} allowed"),
        }
    }
}

fn peer_of(conn: &Connection) -> Result<PeerId, String> {
    let identity: Box<dyn Any> = conn.peer_identity().ok_or("no peer certificate")?;
    let certs = identity
        .downcast::<Vec<rustls::pki_types::CertificateDer<'static>>>()
        .map_err(|_| "unexpected peer identity type")?;
    match certs.as_slice() {
        [one] => verify_certificate(one).map_err(|e| e.to_string()),
        other => Err(format!("{} certificates", other.len())),
    }
}

fn alpn_of(conn: &Connection) -> Option<Vec<u8>> {
    conn.handshake_data()?
        .downcast::<quinn::crypto::rustls::HandshakeData>()
        .ok()?
        .protocol
}

impl Inner {
    fn live(&self, peer: &PeerId) -> Option<Arc<ConnState>> {
        let peers = self.peers.lock().unwrap_or_else(|e| e.into_inner());
        peers
            .get(peer)
            .filter(|s| s.conn.close_reason().is_none())
            .cloned()
    }

    async fn accept_loop(self: Arc<Self>) {
        while let Some(incoming) = self.endpoint.accept().await {
            let inner = self.clone();
            tokio::spawn(async move {
                let addr = incoming.remote_address();
                let result = async {
                    let connecting = incoming.accept().map_err(|e| e.to_string())?;
                    let conn = tokio::time::timeout(inner.config.handshake_timeout, connecting)
                        .await
                        .map_err(|_| "handshake timed out".to_string())?
                        .map_err(|e| e.to_string())?;
                    inner.clone().establish(conn, false).map(|_| ())
                }
                .await;
                if let Err(reason) = result {
                    inner
                        .metrics
                        .handshake_failures
                        .fetch_add(1, Ordering::Relaxed);
                    warn!(%addr, %reason, "inbound connection refused");
                }
            });
        }
    }

    async fn connect(self: Arc<Self>, peer: PeerId, addr: SocketAddr) -> Result<(), NetworkError> {
        if self.live(&peer).is_some() {
            return Ok(());
        }
        let config = if self.config.builder {
            self.builder_client_config.clone()
        } else {
            self.client_config.clone()
        };
        let connecting = self
            .endpoint
            .connect_with(config, addr, &peer.alt_name())
            .map_err(|e| NetworkError::Dial {
                peer,
                addr,
                reason: e.to_string(),
            })?;
        let result = async {
            let conn = tokio::time::timeout(self.config.handshake_timeout, connecting)
                .await
                .map_err(|_| "handshake timed out".to_string())?
                .map_err(|e| e.to_string())?;
            let state = self.clone().establish(conn, true)?;
            if state.peer != peer {
                // The verifier checks the key against the name we dialled; this
                // cannot differ, but never trust a connection to the wrong peer.
                state
                    .conn
                    .close(code(codes::CLOSE_PROTOCOL), b"unexpected key");
                return Err(format!("connected to {} instead", state.peer));
            }
            Ok(())
        }
        .await;
        result.map_err(|reason| {
            self.metrics
                .handshake_failures
                .fetch_add(1, Ordering::Relaxed);
            NetworkError::Handshake { addr, reason }
        })
    }

    /// Check a new connection's ALPN and certificate, register it (resolving a
    /// duplicate), and start serving it.
    fn establish(
        self: Arc<Self>,
        conn: Connection,
        we_initiated: bool,
    ) -> Result<Arc<ConnState>, String> {
        let alpn = alpn_of(&conn);
        let builder = match alpn {
            Some(a) if a == self.alpn => false,
            Some(a) if a == self.alpn_builder => true,
            other => {
                conn.close(code(codes::CLOSE_ALPN), b"ALPN");
                return Err(format!(
                    "ALPN {:?} is not ours",
                    other.map(|a| String::from_utf8_lossy(&a).into_owned())
                ));
            }
        };
        let peer = match peer_of(&conn) {
            Ok(p) => p,
            Err(e) => {
                conn.close(code(codes::CLOSE_PROTOCOL), b"certificate");
                return Err(e);
            }
        };
        let state = Arc::new(ConnState {
            conn,
            peer,
            we_initiated,
            opened: std::time::Instant::now(),
            builder,
            kind_limits: Mutex::new(HashMap::new()),
            up0: Mutex::new(None),
        });
        self.register(state.clone())?;
        self.metrics
            .connections_established
            .fetch_add(1, Ordering::Relaxed);
        info!(%peer, addr = %state.conn.remote_address(), we_initiated, builder, "connected");
        let inner = self.clone();
        let serving = state.clone();
        tokio::spawn(
            async move { inner.serve_connection(serving).await }
                .instrument(tracing::info_span!("conn", %peer)),
        );
        Ok(state)
    }

    /// Keep at most one connection per peer: both sides keep the one opened by the
    /// preferred initiator `P(a, b)`; between two opened by the same side, the newer.
    /// The preferred rule settles two connections opened at about the same time
    /// (both sides dialling at start). A connection from the other side that
    /// arrives [`REDIAL_GRACE`] or more after the preferred one replaces it: the
    /// peer dials only while it holds no connection to us, so it has lost that
    /// one (it restarted, or its side timed out first), which this side would
    /// otherwise learn only at the idle timeout, refusing the peer until then.
    /// An accepted builder connection needs a free builder slot (a builder's own
    /// earlier connection, which it replaces, does not hold one against it). Counted
    /// and inserted under one lock, so simultaneous handshakes cannot overfill them.
    fn register(&self, state: Arc<ConnState>) -> Result<(), String> {
        let mut peers = self.peers.lock().unwrap_or_else(|e| e.into_inner());
        if state.builder && !state.we_initiated {
            let limit = self.config.max_builder_connections;
            let taken = peers
                .values()
                .filter(|s| s.builder && !s.we_initiated && s.peer != state.peer)
                .filter(|s| s.conn.close_reason().is_none())
                .count();
            if taken >= limit {
                state
                    .conn
                    .close(code(codes::CLOSE_BUILDER_SLOTS), b"builder slots full");
                return Err(format!(
                    "builder {}: all {limit} builder slots are taken",
                    state.peer
                ));
            }
        }
        if let Some(old) = peers.get(&state.peer) {
            if old.conn.close_reason().is_none() {
                let me_preferred = we_initiate(&self.me, &state.peer);
                let new_preferred = state.we_initiated == me_preferred;
                let old_preferred = old.we_initiated == me_preferred;
                if old_preferred && !new_preferred && old.opened.elapsed() < REDIAL_GRACE {
                    state
                        .conn
                        .close(code(codes::CLOSE_DUPLICATE), b"duplicate connection");
                    return Err(format!("duplicate connection with {} dropped", state.peer));
                }
                old.conn
                    .close(code(codes::CLOSE_DUPLICATE), b"duplicate connection");
            }
        }
        peers.insert(state.peer, state);
        Ok(())
    }

    fn up0_wanted(&self, peer: &PeerId) -> bool {
        let sets = self.validators.lock().unwrap_or_else(|e| e.into_inner());
        !sets.contains(&self.me) || !sets.contains(peer) || sets.grid_linked(&self.me, peer)
    }

    async fn serve_connection(self: Arc<Self>, state: Arc<ConnState>) {
        if state.we_initiated && self.up0_wanted(&state.peer) {
            match state.conn.open_bi().await {
                Ok((mut send, recv)) => {
                    if send.write_all(&[UP_BLOCK_ANNOUNCEMENT]).await.is_ok() {
                        self.metrics
                            .kind(UP_BLOCK_ANNOUNCEMENT)
                            .streams_opened
                            .fetch_add(1, Ordering::Relaxed);
                        let index = send.id().index();
                        self.clone().start_up0(state.clone(), index, send, recv);
                    }
                }
                Err(e) => debug!(error = %e, "could not open UP 0"),
            }
        }
        loop {
            match state.conn.accept_bi().await {
                Ok((send, recv)) => {
                    let inner = self.clone();
                    let s = state.clone();
                    tokio::spawn(
                        async move { inner.serve_stream(s, send, recv).await }.in_current_span(),
                    );
                }
                Err(e) => {
                    info!(reason = %e, "connection closed");
                    break;
                }
            }
        }
        let mut peers = self.peers.lock().unwrap_or_else(|e| e.into_inner());
        if peers
            .get(&state.peer)
            .is_some_and(|s| s.conn.stable_id() == state.conn.stable_id())
        {
            peers.remove(&state.peer);
        }
    }

    fn reset(&self, kind: StreamKind, send: &mut SendStream, recv: &mut RecvStream, c: u32) {
        self.metrics.error(kind);
        let _ = send.reset(code(c));
        let _ = recv.stop(code(c));
    }

    async fn serve_stream(
        self: Arc<Self>,
        state: Arc<ConnState>,
        mut send: SendStream,
        mut recv: RecvStream,
    ) {
        let peer = state.peer;
        let kind =
            match tokio::time::timeout(self.config.stream_timeout, read_kind(&mut recv)).await {
                Ok(Ok(k)) => k,
                Ok(Err(e)) => {
                    warn!(%peer, reason = %e, "stream reset: no stream kind");
                    let _ = send.reset(code(codes::PROTOCOL));
                    return;
                }
                Err(_) => {
                    warn!(%peer, "stream reset: no stream kind in time");
                    let _ = send.reset(code(codes::TIMEOUT));
                    let _ = recv.stop(code(codes::TIMEOUT));
                    return;
                }
            };
        self.metrics
            .kind(kind)
            .streams_accepted
            .fetch_add(1, Ordering::Relaxed);
        if kind == UP_BLOCK_ANNOUNCEMENT && !state.we_initiated {
            let index = send.id().index();
            self.start_up0(state, index, send, recv);
            return;
        }
        if !is_ce(kind) {
            self.metrics
                .unknown_kind_streams
                .fetch_add(1, Ordering::Relaxed);
            warn!(%peer, kind, "stream reset: UP kind not allowed from this side or unknown");
            self.reset(kind, &mut send, &mut recv, codes::UNKNOWN_KIND);
            return;
        }
        let handler = self
            .handlers
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&kind)
            .cloned();
        let Some(handler) = handler else {
            self.metrics
                .unknown_kind_streams
                .fetch_add(1, Ordering::Relaxed);
            warn!(%peer, kind, name = kind_name(kind), "stream reset: no handler for this kind");
            self.reset(kind, &mut send, &mut recv, codes::UNKNOWN_KIND);
            return;
        };
        let semaphore = state
            .kind_limits
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(kind)
            .or_insert_with(|| Arc::new(Semaphore::new(self.config.max_inflight_per_kind)))
            .clone();
        let Ok(_permit) = semaphore.try_acquire_owned() else {
            warn!(%peer, kind, name = handler.name, "stream refused: too many in flight");
            self.reset(kind, &mut send, &mut recv, codes::REFUSED);
            return;
        };
        let read = tokio::time::timeout(
            self.config.stream_timeout,
            read_side(
                &mut recv,
                &self.spec,
                handler.max_messages,
                handler.max_size,
                &self.metrics,
                kind,
            ),
        )
        .await;
        let msgs = match read {
            Ok(Ok(m)) => m,
            Ok(Err(e)) => {
                let c = match &e {
                    SideError::Frame(FrameError::TooLarge { .. })
                    | SideError::TooManyMessages(..) => codes::TOO_LARGE,
                    _ => codes::PROTOCOL,
                };
                warn!(%peer, kind, name = handler.name, reason = %e, "stream reset: bad request");
                self.reset(kind, &mut send, &mut recv, c);
                return;
            }
            Err(_) => {
                warn!(%peer, kind, name = handler.name, "stream reset: request not finished in time");
                self.reset(kind, &mut send, &mut recv, codes::TIMEOUT);
                return;
            }
        };
        let answer =
            tokio::time::timeout(self.config.request_timeout, (handler.call)(peer, msgs)).await;
        let response = match answer {
            Ok(Ok(r)) => r,
            Ok(Err(ServeFailure::Decode(e))) => {
                warn!(%peer, kind, name = handler.name, message = ?e, offset = e.offset(), reason = %e, "stream reset: undecodable request");
                self.reset(kind, &mut send, &mut recv, codes::PROTOCOL);
                return;
            }
            Ok(Err(ServeFailure::Refused(reason))) => {
                debug!(%peer, kind, name = handler.name, %reason, "request refused by handler");
                self.reset(kind, &mut send, &mut recv, codes::REFUSED);
                return;
            }
            Err(_) => {
                warn!(%peer, kind, name = handler.name, "handler timed out");
                self.reset(kind, &mut send, &mut recv, codes::INTERNAL);
                return;
            }
        };
        let write = async {
            for m in &response {
                write_message(&mut send, m).await?;
                self.metrics.sent(kind, m.len());
            }
            send.finish().map_err(|e| FrameError::Write(e.to_string()))
        };
        match tokio::time::timeout(self.config.request_timeout, write).await {
            Ok(Ok(())) => debug!(%peer, kind, name = handler.name, "request served"),
            Ok(Err(e)) => {
                self.metrics.error(kind);
                debug!(%peer, kind, reason = %e, "response not delivered");
            }
            Err(_) => {
                warn!(%peer, kind, "stream reset: response not taken in time");
                self.reset(kind, &mut send, &mut recv, codes::TIMEOUT);
            }
        }
    }

    async fn request_on<P: Protocol>(
        self: Arc<Self>,
        state: Arc<ConnState>,
        request: &P::Request,
    ) -> Result<P::Response, RequestError> {
        let kind = P::KIND;
        let frame_err = |e: FrameError| match e {
            FrameError::Reset(c)
                if c == u64::from(codes::REFUSED) || c == u64::from(codes::UNKNOWN_KIND) =>
            {
                RequestError::Refused
            }
            FrameError::Reset(c) => RequestError::Reset { code: c },
            FrameError::TooLarge { size, max } => RequestError::TooLarge {
                kind,
                size: u64::from(size),
                max: u64::from(max),
            },
            FrameError::Truncated => {
                RequestError::Connection("stream finished inside a message".into())
            }
            FrameError::Read(s) | FrameError::Write(s) => RequestError::Connection(s),
        };
        let (mut send, mut recv) = state
            .conn
            .open_bi()
            .await
            .map_err(|e| RequestError::Connection(e.to_string()))?;
        self.metrics
            .kind(kind)
            .streams_opened
            .fetch_add(1, Ordering::Relaxed);
        send.write_all(&[kind])
            .await
            .map_err(|e| frame_err(e.into()))?;
        for m in request.to_messages() {
            write_message(&mut send, &m).await.map_err(frame_err)?;
            self.metrics.sent(kind, m.len());
        }
        send.finish()
            .map_err(|e| RequestError::Connection(e.to_string()))?;
        let msgs = read_side(
            &mut recv,
            &self.spec,
            P::Response::max_messages(&self.spec),
            P::Response::max_size,
            &self.metrics,
            kind,
        )
        .await
        .map_err(|e| match e {
            SideError::Frame(f) => frame_err(f),
            SideError::TooManyMessages(n, max) => RequestError::TooLarge {
                kind,
                size: n as u64,
                max: max as u64,
            },
        })?;
        decode_off_runtime::<P::Response>(self.spec.clone(), msgs)
            .await
            .map_err(|error| RequestError::Decode {
                kind,
                message: match &error {
                    WireError::Decode { message, .. } => *message,
                    WireError::MessageCount { .. } => 0,
                },
                offset: error.offset(),
                error,
            })
    }

    /// Install a UP 0 stream on `state`, keeping the one with the greatest id.
    fn start_up0(
        self: Arc<Self>,
        state: Arc<ConnState>,
        index: u64,
        mut send: SendStream,
        mut recv: RecvStream,
    ) {
        let (tx, rx) = mpsc::channel(ANNOUNCEMENT_QUEUE);
        let (cancel_tx, cancel_rx) = oneshot::channel();
        {
            let mut slot = state.up0.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(current) = slot.as_ref() {
                if current.index > index {
                    debug!(peer = %state.peer, "UP 0 stream superseded by a greater id");
                    let _ = send.reset(code(codes::SUPERSEDED));
                    let _ = recv.stop(code(codes::SUPERSEDED));
                    return;
                }
            }
            if let Some(old) = slot.take() {
                let _ = old.cancel.send(());
            }
            *slot = Some(Up0Slot {
                index,
                tx,
                cancel: cancel_tx,
            });
        }
        tokio::spawn(
            async move { self.run_up0(state, index, send, recv, rx, cancel_rx).await }
                .in_current_span(),
        );
    }

    async fn run_up0(
        self: Arc<Self>,
        state: Arc<ConnState>,
        index: u64,
        mut send: SendStream,
        mut recv: RecvStream,
        mut rx: mpsc::Receiver<Announcement>,
        cancel: oneshot::Receiver<()>,
    ) {
        let peer = state.peer;
        let kind = UP_BLOCK_ANNOUNCEMENT;
        let metrics = self.metrics.clone();
        let spec = self.spec.clone();
        let handler = self
            .announcements
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let ours = self
            .chain_head
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .encode();
        let writer = async {
            write_message(&mut send, &ours).await?;
            metrics.sent(kind, ours.len());
            while let Some(a) = rx.recv().await {
                let bytes = a.encode();
                write_message(&mut send, &bytes).await?;
                metrics.sent(kind, bytes.len());
            }
            Ok::<(), FrameError>(())
        };
        let reader = async {
            let first = tokio::time::timeout(
                self.config.stream_timeout,
                read_message(&mut recv, Handshake::max_size(&spec)),
            )
            .await
            .map_err(|_| "no handshake in time".to_string())?
            .map_err(|e| e.to_string())?
            .ok_or("stream finished before the handshake")?;
            metrics.received(kind, first.len());
            let hs: Handshake =
                decode_exact(&spec, &first).map_err(|e| format!("bad handshake: {e}"))?;
            if let Some(h) = &handler {
                h(peer, BlockAnnouncementEvent::Handshake(hs));
            }
            loop {
                let Some(m) = read_message(&mut recv, Announcement::max_size(&spec))
                    .await
                    .map_err(|e| e.to_string())?
                else {
                    return Ok::<(), String>(());
                };
                metrics.received(kind, m.len());
                let a: Announcement =
                    decode_exact(&spec, &m).map_err(|e| format!("bad announcement: {e}"))?;
                if let Some(h) = &handler {
                    h(peer, BlockAnnouncementEvent::Announcement(Box::new(a)));
                }
            }
        };
        tokio::select! {
            r = reader => match r {
                Ok(()) => debug!(%peer, "UP 0 finished by the peer"),
                // The connection closing (either end shutting down) ends the
                // stream too; that is no protocol failure.
                Err(reason) if state.conn.close_reason().is_some() => {
                    debug!(%peer, %reason, "UP 0 ended with its connection");
                }
                Err(reason) => {
                    metrics.error(kind);
                    warn!(%peer, %reason, "UP 0 failed; closing the connection");
                    state.conn.close(code(codes::CLOSE_PROTOCOL), b"UP 0");
                }
            },
            w = writer => if let Err(e) = w {
                debug!(%peer, reason = %e, "UP 0 write ended");
            },
            _ = cancel => {
                let _ = send.reset(code(codes::SUPERSEDED));
                let _ = recv.stop(code(codes::SUPERSEDED));
                return;
            }
        }
        let mut slot = state.up0.lock().unwrap_or_else(|e| e.into_inner());
        if slot.as_ref().is_some_and(|s| s.index == index) {
            *slot = None;
        }
    }

    /// Keep `peer` connected: dial at once if we are its preferred initiator, else
    /// after the fallback delay if it has not dialled us; after a failure wait a
    /// doubling backoff; after a disconnect start over.
    async fn maintain(self: Arc<Self>, peer: PeerId, addr: SocketAddr) {
        let mut backoff = self.config.reconnect_backoff_min;
        loop {
            if let Some(state) = self.live(&peer) {
                state.conn.closed().await;
                backoff = self.config.reconnect_backoff_min;
                continue;
            }
            if !we_initiate(&self.me, &peer) {
                tokio::time::sleep(self.config.fallback_dial_delay).await;
                if self.live(&peer).is_some() {
                    continue;
                }
                debug!(%peer, "preferred initiator did not connect; dialling ourselves");
            }
            match self.clone().connect(peer, addr).await {
                Ok(()) => backoff = self.config.reconnect_backoff_min,
                Err(e) => {
                    debug!(%peer, error = %e, ?backoff, "dial failed");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(self.config.reconnect_backoff_max);
                }
            }
        }
    }
}

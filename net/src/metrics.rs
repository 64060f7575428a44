//! Counters for a later Prometheus exporter: bytes and messages per stream kind
//! in each direction, errors per kind, and connection events. Plain atomics,
//! read with [`Metrics::snapshot`].

use std::sync::atomic::{AtomicU64, Ordering};

use crate::messages::StreamKind;

/// The counters of one stream kind.
#[derive(Debug, Default)]
pub struct KindCounters {
    /// Message content octets sent (size prefixes included).
    pub bytes_sent: AtomicU64,
    /// Message content octets received (size prefixes included).
    pub bytes_received: AtomicU64,
    /// Messages sent.
    pub messages_sent: AtomicU64,
    /// Messages received.
    pub messages_received: AtomicU64,
    /// Streams of this kind opened by us.
    pub streams_opened: AtomicU64,
    /// Streams of this kind accepted from peers.
    pub streams_accepted: AtomicU64,
    /// Streams that failed: reset, refused, timed out, undecodable, too large.
    pub errors: AtomicU64,
}

/// A copy of one kind's counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KindSnapshot {
    /// See [`KindCounters::bytes_sent`].
    pub bytes_sent: u64,
    /// See [`KindCounters::bytes_received`].
    pub bytes_received: u64,
    /// See [`KindCounters::messages_sent`].
    pub messages_sent: u64,
    /// See [`KindCounters::messages_received`].
    pub messages_received: u64,
    /// See [`KindCounters::streams_opened`].
    pub streams_opened: u64,
    /// See [`KindCounters::streams_accepted`].
    pub streams_accepted: u64,
    /// See [`KindCounters::errors`].
    pub errors: u64,
}

/// All counters of one endpoint.
#[derive(Debug)]
pub struct Metrics {
    kinds: Vec<KindCounters>,
    /// Connections established (both directions).
    pub connections_established: AtomicU64,
    /// Handshakes refused or failed (certificates, ALPN, timeouts).
    pub handshake_failures: AtomicU64,
    /// Streams with an unknown kind or a kind the opener may not open.
    pub unknown_kind_streams: AtomicU64,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            kinds: (0..256).map(|_| KindCounters::default()).collect(),
            connections_established: AtomicU64::new(0),
            handshake_failures: AtomicU64::new(0),
            unknown_kind_streams: AtomicU64::new(0),
        }
    }
}

impl Metrics {
    /// The counters of `kind`.
    pub fn kind(&self, kind: StreamKind) -> &KindCounters {
        &self.kinds[usize::from(kind)]
    }

    pub(crate) fn sent(&self, kind: StreamKind, content_len: usize) {
        let k = self.kind(kind);
        k.messages_sent.fetch_add(1, Ordering::Relaxed);
        k.bytes_sent
            .fetch_add(4 + content_len as u64, Ordering::Relaxed);
    }

    pub(crate) fn received(&self, kind: StreamKind, content_len: usize) {
        let k = self.kind(kind);
        k.messages_received.fetch_add(1, Ordering::Relaxed);
        k.bytes_received
            .fetch_add(4 + content_len as u64, Ordering::Relaxed);
    }

    pub(crate) fn error(&self, kind: StreamKind) {
        self.kind(kind).errors.fetch_add(1, Ordering::Relaxed);
    }

    /// A copy of `kind`'s counters.
    pub fn snapshot(&self, kind: StreamKind) -> KindSnapshot {
        let k = self.kind(kind);
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        KindSnapshot {
            bytes_sent: l(&k.bytes_sent),
            bytes_received: l(&k.bytes_received),
            messages_sent: l(&k.messages_sent),
            messages_received: l(&k.messages_received),
            streams_opened: l(&k.streams_opened),
            streams_accepted: l(&k.streams_accepted),
            errors: l(&k.errors),
        }
    }
}

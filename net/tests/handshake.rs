//! Handshake refusals against real quinn handshakes, ALPN, and the connection
//! policy (preferred initiator, fallback dial, one connection per peer).

mod common;

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::Duration;

use common::*;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tessera_core::crypto::ed25519::Keypair;
use tessera_net::connectivity::{
    metadata_for_address, validator_address, we_initiate, ValidatorSets,
};
use tessera_net::identity::certificate_with_alt_name;
use tessera_net::{alt_name, tls, Identity, Network, NetworkError, PeerId};

/// A bare server presenting `cert` and `key`, completing whatever handshakes its
/// (JAMNP-S) client verifier lets through.
fn raw_server(cert: Vec<u8>, key: PrivateKeyDer<'static>) -> (quinn::Endpoint, SocketAddr) {
    let config = tls::server_config_raw(vec![CertificateDer::from(cert)], key, &genesis()).unwrap();
    let ep = quinn::Endpoint::server(
        tls::quic_server_config(config).unwrap(),
        "127.0.0.1:0".parse().unwrap(),
    )
    .unwrap();
    let addr = ep.local_addr().unwrap();
    let accept = ep.clone();
    tokio::spawn(async move {
        while let Some(incoming) = accept.accept().await {
            tokio::spawn(async move {
                if let Ok(conn) = incoming.await {
                    conn.closed().await;
                }
            });
        }
    });
    (ep, addr)
}

fn pkcs8(seed: u8) -> PrivateKeyDer<'static> {
    PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(identity(seed).pkcs8_der()))
}

const RFC4648_NAME_OF_ZERO_SEED_KEY: &str = "ehnvcppgow2sc2yvdvdicu3ynonsteflxdxrehjr2ybekdc2z3iuq";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dialled_certificates_must_be_what_we_expect() {
    let a = start(41);
    let b = start(42);
    // Right address, wrong expected key.
    let c = identity(43).peer_id();
    let e = a.connect(c, addr(&b)).await.unwrap_err();
    assert!(matches!(e, NetworkError::Handshake { .. }), "{e}");
    assert!(a.connected_peers().is_empty());

    // A server whose certificate carries the RFC 4648 name of its key.
    let zero = Keypair::from_seed([0; 32]);
    let (_srv, srv_addr) = raw_server(
        certificate_with_alt_name(&zero, RFC4648_NAME_OF_ZERO_SEED_KEY),
        pkcs8(0),
    );
    let e = a
        .connect(PeerId(zero.public()), srv_addr)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("WrongAltName"), "{e}");

    // A server whose certificate names another key.
    let other = alt_name(&Keypair::from_seed([5; 32]).public());
    let (_srv, srv_addr) = raw_server(certificate_with_alt_name(&zero, &other), pkcs8(0));
    let e = a
        .connect(PeerId(zero.public()), srv_addr)
        .await
        .unwrap_err();
    assert!(matches!(e, NetworkError::Handshake { .. }), "{e}");

    // A server with an ECDSA certificate whose name is N(k) of the key we dial.
    let (cert, key) = ecdsa_cert(&alt_name(&zero.public()));
    let (_srv, srv_addr) = raw_server(cert, key);
    let e = a
        .connect(PeerId(zero.public()), srv_addr)
        .await
        .unwrap_err();
    assert!(matches!(e, NetworkError::Handshake { .. }), "{e}");

    // And the genuine certificate is accepted.
    let (_srv, srv_addr) = raw_server(
        Identity::from_ed25519_seed([0; 32])
            .certificate_der()
            .to_vec(),
        pkcs8(0),
    );
    a.connect(PeerId(zero.public()), srv_addr).await.unwrap();
}

fn ecdsa_cert(name: &str) -> (Vec<u8>, PrivateKeyDer<'static>) {
    let kp = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let cert = rcgen::CertificateParams::new(vec![name.to_string()])
        .unwrap()
        .self_signed(&kp)
        .unwrap();
    (
        cert.der().to_vec(),
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(kp.serialize_der())),
    )
}

/// Dial `server` with a raw client presenting `auth`; true if the server ended
/// up with a connection to us.
async fn raw_dial(
    server: &Network,
    auth: Option<(Vec<u8>, PrivateKeyDer<'static>)>,
    alpn: Vec<u8>,
) -> bool {
    let auth = auth.map(|(c, k)| (vec![CertificateDer::from(c)], k));
    let config = tls::quic_client_config(tls::client_config_raw(auth, alpn).unwrap()).unwrap();
    let client = raw_client();
    let before = server.metrics().handshake_failures.load(Ordering::Relaxed);
    let result = client
        .connect_with(config, addr(server), &server.peer_id().alt_name())
        .unwrap()
        .await;
    if let Ok(conn) = result {
        // The client may finish its side before the server refuses; then the
        // server closes the connection.
        let _ = tokio::time::timeout(Duration::from_secs(2), conn.closed()).await;
        assert!(
            conn.close_reason().is_some(),
            "server kept a refused connection"
        );
    }
    assert!(
        eventually(2, || server
            .metrics()
            .handshake_failures
            .load(Ordering::Relaxed)
            > before)
        .await,
        "refusal not counted"
    );
    !server.connected_peers().is_empty()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acceptor_refuses_bad_client_certificates() {
    let b = start(51);
    let alpn = tls::alpn(&genesis(), false);
    // No client certificate at all.
    assert!(!raw_dial(&b, None, alpn.clone()).await);
    // A client certificate with the RFC 4648 name of its key.
    let zero = Keypair::from_seed([0; 32]);
    let bad = certificate_with_alt_name(&zero, RFC4648_NAME_OF_ZERO_SEED_KEY);
    assert!(!raw_dial(&b, Some((bad, pkcs8(0))), alpn.clone()).await);
    // An ECDSA certificate.
    let (cert, key) = ecdsa_cert(&alt_name(&zero.public()));
    assert!(!raw_dial(&b, Some((cert, key)), alpn.clone()).await);
    // The right certificate but another chain's ALPN.
    let good = Identity::from_ed25519_seed([0; 32])
        .certificate_der()
        .to_vec();
    let mut other_chain = genesis();
    other_chain.0[0] ^= 1;
    let client = raw_client();
    let config = tls::quic_client_config(
        tls::client_config_raw(
            Some((vec![CertificateDer::from(good)], pkcs8(0))),
            tls::alpn(&other_chain, false),
        )
        .unwrap(),
    )
    .unwrap();
    let r = client
        .connect_with(config, addr(&b), &b.peer_id().alt_name())
        .unwrap()
        .await;
    assert!(r.is_err(), "a foreign ALPN was accepted");
    assert!(b.connected_peers().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn builder_alpn_is_accepted_and_reported() {
    let b = start(61);
    let mut cfg = config();
    cfg.builder = true;
    let a = start_with(62, cfg);
    a.connect(b.peer_id(), addr(&b)).await.unwrap();
    assert!(eventually(2, || b.is_builder(&a.peer_id()) == Some(true)).await);
    assert_eq!(a.is_builder(&b.peer_id()), Some(true));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn builder_connections_beyond_the_slots_are_refused_validators_are_not() {
    let mut cfg = config();
    cfg.max_builder_connections = 2;
    let v = start_with(63, cfg);
    let mut builder = config();
    builder.builder = true;
    let builders: Vec<Network> = (64..67).map(|s| start_with(s, builder.clone())).collect();
    for b in &builders[..2] {
        b.connect(v.peer_id(), addr(&v)).await.unwrap();
    }
    assert!(eventually(5, || v.connected_peers().len() == 2).await);
    // The third builder's handshake completes, then the acceptor closes it: either
    // side may notice first, so the dial may succeed or fail, but it never stays.
    let _ = builders[2].connect(v.peer_id(), addr(&v)).await;
    assert!(eventually(5, || !builders[2].is_connected(&v.peer_id())).await);
    assert_eq!(v.is_builder(&builders[2].peer_id()), None);
    assert!(v.metrics().handshake_failures.load(Ordering::Relaxed) >= 1);
    // Validators (the plain ALPN) are not held to the builder slots.
    let others: Vec<Network> = (67..70).map(start).collect();
    for o in &others {
        o.connect(v.peer_id(), addr(&v)).await.unwrap();
        assert!(eventually(5, || v.is_builder(&o.peer_id()) == Some(false)).await);
    }
    // A slot freed by a builder that leaves is free again.
    builders[0].close();
    assert!(eventually(5, || v.is_builder(&builders[0].peer_id()).is_none()).await);
    builders[2].connect(v.peer_id(), addr(&v)).await.unwrap();
    assert!(eventually(5, || v.is_builder(&builders[2].peer_id()) == Some(true)).await);
    assert_eq!(v.connected_peers().len(), 5);
}

fn sets(nets: &[&Network]) -> ValidatorSets {
    let current: Vec<(PeerId, SocketAddr)> = nets
        .iter()
        .map(|n| {
            (
                n.peer_id(),
                validator_address(&metadata_for_address(addr(n))),
            )
        })
        .collect();
    ValidatorSets {
        previous: vec![],
        current: current.clone(),
        next: current,
    }
}

/// Two endpoints, ordered (preferred initiator, the other).
fn pair(seed_a: u8, seed_b: u8, fallback: Duration) -> (Network, Network) {
    let mut cfg = config();
    cfg.fallback_dial_delay = fallback;
    let (x, y) = (start_with(seed_a, cfg.clone()), start_with(seed_b, cfg));
    if we_initiate(&x.peer_id(), &y.peer_id()) {
        (x, y)
    } else {
        (y, x)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preferred_initiator_dials_and_the_other_waits() {
    // Both know both; the fallback is long, so only the preferred side dials.
    let (p, o) = pair(71, 72, Duration::from_secs(60));
    let s = sets(&[&p, &o]);
    o.set_validators(s.clone());
    p.set_validators(s);
    assert!(
        eventually(3, || p.is_connected(&o.peer_id())
            && o.is_connected(&p.peer_id()))
        .await
    );
    assert_eq!(p.we_initiated(&o.peer_id()), Some(true));
    assert_eq!(o.we_initiated(&p.peer_id()), Some(false));
    // Six validators in the tiny grid are all linked to someone: UP 0 opened here.
    assert!(eventually(2, || o.has_block_announcements(&p.peer_id())).await);
    p.close();
    o.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_other_side_dials_after_the_fallback_delay() {
    // Only the non-preferred side is told about validators: it dials itself once
    // the fallback delay has passed without a connection.
    let (p, o) = pair(73, 74, Duration::from_millis(300));
    let started = tokio::time::Instant::now();
    o.set_validators(sets(&[&p, &o]));
    assert!(eventually(3, || o.is_connected(&p.peer_id())).await);
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(o.we_initiated(&p.peer_id()), Some(true));
    // After the connection drops, it is re-established.
    p.close();
    let p2 = Network::start(p.identity().clone(), spec(), {
        let mut c = config();
        c.listen = addr(&p);
        c
    });
    // The old socket may still be held briefly; re-dial is covered when it binds.
    if let Ok(p2) = p2 {
        assert!(
            eventually(5, || o.is_connected(&p2.peer_id())
                && p2.is_connected(&o.peer_id()))
            .await
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simultaneous_dials_leave_one_connection_by_the_preferred_initiator() {
    let (p, o) = pair(75, 76, Duration::from_secs(60));
    let (r1, r2) = tokio::join!(
        p.connect(o.peer_id(), addr(&o)),
        o.connect(p.peer_id(), addr(&p))
    );
    let _ = (r1, r2);
    assert!(
        eventually(3, || p.we_initiated(&o.peer_id()) == Some(true)
            && o.we_initiated(&p.peer_id()) == Some(false))
        .await,
        "p: {:?}, o: {:?}",
        p.we_initiated(&o.peer_id()),
        o.we_initiated(&p.peer_id())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_dials_again_later_replaces_the_connection_it_lost() {
    // The preferred side holds a connection; the peer then comes back as a new
    // process with the same key (killed and restarted: the old connection is
    // not closed, only abandoned) and dials. Refusing it as a duplicate would
    // shut the peer out until the old connection's idle timeout.
    let (p, o) = pair(77, 78, Duration::from_secs(60));
    p.connect(o.peer_id(), addr(&o)).await.unwrap();
    assert!(eventually(3, || o.we_initiated(&p.peer_id()) == Some(false)).await);
    // Past the grace in which a second connection counts as a simultaneous dial.
    tokio::time::sleep(Duration::from_millis(5_200)).await;
    let restarted = Network::start(o.identity().clone(), spec(), config()).unwrap();
    restarted.connect(p.peer_id(), addr(&p)).await.unwrap();
    assert!(
        eventually(3, || p.we_initiated(&o.peer_id()) == Some(false)
            && restarted.is_connected(&p.peer_id()))
        .await,
        "the preferred side kept the abandoned connection: p initiated {:?}",
        p.we_initiated(&o.peer_id())
    );
    // (Within the grace the preferred initiator's connection still wins:
    // `simultaneous_dials_leave_one_connection_by_the_preferred_initiator`.)
}

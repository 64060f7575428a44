//! A peer that sends garbage gets its streams reset (or its connection closed for
//! a bad UP 0 handshake) while the endpoint keeps serving a good peer.

mod common;

use std::time::Duration;

use common::*;
use quinn::Connection;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tessera_net::messages::{BlockRequestProtocol, Blocks, PreimageRequest, Raw};
use tessera_net::network::codes;
use tessera_net::{tls, Network, Protocol};

/// A raw but well-certified connection to `server`.
async fn raw_connection(seed: u8, server: &Network) -> Connection {
    let id = identity(seed);
    let auth = (
        vec![CertificateDer::from(id.certificate_der().to_vec())],
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(id.pkcs8_der())),
    );
    let config = tls::quic_client_config(
        tls::client_config_raw(Some(auth), tls::alpn(&genesis(), false)).unwrap(),
    )
    .unwrap();
    raw_client()
        .connect_with(config, addr(server), &server.peer_id().alt_name())
        .unwrap()
        .await
        .unwrap()
}

/// Open a stream, send `bytes` (and FIN if `fin`), and return the reset code the
/// server answers with.
async fn reset_code(conn: &Connection, bytes: &[u8], fin: bool) -> Option<u64> {
    let (mut send, mut recv) = conn.open_bi().await.unwrap();
    send.write_all(bytes).await.unwrap();
    if fin {
        send.finish().unwrap();
    }
    let mut buf = [0u8; 64];
    match tokio::time::timeout(Duration::from_secs(3), recv.read(&mut buf)).await {
        Ok(Err(quinn::ReadError::Reset(c))) => Some(c.into_inner()),
        other => panic!("expected a reset, got {other:?}"),
    }
}

fn frame(kind: u8, content: &[u8], size: Option<u32>) -> Vec<u8> {
    let mut out = vec![kind];
    out.extend_from_slice(&size.unwrap_or(content.len() as u32).to_le_bytes());
    out.extend_from_slice(content);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_is_reset_and_good_peers_are_still_served() {
    let server = start(81);
    server.register::<BlockRequestProtocol, _, _>(|_, _| async { Ok(Blocks(vec![block(1)])) });
    server.register::<PreimageRequest, _, _>(|_, _| async { Ok(Raw(vec![1, 2, 3])) });
    let good = start(82);
    good.connect(server.peer_id(), addr(&server)).await.unwrap();

    let bad = raw_connection(83, &server).await;
    let kind = BlockRequestProtocol::KIND;
    let valid = {
        let mut v = h(9).0.to_vec();
        v.push(1);
        v.extend_from_slice(&3u32.to_le_bytes());
        v
    };
    // Random bytes: an unknown UP kind first.
    assert_eq!(
        reset_code(&bad, &[0x7F, 0x13, 0x37, 0xC0, 0xDE], true).await,
        Some(codes::UNKNOWN_KIND.into())
    );
    // An unknown CE kind.
    assert_eq!(
        reset_code(&bad, &frame(250, &valid, None), true).await,
        Some(codes::UNKNOWN_KIND.into())
    );
    // An oversized size prefix.
    assert_eq!(
        reset_code(&bad, &frame(kind, &[], Some(u32::MAX)), false).await,
        Some(codes::TOO_LARGE.into())
    );
    // A truncated message.
    assert_eq!(
        reset_code(&bad, &frame(kind, &valid[..10], Some(37)), true).await,
        Some(codes::PROTOCOL.into())
    );
    // An undecodable message: direction 9.
    let mut wrong = valid.clone();
    wrong[32] = 9;
    assert_eq!(
        reset_code(&bad, &frame(kind, &wrong, None), true).await,
        Some(codes::PROTOCOL.into())
    );
    // Two messages where one is expected.
    let mut two = frame(kind, &valid, None);
    two.extend_from_slice(&frame(kind, &valid, None)[1..]);
    assert_eq!(
        reset_code(&bad, &two, true).await,
        Some(codes::TOO_LARGE.into())
    );
    // A valid request that never gets its FIN.
    assert_eq!(
        reset_code(&bad, &frame(kind, &valid, None), false).await,
        Some(codes::TIMEOUT.into())
    );
    // UP 0 opened by the connection's initiator with a garbage handshake: the
    // connection is closed.
    let (mut send, _recv) = bad.open_bi().await.unwrap();
    send.write_all(&frame(0, &[0xFF; 7], None)).await.unwrap();
    let closed = tokio::time::timeout(Duration::from_secs(3), bad.closed()).await;
    assert!(
        closed.is_ok(),
        "connection not closed after a bad handshake"
    );

    // Meanwhile the good peer is served, before and after.
    let blocks = good
        .request::<BlockRequestProtocol>(
            &server.peer_id(),
            &tessera_net::messages::BlockRequest {
                header_hash: h(9),
                direction: tessera_net::messages::Direction::DescendingInclusive,
                max_blocks: 3,
            },
        )
        .await
        .unwrap();
    assert_eq!(blocks, Blocks(vec![block(1)]));
    assert_eq!(
        good.request::<PreimageRequest>(&server.peer_id(), &h(1))
            .await
            .unwrap(),
        Raw(vec![1, 2, 3])
    );
    let m = server.metrics().snapshot(kind);
    assert!(m.errors >= 5, "{m:?}");
    assert!(
        server
            .metrics()
            .unknown_kind_streams
            .load(std::sync::atomic::Ordering::Relaxed)
            >= 2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_responses_are_typed_errors() {
    // A response above CE 143's maximum is refused by the requester at its size
    // prefix.
    let server = start(91);
    let client = start(92);
    client
        .connect(server.peer_id(), addr(&server))
        .await
        .unwrap();
    let max = <Raw as tessera_net::Wire>::max_size(&spec(), 0) as usize;
    server.register::<PreimageRequest, _, _>(move |_, _| async move { Ok(Raw(vec![0; max + 1])) });
    let e = client
        .request::<PreimageRequest>(&server.peer_id(), &h(1))
        .await
        .unwrap_err();
    assert!(
        matches!(e, tessera_net::RequestError::TooLarge { kind: 143, .. }),
        "{e}"
    );
}

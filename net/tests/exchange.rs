//! Three loopback endpoints exchange every CE kind through echo-like handlers
//! (each handler checks the request it got and returns a fixed response), and
//! UP 0 handshakes and announcements flow both ways.

mod common;

use std::sync::{Arc, Mutex};

use common::*;
use tessera_net::messages::*;
use tessera_net::network::BlockAnnouncementEvent;
use tessera_net::{Network, Protocol, Refusal};

async fn exchange<P: Protocol>(nets: &[Network], request: P::Request, response: P::Response)
where
    P::Request: Clone + PartialEq + std::fmt::Debug,
    P::Response: Clone + PartialEq + std::fmt::Debug,
{
    for n in nets {
        let (rq, rs) = (request.clone(), response.clone());
        n.register::<P, _, _>(move |_peer, got| {
            let (rq, rs) = (rq.clone(), rs.clone());
            async move {
                if got == rq {
                    Ok(rs)
                } else {
                    Err(Refusal(format!("unexpected request {got:?}")))
                }
            }
        });
    }
    for a in nets {
        for b in nets {
            if a.peer_id() == b.peer_id() {
                continue;
            }
            let got = a
                .request::<P>(&b.peer_id(), &request)
                .await
                .unwrap_or_else(|e| {
                    panic!(
                        "CE {} ({}) {} -> {}: {e}",
                        P::KIND,
                        P::NAME,
                        a.peer_id(),
                        b.peer_id()
                    )
                });
            assert_eq!(got, response, "CE {} ({})", P::KIND, P::NAME);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_endpoints_exchange_every_ce_kind() {
    let nets = [start(11), start(12), start(13)];
    nets[0]
        .connect(nets[1].peer_id(), addr(&nets[1]))
        .await
        .unwrap();
    nets[0]
        .connect(nets[2].peer_id(), addr(&nets[2]))
        .await
        .unwrap();
    nets[1]
        .connect(nets[2].peer_id(), addr(&nets[2]))
        .await
        .unwrap();
    assert!(eventually(3, || nets.iter().all(|n| n.connected_peers().len() == 2)).await);

    use common::samples::*;
    exchange::<BlockRequestProtocol>(&nets, block_request(), blocks()).await;
    exchange::<StateRequestProtocol>(&nets, state_request(), state_response()).await;
    exchange::<TicketToProxy>(&nets, ticket(), ()).await;
    exchange::<TicketDistribution>(&nets, ticket(), ()).await;
    exchange::<WorkPackageSharing>(&nets, bundle_with_mappings(), report_signature()).await;
    exchange::<ShardDistribution>(&nets, shard_request(), shard_response()).await;
    exchange::<AuditShardRequest>(&nets, shard_request(), audit_shard_response()).await;
    exchange::<SegmentShardRequestProtocol>(&nets, segment_shard_request(), segment_shards()).await;
    exchange::<JustifiedSegmentShardRequest>(
        &nets,
        segment_shard_request(),
        justified_segment_shards(),
    )
    .await;
    exchange::<AssuranceDistribution>(&nets, assurance(), ()).await;
    exchange::<PreimageAnnouncement>(&nets, h(5), ()).await;
    exchange::<PreimageRequest>(&nets, h(5), Raw(vec![1, 2, 3, 4])).await;
    exchange::<AuditAnnouncementProtocol>(&nets, audit_announcement_first(), ()).await;
    exchange::<AuditAnnouncementProtocol>(&nets, audit_announcement_later(), ()).await;
    exchange::<JudgmentPublication>(&nets, judgment(), ()).await;
    exchange::<BundleSubmission>(&nets, bundle_with_mappings(), ()).await;
    exchange::<BundleRequest>(&nets, h(6), Raw(vec![9; 100_000])).await;
    exchange::<SegmentRequestProtocol>(&nets, segment_request(), segment_response()).await;
    if let Some(gp) = gp_samples() {
        let extrinsic_len: u32 = gp
            .package
            .items
            .iter()
            .flat_map(|i| i.extrinsic.iter())
            .map(|x| x.len)
            .sum();
        let submission = WorkPackageSubmission {
            core_index: 1,
            package: gp.package.clone(),
            extrinsics: vec![0x5A; extrinsic_len as usize],
        };
        exchange::<WorkPackageSubmissionProtocol>(&nets, submission, ()).await;
        exchange::<WorkReportDistribution>(&nets, gp.guarantee.clone(), ()).await;
        exchange::<WorkReportRequest>(&nets, h(4), gp.report.clone()).await;
    }
    let m = nets[0].metrics().snapshot(BlockRequestProtocol::KIND);
    assert_eq!(m.streams_opened, 2);
    assert_eq!(m.streams_accepted, 2);
    assert!(m.bytes_sent > 0 && m.bytes_received > 0);
    for n in &nets {
        n.close();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_and_unknown_requests_are_typed_errors() {
    let (a, b) = (start(21), start(22));
    a.connect(b.peer_id(), addr(&b)).await.unwrap();
    // No handler registered for CE 143 on b.
    let e = a
        .request::<PreimageRequest>(&b.peer_id(), &h(1))
        .await
        .unwrap_err();
    assert_eq!(e, tessera_net::RequestError::Refused);
    b.register::<PreimageRequest, _, _>(|_, _| async { Err(Refusal("not here".into())) });
    let e = a
        .request::<PreimageRequest>(&b.peer_id(), &h(1))
        .await
        .unwrap_err();
    assert_eq!(e, tessera_net::RequestError::Refused);
    let stranger = identity(99).peer_id();
    let e = a
        .request::<PreimageRequest>(&stranger, &h(1))
        .await
        .unwrap_err();
    assert_eq!(e, tessera_net::RequestError::PeerUnknown(stranger));
    // A handler slower than the request timeout.
    let mut cfg = config();
    cfg.request_timeout = std::time::Duration::from_millis(300);
    let c = start_with(23, cfg);
    c.connect(b.peer_id(), addr(&b)).await.unwrap();
    b.register::<PreimageAnnouncement, _, _>(|_, _| async {
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        Ok(())
    });
    let e = c
        .request::<PreimageAnnouncement>(&b.peer_id(), &h(1))
        .await
        .unwrap_err();
    assert_eq!(e, tessera_net::RequestError::Timeout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn block_announcements_flow_both_ways() {
    let (a, b) = (start(31), start(32));
    let seen_a = Arc::new(Mutex::new(Vec::new()));
    let seen_b = Arc::new(Mutex::new(Vec::new()));
    {
        let s = seen_a.clone();
        a.on_block_announcement(move |p, e| s.lock().unwrap().push((p, e)));
        let s = seen_b.clone();
        b.on_block_announcement(move |p, e| s.lock().unwrap().push((p, e)));
    }
    let hs_a = common::samples::handshake();
    let mut hs_b = common::samples::handshake();
    hs_b.leaves.pop();
    a.set_chain_head(hs_a.clone());
    b.set_chain_head(hs_b.clone());
    a.connect(b.peer_id(), addr(&b)).await.unwrap();
    assert!(
        eventually(3, || seen_a.lock().unwrap().len() == 1
            && seen_b.lock().unwrap().len() == 1)
        .await
    );
    assert_eq!(
        seen_a.lock().unwrap()[0],
        (b.peer_id(), BlockAnnouncementEvent::Handshake(hs_b))
    );
    assert_eq!(
        seen_b.lock().unwrap()[0],
        (a.peer_id(), BlockAnnouncementEvent::Handshake(hs_a))
    );
    assert!(a.has_block_announcements(&b.peer_id()) && b.has_block_announcements(&a.peer_id()));

    let ann = |slot| Announcement {
        header: header(slot),
        finalized: BlockRef {
            hash: h(1),
            slot: 10,
        },
    };
    assert_eq!(a.announce(&ann(13)), 1);
    assert_eq!(b.announce(&ann(14)), 1);
    assert_eq!(b.announce(&ann(15)), 1);
    assert!(
        eventually(3, || seen_a.lock().unwrap().len() == 3
            && seen_b.lock().unwrap().len() == 2)
        .await
    );
    assert_eq!(
        seen_b.lock().unwrap()[1].1,
        BlockAnnouncementEvent::Announcement(Box::new(ann(13)))
    );
    assert_eq!(
        seen_a.lock().unwrap()[1].1,
        BlockAnnouncementEvent::Announcement(Box::new(ann(14)))
    );
    assert_eq!(
        seen_a.lock().unwrap()[2].1,
        BlockAnnouncementEvent::Announcement(Box::new(ann(15)))
    );
}

//! CE 144 and CE 145 over real JAMNP-S endpoints on loopback (tiny spec): the six
//! development validators, each on its own endpoint, publish their tranche-0
//! announcements and some judgments to an observer, whose inbox is drained into its
//! tracker in batches. Counted: every honest announcement and judgment; refused
//! and not counted: an announcement sent from another validator's connection, a
//! judgment with a damaged signature, a repeated judgment. No vectors exist for
//! this; the messages are JAMNP-S's and the checks GP §17.3's.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{auditors, block, q_from_mask};
use tessera_audit::farm::TrancheWork;
use tessera_audit::gossip::{forward, publish, register, Inbox};
use tessera_core::{ByteArray, ChainSpec};
use tessera_net::{Identity, Network, NetworkConfig};

fn endpoint(spec: &ChainSpec, identity: Identity) -> Network {
    let mut c = NetworkConfig::new("127.0.0.1:0".parse().unwrap(), ByteArray([0xC4; 32]));
    c.request_timeout = Duration::from_secs(5);
    c.handshake_timeout = Duration::from_secs(3);
    Network::start(identity, spec.clone(), c).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn announcements_and_judgments_travel_and_only_good_ones_count() {
    let spec = common::selective_tiny();
    let us = auditors(spec.validators());
    let q = q_from_mask(&spec, 5, |_| true);
    let mut scratch = block(&spec, 5, &us, q.clone());
    let observer_block = block(&spec, 5, &us, q);
    let header = observer_block.header_hash();

    // The observer, with its inbox.
    let observer = endpoint(&spec, Identity::from_ed25519_seed([0xEE; 32]));
    let inbox = Arc::new(Mutex::new(Inbox::default()));
    register(&observer, inbox.clone());

    // Each validator on its own endpoint, connected to the observer.
    let mut endpoints = BTreeMap::new();
    for (i, a) in us.iter().enumerate() {
        let net = endpoint(&spec, Identity::new(a.secrets.ed25519.clone()));
        net.connect(observer.peer_id(), observer.local_addr().unwrap())
            .await
            .unwrap();
        endpoints.insert(i as u16, net);
    }

    // Tranche 0: every validator announces; 0 and 1 judge valid, 2 invalid.
    let mut work = TrancheWork::default();
    for (i, a) in us.iter().enumerate() {
        let ann = scratch
            .announce(a, 0)
            .unwrap()
            .expect("one core of two is drawn");
        work.announcements.push((i as u16, ann));
    }
    for (i, valid) in [(0usize, true), (1, true), (2, false)] {
        let w = work.announcements[i].1.announcement.reports[0].1;
        work.judgments
            .push(scratch.judge(&us[i], w, valid).unwrap());
    }
    let observer_id = observer.peer_id();
    assert_eq!(publish(&endpoints, &[observer_id], &work).await, 0);

    // From validator 0's connection: validator 1's announcement, a judgment with a
    // damaged signature, and validator 1's judgment again (an exact copy).
    let mut forged = work.judgments[0].clone();
    forged.signature.0[0] ^= 1;
    let sent = forward(
        &endpoints[&0],
        &[observer_id],
        &[work.announcements[1].1.clone()],
        &[forged, work.judgments[1].clone()],
    )
    .await;
    assert_eq!(sent, 0);

    // The misrouted announcement and the forged judgment are refused; the exact
    // copy of validator 1's judgment, in the same drain, is checked once.
    let mut blocks = BTreeMap::from([(header, observer_block)]);
    let drained = inbox.lock().unwrap().drain_into(&mut blocks);
    assert_eq!(drained.announcements, 6);
    assert_eq!(drained.judgments, 3);
    assert_eq!(drained.refused, 2);
    assert_eq!(drained.unknown, 0);
    assert_eq!(drained.negative.len(), 1);
    assert_eq!(drained.negative[0], work.judgments[2]);

    // The observer's tracker now holds what the announcers' own does.
    let tracked = &blocks[&header];
    for (v, ann) in &work.announcements {
        let w = ann.announcement.reports[0].1;
        assert!(tracked.report(&w).unwrap().announced(0).contains(v));
    }
    for j in &work.judgments {
        let r = tracked.report(&j.report_hash).unwrap();
        let set = if j.valid { r.positive() } else { r.negative() };
        assert!(set.contains(&j.validator_index));
    }
    // A second drain has nothing left.
    let again = inbox.lock().unwrap().drain_into(&mut blocks);
    assert_eq!(again.announcements + again.judgments + again.refused, 0);
}

/// Messages for a block this node does not track yet (it imports the block after
/// its auditors spoke) are held, not dropped: once the block is tracked, the next
/// drain counts them; until then they count as unknown and stay held.
#[test]
fn messages_before_their_block_are_held_until_it_is_tracked() {
    let spec = common::selective_tiny();
    let us = auditors(spec.validators());
    let q = q_from_mask(&spec, 5, |_| true);
    let mut scratch = block(&spec, 5, &us, q.clone());
    let late = block(&spec, 5, &us, q);
    let header = late.header_hash();

    let mut inbox = Inbox::default();
    let mut judged = Vec::new();
    for a in &us {
        let ann = scratch.announce(a, 0).unwrap().expect("a core is drawn");
        let w = ann.announcement.reports[0].1;
        inbox
            .push_announcement(a.secrets.ed25519.public(), ann)
            .unwrap();
        let j = scratch.judge(a, w, true).unwrap();
        inbox.push_judgment(j.clone()).unwrap();
        judged.push(j);
    }

    // Not tracked yet: nothing counted, everything held.
    let mut none = BTreeMap::new();
    let first = inbox.drain_into(&mut none);
    assert_eq!(first.announcements + first.judgments, 0);
    assert_eq!(first.unknown, 2 * us.len());
    let again = inbox.drain_into(&mut none);
    assert_eq!(again.unknown, 2 * us.len(), "held across drains");

    // Tracked: all of it counts, once, and the block is audited by it.
    let mut blocks = BTreeMap::from([(header, late)]);
    let drained = inbox.drain_into(&mut blocks);
    assert_eq!(drained.announcements, us.len());
    assert_eq!(drained.judgments, us.len());
    assert_eq!(drained.refused + drained.unknown, 0);
    assert!(blocks[&header].is_audited());
    let after = inbox.drain_into(&mut blocks);
    assert_eq!(after.announcements + after.judgments + after.unknown, 0);
    for j in &judged {
        let r = blocks[&header].report(&j.report_hash).unwrap();
        assert!(r.positive().contains(&j.validator_index));
    }

    // Finished (audited, no longer tracked): a late copy of its announcements is
    // dropped at the next drain, not held; judgments stay held (they name a
    // report, which another fork's block may make available later).
    let reports: Vec<_> = judged.iter().map(|j| j.report_hash).collect();
    inbox.finish(header, reports);
    blocks.clear();
    for (a, j) in us.iter().zip(&judged) {
        let ann = scratch.announce(a, 0).unwrap();
        if let Some(ann) = ann {
            inbox
                .push_announcement(a.secrets.ed25519.public(), ann)
                .unwrap();
        }
        inbox.push_judgment(j.clone()).unwrap();
    }
    let late_copies = inbox.drain_into(&mut blocks);
    assert!(late_copies.unknown >= us.len(), "{late_copies:?}");
    let then = inbox.drain_into(&mut blocks);
    assert_eq!(then.unknown, us.len(), "only the judgments held");
    assert_eq!(then.announcements + then.judgments, 0);
}

/// A judgment names a report, not a block (CE 145): when the same report became
/// available in two tracked blocks (two forks), it counts in both, once each.
#[test]
fn a_judgment_counts_for_every_block_with_its_report() {
    let spec = common::selective_tiny();
    let us = auditors(spec.validators());
    let q = q_from_mask(&spec, 7, |_| true);
    let w = q[0].unwrap();
    let mut judge = block(&spec, 7, &us, q.clone());
    let (a, b) = (block(&spec, 7, &us, q.clone()), block(&spec, 8, &us, q));
    let (ha, hb) = (a.header_hash(), b.header_hash());
    assert_ne!(ha, hb);
    let mut blocks = BTreeMap::from([(ha, a), (hb, b)]);

    let mut inbox = Inbox::default();
    let j = judge.judge(&us[2], w, true).unwrap();
    inbox.push_judgment(j.clone()).unwrap();
    let drained = inbox.drain_into(&mut blocks);
    assert_eq!(drained.judgments, 2, "{drained:?}");
    assert_eq!(drained.refused + drained.unknown, 0, "{drained:?}");
    for h in [ha, hb] {
        assert!(blocks[&h].report(&w).unwrap().positive().contains(&2));
    }
    // A copy counts nowhere again and is not refused as a duplicate.
    inbox.push_judgment(j).unwrap();
    let again = inbox.drain_into(&mut blocks);
    assert_eq!(
        again.judgments + again.refused + again.unknown,
        0,
        "{again:?}"
    );
}

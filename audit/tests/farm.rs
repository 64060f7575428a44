//! The audit farm on loopback (tiny spec: V = 6, C = 2, one core per auditor in
//! tranche 0): all six development validators hosted in one farm audit a block
//! with both cores occupied — an honest report and one whose guarantor forged the
//! refine output, over the same bundle. Each identity announces one report, so at
//! least three identities select the same one; the farm fetches and re-executes
//! each selected report once and every identity judges it: six judgments from at
//! most two executions. The honest report's judgments are positive and it becomes
//! audited; the forged one's are negative. The bundle comes from a guarantor
//! (CE 147) for the honest report and from two assurers' shards (CE 138) for the
//! forged one, whose "guarantor" is not reachable. No vectors exist for this.

mod common;

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::case::{case, honest};
use common::loopback::node;
use tessera_audit::execute::Context;
use tessera_audit::farm::Farm;
use tessera_audit::fetch::BundleFetch;
use tessera_audit::BlockAudit;
use tessera_core::hash::blake2b_256;
use tessera_core::types::WorkExecResult;
use tessera_core::Bytes;
use tessera_da::availability::AvailabilityEngine;
use tessera_da::fetch::Holder;
use tessera_da::package::Distributable;
use tessera_da::serve::store_distributable;
use tessera_kernels::Backend;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_fetch_and_one_execution_per_report_whoever_selected_it() {
    let c = case();
    let spec = c.spec.clone();
    // The real erasure root of the bundle (no exports), as a guarantor computes it.
    let mut engine = AvailabilityEngine::new(&spec, Backend::Simd);
    let coded = Distributable::new(&spec, &mut engine, &c.bytes, &[] as &[Vec<u8>]).unwrap();
    let mut honest_report = c.report.clone();
    honest_report.package_spec.erasure_root = coded.erasure_root;
    let mut forged = honest_report.clone();
    forged.core_index = 0;
    forged.results[0].result = WorkExecResult::Ok(Bytes(b"forged".to_vec()));
    let (w_honest, w_forged) = (honest_report.hash(), forged.hash());

    // The network: the farm, a guarantor holding the bundle, six assurers.
    let farm_node = node(&spec, 1);
    let guarantor = node(&spec, 2);
    store_distributable(
        &guarantor.store,
        &coded,
        &c.bytes,
        &[] as &[Vec<u8>],
        1,
        None,
    )
    .unwrap();
    farm_node
        .net
        .connect(guarantor.net.peer_id(), guarantor.net.local_addr().unwrap())
        .await
        .unwrap();
    let mut assurers = Vec::new();
    let mut holders = Vec::new();
    for i in 0..spec.validators() {
        let n = node(&spec, 10 + i as u8);
        let set = coded.shard_set(i).unwrap();
        n.store
            .put_shard_set(&coded.erasure_root, i as u16, &set, 1)
            .unwrap();
        farm_node
            .net
            .connect(n.net.peer_id(), n.net.local_addr().unwrap())
            .await
            .unwrap();
        holders.push(Holder {
            peer: n.net.peer_id(),
            shard_index: i as u16,
        });
        assurers.push(n);
    }
    let sources = BTreeMap::from([
        (
            w_honest,
            BundleFetch {
                report: honest_report.clone(),
                guarantors: vec![guarantor.net.peer_id()],
                assurers: holders.clone(),
            },
        ),
        (
            w_forged,
            BundleFetch {
                report: forged.clone(),
                guarantors: Vec::new(),
                assurers: holders.clone(),
            },
        ),
    ]);

    // The block: core 0 the forged report, core 1 the honest one.
    let us = common::auditors(spec.validators());
    let mut block = BlockAudit::from_parts(
        &spec,
        blake2b_256(b"farm block"),
        common::entropy(3, 0),
        7,
        common::kappa(&us),
        vec![Some(w_forged), Some(w_honest)],
    )
    .unwrap();
    let mut farm = Farm::new(&spec, Backend::Simd, us);
    let root = Mutex::new(AvailabilityEngine::new(&spec, Backend::Simd));
    let auth = honest();
    let ctx = Context {
        lookup: &c.lookup,
        is_authorized: &auth,
        erasure_root: &root,
    };
    let work = farm
        .tranche(
            &farm_node.net,
            &mut block,
            0,
            &sources,
            &ctx,
            Instant::now() + Duration::from_secs(60),
        )
        .await
        .unwrap();

    // Each identity announced exactly one report (one core of two, both occupied).
    assert_eq!(work.announcements.len(), 6);
    let mut selections: BTreeMap<_, usize> = BTreeMap::new();
    for (_, a) in &work.announcements {
        assert_eq!(a.announcement.reports.len(), 1);
        *selections.entry(a.announcement.reports[0].1).or_default() += 1;
    }
    assert!(selections.values().any(|&n| n >= 3), "{selections:?}");
    // One execution per selected report, six judgments.
    let counters = farm.counters();
    assert_eq!(counters.executed as usize, selections.len());
    assert_eq!(
        (counters.from_guarantors + counters.reconstructed) as usize,
        selections.len()
    );
    assert_eq!(counters.judgments, 6);
    assert!(!work.late);
    for j in &work.judgments {
        assert_eq!(j.valid, j.report_hash == w_honest, "{j:?}");
    }
    assert_eq!(
        counters.negative as usize,
        selections.get(&w_forged).copied().unwrap_or(0)
    );
    if selections.contains_key(&w_honest) {
        assert_eq!(work.verdicts[&w_honest], Ok(()));
        assert_eq!(counters.from_guarantors, 1);
        assert!(block.report(&w_honest).unwrap().is_audited(6));
    }
    if selections.contains_key(&w_forged) {
        assert!(work.verdicts[&w_forged].is_err());
        assert!(!block.report(&w_forged).unwrap().is_audited(6));
    }
}

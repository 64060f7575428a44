//! `tessera bench da --workload validator`: the availability load one validator
//! carries in one slot, through the node's real path — `tessera-da`'s coding, store
//! (RocksDB in a temporary directory), handlers and verified fetches over JAMNP-S
//! endpoints on loopback — each phase beside the same work with the network left
//! out (`local`: the same store reads, verifications, writes and kernel calls,
//! without the requests).
//!
//! Phases, for one validator `v` (full spec: `V` = 1023, `C` = 341, `R` = 342):
//! - `guarantor`: code one maximum-size package (`W_B` bundle, `W_X` exports) on the
//!   backend, store what is served (every index's shard set, the bundle, the
//!   segments with import proofs), and answer the `V` CE 137 requests of the
//!   validators, all asking at once. Local: code, store, and read the `V` shard sets
//!   back as the handler does.
//! - `assurer`: fetch this validator's shard of each core's package, `(c·R + v) mod
//!   V`, from `C` guarantor endpoints at once over CE 137, verify each justification
//!   against the erasure root, store each set (one write each). Local: read, verify,
//!   store. Every core's package is the guarantor phase's package (the shard index
//!   differs per core, so each set is a distinct shard of real data; coding `C`
//!   packages first would only lengthen the setup).
//! - `auditor`: fetch `R` bundle shards (100 originals and `R − 100` recovery, tiny:
//!   one of each, so the decoder does real work) of each of `reports` reports over
//!   CE 138 from `R` assurer endpoints, verify each, and rebuild all the bundles in
//!   one `reconstruct_many` call with the codeword check. The reports are distinct
//!   maximum-size bundles coded in the setup. Local: read, verify, rebuild.
//! - `slot`: the three together (their sum).
//!
//! Every result is checked — each rebuilt bundle equals its original, every shard
//! set fetched proved and was stored — so a fast wrong answer is an error, not a
//! figure. Timed sections start once every connection is open. The endpoints are all
//! in this process, so the requesters' and the responders' work share the CPU: the
//! network figures are an upper bound on what one validator's machine spends.

use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, ensure, Context as _};
use rayon::prelude::*;
use serde::Serialize;
use tessera_core::{ChainSpec, Hash};
use tessera_da::assignment::shard_index;
use tessera_da::availability::AvailabilityEngine;
use tessera_da::fetch::{fetch_audit_shard, fetch_shard_set};
use tessera_da::justification::{verify_audit_shard, verify_bundle_shard};
use tessera_da::package::Distributable;
use tessera_da::reconstruct::{bundles, BundleShards};
use tessera_da::serve::{register, store_distributable};
use tessera_da::store::{ShardRow, ShardSet, ShardStore};
use tessera_kernels::{Backend, ErasureCode};
use tessera_net::messages::{ShardDistribution, ShardRequest};
use tessera_net::Network;
use tokio::task::JoinSet;

use crate::da::{filler, reconstruct_indices};
use crate::net::{endpoint, endpoint_config};

/// What a run measures.
#[derive(Clone, Debug)]
pub struct ValidatorConfig {
    /// Backends to measure.
    pub backends: Vec<Backend>,
    /// Reports audited (tranche 0 holds at most 10).
    pub reports: usize,
}

/// One phase on one path: the JSON record.
#[derive(Clone, Debug, Serialize)]
pub struct Record {
    /// Always `validator`.
    pub workload: &'static str,
    /// `guarantor`, `assurer`, `auditor` or `slot`.
    pub phase: &'static str,
    /// `network` (JAMNP-S on loopback in the path) or `local`.
    pub path: &'static str,
    /// The kernels backend.
    pub backend: &'static str,
    /// Requests made (network) or shard sets / shards handled (local).
    pub requests: usize,
    /// Octets of shards moved (guarantor, assurer, auditor: the shard payloads).
    pub bytes: usize,
    /// Wall time.
    pub seconds: f64,
    /// CPU time of the whole process (user and system, every thread) over the
    /// phase: below `seconds × cores` when the phase waits rather than computes.
    pub cpu_seconds: f64,
    /// `bytes / seconds / 10^6`.
    pub mb_per_s: f64,
    /// This path's seconds over the local path's (1 for `local`).
    pub over_local: f64,
}

/// The validator the bench stands for (any index gives the same work).
const VALIDATOR: u16 = 1;

/// Measure every phase on each backend of `config`, network then local; the caller
/// runs this on its tokio runtime.
pub async fn measure(spec: &ChainSpec, config: &ValidatorConfig) -> anyhow::Result<Vec<Record>> {
    let mut records = Vec::new();
    for &backend in &config.backends {
        let backend = backend.resolve();
        let mut setup = Setup::new(spec, backend, config.reports.max(1)).await?;
        let mut phases = Vec::new();
        phases.push(setup.guarantor().await?);
        phases.push(setup.assurer().await?);
        phases.push(setup.auditor().await?);
        let sum = |path: usize| -> Measured {
            let zero = Measured {
                requests: 0,
                bytes: 0,
                seconds: 0.0,
                cpu_seconds: 0.0,
            };
            phases.iter().fold(zero, |t, p: &[Measured; 2]| Measured {
                requests: t.requests + p[path].requests,
                bytes: t.bytes + p[path].bytes,
                seconds: t.seconds + p[path].seconds,
                cpu_seconds: t.cpu_seconds + p[path].cpu_seconds,
            })
        };
        let (network, local) = (sum(0), sum(1));
        let mut all: Vec<(&'static str, [Measured; 2])> = ["guarantor", "assurer", "auditor"]
            .into_iter()
            .zip(phases.iter().cloned())
            .collect();
        all.push(("slot", [network, local]));
        for (phase, [net, loc]) in all {
            for (path, m) in [("network", net), ("local", loc)] {
                let seconds = m.seconds.max(f64::MIN_POSITIVE);
                records.push(Record {
                    workload: "validator",
                    phase,
                    path,
                    backend: backend.name(),
                    requests: m.requests,
                    bytes: m.bytes,
                    seconds,
                    cpu_seconds: m.cpu_seconds,
                    mb_per_s: m.bytes as f64 / seconds / 1e6,
                    over_local: seconds / loc.seconds.max(f64::MIN_POSITIVE),
                });
            }
        }
    }
    Ok(records)
}

/// The table of `records`.
pub fn print_table(records: &[Record]) {
    println!(
        "{:>9} {:>7} {:>7} {:>8} {:>13} {:>9} {:>9} {:>9} {:>9}",
        "phase", "path", "backend", "requests", "bytes", "seconds", "cpu s", "MB/s", "÷ local"
    );
    for r in records {
        println!(
            "{:>9} {:>7} {:>7} {:>8} {:>13} {:>9.3} {:>9.3} {:>9.1} {:>8.2}x",
            r.phase,
            r.path,
            r.backend,
            r.requests,
            r.bytes,
            r.seconds,
            r.cpu_seconds,
            r.mb_per_s,
            r.over_local
        );
    }
}

/// One timed phase.
#[derive(Clone, Copy, Debug)]
struct Measured {
    requests: usize,
    bytes: usize,
    seconds: f64,
    cpu_seconds: f64,
}

/// Wall and process CPU time since it started.
struct Stopwatch {
    wall: Instant,
    cpu: f64,
}

impl Stopwatch {
    fn start() -> Stopwatch {
        Stopwatch {
            wall: Instant::now(),
            cpu: process_cpu_seconds(),
        }
    }

    /// `(wall seconds, CPU seconds)` so far.
    fn read(&self) -> (f64, f64) {
        (
            self.wall.elapsed().as_secs_f64(),
            process_cpu_seconds() - self.cpu,
        )
    }
}

/// User and system CPU seconds of this process so far, all threads, from
/// `/proc/self/stat` (fields 14 and 15, in clock ticks of `USER_HZ`, which Linux
/// fixes at 100 for user space); 0 where that file is absent (not Linux).
fn process_cpu_seconds() -> f64 {
    const USER_HZ: f64 = 100.0;
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // The command name (field 2) may hold spaces; fields resume after its ')'.
    let Some(rest) = stat.rfind(')').and_then(|at| stat.get(at + 1..)) else {
        return 0.0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3, so utime (14) and stime (15) are its 12th and 13th.
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / USER_HZ
}

/// The endpoints, stores and inputs of one backend's run.
struct Setup {
    spec: ChainSpec,
    backend: Backend,
    engine: AvailabilityEngine,
    /// The guarantor's package inputs.
    bundle: Vec<u8>,
    segments: Vec<Vec<u8>>,
    /// The guarantor phase's erasure root (set by it).
    package_root: Option<Hash>,
    /// The audited reports: erasure root and bundle.
    reports: Vec<(Hash, Vec<u8>)>,
    /// The guarantor's store, which every serving endpoint answers from.
    served: Arc<ShardStore>,
    /// This validator's own store (its fetched shard sets).
    own: Arc<ShardStore>,
    /// The guarantor endpoint.
    guarantor: Network,
    /// This validator's endpoint (assurer and auditor).
    me: Network,
    /// The other validators' endpoints: CE 137 requesters in the guarantor phase,
    /// guarantors and assurers serving from `served` in the others.
    peers: Vec<Network>,
    _dir: tempfile::TempDir,
}

impl Setup {
    async fn new(spec: &ChainSpec, backend: Backend, reports: usize) -> anyhow::Result<Setup> {
        let v = spec.validators();
        let dir = tempfile::tempdir().context("a temporary directory for the stores")?;
        let served = Arc::new(ShardStore::open(spec, &dir.path().join("served"))?);
        let own = Arc::new(ShardStore::open(spec, &dir.path().join("own"))?);
        let config = endpoint_config(v * reports.max(1))?;
        let guarantor = endpoint(spec, 0, &config)?;
        register(&guarantor, served.clone());
        let me = endpoint(spec, 1, &config)?;
        register(&me, own.clone());
        let mut peers = Vec::with_capacity(v);
        for n in 0..v {
            let peer = endpoint(spec, 2 + n as u32, &config)?;
            register(&peer, served.clone());
            peers.push(peer);
        }
        // Connections: every peer to the guarantor; me to every peer.
        let guarantor_addr = guarantor.local_addr()?;
        let mut connecting = JoinSet::new();
        for peer in &peers {
            let (from, to) = (peer.clone(), guarantor.peer_id());
            connecting.spawn(async move { from.connect(to, guarantor_addr).await });
            let (from, to, addr) = (me.clone(), peer.peer_id(), peer.local_addr()?);
            connecting.spawn(async move { from.connect(to, addr).await });
        }
        while let Some(joined) = connecting.join_next().await {
            joined
                .context("connect task")?
                .context("connecting endpoints")?;
        }

        // The audited reports: distinct maximum-size bundles, coded and stored
        // (untimed).
        let mut engine = AvailabilityEngine::new(spec, backend);
        let mut audited = Vec::with_capacity(reports);
        for r in 0..reports {
            let bundle = filler(spec.max_bundle_size as usize, 0xA0D1 + r as u64);
            let package = Distributable::new(spec, &mut engine, &bundle, &[] as &[Vec<u8>])?;
            store_distributable(&served, &package, &bundle, &[] as &[Vec<u8>], 1, None)?;
            audited.push((package.erasure_root, bundle));
        }
        let segments = (0..spec.max_exports as u64)
            .map(|i| filler(spec.segment_size as usize, 2 + i))
            .collect();
        Ok(Setup {
            spec: spec.clone(),
            backend,
            engine,
            bundle: filler(spec.max_bundle_size as usize, 1),
            segments,
            package_root: None,
            reports: audited,
            served,
            own,
            guarantor,
            me,
            peers,
            _dir: dir,
        })
    }

    /// Code, store and (network) serve every validator's CE 137 request.
    async fn guarantor(&mut self) -> anyhow::Result<[Measured; 2]> {
        let v = self.spec.validators();
        let mut out = [None, None];
        for (path, slot) in out.iter_mut().enumerate() {
            let clock = Stopwatch::start();
            let package =
                Distributable::new(&self.spec, &mut self.engine, &self.bundle, &self.segments)?;
            store_distributable(
                &self.served,
                &package,
                &self.bundle,
                &self.segments,
                1,
                None,
            )?;
            let root = package.erasure_root;
            let bytes = if path == 0 {
                let mut requests = JoinSet::new();
                for (i, peer) in self.peers.iter().enumerate() {
                    let (peer, to) = (peer.clone(), self.guarantor.peer_id());
                    let request = ShardRequest {
                        erasure_root: root,
                        shard_index: i as u16,
                    };
                    requests.spawn(async move {
                        peer.request::<ShardDistribution>(&to, &request).await
                    });
                }
                let mut bytes = 0;
                while let Some(joined) = requests.join_next().await {
                    let response = joined.context("request task")?.context("CE 137")?;
                    bytes += response.bundle_shard.len()
                        + response
                            .segment_shards
                            .0
                            .iter()
                            .map(Vec::len)
                            .sum::<usize>();
                }
                bytes
            } else {
                let served = self.served.clone();
                (0..v)
                    .into_par_iter()
                    .map(|i| {
                        let set = served
                            .shard_set(&root, i as u16)?
                            .context("a stored shard set")?;
                        Ok(set_bytes(&set))
                    })
                    .sum::<anyhow::Result<usize>>()?
            };
            let (seconds, cpu_seconds) = clock.read();
            *slot = Some(Measured {
                requests: v,
                bytes,
                seconds,
                cpu_seconds,
            });
            self.package_root = Some(root);
        }
        Ok([out[0].context("measured")?, out[1].context("measured")?])
    }

    /// Fetch, verify and store this validator's shard of every core's package.
    async fn assurer(&mut self) -> anyhow::Result<[Measured; 2]> {
        let root = self
            .package_root
            .context("the guarantor phase runs first")?;
        let cores = self.spec.cores().max(1);
        let indices: Vec<u16> = (0..cores as u16)
            .map(|c| shard_index(&self.spec, c, VALIDATOR).context("a shard index"))
            .collect::<anyhow::Result<_>>()?;
        let mut out = [None, None];
        for (path, slot) in out.iter_mut().enumerate() {
            // Both paths write the same sets (the second overwrites the first's).
            let clock = Stopwatch::start();
            let bytes = if path == 0 {
                let mut fetches = JoinSet::new();
                for (c, &index) in indices.iter().enumerate() {
                    let guarantor = self.peers[c % self.peers.len()].peer_id();
                    let (me, own) = (self.me.clone(), self.own.clone());
                    fetches.spawn(async move {
                        fetch_shard_set(&me, &own, &[guarantor], &root, index, 2).await
                    });
                }
                let mut bytes = 0;
                while let Some(joined) = fetches.join_next().await {
                    let set = joined.context("fetch task")?.context("CE 137 fetch")?;
                    bytes += set_bytes(&set);
                }
                bytes
            } else {
                let (spec, served, own) = (&self.spec, &self.served, &self.own);
                indices
                    .par_iter()
                    .map(|&index| {
                        let set = served
                            .shard_set(&root, index)?
                            .context("a stored shard set")?;
                        let segment_shards_root = verify_bundle_shard(
                            spec,
                            &root,
                            usize::from(index),
                            &set.bundle_shard,
                            &set.segment_shards,
                            &set.justification,
                        )?;
                        let segment_shards = set.segment_shards.concat();
                        let row = ShardRow {
                            index,
                            bundle_shard: &set.bundle_shard,
                            segment_shards: &segment_shards,
                            segment_shards_root,
                            justification: &set.justification,
                        };
                        own.put_shard_rows(&root, [row], 2)?;
                        Ok(set_bytes(&set))
                    })
                    .sum::<anyhow::Result<usize>>()?
            };
            let (seconds, cpu_seconds) = clock.read();
            for &index in &indices {
                ensure!(
                    self.own.shard_set(&root, index)?.is_some(),
                    "shard {index} was not stored"
                );
            }
            *slot = Some(Measured {
                requests: indices.len(),
                bytes,
                seconds,
                cpu_seconds,
            });
        }
        Ok([out[0].context("measured")?, out[1].context("measured")?])
    }

    /// Fetch `R` bundle shards of each report, verify them and rebuild every bundle in
    /// one kernel call.
    async fn auditor(&mut self) -> anyhow::Result<[Measured; 2]> {
        let indices = reconstruct_indices(ErasureCode::for_spec(&self.spec));
        let mut out = [None, None];
        for (path, slot) in out.iter_mut().enumerate() {
            let clock = Stopwatch::start();
            // shards[r]: (index, shard) pairs of report r.
            let mut shards: Vec<Vec<(usize, Vec<u8>)>> = vec![Vec::new(); self.reports.len()];
            if path == 0 {
                let mut fetches = JoinSet::new();
                for (r, (root, _)) in self.reports.iter().enumerate() {
                    for &index in &indices {
                        let assurer = self.peers[index % self.peers.len()].peer_id();
                        let (me, spec, root) = (self.me.clone(), self.spec.clone(), *root);
                        fetches.spawn(async move {
                            let shard =
                                fetch_audit_shard(&me, &spec, &assurer, &root, index as u16).await;
                            (r, index, shard)
                        });
                    }
                }
                while let Some(joined) = fetches.join_next().await {
                    let (r, index, shard) = joined.context("fetch task")?;
                    shards[r].push((index, shard.context("CE 138 fetch")?));
                }
            } else {
                let (spec, served) = (&self.spec, &self.served);
                let fetched: Vec<anyhow::Result<(usize, usize, Vec<u8>)>> = self
                    .reports
                    .par_iter()
                    .enumerate()
                    .flat_map_iter(|(r, (root, _))| {
                        indices.iter().map(move |&index| {
                            let i = index as u16;
                            let shard = served.bundle_shard(root, i)?.context("a bundle shard")?;
                            let proof = served.proof(root, i)?.context("a shard proof")?;
                            let justification = tessera_da::justification::audit_shard(
                                &proof.justification,
                                proof.segment_shards_root,
                            );
                            verify_audit_shard(spec, root, index, &shard, &justification)?;
                            Ok((r, index, shard))
                        })
                    })
                    .collect();
                for item in fetched {
                    let (r, index, shard) = item?;
                    shards[r].push((index, shard));
                }
            }
            let fetched_bytes: usize = shards.iter().flatten().map(|(_, s)| s.len()).sum();
            let borrowed: Vec<Vec<(usize, &[u8])>> = shards
                .iter()
                .map(|set| set.iter().map(|(i, s)| (*i, s.as_slice())).collect())
                .collect();
            let jobs: Vec<BundleShards<'_>> = borrowed
                .iter()
                .zip(&self.reports)
                .map(|(shards, (_, bundle))| BundleShards {
                    shards,
                    bundle_len: bundle.len(),
                })
                .collect();
            let rebuilt = bundles(&self.spec, self.backend, &jobs);
            let (seconds, cpu_seconds) = clock.read();
            for (result, (root, bundle)) in rebuilt.into_iter().zip(&self.reports) {
                let got = result.with_context(|| format!("rebuilding report {root}"))?;
                if got != *bundle {
                    bail!("report {root} rebuilt to other bytes");
                }
            }
            *slot = Some(Measured {
                requests: shards.iter().map(Vec::len).sum(),
                bytes: fetched_bytes,
                seconds,
                cpu_seconds,
            });
        }
        Ok([out[0].context("measured")?, out[1].context("measured")?])
    }
}

/// Octets of a shard set's shards.
fn set_bytes(set: &ShardSet) -> usize {
    set.bundle_shard.len() + set.segment_shards.iter().map(Vec::len).sum::<usize>()
}

//! `tessera bench audit`: auditing `N` maximum-size work reports end to end, through
//! `tessera-audit` and `tessera-da` over JAMNP-S on loopback, as an audit farm (all
//! reports at once: shards fetched concurrently, rebuilt in one kernel call,
//! re-executed in parallel) beside auditing them one at a time.
//!
//! The packages: each a bundle of `W_B` octets at most (one work item whose one
//! extrinsic fills the bundle), whose refine code is a PVM loop of 64-bit
//! arithmetic, `--refine-instructions` long (default 50 million; GP v0.7.2 charges
//! one gas per instruction), written here (the traces' services refine little). Its
//! output is its argument (the loop leaves `ω_7`, `ω_8` alone), so the report is
//! the guarantor's own run of `tessera-state`'s refine. The authorizer is a program
//! that halts at once, run through `tessera-state`'s Ψ_I by guarantor and auditor
//! (its trace is `E_2(c)`).
//!
//! Setup (untimed): the packages are refined and coded by a guarantor, their shard
//! sets stored in one RocksDB store served by `V` assurer endpoints (full spec: 1023),
//! and the auditor connected to them. Timed, per mode:
//! - `fetch`: `R` bundle shards of each report over CE 138 (342 per report at full
//!   spec), each proven to the erasure root;
//! - `reconstruct`: the bundles rebuilt (with the codeword check) — one
//!   `reconstruct_many` call for the farm, one call per report one at a time;
//! - `execute`: the audit proper, `e_n(w)`: strict decode, data checks, Ψ_R, the
//!   digests and the availability specifier (its erasure root recoded) recomputed
//!   and compared — and within it `refine`, Ψ_R alone, measured separately;
//! - `total`: the three together.
//!
//! Every audit must come out valid, or the run is an error.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{bail, Context as _};
use rayon::prelude::*;
use serde::Serialize;
use tessera_audit::execute::{audit, digest, Bundle, Context, StateAuthorizer};
use tessera_core::codec::Encode;
use tessera_core::hash::{blake2b_256, blake2b_256_concat};
use tessera_core::merkle::constant_depth;
use tessera_core::types::{
    AvailabilitySpec, CoreIndex, ExtrinsicSpec, RefineContext, SegmentRootLookup, ServiceId,
    TimeSlot, WorkExecResult, WorkItem, WorkPackage, WorkReport,
};
use tessera_core::{ByteArray, Bytes, ChainSpec, Hash};
use tessera_da::availability::AvailabilityEngine;
use tessera_da::fetch::{fetch_audit_shards, Holder};
use tessera_da::package::Distributable;
use tessera_da::reconstruct::{bundles, BundleShards};
use tessera_da::serve::{register, store_distributable};
use tessera_da::store::ShardStore;
use tessera_kernels::Backend;
use tessera_net::Network;
use tessera_pvm::{Opcode, Program};
use tessera_state::refine::{refine_items, HistoricalLookup, Refinement};
use tokio::task::JoinSet;

use crate::da::filler;
use crate::net::{endpoint, endpoint_config};

/// What a run measures.
#[derive(Clone, Debug)]
pub struct AuditConfig {
    /// Reports audited (tranche 0: up to 10).
    pub reports: usize,
    /// Backends for the rebuilds.
    pub backends: Vec<Backend>,
    /// Instructions (gas) of each report's refine.
    pub refine_instructions: u64,
}

/// One phase of one mode: the JSON record.
#[derive(Clone, Debug, Serialize)]
pub struct Record {
    /// `farm` (all reports at once) or `one-at-a-time`.
    pub mode: &'static str,
    /// `fetch`, `reconstruct`, `execute`, `refine` (within `execute`) or `total`.
    pub phase: &'static str,
    /// The kernels backend of the rebuilds.
    pub backend: &'static str,
    /// Reports audited.
    pub reports: usize,
    /// Wall time of the phase, summed over reports one at a time.
    pub seconds: f64,
    /// `reports / seconds`.
    pub reports_per_s: f64,
    /// One at a time's seconds over this mode's (1 for `one-at-a-time`).
    pub speedup: f64,
}

const SERVICE: ServiceId = 1;
const ANCHOR_SLOT: TimeSlot = 1;
/// The authorizer: a program that halts at once, so Ψ_I authorizes every package
/// with its argument `E_2(c)` as the trace (GP B.2), for one gas.
fn authorizer() -> Vec<u8> {
    let blob = Program::encode_blob(&[], &[Opcode::JumpInd.code(), 0], &[true, false]);
    standard_preimage(&blob)
}

/// Λ: the refine and authorizer code, by hash, at any slot.
struct Code(BTreeMap<Hash, Vec<u8>>);

impl HistoricalLookup for Code {
    fn historical_lookup(&self, service: ServiceId, _: TimeSlot, hash: &Hash) -> Option<Vec<u8>> {
        (service == SERVICE)
            .then(|| self.0.get(hash).cloned())
            .flatten()
    }
}

/// The refine code: `load_imm ω_9, n`, `fallthrough`, then a loop of nine
/// instructions of 64-bit arithmetic on `ω_1..ω_6` counting `ω_9` down, then
/// `jump_ind ω_0` (the halt address): `9·n + 3` instructions. As a standard program preimage (GP
/// A.7) with metadata `"b"`, no data, a 4 KiB stack.
fn loop_program(iterations: u32) -> Vec<u8> {
    let three = |op: Opcode, d: u8, a: u8, b: u8| vec![op.code(), a | (b << 4), d];
    let imm = |op: Opcode, a: u8, b: u8, v: i32| {
        let mut x = vec![op.code(), a | (b << 4)];
        x.extend_from_slice(&v.to_le_bytes());
        x
    };
    let mut load = vec![Opcode::LoadImm.code(), 9];
    load.extend_from_slice(&iterations.to_le_bytes());
    let body = vec![
        three(Opcode::Add64, 1, 1, 2),
        three(Opcode::Xor, 2, 2, 1),
        three(Opcode::Mul64, 3, 3, 1),
        imm(Opcode::ShloRImm64, 4, 3, 7),
        three(Opcode::Add64, 5, 5, 4),
        imm(Opcode::AndImm, 6, 5, 0xff),
        three(Opcode::Sub64, 1, 1, 6),
        imm(Opcode::AddImm64, 9, 9, -1),
    ];
    let body_len: usize = body.iter().map(Vec::len).sum();
    let mut branch = vec![Opcode::BranchNeImm.code(), 9];
    branch.extend_from_slice(&(-(body_len as i32)).to_le_bytes());
    // `fallthrough` ends the first basic block, so the loop body starts one (a
    // branch may only target a block's start, GP A.5).
    let mut instrs = vec![load, vec![Opcode::Fallthrough.code()]];
    instrs.extend(body);
    instrs.push(branch);
    instrs.push(vec![Opcode::JumpInd.code(), 0]);
    let mut code = Vec::new();
    let mut starts = Vec::new();
    for i in instrs {
        starts.push(true);
        starts.extend(std::iter::repeat_n(false, i.len() - 1));
        code.extend(i);
    }
    standard_preimage(&Program::encode_blob(&[], &code, &starts))
}

/// A standard program (GP A.7) of `blob` with no data and a 4 KiB stack —
/// `E(o-len₃, w-len₃, z₂, s₃) ⌢ E₄(|c|) ⌢ c` — as a preimage with metadata `"b"`.
fn standard_preimage(blob: &[u8]) -> Vec<u8> {
    let mut p = vec![0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0];
    p.extend_from_slice(&(blob.len() as u32).to_le_bytes());
    p.extend_from_slice(blob);
    let mut preimage = vec![1, b'b'];
    preimage.extend_from_slice(&p);
    preimage
}

/// One report to audit, as its guarantor made it.
struct Case {
    report: WorkReport,
    bundle: Vec<u8>,
}

/// A maximum-size package `n` refined and coded by its guarantor.
fn guarantee(
    spec: &ChainSpec,
    engine: &mut AvailabilityEngine,
    code: &Code,
    (code_hash, auth_hash): (Hash, Hash),
    iterations: u32,
    n: usize,
) -> anyhow::Result<(Case, Distributable)> {
    let context = RefineContext {
        anchor: ByteArray([1; 32]),
        state_root: ByteArray([2; 32]),
        beefy_root: ByteArray([3; 32]),
        lookup_anchor: ByteArray([4; 32]),
        lookup_anchor_slot: ANCHOR_SLOT,
        prerequisites: Vec::new(),
    };
    let mut item = WorkItem {
        service: SERVICE,
        code_hash,
        refine_gas_limit: spec.gas_refine,
        accumulate_gas_limit: 1_000,
        export_count: 0,
        payload: Bytes((n as u64).to_le_bytes().to_vec()),
        import_segments: Vec::new(),
        extrinsic: Vec::new(),
    };
    let package_of = |item: &WorkItem| WorkPackage {
        auth_code_host: SERVICE,
        auth_code_hash: auth_hash,
        context: context.clone(),
        authorization: Bytes(b"token".to_vec()),
        authorizer_config: Bytes(b"config".to_vec()),
        items: vec![item.clone()],
    };
    // One extrinsic filling the bundle to W_B: the package with a placeholder spec
    // has the final length, as the spec's fields are fixed-size.
    item.extrinsic = vec![ExtrinsicSpec {
        hash: Hash::ZERO,
        len: 0,
    }];
    let overhead = package_of(&item).encode().len();
    let blob_len = (spec.max_bundle_size as usize).saturating_sub(overhead);
    let blob = filler(blob_len, 0xB0 + n as u64);
    item.extrinsic = vec![ExtrinsicSpec {
        hash: blake2b_256(&blob),
        len: blob_len as u32,
    }];
    let package = package_of(&item);
    let bundle = Bundle {
        package: package.clone(),
        extrinsics: vec![vec![blob]],
        imports: vec![Vec::new()],
        justifications: vec![Vec::new()],
    };
    let core = n as CoreIndex % spec.core_count.max(1);
    let (trace, auth_gas) = tessera_state::authorize::psi_i(spec, &package, core, code);
    let trace = trace.map_err(|e| anyhow::anyhow!("the authorizer refused: {e:?}"))?;
    let outcomes = refine_items(&Refinement {
        spec,
        core,
        package: &package,
        auth_trace: &trace,
        imports: &bundle.imports,
        extrinsics: &bundle.extrinsics,
        lookup: code,
    });
    let outcome = outcomes.first().context("one refine outcome")?;
    // The loop must have run to its end: a fault would make the bench measure
    // nothing (the auditor would agree with the guarantor on the fault).
    let expected = 9 * u64::from(iterations) + 3;
    if !matches!(outcome.result, WorkExecResult::Ok(_)) || outcome.gas_used != expected {
        bail!(
            "the refine loop did not run as written: {:?} after {} gas, expected Ok after {expected}",
            outcome.result,
            outcome.gas_used
        );
    }
    let bytes = bundle.encode();
    let coded = Distributable::new(spec, engine, &bytes, &outcome.exports)?;
    let report = WorkReport {
        package_spec: AvailabilitySpec {
            hash: blake2b_256(&package.encode()),
            length: bytes.len() as u32,
            erasure_root: coded.erasure_root,
            exports_root: constant_depth::root(&outcome.exports, blake2b_256),
            exports_count: outcome.exports.len() as u16,
        },
        context,
        core_index: core,
        authorizer_hash: blake2b_256_concat(&[&auth_hash.0, b"config"]),
        auth_gas_used: auth_gas,
        auth_output: Bytes(trace),
        segment_root_lookup: SegmentRootLookup(Vec::new()),
        results: vec![digest(&item, outcome.result.clone(), outcome.gas_used)],
    };
    Ok((
        Case {
            report,
            bundle: bytes,
        },
        coded,
    ))
}

/// Seconds of each phase for a set of reports.
#[derive(Clone, Copy, Debug, Default)]
struct Phases {
    fetch: f64,
    reconstruct: f64,
    execute: f64,
    refine: f64,
}

/// Measure: the farm and one at a time, per backend.
pub async fn measure(spec: &ChainSpec, config: &AuditConfig) -> anyhow::Result<Vec<Record>> {
    let reports = config.reports.max(1);
    let iterations = u32::try_from(config.refine_instructions / 10)
        .unwrap_or(u32::MAX)
        .max(1);
    let program = loop_program(iterations);
    let code_hash = blake2b_256(&program);
    let auth = authorizer();
    let auth_hash = blake2b_256(&auth);
    let code = Code(BTreeMap::from([(code_hash, program), (auth_hash, auth)]));

    // Assurers: V endpoints serving one store; the auditor connected to them.
    let dir = tempfile::tempdir().context("a temporary directory for the store")?;
    let store = Arc::new(ShardStore::open(spec, dir.path())?);
    let config_net = endpoint_config(reports * spec.validators())?;
    let auditor = endpoint(spec, 0, &config_net)?;
    let mut assurers = Vec::with_capacity(spec.validators());
    let mut connecting = JoinSet::new();
    for i in 0..spec.validators() {
        let peer = endpoint(spec, 1 + i as u32, &config_net)?;
        register(&peer, store.clone());
        let (from, to, addr) = (auditor.clone(), peer.peer_id(), peer.local_addr()?);
        connecting.spawn(async move { from.connect(to, addr).await });
        assurers.push(peer);
    }
    while let Some(joined) = connecting.join_next().await {
        joined
            .context("connect task")?
            .context("connecting to an assurer")?;
    }
    let holders: Vec<Holder> = assurers
        .iter()
        .enumerate()
        .map(|(i, a)| Holder {
            peer: a.peer_id(),
            shard_index: i as u16,
        })
        .collect();
    // Ask from the end: recovery shards first, so the decoder does real work.
    let mut holders = holders;
    holders.reverse();

    let mut records = Vec::new();
    for &backend in &config.backends {
        let backend = backend.resolve();
        let mut engine = AvailabilityEngine::new(spec, backend);
        let mut cases = Vec::with_capacity(reports);
        for n in 0..reports {
            let (case, coded) = guarantee(
                spec,
                &mut engine,
                &code,
                (code_hash, auth_hash),
                iterations,
                n,
            )?;
            store_distributable(&store, &coded, &case.bundle, &[] as &[Vec<u8>], 1, None)?;
            cases.push(case);
        }
        let root = Mutex::new(AvailabilityEngine::new(spec, backend));
        let authorize = StateAuthorizer {
            spec,
            lookup: &code,
        };
        let ctx = Context {
            lookup: &code,
            is_authorized: &authorize,
            erasure_root: &root,
        };
        let farm = audit_all(&auditor, spec, backend, &cases, &holders, &ctx).await?;
        let mut single = Phases::default();
        for case in &cases {
            let p = audit_all(
                &auditor,
                spec,
                backend,
                std::slice::from_ref(case),
                &holders,
                &ctx,
            )
            .await?;
            single.fetch += p.fetch;
            single.reconstruct += p.reconstruct;
            single.execute += p.execute;
            single.refine += p.refine;
        }
        let total = |p: &Phases| p.fetch + p.reconstruct + p.execute;
        for (mode, p) in [("farm", farm), ("one-at-a-time", single)] {
            for (phase, seconds, baseline) in [
                ("fetch", p.fetch, single.fetch),
                ("reconstruct", p.reconstruct, single.reconstruct),
                ("execute", p.execute, single.execute),
                ("refine", p.refine, single.refine),
                ("total", total(&p), total(&single)),
            ] {
                let seconds = seconds.max(f64::MIN_POSITIVE);
                records.push(Record {
                    mode,
                    phase,
                    backend: backend.name(),
                    reports,
                    seconds,
                    reports_per_s: reports as f64 / seconds,
                    speedup: baseline / seconds,
                });
            }
        }
    }
    Ok(records)
}

/// Audit `cases` together: fetch every report's shards at once, rebuild them in one
/// call, execute them in parallel; each must be valid.
async fn audit_all(
    auditor: &Network,
    spec: &ChainSpec,
    backend: Backend,
    cases: &[Case],
    holders: &[Holder],
    ctx: &Context<'_>,
) -> anyhow::Result<Phases> {
    let start = Instant::now();
    let mut fetches = JoinSet::new();
    for (n, case) in cases.iter().enumerate() {
        let (net, spec, root, holders) = (
            auditor.clone(),
            spec.clone(),
            case.report.package_spec.erasure_root,
            holders.to_vec(),
        );
        fetches.spawn(async move { (n, fetch_audit_shards(&net, &spec, &root, &holders).await) });
    }
    let mut shards: Vec<Vec<(Holder, Vec<u8>)>> = cases.iter().map(|_| Vec::new()).collect();
    while let Some(joined) = fetches.join_next().await {
        let (n, got) = joined.context("fetch task")?;
        if got.len() < spec.erasure_originals() {
            bail!("report {n}: only {} shards fetched", got.len());
        }
        shards[n] = got;
    }
    let fetch = start.elapsed().as_secs_f64();

    let start = Instant::now();
    let lists: Vec<Vec<(usize, &[u8])>> = shards
        .iter()
        .map(|s| {
            s.iter()
                .map(|(h, x)| (usize::from(h.shard_index), x.as_slice()))
                .collect()
        })
        .collect();
    let jobs: Vec<BundleShards<'_>> = lists
        .iter()
        .zip(cases)
        .map(|(shards, c)| BundleShards {
            shards,
            bundle_len: c.report.package_spec.length as usize,
        })
        .collect();
    let rebuilt: Vec<Vec<u8>> = bundles(spec, backend, &jobs)
        .into_iter()
        .collect::<Result<_, _>>()
        .context("rebuilding a bundle")?;
    let reconstruct = start.elapsed().as_secs_f64();
    for (b, c) in rebuilt.iter().zip(cases) {
        if *b != c.bundle {
            bail!("a bundle rebuilt to other bytes");
        }
    }

    // Ψ_R alone, then the whole audit, each over every report in parallel.
    let start = Instant::now();
    rebuilt.par_iter().zip(cases).try_for_each(|(bytes, c)| {
        let b = Bundle::decode(spec, bytes).map_err(|e| anyhow::anyhow!("decode: {e}"))?;
        let outcomes = refine_items(&Refinement {
            spec,
            core: c.report.core_index,
            package: &b.package,
            auth_trace: &c.report.auth_output.0,
            imports: &b.imports,
            extrinsics: &b.extrinsics,
            lookup: ctx.lookup,
        });
        std::hint::black_box(outcomes);
        anyhow::Ok(())
    })?;
    let refine = start.elapsed().as_secs_f64();
    let start = Instant::now();
    rebuilt.par_iter().zip(cases).try_for_each(|(bytes, c)| {
        audit(spec, &c.report, bytes, ctx).map_err(|e| anyhow::anyhow!("audit judged invalid: {e}"))
    })?;
    let execute = start.elapsed().as_secs_f64();
    Ok(Phases {
        fetch,
        reconstruct,
        execute,
        refine,
    })
}

/// The table of `records`.
pub fn print_table(records: &[Record]) {
    println!(
        "{:>14} {:>12} {:>7} {:>7} {:>9} {:>10} {:>8}",
        "mode", "phase", "backend", "reports", "seconds", "reports/s", "speedup"
    );
    for r in records {
        println!(
            "{:>14} {:>12} {:>7} {:>7} {:>9.3} {:>10.2} {:>7.2}x",
            r.mode, r.phase, r.backend, r.reports, r.seconds, r.reports_per_s, r.speedup
        );
    }
}

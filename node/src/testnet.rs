//! `tessera testnet`: a live local JAM network — every validator of the chain spec
//! (tiny: 6) as a full node in this process, talking real JAMNP-S over QUIC on
//! loopback, each with its own RocksDB under one base path.
//!
//! A status line per slot shows what the network does; the run stops after
//! `--slots` slots (or on Ctrl-C) with a summary, and exits 0 only if the network
//! did what a JAM network must (see [`Summary::passed`]).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context as _;
use clap::Args;
use tessera_core::crypto::jip5::ValidatorSecrets;
use tessera_core::spec::ChainSpec;
use tessera_core::types::{Header, TimeSlot};
use tessera_net::{NetworkConfig, PeerId};
use tessera_state::ChainState;
use tracing::info;

use crate::chain::Chain;
use crate::node::{Node, NodeConfig, Stats};
use crate::store::StateStore;

/// Arguments of `tessera testnet`.
#[derive(Clone, Debug, Args)]
pub struct TestnetArgs {
    /// Stop after this many slots (default: run until Ctrl-C).
    #[arg(long)]
    pub slots: Option<u32>,
    /// The length of a slot in seconds (the GP's is 6; shorter makes a faster local
    /// chain).
    #[arg(long, default_value_t = 6.0)]
    pub slot_seconds: f64,
    /// Keep the nodes' databases here (default: a temporary directory, removed at
    /// the end).
    #[arg(long)]
    pub base_path: Option<PathBuf>,
    /// The first UDP port; validator `i` listens on `port + i` (0: any free port).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Where data-availability kernels run: auto, gpu, simd or cpu.
    #[arg(long, default_value = "auto")]
    pub da_backend: String,
    /// Keep every state (default: prune states behind the finalized block).
    #[arg(long)]
    pub archive: bool,
    /// The first validator's JIP-2 RPC port (0: any free port; a port in use is
    /// logged and skipped).
    #[arg(long, default_value_t = crate::rpc::DEFAULT_PORT)]
    pub rpc_port: u16,
    /// The first validator's Prometheus `/metrics` port.
    #[arg(long, default_value_t = crate::metrics::DEFAULT_PORT)]
    pub prometheus_port: u16,
    /// A JIP-3 telemetry server every validator sends events to, `HOST:PORT`.
    #[arg(long)]
    pub telemetry: Option<String>,
    /// Make validators 0 and 1 lying guarantors (as primary they misreport the
    /// refine result, as co-guarantor they sign without checking): the run passes
    /// only if the lie is caught — negative judgments, a bad verdict on chain, a
    /// liar in the offenders `ψ_O`.
    #[arg(long)]
    pub byzantine_guarantor: bool,
    /// Make validator 1 a faulty guarantor: it takes the packages submitted to
    /// it and never guarantees them. The builder must notice (no block reported
    /// a package before its anchor left recent history) and submit them again;
    /// the run passes only if every payload was still accumulated.
    #[arg(long, conflicts_with = "byzantine_guarantor")]
    pub faulty_guarantor: bool,
    /// Start from a genesis whose next validator set `γ_P` is the validators in
    /// reverse order ([`crate::genesis::rotating_testnet_genesis`]): at the
    /// first epoch change every validator's index in `κ` changes, at the second
    /// it changes back. Assuring, auditing and guaranteeing must follow. (Not
    /// with `--processes`, whose nodes start from the usual genesis, nor with
    /// `--byzantine-guarantor`, whose check names its liars by their first
    /// indices.)
    #[arg(long, conflicts_with_all = ["processes", "byzantine_guarantor"])]
    pub rotate_validators: bool,
    /// Run `V + 1` validators from a genesis whose next validator set `γ_P`
    /// replaces the last validator by the extra one
    /// ([`crate::genesis::changing_testnet_genesis`]): at the first epoch change
    /// the newcomer joins `κ` and validator `V − 1` leaves it, at the second they
    /// swap back. GRANDPA hands off to a new voter set at each (the run passes
    /// only if finality reached voter set 2), and every duty must follow. (Not
    /// with `--processes`, `--byzantine-guarantor` or `--rotate-validators`.)
    #[arg(long, conflicts_with_all = ["processes", "byzantine_guarantor", "rotate_validators"])]
    pub change_validators: bool,
    /// The payload of each work package the builder submits (one per core per
    /// slot); 0: no builder.
    #[arg(long, default_value_t = 16 * 1024)]
    pub payload_bytes: usize,
    /// Run the last `N` validators as separate `tessera node` processes (one
    /// each, on fixed loopback ports, their logs in `validator-I/node.log` under
    /// the base path); the others, the builder and the status line stay in this
    /// process. 0: every validator in this process.
    #[arg(long, default_value_t = 0)]
    pub processes: usize,
    /// One audit farm for the validators in this process (as
    /// `tessera node --validators-hosted` runs one): each report they select is
    /// fetched and re-executed once and judged by each of them. Default: every
    /// validator audits on its own.
    #[arg(long)]
    pub farm: bool,
}

/// What a run did, from the first validator's view of its chain.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    /// Slots the run lasted.
    pub slots: u32,
    /// Blocks authored, all validators together.
    pub authored: u64,
    /// The best block's height and slot at the end.
    pub best_height: u32,
    /// The best block's slot.
    pub best_slot: TimeSlot,
    /// Ticket-sealed blocks on the best chain (GP 19.1's `m`).
    pub ticketed: u32,
    /// The finalized block's height.
    pub finalized_height: u32,
    /// Whether every validator ended on the same best block.
    pub agreed: bool,
    /// Reports made available (`W`), in the first validator's view.
    pub available: u64,
    /// Blocks with available reports that the first validator saw audited.
    pub blocks_audited: u64,
    /// Reports re-executed by audits, all validators together.
    pub audits: u64,
    /// Of those, judged invalid.
    pub invalid: u64,
    /// Verdicts of bad or wonky pooled for the chain, all validators together.
    pub disputes: u64,
    /// Assurances sent, all validators together.
    pub assurances: u64,
    /// Shard octets fetched by assurers, all validators together.
    pub shard_bytes: u64,
    /// Work packages the builder submitted (and a guarantor took).
    pub submitted: u64,
    /// Of those, accumulated.
    pub accumulated: u64,
    /// Submissions no guarantor took (tried again the next slot).
    pub refused: u64,
    /// Payloads no guarantor had taken by the end of the run.
    pub untaken: u64,
    /// Of the packages submitted, those importing a segment another exported.
    pub importing: u64,
    /// Packages no block reported before their anchor left recent history,
    /// submitted again (see [`Builder`]); not counted in `submitted`.
    pub resubmitted: u64,
    /// The slots at which the packages not accumulated were submitted.
    pub missing: Vec<TimeSlot>,
    /// Reports judged bad on chain (`ψ_B` of the first validator's best state).
    pub bad_verdicts: usize,
    /// Offenders on chain (`ψ_O`), by validator index.
    pub offenders: Vec<usize>,
    /// The lying guarantors of a byzantine run.
    pub liars: Vec<usize>,
}

impl Summary {
    /// Whether a byzantine run caught its liars: negative judgments, a bad
    /// verdict on chain, and a liar among the offenders.
    pub fn caught(&self) -> bool {
        self.invalid > 0
            && self.bad_verdicts > 0
            && self.offenders.iter().any(|o| self.liars.contains(o))
    }

    /// Whether the run passed: see [`Summary::failures`].
    pub fn passed(&self) -> bool {
        self.failures().is_empty()
    }

    /// What a JAM network must have done and this run did not. An honest run:
    /// blocks made, every validator on the same best block (within the last slot,
    /// whose block may still be in flight), finality keeping up (at most
    /// [`MAX_FINALITY_LAG`] blocks behind the best block); then, in an honest
    /// run, every package the builder submitted accumulated on the best chain
    /// and no report judged invalid, and in a byzantine run the lie caught.
    pub fn failures(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.authored == 0 || self.best_height == 0 {
            out.push("no block was made".to_string());
        }
        if !self.agreed {
            out.push("the validators disagree on the best block".to_string());
        }
        let lag = self.best_height.saturating_sub(self.finalized_height);
        if lag > MAX_FINALITY_LAG {
            out.push(format!(
                "finality is {lag} blocks behind the best block (at most {MAX_FINALITY_LAG})"
            ));
        }
        if !self.liars.is_empty() {
            if !self.caught() {
                out.push("the lie was not caught".to_string());
            }
            return out;
        }
        if self.accumulated != self.submitted {
            out.push(format!(
                "{} of {} packages accumulated",
                self.accumulated, self.submitted
            ));
        }
        if self.untaken > 0 {
            out.push(format!("{} payloads no guarantor took", self.untaken));
        }
        if self.invalid > 0 || self.disputes > 0 {
            out.push(format!(
                "{} audits judged a report invalid, {} disputes",
                self.invalid, self.disputes
            ));
        }
        out
    }
}

/// How far finality may trail the best block at the end of a passing run: a
/// report needs a slot or two to become available and its block a tranche
/// (`A`, 8/6 of a slot) to be audited before GRANDPA may vote for it.
pub const MAX_FINALITY_LAG: u32 = 8;

/// A testnet: `V` nodes in this process.
pub struct Testnet {
    /// The nodes, by validator index.
    pub nodes: Vec<Node>,
    spec: ChainSpec,
    slot_zero: SystemTime,
    slot_duration: Duration,
    liars: Vec<usize>,
    /// Every validator's Ed25519 key, by index.
    keys: Vec<tessera_core::types::Ed25519Public>,
    /// The validators this process runs, in `nodes`' order.
    hosted: Vec<usize>,
    /// Where the databases are.
    base: PathBuf,
    /// Every validator's key and address, in-process and in other processes.
    peers: Vec<(PeerId, SocketAddr)>,
    _temp: Option<TempDir>,
}

/// The testnet's JIP-4 chainspec, in its base path.
pub const CHAINSPEC_FILE: &str = "chainspec.json";

/// A directory removed when dropped.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// How to start a testnet.
#[derive(Clone, Debug)]
pub struct TestnetConfig {
    /// The chain spec.
    pub spec: ChainSpec,
    /// The genesis header and state (its validators must be `validators`).
    pub genesis: (Header, ChainState),
    /// The validators' keys, in genesis order.
    pub validators: Vec<ValidatorSecrets>,
    /// Slot length.
    pub slot_duration: Duration,
    /// Where the databases go (`None`: a temporary directory).
    pub base_path: Option<PathBuf>,
    /// The first UDP port (0: any).
    pub port: u16,
    /// Where the DA kernels run.
    pub backend: tessera_kernels::Backend,
    /// Keep every state.
    pub archive: bool,
    /// Validators that guarantee as liars.
    pub liars: Vec<usize>,
    /// Validators that take packages and drop them.
    pub droppers: Vec<usize>,
    /// The validators this process runs (`None`: all of them).
    pub hosted: Option<Vec<usize>>,
    /// Validators run elsewhere: index and address (their peer ids are their
    /// keys in `validators`).
    pub remote: Vec<(usize, SocketAddr)>,
    /// When slot 0 began (`None`: half a slot before now, so slot 1 begins half
    /// a slot from now).
    pub slot_zero: Option<SystemTime>,
    /// One audit farm for every validator of this process.
    pub farm: bool,
}

impl Testnet {
    /// Start every validator on the current tokio runtime. Slot 1 begins one slot
    /// from now (so that every node is listening by then).
    pub fn start(config: TestnetConfig) -> anyhow::Result<Testnet> {
        let (base, temp) = match &config.base_path {
            Some(p) => (p.clone(), None),
            None => {
                let p = temp_base();
                (p.clone(), Some(TempDir(p)))
            }
        };
        let slot_zero = config
            .slot_zero
            .unwrap_or_else(|| SystemTime::now() + config.slot_duration / 2 - config.slot_duration);
        let mut nodes = Vec::new();
        let hosted: Vec<usize> = config
            .hosted
            .clone()
            .unwrap_or_else(|| (0..config.validators.len()).collect());
        let farm = config.farm.then(|| {
            Arc::new(crate::auditor::AuditDuty::new(
                &config.spec,
                config.backend,
                config.slot_duration,
            ))
        });
        for (i, keys) in config.validators.iter().enumerate() {
            if !hosted.contains(&i) {
                continue;
            }
            let dir = base.join(format!("validator-{i}"));
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            let store = StateStore::open(&config.spec, &dir.join("db"))
                .with_context(|| format!("opening the database in {}", dir.display()))?;
            let mut chain = Chain::open(
                &config.spec,
                store,
                &config.genesis.0,
                config.genesis.1.clone(),
            )?;
            chain.set_archive(config.archive);
            let port = if config.port == 0 {
                0
            } else {
                config.port + u16::try_from(i)?
            };
            let listen: SocketAddr = SocketAddr::from(([127, 0, 0, 1], port));
            let node = Node::start(
                NodeConfig {
                    spec: config.spec.clone(),
                    keys: keys.clone(),
                    listen,
                    peers: Vec::new(),
                    slot_zero,
                    slot_duration: config.slot_duration,
                    network: network_config(listen),
                    backend: config.backend,
                    behaviour: if config.liars.contains(&i) {
                        crate::guarantor::Behaviour::Lie
                    } else if config.droppers.contains(&i) {
                        crate::guarantor::Behaviour::Drop
                    } else {
                        crate::guarantor::Behaviour::Honest
                    },
                    farm: farm.clone(),
                    follower: false,
                },
                chain,
            )?;
            nodes.push(node);
        }
        let mut peers: Vec<(PeerId, SocketAddr)> = nodes
            .iter()
            .map(|n| {
                let net = &n.shared().network;
                Ok((net.peer_id(), net.local_addr()?))
            })
            .collect::<std::io::Result<_>>()?;
        for (i, addr) in &config.remote {
            if let Some(keys) = config.validators.get(*i) {
                peers.push((PeerId::from(keys.ed25519.public()), *addr));
            }
        }
        for n in &nodes {
            n.connect_to(peers.clone());
        }
        // A JIP-4 chainspec of this network, so another node can join it:
        // `tessera node --chainspec <base>/chainspec.json --key-file …`.
        let chainspec = crate::chainspec::ChainSpecFile {
            id: "tessera-testnet".into(),
            bootnodes: peers
                .iter()
                .map(|(peer, addr)| crate::chainspec::Bootnode {
                    peer: *peer,
                    addr: *addr,
                })
                .collect(),
            spec: config.spec.clone(),
            genesis_header: config.genesis.0.clone(),
            genesis_state: config.genesis.1.clone(),
        };
        crate::chainspec::write(&base.join(CHAINSPEC_FILE), &chainspec)?;
        Ok(Testnet {
            peers,
            nodes,
            spec: config.spec,
            slot_zero,
            slot_duration: config.slot_duration,
            liars: config.liars.clone(),
            keys: config
                .validators
                .iter()
                .map(|v| v.ed25519.public())
                .collect(),
            hosted,
            base,
            _temp: temp,
        })
    }

    /// Where the testnet wrote its JIP-4 chainspec (bootnodes: every validator).
    pub fn chainspec_path(&self) -> PathBuf {
        self.base.join(CHAINSPEC_FILE)
    }

    /// One line on validator `i`'s database: what its state records, shared state
    /// values, blocks and shards hold (live octets), and its size on disk.
    pub fn database_line(&self, i: usize) -> String {
        let Some(node) = self
            .hosted
            .iter()
            .position(|h| *h == i)
            .and_then(|n| self.nodes.get(n))
        else {
            return format!("database (validator {i}): not run by this process");
        };
        let usage = match node.shared().chain().store_usage() {
            Ok(u) => u,
            Err(e) => return format!("database (validator {i}): {e}"),
        };
        let find = |name: &str| usage.iter().find(|u| u.family == name);
        let kb = |b: u64| b as f64 / 1e3;
        let (states, values, blocks) = (find("states"), find("state_values"), find("blocks"));
        let bases = find("state_bases");
        let shards: u64 = usage
            .iter()
            .filter(|u| {
                !["states", "state_bases", "state_values", "blocks", "meta"]
                    .contains(&u.family.as_str())
            })
            .map(|u| u.bytes)
            .sum();
        let disk = directory_bytes(&validator_dir(&self.base, i));
        format!(
            "database (validator {i}): {} states kept ({:.1} KB of records, {:.1} KB in {} records they are read through, {:.1} KB in {} shared values); {} blocks ({:.1} KB); shards and DA records {:.1} KB ({} bundle shards pruned); {:.1} MB on disk",
            states.map_or(0, |u| u.entries),
            kb(states.map_or(0, |u| u.bytes)),
            kb(bases.map_or(0, |u| u.bytes)),
            bases.map_or(0, |u| u.entries),
            kb(values.map_or(0, |u| u.bytes)),
            values.map_or(0, |u| u.entries),
            blocks.map_or(0, |u| u.entries),
            kb(blocks.map_or(0, |u| u.bytes)),
            kb(shards),
            Stats::get(&node.shared().stats.shards_pruned),
            disk as f64 / 1e6,
        )
    }

    /// What validator `i`'s RocksDB holds in memory, if run by this process.
    pub fn db_memory_line(&self, i: usize) -> Option<String> {
        let n = self.hosted.iter().position(|h| *h == i)?;
        let memory = self.nodes.get(n)?.shared().chain().db_memory().ok()??;
        let mb = |b: u64| b as f64 / 1e6;
        Some(format!(
            "RocksDB memory (validator {i}): block cache {:.1} MB ({:.1} MB pinned; memtables charged to it), memtables {:.1} MB, table readers {:.1} MB",
            mb(memory.block_cache),
            mb(memory.block_cache_pinned),
            mb(memory.memtables),
            mb(memory.table_readers),
        ))
    }

    /// Validator 0's GRANDPA voter set after its finalized block (id and size),
    /// and that block's slot.
    pub fn voter_set(&self) -> Option<(u64, usize, TimeSlot)> {
        let chain = self.nodes.first()?.shared().chain();
        let (id, keys) = chain.voter_set();
        Some((id, keys.len(), chain.finalized().slot))
    }

    /// How often validator 0's node saw the active set `κ` change, and its
    /// index in `κ` now; `None` if it never changed.
    pub fn kappa_line(&self) -> Option<String> {
        let shared = self.nodes.first()?.shared();
        let changes = Stats::get(&shared.stats.kappa_changes);
        (changes > 0).then(|| {
            format!(
                "validator set: κ changed {changes} times at epoch changes; validator 0 is now at index {}",
                shared
                    .index_now()
                    .map_or_else(|| "none".to_string(), |i| i.to_string())
            )
        })
    }

    /// The slot current now.
    pub fn slot_now(&self) -> TimeSlot {
        self.nodes[0].shared().slot_at(SystemTime::now())
    }

    /// When `slot` begins.
    pub fn slot_start(&self, slot: TimeSlot) -> SystemTime {
        self.slot_zero + self.slot_duration * slot
    }

    /// The chain spec.
    pub fn spec(&self) -> &ChainSpec {
        &self.spec
    }

    /// One status line: the first validator's chain, the network's DA and audit
    /// work since the previous line (`last`), and the others' agreement.
    pub fn status_line(&self, last: &mut (Summary, Instant)) -> String {
        let s = self.summary(self.slot_now());
        let secs = last.1.elapsed().as_secs_f64().max(1e-3);
        let mb_s = s.shard_bytes.saturating_sub(last.0.shard_bytes) as f64 / 1e6 / secs;
        let audits_s = s.audits.saturating_sub(last.0.audits) as f64 / secs;
        let peers = self.nodes[0].shared().network.connected_peers().len();
        let line = format!(
            "slot {:>4} | best #{} (slot {}, {} ticketed) | finalized #{} | reports available {}, audited blocks {} | DA {:.2} MB/s ({}) | audits {:.1}/s | peers {} | {}",
            self.slot_now(),
            s.best_height,
            s.best_slot,
            s.ticketed,
            s.finalized_height,
            s.available,
            s.blocks_audited,
            mb_s,
            self.nodes[0].shared().backend,
            audits_s,
            peers,
            if s.agreed { "in agreement" } else { "forks in flight" }
        );
        *last = (s, Instant::now());
        line
    }

    /// Whether every validator has the first validator's best block.
    fn agreed(&self) -> bool {
        let best = self.nodes[0].shared().chain().best().hash;
        self.nodes
            .iter()
            .all(|n| n.shared().chain().best().hash == best)
    }

    /// The run's summary so far.
    pub fn summary(&self, slots: u32) -> Summary {
        let chain = self.nodes[0].shared().chain();
        let best = chain.best().clone();
        let finalized = chain.finalized().clone();
        drop(chain);
        let agreed = self.agreed();
        // Each duty once: a farm's counts are all its hosted validators'.
        let mut duties: Vec<&Arc<crate::auditor::AuditDuty>> = Vec::new();
        for n in &self.nodes {
            if !duties.iter().any(|d| Arc::ptr_eq(d, n.audit_duty())) {
                duties.push(n.audit_duty());
            }
        }
        let audits: Vec<_> = duties.iter().map(|d| d.counts()).collect();
        let (bad_verdicts, offenders) = {
            let shared = self.nodes[0].shared();
            let state = shared.chain().state(&best.hash).ok().flatten();
            match state {
                Some(s) => (
                    s.state.psi.bad.len(),
                    s.state
                        .psi
                        .offenders
                        .iter()
                        // By the validators' own keys: κ nulls offenders' keys
                        // at an epoch change (GP 6.14).
                        .filter_map(|k| self.keys.iter().position(|v| v == k))
                        .collect(),
                ),
                None => (0, Vec::new()),
            }
        };
        let stat = |f: fn(&Stats) -> &std::sync::atomic::AtomicU64| -> u64 {
            self.nodes
                .iter()
                .map(|n| Stats::get(f(&n.shared().stats)))
                .sum()
        };
        Summary {
            slots,
            authored: self.nodes.iter().map(|n| n.authored()).sum(),
            best_height: best.height,
            best_slot: best.slot,
            ticketed: best.ticketed,
            finalized_height: finalized.height,
            agreed,
            available: Stats::get(&self.nodes[0].shared().stats.available),
            blocks_audited: audits[0].blocks_audited,
            audits: audits.iter().map(|a| a.executed).sum(),
            invalid: audits.iter().map(|a| a.invalid).sum(),
            disputes: audits.iter().map(|a| a.disputes).sum(),
            assurances: stat(|s| &s.assurances),
            shard_bytes: stat(|s| &s.shard_bytes),
            bad_verdicts,
            offenders,
            liars: self.liars.clone(),
            ..Summary::default()
        }
    }

    /// Run for `slots` slots (until Ctrl-C if `None`), printing a status line each
    /// slot; returns the summary.
    pub async fn run(
        &self,
        slots: Option<u32>,
        mut builder: Option<&mut Builder>,
        mut print: impl FnMut(&str),
    ) -> Summary {
        let first = self.slot_now() + 1;
        let last = slots.map(|n| first + n);
        // Nodes in other processes start their clocks at slot 0 (a few seconds
        // after they were spawned): the builder's first packages wait until half
        // a slot before slot `first`, when every node is listening.
        let ready = self.slot_start(first) - self.slot_duration / 2;
        if let Ok(wait) = ready.duration_since(SystemTime::now()) {
            tokio::time::sleep(wait).await;
        }
        let mut previous = (Summary::default(), Instant::now());
        let mut slot = first;
        loop {
            // A package per core each slot, until the last few slots (whose
            // packages could not be accumulated before the end).
            if let Some(b) = builder.as_deref_mut() {
                b.observe(self);
                if last.is_none_or(|l| slot + SETTLE_SLOTS < l) {
                    b.submit(self, slot).await;
                }
            }
            let at = self.slot_start(slot) + self.slot_duration * 9 / 10;
            let wait = at.duration_since(SystemTime::now()).unwrap_or_default();
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = tokio::signal::ctrl_c() => {
                    print("interrupted");
                    break;
                }
            }
            print(&self.status_line(&mut previous));
            if last.is_some_and(|l| slot + 1 >= l) {
                break;
            }
            slot += 1;
        }
        // Let the last slot's block reach everyone: a quarter slot, then up to
        // a slot more until every validator has the same best block (a loaded
        // machine delays the last import).
        tokio::time::sleep(self.slot_duration / 4).await;
        let settle = Instant::now() + self.slot_duration;
        while !self.agreed() && Instant::now() < settle {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let mut summary = self.summary(slot + 1 - first);
        if let Some(b) = builder {
            b.observe(self);
            let accumulated = b.accumulated(self);
            // A replaced package's payload went again in another package.
            let live = || b.submitted.iter().filter(|(h, _)| !b.replaced.contains(*h));
            summary.submitted = live().count() as u64;
            summary.accumulated = live().filter(|(h, _)| accumulated.contains(*h)).count() as u64;
            summary.refused = b.refused;
            summary.untaken = b.untaken() as u64;
            summary.importing = b.importing;
            summary.resubmitted = b.resubmitted() as u64;
            summary.missing = live()
                .filter(|(h, _)| !accumulated.contains(*h))
                .map(|(_, slot)| *slot)
                .collect();
            summary.missing.sort_unstable();
        }
        summary
    }
}

/// Slots at the end of a run in which the builder submits nothing: a package
/// needs about three (guarantee, assurances, accumulation) to be accumulated.
const SETTLE_SLOTS: u32 = 5;

/// The testnet's work-package builder: a JAMNP-S endpoint with the builder ALPN
/// that submits one testnet-service package per core each slot (CE 133) to the
/// core's guarantors, and watches `ξ` for their accumulation.
///
/// A guarantor that takes a package may still fail to guarantee it (too few
/// co-guarantors answered in time on a loaded machine, or `--faulty-guarantor`).
/// The builder learns of it from recent history: once the package's anchor has
/// left `β_H` of the best state without any block having reported the package,
/// no block can report it any more (GP 11.33 wants the anchor in `β_H`), so the
/// builder submits its payload again, freshly anchored, in place of its core's
/// next new package, and sends the next packages to that guarantor only after
/// the others for [`DISTRUST_SLOTS`]. The package given up on counts as
/// replaced, not as submitted.
pub struct Builder {
    network: tessera_net::Network,
    validators: Vec<(PeerId, SocketAddr)>,
    payload_bytes: usize,
    /// Packages submitted (by hash) with their slot.
    pub submitted: std::collections::BTreeMap<tessera_core::hash::Hash, TimeSlot>,
    /// Of those, seen accumulated (in `ξ` of the first validator's best state),
    /// with the best block in whose `ξ` each was last seen.
    accumulated_at: std::collections::BTreeMap<tessera_core::hash::Hash, tessera_core::hash::Hash>,
    /// Submissions no guarantor took (each tried again the next slot).
    pub refused: u64,
    /// The segments roots `e` of the latest accumulated packages, newest last,
    /// read from the service's record of each (`E(0, p, e, …)`): what the next
    /// packages import segment 0 of.
    exported: std::collections::VecDeque<tessera_core::hash::Hash>,
    /// Packages submitted with an import.
    pub importing: u64,
    /// Submitted packages no block of the best chain has reported yet.
    unreported: std::collections::BTreeMap<tessera_core::hash::Hash, Unreported>,
    /// Payloads to submit again: packages that can no longer be reported, and
    /// submissions no guarantor took.
    lost: Vec<Unreported>,
    /// Packages given up on and replaced by a resubmission.
    pub replaced: std::collections::BTreeSet<tessera_core::hash::Hash>,
    /// Guarantors that lost a package, and the slot until which they are tried
    /// last.
    distrusted: std::collections::BTreeMap<PeerId, TimeSlot>,
}

/// A package taken by a guarantor and not yet reported: what submitting its
/// payload again needs.
#[derive(Clone, Debug)]
struct Unreported {
    /// The slot of its first submission.
    slot: TimeSlot,
    core: usize,
    payload: Vec<u8>,
    imports: Vec<tessera_core::types::ImportSpec>,
    /// Its anchor `x_a`: while it is in `β_H`, a block may still report it.
    anchor: tessera_core::hash::Hash,
    /// The guarantor that took it.
    taken_by: Option<PeerId>,
}

/// How many accumulated packages' segments roots the builder remembers.
const EXPORTED_KEPT: usize = 16;

/// For how many slots a guarantor that lost a package is tried after the others.
pub const DISTRUST_SLOTS: TimeSlot = 32;

impl Builder {
    /// A builder endpoint connected to the testnet's validators, submitting
    /// payloads of `payload_bytes`.
    pub async fn connect(net: &Testnet, payload_bytes: usize) -> anyhow::Result<Builder> {
        let genesis = net.nodes[0].shared().chain().genesis_hash();
        let mut config = network_config(SocketAddr::from(([127, 0, 0, 1], 0)));
        config.genesis_hash = genesis;
        config.builder = true;
        let mut seed = [0u8; 32];
        seed[..7].copy_from_slice(b"builder");
        let network = tessera_net::Network::start(
            tessera_net::Identity::from_ed25519_seed(seed),
            net.spec.clone(),
            config,
        )?;
        // Every validator, those in other processes (`--processes`) too: a core's
        // guarantors may all be there.
        let mut validators = Vec::new();
        let local: Vec<PeerId> = net
            .nodes
            .iter()
            .map(|n| n.shared().network.peer_id())
            .collect();
        for &(peer, addr) in &net.peers {
            match network.connect(peer, addr).await {
                Ok(_) => {}
                // In-process validators are listening already; another process
                // may still be starting, and a later request dials it again.
                Err(e) if local.contains(&peer) => return Err(e.into()),
                Err(e) => tracing::debug!(%peer, %addr, error = %e, "builder: not yet connected"),
            }
            validators.push((peer, addr));
        }
        Ok(Builder {
            network,
            validators,
            payload_bytes,
            submitted: Default::default(),
            accumulated_at: Default::default(),
            refused: 0,
            exported: Default::default(),
            importing: 0,
            unreported: Default::default(),
            lost: Vec::new(),
            replaced: Default::default(),
            distrusted: Default::default(),
        })
    }

    /// Packages submitted again because no block reported them in time.
    pub fn resubmitted(&self) -> usize {
        self.replaced.len()
    }

    /// Payloads waiting to be submitted (again): at the end of a run, those no
    /// guarantor took in time.
    pub fn untaken(&self) -> usize {
        self.lost.len()
    }

    /// Submit the lost packages again and one new package per core for `slot`,
    /// anchored on the first validator's best block; each goes to the validators
    /// in turn until one takes it (a validator not assigned to the core refuses).
    pub async fn submit(&mut self, net: &Testnet, slot: TimeSlot) {
        let shared = net.nodes[0].shared();
        let (anchor, state) = {
            let mut chain = shared.chain();
            let best = chain.best().clone();
            match chain.state(&best.hash) {
                Ok(Some(s)) => (
                    crate::builder::Anchor {
                        header_hash: best.hash,
                        state_root: best.state_root,
                    },
                    s.state,
                ),
                _ => return,
            }
        };
        for core in 0..net.spec.cores() {
            // One package per core per slot, what the chain can report (GP
            // 11.24): a payload to submit again takes the place of the core's new
            // one — beside it, the extra package would push another past its
            // anchor's age, to be lost and submitted again in turn.
            let (package, fresh) = match self.lost.iter().position(|u| u.core == core) {
                Some(at) => (self.lost.remove(at), false),
                None => (self.new_package(slot, core, anchor.header_hash), true),
            };
            let importing = !package.imports.is_empty();
            match self.send(net, slot, &state, &anchor, package).await {
                Err(package) => {
                    self.refused += 1;
                    tracing::warn!(
                        core,
                        slot,
                        "no guarantor took the package; trying again next slot"
                    );
                    self.lost.push(package);
                }
                Ok(()) => self.importing += u64::from(importing && fresh),
            }
        }
    }

    /// The new package of `core` at `slot`: a payload distinct per slot and
    /// core (a package hash may be reported once, GP 11.38), importing segment 0
    /// of an accumulated package's exports where there is one.
    fn new_package(
        &self,
        slot: TimeSlot,
        core: usize,
        anchor: tessera_core::hash::Hash,
    ) -> Unreported {
        // The slot and core lead, a counting fill follows.
        let mut payload: Vec<u8> = slot.to_le_bytes().to_vec();
        payload.extend_from_slice(&(core as u32).to_le_bytes());
        payload.extend((0..self.payload_bytes.saturating_sub(8)).map(|i| (i % 251) as u8));
        // By its segments root (GP 14.3; each core a different one where there
        // are several).
        let imports: Vec<tessera_core::types::ImportSpec> = self
            .exported
            .iter()
            .rev()
            .nth(core)
            .map(|root| tessera_core::types::ImportSpec {
                tree_root: *root,
                index: 0,
            })
            .into_iter()
            .collect();
        Unreported {
            slot,
            core,
            payload,
            imports,
            anchor,
            taken_by: None,
        }
    }

    /// Submit `package`, anchored on `anchor`, to the validators in turn (those
    /// that lost a package lately last) until one takes it; the package back if
    /// none did.
    async fn send(
        &mut self,
        net: &Testnet,
        slot: TimeSlot,
        state: &ChainState,
        anchor: &crate::builder::Anchor,
        mut package: Unreported,
    ) -> Result<(), Unreported> {
        package.anchor = anchor.header_hash;
        let work = crate::builder::testnet_package(
            &net.spec,
            state,
            anchor,
            package.payload.clone(),
            package.imports.clone(),
        );
        let hash = tessera_core::hash::blake2b_256(&tessera_core::codec::Encode::encode(&work));
        let submission = tessera_net::messages::WorkPackageSubmission {
            core_index: u16::try_from(package.core).unwrap_or(u16::MAX),
            package: work,
            extrinsics: Vec::new(),
        };
        self.distrusted.retain(|_, until| *until > slot);
        let n = self.validators.len();
        let mut order: Vec<(PeerId, SocketAddr)> = (0..n)
            .map(|k| self.validators[(package.core * 3 + k + slot as usize) % n])
            .collect();
        order.sort_by_key(|(peer, _)| self.distrusted.contains_key(peer));
        for (peer, addr) in order {
            let mut result = self
                .network
                .request::<tessera_net::messages::WorkPackageSubmissionProtocol>(&peer, &submission)
                .await;
            // A validator in another process that was not up when the builder
            // started, or that dropped the connection: dial it once more.
            if matches!(result, Err(tessera_net::RequestError::PeerUnknown(_)))
                && self.network.connect(peer, addr).await.is_ok()
            {
                result = self
                    .network
                    .request::<tessera_net::messages::WorkPackageSubmissionProtocol>(
                        &peer,
                        &submission,
                    )
                    .await;
            }
            match result {
                Ok(()) => {
                    self.submitted.insert(hash, package.slot);
                    package.taken_by = Some(peer);
                    self.unreported.insert(hash, package);
                    return Ok(());
                }
                Err(e) => {
                    tracing::debug!(%peer, core = package.core, error = %e, "package refused")
                }
            }
        }
        Err(package)
    }

    /// Record the submitted packages `ξ` of the first validator's best state
    /// shows accumulated, and those its `β_H` shows reported; a package whose
    /// anchor has left `β_H` unreported is lost, to be submitted again.
    pub fn observe(&mut self, net: &Testnet) {
        let shared = net.nodes[0].shared();
        let (best, state) = {
            let mut chain = shared.chain();
            let best = chain.best().hash;
            (best, chain.state(&best).ok().flatten())
        };
        let Some(s) = state else {
            return;
        };
        for h in s.state.xi.iter().flatten() {
            if self.submitted.contains_key(h) {
                self.unreported.remove(h);
                let new = self.accumulated_at.insert(*h, best).is_none();
                // The service's record of the package: E(0, p, e, …), `e` at 33.
                let service = crate::testnet_service::SERVICE_ID;
                let record =
                    s.state.delta.get(&service).and_then(|a| {
                        a.storage(service, &crate::testnet_service::accumulate_key(h))
                    });
                let root = record
                    .and_then(|r| r.get(33..65))
                    .and_then(tessera_core::hash::Hash::from_slice);
                if let (true, Some(root)) = (new, root) {
                    self.exported.push_back(root);
                    while self.exported.len() > EXPORTED_KEPT {
                        self.exported.pop_front();
                    }
                }
            }
        }
        let history = &s.state.beta.history;
        for reported in history.iter().flat_map(|b| &b.reported) {
            self.unreported.remove(&reported.hash);
        }
        // Gone from β_H, and more than H blocks below the best one (not merely
        // off a fork the best chain left and may come back to); two blocks more,
        // so that a report seen only between two observations is not missed.
        let depth = net.spec.recent_history_size + 2;
        let chain = shared.chain();
        let best_height = chain.best().height;
        let lost: Vec<tessera_core::hash::Hash> = self
            .unreported
            .iter()
            .filter(|(_, u)| {
                !history.iter().any(|b| b.header_hash == u.anchor)
                    && chain
                        .info(&u.anchor)
                        .is_some_and(|a| a.height + depth < best_height)
            })
            .map(|(h, _)| *h)
            .collect();
        drop(chain);
        let now = s.state.tau;
        for h in lost {
            if let Some(u) = self.unreported.remove(&h) {
                tracing::warn!(
                    package = %h,
                    slot = u.slot,
                    core = u.core,
                    guarantor = ?u.taken_by,
                    "a package no block reported before its anchor left recent history; submitting it again"
                );
                if let Some(peer) = u.taken_by {
                    self.distrusted.insert(peer, now + DISTRUST_SLOTS);
                }
                self.replaced.insert(h);
                self.lost.push(u);
            }
        }
    }

    /// The packages accumulated on the first validator's best chain now: those
    /// last seen in `ξ` of one of its blocks (a package seen only on a fork that
    /// was abandoned since does not count).
    pub fn accumulated(
        &self,
        net: &Testnet,
    ) -> std::collections::BTreeSet<tessera_core::hash::Hash> {
        let chain = net.nodes[0].shared().chain();
        let best = chain.best().hash;
        self.accumulated_at
            .iter()
            .filter(|(_, at)| chain.is_ancestor(at, &best))
            .map(|(h, _)| *h)
            .collect()
    }
}

/// Loopback timeouts: short enough that a stopped node is noticed within a slot
/// or two, long enough for a loaded 2-core machine.
fn network_config(listen: SocketAddr) -> NetworkConfig {
    let mut config = NetworkConfig::new(listen, Default::default());
    config.request_timeout = Duration::from_secs(5);
    config.fallback_dial_delay = Duration::from_millis(200);
    config.reconnect_backoff_min = Duration::from_millis(100);
    config.reconnect_backoff_max = Duration::from_secs(2);
    config
}

/// `tessera testnet`: the JIP-5 development validators on the testnet genesis
/// ([`crate::genesis::testnet_genesis`]).
pub fn command(spec: &ChainSpec, args: &TestnetArgs) -> anyhow::Result<bool> {
    let count = spec.validators() + usize::from(args.change_validators);
    let validators: Vec<ValidatorSecrets> = (0..count)
        .map(|i| ValidatorSecrets::dev(u32::try_from(i).unwrap_or(u32::MAX)))
        .collect();
    let genesis = if args.rotate_validators {
        crate::genesis::rotating_testnet_genesis(spec, &validators)?
    } else if args.change_validators {
        let (active, newcomer) = validators.split_at(spec.validators());
        crate::genesis::changing_testnet_genesis(spec, active, &newcomer[0])?
    } else {
        crate::genesis::testnet_genesis(spec, &validators)?
    };
    run(spec, args, genesis, validators)
}

/// Run a testnet of `validators` from `genesis` as `args` say; whether it passed.
pub fn run(
    spec: &ChainSpec,
    args: &TestnetArgs,
    genesis: (Header, ChainState),
    validators: Vec<ValidatorSecrets>,
) -> anyhow::Result<bool> {
    if !(args.slot_seconds > 0.05 && args.slot_seconds <= 600.0) {
        anyhow::bail!(
            "--slot-seconds {} is out of range (0.05 < s ≤ 600)",
            args.slot_seconds
        );
    }
    let backend: tessera_kernels::Backend = args
        .da_backend
        .parse()
        .map_err(|e: String| anyhow::anyhow!("--da-backend: {e}"))?;
    let v = validators.len();
    if args.processes >= v {
        anyhow::bail!(
            "--processes {}: at most {} (this process runs validator 0, the builder and the status line)",
            args.processes,
            v - 1
        );
    }
    if args.byzantine_guarantor && args.processes > v.saturating_sub(2) {
        anyhow::bail!(
            "--processes {} with --byzantine-guarantor: at most {} (the liars, validators 0 and 1, run in this process)",
            args.processes,
            v.saturating_sub(2)
        );
    }
    if args.faulty_guarantor && args.processes > v.saturating_sub(2) {
        anyhow::bail!(
            "--processes {} with --faulty-guarantor: at most {} (the faulty guarantor, validator 1, runs in this process)",
            args.processes,
            v.saturating_sub(2)
        );
    }
    // Separate processes: a base path they can all see, fixed ports, and a slot 0
    // a few seconds ahead so that every process is listening when slot 1 begins.
    let mut processes = None;
    let (base_path, port, slot_zero, hosted, remote, _temp) = if args.processes > 0 {
        let (base, temp) = match &args.base_path {
            Some(p) => (p.clone(), None),
            None => {
                let p = temp_base();
                (p.clone(), Some(TempDir(p)))
            }
        };
        let port = if args.port == 0 {
            free_ports(v)?
        } else {
            args.port
        };
        let addr = |i: usize| SocketAddr::from(([127, 0, 0, 1], port + i as u16));
        let genesis_time = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs()
            + 4;
        let children: Vec<usize> = (v - args.processes..v).collect();
        let bootnodes: Vec<String> = (0..v)
            .map(|i| {
                format!(
                    "{}@{}",
                    PeerId::from(validators[i].ed25519.public()).alt_name(),
                    addr(i)
                )
            })
            .collect();
        processes = Some(spawn_nodes(
            spec,
            args,
            &base,
            &children,
            &bootnodes,
            addr,
            genesis_time,
        )?);
        (
            Some(base),
            port,
            Some(SystemTime::UNIX_EPOCH + Duration::from_secs(genesis_time)),
            Some((0..v - args.processes).collect()),
            children.iter().map(|&i| (i, addr(i))).collect(),
            temp,
        )
    } else {
        (
            args.base_path.clone(),
            args.port,
            None,
            None,
            Vec::new(),
            None,
        )
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    runtime.block_on(async {
        let started = Instant::now();
        let net = Testnet::start(TestnetConfig {
            spec: spec.clone(),
            genesis,
            validators,
            slot_duration: Duration::from_secs_f64(args.slot_seconds),
            base_path,
            port,
            backend,
            archive: args.archive,
            liars: if args.byzantine_guarantor { vec![0, 1] } else { Vec::new() },
            droppers: if args.faulty_guarantor { vec![1] } else { Vec::new() },
            hosted,
            remote,
            slot_zero,
            farm: args.farm,
        })?;
        info!(
            validators = net.nodes.len(),
            slot_seconds = args.slot_seconds,
            base_path = ?args.base_path,
            "testnet started"
        );
        println!(
            "tessera testnet: {} validators ({} spec), {} s slots{}{}{}",
            v,
            if spec.validators() == 6 { "tiny" } else { "full" },
            args.slot_seconds,
            args.slots
                .map(|n| format!(", {n} slots"))
                .unwrap_or_else(|| ", until Ctrl-C".into()),
            if args.processes > 0 {
                format!(
                    "; validators {}–{} as separate `tessera node` processes",
                    v - args.processes,
                    v - 1
                )
            } else {
                String::new()
            },
            if args.farm {
                format!(
                    "; one audit farm for the {} validators in this process",
                    net.nodes.len()
                )
            } else {
                String::new()
            }
        );
        // RPC and metrics on the first validator; telemetry from every one.
        let mut operators = Vec::new();
        for (i, n) in net.nodes.iter().enumerate() {
            let config = crate::operator::OperatorConfig {
                rpc: (i == 0).then_some(crate::rpc::RpcConfig {
                    port: args.rpc_port,
                    external: false,
                }),
                prometheus_port: (i == 0).then_some(args.prometheus_port),
                telemetry: args.telemetry.clone(),
            };
            operators.push(crate::operator::start(n.shared().clone(), config).await);
        }
        if let Some(first) = operators.first() {
            if let Some(a) = first.rpc_addr() {
                println!("RPC (JIP-2) of validator 0: ws://{a}");
            }
            if let Some(a) = first.metrics_addr() {
                println!("metrics of validator 0: http://{a}/metrics");
            }
        }
        println!("chainspec (JIP-4): {}", net.chainspec_path().display());
        let mut builder = if args.payload_bytes > 0 {
            Some(Builder::connect(&net, args.payload_bytes).await?)
        } else {
            None
        };
        let summary = net
            .run(args.slots, builder.as_mut(), |line| println!("{line}"))
            .await;
        println!(
            "summary: {} slots in {:.1} s; {} blocks authored; best #{} at slot {}; finalized #{}; {}",
            summary.slots,
            started.elapsed().as_secs_f64(),
            summary.authored,
            summary.best_height,
            summary.best_slot,
            summary.finalized_height,
            if summary.agreed {
                "every validator on the same best block"
            } else {
                "validators DISAGREE on the best block"
            }
        );
        println!(
            "summary: work packages submitted {} ({} importing a segment; {} submitted again, no block having reported them in time), accumulated {}, refused by every guarantor {} times ({} payloads never taken); reports available {}; blocks audited {} (first validator); audits {} ({} invalid; re-executions, a farm's once per report); disputes {}; assurances {}; shards fetched {:.1} MB",
            summary.submitted,
            summary.importing,
            summary.resubmitted,
            summary.accumulated,
            summary.refused,
            summary.untaken,
            summary.available,
            summary.blocks_audited,
            summary.audits,
            summary.invalid,
            summary.disputes,
            summary.assurances,
            summary.shard_bytes as f64 / 1e6
        );
        if !summary.missing.is_empty() && summary.liars.is_empty() {
            println!(
                "summary: {} packages not accumulated, submitted at slots {:?}",
                summary.missing.len(),
                summary.missing
            );
        }
        if !summary.liars.is_empty() {
            println!(
                "byzantine: liars {:?}; bad verdicts on chain {}; offenders (ψ_O) {:?}; {}",
                summary.liars,
                summary.bad_verdicts,
                summary.offenders,
                if summary.caught() { "the lie was CAUGHT" } else { "the lie was NOT caught" }
            );
        }
        if let Some(line) = net.kappa_line() {
            println!("{line}");
        }
        let mut passed = summary.passed();
        if let Some((set_id, voters, finalized_slot)) = net.voter_set() {
            // With --change-validators, κ's keys change at the first block of
            // epochs 1 and 2 (and not after), so each finalized epoch change is
            // one hand-off.
            let expected = args
                .change_validators
                .then(|| u64::from((finalized_slot / spec.epoch_length).min(2)));
            println!(
                "GRANDPA (validator 0): voter set {set_id} of {voters} voters after the finalized block (slot {finalized_slot}){}",
                match expected {
                    Some(e) if e == set_id => format!("; {e} hand-offs, as the epoch changes that changed κ's keys require"),
                    Some(e) => format!("; EXPECTED set {e}: a hand-off did not happen"),
                    None => String::new(),
                }
            );
            if expected.is_some_and(|e| e != set_id) {
                passed = false;
            }
        }
        println!("{}", net.database_line(0));
        println!("{}", memory_line());
        if let Some(line) = net.db_memory_line(0) {
            println!("{line}");
        }
        if let Some(children) = processes.take() {
            // They stop on their own a few slots after this process's last slot.
            let wait = Duration::from_secs_f64(args.slot_seconds * f64::from(SETTLE_SLOTS + 5));
            for child in children {
                let (ok, line) = child.finish(wait).await;
                println!("{line}");
                passed &= ok;
            }
        }
        if passed {
            println!("testnet: PASSED");
        } else {
            let mut why = summary.failures();
            if why.is_empty() {
                why.push(if args.change_validators {
                    "a GRANDPA hand-off did not happen".into()
                } else {
                    "a validator process did not exit cleanly".into()
                });
            }
            println!("testnet: FAILED ({})", why.join("; "));
        }
        Ok(passed)
    })
}

/// A fresh temporary base path.
fn temp_base() -> PathBuf {
    std::env::temp_dir().join(format!(
        "tessera-testnet-{}-{}",
        std::process::id(),
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos()
    ))
}

/// The first of `n` consecutive UDP ports free on loopback now (tried from a
/// range of the ephemeral ports, each checked by binding it).
fn free_ports(n: usize) -> anyhow::Result<u16> {
    let start = 20_000 + (std::process::id() % 20_000) as u16;
    for base in (start..60_000).step_by(n.max(1) + 1) {
        let all_free = (0..n).all(|i| {
            std::net::UdpSocket::bind(SocketAddr::from(([127, 0, 0, 1], base + i as u16))).is_ok()
        });
        if all_free {
            return Ok(base);
        }
    }
    anyhow::bail!("no {n} consecutive free UDP ports on 127.0.0.1; give --port")
}

/// A validator running as a `tessera node` process.
struct NodeProcess {
    index: usize,
    child: std::process::Child,
    log: PathBuf,
}

impl NodeProcess {
    /// Wait up to `wait` for the process to stop on its own (it was given
    /// `--slots`; killed after that), and say how it ended.
    async fn finish(mut self, wait: Duration) -> (bool, String) {
        let deadline = Instant::now() + wait;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => {
                    let ok = status.success();
                    return (
                        ok,
                        format!(
                            "validator {} (process {}): {}{}",
                            self.index,
                            self.child.id(),
                            if ok {
                                "exited 0".to_string()
                            } else {
                                format!("FAILED ({status})")
                            },
                            if ok {
                                String::new()
                            } else {
                                format!("; see {}", self.log.display())
                            }
                        ),
                    );
                }
                Ok(None) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Ok(None) | Err(_) => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    return (
                        false,
                        format!(
                            "validator {}: did not stop within {:.0} s, killed; see {}",
                            self.index,
                            wait.as_secs_f64(),
                            self.log.display()
                        ),
                    );
                }
            }
        }
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        // An early return (an error starting this process's nodes) leaves no
        // validator running on its own.
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Start validators `children` as `tessera node` processes of this executable,
/// each with its database under `base`, listening on `addr(i)`, every other
/// validator as a bootnode, and slot 0 at `genesis_time` (Unix seconds).
fn spawn_nodes(
    spec: &ChainSpec,
    args: &TestnetArgs,
    base: &Path,
    children: &[usize],
    bootnodes: &[String],
    addr: impl Fn(usize) -> SocketAddr,
    genesis_time: u64,
) -> anyhow::Result<Vec<NodeProcess>> {
    let exe = std::env::current_exe().context("finding this executable")?;
    let mut started = Vec::new();
    for &i in children {
        let dir = validator_dir(base, i);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let log = dir.join("node.log");
        let out =
            std::fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        let err = out.try_clone().context("duplicating the log file")?;
        let mut cmd = std::process::Command::new(&exe);
        cmd.args([
            "--spec",
            if spec.validators() == 6 {
                "tiny"
            } else {
                "full"
            },
            "node",
        ])
        .args(["--dev", &i.to_string()])
        .arg("--base-path")
        .arg(&dir)
        .args(["--listen", &addr(i).to_string()])
        .args(["--genesis-time", &genesis_time.to_string()])
        .args(["--slot-seconds", &args.slot_seconds.to_string()])
        .args(["--da-backend", &args.da_backend])
        .args([
            "--pvm-backend",
            tessera_pvm::Backend::default_choice().name(),
        ])
        .args(["--no-rpc", "--no-prometheus"]);
        if let Some(path) = crate::cli::calibration_in_use() {
            cmd.arg("--gpu-calibration").arg(path);
        }
        for (j, b) in bootnodes.iter().enumerate() {
            if j != i {
                cmd.args(["--bootnode", b]);
            }
        }
        if let Some(n) = args.slots {
            // A little past this process's last slot, so finality can settle.
            cmd.args(["--slots", &(n + 3).to_string()]);
        }
        if let Some(t) = &args.telemetry {
            cmd.args(["--telemetry", t]);
        }
        if args.archive {
            cmd.arg("--archive");
        }
        let child = cmd
            .stdin(std::process::Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .with_context(|| format!("starting validator {i} as {}", exe.display()))?;
        started.push(NodeProcess {
            index: i,
            child,
            log,
        });
    }
    Ok(started)
}

/// One line on this process's memory: its resident set and, where the binary's
/// allocator reports them, the octets allocated and the resident pages the
/// allocator holds (a leak grows the first, fragmentation only the second).
pub fn memory_line() -> String {
    let mb = |b: u64| b as f64 / 1e6;
    let rss = crate::metrics::process_resident_bytes()
        .map_or_else(|| "unknown".to_owned(), |b| format!("{:.1} MB", mb(b)));
    match crate::metrics::allocator_stats() {
        Some(a) => format!(
            "memory (this process): resident {rss}; allocator: {:.1} MB allocated, {:.1} MB resident",
            mb(a.allocated),
            mb(a.resident)
        ),
        None => format!("memory (this process): resident {rss}; allocator statistics unavailable"),
    }
}

/// Octets of the files under `dir` (RocksDB's tables, logs and manifests).
fn directory_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => directory_bytes(&e.path()),
            Ok(_) => e.metadata().map_or(0, |m| m.len()),
            Err(_) => 0,
        })
        .sum()
}

/// The databases' directory of validator `i` under `base`.
pub fn validator_dir(base: &Path, i: usize) -> PathBuf {
    base.join(format!("validator-{i}"))
}

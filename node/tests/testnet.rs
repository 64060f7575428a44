//! `tessera testnet` as a process: a short run of the tiny network with 1-second
//! slots must pass (exit 0) and print a status line per slot and its summary, and
//! serve JIP-2 RPC while it runs.

use std::io::{BufRead as _, BufReader, Read as _};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use jsonrpsee::async_client::{Client, ClientBuilder};
use jsonrpsee::client_transport::ws::{Url, WsTransportClientBuilder};
use jsonrpsee::core::client::{ClientT, Error as ClientError, SubscriptionClientT};
use jsonrpsee::core::params::ArrayParams;
use jsonrpsee::rpc_params;
use serde_json::{json, Value};
use tessera_core::codec::Encode;
use tessera_core::crypto::jip5::ValidatorSecrets;
use tessera_core::hash::blake2b_256;
use tessera_core::spec::ChainSpec;
use tessera_node::builder::{testnet_package, Anchor};
use tessera_node::genesis::testnet_genesis;
use tessera_node::testnet_service::{
    refine_reference, service_code_hash, service_preimage, SERVICE_ID,
};

/// One testnet at a time: each is six nodes with 1-second slots, and two at once
/// on a 2-core machine could miss slots for reasons that are not the node's.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// The main job, as a newcomer runs it (short): ten 1-second slots must pass. While
/// it runs, a WebSocket client calls validator 0's JIP-2 RPC: it submits a work
/// package of its own (`submitWorkPackage`, anchored on the testnet genesis),
/// follows `subscribeBestBlock` until the service's storage holds the package's
/// accumulation record (`serviceValue` under the package hash, with the refine
/// output of its payload), and checks the other methods against what the chain
/// must hold.
#[test]
fn a_short_testnet_passes_and_serves_rpc() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let (telemetry_addr, events) = telemetry_server();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["testnet", "--slots", "10", "--slot-seconds", "1"])
        .args(["--rpc-port", "0", "--prometheus-port", "0"])
        .args(["--telemetry", &telemetry_addr.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tessera testnet runs");
    let (mut lines, reader) = read_lines(child.stdout.take().unwrap());
    let stderr_reader = {
        let mut stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = stderr.read_to_string(&mut s);
            s
        })
    };
    let rpc = lines.find_map(|l| {
        l.strip_prefix("RPC (JIP-2) of validator 0: ws://")
            .map(|a| a.parse::<SocketAddr>().expect("an RPC address"))
    });
    let rpc_result = match rpc {
        Some(addr) => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(live_rpc(addr)),
        None => Err("no RPC address printed".into()),
    };
    if rpc_result.is_err() {
        let _ = child.kill();
    }
    let status = child.wait().expect("tessera testnet exits");
    let stdout = reader.join().unwrap();
    let stderr = stderr_reader.join().unwrap();
    if let Err(e) = rpc_result {
        panic!("RPC against the running testnet: {e}\n{stdout}\n{stderr}");
    }
    assert!(status.success(), "testnet failed:\n{stdout}\n{stderr}");
    let status_lines = stdout.lines().filter(|l| l.starts_with("slot ")).count();
    assert!(status_lines >= 8, "{status_lines} status lines:\n{stdout}");
    assert!(stdout.contains("testnet: PASSED"), "{stdout}");
    let summary = stdout
        .lines()
        .find(|l| l.starts_with("summary:"))
        .unwrap_or_else(|| panic!("no summary:\n{stdout}"));
    assert!(
        summary.contains("every validator on the same best block"),
        "{summary}"
    );
    // The builder's packages went through guaranteeing, availability, audit and
    // accumulation, and GRANDPA finalized.
    let work = every_package_accumulated(&stdout);
    assert!(number_after(work, "audits ") > 0, "{work}");
    // Later packages imported segments earlier ones exported (GP 14.3), and
    // were accumulated like the rest.
    assert!(number_after(work, "(") > 0, "no package imported: {work}");
    let last = stdout
        .lines()
        .rfind(|l| l.starts_with("slot "))
        .unwrap_or_default();
    assert!(!last.contains("finalized #0 "), "nothing finalized: {last}");
    // The database line: states pruned to the unfinalized ones, sharing values.
    let db = stdout
        .lines()
        .find(|l| l.starts_with("database (validator 0):"))
        .unwrap_or_else(|| panic!("no database line:\n{stdout}"));
    let kept = number_after(db, "): ");
    assert!((1..10).contains(&kept), "states not pruned: {db}");
    // The memory line: the binary's jemalloc reports its statistics, and holds at
    // least what it has allocated.
    let memory = stdout
        .lines()
        .find(|l| l.starts_with("memory (this process):"))
        .unwrap_or_else(|| panic!("no memory line:\n{stdout}"));
    let allocated = number_after(memory, "allocator: ");
    let resident = number_after(memory, "allocated, ");
    assert!(allocated > 0 && resident >= allocated, "{memory}");
    // RocksDB's own estimate of what validator 0's database holds in memory:
    // ten slots of writes sit in its memtables.
    let rocks = stdout
        .lines()
        .find(|l| l.starts_with("RocksDB memory (validator 0):"))
        .unwrap_or_else(|| panic!("no RocksDB memory line:\n{stdout}"));
    let memtables: f64 = rocks
        .split("memtables ")
        .nth(2)
        .and_then(|r| r.split(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no memtables figure: {rocks}"));
    assert!(memtables > 0.0, "{rocks}");

    // JIP-3 telemetry from every validator: the node information, then Status
    // events and those of authoring, importing, guaranteeing, shard requests,
    // assurances and audits' bundle requests, both sides (by discriminator,
    // JIP-3 § Events).
    let events = events.lock().unwrap().clone();
    assert_eq!(events.infos, 6, "one connection per validator: {events:?}");
    assert!(events.count(10) >= 10, "Status events: {events:?}");
    for (disc, what) in [
        (42, "Authored"),
        (47, "Block executed"),
        (94, "Work-package received"),
        (95, "Authorized"),
        (101, "Refined"),
        (102, "Work-report built"),
        (104, "Work-report signature received"),
        (105, "Guarantee built"),
        (109, "Guarantees distributed"),
        (120, "Sending shard request"),
        (125, "Shards transferred"),
        (126, "Distributing assurance"),
        (129, "Assurance distributed"),
        (148, "Sending bundle request"),
        (149, "Receiving bundle request"),
        (151, "Bundle request sent"),
        (152, "Bundle request received"),
        (153, "Bundle transferred"),
    ] {
        assert!(
            events.count(disc) > 0,
            "no {what} event ({disc}): {events:?}"
        );
    }
}

/// What the test telemetry server received: node-information messages, and
/// events by discriminator.
#[derive(Clone, Debug, Default)]
struct Received {
    infos: usize,
    events: std::collections::BTreeMap<u8, usize>,
}

impl Received {
    fn count(&self, disc: u8) -> usize {
        self.events.get(&disc).copied().unwrap_or(0)
    }
}

/// A JIP-3 telemetry server on loopback: each connection's first message is the
/// node information, every later one an event `timestamp (8 octets) ++
/// discriminator ++ …`, each size-prefixed with a u32 LE (JIP-3 § Protocol).
fn telemetry_server() -> (SocketAddr, std::sync::Arc<Mutex<Received>>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let received = std::sync::Arc::new(Mutex::new(Received::default()));
    let r = received.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            let r = r.clone();
            std::thread::spawn(move || {
                let mut stream = std::io::BufReader::new(stream);
                let mut first = true;
                loop {
                    let mut size = [0u8; 4];
                    if stream.read_exact(&mut size).is_err() {
                        return;
                    }
                    let mut msg = vec![0u8; u32::from_le_bytes(size) as usize];
                    if stream.read_exact(&mut msg).is_err() {
                        return;
                    }
                    let mut r = r.lock().unwrap();
                    if first {
                        r.infos += 1;
                        first = false;
                    } else if let Some(&disc) = msg.get(8) {
                        *r.events.entry(disc).or_default() += 1;
                    }
                }
            });
        }
    });
    (addr, received)
}

/// Lines of `out` as they come (an iterator that ends when the process closes
/// it) and a thread that returns them all joined.
fn read_lines(
    out: impl std::io::Read + Send + 'static,
) -> (
    impl Iterator<Item = String>,
    std::thread::JoinHandle<String>,
) {
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = tx.send(line.clone());
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    (rx.into_iter(), reader)
}

fn b64(x: &[u8]) -> Value {
    Value::String(B64.encode(x))
}

fn unb64(v: &Value) -> Result<Vec<u8>, String> {
    v.as_str()
        .and_then(|s| B64.decode(s).ok())
        .ok_or_else(|| format!("not a Base64 string: {v}"))
}

async fn call(c: &Client, method: &str, params: ArrayParams) -> Result<Value, String> {
    c.request::<Value, _>(method, params)
        .await
        .map_err(|e| format!("{method}: {e}"))
}

/// What validator 0's RPC must answer while the testnet runs.
async fn live_rpc(addr: SocketAddr) -> Result<(), String> {
    let url = Url::parse(&format!("ws://{addr}")).map_err(|e| e.to_string())?;
    let (tx, rx) = WsTransportClientBuilder::default()
        .build(url)
        .await
        .map_err(|e| format!("connecting to {addr}: {e}"))?;
    let c = ClientBuilder::default()
        .request_timeout(Duration::from_secs(5))
        .build_with_tokio(tx, rx);
    let spec = ChainSpec::tiny();
    let parameters = call(&c, "parameters", rpc_params![]).await?;
    if parameters["V1"]["core_count"] != json!(spec.core_count) {
        return Err(format!("parameters: {parameters}"));
    }

    // A package of our own, anchored on the testnet genesis (in the recent history
    // for the first blocks), to every core: validator 0 guarantees it on the core
    // it is assigned to and refuses the other.
    let validators: Vec<ValidatorSecrets> = (0..6).map(ValidatorSecrets::dev).collect();
    let (header, state) = testnet_genesis(&spec, &validators).map_err(|e| e.to_string())?;
    let anchor = Anchor {
        header_hash: header.hash(),
        state_root: state.root(),
    };
    let payload = b"a work package submitted over JIP-2".to_vec();
    let package = testnet_package(&spec, &state, &anchor, payload.clone(), Vec::new());
    let encoded = package.encode();
    let package_hash = blake2b_256(&encoded);
    let mut best = c
        .subscribe::<Value, _>("subscribeBestBlock", rpc_params![], "unsubscribeBestBlock")
        .await
        .map_err(|e| format!("subscribeBestBlock: {e}"))?;
    for core in 0..spec.core_count {
        let r = call(
            &c,
            "submitWorkPackage",
            rpc_params![core, b64(&encoded), Vec::<Value>::new()],
        )
        .await?;
        if r != Value::Null {
            return Err(format!("submitWorkPackage: {r}"));
        }
    }

    // Follow the best block until the service has accumulated the package.
    let mut statuses = Vec::new();
    let (block, record) = loop {
        let b = tokio::time::timeout(Duration::from_secs(5), best.next())
            .await
            .map_err(|_| "no new best block within 5 s".to_string())?
            .ok_or("the best-block subscription closed")?
            .map_err(|e| format!("a best-block notification: {e}"))?;
        let hash = b["header_hash"].clone();
        let status = call(
            &c,
            "workPackageStatus",
            rpc_params![
                hash.clone(),
                b64(&package_hash.0),
                b64(&anchor.header_hash.0)
            ],
        )
        .await?;
        statuses.push(status);
        let value = call(
            &c,
            "serviceValue",
            rpc_params![hash.clone(), SERVICE_ID, b64(&package_hash.0)],
        )
        .await?;
        if value != Value::Null {
            break (b, unb64(&value)?);
        }
        if b["slot"].as_u64().unwrap_or(0) > 8 {
            return Err(format!(
                "the package was not accumulated by slot 8; its statuses: {statuses:?}"
            ));
        }
    };
    // The accumulation record E(0, p, …, l, …): the package hash after the
    // discriminator, and the refine output of the payload within.
    if record.get(1..33) != Some(&package_hash.0[..]) {
        return Err(format!(
            "the stored record does not name the package: {record:?}"
        ));
    }
    let output = refine_reference(&payload);
    if !record.windows(output.len()).any(|w| w == output) {
        return Err(format!(
            "the record lacks the refine output {output:?}: {record:?}"
        ));
    }
    if !statuses
        .iter()
        .any(|s| s.get("Reportable").is_some() || s.get("Reported").is_some())
    {
        return Err(format!("never Reportable or Reported: {statuses:?}"));
    }

    // The other methods at that block, against what the chain must hold.
    let hash = block["header_hash"].clone();
    let slot = block["slot"].as_u64().ok_or("a descriptor without slot")?;
    let root = unb64(&call(&c, "stateRoot", rpc_params![hash.clone()]).await?)?;
    if root.len() != 32 {
        return Err(format!("stateRoot of {} octets", root.len()));
    }
    let parent = call(&c, "parent", rpc_params![hash.clone()]).await?;
    if parent["slot"].as_u64().is_none_or(|s| s >= slot) {
        return Err(format!("parent {parent} of a block at slot {slot}"));
    }
    let services = call(&c, "listServices", rpc_params![hash.clone()]).await?;
    if !services
        .as_array()
        .is_some_and(|a| a.contains(&json!(SERVICE_ID)))
    {
        return Err(format!("listServices: {services}"));
    }
    let code_hash = service_code_hash();
    let data = unb64(&call(&c, "serviceData", rpc_params![hash.clone(), SERVICE_ID]).await?)?;
    if !data.windows(32).any(|w| w == code_hash.0) {
        return Err("serviceData does not hold the service's code hash".into());
    }
    let code = unb64(
        &call(
            &c,
            "servicePreimage",
            rpc_params![hash.clone(), SERVICE_ID, b64(&code_hash.0)],
        )
        .await?,
    )?;
    if blake2b_256(&code) != code_hash || code != service_preimage() {
        return Err("servicePreimage is not the service's code".into());
    }
    let request = call(
        &c,
        "serviceRequest",
        rpc_params![hash.clone(), SERVICE_ID, b64(&code_hash.0), code.len()],
    )
    .await?;
    if !request.is_array() {
        return Err(format!("serviceRequest: {request}"));
    }
    let statistics = call(&c, "statistics", rpc_params![hash.clone()]).await?;
    unb64(&statistics)?;
    let finalized = call(&c, "finalizedBlock", rpc_params![]).await?;
    if finalized["slot"].as_u64().is_none() {
        return Err(format!("finalizedBlock: {finalized}"));
    }
    // Bad input gets JSON-RPC errors, and the server goes on.
    match c
        .request::<Value, _>("parent", rpc_params!["not base64!"])
        .await
    {
        Err(ClientError::Call(e)) if e.code() == -32602 => {}
        other => return Err(format!("parent(\"not base64!\"): {other:?}")),
    }
    match c
        .request::<Value, _>("stateRoot", rpc_params![b64(&[0xEE; 32])])
        .await
    {
        Err(ClientError::Call(e)) if e.code() == 1 => {}
        other => return Err(format!("stateRoot(unknown): {other:?}")),
    }
    call(&c, "bestBlock", rpc_params![]).await?;
    Ok(())
}

/// `--byzantine-guarantor`: validators 0 and 1 lie about refine results; the run
/// passes only if the lie is caught (negative judgments, a bad verdict on chain,
/// a liar in ψ_O), and says so.
#[test]
fn a_lying_guarantor_is_caught() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let out = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args([
            "testnet",
            "--slots",
            "24",
            "--slot-seconds",
            "1",
            "--byzantine-guarantor",
        ])
        .args(["--rpc-port", "0", "--prometheus-port", "0"])
        .output()
        .expect("tessera testnet runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "byzantine testnet failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("the lie was CAUGHT"), "{stdout}");
    // Past the retention (U slots, counted 2R before finality), bundle shards go.
    let db = stdout
        .lines()
        .find(|l| l.starts_with("database (validator 0):"))
        .unwrap_or_else(|| panic!("no database line:\n{stdout}"));
    assert!(
        number_after(db, "KB (") > 0,
        "no shard pruned in 24 slots: {db}"
    );
}

/// `--faulty-guarantor`: validator 1 takes the packages submitted to it and
/// never guarantees them. The builder sees each one's anchor leave recent
/// history with no block having reported it, submits its payload again, and
/// every payload is still accumulated.
///
/// 40 slots: a loss shows only when the anchor has left recent history (10
/// blocks), and the builder stops new packages 5 slots before the end. Which
/// packages validator 1 is first to take depends on the builder's first slot
/// (1 or 2, with the machine's load at start): when its first one comes at
/// slot 14, it takes six before the builder distrusts it, and at 28 slots their
/// losses showed too late to submit them again (seen on a loaded machine).
#[test]
fn packages_a_faulty_guarantor_dropped_are_submitted_again() {
    let stdout = passing_testnet(&["--slots", "40", "--slot-seconds", "1", "--faulty-guarantor"]);
    let work = every_package_accumulated(&stdout);
    assert!(
        number_after(work, "segment; ") > 0,
        "no package was submitted again: {work}"
    );
}

/// `--rotate-validators`: `γ_P` at genesis is `κ` reversed, so at the first
/// epoch change (slot 12 on tiny) every validator's index in `κ` changes and at
/// the second (slot 24) it changes back. Every package is still accumulated and
/// audited, and the shards are where the new indices put them: an assurer that
/// kept its old index would fetch and assure the wrong shard (CE 141 names no
/// index: its assurance still counts, under its key), and the guarantors'
/// segment imports would find assurers refusing — which the log would show.
#[test]
fn a_testnet_whose_validator_set_changes_passes() {
    let (stdout, stderr) = passing_testnet_logged(&[
        "--slots",
        "30",
        "--slot-seconds",
        "1",
        "--rotate-validators",
    ]);
    every_package_accumulated(&stdout);
    let line = stdout
        .lines()
        .find(|l| l.starts_with("validator set:"))
        .unwrap_or_else(|| panic!("no validator set line:\n{stdout}"));
    assert_eq!(number_after(line, "κ changed "), 2, "{line}");
    assert!(line.ends_with("now at index 0"), "{line}");
    // An assurer that holds no shard at its index refuses; a request that timed
    // out on a loaded machine reads the same, so a few are tolerated (an assurer
    // with a stale index makes dozens in this run).
    let refused = stderr
        .lines()
        .filter(|l| l.contains("assurer's response refused"))
        .count();
    assert!(refused < 4, "{refused} refused shard requests:\n{stderr}");
}

/// `--change-validators`: seven validators, dev validator 6 in `γ_P` in place of
/// 5, so `κ`'s keys change at slot 12 (6 in, 5 out) and back at slot 24. The
/// run passes only if GRANDPA handed off to voter set 2 (finality stalls at the
/// first change otherwise: the old set votes for nothing past it), every package
/// was accumulated, and no validator waited on audits of blocks it does not
/// audit or warned about tickets for a set it is not in. (32 slots: a package
/// whose co-guarantor is still on the other side of the slot-24 change is
/// submitted again, which takes a few slots; at 28 one loaded run ended first.)
#[test]
fn a_testnet_whose_validator_keys_change_hands_off_finality() {
    let (stdout, stderr) = passing_testnet_logged(&[
        "--slots",
        "32",
        "--slot-seconds",
        "1",
        "--change-validators",
    ]);
    assert!(
        stdout.starts_with("tessera testnet: 7 validators"),
        "{stdout}"
    );
    every_package_accumulated(&stdout);
    let line = stdout
        .lines()
        .find(|l| l.starts_with("GRANDPA (validator 0): voter set "))
        .unwrap_or_else(|| panic!("no GRANDPA line:\n{stdout}"));
    assert_eq!(number_after(line, "voter set "), 2, "{line}");
    assert!(line.contains("2 hand-offs"), "{line}");
    for quiet in ["given up", "not in the next epoch's set"] {
        assert!(!stderr.contains(quiet), "{quiet}:\n{stderr}");
    }
}

/// `--processes 2`: validators 4 and 5 run as `tessera node` processes over real
/// loopback QUIC with this one; the network still authors, guarantees, audits and
/// finalizes, and both processes exit 0 at the end.
#[test]
fn a_testnet_across_processes_passes() {
    let stdout = passing_testnet(&["--slots", "8", "--slot-seconds", "1", "--processes", "2"]);
    assert!(
        stdout.contains("validators 4–5 as separate `tessera node` processes"),
        "{stdout}"
    );
    for i in [4, 5] {
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(&format!("validator {i} (process "))
                    && l.ends_with("exited 0")),
            "validator {i}'s process:\n{stdout}"
        );
    }
    every_package_accumulated(&stdout);
}

/// `--farm`: the six validators share one audit farm, so each report any of
/// them selects is re-executed once (not once per validator) and still judged
/// by each: every block is audited and every package accumulated.
#[test]
fn a_testnet_with_one_audit_farm_passes() {
    let stdout = passing_testnet(&["--slots", "8", "--slot-seconds", "1", "--farm"]);
    assert!(
        stdout.contains("one audit farm for the 6 validators in this process"),
        "{stdout}"
    );
    let work = every_package_accumulated(&stdout);
    let available = number_after(work, "reports available ");
    let audits = number_after(work, "audits ");
    // Tiny draws every report in tranche 0 for each validator: without the farm
    // that is six re-executions a report.
    assert!(audits > 0 && audits <= available, "{work}");
    assert!(number_after(work, "blocks audited ") > 0, "{work}");
}

#[test]
fn bad_arguments_are_refused() {
    let out = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["testnet", "--slots", "2", "--slot-seconds", "0"])
        .output()
        .expect("tessera testnet runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--slot-seconds"), "{stderr}");
    // Validator 0, the builder and the status line stay in this process.
    let out = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["testnet", "--slots", "2", "--processes", "6"])
        .output()
        .expect("tessera testnet runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--processes 6: at most 5"), "{stderr}");
    // A faulty and a lying guarantor are both validator 1.
    let out = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args([
            "testnet",
            "--slots",
            "2",
            "--faulty-guarantor",
            "--byzantine-guarantor",
        ])
        .output()
        .expect("tessera testnet runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot be used with"), "{stderr}");
    // A rotating validator set neither with other processes nor with liars
    // named by index.
    // A changing one neither with those nor with a rotating one.
    let refused = [
        ("--rotate-validators", &["--processes", "2"][..]),
        ("--rotate-validators", &["--byzantine-guarantor"][..]),
        ("--change-validators", &["--processes", "2"][..]),
        ("--change-validators", &["--byzantine-guarantor"][..]),
        ("--change-validators", &["--rotate-validators"][..]),
    ];
    for (flag, other) in refused {
        let out = Command::new(env!("CARGO_BIN_EXE_tessera"))
            .args(["testnet", "--slots", "2", flag])
            .args(other)
            .output()
            .expect("tessera testnet runs");
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("cannot be used with"), "{stderr}");
    }
}

/// The stdout of `tessera testnet ARGS` (RPC and metrics on any free port), one
/// run at a time, asserting that it passed.
fn passing_testnet(args: &[&str]) -> String {
    passing_testnet_logged(args).0
}

/// [`passing_testnet`], with its log (stderr) too.
fn passing_testnet_logged(args: &[&str]) -> (String, String) {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let out = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .arg("testnet")
        .args(args)
        .args(["--rpc-port", "0", "--prometheus-port", "0"])
        .output()
        .expect("tessera testnet runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "testnet failed:\n{stdout}\n{stderr}");
    (stdout, stderr)
}

/// The work summary line of a run's `stdout`, asserting that the builder
/// submitted packages and every one was accumulated.
fn every_package_accumulated(stdout: &str) -> &str {
    let work = stdout
        .lines()
        .find(|l| l.starts_with("summary: work packages"))
        .unwrap_or_else(|| panic!("no work summary:\n{stdout}"));
    let submitted = number_after(work, "submitted ");
    assert!(submitted > 0, "{work}");
    assert_eq!(number_after(work, "accumulated "), submitted, "{work}");
    work
}

/// The number after `key` in `line`.
fn number_after(line: &str, key: &str) -> u64 {
    let rest = &line[line
        .find(key)
        .unwrap_or_else(|| panic!("no {key:?} in {line}"))
        + key.len()..];
    rest.split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

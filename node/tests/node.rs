//! `tessera node` as processes on loopback (tiny spec, 1-second slots): two
//! validators make a chain and a third, started late, syncs it over CE 128; a
//! validator killed with SIGKILL and restarted on its base path resumes from
//! what it had stored and catches up.

use std::io::{BufRead, BufReader};
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

use tessera_core::crypto::jip5::ValidatorSecrets;

/// A free loopback UDP port (bound, then released).
fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .expect("a free UDP port")
}

/// `N(dev i)@127.0.0.1:port`.
fn bootnode(i: u32, port: u16) -> String {
    let key = ValidatorSecrets::dev(i).ed25519.public();
    format!("{}@127.0.0.1:{port}", tessera_net::alt_name(&key))
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("tessera-node-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A running `tessera node` whose log lines arrive on a channel.
struct NodeProc {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl NodeProc {
    fn start(dev: u32, base: &Path, port: u16, peers: &[String], genesis: u64, slots: u32) -> Self {
        let dev = dev.to_string();
        let mut cmd = tessera_node(&["--dev", &dev], base, port, genesis, slots);
        cmd.env("RUST_LOG", "info,tessera_net=warn")
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for p in peers {
            cmd.args(["--bootnode", p]);
        }
        let mut child = cmd.spawn().expect("tessera node starts");
        let (tx, lines) = mpsc::channel();
        for out in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(out).lines().map_while(Result::ok) {
                    let _ = tx.send(line);
                }
            });
        }
        NodeProc { child, lines }
    }

    /// Every best-block height logged until `deadline` or the process ends.
    fn heights_until(&self, deadline: Instant, log: &mut Vec<String>) -> Vec<u32> {
        let mut heights = Vec::new();
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    if line.contains("best block") {
                        if let Some(h) = field(&line, "height=") {
                            heights.push(h);
                        }
                    }
                    log.push(line);
                }
                Err(mpsc::RecvTimeoutError::Timeout) => break,
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        heights
    }
}

impl Drop for NodeProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The number after `key` in a log line.
fn field(line: &str, key: &str) -> Option<u32> {
    let rest = &line[line.find(key)? + key.len()..];
    rest.split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[test]
fn a_late_node_syncs_the_chain_over_ce128() {
    let dir = temp_dir("sync");
    let ports = [free_port(), free_port(), free_port()];
    let peers: Vec<String> = (0..3).map(|i| bootnode(i, ports[i as usize])).collect();
    let others = |me: usize| -> Vec<String> {
        peers
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != me)
            .map(|(_, p)| p.clone())
            .collect()
    };
    let genesis = now_unix();
    let a = NodeProc::start(0, &dir.join("a"), ports[0], &others(0), genesis, 24);
    let b = NodeProc::start(1, &dir.join("b"), ports[1], &others(1), genesis, 24);
    // Two of six validators author about a third of the slots.
    let mut log = Vec::new();
    let early = a.heights_until(Instant::now() + Duration::from_secs(10), &mut log);
    let before = early.iter().copied().max().unwrap_or(0);
    assert!(
        before >= 1,
        "validators 0 and 1 made no chain in 10 slots:\n{}",
        log.join("\n")
    );
    let c = NodeProc::start(2, &dir.join("c"), ports[2], &others(2), genesis, 10);
    let mut c_log = Vec::new();
    let synced = c.heights_until(Instant::now() + Duration::from_secs(12), &mut c_log);
    let _ = b.heights_until(Instant::now(), &mut log);
    assert!(
        synced.iter().any(|h| *h >= before),
        "the late node never reached height {before}, the chain made before it started; its bests: {synced:?}\n{}",
        c_log.join("\n")
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_killed_node_resumes_from_its_base_path() {
    let dir = temp_dir("restart");
    let ports = [free_port(), free_port()];
    let genesis = now_unix();
    let a_peer = vec![bootnode(1, ports[1])];
    let b_peer = vec![bootnode(0, ports[0])];
    let a = NodeProc::start(0, &dir.join("a"), ports[0], &a_peer, genesis, 40);
    let mut log = Vec::new();
    let mut b = NodeProc::start(1, &dir.join("b"), ports[1], &b_peer, genesis, 40);
    let heights = b.heights_until(Instant::now() + Duration::from_secs(9), &mut log);
    let before = heights.iter().copied().max().unwrap_or(0);
    assert!(before >= 1, "no chain in 9 slots:\n{}", log.join("\n"));
    // SIGKILL: no chance to flush anything but what each import wrote atomically.
    b.child.kill().unwrap();
    b.child.wait().unwrap();
    drop(b);
    let b = NodeProc::start(1, &dir.join("b"), ports[1], &b_peer, genesis, 10);
    let mut b_log = Vec::new();
    let after = b.heights_until(Instant::now() + Duration::from_secs(10), &mut b_log);
    let resumed = b_log
        .iter()
        .find_map(|l| {
            l.contains("tessera node started")
                .then(|| field(l, "best_height="))
        })
        .flatten();
    assert!(
        resumed.is_some_and(|h| h >= before),
        "restarted at height {resumed:?}, below the {before} it had stored:\n{}",
        b_log.join("\n")
    );
    assert!(
        after.iter().any(|h| *h > before),
        "the restarted node did not catch up past {before}: {after:?}\n{}",
        b_log.join("\n")
    );
    drop(a);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every line `node` logged until `deadline`, or until one satisfies `done`.
fn lines_until(
    node: &NodeProc,
    deadline: Instant,
    log: &mut Vec<String>,
    done: impl Fn(&str) -> bool,
) -> bool {
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match node.lines.recv_timeout(left) {
            Ok(line) => {
                let hit = done(&line);
                log.push(line);
                if hit {
                    return true;
                }
            }
            Err(_) => return false,
        }
    }
    false
}

/// The block number of a GRANDPA "finalized" line.
fn finalized_number(line: &str) -> Option<u32> {
    line.contains("finalized")
        .then(|| field(line, "number="))
        .flatten()
}

/// GRANDPA across a SIGKILL (GP §19; the voter record of `finality/record.rs`):
/// five of the six tiny validators finalize; one is killed mid-run and
/// restarted on its base path; it resumes after the round it had recorded, the
/// five finalize past where they were, and no validator sees an equivocation.
#[test]
fn a_killed_voter_resumes_its_rounds_and_finality_goes_on() {
    let dir = temp_dir("grandpa-restart");
    let ports: Vec<u16> = (0..5).map(|_| free_port()).collect();
    let peers: Vec<String> = (0..5).map(|i| bootnode(i, ports[i as usize])).collect();
    let others = |me: usize| -> Vec<String> {
        let mut o = peers.clone();
        o.remove(me);
        o
    };
    let genesis = now_unix();
    let base = |i: usize| dir.join(format!("v{i}"));
    let mut nodes: Vec<NodeProc> = (0..5)
        .map(|i| NodeProc::start(i as u32, &base(i), ports[i], &others(i), genesis, 60))
        .collect();
    let mut log = Vec::new();
    let finalized_before = lines_until(
        &nodes[4],
        Instant::now() + Duration::from_secs(30),
        &mut log,
        |l| finalized_number(l).is_some_and(|n| n >= 2),
    );
    assert!(
        finalized_before,
        "five of six validators finalized nothing past #1 in 30 slots:\n{}",
        log.join("\n")
    );
    let before = log
        .iter()
        .filter_map(|l| finalized_number(l))
        .max()
        .unwrap_or(0);
    // SIGKILL: only what was written (the voter record is synced before a vote
    // leaves) survives.
    nodes[4].child.kill().unwrap();
    nodes[4].child.wait().unwrap();
    nodes[4] = NodeProc::start(4, &base(4), ports[4], &others(4), genesis, 30);
    let mut after = Vec::new();
    let caught_up = lines_until(
        &nodes[4],
        Instant::now() + Duration::from_secs(30),
        &mut after,
        |l| finalized_number(l).is_some_and(|n| n > before),
    );
    let resumed = after
        .iter()
        .find(|l| l.contains("GRANDPA voter resumes after its recorded round"));
    assert!(
        resumed.is_some_and(|l| field(l, "completed=").is_some_and(|r| r >= 1)),
        "the restarted voter did not resume from a recorded round:\n{}",
        after.join("\n")
    );
    let mut everything: Vec<String> = after.clone();
    for n in &nodes {
        everything.extend(n.lines.try_iter());
    }
    assert!(
        caught_up,
        "no block past #{before} finalized after the restart; the restarted node:\n{}\n\nthe others' GRANDPA lines:\n{}",
        after.join("\n"),
        everything[after.len()..]
            .iter()
            .filter(|l| l.contains("GRANDPA") || l.contains("finalized") || l.contains("WARN") || l.contains("peer"))
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    everything.extend(log);
    let equivocations: Vec<&String> = everything
        .iter()
        .filter(|l| l.contains("equivocation"))
        .collect();
    assert!(
        equivocations.is_empty(),
        "a validator saw an equivocation: {equivocations:?}"
    );
    drop(nodes);
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--validators-hosted 6`: one process hosts all six tiny validators (each its
/// own endpoint and database, one audit farm): it makes and finalizes a chain
/// on its own. Bad counts are refused with the reason.
/// `tessera node` on the tiny chain with `role` (`--dev I`, …), its database
/// under `base`, listening on `port`, for `slots` 1-second slots after `genesis`.
fn tessera_node(role: &[&str], base: &Path, port: u16, genesis: u64, slots: u32) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tessera"));
    cmd.args(["node", "--chain", "tiny"])
        .args(role)
        .arg("--base-path")
        .arg(base)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args([
            "--slot-seconds",
            "1",
            "--genesis-time",
            &genesis.to_string(),
        ])
        .args(["--slots", &slots.to_string(), "--da-backend", "simd"])
        .args(["--no-rpc", "--no-prometheus"]);
    cmd
}

/// The six tiny validators hosted in one process (listening from `port` on).
fn hosted_six(base: &Path, port: u16, genesis: u64, slots: u32) -> Command {
    tessera_node(
        &["--dev", "0", "--validators-hosted", "6"],
        base,
        port,
        genesis,
        slots,
    )
}

/// `tessera node --follower` beside a process hosting the six validators: it
/// syncs their chain, learns finality from their GRANDPA commits, authors
/// nothing, and keeps its endpoint key across a restart. A validator key
/// outside `κ`, `γ_P` and `ι` is refused with a pointer to `--follower`.
#[test]
fn a_follower_syncs_and_sees_finality() {
    let dir = temp_dir("follower");
    let port = free_port();
    let follower_port = free_port();
    let genesis = now_unix();
    let validators = hosted_six(&dir.join("validators"), port, genesis, 16)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("tessera node runs");
    struct Kill(Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _validators = Kill(validators);
    let follow = |slots: u32| {
        let mut cmd = tessera_node(
            &["--follower"],
            &dir.join("follower"),
            follower_port,
            genesis,
            slots,
        );
        cmd.env("RUST_LOG", "info,tessera_net=warn")
            .env("NO_COLOR", "1");
        for j in 0..6u16 {
            cmd.args(["--bootnode", &bootnode(u32::from(j), port + j)]);
        }
        let out = cmd.output().expect("tessera node --follower runs");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{stdout}\n{stderr}");
        let started = stderr
            .lines()
            .find(|l| l.contains("tessera node started"))
            .unwrap_or_else(|| panic!("no start line:\n{stderr}"))
            .to_string();
        (stdout, stderr, started)
    };
    let (stdout, stderr, started) = follow(10);
    assert!(started.contains("role=\"follower\""), "{started}");
    assert!(
        !stderr.contains("authored block"),
        "a follower authored:\n{stderr}"
    );
    let stopped = stdout
        .lines()
        .find(|l| l.starts_with("node stopped:"))
        .unwrap_or_else(|| panic!("no stop line:\n{stdout}\n{stderr}"));
    assert!(
        field(stopped, "best #").is_some_and(|h| h >= 4),
        "the follower did not sync: {stopped}\n{stderr}"
    );
    assert!(
        field(stopped, "finalized #").is_some_and(|f| f >= 1),
        "the follower saw no finality: {stopped}\n{stderr}"
    );
    assert!(stderr.contains("finalized block"), "{stderr}");
    // Restarted on its base path: the same endpoint key, the chain it had.
    let name = |line: &str| {
        let at = line.find("name=").expect("a name field") + 5;
        line[at..].split_whitespace().next().unwrap().to_string()
    };
    let (_, _, again) = follow(1);
    assert_eq!(name(&again), name(&started));
    assert!(
        field(&again, "best_height=").is_some_and(|h| h >= 4),
        "the follower lost its chain: {again}"
    );
    // A validator key outside κ, γ_P and ι (tiny: six validators, the same in all three) is refused.
    let out = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args([
            "node",
            "--chain",
            "tiny",
            "--dev",
            "7",
            "--no-rpc",
            "--no-prometheus",
        ])
        .arg("--base-path")
        .arg(dir.join("outsider"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--slots",
            "1",
            "--slot-seconds",
            "1",
        ])
        .output()
        .expect("tessera node runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("--follower"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn one_process_hosts_every_validator_and_finalizes() {
    let dir = temp_dir("hosted");
    let port = free_port();
    let out = hosted_six(&dir, port, now_unix(), 8)
        .env("RUST_LOG", "info,tessera_net=warn")
        .env("NO_COLOR", "1")
        .output()
        .expect("tessera node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let mut started: Vec<u32> = stderr
        .lines()
        .chain(stdout.lines())
        .filter(|l| l.contains("tessera node started"))
        .filter_map(|l| field(l, "validator="))
        .collect();
    started.sort();
    assert_eq!(started, vec![0, 1, 2, 3, 4, 5], "{stderr}");
    for j in 0..6 {
        assert!(
            dir.join(format!("hosted-{j}/db")).is_dir(),
            "hosted-{j}'s database"
        );
    }
    let stopped = stdout
        .lines()
        .find(|l| l.starts_with("node stopped:"))
        .unwrap_or_else(|| panic!("no stop line:\n{stdout}"));
    assert!(
        field(stopped, "finalized #").is_some_and(|f| f >= 1),
        "{stopped}"
    );
    assert!(stdout.contains("audit farm of 6 validators"), "{stdout}");
    for (args, reason) in [
        (
            vec!["--dev", "0", "--validators-hosted", "0"],
            "at least one",
        ),
        (
            vec!["--key-file", "/nonexistent", "--validators-hosted", "2"],
            "one file per hosted validator",
        ),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_tessera"))
            .args(["node", "--chain", "tiny", "--no-rpc", "--no-prometheus"])
            .args(&args)
            .arg("--base-path")
            .arg(dir.join("refused"))
            .output()
            .expect("tessera node runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && stderr.contains(reason),
            "{args:?}: {stderr}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

//! `tessera testnet` as a process: a short run of the tiny network with 1-second
//! slots must pass (exit 0) and print a status line per slot and its summary.

use std::process::Command;
use std::sync::Mutex;

/// One testnet at a time: each is six nodes with 1-second slots, and two at once
/// on a 2-core machine could miss slots for reasons that are not the node's.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

#[test]
fn a_short_testnet_passes() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let out = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["testnet", "--slots", "10", "--slot-seconds", "1"])
        .args(["--rpc-port", "0", "--prometheus-port", "0"])
        .output()
        .expect("tessera testnet runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "testnet failed:\n{stdout}\n{stderr}");
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
    let work = stdout
        .lines()
        .find(|l| l.starts_with("summary: work packages"))
        .unwrap_or_else(|| panic!("no work summary:\n{stdout}"));
    let submitted = number_after(work, "submitted ");
    assert!(submitted > 0, "{work}");
    assert_eq!(number_after(work, "accumulated "), submitted, "{work}");
    assert!(number_after(work, "audits ") > 0, "{work}");
    let last = stdout
        .lines()
        .rfind(|l| l.starts_with("slot "))
        .unwrap_or_default();
    assert!(!last.contains("finalized #0 "), "nothing finalized: {last}");
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

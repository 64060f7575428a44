//! `tessera testnet` as a process: a short run of the tiny network with 1-second
//! slots must pass (exit 0) and print a status line per slot and its summary.

use std::process::Command;

#[test]
fn a_short_testnet_passes() {
    let out = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["testnet", "--slots", "8", "--slot-seconds", "1"])
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

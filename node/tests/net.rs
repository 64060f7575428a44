//! `tessera key` against JIP-5's development keys, and two `tessera net-ping`
//! processes completing a JAMNP-S handshake and a request over loopback.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

fn tessera(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(args)
        .output()
        .expect("the tessera binary runs")
}

/// The standard output of a run that must have succeeded (its standard error
/// otherwise, in the failure message).
fn stdout_of_success(out: std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn key_prints_jip5_dev_keys_and_alt_name() {
    let out = tessera(&["key", "--dev", "0"]);
    let text = stdout_of_success(out);
    assert!(
        text.contains("0x4418fb8c85bb3985394a8c2756d3643457ce614546202a2f50b093d762499ace"),
        "{text}"
    );
    assert!(
        text.contains("0xff71c6c03ff88adb5ed52c9681de1629a54e702fc14729f6b50d2f0a76f185b3"),
        "{text}"
    );
    assert!(
        text.contains("eecgwpgwq3noky4ijm4jmvjtmuzv44qvigciusxakq5epnrfj2utb"),
        "{text}"
    );

    let out = tessera(&[
        "key",
        "--json",
        "--seed",
        "0x0500000005000000050000000500000005000000050000000500000005000000",
    ]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["ed25519"],
        "0xab0084d01534b31c1dd87c81645fd762482a90027754041ca1b56133d0466c06"
    );

    let out = tessera(&["key", "--seed", "abcd"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("32 octets"));
}

#[test]
fn two_processes_complete_a_handshake_and_a_request() {
    let mut server = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["net-ping", "--dev", "0", "--timeout-ms", "20000"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("server starts");
    let mut line = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .split_whitespace()
        .nth(1)
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_string();
    let out = tessera(&[
        "net-ping",
        "--dev",
        "1",
        "--connect",
        &addr,
        "--peer-dev",
        "0",
        "--timeout-ms",
        "5000",
    ]);
    let _ = server.kill();
    let _ = server.wait();
    let text = stdout_of_success(out);
    assert!(
        text.contains("ok eecgwpgwq3noky4ijm4jmvjtmuzv44qvigciusxakq5epnrfj2utb"),
        "{text}"
    );
}

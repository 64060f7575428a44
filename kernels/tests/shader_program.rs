//! The committed `shaders/ed25519.wgsl` cannot drift from its generator,
//! `shaders/ed25519_program.py`: its `--check` regenerates the shader's generated block
//! and compares it with the committed one, then runs the program with the shader's
//! state machine on the ZIP-215 vectors (about a second). Likewise
//! `shaders/ed25519_registers.wgsl` and `kernels/src/gpu/ed25519_base.rs` with
//! `shaders/ed25519_registers.py`, whose `--check` runs a model of that kernel's
//! schedule (recoding, tables, formulas) on the vectors.
//!
//! The generator is Python, so this test needs `python3`. Without it the test is
//! skipped with a loud note, unless `TESSERA_REQUIRE_PYTHON=1` (CI sets it), which
//! turns the skip into a failure. Without the vectors only the comparison runs (the
//! conformance harness decides whether that is a skip or, with
//! `JAM_VECTORS_REQUIRED=1`, a failure).

use std::path::Path;
use std::process::Command;

#[test]
fn ed25519_shader_equals_its_generator() {
    check("ed25519_program.py");
}

#[test]
fn ed25519_registers_shader_equals_its_generator() {
    check("ed25519_registers.py");
}

/// Run `shaders/<script> --check` (or `--check-generated` without the vectors).
fn check(script: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let script = root.join("shaders").join(script);
    let mut command = Command::new("python3");
    command.arg(&script);
    match tessera_conformance::vectors_folder("ed25519") {
        Some(folder) => {
            let vectors = folder.parent().unwrap_or(&folder).to_path_buf();
            command.arg("--check").env("JAM_VECTORS", vectors);
        }
        None => {
            command.arg("--check-generated");
        }
    }
    let output = match command.output() {
        Ok(output) => output,
        Err(e) => {
            let required = tessera_test_support::required("TESSERA_REQUIRE_PYTHON");
            assert!(
                !required,
                "TESSERA_REQUIRE_PYTHON=1 but python3 cannot run: {e}"
            );
            eprintln!(
                "\n!!!!!!!! SKIPPED: python3 cannot run ({e}), so {} was not checked \
                 (TESSERA_REQUIRE_PYTHON=1 fails instead) !!!!!!!!\n",
                script.display()
            );
            return;
        }
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    eprintln!("{stdout}{stderr}");
    assert!(
        output.status.success(),
        "{} --check failed ({}):\n{stdout}{stderr}",
        script.display(),
        output.status
    );
}

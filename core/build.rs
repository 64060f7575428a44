//! Build script of `tessera-core`: embeds the KZG structured reference string (SRS)
//! that the Bandersnatch ring VRF (GP Appendix G) is set up with.
//!
//! The SRS is the one the JAM test vectors were made with: the file
//! `data/srs/bls12-381-srs-2-11-uncompressed-zcash.bin` (590,320 bytes, the Zcash
//! powers-of-tau ceremony, 2^11 domain, uncompressed arkworks serialization) that the
//! `ark-vrf` 0.1.0 crate package ships. It is not committed to this repository; this
//! script finds it in the package Cargo already downloaded (and checked against the
//! `Cargo.lock` checksum), copies it to `$OUT_DIR`, and
//! `core/src/crypto/bandersnatch.rs` embeds it with `include_bytes!`, so the built
//! binary needs neither the cargo registry nor any data directory at run time.
//!
//! Where it looks, first hit wins:
//! 1. `$TESSERA_BANDERSNATCH_SRS`, the path of the file itself (for vendored or offline
//!    builds that keep the file elsewhere);
//! 2. `$CARGO_HOME/registry/src/*/ark-vrf-0.1.0/data/srs/…` (`CARGO_HOME` defaults to
//!    `$HOME/.cargo`), registry directories taken in sorted order;
//! 3. `vendor/ark-vrf/data/srs/…` beside the workspace (`cargo vendor` layout).
//!
//! A file of the wrong size is rejected. If none is found the build fails with a
//! message that says where it looked and how to fix it.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};

const SRS_FILE: &str = "bls12-381-srs-2-11-uncompressed-zcash.bin";
const SRS_LEN: u64 = 590_320;
const PACKAGE_DIR: &str = "ark-vrf-0.1.0";
const OVERRIDE_VAR: &str = "TESSERA_BANDERSNATCH_SRS";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed={OVERRIDE_VAR}");
    println!("cargo:rerun-if-env-changed=CARGO_HOME");

    let candidates = candidates();
    let Some(found) = candidates.iter().find(|p| is_srs(p)) else {
        let looked: Vec<String> = candidates.iter().map(|p| p.display().to_string()).collect();
        panic!(
            "tessera-core: cannot find the Bandersnatch ring-VRF SRS `{SRS_FILE}` \
             ({SRS_LEN} bytes) shipped in the `{PACKAGE_DIR}` crate package.\n\
             Looked in {}/registry/src/*/{PACKAGE_DIR}/data/srs/ and at:\n  {}\n\
             Run `cargo fetch` so that the ark-vrf 0.1.0 package is in the cargo registry, \
             or set {OVERRIDE_VAR} to the path of the file.",
            cargo_home().map_or_else(|| "$CARGO_HOME".to_owned(), |h| h.display().to_string()),
            if looked.is_empty() {
                "(nothing)".to_owned()
            } else {
                looked.join("\n  ")
            }
        );
    };
    println!("cargo:rerun-if-changed={}", found.display());

    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let dest = out_dir.join(SRS_FILE);
    if let Err(e) = fs::copy(found, &dest) {
        panic!(
            "tessera-core: copying {} to {}: {e}",
            found.display(),
            dest.display()
        );
    }
}

/// Every place the SRS may be, in the order they are tried.
fn candidates() -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Some(p) = env::var_os(OVERRIDE_VAR) {
        out.push(PathBuf::from(p));
    }
    if let Some(home) = cargo_home() {
        let src = home.join("registry").join("src");
        if let Ok(entries) = fs::read_dir(&src) {
            let mut registries: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
            registries.sort();
            out.extend(registries.into_iter().map(|r| srs_in(&r.join(PACKAGE_DIR))));
        }
    }
    if let Some(manifest) = env::var_os("CARGO_MANIFEST_DIR") {
        out.push(srs_in(
            &Path::new(&manifest)
                .join("..")
                .join("vendor")
                .join("ark-vrf"),
        ));
    }
    out
}

/// `$CARGO_HOME`, or its default `$HOME/.cargo`.
fn cargo_home() -> Option<PathBuf> {
    env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")))
}

fn srs_in(package: &Path) -> PathBuf {
    package.join("data").join("srs").join(SRS_FILE)
}

fn is_srs(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() == SRS_LEN)
}

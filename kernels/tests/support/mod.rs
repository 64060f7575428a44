//! Helpers shared by the kernels' test binaries (each includes this module with
//! `mod support;` and uses what it needs).
#![allow(dead_code)]

use serde::Deserialize;
use tessera_core::crypto::ed25519::{PublicKey, Signature};
use tessera_kernels::gpu::{self, GpuContext};

/// An owned Ed25519 item: key, message, signature.
pub(crate) type Item = (PublicKey, Vec<u8>, Signature);

/// The shared GPU context, or `None` (after a loud note) when there is no adapter and
/// the GPU is not required: `TESSERA_REQUIRE_GPU=1` (CI sets it; there lavapipe,
/// Mesa's software Vulkan, is the adapter) turns the skip into a failure.
pub(crate) fn gpu_or_skip(test: &str) -> Option<&'static GpuContext> {
    let ctx = tessera_test_support::present_or_skip(test, "TESSERA_REQUIRE_GPU", gpu::context())?;
    eprintln!("{test}: on GPU adapter `{}`", ctx.adapter_name());
    Some(ctx)
}

/// `items` as the `(key, message, signature)` triples the batch API takes.
pub(crate) fn borrow(items: &[Item]) -> Vec<(PublicKey, &[u8], Signature)> {
    items
        .iter()
        .map(|(k, m, s)| (*k, m.as_slice(), *s))
        .collect()
}

#[derive(Deserialize)]
struct Zip215Vector {
    pk: String,
    r: String,
    s: String,
    msg: String,
}

fn hex_array<const N: usize>(s: &str) -> [u8; N] {
    let v = hex::decode(s).expect("hex");
    v.try_into().expect("length")
}

/// The 196 ZIP-215 cases of `ed25519/vectors.json`, or `None` (loudly) when the vectors
/// are absent and not required.
pub(crate) fn zip215_items() -> Option<Vec<Item>> {
    let path = tessera_conformance::vectors_folder("ed25519")?.join("vectors.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let raw: Vec<Zip215Vector> =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    assert_eq!(raw.len(), 196, "number of ZIP-215 vectors");
    Some(
        raw.iter()
            .map(|v| {
                (
                    PublicKey::from(hex_array::<32>(&v.pk)),
                    hex::decode(&v.msg).expect("msg hex"),
                    Signature::from_parts(hex_array(&v.r), hex_array(&v.s)),
                )
            })
            .collect(),
    )
}

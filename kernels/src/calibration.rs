//! Which backend [`Backend::Auto`] runs, decided by measurement (issue #20 item 4).
//!
//! On an H200 the `gpu` backend was slower than `simd` at erasure encoding and faster
//! at hashing and erasure roots, and it overtook `simd` at Ed25519 somewhere between
//! batches of 1,023 and 10,000: no fixed rule is right on every machine. So `auto`
//! runs on the GPU only where a **calibration** of this machine says the GPU is
//! faster: `tessera bench da --calibrate` and `tessera bench sigs --calibrate` measure
//! `simd` and `gpu` side by side and store, per operation, the sizes measured and
//! both rates ([`Calibration`], JSON); the node loads the file at start
//! ([`install`]). Without a calibration, or with one made on another adapter, `auto`
//! is `simd` — so `auto` never picks a path slower than `simd` on a machine whose
//! GPU has not been measured.
//!
//! The rule for a size `s` ([`Calibration::gpu_wins`]): the GPU runs only if it won
//! (by at least [`MARGIN`]) at the largest measured size `≤ s` and also at the
//! smallest measured size `≥ s`, where there is one. Below every measured size,
//! `simd`; above them all, the largest size's verdict (a GPU's advantage grows with
//! the batch).

use std::sync::RwLock;

use serde::{Deserialize, Serialize};

/// How much faster the GPU must have been to be chosen: 5 %, above the run-to-run
/// noise of the benches, so that a tie never moves work to the GPU.
pub const MARGIN: f64 = 1.05;

/// An operation `auto` decides per size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    /// Erasure encoding (GP Appendix H); size: octets of input.
    Encode,
    /// Erasure reconstruction; size: octets of output.
    Reconstruct,
    /// Blake2b of shards and `M_B` of segment-shard lists; size: octets hashed.
    Hash,
    /// The availability pipeline of a package (encode and hash, GP 14.16); size:
    /// octets of the bundle and its segments.
    ErasureRoot,
    /// Ed25519 batch verification; size: signatures.
    Ed25519,
}

impl Operation {
    /// The name the benches and the file use.
    pub fn name(self) -> &'static str {
        match self {
            Operation::Encode => "encode",
            Operation::Reconstruct => "reconstruct",
            Operation::Hash => "hash",
            Operation::ErasureRoot => "erasure_root",
            Operation::Ed25519 => "ed25519",
        }
    }

    /// The operation of a bench record's name.
    pub fn from_name(name: &str) -> Option<Operation> {
        [
            Operation::Encode,
            Operation::Reconstruct,
            Operation::Hash,
            Operation::ErasureRoot,
            Operation::Ed25519,
        ]
        .into_iter()
        .find(|o| o.name() == name)
    }
}

/// One measured size of one operation: both backends' rates (any unit, the same for
/// both: MB/s or verifications/s).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// The operation.
    pub operation: Operation,
    /// Its size (see [`Operation`]).
    pub size: u64,
    /// The `gpu` backend's rate.
    pub gpu_per_s: f64,
    /// The `simd` backend's rate.
    pub simd_per_s: f64,
}

impl Point {
    fn gpu_faster(&self) -> bool {
        self.gpu_per_s >= self.simd_per_s * MARGIN
    }
}

/// A machine's calibration: the adapter it was measured on and its points.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// The GPU adapter's name (`GpuContext::adapter_name`); a calibration is used
    /// only with that adapter.
    pub adapter: String,
    /// Its driver, for the reader.
    #[serde(default)]
    pub driver: String,
    /// The CPU's SIMD engine when measured, for the reader.
    #[serde(default)]
    pub simd: String,
    /// The measurements.
    pub points: Vec<Point>,
}

impl Calibration {
    /// Whether the GPU should run `operation` at `size` (the rule of the module docs).
    pub fn gpu_wins(&self, operation: Operation, size: u64) -> bool {
        let points = || self.points.iter().filter(|p| p.operation == operation);
        let below = points().filter(|p| p.size <= size).max_by_key(|p| p.size);
        let above = points().filter(|p| p.size >= size).min_by_key(|p| p.size);
        match (below, above) {
            (Some(b), Some(a)) => b.gpu_faster() && a.gpu_faster(),
            (Some(b), None) => b.gpu_faster(),
            (None, _) => false,
        }
    }

    /// `other`'s points replace this calibration's points of the same operations
    /// (a new `bench da` run keeps an earlier `bench sigs` run's Ed25519 points);
    /// `other`'s adapter wins, and if it differs every old point is dropped.
    pub fn merge(&mut self, other: Calibration) {
        if other.adapter != self.adapter {
            self.points.clear();
        }
        self.points
            .retain(|p| !other.points.iter().any(|o| o.operation == p.operation));
        self.points.extend(other.points);
        self.points.sort_by_key(|p| (p.operation.name(), p.size));
        self.adapter = other.adapter;
        self.driver = other.driver;
        self.simd = other.simd;
    }

    /// Parse a calibration file, with a message naming what is wrong.
    pub fn from_json(text: &str) -> Result<Calibration, String> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        check_shape(&value)?;
        let calibration: Calibration =
            serde_json::from_value(value).map_err(|e| format!("not a calibration file: {e}"))?;
        if let Some(p) = calibration.points.iter().find(|p| {
            !(p.gpu_per_s.is_finite() && p.simd_per_s.is_finite())
                || p.gpu_per_s < 0.0
                || p.simd_per_s < 0.0
        }) {
            return Err(format!(
                "points: {} at size {} has a rate that is not a finite non-negative number",
                p.operation.name(),
                p.size
            ));
        }
        Ok(calibration)
    }

    /// The file's text.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// Check the fields serde's messages would not name (a wrong type says only where
/// in the text it is): `adapter` a string, `points` an array of objects with a known
/// `operation`, an integer `size` and numeric rates.
fn check_shape(value: &serde_json::Value) -> Result<(), String> {
    if !value["adapter"].is_string() {
        return Err("adapter: expected the GPU adapter's name, a string".into());
    }
    let points = value["points"]
        .as_array()
        .ok_or("points: expected an array of measurements")?;
    for (i, p) in points.iter().enumerate() {
        let operation = p["operation"].as_str().unwrap_or("");
        if Operation::from_name(operation).is_none() {
            return Err(format!(
                "points[{i}].operation: expected encode, reconstruct, hash, erasure_root \
                 or ed25519, found {}",
                p["operation"]
            ));
        }
        if !p["size"].is_u64() {
            return Err(format!("points[{i}].size: expected a non-negative integer"));
        }
        for rate in ["gpu_per_s", "simd_per_s"] {
            if !p[rate].is_number() {
                return Err(format!("points[{i}].{rate}: expected a number"));
            }
        }
    }
    Ok(())
}

/// The process's calibration, if one was installed.
static INSTALLED: RwLock<Option<Calibration>> = RwLock::new(None);

/// Use `calibration` for `auto` from now on, for the whole process.
pub fn install(calibration: Calibration) {
    *INSTALLED
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(calibration);
}

/// Whether `auto` runs `operation` at `size` on the GPU: the installed calibration
/// says so and was made on `adapter`. No calibration: no.
pub(crate) fn gpu_wins(operation: Operation, size: u64, adapter: &str) -> bool {
    INSTALLED
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .as_ref()
        .is_some_and(|c| c.adapter == adapter && c.gpu_wins(operation, size))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(operation: Operation, size: u64, gpu: f64, simd: f64) -> Point {
        Point {
            operation,
            size,
            gpu_per_s: gpu,
            simd_per_s: simd,
        }
    }

    /// The H200's Ed25519 figures of issue #20: simd ahead at 1,023, the GPU from
    /// 10,000 on.
    fn h200() -> Calibration {
        Calibration {
            adapter: "NVIDIA H200".into(),
            points: vec![
                point(Operation::Ed25519, 1023, 138e3, 143e3),
                point(Operation::Ed25519, 10_000, 1.12e6, 621e3),
                point(Operation::Ed25519, 100_000, 1.85e6, 726e3),
                point(Operation::Encode, 13_000_000, 1304.0, 2161.0),
                point(Operation::ErasureRoot, 13_000_000, 796.0, 584.0),
            ],
            ..Calibration::default()
        }
    }

    #[test]
    fn gpu_only_between_and_beyond_sizes_it_won() {
        let c = h200();
        // Below every point, and between a loss and a win: simd.
        assert!(!c.gpu_wins(Operation::Ed25519, 100));
        assert!(!c.gpu_wins(Operation::Ed25519, 1023));
        assert!(!c.gpu_wins(Operation::Ed25519, 4096));
        // Between two wins, at one, and beyond the largest: the GPU.
        assert!(c.gpu_wins(Operation::Ed25519, 10_000));
        assert!(c.gpu_wins(Operation::Ed25519, 50_000));
        assert!(c.gpu_wins(Operation::Ed25519, 1_000_000));
        // Per operation: encode lost, the erasure root won; unmeasured: simd.
        assert!(!c.gpu_wins(Operation::Encode, 20_000_000));
        assert!(c.gpu_wins(Operation::ErasureRoot, 20_000_000));
        assert!(!c.gpu_wins(Operation::Reconstruct, 20_000_000));
    }

    #[test]
    fn a_tie_stays_on_simd() {
        let c = Calibration {
            points: vec![point(Operation::Hash, 1, 104.0, 100.0)],
            ..Calibration::default()
        };
        assert!(!c.gpu_wins(Operation::Hash, 1));
    }

    #[test]
    fn only_the_calibrated_adapter_uses_it() {
        install(h200());
        assert!(gpu_wins(Operation::Ed25519, 50_000, "NVIDIA H200"));
        assert!(!gpu_wins(
            Operation::Ed25519,
            50_000,
            "llvmpipe (LLVM 15.0.6, 256 bits)"
        ));
        install(Calibration::default());
    }

    #[test]
    fn merging_replaces_an_operation_and_keeps_the_others() {
        let mut c = h200();
        c.merge(Calibration {
            adapter: "NVIDIA H200".into(),
            points: vec![point(Operation::Encode, 13_000_000, 9000.0, 2161.0)],
            ..Calibration::default()
        });
        assert!(c.gpu_wins(Operation::Encode, 13_000_000));
        assert!(c.gpu_wins(Operation::Ed25519, 10_000));
        assert_eq!(c.points.len(), 5);
        // Another adapter: nothing of the old one survives.
        c.merge(Calibration {
            adapter: "other".into(),
            points: vec![point(Operation::Hash, 1, 2.0, 1.0)],
            ..Calibration::default()
        });
        assert_eq!(c.points.len(), 1);
    }

    #[test]
    fn files_round_trip_and_bad_ones_name_the_field() {
        let c = h200();
        assert_eq!(Calibration::from_json(&c.to_json()), Ok(c));
        let err = Calibration::from_json("{\"adapter\": \"x\"}").unwrap_err();
        assert!(err.contains("points"), "{err}");
        let err = Calibration::from_json("{\"adapter\": 3, \"points\": []}").unwrap_err();
        assert!(err.starts_with("adapter"), "{err}");
        let err = Calibration::from_json(
            "{\"adapter\":\"x\",\"points\":[{\"operation\":\"sort\",\"size\":1,\
             \"gpu_per_s\":1,\"simd_per_s\":1}]}",
        )
        .unwrap_err();
        assert!(
            err.contains("points[0].operation") && err.contains("sort"),
            "{err}"
        );
        let err = Calibration::from_json(
            "{\"adapter\":\"x\",\"points\":[{\"operation\":\"hash\",\"size\":1,\
             \"gpu_per_s\":-1,\"simd_per_s\":1}]}",
        )
        .unwrap_err();
        assert!(err.contains("points: hash"), "{err}");
    }
}

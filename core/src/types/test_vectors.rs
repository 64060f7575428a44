//! Test-only access to the official codec vectors, when they are present.

use std::path::PathBuf;

use crate::spec::ChainSpec;

/// The vectors root: `$JAM_VECTORS`, else `../shared/vectors` beside the
/// workspace. `None` when absent, unless `JAM_VECTORS_REQUIRED=1`, which panics.
pub(crate) fn root() -> Option<PathBuf> {
    let root = std::env::var_os("JAM_VECTORS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors"));
    if root.join("codec").is_dir() {
        return Some(root);
    }
    assert!(
        std::env::var("JAM_VECTORS_REQUIRED").map_or(true, |v| v != "1"),
        "JAM_VECTORS_REQUIRED=1 but no codec vectors under {}",
        root.display()
    );
    None
}

/// Every codec vector as `(spec, file stem, .bin bytes, parsed .json)`; empty
/// when the vectors are absent.
pub(crate) fn codec_cases() -> Vec<(ChainSpec, String, Vec<u8>, serde_json::Value)> {
    let Some(root) = root() else {
        return Vec::new();
    };
    let mut cases = Vec::new();
    for spec in [ChainSpec::tiny(), ChainSpec::full()] {
        let dir = root.join("codec").join(spec.name.to_string());
        let mut bins: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "bin"))
            .collect();
        bins.sort();
        for bin in bins {
            let stem = bin
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .to_owned();
            let bytes = std::fs::read(&bin).unwrap_or_else(|e| panic!("{}: {e}", bin.display()));
            let json_path = bin.with_extension("json");
            let text = std::fs::read_to_string(&json_path)
                .unwrap_or_else(|e| panic!("{}: {e}", json_path.display()));
            let json = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{}: {e}", json_path.display()));
            cases.push((spec.clone(), stem, bytes, json));
        }
    }
    cases
}

/// The type of a codec vector from its file stem: `work_result_1` → `work-result`.
pub(crate) fn type_of_stem(stem: &str) -> super::NamedType {
    let base = stem
        .trim_end_matches(|c: char| c.is_ascii_digit())
        .trim_end_matches('_');
    base.replace('_', "-")
        .parse()
        .unwrap_or_else(|e| panic!("vector `{stem}`: {e}"))
}

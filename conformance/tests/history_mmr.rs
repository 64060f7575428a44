//! The BEEFY belt's MMR in the recent-history vectors (`stf/history/tiny`): for each
//! case, appending `input.accumulate_root` to `pre_state.beta.mmr` under Keccak-256
//! (GP E.8) must give `post_state.beta.mmr`, and the newest history entry's
//! `beefy_root` must be the super-peak `M_R` (E.10) of that MMR.
//!
//! A plain test, not a `Suite`: the recent-history STF suite owns this folder and
//! checks the rest of each case.

use serde_json::Value;
use tessera_core::hash::{keccak_256, Hash};
use tessera_core::merkle::mmr::Mmr;

fn field<'a>(v: &'a Value, path: &[&str], file: &str) -> &'a Value {
    path.iter().fold(v, |v, k| {
        v.get(k)
            .unwrap_or_else(|| panic!("{file}: no field `{}`", path.join(".")))
    })
}

fn parse<T: serde::de::DeserializeOwned>(v: &Value, what: &str, file: &str) -> T {
    serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("{file}: bad {what}: {e}"))
}

#[test]
fn history_mmr() {
    let Some(dir) = tessera_conformance::vectors_folder("stf/history/tiny") else {
        return;
    };
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("list the history vectors")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let (mut cases, mut checks) = (0, 0);
    for path in &files {
        let file = path.display().to_string();
        let text = std::fs::read(path).unwrap_or_else(|e| panic!("{file}: {e}"));
        let json: Value = serde_json::from_slice(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
        let leaf: Hash = parse(
            field(&json, &["input", "accumulate_root"], &file),
            "accumulate_root",
            &file,
        );
        let pre: Mmr = parse(
            field(&json, &["pre_state", "beta", "mmr"], &file),
            "pre mmr",
            &file,
        );
        let post: Mmr = parse(
            field(&json, &["post_state", "beta", "mmr"], &file),
            "post mmr",
            &file,
        );
        let got = pre.appended(leaf, keccak_256);
        assert_eq!(got, post, "{file}: MMR after appending accumulate_root");
        checks += 1;
        let history = field(&json, &["post_state", "beta", "history"], &file)
            .as_array()
            .unwrap_or_else(|| panic!("{file}: history is not a list"));
        let newest = history
            .last()
            .unwrap_or_else(|| panic!("{file}: empty history"));
        let beefy: Hash = parse(field(newest, &["beefy_root"], &file), "beefy_root", &file);
        assert_eq!(
            got.super_peak(keccak_256),
            beefy,
            "{file}: beefy_root is the super-peak"
        );
        checks += 1;
        cases += 1;
    }
    eprintln!("[stf/history/tiny] history_mmr: {cases} cases, {checks} checks passed");
    assert!(checks > 0, "no history vector found in {}", dir.display());
}

//! The state trie `M_σ` (GP D.5–D.6) against two sets of vectors.
//!
//! - `trie/trie.json` (suite `trie`): each case maps hex keys to hex values and gives
//!   the root. These vectors predate GP 0.4.0, which reversed the bit order of
//!   `bits`; they were never regenerated (davxy/jam-test-vectors issue #81,
//!   w3f/jamtestvectors PR #14), so they are checked with the old order,
//!   [`BitOrder::LsbFirst`]. Their keys are 32 octets; GP v0.7.2 state keys are 31
//!   and a leaf holds only the first 31, so the keys are passed whole.
//! - The v0.7.2 block-import traces (`traces/*/0*.bin`, plain test
//!   `traces_state_roots`): each step opens with its pre-state, a state root and
//!   its full list of 31-octet keys and values; the root must be [`trie::state_root`]
//!   (GP v0.7.2, most significant bit first) of the list. Where the two sets differ
//!   the traces win: they are the v0.7.2 state roots every client is checked by.

use std::collections::BTreeMap;

use tessera_conformance::{ensure_eq, CaseCtx, CaseError, Outcome, Suite};
use tessera_core::bytes::parse_hex;
use tessera_core::bytes::{ByteArray, Bytes};
use tessera_core::codec::Reader;
use tessera_core::hash::Hash;
use tessera_core::merkle::trie::{self, BitOrder};
use tessera_core::spec::ChainSpec;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    input: BTreeMap<String, String>,
    output: String,
}

struct Trie;

impl Suite for Trie {
    fn folder(&self) -> &str {
        "trie"
    }

    fn is_case(&self, file: &str) -> bool {
        file.ends_with(".json")
    }

    fn run_case(&self, ctx: &CaseCtx<'_>, file: &str) -> Result<Outcome, CaseError> {
        let cases: Vec<Case> = ctx.read_json(file)?;
        if cases.is_empty() {
            tessera_conformance::fail!("{file} holds no case");
        }
        for (n, case) in cases.iter().enumerate() {
            let mut pairs = Vec::with_capacity(case.input.len());
            for (k, v) in &case.input {
                let key = parse_hex(k).map_err(CaseError)?;
                if key.len() != 32 {
                    tessera_conformance::fail!("case {n}: key {k} is not 32 octets");
                }
                pairs.push((key, parse_hex(v).map_err(CaseError)?));
            }
            let want: Hash = case.output.parse().map_err(CaseError)?;
            ensure_eq!(
                trie::state_root_with(BitOrder::LsbFirst, pairs),
                want,
                "case {n} of {file}: state root (pre-0.4 bit order)"
            );
        }
        Ok(Outcome::Passed)
    }
}

#[test]
fn trie() {
    tessera_conformance::run(&Trie)
}

/// The trace folders shipped with the vectors (see `shared/README.md`).
const TRACES: [&str; 4] = ["fallback", "safrole", "storage", "preimages"];

/// Each trace step's pre-state: `state_root` then `keyvals` (`traces/schema.asn`
/// `RawState`), decoded from the front of the step file; the block after it is
/// another suite's business.
#[test]
fn traces_state_roots() {
    let Some(root) = tessera_conformance::vectors_folder("traces") else {
        return;
    };
    let spec = ChainSpec::tiny();
    let (mut checked, mut nonempty) = (0usize, 0usize);
    for folder in TRACES {
        let dir = root.join(folder);
        let mut steps: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.extension().is_some_and(|x| x == "bin")
                    && p.file_name().is_some_and(|n| n != "genesis.bin")
            })
            .collect();
        steps.sort();
        for path in steps {
            let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let mut r = Reader::new(&spec, &bytes);
            let want = r
                .array::<32>("state root")
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let keyvals: Vec<(ByteArray<31>, Bytes)> = r
                .seq("keyvals", None)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            nonempty += usize::from(!keyvals.is_empty());
            assert_eq!(
                trie::state_root(keyvals),
                Hash::from(want),
                "{}: pre-state root",
                path.display()
            );
            checked += 1;
        }
    }
    eprintln!("[traces] state roots: {checked} pre-states checked ({nonempty} non-empty)");
    assert!(
        checked > 0 && nonempty > 0,
        "no trace step found under {}",
        root.display()
    );
}

/// A copy of the vectors with one expected root changed fails; a stray file that no
/// case reads is reported as not consumed.
#[test]
fn corrupted_vector_copy_fails_the_suite() {
    let report = tessera_conformance::run_report_on_copy(&Trie, |dir| {
        let path = dir.join("trie.json");
        let mut v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let root = v[3]["output"].as_str().unwrap();
        let flipped = if root.starts_with('0') { "1" } else { "0" };
        v[3]["output"] = serde_json::Value::from(format!("{flipped}{}", &root[1..]));
        std::fs::write(&path, serde_json::to_vec(&v).unwrap()).unwrap();
        std::fs::write(dir.join("stray.txt"), b"unread").unwrap();
    });
    let Some(report) = report else { return };
    assert_eq!(report.failed.len(), 1, "{report:?}");
    assert_eq!(report.unconsumed.len(), 1, "{report:?}");
    assert!(report.unconsumed[0].ends_with("stray.txt"));
}

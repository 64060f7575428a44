//! The shuffle vectors (`shuffle/shuffle_tests.json`): each case shuffles `[0, n)`
//! with `F(s, Q_n(entropy))` (GP Appendix F, F.1–F.3) and compares with `output`.

use serde::Deserialize;
use tessera_conformance::{ensure_eq, CaseCtx, CaseError, Outcome, Suite};
use tessera_core::hash::Hash;
use tessera_core::shuffle::{fisher_yates, sequence_from_hash, shuffle_by_entropy};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    input: u32,
    entropy: String,
    output: Vec<u32>,
}

struct ShuffleSuite;

impl Suite for ShuffleSuite {
    fn folder(&self) -> &str {
        "shuffle"
    }

    fn is_case(&self, file: &str) -> bool {
        file == "shuffle_tests.json"
    }

    fn run_case(&self, ctx: &CaseCtx<'_>, file: &str) -> Result<Outcome, CaseError> {
        let cases: Vec<Case> = ctx.read_json(file)?;
        if cases.is_empty() {
            return Err(CaseError(format!("{file}: no cases")));
        }
        let mut failures = Vec::new();
        for (k, case) in cases.iter().enumerate() {
            let entropy: Hash = case
                .entropy
                .parse()
                .map_err(|e| CaseError(format!("case {k}: entropy: {e}")))?;
            let s: Vec<u32> = (0..case.input).collect();
            let by_entropy = shuffle_by_entropy(&s, &entropy);
            // The two-step form, F(s, Q_l(h)), must give the same permutation.
            let by_numbers = fisher_yates(&s, &sequence_from_hash(&entropy, s.len()))?;
            ensure_eq!(by_entropy, by_numbers, "case {k}: F(s, h) vs F(s, Q_l(h))");
            if by_entropy != case.output {
                failures.push(format!(
                    "case {k} (n = {}, entropy {}):\n    got  {:?}\n    want {:?}",
                    case.input, case.entropy, by_entropy, case.output
                ));
            }
        }
        if !failures.is_empty() {
            return Err(CaseError(format!(
                "{} of {} shuffles differ:\n  {}",
                failures.len(),
                cases.len(),
                failures.join("\n  ")
            )));
        }
        let sizes: Vec<u32> = cases.iter().map(|c| c.input).collect();
        eprintln!("[shuffle] {} shuffles match (n = {sizes:?})", cases.len());
        Ok(Outcome::Passed)
    }
}

#[test]
fn shuffle() {
    tessera_conformance::run(&ShuffleSuite)
}

/// A copy of the vectors with two entries of one expected permutation swapped fails.
#[test]
fn corrupted_vector_copy_fails_the_suite() {
    let report = tessera_conformance::run_report_on_copy(&ShuffleSuite, |dir| {
        let path = dir.join("shuffle_tests.json");
        let mut v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let out = v[1]["output"].as_array_mut().unwrap();
        out.swap(0, 1);
        std::fs::write(&path, serde_json::to_vec(&v).unwrap()).unwrap();
    });
    let Some(report) = report else { return };
    assert_eq!(report.failed.len(), 1, "{report:?}");
    assert_eq!(report.passed, 0);
}

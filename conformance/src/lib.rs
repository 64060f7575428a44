//! `tessera-conformance`: the harness that runs the official JAM test vectors.
//!
//! Shaped after reth's `ef-tests`: a [`Suite`] names a folder of vector files, says
//! which files start a case and how to run one; [`run`] walks the folder, runs the
//! cases in parallel, prints `Ran N tests (p passed, f failed, s skipped)` and fails
//! if any case failed **or if any file in the folder was never read**. Cases read
//! files only through [`CaseCtx`], which is how consumption is tracked, so a vector
//! that no code looks at cannot pass silently.
//!
//! Vectors are found under `$JAM_VECTORS` (default `../shared/vectors` relative to
//! the workspace root). When absent, suites skip with a loud message, unless
//! `JAM_VECTORS_REQUIRED=1`, which turns that into a failure. This crate holds no
//! protocol logic; the suites under `tests/` call into the other crates.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rayon::prelude::*;
use serde::de::DeserializeOwned;

/// The vectors root: `$JAM_VECTORS`, or `../shared/vectors` beside the workspace.
pub fn vectors_root() -> PathBuf {
    match std::env::var_os("JAM_VECTORS") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors"),
    }
}

/// Whether `JAM_VECTORS_REQUIRED=1` is set: missing vectors then fail the suite.
pub fn vectors_required() -> bool {
    std::env::var("JAM_VECTORS_REQUIRED").is_ok_and(|v| v == "1")
}

/// The folder `rel` under the vectors root, or `None` after a loud message when it is
/// absent; with `JAM_VECTORS_REQUIRED=1` an absent folder panics instead. For tests
/// that read vectors outside a [`Suite`].
pub fn vectors_folder(rel: &str) -> Option<PathBuf> {
    let dir = vectors_root().join(rel);
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(
        !vectors_required(),
        "JAM_VECTORS_REQUIRED=1 but {} is missing",
        dir.display()
    );
    eprintln!(
        "\n!!!!!!!! SKIPPED: vectors not found at {} (set JAM_VECTORS) !!!!!!!!\n",
        dir.display()
    );
    None
}

/// Why a case failed.
#[derive(Debug)]
pub struct CaseError(pub String);

impl fmt::Display for CaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<E: std::error::Error> From<E> for CaseError {
    fn from(e: E) -> Self {
        CaseError(e.to_string())
    }
}

/// Fail a case with a formatted message.
#[macro_export]
macro_rules! fail {
    ($($t:tt)*) => { return Err($crate::CaseError(format!($($t)*))) };
}

/// Fail a case unless two values are equal, printing both.
#[macro_export]
macro_rules! ensure_eq {
    ($left:expr, $right:expr, $($t:tt)*) => {{
        let (l, r) = (&$left, &$right);
        if l != r {
            return Err($crate::CaseError(format!(
                "{}\n  left: {:?}\n right: {:?}", format!($($t)*), l, r
            )));
        }
    }};
}

/// Access to the suite's files for one case; every read is recorded as consumption.
pub struct CaseCtx<'a> {
    dir: &'a Path,
    consumed: &'a Mutex<BTreeSet<PathBuf>>,
}

impl CaseCtx<'_> {
    /// The suite folder.
    pub fn dir(&self) -> &Path {
        self.dir
    }

    /// Read a file (a path in the suite folder, or relative to it) and mark it consumed.
    pub fn read(&self, path: impl AsRef<Path>) -> Result<Vec<u8>, CaseError> {
        let path = self.dir.join(path.as_ref());
        let bytes = std::fs::read(&path)
            .map_err(|e| CaseError(format!("cannot read {}: {e}", path.display())))?;
        self.consumed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(path);
        Ok(bytes)
    }

    /// Read and parse a JSON file, marking it consumed.
    pub fn read_json<T: DeserializeOwned>(&self, path: impl AsRef<Path>) -> Result<T, CaseError> {
        let path = path.as_ref();
        let bytes = self.read(path)?;
        serde_json::from_slice(&bytes)
            .map_err(|e| CaseError(format!("{}: bad JSON: {e}", path.display())))
    }
}

/// What a case did.
#[derive(Debug)]
pub enum Outcome {
    /// Every check held.
    Passed,
    /// Deliberately not run; the reason is printed and counted.
    Skipped(String),
}

/// A folder of vectors and how to run each case in it.
pub trait Suite: Sync {
    /// The folder, relative to the vectors root (e.g. `codec/tiny`).
    fn folder(&self) -> &str;

    /// Whether `file` (a file name in the folder) starts a case. Companion files a
    /// case reads through its [`CaseCtx`] count as consumed too.
    fn is_case(&self, file: &str) -> bool;

    /// Run one case, whose entry file is `file`.
    fn run_case(&self, ctx: &CaseCtx<'_>, file: &str) -> Result<Outcome, CaseError>;
}

/// The counts of one suite run.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    /// Cases run that passed.
    pub passed: usize,
    /// Cases that failed, with their messages.
    pub failed: Vec<(String, String)>,
    /// Cases skipped, with their reasons.
    pub skipped: Vec<(String, String)>,
    /// Files in the folder that no case read.
    pub unconsumed: Vec<PathBuf>,
}

/// Run `suite` and return its report without panicking. `None` when the vectors are
/// absent (and not required).
pub fn run_report(suite: &dyn Suite) -> Option<Report> {
    let dir = vectors_root().join(suite.folder());
    if !dir.is_dir() {
        let msg = format!(
            "vectors not found at {} (set JAM_VECTORS to the vectors root)",
            dir.display()
        );
        if vectors_required() {
            panic!("JAM_VECTORS_REQUIRED=1 but {msg}");
        }
        eprintln!(
            "\n!!!!!!!! SKIPPED suite `{}`: {msg} !!!!!!!!\n",
            suite.folder()
        );
        return None;
    }
    Some(run_report_in(suite, &dir))
}

/// Run `suite` over the files of `dir` (a copy of its folder, say, with one value
/// corrupted: how the suites prove that they really compare).
pub fn run_report_in(suite: &dyn Suite, dir: &Path) -> Report {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    let consumed = Mutex::new(BTreeSet::new());
    let ctx = CaseCtx {
        dir,
        consumed: &consumed,
    };
    let cases: Vec<String> = files
        .iter()
        .filter_map(|p| p.file_name()?.to_str().map(str::to_owned))
        .filter(|name| suite.is_case(name))
        .collect();
    let results: Vec<(String, Result<Outcome, CaseError>)> = cases
        .into_par_iter()
        .map(|name| {
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                suite.run_case(&ctx, &name)
            }))
            .unwrap_or_else(|p| {
                let msg = p
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                Err(CaseError(format!("panicked: {msg}")))
            });
            (name, r)
        })
        .collect();
    let mut report = Report::default();
    for (name, r) in results {
        match r {
            Ok(Outcome::Passed) => report.passed += 1,
            Ok(Outcome::Skipped(why)) => report.skipped.push((name, why)),
            Err(e) => report.failed.push((name, e.0)),
        }
    }
    let consumed = consumed.into_inner().unwrap_or_else(|p| p.into_inner());
    report.unconsumed = files
        .into_iter()
        .filter(|f| !consumed.contains(f))
        .collect();
    report
}

/// Copy the files of `suite`'s folder into a fresh temporary directory, let `mutate`
/// change the copy, and run the suite there: how a suite proves it really compares.
/// `None` when the vectors are absent (and not required).
pub fn run_report_on_copy(suite: &dyn Suite, mutate: impl FnOnce(&Path)) -> Option<Report> {
    let src = vectors_folder(suite.folder())?;
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!(
        "tessera-vectors-copy-{}-{n}-{}",
        std::process::id(),
        suite.folder().replace('/', "-")
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create a temporary directory");
    for entry in std::fs::read_dir(&src)
        .expect("list the vectors folder")
        .flatten()
    {
        if entry.path().is_file() {
            std::fs::copy(entry.path(), dir.join(entry.file_name())).expect("copy a vector file");
        }
    }
    mutate(&dir);
    let report = run_report_in(suite, &dir);
    let _ = std::fs::remove_dir_all(&dir);
    Some(report)
}

/// Run `suite`, print its summary, and panic if any case failed or any file of the
/// folder was not consumed. This is what each `#[test]` of a suite calls.
pub fn run(suite: &dyn Suite) {
    let Some(report) = run_report(suite) else {
        return;
    };
    let folder = suite.folder();
    for (name, why) in &report.skipped {
        eprintln!("[{folder}] SKIPPED {name}: {why}");
    }
    for (name, msg) in &report.failed {
        eprintln!("[{folder}] FAILED {name}: {msg}");
    }
    for f in &report.unconsumed {
        eprintln!("[{folder}] NOT CONSUMED {}", f.display());
    }
    let total = report.passed + report.failed.len() + report.skipped.len();
    eprintln!(
        "[{folder}] Ran {total} tests ({} passed, {} failed, {} skipped)",
        report.passed,
        report.failed.len(),
        report.skipped.len()
    );
    assert!(total > 0, "suite `{folder}` found no case");
    assert!(
        report.failed.is_empty(),
        "suite `{folder}`: {} cases failed",
        report.failed.len()
    );
    assert!(
        report.unconsumed.is_empty(),
        "suite `{folder}`: {} vector files were not consumed",
        report.unconsumed.len()
    );
}

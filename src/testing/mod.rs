//! The policy test runner (`gatehouse test`): YAML suites of cases next to
//! the policies they test, expectations on the decision, rule coverage.
//!
//! A suite is a `*.test.yaml` file in a policy set's directory; it tests
//! that set. Services can pin their own policy from `cargo test`:
//!
//! ```no_run
//! let report = gatehouse_cli::testing::run(&["policies/"]);
//! assert!(report.success(None), "{}", report.render_human(false));
//! ```

pub mod coverage;
pub mod expect;
pub mod junit;
pub mod report;
pub mod suite;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::Policy;
use crate::cli::walk::Excludes;
use crate::diagnostic::Diagnostics;
use crate::eval::{EvalOptions, PolicyRef};
use crate::values::Timestamp;
pub use coverage::Coverage;
pub use expect::Mismatch;
use suite::{Case, SuiteFile};

/// Test suites are files whose names end with this.
pub const SUITE_SUFFIX: &str = ".test.yaml";

/// The result of a whole run.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    /// One entry per policy set found.
    pub sets: Vec<SetReport>,
}

/// The result for one policy set.
#[derive(Debug, Serialize)]
pub struct SetReport {
    /// The set's directory (or file).
    pub path: PathBuf,
    /// The compiled policy, when it compiles.
    pub policy: Option<PolicyRef>,
    /// Why it does not compile.
    #[serde(skip)]
    pub errors: Option<Diagnostics>,
    /// Its suites, in file-name order.
    pub suites: Vec<SuiteReport>,
    /// Rules, tiers and reason codes the cases exercised.
    pub coverage: Coverage,
}

/// The result of one suite file.
#[derive(Debug, Serialize)]
pub struct SuiteReport {
    /// The suite file.
    pub file: PathBuf,
    /// Its name.
    pub name: String,
    /// Why the suite could not be read at all (counted as one failure).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Its cases, tables expanded.
    pub cases: Vec<CaseReport>,
    /// Cases left out by a `--run` filter (not in `cases`).
    #[serde(skip)]
    pub filtered: usize,
    /// How long reading and running it took (JUnit `time`).
    #[serde(skip)]
    pub time: Duration,
}

/// The result of one case.
#[derive(Debug, Serialize)]
pub struct CaseReport {
    /// The case's name.
    pub name: String,
    /// 1-based line of the case in the suite file (0 when unknown).
    pub line: usize,
    /// What happened.
    #[serde(flatten)]
    pub status: Status,
    /// How long it ran (JUnit `time`).
    #[serde(skip)]
    pub time: Duration,
}

/// What happened to a case.
#[derive(Debug, Serialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum Status {
    /// Every assertion held.
    Passed,
    /// Some assertions did not hold.
    Failed {
        /// What differs.
        mismatches: Vec<Mismatch>,
    },
    /// The case could not run as written (bad fixture, invalid input, ...).
    Error {
        /// Why.
        message: String,
    },
    /// Skipped, with the reason given.
    Skipped {
        /// The reason.
        reason: String,
    },
}

impl Report {
    /// Cases that passed.
    pub fn passed(&self) -> usize {
        self.cases()
            .filter(|c| matches!(c.status, Status::Passed))
            .count()
    }

    /// Cases that failed or erred, plus unreadable suites and sets that do
    /// not compile.
    pub fn failed(&self) -> usize {
        let cases = self
            .cases()
            .filter(|c| matches!(c.status, Status::Failed { .. } | Status::Error { .. }))
            .count();
        let suites = self
            .sets
            .iter()
            .flat_map(|s| &s.suites)
            .filter(|s| s.error.is_some())
            .count();
        let sets = self.sets.iter().filter(|s| s.errors.is_some()).count();
        cases + suites + sets
    }

    /// Cases skipped.
    pub fn skipped(&self) -> usize {
        self.cases()
            .filter(|c| matches!(c.status, Status::Skipped { .. }))
            .count()
    }

    /// Whether a policy set does not compile.
    pub fn has_policy_errors(&self) -> bool {
        self.sets.iter().any(|s| s.errors.is_some())
    }

    /// Sets whose coverage is below `min` percent.
    pub fn below_coverage(&self, min: f64) -> Vec<&SetReport> {
        self.sets
            .iter()
            .filter(|s| s.errors.is_none() && s.coverage.percent() + 1e-9 < min)
            .collect()
    }

    /// No failure, and (when given) every set at least `min_coverage` percent.
    pub fn success(&self, min_coverage: Option<f64>) -> bool {
        self.failed() == 0 && min_coverage.is_none_or(|m| self.below_coverage(m).is_empty())
    }

    fn cases(&self) -> impl Iterator<Item = &CaseReport> {
        self.sets
            .iter()
            .flat_map(|s| &s.suites)
            .flat_map(|s| &s.cases)
    }
}

/// Runs every suite of every policy set found under `paths`. A path may be
/// a directory (searched recursively for policy sets), a `.gate` file, or
/// one suite file (then only that suite runs).
pub fn run<P: AsRef<Path>>(paths: &[P]) -> Report {
    run_with(paths, None, &Excludes::default())
}

/// [`run`], keeping only the cases whose name `filter` finds a match in
/// (`gatehouse test --run PATTERN`); the others are counted in
/// [`SuiteReport::filtered`], and coverage is that of the cases run.
pub fn run_filtered<P: AsRef<Path>>(paths: &[P], filter: Option<&regex::Regex>) -> Report {
    run_with(paths, filter, &Excludes::default())
}

/// [`run`], skipping what `excludes` names while searching directories
/// for policy sets (paths given are always run).
pub fn run_excluding<P: AsRef<Path>>(paths: &[P], excludes: &Excludes) -> Report {
    run_with(paths, None, excludes)
}

/// [`run`] with both the `--run` filter and the `--exclude` globs.
pub fn run_with<P: AsRef<Path>>(
    paths: &[P],
    filter: Option<&regex::Regex>,
    excludes: &Excludes,
) -> Report {
    let mut targets: Vec<(PathBuf, Option<PathBuf>)> = Vec::new();
    for p in paths {
        let p = p.as_ref();
        let is_suite = p.is_file() && p.to_string_lossy().ends_with(SUITE_SUFFIX);
        if is_suite {
            let dir = p
                .parent()
                .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
            let dir = if dir.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                dir
            };
            targets.push((dir, Some(p.to_path_buf())));
        } else {
            for set in excludes.policy_sets(p) {
                if !targets.iter().any(|(d, only)| *d == set && only.is_none()) {
                    targets.push((set, None));
                }
            }
        }
    }
    Report {
        sets: targets
            .into_iter()
            .map(|(set, only)| run_set_filtered(&set, only.as_deref(), filter))
            .collect(),
    }
}

/// Runs the suites of one policy set (all of them, or only `only`).
pub fn run_set(set_path: &Path, only: Option<&Path>) -> SetReport {
    run_set_filtered(set_path, only, None)
}

/// [`run_set`] with the `--run` filter of [`run_filtered`].
pub fn run_set_filtered(
    set_path: &Path,
    only: Option<&Path>,
    filter: Option<&regex::Regex>,
) -> SetReport {
    let suite_files = match only {
        Some(f) => vec![f.to_path_buf()],
        None => suites_in(set_path),
    };
    let policy = match Policy::load(set_path) {
        Ok(p) => p,
        Err(errors) => {
            return SetReport {
                path: set_path.to_path_buf(),
                policy: None,
                errors: Some(errors),
                suites: Vec::new(),
                coverage: Coverage::default(),
            };
        }
    };
    let mut seen = coverage::Seen::default();
    let suites = suite_files
        .iter()
        .map(|f| run_suite_filtered(&policy, f, &mut seen, filter))
        .collect();
    SetReport {
        path: set_path.to_path_buf(),
        policy: Some(PolicyRef::new(
            policy.name(),
            policy.version(),
            policy.digest(),
        )),
        errors: None,
        suites,
        coverage: Coverage::of(policy.checked(), &seen),
    }
}

/// The suite files directly in a policy set's directory, sorted.
pub fn suites_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        // Whatever the entry is: a directory, FIFO or dangling link named
        // `*.test.yaml` must fail when read, never be skipped silently.
        .filter(|p| p.to_string_lossy().ends_with(SUITE_SUFFIX))
        .collect();
    files.sort();
    files
}

/// Runs one suite file against a compiled policy, recording coverage.
pub fn run_suite(policy: &Policy, file: &Path, seen: &mut coverage::Seen) -> SuiteReport {
    run_suite_filtered(policy, file, seen, None)
}

/// [`run_suite`] with the `--run` filter of [`run_filtered`], timed for
/// JUnit's `time`.
pub fn run_suite_filtered(
    policy: &Policy,
    file: &Path,
    seen: &mut coverage::Seen,
    filter: Option<&regex::Regex>,
) -> SuiteReport {
    let started = Instant::now();
    let mut report = read_and_run_suite(policy, file, seen, filter);
    report.time = started.elapsed();
    report
}

fn read_and_run_suite(
    policy: &Policy,
    file: &Path,
    seen: &mut coverage::Seen,
    filter: Option<&regex::Regex>,
) -> SuiteReport {
    let default_name = file
        .file_name()
        .map(|n| {
            n.to_string_lossy()
                .trim_end_matches(SUITE_SUFFIX)
                .to_owned()
        })
        .unwrap_or_default();
    // A suite is read like any input: a regular file under the input size
    // limit, never blocking on a FIFO.
    let text = match crate::input::read_file_limited(file, crate::input::MAX_INPUT_BYTES) {
        Ok(t) => t,
        Err(e) => return suite_error(file, default_name, format!("cannot read the suite: {e}")),
    };
    // Inputs written in the suite are read as `eval` reads a YAML input:
    // a duplicate key, `.nan` or `.inf` (which would otherwise become
    // `null`, i.e. absent) make the suite invalid rather than test
    // something else than what it says. This also bounds the nesting
    // (`input::check_yaml_nesting`) before serde_yaml reads the text
    // again below, so the second read is never the slow one.
    if let Err(errors) = crate::input::parse(&text, crate::input::Syntax::Yaml) {
        return suite_error(
            file,
            default_name,
            format!("not a valid suite: {}", crate::input::describe(&errors)),
        );
    }
    let parsed: SuiteFile = match serde_yaml::from_str(&text) {
        Ok(s) => s,
        Err(e) => return suite_error(file, default_name, format!("not a valid suite: {e}")),
    };
    let now = match parsed.now.as_deref().map(|n| (n, Timestamp::parse(n))) {
        Some((n, None)) => {
            return suite_error(
                file,
                default_name,
                format!("`now: {n}` is not an RFC 3339 timestamp"),
            );
        }
        Some((_, t)) => t,
        None => None,
    };
    let options = EvalOptions::default().with_now(now);
    let mut cases = suite::expand(&parsed.cases, &text);
    let expanded = cases.len();
    if let Some(filter) = filter {
        cases.retain(|case| filter.is_match(&case.name));
    }
    let filtered = expanded - cases.len();
    let reports = cases
        .into_iter()
        .map(|case| {
            let started = Instant::now();
            let status = run_case(policy, file, &parsed, &case, &options, seen);
            CaseReport {
                name: case.name,
                line: case.line,
                status,
                time: started.elapsed(),
            }
        })
        .collect();
    SuiteReport {
        file: file.to_path_buf(),
        name: parsed.suite.unwrap_or(default_name),
        error: None,
        cases: reports,
        filtered,
        time: Duration::ZERO,
    }
}

fn suite_error(file: &Path, name: String, message: String) -> SuiteReport {
    SuiteReport {
        file: file.to_path_buf(),
        name,
        error: Some(message),
        cases: Vec::new(),
        filtered: 0,
        time: Duration::ZERO,
    }
}

fn run_case(
    policy: &Policy,
    file: &Path,
    suite: &SuiteFile,
    case: &Case,
    options: &EvalOptions,
    seen: &mut coverage::Seen,
) -> Status {
    if let Some(reason) = &case.spec.skip {
        return Status::Skipped {
            reason: reason.clone(),
        };
    }
    if case.spec.expect.is_empty() {
        return Status::Error {
            message: "the case asserts nothing: add `expect:` with at least one field".into(),
        };
    }
    let mut input = match &case.spec.file {
        Some(f) => match suite::read_input_file(file, f) {
            Ok(v) => v,
            Err(message) => return Status::Error { message },
        },
        None => serde_json::Value::Object(serde_json::Map::new()),
    };
    for name in &case.spec.fixtures {
        match suite.fixtures.get(name) {
            Some(f) => suite::deep_merge(&mut input, f),
            None => {
                let known: Vec<&str> = suite.fixtures.keys().map(String::as_str).collect();
                return Status::Error {
                    message: format!(
                        "unknown fixture `{name}` (the suite defines: {})",
                        known.join(", ")
                    ),
                };
            }
        }
    }
    if let Some(over) = &case.spec.input {
        suite::deep_merge(&mut input, over);
    }
    let decision = policy.evaluate_with(&input, options);
    seen.record(&decision);
    if !decision.input_errors.is_empty() && case.spec.expect.input_errors.is_none() {
        let errors: Vec<String> = decision
            .input_errors
            .iter()
            .map(ToString::to_string)
            .collect();
        return Status::Error {
            message: format!(
                "the input does not match the policy's schema: {}",
                errors.join("; ")
            ),
        };
    }
    let mismatches = expect::compare(&case.spec.expect, &decision);
    if mismatches.is_empty() {
        Status::Passed
    } else {
        Status::Failed { mismatches }
    }
}

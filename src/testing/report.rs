//! Rendering a test report: for people (human) and for tools (JSON); the
//! JUnit XML for CI systems is in [`super::junit`].

use std::fmt::Write as _;

use super::{Report, SetReport, Status};
use crate::diagnostic::render_one;

impl Report {
    /// One line per failing case with the difference, passing cases
    /// collapsed unless `verbose`, coverage per set, and the closing line
    /// `N passed, N failed` (`, N skipped` when any).
    pub fn render_human(&self, verbose: bool) -> String {
        self.render_human_with(verbose, None, false)
    }

    /// [`Report::render_human`] with a coverage threshold to report against
    /// and colored diagnostics.
    pub fn render_human_with(
        &self,
        verbose: bool,
        min_coverage: Option<f64>,
        color: bool,
    ) -> String {
        let mut s = String::new();
        for set in &self.sets {
            render_set(&mut s, set, verbose, min_coverage, color);
        }
        if self.sets.is_empty() {
            s.push_str("no policy sets found\n");
        }
        let _ = write!(s, "{} passed, {} failed", self.passed(), self.failed());
        if self.skipped() > 0 {
            let _ = write!(s, ", {} skipped", self.skipped());
        }
        s.push('\n');
        s
    }

    /// The report as pretty JSON, a `gatehouse.test/1` document.
    pub fn to_json(&self) -> String {
        let mut doc = serde_json::to_value(self).unwrap_or_default();
        if let Some(sets) = doc.get_mut("sets").and_then(|s| s.as_array_mut()) {
            for (json, set) in sets.iter_mut().zip(&self.sets) {
                if let Some(obj) = json.as_object_mut() {
                    obj.insert(
                        "coverage_percent".into(),
                        serde_json::json!(round1(set.coverage.percent())),
                    );
                    if let Some(errors) = &set.errors {
                        let list: Vec<serde_json::Value> =
                            errors.iter().map(crate::Diagnostic::to_json).collect();
                        obj.insert("errors".into(), serde_json::Value::Array(list));
                    }
                }
            }
        }
        if let Some(obj) = doc.as_object_mut() {
            obj.insert("passed".into(), self.passed().into());
            obj.insert("failed".into(), self.failed().into());
            obj.insert("skipped".into(), self.skipped().into());
        }
        let mut out = Vec::new();
        // a Value has only string keys: this cannot fail
        let _ =
            crate::eval::write_document(&mut out, &crate::eval::DocumentFormat::TEST, &doc, true);
        String::from_utf8(out).unwrap_or_default()
    }
}

fn render_set(
    s: &mut String,
    set: &SetReport,
    verbose: bool,
    min_coverage: Option<f64>,
    color: bool,
) {
    let path = set.path.display();
    if let Some(errors) = &set.errors {
        for d in errors.iter() {
            s.push_str(&render_one(d, color));
        }
        let _ = writeln!(s, "ERROR {path}: the policy does not compile");
        return;
    }
    let cases: usize = set.suites.iter().map(|x| x.cases.len()).sum();
    let _ = writeln!(
        s,
        "{path}: {} suite{}, {cases} case{}",
        set.suites.len(),
        plural(set.suites.len()),
        plural(cases)
    );
    if set.suites.is_empty() {
        let _ = writeln!(s, "  no test suites (*.test.yaml) in {path}");
    }
    for suite in &set.suites {
        let file = suite.file.display();
        if let Some(e) = &suite.error {
            let _ = writeln!(s, "ERROR {file}: {e}");
        }
        for case in &suite.cases {
            let at = if case.line > 0 {
                format!("{file}:{}", case.line)
            } else {
                file.to_string()
            };
            match &case.status {
                Status::Passed if verbose => {
                    let _ = writeln!(s, "ok    {at}  {}", case.name);
                }
                Status::Passed => {}
                Status::Failed { mismatches } => {
                    let _ = writeln!(s, "FAIL  {at}  {}", case.name);
                    for m in mismatches {
                        let _ = writeln!(s, "        {}", mismatch_line(m));
                    }
                }
                Status::Error { message } => {
                    let _ = writeln!(s, "ERROR {at}  {}\n        {message}", case.name);
                }
                Status::Skipped { reason } => {
                    let _ = writeln!(s, "skip  {at}  {} ({reason})", case.name);
                }
            }
        }
    }
    let (covered, total) = set.coverage.counts();
    let _ = write!(
        s,
        "  coverage: {}% ({covered} of {total} rules, tiers and reason codes)",
        round1(set.coverage.percent())
    );
    if let Some(min) = min_coverage
        && set.coverage.percent() + 1e-9 < min
    {
        let _ = write!(s, " — below the minimum of {min}%");
    }
    s.push('\n');
    let uncovered = set.coverage.uncovered();
    if !uncovered.is_empty() {
        let _ = writeln!(s, "  not exercised: {}", uncovered.join(", "));
    }
}

pub(super) fn mismatch_line(m: &super::Mismatch) -> String {
    let mut line = format!("{}: expected {}, got {}", m.field, m.expected, m.actual);
    if let Some(d) = &m.detail
        && !d.is_empty()
    {
        let _ = write!(line, " ({d})");
    }
    line
}

pub(super) fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

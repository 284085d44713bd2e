//! Rendering a test report: for people (human), for tools (JSON), for CI
//! systems (JUnit XML).

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

    /// The report as JUnit XML: one `<testsuite>` per suite file, one
    /// `<testcase>` per case; failures carry the differences, errors the
    /// reason, skips their reason.
    pub fn to_junit(&self) -> String {
        let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let _ = writeln!(
            s,
            "<testsuites name=\"gatehouse\" tests=\"{}\" failures=\"{}\" skipped=\"{}\">",
            self.passed() + self.failed() + self.skipped(),
            self.failed(),
            self.skipped()
        );
        for set in &self.sets {
            let set_name = set.path.display().to_string();
            if let Some(errors) = &set.errors {
                let _ = writeln!(
                    s,
                    "  <testsuite name=\"{}\" tests=\"1\" failures=\"0\" errors=\"1\">",
                    xml(&set_name)
                );
                let _ = writeln!(
                    s,
                    "    <testcase name=\"policy compiles\" classname=\"{}\">\n      <error message=\"the policy does not compile\">{}</error>\n    </testcase>",
                    xml(&set_name),
                    xml(&errors.render(false))
                );
                s.push_str("  </testsuite>\n");
                continue;
            }
            for suite in &set.suites {
                let file = suite.file.display().to_string();
                let count =
                    |f: fn(&Status) -> bool| suite.cases.iter().filter(|c| f(&c.status)).count();
                let failures = count(|s| matches!(s, Status::Failed { .. }));
                let errors = count(|s| matches!(s, Status::Error { .. }))
                    + usize::from(suite.error.is_some());
                let skipped = count(|s| matches!(s, Status::Skipped { .. }));
                let _ = writeln!(
                    s,
                    "  <testsuite name=\"{}\" file=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\">",
                    xml(&suite.name),
                    xml(&file),
                    suite.cases.len() + usize::from(suite.error.is_some())
                );
                if let Some(e) = &suite.error {
                    let _ = writeln!(
                        s,
                        "    <testcase name=\"suite is readable\" classname=\"{}\" file=\"{}\">\n      <error message=\"{}\"/>\n    </testcase>",
                        xml(&suite.name),
                        xml(&file),
                        xml(e)
                    );
                }
                for case in &suite.cases {
                    let _ = write!(
                        s,
                        "    <testcase name=\"{}\" classname=\"{}\" file=\"{}\" line=\"{}\"",
                        xml(&case.name),
                        xml(&suite.name),
                        xml(&file),
                        case.line
                    );
                    match &case.status {
                        Status::Passed => s.push_str("/>\n"),
                        Status::Failed { mismatches } => {
                            let text: Vec<String> = mismatches.iter().map(mismatch_line).collect();
                            let _ = writeln!(
                                s,
                                ">\n      <failure message=\"{}\">{}</failure>\n    </testcase>",
                                xml(&format!("{} assertion(s) failed", mismatches.len())),
                                xml(&text.join("\n"))
                            );
                        }
                        Status::Error { message } => {
                            let _ = writeln!(
                                s,
                                ">\n      <error message=\"{}\"/>\n    </testcase>",
                                xml(message)
                            );
                        }
                        Status::Skipped { reason } => {
                            let _ = writeln!(
                                s,
                                ">\n      <skipped message=\"{}\"/>\n    </testcase>",
                                xml(reason)
                            );
                        }
                    }
                }
                s.push_str("  </testsuite>\n");
            }
        }
        s.push_str("</testsuites>\n");
        s
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

fn mismatch_line(m: &super::Mismatch) -> String {
    let mut line = format!("{}: expected {}, got {}", m.field, m.expected, m.actual);
    if let Some(d) = &m.detail
        && !d.is_empty()
    {
        let _ = write!(line, " ({d})");
    }
    line
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Escapes text for XML attributes and content.
pub fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 forbids most control characters even when escaped.
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\r' | '\t') => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

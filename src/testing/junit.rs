//! The JUnit XML report, in the dialect of the common JUnit schema
//! (junit-10.xsd from Jenkins' xUnit plugin, vendored in
//! tests/fixtures/junit/), which GitLab, Jenkins, GitHub test-report
//! actions, junitparser and xunitparser all read.
//!
//! The report is first built as a small model, and every total (on
//! `<testsuites>` and on each `<testsuite>`) is counted from that model, so
//! the totals always add up to the elements written: `tests` counts
//! `<testcase>`s, `failures` the `<failure>`s, `errors` the `<error>`s,
//! `skipped` the `<skipped>`s. Failures and errors are kept apart, as
//! JUnit means them: a failure is an expectation that did not hold, an
//! error a case, suite or policy that could not run at all.
//!
//! What the schema does not allow is not written: no `skipped` on
//! `<testsuites>` (the per-suite `skipped` carries it), no `file` or `line`
//! on `<testcase>`. A case's place (`FILE:LINE`) starts the text of its
//! failure, error or skip instead, and the suite file is the
//! `<testsuite file>`.
//!
//! Hand-written rather than built with quick-junit (nextest's writer): as
//! of quick-junit 0.8 it always writes `skipped` on `<testsuites>`, which
//! junit-10.xsd does not declare, so its output fails the schema.

use std::fmt::Write as _;
use std::time::Duration;

use super::{Report, SetReport, Status};

/// The classname and suite name of the coverage checks.
const COVERAGE: &str = "rule coverage";

struct Suite {
    name: String,
    file: Option<String>,
    time: Duration,
    cases: Vec<Case>,
}

struct Case {
    name: String,
    classname: String,
    time: Duration,
    outcome: Outcome,
}

enum Outcome {
    Passed,
    Failed { message: String, text: String },
    Error { message: String, text: String },
    Skipped { message: String, text: String },
}

#[derive(Default)]
struct Totals {
    tests: usize,
    failures: usize,
    errors: usize,
    skipped: usize,
    time: Duration,
}

impl Totals {
    fn of<'a>(suites: impl IntoIterator<Item = &'a Suite>) -> Totals {
        let mut t = Totals::default();
        for suite in suites {
            t.time += suite.time;
            for case in &suite.cases {
                t.tests += 1;
                match case.outcome {
                    Outcome::Passed => {}
                    Outcome::Failed { .. } => t.failures += 1,
                    Outcome::Error { .. } => t.errors += 1,
                    Outcome::Skipped { .. } => t.skipped += 1,
                }
            }
        }
        t
    }
}

impl Report {
    /// The report as JUnit XML: one `<testsuite>` per suite file (or per
    /// policy set that does not compile), one `<testcase>` per case.
    pub fn to_junit(&self) -> String {
        self.to_junit_with(None)
    }

    /// [`Report::to_junit`], plus, with a minimum coverage, one suite
    /// `rule coverage` with a case per compiled policy set that fails when
    /// the set's coverage is below `min_coverage` percent.
    pub fn to_junit_with(&self, min_coverage: Option<f64>) -> String {
        let mut suites: Vec<Suite> = self.sets.iter().flat_map(set_suites).collect();
        if let Some(min) = min_coverage {
            suites.push(coverage_suite(&self.sets, min));
        }
        write(&suites)
    }
}

/// A report for a run that could not start (a path that does not exist):
/// one suite `gatehouse` with one erroring case per reason.
pub fn not_run(reasons: &[String]) -> String {
    let cases = reasons
        .iter()
        .map(|reason| Case {
            name: "the paths to test exist".into(),
            classname: "gatehouse".into(),
            time: Duration::ZERO,
            outcome: Outcome::Error {
                message: reason.clone(),
                text: reason.clone(),
            },
        })
        .collect();
    write(&[Suite {
        name: "gatehouse".into(),
        file: None,
        time: Duration::ZERO,
        cases,
    }])
}

fn set_suites(set: &SetReport) -> Vec<Suite> {
    let set_name = set.path.display().to_string();
    if let Some(errors) = &set.errors {
        let count = errors.iter().count();
        return vec![Suite {
            name: set_name.clone(),
            file: None,
            time: Duration::ZERO,
            cases: vec![Case {
                name: "policy compiles".into(),
                classname: set_name,
                time: Duration::ZERO,
                outcome: Outcome::Error {
                    message: format!(
                        "the policy does not compile ({count} error{})",
                        if count == 1 { "" } else { "s" }
                    ),
                    text: errors.render(false),
                },
            }],
        }];
    }
    set.suites
        .iter()
        .map(|suite| {
            let file = suite.file.display().to_string();
            let mut cases = Vec::new();
            if let Some(e) = &suite.error {
                cases.push(Case {
                    name: "suite is readable".into(),
                    classname: suite.name.clone(),
                    time: suite.time,
                    outcome: Outcome::Error {
                        message: e.clone(),
                        text: format!("{file}\n{e}"),
                    },
                });
            }
            for case in &suite.cases {
                let at = if case.line > 0 {
                    format!("{file}:{}", case.line)
                } else {
                    file.clone()
                };
                let outcome = match &case.status {
                    Status::Passed => Outcome::Passed,
                    Status::Failed { mismatches } => {
                        let lines: Vec<String> = mismatches
                            .iter()
                            .map(super::report::mismatch_line)
                            .collect();
                        Outcome::Failed {
                            message: format!(
                                "{} assertion{} failed",
                                mismatches.len(),
                                if mismatches.len() == 1 { "" } else { "s" }
                            ),
                            text: format!("{at}\n{}", lines.join("\n")),
                        }
                    }
                    Status::Error { message } => Outcome::Error {
                        message: message.clone(),
                        text: format!("{at}\n{message}"),
                    },
                    Status::Skipped { reason } => Outcome::Skipped {
                        message: reason.clone(),
                        text: at,
                    },
                };
                cases.push(Case {
                    name: case.name.clone(),
                    classname: suite.name.clone(),
                    time: case.time,
                    outcome,
                });
            }
            Suite {
                name: suite.name.clone(),
                file: Some(file),
                time: suite.time,
                cases,
            }
        })
        .collect()
}

fn coverage_suite(sets: &[SetReport], min: f64) -> Suite {
    let cases = sets
        .iter()
        .filter(|s| s.errors.is_none())
        .map(|set| {
            let path = set.path.display();
            let percent = super::report::round1(set.coverage.percent());
            let outcome = if set.coverage.percent() + 1e-9 < min {
                let (covered, total) = set.coverage.counts();
                Outcome::Failed {
                    message: format!("coverage {percent}% is below the minimum of {min}%"),
                    text: format!(
                        "{path}: {covered} of {total} rules, tiers and reason codes exercised\nnot exercised: {}",
                        set.coverage.uncovered().join(", ")
                    ),
                }
            } else {
                Outcome::Passed
            };
            Case {
                name: format!("{path} covers at least {min}%"),
                classname: COVERAGE.into(),
                time: Duration::ZERO,
                outcome,
            }
        })
        .collect();
    Suite {
        name: COVERAGE.into(),
        file: None,
        time: Duration::ZERO,
        cases,
    }
}

fn write(suites: &[Suite]) -> String {
    let total = Totals::of(suites);
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        s,
        "<testsuites name=\"gatehouse\" tests=\"{}\" failures=\"{}\" errors=\"{}\" time=\"{}\">",
        total.tests,
        total.failures,
        total.errors,
        seconds(total.time)
    );
    for suite in suites {
        let t = Totals::of([suite]);
        let _ = write!(
            s,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{}\"",
            attribute(&suite.name),
            t.tests,
            t.failures,
            t.errors,
            t.skipped,
            seconds(suite.time)
        );
        if let Some(file) = &suite.file {
            let _ = write!(s, " file=\"{}\"", attribute(file));
        }
        s.push_str(">\n");
        for case in &suite.cases {
            let _ = write!(
                s,
                "    <testcase name=\"{}\" classname=\"{}\" time=\"{}\"",
                attribute(&case.name),
                attribute(&case.classname),
                seconds(case.time)
            );
            let (tag, message, text) = match &case.outcome {
                Outcome::Passed => {
                    s.push_str("/>\n");
                    continue;
                }
                Outcome::Failed { message, text } => ("failure", message, text),
                Outcome::Error { message, text } => ("error", message, text),
                Outcome::Skipped { message, text } => ("skipped", message, text),
            };
            let _ = writeln!(
                s,
                ">\n      <{tag} message=\"{}\">{}</{tag}>\n    </testcase>",
                attribute(message),
                xml(text)
            );
        }
        s.push_str("  </testsuite>\n");
    }
    s.push_str("</testsuites>\n");
    s
}

/// Seconds with millisecond precision, as the schema's SUREFIRE_TIME
/// pattern allows (`0.004`).
fn seconds(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64())
}

/// Escapes text for XML content. Characters XML 1.0 does not allow at all,
/// even escaped (most C0 controls, U+FFFE, U+FFFF), become U+FFFD.
pub fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' | '\r' | '\t' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Escapes text for an XML attribute: as [`xml`], and line breaks and tabs
/// as character references, which a reader would otherwise turn into
/// spaces (attribute value normalization).
pub fn attribute(text: &str) -> String {
    xml(text)
        .replace('\n', "&#10;")
        .replace('\r', "&#13;")
        .replace('\t', "&#9;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_xml_needs_and_replaces_what_it_forbids() {
        assert_eq!(
            xml("a<b>&\"c'\n\u{1}\u{FFFF}"),
            "a&lt;b&gt;&amp;&quot;c&apos;\n\u{FFFD}\u{FFFD}"
        );
        assert_eq!(attribute("a\nb\tc"), "a&#10;b&#9;c");
        assert_eq!(seconds(Duration::from_micros(1500)), "0.002");
    }

    #[test]
    fn totals_count_each_kind_apart() {
        let case = |outcome| Case {
            name: "c".into(),
            classname: "s".into(),
            time: Duration::from_millis(1),
            outcome,
        };
        let text = || ("m".to_owned(), "t".to_owned());
        let suite = Suite {
            name: "s".into(),
            file: None,
            time: Duration::from_millis(5),
            cases: vec![
                case(Outcome::Passed),
                case(Outcome::Failed {
                    message: text().0,
                    text: text().1,
                }),
                case(Outcome::Error {
                    message: text().0,
                    text: text().1,
                }),
                case(Outcome::Error {
                    message: text().0,
                    text: text().1,
                }),
                case(Outcome::Skipped {
                    message: text().0,
                    text: text().1,
                }),
            ],
        };
        let out = write(&[suite]);
        assert!(
            out.contains("<testsuites name=\"gatehouse\" tests=\"5\" failures=\"1\" errors=\"2\" time=\"0.005\">"),
            "{out}"
        );
        assert!(
            out.contains("tests=\"5\" failures=\"1\" errors=\"2\" skipped=\"1\" time=\"0.005\""),
            "{out}"
        );
    }
}

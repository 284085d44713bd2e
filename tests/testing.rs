//! `gatehouse test` end to end: passing, failing, erroring, skipped and
//! under-covered suites, in every output format; and the library runner.

use assert_cmd::Command;

fn gatehouse() -> Command {
    let mut cmd = Command::cargo_bin("gatehouse").expect("binary");
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1");
    cmd
}

fn run(args: &[&str]) -> (i32, String) {
    let out = gatehouse().args(args).output().expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn the_shipped_policies_pass_with_full_coverage() {
    let (code, out) = run(&["test", "policies/", "--min-coverage", "100"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("coverage: 100%"));
    let last = out.lines().last().unwrap_or("");
    assert!(last.ends_with(" passed, 0 failed"), "{last}");
}

#[test]
fn failures_errors_and_skips_are_reported_with_file_and_line() {
    let (code, out) = run(&["test", "tests/fixtures/testing/mixed"]);
    assert_eq!(code, 1);
    insta::assert_snapshot!(out);
}

#[test]
fn the_closing_line_counts_cases() {
    let (_, out) = run(&["test", "tests/fixtures/testing/mixed"]);
    // passed: small refund, within limit; failed: wrong expectation, text
    // amount (error), unknown fixture (error), above limit, unreadable suite
    assert_eq!(out.lines().last(), Some("2 passed, 5 failed, 1 skipped"));
}

#[test]
fn coverage_below_the_minimum_fails() {
    let (code, out) = run(&["test", "tests/fixtures/testing/partial"]);
    assert_eq!(
        code, 0,
        "coverage is reported, not enforced, without --min-coverage"
    );
    assert!(out.contains("not exercised: rule large_refund"), "{out}");
    let (code, out) = run(&[
        "test",
        "tests/fixtures/testing/partial",
        "--min-coverage",
        "90",
    ]);
    assert_eq!(code, 1);
    assert!(out.contains("below the minimum of 90%"), "{out}");
}

#[test]
fn a_policy_that_does_not_compile_exits_2() {
    let (code, out) = run(&["test", "tests/fixtures/cli/broken"]);
    assert_eq!(code, 2);
    assert!(out.contains("the policy does not compile"));
}

#[test]
fn one_suite_file_can_be_run_alone() {
    let (code, out) = run(&[
        "test",
        "tests/fixtures/testing/partial/only-small.test.yaml",
        "--verbose",
    ]);
    assert_eq!(code, 0);
    assert!(
        out.contains(
            "ok    tests/fixtures/testing/partial/only-small.test.yaml:2  a read runs on its own"
        ),
        "{out}"
    );
}

#[test]
fn json_format() {
    let (code, out) = run(&["test", "tests/fixtures/testing/mixed", "--format", "json"]);
    assert_eq!(code, 1);
    let doc: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(
        (
            doc["passed"].as_u64(),
            doc["failed"].as_u64(),
            doc["skipped"].as_u64()
        ),
        (Some(2), Some(5), Some(1))
    );
    let cases = doc["sets"][0]["suites"][1]["cases"]
        .as_array()
        .expect("cases");
    let wrong = &cases[1];
    assert_eq!(wrong["status"], "failed");
    assert_eq!(wrong["line"], 15);
    assert_eq!(wrong["mismatches"][0]["field"], "outcome");
    assert_eq!(wrong["mismatches"][0]["expected"], "auto");
    assert_eq!(wrong["mismatches"][0]["actual"], "explicit");
    assert!(doc["sets"][0]["coverage_percent"].as_f64().is_some());
}

#[test]
fn junit_format_is_well_formed_xml() {
    let (code, out) = run(&["test", "tests/fixtures/testing/mixed", "--format", "junit"]);
    assert_eq!(code, 1);
    let counts = check_xml(&out);
    assert_eq!(
        counts.get("testcase"),
        Some(&8),
        "7 cases and 1 unreadable suite:\n{out}"
    );
    assert_eq!(counts.get("failure"), Some(&2));
    assert_eq!(counts.get("error"), Some(&3));
    assert_eq!(counts.get("skipped"), Some(&1));
    assert_junit_totals(&out);
    // Errors are counted apart from failures at the root (xunitparser
    // asserts this), and the schema's attributes only are written.
    let root = out.lines().nth(1).unwrap_or("");
    assert!(
        root.starts_with(
            "<testsuites name=\"gatehouse\" tests=\"8\" failures=\"2\" errors=\"3\" time=\""
        ),
        "{root}"
    );
    // Each case's place starts its failure, error or skip text.
    assert!(
        out.contains(">tests/fixtures/testing/mixed/cases.test.yaml:15\noutcome: expected auto")
    );
    insta::assert_snapshot!("junit_mixed", redact_times(&out));
}

#[test]
fn junit_reports_coverage_below_the_minimum_as_a_failing_case() {
    let (code, out) = run(&[
        "test",
        "tests/fixtures/testing/partial",
        "--format",
        "junit",
        "--min-coverage",
        "90",
    ]);
    assert_eq!(code, 1);
    assert_junit_totals(&out);
    assert!(
        out.contains("<testcase name=\"tests/fixtures/testing/partial covers at least 90%\" classname=\"rule coverage\""),
        "{out}"
    );
    assert!(
        out.contains("<failure message=\"coverage 40% is below the minimum of 90%\">"),
        "{out}"
    );
    let root = out.lines().nth(1).unwrap_or("");
    assert!(
        root.contains("tests=\"2\" failures=\"1\" errors=\"0\""),
        "{root}"
    );
    // Met, it is a passing case; without --min-coverage there is none.
    let (code, out) = run(&[
        "test",
        "tests/fixtures/testing/partial",
        "--format",
        "junit",
        "--min-coverage",
        "40",
    ]);
    assert_eq!(code, 0);
    assert!(out.contains("covers at least 40%\" classname=\"rule coverage\" time=\""));
    assert!(!out.contains("<failure"), "{out}");
    let (_, out) = run(&[
        "test",
        "tests/fixtures/testing/partial",
        "--format",
        "junit",
    ]);
    assert!(!out.contains("rule coverage"), "{out}");
}

#[test]
fn junit_for_a_policy_that_does_not_compile_is_one_error() {
    let (code, out) = run(&["test", "tests/fixtures/cli/broken", "--format", "junit"]);
    assert_eq!(code, 2);
    assert_junit_totals(&out);
    let counts = check_xml(&out);
    assert_eq!(
        (counts.get("testcase"), counts.get("error")),
        (Some(&1), Some(&1))
    );
}

#[test]
fn junit_for_a_path_that_does_not_exist_is_still_a_report() {
    let (code, out) = run(&["test", "no/such/dir", "--format", "junit"]);
    assert_eq!(code, 2);
    assert_junit_totals(&out);
    assert!(
        out.contains("<error message=\"`no/such/dir` does not exist\">"),
        "{out}"
    );
    // An empty directory: nothing tested is no pass, reported as one error.
    let dir = std::env::temp_dir().join(format!("gatehouse-junit-empty-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("mkdir");
    let (code, out) = run(&["test", dir.to_str().expect("utf-8"), "--format", "junit"]);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(code, 1);
    assert_junit_totals(&out);
    assert!(
        out.contains("tests=\"1\" failures=\"0\" errors=\"1\""),
        "{out}"
    );
    assert!(out.contains("no policy sets found"), "{out}");
}

#[test]
fn flow_style_cases_report_their_own_lines() {
    let (code, out) = run(&["test", "tests/fixtures/testing/flow", "--format", "json"]);
    assert_eq!(code, 1);
    let doc: serde_json::Value = serde_json::from_str(&out).expect("json");
    let lines: Vec<(u64, &str)> = doc["sets"][0]["suites"][0]["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .map(|c| {
            (
                c["line"].as_u64().unwrap_or(0),
                c["name"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        lines,
        [
            (4, "a read"),
            (5, "a large refund"),
            (9, "refunds / small"),
            (9, "refunds / large, again"),
        ]
    );
    let (_, out) = run(&["test", "tests/fixtures/testing/flow"]);
    assert!(
        out.contains("FAIL  tests/fixtures/testing/flow/flow.test.yaml:5  a large refund"),
        "{out}"
    );
}

/// Every `<testsuite>`'s and the root's totals equal the elements written,
/// and every suite and case has a `time`.
fn assert_junit_totals(out: &str) {
    let attr = |line: &str, name: &str| -> usize {
        let key = format!(" {name}=\"");
        let start = line
            .find(&key)
            .map(|i| i + key.len())
            .unwrap_or_else(|| panic!("no {name} in {line}"));
        let end = line[start..].find('"').expect("closing quote") + start;
        line[start..end].parse().expect("a number")
    };
    let lines: Vec<&str> = out.lines().collect();
    let root = lines[1];
    let mut sums = [0usize; 3];
    let mut i = 2;
    while i < lines.len() {
        let line = lines[i].trim_start();
        if line.starts_with("<testsuite ") {
            assert!(line.contains(" time=\""), "{line}");
            let mut end = i + 1;
            while !lines[end].trim_start().starts_with("</testsuite>") {
                end += 1;
            }
            let body = lines[i + 1..end].join("\n");
            let cases = body.matches("<testcase ").count();
            assert_eq!(
                cases,
                body.matches(" time=\"").count(),
                "a case without time: {body}"
            );
            let counted = [
                cases,
                body.matches("<failure ").count(),
                body.matches("<error ").count(),
            ];
            assert_eq!(
                [
                    attr(line, "tests"),
                    attr(line, "failures"),
                    attr(line, "errors")
                ],
                counted,
                "{line}"
            );
            assert_eq!(
                attr(line, "skipped"),
                body.matches("<skipped ").count(),
                "{line}"
            );
            for (sum, n) in sums.iter_mut().zip(counted) {
                *sum += n;
            }
            i = end;
        }
        i += 1;
    }
    assert_eq!(
        [
            attr(root, "tests"),
            attr(root, "failures"),
            attr(root, "errors")
        ],
        sums,
        "{root}"
    );
    assert!(root.contains(" time=\""), "{root}");
}

/// Times vary from run to run; snapshots show them as `T`.
fn redact_times(out: &str) -> String {
    let mut s = String::new();
    let mut rest = out;
    while let Some(i) = rest.find(" time=\"") {
        let start = i + " time=\"".len();
        s.push_str(&rest[..start]);
        s.push('T');
        rest = &rest[start..];
        rest = &rest[rest.find('"').unwrap_or(0)..];
    }
    s.push_str(rest);
    s
}

/// A small XML well-formedness check: every tag closes in order, attributes
/// are quoted, entities are known. Returns element counts by name.
fn check_xml(text: &str) -> std::collections::BTreeMap<String, usize> {
    let mut counts = std::collections::BTreeMap::new();
    let body = text
        .strip_prefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")
        .expect("XML declaration");
    let mut stack: Vec<String> = Vec::new();
    let mut rest = body;
    while let Some(start) = rest.find('<') {
        let text_part = &rest[..start];
        check_entities(text_part);
        let end = rest[start..].find('>').expect("tag closes") + start;
        let tag = &rest[start + 1..end];
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(stack.pop().as_deref(), Some(name), "closing tag matches");
        } else {
            let self_closing = tag.ends_with('/');
            let tag = tag.trim_end_matches('/');
            let name = tag.split_whitespace().next().expect("tag name").to_owned();
            let attrs = &tag[name.len()..];
            assert_eq!(
                attrs.matches('"').count() % 2,
                0,
                "attributes quoted in <{tag}>"
            );
            check_entities(attrs);
            *counts.entry(name.clone()).or_insert(0) += 1;
            if !self_closing {
                stack.push(name);
            }
        }
        rest = &rest[end + 1..];
    }
    assert!(stack.is_empty(), "unclosed: {stack:?}");
    counts
}

fn check_entities(text: &str) {
    for (i, _) in text.match_indices('&') {
        let entity = &text[i..text[i..].find(';').map_or(text.len(), |j| i + j + 1)];
        let numeric = entity
            .strip_prefix("&#")
            .and_then(|e| e.strip_suffix(';'))
            .is_some_and(|n| n.parse::<u32>().is_ok());
        assert!(
            numeric || ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"].contains(&entity),
            "bad entity {entity}"
        );
    }
    assert!(!text.contains('<'));
}

#[test]
fn the_library_runner_pins_a_policy_from_cargo_test() {
    let report = gatehouse_cli::testing::run(&[concat!(env!("CARGO_MANIFEST_DIR"), "/policies")]);
    assert!(
        report.success(Some(100.0)),
        "{}",
        report.render_human(false)
    );
    assert!(report.passed() > 30);
    let report = gatehouse_cli::testing::run(&[concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/testing/mixed"
    )]);
    assert!(!report.success(None));
}

/// A suite's inputs are read as `eval` reads YAML: `.nan` (which YAML
/// parsers turn into `null`, i.e. an absent amount) and duplicate keys make
/// the suite invalid instead of silently testing something else.
#[test]
fn a_suite_with_nan_or_duplicate_keys_is_refused() {
    let dir = std::env::temp_dir().join(format!("gatehouse-suite-nan-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(
        dir.join("p.gate"),
        "policy \"p\" version \"1\"\nschema { action.amount: number? }\nreason BIG \"big\"\ntier 0 \"a\" { outcome auto }\ntier 1 \"b\" { outcome block }\nrule big when action.amount > 10 then tier 1 because BIG\ndefault tier 0 because NO_RULE_MATCHED\n",
    )
    .expect("write");
    for (body, expected) in [
        ("      amount: .nan\n", "is not a finite number"),
        ("      amount: 1\n        amount: 50\n", "duplicate entry"),
    ] {
        std::fs::write(
            dir.join("p.test.yaml"),
            format!("cases:\n  - name: nan\n    input:\n      action:\n  {body}    expect:\n      outcome: auto\n"),
        )
        .expect("write");
        let (code, out) = run(&["test", dir.to_str().expect("utf-8")]);
        assert_eq!(code, 1, "{out}");
        assert!(out.contains(expected), "{out}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

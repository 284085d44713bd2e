//! `check --format sarif` (and the other formats) in every failure mode:
//! the invariants GitHub code scanning and Microsoft's SARIF multitool
//! enforce, checked without those tools so `cargo test` catches a
//! regression. `scripts/consumers.sh` runs the real tools on the same cases.
//!
//! Invariants: the log validates against the OASIS SARIF 2.1.0 schema;
//! every result has a location with a URI and a region starting at line 1
//! or later (GitHub rejects the whole upload otherwise); relative URIs are
//! relative to `%SRCROOT%`, the repository root, carry no `..` and no
//! unencoded `:`; every result has a fingerprint; every rule a `helpUri`;
//! suppressed findings are present with `suppressions`.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

const MANIFEST: &str = env!("CARGO_MANIFEST_DIR");

fn gatehouse(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("gatehouse").expect("binary");
    cmd.current_dir(dir).env("NO_COLOR", "1");
    cmd
}

/// Runs `gatehouse check --format FORMAT ARGS` in `dir`: exit code, stdout.
fn check(dir: &Path, format: &str, args: &[&str]) -> (i32, String) {
    let out = gatehouse(dir)
        .args(["check", "--format", format])
        .args(args)
        .output()
        .expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).expect("utf-8"),
    )
}

fn schema_validator() -> jsonschema::Validator {
    // The official OASIS SARIF 2.1.0 schema (errata 01).
    let text = std::fs::read_to_string(Path::new(MANIFEST).join("tests/sarif-schema-2.1.0.json"))
        .expect("schema file");
    let schema: Value = serde_json::from_str(&text).expect("schema json");
    jsonschema::draft4::new(&schema).expect("a valid draft-04 schema")
}

/// Parses a SARIF log and asserts every invariant in the module comment;
/// returns the log.
fn valid_log(text: &str) -> Value {
    let log: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}:\n{text}"));
    let errors: Vec<String> = schema_validator()
        .iter_errors(&log)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect();
    assert!(errors.is_empty(), "invalid SARIF:\n{}", errors.join("\n"));
    let run = &log["runs"][0];
    let root = run["originalUriBaseIds"]["%SRCROOT%"]["uri"]
        .as_str()
        .expect("a %SRCROOT%");
    assert!(
        root.starts_with("file:///") && root.ends_with('/'),
        "{root}"
    );
    assert!(
        run["tool"]["driver"]["informationUri"]
            .as_str()
            .is_some_and(|u| u.starts_with("https://"))
    );
    for rule in run["tool"]["driver"]["rules"].as_array().expect("rules") {
        assert!(
            rule["helpUri"]
                .as_str()
                .is_some_and(|u| u.starts_with("https://")),
            "{rule}"
        );
    }
    for result in run["results"].as_array().expect("results") {
        let locations = result["locations"].as_array().expect("locations");
        assert_eq!(locations.len(), 1, "{result}");
        let physical = &locations[0]["physicalLocation"];
        let artifact = &physical["artifactLocation"];
        let uri = artifact["uri"].as_str().expect("a uri");
        assert!(!uri.is_empty(), "{result}");
        if artifact["uriBaseId"] == "%SRCROOT%" {
            assert!(!uri.starts_with('/') && !uri.contains(':'), "{uri}");
            assert!(uri.split('/').all(|s| s != ".." && s != "."), "{uri}");
        } else {
            assert!(uri.starts_with("file:///"), "{uri}");
        }
        assert!(
            physical["region"]["startLine"]
                .as_u64()
                .is_some_and(|l| l >= 1),
            "{result}"
        );
        assert!(
            result["partialFingerprints"]["gatehouse/v1"]
                .as_str()
                .is_some_and(|f| f.len() == 32),
            "{result}"
        );
    }
    log
}

fn results(log: &Value) -> &Vec<Value> {
    log["runs"][0]["results"].as_array().expect("results")
}

/// A scratch directory, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir =
            std::env::temp_dir().join(format!("gatehouse-sarif-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("mkdir");
        Scratch(dir)
    }

    fn write(&self, path: &str, text: &str) {
        let p = self.0.join(path);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const HEADER: &str = "policy \"p\" version \"1\"\nschema { action.amount: number }\nreason BIG \"big\"\ntier 0 \"a\" { outcome auto }\ntier 1 \"b\" { outcome block }\n";

#[test]
fn every_failure_mode_gives_a_valid_log_whose_results_all_have_locations() {
    let s = Scratch::new("modes");
    // A git work tree, so URIs are relative to it.
    std::fs::create_dir_all(s.0.join(".git")).expect("mkdir");
    std::fs::create_dir_all(s.0.join("empty")).expect("mkdir");
    s.write("blank/main.gate", "");
    s.write("parse/main.gate", "policy \"p\"\n");
    s.write(
        "types/main.gate",
        &format!("{HEADER}rule big when action.amount > \"x\" then tier 1 because BIG\ndefault tier 0 because NO_RULE_MATCHED\n"),
    );
    s.write(
        "lint/main.gate",
        &format!("{HEADER}rule big when action.amount > 10 and action.amount < 5 then tier 1 because BIG\ndefault tier 0 because NO_RULE_MATCHED\n"),
    );
    std::fs::create_dir_all(s.0.join("dangling")).expect("mkdir");
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink("nowhere.gate", s.0.join("dangling/main.gate"))
            .expect("symlink");
        for fifo in ["fifo", "fifodir/main.gate"] {
            let path = s.0.join(fifo);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            let status = std::process::Command::new("mkfifo")
                .arg(&path)
                .status()
                .expect("mkfifo runs");
            assert!(status.success());
        }
    }
    let cases: &[(&str, &str)] = &[
        ("missing", "E0001"),
        ("empty", "E0104"),
        ("blank", "E0101"),
        ("parse", "E0002"),
        ("types", "E0301"),
        ("lint", "L0002"),
        #[cfg(unix)]
        ("dangling", "E0001"),
        #[cfg(unix)]
        ("fifo", "E0104"),
        #[cfg(unix)]
        ("fifodir", "E0001"),
    ];
    for (path, code) in cases {
        let (exit, out) = check(&s.0, "sarif", &[path]);
        // 2 for a path that does not exist (a usage error in every command).
        assert!(matches!(exit, 0..=2), "{path}: exit {exit}\n{out}");
        let log = valid_log(&out);
        let found = results(&log);
        let result = found
            .iter()
            .find(|r| r["ruleId"] == *code)
            .unwrap_or_else(|| panic!("{path}: no {code} in {out}"));
        let uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap_or("");
        assert!(uri.starts_with(path), "{path}: {uri}");
    }
}

#[test]
fn uris_are_relative_to_the_repository_root_not_the_current_directory() {
    // Run from a subdirectory, with `..` in the argument.
    let dir = Path::new(MANIFEST).join("tests/fixtures");
    let (_, out) = check(&dir, "sarif", &["../fixtures/lint/../lint/formats"]);
    let log = valid_log(&out);
    let root = format!("file://{}/", Path::new(MANIFEST).display());
    assert_eq!(
        log["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"],
        root.as_str()
    );
    let artifact = &results(&log)[0]["locations"][0]["physicalLocation"]["artifactLocation"];
    assert_eq!(artifact["uriBaseId"], "%SRCROOT%");
    assert!(
        artifact["uri"]
            .as_str()
            .is_some_and(|u| u.starts_with("tests/fixtures/lint/formats/")),
        "{artifact}"
    );

    // Reserved characters are percent-encoded: a `:` in the first segment
    // would otherwise read as a URI scheme.
    let s = Scratch::new("encode");
    std::fs::create_dir_all(s.0.join(".git")).expect("mkdir");
    s.write(
        "a:b #1/main.gate",
        &format!("{HEADER}rule big when action.amount > 10 and action.amount < 5 then tier 1 because BIG\ndefault tier 0 because NO_RULE_MATCHED\n"),
    );
    let (_, out) = check(&s.0.join("a:b #1"), "sarif", &["."]);
    let log = valid_log(&out);
    let artifact = &results(&log)[0]["locations"][0]["physicalLocation"]["artifactLocation"];
    assert_eq!(artifact["uri"], "a%3Ab%20%231/main.gate");
}

#[test]
fn suppressed_findings_are_results_with_suppressions() {
    let dir = Path::new(MANIFEST);
    // A suppression comment with a reason.
    let (_, out) = check(dir, "sarif", &["tests/fixtures/lint/suppress"]);
    let log = valid_log(&out);
    let suppressed: Vec<&Value> = results(&log)
        .iter()
        .filter(|r| r.get("suppressions").is_some())
        .collect();
    let auditor = suppressed
        .iter()
        .find(|r| r["ruleId"] == "L0012")
        .expect("the suppressed L0012");
    assert_eq!(
        auditor["suppressions"],
        serde_json::json!([{"kind": "inSource", "justification": "named by the audit export, not by a rule"}])
    );
    assert_eq!(
        auditor["locations"][0]["physicalLocation"]["region"]["startLine"],
        5
    );
    assert!(suppressed.iter().any(|r| r["ruleId"] == "L0009"));
    assert!(suppressed.iter().any(|r| r["ruleId"] == "L0014"));
    // The unsuppressed finding on another line is not marked.
    assert!(
        results(&log)
            .iter()
            .any(|r| r["ruleId"] == "L0012" && r.get("suppressions").is_none())
    );

    // A lint turned off in gatehouse.toml.
    let (exit, out) = check(dir, "sarif", &["tests/fixtures/lint/config/set"]);
    assert_eq!(exit, 1, "the missing timeout is an error there");
    let log = valid_log(&out);
    let off = results(&log)
        .iter()
        .find(|r| r["ruleId"] == "L0012")
        .expect("the L0012 turned off");
    assert_eq!(off["suppressions"][0]["kind"], "external");
    assert_eq!(
        off["suppressions"][0]["justification"],
        "turned off in tests/fixtures/lint/config/gatehouse.toml"
    );
    // Other formats still leave it out, and it does not count.
    let (_, json) = check(dir, "json", &["tests/fixtures/lint/config/set"]);
    assert!(!json.contains("L0012"), "{json}");
}

#[test]
fn fingerprints_survive_lines_moving_and_differ_between_findings() {
    let s = Scratch::new("fingerprint");
    let body = format!(
        "{HEADER}rule big when action.amount > 10 and action.amount < 5 then tier 1 because BIG\nrule odd when action.amount > 20 and action.amount < 3 then tier 1 because BIG\ndefault tier 0 because NO_RULE_MATCHED\n"
    );
    s.write("p/main.gate", &body);
    let prints = |s: &Scratch| -> Vec<String> {
        let (_, out) = check(&s.0, "sarif", &["p"]);
        let log = valid_log(&out);
        results(&log)
            .iter()
            .filter(|r| r["ruleId"] == "L0002")
            .map(|r| {
                r["partialFingerprints"]["gatehouse/v1"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned()
            })
            .collect()
    };
    let before = prints(&s);
    assert_eq!(before.len(), 2);
    assert_ne!(before[0], before[1]);
    s.write(
        "p/main.gate",
        &format!("# a comment moves every line\n\n{body}"),
    );
    assert_eq!(prints(&s), before);
}

#[test]
fn an_invalid_gatehouse_toml_still_gives_a_valid_document_in_every_format() {
    let dir = Path::new(MANIFEST);
    let set = "tests/fixtures/lint/badconfig/set";
    let (exit, out) = check(dir, "sarif", &[set]);
    assert_eq!(exit, 2);
    // The error is a finding of its own (E0006) at the bad key, so GitHub
    // shows it on the line of gatehouse.toml like any other.
    let log = valid_log(&out);
    let found = results(&log);
    let e0006 = found
        .iter()
        .find(|r| r["ruleId"] == "E0006")
        .unwrap_or_else(|| panic!("no E0006 in {out}"));
    assert_eq!(e0006["level"], "error");
    assert!(
        e0006["message"]["text"]
            .as_str()
            .is_some_and(|m| m.contains("unknown lint `threshold-gapp`")),
        "{e0006}"
    );
    let place = &e0006["locations"][0]["physicalLocation"];
    assert_eq!(
        place["artifactLocation"]["uri"],
        "tests/fixtures/lint/badconfig/gatehouse.toml"
    );
    assert_eq!(place["region"]["startLine"], 2);

    let (exit, out) = check(dir, "json", &[set]);
    assert_eq!(exit, 2);
    let doc: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(doc["errors"], 1);
    assert_eq!(doc["diagnostics"][0]["code"], "E0006");
    assert_eq!(
        doc["diagnostics"][0]["file"],
        "tests/fixtures/lint/badconfig/gatehouse.toml"
    );

    let (exit, out) = check(dir, "github", &[set]);
    assert_eq!(exit, 2);
    assert!(
        out.starts_with("::error file=tests/fixtures/lint/badconfig/gatehouse.toml,"),
        "{out}"
    );
}

/// Every rule's `helpUri` names a page of the book and a heading on it (a
/// GitHub-style slug of a markdown heading in docs/), so the link a code
/// scanning alert shows is never a dead end.
#[test]
fn every_help_uri_points_at_a_heading_of_the_book() {
    fn slug(heading: &str) -> String {
        heading
            .trim()
            .to_lowercase()
            .chars()
            .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
            .map(|c| if c == ' ' { '-' } else { c })
            .collect()
    }
    for code in gatehouse::Code::ALL {
        let uri = gatehouse_cli::lint::sarif::help_uri(*code);
        let rest = uri
            .strip_prefix(gatehouse_cli::lint::sarif::BOOK_URL)
            .unwrap_or_else(|| panic!("{uri} is not in the book"));
        let (page, anchor) = rest.split_once('#').expect("an anchor");
        let md = Path::new(MANIFEST)
            .join("docs")
            .join(page.replace(".html", ".md"));
        let text = std::fs::read_to_string(&md).unwrap_or_else(|e| panic!("{uri}: {e}"));
        let found = text
            .lines()
            .filter_map(|l| l.strip_prefix('#'))
            .map(|l| slug(l.trim_start_matches('#')))
            .any(|s| s == anchor);
        assert!(
            found,
            "{code:?}: no heading `#{anchor}` in {}",
            md.display()
        );
    }
}

//! `gatehouse diff`: impact analysis of a policy change.
//!
//! The main test decides a generated corpus whose transitions are known in
//! advance: `tests/fixtures/diff/old.gate` and `new.gate` differ in four
//! ways (refund threshold 1000 -> 500, refunds above 20000 need two people,
//! payments up to 100 go to the requester, the support lead's limit drops
//! from 5000 to 3000), and a small reference model of both policies says what
//! each generated action must get. Snapshots pin the three output formats;
//! the rest pins exit codes, stdin, git revisions and the progress bar's
//! silence when stderr is not a terminal.
//!
//! `cargo test --release --test diff -- --ignored --nocapture` runs the
//! measurement on a generated 1,000,000-line corpus.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command as Process;

use assert_cmd::Command;
use gatehouse::audit::impact::{self, ChangeKind, DiffOptions, ImpactReport};
use gatehouse::{Outcome, Policy};

const OLD: &str = "tests/fixtures/diff/old.gate";
const NEW: &str = "tests/fixtures/diff/new.gate";
const CORPUS: &str = "tests/fixtures/diff/corpus.jsonl";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn gatehouse() -> Command {
    let mut cmd = Command::cargo_bin("gatehouse").expect("binary");
    cmd.current_dir(root())
        .env_remove("GATEHOUSE_POLICY")
        .env_remove("CI")
        .env("NO_COLOR", "1");
    cmd
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = gatehouse().args(args).output().expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A file in the system temp directory, unique to this process and test.
fn temp_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("gatehouse-diff-{}-{name}", std::process::id()))
}

fn load(path: &str) -> Policy {
    Policy::load(root().join(path)).unwrap_or_else(|d| panic!("{path}:\n{}", d.render(false)))
}

// ------------------------------------------------------ the generated corpus --

/// What one generated line is.
enum Generated {
    Action { kind: &'static str, cents: u64 },
    Blank,
    Garbage,
    NoInput,
    OtherRecord,
}

/// Amounts on and just above every threshold of both policies, in cents.
const BOUNDARIES: [u64; 12] = [
    10_000, 10_001, 50_000, 50_001, 100_000, 100_001, 300_000, 300_001, 500_000, 500_001,
    2_000_000, 2_000_001,
];

fn generated(i: u64) -> Generated {
    if i % 1000 == 999 {
        return Generated::Garbage;
    }
    if i % 500 == 499 {
        return Generated::NoInput;
    }
    if i % 700 == 699 {
        return Generated::OtherRecord;
    }
    if i % 100 == 42 {
        return Generated::Blank;
    }
    let kind = ["read", "refund", "pay"][(i % 3) as usize];
    let cents = if i.is_multiple_of(7) {
        BOUNDARIES[((i / 7) % BOUNDARIES.len() as u64) as usize]
    } else {
        (i * 7919) % 2_600_000
    };
    Generated::Action { kind, cents }
}

fn action_json(kind: &str, cents: u64, i: u64) -> String {
    format!(
        r#"{{"action":{{"type":"{kind}","amount":{}.{:02}}},"requester":{{"id":"u-{}"}}}}"#,
        cents / 100,
        cents % 100,
        i % 50
    )
}

fn corpus_line(i: u64) -> String {
    match generated(i) {
        // Every 11th action comes as an audit record, as `--audit-log` writes them.
        Generated::Action { kind, cents } if i.is_multiple_of(11) => format!(
            r#"{{"record":"decision","id":"dec_{i:08}","input":{},"redacted":[],"outcome":"auto","options":{{"now":null,"strict":false}}}}"#,
            action_json(kind, cents, i)
        ),
        Generated::Action { kind, cents } => action_json(kind, cents, i),
        Generated::Blank => String::new(),
        Generated::Garbage => format!("garbage line {i}"),
        Generated::NoInput => r#"{"record":"decision","input":null}"#.to_owned(),
        Generated::OtherRecord => format!(r#"{{"record":"approval","id":{i}}}"#),
    }
}

fn corpus(lines: u64) -> String {
    let mut text = String::new();
    for i in 0..lines {
        text.push_str(&corpus_line(i));
        text.push('\n');
    }
    text
}

/// What a reviewer acts on: outcome, tier, reason codes, approver roles.
type Expected = (Outcome, u32, Vec<&'static str>, Vec<&'static str>);

fn sorted(mut v: Vec<&'static str>) -> Vec<&'static str> {
    v.sort_unstable();
    v
}

/// The approver of a tier-3 action: the support lead up to the limit, else
/// escalated to the finance director.
fn lead_or_director(cents: u64, limit: u64, reasons: &mut Vec<&'static str>) -> Vec<&'static str> {
    if cents <= limit {
        vec!["support_lead"]
    } else {
        reasons.push("APPROVER_ESCALATED");
        vec!["finance_director"]
    }
}

/// `old.gate`, by hand.
fn old_model(kind: &str, cents: u64) -> Expected {
    match kind {
        "refund" if cents > 100_000 => {
            let mut reasons = vec!["REFUND"];
            let approvers = lead_or_director(cents, 500_000, &mut reasons);
            (Outcome::Explicit, 3, sorted(reasons), approvers)
        }
        "pay" => {
            let mut reasons = vec!["PAYMENT"];
            let approvers = lead_or_director(cents, 500_000, &mut reasons);
            (Outcome::Explicit, 3, sorted(reasons), approvers)
        }
        _ => (Outcome::Auto, 0, vec!["NO_RULE_MATCHED"], vec![]),
    }
}

/// `new.gate`, by hand.
fn new_model(kind: &str, cents: u64) -> Expected {
    match kind {
        "refund" if cents > 2_000_000 => {
            // Tier 4 asks for the support lead and the finance director; the
            // lead's limit sends the first to the director too.
            let reasons = vec!["REFUND", "HUGE_REFUND", "APPROVER_ESCALATED"];
            (Outcome::Dual, 4, sorted(reasons), vec!["finance_director"])
        }
        "refund" if cents > 50_000 => {
            let mut reasons = vec!["REFUND"];
            let approvers = lead_or_director(cents, 300_000, &mut reasons);
            (Outcome::Explicit, 3, sorted(reasons), approvers)
        }
        "pay" if cents <= 10_000 => (
            Outcome::Queue,
            1,
            vec!["SMALL_PAYMENT"],
            vec!["requesting_user"],
        ),
        "pay" => {
            let mut reasons = vec!["PAYMENT"];
            let approvers = lead_or_director(cents, 300_000, &mut reasons);
            (Outcome::Explicit, 3, sorted(reasons), approvers)
        }
        _ => (Outcome::Auto, 0, vec!["NO_RULE_MATCHED"], vec![]),
    }
}

/// What the report must say about the first `lines` generated lines.
#[derive(Debug, Default, PartialEq)]
struct Known {
    inputs: u64,
    unchanged: u64,
    no_input_recorded: u64,
    other_records: u64,
    unreadable: u64,
    /// (old, new) -> 1-based line numbers, in order.
    transitions: BTreeMap<(Outcome, Outcome), Vec<u64>>,
}

fn known(lines: u64) -> Known {
    let mut k = Known::default();
    for i in 0..lines {
        match generated(i) {
            Generated::Action { kind, cents } => {
                k.inputs += 1;
                let (old, new) = (old_model(kind, cents), new_model(kind, cents));
                if old == new {
                    k.unchanged += 1;
                } else {
                    k.transitions.entry((old.0, new.0)).or_default().push(i + 1);
                }
            }
            Generated::Blank => {}
            Generated::Garbage => k.unreadable += 1,
            Generated::NoInput => k.no_input_recorded += 1,
            Generated::OtherRecord => k.other_records += 1,
        }
    }
    k
}

fn observed(r: &ImpactReport) -> Known {
    Known {
        inputs: r.inputs,
        unchanged: r.unchanged,
        no_input_recorded: r.no_input_recorded,
        other_records: r.other_records,
        unreadable: r.unreadable,
        transitions: r
            .transitions
            .iter()
            .map(|t| {
                let mut lines: Vec<u64> = t.examples.iter().map(|c| c.line).collect();
                // Stand-ins for the changes counted but not listed.
                lines.extend((0..t.more).map(|_| 0));
                ((t.old, t.new), lines)
            })
            .collect(),
    }
}

#[test]
fn a_generated_corpus_gives_the_known_transitions() {
    const LINES: u64 = 30_000;
    const LIMIT: usize = 5;
    let (old, new) = (load(OLD), load(NEW));
    let text = corpus(LINES);
    let mut calls = 0;
    let report = impact::diff(
        &old,
        &new,
        text.as_bytes(),
        &DiffOptions::default().with_limit(LIMIT),
        &mut |_| calls += 1,
    )
    .expect("reads");
    assert!(calls > 1, "progress is reported as the corpus is read");

    let want = known(LINES);
    let got = observed(&report);
    assert_eq!(report.lines, LINES);
    assert_eq!(
        (
            got.inputs,
            got.unchanged,
            got.no_input_recorded,
            got.other_records,
            got.unreadable
        ),
        (
            want.inputs,
            want.unchanged,
            want.no_input_recorded,
            want.other_records,
            want.unreadable
        )
    );
    // Every transition with its count, and the first LIMIT changes listed.
    let expected: BTreeMap<_, _> = want
        .transitions
        .iter()
        .map(|(k, lines)| (*k, lines.len()))
        .collect();
    let counted: BTreeMap<_, _> = got
        .transitions
        .iter()
        .map(|(k, lines)| (*k, lines.len()))
        .collect();
    assert_eq!(counted, expected);
    for t in &report.transitions {
        let lines: Vec<u64> = t.examples.iter().map(|c| c.line).collect();
        let first: Vec<u64> = want.transitions[&(t.old, t.new)]
            .iter()
            .take(LIMIT)
            .copied()
            .collect();
        assert_eq!(lines, first, "{} -> {}", t.old, t.new);
        assert_eq!(t.change, ChangeKind::of(t.old, t.new));
    }
    // Each kind of change the two policies differ in is there.
    for key in [
        (Outcome::Auto, Outcome::Explicit),
        (Outcome::Explicit, Outcome::Dual),
        (Outcome::Explicit, Outcome::Queue),
        (Outcome::Explicit, Outcome::Explicit),
    ] {
        assert!(expected.contains_key(&key), "{key:?} is generated");
    }
    assert_eq!(expected.len(), 4, "and nothing else changes");
    assert_eq!(
        report.loosened,
        expected[&(Outcome::Explicit, Outcome::Queue)] as u64
    );
    assert_eq!(
        report.changed,
        report.loosened + report.tightened + report.same_outcome
    );
    assert_eq!(report.inputs, report.changed + report.unchanged);

    // The rules behind each transition.
    let rules = |old, new| {
        let t = report
            .transitions
            .iter()
            .find(|t| (t.old, t.new) == (old, new))
            .expect("transition");
        let tallies: Vec<(&str, u64, u64, u64)> = t
            .rules
            .iter()
            .map(|r| {
                (
                    r.rule.as_str(),
                    r.newly_matched,
                    r.no_longer_matched,
                    r.changed,
                )
            })
            .collect();
        (t.count, tallies)
    };
    let (n, tallies) = rules(Outcome::Explicit, Outcome::Queue);
    assert_eq!(
        tallies,
        [("payment", 0, n, 0), ("small_payment", n, 0, 0)],
        "loosened payments: the payment rule gave way to small_payment"
    );
    let (n, tallies) = rules(Outcome::Auto, Outcome::Explicit);
    assert_eq!(tallies, [("default", 0, n, 0), ("refund", n, 0, 0)]);
    let (n, tallies) = rules(Outcome::Explicit, Outcome::Dual);
    assert_eq!(tallies, [("huge_refund", n, 0, 0)]);
    let (_, tallies) = rules(Outcome::Explicit, Outcome::Explicit);
    assert_eq!(tallies, [], "the role limit changed, not a rule");

    // Unreadable lines: counted, the first ten listed.
    assert_eq!(report.unreadable_lines.len(), 10);
    assert_eq!(report.unreadable_lines[0].line, 1000);
    assert_eq!(
        report.unreadable_lines[0].message,
        "not JSON: expected value (column 1)"
    );
}

#[test]
fn the_cli_reports_the_same_counts_as_the_library() {
    const LINES: u64 = 6_000;
    let path = temp_path("cli-corpus.jsonl");
    std::fs::write(&path, corpus(LINES)).expect("write corpus");
    let (code, out, err) = run(&[
        "diff",
        OLD,
        NEW,
        "--inputs",
        path.to_str().expect("utf-8 path"),
        "--format",
        "json",
        "--limit",
        "3",
    ]);
    std::fs::remove_file(&path).ok();
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains('\r'), "no progress bar when stderr is piped");
    let doc: serde_json::Value = serde_json::from_str(&out).expect("json");
    let want = known(LINES);
    assert_eq!(doc["lines"], LINES);
    assert_eq!(doc["inputs"], want.inputs);
    assert_eq!(doc["unchanged"], want.unchanged);
    for t in doc["transitions"].as_array().expect("transitions") {
        let key = (
            Outcome::from_keyword(t["old"].as_str().expect("old")).expect("outcome"),
            Outcome::from_keyword(t["new"].as_str().expect("new")).expect("outcome"),
        );
        let lines = &want.transitions[&key];
        assert_eq!(t["count"], lines.len());
        assert_eq!(t["examples"][0]["line"], lines[0]);
        assert_eq!(t["more"], lines.len() - 3);
    }
}

// ---------------------------------------------------------------- snapshots --

#[test]
fn human_output() {
    let (code, out, err) = run(&["diff", OLD, NEW, "--inputs", CORPUS, "--limit", "2"]);
    assert_eq!(code, 0);
    assert_eq!(
        err,
        "warning: 2 lines of the corpus could not be read as an action or an audit record\n"
    );
    insta::assert_snapshot!(out);
}

#[test]
fn markdown_output() {
    let (code, out, _) = run(&[
        "diff", OLD, NEW, "--inputs", CORPUS, "--limit", "2", "--format", "markdown",
    ]);
    assert_eq!(code, 0);
    insta::assert_snapshot!(out);
}

#[test]
fn json_output() {
    let (code, out, _) = run(&[
        "diff", OLD, NEW, "--inputs", CORPUS, "--limit", "1", "--format", "json",
    ]);
    assert_eq!(code, 0);
    let doc: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(doc["old"]["source"], OLD);
    assert_eq!(doc["old"]["digest"], load(OLD).digest());
    insta::assert_snapshot!(out);
}

// ---------------------------------------------------------- exit codes, io --

#[test]
fn fail_on_loosen_exits_1_only_when_a_decision_loosens() {
    let (code, _, err) = run(&["diff", OLD, NEW, "--inputs", CORPUS, "--fail-on", "loosen"]);
    assert_eq!(code, 1);
    assert!(
        err.contains(
            "error: 1 decision becomes less strict under the new policy (--fail-on loosen)"
        ),
        "{err}"
    );
    // The same change read backwards only tightens what loosened.
    let tighten_only = r#"{"action":{"type":"refund","amount":750},"requester":{"id":"u"}}"#;
    let out = gatehouse()
        .args(["diff", OLD, NEW, "--inputs", "-", "--fail-on", "loosen"])
        .write_stdin(format!("{tighten_only}\n"))
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0));
    let (code, _, _) = run(&["diff", NEW, OLD, "--inputs", CORPUS, "--fail-on", "loosen"]);
    assert_eq!(code, 1, "new -> old loosens the refunds");
}

#[test]
fn fail_on_change_exits_1_on_any_change() {
    let (code, _, err) = run(&["diff", OLD, NEW, "--inputs", CORPUS, "--fail-on", "change"]);
    assert_eq!(code, 1);
    assert!(err.contains("7 decisions change under the new policy (--fail-on change)"));
    let (code, out, _) = run(&["diff", OLD, OLD, "--inputs", CORPUS, "--fail-on", "change"]);
    assert_eq!(code, 0);
    assert!(out.contains("both are the same policy"));
    assert!(out.contains("10 inputs: 0 changed"));
}

#[test]
fn reads_the_corpus_from_stdin() {
    let out = gatehouse()
        .args(["diff", OLD, NEW, "--inputs", "-", "--format", "json"])
        .write_stdin(std::fs::read(root().join(CORPUS)).expect("corpus"))
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(doc["changed"], 7);
    assert_eq!(doc["no_input_recorded"], 2);
}

#[test]
fn a_policy_that_does_not_compile_exits_2() {
    let (code, out, err) = run(&["diff", "tests/fixtures/cli/broken", NEW, "--inputs", CORPUS]);
    assert_eq!(code, 2);
    assert!(out.is_empty());
    assert!(err.contains("E0202"), "the diagnostics are rendered: {err}");
    assert!(err.contains("error: the policy at `tests/fixtures/cli/broken` does not compile"));
}

#[test]
fn an_unreadable_corpus_exits_3_as_any_unreadable_input() {
    let (code, _, err) = run(&["diff", OLD, NEW, "--inputs", "no/such/corpus.jsonl"]);
    assert_eq!(code, 3);
    assert!(err.contains("error: cannot read `no/such/corpus.jsonl`"));
    let (code, _, _) = run(&["diff", OLD, NEW, "--inputs", CORPUS, "--format", "yaml"]);
    assert_eq!(code, 2, "usage error");
}

#[test]
fn an_empty_corpus_is_reported() {
    let out = gatehouse()
        .args(["diff", OLD, NEW, "--inputs", "-"])
        .write_stdin("\n\n")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("warning: the corpus holds no input to compare"));
}

// -------------------------------------------------------------- git revisions --

fn git(dir: &Path, args: &[&str]) {
    let out = Process::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn old_and_new_can_be_git_revisions() {
    if Process::new("git").arg("--version").output().is_err() {
        eprintln!("skipped: git is not installed");
        return;
    }
    let repo = temp_path("repo");
    let set = repo.join("policies/payments");
    std::fs::create_dir_all(&set).expect("mkdir");
    let old_text = std::fs::read_to_string(root().join(OLD)).expect("old");
    let new_text = std::fs::read_to_string(root().join(NEW)).expect("new");
    std::fs::write(set.join("payments.gate"), &old_text).expect("write");
    std::fs::write(set.join("README.md"), "not a policy file\n").expect("write");
    git(&repo, &["init", "-q"]);
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "old policy"]);
    std::fs::write(set.join("payments.gate"), &new_text).expect("write");
    let corpus = root().join(CORPUS);
    let corpus = corpus.to_str().expect("utf-8 path");

    let diff = |old: &str, new: &str| {
        let out = gatehouse()
            .current_dir(&repo)
            .args(["diff", old, new, "--inputs", corpus, "--format", "json"])
            .output()
            .expect("runs");
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        (
            out.status.code(),
            doc,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // A set at a revision against the working tree.
    let (code, doc, err) = diff("HEAD:policies/payments", "policies/payments");
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(doc["changed"], 7);
    assert_eq!(doc["loosened"], 1);
    // The digest hashes base names, so it is the checked-out file's.
    let old_policy = Policy::from_source("payments.gate", old_text).expect("compiles");
    assert_eq!(doc["old"]["digest"], old_policy.digest());
    assert_eq!(doc["old"]["source"], "HEAD:policies/payments");

    // One file at a revision; a trailing slash on a directory.
    let (code, doc, err) = diff("HEAD:policies/payments/payments.gate", "policies/payments/");
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(doc["changed"], 7);
    assert_eq!(doc["old"]["digest"], old_policy.digest());

    // REV:./PATH is from the current directory, as in `git show`.
    let out = gatehouse()
        .current_dir(repo.join("policies"))
        .args(["diff", "HEAD:./payments", "payments", "--inputs", corpus])
        .args(["--format", "json"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(doc["old"]["digest"], old_policy.digest());

    // Errors: an unknown revision, a directory without policy files.
    let (code, _, err) = diff("no-such-rev:policies/payments", "policies/payments");
    assert_eq!(code, Some(2));
    assert!(
        err.contains("error: cannot read `no-such-rev:policies/payments` from git"),
        "{err}"
    );
    let (code, _, err) = diff("HEAD:policies", "policies/payments");
    assert_eq!(code, Some(2));
    assert!(
        err.contains("no `.gate` files directly in `HEAD:policies`"),
        "{err}"
    );

    std::fs::remove_dir_all(&repo).ok();
}

// -------------------------------------------------------- a million lines --

/// The shipped sample actions, one compact JSON text each.
fn shipped_samples() -> Vec<serde_json::Value> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(root().join("examples/actions"))
        .expect("examples")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    paths
        .iter()
        .filter_map(|p| serde_json::from_str(&std::fs::read_to_string(p).ok()?).ok())
        .collect()
}

/// Measures `gatehouse diff` on 1,000,000 lines made from the shipped
/// samples with varied types and amounts, between the shipped matrix and a
/// copy whose refund threshold is 500 instead of 1000. Run with `--release`.
#[test]
#[ignore = "a measurement: cargo test --release --test diff -- --ignored --nocapture"]
fn a_million_lines_stream_in_seconds() {
    const LINES: usize = 1_000_000;
    const TYPES: [&str; 8] = [
        "read",
        "summarize",
        "draft",
        "send",
        "update",
        "refund",
        "pay",
        "deploy",
    ];
    let samples = shipped_samples();
    let corpus_path = temp_path("million.jsonl");
    {
        use std::io::Write;
        let file = std::fs::File::create(&corpus_path).expect("create corpus");
        let mut out = std::io::BufWriter::new(file);
        for i in 0..LINES {
            let mut doc = samples[i % samples.len()].clone();
            if let Some(action) = doc.get_mut("action").and_then(|a| a.as_object_mut()) {
                if i % 3 == 0 {
                    action.insert("type".into(), TYPES[i % TYPES.len()].into());
                }
                if action.contains_key("amount") || i % 5 == 0 {
                    action.insert("amount".into(), ((i * 7919) % 30_000).into());
                    action.insert("currency".into(), "EUR".into());
                }
            }
            writeln!(out, "{doc}").expect("write corpus");
        }
    }
    let bytes = std::fs::metadata(&corpus_path).expect("corpus").len();

    let new_set = temp_path("new-matrix");
    std::fs::create_dir_all(&new_set).expect("mkdir");
    for entry in std::fs::read_dir(root().join("policies/ai-agent-actions")).expect("matrix") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "gate") {
            let text = std::fs::read_to_string(&path)
                .expect("read")
                .replace("action.amount > 1000", "action.amount > 500");
            std::fs::write(new_set.join(path.file_name().expect("name")), text).expect("write");
        }
    }

    let started = std::time::Instant::now();
    let (code, out, err) = run(&[
        "diff",
        "policies/ai-agent-actions",
        new_set.to_str().expect("utf-8 path"),
        "--inputs",
        corpus_path.to_str().expect("utf-8 path"),
        "--format",
        "json",
    ]);
    let elapsed = started.elapsed();
    std::fs::remove_file(&corpus_path).ok();
    std::fs::remove_dir_all(&new_set).ok();
    assert_eq!(code, 0, "{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(doc["lines"], LINES);
    assert_eq!(doc["inputs"], LINES);
    assert!(doc["changed"].as_u64().expect("changed") > 0);
    println!(
        "gatehouse diff: {LINES} lines ({} MB) in {:.2}s, {} changed",
        bytes / 1_000_000,
        elapsed.as_secs_f64(),
        doc["changed"]
    );
}

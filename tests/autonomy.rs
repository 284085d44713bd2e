//! `gatehouse autonomy` on a fixed history (lines a real `gatehouse serve`
//! wrote, plus a sampled auto request rejected after the fact and one
//! unreadable line): snapshots of the human, Markdown and JSON reports,
//! the HTML's promises (self-contained, accessible), and the flags'
//! refusals.

use assert_cmd::Command;

const HISTORY: &str = "tests/fixtures/autonomy/history.jsonl";
const POLICY: &str = "policies/ai-agent-actions";

fn run(args: &[&str], stdin: Option<&[u8]>) -> (i32, String, String) {
    let mut cmd = Command::cargo_bin("gatehouse").expect("binary");
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .arg("autonomy")
        .args(args);
    if let Some(input) = stdin {
        cmd.write_stdin(input.to_vec());
    }
    let out = cmd.output().expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Low thresholds, so the five human decisions of the fixture make
/// candidates and their relax diffs show.
const LOW: [&str; 6] = [
    "--min-cases",
    "1",
    "--max-rejection-rate",
    "1",
    "--policy",
    POLICY,
];

#[test]
fn human_report() {
    let mut args = vec![HISTORY];
    args.extend(LOW);
    let (code, out, err) = run(&args, None);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("warning: 1 line(s)"), "{err}");
    insta::assert_snapshot!(out);
}

#[test]
fn markdown_report() {
    let mut args = vec![HISTORY, "--format", "markdown"];
    args.extend(LOW);
    let (code, out, err) = run(&args, None);
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!(out);
}

#[test]
fn json_report_from_stdin_equals_the_file() {
    let mut args = vec![HISTORY, "--format", "json"];
    args.extend(LOW);
    let (code, out, err) = run(&args, None);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read(format!("{}/{HISTORY}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let mut args = vec!["-", "--format", "json"];
    args.extend(LOW);
    let (code, from_stdin, _) = run(&args, Some(&text));
    assert_eq!(code, 0);
    assert_eq!(out, from_stdin);
    insta::assert_snapshot!(out);
}

#[test]
fn html_is_one_accessible_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.html");
    let path_text = path.to_str().unwrap();
    let (code, out, err) = run(
        &[
            HISTORY, "--format", "html", "--output", path_text, "--bucket", "day",
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.is_empty(), "--output writes the file, not stdout");
    let html = std::fs::read_to_string(&path).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    for fetch in [
        "<script",
        "<link",
        "src=",
        "url(",
        "@import",
        "https://",
        "http://www.w3.org/1999",
    ] {
        assert!(!html.contains(fetch), "nothing fetched or run: {fetch}");
    }
    assert!(html.contains("<svg") && html.contains("role=\"img\" aria-label=\"Rule refund:"));
    assert!(html.contains("<th scope=\"col\">"));
    assert!(html.contains("<h1>") && html.contains("<h2>"));
    assert!(html.contains("lang=\"en\""));
}

#[test]
fn fail_on_less_and_thresholds() {
    // The rejected sample makes internal_content a candidate for less.
    let (code, out, _) = run(&[HISTORY, "--fail-on", "less"], None);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("rule internal_content: 1 of 1 sampled auto actions rejected"),
        "{out}"
    );
    // Default thresholds: five decisions are not enough for more.
    assert!(out.contains("Candidates for more autonomy: 0"));
}

#[test]
fn refusals() {
    for (args, needle) in [
        (vec![HISTORY, "--confidence", "1"], "--confidence"),
        (vec![HISTORY, "--confidence", "NaN"], "--confidence"),
        (
            vec![HISTORY, "--max-rejection-rate=-0.1"],
            "--max-rejection-rate",
        ),
        (
            vec![HISTORY, "--less-rejection-rate", "2"],
            "--less-rejection-rate",
        ),
        (vec![HISTORY, "--target", "action..target"], "--target"),
        (vec![HISTORY, "--since", "last tuesday"], "--since"),
        (vec![HISTORY, "--data-dir", "x"], "not both"),
        (
            vec![
                HISTORY,
                "--policy",
                POLICY,
                "--relax-to-tier",
                "3",
                "--min-cases",
                "1",
                "--max-rejection-rate",
                "1",
            ],
            "not an auto tier",
        ),
    ] {
        let (code, _, err) = run(&args, None);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    let (code, _, err) = run(&["tests/fixtures/autonomy", "--format", "json"], None);
    assert_eq!(code, 3, "a directory is not a history: {err}");
}

#[test]
fn since_and_until_bound_the_window() {
    let (code, out, _) = run(
        &[
            HISTORY,
            "--format",
            "json",
            "--since",
            "2026-12-05T23:05:00Z",
        ],
        None,
    );
    assert_eq!(code, 0);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        report["input"]["requests"], 1,
        "only the sampled request is that late"
    );
    let (_, out, _) = run(
        &[
            HISTORY,
            "--format",
            "json",
            "--until",
            "2026-12-05T23:05:00Z",
        ],
        None,
    );
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["input"]["requests"], 3);
}

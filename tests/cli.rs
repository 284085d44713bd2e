//! End-to-end tests of the `gatehouse` binary: exit codes, and snapshots of
//! what a user sees.

use assert_cmd::Command;

const POLICY: &str = "tests/fixtures/cli/refunds";

fn gatehouse() -> Command {
    let mut cmd = Command::cargo_bin("gatehouse").expect("binary");
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("GATEHOUSE_POLICY")
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

#[test]
fn check_ok_set() {
    let (code, out, _) = run(&["check", POLICY]);
    assert_eq!(code, 0);
    insta::assert_snapshot!(out);
}

#[test]
fn check_reports_every_error_of_a_broken_set_and_exits_1() {
    let (code, out, _) = run(&["check", "tests/fixtures/cli/broken"]);
    assert_eq!(code, 1);
    assert!(
        out.contains("E0202")
            && out.contains("E0201")
            && out.contains("E0205")
            && out.contains("E0204")
    );
    insta::assert_snapshot!(out);
}

#[test]
fn check_finds_every_set_under_a_directory() {
    let (code, out, _) = run(&["check", "tests/fixtures/cli"]);
    assert_eq!(code, 1, "one of the two sets is broken");
    assert!(out.contains("ok: tests/fixtures/cli/refunds"));
    assert!(out.contains("failed: tests/fixtures/cli/broken"));
    assert!(out.contains("checked 2 policy sets"));
}

#[test]
fn check_json_format() {
    let (code, out, _) = run(&["check", "--format", "json", "tests/fixtures/cli/broken"]);
    assert_eq!(code, 1);
    let doc: serde_json::Value = serde_json::from_str(&out).expect("json");
    let diags = doc["sets"][0]["diagnostics"]
        .as_array()
        .expect("diagnostics");
    let first = &diags[0];
    assert_eq!(first["code"], "E0202");
    assert_eq!(first["file"], "tests/fixtures/cli/broken/main.gate");
    assert_eq!(
        (first["line"].as_u64(), first["column"].as_u64()),
        (Some(4), Some(41))
    );
}

#[test]
fn check_missing_path_is_a_usage_error() {
    // 2 as in every command (src/cli/mod.rs, `exit`); the diagnostic is still printed
    let (code, out, _) = run(&["check", "no/such/dir"]);
    assert_eq!(code, 2);
    assert!(out.contains("E0001"));
}

#[test]
fn eval_prints_the_decision_json() {
    let (code, out, _) = run(&[
        "eval",
        "--policy",
        POLICY,
        "--now",
        "2026-11-22T09:00:00Z",
        "tests/fixtures/cli/refund-large.json",
    ]);
    assert_eq!(code, 0);
    insta::assert_snapshot!(out);
}

#[test]
fn eval_explain_reads_like_a_review_request() {
    let (code, out, _) = run(&[
        "eval",
        "-p",
        POLICY,
        "--explain",
        "tests/fixtures/cli/refund-huge.yaml",
    ]);
    assert_eq!(code, 0);
    assert!(out.contains("finance_director (escalated from support_lead"));
    insta::assert_snapshot!(out);
}

#[test]
fn eval_reads_stdin() {
    let out = gatehouse()
        .args(["eval", "-p", POLICY])
        .write_stdin("action: {type: read}\nrequester: {id: a}\n")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0));
    let d: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(d["outcome"], "auto");
}

#[test]
fn eval_invalid_input_prints_block_and_exits_3() {
    let (code, out, _) = run(&["eval", "-p", POLICY, "tests/fixtures/cli/invalid.json"]);
    assert_eq!(code, 3);
    let d: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(d["outcome"], "block");
    assert_eq!(d["reasons"][0]["code"], "INVALID_INPUT");
    let paths: Vec<&str> = d["input_errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["path"].as_str())
        .collect();
    assert_eq!(paths, ["$.action.amount", "$.requester.id"]);
}

#[test]
fn eval_malformed_json_is_invalid_input() {
    let out = gatehouse()
        .args(["eval", "-p", POLICY])
        .write_stdin("{\"action\": ")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(3));
    let d: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(d["outcome"], "block");
    assert!(
        d["input_errors"][0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("malformed JSON")
    );
}

#[test]
fn eval_policy_that_does_not_compile_exits_2() {
    let (code, out, err) = run(&[
        "eval",
        "-p",
        "tests/fixtures/cli/broken",
        "tests/fixtures/cli/refund-large.json",
    ]);
    assert_eq!(code, 2);
    assert!(out.is_empty());
    assert!(err.contains("does not compile"));
}

#[test]
fn eval_jsonl_gives_one_decision_per_line_in_order() {
    let (code, out, _) = run(&[
        "eval",
        "-p",
        POLICY,
        "--jsonl",
        "tests/fixtures/cli/batch.jsonl",
    ]);
    assert_eq!(code, 3, "one line is not JSON");
    let outcomes: Vec<String> = out
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).expect("json line")["outcome"].to_string()
        })
        .collect();
    // Four input lines (the second blank), four answers.
    assert_eq!(
        outcomes,
        ["\"auto\"", "\"block\"", "\"block\"", "\"block\""]
    );
    assert!(
        out.lines()
            .nth(1)
            .unwrap_or("")
            .contains("line 2: the line is blank")
    );
    assert!(out.lines().nth(3).unwrap_or("").contains("line 4"));
}

/// Output line N answers input line N: blank lines (empty, spaces, a lone
/// `\r`) are answered as INVALID_INPUT, never skipped, wherever they are.
#[test]
fn eval_jsonl_answers_every_line_blank_ones_included() {
    let ok = r#"{"action":{"type":"read"},"requester":{"id":"a"}}"#;
    let big = r#"{"action":{"type":"refund","amount":50000},"requester":{"id":"u"}}"#;
    let input = format!("\n{ok}\n  \n\r\n{big}\n\n\t\n{ok}\n");
    let out = gatehouse()
        .args(["eval", "-p", POLICY, "--jsonl"])
        .write_stdin(input.clone())
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(3), "blank lines are invalid input");
    let decisions: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(decisions.len(), input.lines().count());
    for (i, (line, d)) in input.lines().zip(&decisions).enumerate() {
        let number = i + 1;
        if line.trim().is_empty() {
            assert_eq!(d["outcome"], "block", "line {number}");
            assert_eq!(d["reasons"][0]["code"], "INVALID_INPUT", "line {number}");
            let message = d["input_errors"][0]["message"].as_str().unwrap_or("");
            assert_eq!(
                message,
                format!("line {number}: the line is blank (expected one JSON action per line)")
            );
        } else {
            assert_ne!(d["reasons"][0]["code"], "INVALID_INPUT", "line {number}");
        }
    }
}

/// With `--exit-code`, the exit code is the strictest outcome of the whole
/// stream, not the last line's, in every order.
#[test]
fn eval_jsonl_exit_code_is_the_strictest_outcome_of_the_stream() {
    let auto = r#"{"action":{"type":"read"},"requester":{"id":"a"}}"#;
    let refund = r#"{"action":{"type":"refund","amount":50000},"requester":{"id":"u"}}"#;
    let rank = |text: &str| -> i32 {
        let out = gatehouse()
            .args(["eval", "-p", POLICY, "--exit-code", "-"])
            .write_stdin(text.to_owned())
            .output()
            .expect("runs");
        out.status.code().unwrap_or(-1)
    };
    let (low, high) = (rank(auto), rank(refund));
    assert!(low < high, "the fixture needs two outcomes: {low} {high}");
    for lines in [
        vec![refund, auto],
        vec![auto, refund, auto, auto],
        vec![refund],
        vec![auto, auto],
        vec![auto, refund],
    ] {
        let expected = if lines.contains(&refund) { high } else { low };
        let out = gatehouse()
            .args(["eval", "-p", POLICY, "--jsonl", "--exit-code"])
            .write_stdin(lines.join("\n"))
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(expected), "{lines:?}");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).lines().count(),
            lines.len()
        );
    }
}

/// Many lines are decided in parallel batches; every output line is the
/// decision for the input line at the same position, byte for byte what
/// deciding that line alone prints.
#[test]
fn eval_jsonl_keeps_input_order_across_parallel_batches() {
    let lines: Vec<String> = (0..5_000)
        .map(|i| match i % 5 {
            0 => format!(r#"{{"action":{{"type":"refund","amount":{i}}},"requester":{{"id":"u-{i}"}}}}"#),
            1 => r#"{"action":{"type":"read"},"requester":{"id":"a"}}"#.to_owned(),
            2 => format!(r#"{{"action":{{"type":"refund","amount":{}}},"requester":{{"id":"u-{i}"}},"evidence":{{"ticket":"t"}}}}"#, i * 37),
            3 => format!(r#"{{"action":{{"type":"send","amount":"{i}"}}}}"#),
            _ => format!(r#"{{"action":{{"type":"refund","amount":{}}},"requester":{{"id":"v-{i}"}}}}"#, i * 1_000),
        })
        .collect();
    let out = gatehouse()
        .args([
            "eval",
            "-p",
            POLICY,
            "--jsonl",
            "--now",
            "2026-11-22T10:00:00Z",
        ])
        .write_stdin(lines.join("\n"))
        .output()
        .expect("runs");
    let got: Vec<&str> = std::str::from_utf8(&out.stdout)
        .expect("UTF-8")
        .lines()
        .collect();
    assert_eq!(got.len(), lines.len());
    let policy =
        gatehouse::Policy::load(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(POLICY))
            .expect("loads");
    let options = gatehouse::EvalOptions::default()
        .with_now(gatehouse::values::Timestamp::parse("2026-11-22T10:00:00Z"))
        .with_strict(false);
    for (i, (line, printed)) in lines.iter().zip(&got).enumerate() {
        let want = match gatehouse::input::parse(line, gatehouse::input::Syntax::Json) {
            Ok(doc) => policy.evaluate_with(&doc, &options),
            Err(errors) => policy.invalid_input(errors),
        };
        let mut doc = Vec::new();
        gatehouse::eval::write_document(
            &mut doc,
            &gatehouse::eval::DocumentFormat::DECISION,
            &want,
            false,
        )
        .expect("serializes");
        let want = String::from_utf8(doc).expect("UTF-8");
        assert!(want.starts_with(r#"{"format":"gatehouse.decision/1","outcome":"#));
        assert_eq!(*printed, want, "line {}", i + 1);
    }
}

/// A producer that writes one line and waits for its decision gets it: a
/// batch ends when no further line is waiting, and is flushed.
#[test]
fn eval_jsonl_answers_each_line_before_the_next_is_written() {
    use std::io::{BufRead, BufReader, Write};
    use std::process::Stdio;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("GATEHOUSE_POLICY")
        .args(["eval", "-p", POLICY, "--jsonl"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("runs");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    // A watchdog: a missing flush would hang this test instead of failing it.
    let pid = child.id();
    let (done, finished) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if finished
            .recv_timeout(std::time::Duration::from_secs(60))
            .is_err()
        {
            let _ = std::process::Command::new("kill")
                .arg(pid.to_string())
                .status();
        }
    });
    for amount in [5, 50_000, 7] {
        writeln!(
            stdin,
            r#"{{"action":{{"type":"refund","amount":{amount}}},"requester":{{"id":"u"}}}}"#
        )
        .expect("writes");
        stdin.flush().expect("flushes");
        let mut answer = String::new();
        stdout.read_line(&mut answer).expect("reads the decision");
        let d: serde_json::Value = serde_json::from_str(&answer).expect("a decision");
        assert!(d["outcome"].is_string(), "{answer}");
    }
    drop(stdin);
    assert!(child.wait().expect("exits").success());
    let _ = done.send(());
    let _ = watchdog.join();
}

/// A JSON line over the input limit is answered with INVALID_INPUT and
/// skipped without being held whole; the lines after it still decide. A
/// duplicate key, excess depth and a non-UTF-8 line each block.
#[test]
fn eval_jsonl_refuses_oversized_and_malformed_lines_and_goes_on() {
    let ok = r#"{"action":{"type":"read"},"requester":{"id":"a"}}"#;
    let mut stdin = format!(
        r#"{{"action":{{"type":"read","summary":"{}"}}}}"#,
        "x".repeat(17 * 1024 * 1024)
    )
    .into_bytes();
    stdin.push(b'\n');
    for line in [
        ok.as_bytes(),
        br#"{"action":{"type":"read","type":"send"},"requester":{"id":"a"}}"#,
        format!("{}{}", "[".repeat(100), "]".repeat(100)).as_bytes(),
        b"{\"action\": \"\xff\"}",
        ok.as_bytes(),
    ] {
        stdin.extend_from_slice(line);
        stdin.push(b'\n');
    }
    let out = gatehouse()
        .args(["eval", "-p", POLICY, "--jsonl"])
        .write_stdin(stdin)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(3));
    let decisions: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    let outcomes: Vec<&str> = decisions
        .iter()
        .map(|d| d["outcome"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        outcomes,
        ["block", "auto", "block", "block", "block", "auto"]
    );
    let first = decisions[0]["input_errors"][0]["message"]
        .as_str()
        .unwrap_or("");
    assert!(
        first.contains("line 1: input is more than 16777216 bytes"),
        "{first}"
    );
    let dup = decisions[2]["input_errors"][0]["message"]
        .as_str()
        .unwrap_or("");
    assert!(dup.contains("duplicate key"), "{dup}");
}

#[test]
fn eval_exit_code_reflects_the_outcome() {
    let out = gatehouse()
        .args(["eval", "-p", POLICY, "--exit-code"])
        .write_stdin(r#"{"action":{"type":"read"},"requester":{"id":"a"}}"#)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(10));
    let (code, _, _) = run(&[
        "eval",
        "-p",
        POLICY,
        "--exit-code",
        "tests/fixtures/cli/refund-large.json",
    ]);
    assert_eq!(code, 12);
}

#[test]
fn eval_strict_rejects_unknown_fields() {
    let out = gatehouse()
        .args(["eval", "-p", POLICY, "--strict"])
        .write_stdin(r#"{"action":{"type":"read","colour":"red"},"requester":{"id":"a"}}"#)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(3));
    let d: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(d["input_errors"][0]["path"], "$.action.colour");
}

#[test]
fn help_shows_examples_for_every_command() {
    for cmd in [
        vec!["--help"],
        vec!["check", "--help"],
        vec!["eval", "--help"],
    ] {
        let (code, out, _) = run(&cmd);
        assert_eq!(code, 0);
        assert!(out.contains("Examples:"), "{cmd:?}");
    }
    let (code, _, err) = run(&["eval", "--no-such-flag"]);
    assert_eq!(code, 2);
    assert!(err.contains("--no-such-flag"));
}

/// `--now` outside the years 0000 to 9999 (in UTC, after the offset) is
/// refused up front with the reason, before any input is read.
#[test]
fn eval_refuses_a_now_outside_years_0000_to_9999() {
    for now in [
        "+10000-01-01T00:00:00Z",
        "-0001-01-01T00:00:00Z",
        "9999-12-31T23:00:00-02:00",
        "0000-01-01T00:00:00+00:01",
    ] {
        let flag = format!("--now={now}");
        let (code, out, err) = run(&[
            "eval",
            "-p",
            POLICY,
            &flag,
            "tests/fixtures/cli/no-such-input.json",
        ]);
        assert_eq!(code, 2, "{now}: {err}");
        assert!(out.is_empty(), "{now}");
        assert!(
            err.contains("outside the years 0000 to 9999"),
            "{now}: {err}"
        );
    }
    let (code, _, err) = run(&["eval", "-p", POLICY, "--now", "2026-11-22T10:05:60Z", "-"]);
    assert_eq!(code, 2);
    assert!(err.contains("leap second"), "{err}");
}

// ------------------------------------------------ sample N% for review ----

const SAMPLED: &str = "tests/fixtures/sample";
const KEY_HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

fn with_stdin(args: &[&str], stdin: &str) -> (i32, String, String) {
    let out = gatehouse()
        .args(args)
        .write_stdin(stdin)
        .output()
        .expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn eval_explain_says_whether_and_why_an_action_is_sampled() {
    let (code, sampled, _) = with_stdin(
        &["eval", "--policy", SAMPLED, "--explain"],
        r#"{"action": {"type": "tag", "count": 3}}"#,
    );
    assert_eq!(code, 0);
    assert!(
        sampled.contains("sampled for review after the fact (100%, rule tag)"),
        "{sampled}"
    );
    assert!(sampled.contains("SAMPLED_FOR_REVIEW"), "{sampled}");
    let (_, not_sampled, _) = with_stdin(
        &["eval", "--policy", SAMPLED, "--explain"],
        r#"{"action": {"type": "note", "count": 3}}"#,
    );
    assert!(
        not_sampled.contains("not sampled (0.0001%, rule note)"),
        "{not_sampled}"
    );
    insta::assert_snapshot!(
        "eval_explain_sampled",
        format!("{sampled}\n---\n{not_sampled}")
    );
    // a queued action carries no sample at all
    let (_, queued, _) = with_stdin(
        &["eval", "--policy", SAMPLED],
        r#"{"action": {"type": "tag", "count": 3000}}"#,
    );
    let doc: serde_json::Value = serde_json::from_str(&queued).expect("json");
    assert_eq!(doc["outcome"], "queue");
    assert!(doc.get("sample").is_none(), "{queued}");
}

/// The key file changes the draw exactly as the published algorithm says;
/// `--jsonl` (the fast writer) writes the same `sample` as one-action eval.
#[test]
fn eval_sample_key_file_keys_the_draw_in_every_output() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = dir.path().join("sample.key");
    std::fs::write(&key, format!("{KEY_HEX}\n")).expect("write");
    let key = key.to_str().expect("utf-8");
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(KEY_HEX, &mut bytes).expect("hex");
    let lines: Vec<String> = (0..30)
        .map(|i| format!(r#"{{"action": {{"type": "read", "count": {i}}}}}"#))
        .collect();
    let (code, jsonl, _) = with_stdin(
        &[
            "eval",
            "--policy",
            SAMPLED,
            "--jsonl",
            "--sample-key-file",
            key,
        ],
        &lines.join("\n"),
    );
    assert_eq!(code, 0);
    let mut sampled = 0;
    for (line, out) in lines.iter().zip(jsonl.lines()) {
        let fast: serde_json::Value = serde_json::from_str(out).expect("json");
        let (_, one, _) = with_stdin(
            &[
                "eval",
                "--policy",
                SAMPLED,
                "--compact",
                "--sample-key-file",
                key,
            ],
            line,
        );
        let one: serde_json::Value = serde_json::from_str(&one).expect("json");
        assert_eq!(fast, one);
        let digest = one["action_digest"].as_str().expect("digest");
        let expected = gatehouse::eval::sample::sampled(500_000, Some(&bytes), Some(digest));
        assert_eq!(one["sample"]["sampled"], expected, "{line}");
        assert_eq!(one["sample"]["rule"], serde_json::Value::Null);
        assert_eq!(one["sample"]["tier"], 0);
        sampled += usize::from(expected);
    }
    assert!((1..30).contains(&sampled), "{sampled} of 30 sampled at 50%");
}

#[test]
fn eval_and_replay_refuse_a_bad_key_file_without_quoting_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let secret = "5ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e75ec7e7";
    for (name, content) in [
        ("long", secret.to_owned()),
        ("short", KEY_HEX[..40].to_owned()),
        ("two-lines", format!("{KEY_HEX}\n{KEY_HEX}\n")),
        ("not-hex", format!("{}zz", &KEY_HEX[..62])),
        ("empty", String::new()),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, &content).expect("write");
        let path = path.to_str().expect("utf-8");
        for args in [
            vec!["eval", "--policy", SAMPLED, "--sample-key-file", path, "-"],
            vec![
                "replay",
                "-",
                "--policy",
                SAMPLED,
                "--sample-key-file",
                path,
            ],
        ] {
            let (code, out, err) = with_stdin(&args, "{}");
            assert_eq!(code, 2, "{name}: {err}");
            assert!(out.is_empty(), "{name}: {out}");
            assert!(err.contains("64 hex digits"), "{name}: {err}");
            assert!(
                !err.contains("5ec7e7") && !err.contains(&KEY_HEX[..20]),
                "{name}: {err}"
            );
        }
    }
    let (code, _, err) = run(&[
        "eval",
        "--policy",
        SAMPLED,
        "--sample-key-file",
        "/nonexistent/key",
    ]);
    assert_eq!(code, 2, "{err}");
}

/// Records decided with a key replay identically with it; without it,
/// every record whose draw differs is reported.
#[test]
fn replay_with_the_sample_key_reproduces_sampled_records() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = dir.path().join("sample.key");
    std::fs::write(&key, KEY_HEX).expect("write");
    let key = key.to_str().expect("utf-8");
    let log = dir.path().join("audit.jsonl");
    let log = log.to_str().expect("utf-8");
    let lines: Vec<String> = (0..30)
        .map(|i| format!(r#"{{"action": {{"type": "read", "count": {i}}}}}"#))
        .collect();
    let (code, _, err) = with_stdin(
        &[
            "eval",
            "--policy",
            SAMPLED,
            "--jsonl",
            "--sample-key-file",
            key,
            "--audit-log",
            log,
        ],
        &lines.join("\n"),
    );
    assert_eq!(code, 0, "{err}");
    let (code, out, _) = run(&["replay", log, "--policy", SAMPLED, "--sample-key-file", key]);
    assert_eq!(code, 0, "{out}");
    let (code, out, _) = run(&["replay", log, "--policy", SAMPLED]);
    assert_eq!(
        code, 1,
        "some of 30 draws at 50% differ without the key:\n{out}"
    );
}

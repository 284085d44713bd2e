//! `-` reads standard input wherever a command reads a file, and the same
//! situation gives the same exit code in every command, through the real
//! binary.

mod conventions_common;

use conventions_common::*;
use serde_json::Value;

// 3. `-` reads standard input

#[test]
fn fmt_dash_formats_stdin_to_stdout() {
    let file = "tests/fixtures/fmt/messy_layout.gate";
    let messy = std::fs::read(file).expect("fixture");
    let r = run_with(&["fmt", "-"], Some(&messy), &[]);
    assert_eq!(r.code, 0, "{}", r.err);
    assert_ne!(r.out.as_bytes(), messy.as_slice(), "formatted");
    // canonical output is a fixed point, and `--check -` says so
    let again = run_with(&["fmt", "-"], Some(r.out.as_bytes()), &[]);
    assert_eq!(again.out, r.out);
    let ok = run_with(&["fmt", "--check", "-"], Some(r.out.as_bytes()), &[]);
    assert_eq!((ok.code, ok.out.as_str()), (0, ""));
    let check = run_with(&["fmt", "--check", "-"], Some(&messy), &[]);
    assert_eq!(check.code, 1);
    assert!(
        check.out.contains("<stdin>"),
        "the diff names stdin: {}",
        check.out
    );
    // the file itself is untouched by any of this
    assert_eq!(std::fs::read(file).expect("fixture"), messy);

    let broken = run_with(&["fmt", "-"], Some(b"policy \"p\" version\n"), &[]);
    assert_eq!(broken.code, 2);
    assert_eq!(broken.out, "", "nothing an editor would take as the text");
    assert!(broken.err.contains("<stdin>"), "{}", broken.err);
    assert_eq!(
        run_with(&["fmt", "-", file], None, &[]).code,
        2,
        "`-` alone"
    );
}

#[test]
fn check_dash_checks_one_policy_file_from_stdin() {
    let text = std::fs::read_to_string(format!("{POLICY}/main.gate")).expect("fixture")
        + &std::fs::read_to_string(format!("{POLICY}/rules.gate")).expect("fixture");
    let ok = run_with(&["check", "-"], Some(text.as_bytes()), &[]);
    assert_eq!(ok.code, 0, "{}{}", ok.out, ok.err);
    assert!(ok.out.contains("ok: <stdin>"), "{}", ok.out);
    let broken = run_with(
        &["check", "-", "--format", "json"],
        Some(text.replace("then tier 3", "then tier 9").as_bytes()),
        &[],
    );
    assert_eq!(broken.code, 1);
    let doc: Value = serde_json::from_str(&broken.out).expect("json");
    assert_eq!(doc["sets"][0]["diagnostics"][0]["file"], "<stdin>");
}

#[test]
fn eval_and_verify_read_stdin_for_dash() {
    let action = std::fs::read(ACTION).expect("fixture");
    let from_file = run(&["eval", "-p", POLICY, "--now", NOW, ACTION]);
    let from_stdin = run_with(
        &["eval", "-p", POLICY, "--now", NOW, "-"],
        Some(&action),
        &[],
    );
    assert_eq!(
        (from_stdin.code, &from_stdin.out),
        (from_file.code, &from_file.out)
    );
    let decision: Value = serde_json::from_str(&from_file.out).expect("json");
    let digest = decision["action_digest"].as_str().expect("digest");

    let dir = temp_dir("verify");
    let approvals = format!(
        "- approver: alice\n  roles: [support_lead]\n  decision: approve\n  reason: ok\n  action_digest: \"{digest}\"\n  given_at: \"{NOW}\"\n"
    );
    let file = dir.join("approvals.yaml");
    std::fs::write(&file, &approvals).expect("write");
    let base = [
        "verify",
        "-p",
        POLICY,
        "--allow-unsigned",
        "--now",
        NOW,
        "--requested-at",
        NOW,
    ];
    let by_files = run(&[&base[..], &["--input", ACTION, "--approvals", s(&file)]].concat());
    assert!(by_files.out.contains("\"verdict\""), "{}", by_files.err);
    let input_stdin = run_with(
        &[&base[..], &["--input", "-", "--approvals", s(&file)]].concat(),
        Some(&action),
        &[],
    );
    assert_eq!(
        (input_stdin.code, &input_stdin.out),
        (by_files.code, &by_files.out)
    );
    let approvals_stdin = run_with(
        &[&base[..], &["--input", ACTION, "--approvals", "-"]].concat(),
        Some(approvals.as_bytes()),
        &[],
    );
    assert_eq!(
        (approvals_stdin.code, &approvals_stdin.out),
        (by_files.code, &by_files.out)
    );
    let both = run(&[&base[..], &["--input", "-", "--approvals", "-"]].concat());
    assert_eq!(both.code, 2, "stdin can be read once");
    let bad = run_with(
        &[&base[..], &["--input", "-", "--approvals", s(&file)]].concat(),
        Some(b"{not json"),
        &[],
    );
    assert_eq!(bad.code, 3);
    assert!(bad.err.contains("<stdin>"), "{}", bad.err);
}

#[test]
fn approve_reads_stdin_for_dash() {
    let dir = temp_dir("approve");
    let key = dir.join("alice.key");
    assert_eq!(run(&["keygen", "--out", s(&key)]).code, 0);
    let base = [
        "approve",
        "--key",
        s(&key),
        "--approver",
        "alice",
        "-p",
        POLICY,
        "--decision",
        "approve",
        "--reason",
        "ok",
        "--now",
        NOW,
    ];
    let from_file = run(&[&base[..], &["--input", ACTION]].concat());
    assert_eq!(from_file.code, 0, "{}", from_file.err);
    let action = std::fs::read(ACTION).expect("fixture");
    let from_stdin = run_with(&[&base[..], &["--input", "-"]].concat(), Some(&action), &[]);
    assert_eq!((from_stdin.code, &from_stdin.out), (0, &from_file.out));
    let twice = run(&[&base[..], &["--input", "-", "--input", "-"]].concat());
    assert_eq!(twice.code, 2);
}

#[test]
fn replay_and_audit_read_the_log_from_stdin() {
    let dir = temp_dir("audit");
    let log = dir.join("audit.jsonl");
    let r = run(&[
        "eval",
        "-p",
        POLICY,
        "--now",
        NOW,
        "--audit-log",
        s(&log),
        ACTION,
    ]);
    assert_eq!(r.code, 0, "{}", r.err);
    let text = std::fs::read(&log).expect("log");

    let replay_file = run(&["replay", s(&log), "-p", POLICY, "--format", "json"]);
    let replay_stdin = run_with(
        &["replay", "-", "-p", POLICY, "--format", "json"],
        Some(&text),
        &[],
    );
    assert_eq!(replay_file.code, 0, "{}", replay_file.err);
    assert_eq!(
        (replay_stdin.code, &replay_stdin.out),
        (0, &replay_file.out)
    );

    let verify_file = run(&["audit", "verify", s(&log), "--format", "json"]);
    let verify_stdin = run_with(
        &["audit", "verify", "-", "--format", "json"],
        Some(&text),
        &[],
    );
    assert_eq!(
        (verify_stdin.code, &verify_stdin.out),
        (0, &verify_file.out)
    );
    let human = run_with(&["audit", "verify", "-"], Some(&text), &[]);
    assert!(human.out.contains("`<stdin>`"), "{}", human.out);

    let checkpoint = run(&["audit", "checkpoint", s(&log)]);
    let checkpoint_stdin = run_with(&["audit", "checkpoint", "-"], Some(&text), &[]);
    assert_eq!(
        (checkpoint_stdin.code, &checkpoint_stdin.out),
        (0, &checkpoint.out)
    );
    let with_checkpoint = run_with(
        &["audit", "verify", s(&log), "--checkpoint", "-"],
        Some(checkpoint.out.as_bytes()),
        &[],
    );
    assert_eq!(with_checkpoint.code, 0, "{}", with_checkpoint.err);
    assert_eq!(run(&["audit", "verify", "-", "--checkpoint", "-"]).code, 2);
}

// 4. One exit code per situation

#[test]
fn a_missing_file_gives_the_same_code_in_every_command() {
    let dir = temp_dir("missing");
    let missing = dir.join("no-such-file");
    let m = s(&missing);
    let key = dir.join("k.key");
    assert_eq!(run(&["keygen", "--out", s(&key)]).code, 0);
    let missing_out_key = format!("{m}/k.key");
    let missing_out_doc = format!("{m}/doc.md");
    // policies, suites, keys: 2 (the command cannot run); data judged: 3
    let cases: Vec<(Vec<&str>, i32)> = vec![
        (vec!["check", m], 2),
        (vec!["test", m], 2),
        (vec!["fmt", m], 2),
        (vec!["doc", m], 2),
        (vec!["eval", "-p", m, ACTION], 2),
        (vec!["eval", "-p", POLICY, m], 3),
        (vec!["eval", "-p", POLICY, "--jsonl", m], 3),
        (
            vec!["verify", "-p", POLICY, "--input", m, "--approvals", ACTION],
            3,
        ),
        (
            vec!["verify", "-p", POLICY, "--input", ACTION, "--approvals", m],
            3,
        ),
        (
            vec![
                "approve",
                "--key",
                s(&key),
                "--approver",
                "a",
                "-p",
                POLICY,
                "--input",
                m,
                "--decision",
                "approve",
            ],
            3,
        ),
        (
            vec![
                "approve",
                "--key",
                m,
                "--approver",
                "a",
                "-p",
                POLICY,
                "--input",
                ACTION,
                "--decision",
                "approve",
            ],
            2,
        ),
        (vec!["diff", POLICY, POLICY, "--inputs", m], 3),
        (vec!["diff", m, POLICY, "--inputs", ACTION], 2),
        (vec!["replay", m, "-p", POLICY], 3),
        (vec!["audit", "verify", m], 3),
        (vec!["audit", "checkpoint", m], 3),
        (vec!["explain", "L9999"], 2),
        // files named to be written: the same as files named to be read
        (vec!["keygen", "--out", &missing_out_key], 2),
        (vec!["doc", POLICY, "--output", &missing_out_doc], 2),
    ];
    for (args, code) in cases {
        let r = run(&args);
        assert_eq!(r.code, code, "{args:?}: {}", r.err);
        assert!(
            r.err.contains("error") || r.out.contains("E0001") || r.err.contains("E0001"),
            "{args:?} says why: {}{}",
            r.out,
            r.err
        );
    }
}

#[test]
fn a_policy_that_does_not_compile_gives_the_same_code_in_every_command() {
    let dir = temp_dir("broken");
    let log = dir.join("audit.jsonl");
    assert_eq!(
        run(&["eval", "-p", POLICY, "--audit-log", s(&log), ACTION]).code,
        0
    );
    let key = dir.join("k.key");
    assert_eq!(run(&["keygen", "--out", s(&key)]).code, 0);
    // one set with type errors, one that does not even parse
    let syntax = dir.join("syntax");
    std::fs::create_dir_all(&syntax).expect("dir");
    std::fs::write(syntax.join("main.gate"), "policy \"p\" version\n").expect("write");
    for broken in [BROKEN, s(&syntax)] {
        let cases: Vec<Vec<&str>> = vec![
            vec!["eval", "-p", broken, ACTION],
            vec![
                "verify",
                "-p",
                broken,
                "--input",
                ACTION,
                "--approvals",
                ACTION,
            ],
            vec![
                "approve",
                "--key",
                s(&key),
                "--approver",
                "a",
                "-p",
                broken,
                "--input",
                ACTION,
                "--decision",
                "approve",
            ],
            vec!["test", broken],
            vec!["doc", broken],
            vec!["diff", broken, POLICY, "--inputs", ACTION],
            vec!["replay", s(&log), "-p", broken],
        ];
        for args in cases {
            let r = run(&args);
            assert_eq!(r.code, 2, "{args:?}: {}", r.err);
        }
        // `check` reports a policy that does not compile as its finding
        assert_eq!(run(&["check", broken]).code, 1);
    }
    // `fmt` only parses (and must never rewrite the fixture above)
    assert_eq!(run(&["fmt", s(&syntax)]).code, 2);
    assert_eq!(run(&["fmt", "--check", s(&syntax)]).code, 2);
}

/// Standard output that cannot be written (a full disk: `/dev/full`) is
/// the same code in every command, and never a silent 0.
#[cfg(target_os = "linux")]
#[test]
fn unwritable_stdout_exits_101() {
    let cases: [&[&str]; 5] = [
        &["rules"],
        &["eval", "-p", POLICY, ACTION],
        &[
            "eval",
            "-p",
            POLICY,
            "--jsonl",
            "tests/fixtures/cli/batch.jsonl",
        ],
        &["doc", POLICY],
        &["completions", "bash"],
    ];
    for args in cases {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .expect("/dev/full exists on Linux");
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_gatehouse"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env_remove("GATEHOUSE_POLICY")
            .args(args)
            .stdout(full)
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(101), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("cannot write"),
            "{args:?}"
        );
    }
}

#[test]
fn usage_errors_exit_2_and_help_exits_0() {
    assert_eq!(run(&["eval", "--no-such-flag"]).code, 2);
    assert_eq!(run(&["no-such-command"]).code, 2);
    assert_eq!(run(&["--help"]).code, 0);
    assert_eq!(run(&["--version"]).code, 0);
}

//! Findings of the adversarial review of the merged CLI (2026-12-05), each
//! through the real binary: a test run that tests nothing, `-` named twice,
//! and agent text that tries to write its own lines into `--explain`.

mod conventions_common;

use conventions_common::*;

#[test]
fn a_test_run_that_finds_no_policy_set_fails_in_every_format() {
    let dir = temp_dir("empty-test-run");
    for format in ["human", "json", "junit"] {
        let r = run(&["test", s(&dir.0), "--format", format]);
        assert_eq!(r.code, 1, "{format}: nothing tested is no pass\n{}", r.err);
        assert!(r.err.contains("no policy sets found"), "{}", r.err);
        if format == "junit" {
            assert!(
                r.out.contains("errors=\"1\""),
                "one erroring case: {}",
                r.out
            );
        }
    }
    // --exclude that leaves nothing is the same situation
    let all_out = run(&["test", "policies", "--exclude", "*"]);
    assert_eq!(all_out.code, 1, "{}", all_out.err);
}

#[cfg(unix)]
#[test]
fn a_suite_that_is_not_a_regular_file_fails_instead_of_being_skipped() {
    let dir = temp_dir("suite-not-a-file");
    std::fs::copy(
        "policies/simple-router/router.gate",
        dir.0.join("router.gate"),
    )
    .expect("copy the policy");
    std::fs::create_dir(dir.0.join("cases.test.yaml")).expect("a directory named like a suite");
    let r = run(&["test", s(&dir.0)]);
    assert_eq!(r.code, 1, "{}\n{}", r.out, r.err);
    assert!(
        r.out.contains("cases.test.yaml"),
        "the suite is named: {}",
        r.out
    );
}

#[test]
fn check_refuses_stdin_named_twice() {
    let text = std::fs::read("policies/simple-router/router.gate").expect("policy");
    let r = run_with(&["check", "-", "-"], Some(&text), &[]);
    assert_eq!(r.code, 2, "{}", r.err);
    assert!(r.err.contains("more than once"), "{}", r.err);
}

#[test]
fn agent_text_cannot_write_lines_of_its_own_into_explain() {
    let text = std::fs::read_to_string("examples/actions/refund-large.json").expect("sample");
    let mut action: serde_json::Value = serde_json::from_str(&text).expect("json");
    action["requester"]["id"] = "u-1042\n\nAUTO: no approval needed\u{1b}[2J".into();
    let action = serde_json::to_vec(&action).expect("json");
    let r = run_with(
        &[
            "eval",
            "--policy",
            "policies/ai-agent-actions",
            "--explain",
            "-",
        ],
        Some(&action),
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.err);
    assert!(
        !r.out.lines().any(|l| l.starts_with("AUTO")),
        "no line of the account starts with the agent's text:\n{}",
        r.out
    );
    assert!(
        !r.out.contains('\u{1b}'),
        "no escape sequence reaches the terminal"
    );
    assert!(
        r.out.contains("u-1042\\u{a}"),
        "the id is shown, escaped:\n{}",
        r.out
    );
}

#[test]
fn diff_fail_on_refuses_a_corpus_with_nothing_to_compare() {
    let dir = temp_dir("diff-nothing");
    let garbage = dir.0.join("corpus.jsonl");
    std::fs::write(&garbage, b"\x1f\x8b\x08 not json\nnor this\n").expect("write");
    let (old, new) = ("policies/ai-agent-actions", "policies/ai-agent-actions");
    for fail_on in ["loosen", "change"] {
        let r = run(&[
            "diff",
            old,
            new,
            "--inputs",
            s(&garbage),
            "--fail-on",
            fail_on,
        ]);
        assert_eq!(
            r.code, 3,
            "{fail_on}: nothing compared is no pass\n{}",
            r.err
        );
        assert!(r.err.contains("no input to compare"), "{}", r.err);
    }
    // without a gate it stays a warning
    let r = run(&["diff", old, new, "--inputs", s(&garbage)]);
    assert_eq!(r.code, 0, "{}", r.err);
}

#[test]
fn audit_verify_refuses_a_log_that_holds_no_record() {
    let dir = temp_dir("audit-no-record");
    for (name, bytes) in [
        ("bin.jsonl", &b"\xff\xfe\n"[..]),
        ("obj.jsonl", &b"{}\n"[..]),
    ] {
        let log = dir.0.join(name);
        std::fs::write(&log, bytes).expect("write");
        let r = run(&["audit", "verify", s(&log)]);
        assert_eq!(
            r.code, 1,
            "{name}: junk is no intact log\n{}{}",
            r.out, r.err
        );
        assert!(r.err.contains("holds no audit record"), "{}", r.err);
    }
    // an empty log is still an intact, empty one
    let empty = dir.0.join("empty.jsonl");
    std::fs::write(&empty, b"").expect("write");
    assert_eq!(run(&["audit", "verify", s(&empty)]).code, 0);
}

#[test]
fn an_empty_approvals_file_is_no_approval_yet() {
    let dir = temp_dir("empty-approvals");
    let approvals = dir.0.join("approvals.yaml");
    std::fs::write(&approvals, b"").expect("write");
    let r = run(&[
        "verify",
        "--policy",
        "policies/ai-agent-actions",
        "--input",
        "examples/actions/refund-large.json",
        "--approvals",
        s(&approvals),
        "--allow-unsigned",
        "--now",
        "2026-11-22T10:00:00Z",
    ]);
    // pending (exit 1): nothing approved yet, never an unreadable-input error
    assert_eq!(r.code, 1, "{}{}", r.out, r.err);
    assert!(r.out.contains("\"pending\""), "{}", r.out);
}

#[cfg(unix)]
#[test]
fn a_gatehouse_toml_that_is_not_a_file_is_an_error_never_skipped_or_waited_on() {
    let dir = temp_dir("config-not-a-file");
    let set = dir.0.join("set");
    std::fs::create_dir_all(&set).expect("mkdir");
    std::fs::copy(
        "policies/simple-router/router.gate",
        set.join("router.gate"),
    )
    .expect("copy");
    // a directory named gatehouse.toml next to the set
    std::fs::create_dir(set.join("gatehouse.toml")).expect("mkdir");
    let r = run(&["check", s(&set)]);
    assert_eq!(r.code, 2, "{}{}", r.out, r.err);
    assert!(
        format!("{}{}", r.out, r.err).contains("E0006"),
        "{}{}",
        r.out,
        r.err
    );
    // --config naming a FIFO: refused at once, no writer awaited
    let fifo = dir.0.join("fifo.toml");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(made.success());
    std::fs::remove_dir(set.join("gatehouse.toml")).expect("rmdir");
    let r = run(&["check", "--config", s(&fifo), s(&set)]);
    assert_eq!(r.code, 2, "{}{}", r.out, r.err);
    assert!(
        format!("{}{}", r.out, r.err).contains("E0006"),
        "{}{}",
        r.out,
        r.err
    );
}

#[test]
fn man_into_a_directory_that_cannot_be_written_is_exit_2() {
    let dir = temp_dir("man-out");
    let not_a_dir = dir.0.join("file");
    std::fs::write(&not_a_dir, b"x").expect("write");
    let r = run(&["man", "--out-dir", s(&not_a_dir.join("sub"))]);
    assert_eq!(r.code, 2, "{}", r.err);
    let ok = run(&["man", "--out-dir", s(&dir.0)]);
    assert_eq!(ok.code, 0, "{}", ok.err);
    assert!(dir.0.join("gatehouse.1").is_file());
}

#[test]
fn check_checks_one_set_once_however_it_is_named() {
    let r = run(&[
        "check",
        "policies/simple-router",
        "./policies/simple-router",
        "policies/../policies/simple-router",
    ]);
    assert_eq!(r.code, 0, "{}", r.err);
    assert!(r.out.contains("checked 1 policy set"), "{}", r.out);
}

#[test]
fn explain_is_for_one_action_not_a_jsonl_stream() {
    let r = run_with(&["eval", "--jsonl", "--explain", "-"], Some(b"{}\n"), &[]);
    assert_eq!(r.code, 2, "a usage error: {}", r.err);
}

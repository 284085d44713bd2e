//! The command line's conventions, through the real binary: completions and
//! man pages, `--color` and the colour environment variables, `-` for
//! standard input, one exit code per situation, help examples never
//! wrapped, counterexamples never cut, E0104's list of sets, `--explain`,
//! an unreadable input answered with a decision, `test --run`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use assert_cmd::Command;
use clap::CommandFactory;
use gatehouse::cli::Cli;
use serde_json::Value;

const POLICY: &str = "tests/fixtures/cli/refunds";
const BROKEN: &str = "tests/fixtures/cli/broken";
const ACTION: &str = "tests/fixtures/cli/refund-large.json";
const NOW: &str = "2026-11-22T09:00:00Z";

/// The binary, run from the crate root, with no colour or policy variable
/// inherited from the environment of the test run.
fn gatehouse() -> Command {
    let mut cmd = Command::cargo_bin("gatehouse").expect("binary");
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("GATEHOUSE_POLICY")
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("COLUMNS");
    cmd
}

struct Run {
    code: i32,
    out: String,
    err: String,
}

fn run_with(args: &[&str], stdin: Option<&[u8]>, env: &[(&str, &str)]) -> Run {
    let mut cmd = gatehouse();
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.write_stdin(stdin.unwrap_or_default().to_vec());
    let out = cmd.output().expect("runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        out: String::from_utf8_lossy(&out.stdout).into_owned(),
        err: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn run(args: &[&str]) -> Run {
    run_with(args, None, &[])
}

/// A fresh directory under the system's temporary directory, removed when
/// dropped.
struct Scratch(PathBuf);

impl std::ops::Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn temp_dir(name: &str) -> Scratch {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "gatehouse-conventions-{}-{}-{name}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    Scratch(dir)
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Every command of the tree with its path of names: `[]`, `["eval"]`,
/// `["audit", "verify"]`, ...
fn commands() -> Vec<(Vec<String>, clap::Command)> {
    fn walk(cmd: &clap::Command, path: Vec<String>, out: &mut Vec<(Vec<String>, clap::Command)>) {
        out.push((path.clone(), cmd.clone()));
        for sub in cmd.get_subcommands() {
            let mut p = path.clone();
            p.push(sub.get_name().to_owned());
            walk(sub, p, out);
        }
    }
    let mut out = Vec::new();
    let mut root = Cli::command();
    root.build();
    walk(&root, Vec::new(), &mut out);
    out.retain(|(path, _)| !path.iter().any(|n| n == "help"));
    out
}

// 1. Completions and man pages

#[test]
fn completions_for_every_shell_and_bash_names_every_subcommand() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let r = run(&["completions", shell]);
        assert_eq!(r.code, 0, "{shell}: {}", r.err);
        assert!(r.out.contains("gatehouse"), "{shell}");
    }
    let bash = run(&["completions", "bash"]).out;
    for (path, _) in commands().iter().filter(|(p, _)| !p.is_empty()) {
        let name = path.last().expect("a name");
        assert!(
            bash.contains(name.as_str()),
            "bash completion lacks `{name}`"
        );
    }
    assert!(bash.contains("--color"), "global flags complete too");
    assert_eq!(run(&["completions", "tcsh"]).code, 2, "an unknown shell");
}

#[test]
fn the_man_page_names_every_subcommand_and_flag() {
    let r = run(&["man"]);
    assert_eq!(r.code, 0, "{}", r.err);
    // roff escapes `-` as `\-`
    let page = r.out.replace("\\-", "-");
    for (path, cmd) in commands() {
        let title = std::iter::once("gatehouse".to_owned())
            .chain(path.iter().cloned())
            .collect::<Vec<_>>()
            .join("-");
        assert!(
            page.contains(&format!(".TH {title} ")),
            "no page for {title}"
        );
        for arg in cmd.get_arguments() {
            if let Some(long) = arg.get_long() {
                assert!(page.contains(&format!("--{long}")), "{title}: --{long}");
            }
        }
    }
    let dir = temp_dir("man");
    let r = run(&["man", "--out-dir", s(&dir)]);
    assert_eq!(r.code, 0, "{}", r.err);
    for name in [
        "gatehouse.1",
        "gatehouse-eval.1",
        "gatehouse-audit-verify.1",
    ] {
        assert!(dir.join(name).is_file(), "{name}");
    }
}

// 2. --color, NO_COLOR, CLICOLOR_FORCE

const ESC: &str = "\u{1b}[";

#[test]
fn color_precedence_flag_then_no_color_then_clicolor_force_then_terminal() {
    // stdout is a pipe here: `auto` alone never colors
    for flag in [None, Some("auto"), Some("always"), Some("never")] {
        for no_color in [None, Some(""), Some("1")] {
            for force in [None, Some(""), Some("0"), Some("1")] {
                let mut args = vec!["check", BROKEN];
                if let Some(f) = flag {
                    args.extend(["--color", f]);
                }
                let mut env = Vec::new();
                if let Some(v) = no_color {
                    env.push(("NO_COLOR", v));
                }
                if let Some(v) = force {
                    env.push(("CLICOLOR_FORCE", v));
                }
                let expected = match flag {
                    Some("always") => true,
                    Some("never") => false,
                    _ if no_color.is_some_and(|v| !v.is_empty()) => false,
                    _ => force == Some("1"),
                };
                let r = run_with(&args, None, &env);
                assert_eq!(r.code, 1);
                assert_eq!(
                    r.out.contains(ESC),
                    expected,
                    "--color {flag:?} NO_COLOR={no_color:?} CLICOLOR_FORCE={force:?}"
                );
            }
        }
    }
}

#[test]
fn color_applies_to_diagnostics_lints_diffs_and_test_reports() {
    let cases: [&[&str]; 4] = [
        &["check", BROKEN],
        &["check", "tests/fixtures/lint/formats"],
        &["fmt", "--check", "tests/fixtures/fmt/messy_layout.gate"],
        &["test", BROKEN],
    ];
    for args in cases {
        let plain = run_with(args, None, &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]);
        assert!(!plain.out.contains(ESC), "{args:?}: NO_COLOR wins");
        assert!(!plain.out.is_empty(), "{args:?}");
        let never = run(&[args, &["--color", "never"]].concat());
        assert!(!never.out.contains(ESC), "{args:?}");
        let always = run(&[args, &["--color", "always"]].concat());
        assert!(always.out.contains(ESC), "{args:?}: {}", always.out);
        let forced = run_with(args, None, &[("CLICOLOR_FORCE", "1")]);
        assert!(forced.out.contains(ESC), "{args:?}");
        assert_eq!(always.code, never.code, "{args:?}");
    }
    assert_eq!(run(&["rules", "--color", "sometimes"]).code, 2);
}

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

// 5. Help examples never wrapped

#[test]
fn help_examples_are_whole_at_any_width() {
    for columns in ["40", "20"] {
        for (path, cmd) in commands() {
            let Some(after) = cmd.get_after_help().map(ToString::to_string) else {
                continue;
            };
            let args: Vec<&str> = path.iter().map(String::as_str).chain(["--help"]).collect();
            let r = run_with(&args, None, &[("COLUMNS", columns)]);
            assert_eq!(r.code, 0, "{args:?}");
            let lines: Vec<&str> = r.out.lines().map(str::trim_end).collect();
            let examples: Vec<&str> = after.lines().filter(|l| l.starts_with(' ')).collect();
            assert!(!examples.is_empty(), "{args:?} has examples");
            for example in examples {
                assert!(
                    lines.contains(&example.trim_end()),
                    "{args:?} at {columns} columns: `{example}` is not whole in\n{}",
                    r.out
                );
            }
            // the prose is still all there, wrapped at spaces
            let words = |t: &str| t.split_whitespace().map(str::to_owned).collect::<Vec<_>>();
            let out_words = words(&r.out).join(" ");
            assert!(out_words.contains(&words(&after).join(" ")), "{args:?}");
        }
    }
}

// 6. Counterexamples never cut

#[test]
fn a_long_counterexample_is_printed_on_one_line() {
    let dir = temp_dir("counterexample");
    let policy = r#"policy "p" version "1" combine strictest
schema {
  action.type: enum { read, send, refund }
  action.amount_in_the_currency_of_the_original_order: number?
  action.scope_of_the_operation_requested: enum { internal-to-the-organisation, external }
  requester.identifier_of_the_requesting_agent: string
}
role lead
reason R "r"
tier 0 "none" { outcome auto }
tier 2 "review" { outcome explicit  approve lead  timeout 24h then reject }
rule internal when action.scope_of_the_operation_requested == internal-to-the-organisation then tier 0 because R
default tier 2 because R
"#;
    std::fs::write(dir.join("p.gate"), policy).expect("write");
    let json = run(&["check", s(&dir), "--format", "json"]);
    let doc: Value = serde_json::from_str(&json.out).expect("json");
    let examples: Vec<String> = doc["sets"][0]["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .filter_map(|d| d.get("example").filter(|e| !e.is_null()))
        .map(|e| serde_json::to_string(e).expect("compact"))
        .collect();
    assert!(
        examples.iter().any(|e| e.len() > 100),
        "a long one: {examples:?}"
    );
    let human = run(&["check", s(&dir), "--color", "never"]);
    for example in &examples {
        assert!(
            human.out.lines().any(|l| l.contains(example.as_str())),
            "`{example}` is cut in\n{}",
            human.out
        );
    }
}

// 7. E0104 lists policy sets, not build directories

#[test]
fn e0104_never_lists_build_or_hidden_directories() {
    let root = temp_dir("e0104");
    let gate = std::fs::read_to_string(format!("{POLICY}/main.gate")).expect("fixture")
        + &std::fs::read_to_string(format!("{POLICY}/rules.gate")).expect("fixture");
    for sub in [
        "sets/refunds",
        "target/package/x",
        "node_modules/y",
        ".git/z",
        "cache/w",
    ] {
        std::fs::create_dir_all(root.join(sub)).expect("dir");
        std::fs::write(root.join(sub).join("main.gate"), &gate).expect("write");
    }
    std::fs::write(
        root.join("cache/CACHEDIR.TAG"),
        "Signature: 8a477f597d28d172789f06886806bc55",
    )
    .expect("write");
    let r = run(&["eval", "-p", s(&root), ACTION]);
    assert_eq!(r.code, 2);
    assert!(r.out.is_empty() || !r.out.contains("outcome"));
    let err = r.err.replace(['\n', '│', ' '], "");
    assert!(err.contains("E0104"), "{}", r.err);
    assert!(err.contains("sets/refunds"), "{}", r.err);
    for build in ["target", "node_modules", ".git", "cache"] {
        assert!(
            !err.contains(&format!("/{build}/")),
            "{build} listed: {}",
            r.err
        );
    }
    let check = run(&["check", s(&root)]);
    assert!(check.out.contains("checked 1 policy set"), "{}", check.out);
}

// 8. --explain prints each input error once

#[test]
fn explain_prints_each_input_error_once() {
    let r = run_with(
        &["eval", "-p", POLICY, "--explain", "-"],
        Some(br#"{"action": {"type": "refund", "amount": "lots"}}"#),
        &[],
    );
    assert_eq!(r.code, 3);
    for needle in ["$.requester.id", "$.action.amount"] {
        let lines = r.out.lines().filter(|l| l.contains(needle)).count();
        assert_eq!(lines, 1, "`{needle}` in\n{}", r.out);
    }
    assert!(r.out.contains("INVALID_INPUT"));
}

// 9. A missing input gets a block/INVALID_INPUT decision

#[test]
fn an_unreadable_input_is_answered_block_invalid_input_in_every_format() {
    let missing = "tests/fixtures/cli/no-such-action.json";
    let formats: [&[&str]; 4] = [&[], &["--compact"], &["--jsonl"], &["--exit-code"]];
    for extra in formats {
        let r = run(&[&["eval", "-p", POLICY, missing], extra].concat());
        assert_eq!(r.code, 3, "{extra:?}");
        let first = r.out.lines().collect::<Vec<_>>().join("\n");
        let d: Value = serde_json::from_str(&first).expect("one decision");
        assert_eq!(d["outcome"], "block", "{extra:?}");
        assert_eq!(d["reasons"][0]["code"], "INVALID_INPUT");
        let detail = d["input_errors"][0]["message"].as_str().expect("detail");
        assert!(
            detail.contains(missing) && detail.contains("os error"),
            "{detail}"
        );
        assert!(r.err.contains(missing), "stderr says so too");
    }
    let explain = run(&["eval", "-p", POLICY, "--explain", missing]);
    assert_eq!(explain.code, 3);
    assert!(explain.out.starts_with("BLOCK"), "{}", explain.out);
    assert!(explain.out.contains("INVALID_INPUT") && explain.out.contains(missing));
    // a directory given as a --jsonl source fails while reading: the same
    let dir = run(&["eval", "-p", POLICY, "--jsonl", "tests/fixtures"]);
    assert_eq!(dir.code, 3);
    let d: Value = serde_json::from_str(dir.out.trim()).expect("one decision");
    assert_eq!(d["outcome"], "block");
}

// 10. test --run PATTERN

fn case_names(json: &str) -> Vec<String> {
    let doc: Value = serde_json::from_str(json).expect("json");
    let mut names = Vec::new();
    for set in doc["sets"].as_array().expect("sets") {
        for suite in set["suites"].as_array().expect("suites") {
            for case in suite["cases"].as_array().expect("cases") {
                names.push(case["name"].as_str().expect("name").to_owned());
            }
        }
    }
    names
}

#[test]
fn test_run_keeps_only_the_matching_cases() {
    let suite = "tests/fixtures/testing/mixed/cases.test.yaml";
    let all = run(&["test", suite, "--format", "json"]);
    assert_eq!(all.code, 1, "the suite has failures");
    let total = case_names(&all.out).len();

    let one = run(&["test", suite, "--format", "json", "--run", "small refund"]);
    assert_eq!(one.code, 0, "only the passing case runs: {}", one.err);
    assert_eq!(case_names(&one.out), ["a small refund runs on its own"]);
    assert!(
        one.err
            .contains(&format!("1 case run, {} filtered out", total - 1)),
        "{}",
        one.err
    );

    let regex = run(&[
        "test",
        suite,
        "--format",
        "json",
        "--run",
        "^a (small|large) refund",
    ]);
    assert_eq!(case_names(&regex.out).len(), 2, "a regular expression");
    assert_eq!(regex.code, 1, "the large one fails");

    let none = run(&["test", suite, "--run", "no case is called this"]);
    assert_eq!(none.code, 2);
    assert!(none.err.contains("matches no test case"), "{}", none.err);
    assert_eq!(
        run(&["test", suite, "--run", "("]).code,
        2,
        "an invalid pattern"
    );
}

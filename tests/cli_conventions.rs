//! The command line's conventions, through the real binary: completions and
//! man pages, `--color` and the colour environment variables, help examples
//! never wrapped, counterexamples never cut, E0104's list of sets,
//! `--explain`, an unreadable input answered with a decision, `test --run`.
//! `-` for standard input and the exit codes: `tests/cli_stdin_and_exit_codes.rs`.

mod conventions_common;

use conventions_common::*;
use serde_json::Value;

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

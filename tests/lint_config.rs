//! `gatehouse.toml` as `check` uses it: levels for lints and warnings,
//! which file applies (the nearest up to the repository root, `--config`,
//! `--no-config`), and an invalid file reported as an `E0006` diagnostic in
//! every output format.

use std::path::{Path, PathBuf};

use clap::Parser;
use gatehouse_cli::cli::{Cli, Io, run};
use gatehouse_cli::lint::config::{self, Discovery};

/// Runs the CLI in-process: exit code, stdout, stderr.
fn cli(args: &[&str]) -> (u8, String, String) {
    let mut argv = vec!["gatehouse"];
    argv.extend_from_slice(args);
    let parsed = Cli::try_parse_from(argv).expect("arguments parse");
    let mut stdin = std::io::empty();
    let mut stdin = std::io::BufReader::new(&mut stdin);
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    let code = run(
        parsed,
        &mut Io {
            stdin: &mut stdin,
            stdout: &mut stdout,
            stderr: &mut stderr,
            color: false,
        },
    );
    (
        code,
        String::from_utf8(stdout).expect("utf-8"),
        String::from_utf8(stderr).expect("utf-8"),
    )
}

fn json(out: &str) -> serde_json::Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("{e}:\n{out}"))
}

/// `(code, severity)` of every diagnostic of the first set.
fn codes(doc: &serde_json::Value) -> Vec<(String, String)> {
    doc["sets"][0]["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .map(|d| {
            (
                d["code"].as_str().unwrap_or("").to_owned(),
                d["severity"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

/// A fresh directory under the system's temporary directory.
fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gatehouse-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Validates against the official SARIF 2.1.0 schema (as tests/lint.rs).
fn assert_valid_sarif(log: &serde_json::Value) {
    let text = std::fs::read_to_string("tests/sarif-schema-2.1.0.json").expect("schema file");
    let schema: serde_json::Value = serde_json::from_str(&text).expect("schema json");
    let validator = jsonschema::draft4::new(&schema).expect("a valid draft-04 schema");
    let errors: Vec<String> = validator
        .iter_errors(log)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(errors.is_empty(), "invalid SARIF:\n{}", errors.join("\n"));
}

fn canonical(p: Option<PathBuf>) -> Option<PathBuf> {
    p.map(|p| p.canonicalize().expect("exists"))
}

#[test]
fn gatehouse_toml_raises_and_turns_off_lints() {
    // tests/fixtures/lint/config/gatehouse.toml: missing-timeout = "error",
    // L0012 = "off".
    let (code, out, _) = cli(&[
        "check",
        "--format",
        "json",
        "tests/fixtures/lint/config/set",
    ]);
    assert_eq!(code, 1, "a lint raised to error fails the check:\n{out}");
    let doc: serde_json::Value = serde_json::from_str(&out).expect("json");
    let set = &doc["sets"][0];
    assert_eq!(set["config"], "tests/fixtures/lint/config/gatehouse.toml");
    let diagnostics = set["diagnostics"].as_array().expect("diagnostics");
    let codes: Vec<(&str, &str)> = diagnostics
        .iter()
        .map(|d| {
            (
                d["code"].as_str().unwrap_or(""),
                d["severity"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(codes, vec![("L0009", "error")], "L0012 is off");
    assert_eq!(
        (doc["errors"].as_u64(), doc["warnings"].as_u64()),
        (Some(1), Some(0))
    );
}

#[test]
fn the_nearest_gatehouse_toml_applies() {
    // config/nested/gatehouse.toml turns L0009 off; config/gatehouse.toml,
    // further up, does not apply, so the unused role is reported.
    let (code, out, _) = cli(&[
        "check",
        "--format",
        "json",
        "tests/fixtures/lint/config/nested/set",
    ]);
    assert_eq!(code, 0, "{out}");
    let doc: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(
        doc["sets"][0]["config"],
        "tests/fixtures/lint/config/nested/gatehouse.toml"
    );
    let codes: Vec<&str> = doc["sets"][0]["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .filter_map(|d| d["code"].as_str())
        .collect();
    assert_eq!(codes, vec!["L0012"]);

    // Without a gatehouse.toml up to the repository root (this checkout):
    // defaults.
    let (code, out, _) = cli(&[
        "check",
        "--format",
        "json",
        "tests/fixtures/lint/rules/l0009-bad.gate",
    ]);
    assert_eq!(code, 0);
    let doc: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(doc["sets"][0]["config"], serde_json::Value::Null);
}

#[test]
fn the_search_for_gatehouse_toml_stops_at_the_repository_root() {
    let root = temp("config-root");
    std::fs::write(root.join(config::FILE_NAME), "[lints]\nL0009 = \"off\"\n").expect("write");
    // A repository below: the file above it never applies.
    let repo = root.join("repo");
    let set = repo.join("policies").join("refunds");
    std::fs::create_dir_all(repo.join(".git")).expect("git dir");
    std::fs::create_dir_all(&set).expect("set dir");
    assert_eq!(config::find(&set), None, "the file above the repository");
    std::fs::write(repo.join(config::FILE_NAME), "[lints]\n").expect("write");
    assert_eq!(
        canonical(config::find(&set)),
        canonical(Some(repo.join(config::FILE_NAME))),
        "the one at the repository root itself"
    );
    std::fs::write(repo.join("policies").join(config::FILE_NAME), "[lints]\n").expect("write");
    assert_eq!(
        canonical(config::find(&set)),
        canonical(Some(repo.join("policies").join(config::FILE_NAME))),
        "the nearest one"
    );
    // A worktree or submodule has a `.git` file: the root all the same.
    let worktree = root.join("worktree");
    std::fs::create_dir_all(worktree.join("set")).expect("dir");
    std::fs::write(worktree.join(".git"), "gitdir: /elsewhere\n").expect("write");
    assert_eq!(config::find(&worktree.join("set")), None);
    // Outside any repository: up to the filesystem root, past the
    // directory check was pointed at.
    let plain = root.join("plain").join("a").join("b");
    std::fs::create_dir_all(&plain).expect("dir");
    assert_eq!(
        canonical(config::find(&plain)),
        canonical(Some(root.join(config::FILE_NAME)))
    );
    // A single-file set searches from the file's directory.
    std::fs::write(plain.join("p.gate"), "").expect("write");
    assert_eq!(
        canonical(config::find(&plain.join("p.gate"))),
        canonical(Some(root.join(config::FILE_NAME)))
    );
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn check_finds_the_file_above_the_path_it_was_given() {
    // `check policies/refunds` from outside the repository: the
    // repository's gatehouse.toml applies (it did not when the search
    // stopped at the path given).
    let root = temp("config-check");
    let set = root.join("policies").join("refunds");
    std::fs::create_dir_all(root.join(".git")).expect("git dir");
    std::fs::create_dir_all(&set).expect("set dir");
    std::fs::copy(
        "tests/fixtures/lint/config/set/main.gate",
        set.join("main.gate"),
    )
    .expect("copy");
    let set_arg = set.to_str().expect("utf-8 path");
    let (_, out, _) = cli(&["check", "--format", "json", set_arg]);
    let defaults = codes(&json(&out));
    assert!(!defaults.is_empty(), "the fixture has findings: {out}");
    std::fs::write(
        root.join(config::FILE_NAME),
        "[lints]\nL0009 = \"off\"\nL0012 = \"off\"\n",
    )
    .expect("write");
    let (code, out, _) = cli(&["check", "--format", "json", set_arg]);
    let doc = json(&out);
    assert_eq!(codes(&doc), pairs(&[]), "{out}");
    assert_eq!(code, 0);
    assert!(
        doc["sets"][0]["config"]
            .as_str()
            .is_some_and(|c| c.ends_with("gatehouse.toml")),
        "{out}"
    );
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn config_and_no_config_override_the_search() {
    let set = "tests/fixtures/lint/config/set";
    // the nearest file raises L0009 and turns L0012 off
    let (code, out, _) = cli(&["check", "--format", "json", set]);
    assert_eq!(
        (code, codes(&json(&out))),
        (1, pairs(&[("L0009", "error")]))
    );
    // --no-config: defaults
    let (code, out, _) = cli(&["check", "--format", "json", "--no-config", set]);
    let doc = json(&out);
    assert_eq!(code, 0, "{out}");
    assert_eq!(doc["sets"][0]["config"], serde_json::Value::Null);
    let found = codes(&doc);
    assert!(
        found.contains(&("L0009".into(), "warning".into()))
            && found.contains(&("L0012".into(), "warning".into())),
        "{found:?}"
    );
    // --config FILE: that file, not the nearest
    let other = "tests/fixtures/lint/config/nested/gatehouse.toml";
    let (code, out, _) = cli(&["check", "--format", "json", "--config", other, set]);
    let doc = json(&out);
    assert_eq!(code, 0, "{out}");
    assert_eq!(doc["sets"][0]["config"], other);
    assert_eq!(codes(&doc), pairs(&[("L0012", "warning")]));
    // a --config file that does not exist is an E0006, exit 2
    let (code, out, _) = cli(&["check", "--format", "json", "--config", "no-such.toml", set]);
    assert_eq!(code, 2, "{out}");
    let doc = json(&out);
    assert_eq!(doc["diagnostics"][0]["code"], "E0006", "{out}");
    assert!(
        doc["diagnostics"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("no-such.toml") && m.contains("cannot read it")),
        "{out}"
    );
    // both at once is a usage error
    assert!(Cli::try_parse_from(["gatehouse", "check", "--config", other, "--no-config"]).is_err());
    assert_eq!(
        Discovery::File(PathBuf::from(other)).path_for(Path::new(set)),
        Some(PathBuf::from(other))
    );
    assert_eq!(Discovery::Off.path_for(Path::new(set)), None);
}

#[test]
fn an_invalid_gatehouse_toml_is_a_diagnostic_in_every_format() {
    // badconfig/gatehouse.toml line 2: `threshold-gapp = "off"`
    let set = "tests/fixtures/lint/badconfig/set";
    let path = "tests/fixtures/lint/badconfig/gatehouse.toml";
    let (code, out, err) = cli(&["check", set]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        out.contains("E0006")
            && out.contains(path)
            && out.contains("unknown lint `threshold-gapp`")
            && out.contains("help:"),
        "{out}"
    );
    assert!(out.contains("2 │ threshold-gapp"), "a snippet: {out}");

    let (code, out, _) = cli(&["check", "--format", "json", set]);
    assert_eq!(code, 2);
    let doc = json(&out);
    let d = &doc["diagnostics"][0];
    assert_eq!(
        (&d["code"], &d["file"], &d["line"], &d["column"]),
        (
            &serde_json::json!("E0006"),
            &serde_json::json!(path),
            &serde_json::json!(2),
            &serde_json::json!(1)
        ),
        "{out}"
    );
    assert_eq!(d["labels"][0]["length"], "threshold-gapp".len());
    assert!(
        d["message"].as_str().is_some_and(
            |m| m.contains("unknown lint `threshold-gapp`; did you mean `threshold-gap`?")
        ),
        "{out}"
    );
    assert!(d["help"].as_str().is_some_and(|h| !h.is_empty()));

    let (code, out, _) = cli(&["check", "--format", "sarif", set]);
    assert_eq!(code, 2);
    let log = json(&out);
    assert_valid_sarif(&log);
    let result = &log["runs"][0]["results"][0];
    assert_eq!(result["ruleId"], "E0006", "{out}");
    assert_eq!(
        result["locations"][0]["physicalLocation"]["region"]["startLine"], 2,
        "{out}"
    );

    let (code, out, _) = cli(&["check", "--format", "github", set]);
    assert_eq!(code, 2);
    assert!(
        out.lines().any(|l| l.starts_with("::error file=")
            && l.contains("line=2,col=1")
            && l.contains("E0006")),
        "{out}"
    );

    // Not TOML at all: the parser's position.
    let dir = temp("config-not-toml");
    std::fs::create_dir_all(dir.join("set")).expect("dir");
    std::fs::copy(
        "tests/fixtures/lint/config/set/main.gate",
        dir.join("set").join("main.gate"),
    )
    .expect("copy");
    std::fs::write(dir.join(config::FILE_NAME), "[lints]\nL0004 = off\n").expect("write");
    let (code, out, _) = cli(&[
        "check",
        "--format",
        "json",
        "--config",
        dir.join(config::FILE_NAME).to_str().expect("utf-8"),
        dir.join("set").to_str().expect("utf-8"),
    ]);
    assert_eq!(code, 2, "{out}");
    let doc = json(&out);
    assert_eq!(doc["diagnostics"][0]["code"], "E0006");
    assert_eq!(doc["diagnostics"][0]["line"], 2, "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn warnings_are_configured_like_lints() {
    // warnings/gatehouse.toml: missing-default = "error"
    let (code, out, _) = cli(&[
        "check",
        "--format",
        "json",
        "tests/fixtures/lint/warnings/set",
    ]);
    assert_eq!(code, 1, "W0001 raised to an error fails the check: {out}");
    assert_eq!(codes(&json(&out)), pairs(&[("W0001", "error")]));
    let (code, out, _) = cli(&[
        "check",
        "--format",
        "json",
        "--no-config",
        "tests/fixtures/lint/warnings/set",
    ]);
    assert_eq!(code, 0);
    assert_eq!(codes(&json(&out)), pairs(&[("W0001", "warning")]));
    // and turned off
    let dir = temp("config-warnings");
    let toml = dir.join(config::FILE_NAME);
    std::fs::write(&toml, "[lints]\nW0001 = \"off\"\n").expect("write");
    let (code, out, _) = cli(&[
        "check",
        "--format",
        "json",
        "--deny",
        "warnings",
        "--config",
        toml.to_str().expect("utf-8"),
        "tests/fixtures/lint/warnings/set",
    ]);
    assert_eq!((code, codes(&json(&out))), (0, pairs(&[])), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn warnings_are_suppressed_like_lints() {
    // a W0001 at the header and a W0002 (an allow that suppresses nothing),
    // each covered by a comment
    let fixture = "tests/fixtures/lint/warnings/suppressed";
    let (code, out, _) = cli(&["check", "--deny", "warnings", "--no-config", fixture]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("0 errors, 0 warnings"), "{out}");
    // Without the comments both are reported.
    let text = std::fs::read_to_string(format!("{fixture}/main.gate")).expect("read");
    let dir = temp("config-suppressed");
    let stripped: String = text
        .lines()
        .filter(|l| {
            !l.contains("allow(missing-default)") && !l.contains("allow(invalid-suppression)")
        })
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(dir.join("main.gate"), stripped).expect("write");
    let (_, out, _) = cli(&[
        "check",
        "--format",
        "json",
        "--no-config",
        dir.to_str().expect("utf-8"),
    ]);
    assert_eq!(
        codes(&json(&out)),
        pairs(&[("W0001", "warning"), ("W0002", "warning")])
    );
    // An allow of W0002 that covers nothing is itself reported.
    let unused = "policy \"p\" version \"1\"\nschema { action.type: enum { read, draft } }\nrole r \"R\"\nreason R \"r\"\ntier 1 \"q\" { outcome queue  approve r }\n# gatehouse: allow(invalid-suppression) reason: \"x\"\nrule r when action.type == read then tier 1 because R\ndefault tier 1 because R\n";
    std::fs::write(dir.join("main.gate"), unused).expect("write");
    let (_, out, _) = cli(&[
        "check",
        "--format",
        "json",
        "--no-config",
        dir.to_str().expect("utf-8"),
    ]);
    let doc = json(&out);
    assert_eq!(codes(&doc), pairs(&[("W0002", "warning")]), "{out}");
    assert!(
        doc["sets"][0]["diagnostics"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("suppression of `invalid-suppression` suppresses nothing")),
        "{out}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

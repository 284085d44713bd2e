//! Directory walking of `check`, `fmt` and `test` (the `ignore` crate):
//! `.gitignore` rules, build caches (`CACHEDIR.TAG`) and `--exclude GLOB`
//! leave policies out; a path given is always read.

use std::path::Path;

use assert_cmd::Command;

const GOOD: &str = "tests/fixtures/cli/refunds";
const BROKEN: &str = "tests/fixtures/cli/broken/main.gate";
const MESSY: &str = "tests/fixtures/fmt/messy_layout.gate";

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

fn copy(from: &str, to: &Path) {
    std::fs::create_dir_all(to.parent().expect("a parent")).expect("mkdir");
    std::fs::copy(Path::new(env!("CARGO_MANIFEST_DIR")).join(from), to).expect("copy");
}

/// A tree with one good set and `file` copied into `drafts/`, into `built/`
/// (listed in `.gitignore`), into `target/copy/` (a Cargo-style cache
/// holding `CACHEDIR.TAG`) and into `.hidden/`.
fn tree(file: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    for f in ["main.gate", "rules.gate"] {
        copy(&format!("{GOOD}/{f}"), &root.join("good").join(f));
    }
    for sub in ["drafts", "built", "target/copy", ".hidden"] {
        copy(file, &root.join(sub).join("p.gate"));
    }
    std::fs::write(
        root.join("target/CACHEDIR.TAG"),
        "Signature: 8a477f597d28d172789f06886806bc55\n",
    )
    .expect("tag");
    std::fs::write(root.join(".gitignore"), "/built/\n").expect("gitignore");
    dir
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn check_skips_gitignored_cached_and_excluded_sets() {
    let dir = tree(BROKEN);
    let root = dir.path();
    let (code, out, _) = run(&["check", s(root), "--format", "json"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(s(&root.join("drafts"))), "{out}");
    for skipped in ["built", "target", ".hidden"] {
        let path = root.join(skipped);
        assert!(!out.contains(s(&path)), "{skipped} was checked: {out}");
    }
    let (code, out, err) = run(&["check", s(root), "--exclude", "drafts"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("checked 1 policy set"), "{out}");
    // A path given is read even when a rule would skip it.
    let (code, out, _) = run(&["check", s(&root.join("built")), "--exclude", "built"]);
    assert_eq!(code, 1, "{out}");
}

#[test]
fn fmt_formats_only_what_the_walk_keeps() {
    let dir = tree(MESSY);
    let root = dir.path();
    let (code, _, err) = run(&["fmt", s(&root.join("good"))]);
    assert_eq!(code, 0, "{err}");
    let (code, out, _) = run(&["fmt", "--check", s(root)]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(s(&root.join("drafts"))), "{out}");
    for skipped in ["built", "target", ".hidden"] {
        let path = root.join(skipped);
        assert!(!out.contains(s(&path)), "{skipped} was formatted: {out}");
    }
    let (code, out, err) = run(&["fmt", "--check", s(root), "--exclude", "/drafts"]);
    assert_eq!(code, 0, "{out}{err}");
    let before = std::fs::read(root.join("drafts/p.gate")).expect("read");
    let (code, _, err) = run(&["fmt", s(root), "--exclude", "drafts/"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        std::fs::read(root.join("drafts/p.gate")).expect("read"),
        before
    );
}

#[test]
fn test_runs_only_the_sets_the_walk_keeps() {
    let dir = tree(BROKEN);
    let root = dir.path();
    let (code, _, _) = run(&["test", s(root)]);
    assert_eq!(code, 2, "the broken draft does not compile");
    let (code, out, err) = run(&["test", s(root), "--exclude", "drafts", "--format", "json"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains(s(&root.join("good"))), "{out}");
    assert!(!out.contains(s(&root.join("drafts"))), "{out}");
}

#[test]
fn an_invalid_exclude_is_a_usage_error_naming_the_glob() {
    for command in ["check", "fmt", "test"] {
        let (code, _, err) = run(&[command, GOOD, "--exclude", "a["]);
        assert_eq!(code, 2, "{command}: {err}");
        assert!(err.contains("invalid glob `a[`"), "{command}: {err}");
    }
}

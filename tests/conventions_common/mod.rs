//! Helpers of the CLI convention tests (`tests/cli_conventions.rs`,
//! `tests/cli_stdin_and_exit_codes.rs`): run the real binary, scratch
//! directories, the tree of commands.
#![allow(dead_code, reason = "each test crate uses a part of these helpers")]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use assert_cmd::Command;
use clap::CommandFactory;
use gatehouse_cli::cli::Cli;

/// A policy set that compiles.
pub const POLICY: &str = "tests/fixtures/cli/refunds";
/// A policy set with type errors.
pub const BROKEN: &str = "tests/fixtures/cli/broken";
/// An action for [`POLICY`].
pub const ACTION: &str = "tests/fixtures/cli/refund-large.json";
/// A fixed time, for outputs that name one.
pub const NOW: &str = "2026-11-22T09:00:00Z";

/// The binary, run from the crate root, with no colour or policy variable
/// inherited from the environment of the test run.
pub fn gatehouse() -> Command {
    let mut cmd = Command::cargo_bin("gatehouse").expect("binary");
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("GATEHOUSE_POLICY")
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("COLUMNS");
    cmd
}

/// What a run of the binary gave.
pub struct Run {
    /// The exit code (-1: killed by a signal).
    pub code: i32,
    /// Standard output.
    pub out: String,
    /// Standard error.
    pub err: String,
}

/// Runs the binary with `args`, `stdin` (empty when `None`) and extra
/// environment variables.
pub fn run_with(args: &[&str], stdin: Option<&[u8]>, env: &[(&str, &str)]) -> Run {
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

/// Runs the binary with `args` and an empty stdin.
pub fn run(args: &[&str]) -> Run {
    run_with(args, None, &[])
}

/// A fresh directory under the system's temporary directory, removed when
/// dropped.
pub struct Scratch(pub PathBuf);

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

/// A fresh scratch directory (see [`Scratch`]).
pub fn temp_dir(name: &str) -> Scratch {
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

/// A path as the `&str` an argument list takes.
pub fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Every command of the tree with its path of names: `[]`, `["eval"]`,
/// `["audit", "verify"]`, ...
pub fn commands() -> Vec<(Vec<String>, clap::Command)> {
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

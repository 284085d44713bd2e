//! A `.gate` entry of a policy set that cannot be read as a regular file is
//! E0001 with its path, never skipped (issue 12, promise 3): a dropped
//! `finance.gate` is a dropped `block` rule, so a refund that must block
//! would become approvable.

#![cfg(unix)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use gatehouse::Policy;
use gatehouse::diagnostic::Code;

/// A fresh directory holding `main.gate` (a complete set on its own) and
/// nothing else; the test adds `finance.gate` as whatever kind of entry.
fn set_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gatehouse-loader-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("policies/simple-router/router.gate"),
        dir.join("main.gate"),
    )
    .unwrap();
    dir
}

/// Each kind of entry that is not a readable regular file.
fn make_entry(kind: &str, path: &Path) {
    match kind {
        "dangling symlink" => {
            std::os::unix::fs::symlink(path.with_extension("missing"), path).unwrap();
        }
        "symlink loop" => std::os::unix::fs::symlink(path, path).unwrap(),
        "fifo" => {
            let ok = std::process::Command::new("mkfifo")
                .arg(path)
                .status()
                .unwrap()
                .success();
            assert!(ok, "mkfifo");
        }
        "socket" => {
            // The listener is leaked so the socket file stays a live socket
            // for the whole test.
            std::mem::forget(std::os::unix::net::UnixListener::bind(path).unwrap());
        }
        "directory" => {
            std::fs::create_dir(path).unwrap();
            std::fs::write(path.join("inner.gate"), "# not read\n").unwrap();
        }
        other => panic!("unknown kind {other}"),
    }
}

const KINDS: [&str; 5] = [
    "dangling symlink",
    "symlink loop",
    "fifo",
    "socket",
    "directory",
];

#[test]
fn every_unreadable_gate_entry_is_e0001_with_its_path_through_the_library() {
    for kind in KINDS {
        let dir = set_dir(&format!("lib-{}", kind.replace(' ', "-")));
        let entry = dir.join("finance.gate");
        make_entry(kind, &entry);
        let errors = match Policy::load(&dir) {
            Ok(_) => panic!("{kind}: the set loaded without `finance.gate`"),
            Err(e) => e,
        };
        let e0001: Vec<_> = errors.0.iter().filter(|d| d.code == Code::Io).collect();
        assert_eq!(e0001.len(), 1, "{kind}: {errors:?}");
        assert!(
            e0001[0].message.contains(&entry.display().to_string()),
            "{kind}: {}",
            e0001[0].message
        );
        assert!(!e0001[0].help.is_empty(), "{kind}");
    }
}

#[test]
fn every_unreadable_gate_entry_fails_gatehouse_check() {
    for kind in KINDS {
        let dir = set_dir(&format!("cli-{}", kind.replace(' ', "-")));
        let entry = dir.join("finance.gate");
        make_entry(kind, &entry);
        let out = Command::cargo_bin("gatehouse")
            .unwrap()
            .env("NO_COLOR", "1")
            .arg("check")
            .arg(&dir)
            .timeout(std::time::Duration::from_secs(60))
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_ne!(out.status.code(), Some(0), "{kind}: {text}");
        assert!(text.contains("E0001"), "{kind}: {text}");
        assert!(text.contains("finance.gate"), "{kind}: {text}");
    }
}

#[test]
fn a_symlink_to_a_regular_file_is_read() {
    let dir = set_dir("symlink-ok");
    let elsewhere = set_dir("symlink-target");
    std::fs::remove_file(dir.join("main.gate")).unwrap();
    std::os::unix::fs::symlink(elsewhere.join("main.gate"), dir.join("finance.gate")).unwrap();
    let policy = Policy::load(&dir).unwrap();
    let decision = policy.evaluate(&serde_json::json!({
        "action": {"type": "send", "scope": "external", "amount": 50000},
        "requester": {"id": "agent"}
    }));
    assert_eq!(
        decision.outcome,
        gatehouse::Outcome::Explicit,
        "{decision:?}"
    );
}

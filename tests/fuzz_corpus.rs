//! Replays the fuzzers' corpora as ordinary tests, so CI (stable, no
//! fuzzing) still checks every input the fuzzers ever kept or found.
//!
//! Each fuzz target's body lives in `fuzz/src/bodies.rs`, included here
//! verbatim: the replay runs exactly the code the fuzzer ran. For every
//! target, every file in `fuzz/corpus/<target>/` (the minimized corpus) and
//! `fuzz/regressions/<target>/` (inputs that once failed) goes through the
//! body; a panic is a failure. How to run the fuzzers: CONTRIBUTING.md.

use std::path::{Path, PathBuf};
use std::time::Instant;

#[path = "../fuzz/src/bodies.rs"]
mod bodies;

/// Inputs that still make a body panic: engine bugs the fuzzers found that
/// are not fixed yet, as `(target, file name in fuzz/regressions/<target>/)`.
/// The replay asserts that each of them *still fails*, so that whoever fixes
/// the bug notices and moves the entry out of this list (the file stays in
/// `fuzz/regressions/`, then replayed like any other).
///
/// None now. The digest fuzzer's finding (a number beyond what a double or
/// an 18-digit decimal holds kept its literal spelling in the digest:
/// `1e400` vs `1.0e400`) is fixed in src/audit/digest.rs; its inputs stay in
/// `fuzz/regressions/digest/`.
const KNOWN_FAILING: &[(&str, &str)] = &[];

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// The files of one directory, sorted; none when it does not exist.
fn files_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "(no message)".to_owned())
}

fn replay(target: &str, body: fn(&[u8])) {
    let started = Instant::now();
    let corpus = files_in(&fuzz_dir().join("corpus").join(target));
    assert!(
        !corpus.is_empty(),
        "fuzz/corpus/{target}/ is missing or empty: the replay would check nothing"
    );
    let regressions = files_in(&fuzz_dir().join("regressions").join(target));
    let known: Vec<&str> = KNOWN_FAILING
        .iter()
        .filter(|(t, _)| *t == target)
        .map(|(_, f)| *f)
        .collect();
    for name in &known {
        assert!(
            regressions.iter().any(|p| file_name(p) == *name),
            "KNOWN_FAILING names fuzz/regressions/{target}/{name}, which does not exist"
        );
    }

    let mut failures = Vec::new();
    for path in corpus.iter().chain(&regressions) {
        let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let name = file_name(path);
        let is_regression = regressions.contains(path);
        let expected_to_fail = is_regression && known.contains(&name.as_str());
        let result = std::panic::catch_unwind(|| body(&data));
        match (result, expected_to_fail) {
            (Ok(()), false) | (Err(_), true) => {}
            (Err(payload), false) => failures.push(format!(
                "{}: {}",
                path.display(),
                panic_message(payload.as_ref())
            )),
            (Ok(()), true) => failures.push(format!(
                "{}: passes now; remove it from KNOWN_FAILING in tests/fuzz_corpus.rs",
                path.display()
            )),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} `{target}` inputs failed:\n{}",
        failures.len(),
        corpus.len() + regressions.len(),
        failures.join("\n")
    );
    eprintln!(
        "{target}: replayed {} corpus and {} regression inputs in {:.1?}",
        corpus.len(),
        regressions.len(),
        started.elapsed()
    );
}

#[test]
fn parse() {
    replay("parse", bodies::parse);
}

#[test]
fn parse_grammar() {
    replay("parse_grammar", bodies::parse_grammar);
}

#[test]
fn evaluate() {
    replay("evaluate", bodies::evaluate);
}

#[test]
fn evaluate_structured() {
    replay("evaluate_structured", bodies::evaluate_structured);
}

#[test]
fn fmt_roundtrip() {
    replay("fmt_roundtrip", bodies::fmt_roundtrip);
}

#[test]
fn verify() {
    replay("verify", bodies::verify);
}

#[test]
fn digest() {
    replay("digest", bodies::digest);
}

#[test]
fn approval() {
    replay("approval", bodies::approval::approval);
}

#[test]
fn chain() {
    replay("chain", bodies::chain::chain);
}

/// Every target in fuzz/Cargo.toml is replayed here.
#[test]
fn every_fuzz_target_is_replayed() {
    let manifest = std::fs::read_to_string(fuzz_dir().join("Cargo.toml")).expect("fuzz/Cargo.toml");
    let replayed = [
        "parse",
        "parse_grammar",
        "evaluate",
        "evaluate_structured",
        "fmt_roundtrip",
        "verify",
        "digest",
        "approval",
        "chain",
    ];
    // The `name` of every `[[bin]]` section.
    let mut targets: Vec<&str> = Vec::new();
    let mut in_bin = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_bin = line == "[[bin]]";
        } else if let Some(name) = line
            .strip_prefix("name = \"")
            .and_then(|l| l.strip_suffix('"'))
            && in_bin
        {
            targets.push(name);
        }
    }
    assert!(!targets.is_empty(), "no [[bin]] targets in fuzz/Cargo.toml");
    for t in &targets {
        assert!(
            replayed.contains(t),
            "fuzz target `{t}` is not replayed in tests/fuzz_corpus.rs"
        );
    }
    for t in replayed {
        assert!(
            targets.contains(&t),
            "`{t}` is replayed but is not a target in fuzz/Cargo.toml"
        );
    }
}

//! The one-pass JSON reader (`wire`, with and without the action digest)
//! and serde_json's schema-driven visitors (`decode_json`), both
//! crate-internal, reached through the hidden `gatehouse::__bench`
//! re-export, against the slow path
//! (`input::parse` as JSON, then `decode::decode`), over the fuzzers'
//! corpora for `evaluate` (bytes as a JSON action, for both shipped
//! policies) and `evaluate_structured` (schema-aware generated actions; the
//! generator is `fuzz/src/bodies.rs`, included here as in
//! `tests/fuzz_corpus.rs`). The contract: the fast path returns `None` or
//! exactly the slots and evidence flags of the slow path's `Ok`.
//!
//! Each document is checked as given and respelled (compact, pretty, with a
//! byte order mark), lenient and strict; and `Policy::evaluate_json` must
//! give the slow path's decision, whichever path it takes.
//!
//! The generated property test (valid and mutated documents, every type)
//! is inside the crate: `src/eval/decode_json/tests.rs`.

use std::path::{Path, PathBuf};

use arbitrary::Unstructured;
use gatehouse::audit::digest::action_digest;
use gatehouse::audit::digest_text::{DigestScratch, action_digest_text};
use gatehouse::eval::decode::{Decoded, Slot};
use gatehouse::input::{Syntax, parse};
use gatehouse::{__bench, Policy};

#[path = "../fuzz/src/bodies.rs"]
mod bodies;

type Owned = (Vec<Slot<'static>>, Vec<bool>);

fn owned(d: Decoded<'_>) -> Owned {
    (
        d.slots.into_iter().map(Slot::into_owned).collect(),
        d.evidence,
    )
}

/// The one-pass reader, held to the other fast paths: alone and with the
/// digest it decodes the same; the digest is the two-pass one
/// (`action_digest_text`) and the tree's (`action_digest` of the parsed
/// document; this build has `arbitrary_precision`, so the tree holds every
/// number); it decodes all that serde_json's visitors decode, the same way.
fn fast(policy: &Policy, text: &str, strict: bool) -> Option<Owned> {
    let visitors = __bench::fast(policy, text, strict).map(owned);
    let alone = __bench::wire(policy, text, strict).map(owned);
    let mut digest = String::new();
    let one_pass =
        __bench::wire_digest(policy, text, strict, &mut DigestScratch::new(), &mut digest);
    let one_pass = one_pass.map(owned);
    assert_eq!(alone, one_pass, "{text:?}");
    if one_pass.is_some() {
        assert_eq!(
            digest,
            action_digest_text(text, &mut DigestScratch::new()),
            "{text:?}"
        );
        let value = parse(text, Syntax::Json).expect("decoded, so the reader reads it");
        assert_eq!(digest, action_digest(&value), "{text:?}");
    } else {
        assert!(digest.is_empty());
    }
    if let Some(v) = &visitors {
        assert_eq!(Some(v), alone.as_ref(), "{text:?}");
    }
    alone
}

fn slow(policy: &Policy, text: &str, strict: bool) -> Option<Owned> {
    let value = parse(text, Syntax::Json).ok()?;
    __bench::slow(policy, &value, strict).ok().map(|d| {
        (
            d.slots.into_iter().map(Slot::into_owned).collect(),
            d.evidence,
        )
    })
}

/// The decision the slow path gives for JSON text (what `evaluate_json`
/// did before the fast path), as JSON.
fn slow_decision(policy: &Policy, text: &str) -> serde_json::Value {
    let d = match parse(text, Syntax::Json) {
        Ok(v) => policy.evaluate(&v),
        Err(errors) => policy.invalid_input(errors),
    };
    serde_json::to_value(d).unwrap()
}

#[derive(Default, Debug)]
struct Tally {
    /// Documents checked (each spelling, lenient and strict).
    checked: usize,
    /// The slow path accepted.
    valid: usize,
    /// ...and the fast path decided.
    decided: usize,
}

impl Tally {
    fn check(&mut self, policy: &Policy, text: &str) {
        for strict in [false, true] {
            let f = fast(policy, text, strict);
            let s = slow(policy, text, strict);
            if let Some(f) = &f {
                assert_eq!(
                    Some(f),
                    s.as_ref(),
                    "{}: strict={strict} {text:?}",
                    policy.name()
                );
            }
            self.checked += 1;
            self.valid += usize::from(s.is_some());
            self.decided += usize::from(f.is_some());
        }
        let d = serde_json::to_value(policy.evaluate_json(text)).unwrap();
        assert_eq!(
            d,
            slow_decision(policy, text),
            "{}: {text:?}",
            policy.name()
        );
    }

    /// The text as given, and respelled when it is JSON.
    fn check_spellings(&mut self, policy: &Policy, text: &str) {
        self.check(policy, text);
        self.check(policy, &format!("\u{feff}{text}"));
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(text) {
            self.check(policy, &v.to_string());
            self.check(policy, &serde_json::to_string_pretty(&v).unwrap());
        }
    }
}

fn fuzz_files(target: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut files = Vec::new();
    for dir in [
        root.join("corpus").join(target),
        root.join("regressions").join(target),
    ] {
        if let Ok(entries) = std::fs::read_dir(&dir) {
            files.extend(entries.flatten().map(|e| e.path()).filter(|p| p.is_file()));
        }
    }
    files.sort();
    files
}

#[test]
fn evaluate_corpus_agrees_with_the_slow_path() {
    let files = fuzz_files("evaluate");
    assert!(!files.is_empty(), "fuzz/corpus/evaluate is empty");
    let mut tally = Tally::default();
    let mut texts = 0;
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        // The target feeds only bytes that are JSON; every UTF-8 text is
        // checked here (the rest cannot reach `evaluate_json`).
        let Ok(text) = std::str::from_utf8(&bytes) else {
            continue;
        };
        texts += 1;
        for policy in bodies::shipped() {
            tally.check_spellings(policy, text);
        }
    }
    eprintln!("evaluate: {} files, {texts} texts: {tally:?}", files.len());
    assert!(tally.valid > 0, "{tally:?}");
    assert_eq!(
        tally.decided, tally.valid,
        "every valid document is decoded"
    );
}

#[test]
fn evaluate_structured_corpus_agrees_with_the_slow_path() {
    let files = fuzz_files("evaluate_structured");
    assert!(
        !files.is_empty(),
        "fuzz/corpus/evaluate_structured is empty"
    );
    let mut tally = Tally::default();
    let mut generated = 0;
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        // As `bodies::evaluate_structured` does.
        let mut u = Unstructured::new(&bytes);
        let Ok(which) = u.choose_index(bodies::shipped().len()) else {
            continue;
        };
        let policy = &bodies::shipped()[which];
        let Ok(input) = bodies::gen_input(&mut u, policy.checked()) else {
            continue;
        };
        generated += 1;
        tally.check_spellings(policy, &input.to_string());
    }
    eprintln!(
        "evaluate_structured: {} files, {generated} generated: {tally:?}",
        files.len()
    );
    assert!(tally.valid > 0, "{tally:?}");
    assert_eq!(
        tally.decided, tally.valid,
        "every valid document is decoded"
    );
}

//! One compiled `Policy` shared across threads: every decision made
//! concurrently equals the one made on a single thread. `Policy` is
//! immutable after compilation (no interior mutability, no caches), so this
//! pins that no shared state sneaks in later.

use std::sync::Arc;

use gatehouse::{EvalOptions, Policy};
use serde_json::{Value, json};

const THREADS: usize = 8;
const ROUNDS: usize = 20;

/// The shipped sample actions, each also with a spread of amounts and with
/// its evidence removed, so the corpus reaches escalation, missing evidence
/// and invalid input.
fn corpus(dir: &str) -> Vec<Value> {
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .expect("examples")
        .map(|e| e.expect("entry").path())
        .collect();
    paths.sort();
    let mut out = Vec::new();
    for path in paths {
        let text = std::fs::read_to_string(&path).expect("read");
        let syntax = gatehouse::input::Syntax::of_path(&path);
        let Ok(sample) = gatehouse::input::parse(&text, syntax) else {
            continue;
        };
        for amount in [
            json!(0),
            json!(999.99),
            json!(1000),
            json!(25_000),
            json!("x"),
        ] {
            let mut v = sample.clone();
            if let Some(action) = v.get_mut("action").and_then(Value::as_object_mut) {
                action.insert("amount".into(), amount);
            }
            out.push(v);
        }
        let mut bare = sample.clone();
        if let Some(o) = bare.as_object_mut() {
            o.shift_remove("evidence");
        }
        out.push(bare);
        out.push(sample);
    }
    out
}

fn check_concurrently(policy_dir: &str, examples: &str) {
    let policy = Arc::new(Policy::load(policy_dir).expect("compiles"));
    let corpus = Arc::new(corpus(examples));
    assert!(
        corpus.len() > 40,
        "{policy_dir}: corpus of {}",
        corpus.len()
    );
    let options = EvalOptions::default()
        .with_now(gatehouse::values::Timestamp::parse("2026-11-22T09:00:00Z"))
        .with_strict(false);
    let expected: Vec<_> = corpus
        .iter()
        .map(|input| policy.evaluate_with(input, &options))
        .collect();
    std::thread::scope(|scope| {
        for t in 0..THREADS {
            let (policy, corpus, expected) = (&policy, &corpus, &expected);
            scope.spawn(move || {
                for round in 0..ROUNDS {
                    // Each thread walks the corpus from a different place, so
                    // threads evaluate different inputs at the same moment.
                    for k in 0..corpus.len() {
                        let i = (k + t * 7 + round) % corpus.len();
                        let got = policy.evaluate_with(&corpus[i], &options);
                        assert_eq!(got, expected[i], "thread {t}, round {round}, input {i}");
                    }
                }
            });
        }
    });
}

#[test]
fn the_matrix_decides_alike_on_every_thread() {
    check_concurrently("policies/ai-agent-actions", "examples/actions");
}

#[test]
fn the_router_decides_alike_on_every_thread() {
    check_concurrently("policies/simple-router", "examples/router");
}

//! The library's public API from the outside: loading, the ways to evaluate,
//! and sharing one compiled policy across threads.

use std::sync::Arc;

use gatehouse::{EvalOptions, Outcome, Policy};
use serde_json::json;

const POLICY_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/cli/refunds");

fn refund(amount: serde_json::Value) -> serde_json::Value {
    json!({"action": {"type": "refund", "amount": amount}, "requester": {"id": "r"},
           "evidence": {"impact_estimate": "x"}})
}

#[test]
fn load_a_directory_a_file_or_sources() {
    let dir = Policy::load(POLICY_DIR).expect("directory");
    assert_eq!(dir.name(), "refunds");
    let texts: Vec<(String, String)> = ["main.gate", "rules.gate"]
        .iter()
        .map(|f| {
            let path = format!("{POLICY_DIR}/{f}");
            (f.to_string(), std::fs::read_to_string(&path).expect("read"))
        })
        .collect();
    let sources = Policy::from_sources(texts).expect("sources");
    assert_eq!(
        sources.digest(),
        dir.digest(),
        "the digest ignores the directory"
    );
    // a single file of a multi-file set misses the other file's declarations
    let err = Policy::load(format!("{POLICY_DIR}/rules.gate")).expect_err("no header");
    assert!(err.iter().any(|d| d.code.as_str() == "E0101"));
    let err = Policy::load("/no/such/policy").expect_err("missing");
    assert_eq!(err.0[0].code.as_str(), "E0001");
}

#[test]
fn evaluate_a_serializable_value() {
    #[derive(serde::Serialize)]
    struct Action<'a> {
        #[serde(rename = "type")]
        kind: &'a str,
        amount: f64,
    }
    #[derive(serde::Serialize)]
    struct Input<'a> {
        action: Action<'a>,
        requester: std::collections::BTreeMap<&'a str, &'a str>,
    }
    let p = Policy::load(POLICY_DIR).expect("loads");
    let d = p.evaluate_serialize(&Input {
        action: Action {
            kind: "read",
            amount: 0.0,
        },
        requester: [("id", "r")].into(),
    });
    assert_eq!(d.outcome, Outcome::Auto);
    assert!(d.input_errors.is_empty());
}

#[test]
fn the_strict_call_returns_errors_instead_of_a_decision() {
    let p = Policy::load(POLICY_DIR).expect("loads");
    let errors = p
        .try_evaluate(&json!({"action": {"type": 3}}), &EvalOptions::default())
        .expect_err("invalid");
    let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, ["$.action.type", "$.requester.id"]);
    assert!(
        p.try_evaluate(&refund(json!(10)), &EvalOptions::default())
            .is_ok()
    );
}

#[test]
fn one_policy_shared_across_threads_decides_like_one_thread() {
    let p = Arc::new(Policy::load(POLICY_DIR).expect("loads"));
    let inputs: Vec<serde_json::Value> = (0..200)
        .map(|i| refund(json!(i * 137)))
        .chain([json!({"broken": true}), json!(null)])
        .collect();
    let expected: Vec<String> = inputs
        .iter()
        .map(|i| serde_json::to_string(&p.evaluate(i)).expect("json"))
        .collect();
    let inputs = Arc::new(inputs);
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let (p, inputs) = (Arc::clone(&p), Arc::clone(&inputs));
            std::thread::spawn(move || {
                inputs
                    .iter()
                    .map(|i| serde_json::to_string(&p.evaluate(i)).expect("json"))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().expect("thread"), expected);
    }
    // and the outcomes are not all the same, so the comparison means something
    let outcomes: std::collections::BTreeSet<&str> = expected
        .iter()
        .map(|d| {
            if d.contains("\"auto\"") {
                "auto"
            } else {
                "other"
            }
        })
        .collect();
    assert_eq!(outcomes.len(), 2);
}

//! Zero heap allocations per decision (issue 7), counted, not inspected:
//! a counting global allocator (`stats_alloc`) wraps the system one, and
//! every [`Verdict::decide`] after a warm-up pass over the same inputs must
//! allocate nothing, for generated policies of every shape
//! (tests/reference/generate.rs: approvals, escalation, evidence, regexes,
//! both combine modes), the shipped policies with their sample actions, and
//! the peers matrix with 1 000 extra rules.
//!
//! The same pass checks that the verdict renders to exactly the decision
//! `Policy::evaluate_with` gives (without the action digest, which the
//! verdict leaves to the caller).
//!
//! Runs without the test harness (`harness = false` in Cargo.toml): one
//! thread, so no other test's allocations are counted.

#[allow(dead_code, reason = "only the generator is used here")]
mod reference;

use std::alloc::System;
use std::path::PathBuf;

use gatehouse::{EvalOptions, Input, Policy};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use reference::generate;
use serde_json::Value as Json;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Generated policies, and inputs per policy.
const POLICIES: usize = 300;
const INPUTS: usize = 24;

fn main() {
    let mut checked = 0;
    for (name, policy, inputs) in cases() {
        checked += check(&name, &policy, &inputs);
    }
    assert!(checked > 5_000, "only {checked} decisions were checked");
    println!("alloc: {checked} decisions, none allocated after warm-up");
}

/// Decides every input twice; the second pass must not allocate. Returns
/// the number of decisions checked.
fn check(name: &str, policy: &Policy, inputs: &[(Json, EvalOptions)]) -> usize {
    let decoded: Vec<(Input<'_>, &Json, &EvalOptions)> = inputs
        .iter()
        .filter_map(|(v, o)| policy.decode(v, o).ok().map(|i| (i, v, o)))
        .collect();
    let mut verdict = policy.verdict();
    for (input, value, options) in &decoded {
        verdict.decide(input);
        let expected = policy.evaluate_with(value, options);
        // `to_decision` leaves the digest to the caller, who settles
        // `sample.sampled` with it (`set_action_digest`).
        let mut rendered = verdict.to_decision(input, options);
        rendered.set_action_digest(expected.action_digest.clone(), options);
        assert_eq!(
            rendered, expected,
            "{name}: the verdict renders another decision for {value}"
        );
        // The JSON written straight from the verdict is the decision's.
        let mut written = Vec::new();
        verdict
            .write_json(
                input,
                options,
                expected.action_digest.as_deref(),
                &mut written,
            )
            .expect("writes");
        assert_eq!(
            String::from_utf8(written).expect("UTF-8"),
            {
                let mut doc = Vec::new();
                gatehouse::eval::write_document(
                    &mut doc,
                    &gatehouse::eval::DocumentFormat::DECISION,
                    &expected,
                    false,
                )
                .expect("serializes");
                String::from_utf8(doc).expect("UTF-8")
            },
            "{name}: the verdict writes other JSON for {value}"
        );
    }
    // The wire path (JSON text in) writes the owned decision's JSON too.
    for (value, options) in inputs {
        let text = value.to_string();
        let mut decider = policy.json_decider(*options);
        let mut written = Vec::new();
        let outcome = decider.write_json(&text, &mut written);
        let owned = decider.decide(&text);
        assert_eq!(
            owned,
            policy.evaluate_json_with(&text, options),
            "{name}: {text}"
        );
        assert_eq!(outcome, owned.outcome, "{name}: {text}");
        let mut doc = Vec::new();
        gatehouse::eval::write_document(
            &mut doc,
            &gatehouse::eval::DocumentFormat::DECISION,
            &owned,
            false,
        )
        .expect("serializes");
        assert_eq!(
            String::from_utf8_lossy(&written),
            String::from_utf8_lossy(&doc),
            "{name}: JsonDecider writes other JSON for {text}"
        );
    }
    let region = Region::new(GLOBAL);
    let mut outcomes = 0usize;
    for (input, _, _) in &decoded {
        outcomes += verdict.decide(input).outcome() as usize;
    }
    let stats = region.change();
    assert_eq!(
        (stats.allocations, stats.reallocations),
        (0, 0),
        "{name}: deciding {} inputs allocated (outcome sum {outcomes})",
        decoded.len()
    );
    decoded.len()
}

/// A policy under test: a name for messages, the policy, its inputs.
type Case = (String, Policy, Vec<(Json, EvalOptions)>);

fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::deterministic_rng(RngAlgorithm::ChaCha),
    );
    for n in 0..POLICIES {
        let seed = generate::policy_seed()
            .new_tree(&mut runner)
            .expect("a seed")
            .current();
        let built = generate::build(&seed);
        let policy = Policy::from_sources(built.sources.clone()).expect("generated sets compile");
        let inputs = (0..INPUTS)
            .map(|_| {
                let s = generate::input_seed()
                    .new_tree(&mut runner)
                    .expect("a seed")
                    .current();
                generate::build_input(&built, &s)
            })
            .collect();
        out.push((
            format!("generated policy {n}:\n{}", built.text()),
            policy,
            inputs,
        ));
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    for (policy, samples) in [
        ("policies/ai-agent-actions", "examples/actions"),
        ("policies/simple-router", "examples/router"),
    ] {
        let loaded = Policy::load(root.join(policy)).expect("shipped policies load");
        let mut inputs = Vec::new();
        for entry in std::fs::read_dir(root.join(samples)).expect("samples") {
            let path = entry.expect("an entry").path();
            let text = std::fs::read_to_string(&path).expect("a sample");
            let value: Json = match path.extension().and_then(|e| e.to_str()) {
                Some("json") => serde_json::from_str(&text).expect("JSON"),
                _ => serde_yaml::from_str(&text).expect("YAML"),
            };
            inputs.push((value, EvalOptions::default()));
        }
        out.push((policy.to_owned(), loaded, inputs));
    }
    let mut matrix = String::from(include_str!("../benches/peers/policies/matrix.gate"));
    for k in 0..1_000 {
        matrix.push_str(&format!(
            "reason SYS_{k} \"system {k}\"\nrule sys_{k} when action.target == \"sys:{k}\" then tier 3 because SYS_{k}\n"
        ));
    }
    let policy = Policy::from_source("matrix.gate", matrix).expect("the matrix compiles");
    let inputs = (0..400)
        .map(|i| {
            const TYPES: [&str; 7] = ["read", "refund", "pay", "deploy", "delete", "draft", "send"];
            let (ty, scope, class) = (TYPES[i % 7], ["internal", "external"][i % 2], ["public", "pii", "financial"][i % 3]);
            let target = if i % 3 == 0 {
                format!("sys:{}", i * 7 % 1_000)
            } else {
                ["prod:api", "iam:roles", "crm"][i % 3].to_owned()
            };
            let v = serde_json::json!({
                "action": {
                    "type": ty,
                    "scope": scope,
                    "target": target,
                    "amount": (i * 397) % 150_000,
                    "data_classes": [class],
                },
                "model": { "confidence": i % 101 },
                "change_window": { "open": i % 2 == 0 },
                "requester": { "id": "u-1" },
                "agent": { "owner": "u-2" },
                "evidence": if i % 4 == 0 { serde_json::json!({}) } else { serde_json::json!({"rollback_plan": "r", "impact_estimate": "i"}) },
            });
            (v, EvalOptions::default())
        })
        .collect();
    out.push(("matrix + 1 000 rules".to_owned(), policy, inputs));
    out
}

//! `gatehouse schema input --policy DIR`: the exported JSON Schema of a
//! policy's input contract is a plain object schema with nested objects,
//! and accepts exactly the inputs the policy accepts (a property test over
//! near misses: wrong types, nulls, absent keys, bad enum values, malformed
//! durations and timestamps, parents that are not objects, evidence that is
//! not an object, undeclared fields with and without --strict).

use std::path::{Path, PathBuf};
use std::process::Output;

use gatehouse::{EvalOptions, Policy};
use proptest::prelude::*;
use serde_json::{Value, json};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn gatehouse(args: &[&str]) -> Output {
    assert_cmd::Command::cargo_bin("gatehouse")
        .expect("the gatehouse binary")
        .current_dir(root())
        .args(args)
        .output()
        .expect("runs")
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

fn examples() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(root().join("examples/actions"))
        .expect("examples/actions")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    out.sort();
    out
}

/// A policy with every attribute type, required and optional, nested.
const EVERY_TYPE: &str = r#"policy "every-type" version "1"
schema {
  action.type: enum { read, refund }
  action.amount: number?
  action.customer_facing: bool
  action.tags: set of string?
  action.classes: set of enum { public, pii }
  action.window.opens_in: duration?
  action.window.at: timestamp?
  requester.id: string
  model.confidence: number?
}
evidence { diff, rollback_plan }
default queue
"#;

fn export(policy: &Path, strict: bool) -> Value {
    let mut args = vec!["schema", "input", "--policy", s(policy)];
    if strict {
        args.push("--strict");
    }
    let out = gatehouse(&args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let schema: Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    jsonschema::draft202012::meta::validate(&schema).expect("a valid 2020-12 schema");
    schema
}

fn every_type_policy() -> (PathBuf, Policy) {
    // One directory per call: the tests run on several threads, and a
    // shared path let one thread's write (truncate, then write) be read
    // empty by another's `gatehouse schema input` (seen once in CI).
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!(
        "gatehouse-schema-input-{}-{call}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("every.gate");
    std::fs::write(&file, EVERY_TYPE).expect("write");
    (
        file,
        Policy::from_source("every.gate", EVERY_TYPE).expect("compiles"),
    )
}

/// Accepted by the policy (no INVALID_INPUT)?
fn policy_accepts(policy: &Policy, input: &Value, strict: bool) -> bool {
    let d = policy.evaluate_with(input, &EvalOptions::default().with_strict(strict));
    d.input_errors.is_empty()
}

#[test]
fn the_input_schema_is_a_plain_object_schema_with_nested_objects() {
    let (file, _) = every_type_policy();
    let schema = export(&file, false);
    assert_eq!(schema["type"], "object");
    assert_eq!(
        schema["required"],
        json!(["action", "requester"]),
        "model is optional: nothing under it is required"
    );
    let action = &schema["properties"]["action"];
    assert_eq!(action["type"], "object");
    assert_eq!(
        action["required"],
        json!(["classes", "customer_facing", "type"])
    );
    assert_eq!(
        action["properties"]["type"]["enum"],
        json!(["read", "refund"])
    );
    assert_eq!(
        action["properties"]["amount"]["type"],
        json!(["number", "null"])
    );
    assert_eq!(
        action["properties"]["window"]["type"],
        json!(["object", "null"])
    );
    assert!(schema["properties"]["evidence"]["properties"]["diff"].is_object());
    assert!(schema.get("additionalProperties").is_none());
    let strict = export(&file, true);
    assert_eq!(strict["additionalProperties"], json!(false));
    assert_eq!(
        strict["properties"]["action"]["additionalProperties"],
        json!(false)
    );
    // the shipped policies export too, and their examples agree
    for policy in ["policies/ai-agent-actions", "policies/simple-router"] {
        let p = Policy::load(root().join(policy)).expect("compiles");
        let v = jsonschema::draft202012::new(&export(&root().join(policy), false)).expect("schema");
        for example in examples()
            .iter()
            .filter(|e| e.extension().is_some_and(|x| x == "json"))
        {
            let input: Value =
                serde_json::from_str(&std::fs::read_to_string(example).expect("read"))
                    .expect("JSON");
            assert_eq!(
                v.is_valid(&input),
                policy_accepts(&p, &input, false),
                "{policy} and its exported schema disagree on {}",
                example.display()
            );
        }
    }
}

/// A value for an attribute slot: index into a pool of valid and invalid
/// encodings; `None` leaves the key out.
fn pool() -> Vec<Option<Value>> {
    vec![
        None,
        Some(Value::Null),
        Some(json!(true)),
        Some(json!(false)),
        Some(json!(0)),
        Some(json!(250)),
        Some(json!(-3.5)),
        Some(json!(5400)),
        Some(json!(-60)),
        Some(json!("read")),
        Some(json!("refund")),
        Some(json!("REFUND")),
        Some(json!("")),
        Some(json!("u-1")),
        Some(json!("true")),
        Some(json!("250")),
        Some(json!("1h30m")),
        Some(json!("90m")),
        Some(json!("30m1h")),
        Some(json!("2d")),
        Some(json!("h")),
        Some(json!("2026-11-22T18:00:00Z")),
        Some(json!("2026-11-22T19:00:00+01:00")),
        Some(json!("2026-11-22 18:00:00.5z")),
        Some(json!("2026-11-22T18:00:00")),
        Some(json!("2026-11-22")),
        Some(json!([])),
        Some(json!(["public"])),
        Some(json!(["public", "pii", "public"])),
        Some(json!(["secret"])),
        Some(json!(["a", "b"])),
        Some(json!([1])),
        Some(json!({})),
        Some(json!({"x": 1})),
    ]
}

/// The leaf paths of EVERY_TYPE, and the objects above them.
const LEAVES: [&[&str]; 9] = [
    &["action", "type"],
    &["action", "amount"],
    &["action", "customer_facing"],
    &["action", "tags"],
    &["action", "classes"],
    &["action", "window", "opens_in"],
    &["action", "window", "at"],
    &["requester", "id"],
    &["model", "confidence"],
];
const PARENTS: [&[&str]; 4] = [
    &["action"],
    &["action", "window"],
    &["requester"],
    &["model"],
];

fn set_path(doc: &mut Value, path: &[&str], value: Value) {
    let mut at = doc;
    for (i, key) in path.iter().enumerate() {
        if i + 1 == path.len() {
            if let Some(o) = at.as_object_mut() {
                o.insert((*key).to_owned(), value);
            }
            return;
        }
        if !at.get(*key).is_some_and(Value::is_object) {
            if let Some(o) = at.as_object_mut() {
                o.insert((*key).to_owned(), json!({}));
            } else {
                return;
            }
        }
        at = at.get_mut(*key).expect("just made");
    }
}

/// Values of the right type for each leaf of [`LEAVES`], so that most
/// generated inputs are accepted and the refusals are near misses.
fn valid(leaf: usize) -> Vec<Value> {
    match leaf {
        0 => vec![json!("read"), json!("refund")],
        1 | 8 => vec![json!(0), json!(250), json!(-3.5), json!(1e20), Value::Null],
        2 => vec![json!(true), json!(false)],
        3 => vec![json!([]), json!(["a", "b"]), json!(["a", "a"])],
        4 => vec![
            json!([]),
            json!(["public"]),
            json!(["pii", "public", "pii"]),
        ],
        5 => vec![
            json!("1h30m"),
            json!(5400),
            json!("2d"),
            json!(0),
            json!("0s"),
        ],
        6 => vec![
            json!("2026-11-22T18:00:00Z"),
            json!("2026-11-22t19:00:00+01:00"),
        ],
        _ => vec![json!("u-1"), json!("")],
    }
}

/// An input from indices: per leaf, seven times in eight a value of its
/// type, else one from [`pool`] (absent, null, wrong types, near misses);
/// one time in eight a parent replaced by a pool value; an evidence value;
/// an undeclared field.
fn build(leaves: &[usize], parents: &[usize], evidence: usize, extra: bool) -> Value {
    let pool = pool();
    let mut doc = json!({});
    for (n, (path, i)) in LEAVES.iter().zip(leaves).enumerate() {
        let value = if i % 8 == 0 {
            pool.get((i / 8) % pool.len()).cloned().flatten()
        } else {
            let ok = valid(n);
            ok.get((i / 8) % ok.len()).cloned()
        };
        if let Some(v) = value {
            set_path(&mut doc, path, v);
        }
    }
    for (path, i) in PARENTS.iter().zip(parents) {
        if i % 8 == 0 {
            match pool.get((i / 8) % pool.len()) {
                Some(Some(v)) => set_path(&mut doc, path, v.clone()),
                Some(None) => {
                    if let [top] = path {
                        doc.as_object_mut().expect("object").remove(*top);
                    }
                }
                None => {}
            }
        }
    }
    match evidence % 4 {
        0 => {}
        1 => doc["evidence"] = json!({"diff": "a diff", "rollback_plan": null}),
        2 => doc["evidence"] = json!([1]),
        _ => doc["evidence"] = json!({"diff": "d", "undeclared": 1}),
    }
    if extra {
        set_path(&mut doc, &["action", "undeclared"], json!(1));
    }
    doc
}

#[test]
fn the_generated_inputs_reach_both_sides() {
    // a fixed walk over the generator: both answers are common, so the
    // property below compares the schema with the policy on each side
    let (_, policy) = every_type_policy();
    let (mut accepted, mut refused) = (0, 0);
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = |m: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        usize::try_from(x % m).expect("small")
    };
    for _ in 0..1000 {
        let leaves: Vec<usize> = (0..LEAVES.len()).map(|_| next(512)).collect();
        let parents: Vec<usize> = (0..PARENTS.len()).map(|_| next(512)).collect();
        let input = build(&leaves, &parents, next(4), next(2) == 1);
        if policy_accepts(&policy, &input, false) {
            accepted += 1;
        } else {
            refused += 1;
        }
    }
    assert!(
        accepted > 50 && refused > 50,
        "{accepted} accepted, {refused} refused"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// The exported schema accepts exactly the inputs the policy accepts,
    /// plain and under --strict.
    #[test]
    fn the_input_schema_accepts_exactly_what_the_policy_accepts(
        leaves in proptest::collection::vec(0usize..512, LEAVES.len()),
        parents in proptest::collection::vec(0usize..512, PARENTS.len()),
        evidence in 0usize..4,
        extra in any::<bool>(),
        strict in any::<bool>(),
    ) {
        thread_local! {
            static FIXTURE: (Policy, jsonschema::Validator, jsonschema::Validator) = {
                let (file, policy) = every_type_policy();
                let plain = jsonschema::draft202012::new(&export(&file, false)).expect("schema");
                let strict = jsonschema::draft202012::new(&export(&file, true)).expect("schema");
                (policy, plain, strict)
            };
        }
        let input = build(&leaves, &parents, evidence, extra);
        FIXTURE.with(|(policy, plain, strict_v)| {
            let v = if strict { strict_v } else { plain };
            let accepted = policy_accepts(policy, &input, strict);
            prop_assert_eq!(
                v.is_valid(&input),
                accepted,
                "strict {}: the policy {} {}",
                strict,
                if accepted { "accepts" } else { "refuses" },
                input
            );
            Ok(())
        })?;
    }
}

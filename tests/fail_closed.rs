//! Fail closed, everywhere: for malformed and adversarial inputs the engine
//! answers a valid decision or `block` with `INVALID_INPUT`, never panics,
//! and never answers less strictly than for the same input with the
//! offending field removed.
//!
//! Inputs go in as JSON *text* through `Policy::evaluate_json`, so what a
//! `serde_json::Value` cannot hold (duplicate keys, `NaN`, `1e400` spelled
//! out, a byte order mark) reaches the engine exactly as a service would
//! receive it.

use std::sync::OnceLock;

use gatehouse::check::Type;
use gatehouse::{Decision, Outcome, Policy};
use proptest::prelude::*;
use serde_json::{Value, json};

struct Shipped {
    name: &'static str,
    policy: Policy,
    /// Sample actions that decode cleanly.
    samples: Vec<Value>,
}

fn shipped() -> &'static [Shipped] {
    static SHIPPED: OnceLock<Vec<Shipped>> = OnceLock::new();
    SHIPPED.get_or_init(|| {
        [
            ("policies/ai-agent-actions", "examples/actions"),
            ("policies/simple-router", "examples/router"),
        ]
        .into_iter()
        .map(|(policy, examples)| {
            let policy_value = Policy::load(policy).expect("the shipped policy compiles");
            let mut samples = Vec::new();
            let mut paths: Vec<_> = std::fs::read_dir(examples)
                .expect("examples")
                .map(|e| e.expect("entry").path())
                .collect();
            paths.sort();
            for path in paths {
                let text = std::fs::read_to_string(&path).expect("read");
                let syntax = gatehouse::input::Syntax::of_path(&path);
                let value = gatehouse::input::parse(&text, syntax).expect("a sample parses");
                if policy_value.evaluate(&value).input_errors.is_empty() {
                    samples.push(value);
                }
            }
            assert!(samples.len() >= 5, "{policy}: too few clean samples");
            Shipped {
                name: policy,
                policy: policy_value,
                samples,
            }
        })
        .collect()
    })
}

/// A decision with the parts that depend on the input's spelling removed.
fn essence(d: &Decision) -> Value {
    let mut v = serde_json::to_value(d).expect("a decision serializes");
    if let Some(o) = v.as_object_mut() {
        o.remove("action_digest");
    }
    v
}

/// The invariant every decision must keep.
#[track_caller]
fn assert_well_formed(d: &Decision, context: &str) {
    if !d.input_errors.is_empty() {
        assert_eq!(d.outcome, Outcome::Block, "{context}");
        assert!(d.has_reason("INVALID_INPUT"), "{context}");
        assert!(d.approvals.is_none(), "{context}");
        for e in &d.input_errors {
            assert!(e.path.starts_with('$'), "{context}: path {}", e.path);
        }
    }
    if d.has_reason("INVALID_INPUT") {
        assert!(!d.input_errors.is_empty(), "{context}");
    }
    // Round trip: what the CLI prints is what a client reads back.
    let text = serde_json::to_string(d).expect("serializes");
    let back: Decision = serde_json::from_str(&text).expect("reads back");
    assert_eq!(&back, d, "{context}");
}

/// Values no declared attribute accepts as what it is, written as raw JSON
/// text (some are not JSON at all).
fn adversarial() -> impl Strategy<Value = String> {
    let fixed = prop::sample::select(vec![
        "null",
        "true",
        "false",
        "0",
        "-0",
        "-0.0",
        "1e400",
        "-1e400",
        "1e-400",
        "123456789012345678901234567890",
        "-123456789012345678901234567890.5",
        "0.0000000000000000001",
        "NaN",
        "-NaN",
        "Infinity",
        "-Infinity",
        "\"NaN\"",
        "\"1e3\"",
        "\"\"",
        "\"\\u0000\"",
        "\"\\ud800\"",
        "\"read\\u0000\"",
        "\"READ\"",
        "\" read\"",
        "[]",
        "{}",
        "[null]",
        "[1, \"a\", null, {}]",
        "{\"type\": \"read\"}",
        "{\"a\": 1, \"a\": 2}",
        "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
        "\"1h\"",
        "\"2026-13-45T99:99:99Z\"",
        "\"9999-12-31T23:59:59Z\"",
        "86400000000000000000000",
        "1,",
        "",
        "]",
    ])
    .prop_map(str::to_owned);
    prop_oneof![
        4 => fixed,
        1 => any::<f64>().prop_map(|f| serde_json::to_string(&f).unwrap_or_else(|_| "0".into())),
        1 => any::<i128>().prop_map(|i| i.to_string()),
        1 => "\\PC{0,40}".prop_map(|s| serde_json::to_string(&s).expect("a string serializes")),
        1 => (0usize..200_000).prop_map(|n| format!("\"{}\"", "x".repeat(n))),
        1 => (60usize..200).prop_map(|n| format!("{}{}", "[".repeat(n), "]".repeat(n))),
    ]
}

/// Whether a JSON value is of the kind a type is encoded as (the value may
/// still be refused: an unknown enum value, a malformed timestamp).
fn same_kind(ty: &Type, value: &Value) -> bool {
    match ty {
        Type::Bool => value.is_boolean(),
        Type::Number => value.is_number(),
        Type::String | Type::Enum(_) | Type::Timestamp => value.is_string(),
        Type::Duration => value.is_string() || value.is_u64(),
        Type::Set(item) => value
            .as_array()
            .is_some_and(|items| items.iter().all(|i| same_kind(item, i))),
    }
}

/// A number beyond the engine's exact range (magnitude 1e20).
fn out_of_range(value: &Value) -> bool {
    value
        .as_number()
        .and_then(|n| n.as_str().parse::<f64>().ok())
        .is_some_and(|f| !f.is_finite() || f.abs() > 1.000_001e20)
}

/// Where to put the value: a declared attribute, somewhere undeclared, or
/// an evidence field.
#[derive(Clone, Debug)]
enum Target {
    Declared(usize),
    Undeclared(&'static str),
}

fn target() -> impl Strategy<Value = Target> {
    prop_oneof![
        3 => (0usize..64).prop_map(Target::Declared),
        1 => prop::sample::select(vec!["zzz", "action.zzz", "meta.deep.er", "requester.extra", "action.type.inner"])
            .prop_map(Target::Undeclared),
    ]
}

const MARK: &str = "\u{1}ADVERSARIAL\u{1}";

/// Sets `path` in `doc` to `value`, creating objects on the way; `false`
/// when a non-object stands in the way.
fn set(doc: &mut Value, path: &[&str], value: Value) -> bool {
    let Some((last, parents)) = path.split_last() else {
        return false;
    };
    let mut at = doc;
    for seg in parents {
        let Some(obj) = at.as_object_mut() else {
            return false;
        };
        at = obj.entry(seg.to_string()).or_insert_with(|| json!({}));
    }
    match at.as_object_mut() {
        Some(obj) => {
            obj.insert(last.to_string(), value);
            true
        }
        None => false,
    }
}

fn remove(doc: &mut Value, path: &[&str]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut at = doc;
    for seg in parents {
        match at.get_mut(*seg) {
            Some(next) => at = next,
            None => return,
        }
    }
    if let Some(obj) = at.as_object_mut() {
        obj.shift_remove(*last);
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 1500,
        failure_persistence: None,
        .. ProptestConfig::default()
    })]

    /// An adversarial value at any path: a valid decision or
    /// block/INVALID_INPUT, never less strict than without the field; an
    /// undeclared field changes nothing.
    #[test]
    fn adversarial_values_never_loosen_the_decision(
        which in 0usize..2,
        sample in 0usize..64,
        target in target(),
        raw in adversarial(),
    ) {
        let s = &shipped()[which];
        let base = &s.samples[sample % s.samples.len()];
        let attributes = &s.policy.checked().attributes;
        let (path, declared): (String, bool) = match target {
            Target::Declared(i) => (attributes[i % attributes.len()].path.clone(), true),
            Target::Undeclared(p) => (p.to_owned(), false),
        };
        let segments: Vec<&str> = path.split('.').collect();
        let mut with = base.clone();
        prop_assume!(set(&mut with, &segments, Value::String(MARK.into())));
        let text = serde_json::to_string(&with)
            .expect("serializes")
            .replace(&serde_json::to_string(MARK).expect("mark"), &raw);
        let mut without = base.clone();
        remove(&mut without, &segments);

        let context = format!("{}: `{path}` = {}", s.name, raw.chars().take(80).collect::<String>());
        let d_with = s.policy.evaluate_json(&text);
        let d_without = s.policy.evaluate(&without);
        assert_well_formed(&d_with, &context);
        assert_well_formed(&d_without, &context);
        let refused = d_with.has_reason("INVALID_INPUT");
        // Not JSON at all, or refused as a document (a duplicate key,
        // excess depth): refused whole, never read in part.
        let parsed = gatehouse::input::parse(&format!("[{raw}]"), gatehouse::input::Syntax::Json);
        match parsed.as_ref().map(|v| v.get(0)) {
            Err(_) | Ok(None) => prop_assert!(refused, "{context}"),
            Ok(Some(value)) if declared => {
                let ty = &attributes.iter().find(|a| a.path == path).expect("declared").ty;
                if value.is_null() {
                    // null is absent: exactly as if the field were removed.
                    prop_assert_eq!(essence(&d_with), essence(&d_without), "{}", context);
                } else if !same_kind(ty, value) {
                    // Never coerced: a wrong kind is refused.
                    prop_assert!(refused, "{context}: a {ty:?} accepted {value}");
                } else if *ty == Type::Number && out_of_range(value) {
                    // Never rounded or clamped into range.
                    prop_assert!(refused, "{context}: out of range, accepted");
                }
            }
            Ok(Some(_)) => {
                // Undeclared: the engine never reads it.
                if !refused {
                    prop_assert_eq!(essence(&d_with), essence(&d_without), "{}", context);
                }
            }
        }
        // "Never less strict than without the field": a refused input is
        // `block` (assert_well_formed), the strictest outcome; an accepted
        // one is checked above (null, undeclared) or is a legitimate value.
    }

    /// The same number spelled differently is the same decision.
    #[test]
    fn spellings_of_one_number_decide_alike(
        sample in 0usize..64,
        units in -2_000_000i64..2_000_000,
        scale in 0u32..3,
        spelling in 0usize..5,
    ) {
        let s = &shipped()[0];
        let base = &s.samples[sample % s.samples.len()];
        // units / 10^scale, e.g. 125050 at scale 2 = 1250.50
        let plain = format!("{}", units as f64 / 10f64.powi(scale as i32));
        let alt = match spelling {
            0 if plain.contains('.') => format!("{plain}000"),
            0 => format!("{plain}.000"),
            1 => format!("{}e-{scale}", units),
            2 => format!("{}0e-{}", units, scale + 1),
            3 => format!("{}E-{scale}", units),
            _ => format!("{}00e-{}", units, scale + 2),
        };
        let plain_text = if plain.contains('.') { plain.clone() } else { format!("{plain}.0") };
        let mut doc = base.clone();
        prop_assume!(set(&mut doc, &["action", "amount"], Value::String(MARK.into())));
        let text = serde_json::to_string(&doc).expect("serializes");
        let mark = serde_json::to_string(MARK).expect("mark");
        let a = s.policy.evaluate_json(&text.replace(&mark, &plain_text));
        let b = s.policy.evaluate_json(&text.replace(&mark, &alt));
        prop_assert_eq!(essence(&a), essence(&b), "{} vs {}", plain_text, alt);
    }
}

/// Duplicate keys anywhere: refused with the path of the second one, even
/// where the two values agree (a parser that keeps the first would agree,
/// one that keeps the last too, but a reviewer reading the text cannot be
/// sure which the engine saw).
#[test]
fn duplicate_keys_are_invalid_input_at_their_path() {
    let s = &shipped()[0];
    for (text, path) in [
        (
            r#"{"action": {"type": "refund", "amount": 5, "amount": 50000}}"#,
            "$.action.amount",
        ),
        (
            r#"{"action": {"type": "read"}, "action": {"type": "refund", "amount": 50000}}"#,
            "$.action",
        ),
        (
            r#"{"action": {"type": "read", "type": "read"}}"#,
            "$.action.type",
        ),
        (
            r#"{"evidence": {"rollback_plan": "x", "rollback_plan": null}}"#,
            "$.evidence.rollback_plan",
        ),
        (r#"{"zzz": {"a": 1, "\u0061": 1}}"#, "$.zzz.a"),
    ] {
        let d = s.policy.evaluate_json(text);
        assert_eq!(d.outcome, Outcome::Block, "{text}");
        assert!(
            d.input_errors
                .iter()
                .any(|e| e.path == path && e.message.contains("duplicate key")),
            "{text}: {:?}",
            d.input_errors
        );
    }
}

/// Whole-document oddities, read the way the CLI reads a file.
#[test]
fn whole_document_oddities() {
    use gatehouse::input::{Syntax, parse_bytes};
    let s = &shipped()[0];
    let sample = serde_json::to_string(&s.samples[0]).expect("serializes");
    let clean = s.policy.evaluate(&s.samples[0]);

    // A byte order mark is skipped: the same decision.
    let bom = format!("\u{feff}{sample}");
    let d = s
        .policy
        .evaluate(&parse_bytes(bom.as_bytes(), Syntax::Json).expect("a BOM is fine"));
    assert_eq!(d, clean);

    // Invalid UTF-8, trailing garbage, two documents, nothing at all.
    let mut latin1 = sample.clone().into_bytes();
    latin1.extend_from_slice(b" \xe9");
    for bytes in [
        latin1,
        format!("{sample} x").into_bytes(),
        format!("{sample}{sample}").into_bytes(),
        Vec::new(),
        b"   ".to_vec(),
        b"\xff\xfe{\x00}\x00".to_vec(),
    ] {
        let errors = parse_bytes(&bytes, Syntax::Json).expect_err("refused");
        let d = s.policy.invalid_input(errors);
        assert_eq!(d.outcome, Outcome::Block);
        assert!(d.has_reason("INVALID_INPUT"));
        assert_eq!(d.input_errors[0].path, "$");
    }

    // A document that is not an object.
    for text in ["[]", "1", "\"refund\"", "null", "true"] {
        let d = s.policy.evaluate_json(text);
        assert!(d.has_reason("INVALID_INPUT"), "{text}");
    }
}

/// Sizes at and past the limits: a 10 MB string is an ordinary (large)
/// value; past 16 MiB the document is refused before it is parsed; deep
/// nesting is refused at its path.
#[test]
fn huge_and_deep_documents() {
    use gatehouse::limits::{MAX_INPUT_BYTES, MAX_INPUT_DEPTH};
    let s = &shipped()[0];
    let mut doc = s.samples[0].clone();
    set(
        &mut doc,
        &["action", "summary"],
        Value::String("x".repeat(10_000_000)),
    );
    let d = s
        .policy
        .evaluate_json(&serde_json::to_string(&doc).expect("serializes"));
    assert_eq!(
        essence(&d),
        essence(&s.policy.evaluate(&s.samples[0])),
        "an unused 10 MB string changes nothing"
    );

    set(
        &mut doc,
        &["action", "summary"],
        Value::String("x".repeat(MAX_INPUT_BYTES)),
    );
    let d = s
        .policy
        .evaluate_json(&serde_json::to_string(&doc).expect("serializes"));
    assert!(d.input_errors[0].message.contains("the limit is 16777216"));

    let deep = format!(
        r#"{{"action": {{"type": "read", "x": {}1{}}}}}"#,
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let d = s.policy.evaluate_json(&deep);
    assert_eq!(d.outcome, Outcome::Block);
    assert!(
        d.input_errors[0].path.starts_with("$.action.x[0][0]"),
        "{:?}",
        d.input_errors
    );
    assert!(
        d.input_errors[0]
            .message
            .contains(&format!("nested more than {MAX_INPUT_DEPTH} levels"))
    );
}

/// A value built in code, nested deeper than any reader accepts: refused
/// (no stack overflow in the decoder or the digest), and never digested.
#[test]
fn a_deep_value_built_in_code_is_refused() {
    use gatehouse::limits::MAX_INPUT_DEPTH;
    let s = &shipped()[0];
    let mut deep = json!(1);
    for _ in 0..100_000 {
        deep = Value::Array(vec![deep]);
    }
    let mut doc = s.samples[0].clone();
    set(&mut doc, &["action", "extra"], deep);
    let d = s.policy.evaluate(&doc);
    assert_eq!(d.outcome, Outcome::Block);
    assert!(
        d.input_errors[0]
            .message
            .contains(&format!("{MAX_INPUT_DEPTH} levels"))
    );
    assert_eq!(d.action_digest, None);
    // The digest itself stays bounded too.
    let digest = gatehouse::audit::digest::action_digest(&doc);
    assert!(digest.starts_with("sha256:"));
    // serde_json drops nested values recursively: take it apart by hand.
    let mut v = doc;
    let mut stack = vec![];
    if let Some(o) = v.get_mut("action").and_then(Value::as_object_mut)
        && let Some(x) = o.shift_remove("extra")
    {
        stack.push(x);
    }
    while let Some(mut x) = stack.pop() {
        if let Some(items) = x.as_array_mut() {
            stack.append(items);
        }
    }
}

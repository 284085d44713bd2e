//! Numbers are decided as written, in every build: with serde_json's
//! `arbitrary_precision` (the CLI) and without it (a user's build, where a
//! `serde_json::Value` holds an `f64`). Both configurations run in CI
//! (`scripts/engine-alone.sh` and the workspace tests), so each branch on
//! the build below asserts something.

use serde_json::{Value, json};

use super::decode_json::numbers::serde_json_keeps_number_text;
use crate::Policy;
use crate::eval::{Decision, Outcome};

fn policy() -> Policy {
    Policy::from_source(
        "n.gate",
        r#"policy "n" version "1"
schema { action.amount: number  requester.id: string }
role lead
reason BIG "above 1000"
tier 0 "none" { outcome auto }
tier 3 "money" { outcome explicit  approve lead }
rule big when action.amount > 1000 then tier 3 because BIG
default tier 0 because NO_RULE_MATCHED
"#,
    )
    .unwrap()
}

fn doc(amount: &str) -> String {
    format!(r#"{{"action": {{"amount": {amount}}}, "requester": {{"id": "u"}}}}"#)
}

/// A document both fast decoders leave to the `Value` reader: serde's
/// visitors for the undeclared keys (more in one object than they compare
/// themselves), the one-pass reader, without `arbitrary_precision`, for the
/// undeclared `1e308` (near an `f64`'s range, where serde_json may refuse;
/// the `Value` holds it, and beyond the decimals' range it is no number the
/// engine would decide with). With `arbitrary_precision` the one-pass
/// reader decides it, with the digits written.
fn doc_left_to_the_reader(amount: &str) -> String {
    let extra: Vec<String> = (0..=super::decode_json::MAX_UNKNOWN_KEYS)
        .map(|i| format!(r#""x{i}": {i}"#))
        .collect();
    format!(
        r#"{{"action": {{"amount": {amount}}}, "requester": {{"id": "u"}}, "big": 1e308, "extra": {{{}}}}}"#,
        extra.join(", ")
    )
}

#[track_caller]
fn invalid(d: &Decision) {
    assert_eq!(d.outcome, Outcome::Block, "{d:?}");
    assert!(!d.input_errors.is_empty(), "{d:?}");
    assert_eq!(d.reasons[0].code, "INVALID_INPUT", "{d:?}");
}

#[test]
fn json_text_is_decided_with_the_number_written() {
    let p = policy();
    // 1000.0000000000000001 is 1000.0 as an f64
    for text in [doc("1000.0000000000000001"), doc("1.0000000000000000001e3")] {
        assert_eq!(p.evaluate_json(&text).outcome, Outcome::Explicit, "{text}");
        assert!(p.decode_json(&text).is_ok(), "{text}");
    }
    assert_eq!(p.evaluate_json(&doc("1000.0")).outcome, Outcome::Auto);
    assert_eq!(p.evaluate_json(&doc("-0")).outcome, Outcome::Auto);
}

#[test]
fn a_number_no_reader_holds_fails_closed() {
    let p = policy();
    // beyond every range (serde_json refuses 1e400 without
    // `arbitrary_precision`; the engine's decimals stop at 1e20) and just
    // beyond the decimals' range, which an f64 would round into it
    for amount in ["1e400", "-1e400", "100000000000000000001", "1e21"] {
        let text = doc(amount);
        invalid(&p.evaluate_json(&text));
        assert!(p.decode_json(&text).is_err(), "{text}");
        invalid(&p.evaluate_json(&doc_left_to_the_reader(amount)));
    }
}

#[test]
fn the_value_reader_never_decides_with_a_changed_number() {
    let p = policy();
    let text = doc_left_to_the_reader("1000.0000000000000001");
    assert!(
        super::decode_json::hook::fast(&p, &text, false).is_none(),
        "the fast decoder leaves it to the reader"
    );
    let d = p.evaluate_json(&text);
    if serde_json_keeps_number_text() {
        // the `Value` keeps the literal
        assert_eq!(d.outcome, Outcome::Explicit, "{d:?}");
        assert!(p.decode_json(&text).is_ok());
    } else {
        // the `Value` would hold 1000.0 (auto): refused instead
        invalid(&d);
        assert!(
            d.input_errors[0].message.contains("1000.0000000000000001"),
            "{d:?}"
        );
        assert!(p.decode_json(&text).is_err());
    }
    // a number an f64 holds exactly is decided by the reader in both builds
    let exact = doc_left_to_the_reader("1000.5");
    assert_eq!(p.evaluate_json(&exact).outcome, Outcome::Explicit);
    assert_eq!(
        p.evaluate_json(&doc_left_to_the_reader("999.5")).outcome,
        Outcome::Auto
    );
}

#[test]
fn a_value_is_decided_with_the_number_it_holds() {
    let p = policy();
    let value: Value = serde_json::from_str(&doc("1000.0000000000000001")).unwrap();
    let d = p.evaluate(&value);
    if serde_json_keeps_number_text() {
        assert_eq!(d.outcome, Outcome::Explicit);
    } else {
        // the caller's `Value` holds 1000.0: that is the number decided
        assert_eq!(value["action"]["amount"].to_string(), "1000.0");
        assert_eq!(d.outcome, Outcome::Auto);
    }
    // integers are exact in both builds
    let big = json!({"action": {"amount": 1001}, "requester": {"id": "u"}});
    assert_eq!(p.evaluate(&big).outcome, Outcome::Explicit);
    // a number a `Value` cannot hold never reaches the engine as one: an
    // f64 infinity is `null` in a `Value`, a missing required number
    let inf = json!({"action": {"amount": f64::INFINITY}, "requester": {"id": "u"}});
    assert_eq!(inf["action"]["amount"], Value::Null);
    invalid(&p.evaluate(&inf));
}

#[test]
fn a_logged_number_is_replayed_exactly_or_reported() {
    use crate::audit::digest_text::{DigestScratch, action_digest_text};
    use crate::audit::log::{ParsedLine, parse_line};
    use crate::audit::record::AuditRecord;
    use crate::audit::redact::Redaction;
    use crate::audit::replay::{ReplayResult, replay_decision};
    use crate::eval::EvalOptions;
    use crate::values::Timestamp;

    let p = policy();
    // A line as the CLI writes it for 1000.0000000000000001: built here
    // from 1000.5 (same decision: above 1000), then given the literal and
    // the digest of the text the CLI digests.
    let written = json!({"action": {"amount": 1000.5}, "requester": {"id": "u"}});
    let d = p.evaluate(&written);
    let time = Timestamp::parse("2026-11-22T09:00:00Z").unwrap();
    let record = AuditRecord::decision(
        &d,
        Some(&written),
        &EvalOptions::default(),
        &Redaction::KeepAll,
        time,
    );
    let exact = r#"{"action":{"amount":1000.0000000000000001},"requester":{"id":"u"}}"#;
    let digest = action_digest_text(exact, &mut DigestScratch::new());
    let line = record
        .to_json_line()
        .unwrap()
        .replace(r#""amount":1000.5"#, r#""amount":1000.0000000000000001"#)
        .replace(d.action_digest.as_deref().unwrap(), &digest);
    assert!(line.contains(exact), "{line}");
    let ParsedLine::Record(_, read) = parse_line(line.as_bytes()) else {
        panic!("a record: {line}")
    };
    let AuditRecord::Decision(read) = *read else {
        panic!("a decision record")
    };
    let result = replay_decision(&p, &read);
    if serde_json_keeps_number_text() {
        assert_eq!(result, ReplayResult::Identical);
    } else {
        // The `Value` read holds 1000.0: never replayed with it (which
        // would decide auto); the digest no longer matches, and says so.
        assert!(
            matches!(&result, ReplayResult::DigestMismatch { recorded, .. } if recorded.as_deref() == Some(digest.as_str())),
            "{result:?}"
        );
    }
}

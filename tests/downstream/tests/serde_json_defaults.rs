//! A user's program depends on gatehouse-engine and uses serde_json itself.
//! serde_json's features unify across the whole build, so if the engine (or
//! anything else in this workspace) turned on `arbitrary_precision` or
//! `preserve_order`, these tests would see it: the first breaks untagged
//! enums holding `f64`, the second changes map order.
//!
//! Built on its own, as a user's build is: `cargo test --locked
//! --manifest-path tests/downstream/Cargo.toml` (not a workspace member, so
//! the CLI's serde_json features never unify into it).

use gatehouse::{Outcome, Policy};
use serde::Deserialize;

#[derive(Debug, Deserialize, PartialEq)]
#[serde(untagged)]
enum Amount {
    Number(f64),
    Text(String),
}

#[test]
fn an_untagged_enum_of_f64_still_reads_a_decimal() {
    // Under `arbitrary_precision` this fails: "data did not match any variant".
    let amount: Amount = serde_json::from_str("12.5").expect("12.5 is a number");
    assert_eq!(amount, Amount::Number(12.5));
    let text: Amount = serde_json::from_str(r#""12.5""#).expect("a string");
    assert_eq!(text, Amount::Text("12.5".into()));
}

#[test]
fn maps_keep_serde_json_default_sorted_order() {
    // Under `preserve_order` the keys come back as written: b, a.
    let value: serde_json::Value = serde_json::from_str(r#"{"b": 1, "a": 2}"#).expect("an object");
    let keys: Vec<&String> = value.as_object().expect("an object").keys().collect();
    assert_eq!(keys, ["a", "b"]);
}

#[test]
fn a_number_value_is_a_float_not_a_string() {
    // `arbitrary_precision` stores numbers as text; the default stores f64.
    let value: serde_json::Value = serde_json::from_str("0.1").expect("a number");
    assert_eq!(value.as_f64(), Some(0.1));
    assert_eq!(value.to_string(), "0.1");
}

const POLICY: &str = r#"
policy "refunds" version "1"
schema {
  action.type: enum { read, refund }
  action.amount: number?
}
role support_lead
reason LARGE_REFUND "refund above 1000"
tier 0 "no effect" { outcome auto }
tier 3 "financial" { outcome explicit  approve support_lead  timeout 24h then reject }
rule large_refund when action.type == refund and action.amount > 1000
  then tier 3 because LARGE_REFUND
default tier 0 because NO_RULE_MATCHED
"#;

#[test]
fn the_engine_decides_with_default_serde_json() {
    let policy = Policy::from_source("refunds.gate", POLICY).expect("the policy compiles");
    let large = policy.evaluate(&serde_json::json!({"action": {"type": "refund", "amount": 1000.5}}));
    assert_eq!(large.outcome, Outcome::Explicit);
    let exact = policy.evaluate(&serde_json::json!({"action": {"type": "refund", "amount": 1000.0}}));
    assert_eq!(exact.outcome, Outcome::Auto);
}

#[test]
fn json_text_keeps_exact_decimals_without_arbitrary_precision() {
    // 1000.0000000000000001 is 1000 as an f64; the engine reads JSON text
    // itself, exactly, so it is above the threshold.
    let policy = Policy::from_source("refunds.gate", POLICY).expect("the policy compiles");
    let text = r#"{"action": {"type": "refund", "amount": 1000.0000000000000001}}"#;
    let decision = policy.evaluate_json(text);
    assert_eq!(decision.outcome, Outcome::Explicit);
}

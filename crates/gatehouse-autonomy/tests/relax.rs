//! The relax diff on a small real policy: the rule's consequences are
//! rewritten by span, the relaxed set compiles, and the engine's impact
//! diff over the history says what moves.

use std::sync::Arc;

use gatehouse::Policy;
use gatehouse::source::SourceFile;
use gatehouse_autonomy::relax::{self, RelaxError};

const POLICY: &str = r#"policy "small" version "1"

schema {
  action.type: enum { read, refund }
  action.amount: number
}

role support_lead "Support lead"

tier 0 "no effect" {
  outcome auto
}

tier 2 "refunds" {
  outcome explicit
  approve support_lead
}

tier 4 "large" {
  outcome dual
  approve support_lead
}

reason READ "a read"
reason REFUND "a refund"
reason LARGE "a large refund"

rule read "Reads"
  when action.type == read
  then tier 0
  because READ

rule refund "Refunds"
  when action.type == refund
  then tier 2, approve support_lead
  because REFUND

rule large "Large refunds"
  when action.type == refund and action.amount > 1000
  then tier 4
  because LARGE
"#;

fn files() -> Vec<Arc<SourceFile>> {
    vec![SourceFile::new("small.gate", POLICY)]
}

fn decision_line(policy: &Policy, amount: u32, kind: &str) -> String {
    let input = serde_json::json!({"action": {"type": kind, "amount": amount}});
    let d = policy.evaluate(&input);
    serde_json::json!({
        "record": "decision", "time": "2026-12-01T00:00:00Z", "id": "dec_1",
        "policy": {"name": "small", "version": "1", "digest": policy.digest()},
        "action_digest": d.action_digest, "input": input, "redacted": [], "outcome": d.outcome,
        "options": {"now": null, "strict": false}, "decision": d,
    })
    .to_string()
}

#[test]
fn relaxing_a_rule_moves_its_own_actions_and_flags_nothing_else() {
    let policy = Policy::from_files(files()).expect("compiles");
    let tier = relax::auto_tier(&policy, None).unwrap();
    assert_eq!(tier, 0);
    let relaxed_files = relax::relax_rule(&files(), "refund", tier).unwrap();
    assert!(
        relaxed_files[0]
            .text
            .contains("then tier 0\n  because REFUND"),
        "{}",
        relaxed_files[0].text
    );
    let relaxed = relax::compile(relaxed_files).unwrap();
    assert_ne!(relaxed.digest(), policy.digest());
    let mut history = String::new();
    for (amount, kind) in [
        (10, "refund"),
        (20, "refund"),
        (5000, "refund"),
        (0, "read"),
    ] {
        history.push_str(&decision_line(&policy, amount, kind));
        history.push('\n');
    }
    history.push_str("{\"record\":\"transition\"}\nnot json\n");
    let impact = relax::impact(
        &policy,
        &relaxed,
        tier,
        history.as_bytes(),
        Some(gatehouse::Outcome::Explicit),
    )
    .unwrap();
    assert_eq!(impact.inputs, 4);
    // The two small refunds go explicit -> auto; the large one stays dual
    // (the `large` rule still holds it); the read is unchanged.
    assert_eq!(impact.loosened, 2);
    assert_eq!(impact.loosened_beyond, 0);
    assert_eq!(impact.transitions.len(), 1);
    assert_eq!(impact.transitions[0].count, 2);
    assert_eq!(impact.transitions[0].from, gatehouse::Outcome::Explicit);
    assert_eq!(impact.transitions[0].to, gatehouse::Outcome::Auto);
}

#[test]
fn relaxing_the_rule_that_held_dual_is_flagged_beyond_an_explicit_candidate() {
    let policy = Policy::from_files(files()).unwrap();
    let relaxed = relax::compile(relax::relax_rule(&files(), "large", 0).unwrap()).unwrap();
    let line = decision_line(&policy, 5000, "refund");
    // The candidate held `explicit`: a dual -> explicit move is a loosening
    // beyond what the candidate itself held.
    let impact = relax::impact(
        &policy,
        &relaxed,
        0,
        line.as_bytes(),
        Some(gatehouse::Outcome::Explicit),
    )
    .unwrap();
    assert_eq!(impact.loosened, 1);
    assert_eq!(impact.loosened_beyond, 1);
}

#[test]
fn refusals() {
    let policy = Policy::from_files(files()).unwrap();
    assert_eq!(
        relax::auto_tier(&policy, Some(2)),
        Err(RelaxError::NotAnAutoTier(2))
    );
    assert_eq!(relax::auto_tier(&policy, Some(0)), Ok(0));
    assert_eq!(
        relax::relax_rule(&files(), "nope", 0).err(),
        Some(RelaxError::NoSuchRule("nope".into()))
    );
    let no_auto = POLICY.replace("outcome auto", "outcome queue");
    let p = Policy::from_source("x.gate", no_auto).unwrap();
    assert_eq!(relax::auto_tier(&p, None), Err(RelaxError::NoAutoTier));
}

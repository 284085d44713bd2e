//! The combining rules of `eval/mod.rs`, each pinned by a test.

use serde_json::json;

use crate::Policy;
use crate::eval::{EvalOptions, Outcome};
use crate::values::Timestamp;

const BASE: &str = r#"
schema {
  action.type: enum { read, draft, send, update, delete, execute }
  action.amount: number?
  action.target: string?
  action.customer_facing: bool?
  action.data: set of enum { pii, phi, financial }?
  action.tags: set of string?
  action.window: duration?
  action.at: timestamp?
  requester.id: string
  agent.owner: string?
  change_window.open: bool?
}
evidence { diff, rollback_plan, impact_estimate }
role reviewer
role security_approver
role change_manager
role finance_approver limit action.amount <= 10000 escalate to finance_director
role finance_director limit action.amount < 100000
reason SEND "sends"
reason BIG "big"
reason PROD "prod"
reason PII "pii"
reason DEF "default"
tier 0 "none" { outcome auto }
tier 1 "low" { outcome queue  approve reviewer }
tier 2 "reversible" { outcome explicit  approve reviewer  evidence diff otherwise queue  timeout 8h then escalate to security_approver }
tier 3 "money" { outcome explicit  approve finance_approver  evidence impact_estimate  timeout 24h then reject  forbid approval by requester.id }
tier 4 "prod" {
  outcome dual
  approve security_approver and change_manager
  evidence diff, rollback_plan
  timeout 4h then block
  forbid approval by requester.id, agent.owner
  distinct roles
  require change_window.open
  require "human-supervised execution"
}
"#;

fn policy(mode: &str, rules: &str) -> Policy {
    let text = format!("policy \"t\" version \"1\" combine {mode}\n{BASE}\n{rules}");
    match Policy::from_source("t.gate", text) {
        Ok(p) => p,
        Err(e) => panic!("{}", e),
    }
}

fn input(extra: serde_json::Value) -> serde_json::Value {
    let mut base = json!({"action": {"type": "update"}, "requester": {"id": "alice"}});
    merge(&mut base, extra);
    base
}

fn merge(a: &mut serde_json::Value, b: serde_json::Value) {
    match (a, b) {
        (serde_json::Value::Object(a), serde_json::Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k).or_insert(serde_json::Value::Null), v);
            }
        }
        (a, b) => *a = b,
    }
}

const RULES: &str = r#"
rule send when action.type == send then tier 1 because SEND
rule big when action.amount > 1000 then tier 3 because BIG
rule prod when action.target starts_with "prod:" then tier 4 because PROD
rule pii when action.data contains pii then at least explicit because PII
default tier 0 because DEF
"#;

#[test]
fn strictest_takes_the_tier_with_the_strictest_outcome_and_every_reason() {
    let p = policy("strictest", RULES);
    let d = p.evaluate(&input(
        json!({"action": {"type": "send", "amount": 5000, "target": "prod:db"},
        "evidence": {"diff": "d", "rollback_plan": "r", "impact_estimate": "i"}}),
    ));
    assert_eq!(d.outcome, Outcome::Dual);
    assert_eq!(d.tier.as_ref().map(|t| t.id), Some(4));
    assert_eq!(d.reason_codes(), ["SEND", "BIG", "PROD"]);
    let determining: Vec<&str> = d
        .rules
        .iter()
        .filter(|r| r.determining)
        .map(|r| r.name.as_str())
        .collect();
    assert_eq!(determining, ["prod"]);
}

#[test]
fn first_match_takes_only_the_first_matching_rule() {
    let p = policy("first-match", RULES);
    let d = p.evaluate(&input(
        json!({"action": {"type": "send", "amount": 5000, "target": "prod:db"}}),
    ));
    assert_eq!(d.outcome, Outcome::Queue);
    assert_eq!(d.reason_codes(), ["SEND"]);
    assert_eq!(d.rules.len(), 1);
    assert!(d.rules[0].determining);
}

#[test]
fn default_applies_only_when_no_rule_matches() {
    let p = policy("strictest", RULES);
    let d = p.evaluate(&input(json!({})));
    assert_eq!(d.outcome, Outcome::Auto);
    assert_eq!(d.tier.as_ref().map(|t| t.id), Some(0));
    assert_eq!(d.reason_codes(), ["DEF"]);
    assert_eq!(d.rules[0].name, "default");
}

#[test]
fn a_raise_without_a_tier_builds_on_the_default_tier_without_its_reasons() {
    let p = policy("strictest", RULES);
    let d = p.evaluate(&input(json!({"action": {"data": ["pii"]}})));
    assert_eq!(d.outcome, Outcome::Explicit);
    assert_eq!(d.tier.as_ref().map(|t| t.id), Some(0));
    assert_eq!(d.reason_codes(), ["PII"]);
}

#[test]
fn no_default_and_no_match_blocks_with_no_rule_matched() {
    let p = policy(
        "strictest",
        "rule send when action.type == send then tier 1 because SEND",
    );
    assert_eq!(p.warnings().0[0].code.as_str(), "W0001");
    let d = p.evaluate(&input(json!({})));
    assert_eq!(d.outcome, Outcome::Block);
    assert_eq!(d.reason_codes(), ["NO_RULE_MATCHED"]);
}

#[test]
fn unless_exceptions_stop_a_rule() {
    let p = policy(
        "strictest",
        r#"rule big when action.amount > 1000 unless requester.id == "cfo" unless action.type == read then tier 3 because BIG
           default tier 0 because DEF"#,
    );
    let ev = json!({"evidence": {"impact_estimate": "i"}});
    let mut i = input(json!({"action": {"amount": 2000}}));
    merge(&mut i, ev.clone());
    assert_eq!(p.evaluate(&i).outcome, Outcome::Explicit);
    let mut i = input(json!({"action": {"amount": 2000}, "requester": {"id": "cfo"}}));
    merge(&mut i, ev);
    assert_eq!(p.evaluate(&i).outcome, Outcome::Auto);
}

#[test]
fn thresholds_compare_exact_decimals() {
    let p = policy("strictest", RULES);
    let ev = json!({"evidence": {"impact_estimate": "i"}});
    for (amount, expected) in [
        (json!(1000), Outcome::Auto),
        (json!(1000.00), Outcome::Auto),
        (json!(1000.01), Outcome::Explicit),
        (json!(1000.0000000001), Outcome::Explicit),
        (json!(999.99), Outcome::Auto),
    ] {
        let mut i = input(json!({"action": {"amount": amount.clone()}}));
        merge(&mut i, ev.clone());
        assert_eq!(p.evaluate(&i).outcome, expected, "amount {amount}");
    }
}

#[test]
fn missing_evidence_blocks_and_names_the_fields() {
    let p = policy("strictest", RULES);
    let d = p.evaluate(&input(
        json!({"action": {"target": "prod:db"}, "evidence": {"diff": "  ", "rollback_plan": null}}),
    ));
    assert_eq!(d.outcome, Outcome::Block);
    assert!(d.has_reason("EVIDENCE_MISSING"));
    assert_eq!(d.evidence.missing, ["diff", "rollback_plan"]);
    assert!(d.approvals.is_none());
    assert!(
        !d.rules[0].determining,
        "the block comes from the evidence, not the rule"
    );
}

#[test]
fn a_tier_may_soften_missing_evidence_to_queue() {
    let p = policy(
        "strictest",
        "rule r when action.type == update then tier 2\ndefault tier 0",
    );
    let d = p.evaluate(&input(json!({})));
    // explicit stays explicit: softening never lowers the outcome
    assert_eq!(d.outcome, Outcome::Explicit);
    assert_eq!(d.evidence.on_missing, Some(Outcome::Queue));
    assert!(d.has_reason("EVIDENCE_MISSING"));
}

#[test]
fn rule_evidence_and_approvers_add_to_the_tiers() {
    let p = policy(
        "strictest",
        "rule r when action.type == update then tier 1, evidence rollback_plan, approve security_approver\ndefault tier 0",
    );
    let d = p.evaluate(&input(json!({"evidence": {"rollback_plan": "r"}})));
    // a rule that adds approvers raises the outcome to at least explicit
    assert_eq!(d.outcome, Outcome::Explicit);
    let a = d.approvals.expect("approvals");
    let roles: Vec<&str> = a
        .groups
        .iter()
        .flat_map(|g| g.roles.iter().map(|r| r.name.as_str()))
        .collect();
    assert_eq!(roles, ["reviewer", "security_approver"]);
    assert_eq!(a.count, 2);
    assert_eq!(d.evidence.required, ["rollback_plan"]);
}

#[test]
fn dual_carries_separation_of_duties_timeout_and_conditions() {
    let p = policy("strictest", RULES);
    let d = p.evaluate_with(
        &input(
            json!({"action": {"target": "prod:db"}, "agent": {"owner": "bob"},
            "change_window": {"open": false}, "evidence": {"diff": "d", "rollback_plan": "r"}}),
        ),
        &EvalOptions::default()
            .with_now(Timestamp::parse("2026-11-22T10:00:00Z"))
            .with_strict(false),
    );
    assert_eq!(d.outcome, Outcome::Dual);
    let a = d.approvals.expect("approvals");
    assert_eq!(a.count, 2);
    assert!(a.distinct_people && a.distinct_roles);
    let forbidden: Vec<Option<&str>> = a
        .forbidden_approvers
        .iter()
        .map(|f| f.identity.as_deref())
        .collect();
    assert_eq!(forbidden, [Some("alice"), Some("bob")]);
    let t = d.timeout.expect("timeout");
    assert_eq!(
        (t.after.as_str(), t.on_expiry.action.as_str()),
        ("4h", "block")
    );
    assert_eq!(t.expires_at.as_deref(), Some("2026-11-22T14:00:00Z"));
    assert_eq!(d.conditions.len(), 2);
    assert_eq!(d.conditions[0].holds, Some(false));
    assert_eq!(d.conditions[1].holds, None);
}

#[test]
fn approver_limits_escalate_then_block() {
    let p = policy("strictest", RULES);
    let ev = json!({"evidence": {"impact_estimate": "i"}});
    let role_for = |amount: serde_json::Value| {
        let mut i = input(json!({"action": {"amount": amount}}));
        merge(&mut i, ev.clone());
        p.evaluate(&i)
    };
    let d = role_for(json!(10000));
    assert_eq!(
        d.approvals
            .as_ref()
            .map(|a| a.groups[0].roles[0].name.as_str()),
        Some("finance_approver")
    );
    let d = role_for(json!(25000));
    let role = &d.approvals.as_ref().expect("approvals").groups[0].roles[0];
    assert_eq!(role.name, "finance_director");
    assert_eq!(role.escalated_from.as_deref(), Some("finance_approver"));
    assert!(d.has_reason("APPROVER_ESCALATED"));
    let d = role_for(json!(100000));
    assert_eq!(d.outcome, Outcome::Block);
    assert!(d.has_reason("APPROVER_LIMIT_EXCEEDED"));
}

#[test]
fn tests_on_absent_attributes_are_false_except_missing() {
    let p = policy(
        "strictest",
        r#"rule a when action.amount != 5 then at least queue because BIG
           rule b when not (action.amount > 5) then at least explicit because SEND
           rule c when action.amount missing then at least dual because PII
           default tier 0"#,
    );
    let d = p.evaluate(&input(json!({})));
    assert_eq!(d.reason_codes(), ["SEND", "PII"]);
    assert_eq!(d.outcome, Outcome::Dual);
}

#[test]
fn every_operator_evaluates() {
    let p = policy(
        "strictest",
        r#"rule r when action.type in [update, delete] and action.type not in [read]
             and action.target matches "^crm:[a-z]+$" and action.target ends_with "deals"
             and action.target contains ":" and action.tags contains "x"
             and action.tags contains all ["x", "y"] and action.data contains any [phi, pii]
             and action.window >= 1h30m and action.at < "2027-01-01T00:00:00Z"
             and action.customer_facing == false and requester.id != agent.owner
           then at least queue because SEND
           default tier 0"#,
    );
    let base = json!({"action": {"target": "crm:deals", "tags": ["y", "x"], "data": ["phi"],
        "window": "2h", "at": "2026-12-31T23:59:59Z", "customer_facing": false},
        "agent": {"owner": "bob"}});
    assert_eq!(p.evaluate(&input(base.clone())).outcome, Outcome::Queue);
    for breaking in [
        json!({"action": {"target": "crm:Deals"}}),
        json!({"action": {"tags": ["x"]}}),
        json!({"action": {"window": 5399}}),
        json!({"action": {"at": "2027-01-01T00:00:00Z"}}),
        json!({"agent": {"owner": "alice"}}),
        json!({"action": {"data": ["financial"]}}),
    ] {
        let mut i = base.clone();
        merge(&mut i, breaking.clone());
        assert_eq!(p.evaluate(&input(i)).outcome, Outcome::Auto, "{breaking}");
    }
}

#[test]
fn invalid_input_blocks_with_every_json_path() {
    let p = policy("strictest", RULES);
    let d = p.evaluate(&json!({"action": {"type": "launch", "amount": "12"}, "evidence": []}));
    assert_eq!(d.outcome, Outcome::Block);
    assert_eq!(d.reason_codes(), ["INVALID_INPUT"]);
    let paths: Vec<&str> = d.input_errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "$.action.type",
            "$.action.amount",
            "$.requester.id",
            "$.evidence"
        ]
    );
    assert!(p.try_evaluate(&json!([]), &EvalOptions::default()).is_err());
}

#[test]
fn strict_mode_rejects_unknown_fields() {
    let p = policy("strictest", RULES);
    let i = input(
        json!({"action": {"colour": "red"}, "extra": 1, "evidence": {"diff": "d", "other": "o"}}),
    );
    assert!(
        p.evaluate(&i).input_errors.is_empty(),
        "unknown fields are ignored by default"
    );
    let d = p.evaluate_with(&i, &EvalOptions::default().with_now(None).with_strict(true));
    let paths: Vec<&str> = d.input_errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, ["$.action.colour", "$.extra", "$.evidence.other"]);
}

#[test]
fn decisions_are_deterministic_and_carry_the_policy_digest() {
    let p = policy("strictest", RULES);
    let i = input(json!({"action": {"type": "send"}}));
    let a = serde_json::to_string(&p.evaluate(&i)).expect("json");
    let b = serde_json::to_string(&p.evaluate(&i)).expect("json");
    assert_eq!(a, b);
    assert!(p.evaluate(&i).policy.digest.starts_with("sha256:"));
    assert_eq!(p.evaluate(&i).policy.digest.len(), "sha256:".len() + 64);
}

#[test]
fn an_absent_amount_never_passes_a_role_limit() {
    let p = policy("strictest", RULES);
    let d = p.evaluate(&input(
        json!({"action": {"type": "update"}, "evidence": {"impact_estimate": "i"}}),
    ));
    assert_eq!(
        d.outcome,
        Outcome::Auto,
        "no rule routes this to a limited role"
    );
    let p = policy(
        "strictest",
        "rule r when action.type == update then tier 3 because BIG\ndefault tier 0",
    );
    let d = p.evaluate(&input(json!({"evidence": {"impact_estimate": "i"}})));
    assert_eq!(d.outcome, Outcome::Block);
    let r = d
        .reasons
        .iter()
        .find(|r| r.code == "APPROVER_LIMIT_EXCEEDED")
        .expect("reason");
    assert!(
        r.message.contains("`action.amount` is absent"),
        "{}",
        r.message
    );
}

#[test]
fn identical_groups_after_escalation_merge() {
    let p = policy(
        "strictest",
        "rule a when action.type == update then tier 3, approve finance_director because BIG\ndefault tier 0",
    );
    // tier 3 asks finance_approver, which escalates to finance_director above
    // 10000: one director approval satisfies both requests
    let d = p.evaluate(&input(
        json!({"action": {"amount": 20000}, "evidence": {"impact_estimate": "i"}}),
    ));
    let a = d.approvals.expect("approvals");
    assert_eq!(a.groups.len(), 1);
    assert_eq!(a.count, 1);
}

#[test]
fn dual_with_one_group_needs_two_people_from_it() {
    let p = policy(
        "strictest",
        "rule a when action.type == update then tier 1, at least dual because BIG\ndefault tier 0",
    );
    let d = p.evaluate(&input(json!({})));
    assert_eq!(d.outcome, Outcome::Dual);
    let a = d.approvals.expect("approvals");
    assert_eq!((a.count, a.groups.len(), a.groups[0].count), (2, 1, 2));
    assert!(a.distinct_people);
}

#[test]
fn a_role_dropped_from_an_any_group_is_reported() {
    let p = policy(
        "strictest",
        "rule a when action.type == update then at least explicit, approve reviewer or finance_director because BIG\ndefault tier 0",
    );
    let d = p.evaluate(&input(json!({})));
    assert_eq!(d.outcome, Outcome::Explicit);
    let roles: Vec<&str> = d.approvals.as_ref().expect("approvals").groups[0]
        .roles
        .iter()
        .map(|r| r.name.as_str())
        .collect();
    assert_eq!(roles, ["reviewer"]);
    let r = d
        .reasons
        .iter()
        .find(|r| r.code == "APPROVER_NOT_ELIGIBLE")
        .expect("reported");
    assert!(r.message.contains("finance_director"), "{}", r.message);
}

#[test]
fn false_and_empty_evidence_count_as_missing() {
    let p = policy("strictest", RULES);
    let d = p.evaluate(&input(json!({"action": {"amount": 5000},
        "evidence": {"impact_estimate": false}})));
    assert_eq!(d.evidence.missing, ["impact_estimate"]);
    for present in [
        json!(true),
        json!(0),
        json!("x"),
        json!(["a"]),
        json!({"k": 1}),
    ] {
        let d = p.evaluate(&input(
            json!({"action": {"amount": 5000}, "evidence": {"impact_estimate": present.clone()}}),
        ));
        assert!(d.evidence.missing.is_empty(), "{present}");
    }
    for absent in [json!(null), json!(""), json!("  "), json!([]), json!({})] {
        let d = p.evaluate(&input(
            json!({"action": {"amount": 5000}, "evidence": {"impact_estimate": absent.clone()}}),
        ));
        assert_eq!(d.evidence.missing, ["impact_estimate"], "{absent}");
    }
}

#[test]
fn approvers_on_an_auto_tier_review_when_a_rule_raises_it() {
    let text = format!(
        "policy \"t\" version \"1\"\n{BASE}\ntier 9 \"auto but reviewable\" {{ outcome auto  approve reviewer }}\n\
         rule low when action.type == draft then tier 9, at least queue because SEND\ndefault tier 9"
    );
    let p = Policy::from_source("t.gate", text).expect("compiles");
    assert_eq!(p.evaluate(&input(json!({}))).outcome, Outcome::Auto);
    let d = p.evaluate(&input(json!({"action": {"type": "draft"}})));
    assert_eq!(d.outcome, Outcome::Queue);
    assert_eq!(
        d.approvals.expect("approvals").groups[0].roles[0].name,
        "reviewer"
    );
}

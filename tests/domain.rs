//! The shipped policy sets against the domain (DOMAIN.md): every sample
//! action's decision is pinned, and the reference approval matrix, the
//! approver limits, separation of duties, evidence and the simple router's
//! first-match order are checked through the library API.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use gatehouse::{Decision, EvalOptions, Outcome, Policy};
use serde_json::{Value, json};

// ------------------------------------------------------------- helpers --

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn load_policy(rel: &str) -> Policy {
    let path = root().join(rel);
    Policy::load(&path).unwrap_or_else(|e| {
        let msgs: Vec<String> = e
            .iter()
            .map(|d| format!("{} {}", d.code.as_str(), d.message))
            .collect();
        panic!("{} does not compile:\n{}", path.display(), msgs.join("\n"))
    })
}

/// The reference approval matrix, compiled once.
fn matrix() -> &'static Policy {
    static P: OnceLock<Policy> = OnceLock::new();
    P.get_or_init(|| load_policy("policies/ai-agent-actions"))
}

/// The simple first-match router, compiled once.
fn router() -> &'static Policy {
    static P: OnceLock<Policy> = OnceLock::new();
    P.get_or_init(|| load_policy("policies/simple-router/router.gate"))
}

/// Reads a sample input: YAML for `.yaml`/`.yml`, JSON otherwise.
fn read_input(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    match path.extension().and_then(|e| e.to_str()) {
        Some("yaml" | "yml") => serde_yaml::from_str(&text)
            .unwrap_or_else(|e| panic!("{} is not YAML: {e}", path.display())),
        _ => serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display())),
    }
}

fn sample(rel: &str) -> Value {
    read_input(&root().join(rel))
}

fn action(name: &str) -> Value {
    sample(&format!("examples/actions/{name}"))
}

fn decide(name: &str) -> Decision {
    matrix().evaluate(&action(name))
}

fn route(name: &str) -> Decision {
    router().evaluate(&sample(&format!("examples/router/{name}")))
}

/// Sets `path` (dotted) in a JSON document; `Value::Null` removes the key.
fn with(mut doc: Value, path: &str, value: Value) -> Value {
    let mut parts: Vec<&str> = path.split('.').collect();
    let last = parts.pop().expect("a non-empty path");
    let mut at = &mut doc;
    for p in parts {
        at = at
            .as_object_mut()
            .expect("an object on the way")
            .entry(p)
            .or_insert_with(|| json!({}));
    }
    let obj = at.as_object_mut().expect("an object to set into");
    if value.is_null() {
        obj.remove(last);
    } else {
        obj.insert(last.to_owned(), value);
    }
    doc
}

/// A JSON document from text, so numbers keep their exact digits.
fn exact(text: &str) -> Value {
    serde_json::from_str(text).expect("valid JSON")
}

fn tier_id(d: &Decision) -> Option<u32> {
    d.tier.as_ref().map(|t| t.id)
}

/// Role names of each approver group.
fn groups(d: &Decision) -> Vec<Vec<String>> {
    d.approvals
        .as_ref()
        .map(|a| {
            a.groups
                .iter()
                .map(|g| g.roles.iter().map(|r| r.name.clone()).collect())
                .collect()
        })
        .unwrap_or_default()
}

fn approval_count(d: &Decision) -> Option<u32> {
    d.approvals.as_ref().map(|a| a.count)
}

/// (attribute, identity) of every forbidden approver.
fn forbidden(d: &Decision) -> Vec<(String, Option<String>)> {
    d.approvals
        .as_ref()
        .map(|a| {
            a.forbidden_approvers
                .iter()
                .map(|f| (f.attribute.clone(), f.identity.clone()))
                .collect()
        })
        .unwrap_or_default()
}

fn fa(attribute: &str, identity: &str) -> (String, Option<String>) {
    (attribute.to_owned(), Some(identity.to_owned()))
}

fn rule_names(d: &Decision) -> Vec<&str> {
    d.rules.iter().map(|r| r.name.as_str()).collect()
}

fn timeout(d: &Decision) -> Option<(&str, &str, Option<&str>)> {
    d.timeout.as_ref().map(|t| {
        (
            t.after.as_str(),
            t.on_expiry.action.as_str(),
            t.on_expiry.role.as_deref(),
        )
    })
}

fn conditions(d: &Decision) -> Vec<(&str, Option<bool>)> {
    d.conditions
        .iter()
        .map(|c| (c.condition.as_str(), c.holds))
        .collect()
}

// ------------------------------------------------------ shipped sets --

#[test]
fn both_shipped_policy_sets_load_without_warnings() {
    for (policy, name, files) in [
        (matrix(), "ai-agent-actions", 6),
        (router(), "simple-router", 1),
    ] {
        let warnings: Vec<String> = policy
            .warnings()
            .iter()
            .map(|d| format!("{} {}", d.code.as_str(), d.message))
            .collect();
        assert!(warnings.is_empty(), "{name} has warnings: {warnings:?}");
        assert_eq!(policy.name(), name);
        assert_eq!(policy.version(), "1.0.0");
        assert!(policy.digest().starts_with("sha256:"));
        assert_eq!(policy.checked().files.len(), files, "{name} file count");
    }
}

#[test]
fn the_matrix_is_split_over_team_files_with_one_header() {
    let set = matrix().checked();
    let names: Vec<String> = set
        .files
        .iter()
        .map(|f| {
            Path::new(&f.name)
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    assert_eq!(
        names,
        [
            "customer.gate",
            "finance.gate",
            "guardrails.gate",
            "main.gate",
            "operations.gate",
            "security.gate"
        ]
    );
    assert_eq!(set.combine, gatehouse::syntax::ast::CombineMode::Strictest);
    let tiers: Vec<(u32, Outcome)> = set.tiers.iter().map(|t| (t.id, t.outcome)).collect();
    assert_eq!(
        tiers,
        [
            (0, Outcome::Auto),
            (1, Outcome::Queue),
            (2, Outcome::Explicit),
            (3, Outcome::Explicit),
            (4, Outcome::Dual),
            (5, Outcome::Dual),
        ]
    );
    assert!(set.default.is_some(), "the matrix has a default");
    // Rules are spread over the team files, not all in one.
    let files_with_rules: std::collections::BTreeSet<String> = set
        .rules
        .iter()
        .map(|r| r.origin.file.name.clone())
        .collect();
    assert_eq!(files_with_rules.len(), 5, "{files_with_rules:?}");
}

#[test]
fn the_router_is_first_match() {
    assert_eq!(
        router().checked().combine,
        gatehouse::syntax::ast::CombineMode::FirstMatch
    );
}

// ----------------------------------------------------- every sample --

/// The pinned decision of one sample action.
struct Pin {
    file: &'static str,
    outcome: Outcome,
    tier: Option<u32>,
    reasons: &'static [&'static str],
    missing: &'static [&'static str],
    /// Approval count and the role names of each group; `None` when the
    /// decision carries no approvals (auto, block).
    approvals: Option<(u32, &'static [&'static [&'static str]])>,
}

const PINS: &[Pin] = &[
    Pin {
        file: "internal-summary.json",
        outcome: Outcome::Auto,
        tier: Some(0),
        reasons: &["INTERNAL_CONTENT"],
        missing: &[],
        approvals: None,
    },
    Pin {
        file: "low-confidence.json",
        outcome: Outcome::Queue,
        tier: Some(0),
        reasons: &["LOW_CONFIDENCE", "INTERNAL_CONTENT"],
        missing: &[],
        approvals: Some((1, &[])),
    },
    Pin {
        file: "pii-summary.json",
        outcome: Outcome::Explicit,
        tier: Some(0),
        reasons: &["REGULATED_DATA", "INTERNAL_CONTENT"],
        missing: &[],
        approvals: Some((1, &[&["data_protection_officer"]])),
    },
    Pin {
        file: "support-reply-draft.yaml",
        outcome: Outcome::Queue,
        tier: Some(1),
        reasons: &["SUPPORT_REPLY_DRAFT"],
        missing: &[],
        approvals: Some((1, &[&["requesting_user", "support_queue"]])),
    },
    Pin {
        file: "crm-update.json",
        outcome: Outcome::Explicit,
        tier: Some(2),
        reasons: &["REVERSIBLE_CRM_UPDATE"],
        missing: &[],
        approvals: Some((1, &[&["data_owner", "process_owner"]])),
    },
    Pin {
        file: "irreversible-action.json",
        outcome: Outcome::Explicit,
        tier: Some(2),
        reasons: &["IRREVERSIBLE_ACTION"],
        missing: &[],
        approvals: Some((1, &[&["data_owner", "process_owner"]])),
    },
    Pin {
        file: "unclassified-action.json",
        outcome: Outcome::Explicit,
        tier: Some(2),
        reasons: &["NO_RULE_MATCHED"],
        missing: &[],
        approvals: Some((1, &[&["data_owner", "process_owner"]])),
    },
    Pin {
        file: "refund-small.json",
        outcome: Outcome::Explicit,
        tier: Some(3),
        reasons: &["REFUND", "IRREVERSIBLE_ACTION"],
        missing: &[],
        approvals: Some((1, &[&["support_lead"]])),
    },
    Pin {
        file: "refund-large.json",
        outcome: Outcome::Explicit,
        tier: Some(3),
        reasons: &["REFUND_ABOVE_THRESHOLD", "IRREVERSIBLE_ACTION"],
        missing: &[],
        approvals: Some((1, &[&["finance_approver"]])),
    },
    Pin {
        file: "refund-over-approver-limit.json",
        outcome: Outcome::Explicit,
        tier: Some(3),
        reasons: &[
            "REFUND_ABOVE_THRESHOLD",
            "IRREVERSIBLE_ACTION",
            "APPROVER_ESCALATED",
        ],
        missing: &[],
        approvals: Some((1, &[&["finance_director"]])),
    },
    Pin {
        file: "vendor-payment.json",
        outcome: Outcome::Explicit,
        tier: Some(3),
        reasons: &["VENDOR_PAYMENT", "IRREVERSIBLE_ACTION"],
        missing: &[],
        approvals: Some((1, &[&["finance_approver"]])),
    },
    Pin {
        file: "external-email.yaml",
        outcome: Outcome::Explicit,
        tier: Some(3),
        reasons: &["CUSTOMER_EMAIL", "IRREVERSIBLE_ACTION"],
        missing: &[],
        approvals: Some((1, &[&["account_manager", "communications_lead"]])),
    },
    Pin {
        file: "contract-clause.json",
        outcome: Outcome::Explicit,
        tier: Some(3),
        reasons: &["CONTRACT_CLAUSE", "IRREVERSIBLE_ACTION"],
        missing: &[],
        approvals: Some((1, &[&["legal_reviewer"]])),
    },
    Pin {
        file: "iam-change.json",
        outcome: Outcome::Dual,
        tier: Some(4),
        reasons: &["IAM_CHANGE"],
        missing: &[],
        approvals: Some((2, &[&["security_approver"], &["change_manager"]])),
    },
    Pin {
        file: "prod-deploy.json",
        outcome: Outcome::Dual,
        tier: Some(4),
        reasons: &["PROD_CONFIG_CHANGE"],
        missing: &[],
        approvals: Some((2, &[&["security_approver"], &["change_manager"]])),
    },
    Pin {
        file: "prod-deploy-outside-window.json",
        outcome: Outcome::Dual,
        tier: Some(4),
        reasons: &["PROD_CONFIG_CHANGE"],
        missing: &[],
        approvals: Some((2, &[&["security_approver"], &["change_manager"]])),
    },
    Pin {
        file: "missing-evidence.json",
        outcome: Outcome::Block,
        tier: Some(4),
        reasons: &["PROD_CONFIG_CHANGE", "EVIDENCE_MISSING"],
        missing: &["test_result", "rollback_plan"],
        approvals: None,
    },
    Pin {
        file: "robot-operation.json",
        outcome: Outcome::Dual,
        tier: Some(5),
        reasons: &["IRREVERSIBLE_ACTION", "PHYSICAL_OPERATION"],
        missing: &[],
        approvals: Some((2, &[&["authorized_operator"], &["risk_owner"]])),
    },
    Pin {
        file: "regulated-decision.json",
        outcome: Outcome::Dual,
        tier: Some(5),
        reasons: &["REGULATED_DATA", "REGULATED_DECISION"],
        missing: &[],
        approvals: Some((
            3,
            &[
                &["authorized_operator"],
                &["risk_owner"],
                &["data_protection_officer"],
            ],
        )),
    },
    Pin {
        file: "invalid-input.json",
        outcome: Outcome::Block,
        tier: None,
        reasons: &["INVALID_INPUT"],
        missing: &[],
        approvals: None,
    },
];

#[test]
fn every_sample_action_has_its_pinned_decision() {
    for pin in PINS {
        let d = decide(pin.file);
        let f = pin.file;
        assert_eq!(d.outcome, pin.outcome, "{f}: outcome");
        assert_eq!(tier_id(&d), pin.tier, "{f}: tier");
        assert_eq!(d.reason_codes(), pin.reasons, "{f}: reason codes");
        assert_eq!(d.evidence.missing, pin.missing, "{f}: missing evidence");
        match pin.approvals {
            None => assert!(d.approvals.is_none(), "{f}: no approvals expected"),
            Some((count, expected)) => {
                assert_eq!(approval_count(&d), Some(count), "{f}: approval count");
                assert_eq!(groups(&d), expected, "{f}: approver groups");
            }
        }
        assert_eq!(d.policy.name, "ai-agent-actions", "{f}: policy");
        assert_eq!(d.policy.version, "1.0.0", "{f}: policy version");
        assert_eq!(d.policy.digest, matrix().digest(), "{f}: policy digest");
    }
}

#[test]
fn every_sample_file_is_pinned_and_there_are_yaml_samples() {
    let mut on_disk: Vec<String> = std::fs::read_dir(root().join("examples/actions"))
        .expect("examples/actions exists")
        .map(|e| {
            e.expect("a directory entry")
                .file_name()
                .into_string()
                .unwrap()
        })
        .collect();
    on_disk.sort();
    let mut pinned: Vec<String> = PINS.iter().map(|p| p.file.to_owned()).collect();
    pinned.sort();
    assert_eq!(
        on_disk, pinned,
        "every sample in examples/actions is pinned"
    );
    let yaml = on_disk.iter().filter(|f| f.ends_with(".yaml")).count();
    assert!(yaml >= 2, "at least two YAML samples, found {yaml}");
}

#[test]
fn every_valid_sample_is_strictly_valid() {
    // The samples use only declared fields: `--strict` accepts them all.
    let strict = EvalOptions::default().with_now(None).with_strict(true);
    for pin in PINS.iter().filter(|p| p.file != "invalid-input.json") {
        let r = matrix().try_evaluate(&action(pin.file), &strict);
        assert!(r.is_ok(), "{}: {:?}", pin.file, r.err());
    }
}

// ------------------------------------------- the README's main job --

#[test]
fn refund_large_is_a_2500_eur_refund_approved_by_one_finance_approver() {
    let input = action("refund-large.json");
    assert_eq!(input["action"]["type"], "refund");
    assert_eq!(input["action"]["amount"].to_string(), "2500");
    assert_eq!(input["action"]["currency"], "EUR");

    let d = matrix().evaluate(&input);
    assert_eq!(d.outcome, Outcome::Explicit);
    let tier = d.tier.as_ref().expect("a tier");
    assert_eq!(
        (tier.id, tier.name.as_str()),
        (3, "financial or customer impact")
    );
    let a = d.approvals.as_ref().expect("approvals");
    assert_eq!(a.count, 1);
    let role = &a.groups[0].roles[0];
    assert_eq!(role.name, "finance_approver");
    assert_eq!(role.title.as_deref(), Some("Finance approver"));
    assert_eq!(role.limit.as_deref(), Some("action.amount <= 10000"));
    assert_eq!(role.escalated_from, None);
    assert!(!d.has_reason("APPROVER_ESCALATED"));
    assert_eq!(
        d.evidence.required,
        [
            "impact_estimate",
            "policy_match",
            "customer_record",
            "alternatives"
        ]
    );
    assert_eq!(
        timeout(&d),
        Some(("24h", "escalate", Some("operations_manager")))
    );

    // Both matching rules ask for explicit on their own: both determine it.
    let rules: Vec<(&str, bool, Option<u32>)> = d
        .rules
        .iter()
        .map(|r| (r.name.as_str(), r.determining, r.tier))
        .collect();
    assert_eq!(
        rules,
        [
            ("large_refund", true, Some(3)),
            ("irreversible_action", true, None)
        ]
    );
    assert!(d.rules[0].location.contains("finance.gate"));
    assert!(d.rules[1].location.contains("guardrails.gate"));

    // The JSON the README shows.
    let v = serde_json::to_value(&d).expect("a decision serializes");
    assert_eq!(v["outcome"], "explicit");
    assert_eq!(v["tier"]["id"], 3);
    assert_eq!(
        v["approvals"]["groups"][0]["roles"][0]["name"],
        "finance_approver"
    );
    assert_eq!(v["policy"]["name"], "ai-agent-actions");
}

// ------------------------------------------------ the tier matrix -----

#[test]
fn each_tier_example_from_domain_lands_in_its_tier() {
    // DOMAIN.md, "A reference approval matrix": example -> (tier, outcome).
    let table = [
        ("internal-summary.json", 0, Outcome::Auto),
        ("support-reply-draft.yaml", 1, Outcome::Queue),
        ("crm-update.json", 2, Outcome::Explicit),
        ("refund-small.json", 3, Outcome::Explicit),
        ("contract-clause.json", 3, Outcome::Explicit),
        ("iam-change.json", 4, Outcome::Dual),
        ("prod-deploy.json", 4, Outcome::Dual),
        ("robot-operation.json", 5, Outcome::Dual),
        ("regulated-decision.json", 5, Outcome::Dual),
    ];
    for (file, tier, outcome) in table {
        let d = decide(file);
        assert_eq!((tier_id(&d), d.outcome), (Some(tier), outcome), "{file}");
        // The tier was chosen by a rule, not by the fallback.
        assert!(!d.has_reason("NO_RULE_MATCHED"), "{file}");
    }
}

#[test]
fn each_tier_requires_the_evidence_the_domain_table_names() {
    let table: [(&str, &[&str]); 6] = [
        ("internal-summary.json", &["source_citation"]),
        (
            "support-reply-draft.yaml",
            &["draft", "source_snippets", "confidence_warning"],
        ),
        (
            "crm-update.json",
            &["diff", "source_record", "rollback_plan"],
        ),
        (
            "contract-clause.json",
            &[
                "impact_estimate",
                "policy_match",
                "customer_record",
                "alternatives",
            ],
        ),
        (
            "iam-change.json",
            &["risk_analysis", "diff", "test_result", "rollback_plan"],
        ),
        (
            "regulated-decision.json",
            &["full_evidence_pack", "hazard_check", "manual_override_path"],
        ),
    ];
    for (file, required) in table {
        let d = decide(file);
        assert_eq!(d.evidence.required, required, "{file}");
        assert!(d.evidence.missing.is_empty(), "{file}");
    }
}

#[test]
fn each_tier_has_its_timeout_and_expiry_action() {
    let table = [
        ("low-confidence.json", ("72h", "reject", None)),
        ("support-reply-draft.yaml", ("72h", "reject", None)),
        (
            "crm-update.json",
            ("48h", "escalate", Some("operations_manager")),
        ),
        (
            "refund-small.json",
            ("24h", "escalate", Some("operations_manager")),
        ),
        ("iam-change.json", ("4h", "reject", None)),
        ("robot-operation.json", ("1h", "block", None)),
    ];
    for (file, expected) in table {
        assert_eq!(timeout(&decide(file)), Some(expected), "{file}");
    }
    // Auto and block decisions carry no timeout.
    assert_eq!(timeout(&decide("internal-summary.json")), None);
    assert_eq!(timeout(&decide("missing-evidence.json")), None);
}

#[test]
fn a_pending_approval_expires_relative_to_the_given_now() {
    let now = gatehouse::values::Timestamp::parse("2024-10-15T20:00:00Z").unwrap();
    let options = EvalOptions::default()
        .with_now(Some(now))
        .with_strict(false);
    let d = matrix().evaluate_with(&action("iam-change.json"), &options);
    let t = d.timeout.expect("tier 4 has a timeout");
    assert_eq!(t.seconds, 4 * 3600);
    assert_eq!(t.expires_at.as_deref(), Some("2024-10-16T00:00:00Z"));
    // Without `now` the engine does not read the clock.
    assert_eq!(decide("iam-change.json").timeout.unwrap().expires_at, None);
}

#[test]
fn tier_4_executes_only_inside_a_change_window() {
    let inside = decide("prod-deploy.json");
    assert_eq!(conditions(&inside), [("change_window.open", Some(true))]);
    let outside = decide("prod-deploy-outside-window.json");
    assert_eq!(conditions(&outside), [("change_window.open", Some(false))]);
    // The approval requirement is the same; only the execution condition fails.
    assert_eq!(inside.approvals, outside.approvals);
    // Not saying whether the window is open is not being inside it.
    let unknown = matrix().evaluate(&with(
        action("prod-deploy.json"),
        "change_window",
        Value::Null,
    ));
    assert_eq!(unknown.outcome, Outcome::Dual);
    assert_eq!(conditions(&unknown), [("change_window.open", Some(false))]);
    // IAM changes are tier 4 too.
    assert_eq!(
        conditions(&decide("iam-change.json")),
        [("change_window.open", Some(true))]
    );
}

#[test]
fn tier_5_requires_human_supervised_execution() {
    for file in ["robot-operation.json", "regulated-decision.json"] {
        let d = decide(file);
        // A human attests to it: the engine cannot evaluate it.
        assert_eq!(
            conditions(&d),
            [("human-supervised execution", None)],
            "{file}"
        );
    }
}

// ------------------------------------------------ separation of duties --

#[test]
fn the_requester_and_the_agent_owner_may_not_approve_from_tier_2_up() {
    let table = [
        ("crm-update.json", "u-5120", "u-2044"),
        ("refund-large.json", "u-1042", "u-2001"),
        ("external-email.yaml", "u-6402", "u-2044"),
        ("iam-change.json", "u-9120", "u-2100"),
        ("robot-operation.json", "u-4410", "u-2120"),
    ];
    for (file, requester, owner) in table {
        let d = decide(file);
        assert_eq!(
            forbidden(&d),
            [fa("requester.id", requester), fa("agent.owner", owner)],
            "{file}"
        );
    }
}

#[test]
fn self_approval_is_forbidden_whoever_the_requester_is() {
    let input = with(
        action("refund-large.json"),
        "requester.id",
        json!("finance-approver-7"),
    );
    let d = matrix().evaluate(&input);
    assert_eq!(groups(&d), [["finance_approver"]]);
    assert!(
        forbidden(&d).contains(&fa("requester.id", "finance-approver-7")),
        "{:?}",
        forbidden(&d)
    );
}

#[test]
fn at_tier_1_the_requesting_user_sends_but_the_agent_owner_does_not() {
    let d = decide("support-reply-draft.yaml");
    assert_eq!(groups(&d), [["requesting_user", "support_queue"]]);
    assert_eq!(forbidden(&d), [fa("agent.owner", "u-2001")]);
}

#[test]
fn dual_approval_needs_two_distinct_people_in_two_distinct_roles() {
    for file in [
        "iam-change.json",
        "prod-deploy.json",
        "robot-operation.json",
    ] {
        let d = decide(file);
        assert_eq!(d.outcome, Outcome::Dual, "{file}");
        let a = d.approvals.as_ref().expect("approvals");
        assert_eq!(a.count, 2, "{file}");
        assert!(a.distinct_people, "{file}: distinct people");
        assert!(a.distinct_roles, "{file}: distinct roles");
        assert_eq!(a.groups.len(), 2, "{file}");
        assert!(a.groups.iter().all(|g| g.count == 1), "{file}");
        assert_ne!(a.groups[0].roles[0].name, a.groups[1].roles[0].name);
    }
    // Explicit needs one person; distinctness is not asked for.
    let a = decide("crm-update.json").approvals.unwrap();
    assert_eq!(a.count, 1);
    assert!(!a.distinct_people && !a.distinct_roles);
}

// ------------------------------------------- thresholds and limits -----

fn refund_of(amount: &str) -> Value {
    let mut doc = action("refund-large.json");
    doc["action"]["amount"] = exact(amount);
    doc
}

#[test]
fn the_refund_threshold_is_exact_at_1000() {
    for amount in ["1000", "1000.00", "1e3", "999.99"] {
        let d = matrix().evaluate(&refund_of(amount));
        assert_eq!(d.outcome, Outcome::Explicit, "{amount}");
        assert!(d.has_reason("REFUND"), "{amount}: {:?}", d.reason_codes());
        assert!(!d.has_reason("REFUND_ABOVE_THRESHOLD"), "{amount}");
        assert_eq!(groups(&d), [["support_lead"]], "{amount}");
    }
    for amount in ["1000.01", "1000.0000000000000000001", "1001"] {
        let d = matrix().evaluate(&refund_of(amount));
        assert_eq!(d.outcome, Outcome::Explicit, "{amount}");
        assert!(d.has_reason("REFUND_ABOVE_THRESHOLD"), "{amount}");
        assert!(!d.has_reason("REFUND"), "{amount}");
        assert_eq!(groups(&d), [["finance_approver"]], "{amount}");
    }
}

#[test]
fn a_25000_refund_escalates_past_the_finance_approvers_10000_limit() {
    let d = decide("refund-over-approver-limit.json");
    assert_eq!(d.outcome, Outcome::Explicit);
    let a = d.approvals.as_ref().expect("approvals");
    assert_eq!(a.count, 1);
    let role = &a.groups[0].roles[0];
    assert_eq!(role.name, "finance_director");
    assert_eq!(role.escalated_from.as_deref(), Some("finance_approver"));
    assert_eq!(role.limit.as_deref(), Some("action.amount <= 100000"));
    let escalated = d
        .reasons
        .iter()
        .find(|r| r.code == "APPROVER_ESCALATED")
        .expect("an escalation reason");
    assert!(
        escalated
            .message
            .contains("finance_approver -> finance_director"),
        "{}",
        escalated.message
    );
    assert_eq!(escalated.rule, None);
}

#[test]
fn the_finance_approver_limit_is_inclusive_at_10000() {
    let at = matrix().evaluate(&refund_of("10000.00"));
    assert_eq!(groups(&at), [["finance_approver"]]);
    assert!(!at.has_reason("APPROVER_ESCALATED"));
    let above = matrix().evaluate(&refund_of("10000.01"));
    assert_eq!(groups(&above), [["finance_director"]]);
    assert!(above.has_reason("APPROVER_ESCALATED"));
}

#[test]
fn above_the_top_of_the_escalation_chain_the_refund_blocks() {
    let top = matrix().evaluate(&refund_of("100000"));
    assert_eq!(top.outcome, Outcome::Explicit);
    assert_eq!(groups(&top), [["finance_director"]]);

    let d = matrix().evaluate(&refund_of("100000.01"));
    assert_eq!(d.outcome, Outcome::Block);
    assert!(d.has_reason("APPROVER_LIMIT_EXCEEDED"));
    assert!(!d.has_reason("APPROVER_ESCALATED"));
    assert!(d.approvals.is_none());
}

#[test]
fn approving_a_small_refund_is_a_different_approver_than_a_large_one() {
    // DOMAIN: approving 250 EUR does not authorize 2 500 EUR.
    let small = decide("refund-small.json");
    let large = decide("refund-large.json");
    assert_eq!(groups(&small), [["support_lead"]]);
    assert_eq!(groups(&large), [["finance_approver"]]);
    let lead = &small.approvals.as_ref().unwrap().groups[0].roles[0];
    assert_eq!(lead.limit.as_deref(), Some("action.amount <= 1000"));
}

#[test]
fn amounts_that_cannot_be_checked_against_a_limit_block() {
    let cases = [
        (
            with(action("refund-large.json"), "action.amount", Value::Null),
            "AMOUNT_MISSING",
        ),
        (
            with(action("vendor-payment.json"), "action.amount", Value::Null),
            "AMOUNT_MISSING",
        ),
        (
            with(action("refund-large.json"), "action.currency", Value::Null),
            "CURRENCY_MISSING",
        ),
        (refund_of("-250"), "NEGATIVE_AMOUNT"),
    ];
    for (input, code) in cases {
        let d = matrix().evaluate(&input);
        assert_eq!(d.outcome, Outcome::Block, "{code}");
        assert!(d.has_reason(code), "{code}: {:?}", d.reason_codes());
        let rule = d.rules.iter().find(|r| r.reasons.iter().any(|c| c == code));
        assert!(rule.is_some_and(|r| r.determining), "{code} determines");
    }
    // A currency other than EUR is not compared with EUR limits at all.
    let usd = with(action("refund-large.json"), "action.currency", json!("USD"));
    let d = matrix().evaluate(&usd);
    assert_eq!(d.outcome, Outcome::Block);
    assert_eq!(d.reason_codes(), ["INVALID_INPUT"]);
    assert_eq!(d.input_errors[0].path, "$.action.currency");
}

// --------------------------------------------------------- guardrails --

#[test]
fn low_confidence_goes_to_review_below_0_7() {
    let summary = action("internal-summary.json");
    let at = matrix().evaluate(&with(summary.clone(), "model.confidence", exact("0.70")));
    assert_eq!(at.outcome, Outcome::Auto);
    assert!(!at.has_reason("LOW_CONFIDENCE"));

    let below = matrix().evaluate(&with(summary.clone(), "model.confidence", exact("0.69")));
    assert_eq!(below.outcome, Outcome::Queue);
    assert!(below.has_reason("LOW_CONFIDENCE"));

    // A floor, not a ceiling: a dual action stays dual.
    let iam = with(action("iam-change.json"), "model.confidence", exact("0.4"));
    let d = matrix().evaluate(&iam);
    assert_eq!(d.outcome, Outcome::Dual);
    assert!(d.has_reason("LOW_CONFIDENCE"));
    let low = d.rules.iter().find(|r| r.name == "low_confidence").unwrap();
    assert!(!low.determining);
    assert_eq!(low.outcome, Outcome::Queue);
}

#[test]
fn the_low_confidence_sample_is_held_with_the_agent_owner_excluded() {
    let d = decide("low-confidence.json");
    assert_eq!(d.outcome, Outcome::Queue);
    let rules: Vec<(&str, bool)> = d
        .rules
        .iter()
        .map(|r| (r.name.as_str(), r.determining))
        .collect();
    assert_eq!(
        rules,
        [("low_confidence", true), ("internal_content", false)]
    );
    assert_eq!(
        forbidden(&d),
        [fa("requester.id", "u-1042"), fa("agent.owner", "u-2001")]
    );
}

#[test]
fn a_confidence_outside_0_to_1_blocks() {
    for c in ["1.01", "-0.1"] {
        let input = with(
            action("internal-summary.json"),
            "model.confidence",
            exact(c),
        );
        let d = matrix().evaluate(&input);
        assert_eq!(d.outcome, Outcome::Block, "{c}");
        assert!(d.has_reason("CONFIDENCE_OUT_OF_RANGE"), "{c}");
    }
    let one = with(
        action("internal-summary.json"),
        "model.confidence",
        exact("1"),
    );
    assert_eq!(matrix().evaluate(&one).outcome, Outcome::Auto);
}

#[test]
fn regulated_data_always_needs_a_data_protection_officer() {
    for class in ["pii", "phi", "financial"] {
        let input = with(
            action("internal-summary.json"),
            "action.data_classes",
            json!(["internal", class]),
        );
        let d = matrix().evaluate(&input);
        assert_eq!(d.outcome, Outcome::Explicit, "{class}");
        assert!(d.has_reason("REGULATED_DATA"), "{class}");
        assert_eq!(groups(&d), [["data_protection_officer"]], "{class}");
        // Raised from tier 0, separation of duties still applies.
        assert_eq!(forbidden(&d).len(), 2, "{class}");
    }
    // On top of a tier's own approvers, not instead of them.
    let crm = with(
        action("crm-update.json"),
        "action.data_classes",
        json!(["pii"]),
    );
    let d = matrix().evaluate(&crm);
    assert_eq!(
        groups(&d),
        [
            vec!["data_owner".to_owned(), "process_owner".to_owned()],
            vec!["data_protection_officer".to_owned()]
        ]
    );
    assert_eq!(approval_count(&d), Some(2));
}

#[test]
fn a_draft_with_regulated_data_is_still_only_queued() {
    // The draft has no effect; the send is evaluated again.
    let draft = with(
        action("support-reply-draft.yaml"),
        "action.data_classes",
        json!(["pii"]),
    );
    let d = matrix().evaluate(&draft);
    assert_eq!(d.outcome, Outcome::Queue);
    assert!(!d.has_reason("REGULATED_DATA"));
    // ... and the send with the same data classes needs the DPO.
    let send = with(
        action("external-email.yaml"),
        "action.data_classes",
        json!(["pii"]),
    );
    let d = matrix().evaluate(&send);
    assert!(d.has_reason("REGULATED_DATA"));
    assert!(groups(&d).contains(&vec!["data_protection_officer".to_owned()]));
}

#[test]
fn irreversible_actions_need_approval_and_a_justification() {
    let d = decide("irreversible-action.json");
    assert_eq!(d.outcome, Outcome::Explicit);
    // Only the guardrail matched and it names no tier, so the default is the
    // base (listed, with everything it asks for), but its own reason is not
    // given: a rule did match.
    assert_eq!(rule_names(&d), ["irreversible_action", "default"]);
    assert!(d.rules[1].reasons.is_empty());
    assert!(!d.has_reason("NO_RULE_MATCHED"));
    assert_eq!(
        d.evidence.required,
        [
            "diff",
            "source_record",
            "rollback_plan",
            "impact_estimate",
            "alternatives"
        ]
    );

    // The same email, reversible: nothing classifies it, the default does.
    let reversible = with(
        action("irreversible-action.json"),
        "action.reversibility",
        json!("reversible"),
    );
    let d = matrix().evaluate(&reversible);
    assert_eq!(rule_names(&d), ["default"]);
    assert_eq!(d.reason_codes(), ["NO_RULE_MATCHED"]);

    // An irreversible CRM change without the justification is blocked.
    let crm = with(
        action("crm-update.json"),
        "action.reversibility",
        json!("irreversible"),
    );
    let d = matrix().evaluate(&crm);
    assert_eq!(d.outcome, Outcome::Block);
    assert_eq!(d.evidence.missing, ["impact_estimate", "alternatives"]);

    // Reading cannot be irreversible, whatever the caller says.
    let read = with(
        action("internal-summary.json"),
        "action.reversibility",
        json!("irreversible"),
    );
    assert_eq!(matrix().evaluate(&read).outcome, Outcome::Auto);
}

#[test]
fn production_is_assumed_when_the_environment_is_not_given() {
    let unknown = with(action("prod-deploy.json"), "environment", Value::Null);
    let d = matrix().evaluate(&unknown);
    assert_eq!((tier_id(&d), d.outcome), (Some(4), Outcome::Dual));

    let staging = with(
        action("prod-deploy.json"),
        "environment.name",
        json!("staging"),
    );
    let d = matrix().evaluate(&staging);
    assert!(!d.has_reason("PROD_CONFIG_CHANGE"));
    assert_eq!(tier_id(&d), Some(2));
}

#[test]
fn looking_at_iam_or_a_robot_is_not_changing_it() {
    for file in ["iam-change.json", "robot-operation.json"] {
        let read = with(action(file), "action.type", json!("read"));
        let d = matrix().evaluate(&read);
        assert_eq!(tier_id(&d), Some(0), "{file}");
        assert!(!d.has_reason("IAM_CHANGE") && !d.has_reason("PHYSICAL_OPERATION"));
    }
}

#[test]
fn the_strictest_tier_wins_when_several_rules_match() {
    // A refund (tier 3) that is also a regulated decision (tier 5).
    let input = with(
        action("refund-small.json"),
        "action.regulated_decision",
        json!(true),
    );
    let input = with(
        input,
        "evidence",
        json!({
            "full_evidence_pack": "evpack://support/refund-55102",
            "hazard_check": "no protected attributes used",
            "manual_override_path": "support lead reverses the decision in the ERP",
            "impact_estimate": "250 EUR",
            "policy_match": "refund-policy-2024 3.2",
            "customer_record": "crm://accounts/ACC-20931",
            "alternatives": ["replacement shipment"]
        }),
    );
    let d = matrix().evaluate(&input);
    assert_eq!((tier_id(&d), d.outcome), (Some(5), Outcome::Dual));
    // The refund's own approver is still needed.
    assert!(groups(&d).contains(&vec!["support_lead".to_owned()]));
    assert!(d.has_reason("REFUND") && d.has_reason("REGULATED_DECISION"));
    assert_eq!(approval_count(&d), Some(3));

    // The winning tier's evidence is required: the refund's own pack is not
    // enough for tier 5.
    let refund_pack_only = with(
        action("refund-small.json"),
        "action.regulated_decision",
        json!(true),
    );
    let d = matrix().evaluate(&refund_pack_only);
    assert_eq!(d.outcome, Outcome::Block);
    assert_eq!(
        d.evidence.missing,
        ["full_evidence_pack", "hazard_check", "manual_override_path"]
    );
}

// ---------------------------------------------------------- evidence --

#[test]
fn missing_evidence_blocks_and_names_the_fields() {
    let d = decide("missing-evidence.json");
    assert_eq!(d.outcome, Outcome::Block);
    assert_eq!(d.evidence.missing, ["test_result", "rollback_plan"]);
    assert_eq!(d.evidence.on_missing, Some(Outcome::Block));
    let reason = d
        .reasons
        .iter()
        .find(|r| r.code == "EVIDENCE_MISSING")
        .expect("EVIDENCE_MISSING");
    assert!(
        reason.message.ends_with("test_result, rollback_plan"),
        "{}",
        reason.message
    );
    assert_eq!(reason.rule, None);
    // A blocked action asks nobody to approve it.
    assert!(d.approvals.is_none());
    assert!(d.conditions.is_empty());
    // The complete pack turns the same action into a dual approval.
    assert_eq!(decide("prod-deploy.json").outcome, Outcome::Dual);
}

#[test]
fn null_empty_and_blank_evidence_all_count_as_missing() {
    let absent = with(
        action("crm-update.json"),
        "evidence.rollback_plan",
        Value::Null,
    );
    assert!(absent["evidence"].get("rollback_plan").is_none());
    let mut inputs = vec![("absent".to_owned(), absent)];
    for value in [Value::Null, json!(""), json!("   "), json!([]), json!({})] {
        let mut input = action("crm-update.json");
        input["evidence"]["rollback_plan"] = value.clone();
        inputs.push((value.to_string(), input));
    }
    for (label, input) in inputs {
        let d = matrix().evaluate(&input);
        assert_eq!(d.outcome, Outcome::Block, "{label}");
        assert_eq!(d.evidence.missing, ["rollback_plan"], "{label}");
    }
}

#[test]
fn rule_evidence_adds_to_the_tier_evidence() {
    // Tier 5 names three fields; the irreversible guardrail adds two.
    let d = decide("robot-operation.json");
    assert_eq!(
        d.evidence.required,
        [
            "full_evidence_pack",
            "hazard_check",
            "manual_override_path",
            "impact_estimate",
            "alternatives"
        ]
    );
    let no_hazard = with(
        action("robot-operation.json"),
        "evidence.hazard_check",
        Value::Null,
    );
    let d = matrix().evaluate(&no_hazard);
    assert_eq!(d.outcome, Outcome::Block);
    assert_eq!(d.evidence.missing, ["hazard_check"]);
}

#[test]
fn a_tier_0_summary_without_a_citation_is_queued_not_blocked() {
    let input = with(action("internal-summary.json"), "evidence", Value::Null);
    let d = matrix().evaluate(&input);
    assert_eq!(d.outcome, Outcome::Queue);
    assert_eq!(d.evidence.on_missing, Some(Outcome::Queue));
    assert_eq!(d.evidence.missing, ["source_citation"]);
    assert_eq!(d.reason_codes(), ["INTERNAL_CONTENT", "EVIDENCE_MISSING"]);
}

// ------------------------------------------------------ invalid input --

#[test]
fn invalid_input_blocks_and_reports_every_problem_by_path() {
    let d = decide("invalid-input.json");
    assert_eq!(d.outcome, Outcome::Block);
    assert_eq!(d.reason_codes(), ["INVALID_INPUT"]);
    assert!(d.tier.is_none() && d.approvals.is_none() && d.rules.is_empty());
    let paths: Vec<&str> = d.input_errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "$.action.type",
            "$.action.customer_facing",
            "$.action.data_classes",
            "$.action.amount",
            "$.action.currency",
            "$.requester.id",
            "$.model.confidence",
            "$.evidence",
        ]
    );
    let message = |path: &str| {
        d.input_errors
            .iter()
            .find(|e| e.path == path)
            .map(|e| e.message.as_str())
            .unwrap_or_default()
    };
    assert!(message("$.action.type").contains("refund_all"));
    assert!(message("$.action.data_classes").contains("secret"));
    assert!(message("$.model.confidence").contains("missing required attribute"));
    // The decision is still attributed to the policy that refused it.
    assert_eq!(d.policy.name, "ai-agent-actions");
}

// ------------------------------------------------------ simple router --

#[test]
fn router_samples_have_their_pinned_decisions() {
    let table: [(&str, Outcome, u32, &str, &[&str]); 7] = [
        ("read-only.json", Outcome::Auto, 0, "read_only", &[]),
        ("internal-only.json", Outcome::Auto, 0, "internal_only", &[]),
        (
            "internal-large-payment.json",
            Outcome::Auto,
            0,
            "internal_only",
            &[],
        ),
        (
            "large-refund.json",
            Outcome::Explicit,
            2,
            "financial_impact",
            &["approver"],
        ),
        (
            "customer-email.yaml",
            Outcome::Explicit,
            2,
            "customer_facing",
            &["approver"],
        ),
        (
            "refund-at-threshold.json",
            Outcome::Queue,
            1,
            "default",
            &["reviewer"],
        ),
        (
            "partner-update.yaml",
            Outcome::Queue,
            1,
            "default",
            &["reviewer"],
        ),
    ];
    let mut on_disk: Vec<String> = std::fs::read_dir(root().join("examples/router"))
        .expect("examples/router exists")
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    on_disk.sort();
    let mut pinned: Vec<&str> = table.iter().map(|t| t.0).collect();
    pinned.sort();
    assert_eq!(on_disk, pinned, "every router sample is pinned");

    for (file, outcome, tier, rule, approvers) in table {
        let d = route(file);
        assert_eq!(d.outcome, outcome, "{file}");
        assert_eq!(tier_id(&d), Some(tier), "{file}");
        // First match: exactly one rule (or the default) decides.
        assert_eq!(rule_names(&d), [rule], "{file}");
        let expected: Vec<Vec<String>> = if approvers.is_empty() {
            Vec::new()
        } else {
            vec![approvers.iter().map(|s| s.to_string()).collect()]
        };
        assert_eq!(groups(&d), expected, "{file}");
        assert_eq!(d.policy.name, "simple-router");
    }
}

#[test]
fn the_routers_first_match_order_decides() {
    // Read-only comes first: a customer-facing external read is auto.
    let d = route("read-only.json");
    assert_eq!(d.reason_codes(), ["READ_ONLY"]);

    // Internal-only comes before the amount: an internal 50 000 payment is
    // auto. That is the router as written, and why the matrix does not
    // combine first-match.
    let d = route("internal-large-payment.json");
    assert_eq!(d.outcome, Outcome::Auto);
    assert_eq!(d.reason_codes(), ["INTERNAL_ONLY"]);
    assert!(!d.has_reason("FINANCIAL_IMPACT"));

    // Over 1000 and customer facing: the amount rule is listed first and is
    // the only one reported.
    let d = route("large-refund.json");
    assert_eq!(d.reason_codes(), ["FINANCIAL_IMPACT"]);

    // Swap nothing but the scope and the internal rule takes over.
    let internal = with(
        sample("examples/router/large-refund.json"),
        "action.scope",
        json!("internal"),
    );
    assert_eq!(router().evaluate(&internal).outcome, Outcome::Auto);

    // The same kind of internal payment is not auto under the matrix.
    let matrix_payment = with(
        with(
            action("vendor-payment.json"),
            "action.scope",
            json!("internal"),
        ),
        "action.amount",
        json!(50000),
    );
    let d = matrix().evaluate(&matrix_payment);
    assert_eq!(d.outcome, Outcome::Explicit);
    assert_eq!(groups(&d), [["finance_director"]]);
}

#[test]
fn the_routers_threshold_is_over_1000() {
    let doc = |amount: &str| {
        exact(&format!(
            r#"{{"action":{{"type":"execute","scope":"external","amount":{amount}}},"requester":{{"id":"u-1"}}}}"#
        ))
    };
    for (amount, outcome) in [
        ("1000", Outcome::Queue),
        ("1000.00", Outcome::Queue),
        ("1000.01", Outcome::Explicit),
    ] {
        let d = router().evaluate(&doc(amount));
        assert_eq!(d.outcome, outcome, "{amount}");
    }
}

#[test]
fn the_router_forbids_self_approval() {
    let d = route("large-refund.json");
    assert_eq!(forbidden(&d), [fa("requester.id", "u-1042")]);
    let d = route("partner-update.yaml");
    assert_eq!(forbidden(&d), [fa("requester.id", "u-7730")]);
}

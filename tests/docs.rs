//! The worked examples of docs/language.md ("Combining") are real: each
//! policy and each input is taken from the markdown, by the HTML comment
//! `<!-- example: NAME -->` placed right before its fenced block, and the
//! decision is checked against what the text says (outcome, tier, rules and
//! which are determining, reasons with the rule that gave them, approvals,
//! and the reason messages the text quotes). Editing an example in the docs
//! without updating its claims here fails a test, and so does a marked
//! example that no test pins.

use std::collections::BTreeMap;

use Outcome::{Auto, Block as Blocked, Dual, Explicit, Queue};
use gatehouse::eval::Decision;
use gatehouse::{Outcome, Policy};

fn docs() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/language.md");
    std::fs::read_to_string(path).expect("docs/language.md is readable")
}

/// One marked block: its fence language and its text.
#[derive(Debug)]
struct Block {
    lang: String,
    text: String,
}

/// Every `<!-- example: NAME -->` of the docs with the fenced block right
/// after it (blank lines between are allowed, nothing else).
fn marked_blocks(markdown: &str) -> BTreeMap<String, Block> {
    let mut out = BTreeMap::new();
    let mut lines = markdown.lines();
    while let Some(line) = lines.next() {
        let Some(name) = line
            .trim()
            .strip_prefix("<!-- example:")
            .and_then(|rest| rest.strip_suffix("-->"))
        else {
            continue;
        };
        let name = name.trim().to_owned();
        let fence = lines
            .by_ref()
            .find(|l| !l.trim().is_empty())
            .unwrap_or_else(|| panic!("example `{name}` is not followed by a block"));
        let lang = fence
            .trim_end()
            .strip_prefix("```")
            .unwrap_or_else(|| {
                panic!("example `{name}` is followed by `{fence}`, not a fenced block")
            })
            .to_owned();
        let mut text = String::new();
        for l in lines.by_ref() {
            if l.trim_end() == "```" {
                break;
            }
            text.push_str(l);
            text.push('\n');
        }
        let previous = out.insert(name.clone(), Block { lang, text });
        assert!(previous.is_none(), "example `{name}` is marked twice");
    }
    out
}

/// The marked examples of the docs, read once per test.
struct Examples(BTreeMap<String, Block>);

impl Examples {
    fn load() -> Examples {
        Examples(marked_blocks(&docs()))
    }

    fn block(&self, name: &str, lang: &str) -> &str {
        let block = self
            .0
            .get(name)
            .unwrap_or_else(|| panic!("docs/language.md has no `<!-- example: {name} -->`"));
        let block_lang = block.lang.split(',').next().unwrap_or_default();
        assert_eq!(block_lang, lang, "example `{name}` is a ```{lang} block");
        &block.text
    }

    /// A marked ```gate block, compiled; it must not warn.
    fn policy(&self, name: &str) -> Policy {
        compile(name, self.block(name, "gate"))
    }

    /// A marked ```json block, parsed.
    fn input(&self, name: &str) -> serde_json::Value {
        serde_json::from_str(self.block(name, "json"))
            .unwrap_or_else(|e| panic!("example `{name}` is not valid JSON: {e}"))
    }
}

fn compile(name: &str, text: &str) -> Policy {
    let policy = Policy::from_source(format!("{name}.gate"), text)
        .unwrap_or_else(|d| panic!("example `{name}` does not compile:\n{}", d.render(false)));
    assert!(
        policy.warnings().0.is_empty(),
        "example `{name}` warns:\n{}",
        policy.warnings().render(false)
    );
    policy
}

/// Approver groups as the docs state them: each group's count and role
/// names.
type Groups<'a> = &'a [(u32, &'a [&'a str])];

/// What the docs claim about one decision.
struct Expect<'a> {
    outcome: Outcome,
    tier: Option<u32>,
    /// Every listed rule: name, its own outcome, determining.
    rules: &'a [(&'a str, Outcome, bool)],
    /// Every reason, in order: code and the rule that gave it.
    reasons: &'a [(&'a str, Option<&'a str>)],
    /// `None` for no approvals; else the total count and each group's count
    /// and role names.
    approvals: Option<(u32, Groups<'a>)>,
}

#[track_caller]
fn check(example: &str, d: &Decision, want: &Expect<'_>) {
    let context = || {
        format!(
            "example `{example}`, decision:\n{}",
            serde_json::to_string_pretty(d).unwrap_or_default()
        )
    };
    assert_eq!(d.outcome, want.outcome, "outcome; {}", context());
    assert_eq!(
        d.tier.as_ref().map(|t| t.id),
        want.tier,
        "tier; {}",
        context()
    );
    let rules: Vec<(&str, Outcome, bool)> = d
        .rules
        .iter()
        .map(|r| (r.name.as_str(), r.outcome, r.determining))
        .collect();
    assert_eq!(rules, want.rules, "rules; {}", context());
    let reasons: Vec<(&str, Option<&str>)> = d
        .reasons
        .iter()
        .map(|r| (r.code.as_str(), r.rule.as_deref()))
        .collect();
    assert_eq!(reasons, want.reasons, "reasons; {}", context());
    // A rule lists its own reason codes: those the decision attributes to it.
    for r in &d.rules {
        let given: Vec<&str> = d
            .reasons
            .iter()
            .filter(|x| x.rule.as_deref() == Some(r.name.as_str()))
            .map(|x| x.code.as_str())
            .collect();
        assert_eq!(
            r.reasons,
            given,
            "reasons of rule `{}`; {}",
            r.name,
            context()
        );
    }
    let approvals = d.approvals.as_ref().map(|a| {
        let groups: Vec<(u32, Vec<&str>)> = a
            .groups
            .iter()
            .map(|g| (g.count, g.roles.iter().map(|r| r.name.as_str()).collect()))
            .collect();
        (a.count, groups)
    });
    let want_approvals = want.approvals.map(|(count, groups)| {
        (
            count,
            groups.iter().map(|(n, r)| (*n, r.to_vec())).collect(),
        )
    });
    assert_eq!(approvals, want_approvals, "approvals; {}", context());
    if let Some(a) = &d.approvals {
        // The docs promise: count is the sum of the group counts whenever
        // there are groups, and dual always needs two people.
        if !a.groups.is_empty() {
            assert_eq!(a.count, a.groups.iter().map(|g| g.count).sum::<u32>());
        }
        if d.outcome == Outcome::Dual {
            assert!(a.count >= 2 && a.distinct_people, "{}", context());
        }
    }
}

/// The message of the decision's one reason with this code.
#[track_caller]
fn message<'d>(d: &'d Decision, code: &str) -> &'d str {
    let found: Vec<&str> = d
        .reasons
        .iter()
        .filter(|r| r.code == code)
        .map(|r| r.message.as_str())
        .collect();
    assert_eq!(found.len(), 1, "one {code} reason: {found:?}");
    found[0]
}

/// The roles that approve, each with the role it was escalated from.
fn escalations(d: &Decision) -> Vec<(&str, Option<&str>)> {
    d.approvals
        .iter()
        .flat_map(|a| &a.groups)
        .flat_map(|g| &g.roles)
        .map(|r| (r.name.as_str(), r.escalated_from.as_deref()))
        .collect()
}

/// Every marked example, so a new one cannot go unchecked.
const PINNED: &[&str] = &[
    "support-actions",
    "combining-a",
    "combining-b",
    "combining-c",
    "combining-d",
    "combining-e",
    "combining-f",
    "combining-g",
    "combining-h",
    "combining-i",
    "combining-j",
    "combining-k-header",
    "combining-k",
    "citations",
    "combining-l",
    "combining-m",
    "combining-n",
    "vendor-payments",
    "combining-o",
    "combining-p",
];

#[test]
fn every_marked_example_is_pinned() {
    let examples = Examples::load();
    let marked: Vec<&str> = examples.0.keys().map(String::as_str).collect();
    let mut pinned = PINNED.to_vec();
    pinned.sort_unstable();
    assert_eq!(
        marked, pinned,
        "markers in docs/language.md vs tests/docs.rs"
    );
}

// ------------------------------------------------- support-actions, A-K ----

fn support_actions(e: &Examples, input: &str) -> Decision {
    e.policy("support-actions").evaluate(&e.input(input))
}

#[test]
fn a_nothing_matches() {
    let e = Examples::load();
    let d = support_actions(&e, "combining-a");
    check(
        "combining-a",
        &d,
        &Expect {
            outcome: Auto,
            tier: Some(0),
            rules: &[("default", Auto, true)],
            reasons: &[("NO_RULE_MATCHED", Some("default"))],
            approvals: None,
        },
    );
}

#[test]
fn b_missing_evidence_softened() {
    let e = Examples::load();
    let d = support_actions(&e, "combining-b");
    check(
        "combining-b",
        &d,
        &Expect {
            outcome: Queue,
            tier: Some(0),
            rules: &[("default", Auto, false)],
            reasons: &[
                ("NO_RULE_MATCHED", Some("default")),
                ("EVIDENCE_MISSING", None),
            ],
            approvals: Some((1, &[])),
        },
    );
    assert_eq!(d.evidence.missing, ["source_citation"]);
    assert_eq!(d.evidence.on_missing, Some(Queue));
}

#[test]
fn c_two_rules_agree() {
    let e = Examples::load();
    let d = support_actions(&e, "combining-c");
    check(
        "combining-c",
        &d,
        &Expect {
            outcome: Queue,
            tier: Some(1),
            rules: &[("customer_facing", Queue, true), ("unsure", Queue, true)],
            reasons: &[
                ("CUSTOMER_FACING", Some("customer_facing")),
                ("LOW_CONFIDENCE", Some("unsure")),
            ],
            approvals: Some((1, &[(1, &["support_team"])])),
        },
    );
}

#[test]
fn d_the_strictest_tier_wins() {
    let e = Examples::load();
    let d = support_actions(&e, "combining-d");
    check(
        "combining-d",
        &d,
        &Expect {
            outcome: Explicit,
            tier: Some(3),
            rules: &[
                ("customer_facing", Queue, false),
                ("refunds", Explicit, true),
            ],
            reasons: &[
                ("CUSTOMER_FACING", Some("customer_facing")),
                ("REFUND", Some("refunds")),
            ],
            approvals: Some((1, &[(1, &["support_lead"])])),
        },
    );
    let timeout = d.timeout.as_ref().expect("tier 3 has a timeout");
    assert_eq!(timeout.after, "24h");
    assert_eq!(timeout.on_expiry.action, "escalate");
    assert_eq!(timeout.on_expiry.role.as_deref(), Some("finance_approver"));
    assert_eq!(d.evidence.required, ["impact_estimate", "customer_record"]);
    assert!(d.evidence.missing.is_empty());
}

#[test]
fn e_a_limit_escalates() {
    let e = Examples::load();
    let d = support_actions(&e, "combining-e");
    check(
        "combining-e",
        &d,
        &Expect {
            outcome: Explicit,
            tier: Some(3),
            rules: &[
                ("customer_facing", Queue, false),
                ("refunds", Explicit, true),
            ],
            reasons: &[
                ("CUSTOMER_FACING", Some("customer_facing")),
                ("REFUND", Some("refunds")),
                ("APPROVER_ESCALATED", None),
            ],
            approvals: Some((1, &[(1, &["finance_approver"])])),
        },
    );
    assert_eq!(
        escalations(&d),
        [("finance_approver", Some("support_lead"))]
    );
    assert!(
        message(&d, "APPROVER_ESCALATED").ends_with(": support_lead -> finance_approver"),
        "{}",
        message(&d, "APPROVER_ESCALATED")
    );
}

#[test]
fn f_the_chain_runs_out() {
    let e = Examples::load();
    let d = support_actions(&e, "combining-f");
    check(
        "combining-f",
        &d,
        &Expect {
            outcome: Blocked,
            tier: Some(3),
            rules: &[
                ("customer_facing", Queue, false),
                ("refunds", Explicit, false),
            ],
            reasons: &[
                ("CUSTOMER_FACING", Some("customer_facing")),
                ("REFUND", Some("refunds")),
                ("APPROVER_LIMIT_EXCEEDED", None),
            ],
            approvals: None,
        },
    );
    let m = message(&d, "APPROVER_LIMIT_EXCEEDED");
    assert!(
        m.ends_with(
            ": support_lead (limit action.amount <= 1000) -> finance_approver (limit action.amount <= 10000)"
        ),
        "{m}"
    );
}

#[test]
fn g_missing_evidence_blocks() {
    let e = Examples::load();
    let d = support_actions(&e, "combining-g");
    check(
        "combining-g",
        &d,
        &Expect {
            outcome: Blocked,
            tier: Some(3),
            rules: &[
                ("customer_facing", Queue, false),
                ("refunds", Explicit, false),
            ],
            reasons: &[
                ("CUSTOMER_FACING", Some("customer_facing")),
                ("REFUND", Some("refunds")),
                ("EVIDENCE_MISSING", None),
            ],
            approvals: None,
        },
    );
    assert_eq!(d.evidence.missing, ["impact_estimate"]);
    assert!(message(&d, "EVIDENCE_MISSING").ends_with(": impact_estimate"));
}

#[test]
fn h_a_rule_without_a_tier() {
    let e = Examples::load();
    let d = support_actions(&e, "combining-h");
    check(
        "combining-h",
        &d,
        &Expect {
            outcome: Explicit,
            tier: Some(0),
            rules: &[("personal_data", Explicit, true), ("default", Auto, false)],
            reasons: &[("PII", Some("personal_data"))],
            approvals: Some((1, &[(1, &["privacy_officer"])])),
        },
    );
    assert_eq!(d.evidence.required, ["source_citation"]);
    assert!(d.evidence.missing.is_empty());
}

#[test]
fn i_exact_numbers() {
    let e = Examples::load();
    let input = e.input("combining-i");
    // The example is about the written form: the JSON keeps `1000.00`.
    assert!(
        e.block("combining-i", "json")
            .contains("\"amount\": 1000.00,")
    );
    let d = e.policy("support-actions").evaluate(&input);
    check(
        "combining-i",
        &d,
        &Expect {
            outcome: Explicit,
            tier: Some(3),
            rules: &[
                ("customer_facing", Queue, false),
                ("refunds", Explicit, true),
            ],
            reasons: &[
                ("CUSTOMER_FACING", Some("customer_facing")),
                ("REFUND", Some("refunds")),
            ],
            approvals: Some((1, &[(1, &["support_lead"])])),
        },
    );
    assert_eq!(escalations(&d), [("support_lead", None)]);
}

#[test]
fn j_an_absent_amount_fails_closed() {
    let e = Examples::load();
    let d = support_actions(&e, "combining-j");
    check(
        "combining-j",
        &d,
        &Expect {
            outcome: Blocked,
            tier: Some(3),
            rules: &[
                ("customer_facing", Queue, false),
                ("refunds", Explicit, false),
            ],
            reasons: &[
                ("CUSTOMER_FACING", Some("customer_facing")),
                ("REFUND", Some("refunds")),
                ("APPROVER_LIMIT_EXCEEDED", None),
            ],
            approvals: None,
        },
    );
    let m = message(&d, "APPROVER_LIMIT_EXCEEDED");
    assert!(
        m.ends_with(
            "support_lead (limit action.amount <= 1000, but `action.amount` is absent) -> finance_approver (limit action.amount <= 10000, but `action.amount` is absent)"
        ),
        "{m}"
    );
}

#[test]
fn k_first_match() {
    let e = Examples::load();
    let policy = e.block("support-actions", "gate");
    let header = e.block("combining-k-header", "text").trim_end();
    // The docs say: the same policy, with `combine first-match` added to
    // the header.
    let (first_line, rest) = policy.split_once('\n').expect("a header line");
    assert_eq!(header, format!("{first_line} combine first-match"));
    let first_match = compile("combining-k", &format!("{header}\n{rest}"));
    // ... and the input of example D.
    assert_eq!(e.input("combining-k"), e.input("combining-d"));
    let d = first_match.evaluate(&e.input("combining-k"));
    check(
        "combining-k",
        &d,
        &Expect {
            outcome: Queue,
            tier: Some(1),
            rules: &[("customer_facing", Queue, true)],
            reasons: &[("CUSTOMER_FACING", Some("customer_facing"))],
            approvals: Some((1, &[(1, &["support_team"])])),
        },
    );
}

// ------------------------------------------------------ citations, L-N ----

#[test]
fn l_no_rule_matches_the_default_decides() {
    let e = Examples::load();
    let d = e.policy("citations").evaluate(&e.input("combining-l"));
    check(
        "combining-l",
        &d,
        &Expect {
            outcome: Explicit,
            tier: Some(1),
            rules: &[("default", Explicit, true)],
            reasons: &[("NO_RULE_MATCHED", Some("default"))],
            approvals: Some((1, &[(1, &["reviewer"])])),
        },
    );
}

#[test]
fn m_a_rule_without_a_tier_keeps_the_default() {
    let e = Examples::load();
    let d = e.policy("citations").evaluate(&e.input("combining-m"));
    check(
        "combining-m",
        &d,
        &Expect {
            outcome: Explicit,
            tier: Some(1),
            rules: &[("cited", Auto, false), ("default", Explicit, true)],
            reasons: &[("CITES_SOURCES", Some("cited"))],
            approvals: Some((1, &[(1, &["reviewer"])])),
        },
    );
    assert_eq!(d.evidence.required, ["source_citation"]);
    assert!(d.evidence.missing.is_empty());
    assert!(!d.has_reason("NO_RULE_MATCHED"));
}

#[test]
fn n_a_rule_with_a_tier_replaces_the_default() {
    let e = Examples::load();
    let d = e.policy("citations").evaluate(&e.input("combining-n"));
    check(
        "combining-n",
        &d,
        &Expect {
            outcome: Auto,
            tier: Some(0),
            rules: &[("internal", Auto, true)],
            reasons: &[],
            approvals: None,
        },
    );
}

// ------------------------------------------------ vendor-payments, O-P ----

#[test]
fn o_a_role_drops_out_of_its_group() {
    let e = Examples::load();
    let d = e
        .policy("vendor-payments")
        .evaluate(&e.input("combining-o"));
    check(
        "combining-o",
        &d,
        &Expect {
            outcome: Explicit,
            tier: Some(2),
            rules: &[("payment", Explicit, true)],
            reasons: &[
                ("PAYMENT", Some("payment")),
                ("APPROVER_ESCALATED", None),
                ("APPROVER_NOT_ELIGIBLE", None),
            ],
            approvals: Some((2, &[(1, &["controller"]), (1, &["finance_approver"])])),
        },
    );
    assert!(
        message(&d, "APPROVER_NOT_ELIGIBLE").ends_with(": ap_clerk (limit action.amount <= 5000)")
    );
    assert!(message(&d, "APPROVER_ESCALATED").ends_with(": team_lead -> finance_approver"));
    assert_eq!(
        escalations(&d),
        [
            ("controller", None),
            ("finance_approver", Some("team_lead"))
        ]
    );
}

#[test]
fn p_requests_merge_and_dual_needs_two() {
    let e = Examples::load();
    let d = e
        .policy("vendor-payments")
        .evaluate(&e.input("combining-p"));
    check(
        "combining-p",
        &d,
        &Expect {
            outcome: Dual,
            tier: Some(4),
            rules: &[("payment", Explicit, false), ("new_vendor", Dual, true)],
            reasons: &[
                ("PAYMENT", Some("payment")),
                ("NEW_VENDOR", Some("new_vendor")),
                ("APPROVER_ESCALATED", None),
            ],
            approvals: Some((2, &[(2, &["finance_approver"])])),
        },
    );
    // `team_lead -> finance_approver` happened in two groups, listed once.
    assert!(
        message(&d, "APPROVER_ESCALATED").ends_with(": team_lead -> finance_approver"),
        "{}",
        message(&d, "APPROVER_ESCALATED")
    );
    let approvals = d.approvals.as_ref().expect("dual has approvals");
    assert!(approvals.distinct_people);
}

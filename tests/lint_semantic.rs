//! The solver-backed lints, each with a policy that triggers it and one
//! that does not; the rendered finding is a snapshot.

use gatehouse::Policy;

const HEAD: &str = r#"policy "p" version "1" combine COMBINE
schema {
  action.type: enum { read, draft, send, refund }
  action.amount: number?
  action.scope: enum { internal, external }
  requester.id: string
}
role lead limit action.amount <= 1000
role boss limit action.amount <= 5000
reason R "r"
tier 0 "none" { outcome auto }
tier 2 "review" { outcome explicit  approve lead  timeout 24h then reject }
tier 3 "money" { outcome explicit  approve boss  timeout 24h then reject }
"#;

fn lint(combine: &str, rules: &str) -> (Vec<&'static str>, String) {
    let text = format!("{}{rules}\n", HEAD.replace("COMBINE", combine));
    let policy =
        Policy::from_source("p.gate", text).unwrap_or_else(|e| panic!("{}", e.render(false)));
    let findings: Vec<gatehouse::Diagnostic> = gatehouse_cli::lint::lint(&policy)
        .into_iter()
        .filter(|d| {
            d.code.as_str().starts_with('L')
                && !matches!(
                    d.code.as_str(),
                    "L0006" | "L0007" | "L0009" | "L0012" | "L0013" | "L0014" | "L0015"
                )
        })
        .collect();
    let codes = findings.iter().map(|d| d.code.as_str()).collect();
    (codes, gatehouse::Diagnostics(findings).render(false))
}

const SAFE_DEFAULT: &str = "default tier 2 because R";

#[test]
fn l0002_contradiction() {
    let (codes, out) = lint(
        "strictest",
        &format!(
            "rule impossible when action.amount > 10 and action.amount < 5 then tier 3 because R\n{SAFE_DEFAULT}"
        ),
    );
    assert_eq!(codes, ["L0002"]);
    insta::assert_snapshot!(out);
    let (codes, _) = lint(
        "strictest",
        &format!(
            "rule fine when action.amount > 10 and action.amount < 50 then tier 3 because R\n{SAFE_DEFAULT}"
        ),
    );
    assert!(codes.is_empty(), "{codes:?}");
}

#[test]
fn l0002_exceptions_that_cover_everything() {
    let (codes, _) = lint(
        "strictest",
        &format!(
            "rule never when action.type == send unless action.scope in [internal, external] then tier 3 because R\n{SAFE_DEFAULT}"
        ),
    );
    assert_eq!(codes, ["L0002"]);
}

#[test]
fn l0003_tautology() {
    let (codes, out) = lint(
        "strictest",
        &format!(
            "rule always when action.type == send or action.type != send then tier 2 because R\n{SAFE_DEFAULT}"
        ),
    );
    assert_eq!(codes, ["L0003"]);
    insta::assert_snapshot!(out);
}

#[test]
fn l0001_first_match_rule_pre_empted() {
    let (codes, out) = lint(
        "first-match",
        &format!(
            "rule any_send when action.type == send then tier 2 because R\n\
         rule big_send when action.type == send and action.amount > 1000 then tier 3 because R\n{SAFE_DEFAULT}"
        ),
    );
    assert_eq!(codes, ["L0001"]);
    assert!(out.contains("`any_send` always matches first"), "{out}");
    insta::assert_snapshot!(out);
    // the other order is fine: the narrow rule first
    let (codes, _) = lint(
        "first-match",
        &format!(
            "rule big_send when action.type == send and action.amount > 1000 then tier 3 because R\n\
         rule any_send when action.type == send then tier 2 because R\n{SAFE_DEFAULT}"
        ),
    );
    assert!(codes.is_empty(), "{codes:?}");
}

#[test]
fn l0001_strictest_rule_that_never_changes_the_outcome() {
    let (codes, out) = lint(
        "strictest",
        &format!(
            "rule any_refund when action.type == refund then tier 3 because R\n\
         rule big_refund when action.type == refund and action.amount > 100 then tier 2 because R\n{SAFE_DEFAULT}"
        ),
    );
    assert_eq!(codes, ["L0001"]);
    assert!(out.contains("never changes the outcome"), "{out}");
}

#[test]
fn l0001_strictest_rule_that_adds_approvers_is_checked_too() {
    // `big_refund` adds the same approver `any_refund` adds, whenever it
    // matches: it changes nothing. (Rules adding approvers were skipped.)
    let (codes, out) = lint(
        "strictest",
        &format!(
            "rule any_refund when action.type == refund then tier 3, approve boss because R\n\
         rule big_refund when action.type == refund and action.amount > 100 then tier 2, approve boss because R\n{SAFE_DEFAULT}"
        ),
    );
    assert_eq!(codes, ["L0001"]);
    assert!(
        out.contains("rule `big_refund` never changes the outcome")
            && out.contains("including every approver and evidence field it adds"),
        "{out}"
    );
    insta::assert_snapshot!(out);
    // an approver the other rule does not add changes who approves
    let (codes, _) = lint(
        "strictest",
        &format!(
            "rule any_refund when action.type == refund then tier 3, approve boss because R\n\
         rule big_refund when action.type == refund and action.amount > 100 then tier 2, approve lead because R\n{SAFE_DEFAULT}"
        ),
    );
    assert!(codes.is_empty(), "{codes:?}");
}

#[test]
fn l0001_strictest_rule_that_adds_evidence_is_checked_too() {
    let text = format!(
        "{}rule any_refund when action.type == refund then tier 3, evidence ticket because R\n\
         rule big_refund when action.type == refund and action.amount > 100 then tier 2, evidence ticket because R\n{SAFE_DEFAULT}\n",
        HEAD.replace("COMBINE", "strictest")
            .replace("reason R", "evidence { ticket, receipt }\nreason R")
    );
    let codes = |text: &str| -> Vec<&'static str> {
        let policy = Policy::from_source("p.gate", text).expect("compiles");
        gatehouse_cli::lint::lint(&policy)
            .into_iter()
            .map(|d| d.code.as_str())
            .filter(|c| *c == "L0001")
            .collect()
    };
    assert_eq!(codes(&text), ["L0001"]);
    // evidence only the narrow rule asks for is a difference
    let other = text.replace(
        "tier 2, evidence ticket because",
        "tier 2, evidence receipt because",
    );
    assert!(codes(&other).is_empty());
}

#[test]
fn l0001_strictest_a_raise_does_not_outrank_a_stricter_tier() {
    // `any_refund` asks for dual, but its tier 2 loses to `big_refund`'s
    // tier 3 (same tier outcome, higher number): big refunds go to `boss`,
    // not `lead`, so `big_refund` decides something.
    let (codes, _) = lint(
        "strictest",
        &format!(
            "rule any_refund when action.type == refund then tier 2, at least dual because R\n\
         rule big_refund when action.type == refund and action.amount > 100 then tier 3 because R\n{SAFE_DEFAULT}"
        ),
    );
    assert!(codes.is_empty(), "{codes:?}");
}

#[test]
fn l0004_threshold_gap() {
    let (codes, out) = lint(
        "strictest",
        &format!(
            "rule small when action.type == refund and action.amount < 1000 then tier 2 because R\n\
         rule large when action.type == refund and action.amount > 1000 then tier 3 because R\n{SAFE_DEFAULT}"
        ),
    );
    assert_eq!(codes, ["L0004"]);
    assert!(
        out.contains("\"amount\":1000"),
        "the example sits on the gap: {out}"
    );
    insta::assert_snapshot!(out);
    let (codes, _) = lint(
        "strictest",
        &format!(
            "rule small when action.type == refund and action.amount <= 1000 then tier 2 because R\n\
         rule large when action.type == refund and action.amount > 1000 then tier 3 because R\n{SAFE_DEFAULT}"
        ),
    );
    assert!(codes.is_empty(), "{codes:?}");
}

#[test]
fn l0005_threshold_overlap_in_first_match() {
    // small refunds queue for the lead, large ones need the boss: which is 1000?
    let (codes, out) = lint(
        "first-match",
        &format!(
            "rule small when action.type == refund and action.amount <= 1000 then tier 2, at least dual because R\n\
         rule large when action.type == refund and action.amount >= 1000 then tier 3 because R\n{SAFE_DEFAULT}"
        ),
    );
    assert_eq!(codes, ["L0005"]);
    insta::assert_snapshot!(out);
    let (codes, _) = lint(
        "strictest",
        &format!(
            "rule small when action.type == refund and action.amount <= 1000 then tier 2, at least dual because R\n\
         rule large when action.type == refund and action.amount >= 1000 then tier 3 because R\n{SAFE_DEFAULT}"
        ),
    );
    assert!(
        !codes.contains(&"L0005"),
        "overlaps are fine when every rule counts"
    );
}

#[test]
fn l0008_limit_below_threshold() {
    let (codes, out) = lint(
        "strictest",
        &format!(
            "rule huge when action.type == refund and action.amount > 5000 then at least explicit, approve boss because R\n{SAFE_DEFAULT}"
        ),
    );
    assert_eq!(codes, ["L0008"]);
    insta::assert_snapshot!(out);
    let (codes, _) = lint(
        "strictest",
        &format!(
            "rule huge when action.type == refund and action.amount > 1000 then at least explicit, approve boss because R\n{SAFE_DEFAULT}"
        ),
    );
    assert!(codes.is_empty(), "{codes:?}");
}

#[test]
fn l0011_dangerous_auto_with_a_verified_example() {
    let (codes, out) = lint(
        "strictest",
        "rule internal when action.scope == internal then tier 0 because R\ndefault tier 2 because R",
    );
    assert!(
        codes.iter().all(|c| *c == "L0011") && !codes.is_empty(),
        "{codes:?}"
    );
    assert!(out.contains("example input:"));
    insta::assert_snapshot!(out);
    // the same policy, with sends raised to review: clean
    let (codes, _) = lint(
        "strictest",
        "rule internal when action.scope == internal then tier 0 because R\n\
         rule sends when action.type in [send, refund] then at least explicit because R\n\
         rule money when action.amount != 0 then at least explicit because R\n\
         default tier 2 because R",
    );
    assert!(codes.is_empty(), "{codes:?}");
}

#[test]
fn dangerous_auto_examples_really_decide_auto() {
    let text = format!(
        "{}rule internal when action.scope == internal then tier 0 because R\ndefault tier 2 because R\n",
        HEAD.replace("COMBINE", "strictest")
    );
    let policy = Policy::from_source("p.gate", text).expect("compiles");
    let findings: Vec<_> = gatehouse_cli::lint::lint(&policy)
        .into_iter()
        .filter(|d| d.code.as_str() == "L0011")
        .collect();
    assert!(!findings.is_empty());
    for f in findings {
        let example = f.example.expect("an example");
        assert_eq!(
            policy.evaluate(&example).outcome,
            gatehouse::Outcome::Auto,
            "{example}"
        );
    }
}

#[test]
fn the_reference_matrix_has_no_semantic_findings() {
    let policy = Policy::load(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/policies/ai-agent-actions"
    ))
    .expect("loads");
    let findings: Vec<_> = gatehouse_cli::lint::lint(&policy)
        .into_iter()
        .filter(|d| {
            matches!(
                d.code.as_str(),
                "L0001" | "L0002" | "L0003" | "L0004" | "L0005" | "L0008" | "L0011"
            )
        })
        .collect();
    assert!(
        findings.is_empty(),
        "{}",
        gatehouse::Diagnostics(findings).render(false)
    );
}

//! What README and the book claim is true: README's tour policy decides as
//! README says, and the book's tour policy as the tour says; the decision
//! table (docs/decisions.md) names every field a decision has; the test
//! suite of docs/testing.md runs green; the limits table of
//! docs/reliability.md states every limit. Every ```gate block is checked
//! for findings and layout by tests/book.rs.

mod common;
use common::gate_blocks;

use std::path::Path;
use std::process::Command;

fn doc(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn readme() -> String {
    doc("README.md")
}

/// README's tour: the refund of 2500 goes to the finance approver (the
/// support lead's limit is 1000), the requester may not approve, and the
/// `--explain` text README prints is what the binary prints (README leaves
/// out the digest lines, marked `...`).
#[test]
fn the_readme_tour_decides_as_the_readme_says() {
    let text = readme();
    let blocks = gate_blocks(&text);
    assert_eq!(blocks.len(), 1, "README shows one policy");
    let dir = std::env::temp_dir().join(format!("gatehouse-readme-tour-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let policy = dir.join("refunds.gate");
    let input = dir.join("refund.json");
    std::fs::write(&policy, &blocks[0]).expect("write");
    let action = r#"{"action": {"type": "refund", "amount": 2500}, "requester": {"id": "agent-7"}, "evidence": {"customer_record": "crm:4711"}}"#;
    let flowed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flowed.contains(action),
        "README states the action it decides"
    );
    std::fs::write(&input, action).expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .current_dir(&dir)
        .args([
            "eval",
            "--policy",
            "refunds.gate",
            "--explain",
            "refund.json",
        ])
        .output()
        .expect("runs");
    let _ = std::fs::remove_dir_all(&dir);
    let printed = String::from_utf8_lossy(&out.stdout);
    let shown = &text[text.find("```text\n").expect("the explain output") + 8..];
    let shown = &shown[..shown.find("```").expect("block ends")];
    let mut printed_lines = printed.lines();
    for line in shown.lines().filter(|l| *l != "...") {
        assert!(
            printed_lines.any(|p| p == line),
            "README's line `{line}` is not printed (in this order):\n{printed}"
        );
    }
    let p = gatehouse::Policy::from_source("refunds.gate", blocks[0].clone()).expect("compiles");
    let d = p.evaluate(&serde_json::from_str(action).expect("json"));
    assert_eq!(d.outcome, gatehouse::Outcome::Explicit);
    let role = &d.approvals.as_ref().expect("approvals").groups[0].roles[0];
    assert_eq!(
        (role.name.as_str(), role.escalated_from.as_deref()),
        ("finance_approver", Some("support_lead"))
    );
}

#[test]
fn the_book_tour_policy_decides_as_the_tour_says() {
    let block = gate_blocks(&doc("docs/tour.md")).remove(0);
    let p = gatehouse::Policy::from_source("tour.gate", block).expect("compiles");
    let refund = |amount: f64, pii: bool| {
        serde_json::json!({
            "action": {"type": "refund", "amount": amount, "customer_facing": true,
                       "data_classes": if pii { vec!["pii"] } else { vec![] }},
            "requester": {"id": "agent-runner-7"}, "agent": {"owner": "maria"},
            "evidence": {"impact_estimate": "x", "customer_record": "y"}
        })
    };
    let d = p.evaluate(&refund(2500.0, false));
    assert_eq!(d.outcome, gatehouse::Outcome::Explicit);
    let role = &d.approvals.as_ref().expect("approvals").groups[0].roles[0];
    assert_eq!(
        (role.name.as_str(), role.escalated_from.as_deref()),
        ("finance_approver", Some("support_lead"))
    );
    let d = p.evaluate(&refund(25000.0, true));
    let roles: Vec<&str> = d
        .approvals
        .as_ref()
        .expect("approvals")
        .groups
        .iter()
        .map(|g| g.roles[0].name.as_str())
        .collect();
    assert_eq!(roles, ["finance_director", "data_protection_officer"]);
}

#[test]
fn the_decision_table_documents_every_field() {
    let text = doc("docs/decisions.md");
    let p = gatehouse::Policy::from_source(
        "t.gate",
        "policy \"t\" version \"1\"\nschema { a: bool }\ndefault block",
    )
    .expect("compiles");
    let d = p.evaluate(&serde_json::json!({}));
    let value = serde_json::to_value(&d).expect("json");
    for key in value.as_object().expect("object").keys() {
        let documented =
            text.contains(&format!("| `{key}` |")) || text.contains(&format!("| `{key}[]` |"));
        assert!(
            documented,
            "the decision table (docs/decisions.md) lacks `{key}`"
        );
    }
    assert!(text.contains("| `input_errors[]`"));
}

#[test]
fn the_books_test_suite_runs_green() {
    let text = doc("docs/testing.md");
    let section = &text[text.find("# Testing policies").expect("section")..];
    let start = section.find("```yaml\n").expect("yaml block") + "```yaml\n".len();
    let suite = &section[start..start + section[start..].find("```").expect("block ends")];
    // lay out the policy and the sample the suite refers to, as in the repo
    let root = std::env::temp_dir().join(format!("gatehouse-readme-suite-{}", std::process::id()));
    let set = root.join("policies/ai-agent-actions");
    std::fs::create_dir_all(&set).expect("dir");
    std::fs::create_dir_all(root.join("examples/actions")).expect("dir");
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    for entry in std::fs::read_dir(repo.join("policies/ai-agent-actions")).expect("policy") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "gate") {
            std::fs::copy(&path, set.join(path.file_name().expect("name"))).expect("copy");
        }
    }
    std::fs::copy(
        repo.join("examples/actions/refund-large.json"),
        root.join("examples/actions/refund-large.json"),
    )
    .expect("copy");
    std::fs::write(set.join("readme.test.yaml"), suite).expect("write");
    let report = gatehouse_cli::testing::run(&[&set]);
    let _ = std::fs::remove_dir_all(&root);
    assert_eq!(
        (report.passed(), report.failed(), report.skipped()),
        (4, 0, 1),
        "{}",
        report.render_human(true)
    );
}

/// The limits table of docs/reliability.md states every constant of
/// `gatehouse::limits` with its current value.
#[test]
fn the_limits_table_matches_the_code() {
    use gatehouse::limits::*;
    let text = doc("docs/reliability.md");
    let start = text.find("## Limits\n").expect("a Limits section");
    let section = &text[start..];
    let section = &section[..section[4..].find("\n#").map_or(section.len(), |e| e + 4)];
    let row = |what: &str| -> String {
        section
            .lines()
            .find(|l| l.starts_with(&format!("| {what} |")))
            .unwrap_or_else(|| panic!("no row `{what}` in the limits table of docs/reliability.md"))
            .split('|')
            .nth(2)
            .unwrap_or_default()
            .trim()
            .to_owned()
    };
    let mib = |n: usize| format!("{} MiB", n / (1024 * 1024));
    let kib = |n: usize| format!("{} KiB", n / 1024);
    let levels = |n: usize| format!("{n} levels");
    for (what, want) in [
        ("policy file size", mib(MAX_FILE_BYTES)),
        ("policy set size (all files)", mib(MAX_SET_BYTES)),
        ("files in a policy set", MAX_FILES.to_string()),
        (
            "nesting of parentheses / `not`s in a row",
            levels(MAX_NESTING),
        ),
        ("tests in one condition", MAX_CONDITION_TESTS.to_string()),
        ("items in one list literal", MAX_LIST_ITEMS.to_string()),
        (
            "string literal, pattern or description",
            kib(MAX_STRING_BYTES),
        ),
        ("compiled regex program", mib(MAX_REGEX_PROGRAM_BYTES)),
        ("regex memory of a policy set", mib(MAX_REGEX_SET_BYTES)),
        (
            "unknown fields listed by `--strict`",
            MAX_UNKNOWN_FIELD_ERRORS.to_string(),
        ),
        (
            "approval records in one verification",
            gatehouse::audit::verify::MAX_APPROVALS.to_string(),
        ),
        ("rules", MAX_RULES.to_string()),
        ("reason codes", MAX_REASONS.to_string()),
        ("schema attributes", MAX_ATTRIBUTES.to_string()),
        ("values of one enum", MAX_ENUM_VALUES.to_string()),
        ("evidence fields", MAX_EVIDENCE.to_string()),
        ("approver roles", MAX_ROLES.to_string()),
        ("tiers", MAX_TIERS.to_string()),
        ("input document", mib(MAX_INPUT_BYTES)),
        (
            "input nesting (objects and arrays)",
            levels(MAX_INPUT_DEPTH),
        ),
    ] {
        assert_eq!(row(what), want, "docs/reliability.md's limit for {what}");
    }
}

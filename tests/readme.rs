//! README's examples are real: every ```gate block compiles without
//! warnings, and the decision JSON table names every field a decision has.

mod common;
use common::gate_blocks;

use std::path::Path;

fn readme() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md")
}

#[test]
fn every_gate_block_in_the_readme_compiles_cleanly() {
    let blocks = gate_blocks(&readme());
    assert!(!blocks.is_empty(), "README has a language tour");
    for (i, block) in blocks.iter().enumerate() {
        match gatehouse::Policy::from_source(format!("README block {i}"), block.clone()) {
            Ok(p) => assert!(
                p.warnings().0.is_empty(),
                "README block {i} warns:\n{}",
                p.warnings().render(false)
            ),
            Err(e) => panic!("README block {i} does not compile:\n{}", e.render(false)),
        }
    }
}

#[test]
fn the_tour_policy_decides_as_the_readme_says() {
    let block = gate_blocks(&readme()).remove(0);
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
    let text = readme();
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
        assert!(documented, "README's decision table lacks `{key}`");
    }
    assert!(text.contains("| `input_errors[]`"));
}

#[test]
fn the_readme_test_suite_runs_green() {
    let text = readme();
    let section = &text[text.find("## Testing policies").expect("section")..];
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

/// The limits table in README states every constant of `gatehouse::limits`
/// with its current value.
#[test]
fn the_limits_table_matches_the_code() {
    use gatehouse::limits::*;
    let readme = readme();
    let start = readme.find("### Limits\n").expect("a Limits section");
    let section = &readme[start..];
    let section = &section[..section[4..].find("\n#").map_or(section.len(), |e| e + 4)];
    let row = |what: &str| -> String {
        section
            .lines()
            .find(|l| l.starts_with(&format!("| {what} |")))
            .unwrap_or_else(|| panic!("no row `{what}` in README's limits table"))
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
        assert_eq!(row(what), want, "README's limit for {what}");
    }
}

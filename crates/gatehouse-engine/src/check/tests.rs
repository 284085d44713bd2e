//! Checker unit tests: resolution across files, ordering, and that errors
//! are collected rather than stopping at the first.

use super::did_you_mean;
use crate::{Code, Policy};

fn codes(result: Result<Policy, crate::Diagnostics>) -> Vec<&'static str> {
    match result {
        Ok(p) => p.warnings().iter().map(|d| d.code.as_str()).collect(),
        Err(e) => e.iter().map(|d| d.code.as_str()).collect(),
    }
}

const HEADER: &str = "policy \"p\" version \"1\"\nschema { a.n: number  a.s: string  a.e: enum { x, y } }\ntier 1 \"one\" { outcome queue }\ndefault tier 1\n";

#[test]
fn names_from_every_file_share_one_namespace_and_rules_run_in_file_order() {
    let p = Policy::from_sources([
        (
            "b.gate",
            "rule second when a.n > 1 then tier 1 because LATE",
        ),
        ("a.gate", HEADER),
        (
            "c.gate",
            "reason LATE \"declared in a later file\"\nrule third when a.n > 2 then tier 1",
        ),
    ])
    .expect("compiles");
    let names: Vec<&str> = p.checked().rules.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["second", "third"]);
    let files: Vec<&str> = p.checked().files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(files, ["a.gate", "b.gate", "c.gate"]);
}

#[test]
fn a_duplicate_across_files_points_at_both() {
    let err = Policy::from_sources([
        ("a.gate", format!("{HEADER}role lead")),
        ("b.gate", "role lead".to_owned()),
    ])
    .expect_err("duplicate");
    let d = err
        .iter()
        .find(|d| d.code == Code::DuplicateDefinition)
        .expect("E0102");
    assert_eq!(d.location().map(|l| l.file), Some("b.gate".to_owned()));
    assert_eq!(
        d.related[0].location().map(|l| l.file),
        Some("a.gate".to_owned())
    );
}

#[test]
fn every_error_is_collected() {
    let text = format!(
        "{HEADER}rule r1 when a.nn > 1 then tier 9 because NOPE\nrule r2 when a.s > \"x\" then approve ghost\nrule r3 when a.e == z then tier 1\nrule r4 when a.n then tier 1"
    );
    assert_eq!(
        codes(Policy::from_source("t.gate", text)),
        [
            "E0201", "E0205", "E0204", "E0302", "E0202", "E0206", "E0301"
        ]
    );
}

#[test]
fn header_rules() {
    // no W0001 on top: without a header there is no policy to default
    assert_eq!(codes(Policy::from_source("t.gate", "role r")), ["E0101"]);
    let two = Policy::from_sources([("a.gate", HEADER), ("b.gate", "policy \"q\" version \"2\"")]);
    assert_eq!(codes(two), ["E0102"]);
}

#[test]
fn tier_and_role_consistency() {
    let text = format!(
        "{HEADER}role boss limit a.s <= 5\nrole r1 escalate to r2\nrole r2 escalate to r1\n\
         tier 2 \"t\" {{ approve r1 }}\ntier 3 \"u\" {{ outcome block  approve r1 }}\n\
         tier 4 \"v\" {{ outcome queue  evidence  x otherwise dual }}"
    );
    assert_eq!(
        codes(Policy::from_source("t.gate", text)),
        // a string limit; one cycle (reported once); a tier without outcome;
        // approvers on a block tier; an undeclared evidence field; `otherwise dual`
        ["E0304", "E0304", "E0303", "E0303", "E0203", "E0303"]
    );
}

#[test]
fn types_of_literals_follow_the_attribute() {
    let text = format!(
        "{HEADER}schema {{ t.at: timestamp  t.d: duration  t.tags: set of string }}\n\
         rule ok when t.at < \"2026-01-01T00:00:00Z\" and t.d > 1h and t.tags contains \"x\" then tier 1\n\
         rule bad1 when t.at < \"tomorrow\" then tier 1\n\
         rule bad2 when t.d > 5 then tier 1\n\
         rule bad3 when t.tags == \"x\" then tier 1\n\
         rule bad4 when a.s == x then tier 1"
    );
    assert_eq!(
        codes(Policy::from_source("t.gate", text)),
        ["E0003", "E0301", "E0302", "E0301"]
    );
}

#[test]
fn invalid_regex_is_reported_at_the_pattern() {
    let text = format!("{HEADER}rule r when a.s matches \"(unclosed\" then tier 1");
    let err = Policy::from_source("t.gate", text).expect_err("bad regex");
    let d = &err.0[0];
    assert_eq!(d.code, Code::InvalidRegex);
    assert_eq!(d.location().map(|l| (l.line, l.column)), Some((5, 25)));
}

#[test]
fn digest_depends_on_content_not_directory() {
    let a = Policy::from_sources([("x/main.gate", HEADER)]).expect("compiles");
    let b = Policy::from_sources([("y/main.gate", HEADER)]).expect("compiles");
    let c =
        Policy::from_sources([("x/main.gate", format!("{HEADER}# changed"))]).expect("compiles");
    assert_eq!(a.digest(), b.digest());
    assert_ne!(a.digest(), c.digest());
}

#[test]
fn suggestions_pick_the_nearest_name() {
    let known: Vec<String> = vec!["action.amount".into(), "action.type".into()];
    assert_eq!(
        did_you_mean("action.amout", known.iter()),
        Some("action.amount")
    );
    assert_eq!(did_you_mean("requester.id", known.iter()), None);
}

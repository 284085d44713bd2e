//! Parser unit tests: shapes of the tree, and errors that point at the
//! right place.

use super::ast::*;
use super::parse;
use crate::source::SourceFile;

fn parse_ok(text: &str) -> File {
    match parse(&SourceFile::new("t.gate", text)) {
        Ok(f) => f,
        Err(e) => panic!("expected to parse, got:\n{}", e),
    }
}

fn parse_err(text: &str) -> crate::Diagnostics {
    match parse(&SourceFile::new("t.gate", text)) {
        Ok(_) => panic!("expected a syntax error"),
        Err(e) => e,
    }
}

fn only_rule(f: &File) -> &Rule {
    f.declarations
        .iter()
        .find_map(|d| match d {
            Declaration::Rule(r) => Some(r),
            _ => None,
        })
        .expect("a rule")
}

#[test]
fn header_with_every_part() {
    let f = parse_ok(r#"policy "p" version "1.2" combine first-match description "d""#);
    let Some(Declaration::Header(h)) = f.declarations.first() else {
        panic!("no header")
    };
    assert_eq!(h.name.value, "p");
    assert_eq!(h.version.value, "1.2");
    assert_eq!(h.combine.map(|c| c.0), Some(CombineMode::FirstMatch));
    assert_eq!(h.description.as_ref().map(|d| d.value.as_str()), Some("d"));
}

#[test]
fn and_binds_tighter_than_or_and_not_tightest() {
    let f = parse_ok("rule r when a or b and not c then tier 1");
    let r = only_rule(&f);
    let ExprKind::Or(parts) = &r.when.kind else {
        panic!("expected or, got {:?}", r.when.kind)
    };
    assert_eq!(parts.len(), 2);
    let ExprKind::And(and_parts) = &parts[1].kind else {
        panic!("expected and")
    };
    assert!(matches!(and_parts[1].kind, ExprKind::Not(_)));
}

#[test]
fn keywords_do_not_swallow_identifiers() {
    // `note.x` is a path, not `not e.x`; `order` is not `or der`.
    let f = parse_ok("rule r when note.x and order.y then tier 1");
    let ExprKind::And(parts) = &only_rule(&f).when.kind else {
        panic!("expected and")
    };
    let names: Vec<&str> = parts
        .iter()
        .map(|p| match &p.kind {
            ExprKind::Predicate(p) => p.attribute.name.as_str(),
            _ => "?",
        })
        .collect();
    assert_eq!(names, ["note.x", "order.y"]);
}

#[test]
fn consequence_lists_stop_at_the_next_consequence() {
    let f = parse_ok(
        "rule r when a then tier 3, evidence diff, rollback_plan, at least dual, approve x or y because A, B",
    );
    let r = only_rule(&f);
    assert_eq!(r.consequences.len(), 4);
    let Consequence::Evidence(fields, _) = &r.consequences[1] else {
        panic!("expected evidence")
    };
    assert_eq!(fields.len(), 2);
    assert!(matches!(
        r.consequences[2],
        Consequence::AtLeast(Outcome::Dual, _)
    ));
    let Consequence::Approve(a) = &r.consequences[3] else {
        panic!("expected approve")
    };
    assert_eq!(a.kind, ApproverKind::Any);
    assert_eq!(r.because.len(), 2);
}

#[test]
fn every_test_form_parses() {
    let f = parse_ok(
        r#"rule r when a == 1 and b != "x" and c < 2.5 and d <= -3 and e > 24h and f >= g.h
            and i in [x, "y", 3] and j not in [k] and l contains "m" and n contains any [o, p]
            and q contains all [r] and s matches "^t" and u starts_with "v" and w ends_with "x"
            and y exists and z missing and flag
           unless (a == 2 or b == "z") then block"#,
    );
    let r = only_rule(&f);
    let ExprKind::And(parts) = &r.when.kind else {
        panic!("expected and")
    };
    assert_eq!(parts.len(), 17);
    assert_eq!(r.unless.len(), 1);
    assert!(matches!(
        r.consequences[0],
        Consequence::AtLeast(Outcome::Block, _)
    ));
}

#[test]
fn string_escapes_are_decoded() {
    let f = parse_ok(r#"reason A "say \"hi\"\n\tback\\slash""#);
    let Some(Declaration::Reason(r)) = f.declarations.first() else {
        panic!("no reason")
    };
    assert_eq!(r.message.value, "say \"hi\"\n\tback\\slash");
}

#[test]
fn unknown_escape_is_an_invalid_literal() {
    let e = parse_err(r#"reason A "bad \q""#);
    assert_eq!(e.0[0].code.as_str(), "E0003");
}

#[test]
fn numbers_keep_exact_values() {
    let f = parse_ok("role r limit action.amount <= 10_000.50");
    let Some(Declaration::Role(r)) = f.declarations.first() else {
        panic!("no role")
    };
    let limit = r.limit.as_ref().expect("limit");
    assert_eq!(limit.value.to_string(), "10000.5");
    assert!(limit.inclusive);
}

#[test]
fn tier_clauses() {
    let f = parse_ok(
        r#"tier 4 "prod" {
            outcome dual
            approve 2 of a, b, c
            evidence diff, plan otherwise queue
            timeout 1h30m then escalate to boss
            forbid approval by requester.id, agent.owner
            distinct people, roles
            require window.open and not freeze
            require "a person watches"
        }"#,
    );
    let Some(Declaration::Tier(t)) = f.declarations.first() else {
        panic!("no tier")
    };
    assert_eq!(t.clauses.len(), 8);
    assert!(matches!(
        &t.clauses[3],
        TierClause::Timeout { seconds: 5400, .. }
    ));
    let TierClause::Approve(a) = &t.clauses[1] else {
        panic!("approve")
    };
    assert_eq!(a.kind, ApproverKind::Count(2));
    assert_eq!(a.roles.len(), 3);
}

#[test]
fn syntax_error_points_at_the_offending_token() {
    let e = parse_err("policy \"p\" version \"1\"\nrule r when a === 1 then tier 1");
    let d = &e.0[0];
    assert_eq!(d.code.as_str(), "E0002");
    let loc = d.location().expect("location");
    assert_eq!((loc.line, loc.column), (2, 17));
}

#[test]
fn lowercase_reason_code_is_a_syntax_error_naming_the_expectation() {
    let e = parse_err("reason lower \"x\"");
    assert!(e.0[0].message.contains("reason code"), "{}", e.0[0].message);
}

#[test]
fn deep_nesting_is_refused_not_a_stack_overflow() {
    let deep = format!(
        "rule r when {}a{} then tier 1",
        "(".repeat(100_000),
        ")".repeat(100_000)
    );
    let e = parse_err(&deep);
    assert!(e.0[0].message.contains("nested"));
    let nots = format!("rule r when {} a then tier 1", "not ".repeat(100_000));
    assert!(parse_err(&nots).0[0].message.contains("nested"));
    // but ordinary nesting is fine, and parentheses in strings do not count
    parse_ok(&format!(
        "rule r when {}a{} then tier 1",
        "(".repeat(20),
        ")".repeat(20)
    ));
    parse_ok(&format!("reason A \"{}\"", "(".repeat(100)));
}

#[test]
fn comments_and_bom_are_ignored() {
    let f = parse_ok("\u{feff}# a comment\nrole r # trailing\n# end");
    assert_eq!(f.declarations.len(), 1);
}

#[test]
fn spans_do_not_affect_equality() {
    let a = parse_ok("rule r when a == 1 then tier 1");
    let b = parse_ok("rule   r\n  when a==1\n  then tier 1");
    assert_eq!(a.declarations, b.declarations);
}

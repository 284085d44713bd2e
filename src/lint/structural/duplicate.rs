//! L0016 `duplicate-condition`: a test written twice in one `and` or `or`
//! (`action.type == refund and action.type == refund`), in a rule's `when`
//! or `unless` or a tier's `require`.
//!
//! Two tests are the same when they are equal after type checking, up to
//! layout, the order of `and`/`or` operands (`a and b` is `b and a`), the
//! grouping of nested operands of the same kind (`(a and b) and c`), the
//! order of list members (`in [x, y]` is `in [y, x]`) and the sides of a
//! comparison of two attributes (`a < b` is `b > a`). Nothing else is
//! assumed equal (`x == v` and `x in [v]` are different texts), so a
//! finding is always a repetition a reader can see.
//!
//! The typed conditions give equality, the syntax trees the spans: the
//! checker builds one typed node per syntax node (`and` -> all, `or` ->
//! any, `not`, one test per predicate), so the two are walked together;
//! where they ever differ in shape the walk stops and reports nothing.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt::Write as _;
use std::sync::Arc;

use super::Cx;
use crate::check::{Cond, Operand, Test, Value};
use crate::diagnostic::{Code, Diagnostic};
use crate::source::{SourceFile, Span};
use crate::syntax::ast::{self, CmpOp, ExprKind};

/// Appends a finding for every repeated operand of an `and` or `or`.
pub(super) fn run(cx: &Cx<'_>, out: &mut Vec<Diagnostic>) {
    for rule in &cx.set.rules {
        let Some(ast) = cx.places.rule(&rule.origin) else {
            continue;
        };
        let file = &rule.origin.file;
        let place = format!("rule `{}`", rule.name);
        walk(file, &place, &ast.when, &rule.when, out);
        for (e, c) in ast.unless.iter().zip(&rule.unless) {
            walk(file, &place, e, c, out);
        }
    }
    for tier in &cx.set.tiers {
        let Some(ast) = cx.places.tier(&tier.origin) else {
            continue;
        };
        let written = ast.clauses.iter().filter_map(|c| match c {
            ast::TierClause::Require(r, _) => Some(r),
            _ => None,
        });
        let place = format!("tier {}", tier.id);
        // One checked requirement per `require` clause, in order.
        for (r, checked) in written.zip(&tier.requirements) {
            if let (ast::Requirement::Condition(e), Some(c)) = (r, &checked.condition) {
                walk(&tier.origin.file, &place, e, c, out);
            }
        }
    }
}

/// Looks for repeated operands in `e` (checked as `c`) and everything
/// below it.
fn walk(file: &Arc<SourceFile>, place: &str, e: &ast::Expr, c: &Cond, out: &mut Vec<Diagnostic>) {
    match (&e.kind, c) {
        (ExprKind::And(es), Cond::All(cs)) | (ExprKind::Or(es), Cond::Any(cs)) => {
            let is_and = matches!(e.kind, ExprKind::And(_));
            let mut operands = Vec::new();
            if !flatten(es, cs, is_and, &mut operands) {
                return;
            }
            // The first operand with each key: linear in the operands.
            let mut seen: HashMap<String, Span> = HashMap::new();
            for (e, c) in &operands {
                match seen.entry(key(c)) {
                    Entry::Occupied(first) => {
                        out.push(finding(file, place, is_and, e.span, *first.get()));
                    }
                    Entry::Vacant(slot) => {
                        slot.insert(e.span);
                    }
                }
            }
            for (e, c) in operands {
                walk(file, place, e, c, out);
            }
        }
        (ExprKind::Not(e), Cond::Not(c)) => walk(file, place, e, c, out),
        _ => {}
    }
}

/// The operands of an `and` (or `or`), with nested operands of the same
/// kind lifted: `(a and b) and c` has three. False when the syntax and the
/// checked condition differ in shape.
fn flatten<'a>(
    es: &'a [ast::Expr],
    cs: &'a [Cond],
    is_and: bool,
    out: &mut Vec<(&'a ast::Expr, &'a Cond)>,
) -> bool {
    if es.len() != cs.len() {
        return false;
    }
    for (e, c) in es.iter().zip(cs) {
        match (&e.kind, c) {
            (ExprKind::And(inner), Cond::All(ci)) if is_and => {
                if !flatten(inner, ci, is_and, out) {
                    return false;
                }
            }
            (ExprKind::Or(inner), Cond::Any(ci)) if !is_and => {
                if !flatten(inner, ci, is_and, out) {
                    return false;
                }
            }
            _ => out.push((e, c)),
        }
    }
    true
}

fn finding(
    file: &Arc<SourceFile>,
    place: &str,
    is_and: bool,
    dup: Span,
    first: Span,
) -> Diagnostic {
    let text = file.text.get(dup.start..dup.end).unwrap_or("");
    let text: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let shown = if text.chars().count() > 60 {
        format!("{}...", text.chars().take(57).collect::<String>())
    } else {
        text
    };
    let (word, help) = if is_and {
        (
            "and",
            "remove the repeated condition; if a different test was meant (another attribute or value), write that one instead",
        )
    } else {
        (
            "or",
            "remove the repeated alternative; if a different one was meant (another value), write that one instead",
        )
    };
    Diagnostic::new(
        Code::DuplicateCondition,
        file,
        dup,
        format!("{place}: `{shown}` is written twice in one `{word}`"),
        "repeats an earlier operand",
        help,
    )
    .with_related(file, first, "first written here")
}

/// A text equal for two conditions exactly when they are the same up to
/// operand order, grouping and list order (see the module comment).
fn key(c: &Cond) -> String {
    match c {
        Cond::All(_) | Cond::Any(_) => {
            let is_all = matches!(c, Cond::All(_));
            let mut parts = Vec::new();
            lift(c, is_all, &mut parts);
            let mut keys: Vec<String> = parts.into_iter().map(key).collect();
            keys.sort();
            keys.dedup();
            format!("{}({})", if is_all { "all" } else { "any" }, keys.join(","))
        }
        Cond::Not(inner) => format!("not({})", key(inner)),
        Cond::Test(attr, test) => test_key(*attr, test),
    }
}

/// The operands of nested `all` (or `any`) nodes, lifted to one level.
fn lift<'c>(c: &'c Cond, is_all: bool, out: &mut Vec<&'c Cond>) {
    match c {
        Cond::All(parts) if is_all => parts.iter().for_each(|p| lift(p, is_all, out)),
        Cond::Any(parts) if !is_all => parts.iter().for_each(|p| lift(p, is_all, out)),
        other => out.push(other),
    }
}

fn test_key(attr: usize, test: &Test) -> String {
    let list = |vs: &[Value]| {
        let mut ks: Vec<String> = vs.iter().map(|v| format!("{v:?}")).collect();
        ks.sort();
        ks.dedup();
        ks.join(",")
    };
    let mut k = String::new();
    let _ = match test {
        Test::Compare(op, Operand::Attribute(other)) => {
            // `a < b` is `b > a`: the lower attribute id first.
            let (a, op, b) = if attr <= *other {
                (attr, *op, *other)
            } else {
                (*other, mirrored(*op), attr)
            };
            write!(k, "{a} {} @{b}", op.as_str())
        }
        Test::Compare(op, Operand::Value(v)) => write!(k, "{attr} {} {v:?}", op.as_str()),
        Test::In(vs) => write!(k, "{attr} in [{}]", list(vs)),
        Test::NotIn(vs) => write!(k, "{attr} not in [{}]", list(vs)),
        Test::ContainsAny(vs) => write!(k, "{attr} contains any [{}]", list(vs)),
        Test::ContainsAll(vs) => write!(k, "{attr} contains all [{}]", list(vs)),
        Test::Contains(v) => write!(k, "{attr} contains {v:?}"),
        Test::Matches(r) => write!(k, "{attr} matches {:?}", r.as_str()),
        Test::StartsWith(s) => write!(k, "{attr} starts with {s:?}"),
        Test::EndsWith(s) => write!(k, "{attr} ends with {s:?}"),
        Test::IsTrue => write!(k, "{attr}"),
        Test::Exists => write!(k, "{attr} exists"),
        Test::Missing => write!(k, "{attr} missing"),
    };
    k
}

/// The operator with its sides swapped.
fn mirrored(op: CmpOp) -> CmpOp {
    match op {
        CmpOp::Lt => CmpOp::Gt,
        CmpOp::Le => CmpOp::Ge,
        CmpOp::Gt => CmpOp::Lt,
        CmpOp::Ge => CmpOp::Le,
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use crate::Policy;
    use crate::diagnostic::Code;

    fn found(conditions: &str) -> Vec<String> {
        let text = format!(
            "policy \"p\" version \"1\"\nschema {{ action.type: enum {{ read, send, refund }}  action.amount: number?  action.cap: number?  action.to: string }}\nreason R \"r\"\ntier 1 \"q\" {{ outcome queue }}\n{conditions}\ndefault tier 1 because R\n"
        );
        let policy = Policy::from_source("p.gate", text).expect("compiles");
        let mut out = Vec::new();
        super::super::run(policy.checked(), &mut out);
        out.into_iter()
            .filter(|d| d.code == Code::DuplicateCondition)
            .map(|d| d.message)
            .collect()
    }

    #[test]
    fn repeats_up_to_order_grouping_and_layout_are_found() {
        let cases = [
            "rule r when action.type == send and action.type == send then tier 1 because R",
            "rule r when action.type == send and action.amount > 1 and action.type   ==   send then tier 1 because R",
            "rule r when (action.type == send and action.amount > 1) and action.type == send then tier 1 because R",
            "rule r when action.type in [send, refund] or action.type in [refund, send] then tier 1 because R",
            "rule r when (action.amount > 1 and action.type == send) or (action.type == send and action.amount > 1) then tier 1 because R",
            "rule r when action.amount < action.cap and action.cap > action.amount then tier 1 because R",
            "rule r when action.amount > 1 unless action.to == \"x\" or action.to == \"x\" then tier 1 because R",
            "rule r when not (action.to starts_with \"a\" and action.to starts_with \"a\") then tier 1 because R",
        ];
        for case in cases {
            assert_eq!(found(case).len(), 1, "{case}");
        }
        assert_eq!(
            found("rule r when action.type == send and action.type == send then tier 1 because R"),
            ["rule `r`: `action.type == send` is written twice in one `and`"]
        );
    }

    #[test]
    fn different_tests_are_not_repeats() {
        let cases = [
            "rule r when action.type == send and action.type == refund then tier 1 because R",
            "rule r when action.amount > 1 and action.amount >= 1 then tier 1 because R",
            "rule r when action.type == send and action.type in [send] then tier 1 because R",
            "rule r when (action.type == send and action.amount > 1) or action.type == send then tier 1 because R",
            "rule r when action.amount < action.cap and action.amount > action.cap then tier 1 because R",
            "rule r when action.to == \"x\" unless action.to == \"x\" then tier 1 because R",
        ];
        for case in cases {
            assert!(found(case).is_empty(), "{case}");
        }
    }
}

//! Lints that reason about what conditions can match, with the solver:
//! contradictions and tautologies (L0002, L0003), unreachable rules (L0001),
//! threshold gaps and overlaps (L0004, L0005), limits below the amounts a
//! rule routes (L0008), and dangerous `auto` decisions (L0011).
//!
//! A finding that claims "never" is reported only when the solver proves it
//! over exact domains; a finding that claims "can" carries an example input,
//! and `dangerous-auto` re-evaluates its example with the real engine first.

use serde_json::Value as Json;

use super::solver::{Answer, Formula, Model, Space};
use crate::Policy;
use crate::check::{
    ApproverGroup, AttrId, Cond, Effect, Operand, PolicySet, RuleDef, Test, TierDef, Type, Value,
};
use crate::diagnostic::{Code, Diagnostic};
use crate::eval::Outcome;
use crate::source::Origin;
use crate::syntax::ast::{CmpOp, CombineMode};
use crate::values::Decimal;

/// Appends this module's findings.
pub(super) fn run(policy: &Policy, out: &mut Vec<Diagnostic>) {
    let set = policy.checked();
    run_in(policy, &Space::new(set), out);
}

/// [`run`] in a given search space (tests give it a small budget).
fn run_in(policy: &Policy, space: &Space<'_>, out: &mut Vec<Diagnostic>) {
    let set = policy.checked();
    let live = conditions(set, space, out);
    unreachable(set, space, &live, out);
    thresholds(set, space, out);
    limits(set, space, out);
    dangerous_auto(policy, space, out);
    if space.exhausted() {
        let message = format!(
            "the semantic lints stopped after their work budget ({} formula evaluations): findings of L0001-L0005, L0008 and L0011 may be missing",
            super::solver::TOTAL_BUDGET
        );
        let help = "split the policy set, or simplify conditions shared by many rules; structural lints and compilation are complete";
        // At the `policy` header, so that it has a place in every output
        // format and a suppression comment above the header covers it.
        out.push(match header(set) {
            Some((file, span)) => Diagnostic::new(
                Code::AnalysisIncomplete,
                &file,
                span,
                message,
                "this policy set was not analysed completely",
                help,
            ),
            None => Diagnostic::without_span(Code::AnalysisIncomplete, message, help),
        });
    }
}

/// Where the set's `policy` header is written (its files parse by
/// construction; a set without a header does not compile).
fn header(
    set: &PolicySet,
) -> Option<(
    std::sync::Arc<crate::source::SourceFile>,
    crate::source::Span,
)> {
    set.files.iter().find_map(|f| {
        let parsed = crate::syntax::parse(f).ok()?;
        parsed.declarations.iter().find_map(|d| match d {
            crate::syntax::ast::Declaration::Header(h) => Some((std::sync::Arc::clone(f), h.span)),
            _ => None,
        })
    })
}

/// The condition under which a rule matches.
fn fires(rule: &RuleDef) -> Formula<'_> {
    let mut parts = vec![Formula::Cond(&rule.when)];
    parts.extend(rule.unless.iter().map(|u| Formula::Cond(u).negate()));
    Formula::All(parts)
}

fn finding(code: Code, rule: &RuleDef, message: String, label: &str, help: &str) -> Diagnostic {
    Diagnostic::new(
        code,
        &rule.origin.file,
        rule.origin.span,
        message,
        label,
        help,
    )
}

/// L0002 / L0003 on every `when`, `unless` and `require`. Returns, per
/// rule, whether it can match at all (so L0001 does not pile on).
/// Per rule: `None` when it can never match, else an input under which it
/// matches (when the search found one).
type Live = Vec<Option<Option<Model>>>;

fn conditions(set: &PolicySet, space: &Space<'_>, out: &mut Vec<Diagnostic>) -> Live {
    let mut live = Vec::new();
    for rule in &set.rules {
        let when = Formula::Cond(&rule.when);
        if space.solve(&when).proves_unsat() {
            out.push(finding(
                Code::Contradiction,
                rule,
                format!("the condition of rule `{}` can never hold", rule.name),
                "this rule never matches",
                "the condition contradicts itself (e.g. `x > 10 and x < 5`, or two values of one enum); fix or remove the rule",
            ));
            live.push(None);
            continue;
        }
        if space.solve(&when.clone().negate()).proves_unsat() {
            out.push(finding(
                Code::Tautology,
                rule,
                format!("the condition of rule `{}` always holds", rule.name),
                "matches every action",
                "a rule for every action is the `default`'s job; narrow the condition, or move its consequence to the default",
            ));
        }
        let mut any_unless_dead = false;
        for u in &rule.unless {
            let applies = Formula::All(vec![Formula::Cond(&rule.when), Formula::Cond(u)]);
            if space.solve(&applies).proves_unsat() {
                any_unless_dead = true;
            }
        }
        if any_unless_dead {
            out.push(finding(
                Code::Contradiction,
                rule,
                format!(
                    "an `unless` of rule `{}` can never apply where its condition holds",
                    rule.name
                ),
                "exception never applies",
                "the exception excludes nothing: remove it, or fix the value it tests",
            ));
        }
        let answer = space.solve(&fires(rule));
        let can_fire = !answer.proves_unsat();
        if !can_fire {
            out.push(finding(
                Code::Contradiction,
                rule,
                format!(
                    "rule `{}` never matches: its exceptions cover every case its condition does",
                    rule.name
                ),
                "this rule never matches",
                "narrow the `unless` conditions, or remove the rule",
            ));
        }
        live.push(can_fire.then(|| match answer {
            Answer::Sat(model) => Some(model),
            _ => None,
        }));
    }
    for tier in &set.tiers {
        for r in &tier.requirements {
            let Some(c) = &r.condition else { continue };
            let (code, what) = if space.solve(&Formula::Cond(c)).proves_unsat() {
                (
                    Code::Contradiction,
                    "can never hold: no action in this tier can ever execute",
                )
            } else if space.solve(&Formula::Cond(c).negate()).proves_unsat() {
                (Code::Tautology, "always holds: it checks nothing")
            } else {
                continue;
            };
            out.push(Diagnostic::new(
                code,
                &tier.origin.file,
                tier.origin.span,
                format!(
                    "the execution condition `{}` of tier {} {what}",
                    r.text, tier.id
                ),
                "in this tier",
                "fix the condition, or remove the `require` line",
            ));
        }
    }
    live
}

/// L0001: first-match rules pre-empted by earlier ones; strictest rules
/// whose contribution is always matched or exceeded by a rule that fires
/// with them: an outcome at least as strict, a tier that outranks theirs,
/// and every approver group and evidence field they add (rules that add
/// approvers or evidence are checked too: the other rule must add the same).
fn unreachable(set: &PolicySet, space: &Space<'_>, live: &Live, out: &mut Vec<Diagnostic>) {
    let is_live = |i: usize| live.get(i).is_some_and(Option::is_some);
    for (i, rule) in set.rules.iter().enumerate() {
        if space.exhausted() {
            // Every answer from here on is "unknown": nothing to report.
            return;
        }
        if !is_live(i) {
            continue;
        }
        // An input under which this rule matches: where it also shows that
        // a rule does not pre-empt or dominate this one, no search is
        // needed. On large policies this skips almost every pair.
        let model = live
            .get(i)
            .and_then(|m| m.as_ref())
            .and_then(|m| m.as_ref());
        let at = model.and_then(|m| space.assignment(m));
        let witnessed = |f: &Formula<'_>| at.as_ref().is_some_and(|a| space.witnesses(f, a));
        match set.combine {
            CombineMode::FirstMatch => {
                let earlier: Vec<&RuleDef> = set.rules.iter().take(i).collect();
                if earlier.is_empty() {
                    continue;
                }
                let any_earlier = Formula::Any(earlier.iter().map(|r| fires(r)).collect());
                let reaches = Formula::and_not(fires(rule), any_earlier);
                if witnessed(&reaches) || !space.solve(&reaches).proves_unsat() {
                    continue;
                }
                let single = earlier.iter().find(|r| {
                    space
                        .solve(&Formula::and_not(fires(rule), fires(r)))
                        .proves_unsat()
                });
                let shadows: Vec<&RuleDef> = match single {
                    Some(r) => vec![*r],
                    None => earlier
                        .iter()
                        .copied()
                        .filter(|r| {
                            matches!(
                                space.solve(&Formula::All(vec![fires(rule), fires(r)])),
                                Answer::Sat(_)
                            )
                        })
                        .collect(),
                };
                let names: Vec<String> = shadows.iter().map(|r| format!("`{}`", r.name)).collect();
                let mut d = finding(
                    Code::UnreachableRule,
                    rule,
                    format!(
                        "rule `{}` is unreachable: {} always match{} first",
                        rule.name,
                        names.join(" and "),
                        if shadows.len() == 1 { "es" } else { "" }
                    ),
                    "never decides",
                    "in first-match mode the first matching rule decides: move this rule above the one that pre-empts it, or narrow that one",
                );
                for s in shadows.into_iter().take(super::MAX_RELATED) {
                    d = d.with_related(
                        &s.origin.file,
                        s.origin.span,
                        format!("`{}` matches first", s.name),
                    );
                }
                out.push(d);
            }
            CombineMode::Strictest => {
                let own = rule.effect.own_outcome(&set.tiers);
                let own_tier = rule.effect.tier.and_then(|t| set.tiers.get(t));
                let dominator = set.rules.iter().enumerate().find(|(j, other)| {
                    if *j == i || !is_live(*j) {
                        return false;
                    }
                    // This rule matches where the other does not: no dominance.
                    if at
                        .as_ref()
                        .is_some_and(|a| space.misses(&other.when, &other.unless, a))
                    {
                        return false;
                    }
                    let theirs = other.effect.own_outcome(&set.tiers);
                    let their_tier = other.effect.tier.and_then(|t| set.tiers.get(t));
                    let escapes = Formula::and_not(fires(rule), fires(other));
                    theirs >= own
                        && tier_never_wins(own_tier, their_tier)
                        && asks_at_least(&other.effect, &rule.effect)
                        && !witnessed(&escapes)
                        && space.solve(&escapes).proves_unsat()
                });
                if let Some((_, other)) = dominator {
                    let also =
                        if rule.effect.approvals.is_empty() && rule.effect.evidence.is_empty() {
                            ""
                        } else {
                            ", including every approver and evidence field it adds"
                        };
                    out.push(
                        finding(
                            Code::UnreachableRule,
                            rule,
                            format!(
                                "rule `{}` never changes the outcome: whenever it matches, `{}` matches too and asks for at least as much{also}",
                                rule.name, other.name
                            ),
                            "adds only its reason codes",
                            "if this rule should make a difference, give it a stricter consequence; if it only explains, keep it and suppress this lint with a reason",
                        )
                        .with_related(&other.origin.file, other.origin.span, format!("`{}` always matches with it", other.name)),
                    );
                }
            }
        }
    }
}

/// Whether the tier a rule names (if any) can never be the decision's tier
/// while a rule naming `theirs` also matches. The decision takes the named
/// tier with the strictest *tier* outcome, ties to the higher number (not
/// the rules' own outcomes: `at least` raises the outcome, not the tier).
fn tier_never_wins(own: Option<&TierDef>, theirs: Option<&TierDef>) -> bool {
    match (own, theirs) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(a), Some(b)) => (b.outcome, b.id) >= (a.outcome, a.id),
    }
}

/// Whether `theirs` already asks for every approval and every evidence
/// field `ours` adds. Evaluation merges identical approver groups (same
/// count, same roles in any order), so an approval both rules add is asked
/// once; evidence is required once. Only the rules' own additions count:
/// the tier that ends up deciding may be neither rule's.
fn asks_at_least(theirs: &Effect, ours: &Effect) -> bool {
    let same_group = |a: &ApproverGroup, b: &ApproverGroup| {
        a.count == b.count
            && a.roles.iter().all(|r| b.roles.contains(r))
            && b.roles.iter().all(|r| a.roles.contains(r))
    };
    ours.evidence.iter().all(|e| theirs.evidence.contains(e))
        && ours
            .approvals
            .iter()
            .all(|g| theirs.approvals.iter().any(|h| same_group(g, h)))
}

/// `attr op number` tests anywhere in a condition.
fn comparisons(c: &Cond) -> Vec<(AttrId, CmpOp, Decimal)> {
    let mut out = Vec::new();
    walk(c, &mut |c| {
        if let Cond::Test(a, Test::Compare(op, Operand::Value(Value::Number(v)))) = c {
            out.push((*a, *op, *v));
        }
    });
    out
}

fn walk(c: &Cond, f: &mut dyn FnMut(&Cond)) {
    f(c);
    match c {
        Cond::All(p) | Cond::Any(p) => p.iter().for_each(|x| walk(x, f)),
        Cond::Not(x) => walk(x, f),
        Cond::Test(..) => {}
    }
}

/// The condition with every comparison of `attr` against `t` made true for
/// any present value: "the rule's other conditions".
fn relax(c: &Cond, attr: AttrId, t: Decimal) -> Cond {
    match c {
        Cond::All(p) => Cond::All(p.iter().map(|x| relax(x, attr, t)).collect()),
        Cond::Any(p) => Cond::Any(p.iter().map(|x| relax(x, attr, t)).collect()),
        Cond::Not(x) => Cond::Not(Box::new(relax(x, attr, t))),
        Cond::Test(a, Test::Compare(_, Operand::Value(Value::Number(v))))
            if *a == attr && *v == t =>
        {
            Cond::Test(*a, Test::Exists)
        }
        other => other.clone(),
    }
}

fn compare(attr: AttrId, op: CmpOp, v: Decimal) -> Cond {
    Cond::Test(attr, Test::Compare(op, Operand::Value(Value::Number(v))))
}

/// L0004 / L0005: `x < t` in one rule and `x > t` in another with nothing
/// handling `t` itself; in first-match mode, `x <= t` and `x >= t` in rules
/// with different outcomes.
fn thresholds(set: &PolicySet, space: &Space<'_>, out: &mut Vec<Diagnostic>) {
    let per_rule: Vec<Vec<(AttrId, CmpOp, Decimal)>> =
        set.rules.iter().map(|r| comparisons(&r.when)).collect();
    let includes = |op: CmpOp| matches!(op, CmpOp::Eq | CmpOp::Le | CmpOp::Ge);
    let mut reported = Vec::new();
    for (a, rule_a) in set.rules.iter().enumerate() {
        for (b, rule_b) in set.rules.iter().enumerate() {
            if a == b {
                continue;
            }
            for (attr, op_a, t) in per_rule.get(a).into_iter().flatten() {
                for (attr_b, op_b, t_b) in per_rule.get(b).into_iter().flatten() {
                    if attr != attr_b || t != t_b {
                        continue;
                    }
                    let gap = *op_a == CmpOp::Lt && *op_b == CmpOp::Gt;
                    let overlap = set.combine == CombineMode::FirstMatch
                        && a < b
                        && *op_a == CmpOp::Le
                        && *op_b == CmpOp::Ge
                        && rule_a.effect.own_outcome(&set.tiers)
                            != rule_b.effect.own_outcome(&set.tiers);
                    if !(gap || overlap) || reported.contains(&(*attr, *t, gap)) {
                        continue;
                    }
                    let at_t = compare(*attr, CmpOp::Eq, *t);
                    let path = set.attributes.get(*attr).map_or("", |x| x.path.as_str());
                    if gap {
                        // something else handles exactly t: no gap
                        let handled = set.rules.iter().enumerate().any(|(k, r)| {
                            k != a
                                && k != b
                                && per_rule
                                    .get(k)
                                    .into_iter()
                                    .flatten()
                                    .any(|(x, op, v)| x == attr && v == t && includes(*op))
                                && !space
                                    .solve(&Formula::All(vec![Formula::Cond(&at_t), fires(r)]))
                                    .proves_unsat()
                        });
                        if handled {
                            continue;
                        }
                        // An action like the ones these rules are about (their other
                        // conditions hold), at exactly t, that no rule handles.
                        let near_b = relax(&rule_b.when, *attr, *t);
                        let near_a = relax(&rule_a.when, *attr, *t);
                        let nobody =
                            || Formula::Any(set.rules.iter().map(fires).collect()).negate();
                        let model = [&near_b, &near_a].into_iter().find_map(|near| {
                            match space.solve(&Formula::All(vec![
                                Formula::Cond(&at_t),
                                Formula::Cond(near),
                                nobody(),
                            ])) {
                                Answer::Sat(m) => Some(m),
                                _ => None,
                            }
                        });
                        let Some(model) = model else { continue };
                        reported.push((*attr, *t, gap));
                        let mut d = finding(
                            Code::ThresholdGap,
                            rule_b,
                            format!("`{path}` = {t} is handled by neither `{}` (< {t}) nor `{}` (> {t})", rule_a.name, rule_b.name),
                            &format!("> {t} leaves {t} out"),
                            &format!("decide where {t} belongs: write `>= {t}` or `<= {t}` in one of the two rules"),
                        )
                        .with_related(&rule_a.origin.file, rule_a.origin.span, format!("`< {t}` here"));
                        d.example = Some(space.example(&model));
                        out.push(d);
                    } else {
                        let both =
                            Formula::All(vec![Formula::Cond(&at_t), fires(rule_a), fires(rule_b)]);
                        let Answer::Sat(model) = space.solve(&both) else {
                            continue;
                        };
                        reported.push((*attr, *t, gap));
                        let mut d = finding(
                            Code::ThresholdOverlap,
                            rule_b,
                            format!(
                                "`{path}` = {t} matches both `{}` (<= {t}) and `{}` (>= {t}); first-match gives it to `{}`",
                                rule_a.name, rule_b.name, rule_a.name
                            ),
                            &format!(">= {t} overlaps"),
                            "make the boundaries exclusive on one side (`<` or `>`), so each value has one rule",
                        )
                        .with_related(&rule_a.origin.file, rule_a.origin.span, format!("`<= {t}` here, earlier"));
                        d.example = Some(space.example(&model));
                        out.push(d);
                    }
                }
            }
        }
    }
}

/// L0008: a rule routes actions to a role (directly, or through the tier it
/// names) although every such action exceeds the whole escalation chain.
fn limits(set: &PolicySet, space: &Space<'_>, out: &mut Vec<Diagnostic>) {
    let mut within_conds: Vec<Option<Cond>> = Vec::new();
    for role in &set.roles {
        within_conds.push(role.limit.as_ref().map(|l| {
            compare(
                l.attribute,
                if l.inclusive { CmpOp::Le } else { CmpOp::Lt },
                l.value,
            )
        }));
    }
    for rule in &set.rules {
        let mut groups: Vec<&crate::check::ApproverGroup> = rule.effect.approvals.iter().collect();
        if let Some(t) = rule.effect.tier.and_then(|t| set.tiers.get(t)) {
            groups.extend(t.approvals.iter());
        }
        for g in groups {
            for role in &g.roles {
                let mut chain = Vec::new();
                let mut at = Some(*role);
                while let Some(r) = at {
                    if chain.contains(&r) || chain.len() > set.roles.len() {
                        break;
                    }
                    chain.push(r);
                    at = set.roles.get(r).and_then(|x| x.escalate);
                }
                // a role without a limit anywhere in the chain can always approve
                let Some(conds) = chain
                    .iter()
                    .map(|r| within_conds.get(*r).and_then(Option::as_ref))
                    .collect::<Option<Vec<&Cond>>>()
                else {
                    continue;
                };
                let anyone = Formula::Any(conds.into_iter().map(Formula::Cond).collect());
                // the rule can match, but never with an amount some role covers
                let matches = matches!(space.solve(&fires(rule)), Answer::Sat(_));
                if matches
                    && space
                        .solve(&Formula::All(vec![fires(rule), anyone]))
                        .proves_unsat()
                {
                    let name = set.roles.get(*role).map_or("", |r| r.name.as_str());
                    let mut d = finding(
                        Code::LimitBelowThreshold,
                        rule,
                        format!(
                            "every action rule `{}` routes to `{name}` is above the limit of `{name}` and of every role it escalates to",
                            rule.name
                        ),
                        "no one can approve these",
                        "raise the limit, add an `escalate to` role whose limit covers these amounts, or route the rule to another role",
                    );
                    if let Some(r) = set.roles.get(*role) {
                        d = d.with_related(
                            &r.origin.file,
                            r.origin.span,
                            format!("`{name}`'s limit"),
                        );
                    }
                    if let Answer::Sat(model) = space.solve(&fires(rule)) {
                        d.example = Some(space.example(&model));
                    }
                    out.push(d);
                }
            }
        }
    }
}

/// What makes an action dangerous to run unreviewed, read off the schema
/// by attribute names: its type (send, delete, execute, pay, refund,
/// deploy), external scope, irreversibility (an enum value `irreversible`
/// under any name; a bool `irreversible` true, or `reversible` / `undoable`
/// false), customer facing, `internal` false, a non-zero amount.
fn dangerous_conditions(set: &PolicySet) -> Vec<(String, Cond)> {
    let mut out = Vec::new();
    // Reading, summarizing or drafting has no effect of its own, whatever
    // else the action says about itself.
    let harmless = harmless_type(set);
    for (id, a) in set.attributes.iter().enumerate() {
        let last = a.segments.last().map_or("", String::as_str);
        match &a.ty {
            Type::Enum(values) => {
                let wanted: &[&str] = match last {
                    "type" | "kind" | "verb" | "operation" => &[
                        "send", "delete", "execute", "pay", "refund", "deploy", "transfer",
                    ],
                    "scope" | "audience" => &["external", "public", "irreversible"],
                    // The value says it, whatever the attribute is called
                    // (`reversibility`, `effect`, `undo`, ...).
                    _ => &["irreversible"],
                };
                let hits: Vec<Value> = values
                    .iter()
                    .enumerate()
                    .filter(|(_, v)| wanted.contains(&v.as_str()))
                    .map(|(i, _)| Value::Enum(i as u32))
                    .collect();
                if !hits.is_empty() {
                    let names: Vec<&str> = values
                        .iter()
                        .map(String::as_str)
                        .filter(|v| wanted.contains(v))
                        .collect();
                    let test = Cond::Test(id, Test::In(hits));
                    let is_type = matches!(last, "type" | "kind" | "verb" | "operation");
                    let cond = match (&harmless, is_type) {
                        (Some(h), false) => Cond::All(vec![test, Cond::Not(Box::new(h.clone()))]),
                        _ => test,
                    };
                    out.push((format!("`{}` is {}", a.path, names.join(" or ")), cond));
                }
            }
            Type::Bool if matches!(last, "customer_facing" | "external" | "irreversible") => {
                let test = Cond::Test(id, Test::IsTrue);
                out.push((
                    format!("`{}` is true", a.path),
                    unless_harmless(test, &harmless),
                ));
            }
            // The positive spellings: danger is the value `false`, written
            // by the agent. An absent optional flag says nothing either way
            // (as an absent `irreversible` does), so only `false` counts.
            Type::Bool if matches!(last, "reversible" | "undoable" | "internal") => {
                let test = Cond::Test(
                    id,
                    Test::Compare(CmpOp::Eq, Operand::Value(Value::Bool(false))),
                );
                out.push((
                    format!("`{}` is false", a.path),
                    unless_harmless(test, &harmless),
                ));
            }
            Type::Number if matches!(last, "amount" | "value" | "financial_impact") => {
                let test = compare(id, CmpOp::Ne, Decimal::ZERO);
                out.push((
                    format!("`{}` is not zero", a.path),
                    unless_harmless(test, &harmless),
                ));
            }
            _ => {}
        }
    }
    out
}

/// `type in [read, summarize, draft, ...]`, when the schema has such a type.
fn harmless_type(set: &PolicySet) -> Option<Cond> {
    const HARMLESS: &[&str] = &[
        "read",
        "summarize",
        "draft",
        "list",
        "get",
        "search",
        "view",
    ];
    set.attributes.iter().enumerate().find_map(|(id, a)| {
        let last = a.segments.last().map_or("", String::as_str);
        let Type::Enum(values) = &a.ty else {
            return None;
        };
        if !matches!(last, "type" | "kind" | "verb" | "operation") {
            return None;
        }
        let hits: Vec<Value> = values
            .iter()
            .enumerate()
            .filter(|(_, v)| HARMLESS.contains(&v.as_str()))
            .map(|(i, _)| Value::Enum(i as u32))
            .collect();
        (!hits.is_empty()).then(|| Cond::Test(id, Test::In(hits)))
    })
}

fn unless_harmless(test: Cond, harmless: &Option<Cond>) -> Cond {
    match harmless {
        Some(h) => Cond::All(vec![test, Cond::Not(Box::new(h.clone()))]),
        None => test,
    }
}

/// L0011: an action with external or irreversible effect can be `auto`.
fn dangerous_auto(policy: &Policy, space: &Space<'_>, out: &mut Vec<Diagnostic>) {
    let set = policy.checked();
    let dangers = dangerous_conditions(set);
    if dangers.is_empty() {
        return;
    }
    let default_auto = set
        .default
        .as_ref()
        .is_some_and(|d| d.effect.own_outcome(&set.tiers) == Outcome::Auto);
    let auto = match set.combine {
        CombineMode::Strictest => {
            let mut parts: Vec<Formula<'_>> = set
                .rules
                .iter()
                .filter(|r| r.effect.own_outcome(&set.tiers) > Outcome::Auto)
                .map(|r| fires(r).negate())
                .collect();
            // A rule that asks for more than auto cannot be among those
            // that fire (it is negated above): only auto rules place an
            // auto decision in a tier.
            let tiered: Vec<Formula<'_>> = set
                .rules
                .iter()
                .filter(|r| {
                    r.effect.tier.is_some() && r.effect.own_outcome(&set.tiers) == Outcome::Auto
                })
                .map(fires)
                .collect();
            if tiered.is_empty() && !default_auto {
                // Nothing decides auto: no search needed.
                return;
            }
            let base = if set.default.is_some() {
                Formula::Any(vec![Formula::Any(tiered), Formula::Const(default_auto)])
            } else {
                Formula::Any(set.rules.iter().map(fires).collect())
            };
            parts.push(base);
            Formula::All(parts)
        }
        CombineMode::FirstMatch => {
            let mut options = Vec::new();
            for (i, r) in set.rules.iter().enumerate() {
                let own = r.effect.own_outcome(&set.tiers);
                let with_default =
                    if r.effect.tier.is_none() && !default_auto && set.default.is_some() {
                        Outcome::Queue
                    } else {
                        own
                    };
                if own == Outcome::Auto && with_default == Outcome::Auto {
                    let mut parts = vec![fires(r)];
                    parts.extend(set.rules.iter().take(i).map(|e| fires(e).negate()));
                    options.push(Formula::All(parts));
                }
            }
            if default_auto {
                options.push(Formula::Any(set.rules.iter().map(fires).collect()).negate());
            }
            Formula::Any(options)
        }
    };
    for (what, danger) in &dangers {
        let Answer::Sat(model) =
            space.solve(&Formula::All(vec![Formula::Cond(danger), auto.clone()]))
        else {
            continue;
        };
        let example = space.example(&model);
        // Trust only what the engine itself decides for the example.
        let Some(origin) = decided_auto_by(policy, &example) else {
            continue;
        };
        let mut d = Diagnostic::new(
            Code::DangerousAuto,
            &origin.file,
            origin.span,
            format!("an action where {what} can be decided `auto`"),
            "decides auto here",
            "route such actions to a tier that needs review, or raise them with `at least queue`",
        );
        d.example = Some(example);
        out.push(d);
    }
}

/// Evaluates an example with the real engine; when it is `auto`, returns
/// where the rule (or default) that decided it is written.
fn decided_auto_by(policy: &Policy, example: &Json) -> Option<Origin> {
    let set = policy.checked();
    let d = policy.evaluate(example);
    if d.outcome != Outcome::Auto || !d.input_errors.is_empty() {
        return None;
    }
    match d
        .rules
        .iter()
        .find(|r| r.determining)
        .map(|r| r.name.as_str())
    {
        Some("default") | None => set.default.as_ref().map(|x| x.origin.clone()),
        Some(name) => set
            .rules
            .iter()
            .find(|r| r.name == name)
            .map(|r| r.origin.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: &str = r#"policy "p" version "1"
schema { action.type: enum { read, send }  action.amount: number? }
reason R "r"
tier 0 "auto" { outcome auto }
tier 1 "queue" { outcome queue }
rule small when action.type == send and action.amount < 10 then tier 0 because R
rule large when action.type == send and action.amount > 5 then tier 1 because R
default tier 1 because R
"#;

    fn codes(space_budget: Option<u64>) -> Vec<&'static str> {
        let policy = Policy::from_source("p.gate", POLICY).expect("compiles");
        let mut space = Space::new(policy.checked());
        if let Some(b) = space_budget {
            space = space.with_total_budget(b);
        }
        let mut out = Vec::new();
        run_in(&policy, &space, &mut out);
        out.iter().map(|d| d.code.as_str()).collect()
    }

    #[test]
    fn a_spent_budget_is_reported_and_claims_nothing_unproved() {
        let full = codes(None);
        assert!(!full.contains(&"W0003"), "{full:?}");
        assert!(full.contains(&"L0011"), "sends can be auto: {full:?}");
        let starved = codes(Some(10));
        assert_eq!(starved, ["W0003"], "only the incompleteness is reported");
    }
}

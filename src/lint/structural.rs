//! Lints that read the declarations alone: approvers, timeouts, unused
//! names, duplicate messages, tier ordering, escalation targets, and
//! conditions written twice. None of them needs to reason about what
//! conditions can match, so each is a pass over the checked tables (and,
//! for positions, the syntax trees).

mod duplicate;
mod places;
mod sample;

use std::sync::Arc;

use places::Places;

use crate::check::{
    ApproverGroup, Effect, ExpiryAction, PolicySet, RoleDef, RoleId, RoleLimit, TierDef, TierIdx,
};
use crate::diagnostic::{Code, Diagnostic};
use crate::source::{Origin, SourceFile, Span};
use crate::syntax::ast::Outcome;
use crate::values::Decimal;

/// Appends this module's findings, lint by lint in code order, each in
/// declaration order.
pub(super) fn run(set: &PolicySet, out: &mut Vec<Diagnostic>) {
    let places = Places::new(set);
    let cx = Cx { set, places };
    no_approver(&cx, out);
    unsatisfiable_approval(&cx, out);
    missing_timeout(&cx, out);
    unused_declaration(&cx, out);
    duplicate_reason_message(&cx, out);
    tier_ordering(&cx, out);
    escalation_too_low(&cx, out);
    duplicate::run(&cx, out);
    sample::run(&cx, out);
}

struct Cx<'p> {
    set: &'p PolicySet,
    places: Places,
}

/// A rule or the default: what places actions in tiers and adds approvers.
struct Contributor<'p> {
    /// `rule `name`` or `the default`.
    what: String,
    effect: &'p Effect,
    origin: &'p Origin,
}

impl<'p> Cx<'p> {
    fn contributors(&self) -> Vec<Contributor<'p>> {
        let set = self.set;
        let mut out: Vec<Contributor<'p>> = set
            .rules
            .iter()
            .map(|r| Contributor {
                what: format!("rule `{}`", r.name),
                effect: &r.effect,
                origin: &r.origin,
            })
            .collect();
        if let Some(d) = &set.default {
            out.push(Contributor {
                what: "the default".into(),
                effect: &d.effect,
                origin: &d.origin,
            });
        }
        out
    }

    /// The rules (and default) that place actions in a tier.
    fn placers(&self, tier: TierIdx) -> Vec<Contributor<'p>> {
        self.contributors()
            .into_iter()
            .filter(|c| c.effect.tier == Some(tier))
            .collect()
    }

    fn role(&self, id: RoleId) -> Option<&'p RoleDef> {
        self.set.roles.get(id)
    }

    fn role_name(&self, id: RoleId) -> &'p str {
        self.role(id).map_or("?", |r| r.name.as_str())
    }

    fn attribute(&self, id: usize) -> &'p str {
        self.set.attributes.get(id).map_or("?", |a| a.path.as_str())
    }

    fn limit_text(&self, limit: &RoleLimit) -> String {
        format!(
            "{} {} {}",
            self.attribute(limit.attribute),
            if limit.inclusive { "<=" } else { "<" },
            limit.value
        )
    }
}

fn tier_words(t: &TierDef) -> String {
    format!("tier {}", t.id)
}

fn finding(
    code: Code,
    origin_file: &Arc<SourceFile>,
    span: Span,
    message: String,
    label: String,
    help: String,
) -> Diagnostic {
    Diagnostic::new(code, origin_file, span, message, label, help)
}

fn needs_approval(outcome: Outcome) -> bool {
    matches!(outcome, Outcome::Queue | Outcome::Explicit | Outcome::Dual)
}

// ------------------------------------------------------------ L0006 ----

/// A `queue`/`explicit`/`dual` tier without `approve`, where some way into
/// the tier names no approver either.
fn no_approver(cx: &Cx<'_>, out: &mut Vec<Diagnostic>) {
    for (idx, t) in cx.set.tiers.iter().enumerate() {
        if !needs_approval(t.outcome) || !t.approvals.is_empty() {
            continue;
        }
        let placers = cx.placers(idx);
        let bare: Vec<&Contributor<'_>> = placers
            .iter()
            .filter(|p| p.effect.approvals.is_empty())
            .collect();
        if !placers.is_empty() && bare.is_empty() {
            continue;
        }
        let message = match bare.as_slice() {
            [] => format!("{} is `{}` but names no approver", tier_words(t), t.outcome),
            [one] => format!(
                "{} is `{}` but names no approver, and {} places actions in it without adding one",
                tier_words(t),
                t.outcome,
                one.what
            ),
            many => format!(
                "{} is `{}` but names no approver, and {} rules place actions in it without adding one",
                tier_words(t),
                t.outcome,
                many.len()
            ),
        };
        let mut d = finding(
            Code::NoApprover,
            &t.origin.file,
            t.origin.span,
            message,
            format!("`{}` tier without `approve`", t.outcome),
            format!(
                "add `approve ROLE` to {} (or to every rule that places actions in it); without a role, anyone the approval system accepts may approve",
                tier_words(t)
            ),
        );
        // A few places show the pattern; thousands would bury it (and cost
        // quadratic time to render).
        for p in bare.into_iter().take(super::MAX_RELATED) {
            d = d.with_related(
                &p.origin.file,
                cx.places.effect_tier(p.origin),
                format!("{} places actions here without an approver", p.what),
            );
        }
        out.push(d);
    }
}

// ------------------------------------------------------------ L0007 ----

/// Why no set of people can give an approval.
struct Shortfall {
    /// Approvals needed, each from a different role.
    needed: u64,
    /// Distinct roles named across the groups.
    roles: Vec<RoleId>,
    /// Whether `dual` raised a single group's count to 2.
    dual_raised: bool,
}

/// The approval groups a decision would ask for, merged as the engine
/// merges them (same count and same roles, in any order), with a single
/// group's count raised to 2 under `dual`; `None` when an assignment of
/// distinct roles to every approval exists.
fn distinct_roles_shortfall(groups: &[&ApproverGroup], outcome: Outcome) -> Option<Shortfall> {
    let mut merged: Vec<(Vec<RoleId>, u64)> = Vec::new();
    for g in groups {
        let mut roles = g.roles.clone();
        roles.dedup();
        let same = |(r, c): &(Vec<RoleId>, u64)| {
            *c == u64::from(g.count)
                && r.len() == roles.len()
                && r.iter().all(|x| roles.contains(x))
        };
        if !merged.iter().any(same) {
            merged.push((roles, u64::from(g.count)));
        }
    }
    let mut dual_raised = false;
    if outcome == Outcome::Dual
        && let [(_, count)] = merged.as_mut_slice()
        && *count < 2
    {
        *count = 2;
        dual_raised = true;
    }
    let needed: u64 = merged.iter().map(|(_, c)| *c).sum();
    let mut roles: Vec<RoleId> = Vec::new();
    for (rs, _) in &merged {
        for r in rs {
            if !roles.contains(r) {
                roles.push(*r);
            }
        }
    }
    let shortfall = Shortfall {
        needed,
        roles,
        dual_raised,
    };
    if needed > shortfall.roles.len() as u64 {
        return Some(shortfall);
    }
    // Few enough approvals to list one slot each: match slots to roles.
    let slots: Vec<&[RoleId]> = merged
        .iter()
        .flat_map(|(rs, c)| std::iter::repeat_n(rs.as_slice(), usize::try_from(*c).unwrap_or(0)))
        .collect();
    if max_matching(&slots) < slots.len() {
        Some(shortfall)
    } else {
        None
    }
}

/// Size of a maximum matching of slots (each needing one of its roles) to
/// roles (each filling one slot), by augmenting paths.
fn max_matching(slots: &[&[RoleId]]) -> usize {
    // holder[role position] = slot holding it
    let mut holder: Vec<(RoleId, usize)> = Vec::new();
    let mut matched = 0;
    for slot in 0..slots.len() {
        let mut visited: Vec<RoleId> = Vec::new();
        if augment(slot, slots, &mut holder, &mut visited) {
            matched += 1;
        }
    }
    matched
}

fn augment(
    slot: usize,
    slots: &[&[RoleId]],
    holder: &mut Vec<(RoleId, usize)>,
    visited: &mut Vec<RoleId>,
) -> bool {
    let Some(candidates) = slots.get(slot) else {
        return false;
    };
    for role in candidates.iter() {
        if visited.contains(role) {
            continue;
        }
        visited.push(*role);
        match holder.iter().position(|(r, _)| r == role) {
            None => {
                holder.push((*role, slot));
                return true;
            }
            Some(at) => {
                let Some(&(_, other)) = holder.get(at) else {
                    continue;
                };
                if augment(other, slots, holder, visited) {
                    if let Some(entry) = holder.get_mut(at) {
                        entry.1 = slot;
                    }
                    return true;
                }
            }
        }
    }
    false
}

/// Under `distinct roles`, every approval must come from a different role:
/// the tier's groups (alone, and together with each placing rule's own
/// `approve`) must name enough roles.
fn unsatisfiable_approval(cx: &Cx<'_>, out: &mut Vec<Diagnostic>) {
    for (idx, t) in cx.set.tiers.iter().enumerate() {
        if !t.distinct_roles || t.outcome == Outcome::Block {
            continue;
        }
        // An `auto` tier's approvers are asked once a rule raises the
        // outcome, at least to `queue`.
        let base = t.outcome.max(Outcome::Queue);
        let tier_groups: Vec<&ApproverGroup> = t.approvals.iter().collect();
        let distinct = cx.places.tier_distinct_roles(&t.origin);
        if let Some(s) = distinct_roles_shortfall(&tier_groups, base) {
            if !tier_groups.is_empty() {
                let mut d = finding(
                    Code::UnsatisfiableApproval,
                    &t.origin.file,
                    cx.places.tier_approve(&t.origin),
                    format!(
                        "{} needs {} approvals from different roles, but its approvers cannot give that",
                        tier_words(t),
                        s.needed
                    ),
                    shortfall_label(cx, &s),
                    shortfall_help(cx, &s),
                )
                .with_related(&t.origin.file, distinct, "`distinct roles`: one approval per role");
                if s.dual_raised {
                    d = d.with_related(
                        &t.origin.file,
                        cx.places.tier_outcome(&t.origin),
                        "`dual` asks for 2 approvals",
                    );
                }
                out.push(d);
            }
            continue;
        }
        for p in cx.placers(idx) {
            if p.effect.approvals.is_empty() {
                continue;
            }
            let outcome = base
                .max(p.effect.at_least.unwrap_or(Outcome::Auto))
                .max(Outcome::Explicit);
            let mut groups = tier_groups.clone();
            groups.extend(p.effect.approvals.iter());
            let Some(s) = distinct_roles_shortfall(&groups, outcome) else {
                continue;
            };
            out.push(
                finding(
                    Code::UnsatisfiableApproval,
                    &p.origin.file,
                    cx.places.effect_approve(p.origin),
                    format!(
                        "{} places actions in {} and adds approvers: together they need {} approvals from different roles, which they cannot give",
                        p.what,
                        tier_words(t),
                        s.needed
                    ),
                    shortfall_label(cx, &s),
                    shortfall_help(cx, &s),
                )
                .with_related(&t.origin.file, distinct, format!("{} requires `distinct roles`", tier_words(t))),
            );
        }
    }
}

fn role_list(cx: &Cx<'_>, roles: &[RoleId]) -> String {
    roles
        .iter()
        .map(|r| format!("`{}`", cx.role_name(*r)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn shortfall_label(cx: &Cx<'_>, s: &Shortfall) -> String {
    let n = s.roles.len();
    format!(
        "{} approval{} from {} role{} ({})",
        s.needed,
        if s.needed == 1 { "" } else { "s" },
        n,
        if n == 1 { "" } else { "s" },
        role_list(cx, &s.roles)
    )
}

fn shortfall_help(cx: &Cx<'_>, s: &Shortfall) -> String {
    if s.needed > s.roles.len() as u64 {
        format!(
            "each approval must come from a different role, and only {} {} named: name more roles (e.g. `approve a and b`), ask for fewer approvals, or drop `distinct roles`{}",
            s.roles.len(),
            if s.roles.len() == 1 { "is" } else { "are" },
            if s.dual_raised {
                " (a `dual` decision always requires two different people)"
            } else {
                ""
            }
        )
    } else {
        format!(
            "each approval must come from a different role, and the groups overlap so that some of them compete for the same roles ({}): give each group roles of its own, or drop `distinct roles`",
            role_list(cx, &s.roles)
        )
    }
}

// ------------------------------------------------------------ L0009 ----

fn missing_timeout(cx: &Cx<'_>, out: &mut Vec<Diagnostic>) {
    for t in &cx.set.tiers {
        if !matches!(t.outcome, Outcome::Explicit | Outcome::Dual) || t.timeout.is_some() {
            continue;
        }
        out.push(finding(
            Code::MissingTimeout,
            &t.origin.file,
            t.origin.span,
            format!("{} is `{}` but has no `timeout`", tier_words(t), t.outcome),
            "no timeout".into(),
            "add e.g. `timeout 24h then reject` (or `then block`, `then escalate to ROLE`): without one a pending approval never goes stale".into(),
        ));
    }
}

// ------------------------------------------------------------ L0012 ----

fn unused_declaration(cx: &Cx<'_>, out: &mut Vec<Diagnostic>) {
    let set = cx.set;
    let contributors = cx.contributors();

    let mut roles_used = vec![false; set.roles.len()];
    let mut mark_role = |id: RoleId| {
        if let Some(u) = roles_used.get_mut(id) {
            *u = true;
        }
    };
    for t in &set.tiers {
        t.approvals
            .iter()
            .flat_map(|g| &g.roles)
            .for_each(|r| mark_role(*r));
        if let Some(ExpiryAction::Escalate(r)) = t.timeout.as_ref().map(|to| to.expiry) {
            mark_role(r);
        }
    }
    for c in &contributors {
        c.effect
            .approvals
            .iter()
            .flat_map(|g| &g.roles)
            .for_each(|r| mark_role(*r));
    }
    for r in &set.roles {
        if let Some(e) = r.escalate {
            mark_role(e);
        }
    }
    for (r, used) in set.roles.iter().zip(&roles_used) {
        if !used {
            out.push(finding(
                Code::UnusedDeclaration,
                &r.origin.file,
                r.origin.span,
                format!("role `{}` is declared but never asked to approve", r.name),
                "no `approve`, `escalate to` or timeout names it".into(),
                format!(
                    "name it where it approves (`approve {}`), or remove the declaration",
                    r.name
                ),
            ));
        }
    }

    let mut evidence_used = vec![false; set.evidence.len()];
    let requirements = set
        .tiers
        .iter()
        .flat_map(|t| &t.evidence)
        .chain(contributors.iter().flat_map(|c| &c.effect.evidence));
    for e in requirements {
        if let Some(u) = evidence_used.get_mut(*e) {
            *u = true;
        }
    }
    for (e, used) in set.evidence.iter().zip(&evidence_used) {
        if !used {
            out.push(finding(
                Code::UnusedDeclaration,
                &e.origin.file,
                e.origin.span,
                format!("evidence field `{}` is declared but nothing requires it", e.name),
                "no tier or rule requires it".into(),
                format!(
                    "require it where it matters (`evidence {}` in a tier, or in a rule's `then`), or remove it from `evidence {{ }}`",
                    e.name
                ),
            ));
        }
    }

    let mut reasons_used = vec![false; set.reasons.len()];
    for r in contributors.iter().flat_map(|c| &c.effect.reasons) {
        if let Some(u) = reasons_used.get_mut(*r) {
            *u = true;
        }
    }
    for (r, used) in set.reasons.iter().zip(&reasons_used) {
        let Some(origin) = &r.origin else { continue };
        if !used {
            out.push(finding(
                Code::UnusedDeclaration,
                &origin.file,
                origin.span,
                format!("reason code `{}` is declared but no rule gives it", r.code),
                "no `because` names it".into(),
                format!(
                    "name it after `because` in the rule it explains (`because {}`), or remove the declaration",
                    r.code
                ),
            ));
        }
    }

    for (idx, t) in set.tiers.iter().enumerate() {
        if !contributors.iter().any(|c| c.effect.tier == Some(idx)) {
            out.push(finding(
                Code::UnusedDeclaration,
                &t.origin.file,
                t.origin.span,
                format!("{} is declared but no rule or default places actions in it", tier_words(t)),
                "no `then tier` names it".into(),
                format!(
                    "place actions in it with `then tier {}` in a rule (or the default), or remove it",
                    t.id
                ),
            ));
        }
    }
}

// ------------------------------------------------------------ L0013 ----

/// Messages compare ignoring case, surrounding and repeated spaces, and a
/// final period.
fn normalized(message: &str) -> String {
    let words: Vec<&str> = message.split_whitespace().collect();
    words
        .join(" ")
        .trim_end_matches('.')
        .trim_end()
        .to_lowercase()
}

fn duplicate_reason_message(cx: &Cx<'_>, out: &mut Vec<Diagnostic>) {
    let reasons = &cx.set.reasons;
    for (i, r) in reasons.iter().enumerate() {
        let Some(origin) = &r.origin else { continue };
        let key = normalized(&r.message);
        if key.is_empty() {
            continue;
        }
        let Some(first) = reasons
            .iter()
            .take(i)
            .find(|other| normalized(&other.message) == key)
        else {
            continue;
        };
        let span = cx.places.reason_message(origin);
        let d = match &first.origin {
            Some(first_origin) => finding(
                Code::DuplicateReasonMessage,
                &origin.file,
                span,
                format!(
                    "reason codes `{}` and `{}` share the message \"{}\"",
                    first.code, r.code, r.message
                ),
                format!("same message as `{}`", first.code),
                "say in each message what sets its code apart, or merge the two codes into one"
                    .into(),
            )
            .with_related(
                &first_origin.file,
                cx.places.reason_message(first_origin),
                format!("`{}` has this message", first.code),
            ),
            None => finding(
                Code::DuplicateReasonMessage,
                &origin.file,
                span,
                format!(
                    "reason code `{}` has the message of the built-in `{}` (\"{}\")",
                    r.code, first.code, first.message
                ),
                format!("same message as the built-in `{}`", first.code),
                format!(
                    "say what `{}` adds in its message, or use the built-in `{}` instead",
                    r.code, first.code
                ),
            ),
        };
        out.push(d);
    }
}

// ------------------------------------------------------------ L0014 ----

fn tier_ordering(cx: &Cx<'_>, out: &mut Vec<Diagnostic>) {
    // Tiers are sorted by number; compare each with the strictest tier of a
    // lower number seen so far (the nearest one, among equally strict).
    let mut strictest: Option<&TierDef> = None;
    for t in &cx.set.tiers {
        match strictest {
            Some(s) if t.outcome < s.outcome => {
                out.push(
                    finding(
                        Code::TierOrdering,
                        &t.origin.file,
                        cx.places.tier_outcome(&t.origin),
                        format!(
                            "{} is `{}`, less strict than {} (`{}`)",
                            tier_words(t),
                            t.outcome,
                            tier_words(s),
                            s.outcome
                        ),
                        format!("`{}` in {}", t.outcome, tier_words(t)),
                        "number tiers from least to most strict (auto < queue < explicit < dual < block): renumber them, together with the rules' `then tier N`, or swap their outcomes".into(),
                    )
                    .with_related(
                        &s.origin.file,
                        cx.places.tier_outcome(&s.origin),
                        format!("`{}` in {}", s.outcome, tier_words(s)),
                    ),
                );
            }
            _ => strictest = Some(t),
        }
    }
}

// ------------------------------------------------------------ L0015 ----

/// What a role (with the roles up its escalation chain) may approve on one
/// number attribute.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Reach {
    /// Any value: some role of the chain has no limit on the attribute.
    Unbounded,
    /// Values up to a bound.
    UpTo {
        /// The bound.
        value: Decimal,
        /// `<=` rather than `<`.
        inclusive: bool,
    },
}

impl Reach {
    fn of_limit(limit: &RoleLimit) -> Reach {
        Reach::UpTo {
            value: limit.value,
            inclusive: limit.inclusive,
        }
    }

    /// Whether every value `other` allows, `self` allows too.
    fn covers(self, other: Reach) -> bool {
        match (self, other) {
            (Reach::Unbounded, _) => true,
            (Reach::UpTo { .. }, Reach::Unbounded) => false,
            (
                Reach::UpTo {
                    value: a,
                    inclusive: ai,
                },
                Reach::UpTo {
                    value: b,
                    inclusive: bi,
                },
            ) => a > b || (a == b && (ai || !bi)),
        }
    }
}

/// How far up the chain starting at `role` approvals on `attribute` can go,
/// and the role that reaches that far.
fn chain_reach(cx: &Cx<'_>, role: RoleId, attribute: usize) -> (Reach, RoleId) {
    let mut best = (
        Reach::UpTo {
            value: Decimal::from_i64(0),
            inclusive: false,
        },
        role,
    );
    let mut first = true;
    let mut at = role;
    // Chains end (the checker breaks cycles); the bound keeps that a non-issue.
    for _ in 0..=cx.set.roles.len() {
        let Some(def) = cx.role(at) else { break };
        let reach = match &def.limit {
            Some(l) if l.attribute == attribute => Reach::of_limit(l),
            _ => Reach::Unbounded,
        };
        if first || !best.0.covers(reach) {
            best = (reach, at);
            first = false;
        }
        if reach == Reach::Unbounded {
            break;
        }
        match def.escalate {
            Some(next) => at = next,
            None => break,
        }
    }
    best
}

fn escalation_too_low(cx: &Cx<'_>, out: &mut Vec<Diagnostic>) {
    // A role's `escalate to`: the target must reach above the role's limit.
    for r in &cx.set.roles {
        let (Some(limit), Some(target_id)) = (&r.limit, r.escalate) else {
            continue;
        };
        let Some(target) = cx.role(target_id) else {
            continue;
        };
        let Some(target_limit) = &target.limit else {
            continue;
        };
        if target_limit.attribute != limit.attribute
            || !Reach::of_limit(limit).covers(Reach::of_limit(target_limit))
        {
            continue;
        }
        let onward = match target.escalate {
            Some(next) => format!(" (here straight to `{}`)", cx.role_name(next)),
            None => String::new(),
        };
        out.push(
            finding(
                Code::EscalationTooLow,
                &r.origin.file,
                cx.places.role_escalate(&r.origin),
                format!(
                    "role `{}` escalates to `{}`, whose limit ({}) is no higher than its own ({})",
                    r.name,
                    target.name,
                    cx.limit_text(target_limit),
                    cx.limit_text(limit)
                ),
                format!("`{}` cannot approve above `{}`'s limit", target.name, r.name),
                format!(
                    "a request escalates only when it is above `{}`'s limit, which is above `{}`'s too: escalate to a role with a higher limit, or without one{onward}",
                    r.name, target.name
                ),
            )
            .with_related(
                &target.origin.file,
                cx.places.role_limit(&target.origin),
                format!("`{}` may approve only {}", target.name, cx.limit_text(target_limit)),
            ),
        );
    }

    // A tier's `timeout ... then escalate to R`: R receives whatever the
    // tier's approvers could have approved.
    for (idx, t) in cx.set.tiers.iter().enumerate() {
        let Some(ExpiryAction::Escalate(target_id)) = t.timeout.as_ref().map(|to| to.expiry) else {
            continue;
        };
        let Some(target) = cx.role(target_id) else {
            continue;
        };
        let Some(target_limit) = &target.limit else {
            continue;
        };
        let mut asked: Vec<RoleId> = Vec::new();
        let placers = cx.placers(idx);
        let groups = t
            .approvals
            .iter()
            .chain(placers.iter().flat_map(|p| p.effect.approvals.iter()));
        for g in groups {
            for r in &g.roles {
                if !asked.contains(r) && *r != target_id {
                    asked.push(*r);
                }
            }
        }
        let attribute = target_limit.attribute;
        let mut widest: Option<(Reach, RoleId, RoleId)> = None;
        for q in asked {
            let (reach, by) = chain_reach(cx, q, attribute);
            if widest.is_none_or(|(w, _, _)| !w.covers(reach)) {
                widest = Some((reach, q, by));
            }
        }
        let Some((reach, asked_role, by)) = widest else {
            continue;
        };
        if Reach::of_limit(target_limit).covers(reach) {
            continue;
        }
        let what_they_reach = match reach {
            Reach::Unbounded if by == asked_role => format!(
                "`{}` has no limit on `{}`",
                cx.role_name(by),
                cx.attribute(attribute)
            ),
            Reach::Unbounded => format!(
                "`{}` escalates to `{}`, which has no limit on `{}`",
                cx.role_name(asked_role),
                cx.role_name(by),
                cx.attribute(attribute)
            ),
            Reach::UpTo { .. } => {
                let limit = cx
                    .role(by)
                    .and_then(|r| r.limit.as_ref())
                    .map(|l| cx.limit_text(l))
                    .unwrap_or_default();
                if by == asked_role {
                    format!("`{}` may approve {limit}", cx.role_name(by))
                } else {
                    format!(
                        "`{}` escalates to `{}`, which may approve {limit}",
                        cx.role_name(asked_role),
                        cx.role_name(by)
                    )
                }
            }
        };
        let mut d = finding(
            Code::EscalationTooLow,
            &t.origin.file,
            cx.places.tier_timeout_role(&t.origin),
            format!(
                "{}'s timeout escalates to `{}`, whose limit ({}) is below what the tier's approvers can approve: {}",
                tier_words(t),
                target.name,
                cx.limit_text(target_limit),
                what_they_reach
            ),
            format!("`{}` cannot approve every request that times out here", target.name),
            format!(
                "a request that times out goes to `{}` whatever its amount: escalate to a role whose limit covers the tier's approvers' (or that has none), or use `then reject` or `then block`",
                target.name
            ),
        )
        .with_related(
            &target.origin.file,
            cx.places.role_limit(&target.origin),
            format!("`{}` may approve only {}", target.name, cx.limit_text(target_limit)),
        );
        if let Some(role) = cx.role(by) {
            let span = if role.limit.is_some() {
                cx.places.role_limit(&role.origin)
            } else {
                role.origin.span
            };
            d = d.with_related(
                &role.origin.file,
                span,
                format!("`{}` is asked in {}", role.name, tier_words(t)),
            );
        }
        out.push(d);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(roles: &[RoleId], count: u32) -> ApproverGroup {
        ApproverGroup {
            roles: roles.to_vec(),
            count,
        }
    }

    #[test]
    fn distinct_roles_needs_a_role_per_approval() {
        let a_and_b = [group(&[0], 1), group(&[1], 1)];
        let refs: Vec<&ApproverGroup> = a_and_b.iter().collect();
        assert!(distinct_roles_shortfall(&refs, Outcome::Dual).is_none());

        let only_a = [group(&[0], 1)];
        let refs: Vec<&ApproverGroup> = only_a.iter().collect();
        assert!(distinct_roles_shortfall(&refs, Outcome::Explicit).is_none());
        let s = distinct_roles_shortfall(&refs, Outcome::Dual).expect("dual asks a twice");
        assert!(s.dual_raised);
        assert_eq!(s.needed, 2);

        let three_of_two = [group(&[0, 1], 3)];
        let refs: Vec<&ApproverGroup> = three_of_two.iter().collect();
        assert!(distinct_roles_shortfall(&refs, Outcome::Explicit).is_some());

        // Identical groups merge: one approval satisfies both.
        let twice = [group(&[0], 1), group(&[0], 1)];
        let refs: Vec<&ApproverGroup> = twice.iter().collect();
        assert!(distinct_roles_shortfall(&refs, Outcome::Explicit).is_none());

        // Enough roles overall, but `a` and `2 of a, b` compete for two roles.
        let competing = [group(&[0, 1], 2), group(&[0], 1), group(&[2, 3], 1)];
        let refs: Vec<&ApproverGroup> = competing.iter().collect();
        let s = distinct_roles_shortfall(&refs, Outcome::Explicit).expect("Hall violation");
        assert_eq!((s.needed, s.roles.len()), (4, 4));

        // A matching needs an augmenting path: a-or-b, then a.
        let augmenting = [group(&[0, 1], 1), group(&[0], 1)];
        let refs: Vec<&ApproverGroup> = augmenting.iter().collect();
        assert!(distinct_roles_shortfall(&refs, Outcome::Explicit).is_none());

        // A huge count is refused without listing its slots.
        let huge = [group(&[0, 1], u32::MAX)];
        let refs: Vec<&ApproverGroup> = huge.iter().collect();
        assert!(distinct_roles_shortfall(&refs, Outcome::Explicit).is_some());
    }

    #[test]
    fn reach_coverage_respects_inclusive_bounds() {
        let le = |v: i64| Reach::UpTo {
            value: Decimal::from_i64(v),
            inclusive: true,
        };
        let lt = |v: i64| Reach::UpTo {
            value: Decimal::from_i64(v),
            inclusive: false,
        };
        assert!(le(1000).covers(le(500)));
        assert!(le(1000).covers(le(1000)));
        assert!(le(1000).covers(lt(1000)));
        assert!(!lt(1000).covers(le(1000)));
        assert!(!le(500).covers(le(1000)));
        assert!(Reach::Unbounded.covers(le(1)));
        assert!(!le(1).covers(Reach::Unbounded));
    }

    #[test]
    fn messages_compare_loosely() {
        assert_eq!(
            normalized("  Refund  needs approval. "),
            "refund needs approval"
        );
        assert_eq!(normalized("refund needs approval"), "refund needs approval");
    }
}

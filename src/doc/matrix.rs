//! The approval matrix: one row per tier, with its outcome, approvers and
//! their limits, evidence, timeout, separation of duties and execution
//! conditions.

use super::context::{Ctx, outcome_meaning};
use super::document::{Block, Table};
use super::inline::Inline;
use super::overview::section_heading;
use super::words::duration;
use crate::check::{ExpiryAction, TierDef};
use crate::syntax::ast::Outcome;

/// The section.
pub(crate) fn blocks(cx: &Ctx<'_>) -> Vec<Block> {
    let mut out = vec![section_heading("approval-matrix")];
    let legend = [
        Outcome::Auto,
        Outcome::Queue,
        Outcome::Explicit,
        Outcome::Dual,
        Outcome::Block,
    ]
    .into_iter()
    .map(|o| {
        Inline::default()
            .b(o.as_str())
            .t(format!(" ({})", outcome_meaning(o)))
    });
    out.push(Block::Paragraph(
        Inline::text("Each tier is one row of the approval matrix. Rules, or the default, place an action in a tier; the tier's outcome is where the decision starts, and rules can raise it, never lower it. The outcomes, from least to most oversight: ")
            .then(Inline::join(legend, ", "))
            .t("."),
    ));
    if cx.set.tiers.is_empty() {
        out.push(Block::Paragraph(Inline::text(
            "This policy declares no tiers: rules only set outcomes.",
        )));
        return out;
    }
    out.push(Block::Table(Table {
        header: vec![
            "Tier",
            "Outcome",
            "Approvers",
            "Evidence",
            "Timeout",
            "Separation of duties",
            "Execution conditions",
        ],
        rows: cx.set.tiers.iter().map(|t| row(cx, t)).collect(),
    }));
    out.push(Block::List(notes(cx)));
    out
}

/// What a reader needs to know to read the table right; a note only
/// appears when the policy uses what it explains.
fn notes(cx: &Ctx<'_>) -> Vec<Inline> {
    let tiers = &cx.set.tiers;
    let mut notes = vec![
        Inline::text("Approvers, timeout, separation of duties and execution conditions apply when the final outcome is ")
            .b("queue")
            .t(", ")
            .b("explicit")
            .t(" or ")
            .b("dual")
            .t("; an ")
            .b("auto")
            .t(" tier's approvers are asked only when a rule raises the outcome."),
    ];
    if cx.set.roles.iter().any(|r| r.limit.is_some()) {
        notes.push(
            Inline::text("A role whose limit does not cover the action is replaced by the role it escalates to; if no role up the chain covers it, the role cannot approve, and the action is blocked with ")
                .c("APPROVER_LIMIT_EXCEEDED")
                .t(" when no role of its group is left."),
        );
    }
    if tiers.iter().any(|t| !t.evidence.is_empty()) {
        notes.push(
            Inline::text("Missing evidence raises the outcome to at least what the Evidence column says, with reason ")
                .c("EVIDENCE_MISSING")
                .t("."),
        );
    }
    if tiers.iter().any(|t| !t.requirements.is_empty()) {
        notes.push(Inline::text(
            "Execution conditions do not change the outcome: whatever executes the action must check them.",
        ));
    }
    notes
}

fn row(cx: &Ctx<'_>, t: &TierDef) -> Vec<Inline> {
    vec![
        Inline::default()
            .b(t.id.to_string())
            .t(format!(" {}", t.name)),
        Inline::default().b(t.outcome.as_str()),
        approvers(cx, t),
        evidence(cx, t),
        timeout(cx, t),
        separation(cx, t),
        conditions(cx, t),
    ]
}

fn approvers(cx: &Ctx<'_>, t: &TierDef) -> Inline {
    if !t.approvals.is_empty() {
        return cx.approvers(&t.approvals, Some(t.outcome));
    }
    match t.outcome {
        Outcome::Queue | Outcome::Explicit | Outcome::Dual => Inline::text(
            "no role named here (rules add approvers; otherwise anyone the approval system accepts)",
        ),
        Outcome::Auto | Outcome::Block => Inline::text("none"),
    }
}

fn evidence(cx: &Ctx<'_>, t: &TierDef) -> Inline {
    if t.evidence.is_empty() {
        return Inline::text("none");
    }
    cx.evidence(&t.evidence)
        .t("; if missing: ")
        .b(t.on_missing_evidence.as_str())
}

fn timeout(cx: &Ctx<'_>, t: &TierDef) -> Inline {
    let Some(timeout) = &t.timeout else {
        return Inline::text("none");
    };
    let then = match timeout.expiry {
        ExpiryAction::Reject => Inline::text("reject"),
        ExpiryAction::Block => Inline::text("block"),
        ExpiryAction::Escalate(role) => Inline::text("escalate to ").then(cx.role_name(role)),
    };
    Inline::text(format!("{}, then ", duration(&timeout.written))).then(then)
}

fn separation(cx: &Ctx<'_>, t: &TierDef) -> Inline {
    let mut parts = Vec::new();
    if !t.forbid.is_empty() {
        let who = t.forbid.iter().map(|a| cx.words.noun(*a)).collect();
        parts.push(Inline::text("not approved by ").then(Inline::list(who, "or")));
    }
    if t.distinct_people {
        parts.push(Inline::text("distinct people"));
    } else if t.outcome == Outcome::Dual {
        parts.push(Inline::text("distinct people (always, for dual)"));
    }
    if t.distinct_roles {
        parts.push(Inline::text("distinct roles"));
    }
    if parts.is_empty() {
        return Inline::text("none");
    }
    Inline::join(parts, "; ")
}

fn conditions(cx: &Ctx<'_>, t: &TierDef) -> Inline {
    if t.requirements.is_empty() {
        return Inline::text("none");
    }
    Inline::join(
        t.requirements.iter().map(|r| match &r.condition {
            Some(c) => cx.words.condition(c),
            None => Inline::text(format!("“{}” (attested by a person)", r.text)),
        }),
        "; ",
    )
}

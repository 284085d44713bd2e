//! The declarations, each with where the policy uses it: roles, evidence
//! fields, reason codes and input attributes.

use super::context::Ctx;
use super::document::{Block, Table};
use super::inline::Inline;
use super::overview::section_heading;
use crate::check::{Effect, ExpiryAction, RoleId, Type};

/// The four sections.
pub(crate) fn blocks(cx: &Ctx<'_>) -> Vec<Block> {
    let mut out = roles(cx);
    out.extend(evidence(cx));
    out.extend(reasons(cx));
    out.extend(attributes(cx));
    out
}

/// `rule `x``, then `the default`, for every rule (and the default) whose
/// effect satisfies `uses`.
fn users(cx: &Ctx<'_>, uses: impl Fn(&Effect) -> bool) -> Vec<Inline> {
    let mut out: Vec<Inline> = cx
        .set
        .rules
        .iter()
        .filter(|r| uses(&r.effect))
        .map(|r| Inline::text("rule ").c(r.name.clone()))
        .collect();
    if cx.set.default.as_ref().is_some_and(|d| uses(&d.effect)) {
        out.push(Inline::text("the default"));
    }
    out
}

fn or_nowhere(parts: Vec<Inline>, nowhere: &str) -> Inline {
    if parts.is_empty() {
        Inline::text(nowhere)
    } else {
        Inline::join(parts, ", ")
    }
}

fn roles(cx: &Ctx<'_>) -> Vec<Block> {
    let mut out = vec![section_heading("roles")];
    if cx.set.roles.is_empty() {
        out.push(Block::Paragraph(Inline::text(
            "This policy declares no roles: its decisions name no approver.",
        )));
        return out;
    }
    out.push(Block::Paragraph(Inline::text(
        "Approver roles are owned by the business; gatehouse tells the approval system which roles may approve, not who holds them.",
    )));
    let rows = cx
        .set
        .roles
        .iter()
        .enumerate()
        .map(|(id, r)| {
            let limit = match &r.limit {
                Some(l) => cx.words.limit(l),
                None => Inline::text("none"),
            };
            let above = match (&r.limit, r.escalate) {
                (Some(_), _) => cx.above_limit(id),
                (None, Some(to)) => Inline::text("escalates to ").then(cx.role_name(to)),
                (None, None) => Inline::text("—"),
            };
            vec![
                Inline::code(r.name.clone()),
                Inline::text(r.title.clone().unwrap_or_else(|| "—".to_owned())),
                limit,
                above,
                or_nowhere(role_users(cx, id), "not named by any tier or rule"),
            ]
        })
        .collect();
    out.push(Block::Table(Table {
        header: vec![
            "Role",
            "Title",
            "Approval limit",
            "Above the limit",
            "Asked by",
        ],
        rows,
    }));
    out
}

/// Where a role is asked to approve: tiers, timeouts, rules, the default,
/// and other roles' escalations.
fn role_users(cx: &Ctx<'_>, id: RoleId) -> Vec<Inline> {
    let in_groups =
        |groups: &[crate::check::ApproverGroup]| groups.iter().any(|g| g.roles.contains(&id));
    let mut out = Vec::new();
    for t in &cx.set.tiers {
        if in_groups(&t.approvals) {
            out.push(Inline::text(format!("tier {}", t.id)));
        }
        let escalates_here = t
            .timeout
            .as_ref()
            .is_some_and(|x| matches!(x.expiry, ExpiryAction::Escalate(r) if r == id));
        if escalates_here {
            out.push(Inline::text(format!("tier {} on timeout", t.id)));
        }
    }
    out.extend(users(cx, |e| in_groups(&e.approvals)));
    for (from, r) in cx.set.roles.iter().enumerate() {
        if r.escalate == Some(id) && from != id {
            out.push(Inline::text("escalation from ").c(r.name.clone()));
        }
    }
    out
}

fn evidence(cx: &Ctx<'_>) -> Vec<Block> {
    let mut out = vec![section_heading("evidence-fields")];
    if cx.set.evidence.is_empty() {
        out.push(Block::Paragraph(Inline::text(
            "This policy declares no evidence fields.",
        )));
        return out;
    }
    out.push(Block::Paragraph(
        Inline::text("Evidence fields are keys of the action's ")
            .c("evidence")
            .t(" object. A field is present when its value is not null, false or empty; gatehouse checks that evidence is there, not what it says."),
    ));
    let rows = cx
        .set
        .evidence
        .iter()
        .enumerate()
        .map(|(id, e)| {
            let mut by: Vec<Inline> = cx
                .set
                .tiers
                .iter()
                .filter(|t| t.evidence.contains(&id))
                .map(|t| {
                    Inline::text(format!("tier {} (if missing: ", t.id))
                        .b(t.on_missing_evidence.as_str())
                        .t(")")
                })
                .collect();
            by.extend(users(cx, |e| e.evidence.contains(&id)));
            vec![
                Inline::code(e.name.clone()),
                or_nowhere(by, "not required by any tier or rule"),
            ]
        })
        .collect();
    out.push(Block::Table(Table {
        header: vec!["Field", "Required by"],
        rows,
    }));
    out
}

fn reasons(cx: &Ctx<'_>) -> Vec<Block> {
    let mut out = vec![section_heading("reason-codes")];
    out.push(Block::Paragraph(Inline::text(
        "Every decision lists its reason codes with these messages. The built-in codes are given by the engine itself; a policy may also name them.",
    )));
    // Declared codes first (the policy's own words), then the built-in ones.
    let mut order: Vec<(usize, bool)> = Vec::new();
    for (id, r) in cx.set.reasons.iter().enumerate() {
        if r.origin.is_some() {
            order.push((id, false));
        }
    }
    for (id, r) in cx.set.reasons.iter().enumerate() {
        if r.origin.is_none() {
            order.push((id, true));
        }
    }
    let rows = order
        .into_iter()
        .filter_map(|(id, builtin)| {
            let r = cx.set.reasons.get(id)?;
            let mut by = users(cx, |e| e.reasons.contains(&id));
            if builtin {
                by.insert(0, Inline::text("the engine (built in)"));
            }
            Some(vec![
                Inline::code(r.code.clone()),
                Inline::text(r.message.clone()),
                or_nowhere(by, "not given by any rule"),
            ])
        })
        .collect();
    out.push(Block::Table(Table {
        header: vec!["Code", "Message", "Given by"],
        rows,
    }));
    out
}

fn attributes(cx: &Ctx<'_>) -> Vec<Block> {
    let mut out = vec![section_heading("input-attributes")];
    if cx.set.attributes.is_empty() {
        out.push(Block::Paragraph(Inline::text(
            "This policy declares no input attributes.",
        )));
        return out;
    }
    out.push(Block::Paragraph(Inline::text(
        "What the action says about itself, and how the conditions above refer to it. An optional attribute may be left out of the action; a condition on an absent attribute does not hold, except one asking whether it is given.",
    )));
    let rows = cx
        .set
        .attributes
        .iter()
        .enumerate()
        .map(|(id, a)| {
            vec![
                Inline::code(a.path.clone()),
                cx.words.reading(id),
                type_words(&a.ty),
                Inline::text(if a.optional { "optional" } else { "required" }),
            ]
        })
        .collect();
    out.push(Block::Table(Table {
        header: vec!["Attribute", "In words", "Type", "Given"],
        rows,
    }));
    out
}

fn type_words(ty: &Type) -> Inline {
    match ty {
        Type::Bool => Inline::text("true or false"),
        Type::Number => Inline::text("number"),
        Type::String => Inline::text("text"),
        Type::Duration => Inline::text("duration"),
        Type::Timestamp => Inline::text("timestamp"),
        Type::Enum(values) => Inline::text("one of ").then(Inline::join(
            values.iter().map(|v| Inline::code(v.clone())),
            ", ",
        )),
        Type::Set(inner) => match inner.as_ref() {
            Type::Enum(values) => Inline::text("any of ").then(Inline::join(
                values.iter().map(|v| Inline::code(v.clone())),
                ", ",
            )),
            other => Inline::text("a set of ").then(type_words(other)),
        },
    }
}

//! The rules, in plain words. Under `combine strictest` they are grouped by
//! the tier they place the action in, then the rules that name no tier;
//! under `first-match` order decides, so they are listed in order (with a
//! short index by tier). Then the default.

use super::context::{Ctx, location, tier_label};
use super::document::Block;
use super::inline::Inline;
use super::overview::{combining, section_heading};
use crate::check::RuleDef;
use crate::syntax::ast::CombineMode;

/// The section.
pub(crate) fn blocks(cx: &Ctx<'_>) -> Vec<Block> {
    let mut out = vec![section_heading("rules")];
    out.push(Block::Paragraph(
        Inline::text("How rules combine: ")
            .then(combining(cx.set.combine))
            .t(". A rule matches when its condition holds and none of its exceptions (")
            .b("unless")
            .t(") does."),
    ));
    if cx.set.rules.is_empty() {
        out.push(Block::Paragraph(Inline::text(
            "This policy has no rules: the default decides every action.",
        )));
    } else {
        match cx.set.combine {
            CombineMode::Strictest => by_tier(cx, &mut out),
            CombineMode::FirstMatch => in_order(cx, &mut out),
        }
    }
    out.extend(default(cx));
    out
}

/// Whether a rule names no (valid) tier.
fn names_no_tier(cx: &Ctx<'_>, r: &RuleDef) -> bool {
    r.effect.tier.is_none_or(|t| cx.set.tiers.get(t).is_none())
}

fn by_tier(cx: &Ctx<'_>, out: &mut Vec<Block>) {
    let default_tier = cx.set.default.as_ref().and_then(|d| d.effect.tier);
    for (idx, tier) in cx.set.tiers.iter().enumerate() {
        out.push(Block::heading(
            3,
            Inline::text("Rules placing the action in ").then(tier_label(tier)),
        ));
        let rules: Vec<&RuleDef> = cx
            .set
            .rules
            .iter()
            .filter(|r| r.effect.tier == Some(idx))
            .collect();
        if rules.is_empty() {
            let mut words = Inline::text("No rule places an action in this tier");
            if default_tier == Some(idx) {
                words.push_text("; the default does");
            }
            out.push(Block::Paragraph(words.t(".")));
        } else if default_tier == Some(idx) {
            out.push(Block::Paragraph(Inline::text(
                "The default also places actions in this tier (see below).",
            )));
        }
        for r in rules {
            out.push(rule(cx, r, None));
        }
    }
    let untiered: Vec<&RuleDef> = cx
        .set
        .rules
        .iter()
        .filter(|r| names_no_tier(cx, r))
        .collect();
    if !untiered.is_empty() {
        out.push(Block::heading(
            3,
            Inline::text("Rules that name no tier (outcome floors and guardrails)"),
        ));
        out.push(Block::Paragraph(Inline::text(
            "These rules do not choose a tier: they raise the outcome, or add approvers or evidence, on top of the tier the other matching rules (or the default) choose.",
        )));
        for r in untiered {
            out.push(rule(cx, r, None));
        }
    }
}

fn in_order(cx: &Ctx<'_>, out: &mut Vec<Block>) {
    out.push(Block::Paragraph(
        Inline::default()
            .b("Order matters.")
            .t(" The rules are tried in the order below (file-name order, then the order they are written in), and the first one that matches decides; the rules after it are not consulted."),
    ));
    out.push(Block::heading(3, Inline::text("Rules by tier")));
    let numbered = |keep: &dyn Fn(&RuleDef) -> bool| -> Vec<Inline> {
        cx.set
            .rules
            .iter()
            .enumerate()
            .filter(|(_, r)| keep(r))
            .map(|(i, r)| Inline::text(format!("{}. ", i + 1)).c(r.name.clone()))
            .collect()
    };
    let mut index = Vec::new();
    for (idx, tier) in cx.set.tiers.iter().enumerate() {
        let rules = numbered(&|r| r.effect.tier == Some(idx));
        let mut rules = if rules.is_empty() {
            Inline::text("no rule")
        } else {
            Inline::join(rules, ", ")
        };
        if cx.set.default.as_ref().and_then(|d| d.effect.tier) == Some(idx) {
            rules.push_text("; the default");
        }
        index.push(tier_label(tier).t(": ").then(rules));
    }
    let untiered = numbered(&|r| names_no_tier(cx, r));
    if !untiered.is_empty() {
        index.push(Inline::text("no tier: ").then(Inline::join(untiered, ", ")));
    }
    out.push(Block::List(index));
    out.push(Block::heading(3, Inline::text("Rules in order")));
    for (i, r) in cx.set.rules.iter().enumerate() {
        out.push(rule(cx, r, Some(i + 1)));
    }
}

/// One rule: its name and description, condition, exceptions,
/// consequences, reasons and source line.
fn rule(cx: &Ctx<'_>, r: &RuleDef, number: Option<usize>) -> Block {
    let mut heading = match number {
        Some(n) => Inline::text(format!("{n}. ")).c(r.name.clone()),
        None => Inline::code(r.name.clone()),
    };
    if let Some(d) = &r.description {
        heading.push_text(format!(": {d}"));
    }
    let mut items = vec![
        Inline::default()
            .b("When")
            .t(" ")
            .then(cx.words.condition(&r.when)),
    ];
    for u in &r.unless {
        items.push(
            Inline::default()
                .b("Unless")
                .t(" ")
                .then(cx.words.condition(u)),
        );
    }
    items.push(
        Inline::default()
            .b("Then")
            .t(" ")
            .then(cx.effect(&r.effect)),
    );
    items.push(
        Inline::default()
            .b("Reasons")
            .t(" ")
            .then(cx.reasons(&r.effect.reasons)),
    );
    items.push(Inline::default().b("Source").t(" ").c(location(&r.origin)));
    Block::Group(vec![Block::heading(4, heading), Block::List(items)])
}

fn default(cx: &Ctx<'_>) -> Vec<Block> {
    let mut out = vec![Block::heading(3, Inline::text("Default"))];
    let Some(d) = &cx.set.default else {
        out.push(Block::Paragraph(
            Inline::text("There is no default: an action no rule matches is ")
                .b("blocked")
                .t(" with reason ")
                .c("NO_RULE_MATCHED")
                .t("."),
        ));
        return out;
    };
    let joins = match cx.set.combine {
        CombineMode::Strictest => "rules match but none of them names a tier",
        CombineMode::FirstMatch => "the rule that matches names no tier",
    };
    out.push(Block::List(vec![
        Inline::default()
            .b("When")
            .t(" no matching rule places the action in a tier"),
        Inline::default()
            .b("Then")
            .t(" ")
            .then(cx.effect(&d.effect)),
        if d.effect.reasons.is_empty() {
            Inline::default().b("Reasons").t(" none")
        } else {
            Inline::default()
                .b("Reasons")
                .t(" ")
                .then(cx.reasons(&d.effect.reasons))
                .t(" (given only when no rule matched at all)")
        },
        Inline::default().b("Source").t(" ").c(location(&d.origin)),
    ]));
    out.push(Block::Paragraph(Inline::text(format!(
        "When {joins}, the default counts alongside: its tier, outcome, evidence and approvers apply too, so such a rule never makes a decision weaker than the default alone; its reason codes are not given."
    ))));
    out
}

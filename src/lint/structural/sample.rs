//! L0017 `ineffective-sample`: a `sample N% for review` that can never
//! apply. Only an `auto` decision is sampled, and of the shares that could
//! apply the highest wins (ties: the tier, then the first rule), so a share
//! is dead when
//!
//! - it is on a tier that is never `auto`: its outcome is not `auto`, or
//!   every rule (and the default) that places actions in it raises the
//!   outcome (a stricter `at least`, added approvers);
//! - it is on a rule (or the default) that can never end `auto`: it adds
//!   approvers, raises with `at least`, or places the action in a tier
//!   that is not `auto`;
//! - it is always overridden: a tier's share below the share of every rule
//!   that places actions in it, or a rule's share no higher than the share
//!   of every `auto` tier, when the rule places the action in a tier (so
//!   the decision always has one).
//!
//! Each is a pass over the checked tables; the reasoning is sound (never a
//! finding for a share that can apply) and does not look at conditions, so
//! a share that is dead only because of what the conditions allow is not
//! reported.

use super::{Contributor, Cx, finding, tier_words};
use crate::check::{Effect, Sample, TierDef};
use crate::diagnostic::{Code, Diagnostic};
use crate::syntax::ast::Outcome;

pub(super) fn run(cx: &Cx<'_>, out: &mut Vec<Diagnostic>) {
    let set = cx.set;
    let contributors = cx.contributors();
    for (idx, t) in set.tiers.iter().enumerate() {
        let Some(s) = &t.sample else { continue };
        let placers: Vec<&Contributor<'_>> = contributors
            .iter()
            .filter(|c| c.effect.tier == Some(idx))
            .collect();
        if t.outcome != Outcome::Auto {
            out.push(tier_finding(
                s,
                format!(
                    "{} samples {} for review, but its outcome is `{}`: only `auto` decisions are sampled",
                    tier_words(t),
                    s.rate,
                    t.outcome
                ),
                "a human already reviews these actions before they run: remove the `sample` line, or make the tier `auto`",
            ));
            continue;
        }
        if !placers.is_empty()
            && placers
                .iter()
                .all(|c| c.effect.own_outcome(&set.tiers) != Outcome::Auto)
        {
            out.push(tier_finding(
                s,
                format!(
                    "{} samples {} for review, but every rule that places actions in it raises the outcome above `auto`",
                    tier_words(t),
                    s.rate
                ),
                "its actions are always reviewed before they run: remove the `sample` line, or the raise",
            ));
            continue;
        }
        if !placers.is_empty()
            && placers
                .iter()
                .all(|c| c.effect.sample.as_ref().is_some_and(|r| r.ppm > s.ppm))
        {
            out.push(tier_finding(
                s,
                format!(
                    "{}'s {} sample never applies: every rule that places actions in it samples more",
                    tier_words(t),
                    s.rate
                ),
                "the highest share applies: remove the tier's `sample`, or raise it",
            ));
        }
    }
    let auto_tiers: Vec<&TierDef> = set
        .tiers
        .iter()
        .filter(|t| t.outcome == Outcome::Auto)
        .collect();
    for c in &contributors {
        let Some(s) = &c.effect.sample else { continue };
        if let Some(why) = never_auto(c.effect, &set.tiers) {
            out.push(finding(
                Code::IneffectiveSample,
                &s.origin.file,
                s.origin.span,
                format!(
                    "{} samples {} for review, but it {why}, so its actions are never `auto`",
                    c.what, s.rate
                ),
                "never applies".into(),
                "only `auto` decisions are sampled; these actions are reviewed before they run: remove the `sample`".into(),
            ));
            continue;
        }
        if c.effect.tier.is_some()
            && !auto_tiers.is_empty()
            && auto_tiers
                .iter()
                .all(|t| t.sample.as_ref().is_some_and(|ts| ts.ppm >= s.ppm))
        {
            out.push(finding(
                Code::IneffectiveSample,
                &s.origin.file,
                s.origin.span,
                format!(
                    "{}'s {} sample never applies: every `auto` tier samples at least as much",
                    c.what, s.rate
                ),
                "always overridden".into(),
                "the highest share applies, and a tie goes to the tier: remove this `sample`, or raise it above the tiers'".into(),
            ));
        }
    }
}

fn tier_finding(s: &Sample, message: String, help: &str) -> Diagnostic {
    finding(
        Code::IneffectiveSample,
        &s.origin.file,
        s.origin.span,
        message,
        "never applies".into(),
        help.into(),
    )
}

/// Why a rule's (or the default's) actions can never end `auto`.
fn never_auto(e: &Effect, tiers: &[TierDef]) -> Option<String> {
    if !e.approvals.is_empty() {
        return Some("adds approvers".into());
    }
    if let Some(o) = e.at_least.filter(|o| *o != Outcome::Auto) {
        return Some(format!("raises the outcome to at least `{o}`"));
    }
    let tier = e.tier.and_then(|t| tiers.get(t))?;
    (tier.outcome != Outcome::Auto).then(|| {
        format!(
            "places the action in {}, which is `{}`",
            tier_words(tier),
            tier.outcome
        )
    })
}

//! Program x input -> [`Decision`]. How matching rules combine is defined
//! here once, and written down in docs/language.md ("Combining"):
//!
//! 1. Matching: a rule matches when its `when` holds and none of its
//!    `unless` conditions does. `strictest` takes every matching rule;
//!    `first-match` takes only the first in file-then-source order.
//! 2. The `default` counts as one more matching rule whenever no matching
//!    rule places the action in a tier: everything it asks for applies, but
//!    its reasons are given only when no rule matched at all. Without a
//!    default, no match at all is block/NO_RULE_MATCHED.
//! 3. Tier: of the tiers the matching rules name, the one with the strictest
//!    outcome (ties: the higher number).
//! 4. Outcome: the tier's outcome, raised by every `at least`; a rule that
//!    adds approvers raises `auto` to `explicit`.
//! 5. Evidence: the tier's plus every matching rule's. Any missing raises the
//!    outcome to the tier's `otherwise` (block unless softened to queue).
//! 6. Approvals: the tier's groups plus every matching rule's, each role
//!    replaced by its escalation while the action exceeds its limit; a group
//!    left with no role blocks (APPROVER_LIMIT_EXCEEDED). Only queue,
//!    explicit and dual carry approvals, timeout and execution conditions.
//! 7. Determining rules: those whose own contribution (tier outcome, raise,
//!    explicit for added approvers) equals the final outcome.

mod approvals;
pub(crate) mod cond;
mod decision;
pub mod decode;
mod explain;

pub use decision::*;

use crate::check::{ApproverGroup as Group, Effect, ExpiryAction, PolicySet, builtin};
use crate::compile::Program;
use crate::syntax::ast::CombineMode;
use crate::values::Timestamp;
use decode::{Decoded, Slot};

/// Options for one evaluation.
#[derive(Clone, Copy, Debug, Default)]
pub struct EvalOptions {
    /// The current time, used only to compute `timeout.expires_at`.
    /// The engine never reads the clock itself.
    pub now: Option<Timestamp>,
    /// Reject input fields the schema does not declare.
    pub strict: bool,
}

/// The decision for an input that does not match the schema: block.
pub fn invalid_input(program: &Program, errors: Vec<InputError>) -> Decision {
    let set = &program.set;
    let mut d = empty_decision(set, Outcome::Block);
    let detail: Vec<String> = errors.iter().map(ToString::to_string).collect();
    d.reasons.push(Reason {
        code: "INVALID_INPUT".into(),
        message: format!(
            "{}: {}",
            reason_message(set, builtin::INVALID_INPUT),
            detail.join("; ")
        ),
        rule: None,
    });
    d.input_errors = errors;
    d
}

fn empty_decision(set: &PolicySet, outcome: Outcome) -> Decision {
    Decision {
        outcome,
        tier: None,
        reasons: Vec::new(),
        rules: Vec::new(),
        approvals: None,
        evidence: EvidenceStatus::default(),
        timeout: None,
        conditions: Vec::new(),
        input_errors: Vec::new(),
        action_digest: None,
        policy: PolicyRef {
            name: set.name.clone(),
            version: set.version.clone(),
            digest: set.digest.clone(),
        },
    }
}

fn reason_message(set: &PolicySet, id: usize) -> &str {
    set.reasons
        .get(id)
        .map(|r| r.message.as_str())
        .unwrap_or("")
}

fn reason_code(set: &PolicySet, id: usize) -> &str {
    set.reasons.get(id).map(|r| r.code.as_str()).unwrap_or("")
}

/// One contributor to the decision: a matching rule or the default.
struct Contributor<'p> {
    name: &'p str,
    location: &'p str,
    effect: &'p Effect,
    /// Whether its reason codes are reported (not for the default when it
    /// is only the base under tier-less rules).
    with_reasons: bool,
}

/// Decides for a decoded input.
pub fn decide(program: &Program, input: &Decoded<'_>, options: &EvalOptions) -> Decision {
    let set = &program.set;
    let slots = &input.slots;

    let mut contributors: Vec<Contributor<'_>> = Vec::new();
    for (index, rule) in set.rules.iter().enumerate() {
        let fires =
            cond::holds(&rule.when, slots) && !rule.unless.iter().any(|u| cond::holds(u, slots));
        if fires {
            contributors.push(Contributor {
                name: &rule.name,
                location: program.rule_locations.get(index).map_or("", String::as_str),
                effect: &rule.effect,
                with_reasons: true,
            });
            if set.combine == CombineMode::FirstMatch {
                break;
            }
        }
    }
    // The default is the base whenever no matching rule places the action in
    // a tier, with everything it asks for; its reasons are given only when no
    // rule matched at all.
    let no_rule_matched = contributors.is_empty();
    let no_tier = contributors.iter().all(|c| c.effect.tier.is_none());
    if no_tier {
        match &set.default {
            Some(def) => contributors.push(Contributor {
                name: "default",
                location: &program.default_location,
                effect: &def.effect,
                with_reasons: no_rule_matched,
            }),
            None if !no_rule_matched => {}
            None => {
                let mut d = empty_decision(set, Outcome::Block);
                d.reasons.push(Reason {
                    code: reason_code(set, builtin::NO_RULE_MATCHED).into(),
                    message:
                        "no rule matched and the policy has no default, so the action is blocked"
                            .into(),
                    rule: None,
                });
                return d;
            }
        }
    }

    // Tier: strictest outcome among the named tiers, ties to the higher number.
    let tier_idx = contributors
        .iter()
        .filter_map(|c| c.effect.tier)
        .max_by_key(|t| set.tiers.get(*t).map(|t| (t.outcome, t.id)));
    let tier = tier_idx.and_then(|i| set.tiers.get(i));

    let contribution = |e: &Effect| -> Outcome {
        let mut o = e
            .tier
            .and_then(|t| set.tiers.get(t))
            .map_or(Outcome::Auto, |t| t.outcome);
        if let Some(a) = e.at_least {
            o = o.max(a);
        }
        if !e.approvals.is_empty() {
            o = o.max(Outcome::Explicit);
        }
        o
    };

    let mut outcome = tier.map_or(Outcome::Auto, |t| t.outcome);
    for c in &contributors {
        outcome = outcome.max(contribution(c.effect));
    }

    let mut decision = empty_decision(set, outcome);
    decision.tier = tier.map(|t| TierRef {
        id: t.id,
        name: t.name.clone(),
    });
    for c in contributors.iter().filter(|c| c.with_reasons) {
        for r in &c.effect.reasons {
            decision.reasons.push(Reason {
                code: reason_code(set, *r).into(),
                message: reason_message(set, *r).into(),
                rule: Some(c.name.to_owned()),
            });
        }
    }

    // Evidence.
    let mut required: Vec<usize> = tier.map(|t| t.evidence.clone()).unwrap_or_default();
    for c in &contributors {
        for e in &c.effect.evidence {
            if !required.contains(e) {
                required.push(*e);
            }
        }
    }
    let missing: Vec<usize> = required
        .iter()
        .copied()
        .filter(|e| !input.evidence.get(*e).copied().unwrap_or(false))
        .collect();
    let name_of = |e: &usize| {
        set.evidence
            .get(*e)
            .map(|d| d.name.clone())
            .unwrap_or_default()
    };
    let on_missing = tier.map_or(Outcome::Block, |t| t.on_missing_evidence);
    decision.evidence = EvidenceStatus {
        required: required.iter().map(name_of).collect(),
        missing: missing.iter().map(name_of).collect(),
        on_missing: (!required.is_empty()).then_some(on_missing),
    };
    if !missing.is_empty() {
        outcome = outcome.max(on_missing);
        decision.reasons.push(Reason {
            code: reason_code(set, builtin::EVIDENCE_MISSING).into(),
            message: format!(
                "{}: {}",
                reason_message(set, builtin::EVIDENCE_MISSING),
                decision.evidence.missing.join(", ")
            ),
            rule: None,
        });
    }

    // Approvals.
    if matches!(outcome, Outcome::Queue | Outcome::Explicit | Outcome::Dual) {
        let mut requested: Vec<&Group> = tier
            .map(|t| t.approvals.iter().collect())
            .unwrap_or_default();
        for c in &contributors {
            requested.extend(c.effect.approvals.iter());
        }
        let resolved = approvals::resolve(program, &requested, slots);
        for (code, detail) in [
            (builtin::APPROVER_ESCALATED, &resolved.escalated),
            (builtin::APPROVER_NOT_ELIGIBLE, &resolved.dropped),
            (builtin::APPROVER_LIMIT_EXCEEDED, &resolved.exhausted),
        ] {
            if !detail.is_empty() {
                decision.reasons.push(Reason {
                    code: reason_code(set, code).into(),
                    message: format!("{}: {}", reason_message(set, code), detail.join(", ")),
                    rule: None,
                });
            }
        }
        if !resolved.exhausted.is_empty() {
            outcome = Outcome::Block;
        } else {
            let minimum = match outcome {
                Outcome::Dual => 2,
                _ => 1,
            };
            let mut out_groups = resolved.groups;
            // Dual needs two people even when the tier names one group: the
            // second approval comes from the same group.
            if let [only] = out_groups.as_mut_slice() {
                only.count = only.count.max(minimum);
            }
            let total: u32 = out_groups.iter().map(|g| g.count).sum();
            let forbidden = tier
                .map(|t| {
                    t.forbid
                        .iter()
                        .flat_map(|a| identities(set, *a, slots))
                        .collect()
                })
                .unwrap_or_default();
            decision.approvals = Some(ApprovalRequirement {
                count: total.max(minimum),
                groups: out_groups,
                forbidden_approvers: forbidden,
                distinct_people: outcome == Outcome::Dual
                    || tier.is_some_and(|t| t.distinct_people),
                distinct_roles: tier.is_some_and(|t| t.distinct_roles),
            });
            if let Some(t) = tier {
                decision.timeout = t.timeout.as_ref().map(|to| TimeoutInfo {
                    after: to.written.clone(),
                    seconds: to.seconds,
                    expires_at: options.now.map(|n| n.plus_seconds(to.seconds).to_string()),
                    on_expiry: match to.expiry {
                        ExpiryAction::Escalate(r) => ExpiryInfo {
                            action: "escalate".into(),
                            role: Some(role_name(set, r).to_owned()),
                        },
                        ExpiryAction::Reject => ExpiryInfo {
                            action: "reject".into(),
                            role: None,
                        },
                        ExpiryAction::Block => ExpiryInfo {
                            action: "block".into(),
                            role: None,
                        },
                    },
                });
                decision.conditions = t
                    .requirements
                    .iter()
                    .map(|r| Condition {
                        condition: r.text.clone(),
                        holds: r.condition.as_ref().map(|c| cond::holds(c, slots)),
                    })
                    .collect();
            }
        }
    }

    decision.outcome = outcome;
    decision.rules = contributors
        .iter()
        .map(|c| {
            let own = contribution(c.effect);
            MatchedRule {
                name: c.name.to_owned(),
                location: c.location.to_owned(),
                determining: own == outcome,
                outcome: own,
                tier: c.effect.tier.and_then(|t| set.tiers.get(t)).map(|t| t.id),
                reasons: if c.with_reasons {
                    c.effect
                        .reasons
                        .iter()
                        .map(|r| reason_code(set, *r).to_owned())
                        .collect()
                } else {
                    Vec::new()
                },
            }
        })
        .collect();
    decision
}

fn role_name(set: &PolicySet, id: usize) -> &str {
    set.roles.get(id).map(|r| r.name.as_str()).unwrap_or("")
}

/// Identities named by an attribute (a string, or each string of a set).
fn identities(set: &PolicySet, attr: usize, slots: &[Slot<'_>]) -> Vec<ForbiddenApprover> {
    let path = set
        .attributes
        .get(attr)
        .map(|a| a.path.clone())
        .unwrap_or_default();
    match slots.get(attr) {
        Some(Slot::Str(s)) => vec![ForbiddenApprover {
            attribute: path,
            identity: Some(s.to_string()),
        }],
        Some(Slot::Strings(items)) => items
            .iter()
            .map(|s| ForbiddenApprover {
                attribute: path.clone(),
                identity: Some(s.to_string()),
            })
            .collect(),
        _ => vec![ForbiddenApprover {
            attribute: path,
            identity: None,
        }],
    }
}

#[cfg(test)]
mod tests;

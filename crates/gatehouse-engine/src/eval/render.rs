//! [`Verdict`] -> owned [`Decision`]: names, messages and the texts of the
//! engine's reasons. Kept apart from the decision core so that the core
//! allocates nothing; this is where the strings are made.

use super::approvals::{self, Resolved};
use super::decode::{Decoded, Slot};
use super::verdict::{State, Verdict, effect, evidence_name, reason_code};
use super::*;
use crate::check::{ExpiryAction, builtin};

impl Verdict<'_> {
    /// The owned decision, with names and messages (what `evaluate`
    /// returns and `gatehouse eval` prints), for the input this verdict was
    /// decided for. `options.now` gives `timeout.expires_at`; the action
    /// digest is left `None` (see [`crate::audit::digest::action_digest`]).
    pub fn to_decision(&self, input: &Input<'_>, options: &EvalOptions) -> Decision {
        if input.program != self.input_program || self.state == State::ForeignInput {
            return foreign_input(self.program);
        }
        self.render(&input.decoded, options, None)
    }

    /// [`Verdict::to_decision`] with the action digest set, the sample
    /// settled once for it (what `set_action_digest` after `to_decision`
    /// gives, without settling an undigested sample first).
    pub(crate) fn to_decision_digested(
        &self,
        input: &Input<'_>,
        options: &EvalOptions,
        digest: Option<String>,
    ) -> Decision {
        if input.program != self.input_program || self.state == State::ForeignInput {
            let mut d = foreign_input(self.program);
            d.set_action_digest(digest, options);
            return d;
        }
        self.render(&input.decoded, options, digest)
    }

    /// Renders for the slots this verdict was decided on.
    /// `digest` is the action digest the sample is settled with.
    pub(crate) fn render(
        &self,
        input: &Decoded<'_>,
        options: &EvalOptions,
        digest: Option<String>,
    ) -> Decision {
        let mut d = self.render_unsettled(input, options);
        // Without a digest, settled as sampled (fail closed) until the
        // caller gives it with `Decision::set_action_digest`.
        d.set_action_digest(digest, options);
        d
    }

    fn render_unsettled(&self, input: &Decoded<'_>, options: &EvalOptions) -> Decision {
        let program = self.program;
        let set = &program.set;
        let slots = &input.slots;
        match self.state {
            State::Decided => {}
            State::Empty | State::ForeignInput => return foreign_input(program),
            State::NoRuleMatched => {
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
        let tier = self.tier_def();
        let mut d = empty_decision(set, self.outcome);
        d.tier = tier.map(|t| TierRef {
            id: t.id,
            name: t.name.clone(),
        });
        for c in self.contributors.iter().filter(|c| c.with_reasons) {
            let name = contributor_name(set, c.rule);
            for r in effect(set, c.rule).map_or(&[][..], |e| &e.reasons) {
                d.reasons.push(Reason {
                    code: reason_code(set, *r).into(),
                    message: reason_message(set, *r).into(),
                    rule: Some(name.to_owned()),
                });
            }
        }

        let names = |ids: &[usize]| -> Vec<String> {
            ids.iter()
                .map(|e| evidence_name(set, *e).to_owned())
                .collect()
        };
        d.evidence = EvidenceStatus {
            required: names(&self.required),
            missing: names(&self.missing),
            on_missing: (!self.required.is_empty())
                .then_some(tier.map_or(Outcome::Block, |t| t.on_missing_evidence)),
        };
        if !self.missing.is_empty() {
            d.reasons.push(Reason {
                code: reason_code(set, builtin::EVIDENCE_MISSING).into(),
                message: format!(
                    "{}: {}",
                    reason_message(set, builtin::EVIDENCE_MISSING),
                    d.evidence.missing.join(", ")
                ),
                rule: None,
            });
        }

        if self.approvals_ran {
            self.render_approvals(&mut d, slots, options);
        }

        d.rules = self
            .contributors
            .iter()
            .map(|c| MatchedRule {
                name: contributor_name(set, c.rule).to_owned(),
                location: match c.rule {
                    Some(r) => program
                        .rule_locations
                        .get(r as usize)
                        .cloned()
                        .unwrap_or_default(),
                    None => program.default_location.clone(),
                },
                determining: c.own == self.outcome,
                outcome: c.own,
                tier: effect(set, c.rule)
                    .and_then(|e| e.tier)
                    .and_then(|t| set.tiers.get(t))
                    .map(|t| t.id),
                reasons: if c.with_reasons {
                    effect(set, c.rule)
                        .map_or(&[][..], |e| &e.reasons)
                        .iter()
                        .map(|r| reason_code(set, *r).to_owned())
                        .collect()
                } else {
                    Vec::new()
                },
            })
            .collect();
        d.sample = self.sample_info(false);
        d
    }

    /// The decision's `sample`, with `sampled` as given.
    pub(super) fn sample_info(&self, sampled: bool) -> Option<SampleInfo> {
        let set = &self.program.set;
        let from = self.sample?;
        let s = super::sample::sample_of(set, self.tier, from)?;
        Some(SampleInfo {
            rate: s.rate.clone(),
            ppm: s.ppm,
            sampled,
            rule: match from {
                super::sample::SampleFrom::Tier => None,
                super::sample::SampleFrom::Rule(r) => Some(contributor_name(set, r).to_owned()),
            },
            tier: self.tier_def().map(|t| t.id),
        })
    }

    fn render_approvals(&self, d: &mut Decision, slots: &[Slot<'_>], options: &EvalOptions) {
        let program = self.program;
        let set = &program.set;
        let resolved: &Resolved = &self.approvals;
        let escalated: Vec<String> = resolved
            .escalated
            .iter()
            .map(|(from, to)| format!("{} -> {}", role_name(set, *from), role_name(set, *to)))
            .collect();
        let text = |ids: &[usize]| -> Vec<String> {
            ids.iter()
                .map(|r| approvals::ineligible_text(program, *r, slots))
                .collect()
        };
        for (code, detail) in [
            (builtin::APPROVER_ESCALATED, escalated),
            (builtin::APPROVER_NOT_ELIGIBLE, text(&resolved.dropped)),
            (builtin::APPROVER_LIMIT_EXCEEDED, text(&resolved.exhausted)),
        ] {
            if !detail.is_empty() {
                d.reasons.push(Reason {
                    code: reason_code(set, code).into(),
                    message: format!("{}: {}", reason_message(set, code), detail.join(", ")),
                    rule: None,
                });
            }
        }
        if !self.has_approvals {
            return;
        }
        let tier = self.tier_def();
        let groups = resolved
            .groups
            .iter()
            .map(|g| ApproverGroup {
                count: g.count,
                roles: resolved
                    .roles_of(g)
                    .iter()
                    .map(|r| ApproverRole {
                        name: role_name(set, r.id).to_owned(),
                        title: set.roles.get(r.id).and_then(|x| x.title.clone()),
                        limit: program.limit_text.get(r.id).cloned().flatten(),
                        escalated_from: r.escalated_from.map(|f| role_name(set, f).to_owned()),
                    })
                    .collect(),
            })
            .collect();
        let forbidden = tier
            .map(|t| {
                t.forbid
                    .iter()
                    .flat_map(|a| identities(set, *a, slots))
                    .collect()
            })
            .unwrap_or_default();
        d.approvals = Some(ApprovalRequirement {
            count: self.approval_count,
            groups,
            forbidden_approvers: forbidden,
            distinct_people: self.outcome == Outcome::Dual
                || tier.is_some_and(|t| t.distinct_people),
            distinct_roles: tier.is_some_and(|t| t.distinct_roles),
        });
        if let Some(t) = tier {
            d.timeout = t.timeout.as_ref().map(|to| TimeoutInfo {
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
            d.conditions = t
                .requirements
                .iter()
                .zip(&self.conditions)
                .map(|(r, holds)| Condition {
                    condition: r.text.clone(),
                    holds: *holds,
                })
                .collect();
        }
    }
}

/// The decision for an input decoded by another policy.
fn foreign_input(program: &Program) -> Decision {
    invalid_input(
        program,
        vec![InputError {
            path: "$".into(),
            message: "the input was decoded for another policy; decode it with this one".into(),
        }],
    )
}

pub(super) fn contributor_name(set: &PolicySet, rule: Option<u32>) -> &str {
    match rule {
        Some(r) => set.rules.get(r as usize).map_or("", |r| r.name.as_str()),
        None => "default",
    }
}

pub(super) fn role_name(set: &PolicySet, id: usize) -> &str {
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

//! `verify`: do the approvals collected for an action let it execute now?
//!
//! The decision is recomputed from the input (never trusted from a caller),
//! then every approval is checked against it: bound to this action's
//! digest, unexpired, from an eligible role within its limit, not from an
//! excluded identity, with a written reason where the outcome needs one.
//! Valid approvals are then matched to the approval groups, honouring
//! distinct people and distinct roles.
//!
//! Identities compare exactly and case-sensitively after trimming
//! surrounding whitespace: ids are opaque, and `Alice` is not `alice`.

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::Policy;
use crate::eval::{ApprovalRequirement, Condition, Decision, EvalOptions, ExpiryInfo, Outcome};
use crate::values::Timestamp;

/// One approval (or rejection) given by a person.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Approval {
    /// Who gave it.
    pub approver: String,
    /// The roles they hold.
    #[serde(default)]
    pub roles: Vec<String>,
    /// `approve` or `reject`.
    pub decision: ApprovalKind,
    /// Their written reason (required for explicit and dual).
    #[serde(default)]
    pub reason: Option<String>,
    /// The digest of the action approved (one action).
    #[serde(default)]
    pub action_digest: Option<String>,
    /// Several actions at once: a batch approval, accepted for `queue` only.
    #[serde(default)]
    pub action_digests: Vec<String>,
    /// When it was given (RFC 3339).
    pub given_at: String,
    /// When it stops being valid (RFC 3339).
    #[serde(default)]
    pub expires_at: Option<String>,
}

/// Approve or reject.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ApprovalKind {
    /// Approves the action.
    Approve,
    /// Rejects it: any valid rejection wins.
    Reject,
}

/// The answer of `verify`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Every requirement is met: the action may execute now.
    Execute,
    /// Something is still missing (see `missing`).
    Pending,
    /// It may not execute (rejected, blocked, a condition fails).
    Denied,
    /// The request timed out; see `on_expiry`. Never a human rejection.
    Expired,
}

/// The result of verifying approvals against a decision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verification {
    /// execute, pending, denied or expired.
    pub verdict: Verdict,
    /// The decision's outcome.
    pub outcome: Outcome,
    /// The action's digest.
    pub action_digest: Option<String>,
    /// Why: one entry per problem found (rejections, ignored approvals, ...).
    pub reasons: Vec<VerifyReason>,
    /// Which approval satisfied which requirement.
    pub satisfied: Vec<Satisfaction>,
    /// What is still needed (empty when executing).
    pub missing: Missing,
    /// When the request expires (or expired).
    pub expires_at: Option<String>,
    /// What happens at expiry.
    pub on_expiry: Option<ExpiryInfo>,
    /// Conditions that must hold at execution, evaluated now.
    pub conditions: Vec<Condition>,
}

/// One verification reason.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyReason {
    /// REJECTED, SELF_APPROVAL, SAME_APPROVER_TWICE, EXCLUDED_IDENTITY,
    /// ROLE_NOT_ELIGIBLE, OVER_APPROVER_LIMIT, DIGEST_MISMATCH,
    /// APPROVAL_EXPIRED, APPROVAL_IN_FUTURE, REASON_REQUIRED,
    /// BATCH_NOT_ALLOWED, REQUEST_TIMED_OUT, CONDITION_NOT_MET, BLOCKED,
    /// EVIDENCE_MISSING.
    pub code: String,
    /// Human message.
    pub message: String,
    /// The approver concerned, when one is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approver: Option<String>,
}

/// An approval counted toward a requirement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Satisfaction {
    /// Index of the approval group (in the decision's `approvals.groups`).
    pub group: usize,
    /// The approver.
    pub approver: String,
    /// The role they approved in.
    pub role: String,
}

/// What is still needed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Missing {
    /// Approvals still needed per group: `{group, roles, needed}`.
    pub groups: Vec<MissingGroup>,
    /// Total approvals still needed.
    pub approvals: u32,
    /// Evidence fields still missing.
    pub evidence: Vec<String>,
}

/// Approvals still needed from one group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissingGroup {
    /// Index of the group.
    pub group: usize,
    /// Roles that can give them.
    pub roles: Vec<String>,
    /// How many more.
    pub needed: u32,
}

/// Options for one verification.
#[derive(Clone, Copy, Debug)]
pub struct VerifyOptions {
    /// The current time.
    pub now: Timestamp,
    /// When the approval request was made; when absent, the earliest
    /// approval's time (a request is never younger than its approvals).
    pub requested_at: Option<Timestamp>,
}

impl Policy {
    /// Verifies collected approvals for an action at `options.now`.
    pub fn verify(
        &self,
        input: &Json,
        approvals: &[Approval],
        options: &VerifyOptions,
    ) -> Verification {
        let decision = self.evaluate_with(
            input,
            &EvalOptions {
                now: options.requested_at.or_else(|| earliest(approvals)),
                strict: false,
            },
        );
        verify_decision(self, input, &decision, approvals, options)
    }
}

fn earliest(approvals: &[Approval]) -> Option<Timestamp> {
    approvals
        .iter()
        .filter_map(|a| Timestamp::parse(a.given_at.trim()))
        .min()
}

fn reason(code: &str, message: impl Into<String>, approver: Option<&str>) -> VerifyReason {
    VerifyReason {
        code: code.into(),
        message: message.into(),
        approver: approver.map(str::to_owned),
    }
}

/// A valid approval, ready to be matched.
struct Valid<'a> {
    approver: &'a str,
    roles: Vec<&'a str>,
}

fn verify_decision(
    policy: &Policy,
    input: &Json,
    d: &Decision,
    approvals: &[Approval],
    options: &VerifyOptions,
) -> Verification {
    let mut v = Verification {
        verdict: Verdict::Pending,
        outcome: d.outcome,
        action_digest: d.action_digest.clone(),
        reasons: Vec::new(),
        satisfied: Vec::new(),
        missing: Missing::default(),
        expires_at: d.timeout.as_ref().and_then(|t| t.expires_at.clone()),
        on_expiry: d.timeout.as_ref().map(|t| t.on_expiry.clone()),
        conditions: d.conditions.clone(),
    };
    match d.outcome {
        Outcome::Block => {
            let why: Vec<&str> = d.reasons.iter().map(|r| r.code.as_str()).collect();
            v.reasons.push(reason(
                "BLOCKED",
                format!(
                    "the decision is block ({}); no approval can change that",
                    why.join(", ")
                ),
                None,
            ));
            v.verdict = Verdict::Denied;
            return v;
        }
        Outcome::Auto => {
            v.verdict = Verdict::Execute;
            return v;
        }
        _ => {}
    }
    let Some(req) = &d.approvals else {
        v.verdict = Verdict::Denied;
        v.reasons.push(reason(
            "BLOCKED",
            "the decision carries no approval requirement",
            None,
        ));
        return v;
    };
    let now = options.now;
    let needs_reason = matches!(d.outcome, Outcome::Explicit | Outcome::Dual);
    let digest = d.action_digest.as_deref().unwrap_or("");
    let mut valid: Vec<Valid<'_>> = Vec::new();
    let mut rejected = false;
    for a in approvals {
        let who = a.approver.trim();
        let bound = a.action_digest.as_deref() == Some(digest)
            || a.action_digests.iter().any(|x| x == digest);
        if !bound {
            v.reasons.push(reason(
                "DIGEST_MISMATCH",
                format!("`{who}`'s approval is for another action or another version of it"),
                Some(who),
            ));
            continue;
        }
        let given = Timestamp::parse(a.given_at.trim());
        match given {
            None => {
                v.reasons.push(reason(
                    "APPROVAL_EXPIRED",
                    format!("`{who}`'s approval has no valid time"),
                    Some(who),
                ));
                continue;
            }
            Some(g) if g > now => {
                v.reasons.push(reason(
                    "APPROVAL_IN_FUTURE",
                    format!("`{who}`'s approval is dated after now"),
                    Some(who),
                ));
                continue;
            }
            _ => {}
        }
        if let Some(exp) = &a.expires_at {
            if Timestamp::parse(exp.trim()).is_none_or(|e| e <= now) {
                v.reasons.push(reason(
                    "APPROVAL_EXPIRED",
                    format!("`{who}`'s approval expired at {exp}"),
                    Some(who),
                ));
                continue;
            }
        }
        if let Some(f) = forbidden(req, who) {
            let code = if f.starts_with("requester") {
                "SELF_APPROVAL"
            } else {
                "EXCLUDED_IDENTITY"
            };
            v.reasons.push(reason(
                code,
                format!("`{who}` may not approve this action (named by `{f}`)"),
                Some(who),
            ));
            continue;
        }
        if a.decision == ApprovalKind::Reject {
            rejected = true;
            let why = a.reason.as_deref().unwrap_or("no reason given");
            v.reasons.push(reason(
                "REJECTED",
                format!("`{who}` rejected the action: {why}"),
                Some(who),
            ));
            continue;
        }
        if needs_reason && a.action_digests.len() > 1 {
            v.reasons.push(reason(
                "BATCH_NOT_ALLOWED",
                format!(
                    "`{who}`'s batch approval does not count: {} needs one approval per action",
                    d.outcome
                ),
                Some(who),
            ));
            continue;
        }
        if needs_reason && a.reason.as_deref().is_none_or(|r| r.trim().is_empty()) {
            v.reasons.push(reason(
                "REASON_REQUIRED",
                format!(
                    "`{who}`'s approval has no written reason; {} needs one",
                    d.outcome
                ),
                Some(who),
            ));
            continue;
        }
        let eligible: Vec<&str> = a
            .roles
            .iter()
            .map(|r| r.trim())
            .filter(|r| {
                req.groups
                    .iter()
                    .any(|g| g.roles.iter().any(|x| x.name == *r))
            })
            .collect();
        if eligible.is_empty() && !req.groups.is_empty() {
            let over: Vec<&str> = a
                .roles
                .iter()
                .map(|r| r.trim())
                .filter(|r| policy.role_exceeded(r, input))
                .collect();
            if over.is_empty() {
                v.reasons.push(reason(
                    "ROLE_NOT_ELIGIBLE",
                    format!(
                        "`{who}` holds none of the roles that can approve ({})",
                        a.roles.join(", ")
                    ),
                    Some(who),
                ));
            } else {
                v.reasons.push(reason(
                    "OVER_APPROVER_LIMIT",
                    format!(
                        "`{who}` approved as {}, whose approval limit this action exceeds",
                        over.join(", ")
                    ),
                    Some(who),
                ));
            }
            continue;
        }
        if req.distinct_people && valid.iter().any(|x| x.approver == who) {
            v.reasons.push(reason(
                "SAME_APPROVER_TWICE",
                format!("`{who}` approved twice; their second approval does not count"),
                Some(who),
            ));
            continue;
        }
        valid.push(Valid {
            approver: who,
            roles: if req.groups.is_empty() {
                a.roles.iter().map(|r| r.trim()).collect()
            } else {
                eligible
            },
        });
    }

    let (satisfied, missing_groups) = assign(req, &valid);
    v.satisfied = satisfied;
    let filled = v.satisfied.len() as u32;
    v.missing.approvals = req.count.saturating_sub(filled);
    v.missing.groups = missing_groups;
    v.missing.evidence = d.evidence.missing.clone();
    if !d.evidence.missing.is_empty() {
        v.reasons.push(reason(
            "EVIDENCE_MISSING",
            format!("evidence still missing: {}", d.evidence.missing.join(", ")),
            None,
        ));
    }

    let requested = options.requested_at.or_else(|| earliest(approvals));
    let timed_out = match (requested, &d.timeout) {
        (Some(r), Some(t)) => {
            let deadline = r.plus_seconds(t.seconds);
            v.expires_at = Some(deadline.to_string());
            now > deadline
        }
        _ => false,
    };
    let failing: Vec<&Condition> = d
        .conditions
        .iter()
        .filter(|c| c.holds == Some(false))
        .collect();
    for c in &failing {
        v.reasons.push(reason(
            "CONDITION_NOT_MET",
            format!("`{}` does not hold now", c.condition),
            None,
        ));
    }

    v.verdict = if rejected || !failing.is_empty() {
        Verdict::Denied
    } else if timed_out {
        let then = match &d.timeout {
            Some(t) => match &t.on_expiry.role {
                Some(role) => format!("{} to {role}", t.on_expiry.action),
                None => t.on_expiry.action.clone(),
            },
            None => String::new(),
        };
        v.reasons.push(reason(
            "REQUEST_TIMED_OUT",
            format!(
                "the request expired at {} before it was fully approved; then: {then}",
                v.expires_at.clone().unwrap_or_default()
            ),
            None,
        ));
        Verdict::Expired
    } else if v.missing.approvals == 0
        && v.missing.groups.is_empty()
        && v.missing.evidence.is_empty()
    {
        Verdict::Execute
    } else {
        Verdict::Pending
    };
    v
}

/// The forbidden attribute that names `who`, if any.
fn forbidden<'r>(req: &'r ApprovalRequirement, who: &str) -> Option<&'r str> {
    req.forbidden_approvers
        .iter()
        .find(|f| f.identity.as_deref().map(str::trim) == Some(who))
        .map(|f| f.attribute.as_str())
}

/// Matches valid approvals to group slots (a small bipartite matching, by
/// backtracking: a handful of approvals at most), honouring distinct roles.
fn assign(
    req: &ApprovalRequirement,
    valid: &[Valid<'_>],
) -> (Vec<Satisfaction>, Vec<MissingGroup>) {
    // Slots: one per needed approval of each group; with no groups, `count`
    // slots any valid approval fills.
    let mut slots: Vec<(usize, Vec<&str>)> = Vec::new();
    for (i, g) in req.groups.iter().enumerate() {
        for _ in 0..g.count {
            slots.push((i, g.roles.iter().map(|r| r.name.as_str()).collect()));
        }
    }
    let open_group = req.groups.is_empty();
    if open_group {
        for _ in 0..req.count {
            slots.push((0, Vec::new()));
        }
    }
    let mut best: Vec<Option<(usize, String)>> = vec![None; slots.len()];
    let mut current: Vec<Option<(usize, String)>> = vec![None; slots.len()];
    let mut used = vec![false; valid.len()];
    let mut best_count = 0;
    search(
        &slots,
        valid,
        req.distinct_roles,
        open_group,
        0,
        &mut used,
        &mut current,
        &mut best,
        &mut best_count,
    );
    let mut satisfied = Vec::new();
    let mut missing: Vec<MissingGroup> = Vec::new();
    for (slot, filled) in slots.iter().zip(&best) {
        match filled {
            Some((a, role)) => satisfied.push(Satisfaction {
                group: slot.0,
                approver: valid
                    .get(*a)
                    .map(|x| x.approver.to_owned())
                    .unwrap_or_default(),
                role: role.clone(),
            }),
            None => match missing.iter_mut().find(|m| m.group == slot.0) {
                Some(m) => m.needed += 1,
                None => missing.push(MissingGroup {
                    group: slot.0,
                    roles: slot.1.iter().map(|r| (*r).to_owned()).collect(),
                    needed: 1,
                }),
            },
        }
    }
    (satisfied, missing)
}

#[expect(
    clippy::too_many_arguments,
    reason = "a recursive search threads its state"
)]
fn search(
    slots: &[(usize, Vec<&str>)],
    valid: &[Valid<'_>],
    distinct_roles: bool,
    open_group: bool,
    at: usize,
    used: &mut [bool],
    current: &mut [Option<(usize, String)>],
    best: &mut [Option<(usize, String)>],
    best_count: &mut usize,
) {
    let filled = current.iter().filter(|c| c.is_some()).count();
    if filled > *best_count {
        *best_count = filled;
        best.clone_from_slice(current);
    }
    if at >= slots.len() || *best_count == slots.len() {
        return;
    }
    let Some((_, roles)) = slots.get(at) else {
        return;
    };
    for (i, a) in valid.iter().enumerate() {
        if used.get(i).copied().unwrap_or(true) {
            continue;
        }
        let candidates: Vec<&str> = if open_group {
            vec![a.roles.first().copied().unwrap_or("")]
        } else {
            a.roles
                .iter()
                .copied()
                .filter(|r| roles.contains(r))
                .collect()
        };
        for role in candidates {
            if distinct_roles && current.iter().flatten().any(|(_, r)| r == role) {
                continue;
            }
            if let (Some(u), Some(c)) = (used.get_mut(i), current.get_mut(at)) {
                *u = true;
                *c = Some((i, role.to_owned()));
            }
            search(
                slots,
                valid,
                distinct_roles,
                open_group,
                at + 1,
                used,
                current,
                best,
                best_count,
            );
            if let (Some(u), Some(c)) = (used.get_mut(i), current.get_mut(at)) {
                *u = false;
                *c = None;
            }
        }
    }
    // leave this slot empty and try the rest
    search(
        slots,
        valid,
        distinct_roles,
        open_group,
        at + 1,
        used,
        current,
        best,
        best_count,
    );
}

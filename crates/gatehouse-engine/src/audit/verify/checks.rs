//! The checks one approval record must pass before it can count.
//!
//! Order matters only for which reason a bad record gets; a record either
//! passes every check or does not count at all. Identities are compared
//! after `identity::normalize`, so a look-alike of a forbidden identity is
//! that identity.

use std::collections::HashSet;

use super::matching::{Counted, eligible_roles};
use super::{Approval, ApprovalKind, VerifyReason, reason};
use crate::Policy;
use crate::eval::{ApprovalRequirement, Outcome};
use crate::identity;
use crate::values::Timestamp;

/// What the checks need to know about this verification.
pub(super) struct Context<'a> {
    pub(super) policy: &'a Policy,
    pub(super) input: &'a serde_json::Value,
    pub(super) outcome: Outcome,
    pub(super) req: &'a ApprovalRequirement,
    /// The action's digest.
    pub(super) digest: &'a str,
    pub(super) now: Timestamp,
    /// When the request was made: approvals before it do not count.
    pub(super) requested: Option<Timestamp>,
    /// `requested + timeout`: approvals at or after it do not count.
    pub(super) deadline: Option<Timestamp>,
}

/// The records that count (in approvals order), and whether any valid
/// rejection was found.
pub(super) struct Checked<'a> {
    pub(super) counted: Vec<Counted<'a>>,
    pub(super) rejected: bool,
}

/// Checks every record, pushing one reason per record that does not count.
pub(super) fn check<'a>(
    cx: &Context<'_>,
    approvals: &'a [Approval],
    reasons: &mut Vec<VerifyReason>,
) -> Checked<'a> {
    let forbidden: Vec<(String, &str)> = cx
        .req
        .forbidden_approvers
        .iter()
        .filter_map(|f| {
            let id = identity::normalize(f.identity.as_deref()?);
            // A blank forbidden identity names nobody (an absent attribute
            // is listed with identity null, and is no one either).
            (!id.is_empty()).then_some((id, f.attribute.as_str()))
        })
        .collect();
    let mut seen: HashSet<String> = HashSet::new();
    let mut out = Checked {
        counted: Vec::new(),
        rejected: false,
    };
    for a in approvals {
        let who = a.approver.trim();
        let person = identity::normalize(who);
        if let Some(r) = refusal(cx, a, who, &person, &forbidden) {
            reasons.push(r);
            continue;
        }
        if a.decision == ApprovalKind::Reject {
            // A veto is an approver's power: only someone who could approve
            // (an eligible role, within its limit) can reject. Anyone else in
            // the trust store, or any user of the identity provider, would
            // otherwise deny every action.
            if eligible_roles(cx.req, &a.roles).is_empty() && !cx.req.groups.is_empty() {
                reasons.push(ineligible(cx, a, who));
                continue;
            }
            out.rejected = true;
            let why = a
                .reason
                .as_deref()
                .filter(|r| !identity::is_blank(r))
                .unwrap_or("no reason given");
            reasons.push(reason(
                "REJECTED",
                format!("`{who}` rejected the action: {why}"),
                Some(who),
            ));
            continue;
        }
        if let Some(r) = not_counting(cx, a, who) {
            reasons.push(r);
            continue;
        }
        let roles = eligible_roles(cx.req, &a.roles);
        if roles.is_empty() && !cx.req.groups.is_empty() {
            reasons.push(ineligible(cx, a, who));
            continue;
        }
        if person.is_empty() {
            reasons.push(reason(
                "APPROVER_BLANK",
                "an approval names no approver (the id is blank or invisible)",
                None,
            ));
            continue;
        }
        if !seen.insert(person.clone()) {
            reasons.push(reason(
                "SAME_APPROVER_TWICE",
                format!("`{who}` already approved; all their records count as one person"),
                Some(who),
            ));
        }
        out.counted.push(Counted {
            person,
            approver: who,
            roles,
        });
    }
    out
}

/// Why a record, approve or reject, is not about this request at all:
/// malformed digests, another action, a time outside the request, expired,
/// or from a forbidden identity.
fn refusal(
    cx: &Context<'_>,
    a: &Approval,
    who: &str,
    person: &str,
    forbidden: &[(String, &str)],
) -> Option<VerifyReason> {
    if a.action_digest.is_some() && !a.action_digests.is_empty() {
        return Some(reason(
            "CONFLICTING_DIGESTS",
            format!(
                "`{who}`'s approval names actions both by `action_digest` and by `action_digests`; \
                 it must name them one way"
            ),
            Some(who),
        ));
    }
    let bound = a.action_digest.as_deref() == Some(cx.digest)
        || a.action_digests.iter().any(|x| x == cx.digest);
    if !bound {
        return Some(reason(
            "DIGEST_MISMATCH",
            format!("`{who}`'s approval is for another action or another version of it"),
            Some(who),
        ));
    }
    let Some(given) = Timestamp::parse(a.given_at.trim()) else {
        return Some(reason(
            "APPROVAL_EXPIRED",
            format!("`{who}`'s approval has no valid time"),
            Some(who),
        ));
    };
    if given > cx.now {
        return Some(reason(
            "APPROVAL_IN_FUTURE",
            format!("`{who}`'s approval is dated after now"),
            Some(who),
        ));
    }
    if let Some(requested) = cx.requested.filter(|r| given < *r) {
        return Some(reason(
            "APPROVAL_BEFORE_REQUEST",
            format!(
                "`{who}`'s approval was given at {given}, before the request was made at {requested}"
            ),
            Some(who),
        ));
    }
    if let Some(exp) = &a.expires_at
        && Timestamp::parse(exp.trim()).is_none_or(|e| e <= cx.now)
    {
        return Some(reason(
            "APPROVAL_EXPIRED",
            format!("`{who}`'s approval expired at {exp}"),
            Some(who),
        ));
    }
    if let Some((_, attribute)) = forbidden.iter().find(|(id, _)| id == person) {
        let code = if attribute.starts_with("requester") {
            "SELF_APPROVAL"
        } else {
            "EXCLUDED_IDENTITY"
        };
        return Some(reason(
            code,
            format!("`{who}` may not approve this action (named by `{attribute}`)"),
            Some(who),
        ));
    }
    None
}

/// Why an approval about this request still does not count: a batch where
/// one approval per action is needed, no reason where one is needed, or
/// given at or after the request's deadline.
fn not_counting(cx: &Context<'_>, a: &Approval, who: &str) -> Option<VerifyReason> {
    if !a.action_digests.is_empty() && cx.outcome != Outcome::Queue {
        return Some(reason(
            "BATCH_NOT_ALLOWED",
            format!(
                "`{who}`'s batch approval (`action_digests`) does not count: {} needs one \
                 approval per action, by `action_digest`",
                cx.outcome
            ),
            Some(who),
        ));
    }
    let needs_reason = matches!(cx.outcome, Outcome::Explicit | Outcome::Dual);
    if needs_reason && a.reason.as_deref().is_none_or(identity::is_blank) {
        return Some(reason(
            "REASON_REQUIRED",
            format!(
                "`{who}`'s approval has no written reason; {} needs one",
                cx.outcome
            ),
            Some(who),
        ));
    }
    let given = Timestamp::parse(a.given_at.trim());
    if let (Some(deadline), Some(given)) = (cx.deadline, given)
        && given >= deadline
    {
        return Some(reason(
            "APPROVAL_AFTER_DEADLINE",
            format!(
                "`{who}`'s approval was given at {given}, when the request had already \
                     timed out (at {deadline})"
            ),
            Some(who),
        ));
    }
    None
}

/// ROLE_NOT_ELIGIBLE or OVER_APPROVER_LIMIT for a record none of whose
/// roles can approve.
fn ineligible(cx: &Context<'_>, a: &Approval, who: &str) -> VerifyReason {
    let over: Vec<&str> = a
        .roles
        .iter()
        .map(|r| r.trim())
        .filter(|r| cx.policy.role_exceeded(r, cx.input))
        .collect();
    if over.is_empty() {
        reason(
            "ROLE_NOT_ELIGIBLE",
            format!(
                "`{who}` holds none of the roles that can approve ({})",
                a.roles.join(", ")
            ),
            Some(who),
        )
    } else {
        reason(
            "OVER_APPROVER_LIMIT",
            format!(
                "`{who}` approved as {}, whose approval limit this action exceeds",
                over.join(", ")
            ),
            Some(who),
        )
    }
}

//! `verify`: do the approvals collected for an action let it execute now?
//!
//! The decision is recomputed from the input (never trusted from a caller),
//! then every approval is checked against it: bound to this action's
//! digest, unexpired, from an eligible role within its limit, not from an
//! excluded identity, with a written reason where the outcome needs one.
//! Valid approvals are then matched to the approval groups, honouring
//! distinct people and distinct roles.
//!
//! Identities compare as people do: after `crate::identity::normalize`
//! (invisible characters removed, NFKC, case folded, trimmed), so `Alice`,
//! `alice` and `ａlice` are one person. The unit of every count is the
//! person, never the record (see `matching`).
//!
//! Modules: `checks` (one record), `matching` (records to groups, as a
//! maximum flow), `flow` (Dinic's algorithm).

mod checks;
mod flow;
mod matching;

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
#[non_exhaustive]
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
#[non_exhaustive]
pub struct VerifyReason {
    /// REJECTED, SELF_APPROVAL, SAME_APPROVER_TWICE, EXCLUDED_IDENTITY,
    /// ROLE_NOT_ELIGIBLE, OVER_APPROVER_LIMIT, APPROVER_BLANK,
    /// DIGEST_MISMATCH, CONFLICTING_DIGESTS, APPROVAL_EXPIRED,
    /// APPROVAL_IN_FUTURE, APPROVAL_BEFORE_REQUEST, APPROVAL_AFTER_DEADLINE,
    /// REASON_REQUIRED, BATCH_NOT_ALLOWED, REQUEST_IN_FUTURE,
    /// REQUEST_TIMED_OUT, TOO_MANY_APPROVALS, CONDITION_NOT_MET, BLOCKED,
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
#[non_exhaustive]
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
#[non_exhaustive]
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

/// Options for one verification: [`VerifyOptions::new`] and the `with_`
/// methods, so that options added later break no caller.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct VerifyOptions {
    /// The current time.
    pub now: Timestamp,
    /// When the approval request was made; when absent, the earliest
    /// approval's time (a request is never younger than its approvals).
    /// Approvals given before it never count, and a time after `now` is
    /// refused, so passing it can only make the check stricter.
    pub requested_at: Option<Timestamp>,
    /// The end of the wait for approvals, when the caller keeps its own:
    /// a service that sends a request back to pending (an approval expired,
    /// the policy became stricter) opens a new wait with a new deadline.
    /// When absent the deadline is `requested_at + timeout`.
    pub deadline: Option<Timestamp>,
}

impl VerifyOptions {
    /// Verification at `now`, with the request time taken from the
    /// approvals (the earliest one bound to the action).
    pub fn new(now: Timestamp) -> VerifyOptions {
        VerifyOptions {
            now,
            requested_at: None,
            deadline: None,
        }
    }

    /// The end of the wait for approvals, replacing `requested_at +
    /// timeout` (a `Timestamp` or an `Option`; `None` keeps the computed
    /// one). Only a service that holds the request and restarted its wait
    /// should set it.
    #[must_use]
    pub fn with_deadline(mut self, at: impl Into<Option<Timestamp>>) -> VerifyOptions {
        self.deadline = at.into();
        self
    }

    /// When the approval request was made (a `Timestamp` or an `Option`).
    #[must_use]
    pub fn with_requested_at(mut self, at: impl Into<Option<Timestamp>>) -> VerifyOptions {
        self.requested_at = at.into();
        self
    }
}

/// The most approval records one verification reads. Past it the
/// verification is refused (`denied`, `TOO_MANY_APPROVALS`) without reading
/// or matching any record: no decision asks for anywhere near this many,
/// and the cap bounds the time and memory one call can take.
pub const MAX_APPROVALS: usize = 100_000;

impl Policy {
    /// Verifies collected approvals for an action at `options.now`.
    ///
    /// The decision is recomputed from `input` at the request time. Then:
    ///
    /// - An approval counts only if it names this action's digest exactly
    ///   once (`action_digest`; `action_digests`, a batch, only when the
    ///   outcome is `queue`), was given at or after the request and not after
    ///   `now`, has not expired (`expires_at > now`), is not from a forbidden
    ///   identity, has a non-blank reason where the outcome needs one, and
    ///   comes from an eligible role. Any valid rejection denies.
    /// - Counts mean people: records are folded by normalized identity
    ///   (`crate::identity::normalize`); a person counts at most once toward
    ///   a group, and at most once in total with distinct people (always for
    ///   `dual`). The matching is a maximum flow, polynomial in the input.
    /// - **The request timeout bounds the wait for approvals.** The deadline
    ///   is `requested_at + timeout` (`requested_at` defaults to the earliest
    ///   approval's time), or [`VerifyOptions::deadline`] when set. An approval counts toward it only if given
    ///   strictly before it: `given_at < deadline` counts, `given_at ==
    ///   deadline` is late (`APPROVAL_AFTER_DEADLINE`). If the approvals given
    ///   before the deadline meet every requirement, the verdict is `execute`
    ///   even when `now` is past the deadline; from then on execution is
    ///   bounded by each approval's own `expires_at`. Only when they do not
    ///   and `now >= deadline` is the verdict `expired` (`REQUEST_TIMED_OUT`).
    /// - More than [`MAX_APPROVALS`] records, or a `requested_at` after
    ///   `now`, is refused (`denied`).
    pub fn verify(
        &self,
        input: &Json,
        approvals: &[Approval],
        options: &VerifyOptions,
    ) -> Verification {
        match refuse_up_front(approvals.len(), options) {
            Some(refusal) => self.refused_up_front(input, refusal, options),
            None => {
                let decision = self.evaluate_with(
                    input,
                    &EvalOptions::default().with_now(options.requested_at.or_else(|| {
                        let digest = crate::audit::digest::action_digest(input);
                        earliest(approvals, Some(&digest))
                    })),
                );
                verify_decision(self, input, &decision, approvals, options)
            }
        }
    }

    /// The verification refused before any approval is read (too many
    /// records, a request time after now): `denied`, with the outcome and
    /// digest still reported. `count` is the number of records given.
    /// `trust::verify_signed` calls this before authenticating anything.
    pub(crate) fn refuse_before_reading(
        &self,
        input: &Json,
        count: usize,
        options: &VerifyOptions,
    ) -> Option<Verification> {
        refuse_up_front(count, options).map(|r| self.refused_up_front(input, r, options))
    }

    fn refused_up_front(
        &self,
        input: &Json,
        refusal: VerifyReason,
        options: &VerifyOptions,
    ) -> Verification {
        let d = self.evaluate_with(
            input,
            &EvalOptions::default().with_now(options.requested_at),
        );
        Verification {
            verdict: Verdict::Denied,
            outcome: d.outcome,
            action_digest: d.action_digest,
            reasons: vec![refusal],
            satisfied: Vec::new(),
            missing: Missing::default(),
            expires_at: None,
            on_expiry: None,
            conditions: d.conditions,
        }
    }
}

/// The refusals that come before reading any approval or input.
fn refuse_up_front(count: usize, options: &VerifyOptions) -> Option<VerifyReason> {
    let refusal = if count > MAX_APPROVALS {
        reason(
            "TOO_MANY_APPROVALS",
            format!(
                "{count} approval records were given; one verification reads at most {MAX_APPROVALS}"
            ),
            None,
        )
    } else if let Some(r) = options.requested_at.filter(|r| *r > options.now) {
        reason(
            "REQUEST_IN_FUTURE",
            format!(
                "the request time {r} is after now ({}); a request cannot be made later than it is checked",
                options.now
            ),
            None,
        )
    } else {
        return None;
    };
    Some(refusal)
}

/// The earliest time among the approvals about this action (bound to its
/// digest): when no request time is given, the request is as old as that.
/// Approvals for other actions are ignored here too, or an unrelated old
/// approval would move the deadline and expire a request approved in time.
fn earliest(approvals: &[Approval], digest: Option<&str>) -> Option<Timestamp> {
    let digest = digest?;
    approvals
        .iter()
        .filter(|a| {
            a.action_digest.as_deref() == Some(digest)
                || a.action_digests.iter().any(|d| d == digest)
        })
        .filter_map(|a| Timestamp::parse(a.given_at.trim()))
        .min()
}

pub(crate) fn reason(
    code: &str,
    message: impl Into<String>,
    approver: Option<&str>,
) -> VerifyReason {
    VerifyReason {
        code: code.into(),
        message: message.into(),
        approver: approver.map(str::to_owned),
    }
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
    // `dual` always means distinct people, whatever the decision says.
    let mut req = req.clone();
    req.distinct_people |= d.outcome == Outcome::Dual;
    let now = options.now;
    let requested = options
        .requested_at
        .or_else(|| earliest(approvals, d.action_digest.as_deref()));
    let deadline = match (options.deadline, requested, &d.timeout) {
        (Some(set), _, Some(_)) => Some(set),
        (None, Some(r), Some(t)) => Some(r.plus_seconds(t.seconds)),
        _ => None,
    };
    if let Some(deadline) = deadline {
        v.expires_at = Some(deadline.to_string());
    }
    let cx = checks::Context {
        policy,
        input,
        outcome: d.outcome,
        req: &req,
        digest: d.action_digest.as_deref().unwrap_or(""),
        now,
        requested,
        deadline,
    };
    let checked = checks::check(&cx, approvals, &mut v.reasons);

    let (satisfied, missing_groups) = matching::assign(&req, &checked.counted);
    v.satisfied = satisfied;
    let filled = u32::try_from(v.satisfied.len()).unwrap_or(u32::MAX);
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
    // Complete means complete by the deadline: only approvals given before
    // it were counted above.
    let complete =
        v.missing.approvals == 0 && v.missing.groups.is_empty() && v.missing.evidence.is_empty();
    v.verdict = if checked.rejected || !failing.is_empty() {
        Verdict::Denied
    } else if complete {
        Verdict::Execute
    } else if let Some(deadline) = deadline.filter(|d| now >= *d) {
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
                "the request timed out at {deadline}: what was given before then does not \
                 meet the requirements (see `missing`); then: {then}"
            ),
            None,
        ));
        Verdict::Expired
    } else {
        Verdict::Pending
    };
    v
}

/// Not an API: the matcher on its own, for the property tests that compare
/// it with a reference (`tests/verify_matching.rs`). `approvers` are
/// `(id, roles)` records that passed every check, in order.
#[doc(hidden)]
pub fn match_for_tests(
    req: &ApprovalRequirement,
    approvers: &[(String, Vec<String>)],
) -> (Vec<Satisfaction>, Vec<MissingGroup>) {
    let counted: Vec<matching::Counted<'_>> = approvers
        .iter()
        .map(|(id, roles)| matching::Counted {
            person: crate::identity::normalize(id),
            approver: id.trim(),
            roles: matching::eligible_roles(req, roles),
        })
        .collect();
    matching::assign(req, &counted)
}

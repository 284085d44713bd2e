//! Reviews: approve, reject or request changes, judged by the engine under
//! the request's own policy at the moment the review is given (roles,
//! limits, separation of duties, reasons), and the gate-signed credential
//! each accepted review is issued as.

use gatehouse::audit::verify::{Approval, ApprovalKind, Verdict};
use gatehouse::trust::jws;
use gatehouse::values::Timestamp;
use gatehouse::{EvalOptions, Policy};
use serde_json::{Value as Json, json};

use super::Gate;
use super::records::{Actor, transition, view};
use super::requests::{
    ApprovalBody, MAX_REASON_BYTES, ReviewDecision, deadline_passed, fingerprint, identity_matches,
    live_approvals, read_body, unmet_requirements, verify_options,
};
use crate::auth::{Principal, Scope};
use crate::error::{FieldError, GateError};
use crate::lifecycle::{Event, State, next};
use crate::store::{Change, IdempotencyKey, IdempotentAnswer, RequestRow};

/// A review's judgement (see `Gate::judge_review`).
struct Judged {
    event: Event,
    to: State,
    approval: Approval,
    reason: Option<String>,
}

impl Gate {
    /// `POST /v1/requests/{id}/decisions`: approve, reject or request
    /// changes, as the authenticated reviewer.
    pub async fn review(
        &self,
        principal: &Principal,
        id: &str,
        text: &str,
        key: Option<IdempotencyKey>,
    ) -> Result<(u16, String), GateError> {
        principal.require(&[Scope::Approve])?;
        let body: ApprovalBody = read_body(text)?;
        if let Some(reason) = &body.reason
            && reason.len() > MAX_REASON_BYTES
        {
            return Err(GateError::invalid_body(vec![FieldError {
                path: "$.reason".into(),
                detail: format!("longer than {MAX_REASON_BYTES} bytes"),
            }]));
        }
        let print = fingerprint("POST", &format!("/v1/requests/{id}/decisions"), text);
        let fp = print.clone();
        self.idempotent_or(key.as_ref(), &print, async || {
            let current = self
                .store
                .get(id)
                .await?
                .ok_or_else(|| GateError::not_found(id))?;
            let policy = self.policy_by_digest(&current.policy_digest).await?;
            let now = self.now();
            let mut out: Option<String> = None;
            let row = self
                .store
                .update(id, &mut |row| {
                    if row.policy_digest != policy.digest() {
                        return Err(GateError::conflict(
                            "CONCURRENT_CHANGE",
                            "the request changed policy while this approval was read; retry",
                        ));
                    }
                    let version = row.version;
                    let mut change = self.apply_review(row, principal, &body, &policy, now)?;
                    // The store stamps the next version on commit; the
                    // answer (kept for idempotent replays too) shows it, so
                    // a waiter's `since_version` from it waits for the next
                    // change rather than returning at once.
                    change.row.version = version + 1;
                    let body_text = view(&change.row).to_string();
                    change.remember = key.clone().map(|k| {
                        (
                            k,
                            IdempotentAnswer {
                                fingerprint: fp.clone(),
                                status: 200,
                                body: body_text.clone(),
                            },
                        )
                    });
                    out = Some(body_text);
                    Ok(change)
                })
                .await?;
            self.committed(&row, now);
            Ok((200, out.unwrap_or_else(|| view(&row).to_string())))
        })
        .await
    }

    /// Whether `principal` may approve `row` now: the judgement an approval
    /// would get (state, deadline, separation of duties, roles, limits,
    /// an earlier review of theirs), made without writing anything. The
    /// console's queue lists only requests this accepts. `Err` is the
    /// refusal the approval would get.
    pub async fn may_approve(
        &self,
        principal: &Principal,
        row: &RequestRow,
    ) -> Result<(), GateError> {
        self.may_review(principal, row, ReviewDecision::Approve)
            .await
    }

    /// Whether `principal` may give this review of `row` now (the same
    /// judgement as [`Gate::may_approve`], for a rejection or a change
    /// request too: someone may be refused an approval, for missing
    /// evidence or a condition that does not hold, and still reject).
    pub async fn may_review(
        &self,
        principal: &Principal,
        row: &RequestRow,
        decision: ReviewDecision,
    ) -> Result<(), GateError> {
        let policy = self.policy_by_digest(&row.policy_digest).await?;
        let preview = ApprovalBody {
            decision,
            // Any reason: whether one is needed is the form's business;
            // this asks only whether this person may approve at all.
            reason: Some("(preview)".into()),
            action_digest: None,
        };
        self.judge_review(row, principal, &preview, &policy, self.now())
            .map(|_| ())
    }

    /// The review's effect on the request, inside the transaction.
    pub(super) fn apply_review(
        &self,
        mut row: RequestRow,
        principal: &Principal,
        body: &ApprovalBody,
        policy: &Policy,
        now: Timestamp,
    ) -> Result<Change, GateError> {
        let from = row.state;
        let Judged {
            event,
            to,
            approval,
            reason,
        } = self.judge_review(&row, principal, body, policy, now)?;
        let credential = self.credential(&approval, &row)?;
        row.approvals.push(json!({
            "approval": approval,
            "review": match body.decision {
                ReviewDecision::Approve => "approve",
                ReviewDecision::Reject => "reject",
                ReviewDecision::RequestChanges => "request_changes",
            },
            "method": principal.method,
            "credential": credential,
        }));
        row.state = to;
        row.updated_at = now.to_string();
        if to != State::Pending {
            row.roles.clear();
        }
        let detail = json!({"approver": principal.id, "roles": principal.roles, "review": approval.decision});
        let events = vec![transition(
            &row,
            (event, from, to),
            &Actor::Caller(principal),
            reason.as_deref(),
            detail,
            now,
        )];
        let notify = self.notify_for(&row, event, from, now);
        Ok(Change {
            row,
            events,
            remember: None,
            notify,
        })
    }

    /// The judgement of a review, without its effect: the event and the
    /// state it leads to, the engine's approval record, the reason kept.
    /// [`Gate::apply_review`] applies it; [`Gate::may_approve`] asks it
    /// alone (no credential is signed for a preview).
    fn judge_review(
        &self,
        row: &RequestRow,
        principal: &Principal,
        body: &ApprovalBody,
        policy: &Policy,
        now: Timestamp,
    ) -> Result<Judged, GateError> {
        let from = row.state;
        // Any review is legal only while pending; the table says so.
        next(from, Event::Approve)?;
        if let Some(seen) = &body.action_digest
            && *seen != row.action_digest
        {
            return Err(GateError::conflict(
                "DIGEST_MISMATCH",
                "the reviewer saw another action than the one held",
            ));
        }
        if deadline_passed(row, now) {
            return Err(GateError::conflict_in(
                "REQUEST_TIMED_OUT",
                "the request's deadline has passed; its on-expiry action applies",
                from.as_str(),
            ));
        }
        if identity_matches(&principal.id, &row.requester) {
            return Err(GateError::forbidden(
                "SELF_APPROVAL",
                "the requester cannot review their own request",
            ));
        }
        let reason = body
            .reason
            .clone()
            .filter(|r| !gatehouse::identity::is_blank(r));
        let kind = match body.decision {
            ReviewDecision::Approve => ApprovalKind::Approve,
            ReviewDecision::Reject | ReviewDecision::RequestChanges => ApprovalKind::Reject,
        };
        if body.decision != ReviewDecision::Approve && reason.is_none() {
            return Err(reason_required(
                "a rejection or a change request needs a reason",
            ));
        }
        let approval = Approval {
            approver: principal.id.clone(),
            roles: principal.roles.clone(),
            decision: kind,
            reason: reason.clone(),
            action_digest: Some(row.action_digest.clone()),
            action_digests: Vec::new(),
            given_at: now.to_string(),
            expires_at: Some(
                now.plus_seconds(self.config.approvals.valid_for_seconds)
                    .to_string(),
            ),
        };
        // An approval past its own validity is history, not a vote: its
        // giver may approve again (after a claim found it expired).
        let prior = live_approvals(row, now);
        if prior
            .iter()
            .any(|a| identity_matches(&a.approver, &principal.id))
        {
            return Err(GateError::conflict(
                "SAME_APPROVER_TWICE",
                "this person has already reviewed the request",
            ));
        }
        let event = match &row.escalated_to {
            Some(role) => self.judge_escalated(
                row,
                policy,
                principal,
                role,
                body.decision,
                reason.as_deref(),
            )?,
            None => self.judge(row, policy, &prior, &approval, body.decision, now)?,
        };
        let to = next(from, event)?;
        Ok(Judged {
            event,
            to,
            approval,
            reason,
        })
    }

    /// Judges a review of a request under its own policy: refuses an
    /// approval the engine would not count (with the engine's code), and
    /// gives the event.
    fn judge(
        &self,
        row: &RequestRow,
        policy: &Policy,
        prior: &[Approval],
        approval: &Approval,
        decision: ReviewDecision,
        now: Timestamp,
    ) -> Result<Event, GateError> {
        let options = verify_options(row, now);
        // The new review alone first: everything the engine says about this
        // reviewer (role, limit, separation of duties, reason) refuses it.
        let alone = policy.verify(&row.input, std::slice::from_ref(approval), &options);
        if let Some(r) = alone.reasons.iter().find(|r| {
            r.code != "REJECTED"
                && r.approver
                    .as_deref()
                    .is_some_and(|a| identity_matches(a, &approval.approver))
        }) {
            let code = stable_code(&r.code);
            if code == "REASON_REQUIRED" {
                return Err(reason_required(&r.message));
            }
            return Err(GateError::new(403, code, r.message.clone()));
        }
        if decision == ReviewDecision::RequestChanges {
            return Ok(Event::RequestChanges);
        }
        let mut all = prior.to_vec();
        all.push(approval.clone());
        let v = policy.verify(&row.input, &all, &options);
        Ok(match v.verdict {
            Verdict::Execute => Event::ApproveComplete,
            Verdict::Pending => Event::Approve,
            Verdict::Denied if v.reasons.iter().any(|r| r.code == "REJECTED") => Event::Reject,
            Verdict::Denied | Verdict::Expired => {
                let code = v.reasons.first().map_or("DENIED", |r| stable_code(&r.code));
                return Err(GateError::conflict(
                    code,
                    v.reasons.first().map_or_else(
                        || "the approvals are refused".to_owned(),
                        |r| r.message.clone(),
                    ),
                ));
            }
        })
    }

    /// Judges a review of an escalated request: the escalation role
    /// decides alone; forbidden approvers stay forbidden, and an approval
    /// stays within what the policy lets anyone approve (the role's own
    /// limit, the tier's conditions and evidence).
    fn judge_escalated(
        &self,
        row: &RequestRow,
        policy: &Policy,
        principal: &Principal,
        role: &str,
        decision: ReviewDecision,
        reason: Option<&str>,
    ) -> Result<Event, GateError> {
        if !principal.roles.iter().any(|r| r == role) {
            return Err(GateError::forbidden(
                "ROLE_NOT_ELIGIBLE",
                format!(
                    "the request was escalated to `{role}`, a role this reviewer does not hold"
                ),
            ));
        }
        let forbidden = row
            .decision
            .pointer("/approvals/forbidden_approvers")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
            .filter_map(|f| f.get("identity").and_then(Json::as_str));
        for identity in forbidden {
            if identity_matches(identity, &principal.id) {
                return Err(GateError::forbidden(
                    "EXCLUDED_IDENTITY",
                    "this person may not approve this action (separation of duties)",
                ));
            }
        }
        if reason.is_none() {
            return Err(reason_required("an escalated request needs a reason"));
        }
        if decision == ReviewDecision::Approve {
            // Escalation changes who decides, never what may be approved: a
            // role whose limit the action exceeds cannot approve it here
            // either (`gatehouse check` warns of such an `escalate to`),
            // and a failing `require` or missing evidence refuses every
            // approval, as the engine refuses it on the regular path.
            if policy.role_exceeded(role, &row.input) {
                return Err(GateError::forbidden(
                    "OVER_APPROVER_LIMIT",
                    format!("this action exceeds the approval limit of `{role}`"),
                ));
            }
            let at = Timestamp::parse(&row.created_at);
            let decided = policy.evaluate_with(&row.input, &EvalOptions::default().with_now(at));
            if let Some(e) = unmet_requirements(&decided, State::Pending) {
                return Err(e);
            }
        }
        Ok(match decision {
            ReviewDecision::Approve => Event::ApproveComplete,
            ReviewDecision::Reject => Event::Reject,
            ReviewDecision::RequestChanges => Event::RequestChanges,
        })
    }

    /// The signed approval credential for an accepted review: a compact
    /// JWS over the engine's approval payload, signed with the gate's key.
    fn credential(&self, approval: &Approval, row: &RequestRow) -> Result<String, GateError> {
        let payload = jws::ApprovalPayload {
            approver: approval.approver.clone(),
            decision: approval.decision,
            reason: approval.reason.clone(),
            action_digest: Some(row.action_digest.clone()),
            action_digests: None,
            policy_digest: row.policy_digest.clone(),
            given_at: approval.given_at.clone(),
            expires_at: approval.expires_at.clone().unwrap_or_default(),
        };
        jws::sign(&payload, &self.signing_key).map_err(|e| GateError::internal(e.to_string()))
    }
}

/// 422 `REASON_REQUIRED`, located at `$.reason`: the one answer
/// docs/service.md gives for every review that needs a reason and has none
/// (a blank one is none), whether the engine (an explicit or dual
/// approval) or the gate (a rejection, a change request, an escalated
/// review) requires it.
pub(super) fn reason_required(detail: &str) -> GateError {
    let mut e = GateError::invalid_body(vec![FieldError {
        path: "$.reason".into(),
        detail: detail.to_owned(),
    }]);
    e.code = "REASON_REQUIRED";
    e
}

/// The engine's verification codes are `String`s; the API's are
/// `&'static str`. Unknown codes (none today) read as `DENIED`.
pub(super) fn stable_code(code: &str) -> &'static str {
    const CODES: &[&str] = &[
        "REJECTED",
        "SELF_APPROVAL",
        "SAME_APPROVER_TWICE",
        "EXCLUDED_IDENTITY",
        "ROLE_NOT_ELIGIBLE",
        "OVER_APPROVER_LIMIT",
        "APPROVER_BLANK",
        "DIGEST_MISMATCH",
        "CONFLICTING_DIGESTS",
        "APPROVAL_EXPIRED",
        "APPROVAL_IN_FUTURE",
        "APPROVAL_BEFORE_REQUEST",
        "APPROVAL_AFTER_DEADLINE",
        "REASON_REQUIRED",
        "BATCH_NOT_ALLOWED",
        "REQUEST_IN_FUTURE",
        "REQUEST_TIMED_OUT",
        "TOO_MANY_APPROVALS",
        "CONDITION_NOT_MET",
        "BLOCKED",
        "EVIDENCE_MISSING",
    ];
    CODES
        .iter()
        .copied()
        .find(|c| *c == code)
        .unwrap_or("DENIED")
}

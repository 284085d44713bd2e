//! The operations on requests: create, review (approve, reject, request
//! changes), cancel, claim, report execution and verification, expire.
//!
//! Each one reads what it needs, then changes the request inside one store
//! transaction: the lifecycle table says whether the step is legal, the
//! engine says whether the approvals suffice, and the new row, its audit
//! records, the idempotency answer and the webhook payloads commit
//! together before anyone is answered.

use std::sync::Arc;

use gatehouse::audit::record::AuditRecord;
use gatehouse::audit::redact::Redaction;
use gatehouse::audit::verify::{Approval, ApprovalKind, Verdict, VerifyOptions};
use gatehouse::input::Syntax;
use gatehouse::trust::jws;
use gatehouse::values::Timestamp;
use gatehouse::{Decision, EvalOptions, Outcome, Policy};
use serde::Deserialize;
use serde_json::{Value as Json, json};
use sha2::{Digest as _, Sha256};

use super::Gate;
use super::records::{Actor, notification, person_key, transition, view};
use crate::auth::{Principal, Scope};
use crate::error::{FieldError, GateError};
use crate::lifecycle::{Event, State, next};
use crate::store::{AuditEvent, Change, IdempotencyKey, IdempotentAnswer, RequestRow};

/// What a reviewer decides.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewDecision {
    /// Approve the action.
    Approve,
    /// Reject it.
    Reject,
    /// Ask the agent for a modified action.
    RequestChanges,
}

/// The body of `POST /v1/requests/{id}/decisions`. The reviewer's
/// identity and roles come from authentication, never from here.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalBody {
    /// approve, reject or request_changes.
    pub decision: ReviewDecision,
    /// Why (required for explicit and dual approvals, rejections and
    /// change requests).
    #[serde(default)]
    pub reason: Option<String>,
    /// The action digest the reviewer saw; refused when it is not the
    /// request's (the reviewer looked at another action).
    #[serde(default)]
    pub action_digest: Option<String>,
}

/// The longest reason kept, in bytes.
pub(crate) const MAX_REASON_BYTES: usize = 4096;

/// Parses a JSON body strictly (duplicate keys and excess depth refused),
/// 400 with the path of each problem otherwise.
pub(crate) fn parse_json(text: &str) -> Result<Json, GateError> {
    gatehouse::input::parse(text, Syntax::Json).map_err(|errors| {
        let mut e = GateError::bad_request(
            "INVALID_JSON",
            errors
                .first()
                .map_or_else(|| "the body is not JSON".to_owned(), |e| e.message.clone()),
        );
        e.errors = errors
            .into_iter()
            .map(|e| FieldError {
                path: e.path,
                detail: e.message,
            })
            .collect();
        e
    })
}

/// The fingerprint an idempotency key is bound to: what was asked.
pub(crate) fn fingerprint(method: &str, path: &str, body: &str) -> String {
    let mut h = Sha256::new();
    for part in [method, path, body] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}

impl Gate {
    /// The answer stored for an idempotency key: `Some` to send again;
    /// 422 `IDEMPOTENCY_KEY_REUSED` when the key was used for another
    /// request.
    pub async fn replay_idempotent(
        &self,
        key: &IdempotencyKey,
        fingerprint: &str,
    ) -> Result<Option<(u16, String)>, GateError> {
        match self.store.idempotent(key).await? {
            None => Ok(None),
            Some(a) if a.fingerprint == fingerprint => Ok(Some((a.status, a.body))),
            Some(_) => Err(GateError::new(
                422,
                "IDEMPOTENCY_KEY_REUSED",
                "this Idempotency-Key was used for a different request",
            )),
        }
    }

    /// Runs a change that stores its answer under an idempotency key; when
    /// a concurrent retry stored one first (the key's row exists), answers
    /// with that one instead.
    ///
    /// Whatever the work's error: a racing retry that committed first makes
    /// this one fail however the step fails next (a unique key for a
    /// creation, `ILLEGAL_TRANSITION` or `SAME_APPROVER_TWICE` for a review
    /// that was applied), and the promise is the first answer, byte for
    /// byte, to every retry with the same key and body (and 422
    /// `IDEMPOTENCY_KEY_REUSED` to a racing call with another body).
    async fn idempotent_or<F>(
        &self,
        key: Option<&IdempotencyKey>,
        fingerprint: &str,
        work: F,
    ) -> Result<(u16, String), GateError>
    where
        F: AsyncFnOnce() -> Result<(u16, String), GateError>,
    {
        if let Some(key) = key
            && let Some(stored) = self.replay_idempotent(key, fingerprint).await?
        {
            return Ok(stored);
        }
        match work().await {
            Ok(answer) => Ok(answer),
            Err(e) => match key {
                Some(key) => match self.replay_idempotent(key, fingerprint).await {
                    Ok(Some(stored)) => Ok(stored),
                    // A racing call with another body took the key first:
                    // that is the documented 422, not this step's refusal.
                    Err(reused) if reused.code == "IDEMPOTENCY_KEY_REUSED" => Err(reused),
                    _ => Err(e),
                },
                None => Err(e),
            },
        }
    }

    /// `POST /v1/requests`: decides the action and holds it. 201 with the
    /// request (`approved` for auto, `blocked` for block, else `pending`).
    pub async fn create_request(
        &self,
        principal: &Principal,
        text: &str,
        key: Option<IdempotencyKey>,
    ) -> Result<(u16, String), GateError> {
        principal.require(&[Scope::Request])?;
        let print = fingerprint("POST", "/v1/requests", text);
        let fp = print.clone();
        self.idempotent_or(key.as_ref(), &print, async || {
            let input = parse_json(text)?;
            let now = self.now();
            let loaded = self.policy();
            let policy = loaded.policy.clone();
            let decision = policy.evaluate_with(&input, &EvalOptions::default().with_now(now));
            let row = new_row(principal, &input, &decision, &policy, now)?;
            let (row, events, last) = opening_events(row, &decision, &input, principal, now);
            let notify = self.notify_for(&row, last, State::Decided, now);
            let body = view(&row).to_string();
            let remember = key.clone().map(|k| {
                (
                    k,
                    IdempotentAnswer {
                        fingerprint: fp.clone(),
                        status: 201,
                        body: body.clone(),
                    },
                )
            });
            // Kept before the request: a request never names a policy the
            // store cannot give back.
            self.store
                .save_policy(policy.digest(), &loaded.sources)
                .await?;
            self.store
                .create(Change {
                    row: row.clone(),
                    events,
                    remember,
                    notify,
                })
                .await?;
            self.metrics.request_created(&row);
            self.announce(&row);
            Ok((201, body))
        })
        .await
    }

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
            self.metrics.transition(&row, now);
            self.announce(&row);
            Ok((200, out.unwrap_or_else(|| view(&row).to_string())))
        })
        .await
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
        if deadline_passed(&row, now) {
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
        let prior = live_approvals(&row, now);
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
                &row,
                policy,
                principal,
                role,
                body.decision,
                reason.as_deref(),
            )?,
            None => self.judge(&row, policy, &prior, &approval, body.decision, now)?,
        };
        let to = next(from, event)?;
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

    /// `POST /v1/requests/{id}/cancel`: the requester (or an admin)
    /// withdraws a pending request.
    pub async fn cancel(
        &self,
        principal: &Principal,
        id: &str,
        text: &str,
    ) -> Result<String, GateError> {
        principal.require(&[Scope::Request])?;
        let reason = optional_reason(text)?;
        let now = self.now();
        let row = self
            .store
            .update(id, &mut |mut row| {
                if !principal.can(Scope::Admin) && !identity_matches(&principal.id, &row.requester)
                {
                    return Err(GateError::forbidden(
                        "NOT_REQUESTER",
                        "only the requester (or an admin) can cancel a request",
                    ));
                }
                let from = row.state;
                let to = next(from, Event::Cancel)?;
                row.state = to;
                row.roles.clear();
                row.updated_at = now.to_string();
                let events = vec![transition(
                    &row,
                    (Event::Cancel, from, to),
                    &Actor::Caller(principal),
                    reason.as_deref(),
                    json!({}),
                    now,
                )];
                let notify = self.notify_for(&row, Event::Cancel, from, now);
                Ok(Change {
                    row,
                    events,
                    remember: None,
                    notify,
                })
            })
            .await?;
        self.metrics.transition(&row, now);
        self.announce(&row);
        Ok(view(&row).to_string())
    }

    /// `POST /v1/requests/{id}/claim`: the one grant to execute. The body
    /// is the action about to run; its digest must be the request's. The
    /// action is decided again under the policy in force now: when that is
    /// stricter than what the approvals meet (or an approval expired), the
    /// request returns to pending and the claim is refused (409).
    pub async fn claim(
        &self,
        principal: &Principal,
        id: &str,
        text: &str,
    ) -> Result<String, GateError> {
        principal.require(&[Scope::Execute])?;
        let action = parse_json(text)?;
        let digest = gatehouse::audit::digest::action_digest(&action);
        let current = self
            .store
            .get(id)
            .await?
            .ok_or_else(|| GateError::not_found(id))?;
        let own_policy = self.policy_by_digest(&current.policy_digest).await?;
        let now_policy = self.policy();
        let now = self.now();
        let mut refusal: Option<GateError> = None;
        let row = self
            .store
            .update(id, &mut |row| {
                refusal = None;
                if row.policy_digest != own_policy.digest() {
                    return Err(GateError::conflict(
                        "CONCURRENT_CHANGE",
                        "the request changed while it was claimed; retry",
                    ));
                }
                let from = row.state;
                next(from, Event::Claim)?;
                if digest != row.action_digest {
                    return Err(GateError::conflict(
                        "DIGEST_MISMATCH",
                        "the action presented is not the action approved (its digest differs)",
                    ));
                }
                let (change, refused) =
                    self.judge_claim(row, principal, &action, &own_policy, &now_policy, now)?;
                refusal = refused;
                Ok(change)
            })
            .await?;
        self.metrics.transition(&row, now);
        self.announce(&row);
        match refusal {
            Some(mut e) => {
                e.state = Some(row.state.as_str().to_owned());
                Err(e)
            }
            None => Ok(view(&row).to_string()),
        }
    }

    /// The claim's effect, inside the transaction: granted (executing),
    /// reopened (pending, with the refusal to answer), or refused outright.
    fn judge_claim(
        &self,
        mut row: RequestRow,
        principal: &Principal,
        action: &Json,
        own: &Arc<Policy>,
        now_policy: &super::LoadedPolicy,
        now: Timestamp,
    ) -> Result<(Change, Option<GateError>), GateError> {
        let from = row.state;
        let approvals = live_approvals(&row, now);
        let any_expired = approvals.len() < row.approvals.len();
        let options = verify_options(&row, now);
        let current = &now_policy.policy;
        let escalated = row.escalated_to.is_some();
        let fresh = current.evaluate_with(action, &EvalOptions::default().with_now(now));
        if fresh.outcome == Outcome::Block {
            return Err(GateError::conflict_in(
                "BLOCKED_NOW",
                "the policy in force now blocks this action",
                from.as_str(),
            ));
        }
        // Approvals are judged by the policy in force now when it differs:
        // never looser than what was approved, maybe stricter.
        let judge_by: &Policy = if current.digest() == own.digest() {
            own
        } else {
            current
        };
        let verdict = if escalated && judge_by.digest() == own.digest() {
            // The escalation role decided alone (judge_escalated); what
            // remains is that the tier's conditions and evidence hold now
            // (the engine's verify is not run on this path) and that its
            // approval is still within its validity.
            if let Some(e) = unmet_requirements(&fresh, from) {
                return Err(e);
            }
            if let Some(role) = row.escalated_to.clone()
                && !approvals
                    .iter()
                    .any(|a| a.decision == ApprovalKind::Approve && a.roles.contains(&role))
            {
                return Ok(self.reopen_escalated(row, principal, role, now));
            }
            None
        } else {
            Some(judge_by.verify(action, &approvals, &options))
        };
        if let Some(v) = &verdict
            && v.verdict != Verdict::Execute
        {
            let conditions_only = v.verdict == Verdict::Denied
                && v.reasons.iter().all(|r| r.code == "CONDITION_NOT_MET");
            if conditions_only {
                return Err(GateError::conflict_in(
                    "CONDITION_NOT_MET",
                    v.reasons
                        .first()
                        .map_or_else(String::new, |r| r.message.clone()),
                    from.as_str(),
                ));
            }
            // Back to pending, under the policy in force now.
            // The engine judged only the approvals still valid: when some
            // recorded approval has expired, that is why.
            let code = if any_expired || v.reasons.iter().any(|r| r.code == "APPROVAL_EXPIRED") {
                "APPROVAL_EXPIRED"
            } else {
                "REAPPROVAL_REQUIRED"
            };
            let to = next(from, Event::Reopen)?;
            row.state = to;
            row.updated_at = now.to_string();
            row.policy_digest = current.digest().to_owned();
            row.decision = serde_json::to_value(&fresh).unwrap_or(Json::Null);
            row.outcome = fresh.outcome.as_str().to_owned();
            row.tier = fresh.tier.as_ref().map(|t| i64::from(t.id));
            row.roles = roles_of(&fresh);
            row.escalated_to = None;
            let deadline = fresh.timeout.as_ref().map(|t| now.plus_seconds(t.seconds));
            row.deadline = deadline.map(|d| d.to_string());
            row.deadline_unix = deadline.map(|d| d.unix_seconds());
            // Approvals already given stay; they count again only if the
            // engine counts them under the new policy.
            let detail = json!({"code": code, "reasons": v.reasons});
            let events = vec![transition(
                &row,
                (Event::Reopen, from, to),
                &Actor::Caller(principal),
                Some(code),
                detail,
                now,
            )];
            let notify = self.notify_for(&row, Event::Reopen, from, now);
            let refusal = GateError::conflict(
                if code == "APPROVAL_EXPIRED" {
                    "APPROVAL_EXPIRED"
                } else {
                    "REAPPROVAL_REQUIRED"
                },
                "the approvals held no longer suffice; the request is pending again",
            );
            return Ok((
                Change {
                    row,
                    events,
                    remember: None,
                    notify,
                },
                Some(refusal),
            ));
        }
        let to = next(from, Event::Claim)?;
        row.state = to;
        row.updated_at = now.to_string();
        let detail = json!({"claimant": principal.id, "policy_in_force": current.digest()});
        let events = vec![transition(
            &row,
            (Event::Claim, from, to),
            &Actor::Caller(principal),
            None,
            detail,
            now,
        )];
        let notify = self.notify_for(&row, Event::Claim, from, now);
        Ok((
            Change {
                row,
                events,
                remember: None,
                notify,
            },
            None,
        ))
    }

    /// An escalated request whose escalation approval expired before the
    /// claim: pending again for the escalation role, with a new wait of
    /// the tier's timeout; the claim is refused `APPROVAL_EXPIRED`.
    fn reopen_escalated(
        &self,
        mut row: RequestRow,
        principal: &Principal,
        role: String,
        now: Timestamp,
    ) -> (Change, Option<GateError>) {
        let from = row.state;
        // approved -> pending is in the table (`Reopen`); the caller checked
        // the state is approved.
        let to = next(from, Event::Reopen).unwrap_or(State::Pending);
        let (_, _, seconds) = on_expiry(&row.decision);
        let deadline = now.plus_seconds(seconds.max(1));
        row.state = to;
        row.updated_at = now.to_string();
        row.roles = vec![role.clone()];
        row.deadline = Some(deadline.to_string());
        row.deadline_unix = Some(deadline.unix_seconds());
        let detail = json!({"code": "APPROVAL_EXPIRED", "role": role});
        let events = vec![transition(
            &row,
            (Event::Reopen, from, to),
            &Actor::Caller(principal),
            Some("APPROVAL_EXPIRED"),
            detail,
            now,
        )];
        let notify = self.notify_for(&row, Event::Reopen, from, now);
        let refusal = GateError::conflict(
            "APPROVAL_EXPIRED",
            "the escalation role's approval expired; the request is pending again",
        );
        (
            Change {
                row,
                events,
                remember: None,
                notify,
            },
            Some(refusal),
        )
    }

    /// `POST /v1/requests/{id}/executed` and `/verified`: the executor
    /// reports the result, then the outcome check.
    pub async fn report(
        &self,
        principal: &Principal,
        id: &str,
        event: Event,
        text: &str,
    ) -> Result<String, GateError> {
        principal.require(&[Scope::Execute])?;
        let report = parse_json(text)?;
        if !report.is_object() {
            return Err(GateError::invalid_body(vec![FieldError {
                path: "$".into(),
                detail: "the report is a JSON object".into(),
            }]));
        }
        let now = self.now();
        let row = self
            .store
            .update(id, &mut |mut row| {
                let from = row.state;
                let to = next(from, event)?;
                row.state = to;
                row.updated_at = now.to_string();
                let stamped = json!({"by": principal.id, "at": now.to_string(), "report": report});
                match event {
                    Event::Complete => row.execution = Some(stamped),
                    _ => row.verification = Some(stamped),
                }
                let events = vec![transition(
                    &row,
                    (event, from, to),
                    &Actor::Caller(principal),
                    None,
                    report.clone(),
                    now,
                )];
                let notify = self.notify_for(&row, event, from, now);
                Ok(Change {
                    row,
                    events,
                    remember: None,
                    notify,
                })
            })
            .await?;
        self.metrics.transition(&row, now);
        self.announce(&row);
        Ok(view(&row).to_string())
    }

    /// Applies a passed deadline (the sweeper): the tier's on-expiry
    /// escalates once (back to pending for the escalation role, with a new
    /// deadline), rejects or blocks. An escalated request that expires
    /// again is rejected. `None` when the request is no longer due.
    pub async fn expire(&self, id: &str) -> Result<Option<crate::store::RequestRow>, GateError> {
        let now = self.now();
        let result = self
            .store
            .update(id, &mut |mut row| {
                // The store's `due` picks candidates by whole seconds; the
                // deadline itself is exact, and not yet passed is not due
                // (the next sweep takes it).
                let due = row.state == State::Pending && deadline_passed(&row, now);
                if !due {
                    return Err(GateError::conflict("NOT_DUE", "not due"));
                }
                let mut events = Vec::new();
                let mut notify = Vec::new();
                let from = row.state;
                row.state = next(from, Event::Expire)?;
                events.push(transition(
                    &row,
                    (Event::Expire, from, row.state),
                    &Actor::Gate,
                    Some("REQUEST_TIMED_OUT"),
                    json!({"deadline": row.deadline}),
                    now,
                ));
                let (action, role, seconds) = on_expiry(&row.decision);
                let event = match (action.as_str(), role) {
                    // Once in a request's life: a claim that reopened an
                    // escalated request under a stricter policy clears
                    // `escalated_to` (the new policy's roles act), but the
                    // count stays, and a second deadline rejects.
                    ("escalate", Some(role))
                        if row.escalated_to.is_none() && row.escalations == 0 =>
                    {
                        row.state = next(row.state, Event::Escalate)?;
                        events.push(transition(
                            &row,
                            (Event::Escalate, State::Expired, row.state),
                            &Actor::Gate,
                            None,
                            json!({"role": role}),
                            now,
                        ));
                        let deadline = now.plus_seconds(seconds.max(1));
                        row.escalated_to = Some(role.clone());
                        row.escalations += 1;
                        row.roles = vec![role];
                        row.deadline = Some(deadline.to_string());
                        row.deadline_unix = Some(deadline.unix_seconds());
                        Event::Requeue
                    }
                    ("block", _) => Event::Block,
                    _ => Event::Reject,
                };
                let before = row.state;
                row.state = next(before, event)?;
                if row.state != State::Pending {
                    row.roles.clear();
                }
                row.updated_at = now.to_string();
                events.push(transition(
                    &row,
                    (event, before, row.state),
                    &Actor::Gate,
                    Some("REQUEST_TIMED_OUT"),
                    json!({}),
                    now,
                ));
                notify.extend(self.notify_for(&row, event, from, now));
                Ok(Change {
                    row,
                    events,
                    remember: None,
                    notify,
                })
            })
            .await;
        match result {
            Ok(row) => {
                self.metrics.expired(&row);
                self.metrics.transition(&row, now);
                self.announce(&row);
                Ok(Some(row))
            }
            Err(e) if e.code == "NOT_DUE" || e.status == 404 => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Webhook deliveries for a transition: one per configured receiver
    /// that wants the state entered (the deliverer signs each with its
    /// receiver's secret).
    fn notify_for(
        &self,
        row: &RequestRow,
        event: Event,
        from: State,
        now: Timestamp,
    ) -> Vec<crate::store::Notice> {
        let wanting: Vec<&crate::config::WebhookConfig> = self
            .config
            .webhooks
            .iter()
            .filter(|w| w.wants(row.state.as_str()))
            .collect();
        if wanting.is_empty() {
            return Vec::new();
        }
        let body = notification(row, event, from, now);
        wanting
            .into_iter()
            .map(|w| crate::store::Notice {
                receiver: w.url.clone(),
                body: body.clone(),
            })
            .collect()
    }
}

/// 422 `REASON_REQUIRED`, located at `$.reason`: the one answer
/// docs/service.md gives for every review that needs a reason and has none
/// (a blank one is none), whether the engine (an explicit or dual
/// approval) or the gate (a rejection, a change request, an escalated
/// review) requires it.
fn reason_required(detail: &str) -> GateError {
    let mut e = GateError::invalid_body(vec![FieldError {
        path: "$.reason".into(),
        detail: detail.to_owned(),
    }]);
    e.code = "REASON_REQUIRED";
    e
}

/// What refuses any approval of an action whatever the approvals: a
/// `require` condition that does not hold (409 `CONDITION_NOT_MET`) or
/// evidence still missing (409 `EVIDENCE_MISSING`), with the request's
/// state `from`. `None` when neither.
fn unmet_requirements(decision: &Decision, from: State) -> Option<GateError> {
    if let Some(c) = decision.conditions.iter().find(|c| c.holds == Some(false)) {
        return Some(GateError::conflict_in(
            "CONDITION_NOT_MET",
            format!("`{}` does not hold now", c.condition),
            from.as_str(),
        ));
    }
    if !decision.evidence.missing.is_empty() {
        return Some(GateError::conflict_in(
            "EVIDENCE_MISSING",
            format!(
                "evidence still missing: {}",
                decision.evidence.missing.join(", ")
            ),
            from.as_str(),
        ));
    }
    None
}

/// Reads a JSON body into `T`: 400 when it is not JSON, 422 with the JSON
/// path of the field that does not fit (`$.reason`, or an unknown field's
/// own path: `$.extra`).
pub(crate) fn read_body<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, GateError> {
    let value = parse_json(text)?;
    serde_path_to_error::deserialize(value).map_err(|e| {
        let mut path = String::from("$");
        for segment in e.path().iter() {
            match segment {
                serde_path_to_error::Segment::Seq { index } => path.push_str(&format!("[{index}]")),
                serde_path_to_error::Segment::Map { key } => path.push_str(&format!(".{key}")),
                serde_path_to_error::Segment::Enum { variant } => {
                    path.push_str(&format!(".{variant}"))
                }
                serde_path_to_error::Segment::Unknown => path.push_str(".?"),
            }
        }
        GateError::invalid_body(vec![FieldError {
            path,
            detail: e.inner().to_string(),
        }])
    })
}

/// An optional `{"reason": "..."}` body (empty allowed).
fn optional_reason(text: &str) -> Result<Option<String>, GateError> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct ReasonBody {
        #[serde(default)]
        reason: Option<String>,
    }
    let body: ReasonBody = read_body(text)?;
    if body
        .reason
        .as_ref()
        .is_some_and(|r| r.len() > MAX_REASON_BYTES)
    {
        return Err(GateError::invalid_body(vec![FieldError {
            path: "$.reason".into(),
            detail: format!("longer than {MAX_REASON_BYTES} bytes"),
        }]));
    }
    Ok(body.reason)
}

/// Whether two identities are one person (case, width, look-alikes).
fn identity_matches(a: &str, b: &str) -> bool {
    person_key(a) == person_key(b)
}

/// The engine's verification codes are `String`s; the API's are
/// `&'static str`. Unknown codes (none today) read as `DENIED`.
fn stable_code(code: &str) -> &'static str {
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

/// The roles that can act on a decision now.
fn roles_of(decision: &Decision) -> Vec<String> {
    let mut roles: Vec<String> = Vec::new();
    for group in decision.approvals.iter().flat_map(|a| a.groups.iter()) {
        for role in &group.roles {
            if !roles.contains(&role.name) {
                roles.push(role.name.clone());
            }
        }
    }
    roles
}

/// The approvals recorded on a request that are still within their own
/// validity at `now` (`expires_at > now`; one without a readable expiry is
/// dropped, failing closed).
fn live_approvals(row: &RequestRow, now: Timestamp) -> Vec<Approval> {
    row.approvals
        .iter()
        .filter_map(|a| a.get("approval").cloned())
        .filter_map(|a| serde_json::from_value::<Approval>(a).ok())
        .filter(|a| match &a.expires_at {
            None => true,
            Some(e) => Timestamp::parse(e.trim()).is_some_and(|e| e > now),
        })
        .collect()
}

/// Whether the request's deadline has passed at `now`: exactly, from the
/// RFC 3339 deadline (`deadline_unix` is whole seconds, rounded down, so
/// it alone would end a wait up to a second early); from `deadline_unix`
/// only when the text is unreadable.
fn deadline_passed(row: &RequestRow, now: Timestamp) -> bool {
    match row.deadline.as_deref().and_then(Timestamp::parse) {
        Some(deadline) => now >= deadline,
        None => row.deadline_unix.is_some_and(|d| now.unix_seconds() >= d),
    }
}

/// How the engine judges a request's approvals now: from its creation to
/// its current deadline (which a reopened request moved on).
fn verify_options(row: &RequestRow, now: Timestamp) -> VerifyOptions {
    VerifyOptions::new(now)
        .with_requested_at(Timestamp::parse(&row.created_at))
        .with_deadline(row.deadline.as_deref().and_then(Timestamp::parse))
}

/// The on-expiry action, its role, and the timeout's length in seconds.
fn on_expiry(decision: &Json) -> (String, Option<String>, i64) {
    let timeout = decision.get("timeout");
    let action = timeout
        .and_then(|t| t.pointer("/on_expiry/action"))
        .and_then(Json::as_str)
        .unwrap_or("reject")
        .to_owned();
    let role = timeout
        .and_then(|t| t.pointer("/on_expiry/role"))
        .and_then(Json::as_str)
        .map(str::to_owned);
    let seconds = timeout
        .and_then(|t| t.get("seconds"))
        .and_then(Json::as_i64)
        .unwrap_or(3600);
    (action, role, seconds)
}

/// The row of a new request.
fn new_row(
    principal: &Principal,
    input: &Json,
    decision: &Decision,
    policy: &Policy,
    now: Timestamp,
) -> Result<RequestRow, GateError> {
    let deadline = match decision.outcome {
        Outcome::Queue | Outcome::Explicit | Outcome::Dual => decision
            .timeout
            .as_ref()
            .map(|t| now.plus_seconds(t.seconds)),
        Outcome::Auto | Outcome::Block => None,
    };
    let agent = input
        .pointer("/agent/id")
        .and_then(Json::as_str)
        .filter(|a| a.len() <= 256)
        .unwrap_or(&principal.id)
        .to_owned();
    Ok(RequestRow {
        id: crate::ids::new_id("req_"),
        state: State::Requested,
        created_at: now.to_string(),
        created_unix: now.unix_seconds(),
        updated_at: now.to_string(),
        deadline: deadline.map(|d| d.to_string()),
        deadline_unix: deadline.map(|d| d.unix_seconds()),
        requester: principal.id.clone(),
        agent,
        outcome: decision.outcome.as_str().to_owned(),
        tier: decision.tier.as_ref().map(|t| i64::from(t.id)),
        roles: roles_of(decision),
        action_digest: decision
            .action_digest
            .clone()
            .unwrap_or_else(|| gatehouse::audit::digest::action_digest(input)),
        policy_digest: policy.digest().to_owned(),
        input: input.clone(),
        decision: serde_json::to_value(decision).map_err(|e| GateError::internal(e.to_string()))?,
        approvals: Vec::new(),
        escalated_to: None,
        escalations: 0,
        execution: None,
        verification: None,
        version: 1,
    })
}

/// The records of a request's first steps: the engine's decision record,
/// then requested -> decided -> approved | pending | blocked.
fn opening_events(
    mut row: RequestRow,
    decision: &Decision,
    input: &Json,
    principal: &Principal,
    now: Timestamp,
) -> (RequestRow, Vec<AuditEvent>, Event) {
    let mut events = Vec::new();
    let options = EvalOptions::default().with_now(now);
    let record = AuditRecord::decision(decision, Some(input), &options, &Redaction::default(), now);
    if let Ok(line) = record.to_json_line() {
        events.push(AuditEvent {
            request_id: row.id.clone(),
            record: line,
        });
    }
    let actor = Actor::Caller(principal);
    events.push(transition(
        &row,
        (Event::Decide, State::Requested, State::Decided),
        &actor,
        None,
        json!({"outcome": decision.outcome, "reasons": decision.reason_codes()}),
        now,
    ));
    let event = match decision.outcome {
        Outcome::Auto => Event::AutoApprove,
        Outcome::Block => Event::Block,
        Outcome::Queue | Outcome::Explicit | Outcome::Dual => Event::Queue,
    };
    // The table allows each of these from `decided`; a failure here would
    // be a table edit, caught by the lifecycle tests.
    let to = next(State::Decided, event).unwrap_or(State::Blocked);
    row.state = to;
    if to != State::Pending {
        row.roles.clear();
    }
    events.push(transition(
        &row,
        (event, State::Decided, to),
        &actor,
        None,
        json!({}),
        now,
    ));
    (row, events, event)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending_until(deadline: &str) -> RequestRow {
        let at = Timestamp::parse(deadline).expect("a time");
        RequestRow {
            id: "req_t".into(),
            state: State::Pending,
            created_at: "2026-01-01T00:00:00Z".into(),
            created_unix: 0,
            updated_at: "2026-01-01T00:00:00Z".into(),
            deadline: Some(deadline.into()),
            deadline_unix: Some(at.unix_seconds()),
            requester: "a".into(),
            agent: "a".into(),
            outcome: "explicit".into(),
            tier: None,
            roles: Vec::new(),
            action_digest: String::new(),
            policy_digest: String::new(),
            input: Json::Null,
            decision: Json::Null,
            approvals: Vec::new(),
            escalated_to: None,
            escalations: 0,
            execution: None,
            verification: None,
            version: 1,
        }
    }

    /// Whole seconds ended a wait up to a second early: at 10:00:02.1 a
    /// request due at 10:00:02.9 was expired, and a review refused.
    #[test]
    fn a_deadline_passes_at_its_exact_instant_not_its_second() {
        let row = pending_until("2026-12-05T10:00:02.9Z");
        let at = |t: &str| Timestamp::parse(t).expect("a time");
        assert!(!deadline_passed(&row, at("2026-12-05T10:00:02.1Z")));
        assert!(deadline_passed(&row, at("2026-12-05T10:00:02.9Z")));
        assert!(deadline_passed(&row, at("2026-12-05T10:00:03Z")));
        let mut unreadable = row.clone();
        unreadable.deadline = Some("soon".into());
        assert!(deadline_passed(&unreadable, at("2026-12-05T10:00:02.1Z")));
    }
}

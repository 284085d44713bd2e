//! The end of a request's life: cancel, the one claim to execute (the
//! action re-decided under the policy in force, never looser than what was
//! approved), and the executor's reports.

use std::sync::Arc;

use gatehouse::audit::verify::{ApprovalKind, Verdict};
use gatehouse::values::Timestamp;
use gatehouse::{EvalOptions, Outcome, Policy};
use serde_json::{Value as Json, json};

use super::Gate;
use super::expiry::on_expiry;
use super::records::{Actor, transition, view};
use super::requests::{
    identity_matches, live_approvals, optional_reason, parse_json, roles_of, unmet_requirements,
    verify_options,
};
use crate::auth::{Principal, Scope};
use crate::error::{FieldError, GateError};
use crate::lifecycle::{Event, State, next};
use crate::store::{Change, RequestRow};

impl Gate {
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
        self.committed(&row, now);
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
        // Held until the claim is committed: no reload swaps the set in
        // force between this read and the commit (a claim judged by a set a
        // finished reload replaced would be looser than the set in force).
        let _in_force = self.swap.read().await;
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
        self.committed(&row, now);
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
        self.committed(&row, now);
        Ok(view(&row).to_string())
    }
}

//! Batch review: one reviewer approves (or rejects) many low-risk
//! requests at once, as the review interface promises for `queue` items.
//!
//! Each request is judged exactly as a single review would judge it (its
//! own policy, separation of duties, roles, limits, deadline) in its own
//! transaction, so one refusal never blocks or rolls back the others; a
//! request whose decision is not `queue` is refused with
//! `BATCH_NOT_ALLOWED` (explicit and dual decisions need one look each,
//! the same rule `gatehouse verify` applies to batch approvals).

use serde::Deserialize;
use serde_json::{Value as Json, json};

use super::Gate;
use super::records::view;
use super::requests::{ApprovalBody, MAX_REASON_BYTES, ReviewDecision, read_body};
use crate::auth::{Principal, Scope};
use crate::error::{FieldError, GateError};

/// The most requests one batch reviews.
pub const MAX_BATCH_REVIEW: usize = 100;

/// The body of `POST /v1/decisions`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchBody {
    /// The requests reviewed.
    requests: Vec<String>,
    /// approve or reject (changes are asked one request at a time).
    decision: ReviewDecision,
    /// Why.
    #[serde(default)]
    reason: Option<String>,
}

impl Gate {
    /// `POST /v1/decisions`: reviews each listed request; answers one
    /// result per request, in order: `{"id", "status", "request" | "problem"}`.
    pub async fn review_batch(
        &self,
        principal: &Principal,
        text: &str,
    ) -> Result<String, GateError> {
        principal.require(&[Scope::Approve])?;
        let body: BatchBody = read_body(text)?;
        let mut errors = Vec::new();
        if body.requests.is_empty() || body.requests.len() > MAX_BATCH_REVIEW {
            errors.push(FieldError {
                path: "$.requests".into(),
                detail: format!("a batch reviews 1 to {MAX_BATCH_REVIEW} requests"),
            });
        }
        // The single review's bound holds here too: a batch would otherwise
        // copy an unbounded reason into every row, record and credential.
        if body
            .reason
            .as_ref()
            .is_some_and(|r| r.len() > MAX_REASON_BYTES)
        {
            errors.push(FieldError {
                path: "$.reason".into(),
                detail: format!("longer than {MAX_REASON_BYTES} bytes"),
            });
        }
        if body.decision == ReviewDecision::RequestChanges {
            errors.push(FieldError {
                path: "$.decision".into(),
                detail: "changes are requested one request at a time".into(),
            });
        }
        for (i, id) in body.requests.iter().enumerate() {
            if !crate::ids::is_id(id, "req_") {
                errors.push(FieldError {
                    path: format!("$.requests[{i}]"),
                    detail: "not a request id".into(),
                });
            } else if body.requests[..i].contains(id) {
                errors.push(FieldError {
                    path: format!("$.requests[{i}]"),
                    detail: "listed twice".into(),
                });
            }
        }
        if !errors.is_empty() {
            return Err(GateError::invalid_body(errors));
        }
        let single = ApprovalBody {
            decision: body.decision,
            reason: body.reason.clone(),
            action_digest: None,
        };
        let mut results = Vec::with_capacity(body.requests.len());
        for id in &body.requests {
            let result = self.review_one_of_batch(principal, id, &single).await;
            results.push(match result {
                Ok(row) => json!({"id": id, "status": 200, "request": row}),
                Err(e) => json!({"id": id, "status": e.status, "problem": e.to_problem(None)}),
            });
        }
        Ok(json!({"format": "gatehouse.batch-review/1", "results": results}).to_string())
    }

    async fn review_one_of_batch(
        &self,
        principal: &Principal,
        id: &str,
        body: &ApprovalBody,
    ) -> Result<Json, GateError> {
        let current = self
            .store
            .get(id)
            .await?
            .ok_or_else(|| GateError::not_found(id))?;
        let policy = self.policy_by_digest(&current.policy_digest).await?;
        let now = self.now();
        let row = self
            .store
            .update(id, &mut |row| {
                if row.outcome != "queue" {
                    return Err(GateError::forbidden(
                        "BATCH_NOT_ALLOWED",
                        format!(
                            "a `{}` request is reviewed on its own, not in a batch",
                            row.outcome
                        ),
                    ));
                }
                if row.policy_digest != policy.digest() {
                    return Err(GateError::conflict(
                        "CONCURRENT_CHANGE",
                        "the request changed policy while this review was read; retry",
                    ));
                }
                self.apply_review(row, principal, body, &policy, now)
            })
            .await?;
        self.committed(&row, now);
        Ok(view(&row))
    }
}

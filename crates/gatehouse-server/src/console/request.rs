//! One request (`/console/requests/{id}`): the whole evidence pack a
//! reviewer needs to decide in seconds, and the review form.
//!
//! What the page shows comes from three places only: the stored row (the
//! action as proposed, the decision it was held under, the approvals
//! given), the engine (what is still missing, judged under the request's
//! own policy now) and the request's audit records (what the deadline did,
//! the execution). The sections are rendered in `request_parts`.
//!
//! Invariants:
//! - A review goes through [`Gate::review`], the path `POST
//!   /v1/requests/{id}/decisions` takes, with the identity and roles of the
//!   session alone: no form field names the reviewer (a posted `approver`
//!   or `identity` is ignored), so the audit record names the person signed
//!   in and how they signed in.
//! - The form carries the action digest the page showed; the gate refuses
//!   the review (`DIGEST_MISMATCH`) when the request holds another action.
//! - The form is offered only when the review's own judgement
//!   ([`Gate::may_approve`]) accepts this person now; otherwise the page
//!   says why (`#cannot-review`). A forged post is judged by the gate all
//!   the same, so hiding the form is convenience, never the control.
//! - Everything an agent wrote is escaped and marked (`agent_text`,
//!   `agent_value`); no URL it wrote is a link.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use gatehouse::Decision;
use gatehouse::audit::verify::Verification;
use maud::{Markup, html};
use serde_json::{Value as Json, json};

use super::layout::{self, Chrome, Nav, agent_text, agent_text_short};

/// How much of the action's type, target and summary the heading shows.
const SUMMARY_MAX: usize = 1_000;
use super::request_parts as parts;
use super::session::Reviewer;
use super::{Form, dev_mode, problem_page, signed_form};
use crate::error::{FieldError, GateError};
use crate::gate::{Gate, ReviewDecision, live_approvals, verify_options};
use crate::lifecycle::State as LifeState;
use crate::store::RequestRow;

/// What the review form left behind, for the page drawn after it.
#[derive(Debug, Default)]
pub struct ReviewOutcome {
    /// The page follows an accepted review (`?reviewed=1`).
    pub reviewed: bool,
    /// The gate refused the review: shown in `#review-error`, and the page
    /// answers with its status.
    pub error: Option<GateError>,
    /// The reason as typed, kept in the textarea after a refusal.
    pub reason: String,
}

/// The request id of a console path, or the 404 page: only a well-formed
/// request id is looked up.
pub(super) async fn load(
    gate: &Gate,
    id: Result<Path<String>, PathRejection>,
) -> Result<RequestRow, Response> {
    let not_found = || {
        problem_page(GateError::new(
            404,
            "NOT_FOUND",
            "There is no request with this id.",
        ))
    };
    let Ok(Path(id)) = id else {
        return Err(not_found());
    };
    if !crate::ids::is_id(&id, "req_") {
        return Err(not_found());
    }
    match gate.store.get(&id).await {
        Ok(Some(row)) => Ok(row),
        Ok(None) => Err(problem_page(GateError::not_found(&id))),
        Err(e) => Err(problem_page(e)),
    }
}

/// `GET /console/requests/{id}`: the request page. Any reviewer sees any
/// request (reading is not approving).
pub async fn page(
    State(gate): State<Arc<Gate>>,
    reviewer: Reviewer,
    id: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
) -> Response {
    let row = match load(&gate, id).await {
        Ok(row) => row,
        Err(page) => return page,
    };
    let reviewed = form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .any(|(k, v)| k == "reviewed" && v == "1");
    render(
        &gate,
        &reviewer,
        row,
        ReviewOutcome {
            reviewed,
            ..ReviewOutcome::default()
        },
    )
    .await
}

/// `POST /console/requests/{id}/review`: approve, reject or request
/// changes, as the signed-in person. Accepted: 303 to the request page
/// with `?reviewed=1`. Refused: the request page again, with the refusal's
/// status, its code in `#review-error` and the typed reason kept.
pub async fn review(
    State(gate): State<Arc<Gate>>,
    reviewer: Reviewer,
    id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // The anti-forgery check comes before anything reads the request.
    let form = match signed_form(&gate, &reviewer, &headers, &body) {
        Ok(f) => f,
        Err(refused) => return *refused,
    };
    let row = match load(&gate, id).await {
        Ok(row) => row,
        Err(page) => return page,
    };
    let reason = form.one("reason").unwrap_or("").to_owned();
    let text = match review_body(&form) {
        Ok(text) => text,
        Err(e) => {
            return render(
                &gate,
                &reviewer,
                row,
                ReviewOutcome {
                    reviewed: false,
                    error: Some(e),
                    reason,
                },
            )
            .await;
        }
    };
    // The identity is the session's: `reviewer.principal` was read from
    // the session row, and `review_body` copies no other field.
    match gate.review(&reviewer.principal, &row.id, &text, None).await {
        Ok(_) => Redirect::to(&format!("/console/requests/{}?reviewed=1", row.id)).into_response(),
        Err(e) if e.status == 404 => problem_page(e),
        Err(e) => {
            // Drawn from the store again: the refusal changed nothing, and
            // the page shows the request as it is now.
            let row = match gate.store.get(&row.id).await {
                Ok(Some(fresh)) => fresh,
                Ok(None) => return problem_page(GateError::not_found(&row.id)),
                Err(e) => return problem_page(e),
            };
            render(
                &gate,
                &reviewer,
                row,
                ReviewOutcome {
                    reviewed: false,
                    error: Some(e),
                    reason,
                },
            )
            .await
        }
    }
}

/// The API's review body from the form: `decision`, `reason` and
/// `action_digest`, nothing else. The digest is required: a review from
/// the console is of the action a page showed.
fn review_body(form: &Form) -> Result<String, GateError> {
    let decision = form.one("decision").unwrap_or("");
    let Some(digest) = form.one("action_digest").filter(|d| !d.is_empty()) else {
        return Err(GateError::invalid_body(vec![FieldError {
            path: "$.action_digest".into(),
            detail: "the review form names the action it showed (reload the page)".into(),
        }]));
    };
    let reason = form.one("reason").filter(|r| !r.trim().is_empty());
    Ok(json!({
        "decision": decision,
        "reason": reason,
        "action_digest": digest,
    })
    .to_string())
}

/// Everything the sections are drawn from.
pub struct Context<'a> {
    /// The request as stored.
    pub row: &'a RequestRow,
    /// The decision it is held under (the stored one, read back).
    pub decision: Option<&'a Decision>,
    /// The engine's verification of the live approvals now (pending
    /// requests, not escalated), or why it could not be made.
    pub standing: Option<Result<Verification, String>>,
    /// The request's audit records, parsed, with their sequence numbers.
    pub audit: &'a [(i64, Json)],
    /// Unix seconds now.
    pub now: i64,
}

/// The stored decision, read back.
///
/// This is faithful to the `--explain` account `gatehouse eval --explain
/// --now <created_at>` prints for the same action under the same policy:
/// the row's decision is the serialization of the very `Decision` the
/// engine returned when the request was created (evaluated with `now` =
/// the creation time), and `Decision` reads back from its JSON losslessly
/// (every field is serialized; the serve test
/// `the_explain_section_is_the_cli_account` compares the two texts). It is
/// also right where re-evaluating would not be: a claim that reopened the
/// request under a stricter policy stored that policy's decision (and
/// digest) in the row, which is what the request is held under now.
pub fn stored_decision(row: &RequestRow) -> Option<Decision> {
    serde_json::from_value(row.decision.clone()).ok()
}

/// The request's audit records, each parsed (a line that is not JSON is
/// kept as `null`, and shown as unreadable).
pub(super) async fn audit_records(gate: &Gate, id: &str) -> Result<Vec<(i64, Json)>, GateError> {
    Ok(gate
        .store
        .audit_of(id)
        .await?
        .into_iter()
        .map(|(seq, line)| (seq, serde_json::from_str(&line).unwrap_or(Json::Null)))
        .collect())
}

/// Draws the page.
pub async fn render(
    gate: &Gate,
    reviewer: &Reviewer,
    row: RequestRow,
    outcome: ReviewOutcome,
) -> Response {
    let now = gate.now();
    let decision = stored_decision(&row);
    let audit = match audit_records(gate, &row.id).await {
        Ok(a) => a,
        Err(e) => return problem_page(e),
    };
    // What is still missing: the engine's own verification of the
    // approvals that still count, under the request's own policy, exactly
    // as the next review would be judged. Only while the regular wait
    // lasts: an escalated request is decided by its escalation role alone.
    let standing = if row.state == LifeState::Pending && row.escalated_to.is_none() {
        Some(match gate.policy_by_digest(&row.policy_digest).await {
            Ok(policy) => Ok(policy.verify(
                &row.input,
                &live_approvals(&row, now),
                &verify_options(&row, now),
            )),
            Err(e) => Err(e.detail),
        })
    } else {
        None
    };
    let may = gate.may_approve(&reviewer.principal, &row).await;
    // Refused an approval (missing evidence, a condition, a limit) is not
    // always refused a rejection: the form then offers reject and request
    // changes alone, and says why approving is not offered.
    let may_reject = match &may {
        Ok(()) => Ok(()),
        Err(_) => {
            gate.may_review(&reviewer.principal, &row, ReviewDecision::Reject)
                .await
        }
    };
    let cx = Context {
        row: &row,
        decision: decision.as_ref(),
        standing,
        audit: &audit,
        now: now.unix_seconds(),
    };
    let status = outcome
        .error
        .as_ref()
        .and_then(|e| StatusCode::from_u16(e.status).ok())
        .unwrap_or(StatusCode::OK);
    let title = format!("Request {}", row.id);
    let chrome = Chrome {
        title: &title,
        reviewer: Some(reviewer),
        dev_mode: dev_mode(gate),
        nav: Nav::Queue,
    };
    let body = html! {
        (heading(&row))
        @if outcome.reviewed { (parts::review_result(&row, reviewer)) }
        @if let Some(e) = &outcome.error { (review_error(e)) }
        // Two columns on a wide screen: the evidence pack on the left, and
        // on the right, kept in view while scrolling, the deadline and the
        // review form (the reviewer reads, then decides without scrolling
        // back). One column on a phone, the form after the evidence.
        div.request-layout {
            div.request-main {
                (parts::explain(&cx))
                div.grid {
                    (parts::action_fields(&row.input))
                    (parts::evidence(&cx))
                }
                (parts::rules(&cx))
                div.grid {
                    (parts::approvals_given(&cx))
                    (parts::approvals_needed(&cx))
                    (parts::may_not_approve(&cx))
                }
                (parts::on_expiry(&cx))
                (parts::conditions(&cx))
                (super::shadow::panel(&row))
                p {
                    a #history-link href={ "/console/requests/" (row.id) "/history" } {
                        "History of this request (every transition from the audit chain)"
                    }
                }
            }
            aside.review-panel aria-label="Your review" {
                (parts::deadline(&cx))
                @match (&may, &may_reject) {
                    (Ok(()), _) => (parts::review_form(&cx, reviewer, &outcome.reason, None)),
                    (Err(no), Ok(())) => (parts::review_form(&cx, reviewer, &outcome.reason, Some(no))),
                    (Err(e), Err(_)) => (parts::cannot_review(&cx, reviewer, e)),
                }
                (super::samples::panel(gate, reviewer, &row))
            }
        }
    };
    layout::html_response(status, layout::page(&chrome, body))
}

fn heading(row: &RequestRow) -> Markup {
    let kind = super::queue::action_type(row);
    let summary = super::queue::summary_of(row);
    html! {
        h1 { "Request " code { (row.id) } }
        p.lede {
            "State: " strong #request-state { (row.state.as_str()) }
            " · " span class={ "outcome outcome-" (row.outcome) } { (row.outcome) }
            @if let Some(t) = row.tier { " · tier " span.tier { (t) } }
            " · agent " (agent_text(&row.agent))
            " · requested by " strong { (row.requester) }
            " at " (row.created_at)
        }
        // The heading line shows the start of each value (a summary of a
        // megabyte pushed the whole page below it); #action-fields below
        // has every character.
        p #action-summary {
            "Action: " (agent_text_short(kind, SUMMARY_MAX))
            @if let Some(t) = super::queue::target_of(row) { " on " (agent_text_short(t, SUMMARY_MAX)) }
            @if let Some(s) = summary { br; (agent_text_short(s, SUMMARY_MAX)) }
        }
    }
}

fn review_error(e: &GateError) -> Markup {
    html! {
        div #review-error role="alert" {
            strong { "The review was refused: " }
            code #review-error-code { (e.code) }
            " " (e.detail)
            @if !e.errors.is_empty() {
                ul {
                    @for f in &e.errors { li { code { (f.path) } ": " (f.detail) } }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(body: &str) -> Form {
        let mut h = HeaderMap::new();
        h.insert(
            axum::http::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded".parse().unwrap(),
        );
        Form::parse(&h, body.as_bytes()).unwrap()
    }

    #[test]
    fn the_review_body_carries_no_identity_and_needs_the_digest() {
        let text = review_body(&form(
            "decision=approve&reason=ok&action_digest=sha256%3Aab&approver=mallory&identity=mallory",
        ))
        .unwrap();
        let body: Json = serde_json::from_str(&text).unwrap();
        assert_eq!(
            body,
            json!({"decision": "approve", "reason": "ok", "action_digest": "sha256:ab"})
        );
        assert!(!text.contains("mallory"));
        let e = review_body(&form("decision=approve&reason=ok")).unwrap_err();
        assert_eq!(e.status, 422);
        // A blank reason is no reason (the gate then asks for one).
        let text = review_body(&form("decision=reject&reason=+++&action_digest=d")).unwrap();
        assert!(text.contains("\"reason\":null"), "{text}");
    }
}

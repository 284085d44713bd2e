//! Sampled review after the fact in the console: the samples queue
//! (`/console/samples`), the panel on a sampled request's page, and its
//! confirm / reject form (`POST /console/requests/{id}/sample-review`).
//!
//! Invariants:
//! - A verdict goes through [`Gate::review_sample`], the path the API
//!   takes, with the session's identity alone (no form field names the
//!   reviewer), behind the session's CSRF token like every console form.
//! - The forms are offered only when the gate would take the verdict from
//!   this person now ([`Gate::may_review_sample`]); a forged post is judged
//!   by the gate all the same.
//! - The queue reads a bounded page: at most [`SAMPLES_PAGE`] open samples
//!   (oldest first) and [`REVIEWED_PAGE`] recent verdicts, and at most
//!   [`SAMPLES_BYTES`] of stored requests in all.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde_json::{Value as Json, json};

use super::layout::{self, Chrome, LIST_TEXT_MAX, Nav, agent_text_short, human_duration};
use super::request::{ReviewOutcome, load, render};
use super::session::Reviewer;
use super::{dev_mode, problem_page, signed_form};
use crate::gate::Gate;
use crate::store::RequestRow;

/// The most open samples the queue lists (oldest first). Documented in
/// docs/console.md.
pub const SAMPLES_PAGE: u32 = 200;

/// The most recent verdicts listed under the open samples.
pub const REVIEWED_PAGE: u32 = 50;

/// The most bytes of stored requests one queue page reads (each list gets
/// half): a flood of large sampled actions cuts the page, it never reads
/// without bound.
pub const SAMPLES_BYTES: usize = 32 * 1024 * 1024;

/// `GET /console/samples`: open samples, oldest first, then the latest
/// verdicts.
pub async fn page(State(gate): State<Arc<Gate>>, reviewer: Reviewer) -> Response {
    let (open, open_cut) = match gate
        .list_samples(&["open"], None, SAMPLES_PAGE, true, SAMPLES_BYTES / 2)
        .await
    {
        Ok(found) => found,
        Err(e) => return problem_page(e),
    };
    let (done, _) = match gate
        .list_samples(
            &["confirmed", "rejected"],
            None,
            REVIEWED_PAGE,
            false,
            SAMPLES_BYTES / 2,
        )
        .await
    {
        Ok(found) => found,
        Err(e) => return problem_page(e),
    };
    let now = gate.now().unix_seconds();
    let chrome = Chrome {
        title: "Samples",
        reviewer: Some(&reviewer),
        dev_mode: dev_mode(&gate),
        nav: Nav::Samples,
    };
    let body = html! {
        h1 { "Samples" }
        p.lede {
            "Auto-approved actions the policy sampled for review after the fact (" code { "sample N% for review" } "). "
            "They were executed at once; your verdict says whether they should have been. "
            (open.len()) " open, oldest first."
        }
        @if open_cut {
            p #samples-cut.warning {
                "More samples are open than one page lists (" (SAMPLES_PAGE) " samples, or "
                (SAMPLES_BYTES / 2 / (1024 * 1024)) " MiB of them): the oldest are shown. "
                "GET /v1/samples?state=open pages through all of them."
            }
        }
        @if open.is_empty() {
            p #samples-empty { "No sampled action waits for a verdict." }
        } @else {
            div.table-wrap {
                table #samples {
                    caption.visually-hidden { "Open samples, oldest first" }
                    (head())
                    tbody { @for row in &open { (sample_row(row, now)) } }
                }
            }
        }
        h2 #reviewed-title { "Latest verdicts" }
        @if done.is_empty() {
            p #reviewed-empty { "No verdict yet." }
        } @else {
            div.table-wrap {
                table #samples-reviewed aria-labelledby="reviewed-title" {
                    (head())
                    tbody { @for row in &done { (sample_row(row, now)) } }
                }
            }
        }
    };
    layout::html_response(StatusCode::OK, layout::page(&chrome, body))
}

fn head() -> Markup {
    html! {
        thead { tr {
            th scope="col" { "Action" }
            th scope="col" { "Agent" }
            th scope="col" { "Rate" }
            th scope="col" { "Age" }
            th scope="col" { "Request state" }
            th scope="col" { "Sample" }
        } }
    }
}

fn field<'a>(review: &'a Json, name: &str) -> Option<&'a str> {
    review.get(name).and_then(Json::as_str)
}

/// "5%, rule small_refund" (or "5%, tier 1" for a tier's own rate).
fn rate_text(review: &Json) -> String {
    let rate = field(review, "rate").unwrap_or("?");
    match (
        field(review, "rule"),
        review.get("tier").and_then(Json::as_i64),
    ) {
        (Some(rule), _) => format!("{rate}, rule {rule}"),
        (None, Some(tier)) => format!("{rate}, tier {tier}"),
        (None, None) => rate.to_owned(),
    }
}

fn sample_row(row: &RequestRow, now: i64) -> Markup {
    let review = row.sample_review.clone().unwrap_or(Json::Null);
    let state = field(&review, "state").unwrap_or("?");
    let href = format!("/console/requests/{}", row.id);
    let kind = super::queue::action_type(row);
    html! {
        tr.sample-row data-request-id=(row.id) data-sample-state=(state) tabindex="-1" {
            td {
                a.open href=(href) { (agent_text_short(kind, LIST_TEXT_MAX)) }
                @if let Some(t) = super::queue::target_of(row) { " on " (agent_text_short(t, LIST_TEXT_MAX)) }
                @if let Some(s) = super::queue::summary_of(row) { br; small { (agent_text_short(s, LIST_TEXT_MAX)) } }
            }
            td { (agent_text_short(&row.agent, LIST_TEXT_MAX)) }
            td { (rate_text(&review)) }
            td { (human_duration(now - row.created_unix)) }
            td { (row.state.as_str()) }
            td { span class={ "sample sample-" (state) } { (state) } }
        }
    }
}

/// The panel on a sampled request's page: the rate and rule, then the
/// verdict given, or the confirm / reject form for a person the gate would
/// take it from, or why not. Nothing for a request that was not sampled.
pub fn panel(gate: &Gate, reviewer: &Reviewer, row: &RequestRow) -> Markup {
    let Some(review) = &row.sample_review else {
        return html! {};
    };
    let state = field(review, "state").unwrap_or("?");
    html! {
        section #sample-review aria-labelledby="sample-title" data-sample-state=(state) {
            h2 #sample-title { "Sampled for review after the fact (" (rate_text(review)) ")" }
            p.hint {
                "This action was auto-approved and executed at once; the policy samples a share of such actions "
                "so that a person checks them afterwards. A rejection is counted against the rule."
            }
            @if state == "open" {
                @match gate.may_review_sample(&reviewer.principal, row) {
                    Ok(()) => (form(reviewer, row)),
                    Err(e) => p #cannot-review-sample {
                        "You cannot give this verdict: " code { (e.code) } " " (e.detail)
                    },
                }
            } @else {
                p #sample-verdict {
                    strong { (state) }
                    " by " (field(review, "reviewer").unwrap_or("?"))
                    " at " (field(review, "reviewed_at").unwrap_or("?"))
                }
                @if let Some(note) = field(review, "note") {
                    blockquote #sample-note { (note) }
                }
            }
        }
    }
}

fn form(reviewer: &Reviewer, row: &RequestRow) -> Markup {
    html! {
        form #sample-form method="post" action={ "/console/requests/" (row.id) "/sample-review" } {
            (layout::csrf_field(reviewer))
            label for="sample-note-input" { "Note (required to reject)" }
            textarea #sample-note-input name="note" maxlength="4096" {}
            div.buttons {
                button #sample-confirm type="submit" name="verdict" value="confirm" { "Confirm" }
                " "
                button #sample-reject type="submit" name="verdict" value="reject" { "Reject" }
            }
        }
    }
}

/// `POST /console/requests/{id}/sample-review`: the verdict, as the
/// signed-in person. Accepted: 303 to the request page. Refused: the
/// request page again with the refusal's status and code.
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
    let note = form.one("note").filter(|n| !n.trim().is_empty());
    let text = json!({"verdict": form.one("verdict").unwrap_or(""), "note": note}).to_string();
    match gate
        .review_sample(&reviewer.principal, &row.id, &text, None)
        .await
    {
        Ok(_) => Redirect::to(&format!("/console/requests/{}", row.id)).into_response(),
        Err(e) if e.status == 404 => problem_page(e),
        Err(e) => {
            let row = match gate.store.get(&row.id).await {
                Ok(Some(fresh)) => fresh,
                Ok(None) => return problem_page(crate::error::GateError::not_found(&row.id)),
                Err(e) => return problem_page(e),
            };
            render(
                &gate,
                &reviewer,
                row,
                ReviewOutcome {
                    reviewed: false,
                    error: Some(e),
                    reason: String::new(),
                },
            )
            .await
        }
    }
}

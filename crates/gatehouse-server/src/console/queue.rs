//! The queue (`/console/`): the pending requests the signed-in person may
//! act on, soonest deadline first, and batch approval of `queue`-tier ones.
//!
//! "May act on" is the review's own judgement ([`Gate::may_approve`]):
//! roles, limits, separation of duties, an earlier review of theirs, the
//! deadline. So a requester never sees their own action, and a row here is
//! one the reviewer's approval would be accepted for.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::Value as Json;

use super::layout::{self, Chrome, LIST_TEXT_MAX, Nav, agent_text_short, human_duration};
use super::session::Reviewer;
use super::{dev_mode, problem_page, signed_form};
use crate::gate::Gate;
use crate::lifecycle::State as LifeState;
use crate::store::{ListFilter, RequestRow};

/// The most pending requests the queue reads (soonest deadline first)
/// before it filters them by who may act. Documented in docs/console.md.
pub const QUEUE_SCAN: u32 = 2_000;

/// The most request text (bytes of stored requests) the queue reads per
/// page: an agent filing 2 000 requests of 1 MiB each would otherwise make
/// every reviewer's page load read 2 GiB. Past it the page says the queue
/// was cut, as past [`QUEUE_SCAN`].
pub const QUEUE_SCAN_BYTES: usize = 64 * 1024 * 1024;

/// The queue's filters (all optional; empty strings mean "any").
#[derive(Debug, Default, Deserialize)]
pub struct QueueFilter {
    /// Only this tier id.
    #[serde(default)]
    pub tier: Option<String>,
    /// Only this agent.
    #[serde(default)]
    pub agent: Option<String>,
    /// Only this target system (`action.target`).
    #[serde(default)]
    pub target: Option<String>,
    /// `pending` (every one), `escalated`, or `expiring` (within an hour).
    #[serde(default)]
    pub state: Option<String>,
}

fn set(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// `GET /console/`: the queue.
pub async fn page(
    State(gate): State<Arc<Gate>>,
    reviewer: Reviewer,
    Query(filter): Query<QueueFilter>,
) -> Response {
    // A tier that is not a number narrowed nothing: the page showed every
    // tier under a filter that named one.
    if let Some(t) = set(&filter.tier)
        && t.parse::<i64>().is_err()
    {
        return problem_page(crate::error::GateError::bad_request(
            "INVALID_QUERY",
            "`tier` is a tier number, such as 3",
        ));
    }
    render(&gate, &reviewer, &filter, None).await
}

/// A request in someone's queue.
#[derive(Debug)]
pub struct Queued {
    /// The request.
    pub row: RequestRow,
    /// `None`: they may approve it. Otherwise the code an approval would
    /// be refused with (missing evidence, a condition that does not hold)
    /// while a rejection or a change request would still be taken.
    pub approve_refused: Option<&'static str>,
}

/// The requests `reviewer` may act on now (approve, or at least reject),
/// filtered, soonest deadline first.
pub async fn approvable(
    gate: &Gate,
    reviewer: &Reviewer,
    filter: &QueueFilter,
) -> Result<Vec<Queued>, crate::error::GateError> {
    Ok(scan(gate, reviewer, filter).await?.0)
}

/// [`approvable`], and whether the scan read all [`QUEUE_SCAN`] rows it
/// may (so more pending requests, later deadlines, were not examined:
/// the page says so rather than "nothing waits for you", since a flood
/// of requests the reviewer may not approve would otherwise hide the
/// ones they may).
pub async fn scan(
    gate: &Gate,
    reviewer: &Reviewer,
    filter: &QueueFilter,
) -> Result<(Vec<Queued>, bool), crate::error::GateError> {
    let (rows, cut) = gate
        .store
        .list_bounded(
            &ListFilter {
                states: vec![LifeState::Pending],
                tier: set(&filter.tier).and_then(|t| t.parse().ok()),
                agent: set(&filter.agent).map(str::to_owned),
                limit: QUEUE_SCAN,
                by_deadline: true,
                actionable_by: Some(reviewer.principal.roles.clone()),
                ..ListFilter::default()
            },
            QUEUE_SCAN_BYTES,
        )
        .await?;
    let now = gate.now().unix_seconds();
    let full = cut || rows.len() >= QUEUE_SCAN as usize;
    let mut out = Vec::new();
    for row in rows {
        if let Some(target) = set(&filter.target)
            && target_of(&row) != Some(target)
        {
            continue;
        }
        match set(&filter.state) {
            Some("escalated") if row.escalated_to.is_none() => continue,
            Some("expiring") if row.deadline_unix.is_none_or(|d| d - now > 3600) => continue,
            _ => {}
        }
        // Cheap first: a request none of the person's roles can act on
        // now is not theirs (no roles listed: any authorized reviewer);
        // the full judgement decides the rest.
        if !row.roles.is_empty()
            && !row
                .roles
                .iter()
                .any(|r| reviewer.principal.roles.contains(r))
        {
            continue;
        }
        match gate.may_approve(&reviewer.principal, &row).await {
            Ok(()) => out.push(Queued {
                row,
                approve_refused: None,
            }),
            Err(no) => {
                let reject = crate::gate::ReviewDecision::Reject;
                if gate
                    .may_review(&reviewer.principal, &row, reject)
                    .await
                    .is_ok()
                {
                    out.push(Queued {
                        row,
                        approve_refused: Some(no.code),
                    });
                }
            }
        }
    }
    // Already soonest deadline first: the store lists with `by_deadline`
    // and the loop keeps its order (it sorted again, cloning an id per
    // comparison).
    Ok((out, full))
}

/// The action's type, as the agent wrote it (empty when absent).
pub fn action_type(row: &RequestRow) -> &str {
    row.input
        .pointer("/action/type")
        .and_then(Json::as_str)
        .unwrap_or("")
}

/// The action's one-line summary, as the agent wrote it.
pub fn summary_of(row: &RequestRow) -> Option<&str> {
    row.input.pointer("/action/summary").and_then(Json::as_str)
}

/// The action's target system, as the agent wrote it.
pub fn target_of(row: &RequestRow) -> Option<&str> {
    row.input.pointer("/action/target").and_then(Json::as_str)
}

/// The decision's first reason, one line (the policy's words).
pub fn first_reason(row: &RequestRow) -> Option<(&str, &str)> {
    let r = row.decision.pointer("/reasons/0")?;
    Some((
        r.get("code").and_then(Json::as_str).unwrap_or(""),
        r.get("message").and_then(Json::as_str).unwrap_or(""),
    ))
}

async fn render(
    gate: &Gate,
    reviewer: &Reviewer,
    filter: &QueueFilter,
    batch: Option<Json>,
) -> Response {
    let (rows, scan_full) = match scan(gate, reviewer, filter).await {
        Ok(found) => found,
        Err(e) => return problem_page(e),
    };
    let now = gate.now().unix_seconds();
    let any_batch = rows.iter().any(|q| q.row.outcome == "queue");
    let chrome = Chrome {
        title: "Queue",
        reviewer: Some(reviewer),
        dev_mode: dev_mode(gate),
        nav: Nav::Queue,
    };
    let body = html! {
        h1 { "Your queue" }
        p.lede { (rows.len()) " request" @if rows.len() != 1 { "s" } " you may act on, soonest deadline first." }
        @if let Some(result) = &batch { (batch_result(result)) }
        (filters(filter))
        @if scan_full {
            p #queue-cut.warning {
                "More requests are pending than the queue reads at once (" (QUEUE_SCAN)
                " requests, or " (QUEUE_SCAN_BYTES / (1024 * 1024)) " MiB of them): it examined "
                "those with the soonest deadlines, and those with later deadlines are not "
                "listed here even if you may approve them. Narrow the queue with the filters "
                "(tier, agent) to see them."
            }
        }
        @if rows.is_empty() && scan_full {
            p #queue-empty { "None of the requests examined is yours to approve (see above)." }
        } @else if rows.is_empty() {
            p #queue-empty { "Nothing waits for you. Requests you may not approve (your own, outside your roles or limits) are not listed." }
        } @else {
            form #batch method="post" action="/console/batch" {
                (layout::csrf_field(reviewer))
                div.table-wrap {
                    table #queue {
                        caption.visually-hidden { "Pending requests you may act on" }
                        thead { tr {
                            th scope="col" { span.visually-hidden { "Select" } }
                            th scope="col" { "Tier" }
                            th scope="col" { "Outcome" }
                            th scope="col" { "Action" }
                            th scope="col" { "Agent" }
                            th scope="col" { "Why" }
                            th scope="col" { "Age" }
                            th scope="col" { "Time left" }
                        } }
                        tbody {
                            @for q in &rows { (queue_row(q, now)) }
                        }
                    }
                }
                @if any_batch {
                    fieldset.batch {
                        legend { "Batch (queue tier only: explicit and dual requests are approved one at a time)" }
                        label for="batch-reason" { "Reason (optional for queue tier)" }
                        input #batch-reason type="text" name="reason" maxlength="4096";
                        button #batch-approve type="submit" name="decision" value="approve" { "Approve selected" }
                        button #batch-reject type="submit" name="decision" value="reject" { "Reject selected" }
                    }
                }
            }
        }
    };
    layout::html_response(StatusCode::OK, layout::page(&chrome, body))
}

fn queue_row(q: &Queued, now: i64) -> Markup {
    let row = &q.row;
    let tier = row.tier.map_or_else(|| "–".to_owned(), |t| t.to_string());
    let href = format!("/console/requests/{}", row.id);
    let action_type = action_type(row);
    let summary = summary_of(row);
    html! {
        tr.queue-row data-request-id=(row.id) data-tier=(tier) data-outcome=(row.outcome) tabindex="-1" {
            td {
                @if row.outcome == "queue" {
                    input type="checkbox" name="ids" value=(row.id) aria-label={ "Select " (row.id) };
                }
            }
            td { span.tier { (tier) } }
            td { span class={ "outcome outcome-" (row.outcome) } { (row.outcome) } }
            td {
                a.open href=(href) { (agent_text_short(action_type, LIST_TEXT_MAX)) }
                @if let Some(t) = target_of(row) { " on " (agent_text_short(t, LIST_TEXT_MAX)) }
                @if let Some(s) = summary { br; small { (agent_text_short(s, LIST_TEXT_MAX)) } }
            }
            td { (agent_text_short(&row.agent, LIST_TEXT_MAX)) }
            td {
                @if let Some((code, message)) = first_reason(row) {
                    code { (code) } " " (message)
                }
                @if let Some(role) = &row.escalated_to { br; small.escalated { "escalated to " (role) } }
                @if let Some(code) = q.approve_refused {
                    br; small.reject-only { "you may reject it, not approve it: " code { (code) } }
                }
            }
            td { (human_duration(now - row.created_unix)) }
            td {
                @match row.deadline_unix {
                    Some(d) => span.countdown data-deadline-unix=(d) { (human_duration(d - now)) },
                    None => "no deadline",
                }
            }
        }
    }
}

fn filters(f: &QueueFilter) -> Markup {
    let v = |x: &Option<String>| x.clone().unwrap_or_default();
    let state = v(&f.state);
    html! {
        form #filters method="get" action="/console/" role="search" {
            label { "Tier " input type="text" name="tier" inputmode="numeric" size="3" value=(v(&f.tier)); }
            label { "Agent " input type="text" name="agent" value=(v(&f.agent)); }
            label { "Target " input type="text" name="target" value=(v(&f.target)); }
            label { "State "
                select name="state" {
                    option value="" selected[state.is_empty()] { "all pending" }
                    option value="escalated" selected[state == "escalated"] { "escalated" }
                    option value="expiring" selected[state == "expiring"] { "deadline within 1 h" }
                }
            }
            button type="submit" { "Filter" }
        }
    }
}

fn batch_result(result: &Json) -> Markup {
    let items = result
        .get("results")
        .and_then(Json::as_array)
        .cloned()
        .unwrap_or_default();
    html! {
        section #batch-result aria-live="polite" {
            h2 { "Batch result" }
            ul {
                @for item in &items {
                    @let id = item.get("id").and_then(Json::as_str).unwrap_or("");
                    @let status = item.get("status").and_then(Json::as_u64).unwrap_or(0);
                    li data-request-id=(id) data-status=(status) {
                        code { (id) } ": "
                        @if let Some(state) = item.pointer("/request/state").and_then(Json::as_str) {
                            "now " strong { (state) }
                        } @else {
                            "refused, "
                            code { (item.pointer("/problem/code").and_then(Json::as_str).unwrap_or("")) }
                            " " (item.pointer("/problem/detail").and_then(Json::as_str).unwrap_or(""))
                        }
                    }
                }
            }
        }
    }
}

/// `POST /console/batch`: approves (or rejects) the checked `queue`-tier
/// requests, each judged as a single review; explicit and dual requests
/// are refused one by one (`BATCH_NOT_ALLOWED`).
pub async fn batch(
    State(gate): State<Arc<Gate>>,
    reviewer: Reviewer,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = match signed_form(&gate, &reviewer, &headers, &body) {
        Ok(f) => f,
        Err(refused) => return *refused,
    };
    let ids: Vec<&str> = form.all("ids").collect();
    let decision = form.one("decision").unwrap_or("");
    let reason = form.one("reason").map(str::trim).filter(|r| !r.is_empty());
    let text = serde_json::json!({
        "requests": ids,
        "decision": decision,
        "reason": reason,
    })
    .to_string();
    match gate.review_batch(&reviewer.principal, &text).await {
        Ok(answer) => {
            let result: Json = serde_json::from_str(&answer).unwrap_or(Json::Null);
            render(&gate, &reviewer, &QueueFilter::default(), Some(result)).await
        }
        Err(e) => problem_page(e),
    }
}

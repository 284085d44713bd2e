//! The shadow (candidate) policy in the console (docs/console.md,
//! docs/shadow.md): a panel on the request page saying what the candidate
//! would decide and which reasons differ, and a page (`/console/shadow`)
//! listing the requests where it differs from the enforced decision,
//! bounded like the queue (at most [`SHADOW_SCAN`] requests read per page).
//!
//! Nothing here changes a request: the shadow is recorded, never enforced.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::Value as Json;

use super::layout::{self, Chrome, LIST_TEXT_MAX, Nav, agent_text_short};
use super::session::Reviewer;
use super::{dev_mode, problem_page};
use crate::api::shadow::{SHADOW_SCAN, ShadowQuery, scan};
use crate::error::GateError;
use crate::gate::Gate;
use crate::store::RequestRow;

/// Requests listed per page.
pub const SHADOW_PAGE: u32 = 50;

/// `name version` of the shadow set a row names.
fn policy_label(shadow: &Json) -> String {
    let field = |k: &str| {
        shadow
            .pointer(&format!("/policy/{k}"))
            .and_then(Json::as_str)
            .unwrap_or("?")
            .to_owned()
    };
    format!("{} {}", field("name"), field("version"))
}

/// `explicit (tier 3)` from a decision's JSON.
fn outcome_of(decision: &Json) -> String {
    let outcome = decision
        .get("outcome")
        .and_then(Json::as_str)
        .unwrap_or("?");
    match decision.pointer("/tier/id").and_then(Json::as_i64) {
        Some(t) => format!("{outcome} (tier {t})"),
        None => outcome.to_owned(),
    }
}

/// `(code, message)` of each reason of a decision's JSON.
fn reasons_of(decision: &Json) -> Vec<(String, String)> {
    decision
        .get("reasons")
        .and_then(Json::as_array)
        .map(|rs| {
            rs.iter()
                .map(|r| {
                    let text = |k: &str| r.get(k).and_then(Json::as_str).unwrap_or("").to_owned();
                    (text("code"), text("message"))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The request page's panel: what the candidate would decide and the
/// reasons that differ. Nothing when the request was decided without a
/// shadow set.
pub fn panel(row: &RequestRow) -> Markup {
    let Some(shadow) = &row.shadow else {
        return html! {};
    };
    let label = policy_label(shadow);
    let enforced = outcome_of(&row.decision);
    let error = shadow.get("error").and_then(Json::as_str);
    let decision = shadow.get("decision").unwrap_or(&Json::Null);
    let differs = shadow
        .get("differs")
        .and_then(Json::as_bool)
        .unwrap_or(true);
    let ours = reasons_of(&row.decision);
    let theirs = reasons_of(decision);
    let added: Vec<&(String, String)> = theirs
        .iter()
        .filter(|(c, _)| !ours.iter().any(|(o, _)| o == c))
        .collect();
    let removed: Vec<&(String, String)> = ours
        .iter()
        .filter(|(c, _)| !theirs.iter().any(|(t, _)| t == c))
        .collect();
    html! {
        section #shadow aria-labelledby="shadow-title" {
            h2 #shadow-title { "Shadow policy" }
            @if let Some(e) = error {
                p #shadow-verdict {
                    "Shadow policy " strong { (label) } " failed to decide: " (e)
                    " (enforced: " strong { (enforced) } ")"
                }
            } @else if differs {
                p #shadow-verdict {
                    "Shadow policy " strong { (label) } " would decide: "
                    strong { (outcome_of(decision)) }
                    " (enforced: " strong { (enforced) } ")"
                }
            } @else {
                p #shadow-verdict {
                    "Shadow policy " strong { (label) } " decides the same: "
                    strong { (outcome_of(decision)) }
                    " (enforced: " strong { (enforced) } ")"
                }
            }
            @if !added.is_empty() || !removed.is_empty() {
                ul #shadow-reasons {
                    @for (code, message) in &added {
                        li { "only the shadow: " code { (code) } " " (message) }
                    }
                    @for (code, message) in &removed {
                        li { "only enforced: " code { (code) } " " (message) }
                    }
                }
            }
            p.hint { "Recorded for comparison only: the shadow policy is never enforced." }
        }
    }
}

/// The page's query: `before` (the next page).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShadowPageQuery {
    /// Only requests older than this one.
    #[serde(default)]
    pub before: Option<String>,
}

/// `GET /console/shadow`: the requests where the shadow differs, newest
/// first.
pub async fn page(
    State(gate): State<Arc<Gate>>,
    reviewer: Reviewer,
    query: Result<Query<ShadowPageQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(Query(query)) = query else {
        return problem_page(GateError::bad_request(
            "INVALID_QUERY",
            "the only parameter is `before`, a request id",
        ));
    };
    let before = query.before.filter(|b| !b.is_empty());
    if let Some(b) = &before
        && !crate::ids::is_id(b, "req_")
    {
        return problem_page(GateError::bad_request(
            "INVALID_QUERY",
            "`before` is a request id",
        ));
    }
    let wanted = ShadowQuery {
        differs: true,
        before,
        limit: SHADOW_PAGE,
    };
    let (rows, next, scanned) = match scan(&gate, &wanted).await {
        Ok(found) => found,
        Err(e) => return problem_page(e),
    };
    let current = gate.shadow_policy();
    let chrome = Chrome {
        title: "Shadow policy differences",
        reviewer: Some(&reviewer),
        dev_mode: dev_mode(&gate),
        nav: Nav::Shadow,
    };
    let body = html! {
        h1 { "Shadow policy differences" }
        p #shadow-now {
            @match &current {
                Some(s) => {
                    "Shadow policy in force: " strong { (s.policy.name()) " " (s.policy.version()) }
                    ". Requests where it would decide differently from the enforced policy, newest first. It is recorded, never enforced."
                }
                None => { "No shadow policy is configured now (" code { "[shadow] policy" } " or " code { "--shadow-policy" } "). Requests decided while one was are listed." }
            }
        }
        @if let Some(e) = gate.shadow_error() {
            p #shadow-error role="alert" { "The last shadow reload was refused (the previous shadow set stays): " (e) }
        }
        @if rows.is_empty() {
            p #shadow-empty { "No differing request among the " (scanned) " read." }
        } @else {
            div.table-wrap {
                table #shadow-list {
                    caption.visually-hidden { "Requests where the shadow policy differs, newest first" }
                    thead { tr {
                        th scope="col" { "Created (UTC)" }
                        th scope="col" { "Request" }
                        th scope="col" { "Agent" }
                        th scope="col" { "Enforced" }
                        th scope="col" { "Shadow would decide" }
                    } }
                    tbody {
                        @for row in &rows {
                            (list_row(row))
                        }
                    }
                }
            }
        }
        @if let Some(next) = &next {
            p { a #shadow-next href={ "/console/shadow?before=" (next) } { "Older requests" } }
            p.hint { "A page reads at most " (SHADOW_SCAN) " requests." }
        }
    };
    layout::html_response(StatusCode::OK, layout::page(&chrome, body))
}

fn list_row(row: &RequestRow) -> Markup {
    let shadow = row.shadow.as_ref().unwrap_or(&Json::Null);
    let theirs = match shadow.get("error").and_then(Json::as_str) {
        Some(_) => "error".to_owned(),
        None => outcome_of(shadow.get("decision").unwrap_or(&Json::Null)),
    };
    html! {
        tr {
            td { time datetime=(row.created_at) { (row.created_at.get(..16).unwrap_or(&row.created_at).replace('T', " ")) } }
            td { a href={ "/console/requests/" (row.id) } { (row.id) } }
            td { (agent_text_short(&row.agent, LIST_TEXT_MAX)) }
            td { (outcome_of(&row.decision)) }
            td { (theirs) " · " (policy_label(shadow)) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row(shadow: Option<Json>) -> RequestRow {
        let mut row: RequestRow = serde_json::from_value(json!({
            "id": "req_t", "state": "approved", "created_at": "2026-12-05T10:00:00Z",
            "created_unix": 0, "updated_at": "2026-12-05T10:00:00Z", "deadline": null,
            "deadline_unix": null, "requester": "a", "agent": "a", "outcome": "auto",
            "tier": 0, "roles": [], "action_digest": "", "policy_digest": "", "input": {},
            "decision": {"outcome": "auto", "tier": {"id": 0}, "reasons": [{"code": "INTERNAL", "message": "internal"}]},
            "approvals": [], "escalated_to": null, "escalations": 0, "execution": null,
            "verification": null, "version": 1
        }))
        .expect("a row");
        row.shadow = shadow;
        row
    }

    #[test]
    fn the_panel_says_what_the_shadow_would_decide_and_which_reasons_differ() {
        assert_eq!(panel(&row(None)).into_string(), "");
        let html = panel(&row(Some(json!({
            "policy": {"name": "next<script>", "version": "2", "digest": "sha256:x"},
            "decision": {"outcome": "explicit", "tier": {"id": 2},
                "reasons": [{"code": "BIG", "message": "a big one"}]},
            "differs": true
        }))))
        .into_string();
        assert!(html.contains("would decide: <strong>explicit (tier 2)</strong> (enforced: <strong>auto (tier 0)</strong>)"), "{html}");
        assert!(html.contains("only the shadow: <code>BIG</code>"), "{html}");
        assert!(
            html.contains("only enforced: <code>INTERNAL</code>"),
            "{html}"
        );
        assert!(!html.contains("<script>"), "escaped: {html}");
        let html = panel(&row(Some(json!({
            "policy": {"name": "n", "version": "1", "digest": "d"},
            "decision": null, "differs": true, "error": "boom"
        }))))
        .into_string();
        assert!(html.contains("failed to decide: boom"), "{html}");
    }
}

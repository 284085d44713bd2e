//! One request's history (`/console/requests/{id}/history`): every audit
//! record of the request, in chain order, as a timeline a person reads:
//! the decision, then each transition with who caused it, how they
//! authenticated, why and when.
//!
//! The records are the audit chain's own (`Store::audit_of`), not a
//! summary kept beside it: what this page shows is what `gatehouse audit
//! verify` checks. Execution reports inside records are the executor's
//! words and are shown as agent-provided.

use std::sync::Arc;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use serde_json::Value as Json;

use super::layout::{self, Chrome, Nav, agent_text, agent_value};
use super::request::{audit_records, load};
use super::session::Reviewer;
use super::{dev_mode, problem_page};
use crate::gate::Gate;

/// `GET /console/requests/{id}/history`: the timeline.
pub async fn page(
    State(gate): State<Arc<Gate>>,
    reviewer: Reviewer,
    id: Result<Path<String>, PathRejection>,
) -> Response {
    let row = match load(&gate, id).await {
        Ok(row) => row,
        Err(page) => return page,
    };
    let records = match audit_records(&gate, &row.id).await {
        Ok(r) => r,
        Err(e) => return problem_page(e),
    };
    let title = format!("History of {}", row.id);
    let chrome = Chrome {
        title: &title,
        reviewer: Some(&reviewer),
        dev_mode: dev_mode(&gate),
        nav: Nav::History,
    };
    let body = html! {
        h1 { "History of " code { (row.id) } }
        p.lede {
            "Now " strong #request-state { (row.state.as_str()) } ". "
            (records.len()) " audit record" @if records.len() != 1 { "s" } ", in chain order. "
            a href={ "/console/requests/" (row.id) } { "Back to the request" }
        }
        ol #timeline {
            @for (seq, record) in &records { (entry(*seq, record)) }
        }
    };
    layout::html_response(StatusCode::OK, layout::page(&chrome, body))
}

fn text<'a>(v: &'a Json, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Json::as_str).unwrap_or("")
}

/// One record.
fn entry(seq: i64, r: &Json) -> Markup {
    let kind = text(r, "/record");
    html! {
        li data-seq=(seq) data-record=(kind) data-event=(text(r, "/event")) {
            span.seq { "#" (seq) } " "
            time { (text(r, "/time")) } " · "
            @match kind {
                "decision" => (decision(r)),
                "transition" => (transition(r)),
                _ => span.warning { "a record this console cannot read (see the audit export)" },
            }
        }
    }
}

fn decision(r: &Json) -> Markup {
    let codes: Vec<&str> = r
        .pointer("/decision/reasons")
        .and_then(Json::as_array)
        .map(|rs| {
            rs.iter()
                .filter_map(|x| x.get("code").and_then(Json::as_str))
                .collect()
        })
        .unwrap_or_default();
    html! {
        strong.event { "decided" } " by policy " (text(r, "/policy/name")) " " (text(r, "/policy/version"))
        ": outcome " span class={ "outcome outcome-" (text(r, "/outcome")) } { (text(r, "/outcome")) }
        @if !codes.is_empty() { " (" (codes.join(", ")) ")" }
    }
}

fn transition(r: &Json) -> Markup {
    let event = text(r, "/event");
    let method = text(r, "/actor/method");
    let detail = r
        .get("detail")
        .filter(|d| d.as_object().is_some_and(|o| !o.is_empty()));
    // Execution reports are the executor's words (agent-provided); every
    // other detail is the gate's.
    let reported = matches!(event, "complete" | "verify");
    // The requester's and the executor's own words: a cancel's reason is
    // the agent's (the requester is an agent's key), like a report.
    let agent_words = matches!(event, "cancel" | "claim" | "complete" | "verify");
    html! {
        strong.event { (event_words(event)) } " " code { (event) } " "
        span.states { (text(r, "/from")) " → " strong { (text(r, "/to")) } }
        " by " strong.actor { (text(r, "/actor/id")) }
        " (" span.method { (method) } ")"
        @if let Some(key) = r.pointer("/actor/key_id").and_then(Json::as_str) { " key " code { (key) } }
        @if let Some(reason) = r.get("reason").and_then(Json::as_str) {
            @if agent_words {
                blockquote.reason { (agent_text(reason)) }
            } @else {
                blockquote.reason { (reason) }
            }
        }
        @if let Some(d) = detail {
            @if reported {
                div.detail { "report: " (agent_value(d)) }
            } @else {
                div.detail { code { (d.to_string()) } }
            }
        }
    }
}

/// An event in plain words.
fn event_words(event: &str) -> &str {
    match event {
        "decide" => "decided",
        "auto_approve" => "approved by the policy (auto)",
        "queue" => "waits for people",
        "block" => "blocked",
        "approve" => "approved (more approvals needed)",
        "approve_complete" => "approved (complete)",
        "reject" => "rejected",
        "request_changes" => "changes requested",
        "cancel" => "cancelled by the requester",
        "expire" => "deadline passed",
        "escalate" => "escalated",
        "requeue" => "waits again, for the escalation role",
        "claim" => "claimed for execution",
        "reopen" => "reopened (approvals no longer suffice)",
        "sample_review" => "sampled action reviewed after the fact",
        "complete" => "executed",
        "verify" => "verified",
        other => other,
    }
}

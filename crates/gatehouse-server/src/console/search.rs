//! History search (`GET /console/history`): past requests by agent, rule
//! that fired, reason code, reviewer, outcome, state and creation time,
//! newest first, a page at a time. The store does the matching
//! ([`crate::store::Store::search`]) under its bound: one page examines at
//! most [`SEARCH_SCAN`] requests, so a rare filter ends a page early with a
//! link to search older requests rather than reading the whole table.
//!
//! The query string is read by hand: a malformed filter (unknown outcome
//! or state, a bad date or id, a repeated field, an out-of-range limit) is
//! a 400 page with `#error-code` `INVALID_QUERY`, never a panic or a
//! silently ignored filter.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use gatehouse::values::Timestamp;
use maud::{Markup, html};
use serde_json::Value as Json;

use super::layout::{self, Chrome, LIST_TEXT_MAX, Nav, agent_text_short};
use super::queue::target_of;
use super::session::Reviewer;
use super::{dev_mode, problem_page};
use crate::error::GateError;
use crate::gate::Gate;
use crate::lifecycle::State as LifeState;
use crate::store::{OUTCOMES, RequestRow, SEARCH_PAGE_MAX, SEARCH_SCAN, SearchFilter, SearchPage};

/// Rows per page unless `limit` says otherwise.
pub const DEFAULT_LIMIT: u32 = 50;

/// The longest text filter accepted, in bytes (ids and rule names are
/// far shorter; this only refuses abuse).
const MAX_FILTER_BYTES: usize = 256;

/// The longest query string accepted, in bytes.
const MAX_QUERY_BYTES: usize = 4096;

/// The text fields of the form, in the order of the page.
const TEXT_FIELDS: [(&str, &str); 4] = [
    ("agent", "Agent"),
    ("rule", "Rule that fired"),
    ("reason", "Reason code"),
    ("approver", "Reviewed by"),
];

/// Every field the search reads (others are ignored, as a browser may
/// send its button's name).
const FIELDS: [&str; 10] = [
    "agent",
    "rule",
    "reason",
    "approver",
    "outcome",
    "state",
    "created_after",
    "created_before",
    "before",
    "limit",
];

/// The query as given (for the form to show it again) and as understood.
#[derive(Debug, Default)]
pub struct Search {
    /// Each known field's value as sent, trimmed (absent: empty).
    pub given: Vec<(&'static str, String)>,
    /// The store's question.
    pub filter: SearchFilter,
}

impl Search {
    fn given(&self, name: &str) -> &str {
        self.given
            .iter()
            .find(|(k, _)| *k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// The query string of this search starting before `before`.
    fn next_href(&self, before: &str) -> String {
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &self.given {
            if *k != "before" && !v.is_empty() {
                s.append_pair(k, v);
            }
        }
        s.append_pair("before", before);
        format!("/console/history?{}", s.finish())
    }
}

fn invalid(detail: impl Into<String>) -> GateError {
    GateError::bad_request("INVALID_QUERY", detail)
}

/// `YYYY-MM-DD` (midnight UTC) or an RFC 3339 timestamp, as Unix seconds.
fn parse_time(field: &str, text: &str) -> Result<i64, GateError> {
    let full = if text.len() == 10 {
        format!("{text}T00:00:00Z")
    } else {
        text.to_owned()
    };
    Timestamp::parse(&full)
        .map(|t| t.unix_seconds())
        .ok_or_else(|| {
            invalid(format!(
                "`{field}` is a date like 2026-12-01 or a timestamp like 2026-12-01T10:00:00Z"
            ))
        })
}

/// Reads the query string (see the module documentation for what is
/// refused).
pub fn parse(query: Option<&str>) -> Result<Search, GateError> {
    let query = query.unwrap_or("");
    if query.len() > MAX_QUERY_BYTES {
        return Err(invalid(format!(
            "the query is longer than {MAX_QUERY_BYTES} bytes"
        )));
    }
    let mut given: Vec<(&'static str, String)> = Vec::new();
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        let Some(name) = FIELDS.iter().find(|f| **f == k) else {
            continue;
        };
        if given.iter().any(|(g, _)| g == name) {
            return Err(invalid(format!("`{name}` is given more than once")));
        }
        let v = v.trim();
        if v.len() > MAX_FILTER_BYTES {
            return Err(invalid(format!(
                "`{name}` is longer than {MAX_FILTER_BYTES} bytes"
            )));
        }
        if v.chars().any(char::is_control) {
            return Err(invalid(format!("`{name}` holds a control character")));
        }
        given.push((name, v.to_owned()));
    }
    let mut search = Search {
        given,
        filter: SearchFilter {
            limit: DEFAULT_LIMIT,
            ..SearchFilter::default()
        },
    };
    let text = |name: &str| Some(search.given(name).to_owned()).filter(|v| !v.is_empty());
    let f = SearchFilter {
        agent: text("agent"),
        rule: text("rule"),
        reason: text("reason"),
        approver: text("approver"),
        outcome: text("outcome"),
        state: match text("state") {
            None => None,
            Some(s) => Some(
                LifeState::parse(&s)
                    .filter(|s| s.is_resting())
                    .ok_or_else(|| invalid(format!("`{s}` is not a state a request rests in")))?,
            ),
        },
        created_after: text("created_after")
            .map(|t| parse_time("created_after", &t))
            .transpose()?,
        created_before: text("created_before")
            .map(|t| parse_time("created_before", &t))
            .transpose()?,
        before_id: text("before"),
        limit: match text("limit") {
            None => DEFAULT_LIMIT,
            Some(l) => l
                .parse::<u32>()
                .ok()
                .filter(|l| (1..=SEARCH_PAGE_MAX).contains(l))
                .ok_or_else(|| {
                    invalid(format!(
                        "`limit` is a whole number from 1 to {SEARCH_PAGE_MAX}"
                    ))
                })?,
        },
    };
    if let Some(o) = &f.outcome
        && !OUTCOMES.contains(&o.as_str())
    {
        return Err(invalid(format!(
            "`{o}` is not an outcome (one of {})",
            OUTCOMES.join(", ")
        )));
    }
    if let Some(id) = &f.before_id
        && !crate::ids::is_id(id, "req_")
    {
        return Err(invalid("`before` is a request id (req_ and 32 hex digits)"));
    }
    if let (Some(a), Some(b)) = (f.created_after, f.created_before)
        && a >= b
    {
        return Err(invalid(
            "`created_after` is not before `created_before`: the range is empty",
        ));
    }
    search.filter = f;
    Ok(search)
}

/// `GET /console/history`: the search form and a page of results.
pub async fn page(
    State(gate): State<Arc<Gate>>,
    reviewer: Reviewer,
    RawQuery(query): RawQuery,
) -> Response {
    let search = match parse(query.as_deref()) {
        Ok(s) => s,
        Err(e) => return problem_page(e),
    };
    let found = match gate.store.search(&search.filter).await {
        Ok(found) => found,
        Err(e) => return problem_page(e),
    };
    let chrome = Chrome {
        title: "History",
        reviewer: Some(&reviewer),
        dev_mode: dev_mode(&gate),
        nav: Nav::History,
    };
    let body = html! {
        h1 { "History" }
        p.lede {
            "Past and present requests, newest first. Each filter narrows the search; text is matched exactly."
        }
        (form(&search))
        (results(&search, &found))
    };
    layout::html_response(StatusCode::OK, layout::page(&chrome, body))
}

fn form(search: &Search) -> Markup {
    let outcome = search.given("outcome");
    let state = search.given("state");
    html! {
        form #search method="get" action="/console/history" role="search" {
            @for (name, label) in TEXT_FIELDS {
                label { (label) " " input type="text" name=(name) value=(search.given(name)) maxlength="256"; }
            }
            label { "Outcome "
                select name="outcome" {
                    option value="" selected[outcome.is_empty()] { "any" }
                    @for o in OUTCOMES { option value=(o) selected[outcome == o] { (o) } }
                }
            }
            label { "State "
                select name="state" {
                    option value="" selected[state.is_empty()] { "any" }
                    @for s in LifeState::ALL.iter().filter(|s| s.is_resting()) {
                        option value=(s.as_str()) selected[state == s.as_str()] { (s.as_str()) }
                    }
                }
            }
            label { "Created on or after " input type="date" name="created_after" value=(search.given("created_after")); }
            label { "Created before " input type="date" name="created_before" value=(search.given("created_before")); }
            label { "Per page " input type="number" name="limit" min="1" max=(SEARCH_PAGE_MAX) value=(search.filter.limit); }
            button type="submit" { "Search" }
        }
    }
}

fn results(search: &Search, found: &SearchPage) -> Markup {
    html! {
        p #search-summary aria-live="polite" {
            (found.rows.len()) " request" @if found.rows.len() != 1 { "s" } " shown, searched among "
            (found.scanned) " (a page searches at most the " (SEARCH_SCAN) " newest requests from where it starts)."
        }
        @if found.rows.is_empty() {
            p #results-empty { "No request matches among those examined." }
        } @else {
            div.table-wrap {
                table #results {
                    caption.visually-hidden { "Requests matching the search, newest first" }
                    thead { tr {
                        th scope="col" { "Created (UTC)" }
                        th scope="col" { "Action" }
                        th scope="col" { "Agent" }
                        th scope="col" { "Outcome" }
                        th scope="col" { "State" }
                        th scope="col" { "Rules fired (" strong { "determining" } ")" }
                        th scope="col" { "Reasons" }
                        th scope="col" { "Reviewed by" }
                    } }
                    tbody { @for row in &found.rows { (result_row(row)) } }
                }
            }
        }
        @if let Some(before) = &found.next_before {
            p.paging {
                @if found.window_ended {
                    "This page stopped after examining " (found.scanned)
                    " requests; older ones were not searched yet. "
                    a #next-page href=(search.next_href(before)) rel="next" { "Search older requests" }
                } @else {
                    a #next-page href=(search.next_href(before)) rel="next" { "Next page (older)" }
                }
            }
        }
    }
}

/// Every rule the decision lists, with whether it determined the outcome.
fn fired_rules(row: &RequestRow) -> Vec<(&str, bool)> {
    row.decision
        .get("rules")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| {
            let name = r.get("name").and_then(Json::as_str)?;
            Some((
                name,
                r.get("determining").and_then(Json::as_bool) == Some(true),
            ))
        })
        .collect()
}

fn result_row(row: &RequestRow) -> Markup {
    let href = format!("/console/requests/{}", row.id);
    let action_type = row
        .input
        .pointer("/action/type")
        .and_then(Json::as_str)
        .unwrap_or("");
    let tier = row.tier.map_or_else(|| "–".to_owned(), |t| t.to_string());
    let reasons: Vec<&str> = row
        .decision
        .get("reasons")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| r.get("code").and_then(Json::as_str))
        .collect();
    html! {
        tr data-request-id=(row.id) data-outcome=(row.outcome) data-state=(row.state.as_str()) {
            td { time datetime=(row.created_at) { (row.created_at.get(..16).unwrap_or(&row.created_at).replace('T', " ")) } }
            td {
                a.open href=(href) {
                    @if action_type.is_empty() { code { (row.id) } } @else { (agent_text_short(action_type, LIST_TEXT_MAX)) }
                }
                @if let Some(t) = target_of(row) { " on " (agent_text_short(t, LIST_TEXT_MAX)) }
            }
            td { (agent_text_short(&row.agent, LIST_TEXT_MAX)) }
            td { span class={ "outcome outcome-" (row.outcome) } { (row.outcome) } " · tier " (tier) }
            td { (row.state.as_str()) }
            td {
                @for (i, (name, determining)) in fired_rules(row).into_iter().enumerate() {
                    @if i > 0 { ", " }
                    @if determining { strong { code { (name) } } } @else { code { (name) } }
                }
            }
            td { @for (i, r) in reasons.iter().enumerate() { @if i > 0 { ", " } code { (r) } } }
            td {
                @for (i, a) in row.approvals.iter().enumerate() {
                    @if i > 0 { ", " }
                    (a.pointer("/approval/approver").and_then(Json::as_str).unwrap_or("?"))
                    " (" (a.get("review").and_then(Json::as_str).unwrap_or("?")) ")"
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_are_read() {
        let s = parse(Some(
            "agent=bot&rule=r1&outcome=dual&state=approved&created_after=2026-12-01&limit=7&x=1",
        ))
        .expect("valid");
        assert_eq!(s.filter.agent.as_deref(), Some("bot"));
        assert_eq!(s.filter.rule.as_deref(), Some("r1"));
        assert_eq!(s.filter.outcome.as_deref(), Some("dual"));
        assert_eq!(s.filter.state, Some(LifeState::Approved));
        assert_eq!(s.filter.created_after, Some(1_796_083_200));
        assert_eq!(s.filter.limit, 7);
        let empty = parse(Some("agent=&rule=+")).expect("blank is any");
        assert_eq!(empty.filter.agent, None);
        assert_eq!(empty.filter.rule, None);
        assert_eq!(empty.filter.limit, DEFAULT_LIMIT);
    }

    #[test]
    fn malformed_filters_are_refused() {
        for bad in [
            "outcome=maybe",
            "state=expired",
            "state=nope",
            "before=req_..%2F",
            "limit=0",
            "limit=201",
            "limit=ten",
            "created_after=yesterday",
            "created_after=2026-12-02&created_before=2026-12-01",
            "agent=a&agent=b",
            "agent=%00",
        ] {
            let e = parse(Some(bad)).expect_err(bad);
            assert_eq!((e.status, e.code), (400, "INVALID_QUERY"), "{bad}");
        }
        assert!(parse(Some(&format!("agent={}", "a".repeat(300)))).is_err());
        assert!(parse(Some(&"x=1&".repeat(2000))).is_err());
    }

    #[test]
    fn the_next_page_keeps_the_filters() {
        let s = parse(Some(
            "agent=a b&before=req_00000000000000000000000000000001",
        ))
        .expect("valid");
        assert_eq!(
            s.next_href("req_0000000000000000000000000000000f"),
            "/console/history?agent=a+b&before=req_0000000000000000000000000000000f"
        );
    }
}

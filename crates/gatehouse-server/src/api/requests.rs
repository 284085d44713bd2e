//! `/v1/requests`: create, read, list, review, cancel, claim, report.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{Value as Json, json};

use super::{PathId, body_text, idempotency_key, json_answer};
use crate::auth::{Principal, Scope};
use crate::error::{FieldError, GateError};
use crate::gate::{Gate, view_for};
use crate::lifecycle::{Event, State as LifeState};
use crate::store::{ListFilter, RequestRow};

/// Refuses a path id that is not a request id before any lookup.
pub(super) fn request_id(id: &str) -> Result<&str, GateError> {
    if crate::ids::is_id(id, "req_") {
        Ok(id)
    } else {
        // At most 64 characters of what was sent, cut on a character
        // boundary (a short id is named whole, not as "too long").
        let shown: String = id.chars().take(64).collect();
        Err(GateError::not_found(&shown))
    }
}

/// Whether the caller may see every request: readers, reviewers,
/// executors and admins.
pub(super) fn sees_every_request(principal: &Principal) -> bool {
    principal.can(Scope::Read) || principal.can(Scope::Approve) || principal.can(Scope::Execute)
}

/// Whether the caller may see this request: readers, reviewers and admins
/// see every one; a requester sees their own.
pub(crate) fn may_read(principal: &Principal, row: &RequestRow) -> bool {
    sees_every_request(principal)
        || crate::gate::person_key_of(&principal.id) == crate::gate::person_key_of(&row.requester)
}

/// The identities a person's requests may be stored under: their own and
/// every API key identity that is the same person (`Alice`, `alice`).
/// A list filtered by these holds only requests [`may_read`] lets them
/// see, so neither the page's size nor its `next_before` tells them about
/// anyone else's requests (it used to: the page was filtered after the
/// limit, and `next_before` was the id of another person's request).
async fn spellings_of(gate: &Gate, identity: &str) -> Result<Vec<String>, GateError> {
    let person = crate::gate::person_key_of(identity);
    let mut spellings = vec![identity.to_owned()];
    for key in gate.store.keys().await? {
        if !spellings.contains(&key.identity) && crate::gate::person_key_of(&key.identity) == person
        {
            spellings.push(key.identity);
        }
    }
    Ok(spellings)
}

/// Loads a request the caller may read (404 otherwise: whether it exists
/// is not told to those who may not see it).
pub(crate) async fn readable(
    gate: &Gate,
    principal: &Principal,
    id: &str,
) -> Result<RequestRow, GateError> {
    let id = request_id(id)?;
    match gate.store.get(id).await? {
        Some(row) if may_read(principal, &row) => Ok(row),
        _ => Err(GateError::not_found(id)),
    }
}

pub(crate) async fn create(
    State(gate): State<Arc<Gate>>,
    principal: Principal,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, GateError> {
    principal.require(&[Scope::Request])?;
    let key = idempotency_key(&headers, &principal)?;
    let text = body_text(&headers, body)?;
    let (status, body) = gate.create_request(&principal, &text, key).await?;
    Ok(json_answer(status, body))
}

pub(crate) async fn get_one(
    State(gate): State<Arc<Gate>>,
    principal: Principal,
    PathId(id): PathId,
) -> Result<Response, GateError> {
    let row = readable(&gate, &principal, &id).await?;
    Ok(json_answer(200, view_for(&principal, &row).to_string()))
}

/// Reads the list filters: `state` (repeatable or comma-separated),
/// `tier`, `role`, `agent`, `min_age` / `max_age` (seconds), `before`
/// (an id, for the next page), `limit`.
fn list_filter(query: Option<&str>, gate: &Gate) -> Result<ListFilter, GateError> {
    // The default page is capped by `list_limit` too (it was 100 whatever
    // the cap), and a cap of 0 (refused at start) cannot panic the clamp.
    let cap = gate.config.limits.list_limit.max(1);
    let mut filter = ListFilter {
        limit: cap.min(100),
        ..ListFilter::default()
    };
    let now = gate.now().unix_seconds();
    let bad = |name: &str, detail: &str| {
        GateError::invalid_body(vec![FieldError {
            path: format!("query.{name}"),
            detail: detail.to_owned(),
        }])
    };
    let query = query.unwrap_or("");
    if query.len() > 4096 {
        return Err(bad("", "the query string is longer than 4096 bytes"));
    }
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value =
            percent_decode(value).ok_or_else(|| bad(name, "not valid percent-encoded UTF-8"))?;
        let number = |v: &str| v.parse::<i64>().ok().filter(|n| *n >= 0);
        match name {
            "state" => {
                for s in value.split(',') {
                    let state = LifeState::parse(s).ok_or_else(|| bad(name, "not a state name"))?;
                    filter.states.push(state);
                }
            }
            "tier" => {
                filter.tier = Some(number(&value).ok_or_else(|| bad(name, "not a tier number"))?)
            }
            "role" => filter.role = Some(value),
            "agent" => filter.agent = Some(value),
            "min_age" => {
                let age = number(&value).ok_or_else(|| bad(name, "not a number of seconds"))?;
                filter.created_before = Some(now.saturating_sub(age));
            }
            "max_age" => {
                let age = number(&value).ok_or_else(|| bad(name, "not a number of seconds"))?;
                filter.created_after = Some(now.saturating_sub(age));
            }
            "before" => {
                filter.before_id = Some(
                    request_id(&value)
                        .map_err(|_| bad(name, "not a request id"))?
                        .to_owned(),
                )
            }
            "limit" => {
                let n = number(&value).ok_or_else(|| bad(name, "not a number"))?;
                filter.limit = u32::try_from(n.clamp(1, i64::from(cap))).unwrap_or(cap);
            }
            _ => return Err(bad(name, "unknown filter")),
        }
    }
    Ok(filter)
}

pub(super) fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = text.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

pub(crate) async fn list(
    State(gate): State<Arc<Gate>>,
    principal: Principal,
    RawQuery(query): RawQuery,
) -> Result<Response, GateError> {
    let mut filter = list_filter(query.as_deref(), &gate)?;
    if !sees_every_request(&principal) {
        filter.requesters = Some(spellings_of(&gate, &principal.id).await?);
    }
    // One row more than the page tells whether another page exists, so
    // `next_before` is null on the last page as documented (a last page
    // holding exactly `limit` requests used to point at an empty page).
    let page = filter.limit as usize;
    filter.limit = filter.limit.saturating_add(1);
    let mut rows = gate.store.list(&filter).await?;
    let more = rows.len() > page;
    rows.truncate(page);
    let visible: Vec<Json> = rows
        .iter()
        .filter(|r| may_read(&principal, r))
        .map(|r| view_for(&principal, r))
        .collect();
    let next = more.then(|| rows.last().map(|r| r.id.clone())).flatten();
    Ok(json_answer(
        200,
        json!({"format": "gatehouse.request-list/1", "requests": visible, "next_before": next})
            .to_string(),
    ))
}

pub(crate) async fn review(
    State(gate): State<Arc<Gate>>,
    principal: Principal,
    PathId(id): PathId,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, GateError> {
    let id = request_id(&id)?;
    let key = idempotency_key(&headers, &principal)?;
    let text = body_text(&headers, body)?;
    let (status, body) = gate.review(&principal, id, &text, key).await?;
    Ok(json_answer(status, body))
}

pub(crate) async fn cancel(
    State(gate): State<Arc<Gate>>,
    principal: Principal,
    PathId(id): PathId,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, GateError> {
    let row = readable(&gate, &principal, &id).await?;
    let text = body_text(&headers, body)?;
    Ok(json_answer(
        200,
        gate.cancel(&principal, &row.id, &text).await?,
    ))
}

pub(crate) async fn claim(
    State(gate): State<Arc<Gate>>,
    principal: Principal,
    PathId(id): PathId,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, GateError> {
    let id = request_id(&id)?;
    let text = body_text(&headers, body)?;
    Ok(json_answer(200, gate.claim(&principal, id, &text).await?))
}

pub(crate) async fn executed(
    state: State<Arc<Gate>>,
    principal: Principal,
    id: PathId,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, GateError> {
    report(state, principal, id, headers, body, Event::Complete).await
}

pub(crate) async fn verified(
    state: State<Arc<Gate>>,
    principal: Principal,
    id: PathId,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, GateError> {
    report(state, principal, id, headers, body, Event::Verify).await
}

/// `executed` and `verified`: the executor's report, one event each.
async fn report(
    State(gate): State<Arc<Gate>>,
    principal: Principal,
    PathId(id): PathId,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
    event: Event,
) -> Result<Response, GateError> {
    let id = request_id(&id)?;
    let text = body_text(&headers, body)?;
    Ok(json_answer(
        200,
        gate.report(&principal, id, event, &text).await?,
    ))
}

/// The audit records of one request, as JSON lines (the chained lines
/// exactly as stored).
pub(crate) async fn audit_of(
    State(gate): State<Arc<Gate>>,
    principal: Principal,
    PathId(id): PathId,
) -> Result<Response, GateError> {
    let row = readable(&gate, &principal, &id).await?;
    Ok(super::jsonl_answer(gate.store.audit_of(&row.id).await?))
}

/// `POST /v1/decisions`: one review of many `queue` requests.
pub(crate) async fn review_batch(
    State(gate): State<Arc<Gate>>,
    principal: Principal,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, GateError> {
    let text = body_text(&headers, body)?;
    Ok(json_answer(
        200,
        gate.review_batch(&principal, &text).await?,
    ))
}

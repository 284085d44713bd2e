//! Sampled review after the fact: `POST /v1/requests/{id}/sample-review`
//! (the one verdict) and `GET /v1/samples` (the list, by review state).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{Value as Json, json};

use super::requests::{percent_decode, request_id, sees_every_request};
use super::{PathId, body_text, idempotency_key, json_answer};
use crate::auth::{Principal, Scope};
use crate::error::{FieldError, GateError};
use crate::gate::samples::SAMPLE_STATES;
use crate::gate::{Gate, view};

/// The most bytes of request bodies one page of `GET /v1/samples` reads:
/// a page of large actions ends early (with `next_before` set) instead of
/// reading without bound.
const PAGE_BYTES: usize = 8 * 1024 * 1024;

pub(crate) async fn review(
    State(gate): State<Arc<Gate>>,
    principal: Principal,
    PathId(id): PathId,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, GateError> {
    let id = request_id(&id)?;
    principal.require(&[Scope::Approve])?;
    let key = idempotency_key(&headers, &principal)?;
    let text = body_text(&headers, body)?;
    let (status, body) = gate.review_sample(&principal, id, &text, key).await?;
    Ok(json_answer(status, body))
}

/// `GET /v1/samples?state=open|confirmed|rejected&before=&limit=`: sampled
/// requests, newest first (`state` repeatable or comma-separated; none:
/// every sample). Readers, reviewers, executors and admins only: a sample
/// list is about everyone's actions.
pub(crate) async fn list(
    State(gate): State<Arc<Gate>>,
    principal: Principal,
    RawQuery(query): RawQuery,
) -> Result<Response, GateError> {
    if !sees_every_request(&principal) {
        principal.require(&[Scope::Read, Scope::Approve, Scope::Execute])?;
    }
    let cap = gate.config.limits.list_limit.max(1);
    let mut limit = cap.min(100);
    let mut states: Vec<&'static str> = Vec::new();
    let mut before = None;
    let bad = |name: &str, detail: &str| {
        GateError::invalid_body(vec![FieldError {
            path: format!("query.{name}"),
            detail: detail.to_owned(),
        }])
    };
    let query = query.unwrap_or_default();
    if query.len() > 4096 {
        return Err(bad("", "the query string is longer than 4096 bytes"));
    }
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value =
            percent_decode(value).ok_or_else(|| bad(name, "not valid percent-encoded UTF-8"))?;
        match name {
            "state" => {
                for s in value.split(',') {
                    let state = SAMPLE_STATES
                        .iter()
                        .find(|k| **k == s)
                        .ok_or_else(|| bad(name, "not open, confirmed or rejected"))?;
                    if !states.contains(state) {
                        states.push(state);
                    }
                }
            }
            "before" => {
                before = Some(
                    request_id(&value)
                        .map_err(|_| bad(name, "not a request id"))?
                        .to_owned(),
                )
            }
            "limit" => {
                let n = value
                    .parse::<i64>()
                    .ok()
                    .filter(|n| *n >= 0)
                    .ok_or_else(|| bad(name, "not a number"))?;
                limit = u32::try_from(n.clamp(1, i64::from(cap))).unwrap_or(cap);
            }
            _ => return Err(bad(name, "unknown filter")),
        }
    }
    let (rows, more) = gate
        .list_samples(&states, before, limit, false, PAGE_BYTES)
        .await?;
    let next = more.then(|| rows.last().map(|r| r.id.clone())).flatten();
    let samples: Vec<Json> = rows.iter().map(view).collect();
    Ok(json_answer(
        200,
        json!({"format": "gatehouse.sample-list/1", "samples": samples, "next_before": next})
            .to_string(),
    ))
}

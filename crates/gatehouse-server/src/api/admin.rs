//! Administration: API keys, reload, the whole audit chain.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

use super::{PathId, body_text, json_answer};
use crate::auth::{Principal, Scope, new_key};
use crate::error::{FieldError, GateError};
use crate::gate::Gate;

/// The body of `POST /v1/admin/keys`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewKey {
    identity: String,
    scopes: Vec<String>,
    #[serde(default)]
    roles: Vec<String>,
}

pub(crate) async fn create_key(
    State(gate): State<Arc<Gate>>,
    principal: Principal,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, GateError> {
    principal.require(&[Scope::Admin])?;
    let text = body_text(&headers, body)?;
    let body: NewKey = crate::gate::read_body(&text)?;
    let mut errors = Vec::new();
    // Control characters would let one identity print as another in logs
    // and audit records.
    if gatehouse::identity::is_blank(&body.identity)
        || body.identity.len() > 256
        || body.identity.chars().any(char::is_control)
    {
        errors.push(FieldError {
            path: "$.identity".into(),
            detail: "an identity is 1 to 256 bytes, not blank, without control characters".into(),
        });
    }
    let mut scopes = Vec::new();
    for (i, s) in body.scopes.iter().enumerate() {
        match Scope::parse(s) {
            Some(scope) => scopes.push(scope),
            None => errors.push(FieldError {
                path: format!("$.scopes[{i}]"),
                detail: format!(
                    "`{s}` is not a scope (decide, request, approve, execute, read, admin)"
                ),
            }),
        }
    }
    if scopes.is_empty() && errors.is_empty() {
        errors.push(FieldError {
            path: "$.scopes".into(),
            detail: "a key needs at least one scope".into(),
        });
    }
    for (i, r) in body.roles.iter().enumerate() {
        if r.is_empty()
            || r.len() > 128
            || !r
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
        {
            errors.push(FieldError {
                path: format!("$.roles[{i}]"),
                detail: "a role is 1 to 128 letters, digits, `_` or `-`".into(),
            });
        }
    }
    if !errors.is_empty() {
        return Err(GateError::invalid_body(errors));
    }
    let (text, row) = new_key(
        &body.identity,
        &scopes,
        &body.roles,
        &gate.now().to_string(),
    );
    gate.store.insert_key(&row).await?;
    Ok(json_answer(
        201,
        json!({"id": row.id, "key": text, "identity": row.identity, "scopes": row.scopes, "roles": row.roles}).to_string(),
    ))
}

pub(crate) async fn list_keys(
    State(gate): State<Arc<Gate>>,
    principal: Principal,
) -> Result<Response, GateError> {
    principal.require(&[Scope::Admin])?;
    let keys: Vec<_> = gate
        .store
        .keys()
        .await?
        .into_iter()
        .map(|k| json!({"id": k.id, "identity": k.identity, "scopes": k.scopes, "roles": k.roles, "created_at": k.created_at, "revoked": k.revoked}))
        .collect();
    Ok(json_answer(200, json!({"keys": keys}).to_string()))
}

pub(crate) async fn revoke_key(
    State(gate): State<Arc<Gate>>,
    principal: Principal,
    PathId(id): PathId,
) -> Result<Response, GateError> {
    principal.require(&[Scope::Admin])?;
    let found = gate.store.revoke_key(&id).await;
    // After the store's answer, whatever it was: no cached copy of a key
    // outlives its revocation (key_cache.rs).
    gate.keys.invalidate();
    if !found? {
        return Err(GateError::new(404, "NOT_FOUND", "no such key"));
    }
    // Before the answer: once it is sent, no wait held with the key gets
    // another change (the notes reach every wait in order).
    gate.announce_revoked(&id);
    Ok(json_answer(
        200,
        json!({"id": id, "revoked": true}).to_string(),
    ))
}

pub(crate) async fn reload(
    State(gate): State<Arc<Gate>>,
    principal: Principal,
) -> Result<Response, GateError> {
    principal.require(&[Scope::Admin])?;
    match gate.reload().await {
        Ok(changed) => Ok(json_answer(
            200,
            json!({"changed": changed, "digest": gate.policy().policy.digest()}).to_string(),
        )),
        Err(e) => {
            gate.metrics
                .reload_failures
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Err(GateError::new(422, "POLICY_INVALID", e))
        }
    }
}

/// Most chain lines one `GET /v1/audit` answers with.
pub(crate) const AUDIT_PAGE_MAX: u32 = 10_000;
/// Lines per page when no `limit` is given.
pub(crate) const AUDIT_PAGE_DEFAULT: u32 = 1_000;
/// Most bytes of lines one page holds (a line is at most about twice the
/// body limit, an action and its decision): a page of 10 000 large records
/// would otherwise be gigabytes in memory. A page always holds its first
/// line, so paging always moves on.
pub(crate) const AUDIT_PAGE_BYTES: usize = 8 * 1024 * 1024;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuditQuery {
    #[serde(default)]
    after: i64,
    #[serde(default)]
    limit: Option<u32>,
}

/// `GET /v1/audit?after=SEQ&limit=N`: the chain's lines after `seq` (0, the
/// default, is before the first), at most `limit` (1 to
/// [`AUDIT_PAGE_MAX`], default [`AUDIT_PAGE_DEFAULT`]), as JSON lines
/// exactly as stored, and at most [`AUDIT_PAGE_BYTES`] of them: the pages
/// joined in order are the chain `gatehouse audit verify` reads. When more
/// lines follow, the page carries `Link: <...>; rel="next"` with the next
/// page's `after` (the last line's `seq`); without it the page is the end
/// of the chain for now. A negative `after`, a `limit` out of range or
/// an unknown parameter is a 400 problem, never a silently clamped page.
pub(crate) async fn audit(
    State(gate): State<Arc<Gate>>,
    principal: Principal,
    query: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, GateError> {
    principal.require(&[Scope::Read])?;
    let Query(q) = query.map_err(|e| GateError::bad_request("INVALID_QUERY", e.body_text()))?;
    if q.after < 0 {
        return Err(GateError::bad_request(
            "INVALID_QUERY",
            "`after` is a sequence number: 0 or more",
        ));
    }
    let limit = q.limit.unwrap_or(AUDIT_PAGE_DEFAULT);
    if !(1..=AUDIT_PAGE_MAX).contains(&limit) {
        return Err(GateError::bad_request(
            "INVALID_QUERY",
            format!("`limit` is from 1 to {AUDIT_PAGE_MAX}"),
        ));
    }
    let (lines, more) = gate
        .store
        .audit_after(q.after, limit, AUDIT_PAGE_BYTES)
        .await?;
    let next = match lines.last() {
        Some((seq, _)) if more => Some(*seq),
        _ => None,
    };
    let mut response = super::jsonl_answer(lines);
    if let Some(seq) = next
        && let Ok(link) = HeaderValue::from_str(&format!(
            "</v1/audit?after={seq}&limit={limit}>; rel=\"next\""
        ))
    {
        response.headers_mut().insert(header::LINK, link);
    }
    Ok(response)
}

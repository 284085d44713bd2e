//! `GET /v1/shadow`: the requests whose shadow (candidate) policy decision
//! differs from the enforced one (docs/shadow.md).
//!
//! The shadow lives in the row's JSON body (no column), so the list is a
//! scan, newest first, bounded per call: at most [`SHADOW_SCAN`] requests
//! and [`SHADOW_SCAN_BYTES`] of bodies are read, whatever the history's
//! size. A page that stops at the bound says so (`next_before` set,
//! `complete: false`) and the next call goes on from there.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::response::Response;
use serde_json::{Value as Json, json};

use super::json_answer;
use crate::auth::{Principal, Scope};
use crate::error::{FieldError, GateError};
use crate::gate::Gate;
use crate::store::{ListFilter, RequestRow};

/// The most requests one call reads (matching or not).
pub const SHADOW_SCAN: u32 = 2_000;
/// The most bytes of request bodies one call reads.
pub const SHADOW_SCAN_BYTES: usize = 16 * 1024 * 1024;
/// Rows read from the store at a time.
const BATCH: u32 = 200;

/// What `GET /v1/shadow` asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShadowQuery {
    /// `true`: requests where the shadow differs (the default); `false`:
    /// where it agrees.
    pub differs: bool,
    /// Only ids that sort before this one (the next page).
    pub before: Option<String>,
    /// The most requests answered.
    pub limit: u32,
}

/// Reads `differs`, `before` and `limit`; anything else is refused (422
/// with the parameter's path), as the list's filters are.
pub fn parse_query(query: Option<&str>, cap: u32) -> Result<ShadowQuery, GateError> {
    let cap = cap.max(1);
    let mut out = ShadowQuery {
        differs: true,
        before: None,
        limit: cap.min(100),
    };
    let bad = |name: &str, detail: &str| {
        // The name as sent, cut: a parameter name is not echoed whole.
        let name: String = name.chars().take(64).collect();
        GateError::invalid_body(vec![FieldError {
            path: format!("query.{name}"),
            detail: detail.to_owned(),
        }])
    };
    let query = query.unwrap_or("");
    if query.len() > 4096 {
        return Err(bad("", "the query string is longer than 4096 bytes"));
    }
    let mut seen: Vec<&str> = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        if seen.contains(&name) {
            return Err(bad(name, "given more than once"));
        }
        seen.push(name);
        match name {
            "differs" => {
                out.differs = match value {
                    "true" => true,
                    "false" => false,
                    _ => return Err(bad(name, "`true` or `false`")),
                }
            }
            "before" => {
                if !crate::ids::is_id(value, "req_") {
                    return Err(bad(name, "not a request id"));
                }
                out.before = Some(value.to_owned());
            }
            "limit" => {
                let n = value
                    .parse::<u32>()
                    .ok()
                    .filter(|n| *n >= 1)
                    .ok_or_else(|| bad(name, "a number from 1"))?;
                out.limit = n.min(cap);
            }
            _ => return Err(bad(name, "unknown parameter")),
        }
    }
    Ok(out)
}

/// Whether a row's shadow matches the query (a row decided without a
/// shadow matches neither).
fn matches(row: &RequestRow, differs: bool) -> bool {
    row.shadow
        .as_ref()
        .and_then(|s| s.get("differs"))
        .and_then(Json::as_bool)
        == Some(differs)
}

/// One page of the scan: the matching rows, where the next page starts
/// (`None`: the history is read to its start) and how many rows were read.
pub async fn scan(
    gate: &Gate,
    query: &ShadowQuery,
) -> Result<(Vec<RequestRow>, Option<String>, u32), GateError> {
    let mut found = Vec::new();
    let mut before = query.before.clone();
    let mut scanned: u32 = 0;
    let mut bytes = 0usize;
    loop {
        let filter = ListFilter {
            before_id: before.clone(),
            limit: BATCH.min(SHADOW_SCAN - scanned),
            ..ListFilter::default()
        };
        let (rows, more) = gate
            .store
            .list_bounded(&filter, SHADOW_SCAN_BYTES.saturating_sub(bytes))
            .await?;
        let read = rows.len();
        for row in rows {
            scanned += 1;
            bytes += row.input.to_string().len() + row.decision.to_string().len();
            before = Some(row.id.clone());
            if matches(&row, query.differs) {
                found.push(row);
                if found.len() >= query.limit as usize {
                    return Ok((found, before, scanned));
                }
            }
            if scanned >= SHADOW_SCAN || bytes >= SHADOW_SCAN_BYTES {
                return Ok((found, before, scanned));
            }
        }
        if read == 0 || (read < filter.limit as usize && !more) {
            // The start of the history: nothing more to read.
            return Ok((found, None, scanned));
        }
    }
}

/// A listed request: what identifies it, its enforced answer, its shadow.
fn summary(row: &RequestRow) -> Json {
    json!({
        "id": row.id,
        "created_at": row.created_at,
        "state": row.state.as_str(),
        "agent": row.agent,
        "outcome": row.outcome,
        "tier": row.tier,
        "action_digest": row.action_digest,
        "policy_digest": row.policy_digest,
        "shadow": row.shadow,
    })
}

/// `GET /v1/shadow?differs=true&before=&limit=`: readers, reviewers and
/// admins. Not executors: agents hold `execute`, and a candidate policy's
/// answers before they are enforced would tell them how to shape their
/// actions (see `gate::records::view`).
pub(crate) async fn list(
    State(gate): State<Arc<Gate>>,
    principal: Principal,
    RawQuery(query): RawQuery,
) -> Result<Response, GateError> {
    principal.require(&[Scope::Read, Scope::Approve])?;
    let query = parse_query(query.as_deref(), gate.config.limits.list_limit)?;
    let (rows, next, scanned) = scan(&gate, &query).await?;
    let shadow = gate
        .shadow_policy()
        .map(|s| crate::gate::policy_ref(&s.policy));
    Ok(json_answer(
        200,
        json!({
            "format": "gatehouse.shadow-list/1",
            "differs": query.differs,
            "shadow_policy": shadow,
            "shadow_error": gate.shadow_error(),
            "requests": rows.iter().map(summary).collect::<Vec<_>>(),
            "scanned": scanned,
            "next_before": next,
        })
        .to_string(),
    ))
}

#[cfg(test)]
mod tests {
    use super::parse_query;

    #[test]
    fn the_query_is_read_strictly() {
        let q = parse_query(None, 500).expect("empty");
        assert!(q.differs);
        assert_eq!(q.limit, 100);
        let q = parse_query(Some("differs=false&limit=9000"), 500).expect("ok");
        assert!(!q.differs);
        assert_eq!(q.limit, 500, "clamped to the cap");
        for bad in [
            "differs=TRUE",
            "differs=1",
            "differs=true&differs=false",
            "limit=0",
            "limit=-1",
            "limit=1e3",
            "before=req_../../etc",
            "before=REQ_0190",
            "state=pending",
            "differs%3Dtrue",
        ] {
            let e = parse_query(Some(bad), 500).expect_err(bad);
            assert_eq!(e.status, 422, "{bad}");
        }
        let long = "differs=true&".repeat(400);
        assert_eq!(parse_query(Some(&long), 500).expect_err("long").status, 422);
    }
}

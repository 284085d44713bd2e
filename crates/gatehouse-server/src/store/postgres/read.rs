//! The PostgreSQL store's reads: lists, the byte-bounded list, the history
//! search, audit pages and console sessions. Each answers exactly as the
//! SQLite store does (same filters, order and bounds; the contract suite
//! runs both); the SQL differs only in placeholders and JSON functions.

use sqlx::postgres::{PgPool, Postgres};
use sqlx::{QueryBuilder, Row as _};

use super::db;
use crate::error::GateError;
use crate::ids::floor_at;
use crate::store::sqlite::{like_member, row_from_body};
use crate::store::{
    ID_CLOCK_MARGIN, ListFilter, RequestRow, SEARCH_PAGE_MAX, SEARCH_SCAN, SearchFilter,
    SearchPage, SessionRow,
};

/// The bodies (or, with `ids_only`, the ids) a list filter gives, in its
/// order.
pub(super) async fn list_texts(
    pool: &PgPool,
    filter: &ListFilter,
    ids_only: bool,
) -> Result<Vec<String>, GateError> {
    if filter.requesters.as_ref().is_some_and(Vec::is_empty) {
        return Ok(Vec::new());
    }
    let mut q = QueryBuilder::<Postgres>::new(if ids_only {
        "SELECT id FROM requests WHERE TRUE"
    } else {
        "SELECT body FROM requests WHERE TRUE"
    });
    if !filter.states.is_empty() {
        let states: Vec<&str> = filter.states.iter().map(|s| s.as_str()).collect();
        q.push(" AND state = ANY(").push_bind(states).push(")");
    }
    if let Some(tier) = filter.tier {
        q.push(" AND tier = ").push_bind(tier);
    }
    if let Some(role) = &filter.role {
        q.push(" AND roles LIKE ")
            .push_bind(like_member(role))
            .push(" ESCAPE '\\'");
    }
    if let Some(agent) = &filter.agent {
        q.push(" AND agent = ").push_bind(agent.clone());
    }
    if let Some(t) = filter.created_before {
        q.push(" AND created_unix <= ").push_bind(t);
    }
    if let Some(t) = filter.created_after {
        q.push(" AND created_unix > ").push_bind(t);
    }
    if let Some(id) = &filter.before_id {
        q.push(" AND id < ").push_bind(id.clone());
    }
    if let Some(id) = &filter.after_id {
        q.push(" AND id > ").push_bind(id.clone());
    }
    if let Some(requesters) = &filter.requesters {
        q.push(" AND requester = ANY(")
            .push_bind(requesters.clone())
            .push(")");
    }
    if let Some(roles) = &filter.actionable_by {
        q.push(" AND (roles = ','");
        for role in roles {
            q.push(" OR roles LIKE ")
                .push_bind(like_member(role))
                .push(" ESCAPE '\\'");
        }
        q.push(")");
    }
    if let Some(states) = &filter.sample_states {
        q.push(" AND sample_state = ANY(")
            .push_bind(states.clone())
            .push(")");
    }
    q.push(if filter.by_deadline {
        " ORDER BY deadline_unix IS NULL, deadline_unix, id LIMIT "
    } else if filter.oldest_first {
        " ORDER BY id LIMIT "
    } else {
        " ORDER BY id DESC LIMIT "
    })
    .push_bind(i64::from(filter.limit));
    q.build_query_scalar::<String>()
        .fetch_all(pool)
        .await
        .map_err(db)
}

/// Bodies read per query (as in the SQLite store): the budget can be
/// overshot by at most one chunk.
const CHUNK: usize = 32;

/// The rows of `ids`, in that order, until the bodies read pass
/// `max_bytes`; whether ids were left unread.
pub(super) async fn bodies_in_order(
    pool: &PgPool,
    ids: &[String],
    max_bytes: usize,
) -> Result<(Vec<RequestRow>, bool), GateError> {
    let mut rows = Vec::new();
    let mut spent = 0usize;
    for (n, chunk) in ids.chunks(CHUNK).enumerate() {
        if spent >= max_bytes {
            return Ok((rows, n * CHUNK < ids.len()));
        }
        let bodies: Vec<String> =
            sqlx::query_scalar("SELECT body FROM requests WHERE id = ANY($1)")
                .bind(chunk)
                .fetch_all(pool)
                .await
                .map_err(db)?;
        let mut found = Vec::with_capacity(bodies.len());
        for body in &bodies {
            spent = spent.saturating_add(body.len());
            found.push(row_from_body(body)?);
        }
        for id in chunk {
            if let Some(i) = found.iter().position(|r| &r.id == id) {
                rows.push(found.swap_remove(i));
            }
        }
    }
    Ok((rows, false))
}

/// One page of a history search, with the SQLite store's bound (see
/// store/sqlite/search.rs): the window's extent from the primary key (or
/// `requests_state`) first, then one range scan of it, both in one
/// `REPEATABLE READ` snapshot so `next_before` is exact. JSON filters use
/// `jsonb_path_exists` over the body (lax mode: a missing or non-array
/// path matches nothing, as SQLite's `json_each` does).
pub(super) async fn search(pool: &PgPool, filter: &SearchFilter) -> Result<SearchPage, GateError> {
    let limit = filter.limit.clamp(1, SEARCH_PAGE_MAX);
    let end = filter
        .created_before
        .map(|t| floor_at("req_", t.saturating_add(ID_CLOCK_MARGIN)));
    let upper = match (filter.before_id.clone(), end) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let lower = filter
        .created_after
        .map(|t| floor_at("req_", t.saturating_sub(ID_CLOCK_MARGIN)));

    let mut tx = pool.begin().await.map_err(db)?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    let mut edge = QueryBuilder::<Postgres>::new(
        "SELECT COUNT(*), MIN(id) FROM (SELECT id FROM requests WHERE TRUE",
    );
    if let Some(state) = filter.state {
        edge.push(" AND state = ").push_bind(state.as_str());
    }
    if let Some(id) = &upper {
        edge.push(" AND id < ").push_bind(id.clone());
    }
    if let Some(id) = &lower {
        edge.push(" AND id >= ").push_bind(id.clone());
    }
    edge.push(" ORDER BY id DESC LIMIT ")
        .push_bind(i64::from(SEARCH_SCAN))
        .push(") w");
    let edge = edge.build().fetch_one(&mut *tx).await.map_err(db)?;
    let scanned: i64 = edge.get(0);
    let Some(oldest) = edge.get::<Option<String>, _>(1) else {
        tx.commit().await.map_err(db)?;
        return Ok(SearchPage::default());
    };

    let mut q = QueryBuilder::<Postgres>::new("SELECT id, body FROM requests WHERE id >= ");
    q.push_bind(oldest.clone());
    if let Some(id) = &upper {
        q.push(" AND id < ").push_bind(id.clone());
    }
    if let Some(state) = filter.state {
        q.push(" AND state = ").push_bind(state.as_str());
    }
    if let Some(agent) = &filter.agent {
        q.push(" AND agent = ").push_bind(agent.clone());
    }
    if let Some(outcome) = &filter.outcome {
        q.push(" AND outcome = ").push_bind(outcome.clone());
    }
    if let Some(t) = filter.created_after {
        q.push(" AND created_unix >= ").push_bind(t);
    }
    if let Some(t) = filter.created_before {
        q.push(" AND created_unix < ").push_bind(t);
    }
    for (value, path) in [
        (&filter.rule, "$.decision.rules[*] ? (@.name == $v)"),
        (&filter.reason, "$.decision.reasons[*] ? (@.code == $v)"),
        (
            &filter.approver,
            "$.approvals[*] ? (@.approval.approver == $v)",
        ),
    ] {
        if let Some(value) = value {
            q.push(" AND jsonb_path_exists(body::jsonb, ")
                .push_bind(path)
                .push("::jsonpath, jsonb_build_object('v', ")
                .push_bind(value.clone())
                .push("::text))");
        }
    }
    q.push(" ORDER BY id DESC LIMIT ")
        .push_bind(i64::from(limit) + 1);
    let found = q.build().fetch_all(&mut *tx).await.map_err(db)?;
    tx.commit().await.map_err(db)?;

    let full = found.len() > limit as usize;
    let mut rows = Vec::with_capacity(found.len().min(limit as usize));
    for r in found.iter().take(limit as usize) {
        rows.push(row_from_body(&r.get::<String, _>(1))?);
    }
    let window_full = scanned >= i64::from(SEARCH_SCAN);
    let (next_before, window_ended) = if full {
        (rows.last().map(|r| r.id.clone()), false)
    } else if window_full {
        (Some(oldest), true)
    } else {
        (None, false)
    };
    Ok(SearchPage {
        rows,
        next_before,
        scanned: u32::try_from(scanned).unwrap_or(SEARCH_SCAN),
        window_ended,
    })
}

/// Audit lines after `seq` (see `Store::audit_after`): read one at a time,
/// so a page holds at most `max_bytes` (plus its first line).
pub(super) async fn audit_after(
    pool: &PgPool,
    seq: i64,
    limit: u32,
    max_bytes: usize,
) -> Result<(Vec<(i64, String)>, bool), GateError> {
    use futures_util::TryStreamExt as _;
    let mut rows = sqlx::query("SELECT seq, line FROM audit WHERE seq > $1 ORDER BY seq LIMIT $2")
        .bind(seq)
        .bind(i64::from(limit) + 1)
        .fetch(pool);
    let mut page = Vec::new();
    let mut bytes = 0usize;
    while let Some(row) = rows.try_next().await.map_err(db)? {
        let line: String = row.get(1);
        let full = page.len() >= limit as usize
            || (!page.is_empty() && bytes.saturating_add(line.len()) > max_bytes);
        if full {
            return Ok((page, true));
        }
        bytes = bytes.saturating_add(line.len());
        page.push((row.get(0), line));
    }
    Ok((page, false))
}

/// Inserts a session and prunes the expired ones, in one transaction.
pub(super) async fn insert_session(
    pool: &PgPool,
    s: &SessionRow,
    now_unix: i64,
) -> Result<(), GateError> {
    let mut tx = pool.begin().await.map_err(db)?;
    sqlx::query("DELETE FROM console_sessions WHERE expires_unix <= $1")
        .bind(now_unix)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    sqlx::query(
        "INSERT INTO console_sessions (hash, identity, method, csrf, created_unix, expires_unix) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&s.hash)
    .bind(&s.identity)
    .bind(&s.method)
    .bind(&s.csrf)
    .bind(s.created_unix)
    .bind(s.expires_unix)
    .execute(&mut *tx)
    .await
    .map_err(db)?;
    tx.commit().await.map_err(db)
}

/// The live session with this hash.
pub(super) async fn session(
    pool: &PgPool,
    hash: &str,
    now_unix: i64,
) -> Result<Option<SessionRow>, GateError> {
    let row = sqlx::query(
        "SELECT hash, identity, method, csrf, created_unix, expires_unix FROM console_sessions WHERE hash = $1 AND expires_unix > $2",
    )
    .bind(hash)
    .bind(now_unix)
    .fetch_optional(pool)
    .await
    .map_err(db)?;
    Ok(row.map(|r| SessionRow {
        hash: r.get(0),
        identity: r.get(1),
        method: r.get(2),
        csrf: r.get(3),
        created_unix: r.get(4),
        expires_unix: r.get(5),
    }))
}

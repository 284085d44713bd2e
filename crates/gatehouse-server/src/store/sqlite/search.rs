//! The history search in SQLite: plain SQL over the `requests` table and
//! SQLite's JSON functions over each row's stored body (no extra table, no
//! index written on the hot path, nothing to migrate). The PostgreSQL
//! store answers the same [`SearchFilter`] with `jsonb` the same way.
//!
//! Bound (see [`SEARCH_SCAN`]): first the window's extent is read from an
//! index alone: the newest `SEARCH_SCAN` ids below the start and within
//! the creation range's id bounds ([`Bounds`]) (in the
//! `requests_state` index when a state is asked, else the primary key),
//! giving its oldest id. Then the page is one range scan of that index,
//! newest first, from the start down to that oldest id, with every filter
//! applied to each row and `LIMIT limit + 1`. So one call reads at most
//! `SEARCH_SCAN` rows whatever the filters (fewer when the page fills
//! first), never sorts, and both statements run in one read transaction
//! (one snapshot, so `next_before` is exact). `searches_read_an_index_range`
//! (in search_tests.rs) checks the query plans say so.
//!
//! Measured (`measure_search_on_100k` in search_tests.rs: 100 000 requests of ~2 KB; a
//! debug build, where SQLite itself is compiled without optimization, on
//! a shared 2-core machine, so these are upper bounds):
//! - a JSON filter (rule, reason, approver) matching nothing, so the call
//!   reads its whole window of 5 000 rows: 50–125 ms;
//! - column filters only (agent, outcome, state, time) matching nothing:
//!   13–36 ms;
//! - a page of 50 filled from the newest rows: 6–13 ms; 200 rows with no
//!   filter: 7–21 ms.

use sqlx::Row as _;
use sqlx::sqlite::SqlitePool;

use super::{db, row_from_body};
use crate::error::GateError;
use crate::ids::floor_at;
use crate::store::{ID_CLOCK_MARGIN, SEARCH_PAGE_MAX, SEARCH_SCAN, SearchFilter, SearchPage};

/// The id range a search may read: below `upper` (the page's start, or
/// the creation range's end) and at or above `lower` (the creation
/// range's start). Ids sort by creation time, so a time range is also an
/// id range, widened by [`ID_CLOCK_MARGIN`]; the exact `created_unix`
/// test still decides.
#[derive(Debug, Default)]
pub(super) struct Bounds {
    upper: Option<String>,
    lower: Option<String>,
}

impl Bounds {
    pub(super) fn of(filter: &SearchFilter) -> Bounds {
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
        Bounds { upper, lower }
    }
}

/// The window's extent: how many requests it holds and its oldest id.
/// Only the primary key (or the `requests_state` index) is read.
fn edge_sql(filter: &SearchFilter, bounds: &Bounds) -> String {
    let mut sql =
        String::from("SELECT COUNT(*), MIN(id) FROM (SELECT id FROM requests WHERE 1 = 1");
    if filter.state.is_some() {
        sql.push_str(" AND state = ?");
    }
    if bounds.upper.is_some() {
        sql.push_str(" AND id < ?");
    }
    if bounds.lower.is_some() {
        sql.push_str(" AND id >= ?");
    }
    sql.push_str(" ORDER BY id DESC LIMIT ?)");
    sql
}

/// The page: the window's rows (ids from its oldest up to the start)
/// that pass every filter, newest first, `limit + 1` at most. The id
/// range keeps the scan inside the window; the scan runs newest first and
/// stops at the limit.
fn page_sql(filter: &SearchFilter, bounds: &Bounds) -> String {
    let mut sql = String::from("SELECT id, body FROM requests WHERE id >= ?");
    for (set, clause) in [
        (bounds.upper.is_some(), " AND id < ?"),
        (filter.state.is_some(), " AND state = ?"),
        (filter.agent.is_some(), " AND agent = ?"),
        (filter.outcome.is_some(), " AND outcome = ?"),
        (filter.created_after.is_some(), " AND created_unix >= ?"),
        (filter.created_before.is_some(), " AND created_unix < ?"),
        (
            filter.rule.is_some(),
            " AND EXISTS (SELECT 1 FROM json_each(body, '$.decision.rules') AS j \
             WHERE json_extract(j.value, '$.name') = ?)",
        ),
        (
            filter.reason.is_some(),
            " AND EXISTS (SELECT 1 FROM json_each(body, '$.decision.reasons') AS j \
             WHERE json_extract(j.value, '$.code') = ?)",
        ),
        (
            filter.approver.is_some(),
            " AND EXISTS (SELECT 1 FROM json_each(body, '$.approvals') AS j \
             WHERE json_extract(j.value, '$.approval.approver') = ?)",
        ),
    ] {
        if set {
            sql.push_str(clause);
        }
    }
    sql.push_str(" ORDER BY id DESC LIMIT ?");
    sql
}

/// One page of a search (see the module documentation for the bound).
pub(super) async fn search(
    pool: &SqlitePool,
    filter: &SearchFilter,
) -> Result<SearchPage, GateError> {
    let limit = filter.limit.clamp(1, SEARCH_PAGE_MAX);
    // One read transaction: one snapshot for both statements, so the
    // window measured is the window searched.
    let mut tx = pool.begin().await.map_err(db)?;
    let bounds = Bounds::of(filter);
    let edge_sql = edge_sql(filter, &bounds);
    let mut edge = sqlx::query(&edge_sql);
    if let Some(state) = filter.state {
        edge = edge.bind(state.as_str());
    }
    for id in [&bounds.upper, &bounds.lower].into_iter().flatten() {
        edge = edge.bind(id.as_str());
    }
    let edge = edge
        .bind(i64::from(SEARCH_SCAN))
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?;
    let scanned: i64 = edge.get(0);
    let Some(oldest) = edge.get::<Option<String>, _>(1) else {
        tx.commit().await.map_err(db)?;
        return Ok(SearchPage::default());
    };

    let page_sql = page_sql(filter, &bounds);
    let mut query = sqlx::query(&page_sql).bind(oldest.as_str());
    if let Some(id) = &bounds.upper {
        query = query.bind(id.as_str());
    }
    if let Some(state) = filter.state {
        query = query.bind(state.as_str());
    }
    for text in [&filter.agent, &filter.outcome].into_iter().flatten() {
        query = query.bind(text.as_str());
    }
    for time in [filter.created_after, filter.created_before]
        .into_iter()
        .flatten()
    {
        query = query.bind(time);
    }
    for text in [&filter.rule, &filter.reason, &filter.approver]
        .into_iter()
        .flatten()
    {
        query = query.bind(text.as_str());
    }
    let found = query
        .bind(i64::from(limit) + 1)
        .fetch_all(&mut *tx)
        .await
        .map_err(db)?;
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

#[cfg(test)]
#[path = "search_tests.rs"]
mod tests;

//! The SQLite store: one file, write-ahead log, no setup.
//!
//! SQLite takes one writer at a time, so every write goes through one
//! connection behind a mutex (`BEGIN IMMEDIATE` ... `COMMIT`), which also
//! holds the audit chain's head: the next record's `seq` and `prev` are
//! known without a read, and two writers can never link to the same record.
//! Reads use a pool of their own connections and never wait for writes.
//!
//! Durability: `synchronous = FULL` by default, so a committed change
//! survives a crash of the machine, not only of the process; `NORMAL`
//! (`[store] sync = "normal"`) keeps it across SIGKILL of the process but
//! not a power cut, and is several times faster on slow disks.

use std::str::FromStr as _;
use std::time::Duration;

use async_trait::async_trait;
use gatehouse::audit::chain::{ChainLink, LineHash, hash_line, hash_text};
use serde_json::Value as Json;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use sqlx::{Connection as _, Row as _};
use tokio::sync::Mutex;

use super::{
    ApiKeyRow, Change, Delivery, IdempotencyKey, IdempotentAnswer, ListFilter, RequestRow,
    SessionRow, Store,
};
use crate::error::GateError;

mod bounded;
mod group;
mod migrate;
mod search;
mod sessions;

/// The SQLite store.
pub struct SqliteStore {
    /// The one write connection; creations reach it through `creates`
    /// (group commit, see sqlite/group.rs), every other write locks it.
    pub(super) writer: std::sync::Arc<Mutex<Writer>>,
    creates: tokio::sync::mpsc::Sender<group::Queued>,
    /// Policy digests known to be in `policies` (rows are never deleted):
    /// saving one again is skipped without taking the writer.
    saved_policies: std::sync::Mutex<std::collections::HashSet<String>>,
    readers: SqlitePool,
}

pub(super) struct Writer {
    pub(super) conn: SqliteConnection,
    /// The last chained record: `(seq, hash of its line)`.
    head: (i64, LineHash),
    /// Set from `BEGIN` until the outcome is settled (committed and `head`
    /// moved, or rolled back). Still set at the next transaction means the
    /// last one's caller was cancelled in between (its future dropped: the
    /// client went away or the request timed out) or its `COMMIT` failed:
    /// a transaction may be open, or committed without `head` moving. The
    /// next transaction rolls back whatever is open and reads the head
    /// from the table instead of trusting the cached one.
    in_doubt: bool,
}

fn db(e: sqlx::Error) -> GateError {
    GateError::store(e.to_string())
}

impl SqliteStore {
    /// Opens (creating when missing) the database at `path`; `fsync`
    /// chooses `synchronous = FULL` over `NORMAL`.
    pub async fn open(path: &std::path::Path, fsync: bool) -> Result<SqliteStore, GateError> {
        let options = SqliteConnectOptions::from_str("sqlite://")
            .map_err(db)?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(if fsync {
                SqliteSynchronous::Full
            } else {
                SqliteSynchronous::Normal
            })
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(false);
        let mut conn = SqliteConnection::connect_with(&options).await.map_err(db)?;
        migrate::apply(&mut conn).await?;
        let head = chain_head(&mut conn).await?;
        let readers = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options.read_only(true))
            .await
            .map_err(db)?;
        let writer = std::sync::Arc::new(Mutex::new(Writer {
            conn,
            head,
            in_doubt: false,
        }));
        Ok(SqliteStore {
            creates: group::start(writer.clone()),
            writer,
            saved_policies: Default::default(),
            readers,
        })
    }
}

/// Reads the chain's head from the last audit rows and checks it (see
/// [`super::chain::check_tail`]).
async fn chain_head(conn: &mut SqliteConnection) -> Result<(i64, LineHash), GateError> {
    let rows = sqlx::query("SELECT seq, line, hash FROM audit ORDER BY seq DESC LIMIT 2")
        .fetch_all(&mut *conn)
        .await
        .map_err(db)?;
    let rows: Vec<(i64, String, String)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    super::chain::check_tail(&rows)
}

pub(super) fn roles_column(roles: &[String]) -> String {
    if roles.is_empty() {
        return ",".into();
    }
    format!(",{},", roles.join(","))
}

/// The `LIKE` pattern (escape `\\`) matching a roles column that lists
/// `role`.
pub(super) fn like_member(role: &str) -> String {
    let escaped = role
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%,{escaped},%")
}

pub(super) fn row_from_body(body: &str) -> Result<RequestRow, GateError> {
    serde_json::from_str(body)
        .map_err(|e| GateError::store(format!("a stored request is unreadable: {e}")))
}

/// Appends the change's records to the chain inside the open transaction;
/// gives the new head (applied only after commit).
async fn append_events(
    conn: &mut SqliteConnection,
    head: (i64, LineHash),
    change: &Change,
) -> Result<(i64, LineHash), GateError> {
    let mut lines = Vec::with_capacity(change.events.len());
    let head = chain_lines(head, change, &mut lines)?;
    insert_audit(conn, &lines).await?;
    insert_extras(conn, change).await?;
    Ok(head)
}

/// One chained audit line, ready to insert.
pub(super) struct AuditLine<'c> {
    pub(super) seq: i64,
    pub(super) request_id: &'c str,
    pub(super) line: String,
    pub(super) hash: String,
}

/// Links the change's records after `head` (no I/O), pushing each line;
/// gives the new head.
pub(super) fn chain_lines<'c>(
    head: (i64, LineHash),
    change: &'c Change,
    out: &mut Vec<AuditLine<'c>>,
) -> Result<(i64, LineHash), GateError> {
    let (mut seq, mut prev) = head;
    for event in &change.events {
        let link = ChainLink::after(u64::try_from(seq).unwrap_or(0), prev);
        let line = link
            .line(&event.record)
            .ok_or_else(|| GateError::internal("an audit record is not a JSON object"))?;
        let hash = hash_line(line.as_bytes());
        seq += 1;
        out.push(AuditLine {
            seq,
            request_id: &event.request_id,
            line,
            hash: hash_text(&hash),
        });
        prev = hash;
    }
    Ok((seq, prev))
}

/// Inserts chained lines, many per statement (each statement is a round
/// trip to SQLite's thread; group commit inserts a whole batch's lines).
async fn insert_audit(
    conn: &mut SqliteConnection,
    lines: &[AuditLine<'_>],
) -> Result<(), GateError> {
    // 4 parameters a row, well under SQLite's 32 766 per statement.
    for chunk in lines.chunks(512) {
        let mut insert = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
            "INSERT INTO audit (seq, request_id, line, hash) ",
        );
        insert.push_values(chunk, |mut row, l| {
            row.push_bind(l.seq)
                .push_bind(l.request_id)
                .push_bind(l.line.as_str())
                .push_bind(l.hash.as_str());
        });
        insert.build().execute(&mut *conn).await.map_err(db)?;
    }
    Ok(())
}

/// The idempotency answer and webhook deliveries of a change.
async fn insert_extras(conn: &mut SqliteConnection, change: &Change) -> Result<(), GateError> {
    if let Some((key, answer)) = &change.remember {
        sqlx::query(
            "INSERT INTO idempotency (principal, key, fingerprint, status, body) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(&key.principal)
        .bind(&key.key)
        .bind(&answer.fingerprint)
        .bind(i64::from(answer.status))
        .bind(&answer.body)
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    }
    for notice in &change.notify {
        sqlx::query(
            "INSERT INTO deliveries (id, receiver, body, attempts, next_ms, done) VALUES (?, ?, ?, 0, 0, 0)",
        )
        .bind(crate::ids::new_id("whd_"))
        .bind(&notice.receiver)
        .bind(&notice.body)
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    }
    Ok(())
}

pub(super) async fn write_row(
    conn: &mut SqliteConnection,
    row: &RequestRow,
    insert: bool,
) -> Result<(), GateError> {
    let body = serde_json::to_string(row).map_err(|e| GateError::internal(e.to_string()))?;
    let sql = if insert {
        "INSERT INTO requests (state, created_at, created_unix, updated_at, deadline, deadline_unix, requester, agent, outcome, tier, roles, action_digest, policy_digest, body, version, sample_state, id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    } else {
        "UPDATE requests SET state = ?, created_at = ?, created_unix = ?, updated_at = ?, deadline = ?, deadline_unix = ?, requester = ?, agent = ?, outcome = ?, tier = ?, roles = ?, action_digest = ?, policy_digest = ?, body = ?, version = ?, sample_state = ? WHERE id = ?"
    };
    sqlx::query(sql)
        .bind(row.state.as_str())
        .bind(&row.created_at)
        .bind(row.created_unix)
        .bind(&row.updated_at)
        .bind(&row.deadline)
        .bind(row.deadline_unix)
        .bind(&row.requester)
        .bind(&row.agent)
        .bind(&row.outcome)
        .bind(row.tier)
        .bind(roles_column(&row.roles))
        .bind(&row.action_digest)
        .bind(&row.policy_digest)
        .bind(body)
        .bind(row.version)
        .bind(super::sample_state_of(row))
        .bind(&row.id)
        .execute(&mut *conn)
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(d) if d.is_unique_violation() => {
                GateError::conflict("REQUEST_EXISTS", "a request with this id exists")
            }
            _ => db(e),
        })?;
    Ok(())
}

impl Writer {
    /// Runs `work` inside `BEGIN IMMEDIATE` ... `COMMIT`; on any error the
    /// transaction is rolled back and the chain head is unchanged.
    async fn transaction<T>(
        &mut self,
        work: impl AsyncFnOnce(
            &mut SqliteConnection,
            (i64, LineHash),
        ) -> Result<(T, (i64, LineHash)), GateError>,
    ) -> Result<T, GateError> {
        if self.in_doubt {
            // Nobody was answered for what is open (the answer is sent only
            // after this returns), so rolling it back loses nothing
            // acknowledged; "no transaction is active" is fine too.
            let _ = sqlx::query("ROLLBACK").execute(&mut self.conn).await;
            self.head = chain_head(&mut self.conn).await?;
            self.in_doubt = false;
        }
        self.in_doubt = true;
        sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut self.conn)
            .await
            .map_err(db)?;
        match work(&mut self.conn, self.head).await {
            Ok((value, head)) => match sqlx::query("COMMIT").execute(&mut self.conn).await {
                Ok(_) => {
                    // Durable now (synchronous = FULL fsyncs the WAL in
                    // COMMIT); only now may the caller answer.
                    self.head = head;
                    self.in_doubt = false;
                    Ok(value)
                }
                Err(e) => {
                    // The head stays where it was; `in_doubt` stays set so
                    // the next transaction re-reads it from the table (a
                    // COMMIT that reports failure after writing is rare,
                    // but then the table is right and the cache is not).
                    let _ = sqlx::query("ROLLBACK").execute(&mut self.conn).await;
                    Err(db(e))
                }
            },
            Err(e) => {
                if sqlx::query("ROLLBACK")
                    .execute(&mut self.conn)
                    .await
                    .is_ok()
                {
                    self.in_doubt = false;
                }
                Err(e)
            }
        }
    }
}

impl SqliteStore {
    /// The bodies (or, with `ids_only`, the ids, in the filter's order) of
    /// the requests a filter lists.
    async fn list_texts(
        &self,
        filter: &ListFilter,
        ids_only: bool,
    ) -> Result<Vec<String>, GateError> {
        // Soonest deadline first sorts ids alone, then reads the bodies:
        // sorting whole rows spilled SQLite's sorter to disk and made a
        // 2 000-row queue page 70 times slower than a 200-row one.
        let mut sql = String::from(if ids_only {
            "SELECT id FROM requests WHERE 1 = 1"
        } else if filter.by_deadline {
            "SELECT r.body FROM requests r JOIN (SELECT id FROM requests WHERE 1 = 1"
        } else {
            "SELECT body FROM requests WHERE 1 = 1"
        });
        if !filter.states.is_empty() {
            sql.push_str(" AND state IN (");
            sql.push_str(&vec!["?"; filter.states.len()].join(", "));
            sql.push(')');
        }
        for (set, clause) in [
            (filter.tier.is_some(), " AND tier = ?"),
            (filter.role.is_some(), " AND roles LIKE ? ESCAPE '\\'"),
            (filter.agent.is_some(), " AND agent = ?"),
            (filter.created_before.is_some(), " AND created_unix <= ?"),
            (filter.created_after.is_some(), " AND created_unix > ?"),
            (filter.before_id.is_some(), " AND id < ?"),
            (filter.after_id.is_some(), " AND id > ?"),
        ] {
            if set {
                sql.push_str(clause);
            }
        }
        if let Some(requesters) = &filter.requesters {
            if requesters.is_empty() {
                return Ok(Vec::new());
            }
            sql.push_str(" AND requester IN (");
            sql.push_str(&vec!["?"; requesters.len()].join(", "));
            sql.push(')');
        }
        if let Some(roles) = &filter.actionable_by {
            sql.push_str(" AND (roles = ','");
            sql.push_str(&" OR roles LIKE ? ESCAPE '\\'".repeat(roles.len()));
            sql.push(')');
        }
        if let Some(states) = &filter.sample_states {
            if states.is_empty() {
                return Ok(Vec::new());
            }
            sql.push_str(" AND sample_state IN (");
            sql.push_str(&vec!["?"; states.len()].join(", "));
            sql.push(')');
        }
        let order = if filter.by_deadline {
            " ORDER BY deadline_unix IS NULL, deadline_unix, id LIMIT ?"
        } else if filter.oldest_first {
            " ORDER BY id LIMIT ?"
        } else {
            " ORDER BY id DESC LIMIT ?"
        };
        sql.push_str(order);
        if !ids_only && filter.by_deadline {
            sql.push_str(") p ON p.id = r.id");
        }
        let mut query = sqlx::query_scalar::<_, String>(&sql);
        for s in &filter.states {
            query = query.bind(s.as_str());
        }
        if let Some(tier) = filter.tier {
            query = query.bind(tier);
        }
        if let Some(role) = &filter.role {
            query = query.bind(like_member(role));
        }
        if let Some(agent) = &filter.agent {
            query = query.bind(agent.clone());
        }
        if let Some(t) = filter.created_before {
            query = query.bind(t);
        }
        if let Some(t) = filter.created_after {
            query = query.bind(t);
        }
        if let Some(id) = &filter.before_id {
            query = query.bind(id.clone());
        }
        if let Some(id) = &filter.after_id {
            query = query.bind(id.clone());
        }
        for requester in filter.requesters.iter().flatten() {
            query = query.bind(requester.clone());
        }
        for role in filter.actionable_by.iter().flatten() {
            query = query.bind(like_member(role));
        }
        for state in filter.sample_states.iter().flatten() {
            query = query.bind(state.clone());
        }
        query = query.bind(i64::from(filter.limit));
        query.fetch_all(&self.readers).await.map_err(db)
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn create(&self, change: Change) -> Result<(), GateError> {
        group::create(&self.creates, change).await
    }

    async fn update(
        &self,
        id: &str,
        apply: &mut (dyn FnMut(RequestRow) -> Result<Change, GateError> + Send),
    ) -> Result<RequestRow, GateError> {
        let mut writer = self.writer.lock().await;
        writer
            .transaction(async |conn, head| {
                let body: Option<String> =
                    sqlx::query_scalar("SELECT body FROM requests WHERE id = ?")
                        .bind(id)
                        .fetch_optional(&mut *conn)
                        .await
                        .map_err(db)?;
                let Some(body) = body else {
                    return Err(GateError::not_found(id));
                };
                let current = row_from_body(&body)?;
                let mut change = apply(current.clone())?;
                change.row.version = current.version + 1;
                write_row(conn, &change.row, false).await?;
                let head = append_events(conn, head, &change).await?;
                Ok((change.row, head))
            })
            .await
    }

    async fn get(&self, id: &str) -> Result<Option<RequestRow>, GateError> {
        let body: Option<String> = sqlx::query_scalar("SELECT body FROM requests WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.readers)
            .await
            .map_err(db)?;
        body.as_deref().map(row_from_body).transpose()
    }

    async fn list(&self, filter: &ListFilter) -> Result<Vec<RequestRow>, GateError> {
        let bodies = self.list_texts(filter, false).await?;
        let mut rows = bodies
            .iter()
            .map(|b| row_from_body(b))
            .collect::<Result<Vec<_>, _>>()?;
        if filter.by_deadline {
            rows.sort_by(|a, b| {
                (a.deadline_unix.is_none(), a.deadline_unix, &a.id).cmp(&(
                    b.deadline_unix.is_none(),
                    b.deadline_unix,
                    &b.id,
                ))
            });
        }
        Ok(rows)
    }

    async fn list_bounded(
        &self,
        filter: &ListFilter,
        max_bytes: usize,
    ) -> Result<(Vec<RequestRow>, bool), GateError> {
        let ids = self.list_texts(filter, true).await?;
        bounded::bodies_in_order(&self.readers, &ids, max_bytes).await
    }

    async fn search(&self, filter: &super::SearchFilter) -> Result<super::SearchPage, GateError> {
        search::search(&self.readers, filter).await
    }

    async fn due(&self, now_unix: i64, limit: u32) -> Result<Vec<String>, GateError> {
        sqlx::query_scalar(
            "SELECT id FROM requests WHERE state = 'pending' AND deadline_unix IS NOT NULL AND deadline_unix <= ? ORDER BY deadline_unix LIMIT ?",
        )
        .bind(now_unix)
        .bind(i64::from(limit))
        .fetch_all(&self.readers)
        .await
        .map_err(db)
    }

    async fn idempotent(
        &self,
        key: &IdempotencyKey,
    ) -> Result<Option<IdempotentAnswer>, GateError> {
        let row = sqlx::query(
            "SELECT fingerprint, status, body FROM idempotency WHERE principal = ? AND key = ?",
        )
        .bind(&key.principal)
        .bind(&key.key)
        .fetch_optional(&self.readers)
        .await
        .map_err(db)?;
        Ok(row.map(|r| IdempotentAnswer {
            fingerprint: r.get(0),
            status: u16::try_from(r.get::<i64, _>(1)).unwrap_or(500),
            body: r.get(2),
        }))
    }

    async fn audit_after(
        &self,
        seq: i64,
        limit: u32,
        max_bytes: usize,
    ) -> Result<(Vec<(i64, String)>, bool), GateError> {
        use futures_util::TryStreamExt as _;
        // One row past the page says whether more follow; rows are read
        // one at a time, so a page never holds more than `max_bytes` (plus
        // its first line) whatever the lines' sizes.
        let mut rows =
            sqlx::query("SELECT seq, line FROM audit WHERE seq > ? ORDER BY seq LIMIT ?")
                .bind(seq)
                .bind(i64::from(limit) + 1)
                .fetch(&self.readers);
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

    async fn audit_of(&self, request_id: &str) -> Result<Vec<(i64, String)>, GateError> {
        let rows = sqlx::query(
            "SELECT seq, line FROM audit WHERE request_id = ? ORDER BY seq LIMIT 10000",
        )
        .bind(request_id)
        .fetch_all(&self.readers)
        .await
        .map_err(db)?;
        Ok(rows.into_iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    async fn insert_key(&self, key: &ApiKeyRow) -> Result<(), GateError> {
        let mut writer = self.writer.lock().await;
        sqlx::query(
            "INSERT INTO api_keys (id, hash, identity, scopes, roles, created_at, revoked) VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&key.id)
        .bind(&key.hash)
        .bind(&key.identity)
        .bind(key.scopes.join(" "))
        .bind(key.roles.join(" "))
        .bind(&key.created_at)
        .bind(key.revoked)
        .execute(&mut writer.conn)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn key_by_hash(&self, hash: &str) -> Result<Option<ApiKeyRow>, GateError> {
        let row = sqlx::query(
            "SELECT id, hash, identity, scopes, roles, created_at, revoked FROM api_keys WHERE hash = ?",
        )
        .bind(hash)
        .fetch_optional(&self.readers)
        .await
        .map_err(db)?;
        Ok(row.map(key_from_row))
    }

    async fn keys(&self) -> Result<Vec<ApiKeyRow>, GateError> {
        let rows = sqlx::query(
            "SELECT id, hash, identity, scopes, roles, created_at, revoked FROM api_keys ORDER BY created_at, id",
        )
        .fetch_all(&self.readers)
        .await
        .map_err(db)?;
        Ok(rows.into_iter().map(key_from_row).collect())
    }

    async fn revoke_key(&self, id: &str) -> Result<bool, GateError> {
        let mut writer = self.writer.lock().await;
        let done = sqlx::query("UPDATE api_keys SET revoked = 1 WHERE id = ?")
            .bind(id)
            .execute(&mut writer.conn)
            .await
            .map_err(db)?;
        Ok(done.rows_affected() > 0)
    }

    async fn save_policy(&self, digest: &str, sources: &Json) -> Result<(), GateError> {
        let known = |saved: &std::sync::Mutex<std::collections::HashSet<String>>| {
            saved
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .contains(digest)
        };
        // Every creation saves its policy first; after the first time, the
        // row is there (policies are never deleted), so skip the write.
        if known(&self.saved_policies) {
            return Ok(());
        }
        let mut writer = self.writer.lock().await;
        sqlx::query("INSERT OR IGNORE INTO policies (digest, sources) VALUES (?, ?)")
            .bind(digest)
            .bind(sources.to_string())
            .execute(&mut writer.conn)
            .await
            .map_err(db)?;
        self.saved_policies
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(digest.to_owned());
        Ok(())
    }

    async fn policy_sources(&self, digest: &str) -> Result<Option<Json>, GateError> {
        let text: Option<String> =
            sqlx::query_scalar("SELECT sources FROM policies WHERE digest = ?")
                .bind(digest)
                .fetch_optional(&self.readers)
                .await
                .map_err(db)?;
        text.map(|t| serde_json::from_str(&t).map_err(|e| GateError::store(e.to_string())))
            .transpose()
    }

    async fn pending_by_tier(&self) -> Result<Vec<(Option<i64>, i64)>, GateError> {
        let rows = sqlx::query(
            "SELECT tier, COUNT(*) FROM requests WHERE state = 'pending' GROUP BY tier",
        )
        .fetch_all(&self.readers)
        .await
        .map_err(db)?;
        Ok(rows.into_iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    async fn deliveries_waiting(&self) -> Result<i64, GateError> {
        sqlx::query("SELECT COUNT(*) FROM deliveries WHERE done = 0")
            .fetch_one(&self.readers)
            .await
            .map(|r| r.get(0))
            .map_err(db)
    }

    async fn deliveries_due(&self, now_ms: i64, limit: u32) -> Result<Vec<Delivery>, GateError> {
        let rows = sqlx::query(
            "SELECT id, receiver, body, attempts FROM deliveries WHERE done = 0 AND next_ms <= ? ORDER BY next_ms, id LIMIT ?",
        )
        .bind(now_ms)
        .bind(i64::from(limit))
        .fetch_all(&self.readers)
        .await
        .map_err(db)?;
        Ok(rows
            .into_iter()
            .map(|r| Delivery {
                id: r.get(0),
                receiver: r.get(1),
                body: r.get(2),
                attempts: r.get(3),
            })
            .collect())
    }

    async fn insert_session(&self, session: &SessionRow, now_unix: i64) -> Result<(), GateError> {
        let mut writer = self.writer.lock().await;
        sessions::insert(&mut writer.conn, session, now_unix).await
    }

    async fn session(&self, hash: &str, now_unix: i64) -> Result<Option<SessionRow>, GateError> {
        sessions::get(&self.readers, hash, now_unix).await
    }

    async fn delete_session(&self, hash: &str) -> Result<bool, GateError> {
        let mut writer = self.writer.lock().await;
        sessions::delete(&mut writer.conn, hash).await
    }

    async fn delivery_done(
        &self,
        id: &str,
        error: Option<&str>,
        retry_at_ms: Option<i64>,
    ) -> Result<(), GateError> {
        let mut writer = self.writer.lock().await;
        let (done, next) = match (error, retry_at_ms) {
            (None, _) => {
                sqlx::query("DELETE FROM deliveries WHERE id = ?")
                    .bind(id)
                    .execute(&mut writer.conn)
                    .await
                    .map_err(db)?;
                return Ok(());
            }
            (Some(_), Some(at)) => (0, at),
            (Some(_), None) => (2, 0),
        };
        sqlx::query(
            "UPDATE deliveries SET done = ?, next_ms = ?, attempts = attempts + 1, last_error = ? WHERE id = ?",
        )
        .bind(done)
        .bind(next)
        .bind(error)
        .bind(id)
        .execute(&mut writer.conn)
        .await
        .map_err(db)?;
        Ok(())
    }
}

fn key_from_row(r: sqlx::sqlite::SqliteRow) -> ApiKeyRow {
    let words = |s: String| -> Vec<String> { s.split_whitespace().map(str::to_owned).collect() };
    ApiKeyRow {
        id: r.get(0),
        hash: r.get(1),
        identity: r.get(2),
        scopes: words(r.get(3)),
        roles: words(r.get(4)),
        created_at: r.get(5),
        revoked: r.get::<i64, _>(6) != 0,
    }
}

#[cfg(test)]
#[path = "sqlite_tests.rs"]
mod tests;

//! The PostgreSQL store: one database shared by any number of replicas,
//! with no coordination service between them.
//!
//! How the replicas stay one gate (each point is tested in
//! postgres_tests.rs with two stores on one database):
//! - Every change is one transaction (request row, chained audit records,
//!   idempotency answer, outbox rows, change note) and a call returns only
//!   after `COMMIT`; on any error the transaction is rolled back (sqlx
//!   rolls back a transaction dropped uncommitted).
//! - `update` locks the request (`SELECT ... FOR UPDATE`): of two replicas
//!   changing one request, the second waits, then sees the first's result
//!   (and the lifecycle refuses what no longer applies).
//! - One audit chain: `audit_head` (one row: last seq, hash of its line) is
//!   locked `FOR UPDATE` at the end of each transaction, after the row
//!   work, so the serialized part is short; records are appended after it
//!   and the head moved in the same transaction. Nothing is cached.
//! - `due` skips requests another replica holds locked (`SKIP LOCKED`);
//!   the expiry itself is an `update`, which re-checks the state.
//! - Webhook deliveries are leased ([`DELIVERY_LEASE_MS`]).
//! - Changes are announced with `pg_notify` inside the transaction
//!   (delivered on commit only); see postgres/feed.rs.
//!
//! A database that cannot be reached (refused, reset, restarting, pool
//! exhausted or timed out) gives 503 `STORE_UNAVAILABLE`; the pool opens
//! new connections by itself when it is back.

use std::time::Duration;

use async_trait::async_trait;
use gatehouse::audit::chain::{LineHash, hash_text, parse_hash};
use serde_json::Value as Json;
use sqlx::Row as _;
use sqlx::postgres::{PgConnection, PgPool, PgPoolOptions};
use tokio::sync::broadcast;

use super::sqlite::{AuditLine, chain_lines, roles_column, row_from_body};
use super::{
    ApiKeyRow, Change, Delivery, IdempotencyKey, IdempotentAnswer, ListFilter, MigrationReport,
    RequestRow, SessionRow, Store, StoreNote,
};
use crate::config::StoreConfig;
use crate::error::GateError;

mod dburl;
mod feed;
mod migrate;
mod read;

pub(super) use dburl::redacted_error;
pub use dburl::{connect_options, redact_url};

/// How long a webhook delivery handed to one replica is withheld from the
/// others (its `next_ms` moved this far ahead): longer than an attempt
/// takes, so two replicas do not send it at once; a replica killed
/// mid-attempt leaves it due again when the lease ends (at-least-once).
pub const DELIVERY_LEASE_MS: i64 = 120_000;

/// The advisory lock key the first admin key is made under (an arbitrary
/// constant, other than the migrations' one).
const FIRST_KEY_LOCK: i64 = 0x6761_7465_6b65_7931;

/// The PostgreSQL store.
pub struct PgStore {
    pool: PgPool,
    notes: broadcast::Sender<StoreNote>,
    /// The listener task; stopped when the store is dropped.
    listener: AbortOnDrop,
    /// Policy digests known to be in `policies` (rows are never deleted):
    /// every creation saves its policy, and without this each one sent the
    /// whole policy text (kilobytes) to the database again.
    saved_policies: std::sync::Mutex<std::collections::HashSet<String>>,
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Whether an error means the database cannot be reached now (the change
/// was not made; retrying later is safe).
fn is_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Tls(_) => true,
        sqlx::Error::Database(d) => d.code().is_some_and(|code| {
            // Class 08: connection exceptions; 57P01..57P03: the server is
            // shutting down, crashed, or cannot connect now; 53300: too
            // many connections.
            code.starts_with("08") || matches!(&*code, "57P01" | "57P02" | "57P03" | "53300")
        }),
        _ => false,
    }
}

/// Whether PostgreSQL refused a text value it cannot hold: a NUL
/// character (`\u0000` in JSON), which `TEXT` never stores (SQLSTATE
/// 22021; a Rust string is valid UTF-8, so nothing else gives it here).
fn is_unstorable_text(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.code().as_deref() == Some("22021"))
}

/// Maps a database error: unreachable -> 503 `STORE_UNAVAILABLE`; a text
/// value with a NUL character (an agent id, a filter, a key id from the
/// caller) -> 422 `INVALID_BODY`, the caller's to fix (it was a 500);
/// anything else -> 500 `STORE_ERROR`.
pub(super) fn db(e: sqlx::Error) -> GateError {
    if is_unstorable_text(&e) {
        return GateError::new(
            422,
            "INVALID_BODY",
            "a text value contains a NUL character (\\u0000), which the database cannot store or match",
        );
    }
    if is_unavailable(&e) {
        GateError::unavailable(format!(
            "the database is unavailable: {}",
            redacted_error(&e)
        ))
    } else {
        GateError::store(redacted_error(&e))
    }
}

/// The pool for `url` (no connection opened yet).
fn pool_for(url: &str, config: &StoreConfig) -> Result<PgPool, GateError> {
    let options = connect_options(url)?;
    Ok(PgPoolOptions::new()
        .max_connections(config.max_connections.max(2))
        .acquire_timeout(Duration::from_millis(config.connect_timeout_ms.max(1)))
        .connect_lazy_with(options.application_name("gatehouse")))
}

/// The first connection: a database that is down at start is a clear
/// error (within `connect_timeout_ms`), not a hang.
async fn first_contact(pool: &PgPool, url: &str) -> Result<(), GateError> {
    sqlx::query("SELECT 1")
        .execute(pool)
        .await
        .map(|_| ())
        .map_err(|e| {
            let mut error = db(e);
            error.detail = format!(
                "cannot reach the database at {}: {}",
                redact_url(url),
                error.detail
            );
            error
        })
}

impl PgStore {
    /// Connects to `url`, applies the schema migrations this database
    /// lacks, checks the audit chain's head and starts the change feed.
    pub async fn open(url: &str, config: &StoreConfig) -> Result<PgStore, GateError> {
        PgStore::open_at(url, config, migrate::LATEST).await
    }

    /// [`PgStore::open`] with migrations applied up to `version` only
    /// (tests build older databases with it).
    #[doc(hidden)]
    pub async fn open_at(
        url: &str,
        config: &StoreConfig,
        version: i64,
    ) -> Result<PgStore, GateError> {
        let pool = pool_for(url, config)?;
        first_contact(&pool, url).await?;
        migrate::apply(&pool, version).await?;
        if version >= 2 {
            check_head(&pool).await?;
        }
        let (notes, _) = broadcast::channel(feed::CAPACITY);
        let task = feed::start(&pool, notes.clone()).await.map_err(db)?;
        Ok(PgStore {
            pool,
            notes,
            listener: AbortOnDrop(task),
            saved_policies: Default::default(),
        })
    }

    /// Brings the database at `url` up to this binary's schema (what
    /// `open` does first) and says what was done.
    pub async fn migrate(url: &str, config: &StoreConfig) -> Result<MigrationReport, GateError> {
        let pool = pool_for(url, config)?;
        first_contact(&pool, url).await?;
        let report = migrate::apply(&pool, migrate::LATEST).await;
        pool.close().await;
        report
    }

    /// The pool (tests reach the tables with it).
    #[doc(hidden)]
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Whether the listener task is still running (it only ends when the
    /// store is dropped).
    #[doc(hidden)]
    pub fn feed_running(&self) -> bool {
        !self.listener.0.is_finished()
    }
}

/// Checks the audit rows' tail as the SQLite store does at open, and that
/// `audit_head` names that tail: a database whose last records or head
/// were edited is refused.
///
/// Both reads are in one `REPEATABLE READ` snapshot: read apart, another
/// replica's append committed between them made a live database look
/// edited, and a replica restarted during traffic refused to start (found
/// by the fault-injection run, tests/faults).
async fn check_head(pool: &PgPool) -> Result<(), GateError> {
    let mut tx = pool.begin().await.map_err(db)?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    let rows = sqlx::query("SELECT seq, line, hash FROM audit ORDER BY seq DESC LIMIT 2")
        .fetch_all(&mut *tx)
        .await
        .map_err(db)?;
    let rows: Vec<(i64, String, String)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    let (seq, hash) = super::chain::check_tail(&rows)?;
    let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
    tx.rollback().await.map_err(db)?;
    let matches = head.is_some_and(|h| {
        h.get::<i64, _>(0) == seq && parse_hash(&h.get::<String, _>(1)) == Some(hash)
    });
    if !matches {
        return Err(GateError::store(format!(
            "the audit chain's head (table audit_head) does not name its last record (seq {seq}): the database was edited; the gate will not extend a chain it cannot vouch for (restore the database from a backup, or export and check it with `gatehouse audit verify`)"
        )));
    }
    Ok(())
}

/// Writes the idempotency answer, the outbox rows and the change note,
/// then locks the chain's head (last in the transaction, so other
/// replicas wait on it only for the append itself and the commit: a
/// duplicate idempotency key or any other refusal is met before the head
/// is taken), appends the change's records after it and moves it.
async fn append(conn: &mut PgConnection, change: &Change) -> Result<(), GateError> {
    if let Some((key, answer)) = &change.remember {
        sqlx::query(
            "INSERT INTO idempotency (principal, key, fingerprint, status, body) VALUES ($1, $2, $3, $4, $5)",
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
            "INSERT INTO deliveries (id, receiver, body, attempts, next_ms, done) VALUES ($1, $2, $3, 0, 0, 0)",
        )
        .bind(crate::ids::new_id("whd_"))
        .bind(&notice.receiver)
        .bind(&notice.body)
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    }
    let note = feed::Wire::Request {
        id: change.row.id.clone(),
        state: change.row.state.as_str().to_owned(),
        version: change.row.version,
    };
    notify(conn, &note).await?;
    if !change.events.is_empty() {
        let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE")
            .fetch_optional(&mut *conn)
            .await
            .map_err(db)?
            .ok_or_else(|| GateError::store(edited_head("is missing")))?;
        let seq: i64 = head.get(0);
        let prev: LineHash = parse_hash(&head.get::<String, _>(1))
            .ok_or_else(|| GateError::store(edited_head("has an unreadable hash")))?;
        // The stored hash of the record the head names: a head that names
        // a missing record (the tail was deleted, the head moved) or
        // another hash (the head was forged) is refused here, while
        // replicas run, not only at the next start (records linked to it
        // would heal the tail `open` checks). A statement of its own, after
        // the lock: under READ COMMITTED it sees the record the previous
        // holder of the lock committed (a join in the locking statement
        // would not: its re-check after the wait keeps the old snapshot of
        // `audit`, and refused every append that had waited).
        let named: Option<String> = sqlx::query_scalar("SELECT hash FROM audit WHERE seq = $1")
            .bind(seq)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db)?;
        let names_its_record = match named {
            Some(stored) => parse_hash(&stored) == Some(prev),
            None => seq == 0,
        };
        if !names_its_record {
            return Err(GateError::store(edited_head(&format!(
                "does not name the stored record seq {seq}"
            ))));
        }
        let mut lines: Vec<AuditLine<'_>> = Vec::with_capacity(change.events.len());
        let (seq, prev) = chain_lines((seq, prev), change, &mut lines)?;
        let mut insert = sqlx::QueryBuilder::<sqlx::Postgres>::new(
            "INSERT INTO audit (seq, request_id, line, hash) ",
        );
        insert.push_values(&lines, |mut row, l| {
            row.push_bind(l.seq)
                .push_bind(l.request_id)
                .push_bind(l.line.as_str())
                .push_bind(l.hash.as_str());
        });
        insert.build().execute(&mut *conn).await.map_err(db)?;
        sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
            .bind(seq)
            .bind(hash_text(&prev))
            .execute(&mut *conn)
            .await
            .map_err(db)?;
    }
    Ok(())
}

/// The refusal when `audit_head` was edited (`why` says how): nothing of
/// the change is written.
fn edited_head(why: &str) -> String {
    format!(
        "the audit chain's head (table audit_head) {why}: the database was edited; the gate will not extend a chain it cannot vouch for (restore the database from a backup, or export and check it with `gatehouse audit verify`)"
    )
}

/// Sends a change note; PostgreSQL delivers it when the transaction
/// commits, and never if it rolls back.
async fn notify(conn: &mut PgConnection, note: &feed::Wire) -> Result<(), GateError> {
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(feed::CHANNEL)
        .bind(note.text())
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    Ok(())
}

/// Writes a request's row (insert or update by id).
pub(super) async fn write_row(
    conn: &mut PgConnection,
    row: &RequestRow,
    insert: bool,
) -> Result<(), GateError> {
    let body = serde_json::to_string(row).map_err(|e| GateError::internal(e.to_string()))?;
    let sql = if insert {
        "INSERT INTO requests (state, created_at, created_unix, updated_at, deadline, deadline_unix, requester, agent, outcome, tier, roles, action_digest, policy_digest, body, version, sample_state, id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"
    } else {
        "UPDATE requests SET state = $1, created_at = $2, created_unix = $3, updated_at = $4, deadline = $5, deadline_unix = $6, requester = $7, agent = $8, outcome = $9, tier = $10, roles = $11, action_digest = $12, policy_digest = $13, body = $14, version = $15, sample_state = $16 WHERE id = $17"
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
            sqlx::Error::Database(d)
                if d.is_unique_violation() && d.constraint() == Some("requests_pkey") =>
            {
                GateError::conflict("REQUEST_EXISTS", "a request with this id exists")
            }
            _ => db(e),
        })?;
    Ok(())
}

fn key_from_row(r: &sqlx::postgres::PgRow) -> ApiKeyRow {
    let words = |s: String| -> Vec<String> { s.split_whitespace().map(str::to_owned).collect() };
    ApiKeyRow {
        id: r.get(0),
        hash: r.get(1),
        identity: r.get(2),
        scopes: words(r.get(3)),
        roles: words(r.get(4)),
        created_at: r.get(5),
        revoked: r.get(6),
    }
}

#[async_trait]
impl Store for PgStore {
    fn feed(&self) -> Option<broadcast::Receiver<StoreNote>> {
        Some(self.notes.subscribe())
    }

    async fn ping(&self) -> Result<(), GateError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn shared_signing_seed(
        &self,
        candidate: [u8; 32],
    ) -> Result<Option<[u8; 32]>, GateError> {
        sqlx::query(
            "INSERT INTO gate_signing (id, seed) VALUES (1, $1) ON CONFLICT (id) DO NOTHING",
        )
        .bind(&candidate[..])
        .execute(&self.pool)
        .await
        .map_err(db)?;
        let seed: Vec<u8> = sqlx::query_scalar("SELECT seed FROM gate_signing WHERE id = 1")
            .fetch_one(&self.pool)
            .await
            .map_err(db)?;
        let seed: [u8; 32] = seed
            .try_into()
            .map_err(|_| GateError::store("the stored signing seed is not 32 bytes"))?;
        Ok(Some(seed))
    }

    async fn create(&self, change: Change) -> Result<(), GateError> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        write_row(&mut tx, &change.row, true).await?;
        append(&mut tx, &change).await?;
        tx.commit().await.map_err(db)
    }

    async fn update(
        &self,
        id: &str,
        apply: &mut (dyn FnMut(RequestRow) -> Result<Change, GateError> + Send),
    ) -> Result<RequestRow, GateError> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        let body: Option<String> =
            sqlx::query_scalar("SELECT body FROM requests WHERE id = $1 FOR UPDATE")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db)?;
        let Some(body) = body else {
            return Err(GateError::not_found(id));
        };
        let current = row_from_body(&body)?;
        let mut change = apply(current.clone())?;
        change.row.version = current.version + 1;
        write_row(&mut tx, &change.row, false).await?;
        append(&mut tx, &change).await?;
        tx.commit().await.map_err(db)?;
        Ok(change.row)
    }

    async fn get(&self, id: &str) -> Result<Option<RequestRow>, GateError> {
        let body: Option<String> = sqlx::query_scalar("SELECT body FROM requests WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        body.as_deref().map(row_from_body).transpose()
    }

    async fn list(&self, filter: &ListFilter) -> Result<Vec<RequestRow>, GateError> {
        let bodies = read::list_texts(&self.pool, filter, false).await?;
        bodies.iter().map(|b| row_from_body(b)).collect()
    }

    async fn list_bounded(
        &self,
        filter: &ListFilter,
        max_bytes: usize,
    ) -> Result<(Vec<RequestRow>, bool), GateError> {
        let ids = read::list_texts(&self.pool, filter, true).await?;
        read::bodies_in_order(&self.pool, &ids, max_bytes).await
    }

    async fn search(&self, filter: &super::SearchFilter) -> Result<super::SearchPage, GateError> {
        read::search(&self.pool, filter).await
    }

    async fn due(&self, now_unix: i64, limit: u32) -> Result<Vec<String>, GateError> {
        // One short statement (its own transaction): rows another replica
        // holds locked (expiring or reviewing them now) are skipped, so
        // replicas share the due requests instead of queueing on them.
        // The locks end with the statement; `gate.expire` locks again and
        // re-checks the state.
        sqlx::query_scalar(
            "SELECT id FROM requests WHERE state = 'pending' AND deadline_unix IS NOT NULL AND deadline_unix <= $1 ORDER BY deadline_unix LIMIT $2 FOR UPDATE SKIP LOCKED",
        )
        .bind(now_unix)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db)
    }

    async fn idempotent(
        &self,
        key: &IdempotencyKey,
    ) -> Result<Option<IdempotentAnswer>, GateError> {
        let row = sqlx::query(
            "SELECT fingerprint, status, body FROM idempotency WHERE principal = $1 AND key = $2",
        )
        .bind(&key.principal)
        .bind(&key.key)
        .fetch_optional(&self.pool)
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
        read::audit_after(&self.pool, seq, limit, max_bytes).await
    }

    async fn audit_of(&self, request_id: &str) -> Result<Vec<(i64, String)>, GateError> {
        let rows = sqlx::query(
            "SELECT seq, line FROM audit WHERE request_id = $1 ORDER BY seq LIMIT 10000",
        )
        .bind(request_id)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        Ok(rows.into_iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    async fn insert_key(&self, key: &ApiKeyRow) -> Result<(), GateError> {
        sqlx::query(
            "INSERT INTO api_keys (id, hash, identity, scopes, roles, created_at, revoked) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&key.id)
        .bind(&key.hash)
        .bind(&key.identity)
        .bind(key.scopes.join(" "))
        .bind(key.roles.join(" "))
        .bind(&key.created_at)
        .bind(key.revoked)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn insert_first_key(&self, key: &ApiKeyRow) -> Result<bool, GateError> {
        // Under a transaction-scoped advisory lock, so replicas starting
        // together check and insert one after the other (READ COMMITTED
        // alone lets each see an empty table).
        let mut tx = self.pool.begin().await.map_err(db)?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(FIRST_KEY_LOCK)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        let any: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM api_keys)")
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
        if any {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO api_keys (id, hash, identity, scopes, roles, created_at, revoked) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&key.id)
        .bind(&key.hash)
        .bind(&key.identity)
        .bind(key.scopes.join(" "))
        .bind(key.roles.join(" "))
        .bind(&key.created_at)
        .bind(key.revoked)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(true)
    }

    async fn key_by_hash(&self, hash: &str) -> Result<Option<ApiKeyRow>, GateError> {
        let row = sqlx::query(
            "SELECT id, hash, identity, scopes, roles, created_at, revoked FROM api_keys WHERE hash = $1",
        )
        .bind(hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        Ok(row.as_ref().map(key_from_row))
    }

    async fn keys(&self) -> Result<Vec<ApiKeyRow>, GateError> {
        let rows = sqlx::query(
            "SELECT id, hash, identity, scopes, roles, created_at, revoked FROM api_keys ORDER BY created_at, id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        Ok(rows.iter().map(key_from_row).collect())
    }

    async fn revoke_key(&self, id: &str) -> Result<bool, GateError> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        let done = sqlx::query("UPDATE api_keys SET revoked = TRUE WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        if done.rows_affected() > 0 {
            notify(&mut tx, &feed::Wire::KeyRevoked { id: id.to_owned() }).await?;
        }
        tx.commit().await.map_err(db)?;
        Ok(done.rows_affected() > 0)
    }

    async fn save_policy(&self, digest: &str, sources: &Json) -> Result<(), GateError> {
        let known = |set: &std::sync::Mutex<std::collections::HashSet<String>>| {
            set.lock()
                .unwrap_or_else(|p| p.into_inner())
                .contains(digest)
        };
        if known(&self.saved_policies) {
            return Ok(());
        }
        sqlx::query("INSERT INTO policies (digest, sources) VALUES ($1, $2) ON CONFLICT (digest) DO NOTHING")
            .bind(digest)
            .bind(sources.to_string())
            .execute(&self.pool)
            .await
            .map_err(db)?;
        // Only after the insert committed (or found the row): a failed
        // save is tried again by the next creation.
        self.saved_policies
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(digest.to_owned());
        Ok(())
    }

    async fn policy_sources(&self, digest: &str) -> Result<Option<Json>, GateError> {
        let text: Option<String> =
            sqlx::query_scalar("SELECT sources FROM policies WHERE digest = $1")
                .bind(digest)
                .fetch_optional(&self.pool)
                .await
                .map_err(db)?;
        text.map(|t| serde_json::from_str(&t).map_err(|e| GateError::store(e.to_string())))
            .transpose()
    }

    async fn pending_by_tier(&self) -> Result<Vec<(Option<i64>, i64)>, GateError> {
        let rows = sqlx::query(
            "SELECT tier, COUNT(*) FROM requests WHERE state = 'pending' GROUP BY tier",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        Ok(rows.into_iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    async fn deliveries_waiting(&self) -> Result<i64, GateError> {
        sqlx::query_scalar("SELECT COUNT(*) FROM deliveries WHERE done = 0")
            .fetch_one(&self.pool)
            .await
            .map_err(db)
    }

    async fn deliveries_due(&self, now_ms: i64, limit: u32) -> Result<Vec<Delivery>, GateError> {
        // Leased: the rows handed out are due again only after
        // DELIVERY_LEASE_MS (or when `delivery_done` reschedules or
        // removes them), and rows another replica is leasing right now are
        // skipped, so each delivery goes to one replica at a time.
        let rows = sqlx::query(
            "WITH picked AS (SELECT id, next_ms FROM deliveries WHERE done = 0 AND next_ms <= $1 ORDER BY next_ms, id LIMIT $2 FOR UPDATE SKIP LOCKED) \
             UPDATE deliveries d SET next_ms = $3, leased_at_ms = $1 FROM picked WHERE d.id = picked.id \
             RETURNING d.id, d.receiver, d.body, d.attempts, picked.next_ms",
        )
        .bind(now_ms)
        .bind(i64::from(limit))
        .bind(now_ms.saturating_add(DELIVERY_LEASE_MS))
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        let mut due: Vec<(i64, Delivery)> = rows
            .into_iter()
            .map(|r| {
                (
                    r.get(4),
                    Delivery {
                        id: r.get(0),
                        receiver: r.get(1),
                        body: r.get(2),
                        attempts: r.get(3),
                    },
                )
            })
            .collect();
        due.sort_by(|a, b| (a.0, &a.1.id).cmp(&(b.0, &b.1.id)));
        Ok(due.into_iter().map(|(_, d)| d).collect())
    }

    async fn insert_session(&self, session: &SessionRow, now_unix: i64) -> Result<(), GateError> {
        read::insert_session(&self.pool, session, now_unix).await
    }

    async fn session(&self, hash: &str, now_unix: i64) -> Result<Option<SessionRow>, GateError> {
        read::session(&self.pool, hash, now_unix).await
    }

    async fn delete_session(&self, hash: &str) -> Result<bool, GateError> {
        let done = sqlx::query("DELETE FROM console_sessions WHERE hash = $1")
            .bind(hash)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(done.rows_affected() > 0)
    }

    async fn delivery_done(
        &self,
        id: &str,
        error: Option<&str>,
        retry_at_ms: Option<i64>,
    ) -> Result<(), GateError> {
        let (done, next) = match (error, retry_at_ms) {
            (None, _) => {
                sqlx::query("DELETE FROM deliveries WHERE id = $1")
                    .bind(id)
                    .execute(&self.pool)
                    .await
                    .map_err(db)?;
                return Ok(());
            }
            (Some(_), Some(at)) => (0i64, at),
            (Some(_), None) => (2, 0),
        };
        sqlx::query(
            "UPDATE deliveries SET done = $1, next_ms = $2, attempts = attempts + 1, last_error = $3, leased_at_ms = NULL WHERE id = $4",
        )
        .bind(done)
        .bind(next)
        .bind(error)
        .bind(id)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(())
    }
}

#[cfg(test)]
#[path = "postgres_tests.rs"]
mod tests;

//! Where requests, approvals, the audit chain, API keys and idempotency
//! records live: one trait ([`Store`]), one implementation per database
//! (SQLite now, PostgreSQL next), one test suite for both.
//!
//! The invariant every implementation keeps: a change to a request, the
//! audit records that describe it, its idempotency record and its webhook
//! deliveries are written in **one transaction**, and the call returns only
//! after that transaction is committed (durable). The caller answers HTTP
//! after the call returns, so nothing acknowledged is lost.

mod chain;
#[cfg(test)]
mod contract_tests;
mod postgres;
#[cfg(test)]
mod sample_contract_tests;
mod search;
mod sqlite;
#[cfg(test)]
mod test_support;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::error::GateError;
use crate::lifecycle::State;

pub use postgres::{DELIVERY_LEASE_MS, PgStore, connect_options, redact_url};
pub use search::{
    ID_CLOCK_MARGIN, OUTCOMES, SEARCH_PAGE_MAX, SEARCH_SCAN, SearchFilter, SearchPage,
};
pub use sqlite::SqliteStore;

/// What `gatehouse migrate` did: the schema version the database was at,
/// the one it is at now, and the names of the migrations applied (empty
/// when it was already current).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MigrationReport {
    /// Which database: `sqlite` or `postgres`.
    pub store: &'static str,
    /// The version before (0: an empty database).
    pub from: i64,
    /// The version now.
    pub to: i64,
    /// The migrations applied, in order.
    pub applied: Vec<String>,
}

/// Brings the configured database's schema up to this binary's version
/// (what `serve` also does at start) and says what it did. Safe to run
/// while replicas serve and from several places at once: migrations are
/// applied one at a time under a lock, each in its own transaction.
pub async fn migrate(config: &crate::config::ServerConfig) -> Result<MigrationReport, GateError> {
    match config.store.url.as_deref() {
        None => SqliteStore::migrate(&config.data_dir.join(crate::DATABASE_FILE)).await,
        Some(url) if is_postgres_url(url) => PgStore::migrate(url, &config.store).await,
        Some(_) => Err(not_a_store_url()),
    }
}

/// Whether `url` names PostgreSQL (`postgres://` or `postgresql://`).
fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

fn not_a_store_url() -> GateError {
    GateError::store(
        "`store.url` must be a PostgreSQL URL (`postgres://...` or `postgresql://...`); leave it unset for SQLite in `data_dir`",
    )
}

/// Opens the store the configuration names: SQLite in `data_dir` when no
/// `store.url` is set, PostgreSQL for a `postgres://` or `postgresql://`
/// URL. Schema migrations are applied before it returns.
pub async fn open(
    config: &crate::config::ServerConfig,
) -> Result<std::sync::Arc<dyn Store>, GateError> {
    match config.store.url.as_deref() {
        None => {
            let fsync = config.store.sync == crate::config::SyncMode::Full;
            let path = config.data_dir.join(crate::DATABASE_FILE);
            Ok(std::sync::Arc::new(SqliteStore::open(&path, fsync).await?))
        }
        Some(url) if is_postgres_url(url) => Ok(std::sync::Arc::new(
            PgStore::open(url, &config.store).await?,
        )),
        Some(_) => Err(not_a_store_url()),
    }
}

/// A request as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RequestRow {
    /// `req_` and 32 hex digits (a UUIDv7: ids sort by creation time).
    pub id: String,
    /// Where it is in its life.
    pub state: State,
    /// When it was created (RFC 3339, UTC).
    pub created_at: String,
    /// The same, in Unix seconds (for filters and the sweeper).
    pub created_unix: i64,
    /// When it last changed.
    pub updated_at: String,
    /// When the wait for people ends (RFC 3339), if it waits.
    pub deadline: Option<String>,
    /// The same, in Unix seconds.
    pub deadline_unix: Option<i64>,
    /// Who created it (the authenticated identity).
    pub requester: String,
    /// The agent the action names (`agent.id`), else the requester.
    pub agent: String,
    /// The decision's outcome.
    pub outcome: String,
    /// The decision's tier id.
    pub tier: Option<i64>,
    /// Roles that can act on it now (approve or reject).
    pub roles: Vec<String>,
    /// `sha256:...` of the action (RFC 8785).
    pub action_digest: String,
    /// The digest of the policy the request is held under.
    pub policy_digest: String,
    /// The action as proposed.
    pub input: Json,
    /// The decision, as `eval` writes it.
    pub decision: Json,
    /// Accepted approvals and rejections, in order (engine `Approval`
    /// records plus how each was authenticated).
    pub approvals: Vec<Json>,
    /// The role an expiry escalated to, if it did.
    pub escalated_to: Option<String>,
    /// How many times it escalated.
    pub escalations: i64,
    /// The result the executor reported.
    pub execution: Option<Json>,
    /// The outcome check, when one was reported.
    pub verification: Option<Json>,
    /// Bumped by every change.
    pub version: i64,
    /// The review after the fact of a sampled `auto` action (the decision's
    /// `sample.sampled`): `{"state": "open" | "confirmed" | "rejected",
    /// "rate", "rule", "tier", "opened_at", "reviewer", "reviewed_at",
    /// "note"}`. `None`: not sampled. Kept in the row's body, so no column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample_review: Option<Json>,
    /// The candidate (shadow) policy set's decision for this action,
    /// recorded beside the enforced one and never enforced:
    /// `{"policy": {...}, "decision": {...}, "differs": bool}`. `None`: no
    /// shadow set was configured when it was decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shadow: Option<Json>,
}

/// What a list asks for. Every field narrows; none set lists everything
/// (newest first, at most `limit`).
#[derive(Clone, Debug, Default)]
pub struct ListFilter {
    /// Only requests in one of these states.
    pub states: Vec<State>,
    /// Only this tier.
    pub tier: Option<i64>,
    /// Only requests this role can act on now.
    pub role: Option<String>,
    /// Only this agent.
    pub agent: Option<String>,
    /// Only requests created at or before this Unix time (older than an age).
    pub created_before: Option<i64>,
    /// Only requests created after this Unix time (younger than an age).
    pub created_after: Option<i64>,
    /// Only ids that sort before this one (the next page).
    pub before_id: Option<String>,
    /// Only ids that sort after this one. Ids sort by creation time, so
    /// this bounds a scan by age where `created_after` alone cannot (the
    /// console's overview reads a window of days with it).
    pub after_id: Option<String>,
    /// At most this many.
    pub limit: u32,
    /// Only requests made under one of these identities (`None`: anyone's;
    /// an empty list: none). A caller who may read only their own
    /// requests lists with this set, so that the page, its size and its
    /// `next_before` are made of their requests alone.
    pub requesters: Option<Vec<String>>,
    /// Soonest deadline first (no deadline last, then by id) instead of
    /// newest first: the console's queue reads the most urgent requests
    /// first, so a backlog past its bound drops the least urgent ones.
    pub by_deadline: bool,
    /// Only requests one of these roles can act on now, or any reviewer
    /// (no roles listed): the console's queue for a person with these
    /// roles reads no row they could never approve.
    pub actionable_by: Option<Vec<String>>,
    /// Only requests sampled for review after the fact whose review is in
    /// one of these states (`open`, `confirmed`, `rejected`; the
    /// `sample_state` column, indexed). `None`: sampled or not.
    pub sample_states: Option<Vec<String>>,
    /// Oldest first (by id, ascending) instead of newest first: the
    /// console's samples queue shows the longest-open sample first.
    pub oldest_first: bool,
}

/// The `sample_state` column of a row: its `sample_review.state`, or NULL
/// when it was not sampled. Each store's one `write_row` writes it from
/// the body it writes, so the column and the body never disagree.
pub(crate) fn sample_state_of(row: &RequestRow) -> Option<&str> {
    row.sample_review
        .as_ref()
        .and_then(|s| s.get("state"))
        .and_then(Json::as_str)
}

/// One audit event to append to the chain (the record object without its
/// `seq` and `prev`, which the store assigns).
#[derive(Clone, Debug)]
pub struct AuditEvent {
    /// The request it concerns.
    pub request_id: String,
    /// The record's JSON text (an object).
    pub record: String,
}

/// A stored answer for an `Idempotency-Key`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotentAnswer {
    /// SHA-256 of the request (method, path, body) that was answered.
    pub fingerprint: String,
    /// The HTTP status.
    pub status: u16,
    /// The body.
    pub body: String,
}

/// Where an idempotency record belongs: one key per caller.
#[derive(Clone, Debug)]
pub struct IdempotencyKey {
    /// The authenticated caller.
    pub principal: String,
    /// The header's value.
    pub key: String,
}

/// What a change does: the new row, its audit records, and the answer to
/// remember under the idempotency key.
#[derive(Debug)]
pub struct Change {
    /// The request after the change.
    pub row: RequestRow,
    /// The records describing it, in order.
    pub events: Vec<AuditEvent>,
    /// The answer to store under the caller's idempotency key.
    pub remember: Option<(IdempotencyKey, IdempotentAnswer)>,
    /// Webhook deliveries (one per receiver) to send after commit.
    pub notify: Vec<Notice>,
}

/// One webhook payload for one receiver, written to the outbox with the
/// change it announces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    /// The receiver's URL, as configured (the deliverer finds its secret
    /// by it).
    pub receiver: String,
    /// The payload (JSON text).
    pub body: String,
}

/// An API key as stored (its secret only as a hash).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyRow {
    /// The public part of the key (`ghk_<id>`), shown in lists and logs.
    pub id: String,
    /// SHA-256 of the whole key text, hex.
    pub hash: String,
    /// The identity it authenticates.
    pub identity: String,
    /// What it may do.
    pub scopes: Vec<String>,
    /// Roles the admin gave it (used only when no trust store is set).
    pub roles: Vec<String>,
    /// When it was made.
    pub created_at: String,
    /// Whether it was revoked.
    pub revoked: bool,
}

/// A console sign-in, as stored: the cookie's secret only as a hash, so a
/// copy of the database signs nobody in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRow {
    /// SHA-256 of the cookie's secret, hex.
    pub hash: String,
    /// Who signed in (their roles are read from the directory on every
    /// request, never kept here).
    pub identity: String,
    /// How: `dev_sign_in` or `oidc`.
    pub method: String,
    /// The session's CSRF token (every form carries it).
    pub csrf: String,
    /// When it began, Unix seconds.
    pub created_unix: i64,
    /// When it ends, Unix seconds.
    pub expires_unix: i64,
}

/// A webhook delivery waiting to be sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// Its id (also the idempotency key the receiver sees).
    pub id: String,
    /// The receiver's URL, as configured.
    pub receiver: String,
    /// The payload.
    pub body: String,
    /// Attempts made so far.
    pub attempts: i64,
}

/// A change committed by any process sharing the database, as the store's
/// feed announces it ([`Store::feed`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreNote {
    /// A request changed (created, reviewed, claimed, expired, ...).
    Request {
        /// The request.
        id: String,
        /// Its new state's name.
        state: String,
        /// Its new version.
        version: i64,
    },
    /// An API key was revoked: every replica forgets it and ends the waits
    /// held with it.
    KeyRevoked {
        /// The key's id (`ghk_...`).
        id: String,
    },
    /// The feed was interrupted (the connection was lost and is back):
    /// notes may have been missed, so every waiter reads its request again
    /// and every cache of keys is dropped.
    Resync,
}

/// The database behind the gate.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Changes committed by **other processes** sharing this database
    /// (PostgreSQL: `LISTEN`/`NOTIFY`, sent inside the transaction, so a
    /// note arrives only for a committed change). `None` for a store one
    /// process owns (SQLite), where the gate's own announcements are
    /// complete. A note may also arrive for this process's own change:
    /// receivers treat notes as "read again", never as the data.
    fn feed(&self) -> Option<tokio::sync::broadcast::Receiver<StoreNote>> {
        None
    }

    /// Whether the database answers now (`/ready`): 503
    /// `STORE_UNAVAILABLE` when it does not.
    async fn ping(&self) -> Result<(), GateError> {
        self.pending_by_tier().await.map(|_| ())
    }

    /// The gate's signing key (an Ed25519 seed) when the store keeps the
    /// one every replica shares: stores `candidate` when none is stored
    /// yet and gives the stored seed (the first replica's), so every
    /// replica signs with one key. `None`: this store keeps no key (SQLite,
    /// whose key is a file in `data_dir`).
    async fn shared_signing_seed(
        &self,
        candidate: [u8; 32],
    ) -> Result<Option<[u8; 32]>, GateError> {
        let _ = candidate;
        Ok(None)
    }

    /// Creates a request: the row, its records and the idempotency answer,
    /// in one transaction. Refused with a conflict when the id exists.
    async fn create(&self, change: Change) -> Result<(), GateError>;

    /// Changes a request in one transaction: reads it, calls `apply` with
    /// it (which may refuse), writes the new row, appends the records,
    /// stores the idempotency answer and the webhook deliveries, commits.
    /// `apply` runs with the request locked against other writers.
    async fn update(
        &self,
        id: &str,
        apply: &mut (dyn FnMut(RequestRow) -> Result<Change, GateError> + Send),
    ) -> Result<RequestRow, GateError>;

    /// One request.
    async fn get(&self, id: &str) -> Result<Option<RequestRow>, GateError>;

    /// Requests matching a filter, newest first.
    async fn list(&self, filter: &ListFilter) -> Result<Vec<RequestRow>, GateError>;

    /// [`Store::list`] within a byte budget: the rows in the filter's order
    /// until the bodies read pass `max_bytes` (a store may overshoot it by
    /// a small batch of rows), and whether rows were left unread. The
    /// console's queue reads with it, so a flood of large requests cannot
    /// make one page load read gigabytes. The default reads without the
    /// bound.
    async fn list_bounded(
        &self,
        filter: &ListFilter,
        max_bytes: usize,
    ) -> Result<(Vec<RequestRow>, bool), GateError> {
        let _ = max_bytes;
        Ok((self.list(filter).await?, false))
    }

    /// One page of a history search (see [`SearchFilter`] for what it
    /// matches and [`SEARCH_SCAN`] for the bound every implementation
    /// keeps: at most that many requests examined per call).
    async fn search(&self, filter: &SearchFilter) -> Result<SearchPage, GateError>;

    /// Ids of waiting requests whose deadline is at or before `now_unix`,
    /// oldest deadline first.
    async fn due(&self, now_unix: i64, limit: u32) -> Result<Vec<String>, GateError>;

    /// The answer stored for a caller's idempotency key.
    async fn idempotent(&self, key: &IdempotencyKey)
    -> Result<Option<IdempotentAnswer>, GateError>;

    /// Audit lines after `seq`, in chain order, as `(seq, line)`: at most
    /// `limit`, and no more than `max_bytes` of lines (but always the
    /// first, whatever its size, so a page always moves on). The flag says
    /// whether more lines follow the page.
    async fn audit_after(
        &self,
        seq: i64,
        limit: u32,
        max_bytes: usize,
    ) -> Result<(Vec<(i64, String)>, bool), GateError>;

    /// The audit lines of one request, in chain order, as `(seq, line)`.
    async fn audit_of(&self, request_id: &str) -> Result<Vec<(i64, String)>, GateError>;

    /// Stores a new API key.
    async fn insert_key(&self, key: &ApiKeyRow) -> Result<(), GateError>;

    /// Stores `key` only when the store holds no key at all (the first
    /// start's admin key) and says whether it did. This default reads, then
    /// inserts: enough for a store one process owns. A store replicas share
    /// makes the check and the insert one step, so replicas starting
    /// together on an empty database make one admin key, not one each.
    async fn insert_first_key(&self, key: &ApiKeyRow) -> Result<bool, GateError> {
        if !self.keys().await?.is_empty() {
            return Ok(false);
        }
        self.insert_key(key).await?;
        Ok(true)
    }

    /// The key with this hash, revoked or not.
    async fn key_by_hash(&self, hash: &str) -> Result<Option<ApiKeyRow>, GateError>;

    /// Every key (for the admin).
    async fn keys(&self) -> Result<Vec<ApiKeyRow>, GateError>;

    /// Revokes a key by id; whether one was found.
    async fn revoke_key(&self, id: &str) -> Result<bool, GateError>;

    /// Stores a policy set's sources under its digest (once).
    async fn save_policy(&self, digest: &str, sources: &Json) -> Result<(), GateError>;

    /// The sources of a policy set by digest.
    async fn policy_sources(&self, digest: &str) -> Result<Option<Json>, GateError>;

    /// Counts of waiting requests per tier (for metrics).
    async fn pending_by_tier(&self) -> Result<Vec<(Option<i64>, i64)>, GateError>;

    /// How many webhook deliveries are neither delivered nor given up (for
    /// metrics).
    async fn deliveries_waiting(&self) -> Result<i64, GateError>;

    /// Webhook deliveries not yet delivered nor given up whose next
    /// attempt is due at `now_ms` (Unix milliseconds), earliest first.
    async fn deliveries_due(&self, now_ms: i64, limit: u32) -> Result<Vec<Delivery>, GateError>;

    /// Stores a new console session (and removes the expired ones).
    async fn insert_session(&self, session: &SessionRow, now_unix: i64) -> Result<(), GateError>;

    /// The live session with this hash (`None` when unknown or expired at
    /// `now_unix`).
    async fn session(&self, hash: &str, now_unix: i64) -> Result<Option<SessionRow>, GateError>;

    /// Ends a session (sign-out); whether one was found.
    async fn delete_session(&self, hash: &str) -> Result<bool, GateError>;

    /// Records an attempt's outcome: delivered (`error` is `None`; the row
    /// is removed, so the outbox does not grow with every transition), or
    /// failed with `error` and retried at `retry_at_ms` (`None`: given up,
    /// the row kept with its last error).
    async fn delivery_done(
        &self,
        id: &str,
        error: Option<&str>,
        retry_at_ms: Option<i64>,
    ) -> Result<(), GateError>;
}

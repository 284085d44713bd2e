//! What the store tests share: a store of each kind in a fresh place (a
//! temp directory; a fresh PostgreSQL database, dropped afterwards), rows
//! and changes, and the chain check.
//!
//! PostgreSQL tests read the server from `GATEHOUSE_TEST_DATABASE_URL` (a
//! database where the test may `CREATE DATABASE`). Unset, a PostgreSQL test
//! fails saying how to run it, unless `GATEHOUSE_TEST_POSTGRES=off`, when
//! it prints one line saying it did not run.

use std::sync::Arc;

use gatehouse::audit::chain::ChainStatus;
use gatehouse::audit::log::LogContents;
use gatehouse::audit::record::{AuditRecord, TransitionActor, TransitionEvent};
use gatehouse::values::Timestamp;
use serde_json::json;

use crate::config::StoreConfig;
use crate::lifecycle::State;
use crate::store::{AuditEvent, Change, PgStore, RequestRow, SqliteStore, Store};

/// The server URL, or `None` (after saying so) when PostgreSQL tests are
/// switched off; panics with how to run them when neither is set.
pub(crate) fn server_url(test: &str) -> Option<String> {
    if let Ok(url) = std::env::var("GATEHOUSE_TEST_DATABASE_URL") {
        return Some(url);
    }
    if std::env::var("GATEHOUSE_TEST_POSTGRES").as_deref() == Ok("off") {
        println!("{test}: PostgreSQL part did not run (GATEHOUSE_TEST_POSTGRES=off)");
        return None;
    }
    panic!(
        "{test} needs PostgreSQL: run ./scripts/test (it starts one), or set GATEHOUSE_TEST_DATABASE_URL=postgres://user@host:port/db (a database where the test may CREATE DATABASE), or set GATEHOUSE_TEST_POSTGRES=off to skip PostgreSQL tests"
    );
}

/// A fresh database `gh_pg_<random>` on the test server, dropped (with its
/// connections) when this is dropped.
pub(crate) struct PgDatabase {
    server: String,
    name: String,
    /// The database's URL.
    pub(crate) url: String,
}

impl PgDatabase {
    /// Creates one; `None` when PostgreSQL tests are off.
    pub(crate) async fn create(test: &str) -> Option<PgDatabase> {
        use sqlx::Connection as _;
        let server = server_url(test)?;
        // Several people's tests share one server: a prefix of one's own
        // (`GATEHOUSE_TEST_DB_PREFIX`, letters, digits and `_` only) keeps
        // the names apart.
        let prefix = std::env::var("GATEHOUSE_TEST_DB_PREFIX")
            .ok()
            .filter(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or_else(|| "gh_pg_".to_owned());
        let name = format!("{prefix}{}", crate::ids::new_id(""));
        let mut conn = sqlx::PgConnection::connect(&server)
            .await
            .expect("connects to GATEHOUSE_TEST_DATABASE_URL");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .expect("CREATE DATABASE");
        let _ = conn.close().await;
        let mut url = url::Url::parse(&server).expect("a URL");
        url.set_path(&format!("/{name}"));
        Some(PgDatabase {
            server,
            name,
            url: url.to_string(),
        })
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let (server, name) = (self.server.clone(), self.name.clone());
        // Drop runs outside async: a thread of its own with its own runtime.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                use sqlx::Connection as _;
                if let Ok(mut conn) = sqlx::PgConnection::connect(&server).await {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut conn)
                        .await;
                    let _ = conn.close().await;
                }
            });
        })
        .join();
    }
}

/// A small pool config for tests.
pub(crate) fn pg_config() -> StoreConfig {
    StoreConfig {
        max_connections: 8,
        connect_timeout_ms: 5_000,
        ..StoreConfig::default()
    }
}

/// The store under test, of either kind.
pub(crate) enum Subject {
    /// SQLite in a temp directory (removed on drop).
    Sqlite {
        /// The store.
        store: Arc<SqliteStore>,
        /// Held for its drop.
        _dir: tempfile::TempDir,
    },
    /// PostgreSQL in a fresh database (dropped on drop).
    Postgres {
        /// The store.
        store: Arc<PgStore>,
        /// Held for its drop.
        _db: PgDatabase,
    },
}

impl Subject {
    /// A fresh SQLite store.
    pub(crate) async fn sqlite() -> Subject {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SqliteStore::open(&dir.path().join("t.db"), false)
            .await
            .expect("open");
        Subject::Sqlite {
            store: Arc::new(store),
            _dir: dir,
        }
    }

    /// A fresh PostgreSQL store; `None` when PostgreSQL tests are off.
    pub(crate) async fn postgres(test: &str) -> Option<Subject> {
        let db = PgDatabase::create(test).await?;
        let store = PgStore::open(&db.url, &pg_config()).await.expect("open");
        Some(Subject::Postgres {
            store: Arc::new(store),
            _db: db,
        })
    }

    /// The store.
    pub(crate) fn store(&self) -> Arc<dyn Store> {
        match self {
            Subject::Sqlite { store: s, .. } => s.clone(),
            Subject::Postgres { store: s, .. } => s.clone(),
        }
    }

    /// Writes rows straight into the table (searches read only it).
    pub(crate) async fn plant(&self, rows: impl Iterator<Item = RequestRow>) {
        match self {
            Subject::Sqlite { store: s, .. } => {
                let mut writer = s.writer.lock().await;
                sqlx::query("BEGIN")
                    .execute(&mut writer.conn)
                    .await
                    .expect("begin");
                for r in rows {
                    crate::store::sqlite::write_row(&mut writer.conn, &r, true)
                        .await
                        .expect("insert");
                }
                sqlx::query("COMMIT")
                    .execute(&mut writer.conn)
                    .await
                    .expect("commit");
            }
            Subject::Postgres { store: s, .. } => {
                let mut tx = s.pool().begin().await.expect("begin");
                for r in rows {
                    crate::store::postgres::write_row(&mut tx, &r, true)
                        .await
                        .expect("insert");
                }
                tx.commit().await.expect("commit");
            }
        }
    }
}

/// A pending request row.
pub(crate) fn row(id: &str) -> RequestRow {
    RequestRow {
        id: id.to_owned(),
        state: State::Pending,
        created_at: "2026-01-01T00:00:00Z".into(),
        created_unix: 1_767_225_600,
        updated_at: "2026-01-01T00:00:00Z".into(),
        deadline: None,
        deadline_unix: None,
        requester: "agent".into(),
        agent: "agent".into(),
        outcome: "explicit".into(),
        tier: Some(1),
        roles: vec!["reviewer".into()],
        action_digest: "sha256:00".into(),
        policy_digest: "sha256:00".into(),
        input: json!({}),
        decision: json!({}),
        approvals: Vec::new(),
        escalated_to: None,
        escalations: 0,
        execution: None,
        verification: None,
        version: 1,
        sample_review: None,
        shadow: None,
    }
}

/// A real transition record (the engine's log reader counts it).
pub(crate) fn record(id: &str, from: &str, to: &str) -> String {
    AuditRecord::transition(
        TransitionEvent {
            request: id,
            event: "test",
            from,
            to,
            actor: TransitionActor::new("agent", "api_key", None),
            reason: None,
            policy_digest: "sha256:00",
            action_digest: "sha256:00",
            detail: json!({}),
        },
        Timestamp::parse("2026-01-01T00:00:00Z").expect("a time"),
    )
    .to_json_line()
    .expect("a line")
}

/// A creation of `row(id)` with one record.
pub(crate) fn change(id: &str) -> Change {
    Change {
        row: row(id),
        events: vec![AuditEvent {
            request_id: id.to_owned(),
            record: record(id, "decided", "pending"),
        }],
        remember: None,
        notify: Vec::new(),
    }
}

/// Exports the whole chain as `gatehouse audit verify` reads it and checks
/// it holds (seq from 1, each `prev` the hash of the line before); gives
/// the number of records.
pub(crate) async fn chain_is_whole(store: &dyn Store) -> usize {
    let mut text = String::new();
    let mut after = 0;
    loop {
        let (page, more) = store
            .audit_after(after, 1000, usize::MAX)
            .await
            .expect("audit");
        for (seq, line) in &page {
            after = *seq;
            text.push_str(line);
            text.push('\n');
        }
        if !more {
            break;
        }
    }
    let log = LogContents::read(text.as_bytes()).expect("reads");
    assert_eq!(log.chain.status, ChainStatus::Intact, "{:?}", log.chain);
    assert!(log.bad_lines.is_empty(), "{:?}", log.bad_lines);
    log.records.len()
}

//! Versioned schema migrations for the SQLite store.
//!
//! Version 1 is schema.sql as it shipped before versions were recorded:
//! databases deployed then have its tables and an empty `gate_schema`.
//! Opening one records version 1 (the tables are unchanged, byte for
//! byte). A database recording a version newer than this binary knows is
//! refused: an older binary must not write to a schema it does not know.

use sqlx::sqlite::SqliteConnection;

use super::db;
use crate::error::GateError;
use crate::store::MigrationReport;

/// The newest SQLite schema version this binary knows.
pub(crate) const LATEST: i64 = 1;

/// Brings the schema up to [`LATEST`] in one `BEGIN IMMEDIATE`
/// transaction (SQLite's write lock: two processes opening the file at
/// once apply it one after the other) and says what was done.
pub(super) async fn apply(conn: &mut SqliteConnection) -> Result<MigrationReport, GateError> {
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    let result = apply_in(conn).await;
    let end = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
    let ended = sqlx::query(end).execute(&mut *conn).await.map_err(db);
    let report = result?;
    ended?;
    Ok(report)
}

async fn apply_in(conn: &mut SqliteConnection) -> Result<MigrationReport, GateError> {
    let had_tables: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'requests'",
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(db)?;
    let has_versions: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'gate_schema'",
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(db)?;
    let recorded: Option<i64> = if has_versions > 0 {
        sqlx::query_scalar("SELECT MAX(version) FROM gate_schema")
            .fetch_one(&mut *conn)
            .await
            .map_err(db)?
    } else {
        None
    };
    // A database from before versions were recorded has version 1's
    // tables (schema.sql) and no version row.
    let from = recorded.unwrap_or(if had_tables > 0 { 1 } else { 0 });
    if from > LATEST {
        return Err(GateError::store(format!(
            "the SQLite database's schema is at version {from}, newer than this gatehouse knows (up to {LATEST}): run the newer gatehouse that migrated it, or restore a backup"
        )));
    }
    let mut applied = Vec::new();
    // schema.sql is idempotent (CREATE ... IF NOT EXISTS): running it on
    // a version-1 database changes nothing.
    sqlx::raw_sql(include_str!("../schema.sql"))
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    if from < 1 {
        applied.push("1: the tables (schema.sql)".to_owned());
    }
    if recorded.is_none() {
        sqlx::query("INSERT INTO gate_schema (version) VALUES (1)")
            .execute(&mut *conn)
            .await
            .map_err(db)?;
    }
    Ok(MigrationReport {
        store: "sqlite",
        from,
        to: LATEST,
        applied,
    })
}

impl super::SqliteStore {
    /// Brings the database at `path` (created when missing) up to this
    /// binary's schema, as opening it does, and says what was done.
    pub async fn migrate(path: &std::path::Path) -> Result<MigrationReport, GateError> {
        use sqlx::Connection as _;
        use std::str::FromStr as _;
        let options = sqlx::sqlite::SqliteConnectOptions::from_str("sqlite://")
            .map_err(db)?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
            .busy_timeout(std::time::Duration::from_secs(10));
        let mut conn = SqliteConnection::connect_with(&options).await.map_err(db)?;
        let report = apply(&mut conn).await;
        let _ = conn.close().await;
        report
    }
}

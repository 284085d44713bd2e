//! Versioned schema migrations for the PostgreSQL store.
//!
//! Each migration runs in its own transaction that first takes
//! `pg_advisory_xact_lock(MIGRATION_LOCK)`: replicas starting at once
//! apply each migration once, one after the other (the second finds the
//! version already recorded and skips it). `gate_schema` holds one row per
//! applied version; the highest is the schema's version. A database at a
//! version newer than this binary knows is refused before anything runs.

use gatehouse::audit::chain::{GENESIS_HASH, hash_text};
use sqlx::postgres::PgPool;

use super::db;
use crate::error::GateError;
use crate::store::MigrationReport;

/// The advisory lock key migrations hold (an arbitrary constant: "gate"
/// in ASCII).
const MIGRATION_LOCK: i64 = 0x6761_7465;

/// The migrations in order: `(version, name, SQL)`.
const MIGRATIONS: [(i64, &str, &str); 3] = [
    (
        1,
        "1: the tables",
        include_str!("../migrations/postgres_0001_tables.sql"),
    ),
    (
        2,
        "2: shared audit head, signing seed, delivery leases",
        include_str!("../migrations/postgres_0002_replicas.sql"),
    ),
    (
        3,
        "3: sample_state column and index (sampled review)",
        include_str!("../migrations/postgres_0003_samples.sql"),
    ),
];

/// The newest PostgreSQL schema version this binary knows.
pub(crate) const LATEST: i64 = MIGRATIONS.len() as i64;

/// Applies the migrations `pool`'s database lacks, up to `until` (tests
/// stop early to build an older database), and says what was done.
pub(crate) async fn apply(pool: &PgPool, until: i64) -> Result<MigrationReport, GateError> {
    let mut from = None;
    let mut to = 0;
    let mut applied = Vec::new();
    for (version, name, sql) in MIGRATIONS.iter().filter(|m| m.0 <= until) {
        let mut tx = pool.begin().await.map_err(db)?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(MIGRATION_LOCK)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        // Under the lock: two replicas never race to create it. Looked up
        // first so that every start does not log PostgreSQL's "already
        // exists, skipping" notice.
        let exists: bool = sqlx::query_scalar("SELECT to_regclass('gate_schema') IS NOT NULL")
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
        if !exists {
            sqlx::query("CREATE TABLE gate_schema (version BIGINT NOT NULL)")
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        }
        let current: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM gate_schema")
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
        if from.is_none() {
            from = Some(current);
        }
        if current > LATEST {
            return Err(newer(current));
        }
        to = current;
        if current >= *version {
            tx.commit().await.map_err(db)?;
            continue;
        }
        let sql = sql.replace("{GENESIS}", &hash_text(&GENESIS_HASH));
        sqlx::raw_sql(&sql)
            .execute(&mut *tx)
            .await
            .map_err(|e| GateError::store(format!("migration {name} failed: {}", db(e).detail)))?;
        sqlx::query("INSERT INTO gate_schema (version) VALUES ($1)")
            .bind(version)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
        to = *version;
        applied.push((*name).to_owned());
    }
    Ok(MigrationReport {
        store: "postgres",
        from: from.unwrap_or(0),
        to,
        applied,
    })
}

/// The refusal for a database migrated by a newer gatehouse.
fn newer(version: i64) -> GateError {
    GateError::store(format!(
        "the PostgreSQL database's schema is at version {version}, newer than this gatehouse knows (up to {LATEST}): run the newer gatehouse that migrated it (or its `gatehouse migrate`), not this one"
    ))
}

#[cfg(test)]
#[path = "migrate_tests.rs"]
mod tests;

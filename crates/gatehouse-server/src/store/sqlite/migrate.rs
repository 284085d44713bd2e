//! Versioned schema migrations for the SQLite store.
//!
//! Version 1 is schema.sql as it shipped before versions were recorded:
//! databases deployed then have its tables and an empty `gate_schema`.
//! Opening one records version 1 (the tables are unchanged, byte for
//! byte). A database recording a version newer than this binary knows is
//! refused: an older binary must not write to a schema it does not know.
//!
//! Version 2 adds the `sample_state` column and its index (sampled review
//! after the fact, sqlite_0002_samples.sql).

use sqlx::sqlite::SqliteConnection;

use super::db;
use crate::error::GateError;
use crate::store::MigrationReport;

/// The newest SQLite schema version this binary knows.
pub(crate) const LATEST: i64 = MIGRATIONS.len() as i64 + 1;

/// The migrations after version 1 (schema.sql), in order: `(version,
/// name, SQL)`. Each runs once, inside the one `BEGIN IMMEDIATE`
/// transaction of [`apply`], and records its version.
const MIGRATIONS: [(i64, &str, &str); 1] = [(
    2,
    "2: sample_state column and index (sampled review)",
    include_str!("../migrations/sqlite_0002_samples.sql"),
)];

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
    for (version, name, sql) in MIGRATIONS {
        if from.max(1) >= version {
            continue;
        }
        sqlx::raw_sql(sql)
            .execute(&mut *conn)
            .await
            .map_err(|e| GateError::store(format!("migration {name} failed: {}", db(e).detail)))?;
        sqlx::query("INSERT INTO gate_schema (version) VALUES (?)")
            .bind(version)
            .execute(&mut *conn)
            .await
            .map_err(db)?;
        applied.push(name.to_owned());
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

#[cfg(test)]
mod tests {
    use crate::store::test_support::{chain_is_whole, change};
    use crate::store::{SqliteStore, Store as _};

    async fn exec(path: &std::path::Path, sql: &str) {
        use sqlx::Connection as _;
        let options = sqlx::sqlite::SqliteConnectOptions::new().filename(path);
        let mut conn = sqlx::SqliteConnection::connect_with(&options)
            .await
            .expect("connects");
        sqlx::query(sql).execute(&mut conn).await.expect(sql);
        conn.close().await.expect("closes");
    }

    #[tokio::test]
    async fn a_fresh_database_gets_every_version_once() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("t.db");
        let first = SqliteStore::migrate(&path).await.expect("migrates");
        assert_eq!((first.store, first.from, first.to), ("sqlite", 0, 2));
        assert_eq!(first.applied.len(), 2, "{:?}", first.applied);
        let again = SqliteStore::migrate(&path).await.expect("migrates");
        assert_eq!((again.from, again.to), (2, 2));
        assert!(again.applied.is_empty());
        let store = SqliteStore::open(&path, false).await.expect("opens");
        store.create(change("req_a")).await.expect("create");
    }

    /// A database from before versions were recorded (an empty
    /// gate_schema, version 1's tables) is version 1: recorded, migrated
    /// to the latest, its rows and chain kept.
    #[tokio::test]
    async fn a_database_from_before_versions_is_recorded_as_version_1_with_its_data() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("t.db");
        make_version_1(&path, &["req_a"]).await;
        exec(&path, "DELETE FROM gate_schema").await;
        let report = SqliteStore::migrate(&path).await.expect("migrates");
        assert_eq!((report.from, report.to), (1, 2));
        assert_eq!(report.applied.len(), 1, "{:?}", report.applied);
        let store = SqliteStore::open(&path, false).await.expect("opens");
        assert!(store.get("req_a").await.expect("get").is_some());
        store.create(change("req_b")).await.expect("create");
        assert_eq!(chain_is_whole(&store).await, 2);
        let versions: Vec<i64> = sqlx::query_scalar("SELECT version FROM gate_schema")
            .fetch_all(&store.readers)
            .await
            .expect("versions");
        assert_eq!(versions, [1, 2]);
    }

    /// A database at version 1 exactly as a version-1 gate left it: its
    /// tables (schema.sql), its version row, and `rows` created (rows and
    /// a chain), with no `sample_state` column.
    async fn make_version_1(path: &std::path::Path, rows: &[&str]) {
        {
            let store = SqliteStore::open(path, false).await.expect("opens");
            for id in rows {
                store.create(change(id)).await.expect("create");
            }
        }
        exec(path, "DROP INDEX requests_sample").await;
        exec(path, "ALTER TABLE requests DROP COLUMN sample_state").await;
        exec(path, "DELETE FROM gate_schema WHERE version > 1").await;
    }

    /// A version-1 database with rows (one of them sampled, as a body
    /// could hold it) migrates to version 2: the column is filled from the
    /// bodies, the index exists, the chain goes on, and sample lists
    /// answer from the column.
    #[tokio::test]
    async fn a_version_1_database_with_rows_migrates_to_version_2() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("t.db");
        make_version_1(&path, &["req_a", "req_b"]).await;
        exec(
            &path,
            "UPDATE requests SET body = json_set(body, '$.sample_review', json('{\"state\":\"open\"}')) WHERE id = 'req_b'",
        )
        .await;
        let report = SqliteStore::migrate(&path).await.expect("migrates");
        assert_eq!((report.from, report.to), (1, 2));
        let store = SqliteStore::open(&path, false).await.expect("opens");
        let states: Vec<(String, Option<String>)> =
            sqlx::query_as("SELECT id, sample_state FROM requests ORDER BY id")
                .fetch_all(&store.readers)
                .await
                .expect("rows");
        assert_eq!(
            states,
            [
                ("req_a".into(), None),
                ("req_b".into(), Some("open".into()))
            ]
        );
        let indexed: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = 'requests_sample'",
        )
        .fetch_one(&store.readers)
        .await
        .expect("index");
        assert_eq!(indexed, 1);
        let open = store
            .list(&crate::store::ListFilter {
                sample_states: Some(vec!["open".into()]),
                limit: 10,
                ..Default::default()
            })
            .await
            .expect("list");
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].id, "req_b");
        store.create(change("req_c")).await.expect("create");
        assert_eq!(chain_is_whole(&store).await, 3);
    }

    #[tokio::test]
    async fn a_database_newer_than_the_binary_is_refused() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("t.db");
        drop(SqliteStore::open(&path, false).await.expect("opens"));
        exec(&path, "INSERT INTO gate_schema (version) VALUES (4)").await;
        let e = SqliteStore::open(&path, false)
            .await
            .err()
            .expect("refused");
        assert!(
            e.detail.contains("version 4") && e.detail.contains("up to 2"),
            "{}",
            e.detail
        );
        let e = SqliteStore::migrate(&path).await.expect_err("refused");
        assert!(e.detail.contains("version 4"), "{}", e.detail);
    }
}

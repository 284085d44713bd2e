//! Console sessions in SQLite (see [`SessionRow`]).

use sqlx::Row as _;
use sqlx::sqlite::{SqliteConnection, SqlitePool};

use super::db;
use crate::error::GateError;
use crate::store::SessionRow;

/// Inserts a session and prunes the expired ones in one statement pair (a
/// sign-in is rare; the table never grows past the live sessions).
pub(super) async fn insert(
    conn: &mut SqliteConnection,
    s: &SessionRow,
    now_unix: i64,
) -> Result<(), GateError> {
    sqlx::query("DELETE FROM console_sessions WHERE expires_unix <= ?")
        .bind(now_unix)
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    sqlx::query(
        "INSERT INTO console_sessions (hash, identity, method, csrf, created_unix, expires_unix) VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(&s.hash)
    .bind(&s.identity)
    .bind(&s.method)
    .bind(&s.csrf)
    .bind(s.created_unix)
    .bind(s.expires_unix)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    Ok(())
}

/// The live session with this hash.
pub(super) async fn get(
    pool: &SqlitePool,
    hash: &str,
    now_unix: i64,
) -> Result<Option<SessionRow>, GateError> {
    let row = sqlx::query(
        "SELECT hash, identity, method, csrf, created_unix, expires_unix FROM console_sessions WHERE hash = ? AND expires_unix > ?",
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

/// Deletes a session; whether it existed.
pub(super) async fn delete(conn: &mut SqliteConnection, hash: &str) -> Result<bool, GateError> {
    let done = sqlx::query("DELETE FROM console_sessions WHERE hash = ?")
        .bind(hash)
        .execute(conn)
        .await
        .map_err(db)?;
    Ok(done.rows_affected() > 0)
}

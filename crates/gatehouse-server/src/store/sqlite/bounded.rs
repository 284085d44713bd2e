//! Reading request bodies within a byte budget (`Store::list_bounded`):
//! the ids come first, in the list's order; the bodies follow in small
//! chunks, and reading stops once the budget is spent. An agent that
//! files many large requests cannot make one page read gigabytes.

use sqlx::sqlite::SqlitePool;

use super::{db, row_from_body};
use crate::error::GateError;
use crate::store::RequestRow;

/// Bodies read per query: the budget can be overshot by at most one chunk
/// of the largest bodies (`limits.body_bytes` each).
const CHUNK: usize = 32;

/// The rows of `ids`, in that order, until the bodies read pass
/// `max_bytes` (the chunk that passes it is kept); whether ids were left
/// unread.
pub(super) async fn bodies_in_order(
    pool: &SqlitePool,
    ids: &[String],
    max_bytes: usize,
) -> Result<(Vec<RequestRow>, bool), GateError> {
    let mut rows = Vec::new();
    let mut spent = 0usize;
    for (n, chunk) in ids.chunks(CHUNK).enumerate() {
        if spent >= max_bytes {
            return Ok((rows, n * CHUNK < ids.len()));
        }
        let sql = format!(
            "SELECT body FROM requests WHERE id IN ({})",
            vec!["?"; chunk.len()].join(", ")
        );
        let mut query = sqlx::query_scalar::<_, String>(&sql);
        for id in chunk {
            query = query.bind(id);
        }
        let bodies = query.fetch_all(pool).await.map_err(db)?;
        let mut found = Vec::with_capacity(bodies.len());
        for body in &bodies {
            spent = spent.saturating_add(body.len());
            found.push(row_from_body(body)?);
        }
        // Back in the ids' order (the IN list answers in any order); an id
        // gone since it was listed is skipped.
        for id in chunk {
            if let Some(i) = found.iter().position(|r| &r.id == id) {
                rows.push(found.swap_remove(i));
            }
        }
    }
    Ok((rows, false))
}

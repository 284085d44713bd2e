//! The change feed across replicas: `LISTEN gatehouse`.
//!
//! Every transaction that changes a request sends `pg_notify('gatehouse',
//! note)` before its `COMMIT`; PostgreSQL delivers a notification only
//! when (and if) its transaction commits, so a note always describes a
//! committed change. One task per store holds a `PgListener` and forwards
//! each note into a broadcast channel ([`crate::store::Store::feed`]).
//!
//! When the listening connection is lost, notes sent meanwhile are lost
//! too: the task sends [`StoreNote::Resync`] (every receiver reads again)
//! and reconnects, waiting longer after each failed attempt (up to
//! [`MAX_BACKOFF`]).

use std::time::Duration;

use serde::{Deserialize, Serialize};
use sqlx::postgres::{PgListener, PgPool};
use tokio::sync::broadcast;

use crate::store::StoreNote;

/// The channel every replica listens on.
pub(super) const CHANNEL: &str = "gatehouse";
/// How many notes a slow receiver may fall behind before it lags (a lagged
/// receiver reads everything again, as after a Resync).
pub(super) const CAPACITY: usize = 1024;
/// The longest wait between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// A note as sent through `pg_notify` (JSON, well under the 8000-byte
/// payload limit: ids, a state name and a number).
#[derive(Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub(super) enum Wire {
    /// A request changed.
    Request {
        /// Its id.
        id: String,
        /// Its new state.
        state: String,
        /// Its new version.
        version: i64,
    },
    /// A key was revoked.
    KeyRevoked {
        /// Its id.
        id: String,
    },
}

impl Wire {
    /// The payload text.
    pub(super) fn text(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Parses a payload; `None` for one this binary does not understand
/// (ignored: a newer replica may send more kinds).
fn parse(payload: &str) -> Option<StoreNote> {
    Some(match serde_json::from_str::<Wire>(payload).ok()? {
        Wire::Request { id, state, version } => StoreNote::Request { id, state, version },
        Wire::KeyRevoked { id } => StoreNote::KeyRevoked { id },
    })
}

/// Starts listening (the first `LISTEN` happens before this returns, so a
/// change committed after `open` is never missed) and gives the task.
pub(super) async fn start(
    pool: &PgPool,
    notes: broadcast::Sender<StoreNote>,
) -> Result<tokio::task::JoinHandle<()>, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    // Reconnection is ours (with backoff and a Resync), not hidden inside
    // recv().
    listener.ignore_pool_close_event(true);
    let pool = pool.clone();
    Ok(tokio::spawn(run(pool, listener, notes)))
}

async fn run(pool: PgPool, mut listener: PgListener, notes: broadcast::Sender<StoreNote>) {
    loop {
        match listener.try_recv().await {
            Ok(Some(n)) => {
                if let Some(note) = parse(n.payload()) {
                    // No receiver now is fine: nobody waits.
                    let _ = notes.send(note);
                }
            }
            // The connection was lost (`try_recv` gives `None` once, then
            // reconnects on the next call); or an error: reconnect
            // ourselves with backoff.
            Ok(None) | Err(_) => {
                tracing::warn!("the store's change feed lost its connection; reconnecting");
                listener = reconnect(&pool).await;
                let _ = notes.send(StoreNote::Resync);
            }
        }
    }
}

/// A fresh listener, retrying with backoff until the database answers.
async fn reconnect(pool: &PgPool) -> PgListener {
    let mut wait = Duration::from_millis(50);
    loop {
        match PgListener::connect_with(pool).await {
            Ok(mut listener) => {
                listener.ignore_pool_close_event(true);
                if listener.listen(CHANNEL).await.is_ok() {
                    return listener;
                }
            }
            Err(e) => {
                tracing::warn!(error = %super::redacted_error(&e), "the store's change feed cannot reconnect yet");
            }
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(MAX_BACKOFF);
    }
}

//! Group commit of request creations: one writer task takes every creation
//! queued while the previous transaction was committing and writes them in
//! one transaction, so N concurrent creations cost one `COMMIT` (one fsync
//! with `sync = "full"`) instead of N.
//!
//! Invariants:
//! - A caller is answered only after the transaction holding its change
//!   committed (or failed): the answer still means "durable".
//! - Each change gets its own outcome. When a batch fails, its changes are
//!   committed again one transaction each, so one bad change (a duplicate
//!   idempotency key, a conflicting id) fails alone and the others are
//!   unaffected; a failure of the database itself then fails each of them.
//! - The chain stays one sequence: the task holds the same writer mutex as
//!   every other write, and appends each change's records in queue order.
//! - The commit runs in the task, not in the caller's future: a client
//!   that goes away cannot cancel a transaction halfway (the chain head in
//!   memory always matches the database).
//! - Bounded: at most [`QUEUE`] changes wait (senders then wait their
//!   turn), at most [`MAX_BATCH`] go into one transaction.
//!
//! Measured (benches/peers/http/run-http.sh, docs/performance.md "The
//! service"): with `sync = "full"`, 32 connections on the 2-core VM,
//! creation went from 734/s (one transaction each) to 3 722/s.

use std::sync::Arc;

use tokio::sync::{Mutex, mpsc, oneshot};

use super::{Writer, append_events, chain_lines, insert_audit, insert_extras, write_row};
use crate::error::GateError;
use crate::store::Change;

/// The most changes in one transaction.
pub(super) const MAX_BATCH: usize = 256;
/// The most changes waiting for the writer task.
pub(super) const QUEUE: usize = 1024;

/// A change waiting to be committed, and where its outcome goes.
pub(super) struct Queued {
    change: Change,
    done: oneshot::Sender<Result<(), GateError>>,
}

/// Starts the writer task over the store's writer; it ends when the last
/// sender (the store) is dropped.
pub(super) fn start(writer: Arc<Mutex<Writer>>) -> mpsc::Sender<Queued> {
    let (tx, rx) = mpsc::channel(QUEUE);
    tokio::spawn(run(writer, rx));
    tx
}

/// Queues a creation and waits until the transaction holding it has
/// committed.
pub(super) async fn create(queue: &mpsc::Sender<Queued>, change: Change) -> Result<(), GateError> {
    let (done, answer) = oneshot::channel();
    queue
        .send(Queued { change, done })
        .await
        .map_err(|_| GateError::store("the store's writer has stopped"))?;
    answer.await.unwrap_or_else(|_| {
        Err(GateError::store(
            "the store's writer stopped before the change committed",
        ))
    })
}

async fn run(writer: Arc<Mutex<Writer>>, mut queue: mpsc::Receiver<Queued>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let mut writer = writer.lock().await;
        commit(&mut writer, &mut batch).await;
    }
}

/// Commits a batch in one transaction and answers each change; empties
/// the batch.
async fn commit(writer: &mut Writer, batch: &mut Vec<Queued>) {
    let changes: &[Queued] = batch;
    let together = writer
        .transaction(async |conn, mut head| {
            // The whole batch's audit lines go in few statements: each
            // statement is a round trip to SQLite's thread.
            let mut lines = Vec::new();
            for queued in changes {
                write_row(conn, &queued.change.row, true).await?;
                head = chain_lines(head, &queued.change, &mut lines)?;
            }
            insert_audit(conn, &lines).await?;
            for queued in changes {
                insert_extras(conn, &queued.change).await?;
            }
            Ok(((), head))
        })
        .await;
    if together.is_ok() || batch.len() == 1 {
        for queued in batch.drain(..) {
            let _ = queued.done.send(together.clone());
        }
        return;
    }
    // One change may be the cause: each alone, each with its own outcome.
    for queued in batch.drain(..) {
        let change = &queued.change;
        let alone = writer
            .transaction(async |conn, head| {
                write_row(conn, &change.row, true).await?;
                let head = append_events(conn, head, change).await?;
                Ok(((), head))
            })
            .await;
        let _ = queued.done.send(alone);
    }
}

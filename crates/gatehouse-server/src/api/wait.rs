//! Waiting for a human without a polling loop: a long-poll
//! (`GET /v1/requests/{id}/wait`) and an event stream
//! (`GET /v1/requests/{id}/events`, Server-Sent Events).
//!
//! Both subscribe to the gate's change notifications *before* reading the
//! request, so a change committed between the read and the wait is never
//! missed; both are bounded by `limits.max_wait_seconds`.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse as _, Response};
use futures_util::stream::Stream;
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;

use super::requests::readable;
use super::{PathId, json_answer};
use crate::auth::Principal;
use crate::error::GateError;
use crate::gate::{Gate, view};
use crate::lifecycle::State as LifeState;
use crate::store::RequestRow;
use crate::waits::WaitSlot;

/// The long-poll's query.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WaitQuery {
    /// Answer once the request's version is above this one.
    #[serde(default)]
    since_version: Option<i64>,
    /// Answer once the request is no longer in this state.
    #[serde(default)]
    state: Option<String>,
    /// The longest to wait, in seconds (default and cap: the configured
    /// `max_wait_seconds`).
    #[serde(default)]
    timeout: Option<u64>,
}

/// A wait slot for the caller: 429 `TOO_MANY_WAITS` when they already
/// hold `limits.max_waits_per_caller` long-polls and event streams.
fn wait_slot(gate: &Gate, principal: &Principal) -> Result<WaitSlot, GateError> {
    let person = crate::gate::person_key_of(&principal.id);
    let max = gate.config.limits.max_waits_per_caller;
    gate.waits.take(&person, max).ok_or_else(|| {
        let mut e = GateError::new(
            429,
            "TOO_MANY_WAITS",
            format!("this caller already holds {max} long-polls and event streams; close one"),
        );
        e.retry_after = Some(1);
        e
    })
}

/// Whether the wait is over for this row.
fn changed(row: &RequestRow, since: Option<i64>, state: Option<LifeState>) -> bool {
    match (since, state) {
        (Some(v), _) => row.version > v,
        (None, Some(s)) => row.state != s,
        (None, None) => true,
    }
}

/// `GET /v1/requests/{id}/wait`: the request as soon as it changes (or at
/// the timeout, unchanged: `changed` says which).
pub(crate) async fn long_poll(
    State(gate): State<Arc<Gate>>,
    principal: Principal,
    PathId(id): PathId,
    query: Result<Query<WaitQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, GateError> {
    let Query(q) = query.map_err(|e| GateError::bad_request("INVALID_QUERY", e.body_text()))?;
    let state = match q.state.as_deref() {
        Some(s) => Some(LifeState::parse(s).ok_or_else(|| {
            GateError::bad_request("INVALID_QUERY", format!("`{s}` is not a state"))
        })?),
        None => None,
    };
    let max = gate.config.limits.max_wait_seconds;
    let wait = Duration::from_secs(q.timeout.unwrap_or(max).min(max));
    let _slot = wait_slot(&gate, &principal)?;
    let mut notes = gate.subscribe();
    let mut row = readable(&gate, &principal, &id).await?;
    let since = q.since_version.or(if state.is_none() {
        Some(row.version)
    } else {
        None
    });
    let deadline = deadline_after(wait);
    while !changed(&row, since, state) && !row.state.is_final() {
        // Shutdown answers a waiter at once (unchanged) instead of holding
        // the process for the rest of its wait; it asks again elsewhere.
        let note = tokio::select! {
            note = tokio::time::timeout_at(deadline, notes.recv()) => resync_as_lag(note),
            () = gate.until_draining() => break,
        };
        match note {
            Err(_) => break,
            // A note is a hint, not proof (any database user may NOTIFY on
            // the feed's channel): the store says whether the key is revoked.
            Ok(Ok(note)) if revokes(&note, &principal) => {
                if !key_live(&gate, &principal).await? {
                    return Err(revoked_while_waiting());
                }
            }
            Ok(Ok(note)) if note.id != row.id => continue,
            // Notes were dropped (a revocation among them?): check, read again.
            Ok(Err(RecvError::Lagged(_))) => {
                if !key_live(&gate, &principal).await? {
                    return Err(revoked_while_waiting());
                }
                row = readable(&gate, &principal, &id).await?;
            }
            Ok(Ok(_)) => row = readable(&gate, &principal, &id).await?,
            Ok(Err(RecvError::Closed)) => break,
        }
    }
    let mut body = view(&row);
    if let Some(map) = body.as_object_mut() {
        map.insert("changed".into(), changed(&row, since, state).into());
    }
    Ok(json_answer(200, body.to_string()))
}

/// `GET /v1/requests/{id}/events`: `event: request` with the request now,
/// then again at every change, until it is final or the wait cap passes.
pub(crate) async fn events(
    State(gate): State<Arc<Gate>>,
    principal: Principal,
    PathId(id): PathId,
) -> Result<Response, GateError> {
    let slot = wait_slot(&gate, &principal)?;
    let notes = gate.subscribe();
    let row = readable(&gate, &principal, &id).await?;
    let max = Duration::from_secs(gate.config.limits.max_wait_seconds);
    let stream = request_events(gate, principal, row, notes, max, slot);
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response())
}

fn request_events(
    gate: Arc<Gate>,
    principal: Principal,
    first: RequestRow,
    mut notes: tokio::sync::broadcast::Receiver<crate::gate::ChangeNote>,
    max: Duration,
    slot: WaitSlot,
) -> impl Stream<Item = Result<SseEvent, Infallible>> {
    async_stream(move |tx| async move {
        // Held until the stream's task ends (final state, cap, client gone).
        let _slot = slot;
        let deadline = deadline_after(max);
        let mut version = first.version;
        let id = first.id.clone();
        let mut done = first.state.is_final();
        if tx.send(event_of(&first)).await.is_err() {
            return;
        }
        while !done {
            let note = tokio::select! {
                note = tokio::time::timeout_at(deadline, notes.recv()) => resync_as_lag(note),
                // Shutdown ends the stream (the client reconnects elsewhere).
                () = gate.until_draining() => break,
            };
            match note {
                Err(_) | Ok(Err(RecvError::Closed)) => break,
                // The caller's key was revoked: the stream ends, with no
                // change committed after the revocation.
                // A note is a hint, not proof (any database user may
                // NOTIFY on the feed's channel): the store says.
                Ok(Ok(note)) if revokes(&note, &principal) => {
                    if !key_live(&gate, &principal).await.unwrap_or(false) {
                        break;
                    }
                }
                Ok(Ok(note)) if note.id != id => continue,
                Ok(Err(RecvError::Lagged(_)))
                    if !key_live(&gate, &principal).await.unwrap_or(false) =>
                {
                    break;
                }
                Ok(Ok(_) | Err(RecvError::Lagged(_))) => {
                    let Ok(row) = readable(&gate, &principal, &id).await else {
                        break;
                    };
                    if row.version > version {
                        version = row.version;
                        done = row.state.is_final();
                        if tx.send(event_of(&row)).await.is_err() {
                            break;
                        }
                    }
                }
            }
        }
    })
}

/// A received [`crate::gate::RESYNC`] note, as if notes had been dropped:
/// notes were missed somewhere (the store's feed was interrupted), so the
/// waiter does what it does after a lag: checks its key is still live and
/// reads its request again. Every other outcome passes unchanged.
fn resync_as_lag<E>(
    note: Result<Result<crate::gate::ChangeNote, RecvError>, E>,
) -> Result<Result<crate::gate::ChangeNote, RecvError>, E> {
    match note {
        Ok(Ok(n)) if n.state == crate::gate::RESYNC => Ok(Err(RecvError::Lagged(0))),
        other => other,
    }
}

/// Whether a note announces the revocation of the caller's own API key.
fn revokes(note: &crate::gate::ChangeNote, principal: &Principal) -> bool {
    note.state == crate::gate::KEY_REVOKED && principal.key_id.as_deref() == Some(note.id.as_str())
}

/// Whether the caller's API key is still live, read from the store (after
/// notes were dropped, a revocation may have been among them). A caller
/// authenticated otherwise (OIDC) has no key to revoke.
async fn key_live(gate: &Gate, principal: &Principal) -> Result<bool, GateError> {
    let Some(key_id) = principal.key_id.as_deref() else {
        return Ok(true);
    };
    let keys = gate.store.keys().await?;
    Ok(keys.iter().any(|k| k.id == key_id && !k.revoked))
}

/// 401: the key a long-poll was held with was revoked while it waited.
fn revoked_while_waiting() -> GateError {
    GateError::unauthorized("the API key was revoked while this wait was held")
}

/// `now + wait`, or a day from now when that does not fit an instant (the
/// configuration caps waits at a day; this keeps an unchecked value from
/// panicking).
fn deadline_after(wait: Duration) -> tokio::time::Instant {
    let now = tokio::time::Instant::now();
    now.checked_add(wait.min(Duration::from_secs(crate::config::MAX_WAIT_SECONDS_CAP)))
        .unwrap_or(now)
}

fn event_of(row: &RequestRow) -> Result<SseEvent, Infallible> {
    Ok(SseEvent::default()
        .event("request")
        .id(row.version.to_string())
        .data(view(row).to_string()))
}

/// A stream fed by a task through a small channel. The task ends as soon
/// as the client goes away (the stream is dropped), not at its next send:
/// a stream on a quiet request sends nothing until the wait cap, and
/// before, every event stream a client opened and closed at once left its
/// task and change subscription alive that long (20 000 of them held
/// about 330 MB), so a caller with any key could exhaust memory.
fn async_stream<F, Fut, T>(body: F) -> tokio_stream::wrappers::ReceiverStream<T>
where
    F: FnOnce(tokio::sync::mpsc::Sender<T>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
    T: Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel(8);
    let client = tx.clone();
    let fed = body(tx);
    tokio::spawn(async move {
        tokio::select! {
            () = fed => {},
            () = client.closed() => {},
        }
    });
    tokio_stream::wrappers::ReceiverStream::new(rx)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    /// A resync note (the store's feed was interrupted) is read as a lag,
    /// so the waiter checks its key and reads its request again, whatever
    /// request it waits for; other notes pass unchanged.
    #[test]
    fn a_resync_note_reads_as_a_lag_for_every_waiter() {
        use tokio::sync::broadcast::error::RecvError;
        let note = |id: &str, state: &str| crate::gate::ChangeNote {
            id: id.into(),
            state: state.into(),
            version: 1,
        };
        let resync: Result<_, ()> = Ok(Ok(note("", crate::gate::RESYNC)));
        assert!(matches!(
            super::resync_as_lag(resync),
            Ok(Err(RecvError::Lagged(_)))
        ));
        let other: Result<_, ()> = Ok(Ok(note("req_1", "approved")));
        assert!(matches!(super::resync_as_lag(other), Ok(Ok(n)) if n.id == "req_1"));
    }

    /// The feeding task ends when the stream is dropped, even while it
    /// waits for something that never comes (the old task lived on until
    /// its next send).
    #[tokio::test]
    async fn the_feeding_task_ends_when_the_client_goes_away() {
        let (ended_tx, ended_rx) = tokio::sync::oneshot::channel::<()>();
        let stream = super::async_stream(move |tx: tokio::sync::mpsc::Sender<u8>| async move {
            // Dropped, so `ended_rx` resolves, only when this task ends.
            let _ended = ended_tx;
            let _tx = tx;
            std::future::pending::<()>().await;
        });
        drop(stream);
        let ended = tokio::time::timeout(Duration::from_secs(30), ended_rx).await;
        assert!(
            matches!(ended, Ok(Err(_))),
            "the task still runs after its client went away"
        );
    }
}

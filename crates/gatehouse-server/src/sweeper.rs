//! Deadlines act without anyone asking: every `sweep_interval_ms` the
//! sweeper applies each due request's on-expiry action
//! ([`Gate::expire`]). Due means `deadline <= now` in the store, so after
//! a restart the first sweep catches up on every deadline that passed
//! while the service was down.

use std::sync::Arc;
use std::time::Duration;

use crate::gate::Gate;

/// How many due requests one sweep takes (the next sweep takes the rest).
const BATCH: u32 = 500;

/// Sweeps until the task is aborted.
pub async fn run(gate: Arc<Gate>) {
    let every = Duration::from_millis(gate.config.sweep_interval_ms.max(50));
    loop {
        if let Err(e) = sweep(&gate).await {
            tracing::error!(error = %e, "sweep failed; retrying at the next interval");
        }
        tokio::time::sleep(every).await;
    }
}

/// One sweep: every request due now, oldest deadline first. Gives how
/// many it expired.
///
/// A request that cannot be expired (its stored decision is unreadable,
/// the store refused the write) is logged and skipped, so one bad row
/// never holds back the deadlines behind it; it is tried again at the next
/// sweep. The first error is returned after the others were done.
pub async fn sweep(gate: &Gate) -> Result<usize, crate::GateError> {
    let mut done = 0;
    let mut first_error = None;
    loop {
        let due = gate.store.due(gate.now().unix_seconds(), BATCH).await?;
        let full = due.len() == BATCH as usize;
        let mut moved = 0;
        for id in due {
            match gate.expire(&id).await {
                Ok(Some(_)) => moved += 1,
                Ok(None) => {}
                Err(e) => {
                    tracing::error!(request = %id, error = %e, "cannot apply a passed deadline");
                    first_error.get_or_insert(e);
                }
            }
        }
        done += moved;
        // A full batch that moved nothing would be read again unchanged:
        // stop until the next interval instead of spinning on it.
        if !full || moved == 0 {
            return match first_error {
                Some(e) => Err(e),
                None => Ok(done),
            };
        }
    }
}

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
pub async fn sweep(gate: &Gate) -> Result<usize, crate::GateError> {
    let mut done = 0;
    loop {
        let due = gate.store.due(gate.now().unix_seconds(), BATCH).await?;
        let full = due.len() == BATCH as usize;
        for id in due {
            if gate.expire(&id).await?.is_some() {
                done += 1;
            }
        }
        if !full {
            return Ok(done);
        }
    }
}

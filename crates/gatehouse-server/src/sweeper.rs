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

/// The longest pause between sweeps while they fail (the database is
/// away): failures double the pause from `sweep_interval_ms` up to this.
pub const RETRY_MAX: Duration = Duration::from_secs(30);

/// Sweeps until the task is aborted. While sweeps fail (the database is
/// unreachable) the pause doubles up to [`RETRY_MAX`], so an outage costs
/// a log line per pause, not a spin; the first sweep that succeeds
/// returns to `sweep_interval_ms` and catches up on every passed deadline.
pub async fn run(gate: Arc<Gate>) {
    let every = Duration::from_millis(gate.config.sweep_interval_ms.max(50));
    let mut pause = every;
    loop {
        pause = match sweep(&gate).await {
            Ok(_) => every,
            Err(e) => {
                let next = retry_pause(pause, every);
                tracing::error!(error = %e, retry_in_ms = next.as_millis() as u64, "sweep failed; retrying");
                next
            }
        };
        tokio::time::sleep(pause).await;
    }
}

/// The pause after a failed sweep: double the last one (at least the
/// interval), at most [`RETRY_MAX`] (or the interval, if that is longer).
pub fn retry_pause(last: Duration, every: Duration) -> Duration {
    last.max(every).saturating_mul(2).min(RETRY_MAX.max(every))
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Failures back off (the old loop slept the interval after every
    /// failure, so an outage logged ten errors a second at 100 ms), and
    /// the pause is bounded.
    #[test]
    fn failed_sweeps_back_off_and_stay_bounded() {
        let every = Duration::from_millis(100);
        let mut pause = every;
        let mut pauses = Vec::new();
        for _ in 0..20 {
            pause = retry_pause(pause, every);
            pauses.push(pause);
        }
        assert_eq!(pauses[0], Duration::from_millis(200));
        assert_eq!(pauses[1], Duration::from_millis(400));
        assert!(pauses.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(*pauses.last().expect("pauses"), RETRY_MAX);
        let slow = Duration::from_secs(60);
        assert_eq!(
            retry_pause(slow, slow),
            slow,
            "never shorter than the interval"
        );
    }
}

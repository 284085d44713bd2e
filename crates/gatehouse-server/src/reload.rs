//! Policy hot reload: on SIGHUP, on `POST /v1/admin/reload`, and every
//! `reload_interval_ms` when the policy files changed. A new set replaces
//! the old one only when it compiles clean ([`Gate::reload`]); otherwise
//! the old set stays in force and `/health` reports the error.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::gate::Gate;

/// What the policy path looks like on disk: each file's name, length and
/// modification time. A change in any of them triggers a reload.
fn fingerprint(path: &std::path::Path) -> Vec<(std::path::PathBuf, u64, Option<SystemTime>)> {
    let mut out = Vec::new();
    let mut stack = vec![path.to_path_buf()];
    while let Some(p) = stack.pop() {
        let Ok(meta) = std::fs::metadata(&p) else {
            continue;
        };
        if meta.is_dir() {
            if out.len() > 10_000 {
                break;
            }
            if let Ok(entries) = std::fs::read_dir(&p) {
                for e in entries.flatten() {
                    stack.push(e.path());
                }
            }
        } else {
            out.push((p, meta.len(), meta.modified().ok()));
        }
    }
    out.sort();
    out
}

/// The SIGHUP handler, installed before the service announces itself:
/// SIGHUP's default action ends the process, so a signal sent right after
/// start must find the handler already in place.
pub struct Hangup {
    #[cfg(unix)]
    signal: Option<tokio::signal::unix::Signal>,
}

impl Hangup {
    /// Installs the handler (from inside the runtime). On a system without
    /// SIGHUP, or when installing fails, only the timer and the endpoint
    /// reload.
    pub fn install() -> Hangup {
        Hangup {
            #[cfg(unix)]
            signal: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok(),
        }
    }
}

/// Watches for SIGHUP and file changes until the task is aborted.
pub async fn run(gate: Arc<Gate>, hangup: Hangup) {
    let interval = gate.config.reload_interval_ms;
    let mut seen = fingerprint(&gate.config.policy);
    #[cfg(unix)]
    let mut hup = hangup.signal;
    #[cfg(not(unix))]
    let _ = hangup;
    loop {
        let tick = async {
            if interval == 0 {
                std::future::pending::<()>().await;
            } else {
                tokio::time::sleep(Duration::from_millis(interval)).await;
            }
        };
        #[cfg(unix)]
        let signal = async {
            match hup.as_mut() {
                Some(h) => {
                    h.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let signal = std::future::pending::<()>();
        let forced = tokio::select! {
            () = tick => false,
            () = signal => true,
        };
        let now = fingerprint(&gate.config.policy);
        if forced || now != seen {
            seen = now;
            if gate.reload().await.is_err() {
                gate.metrics
                    .reload_failures
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }
    }
}

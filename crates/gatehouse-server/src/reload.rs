//! Policy hot reload: on SIGHUP, on `POST /v1/admin/reload`, and every
//! `reload_interval_ms` when the policy files changed. A new set replaces
//! the old one only when it compiles clean ([`Gate::reload`]); otherwise
//! the old set stays in force and `/health` reports the error.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::gate::Gate;

/// The most directory entries the change check looks at.
const MAX_ENTRIES: usize = 10_000;

/// What the policy path looks like on disk: for a file, its length and
/// modification time; for a directory, the same for every entry directly
/// in it (following symlinks, as the loader does), at most
/// [`MAX_ENTRIES`]. A change in any of them triggers a reload.
///
/// Only the entries directly in the directory: the loader reads the
/// `.gate` files there and nothing below. The old check walked every
/// subdirectory, following symlinks: a directory holding two symlinks to
/// itself made the walk exponential, so the reloader spun a worker thread
/// forever and never reloaded again (not on change, not on SIGHUP).
fn fingerprint(path: &std::path::Path) -> Vec<(std::path::PathBuf, u64, Option<SystemTime>)> {
    let stamp = |p: &std::path::Path| {
        std::fs::metadata(p)
            .map(|m| (m.len(), m.modified().ok()))
            .unwrap_or((0, None))
    };
    let Ok(meta) = std::fs::metadata(path) else {
        return Vec::new();
    };
    if !meta.is_dir() {
        let (len, modified) = stamp(path);
        return vec![(path.to_path_buf(), len, modified)];
    }
    let mut out: Vec<_> = std::fs::read_dir(path)
        .into_iter()
        .flatten()
        .flatten()
        .take(MAX_ENTRIES)
        .map(|e| {
            let p = e.path();
            let (len, modified) = stamp(&p);
            (p, len, modified)
        })
        .collect();
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
    // The shadow set's files are watched with the enforced set's: a
    // change to either reloads both (each kept only when it checks clean).
    let watched = || {
        let mut f = fingerprint(&gate.config.policy);
        if let Some(shadow) = &gate.config.shadow.policy {
            f.extend(fingerprint(shadow));
        }
        f
    };
    let mut seen = watched();
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
        let now = watched();
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

#[cfg(test)]
mod tests {
    use super::fingerprint;

    /// Symlinks to the directory itself (here two, which made the old
    /// recursive walk exponential) are looked at once, as entries.
    #[cfg(unix)]
    #[test]
    fn a_symlink_loop_in_the_policy_directory_is_seen_once() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("main.gate"), "x").expect("write");
        let sub = dir.path().join("sub");
        std::fs::create_dir(&sub).expect("mkdir");
        std::os::unix::fs::symlink(".", sub.join("a")).expect("symlink");
        std::os::unix::fs::symlink(".", sub.join("b")).expect("symlink");
        std::os::unix::fs::symlink(".", dir.path().join("loop")).expect("symlink");
        // On a thread, waited for generously: the old walk never returned.
        let root = dir.path().to_path_buf();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(fingerprint(&root));
        });
        let seen = rx
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("the change check returns");
        assert_eq!(seen.len(), 3, "{seen:?}");
        // A change to a policy file is still seen.
        std::fs::write(dir.path().join("main.gate"), "xy").expect("write");
        assert_ne!(fingerprint(dir.path()), seen);
    }
}

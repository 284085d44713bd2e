//! `gatehouse serve`: the approval gate as a service.
//!
//! Agents propose actions over HTTP; the gate decides each with the engine,
//! holds the ones that need people (pending), takes approvals from
//! authenticated reviewers, grants exactly one claim to execute an
//! approved action, and acts on deadlines by itself. Every transition is
//! one store transaction with its tamper-evident audit record
//! ([`lifecycle`] is the table of legal transitions; docs/service.md the
//! guide).
//!
//! Modules, in the order a request meets them: [`api`] (routes, bodies,
//! problem+json), [`auth`] (API keys, OIDC), [`gate`] (the operations),
//! [`lifecycle`] (the state machine), [`store`] (SQLite), and the
//! background tasks [`sweeper`] (deadlines), [`reload`] (policies) and
//! [`webhooks`] (the outbox deliverer).

#![forbid(unsafe_code)]

pub mod api;
pub mod auth;
pub mod config;
pub mod connections;
pub mod console;
pub mod error;
pub mod gate;
pub mod ids;
pub mod key_cache;
pub mod lifecycle;
pub mod metrics;
pub mod rate;
pub mod reload;
pub mod store;
pub mod sweeper;
pub mod waits;
pub mod webhooks;

use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;

use ed25519_dalek::SigningKey;
use rand_core::OsRng;

pub use config::ServerConfig;
pub use error::GateError;
pub use gate::Gate;

/// The database file's name under `data_dir`.
pub const DATABASE_FILE: &str = "gatehouse.db";
/// The signing key's file name under `data_dir`.
pub const SIGNING_KEY_FILE: &str = "gate-signing.key";

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The policy set does not compile.
    #[error("the policy set does not compile:\n{0}")]
    Policy(String),
    /// The shadow (candidate) policy set does not compile: asked for and
    /// broken, so the gate does not start (a reload keeps the last good
    /// one instead).
    #[error("the shadow policy set does not compile:\n{0}")]
    ShadowPolicy(String),
    /// The trust store is unusable.
    #[error("{0}")]
    Trust(String),
    /// The data directory, database or key.
    #[error("{0}")]
    Store(String),
    /// The database cannot be reached (PostgreSQL down, refused, timed
    /// out): the message names the host, never the password. `serve` and
    /// `migrate` exit 1 for it (2 is for what the operator must fix in
    /// the configuration).
    #[error("{0}")]
    Database(String),
    /// A `[[webhook]]` is unusable (bad URL, secret variable unset).
    #[error("webhooks: {0}")]
    Webhook(String),
    /// The address cannot be bound.
    #[error("cannot listen on {0}")]
    Listen(String),
}

/// Opens the store, loads the policy and trust store, and builds the gate.
/// On first start (no API key yet) creates an admin key and gives its text
/// (to print once).
pub async fn open(config: ServerConfig) -> Result<(Arc<Gate>, Option<String>), StartError> {
    let policy = gate::LoadedPolicy::load(&config.policy).map_err(StartError::Policy)?;
    let shadow = match &config.shadow.policy {
        Some(path) => Some(gate::LoadedPolicy::load(path).map_err(StartError::ShadowPolicy)?),
        None => None,
    };
    let trust = match &config.trust {
        Some(path) => Some(
            gatehouse::trust::TrustStore::load(path)
                .map_err(|e| StartError::Trust(e.to_string()))?,
        ),
        None => None,
    };
    console::oidc::check_startup(&config, trust.as_ref()).map_err(StartError::Trust)?;
    std::fs::create_dir_all(&config.data_dir).map_err(|e| {
        StartError::Store(format!(
            "cannot create the data directory `{}`: {e}",
            config.data_dir.display()
        ))
    })?;
    let store = store::open(&config).await.map_err(start_error)?;
    let key = gate_signing_key(&config, store.as_ref()).await?;
    let sample_key = match &config.autonomy.sample_key_file {
        Some(path) => Some(read_sample_key_file(path)?),
        None => None,
    };
    let gate = Arc::new(Gate::new(store, config, policy, trust, key).with_sample_key(sample_key));
    gate.set_shadow(shadow);
    gate.save_current_policy().await.map_err(start_error)?;
    // One step in the store: of replicas starting together on an empty
    // database, one makes (and prints) the admin key.
    let first_token = if gate.store.keys().await.map_err(start_error)?.is_empty() {
        let (text, row) =
            auth::new_key("admin", &[auth::Scope::Admin], &[], &gate.now().to_string());
        gate.store
            .insert_first_key(&row)
            .await
            .map_err(start_error)?
            .then_some(text)
    } else {
        None
    };
    Ok((gate, first_token))
}

/// A store error at start: the database unreachable (503) is
/// [`StartError::Database`], anything else [`StartError::Store`].
fn start_error(e: GateError) -> StartError {
    if e.status == 503 {
        StartError::Database(e.detail)
    } else {
        StartError::Store(e.detail)
    }
}

/// The gate's signing key, from the first of: `signing_key_file` (when
/// set: every replica given the same file signs with one key); the seed
/// the store keeps for every replica sharing it (PostgreSQL: the first
/// replica's, see [`store::Store::shared_signing_seed`]); the file in
/// `data_dir` (SQLite), made on first start.
async fn gate_signing_key(
    config: &ServerConfig,
    store: &dyn store::Store,
) -> Result<SigningKey, StartError> {
    if let Some(path) = &config.signing_key_file {
        return read_signing_key_file(path);
    }
    let candidate = SigningKey::generate(&mut OsRng).to_bytes();
    let shared = store
        .shared_signing_seed(candidate)
        .await
        .map_err(start_error)?;
    match shared {
        Some(seed) => {
            tracing::info!(
                "the signing key is kept in the database and shared by every replica; \
                 for production set `signing_key_file` (a secret) instead, so a copy of \
                 the database cannot sign approval credentials"
            );
            Ok(SigningKey::from_bytes(&seed))
        }
        None => signing_key(&config.data_dir),
    }
}

/// Reads a signing key file given by the operator: 64 hex digits (what
/// `data_dir`'s key file holds). A file others may read is used, with a
/// warning: secrets mounted by orchestrators are often mode 0644 inside a
/// container only this process runs in, so refusing it would break them.
pub fn read_signing_key_file(path: &Path) -> Result<SigningKey, StartError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        StartError::Store(format!(
            "cannot read the signing key file `{}`: {e}",
            path.display()
        ))
    })?;
    #[cfg(unix)]
    if let Ok(meta) = std::fs::metadata(path) {
        use std::os::unix::fs::PermissionsExt as _;
        if meta.permissions().mode() & 0o077 != 0 {
            tracing::warn!(
                file = %path.display(),
                "the signing key file can be read by others than its owner; make it mode 0600"
            );
        }
    }
    let mut seed = [0u8; 32];
    hex::decode_to_slice(text.trim(), &mut seed).map_err(|_| {
        StartError::Store(format!(
            "the signing key file `{}` is not 64 hex digits",
            path.display()
        ))
    })?;
    Ok(SigningKey::from_bytes(&seed))
}

/// Reads the sample key file (`[autonomy] sample_key_file`): exactly 64
/// hex digits and at most one line end, a regular file of at most 1 KiB
/// ([`gatehouse::eval::sample_key`]). Anything else refuses to start, and
/// the message never shows the file's content (a near-miss is still most
/// of a secret).
pub fn read_sample_key_file(path: &Path) -> Result<[u8; 32], StartError> {
    // The engine's one reader, which `eval`/`replay --sample-key-file` use
    // too: a key the service runs with always replays its chain.
    let key = gatehouse::eval::sample_key::read_sample_key_file(path)
        .map_err(|why| StartError::Store(format!("{why} (`{}`)", path.display())))?;
    #[cfg(unix)]
    if let Ok(meta) = std::fs::metadata(path) {
        use std::os::unix::fs::PermissionsExt as _;
        if meta.permissions().mode() & 0o077 != 0 {
            tracing::warn!(
                file = %path.display(),
                "the sample key file can be read by others than its owner; make it mode 0600"
            );
        }
    }
    Ok(key)
}

/// Reads the gate's signing key from `data_dir`, creating it (mode 0600)
/// on first start.
fn signing_key(dir: &Path) -> Result<SigningKey, StartError> {
    let path = dir.join(SIGNING_KEY_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let mut seed = [0u8; 32];
            hex::decode_to_slice(text.trim(), &mut seed).map_err(|_| {
                StartError::Store(format!("`{}` is not a 64-digit hex key", path.display()))
            })?;
            Ok(SigningKey::from_bytes(&seed))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = SigningKey::generate(&mut OsRng);
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options.open(&path).map_err(|e| {
                StartError::Store(format!("cannot create `{}`: {e}", path.display()))
            })?;
            writeln!(file, "{}", hex::encode(key.to_bytes()))
                .and_then(|()| file.sync_all())
                .map_err(|e| {
                    StartError::Store(format!("cannot write `{}`: {e}", path.display()))
                })?;
            Ok(key)
        }
        Err(e) => Err(StartError::Store(format!(
            "cannot read `{}`: {e}",
            path.display()
        ))),
    }
}

/// Runs the service until SIGTERM or Ctrl-C: binds, prints the address
/// (and the first start's admin token) to `out`, starts the sweeper and the
/// reloader, and serves. On shutdown `/ready` turns 503 and waiters are
/// answered at once; after `drain_ms` no new connections are taken,
/// requests in flight finish (bounded), then it returns.
pub async fn serve(config: ServerConfig, out: &mut dyn std::io::Write) -> Result<(), StartError> {
    let listen = config.listen;
    // Checked before anything is opened: a receiver without its secret
    // would sign nothing, so the service does not start at all.
    let receivers =
        webhooks::Receivers::from_config(&config.webhooks).map_err(StartError::Webhook)?;
    webhooks::check_lease(&config.webhooks, config.store.url.is_some())
        .map_err(StartError::Webhook)?;
    let drain = std::time::Duration::from_millis(config.drain_ms);
    // Past the drain, requests in flight get their own bound and a second
    // more; a connection still open then (a client that stopped reading)
    // does not hold the process.
    let finish =
        std::time::Duration::from_millis(config.limits.request_timeout_ms.saturating_add(1_000));
    let (gate, token) = open(config).await?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| StartError::Listen(format!("{listen}: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| StartError::Listen(e.to_string()))?;
    let hangup = reload::Hangup::install();
    // SIGTERM and SIGINT are taken over before the address is announced: a
    // supervisor that stops the service right after it said "listening"
    // gets the drain, not the default action (killed, exit by signal).
    let stop = Stop::install();
    let _ = writeln!(out, "gatehouse serve: listening on http://{addr}");
    let _ = writeln!(
        out,
        "policy {} (digest {})",
        gate.policy().policy.name(),
        gate.policy().policy.digest()
    );
    if gate.config.console.enabled {
        if console::dev_mode(&gate) {
            let _ = writeln!(
                out,
                "review console: http://{addr}/console/ (development sign-in ON: anyone who \
                 reaches this port, also through a reverse proxy on this machine, can sign in \
                 as any approver; see docs/console.md)"
            );
        } else {
            let _ = writeln!(out, "review console: http://{addr}/console/");
        }
    }
    if let Some(token) = token {
        let _ = writeln!(
            out,
            "development admin token (shown once, keep it): {token}"
        );
    }
    let _ = out.flush();
    tracing::info!(%addr, "listening");
    let sweeper = tokio::spawn(sweeper::run(gate.clone()));
    // Changes committed by other replicas wake this one's waiters.
    let feed = tokio::spawn(gate::follow_feed(gate.clone()));
    let reloader = tokio::spawn(reload::run(gate.clone(), hangup));
    let deliverer = tokio::spawn(webhooks::run(gate.clone(), receivers));
    let app = api::router(gate.clone());
    let signalled = gate.clone();
    let signals = tokio::spawn(async move {
        stop.wait().await;
        // From here /ready answers 503 and long-polls answer and end.
        signalled.begin_draining();
        tracing::info!(
            drain_ms = drain.as_millis() as u64,
            "shutting down: draining"
        );
    });
    let closing = gate.clone();
    let bounds = connections::Bounds {
        max_connections: gate.config.limits.max_connections,
        header_read_timeout: std::time::Duration::from_millis(
            gate.config.limits.header_read_timeout_ms.max(1),
        ),
    };
    let served = connections::serve(listener, app, bounds, async move {
        closing.until_draining().await;
        tokio::time::sleep(drain).await;
        tracing::info!("shutting down: no new connections; finishing requests in flight");
    });
    let bounded = gate.clone();
    tokio::select! {
        () = served => {},
        () = async move {
            bounded.until_draining().await;
            tokio::time::sleep(drain + finish).await;
        } => {
            tracing::warn!("shutting down: connections still open after the bound; closing them");
        }
    };
    // The sweeper stops between transactions or inside one; a transaction
    // cut short never committed, so nobody was answered for it, and the
    // next start's first sweep catches up on what is due.
    sweeper.abort();
    feed.abort();
    reloader.abort();
    // Attempts in flight are dropped; their rows stay due and are sent
    // again at the next start (at-least-once).
    deliverer.abort();
    signals.abort();
    tracing::info!("stopped");
    Ok(())
}

/// The stop signals, registered when made (a signal that arrives before
/// the first `wait` is kept, not lost to the default action).
struct Stop {
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    int: Option<tokio::signal::unix::Signal>,
}

impl Stop {
    fn install() -> Stop {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Stop {
                term: signal(SignalKind::terminate()).ok(),
                int: signal(SignalKind::interrupt()).ok(),
            }
        }
        #[cfg(not(unix))]
        Stop {}
    }

    /// Waits for SIGTERM or SIGINT (Ctrl-C elsewhere).
    async fn wait(self) {
        #[cfg(unix)]
        {
            async fn one(s: Option<tokio::signal::unix::Signal>) {
                match s {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            }
            tokio::select! {
                () = one(self.term) => {},
                () = one(self.int) => {},
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(test)]
mod sample_key_file_tests {
    use super::read_sample_key_file;

    /// `serve --sample-key-file` on a FIFO must refuse at once, not block
    /// start until a writer comes; a directory or a device is refused too.
    #[cfg(unix)]
    #[test]
    fn refuses_what_is_not_a_regular_file_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        for path in [
            fifo.as_path(),
            dir.path(),
            std::path::Path::new("/dev/zero"),
        ] {
            let e = read_sample_key_file(path).unwrap_err().to_string();
            assert!(e.contains("not a regular file"), "{}: {e}", path.display());
        }
        let key = dir.path().join("key");
        for ok in ["\n", "\r\n", ""] {
            std::fs::write(&key, format!("{}{ok}", "ab".repeat(32))).unwrap();
            assert_eq!(read_sample_key_file(&key).unwrap(), [0xab; 32]);
        }
        // What `replay --sample-key-file` refuses, the service refuses too.
        for bad in [" {k}", "{k} ", "{k}\n\n", "\t{k}\n", "{k}\r"] {
            std::fs::write(&key, bad.replace("{k}", &"ab".repeat(32))).unwrap();
            let e = read_sample_key_file(&key).unwrap_err().to_string();
            assert!(e.contains("64 hex digits"), "{bad:?}: {e}");
        }
    }
}

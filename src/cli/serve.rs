//! `gatehouse serve`: the approval gate as an HTTP service
//! (crates/gatehouse-server; docs/service.md).

use std::path::PathBuf;

use clap::Args;

use super::{Io, exit};

/// Arguments of `gatehouse serve`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  gatehouse serve --policy policies/ai-agent-actions\n  gatehouse serve --config gatehouse-serve.toml\n  gatehouse serve -p policies/ai-agent-actions --database-url postgres://gatehouse@db/gatehouse --signing-key-file /run/secrets/gate-signing.key\n  GATEHOUSE_LISTEN=0.0.0.0:8080 gatehouse serve -p /etc/gatehouse/policies --data-dir /var/lib/gatehouse\n  gatehouse serve -p policies/ai-agent-actions --shadow-policy proposed/ai-agent-actions\n\nOn first start (no API key in the database yet) it prints a development admin token once; keep it, or make keys with POST /v1/admin/keys. State lives in <data-dir>/gatehouse.db (SQLite, WAL), or in PostgreSQL with --database-url (any number of replicas share it; docs/service-replicas.md). SIGHUP reloads the policy set (kept only when it checks clean); SIGTERM or Ctrl-C drains requests in flight and stops.\nPrecedence: flags, then environment variables, then the --config file, then defaults.\nExit codes: 0 stopped cleanly, 1 the database cannot be reached (the message names its host, never the password), 2 usage error, unreadable configuration, a policy (or shadow policy) that does not compile or an address that cannot be bound, 101 internal error."
)]
pub struct ServeArgs {
    /// A TOML configuration file (see docs/service-operations.md for every key).
    #[arg(long, value_name = "FILE", env = "GATEHOUSE_CONFIG")]
    pub config: Option<PathBuf>,
    /// A `.gate` file or a directory holding one policy set.
    #[arg(short, long, value_name = "PATH", env = "GATEHOUSE_POLICY")]
    pub policy: Option<PathBuf>,
    /// The address to listen on (`127.0.0.1:0` picks a free port).
    #[arg(long, value_name = "ADDR", env = "GATEHOUSE_LISTEN")]
    pub listen: Option<std::net::SocketAddr>,
    /// Where the SQLite database and the gate's signing key live.
    #[arg(long, value_name = "DIR", env = "GATEHOUSE_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// The database: a PostgreSQL URL (`postgres://user:password@host/db`)
    /// shared by every replica; unset, SQLite in the data directory. Its
    /// password is never printed (nor is the variable's value in --help).
    #[arg(
        long,
        value_name = "URL",
        env = "GATEHOUSE_DATABASE_URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,
    /// The gate's signing key (64 hex digits, mode 0600): give every replica
    /// the same file. Unset: SQLite keeps it in the data directory,
    /// PostgreSQL in the database.
    #[arg(long, value_name = "FILE", env = "GATEHOUSE_SIGNING_KEY_FILE")]
    pub signing_key_file: Option<PathBuf>,
    /// The sample key (64 hex digits, mode 0600) that keys which auto
    /// actions are sampled for review after the fact, so agents cannot
    /// predict it; give every replica the same file. Unset: the public draw.
    #[arg(long, value_name = "FILE", env = "GATEHOUSE_SAMPLE_KEY_FILE")]
    pub sample_key_file: Option<PathBuf>,
    /// A shadow (candidate) policy set (a `.gate` file or a directory):
    /// decided beside the enforced one on every new request, recorded,
    /// never enforced (docs/shadow.md).
    #[arg(long, value_name = "PATH", env = "GATEHOUSE_SHADOW_POLICY")]
    pub shadow_policy: Option<PathBuf>,
    /// The approvers directory (roles by identity, OIDC provider).
    #[arg(long, value_name = "FILE", env = "GATEHOUSE_TRUST")]
    pub trust: Option<PathBuf>,
    /// Log lines as text or JSON (one object per line), on stderr.
    #[arg(long, value_name = "FORMAT", env = "GATEHOUSE_LOG_FORMAT", default_value = "text", value_parser = ["text", "json"])]
    pub log_format: String,
}

/// The configuration the arguments describe: the file (if any), then
/// every flag or environment variable given.
pub fn config_of(args: &ServeArgs) -> Result<gatehouse_server::ServerConfig, String> {
    let mut config = match &args.config {
        Some(path) => {
            let text = crate::input::read_file_limited(path, 1024 * 1024)
                .map_err(|e| format!("cannot read the configuration `{}`: {e}", path.display()))?;
            gatehouse_server::ServerConfig::from_toml(&text)
                .map_err(|e| format!("invalid configuration `{}`: {e}", path.display()))?
        }
        None => gatehouse_server::ServerConfig::default(),
    };
    if let Some(p) = &args.policy {
        config.policy = p.clone();
    }
    if let Some(l) = args.listen {
        config.listen = l;
    }
    if let Some(d) = &args.data_dir {
        config.data_dir = d.clone();
    }
    if let Some(s) = &args.shadow_policy {
        config.shadow.policy = Some(s.clone());
    }
    if let Some(t) = &args.trust {
        config.trust = Some(t.clone());
    }
    if let Some(url) = &args.database_url {
        config.store.url = Some(url.clone());
    }
    if let Some(k) = &args.signing_key_file {
        config.signing_key_file = Some(k.clone());
    }
    if let Some(k) = &args.sample_key_file {
        config.autonomy.sample_key_file = Some(k.clone());
    }
    Ok(config)
}

pub(super) fn run(args: &ServeArgs, io: &mut Io<'_>) -> u8 {
    let config = match config_of(args) {
        Ok(c) => c,
        Err(e) => {
            let _ = writeln!(io.stderr, "error: {e}");
            return exit::USAGE;
        }
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("GATEHOUSE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    // A log line that cannot be written (the log reader went away: a
    // closed pipe) is dropped. With internal errors logged, the subscriber
    // reported the failure with `eprintln!`, which waits for the stderr
    // lock the main thread holds (a SIGTERM then hung the process) or
    // panics (exit 101 instead of a clean stop).
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .log_internal_errors(false);
    // The CLI's main thread holds the lock of `std::io::stderr()` for the
    // whole command (`io.stderr`), and the runtime's worker threads log:
    // through `std::io::stderr` they would wait for that lock forever (a
    // SIGTERM logged on a worker hung the process). Logs go to a duplicate
    // of the stderr descriptor instead, which takes no lock; each event is
    // formatted first and written with one `write`, so lines do not mix.
    // A second `serve` in one process (tests) keeps the first subscriber.
    let _ = match (log_writer(), args.log_format == "json") {
        (Some(file), true) => builder.with_writer(file).json().try_init(),
        (Some(file), false) => builder.with_writer(file).try_init(),
        (None, true) => builder.with_writer(std::io::stderr).json().try_init(),
        (None, false) => builder.with_writer(std::io::stderr).try_init(),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            let _ = writeln!(io.stderr, "error: cannot start the runtime: {e}");
            return exit::INTERNAL;
        }
    };
    match runtime.block_on(gatehouse_server::serve(config, io.stdout)) {
        Ok(()) => exit::OK,
        Err(e @ gatehouse_server::StartError::Database(_)) => {
            let _ = writeln!(io.stderr, "error: {e}");
            exit::DATABASE
        }
        Err(e) => {
            let _ = writeln!(io.stderr, "error: {e}");
            exit::USAGE
        }
    }
}

/// A duplicate of the stderr descriptor, for logs written from any thread
/// without `std::io::stderr`'s lock (see `run`).
#[cfg(unix)]
fn log_writer() -> Option<std::sync::Arc<std::fs::File>> {
    use std::os::fd::AsFd as _;
    let fd = std::io::stderr().as_fd().try_clone_to_owned().ok()?;
    Some(std::sync::Arc::new(std::fs::File::from(fd)))
}

/// Elsewhere logs go through `std::io::stderr`.
#[cfg(not(unix))]
fn log_writer() -> Option<std::sync::Arc<std::fs::File>> {
    None
}

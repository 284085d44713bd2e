//! `gatehouse migrate`: brings the service's database schema up to this
//! binary's version and says what it did (crates/gatehouse-server,
//! `store::migrate`; docs/service-replicas.md). `serve` migrates at start
//! too; this command lets a deploy migrate once, before new replicas start.

use std::path::PathBuf;

use clap::Args;

use super::{Io, exit};

/// Arguments of `gatehouse migrate`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  gatehouse migrate --database-url postgres://gatehouse@db:5432/gatehouse\n  GATEHOUSE_DATABASE_URL=postgres://gatehouse@db/gatehouse gatehouse migrate --format json\n  gatehouse migrate --config gatehouse-serve.toml\n  gatehouse migrate --data-dir /var/lib/gatehouse   # SQLite\n\nThe database is chosen as serve chooses it: --database-url (or GATEHOUSE_DATABASE_URL, or [store] url in --config) for PostgreSQL, else SQLite in --data-dir. Safe while replicas serve and from several places at once: migrations are applied one at a time under a lock, each in its own transaction. The URL's password is never printed.\nExit codes: 0 the schema is current (migrated or already was), 1 the database cannot be reached or refused a migration, 2 usage error or unreadable configuration."
)]
pub struct MigrateArgs {
    /// A TOML configuration file (the one serve reads; only its `data_dir` and `[store]` matter here).
    #[arg(long, value_name = "FILE", env = "GATEHOUSE_CONFIG")]
    pub config: Option<PathBuf>,
    /// The PostgreSQL database (`postgres://user:password@host/db`); unset, SQLite in the data directory.
    #[arg(
        long,
        value_name = "URL",
        env = "GATEHOUSE_DATABASE_URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,
    /// Where the SQLite database lives (when no database URL is given).
    #[arg(long, value_name = "DIR", env = "GATEHOUSE_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// The report as text or JSON (`{"store", "from", "to", "applied"}`).
    #[arg(long, value_name = "FORMAT", default_value = "text", value_parser = ["text", "json"])]
    pub format: String,
}

/// The configuration the arguments describe: the file (if any), then the
/// flags and environment variables given.
fn config_of(args: &MigrateArgs) -> Result<gatehouse_server::ServerConfig, String> {
    let mut config = match &args.config {
        Some(path) => {
            let text = crate::input::read_file_limited(path, 1024 * 1024)
                .map_err(|e| format!("cannot read the configuration `{}`: {e}", path.display()))?;
            gatehouse_server::ServerConfig::from_toml(&text)
                .map_err(|e| format!("invalid configuration `{}`: {e}", path.display()))?
        }
        None => gatehouse_server::ServerConfig::default(),
    };
    if let Some(d) = &args.data_dir {
        config.data_dir = d.clone();
    }
    if let Some(url) = &args.database_url {
        config.store.url = Some(url.clone());
    }
    Ok(config)
}

pub(super) fn run(args: &MigrateArgs, io: &mut Io<'_>) -> u8 {
    let config = match config_of(args) {
        Ok(c) => c,
        Err(e) => {
            let _ = writeln!(io.stderr, "error: {e}");
            return exit::USAGE;
        }
    };
    if let Some(url) = config.store.url.as_deref()
        && !(url.starts_with("postgres://") || url.starts_with("postgresql://"))
    {
        let _ = writeln!(
            io.stderr,
            "error: the database URL must start with `postgres://` or `postgresql://` (leave it unset for SQLite in the data directory)"
        );
        return exit::USAGE;
    }
    // A URL the driver refuses is a configuration error (exit 2), not a
    // database that cannot be reached (the message shows it redacted).
    if let Some(url) = config.store.url.as_deref()
        && let Err(e) = gatehouse_server::store::connect_options(url)
    {
        let _ = writeln!(io.stderr, "error: {}", e.detail);
        return exit::USAGE;
    }
    if config.store.url.is_none()
        && let Err(e) = std::fs::create_dir_all(&config.data_dir)
    {
        let _ = writeln!(
            io.stderr,
            "error: cannot create the data directory `{}`: {e}",
            config.data_dir.display()
        );
        return exit::USAGE;
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            let _ = writeln!(io.stderr, "error: cannot start the runtime: {e}");
            return exit::INTERNAL;
        }
    };
    let report = match runtime.block_on(gatehouse_server::store::migrate(&config)) {
        Ok(report) => report,
        Err(e) => {
            // The store's messages name the host and never the password.
            let _ = writeln!(io.stderr, "error: {}", e.detail);
            return exit::DATABASE;
        }
    };
    let written = if args.format == "json" {
        match serde_json::to_string(&report) {
            Ok(text) => writeln!(io.stdout, "{text}"),
            Err(e) => {
                let _ = writeln!(io.stderr, "error: {e}");
                return exit::INTERNAL;
            }
        }
    } else if report.applied.is_empty() {
        writeln!(
            io.stdout,
            "{}: schema version {}, already current",
            report.store, report.to
        )
    } else {
        writeln!(
            io.stdout,
            "{}: schema version {} -> {} (applied: {})",
            report.store,
            report.from,
            report.to,
            report.applied.join("; ")
        )
    };
    match written.and_then(|()| io.stdout.flush()) {
        Ok(()) => exit::OK,
        Err(_) => exit::INTERNAL,
    }
}

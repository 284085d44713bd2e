//! The service's configuration: a TOML file (`gatehouse serve --config`),
//! environment variables and flags, later ones winning (the CLI merges
//! them). Every field has a default, so `gatehouse serve --policy DIR` runs
//! with nothing else.
//!
//! ```toml
//! listen = "127.0.0.1:8080"
//! policy = "policies/ai-agent-actions"
//! data_dir = ".gatehouse"          # the SQLite file and the signing key
//! trust = "trust.toml"             # approvers directory (roles, OIDC)
//! # signing_key_file = "/run/secrets/gate-signing.key"  # 64 hex digits; shared by replicas
//!
//! sweep_interval_ms = 1000         # how often passed deadlines are applied
//! drain_ms = 1000                  # at SIGTERM: /ready 503 this long, then stop
//!
//! [store]
//! sync = "full"                    # or "normal": survives SIGKILL, not power loss
//! # url = "postgres://gatehouse:secret@db:5432/gatehouse"   # PostgreSQL, shared by replicas
//! max_connections = 16             # PostgreSQL: connections this replica holds
//! connect_timeout_ms = 3000        # PostgreSQL: then 503 STORE_UNAVAILABLE
//!
//! [limits]
//! body_bytes = 1048576
//! request_timeout_ms = 10000
//! rate_per_second = 200            # per API key or identity; 0 = no limit
//! rate_burst = 400
//! max_wait_seconds = 60            # long-poll and SSE
//! max_connections = 1024           # served at once; more wait in the backlog
//! header_read_timeout_ms = 30000   # a request head (or an idle keep-alive) closes after
//! max_waits_per_caller = 32        # long-polls and event streams held at once, per person
//!
//! [approvals]
//! valid_for_seconds = 86400        # an approval's own validity
//!
//! [autonomy]
//! # sample_key_file = "/run/secrets/gate-sample.key"  # 64 hex digits; same on every replica
//!
//! [console]                      # the review console (see console/config.rs)
//! dev_signin = "auto"              # on for loopback without OIDC; "on" | "off"
//! session_ttl_seconds = 43200
//!
//! [shadow]                       # a candidate policy set, never enforced (docs/shadow.md)
//! # policy = "proposed/ai-agent-actions"
//!
//! [[webhook]]
//! url = "https://chat.example.com/hooks/gatehouse"
//! secret_env = "GATEHOUSE_WEBHOOK_SECRET"
//! events = ["pending", "approved"]   # states entered; empty = all
//! max_attempts = 10                  # then given up (logged, counted)
//! retry_base_ms = 1000               # doubles per attempt, with jitter
//! retry_max_ms = 600000
//! timeout_ms = 10000                 # per attempt
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

/// Everything `gatehouse serve` runs with.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// The address to listen on (`127.0.0.1:0` picks a free port).
    pub listen: SocketAddr,
    /// The policy set: a `.gate` file or a directory.
    pub policy: PathBuf,
    /// Where the SQLite database and the service's signing key live.
    pub data_dir: PathBuf,
    /// The approvers directory (roles by identity, OIDC); without one, an
    /// API key's roles are the ones its admin gave it.
    pub trust: Option<PathBuf>,
    /// The gate's signing key (64 hex digits, an Ed25519 seed), read from
    /// this file when set (also `GATEHOUSE_SIGNING_KEY_FILE` and
    /// `--signing-key-file`). Unset: SQLite keeps it in `data_dir`;
    /// PostgreSQL keeps the one every replica shares in the database.
    pub signing_key_file: Option<PathBuf>,
    /// The database.
    pub store: StoreConfig,
    /// Bounds on every request.
    pub limits: Limits,
    /// Approvals.
    pub approvals: ApprovalConfig,
    /// Where transitions are announced.
    #[serde(rename = "webhook")]
    pub webhooks: Vec<WebhookConfig>,
    /// How often the policy directory is checked for changes (0: only on
    /// SIGHUP or `POST /v1/admin/reload`).
    pub reload_interval_ms: u64,
    /// How often the sweeper looks for passed deadlines.
    pub sweep_interval_ms: u64,
    /// The most webhook attempts in flight at once (all receivers).
    pub webhook_concurrency: usize,
    /// At shutdown (SIGTERM, Ctrl-C): how long `/ready` answers 503 while
    /// the listener still accepts, so a load balancer stops sending new
    /// requests before connections are refused. Then requests in flight
    /// finish (bounded by `limits.request_timeout_ms`) and the process
    /// exits.
    pub drain_ms: u64,
    /// The review console (`/console`).
    pub console: crate::console::ConsoleConfig,
    /// Progressive autonomy (sampled review after the fact).
    pub autonomy: AutonomyConfig,
    /// The shadow (candidate) policy set (docs/shadow.md).
    pub shadow: ShadowConfig,
}

/// `[shadow]`: a candidate policy set decided beside the enforced one,
/// recorded and never enforced (also `serve --shadow-policy`).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ShadowConfig {
    /// A `.gate` file or a directory holding one policy set; unset: no
    /// shadow.
    pub policy: Option<PathBuf>,
}

impl Default for ServerConfig {
    fn default() -> ServerConfig {
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            policy: PathBuf::from("."),
            data_dir: PathBuf::from(".gatehouse"),
            trust: None,
            signing_key_file: None,
            store: StoreConfig::default(),
            limits: Limits::default(),
            approvals: ApprovalConfig::default(),
            webhooks: Vec::new(),
            reload_interval_ms: 2_000,
            sweep_interval_ms: 1_000,
            webhook_concurrency: 8,
            drain_ms: 1_000,
            console: crate::console::ConsoleConfig::default(),
            autonomy: AutonomyConfig::default(),
            shadow: ShadowConfig::default(),
        }
    }
}

impl ServerConfig {
    /// Reads a configuration file (TOML); unknown keys are errors, and so
    /// are bounds the service cannot run with ([`Limits::check`]).
    pub fn from_toml(text: &str) -> Result<ServerConfig, String> {
        let config: ServerConfig = toml::from_str(text).map_err(|e| e.to_string())?;
        config.limits.check()?;
        config.console.check()?;
        Ok(config)
    }
}

/// The longest `max_wait_seconds` taken: a day. A wait's deadline is
/// `now + max_wait_seconds`; a value near `u64::MAX` overflowed it and
/// every event stream and long-poll without `timeout` panicked.
pub const MAX_WAIT_SECONDS_CAP: u64 = 24 * 3600;

/// The database.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// `full` (every commit reaches the disk before the answer) or
    /// `normal` (survives the process being killed, not the machine).
    /// SQLite only: PostgreSQL's durability is the server's own setting.
    pub sync: SyncMode,
    /// The database: unset for SQLite in `data_dir`, or a PostgreSQL URL
    /// (`postgres://user:password@host:5432/gatehouse`), which any number
    /// of replicas share. Also `GATEHOUSE_DATABASE_URL` and
    /// `--database-url`. Never logged with its password.
    pub url: Option<String>,
    /// PostgreSQL: the most connections this replica holds open.
    pub max_connections: u32,
    /// PostgreSQL: how long a request waits for a connection (or the
    /// database to answer a connect) before it is refused with 503
    /// `STORE_UNAVAILABLE`.
    pub connect_timeout_ms: u64,
}

impl Default for StoreConfig {
    fn default() -> StoreConfig {
        StoreConfig {
            sync: SyncMode::Full,
            url: None,
            max_connections: 16,
            connect_timeout_ms: 3_000,
        }
    }
}

/// How far a commit goes before the answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SyncMode {
    /// fsync on every commit.
    Full,
    /// The write-ahead log is synced at checkpoints only.
    Normal,
}

/// Bounds on every request.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// The largest request body, in bytes (413 above).
    pub body_bytes: usize,
    /// The longest a request may take, long-polls excepted (503 after).
    pub request_timeout_ms: u64,
    /// Requests per second per caller (429 above); 0 turns limiting off.
    pub rate_per_second: u32,
    /// How many requests a caller may send at once above the rate.
    pub rate_burst: u32,
    /// The longest a long-poll or an event stream waits.
    pub max_wait_seconds: u64,
    /// The most actions in one batch decision.
    pub batch_size: usize,
    /// The most requests a list returns.
    pub list_limit: u32,
    /// The most HTTP connections served at once; more wait in the
    /// kernel's backlog (see connections.rs).
    pub max_connections: usize,
    /// The longest a request's head (request line and headers) may take to
    /// arrive, idle keep-alive time included; the connection is closed
    /// after it (a slow or silent client cannot hold it).
    pub header_read_timeout_ms: u64,
    /// The most long-polls and event streams one person holds at once
    /// (429 `TOO_MANY_WAITS` above; see waits.rs).
    pub max_waits_per_caller: usize,
}

impl Limits {
    /// Refuses bounds the service cannot honour, naming the key: a
    /// `list_limit` of 0 (every list with `limit` panicked), a
    /// `max_wait_seconds` above [`MAX_WAIT_SECONDS_CAP`], a
    /// `max_connections` or `max_waits_per_caller` of 0 (nothing would be
    /// served).
    pub fn check(&self) -> Result<(), String> {
        if self.list_limit == 0 {
            return Err("[limits] list_limit must be at least 1".into());
        }
        if self.max_wait_seconds > MAX_WAIT_SECONDS_CAP {
            return Err(format!(
                "[limits] max_wait_seconds must be at most {MAX_WAIT_SECONDS_CAP} (a day)"
            ));
        }
        if self.max_connections == 0 {
            return Err("[limits] max_connections must be at least 1".into());
        }
        if self.max_waits_per_caller == 0 {
            return Err("[limits] max_waits_per_caller must be at least 1".into());
        }
        Ok(())
    }
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            body_bytes: 1024 * 1024,
            request_timeout_ms: 10_000,
            rate_per_second: 0,
            rate_burst: 0,
            max_wait_seconds: 60,
            batch_size: 1_000,
            list_limit: 500,
            max_connections: 1024,
            header_read_timeout_ms: 30_000,
            max_waits_per_caller: 32,
        }
    }
}

/// Approvals.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApprovalConfig {
    /// How long an approval counts after it is given.
    pub valid_for_seconds: i64,
}

impl Default for ApprovalConfig {
    fn default() -> ApprovalConfig {
        ApprovalConfig {
            valid_for_seconds: 24 * 3600,
        }
    }
}

/// One webhook receiver.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Where payloads are POSTed (`http` or `https`).
    pub url: String,
    /// The environment variable holding the HMAC secret (never the secret
    /// itself in the file). Required: the service refuses to start when
    /// it is missing, unset or empty.
    pub secret_env: Option<String>,
    /// The states whose entry is announced; empty announces every one.
    #[serde(default)]
    pub events: Vec<String>,
    /// The most attempts per delivery before it is given up.
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// The first retry's delay; each later one doubles, up to
    /// `retry_max_ms`, with random jitter (50-100% of the delay).
    #[serde(default = "default_retry_base_ms")]
    pub retry_base_ms: u64,
    /// The longest delay between attempts.
    #[serde(default = "default_retry_max_ms")]
    pub retry_max_ms: u64,
    /// How long one attempt may take (connect, send, answer) before it
    /// counts as failed.
    #[serde(default = "default_webhook_timeout_ms")]
    pub timeout_ms: u64,
}

impl WebhookConfig {
    /// Whether this receiver announces entering `state`.
    pub fn wants(&self, state: &str) -> bool {
        self.events.is_empty() || self.events.iter().any(|e| e == state)
    }
}

fn default_max_attempts() -> u32 {
    10
}

fn default_retry_base_ms() -> u64 {
    1_000
}

fn default_retry_max_ms() -> u64 {
    600_000
}

fn default_webhook_timeout_ms() -> u64 {
    10_000
}

/// Progressive autonomy: `[autonomy]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AutonomyConfig {
    /// The sample key (64 hex digits, 32 bytes): which `auto` actions are
    /// sampled for review after the fact is drawn with it, so an agent
    /// cannot tell in advance which of its actions a person will look at.
    /// Also `GATEHOUSE_SAMPLE_KEY_FILE` and `--sample-key-file`. Unset: the
    /// public draw (anyone with the policy and the action can compute it).
    /// Every replica must read the same key.
    pub sample_key_file: Option<PathBuf>,
}

//! The store the service suite runs on, and a way into a server's
//! database behind its back.
//!
//! `GATEHOUSE_TEST_STORE` chooses: unset or `sqlite` runs every server on
//! SQLite in its own data directory; `postgres` runs every server on a
//! fresh PostgreSQL database (`gh_suite_<random>`), created on the server
//! `GATEHOUSE_TEST_DATABASE_URL` names and dropped when the test's
//! [`Server`](super::Server) is. `./scripts/test` runs the suite both ways.

use std::path::Path;
use std::sync::OnceLock;

use sqlx::{Connection as _, Row as _};

/// Which database the servers of this run use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreKind {
    /// SQLite, one file per server's data directory (the default).
    Sqlite,
    /// PostgreSQL, one fresh database per server.
    Postgres,
}

/// The store this run uses (`GATEHOUSE_TEST_STORE`); an unknown value
/// fails every test rather than silently running on SQLite.
pub fn kind() -> StoreKind {
    static KIND: OnceLock<Result<StoreKind, String>> = OnceLock::new();
    let kind = KIND.get_or_init(|| match std::env::var("GATEHOUSE_TEST_STORE").as_deref() {
        Err(_) | Ok("") | Ok("sqlite") => Ok(StoreKind::Sqlite),
        Ok("postgres") => Ok(StoreKind::Postgres),
        Ok(other) => Err(format!(
            "GATEHOUSE_TEST_STORE=`{other}`: use `sqlite` (the default) or `postgres`"
        )),
    });
    match kind {
        Ok(kind) => *kind,
        Err(message) => panic!("{message}"),
    }
}

/// Whether this run is on PostgreSQL.
pub fn on_postgres() -> bool {
    kind() == StoreKind::Postgres
}

/// The URL of the PostgreSQL server the tests create their databases on.
/// Unset, the run fails and says how to run it (never a silent skip).
fn server_url() -> String {
    if std::env::var("GATEHOUSE_TEST_POSTGRES").as_deref() == Ok("off") {
        panic!(
            "GATEHOUSE_TEST_STORE=postgres asks for the suite on PostgreSQL, \
             but GATEHOUSE_TEST_POSTGRES=off turns PostgreSQL off: unset one of them"
        );
    }
    match std::env::var("GATEHOUSE_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => panic!(
            "GATEHOUSE_TEST_STORE=postgres runs the suite on PostgreSQL and needs a server: \
             run ./scripts/test (it starts one with scripts/postgres.sh), or start one with \
             `eval \"$(scripts/postgres.sh env)\"`, or set GATEHOUSE_TEST_DATABASE_URL to the URL \
             of a database the tests may run CREATE DATABASE from"
        ),
    }
}

/// A URL with its password replaced by `***`, for messages (a test's
/// failure output must not carry a secret either).
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((user_info, host)) if user_info.contains(':') => {
            let user = user_info.split(':').next().unwrap_or("");
            format!("{scheme}://{user}:***@{host}{tail}")
        }
        _ => url.to_owned(),
    }
}

/// `url` with its database (the path) replaced by `name`; the query
/// (`?sslmode=...`) is kept.
fn with_database(url: &str, name: &str) -> String {
    let (scheme, rest) = url
        .split_once("://")
        .unwrap_or_else(|| panic!("not a URL: {}", redact(url)));
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let query = tail.find('?').map_or("", |at| &tail[at..]);
    format!("{scheme}://{authority}/{name}{query}")
}

/// Runs `work` on a runtime of its own (the tests are synchronous).
fn block_on<T>(work: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(work)
}

/// One PostgreSQL database a server runs on.
pub struct Database {
    /// Its URL (the server's `--database-url`).
    pub url: String,
    /// Its name, when this value made it and drops it.
    owned: Option<String>,
}

impl Database {
    /// A fresh, empty database with a unique name.
    pub fn create() -> Database {
        use rand_core::RngCore as _;
        let admin = server_url();
        let name = format!("gh_suite_{:016x}", rand_core::OsRng.next_u64());
        block_on(async {
            let mut conn = sqlx::PgConnection::connect(&admin)
                .await
                .unwrap_or_else(|e| {
                    panic!(
                        "cannot reach GATEHOUSE_TEST_DATABASE_URL ({}): {e}",
                        redact(&admin)
                    )
                });
            // The name is ours ([0-9a-f_] only): quoting it is enough.
            sqlx::query(&format!("CREATE DATABASE \"{name}\""))
                .execute(&mut conn)
                .await
                .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
            let _ = conn.close().await;
        });
        Database {
            url: with_database(&admin, &name),
            owned: Some(name),
        }
    }

    /// A database another server made (and drops).
    pub fn borrowed(url: &str) -> Database {
        Database {
            url: url.to_owned(),
            owned: None,
        }
    }
}

impl Drop for Database {
    /// Best effort: a database left behind (the test runner killed) has a
    /// `gh_suite_` name, so it is easy to find and drop by hand.
    fn drop(&mut self) {
        let Some(name) = self.owned.take() else {
            return;
        };
        let admin = server_url();
        block_on(async {
            let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await else {
                eprintln!("could not drop the test database {name}: the server is away");
                return;
            };
            // FORCE: a replica's pooled connections may outlive its
            // process for a moment on the server's side.
            if let Err(e) = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .execute(&mut conn)
                .await
            {
                eprintln!("could not drop the test database {name}: {e}");
            }
            let _ = conn.close().await;
        });
    }
}

/// A connection to a server's database, opened as someone holding the
/// file (SQLite) or the credentials (PostgreSQL) could: the tests edit
/// rows with it to prove the gate notices, or hold locks to stall it.
pub struct Sql {
    runtime: tokio::runtime::Runtime,
    conn: Conn,
}

enum Conn {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

impl Sql {
    /// Opens the SQLite file.
    pub fn sqlite(file: &Path) -> Sql {
        let runtime = runtime();
        let options = sqlx::sqlite::SqliteConnectOptions::new().filename(file);
        let conn = runtime
            .block_on(sqlx::SqliteConnection::connect_with(&options))
            .unwrap_or_else(|e| panic!("open {}: {e}", file.display()));
        Sql {
            runtime,
            conn: Conn::Sqlite(conn),
        }
    }

    /// Connects to the PostgreSQL database.
    pub fn postgres(url: &str) -> Sql {
        let runtime = runtime();
        let conn = runtime
            .block_on(sqlx::PgConnection::connect(url))
            .unwrap_or_else(|e| panic!("connect to {}: {e}", redact(url)));
        Sql {
            runtime,
            conn: Conn::Postgres(conn),
        }
    }

    /// Whether this is PostgreSQL (for the statements whose dialects
    /// differ, such as the current time).
    pub fn is_postgres(&self) -> bool {
        matches!(self.conn, Conn::Postgres(_))
    }

    /// Runs one statement; the number of rows it changed.
    pub fn execute(&mut self, statement: &str) -> u64 {
        let done = match &mut self.conn {
            Conn::Sqlite(c) => self
                .runtime
                .block_on(sqlx::query(statement).execute(c))
                .map(|d| d.rows_affected()),
            Conn::Postgres(c) => self
                .runtime
                .block_on(sqlx::query(statement).execute(c))
                .map(|d| d.rows_affected()),
        };
        done.unwrap_or_else(|e| panic!("{statement}: {e}"))
    }

    /// Runs one query; the first column of its first row, as an integer
    /// (PostgreSQL's `integer` or `bigint`).
    pub fn i64(&mut self, statement: &str) -> i64 {
        let value = match &mut self.conn {
            Conn::Sqlite(c) => self
                .runtime
                .block_on(sqlx::query(statement).fetch_one(c))
                .and_then(|row| row.try_get::<i64, _>(0)),
            Conn::Postgres(c) => self
                .runtime
                .block_on(sqlx::query(statement).fetch_one(c))
                .and_then(|row| {
                    row.try_get::<i64, _>(0)
                        .or_else(|_| row.try_get::<i32, _>(0).map(i64::from))
                }),
        };
        value.unwrap_or_else(|e| panic!("{statement}: {e}"))
    }

    /// Closes the connection (dropping it closes it too; this waits for
    /// the goodbye, so a lock it held is released when this returns).
    pub fn close(self) {
        let Sql { runtime, conn } = self;
        let _ = match conn {
            Conn::Sqlite(c) => runtime.block_on(c.close()),
            Conn::Postgres(c) => runtime.block_on(c.close()),
        };
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
}

#[test]
fn a_password_never_reaches_a_message() {
    assert_eq!(
        redact("postgres://gate:s3cret@db:5432/gatehouse?sslmode=require"),
        "postgres://gate:***@db:5432/gatehouse?sslmode=require"
    );
    assert_eq!(
        redact("postgres://postgres@127.0.0.1:5432/postgres"),
        "postgres://postgres@127.0.0.1:5432/postgres"
    );
    assert_eq!(
        with_database("postgres://u:p@h:1/postgres?sslmode=disable", "gh_suite_1"),
        "postgres://u:p@h:1/gh_suite_1?sslmode=disable"
    );
    assert_eq!(with_database("postgres://h", "d"), "postgres://h/d");
}

/// The switch is real: on PostgreSQL the server's state is in its own
/// database (and no SQLite file is made), on SQLite in the file; the same
/// query through [`Sql`] sees the key the server just stored either way.
#[test]
fn every_server_runs_on_the_store_the_run_asks_for() {
    let server = super::Server::start();
    server.key("store-probe", &["read"], &[]);
    let file = server.data_dir().join("gatehouse.db");
    let mut db = server.sql();
    assert_eq!(db.is_postgres(), on_postgres());
    assert_eq!(
        file.exists(),
        !on_postgres(),
        "the SQLite file exists only on SQLite: {}",
        file.display()
    );
    assert_eq!(
        db.i64("SELECT COUNT(*) FROM api_keys WHERE identity = 'store-probe'"),
        1,
        "the key is in this server's own database"
    );
    db.close();
    if let Some(url) = server.database_url() {
        assert!(
            url.contains("/gh_suite_"),
            "a fresh database: {}",
            redact(url)
        );
    }
}

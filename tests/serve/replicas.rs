//! Several `gatehouse serve` processes on one PostgreSQL database
//! (docs/service-replicas.md): a decision made on one replica wakes the
//! waiters on another, a key revoked on one is refused on the others, an
//! idempotency key holds across them, two claims on two replicas grant
//! one, every replica signs with one key; and a database that goes away
//! while they serve is answered with 503 and recovered from by itself.
//!
//! Tests that need PostgreSQL read `GATEHOUSE_TEST_DATABASE_URL` (a URL
//! the test may `CREATE DATABASE` with; each test makes its own database
//! and drops it). Unset, they fail saying how to run them, unless
//! `GATEHOUSE_TEST_POSTGRES=off`, which makes them print that they did not
//! run and pass.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value as Json, json};

use crate::harness::{example, shipped_policy};

/// Databases made by these tests start with this (several people's tests
/// share one server; each name is unique and dropped at the end).
const PREFIX: &str = "gh_rep_";

/// The shared server's URL, or `None` (after saying so) when PostgreSQL
/// tests are turned off. Unset without `off`: the test fails and says how
/// to run it.
fn server_url(test: &str) -> Option<String> {
    match std::env::var("GATEHOUSE_TEST_DATABASE_URL") {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ if std::env::var("GATEHOUSE_TEST_POSTGRES").as_deref() == Ok("off") => {
            eprintln!("{test}: did not run (GATEHOUSE_TEST_POSTGRES=off; it needs PostgreSQL)");
            None
        }
        _ => panic!(
            "{test} needs PostgreSQL: run ./scripts/test (it starts one), or set \
             GATEHOUSE_TEST_DATABASE_URL=postgres://user@host:port/postgres (a role that may \
             CREATE DATABASE); GATEHOUSE_TEST_POSTGRES=off skips it"
        ),
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
}

/// `url` with its database name replaced.
fn with_database(url: &str, name: &str) -> String {
    let mut parsed = reqwest::Url::parse(url).expect("GATEHOUSE_TEST_DATABASE_URL is a URL");
    parsed.set_path(&format!("/{name}"));
    parsed.to_string()
}

/// A fresh database on the shared server, dropped (with its connections)
/// when this is dropped.
struct Database {
    server: String,
    name: String,
    url: String,
}

impl Database {
    fn create(server: &str) -> Database {
        use sqlx::Connection as _;
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("{PREFIX}{}_{n}_{nanos}", std::process::id());
        runtime().block_on(async {
            let mut conn = sqlx::PgConnection::connect(server)
                .await
                .expect("GATEHOUSE_TEST_DATABASE_URL answers");
            sqlx::query(&format!("CREATE DATABASE \"{name}\""))
                .execute(&mut conn)
                .await
                .expect("CREATE DATABASE");
        });
        Database {
            server: server.to_owned(),
            url: with_database(server, &name),
            name,
        }
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        use sqlx::Connection as _;
        let (server, name) = (self.server.clone(), self.name.clone());
        runtime().block_on(async move {
            if let Ok(mut conn) = sqlx::PgConnection::connect(&server).await {
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .execute(&mut conn)
                    .await;
            }
        });
    }
}

/// One `gatehouse serve` process (killed when dropped).
struct Replica {
    child: Child,
    base: String,
    /// The admin token, when this replica was the first on its database.
    admin: Option<String>,
    stderr: Arc<Mutex<String>>,
    _dir: tempfile::TempDir,
}

impl Replica {
    /// Starts a replica on `url` (`None`: SQLite in its own data
    /// directory), with extra flags; `first`: the database is new, so it
    /// prints the admin token.
    fn start(url: Option<&str>, args: &[&str], config: Option<&str>, first: bool) -> Replica {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_gatehouse"));
        cmd.arg("serve")
            .arg("--policy")
            .arg(shipped_policy())
            .args(["--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path().join("data"))
            .args(args)
            .env_remove("GATEHOUSE_CONFIG")
            .env_remove("GATEHOUSE_TRUST")
            .env_remove("GATEHOUSE_DATABASE_URL")
            .env_remove("GATEHOUSE_SIGNING_KEY_FILE")
            .env("GATEHOUSE_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(url) = url {
            cmd.arg("--database-url").arg(url);
        }
        if let Some(config) = config {
            let path = dir.path().join("serve.toml");
            std::fs::write(&path, config).expect("write the configuration");
            cmd.arg("--config").arg(path);
        }
        let mut child = cmd.spawn().expect("start gatehouse serve");
        let stderr: Arc<Mutex<String>> = Arc::default();
        let log = stderr.clone();
        let err = child.stderr.take().expect("stderr");
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                let mut log = log.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let (tx, rx) = std::sync::mpsc::channel();
        let out = child.stdout.take().expect("stdout");
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let (mut base, mut admin) = (String::new(), None);
        loop {
            let Ok(line) = rx.recv_timeout(Duration::from_secs(60)) else {
                panic!(
                    "the replica did not start; stderr:\n{}",
                    stderr.lock().unwrap()
                );
            };
            if let Some(addr) = line.strip_prefix("gatehouse serve: listening on ") {
                base = addr.trim().to_owned();
            } else if let Some(t) =
                line.strip_prefix("development admin token (shown once, keep it): ")
            {
                admin = Some(t.trim().to_owned());
                break;
            } else if line.starts_with("policy ") && !first {
                break;
            }
        }
        Replica {
            child,
            base,
            admin,
            stderr,
            _dir: dir,
        }
    }

    fn admin(&self) -> &str {
        self.admin
            .as_deref()
            .expect("the first replica prints the admin token")
    }

    /// A call as `token` (empty: none).
    fn call(&self, token: &str, method: &str, path: &str, body: Option<&Json>) -> Answer {
        self.call_with(token, method, path, body, &[])
    }

    fn call_with(
        &self,
        token: &str,
        method: &str,
        path: &str,
        body: Option<&Json>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("a method");
        let mut r = http().request(method, format!("{}{path}", self.base));
        if !token.is_empty() {
            r = r.bearer_auth(token);
        }
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        if let Some(body) = body {
            r = r
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let response = r.send().expect("the replica answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().expect("a body");
        let json = serde_json::from_str(&text).unwrap_or(Json::Null);
        Answer {
            status,
            headers,
            text,
            json,
        }
    }

    /// A new API key: `(text, id)`.
    fn key(
        &self,
        admin: &str,
        identity: &str,
        scopes: &[&str],
        roles: &[&str],
    ) -> (String, String) {
        let a = self.call(
            admin,
            "POST",
            "/v1/admin/keys",
            Some(&json!({"identity": identity, "scopes": scopes, "roles": roles})),
        );
        assert_eq!(a.status, 201, "{}", a.text);
        (
            a.json["key"].as_str().expect("key").to_owned(),
            a.json["id"].as_str().expect("id").to_owned(),
        )
    }

    fn log(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    text: String,
    json: Json,
}

fn http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .expect("a client")
}

/// Two replicas on one fresh database, with an agent and an approver.
struct Pair {
    a: Replica,
    b: Replica,
    admin: String,
    agent: String,
    lead: String,
    _db: Database,
}

fn pair(db: Database) -> Pair {
    let a = Replica::start(Some(&db.url), &[], None, true);
    let b = Replica::start(Some(&db.url), &[], None, false);
    let admin = a.admin().to_owned();
    let (agent, _) = a.key(&admin, "agent-refunds", &["request", "execute"], &[]);
    let (lead, _) = a.key(&admin, "alice", &["approve"], &["support_lead"]);
    Pair {
        a,
        b,
        admin,
        agent,
        lead,
        _db: db,
    }
}

fn pending(replica: &Replica, agent: &str) -> String {
    let a = replica.call(
        agent,
        "POST",
        "/v1/requests",
        Some(&example("refund-small.json")),
    );
    assert_eq!(a.status, 201, "{}", a.text);
    assert_eq!(a.json["state"], "pending");
    a.json["id"].as_str().expect("id").to_owned()
}

fn approve(replica: &Replica, lead: &str, id: &str) -> Answer {
    replica.call(
        lead,
        "POST",
        &format!("/v1/requests/{id}/decisions"),
        Some(&json!({"decision": "approve", "reason": "order checked"})),
    )
}

#[test]
fn an_event_stream_on_one_replica_sees_a_decision_made_on_another() {
    let Some(server) = server_url("an_event_stream_on_one_replica_sees_a_decision_made_on_another")
    else {
        return;
    };
    let p = pair(Database::create(&server));
    let id = pending(&p.a, &p.agent);
    let response = http()
        .get(format!("{}/v1/requests/{id}/events", p.b.base))
        .bearer_auth(&p.agent)
        .send()
        .expect("the stream opens");
    assert_eq!(response.status().as_u16(), 200);
    let mut states = BufReader::new(response)
        .lines()
        .map_while(Result::ok)
        .filter_map(|line| {
            let data = line.strip_prefix("data:")?;
            let row: Json = serde_json::from_str(data.trim()).ok()?;
            Some(row["state"].as_str()?.to_owned())
        });
    // The first event is sent after the stream subscribed to changes, so
    // from here every change reaches it (or none: the stream then ends at
    // the 60 s wait cap with no second event, and the test fails).
    assert_eq!(states.next().as_deref(), Some("pending"));
    let approved = approve(&p.a, &p.lead, &id);
    assert_eq!(approved.status, 200, "{}", approved.text);
    assert_eq!(
        states.next().as_deref(),
        Some("approved"),
        "replica B's stream never heard of A's approval; B's log:\n{}",
        p.b.log()
    );
}

#[test]
fn a_long_poll_on_one_replica_wakes_for_a_decision_made_on_another() {
    let Some(server) =
        server_url("a_long_poll_on_one_replica_wakes_for_a_decision_made_on_another")
    else {
        return;
    };
    let p = Arc::new(pair(Database::create(&server)));
    let id = pending(&p.a, &p.agent);
    let version =
        p.a.call(&p.agent, "GET", &format!("/v1/requests/{id}"), None)
            .json["version"]
            .as_i64()
            .expect("a version");
    let approver = {
        let (p, id) = (p.clone(), id.clone());
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(700));
            let a = approve(&p.a, &p.lead, &id);
            assert_eq!(a.status, 200, "{}", a.text);
        })
    };
    // The wait's cap (60 s) is far above the pause: only a wake-up by the
    // note from A's commit answers `changed: true` with `approved`.
    let a = p.b.call(
        &p.agent,
        "GET",
        &format!("/v1/requests/{id}/wait?timeout=60&since_version={version}"),
        None,
    );
    approver.join().expect("the approver");
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.json["changed"], true, "{}", a.text);
    assert_eq!(a.json["state"], "approved", "{}", a.text);
}

#[test]
fn a_key_revoked_on_one_replica_is_refused_on_the_other() {
    let Some(server) = server_url("a_key_revoked_on_one_replica_is_refused_on_the_other") else {
        return;
    };
    let p = pair(Database::create(&server));
    let (key, key_id) = p.a.key(&p.admin, "agent-two", &["request"], &[]);
    // B authenticates the key once: it is now in B's key cache, which
    // (before the feed) nothing on B would ever empty.
    assert_eq!(
        p.b.call(&key, "GET", "/v1/requests?limit=1", None).status,
        200
    );
    let revoked = p.a.call(
        &p.admin,
        "DELETE",
        &format!("/v1/admin/keys/{key_id}"),
        None,
    );
    assert_eq!(revoked.status, 200, "{}", revoked.text);
    // The note travels through PostgreSQL; a generous bound for it, never
    // a timing assertion (a cache that is never emptied fails here).
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut status = 0;
    while Instant::now() < deadline {
        status = p.b.call(&key, "GET", "/v1/requests?limit=1", None).status;
        if status == 401 {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(status, 401, "B still takes a key A revoked");
}

#[test]
fn an_idempotency_key_replayed_on_another_replica_gets_the_first_answer() {
    let Some(server) =
        server_url("an_idempotency_key_replayed_on_another_replica_gets_the_first_answer")
    else {
        return;
    };
    let p = pair(Database::create(&server));
    let body = example("refund-small.json");
    let headers = [("idempotency-key", "replica-replay-1")];
    let first =
        p.a.call_with(&p.agent, "POST", "/v1/requests", Some(&body), &headers);
    assert_eq!(first.status, 201, "{}", first.text);
    let again =
        p.b.call_with(&p.agent, "POST", "/v1/requests", Some(&body), &headers);
    assert_eq!(again.status, first.status);
    assert_eq!(again.text, first.text, "not A's answer byte for byte");
    let listed = p.b.call(&p.agent, "GET", "/v1/requests?limit=10", None);
    assert_eq!(
        listed.json["requests"].as_array().map(Vec::len),
        Some(1),
        "{}",
        listed.text
    );
}

#[test]
fn concurrent_claims_on_two_replicas_grant_exactly_one() {
    let Some(server) = server_url("concurrent_claims_on_two_replicas_grant_exactly_one") else {
        return;
    };
    let p = Arc::new(pair(Database::create(&server)));
    let action = example("refund-small.json");
    for round in 0..5 {
        let id = pending(&p.a, &p.agent);
        let a = approve(&p.b, &p.lead, &id);
        assert_eq!(a.status, 200, "{}", a.text);
        let start = Arc::new(Barrier::new(2));
        let claims: Vec<_> = [false, true]
            .into_iter()
            .map(|on_b| {
                let (p, id, action, start) = (p.clone(), id.clone(), action.clone(), start.clone());
                std::thread::spawn(move || {
                    let replica = if on_b { &p.b } else { &p.a };
                    start.wait();
                    replica.call(
                        &p.agent,
                        "POST",
                        &format!("/v1/requests/{id}/claim"),
                        Some(&action),
                    )
                })
            })
            .collect();
        let answers: Vec<Answer> = claims
            .into_iter()
            .map(|t| t.join().expect("a claim"))
            .collect();
        let granted = answers.iter().filter(|a| a.status == 200).count();
        let refused = answers.iter().filter(|a| a.status == 409).count();
        assert_eq!(
            (granted, refused),
            (1, 1),
            "round {round}: {:?}",
            answers.iter().map(|a| &a.text).collect::<Vec<_>>()
        );
    }
}

/// approvers.toml trusting alice and the gate key given.
fn trust_with_gate_key(dir: &Path, key: &str) -> PathBuf {
    let path = dir.join("approvers.toml");
    let text = format!(
        "[[approver]]\nid = \"alice\"\nroles = [\"support_lead\"]\n\n[[gate]]\nid = \"gate\"\nkeys = [\"{key}\"]\n"
    );
    std::fs::write(&path, text).expect("write approvers.toml");
    path
}

#[test]
fn every_replica_signs_with_one_key_and_a_credential_from_one_verifies_with_another() {
    let Some(server) = server_url(
        "every_replica_signs_with_one_key_and_a_credential_from_one_verifies_with_another",
    ) else {
        return;
    };
    let p = pair(Database::create(&server));
    let key_a = p.a.call("", "GET", "/v1/keys", None).json["signing_key"].clone();
    let key_b = p.b.call("", "GET", "/v1/keys", None).json["signing_key"].clone();
    assert!(key_a.is_string(), "{key_a}");
    assert_eq!(
        key_a, key_b,
        "two replicas on one database publish two keys"
    );
    assert!(
        p.a.log()
            .contains("the signing key is kept in the database"),
        "{}",
        p.a.log()
    );

    let id = pending(&p.a, &p.agent);
    let approved = approve(&p.a, &p.lead, &id);
    assert_eq!(approved.status, 200, "{}", approved.text);
    let credentials: Vec<Json> = approved.json["approvals"]
        .as_array()
        .expect("approvals")
        .iter()
        .map(|a| a["credential"].clone())
        .collect();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let approvals = dir.path().join("approvals.json");
    std::fs::write(&approvals, Json::from(credentials).to_string()).expect("write");
    let action = dir.path().join("action.json");
    std::fs::write(&action, example("refund-small.json").to_string()).expect("write");
    // Verified offline against the key replica B publishes.
    let trust = trust_with_gate_key(dir.path(), key_b.as_str().expect("a key"));
    let out = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .arg("verify")
        .arg("--policy")
        .arg(shipped_policy())
        .arg("--input")
        .arg(&action)
        .arg("--approvals")
        .arg(&approvals)
        .arg("--trust")
        .arg(&trust)
        .arg("--compact")
        .output()
        .expect("gatehouse verify runs");
    let result: Json = serde_json::from_slice(&out.stdout).unwrap_or(Json::Null);
    assert_eq!(
        result["verdict"],
        "execute",
        "{result:#} {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A signing key file: 64 hex digits.
fn key_file(dir: &Path, seed: u8) -> PathBuf {
    let path = dir.join("gate-signing.key");
    std::fs::write(&path, format!("{}\n", format!("{seed:02x}").repeat(32))).expect("write");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    }
    path
}

/// Runs on SQLite (no PostgreSQL needed): two gates with their own data
/// directories and one key file publish one key, which is not the key a
/// gate makes for itself; a file that is not a key stops the start.
#[test]
fn a_signing_key_file_gives_every_gate_that_reads_it_one_key() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = key_file(dir.path(), 0x2a);
    let file_arg = file.to_str().expect("a UTF-8 path");
    let one = Replica::start(None, &["--signing-key-file", file_arg], None, true);
    let two = Replica::start(None, &["--signing-key-file", file_arg], None, true);
    let own = Replica::start(None, &[], None, true);
    let key = |r: &Replica| r.call("", "GET", "/v1/keys", None).json["signing_key"].clone();
    assert!(key(&one).is_string());
    assert_eq!(key(&one), key(&two));
    assert_ne!(key(&one), key(&own));

    let bad = dir.path().join("bad.key");
    std::fs::write(&bad, "not a key\n").expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args(["serve", "--listen", "127.0.0.1:0", "--policy"])
        .arg(shipped_policy())
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .arg("--signing-key-file")
        .arg(&bad)
        .env_remove("GATEHOUSE_DATABASE_URL")
        .env_remove("GATEHOUSE_CONFIG")
        .output()
        .expect("gatehouse serve runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("is not 64 hex digits"), "{stderr}");
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("an address").port()
}

/// Runs without PostgreSQL: a database that refuses the connection stops
/// `serve` and `migrate` with exit 1 and a message naming the host, never
/// the password.
#[test]
fn an_unreachable_database_stops_the_start_naming_the_host_never_the_password() {
    let port = closed_port();
    let url = format!("postgres://gatehouse:s3cret-Pa55@127.0.0.1:{port}/gatehouse");
    for command in ["serve", "migrate"] {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_gatehouse"));
        cmd.arg(command);
        if command == "serve" {
            cmd.args(["--listen", "127.0.0.1:0", "--policy"])
                .arg(shipped_policy());
        }
        let out = cmd
            .arg("--data-dir")
            .arg(dir.path())
            .arg("--database-url")
            .arg(&url)
            .env_remove("GATEHOUSE_CONFIG")
            .output()
            .expect("gatehouse runs");
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(1), "{command}: {all}");
        assert!(
            all.contains(&format!("127.0.0.1:{port}")),
            "{command}: {all}"
        );
        assert!(
            !all.contains("s3cret-Pa55"),
            "{command} printed the password: {all}"
        );
    }
}

#[test]
fn migrate_brings_a_database_to_the_current_schema_once() {
    let Some(server) = server_url("migrate_brings_a_database_to_the_current_schema_once") else {
        return;
    };
    let db = Database::create(&server);
    let migrate = |format: &str| {
        Command::new(env!("CARGO_BIN_EXE_gatehouse"))
            .args(["migrate", "--format", format, "--database-url", &db.url])
            .env_remove("GATEHOUSE_CONFIG")
            .output()
            .expect("gatehouse migrate runs")
    };
    let first = migrate("json");
    assert_eq!(
        first.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let report: Json = serde_json::from_slice(&first.stdout).expect("a JSON report");
    assert_eq!(report["store"], "postgres");
    assert_eq!(report["from"], 0);
    assert!(report["to"].as_i64() > Some(0), "{report}");
    assert!(
        !report["applied"].as_array().expect("applied").is_empty(),
        "{report}"
    );
    let again = migrate("json");
    let second: Json = serde_json::from_slice(&again.stdout).expect("a JSON report");
    assert_eq!(second["from"], report["to"]);
    assert_eq!(second["applied"], json!([]));
    let text = migrate("text");
    assert!(
        String::from_utf8_lossy(&text.stdout).contains("already current"),
        "{}",
        String::from_utf8_lossy(&text.stdout)
    );
    // A replica starts on the migrated database.
    let replica = Replica::start(Some(&db.url), &[], None, true);
    assert_eq!(replica.call("", "GET", "/ready", None).status, 200);

    let wrong = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args(["migrate", "--database-url", "mysql://localhost/gatehouse"])
        .output()
        .expect("gatehouse migrate runs");
    assert_eq!(wrong.status.code(), Some(2));
}

mod outage;

#[path = "attack_replicas.rs"]
mod attack_replicas;

//! The database goes away while the gate serves, and comes back: on a
//! PostgreSQL cluster of the test's own (initdb in a temporary directory,
//! a free port), never the shared server, which others use.
//!
//! While it is away every request that needs the store answers 503
//! problem+json `STORE_UNAVAILABLE` with `Retry-After` (never 500, never a
//! 401 for a key it could not look up), `/ready` is 503 and `/health`
//! (liveness) stays 200, so an orchestrator takes the replica out of its
//! load balancer without killing it; when it is back, everything works
//! again without a restart.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::json;

use super::{Replica, approve, closed_port, pending, server_url};

/// The PostgreSQL server binaries: `GATEHOUSE_TEST_PG_BIN`, else the
/// newest `/usr/lib/postgresql/*/bin` with `initdb` (Debian's layout).
fn pg_bin() -> PathBuf {
    if let Ok(dir) = std::env::var("GATEHOUSE_TEST_PG_BIN") {
        return PathBuf::from(dir);
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|e| e.path().join("bin"))
        .filter(|bin| bin.join("initdb").exists())
        .collect();
    found.sort();
    found.pop().unwrap_or_else(|| {
        panic!(
            "initdb not found: install PostgreSQL's server package (./scripts/test does) or set \
             GATEHOUSE_TEST_PG_BIN to its bin directory"
        )
    })
}

/// Whether this process is root (PostgreSQL refuses to run as root, so
/// its commands run as the `postgres` user then).
fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// A throwaway cluster, stopped (immediately) when dropped.
struct Cluster {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    root: bool,
    _dir: tempfile::TempDir,
}

impl Cluster {
    fn run(&self, tool: &str, args: &[&str]) -> Output {
        let exe = self.bin.join(tool);
        let mut cmd = if self.root {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(exe);
            c
        } else {
            Command::new(exe)
        };
        cmd.args(args).output().expect("a PostgreSQL tool runs")
    }

    fn init() -> Cluster {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let root = is_root();
        if root {
            let chown = Command::new("chown")
                .args(["-R", "postgres"])
                .arg(dir.path())
                .status()
                .expect("chown runs");
            assert!(chown.success(), "chown to postgres failed");
        }
        let cluster = Cluster {
            bin: pg_bin(),
            data: dir.path().join("data"),
            port: closed_port(),
            root,
            _dir: dir,
        };
        let data = cluster.data.to_str().expect("a UTF-8 path").to_owned();
        let out = cluster.run(
            "initdb",
            &["-D", &data, "-A", "trust", "-U", "postgres", "--no-sync"],
        );
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        cluster.start();
        cluster
    }

    fn start(&self) {
        let data = self.data.to_str().expect("a UTF-8 path");
        let socket_dir = self.data.to_str().expect("a UTF-8 path");
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {socket_dir} -c fsync=off",
            self.port
        );
        let log = Path::new(data).join("server.log");
        let log = log.to_str().expect("a UTF-8 path");
        let out = self.run(
            "pg_ctl",
            &["-D", data, "-o", &options, "-l", log, "-w", "start"],
        );
        assert!(
            out.status.success(),
            "pg_ctl start: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn stop(&self, mode: &str) {
        let data = self.data.to_str().expect("a UTF-8 path");
        let _ = self.run("pg_ctl", &["-D", data, "-m", mode, "-w", "stop"]);
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop("immediate");
    }
}

/// Asks until `ok` holds for an answer, for at most a minute (a generous
/// bound for an event: reconnecting to a database that is back).
fn eventually(what: &str, mut ask: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if ask() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{what}: not within a minute");
}

#[test]
fn a_database_outage_answers_503_and_the_gate_recovers_by_itself() {
    if server_url("a_database_outage_answers_503_and_the_gate_recovers_by_itself").is_none() {
        return;
    }
    let cluster = Cluster::init();
    let config = "[store]\nconnect_timeout_ms = 1000\n";
    let gate = Replica::start(Some(&cluster.url()), &[], Some(config), true);
    let admin = gate.admin().to_owned();
    let (agent, _) = gate.key(&admin, "agent-refunds", &["request", "execute"], &[]);
    let (lead, _) = gate.key(&admin, "alice", &["approve"], &["support_lead"]);
    let id = pending(&gate, &agent);

    cluster.stop("fast");
    let path = format!("/v1/requests/{id}");
    let refund = super::example("refund-small.json");
    // The first call after the stop may be the one that finds the pool's
    // connections dead; every answer, that one included, is a 503.
    let decisions = format!("/v1/requests/{id}/decisions");
    let review = json!({"decision": "approve", "reason": "checked"});
    // The last: a key this replica never saw cannot be looked up, which is
    // 503, never 401 (nor a pass).
    let unseen = "ghk_never_seen_00000000000000000000000000";
    let calls = [
        ("GET", path.as_str(), None, agent.as_str()),
        ("POST", "/v1/requests", Some(&refund), agent.as_str()),
        ("GET", "/v1/requests?limit=5", None, agent.as_str()),
        ("POST", decisions.as_str(), Some(&review), lead.as_str()),
        ("GET", path.as_str(), None, unseen),
    ];
    for (method, path, body, token) in &calls {
        let a = gate.call(token, method, path, *body);
        assert_eq!(a.status, 503, "{method} {path}: {}", a.text);
        assert_eq!(
            a.json["code"], "STORE_UNAVAILABLE",
            "{method} {path}: {}",
            a.text
        );
        assert_eq!(
            a.headers.get("content-type").and_then(|v| v.to_str().ok()),
            Some("application/problem+json")
        );
        assert!(a.headers.contains_key("retry-after"), "{method} {path}");
        assert!(
            !a.text.contains("127.0.0.1"),
            "the problem names the database: {}",
            a.text
        );
    }
    assert_eq!(gate.call("", "GET", "/ready", None).status, 503);
    assert_eq!(gate.call("", "GET", "/health", None).status, 200);
    // The console's queue is an error page, not a crash (the sign-in
    // redirect or the 503 page; never a 500).
    let console = gate.call("", "GET", "/console/", None);
    assert!(
        console.status < 500 || console.status == 503,
        "{}",
        console.text
    );

    cluster.start();
    eventually("/ready after the database returned", || {
        gate.call("", "GET", "/ready", None).status == 200
    });
    // Nothing half-written: the request is as it was, and it moves on.
    let a = gate.call(&agent, "GET", &path, None);
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.json["state"], "pending");
    // The change feed reconnected too: a decision made on another replica
    // (started now, on the restarted database) reaches an event stream
    // held on this one, by its note or by the resync after reconnecting.
    let response = super::http()
        .get(format!("{}/v1/requests/{id}/events", gate.base))
        .bearer_auth(&agent)
        .send()
        .expect("the stream opens");
    assert_eq!(response.status().as_u16(), 200);
    let mut states = std::io::BufRead::lines(std::io::BufReader::new(response))
        .map_while(Result::ok)
        .filter_map(|line| {
            let row: serde_json::Value =
                serde_json::from_str(line.strip_prefix("data:")?.trim()).ok()?;
            Some(row["state"].as_str()?.to_owned())
        });
    assert_eq!(states.next().as_deref(), Some("pending"));
    let other = Replica::start(Some(&cluster.url()), &[], Some(config), false);
    let approved = approve(&other, &lead, &id);
    assert_eq!(approved.status, 200, "{}", approved.text);
    assert_eq!(
        states.next().as_deref(),
        Some("approved"),
        "the stream on the replica that lived through the outage missed it; its log:\n{}",
        gate.log()
    );
    let again = pending(&gate, &agent);
    assert!(again.starts_with("req_"));
    let log = gate.log();
    assert!(!log.contains("panicked"), "{log}");
}

//! Webhooks through a real receiver: signed payloads, retries with the same
//! idempotency key, the outbox surviving a crash, bounded attempts, and a
//! refusal to start without a receiver's secret.

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac as _};
use serde_json::{Value as Json, json};
use sha2::Sha256;

use crate::harness::{Options, Server, example};

/// What the receiver answers to its n-th request (0-based).
#[derive(Clone, Copy, Debug)]
pub enum Reply {
    /// An answer with this status.
    Status(u16),
    /// No answer: the connection stays open (an attempt cut by a crash).
    Hang,
}

/// One request the receiver got.
#[derive(Clone, Debug)]
pub struct Got {
    /// Header names lower-cased.
    pub headers: HashMap<String, String>,
    /// The body.
    pub body: String,
}

impl Got {
    /// The body as JSON.
    pub fn json(&self) -> Json {
        serde_json::from_str(&self.body).expect("a webhook body is JSON")
    }

    /// A header (panics when missing).
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("header {name} missing: {:?}", self.headers))
    }
}

/// A webhook receiver: a plain TCP listener speaking just enough HTTP/1.1
/// (one request per connection), answering by a script.
pub struct Receiver {
    /// `http://127.0.0.1:PORT/hook`.
    pub url: String,
    got: Arc<Mutex<Vec<Got>>>,
}

impl Receiver {
    /// Starts a receiver answering its n-th request with `script(n)`.
    pub fn start(script: impl Fn(usize) -> Reply + Send + Sync + 'static) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a receiver");
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let got: Arc<Mutex<Vec<Got>>> = Arc::default();
        let script = Arc::new(script);
        let seen = got.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let (seen, script) = (seen.clone(), script.clone());
                std::thread::spawn(move || {
                    let Some(request) = read_request(&mut stream) else {
                        return;
                    };
                    let n = {
                        let mut seen = seen.lock().unwrap();
                        seen.push(request);
                        seen.len() - 1
                    };
                    match script(n) {
                        Reply::Status(code) => {
                            let _ = write!(
                                stream,
                                "HTTP/1.1 {code} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                            );
                        }
                        Reply::Hang => std::thread::sleep(Duration::from_secs(300)),
                    }
                });
            }
        });
        Receiver { url, got }
    }

    /// Waits (up to 60 s) until at least `n` requests arrived; all of them.
    pub fn wait_for(&self, n: usize) -> Vec<Got> {
        self.wait_for_within(n, Duration::from_secs(60))
    }

    /// Waits up to `within` until at least `n` requests arrived.
    pub fn wait_for_within(&self, n: usize, within: Duration) -> Vec<Got> {
        let deadline = Instant::now() + within;
        loop {
            let got = self.got.lock().unwrap().clone();
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "the receiver got {} of {n} deliveries: {got:?}",
                got.len()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn read_request(stream: &mut std::net::TcpStream) -> Option<Got> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    if !line.starts_with("POST /hook ") {
        return None;
    }
    let mut headers = HashMap::new();
    loop {
        line.clear();
        reader.read_line(&mut line).ok()?;
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        let (k, v) = l.split_once(':')?;
        headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
    }
    let len: usize = headers.get("content-length")?.parse().ok()?;
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    Some(Got {
        headers,
        body: String::from_utf8(body).ok()?,
    })
}

/// Checks `Gatehouse-Signature` as a receiver does: `t=..,v1=..`, the
/// HMAC-SHA256 of `"<t>.<body>"` with the secret, `t` within five minutes.
pub fn signature_valid(got: &Got, secret: &str) -> bool {
    let header = got.header("gatehouse-signature");
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", x)) => t = x.parse::<i64>().ok(),
            Some(("v1", x)) => v1 = hex::decode(x).ok(),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return false;
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    if (now - t).abs() > 300 {
        return false;
    }
    let mut mac = <Hmac<Sha256>>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{}", got.body).as_bytes());
    mac.verify_slice(&v1).is_ok()
}

/// A `[[webhook]]` block for a receiver.
pub fn webhook_toml(url: &str, secret_env: &str, extra: &str) -> String {
    format!("[[webhook]]\nurl = \"{url}\"\nsecret_env = \"{secret_env}\"\n{extra}\n")
}

/// A metric's value from `/metrics` (0 when the line is absent).
pub fn metric(server: &Server, line_prefix: &str) -> f64 {
    let a = server
        .anonymous()
        .send(server.anonymous().request(reqwest::Method::GET, "/metrics"));
    assert_eq!(a.status, 200);
    a.text
        .lines()
        .find_map(|l| l.strip_prefix(line_prefix)?.strip_prefix(' '))
        .map_or(0.0, |v| v.parse().expect("a number"))
}

/// Waits (up to 60 s) until a metric reaches `at_least`.
pub fn wait_metric(server: &Server, line_prefix: &str, at_least: f64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while metric(server, line_prefix) < at_least {
        assert!(
            Instant::now() < deadline,
            "{line_prefix} stayed below {at_least}; log:\n{}",
            server.stderr.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits (up to 60 s) until the server's log holds `needle` (the log is
/// read from a pipe by a thread, so a line may arrive after the effect it
/// describes); the whole log.
pub fn wait_log(server: &Server, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let log = server.stderr.lock().unwrap().clone();
        if log.contains(needle) {
            return log;
        }
        assert!(
            Instant::now() < deadline,
            "no {needle:?} in the log:\n{log}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

const SECRET: &str = "whsec-test-0123456789";

#[test]
fn deliveries_are_signed_and_retried_with_one_idempotency_key_until_a_2xx() {
    let pending_hook = Receiver::start(|n| Reply::Status(if n < 2 { 500 } else { 200 }));
    let approved_hook = Receiver::start(|_| Reply::Status(204));
    let config = webhook_toml(
        &pending_hook.url,
        "GH_TEST_HOOK_SECRET",
        "events = [\"pending\"]\nretry_base_ms = 100\nretry_max_ms = 400",
    ) + &webhook_toml(
        &approved_hook.url,
        "GH_TEST_HOOK_SECRET_2",
        "events = [\"approved\"]",
    );
    let server = Server::start_with(Options {
        config: Some(config),
        env: vec![
            ("GH_TEST_HOOK_SECRET".into(), SECRET.into()),
            ("GH_TEST_HOOK_SECRET_2".into(), "another-secret".into()),
        ],
        ..Options::default()
    });
    let agent = server.as_token(&server.key("agent-refunds", &["request"], &[]));
    let lead = server.as_token(&server.key("alice", &["approve"], &["support_lead"]));
    let request = agent.create(&example("refund-small.json"));
    let id = request["id"].as_str().unwrap();

    // 500, 500, then 200: three attempts of one delivery.
    let got = pending_hook.wait_for(3);
    let key = got[0].header("idempotency-key");
    assert!(key.starts_with("whd_"), "{key}");
    for g in &got[..3] {
        assert!(signature_valid(g, SECRET), "bad signature: {g:?}");
        assert!(!signature_valid(g, "not-the-secret"));
        assert_eq!(g.header("idempotency-key"), key, "one key for every retry");
        assert_eq!(g.header("gatehouse-event"), "request.pending");
        assert_eq!(g.header("content-type"), "application/json");
        assert_eq!(g.body, got[0].body, "every retry sends the same payload");
        let body = g.json();
        assert_eq!(body["format"], "gatehouse.event/1");
        assert_eq!(body["type"], "request.pending");
        assert_eq!(body["request"]["id"], id);
        assert_eq!(body["request"]["roles"], json!(["support_lead"]));
    }
    // A tampered body fails the check a receiver makes.
    let mut tampered = got[2].clone();
    tampered.body = tampered.body.replace("pending", "approved");
    assert!(!signature_valid(&tampered, SECRET));
    wait_metric(
        &server,
        "gatehouse_webhook_deliveries_total{result=\"delivered\"}",
        1.0,
    );
    assert_eq!(metric(&server, "gatehouse_webhook_failures_total"), 2.0);

    // The second receiver wants only `approved`, signed with its own secret.
    let (status, body) = lead.review(id, "approve", "checked");
    assert_eq!(status, 200, "{body}");
    let got = approved_hook.wait_for(1);
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(signature_valid(&got[0], "another-secret"));
    assert!(!signature_valid(&got[0], SECRET));
    assert_eq!(got[0].header("gatehouse-event"), "request.approved");
    assert_eq!(got[0].json()["request"]["state"], "approved");
    assert_eq!(got[0].json()["from"], "pending");
    assert_ne!(got[0].header("idempotency-key"), key);
    // Deliveries to two receivers are separate rows: each count.
    wait_metric(
        &server,
        "gatehouse_webhook_deliveries_total{result=\"delivered\"}",
        2.0,
    );

    // The secret never reaches the log.
    let log = wait_log(&server, "webhook attempt failed");
    assert!(!log.contains(SECRET), "{log}");
}

#[test]
fn an_attempt_cut_by_a_crash_is_sent_again_after_restart_with_the_same_key() {
    // The first attempt never gets an answer; the process is killed while
    // it waits. The outbox row is still undelivered, so the restarted
    // process sends it again. On PostgreSQL the row is leased to the
    // replica attempting it (store/postgres.rs, DELIVERY_LEASE_MS: 120 s),
    // and a restarted process cannot tell its own dead lease from a live
    // replica's: the row is sent again, by any replica, when the lease
    // ends; the wait below allows for it.
    let hook = Receiver::start(|n| {
        if n == 0 {
            Reply::Hang
        } else {
            Reply::Status(200)
        }
    });
    let mut server = Server::start_with(Options {
        config: Some(webhook_toml(
            &hook.url,
            "GH_TEST_HOOK_SECRET",
            // Long enough that the kill, not the timeout, cuts the first
            // attempt; the most a PostgreSQL store takes (half its lease).
            "timeout_ms = 60000",
        )),
        env: vec![("GH_TEST_HOOK_SECRET".into(), SECRET.into())],
        ..Options::default()
    });
    let agent = server.as_token(&server.key("agent-refunds", &["request"], &[]));
    agent.create(&example("refund-small.json"));
    let first = hook.wait_for(1);
    assert_eq!(first[0].header("gatehouse-event"), "request.pending");
    // In flight, not delivered: still waiting in the outbox.
    assert_eq!(metric(&server, "gatehouse_webhook_backlog"), 1.0);
    server.restart();
    let lease = if crate::harness::store::on_postgres() {
        Duration::from_secs(120)
    } else {
        Duration::ZERO
    };
    let got = hook.wait_for_within(2, lease + Duration::from_secs(60));
    assert_eq!(
        got[1].header("idempotency-key"),
        first[0].header("idempotency-key")
    );
    assert_eq!(got[1].body, first[0].body);
    assert!(signature_valid(&got[1], SECRET));
    wait_metric(
        &server,
        "gatehouse_webhook_deliveries_total{result=\"delivered\"}",
        1.0,
    );
    assert_eq!(metric(&server, "gatehouse_webhook_backlog"), 0.0);
}

#[test]
fn a_delivery_is_given_up_after_max_attempts_and_counted() {
    let hook = Receiver::start(|_| Reply::Status(503));
    let server = Server::start_with(Options {
        config: Some(webhook_toml(
            &hook.url,
            "GH_TEST_HOOK_SECRET",
            "max_attempts = 2\nretry_base_ms = 50",
        )),
        env: vec![("GH_TEST_HOOK_SECRET".into(), SECRET.into())],
        ..Options::default()
    });
    let agent = server.as_token(&server.key("agent-refunds", &["request"], &[]));
    agent.create(&example("refund-small.json"));
    wait_metric(
        &server,
        "gatehouse_webhook_deliveries_total{result=\"given_up\"}",
        1.0,
    );
    assert_eq!(hook.wait_for(2).len(), 2, "exactly max_attempts attempts");
    assert_eq!(metric(&server, "gatehouse_webhook_failures_total"), 2.0);
    let log = wait_log(&server, "webhook delivery given up");
    assert!(!log.contains("/hook"), "logs name no receiver path: {log}");
}

#[test]
fn the_service_refuses_to_start_when_a_webhook_secret_is_missing_or_empty() {
    for value in [None, Some("")] {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("serve.toml");
        std::fs::write(
            &config,
            webhook_toml("http://127.0.0.1:9/hook", "GH_TEST_UNSET_SECRET", ""),
        )
        .unwrap();
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_gatehouse"));
        cmd.arg("serve")
            .arg("--policy")
            .arg(crate::harness::shipped_policy())
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .arg("--config")
            .arg(&config)
            .env_remove("GATEHOUSE_CONFIG")
            .env_remove("GH_TEST_UNSET_SECRET");
        if let Some(v) = value {
            cmd.env("GH_TEST_UNSET_SECRET", v);
        }
        let out = cmd.output().expect("run gatehouse serve");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("GH_TEST_UNSET_SECRET"), "{stderr}");
        assert!(stderr.contains("unset or empty"), "{stderr}");
        assert!(
            !dir.path().join("data").exists(),
            "nothing is created before the configuration checks"
        );
    }
}

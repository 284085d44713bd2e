//! Attacks on replicas sharing one PostgreSQL database (each test is a
//! regression test for a break found by attacking the documented
//! promises of docs/service-postgres.md and docs/service-replicas.md).
//!
//! A child of `replicas` (it reuses its replica and database helpers).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::{Database, Replica, approve, pending, runtime, server_url};

/// Sends `payloads` on the gate's channel, as any user of the database
/// may, every 100 ms until `stop` is set.
fn forge_notes(url: String, payloads: Vec<String>, stop: Arc<AtomicBool>) {
    use sqlx::Connection as _;
    runtime().block_on(async move {
        let mut conn = sqlx::PgConnection::connect(&url)
            .await
            .expect("the test database answers");
        while !stop.load(Ordering::Relaxed) {
            for payload in &payloads {
                sqlx::query("SELECT pg_notify('gatehouse', $1)")
                    .bind(payload)
                    .execute(&mut conn)
                    .await
                    .expect("NOTIFY");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
}

/// Any user of the database may `NOTIFY gatehouse`: a forged note saying
/// that the caller's key was revoked (or a request note named like one)
/// must not end a long-poll with 401 nor end an event stream while the key
/// is live. The old code trusted the note (401 "revoked while this wait
/// was held", and the stream closed before the approval); now the store
/// decides. Junk notes (empty, not JSON, near the 8000-byte limit) are
/// ignored.
#[test]
fn a_forged_revocation_note_ends_no_wait_while_the_key_is_live() {
    let Some(server) = server_url("a_forged_revocation_note_ends_no_wait_while_the_key_is_live")
    else {
        return;
    };
    let db = Database::create(&server);
    let a = Replica::start(Some(&db.url), &[], None, true);
    let b = Replica::start(Some(&db.url), &[], None, false);
    let admin = a.admin().to_owned();
    let (agent, agent_id) = a.key(&admin, "agent-refunds", &["request", "execute"], &[]);
    let (lead, _) = a.key(&admin, "alice", &["approve"], &["support_lead"]);
    let id = pending(&a, &agent);
    let payloads = vec![
        serde_json::json!({"t": "key_revoked", "id": agent_id}).to_string(),
        serde_json::json!({"t": "request", "id": agent_id, "state": "key_revoked", "version": 0})
            .to_string(),
        serde_json::json!({"t": "request", "id": id, "state": "approved", "version": 99})
            .to_string(),
        String::new(),
        "{".into(),
        "x".repeat(7_900),
    ];
    let stop = Arc::new(AtomicBool::new(false));
    let forger = {
        let (url, stop) = (db.url.clone(), stop.clone());
        std::thread::spawn(move || forge_notes(url, payloads, stop))
    };
    // Forged notes arrive every 100 ms for the whole 3 s wait.
    let waited = b.call(
        &agent,
        "GET",
        &format!("/v1/requests/{id}/wait?timeout=3"),
        None,
    );
    assert_eq!(waited.status, 200, "{}", waited.text);
    assert_eq!(waited.json["changed"], false, "{}", waited.text);
    assert_eq!(waited.json["state"], "pending", "{}", waited.text);

    // An event stream on B under the same notes still sees the approval
    // made on A (the old code closed it at the first forged note).
    let stream = {
        let (base, agent, id) = (b.base.clone(), agent.clone(), id.clone());
        std::thread::spawn(move || {
            use std::io::BufRead as _;
            let response = reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .expect("a client")
                .get(format!("{base}/v1/requests/{id}/events"))
                .bearer_auth(agent)
                .send()
                .expect("the stream opens");
            let mut states = Vec::new();
            for line in std::io::BufReader::new(response)
                .lines()
                .map_while(Result::ok)
            {
                if let Some(data) = line.strip_prefix("data:") {
                    let event: serde_json::Value = serde_json::from_str(data.trim()).expect("JSON");
                    states.push(event["state"].as_str().unwrap_or("").to_owned());
                    if states.last().map(String::as_str) == Some("approved") {
                        break;
                    }
                }
            }
            states
        })
    };
    // The stream is open and forged notes reach it meanwhile; the pause
    // only lets them (a shorter one makes the test weaker, not flaky).
    std::thread::sleep(Duration::from_millis(1_500));
    let approved = approve(&a, &lead, &id);
    assert_eq!(approved.status, 200, "{}", approved.text);
    let states = stream.join().expect("the stream");
    stop.store(true, Ordering::Relaxed);
    forger.join().expect("the forger");
    assert_eq!(
        states.last().map(String::as_str),
        Some("approved"),
        "{states:?}"
    );
    // A genuine revocation still ends a wait at once (the store agrees).
    let id = pending(&a, &agent);
    let waiter = {
        let (base, agent, id) = (b.base.clone(), agent.clone(), id.clone());
        std::thread::spawn(move || {
            reqwest::blocking::Client::new()
                .get(format!("{base}/v1/requests/{id}/wait?timeout=60"))
                .bearer_auth(agent)
                .timeout(Duration::from_secs(120))
                .send()
                .expect("an answer")
                .status()
                .as_u16()
        })
    };
    std::thread::sleep(Duration::from_millis(700));
    let revoked = a.call(
        &admin,
        "DELETE",
        &format!("/v1/admin/keys/{agent_id}"),
        None,
    );
    assert!(revoked.status < 300, "{}", revoked.text);
    assert_eq!(waiter.join().expect("the waiter"), 401);
    assert!(!a.log().contains("panicked") && !b.log().contains("panicked"));
}

/// Three replicas started at the same instant on an empty database make
/// one admin key between them (docs/service-auth.md: "the service makes
/// one key"). The old code read "no key yet" in each replica, then each
/// inserted its own: three admin keys, three tokens printed. They also
/// sign with one key.
#[test]
fn replicas_starting_together_on_an_empty_database_make_one_admin_key() {
    let Some(server) =
        server_url("replicas_starting_together_on_an_empty_database_make_one_admin_key")
    else {
        return;
    };
    let db = Database::create(&server);
    let barrier = Arc::new(std::sync::Barrier::new(3));
    let starts: Vec<_> = (0..3)
        .map(|_| {
            let (url, barrier) = (db.url.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                // `first: false`: started once its policy line is out,
                // after the admin key was (or was not) made.
                Replica::start(Some(&url), &[], None, false)
            })
        })
        .collect();
    let replicas: Vec<Replica> = starts
        .into_iter()
        .map(|s| s.join().expect("a replica starts"))
        .collect();
    let (keys, admins): (i64, i64) = runtime().block_on(async {
        use sqlx::Connection as _;
        let mut conn = sqlx::PgConnection::connect(&db.url)
            .await
            .expect("the test database answers");
        sqlx::query_as(
            "SELECT count(*), count(*) FILTER (WHERE scopes LIKE '%admin%') FROM api_keys",
        )
        .fetch_one(&mut conn)
        .await
        .expect("count the keys")
    });
    assert_eq!((keys, admins), (1, 1), "one admin key, not one per replica");
    let published: Vec<String> = replicas
        .iter()
        .map(|r| r.call("", "GET", "/v1/keys", None).text)
        .collect();
    assert!(published.windows(2).all(|w| w[0] == w[1]), "{published:?}");
}

/// A database URL the driver refuses is a configuration error for
/// `gatehouse migrate` (exit 2, as docs/service-replicas.md says), not a
/// database that cannot be reached (1, the old answer); and a query
/// parameter the driver does not know (`?PASSWORD=`) is refused without
/// its value (sqlx logged it: `ignoring unrecognized connect parameter
/// key=PASSWORD value=...`). Needs no database: nothing is reached.
#[test]
fn migrate_refuses_a_url_the_driver_refuses_as_a_configuration_error_naming_no_secret() {
    for url in [
        "postgres://gate:s3cret-pw@127.0.0.1:notaport/gatehouse",
        "postgres://gate@127.0.0.1:1/gatehouse?sslmode=disable&PASSWORD=s3cret-pw",
        "postgres://gate@127.0.0.1:1/gatehouse?s3cret-pw",
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_gatehouse"))
            .args(["migrate", "--database-url", url])
            .env_remove("GATEHOUSE_DATABASE_URL")
            .env_remove("GATEHOUSE_CONFIG")
            .output()
            .expect("gatehouse migrate runs");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(2), "{url}: {text}");
        assert!(text.contains("store.url"), "{url}: {text}");
        assert!(!text.contains("s3cret-pw"), "{url}: {text}");
    }
}

/// On PostgreSQL a delivery is leased to one replica for 120 s: a receiver
/// allowed a longer attempt would be sent the same delivery by a second
/// replica while the first still waits on it, with no replica failing. The
/// old binary started with `timeout_ms = 300000`; now `serve` refuses it
/// (exit 2, before any database is reached: port 1 answers nothing), and
/// 60000 passes that check.
#[test]
fn a_webhook_timeout_longer_than_half_the_lease_is_refused_with_replicas() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let run = |timeout_ms: u64| {
        let config = dir.path().join(format!("serve-{timeout_ms}.toml"));
        std::fs::write(
            &config,
            format!(
                "[[webhook]]\nurl = \"http://127.0.0.1:1/hook\"\nsecret_env = \"ATK_HOOK_SECRET\"\ntimeout_ms = {timeout_ms}\n\n[store]\nconnect_timeout_ms = 500\n"
            ),
        )
        .expect("write the configuration");
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_gatehouse"))
            .arg("serve")
            .arg("--policy")
            .arg(crate::harness::shipped_policy())
            .args(["--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path().join("data"))
            .args(["--database-url", "postgres://gate@127.0.0.1:1/gatehouse"])
            .arg("--config")
            .arg(&config)
            .env_remove("GATEHOUSE_DATABASE_URL")
            .env_remove("GATEHOUSE_CONFIG")
            .env("ATK_HOOK_SECRET", "whsec-attack")
            .output()
            .expect("gatehouse serve runs");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, text) = run(300_000);
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("timeout_ms"), "{text}");
    // At the bound the webhook passes; the start then fails on the
    // unreachable database (exit 1), not on the webhook.
    let (code, text) = run(60_000);
    assert_eq!(code, Some(1), "{text}");
    assert!(!text.contains("timeout_ms"), "{text}");
}

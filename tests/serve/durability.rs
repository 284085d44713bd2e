//! Nothing acknowledged is lost: deadlines that pass while the service is
//! down act at the next start (once), SIGKILL at random moments loses no
//! answered create, approval or claim and never grants two claims, the
//! audit chain stays whole, and SIGTERM drains and exits cleanly.

use std::collections::HashMap;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use serde_json::{Value as Json, json};
use sha2::{Digest as _, Sha256};

use crate::expiry::{Cast, action, expiry_policy, start, transitions, wait_past};
use crate::harness::{Options, Server};

/// Points every client of the cast at the server's current address (a
/// restarted process listens on a new port).
fn rebase(cast: &mut Cast, server: &Server) {
    for c in [
        &mut cast.agent,
        &mut cast.rita,
        &mut cast.dora,
        &mut cast.olga,
    ] {
        c.base = server.base.clone();
    }
}

fn count(records: &[(String, String, String, String)], event: &str) -> usize {
    records.iter().filter(|r| r.0 == event).count()
}

#[test]
fn deadlines_that_passed_while_down_act_at_the_next_start_exactly_once() {
    let mut server = start("");
    let mut cast = Cast::new(&server);
    let rejects: Vec<String> = (0..3)
        .map(|_| {
            cast.agent.create(&action("reject_late"))["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let escalate = cast.agent.create(&action("escalate_late"))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Pending when the process dies (the deadline is 2 s away)...
    for id in rejects.iter().chain([&escalate]) {
        let (_, r) = cast.rita.get(&format!("/v1/requests/{id}"));
        assert_eq!(
            r["state"], "pending",
            "expired before the kill; the machine is too slow for this test: {r}"
        );
    }
    server.kill9();
    // ...and the deadline passes while it is down.
    std::thread::sleep(Duration::from_millis(2_500));
    server.restart();
    rebase(&mut cast, &server);

    for id in &rejects {
        // Version 1 is the creation; the wait ends at the expiry.
        let after = wait_past(&cast.rita, id, 1);
        assert_eq!(after["state"], "rejected", "{after}");
    }
    let escalated = wait_past(&cast.rita, &escalate, 1);
    assert_eq!(escalated["state"], "pending", "{escalated}");
    assert_eq!(escalated["roles"], json!(["director"]));

    // Another SIGKILL and start: nothing expires twice. The escalated
    // request's second wait ends after this start, so once it is rejected
    // many sweeps have run over the others.
    server.restart();
    rebase(&mut cast, &server);
    let version = escalated["version"].as_i64().unwrap();
    let rejected = wait_past(&cast.rita, &escalate, version);
    assert_eq!(rejected["state"], "rejected", "{rejected}");
    for id in &rejects {
        let records = transitions(&server, id);
        assert_eq!(count(&records, "expire"), 1, "{id}: {records:?}");
        assert_eq!(count(&records, "reject"), 1, "{id}: {records:?}");
    }
    let records = transitions(&server, &escalate);
    assert_eq!(count(&records, "expire"), 2, "one per wait: {records:?}");
    assert_eq!(count(&records, "escalate"), 1, "{records:?}");
}

/// A small deterministic generator (xorshift64*): the test prints its seed
/// so a failing schedule can be read back.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

/// What the clients were told.
#[derive(Default)]
struct Acknowledged {
    created: Vec<String>,
    approved: Vec<String>,
    claimed: Vec<String>,
    executed: Vec<String>,
    /// Idempotency keys used for creates of `slow` requests.
    keys: usize,
    /// Answered creates of requests with a 2 s deadline.
    deadlines: Vec<String>,
}

/// One step with retries while the server is down or restarting (with the
/// same `Idempotency-Key`, when given): the status and body of the first
/// answer, `None` if none came.
fn call(
    http: &reqwest::blocking::Client,
    base: &RwLock<String>,
    token: &str,
    path: &str,
    body: &Json,
    key: Option<&str>,
    stop: &AtomicBool,
) -> Option<(u16, Json)> {
    for _ in 0..100 {
        let url = format!("{}{path}", base.read().unwrap());
        let mut request = http
            .post(url)
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(body.to_string());
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        let sent = request.send();
        if let Ok(response) = sent {
            let status = response.status().as_u16();
            // An answer whose body was cut off by the kill is no answer.
            if let Ok(text) = response.text() {
                return Some((status, serde_json::from_str(&text).unwrap_or(Json::Null)));
            }
        }
        if stop.load(Ordering::Relaxed) {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

/// Reads the whole chain: every line, in order.
fn chain(server: &Server) -> Vec<String> {
    let admin = server.as_token(&server.admin);
    let mut lines = Vec::new();
    loop {
        let answer = admin.send(admin.request(
            reqwest::Method::GET,
            &format!("/v1/audit?after={}&limit=10000", lines.len()),
        ));
        assert_eq!(answer.status, 200, "{}", answer.text);
        let page: Vec<String> = answer.text.lines().map(str::to_owned).collect();
        if page.is_empty() {
            return lines;
        }
        lines.extend(page);
    }
}

/// Recomputes the chain: `seq` counts from 1 without gaps and each `prev`
/// is the SHA-256 of the previous line's exact bytes (the first links to
/// the genesis value). Gives the parsed records.
fn check_chain(lines: &[String]) -> Vec<Json> {
    let mut prev = format!("sha256:{}", "0".repeat(64));
    let mut records = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let record: Json = serde_json::from_str(line).expect("a chained line is JSON");
        assert_eq!(
            record["seq"],
            json!(i + 1),
            "a gap or a repeat at line {i}: {line}"
        );
        assert_eq!(
            record["prev"],
            json!(prev),
            "a broken link at seq {}",
            i + 1
        );
        prev = format!("sha256:{}", hex::encode(Sha256::digest(line.as_bytes())));
        records.push(record);
    }
    records
}

/// SIGKILL at random moments while clients create, approve and claim.
/// Afterwards every acknowledged change is there, no request was granted
/// two claims, and the chain is whole. A fixed number of rounds bounds it.
#[test]
fn sigkill_at_random_moments_loses_nothing_acknowledged_and_never_claims_twice() {
    torture("");
}

/// `[store] sync = "normal"` promises the same across SIGKILL (only a power
/// cut may lose answered changes, which no test here can cause).
///
/// SQLite only: `sync` is SQLite's setting (PostgreSQL's durability is the
/// database server's own), so on PostgreSQL this would run the torture
/// above a second time; the promise itself is proven there by it.
#[test]
fn sigkill_loses_nothing_acknowledged_with_sync_normal_either() {
    if crate::harness::store::on_postgres() {
        eprintln!(
            "not run on PostgreSQL: `[store] sync` is SQLite's setting \
             (sigkill_at_random_moments_loses_nothing_acknowledged_and_never_claims_twice covers PostgreSQL)"
        );
        return;
    }
    torture("[store]\nsync = \"normal\"\n");
}

/// The SIGKILL torture, with extra configuration.
fn torture(extra: &str) {
    const CLIENTS: usize = 3;
    const ROUNDS: usize = 5;
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0x9E37_79B9, |d| d.as_nanos() as u64)
        | 1;
    eprintln!("sigkill torture seed: {seed}");
    let mut rng = Rng(seed);

    let mut server = start(&format!("{extra}[limits]\nrate_per_second = 0\n"));
    let agent = server.key("agent-7", &["request", "execute"], &[]);
    let rita = server.key("rita", &["approve", "read"], &["reviewer"]);
    let base = Arc::new(RwLock::new(server.base.clone()));
    let stop = Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = (0..CLIENTS)
        .map(|thread| {
            let (base, stop, agent, rita) =
                (base.clone(), stop.clone(), agent.clone(), rita.clone());
            std::thread::spawn(move || {
                let http = reqwest::blocking::Client::builder()
                    .timeout(Duration::from_secs(10))
                    .build()
                    .expect("client");
                let act = action("slow");
                let mut seen = Acknowledged::default();
                while !stop.load(Ordering::Relaxed) {
                    // A retry after a lost answer must not open a second
                    // request: the key makes it replay the first answer.
                    let key = format!("create-{thread}-{}", seen.keys);
                    seen.keys += 1;
                    let Some((201, created)) = call(
                        &http,
                        &base,
                        &agent,
                        "/v1/requests",
                        &act,
                        Some(&key),
                        &stop,
                    ) else {
                        continue;
                    };
                    let id = created["id"].as_str().expect("an id").to_owned();
                    seen.created.push(id.clone());
                    // Every fifth key also opens a request nobody answers:
                    // its 2 s deadline falls among the kills.
                    if seen.keys % 5 == 0 {
                        let late = action("reject_late");
                        let key = format!("late-{thread}-{}", seen.keys);
                        if let Some((201, r)) = call(
                            &http,
                            &base,
                            &agent,
                            "/v1/requests",
                            &late,
                            Some(&key),
                            &stop,
                        ) {
                            seen.deadlines
                                .push(r["id"].as_str().expect("an id").to_owned());
                        }
                    }
                    let review = json!({"decision": "approve", "reason": "ok"});
                    match call(
                        &http,
                        &base,
                        &rita,
                        &format!("/v1/requests/{id}/decisions"),
                        &review,
                        None,
                        &stop,
                    ) {
                        Some((200, _)) => seen.approved.push(id.clone()),
                        // A retry of an approval that committed before the
                        // kill: refused as a second review, and approved.
                        Some((409, e)) if e["code"] == "SAME_APPROVER_TWICE" => {}
                        _ => continue,
                    }
                    // Two claimants race for the same request.
                    let path = format!("/v1/requests/{id}/claim");
                    let mut granted = false;
                    for _ in 0..2 {
                        if let Some((200, _)) = call(&http, &base, &agent, &path, &act, None, &stop)
                        {
                            seen.claimed.push(id.clone());
                            granted = true;
                        }
                    }
                    // The execution's report, also under fire.
                    let report = json!({"result": "succeeded"});
                    let done = format!("/v1/requests/{id}/executed");
                    if granted
                        && let Some((200, _)) =
                            call(&http, &base, &agent, &done, &report, None, &stop)
                    {
                        seen.executed.push(id.clone());
                    }
                }
                seen
            })
        })
        .collect();

    for _ in 0..ROUNDS {
        std::thread::sleep(Duration::from_millis(300 + rng.below(900)));
        server.restart();
        *base.write().unwrap() = server.base.clone();
    }
    // Let the clients finish against the last process.
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Relaxed);
    let mut all = Acknowledged::default();
    for t in threads {
        let seen = t.join().expect("a client thread panicked");
        all.created.extend(seen.created);
        all.approved.extend(seen.approved);
        all.claimed.extend(seen.claimed);
        all.executed.extend(seen.executed);
        all.keys += seen.keys;
        all.deadlines.extend(seen.deadlines);
    }
    eprintln!(
        "answered: {} creates ({} with a 2 s deadline), {} approvals, {} claims, {} executions",
        all.created.len() + all.deadlines.len(),
        all.deadlines.len(),
        all.approved.len(),
        all.claimed.len(),
        all.executed.len()
    );
    assert!(
        all.claimed.len() >= 3,
        "too little happened to judge: {} claims",
        all.claimed.len()
    );

    // One more SIGKILL: what was answered must be on disk, not in memory.
    server.restart();
    let admin = server.as_token(&server.admin);
    for id in &all.created {
        let (status, r) = admin.get(&format!("/v1/requests/{id}"));
        assert_eq!(status, 200, "an acknowledged create is lost: {id}");
        assert!(r["state"].is_string());
    }
    for id in &all.approved {
        let (_, r) = admin.get(&format!("/v1/requests/{id}"));
        let approvals = r["approvals"].as_array().expect("approvals");
        assert!(
            approvals
                .iter()
                .any(|a| a["approval"]["approver"] == "rita" && a["review"] == "approve"),
            "an acknowledged approval is lost: {r}"
        );
    }
    let records = check_chain(&chain(&server));
    let opened = records
        .iter()
        .filter(|r| r["record"] == "transition" && r["event"] == "decide")
        .count();
    assert!(
        opened <= all.keys + all.keys.div_ceil(5),
        "{opened} requests were opened with {} idempotency keys: a retry opened a second one",
        all.keys + all.deadlines.len()
    );
    assert!(opened >= all.created.len() + all.deadlines.len());
    let mut claims: HashMap<&str, usize> = HashMap::new();
    for r in &records {
        if r["record"] == "transition" && r["event"] == "claim" {
            *claims.entry(r["request"].as_str().unwrap()).or_default() += 1;
        }
    }
    for (id, n) in &claims {
        assert_eq!(*n, 1, "{id} was granted {n} claims");
    }
    // No deadline is missed, none applied twice: each unanswered request
    // ends rejected (the long-poll waits for the sweeper of the last
    // process), with one expire record.
    let mut expires: HashMap<&str, usize> = HashMap::new();
    for r in &records {
        if r["record"] == "transition" && r["event"] == "expire" {
            *expires.entry(r["request"].as_str().unwrap()).or_default() += 1;
        }
    }
    for id in &all.deadlines {
        let (status, r) = admin.get(&format!("/v1/requests/{id}/wait?state=pending&timeout=30"));
        assert_eq!(status, 200, "{r}");
        assert_eq!(r["state"], "rejected", "a deadline was missed: {r}");
        let after = transitions(&server, id);
        assert_eq!(count(&after, "expire"), 1, "{id}: {after:?}");
    }
    assert!(expires.values().all(|n| *n == 1), "{expires:?}");
    let mut answered: HashMap<&str, usize> = HashMap::new();
    for id in &all.claimed {
        *answered.entry(id.as_str()).or_default() += 1;
    }
    for (id, n) in answered {
        assert_eq!(n, 1, "two claims of {id} were answered 200");
        assert_eq!(
            claims.get(id),
            Some(&1),
            "a 200 claim of {id} has no claim record"
        );
        let (_, r) = admin.get(&format!("/v1/requests/{id}"));
        let executed = all.executed.iter().any(|e| e == id);
        let expected = if executed { "executed" } else { "executing" };
        // A report whose answer was lost may have committed: either state.
        assert!(
            r["state"] == expected || (!executed && r["state"] == "executed"),
            "{r}"
        );
    }
}

/// SIGTERM with a long-poll open and creates in flight: `/ready` says 503
/// while draining, the long-poll answers at once, every create that was
/// answered is kept, and the process exits 0.
#[test]
fn sigterm_drains_answers_waiters_and_exits_cleanly() {
    let mut server = Server::start_with(Options {
        policy: Some(expiry_policy()),
        config: Some(
            "drain_ms = 1500\n[limits]\nmax_wait_seconds = 120\nrate_per_second = 0\n".into(),
        ),
        ..Options::default()
    });
    let cast = Cast::new(&server);
    let request = cast.agent.create(&action("slow"));
    let id = request["id"].as_str().unwrap().to_owned();

    let waiter = {
        let rita = cast.rita.clone();
        let id = id.clone();
        std::thread::spawn(move || {
            let answer = rita.send(rita.request(
                reqwest::Method::GET,
                &format!("/v1/requests/{id}/wait?since_version=1&timeout=120"),
            ));
            (answer.status, answer.json)
        })
    };
    let stream = {
        let rita = cast.rita.clone();
        let id = id.clone();
        std::thread::spawn(move || {
            let response = rita
                .request(reqwest::Method::GET, &format!("/v1/requests/{id}/events"))
                .send()
                .expect("the event stream opens");
            // Ends only when the server ends the stream.
            response.text().map_err(|e| e.to_string())
        })
    };
    let stop = Arc::new(AtomicBool::new(false));
    let creator = {
        let agent = cast.agent.clone();
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut created = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let sent = agent
                    .request(reqwest::Method::POST, "/v1/requests")
                    .header("content-type", "application/json")
                    .body(action("slow").to_string())
                    .send();
                let Ok(response) = sent else { break };
                let status = response.status().as_u16();
                let Ok(text) = response.text() else { break };
                assert_eq!(
                    status, 201,
                    "a request during shutdown was answered badly: {text}"
                );
                let body: Json = serde_json::from_str(&text).expect("JSON");
                created.push(body["id"].as_str().unwrap().to_owned());
            }
            created
        })
    };
    // The long-poll is open once the server has read it; give the client a
    // moment to send it (an early SIGTERM would only end it sooner).
    std::thread::sleep(Duration::from_millis(300));
    let killed = Command::new("kill")
        .args(["-TERM", &server.pid().to_string()])
        .status()
        .expect("the `kill` command (procps) is needed");
    assert!(killed.success());

    let probe = server.anonymous();
    let saw_draining = Instant::now() + Duration::from_secs(30);
    loop {
        let sent = probe.http.get(format!("{}/ready", probe.base)).send();
        let response = sent.expect("the listener closed before /ready answered 503");
        if response.status().as_u16() == 503 {
            let body: Json = serde_json::from_str(&response.text().unwrap()).unwrap();
            assert_eq!(body["code"], "SHUTTING_DOWN", "{body}");
            break;
        }
        assert!(Instant::now() < saw_draining, "/ready never said 503");
        std::thread::sleep(Duration::from_millis(20));
    }
    let (status, waited) = waiter.join().expect("the waiter");
    assert_eq!(
        status, 200,
        "the long-poll was cut off instead of answered: {waited}"
    );
    assert_eq!(waited["changed"], false, "{waited}");
    let events = stream
        .join()
        .expect("the stream reader")
        .expect("the event stream was cut off instead of ended");
    assert!(events.contains("event: request"), "{events}");

    let exit = server
        .wait_exit(Duration::from_secs(60))
        .expect("the process did not exit within 60 s of SIGTERM");
    assert!(exit.success(), "exit status {exit:?}");
    stop.store(true, Ordering::Relaxed);
    let created = creator.join().expect("the creator");

    server.start_again();
    let admin = server.as_token(&server.admin);
    for id in created.iter().chain([&id]) {
        let (status, r) = admin.get(&format!("/v1/requests/{id}"));
        assert_eq!(status, 200, "an answered create is lost: {id}");
        assert_eq!(r["state"], "pending");
    }
}

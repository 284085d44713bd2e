//! Deadlines act without anyone asking: each on-expiry action through the
//! real binary, reviews that arrive too late, and approvals past their own
//! validity at claim time.
//!
//! The policy is tests/serve/fixtures/expiry/expiry.gate: `reject_late`,
//! `block_late` and `escalate_late` wait two seconds, `slow` an hour. The
//! tests wait for events (a long-poll with a generous timeout), never
//! assert how long anything took.

use std::path::PathBuf;

use serde_json::{Value as Json, json};

use crate::harness::{Client, Options, Server, assert_problem};

/// The expiry fixture policy.
pub fn expiry_policy() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/serve/fixtures/expiry/expiry.gate")
}

/// An action of the fixture policy: its type chooses the tier. The agent's
/// owner `olga` may never approve it.
pub fn action(kind: &str) -> Json {
    json!({
        "action": {"type": kind},
        "requester": {"id": "ursula"},
        "agent": {"id": "agent-7", "owner": "olga"},
    })
}

/// A server on the expiry policy, sweeping every 200 ms, with extra TOML.
pub fn start(extra: &str) -> Server {
    Server::start_with(Options {
        policy: Some(expiry_policy()),
        config: Some(format!("sweep_interval_ms = 200\n{extra}")),
        ..Options::default()
    })
}

/// The people of these tests.
pub struct Cast {
    /// Creates and claims (identity `agent-7`).
    pub agent: Client,
    /// Holds `reviewer`.
    pub rita: Client,
    /// Holds `director`.
    pub dora: Client,
    /// Holds `director` but owns the agent: forbidden.
    pub olga: Client,
}

impl Cast {
    /// Keys for everyone.
    pub fn new(server: &Server) -> Cast {
        Cast {
            agent: server.as_token(&server.key("agent-7", &["request", "execute"], &[])),
            rita: server.as_token(&server.key("rita", &["approve", "read"], &["reviewer"])),
            dora: server.as_token(&server.key("dora", &["approve", "read"], &["director"])),
            olga: server.as_token(&server.key("olga", &["approve", "read"], &["director"])),
        }
    }
}

/// Long-polls until the request's version is above `version` (30 s cap,
/// far above a 2 s deadline and a 200 ms sweep); the request then.
pub fn wait_past(client: &Client, id: &str, version: i64) -> Json {
    let (status, body) = client.get(&format!(
        "/v1/requests/{id}/wait?since_version={version}&timeout=30"
    ));
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["changed"], true,
        "the deadline passed 30 s ago and the sweeper did not act: {body}"
    );
    body
}

/// The request's transition records: `(event, from, to, actor id)`.
pub fn transitions(server: &Server, id: &str) -> Vec<(String, String, String, String)> {
    let admin = server.as_token(&server.admin);
    let answer =
        admin.send(admin.request(reqwest::Method::GET, &format!("/v1/requests/{id}/audit")));
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer
        .text
        .lines()
        .map(|l| serde_json::from_str::<Json>(l).expect("an audit line is JSON"))
        .filter(|l| l["record"] == "transition")
        .map(|l| {
            let s = |k: &str| l[k].as_str().unwrap_or_default().to_owned();
            (
                s("event"),
                s("from"),
                s("to"),
                l["actor"]["id"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn steps(records: &[(String, String, String, String)]) -> Vec<(&str, &str, &str)> {
    records
        .iter()
        .map(|(e, f, t, _)| (e.as_str(), f.as_str(), t.as_str()))
        .collect()
}

fn version(request: &Json) -> i64 {
    request["version"].as_i64().expect("a version")
}

#[test]
fn then_reject_rejects_at_the_deadline_and_wakes_the_waiter() {
    let server = start("");
    let cast = Cast::new(&server);
    let request = cast.agent.create(&action("reject_late"));
    assert_eq!(request["state"], "pending", "{request}");
    let id = request["id"].as_str().unwrap();
    // The waiter is woken by the expiry itself (no one else touches it).
    let after = wait_past(&cast.rita, id, version(&request));
    assert_eq!(after["state"], "rejected", "{after}");
    assert_eq!(after["roles"], json!([]));
    let records = transitions(&server, id);
    assert_eq!(
        steps(&records),
        [
            ("decide", "requested", "decided"),
            ("queue", "decided", "pending"),
            ("expire", "pending", "expired"),
            ("reject", "expired", "rejected"),
        ]
    );
    assert_eq!(records[2].3, "gatehouse", "the gate itself expired it");
    // Final: a late review changes nothing.
    let late = cast.rita.post_text(
        &format!("/v1/requests/{id}/decisions"),
        &json!({"decision": "approve", "reason": "late"}).to_string(),
    );
    assert_problem(&late, 409, "REQUEST_FINAL");
}

#[test]
fn then_block_blocks_at_the_deadline() {
    let server = start("");
    let cast = Cast::new(&server);
    let request = cast.agent.create(&action("block_late"));
    assert_eq!(request["state"], "pending", "{request}");
    let id = request["id"].as_str().unwrap();
    let after = wait_past(&cast.rita, id, version(&request));
    assert_eq!(after["state"], "blocked", "{after}");
    assert_eq!(
        steps(&transitions(&server, id))[2..],
        [
            ("expire", "pending", "expired"),
            ("block", "expired", "blocked"),
        ]
    );
    let claim = cast.agent.post_text(
        &format!("/v1/requests/{id}/claim"),
        &action("block_late").to_string(),
    );
    assert_problem(&claim, 409, "REQUEST_FINAL");
}

/// Escalation: pending again for the escalation role only, with a new
/// deadline; the original role and forbidden approvers are refused; the
/// second expiry rejects (an escalated request escalates once).
#[test]
fn then_escalate_hands_the_request_to_the_escalation_role_once() {
    let server = start("");
    let cast = Cast::new(&server);
    let request = cast.agent.create(&action("escalate_late"));
    assert_eq!(request["roles"], json!(["reviewer"]), "{request}");
    let id = request["id"].as_str().unwrap();
    let first_deadline = request["deadline"].as_str().unwrap().to_owned();

    let escalated = wait_past(&cast.rita, id, version(&request));
    assert_eq!(escalated["state"], "pending", "{escalated}");
    assert_eq!(escalated["roles"], json!(["director"]));
    assert_eq!(escalated["escalated_to"], "director");
    assert_eq!(escalated["escalations"], 1);
    let second_deadline = escalated["deadline"].as_str().unwrap().to_owned();
    assert!(
        second_deadline > first_deadline,
        "a new deadline: {first_deadline} then {second_deadline}"
    );
    // The role filter finds it for the director, not for the reviewer.
    let ids_for = |role: &str| -> Vec<Json> {
        let (status, list) = server
            .as_token(&server.admin)
            .get(&format!("/v1/requests?state=pending&role={role}"));
        assert_eq!(status, 200, "{list}");
        list["requests"]
            .as_array()
            .cloned()
            .expect("a list of requests")
            .into_iter()
            .map(|r| r["id"].clone())
            .collect()
    };
    assert_eq!(ids_for("director"), [json!(id)]);
    assert!(ids_for("reviewer").is_empty());

    // These refusals must reach the server within the 2 s of the second
    // wait (three local calls); if it was slower, the codes would be
    // REQUEST_TIMED_OUT or REQUEST_FINAL and the message says so.
    let by = |c: &Client| {
        c.post_text(
            &format!("/v1/requests/{id}/decisions"),
            &json!({"decision": "approve", "reason": "covering"}).to_string(),
        )
    };
    assert_problem(&by(&cast.rita), 403, "ROLE_NOT_ELIGIBLE");
    assert_problem(&by(&cast.olga), 403, "EXCLUDED_IDENTITY");

    let rejected = wait_past(&cast.rita, id, version(&escalated));
    assert_eq!(rejected["state"], "rejected", "{rejected}");
    let records = transitions(&server, id);
    assert_eq!(
        steps(&records)[2..],
        [
            ("expire", "pending", "expired"),
            ("escalate", "expired", "escalated"),
            ("requeue", "escalated", "pending"),
            ("expire", "pending", "expired"),
            ("reject", "expired", "rejected"),
        ]
    );
    // The refused reviews left no record.
    assert!(
        records
            .iter()
            .all(|r| r.3 == "agent-7" || r.3 == "gatehouse")
    );
}

#[test]
fn the_escalation_role_approves_an_escalated_request_and_it_can_be_claimed() {
    let server = start("");
    let cast = Cast::new(&server);
    let request = cast.agent.create(&action("escalate_late"));
    let id = request["id"].as_str().unwrap();
    let escalated = wait_past(&cast.dora, id, version(&request));
    assert_eq!(escalated["roles"], json!(["director"]), "{escalated}");
    // One call, well inside the new 2 s wait.
    let (status, approved) = cast.dora.review(id, "approve", "covering for the reviewer");
    assert_eq!(
        status, 200,
        "the approval reached the server after the second deadline? {approved}"
    );
    assert_eq!(approved["state"], "approved");
    let (status, claimed) = cast.agent.claim(id, &action("escalate_late"));
    assert_eq!(status, 200, "{claimed}");
    assert_eq!(claimed["state"], "executing");
    assert_eq!(
        steps(&transitions(&server, id))[2..],
        [
            ("expire", "pending", "expired"),
            ("escalate", "expired", "escalated"),
            ("requeue", "escalated", "pending"),
            ("approve_complete", "pending", "approved"),
            ("claim", "approved", "executing"),
        ]
    );
}

/// A review after the deadline but before the sweeper got to it: refused,
/// nothing changes. The sweeper here runs once at start, then every ten
/// minutes, so the request stays pending past its deadline.
#[test]
fn a_review_after_the_deadline_is_refused_before_the_sweep() {
    let server = Server::start_with(Options {
        policy: Some(expiry_policy()),
        config: Some("sweep_interval_ms = 600000\n".into()),
        ..Options::default()
    });
    let cast = Cast::new(&server);
    let request = cast.agent.create(&action("reject_late"));
    let id = request["id"].as_str().unwrap();
    // Wait out the 2 s deadline (a long-poll that nothing ends early).
    let (status, unchanged) = cast.rita.get(&format!(
        "/v1/requests/{id}/wait?since_version={}&timeout=3",
        version(&request)
    ));
    assert_eq!(status, 200, "{unchanged}");
    assert_eq!(unchanged["changed"], false, "{unchanged}");
    let late = cast.rita.post_text(
        &format!("/v1/requests/{id}/decisions"),
        &json!({"decision": "approve", "reason": "just in time?"}).to_string(),
    );
    assert_problem(&late, 409, "REQUEST_TIMED_OUT");
    assert_eq!(late.json["state"], "pending");
    let (_, now) = cast.rita.get(&format!("/v1/requests/{id}"));
    assert_eq!(now["state"], "pending");
    assert_eq!(now["version"], request["version"], "nothing changed");
    assert_eq!(now["approvals"], json!([]));
    assert_eq!(transitions(&server, id).len(), 2, "no record was added");
}

/// `[approvals] valid_for_seconds`: an approval past its own validity does
/// not count at claim; the request is pending again and a fresh approval
/// (by the same person, whose old one is only history now) makes it
/// claimable.
#[test]
fn an_expired_approval_does_not_count_at_claim() {
    let server = start("[approvals]\nvalid_for_seconds = 2\n");
    let cast = Cast::new(&server);
    let act = action("slow");
    let request = cast.agent.create(&act);
    let id = request["id"].as_str().unwrap();
    let (status, approved) = cast.rita.review(id, "approve", "fine");
    assert_eq!(status, 200, "{approved}");
    assert_eq!(approved["state"], "approved");
    // Let the approval's 2 s pass (a wait nothing ends early).
    let (_, unchanged) = cast.rita.get(&format!(
        "/v1/requests/{id}/wait?since_version={}&timeout=3",
        version(&approved)
    ));
    assert_eq!(unchanged["changed"], false, "{unchanged}");

    let claim = cast
        .agent
        .post_text(&format!("/v1/requests/{id}/claim"), &act.to_string());
    assert_problem(&claim, 409, "APPROVAL_EXPIRED");
    assert_eq!(claim.json["state"], "pending");
    let (_, reopened) = cast.rita.get(&format!("/v1/requests/{id}"));
    assert_eq!(reopened["state"], "pending", "{reopened}");
    assert_eq!(reopened["roles"], json!(["reviewer"]));

    let (status, again) = cast.rita.review(id, "approve", "still fine");
    assert_eq!(status, 200, "a fresh approval by the same person: {again}");
    assert_eq!(again["state"], "approved");
    let (status, claimed) = cast.agent.claim(id, &act);
    assert_eq!(status, 200, "{claimed}");
    assert_eq!(claimed["state"], "executing");
    assert_eq!(
        steps(&transitions(&server, id))[2..],
        [
            ("approve_complete", "pending", "approved"),
            ("reopen", "approved", "pending"),
            ("approve_complete", "pending", "approved"),
            ("claim", "approved", "executing"),
        ]
    );
}

/// The escalation role's approval has its own validity too: claimed after
/// it expired, the request is pending again for the escalation role (not
/// the original one) and a fresh approval from it makes it claimable.
/// (Before, an escalated request's claim skipped every approval check.)
#[test]
fn an_expired_escalation_approval_does_not_count_at_claim() {
    let server = start("[approvals]\nvalid_for_seconds = 2\n");
    let cast = Cast::new(&server);
    let act = action("escalate_late");
    let request = cast.agent.create(&act);
    let id = request["id"].as_str().unwrap();
    let escalated = wait_past(&cast.dora, id, version(&request));
    assert_eq!(escalated["roles"], json!(["director"]), "{escalated}");
    let (status, approved) = cast.dora.review(id, "approve", "covering");
    assert_eq!(status, 200, "{approved}");
    // Approved requests have no deadline to miss; let the approval's 2 s
    // pass (a wait nothing ends early).
    let (_, unchanged) = cast.dora.get(&format!(
        "/v1/requests/{id}/wait?since_version={}&timeout=3",
        version(&approved)
    ));
    assert_eq!(unchanged["changed"], false, "{unchanged}");

    let claim = cast
        .agent
        .post_text(&format!("/v1/requests/{id}/claim"), &act.to_string());
    assert_problem(&claim, 409, "APPROVAL_EXPIRED");
    let (_, reopened) = cast.dora.get(&format!("/v1/requests/{id}"));
    assert_eq!(reopened["state"], "pending", "{reopened}");
    assert_eq!(reopened["roles"], json!(["director"]));
    assert_eq!(reopened["escalated_to"], "director");
    // One call inside the reopened request's new 2 s wait.
    let (status, again) = cast.dora.review(id, "approve", "still covering");
    assert_eq!(status, 200, "{again}");
    let (status, claimed) = cast.agent.claim(id, &act);
    assert_eq!(status, 200, "{claimed}");
    assert_eq!(claimed["state"], "executing");
}

/// A request reopened after its first deadline (here: the approval expired
/// at claim, after the 2 s wait had ended) is judged over its new wait: a
/// fresh approval counts. Before, the engine still measured the wait from
/// the creation and refused it as `APPROVAL_AFTER_DEADLINE`.
#[test]
fn a_reopened_request_is_judged_over_its_new_wait() {
    let server = start("[approvals]\nvalid_for_seconds = 1\n");
    let cast = Cast::new(&server);
    let act = action("reject_late");
    let request = cast.agent.create(&act);
    let id = request["id"].as_str().unwrap();
    let (status, approved) = cast.rita.review(id, "approve", "fine");
    assert_eq!(status, 200, "{approved}");
    // Past the approval's 1 s and the request's 2 s (approved requests are
    // not swept): a wait nothing ends early.
    let (_, unchanged) = cast.rita.get(&format!(
        "/v1/requests/{id}/wait?since_version={}&timeout=3",
        version(&approved)
    ));
    assert_eq!(unchanged["changed"], false, "{unchanged}");
    let claim = cast
        .agent
        .post_text(&format!("/v1/requests/{id}/claim"), &act.to_string());
    assert_problem(&claim, 409, "APPROVAL_EXPIRED");
    // Two calls inside the new approval's 1 s.
    let (status, again) = cast.rita.review(id, "approve", "again");
    assert_eq!(status, 200, "{again}");
    let (status, claimed) = cast.agent.claim(id, &act);
    assert_eq!(status, 200, "{claimed}");
    assert_eq!(claimed["state"], "executing");
}

/// The fixture is a policy like any other: it checks clean and is
/// formatted.
#[test]
fn the_expiry_fixture_checks_clean_and_is_formatted() {
    for args in [&["check"][..], &["fmt", "--check"][..]] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_gatehouse"))
            .args(args)
            .arg(expiry_policy())
            .output()
            .expect("run gatehouse");
        assert!(
            out.status.success(),
            "gatehouse {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

//! The lifecycle's guarantees under attack, through the real binary: what
//! an adversarial review of `gatehouse serve` broke, each pinned here.
//!
//! - Retries of one review with one `Idempotency-Key`, racing each other,
//!   all get the first answer (docs/service.md "Idempotency"), not 409s.
//! - An escalated request is approved by the escalation role alone, but
//!   only within what the policy lets that role approve: its approval
//!   limit, and the tier's `require` conditions.
//! - A request escalates once in its life, also after a claim reopened it
//!   under a stricter policy (docs/reliability.md "The service").
//!
//! The policy is tests/serve/fixtures/escalation/escalation.gate (three
//! second deadlines). Tests wait for events with generous timeouts, never
//! assert how long anything took.

use std::path::{Path, PathBuf};

use serde_json::{Value as Json, json};

use crate::expiry::{transitions, wait_past};
use crate::harness::{Client, Options, Server, assert_problem, example};

/// The fixture policy's directory.
fn escalation_policy() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/serve/fixtures/escalation")
}

/// A server on `policy`, sweeping every 200 ms.
fn start_on(policy: PathBuf) -> Server {
    Server::start_with(Options {
        policy: Some(policy),
        config: Some("sweep_interval_ms = 200\nreload_interval_ms = 0\n".into()),
        ..Options::default()
    })
}

/// An action of the fixture policy. The agent's owner `olga` and the
/// requester `ursula` may never approve it.
fn action(kind: &str, extra: Json) -> Json {
    let mut a = json!({
        "action": {"type": kind},
        "requester": {"id": "ursula"},
        "agent": {"id": "agent-7", "owner": "olga"},
    });
    for (k, v) in extra.as_object().expect("an object") {
        if k == "amount" {
            a["action"]["amount"] = v.clone();
        } else {
            a[k] = v.clone();
        }
    }
    a
}

/// Creates a request and waits until its deadline escalated it; the
/// request then (asserted pending for `role`).
fn escalated(agent: &Client, watcher: &Client, action: &Json, role: &str) -> Json {
    let request = agent.create(action);
    assert_eq!(request["state"], "pending", "{request}");
    let id = request["id"].as_str().unwrap();
    let after = wait_past(watcher, id, request["version"].as_i64().unwrap());
    assert_eq!(after["state"], "pending", "{after}");
    assert_eq!(after["escalated_to"], role, "{after}");
    after
}

#[test]
fn racing_retries_of_one_review_all_get_the_first_answer() {
    let server = Server::start();
    let agent = server.as_token(&server.key("agent-refunds", &["request", "execute"], &[]));
    let alice = server.as_token(&server.key("alice", &["approve"], &["support_lead"]));
    let request = agent.create(&example("refund-small.json"));
    let id = request["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/requests/{id}/decisions");
    let body = json!({"decision": "approve", "reason": "order checked"}).to_string();
    // Eight retries of the same review, with the same key, at once: the
    // first to commit approves; every other one must answer what it
    // answered (the old code answered them 409 ILLEGAL_TRANSITION).
    let answers: Vec<(u16, String)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let (alice, path, body) = (alice.clone(), path.clone(), body.clone());
                s.spawn(move || {
                    let a = alice.send(
                        alice
                            .request(reqwest::Method::POST, &path)
                            .header("content-type", "application/json")
                            .header("idempotency-key", "review-once")
                            .body(body),
                    );
                    (a.status, a.text)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let first = &answers[0];
    for answer in &answers {
        assert_eq!(answer.0, 200, "{}", answer.1);
        assert_eq!(answer, first, "a retry got another answer");
    }
    let stored: Json = serde_json::from_str(&first.1).unwrap();
    assert_eq!(stored["state"], "approved", "{stored}");
    // One approval, one record: the retries changed nothing.
    let (_, now) = agent.get(&format!("/v1/requests/{id}"));
    assert_eq!(now["approvals"].as_array().unwrap().len(), 1, "{now}");
    let approvals = transitions(&server, &id)
        .into_iter()
        .filter(|(event, ..)| event.starts_with("approve"))
        .count();
    assert_eq!(approvals, 1);
}

#[test]
fn a_racing_review_with_another_body_under_the_same_key_is_key_reused() {
    let server = Server::start();
    let agent = server.as_token(&server.key("agent-refunds", &["request", "execute"], &[]));
    let alice = server.as_token(&server.key("alice", &["approve"], &["support_lead"]));
    let request = agent.create(&example("refund-small.json"));
    let id = request["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/requests/{id}/decisions");
    let approve = json!({"decision": "approve", "reason": "order checked"}).to_string();
    let reject = json!({"decision": "reject", "reason": "not damaged"}).to_string();
    // Four of each body at once, one key: whichever body commits first
    // owns the key; its retries get its answer, the other body's calls the
    // documented 422 (the old code answered them 409 ILLEGAL_TRANSITION).
    let answers: Vec<(String, u16, Json)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let body = if i % 2 == 0 { &approve } else { &reject }.clone();
                let (alice, path) = (alice.clone(), path.clone());
                s.spawn(move || {
                    let a = alice.send(
                        alice
                            .request(reqwest::Method::POST, &path)
                            .header("content-type", "application/json")
                            .header("idempotency-key", "one-key")
                            .body(body.clone()),
                    );
                    (body, a.status, a.json)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let (_, now) = agent.get(&format!("/v1/requests/{id}"));
    let winner = if now["state"] == "approved" {
        &approve
    } else {
        &reject
    };
    assert!(
        now["state"] == "approved" || now["state"] == "rejected",
        "{now}"
    );
    for (body, status, answer) in &answers {
        if body == winner {
            assert_eq!(*status, 200, "{answer}");
            assert_eq!(answer["state"], now["state"], "{answer}");
        } else {
            assert_eq!(*status, 422, "{answer}");
            assert_eq!(answer["code"], "IDEMPOTENCY_KEY_REUSED", "{answer}");
        }
    }
}

#[test]
fn an_escalation_role_cannot_approve_above_its_own_limit() {
    let server = start_on(escalation_policy());
    let agent = server.as_token(&server.key("agent-7", &["request", "execute"], &[]));
    let jane = server.as_token(&server.key("jane", &["approve", "read"], &["junior"]));

    // 500 is above `junior`'s limit of 100: escalation changes who decides,
    // not what they may approve (the old code approved, then executed it).
    let big = action("limited", json!({"amount": 500}));
    let request = escalated(&agent, &jane, &big, "junior");
    let id = request["id"].as_str().unwrap();
    let refused = jane.post_text(
        &format!("/v1/requests/{id}/decisions"),
        &json!({"decision": "approve", "reason": "escalated to me"}).to_string(),
    );
    assert_problem(&refused, 403, "OVER_APPROVER_LIMIT");
    // Pending still (or rejected, should its deadline pass meanwhile on a
    // loaded machine): never approved, never executable.
    let (_, held) = agent.get(&format!("/v1/requests/{id}"));
    assert_eq!(held["approvals"], json!([]), "{held}");
    assert_ne!(held["state"], "approved", "{held}");
    let (status, claim) = agent.claim(id, &big);
    assert_eq!(status, 409, "{claim}");

    // Within the limit, the escalation role approves alone (with a reason,
    // refused with the documented code without one).
    let small = action("limited", json!({"amount": 50}));
    let request = escalated(&agent, &jane, &small, "junior");
    let id = request["id"].as_str().unwrap();
    let bare = jane.post_text(
        &format!("/v1/requests/{id}/decisions"),
        &json!({"decision": "approve"}).to_string(),
    );
    assert_problem(&bare, 422, "REASON_REQUIRED");
    let (status, body) = jane.review(id, "approve", "escalated to me");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["state"], "approved");
    let (status, body) = agent.claim(id, &small);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["state"], "executing");
}

#[test]
fn an_escalated_request_still_needs_the_tiers_require_condition() {
    let server = start_on(escalation_policy());
    let agent = server.as_token(&server.key("agent-7", &["request", "execute"], &[]));
    let dora = server.as_token(&server.key("dora", &["approve", "read"], &["director"]));

    // The window is closed: no approval can make it executable (the old
    // code let the escalation role approve it and the claim execute it).
    let closed = action("windowed", json!({"change_window": {"open": false}}));
    let request = escalated(&agent, &dora, &closed, "director");
    let id = request["id"].as_str().unwrap();
    let refused = dora.post_text(
        &format!("/v1/requests/{id}/decisions"),
        &json!({"decision": "approve", "reason": "escalated to me"}).to_string(),
    );
    assert_problem(&refused, 409, "CONDITION_NOT_MET");
    assert_eq!(refused.json["state"], "pending", "{}", refused.text);
    let (_, held) = agent.get(&format!("/v1/requests/{id}"));
    assert_eq!(held["approvals"], json!([]), "{held}");
    let (status, claim) = agent.claim(id, &closed);
    assert_eq!(status, 409, "{claim}");

    // Open, the same path approves and executes.
    let open = action("windowed", json!({"change_window": {"open": true}}));
    let request = escalated(&agent, &dora, &open, "director");
    let id = request["id"].as_str().unwrap();
    let (status, body) = dora.review(id, "approve", "window is open");
    assert_eq!(status, 200, "{body}");
    let (status, body) = agent.claim(id, &open);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["state"], "executing");
}

/// Replaces `from` by `to` in the policy file `path` (which must hold it).
fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{} lacks {from:?}", path.display());
    std::fs::write(path, text.replace(from, to)).unwrap();
}

#[test]
fn a_request_escalates_once_even_after_a_claim_reopened_it() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("escalation.gate");
    std::fs::copy(escalation_policy().join("escalation.gate"), &policy).unwrap();
    let server = start_on(dir.path().to_owned());
    let admin = server.as_token(&server.admin);
    let agent = server.as_token(&server.key("agent-7", &["request", "execute"], &[]));
    let jane = server.as_token(&server.key("jane", &["approve", "read"], &["junior"]));

    let small = action("limited", json!({"amount": 50}));
    let request = escalated(&agent, &jane, &small, "junior");
    let id = request["id"].as_str().unwrap();
    let (status, body) = jane.review(id, "approve", "escalated to me");
    assert_eq!(status, 200, "{body}");

    // Stricter now: two people. The claim reopens the request under it.
    edit(
        &policy,
        "  outcome explicit\n  approve reviewer\n  timeout 3s then escalate to junior",
        "  outcome dual\n  approve reviewer and senior\n  timeout 3s then escalate to junior",
    );
    let (status, body) = admin.post("/v1/admin/reload", &json!({}));
    assert_eq!(status, 200, "{body}");
    let claim = agent.post_text(&format!("/v1/requests/{id}/claim"), &small.to_string());
    assert_problem(&claim, 409, "REAPPROVAL_REQUIRED");
    let (_, reopened) = agent.get(&format!("/v1/requests/{id}"));
    assert_eq!(reopened["state"], "pending", "{reopened}");

    // Its new deadline passes: it was escalated once already, so it is
    // rejected (the old code escalated it a second time).
    let after = wait_past(&jane, id, reopened["version"].as_i64().unwrap());
    assert_eq!(after["state"], "rejected", "{after}");
    let escalations = transitions(&server, id)
        .into_iter()
        .filter(|(event, ..)| event == "escalate")
        .count();
    assert_eq!(escalations, 1);
}

/// A `queue` request of the shipped policy (a support reply draft).
fn draft(ticket: u32) -> Json {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/actions/support-reply-draft.yaml");
    let text = std::fs::read_to_string(path).unwrap();
    let mut doc: Json = serde_yaml::from_str(&text).unwrap();
    doc["action"]["summary"] = json!(format!("Draft a reply to ticket T-{ticket}"));
    doc
}

#[test]
fn a_batch_review_bounds_its_reason_as_a_single_review_does() {
    let server = Server::start();
    let agent = server.as_token(&server.key("agent-support-drafter", &["request"], &[]));
    let quinn = server.as_token(&server.key("quinn", &["approve"], &["support_queue"]));
    let ids: Vec<String> = (0..3)
        .map(|i| {
            let r = agent.create(&draft(200 + i));
            assert_eq!(r["outcome"], "queue", "{r}");
            r["id"].as_str().unwrap().to_owned()
        })
        .collect();
    // One byte over the documented 4096: refused, as for one review (the
    // old code kept it, copied into every request, record and credential).
    let long = "x".repeat(4097);
    let single = quinn.post_text(
        &format!("/v1/requests/{}/decisions", ids[0]),
        &json!({"decision": "approve", "reason": long}).to_string(),
    );
    assert_problem(&single, 422, "INVALID_BODY");
    let batch = quinn.post_text(
        "/v1/decisions",
        &json!({"requests": ids, "decision": "approve", "reason": long}).to_string(),
    );
    assert_problem(&batch, 422, "INVALID_BODY");
    assert_eq!(
        batch.json["errors"][0]["path"], "$.reason",
        "{}",
        batch.text
    );
    for id in &ids {
        let (_, now) = quinn.get(&format!("/v1/requests/{id}"));
        assert_eq!(now["state"], "pending", "{now}");
    }
    // At the bound, the batch approves.
    let (status, body) = quinn.post(
        "/v1/decisions",
        &json!({"requests": ids, "decision": "approve", "reason": "x".repeat(4096)}),
    );
    assert_eq!(status, 200, "{body}");
    for r in body["results"].as_array().unwrap() {
        assert_eq!(r["status"], 200, "{r}");
    }
}

#[test]
fn every_review_without_a_reason_is_reason_required_at_its_path() {
    let server = Server::start();
    let agent = server.as_token(&server.key("agent-refunds", &["request", "execute"], &[]));
    let alice = server.as_token(&server.key("alice", &["approve"], &["support_lead"]));
    let request = agent.create(&example("refund-small.json"));
    let path = format!("/v1/requests/{}/decisions", request["id"].as_str().unwrap());
    // docs/service.md: a reason "is required for explicit and dual
    // approvals, rejections and change requests (422 REASON_REQUIRED
    // without one)"; the old code said INVALID_BODY for all but approvals.
    for body in [
        json!({"decision": "approve"}),
        json!({"decision": "reject"}),
        json!({"decision": "request_changes"}),
        json!({"decision": "reject", "reason": " \u{200B} "}),
    ] {
        let answer = alice.post_text(&path, &body.to_string());
        assert_problem(&answer, 422, "REASON_REQUIRED");
        assert_eq!(
            answer.json["errors"][0]["path"], "$.reason",
            "{body}: {}",
            answer.text
        );
    }
    let (_, now) = agent.get(&format!("/v1/requests/{}", request["id"].as_str().unwrap()));
    assert_eq!(now["state"], "pending", "{now}");
    assert_eq!(now["approvals"], json!([]), "{now}");
}

#[test]
fn a_look_alike_spelling_of_the_requester_cannot_approve() {
    // Other dashes, a minus sign, Cyrillic letters: the engine's identity
    // normalization folds UTS #39 confusables, so each is the requester.
    let server = crate::harness::Server::start();
    let agent = server.as_token(&server.key("agent-access-broker", &["request"], &[]));
    let action = crate::harness::example("iam-change.json");
    let id = agent.create(&action)["id"].as_str().unwrap().to_owned();
    for look_alike in ["u\u{2010}9120", "u\u{2212}9120", "U\u{2013}9120", "u-912O"] {
        let reviewer =
            server.as_token(&server.key(look_alike, &["approve"], &["security_approver"]));
        let (status, refused) = reviewer.review(&id, "approve", "fine");
        assert_eq!(status, 403, "{look_alike:?}: {refused}");
        assert!(
            ["SELF_APPROVAL", "EXCLUDED_IDENTITY"]
                .contains(&refused["code"].as_str().unwrap_or("")),
            "{look_alike:?}: {refused}"
        );
    }
    // The agent's key spelled with a Cyrillic `а` is the requester too.
    let twin = server.as_token(&server.key(
        "\u{0430}gent-access-broker",
        &["approve"],
        &["security_approver"],
    ));
    let (status, refused) = twin.review(&id, "approve", "fine");
    assert_eq!(
        (status, refused["code"].as_str()),
        (403, Some("SELF_APPROVAL")),
        "{refused}"
    );
}

//! `Idempotency-Key` on request creation and reviews: a retry answers the
//! first answer and changes nothing; a key reused for another body is 422;
//! keys belong to their caller.

use reqwest::Method;
use serde_json::{Value as Json, json};

use crate::harness::{Answer, Client, Server, assert_problem, example};

fn post_with_key(client: &Client, path: &str, key: &str, body: &Json) -> Answer {
    client.send(
        client
            .request(Method::POST, path)
            .header("content-type", "application/json")
            .header("idempotency-key", key)
            .body(body.to_string()),
    )
}

/// How many requests the store holds (as the admin sees them).
fn request_count(server: &Server) -> usize {
    let (status, list) = server.as_token(&server.admin).get("/v1/requests?limit=500");
    assert_eq!(status, 200, "{list}");
    list["requests"].as_array().unwrap().len()
}

#[test]
fn a_retried_create_answers_the_same_body_and_creates_one_request() {
    let server = Server::start();
    let agent = server.as_token(&server.key("agent-refunds", &["request"], &[]));
    let action = example("refund-small.json");
    let first = post_with_key(&agent, "/v1/requests", "order-4711-refund", &action);
    assert_eq!(first.status, 201, "{}", first.text);
    for _ in 0..3 {
        let again = post_with_key(&agent, "/v1/requests", "order-4711-refund", &action);
        assert_eq!(again.status, 201, "{}", again.text);
        assert_eq!(again.text, first.text, "the stored answer, byte for byte");
    }
    assert_eq!(request_count(&server), 1);
    // Without a key, the same body is a new request.
    agent.create(&action);
    assert_eq!(request_count(&server), 2);
}

#[test]
fn a_key_reused_for_another_body_is_refused() {
    let server = Server::start();
    let agent = server.as_token(&server.key("agent-refunds", &["request"], &[]));
    let first = post_with_key(&agent, "/v1/requests", "k-1", &example("refund-small.json"));
    assert_eq!(first.status, 201, "{}", first.text);
    let other = post_with_key(&agent, "/v1/requests", "k-1", &example("iam-change.json"));
    assert_problem(&other, 422, "IDEMPOTENCY_KEY_REUSED");
    assert_eq!(request_count(&server), 1);
}

#[test]
fn bad_keys_are_refused_before_anything_is_created() {
    let server = Server::start();
    let agent = server.as_token(&server.key("agent-refunds", &["request"], &[]));
    let long = "k".repeat(256);
    for key in ["", "has space", long.as_str(), "tab\there"] {
        let a = post_with_key(&agent, "/v1/requests", key, &example("refund-small.json"));
        assert_problem(&a, 400, "INVALID_IDEMPOTENCY_KEY");
    }
    let two = agent.send(
        agent
            .request(Method::POST, "/v1/requests")
            .header("content-type", "application/json")
            .header("idempotency-key", "a")
            .header("idempotency-key", "b")
            .body(example("refund-small.json").to_string()),
    );
    assert_problem(&two, 400, "INVALID_IDEMPOTENCY_KEY");
    assert_eq!(request_count(&server), 0);
}

#[test]
fn concurrent_creates_with_one_key_create_one_request() {
    let server = Server::start();
    let agent = server.as_token(&server.key("agent-refunds", &["request"], &[]));
    let action = example("refund-small.json");
    let answers: Vec<Answer> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| s.spawn(|| post_with_key(&agent, "/v1/requests", "same-key", &action)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for a in &answers {
        assert_eq!(a.status, 201, "{}", a.text);
        assert_eq!(a.json["id"], answers[0].json["id"], "{}", a.text);
    }
    assert_eq!(request_count(&server), 1);
}

#[test]
fn keys_belong_to_their_caller() {
    let server = Server::start();
    let one = server.as_token(&server.key("agent-refunds", &["request"], &[]));
    let two = server.as_token(&server.key("agent-billing", &["request"], &[]));
    let action = example("refund-small.json");
    let a = post_with_key(&one, "/v1/requests", "shared-key", &action);
    let b = post_with_key(&two, "/v1/requests", "shared-key", &action);
    assert_eq!((a.status, b.status), (201, 201), "{} {}", a.text, b.text);
    assert_ne!(a.json["id"], b.json["id"]);
    assert_eq!(b.json["requester"], "agent-billing");
    // Another caller's key never replays the first caller's answer, even
    // with another body.
    let c = post_with_key(
        &two,
        "/v1/requests",
        "only-one",
        &example("iam-change.json"),
    );
    let d = post_with_key(&one, "/v1/requests", "only-one", &action);
    assert_eq!((c.status, d.status), (201, 201), "{} {}", c.text, d.text);
    assert_eq!(request_count(&server), 4);
}

#[test]
fn a_retried_review_answers_the_same_body_and_approves_once() {
    let server = Server::start();
    let agent = server.as_token(&server.key("agent-refunds", &["request"], &[]));
    let lead = server.as_token(&server.key("alice", &["approve"], &["support_lead"]));
    let id = agent.create(&example("refund-small.json"))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/v1/requests/{id}/decisions");
    let review = json!({"decision": "approve", "reason": "order checked"});
    let first = post_with_key(&lead, &path, "review-1", &review);
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.json["state"], "approved");
    let again = post_with_key(&lead, &path, "review-1", &review);
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.text, first.text);
    // Without the key, a second approval of an approved request is a
    // conflict: the replay above did not run the review again.
    let (status, _) = lead.review(&id, "approve", "order checked");
    assert_eq!(status, 409);
    let other = post_with_key(
        &lead,
        &path,
        "review-1",
        &json!({"decision": "reject", "reason": "changed my mind"}),
    );
    assert_problem(&other, 422, "IDEMPOTENCY_KEY_REUSED");
    let (_, request) = lead.get(&format!("/v1/requests/{id}"));
    assert_eq!(
        request["approvals"].as_array().unwrap().len(),
        1,
        "{request}"
    );
    assert_eq!(request["state"], "approved");
}

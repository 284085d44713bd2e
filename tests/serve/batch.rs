//! Batch review of low-risk (`queue`) requests: one reviewer, many
//! requests, each judged as a single review would be.

use serde_json::{Value as Json, json};

use crate::harness::Server;

fn draft(ticket: u32) -> Json {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/actions/support-reply-draft.yaml");
    let text = std::fs::read_to_string(path).unwrap();
    let mut doc: Json = serde_yaml::from_str(&text).unwrap();
    doc["action"]["summary"] = json!(format!("Draft a reply to ticket T-{ticket}"));
    doc
}

#[test]
fn a_batch_approves_each_queue_request_and_refuses_the_others_one_by_one() {
    let server = Server::start();
    let agent = server.as_token(&server.key("agent-support-drafter", &["request"], &[]));
    let reviewer = server.as_token(&server.key(
        "queue-reviewer",
        &["approve"],
        &["support_queue", "support_lead"],
    ));
    let drafts: Vec<String> = (0..3)
        .map(|i| {
            let r = agent.create(&draft(100 + i));
            assert_eq!(r["outcome"], "queue", "{r}");
            r["id"].as_str().unwrap().to_owned()
        })
        .collect();
    let refund = agent.create(&crate::harness::example("refund-small.json"));
    let refund_id = refund["id"].as_str().unwrap().to_owned();

    let mut ids = drafts.clone();
    ids.push(refund_id.clone());
    let (status, body) = reviewer.post(
        "/v1/decisions",
        &json!({"requests": ids, "decision": "approve", "reason": "drafts read"}),
    );
    assert_eq!(status, 200, "{body}");
    let results = body["results"].as_array().unwrap();
    assert_eq!(results.len(), 4);
    for (r, id) in results.iter().zip(&drafts) {
        assert_eq!(r["id"], json!(id));
        assert_eq!(r["status"], 200, "{r}");
        assert_eq!(r["request"]["state"], "approved", "{r}");
    }
    assert_eq!(results[3]["status"], 403);
    assert_eq!(results[3]["problem"]["code"], "BATCH_NOT_ALLOWED");
    let (_, refund_now) = reviewer.get(&format!("/v1/requests/{refund_id}"));
    assert_eq!(
        refund_now["state"], "pending",
        "an explicit request is never approved in a batch"
    );
}

#[test]
fn a_batch_is_validated_before_anything_changes() {
    let server = Server::start();
    let agent = server.as_token(&server.key("agent-support-drafter", &["request"], &[]));
    let reviewer = server.as_token(&server.key("queue-reviewer", &["approve"], &["support_queue"]));
    let id = agent.create(&draft(7))["id"].as_str().unwrap().to_owned();
    for body in [
        json!({"requests": [], "decision": "approve"}),
        json!({"requests": [id, id], "decision": "approve"}),
        json!({"requests": [id, "req_../../x"], "decision": "approve"}),
        json!({"requests": [id], "decision": "request_changes", "reason": "no"}),
        json!({"requests": [id], "decision": "approve", "approver": "someone-else"}),
    ] {
        let (status, problem) = reviewer.post("/v1/decisions", &body);
        assert_eq!(status, 422, "{body} -> {problem}");
        assert!(problem["code"].is_string());
    }
    let (_, now) = reviewer.get(&format!("/v1/requests/{id}"));
    assert_eq!(now["state"], "pending");
    // The requester's own key cannot batch-approve its requests either.
    let own =
        server.as_token(&server.key("agent-support-drafter", &["approve"], &["support_queue"]));
    let (_, body) = own.post(
        "/v1/decisions",
        &json!({"requests": [id], "decision": "approve"}),
    );
    assert_eq!(
        body["results"][0]["problem"]["code"], "SELF_APPROVAL",
        "{body}"
    );
}

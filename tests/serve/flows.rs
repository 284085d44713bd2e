//! The full life of refunds, IAM changes and blocked actions.

use serde_json::{Value as Json, json};

use crate::harness::{Server, assert_problem, example};

#[test]
fn a_refund_is_requested_approved_claimed_once_executed_and_verified() {
    let server = Server::start();
    let agent = server.as_token(&server.key("agent-refunds", &["request", "execute"], &[]));
    let lead = server.as_token(&server.key("alice", &["approve"], &["support_lead"]));
    let action = example("refund-small.json");

    let request = agent.create(&action);
    assert_eq!(request["state"], "pending");
    assert_eq!(request["roles"], json!(["support_lead"]));
    assert!(request["deadline"].is_string());
    let id = request["id"].as_str().unwrap().to_owned();

    // Not approved yet: no claim.
    let early = agent.send(
        agent
            .request(reqwest::Method::POST, &format!("/v1/requests/{id}/claim"))
            .header("content-type", "application/json")
            .body(action.to_string()),
    );
    assert_problem(&early, 409, "ILLEGAL_TRANSITION");

    let (status, approved) = lead.review(&id, "approve", "order checked, damaged in transit");
    assert_eq!(status, 200, "{approved}");
    assert_eq!(approved["state"], "approved");
    let credential = approved["approvals"][0]["credential"].as_str().unwrap();
    assert_eq!(credential.split('.').count(), 3, "a compact JWS");

    let (status, claimed) = agent.claim(&id, &action);
    assert_eq!(status, 200, "{claimed}");
    assert_eq!(claimed["state"], "executing");
    let second = agent.send(
        agent
            .request(reqwest::Method::POST, &format!("/v1/requests/{id}/claim"))
            .header("content-type", "application/json")
            .body(action.to_string()),
    );
    assert_problem(&second, 409, "ALREADY_CLAIMED");

    let (status, done) = agent.post(
        &format!("/v1/requests/{id}/executed"),
        &json!({"result": "succeeded", "tool_call_id": "call-1"}),
    );
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["state"], "executed");
    let (status, verified) = agent.post(
        &format!("/v1/requests/{id}/verified"),
        &json!({"matched": true}),
    );
    assert_eq!(status, 200, "{verified}");
    assert_eq!(verified["state"], "verified");

    // One audit record per step, chained.
    let audit = server.as_token(&server.admin).send(
        server
            .as_token(&server.admin)
            .request(reqwest::Method::GET, &format!("/v1/requests/{id}/audit")),
    );
    let lines: Vec<Json> = audit
        .text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let steps: Vec<(&str, &str)> = lines
        .iter()
        .filter(|l| l["record"] == "transition")
        .map(|l| (l["from"].as_str().unwrap(), l["to"].as_str().unwrap()))
        .collect();
    assert_eq!(
        steps,
        [
            ("requested", "decided"),
            ("decided", "pending"),
            ("pending", "approved"),
            ("approved", "executing"),
            ("executing", "executed"),
            ("executed", "verified"),
        ]
    );
    assert_eq!(lines[0]["record"], "decision");
    for pair in lines.windows(2) {
        assert_eq!(
            pair[1]["seq"].as_u64(),
            pair[0]["seq"].as_u64().map(|s| s + 1)
        );
    }
}

#[test]
fn an_iam_change_needs_two_distinct_people_and_refuses_the_requester() {
    let server = Server::start();
    let agent = server.as_token(&server.key("agent-access-broker", &["request", "execute"], &[]));
    // u-9120 is the requester named in the action: separation of duties.
    let requester = server.as_token(&server.key("u-9120", &["approve"], &["security_approver"]));
    let owner = server.as_token(&server.key("U-2100", &["approve"], &["change_manager"]));
    let security = server.as_token(&server.key(
        "sam",
        &["approve"],
        &["security_approver", "change_manager"],
    ));
    let change = server.as_token(&server.key("carol", &["approve"], &["change_manager"]));
    let action = example("iam-change.json");
    let request = agent.create(&action);
    assert_eq!(request["state"], "pending");
    assert_eq!(request["outcome"], "dual");
    let id = request["id"].as_str().unwrap();

    let (status, refused) = requester.review(id, "approve", "looks fine");
    assert_eq!(status, 403, "{refused}");
    assert_eq!(refused["code"], "SELF_APPROVAL");
    // The agent's owner, spelled in capitals, is the same person.
    let (status, refused) = owner.review(id, "approve", "looks fine");
    assert_eq!(status, 403, "{refused}");
    assert_eq!(refused["code"], "EXCLUDED_IDENTITY");

    let (status, one) = security.review(id, "approve", "least privilege kept");
    assert_eq!(status, 200, "{one}");
    assert_eq!(one["state"], "pending", "dual needs a second person");
    let (status, again) = security.review(id, "approve", "again");
    assert_eq!(status, 409, "{again}");
    assert_eq!(again["code"], "SAME_APPROVER_TWICE");
    let (status, two) = change.review(id, "approve", "change ticket CHG-1 open");
    assert_eq!(status, 200, "{two}");
    assert_eq!(two["state"], "approved");
    let (status, claimed) = agent.claim(id, &action);
    assert_eq!(status, 200, "{claimed}");
}

#[test]
fn a_blocked_action_is_held_blocked_and_never_claimable() {
    let server = Server::start();
    let agent = server.as_token(&server.key("agent", &["request", "execute"], &[]));
    let action = example("invalid-input.json");
    let request = agent.create(&action);
    assert_eq!(request["state"], "blocked");
    assert_eq!(request["outcome"], "block");
    let id = request["id"].as_str().unwrap();
    let (status, refused) = agent.claim(id, &action);
    assert_eq!(status, 409, "{refused}");
    assert_eq!(refused["code"], "REQUEST_FINAL");
}

#[test]
fn an_auto_action_is_approved_at_once_and_claimed_once() {
    let server = Server::start();
    let agent = server.as_token(&server.key("agent", &["request", "execute"], &[]));
    let action = example("internal-summary.json");
    let request = agent.create(&action);
    assert_eq!(request["state"], "approved");
    let id = request["id"].as_str().unwrap();
    let (status, _) = agent.claim(id, &action);
    assert_eq!(status, 200);
    let (status, refused) = agent.claim(id, &action);
    assert_eq!(
        (status, refused["code"].as_str()),
        (409, Some("ALREADY_CLAIMED"))
    );
}

#[test]
fn a_claim_with_another_action_is_refused() {
    let server = Server::start();
    let agent = server.as_token(&server.key("agent", &["request", "execute"], &[]));
    let action = example("internal-summary.json");
    let request = agent.create(&action);
    let id = request["id"].as_str().unwrap();
    let mut other = action.clone();
    other["action"]["summary"] = json!("something else entirely");
    let (status, refused) = agent.claim(id, &other);
    assert_eq!(
        (status, refused["code"].as_str()),
        (409, Some("DIGEST_MISMATCH")),
        "{refused}"
    );
    let (_, now) = agent.get(&format!("/v1/requests/{id}"));
    assert_eq!(now["state"], "approved", "a refused claim changes nothing");
}

#[test]
fn concurrent_claims_grant_exactly_one() {
    let server = Server::start();
    let agent = server.as_token(&server.key("agent", &["request", "execute"], &[]));
    let action = example("internal-summary.json");
    for _ in 0..5 {
        let request = agent.create(&action);
        let id = request["id"].as_str().unwrap().to_owned();
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let agent = agent.clone();
                let id = id.clone();
                let action = action.clone();
                std::thread::spawn(move || agent.claim(&id, &action).0)
            })
            .collect();
        let statuses: Vec<u16> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        assert_eq!(
            statuses.iter().filter(|s| **s == 200).count(),
            1,
            "{statuses:?}"
        );
        assert!(
            statuses.iter().all(|s| *s == 200 || *s == 409),
            "{statuses:?}"
        );
    }
}

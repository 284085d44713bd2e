//! Edges between transitions: what a webhook receiver is told about the
//! order of a request's changes.

use serde_json::json;

use crate::harness::{Options, Server, example};
use crate::webhooks::{Receiver, Reply, webhook_toml};

/// docs/service-operations.md: deliveries may arrive out of order, "so
/// order them by `request.version`". Each payload carried the version the
/// request had *before* the transition (read in the store's update, stamped
/// on commit after the payload was written), so `pending` and `approved`
/// both said 1 and a receiver could not order them.
#[test]
fn each_webhook_announces_the_version_its_transition_committed() {
    let hook = Receiver::start(|_| Reply::Status(200));
    let server = Server::start_with(Options {
        config: Some(webhook_toml(&hook.url, "GH_TEST_RACES_SECRET", "")),
        env: vec![("GH_TEST_RACES_SECRET".into(), "whsec-races".into())],
        ..Options::default()
    });
    let agent = server.as_token(&server.key("agent-refunds", &["request", "execute"], &[]));
    let lead = server.as_token(&server.key("alice", &["approve"], &["support_lead"]));
    let action = example("refund-small.json");

    let created = agent.create(&action);
    let id = created["id"].as_str().unwrap().to_owned();
    let (status, approved) = lead.review(&id, "approve", "damaged in transit");
    assert_eq!(status, 200, "{approved}");
    let (status, claimed) = agent.claim(&id, &action);
    assert_eq!(status, 200, "{claimed}");
    let (status, executed) = agent.post(
        &format!("/v1/requests/{id}/executed"),
        &json!({"refund": "done"}),
    );
    assert_eq!(status, 200, "{executed}");

    let answered = [&created, &approved, &claimed, &executed];
    let got = hook.wait_for(answered.len());
    assert_eq!(got.len(), answered.len(), "one delivery per transition");
    for answer in answered {
        let state = answer["state"].as_str().unwrap();
        let delivery = got
            .iter()
            .map(|g| g.json())
            .find(|g| g["request"]["state"] == state)
            .unwrap_or_else(|| panic!("no delivery for {state}: {got:?}"));
        assert_eq!(
            delivery["request"]["version"], answer["version"],
            "the {state} delivery names the version the API answered: {delivery}"
        );
    }
}

//! Edges between transitions: what a webhook receiver is told about the
//! order of a request's changes, and a key revoked while a wait is held.

use std::io::{BufRead as _, BufReader};

use reqwest::Method;
use serde_json::{Value as Json, json};

use crate::harness::{Options, Server, example};
use crate::webhooks::{Got, Receiver, Reply, webhook_toml};

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
    // Delivery is at least once: on a loaded machine an attempt that
    // outlives its timeout is sent again under the same delivery id
    // (`Idempotency-Key`), as receivers are told to expect. So count
    // distinct deliveries, and wait until every transition's has come.
    let mut wanted = answered.len();
    let got = loop {
        let got = hook.wait_for(wanted);
        let mut distinct: Vec<Got> = Vec::new();
        for g in got {
            if !distinct
                .iter()
                .any(|d| d.header("idempotency-key") == g.header("idempotency-key"))
            {
                distinct.push(g);
            }
        }
        if distinct.len() >= answered.len() {
            break distinct;
        }
        wanted += 1;
    };
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

/// docs/service-auth.md: "A revoked key is refused at once." An event
/// stream opened before the revocation went on sending the request's every
/// change (its whole view: input, approvals) to the revoked key until the
/// wait cap. Now the revocation ends the stream before it is answered.
#[test]
fn a_revoked_key_gets_no_change_on_an_event_stream_it_opened_before() {
    let server = Server::start_with(Options {
        config: Some("[limits]\nmax_wait_seconds = 30\n".into()),
        ..Options::default()
    });
    let admin = server.as_token(&server.admin);
    let (status, made) = admin.post(
        "/v1/admin/keys",
        &json!({"identity": "agent-refunds", "scopes": ["request"], "roles": []}),
    );
    assert_eq!(status, 201, "{made}");
    let agent = server.as_token(made["key"].as_str().unwrap());
    let key_id = made["id"].as_str().unwrap().to_owned();
    let lead = server.as_token(&server.key("alice", &["approve"], &["support_lead"]));
    let id = agent.create(&example("refund-small.json"))["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let response = agent
        .request(Method::GET, &format!("/v1/requests/{id}/events"))
        .send()
        .expect("the stream opens");
    assert_eq!(response.status(), 200);
    let mut states = Vec::new();
    for line in BufReader::new(response).lines() {
        let Ok(line) = line else { break };
        let Some(data) = line.strip_prefix("data:") else {
            continue;
        };
        let view: Json = serde_json::from_str(data.trim()).expect("data is JSON");
        let state = view["state"].as_str().unwrap().to_owned();
        if state == "pending" {
            // The stream is held: revoke its key, then change the request.
            let revoked =
                admin.send(admin.request(Method::DELETE, &format!("/v1/admin/keys/{key_id}")));
            assert_eq!(revoked.status, 200, "{}", revoked.text);
            let (status, body) = lead.review(&id, "approve", "damaged in transit");
            assert_eq!(status, 200, "{body}");
        }
        states.push(state);
    }
    assert_eq!(states, ["pending"], "no change reaches a revoked key");
}

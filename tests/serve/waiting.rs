//! Waiting for people without a polling loop: the long-poll
//! (`GET /v1/requests/{id}/wait`) and the event stream
//! (`GET /v1/requests/{id}/events`, Server-Sent Events). Changes are made
//! from another thread while the wait is open.

use std::io::{BufRead as _, BufReader};
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value as Json, json};

use crate::harness::{Client, Options, Server, example};

struct Setup {
    /// Kept so the server lives as long as the test (dropping it kills it).
    _server: Server,
    agent: Client,
    lead: Client,
    id: String,
}

fn pending_refund() -> Setup {
    pending_refund_with(Options::default())
}

fn pending_refund_with(options: Options) -> Setup {
    let server = Server::start_with(options);
    let agent = server.as_token(&server.key("agent-refunds", &["request", "execute"], &[]));
    let lead = server.as_token(&server.key("alice", &["approve"], &["support_lead"]));
    let request = agent.create(&example("refund-small.json"));
    assert_eq!(request["state"], "pending");
    let id = request["id"].as_str().unwrap().to_owned();
    Setup {
        _server: server,
        agent,
        lead,
        id,
    }
}

/// Approves after a pause, from another thread, while the caller waits.
fn approve_later(lead: &Client, id: &str) -> std::thread::JoinHandle<()> {
    let lead = lead.clone();
    let id = id.to_owned();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(700));
        let (status, body) = lead.review(&id, "approve", "order checked");
        assert_eq!(status, 200, "{body}");
    })
}

#[test]
fn a_long_poll_returns_when_a_reviewer_approves() {
    let s = pending_refund();
    let approver = approve_later(&s.lead, &s.id);
    // The wait's own cap (60 s) is far above the approval's pause: only a
    // wake-up by the approval answers `changed: true` with `approved`.
    let (status, body) = s
        .agent
        .get(&format!("/v1/requests/{}/wait?timeout=60", s.id));
    approver.join().unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["changed"], true, "{body}");
    assert_eq!(body["state"], "approved", "{body}");
    assert_eq!(body["id"], s.id.as_str());
}

#[test]
fn a_long_poll_answers_unchanged_at_its_timeout() {
    let s = pending_refund();
    let (status, body) = s
        .agent
        .get(&format!("/v1/requests/{}/wait?timeout=1", s.id));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["changed"], false, "{body}");
    assert_eq!(body["state"], "pending");
}

#[test]
fn a_timeout_above_the_cap_is_the_cap() {
    let s = pending_refund_with(Options {
        config: Some("[limits]\nmax_wait_seconds = 1\n".into()),
        ..Options::default()
    });
    // Uncapped, this would outlast the harness client's 120 s timeout and
    // fail; capped at 1 s, it answers unchanged.
    let (status, body) = s
        .agent
        .get(&format!("/v1/requests/{}/wait?timeout=100000", s.id));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["changed"], false, "{body}");
}

#[test]
fn state_and_since_version_forms() {
    let s = pending_refund();
    // Not in `approved` already: answers at once.
    let (_, body) = s.agent.get(&format!(
        "/v1/requests/{}/wait?state=approved&timeout=60",
        s.id
    ));
    assert_eq!(
        (&body["changed"], &body["state"]),
        (&json!(true), &json!("pending"))
    );
    // An older version than the current one: answers at once.
    let version = body["version"].as_i64().unwrap();
    let (_, body) = s.agent.get(&format!(
        "/v1/requests/{}/wait?since_version={}&timeout=60",
        s.id,
        version - 1
    ));
    assert_eq!(body["changed"], true, "{body}");
    // Waiting for it to leave `pending`: the approval ends the wait.
    let approver = approve_later(&s.lead, &s.id);
    let (_, body) = s.agent.get(&format!(
        "/v1/requests/{}/wait?state=pending&timeout=60",
        s.id
    ));
    approver.join().unwrap();
    assert_eq!(
        (&body["changed"], &body["state"]),
        (&json!(true), &json!("approved"))
    );
    let approved_version = body["version"].as_i64().unwrap();
    assert!(approved_version > version);
    // since_version = the current version: nothing changes within 1 s.
    let (_, body) = s.agent.get(&format!(
        "/v1/requests/{}/wait?since_version={approved_version}&timeout=1",
        s.id
    ));
    assert_eq!(body["changed"], false, "{body}");
}

#[test]
fn a_long_poll_on_a_final_request_answers_at_once() {
    let server = Server::start_with(Options {
        config: Some("[limits]\nmax_wait_seconds = 600\n".into()),
        ..Options::default()
    });
    let agent = server.as_token(&server.key("agent-refunds", &["request"], &[]));
    let blocked = agent.create(&example("invalid-input.json"));
    assert_eq!(blocked["state"], "blocked");
    let id = blocked["id"].as_str().unwrap();
    // A 600 s wait would outlast the harness client's 120 s timeout and
    // fail the test: a final request has nothing left to wait for.
    let (status, body) = agent.get(&format!("/v1/requests/{id}/wait?timeout=600"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["state"], "blocked");
}

/// One Server-Sent Event: its name, id and data.
#[derive(Debug)]
struct Event {
    name: String,
    id: String,
    data: Json,
}

/// Reads events until the stream ends, handing each to `on_event`.
fn read_events(
    response: reqwest::blocking::Response,
    mut on_event: impl FnMut(&Event),
) -> Vec<Event> {
    let mut events = Vec::new();
    let (mut name, mut id, mut data) = (String::new(), String::new(), String::new());
    for line in BufReader::new(response).lines() {
        let line = line.expect("read the stream");
        if line.is_empty() {
            if !data.is_empty() {
                let event = Event {
                    name: std::mem::take(&mut name),
                    id: std::mem::take(&mut id),
                    data: serde_json::from_str(&std::mem::take(&mut data)).expect("data is JSON"),
                };
                on_event(&event);
                events.push(event);
            }
        } else if let Some(v) = line.strip_prefix("event:") {
            name = v.trim().to_owned();
        } else if let Some(v) = line.strip_prefix("id:") {
            id = v.trim().to_owned();
        } else if let Some(v) = line.strip_prefix("data:") {
            data.push_str(v.trim_start());
        }
        // `:` lines are keep-alive comments.
    }
    events
}

#[test]
fn the_event_stream_follows_the_request_to_its_final_state_and_closes() {
    let s = pending_refund();
    let response = s
        .agent
        .request(Method::GET, &format!("/v1/requests/{}/events", s.id))
        .send()
        .expect("the stream opens");
    assert_eq!(response.status(), 200);
    let ctype = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(ctype.starts_with("text/event-stream"), "{ctype}");
    let action = example("refund-small.json");
    let (agent, lead, id) = (s.agent.clone(), s.lead.clone(), s.id.clone());
    // Each step is taken after the stream showed the one before: the
    // stream, not timing, drives the life of the request.
    let events = read_events(response, |event| {
        let state = event.data["state"].as_str().unwrap_or("");
        let path = |tail: &str| format!("/v1/requests/{id}/{tail}");
        match state {
            "pending" => assert_eq!(lead.review(&id, "approve", "order checked").0, 200),
            "approved" => assert_eq!(agent.claim(&id, &action).0, 200),
            "executing" => assert_eq!(
                agent.post(&path("executed"), &json!({"result": "ok"})).0,
                200
            ),
            "executed" => assert_eq!(
                agent.post(&path("verified"), &json!({"matched": true})).0,
                200
            ),
            _ => {}
        }
    });
    let states: Vec<&str> = events
        .iter()
        .map(|e| e.data["state"].as_str().unwrap())
        .collect();
    assert_eq!(
        states,
        ["pending", "approved", "executing", "executed", "verified"]
    );
    for event in &events {
        assert_eq!(event.name, "request");
        assert_eq!(event.id, event.data["version"].to_string());
        assert_eq!(event.data["id"], s.id.as_str());
    }
}

#[test]
fn the_event_stream_of_a_rejected_request_ends_at_the_rejection() {
    let s = pending_refund();
    let response = s
        .agent
        .request(Method::GET, &format!("/v1/requests/{}/events", s.id))
        .send()
        .expect("the stream opens");
    let (lead, id) = (s.lead.clone(), s.id.clone());
    let events = read_events(response, |event| {
        if event.data["state"] == "pending" {
            let (status, body) = lead.review(&id, "reject", "not our customer");
            assert_eq!(status, 200, "{body}");
        }
    });
    let states: Vec<&str> = events
        .iter()
        .map(|e| e.data["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["pending", "rejected"]);
}

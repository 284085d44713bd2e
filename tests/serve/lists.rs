//! `GET /v1/requests` filters: state (repeatable and comma lists), tier,
//! role, agent, min_age/max_age, limit and pages by `before`/`next_before`.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::Value as Json;

use crate::harness::{Client, Server, example};

/// The ids a list answers, in order, after checking its shape.
fn ids(client: &Client, query: &str) -> Vec<String> {
    let (status, list) = client.get(&format!("/v1/requests?{query}"));
    assert_eq!(status, 200, "{query}: {list}");
    assert_eq!(list["format"], "gatehouse.request-list/1");
    list["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

fn set(ids: Vec<String>) -> BTreeSet<String> {
    ids.into_iter().collect()
}

fn id_of(request: &Json) -> String {
    request["id"].as_str().unwrap().to_owned()
}

/// Five requests in four states, three tiers and two agents.
struct Seeded {
    server: Server,
    small: Json,
    large: Json,
    iam: Json,
    auto: Json,
    blocked: Json,
}

fn seeded() -> Seeded {
    let server = Server::start();
    let agent = server.as_token(&server.key("agent-one", &["request"], &[]));
    let small = agent.create(&example("refund-small.json"));
    let large = agent.create(&example("refund-large.json"));
    let iam = agent.create(&example("iam-change.json"));
    let auto = agent.create(&example("internal-summary.json"));
    let blocked = agent.create(&example("invalid-input.json"));
    assert_eq!(small["state"], "pending");
    assert_eq!(large["state"], "pending");
    assert_eq!(iam["state"], "pending");
    assert_eq!(auto["state"], "approved");
    assert_eq!(blocked["state"], "blocked");
    Seeded {
        server,
        small,
        large,
        iam,
        auto,
        blocked,
    }
}

#[test]
fn state_tier_role_and_agent_filters_narrow_the_list() {
    let s = seeded();
    let reader = s.server.as_token(&s.server.key("auditor", &["read"], &[]));
    let all = set(ids(&reader, ""));
    assert_eq!(all.len(), 5);
    let pending = set([&s.small, &s.large, &s.iam].map(id_of).to_vec());
    assert_eq!(set(ids(&reader, "state=pending")), pending);
    let done = set([&s.auto, &s.blocked].map(id_of).to_vec());
    assert_eq!(set(ids(&reader, "state=approved,blocked")), done);
    assert_eq!(set(ids(&reader, "state=approved&state=blocked")), done);
    assert_eq!(set(ids(&reader, "state=approved%2Cblocked")), done);
    assert!(ids(&reader, "state=verified").is_empty());

    let tier = s.small["tier"].as_i64().unwrap();
    assert_eq!(s.large["tier"].as_i64(), Some(tier));
    assert_ne!(s.iam["tier"].as_i64(), Some(tier));
    assert_eq!(
        set(ids(&reader, &format!("tier={tier}"))),
        set([&s.small, &s.large].map(id_of).to_vec())
    );
    assert_eq!(
        set(ids(&reader, &format!("tier={tier}&state=blocked"))),
        BTreeSet::new()
    );

    assert_eq!(ids(&reader, "role=support_lead"), [id_of(&s.small)]);
    assert_eq!(ids(&reader, "role=security_approver"), [id_of(&s.iam)]);
    // A role is matched whole, and LIKE's wildcards are plain characters.
    for role in ["support", "support_lea", "%25", "_", "support%25"] {
        assert!(ids(&reader, &format!("role={role}")).is_empty(), "{role}");
    }

    let agent = s.small["agent"].as_str().unwrap().to_owned();
    let by_agent = set(ids(&reader, &format!("agent={agent}")));
    assert!(by_agent.contains(&id_of(&s.small)), "{by_agent:?}");
    for request in [&s.small, &s.large, &s.iam, &s.auto, &s.blocked] {
        assert_eq!(
            by_agent.contains(&id_of(request)),
            request["agent"] == agent.as_str(),
            "{request}"
        );
    }
    assert!(ids(&reader, "agent=nobody-at-all").is_empty());
}

#[test]
fn pages_by_before_cover_the_list_once_in_order() {
    let s = seeded();
    let reader = s.server.as_token(&s.server.key("auditor", &["read"], &[]));
    let whole = ids(&reader, "");
    assert_eq!(whole.len(), 5);
    let mut sorted = whole.clone();
    sorted.sort();
    sorted.reverse();
    assert_eq!(whole, sorted, "newest (largest id) first");

    let mut paged = Vec::new();
    let mut query = "limit=2".to_owned();
    for _ in 0..10 {
        let (status, page) = reader.get(&format!("/v1/requests?{query}"));
        assert_eq!(status, 200, "{page}");
        let got = page["requests"].as_array().unwrap();
        assert!(got.len() <= 2, "{page}");
        paged.extend(got.iter().map(id_of));
        match page["next_before"].as_str() {
            Some(next) => query = format!("limit=2&before={next}"),
            None => break,
        }
    }
    assert_eq!(paged, whole);
    assert_eq!(ids(&reader, "limit=1"), whole[..1]);
    // A limit over the cap is the cap, not an error.
    assert_eq!(ids(&reader, "limit=100000").len(), 5);
    // Filters and pages compose.
    let pending = ids(&reader, "state=pending&limit=1");
    assert_eq!(pending.len(), 1);
    let rest = ids(&reader, &format!("state=pending&before={}", pending[0]));
    assert_eq!(rest.len(), 2);
    assert!(!rest.contains(&pending[0]));
}

#[test]
fn ages_select_older_and_younger_requests() {
    let server = Server::start();
    let agent = server.as_token(&server.key("agent-one", &["request"], &[]));
    let reader = server.as_token(&server.key("auditor", &["read"], &[]));
    let old = id_of(&agent.create(&example("refund-small.json")));
    // Ages are whole seconds: four seconds apart, the requests fall on
    // either side of a two-second age whatever the sub-second phase.
    std::thread::sleep(Duration::from_secs(4));
    let young = id_of(&agent.create(&example("refund-small.json")));
    assert_eq!(ids(&reader, "min_age=2"), std::slice::from_ref(&old));
    assert_eq!(ids(&reader, "max_age=2"), std::slice::from_ref(&young));
    assert_eq!(ids(&reader, "min_age=0").len(), 2);
    assert!(ids(&reader, "min_age=3600").is_empty());
    assert!(ids(&reader, "min_age=2&max_age=2").is_empty());
    assert_eq!(ids(&reader, "max_age=3600").len(), 2);
}

//! The console's queue over HTTP: sign-in, who sees what, batch approval
//! of queue-tier requests only, CSRF on the batch form.

use serde_json::json;

use crate::console_client::Console;
use crate::harness::{Server, example};

/// The ids listed in the queue table.
fn queued(page: &str) -> Vec<String> {
    page.match_indices("class=\"queue-row\" data-request-id=\"")
        .map(|(i, m)| {
            let rest = &page[i + m.len()..];
            rest[..rest.find('"').expect("closing quote")].to_owned()
        })
        .collect()
}

#[test]
fn a_console_page_without_a_session_sends_to_sign_in() {
    let server = Server::start();
    let c = Console::new(&server);
    let page = c.get("/console/");
    assert_eq!(page.status, 303);
    assert_eq!(page.location(), Some("/console/signin?next=%2Fconsole%2F"));
    let forged = c.get("/console/queue");
    assert_eq!(forged.status, 303);
}

#[test]
fn the_queue_lists_only_what_the_reviewer_may_approve() {
    let server = Server::start();
    let agent = server.as_token(&server.key("agent-refunds", &["request"], &[]));
    let _lead = server.key("lead", &["approve"], &["support_lead"]);
    let _fin = server.key("fin", &["approve"], &["finance_approver"]);
    let small = agent.create(&example("refund-small.json"))["id"].clone();
    let large = agent.create(&example("refund-large.json"))["id"].clone();
    // The requester of this one is `lead` (requester.id): not theirs to approve.
    let mut own = example("refund-small.json");
    own["requester"]["id"] = json!("lead");
    let own = agent.create(&own)["id"].clone();

    let lead = Console::signed_in(&server, "lead");
    let page = lead.get("/console/");
    assert_eq!(page.status, 200, "{}", page.text);
    assert_eq!(
        queued(&page.text),
        vec![small.as_str().unwrap().to_owned()],
        "{}",
        page.text
    );
    assert!(!page.text.contains(own.as_str().unwrap()));

    let fin = Console::signed_in(&server, "fin");
    let page = fin.get("/console/");
    assert_eq!(queued(&page.text), vec![large.as_str().unwrap().to_owned()]);
    assert!(
        page.text.contains("id=\"dev-mode-banner\""),
        "dev sign-in is marked"
    );
}

#[test]
fn batch_approval_takes_queue_tier_requests_only() {
    let server = Server::start();
    let agent = server.as_token(&server.key("agent-x", &["request"], &[]));
    let _rev = server.key("rev", &["approve"], &["support_lead"]);
    let q1 = agent.create(&example("low-confidence.json"))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let q2 = agent.create(&example("low-confidence.json"))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let explicit = agent.create(&example("refund-small.json"))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let rev = Console::signed_in(&server, "rev");
    let page = rev.get("/console/");
    let mut listed = queued(&page.text);
    listed.sort();
    let mut want = vec![q1.clone(), q2.clone(), explicit.clone()];
    want.sort();
    assert_eq!(listed, want);
    // Only queue-tier rows carry a checkbox.
    assert!(page.text.contains(&format!("name=\"ids\" value=\"{q1}\"")));
    assert!(
        !page
            .text
            .contains(&format!("name=\"ids\" value=\"{explicit}\""))
    );

    let done = rev.submit(
        "/console/",
        "/console/batch",
        &[
            ("ids", &q1),
            ("ids", &q2),
            ("ids", &explicit),
            ("decision", "approve"),
        ],
    );
    assert_eq!(done.status, 200, "{}", done.text);
    assert!(
        done.text
            .contains(&format!("data-request-id=\"{q1}\" data-status=\"200\"")),
        "{}",
        done.text
    );
    assert!(
        done.text.contains(&format!(
            "data-request-id=\"{explicit}\" data-status=\"403\""
        )),
        "{}",
        done.text
    );
    assert!(done.text.contains("BATCH_NOT_ALLOWED"));
    let reader = server.as_token(&server.admin);
    assert_eq!(
        reader.get(&format!("/v1/requests/{q1}")).1["state"],
        "approved"
    );
    assert_eq!(
        reader.get(&format!("/v1/requests/{q2}")).1["state"],
        "approved"
    );
    assert_eq!(
        reader.get(&format!("/v1/requests/{explicit}")).1["state"],
        "pending"
    );
}

#[test]
fn a_batch_without_the_csrf_token_is_refused_and_changes_nothing() {
    let server = Server::start();
    let agent = server.as_token(&server.key("agent-x", &["request"], &[]));
    let _rev = server.key("rev", &["approve"], &[]);
    let q = agent.create(&example("low-confidence.json"))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let rev = Console::signed_in(&server, "rev");
    for fields in [
        vec![("ids", q.as_str()), ("decision", "approve")],
        vec![
            ("_csrf", "0".repeat(64).leak() as &str),
            ("ids", q.as_str()),
            ("decision", "approve"),
        ],
    ] {
        let refused = rev.post_form("/console/batch", &fields);
        assert_eq!(refused.status, 403, "{}", refused.text);
        assert_eq!(
            refused.text_of("error-code").as_deref(),
            Some("CSRF_REJECTED")
        );
    }
    // The right token from another origin is refused too.
    let token = rev.get("/console/").csrf().expect("token");
    let cross = rev.send(
        reqwest::blocking::Client::new()
            .post(format!("{}/console/batch", server.base))
            .header("origin", "https://evil.example")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(crate::console_client::form(&[
                ("_csrf", &token),
                ("ids", &q),
                ("decision", "approve"),
            ])),
    );
    assert_eq!(cross.status, 403, "{}", cross.text);
    let reader = server.as_token(&server.admin);
    assert_eq!(
        reader.get(&format!("/v1/requests/{q}")).1["state"],
        "pending"
    );
}

/// A reviewer refused an approval (here the change window is closed) may
/// still reject: the request is in their queue marked reject-only, and its
/// page offers reject and request changes, not approve.
#[test]
fn a_request_that_cannot_be_approved_can_still_be_rejected_in_the_console() {
    let server = Server::start();
    let agent = server.as_token(&server.key("agent-x", &["request"], &[]));
    let _sec = server.key("sec", &["approve"], &["security_approver"]);
    let id = agent.create(&example("prod-deploy-outside-window.json"))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let sec = Console::signed_in(&server, "sec");
    let queue = sec.get("/console/");
    assert_eq!(queued(&queue.text), vec![id.clone()], "{}", queue.text);
    assert!(queue.text.contains("CONDITION_NOT_MET"), "{}", queue.text);

    let path = format!("/console/requests/{id}");
    let page = sec.get(&path);
    assert!(page.text.contains("id=\"review\""), "a form to reject");
    assert!(!page.text.contains("id=\"approve\""), "no approve button");
    assert!(
        page.text_of("approve-unavailable")
            .is_some_and(|t| t.contains("CONDITION_NOT_MET")),
        "{}",
        page.text
    );
    let digest = crate::console_client::hidden_field(&page.text, "action_digest").expect("digest");
    let done = sec.submit(
        &path,
        &format!("{path}/review"),
        &[
            ("decision", "reject"),
            ("reason", "outside the change window; resubmit on Tuesday"),
            ("action_digest", &digest),
        ],
    );
    assert_eq!(done.status, 303, "{}", done.text);
    let reader = server.as_token(&server.admin);
    assert_eq!(
        reader.get(&format!("/v1/requests/{id}")).1["state"],
        "rejected"
    );
}

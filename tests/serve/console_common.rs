//! What the console's browser tests share: a server whose approvers come
//! from a trust store, signing in through the development sign-in, and
//! reading the queue and a request page by the page contract's ids.

use std::path::PathBuf;

use serde_json::Value as Json;

use crate::browser::Browser;
use crate::harness::{Client, Options, Server};

/// A server and the trust store it reads (kept alive as long as it).
pub struct Console {
    /// The running `gatehouse serve`.
    pub server: Server,
    // the trust store file's directory
    _trust: tempfile::TempDir,
}

impl std::ops::Deref for Console {
    type Target = Server;
    fn deref(&self) -> &Server {
        &self.server
    }
}

/// The approvers of the shipped policy's tests: `(identity, roles)`.
///
/// - `bob`: a support lead (refunds up to 1000 EUR);
/// - `fiona`: a finance approver (refunds above that);
/// - `u-1042`: a support lead who is also the requester of
///   examples/actions/refund-small.json (separation of duties);
/// - `sam` and `carol`: the two people of a dual IAM change;
/// - `quinn`: reads the support queue (queue-tier drafts).
pub const APPROVERS: &[(&str, &[&str])] = &[
    ("bob", &["support_lead"]),
    ("fiona", &["finance_approver"]),
    ("u-1042", &["support_lead"]),
    ("sam", &["security_approver"]),
    ("carol", &["change_manager"]),
    ("quinn", &["support_queue"]),
];

/// A trust store's TOML listing `approvers`.
pub fn trust_toml(approvers: &[(&str, &[&str])]) -> String {
    let mut text = String::new();
    for (id, roles) in approvers {
        let roles: Vec<String> = roles.iter().map(|r| format!("\"{r}\"")).collect();
        text.push_str(&format!(
            "[[approver]]\nid = \"{id}\"\nroles = [{}]\n\n",
            roles.join(", ")
        ));
    }
    text
}

/// A server on `policy` (default: the shipped set) whose approvers
/// directory is `approvers`, with extra TOML configuration.
pub fn start(approvers: &[(&str, &[&str])], policy: Option<PathBuf>, config: &str) -> Console {
    let trust = tempfile::tempdir().expect("a temp dir");
    let path = trust.path().join("approvers.toml");
    std::fs::write(&path, trust_toml(approvers)).expect("write the trust store");
    let server = Server::start_with(Options {
        policy,
        trust: Some(path),
        config: (!config.is_empty()).then(|| config.to_owned()),
        ..Options::default()
    });
    Console {
        server,
        _trust: trust,
    }
}

/// The shipped policy with `APPROVERS`.
pub fn shipped() -> Console {
    start(APPROVERS, None, "")
}

/// An agent's API client (scopes `request`, `execute`, `read`).
pub fn agent(server: &Server, identity: &str) -> Client {
    server.as_token(&server.key(identity, &["request", "execute", "read"], &[]))
}

/// Creates a request through the API; its id.
pub fn create(agent: &Client, action: &Json) -> String {
    let request = agent.create(action);
    request["id"].as_str().expect("an id").to_owned()
}

/// The request as the API shows it (read with the admin token).
pub fn request(server: &Server, id: &str) -> Json {
    let (status, body) = server
        .as_token(&server.admin)
        .get(&format!("/v1/requests/{id}"));
    assert_eq!(status, 200, "{body}");
    body
}

/// The console's address of a path.
pub fn url(server: &Server, path: &str) -> String {
    format!("{}{path}", server.base)
}

/// Signs in through the development sign-in as `identity` and lands on the
/// queue (or on `next`).
pub fn sign_in(browser: &Browser, server: &Server, identity: &str) {
    browser.goto(&url(server, "/console/signin"));
    sign_in_here(browser, identity);
}

/// Signs in as `identity` with the sign-in page the browser shows now.
pub fn sign_in_here(browser: &Browser, identity: &str) {
    assert!(
        browser.exists("#dev-mode-banner"),
        "the development sign-in is on: the page must say so"
    );
    browser.select("form#dev-signin select[name=identity]", identity);
    browser.click_and_load("#dev-signin-submit");
    let who = browser.text("#whoami");
    assert!(
        who.contains(identity),
        "signed in as {identity}, the header says `{who}`"
    );
}

/// Signs out with the header's form; lands on the sign-in page.
pub fn sign_out(browser: &Browser) {
    browser.click_and_load("form#signout button");
    assert!(
        browser.path().starts_with("/console/signin"),
        "after signing out: {}",
        browser.path()
    );
}

/// The ids of the queue's rows, in the page's order (empty when the page
/// shows `#queue-empty`).
pub fn queue_ids(browser: &Browser) -> Vec<String> {
    let ids: Vec<String> = browser
        .find_all("table#queue tr.queue-row")
        .iter()
        .map(|row| row.attr("data-request-id").expect("data-request-id"))
        .collect();
    if ids.is_empty() {
        assert!(
            browser.exists("#queue-empty"),
            "an empty queue says so with #queue-empty"
        );
    }
    ids
}

/// Opens the queue.
pub fn open_queue(browser: &Browser, server: &Server) {
    browser.goto(&url(server, "/console/"));
    assert!(
        browser.exists("table#queue") || browser.exists("#queue-empty"),
        "the queue page: {}",
        browser.path()
    );
}

/// Opens a request's page.
pub fn open_request(browser: &Browser, server: &Server, id: &str) {
    browser.goto(&url(server, &format!("/console/requests/{id}")));
    assert!(
        browser.exists("#request-state"),
        "the request page of {id} shows #request-state"
    );
}

/// Reviews the open request with the page's form: writes the reason and
/// presses the decision's button (`approve`, `reject`, `request-changes`).
pub fn review(browser: &Browser, button: &str, reason: &str) {
    browser.fill("form#review textarea[name=reason]", reason);
    browser.click_and_load(&format!("form#review button#{button}"));
}

/// The open page's `#request-state` text, trimmed.
pub fn shown_state(browser: &Browser) -> String {
    browser.text("#request-state").trim().to_owned()
}

/// Waits (long-poll, 60 s cap) for the request to change from `version`,
/// from another thread: the handle gives the wait's answer.
pub fn wait_in_background(
    agent: &Client,
    id: &str,
    version: i64,
) -> std::thread::JoinHandle<(u16, Json)> {
    let agent = agent.clone();
    let path = format!("/v1/requests/{id}/wait?since_version={version}&timeout=60");
    std::thread::spawn(move || agent.get(&path))
}

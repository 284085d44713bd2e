//! The console's samples queue and the sampled-review panel: in a real
//! browser (keyboard to the queue, open, reject with a note, the verdict
//! shown), and through forms posted by hand (CSRF, the agent and the
//! requester refused, a second verdict refused).

use serde_json::{Value as Json, json};

use crate::browser::Browser;
use crate::console_client::Console as FormClient;
use crate::console_common::{self as c, Console, sign_in, url};

/// The sampled-review policy (refunds always sampled).
pub fn policy() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/serve/fixtures/samples/samples.gate")
}

/// A console on the samples policy: `rita` reviews; `refund-bot` is the
/// agent the actions name (and can sign in: separation of duties, not the
/// directory, keeps it out); `agent-refunds` is the requester.
pub fn scene() -> (Console, String) {
    let console = c::start(
        &[
            ("rita", &["reviewer"]),
            ("refund-bot", &["reviewer"]),
            ("agent-refunds", &["reviewer"]),
        ],
        Some(policy()),
        "",
    );
    let agent = c::agent(&console, "agent-refunds");
    let id = c::create(
        &agent,
        &json!({"action": {"type": "refund", "summary": "Refund order 7"}, "agent": {"id": "refund-bot"}}),
    );
    (console, id)
}

#[test]
fn a_reviewer_finds_a_sample_by_keyboard_and_rejects_it_with_a_note() {
    let (console, id) = scene();
    let browser = Browser::start();
    sign_in(&browser, &console, "rita");
    browser.press("g");
    browser.press("s");
    browser.wait_for("table#samples");
    assert!(
        browser.path().starts_with("/console/samples"),
        "{}",
        browser.path()
    );
    assert_eq!(
        browser.attr("a[aria-current=page]", "href").as_deref(),
        Some("/console/samples")
    );
    let rows: Vec<String> = browser
        .find_all("table#samples tr.sample-row")
        .iter()
        .map(|r| r.attr("data-request-id").expect("an id"))
        .collect();
    assert_eq!(rows, std::slice::from_ref(&id));
    assert!(
        browser
            .text("table#samples")
            .contains("100%, rule small_refund")
    );
    browser.press("j");
    browser.press("\u{e007}");
    browser.wait_for("#sample-review");
    assert!(browser.path().ends_with(&id), "{}", browser.path());
    let title = browser.text("#sample-title");
    assert_eq!(
        title.trim(),
        "Sampled for review after the fact (100%, rule small_refund)"
    );
    // A rejection needs the note: the gate refuses an empty one and the
    // page says so.
    browser.click_and_load("#sample-reject");
    browser.wait_for("#review-error");
    assert_eq!(browser.text("#review-error-code").trim(), "NOTE_REQUIRED");
    browser.fill("#sample-note-input", "refunded twice");
    browser.click_and_load("#sample-reject");
    browser.wait_for("#sample-verdict");
    let verdict = browser.text("#sample-verdict");
    assert!(
        verdict.contains("rejected") && verdict.contains("rita"),
        "{verdict}"
    );
    assert_eq!(browser.text("#sample-note").trim(), "refunded twice");
    assert!(!browser.exists("#sample-form"), "one verdict per request");
    let row = c::request(&console, &id);
    assert_eq!(row["state"], "approved", "nothing was held or moved");
    assert_eq!(row["sample_review"]["state"], "rejected");
    assert_eq!(row["sample_review"]["reviewer"], "rita");

    browser.goto(&url(&console, "/console/samples"));
    assert!(browser.exists("#samples-empty"));
    assert!(browser.exists(&format!(
        "table#samples-reviewed tr[data-request-id='{id}'][data-sample-state=rejected]"
    )));
}

#[test]
fn forged_and_forbidden_verdict_forms_are_refused_by_the_gate() {
    let (console, id) = scene();
    let page = format!("/console/requests/{id}");
    let path = format!("/console/requests/{id}/sample-review");

    // The agent the action names sees why, not the form; a hand-made
    // post is refused all the same.
    let bot = FormClient::signed_in(&console, "refund-bot");
    let shown = bot.get(&page);
    assert_eq!(shown.status, 200);
    assert!(
        shown.text.contains("id=\"cannot-review-sample\""),
        "{}",
        shown.text
    );
    assert!(!shown.text.contains("id=\"sample-form\""));
    let posted = bot.submit(&page, &path, &[("verdict", "confirm")]);
    assert_eq!(posted.status, 403, "{}", posted.text);
    assert_eq!(
        posted.text_of("review-error-code").as_deref(),
        Some("AGENT_SELF_REVIEW")
    );
    // The requester, likewise.
    let requester = FormClient::signed_in(&console, "agent-refunds");
    let posted = requester.submit(&page, &path, &[("verdict", "confirm")]);
    assert_eq!(posted.status, 403, "{}", posted.text);
    assert_eq!(
        posted.text_of("review-error-code").as_deref(),
        Some("SELF_APPROVAL")
    );

    // Without the CSRF token, or with another session's: refused before
    // anything is read.
    let rita = FormClient::signed_in(&console, "rita");
    let posted = rita.post_form(&path, &[("verdict", "confirm")]);
    assert_eq!(posted.status, 403);
    assert_eq!(
        posted.text_of("error-code").as_deref(),
        Some("CSRF_REJECTED")
    );
    let other_token = bot.get(&page).csrf().expect("a token");
    let posted = rita.post_form(&path, &[("_csrf", &other_token), ("verdict", "confirm")]);
    assert_eq!(posted.status, 403);
    // A field naming someone else changes nothing: the verdict is rita's.
    let posted = rita.submit(
        &page,
        &path,
        &[
            ("verdict", "confirm"),
            ("reviewer", "mallory"),
            ("note", "looks right"),
        ],
    );
    assert_eq!(posted.status, 303, "{}", posted.text);
    let row: Json = c::request(&console, &id);
    assert_eq!(row["sample_review"]["reviewer"], "rita");
    assert_eq!(row["sample_review"]["state"], "confirmed");
    // A second verdict: 409 with the stable code.
    let again = rita.submit(&page, &path, &[("verdict", "reject"), ("note", "no")]);
    assert_eq!(again.status, 409, "{}", again.text);
    assert_eq!(
        again.text_of("review-error-code").as_deref(),
        Some("SAMPLE_ALREADY_REVIEWED")
    );
    // A request that was not sampled has no panel.
    let agent = c::agent(&console, "agent-refunds");
    let read = c::create(
        &agent,
        &json!({"action": {"type": "read"}, "agent": {"id": "refund-bot"}}),
    );
    let shown = rita.get(&format!("/console/requests/{read}"));
    assert!(!shown.text.contains("id=\"sample-review\""));
}

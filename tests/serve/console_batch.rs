//! Batch approval in the browser: queue-tier requests are checked and
//! approved at once, each judged as a single review; an explicit request
//! has no checkbox, and one forced into the batch form is refused on its
//! own (`BATCH_NOT_ALLOWED`) while it stays pending.

use serde_json::{Value as Json, json};

use crate::browser::Browser;
use crate::console_common::{self as c, create, open_queue, queue_ids, sign_in};
use crate::harness::example;

/// A queue-tier action of the shipped policy: a support reply draft for a
/// ticket.
pub fn draft(ticket: u32) -> Json {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/actions/support-reply-draft.yaml");
    let text = std::fs::read_to_string(path).expect("the example");
    let mut doc: Json = serde_yaml::from_str(&text).expect("YAML");
    doc["action"]["summary"] = json!(format!("Draft a reply to ticket T-{ticket}"));
    doc
}

/// `(id, status)` of each `#batch-result` item.
fn batch_result(browser: &Browser) -> Vec<(String, String)> {
    browser
        .find_all("#batch-result li[data-request-id]")
        .iter()
        .map(|li| {
            (
                li.attr("data-request-id").expect("data-request-id"),
                li.attr("data-status").expect("data-status"),
            )
        })
        .collect()
}

/// A reviewer of the support queue who is also a support lead: both queue
/// drafts and an explicit refund are theirs to review.
const QUEUE_AND_LEAD: &[(&str, &[&str])] = &[("quinn", &["support_queue", "support_lead"])];

#[test]
fn queue_tier_requests_are_approved_in_a_batch() {
    let console = c::start(QUEUE_AND_LEAD, None, "");
    let drafter = c::agent(&console, "agent-support-drafter");
    let drafts: Vec<String> = (0..3).map(|i| create(&drafter, &draft(200 + i))).collect();
    let refunds = c::agent(&console, "agent-refunds");
    let refund = create(&refunds, &example("refund-small.json"));

    let browser = Browser::start();
    sign_in(&browser, &console, "quinn");
    open_queue(&browser, &console);
    let mut listed = queue_ids(&browser);
    listed.sort();
    let mut expected = drafts.clone();
    expected.push(refund.clone());
    expected.sort();
    assert_eq!(listed, expected);
    for id in &drafts {
        let row = format!("tr.queue-row[data-request-id='{id}']");
        assert_eq!(browser.attr(&row, "data-outcome").as_deref(), Some("queue"));
        assert!(browser.exists(&format!("{row} input[name=ids][value='{id}']")));
    }
    assert!(
        !browser.exists(&format!("input[name=ids][value='{refund}']")),
        "an explicit request has no batch checkbox"
    );

    // approve two of the three drafts
    for id in &drafts[..2] {
        browser.click(&format!("input[name=ids][value='{id}']"));
    }
    browser.fill("form#batch input[name=reason]", "drafts read, tone fine");
    browser.screenshot("queue-batch");
    browser.click_and_load("#batch-approve");
    let result = batch_result(&browser);
    assert_eq!(
        result,
        drafts[..2]
            .iter()
            .map(|id| (id.clone(), "200".to_owned()))
            .collect::<Vec<_>>(),
        "{}",
        browser.text("#batch-result")
    );
    for id in &drafts[..2] {
        let after = c::request(&console, id);
        assert_eq!(after["state"], "approved", "{after}");
        assert_eq!(after["approvals"][0]["approval"]["approver"], "quinn");
        assert_eq!(
            after["approvals"][0]["approval"]["reason"],
            "drafts read, tone fine"
        );
    }
    assert_eq!(c::request(&console, &drafts[2])["state"], "pending");
    assert_eq!(c::request(&console, &refund)["state"], "pending");
    // the queue page after the batch lists what is left
    let mut left = queue_ids(&browser);
    left.sort();
    let mut expected = vec![drafts[2].clone(), refund.clone()];
    expected.sort();
    assert_eq!(left, expected);
}

#[test]
fn an_explicit_request_forced_into_the_batch_form_is_refused_and_stays_pending() {
    let console = c::start(QUEUE_AND_LEAD, None, "");
    let drafter = c::agent(&console, "agent-support-drafter");
    let queued = create(&drafter, &draft(300));
    let refunds = c::agent(&console, "agent-refunds");
    let refund = create(&refunds, &example("refund-small.json"));

    let browser = Browser::start();
    sign_in(&browser, &console, "quinn");
    open_queue(&browser, &console);
    browser.click(&format!("input[name=ids][value='{queued}']"));
    // the page offers no checkbox for the refund: add one as a forger would
    browser.execute(
        "const i = document.createElement('input');
         i.type = 'checkbox'; i.name = 'ids'; i.value = arguments[0]; i.checked = true;
         document.querySelector('form#batch').appendChild(i);",
        vec![json!(refund)],
    );
    browser.click_and_load("#batch-approve");
    let result = batch_result(&browser);
    assert_eq!(
        result,
        [
            (queued.clone(), "200".to_owned()),
            (refund.clone(), "403".to_owned())
        ],
        "{}",
        browser.text("#batch-result")
    );
    let refused = browser.text(&format!("#batch-result li[data-request-id='{refund}']"));
    assert!(refused.contains("BATCH_NOT_ALLOWED"), "{refused}");
    assert_eq!(c::request(&console, &queued)["state"], "approved");
    let after = c::request(&console, &refund);
    assert_eq!(
        after["state"], "pending",
        "explicit requests are approved one at a time"
    );
    assert_eq!(after["approvals"], json!([]));
}

#[test]
fn the_queue_filters_by_tier_agent_and_target() {
    let console = c::start(QUEUE_AND_LEAD, None, "");
    let drafter = c::agent(&console, "agent-support-drafter");
    let mut drafts: Vec<String> = (0..2).map(|i| create(&drafter, &draft(600 + i))).collect();
    drafts.sort();
    let refunds = c::agent(&console, "agent-refunds");
    let refund = create(&refunds, &example("refund-small.json"));
    let browser = Browser::start();
    sign_in(&browser, &console, "quinn");
    open_queue(&browser, &console);
    assert_eq!(queue_ids(&browser).len(), 3);

    let filter = |field: &str, value: &str| -> Vec<String> {
        open_queue(&browser, &console);
        browser.fill(&format!("form#filters input[name={field}]"), value);
        browser.click_and_load("form#filters button[type=submit]");
        assert!(
            browser.path().contains(&format!("{field}={value}")),
            "{}",
            browser.path()
        );
        let mut ids = queue_ids(&browser);
        ids.sort();
        ids
    };
    assert_eq!(filter("tier", "3"), [refund.as_str()]);
    assert_eq!(filter("tier", "1"), drafts);
    assert_eq!(filter("agent", "agent-refunds"), [refund.as_str()]);
    assert_eq!(filter("target", "payments"), [refund.as_str()]);
    assert_eq!(filter("target", "ticketing"), drafts);
    assert!(filter("target", "nowhere").is_empty());
}

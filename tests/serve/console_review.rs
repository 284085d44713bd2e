//! The review console in a real browser: an agent asks through the API, a
//! person signs in, sees only what they may approve, reads the request and
//! approves it with a reason; the agent's wait wakes with `approved`. A
//! dual approval takes two people; the requester can never approve their
//! own action, not even with a forged form.

use serde_json::json;

use crate::browser::Browser;
use crate::console_common::{
    self as c, create, open_queue, open_request, queue_ids, review, shown_state, sign_in, sign_out,
};
use crate::harness::example;

#[test]
fn a_reviewer_sees_only_what_they_may_approve_and_approves_a_refund_the_agent_waits_for() {
    let console = c::shipped();
    let agent = c::agent(&console, "agent-refunds");
    // explicit, support_lead: bob's
    let refund = create(&agent, &example("refund-small.json"));
    // above the support lead's limit: escalated to a finance approver
    let large = create(&agent, &example("refund-large.json"));
    // an IAM change: security and change management, not bob's role
    let iam = create(&agent, &example("iam-change.json"));
    // a refund bob requested himself (bob is its requester)
    let mut own = example("refund-small.json");
    own["requester"] = json!({"id": "bob", "roles": ["support_lead"]});
    own["action"]["summary"] = json!("Refund order 77001 (bob's own request)");
    let own = create(&agent, &own);
    for id in [&refund, &large, &iam, &own] {
        assert_eq!(c::request(&console, id)["state"], "pending");
    }

    let browser = Browser::start();
    // no session: the console sends the browser to the sign-in page
    browser.goto(&c::url(&console, "/console/"));
    assert!(
        browser.path().starts_with("/console/signin"),
        "without a session: {}",
        browser.path()
    );
    browser.screenshot("signin");
    sign_in(&browser, &console, "bob");
    open_queue(&browser, &console);
    assert_eq!(
        queue_ids(&browser),
        [refund.as_str()],
        "bob may approve the small refund only: not the large one (limit), \
         not the IAM change (roles), not his own"
    );
    let row = browser.find(&format!("tr.queue-row[data-request-id='{refund}']"));
    assert_eq!(row.attr("data-tier").as_deref(), Some("3"));
    assert_eq!(row.attr("data-outcome").as_deref(), Some("explicit"));
    assert!(
        row.find("input[name=ids]").is_none(),
        "an explicit request has no batch checkbox"
    );
    browser.screenshot("queue");

    // the agent waits for the decision while bob reads and approves
    let before = c::request(&console, &refund);
    let version = before["version"].as_i64().expect("a version");
    let waiting = c::wait_in_background(&agent, &refund, version);

    browser.click_and_load(&format!("tr.queue-row[data-request-id='{refund}'] a.open"));
    assert_eq!(browser.path(), format!("/console/requests/{refund}"));
    assert_eq!(shown_state(&browser), "pending");
    assert!(
        !browser.text("#explain").trim().is_empty(),
        "the plain-language account"
    );
    let fields = browser.text("#action-fields");
    assert!(
        fields.contains("Refund order 55102"),
        "the action's fields: {fields}"
    );
    for name in ["impact_estimate", "policy_match", "customer_record"] {
        let item = browser.find(&format!("#evidence li[data-evidence='{name}']"));
        assert_eq!(item.attr("data-present").as_deref(), Some("true"), "{name}");
    }
    let rules = browser.text("#rules");
    assert!(
        rules.contains("REFUND"),
        "the fired rule's reason code: {rules}"
    );
    assert!(
        rules.contains(".gate:"),
        "the fired rule's source location: {rules}"
    );
    assert!(browser.exists("#approvals-needed"));
    assert!(browser.exists("#may-not-approve"));
    assert!(browser.exists("#on-expiry"));
    let deadline = browser.attr("#deadline", "data-deadline-unix");
    assert!(
        deadline.is_some_and(|d| d.parse::<i64>().is_ok()),
        "#deadline carries data-deadline-unix"
    );
    assert!(browser.exists("#countdown"));
    assert!(
        browser.exists(&format!("a[href='/console/requests/{refund}/history']")),
        "the page links to the request's history"
    );
    browser.screenshot("request");

    let reason = "order 55102 checked: damaged in transit, photos attached";
    review(&browser, "approve", reason);
    assert!(
        browser.path().contains("reviewed=1"),
        "a review answers with the request page and ?reviewed=1: {}",
        browser.path()
    );
    assert!(
        browser.text("#review-result").contains("approved"),
        "the answer states the new state: {}",
        browser.text("#review-result")
    );
    assert_eq!(shown_state(&browser), "approved");

    let (status, waited) = waiting.join().expect("the wait thread");
    assert_eq!(status, 200, "{waited}");
    assert_eq!(waited["changed"], true, "{waited}");
    assert_eq!(waited["state"], "approved", "{waited}");

    let after = c::request(&console, &refund);
    assert_eq!(after["state"], "approved");
    let approval = &after["approvals"][0]["approval"];
    assert_eq!(approval["approver"], "bob", "from the session: {after}");
    assert_eq!(approval["reason"], reason, "{after}");
    assert_eq!(approval["decision"], "approve", "{after}");
    // the others are untouched
    for id in [&large, &iam, &own] {
        assert_eq!(c::request(&console, id)["state"], "pending");
    }
    // approved: it left bob's queue
    open_queue(&browser, &console);
    assert!(queue_ids(&browser).is_empty());
}

#[test]
fn a_dual_approval_takes_two_people_and_the_first_leaves_it_pending() {
    let console = c::shipped();
    let agent = c::agent(&console, "agent-access-broker");
    let iam = create(&agent, &example("iam-change.json"));
    let browser = Browser::start();

    sign_in(&browser, &console, "sam");
    open_queue(&browser, &console);
    assert_eq!(queue_ids(&browser), [iam.as_str()]);
    assert_eq!(
        browser
            .attr(
                &format!("tr.queue-row[data-request-id='{iam}']"),
                "data-outcome"
            )
            .as_deref(),
        Some("dual")
    );
    open_request(&browser, &console, &iam);
    review(
        &browser,
        "approve",
        "least privilege kept, one project only",
    );
    assert_eq!(
        shown_state(&browser),
        "pending",
        "dual needs a second person"
    );
    assert!(
        browser.text("#review-result").contains("pending"),
        "{}",
        browser.text("#review-result")
    );
    assert!(
        browser.text("#approvals-given").contains("sam"),
        "{}",
        browser.text("#approvals-given")
    );
    // sam has given his: the request left his queue and his page has no form
    open_queue(&browser, &console);
    assert!(queue_ids(&browser).is_empty());
    open_request(&browser, &console, &iam);
    assert!(!browser.exists("form#review"));
    assert!(browser.exists("#cannot-review"));
    assert_eq!(c::request(&console, &iam)["state"], "pending");

    sign_out(&browser);
    sign_in(&browser, &console, "carol");
    open_queue(&browser, &console);
    assert_eq!(queue_ids(&browser), [iam.as_str()]);
    open_request(&browser, &console, &iam);
    review(&browser, "approve", "change ticket CHG-1 is open");
    assert_eq!(shown_state(&browser), "approved");
    assert!(browser.text("#review-result").contains("approved"));

    let after = c::request(&console, &iam);
    assert_eq!(after["state"], "approved");
    let approvers: Vec<&str> = after["approvals"]
        .as_array()
        .expect("approvals")
        .iter()
        .filter_map(|a| a["approval"]["approver"].as_str())
        .collect();
    assert_eq!(approvers, ["sam", "carol"], "{after}");
}

#[test]
fn the_requester_cannot_approve_their_own_action_not_even_with_a_forged_form() {
    let console = c::shipped();
    let agent = c::agent(&console, "agent-refunds");
    // u-1042 is this refund's requester, and a support lead
    let refund = create(&agent, &example("refund-small.json"));
    let browser = Browser::start();
    sign_in(&browser, &console, "u-1042");
    open_queue(&browser, &console);
    assert!(
        queue_ids(&browser).is_empty(),
        "a requester never sees their own action as approvable"
    );

    open_request(&browser, &console, &refund);
    assert!(
        !browser.exists("form#review"),
        "no review form for one's own request"
    );
    let why = browser.text("#cannot-review");
    assert!(
        why.contains("SELF_APPROVAL"),
        "#cannot-review says why: {why}"
    );
    browser.screenshot("request-cannot-review");

    // a forged form: the page's own CSRF token, the request's digest, posted
    // to the review address as the console's form would be
    let digest = c::request(&console, &refund)["action_digest"]
        .as_str()
        .expect("a digest")
        .to_owned();
    let csrf = browser
        .attr("form#signout input[name=_csrf]", "value")
        .expect("the session's CSRF token");
    browser.execute(
        r#"
        const [action, csrf, digest] = arguments;
        const f = document.createElement("form");
        f.method = "post";
        f.action = action;
        for (const [k, v] of [["_csrf", csrf], ["action_digest", digest],
                              ["reason", "looks fine to me"], ["decision", "approve"]]) {
            const i = document.createElement("input");
            i.type = "hidden"; i.name = k; i.value = v; f.appendChild(i);
        }
        document.body.appendChild(f);
        f.submit();
        "#,
        vec![
            json!(format!("/console/requests/{refund}/review")),
            json!(csrf),
            json!(digest),
        ],
    );
    // the submission navigates; the refusal names the code (the contract:
    // the request page again with #review-error, or a refusal page)
    let code = browser.wait_for("#review-error, #error-code").text();
    assert!(code.contains("SELF_APPROVAL"), "refused with: {code}");
    assert_eq!(c::request(&console, &refund)["state"], "pending");
    assert_eq!(c::request(&console, &refund)["approvals"], json!([]));
}

#[test]
fn a_reviewer_rejects_or_asks_for_changes_with_a_reason_and_the_agent_sees_it() {
    let console = c::shipped();
    let agent = c::agent(&console, "agent-refunds");
    let browser = Browser::start();
    sign_in(&browser, &console, "bob");
    for (button, state, reason) in [
        (
            "reject",
            "rejected",
            "the order was delivered intact: photo 3",
        ),
        (
            "request-changes",
            "changes_requested",
            "attach the carrier's damage report first",
        ),
    ] {
        let id = create(&agent, &example("refund-small.json"));
        let version = c::request(&console, &id)["version"]
            .as_i64()
            .expect("a version");
        let waiting = c::wait_in_background(&agent, &id, version);
        open_request(&browser, &console, &id);
        review(&browser, button, reason);
        assert_eq!(shown_state(&browser), state);
        assert!(
            browser.text("#review-result").contains(state),
            "{}",
            browser.text("#review-result")
        );
        let (status, waited) = waiting.join().expect("the wait thread");
        assert_eq!(status, 200, "{waited}");
        assert_eq!(waited["state"], state, "{waited}");
        let after = c::request(&console, &id);
        assert_eq!(after["state"], state, "{after}");
        assert_eq!(
            after["approvals"][0]["approval"]["reason"], reason,
            "{after}"
        );
    }
}

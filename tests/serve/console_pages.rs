//! The console as a person uses it: with the keyboard only (the keys the
//! page's `?` help lists), on a phone, and every page once, screenshotted
//! into `<target>/console-screenshots/` as test artifacts.

use serde_json::json;

use crate::browser::{Browser, PHONE, keys};
use crate::console_batch::draft;
use crate::console_common::{
    self as c, create, open_queue, open_request, queue_ids, review, shown_state, sign_in,
};
use crate::harness::example;

/// Whether the help dialog is shown.
fn help_shown(browser: &Browser) -> bool {
    browser.find("#help").is_displayed()
}

/// The id of the queue row marked selected (and focused).
fn selected(browser: &Browser) -> Option<String> {
    let rows = browser.find_all("tr.queue-row.selected");
    assert!(rows.len() <= 1, "one selected row at most");
    let id = rows.first()?.attr("data-request-id");
    let focused = browser.execute(
        "return document.activeElement && document.activeElement.getAttribute('data-request-id');",
        vec![],
    );
    assert_eq!(focused, json!(id), "the selected row has the focus");
    id
}

#[test]
fn the_queue_and_a_review_work_with_the_keyboard_alone() {
    let console = c::start(&[("quinn", &["support_queue", "support_lead"])], None, "");
    let drafter = c::agent(&console, "agent-support-drafter");
    for i in 0..2 {
        create(&drafter, &draft(400 + i));
    }
    let refunds = c::agent(&console, "agent-refunds");
    let refund = create(&refunds, &example("refund-small.json"));
    let browser = Browser::start();
    sign_in(&browser, &console, "quinn");
    open_queue(&browser, &console);
    let order = queue_ids(&browser);
    assert_eq!(order.len(), 3);

    // ? opens the help, which lists the keys; Escape closes it
    assert!(!help_shown(&browser));
    browser.press("?");
    assert!(help_shown(&browser), "? shows the keyboard help");
    let help = browser.text("#help");
    for key in ["j", "k", "Enter", "x", "a", "/"] {
        assert!(help.contains(key), "the help lists {key}: {help}");
    }
    browser.screenshot("queue-help");
    browser.press(&keys::ESCAPE.to_string());
    assert!(!help_shown(&browser), "Escape closes the help");

    // j and k move through the rows, in the page's order
    assert_eq!(selected(&browser), None);
    browser.press("j");
    assert_eq!(selected(&browser).as_ref(), Some(&order[0]));
    browser.press("jj");
    assert_eq!(selected(&browser).as_ref(), Some(&order[2]));
    browser.press("j");
    assert_eq!(
        selected(&browser).as_ref(),
        Some(&order[2]),
        "j stops at the last row"
    );
    browser.press("k");
    assert_eq!(selected(&browser).as_ref(), Some(&order[1]));

    // x checks a queue-tier row for the batch
    let row_of = |id: &str| format!("tr.queue-row[data-request-id='{id}']");
    let on_queue_row = order
        .iter()
        .position(|id| browser.attr(&row_of(id), "data-outcome").as_deref() == Some("queue"))
        .expect("a queue-tier row");
    // k to the top (it stops at the first row), then j down to it
    browser.press("kkk");
    browser.press(&"j".repeat(on_queue_row));
    let id = &order[on_queue_row];
    let checkbox = format!("input[name=ids][value='{id}']");
    assert_eq!(
        browser.find(&checkbox).prop("checked").as_deref(),
        Some("false")
    );
    browser.press("x");
    assert_eq!(
        browser.find(&checkbox).prop("checked").as_deref(),
        Some("true")
    );
    browser.press("x");
    assert_eq!(
        browser.find(&checkbox).prop("checked").as_deref(),
        Some("false")
    );

    // / focuses the filters
    browser.press("/");
    let focused = browser.execute(
        "return document.activeElement.closest('form') && document.activeElement.closest('form').id;",
        vec![],
    );
    assert_eq!(focused, json!("filters"));
    browser.execute("document.activeElement.blur();", vec![]);

    // Enter opens the selected request; a focuses the reason, Ctrl+Enter
    // approves
    let refund_at = order.iter().position(|i| *i == refund).expect("the refund");
    browser.press("kkk");
    browser.press(&"j".repeat(refund_at));
    assert_eq!(selected(&browser).as_ref(), Some(&refund));
    browser.press(&keys::ENTER.to_string());
    browser.wait_for_path("the request page", |p| p.contains(&refund));
    let opened = browser.wait_for("#request-state");
    assert_eq!(opened.text().trim(), "pending");
    assert_eq!(browser.path(), format!("/console/requests/{refund}"));
    // Ctrl+Enter in the reason box without a chosen intent (a or r) does
    // nothing: typing "do not pay" and reaching for Ctrl+Enter by reflex
    // must not approve. (The review's answer would change the path.)
    browser.execute("document.getElementById('reason').focus();", vec![]);
    browser.press("fraud, do not pay");
    browser.chord(&[keys::CONTROL, keys::ENTER]);
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(browser.path(), format!("/console/requests/{refund}"));
    browser.execute(
        "document.getElementById('reason').value = ''; document.activeElement.blur();",
        vec![],
    );
    browser.press("a");
    let focused = browser.execute(
        "return document.activeElement.name || document.activeElement.id;",
        vec![],
    );
    assert_eq!(focused, json!("reason"), "a puts the cursor in the reason");
    browser.press("refund checked with the keyboard only");
    browser.chord(&[keys::CONTROL, keys::ENTER]);
    browser.wait_for_path("the review's answer", |p| p.contains("reviewed=1"));
    browser.wait_for("#review-result");
    assert_eq!(shown_state(&browser), "approved");
    let after = c::request(&console, &refund);
    assert_eq!(after["state"], "approved");
    assert_eq!(
        after["approvals"][0]["approval"]["reason"],
        "refund checked with the keyboard only"
    );
}

/// Whether the page is wider than the window (a sideways scroll of the
/// whole page; a table may scroll inside its own box).
fn scrolls_sideways(browser: &Browser) -> bool {
    browser.execute(
        "return document.documentElement.scrollWidth > window.innerWidth + 1;",
        vec![],
    ) == json!(true)
}

/// The innermost elements that reach past the window's right edge, for
/// the failure message.
fn too_wide(browser: &Browser) -> String {
    let found = browser.execute(
        "const w = window.innerWidth;
         const out = [];
         for (const el of document.querySelectorAll('body *')) {
             const r = el.getBoundingClientRect();
             const spills = el.scrollWidth > el.clientWidth + 1
                 && getComputedStyle(el).overflowX === 'visible' && r.right + el.scrollWidth - el.clientWidth > w + 1;
             const past = r.right > w + 1 && ![...el.children].some(c => c.getBoundingClientRect().right > w + 1);
             if (spills || past) {
                 out.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
                     + ' in ' + (el.closest('[id]') ? '#' + el.closest('[id]').id : '?')
                     + ' `' + el.textContent.slice(0, 40) + '`'
                     + (el.className ? '.' + String(el.className).split(' ').join('.') : '')
                     + ' right=' + Math.round(r.right));
             }
         }
         return out.slice(0, 8).join(', ');",
        vec![],
    );
    found.as_str().unwrap_or_default().to_owned()
}

#[test]
fn the_console_is_usable_at_phone_width() {
    let console = c::shipped();
    let agent = c::agent(&console, "agent-refunds");
    let refund = create(&agent, &example("refund-small.json"));
    let browser = Browser::start();
    browser.phone();
    let width = browser.execute("return window.innerWidth;", vec![]);
    assert!(
        width.as_u64().is_some_and(|w| w <= u64::from(PHONE.0)),
        "the viewport is a phone's: {width}"
    );
    browser.goto(&c::url(&console, "/console/signin"));
    assert!(
        !scrolls_sideways(&browser),
        "the sign-in page fits a phone's width"
    );
    browser.screenshot("signin-phone");
    c::sign_in_here(&browser, "bob");
    open_queue(&browser, &console);
    browser.screenshot("queue-phone");
    let queue_wide = too_wide_now(&browser);
    let open = browser.find(&format!("tr.queue-row[data-request-id='{refund}'] a.open"));
    assert!(open.is_displayed());
    open.click_and_load();
    assert_eq!(shown_state(&browser), "pending");
    browser.screenshot("request-phone");
    let request_wide = too_wide_now(&browser);
    assert!(browser.find("form#review button#approve").is_displayed());
    review(&browser, "approve", "checked on my phone");
    assert_eq!(shown_state(&browser), "approved");
    // checked last, so that a page that spills still had its review tested
    assert_eq!(queue_wide, None, "the queue fits a phone's width");
    assert_eq!(
        request_wide, None,
        "the request page fits a phone's width (the elements that spill)"
    );
}

#[test]
fn every_page_renders_and_is_screenshotted() {
    let console = c::shipped();
    let agent = c::agent(&console, "agent-refunds");
    let refund = create(&agent, &example("refund-small.json"));
    let big = create(&agent, &example("refund-large.json"));
    let drafter = c::agent(&console, "agent-support-drafter");
    create(&drafter, &draft(500));
    let browser = Browser::start();
    sign_in(&browser, &console, "bob");
    open_request(&browser, &console, &refund);
    review(&browser, "approve", "order checked");
    assert_eq!(shown_state(&browser), "approved");

    // the request's history: one item per audit record, in order
    browser.click_and_load(&format!("a[href='/console/requests/{refund}/history']"));
    let seqs: Vec<u64> = browser
        .find_all("ol#timeline li[data-seq]")
        .iter()
        .map(|li| {
            li.attr("data-seq")
                .and_then(|s| s.parse().ok())
                .expect("a seq")
        })
        .collect();
    assert!(seqs.len() >= 3, "decision, queued, approved: {seqs:?}");
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    let timeline = browser.text("ol#timeline");
    assert!(timeline.contains("bob"), "{timeline}");
    browser.screenshot("history-request");

    // search over past requests
    browser.goto(&c::url(&console, "/console/history"));
    assert!(browser.exists("form#search"));
    browser.fill("form#search input[name=approver]", "bob");
    browser.execute("document.querySelector('form#search').submit();", vec![]);
    browser.wait_for_path("the search's answer", |p| p.contains("approver=bob"));
    let found: Vec<String> = browser
        .find_all("table#results tr[data-request-id]")
        .iter()
        .filter_map(|r| r.attr("data-request-id"))
        .collect();
    assert_eq!(found, [refund.as_str()], "approved by bob: the refund only");
    assert!(!found.contains(&big));
    browser.screenshot("search");

    browser.goto(&c::url(&console, "/console/overview"));
    for id in [
        "#pending-by-tier",
        "#time-to-decision",
        "#per-rule",
        "#per-agent",
    ] {
        assert!(browser.exists(id), "the overview shows {id}");
    }
    assert!(browser.exists("svg"), "charts are inline SVG");
    browser.screenshot("overview");
}

#[test]
fn no_page_scrolls_sideways_on_a_desktop_window() {
    let console = c::shipped();
    let agent = c::agent(&console, "agent-refunds");
    let refund = create(&agent, &example("refund-small.json"));
    let browser = Browser::start();
    browser.goto(&c::url(&console, "/console/signin"));
    let mut pages = vec![("sign-in".to_owned(), too_wide_now(&browser))];
    sign_in(&browser, &console, "bob");
    for path in [
        "/console/".to_owned(),
        format!("/console/requests/{refund}"),
        format!("/console/requests/{refund}/history"),
        "/console/history".to_owned(),
        "/console/overview".to_owned(),
    ] {
        browser.goto(&c::url(&console, &path));
        pages.push((path, too_wide_now(&browser)));
    }
    let wide: Vec<String> = pages
        .into_iter()
        .filter_map(|(page, wide)| wide.map(|w| format!("{page}: {w}")))
        .collect();
    assert!(
        wide.is_empty(),
        "pages wider than a 1280 px window: {}",
        wide.join("; ")
    );
}

/// What makes the page wider than the window, when it is.
fn too_wide_now(browser: &Browser) -> Option<String> {
    scrolls_sideways(browser).then(|| too_wide(browser))
}

//! A request whose deadline passed shows what happened at expiry: the
//! page states the final state and the policy's on-expiry action, and
//! offers no review. Policy: tests/serve/fixtures/expiry/expiry.gate
//! (`reject_late` and `block_late` wait two seconds).

use crate::browser::Browser;
use crate::console_common::{self as c, create, open_queue, open_request, queue_ids, sign_in};
use crate::expiry::{action, expiry_policy};

#[test]
fn an_expired_request_shows_its_on_expiry_result() {
    let console = c::start(
        &[("rita", &["reviewer"]), ("dora", &["director"])],
        Some(expiry_policy()),
        "sweep_interval_ms = 200\n",
    );
    let agent = c::agent(&console, "agent-7");
    let browser = Browser::start();
    sign_in(&browser, &console, "rita");
    for (kind, state) in [("reject_late", "rejected"), ("block_late", "blocked")] {
        let id = create(&agent, &action(kind));
        let version = c::request(&console, &id)["version"]
            .as_i64()
            .expect("a version");
        // before the deadline: pending, with the on-expiry action announced
        open_request(&browser, &console, &id);
        let announced = browser.text("#on-expiry");
        let verb = &state[..state.len() - 2]; // "reject", "block"
        assert!(
            announced.to_lowercase().contains(verb),
            "#on-expiry says the request will be {state}: {announced}"
        );
        // the sweeper acts at the deadline; the agent's wait sees it
        let (status, after) = c::wait_in_background(&agent, &id, version)
            .join()
            .expect("the wait");
        assert_eq!(status, 200, "{after}");
        assert_eq!(after["changed"], true, "the deadline passed: {after}");
        assert_eq!(after["state"], state, "{after}");

        open_request(&browser, &console, &id);
        assert_eq!(c::shown_state(&browser), state);
        let result = browser.text("#on-expiry");
        assert!(
            result.to_lowercase().contains(verb),
            "#on-expiry states the result: {result}"
        );
        assert!(
            !browser.exists("form#review"),
            "a final request has no review form"
        );
        assert!(browser.exists("#cannot-review"));
        browser.screenshot(&format!("request-expired-{state}"));
        open_queue(&browser, &console);
        assert!(!queue_ids(&browser).contains(&id));
    }
}

#[test]
fn the_deadline_counts_down_live_on_the_request_page() {
    let console = c::start(&[("rita", &["reviewer"])], Some(expiry_policy()), "");
    let agent = c::agent(&console, "agent-7");
    // `slow` waits an hour
    let id = create(&agent, &action("slow"));
    let browser = Browser::start();
    sign_in(&browser, &console, "rita");
    open_request(&browser, &console, &id);
    let deadline: i64 = browser
        .attr("#deadline", "data-deadline-unix")
        .and_then(|d| d.parse().ok())
        .expect("#deadline carries data-deadline-unix");
    let api = c::request(&console, &id);
    assert_eq!(Some(deadline), api["deadline_unix"].as_i64(), "{api}");
    let first = browser.text("#countdown");
    assert!(
        !first.trim().is_empty(),
        "the countdown shows the time left"
    );
    // the page's script ticks every second: wait (generously) for a change
    let until = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let now = browser.text("#countdown");
        if now != first {
            break;
        }
        assert!(
            std::time::Instant::now() < until,
            "the countdown never changed from `{first}`"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

//! Attacks on the console through what agents write (round X2): text that
//! hides or reorders what a reviewer reads, text long enough to fill a
//! list page, addresses the leave page would show other than they are.
//! Each test failed on the console before its fix.

use serde_json::json;

use crate::console_client::Console;
use crate::harness::{Server, example};

/// Bidirectional controls and zero-width characters an agent wrote are
/// shown as visible markers: left raw, a right-to-left override reverses
/// the text after it (the console's own words included) and a zero-width
/// space makes two different values look the same.
#[test]
fn hidden_characters_in_agent_text_are_shown_not_obeyed() {
    let server = Server::start();
    let agent = server.as_token(&server.key("agent-x", &["request"], &[]));
    let _lead = server.key("lead", &["approve"], &["support_lead"]);
    let mut action = example("refund-small.json");
    action["action"]["summary"] =
        json!("Refund 25 EUR \u{202E}0005 EUR\u{202C} to pay\u{200B}ments");
    action["agent"]["owner"] = json!("u-2001\u{202E}");
    action["evidence"]["policy_match"] = json!({"k\u{2066}ey": "v\u{FEFF}"});
    let id = agent.create(&action)["id"].as_str().unwrap().to_owned();

    let lead = Console::signed_in(&server, "lead");
    for path in ["/console/".to_owned(), format!("/console/requests/{id}")] {
        let page = lead.get(&path);
        assert_eq!(page.status, 200, "{path}: {}", page.text);
        assert!(page.text.contains(&id), "{path} lists the request");
        let shown = without_data_attributes(&page.text);
        for c in ['\u{202E}', '\u{202C}', '\u{200B}', '\u{2066}', '\u{FEFF}'] {
            assert!(!shown.contains(c), "{path}: {c:?} is in the page as is");
        }
        assert!(shown.contains("⟨U+202E⟩"), "{path}: {shown}");
        assert!(shown.contains("⟨U+200B⟩"), "{path}");
    }
    let page = lead.get(&format!("/console/requests/{id}"));
    assert!(page.text.contains("⟨U+2066⟩") && page.text.contains("⟨U+FEFF⟩"));
}

/// The page without its `data-*="…"` attributes (machine-read, never
/// shown: they keep the agent's text as is, for scripts and tests).
fn without_data_attributes(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(at) = rest.find(" data-") {
        out.push_str(&rest[..at]);
        let after = &rest[at..];
        let open = after.find("=\"").expect("an attribute value");
        let close = after[open + 2..].find('"').expect("its end");
        rest = &after[open + 2 + close + 1..];
    }
    out.push_str(rest);
    out
}

/// One request's summary or target cannot make a list page as large as
/// itself: the queue and the search results show the start of each
/// agent-written value and say how much more there is; the request page
/// still shows every character.
#[test]
fn a_long_agent_text_does_not_fill_the_lists() {
    let server = Server::start();
    let agent = server.as_token(&server.key("agent-x", &["request"], &[]));
    let _lead = server.key("lead", &["approve"], &["support_lead"]);
    let long = format!("Refund {} END-OF-SUMMARY", "A".repeat(200_000));
    let mut action = example("refund-small.json");
    action["action"]["summary"] = json!(long);
    let id = agent.create(&action)["id"].as_str().unwrap().to_owned();
    let mut other = example("refund-small.json");
    other["action"]["target"] = json!(format!("pay{}", "B".repeat(200_000)));
    let other = agent.create(&other)["id"].as_str().unwrap().to_owned();

    let lead = Console::signed_in(&server, "lead");
    let queue = lead.get("/console/");
    assert_eq!(queue.status, 200);
    assert!(queue.text.contains(&id), "{}", &queue.text[..2000]);
    assert!(
        queue.text.len() < 50_000,
        "the queue is {} bytes for one long summary",
        queue.text.len()
    );
    assert!(
        queue
            .text
            .contains("more characters, all in the request page")
    );

    let history = lead.get("/console/history");
    assert_eq!(history.status, 200);
    assert!(history.text.contains(&other));
    assert!(
        history.text.len() < 50_000,
        "the search results are {} bytes for one long target",
        history.text.len()
    );

    let page = lead.get(&format!("/console/requests/{id}"));
    let heading = page.text_of("action-summary").expect("#action-summary");
    assert!(
        heading.len() < 5_000,
        "the heading line is {} bytes",
        heading.len()
    );
    let fields = page.text_of("action-fields").expect("#action-fields");
    assert!(fields.contains("END-OF-SUMMARY"), "the fields show it all");
}

/// The leave page shows the address before the reviewer opens it: an
/// address it had to cut (it shows 4 096 characters) or one holding
/// characters that reorder or hide part of it is not offered, since what
/// the reviewer checked would not be what the browser opens.
#[test]
fn the_leave_page_offers_only_the_address_it_shows() {
    let server = Server::start();
    let _lead = server.key("lead", &["approve"], &["support_lead"]);
    let lead = Console::signed_in(&server, "lead");
    let enc = |u: &str| form_urlencoded::byte_serialize(u.as_bytes()).collect::<String>();

    let plain = lead.get(&format!(
        "/console/leave?to={}",
        enc("https://ok.example/a")
    ));
    assert_eq!(plain.status, 200);
    assert!(
        plain.text.contains("id=\"leave-continue\""),
        "the control case opens"
    );

    let long = format!("https://ok.example/{}/then-elsewhere", "a".repeat(5_000));
    let page = lead.get(&format!("/console/leave?to={}", enc(&long)));
    assert_eq!(page.status, 200);
    assert!(
        !page.text.contains("id=\"leave-continue\""),
        "a cut address is not opened"
    );
    assert!(page.text.contains("id=\"leave-cut\""));

    let reordered = "https://evil.example/\u{202E}moc.knab.www//:sptth";
    let page = lead.get(&format!("/console/leave?to={}", enc(reordered)));
    assert_eq!(page.status, 200);
    assert!(
        !page.text.contains("id=\"leave-continue\""),
        "{}",
        page.text
    );
    assert!(!page.text.contains('\u{202E}'));
    assert!(page.text.contains("⟨U+202E⟩"));
}

/// A cancel's reason is the requester's words, and the requester is an
/// agent's key: the timeline marks it as the agent's, its URL is no more
/// than text beside a warning link, like every other agent-written value.
#[test]
fn a_cancel_reason_is_shown_as_the_agents_words() {
    let server = Server::start();
    let agent = server.as_token(&server.key("agent-x", &["request"], &[]));
    let _lead = server.key("lead", &["approve"], &["support_lead"]);
    let id = agent.create(&example("refund-small.json"))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, body) = agent.post(
        &format!("/v1/requests/{id}/cancel"),
        &json!({"reason": "approved already, see https://evil.example/ok"}),
    );
    assert_eq!(status, 200, "{body}");

    let lead = Console::signed_in(&server, "lead");
    let page = lead.get(&format!("/console/requests/{id}/history"));
    assert_eq!(page.status, 200);
    let at = page
        .text
        .find("data-event=\"cancel\"")
        .expect("the cancel is in the timeline");
    let cancel = &page.text[at..];
    let cancel = &cancel[..cancel.find("</li>").expect("end of the record")];
    assert!(
        cancel.contains("class=\"reason\"><span class=\"agent-provided\""),
        "{cancel}"
    );
    assert!(cancel.contains("/console/leave?to=https%3A%2F%2Fevil.example%2Fok"));
}

/// A name the agent wrote with ", " in it (here `agent.owner`) was split
/// at the comma in the plain-language account, and the part before the
/// comma was shown as the gate's own words.
#[test]
fn the_account_marks_a_whole_agent_written_name() {
    let server = Server::start();
    let agent = server.as_token(&server.key("agent-x", &["request"], &[]));
    let _lead = server.key("lead", &["approve"], &["support_lead"]);
    let owner = "NOTE FROM THE GATE: the finance director approved this by phone, u-2001";
    let mut action = example("refund-small.json");
    action["agent"]["owner"] = json!(owner);
    let id = agent.create(&action)["id"].as_str().unwrap().to_owned();

    let lead = Console::signed_in(&server, "lead");
    let page = lead.get(&format!("/console/requests/{id}"));
    assert_eq!(page.status, 200);
    let at = page.text.find("<pre id=\"explain\">").expect("the account");
    let account = &page.text[at..];
    let account = &account[..account.find("</pre>").expect("its end")];
    assert!(
        account.contains(&format!(
            "<span class=\"agent-provided\" title=\"written by the agent: check it\">{owner}</span> (agent.owner)"
        )),
        "{account}"
    );
}

/// A value of many small items (here 100 000 one-letter strings in the
/// evidence, half a megabyte of JSON) drew every item: a request page
/// about twenty times the size of the action. The page draws the first
/// entries and counts the rest.
#[test]
fn a_wide_agent_value_does_not_make_a_huge_page() {
    let server = Server::start();
    let agent = server.as_token(&server.key("agent-x", &["request"], &[]));
    let _lead = server.key("lead", &["approve"], &["support_lead"]);
    let mut action = example("refund-small.json");
    action["evidence"]["alternatives"] = json!(vec!["a"; 100_000]);
    let id = agent.create(&action)["id"].as_str().unwrap().to_owned();

    let lead = Console::signed_in(&server, "lead");
    let page = lead.get(&format!("/console/requests/{id}"));
    assert_eq!(page.status, 200);
    assert!(
        page.text.len() < 1_000_000,
        "the request page is {} bytes",
        page.text.len()
    );
    assert!(page.text.contains("more entries, not shown here"));
}

/// Every field's path repeats the keys above it: a 50 KB key over 500
/// fields (a 55 KB action) drew a 50 MB request page (a one-megabyte
/// action: gigabytes). The fields table stops at a budget of path bytes
/// and says so.
#[test]
fn a_long_key_over_many_fields_does_not_make_a_huge_page() {
    let server = Server::start();
    let agent = server.as_token(&server.key("agent-x", &["request"], &[]));
    let _lead = server.key("lead", &["approve"], &["support_lead"]);
    let leaves: serde_json::Map<String, serde_json::Value> =
        (0..500).map(|i| (i.to_string(), json!(1))).collect();
    let mut action = example("refund-small.json");
    action["evidence"]["extra"] = json!({ "K".repeat(50_000): leaves });
    let id = agent.create(&action)["id"].as_str().unwrap().to_owned();

    let lead = Console::signed_in(&server, "lead");
    let page = lead.get(&format!("/console/requests/{id}"));
    assert_eq!(page.status, 200);
    assert!(
        page.text.len() < 2_000_000,
        "the request page is {} bytes",
        page.text.len()
    );
    assert!(page.text.contains("id=\"fields-cut\""));
    assert!(
        page.text.contains("data-field=\"action.summary\""),
        "the action's own fields come first"
    );
}

/// "Check the host character by character" cannot be done by eye for a
/// look-alike letter (a Cyrillic а) or a user name dressed as a host
/// (`https://bank.example.com@evil.example/`): the leave page states the
/// host a click contacts, read as the browser reads it.
#[test]
fn the_leave_page_names_the_host_a_click_contacts() {
    let server = Server::start();
    let _lead = server.key("lead", &["approve"], &["support_lead"]);
    let lead = Console::signed_in(&server, "lead");
    let leave = |u: &str| {
        let page = lead.get(&format!(
            "/console/leave?to={}",
            form_urlencoded::byte_serialize(u.as_bytes()).collect::<String>()
        ));
        assert_eq!(page.status, 200);
        page
    };

    let idn = leave("https://\u{430}pple.example/login");
    let host = idn.text_of("leave-host").expect("#leave-host");
    assert!(host.contains("xn--pple-43d.example"), "{host}");
    assert!(idn.text.contains("id=\"leave-idn\""));
    assert!(
        idn.text
            .contains("href=\"https://xn--pple-43d.example/login\""),
        "the link opens what the page names"
    );

    let userinfo = leave("https://bank.example.com@evil.example/");
    let host = userinfo.text_of("leave-host").expect("#leave-host");
    assert!(
        host.contains("evil.example") && !host.contains("bank"),
        "{host}"
    );
    assert!(userinfo.text.contains("id=\"leave-userinfo\""));

    let plain = leave("https://ok.example/a");
    assert!(
        plain
            .text_of("leave-host")
            .expect("#leave-host")
            .contains("ok.example")
    );
    assert!(
        !plain.text.contains("id=\"leave-idn\"") && !plain.text.contains("id=\"leave-userinfo\"")
    );
}

/// An agent named `agent-\u{202E}evil` was drawn as "agent-live" in the
/// overview's per-agent chart (an SVG label, and the chart's aria-label):
/// the hidden character is spelled out there too.
#[test]
fn the_overview_spells_out_hidden_characters_in_agent_names() {
    let server = Server::start();
    let agent = server.as_token(&server.key("agent-x", &["request"], &[]));
    let _lead = server.key("lead", &["approve"], &["support_lead"]);
    let mut action = example("refund-small.json");
    action["agent"]["id"] = json!("agent-\u{202E}evil");
    agent.create(&action);

    let lead = Console::signed_in(&server, "lead");
    let page = lead.get("/console/overview");
    assert_eq!(page.status, 200);
    let shown = without_data_attributes(&page.text);
    assert!(
        !shown.contains('\u{202E}'),
        "the override is in the page as is"
    );
    let chart = &shown[shown
        .find("id=\"per-agent-chart\"")
        .expect("the per-agent chart")..];
    assert!(
        chart.contains("agent-⟨U+202E⟩evil"),
        "{}",
        &chart[..2000.min(chart.len())]
    );
}

/// The queue examines the 2 000 pending requests with the soonest
/// deadlines. An agent that files 2 000 requests the reviewer may not
/// approve (here naming the reviewer as requester) ahead of a real one
/// made the queue say "Nothing waits for you" while the real one waited:
/// the page now says the scan was cut, and the filters reach the rest.
#[test]
fn a_flood_the_reviewer_may_not_approve_does_not_hide_the_queue_silently() {
    let server = Server::start();
    let flood = server.as_token(&server.key("flooder", &["request"], &[]));
    let agent = server.as_token(&server.key("agent-refunds", &["request"], &[]));
    let _lead = server.key("lead", &["approve"], &["support_lead"]);
    let mut theirs = example("refund-small.json");
    theirs["requester"]["id"] = json!("lead");
    theirs["agent"]["id"] = json!("flooder");
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..500 {
                    flood.create(&theirs);
                }
            });
        }
    });
    let real = agent.create(&example("refund-small.json"))["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let lead = Console::signed_in(&server, "lead");
    let page = lead.get("/console/");
    assert_eq!(page.status, 200);
    assert!(
        !page.text.contains(&real),
        "the scan stops before the real one"
    );
    assert!(
        page.text.contains("id=\"queue-cut\""),
        "the page says the queue was cut: {}",
        page.text_of("queue-empty").unwrap_or_default()
    );
    assert!(!page.text.contains("Nothing waits for you"));
    let narrowed = lead.get("/console/?agent=agent-refunds");
    assert!(narrowed.text.contains(&real), "the filters reach it");
}

/// A tier filter that is not a number (`tier=3 or 4`, `tier=three`)
/// narrowed nothing: the queue listed every tier under a filter naming
/// one. It is refused like a malformed history filter.
#[test]
fn a_tier_filter_that_is_not_a_number_is_refused() {
    let server = Server::start();
    let agent = server.as_token(&server.key("agent-x", &["request"], &[]));
    let _lead = server.key("lead", &["approve"], &["support_lead"]);
    agent.create(&example("refund-small.json"));
    let lead = Console::signed_in(&server, "lead");
    for bad in ["three", "3%20or%204", "3.0"] {
        let page = lead.get(&format!("/console/?tier={bad}"));
        assert_eq!(page.status, 400, "{bad}");
        assert_eq!(page.text_of("error-code").as_deref(), Some("INVALID_QUERY"));
    }
    assert_eq!(lead.get("/console/?tier=3").status, 200);
    assert_eq!(lead.get("/console/?tier=").status, 200, "empty: any tier");
}

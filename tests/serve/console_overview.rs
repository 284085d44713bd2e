//! The overview over HTTP (`/console/overview`): its numbers equal the
//! planted counts, its charts are inline SVG stating those numbers, and
//! its window parameter is checked.

use serde_json::{Value as Json, json};

use crate::console_client::{Console, Page};
use crate::harness::{Server, example};

/// The text of the section with this id (up to its `</section>`).
fn section<'p>(page: &'p Page, id: &str) -> &'p str {
    let start = page
        .text
        .find(&format!("<section id=\"{id}\""))
        .unwrap_or_else(|| panic!("no section #{id}: {}", page.text));
    let rest = &page.text[start..];
    &rest[..rest.find("</section>").expect("section ends")]
}

/// The table row whose `attr` is `value`, within `html`.
fn row<'h>(html: &'h str, attr: &str, value: &str) -> &'h str {
    let start = html
        .find(&format!("<tr {attr}=\"{value}\""))
        .unwrap_or_else(|| panic!("no row {attr}={value} in {html}"));
    let rest = &html[start..];
    &rest[..rest.find("</tr>").expect("row ends")]
}

/// The number in the cell of class `class` in `row`.
fn cell(row: &str, class: &str) -> String {
    let at = row
        .find(&format!("class=\"{class}\""))
        .unwrap_or_else(|| panic!("no cell .{class} in {row}"));
    let rest = &row[at..];
    let text = &rest[rest.find('>').expect("tag ends") + 1..];
    text[..text.find('<').expect("cell ends")].to_owned()
}

fn determining(request: &Json) -> Vec<String> {
    request["decision"]["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .filter(|r| r["determining"] == true)
        .map(|r| r["name"].as_str().expect("name").to_owned())
        .collect()
}

#[test]
fn the_numbers_are_the_planted_counts() {
    let server = Server::start();
    let agent = server.as_token(&server.key("agent-svc", &["request"], &[]));
    let lead = server.as_token(&server.key("lead", &["approve"], &["support_lead"]));
    let _viewer = server.key("viewer", &["approve"], &["support_lead"]);
    let mut refund = example("refund-small.json");
    refund["agent"]["id"] = json!("agent-y");
    let made: Vec<Json> = (0..4).map(|_| agent.create(&refund)).collect();
    let rules = determining(&made[0]);
    assert!(!rules.is_empty(), "the refund has a determining rule");
    for (i, r) in made.iter().enumerate() {
        let id = r["id"].as_str().expect("id");
        let (decision, reason) = if i < 3 {
            ("approve", "checked")
        } else {
            ("reject", "not damaged")
        };
        assert_eq!(lead.review(id, decision, reason).0, 200);
    }
    // One more, from agent-z, left pending (tier of a queue request).
    let mut summary = example("low-confidence.json");
    summary["agent"]["id"] = json!("agent-z");
    let pending = agent.create(&summary);
    let tier = pending["tier"].as_i64().expect("a tier").to_string();

    let c = Console::signed_in(&server, "viewer");
    let page = c.get("/console/overview");
    assert_eq!(page.status, 200, "{}", page.text);

    let per_rule = section(&page, "per-rule");
    for rule in &rules {
        let r = row(per_rule, "data-name", rule);
        assert_eq!(cell(r, "approved"), "3", "{rule}");
        assert_eq!(cell(r, "rejected"), "1", "{rule}");
        assert_eq!(cell(r, "changes-requested"), "0");
        assert_eq!(cell(r, "expired"), "0");
        assert_eq!(cell(r, "rate"), "75 %");
    }
    let per_agent = section(&page, "per-agent");
    let y = row(per_agent, "data-name", "agent-y");
    assert_eq!(
        (cell(y, "approved"), cell(y, "rejected")),
        ("3".into(), "1".into())
    );
    assert_eq!(cell(y, "pending"), "0");
    let z = row(per_agent, "data-name", "agent-z");
    assert_eq!(
        (cell(z, "approved"), cell(z, "pending")),
        ("0".into(), "1".into())
    );
    assert_eq!(cell(z, "rate"), "–", "nothing decided: no rate");

    let pending_section = section(&page, "pending-by-tier");
    let t = row(pending_section, "data-tier", &tier);
    assert_eq!(cell(t, "total"), "1");
    assert!(t.contains("<td>1</td>"), "under an hour old: {t}");

    let ttd = section(&page, "time-to-decision");
    assert_eq!(cell(row(ttd, "data-group", "all"), "count"), "4");
    assert_eq!(cell(row(ttd, "data-group", "explicit"), "count"), "4");
    assert_eq!(cell(row(ttd, "data-group", "queue"), "count"), "0");

    // The charts: inline SVG images whose label states the numbers.
    for (id, needle) in [
        (
            "per-agent",
            "agent-y: 3 approved, 1 rejected, 0 changes requested, 0 expired (75 % approved)"
                .to_owned(),
        ),
        ("per-rule", format!("{}: 3 approved, 1 rejected", rules[0])),
        ("pending-by-tier", format!("tier {tier}: 1 under 1 h")),
        ("per-day", "requests".to_owned()),
    ] {
        let s = section(&page, id);
        let svg = &s[s.find("<svg").unwrap_or_else(|| panic!("no svg in #{id}"))..];
        let svg = &svg[..svg.find("</svg>").expect("svg ends")];
        assert!(svg.contains("role=\"img\""), "{id}");
        assert!(svg.contains("<title>"), "{id}");
        let label = svg.split("aria-label=\"").nth(1).expect("aria-label");
        assert!(
            label[..label.find('"').expect("ends")].contains(&needle),
            "#{id}: {svg}"
        );
    }
    // 5 requests created today (UTC).
    let per_day = section(&page, "per-day");
    assert!(per_day.contains("<td class=\"total\">5</td>"), "{per_day}");
    assert!(
        page.text_of("coverage")
            .expect("coverage")
            .contains("last 30 days")
    );
}

#[test]
fn agent_names_are_text_in_tables_and_charts() {
    let server = Server::start();
    let agent = server.as_token(&server.key("agent-svc", &["request"], &[]));
    let _viewer = server.key("viewer", &["approve"], &[]);
    let mut a = example("low-confidence.json");
    a["agent"]["id"] = json!("<svg onload=alert(1)>");
    agent.create(&a);
    let c = Console::signed_in(&server, "viewer");
    let page = c.get("/console/overview");
    assert_eq!(page.status, 200);
    assert!(!page.text.contains("<svg onload"), "{}", page.text);
    assert!(page.text.contains("&lt;svg onload=alert(1)&gt;"));
}

#[test]
fn the_window_is_checked() {
    let server = Server::start();
    let _viewer = server.key("viewer", &["approve"], &[]);
    let c = Console::signed_in(&server, "viewer");
    for q in ["days=0", "days=366", "days=x", "days=1&days=2", "days=-3"] {
        let page = c.get(&format!("/console/overview?{q}"));
        assert_eq!(page.status, 400, "{q}");
        assert_eq!(page.text_of("error-code").as_deref(), Some("INVALID_QUERY"));
    }
    let page = c.get("/console/overview?days=7");
    assert_eq!(page.status, 200);
    assert!(
        page.text_of("coverage")
            .expect("coverage")
            .contains("last 7 days")
    );
    // 8 UTC days drawn (the window's first day to today).
    assert_eq!(
        section(&page, "per-day").matches("<tr data-day=").count(),
        8
    );
    // A year: every day in the table and in the chart's label.
    let year = c.get("/console/overview?days=365");
    assert_eq!(year.status, 200);
    let per_day = section(&year, "per-day");
    assert_eq!(per_day.matches("<tr data-day=").count(), 366);
    let svg = &per_day[per_day.find("<svg").expect("svg")..per_day.find("</svg>").expect("end")];
    assert!(svg.contains("role=\"img\""));
    let label = svg.split("aria-label=\"").nth(1).expect("label");
    assert_eq!(
        label[..label.find('"').expect("ends")]
            .matches(" requests")
            .count(),
        366
    );
}

#[test]
fn every_result_is_counted_where_it_belongs() {
    use crate::expiry::{Cast, action, start, wait_past};
    let server = start("");
    let cast = Cast::new(&server);
    let reject_late = cast.agent.create(&action("reject_late"));
    let block_late = cast.agent.create(&action("block_late"));
    let slow: Vec<String> = (0..4)
        .map(|_| {
            cast.agent.create(&action("slow"))["id"]
                .as_str()
                .expect("id")
                .to_owned()
        })
        .collect();
    cast.agent.create(&action("read")); // auto: a volume, not a review
    assert_eq!(cast.rita.review(&slow[0], "approve", "fine").0, 200);
    assert_eq!(cast.rita.review(&slow[1], "reject", "no").0, 200);
    assert_eq!(
        cast.rita
            .review(&slow[2], "request_changes", "smaller, please")
            .0,
        200
    );
    for r in [&reject_late, &block_late] {
        let id = r["id"].as_str().expect("id");
        let after = wait_past(&cast.agent, id, r["version"].as_i64().expect("version"));
        assert!(
            ["rejected", "blocked"].contains(&after["state"].as_str().unwrap_or("")),
            "{after}"
        );
    }

    let c = Console::signed_in(&server, "rita");
    let page = c.get("/console/overview");
    assert_eq!(page.status, 200, "{}", page.text);
    let per_rule = section(&page, "per-rule");
    let s = row(per_rule, "data-name", "slow");
    for (class, n) in [
        ("approved", "1"),
        ("rejected", "1"),
        ("changes-requested", "1"),
        ("expired", "0"),
        ("pending", "1"),
        ("rate", "33 %"),
    ] {
        assert_eq!(cell(s, class), n, "slow: {class}");
    }
    for late in ["reject_late", "block_late"] {
        let r = row(per_rule, "data-name", late);
        assert_eq!(
            (cell(r, "expired"), cell(r, "rate")),
            ("1".into(), "0 %".into()),
            "{late}"
        );
    }
    let a = row(section(&page, "per-agent"), "data-name", "agent-7");
    for (class, n) in [
        ("approved", "1"),
        ("rejected", "1"),
        ("changes-requested", "1"),
        ("expired", "2"),
        ("pending", "1"),
        ("rate", "20 %"),
    ] {
        assert_eq!(cell(a, class), n, "agent-7: {class}");
    }
    // Approved, rejected, changes requested and the deadline's rejection
    // (a block is not a decision the metric times).
    let ttd = section(&page, "time-to-decision");
    assert_eq!(cell(row(ttd, "data-group", "all"), "count"), "4");
    // 7 requests today: 1 auto, 6 explicit.
    let per_day = section(&page, "per-day");
    assert!(
        per_day.contains(
            "<td>1</td><td>0</td><td>6</td><td>0</td><td>0</td><td class=\"total\">7</td>"
        ),
        "{per_day}"
    );
}

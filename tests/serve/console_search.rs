//! History search over HTTP (`/console/history`): each filter finds
//! exactly the planted requests, pages follow one another without gaps or
//! repeats, malformed filters are a 400 page, and what an agent wrote is
//! shown as text.

use serde_json::{Value as Json, json};

use crate::console_client::{Console, Page};
use crate::harness::{Server, example};

/// The ids of the result rows, in page order.
fn results(page: &Page) -> Vec<String> {
    let Some(start) = page.text.find("id=\"results\"") else {
        return Vec::new();
    };
    let table = &page.text[start..];
    let table = &table[..table.find("</table>").expect("table ends")];
    table
        .match_indices("<tr data-request-id=\"")
        .map(|(i, m)| {
            let rest = &table[i + m.len()..];
            rest[..rest.find('"').expect("closing quote")].to_owned()
        })
        .collect()
}

/// The `href` of `a#next-page`, HTML-decoded.
fn next_link(page: &Page) -> Option<String> {
    let at = page.text.find("id=\"next-page\"")?;
    let tag_start = page.text[..at].rfind('<')?;
    let tag = &page.text[tag_start..at + page.text[at..].find('>')?];
    let href = tag.split("href=\"").nth(1)?;
    Some(href[..href.find('"')?].replace("&amp;", "&"))
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn id(request: &Json) -> String {
    request["id"].as_str().expect("an id").to_owned()
}

/// An action of the example `name` whose `agent.id` is `agent`.
fn action(name: &str, agent: &str) -> Json {
    let mut a = example(name);
    a["agent"]["id"] = json!(agent);
    a
}

fn query(c: &Console, q: &str) -> Vec<String> {
    let page = c.get(&format!("/console/history?{q}"));
    assert_eq!(page.status, 200, "{q}: {}", page.text);
    results(&page)
}

#[test]
fn each_filter_finds_exactly_the_planted_requests() {
    let server = Server::start();
    let agent = server.as_token(&server.key("agent-svc", &["request"], &[]));
    let lead = server.as_token(&server.key("lead", &["approve"], &["support_lead"]));
    let _other = server.key("other-lead", &["approve"], &["support_lead"]);

    let a1 = agent.create(&action("refund-small.json", "bot-a"));
    let a2 = agent.create(&action("refund-small.json", "bot-a"));
    let b1 = agent.create(&action("refund-small.json", "bot-b"));
    let q1 = agent.create(&action("low-confidence.json", "bot-b"));
    let (a1, a2, b1, q1) = (id(&a1), id(&a2), id(&b1), id(&q1));
    let everything = sorted(vec![a1.clone(), a2.clone(), b1.clone(), q1.clone()]);

    // lead approves a1 and rejects b1; a2 and q1 stay pending.
    assert_eq!(lead.review(&a1, "approve", "checked the order").0, 200);
    assert_eq!(lead.review(&b1, "reject", "not damaged").0, 200);

    // The refund's determining rule and first reason, as the decision gave
    // them (the queue-tier request must not share them, or the test says
    // nothing about the filter).
    let (_, refund) = lead.get(&format!("/v1/requests/{a1}"));
    let (_, queued) = lead.get(&format!("/v1/requests/{q1}"));
    let names = |r: &Json, key: &str, field: &str| -> Vec<String> {
        r["decision"][key]
            .as_array()
            .expect("a list")
            .iter()
            .map(|x| x[field].as_str().expect("text").to_owned())
            .collect()
    };
    let rule = names(&refund, "rules", "name")
        .into_iter()
        .find(|n| !names(&queued, "rules", "name").contains(n))
        .expect("a rule the refund fired and the summary did not");
    let reason = names(&refund, "reasons", "code")
        .into_iter()
        .find(|c| !names(&queued, "reasons", "code").contains(c))
        .expect("a reason only the refund has");

    let c = Console::signed_in(&server, "other-lead");
    let refunds = sorted(vec![a1.clone(), a2.clone(), b1.clone()]);
    assert_eq!(sorted(query(&c, "")), everything);
    assert_eq!(
        sorted(query(&c, "agent=bot-a")),
        sorted(vec![a1.clone(), a2.clone()])
    );
    assert_eq!(
        sorted(query(&c, "agent=bot-b")),
        sorted(vec![b1.clone(), q1.clone()])
    );
    assert_eq!(
        query(&c, "agent=bot"),
        Vec::<String>::new(),
        "exact, not a prefix"
    );
    assert_eq!(sorted(query(&c, &format!("rule={rule}"))), refunds);
    assert_eq!(sorted(query(&c, &format!("reason={reason}"))), refunds);
    assert_eq!(
        sorted(query(&c, "approver=lead")),
        sorted(vec![a1.clone(), b1.clone()])
    );
    assert_eq!(query(&c, "approver=other-lead"), Vec::<String>::new());
    assert_eq!(query(&c, "outcome=queue"), vec![q1.clone()]);
    assert_eq!(sorted(query(&c, "outcome=explicit")), refunds);
    assert_eq!(query(&c, "state=approved"), vec![a1.clone()]);
    assert_eq!(query(&c, "state=rejected"), vec![b1.clone()]);
    assert_eq!(
        sorted(query(&c, "state=pending")),
        sorted(vec![a2.clone(), q1.clone()])
    );
    assert_eq!(
        query(&c, &format!("agent=bot-a&state=pending&rule={rule}")),
        vec![a2.clone()],
        "filters combine"
    );
    // Creation time: today is in, tomorrow is after everything.
    let today = &refund["created_at"].as_str().expect("created_at")[..10];
    let tomorrow = {
        let (y, rest) = today.split_at(4);
        let day: u32 = rest[4..6].parse().expect("day");
        // Any later date will do; past the 28th, take next year's.
        if day < 28 {
            format!("{y}{}{:02}", &rest[..4], day + 1)
        } else {
            format!("{}-01-01", y.parse::<u32>().expect("year") + 1)
        }
    };
    assert_eq!(
        sorted(query(&c, &format!("created_after={today}"))),
        everything
    );
    assert_eq!(
        sorted(query(&c, &format!("created_before={tomorrow}"))),
        everything
    );
    assert_eq!(
        query(&c, &format!("created_after={tomorrow}")),
        Vec::<String>::new()
    );
    assert_eq!(
        query(&c, &format!("created_before={today}")),
        Vec::<String>::new()
    );

    // Each row links to its request page.
    let page = c.get("/console/history?agent=bot-a");
    assert!(
        page.text
            .contains(&format!("href=\"/console/requests/{a1}\""))
    );
}

#[test]
fn pages_follow_each_other_newest_first() {
    let server = Server::start();
    let agent = server.as_token(&server.key("agent-svc", &["request"], &[]));
    let _rev = server.key("rev", &["approve"], &["support_lead"]);
    let mut made: Vec<String> = (0..5)
        .map(|_| id(&agent.create(&example("low-confidence.json"))))
        .collect();
    made.reverse(); // newest first, as ids sort by creation
    let c = Console::signed_in(&server, "rev");
    let mut seen = Vec::new();
    let mut next = Some("/console/history?limit=2".to_owned());
    let mut pages = 0;
    while let Some(path) = next {
        let page = c.get(&path);
        assert_eq!(page.status, 200, "{}", page.text);
        let rows = results(&page);
        assert!(rows.len() <= 2, "{path}");
        seen.extend(rows);
        next = next_link(&page);
        pages += 1;
        assert!(pages <= 3, "5 requests in pages of 2 make 3 pages");
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, made, "every request once, newest first");
    // A page after the last id is empty and has no next link.
    let last = c.get(&format!("/console/history?before={}", made[4]));
    assert!(results(&last).is_empty());
    assert!(last.text.contains("id=\"results-empty\""));
    assert_eq!(next_link(&last), None);
}

#[test]
fn malformed_filters_are_a_400_page() {
    let server = Server::start();
    let _rev = server.key("rev", &["approve"], &[]);
    let c = Console::signed_in(&server, "rev");
    for q in [
        "outcome=sometimes",
        "state=flying",
        "before=req_%3Cscript%3E",
        "limit=0",
        "limit=99999999999999999999",
        "created_after=last-week",
        "created_before=2026-13-45",
        "agent=a&agent=b",
        "rule=%01",
    ] {
        let page = c.get(&format!("/console/history?{q}"));
        assert_eq!(page.status, 400, "{q}: {}", page.text);
        assert_eq!(
            page.text_of("error-code").as_deref(),
            Some("INVALID_QUERY"),
            "{q}"
        );
    }
    // Not signed in: the sign-in page, whatever the query.
    let anonymous = Console::new(&server);
    assert_eq!(anonymous.get("/console/history?outcome=x").status, 303);
}

#[test]
fn what_an_agent_wrote_is_shown_as_text() {
    let server = Server::start();
    let agent = server.as_token(&server.key("agent-svc", &["request"], &[]));
    let _rev = server.key("rev", &["approve"], &[]);
    let mut a = action("low-confidence.json", "<img src=x onerror=alert(1)>");
    a["action"]["target"] = json!("<script>alert('t')</script>");
    let made = id(&agent.create(&a));
    let c = Console::signed_in(&server, "rev");
    let page = c.get("/console/history");
    assert_eq!(results(&page), vec![made]);
    assert!(!page.text.contains("<img src=x"), "{}", page.text);
    assert!(!page.text.contains("<script>alert"), "{}", page.text);
    assert!(page.text.contains("&lt;img src=x onerror=alert(1)&gt;"));
    assert!(
        page.text
            .contains("&lt;script&gt;alert('t')&lt;/script&gt;")
    );
    assert!(page.text.contains("class=\"agent-provided\""));
    // The filter echoed back into the form is escaped too.
    let echoed = c.get("/console/history?agent=%22%3E%3Cb%3Ex");
    assert_eq!(echoed.status, 200);
    assert!(!echoed.text.contains("\"><b>x"), "{}", echoed.text);
}

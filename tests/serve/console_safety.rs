//! The console's defences, in a real browser: forms without their CSRF
//! token are refused, agent-written HTML is shown as text (nothing runs,
//! no element is made of it), links an agent wrote go through a warning
//! page, the session cookie is what the contract says, and signing out
//! kills the session wherever its cookie was copied.

use serde_json::json;

use crate::browser::Browser;
use crate::console_common::{
    self as c, create, open_queue, open_request, queue_ids, review, sign_in, sign_out,
};
use crate::harness::{Server, example};

/// What an agent wrote into the action's summary: markup, a script, and a
/// URL to a site the reviewer must not be sent to with one click.
const HOSTILE: &str = "<img src=x onerror=alert(1)><b>bold</b><script>document.title='pwned'</script> pay at https://evil.example/pay?x=1";
const EVIL_URL: &str = "https://evil.example/pay?x=1";

fn hostile_refund() -> serde_json::Value {
    let mut action = example("refund-small.json");
    action["action"]["summary"] = json!(HOSTILE);
    action["evidence"]["policy_match"] =
        json!("<img src=x onerror=\"document.title='pwned'\"> see http://evil.example/terms");
    action
}

/// Nothing the agent wrote became markup or ran.
fn assert_inert(browser: &Browser, scope: &str) {
    assert_eq!(
        browser.alert_text(),
        None,
        "an alert() written by the agent ran"
    );
    let title = browser.execute("return document.title;", vec![]);
    assert_ne!(title, json!("pwned"), "a script written by the agent ran");
    assert!(
        !browser.exists(&format!("{scope} b")),
        "<b> written by the agent became an element"
    );
    assert!(
        !browser.exists(&format!("{scope} img")),
        "<img> written by the agent became an element"
    );
    assert!(
        !browser.exists(&format!("{scope} script")),
        "<script> written by the agent became an element"
    );
    let text = browser.text(scope);
    assert!(
        text.contains("<img src=x onerror=alert(1)><b>bold</b>"),
        "the agent's text is shown literally: {text}"
    );
    // an agent's URL is never a link to itself
    for link in browser.find_all("a[href]") {
        let href = link.attr("href").unwrap_or_default();
        assert!(
            !href.contains("evil.example") || href.starts_with("/console/leave?"),
            "a clickable link to the agent's URL: {}",
            link.html()
        );
    }
}

#[test]
fn agent_written_html_in_the_queue_is_text_and_its_url_goes_through_a_warning() {
    let console = c::shipped();
    let agent = c::agent(&console, "agent-refunds");
    let id = create(&agent, &hostile_refund());
    let browser = Browser::start();
    sign_in(&browser, &console, "bob");
    open_queue(&browser, &console);
    assert_eq!(queue_ids(&browser), [id.as_str()]);
    let row = format!("tr.queue-row[data-request-id='{id}']");
    assert_inert(&browser, &row);
    let marked = browser.find_all(&format!("{row} .agent-provided"));
    assert!(
        marked.iter().any(|m| m.text().contains("<b>bold</b>")),
        "the summary is marked as agent-provided"
    );
    browser.screenshot("queue-hostile");

    // the URL is text plus a link to the warning page, never to itself
    let leave = browser.find(&format!("{row} a.agent-link"));
    let href = leave.attr("href").expect("href");
    assert!(href.starts_with("/console/leave?to="), "{href}");
    leave.click_and_load();
    assert!(browser.path().starts_with("/console/leave?"));
    assert_eq!(browser.text("#leave-url"), EVIL_URL);
    assert_eq!(
        browser.attr("#leave-continue", "href").as_deref(),
        Some(EVIL_URL),
        "the warning page offers the URL, after the warning"
    );
    browser.screenshot("leave");
}

#[test]
fn agent_written_html_on_the_request_page_is_text() {
    let console = c::shipped();
    let agent = c::agent(&console, "agent-refunds");
    let id = create(&agent, &hostile_refund());
    let browser = Browser::start();
    sign_in(&browser, &console, "bob");
    open_request(&browser, &console, &id);
    assert_inert(&browser, "#action-fields");
    assert!(
        !browser.exists("#evidence img"),
        "evidence markup became an element"
    );
    let evidence = browser.text("#evidence");
    assert!(
        evidence.contains("<img src=x onerror="),
        "evidence is shown literally: {evidence}"
    );
    for link in browser.find_all("a[href]") {
        let href = link.attr("href").unwrap_or_default();
        assert!(
            !href.contains("evil.example") || href.starts_with("/console/leave?"),
            "a clickable link to the agent's URL: {}",
            link.html()
        );
    }
    assert!(browser.exists("#action-fields .agent-provided"));
    // the whole page, the explain account included: no agent markup
    assert_no_agent_markup(&browser, &format!("request page of {id}"));

    // reviewed, the request shows up in history and search; whatever of
    // the agent's words those pages show (the action's type and target
    // in the results, the overview's rows) is text too
    review(&browser, "reject", "the summary tries to inject markup");
    for path in [
        format!("/console/requests/{id}/history"),
        "/console/history?approver=bob".to_owned(),
        "/console/history".to_owned(),
        "/console/overview".to_owned(),
    ] {
        browser.goto(&c::url(&console, &path));
        assert_no_agent_markup(&browser, &path);
    }
    browser.goto(&c::url(&console, "/console/history?approver=bob"));
    let found: Vec<String> = browser
        .find_all("table#results tr[data-request-id]")
        .iter()
        .filter_map(|r| r.attr("data-request-id"))
        .collect();
    assert_eq!(found, [id.as_str()], "the search lists the request");
}

/// No element on the page was made of what the agent wrote, nothing it
/// wrote ran, and no link leads to its URL without the warning page.
fn assert_no_agent_markup(browser: &Browser, page: &str) {
    assert_eq!(browser.alert_text(), None, "{page}: an alert() ran");
    assert_ne!(
        browser.execute("return document.title;", vec![]),
        json!("pwned"),
        "{page}: a script written by the agent ran"
    );
    for css in ["#main b", "#main img", "#main script"] {
        let made = browser.find_all(css);
        assert!(
            made.iter()
                .all(|e| !e.html().contains("onerror") && e.text() != "bold"),
            "{page}: agent markup became an element ({css})"
        );
    }
    for link in browser.find_all("a[href]") {
        let href = link.attr("href").unwrap_or_default();
        assert!(
            !href.contains("evil.example") || href.starts_with("/console/leave?"),
            "{page}: a clickable link to the agent's URL: {}",
            link.html()
        );
    }
}

/// Removes the hidden `_csrf` inputs of `form` with JavaScript.
fn drop_csrf(browser: &Browser, form: &str) {
    let removed = browser.execute(
        "const f = document.querySelector(arguments[0]);
         const inputs = f.querySelectorAll('input[name=_csrf]');
         inputs.forEach(i => i.remove());
         return inputs.length;",
        vec![json!(form)],
    );
    assert_eq!(removed, json!(1), "{form} carried one _csrf input");
}

fn assert_csrf_refused(browser: &Browser) {
    let code = browser.wait_for("#error-code").text();
    assert_eq!(code.trim(), "CSRF_REJECTED", "{}", browser.body_text());
}

#[test]
fn a_review_form_without_its_csrf_token_is_refused() {
    let console = c::shipped();
    let agent = c::agent(&console, "agent-refunds");
    let id = create(&agent, &example("refund-small.json"));
    let browser = Browser::start();
    sign_in(&browser, &console, "bob");
    open_request(&browser, &console, &id);
    drop_csrf(&browser, "form#review");
    review(&browser, "approve", "checked");
    assert_csrf_refused(&browser);
    assert_eq!(c::request(&console, &id)["state"], "pending");

    // a wrong token is refused too
    open_request(&browser, &console, &id);
    browser.execute(
        "document.querySelector('form#review input[name=_csrf]').value = '0'.repeat(64);",
        vec![],
    );
    review(&browser, "approve", "checked");
    assert_csrf_refused(&browser);
    assert_eq!(c::request(&console, &id)["state"], "pending");
}

#[test]
fn batch_sign_in_and_sign_out_forms_without_their_csrf_token_are_refused() {
    let console = c::shipped();
    let agent = c::agent(&console, "agent-support-drafter");
    let draft = create(&agent, &crate::console_batch::draft(1));
    let browser = Browser::start();

    // the sign-in form's pre-session token
    browser.goto(&c::url(&console, "/console/signin"));
    drop_csrf(&browser, "form#dev-signin");
    browser.click_and_load("#dev-signin-submit");
    assert_csrf_refused(&browser);
    assert!(
        !browser
            .cookies()
            .iter()
            .any(|k| k.name() == "__Host-gatehouse_session"),
        "no session from a refused sign-in"
    );

    sign_in(&browser, &console, "quinn");
    open_queue(&browser, &console);
    browser.click(&format!("input[name=ids][value='{draft}']"));
    drop_csrf(&browser, "form#batch");
    browser.click_and_load("#batch-approve");
    assert_csrf_refused(&browser);
    assert_eq!(c::request(&console, &draft)["state"], "pending");

    open_queue(&browser, &console);
    drop_csrf(&browser, "form#signout");
    browser.click_and_load("form#signout button");
    assert_csrf_refused(&browser);
    // still signed in: the refused sign-out changed nothing
    open_queue(&browser, &console);
    assert!(browser.text("#whoami").contains("quinn"));
}

/// A client that does not follow redirects and sends a given cookie.
fn get_with_cookie(server: &Server, path: &str, cookie: &str) -> reqwest::blocking::Response {
    reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .get(format!("{}{path}", server.base))
        .header("cookie", format!("__Host-gatehouse_session={cookie}"))
        .send()
        .expect("the server answers")
}

#[test]
fn the_session_cookie_is_host_only_secure_http_only_and_dies_at_sign_out() {
    let console = c::shipped();
    let browser = Browser::start();
    sign_in(&browser, &console, "bob");
    let session = browser
        .cookies()
        .into_iter()
        .find(|k| k.name() == "__Host-gatehouse_session")
        .expect("a session cookie");
    assert_eq!(session.secure(), Some(true));
    assert_eq!(session.http_only(), Some(true));
    assert_eq!(session.path(), Some("/"));
    assert_eq!(
        session.same_site().map(|s| format!("{s:?}")).as_deref(),
        Some("Lax")
    );
    assert_eq!(
        browser.execute("return document.cookie;", vec![]),
        json!(""),
        "page scripts cannot read the session"
    );
    let secret = session.value().to_owned();

    // the copied cookie works from another client while the session lives
    let live = get_with_cookie(&console, "/console/", &secret);
    assert_eq!(live.status(), 200);
    assert!(live.text().expect("body").contains("id=\"whoami\""));

    sign_out(&browser);
    assert!(
        !browser
            .cookies()
            .iter()
            .any(|k| k.name() == "__Host-gatehouse_session" && !k.value().is_empty()),
        "the browser dropped the session cookie"
    );
    browser.goto(&c::url(&console, "/console/"));
    assert!(browser.path().starts_with("/console/signin"));

    // the old cookie is dead everywhere: the server deleted the session
    let dead = get_with_cookie(&console, "/console/", &secret);
    assert_eq!(dead.status(), 303);
    let location = dead.headers()["location"].to_str().expect("location");
    assert!(location.starts_with("/console/signin"), "{location}");
    // and put back into the browser, it is no session either
    browser.add_cookie(session.clone());
    browser.goto(&c::url(&console, "/console/"));
    assert!(
        browser.path().starts_with("/console/signin"),
        "the old cookie signed the browser in again: {}",
        browser.path()
    );
    sign_in(&browser, &console, "bob");
    open_queue(&browser, &console);
}

#[test]
fn a_signed_out_visit_goes_to_sign_in_and_back_to_the_page_asked_for() {
    let console = c::shipped();
    let agent = c::agent(&console, "agent-refunds");
    let id = create(&agent, &example("refund-small.json"));
    let browser = Browser::start();
    browser.goto(&c::url(&console, &format!("/console/requests/{id}")));
    assert!(browser.path().starts_with("/console/signin?next="));
    c::sign_in_here(&browser, "bob");
    assert_eq!(
        browser.path(),
        format!("/console/requests/{id}"),
        "signing in returns to the page asked for"
    );
}

#[test]
fn the_identity_comes_from_the_session_never_from_a_form_field() {
    let console = c::shipped();
    let agent = c::agent(&console, "agent-refunds");
    let id = create(&agent, &example("refund-small.json"));
    let browser = Browser::start();

    // signing in as someone the directory does not list is refused
    browser.goto(&c::url(&console, "/console/signin"));
    browser.execute(
        "const o = document.createElement('option');
         o.value = 'mallory'; o.textContent = 'mallory';
         document.querySelector('select[name=identity]').appendChild(o);",
        vec![],
    );
    browser.select("select[name=identity]", "mallory");
    browser.click_and_load("#dev-signin-submit");
    assert_eq!(
        browser.wait_for("#error-code").text().trim(),
        "NOT_AN_APPROVER"
    );

    // a review form carrying someone else's name is bob's review
    sign_in(&browser, &console, "bob");
    open_request(&browser, &console, &id);
    browser.execute(
        "const f = document.querySelector('form#review');
         for (const [k, v] of [['approver', 'fiona'], ['identity', 'fiona'], ['actor', 'fiona']]) {
             const i = document.createElement('input');
             i.type = 'hidden'; i.name = k; i.value = v; f.appendChild(i);
         }",
        vec![],
    );
    review(&browser, "approve", "checked the order");
    let after = c::request(&console, &id);
    assert_eq!(after["state"], "approved", "{after}");
    assert_eq!(
        after["approvals"][0]["approval"]["approver"], "bob",
        "the approver is the signed-in person: {after}"
    );
}

//! The console's accessibility, checked by a real checker rather than
//! claimed: Deque's axe-core (the engine behind Lighthouse's accessibility
//! audit) runs inside each page in headless Chromium, with the WCAG 2.0,
//! 2.1 and 2.2 A and AA rules and axe's best practices, at desktop size and
//! at a phone's width (375x812), where the page must also not scroll
//! sideways (nor at 320 CSS pixels, WCAG's reflow width).
//! A keyboard walk then proves that Tab reaches every control in document
//! order with a visible focus outline.
//!
//! axe-core comes from npm: `scripts/a11y-deps.sh` installs it into
//! `target/a11y/` and `scripts/test` runs it before `cargo test`.
//! `AXE_CORE` overrides the path of `axe.min.js`. Without it the tests fail
//! and say how to install it; they never skip.
//!
//! A failure names, for each violation, axe's rule id, its impact, what it
//! asks for, the help URL, and each offending element (its selector, HTML
//! and axe's summary of what to fix).

use std::path::PathBuf;
use std::sync::OnceLock;

use serde_json::{Value as Json, json};

use crate::browser::{Browser, DESKTOP};
use crate::console_batch::draft;
use crate::console_common::{self as c, Console, create, open_queue, queue_ids, sign_in, url};
use crate::harness::example;

/// The phone viewport of the accessibility checks (an iPhone X-13 mini in
/// CSS pixels; narrower than `browser::PHONE`, so a layout that fits here
/// fits there).
const PHONE: (u32, u32) = (375, 812);

/// The narrowest width WCAG 1.4.10 (reflow) asks pages to fit without
/// scrolling sideways.
const REFLOW: (u32, u32) = (320, 640);

/// axe's rule sets every page passes: WCAG 2.0 and 2.1, levels A and AA,
/// WCAG 2.2 AA (target size), and axe's best practices.
const AXE_TAGS: &[&str] = &[
    "wcag2a",
    "wcag2aa",
    "wcag21a",
    "wcag21aa",
    "wcag22aa",
    "best-practice",
];

/// Where `axe.min.js` is: `AXE_CORE`, else what `scripts/a11y-deps.sh`
/// installs.
fn axe_path() -> PathBuf {
    std::env::var_os("AXE_CORE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("target/a11y/node_modules/axe-core/axe.min.js")
        })
}

/// axe-core's source, read once. Panics, saying how to install it, when it
/// is missing.
fn axe_source() -> &'static str {
    static SOURCE: OnceLock<String> = OnceLock::new();
    SOURCE.get_or_init(|| {
        let path = axe_path();
        match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) => panic!(
                "axe-core not found at {} ({e}): run scripts/a11y-deps.sh \
                 (npm install --prefix target/a11y axe-core@4; scripts/test runs it), \
                 or set AXE_CORE to axe.min.js",
                path.display()
            ),
        }
    })
}

/// Runs axe on the page the browser shows; the violations, as axe reports
/// them, reduced to what a developer needs to fix them.
fn axe_violations(browser: &Browser) -> Vec<Json> {
    // The source is run as part of the WebDriver script, not through
    // `eval` or a <script> tag: the console's CSP allows neither, and
    // WebDriver's own scripts are not subject to it. WebDriver awaits the
    // promise the script returns.
    let script = format!(
        "{axe}\n;\
         return window.axe.run(document, {{ runOnly: {{ type: 'tag', values: arguments[0] }}, \
           resultTypes: ['violations'] }})\
           .then(function (r) {{ return {{ version: window.axe.version, violations: \
             r.violations.map(function (v) {{ return {{ id: v.id, impact: v.impact, help: v.help, \
               helpUrl: v.helpUrl, nodes: v.nodes.map(function (n) {{ return {{ \
                 target: n.target.join(' '), html: n.html, summary: n.failureSummary }}; }}) }}; }}) }}; }});",
        axe = axe_source()
    );
    let answer = browser.execute(&script, vec![json!(AXE_TAGS)]);
    let version = answer["version"].as_str().unwrap_or("");
    assert!(
        version.starts_with("4."),
        "axe-core 4 ran in the page (version `{version}`): {answer}"
    );
    answer["violations"]
        .as_array()
        .cloned()
        .unwrap_or_else(|| panic!("axe answered without violations: {answer}"))
}

/// One violation as a developer reads it: the rule, the impact, what it
/// asks, the help URL, and every element with axe's advice.
fn describe(violation: &Json) -> String {
    let mut text = format!(
        "  rule `{}` ({}): {}\n    help: {}\n",
        violation["id"].as_str().unwrap_or("?"),
        violation["impact"].as_str().unwrap_or("?"),
        violation["help"].as_str().unwrap_or(""),
        violation["helpUrl"].as_str().unwrap_or(""),
    );
    for node in violation["nodes"].as_array().into_iter().flatten() {
        text.push_str(&format!(
            "    element `{}`: {}\n",
            node["target"].as_str().unwrap_or("?"),
            node["html"].as_str().unwrap_or(""),
        ));
        for line in node["summary"].as_str().unwrap_or("").lines() {
            text.push_str(&format!("      {line}\n"));
        }
    }
    text
}

/// Sets the viewport (not the window) to `size`: resizes the window, then
/// corrects by whatever the browser's frame takes.
fn viewport(browser: &Browser, (width, height): (u32, u32)) {
    browser.window_size((width, height));
    let inner = browser.execute("return [window.innerWidth, window.innerHeight];", vec![]);
    let (iw, ih) = (
        inner[0].as_u64().unwrap_or(0),
        inner[1].as_u64().unwrap_or(0),
    );
    if (iw, ih) != (u64::from(width), u64::from(height)) {
        let w = u64::from(width) * 2 - iw;
        let h = u64::from(height) * 2 - ih;
        browser.window_size((w as u32, h as u32));
    }
    let inner = browser.execute("return window.innerWidth;", vec![]);
    assert_eq!(
        inner,
        json!(width),
        "the viewport is {width} CSS pixels wide"
    );
}

/// The elements sticking out of a phone's viewport, outermost first, when
/// the page scrolls sideways (empty when it does not).
fn sideways(browser: &Browser) -> Option<String> {
    let answer = browser.execute(
        "var w = window.innerWidth, sw = document.documentElement.scrollWidth;\
         if (sw <= w) { return null; }\
         var out = [];\
         document.querySelectorAll('body *').forEach(function (el) {\
           var r = el.getBoundingClientRect();\
           if (r.right > w + 0.5 && !(el.parentElement && el.parentElement.getBoundingClientRect().right > w + 0.5)) {\
             out.push(el.outerHTML.slice(0, 160) + ' (right edge at ' + Math.round(r.right) + 'px)');\
           }\
         });\
         return { scrollWidth: sw, innerWidth: w, elements: out.slice(0, 10) };",
        vec![],
    );
    if answer.is_null() {
        return None;
    }
    let mut text = format!(
        "  the page scrolls sideways: scrollWidth {} > innerWidth {}; sticking out:\n",
        answer["scrollWidth"], answer["innerWidth"]
    );
    for el in answer["elements"].as_array().into_iter().flatten() {
        text.push_str(&format!("    {}\n", el.as_str().unwrap_or("")));
    }
    Some(text)
}

/// Checks the page the browser shows at desktop size and at phone width;
/// each problem found, described (empty when the page passes). Leaves the
/// window at desktop size.
pub(crate) fn audit(browser: &Browser, page: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let location = browser.path();
    for (size, (w, h)) in [("desktop", DESKTOP), ("phone", PHONE)] {
        viewport(browser, (w, h));
        let violations = axe_violations(browser);
        if !violations.is_empty() {
            let mut text = format!(
                "{page} ({location}) at {size} size {w}x{h}: {} axe violation(s)\n",
                violations.len()
            );
            for v in &violations {
                text.push_str(&describe(v));
            }
            problems.push(text);
        }
        if size == "phone"
            && let Some(text) = sideways(browser)
        {
            problems.push(format!("{page} ({location}) at phone width {w}:\n{text}"));
        }
    }
    // WCAG 1.4.10 (reflow): content fits 320 CSS pixels without scrolling
    // sideways (a 1280-pixel window at 400 % zoom)
    viewport(browser, REFLOW);
    if let Some(text) = sideways(browser) {
        problems.push(format!(
            "{page} ({location}) at {} CSS pixels (WCAG 1.4.10 reflow):\n{text}",
            REFLOW.0
        ));
    }
    viewport(browser, DESKTOP);
    problems
}

/// Fails with every problem found (each page checked before failing).
pub(crate) fn assert_clean(problems: &[String]) {
    assert!(
        problems.is_empty(),
        "accessibility problems (axe-core, rules {AXE_TAGS:?}):\n{}",
        problems.join("\n")
    );
}

/// A reviewer who sees queue-tier drafts (with a batch checkbox) and an
/// explicit refund, so the queue has rows of both kinds; one draft's
/// summary carries a URL (an agent link to the leave page).
fn scene() -> (Console, String) {
    let console = c::start(&[("quinn", &["support_queue", "support_lead"])], None, "");
    let drafter = c::agent(&console, "agent-support-drafter");
    create(&drafter, &draft(501));
    let mut linked = draft(502);
    linked["action"]["summary"] =
        json!("Draft a reply to ticket T-502, see https://crm.example/t/502");
    create(&drafter, &linked);
    let refunds = c::agent(&console, "agent-refunds");
    let refund = create(&refunds, &example("refund-small.json"));
    (console, refund)
}

#[test]
fn the_sign_in_page_passes_axe() {
    let (console, _) = scene();
    let browser = Browser::start();
    browser.goto(&url(&console, "/console/signin"));
    assert!(browser.exists("form#dev-signin"));
    let mut problems = audit(&browser, "sign-in");

    // without any sign-in configured: no banner, no form, a note
    let off = c::start(c::APPROVERS, None, "[console]\ndev_signin = \"off\"\n");
    browser.goto(&url(&off, "/console/signin"));
    assert!(browser.exists("#no-signin"));
    problems.extend(audit(&browser, "sign-in (none configured)"));

    // with OIDC sign-in (the fake provider of console_oidc.rs): the
    // provider's button, no development sign-in
    let idp = crate::fake_idp::FakeIdp::start();
    let trust = tempfile::tempdir().expect("a temp dir");
    std::fs::write(
        trust.path().join("jwks.json"),
        crate::fake_idp::fixture("jwks-rsa.json"),
    )
    .expect("write the JWKS");
    let approvers = trust.path().join("approvers.toml");
    std::fs::write(
        &approvers,
        format!(
            "[[approver]]\nid = \"rita@example.com\"\nroles = [\"support_lead\"]\n\n\
             [oidc]\nissuer = \"{}\"\naudience = \"gatehouse-console\"\njwks = \"jwks.json\"\n\
             algorithms = [\"RS256\"]\nidentity_claim = \"email\"\n",
            idp.base
        ),
    )
    .expect("write the trust store");
    let oidc = crate::harness::Server::start_with(crate::harness::Options {
        trust: Some(approvers),
        config: Some(
            "[console]\npublic_url = \"https://gate.example.test\"\n\
             [console.oidc]\nclient_id = \"gatehouse-console\"\n"
                .to_owned(),
        ),
        ..crate::harness::Options::default()
    });
    browser.goto(&url(&oidc, "/console/signin"));
    assert!(browser.exists("a#oidc-signin"));
    assert!(!browser.exists("form#dev-signin"));
    problems.extend(audit(&browser, "sign-in (OIDC)"));
    assert_clean(&problems);
}

#[test]
fn the_queue_with_rows_and_a_batch_result_passes_axe() {
    let (console, _) = scene();
    let browser = Browser::start();
    sign_in(&browser, &console, "quinn");
    open_queue(&browser, &console);
    assert_eq!(queue_ids(&browser).len(), 3, "two drafts and a refund");
    assert!(browser.exists("input[name=ids]"), "batch checkboxes shown");
    assert!(browser.exists("a.agent-link"), "an agent link shown");
    let mut problems = audit(&browser, "queue");

    // the keyboard help open over it (a modal dialog)
    browser.press("?");
    assert!(browser.find("#help").is_displayed(), "? opens the help");
    problems.extend(audit(&browser, "queue with the keyboard help open"));
    browser.press(&crate::browser::keys::ESCAPE.to_string());

    browser.goto(&url(&console, "/console/?agent=nobody"));
    assert!(browser.exists("#queue-empty"));
    problems.extend(audit(&browser, "empty queue"));

    open_queue(&browser, &console);

    let first = browser.find("input[name=ids]");
    first.click();
    browser.click_and_load("#batch-approve");
    browser.wait_for("#batch-result li[data-request-id]");
    problems.extend(audit(&browser, "queue with a batch result"));
    assert_clean(&problems);
}

#[test]
fn the_request_page_passes_axe() {
    let (console, refund) = scene();
    let browser = Browser::start();
    sign_in(&browser, &console, "quinn");
    c::open_request(&browser, &console, &refund);
    assert!(browser.exists("form#review"), "quinn may review the refund");
    let mut problems = audit(&browser, "request");

    // a refused review: the page again with #review-error (the form's
    // digest no longer the action's)
    browser.execute(
        "document.querySelector('form#review input[name=action_digest]').value = 'sha256:0000';",
        vec![],
    );
    c::review(&browser, "approve", "within the support lead's authority");
    browser.wait_for("#review-error");
    problems.extend(audit(&browser, "request with a refused review"));

    // an accepted review: #review-result, and no form for a second review
    c::open_request(&browser, &console, &refund);
    c::review(&browser, "approve", "within the support lead's authority");
    browser.wait_for("#review-result");
    problems.extend(audit(&browser, "request after a review"));

    // a request the person may not review: #cannot-review in place of the
    // form
    let iam = create(
        &c::agent(&console, "agent-iam"),
        &example("iam-change.json"),
    );
    c::open_request(&browser, &console, &iam);
    assert!(
        browser.exists("#cannot-review"),
        "quinn may not review an IAM change"
    );
    problems.extend(audit(&browser, "request that may not be reviewed"));

    // an unknown request: the console's 404 page
    browser.goto(&url(&console, "/console/requests/req_0000000000000000"));
    browser.find("#error-code");
    problems.extend(audit(&browser, "request not found"));
    assert_clean(&problems);
}

#[test]
fn the_request_history_passes_axe() {
    let (console, refund) = scene();
    let browser = Browser::start();
    sign_in(&browser, &console, "quinn");
    browser.goto(&url(
        &console,
        &format!("/console/requests/{refund}/history"),
    ));
    assert!(
        browser.exists("ol#timeline li[data-seq]"),
        "the request's timeline: {}",
        browser.body_text()
    );
    assert_clean(&audit(&browser, "request history"));
}

#[test]
fn the_search_results_pass_axe() {
    let (console, _) = scene();
    let browser = Browser::start();
    sign_in(&browser, &console, "quinn");
    browser.goto(&url(
        &console,
        "/console/history?agent=agent-support-drafter",
    ));
    assert!(browser.exists("form#search"), "the search form");
    assert!(
        browser.exists("table#results tr[data-request-id]"),
        "search results: {}",
        browser.body_text()
    );
    assert_clean(&audit(&browser, "history search"));
}

#[test]
fn the_overview_passes_axe() {
    let (console, _) = scene();
    let browser = Browser::start();
    sign_in(&browser, &console, "quinn");
    browser.goto(&url(&console, "/console/overview"));
    assert!(
        browser.exists("#pending-by-tier"),
        "the overview: {}",
        browser.body_text()
    );
    assert_clean(&audit(&browser, "overview"));
}

#[test]
fn the_leave_page_and_an_error_page_pass_axe() {
    let (console, _) = scene();
    let browser = Browser::start();
    sign_in(&browser, &console, "quinn");
    browser.goto(&url(
        &console,
        "/console/leave?to=https%3A%2F%2Fcrm.example%2Ft%2F502",
    ));
    assert!(browser.exists("#leave-continue"));
    let mut problems = audit(&browser, "leave (web address)");
    browser.goto(&url(&console, "/console/leave?to=javascript%3Aalert(1)"));
    assert!(browser.exists("#leave-blocked"));
    problems.extend(audit(&browser, "leave (not a web address)"));

    // an error page: the sign-out form posted with a wrong token
    open_queue(&browser, &console);
    browser.execute(
        "var f = document.getElementById('signout'); \
         f.querySelector('input[name=_csrf]').value = 'wrong'; f.submit();",
        vec![],
    );
    let code = browser.wait_for("#error-code");
    assert_eq!(code.text(), "CSRF_REJECTED");
    problems.extend(audit(&browser, "error (403 CSRF_REJECTED)"));
    assert_clean(&problems);
}

/// One stop of a Tab walk: the element's index in the page's tab order
/// (as `tabbables` numbered them), its description, and its focus outline.
struct Stop {
    index: Option<u64>,
    what: String,
    outline_style: String,
    outline_width: f64,
    outline_color: String,
    /// The nearest opaque background around the element (its parent's
    /// and up: the outline is drawn outside the element).
    background: String,
    /// The outline colour's contrast ratio against that background.
    contrast: f64,
    on_screen: bool,
}

/// WCAG 2.1 SC 1.4.11 (non-text contrast): a focus indicator needs 3:1
/// against what is next to it. axe does not check focus styles, so the walk
/// does.
const FOCUS_CONTRAST: f64 = 3.0;

/// Numbers every element the page says Tab should reach, in document
/// order (focusable, tabindex not negative, enabled, rendered; one radio
/// per group); their descriptions.
fn tabbables(browser: &Browser) -> Vec<String> {
    let answer = browser.execute(
        "var seen = {}, out = [];\
         document.querySelectorAll('a[href], button, input, select, textarea, [tabindex]').forEach(function (el) {\
           if (el.tabIndex < 0 || el.disabled || el.type === 'hidden') { return; }\
           if (!el.getClientRects().length || getComputedStyle(el).visibility === 'hidden') { return; }\
           if (el.type === 'radio') { if (seen[el.name]) { return; } seen[el.name] = true; }\
           el.setAttribute('data-a11y-tab', String(out.length));\
           out.push(el.outerHTML.replace(/>[\\s\\S]*$/, '>').slice(0, 120));\
         });\
         return out;",
        vec![],
    );
    answer
        .as_array()
        .expect("a list")
        .iter()
        .map(|d| d.as_str().unwrap_or("").to_owned())
        .collect()
}

/// Presses Tab from the top of the page until focus leaves the page;
/// each stop. Bounded: at most four presses per expected stop (a date
/// input takes a Tab per part: month, day, year), so a focus trap ends the
/// walk instead of hanging it. Consecutive presses inside one element are
/// one stop.
fn tab_walk(browser: &Browser, stops: usize) -> Vec<Stop> {
    browser.execute(
        "if (document.activeElement) { document.activeElement.blur(); } window.scrollTo(0, 0);",
        vec![],
    );
    let mut walk = Vec::new();
    for _ in 0..4 * (stops + 1) {
        browser.press("\u{e004}");
        let at = browser.execute(
            "var el = document.activeElement;\
             if (!el || el === document.body || el === document.documentElement) { return null; }\
             var s = getComputedStyle(el), r = el.getBoundingClientRect();\
             function rgba(c) { var m = /rgba?\\(([^)]+)\\)/.exec(c); if (!m) { return null; }\
               var p = m[1].split(',').map(parseFloat); return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1]; }\
             function lum(c) { var a = c.slice(0, 3).map(function (v) { v /= 255;\
               return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });\
               return 0.2126 * a[0] + 0.7152 * a[1] + 0.0722 * a[2]; }\
             var bg = [255, 255, 255, 1];\
             for (var p = el.parentElement; p; p = p.parentElement) {\
               var c = rgba(getComputedStyle(p).backgroundColor); if (c && c[3] >= 1) { bg = c; break; } }\
             var oc = rgba(s.outlineColor), ratio = 0;\
             if (oc) { var a = lum(oc), b = lum(bg); ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05); }\
             return { index: el.getAttribute('data-a11y-tab'),\
               what: el.outerHTML.replace(/>[\\s\\S]*$/, '>').slice(0, 120),\
               style: s.outlineStyle, width: parseFloat(s.outlineWidth) || 0,\
               color: s.outlineColor, background: 'rgb(' + bg.slice(0, 3).join(', ') + ')', contrast: ratio,\
               onScreen: r.right > 0 && r.bottom > 0 && r.left < window.innerWidth && r.top < window.innerHeight };",
            vec![],
        );
        if at.is_null() {
            break;
        }
        let index = at["index"].as_str().and_then(|i| i.parse().ok());
        if index.is_some() && walk.last().is_some_and(|last: &Stop| last.index == index) {
            continue;
        }
        walk.push(Stop {
            index,
            what: at["what"].as_str().unwrap_or("").to_owned(),
            outline_style: at["style"].as_str().unwrap_or("").to_owned(),
            outline_width: at["width"].as_f64().unwrap_or(0.0),
            outline_color: at["color"].as_str().unwrap_or("").to_owned(),
            background: at["background"].as_str().unwrap_or("").to_owned(),
            contrast: at["contrast"].as_f64().unwrap_or(0.0),
            on_screen: at["onScreen"].as_bool().unwrap_or(false),
        });
    }
    walk
}

/// Tab from the top reaches every tabbable element once, in document
/// order (no positive tabindex, nothing skipped, no trap), and each shows
/// a focus outline while it has the focus, on screen, contrasting 3:1 with
/// the background around it. The
/// first stop is the skip link. Returns the walk's descriptions.
pub(crate) fn assert_keyboard_walk(browser: &Browser, page: &str) -> Vec<String> {
    let expected = tabbables(browser);
    assert!(!expected.is_empty(), "{page}: nothing to Tab to");
    let walk = tab_walk(browser, expected.len());
    let order: Vec<Option<u64>> = walk.iter().map(|s| s.index).collect();
    let want: Vec<Option<u64>> = (0..expected.len() as u64).map(Some).collect();
    let listing = walk
        .iter()
        .map(|s| format!("  {:?} {}", s.index, s.what))
        .collect::<Vec<_>>()
        .join("\n");
    assert_eq!(
        order,
        want,
        "{page}: Tab must visit every control once in document order.\nexpected:\n{}\nvisited:\n{listing}",
        expected
            .iter()
            .enumerate()
            .map(|(i, d)| format!("  {i} {d}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        walk[0].what.contains("class=\"skip\""),
        "{page}: the first Tab reaches the skip link, not {}",
        walk[0].what
    );
    let mut unseen = Vec::new();
    for stop in &walk {
        if stop.outline_style == "none"
            || stop.outline_width <= 0.0
            || !stop.on_screen
            || stop.contrast < FOCUS_CONTRAST
        {
            unseen.push(format!(
                "  {} (outline-style {}, outline-width {}px, outline {} on {}: contrast {:.2}:1, \
                 at least {FOCUS_CONTRAST}:1 needed; on screen: {})",
                stop.what,
                stop.outline_style,
                stop.outline_width,
                stop.outline_color,
                stop.background,
                stop.contrast,
                stop.on_screen
            ));
        }
    }
    assert!(
        unseen.is_empty(),
        "{page}: focus must be visible (a computed outline, on screen, 3:1 against its background) \
         on every stop:\n{}",
        unseen.join("\n")
    );
    walk.into_iter().map(|s| s.what).collect()
}

#[test]
fn tab_reaches_every_control_of_the_queue_in_order_with_visible_focus() {
    let (console, _) = scene();
    let browser = Browser::start();
    sign_in(&browser, &console, "quinn");
    open_queue(&browser, &console);
    let walk = assert_keyboard_walk(&browser, "queue");
    let pos = |needle: &str| {
        walk.iter()
            .position(|w| w.contains(needle))
            .unwrap_or_else(|| panic!("queue: Tab never reaches {needle}: {walk:#?}"))
    };
    // the filters, then the rows' checkboxes, then the batch's reason and
    // buttons: the order a person fills them in
    assert!(pos("name=\"tier\"") < pos("name=\"state\""));
    assert!(pos("name=\"state\"") < pos("name=\"ids\""));
    assert!(pos("name=\"ids\"") < pos("id=\"batch-reason\""));
    assert!(pos("id=\"batch-reason\"") < pos("id=\"batch-approve\""));
    assert!(pos("id=\"batch-approve\"") < pos("id=\"batch-reject\""));
}

#[test]
fn tab_reaches_every_control_of_the_request_page_in_order_with_visible_focus() {
    let (console, refund) = scene();
    let browser = Browser::start();
    sign_in(&browser, &console, "quinn");
    c::open_request(&browser, &console, &refund);
    let walk = assert_keyboard_walk(&browser, "request");
    let pos = |needle: &str| {
        walk.iter()
            .position(|w| w.contains(needle))
            .unwrap_or_else(|| panic!("request: Tab never reaches {needle}: {walk:#?}"))
    };
    // the review form: the reason first, then the decisions
    let reason = pos("name=\"reason\"");
    assert!(reason < pos("id=\"approve\""));
    assert!(pos("id=\"approve\"") < pos("id=\"reject\""));
    assert!(reason < pos("id=\"request-changes\""));
}

#[test]
fn tab_reaches_every_control_of_the_history_search_in_order_with_visible_focus() {
    let (console, _) = scene();
    let browser = Browser::start();
    sign_in(&browser, &console, "quinn");
    browser.goto(&url(
        &console,
        "/console/history?agent=agent-support-drafter",
    ));
    assert!(browser.exists("form#search"), "the search form");
    let walk = assert_keyboard_walk(&browser, "history search");
    let pos = |needle: &str| {
        walk.iter()
            .position(|w| w.contains(needle))
            .unwrap_or_else(|| panic!("history search: Tab never reaches {needle}: {walk:#?}"))
    };
    // the search fields in the contract's order, before the results
    let fields = ["agent", "rule", "reason", "approver", "outcome", "state"]
        .map(|f| pos(&format!("name=\"{f}\"")));
    assert!(
        fields.windows(2).all(|w| w[0] < w[1]),
        "the search fields in order: {walk:#?}"
    );
    let first_result = walk
        .iter()
        .position(|w| w.contains("href=\"/console/requests/req_"))
        .expect("a result's link");
    assert!(fields[5] < first_result, "the form before its results");
}

#[test]
fn tab_reaches_every_control_of_the_overview_in_order_with_visible_focus() {
    let (console, _) = scene();
    let browser = Browser::start();
    sign_in(&browser, &console, "quinn");
    browser.goto(&url(&console, "/console/overview"));
    assert!(browser.exists("#pending-by-tier"), "the overview");
    // the navigation at least; a table scrolling on a phone is a stop too
    // (tabindex="0") and must show its focus like any control
    let walk = assert_keyboard_walk(&browser, "overview");
    assert!(
        walk.iter()
            .any(|w| w.contains("href=\"/console/overview\"")),
        "the navigation: {walk:#?}"
    );
}

#[test]
fn the_samples_queue_and_the_sample_panel_pass_axe() {
    let (console, id) = crate::console_samples::scene();
    let browser = Browser::start();
    sign_in(&browser, &console, "rita");
    browser.goto(&url(&console, "/console/samples"));
    assert!(browser.exists("table#samples tr[data-request-id]"));
    let mut problems = audit(&browser, "samples queue");
    c::open_request(&browser, &console, &id);
    assert!(
        browser.exists("form#sample-form"),
        "rita may give the verdict"
    );
    problems.extend(audit(&browser, "request with an open sample"));
    browser.fill("#sample-note-input", "refunded twice");
    browser.click_and_load("#sample-reject");
    browser.wait_for("#sample-verdict");
    problems.extend(audit(&browser, "request with a verdict"));
    browser.goto(&url(&console, "/console/samples"));
    assert!(browser.exists("#samples-empty"));
    problems.extend(audit(&browser, "samples queue with verdicts only"));
    assert_clean(&problems);
}

#[test]
fn tab_reaches_every_control_of_the_samples_queue_and_panel_in_order_with_visible_focus() {
    let (console, id) = crate::console_samples::scene();
    let browser = Browser::start();
    sign_in(&browser, &console, "rita");
    browser.goto(&url(&console, "/console/samples"));
    let walk = assert_keyboard_walk(&browser, "samples queue");
    assert!(
        walk.iter()
            .any(|w| w.contains(&format!("/console/requests/{id}"))),
        "samples: Tab reaches the sample's link: {walk:#?}"
    );
    c::open_request(&browser, &console, &id);
    let walk = assert_keyboard_walk(&browser, "request with an open sample");
    let pos = |needle: &str| {
        walk.iter()
            .position(|w| w.contains(needle))
            .unwrap_or_else(|| panic!("sample panel: Tab never reaches {needle}: {walk:#?}"))
    };
    // the note first, then the verdicts
    assert!(pos("id=\"sample-note-input\"") < pos("id=\"sample-confirm\""));
    assert!(pos("id=\"sample-confirm\"") < pos("id=\"sample-reject\""));
}

//! The console's page chrome and the helpers every page renders with.
//!
//! maud escapes every `(value)` it interpolates; nothing in the console
//! uses `PreEscaped` on text that did not come from this crate (a test
//! greps for it). Text an agent wrote goes through [`agent_text`] or
//! [`agent_value`], which also mark it as agent-provided and turn any URL
//! in it into plain text plus a link to the leave-warning page.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};
use serde_json::Value as Json;

use super::session::Reviewer;

/// Where a page sits in the navigation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nav {
    /// The queue.
    Queue,
    /// History and search.
    History,
    /// The overview.
    Overview,
    /// The samples queue (sampled review after the fact).
    Samples,
    /// The shadow policy's differences.
    Shadow,
    /// None of them (sign-in, errors, the leave page).
    None,
}

/// What the chrome needs besides the page's own body.
pub struct Chrome<'a> {
    /// The page's title (also the `<h1>` unless the body has its own).
    pub title: &'a str,
    /// Who is signed in, when someone is.
    pub reviewer: Option<&'a Reviewer>,
    /// Whether the development sign-in is on (the banner).
    pub dev_mode: bool,
    /// The active navigation entry.
    pub nav: Nav,
}

/// The static assets' paths (versioned by the crate version, served with
/// a long cache life).
pub const CSS_PATH: &str = concat!(
    "/console/static/console-",
    env!("CARGO_PKG_VERSION"),
    ".css"
);
/// See [`CSS_PATH`].
pub const JS_PATH: &str = concat!("/console/static/console-", env!("CARGO_PKG_VERSION"), ".js");

/// A whole page.
pub fn page(chrome: &Chrome<'_>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="same-origin";
                title { (chrome.title) " · gatehouse" }
                link rel="stylesheet" href=(CSS_PATH);
                script src=(JS_PATH) defer {}
            }
            body {
                a.skip href="#main" { "Skip to content" }
                @if chrome.dev_mode {
                    // a labelled region: content outside every landmark is
                    // missed by screen-reader users who move by landmark
                    // (axe `region`)
                    section #dev-mode-banner aria-label="Development sign-in warning" {
                        strong { "Development sign-in." }
                        " Anyone who can reach this address can sign in as any approver. "
                        "Configure OIDC sign-in ([console.oidc]) and set dev_signin = \"off\" for production."
                    }
                }
                header.top {
                    a.brand href="/console/" { "gatehouse" }
                    @if let Some(r) = chrome.reviewer {
                        nav aria-label="Console" {
                            ul {
                                (nav_item("/console/", "Queue", "q", chrome.nav == Nav::Queue))
                                (nav_item("/console/history", "History", "h", chrome.nav == Nav::History))
                                (nav_item("/console/overview", "Overview", "o", chrome.nav == Nav::Overview))
                                (nav_item("/console/samples", "Samples", "s", chrome.nav == Nav::Samples))
                                (nav_item("/console/shadow", "Shadow", "d", chrome.nav == Nav::Shadow))
                            }
                        }
                        div.who {
                            span #whoami {
                                (r.principal.id)
                                @if !r.principal.roles.is_empty() {
                                    " (" (r.principal.roles.join(", ")) ")"
                                }
                            }
                            form #signout method="post" action="/console/signout" {
                                (csrf_field(r))
                                button type="submit" { "Sign out" }
                            }
                        }
                    }
                }
                main #main tabindex="-1" { (body) }
                footer {
                    p {
                        "Keys: " kbd { "?" } " help · " kbd { "j" } "/" kbd { "k" } " move · "
                        kbd { "Enter" } " open · " kbd { "a" } " approve · " kbd { "/" } " filter"
                    }
                }
                div #help hidden role="dialog" aria-modal="true" aria-labelledby="help-title" {
                    h2 #help-title { "Keyboard" }
                    dl {
                        dt { kbd { "j" } " / " kbd { "k" } } dd { "next / previous request in a list" }
                        dt { kbd { "Enter" } } dd { "open the selected request" }
                        dt { kbd { "x" } } dd { "select the request for batch approval (queue tier only)" }
                        dt { kbd { "a" } } dd { "on a request: focus the reason and approve" }
                        dt { kbd { "r" } } dd { "on a request: focus the reason and reject" }
                        dt { kbd { "/" } } dd { "focus the filters" }
                        dt { kbd { "g" } " " kbd { "q" } " / " kbd { "g" } " " kbd { "h" } " / " kbd { "g" } " " kbd { "o" } " / " kbd { "g" } " " kbd { "s" } " / " kbd { "g" } " " kbd { "d" } }
                        dd { "go to the queue, history, overview, samples, shadow policy differences" }
                        dt { kbd { "Esc" } } dd { "close this help" }
                    }
                }
            }
        }
    }
}

fn nav_item(href: &str, label: &str, key: &str, current: bool) -> Markup {
    html! {
        li {
            @if current {
                a href=(href) aria-current="page" data-key=(key) { (label) }
            } @else {
                a href=(href) data-key=(key) { (label) }
            }
        }
    }
}

/// The hidden CSRF field every form carries.
pub fn csrf_field(r: &Reviewer) -> Markup {
    html! { input type="hidden" name="_csrf" value=(r.csrf); }
}

/// An HTML answer with the console's headers: no caching (pages hold
/// people's data), no framing, no sniffing, no referrer to other sites, and a content
/// security policy that runs only the console's own script.
pub fn html_response(status: StatusCode, markup: Markup) -> Response {
    let mut response = (status, markup.into_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    secure_headers(headers);
    response
}

/// The headers every console answer carries.
pub fn secure_headers(headers: &mut axum::http::HeaderMap) {
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // `same-origin`, not `no-referrer`: under `no-referrer` Chromium sends
    // `Origin: null` on the console's own form posts, which the origin
    // check must refuse. Other sites still get no referrer.
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
}

/// Whether the development sign-in is on in this process (set once when
/// the console's routes are made; the configuration never changes while
/// the service runs). Error pages are drawn where no gate is at hand, and
/// they too carry the banner.
pub static DEV_BANNER: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// A refusal as a page: `#error-code` holds the stable code, `#error-detail`
/// what happened.
pub fn error_page(status: StatusCode, code: &str, detail: &str) -> Response {
    let chrome = Chrome {
        title: "Refused",
        reviewer: None,
        dev_mode: DEV_BANNER.load(std::sync::atomic::Ordering::Relaxed),
        nav: Nav::None,
    };
    let body = html! {
        h1 { (status.as_u16()) " " (status.canonical_reason().unwrap_or("")) }
        p { "Code: " code #error-code { (code) } }
        p #error-detail { (detail) }
        p { a href="/console/" { "Back to the queue" } }
    };
    html_response(status, page(&chrome, body))
}

/// Text an agent wrote: escaped (maud), marked, and with every URL in it
/// shown as text beside a link to the warning page (never a link to the
/// URL itself).
pub fn agent_text(text: &str) -> Markup {
    html! {
        span.agent-provided title="written by the agent: check it" { (agent_pieces(text)) }
    }
}

/// The inside of [`agent_text`]: text, and each URL as text plus a link
/// to the warning page.
fn agent_pieces(text: &str) -> Markup {
    html! {
        @for piece in split_urls(text) {
            @match piece {
                Piece::Text(t) => (visible(t)),
                Piece::Url(u) => {
                    span.agent-url { (visible(u)) }
                    " "
                    a.agent-link href=(leave_href(u)) rel="noreferrer noopener" { "[open…]" }
                }
            }
        }
    }
}

/// How much of one agent-written value a list row shows.
pub const LIST_TEXT_MAX: usize = 200;

/// Agent text cut to `max` characters for a list (the queue, search
/// results), where one request must not fill the page: the cut is said
/// in words, and the request page shows the whole text.
pub fn agent_text_short(text: &str, max: usize) -> Markup {
    let Some((cut, _)) = text.char_indices().nth(max) else {
        return agent_text(text);
    };
    // The last word before the cut may be the start of a URL: it is shown
    // as plain text, never as a link to a shortened address.
    let head = text[..cut].rfind(char::is_whitespace).unwrap_or(0);
    let more = text[cut..].chars().count();
    html! {
        span.agent-provided title="written by the agent: check it" {
            (agent_pieces(&text[..head])) (visible(&text[head..cut]))
        }
        span.agent-cut { "… (" (more) " more characters, all in the request page's list of fields)" }
    }
}

/// Whether a character changes how the text around it is shown while
/// showing nothing itself: bidirectional controls (which can reverse the
/// text after them, the console's own words included), zero-width and
/// other invisible format characters, control characters other than
/// line breaks and tabs. An agent could use them to make a reviewer read
/// something other than what the action says.
pub fn is_hidden_char(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
        | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FEFF}' | '\u{FFA0}' | '\u{FFF0}'..='\u{FFFB}'
        | '\u{1D173}'..='\u{1D17A}' | '\u{E0000}'..='\u{E0FFF}')
        || (c.is_control() && c != '\n' && c != '\t')
}

/// Agent text with every [`is_hidden_char`] shown as a visible
/// `⟨U+202E⟩` marker (`span.hidden-char`), so the text reads as it is
/// and cannot reorder or hide the words around it.
pub fn visible(text: &str) -> Markup {
    // One pass: runs of ordinary text, and each hidden character alone.
    let mut pieces: Vec<Result<&str, char>> = Vec::new();
    let mut start = 0;
    for (i, c) in text.char_indices() {
        if is_hidden_char(c) {
            if start < i {
                pieces.push(Ok(&text[start..i]));
            }
            pieces.push(Err(c));
            start = i + c.len_utf8();
        }
    }
    if start < text.len() {
        pieces.push(Ok(&text[start..]));
    }
    html! {
        @for piece in pieces {
            @match piece {
                Ok(t) => (t),
                Err(c) => span.hidden-char title="an invisible character the agent wrote" {
                    "⟨U+" (format!("{:04X}", u32::from(c))) "⟩"
                },
            }
        }
    }
}

/// [`visible`] as plain text, for places that hold no markup (an SVG
/// label, an `aria-label`): each hidden character becomes `⟨U+202E⟩`.
pub fn visible_plain(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if is_hidden_char(c) {
            out.push_str(&format!("⟨U+{:04X}⟩", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

/// A JSON value an agent wrote, compactly: strings through [`agent_text`],
/// other scalars as text, objects and arrays as nested definition lists.
/// At most [`VALUE_ITEMS`] entries are drawn; the rest is counted in words
/// (a megabyte of one-letter strings would otherwise be a page twenty
/// times larger).
pub fn agent_value(value: &Json) -> Markup {
    let mut budget = VALUE_ITEMS;
    agent_value_at(value, 0, &mut budget)
}

/// The most array items and object entries [`agent_value`] draws for one
/// value.
pub const VALUE_ITEMS: usize = 1_000;

fn agent_value_at(value: &Json, depth: usize, budget: &mut usize) -> Markup {
    // Bounded: the engine bounds input depth, and this stops anyway.
    if depth > 16 {
        return html! { span.agent-provided { "…" } };
    }
    match value {
        Json::String(s) => agent_text(s),
        Json::Array(items) => {
            let shown = items.len().min(*budget);
            *budget -= shown;
            html! {
                ol.agent-list {
                    @for item in &items[..shown] { li { (agent_value_at(item, depth + 1, budget)) } }
                }
                @if shown < items.len() { (more_items(items.len() - shown)) }
            }
        }
        Json::Object(map) => {
            let shown = map.len().min(*budget);
            *budget -= shown;
            html! {
                dl.agent-object {
                    @for (k, v) in map.iter().take(shown) {
                        dt { span.agent-provided { (visible(k)) } }
                        dd { (agent_value_at(v, depth + 1, budget)) }
                    }
                }
                @if shown < map.len() { (more_items(map.len() - shown)) }
            }
        }
        other => html! { span.agent-provided { (other.to_string()) } },
    }
}

fn more_items(n: usize) -> Markup {
    html! { p.agent-cut { "… and " (n) " more entries, not shown here (the API has the whole value)" } }
}

/// The warning page's address for a URL.
pub fn leave_href(url: &str) -> String {
    format!(
        "/console/leave?to={}",
        form_urlencoded::byte_serialize(url.as_bytes()).collect::<String>()
    )
}

/// A piece of agent text.
#[derive(Debug, PartialEq, Eq)]
pub enum Piece<'a> {
    /// Plain text.
    Text(&'a str),
    /// Something that looks like a URL (`scheme://…` up to whitespace).
    Url(&'a str),
}

/// Splits text at URL-like tokens: any `letters://non-space`, and
/// `mailto:`/`javascript:`/`data:` tokens, so a look-alike scheme is
/// treated like a real one.
pub fn split_urls(text: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut last = 0;
    for (start, word) in words(text) {
        let lower = word.to_ascii_lowercase();
        let is_url = word.find("://").is_some_and(|i| {
            i > 0
                && word[..i]
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        }) || ["mailto:", "javascript:", "data:", "vbscript:", "file:"]
            .iter()
            .any(|s| lower.starts_with(s) && word.len() > s.len());
        if is_url {
            if start > last {
                out.push(Piece::Text(&text[last..start]));
            }
            out.push(Piece::Url(word));
            last = start + word.len();
        }
    }
    if last < text.len() {
        out.push(Piece::Text(&text[last..]));
    }
    out
}

fn words(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split_whitespace()
        .map(move |w| (w.as_ptr() as usize - text.as_ptr() as usize, w))
}

/// "3 h 12 min", "45 s", "2 d 4 h": a duration for people.
pub fn human_duration(seconds: i64) -> String {
    let s = seconds.unsigned_abs();
    let text = if s < 60 {
        format!("{s} s")
    } else if s < 3600 {
        format!("{} min", s / 60)
    } else if s < 86_400 {
        format!("{} h {} min", s / 3600, (s % 3600) / 60)
    } else {
        format!("{} d {} h", s / 86_400, (s % 86_400) / 3600)
    };
    if seconds < 0 {
        format!("{text} ago")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_split_out() {
        assert_eq!(
            split_urls("see https://x.example/a?b=1 now"),
            vec![
                Piece::Text("see "),
                Piece::Url("https://x.example/a?b=1"),
                Piece::Text(" now")
            ]
        );
        assert_eq!(
            split_urls("javascript:alert(1)"),
            vec![Piece::Url("javascript:alert(1)")]
        );
        assert_eq!(
            split_urls("crm://accounts/1"),
            vec![Piece::Url("crm://accounts/1")]
        );
        assert_eq!(split_urls("plain text"), vec![Piece::Text("plain text")]);
        assert_eq!(split_urls(""), Vec::<Piece<'_>>::new());
    }

    #[test]
    fn agent_html_is_text() {
        let m = agent_text("<img src=x onerror=alert(1)><b>b</b> https://evil.example/\"x")
            .into_string();
        assert!(!m.contains("<img"));
        assert!(!m.contains("<b>"));
        assert!(m.contains("&lt;img src=x onerror=alert(1)&gt;"));
        assert!(!m.contains("href=\"https://evil"));
        assert!(m.contains("/console/leave?to=https%3A%2F%2Fevil.example%2F%22x"));
    }

    #[test]
    fn hidden_characters_are_shown() {
        let m =
            agent_text("pay\u{202E}gnp.exe\u{202C} zero\u{200B}width https://a.example/\u{2066}x")
                .into_string();
        for c in ['\u{202E}', '\u{202C}', '\u{200B}', '\u{2066}'] {
            assert!(!m.contains(c), "{c:?} left in {m}");
        }
        assert!(m.contains("⟨U+202E⟩") && m.contains("⟨U+200B⟩") && m.contains("⟨U+2066⟩"));
        assert!(m.contains("gnp.exe"), "the text itself stays: {m}");
        let keys = agent_value(&serde_json::json!({"k\u{202E}ey": 1})).into_string();
        assert!(!keys.contains('\u{202E}') && keys.contains("⟨U+202E⟩"));
    }

    #[test]
    fn list_text_is_cut_and_says_so() {
        let long = format!(
            "{} https://evil.example/{}",
            "a".repeat(150),
            "b".repeat(500)
        );
        let m = agent_text_short(&long, 200).into_string();
        assert!(m.len() < 1_000, "{}", m.len());
        assert!(m.contains("more characters, all in the request page"));
        assert!(
            !m.contains("/console/leave"),
            "a cut URL is not offered: {m}"
        );
        assert_eq!(
            agent_text_short("short", 200).into_string(),
            agent_text("short").into_string()
        );
    }

    #[test]
    fn a_value_draws_a_bounded_number_of_entries() {
        let wide = Json::Array(vec![Json::String("a".into()); 100_000]);
        let m = agent_value(&serde_json::json!({"x": wide, "y": [1, 2]})).into_string();
        assert_eq!(
            m.matches("<li>").count(),
            VALUE_ITEMS - 2,
            "the budget is shared"
        );
        assert!(
            m.contains("… and 99002 more entries") && m.contains("… and 2 more entries"),
            "{}",
            &m[m.len() - 400..]
        );
        let small = agent_value(&serde_json::json!(["a", {"b": 1}])).into_string();
        assert!(!small.contains("more entries"));
    }

    #[test]
    fn durations_read() {
        assert_eq!(human_duration(45), "45 s");
        assert_eq!(human_duration(3 * 3600 + 12 * 60), "3 h 12 min");
        assert_eq!(human_duration(-120), "2 min ago");
    }
}

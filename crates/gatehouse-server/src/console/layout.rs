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
                        dt { kbd { "g" } " " kbd { "q" } " / " kbd { "g" } " " kbd { "h" } " / " kbd { "g" } " " kbd { "o" } }
                        dd { "go to the queue, history, overview" }
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
        span.agent-provided title="written by the agent: check it" {
            @for piece in split_urls(text) {
                @match piece {
                    Piece::Text(t) => (t),
                    Piece::Url(u) => {
                        span.agent-url { (u) }
                        " "
                        a.agent-link href=(leave_href(u)) rel="noreferrer noopener" { "[open…]" }
                    }
                }
            }
        }
    }
}

/// A JSON value an agent wrote, compactly: strings through [`agent_text`],
/// other scalars as text, objects and arrays as nested definition lists.
pub fn agent_value(value: &Json) -> Markup {
    agent_value_at(value, 0)
}

fn agent_value_at(value: &Json, depth: usize) -> Markup {
    // Bounded: the engine bounds input depth, and this stops anyway.
    if depth > 16 {
        return html! { span.agent-provided { "…" } };
    }
    match value {
        Json::String(s) => agent_text(s),
        Json::Array(items) => html! {
            ol.agent-list {
                @for item in items { li { (agent_value_at(item, depth + 1)) } }
            }
        },
        Json::Object(map) => html! {
            dl.agent-object {
                @for (k, v) in map {
                    dt { span.agent-provided { (k) } }
                    dd { (agent_value_at(v, depth + 1)) }
                }
            }
        },
        other => html! { span.agent-provided { (other.to_string()) } },
    }
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
    fn durations_read() {
        assert_eq!(human_duration(45), "45 s");
        assert_eq!(human_duration(3 * 3600 + 12 * 60), "3 h 12 min");
        assert_eq!(human_duration(-120), "2 min ago");
    }
}

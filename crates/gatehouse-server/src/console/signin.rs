//! Signing in and out: the sign-in page, the development sign-in, and
//! the warning page in front of links an agent wrote.
//!
//! The development sign-in signs in as any identity the approvers
//! directory lists, with no proof: it exists for a laptop and for tests,
//! is on by default only when the service listens on loopback without an
//! OIDC sign-in configured, is marked on every page while on, and is
//! recorded as `dev_sign_in` in every audit record it causes.
//!
//! The sign-in form is protected against login CSRF (a site signing a
//! victim in as the attacker) by a pre-session cookie whose value the form
//! must echo.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;

use super::layout::{self, Chrome, Nav};
use super::session::{self, PRE_COOKIE, Reviewer, SESSION_COOKIE};
use super::{Form, csrf_refused, dev_mode, dev_signin_allowed, problem_page, signed_form};
use crate::auth::AuthMethod;
use crate::gate::Gate;

/// How long the sign-in form (and an OIDC round trip) may take.
const PRE_SESSION_SECONDS: i64 = 1800;

/// The query of the sign-in page.
#[derive(Debug, Deserialize)]
pub struct SigninQuery {
    /// Where to go after signing in (a console path).
    #[serde(default)]
    next: Option<String>,
}

/// A console path to return to, or the queue: never another site
/// (`//evil`, `/\evil`, `https://…`), never outside the console (no `.`
/// or `..` path segment, also percent-encoded: a browser resolves
/// `/console/%2e%2e/x` to `/x`).
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with("/console/")
                && !n.contains('\\')
                && !n.starts_with("//")
                && n.len() <= 2048
                && n.chars().all(|c| !c.is_control())
                && !dot_segment(n) =>
        {
            n.to_owned()
        }
        _ => "/console/".to_owned(),
    }
}

/// Whether the path part of `next` has a `.` or `..` segment, spelled
/// plainly or percent-encoded.
fn dot_segment(next: &str) -> bool {
    let path = next.split(['?', '#']).next().unwrap_or("");
    path.to_ascii_lowercase()
        .replace("%2e", ".")
        .split('/')
        .any(|segment| segment == "." || segment == "..")
}

/// `GET /console/signin`: the ways to sign in.
pub async fn page(
    State(gate): State<Arc<Gate>>,
    headers: HeaderMap,
    Query(q): Query<SigninQuery>,
) -> Response {
    let next = safe_next(q.next.as_deref());
    let dev = dev_signin_allowed(&gate, &headers);
    let identities = if dev {
        match session::signin_identities(&gate).await {
            Ok(list) => list,
            Err(e) => return problem_page(e),
        }
    } else {
        Vec::new()
    };
    // Reuse a well-formed pre-session token (two tabs both work); else a
    // new one.
    let pre = session::cookie(&headers, PRE_COOKIE)
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
        .map_or_else(session::random_token, str::to_owned);
    let oidc = gate.config.console.oidc.is_some();
    let chrome = Chrome {
        title: "Sign in",
        reviewer: None,
        dev_mode: dev,
        nav: Nav::None,
    };
    let body = html! {
        h1 { "Sign in to review" }
        @if oidc {
            p { a #oidc-signin.button href={ "/console/signin/oidc?next=" (urlencode(&next)) } { "Sign in with your identity provider" } }
        }
        @if dev {
            section aria-labelledby="dev-title" {
                h2 #dev-title { "Development sign-in" }
                @if identities.is_empty() {
                    p #no-identities {
                        "The approvers directory lists nobody yet. With a trust store, add "
                        code { "[[approver]]" } " entries; without one, make an API key with the "
                        code { "approve" } " scope (POST /v1/admin/keys)."
                    }
                } @else {
                    form #dev-signin method="post" action="/console/signin/dev" {
                        input type="hidden" name="_csrf" value=(pre);
                        input type="hidden" name="next" value=(next);
                        label for="identity" { "Sign in as" }
                        select #identity name="identity" {
                            @for (id, roles) in &identities {
                                option value=(id) { (id) @if !roles.is_empty() { " — " (roles.join(", ")) } }
                            }
                        }
                        button #dev-signin-submit type="submit" { "Sign in" }
                    }
                }
            }
        }
        @if !dev && dev_mode(&gate) {
            p #dev-signin-not-here {
                "The development sign-in is on, but only for requests made straight to a loopback "
                "address (http://127.0.0.1:PORT or http://localhost:PORT), not through a proxy or "
                "another host name."
            }
        }
        @if !dev && !oidc && !dev_mode(&gate) {
            p #no-signin {
                "No sign-in is configured: set [console.oidc] (with a trust store's [oidc] provider), "
                "or dev_signin = \"on\" for a development machine."
            }
        }
    };
    let mut response = layout::html_response(StatusCode::OK, layout::page(&chrome, body));
    if let Ok(v) =
        HeaderValue::from_str(&session::set_cookie(PRE_COOKIE, &pre, PRE_SESSION_SECONDS))
    {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

fn urlencode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// `POST /console/signin/dev`: signs in as a listed identity.
pub async fn dev(State(gate): State<Arc<Gate>>, headers: HeaderMap, body: Bytes) -> Response {
    if !dev_signin_allowed(&gate, &headers) {
        return layout::error_page(
            StatusCode::NOT_FOUND,
            "DEV_SIGNIN_OFF",
            "The development sign-in is off on this service, or this request did not come \
             straight from this machine (a loopback Host, no proxy headers).",
        );
    }
    if !session::same_origin(&gate, &headers) {
        return csrf_refused();
    }
    let form = match Form::parse(&headers, &body) {
        Ok(f) => f,
        Err(e) => return problem_page(e),
    };
    let pre = session::cookie(&headers, PRE_COOKIE);
    match (pre, form.one("_csrf")) {
        (Some(cookie), Some(field)) if session::same_token(cookie, field) => {}
        _ => return csrf_refused(),
    }
    let Some(identity) = form.one("identity") else {
        return layout::error_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            "IDENTITY_REQUIRED",
            "Choose who to sign in as.",
        );
    };
    let listed = match session::signin_identities(&gate).await {
        Ok(list) => list.into_iter().any(|(id, _)| id == identity),
        Err(e) => return problem_page(e),
    };
    if !listed {
        return layout::error_page(
            StatusCode::FORBIDDEN,
            "NOT_AN_APPROVER",
            "That identity is not in the approvers directory.",
        );
    }
    signed_in(
        &gate,
        &headers,
        identity,
        AuthMethod::DevSignIn,
        form.one("next"),
    )
    .await
}

/// Begins a session and sends the browser on: the session cookie set,
/// the pre-session cookie removed, the browser's previous session (if its
/// cookie came with `request`) ended.
pub async fn signed_in(
    gate: &Gate,
    request: &HeaderMap,
    identity: &str,
    method: AuthMethod,
    next: Option<&str>,
) -> Response {
    // The session this browser had, if any, ends here: a sign-in replaces
    // it rather than leaving it alive beside the new one until it expires.
    if let Some(old) = session::cookie(request, SESSION_COOKIE)
        && let Err(e) = gate.store.delete_session(&session::secret_hash(old)).await
    {
        return problem_page(e);
    }
    let cookie = match session::begin(gate, identity, method).await {
        Ok(c) => c,
        Err(e) => return problem_page(e),
    };
    tracing::info!(identity, method = ?method, "console: signed in");
    let mut response = Redirect::to(&safe_next(next)).into_response();
    let headers = response.headers_mut();
    for value in [cookie, session::clear_cookie(PRE_COOKIE)] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.append(header::SET_COOKIE, v);
        }
    }
    layout::secure_headers(headers);
    response
}

/// `POST /console/signout`: ends the session (the row is deleted, so the
/// cookie is dead wherever it was copied).
pub async fn signout(
    State(gate): State<Arc<Gate>>,
    reviewer: Reviewer,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(refused) = signed_form(&gate, &reviewer, &headers, &body) {
        return *refused;
    }
    if let Err(e) = gate.store.delete_session(&reviewer.session_hash).await {
        return problem_page(e);
    }
    tracing::info!(identity = %reviewer.principal.id, "console: signed out");
    let mut response = Redirect::to("/console/signin").into_response();
    if let Ok(v) = HeaderValue::from_str(&session::clear_cookie(SESSION_COOKIE)) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    layout::secure_headers(response.headers_mut());
    response
}

/// The query of the leave page.
#[derive(Debug, Deserialize)]
pub struct LeaveQuery {
    /// The address an agent wrote.
    #[serde(default)]
    to: String,
}

/// The longest address the leave page shows.
const LEAVE_MAX: usize = 4096;

/// `GET /console/leave?to=`: the warning in front of a link an agent
/// wrote. Only `http` and `https` addresses get a link at all.
pub async fn leave(
    State(gate): State<Arc<Gate>>,
    reviewer: Reviewer,
    Query(q): Query<LeaveQuery>,
) -> Response {
    let to = q.to.chars().take(LEAVE_MAX).collect::<String>();
    // A longer address is shown cut, so it is not the agent's address and
    // is not offered; nor is one holding invisible or reordering
    // characters, which would make the shown address differ from the one
    // opened.
    let cut = to.len() < q.to.len();
    let lower = to.to_ascii_lowercase();
    let plain = (lower.starts_with("https://") || lower.starts_with("http://"))
        && !cut
        && !to
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || layout::is_hidden_char(c));
    // Read as a browser reads it: the host shown is the one a click
    // contacts (IDNA: a look-alike letter shows as `xn--`; a user name
    // before `@` is not the host), and the link is to that reading.
    let parsed = plain
        .then(|| url::Url::parse(&to).ok())
        .flatten()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some());
    let chrome = Chrome {
        title: "Leaving the console",
        reviewer: Some(&reviewer),
        dev_mode: dev_mode(&gate),
        nav: Nav::None,
    };
    let body = html! {
        h1 { "An address the agent wrote" }
        p.warning {
            "An agent wrote this address. It may not be what it seems: check the host "
            "character by character before you open it."
        }
        p { code #leave-url.agent-provided { (layout::visible(&to)) } }
        @if cut {
            p #leave-cut { "The address is longer than " (LEAVE_MAX) " characters; only its start is shown, and it is not opened from the console." }
        }
        @if let Some(u) = &parsed {
            @let host = u.host_str().unwrap_or("");
            p #leave-host { "A click contacts the host " strong { code { (host) } } "." }
            @if host.split('.').any(|label| label.starts_with("xn--")) {
                p.warning #leave-idn {
                    "The host is written with letters outside plain Latin, which can look like others "
                    "(a Cyrillic а for a Latin a): the form above is the one the browser uses."
                }
            }
            @if !u.username().is_empty() || u.password().is_some() {
                p.warning #leave-userinfo {
                    "The text before “@” is not the host: it is a user name sent to the host above."
                }
            }
            p { a #leave-continue href=(u.as_str()) rel="noreferrer noopener" target="_blank" { "Open it in a new tab" } }
        } @else {
            p #leave-blocked { "This is not a web address this page can show as it is; it is not opened from the console." }
        }
        p { a href="/console/" { "Back to the queue" } }
    };
    layout::html_response(StatusCode::OK, layout::page(&chrome, body))
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_stays_in_the_console() {
        assert_eq!(
            safe_next(Some("/console/requests/req_1")),
            "/console/requests/req_1"
        );
        for bad in [
            "//evil.example",
            "https://evil.example",
            "/console\\..",
            "/v1/admin/keys",
            "/\\evil",
            "/console/../v1/admin/keys",
            "/console/%2E%2e/v1",
            "/console/./x/..",
        ] {
            assert_eq!(safe_next(Some(bad)), "/console/", "{bad}");
        }
        assert_eq!(safe_next(Some("/console/\u{0}")), "/console/");
        assert_eq!(safe_next(None), "/console/");
        assert_eq!(
            safe_next(Some("/console/history?q=a/../b")),
            "/console/history?q=a/../b",
            "a query may hold dots"
        );
    }
}

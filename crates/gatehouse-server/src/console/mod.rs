//! The review console: server-rendered pages inside `gatehouse serve`
//! where a person signs in, sees the requests they may act on, reads the
//! whole evidence pack and approves, rejects or asks for changes.
//!
//! Pages, one module each: [`queue`] (`/console/`, batch approval of
//! `queue`-tier requests), [`request`] and [`request_parts`] (one request,
//! its evidence pack and its review form), [`timeline`] (one request's
//! audit records), [`search`] (history: past requests by agent, rule,
//! reason, approver, outcome), [`overview`] with [`charts`] (volumes, time
//! to decision, approvals against rejections per rule and agent, counted
//! by [`review_stats`]), [`shadow`] (what the shadow policy would decide,
//! and where it differs). [`signin`] holds the development sign-in and
//! [`oidc`] the OIDC one, [`session`] the cookie, CSRF and the
//! [`session::Reviewer`] every page is rendered for, [`layout`] the chrome
//! and the escaping of agent-written text.
//!
//! Every change goes through the same [`crate::gate::Gate`] operations the
//! API uses (a review here is judged exactly as `POST
//! /v1/requests/{id}/decisions` is), with the identity from the session.
//! Everything works without JavaScript; `static/console.js` adds keys and
//! the live countdown.

pub mod charts;
pub mod config;
pub mod layout;
pub mod oidc;
pub mod overview;
pub mod queue;
pub mod request;
pub mod request_parts;
pub mod review_stats;
pub mod samples;
pub mod search;
pub mod session;
pub mod shadow;
pub mod signin;
pub mod timeline;

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

pub use config::{ConsoleConfig, DevSignin, OidcSignin};

use crate::error::GateError;
use crate::gate::Gate;
use session::Reviewer;

/// The console's routes (empty when `[console] enabled = false`).
pub fn router(gate: &Gate) -> Router<Arc<Gate>> {
    if !gate.config.console.enabled {
        return Router::new();
    }
    layout::DEV_BANNER.store(dev_mode(gate), std::sync::atomic::Ordering::Relaxed);
    Router::new()
        // A person who opens the service's address in a browser lands on
        // the console.
        .route("/", get(|| async { Redirect::to("/console/") }))
        .route(
            "/console",
            get(|| async { Redirect::permanent("/console/") }),
        )
        .route("/console/", get(queue::page))
        .route("/console/queue", get(queue::page))
        .route("/console/batch", post(queue::batch))
        .route("/console/requests/{id}", get(request::page))
        .route("/console/requests/{id}/review", post(request::review))
        .route("/console/requests/{id}/history", get(timeline::page))
        .route(
            "/console/requests/{id}/sample-review",
            post(samples::review),
        )
        .route("/console/samples", get(samples::page))
        .route("/console/history", get(search::page))
        .route("/console/overview", get(overview::page))
        .route("/console/shadow", get(shadow::page))
        .route("/console/signin", get(signin::page))
        .route("/console/signin/dev", post(signin::dev))
        .route("/console/signout", post(signin::signout))
        .route("/console/leave", get(signin::leave))
        .route(layout::CSS_PATH, get(css))
        .route(layout::JS_PATH, get(js))
        .merge(oidc::routes(gate))
        .layer(axum::middleware::map_response(refusals_as_pages))
}

/// The framework's own refusals (a body over `[limits] body_bytes`, a
/// query that does not parse) come as plain text; a console answer is
/// always a page with `#error-code`.
async fn refusals_as_pages(response: Response) -> Response {
    let status = response.status();
    let html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    if !status.is_client_error() || html {
        return response;
    }
    let (code, detail) = match status {
        StatusCode::PAYLOAD_TOO_LARGE => (
            "BODY_TOO_LARGE",
            "The form is larger than this service takes ([limits] body_bytes).",
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "UNSUPPORTED_MEDIA_TYPE",
            "A console form is sent as application/x-www-form-urlencoded.",
        ),
        _ => ("BAD_REQUEST", "The request could not be read."),
    };
    layout::error_page(status, code, detail)
}

/// Whether the development sign-in is on for this service.
pub fn dev_mode(gate: &Gate) -> bool {
    gate.config.console.dev_signin_enabled(&gate.config.listen)
}

/// Whether this request may use the development sign-in. With
/// `dev_signin = "auto"` (on because the service listens on loopback) the
/// request must also look local: its `Host` a loopback name or address,
/// and no proxy's forwarding headers. A reverse proxy on the same machine
/// would otherwise hand the password-less sign-in to the world, and a DNS
/// rebinding page (evil.example resolving to 127.0.0.1) could sign a
/// visitor's browser in as an approver.
pub fn dev_signin_allowed(gate: &Gate, headers: &HeaderMap) -> bool {
    if !dev_mode(gate) {
        return false;
    }
    if gate.config.console.dev_signin == DevSignin::On {
        return true;
    }
    // Any proxy's mark, not just the common ones: a proxy that sends only
    // `X-Forwarded-Proto` (or `-Port`, `-Prefix`, `-Server`) or `Via` is
    // still a proxy.
    let forwarded = headers.keys().any(|name| {
        let name = name.as_str();
        name.starts_with("x-forwarded-") || ["forwarded", "x-real-ip", "via"].contains(&name)
    });
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    !forwarded && is_loopback_host(host)
}

/// `127.0.0.1:8080`, `localhost`, `[::1]:8080`: a name that can only mean
/// this machine.
fn is_loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(n, port)| {
            if port.bytes().all(|b| b.is_ascii_digit()) {
                n
            } else {
                host
            }
        }),
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

async fn css() -> Response {
    asset(
        "text/css; charset=utf-8",
        include_str!("static/console.css"),
    )
}

async fn js() -> Response {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("static/console.js"),
    )
}

fn asset(kind: &'static str, text: &'static str) -> Response {
    let mut response = text.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    // The path names the version, so a new release is a new address.
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    layout::secure_headers(headers);
    response
}

/// A posted form's fields, in order (a name may repeat: `ids`).
#[derive(Debug, Default)]
pub struct Form {
    fields: Vec<(String, String)>,
}

/// The most fields one form may carry (a batch of 100 ids and a few more).
const MAX_FORM_FIELDS: usize = 256;

impl Form {
    /// Reads an `application/x-www-form-urlencoded` body.
    pub fn parse(headers: &HeaderMap, body: &[u8]) -> Result<Form, GateError> {
        let kind = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !kind.split(';').next().is_some_and(|k| {
            k.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        }) {
            return Err(GateError::new(
                415,
                "UNSUPPORTED_MEDIA_TYPE",
                "a console form is sent as application/x-www-form-urlencoded",
            ));
        }
        let mut fields = Vec::new();
        for (k, v) in form_urlencoded::parse(body) {
            if fields.len() == MAX_FORM_FIELDS {
                return Err(GateError::bad_request(
                    "FORM_TOO_LARGE",
                    format!("a form carries at most {MAX_FORM_FIELDS} fields"),
                ));
            }
            fields.push((k.into_owned(), v.into_owned()));
        }
        Ok(Form { fields })
    }

    /// The one value of a field; `None` when absent or repeated.
    pub fn one<'a>(&'a self, name: &'a str) -> Option<&'a str> {
        let mut values = self.all(name);
        let first = values.next()?;
        values.next().is_none().then_some(first)
    }

    /// Every value of a field, in order.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.fields
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The refusal of a post that is not the console's own.
pub fn csrf_refused() -> Response {
    layout::error_page(
        StatusCode::FORBIDDEN,
        "CSRF_REJECTED",
        "This form did not come from this console (its anti-forgery token is missing or wrong, \
         or the browser says it was sent from another site). Reload the page and try again.",
    )
}

/// A refusal page, boxed (a `Response` is large; clippy's
/// `result_large_err`).
pub type Refusal = Box<Response>;

/// Reads a signed-in person's form post: refused (403 `CSRF_REJECTED`)
/// unless the browser headers say it came from the console's origin and
/// its `_csrf` field is the session's token.
pub fn signed_form(
    gate: &Gate,
    reviewer: &Reviewer,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Form, Refusal> {
    if !session::same_origin(gate, headers) {
        return Err(Box::new(csrf_refused()));
    }
    let form = Form::parse(headers, body).map_err(|e| Box::new(problem_page(e)))?;
    match form.one("_csrf") {
        Some(token) if session::same_token(token, &reviewer.csrf) => Ok(form),
        _ => Err(Box::new(csrf_refused())),
    }
}

/// A gate refusal as a page. A server error's detail is logged, never
/// shown (as in the API's problem documents: it may name the database);
/// 503 `STORE_UNAVAILABLE` says to try again, with `Retry-After`.
pub fn problem_page(e: GateError) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if !status.is_server_error() {
        return layout::error_page(status, e.code, &e.detail);
    }
    tracing::warn!(code = e.code, detail = %e.detail, "console: refused");
    let shown = if status == StatusCode::SERVICE_UNAVAILABLE {
        "the gate cannot reach its database right now; nothing was changed. Try again in a moment."
    } else {
        "the gate could not complete the request; it is logged"
    };
    let mut page = layout::error_page(status, e.code, shown);
    if let Some(secs) = e.retry_after {
        page.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 503 from the store is a page that says to try again, with
    /// `Retry-After`, and never shows the store's detail (before, the
    /// page printed it: it may name the database's host).
    #[tokio::test]
    async fn a_store_outage_is_a_503_page_without_the_detail() {
        let page = problem_page(GateError::unavailable(
            "cannot reach the database at postgres://gatehouse:***@db.internal:5432/gatehouse",
        ));
        assert_eq!(page.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            page.headers()
                .get(header::RETRY_AFTER)
                .map(|v| v.as_bytes()),
            Some(&b"1"[..])
        );
        let body = axum::body::to_bytes(page.into_body(), 1 << 20)
            .await
            .expect("a body");
        let text = String::from_utf8_lossy(&body);
        assert!(text.contains("STORE_UNAVAILABLE"), "{text}");
        assert!(!text.contains("db.internal"), "{text}");
        let refused = problem_page(GateError::forbidden("NOT_YOURS", "not your request"));
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        let body = axum::body::to_bytes(refused.into_body(), 1 << 20)
            .await
            .expect("a body");
        assert!(String::from_utf8_lossy(&body).contains("not your request"));
    }

    fn form_headers() -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        h
    }

    #[test]
    fn loopback_hosts_are_recognised() {
        for host in [
            "127.0.0.1:8080",
            "localhost",
            "LOCALHOST:1",
            "[::1]:8080",
            "127.9.9.9",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "evil.example:8080",
            "localhost.evil.example",
            "10.0.0.1",
            "",
            "[::2]:1",
            "127.0.0.1.nip.io",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }

    #[test]
    fn forms_read_repeats_and_refuse_ambiguity() {
        let f = Form::parse(&form_headers(), b"ids=a&ids=b&_csrf=t&x=1&x=2").unwrap();
        assert_eq!(f.all("ids").collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(f.one("_csrf"), Some("t"));
        assert_eq!(f.one("x"), None, "a repeated single field is no value");
        assert!(Form::parse(&HeaderMap::new(), b"a=1").is_err());
        let big = "a=1&".repeat(MAX_FORM_FIELDS + 1);
        assert!(Form::parse(&form_headers(), big.as_bytes()).is_err());
    }
}

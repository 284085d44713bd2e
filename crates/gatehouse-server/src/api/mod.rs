//! The HTTP API: routes, body reading, and the layers every request passes
//! (body size, timeout). Handlers are thin: they authenticate (the
//! [`Principal`] extractor), read the body, call one [`Gate`] operation and
//! answer its JSON; every refusal is a [`GateError`] answered as RFC 9457
//! problem+json.

mod admin;
mod requests;
mod samples;
pub(crate) mod shadow;
mod wait;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;

use crate::auth::{Principal, Scope};
use crate::error::GateError;
use crate::gate::Gate;
use crate::store::IdempotencyKey;

/// The OpenAPI 3.1 document of this API, served at `GET /openapi.json`.
/// A test holds it to [`ROUTES`], and [`ROUTES`] to the router below.
pub const OPENAPI_JSON: &str = include_str!("../../openapi.json");

/// Every `(method, path)` the router answers, in OpenAPI's path syntax.
/// The router below and the OpenAPI document are both tested against this
/// list, so a route added to one and not the others fails a test.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/openapi.json"),
    ("GET", "/health"),
    ("GET", "/ready"),
    ("GET", "/metrics"),
    ("GET", "/v1/keys"),
    ("POST", "/v1/decide"),
    ("POST", "/v1/requests"),
    ("GET", "/v1/requests"),
    ("GET", "/v1/requests/{id}"),
    ("POST", "/v1/requests/{id}/decisions"),
    ("POST", "/v1/decisions"),
    ("POST", "/v1/requests/{id}/cancel"),
    ("POST", "/v1/requests/{id}/claim"),
    ("POST", "/v1/requests/{id}/executed"),
    ("POST", "/v1/requests/{id}/verified"),
    ("POST", "/v1/requests/{id}/sample-review"),
    ("GET", "/v1/samples"),
    ("GET", "/v1/requests/{id}/audit"),
    ("GET", "/v1/requests/{id}/wait"),
    ("GET", "/v1/requests/{id}/events"),
    ("GET", "/v1/audit"),
    ("POST", "/v1/admin/keys"),
    ("GET", "/v1/admin/keys"),
    ("DELETE", "/v1/admin/keys/{id}"),
    ("POST", "/v1/admin/reload"),
    ("GET", "/v1/shadow"),
];

/// The service's router over a gate.
pub fn router(gate: Arc<Gate>) -> Router {
    let limits = &gate.config.limits;
    let body_limit = limits.body_bytes;
    let timeout = Duration::from_millis(limits.request_timeout_ms.max(1));
    // Long-polls and event streams wait longer than the request timeout:
    // they get their own routes outside it, bounded by max_wait_seconds.
    let waiting = Router::new()
        .route("/v1/requests/{id}/wait", get(wait::long_poll))
        .route("/v1/requests/{id}/events", get(wait::events));
    let bounded = Router::new()
        .route("/openapi.json", get(openapi))
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics))
        .route("/v1/keys", get(public_keys))
        .route("/v1/decide", post(decide))
        .route("/v1/requests", post(requests::create).get(requests::list))
        .route("/v1/requests/{id}", get(requests::get_one))
        .route("/v1/requests/{id}/decisions", post(requests::review))
        .route("/v1/requests/{id}/cancel", post(requests::cancel))
        .route("/v1/requests/{id}/claim", post(requests::claim))
        .route("/v1/requests/{id}/executed", post(requests::executed))
        .route("/v1/requests/{id}/verified", post(requests::verified))
        .route("/v1/requests/{id}/sample-review", post(samples::review))
        .route("/v1/samples", get(samples::list))
        .route("/v1/requests/{id}/audit", get(requests::audit_of))
        .route("/v1/decisions", post(requests::review_batch))
        .route("/v1/audit", get(admin::audit))
        .route(
            "/v1/admin/keys",
            post(admin::create_key).get(admin::list_keys),
        )
        .route(
            "/v1/admin/keys/{id}",
            axum::routing::delete(admin::revoke_key),
        )
        .route("/v1/admin/reload", post(admin::reload))
        .route("/v1/shadow", get(shadow::list))
        .layer(axum::middleware::from_fn_with_state(timeout, bounded_time));
    let console = console_routes(&gate, timeout);
    let app = Router::new()
        .merge(bounded)
        .merge(console)
        .merge(waiting)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(body_limit));
    answer_panics(app).with_state(gate)
}

/// The review console's pages (crate::console), under the same time
/// bound as the API.
fn console_routes(gate: &Gate, timeout: Duration) -> Router<Arc<Gate>> {
    crate::console::router(gate).layer(axum::middleware::from_fn_with_state(timeout, bounded_time))
}

/// Every route's panic answered as a 500 problem (`INTERNAL`, the detail
/// logged), not a connection dropped without an answer: a panic is a bug
/// of ours, and the client still gets a problem document and may retry.
/// (Two panics found by review, a clamp and an instant overflow, each
/// dropped the connection silently.)
fn answer_panics<S: Clone + Send + Sync + 'static>(app: Router<S>) -> Router<S> {
    app.layer(tower_http::catch_panic::CatchPanicLayer::custom(
        panic_answer,
    ))
}

fn panic_answer(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let what = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)");
    GateError::internal(format!("a handler panicked: {what}")).into_response()
}

/// Answers 503 problem+json (`REQUEST_TIMEOUT`, `Retry-After: 1`) when a
/// request takes longer than `limits.request_timeout_ms`, so that even a
/// timeout is a problem document (tower-http's layer answers an empty
/// body). The handler's future is dropped: a change it had sent to the
/// store may still commit, whole, which a retry with the same
/// `Idempotency-Key` answers.
async fn bounded_time(
    State(limit): State<Duration>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            let mut e = GateError::new(
                503,
                "REQUEST_TIMEOUT",
                "the request took longer than the service's limit; retry",
            );
            e.retry_after = Some(1);
            e.into_response()
        }
    }
}

async fn not_found(uri: axum::http::Uri) -> Response {
    if is_console_path(&uri) {
        return crate::console::layout::error_page(
            StatusCode::NOT_FOUND,
            "NO_ROUTE",
            "There is no console page at this address.",
        );
    }
    GateError::new(404, "NO_ROUTE", "no such endpoint; see /openapi.json").into_response()
}

async fn method_not_allowed(uri: axum::http::Uri) -> Response {
    if is_console_path(&uri) {
        return crate::console::layout::error_page(
            StatusCode::METHOD_NOT_ALLOWED,
            "METHOD_NOT_ALLOWED",
            "This console address does not take that method.",
        );
    }
    GateError::new(
        405,
        "METHOD_NOT_ALLOWED",
        "this endpoint does not take that method",
    )
    .into_response()
}

/// A console address: its refusals are pages with `#error-code` and the
/// console's security headers (CSP, no framing, `no-store`), not
/// problem+json a browser shows as raw text without them.
fn is_console_path(uri: &axum::http::Uri) -> bool {
    uri.path() == "/console" || uri.path().starts_with("/console/")
}

/// A path's `{id}`, as text. Axum's own `Path` rejection (an id whose
/// percent-decoded bytes are not UTF-8, `/v1/requests/%FF`) answered a
/// `text/plain` 400; this answers the 404 problem any other id that names
/// nothing gets, so every refusal stays problem+json.
pub(crate) struct PathId(pub(crate) String);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for PathId {
    type Rejection = GateError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<PathId, GateError> {
        match axum::extract::Path::<String>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(id)) => Ok(PathId(id)),
            Err(_) => Err(GateError::new(
                404,
                "NOT_FOUND",
                "the id in the path is not percent-encoded UTF-8",
            )),
        }
    }
}

/// A JSON answer with a status.
pub(crate) fn json_answer(status: u16, body: String) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// Audit lines as an `application/jsonl` answer, one per line, exactly as
/// stored (what `gatehouse audit verify` reads).
pub(crate) fn jsonl_answer(lines: Vec<(i64, String)>) -> Response {
    let mut text = String::with_capacity(lines.iter().map(|(_, l)| l.len() + 1).sum());
    for (_, line) in lines {
        text.push_str(&line);
        text.push('\n');
    }
    let mut response = text.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/jsonl"),
    );
    response
}

/// The body as UTF-8 text: 413 over the size limit, 415 for a media type
/// other than JSON, 400 for bytes that are not UTF-8.
pub(crate) fn body_text(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<String, GateError> {
    let body = body.map_err(|e| {
        let status = e.status().as_u16();
        if status == 413 {
            GateError::new(
                413,
                "BODY_TOO_LARGE",
                "the request body is larger than the limit",
            )
        } else {
            GateError::bad_request("UNREADABLE_BODY", e.body_text())
        }
    })?;
    if let Some(ct) = headers.get(header::CONTENT_TYPE) {
        let ct = ct.to_str().unwrap_or("").to_ascii_lowercase();
        let essence = ct.split(';').next().unwrap_or("").trim();
        if !(essence == "application/json" || essence.ends_with("+json")) {
            return Err(GateError::new(
                415,
                "UNSUPPORTED_MEDIA_TYPE",
                "send the body as application/json",
            ));
        }
    }
    String::from_utf8(body.to_vec()).map_err(|e| {
        GateError::bad_request(
            "INVALID_JSON",
            format!(
                "the body is not UTF-8 (at byte {})",
                e.utf8_error().valid_up_to()
            ),
        )
    })
}

/// The caller's `Idempotency-Key`, checked: 1 to 255 visible ASCII
/// characters, at most one header.
pub(crate) fn idempotency_key(
    headers: &HeaderMap,
    principal: &Principal,
) -> Result<Option<IdempotencyKey>, GateError> {
    let mut values = headers.get_all("idempotency-key").iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(GateError::bad_request(
            "INVALID_IDEMPOTENCY_KEY",
            "more than one Idempotency-Key header",
        ));
    }
    let key = value.to_str().unwrap_or("");
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|c| c.is_ascii_graphic()) {
        return Err(GateError::bad_request(
            "INVALID_IDEMPOTENCY_KEY",
            "an Idempotency-Key is 1 to 255 visible ASCII characters",
        ));
    }
    Ok(Some(IdempotencyKey {
        principal: crate::gate::person_key_of(&principal.id),
        key: key.to_owned(),
    }))
}

/// `GET /openapi.json`: the API's description, no credentials needed (it
/// says nothing a caller could not learn by trying).
async fn openapi() -> Response {
    json_answer(200, OPENAPI_JSON.to_owned())
}

async fn health(State(gate): State<Arc<Gate>>) -> Response {
    let policy = gate.policy();
    let status = gate.reload_status();
    let body = json!({
        "status": if status.error.is_some() { "degraded" } else { "ok" },
        "policy": {
            "name": policy.policy.name(),
            "version": policy.policy.version(),
            "digest": policy.policy.digest(),
        },
        "reload": status,
    });
    let mut body = body;
    // Only with a shadow configured: the shape is unchanged without one.
    if gate.config.shadow.policy.is_some()
        && let Some(fields) = body.as_object_mut()
    {
        fields.insert(
            "shadow".into(),
            json!({
                "policy": gate.shadow_policy().map(|s| crate::gate::policy_ref(&s.policy)),
                "error": gate.shadow_error(),
            }),
        );
    }
    json_answer(200, body.to_string())
}

async fn ready(State(gate): State<Arc<Gate>>) -> Response {
    if gate.is_draining() {
        return GateError::new(503, "SHUTTING_DOWN", "the gate is shutting down").into_response();
    }
    match gate.store.ping().await {
        Ok(()) => json_answer(200, json!({"status": "ready"}).to_string()),
        Err(_) => {
            GateError::new(503, "STORE_UNAVAILABLE", "the database does not answer").into_response()
        }
    }
}

async fn metrics(State(gate): State<Arc<Gate>>) -> Response {
    let mut pending = gate.store.pending_by_tier().await.unwrap_or_default();
    // Every tier of the policy in force has a line, 0 when none waits: a
    // gauge that vanishes reads as "no data" to alerting, not as zero.
    for tier in &gate.policy().policy.checked().tiers {
        let id = Some(i64::from(tier.id));
        if !pending.iter().any(|(t, _)| *t == id) {
            pending.push((id, 0));
        }
    }
    pending.sort();
    let backlog = gate.store.deliveries_waiting().await.unwrap_or_default();
    let mut response = gate.metrics.render(&pending, backlog).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

/// The key the gate signs approval credentials with, for trust stores
/// (`[[gate]]`) and `gatehouse verify`.
async fn public_keys(State(gate): State<Arc<Gate>>) -> Response {
    let key = gatehouse::trust::jws::public_key_text(&gate.signing_key.verifying_key());
    json_answer(200, json!({"signing_key": key}).to_string())
}

/// `POST /v1/decide`: one action (a JSON object) or a batch (an array of
/// them); the same decision JSON `gatehouse eval` writes. Stateless.
async fn decide(
    State(gate): State<Arc<Gate>>,
    principal: Principal,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, GateError> {
    principal.require(&[Scope::Decide])?;
    let text = body_text(&headers, body)?;
    let out = gate.decide(&text)?;
    Ok(json_answer(200, out))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::time::Duration;

    use axum::Router;
    use axum::body::Body;
    use axum::routing::get;
    use tower::ServiceExt as _;

    use super::{OPENAPI_JSON, ROUTES};

    fn listed() -> BTreeSet<(String, String)> {
        ROUTES
            .iter()
            .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
            .collect()
    }

    /// The `(method, path)` pairs the router's source declares: each
    /// `.route("PATH", METHOD(...).METHOD(...))` call, read from this very
    /// file, so a route added to the router and not to [`ROUTES`] fails.
    fn in_router_source() -> BTreeSet<(String, String)> {
        let source = include_str!("mod.rs");
        let body = source.split("#[cfg(test)]").next().unwrap_or("");
        let mut found = BTreeSet::new();
        for call in body.split(".route(").skip(1) {
            // The call's text up to its closing parenthesis.
            let mut depth = 1usize;
            let mut end = call.len();
            for (i, c) in call.char_indices() {
                match c {
                    '(' => depth += 1,
                    ')' => {
                        depth -= 1;
                        if depth == 0 {
                            end = i;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let call = call.get(..end).unwrap_or(call);
            let path = call.split('"').nth(1).unwrap_or_default().to_owned();
            for (word, method) in [
                ("get(", "GET"),
                ("post(", "POST"),
                ("delete(", "DELETE"),
                ("put(", "PUT"),
                ("patch(", "PATCH"),
            ] {
                if call.contains(word) {
                    found.insert((method.to_owned(), path.clone()));
                }
            }
        }
        found
    }

    #[test]
    fn the_router_declares_exactly_the_listed_routes() {
        assert_eq!(in_router_source(), listed());
    }

    #[test]
    fn the_openapi_document_describes_exactly_the_listed_routes() {
        let doc: serde_json::Value =
            serde_json::from_str(OPENAPI_JSON).expect("openapi.json is JSON");
        assert_eq!(doc["openapi"], "3.1.0");
        let mut described = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for method in item.as_object().expect("a path item").keys() {
                described.insert((method.to_ascii_uppercase(), path.clone()));
            }
        }
        assert_eq!(described, listed());
    }

    #[test]
    fn every_operation_answers_problems_and_names_its_path_parameters() {
        let doc: serde_json::Value =
            serde_json::from_str(OPENAPI_JSON).expect("openapi.json is JSON");
        let problem = "#/components/responses/Problem";
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for (method, op) in item.as_object().expect("a path item") {
                let responses = op["responses"].as_object().expect("responses");
                let secured = op.get("security") != Some(&serde_json::json!([]));
                if secured {
                    assert_eq!(responses["401"]["$ref"], problem, "{method} {path}");
                }
                for (status, r) in responses {
                    if status.starts_with('4') || status.starts_with('5') {
                        assert_eq!(r["$ref"], problem, "{method} {path} {status}");
                    }
                }
                if path.contains("{id}") {
                    let params = op["parameters"].as_array().expect("parameters");
                    assert!(
                        params
                            .iter()
                            .any(|p| p["$ref"] == "#/components/parameters/RequestId"
                                || p["in"] == "path"),
                        "{method} {path} names its id"
                    );
                }
            }
        }
    }

    /// A handler that panics answers 500 problem+json (`INTERNAL`, no
    /// detail sent), through the same layer the service's router has;
    /// before, the connection was dropped without an answer.
    #[tokio::test]
    async fn a_panicking_handler_answers_a_500_problem() {
        let app = super::answer_panics(Router::new().route(
            "/boom",
            get(|| async {
                let limit: i64 = std::hint::black_box(0);
                // The list clamp that panicked with `list_limit = 0`.
                5_i64.clamp(1, limit).to_string()
            }),
        ));
        let answer = app
            .oneshot(
                axum::http::Request::get("/boom")
                    .body(Body::empty())
                    .expect("request"),
            )
            .await
            .expect("an answer");
        assert_eq!(answer.status(), 500);
        assert_eq!(
            answer.headers()["content-type"],
            super::super::error::PROBLEM_JSON
        );
        let body = axum::body::to_bytes(answer.into_body(), 4096)
            .await
            .expect("body");
        let problem: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
        assert_eq!(problem["code"], "INTERNAL");
        assert!(
            !problem["detail"].as_str().unwrap_or("").contains("clamp"),
            "{problem}"
        );
    }

    /// A route slower than the limit answers 503 problem+json with
    /// `Retry-After`; one within it answers as it would (the old
    /// tower-http layer answered an empty 503 body).
    #[tokio::test]
    async fn a_request_over_the_time_limit_is_a_503_problem() {
        let app = Router::new()
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                    "late"
                }),
            )
            .route("/fast", get(|| async { "on time" }))
            .layer(axum::middleware::from_fn_with_state(
                Duration::from_millis(50),
                super::bounded_time,
            ));
        let slow = app
            .clone()
            .oneshot(
                axum::http::Request::get("/slow")
                    .body(Body::empty())
                    .expect("request"),
            )
            .await
            .expect("an answer");
        assert_eq!(slow.status(), 503);
        assert_eq!(
            slow.headers()["content-type"],
            super::super::error::PROBLEM_JSON
        );
        assert_eq!(slow.headers()["retry-after"], "1");
        let body = axum::body::to_bytes(slow.into_body(), 4096)
            .await
            .expect("body");
        let problem: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
        assert_eq!(problem["code"], "REQUEST_TIMEOUT");
        assert_eq!(problem["status"], 503);
        let fast = app
            .oneshot(
                axum::http::Request::get("/fast")
                    .body(Body::empty())
                    .expect("request"),
            )
            .await
            .expect("an answer");
        assert_eq!(fast.status(), 200);
    }
}

//! Every refusal the gate gives, as one enum that answers HTTP with an
//! RFC 9457 problem document (`application/problem+json`):
//!
//! ```json
//! {"type": "https://gatehouse.dev/problems/illegal-transition", "title": "Conflict",
//!  "status": 409, "detail": "a request that is `executing` cannot `claim`",
//!  "code": "ALREADY_CLAIMED", "instance": "/v1/requests/req_…/claim"}
//! ```
//!
//! `code` is the stable reason code (the same codes `gatehouse verify`
//! gives where the refusal is an approval's); `errors` lists problems with
//! the request body by JSON path. Internal errors say only that they
//! happened: details go to the log, never to the caller.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// One problem with a request body, located by its JSON path (the form
/// `INVALID_INPUT` decisions use).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// Where: `$.action.amount`, or `$` for the whole body.
    pub path: String,
    /// What is wrong.
    pub detail: String,
}

/// A refusal, with its HTTP status.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{status} {code}: {detail}")]
pub struct GateError {
    /// The HTTP status.
    pub status: u16,
    /// The stable reason code (UPPER_SNAKE).
    pub code: &'static str,
    /// What happened, for people.
    pub detail: String,
    /// Problems with the body, by JSON path.
    pub errors: Vec<FieldError>,
    /// Seconds to wait before retrying (429 and 503).
    pub retry_after: Option<u64>,
    /// The request's state, on a conflict with it.
    pub state: Option<String>,
}

impl GateError {
    /// A refusal with a status, code and detail.
    pub fn new(status: u16, code: &'static str, detail: impl Into<String>) -> GateError {
        GateError {
            status,
            code,
            detail: detail.into(),
            errors: Vec::new(),
            retry_after: None,
            state: None,
        }
    }

    /// 400: the request cannot be read.
    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> GateError {
        GateError::new(400, code, detail)
    }

    /// 422: the body is JSON but not what the endpoint takes; `errors`
    /// locate each problem.
    pub fn invalid_body(errors: Vec<FieldError>) -> GateError {
        let detail = match errors.as_slice() {
            [one] if one.path == "$" => one.detail.clone(),
            [one] => format!("`{}`: {}", one.path, one.detail),
            _ => format!("{} problems with the request body", errors.len()),
        };
        GateError {
            errors,
            ..GateError::new(422, "INVALID_BODY", detail)
        }
    }

    /// 401: no or bad credentials.
    pub fn unauthorized(detail: impl Into<String>) -> GateError {
        GateError::new(401, "UNAUTHENTICATED", detail)
    }

    /// 403: authenticated, but not allowed.
    pub fn forbidden(code: &'static str, detail: impl Into<String>) -> GateError {
        GateError::new(403, code, detail)
    }

    /// 404: no such request.
    pub fn not_found(id: &str) -> GateError {
        GateError::new(404, "NOT_FOUND", format!("no request `{id}`"))
    }

    /// 409: the request's state does not allow it.
    pub fn conflict(code: &'static str, detail: impl Into<String>) -> GateError {
        GateError::new(409, code, detail)
    }

    /// 409 with the request's state.
    pub fn conflict_in(code: &'static str, detail: impl Into<String>, state: &str) -> GateError {
        GateError {
            state: Some(state.to_owned()),
            ..GateError::conflict(code, detail)
        }
    }

    /// 500 from the database; the detail is logged, not sent.
    pub fn store(detail: impl Into<String>) -> GateError {
        GateError::new(500, "STORE_ERROR", detail)
    }

    /// 503 `STORE_UNAVAILABLE`: the database cannot be reached now (its
    /// connection was lost, it is restarting, the pool is exhausted).
    /// Usually the change was not made; a connection lost while `COMMIT`
    /// was in flight leaves it unknown (it may have committed), so retrying
    /// after `Retry-After` is safe with the same `Idempotency-Key`. The
    /// detail is logged, not sent.
    pub fn unavailable(detail: impl Into<String>) -> GateError {
        GateError {
            retry_after: Some(1),
            ..GateError::new(503, "STORE_UNAVAILABLE", detail)
        }
    }

    /// 500 for a fault of ours; the detail is logged, not sent.
    pub fn internal(detail: impl Into<String>) -> GateError {
        GateError::new(500, "INTERNAL", detail)
    }

    /// The problem type's URI.
    pub fn type_uri(&self) -> String {
        format!(
            "https://gatehouse.dev/problems/{}",
            self.code.to_ascii_lowercase().replace('_', "-")
        )
    }

    /// The problem document (`instance` is the request path).
    pub fn to_problem(&self, instance: Option<&str>) -> serde_json::Value {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let detail = if self.status >= 500 {
            "the gate could not complete the request; it is logged".to_owned()
        } else {
            self.detail.clone()
        };
        let mut doc = serde_json::json!({
            "type": self.type_uri(),
            "title": status.canonical_reason().unwrap_or("Error"),
            "status": self.status,
            "detail": detail,
            "code": self.code,
        });
        if let Some(map) = doc.as_object_mut() {
            if let Some(instance) = instance {
                map.insert("instance".into(), instance.into());
            }
            if !self.errors.is_empty() {
                map.insert(
                    "errors".into(),
                    serde_json::to_value(&self.errors).unwrap_or_default(),
                );
            }
            if let Some(state) = &self.state {
                map.insert("state".into(), state.clone().into());
            }
        }
        doc
    }
}

impl From<crate::lifecycle::IllegalTransition> for GateError {
    fn from(e: crate::lifecycle::IllegalTransition) -> GateError {
        GateError::conflict_in(e.code(), e.to_string(), e.from.as_str())
    }
}

/// The media type of problem documents.
pub const PROBLEM_JSON: &str = "application/problem+json";

impl IntoResponse for GateError {
    fn into_response(self) -> Response {
        if self.status >= 500 {
            tracing::error!(code = self.code, detail = %self.detail, "request failed");
        }
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = self.to_problem(None).to_string();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.status == 401 {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"gatehouse\""),
            );
        }
        response
    }
}

//! The calls to the identity provider: discovery and the token endpoint,
//! each with the configured timeout, a size bound on the answer, and no
//! redirects followed.

use std::sync::Mutex;
use std::time::Instant;

use axum::http::header;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64_STD;
use serde_json::Value as Json;

use super::{
    DISCOVERY_TTL, Discovered, Endpoints, Failure, MAX_PROVIDER_BYTES, OidcState, Pending,
    printable, redirect_uri,
};
use crate::console::config::OidcSignin;
use crate::gate::Gate;

/// Redeems the code at the token endpoint: the ID token.
pub(super) async fn exchange(
    gate: &Gate,
    oidc: &OidcState,
    config: &OidcSignin,
    token_endpoint: &str,
    code: &str,
    flow: &Pending,
) -> Result<String, Failure> {
    let http = oidc
        .http
        .as_ref()
        .ok_or_else(|| Failure::unavailable("no HTTP client"))?;
    let url = endpoint_url(token_endpoint).map_err(Failure::unavailable)?;
    let redirect_uri = redirect_uri(gate)?;
    let mut request = http
        .post(url)
        .header(header::ACCEPT, "application/json")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    // A confidential client authenticates with HTTP Basic, a public one
    // names itself in the form: one authentication per request (RFC 6749
    // §2.3).
    let confidential = config.client_secret_env.is_some();
    if let Some(var) = config.client_secret_env.as_deref() {
        let secret = std::env::var(var).unwrap_or_default();
        if secret.is_empty() {
            return Err(Failure::unavailable(format!(
                "the client secret variable `{var}` is not set"
            )));
        }
        // RFC 6749 §2.3.1: both parts form-encoded, then Basic.
        let basic = B64_STD.encode(format!(
            "{}:{}",
            form_encode(&config.client_id),
            form_encode(&secret)
        ));
        request = request.header(header::AUTHORIZATION, format!("Basic {basic}"));
    }
    // (The serializer is not `Send`: it lives in this block only, never
    // across an await.)
    let body = {
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair("grant_type", "authorization_code")
            .append_pair("code", code)
            .append_pair("redirect_uri", &redirect_uri)
            .append_pair("code_verifier", &flow.verifier);
        if !confidential {
            form.append_pair("client_id", &config.client_id);
        }
        form.finish()
    };
    let response = request.body(body).send().await.map_err(|e| {
        Failure::unavailable(format!(
            "the token endpoint did not answer: {}",
            error_text(&e)
        ))
    })?;
    let status = response.status();
    let body = read_bounded(response).await?;
    let json: Json = serde_json::from_slice(&body).unwrap_or(Json::Null);
    if status.is_server_error() {
        return Err(Failure::unavailable(format!(
            "the token endpoint answered {status}"
        )));
    }
    if !status.is_success() {
        let error = json.get("error").and_then(Json::as_str).unwrap_or("");
        let description = json
            .get("error_description")
            .and_then(Json::as_str)
            .unwrap_or("");
        return Err(Failure::provider(format!(
            "the token endpoint refused the code ({status}): {} {}",
            printable(error),
            printable(description)
        )));
    }
    json.get("id_token")
        .and_then(Json::as_str)
        .map(str::to_owned)
        .ok_or_else(|| Failure::provider("the token endpoint's answer holds no id_token"))
}

fn form_encode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

fn error_text(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "the connection failed"
    }
}

/// A provider's answer body, at most [`MAX_PROVIDER_BYTES`].
async fn read_bounded(mut response: reqwest::Response) -> Result<Vec<u8>, Failure> {
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > MAX_PROVIDER_BYTES {
                    return Err(Failure::provider(format!(
                        "the identity provider's answer is larger than {MAX_PROVIDER_BYTES} bytes"
                    )));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body),
            Err(e) => {
                return Err(Failure::unavailable(format!(
                    "the identity provider's answer broke off: {}",
                    error_text(&e)
                )));
            }
        }
    }
}

/// The authorization and token endpoints: the configured ones, else the
/// discovery document's (cached for an hour, per issuer).
pub(super) async fn endpoints(
    gate: &Gate,
    oidc: &OidcState,
    config: &OidcSignin,
) -> Result<Endpoints, Failure> {
    if let (Some(authorization), Some(token)) = (
        config.authorization_endpoint.clone(),
        config.token_endpoint.clone(),
    ) {
        return Ok(Endpoints {
            authorization,
            token,
        });
    }
    let issuer = gate
        .trust()
        .and_then(|t| t.oidc().map(|o| o.issuer.clone()))
        .ok_or_else(|| Failure::unavailable("the trust store has no [oidc] issuer"))?;
    let cached = lock(&oidc.discovery)
        .clone()
        .filter(|d| d.issuer == issuer && d.at.elapsed() < DISCOVERY_TTL);
    let found = match cached {
        Some(d) => d,
        None => {
            let d = discover(oidc, &issuer).await?;
            *lock(&oidc.discovery) = Some(d.clone());
            d
        }
    };
    Ok(Endpoints {
        authorization: config
            .authorization_endpoint
            .clone()
            .unwrap_or(found.authorization),
        token: config.token_endpoint.clone().unwrap_or(found.token),
    })
}

pub(super) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Reads `<issuer>/.well-known/openid-configuration`; its `issuer` must be
/// the trust store's (OpenID Connect Discovery §4.3).
async fn discover(oidc: &OidcState, issuer: &str) -> Result<Discovered, Failure> {
    let http = oidc
        .http
        .as_ref()
        .ok_or_else(|| Failure::unavailable("no HTTP client"))?;
    let address = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let url = endpoint_url(&address).map_err(Failure::unavailable)?;
    let response = http
        .get(url)
        .header(header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| {
            Failure::unavailable(format!(
                "the provider's discovery document did not load: {}",
                error_text(&e)
            ))
        })?;
    if !response.status().is_success() {
        return Err(Failure::unavailable(format!(
            "the provider's discovery document answered {}",
            response.status()
        )));
    }
    let body = read_bounded(response).await?;
    let doc: Json = serde_json::from_slice(&body)
        .map_err(|_| Failure::unavailable("the provider's discovery document is not JSON"))?;
    let text = |name: &str| doc.get(name).and_then(Json::as_str).map(str::to_owned);
    if text("issuer").as_deref() != Some(issuer) {
        return Err(Failure::unavailable(
            "the provider's discovery document names another issuer than the trust store",
        ));
    }
    let (Some(authorization), Some(token)) =
        (text("authorization_endpoint"), text("token_endpoint"))
    else {
        return Err(Failure::unavailable(
            "the provider's discovery document has no authorization or token endpoint",
        ));
    };
    for url in [&authorization, &token] {
        endpoint_url(url).map_err(Failure::unavailable)?;
    }
    Ok(Discovered {
        issuer: issuer.to_owned(),
        at: Instant::now(),
        authorization,
        token,
    })
}

/// An endpoint address: `https`, or `http` to a loopback host (a provider
/// on the same machine); no fragment.
pub(super) fn endpoint_url(text: &str) -> Result<reqwest::Url, String> {
    let url = reqwest::Url::parse(text).map_err(|e| format!("`{text}` is not a URL: {e}"))?;
    let host = url.host_str().unwrap_or("");
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    let ok = !host.is_empty()
        && url.fragment().is_none()
        && text.len() <= 2048
        && (url.scheme() == "https" || (url.scheme() == "http" && loopback));
    if ok {
        Ok(url)
    } else {
        Err(format!(
            "`{text}` must be an https address (http only to localhost), without a fragment"
        ))
    }
}

//! Sign-in with the trust store's OIDC provider: the authorization code
//! flow with PKCE (RFC 6749, RFC 7636, OpenID Connect Core 1.0 §3.1).
//!
//! `GET /console/signin/oidc?next=` finds the provider's endpoints (the
//! `[console.oidc]` ones, else `<issuer>/.well-known/openid-configuration`
//! of the trust store's `[oidc]` issuer, cached), keeps a fresh state,
//! nonce and PKCE verifier in the pre-session cookie and sends the browser
//! to the authorization endpoint. `GET /console/callback?code=&state=`
//! checks the state against the cookie, exchanges the code at the token
//! endpoint, verifies the ID token with the trust store (signature against
//! the JWKS file, issuer, audience = `client_id`, expiry) and its `nonce`
//! against the cookie's, and signs in a person of the approvers directory.
//!
//! Invariants:
//! - Every failure is an HTML page with a stable code and never a session;
//!   it clears the pre-session cookie, so a flow is tried once.
//! - A state is accepted once: the cookie is cleared on the first answer
//!   and the state is remembered (bounded, for as long as a flow may last),
//!   so a callback URL replayed with a copy of the cookie is refused.
//! - The state is checked before the code is exchanged, so a forged
//!   callback never reaches the provider.
//! - Nothing the provider sends is trusted before the trust store verified
//!   the ID token; the provider's answers are read with a timeout and a
//!   size bound, and its redirects are not followed.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Extension, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Router, http::HeaderMap};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use rand_core::{OsRng, RngCore as _};
use serde_json::{Map, Value as Json};
use sha2::{Digest as _, Sha256};

use super::config::OidcSignin;
use super::layout;
use super::problem_page;
use super::session::{self, PRE_COOKIE};
use super::signin::{safe_next, signed_in};
use crate::auth::AuthMethod;
use crate::config::ServerConfig;
use crate::gate::Gate;

/// How long an OIDC round trip may take (the pre-session cookie's life,
/// as for the sign-in form).
const FLOW_SECONDS: i64 = 1800;

/// The most states remembered as used. Past it the oldest is forgotten:
/// its code was redeemed at the provider already (codes are single-use),
/// so forgetting it cannot sign anyone in twice.
const MAX_USED_STATES: usize = 10_000;

#[path = "oidc_provider.rs"]
mod provider;

use provider::{endpoint_url, endpoints, exchange, lock};

/// The largest discovery document or token answer read.
const MAX_PROVIDER_BYTES: usize = 64 * 1024;

/// How long a discovery document is kept.
const DISCOVERY_TTL: Duration = Duration::from_secs(3600);

/// The longest `code`, `state` or `next` taken from a URL.
const MAX_PARAM_BYTES: usize = 4096;

/// The OIDC sign-in's state in this process: the HTTP client, the cached
/// discovery document and the states already used.
pub struct OidcState {
    http: Option<reqwest::Client>,
    discovery: Mutex<Option<Discovered>>,
    used: Mutex<UsedStates>,
}

/// A discovery document, kept for [`DISCOVERY_TTL`].
#[derive(Clone)]
struct Discovered {
    issuer: String,
    at: Instant,
    authorization: String,
    token: String,
}

/// The provider's two endpoints.
struct Endpoints {
    authorization: String,
    token: String,
}

impl OidcState {
    /// The state for a service with this configuration (no client when
    /// OIDC sign-in is not configured).
    pub fn new(config: &ServerConfig) -> OidcState {
        let http = config.console.oidc.as_ref().and_then(|oidc| {
            let timeout = Duration::from_millis(oidc.timeout_ms);
            reqwest::Client::builder()
                .timeout(timeout)
                .connect_timeout(timeout)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .inspect_err(|e| tracing::error!(error = %e, "console: no HTTP client for OIDC"))
                .ok()
        });
        OidcState {
            http,
            discovery: Mutex::new(None),
            used: Mutex::new(UsedStates::default()),
        }
    }
}

/// The OIDC routes, with their state.
pub fn routes(gate: &Gate) -> Router<Arc<Gate>> {
    let state = Arc::new(OidcState::new(&gate.config));
    Router::new()
        .route("/console/signin/oidc", get(start))
        .route("/console/callback", get(callback))
        .layer(Extension(state))
}

/// Refuses to start a service whose OIDC sign-in could never work: no
/// trust store `[oidc]` section to verify ID tokens with, an unset client
/// secret variable, a provider timeout that does not fit in the request
/// timeout, or an endpoint that is not an acceptable URL.
/// (`public_url` is required by [`super::ConsoleConfig::check`].)
pub fn check_startup(
    config: &ServerConfig,
    trust: Option<&gatehouse::trust::TrustStore>,
) -> Result<(), String> {
    let Some(oidc) = config
        .console
        .oidc
        .as_ref()
        .filter(|_| config.console.enabled)
    else {
        return Ok(());
    };
    let Some(provider) = trust.and_then(|t| t.oidc()) else {
        return Err(
            "[console.oidc] needs a trust store with an [oidc] section: its issuer, \
             audience and JWKS verify the ID token (gatehouse serve --trust approvers.toml)"
                .into(),
        );
    };
    if let Some(var) = &oidc.client_secret_env
        && std::env::var(var).map_or(true, |v| v.is_empty())
    {
        return Err(format!(
            "[console.oidc] client_secret_env names `{var}`, which is not set"
        ));
    }
    // A callback may wait on discovery and the token endpoint; both must
    // fit in the request's own time bound, or the answer is cut off
    // without the page saying why.
    if oidc.timeout_ms.saturating_mul(2) >= config.limits.request_timeout_ms {
        return Err(format!(
            "[console.oidc] timeout_ms ({}) must be less than half of [limits] request_timeout_ms ({})",
            oidc.timeout_ms, config.limits.request_timeout_ms
        ));
    }
    for url in [&oidc.authorization_endpoint, &oidc.token_endpoint]
        .into_iter()
        .flatten()
    {
        endpoint_url(url).map_err(|e| format!("[console.oidc] {e}"))?;
    }
    if provider.audience != oidc.client_id {
        tracing::warn!(
            audience = %provider.audience,
            client_id = %oidc.client_id,
            "console: the trust store's [oidc] audience is not [console.oidc] client_id; \
             an ID token must then name both in `aud`"
        );
    }
    Ok(())
}

/// A refusal of the sign-in: an error page that also clears the
/// pre-session cookie (a flow is tried once).
struct Failure {
    status: StatusCode,
    code: &'static str,
    detail: String,
}

impl Failure {
    fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Failure {
        Failure {
            status,
            code,
            detail: detail.into(),
        }
    }

    fn state(detail: impl Into<String>) -> Failure {
        Failure::new(StatusCode::BAD_REQUEST, "OIDC_STATE_MISMATCH", detail)
    }

    fn unavailable(detail: impl Into<String>) -> Failure {
        Failure::new(StatusCode::SERVICE_UNAVAILABLE, "OIDC_UNAVAILABLE", detail)
    }

    fn provider(detail: impl Into<String>) -> Failure {
        Failure::new(StatusCode::BAD_GATEWAY, "OIDC_PROVIDER_ERROR", detail)
    }

    fn refused(code: &str, detail: &str) -> Failure {
        Failure::new(
            StatusCode::UNAUTHORIZED,
            "OIDC_TOKEN_REFUSED",
            format!("the identity provider's ID token was refused: {code}: {detail}"),
        )
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::warn!(code = self.code, detail = %self.detail, "console: OIDC sign-in failed");
        } else {
            tracing::info!(code = self.code, detail = %self.detail, "console: OIDC sign-in refused");
        }
        let mut response = layout::error_page(self.status, self.code, &self.detail);
        if let Ok(v) = HeaderValue::from_str(&session::clear_cookie(PRE_COOKIE)) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
        response
    }
}

fn oidc_off() -> Response {
    layout::error_page(
        StatusCode::NOT_FOUND,
        "OIDC_OFF",
        "OIDC sign-in is not configured on this service ([console.oidc]).",
    )
}

/// The query parameters of a URL, each at most once and bounded; `None`
/// when a parameter repeats or is too long (nothing is guessed).
fn params(raw: Option<&str>) -> Option<Vec<(String, String)>> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (k, v) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        if v.len() > MAX_PARAM_BYTES || out.iter().any(|(seen, _)| *seen == k) || out.len() > 16 {
            return None;
        }
        out.push((k.into_owned(), v.into_owned()));
    }
    Some(out)
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// `GET /console/signin/oidc?next=`: to the provider.
pub async fn start(
    State(gate): State<Arc<Gate>>,
    Extension(oidc): Extension<Arc<OidcState>>,
    RawQuery(query): RawQuery,
) -> Response {
    let Some(config) = gate.config.console.oidc.as_ref() else {
        return oidc_off();
    };
    match begin(&gate, &oidc, config, query.as_deref()).await {
        Ok(response) => response,
        Err(failure) => failure.into_response(),
    }
}

async fn begin(
    gate: &Gate,
    oidc: &OidcState,
    config: &OidcSignin,
    query: Option<&str>,
) -> Result<Response, Failure> {
    let next = params(query)
        .and_then(|p| param(&p, "next").map(str::to_owned))
        .map(|n| safe_next(Some(&n)))
        .filter(|n| n.len() <= 1024)
        .unwrap_or_else(|| "/console/".into());
    let redirect_uri = redirect_uri(gate)?;
    let endpoints = endpoints(gate, oidc, config).await?;
    let mut url = endpoint_url(&endpoints.authorization).map_err(Failure::unavailable)?;
    let flow = Pending {
        issued: gate.now().unix_seconds(),
        state: session::random_token(),
        nonce: session::random_token(),
        verifier: verifier(),
        next,
    };
    let mut scopes = vec!["openid".to_owned()];
    for s in &config.scopes {
        if !scopes.contains(s) {
            scopes.push(s.clone());
        }
    }
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &config.client_id)
        .append_pair("redirect_uri", &redirect_uri)
        .append_pair("scope", &scopes.join(" "))
        .append_pair("state", &flow.state)
        .append_pair("nonce", &flow.nonce)
        .append_pair("code_challenge", &challenge(&flow.verifier))
        .append_pair("code_challenge_method", "S256");
    let mut response = Redirect::to(url.as_str()).into_response();
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&session::set_cookie(
        PRE_COOKIE,
        &flow.cookie(),
        FLOW_SECONDS,
    )) {
        headers.append(header::SET_COOKIE, v);
    }
    layout::secure_headers(headers);
    Ok(response)
}

/// `<public_url>/console/callback`.
fn redirect_uri(gate: &Gate) -> Result<String, Failure> {
    gate.config
        .console
        .origin()
        .map(|o| format!("{o}/console/callback"))
        .ok_or_else(|| Failure::unavailable("[console] public_url is not set"))
}

/// `GET /console/callback?code=&state=` (or `?error=`): back from the
/// provider.
pub async fn callback(
    State(gate): State<Arc<Gate>>,
    Extension(oidc): Extension<Arc<OidcState>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let Some(config) = gate.config.console.oidc.as_ref() else {
        return oidc_off();
    };
    match finish(&gate, &oidc, config, &headers, query.as_deref()).await {
        Ok(response) => response,
        Err(failure) => failure.into_response(),
    }
}

async fn finish(
    gate: &Gate,
    oidc: &OidcState,
    config: &OidcSignin,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<Response, Failure> {
    let params = params(query)
        .ok_or_else(|| Failure::state("the callback's parameters are repeated or too long"))?;
    let now = gate.now().unix_seconds();
    let flow = session::cookie(headers, PRE_COOKIE)
        .and_then(Pending::read)
        .ok_or_else(|| {
            Failure::state(
                "no sign-in is in progress in this browser: it was finished or refused already, \
                 took longer than 30 minutes, or started in another browser. Sign in again.",
            )
        })?;
    match param(&params, "state") {
        Some(state) if session::same_token(state, &flow.state) => {}
        _ => {
            return Err(Failure::state(
                "the provider's answer is not for the sign-in this browser started",
            ));
        }
    }
    if now.saturating_sub(flow.issued) > FLOW_SECONDS || flow.issued > now.saturating_add(60) {
        return Err(Failure::state(
            "the sign-in took longer than 30 minutes. Sign in again.",
        ));
    }
    // Marked before anything else can happen: a second answer with this
    // state, even one racing this one, is refused.
    if !oidc.remember(&flow.state, now) {
        return Err(Failure::state("this sign-in answer was used already"));
    }
    // RFC 9207: a provider that names itself in the answer must be ours
    // (an answer from another provider, mixed up, is not redeemed here).
    if let Some(iss) = param(&params, "iss") {
        let ours = gate
            .trust()
            .and_then(|t| t.oidc().map(|o| o.issuer.clone()));
        if ours.as_deref() != Some(iss) {
            return Err(Failure::provider(format!(
                "the answer comes from another issuer than the trust store's: {}",
                printable(iss)
            )));
        }
    }
    if let Some(error) = param(&params, "error") {
        let description = param(&params, "error_description").unwrap_or("");
        return Err(Failure::provider(format!(
            "the identity provider refused the sign-in: {} {}",
            printable(error),
            printable(description)
        )));
    }
    let code = param(&params, "code")
        .filter(|c| !c.is_empty())
        .ok_or_else(|| Failure::provider("the identity provider sent no authorization code"))?;
    let endpoints = endpoints(gate, oidc, config).await?;
    let id_token = exchange(gate, oidc, config, &endpoints.token, code, &flow).await?;

    let trust = gate.trust();
    let Some(store) = trust.as_ref().filter(|t| t.oidc().is_some()) else {
        return Err(Failure::unavailable(
            "the trust store has no [oidc] section to verify the ID token with",
        ));
    };
    let (identity, _) = store
        .authenticate_bearer(&id_token, gate.now())
        .map_err(|r| Failure::refused(r.code.as_str(), &r.message))?;
    // The signature is verified: the claims can be read as the provider's.
    let claims = claims(&id_token).ok_or_else(|| {
        Failure::refused("MALFORMED", "the ID token's claims are not a JSON object")
    })?;
    check_audience(&claims, &config.client_id)?;
    match claims.get("nonce").and_then(Json::as_str) {
        Some(nonce) if session::same_token(nonce, &flow.nonce) => {}
        _ => {
            return Err(Failure::new(
                StatusCode::UNAUTHORIZED,
                "OIDC_NONCE_MISMATCH",
                "the ID token's nonce is not the one this sign-in sent: it was issued for \
                 another sign-in",
            ));
        }
    }
    match session::console_roles(gate, &identity).await {
        Ok(Some(_)) => {}
        Ok(None) => {
            return Err(Failure::new(
                StatusCode::FORBIDDEN,
                "NOT_AN_APPROVER",
                format!("`{identity}` is not in the approvers directory."),
            ));
        }
        Err(e) => return Ok(problem_page(e)),
    }
    Ok(signed_in(gate, headers, &identity, AuthMethod::Oidc, Some(&flow.next)).await)
}

/// The ID token's `aud` names this client; with several audiences, `azp`
/// must be this client (OpenID Connect Core §3.1.3.7).
fn check_audience(claims: &Map<String, Json>, client_id: &str) -> Result<(), Failure> {
    let audiences: Vec<&str> = match claims.get("aud") {
        Some(Json::String(one)) => vec![one.as_str()],
        Some(Json::Array(many)) => many.iter().filter_map(Json::as_str).collect(),
        _ => Vec::new(),
    };
    if !audiences.contains(&client_id) {
        return Err(Failure::refused(
            "BAD_AUDIENCE",
            &format!("the ID token is not for the client `{client_id}`"),
        ));
    }
    let azp = claims.get("azp").and_then(Json::as_str);
    if (audiences.len() > 1 || azp.is_some()) && azp != Some(client_id) {
        return Err(Failure::refused(
            "BAD_AUDIENCE",
            &format!("the ID token's `azp` is not the client `{client_id}`"),
        ));
    }
    Ok(())
}

/// A verified token's claims (the middle segment).
fn claims(token: &str) -> Option<Map<String, Json>> {
    let segment = token.split('.').nth(1)?;
    serde_json::from_slice(&B64.decode(segment).ok()?).ok()
}

/// Provider text fit for a page: printable, bounded.
fn printable(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(300).collect()
}

/// A PKCE verifier: 32 random bytes, base64url (43 characters).
fn verifier() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    B64.encode(bytes)
}

/// The S256 challenge of a verifier (RFC 7636 §4.2).
fn challenge(verifier: &str) -> String {
    B64.encode(Sha256::digest(verifier.as_bytes()))
}

/// A sign-in in progress, as the pre-session cookie holds it:
/// `o1.<issued>.<state>.<nonce>.<verifier>.<next, base64url>`. The cookie
/// is HttpOnly, Secure and `__Host-`: only this browser holds it, and the
/// worst its holder can do by editing it is fail their own sign-in.
struct Pending {
    issued: i64,
    state: String,
    nonce: String,
    verifier: String,
    next: String,
}

impl Pending {
    fn cookie(&self) -> String {
        format!(
            "o1.{}.{}.{}.{}.{}",
            self.issued,
            self.state,
            self.nonce,
            self.verifier,
            B64.encode(self.next.as_bytes())
        )
    }

    fn read(text: &str) -> Option<Pending> {
        let mut parts = text.split('.');
        let (Some("o1"), Some(issued), Some(state), Some(nonce), Some(verifier), Some(next), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return None;
        };
        let hex64 = |s: &str| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit());
        if !hex64(state) || !hex64(nonce) || verifier.len() != 43 {
            return None;
        }
        let next = String::from_utf8(B64.decode(next).ok()?).ok()?;
        Some(Pending {
            issued: issued.parse().ok()?,
            state: state.to_owned(),
            nonce: nonce.to_owned(),
            verifier: verifier.to_owned(),
            next: safe_next(Some(&next)),
        })
    }
}

/// The states answered already, oldest first, for as long as a flow may
/// last, at most [`MAX_USED_STATES`].
#[derive(Default)]
struct UsedStates {
    order: VecDeque<(i64, String)>,
    seen: HashSet<String>,
}

impl OidcState {
    /// Records a state as used; `false` when it was used already.
    fn remember(&self, state: &str, now: i64) -> bool {
        let mut used = lock(&self.used);
        while let Some((at, _)) = used.order.front() {
            if now.saturating_sub(*at) <= FLOW_SECONDS && used.order.len() < MAX_USED_STATES {
                break;
            }
            if let Some((_, old)) = used.order.pop_front() {
                used.seen.remove(&old);
            }
        }
        if !used.seen.insert(state.to_owned()) {
            return false;
        }
        used.order.push_back((now, state.to_owned()));
        true
    }
}

#[cfg(test)]
#[path = "oidc_tests.rs"]
mod tests;

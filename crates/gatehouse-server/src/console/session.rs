//! Console sessions: the cookie, the server-side session row, the CSRF
//! token every form carries, and the [`Reviewer`] every page is rendered
//! for.
//!
//! Invariants:
//! - The identity comes from the session row alone (never a form field, a
//!   query parameter or a header); the roles are read from the approvers
//!   directory on every request, so removing someone's role takes effect
//!   at their next click.
//! - The cookie holds 32 random bytes; the store keeps only their SHA-256,
//!   so a copy of the database signs nobody in. A sign-in always makes a
//!   new session (no fixation); sign-out deletes the row, so the old
//!   cookie is dead even if it was copied.
//! - A development sign-in's session is honoured only while and where the
//!   development sign-in itself is (on, and for this request's `Host` and
//!   headers): switching it off ends every session it made.
//! - Every POST is checked before anything else reads its body: the form's
//!   `_csrf` must equal the session's token (compared in constant time),
//!   and a browser's `Origin` / `Sec-Fetch-Site` must say the post came
//!   from the console's own origin.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use rand_core::{OsRng, RngCore as _};
use sha2::{Digest as _, Sha256};

use crate::auth::{AuthMethod, Principal, Scope};
use crate::error::GateError;
use crate::gate::Gate;
use crate::store::SessionRow;

/// The session cookie. `__Host-` makes the browser refuse it unless it is
/// `Secure`, has no `Domain` and has `Path=/`: no sibling host can plant
/// or read it.
pub const SESSION_COOKIE: &str = "__Host-gatehouse_session";

/// The pre-session cookie: the sign-in form's CSRF token and, during an
/// OIDC sign-in, the state, nonce and PKCE verifier.
pub const PRE_COOKIE: &str = "__Host-gatehouse_pre";

/// The longest cookie value read.
const MAX_COOKIE_BYTES: usize = 4096;

/// A signed-in person, as every console page sees them.
#[derive(Clone, Debug)]
pub struct Reviewer {
    /// Who, with their roles from the directory; the scopes are `approve`
    /// and `read`.
    pub principal: Principal,
    /// The session's CSRF token (hidden field `_csrf` of every form).
    pub csrf: String,
    /// The session row's key (for sign-out).
    pub session_hash: String,
}

/// 32 random bytes as 64 hex digits.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// The stored form of a cookie secret.
pub fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Equal in constant time (for tokens: the time taken says nothing about
/// how much of a guess was right).
pub fn same_token(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() || a.is_empty() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The value of one cookie in the request's `Cookie` headers; `None` when
/// it is absent, repeated (two values: one may be planted), or too long.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    let mut found = None;
    for value in headers.get_all(header::COOKIE) {
        let text = value.to_str().ok()?;
        if text.len() > MAX_COOKIE_BYTES * 4 {
            return None;
        }
        for pair in text.split(';') {
            if let Some((k, v)) = pair.trim().split_once('=')
                && k == name
            {
                if found.is_some() || v.len() > MAX_COOKIE_BYTES {
                    return None;
                }
                found = Some(v);
            }
        }
    }
    found
}

/// A `Set-Cookie` value for a console cookie: Secure, HttpOnly,
/// SameSite=Lax (sent on a top-level navigation back from the identity
/// provider, never on a cross-site POST), Path=/.
pub fn set_cookie(name: &str, value: &str, max_age: i64) -> String {
    format!("{name}={value}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age={max_age}")
}

/// A `Set-Cookie` value that removes a cookie.
pub fn clear_cookie(name: &str) -> String {
    set_cookie(name, "", 0)
}

/// Whether a POST's browser headers say it came from the console's own
/// origin: `Sec-Fetch-Site`, when sent, must be `same-origin`; `Origin`,
/// when sent, must be the configured public origin, else `http(s)://` and
/// the request's own `Host`. (Browsers send at least one of them on every
/// form post; a client that sends neither is not a browser and still
/// needs the CSRF token.)
pub fn same_origin(gate: &Gate, headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site")
        && site.as_bytes() != b"same-origin"
    {
        return false;
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    if let Some(expected) = gate.config.console.origin() {
        return origin == expected;
    }
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    origin == format!("http://{host}") || origin == format!("https://{host}")
}

/// The roles a person may use the console with: the directory's when a
/// trust store is configured, else the roles of their live API keys that
/// hold the `approve` scope. `None`: not an approver (no sign-in).
pub async fn console_roles(gate: &Gate, identity: &str) -> Result<Option<Vec<String>>, GateError> {
    if let Some(trust) = gate.trust() {
        // Exactly the directory's spelling. `same_person` errs toward "one
        // person" (`rnary` is `mary`, `b0b` is `bob`, a zero-width space
        // vanishes): right for separation of duties, wrong for signing in,
        // where it would hand Mary's roles to whoever the identity
        // provider calls `rnary@example.com`.
        return Ok(trust
            .approvers()
            .iter()
            .find(|a| a.id == identity)
            .map(|a| a.roles.clone()));
    }
    let mut roles: Vec<String> = Vec::new();
    let mut known = false;
    for key in gate.store.keys().await? {
        let approves = key.scopes.iter().any(|s| s == Scope::Approve.as_str());
        if key.revoked || !approves || key.identity != identity {
            continue;
        }
        known = true;
        for role in key.roles {
            if !roles.contains(&role) {
                roles.push(role);
            }
        }
    }
    Ok(known.then_some(roles))
}

/// The identities the development sign-in offers: the directory's
/// approvers, else the identities of live keys with the `approve` scope.
pub async fn signin_identities(gate: &Gate) -> Result<Vec<(String, Vec<String>)>, GateError> {
    if let Some(trust) = gate.trust() {
        return Ok(trust
            .approvers()
            .iter()
            .map(|a| (a.id.clone(), a.roles.clone()))
            .collect());
    }
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for key in gate.store.keys().await? {
        if key.revoked || !key.scopes.iter().any(|s| s == Scope::Approve.as_str()) {
            continue;
        }
        match out.iter_mut().find(|(id, _)| *id == key.identity) {
            Some((_, roles)) => {
                for role in key.roles {
                    if !roles.contains(&role) {
                        roles.push(role);
                    }
                }
            }
            None => out.push((key.identity, key.roles)),
        }
    }
    out.sort();
    Ok(out)
}

/// Starts a session for `identity`: stores it and gives the cookie to set.
pub async fn begin(gate: &Gate, identity: &str, method: AuthMethod) -> Result<String, GateError> {
    let secret = random_token();
    let now = gate.now().unix_seconds();
    let ttl = gate.config.console.session_ttl_seconds;
    let row = SessionRow {
        hash: secret_hash(&secret),
        identity: identity.to_owned(),
        method: method_name(method).to_owned(),
        csrf: random_token(),
        created_unix: now,
        expires_unix: now.saturating_add(ttl),
    };
    gate.store.insert_session(&row, now).await?;
    Ok(set_cookie(SESSION_COOKIE, &secret, ttl))
}

fn method_name(method: AuthMethod) -> &'static str {
    match method {
        AuthMethod::DevSignIn => "dev_sign_in",
        AuthMethod::Oidc => "oidc",
        AuthMethod::ApiKey => "api_key",
    }
}

/// Why a page cannot be shown to the caller.
#[derive(Debug)]
pub enum NotSignedIn {
    /// No live session: to the sign-in page, then back.
    SignIn(String),
    /// The store failed (503 page).
    Failed(GateError),
}

impl IntoResponse for NotSignedIn {
    fn into_response(self) -> Response {
        match self {
            NotSignedIn::SignIn(next) => {
                let target = format!(
                    "/console/signin?next={}",
                    form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
                );
                let mut response = Redirect::to(&target).into_response();
                // A session that ended leaves its cookie behind; drop it.
                if let Ok(value) = clear_cookie(SESSION_COOKIE).parse() {
                    response.headers_mut().append(header::SET_COOKIE, value);
                }
                super::layout::secure_headers(response.headers_mut());
                response
            }
            NotSignedIn::Failed(e) => super::problem_page(e),
        }
    }
}

impl FromRequestParts<Arc<Gate>> for Reviewer {
    type Rejection = NotSignedIn;

    async fn from_request_parts(
        parts: &mut Parts,
        gate: &Arc<Gate>,
    ) -> Result<Reviewer, NotSignedIn> {
        // Only a console path is a place to come back to after sign-in.
        let next = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .filter(|p| p.starts_with("/console/") && !p.starts_with("//"))
            .unwrap_or_else(|| "/console/".into());
        let Some(secret) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(NotSignedIn::SignIn(next));
        };
        let now = gate.now().unix_seconds();
        let hash = secret_hash(secret);
        let row = gate
            .store
            .session(&hash, now)
            .await
            .map_err(NotSignedIn::Failed)?
            .ok_or_else(|| NotSignedIn::SignIn(next.clone()))?;
        // Someone taken out of the directory is signed out at once, for
        // good: the row goes, so putting them back later does not revive
        // a session they were signed out of.
        let Some(roles) = console_roles(gate, &row.identity)
            .await
            .map_err(NotSignedIn::Failed)?
        else {
            gate.store
                .delete_session(&hash)
                .await
                .map_err(NotSignedIn::Failed)?;
            return Err(NotSignedIn::SignIn(next));
        };
        let method = if row.method == "oidc" {
            AuthMethod::Oidc
        } else {
            AuthMethod::DevSignIn
        };
        // A development sign-in's session is good only where that sign-in
        // is: not after the service restarts with it off (or with OIDC),
        // not through a proxy or under another host name.
        if method == AuthMethod::DevSignIn && !super::dev_signin_allowed(gate, &parts.headers) {
            return Err(NotSignedIn::SignIn(next));
        }
        let principal = Principal {
            id: row.identity,
            roles,
            scopes: vec![Scope::Approve, Scope::Read],
            method,
            key_id: None,
        };
        gate.check_rate(&principal).map_err(NotSignedIn::Failed)?;
        Ok(Reviewer {
            principal,
            csrf: row.csrf,
            session_hash: hash,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    #[test]
    fn a_repeated_cookie_is_no_cookie() {
        let h = headers(&[("cookie", "a=1; __Host-gatehouse_session=x; b=2")]);
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("x"));
        let h = headers(&[
            ("cookie", "__Host-gatehouse_session=x"),
            ("cookie", "__Host-gatehouse_session=y"),
        ]);
        assert_eq!(cookie(&h, SESSION_COOKIE), None);
        let h = headers(&[("cookie", "x__Host-gatehouse_session=y")]);
        assert_eq!(cookie(&h, SESSION_COOKIE), None);
    }

    #[test]
    fn tokens_compare_whole() {
        assert!(same_token("abc", "abc"));
        assert!(!same_token("abc", "abd"));
        assert!(!same_token("abc", "ab"));
        assert!(!same_token("", ""));
    }
}

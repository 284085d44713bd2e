//! Who is calling, and what they may do: never from a request body.
//!
//! `Authorization: Bearer <token>` carries either an **API key**
//! (`ghk_<id>.<secret>`, made by `POST /v1/admin/keys` or printed once at
//! first start) or an **OIDC token** (a JWT verified against the trust
//! store's issuer, audience and JWKS file). The identity is the key's
//! identity or the token's identity claim; the roles come from the trust
//! store when one is configured (the approvers directory the policy owner
//! controls), else from the roles the admin gave the key. Scopes limit what
//! a key may do (`admin` holds every scope):
//!
//! | endpoint | needs |
//! |---|---|
//! | `POST /v1/decide` | `decide` |
//! | `POST /v1/requests` | `request` |
//! | `GET /v1/requests`, `GET /v1/requests/{id}` and its `/wait`, `/events`, `/audit` | any caller; `read`, `approve` and `execute` see every request, everyone else only their own (others answer 404) |
//! | `POST /v1/requests/{id}/decisions` | `approve` |
//! | `POST /v1/requests/{id}/cancel` | `request`, on one's own request (`admin`: any) |
//! | `POST /v1/requests/{id}/claim`, `/executed`, `/verified` | `execute` |
//! | `GET /v1/audit` | `read` |
//! | `/v1/admin/keys`, `/v1/admin/keys/{id}`, `/v1/admin/reload` | `admin` |
//! | `/health`, `/ready`, `/metrics`, `/v1/keys` | no credentials |
//!
//! `request` does not allow claiming, not even one's own `auto` request:
//! asking and executing are separate powers, so an agent that holds only
//! `request` can never cause an execution; an agent that does both holds
//! both scopes. A token from the identity provider holds `approve` and
//! `request`.
//!
//! Every failed authentication is 401 problem+json with
//! `WWW-Authenticate: Bearer`; an API key that is unknown, revoked or off by
//! one character gets the same answer. A refused OIDC token's `code` is the
//! engine's refusal code (`TOKEN_EXPIRED`, `BAD_ISSUER`, …). Callers are
//! rate limited per person ([`crate::rate`]).
//!
//! Secrets are stored only as SHA-256 hashes; a lookup compares hashes.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use rand_core::{OsRng, RngCore as _};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::error::GateError;
use crate::gate::Gate;
use crate::store::ApiKeyRow;

/// What a caller may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Stateless decisions.
    Decide,
    /// Create, read, wait on and cancel one's own requests.
    Request,
    /// Approve, reject, request changes.
    Approve,
    /// Claim and report execution.
    Execute,
    /// Read every request and the audit chain.
    Read,
    /// Everything.
    Admin,
}

impl Scope {
    /// Every scope.
    pub const ALL: [Scope; 6] = [
        Scope::Decide,
        Scope::Request,
        Scope::Approve,
        Scope::Execute,
        Scope::Read,
        Scope::Admin,
    ];

    /// Its name.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Decide => "decide",
            Scope::Request => "request",
            Scope::Approve => "approve",
            Scope::Execute => "execute",
            Scope::Read => "read",
            Scope::Admin => "admin",
        }
    }

    /// Reads a scope's name.
    pub fn parse(text: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// How the caller proved who they are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    /// An API key.
    ApiKey,
    /// An OIDC token (an API bearer token, or the console's OIDC sign-in).
    Oidc,
    /// The console's development sign-in (no proof at all: offered only
    /// where `[console] dev_signin` allows it, and recorded as such in
    /// every audit record the person causes).
    DevSignIn,
}

/// An authenticated caller.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Principal {
    /// Who: the key's identity or the token's identity claim.
    pub id: String,
    /// The roles they hold (from the trust store, else the key).
    pub roles: Vec<String>,
    /// What they may do.
    #[serde(skip)]
    pub scopes: Vec<Scope>,
    /// How they proved it.
    pub method: AuthMethod,
    /// The API key's public id, when it was one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
}

impl Principal {
    /// Whether they hold a scope (admin holds every one).
    pub fn can(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope) || self.scopes.contains(&Scope::Admin)
    }

    /// Refuses (403 `SCOPE_MISSING`) unless they hold one of `scopes`.
    pub fn require(&self, scopes: &[Scope]) -> Result<(), GateError> {
        if scopes.iter().any(|s| self.can(*s)) {
            return Ok(());
        }
        let names: Vec<_> = scopes.iter().map(|s| format!("`{}`", s.as_str())).collect();
        Err(GateError::forbidden(
            "SCOPE_MISSING",
            format!("this needs the scope {}", names.join(" or ")),
        ))
    }
}

/// The prefix of every API key.
pub const KEY_PREFIX: &str = "ghk_";

/// The longest bearer token read (an OIDC token included).
const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// A new API key: `(the text to give the holder once, the row to store)`.
pub fn new_key(
    identity: &str,
    scopes: &[Scope],
    roles: &[String],
    now: &str,
) -> (String, ApiKeyRow) {
    let mut id = [0u8; 6];
    let mut secret = [0u8; 32];
    OsRng.fill_bytes(&mut id);
    OsRng.fill_bytes(&mut secret);
    let id = format!("{KEY_PREFIX}{}", hex::encode(id));
    let text = format!("{id}.{}", hex::encode(secret));
    let row = ApiKeyRow {
        id,
        hash: key_hash(&text),
        identity: identity.to_owned(),
        scopes: scopes.iter().map(|s| s.as_str().to_owned()).collect(),
        roles: roles.to_vec(),
        created_at: now.to_owned(),
        revoked: false,
    };
    (text, row)
}

/// The stored hash of a key's text.
pub fn key_hash(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// Reads the bearer token of a request: `None` when there is no
/// `Authorization` header; an error when there is one that is not a
/// well-formed bearer token.
fn bearer(parts: &Parts) -> Result<Option<&str>, GateError> {
    let mut values = parts
        .headers
        .get_all(axum::http::header::AUTHORIZATION)
        .iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(GateError::unauthorized(
            "more than one Authorization header",
        ));
    }
    let text = value
        .to_str()
        .map_err(|_| GateError::unauthorized("the Authorization header is not visible ASCII"))?;
    if text.len() > MAX_TOKEN_BYTES {
        return Err(GateError::unauthorized("the bearer token is too long"));
    }
    let (scheme, token) = text.split_once(' ').ok_or_else(|| {
        GateError::unauthorized("the Authorization header is not `Bearer <token>`")
    })?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() || token.contains(' ') {
        return Err(GateError::unauthorized(
            "the Authorization header is not `Bearer <token>`",
        ));
    }
    Ok(Some(token))
}

/// The one answer to every API key that does not authenticate: unknown,
/// revoked, one character off, or not a key at all when no identity
/// provider is configured. Which of those it was is not told: a guesser
/// learns nothing about which part was wrong.
fn bad_key() -> GateError {
    GateError::unauthorized("the credentials are not a valid API key or token")
}

impl Gate {
    /// Authenticates a bearer token: an API key (`ghk_…`), else an OIDC
    /// token when the trust store has an `[oidc]` section.
    pub async fn authenticate(&self, token: &str) -> Result<Principal, GateError> {
        if token.starts_with(KEY_PREFIX) {
            // The cache holds only live keys (see key_cache.rs); a miss
            // reads the store, which stays the authority.
            let hash = key_hash(token);
            let row = match self.keys.get(&hash) {
                Ok(row) => row,
                Err(generation) => {
                    let row = self
                        .store
                        .key_by_hash(&hash)
                        .await?
                        .filter(|k| !k.revoked)
                        .map(Arc::new)
                        .ok_or_else(bad_key)?;
                    self.keys.insert(generation, row.clone());
                    row
                }
            };
            let scopes = row.scopes.iter().filter_map(|s| Scope::parse(s)).collect();
            // With a trust store, roles are the directory's (the policy
            // owner controls it), never the key's: an admin who makes a key
            // cannot grant a role the directory does not.
            let roles = match self.trust().as_ref() {
                // Exactly the directory's spelling, as at the console's
                // sign-in: `roles_of` folds look-alikes (`rnary` is `mary`),
                // right for separation of duties, wrong for granting roles.
                Some(store) => store
                    .approvers()
                    .iter()
                    .find(|a| a.id == row.identity)
                    .map(|a| a.roles.clone())
                    .unwrap_or_default(),
                None => row.roles.clone(),
            };
            return Ok(Principal {
                id: row.identity.clone(),
                roles,
                scopes,
                method: AuthMethod::ApiKey,
                key_id: Some(row.id.clone()),
            });
        }
        self.authenticate_oidc(token)
    }

    /// Authenticates an OIDC token against the trust store's provider.
    /// A refused token is 401 with the engine's refusal code as the
    /// problem's `code` (`TOKEN_EXPIRED`, `BAD_SIGNATURE`, …), the codes
    /// `gatehouse verify` gives for identity-token approvals.
    fn authenticate_oidc(&self, token: &str) -> Result<Principal, GateError> {
        let trust = self.trust();
        let Some(store) = trust.as_ref().filter(|s| s.oidc().is_some()) else {
            return Err(bad_key());
        };
        let (id, roles) = store
            .authenticate_bearer(token, self.now())
            .map_err(|r| GateError::new(401, r.code.as_str(), r.message))?;
        // Tokens carry no scopes of ours: a person signed in by the
        // identity provider reviews (approve, read their queue) and may
        // open requests of their own.
        Ok(Principal {
            id,
            roles,
            scopes: vec![Scope::Approve, Scope::Request],
            method: AuthMethod::Oidc,
            key_id: None,
        })
    }
}

/// The authenticated caller, as a handler argument: 401 without valid
/// credentials.
impl FromRequestParts<Arc<Gate>> for Principal {
    type Rejection = GateError;

    async fn from_request_parts(
        parts: &mut Parts,
        gate: &Arc<Gate>,
    ) -> Result<Principal, GateError> {
        let Some(token) = bearer(parts)? else {
            return Err(GateError::unauthorized(
                "no credentials: send `Authorization: Bearer <API key or OIDC token>`",
            ));
        };
        let principal = gate.authenticate(token).await?;
        gate.check_rate(&principal)?;
        Ok(principal)
    }
}

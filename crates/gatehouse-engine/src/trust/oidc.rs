//! Approvals proven by an OIDC identity token instead of a personal key.
//!
//! The credential is an envelope `{"payload": "<base64url>", "id_token":
//! "<JWT>"}`. The payload is an [`ApprovalPayload`]; the identity token is
//! issued by the identity provider the trust store names, and its `nonce`
//! claim is the lowercase hex SHA-256 of the decoded payload bytes
//! ([`payload_nonce`]). The provider's signature thus proves the person
//! *and* binds them to this one payload: a token cannot be reused for
//! another approval.
//!
//! Checks, all offline against the store's JWKS file: the header's `alg`
//! is one the store allows and the key its `kid` names pins no other; the
//! signature; `iss`; `aud`; the token was valid at the approval's
//! `given_at` (`nbf`/`iat` - leeway <= given_at < `exp` + leeway) and was
//! not issued after the verification time; the `nonce`; the identity claim
//! names the approver (compared as `same_identity` does). Roles are the
//! store's mapping of the token's groups.

use std::collections::HashSet;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Validation, decode, decode_header};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};

use super::jws::{ApprovalPayload, decode_segment, payload_nonce, read_payload, strict_json};
use super::refusal::{Refusal, RefusalCode, from_serde};
use super::store::OidcConfig;
use super::{MAX_CREDENTIAL_BYTES, same_identity};
use crate::values::Timestamp;

/// An approval payload with the identity token that vouches for it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcEnvelope {
    /// The approval payload JSON, base64url without padding.
    pub payload: String,
    /// The identity token (a JWT) whose `nonce` is the payload's SHA-256.
    pub id_token: String,
}

/// Verifies an envelope: the approval payload and the roles the store
/// maps the token's groups to.
pub(crate) fn verify(
    envelope: &OidcEnvelope,
    config: Option<&OidcConfig>,
    now: Timestamp,
) -> Result<(ApprovalPayload, Vec<String>), Refusal> {
    let size = envelope.payload.len() + envelope.id_token.len();
    if size > MAX_CREDENTIAL_BYTES {
        return Err(Refusal::new(
            RefusalCode::Oversized,
            format!("the approval is {size} bytes; the limit is {MAX_CREDENTIAL_BYTES}"),
        ));
    }
    let Some(config) = config else {
        return Err(Refusal::new(
            RefusalCode::OidcNotConfigured,
            "an identity-token approval, but the trust store has no [oidc] section",
        ));
    };
    let claims = decode_token(envelope.id_token.as_str(), config)?;

    let payload_bytes = decode_segment("payload", &envelope.payload)?;
    let nonce = claims.get("nonce").and_then(Json::as_str);
    let expected = payload_nonce(&payload_bytes);
    if nonce != Some(expected.as_str()) {
        return Err(Refusal::new(
            RefusalCode::NonceMismatch,
            "the identity token's `nonce` is not the SHA-256 of this approval's payload",
        ));
    }
    let payload = read_payload(&payload_bytes)?;

    let given = Timestamp::parse(&payload.given_at).map_or(i64::MIN, |t| t.unix_seconds());
    let leeway = i64::try_from(config.leeway_seconds).unwrap_or(0);
    let claim_time = |name: &str| claims.get(name).and_then(Json::as_i64);
    let exp = claim_time("exp").ok_or_else(|| {
        Refusal::new(
            RefusalCode::MissingClaim,
            "the identity token's `exp` is not an integer",
        )
    })?;
    if given >= exp.saturating_add(leeway) {
        return Err(Refusal::new(
            RefusalCode::TokenExpired,
            format!(
                "the identity token had expired when the approval was given ({})",
                payload.given_at
            ),
        ));
    }
    for name in ["nbf", "iat"] {
        if let Some(start) = claim_time(name) {
            if given < start.saturating_sub(leeway) {
                return Err(Refusal::new(
                    RefusalCode::TokenNotYetValid,
                    format!("the approval was given before the identity token's `{name}`"),
                ));
            }
            if now.unix_seconds() < start.saturating_sub(leeway) {
                return Err(Refusal::new(
                    RefusalCode::TokenNotYetValid,
                    format!("the identity token's `{name}` is after the verification time"),
                ));
            }
        }
    }

    let identity = claims
        .get(&config.identity_claim)
        .and_then(Json::as_str)
        .ok_or_else(|| {
            Refusal::new(
                RefusalCode::MissingClaim,
                format!(
                    "the identity token has no string claim `{}`",
                    config.identity_claim
                ),
            )
        })?;
    if !same_identity(identity, &payload.approver) {
        return Err(Refusal::new(
            RefusalCode::IdentityMismatch,
            format!(
                "the approval names `{}` but the identity token proves `{identity}`",
                payload.approver
            ),
        ));
    }
    let roles = roles_of_claims(&claims, config);
    Ok((payload, roles))
}

/// Checks an identity token's form, algorithm, key, signature, issuer and
/// audience (not its times: callers judge those against their own clock)
/// and gives its claims.
fn decode_token(token: &str, config: &OidcConfig) -> Result<Map<String, Json>, Refusal> {
    // The claims segment is read strictly first (duplicate keys, depth):
    // the JWT library would take the last of two `nonce`s silently.
    let mut parts = token.split('.');
    let (Some(header_b64), Some(claims_b64), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Refusal::new(
            RefusalCode::Malformed,
            "the identity token is not a compact JWS (three segments)",
        ));
    };
    let header_json = strict_json(
        "identity token header",
        &decode_segment("identity token header", header_b64)?,
    )?;
    // Judged on the text, before the JWT library (which cannot even name
    // `none`): only the algorithms the store lists.
    let alg = header_json.get("alg").and_then(Json::as_str).unwrap_or("");
    if !config.algorithms.iter().any(|a| format!("{a:?}") == alg) {
        return Err(Refusal::new(
            RefusalCode::UnsupportedAlg,
            format!("identity token algorithm `{alg}` is not accepted by the trust store"),
        ));
    }
    strict_json(
        "identity token claims",
        &decode_segment("identity token claims", claims_b64)?,
    )?;
    let header = decode_header(token).map_err(|e| map_error("identity token header", &e))?;
    if !config.algorithms.contains(&header.alg) {
        return Err(Refusal::new(
            RefusalCode::UnsupportedAlg,
            format!(
                "identity token algorithm `{:?}` is not accepted by the trust store",
                header.alg
            ),
        ));
    }
    let Some(kid) = header.kid else {
        return Err(Refusal::new(
            RefusalCode::UnknownKey,
            "the identity token names no key (`kid`)",
        ));
    };
    let Some((_, pinned, key)) = config.keys.iter().find(|(k, _, _)| *k == kid) else {
        return Err(Refusal::new(
            RefusalCode::UnknownKey,
            format!("no key `{kid}` in the trust store's JWKS"),
        ));
    };
    if pinned.is_some_and(|p| p != header.alg) {
        return Err(Refusal::new(
            RefusalCode::UnsupportedAlg,
            format!(
                "key `{kid}` is for another algorithm than `{:?}`",
                header.alg
            ),
        ));
    }
    let mut validation = Validation::new(header.alg);
    validation.algorithms = vec![header.alg];
    // Times are checked below against the approval's own time, not the
    // system clock (verification takes its time as an argument).
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.leeway = 0;
    validation.required_spec_claims = ["exp", "iss", "aud"]
        .iter()
        .map(|s| s.to_string())
        .collect::<HashSet<_>>();
    validation.set_issuer(&[config.issuer.as_str()]);
    validation.set_audience(&[config.audience.as_str()]);
    Ok(decode::<Map<String, Json>>(token, key, &validation)
        .map_err(|e| map_error("identity token", &e))?
        .claims)
}

/// The roles the store maps a token's groups to.
fn roles_of_claims(claims: &Map<String, Json>, config: &OidcConfig) -> Vec<String> {
    let mut roles: Vec<String> = Vec::new();
    let groups: Vec<&str> = match claims.get(&config.groups_claim) {
        Some(Json::Array(items)) => items.iter().filter_map(Json::as_str).collect(),
        Some(Json::String(one)) => vec![one.as_str()],
        _ => Vec::new(),
    };
    for group in groups {
        for role in config.groups.get(group).into_iter().flatten() {
            if !roles.contains(role) {
                roles.push(role.clone());
            }
        }
    }
    roles
}

/// Authenticates a bearer token (an OIDC ID or access token sent to the
/// gate service): the checks of [`decode_token`], then `exp` after `now`
/// and `nbf`/`iat` not after it (both within the store's leeway). Gives
/// the identity claim and the roles the store maps its groups to.
pub(crate) fn authenticate_bearer(
    token: &str,
    config: &OidcConfig,
    now: Timestamp,
) -> Result<(String, Vec<String>), Refusal> {
    if token.len() > MAX_CREDENTIAL_BYTES {
        return Err(Refusal::new(
            RefusalCode::Oversized,
            format!(
                "the token is {} bytes; the limit is {MAX_CREDENTIAL_BYTES}",
                token.len()
            ),
        ));
    }
    let claims = decode_token(token, config)?;
    let leeway = i64::try_from(config.leeway_seconds).unwrap_or(0);
    let now = now.unix_seconds();
    let claim_time = |name: &str| claims.get(name).and_then(Json::as_i64);
    let exp = claim_time("exp").ok_or_else(|| {
        Refusal::new(
            RefusalCode::MissingClaim,
            "the token's `exp` is not an integer",
        )
    })?;
    if now >= exp.saturating_add(leeway) {
        return Err(Refusal::new(
            RefusalCode::TokenExpired,
            "the token has expired",
        ));
    }
    for name in ["nbf", "iat"] {
        if claim_time(name).is_some_and(|start| now < start.saturating_sub(leeway)) {
            return Err(Refusal::new(
                RefusalCode::TokenNotYetValid,
                format!("the token's `{name}` is in the future"),
            ));
        }
    }
    let identity = claims
        .get(&config.identity_claim)
        .and_then(Json::as_str)
        .filter(|id| !crate::identity::is_blank(id))
        .ok_or_else(|| {
            Refusal::new(
                RefusalCode::MissingClaim,
                format!("the token has no string claim `{}`", config.identity_claim),
            )
        })?;
    Ok((identity.to_owned(), roles_of_claims(&claims, config)))
}

/// Reads an envelope object strictly (unknown or duplicate fields refused).
pub(crate) fn read_envelope(value: &Json) -> Result<OidcEnvelope, Refusal> {
    serde_json::from_value(value.clone()).map_err(|e| from_serde("identity-token approval", &e))
}

fn map_error(what: &str, e: &jsonwebtoken::errors::Error) -> Refusal {
    let code = match e.kind() {
        ErrorKind::InvalidSignature => RefusalCode::BadSignature,
        ErrorKind::InvalidAlgorithm
        | ErrorKind::InvalidAlgorithmName
        | ErrorKind::MissingAlgorithm => RefusalCode::UnsupportedAlg,
        ErrorKind::InvalidIssuer => RefusalCode::BadIssuer,
        ErrorKind::InvalidAudience => RefusalCode::BadAudience,
        ErrorKind::ExpiredSignature => RefusalCode::TokenExpired,
        ErrorKind::ImmatureSignature => RefusalCode::TokenNotYetValid,
        ErrorKind::MissingRequiredClaim(_) => RefusalCode::MissingClaim,
        _ => RefusalCode::Malformed,
    };
    Refusal::new(code, format!("{what}: {e}"))
}

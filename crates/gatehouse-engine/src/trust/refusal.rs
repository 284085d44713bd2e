//! Why a credential was refused: one stable code per cause.

use serde::{Deserialize, Serialize};

/// The stable reason code of a refused credential. The codes are part of
/// the interface (scripts match on them); they are never reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum RefusalCode {
    /// A plain approval record (no signature) while unsigned approvals are
    /// not allowed.
    Unsigned,
    /// Larger than [`MAX_CREDENTIAL_BYTES`](super::MAX_CREDENTIAL_BYTES).
    Oversized,
    /// Not a credential: wrong shape, bad base64url, bad JSON, trailing data.
    Malformed,
    /// A JSON object in the credential names one key twice.
    DuplicateKey,
    /// A header or payload field that the format does not define (including
    /// `roles`: roles come from the trust store, never from the approval).
    UnknownField,
    /// An algorithm other than the ones allowed (`none`, `HS256`, ...).
    UnsupportedAlg,
    /// A JWS `typ` other than `gatehouse-approval+jws`.
    WrongType,
    /// The payload is well-formed JSON but not a valid approval: both or
    /// neither of `action_digest` / `action_digests`, a bad timestamp, an
    /// empty approver.
    BadPayload,
    /// No key of the trust store has this key id.
    UnknownKey,
    /// The signature does not verify with the key named.
    BadSignature,
    /// The approver named in the payload is not the identity the key (or
    /// the identity token) belongs to.
    IdentityMismatch,
    /// The approval was given for another policy set (another digest).
    PolicyMismatch,
    /// An OIDC credential, but the trust store has no `[oidc]` section.
    OidcNotConfigured,
    /// The identity token's issuer is not the configured one.
    BadIssuer,
    /// The identity token's audience does not include the configured one.
    BadAudience,
    /// The identity token had expired when the approval was given.
    TokenExpired,
    /// The identity token was not yet valid when the approval was given,
    /// or was issued after the verification time.
    TokenNotYetValid,
    /// The identity token's `nonce` is not the SHA-256 of the payload.
    NonceMismatch,
    /// The identity token lacks a claim the trust store requires.
    MissingClaim,
    /// A credential signed by a `[[gate]]` key names an approver the trust
    /// store does not list: a gate vouches only for the store's approvers.
    UnknownApprover,
}

impl RefusalCode {
    /// The code as written in results (`BAD_SIGNATURE`).
    pub fn as_str(self) -> &'static str {
        match self {
            RefusalCode::Unsigned => "UNSIGNED",
            RefusalCode::Oversized => "OVERSIZED",
            RefusalCode::Malformed => "MALFORMED",
            RefusalCode::DuplicateKey => "DUPLICATE_KEY",
            RefusalCode::UnknownField => "UNKNOWN_FIELD",
            RefusalCode::UnsupportedAlg => "UNSUPPORTED_ALG",
            RefusalCode::WrongType => "WRONG_TYPE",
            RefusalCode::BadPayload => "BAD_PAYLOAD",
            RefusalCode::UnknownKey => "UNKNOWN_KEY",
            RefusalCode::BadSignature => "BAD_SIGNATURE",
            RefusalCode::IdentityMismatch => "IDENTITY_MISMATCH",
            RefusalCode::PolicyMismatch => "POLICY_MISMATCH",
            RefusalCode::OidcNotConfigured => "OIDC_NOT_CONFIGURED",
            RefusalCode::BadIssuer => "BAD_ISSUER",
            RefusalCode::BadAudience => "BAD_AUDIENCE",
            RefusalCode::TokenExpired => "TOKEN_EXPIRED",
            RefusalCode::TokenNotYetValid => "TOKEN_NOT_YET_VALID",
            RefusalCode::NonceMismatch => "NONCE_MISMATCH",
            RefusalCode::MissingClaim => "MISSING_CLAIM",
            RefusalCode::UnknownApprover => "UNKNOWN_APPROVER",
        }
    }
}

impl std::fmt::Display for RefusalCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A refused credential: the code and a human message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    /// The stable reason code.
    pub code: RefusalCode,
    /// What exactly was wrong (lowercase, user input in backticks).
    pub message: String,
}

impl Refusal {
    /// A refusal with this code and message.
    pub fn new(code: RefusalCode, message: impl Into<String>) -> Refusal {
        Refusal {
            code,
            message: message.into(),
        }
    }
}

/// Classifies a serde_json error from a strict (`deny_unknown_fields`)
/// struct: unknown and duplicate fields get their own codes, the rest is
/// malformed.
pub(crate) fn from_serde(what: &str, e: &serde_json::Error) -> Refusal {
    let text = e.to_string();
    let code = if text.starts_with("unknown field") {
        RefusalCode::UnknownField
    } else if text.starts_with("duplicate field") {
        RefusalCode::DuplicateKey
    } else {
        RefusalCode::Malformed
    };
    Refusal::new(code, format!("{what}: {text}"))
}

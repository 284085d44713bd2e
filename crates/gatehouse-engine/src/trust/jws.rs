//! Signed approvals: JWS compact serialization (RFC 7515) with Ed25519
//! (`alg: EdDSA`, RFC 8037).
//!
//! A signed approval is three base64url segments (no padding) joined by
//! dots: `header.payload.signature`. The header is exactly
//! `{"alg":"EdDSA","typ":"gatehouse-approval+jws","kid":"ed25519:<key>"}`;
//! the payload is an [`ApprovalPayload`]; the signature is Ed25519 over the
//! ASCII bytes `header.payload`, as RFC 7515 section 5.1 says.
//!
//! Parsing is strict and never panics: anything but three canonical
//! base64url segments, a header or payload with a duplicate key, an unknown
//! field or trailing data, an algorithm other than `EdDSA`, or a token over
//! [`MAX_CREDENTIAL_BYTES`] is refused with its own code.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::MAX_CREDENTIAL_BYTES;
use super::refusal::{Refusal, RefusalCode, from_serde};
use crate::audit::verify::{Approval, ApprovalKind};
use crate::values::Timestamp;

/// The JWS `typ` of a signed approval.
pub const APPROVAL_TYPE: &str = "gatehouse-approval+jws";
/// The only JWS algorithm accepted for signed approvals.
pub const ALGORITHM: &str = "EdDSA";
/// The prefix of a public key written as text (`ed25519:<base64url>`).
pub const KEY_PREFIX: &str = "ed25519:";

/// What an approver signs: one decision about named actions under one
/// policy set, in a validity window. Roles are deliberately absent: who
/// holds which role comes from the trust store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalPayload {
    /// Who gives it (an identity of the trust store).
    pub approver: String,
    /// `approve` or `reject`.
    pub decision: ApprovalKind,
    /// Their written reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The digest of the one action approved. Exactly one of
    /// `action_digest` and `action_digests` is present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_digest: Option<String>,
    /// A batch: the digests of several actions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_digests: Option<Vec<String>>,
    /// The digest of the policy set it was given under
    /// ([`Policy::digest`](crate::Policy::digest)).
    pub policy_digest: String,
    /// When it was given (RFC 3339).
    pub given_at: String,
    /// When it stops being valid (RFC 3339); required: a credential has a
    /// validity window.
    pub expires_at: String,
}

impl ApprovalPayload {
    /// Checks what JSON cannot: exactly one way of naming the actions, a
    /// non-blank approver, timestamps that parse and a window that is not
    /// empty.
    pub fn validate(&self) -> Result<(), Refusal> {
        let bad = |m: &str| Err(Refusal::new(RefusalCode::BadPayload, m));
        if crate::identity::is_blank(&self.approver) {
            return bad("the approver is blank");
        }
        match (&self.action_digest, &self.action_digests) {
            (Some(_), Some(_)) => {
                return bad("both `action_digest` and `action_digests`: name the actions one way");
            }
            (None, None) => return bad("neither `action_digest` nor `action_digests`"),
            (None, Some(list)) if list.is_empty() => return bad("`action_digests` is empty"),
            _ => {}
        }
        let (Some(given), Some(expires)) = (
            Timestamp::parse(&self.given_at),
            Timestamp::parse(&self.expires_at),
        ) else {
            return bad("`given_at` and `expires_at` must be RFC 3339 timestamps");
        };
        if expires <= given {
            return bad("`expires_at` is not after `given_at`");
        }
        Ok(())
    }

    /// The approval record `Policy::verify` checks, with the roles the
    /// trust store gives this approver.
    pub fn into_approval(self, roles: Vec<String>) -> Approval {
        Approval {
            approver: self.approver,
            roles,
            decision: self.decision,
            reason: self.reason,
            action_digest: self.action_digest,
            action_digests: self.action_digests.unwrap_or_default(),
            given_at: self.given_at,
            expires_at: Some(self.expires_at),
        }
    }
}

/// The JWS protected header of a signed approval.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    alg: String,
    typ: String,
    kid: String,
}

/// A public key as written in the trust store and in `kid`:
/// `ed25519:` and the 32 key bytes in base64url without padding.
pub fn public_key_text(key: &VerifyingKey) -> String {
    format!("{KEY_PREFIX}{}", URL_SAFE_NO_PAD.encode(key.as_bytes()))
}

/// Reads a public key written as [`public_key_text`] does.
pub fn parse_public_key(text: &str) -> Result<VerifyingKey, String> {
    let b64 = text
        .strip_prefix(KEY_PREFIX)
        .ok_or_else(|| format!("`{text}` does not start with `{KEY_PREFIX}`"))?;
    let bytes = URL_SAFE_NO_PAD
        .decode(b64)
        .map_err(|e| format!("`{text}` is not base64url without padding: {e}"))?;
    let bytes: [u8; 32] = bytes
        .try_into()
        .map_err(|_| format!("`{text}` is not 32 bytes"))?;
    VerifyingKey::from_bytes(&bytes).map_err(|e| format!("`{text}` is not an Ed25519 key: {e}"))
}

/// Signs a payload with an approver's key: the compact JWS.
pub fn sign(payload: &ApprovalPayload, key: &SigningKey) -> Result<String, serde_json::Error> {
    let header = Header {
        alg: ALGORITHM.to_owned(),
        typ: APPROVAL_TYPE.to_owned(),
        kid: public_key_text(&key.verifying_key()),
    };
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header)?),
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(payload)?)
    );
    let signature = key.sign(signing_input.as_bytes());
    Ok(format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature.to_bytes())
    ))
}

/// A compact JWS split and its header read, not yet verified.
pub(crate) struct Parsed<'t> {
    /// The key id of the header.
    pub kid: String,
    signing_input: &'t str,
    /// Decoded, not yet read: JSON is read only from signed bytes.
    payload: Vec<u8>,
    signature: Signature,
}

/// Splits and decodes a compact JWS, checking its header. Nothing here is
/// trusted yet: the signature is checked by [`Parsed::verify`].
pub(crate) fn parse(token: &str) -> Result<Parsed<'_>, Refusal> {
    if token.len() > MAX_CREDENTIAL_BYTES {
        return Err(Refusal::new(
            RefusalCode::Oversized,
            format!(
                "the approval is {} bytes; the limit is {MAX_CREDENTIAL_BYTES}",
                token.len()
            ),
        ));
    }
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Refusal::new(
            RefusalCode::Malformed,
            "not a compact JWS: expected three base64url segments joined by `.`",
        ));
    };
    let header_bytes = decode_segment("header", h)?;
    let header_json = strict_json("header", &header_bytes)?;
    // The algorithm is judged before the rest of the header so that
    // `alg: none` or `HS256` is named as such whatever else is there.
    if let Some(alg) = header_json.get("alg")
        && alg.as_str() != Some(ALGORITHM)
    {
        return Err(Refusal::new(
            RefusalCode::UnsupportedAlg,
            format!("algorithm {alg} is not accepted; signed approvals use `{ALGORITHM}`"),
        ));
    }
    let header: Header =
        serde_json::from_value(header_json).map_err(|e| from_serde("header", &e))?;
    if header.typ != APPROVAL_TYPE {
        return Err(Refusal::new(
            RefusalCode::WrongType,
            format!("`typ` is `{}`, not `{APPROVAL_TYPE}`", header.typ),
        ));
    }
    // Every segment's encoding is checked before the signature, so that a
    // malformed token is named as such rather than as a bad signature.
    let payload = decode_segment("payload", p)?;
    let sig_bytes = decode_segment("signature", s)?;
    let signature = Signature::from_slice(&sig_bytes).map_err(|_| {
        Refusal::new(
            RefusalCode::Malformed,
            "the signature is not 64 bytes (Ed25519)",
        )
    })?;
    let signing_input = token.get(..h.len() + 1 + p.len()).unwrap_or_default();
    Ok(Parsed {
        kid: header.kid,
        signing_input,
        payload,
        signature,
    })
}

impl Parsed<'_> {
    /// Verifies the signature with `key` (strict Ed25519: no malleable or
    /// small-order signatures), then reads the payload strictly.
    pub(crate) fn verify(&self, key: &VerifyingKey) -> Result<ApprovalPayload, Refusal> {
        key.verify_strict(self.signing_input.as_bytes(), &self.signature)
            .map_err(|_| {
                Refusal::new(
                    RefusalCode::BadSignature,
                    format!("the signature does not verify with key `{}`", self.kid),
                )
            })?;
        read_payload(&self.payload)
    }
}

/// Reads payload bytes into an [`ApprovalPayload`], strictly.
pub(crate) fn read_payload(bytes: &[u8]) -> Result<ApprovalPayload, Refusal> {
    let value = strict_json("payload", bytes)?;
    let payload: ApprovalPayload =
        serde_json::from_value(value).map_err(|e| from_serde("payload", &e))?;
    payload.validate()?;
    Ok(payload)
}

/// The lowercase hex SHA-256 of payload bytes: the `nonce` an OIDC
/// identity token carries to bind itself to one approval.
pub fn payload_nonce(payload_bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(payload_bytes))
}

pub(crate) fn decode_segment(what: &str, segment: &str) -> Result<Vec<u8>, Refusal> {
    URL_SAFE_NO_PAD.decode(segment).map_err(|e| {
        Refusal::new(
            RefusalCode::Malformed,
            format!("the {what} is not base64url without padding: {e}"),
        )
    })
}

/// JSON text to a value, refusing duplicate keys, excess depth and
/// trailing data.
pub(crate) fn strict_json(what: &str, bytes: &[u8]) -> Result<serde_json::Value, Refusal> {
    if let Err(errors) = crate::input::check_json_structure(bytes) {
        let text = crate::input::describe(&errors);
        let code = if text.contains("duplicate key") {
            RefusalCode::DuplicateKey
        } else {
            RefusalCode::Malformed
        };
        return Err(Refusal::new(code, format!("{what}: {text}")));
    }
    serde_json::from_slice(bytes)
        .map_err(|e| Refusal::new(RefusalCode::Malformed, format!("{what} is not JSON: {e}")))
}

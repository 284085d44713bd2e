//! Approvals as credentials: who approved is proven, and which roles they
//! hold comes from a trust store the policy owner controls.
//!
//! [`Policy::verify`] checks approvals as records: whatever roles a record
//! claims, it has. This module puts authentication in front of it. A
//! [`Credential`] is a signed approval (a compact JWS signed with the
//! approver's Ed25519 key, see [`jws`]) or an approval payload vouched for
//! by an OIDC identity token (see [`oidc`]). [`TrustStore::authenticate`]
//! checks, in this order:
//!
//! 1. the credential's form (size, encoding, header, algorithm);
//! 2. the key: it must be in the store, and the signature must verify;
//! 3. key -> identity: the approver the payload names is the person the
//!    store lists that key for (or the identity token proves); a key of a
//!    `[[gate]]` (a gate service that authenticated the approver) vouches
//!    only for an approver the store lists;
//! 4. identity -> roles: from the store only (an approval cannot claim a
//!    role; a `roles` field is an unknown field);
//! 5. the policy digest equals the policy being verified;
//!
//! and [`Policy::verify_signed`] then runs everything `Policy::verify`
//! checks (action digest, expiry, eligibility, separation of duties, ...)
//! on the approvals that passed. A refused credential counts for nothing,
//! approve or reject, and is reported with its own code ([`RefusalCode`]).
//!
//! ```
//! use gatehouse::{Policy, audit::verify::{ApprovalKind, Verdict, VerifyOptions}};
//! use gatehouse::trust::{Credential, SignedVerifyOptions, TrustStore, jws};
//! use gatehouse::values::Timestamp;
//!
//! let policy = Policy::from_source("refunds.gate", r#"
//!     policy "refunds" version "1"
//!     schema { action.type: enum { refund }  action.amount: number }
//!     role support_lead
//!     tier 3 "financial" { outcome explicit  approve support_lead  timeout 24h then reject }
//!     default tier 3 because NO_RULE_MATCHED
//! "#).expect("the policy compiles");
//! let action = serde_json::json!({ "action": { "type": "refund", "amount": 250 } });
//!
//! // The approver's key (from `gatehouse keygen`) and the owner's store.
//! let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
//! let store = TrustStore::from_toml(&format!(
//!     "[[approver]]\nid = \"alice\"\nroles = [\"support_lead\"]\nkeys = [\"{}\"]\n",
//!     jws::public_key_text(&key.verifying_key())
//! ), None).expect("a valid store");
//!
//! // What `gatehouse approve` signs.
//! let payload = jws::ApprovalPayload {
//!     approver: "alice".into(),
//!     decision: ApprovalKind::Approve,
//!     reason: Some("customer verified".into()),
//!     action_digest: policy.evaluate(&action).action_digest,
//!     action_digests: None,
//!     policy_digest: policy.digest().into(),
//!     given_at: "2026-11-22T09:30:00Z".into(),
//!     expires_at: "2026-11-22T21:30:00Z".into(),
//! };
//! let token = jws::sign(&payload, &key).expect("signs");
//!
//! let options = SignedVerifyOptions::new(
//!     VerifyOptions::new(Timestamp::parse("2026-11-22T10:00:00Z").unwrap())
//!         .with_requested_at(Timestamp::parse("2026-11-22T09:00:00Z")),
//! );
//! let v = policy.verify_signed(&action, &[Credential::Jws(token.clone())], &store, &options);
//! assert_eq!(v.verification.verdict, Verdict::Execute);
//!
//! // One changed character of the signed text: refused, nothing counted.
//! let mut forged = token.into_bytes();
//! forged[40] ^= 1;
//! let forged = String::from_utf8(forged).unwrap();
//! let v = policy.verify_signed(&action, &[Credential::Jws(forged)], &store, &options);
//! assert_eq!(v.verification.verdict, Verdict::Pending);
//! assert_eq!(v.authentication.refused.len(), 1);
//! ```

pub mod jws;
pub mod oidc;
mod refusal;
pub mod store;

#[cfg(test)]
mod gate_tests;

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

pub use refusal::{Refusal, RefusalCode};
pub use store::{Approver, GateKeys, StoreError, TrustStore};

use crate::Policy;
use crate::audit::verify::{Approval, Verification, VerifyOptions, VerifyReason};
use crate::values::Timestamp;

/// Largest credential (one signed approval, or one payload plus identity
/// token), in bytes. A real one is under 2 KiB.
pub const MAX_CREDENTIAL_BYTES: usize = 16 * 1024;
/// Largest trust store file read, in bytes.
pub const MAX_TRUST_FILE_BYTES: u64 = 1024 * 1024;
/// Largest JWKS file read, in bytes.
pub const MAX_JWKS_FILE_BYTES: u64 = 1024 * 1024;
/// Largest approvals file read, in bytes (the engine's input limit).
pub const MAX_APPROVALS_FILE_BYTES: u64 = crate::limits::MAX_INPUT_BYTES as u64;

/// Whether two identities are the same person, for every comparison this
/// module makes (store identity vs. claimed approver, duplicate identities
/// in the store): after [`crate::identity::normalize`], as separation of
/// duties compares them, so `Alice` and a look-alike of her are one person.
fn same_identity(a: &str, b: &str) -> bool {
    crate::identity::same_person(a, b)
}

/// Reads a whole file only after checking it is a regular file no larger
/// than `limit` bytes, and never reads more than `limit + 1` bytes (the
/// file may grow between the check and the read).
pub fn read_bounded(path: &Path, limit: u64) -> Result<String, String> {
    // One bounded reader for every file gatehouse reads: it refuses FIFOs,
    // devices and directories without blocking on them.
    crate::input::read_file_limited(path, usize::try_from(limit).unwrap_or(usize::MAX))
        .map_err(|e| e.to_string())
}

/// One entry of an approvals file.
#[derive(Clone, Debug, PartialEq)]
pub enum Credential {
    /// A signed approval: compact JWS, `alg: EdDSA`.
    Jws(String),
    /// An approval payload vouched for by an OIDC identity token.
    Oidc(oidc::OidcEnvelope),
    /// A plain record: accepted only with `allow_unsigned`.
    Unsigned(Approval),
    /// An entry that is none of these, with why.
    Invalid(Refusal),
}

impl Credential {
    /// Reads one entry of an approvals file: a string is a signed approval,
    /// an object with `id_token` an OIDC envelope, another object a plain
    /// record. Never fails: what cannot be read is [`Credential::Invalid`].
    pub fn from_json(value: &Json) -> Credential {
        match value {
            Json::String(token) => Credential::Jws(token.clone()),
            Json::Object(map) if map.contains_key("id_token") => match oidc::read_envelope(value) {
                Ok(envelope) => Credential::Oidc(envelope),
                Err(refusal) => Credential::Invalid(refusal),
            },
            Json::Object(_) => match serde_json::from_value::<Approval>(value.clone()) {
                Ok(approval) => Credential::Unsigned(approval),
                Err(e) => Credential::Invalid(refusal::from_serde("approval record", &e)),
            },
            other => Credential::Invalid(Refusal::new(
                RefusalCode::Malformed,
                format!(
                    "an approval is a signed token (string) or an object, not {}",
                    kind(other)
                ),
            )),
        }
    }

    /// Reads an approvals document: a list of entries. An empty document
    /// (an empty YAML file, which reads as `null`: the README's flow appends
    /// approvals with `>>` to a file that may not have any yet) is no
    /// approval at all; that can only leave the action pending.
    pub fn list_from_json(value: &Json) -> Result<Vec<Credential>, String> {
        match value {
            Json::Array(items) => Ok(items.iter().map(Credential::from_json).collect()),
            Json::Null => Ok(Vec::new()),
            other => Err(format!(
                "the approvals must be a list of entries, found {}",
                kind(other)
            )),
        }
    }

    /// Whether this entry claims a signature (a JWS or an identity token).
    pub fn is_signed(&self) -> bool {
        matches!(self, Credential::Jws(_) | Credential::Oidc(_))
    }
}

fn kind(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "a list",
        Json::Object(_) => "an object",
    }
}

/// How an accepted approval was authenticated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Method {
    /// A JWS signed with an Ed25519 key of the trust store.
    Ed25519,
    /// An identity token from the trust store's OIDC issuer.
    Oidc,
    /// Not authenticated: a plain record accepted by `allow_unsigned`.
    Unsigned,
    /// A JWS signed by a `[[gate]]` key of the trust store (the gate
    /// service authenticated the approver; roles from the store).
    Gate,
}

/// An approval that passed authentication.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accepted {
    /// Its position in the approvals list (from 0).
    pub index: usize,
    /// Who gave it.
    pub approver: String,
    /// How it was proven.
    pub method: Method,
    /// The key id (`ed25519:...`, the approver's or the gate's) or the
    /// token issuer; absent when unsigned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The roles it counts in (from the trust store, or claimed when
    /// unsigned).
    pub roles: Vec<String>,
}

/// A credential that was refused: it counts for nothing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refused {
    /// Its position in the approvals list (from 0).
    pub index: usize,
    /// The stable reason code.
    pub code: RefusalCode,
    /// What was wrong.
    pub message: String,
}

/// What authentication did, as recorded in the result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Authentication {
    /// Whether plain (unsigned) records were accepted. Only for tests:
    /// anyone who can write the approvals file is then any approver.
    pub allow_unsigned: bool,
    /// The approvals that passed, in list order.
    pub accepted: Vec<Accepted>,
    /// The credentials refused, in list order.
    pub refused: Vec<Refused>,
}

/// The result of [`Policy::verify_signed`]: the verification, with what
/// authentication accepted and refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedVerification {
    /// The verification of the accepted approvals (refusals are also
    /// listed in its `reasons`).
    #[serde(flatten)]
    pub verification: Verification,
    /// The authentication step.
    pub authentication: Authentication,
}

/// Options of [`Policy::verify_signed`].
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct SignedVerifyOptions {
    /// The options of the verification proper.
    pub verify: VerifyOptions,
    /// Accept plain records with the roles they claim (tests only).
    pub allow_unsigned: bool,
}

impl SignedVerifyOptions {
    /// Signed approvals only.
    pub fn new(verify: VerifyOptions) -> SignedVerifyOptions {
        SignedVerifyOptions {
            verify,
            allow_unsigned: false,
        }
    }

    /// Whether plain (unsigned) records count, with the roles they claim.
    #[must_use]
    pub fn with_allow_unsigned(mut self, allow: bool) -> SignedVerifyOptions {
        self.allow_unsigned = allow;
        self
    }
}

impl TrustStore {
    /// Authenticates one credential for `policy` at time `now`: the
    /// approval with the roles this store gives its approver, or why not.
    pub fn authenticate(
        &self,
        policy: &Policy,
        credential: &Credential,
        now: Timestamp,
    ) -> Result<(Approval, Method, Option<String>), Refusal> {
        let (payload, roles, method, key) = match credential {
            Credential::Invalid(refusal) => return Err(refusal.clone()),
            Credential::Unsigned(approval) => {
                return Err(Refusal::new(
                    RefusalCode::Unsigned,
                    format!(
                        "the approval by `{}` is not signed (roles in an approval are never trusted)",
                        approval.approver
                    ),
                ));
            }
            Credential::Jws(token) => {
                let parsed = jws::parse(token)?;
                if let Some((key, gate)) = self.gate_key(&parsed.kid) {
                    let (payload, roles) = self.vouched(&parsed, key, gate)?;
                    (payload, roles, Method::Gate, Some(parsed.kid))
                } else {
                    let Some((key, owner)) = self.key(&parsed.kid) else {
                        return Err(Refusal::new(
                            RefusalCode::UnknownKey,
                            format!(
                                "no approver or gate of the trust store holds key `{}`",
                                parsed.kid
                            ),
                        ));
                    };
                    let mut payload = parsed.verify(key)?;
                    if !same_identity(&owner.id, &payload.approver) {
                        return Err(Refusal::new(
                            RefusalCode::IdentityMismatch,
                            format!(
                                "the approval names `{}` but is signed with the key of `{}`",
                                payload.approver, owner.id
                            ),
                        ));
                    }
                    // The person is who the store says holds the key: results and
                    // audit records name them as the store spells them, whatever
                    // look-alike spelling the signer wrote.
                    payload.approver.clone_from(&owner.id);
                    let roles = owner.roles.clone();
                    (payload, roles, Method::Ed25519, Some(parsed.kid))
                }
            }
            Credential::Oidc(envelope) => {
                let (payload, roles) = oidc::verify(envelope, self.oidc(), now)?;
                let issuer = self.oidc().map(|o| o.issuer.clone());
                (payload, roles, Method::Oidc, issuer)
            }
        };
        if payload.policy_digest != policy.digest() {
            return Err(Refusal::new(
                RefusalCode::PolicyMismatch,
                format!(
                    "the approval by `{}` was given under policy `{}`, not this one (`{}`)",
                    payload.approver,
                    payload.policy_digest,
                    policy.digest()
                ),
            ));
        }
        Ok((payload.into_approval(roles), method, key))
    }

    /// A credential signed by a gate's key: the signature must verify, and
    /// the approver it names must be listed in this store. The person and
    /// roles are the store's (a gate vouches for who authenticated to it,
    /// never for more than the store says).
    fn vouched(
        &self,
        parsed: &jws::Parsed<'_>,
        key: &ed25519_dalek::VerifyingKey,
        gate: &store::GateKeys,
    ) -> Result<(jws::ApprovalPayload, Vec<String>), Refusal> {
        let mut payload = parsed.verify(key)?;
        let Some(approver) = self.approver(&payload.approver) else {
            return Err(Refusal::new(
                RefusalCode::UnknownApprover,
                format!(
                    "the approval by `{}` is signed by gate `{}`, but the trust store does not list `{}` as an approver",
                    payload.approver, gate.id, payload.approver
                ),
            ));
        };
        payload.approver.clone_from(&approver.id);
        Ok((payload, approver.roles.clone()))
    }

    /// Authenticates every credential: the approvals to verify, and the
    /// record of what was accepted and refused.
    pub fn authenticate_all(
        &self,
        policy: &Policy,
        credentials: &[Credential],
        options: &SignedVerifyOptions,
    ) -> (Vec<Approval>, Authentication) {
        let mut approvals = Vec::new();
        let mut auth = Authentication {
            allow_unsigned: options.allow_unsigned,
            accepted: Vec::new(),
            refused: Vec::new(),
        };
        for (index, credential) in credentials.iter().enumerate() {
            let result = match credential {
                Credential::Unsigned(approval) if options.allow_unsigned => {
                    Ok((approval.clone(), Method::Unsigned, None))
                }
                _ => self.authenticate(policy, credential, options.verify.now),
            };
            match result {
                Ok((approval, method, key)) => {
                    auth.accepted.push(Accepted {
                        index,
                        approver: approval.approver.clone(),
                        method,
                        key,
                        roles: approval.roles.clone(),
                    });
                    approvals.push(approval);
                }
                Err(refusal) => auth.refused.push(Refused {
                    index,
                    code: refusal.code,
                    message: refusal.message,
                }),
            }
        }
        (approvals, auth)
    }
}

impl Policy {
    /// Verifies credentials for an action: authenticates each against the
    /// trust store ([`TrustStore::authenticate`]), then runs
    /// [`Policy::verify`] on the approvals that passed. Each refused
    /// credential is also listed in the verification's `reasons` with its
    /// code (`BAD_SIGNATURE`, `UNKNOWN_KEY`, ...).
    pub fn verify_signed(
        &self,
        input: &Json,
        credentials: &[Credential],
        store: &TrustStore,
        options: &SignedVerifyOptions,
    ) -> SignedVerification {
        // Over the cap, or a request time after now: refused before any
        // credential is authenticated (authenticating 100 000+ signatures
        // is the expensive part).
        if let Some(verification) =
            self.refuse_before_reading(input, credentials.len(), &options.verify)
        {
            return SignedVerification {
                verification,
                authentication: Authentication {
                    allow_unsigned: options.allow_unsigned,
                    accepted: Vec::new(),
                    refused: Vec::new(),
                },
            };
        }
        let (approvals, authentication) = store.authenticate_all(self, credentials, options);
        let mut verification = self.verify(input, &approvals, &options.verify);
        let refusals = authentication.refused.iter().map(|r| VerifyReason {
            code: r.code.as_str().to_owned(),
            message: format!("approval #{} refused: {}", r.index + 1, r.message),
            approver: None,
        });
        let mut reasons: Vec<VerifyReason> = refusals.collect();
        reasons.append(&mut verification.reasons);
        verification.reasons = reasons;
        SignedVerification {
            verification,
            authentication,
        }
    }
}

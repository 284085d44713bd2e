//! The trust store: who may approve, with which keys, in which roles.
//!
//! The policy owner keeps it next to the policy set (`approvers.toml`). It
//! is the only source of roles for signed approvals: an approval names its
//! approver, the store says which keys prove that person and which roles
//! they hold.
//!
//! ```toml
//! [[approver]]
//! id = "alice"
//! roles = ["support_lead"]
//! keys = ["ed25519:Zm9vYmFyZm9vYmFyZm9vYmFyZm9vYmFyZm9vYmFyMTI"]
//!
//! [[gate]]                       # optional: a gate service that signs
//! id = "gatehouse-prod"          # approval credentials for the approvers
//! keys = ["ed25519:…"]           # above (its GET /v1/keys)
//!
//! [oidc]                         # optional: identity tokens from an IdP
//! issuer = "https://login.example.com"
//! audience = "gatehouse"
//! jwks = "jwks.json"             # relative to this file; never fetched
//! algorithms = ["RS256", "EdDSA"]
//! identity_claim = "email"       # default `sub`
//! groups_claim = "groups"        # default `groups`
//! leeway_seconds = 60            # default 60, at most 300
//! [oidc.groups]
//! "finance-approvers" = ["finance_manager"]
//! ```
//!
//! A `[[gate]]` key vouches for who authenticated to the gate service, and
//! for nothing more: a credential it signed counts only for an approver
//! this store lists, with the roles this store gives them (never roles the
//! gate saw); an approver the store does not list is refused.
//!
//! Validation is strict and reports every problem at once: unknown keys,
//! a blank or duplicate identity (compared as `same_identity` does), a key
//! that is malformed or listed twice (for one identity or for two), an
//! unsupported or symmetric algorithm, a JWKS key without `kid` or with a
//! duplicate one. Roles the policy does not declare are warnings
//! ([`TrustStore::undeclared_roles`]): one store may serve several policy
//! sets, and a role unknown to a policy never satisfies any of its groups.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use ed25519_dalek::VerifyingKey;
use jsonwebtoken::{Algorithm, DecodingKey, jwk::JwkSet};
use serde::Deserialize;

use super::jws::parse_public_key;
use super::{MAX_JWKS_FILE_BYTES, MAX_TRUST_FILE_BYTES, read_bounded};
use crate::Policy;

/// One approver of the directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Approver {
    /// Their identity, as approvals name it.
    pub id: String,
    /// The roles they hold.
    pub roles: Vec<String>,
    /// Their Ed25519 public keys, as text (`ed25519:<base64url>`).
    pub keys: Vec<String>,
}

/// A gate service whose signing key vouches for approvals given through it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GateKeys {
    /// The gate's name (for messages and results).
    pub id: String,
    /// Its Ed25519 public keys, as text (`ed25519:<base64url>`).
    pub keys: Vec<String>,
}

/// Identity tokens (OIDC) accepted, and how their groups map to roles.
#[derive(Clone)]
pub struct OidcConfig {
    /// The required `iss`.
    pub issuer: String,
    /// The required member of `aud`.
    pub audience: String,
    /// Accepted token algorithms (asymmetric only).
    pub algorithms: Vec<Algorithm>,
    /// The claim naming the person (`sub` by default).
    pub identity_claim: String,
    /// The claim listing their groups (`groups` by default).
    pub groups_claim: String,
    /// Group name -> roles.
    pub groups: BTreeMap<String, Vec<String>>,
    /// Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds.
    pub leeway_seconds: u64,
    /// The issuer's keys by `kid`, with the `alg` the JWK pins, if any.
    pub(crate) keys: Vec<(String, Option<Algorithm>, DecodingKey)>,
}

impl std::fmt::Debug for OidcConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcConfig")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("algorithms", &self.algorithms)
            .field("identity_claim", &self.identity_claim)
            .field("groups_claim", &self.groups_claim)
            .field("groups", &self.groups)
            .field("leeway_seconds", &self.leeway_seconds)
            .field("keys", &self.keys.len())
            .finish()
    }
}

/// The approvers directory and the accepted identity provider.
#[derive(Clone, Debug, Default)]
pub struct TrustStore {
    approvers: Vec<Approver>,
    /// Key text, key, index into `approvers`.
    keys: Vec<(String, VerifyingKey, usize)>,
    /// Key text to its index in `keys`: a lookup per approval, not a scan.
    key_index: HashMap<String, usize>,
    /// Each approver's identity under [`crate::identity::normalize`] to its
    /// index in `approvers`: one normalization per entry, so a store at its
    /// size cap loads in linear time.
    people: HashMap<String, usize>,
    /// The gate services trusted to vouch for approvers.
    gates: Vec<GateKeys>,
    /// Gate key text to the key and the index of its gate in `gates`.
    gate_keys: HashMap<String, (VerifyingKey, usize)>,
    oidc: Option<OidcConfig>,
}

/// A trust store that cannot be used: every problem found.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid trust store `{source_name}`:\n  {}", problems.join("\n  "))]
pub struct StoreError {
    /// The file (or `<memory>`).
    pub source_name: String,
    /// Each problem, one line each.
    pub problems: Vec<String>,
}

/// Most clock skew a store may allow, in seconds.
pub const MAX_LEEWAY_SECONDS: u64 = 300;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StoreFile {
    #[serde(default)]
    approver: Vec<ApproverEntry>,
    #[serde(default)]
    gate: Vec<GateEntry>,
    #[serde(default)]
    oidc: Option<OidcSection>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GateEntry {
    id: String,
    keys: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ApproverEntry {
    id: String,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    keys: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OidcSection {
    issuer: String,
    audience: String,
    jwks: String,
    #[serde(default)]
    algorithms: Option<Vec<String>>,
    #[serde(default)]
    identity_claim: Option<String>,
    #[serde(default)]
    groups_claim: Option<String>,
    #[serde(default)]
    groups: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    leeway_seconds: Option<u64>,
}

impl TrustStore {
    /// A store that trusts nobody.
    pub fn empty() -> TrustStore {
        TrustStore::default()
    }

    /// Reads `approvers.toml` (at most [`MAX_TRUST_FILE_BYTES`]) and the
    /// JWKS file it names, relative to its own directory (at most
    /// [`MAX_JWKS_FILE_BYTES`]).
    pub fn load(path: &Path) -> Result<TrustStore, StoreError> {
        let name = path.display().to_string();
        let fail = |m: String| StoreError {
            source_name: name.clone(),
            problems: vec![m],
        };
        let text = read_bounded(path, MAX_TRUST_FILE_BYTES).map_err(fail)?;
        let file = parse_file(&text).map_err(&fail)?;
        let jwks = match &file.oidc {
            Some(oidc) => {
                let jwks_path = path
                    .parent()
                    .unwrap_or_else(|| Path::new("."))
                    .join(&oidc.jwks);
                Some(read_bounded(&jwks_path, MAX_JWKS_FILE_BYTES).map_err(fail)?)
            }
            None => None,
        };
        build(file, jwks.as_deref(), &name)
    }

    /// Reads a store from TOML text; `jwks` is the text of the JWKS file
    /// when the store has an `[oidc]` section (its `jwks` path is not read).
    pub fn from_toml(text: &str, jwks: Option<&str>) -> Result<TrustStore, StoreError> {
        let name = "<memory>";
        if text.len() as u64 > MAX_TRUST_FILE_BYTES {
            return Err(StoreError {
                source_name: name.into(),
                problems: vec![format!(
                    "the trust store is {} bytes; the limit is {MAX_TRUST_FILE_BYTES}",
                    text.len()
                )],
            });
        }
        let file = parse_file(text).map_err(|m| StoreError {
            source_name: name.into(),
            problems: vec![m],
        })?;
        build(file, jwks, name)
    }

    /// The approvers of the directory.
    pub fn approvers(&self) -> &[Approver] {
        &self.approvers
    }

    /// The gate services trusted to sign approvals for the store's
    /// approvers.
    pub fn gates(&self) -> &[GateKeys] {
        &self.gates
    }

    /// The gate that holds the key `kid`, if any.
    pub(crate) fn gate_key(&self, kid: &str) -> Option<(&VerifyingKey, &GateKeys)> {
        self.gate_keys
            .get(kid)
            .and_then(|(key, i)| self.gates.get(*i).map(|g| (key, g)))
    }

    /// The approver the store lists under this identity (compared as
    /// [`crate::identity::normalize`] compares).
    pub(crate) fn approver(&self, identity: &str) -> Option<&Approver> {
        self.people
            .get(&crate::identity::normalize(identity))
            .and_then(|i| self.approvers.get(*i))
    }

    /// The identity-token configuration, if any.
    pub fn oidc(&self) -> Option<&OidcConfig> {
        self.oidc.as_ref()
    }

    /// The approver that holds the key `kid` (`ed25519:<base64url>`).
    pub(crate) fn key(&self, kid: &str) -> Option<(&VerifyingKey, &Approver)> {
        self.key_index
            .get(kid)
            .and_then(|k| self.keys.get(*k))
            .and_then(|(_, key, i)| self.approvers.get(*i).map(|a| (key, a)))
    }

    /// Authenticates a bearer token sent to the gate service: an OIDC
    /// token from the store's provider (signature, issuer, audience,
    /// `exp`/`nbf`/`iat` at `now`). Gives the identity it proves and the
    /// roles the store maps its groups to; refused when the store has no
    /// `[oidc]` section.
    pub fn authenticate_bearer(
        &self,
        token: &str,
        now: crate::values::Timestamp,
    ) -> Result<(String, Vec<String>), super::Refusal> {
        let Some(config) = self.oidc.as_ref() else {
            return Err(super::Refusal::new(
                super::RefusalCode::OidcNotConfigured,
                "the trust store has no [oidc] section",
            ));
        };
        super::oidc::authenticate_bearer(token, config, now)
    }

    /// The roles of an identity in the directory (empty when unknown).
    pub fn roles_of(&self, identity: &str) -> Vec<String> {
        self.people
            .get(&crate::identity::normalize(identity))
            .and_then(|i| self.approvers.get(*i))
            .map(|a| a.roles.clone())
            .unwrap_or_default()
    }

    /// Warnings for roles the store grants that `policy` does not declare.
    pub fn undeclared_roles(&self, policy: &Policy) -> Vec<String> {
        let declared: Vec<&str> = policy
            .checked()
            .roles
            .iter()
            .map(|r| r.name.as_str())
            .collect();
        let mut out = Vec::new();
        let mut note = |role: &str, whose: String| {
            if !declared.contains(&role) {
                out.push(format!(
                    "role `{role}` ({whose}) is not declared by policy `{}`: it satisfies none of its groups",
                    policy.name()
                ));
            }
        };
        for a in &self.approvers {
            for r in &a.roles {
                note(r, format!("approver `{}`", a.id));
            }
        }
        if let Some(oidc) = &self.oidc {
            for (group, roles) in &oidc.groups {
                for r in roles {
                    note(r, format!("OIDC group `{group}`"));
                }
            }
        }
        out
    }
}

fn parse_file(text: &str) -> Result<StoreFile, String> {
    toml::from_str(text).map_err(|e| e.to_string().trim_end().replace('\n', "\n  "))
}

fn parse_algorithm(name: &str) -> Result<Algorithm, String> {
    match name {
        "RS256" => Ok(Algorithm::RS256),
        "RS384" => Ok(Algorithm::RS384),
        "RS512" => Ok(Algorithm::RS512),
        "PS256" => Ok(Algorithm::PS256),
        "PS384" => Ok(Algorithm::PS384),
        "PS512" => Ok(Algorithm::PS512),
        "ES256" => Ok(Algorithm::ES256),
        "ES384" => Ok(Algorithm::ES384),
        "EdDSA" => Ok(Algorithm::EdDSA),
        other => Err(format!(
            "algorithm `{other}` is not accepted: use RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384 or EdDSA (never `none` or a shared-secret HS algorithm)"
        )),
    }
}

fn build(file: StoreFile, jwks: Option<&str>, name: &str) -> Result<TrustStore, StoreError> {
    let mut problems = Vec::new();
    let mut store = TrustStore::default();
    for (i, entry) in file.approver.into_iter().enumerate() {
        let n = i + 1;
        if crate::identity::is_blank(&entry.id) {
            problems.push(format!("approver #{n}: `id` is blank"));
            continue;
        }
        let person = crate::identity::normalize(&entry.id);
        if let Some(first) = store
            .people
            .get(&person)
            .and_then(|i| store.approvers.get(*i))
        {
            problems.push(format!(
                "approver #{n}: identity `{}` is already listed (as `{}`): list each person once",
                entry.id, first.id
            ));
            continue;
        }
        if entry.roles.iter().any(|r| r.trim().is_empty()) {
            problems.push(format!("approver `{}`: a role is blank", entry.id));
        }
        let index = store.approvers.len();
        store.people.insert(person, index);
        for text in &entry.keys {
            match parse_public_key(text) {
                Ok(key) if key.is_weak() => problems.push(format!(
                    "approver `{}`: key `{text}` is a weak (small-order) Ed25519 key",
                    entry.id
                )),
                Ok(key) => {
                    if let Some((_, _, owner)) =
                        store.key_index.get(text).and_then(|k| store.keys.get(*k))
                    {
                        let owner = store
                            .approvers
                            .get(*owner)
                            .map_or(entry.id.as_str(), |a| a.id.as_str());
                        problems.push(format!(
                            "approver `{}`: key `{text}` is already listed for `{owner}`: a key proves one person",
                            entry.id
                        ));
                    } else {
                        store.key_index.insert(text.clone(), store.keys.len());
                        store.keys.push((text.clone(), key, index));
                    }
                }
                Err(e) => problems.push(format!("approver `{}`: {e}", entry.id)),
            }
        }
        store.approvers.push(Approver {
            id: entry.id,
            roles: entry.roles,
            keys: entry.keys,
        });
    }
    build_gates(&mut store, file.gate, &mut problems);
    if let Some(section) = file.oidc {
        match build_oidc(section, jwks) {
            Ok(oidc) => store.oidc = Some(oidc),
            Err(mut p) => problems.append(&mut p),
        }
    }
    if problems.is_empty() {
        Ok(store)
    } else {
        Err(StoreError {
            source_name: name.to_owned(),
            problems,
        })
    }
}

/// Reads the `[[gate]]` tables: a non-blank id listed once, at least one
/// key, each a valid (not weak) Ed25519 key that no approver and no other
/// gate holds (a key proves one signer).
fn build_gates(store: &mut TrustStore, entries: Vec<GateEntry>, problems: &mut Vec<String>) {
    for (i, entry) in entries.into_iter().enumerate() {
        let n = i + 1;
        if entry.id.trim().is_empty() {
            problems.push(format!("gate #{n}: `id` is blank"));
            continue;
        }
        if store.gates.iter().any(|g| g.id == entry.id) {
            problems.push(format!(
                "gate #{n}: `{}` is already listed: list each gate once",
                entry.id
            ));
            continue;
        }
        if entry.keys.is_empty() {
            problems.push(format!("gate `{}`: `keys` is empty", entry.id));
        }
        let index = store.gates.len();
        for text in &entry.keys {
            match parse_public_key(text) {
                Ok(key) if key.is_weak() => problems.push(format!(
                    "gate `{}`: key `{text}` is a weak (small-order) Ed25519 key",
                    entry.id
                )),
                Ok(key) => {
                    if store.key_index.contains_key(text) || store.gate_keys.contains_key(text) {
                        problems.push(format!(
                            "gate `{}`: key `{text}` is already listed: a key proves one signer",
                            entry.id
                        ));
                    } else {
                        store.gate_keys.insert(text.clone(), (key, index));
                    }
                }
                Err(e) => problems.push(format!("gate `{}`: {e}", entry.id)),
            }
        }
        store.gates.push(GateKeys {
            id: entry.id,
            keys: entry.keys,
        });
    }
}

fn build_oidc(section: OidcSection, jwks: Option<&str>) -> Result<OidcConfig, Vec<String>> {
    let mut problems = Vec::new();
    if section.issuer.trim().is_empty() {
        problems.push("[oidc]: `issuer` is blank".to_owned());
    }
    if section.audience.trim().is_empty() {
        problems.push("[oidc]: `audience` is blank".to_owned());
    }
    let names = section
        .algorithms
        .unwrap_or_else(|| vec!["RS256".to_owned(), "EdDSA".to_owned()]);
    if names.is_empty() {
        problems.push("[oidc]: `algorithms` is empty".to_owned());
    }
    let mut algorithms = Vec::new();
    for n in &names {
        match parse_algorithm(n) {
            Ok(a) => algorithms.push(a),
            Err(e) => problems.push(format!("[oidc]: {e}")),
        }
    }
    let leeway_seconds = section.leeway_seconds.unwrap_or(60);
    if leeway_seconds > MAX_LEEWAY_SECONDS {
        problems.push(format!(
            "[oidc]: `leeway_seconds` is {leeway_seconds}; at most {MAX_LEEWAY_SECONDS}"
        ));
    }
    let mut keys: Vec<(String, Option<Algorithm>, DecodingKey)> = Vec::new();
    match jwks.map(serde_json::from_str::<JwkSet>) {
        None => problems.push(format!(
            "[oidc]: the JWKS file `{}` was not given",
            section.jwks
        )),
        Some(Err(e)) => problems.push(format!("JWKS `{}`: {e}", section.jwks)),
        Some(Ok(set)) => {
            for (i, jwk) in set.keys.iter().enumerate() {
                let Some(kid) = jwk.common.key_id.clone() else {
                    problems.push(format!("JWKS key #{}: no `kid`", i + 1));
                    continue;
                };
                if keys.iter().any(|(k, _, _)| *k == kid) {
                    problems.push(format!("JWKS: key id `{kid}` is listed twice"));
                    continue;
                }
                if let Err(e) = check_jwk(&jwk.algorithm) {
                    problems.push(format!("JWKS key `{kid}`: {e}"));
                    continue;
                }
                let pinned = match jwk.common.key_algorithm {
                    None => None,
                    Some(ka) => match parse_algorithm(&format!("{ka:?}")) {
                        Ok(a) => Some(a),
                        Err(e) => {
                            problems.push(format!("JWKS key `{kid}`: {e}"));
                            continue;
                        }
                    },
                };
                match DecodingKey::from_jwk(jwk) {
                    Ok(key) => keys.push((kid, pinned, key)),
                    Err(e) => problems.push(format!("JWKS key `{kid}`: {e}")),
                }
            }
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(OidcConfig {
        issuer: section.issuer,
        audience: section.audience,
        algorithms,
        identity_claim: section.identity_claim.unwrap_or_else(|| "sub".to_owned()),
        groups_claim: section.groups_claim.unwrap_or_else(|| "groups".to_owned()),
        groups: section.groups,
        leeway_seconds,
        keys,
    })
}

/// Refuses JWK parameters the token library would trust too far: shared
/// secrets, an Ed25519 `x` that is not exactly one valid key (the library
/// slices its first 32 bytes: a shorter one would panic, a longer one be
/// cut), and RSA moduli under 2048 bits.
fn check_jwk(params: &jsonwebtoken::jwk::AlgorithmParameters) -> Result<(), String> {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve};
    match params {
        AlgorithmParameters::OctetKey(_) => {
            Err("a shared-secret (`oct`) key cannot prove an identity".to_owned())
        }
        AlgorithmParameters::OctetKeyPair(okp) => {
            if okp.curve != EllipticCurve::Ed25519 {
                return Err("an OKP key must be on curve Ed25519".to_owned());
            }
            let bytes = URL_SAFE_NO_PAD
                .decode(&okp.x)
                .map_err(|e| format!("`x` is not base64url without padding: {e}"))?;
            let bytes: [u8; 32] = bytes
                .try_into()
                .map_err(|_| "`x` is not 32 bytes".to_owned())?;
            VerifyingKey::from_bytes(&bytes)
                .map(|_| ())
                .map_err(|e| format!("`x` is not an Ed25519 key: {e}"))
        }
        AlgorithmParameters::RSA(rsa) => {
            let n = URL_SAFE_NO_PAD
                .decode(&rsa.n)
                .map_err(|e| format!("`n` is not base64url without padding: {e}"))?;
            let bits = n
                .iter()
                .position(|b| *b != 0)
                .map_or(0, |i| (n.len() - i) * 8);
            if bits < 2048 {
                return Err(format!(
                    "an RSA key of about {bits} bits; at least 2048 are needed"
                ));
            }
            Ok(())
        }
        AlgorithmParameters::EllipticCurve(_) => Ok(()),
    }
}

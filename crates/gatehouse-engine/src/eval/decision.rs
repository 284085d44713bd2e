//! The decision: what the engine answers for one action. Field names are a
//! stable JSON contract, documented in docs/decisions.md and schemas/decision.schema.json.

use serde::{Deserialize, Serialize};

pub use crate::syntax::ast::Outcome;

/// The answer for one proposed action.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Decision {
    /// auto, queue, explicit, dual or block.
    pub outcome: Outcome,
    /// The risk tier the action was placed in, if any.
    pub tier: Option<TierRef>,
    /// Every reason code, in order: matched rules first, then the engine's own.
    pub reasons: Vec<Reason>,
    /// Every rule that matched (and `default` when it applied).
    pub rules: Vec<MatchedRule>,
    /// Who must approve; `null` for auto and block.
    pub approvals: Option<ApprovalRequirement>,
    /// Evidence required and missing.
    pub evidence: EvidenceStatus,
    /// When a pending approval expires, and what happens then.
    pub timeout: Option<TimeoutInfo>,
    /// Conditions that must hold when the action executes.
    pub conditions: Vec<Condition>,
    /// What is wrong with the input, when the outcome is block for INVALID_INPUT.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub input_errors: Vec<InputError>,
    /// The exact policy that decided.
    pub policy: PolicyRef,
    /// `sha256:<hex>` of the input's canonical form (RFC 8785): approvals
    /// bind to it. `null` when the input could not be read at all.
    #[serde(default)]
    pub action_digest: Option<String>,
    /// Sampled review after the fact: present when the outcome is `auto`
    /// and the tier or a matching rule says `sample N% for review`; absent
    /// otherwise. Whether this action is sampled is a pure function of the
    /// rate and the action digest (and the sample key, when one is set), so
    /// replay reproduces it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample: Option<SampleInfo>,
}

impl Decision {
    /// Whether a reason with this code was given.
    pub fn has_reason(&self, code: &str) -> bool {
        self.reasons.iter().any(|r| r.code == code)
    }

    /// The reason codes, in order, without duplicates.
    pub fn reason_codes(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for r in &self.reasons {
            if !out.contains(&r.code.as_str()) {
                out.push(&r.code);
            }
        }
        out
    }
}

/// The sampled-review share that applies to an `auto` decision, and
/// whether this action fell in it.
///
/// JSON: `{"rate": "5%", "ppm": 50000, "sampled": true, "rule": "small_refund", "tier": 1}`
/// (`rule` is `null` when the tier's own rate applies).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SampleInfo {
    /// The share as written in the policy, e.g. `5%` or `0.5%`.
    pub rate: String,
    /// The same share in parts per million (5% is 50 000): the exact value
    /// the draw is compared with.
    pub ppm: u32,
    /// Whether this action is sampled for review after the fact.
    pub sampled: bool,
    /// The rule whose `sample` clause set the rate (the highest rate of the
    /// tier's and every matching rule's wins; ties: the tier, then the
    /// first rule in source order). `None`: the tier's own.
    pub rule: Option<String>,
    /// The decision's tier.
    pub tier: Option<u32>,
}

/// A tier, by number and name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TierRef {
    /// Tier number.
    pub id: u32,
    /// Tier name.
    pub name: String,
}

/// One reason code with its message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Reason {
    /// UPPER_SNAKE code.
    pub code: String,
    /// Human message.
    pub message: String,
    /// The rule that gave it (`default` for the default); `null` for the
    /// engine's own codes (EVIDENCE_MISSING, INVALID_INPUT, ...).
    pub rule: Option<String>,
}

/// A rule that matched.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MatchedRule {
    /// Rule name (`default` for the default).
    pub name: String,
    /// `file:line:col` of the rule's name.
    pub location: String,
    /// Whether what this rule asked for on its own equals the final outcome.
    pub determining: bool,
    /// The outcome this rule asked for on its own.
    pub outcome: Outcome,
    /// The tier it placed the action in.
    pub tier: Option<u32>,
    /// Its reason codes.
    pub reasons: Vec<String>,
}

/// Who must approve, and under which constraints.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ApprovalRequirement {
    /// Total approvals needed (at least 2 for dual).
    pub count: u32,
    /// Each group needs `count` approvals from any of its roles; all groups
    /// must be satisfied.
    pub groups: Vec<ApproverGroup>,
    /// Identities that may not approve this action.
    pub forbidden_approvers: Vec<ForbiddenApprover>,
    /// Approvers must be different people.
    pub distinct_people: bool,
    /// Approvers must hold different roles.
    pub distinct_roles: bool,
}

/// `count` approvals from any of `roles`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ApproverGroup {
    /// Eligible roles.
    pub roles: Vec<ApproverRole>,
    /// Approvals needed from them.
    pub count: u32,
}

/// An eligible approver role.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ApproverRole {
    /// Role name.
    pub name: String,
    /// Human title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The role's approval limit, e.g. `action.amount <= 10000`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<String>,
    /// The role this one replaced because the action exceeded its limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalated_from: Option<String>,
}

/// An identity excluded from approving.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ForbiddenApprover {
    /// The attribute that names it, e.g. `requester.id`.
    pub attribute: String,
    /// Its value in this action (`null` when absent).
    pub identity: Option<String>,
}

/// Evidence required by the tier and the matched rules, and what is missing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub struct EvidenceStatus {
    /// Every field required.
    pub required: Vec<String>,
    /// Required fields absent, null or empty in the input.
    pub missing: Vec<String>,
    /// What missing evidence does: block, or queue where the tier softens it.
    pub on_missing: Option<Outcome>,
}

/// A pending-approval timeout.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TimeoutInfo {
    /// As written, e.g. `24h`.
    pub after: String,
    /// In seconds.
    pub seconds: i64,
    /// `now + after`, when the caller gave `now`.
    pub expires_at: Option<String>,
    /// What happens at expiry.
    pub on_expiry: ExpiryInfo,
}

/// What happens when a pending approval expires.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ExpiryInfo {
    /// escalate, reject or block.
    pub action: String,
    /// The role it escalates to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

/// A condition that must hold at execution.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Condition {
    /// As written in the policy.
    pub condition: String,
    /// Whether it holds for this input now; `null` for conditions a human
    /// attests to (written as text).
    pub holds: Option<bool>,
}

/// One problem with the input document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct InputError {
    /// JSON path, e.g. `$.action.amount`.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// The policy that decided.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PolicyRef {
    /// Name from the header.
    pub name: String,
    /// Version from the header.
    pub version: String,
    /// `sha256:<hex>` of the policy sources.
    pub digest: String,
}

// Constructors for the parts a caller outside the engine builds (the
// structs are `#[non_exhaustive]`, so fields can be added without breaking
// anyone; these keep building them possible).

impl InputError {
    /// An input error at a JSON path (`$.action.amount`).
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> InputError {
        InputError {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl PolicyRef {
    /// A policy by name, version and digest.
    pub fn new(
        name: impl Into<String>,
        version: impl Into<String>,
        digest: impl Into<String>,
    ) -> PolicyRef {
        PolicyRef {
            name: name.into(),
            version: version.into(),
            digest: digest.into(),
        }
    }
}

impl ApproverRole {
    /// A role by name, with no title, limit or escalation.
    pub fn new(name: impl Into<String>) -> ApproverRole {
        ApproverRole {
            name: name.into(),
            title: None,
            limit: None,
            escalated_from: None,
        }
    }
}

impl ApproverGroup {
    /// `count` approvals from any of `roles`.
    pub fn new(roles: Vec<ApproverRole>, count: u32) -> ApproverGroup {
        ApproverGroup { roles, count }
    }
}

impl ApprovalRequirement {
    /// `count` approvals in `groups` (none: any authorized reviewer), with no
    /// forbidden approver and no distinctness rule.
    pub fn new(count: u32, groups: Vec<ApproverGroup>) -> ApprovalRequirement {
        ApprovalRequirement {
            count,
            groups,
            forbidden_approvers: Vec::new(),
            distinct_people: false,
            distinct_roles: false,
        }
    }

    /// Whether the approvals must come from distinct people.
    #[must_use]
    pub fn with_distinct_people(mut self, distinct: bool) -> ApprovalRequirement {
        self.distinct_people = distinct;
        self
    }

    /// Whether the approvals must come from distinct roles.
    #[must_use]
    pub fn with_distinct_roles(mut self, distinct: bool) -> ApprovalRequirement {
        self.distinct_roles = distinct;
        self
    }
}

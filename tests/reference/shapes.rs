//! The reference evaluator's own decision types: the same fields and JSON as
//! the engine's (`gatehouse::eval::Decision` and its parts), written out here
//! so that the reference builds its answer without the engine's structs
//! (which are `#[non_exhaustive]`: only the engine constructs them). The
//! answer reaches the engine's type through its JSON, the public contract,
//! so a field the two disagree on fails the differential test rather than
//! hiding.

use gatehouse::Outcome;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Decision {
    pub outcome: Outcome,
    pub tier: Option<TierRef>,
    pub reasons: Vec<Reason>,
    pub rules: Vec<MatchedRule>,
    pub approvals: Option<ApprovalRequirement>,
    pub evidence: EvidenceStatus,
    pub timeout: Option<TimeoutInfo>,
    pub conditions: Vec<Condition>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub input_errors: Vec<InputError>,
    pub policy: PolicyRef,
    pub action_digest: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sample: Option<SampleInfo>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SampleInfo {
    pub rate: String,
    pub ppm: u32,
    pub sampled: bool,
    pub rule: Option<String>,
    pub tier: Option<u32>,
}

impl Decision {
    /// The engine's decision holding exactly these fields.
    pub fn into_engine(self) -> gatehouse::Decision {
        let json = serde_json::to_value(&self).expect("the reference's decision is JSON");
        serde_json::from_value(json).expect("the engine reads the reference's decision")
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TierRef {
    pub id: u32,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Reason {
    pub code: String,
    pub message: String,
    pub rule: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MatchedRule {
    pub name: String,
    pub location: String,
    pub determining: bool,
    pub outcome: Outcome,
    pub tier: Option<u32>,
    pub reasons: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ApprovalRequirement {
    pub count: u32,
    pub groups: Vec<ApproverGroup>,
    pub forbidden_approvers: Vec<ForbiddenApprover>,
    pub distinct_people: bool,
    pub distinct_roles: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ApproverGroup {
    pub roles: Vec<ApproverRole>,
    pub count: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ApproverRole {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub escalated_from: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ForbiddenApprover {
    pub attribute: String,
    pub identity: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Default)]
pub struct EvidenceStatus {
    pub required: Vec<String>,
    pub missing: Vec<String>,
    pub on_missing: Option<Outcome>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TimeoutInfo {
    pub after: String,
    pub seconds: i64,
    pub expires_at: Option<String>,
    pub on_expiry: ExpiryInfo,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ExpiryInfo {
    pub action: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Condition {
    pub condition: String,
    pub holds: Option<bool>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct InputError {
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PolicyRef {
    pub name: String,
    pub version: String,
    pub digest: String,
}

//! The checked policy set: every name resolved to an index, every literal
//! typed, every regex compiled. Evaluation works on this, never on text.

use std::sync::Arc;

use crate::source::{Origin, SourceFile};
use crate::syntax::ast::{CmpOp, CombineMode, Outcome};
use crate::values::{Decimal, Timestamp};

/// Index into [`PolicySet::attributes`]; also the attribute's input slot.
pub type AttrId = usize;
/// Index into [`PolicySet::roles`].
pub type RoleId = usize;
/// Index into [`PolicySet::evidence`].
pub type EvidenceId = usize;
/// Index into [`PolicySet::reasons`].
pub type ReasonId = usize;
/// Index into [`PolicySet::tiers`] (not the tier's number).
pub type TierIdx = usize;

/// A whole policy set after checking.
#[derive(Debug)]
pub struct PolicySet {
    /// From the header.
    pub name: String,
    /// From the header.
    pub version: String,
    /// From the header.
    pub description: Option<String>,
    /// From the header (strictest when not written).
    pub combine: CombineMode,
    /// The files, sorted by name: the order rules are taken in.
    pub files: Vec<Arc<SourceFile>>,
    /// `sha256:<hex>` over the files' names and texts.
    pub digest: String,
    /// Declared attributes; the index is the input slot.
    pub attributes: Vec<AttributeDef>,
    /// Declared evidence fields.
    pub evidence: Vec<EvidenceDef>,
    /// Declared roles.
    pub roles: Vec<RoleDef>,
    /// Built-in reason codes first, then declared ones.
    pub reasons: Vec<ReasonDef>,
    /// Tiers, sorted by number.
    pub tiers: Vec<TierDef>,
    /// Rules in file order, then source order.
    pub rules: Vec<RuleDef>,
    /// What applies when no rule matches.
    pub default: Option<DefaultDef>,
}

/// A typed input attribute.
#[derive(Debug)]
pub struct AttributeDef {
    /// Dotted path.
    pub path: String,
    /// Its segments.
    pub segments: Vec<String>,
    /// Declared type.
    pub ty: Type,
    /// May be absent (or null).
    pub optional: bool,
    /// Where it is declared.
    pub origin: Origin,
}

/// Attribute types.
#[derive(Clone, Debug, PartialEq)]
pub enum Type {
    /// true / false
    Bool,
    /// exact decimal
    Number,
    /// text
    String,
    /// seconds
    Duration,
    /// RFC 3339 instant
    Timestamp,
    /// one of the named values
    Enum(Vec<String>),
    /// a set of strings, or of enum values
    Set(Box<Type>),
}

impl Type {
    /// How the type is written in the language.
    pub fn describe(&self) -> String {
        match self {
            Type::Bool => "bool".into(),
            Type::Number => "number".into(),
            Type::String => "string".into(),
            Type::Duration => "duration".into(),
            Type::Timestamp => "timestamp".into(),
            Type::Enum(values) => format!("enum {{ {} }}", values.join(", ")),
            Type::Set(e) => format!("set of {}", e.describe()),
        }
    }

    /// The description with its article: `a number`, `an enum { .. }`.
    pub fn with_article(&self) -> String {
        let d = self.describe();
        let article = if d.starts_with(['a', 'e', 'i', 'o', 'u']) {
            "an"
        } else {
            "a"
        };
        format!("{article} {d}")
    }
}

/// A declared evidence field.
#[derive(Debug)]
pub struct EvidenceDef {
    /// Field name (a key of the input's `evidence` object).
    pub name: String,
    /// Where declared.
    pub origin: Origin,
}

/// An approver role.
#[derive(Debug)]
pub struct RoleDef {
    /// Role name.
    pub name: String,
    /// Human title.
    pub title: Option<String>,
    /// Approval limit on a numeric attribute.
    pub limit: Option<RoleLimit>,
    /// Role that takes over above the limit.
    pub escalate: Option<RoleId>,
    /// Where declared.
    pub origin: Origin,
}

/// `limit attr <= value`
#[derive(Debug)]
pub struct RoleLimit {
    /// A number attribute.
    pub attribute: AttrId,
    /// `<=` rather than `<`.
    pub inclusive: bool,
    /// The bound.
    pub value: Decimal,
}

impl RoleLimit {
    /// Whether an action whose attribute has this value is within the limit.
    pub fn allows(&self, v: Decimal) -> bool {
        if self.inclusive {
            v <= self.value
        } else {
            v < self.value
        }
    }
}

/// A reason code.
#[derive(Debug)]
pub struct ReasonDef {
    /// UPPER_SNAKE code.
    pub code: String,
    /// Human message.
    pub message: String,
    /// Where declared; `None` for built-in codes.
    pub origin: Option<Origin>,
}

/// A risk tier.
#[derive(Debug)]
pub struct TierDef {
    /// Tier number.
    pub id: u32,
    /// Tier name.
    pub name: String,
    /// Base outcome.
    pub outcome: Outcome,
    /// Who must approve.
    pub approvals: Vec<ApproverGroup>,
    /// Required evidence.
    pub evidence: Vec<EvidenceId>,
    /// Outcome when evidence is missing: block (default) or queue.
    pub on_missing_evidence: Outcome,
    /// Pending-approval timeout.
    pub timeout: Option<Timeout>,
    /// Attributes whose identities may not approve.
    pub forbid: Vec<AttrId>,
    /// Approvers must be distinct people.
    pub distinct_people: bool,
    /// Approvers must hold distinct roles.
    pub distinct_roles: bool,
    /// Conditions that must hold at execution.
    pub requirements: Vec<Requirement>,
    /// `sample N% for review`: the share of this tier's `auto` decisions
    /// reviewed after the fact.
    pub sample: Option<Sample>,
    /// Where declared.
    pub origin: Origin,
}

/// A checked `sample N% for review`.
#[derive(Clone, Debug)]
pub struct Sample {
    /// The share in parts per million, in `1..=1_000_000` (5% is 50 000).
    pub ppm: u32,
    /// The share in its canonical spelling, with its `%` (`5%`, `0.5%`):
    /// what decisions carry as `sample.rate`.
    pub rate: String,
    /// Where the clause is written (lints point at it).
    pub origin: Origin,
}

/// `count` approvals from any of `roles`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApproverGroup {
    /// Eligible roles.
    pub roles: Vec<RoleId>,
    /// Approvals needed from them.
    pub count: u32,
}

/// A timeout and what happens at expiry.
#[derive(Debug)]
pub struct Timeout {
    /// Seconds after the decision.
    pub seconds: i64,
    /// As written, e.g. `24h`.
    pub written: String,
    /// What expiry does.
    pub expiry: ExpiryAction,
}

/// What happens when a pending approval times out.
#[derive(Clone, Copy, Debug)]
pub enum ExpiryAction {
    /// Hand the request to this role.
    Escalate(RoleId),
    /// Reject the action.
    Reject,
    /// Block the action.
    Block,
}

/// An execution condition.
#[derive(Debug)]
pub struct Requirement {
    /// As written (the condition's source text, or the quoted text).
    pub text: String,
    /// Checkable against the input, when it is a condition.
    pub condition: Option<Cond>,
}

/// A rule.
#[derive(Debug)]
pub struct RuleDef {
    /// Rule name.
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// The condition.
    pub when: Cond,
    /// Exceptions.
    pub unless: Vec<Cond>,
    /// What it does.
    pub effect: Effect,
    /// Where declared.
    pub origin: Origin,
}

/// The default consequence.
#[derive(Debug)]
pub struct DefaultDef {
    /// What it does.
    pub effect: Effect,
    /// Where declared.
    pub origin: Origin,
}

/// What a rule (or the default) contributes when it fires.
#[derive(Debug, Default)]
pub struct Effect {
    /// Places the action in this tier.
    pub tier: Option<TierIdx>,
    /// Raises the outcome to at least this.
    pub at_least: Option<Outcome>,
    /// Adds required evidence.
    pub evidence: Vec<EvidenceId>,
    /// Adds required approvals.
    pub approvals: Vec<ApproverGroup>,
    /// Reason codes.
    pub reasons: Vec<ReasonId>,
    /// `sample N% for review`: the share of `auto` decisions this rule (or
    /// the default) sends to review after the fact.
    pub sample: Option<Sample>,
}

impl Effect {
    /// The outcome this effect asks for on its own: its tier's outcome
    /// (auto without a tier), raised by `at least`, and to explicit when it
    /// adds approvers. Evaluation compares it with the final outcome to
    /// mark determining rules; the semantic lints reason with it.
    pub fn own_outcome(&self, tiers: &[TierDef]) -> Outcome {
        let mut o = self
            .tier
            .and_then(|t| tiers.get(t))
            .map_or(Outcome::Auto, |t| t.outcome);
        if let Some(a) = self.at_least {
            o = o.max(a);
        }
        if !self.approvals.is_empty() {
            o = o.max(Outcome::Explicit);
        }
        o
    }
}

/// A typed condition.
#[derive(Clone, Debug)]
pub enum Cond {
    /// All hold.
    All(Vec<Cond>),
    /// Any holds.
    Any(Vec<Cond>),
    /// Negation.
    Not(Box<Cond>),
    /// A test of one attribute.
    Test(AttrId, Test),
}

/// A typed test. Every test on an absent attribute is false, except `Missing`.
#[derive(Clone, Debug)]
pub enum Test {
    /// A bool attribute is true.
    IsTrue,
    /// Present.
    Exists,
    /// Absent.
    Missing,
    /// Compare with a value or another attribute.
    Compare(CmpOp, Operand),
    /// One of the values.
    In(Vec<Value>),
    /// None of the values.
    NotIn(Vec<Value>),
    /// String contains a substring, or set contains an element.
    Contains(Value),
    /// Set holds at least one.
    ContainsAny(Vec<Value>),
    /// Set holds all.
    ContainsAll(Vec<Value>),
    /// Regex search (compiled once).
    Matches(regex::Regex),
    /// Prefix.
    StartsWith(String),
    /// Suffix.
    EndsWith(String),
}

/// The right side of a comparison.
#[derive(Clone, Debug)]
pub enum Operand {
    /// A constant.
    Value(Value),
    /// Another attribute of the same type.
    Attribute(AttrId),
}

/// A typed constant.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// bool
    Bool(bool),
    /// number
    Number(Decimal),
    /// string
    String(String),
    /// enum value, as its index in the declaration
    Enum(u32),
    /// duration in seconds
    Duration(i64),
    /// timestamp
    Timestamp(Timestamp),
}

/// Built-in reason codes, always declared, at these indexes.
pub mod builtin {
    use super::ReasonId;
    /// No rule matched and there is no default (or the default applied).
    pub const NO_RULE_MATCHED: ReasonId = 0;
    /// Required evidence is absent.
    pub const EVIDENCE_MISSING: ReasonId = 1;
    /// The input does not match the schema.
    pub const INVALID_INPUT: ReasonId = 2;
    /// No role can approve an action this large.
    pub const APPROVER_LIMIT_EXCEEDED: ReasonId = 3;
    /// A role's limit routed the approval to a higher role.
    pub const APPROVER_ESCALATED: ReasonId = 4;
    /// A role was removed from a group whose other roles can still approve.
    pub const APPROVER_NOT_ELIGIBLE: ReasonId = 5;
    /// An `auto` action fell in its `sample N% for review` share.
    pub const SAMPLED_FOR_REVIEW: ReasonId = 6;

    /// Code and message of each, in index order.
    pub const ALL: &[(&str, &str)] = &[
        ("NO_RULE_MATCHED", "no rule matched this action"),
        ("EVIDENCE_MISSING", "required evidence is missing"),
        (
            "INVALID_INPUT",
            "the action does not match the policy's input schema",
        ),
        (
            "APPROVER_LIMIT_EXCEEDED",
            "no eligible role's approval limit covers this action",
        ),
        (
            "APPROVER_ESCALATED",
            "the amount exceeds a role's approval limit; approval goes to a higher role",
        ),
        (
            "APPROVER_NOT_ELIGIBLE",
            "a role's approval limit does not cover this action, so that role cannot approve it",
        ),
        (
            "SAMPLED_FOR_REVIEW",
            "the action executes now and is sampled for review after the fact",
        ),
    ];
}

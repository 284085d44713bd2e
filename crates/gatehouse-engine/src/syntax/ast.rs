//! The syntax tree of one `.gate` file, exactly as written. Every node keeps
//! its [`Span`]; spans compare equal to each other, so two trees compare by
//! content alone.

use std::sync::Arc;

use crate::source::{SourceFile, Span};
use crate::values::Decimal;

/// One parsed file.
#[derive(Debug, PartialEq)]
pub struct File {
    /// The text it came from.
    pub source: Arc<SourceFile>,
    /// Declarations in source order.
    pub declarations: Vec<Declaration>,
}

/// A name as written, with where it was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ident {
    /// The text.
    pub name: String,
    /// Where.
    pub span: Span,
}

/// A string literal, unescaped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Text {
    /// The value after unescaping.
    pub value: String,
    /// Where (including the quotes).
    pub span: Span,
}

/// One top-level declaration.
#[derive(Debug, PartialEq)]
pub enum Declaration {
    /// `policy "name" version "v" combine strictest description "..."`
    Header(Header),
    /// `schema { path: type ... }`
    Schema(Vec<Attribute>),
    /// `evidence { a, b }`
    Evidence(Vec<Ident>),
    /// `role name "title" limit path <= n escalate to other`
    Role(Role),
    /// `reason CODE "message"`
    Reason(ReasonDecl),
    /// `tier N "name" { ... }`
    Tier(Tier),
    /// `rule name when ... then ... because ...`
    Rule(Rule),
    /// `default ... because ...`
    Default(Default),
}

/// How matching rules combine into one decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CombineMode {
    /// Every matching rule counts; the strictest outcome wins.
    #[default]
    Strictest,
    /// Rules in order; the first match decides.
    FirstMatch,
}

/// The policy header.
#[derive(Debug, PartialEq)]
pub struct Header {
    /// Policy name.
    pub name: Text,
    /// Policy version.
    pub version: Text,
    /// Combining mode, when written.
    pub combine: Option<(CombineMode, Span)>,
    /// Free text.
    pub description: Option<Text>,
    /// The whole header.
    pub span: Span,
}

/// A declared input attribute.
#[derive(Debug, PartialEq)]
pub struct Attribute {
    /// Dotted path into the input document.
    pub path: Ident,
    /// Declared type.
    pub ty: TypeExpr,
    /// Written with a trailing `?`.
    pub optional: bool,
    /// The whole declaration.
    pub span: Span,
}

/// A type as written in the schema.
#[derive(Clone, Debug, PartialEq)]
pub enum TypeExpr {
    /// `bool`
    Bool,
    /// `number`
    Number,
    /// `string`
    String,
    /// `duration`
    Duration,
    /// `timestamp`
    Timestamp,
    /// `enum { a, b }`
    Enum(Vec<Ident>),
    /// `set of T`
    Set(Box<TypeExpr>, Span),
}

/// An approver role.
#[derive(Debug, PartialEq)]
pub struct Role {
    /// Role name.
    pub name: Ident,
    /// Human title.
    pub title: Option<Text>,
    /// Approval limit.
    pub limit: Option<Limit>,
    /// Role that takes over above the limit.
    pub escalate: Option<Ident>,
    /// The whole declaration.
    pub span: Span,
}

/// `limit path <= number`
#[derive(Debug, PartialEq)]
pub struct Limit {
    /// The numeric attribute the limit applies to.
    pub attribute: Ident,
    /// `<=` (true) or `<` (false).
    pub inclusive: bool,
    /// The bound.
    pub value: Decimal,
    /// The whole clause.
    pub span: Span,
}

/// `reason CODE "message"`
#[derive(Debug, PartialEq)]
pub struct ReasonDecl {
    /// UPPER_SNAKE code.
    pub code: Ident,
    /// Human message.
    pub message: Text,
    /// The whole declaration.
    pub span: Span,
}

/// One of the five outcomes, in strictness order.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Execute now, log for audit.
    Auto,
    /// Hold for review; batch approval allowed.
    Queue,
    /// One authorized human must approve, with a reason.
    Explicit,
    /// Two distinct authorized humans must approve.
    Dual,
    /// Never executes through this path.
    Block,
}

impl Outcome {
    /// The keyword.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Auto => "auto",
            Outcome::Queue => "queue",
            Outcome::Explicit => "explicit",
            Outcome::Dual => "dual",
            Outcome::Block => "block",
        }
    }

    /// Parses the keyword.
    pub fn from_keyword(s: &str) -> Option<Outcome> {
        Some(match s {
            "auto" => Outcome::Auto,
            "queue" => Outcome::Queue,
            "explicit" => Outcome::Explicit,
            "dual" => Outcome::Dual,
            "block" => Outcome::Block,
            _ => return None,
        })
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `tier N "name" { clauses }`
#[derive(Debug, PartialEq)]
pub struct Tier {
    /// Tier number.
    pub id: u32,
    /// Span of the number.
    pub id_span: Span,
    /// Tier name.
    pub name: Text,
    /// Clauses in order.
    pub clauses: Vec<TierClause>,
    /// The whole declaration.
    pub span: Span,
}

/// One line of a tier block.
#[derive(Debug, PartialEq)]
pub enum TierClause {
    /// `outcome dual`
    Outcome(Outcome, Span),
    /// `approve a and b`
    Approve(Approvers),
    /// `evidence a, b otherwise queue`
    Evidence {
        /// Required fields.
        fields: Vec<Ident>,
        /// What missing evidence does (block when absent).
        otherwise: Option<(Outcome, Span)>,
        /// The clause.
        span: Span,
    },
    /// `timeout 24h then reject`
    Timeout {
        /// Seconds.
        seconds: i64,
        /// As written, e.g. `24h`.
        written: String,
        /// What expiry does.
        then: Expiry,
        /// The clause.
        span: Span,
    },
    /// `forbid approval by requester.id, agent.owner`
    Forbid(Vec<Ident>, Span),
    /// `distinct people, roles`
    Distinct(Vec<(Distinct, Span)>, Span),
    /// `require change_window.open` or `require "human-supervised execution"`
    Require(Requirement, Span),
    /// `sample 5% for review`
    Sample(SampleRate),
}

/// `sample N% for review`: the share of `auto` actions reviewed after the
/// fact. The share is kept as written; the checker turns it into parts per
/// million and refuses 0, more than 100 and more than 4 decimals.
///
/// Two shares are equal when they mean the same share (`5.50` and `5.5`,
/// see [`crate::values::share::canonical_share`]): the formatter writes the
/// canonical spelling and checks that the tree kept its meaning.
#[derive(Clone, Debug)]
pub struct SampleRate {
    /// The share as written, without the `%` (e.g. `5`, `0.50`).
    pub share: String,
    /// Where the share (with its `%`) is written.
    pub share_span: Span,
    /// The whole clause.
    pub span: Span,
}

impl PartialEq for SampleRate {
    fn eq(&self, other: &SampleRate) -> bool {
        use crate::values::share::canonical_share;
        canonical_share(&self.share) == canonical_share(&other.share)
    }
}

/// What happens when a pending approval times out.
#[derive(Clone, Debug, PartialEq)]
pub enum Expiry {
    /// Hand the request to another role.
    Escalate(Ident),
    /// Reject the action.
    Reject,
    /// Block the action.
    Block,
    /// Approve the action at expiry: written so the checker can refuse it
    /// (E0306) with a reason; never compiled.
    Approve(Span),
}

/// One separation-of-duties constraint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Distinct {
    /// Approvers must be different people.
    People,
    /// Approvers must hold different roles.
    Roles,
}

/// A condition that must hold when the action executes.
#[derive(Debug, PartialEq)]
pub enum Requirement {
    /// A checkable condition on the input.
    Condition(Expr),
    /// A procedural condition a human attests to.
    Text(Text),
}

/// Who must approve.
#[derive(Debug, PartialEq)]
pub struct Approvers {
    /// How the roles combine.
    pub kind: ApproverKind,
    /// Roles named.
    pub roles: Vec<Ident>,
    /// The whole clause.
    pub span: Span,
}

/// `a and b`, `a or b`, `N of a, b`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApproverKind {
    /// Every role listed must approve (a single role is this too).
    All,
    /// Any one of the roles.
    Any,
    /// This many approvals from any of the roles.
    Count(u32),
}

/// `rule name "description" when .. unless .. then .. because ..`
#[derive(Debug, PartialEq)]
pub struct Rule {
    /// Rule name.
    pub name: Ident,
    /// Free text.
    pub description: Option<Text>,
    /// The condition.
    pub when: Expr,
    /// Exceptions: the rule does not fire when any holds.
    pub unless: Vec<Expr>,
    /// What the rule does.
    pub consequences: Vec<Consequence>,
    /// Reason codes.
    pub because: Vec<Ident>,
    /// The whole rule.
    pub span: Span,
}

/// `default tier 1 because NO_RULE_MATCHED`
#[derive(Debug, PartialEq)]
pub struct Default {
    /// What applies.
    pub consequences: Vec<Consequence>,
    /// Reason codes.
    pub because: Vec<Ident>,
    /// The whole declaration.
    pub span: Span,
}

/// One effect of a rule.
#[derive(Debug, PartialEq)]
pub enum Consequence {
    /// `tier N`
    Tier(u32, Span),
    /// `at least X` or a bare outcome
    AtLeast(Outcome, Span),
    /// `evidence a, b`
    Evidence(Vec<Ident>, Span),
    /// `approve role`
    Approve(Approvers),
    /// `sample 5% for review`
    Sample(SampleRate),
}

/// A boolean condition.
#[derive(Debug, PartialEq)]
pub struct Expr {
    /// What kind.
    pub kind: ExprKind,
    /// Where.
    pub span: Span,
}

/// Condition forms.
#[derive(Debug, PartialEq)]
pub enum ExprKind {
    /// All must hold.
    And(Vec<Expr>),
    /// Any must hold.
    Or(Vec<Expr>),
    /// Negation.
    Not(Box<Expr>),
    /// A test on one attribute.
    Predicate(Predicate),
}

/// `attr op operand`, or a bare boolean attribute.
#[derive(Debug, PartialEq)]
pub struct Predicate {
    /// The attribute tested.
    pub attribute: Ident,
    /// The test; `None` for a bare boolean attribute.
    pub test: Option<Test>,
}

/// Comparison operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl CmpOp {
    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
}

/// What is tested of an attribute.
#[derive(Debug, PartialEq)]
pub enum Test {
    /// `== != < <= > >=`
    Compare(CmpOp, Operand),
    /// `in [..]`
    In(Vec<Literal>, Span),
    /// `not in [..]`
    NotIn(Vec<Literal>, Span),
    /// `contains x`: substring of a string, member of a set
    Contains(Literal),
    /// `contains any [..]`
    ContainsAny(Vec<Literal>, Span),
    /// `contains all [..]`
    ContainsAll(Vec<Literal>, Span),
    /// `matches "regex"`
    Matches(Text),
    /// `starts_with "prefix"`
    StartsWith(Text),
    /// `ends_with "suffix"`
    EndsWith(Text),
    /// `exists`
    Exists,
    /// `missing`
    Missing,
}

/// The right side of a comparison.
#[derive(Debug, PartialEq)]
pub enum Operand {
    /// A literal value.
    Literal(Literal),
    /// A bare name: an enum value, or another attribute's path.
    Name(Ident),
}

/// A literal value with its span.
#[derive(Clone, Debug, PartialEq)]
pub struct Literal {
    /// The value.
    pub value: LiteralValue,
    /// Where.
    pub span: Span,
}

/// Literal forms.
#[derive(Clone, Debug, PartialEq)]
pub enum LiteralValue {
    /// `"text"` (also timestamps, typed by context)
    String(String),
    /// `1000.50`
    Number(Decimal),
    /// `24h` (seconds)
    Duration(i64),
    /// `true` / `false`
    Bool(bool),
    /// A bare name (enum value)
    Name(String),
}

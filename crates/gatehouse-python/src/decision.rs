//! The decision as Python objects: `Decision` and its parts, read-only.
//!
//! A `Decision` keeps the engine's owned decision and builds each part on
//! first access, so evaluating costs no Python allocation beyond the one
//! object. The parts are frozen classes whose fields mirror the decision
//! JSON (docs/decisions.md); `to_dict()` and `to_json()` give that JSON.

use gatehouse::eval as d;
use std::sync::{Arc, OnceLock};

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyList;

/// The Python `gatehouse.Outcome` member for an outcome (an `IntEnum` that
/// orders like the engine's: auto < queue < explicit < dual < block).
pub fn outcome_object<'py>(
    py: Python<'py>,
    outcome: gatehouse::Outcome,
) -> PyResult<Bound<'py, PyAny>> {
    static MEMBERS: PyOnceLock<Vec<Py<PyAny>>> = PyOnceLock::new();
    let members = MEMBERS.get_or_try_init(py, || -> PyResult<Vec<Py<PyAny>>> {
        let class = py.import("gatehouse._outcome")?.getattr("Outcome")?;
        ["AUTO", "QUEUE", "EXPLICIT", "DUAL", "BLOCK"]
            .iter()
            .map(|name| class.getattr(*name).map(Bound::unbind))
            .collect()
    })?;
    let index = match outcome {
        gatehouse::Outcome::Auto => 0,
        gatehouse::Outcome::Queue => 1,
        gatehouse::Outcome::Explicit => 2,
        gatehouse::Outcome::Dual => 3,
        gatehouse::Outcome::Block => 4,
    };
    members
        .get(index)
        .map(|m| m.bind(py).clone())
        .ok_or_else(|| {
            pyo3::exceptions::PyRuntimeError::new_err("gatehouse._outcome is incomplete")
        })
}

/// The risk tier an action was placed in.
#[pyclass(module = "gatehouse", frozen, get_all, eq)]
#[derive(Clone, PartialEq)]
pub struct Tier {
    /// The tier's number (`tier 3`).
    pub id: u32,
    /// Its name (`"financial"`).
    pub name: String,
}

#[pymethods]
impl Tier {
    fn __repr__(&self) -> String {
        format!("Tier(id={}, name={:?})", self.id, self.name)
    }
}

/// One reason code with its message and the rule that gave it.
#[pyclass(module = "gatehouse", frozen, get_all, eq)]
#[derive(Clone, PartialEq)]
pub struct Reason {
    /// The code (`LARGE_REFUND`).
    pub code: String,
    /// Its message.
    pub message: String,
    /// The rule that gave it, or `None` for the engine's own reasons.
    pub rule: Option<String>,
}

#[pymethods]
impl Reason {
    fn __repr__(&self) -> String {
        format!("Reason(code={:?}, rule={:?})", self.code, self.rule)
    }
}

/// A rule that matched.
#[pyclass(module = "gatehouse", frozen, get_all)]
pub struct MatchedRule {
    /// The rule's name (`default` for the default).
    pub name: String,
    /// `file.gate:line:column`.
    pub location: String,
    /// Whether it determined the outcome.
    pub determining: bool,
    /// The outcome it asked for.
    pub outcome: Py<PyAny>,
    /// The tier it asked for.
    pub tier: Option<u32>,
    /// Its reason codes.
    pub reasons: Vec<String>,
}

#[pymethods]
impl MatchedRule {
    fn __repr__(&self) -> String {
        format!(
            "MatchedRule(name={:?}, determining={})",
            self.name, self.determining
        )
    }
}

/// An approver role in an approval group.
#[pyclass(module = "gatehouse", frozen, get_all, eq)]
#[derive(Clone, PartialEq)]
pub struct ApproverRole {
    /// The role's name.
    pub name: String,
    /// Its title, when the policy gives one.
    pub title: Option<String>,
    /// Its limit, as written (`"5000"`), when it has one.
    pub limit: Option<String>,
    /// The role this one replaced because the action exceeded its limit.
    pub escalated_from: Option<String>,
}

#[pymethods]
impl ApproverRole {
    fn __repr__(&self) -> String {
        format!("ApproverRole(name={:?})", self.name)
    }
}

/// A group of roles, of which `count` approvals are needed.
#[pyclass(module = "gatehouse", frozen, get_all)]
#[derive(Clone)]
pub struct ApproverGroup {
    /// The roles any of which may approve.
    pub roles: Vec<ApproverRole>,
    /// How many approvals from these roles.
    pub count: u32,
}

#[pymethods]
impl ApproverGroup {
    fn __repr__(&self) -> String {
        let names: Vec<&str> = self.roles.iter().map(|r| r.name.as_str()).collect();
        format!("ApproverGroup(roles={names:?}, count={})", self.count)
    }
}

/// An identity excluded from approving (separation of duties).
#[pyclass(module = "gatehouse", frozen, get_all)]
#[derive(Clone)]
pub struct ForbiddenApprover {
    /// The attribute that names it (`requester.id`).
    pub attribute: String,
    /// Its value in this action.
    pub identity: Option<String>,
}

#[pymethods]
impl ForbiddenApprover {
    fn __repr__(&self) -> String {
        format!(
            "ForbiddenApprover(attribute={:?}, identity={:?})",
            self.attribute, self.identity
        )
    }
}

/// Who must approve.
#[pyclass(module = "gatehouse", frozen, get_all)]
#[derive(Clone)]
pub struct Approvals {
    /// Approvals needed in all.
    pub count: u32,
    /// The groups, each with its own count.
    pub groups: Vec<ApproverGroup>,
    /// Identities that may not approve.
    pub forbidden_approvers: Vec<ForbiddenApprover>,
    /// Whether every approval must come from a different person.
    pub distinct_people: bool,
    /// Whether every approval must come from a different role.
    pub distinct_roles: bool,
}

#[pymethods]
impl Approvals {
    /// Every role that may approve, in order, without duplicates.
    #[getter]
    fn roles(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for r in self.groups.iter().flat_map(|g| g.roles.iter()) {
            if !out.contains(&r.name) {
                out.push(r.name.clone());
            }
        }
        out
    }

    fn __repr__(&self) -> String {
        format!("Approvals(count={}, roles={:?})", self.count, self.roles())
    }
}

/// Evidence the policy requires, and what the action lacks.
#[pyclass(module = "gatehouse", frozen, get_all)]
pub struct Evidence {
    /// Every evidence item required.
    pub required: Vec<String>,
    /// The ones the action does not carry.
    pub missing: Vec<String>,
    /// The outcome when evidence is missing, when the policy sets one.
    pub on_missing: Option<Py<PyAny>>,
}

#[pymethods]
impl Evidence {
    fn __repr__(&self) -> String {
        format!(
            "Evidence(required={:?}, missing={:?})",
            self.required, self.missing
        )
    }
}

/// When a pending approval expires, and what happens then.
#[pyclass(module = "gatehouse", frozen, get_all)]
#[derive(Clone)]
pub struct Timeout {
    /// The duration as written (`"24h"`).
    pub after: String,
    /// The same in seconds.
    pub seconds: i64,
    /// When it expires (RFC 3339), when the evaluation was given a time.
    pub expires_at: Option<String>,
    /// What happens on expiry (`reject`, `escalate`, ...).
    pub on_expiry: String,
    /// The role it escalates to, for `escalate`.
    pub on_expiry_role: Option<String>,
}

#[pymethods]
impl Timeout {
    fn __repr__(&self) -> String {
        format!(
            "Timeout(after={:?}, on_expiry={:?})",
            self.after, self.on_expiry
        )
    }
}

/// The `sample N% for review` share that applies to an `auto` decision,
/// and whether this action fell in it.
#[pyclass(module = "gatehouse", frozen, get_all)]
#[derive(Clone)]
pub struct Sample {
    /// The share, e.g. `"5%"`.
    pub rate: String,
    /// The share in parts per million.
    pub ppm: u32,
    /// Whether this action is sampled for review after the fact.
    pub sampled: bool,
    /// The rule whose share applies (`"default"`), `None` for the tier's.
    pub rule: Option<String>,
    /// The decision's tier.
    pub tier: Option<u32>,
}

#[pymethods]
impl Sample {
    fn __repr__(&self) -> String {
        format!(
            "Sample(rate={:?}, sampled={})",
            self.rate,
            if self.sampled { "True" } else { "False" }
        )
    }
}

/// A condition that must hold when the action executes.
#[pyclass(module = "gatehouse", frozen, get_all)]
#[derive(Clone)]
pub struct Condition {
    /// The condition as written.
    pub condition: String,
    /// Whether it holds now (`None` when it cannot be known yet).
    pub holds: Option<bool>,
}

#[pymethods]
impl Condition {
    fn __repr__(&self) -> String {
        format!("Condition({:?}, holds={:?})", self.condition, self.holds)
    }
}

/// What is wrong with the input (for `block` / `INVALID_INPUT`).
#[pyclass(module = "gatehouse", frozen, get_all)]
#[derive(Clone)]
pub struct InputError {
    /// The JSON path (`$.action.amount`).
    pub path: String,
    /// What is wrong there.
    pub message: String,
}

#[pymethods]
impl InputError {
    fn __repr__(&self) -> String {
        format!(
            "InputError(path={:?}, message={:?})",
            self.path, self.message
        )
    }
}

/// The exact policy that decided.
#[pyclass(module = "gatehouse", frozen, get_all, eq)]
#[derive(Clone, PartialEq)]
pub struct PolicyRef {
    /// The policy's name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// `sha256:` of its canonical source.
    pub digest: String,
}

#[pymethods]
impl PolicyRef {
    fn __repr__(&self) -> String {
        format!(
            "PolicyRef(name={:?}, version={:?})",
            self.name, self.version
        )
    }
}

/// The engine's answer for one action: outcome, tier, reasons, who must
/// approve, evidence missing, timeout, and the digests approvals bind to.
///
/// Deciding is cheap; the owned decision (every message, role and rule
/// location) and the action digest (SHA-256 of the canonical JSON) cost
/// several times more. So a decision made from JSON text holds the outcome
/// and reason codes (from the engine's `Verdict`) and the text, and the
/// rest is the engine's `evaluate_json_with` of that same text, computed
/// once on first use of any other part. Invariant: `full`, once set, is
/// exactly what `Policy::evaluate_json_with(text, options)` returns, and
/// `outcome`/`codes` are its outcome and reason codes.
#[pyclass(module = "gatehouse", frozen)]
pub struct Decision {
    outcome: gatehouse::Outcome,
    codes: Vec<String>,
    state: State,
}

/// Complete, or completed from its source on first use.
enum State {
    Complete(d::Decision),
    Lazy {
        source: Source,
        full: OnceLock<d::Decision>,
    },
}

/// What a lazily completed decision is computed from.
struct Source {
    policy: Arc<gatehouse::Policy>,
    text: String,
    options: gatehouse::EvalOptions,
}

/// Reason codes in order, without duplicates (as `Decision::reason_codes`).
pub(crate) fn unique_codes<'a>(codes: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for code in codes {
        if !out.iter().any(|c| c == code) {
            out.push(code.to_owned());
        }
    }
    out
}

impl Decision {
    /// A complete decision.
    pub(crate) fn new(inner: d::Decision) -> Decision {
        Decision {
            outcome: inner.outcome,
            codes: unique_codes(inner.reasons.iter().map(|r| r.code.as_str())),
            state: State::Complete(inner),
        }
    }

    /// A decision known by its outcome and reason codes, completed from
    /// `text` on first use.
    pub(crate) fn lazy(
        outcome: gatehouse::Outcome,
        codes: Vec<String>,
        policy: Arc<gatehouse::Policy>,
        text: String,
        options: gatehouse::EvalOptions,
    ) -> Decision {
        Decision {
            outcome,
            codes,
            state: State::Lazy {
                source: Source {
                    policy,
                    text,
                    options,
                },
                full: OnceLock::new(),
            },
        }
    }

    /// The complete decision, computed on first use.
    pub(crate) fn full(&self) -> &d::Decision {
        match &self.state {
            State::Complete(d) => d,
            State::Lazy { source, full } => full.get_or_init(|| {
                source
                    .policy
                    .evaluate_json_with(&source.text, &source.options)
            }),
        }
    }

    /// The outcome.
    pub(crate) fn engine_outcome(&self) -> gatehouse::Outcome {
        self.outcome
    }
}

fn role(r: &d::ApproverRole) -> ApproverRole {
    ApproverRole {
        name: r.name.clone(),
        title: r.title.clone(),
        limit: r.limit.clone(),
        escalated_from: r.escalated_from.clone(),
    }
}

#[pymethods]
impl Decision {
    /// `Outcome.AUTO`, `QUEUE`, `EXPLICIT`, `DUAL` or `BLOCK`.
    #[getter]
    fn outcome<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        outcome_object(py, self.outcome)
    }

    /// The risk tier, or `None`.
    #[getter]
    fn tier(&self) -> Option<Tier> {
        self.full().tier.as_ref().map(|t| Tier {
            id: t.id,
            name: t.name.clone(),
        })
    }

    /// Every reason, in order: matched rules first, then the engine's own.
    #[getter]
    fn reasons(&self) -> Vec<Reason> {
        self.full()
            .reasons
            .iter()
            .map(|r| Reason {
                code: r.code.clone(),
                message: r.message.clone(),
                rule: r.rule.clone(),
            })
            .collect()
    }

    /// The reason codes, in order, without duplicates.
    #[getter]
    fn reason_codes(&self) -> Vec<String> {
        self.codes.clone()
    }

    /// Whether a reason with this code was given.
    fn has_reason(&self, code: &str) -> bool {
        self.codes.iter().any(|c| c == code)
    }

    /// Every rule that matched (and `default` when it applied).
    #[getter]
    fn rules(&self, py: Python<'_>) -> PyResult<Vec<MatchedRule>> {
        self.full()
            .rules
            .iter()
            .map(|r| {
                Ok(MatchedRule {
                    name: r.name.clone(),
                    location: r.location.clone(),
                    determining: r.determining,
                    outcome: outcome_object(py, r.outcome)?.unbind(),
                    tier: r.tier,
                    reasons: r.reasons.clone(),
                })
            })
            .collect()
    }

    /// Who must approve; `None` for auto and block.
    #[getter]
    fn approvals(&self) -> Option<Approvals> {
        self.full().approvals.as_ref().map(|a| Approvals {
            count: a.count,
            groups: a
                .groups
                .iter()
                .map(|g| ApproverGroup {
                    roles: g.roles.iter().map(role).collect(),
                    count: g.count,
                })
                .collect(),
            forbidden_approvers: a
                .forbidden_approvers
                .iter()
                .map(|f| ForbiddenApprover {
                    attribute: f.attribute.clone(),
                    identity: f.identity.clone(),
                })
                .collect(),
            distinct_people: a.distinct_people,
            distinct_roles: a.distinct_roles,
        })
    }

    /// Evidence required and missing.
    #[getter]
    fn evidence(&self, py: Python<'_>) -> PyResult<Evidence> {
        let e = &self.full().evidence;
        Ok(Evidence {
            required: e.required.clone(),
            missing: e.missing.clone(),
            on_missing: match e.on_missing {
                Some(o) => Some(outcome_object(py, o)?.unbind()),
                None => None,
            },
        })
    }

    /// The evidence the action lacks (short for `evidence.missing`).
    #[getter]
    fn evidence_missing(&self) -> Vec<String> {
        self.full().evidence.missing.clone()
    }

    /// When a pending approval expires and what happens then, or `None`.
    #[getter]
    fn timeout(&self) -> Option<Timeout> {
        self.full().timeout.as_ref().map(|t| Timeout {
            after: t.after.clone(),
            seconds: t.seconds,
            expires_at: t.expires_at.clone(),
            on_expiry: t.on_expiry.action.clone(),
            on_expiry_role: t.on_expiry.role.clone(),
        })
    }

    /// Conditions that must hold when the action executes.
    #[getter]
    fn conditions(&self) -> Vec<Condition> {
        self.full()
            .conditions
            .iter()
            .map(|c| Condition {
                condition: c.condition.clone(),
                holds: c.holds,
            })
            .collect()
    }

    /// What is wrong with the input, when the outcome is block for
    /// `INVALID_INPUT` (empty otherwise).
    #[getter]
    fn input_errors(&self) -> Vec<InputError> {
        self.full()
            .input_errors
            .iter()
            .map(|e| InputError {
                path: e.path.clone(),
                message: e.message.clone(),
            })
            .collect()
    }

    /// The exact policy that decided.
    #[getter]
    fn policy(&self) -> PolicyRef {
        PolicyRef {
            name: self.full().policy.name.clone(),
            version: self.full().policy.version.clone(),
            digest: self.full().policy.digest.clone(),
        }
    }

    /// `sha256:<hex>` of the input's canonical form: approvals bind to it.
    /// `None` when the input could not be read at all.
    #[getter]
    fn action_digest(&self, py: Python<'_>) -> Option<String> {
        py.detach(|| self.full().action_digest.clone())
    }

    /// The policy's digest (short for `policy.digest`).
    #[getter]
    fn policy_digest(&self) -> String {
        self.full().policy.digest.clone()
    }

    /// Sampled review after the fact: `None` unless the outcome is `auto`
    /// and a `sample N% for review` applies.
    #[getter]
    fn sample(&self) -> Option<Sample> {
        self.full().sample.as_ref().map(|s| Sample {
            rate: s.rate.clone(),
            ppm: s.ppm,
            sampled: s.sampled,
            rule: s.rule.clone(),
            tier: s.tier,
        })
    }

    /// Whether the action may run now without a person (`auto`).
    #[getter]
    fn is_auto(&self) -> bool {
        self.outcome == gatehouse::Outcome::Auto
    }

    /// The decision's JSON text, as `gatehouse eval` prints it.
    fn to_json(&self) -> PyResult<String> {
        crate::document::to_json(&gatehouse::eval::DocumentFormat::DECISION, self.full())
    }

    /// The decision as a dict (the JSON of `to_json()`, `format` first).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        crate::document::to_dict(py, &gatehouse::eval::DocumentFormat::DECISION, self.full())
    }

    /// Why the engine decided this, in the words of `gatehouse eval --explain`.
    fn explain(&self) -> String {
        self.full().explain()
    }

    fn __repr__(&self) -> String {
        let codes = self.full().reason_codes().join(", ");
        match &self.full().tier {
            Some(t) => format!(
                "Decision(outcome={}, tier={} {:?}, reasons=[{codes}])",
                self.full().outcome,
                t.id,
                t.name
            ),
            None => format!(
                "Decision(outcome={}, reasons=[{codes}])",
                self.full().outcome
            ),
        }
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        match other.cast::<Decision>() {
            Ok(o) => o.get().full() == self.full(),
            Err(_) => false,
        }
    }

    /// Decisions are values compared by content; they are not hashable.
    #[classattr]
    const __hash__: Option<Py<PyAny>> = None;
}

/// Builds a Python list of decisions (used by the batch calls).
pub fn decision_list<'py>(
    py: Python<'py>,
    decisions: Vec<Decision>,
) -> PyResult<Bound<'py, PyList>> {
    let objects: Vec<Bound<'py, Decision>> = decisions
        .into_iter()
        .map(|d| Bound::new(py, d))
        .collect::<PyResult<_>>()?;
    PyList::new(py, objects)
}

//! [`Verdict`] -> decision JSON, serialized straight from the verdict and
//! the policy without building the owned [`Decision`](super::Decision):
//! what `gatehouse eval --jsonl` writes. The text is byte for byte what
//! serializing [`Verdict::to_decision`] gives (tests/alloc.rs compares the
//! two on every decision it checks), so the field names and order below
//! follow src/eval/decision.rs, which is the contract.
//!
//! Why hand-written: this is measured speed work. The crate way is serde's
//! derived `Serialize` of the owned decision (`Verdict::to_decision`, then
//! `serde_json::to_writer`); `cargo bench --bench render` times both over
//! the 1 000 generated actions of benches/common, deciding included:
//! `write_json` 4.24 ms, `to_decision+serde_json` 6.20 ms, deciding alone
//! 0.56 ms, so rendering takes 3.7 ms against 5.6 ms (2026-12-05,
//! `--sample-size 10`, 2 shared cores). It still writes through serde's
//! `Serializer`, so escaping and number formatting are serde_json's.

use std::borrow::Cow;

use serde::Serialize;
use serde::ser::{SerializeSeq, SerializeStruct, Serializer};

use super::approvals::{self, Resolved};
use super::decode::{Decoded, Slot};
use super::render::{contributor_name, role_name};
use super::sample::{SampleFrom, sample_of, sample_reason_code, sample_reason_message, sampled};
use super::verdict::{State, Verdict, effect, evidence_name, reason_code};
use super::{EvalOptions, Input, Outcome, reason_message};
use crate::check::{ExpiryAction, PolicySet, builtin};
use crate::compile::Program;

impl Verdict<'_> {
    /// Writes the decision document as one line of JSON (no newline), with
    /// `action_digest` as given and the format field
    /// ([`DocumentFormat::DECISION`]) first. Equal to
    /// [`write_document`] of [`Verdict::to_decision`] with that digest set.
    pub fn write_json(
        &self,
        input: &Input<'_>,
        options: &EvalOptions,
        action_digest: Option<&str>,
        out: &mut Vec<u8>,
    ) -> serde_json::Result<()> {
        let format = &DocumentFormat::DECISION;
        if input.program != self.input_program || self.state != State::Decided {
            let mut d = self.to_decision(input, options);
            d.set_action_digest(action_digest.map(str::to_owned), options);
            return write_document(out, format, &d, false);
        }
        let view = DecisionView {
            verdict: self,
            input: &input.decoded,
            options,
            action_digest,
        };
        write_document(out, format, &view, false)
    }
}

/// The format version every top-level JSON document gatehouse writes
/// carries, as its first field: `"format": "gatehouse.<kind>/<major>"`.
///
/// Why one string field rather than SARIF's `$schema` + `version` or cargo
/// metadata's bare `"version": 1`: a single field names both what the
/// document is and which major version of its contract, so a consumer
/// reading a mixed stream (a decision, an audit record) can dispatch on it
/// without guessing from the shape, and `version` is already taken in our
/// documents by the policy's own version. OPA's decisions carry no such
/// field, which is what we want to avoid. The major version changes only
/// when a field is removed, renamed or changes meaning; the JSON Schema of
/// each kind (`gatehouse schema KIND`, `schemas/` in the repository) is
/// published with `$id` `https://gatehouse.dev/schemas/<kind>/v<major>.json`.
///
/// The field belongs to the top-level document only. A decision nested in
/// an audit record (`decision`) or a verification nested in one does not
/// carry it: those are compared byte for byte by `gatehouse replay`
/// against what the engine gives again, and logs written before the field
/// existed must keep replaying identically.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DocumentFormat {
    /// The kind, as `gatehouse schema` names it: `decision`, `check`, ...
    pub kind: &'static str,
    /// The field's value, e.g. `gatehouse.decision/1`.
    pub value: &'static str,
    /// The value as a JSON string, escaped once at compile time (it holds
    /// no character that needs escaping; the quotes are all there is).
    quoted: &'static str,
}

/// A [`DocumentFormat`] of major version 1 from its kind (a literal).
macro_rules! format_v1 {
    ($kind:literal) => {
        DocumentFormat {
            kind: $kind,
            value: concat!("gatehouse.", $kind, "/1"),
            quoted: concat!("\"gatehouse.", $kind, "/1\""),
        }
    };
}

impl DocumentFormat {
    /// The name of the format field in every top-level document.
    pub const FIELD: &'static str = "format";
    /// `gatehouse eval` (JSON and every `--jsonl` line).
    pub const DECISION: DocumentFormat = format_v1!("decision");
    /// `gatehouse verify`.
    pub const VERIFICATION: DocumentFormat = format_v1!("verification");
    /// Every line of an audit log (`eval`/`verify --audit-log`).
    pub const AUDIT_RECORD: DocumentFormat = format_v1!("audit-record");
    /// `gatehouse audit verify --format json`.
    pub const AUDIT_VERIFY: DocumentFormat = format_v1!("audit-verify");
    /// `gatehouse check --format json`.
    pub const CHECK: DocumentFormat = format_v1!("check");
    /// `gatehouse test --format json`.
    pub const TEST: DocumentFormat = format_v1!("test");
    /// `gatehouse diff --format json`.
    pub const DIFF: DocumentFormat = format_v1!("diff");
    /// `gatehouse replay --format json`.
    pub const REPLAY: DocumentFormat = format_v1!("replay");
    /// Every document kind, in the order `gatehouse schema --list` gives.
    pub const ALL: [DocumentFormat; 8] = [
        DocumentFormat::DECISION,
        DocumentFormat::VERIFICATION,
        DocumentFormat::AUDIT_RECORD,
        DocumentFormat::AUDIT_VERIFY,
        DocumentFormat::CHECK,
        DocumentFormat::TEST,
        DocumentFormat::DIFF,
        DocumentFormat::REPLAY,
    ];
}

/// Writes `value` (which must serialize as a JSON object) as a top-level
/// document: the same JSON as `serde_json::to_writer` (or
/// `to_writer_pretty`), with `"format": "<format.value>"` as the object's
/// first field. The field is written from the pre-escaped fragment by the
/// formatter, so this costs one counter per object and array over plain
/// serialization: no formatting, no buffering, no extra pass.
pub fn write_document<W, T>(
    out: W,
    format: &DocumentFormat,
    value: &T,
    pretty: bool,
) -> serde_json::Result<()>
where
    W: std::io::Write,
    T: Serialize + ?Sized,
{
    if pretty {
        let inner = serde_json::ser::PrettyFormatter::new();
        let mut ser = serde_json::Serializer::with_formatter(out, Versioned::new(inner, format));
        value.serialize(&mut ser)
    } else {
        let inner = serde_json::ser::CompactFormatter;
        let mut ser = serde_json::Serializer::with_formatter(out, Versioned::new(inner, format));
        value.serialize(&mut ser)
    }
}

/// A formatter that writes the format field first in the outermost object.
/// Invariant: `depth` counts the objects and arrays open, so the top-level
/// object is the one opened at depth 0 and its keys are written at depth 1.
struct Versioned<F> {
    inner: F,
    quoted: &'static str,
    depth: u32,
}

impl<F> Versioned<F> {
    fn new(inner: F, format: &DocumentFormat) -> Versioned<F> {
        Versioned {
            inner,
            quoted: format.quoted,
            depth: 0,
        }
    }
}

impl<F: serde_json::ser::Formatter> serde_json::ser::Formatter for Versioned<F> {
    fn begin_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.inner.begin_object(w)?;
        self.depth += 1;
        if self.depth == 1 {
            self.inner.begin_object_key(w, true)?;
            w.write_all(b"\"format\"")?;
            self.inner.end_object_key(w)?;
            self.inner.begin_object_value(w)?;
            w.write_all(self.quoted.as_bytes())?;
            self.inner.end_object_value(w)?;
        }
        Ok(())
    }

    fn end_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.depth = self.depth.saturating_sub(1);
        self.inner.end_object(w)
    }

    fn begin_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.depth += 1;
        self.inner.begin_array(w)
    }

    fn end_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.depth = self.depth.saturating_sub(1);
        self.inner.end_array(w)
    }

    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        // the format field came first in the outermost object
        self.inner.begin_object_key(w, first && self.depth != 1)
    }

    fn end_object_key<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.inner.end_object_key(w)
    }

    fn begin_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.inner.begin_object_value(w)
    }

    fn end_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.inner.end_object_value(w)
    }

    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.inner.begin_array_value(w, first)
    }

    fn end_array_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.inner.end_array_value(w)
    }
}

struct DecisionView<'v, 'p, 'i> {
    verdict: &'v Verdict<'p>,
    input: &'v Decoded<'i>,
    options: &'v EvalOptions,
    action_digest: Option<&'v str>,
}

/// A sequence serialized from an iterator made on demand.
struct Seq<F>(F);

impl<F, I> Serialize for Seq<F>
where
    F: Fn() -> I,
    I: Iterator,
    I::Item: Serialize,
{
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(None)?;
        for item in (self.0)() {
            seq.serialize_element(&item)?;
        }
        seq.end()
    }
}

#[derive(Serialize)]
struct TierView<'a> {
    id: u32,
    name: &'a str,
}

#[derive(Serialize)]
struct ReasonView<'a> {
    code: &'a str,
    message: Cow<'a, str>,
    rule: Option<&'a str>,
}

#[derive(Serialize)]
struct RuleView<'a, R: Serialize> {
    name: &'a str,
    location: &'a str,
    determining: bool,
    outcome: Outcome,
    tier: Option<u32>,
    reasons: R,
}

#[derive(Serialize)]
struct RoleView<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    title: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    limit: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    escalated_from: Option<&'a str>,
}

#[derive(Serialize)]
struct GroupView<R: Serialize> {
    roles: R,
    count: u32,
}

#[derive(Serialize)]
struct ForbiddenView<'a> {
    attribute: &'a str,
    identity: Option<&'a str>,
}

#[derive(Serialize)]
struct ApprovalsView<G: Serialize, F: Serialize> {
    count: u32,
    groups: G,
    forbidden_approvers: F,
    distinct_people: bool,
    distinct_roles: bool,
}

#[derive(Serialize)]
struct EvidenceView<R: Serialize, M: Serialize> {
    required: R,
    missing: M,
    on_missing: Option<Outcome>,
}

#[derive(Serialize)]
struct ExpiryView<'a> {
    action: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<&'a str>,
}

#[derive(Serialize)]
struct TimeoutView<'a> {
    after: &'a str,
    seconds: i64,
    expires_at: Option<String>,
    on_expiry: ExpiryView<'a>,
}

#[derive(Serialize)]
struct ConditionView<'a> {
    condition: &'a str,
    holds: Option<bool>,
}

#[derive(Serialize)]
struct SampleView<'a> {
    rate: &'a str,
    ppm: u32,
    sampled: bool,
    rule: Option<&'a str>,
    tier: Option<u32>,
}

#[derive(Serialize)]
struct PolicyView<'a> {
    name: &'a str,
    version: &'a str,
    digest: &'a str,
}

impl Serialize for DecisionView<'_, '_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let v = self.verdict;
        let program: &Program = v.program;
        let set = &program.set;
        let slots = &self.input.slots;
        let tier = v.tier_def();
        let approvals = v.has_approvals.then_some(&v.approvals);
        let sample = v.sample.and_then(|from| {
            let share = sample_of(set, v.tier, from)?;
            Some(SampleView {
                rate: &share.rate,
                ppm: share.ppm,
                sampled: sampled(
                    share.ppm,
                    self.options.sample_key.as_ref(),
                    self.action_digest,
                ),
                rule: match from {
                    SampleFrom::Tier => None,
                    SampleFrom::Rule(r) => Some(contributor_name(set, r)),
                },
                tier: tier.map(|t| t.id),
            })
        });
        let sample = sample.as_ref();
        let mut st = s.serialize_struct("Decision", 12)?;
        st.serialize_field("outcome", &v.outcome)?;
        st.serialize_field(
            "tier",
            &tier.map(|t| TierView {
                id: t.id,
                name: &t.name,
            }),
        )?;
        st.serialize_field(
            "reasons",
            &Seq(|| {
                let sampled = sample.filter(|s| s.sampled).map(|s| ReasonView {
                    code: sample_reason_code(),
                    message: Cow::Owned(sample_reason_message(s.rate, s.rule, s.tier)),
                    rule: None,
                });
                reasons(v, slots).chain(sampled)
            }),
        )?;
        st.serialize_field("rules", &Seq(|| rules(v)))?;
        st.serialize_field(
            "approvals",
            &approvals.map(|resolved| ApprovalsView {
                count: v.approval_count,
                groups: Seq(move || groups(program, resolved)),
                forbidden_approvers: Seq(move || {
                    tier.map_or(&[][..], |t| &t.forbid)
                        .iter()
                        .flat_map(move |a| forbidden(set, *a, slots))
                }),
                distinct_people: v.outcome == Outcome::Dual
                    || tier.is_some_and(|t| t.distinct_people),
                distinct_roles: tier.is_some_and(|t| t.distinct_roles),
            }),
        )?;
        st.serialize_field(
            "evidence",
            &EvidenceView {
                required: Seq(|| v.required.iter().map(|e| evidence_name(set, *e))),
                missing: Seq(|| v.missing.iter().map(|e| evidence_name(set, *e))),
                on_missing: (!v.required.is_empty())
                    .then_some(tier.map_or(Outcome::Block, |t| t.on_missing_evidence)),
            },
        )?;
        let timed = approvals.and(tier);
        st.serialize_field(
            "timeout",
            &timed
                .and_then(|t| t.timeout.as_ref())
                .map(|to| TimeoutView {
                    after: &to.written,
                    seconds: to.seconds,
                    expires_at: self
                        .options
                        .now
                        .map(|n| n.plus_seconds(to.seconds).to_string()),
                    on_expiry: match to.expiry {
                        ExpiryAction::Escalate(r) => ExpiryView {
                            action: "escalate",
                            role: Some(role_name(set, r)),
                        },
                        ExpiryAction::Reject => ExpiryView {
                            action: "reject",
                            role: None,
                        },
                        ExpiryAction::Block => ExpiryView {
                            action: "block",
                            role: None,
                        },
                    },
                }),
        )?;
        st.serialize_field(
            "conditions",
            &Seq(|| {
                timed
                    .map_or(&[][..], |t| &t.requirements)
                    .iter()
                    .zip(&v.conditions)
                    .map(|(r, holds)| ConditionView {
                        condition: &r.text,
                        holds: *holds,
                    })
            }),
        )?;
        st.skip_field("input_errors")?;
        st.serialize_field(
            "policy",
            &PolicyView {
                name: &set.name,
                version: &set.version,
                digest: &set.digest,
            },
        )?;
        st.serialize_field("action_digest", &self.action_digest)?;
        match sample {
            Some(sample) => st.serialize_field("sample", sample)?,
            None => st.skip_field("sample")?,
        }
        st.end()
    }
}

/// The reasons, in the order src/eval/render.rs gives them.
fn reasons<'a>(v: &'a Verdict<'_>, slots: &'a [Slot<'_>]) -> impl Iterator<Item = ReasonView<'a>> {
    let program = v.program;
    let set = &program.set;
    let rule_reasons = v
        .contributors
        .iter()
        .filter(|c| c.with_reasons)
        .flat_map(move |c| {
            let name = contributor_name(set, c.rule);
            effect(set, c.rule)
                .map_or(&[][..], |e| &e.reasons)
                .iter()
                .map(move |r| ReasonView {
                    code: reason_code(set, *r),
                    message: Cow::Borrowed(reason_message(set, *r)),
                    rule: Some(name),
                })
        });
    let evidence = (!v.missing.is_empty()).then(|| {
        let names: Vec<&str> = v.missing.iter().map(|e| evidence_name(set, *e)).collect();
        engine_reason(set, builtin::EVIDENCE_MISSING, names.join(", "))
    });
    let resolved = &v.approvals;
    let approver = v.approvals_ran.then(|| {
        let escalated = (!resolved.escalated.is_empty()).then(|| {
            let steps: Vec<String> = resolved
                .escalated
                .iter()
                .map(|(from, to)| format!("{} -> {}", role_name(set, *from), role_name(set, *to)))
                .collect();
            engine_reason(set, builtin::APPROVER_ESCALATED, steps.join(", "))
        });
        let text = |code: usize, ids: &[usize]| {
            (!ids.is_empty()).then(|| {
                let parts: Vec<String> = ids
                    .iter()
                    .map(|r| approvals::ineligible_text(program, *r, slots))
                    .collect();
                engine_reason(set, code, parts.join(", "))
            })
        };
        [
            escalated,
            text(builtin::APPROVER_NOT_ELIGIBLE, &resolved.dropped),
            text(builtin::APPROVER_LIMIT_EXCEEDED, &resolved.exhausted),
        ]
    });
    rule_reasons
        .chain(evidence)
        .chain(approver.into_iter().flatten().flatten())
}

fn engine_reason(set: &PolicySet, code: usize, detail: String) -> ReasonView<'_> {
    ReasonView {
        code: reason_code(set, code),
        message: Cow::Owned(format!("{}: {detail}", reason_message(set, code))),
        rule: None,
    }
}

fn rules<'a>(v: &'a Verdict<'_>) -> impl Iterator<Item = RuleView<'a, impl Serialize + 'a>> {
    let program = v.program;
    let set = &program.set;
    v.contributors.iter().map(move |c| {
        let e = effect(set, c.rule);
        RuleView {
            name: contributor_name(set, c.rule),
            location: match c.rule {
                Some(r) => program
                    .rule_locations
                    .get(r as usize)
                    .map_or("", String::as_str),
                None => &program.default_location,
            },
            determining: c.own == v.outcome,
            outcome: c.own,
            tier: e
                .and_then(|e| e.tier)
                .and_then(|t| set.tiers.get(t))
                .map(|t| t.id),
            reasons: Seq(move || {
                let codes = if c.with_reasons {
                    e.map_or(&[][..], |e| &e.reasons)
                } else {
                    &[]
                };
                codes.iter().map(move |r| reason_code(set, *r))
            }),
        }
    })
}

fn groups<'a>(
    program: &'a Program,
    resolved: &'a Resolved,
) -> impl Iterator<Item = GroupView<impl Serialize + 'a>> {
    let set = &program.set;
    resolved.groups.iter().map(move |g| GroupView {
        count: g.count,
        roles: Seq(move || {
            resolved.roles_of(g).iter().map(move |r| RoleView {
                name: role_name(set, r.id),
                title: set.roles.get(r.id).and_then(|x| x.title.as_deref()),
                limit: program.limit_text.get(r.id).and_then(|l| l.as_deref()),
                escalated_from: r.escalated_from.map(|f| role_name(set, f)),
            })
        }),
    })
}

/// The identities an attribute names (a string, or each of a set), or one
/// entry with no identity when the attribute is absent.
fn forbidden<'a>(
    set: &'a PolicySet,
    attr: usize,
    slots: &'a [Slot<'_>],
) -> impl Iterator<Item = ForbiddenView<'a>> {
    let attribute = set.attributes.get(attr).map_or("", |a| a.path.as_str());
    let (one, many): (Option<Option<&'a str>>, &'a [Cow<'_, str>]) = match slots.get(attr) {
        Some(Slot::Str(s)) => (Some(Some(s.as_ref())), &[]),
        Some(Slot::Strings(items)) => (None, items.as_slice()),
        _ => (Some(None), &[]),
    };
    let identities = one.into_iter().chain(many.iter().map(|s| Some(s.as_ref())));
    identities.map(move |identity| ForbiddenView {
        attribute,
        identity,
    })
}

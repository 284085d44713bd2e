//! [`Verdict`] -> decision JSON, written straight from the verdict and
//! the policy without building the owned [`Decision`](super::Decision):
//! what `gatehouse eval --jsonl`, the service's `/v1/decide` and
//! [`crate::JsonDecider::write_json`] write. The text is byte for byte what
//! serializing [`Verdict::to_decision`] gives (tests/alloc.rs and
//! src/eval/render_json_tests.rs compare the two), so the field names and
//! order below follow src/eval/decision.rs, which is the contract.
//!
//! Why hand-written, without serde: this is measured speed work (issue
//! 19). The policy's static strings are escaped once per policy
//! (src/eval/render_fragments.rs) and the document is appended with
//! `extend_from_slice`; only what the input brings (identities, the digest)
//! is escaped per decision. `cargo bench --bench render` times it against
//! `to_decision` + serde_json; figures in docs/performance.md.

use serde::Serialize;

use super::approvals;
use super::decode::{Decoded, Slot};
use super::render::contributor_name;
use super::render_fragments::{
    Fragments, escape_into, outcome_json, quoted_into, sample_reason_head, u64_into,
};
use super::sample::{SampleFrom, sample_of, sampled};
use super::verdict::{State, Verdict};
use super::{EvalOptions, Input, Outcome};
use crate::check::builtin;

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
        if input.program == self.input_program && self.state == State::Decided {
            let at = out.len();
            if self
                .write_decided(&input.decoded, options, action_digest, out)
                .is_some()
            {
                return Ok(());
            }
            // A fragment was missing (an index out of the policy's range,
            // which compiling rules out): the owned decision's JSON, which
            // settles every such case, is written instead.
            out.truncate(at);
        }
        let mut d = self.to_decision(input, options);
        d.set_action_digest(action_digest.map(str::to_owned), options);
        write_document(out, &DocumentFormat::DECISION, &d, false)
    }

    /// The decided verdict's document, appended from the policy's
    /// fragments. `None` when a fragment is missing (see `write_json`).
    fn write_decided(
        &self,
        input: &Decoded<'_>,
        options: &EvalOptions,
        action_digest: Option<&str>,
        out: &mut Vec<u8>,
    ) -> Option<()> {
        let program = self.program;
        let set = &program.set;
        let f: &Fragments = program.fragments();
        let tier = self.tier_def();
        let sample = self
            .sample
            .and_then(|from| Some((from, sample_of(set, self.tier, from)?)))
            .map(|(from, share)| {
                let rule = match from {
                    SampleFrom::Tier => None,
                    SampleFrom::Rule(r) => Some(contributor_name(set, r)),
                };
                let drawn = sampled(share.ppm, options.sample_key.as_ref(), action_digest);
                (share, rule, drawn)
            });

        out.extend_from_slice(b"{\"format\":");
        out.extend_from_slice(DocumentFormat::DECISION.quoted.as_bytes());
        out.extend_from_slice(b",\"outcome\":");
        out.extend_from_slice(outcome_json(self.outcome));
        out.extend_from_slice(b",\"tier\":");
        match self.tier {
            Some(t) => out.extend_from_slice(f.tiers.get(t)?.as_bytes()),
            None => out.extend_from_slice(b"null"),
        }

        out.extend_from_slice(b",\"reasons\":[");
        let mut list = List::default();
        for c in self.contributors.iter().filter(|c| c.with_reasons) {
            let reasons = &f.rule(c.rule)?.reasons;
            if !reasons.is_empty() {
                list.next(out);
                out.extend_from_slice(reasons.as_bytes());
            }
        }
        if !self.missing.is_empty() {
            list.next(out);
            out.extend_from_slice(f.engine_reason(builtin::EVIDENCE_MISSING).as_bytes());
            out.extend_from_slice(b": ");
            for (i, e) in self.missing.iter().enumerate() {
                if i > 0 {
                    out.extend_from_slice(b", ");
                }
                out.extend_from_slice(f.evidence.get(*e)?.as_bytes());
            }
            out.extend_from_slice(ENGINE_REASON_END);
        }
        if self.approvals_ran {
            self.write_approver_reasons(f, &input.slots, &mut list, out)?;
        }
        if let Some((share, rule, true)) = sample {
            list.next(out);
            out.extend_from_slice(sample_reason_head().as_bytes());
            out.extend_from_slice(b": ");
            escape_into(out, &share.rate);
            out.extend_from_slice(b" of actions");
            match (rule, tier) {
                (Some(r), _) => {
                    out.extend_from_slice(b", set by rule ");
                    escape_into(out, r);
                }
                (None, Some(t)) => {
                    out.extend_from_slice(b", set by tier ");
                    u64_into(out, u64::from(t.id));
                }
                (None, None) => {}
            }
            out.extend_from_slice(ENGINE_REASON_END);
        }

        out.extend_from_slice(b"],\"rules\":[");
        for (i, c) in self.contributors.iter().enumerate() {
            let rule = f.rule(c.rule)?;
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(rule.head.as_bytes());
            out.extend_from_slice(bool_json(c.own == self.outcome));
            out.extend_from_slice(b",\"outcome\":");
            out.extend_from_slice(outcome_json(c.own));
            let tail = if c.with_reasons {
                &rule.tail
            } else {
                &rule.tail_silent
            };
            out.extend_from_slice(tail.as_bytes());
        }

        out.extend_from_slice(b"],\"approvals\":");
        if self.has_approvals {
            self.write_approvals(f, &input.slots, out)?;
        } else {
            out.extend_from_slice(b"null");
        }

        out.extend_from_slice(b",\"evidence\":{\"required\":[");
        write_names(f, &self.required, out)?;
        out.extend_from_slice(b"],\"missing\":[");
        write_names(f, &self.missing, out)?;
        out.extend_from_slice(b"],\"on_missing\":");
        if self.required.is_empty() {
            out.extend_from_slice(b"null}");
        } else {
            out.extend_from_slice(outcome_json(
                tier.map_or(Outcome::Block, |t| t.on_missing_evidence),
            ));
            out.push(b'}');
        }

        // The timeout and the conditions are the tier's, given only with
        // approvals (as src/eval/render.rs sets them).
        let timed = if self.has_approvals { self.tier } else { None };
        out.extend_from_slice(b",\"timeout\":");
        let timeout = timed.and_then(|t| Some((f.timeouts.get(t)?.as_ref()?, t)));
        match timeout {
            Some((fragments, t)) => {
                let to = set.tiers.get(t)?.timeout.as_ref()?;
                out.extend_from_slice(fragments.head.as_bytes());
                match options.now {
                    Some(now) => quoted_into(out, &now.plus_seconds(to.seconds).to_string()),
                    None => out.extend_from_slice(b"null"),
                }
                out.extend_from_slice(fragments.tail.as_bytes());
            }
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"conditions\":[");
        if let Some(t) = timed {
            for (i, (condition, holds)) in f
                .conditions
                .get(t)?
                .iter()
                .zip(&self.conditions)
                .enumerate()
            {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(condition.as_bytes());
                out.extend_from_slice(match holds {
                    Some(h) => bool_json(*h),
                    None => b"null",
                });
                out.push(b'}');
            }
        }
        out.push(b']');

        out.extend_from_slice(f.policy_tail.as_bytes());
        match action_digest {
            Some(d) => quoted_into(out, d),
            None => out.extend_from_slice(b"null"),
        }
        if let Some((share, rule, drawn)) = sample {
            out.extend_from_slice(b",\"sample\":{\"rate\":");
            quoted_into(out, &share.rate);
            out.extend_from_slice(b",\"ppm\":");
            u64_into(out, u64::from(share.ppm));
            out.extend_from_slice(b",\"sampled\":");
            out.extend_from_slice(bool_json(drawn));
            out.extend_from_slice(b",\"rule\":");
            match rule {
                Some(r) => quoted_into(out, r),
                None => out.extend_from_slice(b"null"),
            }
            out.extend_from_slice(b",\"tier\":");
            match tier {
                Some(t) => u64_into(out, u64::from(t.id)),
                None => out.extend_from_slice(b"null"),
            }
            out.push(b'}');
        }
        out.push(b'}');
        Some(())
    }

    /// The approver reasons (escalated, not eligible, limit exceeded), in
    /// the order src/eval/render.rs gives them.
    fn write_approver_reasons(
        &self,
        f: &Fragments,
        slots: &[Slot<'_>],
        list: &mut List,
        out: &mut Vec<u8>,
    ) -> Option<()> {
        let resolved = &self.approvals;
        if !resolved.escalated.is_empty() {
            list.next(out);
            out.extend_from_slice(f.engine_reason(builtin::APPROVER_ESCALATED).as_bytes());
            out.extend_from_slice(b": ");
            for (i, (from, to)) in resolved.escalated.iter().enumerate() {
                if i > 0 {
                    out.extend_from_slice(b", ");
                }
                out.extend_from_slice(f.roles.get(*from)?.name.as_bytes());
                out.extend_from_slice(b" -> ");
                out.extend_from_slice(f.roles.get(*to)?.name.as_bytes());
            }
            out.extend_from_slice(ENGINE_REASON_END);
        }
        for (code, ids) in [
            (builtin::APPROVER_NOT_ELIGIBLE, &resolved.dropped),
            (builtin::APPROVER_LIMIT_EXCEEDED, &resolved.exhausted),
        ] {
            if ids.is_empty() {
                continue;
            }
            list.next(out);
            out.extend_from_slice(f.engine_reason(code).as_bytes());
            out.extend_from_slice(b": ");
            for (i, r) in ids.iter().enumerate() {
                if i > 0 {
                    out.extend_from_slice(b", ");
                }
                // Rare (a limit routed the approval): the text is built.
                escape_into(out, &approvals::ineligible_text(self.program, *r, slots));
            }
            out.extend_from_slice(ENGINE_REASON_END);
        }
        Some(())
    }

    /// `approvals`: the groups, the forbidden approvers, distinctness.
    fn write_approvals(&self, f: &Fragments, slots: &[Slot<'_>], out: &mut Vec<u8>) -> Option<()> {
        let tier = self.tier_def();
        let resolved = &self.approvals;
        out.extend_from_slice(b"{\"count\":");
        u64_into(out, u64::from(self.approval_count));
        out.extend_from_slice(b",\"groups\":[");
        for (i, g) in resolved.groups.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(b"{\"roles\":[");
            for (j, r) in resolved.roles_of(g).iter().enumerate() {
                if j > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(f.roles.get(r.id)?.head.as_bytes());
                if let Some(from) = r.escalated_from {
                    out.extend_from_slice(b",\"escalated_from\":\"");
                    out.extend_from_slice(f.roles.get(from)?.name.as_bytes());
                    out.push(b'"');
                }
                out.push(b'}');
            }
            out.extend_from_slice(b"],\"count\":");
            u64_into(out, u64::from(g.count));
            out.push(b'}');
        }
        out.extend_from_slice(b"],\"forbidden_approvers\":[");
        let mut list = List::default();
        for a in tier.map_or(&[][..], |t| &t.forbid) {
            let head = f.forbidden.get(*a)?.as_bytes();
            let mut one = |out: &mut Vec<u8>, identity: Option<&str>| {
                list.next(out);
                out.extend_from_slice(head);
                match identity {
                    Some(s) => quoted_into(out, s),
                    None => out.extend_from_slice(b"null"),
                }
                out.push(b'}');
            };
            match slots.get(*a) {
                Some(Slot::Str(s)) => one(out, Some(s.as_ref())),
                Some(Slot::Strings(items)) => {
                    for s in items {
                        one(out, Some(s.as_ref()));
                    }
                }
                _ => one(out, None),
            }
        }
        out.extend_from_slice(b"],\"distinct_people\":");
        out.extend_from_slice(bool_json(
            self.outcome == Outcome::Dual || tier.is_some_and(|t| t.distinct_people),
        ));
        out.extend_from_slice(b",\"distinct_roles\":");
        out.extend_from_slice(bool_json(tier.is_some_and(|t| t.distinct_roles)));
        out.push(b'}');
        Some(())
    }
}

/// The end of an engine reason: its message's closing quote, no rule.
const ENGINE_REASON_END: &[u8] = b"\",\"rule\":null}";

fn bool_json(b: bool) -> &'static [u8] {
    if b { b"true" } else { b"false" }
}

/// Evidence names as a list of JSON strings (no brackets).
fn write_names(f: &Fragments, ids: &[usize], out: &mut Vec<u8>) -> Option<()> {
    for (i, e) in ids.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'"');
        out.extend_from_slice(f.evidence.get(*e)?.as_bytes());
        out.push(b'"');
    }
    Some(())
}

/// The separator state of a JSON array being written.
#[derive(Default)]
struct List {
    started: bool,
}

impl List {
    /// Writes the comma before every element but the first.
    fn next(&mut self, out: &mut Vec<u8>) {
        if self.started {
            out.push(b',');
        }
        self.started = true;
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

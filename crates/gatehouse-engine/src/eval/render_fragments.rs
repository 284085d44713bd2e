//! The policy's static strings as JSON fragments, escaped once per policy
//! (lazily, on the first decision written as JSON; kept in the
//! [`Program`]), so that writing a decision (src/eval/render_json.rs) is
//! mostly `extend_from_slice`. A fragment is either a whole piece of the
//! document (a rule's entry up to its outcome, a tier object, the policy
//! tail) or the escaped inside of one string (no quotes), which is what
//! the writer splices into messages built at decision time: escaping is
//! done byte by byte, so the escape of a concatenation is the
//! concatenation of the escapes.
//!
//! Invariant: every fragment is byte for byte what serde_json (compact)
//! writes for the same value, since the owned decision written through
//! serde is the contract (tests/alloc.rs and the property test in
//! src/eval/render_json_tests.rs compare them).

use super::render::{contributor_name, role_name};
use super::verdict::{effect, reason_code};
use super::{Outcome, reason_message};
use crate::check::{ExpiryAction, PolicySet, builtin};
use crate::compile::Program;

/// The escaped fragments of one policy (see the module documentation).
#[derive(Debug, Default)]
pub(crate) struct Fragments {
    /// By rule index, then one more for the default (empty when the
    /// policy has none).
    pub rules: Vec<RuleFragments>,
    /// By tier index: `{"id":N,"name":"..."}`.
    pub tiers: Vec<String>,
    /// By tier index: the pending-approval timeout, when the tier has one.
    pub timeouts: Vec<Option<TimeoutFragments>>,
    /// By tier index, each execution condition: `{"condition":"...","holds":`.
    pub conditions: Vec<Vec<String>>,
    /// By evidence index: the escaped name.
    pub evidence: Vec<String>,
    /// By role index.
    pub roles: Vec<RoleFragments>,
    /// By reason index: `{"code":"...","message":"` followed by the escaped
    /// message (for the engine's reasons, which append a detail).
    pub engine_reasons: Vec<String>,
    /// By attribute index: `{"attribute":"...","identity":`.
    pub forbidden: Vec<String>,
    /// `,"policy":{"name":"...","version":"...","digest":"..."},"action_digest":`.
    pub policy_tail: String,
}

/// A rule's (or the default's) pieces of the decision.
#[derive(Debug, Default)]
pub(crate) struct RuleFragments {
    /// `{"name":"...","location":"...","determining":`
    pub head: String,
    /// `,"tier":T,"reasons":["A",...]}`: the entry's end when its reasons
    /// are given.
    pub tail: String,
    /// `,"tier":T,"reasons":[]}`: when they are not.
    pub tail_silent: String,
    /// Its reasons in `reasons`, comma-separated objects
    /// `{"code":"...","message":"...","rule":"<name>"}` (empty: none).
    pub reasons: String,
}

/// A role's pieces.
#[derive(Debug, Default)]
pub(crate) struct RoleFragments {
    /// `{"name":"..."` with `,"title":"..."` and `,"limit":"..."` when set
    /// (no closing brace: `escalated_from` may follow).
    pub head: String,
    /// The escaped name.
    pub name: String,
}

/// A tier's timeout pieces.
#[derive(Debug, Default)]
pub(crate) struct TimeoutFragments {
    /// `{"after":"...","seconds":N,"expires_at":`
    pub head: String,
    /// `,"on_expiry":{"action":"..."[,"role":"..."]}}`
    pub tail: String,
}

impl Program {
    /// The program's fragments, escaped on the first call.
    pub(crate) fn fragments(&self) -> &Fragments {
        self.fragments.get_or_init(|| Fragments::build(self))
    }
}

impl Fragments {
    /// Escapes every static string of the program once.
    pub(crate) fn build(program: &Program) -> Fragments {
        let set = &program.set;
        let mut rules: Vec<RuleFragments> = (0..set.rules.len())
            .map(|r| {
                let location = program.rule_locations.get(r).map_or("", String::as_str);
                rule_fragments(set, u32::try_from(r).ok(), location)
            })
            .collect();
        rules.push(match &set.default {
            Some(_) => rule_fragments(set, None, &program.default_location),
            None => RuleFragments::default(),
        });
        let tiers = set
            .tiers
            .iter()
            .map(|t| {
                let mut s = String::from("{\"id\":");
                s.push_str(&t.id.to_string());
                s.push_str(",\"name\":");
                push_quoted(&mut s, &t.name);
                s.push('}');
                s
            })
            .collect();
        let timeouts = set
            .tiers
            .iter()
            .map(|t| {
                let to = t.timeout.as_ref()?;
                let mut head = String::from("{\"after\":");
                push_quoted(&mut head, &to.written);
                head.push_str(",\"seconds\":");
                head.push_str(&to.seconds.to_string());
                head.push_str(",\"expires_at\":");
                let mut tail = String::from(",\"on_expiry\":{\"action\":");
                match to.expiry {
                    ExpiryAction::Escalate(r) => {
                        tail.push_str("\"escalate\",\"role\":");
                        push_quoted(&mut tail, role_name(set, r));
                    }
                    ExpiryAction::Reject => tail.push_str("\"reject\""),
                    ExpiryAction::Block => tail.push_str("\"block\""),
                }
                tail.push_str("}}");
                Some(TimeoutFragments { head, tail })
            })
            .collect();
        let conditions = set
            .tiers
            .iter()
            .map(|t| {
                t.requirements
                    .iter()
                    .map(|r| {
                        let mut s = String::from("{\"condition\":");
                        push_quoted(&mut s, &r.text);
                        s.push_str(",\"holds\":");
                        s
                    })
                    .collect()
            })
            .collect();
        let evidence = set.evidence.iter().map(|e| escaped(&e.name)).collect();
        let roles = (0..set.roles.len())
            .map(|id| {
                let name = role_name(set, id);
                let mut head = String::from("{\"name\":");
                push_quoted(&mut head, name);
                if let Some(title) = set.roles.get(id).and_then(|r| r.title.as_deref()) {
                    head.push_str(",\"title\":");
                    push_quoted(&mut head, title);
                }
                if let Some(limit) = program.limit_text.get(id).and_then(|l| l.as_deref()) {
                    head.push_str(",\"limit\":");
                    push_quoted(&mut head, limit);
                }
                RoleFragments {
                    head,
                    name: escaped(name),
                }
            })
            .collect();
        let engine_reasons = (0..set.reasons.len())
            .map(|id| {
                let mut s = String::from("{\"code\":");
                push_quoted(&mut s, reason_code(set, id));
                s.push_str(",\"message\":\"");
                push_escaped(&mut s, reason_message(set, id));
                s
            })
            .collect();
        let forbidden = set
            .attributes
            .iter()
            .map(|a| {
                let mut s = String::from("{\"attribute\":");
                push_quoted(&mut s, &a.path);
                s.push_str(",\"identity\":");
                s
            })
            .collect();
        let mut policy_tail = String::from(",\"policy\":{\"name\":");
        push_quoted(&mut policy_tail, &set.name);
        policy_tail.push_str(",\"version\":");
        push_quoted(&mut policy_tail, &set.version);
        policy_tail.push_str(",\"digest\":");
        push_quoted(&mut policy_tail, &set.digest);
        policy_tail.push_str("},\"action_digest\":");
        Fragments {
            rules,
            tiers,
            timeouts,
            conditions,
            evidence,
            roles,
            engine_reasons,
            forbidden,
            policy_tail,
        }
    }

    /// A contributor's fragments: a rule by index, or the default.
    pub(crate) fn rule(&self, rule: Option<u32>) -> Option<&RuleFragments> {
        match rule {
            Some(r) => self.rules.get(r as usize),
            None => self.rules.last(),
        }
    }

    /// The engine reason's opening (see `engine_reasons`); builtin ids are
    /// always declared.
    pub(crate) fn engine_reason(&self, id: usize) -> &str {
        self.engine_reasons.get(id).map_or("", String::as_str)
    }
}

fn rule_fragments(set: &PolicySet, rule: Option<u32>, location: &str) -> RuleFragments {
    let name = contributor_name(set, rule);
    let e = effect(set, rule);
    let mut head = String::from("{\"name\":");
    push_quoted(&mut head, name);
    head.push_str(",\"location\":");
    push_quoted(&mut head, location);
    head.push_str(",\"determining\":");
    let mut tier = String::from(",\"tier\":");
    match e.and_then(|e| e.tier).and_then(|t| set.tiers.get(t)) {
        Some(t) => tier.push_str(&t.id.to_string()),
        None => tier.push_str("null"),
    }
    tier.push_str(",\"reasons\":[");
    let mut tail = tier.clone();
    let mut reasons = String::new();
    for (i, r) in e.map_or(&[][..], |e| &e.reasons).iter().enumerate() {
        if i > 0 {
            tail.push(',');
            reasons.push(',');
        }
        push_quoted(&mut tail, reason_code(set, *r));
        reasons.push_str("{\"code\":");
        push_quoted(&mut reasons, reason_code(set, *r));
        reasons.push_str(",\"message\":");
        push_quoted(&mut reasons, reason_message(set, *r));
        reasons.push_str(",\"rule\":");
        push_quoted(&mut reasons, name);
        reasons.push('}');
    }
    tail.push_str("]}");
    tier.push_str("]}");
    RuleFragments {
        head,
        tail,
        tail_silent: tier,
        reasons,
    }
}

/// The outcome as a JSON string (`"auto"`, ...), as serde writes it.
pub(crate) fn outcome_json(outcome: Outcome) -> &'static [u8] {
    match outcome {
        Outcome::Auto => b"\"auto\"",
        Outcome::Queue => b"\"queue\"",
        Outcome::Explicit => b"\"explicit\"",
        Outcome::Dual => b"\"dual\"",
        Outcome::Block => b"\"block\"",
    }
}

/// The SAMPLED_FOR_REVIEW reason's opening, up to its message's detail.
pub(crate) fn sample_reason_head() -> &'static str {
    static HEAD: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HEAD.get_or_init(|| {
        let (code, message) = builtin::ALL
            .get(builtin::SAMPLED_FOR_REVIEW)
            .copied()
            .unwrap_or(("", ""));
        let mut s = String::from("{\"code\":");
        push_quoted(&mut s, code);
        s.push_str(",\"message\":\"");
        push_escaped(&mut s, message);
        s
    })
}

fn escaped(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    push_escaped(&mut out, s);
    out
}

fn push_quoted(out: &mut String, s: &str) {
    out.push('"');
    push_escaped(out, s);
    out.push('"');
}

fn push_escaped(out: &mut String, s: &str) {
    let mut bytes = Vec::with_capacity(s.len());
    escape_into(&mut bytes, s);
    // Escaping keeps UTF-8: it replaces ASCII bytes with ASCII text.
    out.push_str(&String::from_utf8_lossy(&bytes));
}

/// Appends `s` escaped as inside a JSON string, exactly as serde_json's
/// compact writer does: `"` and `\` backslashed, the control characters
/// below 0x20 as `\b \t \n \f \r` or `\u00xx` (lowercase hex), everything
/// else (DEL, non-ASCII, `/`) as is.
pub(crate) fn escape_into(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let short: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            0x09 => b"\\t",
            0x0A => b"\\n",
            0x0C => b"\\f",
            0x0D => b"\\r",
            0x00..=0x1F => b"",
            _ => continue,
        };
        out.extend_from_slice(bytes.get(start..i).unwrap_or_default());
        if short.is_empty() {
            let hi = HEX.get(usize::from(b >> 4)).copied().unwrap_or(b'0');
            let lo = HEX.get(usize::from(b & 0xF)).copied().unwrap_or(b'0');
            out.extend_from_slice(&[b'\\', b'u', b'0', b'0', hi, lo]);
        } else {
            out.extend_from_slice(short);
        }
        start = i + 1;
    }
    out.extend_from_slice(bytes.get(start..).unwrap_or_default());
}

/// Appends `s` as a JSON string.
pub(crate) fn quoted_into(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    escape_into(out, s);
    out.push(b'"');
}

/// Appends an unsigned integer in decimal, as serde_json writes it.
pub(crate) fn u64_into(out: &mut Vec<u8>, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut at = buf.len();
    loop {
        at -= 1;
        if let Some(d) = buf.get_mut(at) {
            // n % 10 < 10: the cast keeps it.
            *d = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || at == 0 {
            break;
        }
    }
    out.extend_from_slice(buf.get(at..).unwrap_or_default());
}

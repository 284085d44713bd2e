//! The decision as a short account a reviewer can read (`--explain`).

use std::fmt::Write as _;

use super::{Decision, Outcome};

impl Decision {
    /// The decision as a short account a reviewer can read (what
    /// `gatehouse eval --explain` prints): the outcome, why, who must
    /// approve and who may not, what evidence is missing, when it expires,
    /// what must hold before execution.
    pub fn explain(&self) -> String {
        explain(self)
    }
}

fn explain(d: &Decision) -> String {
    let mut s = String::new();
    let headline = match d.outcome {
        Outcome::Auto => "AUTO: may execute now (logged for audit)",
        Outcome::Queue => "QUEUE: hold for review; batch approval allowed",
        Outcome::Explicit => "EXPLICIT: one authorized person must approve, with a reason",
        Outcome::Dual => "DUAL: two distinct authorized people must approve",
        Outcome::Block => "BLOCK: must not execute through this path",
    };
    let _ = writeln!(s, "{headline}");
    if let Some(t) = &d.tier {
        let _ = writeln!(s, "tier {} \"{}\"", t.id, t.name);
    }
    let _ = writeln!(
        s,
        "policy {} {} ({})",
        d.policy.name, d.policy.version, d.policy.digest
    );
    if let Some(digest) = &d.action_digest {
        let _ = writeln!(s, "action {digest} (approvals must name this digest)");
    }
    if let Some(sample) = &d.sample {
        let from = match (&sample.rule, sample.tier) {
            (Some(rule), _) => format!("rule {}", shown(rule)),
            (None, Some(t)) => format!("tier {t}"),
            (None, None) => "the policy".to_owned(),
        };
        if sample.sampled {
            let _ = writeln!(
                s,
                "sampled for review after the fact ({}, {from}): the draw from this action's digest fell in the share",
                sample.rate
            );
        } else {
            let _ = writeln!(
                s,
                "not sampled ({}, {from}): the draw from this action's digest fell outside the share",
                sample.rate
            );
        }
    }

    let _ = writeln!(s, "\nwhy:");
    if d.reasons.is_empty() {
        let _ = writeln!(s, "  (no reason codes)");
    }
    for r in &d.reasons {
        let by = match &r.rule {
            Some(rule) => {
                let m = d.rules.iter().find(|m| &m.name == rule);
                match m {
                    Some(m) if m.determining => {
                        format!(" [rule {} at {}, determining]", m.name, m.location)
                    }
                    Some(m) => format!(" [rule {} at {}]", m.name, m.location),
                    None => format!(" [rule {rule}]"),
                }
            }
            None => String::new(),
        };
        // INVALID_INPUT's message ends with every input error, which are
        // listed one per line below: print each of them once.
        let message = if r.code == "INVALID_INPUT" && !d.input_errors.is_empty() {
            let detail: Vec<String> = d.input_errors.iter().map(ToString::to_string).collect();
            r.message
                .strip_suffix(&detail.join("; "))
                .and_then(|m| m.strip_suffix(": "))
                .unwrap_or(&r.message)
        } else {
            &r.message
        };
        let _ = writeln!(s, "  - {}: {}{by}", shown(&r.code), shown(message));
    }
    for e in &d.input_errors {
        let _ = writeln!(s, "  - input {}: {}", shown(&e.path), shown(&e.message));
    }

    if let Some(a) = &d.approvals {
        let mut constraints = Vec::new();
        if a.distinct_people {
            constraints.push("distinct people");
        }
        if a.distinct_roles {
            constraints.push("distinct roles");
        }
        let extra = if constraints.is_empty() {
            String::new()
        } else {
            format!(", {}", constraints.join(", "))
        };
        let _ = writeln!(
            s,
            "\nwho must approve ({} approval{}{extra}):",
            a.count,
            if a.count == 1 { "" } else { "s" }
        );
        if a.groups.is_empty() {
            let _ = writeln!(s, "  - any authorized reviewer");
        }
        for g in &a.groups {
            let roles: Vec<String> = g
                .roles
                .iter()
                .map(|r| {
                    let mut t = r.name.clone();
                    if let Some(l) = &r.limit {
                        t.push_str(&format!(" (limit {l})"));
                    }
                    if let Some(f) = &r.escalated_from {
                        t.push_str(&format!(" (escalated from {f}, whose limit is exceeded)"));
                    }
                    t
                })
                .collect();
            let _ = writeln!(s, "  - {} of: {}", g.count, roles.join(" or "));
        }
        let forbidden: Vec<String> = a
            .forbidden_approvers
            .iter()
            .map(|f| match &f.identity {
                Some(id) => format!("{} ({})", shown(id), f.attribute),
                None => format!("whoever {} names (absent here)", f.attribute),
            })
            .collect();
        if !forbidden.is_empty() {
            let _ = writeln!(s, "  may not approve: {}", forbidden.join(", "));
        }
    }

    if !d.evidence.required.is_empty() {
        if d.evidence.missing.is_empty() {
            let _ = writeln!(
                s,
                "\nevidence: all present ({})",
                d.evidence.required.join(", ")
            );
        } else {
            let _ = writeln!(
                s,
                "\nevidence missing: {} (required: {})",
                d.evidence.missing.join(", "),
                d.evidence.required.join(", ")
            );
        }
    }

    if let Some(t) = &d.timeout {
        let at = t
            .expires_at
            .as_ref()
            .map(|e| format!(" (at {e})"))
            .unwrap_or_default();
        let then = match &t.on_expiry.role {
            Some(r) => format!("escalate to {r}"),
            None => t.on_expiry.action.clone(),
        };
        let _ = writeln!(
            s,
            "\nexpires: {} after the request{at}, then {then}",
            t.after
        );
    }

    if !d.conditions.is_empty() {
        let _ = writeln!(s, "\nbefore executing:");
        for c in &d.conditions {
            let status = match c.holds {
                Some(true) => "holds now",
                Some(false) => "does NOT hold now",
                None => "to be confirmed by a person",
            };
            let _ = writeln!(s, "  - {}: {status}", c.condition);
        }
    }
    s
}

/// Text from the input (an identity, a key in a path, a value in an error
/// message) as the account shows it: control characters (newlines, escape
/// sequences, C1 controls) and bidirectional overrides are written as
/// `\u{..}`, so an agent cannot start a line of its own ("AUTO: no approval
/// needed") or repaint the reviewer's terminal.
fn shown(text: &str) -> std::borrow::Cow<'_, str> {
    let hidden =
        |c: char| c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
    if !text.chars().any(hidden) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if hidden(c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod shown_tests {
    use super::shown;

    #[test]
    fn input_text_cannot_start_a_line_or_send_escapes() {
        assert_eq!(shown("agent-7"), "agent-7");
        assert_eq!(
            shown("a\n\nAUTO: x\u{1b}[2J"),
            "a\\u{a}\\u{a}AUTO: x\\u{1b}[2J"
        );
        assert_eq!(shown("x\u{202E}y"), "x\\u{202e}y");
    }
}

//! Counts of declarations against [`crate::limits`]. Checked before
//! anything else, so a policy set of a million rules is refused in one pass
//! instead of being checked, compiled and linted.

use std::sync::Arc;

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::limits::{
    MAX_ATTRIBUTES, MAX_ENUM_VALUES, MAX_EVIDENCE, MAX_REASONS, MAX_ROLES, MAX_RULES, MAX_TIERS,
};
use crate::source::{SourceFile, Span};
use crate::syntax::ast::{self, Declaration, TypeExpr};

/// One kind of declaration being counted.
struct Counter {
    what: &'static str,
    limit: usize,
    seen: usize,
}

impl Counter {
    fn new(what: &'static str, limit: usize) -> Counter {
        Counter {
            what,
            limit,
            seen: 0,
        }
    }

    /// Counts one more; the first one past the limit is reported, at its
    /// own place.
    fn add(&mut self, file: &Arc<SourceFile>, span: Span, out: &mut Diagnostics) {
        self.seen += 1;
        if self.seen == self.limit + 1 {
            out.push(Diagnostic::new(
                Code::LimitExceeded,
                file,
                span,
                format!(
                    "more than {} {} in the policy set",
                    self.limit, self.what
                ),
                format!("{} number {}", singular(self.what), self.seen),
                format!(
                    "the limit is {} {}; split the policy into separate policy sets, or generalize declarations (one rule with `in [...]` instead of one rule per value)",
                    self.limit, self.what
                ),
            ));
        }
    }
}

fn singular(what: &str) -> &str {
    match what {
        "evidence fields" => "evidence field",
        "enum values" => "value",
        other => other.strip_suffix('s').unwrap_or(other),
    }
}

/// Every declaration count over its limit, as errors.
pub(super) fn check_counts(files: &[ast::File]) -> Diagnostics {
    let mut out = Diagnostics::default();
    let mut rules = Counter::new("rules", MAX_RULES);
    let mut attributes = Counter::new("attributes", MAX_ATTRIBUTES);
    let mut evidence = Counter::new("evidence fields", MAX_EVIDENCE);
    let mut roles = Counter::new("roles", MAX_ROLES);
    let mut tiers = Counter::new("tiers", MAX_TIERS);
    let mut reasons = Counter::new("reasons", MAX_REASONS);
    for file in files {
        let src = &file.source;
        for d in &file.declarations {
            match d {
                Declaration::Rule(r) => rules.add(src, r.name.span, &mut out),
                Declaration::Schema(attrs) => {
                    for a in attrs {
                        attributes.add(src, a.path.span, &mut out);
                        enum_values(src, &a.ty, &mut out);
                    }
                }
                Declaration::Evidence(fields) => {
                    for f in fields {
                        evidence.add(src, f.span, &mut out);
                    }
                }
                Declaration::Role(r) => roles.add(src, r.name.span, &mut out),
                Declaration::Tier(t) => tiers.add(src, t.id_span, &mut out),
                Declaration::Reason(r) => reasons.add(src, r.code.span, &mut out),
                Declaration::Header(_) | Declaration::Default(_) => {}
            }
        }
    }
    out
}

fn enum_values(file: &Arc<SourceFile>, ty: &TypeExpr, out: &mut Diagnostics) {
    match ty {
        TypeExpr::Enum(values) => {
            let mut counter = Counter::new("enum values", MAX_ENUM_VALUES);
            for v in values {
                counter.add(file, v.span, out);
            }
        }
        TypeExpr::Set(inner, _) => enum_values(file, inner, out),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use crate::Policy;
    use crate::diagnostic::Code;
    use crate::limits::{MAX_EVIDENCE, MAX_ROLES, MAX_RULES};

    const HEADER: &str = "policy \"p\" version \"1\"\nschema { action.amount: number? }\ntier 0 \"t\" { outcome auto }\ndefault tier 0\n";

    fn refused(text: &str) -> (usize, String) {
        let Err(errors) = Policy::from_source("big.gate", text) else {
            panic!("refused");
        };
        let d = errors
            .0
            .iter()
            .find(|d| d.code == Code::LimitExceeded)
            .expect("a limit diagnostic");
        let line = d.location().map(|l| l.line).unwrap_or(0);
        (line, d.message.clone())
    }

    #[test]
    fn too_many_rules_points_at_the_first_one_over() {
        let mut text = HEADER.to_owned();
        for i in 0..=MAX_RULES {
            text.push_str(&format!("rule r{i} when action.amount > {i} then tier 0\n"));
        }
        let (line, message) = refused(&text);
        assert_eq!(line, 5 + MAX_RULES);
        assert_eq!(
            message,
            format!("more than {MAX_RULES} rules in the policy set")
        );
    }

    #[test]
    fn too_many_roles_and_evidence_fields() {
        let mut text = HEADER.to_owned();
        for i in 0..=MAX_ROLES {
            text.push_str(&format!("role r{i}\n"));
        }
        assert!(refused(&text).1.contains("roles"));
        let fields: Vec<String> = (0..=MAX_EVIDENCE).map(|i| format!("e{i}")).collect();
        let text = format!("{HEADER}evidence {{ {} }}\n", fields.join(", "));
        assert!(refused(&text).1.contains("evidence fields"));
    }
}

//! A reference evaluator for gatehouse policies, written from
//! docs/language.md (not from src/eval), for differential testing
//! (tests/differential.rs).
//!
//! It is deliberately naive: it walks the syntax tree of the policy files
//! (`gatehouse::syntax::parse`) and looks every name up by its text each
//! time it needs it; it reads attribute values straight out of the JSON
//! input by walking their dotted paths; and it follows the steps of the
//! "Combining" section of the language reference one by one. It uses no
//! part of the engine's checker, compiler or evaluator: only the parser, the
//! public decision types, the exact value types (`Decimal`, durations,
//! `Timestamp`) and the action digest.
//!
//! It assumes the policy compiles (the differential test checks that with
//! the engine first): it does not report policy errors.
//!
//! Where the language reference leaves a detail open (the wording of
//! input-error messages, the order of input errors, the text of a role's
//! limit), the reference follows what the engine emits, and says so where
//! it does: the property compares whole decisions, so these must match too.

pub mod generate;

use std::fmt::Write as _;

use gatehouse::audit::digest::action_digest;
pub mod shapes;

use gatehouse::source::SourceFile;
use gatehouse::syntax::{
    self,
    ast::{
        ApproverKind, Approvers, Attribute, CmpOp, CombineMode, Consequence, Declaration, Default,
        Expiry, Expr, ExprKind, File, Literal, LiteralValue, Operand, Predicate, Requirement, Role,
        Rule, Test, Tier, TierClause, TypeExpr,
    },
};
use gatehouse::values::{Decimal, Timestamp, parse_duration};
use gatehouse::{EvalOptions, Outcome};
use serde_json::Value as Json;
use sha2::{Digest as _, Sha256};
use shapes::{
    ApprovalRequirement, ApproverGroup, ApproverRole, Condition, Decision, EvidenceStatus,
    ExpiryInfo, ForbiddenApprover, InputError, MatchedRule, PolicyRef, Reason, TierRef,
    TimeoutInfo,
};

/// The built-in reason codes and their messages (docs/language.md,
/// "Reasons": the table of built-in codes).
const BUILTIN_REASONS: &[(&str, &str)] = &[
    ("NO_RULE_MATCHED", "no rule matched this action"),
    ("EVIDENCE_MISSING", "required evidence is missing"),
    (
        "INVALID_INPUT",
        "the action does not match the policy's input schema",
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
        "APPROVER_LIMIT_EXCEEDED",
        "no eligible role's approval limit covers this action",
    ),
    (
        "SAMPLED_FOR_REVIEW",
        "the action executes now and is sampled for review after the fact",
    ),
];

/// A policy set as parsed: its files, in the order rules are taken.
pub struct RefPolicy {
    files: Vec<File>,
    known: KnownEngineBugs,
}

/// Where the engine is known to differ from docs/language.md. By default the
/// reference follows the documentation exactly; the differential property
/// tolerates these known engine bugs (each has an ignored test that
/// reproduces it in tests/differential.rs), so that it keeps finding new
/// ones. Remove a flag once the engine is fixed.
#[derive(Clone, Copy, Debug, Default)]
pub struct KnownEngineBugs {
    /// "Combining", step 6: a role replaced by a role already in its group
    /// was still replaced, so `APPROVER_ESCALATED` names it; the engine
    /// leaves the step out.
    pub escalation_into_listed_role_unreported: bool,
}

/// A typed attribute value read from the input.
#[derive(Clone, Debug)]
enum Val {
    Bool(bool),
    Num(Decimal),
    Str(String),
    Enum(String),
    Dur(i64),
    Ts(Timestamp),
    /// A set of strings or of enum values, as the strings written.
    Set(Vec<String>),
}

/// What one rule (or the default) asks for, read from its consequences.
struct Effect<'p> {
    tier: Option<u32>,
    at_least: Option<Outcome>,
    evidence: Vec<&'p str>,
    /// Approver groups: roles (by name) and how many approvals.
    approvals: Vec<(Vec<&'p str>, u32)>,
    /// `sample N% for review`: the share as written (without `%`).
    sample: Option<&'p str>,
}

/// A matching rule, or the default when it counts.
struct Contributor<'p> {
    name: String,
    location: String,
    effect: Effect<'p>,
    because: Vec<&'p str>,
    /// The default's reasons are given only when no rule matched.
    gives_reasons: bool,
}

impl RefPolicy {
    /// Parses `(file name, text)` pairs. Panics when a file does not parse:
    /// the caller compiled the same sources with the engine first.
    pub fn parse(sources: &[(String, String)]) -> RefPolicy {
        let mut files: Vec<File> = sources
            .iter()
            .map(|(name, text)| {
                syntax::parse(&SourceFile::new(name.clone(), text.clone()))
                    .unwrap_or_else(|e| panic!("{name} does not parse: {}", e.render(false)))
            })
            .collect();
        // "rules are taken file by file in file-name order": byte order of
        // the names (the set's files share one directory, so the full name
        // orders them the same way).
        files.sort_by(|a, b| {
            base_name(&a.source.name)
                .cmp(base_name(&b.source.name))
                .then_with(|| a.source.name.cmp(&b.source.name))
        });
        RefPolicy {
            files,
            known: KnownEngineBugs::default(),
        }
    }

    /// The same policy, tolerating the known engine bugs given.
    pub fn tolerating(mut self, known: KnownEngineBugs) -> RefPolicy {
        self.known = known;
        self
    }

    // ------------------------------------------------------- look-ups --

    fn declarations(&self) -> impl Iterator<Item = (&File, &Declaration)> {
        self.files
            .iter()
            .flat_map(|f| f.declarations.iter().map(move |d| (f, d)))
    }

    fn header(&self) -> &gatehouse::syntax::ast::Header {
        self.declarations()
            .find_map(|(_, d)| match d {
                Declaration::Header(h) => Some(h),
                _ => None,
            })
            .expect("a compiled policy has a header")
    }

    fn combine(&self) -> CombineMode {
        self.header().combine.map(|(m, _)| m).unwrap_or_default()
    }

    fn attributes(&self) -> Vec<&Attribute> {
        self.declarations()
            .filter_map(|(_, d)| match d {
                Declaration::Schema(attrs) => Some(attrs.iter()),
                _ => None,
            })
            .flatten()
            .collect()
    }

    fn attribute(&self, path: &str) -> &Attribute {
        self.attributes()
            .into_iter()
            .find(|a| a.path.name == path)
            .unwrap_or_else(|| panic!("attribute `{path}` is declared"))
    }

    fn evidence_fields(&self) -> Vec<&str> {
        self.declarations()
            .filter_map(|(_, d)| match d {
                Declaration::Evidence(fields) => Some(fields.iter().map(|f| f.name.as_str())),
                _ => None,
            })
            .flatten()
            .collect()
    }

    fn role(&self, name: &str) -> &Role {
        self.declarations()
            .find_map(|(_, d)| match d {
                Declaration::Role(r) if r.name.name == name => Some(r),
                _ => None,
            })
            .unwrap_or_else(|| panic!("role `{name}` is declared"))
    }

    fn tier(&self, id: u32) -> &Tier {
        self.declarations()
            .find_map(|(_, d)| match d {
                Declaration::Tier(t) if t.id == id => Some(t),
                _ => None,
            })
            .unwrap_or_else(|| panic!("tier {id} is declared"))
    }

    fn tier_outcome(&self, id: u32) -> Outcome {
        self.tier(id)
            .clauses
            .iter()
            .find_map(|c| match c {
                TierClause::Outcome(o, _) => Some(*o),
                _ => None,
            })
            .expect("a tier has an outcome")
    }

    fn reason_message(&self, code: &str) -> String {
        if let Some((_, m)) = BUILTIN_REASONS.iter().find(|(c, _)| *c == code) {
            return (*m).to_owned();
        }
        self.declarations()
            .find_map(|(_, d)| match d {
                Declaration::Reason(r) if r.code.name == code => Some(r.message.value.clone()),
                _ => None,
            })
            .unwrap_or_else(|| panic!("reason `{code}` is declared"))
    }

    fn rules(&self) -> Vec<(&File, &Rule)> {
        self.declarations()
            .filter_map(|(f, d)| match d {
                Declaration::Rule(r) => Some((f, r)),
                _ => None,
            })
            .collect()
    }

    fn default(&self) -> Option<(&File, &Default)> {
        self.declarations().find_map(|(f, d)| match d {
            Declaration::Default(def) => Some((f, def)),
            _ => None,
        })
    }

    /// `sha256:` over each file's name (without directories) and text, in
    /// name order, each part preceded by its length as 8 little-endian
    /// bytes (the scheme `check::digest` documents).
    fn digest(&self) -> String {
        let mut files: Vec<&File> = self.files.iter().collect();
        files.sort_by(|a, b| a.source.name.cmp(&b.source.name));
        let mut h = Sha256::new();
        for f in files {
            for part in [base_name(&f.source.name), f.source.text.as_str()] {
                h.update((part.len() as u64).to_le_bytes());
                h.update(part.as_bytes());
            }
        }
        let mut out = String::from("sha256:");
        for b in h.finalize() {
            let _ = write!(out, "{b:02x}");
        }
        out
    }

    fn policy_ref(&self) -> PolicyRef {
        let h = self.header();
        PolicyRef {
            name: h.name.value.clone(),
            version: h.version.value.clone(),
            digest: self.digest(),
        }
    }

    // ------------------------------------------------------ the input --

    /// Reads every declared attribute from the input by walking its path
    /// ("The schema: attributes and types"). Returns the present values by
    /// path, or every problem with its JSON path.
    fn read_input(
        &self,
        input: &Json,
        strict: bool,
    ) -> Result<Vec<(String, Val)>, Vec<InputError>> {
        let Json::Object(root) = input else {
            return Err(vec![InputError {
                path: "$".into(),
                message: format!("expected an object, found {}", kind(input)),
            }]);
        };
        let attributes = self.attributes();
        let paths: Vec<Vec<&str>> = attributes
            .iter()
            .map(|a| a.path.name.split('.').collect())
            .collect();
        // Errors are listed in the order of the schema's paths: siblings in
        // the order they are first declared, an object's undeclared fields
        // after its declared ones, the evidence pack last. (The language
        // reference does not fix an order; this is the engine's, which
        // decodes the input as a tree of the schema's paths.)
        let order_of = |segments: &[&str]| -> Vec<(u8, usize)> {
            (1..=segments.len())
                .map(|k| {
                    let first = paths
                        .iter()
                        .position(|p| p.len() >= k && p[..k] == segments[..k])
                        .expect("a declared prefix");
                    (0, first)
                })
                .collect()
        };
        let mut errors: Vec<(Vec<(u8, usize)>, InputError)> = Vec::new();
        let mut values = Vec::new();

        for (attribute, segments) in attributes.iter().zip(&paths) {
            let (parents, last) = segments.split_at(segments.len() - 1);
            // Walk the parents: absent or null makes everything below absent.
            let mut object = Some(root);
            let mut broken = false;
            for (k, key) in parents.iter().enumerate() {
                match object.and_then(|o| o.get(*key)) {
                    None | Some(Json::Null) => object = None,
                    Some(Json::Object(o)) => object = Some(o),
                    Some(other) => {
                        let at = &segments[..=k];
                        let path = json_path(at);
                        if !errors.iter().any(|(_, e)| e.path == path) {
                            errors.push((
                                order_of(at),
                                InputError {
                                    path,
                                    message: format!("expected an object, found {}", kind(other)),
                                },
                            ));
                        }
                        broken = true;
                        break;
                    }
                }
            }
            if broken {
                continue;
            }
            let value = object.and_then(|o| o.get(last[0])).filter(|v| !v.is_null());
            match value {
                None if attribute.optional => {}
                None => errors.push((
                    order_of(segments),
                    InputError {
                        path: json_path(segments),
                        message: format!(
                            "missing required attribute `{}` ({})",
                            attribute.path.name,
                            describe(&attribute.ty)
                        ),
                    },
                )),
                Some(v) => match read_value(&attribute.ty, v) {
                    Ok(val) => values.push((attribute.path.name.clone(), val)),
                    Err(message) => errors.push((
                        order_of(segments),
                        InputError {
                            path: json_path(segments),
                            message,
                        },
                    )),
                },
            }
        }

        if strict {
            // Every object the schema describes: the root and each parent
            // of a declared attribute. Undeclared keys in them are rejected.
            let mut objects: Vec<&[&str]> = vec![&[]];
            for p in &paths {
                for k in 1..p.len() {
                    if !objects.contains(&&p[..k]) {
                        objects.push(&p[..k]);
                    }
                }
            }
            for prefix in objects {
                let mut at = Some(root);
                for key in prefix {
                    at = match at.and_then(|o| o.get(*key)) {
                        Some(Json::Object(o)) => Some(o),
                        _ => None,
                    };
                }
                let Some(object) = at else { continue };
                for (position, key) in object.keys().enumerate() {
                    let declared = paths.iter().any(|p| {
                        p.len() > prefix.len()
                            && p[..prefix.len()] == *prefix
                            && p[prefix.len()] == key
                    });
                    if declared || (prefix.is_empty() && key == "evidence") {
                        continue;
                    }
                    let mut order = if prefix.is_empty() {
                        Vec::new()
                    } else {
                        order_of(prefix)
                    };
                    order.push((1, position));
                    let mut segments = prefix.to_vec();
                    segments.push(key);
                    errors.push((
                        order,
                        InputError {
                            path: json_path(&segments),
                            message: "unknown field (rejected by --strict)".into(),
                        },
                    ));
                }
            }
        }

        // The evidence pack: absent or null is fine, an object is read
        // field by field, anything else is invalid.
        match root.get("evidence") {
            None | Some(Json::Null) => {}
            Some(Json::Object(pack)) => {
                if strict {
                    let declared = self.evidence_fields();
                    for (position, key) in pack.keys().enumerate() {
                        if !declared.contains(&key.as_str()) {
                            errors.push((
                                vec![(2, 1 + position)],
                                InputError {
                                    path: json_path(&["evidence", key]),
                                    message: "unknown evidence field (rejected by --strict)".into(),
                                },
                            ));
                        }
                    }
                }
            }
            Some(other) => errors.push((
                vec![(2, 0)],
                InputError {
                    path: "$.evidence".into(),
                    message: format!(
                        "expected an object of evidence fields, found {}",
                        kind(other)
                    ),
                },
            )),
        }

        if errors.is_empty() {
            Ok(values)
        } else {
            errors.sort_by(|a, b| a.0.cmp(&b.0));
            // `--strict` lists the first 20 unknown fields and counts the
            // rest in one entry at `$` (docs/language.md, "Limits").
            let mut listed = 0;
            let mut out = Vec::new();
            for (_, e) in errors {
                if e.message.ends_with("field (rejected by --strict)") {
                    listed += 1;
                    if listed > 20 {
                        continue;
                    }
                }
                out.push(e);
            }
            if listed > 20 {
                let more = listed - 20;
                out.push(InputError {
                    path: "$".into(),
                    message: format!(
                        "{more} more unknown field{} (rejected by --strict; the first 20 are listed)",
                        if more == 1 { "" } else { "s" }
                    ),
                });
            }
            Err(out)
        }
    }

    // ----------------------------------------------------- conditions --

    /// Whether a condition holds ("Conditions", "Absent attributes").
    fn holds(&self, expr: &Expr, values: &[(String, Val)]) -> bool {
        match &expr.kind {
            ExprKind::And(parts) => parts.iter().all(|p| self.holds(p, values)),
            ExprKind::Or(parts) => parts.iter().any(|p| self.holds(p, values)),
            ExprKind::Not(inner) => !self.holds(inner, values),
            ExprKind::Predicate(p) => self.test(p, values),
        }
    }

    fn test(&self, p: &Predicate, values: &[(String, Val)]) -> bool {
        let attribute = self.attribute(&p.attribute.name);
        let Some(value) = lookup(values, &p.attribute.name) else {
            // Every test on an absent attribute is false, except `missing`.
            return matches!(p.test, Some(Test::Missing));
        };
        let ty = &attribute.ty;
        let Some(test) = &p.test else {
            // A bool attribute alone: it is true.
            return matches!(value, Val::Bool(true));
        };
        match test {
            Test::Exists => true,
            Test::Missing => false,
            Test::Compare(op, Operand::Literal(lit)) => compare(*op, value, &literal(ty, lit)),
            Test::Compare(op, Operand::Name(name)) => {
                // A bare name: a value of the enum first, else an attribute.
                if let TypeExpr::Enum(choices) = ty
                    && choices.iter().any(|c| c.name == name.name)
                {
                    return compare(*op, value, &Val::Enum(name.name.clone()));
                }
                match lookup(values, &name.name) {
                    Some(other) => compare(*op, value, other),
                    None => false,
                }
            }
            Test::In(list, _) => list
                .iter()
                .any(|l| compare(CmpOp::Eq, value, &literal(ty, l))),
            Test::NotIn(list, _) => !list
                .iter()
                .any(|l| compare(CmpOp::Eq, value, &literal(ty, l))),
            Test::Contains(l) => contains(value, l),
            Test::ContainsAny(list, _) => list.iter().any(|l| contains(value, l)),
            Test::ContainsAll(list, _) => list.iter().all(|l| contains(value, l)),
            Test::Matches(pattern) => match value {
                Val::Str(s) => regex::Regex::new(&pattern.value)
                    .expect("the checker accepted the pattern")
                    .is_match(s),
                _ => false,
            },
            Test::StartsWith(prefix) => {
                matches!(value, Val::Str(s) if s.starts_with(prefix.value.as_str()))
            }
            Test::EndsWith(suffix) => {
                matches!(value, Val::Str(s) if s.ends_with(suffix.value.as_str()))
            }
        }
    }

    // ------------------------------------------------------- decisions --

    fn effect<'p>(&'p self, consequences: &'p [Consequence]) -> Effect<'p> {
        let mut effect = Effect {
            tier: None,
            at_least: None,
            evidence: Vec::new(),
            approvals: Vec::new(),
            sample: None,
        };
        for c in consequences {
            match c {
                Consequence::Tier(id, _) => effect.tier = Some(*id),
                Consequence::AtLeast(o, _) => effect.at_least = Some(*o),
                Consequence::Evidence(fields, _) => effect
                    .evidence
                    .extend(fields.iter().map(|f| f.name.as_str())),
                Consequence::Approve(a) => effect.approvals.extend(groups(a)),
                Consequence::Sample(r) => effect.sample = Some(r.share.as_str()),
            }
        }
        effect
    }

    /// A contributor's own outcome ("Combining", step 4): the strictest of
    /// its tier's outcome, its `at least`, and `explicit` when it adds
    /// approvers.
    fn own_outcome(&self, e: &Effect<'_>) -> Outcome {
        let mut o = e.tier.map_or(Outcome::Auto, |t| self.tier_outcome(t));
        if let Some(a) = e.at_least {
            o = o.max(a);
        }
        if !e.approvals.is_empty() {
            o = o.max(Outcome::Explicit);
        }
        o
    }

    /// The whole decision for one input, as the engine's type.
    pub fn evaluate(&self, input: &Json, options: &EvalOptions) -> gatehouse::Decision {
        self.decide(input, options).into_engine()
    }

    /// The whole decision for one input, in the reference's own types.
    fn decide(&self, input: &Json, options: &EvalOptions) -> Decision {
        let mut decision = Decision {
            outcome: Outcome::Block,
            tier: None,
            reasons: Vec::new(),
            rules: Vec::new(),
            approvals: None,
            evidence: EvidenceStatus {
                required: Vec::new(),
                missing: Vec::new(),
                on_missing: None,
            },
            timeout: None,
            conditions: Vec::new(),
            input_errors: Vec::new(),
            policy: self.policy_ref(),
            action_digest: Some(action_digest(input)),
            sample: None,
        };

        let values = match self.read_input(input, options.strict) {
            Ok(v) => v,
            Err(errors) => {
                // Invalid input: block with INVALID_INPUT alone, listing
                // every problem; no rule is looked at.
                let detail: Vec<String> = errors
                    .iter()
                    .map(|e| format!("{}: {}", e.path, e.message))
                    .collect();
                decision.reasons.push(Reason {
                    code: "INVALID_INPUT".into(),
                    message: format!(
                        "{}: {}",
                        self.reason_message("INVALID_INPUT"),
                        detail.join("; ")
                    ),
                    rule: None,
                });
                decision.input_errors = errors;
                return decision;
            }
        };

        // 1. Matching.
        let mut contributors: Vec<Contributor<'_>> = Vec::new();
        for (file, rule) in self.rules() {
            let matches = self.holds(&rule.when, &values)
                && !rule.unless.iter().any(|u| self.holds(u, &values));
            if !matches {
                continue;
            }
            contributors.push(Contributor {
                name: rule.name.name.clone(),
                location: location(file, rule.name.span.start),
                effect: self.effect(&rule.consequences),
                because: rule.because.iter().map(|c| c.name.as_str()).collect(),
                gives_reasons: true,
            });
            if self.combine() == CombineMode::FirstMatch {
                break;
            }
        }

        // 2. The default.
        let no_rule_matched = contributors.is_empty();
        if contributors.iter().all(|c| c.effect.tier.is_none()) {
            match self.default() {
                Some((file, def)) => contributors.push(Contributor {
                    name: "default".into(),
                    location: location(file, def.span.start),
                    effect: self.effect(&def.consequences),
                    because: def.because.iter().map(|c| c.name.as_str()).collect(),
                    gives_reasons: no_rule_matched,
                }),
                None if no_rule_matched => {
                    decision.reasons.push(Reason {
                        code: "NO_RULE_MATCHED".into(),
                        message:
                            "no rule matched and the policy has no default, so the action is blocked"
                                .into(),
                        rule: None,
                    });
                    return decision;
                }
                None => {}
            }
        }

        // 3. Tier: the strictest outcome, ties to the higher number.
        let mut tier: Option<u32> = None;
        for c in &contributors {
            if let Some(t) = c.effect.tier {
                let better = match tier {
                    None => true,
                    Some(best) => (self.tier_outcome(t), t) > (self.tier_outcome(best), best),
                };
                if better {
                    tier = Some(t);
                }
            }
        }
        let tier_decl = tier.map(|t| self.tier(t));
        decision.tier = tier_decl.map(|t| TierRef {
            id: t.id,
            name: t.name.value.clone(),
        });

        // 4. Outcome.
        let mut outcome = tier.map_or(Outcome::Auto, |t| self.tier_outcome(t));
        for c in &contributors {
            outcome = outcome.max(self.own_outcome(&c.effect));
        }

        // Reasons of the contributors, in rule order.
        for c in contributors.iter().filter(|c| c.gives_reasons) {
            for code in &c.because {
                decision.reasons.push(Reason {
                    code: (*code).to_owned(),
                    message: self.reason_message(code),
                    rule: Some(c.name.clone()),
                });
            }
        }

        // 5. Evidence.
        let tier_clauses: &[TierClause] = tier_decl.map_or(&[], |t| t.clauses.as_slice());
        let mut required: Vec<String> = Vec::new();
        let mut otherwise = Outcome::Block;
        for clause in tier_clauses {
            if let TierClause::Evidence {
                fields,
                otherwise: o,
                ..
            } = clause
            {
                for f in fields {
                    if !required.contains(&f.name) {
                        required.push(f.name.clone());
                    }
                }
                if let Some((o, _)) = o {
                    otherwise = *o;
                }
            }
        }
        for c in &contributors {
            for f in &c.effect.evidence {
                if !required.iter().any(|r| r == f) {
                    required.push((*f).to_owned());
                }
            }
        }
        let missing: Vec<String> = required
            .iter()
            .filter(|f| !evidence_present(input, f))
            .cloned()
            .collect();
        if !missing.is_empty() {
            outcome = outcome.max(otherwise);
            decision.reasons.push(Reason {
                code: "EVIDENCE_MISSING".into(),
                message: format!(
                    "{}: {}",
                    self.reason_message("EVIDENCE_MISSING"),
                    missing.join(", ")
                ),
                rule: None,
            });
        }
        decision.evidence = EvidenceStatus {
            on_missing: (!required.is_empty()).then_some(otherwise),
            required,
            missing,
        };

        // 6. Approvals and limit escalation.
        if matches!(outcome, Outcome::Queue | Outcome::Explicit | Outcome::Dual) {
            let mut requested: Vec<(Vec<&str>, u32)> = Vec::new();
            for clause in tier_clauses {
                if let TierClause::Approve(a) = clause {
                    requested.extend(groups(a));
                }
            }
            for c in &contributors {
                requested.extend(c.effect.approvals.iter().cloned());
            }

            let mut escalated: Vec<String> = Vec::new();
            let mut not_eligible: Vec<String> = Vec::new();
            let mut exceeded: Vec<String> = Vec::new();
            let mut out_groups: Vec<ApproverGroup> = Vec::new();
            for (roles, count) in &requested {
                let mut kept: Vec<ApproverRole> = Vec::new();
                let mut cannot: Vec<String> = Vec::new();
                for asked in roles {
                    match self.approving_role(asked, &values) {
                        None => cannot.push(self.chain_text(asked, &values)),
                        Some(approver) => {
                            let listed = kept.iter().any(|k| k.name == approver);
                            let unreported =
                                listed && self.known.escalation_into_listed_role_unreported;
                            if approver != *asked && !unreported {
                                let step = format!("{asked} -> {approver}");
                                if !escalated.contains(&step) {
                                    escalated.push(step);
                                }
                            }
                            if listed {
                                continue;
                            }
                            let role = self.role(approver);
                            kept.push(ApproverRole {
                                name: approver.to_owned(),
                                title: role.title.as_ref().map(|t| t.value.clone()),
                                limit: role.limit.as_ref().map(|l| {
                                    format!(
                                        "{} {} {}",
                                        l.attribute.name,
                                        if l.inclusive { "<=" } else { "<" },
                                        l.value
                                    )
                                }),
                                escalated_from: (approver != *asked).then(|| (*asked).to_owned()),
                            });
                        }
                    }
                }
                if kept.is_empty() {
                    for c in cannot {
                        if !exceeded.contains(&c) {
                            exceeded.push(c);
                        }
                    }
                    continue;
                }
                for c in cannot {
                    if !not_eligible.contains(&c) {
                        not_eligible.push(c);
                    }
                }
                let group = ApproverGroup {
                    roles: kept,
                    count: *count,
                };
                // Identical groups (the same role names in any order, and
                // the same count) merge into one.
                let identical = |g: &ApproverGroup| {
                    g.count == group.count
                        && g.roles.len() == group.roles.len()
                        && g.roles
                            .iter()
                            .all(|r| group.roles.iter().any(|o| o.name == r.name))
                };
                if !out_groups.iter().any(identical) {
                    out_groups.push(group);
                }
            }
            for (code, detail) in [
                ("APPROVER_ESCALATED", &escalated),
                ("APPROVER_NOT_ELIGIBLE", &not_eligible),
                ("APPROVER_LIMIT_EXCEEDED", &exceeded),
            ] {
                if !detail.is_empty() {
                    decision.reasons.push(Reason {
                        code: code.into(),
                        message: format!("{}: {}", self.reason_message(code), detail.join(", ")),
                        rule: None,
                    });
                }
            }
            if !exceeded.is_empty() {
                outcome = Outcome::Block;
            } else {
                if outcome == Outcome::Dual && out_groups.len() == 1 {
                    out_groups[0].count = out_groups[0].count.max(2);
                }
                let count = if out_groups.is_empty() {
                    if outcome == Outcome::Dual { 2 } else { 1 }
                } else {
                    out_groups.iter().map(|g| g.count).sum()
                };
                let mut forbidden = Vec::new();
                let mut distinct_people = outcome == Outcome::Dual;
                let mut distinct_roles = false;
                for clause in tier_clauses {
                    match clause {
                        TierClause::Forbid(paths, _) => {
                            for p in paths {
                                match lookup(&values, &p.name) {
                                    Some(Val::Str(s)) => forbidden.push(ForbiddenApprover {
                                        attribute: p.name.clone(),
                                        identity: Some(s.clone()),
                                    }),
                                    Some(Val::Set(items)) => {
                                        forbidden.extend(items.iter().map(|s| ForbiddenApprover {
                                            attribute: p.name.clone(),
                                            identity: Some(s.clone()),
                                        }))
                                    }
                                    _ => forbidden.push(ForbiddenApprover {
                                        attribute: p.name.clone(),
                                        identity: None,
                                    }),
                                }
                            }
                        }
                        TierClause::Distinct(items, _) => {
                            for (d, _) in items {
                                match d {
                                    gatehouse::syntax::ast::Distinct::People => {
                                        distinct_people = true
                                    }
                                    gatehouse::syntax::ast::Distinct::Roles => {
                                        distinct_roles = true
                                    }
                                }
                            }
                        }
                        TierClause::Timeout {
                            seconds,
                            written,
                            then,
                            ..
                        } => {
                            decision.timeout = Some(TimeoutInfo {
                                after: written.clone(),
                                seconds: *seconds,
                                expires_at: options
                                    .now
                                    .map(|now| now.plus_seconds(*seconds).to_string()),
                                on_expiry: match then {
                                    Expiry::Escalate(role) => ExpiryInfo {
                                        action: "escalate".into(),
                                        role: Some(role.name.clone()),
                                    },
                                    Expiry::Reject => ExpiryInfo {
                                        action: "reject".into(),
                                        role: None,
                                    },
                                    Expiry::Block => ExpiryInfo {
                                        action: "block".into(),
                                        role: None,
                                    },
                                    Expiry::Approve(_) => unreachable!("refused by the checker"),
                                },
                            });
                        }
                        TierClause::Require(r, _) => decision.conditions.push(match r {
                            Requirement::Condition(e) => Condition {
                                condition: self.source_text(tier_decl.expect("a tier"), e),
                                holds: Some(self.holds(e, &values)),
                            },
                            Requirement::Text(t) => Condition {
                                condition: t.value.clone(),
                                holds: None,
                            },
                        }),
                        _ => {}
                    }
                }
                decision.approvals = Some(ApprovalRequirement {
                    count,
                    groups: out_groups,
                    forbidden_approvers: forbidden,
                    distinct_people,
                    distinct_roles,
                });
            }
        }
        decision.outcome = outcome;

        // 7. Determining rules.
        decision.rules = contributors
            .iter()
            .map(|c| {
                let own = self.own_outcome(&c.effect);
                MatchedRule {
                    name: c.name.clone(),
                    location: c.location.clone(),
                    determining: own == outcome,
                    outcome: own,
                    tier: c.effect.tier,
                    reasons: if c.gives_reasons {
                        c.because.iter().map(|s| (*s).to_owned()).collect()
                    } else {
                        Vec::new()
                    },
                }
            })
            .collect();

        // Sampled review (docs/decisions.md, "Sampled review"): an `auto`
        // decision takes the highest share of its tier's and every
        // contributor's, ties to the tier, then the first contributor.
        if outcome == Outcome::Auto {
            let tier_share = tier_decl.and_then(|t| {
                t.clauses.iter().find_map(|c| match c {
                    TierClause::Sample(r) => Some(r.share.as_str()),
                    _ => None,
                })
            });
            let mut best: Option<(u64, Option<String>)> =
                tier_share.map(|s| (share_to_ppm(s), None));
            for c in &contributors {
                if let Some(s) = c.effect.sample {
                    let ppm = share_to_ppm(s);
                    if best.as_ref().is_none_or(|(b, _)| ppm > *b) {
                        best = Some((ppm, Some(c.name.clone())));
                    }
                }
            }
            if let Some((ppm, rule)) = best {
                let digest = decision.action_digest.clone().unwrap_or_default();
                let key = options
                    .sample_key
                    .map(|k| k.iter().map(|b| format!("{b:02x}")).collect::<String>())
                    .unwrap_or_default();
                let hash = Sha256::digest(format!("gatehouse.sample/1\n{key}\n{digest}"));
                let draw = u64::from_be_bytes(hash[..8].try_into().expect("8 bytes"));
                // draw < ppm * 2^64 / 10^6, as rationals
                let sampled = u128::from(draw) * 1_000_000 < u128::from(ppm) * (1u128 << 64);
                let rate = ppm_to_rate(ppm);
                if sampled {
                    let from = match &rule {
                        Some(r) => format!("set by rule {r}"),
                        None => format!("set by tier {}", tier.expect("a tier share")),
                    };
                    decision.reasons.push(Reason {
                        code: "SAMPLED_FOR_REVIEW".into(),
                        message: format!(
                            "{}: {rate} of actions, {from}",
                            self.reason_message("SAMPLED_FOR_REVIEW")
                        ),
                        rule: None,
                    });
                }
                decision.sample = Some(shapes::SampleInfo {
                    rate,
                    ppm: u32::try_from(ppm).expect("checked: at most 10^6"),
                    sampled,
                    rule,
                    tier,
                });
            }
        }
        decision
    }

    /// The role that approves when `asked` is asked: itself when within its
    /// limit, else the first role up its `escalate to` chain that is; `None`
    /// when the chain runs out ("Roles").
    fn approving_role<'p>(&'p self, asked: &'p str, values: &[(String, Val)]) -> Option<&'p str> {
        let mut at = asked;
        loop {
            let role = self.role(at);
            if self.within_limit(role, values) {
                return Some(at);
            }
            at = role.escalate.as_ref()?.name.as_str();
        }
    }

    fn within_limit(&self, role: &Role, values: &[(String, Val)]) -> bool {
        let Some(limit) = &role.limit else {
            return true;
        };
        match lookup(values, &limit.attribute.name) {
            Some(Val::Num(v)) => {
                if limit.inclusive {
                    *v <= limit.value
                } else {
                    *v < limit.value
                }
            }
            // An action without the limit's attribute never passes it.
            _ => false,
        }
    }

    /// `a (limit x <= 1000) -> b (limit x <= 10000)`: the whole chain of a
    /// role that cannot approve, each with its limit.
    fn chain_text(&self, asked: &str, values: &[(String, Val)]) -> String {
        let mut parts = Vec::new();
        let mut at = Some(asked);
        while let Some(name) = at {
            let role = self.role(name);
            parts.push(match &role.limit {
                None => name.to_owned(),
                Some(l) => {
                    let text = format!(
                        "{} {} {}",
                        l.attribute.name,
                        if l.inclusive { "<=" } else { "<" },
                        l.value
                    );
                    if lookup(values, &l.attribute.name).is_some() {
                        format!("{name} (limit {text})")
                    } else {
                        format!(
                            "{name} (limit {text}, but `{}` is absent)",
                            l.attribute.name
                        )
                    }
                }
            });
            at = role.escalate.as_ref().map(|e| e.name.as_str());
        }
        parts.join(" -> ")
    }

    /// A condition as written in the policy.
    fn source_text(&self, tier: &Tier, e: &Expr) -> String {
        let file = self
            .files
            .iter()
            .find(|f| {
                f.declarations
                    .iter()
                    .any(|d| matches!(d, Declaration::Tier(t) if std::ptr::eq(t, tier)))
            })
            .expect("the tier's file");
        file.source.text[e.span.start..e.span.end].to_owned()
    }
}

// --------------------------------------------------------------- helpers --

/// A share as written (`5`, `0.50`) in parts per million: the digits with
/// the point moved four places right (the checker refused anything finer).
fn share_to_ppm(share: &str) -> u64 {
    let (int, frac) = share.split_once('.').unwrap_or((share, ""));
    let mut frac4: String = frac.chars().take(4).collect();
    while frac4.len() < 4 {
        frac4.push('0');
    }
    let digits = format!("{int}{frac4}");
    digits.trim_start_matches('0').parse::<u64>().unwrap_or(0)
}

/// Parts per million as the decision writes the rate: `5%`, `0.5%`.
fn ppm_to_rate(ppm: u64) -> String {
    let whole = ppm / 10_000;
    let part = ppm % 10_000;
    if part == 0 {
        return format!("{whole}%");
    }
    let mut frac = format!("{part:04}");
    while frac.ends_with('0') {
        frac.pop();
    }
    format!("{whole}.{frac}%")
}

fn lookup<'v>(values: &'v [(String, Val)], path: &str) -> Option<&'v Val> {
    values.iter().find(|(p, _)| p == path).map(|(_, v)| v)
}

/// Approver groups of an `approve` clause ("Tiers", `approve`): `a and b`
/// is one group per role, `a or b` one group, `N of ...` one group of N.
fn groups(a: &Approvers) -> Vec<(Vec<&str>, u32)> {
    let names: Vec<&str> = a.roles.iter().map(|r| r.name.as_str()).collect();
    match a.kind {
        ApproverKind::All => names.into_iter().map(|n| (vec![n], 1)).collect(),
        ApproverKind::Any => vec![(names, 1)],
        ApproverKind::Count(n) => vec![(names, n)],
    }
}

/// A literal typed by the attribute it is compared with.
fn literal(ty: &TypeExpr, lit: &Literal) -> Val {
    match (&lit.value, ty) {
        (LiteralValue::Number(d), _) => Val::Num(*d),
        (LiteralValue::Duration(s), _) => Val::Dur(*s),
        (LiteralValue::Bool(b), _) => Val::Bool(*b),
        (LiteralValue::String(s), TypeExpr::Timestamp) => {
            Val::Ts(Timestamp::parse(s).expect("the checker accepted the timestamp"))
        }
        (LiteralValue::String(s) | LiteralValue::Name(s), TypeExpr::Enum(_)) => {
            Val::Enum(s.clone())
        }
        (LiteralValue::String(s), _) => Val::Str(s.clone()),
        (LiteralValue::Name(s), _) => Val::Enum(s.clone()),
    }
}

fn compare(op: CmpOp, a: &Val, b: &Val) -> bool {
    use std::cmp::Ordering;
    let ordering: Option<Ordering> = match (a, b) {
        (Val::Num(x), Val::Num(y)) => Some(x.cmp(y)),
        (Val::Dur(x), Val::Dur(y)) => Some(x.cmp(y)),
        (Val::Ts(x), Val::Ts(y)) => Some(x.cmp(y)),
        _ => None,
    };
    let equal = match (a, b) {
        (Val::Bool(x), Val::Bool(y)) => x == y,
        (Val::Str(x), Val::Str(y)) => x == y,
        (Val::Enum(x), Val::Enum(y)) => x == y,
        _ => ordering == Some(Ordering::Equal),
    };
    match op {
        CmpOp::Eq => equal,
        CmpOp::Ne => !equal,
        CmpOp::Lt => ordering == Some(Ordering::Less),
        CmpOp::Le => matches!(ordering, Some(Ordering::Less | Ordering::Equal)),
        CmpOp::Gt => ordering == Some(Ordering::Greater),
        CmpOp::Ge => matches!(ordering, Some(Ordering::Greater | Ordering::Equal)),
    }
}

/// `contains X`: a substring of a string, an element of a set.
fn contains(value: &Val, lit: &Literal) -> bool {
    let needle = match &lit.value {
        LiteralValue::String(s) | LiteralValue::Name(s) => s.as_str(),
        _ => return false,
    };
    match value {
        Val::Str(s) => s.contains(needle),
        Val::Set(items) => items.iter().any(|i| i == needle),
        _ => false,
    }
}

/// Whether an evidence field is present ("Evidence"): its key is in the
/// input's `evidence` object with a value that is not null, not `false`,
/// and not empty (blank text, `[]`, `{}`). Blank text is the one
/// documented rule, `gatehouse::identity::is_blank` (white space and
/// invisible characters only): the reference takes it as given, as it takes
/// the Unicode tables, and checks everything around it.
fn evidence_present(input: &Json, field: &str) -> bool {
    match input.get("evidence").and_then(|pack| pack.get(field)) {
        None | Some(Json::Null) | Some(Json::Bool(false)) => false,
        Some(Json::String(s)) => !gatehouse::identity::is_blank(s),
        Some(Json::Array(a)) => !a.is_empty(),
        Some(Json::Object(o)) => !o.is_empty(),
        Some(Json::Bool(true)) | Some(Json::Number(_)) => true,
    }
}

/// Decodes one attribute's value ("Types, and how the input must encode
/// them"). The messages are the engine's wording (the language reference
/// shows one: `expected a number, found a string`).
fn read_value(ty: &TypeExpr, v: &Json) -> Result<Val, String> {
    let wrong = |expected: &str| format!("expected {expected}, found {}", kind(v));
    match ty {
        TypeExpr::Bool => match v {
            Json::Bool(b) => Ok(Val::Bool(*b)),
            _ => Err(wrong("a bool")),
        },
        TypeExpr::Number => match v {
            Json::Number(n) => {
                let text = n.to_string();
                Decimal::parse(&text)
                    .map(Val::Num)
                    .map_err(|e| format!("{e}: {text}"))
            }
            _ => Err(wrong("a number")),
        },
        TypeExpr::String => match v {
            Json::String(s) => Ok(Val::Str(s.clone())),
            _ => Err(wrong("a string")),
        },
        TypeExpr::Duration => match v {
            Json::String(s) => parse_duration(s)
                .map(Val::Dur)
                .ok_or_else(|| format!("`{s}` is not a duration like `30m`, `24h` or `7d`")),
            Json::Number(n) => {
                // A whole, non-negative number of seconds, written as an
                // integer (`5400.0` and `1e3` are refused; `-0` is zero).
                let text = n.to_string();
                match text.parse::<i64>() {
                    Ok(secs) if secs >= 0 => Ok(Val::Dur(secs)),
                    _ => Err(format!(
                        "a duration in seconds must be a whole number from 0 to {}, found {text}",
                        i64::MAX
                    )),
                }
            }
            _ => Err(wrong("a duration (\"24h\" or seconds)")),
        },
        TypeExpr::Timestamp => match v {
            Json::String(s) => Timestamp::parse(s).map(Val::Ts).ok_or_else(|| {
                format!("`{s}` is not an RFC 3339 timestamp like 2026-11-22T18:00:00Z")
            }),
            _ => Err(wrong("an RFC 3339 timestamp string")),
        },
        TypeExpr::Enum(choices) => {
            let names: Vec<&str> = choices.iter().map(|c| c.name.as_str()).collect();
            match v {
                Json::String(s) if names.contains(&s.as_str()) => Ok(Val::Enum(s.clone())),
                Json::String(s) => Err(format!(
                    "unknown value `{s}`; expected one of {}",
                    names.join(", ")
                )),
                _ => Err(wrong(&format!("one of {}", names.join(", ")))),
            }
        }
        TypeExpr::Set(element, _) => {
            let Json::Array(items) = v else {
                return Err(wrong("an array"));
            };
            let mut out = Vec::new();
            for (i, item) in items.iter().enumerate() {
                let Json::String(s) = item else {
                    return Err(format!("item {i}: expected a string, found {}", kind(item)));
                };
                if let TypeExpr::Enum(choices) = element.as_ref()
                    && !choices.iter().any(|c| c.name == *s)
                {
                    let names: Vec<&str> = choices.iter().map(|c| c.name.as_str()).collect();
                    return Err(format!(
                        "item {i}: unknown value `{s}`; expected one of {}",
                        names.join(", ")
                    ));
                }
                out.push(s.clone());
            }
            Ok(Val::Set(out))
        }
    }
}

/// How a type is written in the language.
fn describe(ty: &TypeExpr) -> String {
    match ty {
        TypeExpr::Bool => "bool".into(),
        TypeExpr::Number => "number".into(),
        TypeExpr::String => "string".into(),
        TypeExpr::Duration => "duration".into(),
        TypeExpr::Timestamp => "timestamp".into(),
        TypeExpr::Enum(values) => {
            let names: Vec<&str> = values.iter().map(|v| v.name.as_str()).collect();
            format!("enum {{ {} }}", names.join(", "))
        }
        TypeExpr::Set(element, _) => format!("set of {}", describe(element)),
    }
}

fn kind(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "a bool",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

/// `$.action.amount`; a key that is not a plain name is written
/// `$["odd key"]`.
fn json_path(segments: &[&str]) -> String {
    let mut out = String::from("$");
    for key in segments {
        let plain = !key.is_empty()
            && !key.starts_with(|c: char| c.is_ascii_digit())
            && key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if plain {
            out.push('.');
            out.push_str(key);
        } else {
            out.push('[');
            out.push_str(&Json::String((*key).to_owned()).to_string());
            out.push(']');
        }
    }
    out
}

/// The file's name without its directory.
fn base_name(name: &str) -> &str {
    name.rsplit(['/', '\\']).next().unwrap_or(name)
}

/// `file.gate:line:column` (1-based, columns in characters) of a byte
/// offset, with the file's name only.
fn location(file: &File, offset: usize) -> String {
    let before = &file.source.text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    format!("{}:{line}:{column}", base_name(&file.source.name))
}

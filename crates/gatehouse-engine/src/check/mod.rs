//! Syntax trees of one policy set -> a checked [`PolicySet`]: names resolved,
//! types checked against the declared schema. Every error of every file is
//! collected; a failed piece is left out and checking goes on.

mod expr;
mod limits;
pub mod model;
mod regex;
#[cfg(test)]
mod tests;
mod tier;

use std::collections::HashMap;
use std::sync::Arc;

use sha2::{Digest as _, Sha256};

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::source::{Origin, SourceFile, Span};
use crate::syntax::ast::{self, CombineMode, Consequence, Declaration};
pub use model::*;

/// Checks the parsed files of one policy set. Returns the set and its
/// warnings, or every error found (warnings included).
pub fn check(files: Vec<ast::File>) -> Result<(PolicySet, Diagnostics), Diagnostics> {
    let mut files = files;
    files.sort_by(|a, b| a.source.name.cmp(&b.source.name));
    let over_limits = limits::check_counts(&files);
    if over_limits.has_errors() {
        return Err(over_limits);
    }
    let mut c = Checker::default();
    let set = c.run(&files);
    match set {
        Some(set) if !c.diagnostics.has_errors() => Ok((set, c.diagnostics)),
        _ => Err(c.diagnostics),
    }
}

/// `sha256:<hex>` over each file's name and text, in name order, each part
/// length-prefixed so no two different sets share a digest.
pub fn digest(files: &[Arc<SourceFile>]) -> String {
    let mut sorted: Vec<&Arc<SourceFile>> = files.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    let mut h = Sha256::new();
    for f in sorted {
        // Only the file name, not the directory: the same set checked out
        // in two places has one digest.
        let name = f.name.rsplit(['/', '\\']).next().unwrap_or(&f.name);
        for part in [name.as_bytes(), f.text.as_bytes()] {
            h.update((part.len() as u64).to_le_bytes());
            h.update(part);
        }
    }
    format!("sha256:{}", hex::encode(h.finalize()))
}

#[derive(Default)]
struct Checker {
    diagnostics: Diagnostics,
    attributes: Vec<AttributeDef>,
    attribute_ids: HashMap<String, AttrId>,
    evidence_ids: HashMap<String, EvidenceId>,
    evidence: Vec<EvidenceDef>,
    role_ids: HashMap<String, RoleId>,
    roles: Vec<RoleDef>,
    reason_ids: HashMap<String, ReasonId>,
    reasons: Vec<ReasonDef>,
    tier_numbers: HashMap<u32, Origin>,
    /// Bytes held by the regexes compiled so far, against
    /// [`crate::limits::MAX_REGEX_SET_BYTES`].
    regex_bytes: usize,
}

/// Where a name was first defined, for duplicate errors. Keys and files are
/// borrowed from the syntax trees being checked: a set of ten thousand rules
/// defines ten thousand names, and copying each one only to look it up again
/// was a measurable part of checking.
struct Seen<'a> {
    first: HashMap<&'a str, (&'a Arc<SourceFile>, Span)>,
    what: &'a str,
}

impl<'a> Seen<'a> {
    fn new(what: &'a str) -> Seen<'a> {
        Seen::with_capacity(what, 0)
    }

    /// For `expected` definitions, so that the table is sized once.
    fn with_capacity(what: &'a str, expected: usize) -> Seen<'a> {
        Seen {
            first: HashMap::with_capacity(expected),
            what,
        }
    }

    /// Message and help for a second definition of `name`.
    fn duplicate_text(&self, name: &str) -> (String, String) {
        match self.what {
            "tier clause" => (
                format!("a tier has two `{name}` lines"),
                match name {
                    "approve" => "combine them on one line: `approve a and b`, `approve a or b` or `approve 2 of a, b`".to_owned(),
                    "evidence" => "list every required field on one `evidence` line, separated by commas".to_owned(),
                    "forbid" => "list every excluded identity on one `forbid approval by` line".to_owned(),
                    "distinct" => "write `distinct people, roles` on one line".to_owned(),
                    _ => format!("a tier has one `{name}`: keep the one you mean"),
                },
            ),
            "default" => (
                "the policy set has two `default`s".to_owned(),
                "keep one `default`; it applies when no rule matches".to_owned(),
            ),
            "enum value" => (
                format!("enum value `{name}` is listed twice"),
                "list each value of an enum once".to_owned(),
            ),
            what => (
                format!("{what} `{name}` is defined twice"),
                format!(
                    "rename one of the two, or remove one; each {what} name must be unique in the policy set"
                ),
            ),
        }
    }

    /// Records a definition; reports and returns false when it is a duplicate.
    fn define(
        &mut self,
        d: &mut Diagnostics,
        file: &'a Arc<SourceFile>,
        name: &'a str,
        span: Span,
    ) -> bool {
        if let Some((f, s)) = self.first.get(name) {
            let (message, help) = self.duplicate_text(name);
            d.push(
                Diagnostic::new(
                    Code::DuplicateDefinition,
                    file,
                    span,
                    message,
                    "defined again here",
                    help,
                )
                .with_related(f, *s, format!("`{name}` is first defined here")),
            );
            return false;
        }
        self.first.insert(name, (file, span));
        true
    }
}

impl Checker {
    fn error(
        &mut self,
        code: Code,
        file: &Arc<SourceFile>,
        span: Span,
        message: String,
        label: &str,
        help: String,
    ) {
        self.diagnostics
            .push(Diagnostic::new(code, file, span, message, label, help));
    }

    fn run(&mut self, files: &[ast::File]) -> Option<PolicySet> {
        let header = self.header(files);
        self.declare_attributes(files);
        self.declare_evidence(files);
        self.declare_reasons(files);
        self.declare_roles(files);
        let tiers = self.tiers(files);
        let (rules, default) = self.rules(files, &tiers);
        let (name, version, description, combine) = header?;
        let sources: Vec<Arc<SourceFile>> = files.iter().map(|f| Arc::clone(&f.source)).collect();
        Some(PolicySet {
            name,
            version,
            description,
            combine,
            digest: digest(&sources),
            files: sources,
            attributes: std::mem::take(&mut self.attributes),
            evidence: std::mem::take(&mut self.evidence),
            roles: std::mem::take(&mut self.roles),
            reasons: std::mem::take(&mut self.reasons),
            tiers,
            rules,
            default,
        })
    }

    fn header(
        &mut self,
        files: &[ast::File],
    ) -> Option<(String, String, Option<String>, CombineMode)> {
        let mut found: Option<(&Arc<SourceFile>, &ast::Header)> = None;
        for f in files {
            for d in &f.declarations {
                let Declaration::Header(h) = d else { continue };
                if let Some((first_file, first)) = found {
                    self.diagnostics.push(
                        Diagnostic::new(
                            Code::DuplicateDefinition,
                            &f.source,
                            h.span,
                            "a policy set has two `policy` headers".to_owned(),
                            "second header",
                            "keep one `policy` header per policy set; the other files hold declarations only"
                                .to_owned(),
                        )
                        .with_related(first_file, first.span, "first header"),
                    );
                } else {
                    found = Some((&f.source, h));
                }
            }
        }
        match found {
            Some((_, h)) => Some((
                h.name.value.clone(),
                h.version.value.clone(),
                h.description.as_ref().map(|d| d.value.clone()),
                h.combine.map(|(m, _)| m).unwrap_or_default(),
            )),
            None => {
                let names: Vec<&str> = files.iter().map(|f| f.source.name.as_str()).collect();
                let mut d = Diagnostic::without_span(
                    Code::MissingHeader,
                    format!("no `policy` header in {}", names.join(", ")),
                    "start one file with `policy \"name\" version \"1\"`",
                );
                if let Some(f) = files.first() {
                    d.file = Some(Arc::clone(&f.source));
                    d.labels.push(crate::diagnostic::Label {
                        text: "expected a `policy` header in this policy set".to_owned(),
                        span: Span { start: 0, end: 0 },
                    });
                }
                self.diagnostics.push(d);
                None
            }
        }
    }

    fn declare_attributes(&mut self, files: &[ast::File]) {
        let mut seen = Seen::new("attribute");
        for f in files {
            for d in &f.declarations {
                let Declaration::Schema(attrs) = d else {
                    continue;
                };
                for a in attrs {
                    let path = &a.path.name;
                    if !seen.define(&mut self.diagnostics, &f.source, path, a.path.span) {
                        continue;
                    }
                    if path == "evidence" || path.starts_with("evidence.") {
                        self.error(
                            Code::ReservedName,
                            &f.source,
                            a.path.span,
                            format!("attribute `{path}` is inside the reserved `evidence` object"),
                            "reserved",
                            "the input's `evidence` object is declared with `evidence { field, .. }`, not in the schema".into(),
                        );
                        continue;
                    }
                    let Some(ty) = self.resolve_type(&f.source, &a.ty) else {
                        continue;
                    };
                    let id = self.attributes.len();
                    self.attribute_ids.insert(path.clone(), id);
                    self.attributes.push(AttributeDef {
                        path: path.clone(),
                        segments: path.split('.').map(str::to_owned).collect(),
                        ty,
                        optional: a.optional,
                        origin: Origin {
                            file: Arc::clone(&f.source),
                            span: a.path.span,
                        },
                    });
                }
            }
        }
        // `action` and `action.type` cannot both be attributes: one is an
        // object, the other a value.
        for a in &self.attributes {
            for b in &self.attributes {
                if b.path.len() > a.path.len()
                    && b.path.starts_with(&a.path)
                    && b.path.as_bytes().get(a.path.len()) == Some(&b'.')
                {
                    self.diagnostics.push(
                        Diagnostic::new(
                            Code::DuplicateDefinition,
                            &b.origin.file,
                            b.origin.span,
                            format!("attribute `{}` is inside attribute `{}`", b.path, a.path),
                            "nested here",
                            format!("`{}` is declared as {}, so it cannot also be an object with fields", a.path, a.ty.with_article()),
                        )
                        .with_related(&a.origin.file, a.origin.span, format!("`{}` is declared here", a.path)),
                    );
                }
            }
        }
    }

    fn resolve_type(&mut self, file: &Arc<SourceFile>, ty: &ast::TypeExpr) -> Option<Type> {
        Some(match ty {
            ast::TypeExpr::Bool => Type::Bool,
            ast::TypeExpr::Number => Type::Number,
            ast::TypeExpr::String => Type::String,
            ast::TypeExpr::Duration => Type::Duration,
            ast::TypeExpr::Timestamp => Type::Timestamp,
            ast::TypeExpr::Enum(values) => {
                let mut seen = Seen::new("enum value");
                let mut out = Vec::new();
                for v in values {
                    if seen.define(&mut self.diagnostics, file, &v.name, v.span) {
                        out.push(v.name.clone());
                    }
                }
                Type::Enum(out)
            }
            ast::TypeExpr::Set(element, span) => {
                let element = self.resolve_type(file, element)?;
                if !matches!(element, Type::String | Type::Enum(_)) {
                    self.error(
                        Code::TypeMismatch,
                        file,
                        *span,
                        format!("a set of {} is not supported", element.describe()),
                        "unsupported element type",
                        "sets hold strings (`set of string`) or enum values (`set of enum { a, b }`)".into(),
                    );
                    return None;
                }
                Type::Set(Box::new(element))
            }
        })
    }

    fn declare_evidence(&mut self, files: &[ast::File]) {
        let mut seen = Seen::new("evidence field");
        for f in files {
            for d in &f.declarations {
                let Declaration::Evidence(fields) = d else {
                    continue;
                };
                for e in fields {
                    if seen.define(&mut self.diagnostics, &f.source, &e.name, e.span) {
                        self.evidence_ids
                            .insert(e.name.clone(), self.evidence.len());
                        self.evidence.push(EvidenceDef {
                            name: e.name.clone(),
                            origin: Origin {
                                file: Arc::clone(&f.source),
                                span: e.span,
                            },
                        });
                    }
                }
            }
        }
    }

    fn declare_reasons(&mut self, files: &[ast::File]) {
        // Sized once: growing the tables step by step rehashes and copies
        // them again and again in a set of thousands of reasons.
        let declared = count(files, |d| matches!(d, Declaration::Reason(_)));
        self.reason_ids.reserve(builtin::ALL.len() + declared);
        self.reasons.reserve(builtin::ALL.len() + declared);
        for (code, message) in builtin::ALL {
            self.reason_ids
                .insert((*code).to_owned(), self.reasons.len());
            self.reasons.push(ReasonDef {
                code: (*code).to_owned(),
                message: (*message).to_owned(),
                origin: None,
            });
        }
        let mut seen = Seen::with_capacity("reason code", declared);
        for f in files {
            for d in &f.declarations {
                let Declaration::Reason(r) = d else { continue };
                if self.reason_ids.contains_key(&r.code.name)
                    && !seen.first.contains_key(r.code.name.as_str())
                {
                    self.error(
                        Code::ReservedName,
                        &f.source,
                        r.code.span,
                        format!("reason code `{}` is built in", r.code.name),
                        "built-in code",
                        "use the built-in code as it is, without declaring it, or pick another name".into(),
                    );
                    continue;
                }
                if !seen.define(&mut self.diagnostics, &f.source, &r.code.name, r.code.span) {
                    continue;
                }
                self.reason_ids
                    .insert(r.code.name.clone(), self.reasons.len());
                self.reasons.push(ReasonDef {
                    code: r.code.name.clone(),
                    message: r.message.value.clone(),
                    origin: Some(Origin {
                        file: Arc::clone(&f.source),
                        span: r.code.span,
                    }),
                });
            }
        }
    }

    fn declare_roles(&mut self, files: &[ast::File]) {
        let mut seen = Seen::new("role");
        let mut pending = Vec::new();
        for f in files {
            for d in &f.declarations {
                let Declaration::Role(r) = d else { continue };
                if !seen.define(&mut self.diagnostics, &f.source, &r.name.name, r.name.span) {
                    continue;
                }
                self.role_ids.insert(r.name.name.clone(), self.roles.len());
                pending.push((f, r));
                self.roles.push(RoleDef {
                    name: r.name.name.clone(),
                    title: r.title.as_ref().map(|t| t.value.clone()),
                    limit: None,
                    escalate: None,
                    origin: Origin {
                        file: Arc::clone(&f.source),
                        span: r.name.span,
                    },
                });
            }
        }
        // Limits and escalations refer to other declarations: resolve after
        // every role is known.
        for (id, (f, r)) in pending.into_iter().enumerate() {
            if let Some(limit) = &r.limit
                && let Some(attr) = self.attribute(&f.source, &limit.attribute)
            {
                if self.attributes.get(attr).map(|a| &a.ty) == Some(&Type::Number) {
                    if let Some(role) = self.roles.get_mut(id) {
                        role.limit = Some(RoleLimit {
                            attribute: attr,
                            inclusive: limit.inclusive,
                            value: limit.value,
                        });
                    }
                } else {
                    let ty = self
                        .attributes
                        .get(attr)
                        .map(|a| a.ty.describe())
                        .unwrap_or_default();
                    self.error(
                            Code::InvalidRole,
                            &f.source,
                            limit.attribute.span,
                            format!("role limit on `{}`, which is {ty}, not a number", limit.attribute.name),
                            "not a number",
                            "an approval limit bounds a number attribute, e.g. `limit action.amount <= 10000`".into(),
                        );
                }
            }
            if let Some(esc) = &r.escalate
                && let Some(target) = self.role(&f.source, esc)
            {
                if target == id {
                    self.error(
                        Code::InvalidRole,
                        &f.source,
                        esc.span,
                        format!("role `{}` escalates to itself", esc.name),
                        "same role",
                        "escalate to a role with a higher limit, or to none".into(),
                    );
                } else if let Some(role) = self.roles.get_mut(id) {
                    role.escalate = Some(target);
                }
            }
        }
        // An escalation chain must end.
        for start in 0..self.roles.len() {
            let mut at = start;
            for _ in 0..=self.roles.len() {
                match self.roles.get(at).and_then(|r| r.escalate) {
                    Some(next) if next == start => {
                        let Some(role) = self.roles.get_mut(start) else {
                            break;
                        };
                        role.escalate = None;
                        let (file, span, name) = (
                            Arc::clone(&role.origin.file),
                            role.origin.span,
                            role.name.clone(),
                        );
                        self.error(
                            Code::InvalidRole,
                            &file,
                            span,
                            format!("role `{name}` escalates in a cycle back to itself"),
                            "escalation cycle",
                            "make the chain of `escalate to` end at a role without one".into(),
                        );
                        break;
                    }
                    Some(next) => at = next,
                    None => break,
                }
            }
        }
    }

    /// Resolves an attribute path, reporting an unknown one.
    fn attribute(&mut self, file: &Arc<SourceFile>, name: &ast::Ident) -> Option<AttrId> {
        if let Some(id) = self.attribute_ids.get(&name.name) {
            return Some(*id);
        }
        let help = did_you_mean(&name.name, self.attribute_ids.keys())
            .map(|s| format!("did you mean `{s}`? attributes are declared in `schema {{ .. }}`"))
            .unwrap_or_else(|| {
                format!(
                    "declare it in the schema, e.g. `schema {{ {}: string }}`",
                    name.name
                )
            });
        self.error(
            Code::UnknownAttribute,
            file,
            name.span,
            format!("unknown attribute `{}`", name.name),
            "not in the schema",
            help,
        );
        None
    }

    fn role(&mut self, file: &Arc<SourceFile>, name: &ast::Ident) -> Option<RoleId> {
        self.lookup(
            file,
            name,
            Code::UnknownRole,
            "role",
            |c| &c.role_ids,
            "declare it with `role NAME`",
        )
    }

    fn evidence_field(&mut self, file: &Arc<SourceFile>, name: &ast::Ident) -> Option<EvidenceId> {
        self.lookup(
            file,
            name,
            Code::UnknownEvidence,
            "evidence field",
            |c| &c.evidence_ids,
            "declare it in `evidence { .. }`",
        )
    }

    fn reason(&mut self, file: &Arc<SourceFile>, name: &ast::Ident) -> Option<ReasonId> {
        self.lookup(
            file,
            name,
            Code::UnknownReason,
            "reason code",
            |c| &c.reason_ids,
            "declare it with `reason CODE \"message\"`",
        )
    }

    fn lookup(
        &mut self,
        file: &Arc<SourceFile>,
        name: &ast::Ident,
        code: Code,
        what: &str,
        table: impl Fn(&Checker) -> &HashMap<String, usize>,
        declare: &str,
    ) -> Option<usize> {
        if let Some(id) = table(self).get(&name.name) {
            return Some(*id);
        }
        let help = match did_you_mean(&name.name, table(self).keys()) {
            Some(s) => format!("did you mean `{s}`? or {declare}"),
            None => declare.to_owned(),
        };
        self.error(
            code,
            file,
            name.span,
            format!("unknown {what} `{}`", name.name),
            &format!("no such {what}"),
            help,
        );
        None
    }

    fn rules(
        &mut self,
        files: &[ast::File],
        tiers: &[TierDef],
    ) -> (Vec<RuleDef>, Option<DefaultDef>) {
        let declared = count(files, |d| matches!(d, Declaration::Rule(_)));
        let mut rules = Vec::with_capacity(declared);
        let mut default: Option<DefaultDef> = None;
        let mut seen = Seen::with_capacity("rule", declared);
        let mut default_seen = Seen::new("default");
        for f in files {
            for d in &f.declarations {
                match d {
                    Declaration::Rule(r) => {
                        if !seen.define(&mut self.diagnostics, &f.source, &r.name.name, r.name.span)
                        {
                            continue;
                        }
                        let when = self.condition(&f.source, &r.when);
                        let unless: Vec<Option<Cond>> = r
                            .unless
                            .iter()
                            .map(|u| self.condition(&f.source, u))
                            .collect();
                        let effect = self.effect(&f.source, &r.consequences, &r.because, tiers);
                        let (Some(when), Some(effect)) = (when, effect) else {
                            continue;
                        };
                        if unless.iter().any(Option::is_none) {
                            continue;
                        }
                        rules.push(RuleDef {
                            name: r.name.name.clone(),
                            description: r.description.as_ref().map(|d| d.value.clone()),
                            when,
                            unless: unless.into_iter().flatten().collect(),
                            effect,
                            origin: Origin {
                                file: Arc::clone(&f.source),
                                span: r.name.span,
                            },
                        });
                    }
                    Declaration::Default(dd) => {
                        let keyword = Span {
                            start: dd.span.start,
                            end: dd.span.start + "default".len(),
                        };
                        if !default_seen.define(
                            &mut self.diagnostics,
                            &f.source,
                            "default",
                            keyword,
                        ) {
                            continue;
                        }
                        if let Some(effect) =
                            self.effect(&f.source, &dd.consequences, &dd.because, tiers)
                        {
                            default = Some(DefaultDef {
                                effect,
                                origin: Origin {
                                    file: Arc::clone(&f.source),
                                    span: keyword,
                                },
                            });
                        }
                    }
                    _ => {}
                }
            }
        }
        let headerless = self
            .diagnostics
            .iter()
            .any(|d| d.code == Code::MissingHeader);
        if default.is_none() && default_seen.first.is_empty() && !headerless {
            let mut d = Diagnostic::without_span(
                Code::MissingDefault,
                "policy set has no `default`: actions that no rule matches are blocked with NO_RULE_MATCHED",
                "add `default tier N because NO_RULE_MATCHED` to route unmatched actions deliberately",
            );
            let header = files.iter().find_map(|f| {
                f.declarations.iter().find_map(|d| match d {
                    Declaration::Header(h) => Some((Arc::clone(&f.source), h.span)),
                    _ => None,
                })
            });
            if let Some((file, span)) = header {
                d.file = Some(file);
                d.labels.push(crate::diagnostic::Label {
                    text: "this policy set has no default".into(),
                    span,
                });
            }
            self.diagnostics.push(d);
        }
        (rules, default)
    }

    fn effect(
        &mut self,
        file: &Arc<SourceFile>,
        consequences: &[Consequence],
        because: &[ast::Ident],
        tiers: &[TierDef],
    ) -> Option<Effect> {
        let mut effect = Effect::default();
        let mut ok = true;
        let mut tier_span: Option<Span> = None;
        let mut at_least_span: Option<Span> = None;
        let mut sample_span: Option<Span> = None;
        for c in consequences {
            match c {
                Consequence::Tier(n, span) => {
                    if let Some(first) = tier_span {
                        self.diagnostics.push(
                            Diagnostic::new(
                                Code::InvalidConsequence,
                                file,
                                *span,
                                "two tiers in one consequence",
                                "second tier",
                                "an action sits in one tier; use `at least OUTCOME` to raise the outcome further",
                            )
                            .with_related(file, first, "first tier"),
                        );
                        ok = false;
                        continue;
                    }
                    tier_span = Some(*span);
                    match tiers.iter().position(|t| t.id == *n) {
                        Some(idx) => effect.tier = Some(idx),
                        None => {
                            ok = false;
                            if !self.tier_numbers.contains_key(n) {
                                let mut known: Vec<u32> =
                                    self.tier_numbers.keys().copied().collect();
                                known.sort_unstable();
                                let known: Vec<String> = known.iter().map(u32::to_string).collect();
                                self.error(
                                    Code::UnknownTier,
                                    file,
                                    *span,
                                    format!("unknown tier `{n}`"),
                                    "no such tier",
                                    if known.is_empty() {
                                        "declare it with `tier N \"name\" { outcome .. }`".into()
                                    } else {
                                        format!("declared tiers are {}", known.join(", "))
                                    },
                                );
                            }
                        }
                    }
                }
                Consequence::AtLeast(o, span) => {
                    if let Some(first) = at_least_span {
                        self.diagnostics.push(
                            Diagnostic::new(
                                Code::InvalidConsequence,
                                file,
                                *span,
                                "two outcome raises in one consequence",
                                "second raise",
                                "keep the strictest one",
                            )
                            .with_related(file, first, "first raise"),
                        );
                        ok = false;
                        continue;
                    }
                    at_least_span = Some(*span);
                    effect.at_least = Some(*o);
                }
                Consequence::Sample(rate) => {
                    if let Some(first) = sample_span {
                        self.diagnostics.push(
                            Diagnostic::new(
                                Code::InvalidConsequence,
                                file,
                                rate.span,
                                "two sample shares in one consequence",
                                "second sample",
                                "a rule samples one share of its actions: keep the one you mean",
                            )
                            .with_related(file, first, "first sample"),
                        );
                        ok = false;
                        continue;
                    }
                    sample_span = Some(rate.span);
                    match self.sample(file, rate) {
                        Some(s) => effect.sample = Some(s),
                        None => ok = false,
                    }
                }
                Consequence::Evidence(fields, _) => {
                    for e in fields {
                        match self.evidence_field(file, e) {
                            Some(id) if !effect.evidence.contains(&id) => effect.evidence.push(id),
                            Some(_) => {}
                            None => ok = false,
                        }
                    }
                }
                Consequence::Approve(a) => {
                    let before = self.diagnostics.error_count();
                    let groups = self.approver_groups(Code::InvalidConsequence, file, a);
                    if self.diagnostics.error_count() > before {
                        ok = false;
                    }
                    for g in groups {
                        if !effect.approvals.contains(&g) {
                            effect.approvals.push(g);
                        }
                    }
                }
            }
        }
        for b in because {
            match self.reason(file, b) {
                Some(id) if !effect.reasons.contains(&id) => effect.reasons.push(id),
                Some(_) => {}
                None => ok = false,
            }
        }
        ok.then_some(effect)
    }
}

/// How many declarations of the set `kind` accepts.
fn count(files: &[ast::File], kind: impl Fn(&Declaration) -> bool) -> usize {
    files
        .iter()
        .map(|f| f.declarations.iter().filter(|d| kind(d)).count())
        .sum()
}

/// The closest known name within a small edit distance, for "did you mean".
fn did_you_mean<'a>(name: &str, known: impl Iterator<Item = &'a String>) -> Option<&'a str> {
    let mut best: Option<(usize, &str)> = None;
    for k in known {
        // Edit distance counting an adjacent swap (`sned` for `send`) as
        // one edit: optimal string alignment, over characters.
        let d = strsim::osa_distance(name, k);
        let limit = (name.len().max(k.len()) / 3).max(1);
        if d <= limit && best.is_none_or(|(bd, bk)| (d, k.as_str()) < (bd, bk)) {
            best = Some((d, k));
        }
    }
    best.map(|(_, k)| k)
}

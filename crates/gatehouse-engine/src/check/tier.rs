//! Tiers: their clauses checked and resolved, and approver groups (shared
//! with the approvals rules add).

use std::sync::Arc;

use super::*;
use crate::diagnostic::{Code, Diagnostic};
use crate::source::{Origin, SourceFile, Span};
use crate::syntax::ast::{self, ApproverKind, Outcome, TierClause};

impl Checker {
    pub(super) fn approver_groups(
        &mut self,
        zero_code: Code,
        file: &Arc<SourceFile>,
        a: &ast::Approvers,
    ) -> Vec<ApproverGroup> {
        let mut roles = Vec::new();
        for r in &a.roles {
            if let Some(id) = self.role(file, r) {
                if roles.contains(&id) {
                    self.error(
                        Code::DuplicateDefinition,
                        file,
                        r.span,
                        format!("role `{}` is listed twice", r.name),
                        "listed again",
                        "list each role once".into(),
                    );
                } else {
                    roles.push(id);
                }
            }
        }
        match a.kind {
            ApproverKind::All => roles
                .into_iter()
                .map(|r| ApproverGroup {
                    roles: vec![r],
                    count: 1,
                })
                .collect(),
            ApproverKind::Any => vec![ApproverGroup { roles, count: 1 }],
            ApproverKind::Count(n) => {
                if n == 0 {
                    self.error(
                        zero_code,
                        file,
                        a.span,
                        "zero approvals required".into(),
                        "0 approvals",
                        "require at least one approval, or remove the clause".into(),
                    );
                    return Vec::new();
                }
                vec![ApproverGroup { roles, count: n }]
            }
        }
    }

    pub(super) fn tiers(&mut self, files: &[ast::File]) -> Vec<TierDef> {
        let mut tiers = Vec::new();
        for f in files {
            for d in &f.declarations {
                let Declaration::Tier(t) = d else { continue };
                if let Some(first) = self.tier_numbers.get(&t.id) {
                    let first = first.clone();
                    self.diagnostics.push(
                        Diagnostic::new(
                            Code::DuplicateDefinition,
                            &f.source,
                            t.id_span,
                            format!("tier {} is defined twice", t.id),
                            "defined again here",
                            "give each tier its own number".to_owned(),
                        )
                        .with_related(
                            &first.file,
                            first.span,
                            format!("tier {} is first defined here", t.id),
                        ),
                    );
                    continue;
                }
                self.tier_numbers.insert(
                    t.id,
                    Origin {
                        file: Arc::clone(&f.source),
                        span: t.id_span,
                    },
                );
                if let Some(tier) = self.tier(&f.source, t) {
                    tiers.push(tier);
                }
            }
        }
        tiers.sort_by_key(|t| t.id);
        tiers
    }

    /// A `sample N% for review` share, checked (E0307 when it is not a
    /// share of 0 < N <= 100 in at most 4 decimals).
    pub(super) fn sample(
        &mut self,
        file: &Arc<SourceFile>,
        rate: &ast::SampleRate,
    ) -> Option<Sample> {
        use crate::values::share::{ShareError, canonical_share, share_ppm};
        let problem = match share_ppm(&rate.share) {
            Ok(ppm) => {
                return Some(Sample {
                    ppm,
                    rate: format!("{}%", canonical_share(&rate.share)),
                    origin: Origin {
                        file: Arc::clone(file),
                        span: rate.span,
                    },
                });
            }
            Err(ShareError::Zero) => (
                "a sample of 0% reviews nothing",
                "zero share",
                "write a share above 0, e.g. `sample 0.5% for review`, or remove the clause",
            ),
            Err(ShareError::AboveAll) => (
                "a sample share cannot exceed 100%",
                "above 100%",
                "write a share of at most 100%; to review every action before it runs, use `outcome queue` instead",
            ),
            Err(ShareError::TooPrecise) => (
                "a sample share has more than 4 decimals",
                "finer than one in a million",
                "shares are whole parts per million: write at most 4 digits after the point, e.g. `0.0001%`",
            ),
            Err(_) => (
                "a sample share is not a percentage",
                "not a percentage",
                "write the share like `5%` or `0.5%`",
            ),
        };
        let (message, label, help) = problem;
        self.error(
            Code::InvalidSampleRate,
            file,
            rate.share_span,
            format!("{message}: `{}%`", rate.share),
            label,
            help.into(),
        );
        None
    }

    fn tier(&mut self, file: &Arc<SourceFile>, t: &ast::Tier) -> Option<TierDef> {
        let mut outcome = None;
        let mut approvals = Vec::new();
        let mut approve_span = None;
        let mut evidence = Vec::new();
        let mut on_missing_evidence = Outcome::Block;
        let mut timeout = None;
        let mut forbid = Vec::new();
        let mut distinct_people = false;
        let mut distinct_roles = false;
        let mut requirements = Vec::new();
        let mut sample = None;
        let mut seen = Seen::new("tier clause");
        for clause in &t.clauses {
            let (key, span) = clause_key(clause);
            if key != "require" && !seen.define(&mut self.diagnostics, file, key, span) {
                continue;
            }
            match clause {
                TierClause::Outcome(o, _) => outcome = Some(*o),
                TierClause::Approve(a) => {
                    approvals = self.approver_groups(Code::InvalidTier, file, a);
                    approve_span = Some(a.span);
                }
                TierClause::Evidence {
                    fields, otherwise, ..
                } => {
                    for e in fields {
                        if let Some(id) = self.evidence_field(file, e)
                            && !evidence.contains(&id)
                        {
                            evidence.push(id);
                        }
                    }
                    if let Some((o, span)) = otherwise {
                        if matches!(o, Outcome::Queue | Outcome::Block) {
                            on_missing_evidence = *o;
                        } else {
                            self.error(
                                Code::InvalidTier,
                                file,
                                *span,
                                format!("missing evidence cannot lead to `{o}`"),
                                "not queue or block",
                                "missing evidence blocks by default; `otherwise queue` softens that to a review queue".into(),
                            );
                        }
                    }
                }
                TierClause::Timeout {
                    seconds,
                    written,
                    then,
                    span,
                } => {
                    let expiry = match then {
                        ast::Expiry::Reject => Some(ExpiryAction::Reject),
                        ast::Expiry::Block => Some(ExpiryAction::Block),
                        ast::Expiry::Escalate(r) => self.role(file, r).map(ExpiryAction::Escalate),
                        ast::Expiry::Approve(span) => {
                            self.error(
                                Code::TimeoutApproves,
                                file,
                                *span,
                                "a timeout may not approve the action: expiry is not approval".into(),
                                "approves at expiry",
                                "when nobody answers in time, `reject`, `block`, or `escalate to` a role that can decide"
                                    .into(),
                            );
                            None
                        }
                    };
                    if *seconds == 0 {
                        self.error(
                            Code::InvalidTier,
                            file,
                            *span,
                            "a timeout of zero expires every request at once".into(),
                            "zero timeout",
                            "give reviewers time, e.g. `timeout 24h then reject`".into(),
                        );
                    }
                    if let Some(expiry) = expiry {
                        timeout = Some(Timeout {
                            seconds: *seconds,
                            written: written.clone(),
                            expiry,
                        });
                    }
                }
                TierClause::Forbid(paths, _) => {
                    for p in paths {
                        let Some(id) = self.attribute(file, p) else {
                            continue;
                        };
                        let ty = self.attributes.get(id).map(|a| a.ty.clone());
                        let identity = match &ty {
                            Some(Type::String) => true,
                            Some(Type::Set(element)) => **element == Type::String,
                            _ => false,
                        };
                        if identity {
                            forbid.push(id);
                        } else {
                            self.error(
                                Code::TypeMismatch,
                                file,
                                p.span,
                                format!(
                                    "`{}` is {}, not an identity",
                                    p.name,
                                    ty.as_ref().map(Type::with_article).unwrap_or_default()
                                ),
                                "not a string",
                                "name string attributes that hold a person's id, e.g. `forbid approval by requester.id`".into(),
                            );
                        }
                    }
                }
                TierClause::Distinct(items, _) => {
                    for (item, _) in items {
                        match item {
                            ast::Distinct::People => distinct_people = true,
                            ast::Distinct::Roles => distinct_roles = true,
                        }
                    }
                }
                TierClause::Sample(rate) => sample = self.sample(file, rate),
                TierClause::Require(r, _) => match r {
                    ast::Requirement::Text(text) => requirements.push(Requirement {
                        text: text.value.clone(),
                        condition: None,
                    }),
                    ast::Requirement::Condition(e) => {
                        let text = file
                            .text
                            .get(e.span.start..e.span.end)
                            .unwrap_or("")
                            .to_owned();
                        if let Some(cond) = self.condition(file, e) {
                            requirements.push(Requirement {
                                text,
                                condition: Some(cond),
                            });
                        }
                    }
                },
            }
        }
        let Some(outcome) = outcome else {
            self.error(
                Code::InvalidTier,
                file,
                t.id_span,
                format!("tier {} has no `outcome`", t.id),
                "no outcome",
                "add a line like `outcome explicit` (auto, queue, explicit, dual or block)".into(),
            );
            return None;
        };
        // Approvers on an `auto` tier are asked when a rule raises the
        // outcome; on a `block` tier they would never be asked.
        if let (Some(span), Outcome::Block) = (approve_span, outcome) {
            self.error(
                Code::InvalidTier,
                file,
                span,
                format!("tier {} is `block` but names approvers", t.id),
                "approvers never asked",
                "a blocked action involves no approver: remove `approve`, or change the outcome"
                    .into(),
            );
        }
        Some(TierDef {
            id: t.id,
            name: t.name.value.clone(),
            outcome,
            approvals,
            evidence,
            on_missing_evidence,
            timeout,
            forbid,
            distinct_people,
            distinct_roles,
            requirements,
            sample,
            origin: Origin {
                file: Arc::clone(file),
                span: t.id_span,
            },
        })
    }
}

fn clause_key(c: &TierClause) -> (&'static str, Span) {
    match c {
        TierClause::Outcome(_, s) => ("outcome", *s),
        TierClause::Approve(a) => ("approve", a.span),
        TierClause::Evidence { span, .. } => ("evidence", *span),
        TierClause::Timeout { span, .. } => ("timeout", *span),
        TierClause::Forbid(_, s) => ("forbid", *s),
        TierClause::Distinct(_, s) => ("distinct", *s),
        TierClause::Require(_, s) => ("require", *s),
        TierClause::Sample(r) => ("sample", r.span),
    }
}

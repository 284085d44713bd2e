//! Where the clauses of a checked declaration were written.
//!
//! The checked model keeps one origin per declaration (a tier's number, a
//! rule's or role's name). The structural lints point at clauses: the
//! `approve` that cannot be satisfied, the `escalate to` that goes the wrong
//! way. The files of a compiled policy parse by construction, so their
//! syntax trees are rebuilt once per lint run and searched by the
//! declaration's origin. Should a file not parse, or a declaration not be
//! found, the lints fall back to the declaration's origin.

use crate::check::PolicySet;
use crate::source::{Origin, Span};
use crate::syntax::{self, ast};

/// The syntax trees of a policy set's files.
pub(super) struct Places {
    files: Vec<ast::File>,
}

impl Places {
    /// Parses every file of the set again.
    pub(super) fn new(set: &PolicySet) -> Places {
        Places {
            files: set
                .files
                .iter()
                .filter_map(|f| syntax::parse(f).ok())
                .collect(),
        }
    }

    fn declarations<'a>(
        &'a self,
        origin: &Origin,
    ) -> impl Iterator<Item = &'a ast::Declaration> + use<'a> {
        let name = origin.file.name.clone();
        self.files
            .iter()
            .filter(move |f| f.source.name == name)
            .flat_map(|f| f.declarations.iter())
    }

    /// The tier declared at `origin` (its number's span).
    pub(super) fn tier(&self, origin: &Origin) -> Option<&ast::Tier> {
        self.declarations(origin).find_map(|d| match d {
            ast::Declaration::Tier(t) if t.id_span.start == origin.span.start => Some(t),
            _ => None,
        })
    }

    /// The role declared at `origin` (its name's span).
    pub(super) fn role(&self, origin: &Origin) -> Option<&ast::Role> {
        self.declarations(origin).find_map(|d| match d {
            ast::Declaration::Role(r) if r.name.span.start == origin.span.start => Some(r),
            _ => None,
        })
    }

    /// The reason declared at `origin` (its code's span).
    pub(super) fn reason(&self, origin: &Origin) -> Option<&ast::ReasonDecl> {
        self.declarations(origin).find_map(|d| match d {
            ast::Declaration::Reason(r) if r.code.span.start == origin.span.start => Some(r),
            _ => None,
        })
    }

    /// The rule declared at `origin` (its name's span).
    pub(super) fn rule(&self, origin: &Origin) -> Option<&ast::Rule> {
        self.declarations(origin).find_map(|d| match d {
            ast::Declaration::Rule(r) if r.name.span.start == origin.span.start => Some(r),
            _ => None,
        })
    }

    /// The consequences of the rule or default declared at `origin`.
    pub(super) fn consequences(&self, origin: &Origin) -> Option<&[ast::Consequence]> {
        self.declarations(origin).find_map(|d| match d {
            ast::Declaration::Rule(r) if r.name.span.start == origin.span.start => {
                Some(r.consequences.as_slice())
            }
            ast::Declaration::Default(dd) if dd.span.start == origin.span.start => {
                Some(dd.consequences.as_slice())
            }
            _ => None,
        })
    }

    /// The span of a tier's `outcome` clause.
    pub(super) fn tier_outcome(&self, origin: &Origin) -> Span {
        self.tier_clause(origin, |c| match c {
            ast::TierClause::Outcome(_, span) => Some(*span),
            _ => None,
        })
    }

    /// The span of a tier's `approve` clause.
    pub(super) fn tier_approve(&self, origin: &Origin) -> Span {
        self.tier_clause(origin, |c| match c {
            ast::TierClause::Approve(a) => Some(a.span),
            _ => None,
        })
    }

    /// The span of the `roles` item of a tier's `distinct` clause.
    pub(super) fn tier_distinct_roles(&self, origin: &Origin) -> Span {
        self.tier_clause(origin, |c| match c {
            ast::TierClause::Distinct(items, _) => items
                .iter()
                .find(|(d, _)| *d == ast::Distinct::Roles)
                .map(|(_, span)| *span),
            _ => None,
        })
    }

    /// The span of the role named by a tier's `timeout ... then escalate to`.
    pub(super) fn tier_timeout_role(&self, origin: &Origin) -> Span {
        self.tier_clause(origin, |c| match c {
            ast::TierClause::Timeout {
                then: ast::Expiry::Escalate(role),
                ..
            } => Some(role.span),
            _ => None,
        })
    }

    fn tier_clause(
        &self,
        origin: &Origin,
        pick: impl Fn(&ast::TierClause) -> Option<Span>,
    ) -> Span {
        self.tier(origin)
            .and_then(|t| t.clauses.iter().find_map(pick))
            .unwrap_or(origin.span)
    }

    /// The span of the role named by a role's `escalate to`.
    pub(super) fn role_escalate(&self, origin: &Origin) -> Span {
        self.role(origin)
            .and_then(|r| r.escalate.as_ref())
            .map_or(origin.span, |e| e.span)
    }

    /// The span of a role's `limit` clause.
    pub(super) fn role_limit(&self, origin: &Origin) -> Span {
        self.role(origin)
            .and_then(|r| r.limit.as_ref())
            .map_or(origin.span, |l| l.span)
    }

    /// The span of a reason's message.
    pub(super) fn reason_message(&self, origin: &Origin) -> Span {
        self.reason(origin).map_or(origin.span, |r| r.message.span)
    }

    /// The span of the `tier N` consequence of a rule or the default.
    pub(super) fn effect_tier(&self, origin: &Origin) -> Span {
        self.consequences(origin)
            .and_then(|cs| {
                cs.iter().find_map(|c| match c {
                    ast::Consequence::Tier(_, span) => Some(*span),
                    _ => None,
                })
            })
            .unwrap_or(origin.span)
    }

    /// The span of the first `approve` consequence of a rule or the default.
    pub(super) fn effect_approve(&self, origin: &Origin) -> Span {
        self.consequences(origin)
            .and_then(|cs| {
                cs.iter().find_map(|c| match c {
                    ast::Consequence::Approve(a) => Some(a.span),
                    _ => None,
                })
            })
            .unwrap_or(origin.span)
    }
}

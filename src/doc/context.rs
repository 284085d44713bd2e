//! What every section of the document needs: the policy set, its
//! conditions in words, and the wording of tiers, roles, approvers,
//! evidence, reasons and consequences, so each reads the same everywhere.

use super::inline::Inline;
use super::words::Words;
use crate::check::{
    ApproverGroup, Effect, EvidenceId, PolicySet, ReasonId, RoleId, TierDef, TierIdx,
};
use crate::source::Origin;
use crate::syntax::ast::Outcome;

/// The set being documented, with its words prepared.
pub(crate) struct Ctx<'a> {
    /// The checked policy set.
    pub(crate) set: &'a PolicySet,
    /// Its conditions in words.
    pub(crate) words: Words<'a>,
}

impl<'a> Ctx<'a> {
    /// Prepares the wording of `set`.
    pub(crate) fn new(set: &'a PolicySet) -> Ctx<'a> {
        Ctx {
            set,
            words: Words::new(set),
        }
    }

    /// `tier 3 "financial or customer impact" (explicit)`.
    pub(crate) fn tier(&self, idx: TierIdx) -> Inline {
        match self.set.tiers.get(idx) {
            Some(t) => tier_label(t),
            None => Inline::text(format!("tier #{idx}")),
        }
    }

    /// A role's name, as code.
    pub(crate) fn role_name(&self, id: RoleId) -> Inline {
        match self.set.roles.get(id) {
            Some(r) => Inline::code(r.name.clone()),
            None => Inline::text(format!("role #{id}")),
        }
    }

    /// A role's name with its limit, if it has one: `` `support_lead` (limit:
    /// the action amount at most 1000; above it `finance_approver`) ``.
    pub(crate) fn role_with_limit(&self, id: RoleId) -> Inline {
        let name = self.role_name(id);
        match self.set.roles.get(id).and_then(|r| r.limit.as_ref()) {
            Some(limit) => name
                .t(" (limit: ")
                .then(self.words.limit(limit))
                .t("; ")
                .then(self.above_limit(id))
                .t(")"),
            None => name,
        }
    }

    /// What happens above a role's limit: `above it `cfo``.
    pub(crate) fn above_limit(&self, id: RoleId) -> Inline {
        match self.set.roles.get(id).and_then(|r| r.escalate) {
            Some(to) => Inline::text("above it ").then(self.role_name(to)),
            None => Inline::text("above it, this role cannot approve"),
        }
    }

    /// Approver groups: `` `a` or `b` and 2 of `c`, `d` ``. On a dual tier a
    /// single group of one approval is asked for two, as the engine does.
    pub(crate) fn approvers(&self, groups: &[ApproverGroup], outcome: Option<Outcome>) -> Inline {
        let doubled = outcome == Some(Outcome::Dual) && groups.len() == 1;
        let parts = groups.iter().map(|g| {
            let count = if doubled { g.count.max(2) } else { g.count };
            let roles: Vec<Inline> = g.roles.iter().map(|r| self.role_with_limit(*r)).collect();
            match (count, roles.len()) {
                (1, _) => Inline::list(roles, "or"),
                (n, 1) => {
                    Inline::text(format!("{n} people holding ")).then(Inline::join(roles, ""))
                }
                (n, _) => Inline::text(format!("{n} of ")).then(Inline::join(roles, ", ")),
            }
        });
        Inline::join(parts, " and ")
    }

    /// Evidence fields, as code, comma-separated.
    pub(crate) fn evidence(&self, ids: &[EvidenceId]) -> Inline {
        Inline::join(
            ids.iter().map(|id| match self.set.evidence.get(*id) {
                Some(e) => Inline::code(e.name.clone()),
                None => Inline::text(format!("evidence #{id}")),
            }),
            ", ",
        )
    }

    /// A reason code, as code.
    pub(crate) fn reason_code(&self, id: ReasonId) -> Inline {
        match self.set.reasons.get(id) {
            Some(r) => Inline::code(r.code.clone()),
            None => Inline::text(format!("reason #{id}")),
        }
    }

    /// Reason codes with their messages: `` `REFUND`: refund within ... ``.
    pub(crate) fn reasons(&self, ids: &[ReasonId]) -> Inline {
        if ids.is_empty() {
            return Inline::text("none (no reason code is given)");
        }
        Inline::join(
            ids.iter().map(|id| {
                let code = self.reason_code(*id);
                match self.set.reasons.get(*id) {
                    Some(r) => code.t(format!(": {}", r.message)),
                    None => code,
                }
            }),
            "; ",
        )
    }

    /// Each consequence of a rule or the default, in words.
    pub(crate) fn consequences(&self, e: &Effect) -> Vec<Inline> {
        let mut out = Vec::new();
        if let Some(t) = e.tier {
            out.push(Inline::text("places the action in ").then(self.tier(t)));
        }
        if let Some(o) = e.at_least {
            out.push(Inline::text("raises the outcome to at least ").b(o.as_str()));
        }
        if !e.approvals.is_empty() {
            let mut approve =
                Inline::text("requires approval by ").then(self.approvers(&e.approvals, None));
            let tier = e
                .tier
                .and_then(|t| self.set.tiers.get(t))
                .map(|t| t.outcome);
            if tier.max(e.at_least) < Some(Outcome::Explicit) {
                approve.push_text(", so the outcome is at least ");
                approve = approve.b(Outcome::Explicit.as_str());
            }
            out.push(approve);
        }
        if !e.evidence.is_empty() {
            out.push(Inline::text("requires evidence ").then(self.evidence(&e.evidence)));
        }
        if out.is_empty() {
            out.push(Inline::text("changes nothing"));
        }
        out
    }

    /// Consequences joined into one run.
    pub(crate) fn effect(&self, e: &Effect) -> Inline {
        Inline::join(self.consequences(e), "; ")
    }
}

/// `tier 3 "financial or customer impact" (explicit)`.
pub(crate) fn tier_label(t: &TierDef) -> Inline {
    Inline::text(format!("tier {} “{}” (", t.id, t.name))
        .b(t.outcome.as_str())
        .t(")")
}

/// The file name without directories (the digest ignores them too, so the
/// document is the same wherever the policy is checked out) and the line.
pub(crate) fn location(origin: &Origin) -> String {
    let loc = origin.location();
    let name = loc.file.rsplit(['/', '\\']).next().unwrap_or(&loc.file);
    format!("{name}:{}", loc.line)
}

/// What each outcome means, for the legend.
pub(crate) fn outcome_meaning(o: Outcome) -> &'static str {
    match o {
        Outcome::Auto => "execute now, log for audit",
        Outcome::Queue => "hold for review; batch approval allowed",
        Outcome::Explicit => "one authorized person must approve",
        Outcome::Dual => "two different authorized people must approve",
        Outcome::Block => "never executes through this path",
    }
}

//! Who may approve this action: the approver groups a tier and the matching
//! rules request, with each role's approval limit checked against the
//! action and routed up its escalation chain. Everything is kept as role
//! ids in reused buffers; src/eval/render.rs turns them into names and the
//! texts of the APPROVER_* reasons.

use std::ops::Range;

use super::decode::Slot;
use crate::check::{ApproverGroup as Requested, PolicySet};
use crate::compile::Program;

/// The approver groups after limits and escalation.
#[derive(Debug, Default)]
pub(super) struct Resolved {
    /// Groups in request order; identical groups (after escalation) merged.
    pub groups: Vec<Group>,
    /// The roles of every group, each group a range of this list.
    pub roles: Vec<Role>,
    /// `(from, to)` for every role replaced by its escalation.
    pub escalated: Vec<(usize, usize)>,
    /// Roles removed from a group that still has another eligible role
    /// (the first role of each chain that could not approve).
    pub dropped: Vec<usize>,
    /// Roles of groups left with no eligible role: the action blocks.
    pub exhausted: Vec<usize>,
    /// The current group's ineligible roles, reused.
    ineligible: Vec<usize>,
}

/// `count` approvals from the roles `roles` (a range of [`Resolved::roles`]).
#[derive(Clone, Debug)]
pub(super) struct Group {
    pub count: u32,
    pub roles: Range<usize>,
}

/// An eligible role, and the role it replaced by escalation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Role {
    pub id: usize,
    pub escalated_from: Option<usize>,
}

impl Resolved {
    pub(super) fn clear(&mut self) {
        self.groups.clear();
        self.roles.clear();
        self.escalated.clear();
        self.dropped.clear();
        self.exhausted.clear();
        self.ineligible.clear();
    }

    /// The roles of one group.
    pub(super) fn roles_of(&self, group: &Group) -> &[Role] {
        self.roles.get(group.roles.clone()).unwrap_or(&[])
    }

    /// Resolves requested groups against the action's slots.
    pub(super) fn resolve<'g>(
        &mut self,
        set: &PolicySet,
        requested: impl Iterator<Item = &'g Requested>,
        slots: &[Slot<'_>],
    ) {
        for group in requested {
            let start = self.roles.len();
            self.ineligible.clear();
            for &role in &group.roles {
                let Some((id, from)) = eligible_role(set, role, slots) else {
                    self.ineligible.push(role);
                    continue;
                };
                // The escalation is reported even when its target is already
                // in the group: the reasons must not depend on the order the
                // roles are written in.
                if let Some(from) = from
                    && !self.escalated.contains(&(from, id))
                {
                    self.escalated.push((from, id));
                }
                let mine = self.roles.get(start..).unwrap_or(&[]);
                if mine.iter().any(|r| r.id == id) {
                    continue;
                }
                self.roles.push(Role {
                    id,
                    escalated_from: from,
                });
            }
            let end = self.roles.len();
            if start == end && !group.roles.is_empty() {
                push_new(&mut self.exhausted, &self.ineligible);
                continue;
            }
            push_new(&mut self.dropped, &self.ineligible);
            // Two requests for the same approval (a rule asking for the role
            // the tier already names, or one that escalation made equal) are
            // satisfied by the same approval: same count and the same roles,
            // in any order.
            let mine = self.roles.get(start..end).unwrap_or(&[]);
            let same = self.groups.iter().any(|g| {
                let theirs = self.roles.get(g.roles.clone()).unwrap_or(&[]);
                g.count == group.count
                    && theirs.len() == mine.len()
                    && theirs.iter().all(|a| mine.iter().any(|b| a.id == b.id))
            });
            if same {
                self.roles.truncate(start);
            } else {
                self.groups.push(Group {
                    count: group.count,
                    roles: start..end,
                });
            }
        }
    }
}

/// Appends the ids not already in `list`, in order.
fn push_new(list: &mut Vec<usize>, ids: &[usize]) {
    for id in ids {
        if !list.contains(id) {
            list.push(*id);
        }
    }
}

fn role_name(set: &PolicySet, id: usize) -> &str {
    set.roles.get(id).map(|r| r.name.as_str()).unwrap_or("")
}

/// The role that can approve this action: the role itself if within its
/// limit, else the first role up its escalation chain that is. A role whose
/// limit attribute is absent from the input is never within its limit (fail
/// closed). Returns the role and, when escalated, the role it replaces.
fn eligible_role(
    set: &PolicySet,
    role: usize,
    slots: &[Slot<'_>],
) -> Option<(usize, Option<usize>)> {
    let mut at = role;
    // The checker guarantees chains end; the bound keeps that a non-issue.
    for _ in 0..=set.roles.len() {
        let def = set.roles.get(at)?;
        let within = match &def.limit {
            None => true,
            Some(limit) => match slots.get(limit.attribute) {
                Some(Slot::Number(v)) => limit.allows(*v),
                _ => false,
            },
        };
        if within {
            return Some((at, (at != role).then_some(role)));
        }
        at = def.escalate?;
    }
    None
}

/// The whole escalation chain of a role that cannot approve, each role with
/// its limit: `support_lead (limit action.amount <= 1000) -> finance_approver
/// (limit action.amount <= 10000)`, or why the limits cannot be checked.
pub(super) fn ineligible_text(program: &Program, role: usize, slots: &[Slot<'_>]) -> String {
    let set = &program.set;
    let mut parts = Vec::new();
    let mut at = Some(role);
    while let Some(id) = at {
        if parts.len() > set.roles.len() {
            break;
        }
        let name = role_name(set, id);
        let limit = set.roles.get(id).and_then(|r| r.limit.as_ref());
        parts.push(
            match (program.limit_text.get(id).cloned().flatten(), limit) {
                (Some(text), Some(l))
                    if !matches!(slots.get(l.attribute), Some(Slot::Number(_))) =>
                {
                    let attr = set
                        .attributes
                        .get(l.attribute)
                        .map(|a| a.path.as_str())
                        .unwrap_or("");
                    format!("{name} (limit {text}, but `{attr}` is absent)")
                }
                (Some(text), _) => format!("{name} (limit {text})"),
                _ => name.to_owned(),
            },
        );
        at = set.roles.get(id).and_then(|r| r.escalate);
    }
    parts.join(" -> ")
}

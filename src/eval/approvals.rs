//! Who may approve this action: the approver groups a tier and the matching
//! rules request, with each role's approval limit checked against the
//! action and routed up its escalation chain.

use super::decode::Slot;
use super::{ApproverGroup, ApproverRole};
use crate::check::ApproverGroup as Requested;
use crate::compile::Program;

/// The approver groups after limits and escalation.
pub(super) struct Resolved {
    /// Groups in request order; identical groups (after escalation) merged.
    pub groups: Vec<ApproverGroup>,
    /// `from -> to` for every role replaced by its escalation.
    pub escalated: Vec<String>,
    /// Roles removed from a group that still has another eligible role.
    pub dropped: Vec<String>,
    /// Roles of groups left with no eligible role: the action blocks.
    pub exhausted: Vec<String>,
}

/// Resolves requested groups against the action's slots.
pub(super) fn resolve(program: &Program, requested: &[&Requested], slots: &[Slot<'_>]) -> Resolved {
    let set = &program.set;
    let mut out = Resolved {
        groups: Vec::new(),
        escalated: Vec::new(),
        dropped: Vec::new(),
        exhausted: Vec::new(),
    };
    for group in requested {
        let mut roles: Vec<ApproverRole> = Vec::new();
        let mut ineligible = Vec::new();
        for role in &group.roles {
            let Some((id, from)) = eligible_role(program, *role, slots) else {
                ineligible.push(ineligible_text(program, *role, slots));
                continue;
            };
            let name = role_name(program, id);
            // The escalation is reported even when its target is already in
            // the group: the reasons must not depend on the order the roles
            // are written in.
            if let Some(from) = &from {
                let step = format!("{from} -> {name}");
                if !out.escalated.contains(&step) {
                    out.escalated.push(step);
                }
            }
            if roles.iter().any(|r| r.name == name) {
                continue;
            }
            roles.push(ApproverRole {
                name: name.to_owned(),
                title: set.roles.get(id).and_then(|r| r.title.clone()),
                limit: program.limit_text.get(id).cloned().flatten(),
                escalated_from: from,
            });
        }
        if roles.is_empty() && !group.roles.is_empty() {
            out.exhausted.extend(ineligible);
            continue;
        }
        out.dropped.extend(ineligible);
        let group = ApproverGroup {
            roles,
            count: group.count,
        };
        // Two requests for the same approval (a rule asking for the role
        // the tier already names, or one that escalation made equal) are
        // satisfied by the same approval.
        // Same count and the same roles, in any order.
        let same = |g: &ApproverGroup| {
            g.count == group.count
                && g.roles.len() == group.roles.len()
                && g.roles
                    .iter()
                    .all(|a| group.roles.iter().any(|b| a.name == b.name))
        };
        if !out.groups.iter().any(same) {
            out.groups.push(group);
        }
    }
    for list in [&mut out.dropped, &mut out.exhausted] {
        let mut seen = std::collections::HashSet::new();
        list.retain(|s| seen.insert(s.clone()));
    }
    out
}

fn role_name(program: &Program, id: usize) -> &str {
    program
        .set
        .roles
        .get(id)
        .map(|r| r.name.as_str())
        .unwrap_or("")
}

/// The role that can approve this action: the role itself if within its
/// limit, else the first role up its escalation chain that is. A role whose
/// limit attribute is absent from the input is never within its limit (fail
/// closed). Returns the role and, when escalated, the name it replaces.
fn eligible_role(
    program: &Program,
    role: usize,
    slots: &[Slot<'_>],
) -> Option<(usize, Option<String>)> {
    let set = &program.set;
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
            let from = (at != role).then(|| role_name(program, role).to_owned());
            return Some((at, from));
        }
        at = def.escalate?;
    }
    None
}

/// The whole escalation chain of a role that cannot approve, each role with
/// its limit: `support_lead (limit action.amount <= 1000) -> finance_approver
/// (limit action.amount <= 10000)`, or why the limits cannot be checked.
fn ineligible_text(program: &Program, role: usize, slots: &[Slot<'_>]) -> String {
    let set = &program.set;
    let mut parts = Vec::new();
    let mut at = Some(role);
    while let Some(id) = at {
        if parts.len() > set.roles.len() {
            break;
        }
        let name = role_name(program, id);
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

//! Matching counted approvals to the approval groups, as a maximum flow.
//!
//! The unit is the person (a normalized identity, `crate::identity`),
//! never the record:
//!
//! - a person counts at most once toward any one group, however many
//!   records they gave;
//! - with `distinct people` (always for `dual`) a person counts at most
//!   once in total;
//! - with `distinct roles` each role is used at most once in total.
//!
//! Each combination is a flow network (S source, T sink, capacities in
//! brackets):
//!
//! | distinct | network |
//! |---|---|
//! | people | S →[1] person →[1] group →[count] T |
//! | people, roles | S →[1] person → role →[1] role′ → group →[count] T |
//! | none | S → person →[1] (person, group) → group →[count] T |
//! | roles | S →[1] role →[1] (person, group) → group →[count] T |
//!
//! People with the same set of eligible roles are interchangeable, so they
//! are one node whose capacities are multiplied by their number: 100 000
//! approvals from a few role sets make a graph of a few dozen nodes. The
//! flow is then mapped back to concrete people in approvals order, so the
//! answer is deterministic. With no groups, the decision's `count` forms one
//! open group whose roles are anything (a person without roles counts with
//! the empty role name).

use std::collections::HashMap;

use super::flow::{EdgeId, Network, UNBOUNDED};
use super::{MissingGroup, Satisfaction};
use crate::eval::ApprovalRequirement;

/// One approval record that passed every check, in approvals order.
#[derive(Clone, Debug)]
pub(crate) struct Counted<'a> {
    /// The normalized identity: equal keys are one person.
    pub(crate) person: String,
    /// The identity as written (trimmed), reported in `satisfied`.
    pub(crate) approver: &'a str,
    /// The roles it may count in ([`eligible_roles`]).
    pub(crate) roles: Vec<&'a str>,
}

/// The roles of `roles` that can count toward `req`: those named by some
/// group, or all of them (in order) for the open group.
pub(crate) fn eligible_roles<'a>(req: &ApprovalRequirement, roles: &'a [String]) -> Vec<&'a str> {
    roles
        .iter()
        .map(|r| r.trim())
        .filter(|r| {
            req.groups.is_empty()
                || req
                    .groups
                    .iter()
                    .any(|g| g.roles.iter().any(|x| x.name == *r))
        })
        .collect()
}

/// A person: every counted record of one normalized identity.
struct Person<'a> {
    /// As written in their first counted record.
    approver: &'a str,
    /// The union of their records' eligible roles, in first-seen order.
    roles: Vec<&'a str>,
}

/// One group as the matcher sees it.
struct Group<'r> {
    /// Role names; `None` for the open group (anything).
    roles: Option<Vec<&'r str>>,
    count: u32,
}

impl Group<'_> {
    fn admits(&self, role: &str) -> bool {
        self.roles.as_ref().is_none_or(|r| r.contains(&role))
    }
}

/// Matches counted approvals to the groups: who satisfied which group (in
/// group order, then approvals order) and what each group still needs.
pub(crate) fn assign(
    req: &ApprovalRequirement,
    counted: &[Counted<'_>],
) -> (Vec<Satisfaction>, Vec<MissingGroup>) {
    let groups: Vec<Group<'_>> = if req.groups.is_empty() {
        vec![Group {
            roles: None,
            count: req.count,
        }]
    } else {
        req.groups
            .iter()
            .map(|g| Group {
                roles: Some(g.roles.iter().map(|r| r.name.as_str()).collect()),
                count: g.count,
            })
            .collect()
    };
    let people = people(counted, req.groups.is_empty());
    let mut m = Matcher::new(&groups, &people);
    let filled = if req.distinct_people {
        m.distinct_people(req.distinct_roles)
    } else {
        m.shared_people(req.distinct_roles)
    };
    let mut missing = Vec::new();
    for (i, (g, got)) in groups.iter().zip(&filled).enumerate() {
        let needed = g.count.saturating_sub(*got);
        if needed > 0 {
            missing.push(MissingGroup {
                group: i,
                roles: g
                    .roles
                    .as_ref()
                    .map(|r| r.iter().map(|x| (*x).to_owned()).collect())
                    .unwrap_or_default(),
                needed,
            });
        }
    }
    let mut satisfied = m.satisfied;
    satisfied.sort_by_key(|(order, s)| (s.group, *order));
    (satisfied.into_iter().map(|(_, s)| s).collect(), missing)
}

/// Folds records into people, in order of first appearance.
fn people<'a>(counted: &[Counted<'a>], open: bool) -> Vec<Person<'a>> {
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut people: Vec<Person<'a>> = Vec::new();
    for c in counted {
        let at = *index.entry(c.person.as_str()).or_insert_with(|| {
            people.push(Person {
                approver: c.approver,
                roles: Vec::new(),
            });
            people.len() - 1
        });
        if let Some(p) = people.get_mut(at) {
            for r in &c.roles {
                if !p.roles.contains(r) {
                    p.roles.push(r);
                }
            }
        }
    }
    if open {
        // Anyone may approve the open group; a person without roles counts
        // with the empty role name (one shared name under distinct roles).
        for p in &mut people {
            if p.roles.is_empty() {
                p.roles.push("");
            }
        }
    }
    people
}

/// People with one eligible role set: interchangeable for the flow.
struct Class {
    /// Role ids, sorted.
    roles: Vec<usize>,
    /// People indices, in approvals order.
    members: Vec<usize>,
}

struct Matcher<'g, 'p, 'a> {
    groups: &'g [Group<'g>],
    people: &'p [Person<'a>],
    /// Interned role names.
    role_names: Vec<&'a str>,
    classes: Vec<Class>,
    /// (approvals order of the person, satisfaction).
    satisfied: Vec<(usize, Satisfaction)>,
}

impl<'g, 'p, 'a> Matcher<'g, 'p, 'a> {
    fn new(groups: &'g [Group<'g>], people: &'p [Person<'a>]) -> Self {
        let mut role_names: Vec<&'a str> = Vec::new();
        let mut role_ids: HashMap<&'a str, usize> = HashMap::new();
        let mut class_ids: HashMap<Vec<usize>, usize> = HashMap::new();
        let mut classes: Vec<Class> = Vec::new();
        for (i, p) in people.iter().enumerate() {
            let mut set: Vec<usize> = p
                .roles
                .iter()
                .map(|r| {
                    *role_ids.entry(r).or_insert_with(|| {
                        role_names.push(r);
                        role_names.len() - 1
                    })
                })
                .collect();
            set.sort_unstable();
            set.dedup();
            let c = *class_ids.entry(set.clone()).or_insert_with(|| {
                classes.push(Class {
                    roles: set,
                    members: Vec::new(),
                });
                classes.len() - 1
            });
            if let Some(class) = classes.get_mut(c) {
                class.members.push(i);
            }
        }
        Matcher {
            groups,
            people,
            role_names,
            classes,
            satisfied: Vec::new(),
        }
    }

    fn role_name(&self, role: usize) -> &'a str {
        self.role_names.get(role).copied().unwrap_or("")
    }

    fn class_admitted(&self, class: &Class, group: &Group<'_>) -> bool {
        class.roles.iter().any(|r| group.admits(self.role_name(*r)))
    }

    /// Records that `person` counts toward `group` in `role`.
    fn count(&mut self, person: usize, group: usize, role: &str) {
        if let Some(p) = self.people.get(person) {
            self.satisfied.push((
                person,
                Satisfaction {
                    group,
                    approver: p.approver.to_owned(),
                    role: role.to_owned(),
                },
            ));
        }
    }

    /// The first of the person's own roles (in their order) that `group`
    /// admits.
    fn role_for(&self, person: usize, group: &Group<'_>) -> &'a str {
        self.people
            .get(person)
            .and_then(|p| p.roles.iter().copied().find(|r| group.admits(r)))
            .unwrap_or("")
    }

    /// Adds the group nodes and their `group → T` edges, of capacity 0
    /// until [`Matcher::fill_in_group_order`] opens them.
    fn group_nodes(&self, net: &mut Network, sink: usize) -> (Vec<usize>, Vec<EdgeId>) {
        let mut nodes = Vec::new();
        let mut edges = Vec::new();
        for _ in self.groups {
            let node = net.add_node();
            edges.push(net.add_edge(node, sink, 0));
            nodes.push(node);
        }
        (nodes, edges)
    }

    /// A maximum flow that fills earlier groups first: the groups' edges to
    /// the sink are opened one at a time, each followed by a max flow from
    /// the current one. The flow into the sink through an opened edge never
    /// decreases, so group 0 gets as many as any maximum flow could give
    /// it, then group 1 as many as possible given that, and so on; the
    /// total is still the maximum. Which groups a shortfall is reported in
    /// is thereby a fixed rule, not an accident of search order.
    fn fill_in_group_order(&self, net: &mut Network, source: usize, sink: usize, edges: &[EdgeId]) {
        for (g, e) in self.groups.iter().zip(edges) {
            net.raise(*e, u64::from(g.count));
            net.max_flow(source, sink);
        }
    }

    /// The next member of class `c` not yet counted (`next` per class).
    fn next_member(&self, c: usize, next: &mut [usize]) -> Option<usize> {
        let n = next.get_mut(c)?;
        let member = self.classes.get(c)?.members.get(*n).copied()?;
        *n += 1;
        Some(member)
    }

    /// `distinct people`: each person counts at most once in total. Returns
    /// the approvals counted per group.
    fn distinct_people(&mut self, distinct_roles: bool) -> Vec<u32> {
        let mut net = Network::new(2);
        let (source, sink) = (0, 1);
        let (group_node, group_edge) = self.group_nodes(&mut net, sink);
        let mut class_node = Vec::with_capacity(self.classes.len());
        for c in &self.classes {
            let node = net.add_node();
            net.add_edge(source, node, c.members.len() as u64);
            class_node.push(node);
        }
        let mut next = vec![0usize; self.classes.len()];
        if distinct_roles {
            // role → role′ of capacity 1: each role is used once in total.
            let mut role_in = Vec::with_capacity(self.role_names.len());
            let mut role_out = Vec::with_capacity(self.role_names.len());
            for _ in 0..self.role_names.len() {
                let (inn, out) = (net.add_node(), net.add_node());
                net.add_edge(inn, out, 1);
                role_in.push(inn);
                role_out.push(out);
            }
            // (class, role, edge) and (role, group, edge), read back below.
            let mut into_role: Vec<(usize, usize, EdgeId)> = Vec::new();
            for (c, class) in self.classes.iter().enumerate() {
                for &r in &class.roles {
                    if let (Some(&cn), Some(&rn)) = (class_node.get(c), role_in.get(r)) {
                        into_role.push((c, r, net.add_edge(cn, rn, 1)));
                    }
                }
            }
            let mut into_group: Vec<(usize, usize, EdgeId)> = Vec::new();
            for (r, &out) in role_out.iter().enumerate() {
                for (g, group) in self.groups.iter().enumerate() {
                    if group.admits(self.role_name(r))
                        && let Some(&gn) = group_node.get(g)
                    {
                        into_group.push((r, g, net.add_edge(out, gn, 1)));
                    }
                }
            }
            self.fill_in_group_order(&mut net, source, sink, &group_edge);
            // A used role carries exactly one unit, from the one class whose
            // edge into it has flow to the one group its edge out reaches.
            for (r, g, e) in into_group {
                if net.flow(e) == 0 {
                    continue;
                }
                let sender = into_role
                    .iter()
                    .find(|(_, role, edge)| *role == r && net.flow(*edge) > 0)
                    .map(|(c, _, _)| *c);
                if let Some(p) = sender.and_then(|c| self.next_member(c, &mut next)) {
                    let role = self.role_name(r);
                    self.count(p, g, role);
                }
            }
        } else {
            let mut arcs: Vec<(usize, usize, EdgeId)> = Vec::new();
            for (c, class) in self.classes.iter().enumerate() {
                for (g, group) in self.groups.iter().enumerate() {
                    if self.class_admitted(class, group)
                        && let (Some(&cn), Some(&gn)) = (class_node.get(c), group_node.get(g))
                    {
                        arcs.push((c, g, net.add_edge(cn, gn, class.members.len() as u64)));
                    }
                }
            }
            self.fill_in_group_order(&mut net, source, sink, &group_edge);
            for (c, g, e) in arcs {
                for _ in 0..net.flow(e) {
                    let Some(p) = self.next_member(c, &mut next) else {
                        break;
                    };
                    if let Some(group) = self.groups.get(g) {
                        let role = self.role_for(p, group);
                        self.count(p, g, role);
                    }
                }
            }
        }
        group_edge.iter().map(|e| flow_u32(&net, *e)).collect()
    }

    /// Without `distinct people`: a person counts at most once per group
    /// but may count toward several groups. Returns the approvals counted
    /// per group.
    fn shared_people(&mut self, distinct_roles: bool) -> Vec<u32> {
        let mut net = Network::new(2);
        let (source, sink) = (0, 1);
        let (group_node, group_edge) = self.group_nodes(&mut net, sink);
        // (class, group) nodes of capacity = members: each member at most
        // once per group.
        let mut pair_node: HashMap<(usize, usize), usize> = HashMap::new();
        let mut pair_arcs: Vec<(usize, usize, EdgeId)> = Vec::new();
        let mut pair_feed: Vec<(usize, usize, usize)> = Vec::new();
        for (c, class) in self.classes.iter().enumerate() {
            for (g, group) in self.groups.iter().enumerate() {
                if !self.class_admitted(class, group) {
                    continue;
                }
                let Some(&gn) = group_node.get(g) else {
                    continue;
                };
                let node = net.add_node();
                pair_arcs.push((c, g, net.add_edge(node, gn, class.members.len() as u64)));
                pair_node.insert((c, g), node);
                pair_feed.push((c, g, node));
            }
        }
        // (role, class, group, edge) when roles are distinct.
        let mut role_arcs: Vec<(usize, usize, usize, EdgeId)> = Vec::new();
        if distinct_roles {
            for r in 0..self.role_names.len() {
                let rn = net.add_node();
                net.add_edge(source, rn, 1);
                for (c, class) in self.classes.iter().enumerate() {
                    if !class.roles.contains(&r) {
                        continue;
                    }
                    for (g, group) in self.groups.iter().enumerate() {
                        if !group.admits(self.role_name(r)) {
                            continue;
                        }
                        if let Some(&pn) = pair_node.get(&(c, g)) {
                            role_arcs.push((r, c, g, net.add_edge(rn, pn, 1)));
                        }
                    }
                }
            }
        } else {
            // No constraint across groups: each (class, group) pair is fed
            // freely and bounded by its members alone.
            for &(_, _, pn) in &pair_feed {
                net.add_edge(source, pn, UNBOUNDED);
            }
        }
        self.fill_in_group_order(&mut net, source, sink, &group_edge);
        if distinct_roles {
            let mut next_member: HashMap<(usize, usize), usize> = HashMap::new();
            for (r, c, g, e) in role_arcs {
                if net.flow(e) == 0 {
                    continue;
                }
                let n = next_member.entry((c, g)).or_insert(0);
                let member = self
                    .classes
                    .get(c)
                    .and_then(|class| class.members.get(*n))
                    .copied();
                if let Some(p) = member {
                    *n += 1;
                    let role = self.role_name(r);
                    self.count(p, g, role);
                }
            }
        } else {
            for (c, g, e) in pair_arcs {
                let members: Vec<usize> = self
                    .classes
                    .get(c)
                    .map(|class| class.members.clone())
                    .unwrap_or_default();
                let take = usize::try_from(net.flow(e)).unwrap_or(usize::MAX);
                for p in members.into_iter().take(take) {
                    if let Some(group) = self.groups.get(g) {
                        let role = self.role_for(p, group);
                        self.count(p, g, role);
                    }
                }
            }
        }
        group_edge.iter().map(|e| flow_u32(&net, *e)).collect()
    }
}

fn flow_u32(net: &Network, e: EdgeId) -> u32 {
    u32::try_from(net.flow(e)).unwrap_or(u32::MAX)
}

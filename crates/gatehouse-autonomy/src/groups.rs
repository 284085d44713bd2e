//! The groups a request counts in (its determining rules, its tier, its
//! agent, its target) and their running tallies.

use std::collections::{BTreeMap, HashMap};

use gatehouse::Outcome;
use serde::Serialize;

use crate::ingest::{EVIDENCE_LISTED, Keys, MAX_GROUPS};

/// The rule name a decision no rule determined counts under.
pub const DEFAULT_RULE: &str = "(default)";
/// The value when a record does not say.
pub const UNKNOWN: &str = "(unknown)";
/// The tier of a decision without one.
pub const NONE: &str = "(none)";
/// The longest name (agent, target, rule, tier, policy) kept as written, in
/// bytes; a longer one is kept shortened by [`bounded_name`]. With at most
/// [`MAX_GROUPS`] groups per dimension this bounds what names cost.
pub const MAX_NAME_BYTES: usize = 256;

/// `name` when it is at most [`MAX_NAME_BYTES`] long; otherwise its first
/// 200 bytes (at a character boundary), `…` and `#` with 16 hex digits of
/// the SHA-256 of the whole name: bounded, still distinct from every other
/// long name with the same beginning, and the same on every run (so two
/// reports of one history agree).
pub fn bounded_name(name: &str) -> std::borrow::Cow<'_, str> {
    if name.len() <= MAX_NAME_BYTES {
        return std::borrow::Cow::Borrowed(name);
    }
    let mut end = 200;
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    use sha2::Digest as _;
    let digest = hex::encode(sha2::Sha256::digest(name.as_bytes()));
    let short = digest.get(..16).unwrap_or(&digest);
    std::borrow::Cow::Owned(format!("{}…#{short}", name.get(..end).unwrap_or("")))
}

/// Where values past [`MAX_GROUPS`] of one dimension are counted.
pub const OTHER: &str = "(other)";

/// What a group is grouped by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Dimension {
    /// A determining rule.
    Rule,
    /// The risk tier.
    Tier,
    /// `agent.id`.
    Agent,
    /// The target attribute.
    Target,
}

impl Dimension {
    /// The four, in report order.
    pub const ALL: [Dimension; 4] = [
        Dimension::Rule,
        Dimension::Tier,
        Dimension::Agent,
        Dimension::Target,
    ];

    fn index(self) -> usize {
        self as usize
    }
}

/// A group: its dimension and its index among that dimension's values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct GroupId {
    dimension: Dimension,
    index: u32,
}

/// Counters of one group (also of one time bucket of a rule).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Decisions (requests, and decision records no request claimed).
    pub volume: u64,
    /// Decided `auto` and approved without a person.
    pub auto: u64,
    /// Of those, sampled for review after the fact.
    pub sampled: u64,
    /// Decided `queue`, `explicit` or `dual`: held for people.
    pub held: u64,
    /// Decided `block`.
    pub blocked: u64,
    /// Held requests a person decided (approved in full, rejected or sent
    /// back for changes; the first such answer counts).
    pub human_decided: u64,
    /// Of those, approved as proposed.
    pub approved: u64,
    /// Of those, rejected.
    pub rejected: u64,
    /// Of those, sent back for changes.
    pub changes_requested: u64,
    /// Held requests whose wait ran out.
    pub expired: u64,
    /// Escalations (a request can escalate more than once).
    pub escalated: u64,
    /// Requests cancelled by their agent.
    pub cancelled: u64,
    /// Sample verdicts: confirmed.
    pub sample_confirmed: u64,
    /// Sample verdicts: rejected after the fact.
    pub sample_rejected: u64,
}

impl Counts {
    /// Rejections plus changes requested: the human decisions that did not
    /// approve the action as proposed.
    pub fn overridden(&self) -> u64 {
        self.rejected + self.changes_requested
    }
}

/// The running tallies of one group.
#[derive(Debug, Default)]
pub(crate) struct GroupAcc {
    pub(crate) key: String,
    pub(crate) label: String,
    pub(crate) counts: Counts,
    /// Milliseconds from decision to the first human decision, one per
    /// human-decided request (sorted when the report is built).
    pub(crate) waits_ms: Vec<u64>,
    /// Review actions per reviewer (index into the reviewer table).
    pub(crate) reviewers: HashMap<u32, u64>,
    /// The strictest outcome the group's requests were decided with.
    pub(crate) strictest: Option<Outcome>,
    /// Request ids whose sample was rejected (the first few).
    pub(crate) evidence: Vec<String>,
}

/// Every group of the history, by dimension, plus the rules' timeline.
#[derive(Debug, Default)]
pub(crate) struct Groups {
    values: [Vec<GroupAcc>; 4],
    index: [HashMap<String, u32>; 4],
    pub(crate) reviewers: Vec<String>,
    reviewer_index: HashMap<String, u32>,
    /// Per (rule index, bucket index): the rule's counters in that bucket.
    pub(crate) timeline: BTreeMap<(u32, i64), Counts>,
}

impl Groups {
    /// The group of `value` in `dimension`, created on first sight.
    pub(crate) fn id(&mut self, dimension: Dimension, value: &str) -> GroupId {
        let value = &*bounded_name(value);
        let d = dimension.index();
        if let Some(&index) = self.index[d].get(value) {
            return GroupId { dimension, index };
        }
        let value = if self.values[d].len() >= MAX_GROUPS {
            OTHER
        } else {
            value
        };
        if let Some(&index) = self.index[d].get(value) {
            return GroupId { dimension, index };
        }
        let index = u32::try_from(self.values[d].len()).unwrap_or(u32::MAX);
        self.values[d].push(GroupAcc {
            key: value.to_owned(),
            ..GroupAcc::default()
        });
        self.index[d].insert(value.to_owned(), index);
        GroupId { dimension, index }
    }

    /// Names a group (the tier's name), once.
    pub(crate) fn label(&mut self, id: GroupId, label: &str) {
        if let Some(g) = self.get_mut(id)
            && g.label.is_empty()
        {
            g.label = bounded_name(label).into_owned();
        }
    }

    fn get_mut(&mut self, id: GroupId) -> Option<&mut GroupAcc> {
        self.values[id.dimension.index()].get_mut(id.index as usize)
    }

    /// The keys of a request whose decision record is missing.
    pub(crate) fn unknown_keys(&mut self) -> Keys {
        Keys {
            rules: vec![self.id(Dimension::Rule, UNKNOWN)],
            tier: self.id(Dimension::Tier, UNKNOWN),
            agent: self.id(Dimension::Agent, UNKNOWN),
            target: self.id(Dimension::Target, UNKNOWN),
        }
    }

    /// The reviewer's index, by the engine's identity normalization (case,
    /// width and look-alike spellings are one person).
    pub(crate) fn reviewer(&mut self, identity: &str) -> u32 {
        let key = gatehouse::identity::normalize(identity);
        if let Some(&i) = self.reviewer_index.get(&key) {
            return i;
        }
        let key = if self.reviewers.len() >= MAX_GROUPS {
            OTHER.to_owned()
        } else {
            key
        };
        if let Some(&i) = self.reviewer_index.get(&key) {
            return i;
        }
        let i = u32::try_from(self.reviewers.len()).unwrap_or(u32::MAX);
        self.reviewers.push(key.clone());
        self.reviewer_index.insert(key, i);
        i
    }

    /// Applies `f` to every group of `keys`.
    pub(crate) fn each(&mut self, keys: &Keys, mut f: impl FnMut(&mut GroupAcc)) {
        for &id in keys
            .rules
            .iter()
            .chain([&keys.tier, &keys.agent, &keys.target])
        {
            if let Some(g) = self.get_mut(id) {
                f(g);
            }
        }
    }

    fn bucket(&mut self, keys: &Keys, bucket: i64, mut f: impl FnMut(&mut Counts)) {
        for id in &keys.rules {
            f(self.timeline.entry((id.index, bucket)).or_default());
        }
    }

    /// A decision: volume, and how it was decided.
    pub(crate) fn decided(&mut self, keys: &Keys, outcome: Outcome, bucket: i64) {
        let tally = |c: &mut Counts| {
            c.volume += 1;
            match outcome {
                Outcome::Queue | Outcome::Explicit | Outcome::Dual => c.held += 1,
                Outcome::Block => c.blocked += 1,
                Outcome::Auto => {}
            }
        };
        self.each(keys, |g| {
            tally(&mut g.counts);
            g.strictest = Some(g.strictest.map_or(outcome, |s| s.max(outcome)));
        });
        self.bucket(keys, bucket, tally);
    }

    /// A review action by `reviewer` (load, not a decision count).
    pub(crate) fn review(&mut self, keys: &Keys, reviewer: u32) {
        self.each(keys, |g| *g.reviewers.entry(reviewer).or_default() += 1);
    }

    /// The first human decision of a held request.
    pub(crate) fn human(&mut self, keys: &Keys, event: &str, waited_ms: u64, bucket: i64) {
        let tally = |c: &mut Counts| {
            c.human_decided += 1;
            match event {
                "reject" => c.rejected += 1,
                "request_changes" => c.changes_requested += 1,
                _ => c.approved += 1,
            }
        };
        self.each(keys, |g| {
            tally(&mut g.counts);
            g.waits_ms.push(waited_ms);
        });
        self.bucket(keys, bucket, tally);
    }

    /// A sample verdict on an auto request.
    pub(crate) fn sample_verdict(&mut self, keys: &Keys, reject: bool, request: &str, bucket: i64) {
        self.each(keys, |g| {
            if reject {
                g.counts.sample_rejected += 1;
                if g.evidence.len() < EVIDENCE_LISTED {
                    g.evidence.push(request.to_owned());
                }
            } else {
                g.counts.sample_confirmed += 1;
            }
        });
        self.bucket(keys, bucket, |c| {
            if reject {
                c.sample_rejected += 1;
            } else {
                c.sample_confirmed += 1;
            }
        });
    }

    /// The groups of one dimension, in order of first sight.
    pub(crate) fn of(&self, dimension: Dimension) -> &[GroupAcc] {
        &self.values[dimension.index()]
    }

    /// Takes the groups of one dimension out.
    pub(crate) fn take(&mut self, dimension: Dimension) -> Vec<GroupAcc> {
        std::mem::take(&mut self.values[dimension.index()])
    }

    /// A rule's name by index.
    pub(crate) fn rule_name(&self, index: u32) -> &str {
        self.values[Dimension::Rule.index()]
            .get(index as usize)
            .map_or(UNKNOWN, |g| g.key.as_str())
    }
}

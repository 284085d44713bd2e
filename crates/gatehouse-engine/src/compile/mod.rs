//! Checked policy set -> [`Program`]: the form evaluation runs on. Adds what
//! evaluation needs beyond names resolved to indexes: the input decoder
//! (a tree of the schema's paths, so decoding walks the input once) and the
//! rendered text of role limits.

use crate::check::{Effect, PolicySet, TierDef};
use crate::syntax::ast::Outcome;

pub mod code;
pub mod index;

/// A policy set ready to evaluate. Immutable, `Send + Sync`.
#[derive(Debug)]
pub struct Program {
    /// Unique among the programs of this process: an input decoded by one
    /// program is refused by another (its slots would mean other things).
    pub id: u64,
    /// The checked set.
    pub set: PolicySet,
    /// How to read the input document into slots.
    pub decoder: Node,
    /// `attr <= value` for each role with a limit, by role index.
    pub limit_text: Vec<Option<String>>,
    /// `file:line:col` of each rule, by rule index (computed once: finding a
    /// line means scanning the file).
    pub rule_locations: Vec<String>,
    /// `file:line:col` of the default.
    pub default_location: String,
    /// Which rules' `when` may hold for an input (see [`index`]).
    pub index: index::RuleIndex,
    /// Whether any tier, rule or the default says `sample N% for review`:
    /// when none does, deciding skips the sampling step entirely.
    pub samples: bool,
    /// Every rule's firing condition (`when` and not any `unless`),
    /// compiled (see [`code`]).
    pub code: code::Code,
    /// What deciding needs of each rule, by rule index.
    pub rules: Vec<RuleFacts>,
    /// What deciding needs of the default, when there is one.
    pub default: Option<EffectFacts>,
    /// The static strings as JSON fragments, escaped on first use (src/eval/render_fragments.rs).
    pub(crate) fragments: std::sync::OnceLock<crate::eval::render_fragments::Fragments>,
}

/// A rule as deciding sees it: where its compiled condition starts and the
/// facts of its effect.
#[derive(Clone, Copy, Debug)]
pub struct RuleFacts {
    /// Its `when` and not any of its `unless`, in [`Program::code`].
    pub fires: code::CondId,
    /// Its effect.
    pub effect: EffectFacts,
}

/// The facts of an effect (a rule's or the default's) that the combining
/// steps read for every matching rule, computed once so that they touch
/// neither the effect nor its tier.
#[derive(Clone, Copy, Debug)]
pub struct EffectFacts {
    /// [`Effect::own_outcome`].
    pub own: Outcome,
    /// The tier it names (an index into the set's tiers), with the key the
    /// strictest tier is chosen by: its outcome, then its number (`None`
    /// for an index the set lacks, which the checker never produces).
    pub tier: Option<(usize, Option<(Outcome, u32)>)>,
    /// Whether it requires evidence.
    pub evidence: bool,
}

impl EffectFacts {
    fn of(effect: &Effect, tiers: &[TierDef]) -> EffectFacts {
        EffectFacts {
            own: effect.own_outcome(tiers),
            tier: effect
                .tier
                .map(|t| (t, tiers.get(t).map(|d| (d.outcome, d.id)))),
            evidence: !effect.evidence.is_empty(),
        }
    }
}

/// One object level of the input schema.
#[derive(Debug, Default)]
pub struct Node {
    /// Keys at this level, in declaration order.
    pub fields: Vec<(String, Child)>,
}

/// What a key holds.
#[derive(Debug)]
pub enum Child {
    /// A declared attribute: its slot.
    Attribute(usize),
    /// An object with declared attributes below it.
    Object(Node),
}

impl Node {
    fn insert(&mut self, segments: &[String], slot: usize) {
        let Some((first, rest)) = segments.split_first() else {
            return;
        };
        let existing = self.fields.iter_mut().find(|(k, _)| k == first);
        if rest.is_empty() {
            // The checker rejects an attribute nested in another, so a leaf
            // never collides with an object here.
            if existing.is_none() {
                self.fields.push((first.clone(), Child::Attribute(slot)));
            }
            return;
        }
        match existing {
            Some((_, Child::Object(node))) => node.insert(rest, slot),
            Some((_, Child::Attribute(_))) => {}
            None => {
                let mut node = Node::default();
                node.insert(rest, slot);
                self.fields.push((first.clone(), Child::Object(node)));
            }
        }
    }
}

/// `file.gate:line:col` with the file's name only: a policy set is the files
/// of one directory, so the name is unambiguous, and a decision must not
/// depend on where the policy was checked out (the policy digest does not).
fn decision_location(origin: &crate::source::Origin) -> String {
    let loc = origin.location();
    let name = loc
        .file
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or(&loc.file)
        .to_owned();
    format!("{name}:{}:{}", loc.line, loc.column)
}

/// Compiles a checked set.
pub fn compile(set: PolicySet) -> Program {
    let mut decoder = Node::default();
    for (slot, a) in set.attributes.iter().enumerate() {
        decoder.insert(&a.segments, slot);
    }
    let limit_text = set
        .roles
        .iter()
        .map(|r| {
            r.limit.as_ref().map(|l| {
                let path = set
                    .attributes
                    .get(l.attribute)
                    .map(|a| a.path.as_str())
                    .unwrap_or("?");
                format!(
                    "{path} {} {}",
                    if l.inclusive { "<=" } else { "<" },
                    l.value
                )
            })
        })
        .collect();
    let rule_locations = set
        .rules
        .iter()
        .map(|r| decision_location(&r.origin))
        .collect();
    let default_location = set
        .default
        .as_ref()
        .map(|d| decision_location(&d.origin))
        .unwrap_or_default();
    // Relaxed: only uniqueness matters, not ordering with other memory.
    static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let index = index::RuleIndex::build(&set);
    let mut code = code::Code::default();
    let rules = set
        .rules
        .iter()
        .map(|r| RuleFacts {
            fires: code.add_rule(&r.when, &r.unless),
            effect: EffectFacts::of(&r.effect, &set.tiers),
        })
        .collect();
    let default = set
        .default
        .as_ref()
        .map(|d| EffectFacts::of(&d.effect, &set.tiers));
    let samples = set.tiers.iter().any(|t| t.sample.is_some())
        || set.rules.iter().any(|r| r.effect.sample.is_some())
        || set
            .default
            .as_ref()
            .is_some_and(|d| d.effect.sample.is_some());
    Program {
        samples,
        index,
        code,
        rules,
        default,
        id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        set,
        decoder,
        limit_text,
        rule_locations,
        default_location,
        fragments: std::sync::OnceLock::new(),
    }
}

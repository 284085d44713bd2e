//! The decision core: decoded slots -> [`Verdict`], the whole decision as
//! indexes into the policy, written into buffers that are reused from one
//! call to the next. Once the buffers have grown to what a policy needs,
//! deciding allocates nothing (tests/alloc.rs counts). The owned
//! [`Decision`](super::Decision), with its names and messages, is rendered
//! from a verdict by [`Verdict::to_decision`] (src/eval/render.rs).
//!
//! The combining steps are listed in src/eval/mod.rs; this file is where
//! they run.

use super::approvals;
use super::cond;
use super::decode::{Decoded, Slot};
use super::sample::{SampleFrom, sample_of};
use crate::check::{Effect, PolicySet, TierDef};
use crate::compile::{EffectFacts, Program};
use crate::syntax::ast::{CombineMode, Outcome};

/// The decision for one decoded input, borrowing everything it names from
/// the policy. Make one with [`crate::Policy::verdict`] and reuse it:
/// [`Verdict::decide`] clears it and decides again without allocating.
///
/// ```
/// # let policy = gatehouse::Policy::from_source("p.gate", r#"
/// #   policy "p" version "1" schema { action.amount: number }
/// #   reason LARGE "large" tier 0 "none" { outcome auto }
/// #   rule large when action.amount > 1000 then at least block because LARGE
/// #   default tier 0 because NO_RULE_MATCHED"#).unwrap();
/// let mut verdict = policy.verdict();
/// for text in [r#"{"action": {"amount": 5}}"#, r#"{"action": {"amount": 5000}}"#] {
///     let input = policy.decode_json(text).expect("a valid input");
///     verdict.decide(&input);
///     println!("{:?} {:?}", verdict.outcome(), verdict.reason_codes().collect::<Vec<_>>());
/// }
/// assert_eq!(verdict.outcome(), gatehouse::Outcome::Block);
/// ```
#[derive(Debug)]
pub struct Verdict<'p> {
    pub(super) program: &'p Program,
    pub(super) state: State,
    pub(super) outcome: Outcome,
    /// Index into `set.tiers`.
    pub(super) tier: Option<usize>,
    pub(super) contributors: Vec<Contributor>,
    /// Evidence ids required, in order: the tier's, then each contributor's.
    pub(super) required: Vec<usize>,
    /// The subset of `required` the input lacks, in the same order.
    pub(super) missing: Vec<usize>,
    /// Whether the approvals step ran (the outcome after evidence was
    /// queue, explicit or dual); its reasons are given only then.
    pub(super) approvals_ran: bool,
    pub(super) approvals: approvals::Resolved,
    /// Whether the decision carries approvals (ran and no group exhausted).
    pub(super) has_approvals: bool,
    /// Total approvals needed.
    pub(super) approval_count: u32,
    /// `holds` of each of the tier's execution conditions.
    pub(super) conditions: Vec<Option<bool>>,
    /// Where the `sample` share of an `auto` decision comes from, when one
    /// applies (see [`Verdict::choose_sample`]).
    pub(super) sample: Option<SampleFrom>,
    /// Rule ids that may match (the index's candidates), reused.
    candidates: Vec<u32>,
    /// Which program an input was decoded by, checked on each call.
    pub(super) input_program: u64,
}

/// What kind of answer a verdict holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum State {
    /// Nothing decided yet.
    Empty,
    /// The combining steps ran.
    Decided,
    /// No rule matched and the policy has no default: block.
    NoRuleMatched,
    /// The input was decoded by another policy: block, INVALID_INPUT.
    ForeignInput,
}

/// A matching rule, or the default.
#[derive(Clone, Copy, Debug)]
pub(super) struct Contributor {
    /// Rule index; `None` for the default.
    pub rule: Option<u32>,
    /// Whether its reason codes are reported (not for the default when it
    /// is only the base under tier-less rules).
    pub with_reasons: bool,
    /// The outcome it asks for on its own.
    pub own: Outcome,
}

impl<'p> Verdict<'p> {
    pub(crate) fn new(program: &'p Program) -> Verdict<'p> {
        Verdict {
            program,
            state: State::Empty,
            outcome: Outcome::Block,
            tier: None,
            contributors: Vec::new(),
            required: Vec::new(),
            missing: Vec::new(),
            approvals_ran: false,
            approvals: approvals::Resolved::default(),
            has_approvals: false,
            approval_count: 0,
            conditions: Vec::new(),
            sample: None,
            // Room for every rule: the index never needs more.
            candidates: Vec::with_capacity(program.set.rules.len()),
            input_program: program.id,
        }
    }

    /// Decides for an input decoded by the same policy. An input decoded by
    /// another policy is answered with `block`/`INVALID_INPUT` (its slots
    /// mean nothing here).
    pub fn decide(&mut self, input: &super::Input<'_>) -> &Self {
        self.clear();
        self.input_program = input.program;
        if input.program != self.program.id {
            self.state = State::ForeignInput;
            return self;
        }
        self.run(&input.decoded);
        self
    }

    /// Decides for slots decoded by this verdict's program.
    pub(crate) fn decide_decoded(&mut self, input: &Decoded<'_>) {
        self.clear();
        self.run(input);
    }

    fn clear(&mut self) {
        self.state = State::Empty;
        self.outcome = Outcome::Block;
        self.tier = None;
        self.contributors.clear();
        self.required.clear();
        self.missing.clear();
        // The approvals step alone fills these: when it did not run they
        // are empty already.
        if self.approvals_ran {
            self.approvals.clear();
            self.conditions.clear();
        }
        self.approvals_ran = false;
        self.has_approvals = false;
        self.approval_count = 0;
        self.sample = None;
        self.input_program = self.program.id;
    }

    fn run(&mut self, input: &Decoded<'_>) {
        let program = self.program;
        let set = &program.set;
        let slots = &input.slots;
        let mut seen = Seen::new();
        self.match_rules(slots, &mut seen);

        // The default is the base whenever no matching rule places the
        // action in a tier, with everything it asks for; its reasons are
        // given only when no rule matched at all.
        let no_rule_matched = self.contributors.is_empty();
        if !seen.tiered {
            match (&set.default, &program.default) {
                (Some(_), Some(facts)) => {
                    self.contributors.push(Contributor {
                        rule: None,
                        with_reasons: no_rule_matched,
                        own: facts.own,
                    });
                    seen.add(facts);
                }
                _ if !no_rule_matched => {}
                _ => {
                    self.state = State::NoRuleMatched;
                    self.outcome = Outcome::Block;
                    return;
                }
            }
        }
        self.state = State::Decided;

        // Tier: strictest outcome among the named tiers, ties to the higher
        // number (`seen` kept the greatest key).
        self.tier = seen.tier.map(|(t, _)| t);
        let tier = self.tier.and_then(|t| set.tiers.get(t));

        let mut outcome = tier.map_or(Outcome::Auto, |t| t.outcome).max(seen.own);

        // Evidence: the tier's, then each contributor's, once each.
        if let Some(t) = tier {
            self.required.extend_from_slice(&t.evidence);
        }
        if seen.evidence {
            for c in &self.contributors {
                for e in effect(set, c.rule).map_or(&[][..], |e| &e.evidence) {
                    if !self.required.contains(e) {
                        self.required.push(*e);
                    }
                }
            }
        }
        for e in &self.required {
            if !input.evidence.get(*e).copied().unwrap_or(false) {
                self.missing.push(*e);
            }
        }
        if !self.missing.is_empty() {
            outcome = outcome.max(tier.map_or(Outcome::Block, |t| t.on_missing_evidence));
        }

        if matches!(outcome, Outcome::Queue | Outcome::Explicit | Outcome::Dual) {
            self.approvals_ran = true;
            outcome = self.resolve_approvals(tier, outcome, slots);
        }
        self.outcome = outcome;
        if program.samples && outcome == Outcome::Auto {
            self.sample = self.choose_sample();
        }
    }

    /// The share that applies to an `auto` decision: the highest of the
    /// tier's and every contributor's (the matching rules that count, and
    /// the default when it applies); ties go to the tier, then to the first
    /// contributor in source order. A loop over the contributors; no
    /// allocation.
    fn choose_sample(&self) -> Option<SampleFrom> {
        let set = &self.program.set;
        let mut best: Option<(u32, SampleFrom)> =
            sample_of(set, self.tier, SampleFrom::Tier).map(|s| (s.ppm, SampleFrom::Tier));
        for c in &self.contributors {
            let from = SampleFrom::Rule(c.rule);
            if let Some(s) = sample_of(set, self.tier, from)
                && best.is_none_or(|(ppm, _)| s.ppm > ppm)
            {
                best = Some((s.ppm, from));
            }
        }
        best.map(|(_, from)| from)
    }

    /// The matching rules, in file-then-source order; only the first under
    /// `first-match`. Notes in `seen` what the combining steps need of them.
    fn match_rules(&mut self, slots: &[Slot<'_>], seen: &mut Seen) {
        let program = self.program;
        let first_match = program.set.combine == CombineMode::FirstMatch;
        // The index narrows the rules to those whose `when` may hold, in
        // rule order, so `first-match` still takes the first in order: as
        // bits for a small set, else as a list of ids.
        if let Some(mut mask) = program.index.candidate_mask(slots) {
            while mask != 0 {
                let index = mask.trailing_zeros();
                mask &= mask - 1;
                if self.try_rule(index, slots, seen) && first_match {
                    break;
                }
            }
            return;
        }
        let mut candidates = std::mem::take(&mut self.candidates);
        if program.index.is_linear() {
            candidates.clear();
            candidates.extend(0..u32::try_from(program.rules.len()).unwrap_or(u32::MAX));
        } else {
            program.index.candidates(slots, &mut candidates);
        }
        for &index in &candidates {
            if self.try_rule(index, slots, seen) && first_match {
                break;
            }
        }
        self.candidates = candidates;
    }

    /// Evaluates one rule; when it fires, adds it to the contributors and
    /// returns `true`.
    #[inline]
    fn try_rule(&mut self, index: u32, slots: &[Slot<'_>], seen: &mut Seen) -> bool {
        let program = self.program;
        let Some(rule) = program.rules.get(index as usize) else {
            return false;
        };
        if !program.code.holds(rule.fires, slots) {
            return false;
        }
        self.contributors.push(Contributor {
            rule: Some(index),
            with_reasons: true,
            own: rule.effect.own,
        });
        seen.add(&rule.effect);
        true
    }

    /// Resolves the approver groups; returns the outcome, `block` when a
    /// group is left with no eligible role.
    fn resolve_approvals(
        &mut self,
        tier: Option<&TierDef>,
        outcome: Outcome,
        slots: &[Slot<'_>],
    ) -> Outcome {
        let set = &self.program.set;
        let tier_groups = tier.map_or(&[][..], |t| &t.approvals);
        let rule_groups = self
            .contributors
            .iter()
            .flat_map(|c| effect(set, c.rule).map_or(&[][..], |e| &e.approvals));
        self.approvals
            .resolve(set, tier_groups.iter().chain(rule_groups), slots);
        if !self.approvals.exhausted.is_empty() {
            return Outcome::Block;
        }
        let minimum = match outcome {
            Outcome::Dual => 2,
            _ => 1,
        };
        // Dual needs two people even when the tier names one group: the
        // second approval comes from the same group.
        if let [only] = self.approvals.groups.as_mut_slice() {
            only.count = only.count.max(minimum);
        }
        let total: u32 = self.approvals.groups.iter().map(|g| g.count).sum();
        self.approval_count = total.max(minimum);
        self.has_approvals = true;
        if let Some(t) = tier {
            self.conditions.extend(
                t.requirements
                    .iter()
                    .map(|r| r.condition.as_ref().map(|c| cond::holds(c, slots))),
            );
        }
        outcome
    }

    /// The outcome.
    pub fn outcome(&self) -> Outcome {
        self.outcome
    }

    /// The tier the action was placed in: its number and name.
    pub fn tier(&self) -> Option<(u32, &'p str)> {
        self.tier_def().map(|t| (t.id, t.name.as_str()))
    }

    pub(super) fn tier_def(&self) -> Option<&'p TierDef> {
        self.tier.and_then(|t| self.program.set.tiers.get(t))
    }

    /// Every reason code, in the order of the decision's `reasons` (a code
    /// may repeat when two rules give it), except SAMPLED_FOR_REVIEW, which
    /// depends on the action digest: see [`Verdict::sampled`].
    pub fn reason_codes(&self) -> impl Iterator<Item = &'p str> + '_ {
        let set = &self.program.set;
        let rule_codes = self
            .contributors
            .iter()
            .filter(|c| c.with_reasons)
            .flat_map(move |c| effect(set, c.rule).map_or(&[][..], |e| &e.reasons))
            .map(move |r| reason_code(set, *r));
        rule_codes.chain(self.engine_reasons().map(move |r| reason_code(set, r)))
    }

    /// The engine's own reason ids, in order, after the rules' reasons.
    pub(super) fn engine_reasons(&self) -> impl Iterator<Item = usize> + '_ {
        use crate::check::builtin;
        let only = |id: usize, when: bool| when.then_some(id);
        let engine: [Option<usize>; 4] = match self.state {
            State::Empty => [None; 4],
            State::NoRuleMatched => [Some(builtin::NO_RULE_MATCHED), None, None, None],
            State::ForeignInput => [Some(builtin::INVALID_INPUT), None, None, None],
            State::Decided => [
                only(builtin::EVIDENCE_MISSING, !self.missing.is_empty()),
                only(
                    builtin::APPROVER_ESCALATED,
                    self.approvals_ran && !self.approvals.escalated.is_empty(),
                ),
                only(
                    builtin::APPROVER_NOT_ELIGIBLE,
                    self.approvals_ran && !self.approvals.dropped.is_empty(),
                ),
                only(
                    builtin::APPROVER_LIMIT_EXCEEDED,
                    self.approvals_ran && !self.approvals.exhausted.is_empty(),
                ),
            ],
        };
        engine.into_iter().flatten()
    }

    /// Names of the matching rules (and `default` when it applied), in order.
    pub fn rule_names(&self) -> impl Iterator<Item = &'p str> + '_ {
        let set = &self.program.set;
        self.contributors.iter().map(move |c| match c.rule {
            Some(r) => set
                .rules
                .get(r as usize)
                .map_or("", |rule| rule.name.as_str()),
            None => "default",
        })
    }

    /// Names of the evidence fields required, in order.
    pub fn evidence_required(&self) -> impl Iterator<Item = &'p str> + '_ {
        let set = &self.program.set;
        self.required.iter().map(move |e| evidence_name(set, *e))
    }

    /// Names of the required evidence fields the input lacks, in order.
    pub fn evidence_missing(&self) -> impl Iterator<Item = &'p str> + '_ {
        let set = &self.program.set;
        self.missing.iter().map(move |e| evidence_name(set, *e))
    }

    /// The `sample N% for review` share that applies to this decision (only
    /// an `auto` one): its parts per million, its canonical text (`5%`) and
    /// the rule that set it (`default` for the default; `None`: the tier).
    pub fn sample(&self) -> Option<(u32, &'p str, Option<&'p str>)> {
        let set = &self.program.set;
        let from = self.sample?;
        let s = sample_of(set, self.tier, from)?;
        let rule = match from {
            SampleFrom::Tier => None,
            SampleFrom::Rule(r) => Some(super::render::contributor_name(set, r)),
        };
        Some((s.ppm, s.rate.as_str(), rule))
    }

    /// Whether the action with this digest is sampled for review after the
    /// fact (`None` when no share applies); the decision then carries the
    /// SAMPLED_FOR_REVIEW reason after the others.
    pub fn sampled(
        &self,
        options: &super::EvalOptions,
        action_digest: Option<&str>,
    ) -> Option<bool> {
        let (ppm, _, _) = self.sample()?;
        Some(super::sample::sampled(
            ppm,
            options.sample_key.as_ref(),
            action_digest,
        ))
    }

    /// Total approvals needed (`None` for auto and block).
    pub fn approval_count(&self) -> Option<u32> {
        self.has_approvals.then_some(self.approval_count)
    }
}

/// What the combining steps need of the contributors, gathered as they are
/// found.
struct Seen {
    /// Whether one names a tier.
    tiered: bool,
    /// The tier to place the action in, with its key: the greatest key, the
    /// last of equal ones (as `Iterator::max_by_key`).
    tier: Option<(usize, Option<(Outcome, u32)>)>,
    /// The strictest own outcome (auto with none).
    own: Outcome,
    /// Whether one requires evidence.
    evidence: bool,
}

impl Seen {
    fn new() -> Seen {
        Seen {
            tiered: false,
            tier: None,
            own: Outcome::Auto,
            evidence: false,
        }
    }

    #[inline]
    fn add(&mut self, facts: &EffectFacts) {
        self.own = self.own.max(facts.own);
        self.evidence |= facts.evidence;
        if let Some((index, key)) = facts.tier {
            self.tiered = true;
            if self.tier.is_none_or(|(_, best)| key >= best) {
                self.tier = Some((index, key));
            }
        }
    }
}

/// The effect of a rule (`Some(index)`) or of the default (`None`).
pub(super) fn effect(set: &PolicySet, rule: Option<u32>) -> Option<&Effect> {
    match rule {
        Some(r) => set.rules.get(r as usize).map(|r| &r.effect),
        None => set.default.as_ref().map(|d| &d.effect),
    }
}

pub(super) fn reason_code(set: &PolicySet, id: usize) -> &str {
    set.reasons.get(id).map(|r| r.code.as_str()).unwrap_or("")
}

pub(super) fn evidence_name(set: &PolicySet, id: usize) -> &str {
    set.evidence.get(id).map_or("", |e| e.name.as_str())
}

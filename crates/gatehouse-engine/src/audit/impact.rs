//! Impact analysis: how a policy change would change the decisions for a
//! corpus of inputs (JSON lines of actions, or an audit log), before the
//! change ships.
//!
//! [`diff`] streams the corpus: it reads a batch of lines at a time, decides
//! each input with both policies and keeps only counts plus the first
//! [`DiffOptions::limit`] changes of each outcome transition, so memory stays
//! the same for a thousand lines or a billion. Batches are decided on worker
//! threads; the report does not depend on how many, because counts add up
//! and examples are kept by line number, lowest first.

mod corpus;
pub use corpus::read_line;

use std::collections::BTreeMap;
use std::io::{self, BufRead};
use std::sync::mpsc;

use serde::Serialize;
use serde_json::Value;

use self::corpus::{Batch, Input, Line, Reader};
use crate::Policy;
use crate::eval::{Decision, EvalOptions, MatchedRule, Outcome, TierRef};

/// Longest line read, in bytes: the CLI's limit for one input document.
/// A longer line is skipped and reported as unreadable, so one runaway line
/// cannot make memory grow.
pub const MAX_LINE_BYTES: usize = crate::limits::MAX_INPUT_BYTES;

/// How many unreadable lines are listed with their line number; the rest are
/// only counted.
pub const UNREADABLE_LISTED: usize = 10;

/// Batches queued per worker; with the one being decided and the one being
/// read, this bounds the text held in memory.
const QUEUED_PER_WORKER: usize = 2;
/// More workers than this only add contention on the reader.
const MAX_THREADS: usize = 16;

/// What [`diff`] is asked to do.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct DiffOptions {
    /// Changes kept as examples per transition; the rest are only counted.
    pub limit: usize,
    /// Options for evaluating with both policies.
    pub eval: EvalOptions,
    /// Worker threads; 0 uses the available parallelism, 1 decides on the
    /// calling thread.
    pub threads: usize,
}

impl Default for DiffOptions {
    fn default() -> Self {
        DiffOptions {
            limit: 50,
            eval: EvalOptions::default(),
            threads: 0,
        }
    }
}

impl DiffOptions {
    /// Changes kept as examples per transition (the default is 50).
    #[must_use]
    pub fn with_limit(mut self, limit: usize) -> DiffOptions {
        self.limit = limit;
        self
    }

    /// Options for evaluating with both policies.
    #[must_use]
    pub fn with_eval(mut self, eval: EvalOptions) -> DiffOptions {
        self.eval = eval;
        self
    }

    /// Worker threads: 0 (the default) uses the available parallelism.
    #[must_use]
    pub fn with_threads(mut self, threads: usize) -> DiffOptions {
        self.threads = threads;
        self
    }
}

/// How far [`diff`] has read, reported as it goes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    /// Lines read so far.
    pub lines: u64,
    /// Bytes read so far.
    pub bytes: u64,
}

/// What a policy change does to one input's decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChangeKind {
    /// The new outcome is less strict than the old one.
    Loosen,
    /// The new outcome is stricter than the old one.
    Tighten,
    /// The outcome is the same, but the tier, the reason codes or the
    /// approver roles differ.
    SameOutcome,
}

impl ChangeKind {
    /// The kind of a change from `old` to `new`.
    pub fn of(old: Outcome, new: Outcome) -> ChangeKind {
        match new.cmp(&old) {
            std::cmp::Ordering::Less => ChangeKind::Loosen,
            std::cmp::Ordering::Greater => ChangeKind::Tighten,
            std::cmp::Ordering::Equal => ChangeKind::SameOutcome,
        }
    }

    /// As written in reports: `loosen`, `tighten`, `same-outcome`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Loosen => "loosen",
            ChangeKind::Tighten => "tighten",
            ChangeKind::SameOutcome => "same-outcome",
        }
    }
}

/// The result of [`diff`]: counts over the whole corpus and the first
/// changes of each transition.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ImpactReport {
    /// Lines read, blank ones included.
    pub lines: u64,
    /// Inputs decided with both policies.
    pub inputs: u64,
    /// Inputs whose decisions are the same under both policies.
    pub unchanged: u64,
    /// Inputs whose outcome, tier, reason codes or approver roles changed.
    pub changed: u64,
    /// Changes to a less strict outcome.
    pub loosened: u64,
    /// Changes to a stricter outcome.
    pub tightened: u64,
    /// Changes that keep the outcome.
    pub same_outcome: u64,
    /// Audit records of a decision whose input was not recorded in full
    /// (`null`, absent, or with `redacted` paths): not the action that was
    /// decided, so not compared.
    pub no_input_recorded: u64,
    /// Audit records of other kinds (not `"record": "decision"`), skipped.
    pub other_records: u64,
    /// Lines that are neither an action nor an audit record.
    pub unreadable: u64,
    /// The first [`UNREADABLE_LISTED`] of them.
    pub unreadable_lines: Vec<UnreadableLine>,
    /// One entry per (old outcome, new outcome) with changes: loosening
    /// first, then tightening, then same-outcome changes; each group in
    /// outcome order.
    pub transitions: Vec<Transition>,
}

impl ImpactReport {
    /// Whether any decision became less strict.
    pub fn loosens(&self) -> bool {
        self.loosened > 0
    }
}

/// A line that could not be read as an input.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UnreadableLine {
    /// 1-based line number.
    pub line: u64,
    /// What is wrong with it.
    pub message: String,
}

/// Every change from one outcome to another.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Transition {
    /// The outcome under the old policy.
    pub old: Outcome,
    /// The outcome under the new policy.
    pub new: Outcome,
    /// Loosen, tighten, or same outcome.
    pub change: ChangeKind,
    /// How many inputs changed this way.
    pub count: u64,
    /// The rules that matched differently, with how often: the cause of
    /// the changes. Most frequent first.
    pub rules: Vec<RuleTally>,
    /// The first changes, by line number.
    pub examples: Vec<Change>,
    /// Changes counted but not kept as examples.
    pub more: u64,
}

/// How often one rule matched differently within a transition.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RuleTally {
    /// The rule's name (`default` for the default).
    pub rule: String,
    /// Inputs it matched under the new policy only.
    pub newly_matched: u64,
    /// Inputs it matched under the old policy only.
    pub no_longer_matched: u64,
    /// Inputs it matched under both, asking for a different outcome, tier
    /// or reasons.
    pub changed: u64,
}

impl RuleTally {
    fn total(&self) -> u64 {
        self.newly_matched + self.no_longer_matched + self.changed
    }
}

/// One input whose decision changed.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Change {
    /// 1-based line number in the corpus.
    pub line: u64,
    /// Loosen, tighten, or same outcome.
    pub change: ChangeKind,
    /// The decision under the old policy.
    pub old: DecisionSummary,
    /// The decision under the new policy.
    pub new: DecisionSummary,
    /// The rules that matched differently.
    pub rules: RuleChanges,
    /// `sha256:...` of the input (the same under both policies).
    pub action_digest: Option<String>,
    /// The `id` of the audit record the input came from, if it came from one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<String>,
    /// The input itself.
    pub input: Value,
}

/// The parts of a decision that [`diff`] compares, and what explains them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DecisionSummary {
    /// auto, queue, explicit, dual or block.
    pub outcome: Outcome,
    /// The risk tier.
    pub tier: Option<TierRef>,
    /// Reason codes, in the decision's order.
    pub reasons: Vec<String>,
    /// Approver role names, sorted.
    pub approvers: Vec<String>,
    /// Every rule that matched.
    pub rules: Vec<String>,
    /// The rules that determined the outcome.
    pub determining: Vec<String>,
    /// What the policy's schema rejects in the input, if anything.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub input_errors: Vec<String>,
}

impl DecisionSummary {
    /// The summary of a decision.
    pub fn of(d: &Decision) -> DecisionSummary {
        DecisionSummary {
            outcome: d.outcome,
            tier: d.tier.clone(),
            reasons: d.reason_codes().into_iter().map(str::to_owned).collect(),
            approvers: approver_roles(d).into_iter().map(str::to_owned).collect(),
            rules: d.rules.iter().map(|r| r.name.clone()).collect(),
            determining: d
                .rules
                .iter()
                .filter(|r| r.determining)
                .map(|r| r.name.clone())
                .collect(),
            input_errors: d.input_errors.iter().map(ToString::to_string).collect(),
        }
    }
}

/// The rules that matched differently for one input.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RuleChanges {
    /// Matched under the new policy only.
    pub newly_matched: Vec<String>,
    /// Matched under the old policy only.
    pub no_longer_matched: Vec<String>,
    /// Matched under both, asking for a different outcome, tier or reasons.
    pub changed: Vec<String>,
}

/// Whether two decisions differ in what a reviewer acts on: the outcome,
/// the tier, the set of reason codes or the set of approver roles.
pub fn decisions_differ(old: &Decision, new: &Decision) -> bool {
    old.outcome != new.outcome
        || old.tier.as_ref().map(|t| t.id) != new.tier.as_ref().map(|t| t.id)
        || sorted_set(old.reasons.iter().map(|r| r.code.as_str()))
            != sorted_set(new.reasons.iter().map(|r| r.code.as_str()))
        || approver_roles(old) != approver_roles(new)
}

/// Decides every input of `corpus` with both policies and reports what
/// changes.
///
/// Each non-blank line is an action (a JSON object) or an audit record (an
/// object with a string field `record`; a `"decision"` record's action is
/// its `input`, decided with the record's `options.strict`, and skipped when
/// null, absent or redacted). Any other line is counted as unreadable and
/// the run goes on. `progress` is called after every batch of lines read;
/// the last call has the totals. Only a failure to read the corpus is an
/// error.
pub fn diff<R: BufRead>(
    old: &Policy,
    new: &Policy,
    mut corpus: R,
    options: &DiffOptions,
    progress: &mut dyn FnMut(Progress),
) -> io::Result<ImpactReport> {
    let threads = match options.threads {
        0 => std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
        n => n,
    }
    .min(MAX_THREADS);
    let mut reader = Reader::default();
    if threads <= 1 {
        let mut tally = Tally::new(options.limit);
        let mut batch = Batch::default();
        loop {
            batch.clear();
            let more = reader.fill(&mut corpus, &mut batch)?;
            tally.add_batch(&batch, old, new, &options.eval);
            progress(reader.progress());
            if !more {
                break;
            }
        }
        return Ok(tally.finish(reader.lines));
    }

    std::thread::scope(|scope| {
        let eval = options.eval;
        let limit = options.limit;
        let (recycle_tx, recycle_rx) = mpsc::channel::<Batch>();
        let mut senders = Vec::with_capacity(threads);
        let mut workers = Vec::with_capacity(threads);
        for _ in 0..threads {
            let (tx, rx) = mpsc::sync_channel::<Batch>(QUEUED_PER_WORKER);
            let recycle = recycle_tx.clone();
            workers.push(scope.spawn(move || {
                let mut tally = Tally::new(limit);
                for mut batch in rx {
                    tally.add_batch(&batch, old, new, &eval);
                    batch.clear();
                    // The reader may be gone already; the batch is then dropped.
                    let _ = recycle.send(batch);
                }
                tally
            }));
            senders.push(tx);
        }
        drop(recycle_tx);

        // Round robin: every worker gets the same share of lines. A send
        // fails only when that worker has stopped; the join below reports it.
        let mut read = || -> io::Result<()> {
            for turn in 0.. {
                let mut batch = recycle_rx.try_recv().unwrap_or_default();
                let more = reader.fill(&mut corpus, &mut batch)?;
                progress(reader.progress());
                let Some(worker) = senders.get(turn % senders.len()) else {
                    break;
                };
                if worker.send(batch).is_err() || !more {
                    break;
                }
            }
            Ok(())
        };
        let read_result = read();
        drop(senders);

        let mut total = Tally::new(limit);
        for worker in workers {
            match worker.join() {
                Ok(tally) => total.merge(tally),
                Err(_) => return Err(io::Error::other("an impact worker thread stopped")),
            }
        }
        read_result?;
        Ok(total.finish(reader.lines))
    })
}

fn sorted_set<'a>(items: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut v: Vec<&str> = items.collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// Every approver role a decision names, sorted, without duplicates.
fn approver_roles(d: &Decision) -> Vec<&str> {
    sorted_set(
        d.approvals
            .iter()
            .flat_map(|a| &a.groups)
            .flat_map(|g| &g.roles)
            .map(|r| r.name.as_str()),
    )
}

fn same_contribution(a: &MatchedRule, b: &MatchedRule) -> bool {
    a.outcome == b.outcome && a.tier == b.tier && a.reasons == b.reasons
}

/// The rules that matched differently, borrowing names from the decisions.
struct RuleDelta<'a> {
    newly_matched: Vec<&'a str>,
    no_longer_matched: Vec<&'a str>,
    changed: Vec<&'a str>,
}

impl<'a> RuleDelta<'a> {
    fn of(old: &'a Decision, new: &'a Decision) -> RuleDelta<'a> {
        let find = |rules: &'a [MatchedRule], name: &str| rules.iter().find(|r| r.name == name);
        let mut delta = RuleDelta {
            newly_matched: Vec::new(),
            no_longer_matched: Vec::new(),
            changed: Vec::new(),
        };
        for n in &new.rules {
            match find(&old.rules, &n.name) {
                None => delta.newly_matched.push(&n.name),
                Some(o) if !same_contribution(o, n) => delta.changed.push(&n.name),
                Some(_) => {}
            }
        }
        for o in &old.rules {
            if find(&new.rules, &o.name).is_none() {
                delta.no_longer_matched.push(&o.name);
            }
        }
        delta
    }

    fn owned(&self) -> RuleChanges {
        let own = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect();
        RuleChanges {
            newly_matched: own(&self.newly_matched),
            no_longer_matched: own(&self.no_longer_matched),
            changed: own(&self.changed),
        }
    }
}

/// Counts and examples of one worker (or, merged, of the whole corpus).
struct Tally {
    limit: usize,
    inputs: u64,
    unchanged: u64,
    no_input_recorded: u64,
    other_records: u64,
    unreadable: u64,
    unreadable_lines: Vec<UnreadableLine>,
    transitions: BTreeMap<(Outcome, Outcome), TransitionTally>,
}

#[derive(Default)]
struct TransitionTally {
    count: u64,
    rules: BTreeMap<String, RuleTally>,
    examples: Vec<Change>,
}

impl Tally {
    fn new(limit: usize) -> Tally {
        Tally {
            limit,
            inputs: 0,
            unchanged: 0,
            no_input_recorded: 0,
            other_records: 0,
            unreadable: 0,
            unreadable_lines: Vec::new(),
            transitions: BTreeMap::new(),
        }
    }

    fn add_batch(&mut self, batch: &Batch, old: &Policy, new: &Policy, eval: &EvalOptions) {
        for (number, line) in batch.parsed() {
            match line {
                Line::Blank => {}
                Line::NoInputRecorded => self.no_input_recorded += 1,
                Line::OtherRecord => self.other_records += 1,
                Line::Unreadable(message) => {
                    self.unreadable += 1;
                    if self.unreadable_lines.len() < UNREADABLE_LISTED {
                        self.unreadable_lines.push(UnreadableLine {
                            line: number,
                            message,
                        });
                    }
                }
                Line::Input(input) => self.compare(number, input, old, new, eval),
            }
        }
    }

    fn compare(&mut self, line: u64, input: Input, old: &Policy, new: &Policy, eval: &EvalOptions) {
        self.inputs += 1;
        let eval = EvalOptions {
            strict: input.strict.unwrap_or(eval.strict),
            ..*eval
        };
        let a = old.evaluate_with(&input.value, &eval);
        let b = new.evaluate_with(&input.value, &eval);
        if !decisions_differ(&a, &b) {
            self.unchanged += 1;
            return;
        }
        let delta = RuleDelta::of(&a, &b);
        let t = self.transitions.entry((a.outcome, b.outcome)).or_default();
        t.count += 1;
        for name in &delta.newly_matched {
            tally_for(&mut t.rules, name, |r| r.newly_matched += 1);
        }
        for name in &delta.no_longer_matched {
            tally_for(&mut t.rules, name, |r| r.no_longer_matched += 1);
        }
        for name in &delta.changed {
            tally_for(&mut t.rules, name, |r| r.changed += 1);
        }
        if t.examples.len() < self.limit {
            t.examples.push(Change {
                line,
                change: ChangeKind::of(a.outcome, b.outcome),
                old: DecisionSummary::of(&a),
                new: DecisionSummary::of(&b),
                rules: delta.owned(),
                action_digest: b.action_digest.clone(),
                record: input.record,
                input: input.value,
            });
        }
    }

    fn merge(&mut self, other: Tally) {
        self.inputs += other.inputs;
        self.unchanged += other.unchanged;
        self.no_input_recorded += other.no_input_recorded;
        self.other_records += other.other_records;
        self.unreadable += other.unreadable;
        self.unreadable_lines.extend(other.unreadable_lines);
        self.unreadable_lines.sort_by_key(|u| u.line);
        self.unreadable_lines.truncate(UNREADABLE_LISTED);
        for (key, theirs) in other.transitions {
            let ours = self.transitions.entry(key).or_default();
            ours.count += theirs.count;
            for (name, r) in theirs.rules {
                let mine = ours.rules.entry(name).or_default();
                mine.newly_matched += r.newly_matched;
                mine.no_longer_matched += r.no_longer_matched;
                mine.changed += r.changed;
            }
            ours.examples.extend(theirs.examples);
            ours.examples.sort_by_key(|c| c.line);
            ours.examples.truncate(self.limit);
        }
    }

    fn finish(self, lines: u64) -> ImpactReport {
        let mut report = ImpactReport {
            lines,
            inputs: self.inputs,
            unchanged: self.unchanged,
            no_input_recorded: self.no_input_recorded,
            other_records: self.other_records,
            unreadable: self.unreadable,
            unreadable_lines: self.unreadable_lines,
            ..ImpactReport::default()
        };
        for ((old, new), t) in self.transitions {
            let change = ChangeKind::of(old, new);
            match change {
                ChangeKind::Loosen => report.loosened += t.count,
                ChangeKind::Tighten => report.tightened += t.count,
                ChangeKind::SameOutcome => report.same_outcome += t.count,
            }
            report.changed += t.count;
            let mut rules: Vec<RuleTally> = t
                .rules
                .into_iter()
                .map(|(rule, r)| RuleTally { rule, ..r })
                .collect();
            rules.sort_by(|a, b| b.total().cmp(&a.total()).then_with(|| a.rule.cmp(&b.rule)));
            report.transitions.push(Transition {
                old,
                new,
                change,
                count: t.count,
                rules,
                more: t.count.saturating_sub(t.examples.len() as u64),
                examples: t.examples,
            });
        }
        // BTreeMap order is (old, new); the stable sort keeps it within a kind.
        report.transitions.sort_by_key(|t| t.change);
        report
    }
}

/// Bumps a rule's tally, allocating its name only the first time.
fn tally_for(
    rules: &mut BTreeMap<String, RuleTally>,
    name: &str,
    bump: impl FnOnce(&mut RuleTally),
) {
    if !rules.contains_key(name) {
        rules.insert(name.to_owned(), RuleTally::default());
    }
    if let Some(r) = rules.get_mut(name) {
        bump(r);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: &str = r#"
        policy "p" version "1"
        schema { action.type: enum { read, refund }  action.amount: number? }
        role lead
        reason REFUND "refund"
        tier 0 "none" { outcome auto }
        tier 3 "money" { outcome explicit  approve lead }
        rule refund when action.type == refund and action.amount > 100 then tier 3 because REFUND
        default tier 0 because NO_RULE_MATCHED
    "#;

    fn policies() -> (Policy, Policy) {
        let old = Policy::from_source("p.gate", POLICY).unwrap();
        let new = Policy::from_source("p.gate", POLICY.replace("> 100", "> 50")).unwrap();
        (old, new)
    }

    fn corpus() -> String {
        let mut text = String::new();
        for i in 0..5000 {
            let amount = i % 200;
            text.push_str(&format!(
                "{{\"action\":{{\"type\":\"refund\",\"amount\":{amount}}}}}\n"
            ));
        }
        text.push_str("not json\n\n{\"record\":\"decision\",\"input\":null}\n");
        text
    }

    #[test]
    fn the_report_does_not_depend_on_the_number_of_threads() {
        let (old, new) = policies();
        let text = corpus();
        let run = |threads| {
            let options = DiffOptions {
                limit: 3,
                threads,
                ..DiffOptions::default()
            };
            diff(&old, &new, text.as_bytes(), &options, &mut |_| {}).unwrap()
        };
        let one = run(1);
        assert_eq!(one.lines, 5003);
        assert_eq!(one.tightened, 25 * 50, "amounts 51..=100, 25 times each");
        assert_eq!(one.unreadable_lines[0].line, 5001);
        assert_eq!(one.no_input_recorded, 1);
        assert_eq!(run(2), one);
        assert_eq!(run(5), one);
    }

    #[test]
    fn audit_records_give_their_input_and_strictness() {
        let (old, new) = policies();
        let report = |corpus: &str| {
            diff(
                &old,
                &new,
                corpus.as_bytes(),
                &DiffOptions::default(),
                &mut |_| {},
            )
            .unwrap()
        };
        let record = r#"{"record":"decision","id":"dec_1","input":{"action":{"type":"refund","amount":70},"extra":1},"redacted":[],"options":{"now":null,"strict":STRICT}}"#;
        let lenient = report(&record.replace("STRICT", "false"));
        assert_eq!((lenient.inputs, lenient.changed), (1, 1));
        let example = &lenient.transitions[0].examples[0];
        assert_eq!(example.record.as_deref(), Some("dec_1"));
        // Strict: the undeclared field makes both decisions INVALID_INPUT.
        let strict = report(&record.replace("STRICT", "true"));
        assert_eq!((strict.inputs, strict.changed), (1, 0));

        let redacted = r#"{"record":"decision","input":{"action":{"type":"refund"}},"redacted":["$.action.amount"]}"#;
        let skipped = report(&format!("{redacted}\n{{\"record\":\"verification\"}}\n"));
        assert_eq!(
            (
                skipped.inputs,
                skipped.no_input_recorded,
                skipped.other_records
            ),
            (0, 1, 1)
        );
    }
}

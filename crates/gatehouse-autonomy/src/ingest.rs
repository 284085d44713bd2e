//! Reading an audit history, one line at a time, into per-group tallies.
//!
//! Memory is bounded by what is kept, never by the length of the history:
//!
//! - per request seen: its id and a small fixed record (the interned ids of
//!   its groups, two timestamps, a few flags): about 120 bytes plus 4 bytes
//!   per determining rule;
//! - per group (rule, tier, agent, target; at most [`MAX_GROUPS`] of each,
//!   the rest folded into `(other)`): its counters, 8 bytes per human
//!   decision for the time-to-decision percentiles, and its reviewers;
//! - decision records waiting for their `decide` transition: at most
//!   [`PENDING_DECISIONS`];
//! - one line at a time, at most [`MAX_LINE_BYTES`] (a longer line is
//!   skipped to its end and counted as oversized).
//!
//! A line that is not an audit record this reader understands is counted
//! (and the first [`EXAMPLES_LISTED`] are listed with their line number);
//! nothing in the input can make reading fail or panic.

use std::collections::{HashMap, VecDeque};
use std::io::{self, BufRead};

use gatehouse::Outcome;
use gatehouse::values::Timestamp;
use serde_json::Value as Json;

use crate::groups::{Dimension, GroupId, Groups};
use crate::{Options, Report};

/// Longest line read (the engine's limit for one input document).
pub const MAX_LINE_BYTES: usize = gatehouse::audit::impact::MAX_LINE_BYTES;
/// Distinct values kept per dimension; more are counted under `(other)`.
pub const MAX_GROUPS: usize = 10_000;
/// Decision records kept while waiting for the `decide` transition that
/// names their request (the gate writes the two back to back, so one is
/// enough there); an older one is counted as a decision without a request
/// (`eval --audit-log` volume).
pub const PENDING_DECISIONS: usize = 1024;
/// Unreadable lines listed with their line number; the rest are counted.
pub const EXAMPLES_LISTED: usize = 10;
/// Request ids kept per group as evidence of rejected samples.
pub const EVIDENCE_LISTED: usize = 5;

/// What one decision record says, kept until its `decide` arrives.
#[derive(Clone, Debug)]
struct DecisionFacts {
    action_digest: String,
    /// When it was decided (Unix ms): a standalone decision's bucket.
    time_ms: i64,
    outcome: Outcome,
    keys: Keys,
}

/// The groups one request counts in.
#[derive(Clone, Debug)]
pub(crate) struct Keys {
    pub(crate) rules: Vec<GroupId>,
    pub(crate) tier: GroupId,
    pub(crate) agent: GroupId,
    pub(crate) target: GroupId,
}

/// A request's state while the history is read.
#[derive(Debug)]
struct RequestState {
    keys: Keys,
    /// When it was decided (Unix milliseconds).
    decided_ms: i64,
    /// A person has decided it (approve_complete, reject, request_changes).
    human: bool,
    /// The sample verdict is in (only the first one counts).
    sample_reviewed: bool,
    /// Its `auto_approve` was read (a replayed one counts once).
    auto_seen: bool,
    /// Its `auto_approve` says the draw sampled it: only then is a
    /// `sample_review` a verdict on a sample. The service refuses a
    /// verdict on any other request, so one here is forged or misplaced
    /// and must not count against a rule.
    sampled: bool,
}

/// The reader: feed it lines, then [`Ingest::finish`] for the report.
#[derive(Debug)]
pub struct Ingest {
    options: Options,
    pub(crate) groups: Groups,
    requests: HashMap<String, RequestState>,
    pending: VecDeque<DecisionFacts>,
    pub(crate) input: crate::InputSummary,
    pub(crate) policies: Vec<crate::PolicySeen>,
}

/// Why a line was not read.
struct Unreadable(String);

fn unreadable(message: impl Into<String>) -> Unreadable {
    Unreadable(message.into())
}

impl Ingest {
    /// A reader with these options.
    pub fn new(options: Options) -> Ingest {
        Ingest {
            options,
            groups: Groups::default(),
            requests: HashMap::new(),
            pending: VecDeque::new(),
            input: crate::InputSummary::default(),
            policies: Vec::new(),
        }
    }

    /// Reads every line of `reader` (JSON lines; blank lines skipped).
    /// Only a failure to read is an error; bad lines are counted.
    pub fn read<R: BufRead>(&mut self, mut reader: R) -> io::Result<()> {
        let mut buf = Vec::new();
        loop {
            buf.clear();
            let (used, oversized) = gatehouse::audit::impact::read_line(&mut reader, &mut buf)?;
            if used == 0 {
                return Ok(());
            }
            if oversized {
                self.input.lines += 1;
                self.input.oversized += 1;
                let line = self.input.lines;
                self.note_unreadable(line, format!("longer than {MAX_LINE_BYTES} bytes"));
                continue;
            }
            self.push_line(&buf);
        }
    }

    /// Reads one line (without or with its newline).
    pub fn push_line(&mut self, line: &[u8]) {
        self.input.lines += 1;
        let trimmed = line.trim_ascii();
        if trimmed.is_empty() {
            self.input.blank += 1;
            return;
        }
        if let Err(Unreadable(message)) = self.record(trimmed) {
            self.input.malformed += 1;
            let n = self.input.lines;
            self.note_unreadable(n, message);
        }
    }

    fn note_unreadable(&mut self, line: u64, message: String) {
        if self.input.unreadable_lines.len() < EXAMPLES_LISTED {
            self.input
                .unreadable_lines
                .push(crate::UnreadableLine { line, message });
        }
    }

    fn record(&mut self, text: &[u8]) -> Result<(), Unreadable> {
        // serde_json refuses nesting deeper than 128 levels with an error,
        // so a hostile line costs its length and no stack.
        let value: Json =
            serde_json::from_slice(text).map_err(|e| unreadable(format!("not JSON: {e}")))?;
        let Json::Object(record) = &value else {
            return Err(unreadable("not a JSON object"));
        };
        match record.get("record").and_then(Json::as_str) {
            Some("decision") => self.decision(&value),
            Some("transition") => self.transition(&value),
            Some(_) => {
                self.input.other_records += 1;
                Ok(())
            }
            None => Err(unreadable("no string field `record`")),
        }
    }

    fn decision(&mut self, rec: &Json) -> Result<(), Unreadable> {
        let outcome = outcome_of(rec.pointer("/decision/outcome").or(rec.get("outcome")))
            .ok_or_else(|| unreadable("decision record without a valid `outcome`"))?;
        let time = time_of(rec)?;
        // Bounded: up to 1 024 records wait for their `decide`.
        let action_digest = crate::groups::bounded_name(
            rec.get("action_digest")
                .and_then(Json::as_str)
                .unwrap_or_default(),
        )
        .into_owned();
        self.input.decision_records += 1;
        self.note_time(time);
        self.note_policy(rec);
        if !self.in_window(time) {
            self.input.outside_window += 1;
            return Ok(());
        }
        let keys = self.keys_of(rec);
        let facts = DecisionFacts {
            action_digest,
            time_ms: time,
            outcome,
            keys,
        };
        if self.pending.len() >= PENDING_DECISIONS
            && let Some(old) = self.pending.pop_front()
        {
            self.standalone(old);
        }
        self.pending.push_back(facts);
        Ok(())
    }

    /// A decision no `decide` transition claimed: `eval` volume.
    fn standalone(&mut self, facts: DecisionFacts) {
        self.input.standalone_decisions += 1;
        let bucket = self.options.bucket.index(facts.time_ms);
        self.groups.decided(&facts.keys, facts.outcome, bucket);
    }

    /// Flushes the decisions still waiting (at the end of the history).
    fn flush_pending(&mut self) {
        while let Some(facts) = self.pending.pop_front() {
            self.standalone(facts);
        }
    }

    fn transition(&mut self, rec: &Json) -> Result<(), Unreadable> {
        let request = rec
            .get("request")
            .and_then(Json::as_str)
            .ok_or_else(|| unreadable("transition record without a string `request`"))?;
        // The service's ids are ~30 bytes; a longer one is not the
        // service's, and keeping it (once per request) would let a hostile
        // history cost its length per line.
        if request.len() > crate::groups::MAX_NAME_BYTES {
            return Err(unreadable(format!(
                "a request id of {} bytes (longer than {})",
                request.len(),
                crate::groups::MAX_NAME_BYTES
            )));
        }
        let event = rec
            .get("event")
            .and_then(Json::as_str)
            .ok_or_else(|| unreadable("transition record without a string `event`"))?;
        let time = time_of(rec)?;
        self.input.transition_records += 1;
        self.note_time(time);
        let actor = rec
            .pointer("/actor/id")
            .and_then(Json::as_str)
            .unwrap_or("");
        let detail = rec.get("detail").unwrap_or(&Json::Null);
        if event == "decide" {
            return self.decide(rec, request, detail, time);
        }
        let Some(state) = self.requests.get_mut(request) else {
            self.input.unmatched_transitions += 1;
            return Ok(());
        };
        let keys = state.keys.clone();
        match event {
            "auto_approve" => {
                if state.auto_seen {
                    self.input.unmatched_transitions += 1;
                    return Ok(());
                }
                state.auto_seen = true;
                let sampled =
                    detail.pointer("/sample/sampled").and_then(Json::as_bool) == Some(true);
                state.sampled = sampled;
                self.groups.each(&keys, |c| {
                    c.counts.auto += 1;
                    if sampled {
                        c.counts.sampled += 1;
                    }
                });
            }
            "approve_complete" | "reject" | "request_changes" => {
                let first = !state.human;
                state.human = true;
                let waited = (time - state.decided_ms).max(0).unsigned_abs();
                let reviewer = self.groups.reviewer(actor);
                self.groups.review(&keys, reviewer);
                if first {
                    self.groups
                        .human(&keys, event, waited, state_bucket(&self.options, state));
                }
            }
            "approve" => {
                let reviewer = self.groups.reviewer(actor);
                self.groups.review(&keys, reviewer);
            }
            "expire" => self.groups.each(&keys, |c| c.counts.expired += 1),
            "escalate" => self.groups.each(&keys, |c| c.counts.escalated += 1),
            "cancel" => self.groups.each(&keys, |c| c.counts.cancelled += 1),
            "sample_review" => {
                let verdict = detail.get("verdict").and_then(Json::as_str);
                if !state.sampled {
                    self.input.unmatched_transitions += 1;
                    return Ok(());
                }
                if state.sample_reviewed {
                    self.input.repeated_sample_verdicts += 1;
                    return Ok(());
                }
                let reject = match verdict {
                    Some("confirm") => false,
                    Some("reject") => true,
                    _ => {
                        return Err(unreadable(
                            "sample_review without a verdict `confirm` or `reject`",
                        ));
                    }
                };
                state.sample_reviewed = true;
                let bucket = state_bucket(&self.options, state);
                let reviewer = self.groups.reviewer(actor);
                self.groups.review(&keys, reviewer);
                self.groups.sample_verdict(&keys, reject, request, bucket);
            }
            _ => {}
        }
        Ok(())
    }

    fn decide(
        &mut self,
        rec: &Json,
        request: &str,
        detail: &Json,
        time: i64,
    ) -> Result<(), Unreadable> {
        let digest = crate::groups::bounded_name(
            rec.get("action_digest")
                .and_then(Json::as_str)
                .unwrap_or(""),
        );
        let digest = &*digest;
        let found = self
            .pending
            .iter()
            .rposition(|d| d.action_digest == digest)
            .and_then(|i| self.pending.remove(i));
        if !self.in_window(time) {
            self.input.outside_window += 1;
            return Ok(());
        }
        if self.requests.contains_key(request) {
            self.input.repeated_decides += 1;
            return Ok(());
        }
        let facts = match found {
            Some(f) => f,
            None => {
                // No decision record (a window that starts mid-history, a
                // chain exported without them): the outcome from the
                // transition, the rules unknown.
                let outcome = outcome_of(detail.get("outcome")).ok_or_else(|| {
                    unreadable(
                        "decide transition without its decision record or a valid `detail.outcome`",
                    )
                })?;
                self.input.decides_without_decision += 1;
                DecisionFacts {
                    action_digest: digest.to_owned(),
                    time_ms: time,
                    outcome,
                    keys: self.groups.unknown_keys(),
                }
            }
        };
        if detail.pointer("/shadow/differs").and_then(Json::as_bool) == Some(true) {
            self.input.shadow_differs += 1;
        }
        let bucket = self.options.bucket.index(time);
        self.groups.decided(&facts.keys, facts.outcome, bucket);
        self.input.requests += 1;
        self.requests.insert(
            request.to_owned(),
            RequestState {
                keys: facts.keys,
                decided_ms: time,
                human: false,
                sample_reviewed: false,
                auto_seen: false,
                sampled: false,
            },
        );
        Ok(())
    }

    fn keys_of(&mut self, rec: &Json) -> Keys {
        let mut rules = Vec::new();
        if let Some(list) = rec.pointer("/decision/rules").and_then(Json::as_array) {
            for rule in list {
                if rule.get("determining").and_then(Json::as_bool) != Some(true) {
                    continue;
                }
                if let Some(name) = rule.get("name").and_then(Json::as_str) {
                    let id = self.groups.id(Dimension::Rule, name);
                    if !rules.contains(&id) {
                        rules.push(id);
                    }
                }
            }
        }
        if rules.is_empty() {
            rules.push(self.groups.id(Dimension::Rule, crate::groups::DEFAULT_RULE));
        }
        let tier = match rec.pointer("/decision/tier/id").and_then(Json::as_u64) {
            Some(id) => {
                let name = rec
                    .pointer("/decision/tier/name")
                    .and_then(Json::as_str)
                    .unwrap_or("");
                let g = self.groups.id(Dimension::Tier, &id.to_string());
                self.groups.label(g, name);
                g
            }
            None => self.groups.id(Dimension::Tier, crate::groups::NONE),
        };
        let agent = match rec.pointer("/input/agent/id").and_then(Json::as_str) {
            Some(a) => self.groups.id(Dimension::Agent, a),
            None => self.groups.id(Dimension::Agent, crate::groups::UNKNOWN),
        };
        let mut at = rec.get("input");
        for part in &self.options.target {
            at = at.and_then(|v| v.get(part));
        }
        let target = match at {
            Some(Json::String(s)) => self.groups.id(Dimension::Target, s),
            Some(v @ (Json::Number(_) | Json::Bool(_))) => {
                self.groups.id(Dimension::Target, &v.to_string())
            }
            _ => self.groups.id(Dimension::Target, crate::groups::UNKNOWN),
        };
        Keys {
            rules,
            tier,
            agent,
            target,
        }
    }

    fn in_window(&self, time_ms: i64) -> bool {
        self.options.since_ms.is_none_or(|s| time_ms >= s)
            && self.options.until_ms.is_none_or(|u| time_ms < u)
    }

    fn note_time(&mut self, time_ms: i64) {
        self.input.first_ms = Some(self.input.first_ms.map_or(time_ms, |f| f.min(time_ms)));
        self.input.last_ms = Some(self.input.last_ms.map_or(time_ms, |l| l.max(time_ms)));
    }

    /// Keeps the distinct policies decisions name (at most 64: enough to
    /// say which sources a relax diff needs).
    fn note_policy(&mut self, rec: &Json) {
        let Some(digest) = rec.pointer("/policy/digest").and_then(Json::as_str) else {
            return;
        };
        let digest = &*crate::groups::bounded_name(digest);
        if let Some(p) = self.policies.iter_mut().find(|p| p.digest == digest) {
            p.decisions += 1;
            return;
        }
        if self.policies.len() < 64 {
            let text = |k: &str| {
                crate::groups::bounded_name(
                    rec.pointer(&format!("/policy/{k}"))
                        .and_then(Json::as_str)
                        .unwrap_or(""),
                )
                .into_owned()
            };
            self.policies.push(crate::PolicySeen {
                name: text("name"),
                version: text("version"),
                digest: digest.to_owned(),
                decisions: 1,
            });
        }
    }

    /// The policies the decision records read so far name (at most 64),
    /// in order of first sight.
    pub fn policies(&self) -> &[crate::PolicySeen] {
        &self.policies
    }

    /// The report.
    pub fn finish(mut self) -> Report {
        self.flush_pending();
        crate::report::build(self.options, self.groups, self.input, self.policies)
    }
}

fn state_bucket(options: &Options, state: &RequestState) -> i64 {
    options.bucket.index(state.decided_ms)
}

fn outcome_of(v: Option<&Json>) -> Option<Outcome> {
    match v?.as_str()? {
        "auto" => Some(Outcome::Auto),
        "queue" => Some(Outcome::Queue),
        "explicit" => Some(Outcome::Explicit),
        "dual" => Some(Outcome::Dual),
        "block" => Some(Outcome::Block),
        _ => None,
    }
}

/// The record's `time` in Unix milliseconds.
fn time_of(rec: &Json) -> Result<i64, Unreadable> {
    let text = rec
        .get("time")
        .and_then(Json::as_str)
        .ok_or_else(|| unreadable("record without a string `time`"))?;
    let t = Timestamp::parse(text)
        .ok_or_else(|| unreadable("record `time` is not an RFC 3339 instant"))?;
    Ok(unix_ms(t, text))
}

/// Milliseconds since the Unix epoch of `t`, parsed from `text`: the
/// seconds from the timestamp, the milliseconds from the fraction as
/// written (an offset never changes the fraction).
pub(crate) fn unix_ms(t: Timestamp, text: &str) -> i64 {
    let millis = text
        .split_once('.')
        .map(|(_, f)| {
            let mut m = 0_i64;
            let mut digits = f.bytes().take_while(u8::is_ascii_digit);
            for _ in 0..3 {
                m = m * 10 + digits.next().map_or(0, |d| i64::from(d - b'0'));
            }
            m
        })
        .unwrap_or(0);
    t.unix_seconds().saturating_mul(1000).saturating_add(millis)
}

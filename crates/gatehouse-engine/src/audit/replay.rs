//! Replay: re-evaluate every recorded input and compare with what was
//! decided.
//!
//! Under the policy a record names (same digest), the decision must come
//! out identical, byte for byte as JSON: a difference is a determinism bug.
//! Under another policy, replay tells what would be decided instead.
//! Verification records are listed, not replayed (their approvals are
//! checked by `gatehouse verify`); transition records (the gate service's
//! steps of a request) are counted, not replayed; records whose input was
//! redacted or left out cannot be replayed.
//!
//! Every field of a decision record is checked, not only the decision:
//! under its own policy the whole record is recomputed (policy, action
//! digest, outcome, options, decision) and compared field by field; under
//! any policy, the fields a record states twice (the top-level `outcome`,
//! `policy` and `action_digest`, and the same inside `decision`) must
//! agree. [`replay_log`] also checks the log's hash chain as it reads.

use std::collections::BTreeMap;
use std::io;
use std::path::Path;

use serde::{Deserialize as _, Serialize};
use serde_json::Value as Json;

use super::chain::{ChainReport, ChainStatus};
use super::digest::action_digest;
use super::log::{BadLine, LogEntry, LogReader, TornTail};
use super::record::{AuditRecord, DecisionRecord, RecordedOptions};
use crate::Policy;
use crate::eval::{Outcome, PolicyRef};

/// What replaying one record found.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ReplayResult {
    /// Same policy, and the decision is byte for byte the recorded one.
    Identical,
    /// Same policy and the same decision, except that rule locations name
    /// the policy files under another directory (the set was loaded from
    /// another path: the digest covers file names, not directories).
    IdenticalExceptPaths,
    /// Same policy, a different decision: the engine is not deterministic.
    DeterminismBug {
        /// The decision's top-level fields that differ.
        differs: Vec<String>,
        /// The recorded decision JSON.
        recorded: String,
        /// The decision JSON replay produced.
        replayed: String,
    },
    /// The record contradicts itself or what it recomputes to, outside the
    /// decision: a field stated twice differs (`outcome` at the top and in
    /// `decision`), or, under its own policy, `policy`, `outcome` or
    /// `options` are not what evaluating the recorded input gives. The
    /// record was altered.
    RecordMismatch {
        /// The record's top-level fields that are wrong.
        fields: Vec<String>,
        /// What each disagrees with.
        detail: String,
    },
    /// The recorded input does not hash to the recorded action digest: the
    /// record was altered or corrupted, so it proves nothing.
    DigestMismatch {
        /// The digest in the record.
        recorded: Option<String>,
        /// The digest of the recorded input.
        computed: String,
    },
    /// Another policy, and it decides the same (apart from the policy and
    /// rule locations).
    Unchanged {
        /// The recorded outcome.
        then: Outcome,
        /// The outcome under the replay policy.
        now: Outcome,
    },
    /// Another policy, and it decides differently.
    Changed {
        /// The recorded outcome.
        then: Outcome,
        /// The outcome under the replay policy.
        now: Outcome,
        /// The decision's fields that differ (`outcome`, `reasons`, ...).
        changed: Vec<String>,
        /// The decision replay produced.
        replayed: Json,
    },
    /// The record cannot be replayed.
    CannotReplay {
        /// Why: the input was redacted or not recorded, or the record is
        /// unusable.
        reason: String,
    },
    /// A verification record: listed, not replayed.
    Verification,
}

impl ReplayResult {
    /// Whether this is a determinism bug or a corrupt record.
    pub fn is_failure(&self) -> bool {
        matches!(
            self,
            ReplayResult::DeterminismBug { .. }
                | ReplayResult::DigestMismatch { .. }
                | ReplayResult::RecordMismatch { .. }
        )
    }
}

/// One record and what replaying it found.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ReplayEntry {
    /// The record's line in the log.
    pub line: usize,
    /// The record's id.
    pub id: String,
    /// `decision` or `verification`.
    pub record: &'static str,
    /// The policy the record names.
    pub recorded_policy: PolicyRef,
    /// What replay found.
    #[serde(flatten)]
    pub result: ReplayResult,
}

/// How many records came out which way.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ReplaySummary {
    /// Decision records read.
    pub decisions: usize,
    /// Replayed under their own policy, identical.
    pub identical: usize,
    /// Replayed under their own policy, identical but for the directory in
    /// rule locations.
    pub identical_except_paths: usize,
    /// Replayed under their own policy, different: determinism bugs.
    pub determinism_bugs: usize,
    /// Records whose input does not match their action digest.
    pub digest_mismatches: usize,
    /// Replayed under another policy, same decision.
    pub unchanged: usize,
    /// Replayed under another policy, different decision.
    pub changed: usize,
    /// Decision records that cannot be replayed (input redacted or not
    /// recorded).
    pub cannot_replay: usize,
    /// Verification records (listed, not replayed).
    pub verifications: usize,
    /// Transition records of the gate service's chain (counted, not
    /// replayed: the request's decision record is what is replayed).
    pub transitions_skipped: usize,
    /// Lines that are not records.
    pub bad_lines: usize,
    /// Whether the last line is torn.
    pub torn_tail: bool,
}

/// How many decisions moved from one outcome to another under the replay
/// policy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Transition {
    /// The recorded outcome.
    pub from: Outcome,
    /// The outcome now.
    pub to: Outcome,
    /// How many decisions.
    pub count: usize,
}

/// Everything a replay found.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ReplayReport {
    /// The policy replayed against.
    pub policy: PolicyRef,
    /// The counts.
    pub summary: ReplaySummary,
    /// Outcome changes of records decided under another policy.
    pub transitions: Vec<Transition>,
    /// Every record that needs attention, in log order: all but the
    /// identical and unchanged ones, which are only counted.
    pub records: Vec<ReplayEntry>,
    /// Lines that are not records.
    pub bad_lines: Vec<BadLine>,
    /// The torn last line, if any.
    pub torn_tail: Option<TornTail>,
    /// Records that contradict themselves or their recomputation
    /// ([`ReplayResult::RecordMismatch`]).
    pub record_mismatches: usize,
    /// The log's hash chain, when the replay read a whole log.
    pub chain: Option<ChainReport>,
}

impl ReplayReport {
    /// Whether replay found a determinism bug, a corrupt record or a
    /// broken chain.
    pub fn has_failures(&self) -> bool {
        self.summary.determinism_bugs > 0
            || self.summary.digest_mismatches > 0
            || self.record_mismatches > 0
            || self
                .chain
                .as_ref()
                .is_some_and(|c| c.status == ChainStatus::Tampered)
    }
}

/// Replays log entries one at a time (a log need not fit in memory twice).
#[derive(Debug)]
pub struct Replayer<'p> {
    policy: &'p Policy,
    summary: ReplaySummary,
    transitions: BTreeMap<(Outcome, Outcome), usize>,
    records: Vec<ReplayEntry>,
    bad_lines: Vec<BadLine>,
    torn_tail: Option<TornTail>,
    record_mismatches: usize,
    /// The sampling key the records were decided with (`None`: no key).
    sample_key: Option<[u8; 32]>,
}

impl<'p> Replayer<'p> {
    /// The key of the sampling draw the recorded decisions were made with
    /// (a service's secret sample key): without it, a record decided with
    /// a key replays with another `sample.sampled` wherever the two draws
    /// disagree. The key is never recorded.
    #[must_use]
    pub fn with_sample_key(mut self, key: Option<[u8; 32]>) -> Replayer<'p> {
        self.sample_key = key;
        self
    }

    /// A replay against `policy`.
    pub fn new(policy: &'p Policy) -> Replayer<'p> {
        Replayer {
            policy,
            summary: ReplaySummary::default(),
            transitions: BTreeMap::new(),
            records: Vec::new(),
            bad_lines: Vec::new(),
            torn_tail: None,
            record_mismatches: 0,
            sample_key: None,
        }
    }

    /// Takes the next entry of the log.
    pub fn push(&mut self, entry: LogEntry) {
        match entry {
            LogEntry::Record(logged) => {
                let (record, result, recorded_policy) = match &logged.record {
                    AuditRecord::Transition(_) => {
                        // Not a failure and nothing to replay: counted only
                        // (a service's chain holds several per request).
                        self.summary.transitions_skipped += 1;
                        return;
                    }
                    AuditRecord::Decision(r) => {
                        self.summary.decisions += 1;
                        (
                            "decision",
                            replay_decision_with(self.policy, r, self.sample_key),
                            &r.policy,
                        )
                    }
                    AuditRecord::Verification(r) => {
                        ("verification", ReplayResult::Verification, &r.policy)
                    }
                };
                self.count(&result);
                // the common cases are counted, not kept: a log can be long
                if matches!(
                    result,
                    ReplayResult::Identical
                        | ReplayResult::IdenticalExceptPaths
                        | ReplayResult::Unchanged { .. }
                ) {
                    return;
                }
                self.records.push(ReplayEntry {
                    line: logged.line,
                    id: logged.record.id().to_owned(),
                    record,
                    recorded_policy: recorded_policy.clone(),
                    result,
                });
            }
            LogEntry::Bad(b) => {
                self.summary.bad_lines += 1;
                self.bad_lines.push(b);
            }
            LogEntry::TornTail(t) => {
                self.summary.torn_tail = true;
                self.torn_tail = Some(t);
            }
        }
    }

    fn count(&mut self, result: &ReplayResult) {
        let s = &mut self.summary;
        match result {
            ReplayResult::Identical => s.identical += 1,
            ReplayResult::IdenticalExceptPaths => s.identical_except_paths += 1,
            ReplayResult::DeterminismBug { .. } => s.determinism_bugs += 1,
            ReplayResult::DigestMismatch { .. } => s.digest_mismatches += 1,
            ReplayResult::RecordMismatch { .. } => self.record_mismatches += 1,
            ReplayResult::Unchanged { .. } => s.unchanged += 1,
            ReplayResult::Changed { then, now, .. } => {
                s.changed += 1;
                if then != now {
                    *self.transitions.entry((*then, *now)).or_insert(0) += 1;
                }
            }
            ReplayResult::CannotReplay { .. } => s.cannot_replay += 1,
            ReplayResult::Verification => s.verifications += 1,
        }
    }

    /// The report, without a chain check (entries pushed one by one).
    pub fn finish(self) -> ReplayReport {
        self.finish_with(None)
    }

    /// The report, with the chain check of the log the entries came from.
    pub fn finish_with(self, chain: Option<ChainReport>) -> ReplayReport {
        ReplayReport {
            policy: PolicyRef {
                name: self.policy.name().to_owned(),
                version: self.policy.version().to_owned(),
                digest: self.policy.digest().to_owned(),
            },
            summary: self.summary,
            transitions: self
                .transitions
                .into_iter()
                .map(|((from, to), count)| Transition { from, to, count })
                .collect(),
            records: self.records,
            bad_lines: self.bad_lines,
            torn_tail: self.torn_tail,
            record_mismatches: self.record_mismatches,
            chain,
        }
    }
}

/// Replays every record of the log at `path` against `policy`, checking
/// its hash chain on the way. Fails only when the log cannot be read.
pub fn replay_log(policy: &Policy, path: &Path) -> io::Result<ReplayReport> {
    replay_log_with(policy, path, None)
}

/// [`replay_log`] with the sampling key the records were decided with.
pub fn replay_log_with(
    policy: &Policy,
    path: &Path,
    sample_key: Option<[u8; 32]>,
) -> io::Result<ReplayReport> {
    let mut replayer = Replayer::new(policy).with_sample_key(sample_key);
    let mut reader = LogReader::open(path)?;
    for entry in &mut reader {
        replayer.push(entry?);
    }
    Ok(replayer.finish_with(Some(reader.finish())))
}

/// The fields a decision record states twice, top level and inside
/// `decision`, that disagree: a record the writer made never has any.
fn self_contradictions(record: &DecisionRecord) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let stated = [
        ("outcome", serde_json::to_value(record.outcome).ok()),
        ("policy", serde_json::to_value(&record.policy).ok()),
        (
            "action_digest",
            serde_json::to_value(&record.action_digest).ok(),
        ),
    ];
    for (field, top) in stated {
        let inner = record.decision.get(field);
        // `action_digest` may be absent from decisions of older versions
        if field == "action_digest" && inner.is_none() {
            continue;
        }
        if inner != top.as_ref() {
            out.push((
                field.to_owned(),
                format!(
                    "`{field}` is {} but `decision.{field}` is {}",
                    top.map_or_else(|| "unwritable".to_owned(), |v| v.to_string()),
                    inner.map_or_else(|| "absent".to_owned(), Json::to_string)
                ),
            ));
        }
    }
    out
}

fn mismatch(found: Vec<(String, String)>) -> ReplayResult {
    let (fields, details): (Vec<String>, Vec<String>) = found.into_iter().unzip();
    ReplayResult::RecordMismatch {
        fields,
        detail: details.join("; "),
    }
}

/// Replays one decision record against `policy`.
pub fn replay_decision(policy: &Policy, record: &DecisionRecord) -> ReplayResult {
    replay_decision_with(policy, record, None)
}

/// [`replay_decision`] with the sampling key the record was decided with.
pub fn replay_decision_with(
    policy: &Policy,
    record: &DecisionRecord,
    sample_key: Option<[u8; 32]>,
) -> ReplayResult {
    let contradictions = self_contradictions(record);
    if !contradictions.is_empty() {
        return mismatch(contradictions);
    }
    if !record.redacted.is_empty() {
        let reason = if record.redacted.iter().any(|p| p == "$") {
            "the input was not recorded (--no-audit-input)".to_owned()
        } else {
            format!("the input was redacted ({})", record.redacted.join(", "))
        };
        return ReplayResult::CannotReplay { reason };
    }
    if record.input.is_null() {
        return ReplayResult::CannotReplay {
            reason: "the input was not recorded (it could not be read)".into(),
        };
    }
    let computed = action_digest(&record.input);
    if record.action_digest.as_deref() != Some(computed.as_str()) {
        return ReplayResult::DigestMismatch {
            recorded: record.action_digest.clone(),
            computed,
        };
    }
    let options = match record.options.to_eval_options() {
        Ok(o) => o.with_sample_key(sample_key),
        Err(e) => {
            return mismatch(vec![(
                "options".to_owned(),
                format!("the recorded options are not options gatehouse writes: {e}"),
            )]);
        }
    };
    // the writer records options as `RecordedOptions::from`: any other
    // spelling of the same options was not written by it
    if RecordedOptions::from(&options) != record.options {
        return mismatch(vec![(
            "options".to_owned(),
            format!(
                "`options.now` is not in the form gatehouse writes ({})",
                record.options.now.as_deref().unwrap_or("null")
            ),
        )]);
    }
    let replayed = policy.evaluate_with(&record.input, &options);
    let replayed_json = serde_json::to_value(&replayed).unwrap_or(Json::Null);
    // Both through a `Value`, so that both have their keys in the same
    // order whatever serde_json's features: sorted by default, as read and
    // as `Decision` declares them under `preserve_order` (records are
    // written in that order, `record::decision_in_order`).
    let (recorded_text, replayed_text) = match (
        serde_json::to_string(&record.decision),
        serde_json::to_string(&replayed_json),
    ) {
        (Ok(a), Ok(b)) => (a, b),
        _ => {
            return ReplayResult::CannotReplay {
                reason: "the decision cannot be written as JSON".into(),
            };
        }
    };
    if record.policy.digest == policy.digest() {
        // the fields outside the decision, recomputed: the policy as it
        // names itself (`outcome` and `action_digest` equal their copies in
        // `decision` and the recomputed digest, checked above; `decision`
        // is compared next)
        let mut found = Vec::new();
        if record.policy != replayed.policy {
            found.push((
                "policy".to_owned(),
                format!(
                    "the record names policy \"{}\" version \"{}\", the policy with its digest is \"{}\" version \"{}\"",
                    record.policy.name,
                    record.policy.version,
                    replayed.policy.name,
                    replayed.policy.version
                ),
            ));
        }
        if !found.is_empty() {
            return mismatch(found);
        }
        if recorded_text == replayed_text {
            return ReplayResult::Identical;
        }
        if without_directories(&record.decision) == without_directories(&replayed_json) {
            return ReplayResult::IdenticalExceptPaths;
        }
        return ReplayResult::DeterminismBug {
            differs: differing_fields(&record.decision, &replayed_json, false),
            recorded: recorded_text,
            replayed: replayed_text,
        };
    }
    let changed = differing_fields(&record.decision, &replayed_json, true);
    // the recorded decision is what is compared; its outcome is the one it shows
    let then = record
        .decision
        .get("outcome")
        .and_then(|o| Outcome::deserialize(o).ok())
        .unwrap_or(record.outcome);
    if changed.is_empty() {
        ReplayResult::Unchanged {
            then,
            now: replayed.outcome,
        }
    } else {
        ReplayResult::Changed {
            then,
            now: replayed.outcome,
            changed,
            replayed: replayed_json,
        }
    }
}

/// The decision with each rule location reduced to `file:line:col` of the
/// file name alone.
fn without_directories(decision: &Json) -> Json {
    let mut out = decision.clone();
    if let Some(rules) = out.get_mut("rules").and_then(Json::as_array_mut) {
        for rule in rules {
            if let Some(loc) = rule.get_mut("location")
                && let Some(text) = loc.as_str()
            {
                let base = text.rsplit(['/', '\\']).next().unwrap_or(text).to_owned();
                *loc = Json::String(base);
            }
        }
    }
    out
}

/// The top-level fields of two decisions that differ. Across policies,
/// `policy` (it differs by construction) and the directories in rule
/// locations are ignored.
fn differing_fields(recorded: &Json, replayed: &Json, across_policies: bool) -> Vec<String> {
    let (a, b) = if across_policies {
        (without_directories(recorded), without_directories(replayed))
    } else {
        (recorded.clone(), replayed.clone())
    };
    let (Some(a), Some(b)) = (a.as_object(), b.as_object()) else {
        return vec!["decision".to_owned()];
    };
    let ignored = |key: &str| across_policies && key == "policy";
    let mut out: Vec<String> = Vec::new();
    for (key, value) in b {
        if !ignored(key) && a.get(key) != Some(value) {
            out.push(key.clone());
        }
    }
    for key in a.keys() {
        if !ignored(key) && !b.contains_key(key) {
            out.push(key.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::log::LoggedRecord;
    use crate::audit::redact::{FieldPath, RedactMode, Redaction};
    use crate::eval::EvalOptions;
    use crate::values::Timestamp;
    use serde_json::json;

    const V1: &str = r#"policy "t" version "1"
schema { action.amount: number  requester.id: string }
role lead
tier 0 "none" { outcome auto }
tier 3 "money" { outcome explicit  approve lead  timeout 24h then reject }
reason BIG "big"
rule big when action.amount > 1000 then tier 3 because BIG
default tier 0 because NO_RULE_MATCHED
"#;

    fn policy(text: &str) -> Policy {
        Policy::from_source("t.gate", text).unwrap()
    }

    fn record(p: &Policy, input: &Json, now: Option<&str>, redaction: &Redaction) -> LogEntry {
        let options = EvalOptions::default().with_now(now.and_then(Timestamp::parse));
        let d = p.evaluate_with(input, &options);
        LogEntry::Record(Box::new(LoggedRecord {
            line: 1,
            chain: None,
            record: AuditRecord::decision(
                &d,
                Some(input),
                &options,
                redaction,
                Timestamp::parse("2026-11-22T10:00:00Z").unwrap(),
            ),
        }))
    }

    fn replay(p: &Policy, entries: Vec<LogEntry>) -> ReplayReport {
        let mut r = Replayer::new(p);
        for e in entries {
            r.push(e);
        }
        r.finish()
    }

    #[test]
    fn same_policy_replays_identically_with_the_recorded_clock() {
        let p = policy(V1);
        let input = json!({"action": {"amount": 2000}, "requester": {"id": "u"}});
        let report = replay(
            &p,
            vec![
                record(
                    &p,
                    &input,
                    Some("2026-11-22T09:00:00Z"),
                    &Redaction::KeepAll,
                ),
                record(&p, &input, None, &Redaction::KeepAll),
            ],
        );
        assert_eq!(report.summary.identical, 2, "{report:#?}");
        assert!(!report.has_failures());
    }

    #[test]
    fn a_different_recorded_decision_is_a_determinism_bug() {
        let p = policy(V1);
        let input = json!({"action": {"amount": 2000}, "requester": {"id": "u"}});
        let LogEntry::Record(mut logged) = record(&p, &input, None, &Redaction::KeepAll) else {
            panic!()
        };
        let AuditRecord::Decision(r) = &mut logged.record else {
            panic!()
        };
        // both places the record states its outcome: it agrees with itself
        r.decision["outcome"] = json!("auto");
        r.outcome = Outcome::Auto;
        let report = replay(&p, vec![LogEntry::Record(logged)]);
        assert_eq!(report.summary.determinism_bugs, 1);
        assert!(report.has_failures());
    }

    fn edited(p: &Policy, edit: impl FnOnce(&mut DecisionRecord)) -> ReplayReport {
        let input = json!({"action": {"amount": 2000}, "requester": {"id": "u"}});
        let LogEntry::Record(mut logged) = record(p, &input, None, &Redaction::KeepAll) else {
            panic!()
        };
        let AuditRecord::Decision(r) = &mut logged.record else {
            panic!()
        };
        edit(r);
        replay(p, vec![LogEntry::Record(logged)])
    }

    /// Promise 11: the top-level `outcome` edited from explicit to auto
    /// replayed as identical before, because only `decision` was compared.
    #[test]
    fn an_edited_top_level_outcome_is_a_corrupt_record() {
        let p = policy(V1);
        let report = edited(&p, |r| r.outcome = Outcome::Auto);
        assert_eq!(report.record_mismatches, 1, "{report:#?}");
        assert_eq!(report.summary.identical, 0);
        assert!(report.has_failures());
        let ReplayResult::RecordMismatch { fields, .. } = &report.records[0].result else {
            panic!("{report:#?}")
        };
        assert_eq!(fields, &["outcome"]);
        // under another policy too: the record contradicts itself
        let other = policy(&V1.replace("> 1000", "> 5000"));
        let input = json!({"action": {"amount": 2000}, "requester": {"id": "u"}});
        let LogEntry::Record(mut logged) = record(&p, &input, None, &Redaction::KeepAll) else {
            panic!()
        };
        let AuditRecord::Decision(r) = &mut logged.record else {
            panic!()
        };
        r.outcome = Outcome::Auto;
        assert!(replay(&other, vec![LogEntry::Record(logged)]).has_failures());
    }

    #[test]
    fn every_field_outside_the_decision_is_checked() {
        let p = policy(V1);
        type Edit = Box<dyn FnOnce(&mut DecisionRecord)>;
        let cases: Vec<(&str, Edit)> = vec![
            ("policy name", Box::new(|r| r.policy.name = "other".into())),
            (
                "policy version",
                Box::new(|r| r.policy.version = "9".into()),
            ),
            (
                "now spelled otherwise",
                Box::new(|r| r.options.now = Some("2026-11-22T09:00:00+00:00".into())),
            ),
            (
                "now unusable",
                Box::new(|r| r.options.now = Some("yesterday".into())),
            ),
            (
                "action digest and decision's",
                Box::new(|r| r.action_digest = Some("sha256:00".into())),
            ),
        ];
        for (what, edit) in cases {
            let report = edited(&p, edit);
            assert!(report.has_failures(), "{what}: {report:#?}");
            assert_eq!(report.summary.identical, 0, "{what}");
        }
    }

    #[test]
    fn an_altered_input_is_a_digest_mismatch_not_a_determinism_bug() {
        let p = policy(V1);
        let input = json!({"action": {"amount": 2000}, "requester": {"id": "u"}});
        let LogEntry::Record(mut logged) = record(&p, &input, None, &Redaction::KeepAll) else {
            panic!()
        };
        let AuditRecord::Decision(r) = &mut logged.record else {
            panic!()
        };
        r.input["action"]["amount"] = json!(20);
        let report = replay(&p, vec![LogEntry::Record(logged)]);
        assert_eq!(report.summary.digest_mismatches, 1);
        assert!(report.has_failures());
    }

    #[test]
    fn another_policy_reports_transitions_and_changed_fields() {
        let old = policy(V1);
        let new = policy(&V1.replace("> 1000", "> 5000"));
        let big = json!({"action": {"amount": 2000}, "requester": {"id": "u"}});
        let small = json!({"action": {"amount": 20}, "requester": {"id": "u"}});
        let report = replay(
            &new,
            vec![
                record(&old, &big, None, &Redaction::KeepAll),
                record(&old, &small, None, &Redaction::KeepAll),
            ],
        );
        assert_eq!(report.summary.changed, 1);
        assert_eq!(report.summary.unchanged, 1);
        assert_eq!(
            report.transitions,
            vec![Transition {
                from: Outcome::Explicit,
                to: Outcome::Auto,
                count: 1
            }]
        );
        let ReplayResult::Changed { changed, .. } = &report.records[0].result else {
            panic!("{report:#?}")
        };
        assert!(changed.contains(&"outcome".to_owned()));
        assert!(!changed.contains(&"policy".to_owned()));
        assert!(!report.has_failures());
    }

    #[test]
    fn redacted_inputs_cannot_be_replayed() {
        let p = policy(V1);
        let input = json!({"action": {"amount": 2000}, "requester": {"id": "u"}});
        let fields = Redaction::fields(
            vec![FieldPath::parse("requester.id").unwrap()],
            RedactMode::Hash,
        );
        let report = replay(
            &p,
            vec![
                record(&p, &input, None, &fields),
                record(&p, &input, None, &Redaction::DropInput),
            ],
        );
        assert_eq!(report.summary.cannot_replay, 2);
    }

    #[test]
    fn locations_under_another_directory_are_not_a_determinism_bug() {
        let here = Policy::from_source("a/t.gate", V1).unwrap();
        let there = Policy::from_source("b/c/t.gate", V1).unwrap();
        assert_eq!(here.digest(), there.digest());
        let input = json!({"action": {"amount": 2000}, "requester": {"id": "u"}});
        let report = replay(
            &there,
            vec![record(&here, &input, None, &Redaction::KeepAll)],
        );
        // decisions name rule files without their directory, so the bytes
        // match; `identical_except_paths` remains for logs of older versions
        assert_eq!(report.summary.identical, 1, "{report:#?}");
        assert!(!report.has_failures());
    }
}

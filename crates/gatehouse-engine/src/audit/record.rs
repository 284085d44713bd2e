//! Audit records: one JSON object per decision and per verification,
//! written one per line by [`AuditLog`](super::log::AuditLog), and the
//! gate service's transition records (see [`super::transition`]).
//!
//! A decision record keeps everything needed to replay the decision: the
//! policy's digest, the input (unless redacted), the options the engine was
//! given and the decision itself, so `gatehouse replay` can re-evaluate it
//! and compare byte for byte. Field names are a stable contract (see
//! docs/audit-records.md and schemas/audit-record.schema.json):
//!
//! ```json
//! {"record": "decision", "format": "gatehouse.audit-record/1", "id": "dec_…", "time": "2026-11-22T09:00:00Z",
//!  "policy": {"name": "…", "version": "…", "digest": "sha256:…"},
//!  "action_digest": "sha256:…", "input": {…}, "redacted": [],
//!  "outcome": "explicit", "options": {"now": null, "strict": false},
//!  "decision": {…}}
//! ```
//!
//! The same record is the same line whatever serde_json's features (the
//! CLI turns on `preserve_order`, a user's build does not): the fields in
//! the order above, `decision` in [`Decision`]'s field order, and the
//! free-form values (`input`, `approvals`, `verification`) with every
//! object's keys sorted (by their UTF-8 bytes, as serde_json's default map
//! keeps them), never in whatever order a `Value` happens to hold.

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use super::digest::action_digest;
use super::redact::Redaction;
use crate::eval::{Decision, DocumentFormat, EvalOptions, Outcome, PolicyRef};
use crate::values::Timestamp;

/// One line of an audit log. Non-exhaustive: a reader that meets a kind
/// it does not handle (the gate service's transitions were the third)
/// should skip or count it, never fail to build.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "record", rename_all = "lowercase")]
#[non_exhaustive]
pub enum AuditRecord {
    /// A decision was made (`"record": "decision"`).
    Decision(DecisionRecord),
    /// Collected approvals were verified (`"record": "verification"`).
    Verification(VerificationRecord),
    /// An approval request moved from one state to another, in the gate
    /// service's chain (`"record": "transition"`).
    Transition(TransitionRecord),
}

pub use super::transition::{TransitionActor, TransitionEvent, TransitionRecord};

/// The record of one decision. Reading one refuses fields the format does
/// not have: replay compares every field, so none may go unread.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct DecisionRecord {
    /// `"gatehouse.audit-record/1"`; absent in records written before the
    /// field existed, which read as the same format.
    #[serde(default)]
    pub format: RecordFormat,
    /// Unique id, `dec_` and 32 hex digits (a UUIDv7: ids sort by creation
    /// time).
    pub id: String,
    /// When the decision was made (RFC 3339, UTC): the `--now` given to
    /// `eval`, else the system clock.
    pub time: String,
    /// The policy that decided.
    pub policy: PolicyRef,
    /// `sha256:…` of the full, unredacted input; `null` when the input could
    /// not be read at all.
    pub action_digest: Option<String>,
    /// The input as evaluated, with the redactions applied; `null` when it
    /// was left out or could not be read. Written with sorted keys.
    #[serde(serialize_with = "sorted")]
    pub input: Json,
    /// The paths redacted from `input` (`$` when all of it was left out).
    #[serde(default)]
    pub redacted: Vec<String>,
    /// The decision's outcome.
    pub outcome: Outcome,
    /// The options the engine was given, so replay gives it the same.
    #[serde(default)]
    pub options: RecordedOptions,
    /// The full decision JSON (values of redacted fields redacted in it too).
    /// Written in the field order of [`Decision`] whatever serde_json's
    /// features (see `decision_in_order`).
    #[serde(serialize_with = "decision_in_order")]
    pub decision: Json,
}

/// Writes a recorded decision with its keys in [`Decision`]'s field order.
/// A `Value` keeps its keys sorted unless serde_json's `preserve_order` is
/// on (the CLI turns it on, a user's build does not), so writing the
/// `Value` as it is would make the same record two different lines. A
/// value that is exactly a `Decision` is written as the `Decision`; any
/// other (a hand-made record) with sorted keys.
fn decision_in_order<S: serde::Serializer>(decision: &Json, s: S) -> Result<S::Ok, S::Error> {
    match Decision::deserialize(decision) {
        Ok(d) if serde_json::to_value(&d).is_ok_and(|back| back == *decision) => d.serialize(s),
        _ => Sorted(decision).serialize(s),
    }
}

/// Writes a free-form value with every object's keys sorted, whatever
/// order the `Value` holds them in (see the module comment).
pub(super) fn sorted<S: serde::Serializer>(value: &Json, s: S) -> Result<S::Ok, S::Error> {
    Sorted(value).serialize(s)
}

/// A value written with sorted keys. Recursion is bounded as the `Value`'s
/// own serialization is: the readers and `Policy::evaluate` refuse values
/// nested deeper than `limits::MAX_INPUT_DEPTH`.
struct Sorted<'a>(&'a Json);

impl Serialize for Sorted<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap as _, SerializeSeq as _};
        match self.0 {
            Json::Object(map) => {
                let mut entries: Vec<(&String, &Json)> = map.iter().collect();
                entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
                let mut out = s.serialize_map(Some(entries.len()))?;
                for (key, value) in entries {
                    out.serialize_entry(key, &Sorted(value))?;
                }
                out.end()
            }
            Json::Array(items) => {
                let mut out = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    out.serialize_element(&Sorted(item))?;
                }
                out.end()
            }
            other => other.serialize(s),
        }
    }
}

/// The record of one verification of collected approvals (unknown fields
/// refused, as for [`DecisionRecord`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct VerificationRecord {
    /// `"gatehouse.audit-record/1"`, as in [`DecisionRecord::format`].
    #[serde(default)]
    pub format: RecordFormat,
    /// Unique id, `ver_` and 32 hex digits (a UUIDv7: ids sort by creation
    /// time).
    pub id: String,
    /// When the verification was made (RFC 3339, UTC).
    pub time: String,
    /// The policy that verified.
    pub policy: PolicyRef,
    /// `sha256:…` of the action the approvals were checked against.
    pub action_digest: String,
    /// The id of the decision record this verification follows, if known.
    pub decision_id: Option<String>,
    /// The action, with the redactions applied; `null` when left out.
    /// Written with sorted keys.
    #[serde(serialize_with = "sorted")]
    pub input: Json,
    /// The paths redacted from `input`.
    #[serde(default)]
    pub redacted: Vec<String>,
    /// The approvals considered, as given. Written with sorted keys.
    #[serde(serialize_with = "sorted")]
    pub approvals: Json,
    /// The verification result (verdict, satisfied, missing, ...). Written
    /// with sorted keys.
    #[serde(serialize_with = "sorted")]
    pub verification: Json,
}

/// The format field of an audit record: written as
/// [`DocumentFormat::AUDIT_RECORD`], right after `record` (a chained line
/// must keep starting with `{"seq":`, see
/// [`LINE_START`](super::chain::LINE_START)). Reading accepts that value or
/// no field at all (logs written before it existed: their lines are hashed
/// as written, so their chain still verifies), and refuses any other value,
/// so a record of a format this build does not know is never half-read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecordFormat;

impl Serialize for RecordFormat {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(DocumentFormat::AUDIT_RECORD.value)
    }
}

impl<'de> Deserialize<'de> for RecordFormat {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<RecordFormat, D::Error> {
        let text = String::deserialize(d)?;
        if text == DocumentFormat::AUDIT_RECORD.value {
            Ok(RecordFormat)
        } else {
            Err(serde::de::Error::custom(format!(
                "unsupported record format `{text}` (this build reads `{}`)",
                DocumentFormat::AUDIT_RECORD.value
            )))
        }
    }
}

/// The evaluation options a decision was made with.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RecordedOptions {
    /// The current time given to the engine (only `timeout.expires_at`
    /// depends on it); `null` when none was given.
    pub now: Option<String>,
    /// Whether undeclared input fields were rejected.
    #[serde(default)]
    pub strict: bool,
}

impl RecordedOptions {
    /// The options as the engine takes them again; `Err` names a `now`
    /// that is not an RFC 3339 timestamp.
    pub fn to_eval_options(&self) -> Result<EvalOptions, String> {
        let now = match &self.now {
            None => None,
            Some(text) => Some(
                Timestamp::parse(text)
                    .ok_or_else(|| format!("`{text}` is not an RFC 3339 timestamp"))?,
            ),
        };
        Ok(EvalOptions::default()
            .with_now(now)
            .with_strict(self.strict))
    }
}

impl From<&EvalOptions> for RecordedOptions {
    fn from(o: &EvalOptions) -> RecordedOptions {
        RecordedOptions {
            now: o.now.map(|t| t.to_string()),
            strict: o.strict,
        }
    }
}

/// What a verification record is about, for [`AuditRecord::verification`].
#[derive(Clone, Debug)]
pub struct VerificationEvent<'a> {
    /// The policy that verified.
    pub policy: &'a PolicyRef,
    /// The digest of the action the approvals were checked against.
    pub action_digest: &'a str,
    /// The decision record this verification follows, if known.
    pub decision_id: Option<&'a str>,
    /// The action (the full input; redaction is applied when recording).
    pub input: Option<&'a Json>,
    /// The approvals considered, as given.
    pub approvals: Json,
    /// The verification result.
    pub verification: Json,
}

impl AuditRecord {
    /// The record of a decision. `input` is the document that was evaluated
    /// (`None` when it could not be read); `options` are the options it was
    /// evaluated with; `time` is when (the engine never reads the clock:
    /// the caller passes it, e.g. [`Timestamp::now_utc`]).
    ///
    /// ```
    /// use gatehouse::audit::record::AuditRecord;
    /// use gatehouse::audit::redact::{FieldPath, RedactMode, Redaction};
    /// use gatehouse::audit::replay::{replay_decision, ReplayResult};
    /// use gatehouse::values::Timestamp;
    /// use gatehouse::{EvalOptions, Policy};
    ///
    /// let policy = Policy::from_source("p.gate", r#"
    ///     policy "p" version "1"
    ///     schema { action.amount: number  requester.id: string }
    ///     tier 0 "none" { outcome auto }
    ///     default tier 0 because NO_RULE_MATCHED
    /// "#).expect("compiles");
    /// let input = serde_json::json!({"action": {"amount": 20}, "requester": {"id": "u-1"}});
    /// let options = EvalOptions::default();
    /// let decision = policy.evaluate_with(&input, &options);
    /// let now = Timestamp::parse("2026-11-22T09:00:00Z").expect("a time");
    ///
    /// let record = AuditRecord::decision(&decision, Some(&input), &options, &Redaction::KeepAll, now);
    /// let line = record.to_json_line().expect("serializes");
    /// assert!(line.starts_with(r#"{"record":"decision","format":"gatehouse.audit-record/1","id":"dec_"#));
    ///
    /// // what was written reads back, and replays identically
    /// let AuditRecord::Decision(read) = serde_json::from_str(&line).expect("a record") else {
    ///     unreachable!()
    /// };
    /// assert_eq!(replay_decision(&policy, &read), ReplayResult::Identical);
    ///
    /// // a redacted record names what it left out, and keeps the full digest
    /// let hide = Redaction::fields(vec![FieldPath::parse("requester.id").expect("a path")], RedactMode::Drop);
    /// let AuditRecord::Decision(r) = AuditRecord::decision(&decision, Some(&input), &options, &hide, now) else {
    ///     unreachable!()
    /// };
    /// assert_eq!(r.redacted, ["$.requester.id"]);
    /// assert_eq!(r.action_digest, decision.action_digest);
    /// ```
    pub fn decision(
        decision: &Decision,
        input: Option<&Json>,
        options: &EvalOptions,
        redaction: &Redaction,
        time: Timestamp,
    ) -> AuditRecord {
        let digest = input
            .map(action_digest)
            .or_else(|| decision.action_digest.clone());
        let (input, redacted) = match input {
            Some(v) => {
                let r = redaction.apply(v);
                (r.input, r.redacted)
            }
            None => (Json::Null, Vec::new()),
        };
        let kept = redaction.apply_to_decision(decision, &redacted);
        AuditRecord::Decision(DecisionRecord {
            format: RecordFormat,
            id: new_id("dec_"),
            time: time.to_string(),
            policy: decision.policy.clone(),
            action_digest: digest,
            input,
            redacted,
            outcome: decision.outcome,
            options: RecordedOptions::from(options),
            // a Decision has only string keys: this cannot fail
            decision: serde_json::to_value(&kept).unwrap_or(Json::Null),
        })
    }

    /// The record of a verification of collected approvals.
    pub fn verification(
        event: VerificationEvent<'_>,
        redaction: &Redaction,
        time: Timestamp,
    ) -> AuditRecord {
        let (input, redacted) = match event.input {
            Some(v) => {
                let r = redaction.apply(v);
                (r.input, r.redacted)
            }
            None => (Json::Null, Vec::new()),
        };
        AuditRecord::Verification(VerificationRecord {
            format: RecordFormat,
            id: new_id("ver_"),
            time: time.to_string(),
            policy: event.policy.clone(),
            action_digest: event.action_digest.to_owned(),
            decision_id: event.decision_id.map(str::to_owned),
            input,
            redacted,
            approvals: event.approvals,
            verification: event.verification,
        })
    }

    /// The record's unique id.
    pub fn id(&self) -> &str {
        match self {
            AuditRecord::Decision(r) => &r.id,
            AuditRecord::Verification(r) => &r.id,
            AuditRecord::Transition(r) => &r.id,
        }
    }

    /// When the record was made, as written (RFC 3339).
    pub fn time(&self) -> &str {
        match self {
            AuditRecord::Decision(r) => &r.time,
            AuditRecord::Verification(r) => &r.time,
            AuditRecord::Transition(r) => &r.time,
        }
    }

    /// The policy named by the record; `None` for a transition record,
    /// which names the policy set by its digest only.
    pub fn policy(&self) -> Option<&PolicyRef> {
        match self {
            AuditRecord::Decision(r) => Some(&r.policy),
            AuditRecord::Verification(r) => Some(&r.policy),
            AuditRecord::Transition(_) => None,
        }
    }

    /// The record as one line of JSON, without the newline.
    pub fn to_json_line(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }

    /// Reads a record from a JSON value: `record` says which kind. A field
    /// the record format does not have (at the top, in `policy` or in
    /// `options`) is an error: whatever a record holds is read and checked.
    /// Chain fields (`seq`, `prev`) are taken out before, by the log reader.
    pub fn from_value(mut value: Json) -> Result<AuditRecord, String> {
        let Some(object) = value.as_object_mut() else {
            return Err("not a JSON object".into());
        };
        let kind = match super::take_key(object, "record") {
            Some(Json::String(kind)) => kind,
            Some(other) => return Err(format!("`record` is not a string: {other}")),
            None => return Err("no `record` field naming the record kind".into()),
        };
        if let Some(policy) = object.get("policy").and_then(Json::as_object)
            && let Some(key) = policy
                .keys()
                .find(|k| !matches!(k.as_str(), "name" | "version" | "digest"))
        {
            return Err(format!(
                "invalid {kind} record: unknown field `policy.{key}`"
            ));
        }
        match kind.as_str() {
            "decision" => serde_json::from_value(value)
                .map(AuditRecord::Decision)
                .map_err(|e| format!("invalid decision record: {e}")),
            "verification" => serde_json::from_value(value)
                .map(AuditRecord::Verification)
                .map_err(|e| format!("invalid verification record: {e}")),
            "transition" => serde_json::from_value(value)
                .map(AuditRecord::Transition)
                .map_err(|e| format!("invalid transition record: {e}")),
            other => Err(format!("unknown record kind `{other}`")),
        }
    }
}

impl DecisionRecord {
    /// The recorded decision as the engine's type.
    pub fn decision(&self) -> Result<Decision, serde_json::Error> {
        Decision::deserialize(&self.decision)
    }

    /// Whether the full input was recorded, so the decision can be replayed.
    pub fn has_full_input(&self) -> bool {
        self.redacted.is_empty() && !self.input.is_null()
    }
}

// Decoded by hand rather than with serde's internally tagged enums, which
// buffer the document and lose `arbitrary_precision` numbers on the way.
impl<'de> Deserialize<'de> for AuditRecord {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<AuditRecord, D::Error> {
        let value = Json::deserialize(d)?;
        AuditRecord::from_value(value).map_err(serde::de::Error::custom)
    }
}

/// `prefix` and a UUIDv7 (RFC 9562) in its 32-hex-digit simple form: 48
/// bits of wall-clock milliseconds (the system clock, not the record's
/// `time`, so records made with a fixed `--now` still differ), then a
/// counter and random bits from the operating system. Ids of one process
/// sort in the order they were made; ids of different processes differ by
/// their 74 random bits.
pub(super) fn new_id(prefix: &str) -> String {
    format!("{prefix}{}", uuid::Uuid::now_v7().simple())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Policy;
    use serde_json::json;

    fn policy() -> Policy {
        Policy::from_source(
            "t.gate",
            r#"policy "t" version "1"
schema { action.type: enum { read, refund }  requester.id: string }
role lead
tier 0 "none" { outcome auto }
tier 3 "money" { outcome explicit  approve lead  timeout 24h then reject  forbid approval by requester.id }
rule refund when action.type == refund then tier 3 because REFUND
reason REFUND "refund"
default tier 0 because NO_RULE_MATCHED
"#,
        )
        .unwrap()
    }

    #[test]
    fn a_decision_record_has_the_fields_in_order_and_reads_back() {
        let p = policy();
        let input = json!({"action": {"type": "refund"}, "requester": {"id": "u-1"}});
        let options = EvalOptions::default()
            .with_now(Timestamp::parse("2026-11-22T09:00:00Z"))
            .with_strict(false);
        let d = p.evaluate_with(&input, &options);
        let time = Timestamp::parse("2026-11-22T09:00:00Z").unwrap();
        let r = AuditRecord::decision(&d, Some(&input), &options, &Redaction::KeepAll, time);
        let line = r.to_json_line().unwrap();
        let v: Json = serde_json::from_str(&line).unwrap();
        assert_eq!(
            crate::audit::key_order(&line),
            [
                "record",
                "format",
                "id",
                "time",
                "policy",
                "action_digest",
                "input",
                "redacted",
                "outcome",
                "options",
                "decision"
            ]
        );
        assert_eq!(v["record"], "decision");
        assert_eq!(v["time"], "2026-11-22T09:00:00Z");
        assert_eq!(v["options"]["now"], "2026-11-22T09:00:00Z");
        assert_eq!(v["outcome"], "explicit");
        assert!(r.id().starts_with("dec_") && r.id().len() == 36);
        let back: AuditRecord = serde_json::from_str(&line).unwrap();
        assert_eq!(back, r);
        let AuditRecord::Decision(dr) = back.clone() else {
            panic!("a decision record")
        };
        assert_eq!(dr.decision().unwrap(), d);
        // the line holds the decision as `Decision` writes it, whatever
        // serde_json's features
        assert!(
            line.ends_with(&format!(
                r#","decision":{}}}"#,
                serde_json::to_string(&d).unwrap()
            )),
            "{line}"
        );
        assert_eq!(
            back.to_json_line().unwrap(),
            line,
            "written again, the same bytes"
        );
    }

    /// The ids of 1 000 records of the same action at the same time, in the
    /// order they were made.
    fn thousand_ids() -> Vec<String> {
        let p = policy();
        let input = json!({"action": {"type": "read"}, "requester": {"id": "u-1"}});
        let d = p.evaluate(&input);
        let time = Timestamp::parse("2026-11-22T09:00:00Z").unwrap();
        (0..1000)
            .map(|_| {
                let options = EvalOptions::default();
                AuditRecord::decision(&d, Some(&input), &options, &Redaction::KeepAll, time)
                    .id()
                    .to_owned()
            })
            .collect()
    }

    #[test]
    fn ids_are_unique_even_for_the_same_action_and_time() {
        let mut ids = thousand_ids();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 1000);
    }

    /// Ids are UUIDv7: the version digit is 7 and ids made one after another
    /// sort in the order they were made (the hand-rolled hash ids were in
    /// random order).
    #[test]
    fn ids_are_uuid_v7_and_sort_in_creation_order() {
        let made = thousand_ids();
        for id in &made {
            let hex = id.strip_prefix("dec_").unwrap();
            let parsed = uuid::Uuid::parse_str(hex).unwrap();
            assert_eq!(parsed.get_version_num(), 7, "{id}");
            assert_eq!(parsed.simple().to_string(), hex, "lowercase simple form");
        }
        let mut sorted = made.clone();
        sorted.sort();
        assert_eq!(sorted, made);
    }

    #[test]
    fn redacted_identities_are_redacted_in_the_decision_too() {
        use super::super::redact::{FieldPath, RedactMode};
        let p = policy();
        let input = json!({"action": {"type": "refund"}, "requester": {"id": "u-1"}});
        let d = p.evaluate(&input);
        let time = Timestamp::parse("2026-11-22T09:00:00Z").unwrap();
        for (mode, expect) in [
            (RedactMode::Drop, Json::Null),
            (RedactMode::Hash, json!(action_digest(&json!("u-1")))),
        ] {
            let redaction =
                Redaction::fields(vec![FieldPath::parse("requester.id").unwrap()], mode);
            let AuditRecord::Decision(r) =
                AuditRecord::decision(&d, Some(&input), &EvalOptions::default(), &redaction, time)
            else {
                panic!("a decision record")
            };
            assert_eq!(r.redacted, vec!["$.requester.id"]);
            assert_eq!(r.action_digest, Some(action_digest(&input)));
            assert_eq!(
                r.decision["approvals"]["forbidden_approvers"][0]["identity"],
                expect
            );
            assert!(!serde_json::to_string(&r).unwrap().contains("u-1"));
            assert!(!r.has_full_input());
        }
    }

    #[test]
    fn a_verification_record() {
        let p = policy();
        let input = json!({"action": {"type": "refund"}, "requester": {"id": "u-1"}});
        let d = p.evaluate(&input);
        let digest = d.action_digest.clone().unwrap();
        let r = AuditRecord::verification(
            VerificationEvent {
                policy: &d.policy,
                action_digest: &digest,
                decision_id: Some("dec_1"),
                input: Some(&input),
                approvals: json!([{"approver": "carol"}]),
                verification: json!({"verdict": "execute"}),
            },
            &Redaction::DropInput,
            Timestamp::parse("2026-11-22T10:00:00Z").unwrap(),
        );
        let line = r.to_json_line().unwrap();
        let v: Json = serde_json::from_str(&line).unwrap();
        assert_eq!(
            crate::audit::key_order(&line),
            [
                "record",
                "format",
                "id",
                "time",
                "policy",
                "action_digest",
                "decision_id",
                "input",
                "redacted",
                "approvals",
                "verification"
            ]
        );
        assert_eq!(v["input"], Json::Null);
        assert_eq!(v["redacted"], json!(["$"]));
        assert!(r.id().starts_with("ver_"));
        let back: AuditRecord = serde_json::from_value(v).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn unknown_kinds_and_non_objects_are_errors() {
        assert!(AuditRecord::from_value(json!({"record": "other"})).is_err());
        assert!(AuditRecord::from_value(json!([1])).is_err());
        assert!(AuditRecord::from_value(json!({"id": "x"})).is_err());
    }

    #[test]
    fn exact_numbers_survive_the_round_trip() {
        let p = policy();
        let input: Json = serde_json::from_str(
            r#"{"action": {"type": "read", "n": 1000.0000000000000000001}, "requester": {"id": "u"}}"#,
        )
        .unwrap();
        let d = p.evaluate(&input);
        let r = AuditRecord::decision(
            &d,
            Some(&input),
            &EvalOptions::default(),
            &Redaction::KeepAll,
            Timestamp::parse("2026-11-22T10:00:00Z").unwrap(),
        );
        let back: AuditRecord = serde_json::from_str(&r.to_json_line().unwrap()).unwrap();
        let AuditRecord::Decision(dr) = back else {
            panic!("a decision record")
        };
        assert_eq!(action_digest(&dr.input), action_digest(&input));
        // A record written from a `Value` keeps what the `Value` holds: every
        // digit under `arbitrary_precision`, the `f64` otherwise.
        let keeps_text = crate::eval::decode_json::numbers::serde_json_keeps_number_text();
        let held = if keeps_text {
            "1000.0000000000000000001"
        } else {
            "1000.0"
        };
        assert!(
            serde_json::to_string(&dr.input).unwrap().contains(held),
            "{held}"
        );
    }

    /// The lines of `testdata/records.jsonl`, as the CLI build (serde_json
    /// with `preserve_order` and `arbitrary_precision`) writes them. The
    /// same record is the same bytes in every build: the chain hashes those
    /// bytes, and a log may be written by the CLI and a library user alike.
    fn fixture_lines() -> Vec<String> {
        let p = policy();
        // keys deliberately out of order: a `Value` holds them as built
        // under `preserve_order`, sorted without it
        let input = json!({
            "requester": {"id": "u-1", "team": "ops"},
            "action": {"type": "refund", "amount": 1000.5, "note": "b", "ratio": 0.1},
            "context": {"z": [3, {"y": 1, "x": 2}], "a": null}
        });
        let options = EvalOptions::default()
            .with_now(Timestamp::parse("2026-11-22T09:00:00Z"))
            .with_strict(false);
        let d = p.evaluate_with(&input, &options);
        let time = Timestamp::parse("2026-11-22T09:00:00Z").unwrap();
        let mut decision =
            AuditRecord::decision(&d, Some(&input), &options, &Redaction::KeepAll, time);
        if let AuditRecord::Decision(r) = &mut decision {
            r.id = format!("dec_{}", "0".repeat(32));
        }
        let digest = d.action_digest.clone().unwrap();
        let mut verification = AuditRecord::verification(
            VerificationEvent {
                policy: &d.policy,
                action_digest: &digest,
                decision_id: Some(decision.id()),
                input: Some(&input),
                approvals: json!([{"role": "lead", "approver": "carol"}]),
                verification: json!({"verdict": "execute", "missing": [], "satisfied": true}),
            },
            &Redaction::KeepAll,
            Timestamp::parse("2026-11-22T10:00:00Z").unwrap(),
        );
        if let AuditRecord::Verification(r) = &mut verification {
            r.id = format!("ver_{}", "0".repeat(32));
        }
        let first = crate::audit::chain::ChainLink::after(0, crate::audit::chain::GENESIS_HASH)
            .line(&decision.to_json_line().unwrap())
            .unwrap();
        let second = crate::audit::chain::ChainLink::after(
            1,
            crate::audit::chain::hash_line(first.as_bytes()),
        )
        .line(&verification.to_json_line().unwrap())
        .unwrap();
        vec![first, second]
    }

    #[test]
    fn records_are_the_same_bytes_in_every_build() {
        let expected: Vec<&str> = include_str!("testdata/records.jsonl").lines().collect();
        let written = fixture_lines();
        assert_eq!(written, expected, "written:\n{}", written.join("\n"));
        // and they read back as the records they are
        for line in &written {
            let mut v: Json = serde_json::from_str(line).unwrap();
            let link = crate::audit::chain::ChainLink::take_from(v.as_object_mut().unwrap());
            assert!(matches!(link, Ok(Some(_))), "{line}");
            let record = AuditRecord::from_value(v).unwrap();
            assert!(
                line.ends_with(&record.to_json_line().unwrap()[1..]),
                "{line}"
            );
        }
    }
}

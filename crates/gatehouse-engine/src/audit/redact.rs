//! Redaction: what of an action's input an audit record keeps.
//!
//! Audit records keep the full input by default, so every decision can be
//! replayed. Fields named by dotted paths (`requester.id`, `action.summary`)
//! can be dropped or replaced by the hash of their value, or the whole input
//! left out. The action digest in a record is always of the full input, so a
//! record still binds to exactly the action that was decided.
//!
//! Hashing is pseudonymization, not anonymization: a value from a small set
//! (an amount, a user id from a known directory) can be found again by
//! hashing candidates. Drop what must not be recoverable.

use std::fmt;
use std::str::FromStr;

use serde_json::Value as Json;

use super::digest::action_digest;
use crate::eval::Decision;

/// What happens to a redacted field.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RedactMode {
    /// Remove the field from the recorded input.
    #[default]
    Drop,
    /// Replace its value by `"sha256:<hex>"` of the value's canonical JSON
    /// (RFC 8785), so equal values stay recognizably equal across records.
    Hash,
}

impl RedactMode {
    /// Every mode, by the name `FromStr` reads (`drop`, `hash`).
    pub const NAMES: [&'static str; 2] = ["drop", "hash"];
}

impl FromStr for RedactMode {
    type Err = String;

    fn from_str(s: &str) -> Result<RedactMode, String> {
        match s {
            "drop" => Ok(RedactMode::Drop),
            "hash" => Ok(RedactMode::Hash),
            other => Err(format!(
                "unknown redaction mode `{other}` (expected drop or hash)"
            )),
        }
    }
}

/// A field of the input, as a dotted path of object keys: `requester.id`
/// (written `$.requester.id` in records). Where the path meets an array,
/// the rest of it applies to every element.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldPath {
    keys: Vec<String>,
}

impl FieldPath {
    /// Parses `a.b.c` or `$.a.b.c`. Keys are non-empty and hold no `.`.
    pub fn parse(text: &str) -> Result<FieldPath, String> {
        let trimmed = text.trim();
        let body = trimmed.strip_prefix("$.").unwrap_or(trimmed);
        if body.is_empty() || body == "$" {
            return Err(format!(
                "`{text}` names no field; to leave the whole input out of the record use --no-audit-input"
            ));
        }
        let keys: Vec<String> = body.split('.').map(str::to_owned).collect();
        if keys.iter().any(String::is_empty) {
            return Err(format!(
                "`{text}` has an empty key; write a dotted path like `requester.id`"
            ));
        }
        Ok(FieldPath { keys })
    }

    /// The object keys, outermost first.
    pub fn keys(&self) -> &[String] {
        &self.keys
    }
}

impl FromStr for FieldPath {
    type Err = String;

    fn from_str(s: &str) -> Result<FieldPath, String> {
        FieldPath::parse(s)
    }
}

impl fmt::Display for FieldPath {
    /// `$.a.b`, the spelling of paths in records and input errors.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("$")?;
        for k in &self.keys {
            write!(f, ".{k}")?;
        }
        Ok(())
    }
}

/// What an audit record keeps of the input.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Redaction {
    /// The whole input (the default): every record can be replayed.
    #[default]
    KeepAll,
    /// The input without these fields (dropped or hashed). Values of these
    /// fields that the decision repeats (a `forbidden_approvers` identity
    /// read from `requester.id`, an input error quoting the value) are
    /// redacted in the recorded decision too.
    Fields {
        /// The fields.
        paths: Vec<FieldPath>,
        /// Drop or hash.
        mode: RedactMode,
    },
    /// No input at all (`input: null`, `redacted: ["$"]`). The recorded
    /// decision is kept whole.
    DropInput,
}

/// The input as a record keeps it.
#[derive(Clone, Debug, PartialEq)]
pub struct RedactedInput {
    /// The input with the redactions applied; `null` when dropped.
    pub input: Json,
    /// The paths actually redacted in this input (`$.requester.id`,
    /// `$.items[2].secret`; `$` for the whole input), in the order the
    /// redaction names them. Empty when the input is complete.
    pub redacted: Vec<String>,
}

impl Redaction {
    /// Fields to redact; no paths means nothing is redacted.
    pub fn fields(paths: Vec<FieldPath>, mode: RedactMode) -> Redaction {
        if paths.is_empty() {
            Redaction::KeepAll
        } else {
            Redaction::Fields { paths, mode }
        }
    }

    /// Applies the redaction to an input. A named field the input does not
    /// have is not listed: the recorded input is then complete.
    pub fn apply(&self, input: &Json) -> RedactedInput {
        match self {
            Redaction::KeepAll => RedactedInput {
                input: input.clone(),
                redacted: Vec::new(),
            },
            Redaction::DropInput => RedactedInput {
                input: Json::Null,
                redacted: vec!["$".to_owned()],
            },
            Redaction::Fields { paths, mode } => {
                let mut kept = input.clone();
                let mut redacted = Vec::new();
                for p in paths {
                    let mut here = String::from("$");
                    redact_at(&mut kept, p.keys(), &mut here, *mode, &mut redacted);
                }
                RedactedInput {
                    input: kept,
                    redacted,
                }
            }
        }
    }

    /// The decision as a record keeps it: values of redacted fields that
    /// the decision repeats are redacted the same way. `redacted` is what
    /// [`Redaction::apply`] reported for the decision's input.
    pub fn apply_to_decision(&self, decision: &Decision, redacted: &[String]) -> Decision {
        let Redaction::Fields { mode, .. } = self else {
            return decision.clone();
        };
        let mut out = decision.clone();
        let covered =
            |path: &str| -> bool { redacted.iter().any(|r| path_is_within(path, r.as_str())) };
        if let Some(approvals) = out.approvals.as_mut() {
            for f in &mut approvals.forbidden_approvers {
                if covered(&format!("$.{}", f.attribute)) {
                    f.identity = match mode {
                        RedactMode::Drop => None,
                        RedactMode::Hash => f
                            .identity
                            .as_ref()
                            .map(|id| action_digest(&Json::String(id.clone()))),
                    };
                }
            }
        }
        for e in &mut out.input_errors {
            if covered(&e.path) {
                // messages may quote the value (`unknown value `x``)
                e.message = "[redacted]".to_owned();
            }
        }
        out
    }
}

/// Whether `path` is `prefix` or inside it (`$.a.b` is within `$.a`).
fn path_is_within(path: &str, prefix: &str) -> bool {
    match path.strip_prefix(prefix) {
        Some(rest) => rest.is_empty() || rest.starts_with('.') || rest.starts_with('['),
        None => false,
    }
}

fn redact_at(
    value: &mut Json,
    keys: &[String],
    here: &mut String,
    mode: RedactMode,
    redacted: &mut Vec<String>,
) {
    let Some((first, rest)) = keys.split_first() else {
        return;
    };
    match value {
        Json::Object(map) => {
            let len = here.len();
            here.push('.');
            here.push_str(first);
            if rest.is_empty() {
                let found = match mode {
                    RedactMode::Drop => super::take_key(map, first).is_some(),
                    RedactMode::Hash => match map.get_mut(first.as_str()) {
                        Some(v) => {
                            *v = Json::String(action_digest(v));
                            true
                        }
                        None => false,
                    },
                };
                if found && !redacted.contains(here) {
                    redacted.push(here.clone());
                }
            } else if let Some(child) = map.get_mut(first.as_str()) {
                redact_at(child, rest, here, mode, redacted);
            }
            here.truncate(len);
        }
        Json::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                let len = here.len();
                here.push_str(&format!("[{i}]"));
                redact_at(item, keys, here, mode, redacted);
                here.truncate(len);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(paths: &[&str], mode: RedactMode) -> Redaction {
        Redaction::fields(
            paths.iter().map(|p| FieldPath::parse(p).unwrap()).collect(),
            mode,
        )
    }

    #[test]
    fn paths_parse_with_or_without_the_root() {
        assert_eq!(FieldPath::parse("a.b").unwrap().to_string(), "$.a.b");
        assert_eq!(FieldPath::parse("$.a.b").unwrap().to_string(), "$.a.b");
        assert!(FieldPath::parse("a..b").is_err());
        assert!(FieldPath::parse("").is_err());
        assert!(FieldPath::parse("$").is_err());
        assert!(FieldPath::parse(".a").is_err());
    }

    #[test]
    fn drop_removes_the_field_and_keeps_the_order_of_the_rest() {
        let input = json!({"action": {"type": "send", "summary": "hi", "to": "x"}, "z": 1});
        let r = fields(&["action.summary", "missing.field"], RedactMode::Drop).apply(&input);
        // the order of the `Value` given: as built under serde_json's
        // `preserve_order`, sorted without it
        let in_order = json!({"a": 1, "b": 2})
            .as_object()
            .is_some_and(|o| o.keys().next().is_some_and(|k| k == "a"))
            && json!({"b": 1, "a": 2})
                .as_object()
                .is_some_and(|o| o.keys().next().is_some_and(|k| k == "b"));
        let expected = if in_order {
            r#"{"action":{"type":"send","to":"x"},"z":1}"#
        } else {
            r#"{"action":{"to":"x","type":"send"},"z":1}"#
        };
        assert_eq!(serde_json::to_string(&r.input).unwrap(), expected);
        assert_eq!(r.redacted, vec!["$.action.summary"]);
    }

    #[test]
    fn hash_replaces_the_value_by_the_digest_of_its_canonical_json() {
        let input = json!({"requester": {"id": "u-1", "meta": {"b": 1, "a": 2.0}}});
        let r = fields(&["requester.id", "requester.meta"], RedactMode::Hash).apply(&input);
        assert_eq!(
            r.input["requester"]["id"],
            json!(action_digest(&json!("u-1")))
        );
        assert_eq!(
            r.input["requester"]["meta"],
            json!(action_digest(&json!({"a": 2, "b": 1})))
        );
        assert_eq!(r.redacted, vec!["$.requester.id", "$.requester.meta"]);
    }

    #[test]
    fn arrays_apply_the_rest_of_the_path_to_each_element() {
        let input = json!({"items": [{"secret": 1}, {"other": 2}, {"secret": 3}]});
        let r = fields(&["items.secret"], RedactMode::Drop).apply(&input);
        assert_eq!(r.input, json!({"items": [{}, {"other": 2}, {}]}));
        assert_eq!(r.redacted, vec!["$.items[0].secret", "$.items[2].secret"]);
    }

    #[test]
    fn nothing_redacted_when_the_field_is_absent() {
        let input = json!({"action": "x"});
        let r = fields(&["action.summary"], RedactMode::Hash).apply(&input);
        assert_eq!(r.input, input);
        assert!(r.redacted.is_empty());
        let all = Redaction::DropInput.apply(&input);
        assert_eq!(all.input, Json::Null);
        assert_eq!(all.redacted, vec!["$"]);
    }

    #[test]
    fn paths_within() {
        assert!(path_is_within("$.a.b", "$.a"));
        assert!(path_is_within("$.a", "$.a"));
        assert!(path_is_within("$.a[0]", "$.a"));
        assert!(!path_is_within("$.ab", "$.a"));
        assert!(!path_is_within("$.a", "$.a.b"));
    }
}

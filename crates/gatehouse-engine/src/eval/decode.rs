//! Input document -> slots. Walks the schema tree once; every problem is
//! collected with its JSON path, so one bad input reports all its errors.

use std::borrow::Cow;

use serde_json::Value as Json;

use super::InputError;
use crate::check::{PolicySet, Type};
use crate::compile::{Child, Node};
use crate::limits::MAX_UNKNOWN_FIELD_ERRORS;
use crate::values::{Decimal, Timestamp, parse_duration};

/// The decoded value of one attribute. Borrowed from the input document.
#[derive(Clone, Debug, PartialEq)]
pub enum Slot<'a> {
    /// Absent or null.
    Missing,
    /// bool
    Bool(bool),
    /// number
    Number(Decimal),
    /// string (borrowed from the input unless it had escapes to undo)
    Str(Cow<'a, str>),
    /// enum value index
    Enum(u32),
    /// seconds
    Duration(i64),
    /// instant
    Timestamp(Timestamp),
    /// set of strings
    Strings(Vec<Cow<'a, str>>),
    /// set of enum value indexes
    Enums(Vec<u32>),
}

impl Slot<'_> {
    /// The same value, owning its strings.
    pub fn into_owned(self) -> Slot<'static> {
        match self {
            Slot::Missing => Slot::Missing,
            Slot::Bool(b) => Slot::Bool(b),
            Slot::Number(n) => Slot::Number(n),
            Slot::Str(s) => Slot::Str(Cow::Owned(s.into_owned())),
            Slot::Enum(e) => Slot::Enum(e),
            Slot::Duration(d) => Slot::Duration(d),
            Slot::Timestamp(t) => Slot::Timestamp(t),
            Slot::Strings(items) => Slot::Strings(
                items
                    .into_iter()
                    .map(|s| Cow::Owned(s.into_owned()))
                    .collect(),
            ),
            Slot::Enums(e) => Slot::Enums(e),
        }
    }
}

/// A decoded input: attribute slots and which evidence fields are present.
#[derive(Debug)]
pub struct Decoded<'a> {
    /// By attribute index.
    pub slots: Vec<Slot<'a>>,
    /// By evidence index.
    pub evidence: Vec<bool>,
}

/// The key of the evidence pack in the input document.
pub const EVIDENCE_KEY: &str = "evidence";

/// Decodes an input document. `strict` also rejects fields the schema does
/// not declare.
pub fn decode<'a>(
    set: &PolicySet,
    decoder: &Node,
    input: &'a Json,
    strict: bool,
) -> Result<Decoded<'a>, Vec<InputError>> {
    let mut errors = Vec::new();
    let mut slots = vec![Slot::Missing; set.attributes.len()];
    let mut evidence = vec![false; set.evidence.len()];
    let Json::Object(root) = input else {
        return Err(vec![InputError {
            path: "$".into(),
            message: format!("expected an object, found {}", kind(input)),
        }]);
    };
    let mut path = String::from("$");
    decode_object(
        set,
        decoder,
        Some(root),
        &mut path,
        &mut slots,
        &mut errors,
        strict,
        true,
    );
    match root.get(EVIDENCE_KEY) {
        None | Some(Json::Null) => {}
        Some(Json::Object(pack)) => {
            for (i, e) in set.evidence.iter().enumerate() {
                if let Some(slot) = evidence.get_mut(i) {
                    *slot = pack.get(&e.name).is_some_and(is_present);
                }
            }
            if strict {
                for key in pack.keys() {
                    if !set.evidence.iter().any(|e| e.name == *key) {
                        errors.push(InputError {
                            path: join(&format!("$.{EVIDENCE_KEY}"), key),
                            message: UNKNOWN_EVIDENCE.into(),
                        });
                    }
                }
            }
        }
        Some(other) => errors.push(InputError {
            path: format!("$.{EVIDENCE_KEY}"),
            message: format!(
                "expected an object of evidence fields, found {}",
                kind(other)
            ),
        }),
    }
    if errors.is_empty() {
        Ok(Decoded { slots, evidence })
    } else {
        Err(cap_unknown_fields(errors))
    }
}

/// The message of an undeclared field refused by `--strict`.
const UNKNOWN_FIELD: &str = "unknown field (rejected by --strict)";
/// The message of an undeclared evidence field refused by `--strict`.
const UNKNOWN_EVIDENCE: &str = "unknown evidence field (rejected by --strict)";

/// Keeps every error but the unknown-field ones past the first
/// [`MAX_UNKNOWN_FIELD_ERRORS`], which are counted in one last entry at `$`.
/// Order is kept, so the entries listed are the first in the document.
pub(crate) fn cap_unknown_fields(errors: Vec<InputError>) -> Vec<InputError> {
    let mut unknown = 0usize;
    let mut out = Vec::with_capacity(errors.len().min(MAX_UNKNOWN_FIELD_ERRORS + 64));
    for e in errors {
        if e.message == UNKNOWN_FIELD || e.message == UNKNOWN_EVIDENCE {
            unknown += 1;
            if unknown > MAX_UNKNOWN_FIELD_ERRORS {
                continue;
            }
        }
        out.push(e);
    }
    if let Some(more) = unknown
        .checked_sub(MAX_UNKNOWN_FIELD_ERRORS)
        .filter(|n| *n > 0)
    {
        out.push(InputError {
            path: "$".into(),
            message: format!(
                "{more} more unknown field{} (rejected by --strict; the first {MAX_UNKNOWN_FIELD_ERRORS} are listed)",
                if more == 1 { "" } else { "s" }
            ),
        });
    }
    out
}

/// Evidence counts as present when its value is not null, not `false` (an
/// explicit "no") and not empty (`[]`, `{}`, or blank text: only white
/// space and invisible default-ignorable characters, `identity::is_blank`;
/// `decode_json` applies the same test).
fn is_present(v: &Json) -> bool {
    match v {
        Json::Null => false,
        Json::Bool(b) => *b,
        Json::String(s) => !crate::identity::is_blank(s),
        Json::Array(a) => !a.is_empty(),
        Json::Object(o) => !o.is_empty(),
        Json::Number(_) => true,
    }
}

#[expect(
    clippy::too_many_arguments,
    reason = "one recursive walk threads its accumulators"
)]
fn decode_object<'a>(
    set: &PolicySet,
    node: &Node,
    object: Option<&'a serde_json::Map<String, Json>>,
    path: &mut String,
    slots: &mut [Slot<'a>],
    errors: &mut Vec<InputError>,
    strict: bool,
    root: bool,
) {
    for (key, child) in &node.fields {
        let value = object.and_then(|o| o.get(key)).filter(|v| !v.is_null());
        let len = path.len();
        push_key(path, key);
        match child {
            Child::Attribute(slot) => {
                let Some(attr) = set.attributes.get(*slot) else {
                    continue;
                };
                match value {
                    None if attr.optional => {}
                    None => errors.push(InputError {
                        path: path.clone(),
                        message: format!(
                            "missing required attribute `{}` ({})",
                            attr.path,
                            attr.ty.describe()
                        ),
                    }),
                    Some(v) => match decode_value(&attr.ty, v) {
                        Ok(s) => {
                            if let Some(target) = slots.get_mut(*slot) {
                                *target = s;
                            }
                        }
                        Err(message) => errors.push(InputError {
                            path: path.clone(),
                            message,
                        }),
                    },
                }
            }
            Child::Object(inner) => match value {
                None => decode_object(set, inner, None, path, slots, errors, strict, false),
                Some(Json::Object(o)) => {
                    decode_object(set, inner, Some(o), path, slots, errors, strict, false)
                }
                Some(other) => errors.push(InputError {
                    path: path.clone(),
                    message: format!("expected an object, found {}", kind(other)),
                }),
            },
        }
        path.truncate(len);
    }
    if strict && let Some(o) = object {
        for key in o.keys() {
            let known = node.fields.iter().any(|(k, _)| k == key) || (root && key == EVIDENCE_KEY);
            if !known {
                errors.push(InputError {
                    path: join(path, key),
                    message: UNKNOWN_FIELD.into(),
                });
            }
        }
    }
}

/// Decodes one attribute's JSON value as its declared type.
pub fn decode_value<'a>(ty: &Type, v: &'a Json) -> Result<Slot<'a>, String> {
    let wrong = |expected: &str| format!("expected {expected}, found {}", kind(v));
    match ty {
        Type::Bool => v.as_bool().map(Slot::Bool).ok_or_else(|| wrong("a bool")),
        Type::Number => match v {
            Json::Number(n) => Decimal::parse(&n.to_string())
                .map(Slot::Number)
                .map_err(|e| format!("{e}: {n}")),
            _ => Err(wrong("a number")),
        },
        Type::String => v
            .as_str()
            .map(|s| Slot::Str(Cow::Borrowed(s)))
            .ok_or_else(|| wrong("a string")),
        Type::Duration => match v {
            Json::String(s) => parse_duration(s)
                .map(Slot::Duration)
                .ok_or_else(|| format!("`{s}` is not a duration like `30m`, `24h` or `7d`")),
            Json::Number(n) => match n.as_i64() {
                Some(secs) if secs >= 0 => Ok(Slot::Duration(secs)),
                _ => Err(format!(
                    "a duration in seconds must be a whole number from 0 to {}, found {n}",
                    i64::MAX
                )),
            },
            _ => Err(wrong("a duration (\"24h\" or seconds)")),
        },
        Type::Timestamp => match v {
            Json::String(s) => Timestamp::parse(s).map(Slot::Timestamp).ok_or_else(|| {
                format!("`{s}` is not an RFC 3339 timestamp like 2026-11-22T18:00:00Z")
            }),
            _ => Err(wrong("an RFC 3339 timestamp string")),
        },
        Type::Enum(values) => match v {
            Json::String(s) => values
                .iter()
                .position(|x| x == s)
                .map(|i| Slot::Enum(i as u32))
                .ok_or_else(|| {
                    format!("unknown value `{s}`; expected one of {}", values.join(", "))
                }),
            _ => Err(wrong(&format!("one of {}", values.join(", ")))),
        },
        Type::Set(element) => {
            let Json::Array(items) = v else {
                return Err(wrong("an array"));
            };
            match element.as_ref() {
                Type::Enum(values) => {
                    let mut out = Vec::with_capacity(items.len());
                    for (i, item) in items.iter().enumerate() {
                        let s = item.as_str().ok_or_else(|| {
                            format!("item {i}: expected a string, found {}", kind(item))
                        })?;
                        let idx = values.iter().position(|x| x == s).ok_or_else(|| {
                            format!(
                                "item {i}: unknown value `{s}`; expected one of {}",
                                values.join(", ")
                            )
                        })?;
                        out.push(idx as u32);
                    }
                    Ok(Slot::Enums(out))
                }
                _ => {
                    let mut out = Vec::with_capacity(items.len());
                    for (i, item) in items.iter().enumerate() {
                        out.push(Cow::Borrowed(item.as_str().ok_or_else(|| {
                            format!("item {i}: expected a string, found {}", kind(item))
                        })?));
                    }
                    Ok(Slot::Strings(out))
                }
            }
        }
    }
}

fn kind(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "a bool",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

fn is_plain_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && !key.starts_with(|c: char| c.is_ascii_digit())
}

pub(crate) fn push_key(path: &mut String, key: &str) {
    if is_plain_key(key) {
        path.push('.');
        path.push_str(key);
    } else {
        path.push_str(&format!("[{}]", serde_json::Value::String(key.to_owned())));
    }
}

fn join(path: &str, key: &str) -> String {
    let mut p = path.to_owned();
    push_key(&mut p, key);
    p
}

#[cfg(test)]
mod cap_tests {
    use super::*;

    fn unknown(i: usize) -> InputError {
        InputError {
            path: format!("$.x{i}"),
            message: UNKNOWN_FIELD.into(),
        }
    }

    #[test]
    fn lists_the_first_unknown_fields_and_counts_the_rest() {
        let other = InputError {
            path: "$.action.amount".into(),
            message: "expected a number, found a string".into(),
        };
        let mut errors: Vec<InputError> = (0..100_000).map(unknown).collect();
        errors.insert(30, other.clone());
        let capped = cap_unknown_fields(errors);
        assert_eq!(capped.len(), MAX_UNKNOWN_FIELD_ERRORS + 2);
        assert_eq!(capped.first().map(|e| e.path.as_str()), Some("$.x0"));
        assert!(capped.contains(&other));
        let last = capped.last().unwrap();
        assert_eq!(last.path, "$");
        assert!(
            last.message.starts_with("99980 more unknown fields"),
            "{last}"
        );
        // At the cap or below, nothing changes.
        let few: Vec<InputError> = (0..MAX_UNKNOWN_FIELD_ERRORS).map(unknown).collect();
        assert_eq!(cap_unknown_fields(few.clone()), few);
    }
}

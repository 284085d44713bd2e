//! JSON text -> value, refusing duplicate keys and excess depth.
//!
//! serde_json keeps the last of two equal keys and stops at 128 levels with
//! a bare "recursion limit exceeded", so a structural scan runs first: one
//! pass over the bytes that tracks the JSON path, compares keys after
//! unescaping (`"a"` and `"\u0061"` are the same key), and stops at
//! [`MAX_INPUT_DEPTH`]. The scan never fails on malformed text; serde_json
//! reports that.

use std::collections::HashSet;

use super::error_at;
use crate::eval::InputError;
use crate::eval::decode::push_key;
use crate::limits::MAX_INPUT_DEPTH;

/// Most duplicate-key errors reported for one document.
const MAX_REPORTED: usize = 100;

pub(super) fn parse(text: &str) -> Result<serde_json::Value, Vec<InputError>> {
    let structure = check_structure(text.as_bytes());
    let parsed = serde_json::from_str::<serde_json::Value>(text);
    match (structure, parsed) {
        (Err(errors), _) if errors.iter().any(|e| e.message.contains("levels deep")) => Err(errors),
        (_, Err(e)) => Err(vec![error_at("$", format!("malformed JSON: {e}"))]),
        (Err(errors), Ok(_)) => Err(errors),
        (Ok(()), Ok(value)) => Ok(value),
    }
}

/// An open object or array, and the length of the path up to it.
enum Frame {
    Object { keys: HashSet<String>, base: usize },
    Array { index: usize, base: usize },
}

pub(super) fn check_structure(text: &[u8]) -> Result<(), Vec<InputError>> {
    let mut errors = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut path = String::from("$");
    // In an object: whether the next string is a key.
    let mut expect_key = false;
    let mut i = 0;
    while let Some(&b) = text.get(i) {
        match b {
            b'"' => {
                let start = i;
                i += 1;
                while let Some(&c) = text.get(i) {
                    match c {
                        b'\\' => i += 2,
                        b'"' => break,
                        _ => i += 1,
                    }
                }
                if let (true, Some(Frame::Object { keys, base })) = (expect_key, stack.last_mut()) {
                    let raw = text.get(start..=i).unwrap_or_default();
                    let key = unescape(raw);
                    path.truncate(*base);
                    push_key(&mut path, &key);
                    if !keys.insert(key.clone()) && errors.len() < MAX_REPORTED {
                        errors.push(error_at(
                            path.clone(),
                            format!("duplicate key `{key}`: each key may appear once per object"),
                        ));
                    }
                    expect_key = false;
                }
            }
            b'{' | b'[' => {
                if let Some(Frame::Array { index, base }) = stack.last() {
                    path.truncate(*base);
                    path.push_str(&format!("[{index}]"));
                }
                if stack.len() >= MAX_INPUT_DEPTH {
                    errors.push(error_at(
                        path,
                        format!(
                            "nested more than {MAX_INPUT_DEPTH} levels deep (objects and arrays)"
                        ),
                    ));
                    return Err(errors);
                }
                let base = path.len();
                if b == b'{' {
                    stack.push(Frame::Object {
                        keys: HashSet::new(),
                        base,
                    });
                    expect_key = true;
                } else {
                    stack.push(Frame::Array { index: 0, base });
                }
            }
            b'}' | b']' => {
                if let Some(Frame::Object { base, .. } | Frame::Array { base, .. }) = stack.pop() {
                    path.truncate(base);
                }
                expect_key = false;
            }
            b',' => match stack.last_mut() {
                Some(Frame::Object { .. }) => expect_key = true,
                Some(Frame::Array { index, .. }) => *index += 1,
                None => {}
            },
            _ => {}
        }
        i += 1;
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// The key a quoted JSON string stands for; the raw text when it is not a
/// valid string (serde_json then reports the document as malformed).
fn unescape(quoted: &[u8]) -> String {
    let raw = String::from_utf8_lossy(quoted);
    if !raw.contains('\\') {
        return raw
            .strip_prefix('"')
            .and_then(|r| r.strip_suffix('"'))
            .unwrap_or(&raw)
            .to_owned();
    }
    serde_json::from_str::<String>(&raw).unwrap_or_else(|_| raw.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(text: &str) -> Vec<String> {
        match parse(text) {
            Ok(_) => Vec::new(),
            Err(e) => e.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn accepts_ordinary_documents() {
        assert!(errors(r#"{"a": {"b": [1, {"c": "x,}{"}], "d": null}, "e": "\"}"}"#).is_empty());
        assert!(errors(r#"[{"a": 1}, {"a": 2}]"#).is_empty());
        assert!(errors(r#"{"a": {"x": 1}, "b": {"x": 1}}"#).is_empty());
    }

    #[test]
    fn refuses_duplicate_keys_at_their_paths() {
        assert_eq!(
            errors(r#"{"action": {"amount": 5, "type": "x", "amount": 50000}}"#),
            ["$.action.amount: duplicate key `amount`: each key may appear once per object"]
        );
        // Equal after unescaping.
        assert_eq!(errors(r#"{"a": 1, "\u0061": 2}"#).len(), 1);
        // Inside arrays, with the index in the path; keys with odd characters quoted.
        assert_eq!(
            errors(r#"{"l": [{}, {"odd key": 1, "odd key": 2}]}"#),
            [r#"$.l[1]["odd key"]: duplicate key `odd key`: each key may appear once per object"#]
        );
        // Every duplicate is reported.
        assert_eq!(errors(r#"{"a": 1, "a": 2, "b": 1, "b": 2}"#).len(), 2);
    }

    #[test]
    fn refuses_excess_depth_before_serde_json_gives_up() {
        let deep = format!("{}1{}", r#"{"a":"#.repeat(100), "}".repeat(100));
        let e = errors(&deep);
        assert_eq!(e.len(), 1);
        assert!(e[0].contains("nested more than 64 levels deep"), "{e:?}");
        assert!(e[0].starts_with("$.a.a.a"), "{e:?}");
        let arrays = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(errors(&arrays)[0].starts_with("$[0][0]"));
        let ok = format!(
            "{}1{}",
            "[".repeat(MAX_INPUT_DEPTH),
            "]".repeat(MAX_INPUT_DEPTH)
        );
        assert!(errors(&ok).is_empty());
    }

    #[test]
    fn malformed_text_is_reported_by_the_parser() {
        for text in [
            "{",
            r#"{"a": NaN}"#,
            r#"{"a": Infinity}"#,
            r#"{"a": 1,}"#,
            "\"\\",
            "{\"a",
        ] {
            let e = errors(text);
            assert_eq!(e.len(), 1, "{text}: {e:?}");
            assert!(e[0].starts_with("$: malformed JSON"), "{text}: {e:?}");
        }
    }
}

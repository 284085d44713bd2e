//! Reading action documents: JSON or YAML text -> a JSON value, refusing
//! what the engine must not guess about. Every refusal is an [`InputError`]
//! with the JSON path of the problem, which callers turn into `block` with
//! `INVALID_INPUT`:
//!
//! - text over [`MAX_INPUT_BYTES`], or nested deeper than
//!   [`MAX_INPUT_DEPTH`];
//! - malformed JSON or YAML, including `NaN` and `Infinity`;
//! - a key given twice in one object (serde_json would keep the last one
//!   silently, so the policy and a reviewer could read different values);
//! - in YAML: `.nan`/`.inf`, non-string keys and tagged values, which have
//!   no JSON equivalent.
//!
//! - text that starts with more than one byte order mark;
//! - in YAML: a number the parser would read as a different double
//!   (`-1e-400`), and nesting past the limit, both found by a linear
//!   pre-scan before the YAML parser runs.
//!
//! A single leading byte order mark is skipped. [`read_file_limited`]
//! reads a file for any of these without blocking or reading past a limit.

mod file;
mod json;
mod yaml;
mod yaml_depth;
mod yaml_number;

use std::path::Path;

use crate::eval::InputError;
pub use crate::limits::{MAX_INPUT_BYTES, MAX_INPUT_DEPTH};
pub use file::{ReadError, read_file_limited};
pub use yaml_depth::check_yaml_nesting;

/// Which syntax a document is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Syntax {
    /// JSON.
    Json,
    /// YAML.
    Yaml,
    /// Decide from the text: JSON when it starts with `{` or `[`.
    Detect,
}

impl Syntax {
    /// From a file name: `.yaml`/`.yml` is YAML, `.json` JSON, else detect
    /// (JSON when the text starts with `{` or `[`). An explicit choice
    /// (`gatehouse eval --input-format`) overrides this.
    pub fn of_path(path: &Path) -> Syntax {
        match path.extension().and_then(|e| e.to_str()) {
            Some("yaml" | "yml") => Syntax::Yaml,
            Some("json") => Syntax::Json,
            _ => Syntax::Detect,
        }
    }

    /// The value of an `--input-format` flag: `json` or `yaml`.
    pub fn from_flag(name: &str) -> Result<Syntax, String> {
        match name {
            "json" => Ok(Syntax::Json),
            "yaml" | "yml" => Ok(Syntax::Yaml),
            other => Err(format!(
                "`{other}` is not an input format: use `json` or `yaml`"
            )),
        }
    }
}

/// Parses a document. Malformed text is one error at `$` with the line and
/// column the parser stopped at; duplicate keys and excess depth are
/// reported at their own paths (all duplicates, up to a hundred).
pub fn parse(text: &str, syntax: Syntax) -> Result<serde_json::Value, Vec<InputError>> {
    if text.len() > MAX_INPUT_BYTES {
        return Err(vec![InputError {
            path: "$".into(),
            message: format!(
                "input is {} bytes; the limit is {MAX_INPUT_BYTES}",
                text.len()
            ),
        }]);
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.starts_with('\u{feff}') {
        // One BOM is an encoding mark; a second is content. Skipping it
        // too, or letting detection read `\u{feff}{...}` as YAML (whose
        // reading of JSON-looking text differs), would guess.
        return Err(vec![error_at(
            "$",
            "text starts with more than one byte order mark (U+FEFF)",
        )]);
    }
    let syntax = match syntax {
        Syntax::Detect if text.trim_start().starts_with(['{', '[']) => Syntax::Json,
        Syntax::Detect => Syntax::Yaml,
        s => s,
    };
    match syntax {
        Syntax::Yaml => yaml::parse(text),
        _ => json::parse(text),
    }
}

/// Parses the bytes of a document that should be UTF-8 text: invalid
/// UTF-8 is an input error naming the byte offset.
pub fn parse_bytes(bytes: &[u8], syntax: Syntax) -> Result<serde_json::Value, Vec<InputError>> {
    match std::str::from_utf8(bytes) {
        Ok(text) => parse(text, syntax),
        Err(e) => Err(vec![InputError {
            path: "$".into(),
            message: format!("not valid UTF-8 (at byte {})", e.valid_up_to()),
        }]),
    }
}

/// Checks JSON text for what serde_json accepts but the engine refuses:
/// duplicate keys and nesting deeper than [`MAX_INPUT_DEPTH`]. For readers
/// (such as `gatehouse diff`'s corpus) that parse the text themselves.
pub fn check_json_structure(text: &[u8]) -> Result<(), Vec<InputError>> {
    json::check_structure(text)
}

/// Refuses a value nested deeper than [`MAX_INPUT_DEPTH`]: the readers
/// never produce one, but a value built in code can be, and the engine
/// must not recurse through it. Stops looking at the limit, so its own
/// recursion is bounded.
pub fn check_value_depth(value: &serde_json::Value) -> Result<(), InputError> {
    fn walk(v: &serde_json::Value, depth: usize) -> bool {
        match v {
            serde_json::Value::Array(items) => {
                depth < MAX_INPUT_DEPTH && items.iter().all(|c| walk(c, depth + 1))
            }
            serde_json::Value::Object(map) => {
                depth < MAX_INPUT_DEPTH && map.values().all(|c| walk(c, depth + 1))
            }
            _ => true,
        }
    }
    if walk(value, 0) {
        Ok(())
    } else {
        Err(error_at(
            "$",
            format!("nested more than {MAX_INPUT_DEPTH} levels deep (objects and arrays)"),
        ))
    }
}

/// Every error on one line, `path: message; path: message`, for messages
/// that are not a decision (a suite file, `verify`'s files, a corpus line).
pub fn describe(errors: &[InputError]) -> String {
    let parts: Vec<String> = errors.iter().map(ToString::to_string).collect();
    parts.join("; ")
}

fn error_at(path: impl Into<String>, message: impl Into<String>) -> InputError {
    InputError {
        path: path.into(),
        message: message.into(),
    }
}

//! Reading action documents: JSON or YAML, from a file or stdin.

use std::path::Path;

use crate::eval::InputError;

/// Largest input document read, in bytes.
pub const MAX_INPUT_BYTES: usize = 16 * 1024 * 1024;

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
    /// From a file name: `.yaml`/`.yml` is YAML, `.json` JSON, else detect.
    pub fn of_path(path: &Path) -> Syntax {
        match path.extension().and_then(|e| e.to_str()) {
            Some("yaml" | "yml") => Syntax::Yaml,
            Some("json") => Syntax::Json,
            _ => Syntax::Detect,
        }
    }
}

/// Parses a document. A failure is reported as an input error at `$`, with
/// the line and column the parser stopped at.
pub fn parse(text: &str, syntax: Syntax) -> Result<serde_json::Value, InputError> {
    if text.len() > MAX_INPUT_BYTES {
        return Err(InputError {
            path: "$".into(),
            message: format!(
                "input is {} bytes; the limit is {MAX_INPUT_BYTES}",
                text.len()
            ),
        });
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let syntax = match syntax {
        Syntax::Detect if text.trim_start().starts_with(['{', '[']) => Syntax::Json,
        Syntax::Detect => Syntax::Yaml,
        s => s,
    };
    match syntax {
        Syntax::Yaml => serde_yaml::from_str(text).map_err(|e| InputError {
            path: "$".into(),
            message: format!("malformed YAML: {e}"),
        }),
        _ => serde_json::from_str(text).map_err(|e| InputError {
            path: "$".into(),
            message: format!("malformed JSON: {e}"),
        }),
    }
}

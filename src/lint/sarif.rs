//! SARIF 2.1.0 output, for GitHub code scanning and other SARIF readers.
//!
//! One log with one run. `tool.driver` names gatehouse and its version and
//! lists every diagnostic code as a rule (id, name, short and full
//! description, help as text and Markdown from the [`registry`], default
//! level), so a reader can show the documentation next to a finding. Each
//! diagnostic is a result: its rule, its level (as configured), its message
//! (with the help line), its primary label as the location (a path relative
//! to the current directory, and a region with start and end line and
//! column, columns counted in Unicode code points), its other labels and
//! related places as related locations, and the counterexample input of a
//! lint, when there is one, as `properties.example`.

use std::path::Path;

use serde_json::{Value, json};

use crate::diagnostic::{Code, Diagnostic, Label, Severity};
use crate::lint::registry;
use crate::source::SourceFile;

/// The schema URI written into the log.
pub const SCHEMA_URI: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// A SARIF log of the given diagnostics. File names are made relative to
/// `base` (normally the current directory) where they lie inside it.
pub fn log<'a>(diagnostics: impl IntoIterator<Item = &'a Diagnostic>, base: &Path) -> Value {
    let results: Vec<Value> = diagnostics.into_iter().map(|d| result(d, base)).collect();
    json!({
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "gatehouse",
                    "version": env!("CARGO_PKG_VERSION"),
                    "semanticVersion": env!("CARGO_PKG_VERSION"),
                    "rules": Code::ALL.iter().map(|c| rule(*c)).collect::<Vec<_>>(),
                }
            },
            "invocations": [{ "executionSuccessful": true }],
            "columnKind": "unicodeCodePoints",
            "results": results,
        }]
    })
}

/// `error` / `warning`, as SARIF levels.
fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

/// A reportingDescriptor for one code.
fn rule(code: Code) -> Value {
    let kind = if code.as_str().starts_with('L') {
        "lint"
    } else {
        "check"
    };
    let (full, help_text, help_markdown) = match registry::doc(code) {
        Some(doc) => (
            doc.what_it_does.replace('\n', " ").replace("  ", " "),
            doc.text(),
            doc.markdown(),
        ),
        None => {
            let pointer = format!(
                "documented with an example in docs/language.md, section \"{} {}\"",
                code.as_str(),
                code.name()
            );
            (
                format!("{}.", capitalized(code.summary())),
                format!("{}: {pointer}.", code.summary()),
                format!(
                    "# {} {}\n\n{}.\n\nThis is {pointer}.\n",
                    code.as_str(),
                    code.name(),
                    capitalized(code.summary())
                ),
            )
        }
    };
    json!({
        "id": code.as_str(),
        "name": code.name(),
        "shortDescription": { "text": code.summary() },
        "fullDescription": { "text": full },
        "help": { "text": help_text, "markdown": help_markdown },
        "defaultConfiguration": { "level": level(code.severity()) },
        "properties": { "tags": ["gatehouse", kind] },
    })
}

fn capitalized(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn result(d: &Diagnostic, base: &Path) -> Value {
    let rule_index = Code::ALL.iter().position(|c| *c == d.code);
    let mut text = d.message.clone();
    if !d.help.is_empty() {
        text.push_str("\nhelp: ");
        text.push_str(&d.help);
    }
    let mut out = json!({
        "ruleId": d.code.as_str(),
        "level": level(d.severity()),
        "message": { "text": text },
    });
    if let (Some(index), Some(obj)) = (rule_index, out.as_object_mut()) {
        obj.insert("ruleIndex".into(), json!(index));
    }
    let primary = d
        .file
        .as_ref()
        .zip(d.labels.first())
        .map(|(f, l)| location(f, l, base));
    let mut related = Vec::new();
    if let Some(file) = &d.file {
        for l in d.labels.iter().skip(1) {
            related.push(location(file, l, base));
        }
    }
    for r in &d.related {
        if let (Some(file), Some(l)) = (&r.file, r.labels.first()) {
            related.push(location(file, l, base));
        }
    }
    for (id, r) in related.iter_mut().enumerate() {
        if let Some(obj) = r.as_object_mut() {
            obj.insert("id".into(), json!(id));
        }
    }
    if let Some(obj) = out.as_object_mut() {
        if let Some(p) = primary {
            obj.insert("locations".into(), json!([p]));
        }
        if !related.is_empty() {
            obj.insert("relatedLocations".into(), Value::Array(related));
        }
        if let Some(example) = &d.example {
            obj.insert("properties".into(), json!({ "example": example }));
        }
    }
    out
}

fn location(file: &SourceFile, label: &Label, base: &Path) -> Value {
    let (start_line, start_column) = file.line_col(label.span.start);
    let (end_line, end_column) = file.line_col(label.span.end.max(label.span.start));
    let mut region = json!({
        "startLine": start_line,
        "startColumn": start_column,
        "endLine": end_line,
        "endColumn": end_column,
    });
    if let (Some(snippet), Some(obj)) = (
        file.text.get(label.span.start..label.span.end),
        region.as_object_mut(),
    ) {
        obj.insert("snippet".into(), json!({ "text": snippet }));
    }
    let mut loc = json!({
        "physicalLocation": {
            "artifactLocation": { "uri": uri(&file.name, base) },
            "region": region,
        }
    });
    if !label.text.is_empty()
        && let Some(obj) = loc.as_object_mut()
    {
        obj.insert("message".into(), json!({ "text": label.text }));
    }
    loc
}

/// A file name as a URI reference: relative (with `/`) when it lies under
/// `base` or is relative already, else a `file://` URI. Characters outside
/// the URI path alphabet are percent-encoded.
pub fn uri(name: &str, base: &Path) -> String {
    let path = Path::new(name);
    if path.is_absolute() {
        let relative = base
            .canonicalize()
            .ok()
            .and_then(|b| path.strip_prefix(b).ok().map(Path::to_path_buf))
            .or_else(|| path.strip_prefix(base).ok().map(Path::to_path_buf));
        return match relative {
            Some(r) => encode(&r.to_string_lossy().replace('\\', "/")),
            None => format!("file://{}", encode(&name.replace('\\', "/"))),
        };
    }
    let forward = name.replace('\\', "/");
    encode(forward.strip_prefix("./").unwrap_or(&forward))
}

fn encode(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        let c = char::from(b);
        if c.is_ascii_alphanumeric() || "-._~/!$&'()*+,;=:@".contains(c) {
            out.push(c);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_relative_and_encoded() {
        let base = Path::new("/work/repo");
        assert_eq!(
            uri("policies/a b/main.gate", base),
            "policies/a%20b/main.gate"
        );
        assert_eq!(uri("./x/é.gate", base), "x/%C3%A9.gate");
        assert_eq!(uri("/work/repo/p/x.gate", base), "p/x.gate");
        assert_eq!(
            uri("/elsewhere/x#1.gate", base),
            "file:///elsewhere/x%231.gate"
        );
    }
}

//! SARIF 2.1.0 output, for GitHub code scanning and other SARIF readers.
//!
//! One log with one run. `tool.driver` names gatehouse, its version and its
//! documentation (`informationUri`), and lists every diagnostic code as a
//! rule (id, name, descriptions, help as text and Markdown from the
//! [`registry`], `helpUri`, default level). Each diagnostic is a result.
//!
//! Invariants, each one a reason GitHub rejects a whole upload or a reader
//! misplaces a finding (tests/lint.rs and scripts/consumers.sh check them):
//! - every result has exactly one location with an artifact URI and a
//!   region: a diagnostic without a place in a file (a missing path, a
//!   directory without policies, an unreadable file) points at the path it
//!   is about, line 1;
//! - artifact URIs are relative to the repository root (the git work tree
//!   holding the first checked path, else the current directory), named by
//!   `uriBaseId` `%SRCROOT%` which `originalUriBaseIds` defines as an
//!   absolute `file:` URI; `.` and `..` are resolved first, and every byte
//!   outside the URI "unreserved" set is percent-encoded (a `:` in a first
//!   segment would otherwise read as a scheme); paths outside the root are
//!   absolute `file:` URIs;
//! - every result has `partialFingerprints` that do not depend on line
//!   numbers, so a finding keeps its identity when code above it moves;
//! - findings silenced by a suppression comment or by `gatehouse.toml` are
//!   results with `suppressions`, not dropped.
//!
//! The log is built from `#[derive(Serialize)]` structs (field order fixed,
//! independent of serde_json's map features). Only the part of SARIF that
//! gatehouse writes is modelled, which is why no SARIF object-model crate is
//! used: serde-sarif's builders cover all of SARIF for ~40 more types.

use std::path::{Component, Path, PathBuf};

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::diagnostic::{Code, Diagnostic, Label, Severity};
use crate::lint::registry;
use crate::source::SourceFile;

/// The schema URI written into the log.
pub const SCHEMA_URI: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// Where the documentation book is published; `informationUri`, and every
/// rule's `helpUri` is [`help_uri`] under it. The one place to change when
/// the book moves.
pub const BOOK_URL: &str = "https://gatehouse.dev/book/";

/// The `uriBaseId` every artifact URI inside the repository is relative to.
pub const SRCROOT: &str = "%SRCROOT%";

/// The key of gatehouse's own entry in `partialFingerprints`; the suffix is
/// bumped if what the fingerprint hashes ever changes.
pub const FINGERPRINT_KEY: &str = "gatehouse/v1";

/// The documentation page of one code in the book: an `E` code's own section
/// of the language chapter (`language.html#e0201-unknown-attribute`; E0006,
/// a configuration error, is documented with the lints), and the lints'
/// table for `L` and `W` codes. `tests/sarif.rs` checks that every anchor is
/// a heading of the book's source.
pub fn help_uri(code: Code) -> String {
    let anchor = format!("{}-{}", code.as_str().to_ascii_lowercase(), code.name());
    match code.as_str().as_bytes().first() {
        Some(b'E') if code == Code::InvalidConfig => format!("{BOOK_URL}lints.html#{anchor}"),
        Some(b'E') => format!("{BOOK_URL}language.html#{anchor}"),
        _ => format!("{BOOK_URL}lints.html#codes"),
    }
}

/// One diagnostic to report, with what SARIF needs beyond it.
#[derive(Clone, Copy, Debug)]
pub struct Finding<'a> {
    /// The diagnostic.
    pub diagnostic: &'a Diagnostic,
    /// The path the diagnostic is about, used as its location when it has
    /// no place in a file (a missing path, an empty directory).
    pub path: Option<&'a Path>,
    /// Set when the finding was silenced: it is then reported with
    /// `suppressions` and does not count.
    pub suppression: Option<&'a Suppression>,
}

impl<'a> Finding<'a> {
    /// A finding that is not suppressed.
    pub fn new(diagnostic: &'a Diagnostic, path: Option<&'a Path>) -> Finding<'a> {
        Finding {
            diagnostic,
            path,
            suppression: None,
        }
    }
}

/// How a finding was silenced, as SARIF names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Suppression {
    /// By a comment next to the finding, with the reason it gives.
    InSource {
        /// The comment's reason.
        reason: String,
    },
    /// By configuration outside the source (`"off"` in a gatehouse.toml).
    External {
        /// Which file turned it off.
        justification: String,
    },
}

/// A problem with the tool's configuration (an invalid gatehouse.toml):
/// reported as a `toolConfigurationNotifications` entry of an unsuccessful
/// invocation, so the log stays valid and says why nothing was checked.
#[derive(Clone, Copy, Debug)]
pub struct ConfigProblem<'a> {
    /// The configuration file.
    pub path: &'a Path,
    /// What is wrong with it.
    pub message: &'a str,
}

/// Where the log's relative URIs start and how paths are resolved.
#[derive(Clone, Debug)]
pub struct Base {
    /// The repository root, absolute and normalized.
    pub root: PathBuf,
    /// The directory relative paths are taken from.
    pub cwd: PathBuf,
}

impl Base {
    /// The root for `paths` given relative to `cwd`: the git work tree (a
    /// directory holding `.git`) containing the first path, else `cwd`.
    pub fn discover(paths: &[PathBuf], cwd: &Path) -> Base {
        let cwd = normalize(cwd);
        let root = paths
            .first()
            .map(|p| normalize(&cwd.join(p)))
            .and_then(|p| {
                p.ancestors()
                    .find(|dir| dir.join(".git").exists())
                    .map(Path::to_path_buf)
            })
            .unwrap_or_else(|| cwd.clone());
        Base { root, cwd }
    }

    /// `name` as an artifact location: relative to the root with
    /// `uriBaseId`, or an absolute `file:` URI when outside it.
    fn artifact(&self, name: &str) -> ArtifactLocation {
        let absolute = normalize(&self.cwd.join(name));
        let relative = absolute
            .strip_prefix(&self.root)
            .ok()
            .map(Path::to_path_buf)
            .or_else(|| {
                // The root or the path may be reached through a symlink.
                let real = std::fs::canonicalize(&self.root).ok()?;
                let path = std::fs::canonicalize(&absolute).ok()?;
                path.strip_prefix(real).ok().map(Path::to_path_buf)
            });
        let directory = absolute.is_dir();
        match relative {
            Some(r) => {
                let mut uri = encode_path(&r);
                if uri.is_empty() {
                    uri.push('.');
                }
                if directory {
                    uri.push('/');
                }
                ArtifactLocation {
                    uri,
                    uri_base_id: Some(SRCROOT),
                }
            }
            None => ArtifactLocation {
                uri: file_uri(&absolute, directory),
                uri_base_id: None,
            },
        }
    }
}

/// `.` and `..` resolved without touching the file system: a `..` above
/// the root stays at the root; leading `..`s of a relative path are kept.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => match out.components().next_back() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                Some(Component::RootDir | Component::Prefix(_)) => {}
                Some(Component::ParentDir | Component::CurDir) | None => out.push(c),
            },
            other => out.push(other),
        }
    }
    out
}

/// Bytes kept as they are in a path segment: RFC 3986 "unreserved". Every
/// other byte, `:` `#` `?` `%` `@` and spaces included, is encoded.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A relative path as a URI path: segments percent-encoded, joined by `/`.
fn encode_path(path: &Path) -> String {
    let mut segments = Vec::new();
    for c in path.components() {
        if let Component::Normal(s) = c {
            segments.push(encode_segment(s));
        }
    }
    segments.join("/")
}

#[cfg(unix)]
fn encode_segment(s: &std::ffi::OsStr) -> String {
    use std::os::unix::ffi::OsStrExt;
    percent_encoding::percent_encode(s.as_bytes(), SEGMENT).to_string()
}

#[cfg(not(unix))]
fn encode_segment(s: &std::ffi::OsStr) -> String {
    percent_encoding::utf8_percent_encode(&s.to_string_lossy(), SEGMENT).to_string()
}

/// An absolute path as a `file:` URI (`file:///a/b`, with a final `/` for a
/// directory).
fn file_uri(absolute: &Path, directory: bool) -> String {
    let mut uri = String::from("file://");
    for c in absolute.components() {
        match c {
            // A Windows drive (`C:`) keeps its colon, as in `file:///C:/x`.
            Component::Prefix(p) => {
                uri.push('/');
                uri.push_str(&p.as_os_str().to_string_lossy().replace('\\', "/"));
            }
            Component::Normal(s) => {
                uri.push('/');
                uri.push_str(&encode_segment(s));
            }
            _ => {}
        }
    }
    if directory && !uri.ends_with('/') || uri == "file://" {
        uri.push('/');
    }
    uri
}

/// A SARIF log of `findings`, with `problems` in the tool's configuration.
pub fn log(findings: &[Finding<'_>], problems: &[ConfigProblem<'_>], base: &Base) -> Log {
    let results = findings.iter().map(|f| result(f, base)).collect();
    let notifications = problems
        .iter()
        .map(|p| Notification {
            descriptor: Descriptor {
                id: "gatehouse.toml",
            },
            level: "error",
            message: Message {
                text: format!("invalid {}: {}", p.path.display(), p.message),
            },
            locations: vec![Location {
                id: None,
                physical_location: PhysicalLocation {
                    artifact_location: base.artifact(&p.path.to_string_lossy()),
                    region: Some(Region::first_line()),
                },
                message: None,
            }],
        })
        .collect::<Vec<_>>();
    Log {
        schema: SCHEMA_URI,
        version: "2.1.0",
        runs: vec![Run {
            tool: Tool {
                driver: Driver {
                    name: "gatehouse",
                    version: env!("CARGO_PKG_VERSION"),
                    semantic_version: env!("CARGO_PKG_VERSION"),
                    information_uri: BOOK_URL,
                    rules: Code::ALL.iter().map(|c| rule(*c)).collect(),
                },
            },
            invocations: vec![Invocation {
                execution_successful: notifications.is_empty(),
                tool_configuration_notifications: notifications,
            }],
            original_uri_base_ids: BaseIds {
                src_root: RootLocation {
                    uri: file_uri(&base.root, true),
                },
            },
            column_kind: "unicodeCodePoints",
            results,
        }],
    }
}

/// `error` / `warning`, as SARIF levels.
fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

/// A reportingDescriptor for one code.
fn rule(code: Code) -> Rule {
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
    Rule {
        id: code.as_str(),
        name: code.name(),
        short_description: Message {
            text: code.summary().to_owned(),
        },
        full_description: Message { text: full },
        help: Help {
            text: help_text,
            markdown: help_markdown,
        },
        help_uri: help_uri(code),
        default_configuration: Configuration {
            level: level(code.severity()),
        },
        properties: RuleProperties {
            tags: ["gatehouse", kind],
        },
    }
}

fn capitalized(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn result(f: &Finding<'_>, base: &Base) -> SarifResult {
    let d = f.diagnostic;
    let mut text = d.message.clone();
    if !d.help.is_empty() {
        text.push_str("\nhelp: ");
        text.push_str(&d.help);
    }
    let primary = match (&d.file, d.labels.first()) {
        (Some(file), Some(label)) => location(file, label, base),
        // No place in a file: the path the diagnostic is about, else the
        // file it names, else the root itself. Never no location at all.
        (file, _) => {
            let name = f
                .path
                .map(|p| p.to_string_lossy().into_owned())
                .or_else(|| file.as_ref().map(|file| file.name.clone()))
                .unwrap_or_else(|| base.root.to_string_lossy().into_owned());
            Location {
                id: None,
                physical_location: PhysicalLocation {
                    artifact_location: base.artifact(&name),
                    region: Some(Region::first_line()),
                },
                message: None,
            }
        }
    };
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
        r.id = Some(id);
    }
    let fingerprint = fingerprint(d, &primary);
    let suppressions = f
        .suppression
        .map(|s| match s {
            Suppression::InSource { reason } => SarifSuppression {
                kind: "inSource",
                justification: reason.clone(),
            },
            Suppression::External { justification } => SarifSuppression {
                kind: "external",
                justification: justification.clone(),
            },
        })
        .into_iter()
        .collect();
    SarifResult {
        rule_id: d.code.as_str(),
        rule_index: Code::ALL.iter().position(|c| *c == d.code),
        level: level(d.severity()),
        message: Message { text },
        locations: vec![primary],
        related_locations: related,
        partial_fingerprints: Fingerprints {
            gatehouse: fingerprint,
        },
        suppressions,
        properties: d
            .example
            .clone()
            .map(|example| ResultProperties { example }),
    }
}

/// A hash of what identifies a finding apart from where its line is: the
/// code, the file, the text the primary label covers and the message.
fn fingerprint(d: &Diagnostic, primary: &Location) -> String {
    let mut hash = Sha256::new();
    for part in [
        d.code.as_str(),
        &primary.physical_location.artifact_location.uri,
        primary
            .physical_location
            .region
            .as_ref()
            .and_then(|r| r.snippet.as_ref())
            .map_or("", |s| s.text.as_str()),
        &d.message,
    ] {
        hash.update(part.as_bytes());
        hash.update([0]);
    }
    hash.finalize()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn location(file: &SourceFile, label: &Label, base: &Base) -> Location {
    let (start_line, start_column) = file.line_col(label.span.start);
    let (end_line, end_column) = file.line_col(label.span.end.max(label.span.start));
    Location {
        id: None,
        physical_location: PhysicalLocation {
            artifact_location: base.artifact(&file.name),
            region: Some(Region {
                start_line,
                start_column: Some(start_column),
                end_line: Some(end_line),
                end_column: Some(end_column),
                snippet: file
                    .text
                    .get(label.span.start..label.span.end)
                    .map(|text| Snippet {
                        text: text.to_owned(),
                    }),
            }),
        },
        message: (!label.text.is_empty()).then(|| Message {
            text: label.text.clone(),
        }),
    }
}

/// The whole log (`sarifLog`).
#[derive(Debug, Serialize)]
pub struct Log {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: Vec<Run>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Run {
    tool: Tool,
    invocations: Vec<Invocation>,
    original_uri_base_ids: BaseIds,
    column_kind: &'static str,
    results: Vec<SarifResult>,
}

#[derive(Debug, Serialize)]
struct Tool {
    driver: Driver,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver {
    name: &'static str,
    version: &'static str,
    semantic_version: &'static str,
    information_uri: &'static str,
    rules: Vec<Rule>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Invocation {
    execution_successful: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tool_configuration_notifications: Vec<Notification>,
}

#[derive(Debug, Serialize)]
struct Notification {
    descriptor: Descriptor,
    level: &'static str,
    message: Message,
    locations: Vec<Location>,
}

#[derive(Debug, Serialize)]
struct Descriptor {
    id: &'static str,
}

#[derive(Debug, Serialize)]
struct BaseIds {
    #[serde(rename = "%SRCROOT%")]
    src_root: RootLocation,
}

#[derive(Debug, Serialize)]
struct RootLocation {
    uri: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Rule {
    id: &'static str,
    name: &'static str,
    short_description: Message,
    full_description: Message,
    help: Help,
    help_uri: String,
    default_configuration: Configuration,
    properties: RuleProperties,
}

#[derive(Debug, Serialize)]
struct Help {
    text: String,
    markdown: String,
}

#[derive(Debug, Serialize)]
struct Configuration {
    level: &'static str,
}

#[derive(Debug, Serialize)]
struct RuleProperties {
    tags: [&'static str; 2],
}

#[derive(Debug, Serialize)]
struct Message {
    text: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult {
    rule_id: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    rule_index: Option<usize>,
    level: &'static str,
    message: Message,
    locations: Vec<Location>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    related_locations: Vec<Location>,
    partial_fingerprints: Fingerprints,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    suppressions: Vec<SarifSuppression>,
    #[serde(skip_serializing_if = "Option::is_none")]
    properties: Option<ResultProperties>,
}

#[derive(Debug, Serialize)]
struct Fingerprints {
    #[serde(rename = "gatehouse/v1")]
    gatehouse: String,
}

#[derive(Debug, Serialize)]
struct SarifSuppression {
    kind: &'static str,
    justification: String,
}

#[derive(Debug, Serialize)]
struct ResultProperties {
    example: serde_json::Value,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Location {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<usize>,
    physical_location: PhysicalLocation,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<Message>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation {
    artifact_location: ArtifactLocation,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<Region>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ArtifactLocation {
    uri: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    uri_base_id: Option<&'static str>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    start_column: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    end_line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    end_column: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    snippet: Option<Snippet>,
}

impl Region {
    /// Line 1, for a finding about a whole file or path.
    fn first_line() -> Region {
        Region {
            start_line: 1,
            start_column: None,
            end_line: None,
            end_column: None,
            snippet: None,
        }
    }
}

#[derive(Debug, Serialize)]
struct Snippet {
    text: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Base {
        Base {
            root: PathBuf::from("/work/repo"),
            cwd: PathBuf::from("/work/repo/sub"),
        }
    }

    fn uri(name: &str) -> (String, Option<&'static str>) {
        let a = base().artifact(name);
        (a.uri, a.uri_base_id)
    }

    #[test]
    fn uris_are_relative_to_the_root_resolved_and_encoded() {
        let root = Some(SRCROOT);
        assert_eq!(uri("a b/main.gate"), ("sub/a%20b/main.gate".into(), root));
        assert_eq!(uri("./x/é.gate"), ("sub/x/%C3%A9.gate".into(), root));
        assert_eq!(uri("../p/x.gate"), ("p/x.gate".into(), root));
        assert_eq!(uri("/work/repo/p/../q/x.gate"), ("q/x.gate".into(), root));
        // A `:` in a first segment would read as a URI scheme.
        assert_eq!(uri("../c:d.gate"), ("c%3Ad.gate".into(), root));
        assert_eq!(uri("x#1?.gate"), ("sub/x%231%3F.gate".into(), root));
        assert_eq!(
            uri("/elsewhere/x#1.gate"),
            ("file:///elsewhere/x%231.gate".into(), None)
        );
        assert_eq!(uri("../../../x.gate"), ("file:///x.gate".into(), None));
    }

    #[test]
    fn the_root_is_the_git_work_tree_of_the_first_path() {
        let here = std::env::current_dir().expect("cwd");
        let base = Base::discover(&[PathBuf::from("src/lint")], &here);
        assert!(base.root.join("Cargo.toml").is_file(), "{base:?}");
        let none = Base::discover(&[], Path::new("/a/./b/../c"));
        assert_eq!(none.root, PathBuf::from("/a/c"));
        assert_eq!(normalize(Path::new("/a/../../../b")), PathBuf::from("/b"));
        assert_eq!(
            normalize(Path::new("../../a/../b")),
            PathBuf::from("../../b")
        );
        assert_eq!(
            file_uri(Path::new("/a b/c:d"), true),
            "file:///a%20b/c%3Ad/"
        );
    }
}

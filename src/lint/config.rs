//! Lint levels and suppressions: what a project configures on top of each
//! lint's default level.
//!
//! - **`gatehouse.toml`** raises, lowers or turns off lints (`L` codes)
//!   and warnings (`W` codes), by code or name; `E` codes cannot be
//!   configured:
//!
//!   ```toml
//!   [lints]
//!   unreachable-rule = "off"
//!   L0004 = "error"
//!   missing-default = "error"
//!   ```
//!
//!   Which file applies ([`Discovery`]): `--no-config` uses none;
//!   `--config FILE` uses that one for every set; otherwise the nearest
//!   `gatehouse.toml` from the set's own directory upwards, up to and
//!   including the repository root (the first directory holding `.git`),
//!   or up to the filesystem root outside a repository, as ruff and
//!   ripgrep look for theirs.
//!
//! - **Suppression comments** silence one finding where it is reported:
//!
//!   ```text
//!   # gatehouse: allow(threshold-gap) reason: "1000 itself is handled by the default on purpose"
//!   ```
//!
//!   A comment at the end of a line covers findings on that line; a comment
//!   on a line of its own covers the next line that is not itself such a
//!   comment. Several codes may be listed: `allow(L0004, threshold-overlap)`;
//!   warnings too (`allow(missing-default)` above the `policy` header).
//!   The reason is required. A suppression without one (which then
//!   suppresses nothing), a malformed one, one naming an unknown lint or a
//!   code that is not a lint, and one that suppresses nothing are reported
//!   as `W0002 invalid-suppression` warnings.
//!
//! Suppressions apply to the findings as the lints report them; levels
//! apply after, so a suppressed finding of a lint turned off still counts
//! as suppressed.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::diagnostic::{Code, Diagnostic, Severity};
use crate::lint::registry;
use crate::source::{SourceFile, Span};

/// The configuration file's name.
pub const FILE_NAME: &str = "gatehouse.toml";

/// The largest `gatehouse.toml` read (levels for every code fit in a few KB).
pub const MAX_CONFIG_BYTES: usize = 1 << 20;

/// A configured level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// Reported as an error (fails `check`).
    Error,
    /// Reported as a warning (fails `check --deny warnings`).
    Warning,
    /// Not reported.
    Off,
}

impl Level {
    /// Parses `error`, `warning` or `off`.
    pub fn parse(word: &str) -> Option<Level> {
        match word {
            "error" => Some(Level::Error),
            "warning" => Some(Level::Warning),
            "off" => Some(Level::Off),
            _ => None,
        }
    }
}

/// Per-lint levels, from a `gatehouse.toml` (or none: every default).
#[derive(Clone, Debug, Default)]
pub struct LintConfig {
    /// The file the levels were read from.
    pub path: Option<PathBuf>,
    levels: Vec<(Code, Level)>,
}

/// A `gatehouse.toml` that cannot be used: reported as an `E0006`
/// diagnostic (see [`ConfigError::diagnostic`]) in every output format, and
/// a usage error for the exit code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong, lowercase, with the fix.
    pub message: String,
    /// The file's text, when it could be read.
    pub text: String,
    /// Where in the text (empty at 0 when the whole file is meant).
    pub span: Span,
    /// What the span shows.
    pub label: String,
}

/// The example every `gatehouse.toml` error ends with.
const CONFIG_HELP: &str = "gatehouse.toml holds levels only: `[lints]` then lines like `threshold-gap = \"error\"`, `missing-default = \"off\"`; `gatehouse rules` lists the codes and names";

impl ConfigError {
    /// The error as a diagnostic: code `E0006`, the file, a labelled span
    /// (line and column) and help.
    pub fn diagnostic(&self) -> Diagnostic {
        let file = SourceFile::new(self.path.display().to_string(), self.text.clone());
        Diagnostic::new(
            Code::InvalidConfig,
            &file,
            self.span,
            format!("invalid {}: {}", self.path.display(), self.message),
            self.label.clone(),
            CONFIG_HELP,
        )
    }
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.message)
    }
}

impl std::error::Error for ConfigError {}

impl LintConfig {
    /// Parses the text of a `gatehouse.toml`. Unknown tables and keys,
    /// unknown codes, `E` codes, a code set twice and levels other than
    /// `error`, `warning` and `off` are errors, each at its place in the
    /// file: a typo must not silently leave a lint at its default.
    pub fn parse(text: &str, path: &Path) -> Result<LintConfig, ConfigError> {
        let error = |span: Span, label: &str, message: String| ConfigError {
            path: path.to_path_buf(),
            message,
            text: text.to_owned(),
            span,
            label: label.to_owned(),
        };
        let at = |r: std::ops::Range<usize>| Span {
            start: r.start.min(text.len()),
            end: r.end.min(text.len()),
        };
        let table = toml::de::DeTable::parse(text).map_err(|e| {
            error(
                e.span().map(&at).unwrap_or_default(),
                "not TOML",
                format!("not valid TOML: {}", e.message().trim_end()),
            )
        })?;
        let mut config = LintConfig {
            path: Some(path.to_path_buf()),
            levels: Vec::new(),
        };
        // In file order (the parsed table is sorted by key).
        let mut sections: Vec<_> = table.get_ref().iter().collect();
        sections.sort_by_key(|(k, _)| k.span().start);
        for (key, value) in sections {
            if key.get_ref() != "lints" {
                return Err(error(
                    at(key.span()),
                    "unknown key",
                    format!(
                        "unknown key `{}`; levels go in a `[lints]` table",
                        key.get_ref()
                    ),
                ));
            }
            let toml::de::DeValue::Table(lints) = value.get_ref() else {
                return Err(error(
                    at(value.span()),
                    "not a table",
                    "`lints` must be a table: `[lints]` followed by lines like `threshold-gap = \"error\"`".into(),
                ));
            };
            let mut entries: Vec<_> = lints.iter().collect();
            entries.sort_by_key(|(k, _)| k.span().start);
            for (name, level) in entries {
                let name_span = at(name.span());
                let code = lint_code(name.get_ref())
                    .map_err(|m| error(name_span, "not a lint or warning", m))?;
                let level = match level.get_ref() {
                    toml::de::DeValue::String(word) => Level::parse(word),
                    _ => None,
                }
                .ok_or_else(|| {
                    let written = text.get(at(level.span()).start..at(level.span()).end);
                    error(
                        at(level.span()),
                        "not a level",
                        format!(
                            "`{}` has level {}; the levels are \"error\", \"warning\" and \"off\"",
                            name.get_ref(),
                            written.unwrap_or("?")
                        ),
                    )
                })?;
                if config.levels.iter().any(|(c, _)| *c == code) {
                    return Err(error(
                        name_span,
                        "configured again",
                        format!("{} ({}) is configured twice", code.as_str(), code.name()),
                    ));
                }
                config.levels.push((code, level));
            }
        }
        Ok(config)
    }

    /// Reads and parses a `gatehouse.toml` (at most [`MAX_CONFIG_BYTES`]).
    pub fn load(path: &Path) -> Result<LintConfig, ConfigError> {
        // The bounded, non-blocking reader every input goes through: a FIFO,
        // a directory or a dangling link is an error here, never a wait.
        let text =
            crate::input::read_file_limited(path, MAX_CONFIG_BYTES).map_err(|e| ConfigError {
                path: path.to_path_buf(),
                message: format!("cannot read it: {e}"),
                text: String::new(),
                span: Span::default(),
                label: "unreadable".into(),
            })?;
        LintConfig::parse(&text, path)
    }

    /// The configured level of a lint or warning, if any.
    pub fn level(&self, code: Code) -> Option<Level> {
        self.levels
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(_, l)| *l)
    }
}

/// Resolves a lint or warning by code or name, refusing the `E` codes:
/// an error of the language cannot be turned off.
fn lint_code(name: &str) -> Result<Code, String> {
    match registry::lookup(name) {
        Some(code) if is_configurable(code) => Ok(code),
        Some(code) => Err(format!(
            "`{name}` is {} ({}), an error of the language, not a lint; only lints (L codes) and warnings (W codes) can be configured or suppressed",
            code.as_str(),
            code.name()
        )),
        None => Err(match registry::suggest(name) {
            Some(s) => {
                format!("unknown lint `{name}`; did you mean `{s}`? (`gatehouse rules` lists them)")
            }
            None => format!("unknown lint `{name}`; `gatehouse rules` lists the lints"),
        }),
    }
}

/// Lints (`L`) and warnings (`W`): the codes levels and suppressions
/// apply to. `E` codes stop a policy compiling and are never adjustable.
pub fn is_configurable(code: Code) -> bool {
    !code.as_str().starts_with('E')
}

/// How `check` chooses the `gatehouse.toml` of each policy set, in this
/// order: `--no-config`, `--config FILE`, else the nearest one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Discovery {
    /// The nearest `gatehouse.toml` above each set ([`find`]).
    #[default]
    Nearest,
    /// This file for every set (`--config FILE`); it must exist.
    File(PathBuf),
    /// None: every code at its default level (`--no-config`).
    Off,
}

impl Discovery {
    /// The file that applies to the set at `set` (a directory, or the file
    /// of a single-file set), if any.
    pub fn path_for(&self, set: &Path) -> Option<PathBuf> {
        match self {
            Discovery::Nearest => find(set),
            Discovery::File(path) => Some(path.clone()),
            Discovery::Off => None,
        }
    }
}

/// The `gatehouse.toml` that applies to a policy set: the nearest one from
/// the set's directory (a single-file set: the file's directory) upwards,
/// up to and including the repository root, the first directory holding a
/// `.git` (a directory, or the file of a worktree or submodule); outside a
/// repository, up to the filesystem root. A file above the repository
/// never applies: the policies of one repository must not change with the
/// directory it is cloned into.
pub fn find(set: &Path) -> Option<PathBuf> {
    let start = if set.is_file() {
        set.parent().map(Path::to_path_buf).unwrap_or_default()
    } else {
        set.to_path_buf()
    };
    let start = absolute(&start);
    for dir in start.ancestors() {
        let candidate = dir.join(FILE_NAME);
        // Whatever it is (a file, a directory, a FIFO, a dangling link): a
        // gatehouse.toml that cannot be used is an error (E0006), never
        // skipped for a looser one higher up or the defaults.
        if candidate.symlink_metadata().is_ok() {
            return Some(relative_to_cwd(candidate));
        }
        if dir.join(".git").exists() {
            return None;
        }
    }
    None
}

/// The path relative to the current directory when it lies inside it, as
/// users wrote the paths they gave `check`.
fn relative_to_cwd(path: PathBuf) -> PathBuf {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| cwd.canonicalize().ok())
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .unwrap_or(path)
}

/// The canonical path, or the path joined to the current directory when it
/// cannot be canonicalized.
fn absolute(path: &Path) -> PathBuf {
    let path = if path.as_os_str().is_empty() {
        Path::new(".")
    } else {
        path
    };
    path.canonicalize().unwrap_or_else(|_| {
        std::env::current_dir()
            .map(|cwd| cwd.join(path))
            .unwrap_or_else(|_| path.to_path_buf())
    })
}

// ----------------------------------------------------------- suppressions ----

/// One `# gatehouse: allow(..) reason: ".."` comment.
#[derive(Clone, Debug)]
pub struct Suppression {
    /// The file.
    pub file: Arc<SourceFile>,
    /// The whole comment.
    pub span: Span,
    /// The 1-based line whose findings it covers.
    pub target_line: usize,
    /// The lints it allows, each with the span of its name.
    pub lints: Vec<(Code, Span)>,
    /// The reason, when given.
    pub reason: Option<String>,
}

/// Reads every suppression comment of a file. Problems with a comment
/// (malformed, unknown lint) come back as `W0002` diagnostics.
pub fn suppressions(file: &Arc<SourceFile>) -> (Vec<Suppression>, Vec<Diagnostic>) {
    let mut found = Vec::new();
    let mut problems = Vec::new();
    // Comment-only suppression lines wait for the next other line.
    let mut waiting: Vec<Suppression> = Vec::new();
    let mut offset = 0;
    for (index, line) in file.text.split_inclusive('\n').enumerate() {
        let number = index + 1;
        let comment = comment_start(line);
        let own_line = comment.is_some_and(|c| line.get(..c).is_some_and(|s| s.trim().is_empty()));
        let parsed = comment.and_then(|c| {
            let text = line.get(c..)?.trim_end_matches(['\n', '\r']);
            parse_comment(file, offset + c, text, &mut problems)
        });
        match parsed {
            Some(s) if own_line => waiting.push(s),
            other => {
                for mut w in waiting.drain(..) {
                    w.target_line = number;
                    found.push(w);
                }
                if let Some(mut s) = other {
                    s.target_line = number;
                    found.push(s);
                }
            }
        }
        offset += line.len();
    }
    // Comments at the end of the file cover nothing; keep them so that they
    // are reported as suppressing nothing.
    found.append(&mut waiting);
    (found, problems)
}

/// The byte offset of the `#` starting a comment on this line, skipping
/// `#` inside string literals.
fn comment_start(line: &str) -> Option<usize> {
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
        } else if c == '#' {
            return Some(i);
        }
    }
    None
}

const SYNTAX_HELP: &str =
    "write it as `# gatehouse: allow(LINT, ...) reason: \"why this is acceptable\"`";

/// Parses `# gatehouse: allow(a, b) reason: "..."` starting at `start`
/// (the `#`). Comments that do not start with `gatehouse:` are ordinary
/// comments.
fn parse_comment(
    file: &Arc<SourceFile>,
    start: usize,
    text: &str,
    problems: &mut Vec<Diagnostic>,
) -> Option<Suppression> {
    let body = text.strip_prefix('#')?.trim_start();
    let rest = body.strip_prefix("gatehouse:")?;
    let whole = Span {
        start,
        end: start + text.trim_end().len(),
    };
    let malformed = |problems: &mut Vec<Diagnostic>, what: &str| {
        problems.push(Diagnostic::new(
            Code::InvalidSuppression,
            file,
            whole,
            format!("malformed suppression comment: {what}"),
            "not a suppression gatehouse understands",
            SYNTAX_HELP,
        ));
    };
    let rest_offset = |s: &str| start + (text.len() - s.len());
    let after_allow = rest.trim_start();
    let Some(list) = after_allow.strip_prefix("allow") else {
        malformed(problems, "expected `allow(..)` after `gatehouse:`");
        return None;
    };
    let Some(list) = list.trim_start().strip_prefix('(') else {
        malformed(problems, "expected `(` after `allow`");
        return None;
    };
    let Some(close) = list.find(')') else {
        malformed(problems, "the list of lints has no closing `)`");
        return None;
    };
    let names = list.get(..close).unwrap_or("");
    let names_offset = rest_offset(list);
    let mut lints = Vec::new();
    let mut valid = true;
    let mut cursor = 0;
    for raw in names.split(',') {
        let trimmed = raw.trim();
        let lead = raw.len() - raw.trim_start().len();
        let span = Span {
            start: names_offset + cursor + lead,
            end: names_offset + cursor + lead + trimmed.len(),
        };
        cursor += raw.len() + 1;
        if trimmed.is_empty() {
            continue;
        }
        match lint_code(trimmed) {
            Ok(code) => lints.push((code, span)),
            Err(message) => {
                valid = false;
                problems.push(Diagnostic::new(
                    Code::InvalidSuppression,
                    file,
                    span,
                    message,
                    "not a lint",
                    "name a lint by its code or name, as `gatehouse rules` lists them",
                ));
            }
        }
    }
    if lints.is_empty() && valid {
        malformed(problems, "`allow()` names no lint");
        return None;
    }
    let tail = list.get(close + 1..).unwrap_or("").trim();
    let reason = if tail.is_empty() {
        None
    } else if let Some(quoted) = tail.strip_prefix("reason:").map(str::trim) {
        match quoted
            .strip_prefix('"')
            .and_then(|q| q.strip_suffix('"'))
            .map(str::trim)
        {
            Some(r) if !r.is_empty() => Some(r.to_owned()),
            Some(_) => None,
            None => {
                malformed(problems, "the reason must be a quoted string");
                return None;
            }
        }
    } else {
        malformed(
            problems,
            "expected `reason: \"...\"` after the list of lints",
        );
        return None;
    };
    if !valid {
        return None;
    }
    Some(Suppression {
        file: Arc::clone(file),
        span: whole,
        target_line: 0,
        lints,
        reason,
    })
}

/// Applies a set's configuration to its findings: the checker's warnings
/// (`W0001`) and the lints' findings. Suppression comments of `files` drop
/// the findings they cover, then the configured levels raise, lower or drop
/// the rest. Problems with the suppression comments are added as `W0002`
/// warnings, themselves suppressible (by a comment on their line) and
/// configurable. `E` codes pass through unchanged. The result is in file
/// order, then by position.
pub fn apply(
    findings: Vec<Diagnostic>,
    config: &LintConfig,
    files: &[Arc<SourceFile>],
) -> Vec<Diagnostic> {
    apply_keeping_suppressed(findings, config, files).0
}

/// A finding that a suppression comment or the configuration silenced.
/// SARIF readers are told about these (as `suppressions`) rather than never
/// seeing them, so a dismissal stays visible and reviewable.
#[derive(Clone, Debug)]
pub struct Suppressed {
    /// The finding, at its default level.
    pub diagnostic: Diagnostic,
    /// What silenced it.
    pub by: SuppressedBy,
}

/// What silenced a finding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SuppressedBy {
    /// A `# gatehouse: allow(LINT) reason: "..."` comment, with its reason.
    Comment {
        /// The reason the comment gives.
        reason: String,
    },
    /// The code is `"off"` in `gatehouse.toml`.
    Config,
}

/// [`apply`], also returning the findings it silenced (in no particular
/// order). Every finding given is either kept or returned as suppressed.
pub fn apply_keeping_suppressed(
    findings: Vec<Diagnostic>,
    config: &LintConfig,
    files: &[Arc<SourceFile>],
) -> (Vec<Diagnostic>, Vec<Suppressed>) {
    let mut silenced = Vec::new();
    let mut all = Vec::new();
    let mut problems = Vec::new();
    for f in files {
        let (found, p) = suppressions(f);
        all.extend(found);
        problems.extend(p);
    }
    let mut used: Vec<Vec<bool>> = all.iter().map(|s| vec![false; s.lints.len()]).collect();
    let mut kept = Vec::new();
    for d in findings {
        match suppress(&d, &all, &mut used) {
            Some(reason) => silenced.push(Suppressed {
                diagnostic: d,
                by: SuppressedBy::Comment { reason },
            }),
            None => kept.push(d),
        }
    }
    // Round one: every suppression against the findings. A suppression of
    // W0002 itself is judged in round two, against round one's problems.
    for (s, marks) in all.iter().zip(&used) {
        if s.reason.is_none() {
            let names: Vec<&str> = s.lints.iter().map(|(c, _)| c.name()).collect();
            problems.push(Diagnostic::new(
                Code::InvalidSuppression,
                &s.file,
                s.span,
                format!(
                    "suppression of `{}` has no reason, so it suppresses nothing",
                    names.join("`, `")
                ),
                "no `reason: \"...\"`",
                "say why the finding is acceptable: `reason: \"...\"` after the list of lints",
            ));
            continue;
        }
        for ((code, span), used) in s.lints.iter().zip(marks) {
            if !used && *code != Code::InvalidSuppression {
                problems.push(unused(s, *code, *span));
            }
        }
    }
    // Round two: `allow(invalid-suppression)` against those problems; one
    // that covers none of them is reported, and that report is final.
    let mut unsuppressed = Vec::new();
    for d in problems {
        match suppress(&d, &all, &mut used) {
            Some(reason) => silenced.push(Suppressed {
                diagnostic: d,
                by: SuppressedBy::Comment { reason },
            }),
            None => unsuppressed.push(d),
        }
    }
    let mut problems = unsuppressed;
    for (s, marks) in all.iter().zip(&used) {
        if s.reason.is_none() {
            continue;
        }
        for ((code, span), used) in s.lints.iter().zip(marks) {
            if !used && *code == Code::InvalidSuppression {
                problems.push(unused(s, *code, *span));
            }
        }
    }
    kept.extend(problems);
    // File order, then position; findings at one place keep their order.
    kept.sort_by_key(|d| {
        (
            d.file.as_ref().map(|f| f.name.clone()),
            d.labels.first().map_or(0, |l| l.span.start),
        )
    });
    let kept = kept
        .into_iter()
        .filter_map(|mut d| {
            if !is_configurable(d.code) {
                return Some(d);
            }
            match config.level(d.code) {
                None => Some(d),
                Some(Level::Off) => {
                    silenced.push(Suppressed {
                        diagnostic: d,
                        by: SuppressedBy::Config,
                    });
                    None
                }
                Some(level) => {
                    let severity = match level {
                        Level::Error => Severity::Error,
                        _ => Severity::Warning,
                    };
                    d.level = (severity != d.code.severity()).then_some(severity);
                    Some(d)
                }
            }
        })
        .collect();
    (kept, silenced)
}

/// Whether a suppression with a reason covers `d` (same file, the line of
/// its first label, its code listed): the first covering reason. Marks the
/// entries that cover it.
fn suppress(d: &Diagnostic, all: &[Suppression], used: &mut [Vec<bool>]) -> Option<String> {
    let (file, line) = d
        .file
        .as_ref()
        .and_then(|f| d.labels.first().map(|l| (f, f.line_col(l.span.start).0)))?;
    let mut reason = None;
    for (s, marks) in all.iter().zip(used.iter_mut()) {
        if s.reason.is_none() || s.target_line != line || s.file.name != file.name {
            continue;
        }
        for ((code, _), mark) in s.lints.iter().zip(marks.iter_mut()) {
            if *code == d.code {
                *mark = true;
                reason = reason.or_else(|| s.reason.clone());
            }
        }
    }
    reason
}

/// The W0002 for a listed code that suppressed nothing.
fn unused(s: &Suppression, code: Code, span: Span) -> Diagnostic {
    let why = if s.target_line == 0 {
        "it ends the file, with no line below it".to_owned()
    } else {
        format!("no {} finding on line {}", code.as_str(), s.target_line)
    };
    Diagnostic::new(
        Code::InvalidSuppression,
        &s.file,
        span,
        format!("suppression of `{}` suppresses nothing: {why}", code.name()),
        "nothing to suppress",
        "remove it; a suppression covers findings on its own line, or on the next line when the comment stands alone",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> Arc<SourceFile> {
        SourceFile::new("p.gate", text)
    }

    #[test]
    fn parses_levels_by_code_and_name() {
        let c = LintConfig::parse(
            "[lints]\nunreachable-rule = \"off\"\nL0004 = \"error\"\nl0009 = \"warning\"\n",
            Path::new("gatehouse.toml"),
        )
        .expect("valid");
        assert_eq!(c.level(Code::UnreachableRule), Some(Level::Off));
        assert_eq!(c.level(Code::ThresholdGap), Some(Level::Error));
        assert_eq!(c.level(Code::MissingTimeout), Some(Level::Warning));
        assert_eq!(c.level(Code::Tautology), None);
        // warnings are configured like lints
        let w = LintConfig::parse(
            "[lints]\nmissing-default = \"error\"\nW0002 = \"off\"\nanalysis-incomplete = \"off\"\n",
            Path::new("gatehouse.toml"),
        )
        .expect("valid");
        assert_eq!(w.level(Code::MissingDefault), Some(Level::Error));
        assert_eq!(w.level(Code::InvalidSuppression), Some(Level::Off));
        assert_eq!(w.level(Code::AnalysisIncomplete), Some(Level::Off));
    }

    #[test]
    fn refuses_what_it_cannot_honour() {
        let p = Path::new("gatehouse.toml");
        let err = |t: &str| LintConfig::parse(t, p).expect_err(t).message;
        assert!(err("[lints]\nthreshold-gapp = \"off\"").contains("did you mean `threshold-gap`"));
        assert!(err("[lints]\nE0201 = \"off\"").contains("not a lint"));
        assert!(err("[lints]\nL0004 = \"deny\"").contains("\"error\", \"warning\" and \"off\""));
        assert!(err("[lints]\nL0004 = \"off\"\nthreshold-gap = \"error\"").contains("twice"));
        assert!(err("[lint]\nL0004 = \"off\"").contains("unknown key `lint`"));
        assert!(err("[lints\n").starts_with("not valid TOML"));
        assert!(err("[lints]\nE0201 = \"off\"").contains("an error of the language"));
        let e =
            LintConfig::parse("[lints]\nL0004 = \"off\"\nbogus = \"off\"\n", p).expect_err("bogus");
        let d = e.diagnostic();
        assert_eq!(d.code, Code::InvalidConfig);
        let loc = d.location().expect("a location");
        assert_eq!((loc.line, loc.column), (3, 1), "{d:?}");
        assert_eq!(
            d.labels.first().map(|l| (l.span.start, l.span.end)),
            Some((22, 27))
        );
        assert!(!d.help.is_empty());
    }

    #[test]
    fn comments_cover_their_line_or_the_next() {
        let f = file(
            "policy \"p\" version \"1\" # gatehouse: allow(L0012) reason: \"a\"\n# gatehouse: allow(missing-timeout, L0006) reason: \"b\"\n# gatehouse: allow(L0014) reason: \"c\"\ntier 1 \"x\" { outcome queue }\nrole r \"#\" # not a suppression\n",
        );
        let (found, problems) = suppressions(&f);
        assert!(problems.is_empty(), "{problems:?}");
        let lines: Vec<(usize, usize)> = found
            .iter()
            .map(|s| (s.target_line, s.lints.len()))
            .collect();
        assert_eq!(lines, vec![(1, 1), (4, 2), (4, 1)]);
        assert_eq!(
            found.get(1).and_then(|s| s.reason.clone()).as_deref(),
            Some("b")
        );
    }

    #[test]
    fn bad_comments_are_reported() {
        let f = file(
            "# gatehouse: allow(no-such-lint) reason: \"x\"\n# gatehouse: allow(E0201) reason: \"x\"\n# gatehouse: alow(L0004)\n# gatehouse: allow(L0004) because\n# gatehouse: allow(L0004)\n",
        );
        let (found, problems) = suppressions(&f);
        let messages: Vec<&str> = problems.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(problems.len(), 4, "{messages:?}");
        assert!(
            messages
                .iter()
                .any(|m| m.contains("unknown lint `no-such-lint`"))
        );
        assert!(
            messages
                .iter()
                .any(|m| m.contains("an error of the language"))
        );
        assert_eq!(found.len(), 1, "only the reasonless one parses");
        assert!(found.first().is_some_and(|s| s.reason.is_none()));
    }
}

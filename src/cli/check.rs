//! `gatehouse check`: every policy set under the given paths, every problem
//! in one run: syntax, names and types, then the lints of every set that
//! compiles, with the project's lint configuration applied.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use super::walk::Excludes;
use super::{Io, exit};
use crate::diagnostic::{Diagnostic, Diagnostics, Severity, render_one};
use crate::lint::config::{self, ConfigError, LintConfig, Suppressed, SuppressedBy};
use crate::lint::sarif;
use crate::{Policy, lint, loader};

/// Arguments of `gatehouse check`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  gatehouse check policies/                 # every policy set found under policies/\n  gatehouse check policies/refunds/main.gate\n  gatehouse check --format json policies/ > diagnostics.json\n  gatehouse check --format sarif policies/ > gatehouse.sarif     # GitHub code scanning\n  gatehouse check --format github --deny warnings policies/      # annotations in a GitHub Actions log\n\nA policy set is the .gate files directly inside one directory. Every set that compiles is also linted; `gatehouse rules` lists the lints and `gatehouse explain CODE` documents one. Lint and warning levels come from the nearest gatehouse.toml from each set's directory up to the repository root (the first directory with a .git), or from --config FILE; --no-config uses none (`[lints]` then `threshold-gap = \"error\"`, `L0001 = \"off\"`); a comment `# gatehouse: allow(LINT) reason: \"...\"` on a finding's line, or alone on the line above, suppresses it.\n\nExit codes: 0 no errors (warnings allowed), 1 errors found, a policy that does not compile included (or warnings, with --deny warnings), 2 usage error (including an invalid gatehouse.toml, or a path that does not exist), 101 the report cannot be written."
)]
pub struct CheckArgs {
    /// Policy files or directories; directories are searched for policy
    /// sets. `-` reads one policy file from standard input.
    #[arg(default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = CheckFormat::Human)]
    pub format: CheckFormat,
    /// Fail (exit 1) on warnings too: `--deny warnings`.
    #[arg(long, value_enum, value_name = "WHAT")]
    pub deny: Option<Deny>,
    /// Skip files and directories matching GLOB while searching directories
    /// (gitignore syntax, repeatable); `.gitignore` rules, hidden
    /// directories and build caches are skipped too.
    #[arg(long, value_name = "GLOB", value_parser = super::walk::parse_exclude)]
    pub exclude: Vec<String>,
    /// Use this gatehouse.toml for every set, instead of the nearest one.
    #[arg(long, value_name = "FILE", conflicts_with = "no_config")]
    pub config: Option<PathBuf>,
    /// Use no gatehouse.toml: every lint and warning at its default level.
    #[arg(long)]
    pub no_config: bool,
}

impl CheckArgs {
    /// Which gatehouse.toml applies: `--no-config`, `--config FILE`, else
    /// the nearest one up to the repository root.
    fn discovery(&self) -> config::Discovery {
        match (&self.config, self.no_config) {
            (_, true) => config::Discovery::Off,
            (Some(file), false) => config::Discovery::File(file.clone()),
            (None, false) => config::Discovery::Nearest,
        }
    }
}

/// How `check` reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    /// Rendered diagnostics with source snippets.
    Human,
    /// One JSON document: every set and its diagnostics.
    Json,
    /// A SARIF 2.1.0 log, for GitHub code scanning.
    Sarif,
    /// GitHub Actions workflow commands: one `::error` / `::warning` line each.
    Github,
}

/// What `--deny` turns into failures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Deny {
    /// Every warning counts as an error for the exit code.
    Warnings,
}

/// One policy set's outcome: the compiled policy with its warnings and lint
/// findings, or the errors that stopped it compiling.
struct SetReport {
    path: PathBuf,
    /// The `gatehouse.toml` that applied.
    config: Option<PathBuf>,
    result: Result<(Policy, Diagnostics), Diagnostics>,
    /// Lint findings silenced by a comment or the configuration; only SARIF
    /// reports them (as suppressed results).
    suppressed: Vec<Suppressed>,
}

pub(super) fn run(args: &CheckArgs, io: &mut Io<'_>) -> u8 {
    let excludes = match Excludes::new(&args.exclude) {
        Ok(e) => e,
        Err(e) => {
            let _ = writeln!(io.stderr, "error: {e}");
            return exit::POLICY;
        }
    };
    if args.paths.iter().filter(|p| super::is_stdin(p)).count() > 1 {
        let _ = writeln!(
            io.stderr,
            "error: `-` (standard input) is named more than once; it can be read only once"
        );
        return exit::USAGE;
    }
    let mut sets: Vec<(PathBuf, &Path)> = Vec::new();
    let mut set_keys: Vec<PathBuf> = Vec::new();
    let mut top_level = Diagnostics::default();
    let mut from_stdin = None;
    // The argument each top-level diagnostic is about (SARIF's location).
    let mut top_paths: Vec<&Path> = Vec::new();
    for path in &args.paths {
        if super::is_stdin(path) {
            // one policy file's text, e.g. an editor's buffer; linted with
            // the default levels (there is no directory to find a
            // gatehouse.toml from)
            match super::read_text(path, loader::MAX_FILE_BYTES, &mut *io.stdin) {
                Ok(text) => from_stdin = Some(text),
                Err(e) => top_level.push(Diagnostic::without_span(
                    crate::Code::Io,
                    e,
                    "pipe one policy file's text into `gatehouse check -`",
                )),
            }
            continue;
        }
        if !path.exists() {
            top_level.push(Diagnostic::without_span(
                crate::Code::Io,
                format!(
                    "cannot read `{}`: no such file or directory",
                    path.display()
                ),
                "check the path",
            ));
            top_paths.push(path);
            continue;
        }
        let found = excludes.policy_sets(path);
        if found.is_empty() {
            top_level.push(Diagnostic::without_span(
                crate::Code::EmptyPolicySet,
                format!("no `.gate` files under `{}`", path.display()),
                "policy files end in `.gate`",
            ));
            top_paths.push(path);
        }
        for s in found {
            // One set named several ways (`p`, `./p`, `q/../p`) is
            // checked once: reported twice, its findings would count twice
            // and reach code scanning as duplicates. Each set's canonical
            // path is resolved once.
            let key = std::fs::canonicalize(&s).unwrap_or_else(|_| s.clone());
            if !set_keys.contains(&key) {
                set_keys.push(key);
                sets.push((s, path.as_path()));
            }
        }
    }

    let mut configs: HashMap<PathBuf, Result<LintConfig, ConfigError>> = HashMap::new();
    let discovery = args.discovery();
    let mut reports = Vec::new();
    for (set, _) in &sets {
        let config_path = discovery.path_for(set);
        let config = match &config_path {
            Some(p) => configs
                .entry(p.clone())
                .or_insert_with(|| LintConfig::load(p))
                .clone(),
            None => Ok(LintConfig::default()),
        };
        let Ok(config) = config else {
            continue; // reported below, once per file; the set is not judged
        };
        let mut suppressed = Vec::new();
        let result = Policy::load(set).map(|policy| {
            let (findings, silenced) = judged(&policy, &config);
            suppressed = silenced;
            (policy, findings)
        });
        reports.push(SetReport {
            path: set.clone(),
            config: config_path,
            result,
            suppressed,
        });
    }
    if let Some(text) = from_stdin {
        // Standard input has no directory to search from: --config or none.
        let config_path = if args.no_config {
            None
        } else {
            args.config.clone()
        };
        let config = match &config_path {
            Some(p) => configs
                .entry(p.clone())
                .or_insert_with(|| LintConfig::load(p))
                .clone(),
            None => Ok(LintConfig::default()),
        };
        if let Ok(config) = config {
            let mut suppressed = Vec::new();
            let result = Policy::from_source(super::STDIN_NAME, text).map(|policy| {
                let (findings, silenced) = judged(&policy, &config);
                suppressed = silenced;
                (policy, findings)
            });
            reports.push(SetReport {
                path: PathBuf::from(super::STDIN_NAME),
                config: config_path,
                result,
                suppressed,
            });
        }
    }
    let mut config_errors: Vec<&ConfigError> =
        configs.values().filter_map(|c| c.as_ref().err()).collect();
    config_errors.sort_by(|a, b| a.path.cmp(&b.path));
    let invalid_config = !config_errors.is_empty();
    for e in config_errors {
        top_level.push(e.diagnostic());
    }

    let all: Vec<&Diagnostic> = top_level
        .iter()
        .chain(reports.iter().flat_map(|r| match &r.result {
            Ok((_, d)) | Err(d) => d.iter(),
        }))
        .collect();
    let errors = all
        .iter()
        .filter(|d| d.severity() == Severity::Error)
        .count();
    let warnings = all.len() - errors;
    let counts = Counts { errors, warnings };
    let written = match args.format {
        CheckFormat::Human => human(io, &top_level, &reports, counts),
        CheckFormat::Json => json(io, &top_level, &reports, counts),
        CheckFormat::Sarif => sarif(io, &top_level, &top_paths, &reports, &args.paths),
        CheckFormat::Github => github(io, &all, reports.len(), counts),
    };
    if let Err(e) = written {
        return super::output_failed(io, &e);
    }
    if invalid_config {
        return exit::POLICY;
    }
    // A path that does not exist is a usage error, as in every command;
    // a policy that does not compile is what `check` looks for: a finding.
    if top_level.iter().any(|d| d.code == crate::Code::Io) {
        return exit::USAGE;
    }
    let deny_warnings = args.deny == Some(Deny::Warnings);
    if errors > 0 || (deny_warnings && warnings > 0) {
        exit::FINDINGS
    } else {
        exit::OK
    }
}

#[derive(Clone, Copy)]
struct Counts {
    errors: usize,
    warnings: usize,
}

fn human(
    io: &mut Io<'_>,
    top: &Diagnostics,
    reports: &[SetReport],
    counts: Counts,
) -> std::io::Result<()> {
    for d in top.iter() {
        write!(io.stdout, "{}", render_one(d, io.color))?;
    }
    for r in reports {
        match &r.result {
            Ok((p, diagnostics)) => {
                for d in diagnostics.iter() {
                    write!(io.stdout, "{}", render_one(d, io.color))?;
                }
                let set = p.checked();
                // compiles, but a lint at error level still fails the set
                let status = if diagnostics.iter().any(|d| d.severity() == Severity::Error) {
                    "lint errors"
                } else {
                    "ok"
                };
                writeln!(
                    io.stdout,
                    "{status}: {} — policy \"{}\" version \"{}\", {} file{}, {} rule{}, {} tier{}",
                    r.path.display(),
                    set.name,
                    set.version,
                    set.files.len(),
                    plural(set.files.len()),
                    set.rules.len(),
                    plural(set.rules.len()),
                    set.tiers.len(),
                    plural(set.tiers.len()),
                )?;
            }
            Err(diags) => {
                for d in diags.iter() {
                    write!(io.stdout, "{}", render_one(d, io.color))?;
                }
                writeln!(io.stdout, "failed: {}", r.path.display())?;
            }
        }
    }
    summary(io, reports.len(), counts)
}

fn summary(io: &mut Io<'_>, sets: usize, counts: Counts) -> std::io::Result<()> {
    writeln!(
        io.stdout,
        "checked {} policy set{}: {} error{}, {} warning{}",
        sets,
        plural(sets),
        counts.errors,
        plural(counts.errors),
        counts.warnings,
        plural(counts.warnings)
    )
}

fn json(
    io: &mut Io<'_>,
    top: &Diagnostics,
    reports: &[SetReport],
    counts: Counts,
) -> std::io::Result<()> {
    let sets: Vec<serde_json::Value> = reports
        .iter()
        .map(|r| {
            let (ok, policy, diags) = match &r.result {
                Ok((p, d)) => (
                    true,
                    serde_json::json!({"name": p.name(), "version": p.version(), "digest": p.digest()}),
                    d,
                ),
                Err(d) => (false, serde_json::Value::Null, d),
            };
            serde_json::json!({
                "path": r.path.display().to_string(),
                "ok": ok,
                "policy": policy,
                "config": r.config.as_ref().map(|c| c.display().to_string()),
                "diagnostics": diags.iter().map(Diagnostic::to_json).collect::<Vec<_>>(),
            })
        })
        .collect();
    let doc = serde_json::json!({
        "errors": counts.errors,
        "warnings": counts.warnings,
        "diagnostics": top.iter().map(Diagnostic::to_json).collect::<Vec<_>>(),
        "sets": sets,
    });
    crate::eval::write_document(
        &mut *io.stdout,
        &crate::eval::DocumentFormat::CHECK,
        &doc,
        true,
    )
    .map_err(std::io::Error::other)?;
    writeln!(io.stdout)
}

fn sarif(
    io: &mut Io<'_>,
    top: &Diagnostics,
    top_paths: &[&Path],
    reports: &[SetReport],
    arguments: &[PathBuf],
) -> std::io::Result<()> {
    let suppressions: Vec<Vec<sarif::Suppression>> = reports
        .iter()
        .map(|r| {
            r.suppressed
                .iter()
                .map(|s| match &s.by {
                    SuppressedBy::Comment { reason } => sarif::Suppression::InSource {
                        reason: reason.clone(),
                    },
                    SuppressedBy::Config => sarif::Suppression::External {
                        justification: match &r.config {
                            Some(c) => format!("turned off in {}", c.display()),
                            None => "turned off in gatehouse.toml".to_owned(),
                        },
                    },
                })
                .collect()
        })
        .collect();
    // Never `zip`: a diagnostic without a recorded path must still be
    // reported (it then points at the repository root).
    let mut findings: Vec<sarif::Finding<'_>> = top
        .iter()
        .enumerate()
        .map(|(i, d)| sarif::Finding::new(d, top_paths.get(i).copied()))
        .collect();
    for (r, kinds) in reports.iter().zip(&suppressions) {
        let (Ok((_, diagnostics)) | Err(diagnostics)) = &r.result;
        findings.extend(
            diagnostics
                .iter()
                .map(|d| sarif::Finding::new(d, Some(&r.path))),
        );
        findings.extend(
            r.suppressed
                .iter()
                .zip(kinds)
                .map(|(s, kind)| sarif::Finding {
                    diagnostic: &s.diagnostic,
                    path: Some(&r.path),
                    suppression: Some(kind),
                }),
        );
    }
    write_sarif(io, &findings, &[], arguments)
}

fn write_sarif(
    io: &mut Io<'_>,
    findings: &[sarif::Finding<'_>],
    problems: &[sarif::ConfigProblem<'_>],
    arguments: &[PathBuf],
) -> std::io::Result<()> {
    // Without a current directory (deleted under us) relative paths are
    // resolved from `/`: still a valid log, never no output.
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    let base = sarif::Base::discover(arguments, &cwd);
    let doc = sarif::log(findings, problems, &base);
    let text = serde_json::to_string_pretty(&doc).map_err(std::io::Error::other)?;
    writeln!(io.stdout, "{text}")
}

fn github(
    io: &mut Io<'_>,
    all: &[&Diagnostic],
    sets: usize,
    counts: Counts,
) -> std::io::Result<()> {
    for d in all {
        writeln!(io.stdout, "{}", annotation(d))?;
    }
    summary(io, sets, counts)
}

/// One GitHub Actions workflow command for a diagnostic:
/// `::error file=..,line=..,col=..,endLine=..,endColumn=..,title=CODE name::message`.
fn annotation(d: &Diagnostic) -> String {
    let command = match d.severity() {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let mut properties = Vec::new();
    if let (Some(file), Some(label)) = (&d.file, d.labels.first()) {
        let (line, col) = file.line_col(label.span.start);
        let (end_line, end_col) = file.line_col(label.span.end.max(label.span.start));
        properties.push(format!("file={}", escape_property(&file.name)));
        properties.push(format!("line={line}"));
        properties.push(format!("col={col}"));
        properties.push(format!("endLine={end_line}"));
        properties.push(format!("endColumn={end_col}"));
    }
    properties.push(format!(
        "title={}",
        escape_property(&format!("{} {}", d.code.as_str(), d.code.name()))
    ));
    let mut message = d.message.clone();
    if !d.help.is_empty() {
        message.push_str("\nhelp: ");
        message.push_str(&d.help);
    }
    if let Some(example) = &d.example {
        message.push_str(&format!("\nexample input: {example}"));
    }
    format!(
        "::{command} {}::{}",
        properties.join(","),
        escape_data(&message)
    )
}

/// Escapes a workflow command's message: `%`, CR and LF.
fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow command's property value: as data, plus `:` and `,`.
fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// A compiled set's findings: the checker's warnings and the lints, with the
/// configured levels and suppressions applied to both alike; and the
/// findings silenced (SARIF reports them as `suppressions`).
fn judged(policy: &Policy, config: &LintConfig) -> (Diagnostics, Vec<config::Suppressed>) {
    let mut found = policy.warnings().0.clone();
    found.extend(lint::lint(policy));
    let (kept, silenced) = config::apply_keeping_suppressed(found, config, &policy.checked().files);
    (Diagnostics(kept), silenced)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workflow_commands_are_escaped() {
        assert_eq!(escape_data("50% of\r\nit"), "50%25 of%0D%0Ait");
        assert_eq!(escape_property("a:b,c%"), "a%3Ab%2Cc%25");
        let file = crate::source::SourceFile::new("a,b:c.gate", "tier 4 \"x\" {}\n");
        let mut d = Diagnostic::new(
            crate::Code::NoApprover,
            &file,
            crate::source::Span { start: 5, end: 6 },
            "100% of\nit, here: yes",
            "label",
            "fix\r\nit",
        );
        d.example = Some(serde_json::json!({"a": 1}));
        assert_eq!(
            annotation(&d),
            "::warning file=a%2Cb%3Ac.gate,line=1,col=6,endLine=1,endColumn=7,title=L0006 no-approver::100%25 of%0Ait, here: yes%0Ahelp: fix%0D%0Ait%0Aexample input: {\"a\":1}"
        );
    }
}

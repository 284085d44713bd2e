//! `gatehouse check`: every policy set under the given paths, every problem
//! in one run: syntax, names and types, then the lints of every set that
//! compiles, with the project's lint configuration applied.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use super::{Io, exit};
use crate::diagnostic::{Diagnostic, Diagnostics, Severity, render_one};
use crate::lint::config::{self, ConfigError, LintConfig};
use crate::{Policy, lint, loader};

/// Arguments of `gatehouse check`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  gatehouse check policies/                 # every policy set found under policies/\n  gatehouse check policies/refunds/main.gate\n  gatehouse check --format json policies/ > diagnostics.json\n  gatehouse check --format sarif policies/ > gatehouse.sarif     # GitHub code scanning\n  gatehouse check --format github --deny warnings policies/      # annotations in a GitHub Actions log\n\nA policy set is the .gate files directly inside one directory. Every set that compiles is also linted; `gatehouse rules` lists the lints and `gatehouse explain CODE` documents one. Lint levels come from the nearest gatehouse.toml above each set (`[lints]` then `threshold-gap = \"error\"`, `L0001 = \"off\"`); a comment `# gatehouse: allow(LINT) reason: \"...\"` on a finding's line, or alone on the line above, suppresses it.\n\nExit codes: 0 no errors (warnings allowed), 1 errors found (or warnings, with --deny warnings), 2 usage error (including an invalid gatehouse.toml)."
)]
pub struct CheckArgs {
    /// Policy files or directories; directories are searched for policy sets.
    #[arg(default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = CheckFormat::Human)]
    pub format: CheckFormat,
    /// Fail (exit 1) on warnings too: `--deny warnings`.
    #[arg(long, value_enum, value_name = "WHAT")]
    pub deny: Option<Deny>,
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
}

pub(super) fn run(args: &CheckArgs, io: &mut Io<'_>) -> u8 {
    let mut sets: Vec<(PathBuf, &Path)> = Vec::new();
    let mut top_level = Diagnostics::default();
    for path in &args.paths {
        if !path.exists() {
            top_level.push(Diagnostic::without_span(
                crate::Code::Io,
                format!(
                    "cannot read `{}`: no such file or directory",
                    path.display()
                ),
                "check the path",
            ));
            continue;
        }
        let found = loader::find_sets(path);
        if found.is_empty() {
            top_level.push(Diagnostic::without_span(
                crate::Code::EmptyPolicySet,
                format!("no `.gate` files under `{}`", path.display()),
                "policy files end in `.gate`",
            ));
        }
        for s in found {
            if !sets.iter().any(|(known, _)| *known == s) {
                sets.push((s, path.as_path()));
            }
        }
    }

    let mut configs: HashMap<PathBuf, Result<LintConfig, ConfigError>> = HashMap::new();
    let mut reports = Vec::new();
    for (set, argument) in &sets {
        let config_path = config::find(set, &config::boundary_for(set, argument));
        let config = match &config_path {
            Some(p) => configs
                .entry(p.clone())
                .or_insert_with(|| LintConfig::load(p))
                .clone(),
            None => Ok(LintConfig::default()),
        };
        let config = match config {
            Ok(c) => c,
            Err(_) => continue, // reported below, as a usage error
        };
        let result = Policy::load(set).map(|policy| {
            let findings = config::apply(lint::lint(&policy), &config, &policy.checked().files);
            let mut diagnostics = policy.warnings().clone();
            diagnostics.0.extend(findings);
            (policy, diagnostics)
        });
        reports.push(SetReport {
            path: set.clone(),
            config: config_path,
            result,
        });
    }
    let mut config_errors: Vec<&ConfigError> =
        configs.values().filter_map(|c| c.as_ref().err()).collect();
    if !config_errors.is_empty() {
        config_errors.sort_by(|a, b| a.path.cmp(&b.path));
        for e in config_errors {
            let _ = writeln!(
                io.stderr,
                "error: invalid {}: {}",
                e.path.display(),
                e.message
            );
        }
        let _ = writeln!(
            io.stderr,
            "gatehouse.toml holds lint levels only, e.g.\n[lints]\nthreshold-gap = \"error\"\nunreachable-rule = \"off\""
        );
        return exit::POLICY;
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
        CheckFormat::Sarif => sarif(io, &all),
        CheckFormat::Github => github(io, &all, reports.len(), counts),
    };
    if written.is_err() {
        return exit::POLICY;
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

fn sarif(io: &mut Io<'_>, all: &[&Diagnostic]) -> std::io::Result<()> {
    let base = std::env::current_dir().unwrap_or_default();
    let doc = lint::sarif::log(all.iter().copied(), &base);
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

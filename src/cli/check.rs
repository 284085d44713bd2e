//! `gatehouse check`: every policy set under the given paths, every problem
//! in one run.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::{Io, exit};
use crate::diagnostic::{Diagnostics, render_one};
use crate::{Policy, loader};

/// Arguments of `gatehouse check`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  gatehouse check policies/                 # every policy set found under policies/\n  gatehouse check policies/refunds/main.gate\n  gatehouse check --format json policies/ > diagnostics.json\n\nA policy set is the .gate files directly inside one directory. Exit codes: 0 no errors (warnings allowed), 1 errors found."
)]
pub struct CheckArgs {
    /// Policy files or directories; directories are searched for policy sets.
    #[arg(default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = CheckFormat::Human)]
    pub format: CheckFormat,
}

/// How `check` reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    /// Rendered diagnostics with source snippets.
    Human,
    /// One JSON document: every set and its diagnostics.
    Json,
}

pub(super) fn run(args: &CheckArgs, io: &mut Io<'_>) -> u8 {
    let mut sets = Vec::new();
    let mut top_level = Diagnostics::default();
    for path in &args.paths {
        if !path.exists() {
            top_level.push(crate::Diagnostic::without_span(
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
            top_level.push(crate::Diagnostic::without_span(
                crate::Code::EmptyPolicySet,
                format!("no `.gate` files under `{}`", path.display()),
                "policy files end in `.gate`",
            ));
        }
        for s in found {
            if !sets.contains(&s) {
                sets.push(s);
            }
        }
    }
    let mut results = Vec::new();
    for set in &sets {
        let result = Policy::load(set);
        results.push((set, result));
    }
    let mut errors = top_level.error_count();
    let mut warnings = top_level.warning_count();
    for (_, r) in &results {
        let d = match r {
            Ok(p) => p.warnings(),
            Err(d) => d,
        };
        errors += d.error_count();
        warnings += d.warning_count();
    }
    let written = match args.format {
        CheckFormat::Human => human(io, &top_level, &results, errors, warnings),
        CheckFormat::Json => json(io, &top_level, &results, errors, warnings),
    };
    if written.is_err() {
        return exit::POLICY;
    }
    if errors > 0 { exit::FINDINGS } else { exit::OK }
}

type SetResult<'a> = (&'a PathBuf, Result<Policy, Diagnostics>);

fn human(
    io: &mut Io<'_>,
    top: &Diagnostics,
    results: &[SetResult<'_>],
    errors: usize,
    warnings: usize,
) -> std::io::Result<()> {
    for d in top.iter() {
        write!(io.stdout, "{}", render_one(d, io.color))?;
    }
    for (path, r) in results {
        match r {
            Ok(p) => {
                for d in p.warnings().iter() {
                    write!(io.stdout, "{}", render_one(d, io.color))?;
                }
                let set = p.checked();
                writeln!(
                    io.stdout,
                    "ok: {} — policy \"{}\" version \"{}\", {} file{}, {} rule{}, {} tier{}",
                    path.display(),
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
                writeln!(io.stdout, "failed: {}", path.display())?;
            }
        }
    }
    writeln!(
        io.stdout,
        "checked {} policy set{}: {} error{}, {} warning{}",
        results.len(),
        plural(results.len()),
        errors,
        plural(errors),
        warnings,
        plural(warnings)
    )
}

fn json(
    io: &mut Io<'_>,
    top: &Diagnostics,
    results: &[SetResult<'_>],
    errors: usize,
    warnings: usize,
) -> std::io::Result<()> {
    let sets: Vec<serde_json::Value> = results
        .iter()
        .map(|(path, r)| {
            let (ok, policy, diags) = match r {
                Ok(p) => (
                    true,
                    serde_json::json!({"name": p.name(), "version": p.version(), "digest": p.digest()}),
                    p.warnings(),
                ),
                Err(d) => (false, serde_json::Value::Null, d),
            };
            serde_json::json!({
                "path": path.display().to_string(),
                "ok": ok,
                "policy": policy,
                "diagnostics": diags.iter().map(crate::Diagnostic::to_json).collect::<Vec<_>>(),
            })
        })
        .collect();
    let doc = serde_json::json!({
        "errors": errors,
        "warnings": warnings,
        "diagnostics": top.iter().map(crate::Diagnostic::to_json).collect::<Vec<_>>(),
        "sets": sets,
    });
    let text = serde_json::to_string_pretty(&doc).map_err(std::io::Error::other)?;
    writeln!(io.stdout, "{text}")
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

//! `gatehouse diff`: impact analysis of a policy change. Decides a corpus
//! of inputs (JSON lines of actions, or an audit log) with the old and the
//! new policy and reports which decisions change, how, and which rules
//! caused it.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use clap::{Args, ValueEnum};
use serde::Serialize;

use super::progress::Meter;
use super::{Io, exit};
use crate::Policy;
use crate::audit::impact::{
    self, Change, ChangeKind, DecisionSummary, DiffOptions, ImpactReport, Transition,
};
use crate::diagnostic::render_one;
use crate::loader::{EXTENSION, MAX_FILE_BYTES};

/// Arguments of `gatehouse diff`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  gatehouse diff policies/ai-agent-actions new/ai-agent-actions --inputs actions.jsonl\n  gatehouse diff main:policies/refunds policies/refunds --inputs audit.jsonl --fail-on loosen\n  gatehouse diff old.gate new.gate --inputs corpus.jsonl --format markdown > impact.md\n  zcat audit.jsonl.gz | gatehouse diff HEAD~1:refunds.gate refunds.gate --inputs - --format json\n\nOLD and NEW are a .gate file, a directory holding one policy set, or REV:PATH for a policy at a git revision (PATH from the repository root, as in `git show`; REV:./PATH from the current directory). Each line of the corpus is an action (a JSON object) or an audit record (an object with a string `record`; a \"decision\" record's action is its `input`, skipped when it was redacted or dropped). A decision changes when its outcome, tier, reason codes or approver roles differ. A progress bar is drawn on stderr when it is a terminal and CI is not set.\n\nExit codes: 0 compared (and --fail-on not triggered), 1 --fail-on triggered (loosen: a decision became less strict; change: any decision changed), 2 usage error or a policy does not compile, 3 the corpus cannot be read (or, with --fail-on, holds no input to compare), 101 the report cannot be written."
)]
pub struct DiffArgs {
    /// The policy before the change: a `.gate` file, a policy set directory, or `REV:PATH` in git.
    pub old: PathBuf,
    /// The policy after the change, in the same forms.
    pub new: PathBuf,
    /// The corpus: one JSON action or audit record per line; `-` reads stdin.
    #[arg(long, value_name = "FILE")]
    pub inputs: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = DiffFormat::Human)]
    pub format: DiffFormat,
    /// Exit 1 when a decision loosens (or, with `change`, when any changes).
    #[arg(long, value_enum, value_name = "WHAT")]
    pub fail_on: Option<FailOn>,
    /// Changes listed per transition; the rest are counted.
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub limit: usize,
    /// Never draw the progress bar.
    #[arg(long)]
    pub no_progress: bool,
}

/// How `diff` reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    /// The transitions as an aligned table, then the changed inputs.
    Human,
    /// A table and a collapsible list of changes, for a pull request comment.
    Markdown,
    /// One JSON document: counts, transitions, changes with line numbers.
    Json,
}

/// What makes `diff` exit 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// Any decision with a less strict outcome under the new policy.
    Loosen,
    /// Any changed decision: outcome, tier, reason codes or approver roles.
    Change,
}

/// A policy as named on the command line, with what was loaded.
struct Side {
    arg: String,
    policy: Policy,
}

pub(super) fn run(args: &DiffArgs, io: &mut Io<'_>) -> u8 {
    let Some(old) = load_side(&args.old, io) else {
        return exit::POLICY;
    };
    let Some(new) = load_side(&args.new, io) else {
        return exit::POLICY;
    };
    let options = DiffOptions::default().with_limit(args.limit);

    use std::io::IsTerminal;
    let draw =
        !args.no_progress && std::io::stderr().is_terminal() && std::env::var_os("CI").is_none();
    let from_stdin = args.inputs.as_os_str() == "-";
    let mut file_reader;
    let mut total_bytes = None;
    let corpus: &mut dyn BufRead = if from_stdin {
        &mut *io.stdin
    } else {
        match std::fs::File::open(&args.inputs) {
            Ok(f) => {
                total_bytes = f.metadata().ok().filter(|m| m.is_file()).map(|m| m.len());
                file_reader = std::io::BufReader::with_capacity(256 * 1024, f);
                &mut file_reader
            }
            Err(e) => {
                let _ = writeln!(
                    io.stderr,
                    "error: cannot read `{}`: {e}",
                    args.inputs.display()
                );
                return exit::INPUT;
            }
        }
    };
    let mut meter = Meter::new(total_bytes, draw);
    let result = impact::diff(&old.policy, &new.policy, corpus, &options, &mut |p| {
        meter.update(p);
    });
    meter.clear();
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            let _ = writeln!(
                io.stderr,
                "error: cannot read `{}`: {e}",
                super::source_name(&args.inputs)
            );
            return exit::INPUT;
        }
    };

    let written = match args.format {
        DiffFormat::Human => write_human(io.stdout, &old, &new, &report, args.limit),
        DiffFormat::Markdown => write_markdown(io.stdout, &old, &new, &report, args.limit),
        DiffFormat::Json => write_json(io.stdout, &old, &new, &report),
    };
    if let Err(e) = written {
        return super::output_failed(io, &e);
    }
    if report.unreadable > 0 {
        let _ = writeln!(
            io.stderr,
            "warning: {} of the corpus could not be read as an action or an audit record",
            plural(report.unreadable, "line")
        );
    }
    if report.inputs == 0 {
        // A gate (--fail-on) that compared nothing must not pass: a
        // compressed file, the wrong path or an empty export would
        // otherwise turn it green.
        if args.fail_on.is_some() {
            let _ = writeln!(
                io.stderr,
                "error: the corpus holds no input to compare, so --fail-on cannot judge the change"
            );
            return exit::INPUT;
        }
        let _ = writeln!(io.stderr, "warning: the corpus holds no input to compare");
    }
    match args.fail_on {
        Some(FailOn::Loosen) if report.loosens() => {
            let _ = writeln!(
                io.stderr,
                "error: {} less strict under the new policy (--fail-on loosen)",
                plural_verb(report.loosened, "decision becomes", "decisions become")
            );
            exit::FINDINGS
        }
        Some(FailOn::Change) if report.changed > 0 => {
            let _ = writeln!(
                io.stderr,
                "error: {} under the new policy (--fail-on change)",
                plural_verb(report.changed, "decision changes", "decisions change")
            );
            exit::FINDINGS
        }
        _ => exit::OK,
    }
}

// ---------------------------------------------------------------- policies --

fn load_side(arg: &Path, io: &mut Io<'_>) -> Option<Side> {
    let name = arg.display().to_string();
    let loaded = match git_source(arg) {
        Some((rev, path)) => match read_git_set(rev, path) {
            Ok(files) => Policy::from_sources(files),
            Err(message) => {
                let _ = writeln!(io.stderr, "error: cannot read `{name}` from git: {message}");
                return None;
            }
        },
        None => Policy::load(arg),
    };
    match loaded {
        Ok(policy) => Some(Side { arg: name, policy }),
        Err(diags) => {
            for d in diags.iter() {
                let _ = write!(io.stderr, "{}", render_one(d, io.color));
            }
            let _ = writeln!(
                io.stderr,
                "error: the policy at `{name}` does not compile ({} error{})",
                diags.error_count(),
                if diags.error_count() == 1 { "" } else { "s" }
            );
            None
        }
    }
}

/// `REV:PATH` when the argument is not a path on disk and has a revision
/// before a colon.
fn git_source(arg: &Path) -> Option<(&str, &str)> {
    if arg.exists() {
        return None;
    }
    let text = arg.to_str()?;
    let (rev, path) = text.split_once(':')?;
    (!rev.is_empty()).then_some((rev, path))
}

/// The `.gate` files of a policy set (or the one file) at a git revision, as
/// `(name, text)`. Names are `REV:PATH/file.gate`, so the policy digest (which
/// hashes base names) is the same as for the checked-out files.
fn read_git_set(rev: &str, path: &str) -> Result<Vec<(String, String)>, String> {
    let path = path.trim_end_matches('/');
    let object = format!("{rev}:{path}");
    let kind = git(&["cat-file", "-t", &object])?;
    let dir = if path.contains('/') {
        path.to_owned()
    } else if path.is_empty() {
        ".".to_owned()
    } else {
        format!("./{path}")
    };
    match String::from_utf8_lossy(&kind).trim() {
        "blob" => {
            let name = if path.contains('/') {
                object.clone()
            } else {
                format!("{rev}:{dir}")
            };
            Ok(vec![(name, blob_text(&object)?)])
        }
        "tree" => {
            let listing = git(&["ls-tree", "--full-tree", "-z", &object])?;
            let mut files = Vec::new();
            // Entries are `MODE TYPE HASH<TAB>NAME`, NUL-terminated, in name order.
            for entry in listing.split(|&b| b == 0).filter(|e| !e.is_empty()) {
                let entry = String::from_utf8_lossy(entry);
                let Some((meta, file)) = entry.split_once('\t') else {
                    continue;
                };
                let mut meta = meta.split(' ');
                let (Some(_mode), Some(kind), Some(hash)) = (meta.next(), meta.next(), meta.next())
                else {
                    continue;
                };
                let is_gate = Path::new(file).extension().is_some_and(|e| e == EXTENSION);
                if kind == "blob" && is_gate {
                    files.push((format!("{rev}:{dir}/{file}"), blob_text(hash)?));
                }
            }
            if files.is_empty() {
                return Err(format!("no `.{EXTENSION}` files directly in `{object}`"));
            }
            Ok(files)
        }
        other => Err(format!(
            "`{object}` is a {other}, not a file or a directory"
        )),
    }
}

fn blob_text(object: &str) -> Result<String, String> {
    let bytes = git(&["cat-file", "blob", object])?;
    if bytes.len() > MAX_FILE_BYTES {
        return Err(format!(
            "`{object}` is {} bytes; the limit is {MAX_FILE_BYTES}",
            bytes.len()
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        format!(
            "`{object}` is not valid UTF-8 (at byte {})",
            e.utf8_error().valid_up_to()
        )
    })
}

/// Runs git in the current directory; its stderr is the error.
fn git(args: &[&str]) -> Result<Vec<u8>, String> {
    let out = Command::new("git")
        .args(args)
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if out.status.success() {
        Ok(out.stdout)
    } else {
        let stderr = String::from_utf8_lossy(&out.stderr);
        Err(format!(
            "`git {}` failed: {}",
            args.join(" "),
            stderr.trim()
        ))
    }
}

// ------------------------------------------------------------------ output --

fn plural(n: u64, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

fn plural_verb(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

fn policy_label(side: &Side) -> String {
    format!(
        "{} {}, {}",
        side.policy.name(),
        side.policy.version(),
        short_digest(side.policy.digest())
    )
}

/// `sha256:` and the first 12 hex digits: enough to tell policies apart.
fn short_digest(digest: &str) -> &str {
    digest.get(..19).unwrap_or(digest)
}

fn change_label(kind: ChangeKind) -> &'static str {
    match kind {
        ChangeKind::Loosen => "loosen",
        ChangeKind::Tighten => "tighten",
        ChangeKind::SameOutcome => "same outcome",
    }
}

/// `explicit (tier 3)`.
fn outcome_with_tier(d: &DecisionSummary) -> String {
    match &d.tier {
        Some(t) => format!("{} (tier {})", d.outcome, t.id),
        None => d.outcome.to_string(),
    }
}

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_owned()
    } else {
        items.join(", ")
    }
}

/// The input on one line, cut at `max` characters.
fn input_snippet(input: &serde_json::Value, max: usize) -> String {
    let text = serde_json::to_string(input).unwrap_or_default();
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}...", text.get(..cut).unwrap_or_default()),
        None => text,
    }
}

/// Counts of what was not compared: records without input, other records,
/// unreadable lines.
fn skipped_summary(r: &ImpactReport) -> Vec<String> {
    let mut out = Vec::new();
    if r.no_input_recorded > 0 {
        out.push(format!(
            "{} without a complete input (redacted or dropped)",
            plural(r.no_input_recorded, "audit record")
        ));
    }
    if r.other_records > 0 {
        out.push(format!(
            "{} of another kind",
            plural(r.other_records, "audit record")
        ));
    }
    if r.unreadable > 0 {
        out.push(plural(r.unreadable, "unreadable line"));
    }
    out
}

/// The rules behind a transition, in words:
/// `large_refund newly matches (12), refund no longer matches (12)`.
fn rule_causes(t: &Transition, code: fn(&str) -> String) -> String {
    let mut parts = Vec::new();
    for r in &t.rules {
        for (n, what) in [
            (r.newly_matched, "newly matches"),
            (r.no_longer_matched, "no longer matches"),
            (r.changed, "asks for something else"),
        ] {
            if n > 0 {
                parts.push(format!("{} {what} ({n})", code(&r.rule)));
            }
        }
    }
    if parts.is_empty() {
        "no rule matches differently: tiers, roles, evidence or the schema changed".to_owned()
    } else {
        parts.join(", ")
    }
}

/// What changed in the rules for one input, in words.
fn change_rules(c: &Change, code: fn(&str) -> String) -> String {
    let names = |v: &[String]| v.iter().map(|n| code(n)).collect::<Vec<_>>().join(", ");
    let mut parts = Vec::new();
    if !c.rules.newly_matched.is_empty() {
        parts.push(format!("newly matches {}", names(&c.rules.newly_matched)));
    }
    if !c.rules.no_longer_matched.is_empty() {
        parts.push(format!(
            "no longer matches {}",
            names(&c.rules.no_longer_matched)
        ));
    }
    if !c.rules.changed.is_empty() {
        parts.push(format!(
            "asks for something else: {}",
            names(&c.rules.changed)
        ));
    }
    if parts.is_empty() {
        parts.push("the same rules match".to_owned());
    }
    parts.join("; ")
}

/// ` (record dec_...)` for an input read from an audit record.
fn record_suffix(c: &Change) -> String {
    c.record
        .as_ref()
        .map(|id| format!(" (record {id})"))
        .unwrap_or_default()
}

fn plain(s: &str) -> String {
    s.to_owned()
}

fn write_human(
    out: &mut dyn Write,
    old: &Side,
    new: &Side,
    r: &ImpactReport,
    limit: usize,
) -> std::io::Result<()> {
    writeln!(out, "old: {} ({})", old.arg, policy_label(old))?;
    writeln!(out, "new: {} ({})", new.arg, policy_label(new))?;
    if old.policy.digest() == new.policy.digest() {
        writeln!(
            out,
            "note: both are the same policy (same digest): nothing can change"
        )?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "{}, {}: {} changed ({} loosen, {} tighten, {} same outcome), {} unchanged",
        plural(r.lines, "line"),
        plural(r.inputs, "input"),
        r.changed,
        r.loosened,
        r.tightened,
        r.same_outcome,
        r.unchanged
    )?;
    let skipped = skipped_summary(r);
    if !skipped.is_empty() {
        writeln!(out, "not compared: {}", skipped.join(", "))?;
    }
    writeln!(out)?;

    let mut rows: Vec<[String; 3]> = vec![[
        "transition".to_owned(),
        "inputs".to_owned(),
        "change".to_owned(),
    ]];
    for t in &r.transitions {
        rows.push([
            format!("{} -> {}", t.old, t.new),
            t.count.to_string(),
            change_label(t.change).to_owned(),
        ]);
    }
    rows.push([
        "unchanged".to_owned(),
        r.unchanged.to_string(),
        String::new(),
    ]);
    let first = rows.iter().map(|r| r[0].len()).max().unwrap_or(0);
    let second = rows.iter().map(|r| r[1].len()).max().unwrap_or(0);
    for [transition, count, change] in &rows {
        let line = format!("  {transition:<first$}  {count:>second$}  {change}");
        writeln!(out, "{}", line.trim_end())?;
    }

    for t in &r.transitions {
        writeln!(out)?;
        writeln!(
            out,
            "{} -> {}: {} ({})",
            t.old,
            t.new,
            plural(t.count, "input"),
            change_label(t.change)
        )?;
        writeln!(out, "  rules: {}", rule_causes(t, plain))?;
        for c in &t.examples {
            writeln!(out)?;
            writeln!(
                out,
                "  line {}{}: {} -> {}",
                c.line,
                record_suffix(c),
                outcome_with_tier(&c.old),
                outcome_with_tier(&c.new)
            )?;
            writeln!(
                out,
                "    reasons      {} -> {}",
                list_or_none(&c.old.reasons),
                list_or_none(&c.new.reasons)
            )?;
            if c.old.approvers != c.new.approvers {
                writeln!(
                    out,
                    "    approvers    {} -> {}",
                    list_or_none(&c.old.approvers),
                    list_or_none(&c.new.approvers)
                )?;
            }
            writeln!(out, "    rules        {}", change_rules(c, plain))?;
            writeln!(
                out,
                "    determining  {} -> {}",
                list_or_none(&c.old.determining),
                list_or_none(&c.new.determining)
            )?;
            for e in &c.new.input_errors {
                writeln!(out, "    invalid now  {e}")?;
            }
            writeln!(out, "    input        {}", input_snippet(&c.input, 160))?;
        }
        if t.more > 0 {
            writeln!(out)?;
            writeln!(out, "  ... and {} more (--limit {limit})", t.more)?;
        }
    }

    if !r.unreadable_lines.is_empty() {
        writeln!(out)?;
        if r.unreadable > r.unreadable_lines.len() as u64 {
            writeln!(
                out,
                "{} (the first {} listed):",
                plural(r.unreadable, "unreadable line"),
                r.unreadable_lines.len()
            )?;
        } else {
            writeln!(out, "{}:", plural(r.unreadable, "unreadable line"))?;
        }
        for u in &r.unreadable_lines {
            writeln!(out, "  line {}: {}", u.line, u.message)?;
        }
    }
    Ok(())
}

/// A Markdown code span that holds any text: the fence is longer than any
/// run of backticks inside, and padded when the text touches a backtick.
fn code(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{text}{pad}{fence}")
}

fn code_list(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_owned()
    } else {
        items.iter().map(|i| code(i)).collect::<Vec<_>>().join(", ")
    }
}

fn md_outcome(d: &DecisionSummary) -> String {
    match &d.tier {
        Some(t) => format!("{} (tier {})", code(d.outcome.as_str()), t.id),
        None => code(d.outcome.as_str()),
    }
}

fn write_markdown(
    out: &mut dyn Write,
    old: &Side,
    new: &Side,
    r: &ImpactReport,
    limit: usize,
) -> std::io::Result<()> {
    if r.changed == 0 {
        writeln!(
            out,
            "### Policy impact: no decision changes ({})",
            plural(r.inputs, "input")
        )?;
    } else if r.loosened > 0 {
        writeln!(
            out,
            "### Policy impact: {} of {} decisions change, {} loosen",
            r.changed, r.inputs, r.loosened
        )?;
    } else {
        writeln!(
            out,
            "### Policy impact: {} of {} decisions change",
            r.changed, r.inputs
        )?;
    }
    writeln!(out)?;
    for (label, side) in [("Old", old), ("New", new)] {
        writeln!(
            out,
            "{label}: {} ({} {}, {})  ",
            code(&side.arg),
            side.policy.name(),
            side.policy.version(),
            code(short_digest(side.policy.digest()))
        )?;
    }
    writeln!(out)?;
    writeln!(out, "| old | new | inputs | change |")?;
    writeln!(out, "|---|---|---:|---|")?;
    for t in &r.transitions {
        let change = match t.change {
            ChangeKind::Loosen => "**loosen**",
            other => change_label(other),
        };
        writeln!(out, "| {} | {} | {} | {change} |", t.old, t.new, t.count)?;
    }
    writeln!(out, "| unchanged | | {} | |", r.unchanged)?;
    let skipped = skipped_summary(r);
    if !skipped.is_empty() {
        writeln!(out)?;
        writeln!(out, "Not compared: {}.", skipped.join(", "))?;
    }

    for t in &r.transitions {
        writeln!(out)?;
        writeln!(out, "<details>")?;
        writeln!(
            out,
            "<summary>{} → {}: {} ({})</summary>",
            t.old,
            t.new,
            plural(t.count, "input"),
            change_label(t.change)
        )?;
        writeln!(out)?;
        writeln!(out, "Rules: {}", rule_causes(t, code))?;
        writeln!(out)?;
        for c in &t.examples {
            writeln!(
                out,
                "- line {}{}: {} → {}",
                c.line,
                record_suffix(c),
                md_outcome(&c.old),
                md_outcome(&c.new)
            )?;
            writeln!(
                out,
                "  - reasons: {} → {}",
                code_list(&c.old.reasons),
                code_list(&c.new.reasons)
            )?;
            if c.old.approvers != c.new.approvers {
                writeln!(
                    out,
                    "  - approvers: {} → {}",
                    code_list(&c.old.approvers),
                    code_list(&c.new.approvers)
                )?;
            }
            writeln!(out, "  - rules: {}", change_rules(c, code))?;
            writeln!(out, "  - input: {}", code(&input_snippet(&c.input, 160)))?;
        }
        if t.more > 0 {
            writeln!(out)?;
            writeln!(out, "… and {} more (`--limit {limit}`).", t.more)?;
        }
        writeln!(out)?;
        writeln!(out, "</details>")?;
    }

    if !r.unreadable_lines.is_empty() {
        writeln!(out)?;
        writeln!(out, "<details>")?;
        writeln!(
            out,
            "<summary>{}</summary>",
            plural(r.unreadable, "unreadable line")
        )?;
        writeln!(out)?;
        for u in &r.unreadable_lines {
            writeln!(out, "- line {}: {}", u.line, code(&u.message))?;
        }
        if r.unreadable > r.unreadable_lines.len() as u64 {
            writeln!(
                out,
                "- … and {} more",
                r.unreadable - r.unreadable_lines.len() as u64
            )?;
        }
        writeln!(out)?;
        writeln!(out, "</details>")?;
    }
    Ok(())
}

/// One policy in the JSON report.
#[derive(Serialize)]
struct JsonPolicy<'a> {
    source: &'a str,
    name: &'a str,
    version: &'a str,
    digest: &'a str,
}

impl<'a> JsonPolicy<'a> {
    fn of(side: &'a Side) -> JsonPolicy<'a> {
        JsonPolicy {
            source: &side.arg,
            name: side.policy.name(),
            version: side.policy.version(),
            digest: side.policy.digest(),
        }
    }
}

/// The JSON report: both policies, then the impact report's fields.
#[derive(Serialize)]
struct JsonReport<'a> {
    old: JsonPolicy<'a>,
    new: JsonPolicy<'a>,
    #[serde(flatten)]
    report: &'a ImpactReport,
}

fn write_json(
    out: &mut dyn Write,
    old: &Side,
    new: &Side,
    r: &ImpactReport,
) -> std::io::Result<()> {
    let doc = JsonReport {
        old: JsonPolicy::of(old),
        new: JsonPolicy::of(new),
        report: r,
    };
    crate::eval::write_document(&mut *out, &crate::eval::DocumentFormat::DIFF, &doc, true)
        .map_err(std::io::Error::other)?;
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_spans_hold_backticks() {
        assert_eq!(code("a"), "`a`");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`a"), "`` `a ``");
    }

    #[test]
    fn rev_colon_path_is_git_only_when_no_such_path_exists() {
        assert_eq!(
            git_source(Path::new("main:policies/x")),
            Some(("main", "policies/x"))
        );
        assert_eq!(git_source(Path::new(":x")), None);
        assert_eq!(git_source(Path::new("src")), None);
    }
}

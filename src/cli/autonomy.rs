//! `gatehouse autonomy`: the autonomy report over an audit history (a JSONL
//! file, standard input, or the service's store). Glue only: the reading,
//! the statistics, the candidates and the renderers are in
//! crates/gatehouse-autonomy (docs/autonomy.md).

use std::io::{BufRead, BufReader, Seek as _, Write};
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use gatehouse_autonomy::relax;
use gatehouse_autonomy::{BoundMethod, Bucket, Dimension, Ingest, Options, Report};

use super::{Io, exit};

/// Arguments of `gatehouse autonomy`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  gatehouse autonomy audit.jsonl\n  gatehouse autonomy audit.jsonl --policy policies/ai-agent-actions   # what relaxing each candidate would change\n  curl -s $G/v1/audit -H \"Authorization: Bearer $ADMIN\" | gatehouse autonomy - --format json\n  gatehouse autonomy --data-dir /var/lib/gatehouse --since 2026-11-01T00:00:00Z --format html --output autonomy.html\n  gatehouse autonomy --database-url postgres://gatehouse@db/gatehouse --format markdown > comment.md\n  gatehouse autonomy audit.jsonl --min-cases 500 --confidence 0.99 --max-rejection-rate 0.01 --bound wilson\n  gatehouse autonomy audit.jsonl --fail-on less        # in CI: exit 1 when a rule should do less\n\nA candidate for more autonomy is a rule or tier whose actions are held for people, with at least --min-cases human decisions and an upper confidence bound on its rejection rate (rejected or sent back, over decided) at most --max-rejection-rate. A candidate for less is one whose sampled auto actions were rejected after the fact, or whose held actions' lower bound is above --less-rejection-rate. See docs/autonomy.md.\nExit codes: 0 the report was written, 1 --fail-on less and a candidate for less exists (or the database cannot be reached), 2 usage error or a policy that does not compile, 3 the history cannot be read, 101 the output cannot be written."
)]
pub struct AutonomyArgs {
    /// The audit history: JSON lines (the service's `GET /v1/audit`, or `eval --audit-log`); `-` for stdin.
    #[arg(value_name = "LOG")]
    pub log: Option<PathBuf>,
    /// Read the service's store instead: its TOML configuration (only `data_dir` and `[store]` matter).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Read the service's PostgreSQL store (`postgres://user:password@host/db`).
    #[arg(long, value_name = "URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Read the service's SQLite store in this data directory.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Only requests decided at or after this instant (RFC 3339).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Only requests decided before this instant (RFC 3339).
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    pub format: AutonomyFormat,
    /// Write the report to FILE (atomically) instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// The enforced policy set: each rule candidate is relaxed in it and decided over the history's inputs.
    #[arg(long, short, value_name = "PATH")]
    pub policy: Option<PathBuf>,
    /// The auto tier a relaxed rule is rewritten to (default: the lowest-numbered auto tier).
    #[arg(long, value_name = "N")]
    pub relax_to_tier: Option<u32>,
    /// Human decisions a rule or tier needs before it can be a candidate for more.
    #[arg(long, value_name = "N", default_value_t = 200)]
    pub min_cases: u64,
    /// Two-sided confidence of the bounds, strictly between 0 and 1.
    #[arg(long, value_name = "P", default_value_t = 0.95)]
    pub confidence: f64,
    /// The most the rejection rate's upper bound may be for more autonomy (0 to 1).
    #[arg(long, value_name = "RATE", default_value_t = 0.02)]
    pub max_rejection_rate: f64,
    /// A held rule whose rejection rate's lower bound exceeds this is a candidate for less (0 to 1).
    #[arg(long, value_name = "RATE", default_value_t = 0.10)]
    pub less_rejection_rate: f64,
    /// The confidence bound used.
    #[arg(long, value_enum, default_value = "clopper-pearson")]
    pub bound: BoundArg,
    /// Time buckets of the timeline.
    #[arg(long, value_enum, default_value = "week")]
    pub bucket: BucketArg,
    /// The input attribute the report groups targets by.
    #[arg(long, value_name = "PATH", default_value = "action.target")]
    pub target: String,
    /// Exit 1 when a candidate for less autonomy exists.
    #[arg(long, value_enum)]
    pub fail_on: Option<FailOn>,
}

/// `--format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum AutonomyFormat {
    /// Aligned text.
    Human,
    /// The report document (`gatehouse.autonomy/1`).
    Json,
    /// For a pull request comment.
    Markdown,
    /// One self-contained file with charts.
    Html,
}

/// `--bound`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum BoundArg {
    /// Wilson score interval.
    Wilson,
    /// Clopper-Pearson (exact).
    ClopperPearson,
}

/// `--bucket`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum BucketArg {
    /// UTC days.
    Day,
    /// ISO weeks.
    Week,
}

/// `--fail-on`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// A candidate for less autonomy.
    Less,
}

/// Longest `--target` path accepted, in segments.
const MAX_TARGET_SEGMENTS: usize = 16;
/// Audit lines fetched per page from the store.
const PAGE_LINES: u32 = 1000;
/// Bytes fetched per page from the store (the API's page bound).
const PAGE_BYTES: usize = 8 * 1024 * 1024;

fn usage(io: &mut Io<'_>, message: &str) -> u8 {
    let _ = writeln!(io.stderr, "error: {message}");
    exit::USAGE
}

fn instant(text: &str, flag: &str) -> Result<i64, String> {
    let t = gatehouse::values::Timestamp::parse(text).ok_or_else(|| {
        format!("{flag} `{text}` is not an RFC 3339 instant (2026-11-01T00:00:00Z)")
    })?;
    Ok(t.unix_seconds().saturating_mul(1000))
}

fn options_of(args: &AutonomyArgs) -> Result<Options, String> {
    let mut o = Options::default();
    if !(args.confidence > 0.0 && args.confidence < 1.0) {
        return Err(format!(
            "--confidence must be strictly between 0 and 1 (got {})",
            args.confidence
        ));
    }
    for (flag, v) in [
        ("--max-rejection-rate", args.max_rejection_rate),
        ("--less-rejection-rate", args.less_rejection_rate),
    ] {
        if !(0.0..=1.0).contains(&v) {
            return Err(format!("{flag} must be between 0 and 1 (got {v})"));
        }
    }
    let target: Vec<String> = args.target.split('.').map(str::to_owned).collect();
    if target.iter().any(String::is_empty) || target.len() > MAX_TARGET_SEGMENTS {
        return Err(format!(
            "--target must be a dotted attribute path of at most {MAX_TARGET_SEGMENTS} non-empty names (got `{}`)",
            args.target
        ));
    }
    o.confidence = args.confidence;
    o.max_rejection_rate = args.max_rejection_rate;
    o.less_rejection_rate = args.less_rejection_rate;
    o.min_cases = args.min_cases;
    o.method = match args.bound {
        BoundArg::Wilson => BoundMethod::Wilson,
        BoundArg::ClopperPearson => BoundMethod::ClopperPearson,
    };
    o.bucket = match args.bucket {
        BucketArg::Day => Bucket::Day,
        BucketArg::Week => Bucket::Week,
    };
    o.target = target;
    o.since_ms = args
        .since
        .as_deref()
        .map(|t| instant(t, "--since"))
        .transpose()?;
    o.until_ms = args
        .until
        .as_deref()
        .map(|t| instant(t, "--until"))
        .transpose()?;
    Ok(o)
}

fn uses_store(args: &AutonomyArgs) -> bool {
    args.config.is_some() || args.database_url.is_some() || args.data_dir.is_some()
}

pub(super) fn run(args: &AutonomyArgs, io: &mut Io<'_>) -> u8 {
    let options = match options_of(args) {
        Ok(o) => o,
        Err(e) => return usage(io, &e),
    };
    if uses_store(args) == args.log.is_some() {
        return usage(
            io,
            "give either a LOG (a file or `-`) or the store (--data-dir, --database-url or --config), not both or neither",
        );
    }
    let policy = match &args.policy {
        Some(p) => match super::load_policy(p, io) {
            Ok(policy) => match gatehouse::loader::read_set(p) {
                Ok(files) => Some((policy, files)),
                Err(_) => return exit::POLICY,
            },
            Err(code) => return code,
        },
        None => None,
    };
    let mut ingest = Ingest::new(options);
    // With a policy the history is read twice (the relax diff decides its
    // inputs again): standard input and the store are kept in a temporary
    // file for the second pass.
    let mut spool: Option<std::fs::File> = None;
    let mut policy = policy;
    let code = if uses_store(args) {
        // Without --policy the store's own copy of the policy the history
        // names most is used, so the store is spooled either way.
        match tempfile::tempfile() {
            Ok(f) => spool = Some(f),
            Err(e) => return usage(io, &format!("cannot create a temporary file: {e}")),
        }
        let (code, stored) = read_store(args, &mut ingest, spool.as_mut(), policy.is_none(), io);
        if policy.is_none() {
            policy = stored;
        }
        code
    } else {
        let log = args.log.as_deref().unwrap_or(Path::new("-"));
        read_log(log, &mut ingest, policy.is_some(), &mut spool, io)
    };
    if code != exit::OK {
        return code;
    }
    let mut report = ingest.finish();
    if let Some((policy, files)) = &policy {
        if let Err(code) = relax_candidates(args, &mut report, policy, files, spool.as_mut(), io) {
            return code;
        }
    } else {
        for c in &mut report.candidates.more {
            c.relax_note = Some("give --policy to see what relaxing it would change".to_owned());
        }
    }
    if let Err(code) = write_report(args, &report, io) {
        return code;
    }
    if report.input.malformed + report.input.oversized > 0 {
        let _ = writeln!(
            io.stderr,
            "warning: {} line(s) of the history could not be read as audit records ({} oversized)",
            report.input.malformed + report.input.oversized,
            report.input.oversized
        );
    }
    if args.fail_on == Some(FailOn::Less) && !report.candidates.less.is_empty() {
        return exit::FINDINGS;
    }
    exit::OK
}

fn read_log(
    log: &Path,
    ingest: &mut Ingest,
    spooled: bool,
    spool: &mut Option<std::fs::File>,
    io: &mut Io<'_>,
) -> u8 {
    if super::is_stdin(log) {
        if spooled {
            let mut file = match tempfile::tempfile() {
                Ok(f) => f,
                Err(e) => return usage(io, &format!("cannot create a temporary file: {e}")),
            };
            if let Err(e) = std::io::copy(&mut *io.stdin, &mut file).and_then(|_| file.rewind()) {
                return super::log_unreadable(io, log, &e);
            }
            let read = ingest.read(BufReader::new(&file));
            *spool = Some(file);
            return match read {
                Ok(()) => exit::OK,
                Err(e) => super::log_unreadable(io, log, &e),
            };
        }
        return match ingest.read(&mut *io.stdin) {
            Ok(()) => exit::OK,
            Err(e) => super::log_unreadable(io, log, &e),
        };
    }
    let file = match std::fs::File::open(log) {
        Ok(f) => f,
        Err(e) => return super::log_unreadable(io, log, &e),
    };
    if file.metadata().is_ok_and(|m| m.is_dir()) {
        return super::log_unreadable(io, log, &"is a directory");
    }
    match ingest.read(BufReader::with_capacity(256 * 1024, file)) {
        Ok(()) => exit::OK,
        Err(e) => super::log_unreadable(io, log, &e),
    }
}

fn store_config(args: &AutonomyArgs) -> Result<gatehouse_server::ServerConfig, String> {
    let mut config = match &args.config {
        Some(path) => {
            let text = crate::input::read_file_limited(path, 1024 * 1024)
                .map_err(|e| format!("cannot read the configuration `{}`: {e}", path.display()))?;
            gatehouse_server::ServerConfig::from_toml(&text)
                .map_err(|e| format!("invalid configuration `{}`: {e}", path.display()))?
        }
        None => gatehouse_server::ServerConfig::default(),
    };
    if let Some(d) = &args.data_dir {
        config.data_dir = d.clone();
    }
    if let Some(url) = &args.database_url {
        config.store.url = Some(url.clone());
    }
    if let Some(url) = config.store.url.as_deref() {
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err("the database URL must start with `postgres://` or `postgresql://` (leave it unset for SQLite in the data directory)".to_owned());
        }
        gatehouse_server::store::connect_options(url).map_err(|e| e.detail)?;
    } else if !config
        .data_dir
        .join(gatehouse_server::DATABASE_FILE)
        .is_file()
    {
        return Err(format!(
            "no gatehouse database in `{}` (expected `{}`)",
            config.data_dir.display(),
            gatehouse_server::DATABASE_FILE
        ));
    }
    Ok(config)
}

/// Reads the store's audit chain page by page (as `GET /v1/audit` does).
/// A policy set and its files.
type PolicyFiles = (
    gatehouse::Policy,
    Vec<std::sync::Arc<gatehouse::source::SourceFile>>,
);

/// Reads the store's audit chain page by page (as `GET /v1/audit` does);
/// with `want_policy`, also the store's copy of the policy set the
/// history's decisions name most (when it is kept and still compiles to
/// its digest).
fn read_store(
    args: &AutonomyArgs,
    ingest: &mut Ingest,
    mut spool: Option<&mut std::fs::File>,
    want_policy: bool,
    io: &mut Io<'_>,
) -> (u8, Option<PolicyFiles>) {
    let config = match store_config(args) {
        Ok(c) => c,
        Err(e) => return (usage(io, &e), None),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            let _ = writeln!(io.stderr, "error: cannot start the runtime: {e}");
            return (exit::INTERNAL, None);
        }
    };
    let result: Result<Option<PolicyFiles>, String> = runtime.block_on(async {
        let store = gatehouse_server::store::open(&config)
            .await
            .map_err(|e| e.detail)?;
        let mut after = 0_i64;
        loop {
            let (page, more) = store
                .audit_after(after, PAGE_LINES, PAGE_BYTES)
                .await
                .map_err(|e| e.detail)?;
            for (seq, line) in &page {
                ingest.push_line(line.as_bytes());
                if let Some(f) = spool.as_deref_mut() {
                    writeln!(f, "{line}")
                        .map_err(|e| format!("cannot write the temporary file: {e}"))?;
                }
                after = *seq;
            }
            if !more || page.is_empty() {
                break;
            }
        }
        let Some(seen) = ingest.policies().iter().max_by_key(|p| p.decisions) else {
            return Ok(None);
        };
        if !want_policy {
            return Ok(None);
        }
        let stored = store
            .policy_sources(&seen.digest)
            .await
            .map_err(|e| e.detail)?;
        Ok(stored.and_then(|s| stored_policy(&s, &seen.digest)))
    });
    match result {
        Ok(policy) => {
            if let Some(f) = spool
                && let Err(e) = f.rewind()
            {
                let _ = writeln!(io.stderr, "error: cannot read the temporary file: {e}");
                return (exit::INTERNAL, None);
            }
            (exit::OK, policy)
        }
        Err(e) => {
            // The store's messages name the host, never the password.
            let _ = writeln!(io.stderr, "error: {e}");
            (exit::DATABASE, None)
        }
    }
}

/// The store's sources (`[{"name", "text"}]`) compiled, when they still
/// compile to `digest` (anything else is no policy: no relax diff).
fn stored_policy(sources: &serde_json::Value, digest: &str) -> Option<PolicyFiles> {
    let files: Vec<_> = sources
        .as_array()?
        .iter()
        .map(|f| {
            let name = f.get("name")?.as_str()?;
            let text = f.get("text")?.as_str()?;
            Some(gatehouse::source::SourceFile::new(name, text))
        })
        .collect::<Option<_>>()?;
    let policy = gatehouse::Policy::from_files(files.clone()).ok()?;
    (policy.digest() == digest).then_some((policy, files))
}

/// Fills each rule candidate's relax diff.
fn relax_candidates(
    args: &AutonomyArgs,
    report: &mut Report,
    policy: &gatehouse::Policy,
    files: &[std::sync::Arc<gatehouse::source::SourceFile>],
    mut spool: Option<&mut std::fs::File>,
    io: &mut Io<'_>,
) -> Result<(), u8> {
    let tier = relax::auto_tier(policy, args.relax_to_tier);
    if let Err(relax::RelaxError::NotAnAutoTier(n)) = tier {
        return Err(usage(
            io,
            &format!("--relax-to-tier {n}: tier {n} is not an auto tier of the policy"),
        ));
    }
    for c in &mut report.candidates.more {
        if c.dimension != Dimension::Rule {
            c.relax_note =
                Some("a tier is relaxed through the rules that place actions in it".to_owned());
            continue;
        }
        let tier = match &tier {
            Ok(t) => *t,
            Err(e) => {
                c.relax_note = Some(e.to_string());
                continue;
            }
        };
        let relaxed = match relax::relax_rule(files, &c.key, tier).and_then(relax::compile) {
            Ok(p) => p,
            Err(e) => {
                c.relax_note = Some(e.to_string());
                continue;
            }
        };
        let history: Box<dyn BufRead> = match (&mut spool, &args.log) {
            (Some(f), _) => {
                if let Err(e) = f.rewind() {
                    let _ = writeln!(io.stderr, "error: cannot read the temporary file: {e}");
                    return Err(exit::INTERNAL);
                }
                match f.try_clone() {
                    Ok(clone) => Box::new(BufReader::new(clone)),
                    Err(e) => {
                        let _ = writeln!(io.stderr, "error: cannot read the temporary file: {e}");
                        return Err(exit::INTERNAL);
                    }
                }
            }
            (None, Some(path)) => match std::fs::File::open(path) {
                Ok(f) => Box::new(BufReader::with_capacity(256 * 1024, f)),
                Err(e) => return Err(super::log_unreadable(io, path, &e)),
            },
            (None, None) => return Ok(()),
        };
        match relax::impact(policy, &relaxed, tier, history, c.outcome) {
            Ok(impact) => c.relax = Some(impact),
            Err(e) => {
                let name = args.log.as_deref().unwrap_or(Path::new("-"));
                return Err(super::log_unreadable(io, name, &e));
            }
        }
    }
    Ok(())
}

fn write_report(args: &AutonomyArgs, report: &Report, io: &mut Io<'_>) -> Result<(), u8> {
    let mut buf = Vec::new();
    let written = match args.format {
        AutonomyFormat::Human => gatehouse_autonomy::render::write_human(&mut buf, report),
        AutonomyFormat::Json => gatehouse_autonomy::render::write_json(&mut buf, report),
        AutonomyFormat::Markdown => gatehouse_autonomy::render::write_markdown(&mut buf, report),
        AutonomyFormat::Html => gatehouse_autonomy::render::write_html(&mut buf, report),
    };
    if let Err(e) = written {
        return Err(super::output_failed(io, &e));
    }
    match &args.output {
        Some(path) => super::replace::write_atomically(path, &buf).map_err(|e| {
            let _ = writeln!(io.stderr, "error: cannot write `{}`: {e}", path.display());
            exit::USAGE
        }),
        None => io
            .stdout
            .write_all(&buf)
            .and_then(|()| io.stdout.flush())
            .map_err(|e| super::output_failed(io, &e)),
    }
}

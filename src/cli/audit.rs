//! `gatehouse audit`: check an audit log's hash chain (`verify`) and take a
//! checkpoint of it (`checkpoint`).

use std::io::BufReader;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};

use super::{Io, exit};
use crate::audit::chain::{ChainReport, ChainStatus, Checkpoint, LineHash};
use crate::audit::log::LogReader;

/// Exit codes of `gatehouse audit` beyond the shared ones.
pub mod codes {
    /// `audit verify`: the chain holds, but an interrupted write left a torn
    /// line (a crash, not tampering: no record is missing).
    pub const TORN_WRITE: u8 = super::exit::TORN_WRITE;
}

/// Arguments of `gatehouse audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: AuditCommand,
}

/// Subcommands of `gatehouse audit`.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check a log's hash chain: name the first edited, deleted, inserted, reordered or truncated record.
    Verify(AuditVerifyArgs),
    /// Print a checkpoint of a log (`{"seq": N, "head": "sha256:…"}`) to keep elsewhere.
    Checkpoint(AuditCheckpointArgs),
}

/// Arguments of `gatehouse audit verify`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  gatehouse audit verify audit.jsonl\n  gatehouse audit verify audit.jsonl --checkpoint audit.checkpoint.json\n  gatehouse audit verify audit.jsonl --require-chain --format json\n\nEvery record names its sequence number (`seq`) and the SHA-256 of the line before it (`prev`); the check names the first record where that fails, with its line and seq. A line an interrupted write left (not JSON, shaped like the start of a record) is a torn write when it is the last line or the chain links across it: nothing was lost. Removing records from the end, or editing the last record, can only be seen against a checkpoint taken earlier (`gatehouse audit checkpoint`) and kept away from the log. Records written before the chain existed are read and reported as unchained. Lines longer than 64 MiB are not read. See docs/audit.md.\n\nExit codes: 0 the chain holds (or the log is unchained, without --require-chain), 1 tampering: a record edited, deleted, inserted, reordered or truncated, a line that is not a record, a checkpoint not matched, a log with lines but no record at all (or unchained records under --require-chain), 2 usage error, 3 the log or the checkpoint cannot be read, 7 the chain holds but a write was interrupted (torn write, a crash)."
)]
pub struct AuditVerifyArgs {
    /// The audit log: JSON lines written by `eval --audit-log` and `verify
    /// --audit-log`; `-` reads stdin.
    pub log: PathBuf,
    /// A checkpoint taken earlier with `gatehouse audit checkpoint`: the log
    /// must still hold that record, unchanged; `-` reads stdin.
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    /// Make records without chain fields (written by a gatehouse that
    /// predates the chain) an error.
    #[arg(long)]
    pub require_chain: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    pub format: AuditFormat,
}

/// Arguments of `gatehouse audit checkpoint`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  gatehouse audit checkpoint audit.jsonl > audit.checkpoint.json\n  gatehouse audit verify audit.jsonl --checkpoint audit.checkpoint.json\n\nThe log is verified first; a log whose chain does not hold gets no checkpoint. Keep the checkpoint where whoever can write the log cannot (another machine, a ticket, a signed commit): a writer that holds the file can rewrite all of it and recompute the chain, and only a checkpoint kept elsewhere shows that.\n\nExit codes: 0 printed, 1 the chain does not hold or there is no chained record, 2 usage error, 3 the log cannot be read."
)]
pub struct AuditCheckpointArgs {
    /// The audit log; `-` reads stdin.
    pub log: PathBuf,
}

/// Output formats of `gatehouse audit verify`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum AuditFormat {
    /// A verdict for people, naming the first bad record.
    Human,
    /// The chain report as one JSON document.
    Json,
}

pub(super) fn run(args: &AuditArgs, io: &mut Io<'_>) -> u8 {
    match &args.command {
        AuditCommand::Verify(a) => verify(a, io),
        AuditCommand::Checkpoint(a) => checkpoint(a, io),
    }
}

/// Reads the whole log (`-`: standard input) through the chain check.
fn check(
    log: &Path,
    checkpoint: Option<(u64, LineHash)>,
    stdin: &mut dyn std::io::BufRead,
) -> std::io::Result<ChainReport> {
    fn read<R: std::io::BufRead>(mut reader: LogReader<R>) -> std::io::Result<ChainReport> {
        for entry in &mut reader {
            entry?;
        }
        Ok(reader.finish())
    }
    if super::is_stdin(log) {
        return read(LogReader::with_checkpoint(stdin, checkpoint));
    }
    let file = std::fs::File::open(log)?;
    read(LogReader::with_checkpoint(BufReader::new(file), checkpoint))
}

fn verify(args: &AuditVerifyArgs, io: &mut Io<'_>) -> u8 {
    if super::is_stdin(&args.log) && args.checkpoint.as_deref().is_some_and(super::is_stdin) {
        let _ = writeln!(
            io.stderr,
            "error: the log and --checkpoint cannot both read standard input (`-`)"
        );
        return exit::USAGE;
    }
    let checkpoint = match &args.checkpoint {
        None => None,
        // A checkpoint is one small JSON object: read at most 64 KiB of it,
        // and never block on a FIFO.
        Some(path) => match super::read_text(path, 64 * 1024, &mut *io.stdin)
            .and_then(|t| Checkpoint::parse(&t))
        {
            Ok((cp, head)) => Some((cp.seq, head)),
            Err(e) => {
                let _ = writeln!(
                    io.stderr,
                    "error: cannot read the checkpoint `{}`: {e}",
                    super::source_name(path)
                );
                return exit::INPUT;
            }
        },
    };
    let report = match check(&args.log, checkpoint, &mut *io.stdin) {
        Ok(r) => r,
        Err(e) => return super::log_unreadable(io, &args.log, &e),
    };
    let written = match args.format {
        AuditFormat::Json => crate::eval::write_document(
            &mut *io.stdout,
            &crate::eval::DocumentFormat::AUDIT_VERIFY,
            &report,
            true,
        )
        .map_err(std::io::Error::other)
        .and_then(|()| writeln!(io.stdout)),
        AuditFormat::Human => write!(
            io.stdout,
            "audit log `{}`: {}",
            super::source_name(&args.log),
            chain_lines(&report)
        ),
    };
    if let Err(e) = written {
        return super::output_failed(io, &e);
    }
    let unchained = report.unchained > 0 || !report.unchained_bad_lines.is_empty();
    match report.status {
        ChainStatus::Tampered => exit::FINDINGS,
        _ if args.require_chain && unchained => {
            let _ = writeln!(
                io.stderr,
                "error: --require-chain: {} unchained record(s) and {} line(s) that are not records in `{}`",
                report.unchained,
                report.unchained_bad_lines.len(),
                super::source_name(&args.log)
            );
            exit::FINDINGS
        }
        // Lines, and not one record among them: a log replaced wholesale by
        // something else is no intact log (an empty file still is one).
        _ if report.records == 0 && !report.unchained_bad_lines.is_empty() => {
            let _ = writeln!(
                io.stderr,
                "error: `{}` holds no audit record: none of its {} line(s) is a record",
                super::source_name(&args.log),
                report.unchained_bad_lines.len()
            );
            exit::FINDINGS
        }
        ChainStatus::TornWrite => codes::TORN_WRITE,
        ChainStatus::Unchained | ChainStatus::Intact => exit::OK,
    }
}

fn checkpoint(args: &AuditCheckpointArgs, io: &mut Io<'_>) -> u8 {
    let report = match check(&args.log, None, &mut *io.stdin) {
        Ok(r) => r,
        Err(e) => return super::log_unreadable(io, &args.log, &e),
    };
    if report.status == ChainStatus::Tampered {
        let _ = write!(
            io.stderr,
            "error: no checkpoint: the chain of `{}` does not hold: {}",
            super::source_name(&args.log),
            chain_lines(&report)
        );
        return exit::FINDINGS;
    }
    let Some(head) = report.head else {
        let _ = writeln!(
            io.stderr,
            "error: no checkpoint: `{}` has no chained record",
            super::source_name(&args.log)
        );
        return exit::FINDINGS;
    };
    let cp = Checkpoint {
        seq: head.seq,
        head: head.head,
    };
    match serde_json::to_string(&cp) {
        Ok(text) if writeln!(io.stdout, "{text}").is_ok() => exit::OK,
        _ => super::output_failed(io, &"the checkpoint could not be written"),
    }
}

/// The chain's verdict for people: one line, then the problems, torn
/// writes and unchained records, one per line.
pub(super) fn chain_lines(r: &ChainReport) -> String {
    let head = r.head.as_ref().map_or_else(String::new, |h| {
        format!(", last seq {} at line {} (head {})", h.seq, h.line, h.head)
    });
    let mut out = match r.status {
        ChainStatus::Intact => format!("chain intact: {} records{head}\n", r.records),
        ChainStatus::Unchained => format!(
            "chain holds, but {} of {} records are unchained (written before the chain existed: nothing proves them){head}\n",
            r.unchained, r.records
        ),
        ChainStatus::TornWrite => format!(
            "chain intact but for {} torn write(s) (an interrupted write, not tampering: no record is missing): {} records{head}\n",
            r.torn_writes.len(),
            r.records
        ),
        ChainStatus::Tampered => match r.problems.first() {
            Some(p) => format!(
                "TAMPERED: first bad record at line {}{}: {}\n",
                p.line,
                p.seq.map_or_else(String::new, |s| format!(" (seq {s})")),
                p.message
            ),
            None => "TAMPERED\n".to_owned(),
        },
    };
    for p in r.problems.iter().skip(1) {
        out.push_str(&format!(
            "  also line {}{}: {}: {}\n",
            p.line,
            p.seq.map_or_else(String::new, |s| format!(" (seq {s})")),
            p.kind,
            p.message
        ));
    }
    if r.problem_count > r.problems.len() {
        out.push_str(&format!(
            "  and {} more problems\n",
            r.problem_count - r.problems.len()
        ));
    }
    for t in &r.torn_writes {
        out.push_str(&format!(
            "  torn write at line {} ({} bytes){}\n",
            t.line,
            t.bytes,
            if t.at_end {
                ": the last line, a write was interrupted"
            } else {
                ": the chain links across it, nothing was lost"
            }
        ));
    }
    for line in &r.unchained_bad_lines {
        out.push_str(&format!(
            "  line {line}: not a record, before the chain (not judged)\n"
        ));
    }
    if let Some(cp) = &r.checkpoint
        && r.status != ChainStatus::Tampered
    {
        out.push_str(&format!(
            "  checkpoint seq {} matches line {}\n",
            cp.seq, cp.line
        ));
    }
    out
}

//! `gatehouse replay`: re-evaluate the inputs of an audit log.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::{Io, exit, replay_shadow};
use crate::audit::log::LogReader;
use crate::audit::replay::{ReplayReport, ReplayResult, Replayer, replay_log_with};

/// Arguments of `gatehouse replay`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  gatehouse replay audit.jsonl --policy policies/ai-agent-actions\n  gatehouse replay audit.jsonl --policy proposed/ai-agent-actions --format json\n  gatehouse replay audit.jsonl --policy policies/ai-agent-actions --shadow proposed/ai-agent-actions\n\nRecords made under the given policy (same digest) must replay byte for byte: a difference is reported as a determinism bug. Records made under another policy show what it would decide instead. Records whose input was redacted or left out cannot be replayed; verification records are listed, not replayed; transition records (the steps of a request in `gatehouse serve`'s chain, GET /v1/audit) are counted, not replayed.\n\nEvery field of a record is checked: a record whose fields contradict each other or their recomputation (an edited `outcome`, `policy` or `options`) is reported as corrupt, and the log's hash chain is checked as it is read (as `gatehouse audit verify` does; a torn last line is a warning). Lines longer than 64 MiB are skipped unread.\n\nExit codes: 0 no determinism bug and no corrupt record, 1 a determinism bug, a corrupt record (its input does not match its action digest, or its fields do not match the decision) or a broken hash chain, 2 usage error or the policy (or the --shadow policy) does not compile, 3 the log cannot be read. --shadow never changes the exit code: where the candidate differs is a report, not a failure."
)]
pub struct ReplayArgs {
    /// The audit log: JSON lines written by `gatehouse eval --audit-log`;
    /// `-` reads stdin.
    pub log: PathBuf,
    /// The policy to replay against (a `.gate` file or a directory holding
    /// one set). Records only name a digest, so it must be given.
    #[arg(long, short, env = "GATEHOUSE_POLICY")]
    pub policy: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    pub format: ReplayFormat,
    /// The secret key the records' `sample N% for review` draws were made
    /// with (the file given to `eval --sample-key-file`, or the service's):
    /// without it, a sampled decision made with a key replays as a
    /// difference wherever the two draws disagree.
    #[arg(long, value_name = "FILE", value_parser = super::sample_key::parse_sample_key_file)]
    pub sample_key_file: Option<super::sample_key::SampleKey>,
    /// A candidate policy set (a `.gate` file or a directory): also
    /// reports, per record, where it would decide differently from
    /// --policy, with a summary of transitions as `gatehouse diff` gives
    /// (docs/shadow.md). The replay and the exit code are unchanged.
    #[arg(long, value_name = "PATH")]
    pub shadow: Option<PathBuf>,
}

/// [`replay_log`] of a log read from standard input.
fn replay_reader(
    policy: &crate::Policy,
    stdin: &mut dyn std::io::BufRead,
    sample_key: Option<[u8; 32]>,
) -> std::io::Result<ReplayReport> {
    let mut replayer = Replayer::new(policy).with_sample_key(sample_key);
    let mut reader = LogReader::new(stdin);
    for entry in &mut reader {
        replayer.push(entry?);
    }
    Ok(replayer.finish_with(Some(reader.finish())))
}

/// Output formats of `gatehouse replay`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ReplayFormat {
    /// A report for people: what differs, then a summary.
    Human,
    /// One JSON document: summary, transitions, every record's result.
    Json,
}

pub(super) fn run(args: &ReplayArgs, io: &mut Io<'_>) -> u8 {
    let policy = match super::load_policy(&args.policy, io) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let key = args.sample_key_file.map(|k| k.0);
    let candidate = match &args.shadow {
        Some(path) => match super::load_policy(path, io) {
            Ok(p) => Some(p),
            Err(code) => return code,
        },
        None => None,
    };
    // With --shadow the log is read twice; stdin is held for the second.
    let mut held: Option<Vec<u8>> = None;
    let report = if super::is_stdin(&args.log) {
        if candidate.is_some() {
            let mut bytes = Vec::new();
            match std::io::Read::read_to_end(&mut *io.stdin, &mut bytes) {
                Ok(_) => {
                    let r = replay_reader(&policy, &mut bytes.as_slice(), key);
                    held = Some(bytes);
                    r
                }
                Err(e) => Err(e),
            }
        } else {
            replay_reader(&policy, &mut *io.stdin, key)
        }
    } else {
        replay_log_with(&policy, &args.log, key)
    };
    let report = match report {
        Ok(r) => r,
        Err(e) => return super::log_unreadable(io, &args.log, &e),
    };
    let shadow = match &candidate {
        Some(candidate) => {
            let compared = match &held {
                Some(bytes) => replay_shadow::compare(&policy, candidate, bytes.as_slice(), key),
                None => std::fs::File::open(&args.log).and_then(|f| {
                    replay_shadow::compare(&policy, candidate, std::io::BufReader::new(f), key)
                }),
            };
            match compared {
                Ok(impact) => Some((candidate, impact)),
                Err(e) => return super::log_unreadable(io, &args.log, &e),
            }
        }
        None => None,
    };
    let written = match (args.format, &shadow) {
        (ReplayFormat::Json, None) => crate::eval::write_document(
            &mut *io.stdout,
            &crate::eval::DocumentFormat::REPLAY,
            &report,
            true,
        )
        .map_err(std::io::Error::other)
        .and_then(|()| writeln!(io.stdout)),
        (ReplayFormat::Json, Some((candidate, impact))) => {
            let mut document = Vec::new();
            crate::eval::write_document(
                &mut document,
                &crate::eval::DocumentFormat::REPLAY,
                &report,
                true,
            )
            .map_err(std::io::Error::other)
            .and_then(|()| {
                super::shadow::write_with_member(
                    &mut *io.stdout,
                    &document,
                    "shadow",
                    &replay_shadow::json_member(candidate, impact),
                    true,
                )
            })
            .and_then(|()| writeln!(io.stdout))
        }
        (ReplayFormat::Human, None) => write!(io.stdout, "{}", human(args, &report)),
        (ReplayFormat::Human, Some((candidate, impact))) => write!(
            io.stdout,
            "{}{}",
            human(args, &report),
            replay_shadow::human(candidate, impact)
        ),
    };
    if let Err(e) = written {
        return super::output_failed(io, &e);
    }
    if report.has_failures() {
        exit::FINDINGS
    } else {
        exit::OK
    }
}

fn human(args: &ReplayArgs, report: &ReplayReport) -> String {
    let mut out = format!(
        "replaying `{}` against policy \"{}\" version \"{}\" ({})\n",
        super::source_name(&args.log),
        report.policy.name,
        report.policy.version,
        report.policy.digest
    );
    let mut listed = false;
    for e in &report.records {
        let head = format!("line {} {}", e.line, e.id);
        let text = match &e.result {
            ReplayResult::Identical
            | ReplayResult::IdenticalExceptPaths
            | ReplayResult::Unchanged { .. } => continue,
            ReplayResult::DeterminismBug {
                differs,
                recorded,
                replayed,
            } => format!(
                "{head}: DETERMINISM BUG: recorded under this policy, but it decides differently now (differs in: {})\n  recorded: {recorded}\n  replayed: {replayed}\n",
                differs.join(", ")
            ),
            ReplayResult::RecordMismatch { fields, detail } => format!(
                "{head}: CORRUPT RECORD: {} not what the record itself or its input gives: {detail}\n",
                fields.join(", ")
            ),
            ReplayResult::DigestMismatch { recorded, computed } => format!(
                "{head}: CORRUPT RECORD: the recorded input does not hash to the recorded action digest (recorded {}, input {computed})\n",
                recorded.as_deref().unwrap_or("null")
            ),
            ReplayResult::Changed {
                then, now, changed, ..
            } => format!(
                "{head}: {} (recorded under \"{}\" version \"{}\", {}); changed: {}\n",
                if then == now {
                    format!("still {}", then.as_str())
                } else {
                    format!("{} -> {}", then.as_str(), now.as_str())
                },
                e.recorded_policy.name,
                e.recorded_policy.version,
                short(&e.recorded_policy.digest),
                changed.join(", ")
            ),
            ReplayResult::CannotReplay { reason } => {
                format!("{head}: cannot replay: {reason}\n")
            }
            ReplayResult::Verification => format!(
                "{head}: verification record: listed, not replayed (approvals are checked by `gatehouse verify`)\n"
            ),
        };
        if !listed {
            out.push('\n');
            listed = true;
        }
        out.push_str(&text);
    }
    for b in &report.bad_lines {
        out.push_str(&format!(
            "warning: line {}: not a record, skipped: {}\n",
            b.line, b.error
        ));
    }
    if let Some(t) = &report.torn_tail {
        out.push_str(&format!(
            "warning: line {}: torn last line ({} bytes, no newline): a write was interrupted; every earlier line is unaffected\n",
            t.line, t.bytes
        ));
    }
    if let Some(chain) = &report.chain {
        out.push_str("hash chain: ");
        out.push_str(&super::audit::chain_lines(chain));
    }
    let s = &report.summary;
    if s.identical_except_paths > 0 {
        out.push_str(&format!(
            "note: {} identical apart from the directory in rule locations: the policy was loaded from another path than when {} recorded\n",
            count(s.identical_except_paths, "decision is", "decisions are"),
            if s.identical_except_paths == 1 {
                "it was"
            } else {
                "they were"
            }
        ));
    }
    if !report.transitions.is_empty() {
        out.push_str("\noutcome changes under this policy:\n");
        for t in &report.transitions {
            out.push_str(&format!(
                "  {} -> {}: {}\n",
                t.from.as_str(),
                t.to.as_str(),
                t.count
            ));
        }
    }
    let mut parts = vec![
        format!(
            "{}: {} identical",
            count(s.decisions, "decision record", "decision records"),
            s.identical + s.identical_except_paths
        ),
        count(s.determinism_bugs, "determinism bug", "determinism bugs"),
    ];
    if s.digest_mismatches + report.record_mismatches > 0 {
        parts.push(count(
            s.digest_mismatches + report.record_mismatches,
            "corrupt record",
            "corrupt records",
        ));
    }
    if s.changed + s.unchanged > 0 {
        parts.push(format!(
            "{} changed and {} unchanged under this policy",
            s.changed, s.unchanged
        ));
    }
    if s.cannot_replay > 0 {
        parts.push(format!("{} cannot be replayed", s.cannot_replay));
    }
    let mut summary = parts.join(", ");
    if s.verifications > 0 {
        summary.push_str(&format!(
            "; {} (not replayed)",
            count(
                s.verifications,
                "verification record",
                "verification records"
            )
        ));
    }
    if s.transitions_skipped > 0 {
        summary.push_str(&format!(
            "; {} (the service's steps of a request: not replayed)",
            count(
                s.transitions_skipped,
                "transition record",
                "transition records"
            )
        ));
    }
    if s.bad_lines > 0 {
        summary.push_str(&format!(
            "; {}",
            count(s.bad_lines, "bad line", "bad lines")
        ));
    }
    if s.torn_tail {
        summary.push_str("; a torn last line");
    }
    out.push('\n');
    out.push_str(&summary);
    out.push('\n');
    out
}

/// `sha256:` and the first 12 hex digits: enough to tell policies apart.
fn short(digest: &str) -> &str {
    digest.get(..19).unwrap_or(digest)
}

fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

//! `gatehouse eval`: decide for one action, or for a stream of JSON lines.

use std::io::{BufRead, Read};
use std::path::PathBuf;

use clap::Args;

use super::{Io, exit};
use crate::Policy;
use crate::audit::impact::read_line;
use crate::audit::log::AuditLog;
use crate::audit::record::AuditRecord;
use crate::audit::redact::{FieldPath, RedactMode, Redaction};
use crate::diagnostic::render_one;
use crate::eval::{Decision, EvalOptions, InputError};
use crate::input::{self, Syntax};
use crate::values::Timestamp;

/// Arguments of `gatehouse eval`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  gatehouse eval --policy policies/ai-agent-actions examples/actions/refund-large.json\n  gatehouse eval --policy policies/ai-agent-actions --explain examples/actions/iam-change.json\n  cat actions.jsonl | gatehouse eval --policy policies/ai-agent-actions --jsonl\n  gatehouse eval --policy policies/simple-router --exit-code action.yaml; echo $?\n  gatehouse eval --policy policies/ai-agent-actions --audit-log audit.jsonl --redact requester.id,action.summary --redact-mode hash action.json\n\nExit codes: 0 decided, 2 usage error or the policy does not compile, 3 input unreadable or invalid (a block decision with INVALID_INPUT is still printed), 4 the audit log could not be written (the decision is not printed). With --exit-code: 10 auto, 11 queue, 12 explicit, 13 dual, 14 block."
)]
pub struct EvalArgs {
    /// A `.gate` file or a directory holding one policy set.
    #[arg(long, short, env = "GATEHOUSE_POLICY", default_value = ".")]
    pub policy: PathBuf,
    /// The action: a JSON or YAML file; `-` or nothing reads stdin.
    pub input: Option<PathBuf>,
    /// Read one JSON action per line and print one decision per line, in order.
    #[arg(long)]
    pub jsonl: bool,
    /// Print a short account for a reviewer instead of JSON.
    #[arg(long)]
    pub explain: bool,
    /// Reject input fields the schema does not declare.
    #[arg(long)]
    pub strict: bool,
    /// The current time (RFC 3339), to compute when a pending approval expires.
    #[arg(long, value_parser = parse_now)]
    pub now: Option<Timestamp>,
    /// Print JSON on one line (the default for --jsonl).
    #[arg(long)]
    pub compact: bool,
    /// Exit with 10 + the outcome's rank (auto 10 .. block 14) instead of 0.
    #[arg(long)]
    pub exit_code: bool,
    /// Append one audit record per decision to FILE (JSON lines), written
    /// whole and fsync'd before the decision is printed.
    #[arg(long, value_name = "FILE")]
    pub audit_log: Option<PathBuf>,
    /// Redact these input fields in audit records: dotted paths like
    /// `requester.id`, comma-separated or repeated.
    #[arg(
        long,
        value_name = "PATH[,PATH...]",
        value_delimiter = ',',
        requires = "audit_log",
        conflicts_with = "no_audit_input"
    )]
    pub redact: Vec<FieldPath>,
    /// How --redact redacts: drop the field, or replace its value by
    /// `sha256:` of its canonical JSON.
    #[arg(long, value_enum, default_value = "drop", requires = "redact")]
    pub redact_mode: RedactMode,
    /// Leave the input out of audit records (`input: null`); such records
    /// cannot be replayed.
    #[arg(long, requires = "audit_log")]
    pub no_audit_input: bool,
}

/// The audit log of one run, with what records keep of the input.
struct Audit {
    path: PathBuf,
    log: AuditLog,
    redaction: Redaction,
}

impl Audit {
    fn open(args: &EvalArgs, io: &mut Io<'_>) -> Result<Option<Audit>, u8> {
        let Some(path) = &args.audit_log else {
            return Ok(None);
        };
        let redaction = if args.no_audit_input {
            Redaction::DropInput
        } else {
            Redaction::fields(args.redact.clone(), args.redact_mode)
        };
        match AuditLog::open(path) {
            Ok(log) => Ok(Some(Audit {
                path: path.clone(),
                log,
                redaction,
            })),
            Err(e) => {
                let _ = writeln!(
                    io.stderr,
                    "error: cannot open the audit log `{}`: {e}",
                    path.display()
                );
                Err(exit::AUDIT_LOG)
            }
        }
    }

    /// Appends the decision's record durably; the exit code when that fails.
    fn record(
        &mut self,
        decision: &Decision,
        input: Option<&serde_json::Value>,
        options: &EvalOptions,
        io: &mut Io<'_>,
    ) -> Result<(), u8> {
        // the engine never reads the clock: the command line does
        let time = options.now.unwrap_or_else(Timestamp::now_utc);
        let record = AuditRecord::decision(decision, input, options, &self.redaction, time);
        self.log.append(&record).map_err(|e| {
            let _ = writeln!(
                io.stderr,
                "error: cannot write the audit log `{}`: {e}; the decision was not reported",
                self.path.display()
            );
            exit::AUDIT_LOG
        })
    }
}

fn parse_now(s: &str) -> Result<Timestamp, String> {
    Timestamp::parse(s)
        .ok_or_else(|| format!("`{s}` is not an RFC 3339 timestamp like 2026-11-22T18:00:00Z"))
}

pub(super) fn run(args: &EvalArgs, io: &mut Io<'_>) -> u8 {
    let policy = match Policy::load(&args.policy) {
        Ok(p) => p,
        Err(diags) => {
            for d in diags.iter() {
                let _ = write!(io.stderr, "{}", render_one(d, io.color));
            }
            let _ = writeln!(
                io.stderr,
                "error: the policy at `{}` does not compile ({} error{})",
                args.policy.display(),
                diags.error_count(),
                if diags.error_count() == 1 { "" } else { "s" }
            );
            return exit::POLICY;
        }
    };
    let options = EvalOptions {
        now: args.now,
        strict: args.strict,
    };
    let mut audit = match Audit::open(args, io) {
        Ok(a) => a,
        Err(code) => return code,
    };
    if args.jsonl {
        return run_jsonl(args, &policy, &options, &mut audit, io);
    }
    let (bytes, syntax) = match read_input(args, io) {
        Ok(t) => t,
        Err(message) => {
            let _ = writeln!(io.stderr, "error: {message}");
            return exit::INPUT;
        }
    };
    let (decision, doc) = match input::parse_bytes(&bytes, syntax) {
        Ok(doc) => (policy.evaluate_with(&doc, &options), Some(doc)),
        Err(errors) => (policy.invalid_input(errors), None),
    };
    if let Some(audit) = audit.as_mut() {
        if let Err(code) = audit.record(&decision, doc.as_ref(), &options, io) {
            return code;
        }
    }
    if emit(args, io, &decision, !args.compact).is_err() {
        return exit::INPUT;
    }
    code_for(args, &decision)
}

fn run_jsonl(
    args: &EvalArgs,
    policy: &Policy,
    options: &EvalOptions,
    audit: &mut Option<Audit>,
    io: &mut Io<'_>,
) -> u8 {
    let mut file_reader;
    let reader: &mut dyn BufRead = match &args.input {
        Some(p) if p.as_os_str() != "-" => match std::fs::File::open(p) {
            Ok(f) => {
                file_reader = std::io::BufReader::new(f);
                &mut file_reader
            }
            Err(e) => {
                let _ = writeln!(io.stderr, "error: cannot read `{}`: {e}", p.display());
                return exit::INPUT;
            }
        },
        _ => {
            // stdin is read through `io`; move it out of the way below
            return run_jsonl_from(args, policy, options, None, audit, io);
        }
    };
    run_jsonl_from(args, policy, options, Some(reader), audit, io)
}

/// Reads lines from `reader`, or from `io.stdin` when `None`.
fn run_jsonl_from(
    args: &EvalArgs,
    policy: &Policy,
    options: &EvalOptions,
    mut reader: Option<&mut dyn BufRead>,
    audit: &mut Option<Audit>,
    io: &mut Io<'_>,
) -> u8 {
    let mut any_invalid = false;
    let mut last: Option<Decision> = None;
    let mut buf = Vec::new();
    let mut line_no = 0;
    loop {
        buf.clear();
        // A line over the input limit is skipped without being held in
        // memory, and answered like any other invalid input.
        let read = match reader.as_mut() {
            Some(r) => read_line(r, &mut buf),
            None => read_line(&mut io.stdin, &mut buf),
        };
        let too_long = match read {
            Ok((0, _)) => break,
            Ok((_, too_long)) => too_long,
            Err(e) => {
                let _ = writeln!(io.stderr, "error: cannot read input: {e}");
                return exit::INPUT;
            }
        };
        line_no += 1;
        let (decision, doc) = match std::str::from_utf8(&buf) {
            _ if too_long => (
                policy.invalid_input(vec![InputError {
                    path: "$".into(),
                    message: format!(
                        "line {line_no}: input is more than {} bytes",
                        input::MAX_INPUT_BYTES
                    ),
                }]),
                None,
            ),
            Ok(line) if line.trim().is_empty() => continue,
            Ok(line) => match input::parse(line, Syntax::Json) {
                Ok(doc) => (policy.evaluate_with(&doc, options), Some(doc)),
                Err(errors) => (
                    policy.invalid_input(
                        errors
                            .into_iter()
                            .map(|e| InputError {
                                path: e.path,
                                message: format!("line {line_no}: {}", e.message),
                            })
                            .collect(),
                    ),
                    None,
                ),
            },
            Err(e) => (
                policy.invalid_input(vec![InputError {
                    path: "$".into(),
                    message: format!(
                        "line {line_no}: not UTF-8 text (invalid byte at {})",
                        e.valid_up_to()
                    ),
                }]),
                None,
            ),
        };
        any_invalid |= !decision.input_errors.is_empty();
        if let Some(audit) = audit.as_mut() {
            if let Err(code) = audit.record(&decision, doc.as_ref(), options, io) {
                return code;
            }
        }
        // one decision per line, flushed: a streaming consumer sees each
        // decision as soon as it is made
        if emit(args, io, &decision, false)
            .and_then(|()| io.stdout.flush())
            .is_err()
        {
            return exit::INPUT;
        }
        last = Some(decision);
    }
    if any_invalid {
        return exit::INPUT;
    }
    match (&last, args.exit_code) {
        (Some(d), true) => code_for(args, d),
        _ => exit::OK,
    }
}

/// Reads the input document's bytes (at most one byte past the limit, so a
/// huge file is refused without being read whole).
fn read_input(args: &EvalArgs, io: &mut Io<'_>) -> Result<(Vec<u8>, Syntax), String> {
    let mut bytes = Vec::new();
    let cap = input::MAX_INPUT_BYTES as u64 + 1;
    match &args.input {
        Some(p) if p.as_os_str() != "-" => {
            std::fs::File::open(p)
                .and_then(|f| Read::take(f, cap).read_to_end(&mut bytes))
                .map_err(|e| format!("cannot read `{}`: {e}", p.display()))?;
            Ok((bytes, Syntax::of_path(p)))
        }
        _ => {
            Read::take(&mut io.stdin, cap)
                .read_to_end(&mut bytes)
                .map_err(|e| format!("cannot read stdin: {e}"))?;
            Ok((bytes, Syntax::Detect))
        }
    }
}

fn emit(args: &EvalArgs, io: &mut Io<'_>, d: &Decision, pretty: bool) -> std::io::Result<()> {
    if args.explain {
        write!(io.stdout, "{}", d.explain())?;
        if args.jsonl {
            writeln!(io.stdout)?;
        }
        return Ok(());
    }
    let text = if pretty {
        serde_json::to_string_pretty(d)
    } else {
        serde_json::to_string(d)
    }
    .map_err(std::io::Error::other)?;
    writeln!(io.stdout, "{text}")
}

fn code_for(args: &EvalArgs, d: &Decision) -> u8 {
    if !d.input_errors.is_empty() {
        return exit::INPUT;
    }
    if args.exit_code {
        return 10 + d.outcome as u8;
    }
    exit::OK
}

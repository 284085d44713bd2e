//! `gatehouse eval`: decide for one action, or for a stream of JSON lines.

use std::io::{Read, Write};
use std::path::PathBuf;

use clap::Args;

use super::shadow::{Shadow, ShadowDecision};
use super::{Io, exit};
use crate::audit::log::AuditLog;
use crate::audit::record::AuditRecord;
use crate::audit::redact::{FieldPath, RedactMode, Redaction};
use crate::eval::{Decision, EvalOptions};
use crate::input::{self, Syntax};
use crate::values::Timestamp;

/// Arguments of `gatehouse eval`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  gatehouse eval --policy policies/ai-agent-actions examples/actions/refund-large.json\n  gatehouse eval --policy policies/ai-agent-actions --explain examples/actions/iam-change.json\n  cat actions.jsonl | gatehouse eval --policy policies/ai-agent-actions --jsonl\n  gatehouse eval --policy policies/simple-router --exit-code action.yaml; echo $?\n  gatehouse eval --policy policies/ai-agent-actions --audit-log audit.jsonl --redact requester.id,action.summary --redact-mode hash action.json\n  gatehouse eval --policy policies/ai-agent-actions --shadow proposed/ai-agent-actions --explain action.json\n\nExit codes: 0 decided, 2 usage error or the policy (or the --shadow policy) does not compile, 3 input unreadable or invalid (a block decision with INVALID_INPUT naming the problem is still printed, in every output format), 4 the audit log could not be written (the decision is not printed), 101 the decision cannot be written. With --exit-code: 10 auto, 11 queue, 12 explicit, 13 dual, 14 block (with --jsonl: the strictest line's)."
)]
pub struct EvalArgs {
    /// A `.gate` file or a directory holding one policy set.
    #[arg(long, short, env = "GATEHOUSE_POLICY", default_value = ".")]
    pub policy: PathBuf,
    /// The action: a JSON or YAML file; `-` or nothing reads stdin.
    pub input: Option<PathBuf>,
    /// Read one JSON action per line and print one decision per line, in
    /// input order: output line N answers input line N (a blank line is
    /// answered `block`/`INVALID_INPUT`). Lines are decided in parallel on
    /// every core; each batch is flushed as soon as no further line is waiting.
    #[arg(long)]
    pub jsonl: bool,
    /// Print a short account for a reviewer instead of JSON (one action:
    /// not with --jsonl, whose answers are one line each).
    #[arg(long, conflicts_with = "jsonl")]
    pub explain: bool,
    /// Reject input fields the schema does not declare.
    #[arg(long)]
    pub strict: bool,
    /// Read the input as `json` or `yaml`, whatever its file name says.
    /// Without it: `.json` is JSON, `.yaml`/`.yml` YAML, and anything else
    /// (stdin included) JSON when it starts with `{` or `[`, else YAML.
    #[arg(long, value_name = "json|yaml", value_parser = Syntax::from_flag, conflicts_with = "jsonl")]
    pub input_format: Option<Syntax>,
    /// The current time (RFC 3339, years 0000 to 9999), to compute when a
    /// pending approval expires.
    #[arg(long, value_parser = parse_now)]
    pub now: Option<Timestamp>,
    /// Print JSON on one line (the default for --jsonl).
    #[arg(long)]
    pub compact: bool,
    /// Exit with 10 + the outcome's rank (auto 10 .. block 14) instead of 0;
    /// with --jsonl, the strictest outcome of all lines.
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
    #[arg(long, value_parser = super::redact_mode_parser(), default_value = "drop", requires = "redact")]
    pub redact_mode: RedactMode,
    /// Leave the input out of audit records (`input: null`); such records
    /// cannot be replayed.
    #[arg(long, requires = "audit_log")]
    pub no_audit_input: bool,
    /// The secret key of the `sample N% for review` draw: a file holding
    /// 64 hex digits on one line (`openssl rand -hex 32`). Without it
    /// anyone who knows an action can compute whether it is sampled.
    #[arg(long, value_name = "FILE", value_parser = super::sample_key::parse_sample_key_file)]
    pub sample_key_file: Option<super::sample_key::SampleKey>,
    /// A candidate policy set (a `.gate` file or a directory) decided
    /// beside --policy and reported, never used for the answer: JSON gets
    /// a `shadow` member, --explain one line per difference
    /// (docs/shadow.md). Exit codes stay the --policy decision's.
    #[arg(long, value_name = "PATH")]
    pub shadow: Option<PathBuf>,
}

/// The audit log of one run, with what records keep of the input.
pub(super) struct Audit {
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
    pub(super) fn record(
        &mut self,
        decision: &Decision,
        input: Option<&serde_json::Value>,
        options: &EvalOptions,
        stderr: &mut dyn Write,
    ) -> Result<(), u8> {
        // the engine never reads the clock: the command line does
        let time = options.now.unwrap_or_else(Timestamp::now_utc);
        let record = AuditRecord::decision(decision, input, options, &self.redaction, time);
        self.log.append(&record).map_err(|e| {
            let _ = writeln!(
                stderr,
                "error: cannot write the audit log `{}`: {e}; the decision was not reported",
                self.path.display()
            );
            exit::AUDIT_LOG
        })
    }
}

/// `--now`: refused up front, with the reason, when it is not a timestamp
/// gatehouse accepts (years 0000 to 9999, see [`Timestamp::parse_checked`]).
/// Reads a time flag (`--now`, `--requested-at`): RFC 3339 within the years
/// 0000-9999, refused with the reason otherwise.
pub(super) fn parse_now(s: &str) -> Result<Timestamp, String> {
    Timestamp::parse_checked(s).map_err(|e| format!("`{s}`: {e}"))
}

pub(super) fn run(args: &EvalArgs, io: &mut Io<'_>) -> u8 {
    let policy = match super::load_policy(&args.policy, io) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let options = EvalOptions::default()
        .with_now(args.now)
        .with_strict(args.strict)
        .with_sample_key(args.sample_key_file.map(|k| k.0));
    let shadow = match &args.shadow {
        Some(path) => match super::load_policy(path, io) {
            Ok(policy) => Some(Shadow { policy }),
            Err(code) => return code,
        },
        None => None,
    };
    let mut audit = match Audit::open(args, io) {
        Ok(a) => a,
        Err(code) => return code,
    };
    if args.jsonl {
        return super::jsonl::run(args, &policy, shadow.as_ref(), &options, &mut audit, io);
    }
    let (decision, doc) = match read_input(args, io) {
        Ok((bytes, syntax)) => match input::parse_bytes(&bytes, syntax) {
            Ok(doc) => (policy.evaluate_with(&doc, &options), Some(doc)),
            Err(errors) => (policy.invalid_input(errors), None),
        },
        Err(message) => {
            let _ = writeln!(io.stderr, "error: {message}");
            (unreadable(&policy, message), None)
        }
    };
    if let Some(audit) = audit.as_mut()
        && let Err(code) = audit.record(&decision, doc.as_ref(), &options, io.stderr)
    {
        return code;
    }
    let shadow = shadow
        .as_ref()
        .map(|s| s.decide(doc.as_ref(), &decision, &options));
    if let Err(e) = write_decision(args, io.stdout, &decision, shadow.as_ref(), !args.compact) {
        return super::output_failed(io, &e);
    }
    code_for(args, &decision)
}

/// The decision for an input that cannot be read at all (a missing file, a
/// directory, an I/O error): fail closed, as for an input that does not
/// parse: `block` with INVALID_INPUT, the detail naming the source and the
/// operating system's error.
pub(super) fn unreadable(policy: &crate::Policy, message: String) -> Decision {
    policy.invalid_input(vec![crate::eval::InputError::new("$", message)])
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
            Ok((
                bytes,
                args.input_format.unwrap_or_else(|| Syntax::of_path(p)),
            ))
        }
        _ => {
            Read::take(&mut io.stdin, cap)
                .read_to_end(&mut bytes)
                .map_err(|e| format!("cannot read {}: {e}", super::STDIN_NAME))?;
            Ok((bytes, args.input_format.unwrap_or(Syntax::Detect)))
        }
    }
}

/// Writes a decision as `--explain` text or as JSON (serialized straight
/// into `out`), with a newline; with `--shadow`, the candidate's decision
/// after it (see shadow.rs: the enforced part is unchanged).
pub(super) fn write_decision(
    args: &EvalArgs,
    out: &mut dyn Write,
    d: &Decision,
    shadow: Option<&ShadowDecision<'_>>,
    pretty: bool,
) -> std::io::Result<()> {
    if args.explain {
        write!(out, "{}", d.explain())?;
        if let Some(shadow) = shadow {
            super::shadow::write_explain(out, d, shadow)?;
        }
        if args.jsonl {
            writeln!(out)?;
        }
        return Ok(());
    }
    if let Some(shadow) = shadow {
        return super::shadow::write_decision_json(out, d, shadow, pretty);
    }
    crate::eval::write_document(&mut *out, &crate::eval::DocumentFormat::DECISION, d, pretty)
        .map_err(std::io::Error::other)?;
    writeln!(out)
}

pub(super) fn code_for(args: &EvalArgs, d: &Decision) -> u8 {
    if !d.input_errors.is_empty() {
        return exit::INPUT;
    }
    if args.exit_code {
        return exit::OUTCOME_BASE + d.outcome as u8;
    }
    exit::OK
}

//! `gatehouse verify`: do the collected approvals let the action execute now?

use std::path::PathBuf;

use clap::Args;

use super::{Io, exit};
use crate::Policy;
use crate::audit::log::AuditLog;
use crate::audit::record::{AuditRecord, VerificationEvent};
use crate::audit::redact::{FieldPath, RedactMode, Redaction};
use crate::audit::verify::{Approval, Verdict, VerifyOptions};
use crate::diagnostic::render_one;
use crate::input::{self, Syntax};
use crate::values::Timestamp;

/// Exit code: approvals are still missing.
pub const PENDING: u8 = 1;
/// Exit code: the action may not execute (rejected, blocked, a condition fails).
pub const DENIED: u8 = 5;
/// Exit code: the request timed out.
pub const EXPIRED: u8 = 6;

/// Arguments of `gatehouse verify`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  gatehouse verify --policy policies/ai-agent-actions --input examples/actions/refund-large.json \\\n      --approvals approvals.json --now 2026-11-22T10:00:00Z\n  gatehouse verify -p policies/ai-agent-actions --input action.json --approvals approvals.yaml --requested-at 2026-11-22T09:00:00Z\n\nThe approvals file is a JSON or YAML list of {approver, roles, decision: approve|reject, reason, action_digest (or action_digests for a batch), given_at, expires_at}.\nExit codes: 0 execute, 1 pending, 5 denied, 6 expired, 2 usage error or the policy does not compile, 3 the input or approvals cannot be read, 4 the audit log could not be written (nothing is printed)."
)]
pub struct VerifyArgs {
    /// A `.gate` file or a directory holding one policy set.
    #[arg(long, short, env = "GATEHOUSE_POLICY", default_value = ".")]
    pub policy: PathBuf,
    /// The action (JSON or YAML), as it was evaluated.
    #[arg(long)]
    pub input: PathBuf,
    /// The approvals collected for it (JSON or YAML list).
    #[arg(long)]
    pub approvals: PathBuf,
    /// The current time (RFC 3339); default: the system clock.
    #[arg(long, value_parser = parse_time)]
    pub now: Option<Timestamp>,
    /// When the approval request was made (RFC 3339), for its timeout;
    /// default: the earliest approval's time. Approvals given before it never
    /// count, and a time after --now is refused.
    #[arg(long, value_parser = parse_time)]
    pub requested_at: Option<Timestamp>,
    /// Print JSON on one line.
    #[arg(long)]
    pub compact: bool,
    /// Append a verification record to FILE (JSON lines), written whole and
    /// fsync'd before the verdict is printed.
    #[arg(long, value_name = "FILE")]
    pub audit_log: Option<PathBuf>,
    /// The id of the decision record this verification follows.
    #[arg(long, value_name = "ID", requires = "audit_log")]
    pub decision_id: Option<String>,
    /// Redact these input fields in the record (dotted paths, comma-separated).
    #[arg(
        long,
        value_name = "PATH[,PATH...]",
        value_delimiter = ',',
        requires = "audit_log",
        conflicts_with = "no_audit_input"
    )]
    pub redact: Vec<FieldPath>,
    /// How --redact redacts: drop the field, or replace it by its sha256.
    #[arg(long, value_enum, default_value = "drop", requires = "redact")]
    pub redact_mode: RedactMode,
    /// Leave the input out of the record.
    #[arg(long, requires = "audit_log")]
    pub no_audit_input: bool,
}

fn parse_time(s: &str) -> Result<Timestamp, String> {
    Timestamp::parse(s)
        .ok_or_else(|| format!("`{s}` is not an RFC 3339 timestamp like 2026-11-22T18:00:00Z"))
}

pub(super) fn run(args: &VerifyArgs, io: &mut Io<'_>) -> u8 {
    let policy = match Policy::load(&args.policy) {
        Ok(p) => p,
        Err(diags) => {
            for d in diags.iter() {
                let _ = write!(io.stderr, "{}", render_one(d, io.color));
            }
            let _ = writeln!(
                io.stderr,
                "error: the policy at `{}` does not compile",
                args.policy.display()
            );
            return exit::POLICY;
        }
    };
    let read = |path: &PathBuf| -> Result<serde_json::Value, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
        input::parse(&text, Syntax::of_path(path))
            .map_err(|errors| format!("`{}`: {}", path.display(), crate::input::describe(&errors)))
    };
    let action = match read(&args.input) {
        Ok(v) => v,
        Err(e) => {
            let _ = writeln!(io.stderr, "error: {e}");
            return exit::INPUT;
        }
    };
    let approvals: Vec<Approval> = match read(&args.approvals).and_then(|v| {
        serde_json::from_value(v).map_err(|e| {
            format!(
                "`{}` is not a list of approvals: {e}",
                args.approvals.display()
            )
        })
    }) {
        Ok(a) => a,
        Err(e) => {
            let _ = writeln!(io.stderr, "error: {e}");
            return exit::INPUT;
        }
    };
    let options = VerifyOptions {
        now: args.now.unwrap_or_else(Timestamp::now_utc),
        requested_at: args.requested_at,
    };
    let verification = policy.verify(&action, &approvals, &options);
    if let Some(path) = &args.audit_log {
        let redaction = if args.no_audit_input {
            Redaction::DropInput
        } else if args.redact.is_empty() {
            Redaction::KeepAll
        } else {
            Redaction::fields(args.redact.clone(), args.redact_mode)
        };
        let policy_ref = crate::eval::PolicyRef {
            name: policy.name().to_owned(),
            version: policy.version().to_owned(),
            digest: policy.digest().to_owned(),
        };
        let digest = verification.action_digest.clone().unwrap_or_default();
        let record = AuditRecord::verification(
            VerificationEvent {
                policy: &policy_ref,
                action_digest: &digest,
                decision_id: args.decision_id.as_deref(),
                input: Some(&action),
                approvals: serde_json::to_value(&approvals).unwrap_or_default(),
                verification: serde_json::to_value(&verification).unwrap_or_default(),
            },
            &redaction,
            options.now,
        );
        // Durable before reported: no verdict without its audit record.
        if let Err(e) = AuditLog::append_to(path, &record) {
            let _ = writeln!(
                io.stderr,
                "error: cannot write the audit log `{}`: {e}",
                path.display()
            );
            return exit::AUDIT_LOG;
        }
    }
    let text = if args.compact {
        serde_json::to_string(&verification)
    } else {
        serde_json::to_string_pretty(&verification)
    };
    match text {
        Ok(t) => {
            let _ = writeln!(io.stdout, "{t}");
        }
        Err(_) => return exit::POLICY,
    }
    match verification.verdict {
        Verdict::Execute => exit::OK,
        Verdict::Pending => PENDING,
        Verdict::Denied => DENIED,
        Verdict::Expired => EXPIRED,
    }
}

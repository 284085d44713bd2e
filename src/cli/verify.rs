//! `gatehouse verify`: do the collected approvals let the action execute now?

use std::path::PathBuf;

use clap::Args;

use super::{Io, exit};
use crate::audit::log::AuditLog;
use crate::audit::record::{AuditRecord, VerificationEvent};
use crate::audit::redact::{FieldPath, RedactMode, Redaction};
use crate::audit::verify::{Verdict, VerifyOptions};
use crate::input::{self, Syntax};
use crate::trust::{Credential, MAX_APPROVALS_FILE_BYTES, SignedVerifyOptions, TrustStore};
use crate::values::Timestamp;

/// Exit code: approvals are still missing.
pub const PENDING: u8 = exit::FINDINGS;
/// Exit code: the action may not execute (rejected, blocked, a condition fails).
pub const DENIED: u8 = exit::DENIED;
/// Exit code: the request timed out.
pub const EXPIRED: u8 = exit::EXPIRED;

/// Arguments of `gatehouse verify`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  gatehouse keygen --out alice.key      # prints the `keys = [...]` line for approvers.toml\n  gatehouse approve --key alice.key --approver alice -p policies/ai-agent-actions \\\n      --input action.json --decision approve --reason \"customer verified\" >> approvals.yaml\n  gatehouse verify -p policies/ai-agent-actions --input action.json --approvals approvals.yaml \\\n      --requested-at 2026-11-22T09:00:00Z\n  gatehouse verify -p policies/ai-agent-actions --input action.json --approvals approvals.yaml --trust /etc/gatehouse/approvers.toml\n\nThe approvals file is a JSON or YAML list (at most 16 MiB) of signed approvals: JWS tokens from `gatehouse approve`, or {payload, id_token} objects vouched for by an OIDC identity token. Each is checked against the trust store (--trust, default approvers.toml next to the policy set): signature, key to identity, identity to roles (from the store, never from the approval), policy digest, then the approval itself. A refused approval counts for nothing and is listed with its code: UNSIGNED, MALFORMED, OVERSIZED, DUPLICATE_KEY, UNKNOWN_FIELD, UNSUPPORTED_ALG, WRONG_TYPE, BAD_PAYLOAD, UNKNOWN_KEY, BAD_SIGNATURE, IDENTITY_MISMATCH, POLICY_MISMATCH, OIDC_NOT_CONFIGURED, BAD_ISSUER, BAD_AUDIENCE, TOKEN_EXPIRED, TOKEN_NOT_YET_VALID, NONCE_MISMATCH, MISSING_CLAIM. With --allow-unsigned (tests only), plain records {approver, roles, decision, reason, action_digest or action_digests, given_at, expires_at} are accepted with the roles they claim; the result records it under `authentication`.\nExit codes: 0 execute, 1 pending, 5 denied, 6 expired, 2 usage error, the policy does not compile, or the trust store is invalid (or missing while approvals are signed), 3 the input or approvals cannot be read (`-` reads stdin, for one of them), 4 the audit log could not be written (nothing is printed)."
)]
pub struct VerifyArgs {
    /// A `.gate` file or a directory holding one policy set.
    #[arg(long, short, env = "GATEHOUSE_POLICY", default_value = ".")]
    pub policy: PathBuf,
    /// The action (JSON or YAML), as it was evaluated; `-` reads stdin.
    #[arg(long)]
    pub input: PathBuf,
    /// The approvals collected for it (JSON or YAML list of signed
    /// approvals); `-` reads stdin (not both with --input).
    #[arg(long)]
    pub approvals: PathBuf,
    /// The trust store: approvers, their keys and roles, the OIDC issuer;
    /// default: `approvers.toml` next to the policy set.
    #[arg(long, value_name = "FILE")]
    pub trust: Option<PathBuf>,
    /// Accept plain, unsigned approval records with the roles they claim.
    /// For tests only: anyone who can write the file is then any approver.
    /// Recorded in the result (`authentication.allow_unsigned`).
    #[arg(long)]
    pub allow_unsigned: bool,
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
    #[arg(long, value_parser = super::redact_mode_parser(), default_value = "drop", requires = "redact")]
    pub redact_mode: RedactMode,
    /// Leave the input out of the record.
    #[arg(long, requires = "audit_log")]
    pub no_audit_input: bool,
}

use super::eval::parse_now as parse_time;

pub(super) fn run(args: &VerifyArgs, io: &mut Io<'_>) -> u8 {
    let policy = match super::load_policy(&args.policy, io) {
        Ok(p) => p,
        Err(code) => return code,
    };
    if super::is_stdin(&args.input) && super::is_stdin(&args.approvals) {
        let _ = writeln!(
            io.stderr,
            "error: --input and --approvals cannot both read standard input (`-`)"
        );
        return exit::USAGE;
    }
    let read = |path: &PathBuf, limit: u64, stdin: &mut dyn std::io::BufRead| {
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let text = super::read_text(path, limit, stdin)?;
        input::parse(&text, Syntax::of_path(path)).map_err(|errors| {
            format!(
                "`{}`: {}",
                super::source_name(path),
                crate::input::describe(&errors)
            )
        })
    };
    let action = match read(
        &args.input,
        crate::limits::MAX_INPUT_BYTES as u64,
        &mut *io.stdin,
    ) {
        Ok(v) => v,
        Err(e) => {
            let _ = writeln!(io.stderr, "error: {e}");
            return exit::INPUT;
        }
    };
    let (raw_approvals, credentials) =
        match read(&args.approvals, MAX_APPROVALS_FILE_BYTES, &mut *io.stdin).and_then(|v| {
            let list = Credential::list_from_json(&v)
                .map_err(|e| format!("`{}`: {e}", super::source_name(&args.approvals)))?;
            Ok((v, list))
        }) {
            Ok(a) => a,
            Err(e) => {
                let _ = writeln!(io.stderr, "error: {e}");
                return exit::INPUT;
            }
        };
    let store = match trust_store(args, &credentials) {
        Ok(s) => s,
        Err(e) => {
            let _ = writeln!(io.stderr, "error: {e}");
            return exit::POLICY;
        }
    };
    for warning in store.undeclared_roles(&policy) {
        let _ = writeln!(io.stderr, "warning: trust store: {warning}");
    }
    let options = VerifyOptions::new(args.now.unwrap_or_else(Timestamp::now_utc))
        .with_requested_at(args.requested_at);
    let signed = policy.verify_signed(
        &action,
        &credentials,
        &store,
        &SignedVerifyOptions::new(options).with_allow_unsigned(args.allow_unsigned),
    );
    let verification = &signed.verification;
    if let Some(path) = &args.audit_log {
        let redaction = if args.no_audit_input {
            Redaction::DropInput
        } else if args.redact.is_empty() {
            Redaction::KeepAll
        } else {
            Redaction::fields(args.redact.clone(), args.redact_mode)
        };
        let policy_ref =
            crate::eval::PolicyRef::new(policy.name(), policy.version(), policy.digest());
        let digest = verification.action_digest.clone().unwrap_or_default();
        let record = AuditRecord::verification(
            VerificationEvent {
                policy: &policy_ref,
                action_digest: &digest,
                decision_id: args.decision_id.as_deref(),
                input: Some(&action),
                approvals: raw_approvals,
                verification: serde_json::to_value(&signed).unwrap_or_default(),
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
    let format = &crate::eval::DocumentFormat::VERIFICATION;
    match crate::eval::write_document(&mut *io.stdout, format, &signed, !args.compact) {
        Ok(()) => {
            if let Err(e) = writeln!(io.stdout) {
                return super::output_failed(io, &e);
            }
        }
        Err(e) => return super::output_failed(io, &e),
    }
    match verification.verdict {
        Verdict::Execute => exit::OK,
        Verdict::Pending => PENDING,
        Verdict::Denied => DENIED,
        Verdict::Expired => EXPIRED,
    }
}

/// The trust store for this run: `--trust`, or `approvers.toml` next to the
/// policy set. A store named with `--trust` must exist; the default one may
/// be absent only when no approval claims a signature (then every approval
/// is unsigned, and refused unless `--allow-unsigned`).
fn trust_store(args: &VerifyArgs, credentials: &[Credential]) -> Result<TrustStore, String> {
    let (path, explicit) = match &args.trust {
        Some(p) => (p.clone(), true),
        None => {
            let dir = if args.policy.is_dir() {
                args.policy.clone()
            } else {
                args.policy
                    .parent()
                    .map(PathBuf::from)
                    .unwrap_or_else(|| PathBuf::from("."))
            };
            (dir.join("approvers.toml"), false)
        }
    };
    if !explicit && !path.exists() {
        if credentials.iter().any(Credential::is_signed) {
            return Err(format!(
                "the approvals are signed but there is no trust store: `{}` does not exist (give one with --trust)",
                path.display()
            ));
        }
        return Ok(TrustStore::empty());
    }
    TrustStore::load(&path).map_err(|e| e.to_string())
}

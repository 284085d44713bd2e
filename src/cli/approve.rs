//! `gatehouse approve`: sign an approval (or rejection) of an action.

use std::path::PathBuf;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use clap::{Args, ValueEnum};
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::DecodePrivateKey as _;

use super::{Io, exit};
use crate::audit::verify::ApprovalKind;
use crate::input::{self, Syntax};
use crate::trust::jws::{self, ApprovalPayload};
use crate::trust::read_bounded;
use crate::values::{Timestamp, parse_duration};

/// Largest private key file read, in bytes (a PEM key is ~120).
const MAX_KEY_FILE_BYTES: u64 = 64 * 1024;

/// Arguments of `gatehouse approve`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  gatehouse approve --key alice.key --approver alice --policy policies/ai-agent-actions \\\n      --input action.json --decision approve --reason \"customer verified\" >> approvals.yaml\n  gatehouse approve --key bob.key --approver bob -p policies/ai-agent-actions --input a.json --input b.json \\\n      --decision approve --reason \"weekly batch\" --expires-in 2h\n\nComputes the action digest(s) and the policy digest itself and prints one signed approval (a JWS, alg EdDSA) as a YAML list item, ready to append to an approvals file (--raw: the bare token). Several --input: one approval for the batch (`action_digests`). --oidc (no --key): print the payload and the nonce an OIDC identity token must carry instead (docs/trust.md).\nExit codes: 0 printed, 2 usage error, the policy does not compile or the key cannot be read, 3 an input cannot be read."
)]
pub struct ApproveArgs {
    /// The approver's private key (PKCS#8 PEM, from `gatehouse keygen`).
    #[arg(long, value_name = "FILE", required_unless_present = "oidc")]
    pub key: Option<PathBuf>,
    /// Sign nothing: print `{"payload", "nonce"}` for an identity-token
    /// approval. Sign the approver in at the identity provider with that
    /// nonce, then collect `{payload, id_token}` (docs/trust.md).
    #[arg(long, conflicts_with_all = ["key", "raw"])]
    pub oidc: bool,
    /// The approver's identity, as listed in approvers.toml.
    #[arg(long, value_name = "ID")]
    pub approver: String,
    /// A `.gate` file or a directory holding one policy set.
    #[arg(long, short, env = "GATEHOUSE_POLICY", default_value = ".")]
    pub policy: PathBuf,
    /// The action approved (JSON or YAML), as it was evaluated; repeat for a
    /// batch; `-` reads stdin (once).
    #[arg(long, required = true)]
    pub input: Vec<PathBuf>,
    /// Approve or reject.
    #[arg(long, value_enum)]
    pub decision: DecisionArg,
    /// The written reason (explicit and dual tiers need one).
    #[arg(long)]
    pub reason: Option<String>,
    /// How long the approval stays valid (`1d2h30m`).
    #[arg(long, default_value = "24h", value_parser = parse_validity)]
    pub expires_in: i64,
    /// The time of the approval (RFC 3339); default: the system clock.
    #[arg(long, value_parser = parse_time)]
    pub now: Option<Timestamp>,
    /// Print the bare token instead of a YAML list item.
    #[arg(long)]
    pub raw: bool,
}

/// `--decision`.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum DecisionArg {
    /// Approve the action.
    Approve,
    /// Reject it.
    Reject,
}

use super::eval::parse_now as parse_time;

fn parse_validity(s: &str) -> Result<i64, String> {
    match parse_duration(s) {
        Some(seconds) if seconds > 0 => Ok(seconds),
        _ => Err(format!("`{s}` is not a positive duration like 1h or 1d12h")),
    }
}

pub(super) fn run(args: &ApproveArgs, io: &mut Io<'_>) -> u8 {
    let policy = match super::load_policy(&args.policy, io) {
        Ok(p) => p,
        Err(code) => return code,
    };
    if args.input.iter().filter(|p| super::is_stdin(p)).count() > 1 {
        let _ = writeln!(
            io.stderr,
            "error: `--input -` (standard input) can be given once"
        );
        return exit::USAGE;
    }
    let mut digests = Vec::new();
    for path in &args.input {
        let limit = crate::limits::MAX_INPUT_BYTES;
        let action = match super::read_text(path, limit, &mut *io.stdin).and_then(|text| {
            input::parse(&text, Syntax::of_path(path)).map_err(|errors| {
                format!(
                    "`{}`: {}",
                    super::source_name(path),
                    input::describe(&errors)
                )
            })
        }) {
            Ok(v) => v,
            Err(e) => {
                let _ = writeln!(io.stderr, "error: {e}");
                return exit::INPUT;
            }
        };
        match policy.evaluate(&action).action_digest {
            Some(d) => digests.push(d),
            None => {
                let _ = writeln!(
                    io.stderr,
                    "error: `{}` has no action digest",
                    super::source_name(path)
                );
                return exit::INPUT;
            }
        }
    }
    let now = args.now.unwrap_or_else(Timestamp::now_utc);
    let (action_digest, action_digests) = match digests.as_slice() {
        [one] => (Some(one.clone()), None),
        _ => (None, Some(digests)),
    };
    let payload = ApprovalPayload {
        approver: args.approver.clone(),
        decision: match args.decision {
            DecisionArg::Approve => ApprovalKind::Approve,
            DecisionArg::Reject => ApprovalKind::Reject,
        },
        reason: args.reason.clone(),
        action_digest,
        action_digests,
        policy_digest: policy.digest().to_owned(),
        given_at: now.to_string(),
        expires_at: now.plus_seconds(args.expires_in).to_string(),
    };
    if let Err(refusal) = payload.validate() {
        let _ = writeln!(io.stderr, "error: {}", refusal.message);
        return exit::POLICY;
    }
    if args.oidc {
        let bytes = match serde_json::to_vec(&payload) {
            Ok(b) => b,
            Err(e) => {
                let _ = writeln!(io.stderr, "error: cannot encode the payload: {e}");
                return exit::POLICY;
            }
        };
        let out = serde_json::json!({
            "payload": URL_SAFE_NO_PAD.encode(&bytes),
            "nonce": jws::payload_nonce(&bytes),
        });
        let _ = writeln!(io.stdout, "{out}");
        return exit::OK;
    }
    let key = match args.key.as_deref().map(read_key) {
        Some(Ok(k)) => k,
        Some(Err(e)) => {
            let _ = writeln!(io.stderr, "error: {e}");
            return exit::POLICY;
        }
        None => {
            let _ = writeln!(io.stderr, "error: --key is required to sign");
            return exit::POLICY;
        }
    };
    let token = match jws::sign(&payload, &key) {
        Ok(t) => t,
        Err(e) => {
            let _ = writeln!(io.stderr, "error: cannot sign: {e}");
            return exit::POLICY;
        }
    };
    if args.raw {
        let _ = writeln!(io.stdout, "{token}");
    } else {
        let _ = writeln!(io.stdout, "- {token}");
    }
    exit::OK
}

fn read_key(path: &std::path::Path) -> Result<SigningKey, String> {
    let pem = read_bounded(path, MAX_KEY_FILE_BYTES)?;
    SigningKey::from_pkcs8_pem(&pem).map_err(|e| {
        format!(
            "`{}` is not an Ed25519 private key (PKCS#8 PEM): {e}",
            path.display()
        )
    })
}

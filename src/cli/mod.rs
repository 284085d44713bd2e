//! The `gatehouse` command line: one file per subcommand, each a function
//! from its parsed arguments to an exit code, so tests run them in-process.

mod approve;
mod audit;
mod check;
mod diff;
mod doc;
mod eval;
mod explain;
mod fmt;
mod jsonl;
mod keygen;
mod replay;
mod rules;
pub mod schema;
mod test;
mod verify;

use std::io::{BufRead, Write};

use clap::{Parser, Subcommand};

pub use approve::ApproveArgs;
pub use audit::AuditArgs;
pub use check::CheckArgs;
pub use diff::DiffArgs;
pub use doc::DocArgs;
pub use eval::EvalArgs;
pub use explain::ExplainArgs;
pub use fmt::FmtArgs;
pub use keygen::KeygenArgs;
pub use replay::ReplayArgs;
pub use rules::RulesArgs;
pub use schema::SchemaArgs;
pub use test::TestArgs;
pub use verify::VerifyArgs;

/// Loads the policy set at `path` for a subcommand; when it does not
/// compile, renders every diagnostic and a summary line to stderr and gives
/// the exit code to return ([`exit::POLICY`]).
fn load_policy(path: &std::path::Path, io: &mut Io<'_>) -> Result<crate::Policy, u8> {
    crate::Policy::load(path).map_err(|diags| {
        for d in diags.iter() {
            let _ = write!(io.stderr, "{}", crate::diagnostic::render_one(d, io.color));
        }
        let errors = diags.error_count();
        let _ = writeln!(
            io.stderr,
            "error: the policy at `{}` does not compile ({errors} error{})",
            path.display(),
            if errors == 1 { "" } else { "s" }
        );
        exit::POLICY
    })
}

/// Reports an audit log that cannot be read (`replay`, `audit verify`,
/// `audit checkpoint`) and gives the exit code for it ([`exit::INPUT`]).
fn log_unreadable(io: &mut Io<'_>, log: &std::path::Path, error: &dyn std::fmt::Display) -> u8 {
    let _ = writeln!(
        io.stderr,
        "error: cannot read the audit log `{}`: {error}",
        log.display()
    );
    exit::INPUT
}

/// Exit codes shared by every subcommand (README, "Exit codes").
pub mod exit {
    /// Success: the policy checked clean, or a decision was made.
    pub const OK: u8 = 0;
    /// `check` found errors.
    pub const FINDINGS: u8 = 1;
    /// The command could not run as asked: usage error, or the policy does
    /// not compile.
    pub const POLICY: u8 = 2;
    /// The input could not be read or does not match the schema (the decision
    /// printed is `block` with INVALID_INPUT).
    pub const INPUT: u8 = 3;
    /// The audit log could not be written (`--audit-log`): the decision was
    /// not reported, because it has no durable record.
    pub const AUDIT_LOG: u8 = 4;
}

/// Decide how much human oversight an AI agent's action needs.
#[derive(Debug, Parser)]
#[command(
    name = "gatehouse",
    version,
    about = "Decide how much human oversight an AI agent's action needs: auto, queue, explicit, dual or block.",
    after_help = "Examples:\n  gatehouse check policies/\n  gatehouse eval --policy policies/ai-agent-actions examples/actions/refund-large.json\n  gatehouse eval --policy policies/ai-agent-actions --explain examples/actions/iam-change.json\n  gatehouse test policies/ --min-coverage 100\n  gatehouse fmt --check policies/\n  gatehouse doc policies/ai-agent-actions --format html --output matrix.html\n  gatehouse keygen --out alice.key\n  gatehouse approve --key alice.key --approver alice -p policies/ai-agent-actions --input action.json --decision approve --reason \"checked\" >> approvals.yaml\n  gatehouse verify -p policies/ai-agent-actions --input action.json --approvals approvals.yaml\n  gatehouse audit verify audit.jsonl\n  gatehouse diff main:policies/ai-agent-actions policies/ai-agent-actions --inputs audit.jsonl --fail-on loosen\n\nExit codes: 0 ok, 1 findings (check errors, failed tests, files to format, pending approvals, a diff that loosens under --fail-on, a tampered audit log), 2 usage error or a policy does not compile, 3 invalid input, 4 the audit log could not be written, 5 and 6 verify: denied and expired, 7 audit verify: a torn write only. Each command's --help has details."
)]
pub struct Cli {
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Parse, resolve and type-check policy sets; report every problem.
    Check(CheckArgs),
    /// Decide for one action (or a stream of actions) against a policy set.
    Eval(EvalArgs),
    /// Check collected approvals against an action: execute, pending, denied or expired.
    Verify(VerifyArgs),
    /// Create an Ed25519 key for an approver (prints the line for approvers.toml).
    Keygen(KeygenArgs),
    /// Sign an approval (or rejection) of an action with an approver's key.
    Approve(ApproveArgs),
    /// Run the policy test suites (`*.test.yaml`) and report rule coverage.
    Test(TestArgs),
    /// Rewrite `.gate` files in the canonical layout (or `--check` them).
    Fmt(FmtArgs),
    /// Render a policy set as a document for auditors (Markdown or HTML).
    Doc(DocArgs),
    /// Impact of a policy change: which decisions of a corpus change, and why.
    Diff(DiffArgs),
    /// Re-evaluate every input of an audit log: identical under the recorded policy, or what changes under another.
    Replay(ReplayArgs),
    /// Check an audit log's hash chain, or print a checkpoint of it.
    Audit(AuditArgs),
    /// Print the documentation of a lint or diagnostic code.
    Explain(ExplainArgs),
    /// List every lint: code, name, default level, summary.
    Rules(RulesArgs),
    /// Print the JSON Schema of an output document, or a policy's input contract.
    Schema(SchemaArgs),
}

/// Standard streams, injectable for tests.
pub struct Io<'a> {
    /// Input for `-` / no INPUT.
    pub stdin: &'a mut dyn BufRead,
    /// Normal output.
    pub stdout: &'a mut dyn Write,
    /// Diagnostics and errors.
    pub stderr: &'a mut dyn Write,
    /// Whether to color diagnostics.
    pub color: bool,
}

/// Runs a parsed command line.
pub fn run(cli: Cli, io: &mut Io<'_>) -> u8 {
    match cli.command {
        Command::Check(args) => check::run(&args, io),
        Command::Eval(args) => eval::run(&args, io),
        Command::Test(args) => test::run(&args, io),
        Command::Verify(args) => verify::run(&args, io),
        Command::Keygen(args) => keygen::run(&args, io),
        Command::Approve(args) => approve::run(&args, io),
        Command::Fmt(args) => fmt::run(&args, io),
        Command::Doc(args) => doc::run(&args, io),
        Command::Diff(args) => diff::run(&args, io),
        Command::Replay(args) => replay::run(&args, io),
        Command::Audit(args) => audit::run(&args, io),
        Command::Explain(args) => explain::run(&args, io),
        Command::Rules(args) => rules::run(&args, io),
        Command::Schema(args) => schema::run(&args, io),
    }
}

/// The binary's entry point: parses `std::env::args` and runs.
pub fn main() -> std::process::ExitCode {
    use std::io::IsTerminal;
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version are not errors.
            let code = if e.use_stderr() {
                exit::POLICY
            } else {
                exit::OK
            };
            let _ = e.print();
            return std::process::ExitCode::from(code);
        }
    };
    let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let stdin = std::io::stdin();
    let mut stdin = stdin.lock();
    let stdout = std::io::stdout();
    let mut stdout = std::io::BufWriter::new(stdout.lock());
    let stderr = std::io::stderr();
    let mut stderr = stderr.lock();
    let code = run(
        cli,
        &mut Io {
            stdin: &mut stdin,
            stdout: &mut stdout,
            stderr: &mut stderr,
            color,
        },
    );
    let _ = stdout.flush();
    std::process::ExitCode::from(code)
}

//! The `gatehouse` command line: one file per subcommand, each a function
//! from its parsed arguments to an exit code, so tests run them in-process.

mod approve;
mod audit;
mod autonomy;
mod check;
pub mod color;
mod completions;
mod diff;
mod doc;
mod eval;
mod explain;
mod fmt;
pub mod help;
mod jsonl;
mod keygen;
mod migrate;
mod progress;
mod replace;
mod replay;
mod replay_shadow;
mod rules;
pub mod sample_key;
pub mod schema;
mod serve;
mod shadow;
mod test;
mod verify;
pub mod walk;

use std::io::{BufRead, Read as _, Write};

use clap::builder::TypedValueParser as _;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

pub use approve::ApproveArgs;
pub use audit::AuditArgs;
pub use autonomy::AutonomyArgs;
pub use check::CheckArgs;
pub use color::ColorChoice;
pub use completions::{CompletionsArgs, ManArgs};
pub use diff::DiffArgs;
pub use doc::DocArgs;
pub use eval::EvalArgs;
pub use explain::ExplainArgs;
pub use fmt::FmtArgs;
pub use keygen::KeygenArgs;
pub use migrate::MigrateArgs;
pub use replay::ReplayArgs;
pub use rules::RulesArgs;
pub use schema::SchemaArgs;
pub use serve::ServeArgs;
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

/// How messages name standard input, read for a file argument `-`.
pub const STDIN_NAME: &str = "<stdin>";

/// Whether a file argument means standard input (`-`).
fn is_stdin(path: &std::path::Path) -> bool {
    path.as_os_str() == "-"
}

/// How messages name a file argument: its path, or `<stdin>` for `-`.
fn source_name(path: &std::path::Path) -> String {
    if is_stdin(path) {
        STDIN_NAME.to_owned()
    } else {
        path.display().to_string()
    }
}

/// Reads a file argument as UTF-8 text of at most `limit` bytes: `-` reads
/// standard input (never more than `limit + 1` bytes of it), anything else
/// goes through [`crate::input::read_file_limited`], which refuses FIFOs,
/// devices and directories without blocking.
fn read_text(
    path: &std::path::Path,
    limit: usize,
    stdin: &mut dyn BufRead,
) -> Result<String, String> {
    if !is_stdin(path) {
        return crate::input::read_file_limited(path, limit).map_err(|e| e.to_string());
    }
    let mut bytes = Vec::new();
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    std::io::Read::take(stdin, cap)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read {STDIN_NAME}: {e}"))?;
    if bytes.len() > limit {
        return Err(format!(
            "{STDIN_NAME} is larger than the limit of {limit} bytes"
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        format!(
            "{STDIN_NAME} is not valid UTF-8 (at byte {})",
            e.utf8_error().valid_up_to()
        )
    })
}

/// Reports an audit log that cannot be read (`replay`, `audit verify`,
/// `audit checkpoint`) and gives the exit code for it ([`exit::INPUT`]).
fn log_unreadable(io: &mut Io<'_>, log: &std::path::Path, error: &dyn std::fmt::Display) -> u8 {
    let _ = writeln!(
        io.stderr,
        "error: cannot read the audit log `{}`: {error}",
        source_name(log)
    );
    exit::INPUT
}

/// `--redact-mode`'s values, read into the engine's [`RedactMode`]
/// (the engine has no clap; the CLI lists the names in `--help`).
///
/// [`RedactMode`]: crate::audit::redact::RedactMode
pub(crate) fn redact_mode_parser()
-> impl clap::builder::TypedValueParser<Value = crate::audit::redact::RedactMode> {
    clap::builder::PossibleValuesParser::new(crate::audit::redact::RedactMode::NAMES)
        .try_map(|name| name.parse::<crate::audit::redact::RedactMode>())
}

/// Exit codes shared by every subcommand (docs/cli.md, "Exit codes").
pub mod exit {
    /// Success: the policy checked clean, or a decision was made.
    pub const OK: u8 = 0;
    /// Findings: check errors, failed tests, files to format, pending
    /// approvals, a loosening diff under `--fail-on`, a tampered audit log.
    pub const FINDINGS: u8 = 1;
    /// The command line is wrong (clap's errors, a `--run` pattern that
    /// matches nothing), or a file the command needs to run at all cannot be
    /// read (a policy, a test suite, `gatehouse.toml`, a key, a trust store)
    /// or written (`doc --output`, `keygen --out`, a file `fmt` rewrites).
    pub const USAGE: u8 = 2;
    /// The policy does not compile (or a policy path cannot be read): the
    /// same code as [`USAGE`], since the command could not run as asked.
    pub const POLICY: u8 = 2;
    /// The data the command judges cannot be read or is invalid: an action
    /// (the decision printed is `block` with INVALID_INPUT), approvals, a
    /// corpus, an audit log, a checkpoint.
    pub const INPUT: u8 = 3;
    /// The audit log could not be written (`--audit-log`): the decision was
    /// not reported, because it has no durable record.
    pub const AUDIT_LOG: u8 = 4;
    /// `verify`: an approver rejected the action.
    pub const DENIED: u8 = 5;
    /// `verify`: the approvals expired.
    pub const EXPIRED: u8 = 6;
    /// `audit verify`: the chain holds but the last write was torn.
    pub const TORN_WRITE: u8 = 7;
    /// `eval --exit-code`: this plus the outcome's rank (auto 10 .. block 14).
    pub const OUTCOME_BASE: u8 = 10;
    /// `serve` and `migrate`: the database cannot be reached or refused
    /// the change (the message names its host, never a password).
    pub const DATABASE: u8 = 1;
    /// An internal error, or standard output cannot be written (a closed
    /// pipe, a full disk): the code Rust gives a panic, so a bug and a
    /// detected failure to finish read the same.
    pub const INTERNAL: u8 = 101;
}

/// Reports that the output cannot be written; gives [`exit::INTERNAL`].
fn output_failed(io: &mut Io<'_>, error: &dyn std::fmt::Display) -> u8 {
    let _ = writeln!(io.stderr, "error: cannot write the output: {error}");
    exit::INTERNAL
}

/// Decide how much human oversight an AI agent's action needs.
#[derive(Debug, Parser)]
#[command(
    name = "gatehouse",
    version,
    about = "Decide how much human oversight an AI agent's action needs: auto, queue, explicit, dual or block.",
    after_help = "Examples:\n  gatehouse check policies/\n  gatehouse eval --policy policies/ai-agent-actions examples/actions/refund-large.json\n  gatehouse eval --policy policies/ai-agent-actions --explain examples/actions/iam-change.json\n  gatehouse test policies/ --min-coverage 100\n  gatehouse fmt --check policies/\n  gatehouse doc policies/ai-agent-actions --format html --output matrix.html\n  gatehouse keygen --out alice.key\n  gatehouse approve --key alice.key --approver alice -p policies/ai-agent-actions --input action.json --decision approve --reason \"checked\" >> approvals.yaml\n  gatehouse verify -p policies/ai-agent-actions --input action.json --approvals approvals.yaml\n  gatehouse audit verify audit.jsonl\n  gatehouse diff main:policies/ai-agent-actions policies/ai-agent-actions --inputs audit.jsonl --fail-on loosen\n  gatehouse fmt - < policies/simple-router/router.gate\n  gatehouse completions bash > ~/.local/share/bash-completion/completions/gatehouse\n  gatehouse man | man -l -\n  gatehouse serve --policy policies/ai-agent-actions\n  gatehouse migrate --database-url postgres://gatehouse@db/gatehouse\n  gatehouse autonomy audit.jsonl --policy policies/ai-agent-actions\n\nExit codes, the same for the same situation in every command: 0 ok; 1 findings (check errors, failed tests, files to format, pending approvals, a diff that loosens under --fail-on, a tampered audit log; serve and migrate: the database cannot be reached); 2 usage error, a policy that does not compile, or a file the command needs cannot be read (policy, suite, key, trust store) or written (doc --output, keygen --out, fmt); 3 the data judged cannot be read or is invalid (action, approvals, corpus, audit log, checkpoint); 4 the audit log could not be written; 5 and 6 verify: denied and expired; 7 audit verify: a torn write only; 10-14 eval --exit-code: the outcome; 101 internal error or stdout cannot be written. `-` reads standard input wherever a file is read. Each command's --help has details."
)]
pub struct Cli {
    /// When to color diagnostics, lint findings, diffs and test reports:
    /// `auto` colors on a terminal unless NO_COLOR is set (not empty), or
    /// when CLICOLOR_FORCE is set (not empty, not 0).
    #[arg(long, global = true, value_enum, value_name = "WHEN", default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
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
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    Completions(CompletionsArgs),
    /// Print the manual pages (roff), or write them into a directory.
    Man(ManArgs),
    /// Print the JSON Schema of an output document, or a policy's input contract.
    Schema(SchemaArgs),
    /// Run the approval gate as an HTTP service: hold each action until its approvals are in.
    Serve(ServeArgs),
    /// Bring the service's database schema up to this binary's version (what serve does at start).
    Migrate(MigrateArgs),
    /// The autonomy report: which rules the approval data says may do more, and which must do less.
    Autonomy(AutonomyArgs),
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
        Command::Completions(args) => completions::completions(&args, io),
        Command::Man(args) => completions::man(&args, io),
        Command::Schema(args) => schema::run(&args, io),
        Command::Serve(args) => serve::run(&args, io),
        Command::Migrate(args) => migrate::run(&args, io),
        Command::Autonomy(args) => autonomy::run(&args, io),
    }
}

/// The binary's entry point: parses `std::env::args` and runs.
pub fn main() -> std::process::ExitCode {
    use std::io::IsTerminal;
    // clap prints help and usage errors before `--color` is parsed: it is
    // looked up in the raw arguments for that (clap's own `auto` already
    // honours NO_COLOR and CLICOLOR_FORCE)
    let clap_color = match color::from_args(std::env::args_os()) {
        Some(ColorChoice::Always) => clap::ColorChoice::Always,
        Some(ColorChoice::Never) => clap::ColorChoice::Never,
        _ => clap::ColorChoice::Auto,
    };
    let command = help::prepare(Cli::command(), help::width()).color(clap_color);
    let cli = match command
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m))
    {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version are not errors.
            let code = if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            };
            let _ = e.print();
            return std::process::ExitCode::from(code);
        }
    };
    let color = color::resolve(
        cli.color,
        std::env::var_os("NO_COLOR").as_deref(),
        std::env::var_os("CLICOLOR_FORCE").as_deref(),
        std::io::stdout().is_terminal(),
    );
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
    // Output still buffered is written here: when that fails, whatever the
    // command decided was not (all) reported.
    let code = match stdout.flush() {
        Ok(()) => code,
        Err(e) => {
            let _ = writeln!(stderr, "error: cannot write the output: {e}");
            exit::INTERNAL
        }
    };
    std::process::ExitCode::from(code)
}

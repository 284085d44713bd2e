//! `gatehouse explain CODE`: the documentation of one lint or diagnostic
//! code, from the lint registry.

use clap::Args;

use super::{Io, exit};
use crate::lint::registry;

/// Arguments of `gatehouse explain`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  gatehouse explain L0004\n  gatehouse explain threshold-gap\n  gatehouse explain W0001\n\nPrints what the check does, why it matters, an example policy that triggers it and the fixed version. `gatehouse rules` lists every lint.\n\nExit codes: 0 printed, 2 unknown code or name (a usage error), 101 stdout cannot be written."
)]
pub struct ExplainArgs {
    /// A code (`L0004`, any case) or a name (`threshold-gap`).
    pub code: String,
}

pub(super) fn run(args: &ExplainArgs, io: &mut Io<'_>) -> u8 {
    let Some(code) = registry::lookup(&args.code) else {
        let _ = writeln!(
            io.stderr,
            "error: unknown lint or code `{}`",
            args.code.trim()
        );
        let hint = match registry::suggest(&args.code) {
            Some(s) => format!("did you mean `{s}`? "),
            None => String::new(),
        };
        let _ = writeln!(
            io.stderr,
            "help: {hint}`gatehouse rules` lists every lint with its code and name"
        );
        return exit::USAGE;
    };
    let text = match registry::doc(code) {
        Some(doc) => doc.text(),
        None => format!(
            "{} {} ({})\n{}\n\nThis is a check error: the policy does not compile. docs/language.md documents it with an example, in the section \"{} {}\".\n",
            code.as_str(),
            code.name(),
            registry::level_word(code.severity()),
            code.summary(),
            code.as_str(),
            code.name(),
        ),
    };
    if let Err(e) = write!(io.stdout, "{text}") {
        return super::output_failed(io, &e);
    }
    exit::OK
}

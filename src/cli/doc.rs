//! `gatehouse doc`: the approval matrix as a document for auditors and
//! business owners, in Markdown or as one self-contained HTML file.

use std::path::PathBuf;

use clap::Args;

use super::{Io, exit};
use crate::doc::{DocFormat, render};

/// Arguments of `gatehouse doc`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  gatehouse doc policies/ai-agent-actions                   # Markdown on stdout\n  gatehouse doc policies/ai-agent-actions --format html --output matrix.html\n  gatehouse doc policies/simple-router --output docs/policies/simple-router.md\n\nWithout --format, the format follows the extension of --output (.html or .htm is HTML), else Markdown. The document holds no date: the same policy always gives the same bytes, and it names the policy's digest. Exit codes: 0 written, 2 usage error, the policy does not compile, or the --output file cannot be written, 101 stdout cannot be written."
)]
pub struct DocArgs {
    /// A `.gate` file or a directory holding one policy set.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Output format [default: markdown, or html for an --output ending in .html].
    #[arg(long, value_enum)]
    pub format: Option<DocFormat>,
    /// Write the document to this file instead of stdout.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

pub(super) fn run(args: &DocArgs, io: &mut Io<'_>) -> u8 {
    let policy = match super::load_policy(&args.path, io) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let from_output = args
        .output
        .as_ref()
        .and_then(|p| p.extension())
        .and_then(|e| e.to_str())
        .and_then(DocFormat::from_extension);
    let format = args.format.or(from_output).unwrap_or(DocFormat::Markdown);
    let text = render(policy.checked(), format);
    match &args.output {
        Some(path) => {
            // A regular file (or a new one) is replaced all at once; anything
            // else (`/dev/stdout`, a FIFO) is written to as it is.
            let regular = std::fs::metadata(path).map_or(true, |m| m.is_file());
            let written = if regular {
                super::replace::write_atomically(path, text.as_bytes())
            } else {
                std::fs::write(path, text)
            };
            if let Err(e) = written {
                let _ = writeln!(io.stderr, "error: cannot write `{}`: {e}", path.display());
                return exit::USAGE;
            }
        }
        None => {
            if let Err(e) = io.stdout.write_all(text.as_bytes()) {
                return super::output_failed(io, &e);
            }
        }
    }
    exit::OK
}

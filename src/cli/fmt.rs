//! `gatehouse fmt`: canonical layout for `.gate` files.

use std::path::{Path, PathBuf};

use clap::Args;

use super::replace::write_atomically;
use super::walk::Excludes;
use super::{Io, exit};
use crate::diagnostic::{Code, Diagnostic, Diagnostics, render_one};
use crate::loader;
use crate::syntax::format::{format_source, unified_diff};

/// Arguments of `gatehouse fmt`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  gatehouse fmt policies/                        # rewrite every .gate file under policies/\n  gatehouse fmt policies/refunds/main.gate\n  gatehouse fmt --check policies/                # in CI: print a diff, change nothing\n  gatehouse fmt - < main.gate                    # editors: formatted text on stdout\n  gatehouse fmt --check - < main.gate            # exit 1 if not canonical\n\nFiles are rewritten atomically (a temporary file next to the policy, then a rename), so an interrupted run never leaves a half-written policy. Comments are kept. A file that does not parse is reported and left as it is.\n\nExit codes: 0 nothing to change (or every file formatted), 1 --check found files that would change, 2 a file does not parse, cannot be read or cannot be written (with `-`: nothing is printed on stdout)."
)]
pub struct FmtArgs {
    /// Policy files or directories; directories are searched recursively for
    /// `.gate` files, skipping hidden directories and what `.gitignore` or
    /// `--exclude` names. `-` alone reads standard input and writes the
    /// formatted text to standard output.
    #[arg(default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// Change nothing: print a diff of what would change, and exit with 1 if
    /// any file would.
    #[arg(long)]
    pub check: bool,
    /// Skip files and directories matching GLOB while searching directories
    /// (gitignore syntax, repeatable); `.gitignore` rules, hidden
    /// directories and build caches are skipped too.
    #[arg(long, value_name = "GLOB", value_parser = super::walk::parse_exclude)]
    pub exclude: Vec<String>,
}

pub(super) fn run(args: &FmtArgs, io: &mut Io<'_>) -> u8 {
    if args.paths.iter().any(|p| super::is_stdin(p)) {
        if args.paths.len() > 1 {
            let _ = writeln!(
                io.stderr,
                "error: `-` (standard input) must be the only path given to fmt"
            );
            return exit::USAGE;
        }
        return format_stdin(args.check, io);
    }
    let excludes = match Excludes::new(&args.exclude) {
        Ok(e) => e,
        Err(e) => {
            let _ = writeln!(io.stderr, "error: {e}");
            return exit::POLICY;
        }
    };
    let mut failed = false;
    let mut files: Vec<PathBuf> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for path in &args.paths {
        match gate_files(path, &excludes) {
            Ok(found) => files.extend(found.into_iter().filter(|f| seen.insert(f.clone()))),
            Err(d) => {
                let _ = write!(io.stderr, "{}", d.render(io.color));
                failed = true;
            }
        }
    }
    let (mut changed, mut broken) = (0, 0);
    for path in &files {
        match format_one(path, args.check, io) {
            Ok(true) => changed += 1,
            Ok(false) => {}
            Err(diagnostics) => {
                for d in &diagnostics {
                    let _ = write!(io.stderr, "{}", render_one(d, io.color));
                }
                broken += 1;
                failed = true;
            }
        }
    }
    let of_files = match files.len() {
        1 => "of 1 file".to_owned(),
        n => format!("of {n} files"),
    };
    let mut summary = if args.check {
        format!("{changed} {of_files} would be reformatted")
    } else {
        format!("reformatted {changed} {of_files}")
    };
    if broken > 0 {
        summary.push_str(&format!("; {broken} could not be formatted (see above)"));
    }
    let _ = writeln!(io.stderr, "{summary}");
    if failed {
        exit::POLICY
    } else if args.check && changed > 0 {
        exit::FINDINGS
    } else {
        exit::OK
    }
}

/// `fmt -`: formats standard input onto standard output (an editor's
/// format-on-save), or with `--check` prints the diff and exits 1 when the
/// text is not canonical. Diagnostics name the source `<stdin>`; text that
/// does not parse is reported, nothing is printed on stdout, and the exit
/// code is 2, so an editor never replaces a buffer with nothing.
fn format_stdin(check: bool, io: &mut Io<'_>) -> u8 {
    let text = match super::read_text(Path::new("-"), loader::MAX_FILE_BYTES, &mut *io.stdin) {
        Ok(t) => t,
        Err(e) => {
            let _ = writeln!(io.stderr, "error: {e}");
            return exit::POLICY;
        }
    };
    let source = crate::source::SourceFile::new(super::STDIN_NAME.to_owned(), text);
    let formatted = match format_source(&source) {
        Ok(f) => f,
        Err(diagnostics) => {
            for d in &diagnostics.0 {
                let _ = write!(io.stderr, "{}", render_one(d, io.color));
            }
            return exit::POLICY;
        }
    };
    let canonical = formatted == source.text;
    let written = if check {
        if canonical {
            Ok(())
        } else {
            let diff = unified_diff(
                &source.text,
                &formatted,
                super::STDIN_NAME,
                super::STDIN_NAME,
                io.color,
            );
            write!(io.stdout, "{diff}")
        }
    } else {
        io.stdout.write_all(formatted.as_bytes())
    };
    if let Err(e) = written {
        return super::output_failed(io, &e);
    }
    if check && !canonical {
        exit::FINDINGS
    } else {
        exit::OK
    }
}

/// Formats one file: prints its diff (`check`) or rewrites it. Returns
/// whether it changed (or would).
fn format_one(path: &Path, check: bool, io: &mut Io<'_>) -> Result<bool, Vec<Diagnostic>> {
    let source = loader::read_set(path)
        .map_err(|d| d.0)?
        .pop()
        .ok_or_else(Vec::new)?;
    let formatted = format_source(&source).map_err(|d| d.0)?;
    if formatted == source.text {
        return Ok(false);
    }
    if check {
        let diff = unified_diff(
            &source.text,
            &formatted,
            &source.name,
            &source.name,
            io.color,
        );
        let _ = write!(io.stdout, "{diff}");
    } else {
        write_atomically(path, formatted.as_bytes()).map_err(|e| {
            vec![Diagnostic::without_span(
                Code::Io,
                format!("cannot write `{}`: {e}", path.display()),
                "check that the file and its directory are writable; the file was left as it was",
            )]
        })?;
        let _ = writeln!(io.stderr, "formatted {}", source.name);
    }
    Ok(true)
}

/// The files a PATH argument names: itself when it is a file, else every
/// `.gate` file under it that the walk keeps ([`super::walk`]), sorted.
fn gate_files(path: &Path, excludes: &Excludes) -> Result<Vec<PathBuf>, Diagnostics> {
    if !path.exists() {
        return Err(Diagnostic::without_span(
            Code::Io,
            format!(
                "cannot read `{}`: no such file or directory",
                path.display()
            ),
            "check the path",
        )
        .into());
    }
    let files = excludes.gate_files(path);
    if files.is_empty() {
        return Err(Diagnostic::without_span(
            Code::EmptyPolicySet,
            format!("no `.gate` files under `{}`", path.display()),
            "policy files end in `.gate`",
        )
        .into());
    }
    Ok(files)
}

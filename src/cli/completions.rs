//! `gatehouse completions SHELL` and `gatehouse man`: shell completions and
//! manual pages generated from the clap definition of the command line, so
//! they can never disagree with what the binary accepts.

use std::path::PathBuf;

use clap::{Args, CommandFactory};

use super::{Cli, Io, exit};

/// Arguments of `gatehouse completions`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  gatehouse completions bash > ~/.local/share/bash-completion/completions/gatehouse\n  gatehouse completions zsh > ~/.zfunc/_gatehouse\n  gatehouse completions fish > ~/.config/fish/completions/gatehouse.fish\n  gatehouse completions powershell >> $PROFILE\n  gatehouse completions elvish >> ~/.config/elvish/rc.elv\n\nPrints the completion script on stdout.\n\nExit codes: 0 printed, 2 usage error, 101 stdout cannot be written."
)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Arguments of `gatehouse man`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  gatehouse man | man -l -\n  gatehouse man --out-dir /usr/local/share/man/man1\n\nWithout --out-dir, prints the page of gatehouse followed by the page of every subcommand (roff) on stdout. With it, writes one file per page: gatehouse.1, gatehouse-eval.1, gatehouse-audit-verify.1, ...\n\nExit codes: 0 written, 2 usage error, 101 a page cannot be written."
)]
pub struct ManArgs {
    /// Write one page per command into this directory instead of stdout.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}

pub(super) fn completions(args: &CompletionsArgs, io: &mut Io<'_>) -> u8 {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "gatehouse", &mut out);
    match io.stdout.write_all(&out) {
        Ok(()) => exit::OK,
        Err(e) => super::output_failed(io, &e),
    }
}

pub(super) fn man(args: &ManArgs, io: &mut Io<'_>) -> u8 {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    // builds the bin and display names (`gatehouse-eval`) the pages use
    cmd.build();
    let written = match &args.out_dir {
        // A directory that cannot be written is a file named to be written
        // that cannot be: 2, as for `doc --output` and `keygen --out`.
        Some(dir) => match clap_mangen::generate_to(cmd, dir) {
            Ok(()) => return exit::OK,
            Err(e) => {
                let _ = writeln!(
                    io.stderr,
                    "error: cannot write the manual pages into `{}`: {e}",
                    dir.display()
                );
                return exit::USAGE;
            }
        },
        None => {
            let mut out = Vec::new();
            render_all(&cmd, &mut out).and_then(|()| io.stdout.write_all(&out))
        }
    };
    match written {
        Ok(()) => exit::OK,
        Err(e) => super::output_failed(io, &e),
    }
}

/// Renders the page of `cmd` and then those of its subcommands, depth first.
fn render_all(cmd: &clap::Command, out: &mut Vec<u8>) -> std::io::Result<()> {
    clap_mangen::Man::new(cmd.clone()).render(out)?;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        render_all(sub, out)?;
    }
    Ok(())
}

//! `--color auto|always|never`, and the environment conventions it sits on
//! top of (<https://no-color.org>, <https://bixense.com/clicolors/>).

use std::ffi::OsStr;

use clap::ValueEnum;

/// When to color output (`--color`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Color when stdout is a terminal, unless `NO_COLOR` is set and not
    /// empty; `CLICOLOR_FORCE` (set, not empty, not `0`) colors anyway.
    #[default]
    Auto,
    /// Always color.
    Always,
    /// Never color.
    Never,
}

/// Whether to color, in this order of precedence: an explicit `--color
/// always|never`; then `NO_COLOR` set and not empty (off); then
/// `CLICOLOR_FORCE` set, not empty and not `0` (on); then whether the output
/// is a terminal. The environment is passed in, so the rule is tested
/// without touching the process's.
pub fn resolve(
    choice: ColorChoice,
    no_color: Option<&OsStr>,
    clicolor_force: Option<&OsStr>,
    is_terminal: bool,
) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            if no_color.is_some_and(|v| !v.is_empty()) {
                false
            } else if clicolor_force.is_some_and(|v| !v.is_empty() && v != "0") {
                true
            } else {
                is_terminal
            }
        }
    }
}

/// The value of the last `--color WHEN` or `--color=WHEN` in raw command
/// line arguments (before a `--`), for output written before clap has
/// parsed them; `None` when absent or not a valid choice.
pub fn from_args(args: impl IntoIterator<Item = std::ffi::OsString>) -> Option<ColorChoice> {
    let mut found = None;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let value = match arg.to_str() {
            Some("--") => break,
            Some("--color") => args.next(),
            Some(a) => a.strip_prefix("--color=").map(Into::into),
            None => None,
        };
        if let Some(v) = value.as_ref().and_then(|v| v.to_str()) {
            found = ColorChoice::from_str(v, false).ok();
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::{ColorChoice, from_args, resolve};

    #[test]
    fn the_color_flag_is_found_in_raw_arguments() {
        let args = |a: &[&str]| a.iter().map(std::ffi::OsString::from).collect::<Vec<_>>();
        assert_eq!(
            from_args(args(&["gh", "--color", "never", "eval"])),
            Some(ColorChoice::Never)
        );
        assert_eq!(
            from_args(args(&["gh", "check", "--color=always"])),
            Some(ColorChoice::Always)
        );
        assert_eq!(
            from_args(args(&["gh", "check", "--", "--color=always"])),
            None
        );
        assert_eq!(from_args(args(&["gh", "--color", "sometimes"])), None);
        assert_eq!(from_args(args(&["gh", "check"])), None);
    }
    use std::ffi::OsStr;

    #[test]
    fn precedence_is_flag_then_no_color_then_clicolor_force_then_terminal() {
        let set = |s: &'static str| Some(OsStr::new(s));
        for tty in [false, true] {
            for nc in [None, set(""), set("1")] {
                for force in [None, set(""), set("0"), set("1")] {
                    assert!(resolve(ColorChoice::Always, nc, force, tty));
                    assert!(!resolve(ColorChoice::Never, nc, force, tty));
                    let expected = if nc.is_some_and(|v| !v.is_empty()) {
                        false
                    } else if force.is_some_and(|v| v == "1") {
                        true
                    } else {
                        tty
                    };
                    assert_eq!(
                        resolve(ColorChoice::Auto, nc, force, tty),
                        expected,
                        "NO_COLOR={nc:?} CLICOLOR_FORCE={force:?} tty={tty}"
                    );
                }
            }
        }
    }
}

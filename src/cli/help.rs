//! `--help` whose examples are never wrapped mid-command.
//!
//! clap (feature `wrap_help`) wraps the text after the options at the
//! terminal's width, examples included, so a narrow terminal shows half a
//! command on one line and the rest on the next, and a copied line fails.
//! Here each command's after-help text is rendered once, before parsing:
//! indented lines (examples and their continuation lines) are kept whole,
//! prose is wrapped at whitespace to the same width clap uses, and the
//! result goes into the help template as literal text, which clap prints as
//! it is.

use clap::Command;

/// The template clap uses by default, without its `{after-help}` tag.
const TEMPLATE: &str = "{before-help}{about-with-newline}\n{usage-heading} {usage}\n\n{all-args}";

/// Tags clap's template engine replaces; text holding one of them, or a `{`
/// it would swallow, keeps clap's own rendering (see [`literal_safe`]).
const TAGS: &[&str] = &[
    "name",
    "bin",
    "version",
    "author",
    "author-with-newline",
    "author-section",
    "about",
    "about-with-newline",
    "about-section",
    "usage-heading",
    "usage",
    "all-args",
    "options",
    "positionals",
    "subcommands",
    "tab",
    "after-help",
    "before-help",
];

/// `cmd` and every subcommand with its after-help rendered for a terminal of
/// `width` columns (see the module doc).
pub fn prepare(cmd: Command, width: usize) -> Command {
    let cmd = cmd.mut_subcommands(|sub| prepare(sub, width));
    let Some(after) = cmd.get_after_help().map(ToString::to_string) else {
        return cmd;
    };
    let rendered = render(&after, width);
    if !literal_safe(&rendered) {
        return cmd;
    }
    cmd.help_template(format!("{TEMPLATE}\n\n{rendered}"))
}

/// The width clap wraps at: the terminal's, else `COLUMNS`, else 100.
pub fn width() -> usize {
    terminal_size::terminal_size()
        .map(|(w, _)| usize::from(w.0))
        .or_else(|| std::env::var("COLUMNS").ok()?.parse().ok())
        .unwrap_or(100)
}

/// Keeps indented lines (examples) as they are and wraps the others at
/// whitespace, never inside a word or at a hyphen.
pub fn render(text: &str, width: usize) -> String {
    let options = textwrap::Options::new(width.max(1))
        .break_words(false)
        .word_separator(textwrap::WordSeparator::AsciiSpace)
        .word_splitter(textwrap::WordSplitter::NoHyphenation);
    let lines: Vec<String> = text
        .lines()
        .map(|line| {
            if line.starts_with(char::is_whitespace) || line.is_empty() {
                line.to_owned()
            } else {
                textwrap::fill(line, &options)
            }
        })
        .collect();
    lines.join("\n")
}

/// Whether clap's template engine prints `text` unchanged: it splits at `{`,
/// replaces known `{tag}`s, reprints unknown ones, and drops a part with no
/// `}` at all.
fn literal_safe(text: &str) -> bool {
    text.split('{').skip(1).all(|part| {
        part.split_once('}')
            .is_some_and(|(tag, _)| !TAGS.contains(&tag))
    })
}

#[cfg(test)]
mod tests {
    use super::{literal_safe, render};

    #[test]
    fn examples_stay_whole_and_prose_wraps_at_spaces() {
        let text = "Examples:\n  gatehouse eval --policy policies/ai-agent-actions examples/actions/refund-large.json\n\nExit codes: 0 decided, 2 usage error or the policy does not compile.";
        let out = render(text, 20);
        assert!(out.contains(
            "\n  gatehouse eval --policy policies/ai-agent-actions examples/actions/refund-large.json\n"
        ));
        for line in out.lines().filter(|l| !l.starts_with(' ')) {
            assert!(line.len() <= 20, "{line:?}");
        }
        assert_eq!(
            out.split_whitespace().collect::<Vec<_>>(),
            text.split_whitespace().collect::<Vec<_>>()
        );
    }

    #[test]
    fn text_the_template_engine_would_change_is_detected() {
        assert!(literal_safe("a {payload, id_token} object"));
        assert!(!literal_safe("{\"a\":{\"b\":1}}"));
        assert!(!literal_safe("see {usage}"));
        assert!(!literal_safe("unclosed {"));
    }
}

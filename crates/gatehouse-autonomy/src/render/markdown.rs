//! The report as Markdown, for a pull request comment: the candidates in
//! the open, each dimension's table folded in `<details>`.

use std::io::{self, Write};

use super::{COLUMNS, cells, groups, heading, less_why, name, percent, relax_words, singular};
use crate::Dimension;
use crate::report::Report;

/// Escapes the characters that would break a table cell or start markup,
/// shows control characters and bidirectional overrides as `\u{..}` (as
/// the terminal report does), and puts a zero-width space after `@` and
/// `#` so that an agent id like `@octocat` or `#12` in the history cannot
/// mention a person or link an issue in the pull request the report is
/// posted to.
fn cell(text: &str) -> String {
    let text = super::text::plain(text);
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '@' | '#' => {
                out.push(ch);
                out.push('\u{200b}');
            }
            '|' | '\\' | '`' | '*' | '_' | '<' | '>' | '[' | ']' => {
                out.push('\\');
                out.push(ch);
            }
            '\n' | '\r' => out.push(' '),
            _ => out.push(ch),
        }
    }
    out
}

/// Writes the report as Markdown.
pub fn write_markdown(out: &mut dyn Write, report: &Report) -> io::Result<()> {
    writeln!(out, "### gatehouse autonomy")?;
    writeln!(out)?;
    writeln!(out, "{}.", cell(&super::summary(report)))?;
    writeln!(out, "Thresholds: {}.", cell(&super::thresholds(report)))?;
    writeln!(out)?;
    let more = &report.candidates.more;
    writeln!(out, "#### Candidates for more autonomy ({})", more.len())?;
    writeln!(out)?;
    if !more.is_empty() {
        writeln!(
            out,
            "| | name | held as | decided | overridden | upper bound | if relaxed |"
        )?;
        writeln!(out, "|---|---|---|---:|---:|---:|---|")?;
        for c in more {
            let relax = relax_words(c)
                .or_else(|| c.relax_note.clone())
                .unwrap_or_default();
            writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} |",
                singular(c.dimension),
                cell(&c.key),
                c.outcome.map_or("-", |o| o.as_str()),
                c.human_decided,
                c.overridden,
                percent(Some(c.upper_bound)),
                cell(&relax)
            )?;
        }
        writeln!(out)?;
    }
    let less = &report.candidates.less;
    writeln!(out, "#### Candidates for less autonomy ({})", less.len())?;
    writeln!(out)?;
    if !less.is_empty() {
        writeln!(out, "| | name | why | lower bound | evidence |")?;
        writeln!(out, "|---|---|---|---:|---|")?;
        for c in less {
            writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                singular(c.dimension),
                cell(&c.key),
                cell(&less_why(c)),
                percent(Some(c.lower_bound)),
                cell(&c.evidence.join(", "))
            )?;
        }
        writeln!(out)?;
    }
    for d in Dimension::ALL {
        let list = groups(report, d);
        writeln!(
            out,
            "<details><summary>{} ({})</summary>",
            heading(d),
            list.len()
        )?;
        writeln!(out)?;
        if !list.is_empty() {
            writeln!(out, "| {} | {} |", singular(d), COLUMNS.join(" | "))?;
            writeln!(out, "|---|{}", "---:|".repeat(COLUMNS.len()))?;
            for g in list {
                writeln!(
                    out,
                    "| {} | {} |",
                    cell(&name(g)),
                    cells(report, g).join(" | ")
                )?;
            }
            writeln!(out)?;
        }
        writeln!(out, "</details>")?;
        writeln!(out)?;
    }
    Ok(())
}

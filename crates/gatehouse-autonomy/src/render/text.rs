//! The report for a terminal.

use std::io::{self, Write};

use super::{COLUMNS, cells, groups, heading, less_why, name, percent, relax_words, singular};
use crate::Dimension;
use crate::report::Report;

/// Text from the history (agent ids, targets, rule names, reviewers,
/// request ids) as it may reach a terminal: control characters (escape
/// sequences, line ends) and bidirectional overrides are written as
/// `\u{..}`, so a line of the history cannot forge a line of the report,
/// move the cursor or retitle the terminal.
pub(super) fn plain(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        let bidi = matches!(ch, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
        if ch.is_control() || bidi {
            out.extend(ch.escape_unicode());
        } else {
            out.push(ch);
        }
    }
    out
}

/// Writes the report as aligned text.
pub fn write_human(out: &mut dyn Write, report: &Report) -> io::Result<()> {
    writeln!(out, "gatehouse autonomy: {}", super::summary(report))?;
    writeln!(out, "thresholds: {}", super::thresholds(report))?;
    if report.input.shadow_differs > 0 {
        writeln!(
            out,
            "shadow decisions differing from the enforced one: {}",
            report.input.shadow_differs
        )?;
    }
    writeln!(out)?;
    let more = &report.candidates.more;
    writeln!(out, "Candidates for more autonomy: {}", more.len())?;
    for c in more {
        writeln!(
            out,
            "  {} {} ({}): {} of {} human decisions rejected or sent back, upper bound {}",
            singular(c.dimension),
            plain(&c.key),
            c.outcome.map_or("-", |o| o.as_str()),
            c.overridden,
            c.human_decided,
            percent(Some(c.upper_bound))
        )?;
        if let Some(words) = relax_words(c) {
            writeln!(out, "    {}", plain(&words))?;
        } else if let Some(note) = &c.relax_note {
            writeln!(out, "    {}", plain(note))?;
        }
    }
    let less = &report.candidates.less;
    writeln!(out, "Candidates for less autonomy: {}", less.len())?;
    for c in less {
        writeln!(
            out,
            "  {} {}: {}, lower bound {}",
            singular(c.dimension),
            plain(&c.key),
            less_why(c),
            percent(Some(c.lower_bound))
        )?;
        if !c.evidence.is_empty() {
            writeln!(out, "    evidence: {}", plain(&c.evidence.join(", ")))?;
        }
    }
    for d in Dimension::ALL {
        let list = groups(report, d);
        writeln!(out)?;
        writeln!(out, "{} ({})", heading(d), list.len())?;
        if list.is_empty() {
            continue;
        }
        let mut rows = vec![
            std::iter::once(singular(d).to_owned())
                .chain(COLUMNS.iter().map(|c| (*c).to_owned()))
                .collect::<Vec<_>>(),
        ];
        for g in list {
            rows.push(
                std::iter::once(plain(&name(g)))
                    .chain(cells(report, g))
                    .collect(),
            );
        }
        table(out, &rows)?;
    }
    let r = &report.reviewers;
    writeln!(out)?;
    match &r.busiest {
        Some(who) => writeln!(
            out,
            "Reviewers: {} review actions by {} reviewers; busiest {} ({}, {})",
            r.actions,
            r.reviewers,
            plain(who),
            r.busiest_actions,
            percent(r.busiest_share)
        )?,
        None => writeln!(out, "Reviewers: no review actions")?,
    }
    for u in &report.input.unreadable_lines {
        writeln!(out, "unreadable line {}: {}", u.line, plain(&u.message))?;
    }
    Ok(())
}

/// Left-aligned first column, right-aligned numbers.
fn table(out: &mut dyn Write, rows: &[Vec<String>]) -> io::Result<()> {
    let columns = rows.first().map_or(0, Vec::len);
    let widths: Vec<usize> = (0..columns)
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in rows {
        let mut line = String::from(" ");
        for (i, (cell, width)) in row.iter().zip(&widths).enumerate() {
            if i == 0 {
                line.push_str(&format!(" {cell:<width$}"));
            } else {
                line.push_str(&format!(" {cell:>width$}"));
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

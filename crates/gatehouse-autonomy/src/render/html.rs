//! The report as one self-contained HTML file: inline CSS, inline SVG
//! charts, no script and nothing fetched from the network. Every value
//! from the history is escaped.

use std::fmt::Write as _;
use std::io::{self, Write};

use super::{COLUMNS, cells, groups, heading, less_why, name, percent, relax_words, singular};
use crate::Dimension;
use crate::report::{Report, TimelineRow};

/// Rules charted (the largest by volume); the tables list them all.
pub const CHARTED_RULES: usize = 12;

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2rem;color:#1b1b1b;max-width:80rem}\
table{border-collapse:collapse;margin:1rem 0;font-size:.9rem}\
th,td{border:1px solid #c8c8c8;padding:.25rem .5rem}td.n{text-align:right;font-variant-numeric:tabular-nums}\
th{background:#f0f0f0;text-align:left}caption{text-align:left;font-weight:600;padding:.25rem 0}\
figure{display:inline-block;margin:0 1rem 1rem 0}figcaption{font-size:.85rem}\
svg .bar{fill:#4a6fa5}svg .rate{stroke:#b03a2e;fill:none;stroke-width:2}svg text{font-size:10px;fill:#333}";

/// Escapes text for HTML content and attribute values.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(ch),
        }
    }
    out
}

/// Writes the report as HTML.
pub fn write_html(out: &mut dyn Write, report: &Report) -> io::Result<()> {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>gatehouse autonomy report</title><style>{STYLE}</style></head><body><main>\
<h1>gatehouse autonomy report</h1><p>{}.</p><p>Thresholds: {}.</p>",
        esc(&super::summary(report)),
        esc(&super::thresholds(report))
    );
    candidates(&mut h, report);
    h.push_str("<h2>Volumes and override rates over time</h2>");
    let _ = write!(
        h,
        "<p>Per rule and {} (the {CHARTED_RULES} largest rules): bars are decisions, the red line the share of human decisions rejected or sent back.</p>",
        match report.options.bucket {
            crate::Bucket::Day => "day",
            crate::Bucket::Week => "week",
        }
    );
    for g in report.rules.iter().take(CHARTED_RULES) {
        let rows: Vec<&TimelineRow> = report.timeline.iter().filter(|r| r.rule == g.key).collect();
        chart(&mut h, &g.key, &rows);
    }
    for d in Dimension::ALL {
        table(&mut h, report, d);
    }
    h.push_str("</main></body></html>\n");
    out.write_all(h.as_bytes())
}

fn candidates(h: &mut String, report: &Report) {
    let more = &report.candidates.more;
    let _ = write!(h, "<h2>Candidates for more autonomy ({})</h2>", more.len());
    if !more.is_empty() {
        h.push_str("<table><caption>Held rules and tiers whose human decisions say they may do more</caption><thead><tr><th scope=\"col\">kind</th><th scope=\"col\">name</th><th scope=\"col\">held as</th><th scope=\"col\">decided</th><th scope=\"col\">overridden</th><th scope=\"col\">upper bound</th><th scope=\"col\">if relaxed</th></tr></thead><tbody>");
        for c in more {
            let relax = relax_words(c)
                .or_else(|| c.relax_note.clone())
                .unwrap_or_default();
            let _ = write!(
                h,
                "<tr><td>{}</td><th scope=\"row\">{}</th><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
                singular(c.dimension),
                esc(&c.key),
                c.outcome.map_or("-", |o| o.as_str()),
                c.human_decided,
                c.overridden,
                percent(Some(c.upper_bound)),
                esc(&relax)
            );
        }
        h.push_str("</tbody></table>");
    }
    let less = &report.candidates.less;
    let _ = write!(h, "<h2>Candidates for less autonomy ({})</h2>", less.len());
    if !less.is_empty() {
        h.push_str("<table><caption>Rules and tiers whose actions were rejected too often</caption><thead><tr><th scope=\"col\">kind</th><th scope=\"col\">name</th><th scope=\"col\">why</th><th scope=\"col\">lower bound</th><th scope=\"col\">evidence</th></tr></thead><tbody>");
        for c in less {
            let _ = write!(
                h,
                "<tr><td>{}</td><th scope=\"row\">{}</th><td>{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
                singular(c.dimension),
                esc(&c.key),
                esc(&less_why(c)),
                percent(Some(c.lower_bound)),
                esc(&c.evidence.join(", "))
            );
        }
        h.push_str("</tbody></table>");
    }
}

fn table(h: &mut String, report: &Report, d: Dimension) {
    let list = groups(report, d);
    let _ = write!(h, "<h2>{} ({})</h2>", heading(d), list.len());
    if list.is_empty() {
        return;
    }
    let _ = write!(
        h,
        "<table><caption>{} by volume</caption><thead><tr><th scope=\"col\">{}</th>",
        heading(d),
        singular(d)
    );
    for c in COLUMNS {
        let _ = write!(h, "<th scope=\"col\">{c}</th>");
    }
    h.push_str("</tr></thead><tbody>");
    for g in list {
        let _ = write!(h, "<tr><th scope=\"row\">{}</th>", esc(&name(g)));
        for v in cells(report, g) {
            let _ = write!(h, "<td class=\"n\">{}</td>", esc(&v));
        }
        h.push_str("</tr>");
    }
    h.push_str("</tbody></table>");
}

/// One rule's bars (volume per bucket) and line (override rate), with a
/// text alternative that states the same numbers.
fn chart(h: &mut String, rule: &str, rows: &[&TimelineRow]) {
    const W: f64 = 360.0;
    const HEIGHT: f64 = 120.0;
    const PAD: f64 = 20.0;
    let max = rows
        .iter()
        .map(|r| r.counts.volume)
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let n = rows.len().max(1) as f64;
    let step = (W - 2.0 * PAD) / n;
    let total: u64 = rows.iter().map(|r| r.counts.volume).sum();
    let decided: u64 = rows.iter().map(|r| r.counts.human_decided).sum();
    let overridden: u64 = rows.iter().map(|r| r.counts.overridden()).sum();
    let alt = format!(
        "Rule {rule}: {total} decisions in {} buckets from {} to {}; {overridden} of {decided} human decisions rejected or sent back.",
        rows.len(),
        rows.first().map_or("-", |r| r.bucket.as_str()),
        rows.last().map_or("-", |r| r.bucket.as_str()),
    );
    let _ = write!(
        h,
        "<figure><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{}\" viewBox=\"0 0 {W} {}\" role=\"img\" aria-label=\"{}\"><title>{}</title>",
        HEIGHT + PAD,
        HEIGHT + PAD,
        esc(&alt),
        esc(&alt)
    );
    let mut points = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        let x = PAD + i as f64 * step;
        let bar = (r.counts.volume as f64 / max) * (HEIGHT - PAD);
        let _ = write!(
            h,
            "<rect class=\"bar\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\"><title>{}: {} decisions</title></rect>",
            x + 1.0,
            HEIGHT - bar,
            (step - 2.0).max(1.0),
            bar,
            esc(&r.bucket),
            r.counts.volume
        );
        if r.counts.human_decided > 0 {
            let rate = r.counts.overridden() as f64 / r.counts.human_decided as f64;
            points.push(format!(
                "{:.1},{:.1}",
                x + step / 2.0,
                HEIGHT - rate * (HEIGHT - PAD)
            ));
        }
    }
    if points.len() > 1 {
        let _ = write!(
            h,
            "<polyline class=\"rate\" points=\"{}\"/>",
            points.join(" ")
        );
    }
    let _ = write!(
        h,
        "<text x=\"{PAD}\" y=\"{}\">{}</text><text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text></svg><figcaption>{}</figcaption></figure>",
        HEIGHT + 14.0,
        esc(rows.first().map_or("", |r| r.bucket.as_str())),
        W - PAD,
        HEIGHT + 14.0,
        esc(rows.last().map_or("", |r| r.bucket.as_str())),
        esc(rule)
    );
}

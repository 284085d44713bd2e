//! Bar charts as inline SVG, drawn on the server: no script, no library,
//! nothing fetched. Each chart is `role="img"` with an `aria-label` and a
//! `<title>` that state every number it draws (the page also shows them in
//! a table), so the picture adds nothing a screen reader misses.
//!
//! Colours are SVG presentation attributes, which the console's content
//! security policy allows (it refuses inline `style`). Labels are escaped
//! by maud like any other text; a label an agent wrote is marked
//! `agent-provided` and is never a link.

use maud::{Markup, html};

/// One series of a stacked chart: its name and fill colour.
#[derive(Clone, Copy, Debug)]
pub struct Series {
    /// What it counts ("approved").
    pub name: &'static str,
    /// Its fill (`#1b7f3b`).
    pub fill: &'static str,
}

/// One bar: a label and one value per series.
#[derive(Clone, Debug)]
pub struct Bar {
    /// The label drawn left of the bar.
    pub label: String,
    /// Whether an agent wrote the label.
    pub agent_written: bool,
    /// One value per series.
    pub values: Vec<u64>,
    /// The text drawn after the bar (the total when `None`).
    pub note: Option<String>,
}

/// Longest label drawn in full; longer ones are cut with "…" (the title
/// and the table carry them whole).
const LABEL_CHARS: usize = 28;
const WIDTH: u64 = 720;
const LABEL_WIDTH: u64 = 200;
const NOTE_WIDTH: u64 = 180;
const ROW: u64 = 22;
const LEGEND: u64 = 24;

fn cut(label: &str) -> String {
    if label.chars().count() <= LABEL_CHARS {
        return label.to_owned();
    }
    let mut s: String = label.chars().take(LABEL_CHARS - 1).collect();
    s.push('…');
    s
}

/// The sentence that states the chart's numbers (its `aria-label` and
/// `<title>`).
pub fn describe(title: &str, series: &[Series], bars: &[Bar]) -> String {
    if bars.is_empty() {
        return format!("{title}: no data");
    }
    let items: Vec<String> = bars
        .iter()
        .map(|b| {
            let parts: Vec<String> = series
                .iter()
                .zip(&b.values)
                .map(|(s, v)| format!("{v} {}", s.name))
                .collect();
            match &b.note {
                Some(note) => format!("{}: {} ({note})", b.label, parts.join(", ")),
                None => format!("{}: {}", b.label, parts.join(", ")),
            }
        })
        .collect();
    format!("{title}. {}", items.join("; "))
}

/// A horizontal bar chart, one bar per entry, each split into its series
/// (one series: a plain bar chart). Bars scale to the largest total.
pub fn stacked_bars(id: &str, title: &str, series: &[Series], bars: &[Bar]) -> Markup {
    let label = describe(title, series, bars);
    let max = bars
        .iter()
        .map(|b| b.values.iter().sum::<u64>())
        .max()
        .unwrap_or(0)
        .max(1);
    let area = WIDTH - LABEL_WIDTH - NOTE_WIDTH;
    let legend = if series.len() > 1 { LEGEND } else { 0 };
    let height = legend + ROW * (bars.len() as u64).max(1) + 4;
    html! {
        svg.chart id=(id) xmlns="http://www.w3.org/2000/svg" role="img"
            viewBox=(format!("0 0 {WIDTH} {height}")) width="100%"
            preserveAspectRatio="xMinYMin meet" aria-label=(label) {
            title { (label) }
            @if series.len() > 1 {
                @for (s, x) in legend_places(series) {
                    rect x=(x) y="4" width="12" height="12" fill=(s.fill) {}
                    text x=(x + 16) y="15" font-size="12" fill="currentColor" { (s.name) }
                }
            }
            @if bars.is_empty() {
                text x="0" y=(legend + 15) font-size="12" fill="currentColor" { "no data" }
            }
            @for (row, bar) in bars.iter().enumerate() {
                @let y = legend + row as u64 * ROW;
                @let total: u64 = bar.values.iter().sum();
                @if bar.agent_written {
                    text.agent-provided x=(LABEL_WIDTH - 6) y=(y + 15) font-size="12"
                        text-anchor="end" fill="currentColor" { (cut(&bar.label)) }
                } @else {
                    text x=(LABEL_WIDTH - 6) y=(y + 15) font-size="12"
                        text-anchor="end" fill="currentColor" { (cut(&bar.label)) }
                }
                @let (segments, end) = segments(series, &bar.values, area, max);
                @for (s, v, x, w) in segments {
                    rect x=(x) y=(y + 3) width=(w) height=(ROW - 6) fill=(s.fill) {
                        title { (bar.label) ": " (v) " " (s.name) }
                    }
                }
                text x=(end + 6) y=(y + 15) font-size="12" fill="currentColor" {
                    @match &bar.note { Some(n) => (n), None => (total) }
                }
            }
        }
    }
}

/// Where each legend entry starts: after the label column, each one as
/// wide as its name (about 7 px a character at 12 px) plus its swatch.
fn legend_places(series: &[Series]) -> Vec<(&Series, u64)> {
    let mut x = LABEL_WIDTH;
    series
        .iter()
        .map(|s| {
            let at = x;
            x += 16 + 7 * s.name.chars().count() as u64 + 18;
            (s, at)
        })
        .collect()
}

/// A column chart of one series over time (one column per entry, left to
/// right), for many entries: a label under the first, the last and every
/// `label_every`-th column. States its numbers like [`stacked_bars`].
pub fn columns(id: &str, title: &str, series: Series, bars: &[Bar], label_every: usize) -> Markup {
    let label = describe(title, std::slice::from_ref(&series), bars);
    let max = bars
        .iter()
        .map(|b| b.values.iter().sum::<u64>())
        .max()
        .unwrap_or(0)
        .max(1);
    let (top, plot, axis) = (16u64, 120u64, 18u64);
    let n = (bars.len() as u64).max(1);
    let span = WIDTH - 40;
    let width = (span * 3 / (4 * n)).max(1);
    html! {
        svg.chart id=(id) xmlns="http://www.w3.org/2000/svg" role="img"
            viewBox=(format!("0 0 {WIDTH} {}", top + plot + axis)) width="100%"
            preserveAspectRatio="xMinYMin meet" aria-label=(label) {
            title { (label) }
            text x="0" y="12" font-size="12" fill="currentColor" { "max " (max) }
            line x1="0" x2=(WIDTH) y1=(top + plot) y2=(top + plot) stroke="currentColor" stroke-width="1" {}
            @for (i, bar) in bars.iter().enumerate() {
                @let x = 20 + i as u64 * span / n;
                @let total: u64 = bar.values.iter().sum();
                @let h = total.saturating_mul(plot) / max;
                @if total > 0 {
                    rect x=(x) y=(top + plot - h.max(1)) width=(width) height=(h.max(1)) fill=(series.fill) {
                        title { (bar.label) ": " (total) " " (series.name) }
                    }
                }
                @if i == 0 || i + 1 == bars.len() || (label_every > 0 && i % label_every == 0 && i + 3 < bars.len()) {
                    text x=(x + width / 2) y=(top + plot + 14) font-size="11" text-anchor="middle"
                        fill="currentColor" { (bar.label) }
                }
            }
        }
    }
}

/// The drawn pieces of one bar, `(series, value, x, width)`, left to
/// right (zero values are not drawn; any other is at least 1 wide), and
/// where the bar ends.
fn segments<'s>(
    series: &'s [Series],
    values: &[u64],
    area: u64,
    max: u64,
) -> (Vec<(&'s Series, u64, u64, u64)>, u64) {
    let mut x = LABEL_WIDTH;
    let mut out = Vec::new();
    for (s, v) in series.iter().zip(values) {
        if *v == 0 {
            continue;
        }
        let w = (v.saturating_mul(area) / max).max(1);
        out.push((s, *v, x, w));
        x += w;
    }
    (out, x)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE: [Series; 1] = [Series {
        name: "requests",
        fill: "#333",
    }];

    #[test]
    fn a_chart_states_its_numbers_and_escapes_labels() {
        let bars = vec![
            Bar {
                label: "<b>agent</b>".into(),
                agent_written: true,
                values: vec![3],
                note: None,
            },
            Bar {
                label: "b".into(),
                agent_written: false,
                values: vec![1],
                note: Some("1 min".into()),
            },
        ];
        let svg = stacked_bars("c", "Requests per agent", &ONE, &bars).into_string();
        assert!(svg.starts_with("<svg class=\"chart\" id=\"c\""));
        assert!(svg.contains("role=\"img\""));
        assert!(svg.contains(
            "aria-label=\"Requests per agent. &lt;b&gt;agent&lt;/b&gt;: 3 requests; b: 1 requests (1 min)\""
        ));
        assert!(!svg.contains("<b>"));
        assert!(svg.contains("class=\"agent-provided\""));
        // The larger bar spans the whole area; the smaller a third.
        assert!(svg.contains("width=\"340\""), "{svg}");
        assert!(svg.contains("width=\"113\""), "{svg}");
    }

    #[test]
    fn columns_state_their_numbers() {
        let bars: Vec<Bar> = (1..=10)
            .map(|d| Bar {
                label: format!("day {d}"),
                agent_written: false,
                values: vec![d],
                note: None,
            })
            .collect();
        let svg = columns("d", "Per day", ONE[0], &bars, 4).into_string();
        assert!(svg.contains("aria-label=\"Per day. day 1: 1 requests; day 2: 2 requests;"));
        assert_eq!(svg.matches("<rect").count(), 10);
        // Labels: the first, every 4th not too close to the end, the last.
        assert_eq!(svg.matches("text-anchor=\"middle\"").count(), 3, "{svg}");
        assert!(svg.contains("height=\"120\""), "the largest fills the plot");
    }

    #[test]
    fn an_empty_chart_says_so() {
        let svg = stacked_bars("c", "T", &ONE, &[]).into_string();
        assert!(svg.contains("aria-label=\"T: no data\""));
        assert!(svg.contains(">no data<"));
    }

    #[test]
    fn long_labels_are_cut() {
        assert_eq!(cut(&"x".repeat(40)).chars().count(), LABEL_CHARS);
        assert_eq!(cut("short"), "short");
    }
}

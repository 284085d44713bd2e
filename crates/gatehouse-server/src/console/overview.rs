//! The overview (`GET /console/overview`): what a team reads to decide
//! when an agent may get more autonomy (or less): pending work by tier
//! and age, time to decision, and per rule and per agent how often people
//! approved, rejected, asked for changes or let the deadline act, with
//! daily volumes. The numbers come from [`super::review_stats::aggregate`]; this
//! module reads the rows and draws them (tables and inline SVG charts).
//!
//! Bounded: the window is the last `days` days (1..=365, default 30), read
//! newest first up to [`OVERVIEW_MAX`] requests; pending requests (of any
//! age) up to [`PENDING_MAX`]. The page says what it covered and whether a
//! limit cut it. Both reads are index ranges: the window's by an id bound
//! (ids sort by creation time), the pending ones by the state index.
//!
//! The Autonomy section reads the store's audit chain from the first
//! record of the oldest request in that window, at most
//! [`AUTONOMY_MAX_LINES`] lines and [`AUTONOMY_MAX_BYTES`] bytes, through
//! the same report as `gatehouse autonomy` (crates/gatehouse-autonomy,
//! default thresholds): the candidates it lists are the ones the command
//! names for the same lines.
//!
//! Measured on 100 000 requests of ~2 KB (`measure_search_on_100k`, a
//! debug build on a busy 2-core machine): a full window of 10 000 rows is
//! read in ~0.65 s and aggregated in ~30 ms; an empty window costs under
//! a millisecond (0.7 s without the id bound, which reads the table).

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};

use super::charts::{Bar, Series, columns, stacked_bars};
use super::layout::{self, Chrome, Nav, agent_text, human_duration};
use super::review_stats::{AGE_BUCKETS, Overview, Tally, aggregate};
use super::session::Reviewer;
use super::{dev_mode, problem_page};
use crate::error::GateError;
use crate::gate::Gate;
use crate::lifecycle::State as LifeState;
use crate::store::{ID_CLOCK_MARGIN, ListFilter, OUTCOMES, RequestRow};

/// The most requests of the window the overview reads (the newest).
pub const OVERVIEW_MAX: u32 = 10_000;

/// The most pending requests the overview reads (the newest).
pub const PENDING_MAX: u32 = 10_000;

/// The most rules or agents drawn in a chart (the busiest; the table
/// lists up to [`TABLE_MAX`]).
pub const CHART_MAX: usize = 20;

/// The most rules or agents listed in a table (the busiest).
pub const TABLE_MAX: usize = 200;

/// The most audit lines the Autonomy section reads.
pub const AUTONOMY_MAX_LINES: u32 = 100_000;

/// The most audit bytes the Autonomy section reads.
pub const AUTONOMY_MAX_BYTES: usize = 64 * 1024 * 1024;

/// Audit lines per page read from the store.
const AUTONOMY_PAGE_LINES: u32 = 1000;

/// The window unless `days` says otherwise.
pub const DEFAULT_DAYS: u32 = 30;

/// The longest window.
pub const MAX_DAYS: u32 = 365;

const RESULTS: [Series; 4] = [
    Series {
        name: "approved",
        fill: "#1b7f3b",
    },
    Series {
        name: "rejected",
        fill: "#b3261e",
    },
    Series {
        name: "changes requested",
        fill: "#b06000",
    },
    Series {
        name: "expired",
        fill: "#6b6b6b",
    },
];

/// Reads `days` (the only parameter; others are ignored).
pub fn parse_days(query: Option<&str>) -> Result<u32, GateError> {
    let mut days = None;
    for (k, v) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        if k != "days" {
            continue;
        }
        if days.is_some() {
            return Err(GateError::bad_request(
                "INVALID_QUERY",
                "`days` is given more than once",
            ));
        }
        days = Some(
            v.trim()
                .parse::<u32>()
                .ok()
                .filter(|d| (1..=MAX_DAYS).contains(d))
                .ok_or_else(|| {
                    GateError::bad_request(
                        "INVALID_QUERY",
                        format!("`days` is a whole number from 1 to {MAX_DAYS}"),
                    )
                })?,
        );
    }
    Ok(days.unwrap_or(DEFAULT_DAYS))
}

/// `GET /console/overview[?days=N]`.
pub async fn page(
    State(gate): State<Arc<Gate>>,
    reviewer: Reviewer,
    RawQuery(query): RawQuery,
) -> Response {
    let days = match parse_days(query.as_deref()) {
        Ok(d) => d,
        Err(e) => return problem_page(e),
    };
    let now = gate.now().unix_seconds();
    let start = now - i64::from(days) * 86_400;
    let read = async {
        let window = gate
            .store
            .list(&ListFilter {
                created_after: Some(start - 1),
                after_id: Some(crate::ids::floor_at("req_", start - ID_CLOCK_MARGIN)),
                limit: OVERVIEW_MAX,
                ..ListFilter::default()
            })
            .await?;
        let pending = gate
            .store
            .list(&ListFilter {
                states: vec![LifeState::Pending],
                limit: PENDING_MAX,
                ..ListFilter::default()
            })
            .await?;
        Ok::<_, GateError>((window, pending))
    };
    let (window, pending) = match read.await {
        Ok(rows) => rows,
        Err(e) => return problem_page(e),
    };
    let overview = aggregate(&window, &pending, start, now);
    let autonomy = match autonomy_report(&gate, window.last()).await {
        Ok(a) => a,
        Err(e) => return problem_page(e),
    };
    let chrome = Chrome {
        title: "Overview",
        reviewer: Some(&reviewer),
        dev_mode: dev_mode(&gate),
        nav: Nav::Overview,
    };
    let body = html! {
        h1 { "Overview" }
        (coverage(days, start, &window, &pending))
        (pending_section(&overview))
        (time_section(&overview))
        (tally_section("per-rule", "Per rule", "Rule (determining)", &overview.per_rule, false))
        (tally_section("per-agent", "Per agent", "Agent", &overview.per_agent, true))
        (volume_section(&overview))
        (autonomy_section(&autonomy, &window))
    };
    layout::html_response(StatusCode::OK, layout::page(&chrome, body))
}

fn date(unix: i64) -> String {
    let t =
        gatehouse::values::Timestamp::from_unix_nanos(i128::from(unix) * 1_000_000_000).to_string();
    t.get(..16).unwrap_or(&t).replace('T', " ")
}

fn coverage(days: u32, start: i64, window: &[RequestRow], pending: &[RequestRow]) -> Markup {
    let cut = window.len() >= OVERVIEW_MAX as usize;
    html! {
        form #window method="get" action="/console/overview" {
            label { "Window (days) " input type="number" name="days" min="1" max=(MAX_DAYS) value=(days); }
            button type="submit" { "Show" }
        }
        p #coverage {
            "Requests created in the last " (days) " day" @if days != 1 { "s" }
            " (since " (date(start)) " UTC): " (window.len()) " request" @if window.len() != 1 { "s" } "."
            @if cut {
                strong { " Only the newest " (OVERVIEW_MAX) " were counted" }
                @if let Some(oldest) = window.last() { " (back to " (date(oldest.created_unix)) " UTC)" }
                "; choose a shorter window to see all of one."
            }
            " Pending counts every request waiting now, whatever its age"
            @if pending.len() >= PENDING_MAX as usize { strong { " (only the newest " (PENDING_MAX) ")" } }
            ". Per rule and per agent count only requests that waited for people (queue, explicit, dual)."
        }
    }
}

fn tier_name(tier: Option<i64>) -> String {
    tier.map_or_else(|| "no tier".to_owned(), |t| format!("tier {t}"))
}

const AGE_SERIES: [Series; 4] = [
    Series {
        name: AGE_BUCKETS[0].0,
        fill: "#4c7bd9",
    },
    Series {
        name: AGE_BUCKETS[1].0,
        fill: "#2f5bb7",
    },
    Series {
        name: AGE_BUCKETS[2].0,
        fill: "#b06000",
    },
    Series {
        name: AGE_BUCKETS[3].0,
        fill: "#b3261e",
    },
];

fn pending_section(o: &Overview) -> Markup {
    let bars: Vec<Bar> = o
        .pending
        .iter()
        .map(|p| Bar {
            label: tier_name(p.tier),
            agent_written: false,
            values: p.by_age.to_vec(),
            note: None,
        })
        .collect();
    html! {
        section #pending-by-tier aria-labelledby="pending-title" {
            h2 #pending-title { "Pending, by tier and age" }
            (stacked_bars("pending-chart", "Pending requests by tier and age", &AGE_SERIES, &bars))
            div.table-wrap tabindex="0" role="region" aria-label={ "Pending requests by tier and age" } {
                table {
                    caption.visually-hidden { "Pending requests by tier and age" }
                    thead { tr {
                        th scope="col" { "Tier" }
                        @for (name, _) in AGE_BUCKETS { th scope="col" { (name) } }
                        th scope="col" { "Total" }
                    } }
                    tbody {
                        @for p in &o.pending {
                            tr data-tier=(p.tier.map_or_else(|| "none".to_owned(), |t| t.to_string())) {
                                th scope="row" { (tier_name(p.tier)) }
                                @for n in p.by_age { td { (n) } }
                                td.total { (p.total()) }
                            }
                        }
                    }
                }
            }
            @if o.pending.is_empty() { p { "Nothing is pending." } }
        }
    }
}

fn time_section(o: &Overview) -> Markup {
    let series = [
        Series {
            name: "median (s)",
            fill: "#2f5bb7",
        },
        Series {
            name: "more to p95 (s)",
            fill: "#9db5e6",
        },
    ];
    let bars: Vec<Bar> = o
        .time_to_decision
        .iter()
        .filter(|d| d.count > 0)
        .map(|d| {
            let median = d.median.unwrap_or(0).max(0).unsigned_abs();
            let p95 = d.p95.unwrap_or(0).max(0).unsigned_abs();
            Bar {
                label: d.group.clone(),
                agent_written: false,
                values: vec![median, p95.saturating_sub(median)],
                note: Some(format!(
                    "median {}, p95 {}",
                    human_duration(median as i64),
                    human_duration(p95 as i64)
                )),
            }
        })
        .collect();
    html! {
        section #time-to-decision aria-labelledby="ttd-title" {
            h2 #ttd-title { "Time to decision" }
            p.note { "From creation to approved, rejected or changes requested (whoever decided: a person, or the deadline's rejection), by outcome. Median and 95th percentile by nearest rank." }
            (stacked_bars("ttd-chart", "Time to decision in seconds, median and 95th percentile, by outcome", &series, &bars))
            div.table-wrap tabindex="0" role="region" aria-label={ "Time to decision by outcome" } {
                table {
                    caption.visually-hidden { "Time to decision by outcome" }
                    thead { tr {
                        th scope="col" { "Outcome" }
                        th scope="col" { "Decisions" }
                        th scope="col" { "Median" }
                        th scope="col" { "95th percentile" }
                    } }
                    tbody {
                        @for d in &o.time_to_decision {
                            tr data-group=(d.group) {
                                th scope="row" { (d.group) }
                                td.count { (d.count) }
                                td.median data-seconds=[d.median] { @match d.median { Some(s) => (human_duration(s)), None => "–" } }
                                td.p95 data-seconds=[d.p95] { @match d.p95 { Some(s) => (human_duration(s)), None => "–" } }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn rate(t: &Tally) -> String {
    t.approval_rate()
        .map_or_else(|| "–".to_owned(), |r| format!("{:.0} %", r * 100.0))
}

fn tally_section(
    id: &str,
    title: &str,
    head: &str,
    tallies: &[(String, Tally)],
    agent_written: bool,
) -> Markup {
    let bars: Vec<Bar> = tallies
        .iter()
        .take(CHART_MAX)
        .map(|(name, t)| Bar {
            // An agent's name in an SVG label or an aria-label cannot
            // hold markup markers: its hidden characters are spelled out.
            label: if agent_written {
                layout::visible_plain(name)
            } else {
                name.clone()
            },
            agent_written,
            values: vec![t.approved, t.rejected, t.changes_requested, t.expired],
            note: Some(match t.approval_rate() {
                Some(_) => format!("{} approved", rate(t)),
                None => "none decided yet".to_owned(),
            }),
        })
        .collect();
    html! {
        section id=(id) aria-labelledby={ (id) "-title" } {
            h2 id={ (id) "-title" } { (title) ": approved, rejected, changes requested, expired" }
            @let chart_title = if tallies.len() > CHART_MAX {
                format!("Review results {}, the {CHART_MAX} with most requests", title.to_lowercase())
            } else {
                format!("Review results {}", title.to_lowercase())
            };
            (stacked_bars(&format!("{id}-chart"), &chart_title, &RESULTS, &bars))
            div.table-wrap tabindex="0" role="region" aria-label={ "Review results " (title.to_lowercase()) } {
                table {
                    caption.visually-hidden { "Review results " (title.to_lowercase()) }
                    thead { tr {
                        th scope="col" { (head) }
                        th scope="col" { "Approved" }
                        th scope="col" { "Rejected" }
                        th scope="col" { "Changes requested" }
                        th scope="col" { "Expired" }
                        th scope="col" { "Pending" }
                        th scope="col" { "Approval rate" }
                    } }
                    tbody {
                        @for (name, t) in tallies.iter().take(TABLE_MAX) {
                            tr data-name=(name) {
                                th scope="row" {
                                    @if agent_written { (agent_text(name)) } @else { code { (name) } }
                                }
                                td.approved { (t.approved) }
                                td.rejected { (t.rejected) }
                                td.changes-requested { (t.changes_requested) }
                                td.expired { (t.expired) }
                                td.pending { (t.pending) }
                                td.rate { (rate(t)) }
                            }
                        }
                    }
                }
            }
            @if tallies.is_empty() { p { "No request in the window waited for people." } }
            @if tallies.len() > TABLE_MAX {
                p.note { "And " (tallies.len() - TABLE_MAX) " more with fewer requests (not listed)." }
            }
        }
    }
}

fn volume_section(o: &Overview) -> Markup {
    let series = Series {
        name: "requests",
        fill: "#2f5bb7",
    };
    let bars: Vec<Bar> = o
        .per_day
        .iter()
        .map(|d| Bar {
            label: d.day.clone(),
            agent_written: false,
            values: vec![d.total()],
            note: None,
        })
        .collect();
    html! {
        section #per-day aria-labelledby="per-day-title" {
            h2 #per-day-title { "Requests per day (UTC)" }
            (columns("per-day-chart", "Requests created per day", series, &bars, 7))
            div.table-wrap tabindex="0" role="region" aria-label={ "Requests created per day, by outcome" } {
                table {
                    caption.visually-hidden { "Requests created per day, by outcome" }
                    thead { tr {
                        th scope="col" { "Day" }
                        @for out in OUTCOMES { th scope="col" { (out) } }
                        th scope="col" { "Total" }
                    } }
                    tbody {
                        @for d in o.per_day.iter().rev() {
                            tr data-day=(d.day) {
                                th scope="row" { (d.day) }
                                @for n in d.by_outcome { td { (n) } }
                                td.total { (d.total()) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// What the Autonomy section shows: the report over the window's audit
/// lines, and whether a bound cut the read.
pub struct AutonomyRead {
    /// The report, as `gatehouse autonomy` computes it.
    pub report: gatehouse_autonomy::Report,
    /// Lines read.
    pub lines: u64,
    /// Whether [`AUTONOMY_MAX_LINES`] or [`AUTONOMY_MAX_BYTES`] stopped it.
    pub cut: bool,
}

/// Reads the audit chain from the first record of `oldest` (the window's
/// oldest request), bounded, into the autonomy report.
pub async fn autonomy_report(
    gate: &Gate,
    oldest: Option<&RequestRow>,
) -> Result<AutonomyRead, GateError> {
    let mut ingest = gatehouse_autonomy::Ingest::new(gatehouse_autonomy::Options::default());
    let mut lines = 0_u64;
    let mut bytes = 0_usize;
    let mut cut = false;
    if let Some(oldest) = oldest {
        // Its decision record is its first line: seqs only grow.
        let first = gate.store.audit_of(&oldest.id).await?;
        let mut after = first.iter().map(|(seq, _)| *seq).min().unwrap_or(1) - 1;
        'pages: loop {
            let (page, more) = gate
                .store
                .audit_after(after, AUTONOMY_PAGE_LINES, AUTONOMY_MAX_BYTES)
                .await?;
            for (seq, line) in &page {
                if lines >= u64::from(AUTONOMY_MAX_LINES) || bytes + line.len() > AUTONOMY_MAX_BYTES
                {
                    cut = true;
                    break 'pages;
                }
                lines += 1;
                bytes += line.len();
                ingest.push_line(line.as_bytes());
                after = *seq;
            }
            if !more || page.is_empty() {
                break;
            }
        }
    }
    Ok(AutonomyRead {
        report: ingest.finish(),
        lines,
        cut,
    })
}

fn share(r: f64) -> String {
    format!("{:.2}%", r * 100.0)
}

fn autonomy_section(a: &AutonomyRead, window: &[RequestRow]) -> Markup {
    let r = &a.report;
    let shadow_differs = window
        .iter()
        .filter(|row| {
            row.shadow
                .as_ref()
                .and_then(|s| s.get("differs"))
                .and_then(serde_json::Value::as_bool)
                == Some(true)
        })
        .count();
    let open_samples = window
        .iter()
        .filter(|row| {
            row.sample_review
                .as_ref()
                .and_then(|s| s.get("state"))
                .and_then(serde_json::Value::as_str)
                == Some("open")
        })
        .count();
    let o = &r.options;
    html! {
        section #autonomy aria-labelledby="autonomy-title" {
            h2 #autonomy-title { "Autonomy" }
            p #autonomy-coverage {
                "From " (a.lines) " audit lines of this window's requests (" (r.input.requests) " requests"
                @if r.input.malformed + r.input.oversized > 0 { ", " (r.input.malformed + r.input.oversized) " unreadable" }
                ")."
                @if a.cut { strong { " Only the first " (AUTONOMY_MAX_LINES) " lines were read; choose a shorter window." } }
                " A rule or tier held for people may do more with at least " (o.min_cases)
                " human decisions and a " (o.method.as_str()) " upper bound at " (share(o.confidence))
                " confidence of at most " (share(o.max_rejection_rate)) " rejected or sent back; the same numbers as "
                code { "gatehouse autonomy" } " over the same lines."
            }
            ul #autonomy-counts {
                li data-count="shadow-differs" { "Shadow decisions that differ from the enforced one: " strong { (shadow_differs) } }
                li data-count="open-samples" { "Samples waiting for review: " strong { (open_samples) } }
            }
            h3 { "Candidates for more autonomy" }
            @if r.candidates.more.is_empty() {
                p #autonomy-more-none { "None yet: no held rule has enough human decisions with few enough rejections." }
            } @else {
                div.table-wrap tabindex="0" role="region" aria-label="Candidates for more autonomy" {
                    table #autonomy-more {
                        caption.visually-hidden { "Candidates for more autonomy" }
                        thead { tr {
                            th scope="col" { "Kind" } th scope="col" { "Name" } th scope="col" { "Held as" }
                            th scope="col" { "Decided" } th scope="col" { "Rejected or changed" } th scope="col" { "Upper bound" }
                        } }
                        tbody {
                            @for c in &r.candidates.more {
                                tr data-candidate=(format!("{}:{}", dimension(c.dimension), c.key))
                                    data-decided=(c.human_decided) data-overridden=(c.overridden)
                                    data-upper=(c.upper_bound.to_string()) {
                                    td { (dimension(c.dimension)) }
                                    th scope="row" { (c.key) }
                                    td { (c.outcome.map_or("-", |o| o.as_str())) }
                                    td { (c.human_decided) }
                                    td { (c.overridden) }
                                    td { (share(c.upper_bound)) }
                                }
                            }
                        }
                    }
                }
            }
            h3 { "Candidates for less autonomy" }
            @if r.candidates.less.is_empty() {
                p #autonomy-less-none { "None: no sampled action was rejected and no held rule is rejected too often." }
            } @else {
                div.table-wrap tabindex="0" role="region" aria-label="Candidates for less autonomy" {
                    table #autonomy-less {
                        caption.visually-hidden { "Candidates for less autonomy" }
                        thead { tr {
                            th scope="col" { "Kind" } th scope="col" { "Name" } th scope="col" { "Samples rejected" }
                            th scope="col" { "Decided" } th scope="col" { "Rejected or changed" } th scope="col" { "Lower bound" }
                        } }
                        tbody {
                            @for c in &r.candidates.less {
                                tr data-candidate=(format!("{}:{}", dimension(c.dimension), c.key))
                                    data-decided=(c.human_decided) data-overridden=(c.overridden)
                                    data-lower=(c.lower_bound.to_string()) {
                                    td { (dimension(c.dimension)) }
                                    th scope="row" { (c.key) }
                                    td { (c.sample_rejected) " of " (c.sample_reviewed) }
                                    td { (c.human_decided) }
                                    td { (c.overridden) }
                                    td { (share(c.lower_bound)) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn dimension(d: gatehouse_autonomy::Dimension) -> &'static str {
    match d {
        gatehouse_autonomy::Dimension::Rule => "rule",
        gatehouse_autonomy::Dimension::Tier => "tier",
        gatehouse_autonomy::Dimension::Agent => "agent",
        gatehouse_autonomy::Dimension::Target => "target",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_checked() {
        assert_eq!(parse_days(None).ok(), Some(DEFAULT_DAYS));
        assert_eq!(parse_days(Some("days=7&x=1")).ok(), Some(7));
        for bad in ["days=0", "days=366", "days=", "days=1&days=1"] {
            assert!(parse_days(Some(bad)).is_err(), "{bad}");
        }
    }
}

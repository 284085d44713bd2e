//! The sections of the request page (`request`), one function each, named
//! by the element ids of the page contract (docs/console.md).
//!
//! Text the policy or the gate wrote is escaped by maud; text an agent
//! wrote (the action, its evidence, identities it names, execution reports)
//! goes through `agent_text` / `agent_value`: escaped, marked, no URL a
//! link. Reviewers' reasons are people's words, escaped.

use maud::{Markup, html};
use serde_json::Value as Json;

use super::layout::{self, agent_text, agent_value, human_duration};
use super::request::Context;
use super::session::Reviewer;
use crate::error::GateError;
use crate::lifecycle::State as LifeState;
use crate::store::RequestRow;

/// The most action fields listed (an action has tens; the body limit
/// bounds it anyway, this bounds the page).
const MAX_FIELDS: usize = 2_000;

/// `#explain`: the engine's `--explain` account of the decision the
/// request is held under. The identities it names as forbidden approvers
/// come from the action and are marked as agent-provided.
pub fn explain(cx: &Context<'_>) -> Markup {
    let Some(d) = cx.decision else {
        return html! {
            section.explain aria-labelledby="explain-title" {
                h2 #explain-title { "What is proposed" }
                p #explain.warning { "The stored decision could not be read; see the history." }
            }
        };
    };
    let account = d.explain();
    let forbidden = d
        .approvals
        .as_ref()
        .map_or(&[][..], |a| &a.forbidden_approvers[..]);
    html! {
        section.explain aria-labelledby="explain-title" {
            h2 #explain-title { "What is proposed, and why it waits for you" }
            pre #explain {
                @for line in account.lines() {
                    (explain_line(line, forbidden))
                    "\n"
                }
            }
        }
    }
}

/// One line of the account; in the "may not approve" line, the names
/// are the action's (agent-provided), the attributes the policy's; an
/// input error line quotes the action (paths and values it wrote).
///
/// The "may not approve" line is drawn again from the decision's own list
/// (`forbidden`, the list the engine wrote the line from), not split
/// apart: a name the agent wrote may hold ", " or " (", and splitting the
/// text at them showed part of that name as the gate's own words.
fn explain_line(line: &str, forbidden: &[gatehouse::eval::ForbiddenApprover]) -> Markup {
    const FORBIDDEN: &str = "  may not approve: ";
    const INPUT: &str = "  - input ";
    if let Some(rest) = line.strip_prefix(INPUT) {
        return html! { (INPUT) (agent_text(rest)) };
    }
    let Some(list) = line.strip_prefix(FORBIDDEN) else {
        return html! { (line) };
    };
    if forbidden.is_empty() {
        // Not the engine's line for this decision: all of it is marked.
        return html! { (FORBIDDEN) (agent_text(list)) };
    }
    html! {
        (FORBIDDEN)
        @for (i, f) in forbidden.iter().enumerate() {
            @if i > 0 { ", " }
            @match &f.identity {
                Some(who) => { (agent_text(&one_line(who))) " (" (f.attribute) ")" }
                None => { "whoever " (f.attribute) " names (absent here)" }
            }
        }
    }
}

/// A name on one line, as the engine's account writes it: control
/// characters as `\u{…}` escapes.
fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

/// `#action-fields`: every field of the action as proposed, path and
/// value, all agent-provided.
pub fn action_fields(input: &Json) -> Markup {
    let mut fields = Vec::new();
    let mut path_budget = MAX_PATH_BYTES;
    flatten(input, String::new(), 0, &mut fields, &mut path_budget);
    let cut = fields.len() > MAX_FIELDS || path_budget == 0;
    fields.truncate(MAX_FIELDS);
    html! {
        section #action-fields aria-labelledby="fields-title" {
            h2 #fields-title { "The action's fields" }
            p.agent-note { "Everything below was written by the agent." }
            div.table-wrap {
                table {
                    caption.visually-hidden { "Fields of the proposed action" }
                    thead { tr { th scope="col" { "Field" } th scope="col" { "Value" } } }
                    tbody {
                        @for (path, value) in &fields {
                            tr data-field=(path) {
                                th scope="row" { (agent_text(path)) }
                                td { (agent_value(value)) }
                            }
                        }
                    }
                }
            }
            @if cut {
                p #fields-cut {
                    "… and more fields: the page lists " (fields.len())
                    " (at most " (MAX_FIELDS) ", with paths of at most " (MAX_PATH_BYTES / 1024)
                    " KiB in all); see the API for the whole action."
                }
            }
        }
    }
}

/// The most bytes of field paths listed. Every leaf repeats the keys
/// above it, so without this a long key over many leaves (a 50 KB key
/// over 500 fields: a 55 KB action) drew a page of paths alone as large
/// as their product (50 MB).
const MAX_PATH_BYTES: usize = 256 * 1024;

/// The leaves of a JSON value with their dotted paths (empty objects and
/// arrays are leaves too), until more than [`MAX_FIELDS`] are found or
/// their paths use up `budget` bytes (then it is 0).
fn flatten(
    value: &Json,
    path: String,
    depth: usize,
    out: &mut Vec<(String, Json)>,
    budget: &mut usize,
) {
    if out.len() > MAX_FIELDS || *budget == 0 {
        return;
    }
    if path.len() >= *budget {
        *budget = 0;
        return;
    }
    match value {
        Json::Object(map) if !map.is_empty() && depth < 32 => {
            for (k, v) in map {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                flatten(v, p, depth + 1, out, budget);
            }
        }
        Json::Array(items) if !items.is_empty() && depth < 32 => {
            for (i, v) in items.iter().enumerate() {
                flatten(v, format!("{path}[{i}]"), depth + 1, out, budget);
            }
        }
        other => {
            *budget -= path.len();
            out.push((path, other.clone()));
        }
    }
}

/// `#evidence`: every evidence field the decision requires, present with
/// its value or MISSING.
pub fn evidence(cx: &Context<'_>) -> Markup {
    let (required, missing): (Vec<String>, Vec<String>) = match cx.decision {
        Some(d) => (d.evidence.required.clone(), d.evidence.missing.clone()),
        None => (Vec::new(), Vec::new()),
    };
    html! {
        section #evidence aria-labelledby="evidence-title" {
            h2 #evidence-title { "Evidence required" }
            @if required.is_empty() {
                p { "The decision requires no evidence." }
            } @else {
                @if !missing.is_empty() {
                    p.warning { strong { (missing.len()) " of " (required.len()) " required fields MISSING." }
                        " Missing evidence refuses every approval (EVIDENCE_MISSING)." }
                }
                ul {
                    @for name in &required {
                        @let absent = missing.contains(name);
                        li data-evidence=(name) data-present=(if absent { "false" } else { "true" }) {
                            strong { (name) } ": "
                            @if absent {
                                span.missing { "MISSING" }
                            } @else {
                                @match evidence_value(cx.row, name) {
                                    Some(v) => (agent_value(v)),
                                    None => span.present { "present" },
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The value of an evidence field (`evidence.<name>`; a dotted name
/// walks into objects).
fn evidence_value<'a>(row: &'a RequestRow, name: &str) -> Option<&'a Json> {
    let mut at = row.input.get("evidence")?;
    for part in name.split('.') {
        at = at.get(part)?;
    }
    Some(at)
}

/// `#rules`: every rule that fired, with its reason codes and messages,
/// its source location and whether it determined the outcome; then the
/// engine's own reasons.
pub fn rules(cx: &Context<'_>) -> Markup {
    let Some(d) = cx.decision else {
        return html! { section #rules { h2 { "Rules that fired" } p { "Unreadable decision." } } };
    };
    let own: Vec<_> = d.reasons.iter().filter(|r| r.rule.is_none()).collect();
    html! {
        section #rules aria-labelledby="rules-title" {
            h2 #rules-title { "Rules that fired" }
            ol {
                @for m in &d.rules {
                    li data-rule=(m.name) data-determining=(m.determining) {
                        strong { (m.name) } " at " code.location { (m.location) }
                        " asked for " span class={ "outcome outcome-" (m.outcome.as_str()) } { (m.outcome.as_str()) }
                        @if let Some(t) = m.tier { " (tier " (t) ")" }
                        @if m.determining { " · " strong { "determining" } } @else { " · not determining" }
                        ul {
                            @for r in d.reasons.iter().filter(|r| r.rule.as_deref() == Some(m.name.as_str())) {
                                li { code.reason-code { (r.code) } ": " (r.message) }
                            }
                        }
                    }
                }
            }
            @if !own.is_empty() {
                h3 { "The engine's own reasons" }
                ul {
                    @for r in &own { li { code.reason-code { (r.code) } ": " (r.message) } }
                }
            }
        }
    }
}

/// The reviews recorded on a request: `(approval JSON, review kind,
/// method)`.
fn reviews(row: &RequestRow) -> impl Iterator<Item = (&Json, &str, &str)> {
    row.approvals.iter().map(|a| {
        (
            a.get("approval").unwrap_or(&Json::Null),
            a.get("review").and_then(Json::as_str).unwrap_or("?"),
            a.get("method").and_then(Json::as_str).unwrap_or("?"),
        )
    })
}

fn text<'a>(v: &'a Json, key: &str) -> &'a str {
    v.get(key).and_then(Json::as_str).unwrap_or("")
}

/// `#approvals-given`: who reviewed, with which role, what they decided,
/// why, when and how they authenticated.
pub fn approvals_given(cx: &Context<'_>) -> Markup {
    html! {
        section #approvals-given aria-labelledby="given-title" {
            h2 #given-title { "Reviews given" }
            @if cx.row.approvals.is_empty() {
                p { "None yet." }
            } @else {
                ol {
                    @for (a, review, method) in reviews(cx.row) {
                        @let roles = a.get("roles").and_then(Json::as_array).map(|r| {
                            r.iter().filter_map(Json::as_str).collect::<Vec<_>>().join(", ")
                        }).unwrap_or_default();
                        @let expired = approval_expired(a, cx.now);
                        li data-approver=(text(a, "approver")) data-review=(review) data-method=(method) {
                            strong { (text(a, "approver")) }
                            @if !roles.is_empty() { " (" (roles) ")" }
                            " " span class={ "review review-" (review) } { (review_words(review)) }
                            " at " (text(a, "given_at"))
                            ", signed in with " code { (method) }
                            @if method == "dev_sign_in" { " (development sign-in: no proof of identity)" }
                            @if let Some(reason) = a.get("reason").and_then(Json::as_str) {
                                blockquote { (reason) }
                            }
                            @if expired { p.warning { "This approval has expired and no longer counts." } }
                        }
                    }
                }
            }
        }
    }
}

/// Whether a recorded approval is past its own validity (it no longer
/// counts, and its giver may review again: the gate's `live_approvals`).
fn approval_expired(a: &Json, now: i64) -> bool {
    a.get("expires_at")
        .and_then(Json::as_str)
        .and_then(|e| gatehouse::values::Timestamp::parse(e.trim()))
        .is_some_and(|e| e.unix_seconds() <= now)
}

fn review_words(review: &str) -> &str {
    match review {
        "approve" => "approved",
        "reject" => "rejected",
        "request_changes" => "requested changes",
        other => other,
    }
}

/// `#approvals-needed`: the groups, counts and roles (with their limits),
/// distinctness, and what is still missing now.
pub fn approvals_needed(cx: &Context<'_>) -> Markup {
    let row = cx.row;
    let req = cx.decision.and_then(|d| d.approvals.as_ref());
    html! {
        section #approvals-needed aria-labelledby="needed-title" {
            h2 #needed-title { "Approvals needed" }
            @if let Some(role) = &row.escalated_to {
                p.warning { "Escalated at the deadline to " strong { (role) }
                    ": one person holding that role decides alone, with a reason." }
            }
            @match req {
                None => p { "This decision needs no approval (" (row.outcome) ")." },
                Some(a) => {
                    p {
                        (a.count) " approval" @if a.count != 1 { "s" } " in all"
                        @if a.distinct_people { ", from distinct people" }
                        @if a.distinct_roles { ", holding distinct roles" }
                        "."
                    }
                    @if a.groups.is_empty() { p { "Any authorized reviewer may approve." } }
                    ul {
                        @for (i, g) in a.groups.iter().enumerate() {
                            li data-group=(i) {
                                (g.count) " of: "
                                @for (j, r) in g.roles.iter().enumerate() {
                                    @if j > 0 { " or " }
                                    strong { (r.name) }
                                    @if let Some(t) = &r.title { " (" (t) ")" }
                                    @if let Some(l) = &r.limit { ", limit " code { (l) } }
                                    @if let Some(f) = &r.escalated_from { ", escalated from " (f) " whose limit the action exceeds" }
                                }
                            }
                        }
                    }
                }
            }
            (still_missing(cx))
        }
    }
}

fn still_missing(cx: &Context<'_>) -> Markup {
    if cx.row.state != LifeState::Pending {
        return html! { p #still-missing { "Nothing: the request is " strong { (cx.row.state.as_str()) } "." } };
    }
    match &cx.standing {
        None => html! {},
        Some(Err(e)) => {
            html! { p #still-missing.warning { "What is still missing cannot be computed: " (e) } }
        }
        Some(Ok(v)) => html! {
            div #still-missing {
                @if v.missing.approvals == 0 && v.missing.evidence.is_empty() {
                    p { "No approval is missing." }
                } @else {
                    p { strong { "Still missing: " (v.missing.approvals) " approval"
                        @if v.missing.approvals != 1 { "s" } } }
                    ul {
                        @for g in &v.missing.groups {
                            li { (g.needed) " more from " (g.roles.join(" or ")) }
                        }
                        @if !v.missing.evidence.is_empty() {
                            li { "evidence: " span.missing { (v.missing.evidence.join(", ")) } }
                        }
                    }
                }
                @for s in &v.satisfied {
                    p.present { (s.approver) " counts as " (s.role) }
                }
            }
        },
    }
}

/// `#may-not-approve`: the identities the policy excludes (with the
/// attribute that names them), the requester, and who already reviewed.
pub fn may_not_approve(cx: &Context<'_>) -> Markup {
    let forbidden = cx
        .decision
        .and_then(|d| d.approvals.as_ref())
        .map(|a| a.forbidden_approvers.clone())
        .unwrap_or_default();
    html! {
        section #may-not-approve aria-labelledby="forbid-title" {
            h2 #forbid-title { "Who may not approve" }
            ul {
                li data-excluded="requester" {
                    strong { (cx.row.requester) } ": the requester (who asked the gate for this action)"
                }
                @for f in &forbidden {
                    li data-excluded=(f.attribute) {
                        @match &f.identity {
                            Some(id) => { (agent_text(id)) ": named by " code { (f.attribute) } " (separation of duties)" }
                            None => { "whoever " code { (f.attribute) } " names (absent in this action)" }
                        }
                    }
                }
                @for (a, _, _) in reviews(cx.row).filter(|(a, _, _)| !approval_expired(a, cx.now)) {
                    li data-excluded="reviewed" {
                        strong { (text(a, "approver")) } ": already reviewed (one review per person)"
                    }
                }
            }
        }
    }
}

/// `#deadline` with `#countdown` (time left when the page was drawn; the
/// console script keeps it live).
pub fn deadline(cx: &Context<'_>) -> Markup {
    let row = cx.row;
    html! {
        section aria-labelledby="deadline-title" {
            h2 #deadline-title { "Deadline" }
            @match (row.deadline_unix, &row.deadline) {
                // Decided before its deadline: no clock runs any more (no
                // `data-deadline-unix`, so the script leaves it alone).
                (Some(at), Some(text)) if at > cx.now && row.state != LifeState::Pending => {
                    p #deadline {
                        (text) " · "
                        span #countdown { "no longer running: the request is " (row.state.as_str()) }
                    }
                }
                (Some(at), Some(text)) => {
                    p #deadline data-deadline-unix=(at) {
                        (text) " · "
                        span #countdown.countdown {
                            @if at > cx.now { (human_duration(at - cx.now)) " left" }
                            @else { "deadline passed " (human_duration(at - cx.now)) }
                        }
                    }
                }
                _ => p #deadline { span #countdown { "no deadline" } },
            }
        }
    }
}

/// `#on-expiry`: what the deadline does, and, once it acted, what it did
/// (from the request's audit records: the gate's own transitions).
pub fn on_expiry(cx: &Context<'_>) -> Markup {
    let timeout = cx.decision.and_then(|d| d.timeout.as_ref());
    let acted = expiry_steps(cx.audit);
    html! {
        section #on-expiry aria-labelledby="expiry-title" {
            h2 #expiry-title { "At the deadline" }
            @match timeout {
                None => p { "Nothing: this decision has no timeout." },
                Some(t) => p {
                    "The wait is " (t.after) " from the request. If it is not decided by then, "
                    @match (t.on_expiry.action.as_str(), &t.on_expiry.role) {
                        ("escalate", Some(role)) => {
                            "the gate escalates it once to " strong { (role) }
                            ", who then decides alone within a new wait of " (t.after)
                            "; if that passes too, the gate rejects it."
                        }
                        ("block", _) => { "the gate " strong { "blocks" } " it." }
                        _ => { "the gate " strong { "rejects" } " it." }
                    }
                },
            }
            @if !acted.is_empty() {
                // What the deadline did: escalated, else the state it left
                // the request in (rejected, blocked).
                @let last = if acted.iter().any(|s| s.0 == "escalate") { "escalated" }
                    else { acted.last().map_or("", |s| s.1.as_str()) };
                div #expiry-result data-result=(last) {
                    p { strong { "The deadline acted:" } }
                    ol {
                        @for (event, to, time, detail) in &acted {
                            li {
                                (time) ": " code { (event) } " → " strong { (to) }
                                " by the gate"
                                @if let Some(role) = detail.get("role").and_then(Json::as_str) { " (to " (role) ")" }
                            }
                        }
                    }
                    p { "The request is now " strong { (cx.row.state.as_str()) } "." }
                }
            }
        }
    }
}

/// The gate's own steps after a deadline: `(event, to, time, detail)` of
/// each transition by `gatehouse` from the first `expire` on.
fn expiry_steps(audit: &[(i64, Json)]) -> Vec<(String, String, String, Json)> {
    let mut out = Vec::new();
    let mut started = false;
    for (_, r) in audit {
        if r.get("record").and_then(Json::as_str) != Some("transition") {
            continue;
        }
        let event = text(r, "event");
        let by_gate = r.pointer("/actor/method").and_then(Json::as_str) == Some("system");
        started |= event == "expire" && by_gate;
        if started && by_gate {
            out.push((
                event.to_owned(),
                text(r, "to").to_owned(),
                text(r, "time").to_owned(),
                r.get("detail").cloned().unwrap_or(Json::Null),
            ));
        }
    }
    out
}

/// `#conditions`: what must hold at execution, and how far execution got
/// (claimed, executed, verified).
pub fn conditions(cx: &Context<'_>) -> Markup {
    let conditions = cx.decision.map(|d| d.conditions.as_slice()).unwrap_or(&[]);
    let claim = cx.audit.iter().rev().find(|(_, r)| {
        r.get("record").and_then(Json::as_str) == Some("transition") && text(r, "event") == "claim"
    });
    html! {
        section #conditions aria-labelledby="conditions-title" {
            h2 #conditions-title { "Execution conditions" }
            @if conditions.is_empty() {
                p { "None: the policy sets no condition on execution." }
            } @else {
                ul {
                    @for c in conditions {
                        li data-holds=(c.holds.map_or("person", |h| if h { "true" } else { "false" })) {
                            code { (c.condition) } ": "
                            @match c.holds {
                                Some(true) => span.present { "holds now" },
                                Some(false) => span.missing { "does NOT hold now" },
                                None => strong { "to be confirmed by a person at execution" },
                            }
                        }
                    }
                }
                p { "The gate checks them again when the action is claimed for execution." }
            }
            div #execution {
                h3 { "Execution" }
                @match claim {
                    None => p { "Not claimed for execution." },
                    Some((_, r)) => p {
                        "Claimed at " (text(r, "time")) " by " strong { (r.pointer("/actor/id").and_then(Json::as_str).unwrap_or("")) }
                        " (" (r.pointer("/actor/method").and_then(Json::as_str).unwrap_or("")) ")."
                    },
                }
                @if let Some(e) = &cx.row.execution { (report("Executed", e)) }
                @if let Some(v) = &cx.row.verification { (report("Verified", v)) }
            }
        }
    }
}

fn report(what: &str, stamped: &Json) -> Markup {
    html! {
        div.report {
            p { (what) " at " (text(stamped, "at")) " by " strong { (text(stamped, "by")) } "; the report:" }
            (agent_value(stamped.get("report").unwrap_or(&Json::Null)))
        }
    }
}

/// `#review-result`: after an accepted review, what the store holds now.
pub fn review_result(row: &RequestRow, reviewer: &Reviewer) -> Markup {
    let me = gatehouse::identity::normalize(&reviewer.principal.id);
    let mine = reviews(row)
        .filter(|(a, _, _)| gatehouse::identity::normalize(text(a, "approver")) == me)
        .last();
    html! {
        div #review-result role="status" aria-live="polite" {
            @match mine {
                Some((_, review, _)) => {
                    "Your review (" (review_words(review)) ") is recorded. The request is now "
                    strong #review-result-state { (row.state.as_str()) } "."
                    @if row.state == LifeState::Pending { " It waits for further approvals." }
                }
                None => {
                    "No review of yours is recorded on this request. It is "
                    strong #review-result-state { (row.state.as_str()) } "."
                }
            }
        }
    }
}

/// Whether every review of this request needs a written reason (explicit
/// and dual approvals, and any review of an escalated request).
fn reason_always(row: &RequestRow) -> bool {
    row.escalated_to.is_some() || matches!(row.outcome.as_str(), "explicit" | "dual")
}

/// `form#review`: approve, reject or request changes, with the reason the
/// tier demands and the digest of the action shown.
pub fn review_form(
    cx: &Context<'_>,
    reviewer: &Reviewer,
    reason: &str,
    approve_refused: Option<&GateError>,
) -> Markup {
    let row = cx.row;
    let always = reason_always(row) || approve_refused.is_some();
    html! {
        section aria-labelledby="review-title" {
            h2 #review-title { "Your review" }
            form #review method="post" action={ "/console/requests/" (row.id) "/review" } {
                (layout::csrf_field(reviewer))
                input type="hidden" name="action_digest" value=(row.action_digest);
                label for="reason" {
                    "Reason "
                    @if always { strong.required { "(required)" } }
                    @else { "(required to reject or request changes)" }
                }
                @if always {
                    textarea #reason name="reason" maxlength="4096" required aria-required="true" { (reason) }
                } @else {
                    textarea #reason name="reason" maxlength="4096" { (reason) }
                }
                @if let Some(no) = approve_refused {
                    p #approve-unavailable.warning {
                        "Approving is not offered: " code { (no.code) } " " (no.detail)
                    }
                }
                div.buttons {
                    @if approve_refused.is_none() {
                        button #approve type="submit" name="decision" value="approve" { "Approve" }
                        " "
                    }
                    button #reject type="submit" name="decision" value="reject" { "Reject" }
                    " "
                    button #request-changes type="submit" name="decision" value="request_changes" { "Request changes" }
                }
                p.hint { "You review action " code { (row.action_digest) } "; if the request now holds another action, the review is refused." }
            }
        }
    }
}

/// `#cannot-review`: why this person has no form here, in plain words.
pub fn cannot_review(cx: &Context<'_>, reviewer: &Reviewer, e: &GateError) -> Markup {
    let row = cx.row;
    let why = match e.code {
        "SELF_APPROVAL" => "You are the requester of this action: someone else must review it.".to_owned(),
        "EXCLUDED_IDENTITY" => "The policy excludes you from approving this action (separation of duties): you are named in the action as someone who may not approve it.".to_owned(),
        "ROLE_NOT_ELIGIBLE" => format!(
            "None of your roles ({}) may approve this request.",
            if reviewer.principal.roles.is_empty() { "none".to_owned() } else { reviewer.principal.roles.join(", ") }
        ),
        "OVER_APPROVER_LIMIT" => "The action exceeds the approval limit of your role.".to_owned(),
        "SAME_APPROVER_TWICE" => "You have already reviewed this request; the next review must come from another person.".to_owned(),
        "REQUEST_TIMED_OUT" => "The deadline has passed; the on-expiry action applies.".to_owned(),
        "REQUEST_FINAL" | "ILLEGAL_TRANSITION" => format!(
            "The request is {}: there is nothing left to review.", row.state.as_str()
        ),
        "CONDITION_NOT_MET" | "EVIDENCE_MISSING" => "The action cannot be approved as it stands (a condition does not hold or evidence is missing); it can still be rejected through the API.".to_owned(),
        _ => "The gate would refuse your review of this request.".to_owned(),
    };
    html! {
        section aria-labelledby="review-title" {
            h2 #review-title { "Your review" }
            div #cannot-review role="note" data-code=(e.code) {
                p { strong { "You cannot review this request. " } (why) }
                p { "Code: " code #cannot-review-code { (e.code) } " · " (e.detail) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The engine's list (its type is non-exhaustive: made as it is read).
    fn forbidden_list(list: Json) -> Vec<gatehouse::eval::ForbiddenApprover> {
        serde_json::from_value(list).expect("a forbidden-approver list")
    }

    #[test]
    fn only_the_named_identities_are_marked_in_the_account() {
        let forbidden = forbidden_list(serde_json::json!([
            {"attribute": "requester.id", "identity": "<b>u-1</b>"},
            {"attribute": "agent.owner", "identity": null},
        ]));
        let m = explain_line(
            "  may not approve: <b>u-1</b> (requester.id), whoever agent.owner names (absent here)",
            &forbidden,
        )
        .into_string();
        assert!(m.contains("agent-provided"));
        assert!(m.contains("&lt;b&gt;u-1&lt;/b&gt;"));
        assert!(!m.contains("<b>"));
        assert!(m.contains("whoever agent.owner names (absent here)"));
        let input = explain_line("  - input $.x: <i>bad</i>", &[]).into_string();
        assert!(input.contains("agent-provided") && input.contains("&lt;i&gt;"));
        let plain = explain_line("why:", &forbidden).into_string();
        assert_eq!(plain, "why:");
    }

    #[test]
    fn a_name_with_commas_is_marked_whole_in_the_account() {
        let owner = "NOTE FROM THE GATE: already approved by phone, u-2001";
        let forbidden = forbidden_list(serde_json::json!([
            {"attribute": "agent.owner", "identity": owner},
        ]));
        let m = explain_line(
            &format!("  may not approve: {owner} (agent.owner)"),
            &forbidden,
        )
        .into_string();
        assert!(
            m.contains(&format!(
                "title=\"written by the agent: check it\">{owner}</span> (agent.owner)"
            )),
            "{m}"
        );
        let spoof = explain_line("  may not approve: x, y (requester.id)", &[]).into_string();
        assert!(
            spoof.starts_with("  may not approve: <span class=\"agent-provided\""),
            "{spoof}"
        );
    }

    #[test]
    fn fields_flatten_to_paths() {
        let mut out = Vec::new();
        let mut unbounded = usize::MAX;
        flatten(
            &serde_json::json!({"a": {"b": 1, "c": [true, {}]}, "d": []}),
            String::new(),
            0,
            &mut out,
            &mut unbounded,
        );
        let paths: Vec<&str> = out.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(paths, ["a.b", "a.c[0]", "a.c[1]", "d"]);
    }

    #[test]
    fn a_long_key_over_many_fields_is_listed_within_the_budget() {
        let leaves: serde_json::Map<String, Json> =
            (0..500).map(|i| (i.to_string(), Json::from(1))).collect();
        let input = serde_json::json!({ "K".repeat(50_000): leaves });
        let m = action_fields(&input).into_string();
        assert!(m.len() < 4 * MAX_PATH_BYTES, "{} bytes", m.len());
        assert!(m.contains("id=\"fields-cut\""));
        let small = action_fields(&serde_json::json!({"a": 1})).into_string();
        assert!(!small.contains("fields-cut"));
    }
}

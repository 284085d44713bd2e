//! The documentation of every lint, and of the other codes users ask
//! `gatehouse explain` about: one static entry per code with the fixed
//! headings *What it does*, *Why is this bad?*, *Example* and *Use
//! instead*. This table is the user documentation: `gatehouse explain`,
//! `gatehouse rules` and the SARIF rule metadata all print from it.
//!
//! Every example is a complete policy set that compiles; a test checks that
//! each one compiles, and that the examples of the structural lints trigger
//! their lint while the fixed versions do not.

use crate::diagnostic::{Code, Severity};

/// The documentation of one code.
#[derive(Debug)]
pub struct LintDoc {
    /// The code documented.
    pub code: Code,
    /// *What it does*: what the check reports.
    pub what_it_does: &'static str,
    /// *Why is this bad?*: what goes wrong in production when it is ignored.
    pub why_bad: &'static str,
    /// *Example*: a policy (`.gate` text) that triggers it.
    pub example: &'static str,
    /// *Use instead*: the same policy, fixed.
    pub use_instead: &'static str,
}

/// The first heading.
pub const WHAT_IT_DOES: &str = "What it does";
/// The second heading.
pub const WHY_BAD: &str = "Why is this bad?";
/// The third heading.
pub const EXAMPLE: &str = "Example";
/// The fourth heading.
pub const USE_INSTEAD: &str = "Use instead";
/// The four headings, in order, as printed.
pub const HEADINGS: [&str; 4] = [WHAT_IT_DOES, WHY_BAD, EXAMPLE, USE_INSTEAD];

impl LintDoc {
    /// The default level as a word: `error`, `warning` (a lint that is off
    /// by default would say `off`).
    pub fn default_level(&self) -> &'static str {
        level_word(self.code.severity())
    }

    /// The entry as Markdown: a title line, the summary, then the four
    /// headed sections (the examples in ```gate blocks).
    pub fn markdown(&self) -> String {
        format!(
            "# {} {}\n\nDefault level: {}. {}.\n\n## {}\n\n{}\n\n## {}\n\n{}\n\n## {}\n\n```gate\n{}```\n\n## {}\n\n```gate\n{}```\n",
            self.code.as_str(),
            self.code.name(),
            self.default_level(),
            capitalized(self.code.summary()),
            WHAT_IT_DOES,
            self.what_it_does.trim_end(),
            WHY_BAD,
            self.why_bad.trim_end(),
            EXAMPLE,
            self.example,
            USE_INSTEAD,
            self.use_instead,
        )
    }

    /// The entry as plain text for a terminal: the same sections, the
    /// examples indented instead of fenced.
    pub fn text(&self) -> String {
        format!(
            "{} {} (default: {})\n{}\n\n{}\n{}\n\n{}\n{}\n\n{}\n{}\n{}\n{}",
            self.code.as_str(),
            self.code.name(),
            self.default_level(),
            self.code.summary(),
            WHAT_IT_DOES,
            indent_prose(self.what_it_does),
            WHY_BAD,
            indent_prose(self.why_bad),
            EXAMPLE,
            indent_code(self.example),
            USE_INSTEAD,
            indent_code(self.use_instead),
        )
    }
}

/// `error` or `warning`.
pub fn level_word(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

fn capitalized(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Prose indented by two spaces and wrapped at 80 columns; a list item
/// (`- `) wraps under its text.
fn indent_prose(text: &str) -> String {
    const WIDTH: usize = 80;
    let mut out = Vec::new();
    for paragraph in text.trim_end().lines() {
        if paragraph.is_empty() {
            out.push(String::new());
            continue;
        }
        let hanging = if paragraph.starts_with("- ") {
            "    "
        } else {
            "  "
        };
        let mut line = String::from("  ");
        for word in paragraph.split_whitespace() {
            let fresh = line.trim().is_empty();
            if !fresh && line.chars().count() + 1 + word.chars().count() > WIDTH {
                out.push(std::mem::replace(&mut line, hanging.to_owned()));
            } else if !fresh {
                line.push(' ');
            }
            line.push_str(word);
        }
        out.push(line);
    }
    out.join("\n")
}

fn indent_code(text: &str) -> String {
    text.lines()
        .map(|l| {
            if l.is_empty() {
                String::new()
            } else {
                format!("    {l}\n")
            }
        })
        .collect()
}

/// The entry of a code, when it has one: every lint (`L`), every warning
/// (`W`) and `E0306`. The other `E` codes are documented with an example in
/// `docs/language.md` ("Diagnostics").
pub fn doc(code: Code) -> Option<&'static LintDoc> {
    ENTRIES.iter().find(|e| e.code == code)
}

/// Finds a code by its code (`L0004`, any case) or its name
/// (`threshold-gap`).
pub fn lookup(code_or_name: &str) -> Option<Code> {
    let wanted = code_or_name.trim();
    Code::ALL
        .iter()
        .copied()
        .find(|c| c.as_str().eq_ignore_ascii_case(wanted) || c.name() == wanted)
}

/// The known code or name closest to a misspelt one, for "did you mean".
pub fn suggest(code_or_name: &str) -> Option<&'static str> {
    let wanted = code_or_name.trim().to_ascii_lowercase();
    let mut best: Option<(usize, &'static str)> = None;
    for c in Code::ALL {
        for candidate in [c.as_str(), c.name()] {
            // Levenshtein distance over characters.
            let d = strsim::levenshtein(&wanted, &candidate.to_ascii_lowercase());
            let limit = (candidate.len() / 3).max(1);
            if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
                best = Some((d, candidate));
            }
        }
    }
    best.map(|(_, s)| s)
}

/// Every documented code, in table order.
pub const ENTRIES: &[LintDoc] = &[
    LintDoc {
        code: Code::TimeoutApproves,
        what_it_does: "Rejects a tier whose `timeout` approves the pending action when it expires \
(`timeout 24h then approve`). The policy does not compile.",
        why_bad: "Expiry is not approval. A request that nobody answered has been seen by nobody: \
letting it through after a delay turns every unanswered request into an \
automatic one, and makes the tier's approvers, evidence and separation of \
duties optional for anyone willing to wait. A stale request must escalate to \
someone who can answer, be rejected, or block.",
        example: r#"policy "refunds" version "1"
schema { action.type: enum { read, refund } }
role support_lead "Support lead"
reason REFUND "refund"
tier 1 "review" { outcome queue  approve support_lead  timeout 72h then reject }
tier 3 "financial" {
  outcome explicit
  approve support_lead
  timeout 24h then approve
}
rule refund when action.type == refund then tier 3 because REFUND
default tier 1 because NO_RULE_MATCHED
"#,
        use_instead: r#"policy "refunds" version "1"
schema { action.type: enum { read, refund } }
role support_lead "Support lead"
role finance_director "Finance director"
reason REFUND "refund"
tier 1 "review" { outcome queue  approve support_lead  timeout 72h then reject }
tier 3 "financial" {
  outcome explicit
  approve support_lead
  timeout 24h then escalate to finance_director
}
rule refund when action.type == refund then tier 3 because REFUND
default tier 1 because NO_RULE_MATCHED
"#,
    },
    LintDoc {
        code: Code::MissingDefault,
        what_it_does: "Reports a policy set without a `default` consequence.",
        why_bad: "An action that no rule matches is then blocked with `NO_RULE_MATCHED`. That \
fails closed, but usually by accident: every new kind of action the agent \
learns is blocked until someone writes a rule for it, and the decision names \
no tier, approver or evidence that would let a person unblock it. Say \
deliberately where unmatched actions go, typically a review tier.",
        example: r#"policy "refunds" version "1"
schema { action.type: enum { read, refund } }
role support_lead "Support lead"
reason REFUND "refund"
tier 3 "financial" { outcome explicit  approve support_lead  timeout 24h then reject }
rule refund when action.type == refund then tier 3 because REFUND
"#,
        use_instead: r#"policy "refunds" version "1"
schema { action.type: enum { read, refund } }
role support_lead "Support lead"
reason REFUND "refund"
tier 1 "review" { outcome queue  approve support_lead  timeout 72h then reject }
tier 3 "financial" { outcome explicit  approve support_lead  timeout 24h then reject }
rule refund when action.type == refund then tier 3 because REFUND
default tier 1 because NO_RULE_MATCHED
"#,
    },
    LintDoc {
        code: Code::InvalidSuppression,
        what_it_does: "Reports a suppression comment (`# gatehouse: allow(LINT) reason: \"...\"`) \
that cannot be honoured or has no effect: one without a reason, one that names \
an unknown code or an `E` code (errors of the language cannot be suppressed; \
lints and warnings can), a malformed one, and one that suppresses nothing (no \
finding of that code on its line, or on the line below when the comment stands \
on a line of its own). This warning can itself be suppressed where a \
suppression comment stands (`allow(L0001, invalid-suppression)`) or turned off \
in gatehouse.toml.",
        why_bad: "A suppression is an exception to the policy's review, and an auditor needs to \
know why it was granted: without a reason it does not suppress anything. A \
suppression that names the wrong lint, or that no longer matches a finding \
because the policy changed, silently stops meaning anything; left in place it \
suggests a problem was reviewed when it was not.",
        example: r#"policy "refunds" version "1"
schema { action.type: enum { read, refund } }
role support_lead "Support lead"
reason REFUND "refund"
tier 1 "review" { outcome queue  approve support_lead  timeout 72h then reject }
# gatehouse: allow(missing-timeout)
tier 3 "financial" { outcome explicit  approve support_lead }
rule refund when action.type == refund then tier 3 because REFUND
default tier 1 because NO_RULE_MATCHED
"#,
        use_instead: r#"policy "refunds" version "1"
schema { action.type: enum { read, refund } }
role support_lead "Support lead"
reason REFUND "refund"
tier 1 "review" { outcome queue  approve support_lead  timeout 72h then reject }
# gatehouse: allow(missing-timeout) reason: "the ticketing system expires refund requests after 24h"
tier 3 "financial" { outcome explicit  approve support_lead }
rule refund when action.type == refund then tier 3 because REFUND
default tier 1 because NO_RULE_MATCHED
"#,
    },
    LintDoc {
        code: Code::AnalysisIncomplete,
        what_it_does: "Reports that the semantic lints (L0001-L0005, L0008, L0011) stopped before \
finishing because they spent their whole work budget, a fixed count of formula \
evaluations (the same on every machine). Past that point they make no further \
claims, so findings may be missing; none reported is false. The example below \
shows the shape that costs most; a real trigger needs thousands of such rules.",
        why_bad: "A policy that is too large to analyse is also too large to review: the \
lints exist to catch an irreversible action decided `auto`, and here they \
could not finish looking. Compilation and evaluation are unaffected.",
        example: r#"policy "deploys" version "1"
schema { action.target: string }
role release_manager "Release manager"
reason SYSTEM "a core system"
tier 0 "auto" { outcome auto }
tier 2 "review" { outcome explicit  approve release_manager  timeout 24h then reject }
rule sys_1 when action.target == "sys:1" then tier 2 because SYSTEM
rule sys_2 when action.target == "sys:2" then tier 2 because SYSTEM
rule sys_3 when action.target == "sys:3" then tier 2 because SYSTEM
default tier 0 because NO_RULE_MATCHED
"#,
        use_instead: r#"policy "deploys" version "1"
schema { action.target: string }
role release_manager "Release manager"
reason SYSTEM "a core system"
tier 0 "auto" { outcome auto }
tier 2 "review" { outcome explicit  approve release_manager  timeout 24h then reject }
rule core_systems when action.target in ["sys:1", "sys:2", "sys:3"] then tier 2 because SYSTEM
default tier 0 because NO_RULE_MATCHED
"#,
    },
    LintDoc {
        code: Code::UnreachableRule,
        what_it_does: "Reports a rule that can never decide anything. Under `combine first-match`: a \
rule that earlier rules pre-empt, because every action it matches is matched \
by an earlier rule first. Under `combine strictest`: a rule whose contribution \
never changes the decision, because whenever it matches, another rule asks for \
at least as much: an outcome as strict, a tier that outranks its own, and \
every approver and evidence field it adds. The finding names the shadowing \
rule.",
        why_bad: "Someone wrote the rule to route some actions, and it routes none. Under \
first-match, the typical cause is order: a broad rule (`amount > 1000`) above \
a narrow one (`amount > 10000`), so the narrow rule's stricter outcome never \
applies and large amounts get the broad rule's weaker one.",
        example: r#"policy "router" version "1" combine first-match
schema { action.amount: number }
role approver "Authorized approver"
reason LARGE "amount over 1000"
reason HUGE "amount over 10000"
tier 1 "review" { outcome queue  approve approver  timeout 72h then reject }
tier 2 "explicit" { outcome explicit  approve approver  timeout 24h then reject }
tier 4 "blocked" { outcome block }
rule large when action.amount > 1000 then tier 2 because LARGE
rule huge when action.amount > 10000 then tier 4 because HUGE
default tier 1 because NO_RULE_MATCHED
"#,
        use_instead: r#"policy "router" version "1" combine first-match
schema { action.amount: number }
role approver "Authorized approver"
reason LARGE "amount over 1000"
reason HUGE "amount over 10000"
tier 1 "review" { outcome queue  approve approver  timeout 72h then reject }
tier 2 "explicit" { outcome explicit  approve approver  timeout 24h then reject }
tier 4 "blocked" { outcome block }
rule huge when action.amount > 10000 then tier 4 because HUGE
rule large when action.amount > 1000 and action.amount <= 10000 then tier 2 because LARGE
default tier 1 because NO_RULE_MATCHED
"#,
    },
    LintDoc {
        code: Code::Contradiction,
        what_it_does: "Reports a `when`, `unless` or `require` condition that no input can satisfy, \
such as `action.amount > 1000 and action.amount < 100`, or `action.type == \
refund and action.type == send`.",
        why_bad: "A `when` that never holds makes its rule dead: the actions it was meant to \
route fall through to other rules or the default, usually with a weaker \
outcome. An `unless` that never holds is an exception that never applies, and \
a `require` that never holds lists an execution condition no action can meet. \
These are almost always a typo (`<` for `>`, `and` for `or`).",
        example: r#"policy "refunds" version "1"
schema {
  action.type: enum { read, refund }
  action.amount: number?
}
role finance_approver "Finance approver"
reason LARGE_REFUND "refund above 1000"
tier 1 "review" { outcome queue  approve finance_approver  timeout 72h then reject }
tier 3 "financial" { outcome explicit  approve finance_approver  timeout 24h then reject }
rule large_refund
  when action.type == refund and action.amount > 1000 and action.amount < 100
  then tier 3
  because LARGE_REFUND
default tier 1 because NO_RULE_MATCHED
"#,
        use_instead: r#"policy "refunds" version "1"
schema {
  action.type: enum { read, refund }
  action.amount: number?
}
role finance_approver "Finance approver"
reason LARGE_REFUND "refund above 1000"
tier 1 "review" { outcome queue  approve finance_approver  timeout 72h then reject }
tier 3 "financial" { outcome explicit  approve finance_approver  timeout 24h then reject }
rule large_refund
  when action.type == refund and action.amount > 1000
  then tier 3
  because LARGE_REFUND
default tier 1 because NO_RULE_MATCHED
"#,
    },
    LintDoc {
        code: Code::Tautology,
        what_it_does: "Reports a `when`, `unless` or `require` condition that every valid input \
satisfies, such as `action.amount > 1000 or action.amount <= 1000` on a \
required attribute.",
        why_bad: "A `when` that always holds applies its rule to every action, which is rarely \
what its author meant: the condition was supposed to pick some actions out. \
An `unless` that always holds disables its rule entirely. If a rule really \
should apply to everything, the `default` or a tier says so more plainly.",
        example: r#"policy "payments" version "1"
schema { action.amount: number }
role finance_approver "Finance approver"
reason PAYMENT_REVIEW "payment above 1000"
tier 1 "review" { outcome queue  approve finance_approver  timeout 72h then reject }
tier 3 "financial" { outcome explicit  approve finance_approver  timeout 24h then reject }
rule payment_review
  when action.amount > 1000 or action.amount <= 1000
  then tier 3
  because PAYMENT_REVIEW
default tier 1 because NO_RULE_MATCHED
"#,
        use_instead: r#"policy "payments" version "1"
schema { action.amount: number }
role finance_approver "Finance approver"
reason PAYMENT_REVIEW "payment above 1000"
tier 1 "review" { outcome queue  approve finance_approver  timeout 72h then reject }
tier 3 "financial" { outcome explicit  approve finance_approver  timeout 24h then reject }
rule payment_review
  when action.amount > 1000
  then tier 3
  because PAYMENT_REVIEW
default tier 1 because NO_RULE_MATCHED
"#,
    },
    LintDoc {
        code: Code::ThresholdGap,
        what_it_does: "Reports numeric conditions on one attribute that leave a value unhandled \
between them: `action.amount < 1000` in one rule and `action.amount > 1000` in \
another leave exactly 1000 to whatever else matches, often the default. The \
finding shows a value that falls in the gap.",
        why_bad: "Thresholds are written as pairs (\"up to 1000\", \"above 1000\"), and an \
off-by-one between them sends the boundary amount somewhere nobody intended. \
A refund of exactly 1000.00 then gets the default tier's outcome instead of \
either rule's, and no test catches it unless someone thought of that value.",
        example: r#"policy "refunds" version "1"
schema {
  action.type: enum { read, refund }
  action.amount: number?
}
role support_lead "Support lead"
role finance_approver "Finance approver"
reason SMALL_REFUND "refund below 1000"
reason LARGE_REFUND "refund above 1000"
tier 1 "review" { outcome queue  approve support_lead  timeout 72h then reject }
tier 3 "financial" { outcome explicit  approve finance_approver  timeout 24h then reject }
rule small_refund
  when action.type == refund and action.amount < 1000
  then tier 1
  because SMALL_REFUND
rule large_refund
  when action.type == refund and action.amount > 1000
  then tier 3
  because LARGE_REFUND
default tier 1 because NO_RULE_MATCHED
"#,
        use_instead: r#"policy "refunds" version "1"
schema {
  action.type: enum { read, refund }
  action.amount: number?
}
role support_lead "Support lead"
role finance_approver "Finance approver"
reason SMALL_REFUND "refund up to 1000"
reason LARGE_REFUND "refund above 1000"
tier 1 "review" { outcome queue  approve support_lead  timeout 72h then reject }
tier 3 "financial" { outcome explicit  approve finance_approver  timeout 24h then reject }
rule small_refund
  when action.type == refund and action.amount <= 1000
  then tier 1
  because SMALL_REFUND
rule large_refund
  when action.type == refund and action.amount > 1000
  then tier 3
  because LARGE_REFUND
default tier 1 because NO_RULE_MATCHED
"#,
    },
    LintDoc {
        code: Code::ThresholdOverlap,
        what_it_does: "Under `combine first-match`, reports numeric conditions on one attribute that \
overlap while their rules lead to different outcomes: `action.amount <= 1000` \
and `action.amount >= 1000` both match 1000. The finding shows a value in the \
overlap.",
        why_bad: "With first-match, the rule that comes first silently wins the overlap, so the \
boundary value's outcome depends on the order of the rules (and of the files) \
rather than on the thresholds as written. Reordering the rules for \
readability then changes decisions.",
        example: r#"policy "router" version "1" combine first-match
schema { action.amount: number }
role reviewer "Review queue"
role approver "Authorized approver"
reason SMALL "amount up to 1000"
reason LARGE "amount of 1000 or more"
tier 1 "review" { outcome queue  approve reviewer  timeout 72h then reject }
tier 2 "explicit" { outcome explicit  approve approver  timeout 24h then reject }
rule small when action.amount <= 1000 then tier 1 because SMALL
rule large when action.amount >= 1000 then tier 2 because LARGE
default tier 1 because NO_RULE_MATCHED
"#,
        use_instead: r#"policy "router" version "1" combine first-match
schema { action.amount: number }
role reviewer "Review queue"
role approver "Authorized approver"
reason SMALL "amount up to 1000"
reason LARGE "amount over 1000"
tier 1 "review" { outcome queue  approve reviewer  timeout 72h then reject }
tier 2 "explicit" { outcome explicit  approve approver  timeout 24h then reject }
rule small when action.amount <= 1000 then tier 1 because SMALL
rule large when action.amount > 1000 then tier 2 because LARGE
default tier 1 because NO_RULE_MATCHED
"#,
    },
    LintDoc {
        code: Code::NoApprover,
        what_it_does: "Reports a `queue`, `explicit` or `dual` tier without an `approve` clause when \
some way into the tier adds no approver either: no rule or default places \
actions in it, or one of those that do names no role with `approve`. The \
rules that place actions in the tier without an approver are shown.",
        why_bad: "A decision from such a tier names no role: anyone the approval system accepts \
may approve it. For a tier that exists because the action needs a \
responsible person (money, customers, production), \"anyone\" defeats the \
point, and the approval log cannot show that the right authority signed off.",
        example: r#"policy "refunds" version "1"
schema { action.type: enum { read, refund } }
role support_lead "Support lead"
reason REFUND "refund"
tier 1 "review" { outcome queue  approve support_lead  timeout 72h then reject }
tier 3 "financial" {
  outcome explicit
  timeout 24h then reject
}
rule refund when action.type == refund then tier 3 because REFUND
default tier 1 because NO_RULE_MATCHED
"#,
        use_instead: r#"policy "refunds" version "1"
schema { action.type: enum { read, refund } }
role support_lead "Support lead"
reason REFUND "refund"
tier 1 "review" { outcome queue  approve support_lead  timeout 72h then reject }
tier 3 "financial" {
  outcome explicit
  approve support_lead
  timeout 24h then reject
}
rule refund when action.type == refund then tier 3 because REFUND
default tier 1 because NO_RULE_MATCHED
"#,
    },
    LintDoc {
        code: Code::UnsatisfiableApproval,
        what_it_does: "Reports an approval that no set of people can give. gatehouse decides this \
where `distinct roles` is set: every approval must then come from a different \
role, so a tier (together with the approvers a rule that places actions in it \
adds) must name enough roles for its approvals. A `dual` tier with a single \
role (`approve security_approver`, which asks that role for 2 approvals), \
`approve 3 of a, b`, or `approve a` next to `approve 2 of a, b` cannot be \
satisfied under `distinct roles`.",
        why_bad: "Every action routed to the tier waits until its timeout and is then rejected, \
blocked or escalated: the policy reads as \"two people from two roles \
review this\" but in practice nobody can ever approve. Approval systems that \
do not enforce the constraint will instead let the same role approve twice, \
which is exactly what `distinct roles` was written to prevent.",
        example: r#"policy "iam" version "1"
schema { action.target: enum { crm, iam } }
role security_approver "Security approver"
role change_manager "Change manager"
reason IAM_CHANGE "changes identity and access permissions"
tier 1 "review" { outcome queue  approve change_manager  timeout 72h then reject }
tier 4 "security impact" {
  outcome dual
  approve security_approver
  timeout 4h then reject
  distinct people, roles
}
rule iam_change when action.target == iam then tier 4 because IAM_CHANGE
default tier 1 because NO_RULE_MATCHED
"#,
        use_instead: r#"policy "iam" version "1"
schema { action.target: enum { crm, iam } }
role security_approver "Security approver"
role change_manager "Change manager"
reason IAM_CHANGE "changes identity and access permissions"
tier 1 "review" { outcome queue  approve change_manager  timeout 72h then reject }
tier 4 "security impact" {
  outcome dual
  approve security_approver and change_manager
  timeout 4h then reject
  distinct people, roles
}
rule iam_change when action.target == iam then tier 4 because IAM_CHANGE
default tier 1 because NO_RULE_MATCHED
"#,
    },
    LintDoc {
        code: Code::LimitBelowThreshold,
        what_it_does: "Reports a rule that asks a role to approve actions whose amount is always \
above that role's limit, when the role has no `escalate to` chain that covers \
those amounts: every action the rule matches would be blocked with \
`APPROVER_LIMIT_EXCEEDED`. The finding shows such an action.",
        why_bad: "The rule reads as \"large refunds go to the support lead\", but the support \
lead may not approve them, so every one of them is blocked instead of being \
reviewed. The policy's intent (a person decides) and its effect (nobody can) \
disagree, and it shows only when the first large refund is stuck.",
        example: r#"policy "refunds" version "1"
schema {
  action.type: enum { read, refund }
  action.amount: number?
}
role support_lead "Support lead" limit action.amount <= 1000
reason LARGE_REFUND "refund above 5000"
tier 1 "review" { outcome queue  approve support_lead  timeout 72h then reject }
tier 3 "financial" { outcome explicit  timeout 24h then reject }
rule large_refund
  when action.type == refund and action.amount > 5000
  then tier 3, approve support_lead
  because LARGE_REFUND
default tier 1 because NO_RULE_MATCHED
"#,
        use_instead: r#"policy "refunds" version "1"
schema {
  action.type: enum { read, refund }
  action.amount: number?
}
role support_lead "Support lead" limit action.amount <= 1000 escalate to finance_director
role finance_director "Finance director"
reason LARGE_REFUND "refund above 5000"
tier 1 "review" { outcome queue  approve support_lead  timeout 72h then reject }
tier 3 "financial" { outcome explicit  timeout 24h then reject }
rule large_refund
  when action.type == refund and action.amount > 5000
  then tier 3, approve support_lead
  because LARGE_REFUND
default tier 1 because NO_RULE_MATCHED
"#,
    },
    LintDoc {
        code: Code::MissingTimeout,
        what_it_does: "Reports an `explicit` or `dual` tier without a `timeout` clause.",
        why_bad: "Without a timeout a pending approval waits for ever. Approvals are scoped like \
credentials: approving a production change for tonight's window must not \
authorize it next week, and a refund request nobody looked at for a month \
should go to someone who will answer (`then escalate to ROLE`), or be \
rejected, rather than be approved by whoever finds it later.",
        example: r#"policy "refunds" version "1"
schema { action.type: enum { read, refund } }
role support_lead "Support lead"
reason REFUND "refund"
tier 1 "review" { outcome queue  approve support_lead  timeout 72h then reject }
tier 3 "financial" {
  outcome explicit
  approve support_lead
}
rule refund when action.type == refund then tier 3 because REFUND
default tier 1 because NO_RULE_MATCHED
"#,
        use_instead: r#"policy "refunds" version "1"
schema { action.type: enum { read, refund } }
role support_lead "Support lead"
reason REFUND "refund"
tier 1 "review" { outcome queue  approve support_lead  timeout 72h then reject }
tier 3 "financial" {
  outcome explicit
  approve support_lead
  timeout 24h then reject
}
rule refund when action.type == refund then tier 3 because REFUND
default tier 1 because NO_RULE_MATCHED
"#,
    },
    LintDoc {
        code: Code::DangerousAuto,
        what_it_does: "Reports a policy under which an action with an external or irreversible \
effect can be decided `auto`: an action whose type sends, deletes or \
executes, that moves a non-zero amount, whose scope is external, or that is \
marked irreversible (an enum value `irreversible` of any attribute, a bool \
`irreversible` that is true, or a bool `reversible` or `undoable` that is \
false). The finding shows a concrete input, as JSON, that gets `auto`.",
        why_bad: "`auto` means the agent acts with nobody looking. For reads and drafts that is \
the point; for an e-mail to a customer, a deletion or a payment it is the \
failure the policy exists to prevent. Such holes usually come from a \
permissive default or an early first-match rule (\"internal actions are \
auto\") that also catches actions with external effect.",
        example: r#"policy "mail" version "1"
schema {
  action.type: enum { read, send }
  action.scope: enum { internal, external }
}
reason READ "reads internal content"
tier 0 "no external effect" { outcome auto }
rule read when action.type == read then tier 0 because READ
default tier 0 because NO_RULE_MATCHED
"#,
        use_instead: r#"policy "mail" version "1"
schema {
  action.type: enum { read, send }
  action.scope: enum { internal, external }
}
role communications_lead "Customer communications lead"
reason READ "reads internal content"
tier 0 "no external effect" { outcome auto }
tier 3 "customer impact" { outcome explicit  approve communications_lead  timeout 24h then reject }
rule read when action.type == read and action.scope == internal then tier 0 because READ
default tier 3 because NO_RULE_MATCHED
"#,
    },
    LintDoc {
        code: Code::UnusedDeclaration,
        what_it_does: "Reports a declaration nothing refers to: a role that no `approve`, `escalate \
to` or timeout names; an evidence field that no tier or rule requires; a \
declared reason code that no `because` gives; a tier that no rule and no \
`default` places actions in.",
        why_bad: "Unused declarations suggest controls that do not exist. A reader of the matrix \
sees `role finance_approver` or `evidence rollback_plan` and assumes some \
action needs them; an auditor sees a tier and assumes some action lands in it. \
Most often the rule that should use the declaration was deleted or has a \
typo elsewhere that the declaration no longer matches.",
        example: r#"policy "refunds" version "1"
schema { action.type: enum { read, refund } }
evidence { impact_estimate, rollback_plan }
role support_lead "Support lead"
role finance_approver "Finance approver"
reason REFUND "refund"
reason LARGE_REFUND "refund above 1000"
tier 1 "review" { outcome queue  approve support_lead  timeout 72h then reject }
tier 3 "financial" {
  outcome explicit
  approve support_lead
  evidence impact_estimate
  timeout 24h then reject
}
rule refund when action.type == refund then tier 3 because REFUND
default tier 1 because NO_RULE_MATCHED
"#,
        use_instead: r#"policy "refunds" version "1"
schema { action.type: enum { read, refund } }
evidence { impact_estimate }
role support_lead "Support lead"
reason REFUND "refund"
tier 1 "review" { outcome queue  approve support_lead  timeout 72h then reject }
tier 3 "financial" {
  outcome explicit
  approve support_lead
  evidence impact_estimate
  timeout 24h then reject
}
rule refund when action.type == refund then tier 3 because REFUND
default tier 1 because NO_RULE_MATCHED
"#,
    },
    LintDoc {
        code: Code::DuplicateReasonMessage,
        what_it_does: "Reports two reason codes with the same message (ignoring case, surrounding \
spaces, repeated spaces and a final period), including a declared code whose \
message repeats a built-in one's.",
        why_bad: "Reason codes exist so that people and tools can tell decisions apart. Two codes \
with one message read the same in every review request and audit report, so \
a reviewer cannot see which rule fired, and a count by message merges what a \
count by code keeps apart. Usually one message was copied and not edited.",
        example: r#"policy "refunds" version "1"
schema {
  action.type: enum { read, refund }
  action.amount: number?
}
role support_lead "Support lead"
role finance_approver "Finance approver"
reason REFUND "refund needs approval"
reason LARGE_REFUND "Refund needs approval."
tier 1 "review" { outcome queue  approve support_lead  timeout 72h then reject }
tier 3 "financial" { outcome explicit  approve support_lead  timeout 24h then reject }
rule refund when action.type == refund then tier 3 because REFUND
rule large_refund
  when action.type == refund and action.amount > 1000
  then tier 3, approve finance_approver
  because LARGE_REFUND
default tier 1 because NO_RULE_MATCHED
"#,
        use_instead: r#"policy "refunds" version "1"
schema {
  action.type: enum { read, refund }
  action.amount: number?
}
role support_lead "Support lead"
role finance_approver "Finance approver"
reason REFUND "refund: the support lead approves"
reason LARGE_REFUND "refund above 1000: a finance approver approves"
tier 1 "review" { outcome queue  approve support_lead  timeout 72h then reject }
tier 3 "financial" { outcome explicit  approve support_lead  timeout 24h then reject }
rule refund when action.type == refund then tier 3 because REFUND
rule large_refund
  when action.type == refund and action.amount > 1000
  then tier 3, approve finance_approver
  because LARGE_REFUND
default tier 1 because NO_RULE_MATCHED
"#,
    },
    LintDoc {
        code: Code::TierOrdering,
        what_it_does: "Reports a tier whose outcome is less strict than that of a tier with a lower \
number (`tier 1` is `explicit`, `tier 2` is `queue`). The outcome order is \
`auto < queue < explicit < dual < block`.",
        why_bad: "Everyone reads tier numbers as a risk scale: \"tier 4 or above needs two \
people\". When the numbers and the outcomes disagree, reviews, dashboards and \
escalation runbooks that go by the number get it wrong. gatehouse itself \
decides by outcome, and uses the number only to break ties between tiers with \
the same outcome, so an out-of-order number also makes those ties surprising.",
        example: r#"policy "changes" version "1"
schema { action.type: enum { read, update } }
role data_owner "Data owner"
reason UPDATE "changes a record"
tier 1 "reversible update" { outcome explicit  approve data_owner  timeout 48h then reject }
tier 2 "low effect" { outcome queue  approve data_owner  timeout 72h then reject }
rule update when action.type == update then tier 1 because UPDATE
default tier 2 because NO_RULE_MATCHED
"#,
        use_instead: r#"policy "changes" version "1"
schema { action.type: enum { read, update } }
role data_owner "Data owner"
reason UPDATE "changes a record"
tier 1 "low effect" { outcome queue  approve data_owner  timeout 72h then reject }
tier 2 "reversible update" { outcome explicit  approve data_owner  timeout 48h then reject }
rule update when action.type == update then tier 2 because UPDATE
default tier 1 because NO_RULE_MATCHED
"#,
    },
    LintDoc {
        code: Code::EscalationTooLow,
        what_it_does: "Reports an escalation to a role that cannot approve what it receives:\n\
\n\
- a role `escalate to R` where `R` has a limit on the same attribute that is \
lower than or equal to the escalating role's own: escalation happens only \
above the first limit, which is above `R`'s as well, so `R` never approves an \
escalated request;\n\
- a tier's `timeout ... then escalate to R` where `R` has a limit below what \
the tier's approvers (with their own escalation chains, and the approvers \
added by the rules that place actions in the tier) can approve on that \
attribute, or where they have no limit on it at all.",
        why_bad: "Escalation is how a request reaches someone with more authority. Escalating \
to a role with less authority either does nothing (the request moves on up \
`R`'s own chain, or is blocked with `APPROVER_LIMIT_EXCEEDED`) or hands a \
stale 50000 EUR request to a role that may approve 500. The matrix then \
looks as if it had a path for large or stale requests when it does not.",
        example: r#"policy "refunds" version "1"
schema {
  action.type: enum { read, refund }
  action.amount: number?
}
role support_lead "Support lead" limit action.amount <= 1000 escalate to team_lead
role team_lead "Team lead" limit action.amount <= 500 escalate to finance_director
role finance_director "Finance director"
reason REFUND "refund"
tier 1 "review" { outcome queue  approve finance_director  timeout 72h then reject }
tier 3 "financial" { outcome explicit  approve support_lead  timeout 24h then reject }
rule refund when action.type == refund then tier 3 because REFUND
default tier 1 because NO_RULE_MATCHED
"#,
        use_instead: r#"policy "refunds" version "1"
schema {
  action.type: enum { read, refund }
  action.amount: number?
}
role support_lead "Support lead" limit action.amount <= 1000 escalate to finance_director
role finance_director "Finance director"
reason REFUND "refund"
tier 1 "review" { outcome queue  approve finance_director  timeout 72h then reject }
tier 3 "financial" { outcome explicit  approve support_lead  timeout 24h then reject }
rule refund when action.type == refund then tier 3 because REFUND
default tier 1 because NO_RULE_MATCHED
"#,
    },
    LintDoc {
        code: Code::DuplicateCondition,
        what_it_does: "Reports a test written twice in one `and` or `or` of a rule's `when` or \
`unless` or a tier's `require`: `action.type == refund and action.type == \
refund`. Layout, the order of the operands, their grouping with parentheses, \
the order of a list's members and the sides of a comparison of two attributes \
do not matter: `action.type in [send, refund] or action.type in [refund, send]` \
is reported too. Different tests with the same meaning (`x == v` and `x in \
[v]`) are not.",
        why_bad: "The repetition changes nothing the engine decides, which is why it goes \
unnoticed: it is almost always a copy that was meant to be edited. \
`action.type == refund and action.type == refund` was probably meant to test \
a second attribute (`action.scope == external`), so the rule matches far more \
actions than its author intended, for instance internal refunds that were \
supposed to stay in a lower tier.",
        example: r#"policy "refunds" version "1"
schema {
  action.type: enum { read, refund }
  action.scope: enum { internal, external }
}
role finance_approver "Finance approver"
reason EXTERNAL_REFUND "refund to an external account"
tier 1 "review" { outcome queue  approve finance_approver  timeout 72h then reject }
tier 3 "financial" { outcome explicit  approve finance_approver  timeout 24h then reject }
rule external_refund
  when action.type == refund and action.type == refund
  then tier 3
  because EXTERNAL_REFUND
default tier 1 because NO_RULE_MATCHED
"#,
        use_instead: r#"policy "refunds" version "1"
schema {
  action.type: enum { read, refund }
  action.scope: enum { internal, external }
}
role finance_approver "Finance approver"
reason EXTERNAL_REFUND "refund to an external account"
tier 1 "review" { outcome queue  approve finance_approver  timeout 72h then reject }
tier 3 "financial" { outcome explicit  approve finance_approver  timeout 24h then reject }
rule external_refund
  when action.type == refund and action.scope == external
  then tier 3
  because EXTERNAL_REFUND
default tier 1 because NO_RULE_MATCHED
"#,
    },
    LintDoc {
        code: Code::IneffectiveSample,
        what_it_does: "Reports a `sample N% for review` that can never apply. Only `auto` decisions \
are sampled, and of the shares that could apply the highest wins (ties: the tier, then the \
first rule). Reported: a share on a tier whose outcome is not `auto`, or whose every rule \
raises the outcome; a share on a rule (or the default) that adds approvers, raises with \
`at least` or places the action in a tier that is not `auto`; a tier's share below the share \
of every rule that places actions in it; a rule's share no higher than every `auto` tier's, \
when the rule names a tier.",
        why_bad: "A sample rate that never applies looks like oversight in review and in the \
autonomy report, but no action is ever reviewed because of it. It usually means the author \
put the share in the wrong place (on the reviewed tier instead of the automatic one), so the \
high-volume actions that should be spot-checked after the fact are not checked at all.",
        example: r#"policy "support" version "1"
schema { action.type: enum { read, reply } }
role support_lead "Support lead"
reason REPLY "customer reply"
tier 0 "no external effect" { outcome auto }
tier 1 "low" {
  outcome queue
  approve support_lead
  timeout 24h then reject
  sample  5% for review
}
rule reply when action.type == reply then tier 1 because REPLY
default tier 0 because NO_RULE_MATCHED
"#,
        use_instead: r#"policy "support" version "1"
schema { action.type: enum { read, reply } }
role support_lead "Support lead"
reason REPLY "customer reply"
tier 0 "no external effect" {
  outcome auto
  sample  5% for review
}
tier 1 "low" {
  outcome queue
  approve support_lead
  timeout 24h then reject
}
rule reply when action.type == reply then tier 1 because REPLY
default tier 0 because NO_RULE_MATCHED
"#,
    },
];

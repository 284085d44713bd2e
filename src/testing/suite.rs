//! The suite file: YAML with fixtures and cases, read strictly (an unknown
//! key is an error, so a typo like `outcom:` cannot pass silently).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value as Json;

use crate::input::Syntax;

use crate::eval::Outcome;

/// A test suite as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuiteFile {
    /// The suite's name (default: the file name).
    #[serde(default)]
    pub suite: Option<String>,
    /// The pinned clock (RFC 3339), so timeouts and `expires_at` are testable.
    #[serde(default)]
    pub now: Option<String>,
    /// Named base inputs, merged into cases that name them.
    #[serde(default)]
    pub fixtures: BTreeMap<String, Json>,
    /// The cases, in order.
    #[serde(default)]
    pub cases: Vec<CaseSpec>,
}

/// One case, or a table of cases sharing this one as their template.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseSpec {
    /// Names the business situation: "refund of 2500 EUR needs a finance approver".
    #[serde(default)]
    pub name: Option<String>,
    /// An input file (JSON or YAML), relative to the suite file: the base.
    #[serde(default)]
    pub file: Option<PathBuf>,
    /// Fixtures merged over the base, in order.
    #[serde(default)]
    pub fixtures: Vec<String>,
    /// Fields merged over the fixtures (deep merge; `null` removes a key).
    #[serde(default)]
    pub input: Option<Json>,
    /// What the decision must show.
    #[serde(default)]
    pub expect: Expect,
    /// Skip this case, with the reason reported.
    #[serde(default)]
    pub skip: Option<String>,
    /// Table rows: each is a case whose fields override this template's.
    #[serde(default)]
    pub rows: Vec<CaseSpec>,
}

/// Expectations. Only what is written is checked.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// The outcome.
    #[serde(default)]
    pub outcome: Option<Outcome>,
    /// The tier number; `null` for "no tier".
    #[serde(default, deserialize_with = "some_or_null")]
    pub tier: Option<Option<u32>>,
    /// Reason codes.
    #[serde(default)]
    pub reasons: Option<SetExpect>,
    /// Evidence fields missing.
    #[serde(default)]
    pub missing_evidence: Option<SetExpect>,
    /// Approver roles, across all groups.
    #[serde(default)]
    pub approvers: Option<SetExpect>,
    /// Total approvals required.
    #[serde(default)]
    pub approvals: Option<u32>,
    /// Names of the matched rules (`default` included when it applied).
    #[serde(default)]
    pub rules: Option<SetExpect>,
    /// JSON paths of input errors: the input is expected to be invalid.
    #[serde(default)]
    pub input_errors: Option<SetExpect>,
    /// Identities that may not approve (e.g. the requester's id).
    #[serde(default)]
    pub forbidden_approvers: Option<SetExpect>,
    /// When a pending approval expires (RFC 3339; needs the suite's `now`).
    #[serde(default)]
    pub expires_at: Option<String>,
    /// What expiry does: `reject`, `block` or `escalate to ROLE`.
    #[serde(default)]
    pub on_expiry: Option<String>,
}

/// `[a, b]` (exactly these, in any order) or `{includes: [..], excludes: [..]}`.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum SetExpect {
    /// Exactly these.
    Exact(Vec<String>),
    /// At least / none of these.
    Partial {
        /// Must all be present.
        #[serde(default)]
        includes: Vec<String>,
        /// Must all be absent.
        #[serde(default)]
        excludes: Vec<String>,
    },
}

fn some_or_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<u32>>, D::Error> {
    Option::<u32>::deserialize(d).map(Some)
}

impl Expect {
    /// This expectation with `over`'s fields replacing its own.
    pub fn overridden_by(&self, over: &Expect) -> Expect {
        Expect {
            outcome: over.outcome.or(self.outcome),
            tier: over.tier.or(self.tier),
            reasons: over.reasons.clone().or_else(|| self.reasons.clone()),
            missing_evidence: over
                .missing_evidence
                .clone()
                .or_else(|| self.missing_evidence.clone()),
            approvers: over.approvers.clone().or_else(|| self.approvers.clone()),
            approvals: over.approvals.or(self.approvals),
            rules: over.rules.clone().or_else(|| self.rules.clone()),
            input_errors: over
                .input_errors
                .clone()
                .or_else(|| self.input_errors.clone()),
            forbidden_approvers: over
                .forbidden_approvers
                .clone()
                .or_else(|| self.forbidden_approvers.clone()),
            expires_at: over.expires_at.clone().or_else(|| self.expires_at.clone()),
            on_expiry: over.on_expiry.clone().or_else(|| self.on_expiry.clone()),
        }
    }

    /// Whether anything is asserted at all.
    pub fn is_empty(&self) -> bool {
        self.outcome.is_none()
            && self.tier.is_none()
            && self.reasons.is_none()
            && self.missing_evidence.is_none()
            && self.approvers.is_none()
            && self.approvals.is_none()
            && self.rules.is_none()
            && self.input_errors.is_none()
            && self.forbidden_approvers.is_none()
            && self.expires_at.is_none()
            && self.on_expiry.is_none()
    }
}

/// One runnable case after table expansion.
#[derive(Debug)]
pub struct Case {
    /// Its name (a row's name is prefixed by its table's).
    pub name: String,
    /// 1-based line of its `name:` in the suite file (0 when not found).
    pub line: usize,
    /// The merged spec.
    pub spec: CaseSpec,
}

/// Expands tables: a case with rows becomes one case per row.
pub fn expand(cases: &[CaseSpec], text: &str) -> Vec<Case> {
    let mut lines = NameLines::new(text);
    let mut out = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let name = case
            .name
            .clone()
            .unwrap_or_else(|| format!("case {}", i + 1));
        let line = lines.find(case.name.as_deref());
        if case.rows.is_empty() {
            out.push(Case {
                name,
                line,
                spec: case.clone(),
            });
            continue;
        }
        for (j, row) in case.rows.iter().enumerate() {
            let row_line = lines.find(row.name.as_deref());
            let row_name = row.name.clone().unwrap_or_else(|| format!("row {}", j + 1));
            let mut fixtures = case.fixtures.clone();
            fixtures.extend(row.fixtures.iter().cloned());
            let input = match (&case.input, &row.input) {
                (Some(a), Some(b)) => {
                    let mut merged = a.clone();
                    deep_merge(&mut merged, b);
                    Some(merged)
                }
                (a, b) => b.clone().or_else(|| a.clone()),
            };
            out.push(Case {
                name: format!("{name} / {row_name}"),
                line: if row_line > 0 { row_line } else { line },
                spec: CaseSpec {
                    name: Some(row_name),
                    file: row.file.clone().or_else(|| case.file.clone()),
                    fixtures,
                    input,
                    expect: case.expect.overridden_by(&row.expect),
                    skip: row.skip.clone().or_else(|| case.skip.clone()),
                    rows: Vec::new(),
                },
            });
        }
    }
    out
}

/// Finds `name:` keys in order, so each case points at its line in the
/// file (serde_yaml does not keep positions). Block style (`- name: x`) and
/// flow style (`- {name: x, ...}`, `rows: [{name: a}, {name: b}]`, several
/// on one line) are both found: a key is `name` preceded by the start of a
/// line, indentation, `-`, `{` or `,`, and followed by `:`.
struct NameLines<'a> {
    text: &'a str,
    /// Byte offset where the next search starts: cases come in file order.
    next: usize,
}

impl<'a> NameLines<'a> {
    fn new(text: &'a str) -> NameLines<'a> {
        NameLines { text, next: 0 }
    }

    /// The 1-based line of the next `name:` key whose value is `name` (0
    /// when there is none, or no name).
    fn find(&mut self, name: Option<&str>) -> usize {
        let Some(name) = name else { return 0 };
        let mut from = self.next;
        while let Some(found) = self.text.get(from..).and_then(|t| t.find("name")) {
            let at = from + found;
            from = at + "name".len();
            let before = self.text.get(..at).unwrap_or("");
            let previous = before.chars().rev().find(|c| *c != ' ' && *c != '\t');
            let key_starts = previous.is_none_or(|c| matches!(c, '\n' | '-' | '{' | ','));
            let flow = matches!(previous, Some('{' | ','));
            let Some(value) = self
                .text
                .get(from..)
                .map(str::trim_start)
                .and_then(|t| t.strip_prefix(':'))
            else {
                continue;
            };
            if !key_starts || value_of(value, flow) != Some(name) {
                continue;
            }
            self.next = from;
            return before.matches('\n').count() + 1;
        }
        0
    }
}

/// The scalar at the start of `text` (after a `name:` key): quoted, or
/// plain up to the end of the line, a comment, or (in `flow` style) `,`,
/// `}` or `]`. Escapes in double quotes are not decoded; such a name is not
/// found and its case gets line 0.
fn value_of(text: &str, flow: bool) -> Option<&str> {
    let text = text.trim_start_matches([' ', '\t']);
    for quote in ['"', '\''] {
        if let Some(rest) = text.strip_prefix(quote) {
            return rest.find(quote).and_then(|end| rest.get(..end));
        }
    }
    let end = if flow {
        text.find(['\n', ',', '}', ']'])
    } else {
        text.find('\n')
    }
    .unwrap_or(text.len());
    let value = text.get(..end).unwrap_or("");
    let value = value
        .find(" #")
        .map_or(value, |c| value.get(..c).unwrap_or(""));
    Some(value.trim_end())
}

/// Merges `over` into `base`: objects key by key, recursively; anything
/// else replaces; `null` removes the key.
pub fn deep_merge(base: &mut Json, over: &Json) {
    match (base, over) {
        (Json::Object(b), Json::Object(o)) => {
            for (k, v) in o {
                if v.is_null() {
                    b.remove(k);
                } else if let Some(existing) = b.get_mut(k) {
                    deep_merge(existing, v);
                } else {
                    b.insert(k.clone(), v.clone());
                }
            }
        }
        (b, o) => *b = o.clone(),
    }
}

/// Reads a JSON or YAML input file given relative to the suite file.
pub fn read_input_file(suite: &Path, file: &Path) -> Result<Json, String> {
    let path = suite.parent().unwrap_or(Path::new(".")).join(file);
    let text = crate::input::read_file_limited(&path, crate::input::MAX_INPUT_BYTES)
        .map_err(|e| e.to_string())?;
    crate::input::parse(&text, Syntax::of_path(&path)).map_err(|errors| {
        format!(
            "`{}` is not a valid input: {}",
            path.display(),
            crate::input::describe(&errors)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_lines_are_found_in_block_and_flow_style() {
        let text = "cases:\n  - name: a, with a comma # note\n    expect: {}\n  - {name: \"b\", expect: {outcome: auto}}\n  - { input: {x: 1}, name: c }\n  - name: t\n    rows: [{name: r1}, {name: 'r2'}]\n";
        let mut lines = NameLines::new(text);
        let found: Vec<usize> = ["a, with a comma", "b", "c", "t", "r1", "r2", "missing"]
            .into_iter()
            .map(|n| lines.find(Some(n)))
            .collect();
        assert_eq!(found, [2, 4, 5, 6, 7, 7, 0]);
        // A key named like `rename:` or a value containing `name:` is no key.
        let mut lines = NameLines::new("- rename: x\n- note: \"name: x\"\n- name: x\n");
        assert_eq!(lines.find(Some("x")), 3);
    }
}

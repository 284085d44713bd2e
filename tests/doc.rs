//! `gatehouse doc`: the committed documents of the shipped policies are
//! current, the wording of every construct is pinned by a snapshot, the
//! HTML is self-contained and escaped, and the command behaves.
//!
//! Regenerate the shipped policies' documents with the commands the
//! staleness test prints, or with `GATEHOUSE_BLESS=1 cargo test --test doc`.

use std::path::{Path, PathBuf};

use clap::Parser;
use gatehouse::Policy;
use gatehouse::check::{Cond, Operand, Test, Value};
use gatehouse::syntax::ast::CmpOp;
use gatehouse_cli::cli::{Cli, Io};
use gatehouse_cli::doc::{DocFormat, condition_in_words, render};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Every construct of the language once, and policy text that must be
/// escaped (`<script>`, `|`, `*`, backticks).
const EVERY_CONSTRUCT: &str = r#"
policy "every-construct" version "2.1"
  combine strictest
  description "Every construct once: <em>markup</em> | pipes * stars _under_ and `ticks`"

schema {
  action.type: enum { read, send, refund, pay }
  action.amount: number?
  action.customer_facing: bool
  action.is_test: bool?
  action.has_attachment: bool?
  action.labels: set of enum { pii, phi, financial }
  action.delay: duration?
  action.scheduled_at: timestamp?
  target.host: string
  recipient.email: string?
  requester.id: string
  requester.roles: set of string?
  agent.owner: string?
  budget.remaining: number?
  change_window.open: bool?
}

evidence { diff, rollback_plan, impact_estimate, unused_field }

role clerk
role support_lead "Support lead" limit action.amount <= 1_000 escalate to finance_approver
role finance_approver "Finance approver" limit action.amount < 10_000.50
role security_approver "Security approver"
role change_manager
role auditor "Auditor (never asked)"

reason SCRIPTED "a message with <script>alert('x')</script> & | pipes"
reason LARGE "large amounts"
reason UNUSED "declared, never given"

tier 0 "no effect" {
  outcome auto
  approve clerk
  evidence diff otherwise queue
}
tier 1 "review" {
  outcome queue
  approve clerk or support_lead
  timeout 1h30m then escalate to security_approver
}
tier 2 "three signers" {
  outcome explicit
  approve 2 of clerk, support_lead, finance_approver
  evidence diff, rollback_plan otherwise block
  timeout 1d then reject
  forbid approval by requester.id, requester.roles
  distinct roles
}
tier 4 "production" {
  outcome dual
  approve security_approver
  timeout 30m then block
  forbid approval by agent.owner
  distinct people
  require change_window.open
  require not action.is_test and action.amount <= budget.remaining
  require "a named engineer watches the rollout"
}
tier 9 "never" { outcome block }
tier 7 "unreached" { outcome explicit }

rule comparisons "Numbers, durations and timestamps"
  when action.amount > 1000 and action.amount >= 5 and action.amount < 1_000_000
    and action.amount <= 999_999.99 and action.amount == 7 and action.amount != 8
    or action.delay > 1d12h or action.scheduled_at < "2026-11-22T18:00:00Z"
    or action.scheduled_at >= "2026-11-22T19:00:00+01:00"
  then tier 2
  because LARGE, SCRIPTED

rule lists
  when action.type in [refund, pay] and action.type not in [read]
    and action.type not in [read, send] and action.type not in [read, send, pay]
    and action.type in [send]
  unless action.customer_facing == false
  unless not action.customer_facing
  then tier 2, evidence impact_estimate

rule text_tests
  when target.host contains "prod" and target.host matches "^db-\\d+\\.internal$"
    and target.host starts_with "db-" and recipient.email ends_with "@example.com"
    and not target.host ends_with ".test" and not recipient.email starts_with "x"
  then tier 4
  because SCRIPTED

rule sets
  when action.labels contains pii or action.labels contains any [phi, financial]
    or action.labels contains all [pii, phi] or requester.roles contains "admin"
    or not action.labels contains any [pii] or not action.labels contains all [pii, phi]
    or action.labels contains any [phi]
  then at least explicit, approve security_approver and change_manager

rule presence
  when action.amount exists and recipient.email missing
    or not (action.is_test or action.has_attachment) and not action.amount missing
  then block
  because LARGE

rule bools
  when action.is_test and not action.has_attachment and change_window.open == true
    and change_window.open != false and not not action.customer_facing
  then at least queue, approve 2 of clerk, auditor, evidence rollback_plan

rule empty_lists
  when action.type in [] or action.type not in [] or action.labels contains all []
    or action.labels contains any [] or not action.type in []
  then at least auto

default tier 1, evidence diff, approve clerk because NO_RULE_MATCHED, SCRIPTED
"#;

/// A first-match policy without a default: order matters, and unmatched
/// actions are blocked.
const FIRST_MATCH: &str = r#"
policy "router" version "1"
  combine first-match

schema {
  action.type: enum { read, send, delete }
  action.amount: number?
}

role approver "Approver"
reason READ "read-only"
reason BIG "over 1000"

tier 0 "auto" { outcome auto }
tier 2 "explicit" { outcome explicit  approve approver }

rule read_only "Reads are auto" when action.type == read then tier 0 because READ
rule big when action.amount > 1000 then tier 2 because BIG
rule deletes when action.type == delete then at least dual
"#;

fn policy(name: &str, text: &str) -> Policy {
    Policy::from_source(name, text).unwrap_or_else(|d| panic!("{name} compiles: {d:?}"))
}

/// Every policy set under policies/, with the base name of its documents
/// (`ai-agent-actions`; a nested set's path joined with `-`).
fn shipped_sets() -> Vec<(String, PathBuf)> {
    let root = Path::new(ROOT).join("policies");
    let mut sets: Vec<(String, PathBuf)> = gatehouse::loader::find_sets(&root)
        .into_iter()
        .map(|dir| {
            let rel = dir.strip_prefix(&root).unwrap_or(&dir);
            let name = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("-");
            let name = if name.is_empty() {
                "policies".to_owned()
            } else {
                name
            };
            (name, dir)
        })
        .collect();
    sets.sort();
    assert!(!sets.is_empty(), "no policy sets under policies/");
    sets
}

fn format_name(format: DocFormat) -> &'static str {
    match format {
        DocFormat::Markdown => "markdown",
        DocFormat::Html => "html",
    }
}

#[test]
fn shipped_policy_docs_are_up_to_date() {
    let bless = std::env::var_os("GATEHOUSE_BLESS").is_some_and(|v| v == "1");
    let docs = Path::new(ROOT).join("docs/policies");
    let mut stale = Vec::new();
    let mut expected_files = Vec::new();
    for (name, dir) in shipped_sets() {
        let p = Policy::load(&dir).unwrap_or_else(|d| panic!("{} compiles: {d:?}", dir.display()));
        for format in [DocFormat::Markdown, DocFormat::Html] {
            let file = format!("{name}.{}", format.extension());
            expected_files.push(file.clone());
            let path = docs.join(&file);
            let want = render(p.checked(), format);
            if std::fs::read_to_string(&path).ok().as_deref() == Some(want.as_str()) {
                continue;
            }
            if bless {
                std::fs::create_dir_all(&docs).expect("create docs/policies");
                std::fs::write(&path, want).expect("write the document");
            } else {
                let rel = dir.strip_prefix(ROOT).unwrap_or(&dir).display().to_string();
                stale.push(format!(
                    "cargo run -- doc {rel} --format {} --output docs/policies/{file}",
                    format_name(format)
                ));
            }
        }
    }
    let orphans: Vec<String> = std::fs::read_dir(&docs)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|f| f.ends_with(".md") || f.ends_with(".html"))
                .filter(|f| !expected_files.contains(f))
                .collect()
        })
        .unwrap_or_default();
    assert!(
        stale.is_empty(),
        "the documents of the shipped policies are stale; regenerate them with\n  {}\nor run `GATEHOUSE_BLESS=1 cargo test --test doc`",
        stale.join("\n  ")
    );
    assert!(
        orphans.is_empty(),
        "docs/policies/ holds documents of no policy set under policies/: {}; delete them",
        orphans.join(", ")
    );
}

#[test]
fn every_construct_markdown() {
    let p = policy("every.gate", EVERY_CONSTRUCT);
    insta::assert_snapshot!(render(p.checked(), DocFormat::Markdown));
}

#[test]
fn first_match_without_default_markdown() {
    let p = policy("router.gate", FIRST_MATCH);
    let md = render(p.checked(), DocFormat::Markdown);
    assert!(md.contains("**Order matters.**"));
    assert!(md.contains("There is no default"));
    let positions: Vec<usize> = ["#### 1. `read_only`", "#### 2. `big`", "#### 3. `deletes`"]
        .iter()
        .map(|h| md.find(h).unwrap_or_else(|| panic!("{h} in\n{md}")))
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "rules in order");
    insta::assert_snapshot!(md);
}

#[test]
fn shipped_documents_name_every_rule_reason_role_evidence_field_and_tier() {
    for (name, dir) in shipped_sets() {
        let p = Policy::load(&dir).expect("compiles");
        let set = p.checked();
        let md = render(set, DocFormat::Markdown);
        let html = render(set, DocFormat::Html);
        let names = set
            .rules
            .iter()
            .map(|r| &r.name)
            .chain(set.reasons.iter().map(|r| &r.code))
            .chain(set.roles.iter().map(|r| &r.name))
            .chain(set.evidence.iter().map(|e| &e.name));
        for n in names {
            assert!(md.contains(&format!("`{n}`")), "{name}.md names `{n}`");
            assert!(
                html.contains(&format!("<code>{n}</code>")),
                "{name}.html names `{n}`"
            );
        }
        for t in &set.tiers {
            assert!(
                md.contains(&format!("**{}** {}", t.id, t.name)),
                "{name}.md: tier {}",
                t.id
            );
        }
        for doc in [&md, &html] {
            assert!(doc.contains(&set.digest), "{name}: the digest");
            assert!(doc.contains(&set.version), "{name}: the version");
        }
    }
}

#[test]
fn strictest_groups_rules_by_tier_and_first_match_lists_them_in_order() {
    let p = Policy::load(Path::new(ROOT).join("policies/ai-agent-actions")).expect("compiles");
    let md = render(p.checked(), DocFormat::Markdown);
    assert!(md.contains(
        "### Rules placing the action in tier 3 “financial or customer impact” (**explicit**)"
    ));
    assert!(md.contains("### Rules that name no tier"));
    assert!(!md.contains("Order matters"));
    let tier3 = md
        .find("tier 3 “financial or customer impact” (**explicit**)\n")
        .expect("tier 3 group");
    let refund = md.find("#### `refund`").expect("refund rule");
    let tier4 = md
        .find("### Rules placing the action in tier 4")
        .expect("tier 4 group");
    assert!(
        tier3 < refund && refund < tier4,
        "refund is in the tier 3 group"
    );

    let p = Policy::load(Path::new(ROOT).join("policies/simple-router")).expect("compiles");
    let md = render(p.checked(), DocFormat::Markdown);
    assert!(md.contains("**Order matters.**"));
    assert!(md.contains("- tier 1 “queued” (**queue**): no rule; the default"));
}

#[test]
fn html_is_one_self_contained_printable_file() {
    let mut docs: Vec<(String, String)> = shipped_sets()
        .into_iter()
        .map(|(name, dir)| {
            let p = Policy::load(&dir).expect("compiles");
            (name, render(p.checked(), DocFormat::Html))
        })
        .collect();
    let p = policy("every.gate", EVERY_CONSTRUCT);
    docs.push((
        "every-construct".into(),
        render(p.checked(), DocFormat::Html),
    ));
    for (name, html) in docs {
        let lower = html.to_ascii_lowercase();
        for external in [
            "http", "src=", "<link", "url(", "@import", "<script", "<iframe",
        ] {
            assert!(
                !lower.contains(external),
                "{name}.html contains `{external}`"
            );
        }
        assert!(lower.starts_with("<!doctype html>"), "{name}: doctype");
        assert!(lower.contains("<meta charset=\"utf-8\">"));
        assert!(lower.contains("<style>") && lower.contains("@media print"));
        assert!(lower.contains("<table>") && lower.contains("<thead>"));
        assert!(html.ends_with("</html>\n"));
        // every href points into the document
        for (i, _) in html.match_indices("href=\"") {
            assert_eq!(
                html.get(i + 6..i + 7),
                Some("#"),
                "{name}: internal links only"
            );
        }
    }
}

#[test]
fn policy_text_is_escaped() {
    let p = policy("every.gate", EVERY_CONSTRUCT);
    let html = render(p.checked(), DocFormat::Html);
    assert!(!html.contains("<script"), "no tag from a reason message");
    assert!(!html.contains("<em>"), "no tag from the description");
    assert!(
        html.contains(
            "a message with &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; | pipes"
        )
    );
    let md = render(p.checked(), DocFormat::Markdown);
    assert!(md.contains(r"a message with \<script\>alert('x')\</script\> \& \| pipes"));
    // a `|` in a message must not add a table cell: every table row of a
    // table has as many unescaped `|` as its header
    for table in md.split("\n\n").filter(|b| b.starts_with("| ")) {
        let cells = |line: &str| line.replace(r"\|", "").matches('|').count();
        let mut lines = table.lines();
        let width = cells(lines.next().expect("header"));
        for line in lines {
            assert_eq!(cells(line), width, "row `{line}`");
        }
    }
}

#[test]
fn rendering_is_deterministic_and_ignores_where_the_policy_lives() {
    let dir = Path::new(ROOT).join("policies/ai-agent-actions");
    let absolute = Policy::load(&dir).expect("compiles");
    let texts: Vec<(String, String)> = std::fs::read_dir(&dir)
        .expect("read dir")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "gate"))
        .map(|p| {
            let name = p.file_name().expect("name").to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&p).expect("read"))
        })
        .collect();
    let bare = Policy::from_sources(texts).expect("compiles");
    for format in [DocFormat::Markdown, DocFormat::Html] {
        let a = render(absolute.checked(), format);
        assert_eq!(a, render(absolute.checked(), format), "same bytes twice");
        assert_eq!(a, render(bare.checked(), format), "directory-independent");
        assert!(!a.contains(ROOT), "no local path in the document");
    }
}

/// One condition of a small schema, in words.
fn words(condition: &str) -> String {
    let text = format!(
        r#"policy "w" version "1"
schema {{
  action.type: enum {{ read, draft, refund, pay }}
  action.amount: number?
  action.customer_facing: bool
  action.data_classes: set of enum {{ public, pii, phi }}
  action.delay: duration?
  action.at: timestamp?
  target.host: string
  requester.id: string
  requester.roles: set of string?
  agent.owner: string?
  budget.remaining: number?
  change_window.open: bool?
}}
rule r when {condition} then block
default auto
"#
    );
    let p = policy("w.gate", &text);
    let set = p.checked();
    condition_in_words(set, &set.rules[0].when)
}

#[test]
fn conditions_read_as_plain_words() {
    let cases = [
        (
            "action.amount > 1000 and action.type in [refund, pay]",
            "the action amount is more than 1000 and the action type is `refund` or `pay`",
        ),
        (
            "action.data_classes contains any [pii, phi]",
            "the action data classes include any of `pii`, `phi`",
        ),
        (
            "action.data_classes contains pii",
            "the action data classes include `pii`",
        ),
        (
            "action.data_classes contains all [pii, phi]",
            "the action data classes include all of `pii`, `phi`",
        ),
        ("action.amount missing", "the action amount is not given"),
        ("action.amount exists", "the action amount is given"),
        ("not action.amount missing", "the action amount is given"),
        ("action.customer_facing", "the action is customer facing"),
        (
            "not action.customer_facing",
            "the action is not customer facing",
        ),
        (
            "action.customer_facing == false",
            "the action is not customer facing",
        ),
        (
            "not change_window.open",
            "the change window is not open (or not given)",
        ),
        (
            "action.type not in [read, draft]",
            "the action type is neither `read` nor `draft`",
        ),
        ("action.type not in [read]", "the action type is not `read`"),
        (
            "action.type not in [read, draft, pay]",
            "the action type is none of `read`, `draft`, `pay`",
        ),
        (
            "action.type in [read, draft, pay]",
            "the action type is `read`, `draft` or `pay`",
        ),
        (
            "(action.type == refund or action.type == pay) and action.amount >= 10_000",
            "(the action type is `refund` or the action type is `pay`) and the action amount is at least 10000",
        ),
        (
            "action.type == refund or action.amount < 0.5 and action.customer_facing",
            "the action type is `refund` or (the action amount is less than 0.5 and the action is customer facing)",
        ),
        (
            "not (action.type == refund and action.customer_facing)",
            "it is not the case that (the action type is `refund` and the action is customer facing)",
        ),
        (
            "not action.amount > 10",
            "the action amount is at most 10 (or not given)",
        ),
        (
            "action.amount <= budget.remaining",
            "the action amount is at most the budget remaining",
        ),
        (
            "requester.id == agent.owner",
            "the requester id is the same as the agent owner",
        ),
        (
            "requester.id != agent.owner",
            "the requester id is not the same as the agent owner",
        ),
        (
            "action.delay > 1h30m",
            "the action delay is more than 1 hour 30 minutes",
        ),
        (
            "action.at < \"2026-11-22T19:00:00+01:00\"",
            "the action at is before 2026-11-22T18:00:00Z",
        ),
        (
            "target.host contains \"prod\"",
            "the target host contains \"prod\"",
        ),
        (
            "target.host matches \"^db-\\\\d+$\"",
            "the target host matches the pattern \"^db-\\\\d+$\"",
        ),
        (
            "not target.host starts_with \"x\"",
            "the target host does not start with \"x\"",
        ),
        (
            "target.host ends_with \".io\"",
            "the target host ends with \".io\"",
        ),
        (
            "requester.roles contains \"admin\"",
            "the requester roles include \"admin\"",
        ),
        (
            "action.type in []",
            "the action type is one of an empty list (never true)",
        ),
        ("action.type not in []", "the action type is given"),
    ];
    let mut wrong = Vec::new();
    for (condition, want) in cases {
        let got = words(condition);
        if got != want {
            wrong.push(format!("{condition}\n    want: {want}\n    got:  {got}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn words_are_total_even_for_conditions_no_checker_builds() {
    let p = policy("w.gate", FIRST_MATCH);
    let set = p.checked();
    let unknown = 999;
    let tests = vec![
        Test::IsTrue,
        Test::Exists,
        Test::Missing,
        Test::Compare(CmpOp::Gt, Operand::Attribute(unknown)),
        Test::Compare(CmpOp::Eq, Operand::Value(Value::Enum(42))),
        Test::In(vec![Value::Enum(7), Value::Bool(true)]),
        Test::NotIn(vec![]),
        Test::Contains(Value::String("x".into())),
        Test::ContainsAny(vec![]),
        Test::ContainsAll(vec![Value::Duration(90)]),
        Test::Matches(regex::Regex::new("^a|b$").expect("regex")),
        Test::StartsWith("s".into()),
        Test::EndsWith("e".into()),
    ];
    let mut parts: Vec<Cond> = Vec::new();
    for t in tests {
        // on an unknown attribute, and on a declared one of another type
        parts.push(Cond::Not(Box::new(Cond::Test(unknown, clone_test(&t)))));
        parts.push(Cond::Test(1, t));
    }
    parts.push(Cond::All(vec![]));
    parts.push(Cond::Any(vec![]));
    let all = Cond::Any(parts);
    let words = condition_in_words(set, &all);
    assert!(words.contains("attribute #999"), "{words}");
    assert!(words.contains("value #42"), "{words}");
    let mut deep = all;
    for i in 0..500 {
        deep = if i % 2 == 0 {
            Cond::All(vec![deep, Cond::Test(0, Test::Exists)])
        } else {
            Cond::Not(Box::new(deep))
        };
    }
    let words = condition_in_words(set, &deep);
    assert!(words.contains("nested too deeply"), "{words}");
}

fn clone_test(t: &Test) -> Test {
    match t {
        Test::IsTrue => Test::IsTrue,
        Test::Exists => Test::Exists,
        Test::Missing => Test::Missing,
        Test::Compare(op, Operand::Attribute(a)) => Test::Compare(*op, Operand::Attribute(*a)),
        Test::Compare(op, Operand::Value(v)) => Test::Compare(*op, Operand::Value(v.clone())),
        Test::In(v) => Test::In(v.clone()),
        Test::NotIn(v) => Test::NotIn(v.clone()),
        Test::Contains(v) => Test::Contains(v.clone()),
        Test::ContainsAny(v) => Test::ContainsAny(v.clone()),
        Test::ContainsAll(v) => Test::ContainsAll(v.clone()),
        Test::Matches(r) => Test::Matches(r.clone()),
        Test::StartsWith(s) => Test::StartsWith(s.clone()),
        Test::EndsWith(s) => Test::EndsWith(s.clone()),
    }
}

/// Runs `gatehouse ARGS` in-process: (exit code, stdout, stderr).
fn cli(args: &[&str]) -> (u8, String, String) {
    let mut argv = vec!["gatehouse"];
    argv.extend_from_slice(args);
    let parsed = Cli::try_parse_from(argv).expect("arguments parse");
    let mut stdin = std::io::empty();
    let mut stdin = std::io::BufReader::new(&mut stdin);
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = gatehouse_cli::cli::run(
        parsed,
        &mut Io {
            stdin: &mut stdin,
            stdout: &mut out,
            stderr: &mut err,
            color: false,
        },
    );
    (
        code,
        String::from_utf8(out).expect("utf-8"),
        String::from_utf8(err).expect("utf-8"),
    )
}

#[test]
fn cli_prints_markdown_or_writes_the_format_the_output_names() {
    let set = format!("{ROOT}/policies/simple-router");
    let p = Policy::load(&set).expect("compiles");
    let (code, out, err) = cli(&["doc", &set]);
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(out, render(p.checked(), DocFormat::Markdown));

    let (code, out, _) = cli(&["doc", &set, "--format", "html"]);
    assert_eq!(code, 0);
    assert_eq!(out, render(p.checked(), DocFormat::Html));

    let dir = std::env::temp_dir().join(format!("gatehouse-doc-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let html = dir.join("router.html");
    let (code, out, err) = cli(&["doc", &set, "--output", &html.display().to_string()]);
    assert_eq!((code, out.as_str(), err.as_str()), (0, "", ""));
    let written = std::fs::read_to_string(&html).expect("written");
    assert_eq!(
        written,
        render(p.checked(), DocFormat::Html),
        "format from .html"
    );

    let md = dir.join("router.html.txt");
    let (code, _, _) = cli(&[
        "doc",
        &set,
        "-o",
        &md.display().to_string(),
        "--format",
        "markdown",
    ]);
    assert_eq!(code, 0);
    assert_eq!(
        std::fs::read_to_string(&md).expect("written"),
        render(p.checked(), DocFormat::Markdown)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn cli_fails_with_2_on_a_broken_policy_or_an_unwritable_output() {
    let (code, out, err) = cli(&["doc", &format!("{ROOT}/tests/fixtures/cli/broken")]);
    assert_eq!(code, 2);
    assert!(out.is_empty());
    assert!(err.contains("does not compile"), "{err}");

    let (code, _, err) = cli(&["doc", "/no/such/policy"]);
    assert_eq!(code, 2);
    assert!(err.contains("E0001"), "{err}");

    let set = format!("{ROOT}/policies/simple-router");
    let (code, _, err) = cli(&["doc", &set, "--output", "/no/such/dir/x.md"]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot write `/no/such/dir/x.md`"), "{err}");
}

#[test]
fn cli_help_has_examples() {
    let err = Cli::try_parse_from(["gatehouse", "doc", "--help"]).expect_err("help exits");
    let help = err.render().to_string();
    assert!(help.contains("Examples:"), "{help}");
    assert!(help.contains("--format <FORMAT>") && help.contains("--output <OUTPUT>"));
    assert!(help.contains("gatehouse doc policies/ai-agent-actions"));
}

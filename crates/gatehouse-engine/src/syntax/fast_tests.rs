//! The fast path (`syntax::fast`) against pest alone (`syntax::parser`):
//! the same declarations with the same spans, or the same diagnostics, on
//! every policy in the repository and on generated policies, hostile ones
//! included. `Span` compares equal to every span, so the trees are compared
//! through their `Debug` text, which shows every span.

use proptest::prelude::*;

use super::{fast, parse, parser};
use crate::source::SourceFile;

/// A parse result as text: the declarations, or the diagnostics.
fn shown(result: &Result<super::ast::File, crate::Diagnostics>) -> String {
    match result {
        Ok(file) => format!("ok {:#?}", file.declarations),
        Err(e) => format!("err {e:#?}"),
    }
}

/// What `syntax::parse` gave before the fast path: the same refusals of
/// size and nesting, then pest alone.
fn pest_alone(source: &std::sync::Arc<SourceFile>) -> Result<super::ast::File, crate::Diagnostics> {
    super::check_size(source)?;
    super::check_nesting(source)?;
    parser::parse(source)
}

/// `syntax::parse` (fast path, pest regions, fallback) against pest alone.
fn assert_same(text: &str) {
    let source = SourceFile::new("t.gate", text);
    let pest = pest_alone(&source);
    let both = parse(&source);
    assert_eq!(shown(&both), shown(&pest), "on:\n{text}");
}

fn repository_policies() -> Vec<(std::path::PathBuf, String)> {
    fn collect(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let path = e.path();
            let name = e.file_name();
            if path.is_dir() && name != "target" && name != ".git" && name != "node_modules" {
                collect(&path, out);
            } else if path.extension().is_some_and(|x| x == "gate")
                || path.parent().is_some_and(|p| p.ends_with("corpus/parse"))
            {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    collect(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."),
        &mut files,
    );
    files
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).expect("readable");
            (p, String::from_utf8_lossy(&bytes).into_owned())
        })
        .collect()
}

/// Every shipped, example, documentation, test and fuzz-corpus policy.
#[test]
fn every_repository_policy_parses_as_pest_alone() {
    let files = repository_policies();
    assert!(files.len() > 50, "only {} policies found", files.len());
    for (path, text) in &files {
        let source = SourceFile::new(path.display().to_string(), text.as_str());
        let pest = pest_alone(&source);
        let both = parse(&source);
        assert_eq!(shown(&both), shown(&pest), "{}", path.display());
    }
}

/// The generated rules of the scale benchmark are all read by the fast
/// path, and the matrix in front of them by pest.
#[test]
fn generated_rules_take_the_fast_path() {
    let mut text = String::from(include_str!(
        "../../../../benches/peers/policies/matrix.gate"
    ));
    for k in 0..50 {
        text.push_str(&format!(
            "reason SYS_{k} \"access to system {k}\"\n\
             rule sys_{k} when action.target == \"sys:{k}\" then tier 3 because SYS_{k}\n"
        ));
    }
    assert_same(&text);
    let mut fast_read = 0;
    let mut pos = 0;
    while let Some(line) = text.get(pos..).and_then(|t| t.split_inclusive('\n').next()) {
        if fast::declaration(&text, pos).is_some() {
            fast_read += 1;
        }
        pos += line.len();
    }
    assert!(fast_read >= 100, "{fast_read} declarations read fast");
}

/// Hand-picked edges: each must agree with pest, parse or not.
#[test]
fn edge_cases_agree() {
    for text in [
        "",
        "\u{FEFF}reason A \"x\"",
        "reason A \"x\" reason B \"y\"",
        "reason A \"x\\\"y\"",
        "reason A \"x\ny\"",
        "reason Ab \"x\"",
        "reason A\"x\"",
        "rule r when a == \"x\" then tier 1",
        "rule r when a == \"x\" then tier 1 because A, B",
        "rule r when a == \"x\" then tier 1, at least queue because A",
        "rule r when a == \"x\" then tier 1 because A # c\n# d\n\nreason A \"x\"",
        "rule r \"d\" when a.b.c != 5 then tier 4294967295 because A",
        "rule r when a.b. == 5 then tier 1",
        "rule r when a == 5m then tier 1",
        "rule r when a == 5.5 then tier 1",
        "rule r when a == -5 then tier 1",
        "rule r when a == 1_000 then tier 1",
        "rule r when a == 99999999999999999999999 then tier 1",
        "rule r when a == true then tier 1",
        "rule r when a == trueish then tier 1",
        "rule r when true.x == 1 then tier 1",
        "rule r when index == 1 then tier 1",
        "rule r when in == 1 then tier 1",
        "rule r when a == b.c then tier 1",
        "rule r when a == 1 and b == 2 then tier 1",
        "rule r when a == 1 unless b == 2 then tier 1",
        "rule r when a = 1 then tier 1",
        "rule r when a => 1 then tier 1",
        "rule r when a <= 1 then tier 4294967296",
        "rule r when a<1then tier 1",
        "rule r when a < 1 then tier 01 because A_1\nrule s when b >= 2 then tier 2\n",
        "rule r when a == \"x\" then tier 1 because a",
        "rule r when a == \"x\" then tier 1 because A1b",
        "rule r when a == \"x\" then tier 1 garbage",
        "rule r when a == 1 and\nrule == 2 then tier 1",
        "# rule r when a == 1 then tier 1\n",
        "rule r when a == \"x\"\r\nthen tier 1\r\nbecause A\r\n",
        "rules r when a == 1 then tier 1",
        "rule-r when a == 1 then tier 1",
        "rule r when a == \"é\" then tier 1 because É",
        "tier 1 \"t\" {\n  outcome auto\n}\nrule r when a == 1 then tier 1\nrule s when x in [a] then tier 1\n",
        "role a\nreason A \"x\"\nrole b escalate to\nreason B \"y\"",
        "evidence { a,\nreason }",
        "rule r when a == 1 then approve sample\nreason A \"x\"",
    ] {
        assert_same(text);
    }
}

/// A token of a generated declaration: mostly the fast shapes, with the
/// variants the fast path must refuse or read exactly as pest does.
fn token() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "rule",
        "reason",
        "when",
        "then",
        "tier",
        "because",
        "and",
        "or",
        "unless",
        "not",
        "in",
        "r1",
        "a.b",
        "a.",
        "true",
        "false",
        "x_y-z",
        "A",
        "B_2",
        "Ab",
        "==",
        "!=",
        "<=",
        ">=",
        "<",
        ">",
        "=",
        ",",
        "\"s\"",
        "\"s\\\"q\"",
        "\"s\\x\"",
        "\"é\"",
        "\"",
        "1",
        "-2",
        "1.5",
        "1_0",
        "5m",
        "007",
        "4294967296",
        "99999999999999999999999",
        "[a, b]",
        "(",
        ")",
        "# note",
        "at least queue",
        "approve a",
        "evidence e",
    ])
}

fn separator() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        " ", " ", " ", "  ", "\n", "\t", "\r\n", " # c\n", "\u{FEFF}", "",
    ])
}

/// A declaration of the fast shapes, with one token possibly replaced.
fn near_fast_declaration() -> impl Strategy<Value = String> {
    let rule = (
        prop::sample::select(vec!["r", "sys_1", "a-b"]),
        prop::option::of(prop::sample::select(vec!["\"d\"", "\"d\\n\""])),
        prop::sample::select(vec!["action.target", "amount", "a.b.c"]),
        prop::sample::select(vec!["==", "!=", "<", "<=", ">", ">="]),
        prop::sample::select(vec!["\"sys:1\"", "10", "-3", "send", "x.y"]),
        prop::sample::select(vec!["1", "3", "12"]),
        prop::option::of(prop::sample::select(vec!["SYS_1", "NO"])),
    )
        .prop_map(|(name, desc, attr, op, value, tier, because)| {
            let mut s = format!("rule {name}");
            if let Some(d) = desc {
                s.push(' ');
                s.push_str(d);
            }
            s.push_str(&format!(" when {attr} {op} {value} then tier {tier}"));
            if let Some(b) = because {
                s.push_str(&format!(" because {b}"));
            }
            s
        });
    let reason = prop::sample::select(vec!["A", "SYS_1", "X9"])
        .prop_map(|code| format!("reason {code} \"text {code}\""));
    (
        prop_oneof![rule, reason],
        prop::option::of((any::<prop::sample::Index>(), token())),
        prop::collection::vec(separator(), 12),
    )
        .prop_map(|(decl, swap, seps)| {
            let mut words: Vec<String> = decl.split(' ').map(str::to_owned).collect();
            if let Some((i, t)) = swap {
                let at = i.index(words.len());
                if let Some(w) = words.get_mut(at) {
                    *w = t.to_owned();
                }
            }
            let mut out = String::new();
            for (k, w) in words.iter().enumerate() {
                if k > 0 {
                    let sep = seps.get(k % seps.len()).copied().unwrap_or(" ");
                    out.push_str(if sep.is_empty() { " " } else { sep });
                }
                out.push_str(w);
            }
            out
        })
}

/// Whole files: generated declarations between the matrix's declarations,
/// separated by newlines, comments or nothing.
fn generated_file() -> impl Strategy<Value = String> {
    let matrix = include_str!("../../../../benches/peers/policies/matrix.gate");
    (
        prop::collection::vec(near_fast_declaration(), 1..12),
        prop::collection::vec(separator(), 12),
        any::<bool>(),
    )
        .prop_map(move |(decls, seps, with_matrix)| {
            let mut out = String::new();
            if with_matrix {
                out.push_str(matrix);
            }
            for (k, d) in decls.iter().enumerate() {
                out.push_str(d);
                out.push_str(if k % 3 == 2 {
                    seps.get(k % seps.len()).copied().unwrap_or("\n")
                } else {
                    "\n"
                });
            }
            out
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Generated files, valid and not: the same tree and spans, or the
    /// same diagnostics, as pest alone.
    #[test]
    fn generated_files_parse_as_pest_alone(text in generated_file()) {
        let source = SourceFile::new("t.gate", text.as_str());
        let pest = pest_alone(&source);
        let both = parse(&source);
        prop_assert_eq!(shown(&both), shown(&pest));
    }

    /// Arbitrary token soup around fast shapes: never a different answer.
    #[test]
    fn token_soup_parses_as_pest_alone(
        tokens in prop::collection::vec((token(), separator()), 0..30),
    ) {
        let mut text = String::new();
        for (t, s) in tokens {
            text.push_str(t);
            text.push_str(if s.is_empty() { " " } else { s });
        }
        let source = SourceFile::new("t.gate", text.as_str());
        prop_assert_eq!(shown(&parse(&source)), shown(&pest_alone(&source)));
    }
}
